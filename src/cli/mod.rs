//! The command line: what each `standup-bot` sub-command does, on top of the library.
//!
//! `main.rs` only parses arguments, sets up logging and reports errors; everything a command
//! does is here so tests can call it.

pub mod demo;
mod migrate;
mod online;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::app::document::compile;
use crate::app::setup::{load, open_store, open_store_to_read};
use crate::config::{Config, TeamConfig};
use crate::error::{Error, Result};
use crate::files::write_atomically;
use crate::store::Store;
use standup_core::domain::Format;
use standup_core::notes;
use standup_core::parse::{NoNames, parse_reply};
use standup_core::render::Renderer;

#[derive(Debug, Parser)]
#[command(
    name = "standup-bot",
    version,
    about = "Runs your team's async standup in Slack and writes your own meeting notes"
)]
pub struct Cli {
    /// Config file [default: config/standup.toml, else config/standup.example.toml]
    #[arg(long, global = true, env = "STANDUP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "STANDUP_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: prompts, replies, blockers, /standup and posted notes (Socket Mode by default)
    Run {
        /// Serve Slack's HTTP endpoints on this address instead of using Socket Mode
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
        /// In Socket Mode, serve GET /healthz on this address
        #[arg(long, value_name = "ADDR", env = "STANDUP_HEALTH_ADDR")]
        health: Option<std::net::SocketAddr>,
    },
    /// See the bot work with no Slack at all: the real bot against a bundled Slack emulator and a scripted team, in about a minute
    Demo {
        /// How many times faster than real time the bot's clock runs (1 to 100000), or `max`
        #[arg(long, default_value = "90")]
        speed: demo::Speed,
        /// Members in the demo team (1 to 12)
        #[arg(long, default_value_t = 6)]
        team_size: usize,
        /// Which notes format the team keeps
        #[arg(long, value_enum, default_value_t = FormatArg::Planning)]
        format: FormatArg,
        /// Folder for what the demo leaves: its config, database, notes and the bot's log
        #[arg(long, default_value = "standup-demo")]
        out: PathBuf,
    },
    /// Check the config file: zones, schedules, templates, members, unknown keys
    CheckConfig {
        /// Also ask Slack (with SLACK_BOT_TOKEN): the channels and members exist, the bot is in each channel, and when each team's next prompt, reminder and notes are due
        #[arg(long)]
        online: bool,
    },
    /// Write a consistent copy of the database (safe while the bot runs)
    Backup {
        /// Where to write the copy
        file: PathBuf,
    },
    /// Probe a running bot's health endpoint: exit 0 when it answers 200 (for container HEALTHCHECKs)
    Healthcheck {
        /// The endpoint, e.g. http://127.0.0.1:3000/healthz
        #[arg(long, default_value = "http://127.0.0.1:3000/healthz")]
        url: String,
    },
    /// Parse a reply (Slack mrkdwn) and print the update as JSON
    Parse {
        /// Which format's sections to use
        #[arg(long, value_enum, default_value_t = FormatArg::Planning)]
        format: FormatArg,
        /// File with the reply text [default: standard input]
        file: Option<PathBuf>,
    },
    /// Import existing meeting notes (one meeting or many separated by `---`)
    Import {
        /// Team id from the config
        #[arg(long)]
        team: String,
        /// Read and report, but change nothing
        #[arg(long)]
        dry_run: bool,
        /// The Markdown notes
        file: PathBuf,
    },
    /// Render a stored meeting as the team's notes
    Compile {
        /// Team id from the config
        #[arg(long)]
        team: String,
        /// Meeting date (YYYY-MM-DD) [default: the latest meeting]
        #[arg(long, value_parser = date_arg)]
        date: Option<NaiveDate>,
        /// Write to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// List the team's meeting dates instead
        #[arg(long)]
        list: bool,
    },
    /// Write a team's meetings as one document (newest first, separated by `---`), as `import` reads
    Export {
        /// Team id from the config
        #[arg(long)]
        team: String,
        /// First meeting date to include (YYYY-MM-DD)
        #[arg(long, value_parser = date_arg)]
        from: Option<NaiveDate>,
        /// Last meeting date to include (YYYY-MM-DD)
        #[arg(long, value_parser = date_arg)]
        to: Option<NaiveDate>,
        /// Write to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write every stored meeting of a team into the notes archive ([archive] dir), and commit
    Archive {
        /// Team id from the config
        #[arg(long)]
        team: String,
    },
    /// Copy the SQLite database ([database] path) into an empty PostgreSQL database, then check that every meeting compiles the same from both (stop the bot first)
    MigrateDb {
        /// The PostgreSQL database, postgres://user:password@host:5432/database [default: STANDUP_DATABASE_URL]
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Planning,
    Standup,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Planning => Format::Planning,
            FormatArg::Standup => Format::Standup,
        }
    }
}

