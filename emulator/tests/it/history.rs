use crate::common::*;
use serde_json::{Value, json};
use slack_emulator::{Emulator, RateLimits, Rule};
use slack_morphism::prelude::*;
use std::collections::HashMap;

/// A raw Web API call with the bot token, form- or JSON-encoded: the body as JSON.
async fn call(emu: &Emulator, method: &str, params: Value) -> Value {
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json; charset=utf-8"),
    ];
    let url = format!("{}/{method}", emu.api_url());
    raw("POST", &url, &headers, &params.to_string()).await.1
}

/// The same with a form body, as curl and many SDKs send it.
async fn call_form(emu: &Emulator, method: &str, fields: &[(&str, &str)]) -> Value {
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let url = format!("{}/{method}", emu.api_url());
    raw("POST", &url, &headers, &body).await.1
}

async fn post(emu: &Emulator, channel: &str, text: &str, thread_ts: Option<&str>) -> String {
    let mut params = json!({"channel": channel, "text": text});
    if let Some(thread_ts) = thread_ts {
        params["thread_ts"] = json!(thread_ts);
    }
    let body = call(emu, "chat.postMessage", params).await;
    assert_eq!(body["ok"], true, "{body}");
    body["ts"].as_str().unwrap().to_string()
}

fn texts(body: &Value) -> Vec<&str> {
    body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {body}"))
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn history_pages_newest_first_without_replies_or_ephemerals() {
    let emu = Emulator::start(workspace()).await;
    let mut sent = Vec::new();
    for n in 1..=5 {
        sent.push(post(&emu, "C0STANDUP", &format!("m{n}"), None).await);
    }
    post(&emu, "C0STANDUP", "a reply", Some(&sent[1])).await;
    post(&emu, "C0STANDUP", "another reply", Some(&sent[1])).await;
    let ephemeral = call(
        &emu,
        "chat.postEphemeral",
        json!({"channel": "C0STANDUP", "user": "U0ADA", "text": "only Ada"}),
    )
    .await;
    assert_eq!(ephemeral["ok"], true);
    post(&emu, "U0ADA", "in another conversation", None).await;

    // slack-morphism's client reads it, two at a time.
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let request = SlackApiConversationsHistoryRequest::new()
            .with_channel("C0STANDUP".into())
            .with_limit(2)
            .opt_cursor(cursor);
        let page = session.conversations_history(&request).await.unwrap();
        pages += 1;
        seen.extend(
            page.messages
                .iter()
                .map(|m| m.content.text.clone().unwrap()),
        );
        assert_eq!(page.has_more, Some(pages < 3));
        cursor = page.response_metadata.and_then(|m| m.next_cursor);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["m5", "m4", "m3", "m2", "m1"]);

    // The raw shape: the bot's messages, a thread parent with its reply count.
    let body = call(
        &emu,
        "conversations.history",
        json!({"channel": "C0STANDUP"}),
    )
    .await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["has_more"], false);
    assert_eq!(body["response_metadata"]["next_cursor"], "");
    let parent = &body["messages"][3];
    assert_eq!(parent["ts"], sent[1].as_str());
    assert_eq!(parent["type"], "message");
    assert_eq!(parent["user"], "U0BOTUSER");
    assert_eq!(parent["bot_id"], "B0BOTID");
    assert_eq!(parent["thread_ts"], sent[1].as_str());
    assert_eq!(parent["reply_count"], 2);
    assert!(body["messages"][0].get("reply_count").is_none());
    assert!(body["messages"][0].get("thread_ts").is_none());

    // oldest / latest are exclusive unless `inclusive`.
    let window = |inclusive: bool| json!({"channel": "C0STANDUP", "oldest": sent[1], "latest": sent[3], "inclusive": inclusive});
    let body = call(&emu, "conversations.history", window(false)).await;
    assert_eq!(texts(&body), ["m3"]);
    let body = call(&emu, "conversations.history", window(true)).await;
    assert_eq!(texts(&body), ["m4", "m3", "m2"]);
    // A form body, as numbers and booleans arrive from curl.
    let body = call_form(
        &emu,
        "conversations.history",
        &[
            ("channel", "C0STANDUP"),
            ("oldest", sent[2].as_str()),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(texts(&body), ["m5"]);
    assert_eq!(body["has_more"], true);

    for (params, error) in [
        (
            json!({"channel": "C0STANDUP", "cursor": "not-a-cursor"}),
            "invalid_cursor",
        ),
        (
            json!({"channel": "C0STANDUP", "oldest": "yesterday"}),
            "invalid_ts_oldest",
        ),
        (
            json!({"channel": "C0STANDUP", "latest": "-1"}),
            "invalid_ts_latest",
        ),
    ] {
        let body = call(&emu, "conversations.history", params).await;
        assert_eq!(body["error"], error, "{body}");
    }
}

#[tokio::test]
async fn history_checks_the_channel_like_slack() {
    let emu = Emulator::start(workspace()).await;
    let dm = emu.dm_channel("U0ADA");
    post(&emu, "U0ADA", "Time for standup", None).await;
    for (channel, expected) in [
        ("C0NOPE", Err("channel_not_found")),
        ("", Err("channel_not_found")),
        ("C0RANDOM", Err("not_in_channel")),
        // A user id is a shortcut for posting, not a conversation to read.
        ("U0ADA", Err("channel_not_found")),
        (dm.as_str(), Ok(vec!["Time for standup"])),
        ("C0STANDUP", Ok(vec![])),
    ] {
        let replies_error = expected.as_ref().err().copied();
        let body = call(&emu, "conversations.history", json!({"channel": channel})).await;
        match expected {
            Ok(messages) => assert_eq!(texts(&body), messages, "{channel}"),
            Err(code) => assert_eq!(body["error"], code, "{channel}"),
        }
        let body = call(
            &emu,
            "conversations.replies",
            json!({"channel": channel, "ts": "1.000001"}),
        )
        .await;
        let code = replies_error.unwrap_or("thread_not_found");
        assert_eq!(body["error"], code, "{channel}");
    }
}

#[tokio::test]
async fn metadata_is_kept_across_updates_and_returned_only_when_asked() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    let payload = HashMap::from([("cycle".to_string(), "orbit|2024-03-11".to_string())]);
    let metadata = SlackMessageMetadata::new("standup_prompt".into()).with_event_payload(payload);
    let posted = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            "C0STANDUP".into(),
            SlackMessageContent::new()
                .with_text("Time for standup".into())
                .with_metadata(metadata.clone()),
        ))
        .await
        .unwrap();
    // A form-encoded post carries metadata as a JSON string; nested values are kept as sent.
    let form = call_form(
        &emu,
        "chat.postMessage",
        &[
            ("channel", "C0STANDUP"),
            ("text", "Notes"),
            (
                "metadata",
                r#"{"event_type":"standup_notes","event_payload":{"version":2,"parts":["a","b"]}}"#,
            ),
        ],
    )
    .await;
    assert_eq!(form["ok"], true, "{form}");
    let plain = post(&emu, "C0STANDUP", "no metadata", None).await;

    // An edit without metadata keeps it.
    session
        .chat_update(&SlackApiChatUpdateRequest::new(
            "C0STANDUP".into(),
            SlackMessageContent::new().with_text("Time for standup (closed)".into()),
            posted.ts.clone(),
        ))
        .await
        .unwrap();
    let stored = emu.messages("C0STANDUP");
    assert_eq!(
        stored[0].metadata,
        Some(
            json!({"event_type": "standup_prompt", "event_payload": {"cycle": "orbit|2024-03-11"}})
        )
    );
    assert_eq!(stored[0].history[0].metadata, stored[0].metadata);
    assert_eq!(
        stored[1].metadata.as_ref().unwrap()["event_payload"]["parts"][1],
        "b"
    );
    assert_eq!(stored[2].metadata, None);

    // Only with include_all_metadata, as on Slack.
    let without = call(
        &emu,
        "conversations.history",
        json!({"channel": "C0STANDUP"}),
    )
    .await;
    assert!(
        without["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("metadata").is_none()),
        "{without}"
    );
    let with = call(
        &emu,
        "conversations.history",
        json!({"channel": "C0STANDUP", "include_all_metadata": true}),
    )
    .await;
    assert_eq!(
        with["messages"][2]["metadata"]["event_type"],
        "standup_prompt"
    );
    assert_eq!(with["messages"][2]["text"], "Time for standup (closed)");
    assert_eq!(
        with["messages"][1]["metadata"]["event_payload"]["version"],
        2
    );
    assert_eq!(with["messages"][0]["ts"], plain.as_str());
    assert!(with["messages"][0].get("metadata").is_none());
    // slack-morphism reads it back (its payload type takes string values only, so not the
    // form post's).
    let history = session
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new()
                .with_channel("C0STANDUP".into())
                .with_include_all_metadata(true)
                .with_oldest(plain.as_str().into())
                .with_inclusive(false)
                .with_latest("9999999999".into()),
        )
        .await
        .unwrap();
    assert!(history.messages.is_empty());
    let history = session
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new()
                .with_channel("C0STANDUP".into())
                .with_include_all_metadata(true)
                .with_latest(posted.ts.clone())
                .with_inclusive(true),
        )
        .await
        .unwrap();
    assert_eq!(history.messages[0].content.metadata, Some(metadata));

    // New metadata replaces the old; bad metadata is refused and changes nothing.
    let update = call_form(
        &emu,
        "chat.update",
        &[
            ("channel", "C0STANDUP"),
            ("ts", plain.as_str()),
            ("metadata", r#"{"event_type":"late","event_payload":{}}"#),
        ],
    )
    .await;
    assert_eq!(update["ok"], true, "{update}");
    assert_eq!(
        emu.messages("C0STANDUP")[2].metadata.as_ref().unwrap()["event_type"],
        "late"
    );
    for bad in [
        json!("{not json"),
        json!({"event_payload": {}}),
        json!({"event_type": "x"}),
        json!({"event_type": "x", "event_payload": "text"}),
        json!(["event_type"]),
    ] {
        let body = call(
            &emu,
            "chat.postMessage",
            json!({"channel": "C0STANDUP", "text": "hi", "metadata": bad}),
        )
        .await;
        assert_eq!(body["error"], "invalid_metadata_format", "{bad}");
        let body = call(
            &emu,
            "chat.update",
            json!({"channel": "C0STANDUP", "ts": plain, "text": "hi", "metadata": bad}),
        )
        .await;
        assert_eq!(body["error"], "invalid_metadata_format", "{bad}");
    }
    assert_eq!(emu.messages("C0STANDUP").len(), 3);
    assert_eq!(
        emu.messages("C0STANDUP")[2].text.as_deref(),
        Some("no metadata")
    );
    // Each refusal is a strict-mode violation, which would fail a bot's test.
    let refused = emu.take_violations();
    assert_eq!(refused.len(), 10, "{refused:#?}");
    assert!(
        refused
            .iter()
            .all(|v| v.rule == Rule::InvalidMetadataFormat)
    );
}

