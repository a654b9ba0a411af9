//! Follow-through from one cycle to the next, as members meet it: the bot in-process against
//! the local Slack emulator, on a test clock. The first cycle is a past meeting loaded with
//! `standup-bot import`; the bot's own cycle is the second.

use crate::support::*;
use serde_json::Value;
use slack_emulator::{User, events};

const STRANGER: &str = "U0OTHER001";

/// Last meeting's notes: maria planned three things (a link, nesting, markup characters),
/// kenji one.
const LAST_MEETING: &str = "# Team Orbit Planning 2024-03-11

## Async Updates

@maria
- 🚢 Shipped:
    - the exporter
- ⏭ Next:
    - [Importer](https://example.org/importer) for old notes
    - review the storage doc
        - with kenji
    - docs & <examples>

@kenji
- ⏭ Next:
    - Ship the aggregator library

## Notes/Questions
";

/// The values of the checkbox options of a prompt, in order.
/// The texts of the checkbox options in a message's blocks, as a member sees them.
fn option_texts(blocks: &Value) -> Vec<String> {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "checkboxes")
        .flat_map(|e| e["options"].as_array().cloned().unwrap_or_default())
        .map(|o| o["text"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_cycles_plan_is_carried_with_one_click() {
    let emu = emulator_with(&[User::new(STRANGER, "other")]).await;
    let prompt = monday_8am() + chrono::Duration::hours(1);
    let sync = prompt + chrono::Duration::minutes(10);
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("1m")
        .remind_after("1h")
        .team("planned_vs_done = true")
        .build();
    // A second team, so that someone shares no team with maria.
    bot.edit_config(|text| {
        format!(
            "{text}\n[[team]]\nid = \"other\"\nname = \"Other\"\nformat = \"planning\"\nchannel = \"{CHANNEL}\"\nprompt = \"0 9 1 1 *\"\nsync = \"0 10 1 1 *\"\npost_before = \"30m\"\nremind_after = \"2h\"\nmembers = [{{ user = \"{STRANGER}\", handle = \"other\" }}]\n"
        )
    });
    std::fs::write(bot.dir.path().join("last.md"), LAST_MEETING).unwrap();
    bot.cli(&["import", "--team", "orbit", "last.md"]);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(prompt).await;

    // The prompt lists what maria planned, each item with a checkbox, and the carry buttons.
    wait_prompted(&emu, MARIA).await;
    let dm = emu.dm_channel(MARIA);
    let prompt_msg = emu.messages(&dm)[0].clone();
    let blocks = prompt_msg.blocks.clone().unwrap();
    let shown = blocks.to_string();
    assert!(
        shown.contains("Last time (2024-03-11) you planned"),
        "{shown}"
    );
    assert!(
        shown.contains("<https://example.org/importer|Importer> for old notes"),
        "{shown}"
    );
    assert!(
        shown.contains("docs &amp; &lt;examples&gt;"),
        "escaped: {shown}"
    );
    for action in ["carry_checked", "carry_all", "carry_keep"] {
        assert!(shown.contains(action), "{shown}");
    }
    let options = option_texts(&blocks);
    assert_eq!(options.len(), 3, "one checkbox per planned item: {shown}");
    // Li planned nothing: her prompt is the plain one.
    wait_prompted(&emu, LI).await;
    let li_prompt = emu.messages(&emu.dm_channel(LI))[0].clone();
    assert!(
        !li_prompt
            .blocks
            .unwrap()
            .to_string()
            .contains("carry_checked")
    );

    // Maria ticks the first two and carries them into Shipped.
    let ticks = [options[0].as_str(), options[1].as_str()];
    let click = emu
        .click_ticking(MARIA, &dm, &prompt_msg.ts, "carry_checked", &ticks)
        .expect("the prompt offers the carry button and these items");
    emu.send_interaction(click.clone())
        .ack(WAIT)
        .await
        .expect("acked");
    let confirmation = emu
        .wait_for_message(
            &dm,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Carried into *Shipped*"))
            },
            WAIT,
        )
        .await;
    let said = confirmation.text.unwrap();
    assert!(
        said.contains(
            "<https://example.org/importer|Importer> for old notes; review the storage doc."
        ),
        "{said}"
    );
    // The prompt now says what was carried, and its carry buttons are gone.
    let updated = emu
        .messages(&dm)
        .into_iter()
        .find(|m| m.ts == prompt_msg.ts)
        .unwrap();
    let updated_blocks = updated.blocks.unwrap().to_string();
    assert!(
        !updated_blocks.contains("carry_checked"),
        "{updated_blocks}"
    );
    assert!(
        updated_blocks.contains("Carried into *Shipped*"),
        "{updated_blocks}"
    );

    // She adds the rest of her update in the DM; it combines with the carry.
    emu.send_event(events::dm_message(MARIA, "Next:\n• more tests"))
        .ack(WAIT)
        .await
        .expect("acked");
    let got = emu
        .wait_for_message(
            &dm,
            |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
            WAIT,
        )
        .await
        .text
        .unwrap();
    assert!(
        got.starts_with("Got it. 🚢 Shipped: 3 items, ⏭ Next: 1 item."),
        "{got}"
    );
    assert!(
        !got.contains("Note:"),
        "no notes about the carry's headings: {got}"
    );

    // The same click again (a double click, a stale client) replaces the carry: no duplicates.
    // Slack gives every click its own trigger_id (one that came twice with the same one would
    // be a redelivery, recognised and handled once).
    let mut again = click;
    again["trigger_id"] = emu.new_trigger_id().into();
    emu.send_interaction(again).ack(WAIT).await.expect("acked");
    let deadline = std::time::Instant::now() + WAIT;
    let confirmations = || {
        emu.messages(&dm)
            .iter()
            .filter(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("part of your update"))
            })
            .count()
    };
    while confirmations() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no second confirmation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // History: kenji (a teammate) sees maria's two updates, newest first, as the notes show them.
    let history = command(&emu, KENJI, "history @maria").await;
    let today = sync.date_naive().to_string();
    let first = history.find(&today).expect("this cycle");
    let second = history.find("2024-03-11").expect("the imported cycle");
    assert!(first < second, "newest first: {history}");
    assert!(history.contains("last 2 updates"), "{history}");
    assert!(
        history.contains("@maria\n- 🚢 Shipped:\n    - [Importer](https://example.org/importer) for old notes\n    - review the storage doc\n        - with kenji\n- ⏭ Next:\n    - more tests"),
        "{history}"
    );
    let mention = command(&emu, KENJI, &format!("history <@{MARIA}|maria> 1")).await;
    assert!(mention.contains("last update*"), "{mention}");
    assert!(!mention.contains("2024-03-11"), "{mention}");
    let own = command(&emu, LI, "history").await;
    assert!(own.contains("No updates yet"), "{own}");
    let range = command(&emu, MARIA, "history 11").await;
    assert!(range.contains("out of range"), "{range}");
    let unknown = command(&emu, MARIA, "history @nobody").await;
    assert!(unknown.contains("I don't know `@nobody`"), "{unknown}");
    let stranger = command(&emu, MARIA, "history @other").await;
    assert!(
        stranger.contains("is not in any of your teams"),
        "{stranger}"
    );
    let help = command(&emu, MARIA, "help").await;
    assert!(help.contains("/standup history [@member] [n]"), "{help}");
    bot.stop().await;

    // The compiled notes: carried items under Shipped, exactly as written (link, nesting),
    // once; and the planned-vs-done section.
    let notes = bot.cli(&["compile", "--team", "orbit", "--date", &today]);
    assert!(
        notes.contains("@maria\n- 🚢 Shipped:\n    - [Importer](https://example.org/importer) for old notes\n    - review the storage doc\n        - with kenji\n- ⏭ Next:\n    - more tests\n"),
        "{notes}"
    );
    assert_eq!(
        notes.matches("review the storage doc").count(),
        2,
        "{notes}"
    );
    assert!(
        notes.contains("## Planned vs done\n\n- @maria: 2 of 3 planned items shipped — ✅ [Importer](https://example.org/importer) for old notes; ✅ review the storage doc; ⏳ docs & <examples>\n- @kenji: no update yet — planned: ⏳ Ship the aggregator library\n\n## Notes/Questions"),
        "{notes}"
    );
}