/// Runs a command, writing its output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    match cli.command {
        Command::Run { http, health } => {
            let (config, renderer) = load(cli.config.as_deref())?;
            let secrets = crate::config::Secrets::from_env()?;
            let runtime = runtime()?;
            let ran = runtime.block_on(async {
                use crate::bot::run::Transport;
                use futures::FutureExt;
                // The signal is heard twice: by the bot, which stops cleanly, and here, which
                // stops waiting for it after STOP_GRACE (a start-up still retrying an
                // unreachable Slack, a call hung past its timeout).
                let shutdown = shutdown_signal().shared();
                let transport = match (http, health) {
                    (Some(addr), _) => Transport::Http(bind(addr).await?),
                    (None, Some(addr)) => Transport::Socket {
                        health: Some(bind(addr).await?),
                    },
                    (None, None) => Transport::Socket { health: None },
                };
                let bot = crate::bot::run::run(
                    config,
                    renderer,
                    secrets,
                    crate::bot::run::Timings {
                        socket: crate::slack::socket::Timing::from_env(),
                        lease_ttl: crate::bot::leader::ttl_from_env(),
                        ..Default::default()
                    },
                    transport,
                    std::sync::Arc::new(crate::app::clock::SystemClock),
                    crate::bot::run::Signals {
                        shutdown: Box::pin(shutdown.clone()),
                        reload: reload_on_sighup(),
                    },
                );
                let late = async {
                    shutdown.await;
                    tokio::time::sleep(STOP_GRACE).await;
                };
                tokio::select! {
                    ran = bot => ran,
                    () = late => {
                        tracing::warn!(
                            "stopped {} s after the signal with work unfinished; it is done at the next start",
                            STOP_GRACE.as_secs()
                        );
                        Ok(())
                    }
                }
            });
            // Tasks still waiting on Slack are dropped, not waited for.
            runtime.shutdown_background();
            ran
        }
        Command::Demo {
            speed,
            team_size,
            format,
            out: folder,
        } => demo::demo(
            &demo::Options {
                speed,
                team_size,
                format: format.into(),
                out: folder,
            },
            out,
        ),
        Command::Healthcheck { url } => healthcheck(&url, out),
        Command::Backup { file } => {
            let (config, _) = load(cli.config.as_deref())?;
            let store = open_store_to_read(&config)?;
            store.backup(&file)?;
            writeln!(
                out,
                "{}: backup of {} written",
                file.display(),
                config.database.path.display()
            )
            .map_err(stdout_error)
        }
        Command::Parse { format, file } => parse_command(format.into(), file.as_deref(), out),
        Command::CheckConfig { online } => {
            // Loading also compiles every team's template: a broken one is reported here.
            let (config, _renderer) = load(cli.config.as_deref())?;
            let members: usize = config.teams.iter().map(|t| t.members.len()).sum();
            writeln!(
                out,
                "{}: ok ({} team{}, {members} member{})",
                config.path.display(),
                config.teams.len(),
                plural(config.teams.len()),
                plural(members)
            )
            .map_err(stdout_error)?;
            slack_teams_note(&config, out)?;
            if !config.names.is_empty() {
                let names: Vec<String> = config.names.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "Slack names, looked up when the bot starts{}: {}",
                    if online {
                        ""
                    } else {
                        " (check them now with --online)"
                    },
                    names.join(", ")
                )
                .map_err(stdout_error)?;
            }
            if !online {
                return Ok(());
            }
            let secrets = crate::config::Secrets::from_env()?;
            let runtime = runtime()?;
            runtime.block_on(online::check(&config, secrets, out))
        }
        Command::Import {
            team,
            dry_run,
            file,
        } => {
            let (config, _) = load(cli.config.as_deref())?;
            import_command(&config, &team, &file, dry_run, out)
        }
        Command::Compile {
            team,
            date,
            out: out_file,
            list,
        } => {
            let (config, renderer) = load(cli.config.as_deref())?;
            compile_command(
                &config,
                &renderer,
                &team,
                date,
                out_file.as_deref(),
                list,
                out,
            )
        }
        Command::Export {
            team,
            from,
            to,
            out: out_file,
        } => {
            let (config, renderer) = load(cli.config.as_deref())?;
            let team = find_team(&config, &team)?;
            let store = open_store_to_read(&config)?;
            let text = crate::app::export::export(&store, &renderer, team, from, to)?;
            match out_file {
                Some(path) => write_atomically(&path, text.as_bytes())
                    .map_err(|source| Error::Io { path, source }),
                None => out.write_all(text.as_bytes()).map_err(stdout_error),
            }
        }
        Command::Archive { team } => {
            let (config, renderer) = load(cli.config.as_deref())?;
            archive_command(&config, &renderer, &team, out)
        }
        Command::MigrateDb { to } => {
            let (config, renderer) = load(cli.config.as_deref())?;
            migrate::migrate_db(&config, &renderer, to, out)
        }
    }
}

