//! Sends that may or may not have reached Slack, driven step by step: the bot's app (as
//! `standup-bot run` builds it, with a 1-second Slack timeout) against the emulator, with the
//! emulator answering late, refusing a post, or refusing the lookup that would settle it.
//!
//! - a thread reply that Slack posted but answered too late for is found in its thread
//!   (`conversations.replies`), in the same run and after a failed check, and never posted twice;
//! - a flag Slack refuses does not stop the next blocker's flag;
//! - a send whose lookup keeps failing (`missing_scope`) is given up after a bounded number of
//!   lookups and shown to the team's admins in `/standup status` with what to do.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{CHANNEL, KENJI, LI, MARIA, ONE_AT_A_TIME, TestDb, ZOE, new_database};
use chrono::Utc;
use slack_emulator::{Emulator, Fault, User};
use standup_bot::app::{App, Dm};
use standup_bot::config::{Config, Secret};
use standup_bot::slack::client::{Api, Policy};
use standup_core::domain::{ChannelId, UserId};
use standup_core::render::Renderer;

/// A team admin who is in no team.
const ADMIN: &str = "U0ADMIN001";
/// Slack's client timeout in these tests (they run alone, so a call on loopback takes
/// milliseconds); a late answer takes three times as long.
const TIMEOUT: Duration = Duration::from_millis(500);
const LATE_BY: Duration = Duration::from_millis(1500);
const LATE: Fault = Fault::LateAnswer(LATE_BY);
/// A call that goes through untouched (the fault queues are per method, in call order).
const PASS: Fault = Fault::Delay(Duration::ZERO);