#[tokio::test]
async fn replies_list_the_parent_then_replies_and_a_file_share() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    let parent = post(&emu, "C0STANDUP", "Standup 2024-03-11", None).await;
    let first = post(&emu, "C0STANDUP", "Ada: shipped", Some(&parent)).await;
    call(
        &emu,
        "chat.postEphemeral",
        json!({"channel": "C0STANDUP", "user": "U0ADA", "text": "psst", "thread_ts": parent}),
    )
    .await;

    // The notes file shared into the thread, as the bot does.
    let notes = "# Standup 2024-03-11\n";
    let url = session
        .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
            "standup-2024-03-11.md".into(),
            notes.len(),
        ))
        .await
        .unwrap();
    session
        .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
            url.upload_url.clone(),
            notes.as_bytes().to_vec(),
            "text/markdown".into(),
        ))
        .await
        .unwrap();
    let complete = call(
        &emu,
        "files.completeUploadExternal",
        json!({
            "files": [{"id": url.file_id.0, "title": "Notes 2024-03-11"}],
            "channel_id": "C0STANDUP",
            "thread_ts": parent,
        }),
    )
    .await;
    assert_eq!(complete["ok"], true, "{complete}");
    let last = post(&emu, "C0STANDUP", "Bob: blocked", Some(&parent)).await;

    let body = call(
        &emu,
        "conversations.replies",
        json!({"channel": "C0STANDUP", "ts": parent}),
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(
        texts(&body),
        ["Standup 2024-03-11", "Ada: shipped", "", "Bob: blocked"]
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["reply_count"], 3);
    assert_eq!(messages[0]["latest_reply"], last.as_str());
    assert_eq!(messages[1]["thread_ts"], parent.as_str());
    assert_eq!(messages[1]["parent_user_id"], "U0BOTUSER");
    assert_eq!(
        messages[2]["files"],
        json!([{"id": url.file_id.0, "name": "standup-2024-03-11.md", "title": "Notes 2024-03-11"}])
    );
    assert_eq!(messages[2]["thread_ts"], parent.as_str());
    // The thread is not in the channel's history; the parent is.
    let history = call(
        &emu,
        "conversations.history",
        json!({"channel": "C0STANDUP"}),
    )
    .await;
    assert_eq!(texts(&history), ["Standup 2024-03-11"]);

    // Any message of the thread names it; pages go oldest first, parent on the first.
    let request = |cursor: Option<SlackCursorId>| {
        SlackApiConversationsRepliesRequest::new("C0STANDUP".into(), first.as_str().into())
            .with_limit(3)
            .opt_cursor(cursor)
    };
    let page = session.conversations_replies(&request(None)).await.unwrap();
    assert_eq!(page.messages.len(), 3);
    assert_eq!(page.messages[0].origin.ts.0, parent);
    assert_eq!(
        page.messages[2].content.files.as_ref().unwrap()[0].id,
        url.file_id
    );
    assert_eq!(page.has_more, Some(true));
    let cursor = page.response_metadata.unwrap().next_cursor;
    let page = session
        .conversations_replies(&request(cursor))
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].origin.ts.0, last);
    assert_eq!(page.has_more, Some(false));

    // `oldest` filters the replies; the parent stays.
    let body = call(
        &emu,
        "conversations.replies",
        json!({"channel": "C0STANDUP", "ts": parent, "oldest": first}),
    )
    .await;
    assert_eq!(texts(&body), ["Standup 2024-03-11", "", "Bob: blocked"]);
    // A message without replies is a thread of one.
    let alone = post(&emu, "C0STANDUP", "alone", None).await;
    let body = call(
        &emu,
        "conversations.replies",
        json!({"channel": "C0STANDUP", "ts": alone}),
    )
    .await;
    assert_eq!(texts(&body), ["alone"]);
    for ts in ["1.000001", ""] {
        let body = call(
            &emu,
            "conversations.replies",
            json!({"channel": "C0STANDUP", "ts": ts}),
        )
        .await;
        assert_eq!(body["error"], "thread_not_found");
    }
}

#[tokio::test]
async fn history_and_replies_are_tier_three() {
    let limits = RateLimits {
        tier_per_minute: [1, 1, 2, 1],
        ..RateLimits::default()
    };
    let emu = Emulator::start(workspace().with_rate_limits(limits)).await;
    for method in ["conversations.history", "conversations.replies"] {
        // `ts` is the thread of `conversations.replies`; the history has no such argument.
        let params = if method == "conversations.replies" {
            json!({"channel": "C0STANDUP", "ts": "1.1"})
        } else {
            json!({"channel": "C0STANDUP"})
        };
        for _ in 0..2 {
            let body = call(&emu, method, params.clone()).await;
            assert_ne!(body["error"], "ratelimited", "{method}");
        }
        let body = call(&emu, method, params.clone()).await;
        assert_eq!(body["error"], "ratelimited", "{method}");
        assert_eq!(emu.rate_limited_count_for(method), 1);
    }
}
