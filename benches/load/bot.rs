//! The bot under load: the real `standup-bot run` process, its config, and what `/proc` says
//! about it (peak RSS, threads, context switches).
//!
//! The process is the shipped binary, not the library in-process, so the figures include
//! everything a deployment pays for: the runtime, logging, SQLite (or the PostgreSQL client),
//! slack-morphism.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use slack_emulator::{Channel, Emulator, EmulatorConfig, RateLimits, User};

use super::db::BotDb;

pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const CHANNEL: &str = "C0LOADTEAM";
pub const TEAM: &str = "load";

/// The `n`-th member's Slack user id (`U0LD000042`): ten characters, like Slack's.
pub fn user_id(n: usize) -> String {
    format!("U0LD{n:06}")
}

/// The `n`-th member's handle.
pub fn handle(n: usize) -> String {
    format!("m{n:06}")
}

/// An emulated workspace with `members` users, all in the team channel.
pub async fn emulator(members: usize, limits: Option<RateLimits>) -> Emulator {
    Emulator::start(workspace(members, None, limits)).await
}

/// The workspace of [`emulator`], plus the click team's members and channel if there is one.
pub fn workspace(
    members: usize,
    clicks: Option<&ClickTeam>,
    limits: Option<RateLimits>,
) -> EmulatorConfig {
    let ids: Vec<String> = (0..members).map(user_id).collect();
    let mut config = EmulatorConfig::default();
    for (n, id) in ids.iter().enumerate() {
        config = config.with_user(User::new(id, &handle(n)));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    config = config.with_channel(Channel::new(CHANNEL, "load-team").members(&refs));
    if let Some(team) = clicks {
        for n in team.users() {
            config = config.with_user(User::new(&user_id(n), &handle(n)));
        }
        let ids: Vec<String> = team.users().map(user_id).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        config = config.with_channel(Channel::new(CLICK_CHANNEL, "load-clicks").members(&refs));
    }
    if let Some(limits) = limits {
        config = config.with_rate_limits(limits);
    }
    config
}

pub const CLICK_CHANNEL: &str = "C0LOADCLIK";

/// A second, small team whose members are prompted once, early: their prompts carry the
/// *Answer in a form* button a burst clicks (a click that writes nothing: the bot only opens
/// the form with `views.open`). Its members are users `first..first + members`, beside the
/// load team's.
#[derive(Debug, Clone)]
pub struct ClickTeam {
    pub first: usize,
    pub members: usize,
    pub prompt: DateTime<Utc>,
}

impl ClickTeam {
    /// The members' user numbers (see [`user_id`]).
    pub fn users(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.members
    }
}

/// A crontab line (seconds first) that fires once, at `at` (UTC).
pub fn once_at(t: DateTime<Utc>) -> String {
    format!(
        "{} {} {} {} {} *",
        t.second(),
        t.minute(),
        t.hour(),
        t.format("%d"),
        t.format("%m")
    )
}

/// When the team's scheduled work happens.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub prompt: DateTime<Utc>,
    pub sync: DateTime<Utc>,
    pub post_before: String,
    pub remind_after: String,
}

impl Schedule {
    /// Nothing due for hours: only what the load tool sends happens.
    pub fn quiet() -> Schedule {
        let t0 = Utc::now();
        Schedule {
            prompt: t0 + chrono::Duration::hours(2),
            sync: t0 + chrono::Duration::hours(3),
            post_before: "30m".into(),
            remind_after: "1h".into(),
        }
    }
}

/// The next whole second at least `secs` from now, so a seconds-level cron fires exactly then.
pub fn whole_second_in(secs: i64) -> DateTime<Utc> {
    let t = Utc::now() + chrono::Duration::seconds(secs + 1);
    t.with_nanosecond(0).unwrap_or(t)
}

/// How the bot talks to Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Socket,
    Http,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Socket => "socket",
            Mode::Http => "http",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "socket" => Ok(Mode::Socket),
            "http" => Ok(Mode::Http),
            other => Err(format!("mode `{other}`: use socket or http")),
        }
    }
}

