//! The bot as users meet it: the bot in-process against the local Slack emulator on 127.0.0.1,
//! driven over Socket Mode and HTTP with Slack's own payloads, on a clock the test moves (the
//! real binary where start-up itself is tested).

use std::time::Duration;

use chrono::Utc;
use std::process::Command;

use crate::support::*;
use slack_emulator::{Emulator, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cycle() {
    let emu = emulator().await;
    // Monday 08:00: the prompt at 09:00, a reminder 5 minutes later, the meeting at 15:00 and
    // the notes 25 minutes before it.
    let mut bot = Bot::builder(&emu)
        .post_before("25m")
        .remind_after("5m")
        .start()
        .await;
    assert!(
        emu.socket_connected(WAIT).await,
        "bot did not connect; log:\n{}",
        bot.log()
    );
    let nine = monday_8am() + chrono::Duration::hours(1);
    let sync = monday_8am() + chrono::Duration::hours(7);

    // Nothing before the prompt time, to the second.
    bot.run_until(nine - chrono::Duration::seconds(1)).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 0, "{user} prompted early");
    }

    // Prompt: every member gets a DM with the questions and buttons.
    bot.run_until(nine).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted at 09:00");
    }
    let prompt_msg = &emu.messages(&emu.dm_channel(MARIA))[0];
    let buttons = prompt_msg.blocks.as_ref().unwrap().to_string();
    for action in ["answer_form", "skip_cycle", "out_of_office"] {
        assert!(buttons.contains(action), "{buttons}");
    }
    // As on Slack, each prompt came back to the bot as a message.im event with its bot_id: the
    // bot acks them and answers none (an answer would be a second message in the DM).
    let prompts = [MARIA, KENJI, LI, ZOE].len();
    let deadline = std::time::Instant::now() + WAIT;
    while emu.acks().len() < prompts {
        assert!(
            std::time::Instant::now() < deadline,
            "echoes not acked: {:?}",
            emu.acks()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.events_handled().await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(
            emu.messages(&emu.dm_channel(user)).len(),
            1,
            "{user}: only the prompt"
        );
    }

    // Replies: maria answers, kenji is blocked, li answers then edits; zoe stays silent.
    let maria = events::dm_message(
        MARIA,
        ":ship: Shipped:\n• <https://example.org/exporter|Exporter> module\n:black_right_pointing_double_triangle_with_vertical_bar: Next:\n• review the storage doc",
    );
    emu.send_event(maria).ack(WAIT).await.expect("acked");
    emu.send_event(events::dm_message(
        KENJI,
        "*Blocked*\n• Short week / moving",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    let li = events::dm_message(LI, "In progress:\n- Large uploads");
    let li_ts = li["ts"].as_str().unwrap().to_string();
    emu.send_event(li).ack(WAIT).await.expect("acked");
    let edit = events::message_changed(
        LI,
        &emu.dm_channel(LI),
        &li_ts,
        "In progress:\n- Large uploads\n    - Solution scoping",
        "In progress:\n- Large uploads",
    );
    emu.send_event(edit).ack(WAIT).await.expect("acked");

    // The bot says what it understood.
    emu.wait_for_message(
        &emu.dm_channel(MARIA),
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it. 🚢 Shipped: 1 item, ⏭ Next: 1 item."))
        },
        WAIT,
    )
    .await;

    // The blocker is flagged in the channel at once, with a Resolve button.
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: Short week / moving"))
            },
            WAIT,
        )
        .await;
    assert!(flag.text.unwrap().contains(&format!("<@{KENJI}>")));
    assert!(flag.blocks.unwrap().to_string().contains("resolve_blocker"));

    // `/standup blocked` lists it.
    let answer = emu
        .send_slash_command("/standup", "blocked", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let text = answer["text"].as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("@kenji: Short week / moving (open"),
        "{answer}"
    );

    // The silent member is reminded once, at 09:05 and not before; the others are not.
    bot.events_handled().await;
    let reminded = |emu: &Emulator| {
        emu.messages(&emu.dm_channel(ZOE))
            .iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Reminder")))
            .count()
    };
    bot.run_until(nine + chrono::Duration::minutes(5) - chrono::Duration::seconds(1))
        .await;
    assert_eq!(reminded(&emu), 0, "reminded early");
    bot.run_until(nine + chrono::Duration::minutes(5)).await;
    assert_eq!(reminded(&emu), 1, "zoe reminded at 09:05");
    for user in [MARIA, KENJI, LI] {
        assert_eq!(
            prompts_to(&emu, user),
            1,
            "{user} answered and is not reminded"
        );
    }

    // The notes are posted before the meeting (14:35, not a second earlier): a summary, and
    // the document in its thread.
    let posted = sync - chrono::Duration::minutes(25);
    let summaries = |emu: &Emulator| {
        emu.messages(CHANNEL)
            .into_iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("answered")))
            .collect::<Vec<_>>()
    };
    bot.run_until(posted - chrono::Duration::seconds(1)).await;
    assert!(
        summaries(&emu).is_empty(),
        "posted early: {:?}",
        summaries(&emu)
    );
    bot.run_until(posted).await;
    let summary = summaries(&emu)
        .pop()
        .expect("the summary is posted at 14:35");
    assert!(
        summary.text.as_deref().unwrap().contains("3 of 4 answered"),
        "{summary:?}"
    );
    assert!(
        summary
            .text
            .as_deref()
            .unwrap()
            .contains("no update from @zoe"),
        "{summary:?}"
    );
    let date = sync.date_naive();
    let expected = format!(
        "# Team Orbit Planning {date}\n\n## Agenda\n\n1. Async updates: participants broadcast their own async update and answer any questions.\n2. Current projects: review and assign tasks for the next week.\n3. Open discussion for any other questions that arise.\n\n## Async Updates\n\n@maria\n- 🚢 Shipped:\n    - [Exporter](https://example.org/exporter) module\n- ⏭ Next:\n    - review the storage doc\n\n@kenji\n- ⛔\u{fe0f} Blocked:\n    - Short week / moving\n\n@li\n- 🚧 In progress:\n    - Large uploads\n        - Solution scoping\n\n@zoe\n\n## Notes/Questions\n"
    );
    let file = wait_file(&emu, 1).await;
    assert_eq!(file.content, expected);
    // The document is shared in the team channel, as a reply in the summary's thread (not as
    // a second message in the channel).
    assert_eq!(file.channel.as_deref(), Some(CHANNEL), "{file:?}");
    assert_eq!(
        file.thread_ts.as_deref(),
        Some(summary.ts.as_str()),
        "{file:?}"
    );
    let carriers: Vec<_> = emu
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m.files.contains(&file.id))
        .collect();
    assert_eq!(carriers.len(), 1, "{carriers:?}");
    assert_eq!(carriers[0].thread_ts.as_deref(), Some(summary.ts.as_str()));

    // A late reply updates the posted notes: the summary is edited and a new version uploaded.
    emu.send_event(events::dm_message(ZOE, "Done: fixed the flaky test"))
        .ack(WAIT)
        .await
        .expect("acked");
    let file = wait_file(&emu, 2).await;
    assert!(
        file.content
            .contains("@zoe\n- 🚢 Shipped:\n    - fixed the flaky test\n"),
        "{}",
        file.content
    );
    let summary = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("4 of 4 answered"))
            },
            WAIT,
        )
        .await;
    assert!(
        !summary.history.is_empty(),
        "the summary was edited, not posted again"
    );

    // Unknown input gets the usage text, never silence.
    let unknown = emu
        .send_slash_command("/standup", "frobnicate", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let usage = unknown["text"].as_str().unwrap_or_default();
    assert!(usage.starts_with("I don't know `frobnicate`."), "{unknown}");

    // Through the meeting and the night to Tuesday's prompt: nothing more is posted for Monday.
    bot.run_until(nine + chrono::Duration::days(1) - chrono::Duration::seconds(1))
        .await;
    assert_eq!(summaries(&emu).len(), 1, "one summary for Monday");
    assert_eq!(emu.files().len(), 2, "no further version of Monday's notes");

    bot.stop().await;
    // Every row the cycle wrote belongs to the token's workspace (auth.test's team_id).
    bot.db().assert_rows_carry_workspace(&emu.config().team_id);
    for table in [
        "teams", "members", "cycles", "replies", "updates", "blockers", "posts", "sends", "inbox",
    ] {
        assert!(
            bot.db().int(&format!("SELECT count(*) FROM {table}"), &[]) > 0,
            "{table} has no rows: the cycle wrote nothing there to check"
        );
    }
    let log = bot.log();
    assert!(
        log.contains("scheduler stopped"),
        "graceful shutdown; log:\n{log}"
    );
    for secret in [&bot.bot_token, &bot.app_token] {
        assert!(
            !log.contains(secret.as_str()),
            "a token appeared in the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_neither_repeats_nor_loses_a_prompt() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let mut bot = Bot::builder(&emu).start().await;

    // Down when the prompt is due...
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.stop().await;
    bot.clock.set(nine + chrono::Duration::minutes(10));
    assert_eq!(prompts_to(&emu, MARIA), 0);

    // ...so the prompt is sent on start, once.
    bot.start().await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted on start");
    }
    bot.stop().await;
    bot.start().await;
    assert!(emu.wait_connections_opened(3, WAIT).await);
    bot.run_for(chrono::Duration::minutes(30)).await;
    bot.stop().await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(
            prompts_to(&emu, user),
            1,
            "{user} prompted once; log:\n{}",
            bot.log()
        );
    }
}

