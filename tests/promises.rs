//! README promises that no other test covered, end to end against the emulator: the *Out of
//! office* button, `/standup skip` and `unblock`, the Home tab's *Resolve*, clicks and forms in
//! HTTP mode, deactivated and bot members, and a `holidays_file`.

mod support;

use chrono::{Timelike, Utc};
use slack_emulator::{Channel, Emulator, EmulatorConfig, SignedClient, User, events};
use support::*;

/// `/standup <text>` from `user` in the team channel: the answer in the ack.
async fn command(emu: &Emulator, user: &str, text: &str) -> String {
    let answer = emu
        .send_slash_command("/standup", text, user, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    answer["text"].as_str().unwrap_or_default().to_string()
}

/// The text of a user's DM that starts with `start`, waited for.
async fn wait_dm(emu: &Emulator, user: &str, start: &str) -> String {
    emu.wait_for_message(
        &emu.dm_channel(user),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with(start)),
        WAIT,
    )
    .await
    .text
    .unwrap_or_default()
}

/// The latest completed notes document.
async fn wait_notes(emu: &Emulator) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        if let Some(f) = emu.files().into_iter().rev().find(|f| f.completed) {
            return f.content;
        }
        assert!(std::time::Instant::now() < deadline, "no notes posted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn prompt_ts(emu: &Emulator, user: &str) -> String {
    emu.messages(&emu.dm_channel(user))
        .into_iter()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains("update for")))
        .expect("a prompt")
        .ts
}

