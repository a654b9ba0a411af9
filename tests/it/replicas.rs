//! Three bot processes on one PostgreSQL database and one Slack workspace, with short leases: the
//! work is shared and nothing is sent twice or missed, whichever replica dies or stalls; Slack's
//! rate limits are kept by the three together, and a 429 one of them meets holds back the others.
//! PostgreSQL only (a SQLite file takes one bot); `scripts/with-postgres.sh` runs them.

use std::time::Duration;

use chrono::Utc;
use slack_emulator::{Channel, Emulator, Fault, Message, RateLimits, SignedClient, User, events};

use crate::support::{
    CHANNEL, DbValue, KENJI, LI, MARIA, ONE_AT_A_TIME, Process, SIGNING_SECRET, WAIT, ZOE,
    emulator, postgres_only, prompts_to, team_workspace, wait_file, wait_prompted, wait_until,
    workspace_of,
};

/// The scheduler's lease in these tests: a dead leader's work passes on within seconds.
const LEASE_SECS: &str = "2";

/// Three replicas of one bot (one database, one config), not started yet.
fn replicas(
    emu: &Emulator,
    prompt: chrono::DateTime<Utc>,
    sync: chrono::DateTime<Utc>,
) -> Vec<Process> {
    let mut first = Process::new(emu, prompt, sync, "20s", "1h");
    first
        .env
        .push(("STANDUP_LEASE_TTL_SECS".into(), LEASE_SECS.into()));
    let second = first.replica();
    let third = first.replica();
    vec![first, second, third]
}

/// Three replicas started and connected, the prompt `prompt_in` seconds from now and the meeting
/// `sync_in` from now.
async fn started(emu: &Emulator, prompt_in: i64, sync_in: chrono::Duration) -> Vec<Process> {
    let t0 = Utc::now();
    let mut bots = replicas(emu, t0 + chrono::Duration::seconds(prompt_in), t0 + sync_in);
    start_all(&mut bots);
    wait_until("three Socket Mode connections", WAIT, || {
        emu.live_connections() == 3
    })
    .await;
    bots
}

/// The team's four members each have exactly one prompt.
fn each_prompted_once(emu: &Emulator, bots: &[Process]) {
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(
            prompts_to(emu, user),
            1,
            "prompts to {user}\n{}",
            logs(bots)
        );
    }
}

fn stop_all(bots: &mut [Process]) {
    for bot in bots.iter_mut() {
        bot.stop();
    }
}

fn start_all(bots: &mut [Process]) {
    for bot in bots.iter_mut() {
        bot.start();
    }
}

/// Which replica leads now: the one whose log says it took the lease more often than it lost it
/// (a killed one, which logs nothing more, left out).
fn leader_among(bots: &[Process], dead: &[usize]) -> Option<usize> {
    let leading = |log: &str| {
        log.matches("leading: this replica runs the scheduler")
            .count()
            > log.matches("no longer leading").count()
    };
    let found: Vec<usize> = (0..bots.len())
        .filter(|i| !dead.contains(i) && leading(&bots[*i].log()))
        .collect();
    (found.len() == 1).then(|| found[0])
}

fn leader(bots: &[Process]) -> Option<usize> {
    leader_among(bots, &[])
}

