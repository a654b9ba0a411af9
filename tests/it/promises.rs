//! README promises that no other test covered, end to end against the emulator, on the test
//! clock: the *Out of office* button, `/standup skip` and `unblock`, the Home tab's *Resolve*,
//! clicks and forms in HTTP mode, deactivated and bot members, a `holidays_file`, a prompt at a
//! member's own time, and a reminder held by quiet hours on the member's clock.

use chrono::{Duration, Timelike};
use slack_emulator::{Channel, Emulator, EmulatorConfig, SignedClient, User, events};

use crate::support::*;

fn today_at(bot: &Bot, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    bot.now()
        .with_hour(h)
        .and_then(|t| t.with_minute(m))
        .and_then(|t| t.with_second(0))
        .unwrap()
}

fn prompt_ts(emu: &Emulator, user: &str) -> String {
    emu.messages(&emu.dm_channel(user))
        .into_iter()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains("update for")))
        .expect("a prompt")
        .ts
}

/// The prompt and reminders in `user`'s DM.
fn asked(emu: &Emulator, user: &str) -> usize {
    emu.messages(&emu.dm_channel(user))
        .into_iter()
        .filter_map(|m| m.text)
        .filter(|t| t.contains("update for"))
        .count()
}

fn job(bot: &Bot, kind: &str, user: &str) -> (String, String, Option<String>) {
    let row = bot.db().row(
        "SELECT state, fire_at, started_at FROM jobs WHERE member = $1 AND kind = $2",
        &[user, kind],
    );
    (row[0].text(), row[1].text(), row[2].opt_text())
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_office_button_skip_and_unblock_keep_a_cycle_honest() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    bot.run_until(today_at(&bot, 9, 0)).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(asked(&emu, user), 1, "{user} prompted at 09:00");
    }
    let date = bot.now().date_naive();

    let dm = emu.dm_channel(MARIA);
    let click = emu
        .click(MARIA, &dm, &prompt_ts(&emu, MARIA), "out_of_office")
        .expect("the prompt offers Out of office");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text.as_deref().is_some_and(|t| {
                t.starts_with("OK, marked out of office") && t.contains(&date.to_string())
            })
        },
        WAIT,
    )
    .await;
    assert_eq!(
        command(&emu, ZOE, "skip").await,
        "OK, you are skipping this cycle: no reminders until the next one."
    );
    emu.send_event(events::dm_message(KENJI, "Blocked:\n• waiting on infra"))
        .ack(WAIT)
        .await
        .expect("acked");
    bot.events_handled().await;
    assert_eq!(
        command(&emu, KENJI, "unblock").await,
        "Resolved: waiting on infra"
    );
    assert_eq!(
        command(&emu, LI, "blocked").await,
        "No open blockers. :tada:"
    );
    wait_until("the flag marked resolved", WAIT, || {
        emu.messages(CHANNEL).iter().any(|m| {
            m.text.as_deref().is_some_and(|t| {
                t.starts_with(":white_check_mark:") && t.contains("waiting on infra")
            })
        })
    })
    .await;

    // 11:00: li is reminded; maria (out of office) and zoe (skipping) are not.
    bot.run_until(today_at(&bot, 11, 0)).await;
    assert_eq!(asked(&emu, LI), 2);
    for user in [MARIA, ZOE] {
        assert_eq!(asked(&emu, user), 1, "{user}: the prompt only");
        assert_eq!(job(&bot, "remind", user).0, "skipped");
    }
    // 14:30: the notes say maria is out of office; zoe's skip is not an absence.
    bot.run_until(today_at(&bot, 14, 30)).await;
    let notes = notes_file(&emu, &bot, |_| true).await;
    assert!(notes.contains("@maria\n- 🌴 Out of office\n"), "{notes}");
    assert!(notes.contains("@zoe\n\n"), "{notes}");
    bot.stop().await;
}

