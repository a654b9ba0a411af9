//! The harness the bot tests share: an emulated workspace; the bot in this process on a clock
//! the test moves ([`Bot`], built with [`Bot::builder`]); the real binary ([`Process`]) for the
//! few tests that need a process (a kill, signals, start-up); and helpers to wait for what users
//! see.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use slack_emulator::{Channel, Emulator, EmulatorConfig, User};
use standup_bot::app::clock::{Clock, TestClock};
pub use standup_bot::bot::run::{Signals, Timings, Transport};
use standup_bot::config::{Secret, Secrets};

pub const WAIT: Duration = Duration::from_secs(20);
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const CHANNEL: &str = "C0TEAM0001";
pub const MARIA: &str = "U0MARIA001";
pub const KENJI: &str = "U0KENJI001";
pub const LI: &str = "U0LI000001";
pub const ZOE: &str = "U0ZOE00001";

/// Tests that start the real binary (or time the app against Slack's 3-second windows) hold
/// this for writing and run alone: on a 2-core machine a neighbour can starve those windows.
/// In-process bots and the fuzz targets hold it for reading, so they run beside each other but
/// not beside those (each used to be alone in a test binary of its own).
pub static ONE_AT_A_TIME: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Slack's waits cut to what a test can sit through: a hung Web API call gives up after 1 s, a
/// Socket Mode step after 1 s, a silent connection is taken for dead after 0.8 s (pings every
/// 0.2 s), and reconnects back off from 50 ms. The code paths are the production ones.
pub fn quick_timings() -> Timings {
    use standup_bot::slack::retry::Backoff;
    let mut t = Timings::default();
    t.calls.timeout = Duration::from_secs(1);
    t.socket.step_timeout = Duration::from_secs(1);
    t.socket.ping_every = Duration::from_millis(200);
    t.socket.dead_after = Duration::from_millis(800);
    t.socket.backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_secs(1),
        jitter: true,
    };
    t
}

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
    Emulator::start(team_workspace(others)).await
}

/// The config of [`emulator_with`]'s workspace, for a test that changes more of it.
pub fn team_workspace(others: &[User]) -> EmulatorConfig {
    let mut config = EmulatorConfig::default()
        .with_user(User::new(MARIA, "maria").tz("Europe/Berlin", "CET", 3600))
        .with_user(User::new(KENJI, "kenji"))
        .with_user(User::new(LI, "li"))
        .with_user(User::new(ZOE, "zoe"))
        .with_channel(Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI, ZOE]));
    for user in others {
        config = config.with_user(user.clone());
    }
    config
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

/// When the team is prompted and meets, as the config says it.
pub struct Schedule {
    /// Crontab lines, seconds first.
    pub prompt: String,
    pub sync: String,
    pub post_before: String,
    pub remind_after: String,
}

/// Writes `standup.toml` in `dir`: the team Orbit (maria, kenji, li, zoe) in [`CHANNEL`] on
/// `schedule`, with extra lines for the `[database]` and the team's table. The database is
/// [`new_database`]'s: on SQLite `dir/standup.db` (absolute, so the in-process bot needs no
/// working directory).
pub fn write_config(
    dir: &Path,
    emu: &Emulator,
    schedule: &Schedule,
    database: &str,
    team: &str,
) -> TestDb {
    let db = new_database(dir, &dir.join("standup.db").display().to_string());
    let config = format!(
        r#"
[database]
{db_line}
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
        db_line = db.config_line(),
        api = emu.api_url(),
        prompt = schedule.prompt,
        sync = schedule.sync,
        post_before = schedule.post_before,
        remind_after = schedule.remind_after,
    );
    std::fs::write(dir.join("standup.toml"), config).unwrap();
    db
}