async fn wait_leader(bots: &[Process]) -> usize {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(i) = leader(bots) {
            return i;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no single leader among the replicas:\n{}",
            logs(bots)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn logs(bots: &[Process]) -> String {
    bots.iter()
        .enumerate()
        .map(|(i, b)| format!("--- replica {i} ---\n{}", b.log()))
        .collect()
}

fn count(emu: &Emulator, channel: &str, what: impl Fn(&Message) -> bool) -> usize {
    emu.messages(channel).iter().filter(|m| what(m)).count()
}

fn text_has(m: &Message, part: &str) -> bool {
    m.text.as_deref().is_some_and(|t| t.contains(part))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_run_a_whole_cycle_sending_each_message_once() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let mut bots = started(&emu, 5, chrono::Duration::seconds(30)).await;
    wait_leader(&bots).await;

    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    // Replies come in over the three connections (Slack spreads envelopes across them).
    for (user, text) in [
        (MARIA, "Shipped:\n- replica notes"),
        (KENJI, "Blocked:\n- the staging database is down"),
        (LI, "In progress:\n- failover drills"),
        (ZOE, "Next:\n- lease tuning"),
    ] {
        emu.send_event(events::dm_message(user, text))
            .ack(WAIT)
            .await
            .expect("acked");
    }
    let file = wait_file(&emu, 1).await;
    let notes = file.content.clone();
    for part in [
        "replica notes",
        "the staging database is down",
        "failover drills",
        "lease tuning",
    ] {
        assert!(
            notes.contains(part),
            "{part} missing from the notes:\n{notes}"
        );
    }
    // Time for a second replica's duplicate, had there been one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        let dm = emu.dm_channel(user);
        assert_eq!(
            prompts_to(&emu, user),
            1,
            "prompts to {user}\n{}",
            logs(&bots)
        );
        assert_eq!(
            count(&emu, &dm, |m| m
                .text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it."))),
            1,
            "confirmations to {user}"
        );
    }
    assert_eq!(
        count(&emu, CHANNEL, |m| text_has(
            m,
            "is blocked: the staging database is down"
        )),
        1,
        "blocker flags"
    );
    assert_eq!(emu.files().len(), 1, "notes uploaded: {:?}", emu.files());
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_at_prompt_time_a_successor_prompts_everyone_once() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    // A team big enough that the fan-out is under way when the leader dies.
    let users: Vec<String> = (0..40).map(|i| format!("U0MEMB{i:04}")).collect();
    let emu = Emulator::start(workspace_of(&users)).await;
    let t0 = Utc::now();
    let (prompt, sync) = (
        t0 + chrono::Duration::seconds(8),
        t0 + chrono::Duration::minutes(30),
    );
    let mut bots = replicas(&emu, prompt, sync);
    bots[0].set_members(&users);
    for bot in &bots[1..] {
        std::fs::copy(
            bots[0].dir.path().join("standup.toml"),
            bot.dir.path().join("standup.toml"),
        )
        .unwrap();
    }
    start_all(&mut bots);
    wait_until("three Socket Mode connections", WAIT, || {
        emu.live_connections() == 3
    })
    .await;
    let first = wait_leader(&bots).await;

    // The first prompts are out: the leader dies mid-fan-out.
    wait_until("the first prompt", WAIT, || {
        users.iter().any(|u| prompts_to(&emu, u) > 0)
    })
    .await;
    bots[first].kill();
    let sent_by_first = users.iter().filter(|u| prompts_to(&emu, u) > 0).count();

    wait_until("every member prompted", Duration::from_secs(60), || {
        users.iter().all(|u| prompts_to(&emu, u) > 0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let twice: Vec<&String> = users.iter().filter(|u| prompts_to(&emu, u) > 1).collect();
    assert!(
        twice.is_empty(),
        "prompted twice: {twice:?}\n{}",
        logs(&bots)
    );
    let next = leader_among(&bots, &[first]).expect("a successor leads");
    assert_ne!(next, first);
    eprintln!(
        "the killed leader had prompted {sent_by_first} of {} members",
        users.len()
    );
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_has_its_writes_refused_and_nobody_is_prompted_twice() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    // The prompt falls while the first leader is paused.
    let mut bots = started(&emu, 9, chrono::Duration::minutes(30)).await;
    let first = wait_leader(&bots).await;
    let pid = bots[first].pid().unwrap().to_string();
    signal("-STOP", &pid);
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    signal("-CONT", &pid);
    wait_until("the paused leader learns it lost the lease", WAIT, || {
        bots[first].log().contains("no longer leading")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    each_prompted_once(&emu, &bots);
    let next = leader(&bots).expect("one leader");
    assert_ne!(next, first, "the lease passed while the first was paused");
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_on_every_connection_is_handled_once() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let mut bots = started(&emu, 6, chrono::Duration::minutes(30)).await;
    wait_prompted(&emu, MARIA).await;
    for handle in emu.send_event_on_all(events::dm_message(MARIA, "Shipped:\n- sent thrice")) {
        handle.ack(WAIT).await.expect("acked on each connection");
    }
    let dm = emu.dm_channel(MARIA);
    emu.wait_for_message(&dm, |m| text_has(m, "Got it."), WAIT)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&emu, &dm, |m| text_has(m, "Got it.")),
        1,
        "{}",
        logs(&bots)
    );
    stop_all(&mut bots);
}

/// Three replicas started one after another, each connected before the next starts: replica
/// `i` is the emulator's live connection `i` (see [`Emulator::send_event_on`]).
async fn started_in_order(
    emu: &Emulator,
    prompt_in: i64,
    sync_in: chrono::Duration,
) -> Vec<Process> {
    let t0 = Utc::now();
    let mut bots = replicas(emu, t0 + chrono::Duration::seconds(prompt_in), t0 + sync_in);
    for (i, bot) in bots.iter_mut().enumerate() {
        bot.start();
        wait_until("the replica on Socket Mode", WAIT, || {
            emu.live_connections() == i + 1
        })
        .await;
    }
    bots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_killed_mid_event_another_replica_handles_it_once() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let mut bots = started_in_order(&emu, 3, chrono::Duration::minutes(30)).await;
    let leader = wait_leader(&bots).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    wait_until("the start-up introductions done", WAIT, || {
        bots[leader].log().contains("introductions due at start")
    })
    .await;
    let follower = (0..bots.len()).find(|i| *i != leader).unwrap();

    // The follower stores the reply, claims it and starts on it: its confirmation never
    // comes back from Slack, so it is mid-event when it dies.
    let posts_before = emu.calls_to("chat.postMessage").len();
    emu.fail_next("chat.postMessage", Fault::Hang);
    let envelope = emu.send_event_on(follower, events::dm_message(MARIA, "Shipped:\n- takeover"));
    envelope.ack(WAIT).await.expect("acked by the follower");
    let event_id = envelope.event_id().unwrap().to_string();
    wait_until("the follower's hung Slack call", WAIT, || {
        emu.calls_to("chat.postMessage").len() > posts_before
    })
    .await;
    let claimed = bots[0].db().rows(
        "SELECT claimed_by, handled_at FROM inbox WHERE event_id = $1",
        &[&event_id],
    );
    let holder = (0..bots.len()).find(|i| {
        bots[*i]
            .pid()
            .is_some_and(|pid| claimed[0][0].text().contains(&format!(" pid {pid} ")))
    });
    let calls = || {
        emu.calls_to("chat.postMessage")
            .iter()
            .map(|c| c.params.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        holder.is_some_and(|h| h != leader) && claimed[0][1] == DbValue::Null,
        "a follower (not {leader}) holds the event, unhandled: {claimed:?}, held by {holder:?}; calls: {:#?}\n{}",
        calls(),
        logs(&bots)
    );
    let holder = holder.unwrap();
    let pid = bots[holder].pid().unwrap();
    bots[holder].kill();
    let killed = std::time::Instant::now();

    let dm = emu.dm_channel(MARIA);
    emu.wait_for_message(&dm, |m| text_has(m, "Got it."), WAIT)
        .await;
    // Well inside the event's 60 s claim: a dead replica's events pass on at the next look.
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "handled {took:?} after the kill\n{}",
        logs(&bots)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&emu, &dm, |m| text_has(m, "Got it.")),
        1,
        "{}",
        logs(&bots)
    );
    let handled_by = bots[0].db().text(
        "SELECT claimed_by FROM inbox WHERE event_id = $1 AND handled_at IS NOT NULL",
        &[&event_id],
    );
    assert!(
        !handled_by.contains(&format!(" pid {pid} ")),
        "taken over: {handled_by}"
    );
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_restarted_one_by_one_leave_no_gap_and_repeat_nothing() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    // The prompt falls during the rolling restart.
    let mut bots = started(&emu, 10, chrono::Duration::minutes(30)).await;
    for bot in bots.iter_mut() {
        bot.stop();
        bot.start();
        wait_until("the replica back on Socket Mode", WAIT, || {
            emu.live_connections() == 3
        })
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    each_prompted_once(&emu, &bots);
    stop_all(&mut bots);
}

/// Three replicas of a bot whose team is `users`, with `team`'s lines in the team's table.
fn replicas_of(
    emu: &Emulator,
    users: &[String],
    prompt: chrono::DateTime<Utc>,
    sync: chrono::DateTime<Utc>,
    team: &str,
) -> Vec<Process> {
    let mut first = Process::with_extra(emu, prompt, sync, "20s", "1h", "", team);
    first
        .env
        .push(("STANDUP_LEASE_TTL_SECS".into(), LEASE_SECS.into()));
    first.set_members(users);
    let second = first.replica();
    let third = first.replica();
    vec![first, second, third]
}

/// The members' updates the thread in the team channel holds (replies, the parent left out).
fn thread_replies(emu: &Emulator) -> usize {
    count(emu, CHANNEL, |m| m.thread_ts.is_some())
}

/// Slack's limits with the emulator's tiers, except that the three replicas' Socket Mode
/// connections may open at once: tier 1 (`apps.connections.open`) is one a minute in the
/// emulator, which would make each replica after the first wait a minute to connect. Slack's
/// rate-limits page gives tier 1 as "1+ per minute ... A small amount of burst behavior is
/// tolerated" (docs.slack.dev/apis/web-api/rate-limits). Here it is three a minute: the
/// emulator's bucket holds a minute's calls, so three may go at once, and no more.
fn slack_limits_for_three() -> RateLimits {
    let mut limits = RateLimits::default();
    limits.tier_per_minute[0] = 3;
    limits
}

/// Each replica paces by its own count alone would let three bursts into one channel at once:
/// Slack (the emulator) answers 429s and the retries meet more. Shared, the three replicas'
/// posts into the thread go at the channel's one a second (a burst of two first, one short of
/// what Slack lets through), none refused; every member is prompted and confirmed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_slacks_limits_on_three_replicas_posting_into_one_channel_meet_no_429_storm() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let users: Vec<String> = (0..9).map(|i| format!("U0PACE{i:04}")).collect();
    let emu =
        Emulator::start(workspace_of(&users).with_rate_limits(slack_limits_for_three())).await;
    let t0 = Utc::now();
    let mut bots = replicas_of(
        &emu,
        &users,
        t0 + chrono::Duration::seconds(4),
        t0 + chrono::Duration::minutes(30),
        "updates = \"thread\"",
    );
    start_all(&mut bots);
    wait_until("three Socket Mode connections", WAIT, || {
        emu.live_connections() == 3
    })
    .await;
    for user in &users {
        wait_prompted(&emu, user).await;
    }
    // The replies arrive together, round-robin over the three connections: three replicas
    // each post their members' updates into the one thread (opened by the first of them).
    let replied = std::time::Instant::now();
    for (i, user) in users.iter().enumerate() {
        emu.send_event(events::dm_message(
            user,
            &format!("Shipped:\n- paced item {i}"),
        ))
        .ack(WAIT)
        .await
        .expect("acked");
    }
    wait_until("every update in the thread", WAIT, || {
        thread_replies(&emu) == users.len()
    })
    .await;
    let took = replied.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let limited: Vec<(String, usize)> =
        ["chat.postMessage", "chat.update", "conversations.replies"]
            .into_iter()
            .map(|m| (m.to_string(), emu.rate_limited_count_for(m)))
            .collect();
    assert_eq!(
        emu.rate_limited_count(),
        0,
        "429s by method: {limited:?}\n{}",
        logs(&bots)
    );
    for user in &users {
        let dm = emu.dm_channel(user);
        assert_eq!(prompts_to(&emu, user), 1, "prompts to {user}");
        assert_eq!(
            count(&emu, &dm, |m| text_has(m, "Got it.")),
            1,
            "confirmations to {user}"
        );
    }
    assert_eq!(thread_replies(&emu), users.len(), "one update each");
    // Ten posts into the channel (the thread's parent first): a burst of two, then one a
    // second.
    assert!(
        took >= Duration::from_secs(5),
        "the thread's posts were not paced: all in {took:?}"
    );
    eprintln!(
        "{} updates posted into one thread by three replicas in {took:?}",
        users.len()
    );
    stop_all(&mut bots);
}

/// Slack answers one replica's post with 429 and `Retry-After: 3`: the block is written to the
/// database, and the other replicas' posts (other members' confirmations, into other channels)
/// wait it out instead of meeting Slack's limit again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_answered_to_one_replica_holds_back_the_others_for_its_retry_after() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let mut bots = started(&emu, 4, chrono::Duration::minutes(30)).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = emu.calls_to("chat.postMessage").len();
    emu.fail_next(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 3,
        },
    );
    emu.send_event(events::dm_message(MARIA, "Shipped:\n- met a 429"))
        .ack(WAIT)
        .await
        .expect("acked");
    wait_until("the confirmation answered 429", WAIT, || {
        emu.rate_limited_count_for("chat.postMessage") == 1
    })
    .await;
    let limited_at = emu.calls_to("chat.postMessage")[before].at;
    wait_until("the block in the database", WAIT, || {
        bots[0].db().int(
            "SELECT count(*) FROM slack_rates WHERE key = 'method:chat.postMessage'
               AND blocked_until > EXTRACT(EPOCH FROM clock_timestamp())",
            &[],
        ) == 1
    })
    .await;
    // Round-robin: these two go to the other two replicas.
    for (user, text) in [
        (KENJI, "Shipped:\n- waited"),
        (LI, "Shipped:\n- waited too"),
    ] {
        emu.send_event(events::dm_message(user, text))
            .ack(WAIT)
            .await
            .expect("acked");
    }
    for user in [MARIA, KENJI, LI] {
        emu.wait_for_message(&emu.dm_channel(user), |m| text_has(m, "Got it."), WAIT)
            .await;
    }
    let after: Vec<Duration> = emu.calls_to("chat.postMessage")[before + 1..]
        .iter()
        .map(|c| c.at.saturating_duration_since(limited_at))
        .collect();
    assert_eq!(after.len(), 3, "one retry and two confirmations: {after:?}");
    // The block ends three seconds after the database learnt of the 429, which was after it.
    assert!(
        after.iter().all(|d| *d >= Duration::from_millis(2950)),
        "posts after the 429 (since it): {after:?}\n{}",
        logs(&bots)
    );
    assert_eq!(emu.rate_limited_count(), 1, "no 429 but the scripted one");
    for user in [MARIA, KENJI, LI] {
        assert_eq!(
            count(&emu, &emu.dm_channel(user), |m| text_has(m, "Got it.")),
            1,
            "confirmations to {user}"
        );
    }
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_waits_while_another_has_the_teams_notes_then_posts_them_once() {
    if !postgres_only("replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    // The notes are due 8 s from now (20 s before the meeting).
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::seconds(3),
        t0 + chrono::Duration::seconds(28),
    );
    bots.truncate(1);
    bots[0].start();
    wait_leader(&bots).await;
    // Another replica is posting (or refreshing) the team's notes.
    let other = bots[0].db().hold_lease("notes:orbit");
    wait_until("the replica waiting for the notes' turn", WAIT, || {
        bots[0]
            .log()
            .contains("another replica is posting this team's notes")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        emu.files().is_empty(),
        "notes posted while another replica had them: {:?}",
        emu.files()
    );
    // That replica is gone: its turn passes at once, and the notes go out once.
    other.let_go();
    wait_file(&emu, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(emu.files().len(), 1, "{}", logs(&bots));
    stop_all(&mut bots);
}

/// A free local port for a replica's HTTP endpoints.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_command_sent_to_two_replicas_is_accepted_once_and_refused_as_a_replay() {
    if !postgres_only("two replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::hours(1),
        t0 + chrono::Duration::hours(2),
    );
    bots.truncate(2);
    let mut urls = Vec::new();
    for bot in bots.iter_mut() {
        let addr = format!("127.0.0.1:{}", free_port());
        bot.start_with(&["--http", &addr]);
        urls.push(format!("http://{addr}"));
    }
    for bot in &bots {
        wait_until("the replica serving HTTP", WAIT, || {
            bot.log().contains("serving Slack's HTTP endpoints")
        })
        .await;
    }
    let client = |url: &str| {
        SignedClient::new(url, SIGNING_SECRET).with_paths(
            "/slack/events",
            "/slack/commands",
            "/slack/interactions",
        )
    };
    let fields = emu.slash_command_fields("/standup", "help", MARIA, CHANNEL);
    let first = client(&urls[0]).command(fields).send().await.unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    // The same bytes, timestamp and signature, captured and sent to the other replica.
    let mut copy = first.request.clone();
    copy.url = copy.url.replacen(&urls[0], &urls[1], 1);
    let replay = client(&urls[1]).replay(&copy).await.unwrap();
    assert_eq!(replay.status, 401, "{}\n{}", replay.body, logs(&bots));
    assert!(replay.body.contains("replayed request"), "{}", replay.body);
    // A new request is still welcome there.
    let fields = emu.slash_command_fields("/standup", "help", MARIA, CHANNEL);
    let fresh = client(&urls[1]).command(fields).send().await.unwrap();
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_the_config_teams_and_prunes() {
    if !postgres_only("two replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::hours(1),
        t0 + chrono::Duration::hours(2),
    );
    bots.truncate(2);
    // The second replica runs by another config: the team under another name.
    bots[1].edit_config(|text| text.replace("Team Orbit", "Team Orbit B"));
    bots[0].start();
    wait_until("the first replica leading", WAIT, || {
        bots[0].log().contains("pruned old data (leader)")
    })
    .await;
    let name = |bots: &[Process]| {
        bots[0]
            .db()
            .text("SELECT name FROM teams WHERE id = 'orbit'", &[])
    };
    assert_eq!(name(&bots), "Team Orbit");
    // An event handled long ago, whose payload a leader's pruning forgets.
    bots[0].db().rows(
        "INSERT INTO inbox (event_id, payload, received_at, handled_at)
         VALUES ('Ev0LONGAGO', '{\"old\": true}', '2020-01-06T09:00:00.000Z', '2020-01-06T09:00:01.000Z')",
        &[],
    );
    let payload = |bots: &[Process]| {
        bots[0].db().text(
            "SELECT payload FROM inbox WHERE event_id = 'Ev0LONGAGO'",
            &[],
        )
    };

    bots[1].start();
    wait_until("the second replica connected", WAIT, || {
        emu.live_connections() == 2
    })
    .await;
    // And its config changes while it follows: reloaded, but not written.
    bots[1].edit_config(|text| text.replace("Team Orbit B", "Team Orbit C"));
    wait_until("the follower's reload", WAIT, || {
        bots[1].log().contains("config reloaded")
    })
    .await;
    assert!(
        bots[1]
            .log()
            .contains("the teams in the database are left to the leader"),
        "{}",
        bots[1].log()
    );
    assert_eq!(name(&bots), "Team Orbit", "a follower wrote the teams");
    assert_eq!(payload(&bots), "{\"old\": true}", "a follower pruned");
    assert!(!bots[1].log().contains("pruned old data"));

    // The leader stops: the follower takes the lead, writes its config and prunes.
    bots[0].stop();
    wait_until("the second replica leading and pruning", WAIT, || {
        bots[1].log().contains("pruned old data (leader)")
    })
    .await;
    assert_eq!(name(&bots), "Team Orbit C");
    assert_eq!(payload(&bots), "");
    stop_all(&mut bots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_set_up_through_a_follower_is_written_by_the_leader_and_run_by_both() {
    if !postgres_only("two replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    const APOLLO: &str = "C0APOLLO01";
    const BOSS: &str = "U0BOSS0001";
    let emu = Emulator::start(
        team_workspace(&[User::new(BOSS, "boss").admin()])
            .with_channel(Channel::new(APOLLO, "team-apollo").members(&[LI, BOSS])),
    )
    .await;
    let t0 = Utc::now();
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::hours(1),
        t0 + chrono::Duration::hours(2),
    );
    bots.truncate(2);
    for (i, bot) in bots.iter_mut().enumerate() {
        bot.start();
        wait_until("the replica on Socket Mode", WAIT, || {
            emu.live_connections() == i + 1
        })
        .await;
    }
    let leader = wait_leader(&bots).await;
    let follower = 1 - leader;

    emu.send_slash_command("/standup", "setup", BOSS, APOLLO)
        .ack(WAIT)
        .await
        .expect("acked");
    let view = emu.views().last().expect("the setup form").clone();
    let form = emu
        .submit_view(
            BOSS,
            &view.id,
            &[
                ("name", "Team Apollo"),
                ("members", LI),
                ("prompt_time", "08:30"),
                ("meet_days", "Tue"),
                ("meet_time", "11:00"),
                ("timezone", "UTC"),
                ("format", "Standup (last week / this week)"),
            ],
        )
        .expect("the form takes these");
    emu.send_interaction_on(follower, form)
        .ack(WAIT)
        .await
        .expect("acked");
    // The follower keeps the team and runs by it, but leaves the teams' rows to the leader,
    // which picks the new team up from the database and writes it.
    wait_until("the leader's reload", WAIT, || {
        bots[leader].log().contains(
            "config reloaded (the teams set up from Slack changed): team team-apollo: added",
        )
    })
    .await;
    wait_until("the team written", WAIT, || {
        bots[0]
            .db()
            .int("SELECT count(*) FROM teams WHERE id = 'team-apollo'", &[])
            == 1
    })
    .await;
    let follows = bots[follower].log();
    assert!(
        follows.contains("team team-apollo set up from Slack by U0BOSS0001")
            && follows.contains("the teams in the database are left to the leader"),
        "{}",
        logs(&bots)
    );
    stop_all(&mut bots);
}

/// README: a leader stopped with SIGTERM gives its lease up, so another replica leads at once
/// instead of when the lease would have run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_with_sigterm_hands_its_lease_over_before_it_would_run_out() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::days(3),
        t0 + chrono::Duration::days(4),
    );
    // A lease far longer than the test waits: a successor within the wait was handed it.
    for bot in bots.iter_mut() {
        bot.env.retain(|(k, _)| k != "STANDUP_LEASE_TTL_SECS");
        bot.env
            .push(("STANDUP_LEASE_TTL_SECS".into(), "120".into()));
    }
    start_all(&mut bots);
    let first = wait_leader(&bots).await;
    let lease = |bots: &[Process], sql: &str| bots[0].db().int(sql, &[]);
    let epoch = lease(&bots, "SELECT epoch FROM leases WHERE name = 'scheduler'");
    let left = lease(
        &bots,
        "SELECT CAST(EXTRACT(EPOCH FROM expires_at - now()) AS BIGINT) FROM leases WHERE name = 'scheduler'",
    );
    assert!(left > 60, "the lease has {left} s left");

    bots[first].stop();
    assert!(
        bots[first].log().contains("released the scheduler's lease"),
        "{}",
        bots[first].log()
    );
    let deadline = std::time::Instant::now() + WAIT;
    let next = loop {
        if let Some(i) = leader_among(&bots, &[first]) {
            break i;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no successor within {WAIT:?} of the leader's SIGTERM, with {left} s left on its lease:\n{}",
            logs(&bots)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(next, first);
    assert_eq!(
        lease(&bots, "SELECT epoch FROM leases WHERE name = 'scheduler'"),
        epoch + 1,
        "the successor's epoch follows"
    );
    stop_all(&mut bots);
}

fn signal(which: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([which, pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_connects_again_when_postgresql_drops_its_connections() {
    if !postgres_only("PostgreSQL's connections dropped by the server") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let (prompt, sync) = (
        t0 + chrono::Duration::seconds(4),
        t0 + chrono::Duration::minutes(30),
    );
    let mut bots = replicas(&emu, prompt, sync);
    bots.truncate(1);
    start_all(&mut bots);
    wait_prompted(&emu, MARIA).await;
    // What a server restart or a failover does to the bot's connections.
    let dropped = bots[0].db().int(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
        &[],
    );
    assert!(dropped >= 2, "the bot's connections: {dropped}");
    for (user, text) in [
        (MARIA, "Shipped:\n- after the drop"),
        (KENJI, "Next:\n- still here"),
    ] {
        emu.send_event(events::dm_message(user, text))
            .ack(WAIT)
            .await
            .expect("acked: stored on a new connection");
        emu.wait_for_message(&emu.dm_channel(user), |m| text_has(m, "Got it."), WAIT)
            .await;
    }
    assert!(
        bots[0].log().contains("reconnected to PostgreSQL"),
        "{}",
        bots[0].log()
    );
    bots[0].stop();
}

/// A measurement, not a check (run by hand, figures in docs/BENCHMARKS.md): the time from
/// SIGKILL of the leader to a successor's "leading" line, over 20 kills, with three replicas and
/// the lease's time to live from `STANDUP_LEASE_TTL_SECS` (the default 15 s when unset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: STANDUP_TEST_POSTGRES=… cargo test --test it -- --ignored --nocapture failover"]
async fn failover_time_over_20_kills() {
    if !postgres_only("three replicas share one PostgreSQL database") {
        return;
    }
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    // A prompt every 6 s (each firing is a job per member), so a job is due just after each kill.
    const EVERY: i64 = 6;
    let mut first = Process::new(
        &emu,
        t0 + chrono::Duration::days(3),
        t0 + chrono::Duration::days(4),
        "20s",
        "1h",
    );
    first.edit_config(|text| {
        text.lines()
            .map(|l| {
                if l.starts_with("prompt = ") {
                    format!("prompt = \"*/{EVERY} * * * * *\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let ttl = std::env::var("STANDUP_LEASE_TTL_SECS").unwrap_or_else(|_| "15".into());
    first
        .env
        .push(("STANDUP_LEASE_TTL_SECS".into(), ttl.clone()));
    let mut bots = vec![first.replica(), first.replica(), first];
    start_all(&mut bots);
    // Each replica's log from its latest start: an older run's lines are history.
    let mut since = vec![0usize; bots.len()];
    let lines_since = |bot: &Process, from: usize| bot.log().get(from..).unwrap_or("").to_string();
    let leads = |log: &str| {
        log.matches("leading: this replica runs the scheduler")
            .count()
    };
    let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (mut to_leading, mut to_job) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let current = loop {
            let found: Vec<usize> = (0..bots.len())
                .filter(|i| {
                    let log = lines_since(&bots[*i], since[*i]);
                    leads(&log) > log.matches("no longer leading").count()
                })
                .collect();
            if found.len() == 1 {
                break found[0];
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let before: Vec<usize> = (0..bots.len())
            .map(|i| leads(&lines_since(&bots[i], since[i])))
            .collect();
        // Killed 100 ms before a firing (at least 2 s away): the job is the successor's.
        let now = Utc::now().timestamp_millis();
        let period = EVERY * 1000;
        let mut firing = (now / period + 1) * period;
        if firing - now < 2000 {
            firing += period;
        }
        tokio::time::sleep(Duration::from_millis((firing - 100 - now) as u64)).await;
        let killed_at = Utc::now();
        bots[current].kill();
        let db = bots[(current + 1) % bots.len()].db();
        let first_job = loop {
            let started = db
                .rows(
                    "SELECT min(started_at) FROM jobs WHERE started_at > $1",
                    &[&stamp(killed_at)],
                )
                .first()
                .and_then(|r| r[0].opt_text());
            if let Some(at) = started {
                break chrono::DateTime::parse_from_rfc3339(&at).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        to_job.push((first_job.with_timezone(&Utc) - killed_at).num_milliseconds());
        let successor_line = (0..bots.len())
            .filter(|i| *i != current)
            .find_map(|i| {
                let log = lines_since(&bots[i], since[i]);
                (leads(&log) > before[i]).then(|| {
                    log.lines()
                        .rfind(|l| l.contains("leading: this replica runs the scheduler"))
                        .unwrap()
                        .to_string()
                })
            })
            .expect("the replica that ran the job leads");
        let led: String = strip_ansi(&successor_line)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let led_at = chrono::DateTime::parse_from_rfc3339(&led).unwrap();
        to_leading.push((led_at.with_timezone(&Utc) - killed_at).num_milliseconds());
        since[current] = bots[current].log().len();
        bots[current].start();
        wait_until("the replica back on Socket Mode", WAIT, || {
            emu.live_connections() == 3
        })
        .await;
    }
    for (what, took) in [
        ("to the successor's leading line", &mut to_leading),
        ("to the first job of the new epoch", &mut to_job),
    ] {
        took.sort_unstable();
        eprintln!(
            "failover {what} (lease {ttl} s, 20 kills): median {} ms, min {} ms, max {} ms; all: {took:?}",
            took[took.len() / 2],
            took[0],
            took[took.len() - 1]
        );
    }
    stop_all(&mut bots);
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A measurement, not a check (figures in docs/BENCHMARKS.md): the statements one DM reply costs
/// the database on PostgreSQL, from its store to its confirmation, counted in the server's own
/// statement log. Needs a server logging every statement with the database and application
/// named (`log_statement = 'all'`, `log_line_prefix = '%m [%p] %d %a '`) and `PG_LOG`, the path
/// of its log file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: PG_LOG=… STANDUP_TEST_POSTGRES=… cargo test --test it -- --ignored --nocapture round_trips"]
async fn round_trips_per_reply() {
    if !postgres_only("counts PostgreSQL's statements") {
        return;
    }
    let log_path = std::env::var("PG_LOG").expect("PG_LOG: the server's log file");
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let mut bots = replicas(
        &emu,
        t0 + chrono::Duration::seconds(4),
        t0 + chrono::Duration::hours(3),
    );
    bots.truncate(1);
    start_all(&mut bots);
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let line = bots[0].db().config_line();
    let database = line
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let mut counts = Vec::new();
    for (n, user) in [MARIA, KENJI, LI, ZOE].into_iter().enumerate() {
        let from = std::fs::metadata(&log_path).unwrap().len() as usize;
        emu.send_event(events::dm_message(user, &format!("Shipped:\n- item {n}")))
            .ack(WAIT)
            .await
            .expect("acked");
        let dm = emu.dm_channel(user);
        emu.wait_for_message(&dm, |m| text_has(m, "Got it."), WAIT)
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let log = std::fs::read(&log_path).unwrap();
        let text = String::from_utf8_lossy(&log[from..]).to_string();
        let statements: Vec<&str> = text
            .lines()
            // Debian's log_line_prefix writes `user@database`; a plain `%d` writes it alone.
            .filter(|l| {
                l.contains(&format!("@{database} ")) || l.contains(&format!(" {database} "))
            })
            .filter(|l| l.contains("statement:") || l.contains("execute"))
            // The lease's renewal and the look for orphaned events run on their own clock.
            .filter(|l| !l.contains("leases") && !l.contains("FOR UPDATE SKIP LOCKED"))
            .collect();
        counts.push(statements.len());
        if n == 0 {
            eprintln!("{}", statements.join("\n"));
        }
    }
    eprintln!("statements per reply (store to confirmation), 4 replies: {counts:?}");
    bots[0].stop();
}
