//! Crash safety: the bot is killed with SIGKILL at random points while it prompts a team, takes
//! a burst of replies and posts the notes, and is restarted each time. Afterwards every
//! acknowledged reply is stored once, every member was prompted once, and the notes were posted
//! once and are complete.
//!
//! Half the kills hit a team in channel mode, half a team that keeps the channel quiet
//! (`updates = "thread"`, `blocker_flags = "thread"`, escalations): there, every member's
//! update is one reply in the cycle's thread holding all they wrote, and every blocker's flag
//! and escalation is in the thread once; thread replies cut short are looked up in the thread.
//!
//! Kills are planned over the moments of the cycle (before the prompt, the fan-out, the burst,
//! the post), at random times within each; the two modes run side by side.
//! `CRASH_KILLS` sets how many kills (default 18, one cycle per mode; `scripts/crash.sh` runs
//! more), `CRASH_SEED` the random sequence (printed, so a failing run can be repeated).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::support::{CHANNEL, ONE_AT_A_TIME, Process, TestDb, WAIT};
use chrono::Utc;
use slack_emulator::{Emulator, EnvelopeHandle, Fault, events};

/// Where the team's updates and flags go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Channel,
    Thread,
}

impl Mode {
    /// Members of the team: fewer in thread mode, whose channel posts are paced at Slack's
    /// one message a second.
    fn members(self) -> usize {
        match self {
            Mode::Channel => 16,
            Mode::Thread => 8,
        }
    }

    /// DMs in the reply burst.
    fn replies(self) -> usize {
        match self {
            Mode::Channel => 35,
            Mode::Thread => 20,
        }
    }

    /// Lines for the team's table.
    fn team(self, lead: &str) -> String {
        match self {
            Mode::Channel => String::new(),
            Mode::Thread => format!(
                "updates = \"thread\"\nblocker_flags = \"thread\"\nescalate_after = \"2s\"\nleads = [\"{lead}\"]"
            ),
        }
    }
}

/// The burst's `n`-th DM, from `users[n % len]`: each has a unique token; in thread mode the
/// first DM of every other member also reports a blocker (`blk` + token).
fn burst_text(mode: Mode, n: usize, token: &str) -> String {
    let blocked = mode == Mode::Thread && n < mode.members() && n % 2 == 0;
    if blocked {
        format!("*Shipped*\n- {token}\n*Blocked*\n- blk{token}")
    } else {
        format!("*Shipped*\n- {token}")
    }
}

fn member(i: usize) -> String {
    format!("U0CRASH{i:03}")
}

/// A small, seedable generator (xorshift), so a run can be repeated exactly.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The moments of a cycle, by time since the scenario began: the prompt is at 1 s, the reply
/// burst from 2 s to 5.5 s, the notes posted at 4 s, the meeting at 6 s.
const PHASES: [(&str, u64, u64); 4] = [
    ("prompt fan-out", 1000, 2000),
    ("reply burst", 2000, 4000),
    ("post and late replies", 4000, 6000),
    ("before the prompt", 0, 1000),
];

/// How much slower than [`PHASES`] a scenario's timeline runs: twice on PostgreSQL, where a start
/// takes longer (its connections, the scheduler's lease) and kills planned as densely as on
/// SQLite could keep the bot from ever leading between the prompt and the notes on a loaded
/// machine, leaving nobody to prompt anyone.
fn pace() -> u64 {
    if std::env::var(crate::support::POSTGRES_ENV).is_ok_and(|u| !u.is_empty()) {
        2
    } else {
        1
    }
}

/// Where in the cycle a kill landed.
fn phase(at: Duration) -> &'static str {
    let ms = at.as_millis() as u64 / pace();
    PHASES
        .iter()
        .find(|(_, from, to)| (*from..*to).contains(&ms))
        .map_or("after", |(name, _, _)| *name)
}

/// When to kill, `n` times: spread over the phases in [`PHASES`]' order (the busy ones first),
/// each at a random moment within its phase, in time order. Random moments alone left whole
/// phases without a kill in short runs.
fn kill_plan(rng: &mut Rng, n: usize) -> Vec<Duration> {
    let mut plan: Vec<Duration> = (0..n)
        .map(|i| {
            let (_, from, to) = PHASES[i % PHASES.len()];
            Duration::from_millis((from + rng.below(to - from)) * pace())
        })
        .collect();
    plan.sort();
    plan
}