/// Rewrites `dir/standup.toml`.
fn edit_config_in(dir: &Path, edit: impl FnOnce(String) -> String) {
    let path = dir.join("standup.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

/// Makes `users` the team's members in `dir/standup.toml`, with handles `m0`, `m1`, ...
fn set_members_in(dir: &Path, users: &[String]) {
    let members: String = users
        .iter()
        .enumerate()
        .map(|(i, u)| format!("  {{ user = \"{u}\", handle = \"m{i}\" }},\n"))
        .collect();
    edit_config_in(dir, |text| {
        let head = text.split("members = [").next().unwrap_or_default();
        format!("{head}members = [\n{members}]\n")
    });
}

/// Runs a sub-command of the binary (`compile`, `import`, ...) on `dir/standup.toml`, in
/// `dir`, and returns how it ended.
pub fn run_cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .env_remove(DATABASE_URL_ENV)
        .args(["--config", "standup.toml"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// [`run_cli`] for a command that must succeed: returns what it printed; a failure fails the
/// test with its stderr.
pub fn cli_in(dir: &Path, args: &[&str]) -> String {
    let out = run_cli(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A bot process with its own directory (config, database, log).
pub struct Process {
    pub dir: tempfile::TempDir,
    /// Shared by the replicas of one database ([`Process::replica`]).
    db: Arc<TestDb>,
    child: Option<Child>,
    pub bot_token: String,
    pub app_token: String,
    /// Extra environment for the process (timings, a wrong token, ...).
    pub env: Vec<(String, String)>,
}

impl Process {
    pub fn new(
        emu: &Emulator,
        prompt: DateTime<Utc>,
        sync: DateTime<Utc>,
        post_before: &str,
        remind_after: &str,
    ) -> Process {
        Process::with_extra(emu, prompt, sync, post_before, remind_after, "", "")
    }

    /// Like [`Process::new`], with extra lines for the `[database]` and the team's table.
    pub fn with_extra(
        emu: &Emulator,
        prompt: DateTime<Utc>,
        sync: DateTime<Utc>,
        post_before: &str,
        remind_after: &str,
        database: &str,
        team: &str,
    ) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let db = write_config(
            dir.path(),
            emu,
            &Schedule {
                prompt: at(prompt),
                sync: at(sync),
                post_before: post_before.into(),
                remind_after: remind_after.into(),
            },
            database,
            team,
        );

        Process {
            dir,
            db: Arc::new(db),
            child: None,
            bot_token: emu.config().bot_token.clone(),
            app_token: emu.config().app_token.clone(),
            env: Vec::new(),
        }
    }

    /// Rewrites the config file (before the next start).
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        edit_config_in(self.dir.path(), edit);
    }

    /// Another bot process on the same config and database, in a folder of its own (its own
    /// log): a replica, for PostgreSQL.
    pub fn replica(&self) -> Process {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            self.dir.path().join("standup.toml"),
            dir.path().join("standup.toml"),
        )
        .unwrap();
        Process {
            dir,
            db: self.db.clone(),
            child: None,
            bot_token: self.bot_token.clone(),
            app_token: self.app_token.clone(),
            env: self.env.clone(),
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Makes `users` the team's members, in order, with handles `m0`, `m1`, ...
    pub fn set_members(&self, users: &[String]) {
        set_members_in(self.dir.path(), users);
    }

    /// The bot's database.
    pub fn db(&self) -> &TestDb {
        &self.db
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
            .env_remove(DATABASE_URL_ENV)
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

    /// Stops the bot the way an orchestrator does (SIGTERM) and waits for it to exit; a bot
    /// that does not exit with status 0 within 10 s fails the test.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let status = loop {
                if let Some(status) = child.try_wait().ok().flatten() {
                    break status;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the bot did not stop within 10 s of SIGTERM; log:\n{}",
                        self.log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(
                status.success(),
                "the bot exited with {status} on SIGTERM; log:\n{}",
                self.log()
            );
        }
    }

    /// Runs a sub-command of the binary (`compile`, `import`, ...) on this bot's config and
    /// database, and returns what it printed; a failure fails the test with its stderr.
    pub fn cli(&self, args: &[&str]) -> String {
        cli_in(self.dir.path(), args)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Process {
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

/// The moment in-process bots start at unless a test says otherwise: the next Monday, 08:00 UTC,
/// on a whole minute (a crontab line then reads as the time it names).
///
/// Always ahead of the wall clock: Slack's message ts are the wall clock's, and what the bot
/// versions by its own clock (a carry click, a Home edit) must come after the messages the
/// member sent before it, as it would in real time.
pub fn monday_8am() -> DateTime<Utc> {
    // Once per run: every test and its bot agree on it even if the wall clock passes a Monday
    // 08:00 during the run.
    static AT: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *AT.get_or_init(next_monday_8am)
}

fn next_monday_8am() -> DateTime<Utc> {
    use chrono::Datelike;
    let now = Utc::now();
    let today = now.date_naive();
    let days = (7 - today.weekday().num_days_from_monday()) % 7;
    let mut monday = Utc.from_utc_datetime(
        &(today + chrono::Duration::days(i64::from(days)))
            .and_hms_opt(8, 0, 0)
            .unwrap(),
    );
    if monday <= now {
        monday += chrono::Duration::days(7);
    }
    monday
}

/// How a [`Bot`] is set up; see [`Bot::builder`].
pub struct BotBuilder<'a> {
    emu: &'a Emulator,
    start: DateTime<Utc>,
    schedule: Schedule,
    database: String,
    team: String,
    http: bool,
    health: bool,
}

impl BotBuilder<'_> {
    /// The clock's first reading (default [`monday_8am`]).
    pub fn clock_at(mut self, start: DateTime<Utc>) -> Self {
        self.start = start;
        self
    }

    /// The prompt's crontab line (seconds first; default 09:00 on weekdays).
    pub fn prompt(mut self, cron: &str) -> Self {
        self.schedule.prompt = cron.into();
        self
    }

    /// The prompt at one moment only.
    pub fn prompt_at(self, t: DateTime<Utc>) -> Self {
        self.prompt(&at(t))
    }

    /// The meeting's crontab line (seconds first; default 15:00 on weekdays).
    pub fn sync(mut self, cron: &str) -> Self {
        self.schedule.sync = cron.into();
        self
    }

    /// The meeting at one moment only.
    pub fn sync_at(self, t: DateTime<Utc>) -> Self {
        self.sync(&at(t))
    }

    pub fn post_before(mut self, span: &str) -> Self {
        self.schedule.post_before = span.into();
        self
    }

    pub fn remind_after(mut self, span: &str) -> Self {
        self.schedule.remind_after = span.into();
        self
    }

    /// Lines added to the `[database]` table.
    pub fn database(mut self, lines: &str) -> Self {
        self.database.push_str(lines);
        self.database.push('\n');
        self
    }

    /// Lines added to the team's table (before `members`).
    pub fn team(mut self, lines: &str) -> Self {
        self.team.push_str(lines);
        self.team.push('\n');
        self
    }

    /// Members are prompted on their own clock (Slack's time zone for each).
    pub fn per_member_timezone(self) -> Self {
        self.team("per_member_timezone = true")
    }

    /// Slack's HTTP endpoints on a listener the test binds, instead of Socket Mode.
    pub fn http(mut self) -> Self {
        self.http = true;
        self
    }

    /// In Socket Mode, `/healthz` on a listener the test binds.
    pub fn health(mut self) -> Self {
        self.health = true;
        self
    }

    /// Writes the config without starting (for edits or a CLI run first).
    pub fn build(self) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let db = write_config(
            dir.path(),
            self.emu,
            &self.schedule,
            &self.database,
            &self.team,
        );
        Bot {
            dir,
            db,
            clock: TestClock::new(self.start),
            bot_token: self.emu.config().bot_token.clone(),
            app_token: self.emu.config().app_token.clone(),
            http: self.http,
            health: self.health,
            addr: None,
            log: Log::default(),
            running: None,
            turn: None,
            starts: 0,
            timings: Timings {
                // An edit in a test is seen within a fraction of a second.
                config_poll: Some(std::time::Duration::from_millis(100)),
                ..Timings::default()
            },
            reload: Arc::default(),
        }
    }

    /// Starts the bot; returns once its first scheduler round is done.
    pub async fn start(self) -> Bot {
        let mut bot = self.build();
        bot.start().await;
        bot
    }
}

/// Everything an in-process bot logged, in the format of the binary's log.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

/// One start of the bot: its own runtime (as a process has), so its logs are its own and a
/// kill stops every task it spawned.
struct Running {
    runtime: tokio::runtime::Runtime,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<standup_bot::error::Result<()>>,
}

/// The bot running in this process against the emulator, on a [`TestClock`] the test moves:
/// what `standup-bot run` does, minus the process, the signals and the wall clock.
pub struct Bot {
    pub dir: tempfile::TempDir,
    db: TestDb,
    pub clock: TestClock,
    pub bot_token: String,
    pub app_token: String,
    http: bool,
    health: bool,
    /// Where the HTTP endpoints or `/healthz` are served, once started.
    addr: Option<std::net::SocketAddr>,
    log: Log,
    running: Option<Running>,
    /// Held from the first start: see [`ONE_AT_A_TIME`].
    turn: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    /// How many times `run` was started.
    starts: usize,
    /// How long the bot waits on Slack: Slack's own unless a test shortens them.
    pub timings: Timings,
    /// What SIGHUP is to `standup-bot run`: see [`Bot::reload`].
    reload: Arc<tokio::sync::Notify>,
}

impl Bot {
    /// A bot for the team Orbit (maria, kenji, li, zoe) of [`emulator`], on a clock at
    /// [`monday_8am`], prompting at 09:00 and meeting at 15:00 on weekdays, posting 30 minutes
    /// before and reminding after 2 hours, unless the builder says otherwise.
    pub fn builder(emu: &Emulator) -> BotBuilder<'_> {
        BotBuilder {
            emu,
            start: monday_8am(),
            schedule: Schedule {
                prompt: "0 0 9 * * Mon-Fri".into(),
                sync: "0 0 15 * * Mon-Fri".into(),
                post_before: "30m".into(),
                remind_after: "2h".into(),
            },
            database: String::new(),
            team: String::new(),
            http: false,
            health: false,
        }
    }

    /// Starts (or restarts) the bot; returns once its first scheduler round and the
    /// introductions due at start are done. A bot
    /// that fails to start fails the test with its error and log.
    pub async fn start(&mut self) {
        if let Err(e) = self.try_start().await {
            panic!("the bot did not start: {e}; log:\n{}", self.log());
        }
    }

    /// Tells the running bot to reload its config, as SIGHUP tells `standup-bot run`.
    pub fn reload(&self) {
        self.reload.notify_one();
    }

    /// Starts the bot and returns its start-up error, if it stops with one.
    pub async fn try_start(&mut self) -> Result<(), String> {
        assert!(self.running.is_none(), "the bot is already running");
        if self.turn.is_none() {
            self.turn = Some(ONE_AT_A_TIME.read().await);
        }
        let (config, renderer) =
            standup_bot::app::setup::load(Some(&self.dir.path().join("standup.toml")))
                .map_err(|e| e.to_string())?;
        let secrets = Secrets {
            bot_token: Some(Secret::new(self.bot_token.clone())),
            app_token: Some(Secret::new(self.app_token.clone())),
            signing_secret: Some(Secret::new(SIGNING_SECRET.to_string())),
        };
        let filter = std::env::var("BOT_LOG").unwrap_or_else(|_| "info,standup_bot=debug".into());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(self.log.clone())
            .with_ansi(false)
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                // Every thread of this bot logs to its log, for as long as the thread lives.
                std::mem::forget(tracing::dispatcher::set_default(&dispatch));
            })
            .build()
            .unwrap();
        let listener = if self.http || self.health {
            // Bound here and handed over: nobody can take the port in between.
            let std = std::net::TcpListener::bind(self.addr.unwrap_or(([127, 0, 0, 1], 0).into()))
                .unwrap();
            std.set_nonblocking(true).unwrap();
            self.addr = Some(std.local_addr().unwrap());
            let _inside = runtime.enter();
            Some(tokio::net::TcpListener::from_std(std).unwrap())
        } else {
            None
        };
        let transport = match listener {
            Some(l) if self.http => Transport::Http(l),
            health => Transport::Socket { health },
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        self.starts += 1;
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let done = runtime.spawn(standup_bot::bot::run::run(
            config,
            renderer,
            secrets,
            self.timings,
            transport,
            clock,
            Signals {
                shutdown: Box::pin(async move {
                    let _ = stopped.await;
                }),
                reload: self.reload.clone(),
            },
        ));
        self.running = Some(Running {
            runtime,
            stop,
            done,
        });
        // Started once the scheduler sleeps until its next job; a start-up error ends it first.
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let running = self.running.as_ref().unwrap();
            if running.done.is_finished() {
                let running = self.running.take().unwrap();
                let result = running.done.await.expect("the bot did not panic");
                running.runtime.shutdown_background();
                return Err(match result {
                    Ok(()) => "it stopped at once".into(),
                    Err(e) => e.to_string(),
                });
            }
            // Started: the scheduler sleeps until its next job, and the introductions a start
            // makes (a task of their own) have ended, as the log says once per start.
            let log = self.log();
            let introduced = log.matches("introductions due at start sent").count()
                + log.matches("introductions left for the next start").count();
            if self.clock.settled().is_some_and(|n| n > 0) && introduced >= self.starts {
                return Ok(());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the bot did not finish starting (scheduler asleep: {:?}, introductions: {introduced} of {}); log:\n{}",
                self.clock.settled(),
                self.starts,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the bot the way SIGTERM does and waits until `run` returned; a bot that does not
    /// stop within 10 s, or stops with an error, fails the test.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(10), running.done).await;
        let runtime = running.runtime;
        tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(10)))
            .await
            .unwrap();
        match result {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the bot stopped with {e}; log:\n{}", self.log()),
            Ok(Err(e)) => panic!("the bot panicked: {e}; log:\n{}", self.log()),
            Err(_) => panic!(
                "the bot did not stop within 10 s of the signal; log:\n{}",
                self.log()
            ),
        }
    }

    /// Stops the bot at once, wherever its tasks are (as close to SIGKILL as a process can do
    /// to itself: tasks are dropped at their next await, SQLite rolls back what was not
    /// committed).
    pub async fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            let runtime = running.runtime;
            tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(10)))
                .await
                .unwrap();
        }
    }

    pub fn running(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.done.is_finished())
    }

    /// Waits until the scheduler has done everything due by the clock's time and sleeps until
    /// a later one: after this, anything the schedule should have done by now is done.
    pub async fn settle(&self) {
        // Long enough for a round that sends hundreds of prompts at Slack's pace.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !self.clock.until_settled(Duration::from_millis(20)).await {
            assert!(
                self.running(),
                "the bot is not running; log:\n{}",
                self.log()
            );
            assert!(
                std::time::Instant::now() < deadline,
                "the scheduler did not catch up with the clock at {}; log:\n{}",
                self.clock.now(),
                self.log()
            );
        }
    }

    /// Moves the clock to `t` the way time passes: through every moment the scheduler wakes
    /// at on the way, each handled before the next, so nothing due is run late.
    pub async fn run_until(&self, t: DateTime<Utc>) {
        loop {
            self.settle().await;
            let next = self.clock.next_wake().filter(|w| *w < t);
            match next {
                Some(wake) => self.clock.set(wake.max(self.clock.now())),
                None => {
                    if t > self.clock.now() {
                        self.clock.set(t);
                    }
                    self.settle().await;
                    return;
                }
            }
        }
    }

    /// [`Bot::run_until`] `by` from now.
    pub async fn run_for(&self, by: chrono::Duration) {
        self.run_until(self.clock.now() + by).await;
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Brings the clock up to the wall clock, if it is behind. Slack's message ts are the wall
    /// clock's, while what the bot versions itself (an edit from the Home tab's form, a carry
    /// click) takes its own clock's time: a test that has the member act after a DM moves the
    /// clock past that DM first, as time would have passed.
    pub fn catch_up_with_slack(&self) {
        let wall = Utc::now();
        if wall > self.clock.now() {
            self.clock.set(wall);
        }
    }

    /// Where the HTTP endpoints (or `/healthz`) are served.
    pub fn url(&self) -> String {
        format!(
            "http://{}",
            self.addr.expect("started with http() or health()")
        )
    }

    /// Rewrites the config file (before the next start).
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        edit_config_in(self.dir.path(), edit);
    }

    /// Makes `users` the team's members, in order, with handles `m0`, `m1`, ...
    pub fn set_members(&self, users: &[String]) {
        set_members_in(self.dir.path(), users);
    }

    /// The bot's database.
    pub fn db(&self) -> &TestDb {
        &self.db
    }

    /// Runs a sub-command of the binary on this bot's config and database.
    pub fn cli(&self, args: &[&str]) -> String {
        cli_in(self.dir.path(), args)
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- bot log ---\n{}", self.log());
        }
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
        }
    }
}

