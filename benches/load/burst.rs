//! The burst: DM replies and `/standup` commands sent to a running bot over Socket Mode or
//! HTTP, then checked: every one acked, every DM stored exactly once, no confirmation twice,
//! every command answered.
//!
//! Each DM carries a unique token (`ldtok-0001234`), so the check reads the bot's database,
//! SQLite or PostgreSQL (every revision is a `replies` row), and counts each token: 0 is a lost
//! update, 2 a duplicated one. Latencies are taken where Slack would see them: the emulator's envelope →
//! ack time in Socket Mode, request → response at the client in HTTP mode, and send → the
//! bot's `chat.postMessage` reaching the emulator for the confirmation DM.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_emulator::{Emulator, RateLimits, SignedClient, events};

use super::bot::{self, Bot, CHANNEL, ClickTeam, Mode, SIGNING_SECRET, Schedule};
use super::db::{self, BotDb};
use super::side::{self, SideParams};
use super::stats::{Report, Row, Verdict, fmt_duration, percentile};

/// Slack redelivers an event, and shows an error for a command, not acked within 3 s.
const SLACK_ACK_WINDOW: Duration = Duration::from_secs(3);
const READY: Duration = Duration::from_secs(30);
const TOKEN_PREFIX: &str = "ldtok-";

/// What to send and how.
#[derive(Debug, Clone)]
pub struct Params {
    pub mode: Mode,
    /// Members of the one team; DMs and commands go round-robin over them.
    pub members: usize,
    pub dms: usize,
    pub commands: usize,
    /// Spread the sends evenly over this many seconds; 0 sends as fast as possible.
    pub seconds: f64,
    /// Turn on the emulator's Slack rate limits (off by default: the bot answers every DM
    /// with a confirmation, and the burst is about the inbound side).
    pub limits: bool,
    /// How long to wait after the last send for the bot's confirmations.
    pub settle: Duration,
    /// Requests in flight at most in HTTP mode when sending as fast as possible.
    pub concurrency: usize,
    /// SIGTERM and wait for the exit before the final database check (the bench); else check
    /// the live database and kill the process (the CI smoke run: faster).
    pub graceful_stop: bool,
    /// Keep the bot's directory (config, database, log).
    pub keep: bool,
    /// After the settle time, probe with one DM every 15 s for up to this long until one is
    /// confirmed: how long the bot stays unable to answer after the burst.
    pub probe: Option<Duration>,
    /// Another process holds the SQLite database's write lock from this far into the burst, for
    /// this long: (at, for). Ignored on PostgreSQL (the command line refuses it there).
    pub lock: Option<(Duration, Duration)>,
    /// Clicks, `/healthz` probes and Pings sent beside the DMs and commands (see
    /// [`side`](super::side)).
    pub side: SideParams,
}

/// Members of the click team (see [`ClickTeam`]): their prompts are the buttons clicked.
const CLICKERS: usize = 4;

/// The argument that makes the load binary the lock-holding process.
pub const HOLD_LOCK: &str = "hold-lock";

/// The other process: `hold-lock <db> <seconds>` takes the write lock with `BEGIN IMMEDIATE`
/// (waiting for the bot's writer if it has it), says `locked` (at once: the burst times the
/// lock from that line), holds it, and commits nothing.
pub fn hold_lock(args: &[String]) {
    let (Some(db), Some(secs)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<f64>().ok()),
    ) else {
        eprintln!("usage: load hold-lock <db> <seconds>");
        std::process::exit(2);
    };
    let conn = rusqlite::Connection::open(db).expect("open the bot's database");
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    println!("locked");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs_f64(secs));
    conn.execute_batch("ROLLBACK").unwrap();
}