async fn wait_healthy(url: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let probe = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
            .args(["healthcheck", "--url", url])
            .output()
            .unwrap();
        if probe.status.success() {
            assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "healthy");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_mode_serves_signed_requests_only() {
    let emu = emulator().await;
    // The listener is bound by the test and handed to the bot: no port is freed and retaken.
    let mut bot = Bot::builder(&emu).http().start().await;
    wait_healthy(&format!("{}/healthz", bot.url())).await;

    let client = slack_emulator::SignedClient::new(&bot.url(), SIGNING_SECRET).with_paths(
        "/slack/events",
        "/slack/commands",
        "/slack/interactions",
    );
    let fields = emu.slash_command_fields("/standup", "help", MARIA, CHANNEL);

    let ok = client.command(fields.clone()).send().await.unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    let answer = ok.json().unwrap();
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("/standup blocked"),
        "{answer}"
    );
    assert_eq!(answer["response_type"], "ephemeral");

    let replayed = client.replay(&ok.request).await.unwrap();
    assert_eq!(replayed.status, 401, "a replayed request is refused");
    let forged = client
        .command(fields.clone())
        .bad_signature()
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "a bad signature is refused");
    let stale = client.command(fields.clone()).stale().send().await.unwrap();
    assert_eq!(stale.status, 401, "a stale timestamp is refused");

    let challenge = client
        .post_event(&events::url_verification("c-123"))
        .await
        .unwrap();
    assert_eq!(challenge.status, 200);
    assert!(challenge.body.contains("c-123"));

    // A DM over the Events API is recorded and answered like one over Socket Mode.
    let dm = emu.event_callback(events::dm_message(KENJI, "Blocked: waiting on infra"));
    assert!(client.deliver_event(&dm).await.delivered());
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("is blocked: waiting on infra"))
        },
        WAIT,
    )
    .await;

    // Slack's retry of an event within the second of the original carries the original's
    // signature; it gets its 200 (not a 401 "replay"), and the DM is applied once.
    let dm = emu.event_callback(events::dm_message(LI, "Blocked: the VPN is down"));
    let now = Utc::now().timestamp();
    let original = client.event(&dm).timestamp(now).send().await.unwrap();
    let retry = client
        .event(&dm)
        .timestamp(now)
        .retry(1, "http_timeout")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (original.status, retry.status),
        (200, 200),
        "{}",
        retry.body
    );
    let flagged = |m: &slack_emulator::Message| {
        m.text
            .as_deref()
            .is_some_and(|t| t.contains("is blocked: the VPN is down"))
    };
    emu.wait_for_message(CHANNEL, flagged, WAIT).await;
    bot.events_handled().await;
    let flags = emu.messages(CHANNEL).iter().filter(|m| flagged(m)).count();
    assert_eq!(flags, 1, "the retried event is applied once");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_serves_health_and_rejects_a_bad_token() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).health().start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    wait_healthy(&format!("{}/healthz", bot.url())).await;
    bot.stop().await;

    // A wrong bot token stops the real binary's start-up with a message naming the variable.
    bot.bot_token = "xoxb-not-the-right-one".into();
    let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .env_remove(DATABASE_URL_ENV)
        .args(["--config", "standup.toml", "run"])
        .current_dir(bot.dir.path())
        .env("SLACK_BOT_TOKEN", &bot.bot_token)
        .env("SLACK_APP_TOKEN", &bot.app_token)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
        "{err}"
    );
    assert!(
        !err.contains("xoxb-not-the-right-one"),
        "the token is never printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_buttons_skip_and_answer_in_a_form() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(monday_8am() + chrono::Duration::hours(1))
        .await;
    assert_eq!(prompts_to(&emu, MARIA), 1);
    assert_eq!(prompts_to(&emu, ZOE), 1);

    // "Skip this time": the member is told, and counts as away for the cycle.
    let zoe_dm = emu.dm_channel(ZOE);
    let prompt_ts = emu.messages(&zoe_dm)[0].ts.clone();
    let skip = emu
        .click(ZOE, &zoe_dm, &prompt_ts, "skip_cycle")
        .expect("the prompt offers Skip");
    emu.send_interaction(skip).ack(WAIT).await.expect("acked");
    emu.wait_for_message(
        &zoe_dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("OK, skipping"))
        },
        WAIT,
    )
    .await;

    // "Answer in a form": a modal opens; submitting it records the update like a DM reply.
    let maria_dm = emu.dm_channel(MARIA);
    let prompt_ts = emu.messages(&maria_dm)[0].ts.clone();
    let answer = emu
        .click(MARIA, &maria_dm, &prompt_ts, "answer_form")
        .expect("the prompt offers the form");
    emu.send_interaction(answer).ack(WAIT).await.expect("acked");
    let opened = emu.wait_for_call("views.open", |_| true, WAIT).await;
    assert!(
        opened.params.to_string().contains("standup_form"),
        "{:?}",
        opened.params
    );
    let view_id = emu.views().last().expect("a view").id.clone();
    let form = emu
        .submit_view(
            MARIA,
            &view_id,
            &[("Shipped", "the exporter\nthe docs"), ("Blocked", "none")],
        )
        .expect("the form has these boxes");
    let submitted = emu.send_interaction(form).ack(WAIT).await;
    assert!(submitted.is_some(), "the submission is acked");
    emu.wait_for_message(
        &maria_dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it. 🚢 Shipped: 2 items"))
        },
        WAIT,
    )
    .await;

    // `/standup status` sees both.
    let status = emu
        .send_slash_command("/standup", "status", LI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let text = status["text"].as_str().unwrap_or_default();
    assert!(text.contains("answered @maria"), "{status}");
    assert!(!text.contains("nobody yet"), "{status}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_failures_are_retried_and_recorded() {
    let emu = emulator().await;
    let prompt = monday_8am() + chrono::Duration::hours(1);
    let sync = prompt + chrono::Duration::minutes(30);
    let bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("20m")
        .build();
    // The team's channel does not exist in this workspace: posting the notes keeps failing.
    let config = bot.dir.path().join("standup.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(CHANNEL, "C0NOWHERE1");
    std::fs::write(&config, text).unwrap();
    let mut bot = bot;
    // The first prompts meet a 429 with Retry-After, a 500 and malformed JSON.
    emu.fail_next(
        "chat.postMessage",
        slack_emulator::Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    emu.fail_next("chat.postMessage", slack_emulator::Fault::Status(500));
    emu.fail_next("chat.postMessage", slack_emulator::Fault::Malformed);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(prompt).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(
            prompts_to(&emu, user),
            1,
            "retries do not duplicate a prompt"
        );
    }
    // The failure that does not go away is recorded with Slack's error code, and logged; the
    // post is tried every 5 s, 5 times, then given up.
    let post_at = sync - chrono::Duration::minutes(20);
    bot.run_until(post_at).await;
    let job = |bot: &Bot| -> (String, String, i64) {
        let row = bot.db().row(
            "SELECT state, coalesce(last_error, ''), attempts FROM jobs WHERE kind = 'post'",
            &[],
        );
        (row[0].text(), row[1].text(), row[2].int())
    };
    let (state, error, _) = job(&bot);
    assert_eq!(state, "failed");
    assert_eq!(error, "Slack chat.postMessage: channel_not_found");
    bot.run_until(post_at + chrono::Duration::minutes(1)).await;
    let (state, error, attempts) = job(&bot);
    assert_eq!(
        (state.as_str(), error.as_str()),
        ("skipped", "gave up after repeated failures"),
        "given up after {attempts} attempts"
    );
    bot.stop().await;
    let log = bot.log();
    assert!(log.contains("retrying Slack call"), "{log}");
    assert!(log.contains("channel_not_found"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_schedules_prompts_reminds_and_posts_on_working_days_only() {
    let emu = emulator().await;
    // The defaults: prompt 09:00 and meeting 15:00 on weekdays, reminder after 2 h, notes 30
    // minutes before the meeting. Nobody answers all week.
    let mut bot = Bot::builder(&emu).build();
    // A week passes in seconds, so Slack's per-channel pacing (real time) would hold each
    // day's second message to a member a second: the emulator's limits are off here anyway.
    bot.timings.calls.paced = false;
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    let reminders = |emu: &Emulator, user: &str| {
        emu.messages(&emu.dm_channel(user))
            .iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Reminder")))
            .count()
    };
    let summaries = |emu: &Emulator| {
        emu.messages(CHANNEL)
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .filter(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("0 of 4 answered"))
            })
            .count()
    };
    for day in 0..7 {
        let morning = monday_8am() + chrono::Duration::days(day);
        let working = day < 5;
        let before = (prompts_to(&emu, ZOE), reminders(&emu, ZOE), summaries(&emu));
        bot.run_until(morning + chrono::Duration::hours(12)).await;
        let after = (prompts_to(&emu, ZOE), reminders(&emu, ZOE), summaries(&emu));
        let expected = if working {
            // The prompt and its reminder both read "update for"; one summary.
            (before.0 + 2, before.1 + 1, before.2 + 1)
        } else {
            before
        };
        assert_eq!(
            after,
            expected,
            "day {day} (Monday = 0); log:\n{}",
            bot.log()
        );
    }
    for user in [MARIA, KENJI, LI] {
        assert_eq!(
            prompts_to(&emu, user),
            10,
            "{user}: 5 prompts and 5 reminders"
        );
    }
}
