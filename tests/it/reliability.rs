//! Reliability and security, end to end: the real bot binary against the emulator, with Slack
//! redelivering, misbehaving and being hostile, and the database filling up. Each test names
//! the row of docs/RELIABILITY.md it backs.

use std::time::Duration;

use crate::support::*;
use chrono::Utc;
use serde_json::{Value, json};
use slack_emulator::{Emulator, Fault, SignedClient, events};

/// A member's confirmations ("Got it. ...") in their DM.
fn confirmations(emu: &Emulator, user: &str) -> usize {
    emu.messages(&emu.dm_channel(user))
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it")))
        .count()
}

/// Revisions stored for all replies, read from the bot's database.
fn stored_revisions(bot: &Bot, needle: &str) -> i64 {
    // Whether the text holds the needle, in both engines and case-sensitive as `instr` was.
    bot.db().int(
        "SELECT count(*) FROM replies WHERE replace(text, $1, '') <> text",
        &[needle],
    )
}

/// An `events_api` envelope for an event callback, as Slack frames it.
fn envelope(callback: &Value, envelope_id: &str, attempt: u64) -> String {
    json!({
        "envelope_id": envelope_id,
        "type": "events_api",
        "payload": callback,
        "accepts_response_payload": false,
        "retry_attempt": attempt,
        "retry_reason": if attempt > 0 { "timeout" } else { "" },
    })
    .to_string()
}

/// An in-process bot with no prompt due during the test (its clock stays at 08:00; the
/// prompt is at 09:00).
fn idle_bot(emu: &Emulator, database: &str, team: &str) -> Bot {
    Bot::builder(emu).database(database).team(team).build()
}

