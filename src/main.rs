//! The `standup-bot` binary: parse arguments, set up logging, run the command, report errors.

use std::process::ExitCode;

use clap::Parser;
use standup_bot::cli::{Cli, Command, LogFormat, demo, run};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("STANDUP_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,standup_bot=info"));
    // The demo prints a transcript: the bot's own log goes to a file in the demo's folder.
    let log_file = match &cli.command {
        Command::Demo { out, .. } => match open_demo_log(out) {
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match (log_file, cli.log_format) {
        (Some(file), LogFormat::Text) => logs.with_ansi(false).with_writer(file).init(),
        (Some(file), LogFormat::Json) => logs.json().with_writer(file).init(),
        (None, LogFormat::Text) => logs.with_writer(std::io::stderr).init(),
        (None, LogFormat::Json) => logs.json().with_writer(std::io::stderr).init(),
    }
    let stdout = std::io::stdout();
    match run(cli, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The demo's `bot.log`, new for each run.
fn open_demo_log(folder: &std::path::Path) -> Result<std::sync::Mutex<std::fs::File>, String> {
    let path = folder.join(demo::LOG_FILE);
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::File::create(&path))
        .map(std::sync::Mutex::new)
        .map_err(|e| format!("{}: cannot write the demo's log: {e}", path.display()))
}