/// The bot binary to load: `STANDUP_BOT_BIN`, else the one Cargo built next to this target,
/// else `release/standup-bot` under `CARGO_TARGET_DIR` (or the workspace's `target/`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("STANDUP_BOT_BIN") {
        return PathBuf::from(path);
    }
    if let Some(path) = option_env!("CARGO_BIN_EXE_standup-bot") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release").join("standup-bot")
}

/// One bot process with its own directory (config, log, and the database on SQLite).
pub struct Bot {
    pub dir: tempfile::TempDir,
    /// Shared by its replicas; a PostgreSQL database is dropped with the last of them.
    db: Arc<BotDb>,
    bin: PathBuf,
    child: Option<Child>,
    bot_token: String,
    app_token: String,
    pub http_addr: Option<String>,
    /// Socket Mode: where the bot serves `/healthz` (see [`Bot::serve_health`]).
    pub health_addr: Option<String>,
    /// When the process was spawned.
    pub spawned: Option<Instant>,
}

impl Bot {
    /// Writes the config of one team of `members` members and the given schedule.
    pub fn new(bin: &Path, emu: &Emulator, members: usize, schedule: &Schedule) -> Bot {
        Bot::with_click_team(bin, emu, members, schedule, None)
    }

    /// [`Bot::new`], with the click team too if given (see [`ClickTeam`]).
    pub fn with_click_team(
        bin: &Path,
        emu: &Emulator,
        members: usize,
        schedule: &Schedule,
        clicks: Option<&ClickTeam>,
    ) -> Bot {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Arc::new(BotDb::fresh(dir.path()));
        let mut list = String::new();
        for n in 0..members {
            list.push_str(&format!(
                "  {{ user = \"{}\", handle = \"{}\" }},\n",
                user_id(n),
                handle(n)
            ));
        }
        let config = format!(
            r#"[database]
{database}

[slack]
api_url = "{api}"

[[team]]
id = "{TEAM}"
name = "Load Team"
channel = "{CHANNEL}"
format = "planning"
timezone = "UTC"
prompt = "{prompt}"
sync = "{sync}"
post_before = "{post_before}"
remind_after = "{remind_after}"
members = [
{list}]
"#,
            database = db.config_line(),
            api = emu.api_url(),
            prompt = once_at(schedule.prompt),
            sync = once_at(schedule.sync),
            post_before = schedule.post_before,
            remind_after = schedule.remind_after,
        );
        let mut config = config;
        if let Some(team) = clicks {
            let list: String = team
                .users()
                .map(|n| {
                    format!(
                        "  {{ user = \"{}\", handle = \"{}\" }},\n",
                        user_id(n),
                        handle(n)
                    )
                })
                .collect();
            config.push_str(&format!(
                r#"
[[team]]
id = "clicks"
name = "Click Team"
channel = "{CLICK_CHANNEL}"
format = "planning"
timezone = "UTC"
prompt = "{prompt}"
sync = "{sync}"
post_before = "30m"
remind_after = "1h"
members = [
{list}]
"#,
                prompt = once_at(team.prompt),
                sync = once_at(team.prompt + chrono::Duration::hours(6)),
            ));
        }
        std::fs::write(dir.path().join("standup.toml"), config).expect("config written");
        Bot {
            dir,
            db,
            bin: bin.to_path_buf(),
            child: None,
            bot_token: emu.config().bot_token.clone(),
            app_token: emu.config().app_token.clone(),
            http_addr: None,
            health_addr: None,
            spawned: None,
        }
    }

    /// In Socket Mode, have the bot serve `/healthz` (`run --health`) on a free local port
    /// when started.
    pub fn serve_health(&mut self) {
        self.health_addr = Some(format!("127.0.0.1:{}", free_port()));
    }

    /// Where `/healthz` answers once started: the health listener in Socket Mode, the
    /// Slack endpoints' listener in HTTP mode.
    pub fn health(&self) -> Option<&str> {
        self.http_addr.as_deref().or(self.health_addr.as_deref())
    }

    pub fn db(&self) -> Arc<BotDb> {
        self.db.clone()
    }