#[derive(Debug, Clone)]
enum Item {
    Dm { user: usize, token: String },
    Command { user: usize, text: &'static str },
}

/// What the client saw of one send.
#[derive(Debug, Clone)]
struct Sent {
    index: usize,
    at: Instant,
    /// Socket Mode: the envelope to match with its ack.
    envelope: Option<String>,
    /// HTTP mode: status and latency of the response, and its body.
    response: Option<(u16, Duration, String)>,
    error: Option<String>,
}

/// The plan: `dms` DMs with commands spread evenly between them, alternating `status` and
/// `blocked` (the two read-only commands: they answer from the database without posting).
fn plan(p: &Params) -> Vec<Item> {
    let total = p.dms + p.commands;
    let mut items = Vec::with_capacity(total);
    let (mut dm, mut cmd) = (0, 0);
    for k in 0..total {
        // Command k lands where the running share of commands passes the next whole number.
        let is_command = (k + 1) * p.commands / total.max(1) > k * p.commands / total.max(1);
        if is_command && cmd < p.commands {
            let text = if cmd % 2 == 0 { "status" } else { "blocked" };
            items.push(Item::Command {
                user: cmd % p.members,
                text,
            });
            cmd += 1;
        } else {
            items.push(Item::Dm {
                user: dm % p.members,
                token: format!("{TOKEN_PREFIX}{dm:07}"),
            });
            dm += 1;
        }
    }
    items
}

fn dm_text(token: &str) -> String {
    format!("Shipped:\n- load item {token}\nNext:\n- more of {token}")
}

pub async fn run(bin: &Path, p: &Params) -> Report {
    let mut report = Report::new(format!(
        "burst over {}: {} DMs + {} commands, {}",
        p.mode.name(),
        p.dms,
        p.commands,
        if p.seconds > 0.0 {
            format!("spread over {} s", p.seconds)
        } else {
            "as fast as possible".to_string()
        }
    ));
    report.note(format!(
        "{} members in one team; emulator rate limits {}; database {}; load average at start {}",
        p.members,
        if p.limits { "ON" } else { "off" },
        db::engine_name(),
        bot::load_average()
    ));
    report.note(format!("bot binary: {}", bin.display()));
    let side_params = p.side.for_mode(p.mode);
    // Clicks need prompts: a second, small team prompted a few seconds after the start.
    let clickers = (side_params.clicks > 0.0).then(|| ClickTeam {
        first: p.members,
        members: CLICKERS,
        prompt: bot::whole_second_in(3),
    });
    let mut workspace = bot::workspace(
        p.members,
        clickers.as_ref(),
        p.limits.then(RateLimits::default),
    );
    if let Some(every) = side_params.ping_every {
        workspace = workspace.with_socket_pings(every);
    }
    let emu = slack_emulator::Emulator::start(workspace).await;
    let mut bot = Bot::with_click_team(bin, &emu, p.members, &Schedule::quiet(), clickers.as_ref());
    if side_params.health_every.is_some() {
        bot.serve_health();
    }
    bot.start(p.mode);
    if !bot.ready(&emu, READY).await {
        report.verdicts.push(Verdict::invariant(
            "bot started",
            false,
            format!("not ready within {READY:?}; log:\n{}", bot.log_tail(30)),
        ));
        return report;
    }
    let client = bot.http_addr.as_ref().map(|addr| {
        SignedClient::new(&format!("http://{addr}"), SIGNING_SECRET).with_paths(
            "/slack/events",
            "/slack/commands",
            "/slack/interactions",
        )
    });

    // A first DM opens the cycle and warms the connections; it is not counted.
    send_one(
        &emu,
        client.as_ref(),
        &Item::Dm {
            user: 0,
            token: "warm-up".into(),
        },
    )
    .await;
    let warm_dm = emu.dm_channel(&bot::user_id(0));
    let warmed = tokio::time::timeout(
        Duration::from_secs(20),
        emu.wait_for_message(&warm_dm, |m| is_confirmation(m.text.as_deref()), READY),
    )
    .await
    .is_ok();
    if !warmed {
        report.note("warning: the warm-up DM got no confirmation within 20 s");
    }
    let buttons = match &clickers {
        Some(team) => match side::prompts(&emu, team, READY).await {
            Ok(buttons) => buttons,
            Err(why) => {
                report
                    .verdicts
                    .push(Verdict::invariant("click team prompted", false, why));
                return report;
            }
        },
        None => Vec::new(),
    };
    // The bot's client posts at most one message a second; after the warm-up's confirmation,
    // let that allowance refill so the first measured DM does not wait for it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let message_cursor = emu.messages_from(0).len();
    let ack_cursor = emu.acks_from(0).len();
    let posts_cursor = emu.response_posts().len();

    // Count stored replies while the burst runs, to see when the last one was written.
    let stored_timeline = StoredWatcher::start(bot.db());

    let items = plan(p);
    let start = Instant::now();
    let sqlite = bot.db().sqlite_path().map(Path::to_path_buf);
    let locker = p.lock.zip(sqlite).map(|((at, hold), db)| {
        tokio::spawn(async move {
            tokio::time::sleep(at).await;
            // When the lock was taken (its `locked` line) and when the process ended.
            tokio::task::spawn_blocking(move || {
                use std::io::BufRead as _;
                let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                    .args([
                        HOLD_LOCK,
                        &db.display().to_string(),
                        &hold.as_secs_f64().to_string(),
                    ])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("the lock-holding process");
                let mut line = String::new();
                let out = child.stdout.take().expect("its stdout");
                let _ = std::io::BufReader::new(out).read_line(&mut line);
                let locked = line.contains("locked").then(Instant::now);
                let _ = child.wait();
                (locked, Instant::now())
            })
            .await
            .expect("the lock-holding process")
        })
    });
    let probes = side::start(
        &emu,
        buttons,
        bot.health().map(str::to_string),
        side_params,
        start,
    );
    let sent = send_all(&emu, client.as_ref(), &items, p, start).await;
    let send_done = Instant::now();

    // Socket Mode acks arrive on their own (HTTP acks are the responses).
    let acks = match p.mode {
        Mode::Socket => {
            let envelopes = sent.iter().filter_map(|s| s.envelope.clone()).collect();
            collect_acks(&emu, ack_cursor, &envelopes).await
        }
        Mode::Http => HashMap::new(),
    };

    let mut locked = None;
    if let Some(locker) = locker {
        let (took, released) = locker.await.expect("the lock task");
        let hold = p.lock.unwrap_or_default().1;
        report.note(format!(
            "another process held the write lock from {} to {} into the burst{}",
            took.map_or_else(
                || "-".into(),
                |t| fmt_duration(t.saturating_duration_since(start))
            ),
            fmt_duration(released.saturating_duration_since(start)),
            if took.is_some() {
                ""
            } else {
                " (it never got the lock!)"
            }
        ));
        report.verdicts.push(Verdict::invariant(
            "the other process held the lock",
            took.is_some(),
            format!("held for {}", fmt_duration(hold)),
        ));
        locked = took.map(|t| (t, released));
    }
    // Side traffic stops with the burst (its figures go below the burst's).
    let mut side_report = Report::default();
    if side_params.any() {
        probes
            .finish(&emu, side_params, locked, &mut side_report)
            .await;
    }

    let (confirmations, sorry) =
        collect_confirmations(&emu, message_cursor, p.dms, send_done + p.settle).await;
    let late_answers = emu.response_posts().len() - posts_cursor;

    let (recovered, probes) = match p.probe {
        Some(limit) => probe(&emu, client.as_ref(), limit, send_done).await,
        None => (None, 0),
    };

    // Every DM stored before the bot is stopped (or the waiting stops making progress).
    let stored_all_at = stored_timeline
        .wait_for(p.dms + 1, Duration::from_secs(15))
        .await;
    stored_timeline.stop();
    report.peak_rss_kib = bot.peak_rss_kib();
    if let Some(cpu) = bot.cpu_time() {
        report.note(format!(
            "bot CPU time (user + system) over the whole run: {}",
            fmt_duration(cpu)
        ));
    }

    let stop = if p.graceful_stop {
        bot.stop(Duration::from_secs(30))
    } else {
        None
    };
    let database = bot.db();
    let stored = tokio::task::spawn_blocking(move || read_tokens(&database))
        .await
        .unwrap_or_else(|_| Err("the reading thread panicked".into()));
    if !p.graceful_stop {
        bot.kill();
    }

    // --- Figures.
    let total = items.len();
    let send_period = send_done.duration_since(start);
    report.rows.push(Row::new(
        "sent (DMs + commands)",
        total,
        send_period,
        Vec::new(),
    ));
    let mut ack_dm = Vec::new();
    let mut ack_cmd = Vec::new();
    // When the last DM event was acked (stored): ingest = DMs acked / that time.
    let mut last_dm_ack = start;
    let mut not_acked = 0;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut errors = Vec::new();
    let mut answered = 0;
    let mut on_it = 0;
    // Socket Mode envelopes the emulator sent again before their first ack came (late acks).
    let mut redelivered = 0;
    // DMs sent while the other process held the lock: they wait for it.
    let mut ack_dm_locked = Vec::new();
    // Commands sent in the second after the lock's release, when the events it held up are
    // stored and acked at once and their handling starts.
    let mut ack_cmd_released = Vec::new();
    for s in &sent {
        let is_dm = matches!(items[s.index], Item::Dm { .. });
        let (latency, body) = match (&s.envelope, &s.response) {
            // From the send to the first ack: an envelope acked late was sent again by then
            // (as Slack does), and its ack's own latency counts only from that redelivery.
            (Some(envelope), _) => match acks.get(envelope) {
                Some(ack) => {
                    redelivered += usize::from(ack.retry_attempt > 0);
                    (
                        Some(ack.at.saturating_duration_since(s.at)),
                        ack.payload
                            .as_ref()
                            .map(Value::to_string)
                            .unwrap_or_default(),
                    )
                }
                None => (None, String::new()),
            },
            (None, Some((status, latency, body))) => {
                *statuses.entry(*status).or_default() += 1;
                ((*status == 200).then_some(*latency), body.clone())
            }
            (None, None) => {
                errors.push(s.error.clone().unwrap_or_default());
                (None, String::new())
            }
        };
        let Some(latency) = latency else {
            not_acked += 1;
            continue;
        };
        if is_dm {
            ack_dm.push(latency);
            last_dm_ack = last_dm_ack.max(s.at + latency);
            if locked.is_some_and(|(from, to)| s.at >= from && s.at < to) {
                ack_dm_locked.push(latency);
            }
        } else {
            ack_cmd.push(latency);
            if locked.is_some_and(|(_, to)| s.at >= to && s.at < to + Duration::from_secs(1)) {
                ack_cmd_released.push(latency);
            }
            let text = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["text"].as_str().map(str::to_string))
                .unwrap_or_default();
            if text.starts_with("On it") {
                on_it += 1;
            } else if !text.is_empty() {
                answered += 1;
            }
        }
    }
    let ack_label = match p.mode {
        Mode::Socket => "envelope → ack",
        Mode::Http => "request → response",
    };
    let mut ack_all = ack_dm.clone();
    ack_all.extend(&ack_cmd);
    let ingest = last_dm_ack.saturating_duration_since(start);
    report.note(format!(
        "ingest: {} DM events stored and acked in {} (first send → last DM ack): {:.0} events/s",
        ack_dm.len(),
        fmt_duration(ingest),
        ack_dm.len() as f64 / ingest.as_secs_f64().max(1e-9)
    ));
    report.rows.push(Row::new(
        &format!("DM event: {ack_label}"),
        ack_dm.len(),
        send_period,
        ack_dm,
    ));
    report.rows.push(Row::new(
        &format!("/standup: {ack_label}"),
        ack_cmd.len(),
        send_period,
        ack_cmd,
    ));
    report.rows.push(Row::new(
        &format!("all: {ack_label}"),
        ack_all.len(),
        send_period,
        ack_all.clone(),
    ));
    if let Some((from, to)) = locked {
        report.rows.push(Row::new(
            &format!("DM event sent while the lock was held: {ack_label}"),
            ack_dm_locked.len(),
            to.saturating_duration_since(from),
            ack_dm_locked,
        ));
        report.rows.push(Row::new(
            &format!("/standup sent in the second after the release: {ack_label}"),
            ack_cmd_released.len(),
            Duration::from_secs(1),
            ack_cmd_released,
        ));
    }
    if p.mode == Mode::Socket {
        report.note(format!(
            "{redelivered} envelopes sent again by the emulator before their first ack (acked later than Slack's 3 s)"
        ));
    }
    if let Some(at) = stored_all_at {
        report.rows.push(Row::new(
            "DMs stored (first send → last stored, ±0.1 s)",
            p.dms,
            at.saturating_duration_since(start),
            Vec::new(),
        ));
    }

