use crate::common::*;
use serde_json::json;
use slack_emulator::Emulator;
use slack_morphism::prelude::*;

#[tokio::test]
async fn slack_morphism_client_posts_updates_and_looks_up() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);

    let auth = session.auth_test().await.unwrap();
    assert_eq!(auth.team_id.0, "T0EMULATOR");
    assert_eq!(auth.user_id.0, "U0BOTUSER");
    assert_eq!(auth.bot_id.unwrap().0, "B0BOTID");
    assert_eq!(auth.url.0.as_str(), "https://emulated.slack.com/");

    let open = SlackApiConversationsOpenRequest::new().with_users(vec!["U0ADA".into()]);
    let dm = session.conversations_open(&open).await.unwrap();
    assert_eq!(dm.channel.id.0, emu.dm_channel("U0ADA"));
    assert_eq!(dm.already_open, None);
    let full = session.conversations_open_full(&open).await.unwrap();
    assert_eq!(full.channel.id, dm.channel.id);
    assert_eq!(full.channel.flags.is_im, Some(true));
    assert_eq!(full.already_open, Some(true));

    let content = SlackMessageContent::new()
        .with_text("Time for standup".into())
        .with_blocks(slack_blocks![some_into(
            SlackSectionBlock::new().with_text(md!("*Standup*"))
        )]);
    let posted = session
        .chat_post_message(&SlackApiChatPostMessageRequest::new(
            dm.channel.id.clone(),
            content,
        ))
        .await
        .unwrap();
    assert_eq!(posted.channel, dm.channel.id);
    assert_eq!(posted.message.sender.bot_id.as_ref().unwrap().0, "B0BOTID");
    assert_eq!(
        posted.message.content.text.as_deref(),
        Some("Time for standup")
    );
    // A block posted without a block_id gets one generated, as on Slack, and keeps it.
    let stored = emu.messages(&dm.channel.id.0);
    let generated = stored[0].blocks.as_ref().unwrap()[0]["block_id"]
        .as_str()
        .expect("a generated block_id")
        .to_string();
    assert!(!generated.is_empty() && generated.len() <= 255);
    let raw_blocks = serde_json::to_value(posted.message.content.blocks.as_ref().unwrap()).unwrap();
    assert_eq!(raw_blocks[0]["block_id"], generated.as_str());

    let reply = session
        .chat_post_message(
            &SlackApiChatPostMessageRequest::new(
                dm.channel.id.clone(),
                SlackMessageContent::new().with_text("in thread".into()),
            )
            .with_thread_ts(posted.ts.clone()),
        )
        .await
        .unwrap();
    assert!(reply.ts.0 > posted.ts.0, "ts increases");

    let updated = session
        .chat_update(&SlackApiChatUpdateRequest::new(
            dm.channel.id.clone(),
            SlackMessageContent::new().with_text("Standup (closed)".into()),
            posted.ts.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(updated.ts, posted.ts);
    assert_eq!(
        updated.message.content.text.as_deref(),
        Some("Standup (closed)")
    );

    let ada = session
        .users_info(&SlackApiUsersInfoRequest::new("U0ADA".into()))
        .await
        .unwrap()
        .user;
    assert_eq!(ada.tz.as_deref(), Some("Europe/Berlin"));
    assert_eq!(ada.tz_offset, Some(7200));
    assert_eq!(ada.real_name.as_deref(), Some("Ada Lovelace"));
    let profile = ada.profile.unwrap();
    assert_eq!(profile.display_name.as_deref(), Some(""));
    assert_eq!(profile.real_name.as_deref(), Some("Ada Lovelace"));
    let bob = session
        .users_info(&SlackApiUsersInfoRequest::new("U0BOB".into()))
        .await
        .unwrap()
        .user
        .profile
        .unwrap();
    assert_eq!(bob.status_emoji.unwrap().0, ":palm_tree:");
    assert_eq!(bob.status_text.as_deref(), Some("On leave"));
    assert_eq!(bob.status_expiration.unwrap().0.as_second(), 1_900_000_000);
    let cy = session
        .users_info(&SlackApiUsersInfoRequest::new("U0CY".into()))
        .await
        .unwrap()
        .user;
    assert_eq!(cy.deleted, Some(true));

    // What the emulator recorded.
    let methods: Vec<_> = emu.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "auth.test",
            "conversations.open",
            "conversations.open",
            "chat.postMessage",
            "chat.postMessage",
            "chat.update",
            "users.info",
            "users.info",
            "users.info",
        ]
    );
    let post = &emu.calls_to("chat.postMessage")[0];
    assert_eq!(post.param("channel").unwrap(), emu.dm_channel("U0ADA"));
    assert_eq!(post.params["blocks"][0]["type"], "section");
    let messages = emu.messages(&emu.dm_channel("U0ADA"));
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].text.as_deref(), Some("Standup (closed)"));
    assert_eq!(
        messages[0].history[0].text.as_deref(),
        Some("Time for standup")
    );
    assert!(
        messages[0].blocks.is_some(),
        "blocks left out of chat.update are kept"
    );
    assert_eq!(messages[1].thread_ts.as_ref(), Some(&posted.ts.0));
}