/// Waits until the emulator holds `n` uploaded files, and returns the `n`th.
pub async fn wait_file(emu: &Emulator, n: usize) -> slack_emulator::File {
    // The emulator's predicates run under its state lock, so the file list is polled here.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let files = emu.files();
        if files.len() >= n && files[n - 1].title.is_some() {
            return files[n - 1].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no file {n}: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Bot {
    /// Waits until every event the bot has stored is handled (none pending in its inbox): after
    /// this, what the bot does for the events acked so far is done, with no fixed sleep.
    pub async fn events_handled(&self) {
        inbox_handled(&self.db, false, &|| self.log()).await;
    }
}

impl Process {
    /// Waits until the real binary has stored at least one event and handled every event it
    /// stored (none left in its inbox).
    pub async fn events_handled(&self) {
        inbox_handled(&self.db, true, &|| self.log()).await;
    }
}

/// Waits until the inbox of `db` has nothing pending (and, with `at_least_one`, holds an
/// event); a database not readable yet counts as not there yet.
async fn inbox_handled(db: &TestDb, at_least_one: bool, log: &dyn Fn() -> String) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let counts: Option<(i64, i64)> = db
            .try_rows(
                "SELECT count(*), count(*) FILTER (WHERE handled_at IS NULL) FROM inbox",
                &[],
            )
            .ok()
            .and_then(|rows| rows.into_iter().next())
            .map(|row| (row[0].int(), row[1].int()));
        if let Some((all, 0)) = counts
            && (all > 0 || !at_least_one)
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events not all handled ({counts:?} stored, pending); log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `/standup <text>` from `user` in the team channel: the answer in the ack, or (on a slow
/// machine) the one that follows through the `response_url`.
pub async fn command(emu: &Emulator, user: &str, text: &str) -> String {
    let before = emu.response_posts().len();
    let answer = emu
        .send_slash_command("/standup", text, user, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let text = answer["text"].as_str().unwrap_or_default().to_string();
    if !text.starts_with("On it") {
        return text;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(post) = emu.response_posts().get(before) {
            return post.body["text"].as_str().unwrap_or_default().to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer to {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `check` holds, failing the test with `what` after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The newest completed version of the notes file, once it satisfies `ok`.
pub async fn notes_file(
    emu: &slack_emulator::Emulator,
    bot: &Bot,
    ok: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(f) = emu.files().into_iter().rfind(|f| f.completed)
            && ok(&f.content)
        {
            return f.content;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no such notes file: {:?}; log:\n{}",
            emu.files()
                .into_iter()
                .rfind(|f| f.completed)
                .map(|f| f.content),
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A PostgreSQL server the tests may create databases on (its URL names a database to connect
/// to for that, e.g. `postgres://postgres:pw@localhost:5432/postgres`). Unset or empty, the
/// tests run on SQLite files. `scripts/with-postgres.sh` starts a throwaway server and sets it.
pub const POSTGRES_ENV: &str = "STANDUP_TEST_POSTGRES";

/// The variable the binary takes a database URL from instead of the config file. The harness
/// clears it for the processes it starts: one left in a developer's shell would send every test
/// bot to that database.
pub const DATABASE_URL_ENV: &str = "STANDUP_DATABASE_URL";

fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.is_empty())
}

/// Whether the tests run on PostgreSQL. On SQLite, says why the calling test is skipped, for a
/// test of what only PostgreSQL does (replicas): `if !postgres_only("why") { return; }`.
pub fn postgres_only(reason: &str) -> bool {
    if postgres_server().is_some() {
        return true;
    }
    eprintln!("skipped on SQLite: {reason}");
    false
}

/// Whether the tests run on SQLite. On PostgreSQL, says why the calling test is skipped, for a
/// test about the SQLite file itself (its locks, permissions, damage, size): start it with
/// `if !sqlite_only("why") { return; }`.
pub fn sqlite_only(reason: &str) -> bool {
    if postgres_server().is_none() {
        return true;
    }
    eprintln!("skipped on PostgreSQL: {reason}");
    false
}

/// A fresh database for a bot whose files are in `dir`, where every config the tests write
/// gets its `[database]` from, so the engine is chosen here alone: with [`POSTGRES_ENV`] set, a
/// new database on that server; otherwise the SQLite file `sqlite_file` (as the config names
/// it: absolute, or relative to `dir`, where the commands run).
pub fn new_database(dir: &Path, sqlite_file: &str) -> TestDb {
    match postgres_server() {
        Some(server) => TestDb::create_postgres(&server),
        None => TestDb::Sqlite {
            named: sqlite_file.to_string(),
            path: dir.join(sqlite_file),
        },
    }
}

/// A fresh database on the test PostgreSQL server whatever engine the other tests run on, for
/// a test that needs PostgreSQL beside a SQLite file; `None` without a server.
pub fn new_postgres_database() -> Option<TestDb> {
    postgres_server().map(|server| TestDb::create_postgres(&server))
}

/// One value a query returned. The schema holds integers and text only, and a test's query
/// selects those, so both engines give the same values for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DbValue {
    Null,
    Int(i64),
    Text(String),
}

impl DbValue {
    pub fn int(&self) -> i64 {
        match self {
            DbValue::Int(n) => *n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        self.opt_text()
            .unwrap_or_else(|| panic!("expected text, got NULL"))
    }

    pub fn opt_text(&self) -> Option<String> {
        match self {
            DbValue::Null => None,
            DbValue::Text(t) => Some(t.clone()),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// A test bot's database, read the way the test sees fit whatever the engine. The SQL must be
/// what SQLite and PostgreSQL both accept (no `rowid`, `PRAGMA`, `INSERT OR`, `instr`; select
/// integers, not the booleans a comparison is in PostgreSQL), with parameters `$1`, `$2`, ...
/// given as text (`CAST($1 AS BIGINT)` where one stands for a number).
pub enum TestDb {
    Sqlite {
        /// As the config names it.
        named: String,
        /// Where the tests open it.
        path: PathBuf,
    },
    Postgres {
        /// The server, for creating and dropping the database.
        server: String,
        /// The database's own URL, as the config names it.
        url: String,
        name: String,
    },
}

impl TestDb {
    fn create_postgres(server: &str) -> TestDb {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        // Unique on a server that outlives runs, too: pids come back, the time does not.
        static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let run = *RUN.get_or_init(|| Utc::now().timestamp().unsigned_abs());
        let name = format!(
            "standup_test_{run}_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        );
        let create = format!("CREATE DATABASE {name}");
        on_postgres(server, move |c| c.batch_execute(&create))
            .unwrap_or_else(|e| panic!("cannot create database {name} on {POSTGRES_ENV}: {e}"));
        let mut url = url::Url::parse(server)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is not a URL ({e}): {server}"));
        url.set_path(&format!("/{name}"));
        TestDb::Postgres {
            server: server.to_string(),
            url: url.to_string(),
            name,
        }
    }

    /// The `[database]` line that puts a bot on this database.
    pub fn config_line(&self) -> String {
        match self {
            TestDb::Sqlite { named, .. } => format!("path = \"{named}\""),
            TestDb::Postgres { url, .. } => format!("url = \"{url}\""),
        }
    }

    /// Every row `sql` returns; an error while the database cannot be read (not created yet, a
    /// table not there yet).
    pub fn try_rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Vec<DbValue>>, String> {
        match self {
            TestDb::Sqlite { path, .. } => {
                sqlite_rows(path, sql, params).map_err(|e| format!("{}: {e}", path.display()))
            }
            TestDb::Postgres { url, .. } => {
                let sql = sql.to_string();
                let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
                on_postgres(url, move |c| {
                    // Declared text, as SQLite takes them: PostgreSQL would otherwise infer a
                    // parameter's type from its use (`CAST($1 AS BIGINT)` would want an i64).
                    let types = vec![postgres::types::Type::TEXT; params.len()];
                    let statement = c.prepare_typed(&sql, &types)?;
                    let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                        .iter()
                        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                        .collect();
                    c.query(&statement, &params)?
                        .iter()
                        .map(postgres_row)
                        .collect()
                })
            }
        }
    }

    /// Every row `sql` returns; an error fails the test.
    pub fn rows(&self, sql: &str, params: &[&str]) -> Vec<Vec<DbValue>> {
        self.try_rows(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first row `sql` returns; none fails the test.
    pub fn row(&self, sql: &str, params: &[&str]) -> Vec<DbValue> {
        self.rows(sql, params)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no row for {sql}"))
    }

    /// The integer in the first column of the first row, e.g. a `count(*)`.
    pub fn try_int(&self, sql: &str, params: &[&str]) -> Result<i64, String> {
        let rows = self.try_rows(sql, params)?;
        let first = rows.first().and_then(|row| row.first());
        Ok(first.ok_or_else(|| format!("no row for {sql}"))?.int())
    }

    pub fn int(&self, sql: &str, params: &[&str]) -> i64 {
        self.try_int(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The text in the first column of the first row.
    pub fn text(&self, sql: &str, params: &[&str]) -> String {
        self.row(sql, params)[0].text()
    }

    /// Everything the database holds, to compare before and after or to search for what must
    /// not be stored. On SQLite the file's bytes, with the WAL folded in first so they hold every
    /// committed change (free pages too, where a deleted secret would linger); on PostgreSQL
    /// every row of every table, in a fixed order.
    pub fn contents(&self) -> Vec<u8> {
        match self {
            TestDb::Sqlite { path, .. } => {
                // The checkpoint writes: the one read-write open on the SQLite side.
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                    .unwrap();
                drop(conn);
                std::fs::read(path).unwrap()
            }
            TestDb::Postgres { .. } => {
                let mut out = String::new();
                for table in self.tables() {
                    // A row cast to text: any column type, in PostgreSQL's own notation.
                    let rows = self.rows(&format!("SELECT t::text FROM \"{table}\" t"), &[]);
                    let mut rows: Vec<String> = rows.iter().map(|r| r[0].text()).collect();
                    rows.sort();
                    for row in rows {
                        out.push_str(&format!("{table} {row}\n"));
                    }
                }
                out.into_bytes()
            }
        }
    }

    /// Whether the bot has created its database: the SQLite file is there, or the PostgreSQL
    /// database (which the harness creates empty) has a table.
    pub fn exists(&self) -> bool {
        match self {
            TestDb::Sqlite { path, .. } => path.exists(),
            TestDb::Postgres { .. } => !self.tables().is_empty(),
        }
    }

    /// SQLite only, for a test about the file itself: runs `sql` on the file opened for writing
    /// (to damage it, or to make it look like another release's).
    pub fn edit_sqlite_file(&self, sql: &str) {
        let TestDb::Sqlite { path, .. } = self else {
            panic!("edit_sqlite_file on PostgreSQL: guard the test with sqlite_only");
        };
        rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs `sql` (statements without parameters) on either engine, to give the bot a database
    /// in a state it may meet: one that another bot left, say. Not while a bot is writing.
    pub fn change(&self, sql: &str) {
        match self {
            TestDb::Sqlite { .. } => self.edit_sqlite_file(sql),
            TestDb::Postgres { url, .. } => {
                let batch = sql.to_string();
                on_postgres(url, move |c| c.batch_execute(&batch))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// The database's tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self {
            TestDb::Sqlite { .. } => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            TestDb::Postgres { .. } => {
                "SELECT tablename::text FROM pg_tables
                 WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            }
        };
        let mut tables: Vec<String> = self.rows(sql, &[]).iter().map(|r| r[0].text()).collect();
        tables.sort();
        tables
    }

    /// Fails the test unless every row of every table but the schema's bookkeeping and the
    /// replicas' leases carries `workspace`, and `workspace` is what the database is bound to.
    pub fn assert_rows_carry_workspace(&self, workspace: &str) {
        const OWN: &[&str] = &[
            "leases",
            "schema_compat",
            "schema_version",
            "workspace_binding",
        ];
        assert_eq!(
            self.text("SELECT workspace FROM workspace_binding", &[]),
            workspace
        );
        for table in self.tables().iter().filter(|t| !OWN.contains(&t.as_str())) {
            let other = self.int(
                &format!("SELECT count(*) FROM \"{table}\" WHERE workspace <> $1"),
                &[workspace],
            );
            assert_eq!(
                other, 0,
                "{table}: {other} rows without workspace {workspace}"
            );
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A database per test adds up on a server that lives on; FORCE ends the connections of a
        // bot that was killed rather than stopped.
        if let TestDb::Postgres { server, name, .. } = self {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = on_postgres(server, move |c| c.batch_execute(&drop)) {
                eprintln!("could not drop the test database {name}: {e}");
            }
        }
    }
}

/// Runs `work` with a new client of the PostgreSQL database at `url`, on a thread of its own:
/// the `postgres` client blocks on a runtime it starts, which tokio refuses on a thread that
/// drives a runtime already (any async test's).
/// A lease held from the test as a live replica holds it: by a name that an open connection
/// carries (`application_name`), for an hour. [`HeldLease::let_go`] (or dropping it) closes
/// the connection: the holder is then gone, as a killed replica is.
pub struct HeldLease {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HeldLease {
    pub fn let_go(mut self) {
        self.end();
    }

    fn end(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.end();
    }
}

impl TestDb {
    /// Holds the lease `name` (see [`HeldLease`]); PostgreSQL only.
    pub fn hold_lease(&self, name: &str) -> HeldLease {
        let TestDb::Postgres { url, .. } = self else {
            panic!("leases are for replicas on PostgreSQL")
        };
        let (url, name) = (url.clone(), name.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        // Its own thread: the blocking client cannot run on the test's runtime.
        let thread = std::thread::spawn(move || {
            let holder = "a test's replica";
            let held = (|| {
                let mut config: postgres::Config = url.parse()?;
                config.application_name(holder);
                let mut client = config.connect(postgres::NoTls)?;
                client.execute(
                    "INSERT INTO leases (name, holder, epoch, expires_at)
                     VALUES ($1, $2, 1, clock_timestamp() + interval '1 hour')
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                         epoch = leases.epoch + 1, expires_at = excluded.expires_at",
                    &[&name, &holder],
                )?;
                Ok::<_, postgres::Error>(client)
            })();
            match held {
                Ok(client) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = release_rx.recv();
                    drop(client);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(postgres_error(e)));
                }
            }
        });
        ready_rx
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("cannot hold the lease: {e}"));
        HeldLease {
            release: Some(release_tx),
            thread: Some(thread),
        }
    }
}

fn on_postgres<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client =
            postgres::Client::connect(&url, postgres::NoTls).map_err(postgres_error)?;
        work(&mut client).map_err(postgres_error)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The error with its causes: alone it says "db error" or "error serializing parameter 0".
fn postgres_error(e: postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn postgres_row(row: &postgres::Row) -> Result<Vec<DbValue>, postgres::Error> {
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            let value = match ty.name() {
                "int8" => row.try_get::<_, Option<i64>>(i).map(|v| v.map(DbValue::Int)),
                "int4" => row
                    .try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|n| DbValue::Int(n.into()))),
                "int2" => row
                    .try_get::<_, Option<i16>>(i)
                    .map(|v| v.map(|n| DbValue::Int(n.into()))),
                "text" | "varchar" | "bpchar" | "name" => {
                    row.try_get::<_, Option<String>>(i).map(|v| v.map(DbValue::Text))
                }
                // SQLite would give an integer (a comparison) or a number of another kind (a
                // sum): the query must say which, for both engines to agree.
                _ => panic!(
                    "column {i} is a PostgreSQL {ty}: select an integer or text (compare in Rust, or CASE WHEN ... THEN 1 ELSE 0 END, or CAST ... AS BIGINT)"
                ),
            };
            value.map(|v| v.unwrap_or(DbValue::Null))
        })
        .collect()
}

fn sqlite_rows(path: &Path, sql: &str, params: &[&str]) -> rusqlite::Result<Vec<Vec<DbValue>>> {
    use rusqlite::types::ValueRef;
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement = conn.prepare(&sqlite_placeholders(sql))?;
    let columns = statement.column_count();
    let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
        (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => DbValue::Null,
                    ValueRef::Integer(n) => DbValue::Int(n),
                    ValueRef::Text(t) => DbValue::Text(String::from_utf8_lossy(t).into_owned()),
                    other => panic!(
                        "column {i} is a SQLite {:?}: select an integer or text",
                        other.data_type()
                    ),
                })
            })
            .collect()
    })?;
    rows.collect()
}

/// The tests write parameters PostgreSQL's way, `$1`. SQLite takes `$1` as a named parameter,
/// numbered by where it first appears rather than by its digits; `?1` is numbered as written.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_literal = !in_literal;
        }
        let placeholder = c == '$' && !in_literal && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if placeholder { '?' } else { c });
    }
    out
}