struct Setup {
    emu: Emulator,
    app: Arc<App>,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

/// The app for team `orbit` (`team_extra` added to its table), nothing scheduled.
async fn setup(team_extra: &str) -> Setup {
    let emu = crate::support::emulator_with(&[User::new(ADMIN, "admin")]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = new_database(
        dir.path(),
        &dir.path().join("standup.db").display().to_string(),
    );
    let toml = format!(
        r#"
[database]
{db_line}

[slack]
api_url = "{api}"

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "{CHANNEL}"
format = "planning"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
admins = ["{ADMIN}"]
{team_extra}
members = [
  {{ user = "{MARIA}", handle = "maria" }},
  {{ user = "{KENJI}", handle = "kenji" }},
  {{ user = "{LI}", handle = "li" }},
  {{ user = "{ZOE}", handle = "zoe" }},
]
"#,
        db_line = db.config_line(),
        api = emu.api_url(),
    );
    let config = Config::from_str(&toml, &dir.path().join("standup.toml")).expect("config");
    let store = standup_bot::app::setup::open_store(&config).expect("store");
    let store = standup_bot::store::Db::start(store).expect("the store starts");
    // One attempt per call and no pacing: each scripted fault meets exactly one call.
    let policy = Policy {
        timeout: TIMEOUT,
        attempts: 1,
        paced: false,
        ..Policy::default()
    };
    let api = Api::new(
        &config.slack.api_url,
        &Secret::new(emu.config().bot_token.clone()),
        policy,
    )
    .expect("api");
    let app = App::new(
        config,
        store,
        Renderer::new(),
        api,
        UserId::new(emu.config().bot_user_id.clone()),
        Arc::new(standup_bot::app::clock::SystemClock),
    );
    Setup {
        emu,
        app,
        _dir: dir,
        _db: db,
    }
}

/// `user`'s DM `text`, handled as the Slack adapter hands it over.
async fn dm(s: &Setup, user: &str, ts: &str, text: &str) -> standup_bot::app::Result<()> {
    let channel = ChannelId::new(s.emu.dm_channel(user));
    let user = UserId::new(user);
    standup_bot::app::reply::direct_message(
        &s.app,
        &Dm {
            user: &user,
            channel: &channel,
            ts,
            version: ts,
            text,
            edited: false,
            replace: false,
        },
    )
    .await
}

/// Messages in the team channel (and its threads) whose text contains `needle`.
fn in_channel(emu: &Emulator, needle: &str) -> usize {
    emu.messages(CHANNEL)
        .iter()
        .filter(|m| m.ephemeral_to.is_none())
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .count()
}

fn ts() -> String {
    let now = Utc::now();
    format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_reply_slack_posted_late_is_found_in_its_thread_not_posted_again() {
    let _turn = ONE_AT_A_TIME.write().await;
    let s = setup("updates = \"thread\"\nblocker_flags = \"thread\"").await;
    // Kenji's reply: the confirmation and the thread's parent go through; his update's reply
    // in the thread is posted by Slack but answered after the bot's timeout.
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next("chat.postMessage", LATE);
    dm(&s, KENJI, &ts(), "In progress:\n- exporter")
        .await
        .expect("handled");
    let parent = s
        .emu
        .messages(CHANNEL)
        .into_iter()
        .find(|m| m.thread_ts.is_none())
        .expect("the cycle's thread");
    let replies: Vec<_> = s
        .emu
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("exporter")))
        .collect();
    assert_eq!(replies.len(), 1, "kenji's update is in the thread once");
    let lookups = s.emu.calls_to("conversations.replies");
    assert_eq!(lookups.len(), 1, "the reply was looked up in its thread");
    assert_eq!(
        lookups[0].param("include_all_metadata").as_deref(),
        Some("true")
    );
    assert_eq!(lookups[0].param("ts").as_deref(), Some(parent.ts.as_str()));

    // Maria's reply is posted late too, and the first lookup fails: the send stays uncertain
    // and the event fails (the adapter retries it). Handled again, her reply is found in the
    // thread, not posted a second time.
    let maria_ts = ts();
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next("chat.postMessage", LATE);
    s.emu.fail_next(
        "conversations.replies",
        Fault::SlackError("internal_error".into()),
    );
    let first = dm(&s, MARIA, &maria_ts, "In progress:\n- importer").await;
    assert!(
        first.is_err(),
        "an unsettled send fails the event: {first:?}"
    );
    dm(&s, MARIA, &maria_ts, "In progress:\n- importer")
        .await
        .expect("handled the second time");
    assert_eq!(in_channel(&s.emu, "importer"), 1, "maria's update once");
    assert_eq!(in_channel(&s.emu, "exporter"), 1, "kenji's update once");
    assert_eq!(
        s.emu.calls_to("conversations.history").len(),
        0,
        "thread replies are not looked for in the channel's history"
    );

    // A blocker flag in the thread, posted late, is found the same way (after li's
    // confirmation and her update's reply).
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next("chat.postMessage", LATE);
    dm(&s, LI, &ts(), "Blocked:\n- waiting on review access")
        .await
        .expect("handled");
    let flags = s
        .emu
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .filter(|m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("is blocked: waiting on review access"))
        })
        .count();
    assert_eq!(flags, 1, "the flag is in the thread once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_slack_refuses_does_not_stop_the_next_one() {
    let _turn = ONE_AT_A_TIME.write().await;
    let s = setup("").await;
    // The confirmation goes through; the first blocker's flag is refused.
    s.emu.fail_next("chat.postMessage", PASS);
    s.emu.fail_next(
        "chat.postMessage",
        Fault::SlackError("not_in_channel".into()),
    );
    let kenji_ts = ts();
    let text = "Blocked:\n- waiting on review access\n- staging is down";
    let outcome = dm(&s, KENJI, &kenji_ts, text).await;
    assert!(outcome.is_err(), "the refusal is reported: {outcome:?}");
    assert_eq!(in_channel(&s.emu, "is blocked: staging is down"), 1);
    assert_eq!(
        in_channel(&s.emu, "is blocked: waiting on review access"),
        0
    );

    // Handled again (the adapter's retry), the refused flag is posted and nothing twice.
    dm(&s, KENJI, &kenji_ts, text).await.expect("handled");
    assert_eq!(
        in_channel(&s.emu, "is blocked: waiting on review access"),
        1
    );
    assert_eq!(in_channel(&s.emu, "is blocked: staging is down"), 1);
    let confirmations = s
        .emu
        .messages(&s.emu.dm_channel(KENJI))
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it")))
        .count();
    assert_eq!(confirmations, 1, "kenji is confirmed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_cannot_be_checked_is_given_up_and_shown_to_admins() {
    let _turn = ONE_AT_A_TIME.write().await;
    let s = setup("").await;
    // The flag is posted but answered late, and every lookup of the channel's history is
    // refused: the app lacks the scope.
    for _ in 0..20 {
        s.emu.fail_next(
            "conversations.history",
            Fault::SlackError("missing_scope".into()),
        );
    }
    s.emu.fail_next("chat.postMessage", LATE);
    let kenji = UserId::new(KENJI);
    let reply =
        standup_bot::app::commands::command(&s.app, &kenji, "blocked waiting on review access")
            .await;
    assert!(
        reply.text.contains("could not post it"),
        "kenji is told his blocker is noted but not posted: {}",
        reply.text
    );
    tokio::time::sleep(LATE_BY).await;
    let team = s.app.config().teams[0].clone();
    for _ in 0..10 {
        let _ = standup_bot::app::flags::sync_flags(&s.app, &team).await;
    }
    let lookups = s.emu.calls_to("conversations.history").len();
    assert_eq!(
        lookups,
        standup_bot::app::MAX_CHECKS as usize,
        "looked up a bounded number of times"
    );
    assert_eq!(
        in_channel(&s.emu, "waiting on review access"),
        1,
        "the flag Slack did post is not posted again"
    );

    // The admin sees what was not sent, Slack's error and what to do; a member does not.
    let status = standup_bot::app::commands::command(&s.app, &UserId::new(ADMIN), "status").await;
    assert!(
        status.text.contains("Not sent: a blocker's flag"),
        "{}",
        status.text
    );
    assert!(status.text.contains("missing_scope"), "{}", status.text);
    assert!(status.text.contains("channels:history"), "{}", status.text);
    let member = standup_bot::app::commands::command(&s.app, &kenji, "status").await;
    assert!(!member.text.contains("Not sent"), "{}", member.text);

    // A later blocker is flagged as usual.
    standup_bot::app::commands::command(&s.app, &UserId::new(LI), "blocked staging is down").await;
    assert_eq!(in_channel(&s.emu, "is blocked: staging is down"), 1);
    assert_eq!(
        s.emu.calls_to("conversations.history").len(),
        lookups,
        "the given-up flag is not looked up again"
    );
}