#[tokio::test]
async fn slack_errors_come_back_as_api_errors() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    let text = || SlackMessageContent::new().with_text("hi".into());

    let post = |channel: &str| SlackApiChatPostMessageRequest::new(channel.into(), text());
    assert_eq!(
        code(session.chat_post_message(&post("C0NOPE")).await),
        "channel_not_found"
    );
    assert_eq!(
        code(session.chat_post_message(&post("C0RANDOM")).await),
        "not_in_channel"
    );
    let empty = SlackApiChatPostMessageRequest::new("C0STANDUP".into(), SlackMessageContent::new());
    assert_eq!(code(session.chat_post_message(&empty).await), "no_text");
    let update = SlackApiChatUpdateRequest::new("C0STANDUP".into(), text(), "1.000001".into());
    assert_eq!(
        code(session.chat_update(&update).await),
        "message_not_found"
    );
    let who = SlackApiUsersInfoRequest::new("U0NOBODY".into());
    assert_eq!(code(session.users_info(&who).await), "user_not_found");

    // Posting to a user id lands in their DM.
    let to_user = session.chat_post_message(&post("U0BOB")).await.unwrap();
    assert_eq!(to_user.channel.0, emu.dm_channel("U0BOB"));

    let wrong = SlackApiToken::new("xoxb-wrong".into());
    assert_eq!(
        code(client.open_session(&wrong).auth_test().await),
        "invalid_auth"
    );
    let app = app_token(&emu);
    assert_eq!(
        code(client.open_session(&app).auth_test().await),
        "not_allowed_token_type"
    );
    assert_eq!(
        code(
            session
                .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
                .await
        ),
        "not_allowed_token_type"
    );
}