    // DM → confirmation: the k-th confirmation in a member's DM answers their k-th DM (each
    // confirmation needs one more recorded message), so pair them in order.
    let mut sent_by_user: HashMap<String, Vec<Instant>> = HashMap::new();
    for s in &sent {
        if let Item::Dm { user, .. } = &items[s.index] {
            sent_by_user
                .entry(emu.dm_channel(&bot::user_id(*user)))
                .or_default()
                .push(s.at);
        }
    }
    let mut to_confirmation = Vec::new();
    let mut last_confirmation = start;
    let mut duplicate_confirmations = 0;
    for (channel, times) in &sent_by_user {
        let got = confirmations.get(channel).cloned().unwrap_or_default();
        duplicate_confirmations += got.len().saturating_sub(times.len());
        for (sent_at, confirmed_at) in times.iter().zip(&got) {
            to_confirmation.push(confirmed_at.saturating_duration_since(*sent_at));
            last_confirmation = last_confirmation.max(*confirmed_at);
        }
    }
    let confirmed = to_confirmation.len();
    report.rows.push(Row::new(
        "DM → confirmation posted",
        confirmed,
        last_confirmation.saturating_duration_since(start),
        to_confirmation.clone(),
    ));
    report.rows.extend(side_report.rows);

    // --- Verdicts.
    let acked = total - not_acked;
    let mut status_list: Vec<_> = statuses.iter().collect();
    status_list.sort();
    report.verdicts.push(Verdict::invariant(
        "every event and command acked",
        not_acked == 0,
        format!(
            "{acked}/{total} acked{}{}",
            if p.mode == Mode::Http {
                format!("; HTTP statuses {status_list:?}")
            } else {
                String::new()
            },
            if errors.is_empty() {
                String::new()
            } else {
                format!("; {} client errors, first: {}", errors.len(), errors[0])
            }
        ),
    ));
    let server_errors: usize = statuses
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    if p.mode == Mode::Http {
        report.verdicts.push(Verdict::invariant(
            "no 5xx",
            server_errors == 0,
            format!("{server_errors} responses ≥ 500"),
        ));
    }
    let late = ack_all.iter().filter(|l| **l > SLACK_ACK_WINDOW).count();
    report.verdicts.push(Verdict::target(
        "acked within Slack's 3 s",
        late == 0 && not_acked == 0,
        format!("{late} later than 3 s"),
    ));
    let expected: Vec<&String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Dm { token, .. } => Some(token),
            Item::Command { .. } => None,
        })
        .collect();
    match &stored {
        Ok(counts) => {
            let lost: Vec<&&String> = expected
                .iter()
                .filter(|t| !counts.contains_key(t.as_str()))
                .collect();
            let duplicated: Vec<(&String, &usize)> =
                counts.iter().filter(|(_, n)| **n > 1).collect();
            report.verdicts.push(Verdict::invariant(
                "every DM stored exactly once",
                lost.is_empty() && duplicated.is_empty(),
                format!(
                    "{} of {} tokens stored; {} lost{}; {} duplicated{}",
                    expected.len() - lost.len(),
                    expected.len(),
                    lost.len(),
                    lost.first()
                        .map(|t| format!(" (first {t})"))
                        .unwrap_or_default(),
                    duplicated.len(),
                    duplicated
                        .first()
                        .map(|(t, n)| format!(" (first {t} ×{n})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Err(e) => report.verdicts.push(Verdict::invariant(
            "every DM stored exactly once",
            false,
            format!("cannot read the database: {e}"),
        )),
    }
    report.verdicts.push(Verdict::invariant(
        "no confirmation twice",
        duplicate_confirmations == 0,
        format!("{duplicate_confirmations} confirmations beyond one per DM"),
    ));
    report.verdicts.push(Verdict::invariant(
        "no false \"could not save\"",
        sorry == 0,
        format!(
            "{sorry} \"Sorry, I could not save that update\" DMs (the update is stored before the confirmation is sent)"
        ),
    ));
    report.verdicts.push(Verdict::invariant(
        "every command answered",
        answered + on_it.min(late_answers) == p.commands,
        format!(
            "{answered} answered in the ack, {on_it} \"On it…\" with {late_answers} late answers through response_url, of {}",
            p.commands
        ),
    ));
    report.verdicts.push(Verdict::target(
        "every DM confirmed within the settle time",
        confirmed == p.dms,
        format!(
            "{confirmed}/{} confirmed within {} of the last send",
            p.dms,
            fmt_duration(p.settle)
        ),
    ));
    let p99 = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        percentile(&v, 99.0)
    };
    if let Some(ack99) = p99(&ack_all) {
        report.verdicts.push(Verdict::target(
            "ack p99 ≤ 20 ms",
            ack99 <= Duration::from_millis(20),
            format!(
                "p99 {} at {:.0} req/s",
                fmt_duration(ack99),
                total as f64 / send_period.as_secs_f64().max(1e-9)
            ),
        ));
    }
    if let Some(c99) = p99(&to_confirmation) {
        report.verdicts.push(Verdict::target(
            "DM → confirmation p99 ≤ 50 ms",
            c99 <= Duration::from_millis(50) && confirmed == p.dms,
            format!("p99 {} over the {confirmed} confirmed", fmt_duration(c99)),
        ));
    }
    if let Some(limit) = p.probe {
        report.verdicts.push(Verdict::target(
            "a DM after the burst is confirmed again",
            recovered.is_some(),
            match recovered {
                Some(after) => format!(
                    "first probe confirmation {} after the last send ({probes} probes, one every 15 s)",
                    fmt_duration(after)
                ),
                None => format!(
                    "no probe confirmed within {} ({probes} probes, one every 15 s)",
                    fmt_duration(limit)
                ),
            },
        ));
    }
    if let Some((status, took)) = stop {
        report.verdicts.push(Verdict::invariant(
            "clean stop on SIGTERM",
            status.success(),
            format!("{status} after {}", fmt_duration(took)),
        ));
    }
    report.verdicts.extend(side_report.verdicts);
    if p.keep {
        let database = bot.db().describe();
        let dir = bot.keep();
        report.note(format!(
            "kept the bot's directory: {}; its database: {database}",
            dir.display()
        ));
    } else if !report.broken_invariants().is_empty() {
        report.note(format!("bot log (last lines):\n{}", bot.log_tail(20)));
    }
    report
}

/// The acks of the `expected` envelopes after the first `cursor` acks, by envelope id; waits
/// up to 30 s for the last ones. Other acks (of the bot's own posts coming back as events, as
/// on Slack) are not counted.
async fn collect_acks(
    emu: &Emulator,
    mut cursor: usize,
    expected: &std::collections::HashSet<String>,
) -> HashMap<String, slack_emulator::Ack> {
    let mut acks = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acks.len() < expected.len() && Instant::now() < deadline {
        let new = emu.acks_from(cursor);
        cursor += new.len();
        for ack in new
            .into_iter()
            .filter(|a| expected.contains(&a.envelope_id))
        {
            // The first ack counts: Slack took the envelope as handled then.
            acks.entry(ack.envelope_id.clone()).or_insert(ack);
        }
        if acks.len() < expected.len() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    acks
}

/// The bot's confirmations in DMs (when each reached the emulator, by DM channel) and its
/// "Sorry, ..." DMs, from the messages after the first `cursor`; waits until `dms`
/// confirmations or `until`.
async fn collect_confirmations(
    emu: &Emulator,
    mut cursor: usize,
    dms: usize,
    until: Instant,
) -> (HashMap<String, Vec<Instant>>, usize) {
    let mut confirmations: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut sorry = 0;
    loop {
        for m in emu.messages_from(cursor) {
            cursor += 1;
            if !m.channel.starts_with('D') {
                continue;
            }
            let text = m.text.as_deref().unwrap_or_default();
            if is_confirmation(Some(text)) {
                confirmations
                    .entry(m.channel.clone())
                    .or_default()
                    .push(m.at);
            } else if text.starts_with("Sorry") {
                sorry += 1;
            }
        }
        let confirmed: usize = confirmations.values().map(Vec::len).sum();
        if confirmed >= dms || Instant::now() >= until {
            return (confirmations, sorry);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// After the burst, does a member's DM get its confirmation again? One probe DM every 15 s
/// until one is confirmed, for up to `limit` (a stuck outbound queue shows here, not in the
/// burst's figures). Returns when the first probe confirmation came, counted from `since`,
/// and how many probes were sent.
async fn probe(
    emu: &Emulator,
    client: Option<&SignedClient>,
    limit: Duration,
    since: Instant,
) -> (Option<Duration>, usize) {
    let probe_dm = emu.dm_channel(&bot::user_id(0));
    let mut cursor = emu.messages_from(0).len();
    let began = Instant::now();
    let mut probes = 0;
    while began.elapsed() < limit {
        let token = format!("probe-{probes}");
        send_one(emu, client, &Item::Dm { user: 0, token }).await;
        probes += 1;
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            let new = emu.messages_from(cursor);
            cursor += new.len();
            if let Some(m) = new
                .iter()
                .find(|m| m.channel == probe_dm && is_confirmation(m.text.as_deref()))
            {
                return (Some(m.at.saturating_duration_since(since)), probes);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    (None, probes)
}

fn is_confirmation(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.starts_with("Got it"))
}

/// Sends one item and waits for its ack or response (the warm-up).
async fn send_one(emu: &Emulator, client: Option<&SignedClient>, item: &Item) {
    match client {
        None => {
            let handle = match item {
                Item::Dm { user, token } => {
                    emu.send_event(events::dm_message(&bot::user_id(*user), &dm_text(token)))
                }
                Item::Command { user, text } => {
                    emu.send_slash_command("/standup", text, &bot::user_id(*user), CHANNEL)
                }
            };
            let _ = handle.acked(READY).await;
        }
        Some(client) => {
            let _ = post(emu, client, item).await;
        }
    }
}

/// One HTTP request as Slack would send it; status, latency (request → full response) and body.
async fn post(
    emu: &Emulator,
    client: &SignedClient,
    item: &Item,
) -> Result<(u16, Duration, String), String> {
    let started;
    let response = match item {
        Item::Dm { user, token } => {
            let body =
                emu.event_callback(events::dm_message(&bot::user_id(*user), &dm_text(token)));
            let request = client.event(&body);
            started = Instant::now();
            request.send().await
        }
        Item::Command { user, text } => {
            let fields = emu.slash_command_fields("/standup", text, &bot::user_id(*user), CHANNEL);
            let request = client.command(fields);
            started = Instant::now();
            request.send().await
        }
    };
    let latency = started.elapsed();
    response
        .map(|r| (r.status, latency, r.body))
        .map_err(|e| e.to_string())
}

/// Sends every item at its planned time (open loop: a slow answer does not delay the next
/// send, so queueing in the bot shows up in the latencies instead of hiding as lower load).
async fn send_all(
    emu: &Emulator,
    client: Option<&SignedClient>,
    items: &[Item],
    p: &Params,
    start: Instant,
) -> Vec<Sent> {
    let interval = if p.seconds > 0.0 {
        Duration::from_secs_f64(p.seconds / items.len().max(1) as f64)
    } else {
        Duration::ZERO
    };
    let limit = Arc::new(tokio::sync::Semaphore::new(p.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(items.len());
    let mut sent = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if !interval.is_zero() {
            tokio::time::sleep_until((start + interval * index as u32).into()).await;
        }
        match client {
            None => {
                let at = Instant::now();
                let handle = match item {
                    Item::Dm { user, token } => {
                        emu.send_event(events::dm_message(&bot::user_id(*user), &dm_text(token)))
                    }
                    Item::Command { user, text } => {
                        emu.send_slash_command("/standup", text, &bot::user_id(*user), CHANNEL)
                    }
                };
                sent.push(Sent {
                    index,
                    at,
                    envelope: Some(handle.envelope_id().to_string()),
                    response: None,
                    error: None,
                });
            }
            Some(client) => {
                // Paced sends are not capped (the pace is the load); as-fast-as-possible sends
                // keep `concurrency` requests in flight, like a busy Slack would.
                let permit = if interval.is_zero() {
                    Some(limit.clone().acquire_owned().await.expect("semaphore open"))
                } else {
                    None
                };
                let (emu, client, item) = (emu.clone(), client.clone(), item.clone());
                tasks.push(tokio::spawn(async move {
                    let at = Instant::now();
                    let result = post(&emu, &client, &item).await;
                    drop(permit);
                    let (response, error) = match result {
                        Ok(r) => (Some(r), None),
                        Err(e) => (None, Some(e)),
                    };
                    Sent {
                        index,
                        at,
                        envelope: None,
                        response,
                        error,
                    }
                }));
            }
        }
    }
    for task in tasks {
        if let Ok(s) = task.await {
            sent.push(s);
        }
    }
    sent
}

/// Counts `replies` rows in the bot's database every 100 ms from a reader thread (SQLite's WAL
/// lets it read while the bot writes), and remembers when each count was first seen.
struct StoredWatcher {
    stop: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<(Instant, usize)>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl StoredWatcher {
    fn start(db: Arc<BotDb>) -> StoredWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut conn = None;
            while !stop2.load(Ordering::Relaxed) {
                if conn.is_none() {
                    conn = db.open().ok();
                }
                if let Some(c) = &mut conn
                    && let Ok(n) = c.int("SELECT count(*) FROM replies")
                {
                    let mut seen = seen2.lock().unwrap_or_else(|p| p.into_inner());
                    if seen.last().is_none_or(|(_, last)| *last != n as usize) {
                        seen.push((Instant::now(), n as usize));
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        StoredWatcher {
            stop,
            seen,
            thread: std::sync::Mutex::new(Some(thread)),
        }
    }

    /// When the count was first seen at `n` or more.
    fn first_reaching(&self, n: usize) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(_, count)| *count >= n)
            .map(|(at, _)| *at)
    }

    fn latest(&self) -> Option<(Instant, usize)> {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .copied()
    }

    /// Waits until `n` rows are stored (the time the count was first seen), or until the count
    /// has not moved for `quiet`.
    async fn wait_for(&self, n: usize, quiet: Duration) -> Option<Instant> {
        let called = Instant::now();
        loop {
            if let Some(at) = self.first_reaching(n) {
                return Some(at);
            }
            let latest = self.latest();
            let moved = latest.map_or(called, |(at, _)| at.max(called));
            if moved.elapsed() > quiet {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the thread and waits for it (at most one round, ~100 ms): it holds the database,
    /// which on PostgreSQL is dropped with its last holder, and the run may end right after.
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// How many stored reply rows carry each token. Blocking: not for a tokio worker.
fn read_tokens(db: &BotDb) -> Result<HashMap<String, usize>, String> {
    let texts = db.open()?.texts("SELECT text FROM replies")?;
    let mut counts = HashMap::new();
    for text in texts {
        // A DM names its token twice (two sections); the row counts once.
        let mut in_row: Vec<&str> = text
            .match_indices(TOKEN_PREFIX)
            .map(|(i, _)| {
                let rest = &text[i..];
                rest.split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or(rest)
            })
            .collect();
        in_row.sort_unstable();
        in_row.dedup();
        for token in in_row {
            *counts.entry(token.to_string()).or_default() += 1;
        }
    }
    Ok(counts)
}