/// Writes every stored meeting of a team into the archive and commits once.
fn archive_command(
    config: &Config,
    renderer: &Renderer,
    team_id: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let team = find_team(config, team_id)?;
    let archive = crate::archive::Archive::from_config(&config.archive).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no [archive] dir is set; add `[archive]` with `dir = \"notes\"` to write the archive",
            config.path.display()
        ))
    })?;
    archive.check()?;
    let store = open_store_to_read(config)?;
    let cycles = store.cycles(&team.id)?;
    let mut texts = Vec::with_capacity(cycles.len());
    for c in &cycles {
        texts.push((c.date, compile(&store, renderer, team, c.date)?));
    }
    let meetings: Vec<crate::archive::Meeting<'_>> = texts
        .iter()
        .map(|(date, text)| crate::archive::Meeting { date: *date, text })
        .collect();
    let titles = cycles.iter().map(|c| (c.date, c.title.clone())).collect();
    let saved = archive.save(&team.id, &team.name, &meetings, &titles)?;
    writeln!(
        out,
        "{}: team `{}`: {} meeting{} archived, {} file{} written{}",
        archive.dir().display(),
        team.id,
        meetings.len(),
        plural(meetings.len()),
        saved.written.len(),
        plural(saved.written.len()),
        if saved.committed { ", committed" } else { "" }
    )
    .map_err(stdout_error)
}

/// A runtime for the commands that talk to Slack (`run`, `demo`, `check-config --online`).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().map_err(|source| Error::Io {
        path: PathBuf::from("<tokio runtime>"),
        source,
    })
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn stdout_error(e: std::io::Error) -> Error {
    Error::Io {
        path: PathBuf::from("<stdout>"),
        source: e,
    }
}

fn find_team<'c>(config: &'c Config, id: &str) -> Result<&'c TeamConfig> {
    config
        .teams
        .iter()
        .find(|t| t.id.as_str() == id)
        .ok_or_else(|| {
            let known: Vec<&str> = config.teams.iter().map(|t| t.id.as_str()).collect();
            Error::Usage(format!(
                "no team `{id}` in {}; teams there: {}",
                config.path.display(),
                known.join(", ")
            ))
        })
}

fn read_input(file: Option<&Path>) -> Result<String> {
    let mut bytes = Vec::new();
    match file {
        Some(path) => {
            bytes = std::fs::read(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Io {
                    path: PathBuf::from("<stdin>"),
                    source,
                })?;
        }
    }
    // Replies and notes are text; a stray invalid byte must not lose the rest of the file.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn parse_command(format: Format, file: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let text = read_input(file)?;
    let parsed = parse_reply(&text, format, &NoNames);
    write_json(out, &parsed)
}

fn write_json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| stdout_error(e.into()))?;
    writeln!(out).map_err(stdout_error)
}

fn import_command(
    config: &Config,
    team_id: &str,
    file: &Path,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let team = find_team(config, team_id)?;
    let text = read_input(Some(file))?;
    let document = notes::read_document(&text, team.format).map_err(|source| Error::Notes {
        path: file.to_path_buf(),
        source,
    })?;
    for d in &document.diagnostics {
        writeln!(out, "{}:{}: note: {}", file.display(), d.line, d.message)
            .map_err(stdout_error)?;
    }
    let meetings = document
        .chunks
        .iter()
        .filter(|c| matches!(c, notes::Chunk::Meeting(_)))
        .count();
    if dry_run {
        writeln!(
            out,
            "{}: {meetings} meeting{} and {} other piece{} of text would be imported into team `{}` (dry run: nothing written)",
            file.display(),
            plural(meetings),
            document.chunks.len() - meetings,
            plural(document.chunks.len() - meetings),
            team.id
        )
        .map_err(stdout_error)?;
        return Ok(());
    }
    let mut store = open_store(config)?;
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let report = store.import_document(&team.id, &source, &document, Utc::now())?;
    let dates = |ds: &[NaiveDate]| {
        ds.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        out,
        "{}: team `{}`: {} new, {} updated, {} unchanged meeting{}; {} other piece{} of text kept",
        file.display(),
        team.id,
        report.created.len(),
        report.replaced.len(),
        report.unchanged.len(),
        plural(report.created.len() + report.replaced.len() + report.unchanged.len()),
        report.fragments,
        plural(report.fragments),
    )
    .map_err(stdout_error)?;
    if !report.created.is_empty() {
        writeln!(out, "  new: {}", dates(&report.created)).map_err(stdout_error)?;
    }
    if !report.replaced.is_empty() {
        writeln!(out, "  updated: {}", dates(&report.replaced)).map_err(stdout_error)?;
    }
    for (date, handle) in &report.kept_from_slack {
        writeln!(
            out,
            "  kept @{handle}'s update from Slack for {date} (the notes' version was not imported)"
        )
        .map_err(stdout_error)?;
    }
    if !report.new_members.is_empty() {
        writeln!(
            out,
            "  people in the notes who are not in the config: @{} (kept as former members)",
            report.new_members.join(", @")
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}

fn compile_command(
    config: &Config,
    renderer: &Renderer,
    team_id: &str,
    date: Option<NaiveDate>,
    out_file: Option<&Path>,
    list: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let team = find_team(config, team_id)?;
    let store = open_store_to_read(config)?;
    let cycles = store.cycles(&team.id)?;
    if list {
        for c in &cycles {
            writeln!(out, "{}  {}", c.date, c.title).map_err(stdout_error)?;
        }
        return Ok(());
    }
    let date = match date {
        Some(d) => d,
        None => cycles.first().map(|c| c.date).ok_or_else(|| {
            Error::Usage(format!(
                "team `{}` has no meetings yet; import notes with `standup-bot import --team {} FILE`",
                team.id, team.id
            ))
        })?,
    };
    let text = compile(&store, renderer, team, date)?;
    match out_file {
        Some(path) => write_atomically(path, text.as_bytes()).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        }),
        None => out.write_all(text.as_bytes()).map_err(stdout_error),
    }
}