    /// Another process of the same bot (same config and database, its own directory and log),
    /// not started: a replica. Only PostgreSQL takes more than one.
    pub fn replica(&self) -> Bot {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::copy(
            self.dir.path().join("standup.toml"),
            dir.path().join("standup.toml"),
        )
        .expect("config copied");
        Bot {
            dir,
            db: self.db.clone(),
            bin: self.bin.clone(),
            child: None,
            bot_token: self.bot_token.clone(),
            app_token: self.app_token.clone(),
            http_addr: None,
            health_addr: None,
            spawned: None,
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("bot.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last `n` lines of the log, for a failure message.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Starts `standup-bot run` (Socket Mode, or `--http` on a free local port). Logging is
    /// at `info`, what a deployment would run with.
    pub fn start(&mut self, mode: Mode) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let mut command = Command::new(&self.bin);
        command.args(["--config", "standup.toml", "run"]);
        if mode == Mode::Http {
            let addr = format!("127.0.0.1:{}", free_port());
            command.args(["--http", &addr]);
            self.http_addr = Some(addr);
            self.health_addr = None;
        } else if let Some(addr) = &self.health_addr {
            command.args(["--health", addr]);
        }
        let spawned = Instant::now();
        let child = command
            .current_dir(self.dir.path())
            .env("SLACK_BOT_TOKEN", &self.bot_token)
            .env("SLACK_APP_TOKEN", &self.app_token)
            .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            // It would win over the config's database: one left in the shell would point every
            // bot of the run at it.
            .env_remove("STANDUP_DATABASE_URL")
            .env_remove("STANDUP_DATABASE_URL_FILE")
            .env(
                "STANDUP_LOG",
                std::env::var("STANDUP_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; build it with `cargo build --release --bin standup-bot` or set STANDUP_BOT_BIN",
                    self.bin.display()
                )
            });
        self.spawned = Some(spawned);
        self.child = Some(child);
    }

    /// Waits until the bot can be driven: its Socket Mode connection is up, or `/healthz`
    /// answers in HTTP mode. `false` on timeout.
    pub async fn ready(&self, emu: &Emulator, timeout: Duration) -> bool {
        match &self.http_addr {
            None => emu.socket_connected(timeout).await,
            Some(addr) => {
                let deadline = Instant::now() + timeout;
                while Instant::now() < deadline {
                    if health_ok(addr).await {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                false
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A field of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`).
    pub fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status_field(&status, field)
    }

    /// Peak resident set size so far (`VmHWM`), KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM")
    }

    /// Threads and their context switches (voluntary + involuntary) summed, from
    /// `/proc/PID/task/*/status`: every switch is the thread waking up or being preempted.
    pub fn context_switches(&self) -> Option<(usize, u64)> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid()?)).ok()?;
        let mut threads = 0;
        let mut switches = 0;
        for task in tasks.flatten() {
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            threads += 1;
            switches += status_field(&status, "voluntary_ctxt_switches").unwrap_or(0);
            switches += status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
        }
        Some((threads, switches))
    }

    /// CPU time the process has used (user + system), from `/proc/PID/stat`.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        // Fields after the command name (which may hold spaces, so split after its `)`):
        // utime and stime are the 12th and 13th, in clock ticks (100 per second on Linux).
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    /// SIGTERM, then waits up to `limit` for the exit (the bot drains its work for up to
    /// 10 s). Returns the exit status and how long the stop took; a bot still running is killed.
    pub fn stop(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let mut child = self.child.take()?;
        let asked = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some((status, asked.elapsed()));
            }
            if asked.elapsed() > limit {
                let _ = child.kill();
                let status = child.wait().ok()?;
                return Some((status, asked.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process at once (SIGKILL), for runs that have checked what they need.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Keeps the directory (config, database, log) after the run, for a look afterwards, and a
    /// PostgreSQL database on its server.
    pub fn keep(self) -> PathBuf {
        let mut this = self;
        this.kill();
        this.db.keep();
        let dir = std::mem::replace(&mut this.dir, tempfile::tempdir().expect("tempdir"));
        dir.keep()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

fn status_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// A free port on 127.0.0.1 (bound and released; the bot binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// `GET /healthz` answered 200.
pub async fn health_ok(addr: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    answer.starts_with(b"HTTP/1.1 200")
}

/// The machine's load average when a run starts, printed with its figures: the other core may
/// be busy with someone else's build.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let fields: Vec<&str> = l.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| fields.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}
