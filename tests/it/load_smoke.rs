//! A CI-sized run of the load tool's burst (`benches/load.rs`): the real `standup-bot run`
//! binary gets 200 DMs and 50 `/standup` commands as fast as they can be sent, over Socket Mode
//! and over HTTP, and every invariant must hold: all acked, every DM stored exactly once, no
//! confirmation twice, every command answered; beside it, clicks that only open a form,
//! `/healthz` probes and Socket Mode Pings all answered. Timings are printed, not asserted: a shared
//! runner cannot promise milliseconds.

// The bench's modules, shared so CI runs the same driver and checks; the bench uses parts this
// test does not (the other scenarios, the binary lookup, the lock-holding process).
#[allow(dead_code)]
#[path = "../../benches/load/bot.rs"]
mod bot;
#[allow(dead_code)]
#[path = "../../benches/load/burst.rs"]
mod burst;
#[allow(dead_code)]
#[path = "../../benches/load/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "../../benches/load/side.rs"]
mod side;
#[allow(dead_code)]
#[path = "../../benches/load/stats.rs"]
mod stats;

use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_both_modes_loses_and_duplicates_nothing() {
    // A flat-out burst of a real binary: alone, as it was in its own test binary.
    let _turn = crate::support::ONE_AT_A_TIME.write().await;
    // On the PostgreSQL pass the burst runs there too: its database is created on the same server.
    if let Ok(server) = std::env::var(crate::support::POSTGRES_ENV)
        && !server.is_empty()
    {
        db::use_postgres(server);
    }
    for mode in [bot::Mode::Socket, bot::Mode::Http] {
        let params = burst::Params {
            mode,
            members: 20,
            dms: 200,
            commands: 50,
            seconds: 0.0,
            limits: false,
            // Confirmations are paced at one a second by the bot's Slack client: not waited for.
            settle: Duration::from_secs(1),
            concurrency: 16,
            graceful_stop: false,
            keep: false,
            probe: None,
            lock: None,
            // A few clicks that only open a form, /healthz probes and Socket Mode Pings beside
            // the burst: each answered (their timings are only printed).
            side: side::SideParams {
                clicks: if mode == bot::Mode::Socket { 20.0 } else { 0.0 },
                health_every: Some(Duration::from_millis(10)),
                ping_every: Some(Duration::from_millis(10)),
            },
        };
        let report = burst::run(Path::new(env!("CARGO_BIN_EXE_standup-bot")), &params).await;
        println!("{}", report.render());
        let broken = report.broken_invariants();
        assert!(
            broken.is_empty(),
            "{} mode: {broken:#?}\n{}",
            mode.name(),
            report.render()
        );
    }
}
