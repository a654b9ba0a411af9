//! Strict mode end to end: Slack's answers over HTTP, and a test that breaks a rule fails.

use crate::common::*;
use serde_json::{Value, json};
use slack_emulator::{Emulator, Rule};

async fn call(emu: &Emulator, method: &str, params: Value) -> Value {
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json; charset=utf-8"),
    ];
    let url = format!("{}/{method}", emu.api_url());
    raw("POST", &url, &headers, &params.to_string()).await.1
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

#[tokio::test]
async fn a_payload_at_the_limits_passes_without_violations() {
    let emu = Emulator::start(workspace()).await;
    let body = call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "x".repeat(40_000),
               "blocks": [section(&"y".repeat(3000))]}),
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    assert!(emu.violations().is_empty());
}

#[tokio::test]
async fn slacks_refusals_come_back_with_slacks_bodies_and_are_recorded() {
    let emu = Emulator::start(workspace()).await;
    let body = call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "t", "blocks": [section(&"y".repeat(3001))]}),
    )
    .await;
    assert_eq!(body["error"], "invalid_blocks");
    assert_eq!(
        body["response_metadata"]["messages"][0],
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    );
    assert!(
        emu.messages("C0STANDUP").is_empty(),
        "a refused post is not stored"
    );
    let body = call(
        &emu,
        "views.publish",
        json!({"user_id": "U0ADA", "view": {"type": "home", "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}}
        ]}}),
    )
    .await;
    assert_eq!(body["error"], "invalid_arguments");
    assert_eq!(
        body["response_metadata"]["messages"][0],
        "[ERROR] must be less than 151 characters [json-pointer:/view/blocks/0/text/text]"
    );
    let body = call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "t", "blocks": "[{\"type\""}),
    )
    .await;
    assert_eq!(body, json!({"ok": false, "error": "invalid_blocks_format"}));
    let rules: Vec<Rule> = emu.take_violations().into_iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        [
            Rule::InvalidBlocks,
            Rule::InvalidArguments,
            Rule::InvalidBlocksFormat
        ]
    );
}

#[tokio::test]
async fn scopes_are_the_manifests_or_the_tests() {
    let emu = Emulator::start(workspace().with_scopes(["chat:write"])).await;
    let body = call(&emu, "users.info", json!({"user": "U0ADA"})).await;
    assert_eq!(
        body,
        json!({"ok": false, "error": "missing_scope", "needed": "users:read", "provided": "chat:write"})
    );
    emu.expect_violation(Rule::MissingScope);
    let manifest = Emulator::start(workspace()).await;
    let body = call(
        &manifest,
        "conversations.history",
        json!({"channel": "C0STANDUP"}),
    )
    .await;
    assert_eq!(
        body["ok"], true,
        "the manifest grants channels:history: {body}"
    );
}

#[tokio::test]
async fn lint_and_unknown_arguments_are_recorded_but_answered_like_slack() {
    let emu = Emulator::start(workspace()).await;
    let body = call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "see [PR](https://x.y/1) & <!here>", "colour": "red"}),
    )
    .await;
    assert_eq!(body["ok"], true, "Slack posts it, and shows it wrong");
    let fields = emu.slash_command_fields("/standup", "", "U0ADA", "C0STANDUP");
    let url = fields
        .iter()
        .find(|(k, _)| k == "response_url")
        .unwrap()
        .1
        .clone();
    let (status, _) = raw(
        "POST",
        &url,
        &[("content-type", "application/json")],
        &json!({"text": "1 < 2"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let mut found: Vec<(String, Rule, String)> = emu
        .take_violations()
        .into_iter()
        .map(|v| (v.method, v.rule, v.path))
        .collect();
    found.sort_by_key(|(m, r, p)| (m.clone(), r.as_str(), p.clone()));
    let expected = [
        ("chat.postMessage", Rule::BroadcastMention, "/text"),
        ("chat.postMessage", Rule::MarkdownLink, "/text"),
        ("chat.postMessage", Rule::UnescapedControlCharacter, "/text"),
        ("chat.postMessage", Rule::UnknownArgument, "colour"),
        ("response_url", Rule::UnescapedControlCharacter, "/text"),
    ]
    .map(|(m, r, p)| (m.to_string(), r, p.to_string()));
    assert_eq!(found, expected);
}

#[tokio::test]
#[should_panic(expected = "chat.postMessage invalid_blocks at /blocks/0/text/text")]
async fn an_unexpected_violation_fails_the_test_when_the_emulator_goes() {
    let emu = Emulator::start(workspace()).await;
    call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "blocks": [section(&"y".repeat(3001))]}),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "expected violation(s) that never happened: msg_too_long")]
async fn an_expected_violation_that_never_happens_fails_the_test() {
    let emu = Emulator::start(workspace()).await;
    emu.expect_violation(Rule::MsgTooLong);
    call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "short"}),
    )
    .await;
}