#[tokio::test]
async fn raw_requests_in_every_encoding() {
    let emu = Emulator::start(workspace()).await;
    let api = emu.api_url();
    let bot = emu.config().bot_token.clone();
    let bearer = format!("Bearer {bot}");
    let form = ("content-type", "application/x-www-form-urlencoded");

    // GET with query parameters and the token as a parameter.
    let (status, body) = raw(
        "GET",
        &format!("{api}/users.info?user=U0BOB&token={bot}"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["profile"]["display_name"], "Bobby");

    // Form POST: blocks arrive as a JSON string.
    let form_body = format!(
        "token={bot}&channel=C0STANDUP&text=hello&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D"
    );
    let (_, body) = raw(
        "POST",
        &format!("{api}/chat.postMessage"),
        &[form],
        &form_body,
    )
    .await;
    assert_eq!(body["ok"], true, "{body}");
    // Slack answers with the blocks as stored: with the block_id it generated.
    let blocks = body["message"]["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0]["type"], "divider");
    assert!(
        blocks[0]["block_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    // JSON POST needs the header: a token in a JSON body is not a credential.
    let json_ct = ("content-type", "application/json");
    let json_body = json!({"token": bot, "channel": "C0STANDUP", "text": "x"}).to_string();
    let (_, body) = raw(
        "POST",
        &format!("{api}/chat.postMessage"),
        &[json_ct],
        &json_body,
    )
    .await;
    assert_eq!(body, json!({"ok": false, "error": "not_authed"}));
    let (_, body) = raw(
        "POST",
        &format!("{api}/chat.postMessage"),
        &[json_ct, ("authorization", &bearer)],
        &json_body,
    )
    .await;
    assert_eq!(body["ok"], true);

    let (status, body) = raw(
        "POST",
        &format!("{api}/no.suchMethod"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"ok": false, "error": "unknown_method"}))
    );
    let (_, body) = raw(
        "GET",
        &format!("{api}/auth.test"),
        &[("authorization", "Bearer xoxb-nope")],
        "",
    )
    .await;
    assert_eq!(body, json!({"ok": false, "error": "invalid_auth"}));

    let params: Vec<_> = emu.calls().into_iter().map(|c| c.params).collect();
    assert_eq!(params[0]["user"], "U0BOB");
    assert_eq!(
        params[1]["blocks"], r#"[{"type":"divider"}]"#,
        "params are recorded as sent"
    );
    assert_eq!(emu.messages("C0STANDUP").len(), 2);
}

#[tokio::test]
async fn conversations_ephemeral_views_and_files() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);

    let info = session
        .conversations_info(&SlackApiConversationsInfoRequest::new("C0STANDUP".into()))
        .await
        .unwrap();
    assert_eq!(info.channel.name.as_deref(), Some("standup"));
    assert_eq!(info.channel.flags.is_member, Some(true));
    let members = session
        .conversations_members(
            &SlackApiConversationsMembersRequest::new().with_channel("C0STANDUP".into()),
        )
        .await
        .unwrap();
    let ids: Vec<_> = members.members.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(ids, ["U0ADA", "U0BOB", "U0BOTUSER"]);

    let ephemeral = SlackApiChatPostEphemeralRequest::new(
        "C0STANDUP".into(),
        "U0ADA".into(),
        SlackMessageContent::new().with_text("only you".into()),
    );
    session.chat_post_ephemeral(&ephemeral).await.unwrap();
    assert_eq!(
        emu.messages("C0STANDUP")[0].ephemeral_to.as_deref(),
        Some("U0ADA")
    );

    // A modal opened with a trigger the emulator issued, then updated with its hash.
    let modal = SlackView::Modal(
        SlackModalView::new(pt!("Standup"), vec![]).with_callback_id("standup".into()),
    );
    let trigger = emu.new_trigger_id();
    let opened = session
        .views_open(&SlackApiViewsOpenRequest::new(
            trigger.clone().into(),
            modal.clone(),
        ))
        .await
        .unwrap()
        .view;
    let reused = SlackApiViewsOpenRequest::new(trigger.into(), modal.clone());
    assert_eq!(
        code(session.views_open(&reused).await),
        "exchanged_trigger_id"
    );
    let unknown = SlackApiViewsOpenRequest::new("1.2.3".into(), modal.clone());
    assert_eq!(
        code(session.views_open(&unknown).await),
        "invalid_trigger_id"
    );
    let update = SlackApiViewsUpdateRequest::new(modal.clone())
        .with_view_id(opened.state_params.id.clone())
        .with_hash(opened.state_params.hash.clone());
    let updated = session.views_update(&update).await.unwrap().view;
    assert_eq!(updated.state_params.id, opened.state_params.id);
    assert_ne!(updated.state_params.hash, opened.state_params.hash);
    assert_eq!(code(session.views_update(&update).await), "hash_conflict");
    let home = SlackView::Home(SlackHomeView::new(vec![]));
    session
        .views_publish(&SlackApiViewsPublishRequest::new("U0ADA".into(), home))
        .await
        .unwrap();
    let views = emu.views();
    assert_eq!(views.len(), 3);
    assert_eq!(views[2].user_id.as_deref(), Some("U0ADA"));

    // File upload in three steps.
    let notes = "# Standup 2018-05-14\n- Ada: shipped\n";
    let url = session
        .get_upload_url_external(&SlackApiFilesGetUploadUrlExternalRequest::new(
            "standup.md".into(),
            notes.len(),
        ))
        .await
        .unwrap();
    let not_yet =
        SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
            url.file_id.clone(),
        )]);
    assert_eq!(
        code(session.files_complete_upload_external(&not_yet).await),
        "file_not_found"
    );
    session
        .files_upload_via_url(&SlackApiFilesUploadViaUrlRequest::new(
            url.upload_url.clone(),
            notes.as_bytes().to_vec(),
            "text/markdown".into(),
        ))
        .await
        .unwrap();
    let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
        SlackApiFilesComplete::new(url.file_id.clone()).with_title("Standup notes".into()),
    ])
    .with_channel_id("C0STANDUP".into())
    .with_initial_comment("Notes for today".into());
    let done = session
        .files_complete_upload_external(&complete)
        .await
        .unwrap();
    assert_eq!(done.files[0].id, url.file_id);
    let file = &emu.files()[0];
    assert_eq!(file.content, notes);
    assert_eq!(file.title.as_deref(), Some("Standup notes"));
    assert_eq!(file.channel.as_deref(), Some("C0STANDUP"));
    let share = emu.messages("C0STANDUP").pop().unwrap();
    assert_eq!(share.text.as_deref(), Some("Notes for today"));
    assert_eq!(share.files, std::slice::from_ref(&url.file_id.0));
}

