//! Every shape of DM real Slack sends, end to end: the real `standup-bot run` binary against
//! the emulator, with files, edits, deletions, thread replies, broadcasts, `/me` and the rich
//! text blocks of Slack's composer, checked in the notes the bot posts.

use std::time::Duration;

use crate::support::*;
use serde_json::{Value, json};
use slack_emulator::{Emulator, events};

/// Waits until `user` has had `n` confirmations ("Got it…") in their DM.
async fn confirmed(emu: &Emulator, user: &str, n: usize) {
    let dm = emu.dm_channel(user);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = emu
            .messages(&dm)
            .iter()
            .filter(|m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it")))
            .count();
        if got >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user} had {got} of {n} confirmations: {:?}",
            emu.messages(&dm)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn send(emu: &Emulator, event: Value) {
    emu.send_event(event).ack(WAIT).await.expect("acked");
}

/// The text of `handle`'s update in the notes: from `@handle` to the next blank line.
fn update_of<'a>(notes: &'a str, handle: &str) -> &'a str {
    let start = notes
        .find(&format!("\n@{handle}\n"))
        .unwrap_or_else(|| panic!("no @{handle} in\n{notes}"))
        + 1;
    let rest = &notes[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_edits_deletions_threads_and_rich_text_reach_the_notes() {
    let emu = emulator().await;
    let nine = monday_8am() + chrono::Duration::hours(1);
    let mut bot = Bot::builder(&emu)
        .prompt_at(nine)
        .sync_at(nine + chrono::Duration::days(1))
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());
    bot.run_until(nine).await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted at 09:00");
    }

    // maria shares a screenshot with her update, then edits the text; the file stays.
    let shared = emu.file_share(
        MARIA,
        &emu.dm_channel(MARIA),
        "Shipped:\n• new dashboard",
        &[("dashboard.png", "image/png")],
    );
    let permalink = shared["files"][0]["permalink"]
        .as_str()
        .unwrap()
        .to_string();
    send(&emu, shared.clone()).await;
    confirmed(&emu, MARIA, 1).await;
    send(
        &emu,
        events::edit_of(&shared, "Shipped:\n• new dashboard, with dark mode", None),
    )
    .await;
    confirmed(&emu, MARIA, 2).await;

    // kenji sends a message to the wrong window and deletes it (Slack's own example of a
    // deletion names no author: the bot knows whose message it was).
    let kenji_dm = emu.dm_channel(KENJI);
    send(
        &emu,
        events::dm_message(KENJI, "Done: fixed the flaky test"),
    )
    .await;
    confirmed(&emu, KENJI, 1).await;
    let oops = events::dm_message(KENJI, "Blocked: lunch order is late");
    let oops_ts = oops["ts"].as_str().unwrap().to_string();
    send(&emu, oops).await;
    confirmed(&emu, KENJI, 2).await;
    emu.wait_for_message(
        CHANNEL,
        |m| m.text.as_deref().is_some_and(|t| t.contains("lunch order")),
        WAIT,
    )
    .await;
    send(&emu, events::message_deleted(&kenji_dm, &oops_ts, None)).await;
    confirmed(&emu, KENJI, 3).await;

    // li answers in the prompt's thread, adds a `/me`, then a reply also sent to the DM.
    let li_dm = emu.dm_channel(LI);
    let prompt = emu.messages(&li_dm)[0].clone();
    let bot_user = emu.config().bot_user_id.clone();
    send(
        &emu,
        events::thread_reply(
            LI,
            &li_dm,
            &prompt.ts,
            &bot_user,
            "In progress:\n- Large uploads",
        ),
    )
    .await;
    confirmed(&emu, LI, 1).await;
    send(
        &emu,
        events::me_message(LI, &li_dm, "is reviewing the storage doc"),
    )
    .await;
    confirmed(&emu, LI, 2).await;
    let root = json!({"type": "message", "user": bot_user, "text": prompt.text, "ts": prompt.ts});
    send(
        &emu,
        events::thread_broadcast(LI, &li_dm, &root, "Next: finish the API work"),
    )
    .await;
    confirmed(&emu, LI, 3).await;

    // zoe writes with the composer: bold headings, a nested list, a link, a mention and an
    // emoji with a skin tone, and "Next week" after "This week".
    let text = |t: &str| json!({"type": "text", "text": t});
    let bold = |t: &str| json!({"type": "text", "text": t, "style": {"bold": true}});
    let section = |elements: Vec<Value>| json!({"type": "rich_text_section", "elements": elements});
    let list = |indent: u64, items: Vec<Value>| json!({"type": "rich_text_list", "style": "bullet", "indent": indent, "border": 0, "elements": items});
    let blocks = json!([{
        "type": "rich_text",
        "block_id": "z0e",
        "elements": [
            section(vec![bold("This week:"), text("\n")]),
            list(0, vec![section(vec![
                text("ship the "),
                json!({"type": "link", "url": "https://example.org/exporter", "text": "exporter"}),
            ])]),
            list(1, vec![section(vec![
                text("with "),
                json!({"type": "user", "user_id": MARIA}),
                text(" "),
                json!({"type": "emoji", "name": "wave", "unicode": "1f44b-1f3fc", "skin_tone": 3}),
            ])]),
            section(vec![bold("Next week:"), text("\n")]),
            list(0, vec![section(vec![text("docs < 5 pages :flag-de:")])]),
        ],
    }]);
    let mut zoe = events::dm_message(
        ZOE,
        &format!(
            "*This week:*\n• ship the <https://example.org/exporter|exporter>\n    ◦ with <@{MARIA}> :wave::skin-tone-3:\n*Next week:*\n• docs &lt; 5 pages :flag-de:"
        ),
    );
    zoe["blocks"] = blocks;
    send(&emu, zoe).await;
    confirmed(&emu, ZOE, 1).await;

    emu.send_slash_command("/standup", "post", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let deadline = tokio::time::Instant::now() + WAIT;
    let notes = loop {
        if let Some(file) = emu.files().into_iter().find(|f| f.title.is_some()) {
            break file.content;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notes; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(
        update_of(&notes, "maria"),
        format!(
            "@maria\n- 🚢 Shipped:\n    - new dashboard, with dark mode\n    - [dashboard.png]({permalink})"
        ),
        "{notes}"
    );
    assert_eq!(
        update_of(&notes, "kenji"),
        "@kenji\n- 🚢 Shipped:\n    - fixed the flaky test",
        "{notes}"
    );
    assert_eq!(
        update_of(&notes, "li"),
        "@li\n- 🚧 In progress:\n    - Large uploads\n    - is reviewing the storage doc\n- ⏭ Next:\n    - finish the API work",
        "{notes}"
    );
    assert_eq!(
        update_of(&notes, "zoe"),
        "@zoe\n- This week:\n    - ship the [exporter](https://example.org/exporter)\n        - with @maria 👋🏼\n- Next week:\n    - docs < 5 pages 🇩🇪",
        "{notes}"
    );
    // The deleted blocker was resolved on its flag, and nothing was deleted from the store.
    emu.wait_for_message(
        CHANNEL,
        |m| m.text.as_deref().is_some_and(|t| t.contains("lunch order")) && !m.history.is_empty(),
        WAIT,
    )
    .await;

    // `/standup blocked` text arrives escaped, with mentions as Slack writes them
    // (`should_escape: true`): it is decoded like a DM. (Links are decoded by the same
    // conversion; how a flag shows one in Slack is the outgoing conversion's business.)
    let answer = emu
        .send_slash_command(
            "/standup",
            &format!("blocked waiting on <@{MARIA}|maria> &amp; <#{CHANNEL}|team-orbit> :+1::skin-tone-2:"),
            KENJI,
            CHANNEL,
        )
        .ack(WAIT)
        .await
        .expect("acked");
    let said = answer["text"].as_str().unwrap_or_default();
    assert!(said.contains("waiting on @maria &amp; "), "{answer}");
    assert!(!said.contains("&amp;amp;"), "{answer}");
    assert!(said.contains("👍🏻"), "{answer}");
    bot.stop().await;
    let db = bot.db();
    let raised = db.text(
        "SELECT text FROM blockers WHERE source <> 'update' ORDER BY id DESC LIMIT 1",
        &[],
    );
    assert_eq!(raised, "waiting on @maria & #team-orbit 👍🏻");
    let kept = db.int(
        "SELECT count(*) FROM replies WHERE slack_ts = $1",
        &[&oops_ts],
    );
    assert_eq!(
        kept, 2,
        "the deleted message and its deletion are both kept"
    );
}

/// The emulator's builders send what Slack sends: every field of the real payloads in
/// `tests/fixtures/slack/` is there, and the bot reads both the same way.
#[tokio::test]
async fn the_emulator_builds_the_shapes_slack_sends() {
    use standup_bot::slack::message::{Change, read};
    let fixture = |name: &str| -> Value {
        let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()).unwrap()["event"]
            .clone()
    };
    let missing = |built: &Value, real: &Value, ignore: &[&str]| -> Vec<String> {
        real.as_object()
            .unwrap()
            .keys()
            .filter(|k| !ignore.contains(&k.as_str()) && built.get(k.as_str()).is_none())
            .cloned()
            .collect()
    };
    let emu = emulator().await;
    let dm = emu.dm_channel(MARIA);
    // Composer-only fields (`blocks`, `team`, `client_msg_id`) are left to the test.
    let composer = ["blocks", "team", "client_msg_id"];

    let shared = emu.file_share(
        MARIA,
        &dm,
        "see the screenshot",
        &[("shot.png", "image/png")],
    );
    let real = fixture("file_share_im.json");
    assert_eq!(missing(&shared, &real, &composer), Vec::<String>::new());
    let real_file = &real["files"][0];
    let file_fields = [
        "name",
        "title",
        "mimetype",
        "permalink",
        "url_private",
        "user",
        "id",
    ];
    for field in file_fields {
        assert!(
            real_file.get(field).is_some() && shared["files"][0].get(field).is_some(),
            "{field}"
        );
    }

    let me = events::me_message(MARIA, &dm, "is doing that thing");
    assert_eq!(
        missing(&me, &fixture("me_message_im.json"), &composer),
        Vec::<String>::new()
    );

    let root =
        json!({"type": "message", "user": MARIA, "text": "first", "ts": "1673464730.703009"});
    let broadcast = events::thread_broadcast(MARIA, &dm, &root, "broadcasting this reply");
    assert_eq!(
        missing(&broadcast, &fixture("thread_broadcast_im.json"), &composer),
        Vec::<String>::new()
    );

    let deleted = events::message_deleted(&dm, "1358878749.000002", None);
    assert_eq!(
        missing(&deleted, &fixture("message_deleted_im.json"), &[]),
        Vec::<String>::new()
    );

    let edit = events::edit_of(&shared, "see the screenshot, v2", None);
    let real_edit = fixture("message_changed_im.json");
    assert_eq!(missing(&edit, &real_edit, &[]), Vec::<String>::new());
    assert_eq!(
        missing(&edit["message"], &real_edit["message"], &[]),
        Vec::<String>::new()
    );

    // Read alike: the builders' events mean what Slack's do.
    assert!(
        matches!(read(&shared), Some(Change::Wrote { text, .. }) if text.starts_with("see the screenshot\n• <https://"))
    );
    assert!(matches!(read(&me), Some(Change::Wrote { text, .. }) if text == "is doing that thing"));
    assert!(
        matches!(read(&broadcast), Some(Change::Wrote { text, .. }) if text == "broadcasting this reply")
    );
    assert!(
        matches!(read(&deleted), Some(Change::Deleted { ts, .. }) if ts == "1358878749.000002")
    );
    assert!(
        matches!(read(&edit), Some(Change::Wrote { edited: true, ts, .. }) if ts == shared["ts"].as_str().unwrap())
    );
}