/// Kills per scenario: enough to hit every phase twice, few enough that the bot runs a while
/// between two of them.
const KILLS_PER_CYCLE: usize = 9;

#[derive(Default, Debug)]
struct Tally {
    kills: usize,
    by_phase: BTreeMap<&'static str, usize>,
    replies_acked: usize,
    history_lookups: usize,
    duplicate_prompts: usize,
    missing_prompts: usize,
    answered_before_prompt: usize,
    lost_replies: usize,
    doubled_replies: usize,
    summaries: usize,
    incomplete_documents: usize,
    duplicate_files: usize,
    /// Thread mode: members whose update reply is missing or lacks what they wrote.
    thread_updates_lost: usize,
    thread_updates_doubled: usize,
    flags_lost: usize,
    flags_doubled: usize,
    escalations_lost: usize,
    escalations_doubled: usize,
    /// Top-level messages in a thread-mode channel besides the thread's parent.
    stray_top_level: usize,
    /// Sends given up (none should be: every lookup works).
    given_up: usize,
}

fn stored(db: &TestDb, token: &str) -> i64 {
    // Whether the text holds the token, in both engines and case-sensitive as `instr` was.
    db.int(
        "SELECT count(*) FROM replies WHERE replace(text, $1, '') <> text",
        &[token],
    )
}

