//! The readers against Slack's payloads in `tests/fixtures/slack/` (sources in its README).

use serde_json::Value;

use super::*;
use standup_core::parse::{NoNames, parse_reply};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn event(name: &str) -> Value {
    fixture(name)["event"].clone()
}

fn wrote(change: Option<Change>) -> (String, String, String, String, bool) {
    match change {
        Some(Change::Wrote {
            user,
            ts,
            version,
            text,
            edited,
        }) => (user, ts, version, text, edited),
        other => panic!("expected words, got {other:?}"),
    }
}

#[test]
fn a_plain_dm_is_read_from_its_blocks() {
    let (user, ts, version, text, edited) = wrote(read(&event("message_im.json")));
    assert_eq!(
        (
            user.as_str(),
            ts.as_str(),
            version.as_str(),
            text.as_str(),
            edited
        ),
        (
            "U043H11ES4V",
            "1664408649.009629",
            "1664408649.009629",
            "test",
            false
        )
    );
}

#[test]
fn a_file_share_keeps_its_text_and_links_the_file() {
    let (user, _, _, text, _) = wrote(read(&event("file_share_im.json")));
    assert_eq!(user, "U043H11ES4V");
    assert_eq!(
        text,
        "message message message\n• <https://jadeapptesting.slack.com/files/U043H11ES4V/F04EEHX1EES/namenamename.txt|namenamename.txt>"
    );
    // In the notes: the words, and the file as a Markdown link.
    let parsed = parse_reply(&text, standup_core::domain::Format::Planning, &NoNames);
    let items: Vec<&str> = parsed.update.sections[0]
        .items
        .iter()
        .map(|i| i.text.as_str())
        .collect();
    assert_eq!(
        items,
        [
            "message message message",
            "[namenamename.txt](https://jadeapptesting.slack.com/files/U043H11ES4V/F04EEHX1EES/namenamename.txt)"
        ]
    );
}

#[test]
fn a_file_the_bot_cannot_see_is_still_recorded() {
    let (_, _, _, text, _) = wrote(read(&event("file_share_slack_connect_im.json")));
    assert_eq!(text, "message message message\n• file F12345678");
}

#[test]
fn thread_replies_broadcasts_and_me_messages_count() {
    let (user, ts, _, text, _) = wrote(read(&event("thread_reply_im.json")));
    assert_eq!(
        (user.as_str(), ts.as_str(), text.as_str()),
        ("U043H11ES4V", "1664408649.009700", "test")
    );
    let (_, ts, _, text, _) = wrote(read(&event("thread_broadcast_im.json")));
    assert_eq!(
        (ts.as_str(), text.as_str()),
        ("1673464745.620769", "broadcasting this reply")
    );
    let (_, _, _, text, _) = wrote(read(&event("me_message_im.json")));
    assert_eq!(text, "is doing that thing");
}

#[test]
fn an_edit_names_the_message_and_its_own_version() {
    let (user, ts, version, text, edited) = wrote(read(&event("message_changed_im.json")));
    assert_eq!(
        (
            user.as_str(),
            ts.as_str(),
            version.as_str(),
            text.as_str(),
            edited
        ),
        (
            "U123ABC456",
            "1355517523.000005",
            "1358878755.000001",
            "Hello, world!",
            true
        )
    );
}

#[test]
fn an_edit_of_a_file_share_keeps_its_files() {
    let mut edit = event("message_changed_im.json");
    let shared = event("file_share_im.json");
    edit["message"]["files"] = shared["files"].clone();
    edit["message"]["text"] = Value::from("now with the file");
    let (_, _, _, text, _) = wrote(read(&edit));
    assert!(
        text.starts_with("now with the file\n• <https://jadeapptesting"),
        "{text}"
    );
}

#[test]
fn a_deletion_names_the_message() {
    assert_eq!(
        read(&event("message_deleted_im.json")),
        Some(Change::Deleted {
            user: None,
            ts: "1358878749.000002".into(),
            version: "1358878755.000001".into(),
        })
    );
    let mut with_previous = event("message_deleted_channel.json");
    with_previous["channel_type"] = Value::from("im");
    assert_eq!(
        read(&with_previous),
        Some(Change::Deleted {
            user: Some("U043H11ES4V".into()),
            ts: "1663966382.046509".into(),
            version: "1663969383.001500".into(),
        })
    );
}

