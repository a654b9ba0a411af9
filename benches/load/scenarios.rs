//! The scenarios other than the burst: prompt fan-out under Slack's rate limits, an idle bot,
//! cold start, and posting the notes.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use slack_emulator::{RateLimits, events};

use super::bot::{self, Bot, CHANNEL, Mode, Schedule};
use super::db;
use super::stats::{Report, Row, Verdict, fmt_duration};

const READY: Duration = Duration::from_secs(30);

/// The instant a wall-clock time corresponds to (the emulator records `Instant`s; the bot's
/// schedule is wall-clock).
fn instant_of(t: chrono::DateTime<Utc>) -> Instant {
    let (now, wall) = (Instant::now(), Utc::now());
    match (t - wall).to_std() {
        Ok(ahead) => now + ahead,
        Err(_) => now - (wall - t).to_std().unwrap_or_default(),
    }
}

fn is_prompt(m: &slack_emulator::Message) -> bool {
    m.channel.starts_with('D') && m.text.as_deref().is_some_and(|t| t.contains("update for"))
}

// --------------------------------------------------------------------------------------------
// Fan-out.

/// The calls the bot makes per prompted member (`app::prompt::prompt`), and the emulator's limit on
/// each: a token bucket per method (per channel for `chat.postMessage`) that starts full.
struct Limit {
    method: &'static str,
    /// Calls that share one bucket: every member for a tier method, one for a DM channel.
    calls_per_bucket: fn(usize) -> usize,
    capacity: f64,
    per_second: f64,
}

fn prompt_limits(limits: &RateLimits) -> Vec<Limit> {
    let tier = |t: usize| limits.tier_per_minute[t - 1] as f64;
    vec![
        Limit {
            method: "users.info",
            calls_per_bucket: |n| n,
            capacity: tier(4),
            per_second: tier(4) / 60.0,
        },
        Limit {
            method: "conversations.open",
            calls_per_bucket: |n| n,
            capacity: tier(3),
            per_second: tier(3) / 60.0,
        },
        Limit {
            method: "chat.postMessage",
            calls_per_bucket: |n| n.min(1),
            capacity: limits.post_message_burst as f64,
            per_second: limits.post_message_per_second as f64,
        },
    ]
}

/// The earliest the last call can pass a full bucket: call k (from 1) waits for
/// `(k - capacity) / rate`.
fn bucket_minimum(calls: usize, capacity: f64, per_second: f64) -> f64 {
    (calls as f64 - capacity).max(0.0) / per_second
}

pub struct FanoutParams {
    pub members: usize,
    pub mode: Mode,
    /// Seconds from start to the prompt; `None`: [`default_lead`].
    pub lead: Option<i64>,
    pub timeout: Option<Duration>,
    /// Bot processes on one config and database (PostgreSQL).
    pub replicas: usize,
}

/// Five seconds to start; with replicas over Socket Mode, a minute more for each after the first:
/// Slack (and the emulator with its limits on) opens one Socket Mode connection a minute
/// (`apps.connections.open` is tier 1), and the fan-out is to be measured with every replica
/// connected, as a deployment runs, not while the followers are still retrying.
fn default_lead(mode: Mode, replicas: usize) -> i64 {
    match mode {
        Mode::Socket => 5 + 61 * (replicas as i64 - 1),
        Mode::Http => 5,
    }
}

/// What a replica's log says when it takes the scheduler's lease (`bot::leader`).
const LEADING: &str = "leading: this replica runs the scheduler";