/// Messages in `user`'s DM that are the prompt or a reminder.
fn asked(emu: &Emulator, user: &str) -> Vec<String> {
    emu.messages(&emu.dm_channel(user))
        .into_iter()
        .filter_map(|m| m.text)
        .filter(|t| t.contains("update for"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_office_button_skip_and_unblock_keep_a_cycle_honest() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    // Prompts at t0+3 s, reminders at t0+15 s, the notes at t0+25 s.
    let sync = t0 + chrono::Duration::seconds(45);
    let mut bot = Bot::new(&emu, t0 + chrono::Duration::seconds(3), sync, "20s", "12s");
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    for user in [MARIA, KENJI, LI, ZOE] {
        wait_prompted(&emu, user).await;
    }
    let date = sync.date_naive();

    // Maria clicks *Out of office* on her prompt.
    let dm = emu.dm_channel(MARIA);
    let click = emu
        .click(MARIA, &dm, &prompt_ts(&emu, MARIA), "out_of_office")
        .expect("the prompt offers Out of office");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    let told = wait_dm(&emu, MARIA, "OK, marked out of office").await;
    assert!(told.contains(&format!("for the {date} meeting")), "{told}");

    // Zoe skips with the command.
    let skip = command(&emu, ZOE, "skip").await;
    assert_eq!(
        skip,
        "OK, you are skipping this cycle: no reminders until the next one."
    );

    // Kenji is blocked, then unblocks himself.
    emu.send_event(events::dm_message(KENJI, "Blocked:\n• waiting on infra"))
        .ack(WAIT)
        .await
        .expect("acked");
    let flagged = |m: &slack_emulator::Message| {
        m.text
            .as_deref()
            .is_some_and(|t| t.contains("is blocked: waiting on infra"))
    };
    let flag = emu.wait_for_message(CHANNEL, flagged, WAIT).await;
    assert!(
        command(&emu, LI, "blocked")
            .await
            .contains("waiting on infra")
    );
    assert_eq!(
        command(&emu, KENJI, "unblock").await,
        "Resolved: waiting on infra"
    );
    assert_eq!(
        command(&emu, LI, "blocked").await,
        "No open blockers. :tada:"
    );
    // The flag in the channel says so, in place.
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.ts == flag.ts
                && m.text.as_deref().is_some_and(|t| {
                    t.starts_with(":white_check_mark:") && t.contains("waiting on infra")
                })
        },
        WAIT,
    )
    .await;

    // Li said nothing and is reminded; maria and zoe, away for this cycle, are not: their
    // reminder jobs ran and were skipped.
    emu.wait_for_message(
        &emu.dm_channel(LI),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Reminder")),
        WAIT,
    )
    .await;
    for user in [MARIA, ZOE] {
        wait_jobs(&bot, "remind", user, "skipped", 1).await;
        assert_eq!(asked(&emu, user).len(), 1, "{user}: the prompt only");
    }

    // The notes say maria is out of office; zoe's skip is not an absence to report.
    let notes = wait_notes(&emu).await;
    assert!(notes.contains("@maria\n- 🌴 Out of office\n"), "{notes}");
    assert!(notes.contains("@zoe\n\n"), "{notes}");
    assert!(!notes.contains("@zoe\n- 🌴"), "{notes}");
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_and_bot_members_are_never_prompted_or_reminded() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Li is a bot user, Zoe's account was deactivated; both are still in the config.
    let emu = Emulator::start(
        EmulatorConfig::default()
            .with_user(User::new(MARIA, "maria"))
            .with_user(User::new(KENJI, "kenji"))
            .with_user(User::new(LI, "li").bot())
            .with_user(User::new(ZOE, "zoe").deleted())
            .with_channel(Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI])),
    )
    .await;
    let t0 = Utc::now();
    let mut bot = Bot::new(
        &emu,
        t0 + chrono::Duration::seconds(3),
        t0 + chrono::Duration::hours(2),
        "30m",
        "4s",
    );
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    wait_prompted(&emu, MARIA).await;
    wait_prompted(&emu, KENJI).await;
    // Maria answers; kenji does not and is reminded: the reminders have run.
    emu.send_event(events::dm_message(MARIA, "Shipped: the exporter"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &emu.dm_channel(KENJI),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Reminder")),
        WAIT,
    )
    .await;
    for user in [LI, ZOE] {
        wait_jobs(&bot, "prompt", user, "skipped", 1).await;
        wait_jobs(&bot, "remind", user, "skipped", 1).await;
        assert!(
            emu.messages(&emu.dm_channel(user)).is_empty(),
            "{user} got a DM"
        );
        let to_them = emu
            .calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.param("channel").as_deref() == Some(user))
            .count();
        assert_eq!(to_them, 0, "{user} was sent a message");
    }
    assert_eq!(
        asked(&emu, KENJI).len(),
        2,
        "kenji: a prompt and a reminder"
    );
    assert!(
        bot.log()
            .contains("not prompting a deactivated user or a bot")
    );
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_tabs_resolve_button_resolves_the_blocker() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    // Nothing is prompted or posted during the test.
    let t0 = Utc::now() + chrono::Duration::hours(2);
    let mut bot = Bot::new(&emu, t0, t0 + chrono::Duration::hours(1), "30m", "1h");
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    emu.send_event(events::dm_message(KENJI, "Blocked:\n• the VPN is down"))
        .ack(WAIT)
        .await
        .expect("acked");
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: the VPN is down"))
            },
            WAIT,
        )
        .await;
    emu.send_event(emu.app_home_opened(KENJI, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    let published = |emu: &Emulator| {
        emu.views()
            .into_iter()
            .filter(|v| v.method == "views.publish" && v.user_id.as_deref() == Some(KENJI))
            .count()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while published(&emu) == 0 {
        assert!(std::time::Instant::now() < deadline, "no Home published");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = published(&emu);

    let click = emu
        .click_in_home(KENJI, "resolve_blocker", None)
        .expect("the Home tab offers Resolve");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");

    // The blocker is resolved: the flag in the channel says so, nobody is listed as blocked,
    // and Kenji's Home is published again without the button.
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.ts == flag.ts
                && m.text.as_deref().is_some_and(|t| {
                    t.starts_with(":white_check_mark:") && t.contains("the VPN is down")
                })
        },
        WAIT,
    )
    .await;
    assert_eq!(
        command(&emu, MARIA, "blocked").await,
        "No open blockers. :tada:"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while published(&emu) == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the Home was not published again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let home = emu
        .views()
        .into_iter()
        .rev()
        .find(|v| v.method == "views.publish" && v.user_id.as_deref() == Some(KENJI))
        .expect("a Home")
        .view
        .to_string();
    assert!(!home.contains("resolve_blocker"), "{home}");
    assert!(!home.contains("the VPN is down _(open"), "{home}");
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_and_form_submissions_work_in_http_mode() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let mut bot = Bot::new(
        &emu,
        t0 + chrono::Duration::seconds(3),
        t0 + chrono::Duration::hours(2),
        "30m",
        "1h",
    );
    let addr = bot.start_http().await;
    let client = SignedClient::new(&format!("http://{addr}"), SIGNING_SECRET).with_paths(
        "/slack/events",
        "/slack/commands",
        "/slack/interactions",
    );
    for user in [MARIA, KENJI, ZOE] {
        wait_prompted(&emu, user).await;
    }

    // *Answer in a form*, then the form submitted, over HTTP.
    let dm = emu.dm_channel(MARIA);
    let click = emu
        .click(MARIA, &dm, &prompt_ts(&emu, MARIA), "answer_form")
        .expect("the prompt offers the form");
    let answer = client.post_interaction(&click).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let opened = emu.wait_for_call("views.open", |_| true, WAIT).await;
    assert!(opened.params.to_string().contains("standup_form"));
    let view_id = emu.views().last().expect("a view").id.clone();
    let form = emu
        .submit_view(MARIA, &view_id, &[("Shipped", "the exporter\nthe docs")])
        .expect("the form has a Shipped box");
    let submitted = client.post_interaction(&form).await.unwrap();
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    wait_dm(&emu, MARIA, "Got it. 🚢 Shipped: 2 items").await;

    // *Out of office* over HTTP.
    let dm = emu.dm_channel(ZOE);
    let click = emu
        .click(ZOE, &dm, &prompt_ts(&emu, ZOE), "out_of_office")
        .expect("the prompt offers Out of office");
    assert_eq!(client.post_interaction(&click).await.unwrap().status, 200);
    wait_dm(&emu, ZOE, "OK, marked out of office").await;

    // A blocker raised over the Events API and resolved with the flag's button.
    let dm = emu.event_callback(events::dm_message(KENJI, "Blocked: waiting on infra"));
    assert!(client.deliver_event(&dm).await.delivered());
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: waiting on infra"))
            },
            WAIT,
        )
        .await;
    let click = emu
        .click(KENJI, CHANNEL, &flag.ts, "resolve_blocker")
        .expect("the flag offers Resolve");
    assert_eq!(client.post_interaction(&click).await.unwrap().status, 200);
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.ts == flag.ts
                && m.text
                    .as_deref()
                    .is_some_and(|t| t.starts_with(":white_check_mark:"))
        },
        WAIT,
    )
    .await;

    // `/standup status` over HTTP sees all of it.
    let fields = emu.slash_command_fields("/standup", "status", LI, CHANNEL);
    let status = client.command(fields).send().await.unwrap();
    assert_eq!(status.status, 200);
    let text = status.json().unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("answered @maria"), "{text}");
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holidays_file_keeps_prompts_away_and_the_notes_say_holiday() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let sync = t0 + chrono::Duration::seconds(40);
    // Today and tomorrow (so a test run across midnight keeps its meeting on the holiday).
    let first = t0.date_naive();
    let end = first + chrono::Days::new(2);
    let mut bot = Bot::with_extra(
        &emu,
        t0 + chrono::Duration::seconds(3),
        sync,
        "30s",
        "1h",
        "",
        "holidays_file = \"holidays.ics\"",
    );
    std::fs::write(
        bot.dir.path().join("holidays.ics"),
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//standup-bot tests//EN\r\n\
             BEGIN:VEVENT\r\nUID:holiday-1@standup-bot.test\r\nDTSTAMP:20261201T000000Z\r\n\
             DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Team holiday\r\n\
             END:VEVENT\r\nEND:VCALENDAR\r\n",
            first.format("%Y%m%d"),
            end.format("%Y%m%d")
        ),
    )
    .unwrap();
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    for user in [MARIA, KENJI, LI, ZOE] {
        wait_jobs(&bot, "prompt", user, "skipped", 1).await;
    }
    let notes = wait_notes(&emu).await;
    for handle in ["maria", "kenji", "li", "zoe"] {
        assert!(
            notes.contains(&format!("@{handle}\n- 🌴 Holiday\n")),
            "{handle}: {notes}"
        );
    }
    for user in [MARIA, KENJI, LI, ZOE] {
        assert!(
            asked(&emu, user).is_empty(),
            "{user} was prompted on a holiday"
        );
    }
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_per_member_timezone_a_prompt_comes_at_the_members_own_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Maria lives in Berlin (UTC+1 in winter), Kenji in UTC; the team's zone is UTC.
    let emu = emulator().await;
    let t0 = Utc::now().with_nanosecond(0).unwrap();
    let due = t0 + chrono::Duration::seconds(4);
    let mut bot = Bot::with_extra(
        &emu,
        due,
        t0 + chrono::Duration::hours(2),
        "30m",
        "1h",
        "",
        "per_member_timezone = true",
    );
    // Daily at the wall-clock time Berlin shows at `due`; the meeting daily two hours on.
    let daily = |t: chrono::DateTime<chrono_tz::Tz>| {
        format!("\"{} {} {} * * *\"", t.second(), t.minute(), t.hour())
    };
    let berlin = due.with_timezone(&chrono_tz::Europe::Berlin);
    let meeting = (t0 + chrono::Duration::hours(2)).with_timezone(&chrono_tz::UTC);
    bot.edit_config(|text| {
        text.lines()
            .map(|line| {
                if line.starts_with("prompt = ") {
                    format!("prompt = {}", daily(berlin))
                } else if line.starts_with("sync = ") {
                    format!("sync = {}", daily(meeting))
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    // Kenji first: in each pass of the scheduler he is looked at before maria.
    bot.set_members(&[KENJI.to_string(), MARIA.to_string()]);
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    wait_prompted(&emu, MARIA).await;
    wait_jobs(&bot, "prompt", MARIA, "done", 1).await;
    let fired: String = rusqlite::Connection::open(bot.db_path())
        .unwrap()
        .query_row(
            "SELECT fire_at FROM jobs WHERE member = ?1 AND kind = 'prompt'",
            [MARIA],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        fired,
        due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "maria's prompt is due when her own clock shows the prompt time"
    );
    // Kenji's clock shows that time an hour later: he was passed over in the same pass.
    assert!(
        asked(&emu, KENJI).is_empty(),
        "kenji prompted at Berlin's time"
    );
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_in_quiet_hours_waits_until_they_end_on_the_members_clock() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    // Whole seconds: the window is written to the second.
    let t0 = Utc::now().with_nanosecond(0).unwrap();
    let quiet_start = t0 + chrono::Duration::seconds(6);
    let quiet_end = t0 + chrono::Duration::seconds(14);
    // Maria lives in Berlin: her window is written on her clock, the team's zone is UTC.
    let berlin = |t: chrono::DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Berlin);
    let window = format!(
        "{}-{}",
        berlin(quiet_start).format("%H:%M:%S"),
        berlin(quiet_end).format("%H:%M:%S")
    );
    // Prompts at t0+3 s (before her quiet hours), reminders due at t0+8 s (inside them).
    let mut bot = Bot::new(
        &emu,
        t0 + chrono::Duration::seconds(3),
        t0 + chrono::Duration::seconds(60),
        "20s",
        "5s",
    );
    bot.edit_config(|text| {
        text.replace(
            "handle = \"maria\" }",
            &format!("handle = \"maria\", quiet_hours = \"{window}\" }}"),
        )
    });
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    wait_prompted(&emu, MARIA).await;

    // Kenji, after maria in each pass, is reminded on time; maria's reminder was held.
    wait_jobs(&bot, "remind", KENJI, "done", 1).await;
    assert_eq!(
        asked(&emu, MARIA).len(),
        1,
        "maria reminded in her quiet hours"
    );
    assert_eq!(asked(&emu, KENJI).len(), 2);

    // It comes when they end, as the same job (due at t0+8 s, run after t0+14 s).
    emu.wait_for_message(
        &emu.dm_channel(MARIA),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Reminder")),
        WAIT,
    )
    .await;
    wait_jobs(&bot, "remind", MARIA, "done", 1).await;
    let (fire_at, started_at): (String, String) = rusqlite::Connection::open(bot.db_path())
        .unwrap()
        .query_row(
            "SELECT fire_at, started_at FROM jobs WHERE member = ?1 AND kind = 'remind'",
            [MARIA],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let ts = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(fire_at, ts(t0 + chrono::Duration::seconds(8)));
    assert!(
        started_at >= ts(quiet_end),
        "run at {started_at}, quiet until {quiet_end}"
    );
    assert_eq!(asked(&emu, MARIA).len(), 2, "one prompt, one reminder");
    bot.stop();
}
