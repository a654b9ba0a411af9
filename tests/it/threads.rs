//! Less channel noise and the blocker lifecycle, end to end: the bot in-process against the
//! emulator on a test clock, with `updates = "thread"`, `blocker_flags = "thread"` and an
//! hour's `escalate_after`.

use crate::support::*;
use slack_emulator::events;

const LEAD: &str = "U0LEAD0001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_flags_go_into_one_thread_and_old_blockers_are_escalated_once() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let mut bot = Bot::builder(&emu)
        .prompt_at(nine)
        .sync_at(nine + chrono::Duration::days(1))
        .team(&format!(
            "updates = \"thread\"\nblocker_flags = \"thread\"\nescalate_after = \"1h\"\nleads = [\"{LEAD}\"]"
        ))
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(nine).await;
    assert_eq!(prompts_to(&emu, MARIA), 1);

    let maria = events::dm_message(MARIA, "In progress:\n- Large uploads");
    let maria_ts = maria["ts"].as_str().unwrap().to_string();
    emu.send_event(maria).ack(WAIT).await.expect("acked");
    emu.send_event(events::dm_message(
        KENJI,
        "Blocked:\n- waiting on review access",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    let parent = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("replies in thread"))
            },
            WAIT,
        )
        .await;
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.thread_ts.as_deref() == Some(parent.ts.as_str())
                && m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: waiting on review access"))
        },
        WAIT,
    )
    .await;
    // Maria's reply is in the thread before she edits her message, so the edit has a reply to
    // edit (an edit handled first would rightly be posted as the reply's first text).
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.thread_ts.as_deref() == Some(parent.ts.as_str())
                && m.text
                    .as_deref()
                    .is_some_and(|t| t.starts_with("*@maria*") && t.contains("Large uploads"))
        },
        WAIT,
    )
    .await;
    emu.send_event(events::message_changed(
        MARIA,
        &emu.dm_channel(MARIA),
        &maria_ts,
        "In progress:\n- Large uploads\n- Exporter",
        "In progress:\n- Large uploads",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("@maria") && t.contains("Exporter"))
        },
        WAIT,
    )
    .await;

    // The escalation comes once, in the thread, mentioning the lead and kenji: not before the
    // blocker (raised at 09:00) is an hour old, and by the scheduler's next look after that.
    bot.events_handled().await;
    let escalated = |emu: &slack_emulator::Emulator| {
        emu.messages(CHANNEL)
            .iter()
            .filter(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains(&format!("<@{LEAD}>")))
            })
            .count()
    };
    let due = nine + chrono::Duration::hours(1);
    bot.run_until(due - chrono::Duration::seconds(1)).await;
    assert_eq!(escalated(&emu), 0, "escalated early");
    bot.run_until(due + chrono::Duration::seconds(60)).await;
    assert_eq!(escalated(&emu), 1, "escalated once it was due");
    let esc = emu
        .messages(CHANNEL)
        .into_iter()
        .find(|m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains(&format!("<@{LEAD}>")))
        })
        .unwrap();
    assert!(esc.text.unwrap().contains(&format!("<@{KENJI}>")));
    assert_eq!(esc.thread_ts.as_deref(), Some(parent.ts.as_str()));
    bot.stop().await;
    bot.start().await;
    assert!(emu.wait_connections_opened(2, WAIT).await);
    bot.run_for(chrono::Duration::hours(2)).await;
    assert_eq!(escalated(&emu), 1, "escalated again after a restart");

    // One parent, one reply per member (maria's edited), nothing else top-level.
    let msgs = emu.messages(CHANNEL);
    let top: Vec<_> = msgs.iter().filter(|m| m.thread_ts.is_none()).collect();
    assert_eq!(top.len(), 1, "{top:?}");
    let maria_replies: Vec<_> = msgs
        .iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("*@maria*")))
        .collect();
    assert_eq!(maria_replies.len(), 1);
    assert_eq!(maria_replies[0].history.len(), 1, "edited in place");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_posted_notes_list_a_resolved_blocker_and_go_into_the_thread() {
    let emu = emulator().await;
    // The clock stays at 08:00: no prompt or post of the schedule's during the test.
    let mut bot = Bot::builder(&emu)
        .team("updates = \"thread\"")
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    emu.send_event(events::dm_message(
        KENJI,
        "Blocked:\n- waiting on review access",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_message(
        CHANNEL,
        |m| {
            m.text.as_deref().is_some_and(|t| {
                t.contains("is blocked: waiting on review access (open since <!date^")
            })
        },
        WAIT,
    )
    .await;
    emu.send_slash_command("/standup", "resolve", KENJI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    emu.send_slash_command("/standup", "post", KENJI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let deadline = std::time::Instant::now() + WAIT;
    let file = loop {
        if let Some(f) = emu.files().into_iter().find(|f| f.completed) {
            break f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notes file; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        file.content.contains(
            "## Resolved blockers\n\n* @kenji: waiting on review access (open 0 minutes, resolved "
        ),
        "{}",
        file.content
    );
    let parent = emu
        .messages(CHANNEL)
        .into_iter()
        .find(|m| m.thread_ts.is_none())
        .unwrap();
    assert_eq!(file.thread_ts.as_deref(), Some(parent.ts.as_str()));
    assert!(
        parent.text.unwrap().contains("answered"),
        "the parent became the summary"
    );
    bot.stop().await;
}

/// The part of a planning document about `handle`: from their `@handle` line to the next
/// member or heading.
fn member_part<'a>(document: &'a str, handle: &str) -> &'a str {
    let start = document
        .find(&format!("\n@{handle}\n"))
        .unwrap_or_else(|| panic!("no @{handle} in:\n{document}"));
    let rest = &document[start + 1..];
    let next = ["\n@", "\n#"]
        .iter()
        .filter_map(|m| rest[1..].find(m).map(|e| e + 1))
        .min()
        .unwrap_or(rest.len());
    &rest[..next]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_blocker_is_in_the_notes_and_its_resolution_in_the_summary() {
    let emu = emulator().await;
    // The clock stays at 08:00: no prompt or post of the schedule's during the test.
    let mut bot = Bot::builder(&emu).start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    emu.send_event(events::dm_message(KENJI, "In progress:\n- Exporter"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &emu.dm_channel(KENJI),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it")),
        WAIT,
    )
    .await;
    // Kenji raises two blockers; zoe, who sent no update, one.
    for (user, text) in [
        (KENJI, "blocked staging is down"),
        (KENJI, "blocked waiting on design review"),
        (ZOE, "blocked no laptop yet"),
    ] {
        let answer = emu
            .send_slash_command("/standup", text, user, CHANNEL)
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
                    .is_some_and(|t| t.contains("is blocked: staging is down"))
            },
            WAIT,
        )
        .await;
    emu.send_slash_command("/standup", "post", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");

    // The notes: each raised blocker under its member's *Blocked*, after what they wrote.
    let notes = notes_file(&emu, &bot, |_| true).await;
    let kenji = member_part(&notes, "kenji");
    assert!(
        kenji.contains("- 🚧 In progress:\n    - Exporter\n- ⛔\u{fe0f} Blocked:\n    - staging is down\n    - waiting on design review"),
        "kenji's part:\n{kenji}\nnotes:\n{notes}"
    );
    let zoe = member_part(&notes, "zoe");
    assert!(
        zoe.contains("- ⛔\u{fe0f} Blocked:\n    - no laptop yet"),
        "zoe's part:\n{zoe}"
    );
    let summary = emu
        .wait_for_message(
            CHANNEL,
            |m| m.text.as_deref().is_some_and(|t| t.contains("answered")),
            WAIT,
        )
        .await;
    for blocker in [
        "staging is down",
        "waiting on design review",
        "no laptop yet",
    ] {
        assert!(
            summary
                .text
                .as_deref()
                .unwrap_or_default()
                .contains(blocker),
            "the summary lists {blocker}: {:?}",
            summary.text
        );
    }

    // Kenji resolves one with the flag's button: the summary no longer lists it, and the new
    // version of the notes has it under *Resolved blockers*, not *Blocked*.
    let click = emu
        .click(KENJI, CHANNEL, &flag.ts, "resolve_blocker")
        .expect("the flag's Resolve button");
    emu.send_interaction(click).ack(WAIT).await.expect("acked");
    let summary_text = |emu: &slack_emulator::Emulator| {
        emu.messages(CHANNEL)
            .into_iter()
            .find(|m| m.ts == summary.ts)
            .and_then(|m| m.text)
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while summary_text(&emu).contains("staging is down") {
        assert!(
            std::time::Instant::now() < deadline,
            "the summary still lists the resolved blocker: {}",
            summary_text(&emu)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(summary_text(&emu).contains("waiting on design review"));
    let notes = notes_file(&emu, &bot, |d| !member_part(d, "kenji").contains("staging")).await;
    assert!(
        member_part(&notes, "kenji")
            .contains("- ⛔\u{fe0f} Blocked:\n    - waiting on design review"),
        "{notes}"
    );
    assert!(
        notes.contains("\n* @kenji: staging is down ("),
        "resolved, it is under Resolved blockers:\n{notes}"
    );

    // `/standup unblock` resolves the rest of kenji's: only zoe's is left in the summary.
    emu.send_slash_command("/standup", "unblock", KENJI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let deadline = std::time::Instant::now() + WAIT;
    while summary_text(&emu).contains("design review") {
        assert!(
            std::time::Instant::now() < deadline,
            "the summary still lists kenji's blocker: {}",
            summary_text(&emu)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        summary_text(&emu).contains("Open blockers (1)"),
        "{}",
        summary_text(&emu)
    );
    assert!(summary_text(&emu).contains("no laptop yet"));
    bot.stop().await;
}

/// A blocker reported while the scheduler sleeps until a job hours away is escalated when it is
/// due, to the second: the reply wakes the scheduler to plan it (it does not wait for its next
/// look, up to ten minutes later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_blocker_is_escalated_when_due_not_at_the_schedulers_next_look() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let mut bot = Bot::builder(&emu)
        .prompt_at(nine)
        .team(&format!("escalate_after = \"2m\"\nleads = [\"{LEAD}\"]"))
        .start()
        .await;
    bot.run_until(nine + chrono::Duration::seconds(1)).await;
    emu.send_event(events::dm_message(KENJI, "Blocked:\n- waiting on infra"))
        .ack(WAIT)
        .await
        .expect("acked");
    bot.events_handled().await;
    let escalated = |emu: &slack_emulator::Emulator| {
        emu.messages(CHANNEL)
            .iter()
            .filter(|m| {
                m.text.as_deref().is_some_and(|t| {
                    t.contains(&format!("<@{LEAD}>")) && t.contains("waiting on infra")
                })
            })
            .count()
    };
    let due = nine + chrono::Duration::seconds(1) + chrono::Duration::minutes(2);
    bot.run_until(due - chrono::Duration::seconds(1)).await;
    assert_eq!(escalated(&emu), 0, "escalated early");
    bot.run_until(due + chrono::Duration::seconds(1)).await;
    assert_eq!(
        escalated(&emu),
        1,
        "escalated when due; log:\n{}",
        bot.log()
    );
    bot.stop().await;
}