pub async fn fanout(bin: &Path, p: &FanoutParams) -> Report {
    let limits = RateLimits::default();
    let mut report = Report::new(format!(
        "fan-out: one prompt to {} members under Slack's limits ({}, {}, {} replica{})",
        p.members,
        p.mode.name(),
        db::engine_name(),
        p.replicas,
        if p.replicas == 1 { "" } else { "s" }
    ));
    report.note(format!(
        "emulator limits: tiers 1-4 = {:?}/min per method (buckets start full), chat.postMessage {}/s per channel (burst {}); load average {}",
        limits.tier_per_minute,
        limits.post_message_per_second,
        limits.post_message_burst,
        bot::load_average()
    ));
    let mut minimum = 0.0f64;
    let mut steady = 0.0f64;
    for l in prompt_limits(&limits) {
        let calls = (l.calls_per_bucket)(p.members);
        let m = bucket_minimum(calls, l.capacity, l.per_second);
        let s = calls.saturating_sub(1) as f64 / l.per_second;
        report.note(format!(
            "  {}: {} calls per bucket, capacity {}, {:.2}/s → minimum {} (steady rate without burst: {})",
            l.method,
            calls,
            l.capacity,
            l.per_second,
            fmt_duration(Duration::from_secs_f64(m)),
            fmt_duration(Duration::from_secs_f64(s))
        ));
        minimum = minimum.max(m);
        steady = steady.max(s);
    }
    report.note(format!(
        "theoretical minimum (emulator's buckets) if each member costs all three calls: {}; with no burst allowance: {}",
        fmt_duration(Duration::from_secs_f64(minimum)),
        fmt_duration(Duration::from_secs_f64(steady))
    ));
    // The bot's own client paces too: slack-morphism keeps one bucket per workspace and tier
    // (50/min for tier 3, 100/min for tier 4, full at start) and one for chat.postMessage at
    // 1/s per workspace (capacity 1), so its bound is what the bot can reach at best.
    let client_bound = [
        bucket_minimum(p.members, 100.0, 100.0 / 60.0),
        bucket_minimum(p.members, 50.0, 50.0 / 60.0),
        bucket_minimum(p.members, 1.0, 1.0),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    report.note(format!(
        "the bot's client pacing (slack-morphism: tier 3 50/min, tier 4 100/min per workspace, chat.postMessage 1/s per workspace): at best {}",
        fmt_duration(Duration::from_secs_f64(client_bound))
    ));
    eprintln!("{}", report.notes.join("\n"));

    let emu = bot::emulator(p.members, Some(limits.clone())).await;
    let lead = p.lead.unwrap_or_else(|| default_lead(p.mode, p.replicas));
    let prompt_at = bot::whole_second_in(lead);
    let schedule = Schedule {
        prompt: prompt_at,
        sync: prompt_at + chrono::Duration::hours(6),
        post_before: "30m".into(),
        remind_after: "5h".into(),
    };
    let first = Bot::new(bin, &emu, p.members, &schedule);
    let mut bots: Vec<Bot> = (1..p.replicas).map(|_| first.replica()).collect();
    bots.insert(0, first);
    for bot in &mut bots {
        bot.start(p.mode);
    }
    // One replica connected is a started bot; the others may still be waiting for their turn
    // at apps.connections.open (see `default_lead`).
    let mut started = true;
    for bot in &bots {
        started = started && bot.ready(&emu, READY).await;
    }
    if started && p.mode == Mode::Socket && p.replicas > 1 {
        let until = instant_of(prompt_at).saturating_duration_since(Instant::now());
        let all = emu.wait_connections_opened(p.replicas as u64, until).await;
        report.note(format!(
            "{} of {} replicas connected over Socket Mode at the prompt{}",
            emu.live_connections(),
            p.replicas,
            if all {
                ""
            } else {
                " (--lead too short for one connection a minute)"
            }
        ));
    }
    if !started {
        let logs: Vec<String> = bots.iter().map(|b| b.log_tail(30)).collect();
        report.verdicts.push(Verdict::invariant(
            "bot started",
            false,
            format!("log:\n{}", logs.join("\n---\n")),
        ));
        return report;
    }
    let fired = instant_of(prompt_at);
    let timeout = p
        .timeout
        .unwrap_or_else(|| Duration::from_secs_f64(minimum * 1.5 + 180.0));
    let deadline = fired + timeout;
    let mut prompted: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut cursor = 0;
    let mut last_progress = Instant::now();
    loop {
        for m in emu.messages_from(cursor) {
            cursor += 1;
            if is_prompt(&m) {
                prompted.entry(m.channel.clone()).or_default().push(m.at);
            }
        }
        if prompted.len() >= p.members || Instant::now() > deadline {
            break;
        }
        if last_progress.elapsed() > Duration::from_secs(30) {
            last_progress = Instant::now();
            eprintln!(
                "  fan-out: {}/{} prompted after {}; {} 429s so far",
                prompted.len(),
                p.members,
                fmt_duration(Instant::now().saturating_duration_since(fired)),
                emu.rate_limited_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A moment for any duplicate to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for m in emu.messages_from(cursor) {
        if is_prompt(&m) {
            prompted.entry(m.channel.clone()).or_default().push(m.at);
        }
    }
    report.peak_rss_kib = bots.iter().filter_map(Bot::peak_rss_kib).max();
    if p.replicas > 1 {
        let leaders: Vec<String> = bots
            .iter()
            .enumerate()
            .filter(|(_, b)| b.log().contains(LEADING))
            .map(|(i, _)| i.to_string())
            .collect();
        report.note(format!(
            "replicas that held the scheduler's lease during the run: [{}] of 0..{}; peak RSS is the largest of the {}",
            leaders.join(", "),
            p.replicas,
            p.replicas
        ));
    }
    let stops: Vec<_> = bots
        .iter_mut()
        .filter_map(|b| b.stop(Duration::from_secs(30)))
        .collect();

    let firsts: Vec<Instant> = prompted
        .values()
        .filter_map(|v| v.first().copied())
        .collect();
    let last = firsts.iter().max().copied().unwrap_or(fired);
    let measured = last.saturating_duration_since(fired);
    let offsets: Vec<Duration> = firsts
        .iter()
        .map(|t| t.saturating_duration_since(fired))
        .collect();
    report.rows.push(Row::new(
        "prompt time → member prompted",
        firsts.len(),
        measured,
        offsets,
    ));
    let mut calls_total = 0;
    let mut limited = 0;
    for method in ["users.info", "conversations.open", "chat.postMessage"] {
        let calls = emu.calls_to(method).len();
        calls_total += calls;
        limited += emu.rate_limited_count_for(method);
        report.note(format!(
            "  {method}: {calls} calls, {} answered 429",
            emu.rate_limited_count_for(method)
        ));
    }
    // Replicas waiting for their Socket Mode connection are refused too; those 429s are not
    // the fan-out's.
    report.note(format!(
        "  other methods: {} answered 429 ({} of them apps.connections.open)",
        emu.rate_limited_count() - limited,
        emu.rate_limited_count_for("apps.connections.open")
    ));
    let missed = p.members.saturating_sub(prompted.len());
    let twice = prompted.values().filter(|v| v.len() > 1).count();
    report.verdicts.push(Verdict::invariant(
        "no member missed",
        missed == 0,
        format!("{} of {} prompted", prompted.len(), p.members),
    ));
    report.verdicts.push(Verdict::invariant(
        "no member prompted twice",
        twice == 0,
        format!("{twice} members got more than one prompt"),
    ));
    report.verdicts.push(Verdict::target(
        "no 429 storm (429s ≤ 5% of calls)",
        limited * 20 <= calls_total.max(1),
        format!("{limited} 429s over {calls_total} calls"),
    ));
    // The bound above assumed every member costs all three calls; the bot may make fewer
    // (it posts a prompt to the member's id, no users.info or conversations.open), and a
    // bound from calls it did not make would flatter it. Recomputed from the calls made.
    let (mut minimum, mut steady) = (0.0f64, 0.0f64);
    for l in prompt_limits(&limits) {
        let calls = if l.method == "chat.postMessage" {
            (l.calls_per_bucket)(p.members)
        } else {
            emu.calls_to(l.method).len()
        };
        minimum = minimum.max(bucket_minimum(calls, l.capacity, l.per_second));
        steady = steady.max(calls.saturating_sub(1) as f64 / l.per_second);
    }
    report.note(format!(
        "minimum from the calls the bot made: {}; with no burst allowance: {}",
        fmt_duration(Duration::from_secs_f64(minimum)),
        fmt_duration(Duration::from_secs_f64(steady))
    ));
    if minimum > 0.0 {
        let ratio = measured.as_secs_f64() / minimum;
        report.verdicts.push(Verdict::target(
            "fan-out ≤ 1.05 × rate-limit minimum",
            ratio <= 1.05 && missed == 0,
            format!(
                "{} measured / {} minimum = {ratio:.2}",
                fmt_duration(measured),
                fmt_duration(Duration::from_secs_f64(minimum))
            ),
        ));
    } else {
        report.verdicts.push(Verdict::target(
            "fan-out ≤ 1.05 × rate-limit minimum",
            false,
            format!(
                "every call fits the burst allowance, so the minimum is 0 and no ratio exists; measured {}{}",
                fmt_duration(measured),
                // No bucket holds more than one call: no steady rate binds either.
                if steady > 0.0 {
                    format!(
                        " (steady-rate bound {}, ratio {:.2})",
                        fmt_duration(Duration::from_secs_f64(steady)),
                        measured.as_secs_f64() / steady
                    )
                } else {
                    String::new()
                }
            ),
        ));
    }
    for (status, took) in stops {
        report.note(format!("stopped: {status} after {}", fmt_duration(took)));
    }
    report
}

// --------------------------------------------------------------------------------------------
// Idle.

pub async fn idle(bin: &Path, mode: Mode, seconds: u64, members: usize) -> Report {
    let mut report = Report::new(format!(
        "idle: {seconds} s with nothing due ({}, {members} members)",
        mode.name()
    ));
    report.note(format!(
        "database {}; load average at start {}",
        db::engine_name(),
        bot::load_average()
    ));
    let emu = bot::emulator(members, None).await;
    let mut bot = Bot::new(bin, &emu, members, &Schedule::quiet());
    bot.start(mode);
    if !bot.ready(&emu, READY).await {
        report
            .verdicts
            .push(Verdict::invariant("bot started", false, bot.log_tail(30)));
        return report;
    }
    // Start-up work (migrations, the first scheduler round) is not idling.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (threads, before) = bot.context_switches().unwrap_or_default();
    let started = Instant::now();
    let mut rss = Vec::new();
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(kib) = bot.status_kib("VmRSS") {
            rss.push(kib);
        }
    }
    let (_, after) = bot.context_switches().unwrap_or_default();
    let period = started.elapsed();
    report.peak_rss_kib = bot.peak_rss_kib();
    let wakeups = after.saturating_sub(before);
    let per_second = wakeups as f64 / period.as_secs_f64();
    rss.sort_unstable();
    let median_rss = rss.get(rss.len() / 2).copied().unwrap_or_default();
    let max_rss = rss.last().copied().unwrap_or_default();
    report.rows.push(Row::new(
        "context switches, all threads",
        wakeups as usize,
        period,
        Vec::new(),
    ));
    report.note(format!(
        "{threads} threads; RSS median {:.1} MiB, max {:.1} MiB over {} samples",
        median_rss as f64 / 1024.0,
        max_rss as f64 / 1024.0,
        rss.len()
    ));
    report.verdicts.push(Verdict::target(
        "idle RSS ≤ 20 MB",
        max_rss * 1024 <= 20_000_000,
        format!("max VmRSS {:.1} MB", max_rss as f64 * 1024.0 / 1e6),
    ));
    report.verdicts.push(Verdict::target(
        "≤ 1 wake-up/s",
        per_second <= 1.0,
        format!("{per_second:.2} context switches/s"),
    ));
    bot.stop(Duration::from_secs(15));
    report
}

// --------------------------------------------------------------------------------------------
// Cold start.

pub async fn startup(bin: &Path, mode: Mode, repeat: usize, members: usize) -> Report {
    let mut report = Report::new(format!(
        "cold start to connected ({}, {repeat} runs, {members} members, a new database each)",
        mode.name()
    ));
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or_default();
    report.note(format!(
        "binary {} = {:.1} MB; database {}; load average {}",
        bin.display(),
        size as f64 / 1e6,
        db::engine_name(),
        bot::load_average()
    ));
    let emu = bot::emulator(members, None).await;
    let mut samples = Vec::new();
    let mut peak = 0;
    for run in 0..repeat {
        let mut bot = Bot::new(bin, &emu, members, &Schedule::quiet());
        bot.start(mode);
        let spawned = bot.spawned.expect("spawned");
        let connected = match mode {
            // The emulator sees the websocket upgraded and sends `hello`: Slack can deliver.
            Mode::Socket => emu.wait_connections_opened(run as u64 + 1, READY).await,
            Mode::Http => bot.ready(&emu, READY).await,
        };
        let took = spawned.elapsed();
        if !connected {
            report
                .verdicts
                .push(Verdict::invariant("bot started", false, bot.log_tail(30)));
            return report;
        }
        samples.push(took);
        peak = peak.max(bot.peak_rss_kib().unwrap_or_default());
        bot.stop(Duration::from_secs(15));
    }
    report.peak_rss_kib = Some(peak);
    let row = Row::new("spawn → connected", samples.len(), Duration::ZERO, samples);
    let median = row.percentile(50.0).unwrap_or_default();
    report.verdicts.push(Verdict::target(
        "cold start ≤ 200 ms (median)",
        median <= Duration::from_millis(200),
        format!(
            "median {}, min {}, max {}",
            fmt_duration(median),
            fmt_duration(row.latencies.first().copied().unwrap_or_default()),
            fmt_duration(row.latencies.last().copied().unwrap_or_default())
        ),
    ));
    report.verdicts.push(Verdict::target(
        "release binary ≤ 25 MB stripped",
        size <= 25_000_000,
        format!("{:.1} MB", size as f64 / 1e6),
    ));
    report.rows.push(row);
    report
}

// --------------------------------------------------------------------------------------------
// Posting the notes.

/// `answer_lead`: how many seconds before `post_before` the members answer (default: enough
/// for the bot's confirmations, at one a second, to be out of the way); `wait`: how long after
/// `post_before` to wait for the file.
pub async fn post(
    bin: &Path,
    members: usize,
    repeat: usize,
    answer_lead: Option<i64>,
    wait: Option<u64>,
) -> Report {
    let lead = answer_lead.unwrap_or(members as i64 + 8);
    let mut report = Report::new(format!(
        "post: post_before fires → notes posted ({members} members answered {lead} s before, {repeat} runs)"
    ));
    report.note(format!(
        "Socket Mode; each run a new bot, database ({}) and emulator; load average {}",
        db::engine_name(),
        bot::load_average()
    ));
    let mut to_file = Vec::new();
    let mut to_summary = Vec::new();
    let mut complete = 0;
    let mut peak = 0;
    for _ in 0..repeat {
        let emu = bot::emulator(members, None).await;
        // Time for every member's reply and its confirmation first: slack-morphism lets the bot
        // post one message a second, and the summary must not queue behind them.
        let post_at = bot::whole_second_in(lead);
        let schedule = Schedule {
            prompt: Utc::now() + chrono::Duration::hours(2),
            sync: post_at + chrono::Duration::minutes(1),
            post_before: "1m".into(),
            remind_after: "1h".into(),
        };
        let mut bot = Bot::new(bin, &emu, members, &schedule);
        bot.start(Mode::Socket);
        if !bot.ready(&emu, READY).await {
            report
                .verdicts
                .push(Verdict::invariant("bot started", false, bot.log_tail(30)));
            return report;
        }
        for n in 0..members {
            let dm = events::dm_message(
                &bot::user_id(n),
                &format!("Shipped:\n- item {n}\nBlocked:\n- none\nNext:\n- more"),
            );
            emu.send_event(dm).acked(READY).await;
        }
        let fired = instant_of(post_at);
        let done = tokio::time::timeout(
            Duration::from_secs(wait.unwrap_or(members as u64 + 40)),
            emu.wait_for_call(
                "files.completeUploadExternal",
                |_| true,
                Duration::from_secs(86_400),
            ),
        )
        .await;
        if let Ok(call) = done {
            to_file.push(call.at.saturating_duration_since(fired));
            if let Some(summary) = emu
                .messages(CHANNEL)
                .iter()
                .find(|m| m.text.as_deref().is_some_and(|t| t.contains("answered")))
            {
                to_summary.push(summary.at.saturating_duration_since(fired));
            }
            // The call is recorded as it arrives, a moment before the emulator completes the
            // file: wait for that before reading it.
            let mut files = emu.files();
            let until = Instant::now() + Duration::from_secs(5);
            while !files.first().is_some_and(|f| f.completed) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
                files = emu.files();
            }
            if files.first().is_some_and(|f| {
                f.completed
                    && (0..members).all(|n| f.content.contains(&format!("@{}", bot::handle(n))))
            }) {
                complete += 1;
            }
        }
        peak = peak.max(bot.peak_rss_kib().unwrap_or_default());
        bot.stop(Duration::from_secs(15));
    }
    report.peak_rss_kib = Some(peak);
    let file_row = Row::new(
        "post_before → file upload complete",
        to_file.len(),
        Duration::ZERO,
        to_file,
    );
    let p99 = file_row.percentile(100.0).unwrap_or(Duration::MAX);
    report.verdicts.push(Verdict::invariant(
        "the notes posted every run, with every member",
        complete == repeat,
        format!("{complete} of {repeat} runs"),
    ));
    report.verdicts.push(Verdict::target(
        "document posted ≤ 1 s after post_before (every run)",
        p99 <= Duration::from_secs(1) && complete == repeat,
        format!("slowest {}", fmt_duration(p99)),
    ));
    report.rows.push(Row::new(
        "post_before → summary posted",
        to_summary.len(),
        Duration::ZERO,
        to_summary,
    ));
    report.rows.push(file_row);
    report
}