#[test]
fn a_tombstone_is_a_deletion() {
    let mut edit = event("message_changed_im.json");
    edit["message"]["subtype"] = Value::from("tombstone");
    edit["message"]["text"] = Value::from("This message was deleted.");
    assert!(matches!(read(&edit), Some(Change::Deleted { ts, .. }) if ts == "1355517523.000005"));
}

#[test]
fn the_captured_rich_text_reads_as_its_text_says() {
    // Slack's own `text` of this message, and what the blocks give.
    let mut captured = event("rich_text_channel.json");
    let text = captured["text"].as_str().unwrap().to_string();
    captured["channel_type"] = Value::from("im");
    let (_, _, _, read_text, _) = wrote(read(&captured));
    assert_eq!(read_text, text);
}

#[test]
fn other_conversations_bots_and_unfurls_are_not_answers() {
    assert_eq!(read(&event("rich_text_channel.json")), None);
    assert_eq!(read(&event("message_deleted_channel.json")), None);
    assert_eq!(read(&event("message_changed_unfurl_channel.json")), None);
    let mut bot = event("message_im.json");
    bot["bot_id"] = Value::from("B0123");
    assert_eq!(read(&bot), None);
    let mut join = event("message_im.json");
    join["subtype"] = Value::from("channel_join");
    assert_eq!(read(&join), None);
}

#[test]
fn an_unfurl_in_a_dm_changes_no_words() {
    let mut unfurl = event("message_changed_unfurl_channel.json");
    unfurl["channel_type"] = Value::from("im");
    assert_eq!(read(&unfurl), None);
}

#[test]
fn rich_text_lists_nesting_links_mentions_and_emoji() {
    let (_, _, _, text, _) = wrote(read(&event("update_rich_text_im.json")));
    assert_eq!(
        text,
        ":ship: *Shipped:*\n• <https://example.org/pr/212|PR #212> &amp; docs\n    ◦ reviewed by <@U024BE7LH> :+1::skin-tone-3:\n*Next week:*\n1. Start on <#C043YJGBY49>\n:no_entry: Blocked: <!here> waiting on infra"
    );
    let names: std::collections::HashMap<String, String> =
        [("U024BE7LH".to_string(), "maria".to_string())].into();
    let parsed = parse_reply(&text, standup_core::domain::Format::Planning, &names);
    let shipped = &parsed.update.sections[0];
    assert_eq!(
        shipped.items[0].text,
        "[PR #212](https://example.org/pr/212) & docs"
    );
    assert_eq!(shipped.items[0].children[0].text, "reviewed by @maria 👍🏼");
    assert_eq!(parsed.update.blockers(), ["@here waiting on infra"]);
}

#[test]
fn the_sdk_rich_text_sample_reads_in_full() {
    let block = fixture("rich_text_complex_block.json");
    let text = rich_text::to_mrkdwn(&Value::Array(vec![block]), "").expect("rich text");
    assert_eq!(
        text,
        "*Hey!* this is ~very~ rich text `block` _test_ links<https://slack.com|Slack website!>\n\
         1. a\n2. b\n    1. bb\n        1. BBB\n3. c\n\n\
         • todo\n• todo\n• todo\n\n\
         &gt; this is very important\n\
         ```print(\"Hello world\")```\n\
         <@WJC6QG0MS> <!subteam^S01BL602YLU> <#C02GD0YEHDJ>August 10, 2021timey16286330891628633089"
    );
}

#[test]
fn the_docs_emoji_sample_becomes_unicode_in_the_notes() {
    let text =
        rich_text::to_mrkdwn(&fixture("rich_text_emoji_blocks.json"), "").expect("rich text");
    assert_eq!(text, ":basketball: :snowboarder: :checkered_flag:");
    assert_eq!(
        standup_core::parse::mrkdwn::to_markdown(&text, &NoNames),
        "🏀 🏂 🏁"
    );
}

#[test]
fn text_is_the_fallback_without_rich_text() {
    let me = event("me_message_im.json");
    assert!(me.get("blocks").is_none());
    let (_, _, _, text, _) = wrote(read(&me));
    assert_eq!(text, "is doing that thing");
}