/// One cycle with kills until `budget` is spent or the cycle is over; then a clean run settles
/// and the invariants are counted into `tally`.
async fn scenario(mode: Mode, seed: u64, budget: usize, tally: &mut Tally) {
    let mut rng = Rng(seed | 1);
    let users: Vec<String> = (0..mode.members()).map(member).collect();
    let config = crate::support::workspace_of(&users);
    let emu = Emulator::start(config).await;
    // Some posts land in Slack but answer late, so kills also hit the moment after Slack acted
    // and before the bot heard back: the bot must look, not post again.
    // In thread mode the prompts take the first eight; the rest land on confirmations, thread
    // replies, flags and escalations.
    let late = match mode {
        Mode::Channel => 8,
        Mode::Thread => 40,
    };
    for _ in 0..late {
        emu.fail_next(
            "chat.postMessage",
            Fault::LateAnswer(Duration::from_millis(400)),
        );
    }
    emu.fail_next(
        "files.completeUploadExternal",
        Fault::LateAnswer(Duration::from_millis(400)),
    );

    let t0 = Utc::now();
    let start = Instant::now();
    let pace = pace();
    let post_before = format!("{}s", 2 * pace);
    let mut bot = Process::with_extra(
        &emu,
        t0 + chrono::Duration::seconds(pace as i64),
        t0 + chrono::Duration::seconds(6 * pace as i64),
        &post_before,
        "1h",
        "",
        &mode.team(&users[0]),
    );
    bot.set_members(&users);

    // The reply burst: a DM every 100 ms from 2 s to 5.5 s, each with a unique token.
    let sender = {
        let emu = emu.clone();
        let users = users.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2000 * pace)).await;
            let mut sent: Vec<(String, EnvelopeHandle)> = Vec::new();
            for n in 0..mode.replies() {
                let user = &users[n % users.len()];
                let token = format!("tok{seed:x}n{n}z");
                let handle = emu.send_event(events::dm_message(user, &burst_text(mode, n, &token)));
                sent.push((token, handle));
                tokio::time::sleep(Duration::from_millis(100 * pace)).await;
            }
            sent
        })
    };

    // Kill at the planned moments, restarting at once after each.
    for planned in kill_plan(&mut rng, budget) {
        bot.start();
        tokio::time::sleep(planned.saturating_sub(start.elapsed())).await;
        let at = start.elapsed();
        bot.kill();
        tally.kills += 1;
        *tally.by_phase.entry(phase(at)).or_default() += 1;
    }

    // A clean run settles everything.
    let opened = emu.connections_opened();
    bot.start();
    let sent = sender.await.unwrap();
    for (_, handle) in &sent {
        assert!(
            handle.acked(Duration::from_secs(30)).await.is_some(),
            "an event was never acked; log:\n{}",
            bot.log()
        );
    }
    tally.replies_acked += sent.len();
    let all_in_document = |emu: &Emulator| {
        emu.files()
            .iter()
            .rfind(|f| f.completed)
            .is_some_and(|f| sent.iter().all(|(t, _)| f.content.contains(t.as_str())))
    };
    // In thread mode the blockers (one per other member's first DM) are flagged and escalated
    // in the thread.
    let blockers: Vec<String> = sent
        .iter()
        .enumerate()
        .filter(|(n, (t, _))| burst_text(mode, *n, t).contains("*Blocked*"))
        .map(|(_, (t, _))| format!("blk{t}"))
        .collect();
    let thread_count = |emu: &Emulator, needle: &str| {
        emu.messages(CHANNEL)
            .iter()
            .filter(|m| m.thread_ts.is_some() && m.ephemeral_to.is_none())
            .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
            .count()
    };
    // Thread mode: each member's update is one reply in the thread, edited to hold every
    // reply they sent (edits follow the handled events on a task of their own).
    let updates_in_thread = |emu: &Emulator| {
        mode != Mode::Thread
            || users.iter().enumerate().all(|(i, _)| {
                let own: Vec<&str> = sent
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| n % users.len() == i)
                    .map(|(_, (t, _))| t.as_str())
                    .collect();
                own.is_empty()
                    || emu
                        .messages(CHANNEL)
                        .iter()
                        .filter(|m| m.thread_ts.is_some())
                        .filter_map(|m| m.text.as_deref())
                        .any(|t| {
                            t.starts_with(&format!("*@m{i}*")) && own.iter().all(|o| t.contains(o))
                        })
            })
    };
    // Every member's prompt job has ended (sent, or skipped): the fan-out is over.
    let prompts_ended = || {
        bot.db()
            .try_int(
                "SELECT count(*) FROM jobs WHERE kind = 'prompt' AND state IN ('done', 'skipped')",
                &[],
            )
            .is_ok_and(|n| n as usize >= users.len())
    };
    let settled = |emu: &Emulator| {
        all_in_document(emu)
            && updates_in_thread(emu)
            && prompts_ended()
            && blockers.iter().all(|b| {
                thread_count(emu, &format!("is blocked: {b}")) > 0
                    && emu.messages(CHANNEL).iter().any(|m| {
                        m.text.as_deref().is_some_and(|t| {
                            t.contains("has been blocked since") && t.contains(b.as_str())
                        })
                    })
            })
    };
    let deadline = Instant::now()
        + Duration::from_secs(match mode {
            Mode::Channel => 30,
            Mode::Thread => 90,
        });
    while !settled(&emu) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every stored event handled: a late duplicate would have come from one of them.
    bot.events_handled().await;
    // The clean run really ran (its own connection), and SIGTERM reaches a running bot rather
    // than a process still starting, which would die of it before installing its handler.
    assert!(
        emu.wait_connections_opened(opened + 1, WAIT).await,
        "the clean run never connected; log:\n{}",
        bot.log()
    );
    bot.stop();

    for u in &users {
        let prompts = emu
            .messages(&emu.dm_channel(u))
            .iter()
            .filter(|m| m.ephemeral_to.is_none())
            .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("update for")))
            .count();
        match prompts {
            1 => {}
            0 => {
                // Not prompted is right only for a member whose reply came in before their
                // prompt (the bot was down at prompt time): the prompt job ended `skipped`
                // with no error, after a reply of theirs was stored. Anything else (no job, a
                // job given up, a skip with nothing from them) is a member the bot lost.
                let job: Option<(String, Option<String>, bool)> = bot
                    .db()
                    .try_rows(
                        "SELECT j.state, j.last_error, CASE WHEN EXISTS (
                             SELECT 1 FROM replies r JOIN members m ON m.id = r.member_id
                             WHERE m.slack_user = j.member AND r.received_at <= j.done_at)
                             THEN 1 ELSE 0 END
                         FROM jobs j WHERE j.member = $1 AND j.kind = 'prompt'",
                        &[u],
                    )
                    .ok()
                    .and_then(|rows| rows.into_iter().next())
                    .map(|r| (r[0].text(), r[1].opt_text(), r[2].int() == 1));
                let wrote = sent
                    .iter()
                    .enumerate()
                    .any(|(n, _)| &users[n % users.len()] == u);
                match job {
                    Some((state, None, true)) if state == "skipped" && wrote => {
                        tally.answered_before_prompt += 1
                    }
                    other => {
                        println!(
                            "seed {seed}: {u} never prompted; its job (state, error, replied before): {other:?}"
                        );
                        tally.missing_prompts += 1;
                    }
                }
            }
            n => tally.duplicate_prompts += n - 1,
        }
    }
    for (token, _) in &sent {
        match stored(bot.db(), token) {
            1 => {}
            0 => tally.lost_replies += 1,
            n => tally.doubled_replies += n as usize - 1,
        }
    }
    let summaries = emu
        .messages(CHANNEL)
        .iter()
        .filter(|m| m.thread_ts.is_none() && m.ephemeral_to.is_none())
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("answered")))
        .count();
    tally.summaries += summaries;
    if !all_in_document(&emu) {
        tally.incomplete_documents += 1;
    }
    let mut contents: HashMap<String, usize> = HashMap::new();
    for f in emu.files().iter().filter(|f| f.completed) {
        *contents.entry(f.content.clone()).or_default() += 1;
    }
    tally.duplicate_files += contents.values().map(|n| n - 1).sum::<usize>();
    tally.history_lookups +=
        emu.calls_to("conversations.history").len() + emu.calls_to("conversations.replies").len();
    let given_up = bot.db().int(
        "SELECT count(*) FROM sends WHERE failed_at IS NOT NULL",
        &[],
    );
    tally.given_up += given_up as usize;
    if mode == Mode::Thread {
        let messages = emu.messages(CHANNEL);
        let top = messages
            .iter()
            .filter(|m| m.thread_ts.is_none() && m.ephemeral_to.is_none())
            .count();
        tally.stray_top_level += top.saturating_sub(1);
        if top > 1 {
            for m in messages.iter().filter(|m| m.thread_ts.is_none()) {
                println!("seed {seed}: top-level: {:?}", m.text);
            }
        }
        for (i, u) in users.iter().enumerate() {
            let own: Vec<&str> = sent
                .iter()
                .enumerate()
                .filter(|(n, _)| n % users.len() == i)
                .map(|(_, (t, _))| t.as_str())
                .collect();
            let replies: Vec<&str> = messages
                .iter()
                .filter(|m| m.thread_ts.is_some())
                .filter_map(|m| m.text.as_deref())
                .filter(|t| t.starts_with(&format!("*@m{i}*")))
                .collect();
            match replies.as_slice() {
                [] if own.is_empty() => {}
                [one] if own.iter().all(|t| one.contains(t)) => {}
                [one] => {
                    println!("seed {seed}: {u}'s update reply lacks some of {own:?}: {one:?}");
                    tally.thread_updates_lost += 1;
                }
                [] => tally.thread_updates_lost += 1,
                more => tally.thread_updates_doubled += more.len() - 1,
            }
        }
        for b in &blockers {
            match thread_count(&emu, &format!("is blocked: {b}")) {
                1 => {}
                0 => tally.flags_lost += 1,
                n => tally.flags_doubled += n - 1,
            }
            let escalations = messages
                .iter()
                .filter(|m| m.thread_ts.is_some())
                .filter_map(|m| m.text.as_deref())
                .filter(|t| t.contains("has been blocked since") && t.contains(b.as_str()))
                .count();
            match escalations {
                1 => {}
                0 => tally.escalations_lost += 1,
                n => tally.escalations_doubled += n - 1,
            }
        }
    }
    assert_eq!(
        summaries,
        1,
        "seed {seed}: the notes' summary posted once; log:\n{}",
        bot.log()
    );
}