#[tokio::test]
async fn waiting_sees_calls_and_messages_as_they_happen() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let waiter = {
        let emu = emu.clone();
        tokio::spawn(async move {
            emu.wait_for_message("C0STANDUP", |m| m.text.as_deref() == Some("second"), WAIT)
                .await
        })
    };
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    for text in ["first", "second"] {
        let request = SlackApiChatPostMessageRequest::new(
            "C0STANDUP".into(),
            SlackMessageContent::new().with_text(text.into()),
        );
        session.chat_post_message(&request).await.unwrap();
    }
    let second = waiter.await.unwrap();
    let call = emu
        .wait_for_call(
            "chat.postMessage",
            |c| c.param("text").as_deref() == Some("second"),
            WAIT,
        )
        .await;
    assert_eq!(call.params["channel"], "C0STANDUP");
    assert!(second.ts > emu.messages("C0STANDUP")[0].ts);
}

/// A call a test has seen has taken effect: a check right after `wait_for_call` never races
/// the emulator's answer (it once did, and made a bot test flaky).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_seen_has_already_taken_effect() {
    let emu = Emulator::start(workspace()).await;
    let poster = {
        let emu = emu.clone();
        tokio::spawn(async move {
            let client = client(&emu);
            let token = bot_token(&emu);
            let session = client.open_session(&token);
            for n in 0..100 {
                let request = SlackApiChatPostMessageRequest::new(
                    "C0STANDUP".into(),
                    SlackMessageContent::new().with_text(n.to_string()),
                );
                session.chat_post_message(&request).await.unwrap();
            }
        })
    };
    for n in 0..100 {
        let text = n.to_string();
        emu.wait_for_call(
            "chat.postMessage",
            |c| c.param("text") == Some(text.clone()),
            WAIT,
        )
        .await;
        assert!(
            emu.messages("C0STANDUP")
                .iter()
                .any(|m| m.text.as_deref() == Some(text.as_str())),
            "post {n} was seen before it was stored"
        );
    }
    poster.await.unwrap();
}