/// A flag in the channel for `text`: open (`Some(false)`), marked resolved (`Some(true)`).
fn flag_state(emu: &Emulator, text: &str) -> Option<bool> {
    emu.messages(CHANNEL)
        .into_iter()
        .filter_map(|m| m.text)
        .find(|t| t.contains(text))
        .map(|t| t.starts_with(":white_check_mark:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_tabs_resolve_button_resolves_the_blocker_everywhere() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    bot.run_until(today_at(&bot, 9, 0)).await;
    emu.send_event(events::dm_message(KENJI, "Blocked:\n• waiting on infra"))
        .ack(WAIT)
        .await
        .expect("acked");
    bot.events_handled().await;
    wait_until("the blocker flagged", WAIT, || {
        flag_state(&emu, "waiting on infra") == Some(false)
    })
    .await;

    // Kenji opens his Home tab: his open blocker has a Resolve button, which he clicks.
    emu.send_event(emu.app_home_opened(KENJI, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    wait_until("a Resolve button in kenji's Home", WAIT, || {
        emu.click_in_home(KENJI, "resolve_blocker", None).is_ok()
    })
    .await;
    let click = emu
        .click_in_home(KENJI, "resolve_blocker", None)
        .expect("a Resolve button");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    bot.events_handled().await;

    // The flag says so, nobody sees it open, and his Home no longer offers it.
    wait_until("the flag marked resolved", WAIT, || {
        flag_state(&emu, "waiting on infra") == Some(true)
    })
    .await;
    assert_eq!(
        command(&emu, LI, "blocked").await,
        "No open blockers. :tada:"
    );
    wait_until("kenji's Home without the open blocker", WAIT, || {
        emu.click_in_home(KENJI, "resolve_blocker", None).is_err()
    })
    .await;
    // The notes list it among the resolved blockers, not under kenji's Blocked.
    bot.run_until(today_at(&bot, 14, 30)).await;
    let notes = notes_file(&emu, &bot, |_| true).await;
    let (_, resolved) = notes
        .split_once("## Resolved blockers")
        .unwrap_or_else(|| panic!("a Resolved blockers section: {notes}"));
    assert!(resolved.contains("waiting on infra"), "{notes}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_and_bot_members_are_never_prompted_or_reminded() {
    let emu = Emulator::start(
        EmulatorConfig::default()
            .with_user(User::new(MARIA, "maria"))
            .with_user(User::new(KENJI, "kenji"))
            .with_user(User::new(LI, "li").bot())
            .with_user(User::new(ZOE, "zoe").deleted())
            .with_channel(Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI])),
    )
    .await;
    let mut bot = Bot::builder(&emu).start().await;
    bot.run_until(today_at(&bot, 11, 0)).await;
    for user in [MARIA, KENJI] {
        assert_eq!(asked(&emu, user), 2, "{user}: a prompt and a reminder");
    }
    for user in [LI, ZOE] {
        assert!(
            emu.messages(&emu.dm_channel(user)).is_empty(),
            "{user} got a DM"
        );
        assert_eq!(job(&bot, "prompt", user).0, "skipped");
        assert_eq!(job(&bot, "remind", user).0, "skipped");
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holidays_file_keeps_prompts_away_and_the_notes_say_holiday() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu)
        .team("holidays_file = \"holidays.ics\"")
        .build();
    let day = bot.now().date_naive();
    std::fs::write(
        bot.dir.path().join("holidays.ics"),
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//standup-bot tests//EN\r\n\
             BEGIN:VEVENT\r\nUID:holiday-1@standup-bot.test\r\nDTSTAMP:20261201T000000Z\r\n\
             DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Team holiday\r\n\
             END:VEVENT\r\nEND:VCALENDAR\r\n",
            day.format("%Y%m%d"),
            (day + chrono::Days::new(1)).format("%Y%m%d")
        ),
    )
    .unwrap();
    bot.start().await;
    bot.run_until(today_at(&bot, 14, 30)).await;
    for (user, handle) in [(MARIA, "maria"), (KENJI, "kenji"), (LI, "li"), (ZOE, "zoe")] {
        assert_eq!(asked(&emu, user), 0, "{user} prompted on a holiday");
        assert_eq!(job(&bot, "prompt", user).0, "skipped");
        let notes = notes_file(&emu, &bot, |_| true).await;
        assert!(
            notes.contains(&format!("@{handle}\n- 🌴 Holiday\n")),
            "{notes}"
        );
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_per_member_timezone_a_prompt_comes_at_the_members_own_time() {
    // Maria lives in Berlin (UTC+1 in winter); the others in UTC, the team's zone.
    let emu = emulator().await;
    let seven = monday_8am() - Duration::hours(1);
    let mut bot = Bot::builder(&emu)
        .clock_at(seven)
        .per_member_timezone()
        .start()
        .await;
    // 08:00 UTC is 09:00 in Berlin: maria alone.
    bot.run_until(seven + Duration::hours(1)).await;
    assert_eq!(asked(&emu, MARIA), 1);
    assert_eq!(job(&bot, "prompt", MARIA).1, ts(seven + Duration::hours(1)));
    assert_eq!(asked(&emu, KENJI), 0, "kenji prompted at Berlin's nine");
    // 09:00 UTC: the others.
    bot.run_until(seven + Duration::hours(2)).await;
    assert_eq!(asked(&emu, KENJI), 1);
    assert_eq!(asked(&emu, MARIA), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_in_quiet_hours_waits_until_they_end_on_the_members_clock() {
    // Maria lives in Berlin: "11:00-13:00" on her clock is 10:00-12:00 UTC, so her 11:00 UTC
    // reminder waits until 12:00 UTC (on the team's clock it would wait until 13:00).
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).build();
    bot.edit_config(|text| {
        text.replace(
            "handle = \"maria\" }",
            "handle = \"maria\", quiet_hours = \"11:00-13:00\" }",
        )
    });
    bot.start().await;
    bot.run_until(today_at(&bot, 11, 0)).await;
    assert_eq!(asked(&emu, KENJI), 2, "kenji reminded at 11:00");
    assert_eq!(asked(&emu, MARIA), 1, "maria's reminder held");
    bot.run_until(today_at(&bot, 12, 0)).await;
    assert_eq!(
        asked(&emu, MARIA),
        2,
        "maria reminded when her quiet hours end"
    );
    let (state, fire_at, started_at) = job(&bot, "remind", MARIA);
    assert_eq!(state, "done");
    assert_eq!(fire_at, ts(today_at(&bot, 11, 0)));
    assert_eq!(
        started_at.as_deref(),
        Some(ts(today_at(&bot, 12, 0)).as_str())
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_and_form_submissions_work_in_http_mode() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).http().start().await;
    bot.run_until(today_at(&bot, 9, 0)).await;
    let client = SignedClient::new(&bot.url(), SIGNING_SECRET).with_paths(
        "/slack/events",
        "/slack/commands",
        "/slack/interactions",
    );
    let dm = emu.dm_channel(MARIA);
    let click = emu
        .click(MARIA, &dm, &prompt_ts(&emu, MARIA), "answer_form")
        .expect("the prompt offers the form");
    assert_eq!(client.post_interaction(&click).await.unwrap().status, 200);
    emu.wait_for_call("views.open", |_| true, WAIT).await;
    let view_id = emu.views().last().expect("a view").id.clone();
    let form = emu
        .submit_view(MARIA, &view_id, &[("Shipped", "the exporter\nthe docs")])
        .expect("the form has a Shipped box");
    assert_eq!(client.post_interaction(&form).await.unwrap().status, 200);
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it. 🚢 Shipped: 2 items"))
        },
        WAIT,
    )
    .await;
    let dm = emu.dm_channel(ZOE);
    let click = emu
        .click(ZOE, &dm, &prompt_ts(&emu, ZOE), "out_of_office")
        .expect("the prompt offers Out of office");
    assert_eq!(client.post_interaction(&click).await.unwrap().status, 200);
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("OK, marked out of office"))
        },
        WAIT,
    )
    .await;
    bot.stop().await;
}

/// README: a database serves one workspace; a bot started on it with another workspace's token
/// stops with one line before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_another_workspace_is_refused_before_anything_is_sent() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    bot.stop().await;
    let team = emu.config().team_id.clone();
    assert_eq!(
        bot.db()
            .text("SELECT workspace FROM workspace_binding", &[]),
        team
    );
    // As if the database had been first used by a bot of another workspace.
    bot.db()
        .change("UPDATE workspace_binding SET workspace = 'T0SOMEWHERE'");
    let sent = emu.all_messages().len();
    let err = bot
        .try_start()
        .await
        .expect_err("another workspace's database");
    assert!(
        err.contains(&format!(
            "this database belongs to Slack workspace T0SOMEWHERE, but the bot token is for workspace {team}"
        )) && !err.contains('\n'),
        "{err}"
    );
    assert_eq!(emu.all_messages().len(), sent, "nothing sent");
    assert_eq!(
        bot.db()
            .int("SELECT count(*) FROM teams WHERE workspace <> $1", &[&team]),
        0,
        "the rows stay the first workspace's"
    );
}
