//! The harness the bot tests share: an emulated workspace, a bot process with a config made
//! for the test, and helpers to wait for what users see.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use slack_emulator::{Channel, Emulator, EmulatorConfig, User};

pub const WAIT: Duration = Duration::from_secs(20);
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const CHANNEL: &str = "C0TEAM0001";
pub const MARIA: &str = "U0MARIA001";
pub const KENJI: &str = "U0KENJI001";
pub const LI: &str = "U0LI000001";
pub const ZOE: &str = "U0ZOE00001";

/// The bot tests run one at a time: each starts a bot process, and on a 2-core machine running
/// them all at once can starve Slack's 3-second windows (trigger ids, acks).
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn emulator() -> Emulator {
    emulator_with(&[]).await
}

/// A workspace of `users` who are all in the team channel.
pub fn workspace_of(users: &[String]) -> EmulatorConfig {
    let mut config = EmulatorConfig::default();
    for u in users {
        config = config.with_user(User::new(u, &u.to_lowercase()));
    }
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    config.with_channel(Channel::new(CHANNEL, "team").members(&refs))
}

/// The team's workspace plus `others` (people in no team).
pub async fn emulator_with(others: &[User]) -> Emulator {
    let mut config = EmulatorConfig::default()
        .with_user(User::new(MARIA, "maria").tz("Europe/Berlin", "CET", 3600))
        .with_user(User::new(KENJI, "kenji"))
        .with_user(User::new(LI, "li"))
        .with_user(User::new(ZOE, "zoe"))
        .with_channel(Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI, ZOE]));
    for user in others {
        config = config.with_user(user.clone());
    }
    Emulator::start(config).await
}

/// A crontab line (seconds first) that fires once, at `at` (UTC).
pub fn at(t: DateTime<Utc>) -> String {
    format!(
        "{} {} {} {} {} *",
        t.second(),
        t.minute(),
        t.hour(),
        t.format("%d"),
        t.format("%m")
    )
}

/// A bot process with its own directory (config, database, log).
pub struct Bot {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub bot_token: String,
    pub app_token: String,
    /// Extra environment for the process (timings, a wrong token, ...).
    pub env: Vec<(String, String)>,
}

impl Bot {
    pub fn new(
        emu: &Emulator,
        prompt: DateTime<Utc>,
        sync: DateTime<Utc>,
        post_before: &str,
        remind_after: &str,
    ) -> Bot {
        Bot::with_extra(emu, prompt, sync, post_before, remind_after, "", "")
    }