/// A `standup` team: li's plan was heading text plus an item.
const LAST_STANDUP: &str = "## Standup meeting - 2024-03-11

### Updates since last time

##### @li

Last week:

* Tests for the add pipeline

This week: finish the \"frontend\" work

* light refactoring

### Questions, announcements and comments

### Other business

---
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_as_planned_then_change_of_mind_in_the_standup_format() {
    let emu = emulator().await;
    let prompt = monday_8am() + chrono::Duration::hours(1);
    let sync = prompt + chrono::Duration::minutes(10);
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("1m")
        .remind_after("1h")
        .build();
    bot.edit_config(|text| text.replace("format = \"planning\"", "format = \"standup\""));
    std::fs::write(bot.dir.path().join("last.md"), LAST_STANDUP).unwrap();
    bot.cli(&["import", "--team", "orbit", "last.md"]);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(prompt).await;
    wait_prompted(&emu, LI).await;
    let dm = emu.dm_channel(LI);
    let prompt_msg = emu.messages(&dm)[0].clone();
    let shown = prompt_msg.blocks.clone().unwrap().to_string();
    assert!(shown.contains("Carry checked into Last week"), "{shown}");
    assert_eq!(
        option_texts(&prompt_msg.blocks.unwrap()).len(),
        2,
        "{shown}"
    );
    let click = |action: &str| {
        emu.click(LI, &dm, &prompt_msg.ts, action)
            .unwrap_or_else(|e| panic!("{e}"))
    };

    // Nothing ticked: the member is told what to do, and nothing is recorded.
    emu.send_interaction(click("carry_checked"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Tick the items"))
        },
        WAIT,
    )
    .await;

    // Keep as planned, then a reply with no heading: it goes under Last week, not This week.
    emu.send_interaction(click("carry_keep"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("Kept under *This week*"))
        },
        WAIT,
    )
    .await;
    emu.send_event(events::dm_message(LI, "paired with kenji"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &dm,
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
        WAIT,
    )
    .await;
    let today = sync.date_naive().to_string();
    let preview = command(&emu, LI, "preview").await;
    assert!(
        preview.contains("##### @li\n\nLast week:\n\n* paired with kenji\n\nThis week:\n\n* finish the \"frontend\" work\n* light refactoring\n"),
        "{preview}"
    );

    // A change of mind: all shipped after all. The prompt now offers only Undo (its carry
    // buttons went with the first choice), so Undo first, then Carry all from the plan it
    // offers again.
    emu.send_interaction(click("carry_undo"))
        .ack(WAIT)
        .await
        .expect("acked");
    let first_undo = emu
        .wait_for_message(
            &dm,
            |m| m.text.as_deref().is_some_and(|t| t.starts_with("Undone")),
            WAIT,
        )
        .await;
    emu.wait_for_message(
        &dm,
        |m| {
            m.ts == prompt_msg.ts
                && m.blocks
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("carry_all"))
        },
        WAIT,
    )
    .await;
    emu.send_interaction(click("carry_all"))
        .ack(WAIT)
        .await
        .expect("acked");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("Carried into *Last week*"))
        },
        WAIT,
    )
    .await;
    let preview = command(&emu, LI, "preview").await;
    assert!(
        preview.contains("##### @li\n\nLast week:\n\n* paired with kenji\n* finish the \"frontend\" work\n* light refactoring\n\nThis week:\n\n##### @zoe"),
        "{preview}"
    );

    // Undo: nothing carried, and the prompt offers the plan again.
    let undo = click("carry_undo");
    assert!(
        undo["message"].to_string().contains("carry_undo"),
        "the prompt offers Undo"
    );
    emu.send_interaction(undo).ack(WAIT).await.expect("acked");
    emu.wait_for_message(
        &dm,
        |m| m.ts != first_undo.ts && m.text.as_deref().is_some_and(|t| t.starts_with("Undone")),
        WAIT,
    )
    .await;
    let restored = emu
        .messages(&dm)
        .into_iter()
        .find(|m| m.ts == prompt_msg.ts)
        .unwrap();
    let restored = restored.blocks.unwrap().to_string();
    assert!(
        restored.contains("carry_checked") && !restored.contains("carry_undo"),
        "{restored}"
    );
    bot.stop().await;
    let notes = bot.cli(&["compile", "--team", "orbit", "--date", &today]);
    assert!(
        notes
            .contains("##### @li\n\nLast week:\n\n* paired with kenji\n\nThis week:\n\n##### @zoe"),
        "{notes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_through_can_be_turned_off() {
    let emu = emulator().await;
    let prompt = monday_8am() + chrono::Duration::hours(1);
    let sync = prompt + chrono::Duration::minutes(10);
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("1m")
        .remind_after("1h")
        .team("follow_through = false")
        .build();
    std::fs::write(bot.dir.path().join("last.md"), LAST_MEETING).unwrap();
    bot.cli(&["import", "--team", "orbit", "last.md"]);
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(prompt).await;
    wait_prompted(&emu, MARIA).await;
    let prompt_msg = emu.messages(&emu.dm_channel(MARIA))[0].clone();
    let shown = prompt_msg.blocks.unwrap().to_string();
    assert!(shown.contains("answer_form"), "{shown}");
    assert!(!shown.contains("you planned"), "{shown}");
    assert!(!shown.contains("checkboxes"), "{shown}");
    bot.stop().await;
}
