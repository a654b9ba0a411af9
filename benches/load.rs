//! The load tool: starts the real `standup-bot run` against the local Slack emulator, drives it
//! over Socket Mode or HTTP, and prints throughput, latency percentiles, peak RSS and a verdict
//! per invariant and target.
//!
//! ```text
//! cargo build --release --bin standup-bot
//! cargo bench --bench load -- burst --mode socket --dms 5000 --commands 1000 --seconds 60
//! cargo bench --bench load -- burst --mode http --dms 5000 --commands 1000 --seconds 12
//! cargo bench --bench load -- burst --mode socket --dms 5000 --commands 1000 --seconds 12 \
//!     --lock-at 3 --lock-for 3 --clicks 5 --health-every-ms 20 --ping-every-ms 50
//! cargo bench --bench load -- fanout --members 2000
//! cargo bench --bench load -- idle --seconds 30
//! cargo bench --bench load -- startup
//! cargo bench --bench load -- post
//! ```
//!
//! Every scenario runs on SQLite (`standup.db` in the bot's directory) unless given
//! `--postgres URL` (or `STANDUP_BENCH_POSTGRES=URL`): the URL of a PostgreSQL server and a
//! database to connect to for administration, e.g. `postgres://postgres@localhost:5432/postgres`.
//! Each bot then gets a database of its own created on that server (`bench_<time>_<pid>_<n>`,
//! its url in the config in place of the path) and dropped after the run (kept with `--keep`).
//! The checks read the database through `load/db.rs` with SQL both engines take.
//! `burst --lock-for` is refused there: it is another process holding SQLite's write lock.
//!
//! ```text
//! cargo bench --bench load -- burst --postgres postgres://postgres@localhost:5432/postgres \
//!     --mode socket --dms 5000 --commands 1000 --seconds 0 --settle 20
//! cargo bench --bench load -- fanout --postgres postgres://postgres@localhost:5432/postgres \
//!     --members 2000 --replicas 3
//! ```
//!
//! `fanout --replicas N` (PostgreSQL only) starts N bot processes on the same config and
//! database, each with its own directory and log, as a deployment runs replicas; the prompt is
//! timed once every one is connected. Only the replica holding the scheduler's lease sends
//! prompts; the report says which held it and takes the largest peak RSS of the N.
//!
//! The bot binary is `STANDUP_BOT_BIN` if set, else the `standup-bot` Cargo built for this
//! bench (`cargo bench` builds it in the release-like bench profile), else
//! `release/standup-bot` under `CARGO_TARGET_DIR` or `target/`. The exit code is 1 when an
//! invariant (not a timing target) failed. Figures are recorded in docs/BENCHMARKS.md.

#[path = "load/bot.rs"]
mod bot;
#[path = "load/burst.rs"]
mod burst;
#[path = "load/db.rs"]
mod db;
#[path = "load/scenarios.rs"]
mod scenarios;
#[path = "load/side.rs"]
mod side;
#[path = "load/stats.rs"]
mod stats;

use std::time::Duration;

use clap::{Parser, Subcommand};

use bot::Mode;

#[derive(Parser)]
#[command(
    name = "load",
    about = "Drive a real standup-bot against the local Slack emulator and measure it"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Run every bot on PostgreSQL: a new database on this server for each (an admin URL,
    /// e.g. postgres://postgres@localhost:5432/postgres), dropped after the run.
    #[arg(long, global = true, env = "STANDUP_BENCH_POSTGRES")]
    postgres: Option<String>,
}