/// GETs a plain-http URL with a short timeout; healthy means HTTP 200.
fn healthcheck(url: &str, out: &mut dyn Write) -> Result<()> {
    use std::io::BufRead;
    use std::net::ToSocketAddrs;
    use std::time::Duration;

    let bad = |why: String| Error::Usage(format!("healthcheck {url}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if parsed.scheme() != "http" {
        return Err(bad("only http:// URLs can be probed".into()));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("no address".into()))?;
    let timeout = Duration::from_secs(3);
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| bad(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| bad(e.to_string()))?;
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {host}\r\n\r\n",
        parsed.path()
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut status = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut status)
        .map_err(|e| bad(e.to_string()))?;
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(bad(format!("answered {:?}", status.trim())));
    }
    writeln!(out, "healthy").map_err(stdout_error)
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Io {
            path: format!("listen address {addr}").into(),
            source,
        })
}

/// A date option: `YYYY-MM-DD`, and an error that says so (clap's own names only the
/// character it choked on).
fn date_arg(text: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date: write it as YYYY-MM-DD, e.g. 2024-11-03"))
}

/// How long `run` waits for the bot to stop after SIGTERM or Ctrl-C before it exits anyway
/// (Docker's default grace before SIGKILL is 10 s). Nothing is lost: events not yet handled
/// stay in the inbox and jobs not yet ended are run at the next start.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// SIGTERM (how an orchestrator stops the bot) or Ctrl-C. The SIGTERM handler is installed
/// when this is called, not when the future is first polled: a SIGTERM during the start-up
/// checks is then kept and stops the bot cleanly once it is running, instead of killing it.
/// `check-config`: the teams set up from Slack (`/standup setup`) that the database keeps, each
/// checked as the bot will load it beside the file's. Read only; a database that is missing or
/// cannot be read is mentioned, not an error (the file is what is checked).
fn slack_teams_note(config: &Config, out: &mut dyn Write) -> Result<()> {
    let path = &config.database.path;
    if config.database.url.is_none() && !path.exists() {
        return Ok(());
    }
    let opened = match &config.database.url {
        Some(_) => Store::open_configured(&config.database),
        None => Store::open_read_only(path),
    };
    let stored = match opened.and_then(|s| Ok((s.describe(), s.slack_teams()?))) {
        Ok((kept_in, stored)) => (kept_in, stored),
        Err(e) => {
            writeln!(out, "(the teams set up from Slack were not read: {e})")
                .map_err(stdout_error)?;
            return Ok(());
        }
    };
    let (kept_in, stored) = stored;
    let mut all = config.clone();
    let skipped = all.add_slack_teams(&stored, &crate::config::names::NotAsked);
    for team in &stored {
        writeln!(
            out,
            "team {}: set up from Slack by {} on {} (kept in {})",
            team.id,
            team.by,
            team.at.format("%Y-%m-%d"),
            kept_in
        )
        .map_err(stdout_error)?;
    }
    for line in skipped {
        writeln!(out, "problem: {line}").map_err(stdout_error)?;
    }
    Ok(())
}

/// Notified at each SIGHUP, for the bot to reload its config.
fn reload_on_sighup() -> std::sync::Arc<tokio::sync::Notify> {
    let reload = std::sync::Arc::new(tokio::sync::Notify::new());
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        let reload = reload.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                reload.notify_one();
            }
        });
    }
    reload
}

fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
