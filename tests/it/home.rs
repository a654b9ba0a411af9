//! App Home and onboarding as users meet them: the real `standup-bot run` binary against the
//! local Slack emulator, driven with Slack's own `app_home_opened`, `member_joined_channel`,
//! `block_actions` and `view_submission` payloads.

use std::time::{Duration, Instant};

use crate::support::*;
use chrono::{Timelike, Utc};
use serde_json::Value;
use slack_emulator::{Emulator, User, events};

const STRANGER: &str = "U0STRANGE1";
const NEWBIE: &str = "U0NEWBIE01";
/// What only an introduction says.
const INTRO: &str = "I am the standup bot of *Team Orbit*";

/// Waits for a Home view published for `user` whose JSON satisfies `check`; returns it.
async fn wait_home(emu: &Emulator, user: &str, check: impl Fn(&str) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = emu.views().into_iter().rev().find(|v| {
            v.method == "views.publish"
                && v.user_id.as_deref() == Some(user)
                && check(&v.view.to_string())
        });
        if let Some(view) = found {
            return view.view;
        }
        let published: Vec<String> = emu
            .views()
            .iter()
            .filter(|v| v.user_id.as_deref() == Some(user))
            .map(|v| v.view.to_string())
            .collect();
        assert!(
            Instant::now() < deadline,
            "no matching Home for {user}; published: {published:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn homes_published(emu: &Emulator, user: &str) -> usize {
    emu.views()
        .iter()
        .filter(|v| v.method == "views.publish" && v.user_id.as_deref() == Some(user))
        .count()
}

/// The text of every section block of a view, joined.
fn view_text(view: &Value) -> String {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            b["text"]["text"]
                .as_str()
                .or_else(|| b["elements"][0]["text"].as_str())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An in-process bot whose team is prompted daily two hours from now and met an hour ago, on a
/// clock that stands at the wall clock's now: nothing is prompted or posted during a test.
///
/// The clock starts at the wall clock because Slack's message ts are the wall clock's: an edit
/// from the Home tab is versioned by the bot's clock, and a DM sent after it must be newer.
fn quiet_bot(emu: &Emulator, team: &str) -> (Bot, chrono::DateTime<Utc>) {
    let t0 = Utc::now().with_nanosecond(0).unwrap();
    let daily = |t: chrono::DateTime<Utc>| format!("0 {} {} * * *", t.minute(), t.hour());
    let bot = Bot::builder(emu)
        .clock_at(t0)
        .prompt(&daily(t0 + chrono::Duration::hours(2)))
        .sync(&daily(t0 - chrono::Duration::hours(1)))
        .team(team)
        .build();
    (bot, t0 + chrono::Duration::hours(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_shows_the_update_and_edit_replaces_it() {
    let emu = emulator_with(&[User::new(STRANGER, "stranger")]).await;
    // No prompt or post during the test: the member answers on their own.
    let (mut bot, _) = quiet_bot(&emu, "");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // Maria answers by DM, with a blocker.
    let maria_dm = emu.dm_channel(MARIA);
    emu.send_event(events::dm_message(
        MARIA,
        "Shipped:\n• the exporter\n    ◦ with tests\nBlocked:\n• waiting on &lt;review&gt; &amp; CI",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_message(
        &maria_dm,
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
        WAIT,
    )
    .await;
    assert_eq!(
        homes_published(&emu, MARIA),
        0,
        "no Home before it is opened"
    );

    // She opens the Home tab: her team, the cycle, her update, an Edit button, her blocker.
    emu.send_event(emu.app_home_opened(MARIA, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    let home = wait_home(&emu, MARIA, |_| true).await;
    assert_eq!(home["type"], "home");
    let text = view_text(&home);
    assert!(text.contains("Team Orbit"), "{text}");
    assert!(text.contains("You answered · 1 of 4 answered"), "{text}");
    assert!(
        text.contains("*🚢 Shipped*\n• the exporter\n\u{2003}◦ with tests"),
        "{text}"
    );
    assert!(
        text.contains(":no_entry: waiting on &lt;review&gt; &amp; CI _(open "),
        "user text is escaped: {text}"
    );
    let json = home.to_string();
    assert!(json.contains(r#""action_id":"resolve_blocker""#), "{json}");
    assert!(text.contains("/standup help"), "a help line: {text}");
    let edit = home["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "home_edit")
        .expect("an Edit button");
    let value = edit["value"].as_str().unwrap().to_string();
    assert!(value.starts_with("orbit|"), "{value}");

    // Edit opens the form prefilled with her update, one box per section.
    emu.send_interaction(
        emu.click_in_home(MARIA, "home_edit", Some(&value))
            .expect("the Home has this Edit button"),
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
    let initial = |block: &str| -> Option<String> {
        form.view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == block)
            .and_then(|b| b["element"]["initial_value"].as_str())
            .map(str::to_string)
    };
    assert_eq!(
        initial("Shipped").as_deref(),
        Some("- the exporter\n    - with tests")
    );
    assert_eq!(
        initial("Blocked").as_deref(),
        Some("- waiting on <review> & CI")
    );
    assert_eq!(
        initial("Next"),
        None,
        "an empty section has no initial value"
    );

    // She changes it: the blocker goes, a line and a section come.
    let submitted = emu
        .submit_view(
            MARIA,
            &form.id,
            &[
                ("Shipped", "- the exporter\n    - with tests\n- the docs"),
                ("Blocked", ""),
                ("Next", "- ship it"),
            ],
        )
        .expect("the form has these boxes");
    // Her edit comes after her DM, by the bot's clock too.
    bot.catch_up_with_slack();
    emu.send_interaction(submitted)
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &maria_dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it. 🚢 Shipped: 3 items, ⏭ Next: 1 item."))
        },
        WAIT,
    )
    .await;

    // Her Home follows: the new update, no open blocker.
    let home = wait_home(&emu, MARIA, |v| v.contains("the docs")).await;
    let text = view_text(&home);
    assert!(text.contains("*⏭ Next*\n• ship it"), "{text}");
    assert!(!text.contains("waiting on"), "{text}");
    // The blocker's flag in the channel says it was resolved.
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("~") && t.contains("resolved by a later update"))
        },
        WAIT,
    )
    .await;

    // The compiled notes have the edited update, and the DM it replaced is not added to it.
    let notes = bot.cli(&["compile", "--team", "orbit"]);
    assert!(
        notes.contains(
            "@maria\n- 🚢 Shipped:\n    - the exporter\n        - with tests\n    - the docs\n- ⏭ Next:\n    - ship it\n\n@kenji"
        ),
        "{notes}"
    );
    // The blocker the replaced DM raised is listed only as resolved, not in the update.
    let (updates, resolved) = notes
        .split_once("## Resolved blockers")
        .expect("the blocker resolved by the edit is listed");
    assert!(!updates.contains("waiting on"), "{notes}");
    assert!(resolved.contains("waiting on"), "{notes}");

    // A DM after the edit adds to it.
    emu.send_event(events::dm_message(MARIA, "Questions:\n• shall we demo?"))
        .ack(WAIT)
        .await
        .expect("acked");
    wait_home(&emu, MARIA, |v| v.contains("shall we demo?")).await;
    let notes = bot.cli(&["compile", "--team", "orbit"]);
    assert!(notes.contains("    - the docs"), "{notes}");
    assert!(notes.contains("shall we demo?"), "{notes}");

    // A member without an update is asked for one.
    emu.send_event(emu.app_home_opened(KENJI, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    let home = wait_home(&emu, KENJI, |_| true).await;
    let text = view_text(&home);
    assert!(
        text.contains("You have not answered yet · 1 of 4 answered"),
        "{text}"
    );
    assert!(home.to_string().contains("Write your update"), "{home}");

    // A stranger learns how to join; the Messages tab publishes nothing.
    emu.send_event(emu.app_home_opened(STRANGER, "messages"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.send_event(emu.app_home_opened(STRANGER, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    let home = wait_home(&emu, STRANGER, |_| true).await;
    let text = view_text(&home);
    assert!(text.contains("You are not in any team yet"), "{text}");
    assert!(text.contains(STRANGER), "names their member id: {text}");
    assert_eq!(homes_published(&emu, STRANGER), 1);
    bot.stop().await;
}

fn intros_to(emu: &Emulator, user: &str) -> Vec<String> {
    emu.messages(&emu.dm_channel(user))
        .into_iter()
        .filter_map(|m| m.text)
        .filter(|t| t.contains(INTRO))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_introduces_each_member_once() {
    let emu = emulator_with(&[User::new(NEWBIE, "newbie")]).await;
    let (mut bot, prompt_time) = quiet_bot(&emu, "");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // A configured member joins the channel: they are introduced.
    let li_joins = emu.send_event(emu.member_joined_channel(LI, CHANNEL, Some(MARIA)));
    li_joins.ack(WAIT).await.expect("acked");
    let li_dm = emu.dm_channel(LI);
    let intro = emu
        .wait_for_message(
            &li_dm,
            |m| m.text.as_deref().is_some_and(|t| t.contains(INTRO)),
            WAIT,
        )
        .await;
    let text = intro.text.unwrap();
    for expected in [
        &format!(
            "at {:02}:{:02} every day, UTC time",
            prompt_time.hour(),
            prompt_time.minute()
        ),
        "🚢 Shipped, 🚧 In progress, ⛔\u{fe0f} Blocked, ⏭ Next",
        "```🚢 Shipped:\n- the importer",
        &format!("<#{CHANNEL}>"),
        "30 minutes before",
        "`/standup status`",
        "`/standup help`",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(!text.contains("update for"), "an intro is not a prompt");
    let metadata = intro.metadata.expect("keyed in metadata").to_string();
    assert!(
        metadata.contains(&format!("intro:orbit:{LI}")),
        "{metadata}"
    );
    assert_eq!(prompts_to(&emu, LI), 0);

    // The bot is invited to the channel: everyone else is introduced, Li not again.
    let bot_joins =
        emu.send_event(emu.member_joined_channel(&emu.config().bot_user_id, CHANNEL, Some(MARIA)));
    bot_joins.ack(WAIT).await.expect("acked");
    for user in [MARIA, KENJI, ZOE] {
        emu.wait_for_message(
            &emu.dm_channel(user),
            |m| m.text.as_deref().is_some_and(|t| t.contains(INTRO)),
            WAIT,
        )
        .await;
    }
    // Redeliveries and later joins repeat nothing.
    emu.redeliver(&bot_joins);
    emu.redeliver(&li_joins);
    emu.send_event(emu.member_joined_channel(&emu.config().bot_user_id, CHANNEL, None))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.send_event(emu.member_joined_channel(KENJI, CHANNEL, None))
        .ack(WAIT)
        .await
        .expect("acked");
    // Someone in no team joins: nothing.
    emu.send_event(emu.member_joined_channel(NEWBIE, CHANNEL, None))
        .ack(WAIT)
        .await
        .expect("acked");
    // Every event acked so far is handled: nothing more can come of them.
    bot.events_handled().await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(intros_to(&emu, user).len(), 1, "{user}");
    }
    assert!(intros_to(&emu, NEWBIE).is_empty());

    // A restart repeats nothing.
    bot.stop().await;
    bot.start().await;
    assert!(
        emu.wait_connections_opened(2, WAIT).await,
        "log:\n{}",
        bot.log()
    );
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(intros_to(&emu, user).len(), 1, "{user}");
    }

    // A member added to the config is introduced at the next start, once.
    bot.stop().await;
    bot.edit_config(|text| {
        text.replace(
            &format!("  {{ user = \"{ZOE}\", handle = \"zoe\" }},\n"),
            &format!(
                "  {{ user = \"{ZOE}\", handle = \"zoe\" }},\n  {{ user = \"{NEWBIE}\", handle = \"newbie\" }},\n"
            ),
        )
    });
    bot.start().await;
    // Introductions start alongside the connection: wait for both before stopping, or a stop
    // that comes before the connection leaves one fewer opened than counted below.
    assert!(
        emu.wait_connections_opened(3, WAIT).await,
        "log:\n{}",
        bot.log()
    );
    emu.wait_for_message(
        &emu.dm_channel(NEWBIE),
        |m| m.text.as_deref().is_some_and(|t| t.contains(INTRO)),
        WAIT,
    )
    .await;
    bot.stop().await;
    bot.start().await;
    assert!(
        emu.wait_connections_opened(4, WAIT).await,
        "log:\n{}",
        bot.log()
    );
    for user in [MARIA, KENJI, LI, ZOE, NEWBIE] {
        assert_eq!(intros_to(&emu, user).len(), 1, "{user}");
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_and_home_can_be_turned_off() {
    let emu = emulator().await;
    let (mut bot, _) = quiet_bot(&emu, "home = false\nonboarding = false");
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    emu.send_event(emu.member_joined_channel(&emu.config().bot_user_id, CHANNEL, Some(MARIA)))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.send_event(emu.app_home_opened(MARIA, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(intros_to(&emu, MARIA).is_empty());
    assert_eq!(homes_published(&emu, MARIA), 0);
    bot.stop().await;
}