#[derive(Subcommand)]
enum Scenario {
    /// DM replies and /standup commands at a steady rate (or as fast as possible); checks that
    /// every one is acked, stored once and answered.
    Burst {
        /// socket or http
        #[arg(long, default_value = "socket")]
        mode: Mode,
        #[arg(long, default_value_t = 5000)]
        dms: usize,
        #[arg(long, default_value_t = 1000)]
        commands: usize,
        /// Spread the sends over this many seconds; 0 = as fast as possible.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long, default_value_t = 200)]
        members: usize,
        /// Turn on the emulator's Slack rate limits.
        #[arg(long)]
        limits: bool,
        /// Seconds to wait after the last send for the bot's confirmations.
        #[arg(long, default_value_t = 60)]
        settle: u64,
        /// HTTP requests in flight at most with --seconds 0.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Keep the bot's directory (config, database, log).
        #[arg(long)]
        keep: bool,
        /// After the settle time, send one DM every 15 s for up to this many seconds until
        /// one is confirmed again.
        #[arg(long)]
        probe: Option<u64>,
        /// Another process takes the database's write lock (`BEGIN IMMEDIATE`) this many
        /// seconds into the burst...
        #[arg(long, default_value_t = 1.0)]
        lock_at: f64,
        /// ...and holds it this long (0: no lock).
        #[arg(long, default_value_t = 0.0)]
        lock_for: f64,
        /// Beside the burst, click a prompt's "Answer in a form" this many times a second
        /// (Socket Mode; the click writes nothing, the bot opens the form).
        #[arg(long, default_value_t = 0.0)]
        clicks: f64,
        /// Beside the burst, probe /healthz every this many milliseconds (0: no probes).
        #[arg(long, default_value_t = 0)]
        health_every_ms: u64,
        /// The emulator pings the Socket Mode connection every this many milliseconds and
        /// times the Pong (0: no pings).
        #[arg(long, default_value_t = 0)]
        ping_every_ms: u64,
    },
    /// One prompt to every member of one team under the emulator's rate limits.
    Fanout {
        #[arg(long, default_value_t = 50)]
        members: usize,
        #[arg(long, default_value = "socket")]
        mode: Mode,
        /// Seconds from start to the prompt (default 5; with replicas over Socket Mode, 61 more
        /// per replica after the first: see `scenarios::fanout`).
        #[arg(long)]
        lead: Option<i64>,
        /// Give up after this many seconds (default: 1.5 × the minimum + 3 min).
        #[arg(long)]
        timeout: Option<u64>,
        /// Bot processes on the same config and database (PostgreSQL only); the one holding
        /// the scheduler's lease sends the prompts.
        #[arg(long, default_value_t = 1)]
        replicas: usize,
    },
    /// A bot with nothing due: RSS and wake-ups.
    Idle {
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value = "socket")]
        mode: Mode,
        #[arg(long, default_value_t = 50)]
        members: usize,
    },
    /// Spawn → connected, repeated.
    Startup {
        #[arg(long, default_value_t = 10)]
        repeat: usize,
        #[arg(long, default_value = "socket")]
        mode: Mode,
        #[arg(long, default_value_t = 50)]
        members: usize,
    },
    /// post_before fires → the notes' summary and file are in Slack.
    Post {
        #[arg(long, default_value_t = 10)]
        members: usize,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Seconds before post_before the members answer (default: members + 8, so their
        /// confirmations are sent first).
        #[arg(long)]
        answer_lead: Option<i64>,
        /// Seconds after post_before to wait for the notes (default: members + 40).
        #[arg(long)]
        wait: Option<u64>,
    },
}

fn main() {
    // The other process of `burst --lock-for`: this binary run again to hold the lock.
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(burst::HOLD_LOCK) {
        burst::hold_lock(&raw[2..]);
        return;
    }
    // `cargo bench` passes `--bench` to every bench binary; it means nothing here.
    let args = std::env::args_os().filter(|a| a != "--bench");
    let cli = Cli::parse_from(args);
    if let Some(server) = cli.postgres.filter(|s| !s.is_empty()) {
        db::use_postgres(server);
    }
    match &cli.scenario {
        Scenario::Burst { lock_for, .. } if *lock_for > 0.0 && db::on_postgres() => {
            eprintln!(
                "--lock-for takes SQLite's write lock from another process: it has no meaning on PostgreSQL"
            );
            std::process::exit(2);
        }
        Scenario::Fanout { replicas, .. } if *replicas > 1 && !db::on_postgres() => {
            eprintln!(
                "--replicas needs --postgres: replicas share one PostgreSQL database (a SQLite file takes one bot)"
            );
            std::process::exit(2);
        }
        _ => {}
    }
    let bin = bot::binary();
    if !bin.exists() {
        eprintln!(
            "no bot binary at {}: run `cargo build --release --bin standup-bot` or set STANDUP_BOT_BIN",
            bin.display()
        );
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(async {
        match cli.scenario {
            Scenario::Burst {
                mode,
                dms,
                commands,
                seconds,
                members,
                limits,
                settle,
                concurrency,
                keep,
                probe,
                lock_at,
                lock_for,
                clicks,
                health_every_ms,
                ping_every_ms,
            } => {
                let ms = |n: u64| (n > 0).then(|| Duration::from_millis(n));
                let params = burst::Params {
                    mode,
                    members: members.max(1),
                    dms,
                    commands,
                    seconds,
                    limits,
                    settle: Duration::from_secs(settle),
                    concurrency,
                    graceful_stop: true,
                    keep,
                    probe: probe.map(Duration::from_secs),
                    lock: (lock_for > 0.0).then(|| {
                        (
                            Duration::from_secs_f64(lock_at),
                            Duration::from_secs_f64(lock_for),
                        )
                    }),
                    side: side::SideParams {
                        clicks,
                        health_every: ms(health_every_ms),
                        ping_every: ms(ping_every_ms),
                    },
                };
                burst::run(&bin, &params).await
            }
            Scenario::Fanout {
                members,
                mode,
                lead,
                timeout,
                replicas,
            } => {
                let params = scenarios::FanoutParams {
                    members: members.max(1),
                    mode,
                    lead,
                    timeout: timeout.map(Duration::from_secs),
                    replicas: replicas.max(1),
                };
                scenarios::fanout(&bin, &params).await
            }
            Scenario::Idle {
                seconds,
                mode,
                members,
            } => scenarios::idle(&bin, mode, seconds, members.max(1)).await,
            Scenario::Startup {
                repeat,
                mode,
                members,
            } => scenarios::startup(&bin, mode, repeat.max(1), members.max(1)).await,
            Scenario::Post {
                members,
                repeat,
                answer_lead,
                wait,
            } => scenarios::post(&bin, members.max(1), repeat.max(1), answer_lead, wait).await,
        }
    });
    println!("{}", report.render());
    if !report.broken_invariants().is_empty() {
        std::process::exit(1);
    }
}
