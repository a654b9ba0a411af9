//! Long and linked content as users see it in Slack: the real `standup-bot run` binary against
//! the emulator, with updates past Slack's Block Kit limits (a 5,000-character update in a
//! thread, a long blocker, a carry summary past a section, a 151-character team name, an Edit
//! form for an update past a box, a planned item that is only a link). Every message and view
//! must keep Slack's limits, show links as Slack links, escape user text once, and leave
//! nothing out of the notes.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::Value;
use slack_emulator::{Emulator, events};

/// Slack's length of a text, counted generously (UTF-16 units ≥ characters).
fn len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Every Block Kit limit this suite relies on, checked on one message's or view's blocks;
/// `max_blocks` is 50 for a message and 100 for a view.
fn assert_within_limits(blocks: &Value, max_blocks: usize) {
    let blocks = blocks.as_array().expect("blocks are an array");
    assert!(
        !blocks.is_empty() && blocks.len() <= max_blocks,
        "{} blocks",
        blocks.len()
    );
    for b in blocks {
        let text = b["text"]["text"].as_str().unwrap_or_default();
        match b["type"].as_str().unwrap() {
            "section" => assert!((1..=3000).contains(&len(text)), "section of {}", len(text)),
            "header" => assert!((1..=150).contains(&len(text)), "header of {}", len(text)),
            "context" => {
                for e in b["elements"].as_array().unwrap() {
                    let t = e["text"].as_str().unwrap_or_default();
                    assert!(len(t) <= 3000, "context of {}", len(t));
                }
            }
            "input" => {
                let initial = b["element"]["initial_value"].as_str().unwrap_or_default();
                assert!(len(initial) <= 3000, "initial value of {}", len(initial));
            }
            _ => {}
        }
        let elements = b["elements"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(b.get("accessory").cloned());
        for e in elements {
            if e["type"] == "button" {
                assert!(len(e["text"]["text"].as_str().unwrap()) <= 75);
                assert!(len(e["value"].as_str().unwrap_or_default()) <= 2000);
            }
            if e["type"] == "checkboxes" {
                let options = e["options"].as_array().unwrap();
                assert!((1..=10).contains(&options.len()));
                for o in options {
                    let t = o["text"]["text"].as_str().unwrap();
                    assert!((1..=75).contains(&len(t)), "option text {t:?}");
                    assert!(len(o["value"].as_str().unwrap()) <= 150);
                }
            }
        }
    }
}

/// What no text the bot sends may contain: Markdown link syntax, text escaped twice, a
/// broadcast.
fn assert_slack_text(text: &str) {
    let markdown_link = regex_lite(text);
    assert!(!markdown_link, "Markdown link in {text:.300}");
    assert!(!text.contains("&amp;amp;"), "escaped twice: {text:.300}");
    for special in ["<!channel>", "<!here>", "<!everyone>"] {
        assert!(!text.contains(special), "a broadcast: {text:.300}");
    }
}

/// Whether `text` has `[label](scheme:…)`.
fn regex_lite(text: &str) -> bool {
    text.match_indices("](").any(|(i, _)| {
        text[i + 2..]
            .split(')')
            .next()
            .is_some_and(|u| u.contains(':') && !u.contains(' '))
    })
}

/// The texts of a message's section blocks, joined by lines.
fn sections_text(blocks: &Value) -> String {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_update_in_a_thread_and_long_blockers_reach_slack_whole() {
    let emu = emulator().await;
    // The clock stays at 08:00: no prompt or post of the schedule's during the test.
    let mut bot = Bot::builder(&emu)
        .team("updates = \"thread\"\nblocker_flags = \"thread\"")
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // Maria's update: 40 items with links (over 5,000 characters) and a 4,000-character blocker.
    let items: String = (0..40)
        .map(|i| {
            format!(
                "• item {i} <https://example.org/pr/{i}|PR #{i}> &amp; {}\n",
                "words ".repeat(18)
            )
        })
        .collect();
    let blocker = format!(
        "waiting on <https://example.org/access|access> {}",
        "and more ".repeat(440)
    );
    let reply = format!("Shipped:\n{items}Blocked:\n• {blocker}");
    assert!(reply.chars().count() > 9000);
    emu.send_event(events::dm_message(MARIA, &reply))
        .ack(WAIT)
        .await
        .expect("acked");
    let mine = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.thread_ts.is_some()
                    && m.text.as_deref().is_some_and(|t| t.starts_with("*@maria*"))
            },
            WAIT,
        )
        .await;
    let blocks = mine.blocks.clone().expect("blocks");
    assert_within_limits(&blocks, 50);
    let shown = sections_text(&blocks);
    assert!(blocks.as_array().unwrap().len() >= 3, "split over sections");
    assert_slack_text(&shown);
    assert_slack_text(mine.text.as_deref().unwrap());
    for i in 0..40 {
        assert!(
            shown.contains(&format!("<https://example.org/pr/{i}|PR #{i}> &amp; words")),
            "item {i} missing or not a Slack link"
        );
    }
    // The blocker is one line longer than a section: cut at a space, every word shown.
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words(&shown).contains(&words(&"and more ".repeat(440))));

    // The blocker's flag in the thread: long, split, linked, escaped once.
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: waiting on"))
            },
            WAIT,
        )
        .await;
    let flag_blocks = flag.blocks.clone().unwrap();
    assert_within_limits(&flag_blocks, 50);
    let flag_text = sections_text(&flag_blocks);
    assert_slack_text(&flag_text);
    assert!(
        flag_text.contains("<https://example.org/access|access>"),
        "{flag_text:.200}"
    );

    // A blocker by command, as Slack sends it (escaped, a link as a Slack link).
    let answer = command(
        &emu,
        KENJI,
        "blocked a &amp; b <https://example.org/x|the PR> <!channel>",
    )
    .await;
    assert_eq!(
        answer,
        "Flagged to your team: a &amp; b <https://example.org/x|the PR> @channel"
    );
    let flag = emu
        .wait_for_message(
            CHANNEL,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("is blocked: a &amp; b"))
            },
            WAIT,
        )
        .await;
    let flag_text = sections_text(&flag.blocks.clone().unwrap());
    assert!(
        flag_text.contains("is blocked: a &amp; b <https://example.org/x|the PR> @channel"),
        "{flag_text}"
    );
    assert_slack_text(&flag_text);
    let answer = command(&emu, KENJI, "unblock").await;
    assert_eq!(
        answer,
        "Resolved: a &amp; b <https://example.org/x|the PR> @channel"
    );

    // The preview shows the notes' Markdown as written, in a code block, escaped once.
    let preview = command(&emu, MARIA, "preview").await;
    assert!(
        preview.starts_with("```\n") && preview.ends_with("\n```"),
        "{preview:.100}"
    );
    assert!(
        preview.contains("[PR #0](https://example.org/pr/0) &amp; words"),
        "{preview:.2000}"
    );
    assert!(len(&preview) <= 40_000);

    // The notes have every word, as Markdown.
    command(&emu, MARIA, "post").await;
    let notes = notes_file(&emu, &bot, |_| true).await;
    for i in 0..40 {
        assert!(
            notes.contains(&format!("[PR #{i}](https://example.org/pr/{i}) & words")),
            "item {i}"
        );
    }
    assert!(notes.contains(&format!(
        "[access](https://example.org/access) {}",
        "and more ".repeat(440).trim_end()
    )));
    // The channel holds the flags and the notes' summary, each with blocks; none may escape
    // the check below by there being nothing to check.
    let messages = emu.messages(CHANNEL);
    assert!(
        messages.iter().filter(|m| m.blocks.is_some()).count() >= 2,
        "{messages:?}"
    );
    for m in messages {
        if let Some(blocks) = &m.blocks {
            assert_within_limits(blocks, 50);
        }
        let text = m.text.clone().unwrap_or_default();
        assert!(len(&text) <= 40_000);
        assert_slack_text(&text);
    }
    bot.stop().await;
}