    /// Like [`Bot::new`], with extra lines for the `[database]` and the team's table.
    pub fn with_extra(
        emu: &Emulator,
        prompt: DateTime<Utc>,
        sync: DateTime<Utc>,
        post_before: &str,
        remind_after: &str,
        database: &str,
        team: &str,
    ) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"
[database]
path = "standup.db"
{database}

[slack]
api_url = "{api}"

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "{CHANNEL}"
format = "planning"
timezone = "UTC"
prompt = "{prompt}"
sync = "{sync}"
post_before = "{post_before}"
remind_after = "{remind_after}"
{team}
members = [
  {{ user = "{MARIA}", handle = "maria" }},
  {{ user = "{KENJI}", handle = "kenji" }},
  {{ user = "{LI}", handle = "li" }},
  {{ user = "{ZOE}", handle = "zoe" }},
]
"#,
            api = emu.api_url(),
            prompt = at(prompt),
            sync = at(sync),
        );
        std::fs::write(dir.path().join("standup.toml"), config).unwrap();
        Bot {
            dir,
            child: None,
            bot_token: emu.config().bot_token.clone(),
            app_token: emu.config().app_token.clone(),
            env: Vec::new(),
        }
    }

    /// Rewrites the config file (before the next start).
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let path = self.dir.path().join("standup.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
    }

    /// Makes `users` the team's members, in order, with handles `m0`, `m1`, ...
    pub fn set_members(&self, users: &[String]) {
        let members: String = users
            .iter()
            .enumerate()
            .map(|(i, u)| format!("  {{ user = \"{u}\", handle = \"m{i}\" }},\n"))
            .collect();
        self.edit_config(|text| {
            let head = text.split("members = [").next().unwrap_or_default();
            format!("{head}members = [\n{members}]\n")
        });
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("standup.db")
    }

    /// Kills the process outright (SIGKILL): no shutdown, no flush beyond what is written.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("bot.log")
    }

    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    pub fn start_with(&mut self, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
            .args(["--config", "standup.toml", "run"])
            .args(extra)
            .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            .current_dir(self.dir.path())
            .env("SLACK_BOT_TOKEN", &self.bot_token)
            .env("SLACK_APP_TOKEN", &self.app_token)
            .env(
                "STANDUP_LOG",
                std::env::var("BOT_LOG").unwrap_or_else(|_| "info,standup_bot=debug".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Starts the bot in HTTP mode on a port the system picks (`127.0.0.1:0`, so no other
    /// process can take it between a test choosing it and the bot binding it) and returns
    /// the address it listens on, as the bot logs it.
    pub async fn start_http(&mut self) -> String {
        self.start_with(&["--http", "127.0.0.1:0"]);
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let log = self.log();
            if let Some(addr) = log
                .lines()
                .filter(|l| l.contains("HTTP mode listening"))
                .map(without_colours)
                .find_map(|l| {
                    let rest = l.split("addr=").nth(1)?;
                    rest.split_whitespace().next().map(str::to_string)
                })
            {
                return addr;
            }
            assert!(
                self.running() && std::time::Instant::now() < deadline,
                "the bot did not start listening; log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the bot with `--health` on a free port and returns the address. The port is
    /// found by binding and releasing it, so another process may take it first: then the bot
    /// exits saying so, and it is started again on another port.
    pub async fn start_with_health(&mut self) -> String {
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", unused_port());
            let logged = self.log().len();
            self.start_with(&["--health", &addr]);
            let deadline = std::time::Instant::now() + WAIT;
            loop {
                let log = self.log();
                let new = log.get(logged..).unwrap_or_default();
                if self.running() && new.contains("connected to Slack") {
                    return addr;
                }
                if !self.running() {
                    assert!(
                        new.contains("listen address"),
                        "the bot stopped; log:\n{log}"
                    );
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the bot did not connect; log:\n{log}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("no free port for the health endpoint in five tries")
    }

    /// Stops the bot the way an orchestrator does (SIGTERM) and waits for it to exit; a bot
    /// that does not exit within 10 s fails the test.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the bot did not stop within 10 s of SIGTERM; log:\n{}",
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Runs a sub-command of the binary (`compile`, `import`, ...) on this bot's config and
    /// database, and returns what it printed; a failure fails the test with its stderr.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
            .args(["--config", "standup.toml"])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- bot log ---\n{}", self.log());
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn prompts_to(emu: &Emulator, user: &str) -> usize {
    let dm = emu.dm_channel(user);
    emu.messages(&dm)
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("update for")))
        .count()
}

pub async fn wait_prompted(emu: &Emulator, user: &str) {
    let dm = emu.dm_channel(user);
    emu.wait_for_message(
        &dm,
        |m| m.blocks.is_some() && m.text.as_deref().is_some_and(|t| t.contains("update for")),
        WAIT,
    )
    .await;
}

/// A port nothing listened on a moment ago (see [`Bot::start_with_health`] for the race).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until the bot's store has `n` jobs of `kind` for `member` in `state` (a positive sign
/// that the scheduler has been there, rather than a pause that hopes it has).
pub async fn wait_jobs(bot: &Bot, kind: &str, member: &str, state: &str, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let found: i64 = rusqlite::Connection::open_with_flags(
            bot.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM jobs WHERE kind = ?1 AND member = ?2 AND state = ?3",
                [kind, member, state],
                |r| r.get(0),
            )
        })
        .unwrap_or(0);
        if found >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{member}: {found} of {n} {kind} jobs {state}; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the bot has handled every event it stored (the inbox has events and none is
/// pending): after this, an event already acked can no longer change what users see.
pub async fn wait_events_handled(bot: &Bot) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (all, pending): (i64, i64) = rusqlite::Connection::open_with_flags(
            bot.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row(
                "SELECT count(*), count(*) FILTER (WHERE handled_at IS NULL) FROM inbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap_or((0, 0));
        if all > 0 && pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} of {all} events not handled; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A log line without its terminal colour codes (`ESC [ ... m`).
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