/// The real binary, with no prompt due during the test (the prompt is a day away).
fn idle_process(emu: &Emulator, database: &str, team: &str) -> Process {
    let later = Utc::now() + chrono::Duration::days(1);
    Process::with_extra(
        emu,
        later,
        later + chrono::Duration::hours(2),
        "30m",
        "1h",
        database,
        team,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_events_are_applied_once_even_after_a_restart() {
    let emu = emulator().await;
    let mut bot = idle_bot(&emu, "", "");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "{}", bot.log());

    let callback = emu.event_callback(events::dm_message(MARIA, "*Shipped*\n- token-a1"));
    emu.send_raw(&envelope(&callback, "env-1", 0));
    wait_until("the confirmation", WAIT, || confirmations(&emu, MARIA) == 1).await;

    // Slack's redelivery (retry_attempt 1) and the same event over another connection (a new
    // envelope id): both acked, neither applied.
    emu.send_raw(&envelope(&callback, "env-1", 1));
    emu.send_raw(&envelope(&callback, "env-2", 0));
    wait_until("acks of both copies", WAIT, || {
        let acks = emu.acks();
        acks.iter().filter(|a| a.envelope_id == "env-1").count() == 2
            && acks.iter().any(|a| a.envelope_id == "env-2")
    })
    .await;

    // After a restart the event id is still known.
    bot.stop().await;
    bot.start().await;
    assert!(emu.wait_connections_opened(2, WAIT).await, "{}", bot.log());
    emu.send_raw(&envelope(&callback, "env-3", 2));
    wait_until("the ack after the restart", WAIT, || {
        emu.acks().iter().any(|a| a.envelope_id == "env-3")
    })
    .await;
    // A later, different message still gets through, so the bot is not just ignoring things.
    emu.send_event(events::dm_message(KENJI, "*Shipped*\n- token-k1"))
        .ack(WAIT)
        .await
        .expect("acked");
    wait_until("kenji's confirmation", WAIT, || {
        confirmations(&emu, KENJI) == 1
    })
    .await;
    bot.stop().await;

    assert_eq!(
        confirmations(&emu, MARIA),
        1,
        "one confirmation for one event"
    );
    assert_eq!(stored_revisions(&bot, "token-a1"), 1, "one stored revision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_retries_of_an_event_are_applied_once() {
    let emu = emulator().await;
    // The listener is bound before the bot starts and handed to it: the port is never free.
    let mut bot = Bot::builder(&emu).http().start().await;
    let client = SignedClient::new(&bot.url(), SIGNING_SECRET).with_paths(
        "/slack/events",
        "/slack/commands",
        "/slack/interactions",
    );
    let callback = emu.event_callback(events::dm_message(LI, "*Shipped*\n- token-l1"));
    let first = client.event(&callback).send().await.unwrap();
    assert_eq!(first.status, 200);
    // Slack's retries carry a new timestamp and signature and X-Slack-Retry-Num.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for n in 1..=2 {
        let again = client
            .event(&callback)
            .retry(n, "http_timeout")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status, 200, "retry {n}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    wait_until("the confirmation", WAIT, || confirmations(&emu, LI) == 1).await;
    bot.events_handled().await;
    bot.stop().await;
    assert_eq!(confirmations(&emu, LI), 1);
    assert_eq!(stored_revisions(&bot, "token-l1"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_commands_and_clicks_are_harmless() {
    let emu = emulator().await;
    let mut bot = idle_bot(&emu, "", "");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "{}", bot.log());

    for _ in 0..2 {
        let answer = emu
            .send_slash_command("/standup", "blocked waiting for the VPN", KENJI, CHANNEL)
            .ack(WAIT)
            .await
            .expect("acked");
        assert!(answer.to_string().contains("Flagged"), "{answer}");
    }
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("waiting for the VPN"))
            },
            WAIT,
        )
        .await;
    // A click delivered twice (Slack's redelivery) and a second click by the same person.
    let click = emu
        .click(KENJI, CHANNEL, &flag.ts, "resolve_blocker")
        .expect("the flag offers Resolve");
    let first = emu.send_interaction(click.clone());
    first.ack(WAIT).await.expect("acked");
    emu.redeliver(&first);
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    wait_until("the flag marked resolved", WAIT, || {
        emu.messages(CHANNEL)
            .iter()
            .any(|m| m.text.as_deref().is_some_and(|t| t.contains("resolved by")))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flags: Vec<_> = emu
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.ephemeral_to.is_none())
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("VPN")))
        .collect();
    assert_eq!(flags.len(), 1, "one flag for a blocker raised twice");
    assert_eq!(
        emu.calls_to("chat.update").len(),
        1,
        "the flag edited once for three clicks"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_and_admins_get_in_and_secrets_stay_out() {
    let stranger = "U0STRANGER";
    let emu = emulator_with(&[slack_emulator::User::new(stranger, "stranger")]).await;
    let mut bot = idle_bot(&emu, "", &format!("admins = [\"{MARIA}\"]"));
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "{}", bot.log());

    // A DM from someone in no team: a polite explanation, nothing stored.
    emu.send_event(events::dm_message(stranger, "*Shipped*\n- token-s1"))
        .ack(WAIT)
        .await
        .expect("acked");
    let hello = emu
        .wait_for_message(&emu.dm_channel(stranger), |m| m.text.is_some(), WAIT)
        .await;
    assert!(hello.text.unwrap().contains("not a member"));

    // Their commands are refused the same way, blockers of the team included.
    for text in [
        "blocked",
        "blocked let me in",
        "status",
        "preview",
        "post orbit",
    ] {
        let answer = emu
            .send_slash_command("/standup", text, stranger, CHANNEL)
            .ack(WAIT)
            .await
            .expect("acked");
        let said = answer["text"].as_str().unwrap_or_default();
        assert!(
            said.contains("not a member") || said.contains("Only the admins"),
            "`{text}`: {answer}"
        );
    }

    // A member who is not an admin cannot post or preview; the admin can.
    for text in ["post", "preview orbit"] {
        let answer = emu
            .send_slash_command("/standup", text, KENJI, CHANNEL)
            .ack(WAIT)
            .await
            .expect("acked");
        assert!(
            answer["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Only the admins"),
            "{answer}"
        );
    }
    let preview = emu
        .send_slash_command("/standup", "preview", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(
        preview["text"].as_str().unwrap_or_default().contains("```"),
        "{preview}"
    );

    // Nobody resolves someone else's blocker.
    emu.send_slash_command("/standup", "blocked the build is red", KENJI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("the build is red"))
            },
            WAIT,
        )
        .await;
    let click = emu
        .click(LI, CHANNEL, &flag.ts, "resolve_blocker")
        .expect("the flag offers Resolve");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("Only the person who is blocked"))
        },
        WAIT,
    )
    .await;
    assert!(
        emu.calls_to("chat.update").is_empty(),
        "the flag was not touched"
    );
    bot.stop().await;

    assert_eq!(
        stored_revisions(&bot, "token-s1"),
        0,
        "nothing stored for a stranger"
    );
    let db = bot.db().contents();
    let log = bot.log();
    for secret in [
        bot.bot_token.as_str(),
        bot.app_token.as_str(),
        SIGNING_SECRET,
    ] {
        assert!(!log.contains(secret), "a secret in the log");
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret in the database"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_comes_back_after_every_kind_of_disconnect() {
    let emu = emulator().await;
    let mut bot = idle_bot(&emu, "", "");
    bot.timings = quick_timings();
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "{}", bot.log());

    let mut opened = 1;
    let mut n = 0;
    let mut still_serving = |emu: &Emulator| {
        n += 1;
        let text = format!("*Shipped*\n- after-{n}");
        emu.send_event(events::dm_message(MARIA, &text))
    };
    for reason in ["refresh_requested", "warning", "too_many_websockets"] {
        emu.disconnect(reason);
        opened += 1;
        assert!(
            emu.wait_connections_opened(opened, WAIT).await,
            "no reconnect after `{reason}`; log:\n{}",
            bot.log()
        );
        still_serving(&emu)
            .ack(WAIT)
            .await
            .expect("acked after reconnect");
    }
    // A connection that just drops, and then an apps.connections.open that never answers.
    emu.fail_next("apps.connections.open", Fault::Hang);
    emu.drop_connection();
    opened += 1;
    assert!(
        emu.wait_connections_opened(opened, WAIT).await,
        "no reconnect after a drop and a hanging open; log:\n{}",
        bot.log()
    );
    still_serving(&emu)
        .ack(WAIT)
        .await
        .expect("acked after reconnect");
    // A connection that goes silent without closing: only the watchdog can tell.
    assert_eq!(emu.freeze_connection(), 1);
    opened += 1;
    assert!(
        emu.wait_connections_opened(opened, WAIT).await,
        "the watchdog did not replace a silent connection; log:\n{}",
        bot.log()
    );
    still_serving(&emu)
        .ack(WAIT)
        .await
        .expect("acked after reconnect");
    assert!(bot.running(), "the bot kept running");
    bot.stop().await;
    let log = bot.log();
    assert!(
        log.contains("scheduler stopped"),
        "graceful shutdown; log:\n{log}"
    );
    assert!(log.contains("too_many_websockets"), "the refusal is logged");
    assert!(log.contains("watchdog: nothing from Slack"), "{log}");
    assert!(
        log.matches("reconnected to Slack over Socket Mode").count() >= 5,
        "a reconnect after each of the five disconnects; log:\n{log}"
    );
    assert_eq!(
        stored_revisions(&bot, "after-"),
        5,
        "every DM sent between the disconnects is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_app_token_is_a_clear_fatal_error() {
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = emulator().await;
    let mut bot = idle_process(&emu, "", "");
    bot.app_token = "xapp-1-not-the-right-one".into();
    bot.start();
    wait_until("the bot to exit", WAIT, || !bot.running()).await;
    let log = bot.log();
    assert!(log.contains("Slack rejected SLACK_APP_TOKEN"), "{log}");
    assert!(
        !log.contains("xapp-1-not-the-right-one"),
        "the token value is not shown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_errors_for_one_member_or_channel_do_not_stop_the_rest() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    // A member Slack does not know (user_not_found), and a prompt whose post hangs once.
    let mut bot = Bot::builder(&emu).prompt_at(nine).build();
    // The hung post is given up after the shortened call timeout, not Slack's 10 s.
    bot.timings = quick_timings();
    bot.edit_config(|config| {
        config.replace(
            "members = [",
            "members = [\n  { user = \"U0GHOST001\", handle = \"ghost\" },",
        )
    });
    // The first prompt's post never answers (a timeout), then Slack refuses two posts and a
    // profile lookup with errors it sends for a removed bot or a deactivated token.
    emu.fail_next("chat.postMessage", Fault::Hang);
    emu.fail_next(
        "chat.postMessage",
        Fault::SlackError("not_in_channel".into()),
    );
    emu.fail_next("chat.postMessage", Fault::Status(503));
    emu.fail_next("users.info", Fault::SlackError("account_inactive".into()));
    bot.start().await;
    // Failed jobs are tried again 5 s later, up to 5 times: a minute covers them all.
    bot.run_until(nine + chrono::Duration::minutes(1)).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted once");
    }
    let log = bot.log();
    assert!(
        log.contains("user_not_found"),
        "the unknown member is logged: {log}"
    );
    // The bot still answers.
    emu.send_slash_command("/standup", "status", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_events_unacked_and_keeps_serving() {
    if !sqlite_only("max_size_mb caps the SQLite file") {
        return;
    }
    let emu = emulator().await;
    let mut bot = idle_bot(&emu, "max_size_mb = 1", "");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "{}", bot.log());
    let big = "- a long line of work done this week\n".repeat(2_500); // ~90 KB
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..40 {
        let user = [MARIA, KENJI, LI, ZOE][i % 4];
        let text = format!("*Shipped*\n- full-{i}\n{big}");
        let handle = emu.send_event(events::dm_message(user, &text));
        match handle.ack(Duration::from_secs(4)).await {
            Some(_) => acked.push(i),
            None => {
                refused = Some((i, handle));
                break;
            }
        }
    }
    let (refused, handle) = refused.expect("the database never filled");
    assert!(acked.len() >= 2, "only {} events fitted", acked.len());
    let log = bot.log();
    assert!(
        log.contains("cannot store an event") && log.contains("the disk is full"),
        "{log}"
    );
    // Still serving what needs no new space.
    let status = emu
        .send_slash_command("/standup", "status", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(status.to_string().contains("Team Orbit"), "{status}");
    assert!(bot.running());
    bot.stop().await;
    assert_eq!(stored_revisions(&bot, &format!("full-{refused}\n")), 0);

    // With room again: what was acknowledged but not yet applied is applied from the inbox at
    // start, and Slack's redelivery of the refused event is taken.
    bot.edit_config(|config| config.replace("max_size_mb = 1", ""));
    bot.start().await;
    assert!(emu.wait_connections_opened(2, WAIT).await, "{}", bot.log());
    emu.redeliver(&handle);
    handle.acked(WAIT).await.expect("the redelivery acked");
    let everything: Vec<usize> = acked.iter().copied().chain([refused]).collect();
    wait_until("every update stored once", Duration::from_secs(30), || {
        everything
            .iter()
            .all(|i| stored_revisions(&bot, &format!("full-{i}\n")) == 1)
    })
    .await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_team_is_prompted_within_slacks_limits_without_429s() {
    const N: usize = 300;
    let users: Vec<String> = (0..N).map(|i| format!("U0BIG{i:05}")).collect();
    let config = workspace_of(&users).with_rate_limits(slack_emulator::RateLimits::default());
    let emu = Emulator::start(config).await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let mut bot = Bot::builder(&emu).prompt_at(nine).build();
    bot.set_members(&users);
    bot.start().await;
    let started = std::time::Instant::now();
    // The fan-out is paced by Slack's limits in real time; the scheduler's round ends with it.
    bot.run_until(nine).await;
    let took = started.elapsed();
    bot.stop().await;
    for u in &users {
        assert_eq!(prompts_to(&emu, u), 1, "{u} prompted once");
    }
    assert_eq!(emu.rate_limited_count(), 0, "no 429 from Slack");
    assert_eq!(emu.calls_to("users.list").len(), 1, "one users.list");
    assert!(
        emu.calls_to("users.info").is_empty(),
        "no users.info per member"
    );
    println!("{N} members prompted in {took:?} after the prompt time");
}

/// Slack's `Retry-After` on a 429 is the wait before the next attempt, not the client's own
/// backoff (250 ms first); a 5xx gets the backoff. Both calls then succeed without a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_what_retry_after_says_and_a_5xx_the_backoff() {
    use standup_bot::config::Secret;
    use standup_bot::slack::client::{Api, Policy};

    let emu = emulator_with(&[]).await;
    let policy = Policy {
        paced: false,
        ..Policy::default()
    };
    let api = Api::new(
        &emu.api_url(),
        &Secret::new(emu.config().bot_token.clone()),
        policy,
    )
    .expect("api");

    emu.fail_next(
        "auth.test",
        Fault::RateLimited {
            retry_after_secs: 2,
        },
    );
    api.auth_test().await.expect("auth.test after the 429");
    let calls = emu.calls_to("auth.test");
    assert_eq!(calls.len(), 2, "one retry after the 429");
    let waited = calls[1].at - calls[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "waited {waited:?}, Retry-After was 2 s"
    );

    emu.fail_next("auth.test", Fault::Status(503));
    api.auth_test().await.expect("auth.test after the 503");
    let calls = emu.calls_to("auth.test");
    assert_eq!(calls.len(), 4, "one retry after the 503");
    let waited = calls[3].at - calls[2].at;
    assert!(
        waited >= policy.backoff.first,
        "waited {waited:?}, the first backoff is {:?}",
        policy.backoff.first
    );
}