/// An in-process bot whose team is prompted daily at 10:00 and met at 07:00, on a clock that
/// stays at 08:00: nothing is prompted or posted during a test.
fn quiet_bot(emu: &Emulator, name: &str) -> Bot {
    let bot = Bot::builder(emu)
        .prompt("0 0 10 * * *")
        .sync("0 0 7 * * *")
        .build();
    bot.edit_config(|text| text.replace("name = \"Team Orbit\"", &format!("name = \"{name}\"")));
    bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_team_name_and_a_long_update_in_the_home_tab_and_its_edit_form() {
    let emu = emulator().await;
    let name = format!("Orbit {}", "and friends ".repeat(13))
        .trim_end()
        .to_string();
    assert!(name.chars().count() > 150);
    let mut bot = quiet_bot(&emu, &name);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    let items: String = (0..60)
        .map(|i| {
            format!(
                "• shipped thing {i} <https://example.org/{i}|link {i}> {}\n",
                "x".repeat(40)
            )
        })
        .collect();
    let reply = format!("Shipped:\n{items}Next:\n• a line of {}", "y".repeat(3500));
    emu.send_event(events::dm_message(MARIA, &reply))
        .ack(WAIT)
        .await
        .expect("acked");
    let dm = emu.dm_channel(MARIA);
    emu.wait_for_message(
        &dm,
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
        WAIT,
    )
    .await;
    emu.send_event(emu.app_home_opened(MARIA, "home"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_call("views.publish", |_| true, WAIT).await;
    let home = emu
        .views()
        .into_iter()
        .rfind(|v| v.method == "views.publish")
        .unwrap()
        .view;
    assert_within_limits(&home["blocks"], 100);
    let header = home["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.ends_with('…'), "{header}");
    assert!(
        home["blocks"][1].to_string().contains(&name),
        "the full name below the header"
    );
    let shown = sections_text(&home["blocks"]);
    assert_slack_text(&shown);
    assert!(shown.contains("<https://example.org/59|link 59>"));
    assert!(shown.contains(&"y".repeat(3500)[..2000]));

    // The Edit form holds the whole update, over several boxes; saved unchanged, the update
    // stays the same.
    let edit = home["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "home_edit")
        .expect("an Edit button");
    let value = edit["value"].as_str().unwrap().to_string();
    let before = bot.cli(&["compile", "--team", "orbit"]);
    emu.send_interaction(emu.click_in_home(MARIA, "home_edit", Some(&value)).unwrap())
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_call("views.open", |_| true, WAIT).await;
    let form = emu
        .views()
        .into_iter()
        .rfind(|v| v.method == "views.open")
        .unwrap();
    assert_within_limits(&form.view["blocks"], 100);
    let boxes = form.view["blocks"].as_array().unwrap();
    let shipped_boxes = boxes
        .iter()
        .filter(|b| b["block_id"].as_str().unwrap().starts_with("Shipped"))
        .count();
    assert!(
        shipped_boxes >= 2,
        "{shipped_boxes} boxes for a long Shipped"
    );
    // She adds one line at the end of the last box and saves.
    // The other boxes are sent as the form showed them.
    let last = boxes.last().unwrap()["block_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.starts_with("Next#"),
        "the long Next line goes on in a second box: {last}"
    );
    let last_initial = boxes.last().unwrap()["element"]["initial_value"]
        .as_str()
        .unwrap_or_default();
    let edited = format!("{last_initial}\n• one more thing");
    emu.send_interaction(
        emu.submit_view(MARIA, &form.id, &[(last.as_str(), edited.as_str())])
            .unwrap(),
    )
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Got it.") && t.contains("Next: 2 items"))
        },
        WAIT,
    )
    .await;
    let after = bot.cli(&["compile", "--team", "orbit"]);
    for line in before.lines() {
        assert!(after.contains(line), "lost in the form: {line:.200}");
    }
    assert!(after.contains("one more thing"));
    assert_eq!(
        after.matches(&"y".repeat(3500)).count(),
        1,
        "the long line whole, once"
    );
    assert!(after.contains("[link 59](https://example.org/59)"));
    bot.stop().await;
}

/// Last meeting: maria planned an item that is only a link with an empty label, and enough
/// long items that what she carries is longer than a section.
fn last_meeting() -> String {
    let mut next = String::from("    - [](https://example.org/only-a-link)\n");
    for i in 0..30 {
        next.push_str(&format!(
            "    - planned item {i} [spec {i}](https://example.org/spec/{i}) & {}\n",
            "detail ".repeat(12)
        ));
    }
    format!(
        "# Team Orbit Planning 2024-03-11\n\n## Async Updates\n\n@maria\n- ⏭ Next:\n{next}\n## Notes/Questions\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_a_bare_link_is_prompted_and_a_long_carry_is_shown_whole() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let sync = nine + chrono::Duration::minutes(10);
    let mut bot = Bot::builder(&emu)
        .prompt_at(nine)
        .sync_at(sync)
        .post_before("1m")
        .remind_after("1h")
        .build();
    std::fs::write(bot.dir.path().join("last.md"), last_meeting()).unwrap();
    bot.cli(&["import", "--team", "orbit", "last.md"]);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(nine).await;

    // The prompt goes out (Slack would refuse an empty option), the bare link as its URL.
    wait_prompted(&emu, MARIA).await;
    let dm = emu.dm_channel(MARIA);
    let prompt = emu.messages(&dm)[0].clone();
    let blocks = prompt.blocks.clone().unwrap();
    assert_within_limits(&blocks, 50);
    let options: Vec<String> = blocks
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "checkboxes")
        .flat_map(|e| e["options"].as_array().cloned().unwrap_or_default())
        .map(|o| o["text"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(options[0], "https://example.org/only-a-link");
    let listed = sections_text(&blocks);
    assert_slack_text(&listed);
    assert!(
        listed.contains("• <https://example.org/only-a-link>"),
        "{listed:.500}"
    );
    assert!(listed.contains("<https://example.org/spec/29|spec 29> &amp; detail"));

    // All shipped: the summary of what was carried is past a section, and shown whole.
    emu.send_interaction(emu.click(MARIA, &dm, &prompt.ts, "carry_all").unwrap())
        .ack(WAIT)
        .await
        .expect("acked");
    let updated = emu
        .wait_for_message(&dm, |m| m.ts == prompt.ts && !m.history.is_empty(), WAIT)
        .await;
    let blocks = updated.blocks.clone().unwrap();
    assert_within_limits(&blocks, 50);
    let shown = sections_text(&blocks);
    assert_slack_text(&shown);
    assert!(shown.contains("Carried into *Shipped*"), "{shown:.300}");
    assert!(
        shown.contains("<https://example.org/spec/29|spec 29> &amp; detail"),
        "the last item"
    );
    let answer = emu
        .wait_for_message(
            &dm,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("It is part of your update"))
            },
            WAIT,
        )
        .await;
    assert_slack_text(answer.text.as_deref().unwrap());
    let notes = bot.cli(&["compile", "--team", "orbit"]);
    assert!(
        notes.contains("[spec 29](https://example.org/spec/29) & detail"),
        "{notes}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_past_one_message_goes_on_in_more_thread_replies() {
    let emu = emulator().await;
    // The clock stays at 08:00: no prompt or post of the schedule's during the test.
    let mut bot = Bot::builder(&emu)
        .team("updates = \"thread\"")
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // Four messages of 39,000 characters (Slack's messages hold 40,000): 156,000 in all, more
    // than the 50 sections of 3,000 one message can show.
    let mine = |emu: &Emulator| -> Vec<slack_emulator::Message> {
        emu.messages(CHANNEL)
            .into_iter()
            // Only maria answers: every reply in the cycle's thread is a part of her update.
            .filter(|m| m.thread_ts.is_some())
            .collect()
    };
    let mut sent = Vec::new();
    for k in 0..4 {
        let lines: String = (0..390)
            .map(|i| format!("• msg {k} line {i:03} {}\n", "w".repeat(80)))
            .collect();
        let text = if k == 0 {
            format!("Shipped:\n{lines}")
        } else {
            lines
        };
        let event = events::dm_message(MARIA, &text);
        sent.push((event["ts"].as_str().unwrap().to_string(), text.clone()));
        emu.send_event(event).ack(WAIT).await.expect("acked");
        let last = format!("msg {k} line 389");
        let deadline = Instant::now() + WAIT;
        while !mine(&emu).iter().any(|m| {
            m.blocks
                .as_ref()
                .is_some_and(|b| b.to_string().contains(&last))
        }) {
            assert!(
                Instant::now() < deadline,
                "message {k} not shown; log:\n{}",
                bot.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let replies = mine(&emu);
    assert!(replies.len() >= 2, "{} replies", replies.len());
    let mut shown = String::new();
    for m in &replies {
        let blocks = m.blocks.clone().unwrap();
        assert_within_limits(&blocks, 50);
        assert!(len(m.text.as_deref().unwrap()) <= 40_000);
        shown.push_str(&sections_text(&blocks));
        shown.push('\n');
    }
    for k in 0..4 {
        for i in [0, 200, 389] {
            assert!(
                shown.contains(&format!("msg {k} line {i:03} ")),
                "msg {k} line {i} missing"
            );
        }
    }

    // She cuts the last three messages down: the replies they needed say so.
    for (ts, before) in &sent[1..] {
        emu.send_event(events::message_changed(
            MARIA,
            &emu.dm_channel(MARIA),
            ts,
            "• short now",
            before,
        ))
        .ack(WAIT)
        .await
        .expect("acked");
    }
    let deadline = Instant::now() + WAIT;
    while !mine(&emu)
        .iter()
        .any(|m| m.text.as_deref().is_some_and(|t| t.contains("shorter now")))
    {
        assert!(
            Instant::now() < deadline,
            "no part says it is not needed; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bot.stop().await;
}
