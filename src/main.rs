//! The `standup-bot` binary: parse arguments, set up logging, run the command, report errors.

use std::process::ExitCode;

use clap::Parser;
use standup_bot::cli::{Cli, LogFormat, run};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("STANDUP_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,standup_bot=info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
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