/// Cycles of one mode until `kills` kills are spent (at least one cycle); returns the tally
/// and the number of cycles.
async fn cycles(mode: Mode, mut seed: u64, kills: usize) -> (Tally, usize) {
    let mut tally = Tally::default();
    let mut runs = 0;
    while runs == 0 || tally.kills < kills {
        let budget = (kills - tally.kills).clamp(1, KILLS_PER_CYCLE);
        scenario(mode, seed, budget, &mut tally).await;
        runs += 1;
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    (tally, runs)
}

impl Tally {
    fn plus(mut self, other: Tally) -> Tally {
        for (phase, n) in other.by_phase {
            *self.by_phase.entry(phase).or_default() += n;
        }
        Tally {
            kills: self.kills + other.kills,
            by_phase: self.by_phase,
            replies_acked: self.replies_acked + other.replies_acked,
            history_lookups: self.history_lookups + other.history_lookups,
            duplicate_prompts: self.duplicate_prompts + other.duplicate_prompts,
            missing_prompts: self.missing_prompts + other.missing_prompts,
            answered_before_prompt: self.answered_before_prompt + other.answered_before_prompt,
            lost_replies: self.lost_replies + other.lost_replies,
            doubled_replies: self.doubled_replies + other.doubled_replies,
            summaries: self.summaries + other.summaries,
            incomplete_documents: self.incomplete_documents + other.incomplete_documents,
            duplicate_files: self.duplicate_files + other.duplicate_files,
            thread_updates_lost: self.thread_updates_lost + other.thread_updates_lost,
            thread_updates_doubled: self.thread_updates_doubled + other.thread_updates_doubled,
            flags_lost: self.flags_lost + other.flags_lost,
            flags_doubled: self.flags_doubled + other.flags_doubled,
            escalations_lost: self.escalations_lost + other.escalations_lost,
            escalations_doubled: self.escalations_doubled + other.escalations_doubled,
            stray_top_level: self.stray_top_level + other.stray_top_level,
            given_up: self.given_up + other.given_up,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_nothing_is_lost_or_repeated() {
    let _turn = ONE_AT_A_TIME.write().await;
    let target: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2 * KILLS_PER_CYCLE);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_micros() as u64);
    println!("CRASH_SEED={seed} CRASH_KILLS={target}");
    // The two modes side by side, each with its own workspace and bot: half the kills each.
    let (channel, thread) = tokio::join!(
        cycles(Mode::Channel, seed, target - target / 2),
        cycles(Mode::Thread, seed.wrapping_add(1), target / 2)
    );
    let scenarios = channel.1 + thread.1;
    let by_mode = [
        format!("Channel: {}", channel.1),
        format!("Thread: {}", thread.1),
    ];
    let tally = channel.0.plus(thread.0);
    println!(
        "scenarios: {scenarios} ({}), members each: {} / {}",
        by_mode.join(", "),
        Mode::Channel.members(),
        Mode::Thread.members()
    );
    println!("kills: {} ({:?})", tally.kills, tally.by_phase);
    println!(
        "replies acked: {}, lost: {}, stored twice: {}",
        tally.replies_acked, tally.lost_replies, tally.doubled_replies
    );
    println!(
        "prompts missing: {}, repeated: {}, not needed (answered before the prompt): {}",
        tally.missing_prompts, tally.duplicate_prompts, tally.answered_before_prompt
    );
    println!(
        "summaries: {} for {scenarios} cycles, incomplete documents: {}, repeated file versions: {}",
        tally.summaries, tally.incomplete_documents, tally.duplicate_files
    );
    println!(
        "history lookups after uncertain sends: {}, sends given up: {}",
        tally.history_lookups, tally.given_up
    );
    println!(
        "thread updates lost: {}, doubled: {}; flags lost: {}, doubled: {}; escalations lost: {}, doubled: {}; stray top-level: {}",
        tally.thread_updates_lost,
        tally.thread_updates_doubled,
        tally.flags_lost,
        tally.flags_doubled,
        tally.escalations_lost,
        tally.escalations_doubled,
        tally.stray_top_level
    );
    // The plan aims kills at every moment of the cycle; a bot slow to start or stop can push
    // them late, and then the busy moments went untested.
    for (phase, ..) in &PHASES[..3] {
        assert!(
            tally.by_phase.get(phase).is_some_and(|n| *n > 0),
            "no kill landed during the {phase}: {:?}",
            tally.by_phase
        );
    }
    assert_eq!(tally.lost_replies, 0, "acknowledged replies lost");
    assert_eq!(tally.doubled_replies, 0, "replies stored twice");
    assert_eq!(tally.missing_prompts, 0, "members never prompted");
    assert_eq!(tally.duplicate_prompts, 0, "members prompted twice");
    assert_eq!(tally.summaries, scenarios, "notes posted once per cycle");
    assert_eq!(tally.incomplete_documents, 0, "notes missing replies");
    assert_eq!(tally.duplicate_files, 0, "the same document uploaded twice");
    assert_eq!(tally.given_up, 0, "sends given up although Slack answered");
    assert_eq!(tally.thread_updates_lost, 0, "thread updates lost");
    assert_eq!(
        tally.thread_updates_doubled, 0,
        "thread updates posted twice"
    );
    assert_eq!(tally.flags_lost, 0, "blocker flags lost");
    assert_eq!(tally.flags_doubled, 0, "blocker flags posted twice");
    assert_eq!(tally.escalations_lost, 0, "escalations lost");
    assert_eq!(tally.escalations_doubled, 0, "escalations posted twice");
    assert_eq!(
        tally.stray_top_level, 0,
        "thread mode posted in the channel"
    );
    let _ = WAIT;
}

/// A form answer and a button click are stored before their ack: the bot killed after the ack
/// and before it finished handling them handles them at the next start, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_or_form_acked_before_a_kill_is_handled_after_the_restart() {
    use crate::support::{KENJI, LI, MARIA, ZOE, emulator, wait_prompted};
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let prompt = t0 + chrono::Duration::seconds(3);
    let sync = t0 + chrono::Duration::minutes(30);
    let mut bot = Process::new(&emu, prompt, sync, "1m", "1h");
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    let prompt_of = |user: &str| {
        let dm = emu.dm_channel(user);
        let ts = emu
            .messages(&dm)
            .into_iter()
            .find(|m| m.blocks.is_some())
            .expect("a prompt")
            .ts;
        (dm, ts)
    };

    // Maria answers in the form. Recording it starts with `conversations.open`, which hangs:
    // the submission is acked, its handling cut short by the kill.
    let (dm, ts) = prompt_of(MARIA);
    emu.send_interaction(
        emu.click(MARIA, &dm, &ts, "answer_form")
            .expect("a form button"),
    )
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_call("views.open", |_| true, WAIT).await;
    let form = emu
        .views()
        .into_iter()
        .rfind(|v| v.method == "views.open")
        .unwrap();
    emu.fail_next("conversations.open", Fault::Hang);
    let submitted = emu
        .submit_view(MARIA, &form.id, &[("Shipped", "- formtoken shipped")])
        .expect("the form has this box");
    emu.send_interaction(submitted)
        .ack(WAIT)
        .await
        .expect("the submission is acked once stored");
    emu.wait_for_call("conversations.open", |_| true, WAIT)
        .await;
    bot.kill();

    // Kenji clicks *Out of office*; the answer to him hangs, and the bot is killed again.
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    let recorded = |user: &str| {
        let dm = emu.dm_channel(user);
        emu.messages(&dm)
            .iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")))
            .count()
    };
    emu.wait_for_message(
        &dm,
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
        WAIT,
    )
    .await;
    let (kenji_dm, kenji_ts) = prompt_of(KENJI);
    let answered = |m: &slack_emulator::Message| {
        m.text
            .as_deref()
            .is_some_and(|t| t.starts_with("OK, marked out of office"))
    };
    emu.fail_next("chat.postMessage", Fault::Hang);
    emu.send_interaction(
        emu.click(KENJI, &kenji_dm, &kenji_ts, "out_of_office")
            .expect("an out-of-office button"),
    )
    .ack(WAIT)
    .await
    .expect("the click is acked once stored");
    emu.wait_for_call(
        "chat.postMessage",
        |c| c.params.to_string().contains("marked out of office"),
        WAIT,
    )
    .await;
    bot.kill();
    assert!(
        !emu.messages(&kenji_dm).iter().any(answered),
        "the answer was cut short"
    );
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    emu.wait_for_message(&kenji_dm, answered, WAIT).await;
    bot.stop();

    // Maria's answer is in the notes once; Kenji is away for the meeting.
    assert_eq!(recorded(MARIA), 1, "one confirmation");
    let notes = bot.cli(&["compile", "--team", "orbit"]);
    assert_eq!(notes.matches("formtoken shipped").count(), 1, "{notes}");
    let status = bot.db().int(
        "SELECT count(*) FROM inbox WHERE event_id LIKE 'interaction:%' AND handled_at IS NOT NULL",
        &[],
    );
    assert!(
        status >= 2,
        "the form and the click were handled from the inbox"
    );
}
