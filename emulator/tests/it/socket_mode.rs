use crate::common::*;
use crate::socket_frames::RawSocket;
use slack_emulator::{Emulator, events};
use slack_morphism::prelude::*;
use std::sync::Arc;
use tokio::sync::mpsc;

type Seen = mpsc::UnboundedSender<String>;

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let text = match event.event {
        // An edit's new text is in `message`; a plain message has it at the top. Bots' messages
        // are marked.
        SlackEventCallbackBody::Message(message) => {
            let from_bot = if message.sender.bot_id.is_some() {
                "bot: "
            } else {
                ""
            };
            let text = message
                .message
                .and_then(|edited| edited.content)
                .or(message.content)
                .and_then(|c| c.text)
                .unwrap_or_default();
            format!("{from_bot}{text}")
        }
        other => format!("{other:?}"),
    };
    let state = state.read().await;
    state.get_user_state::<Seen>().unwrap().send(text)?;
    Ok(())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = state.read().await;
    state.get_user_state::<Seen>().unwrap().send(format!(
        "{} {}",
        event.command.0,
        event.text.unwrap_or_default()
    ))?;
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text("No open blockers".into()),
    ))
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let kind = match event {
        SlackInteractionEvent::BlockActions(_) => "block_actions",
        SlackInteractionEvent::ViewSubmission(_) => "view_submission",
        _ => "other",
    };
    let state = state.read().await;
    state.get_user_state::<Seen>().unwrap().send(kind.into())?;
    Ok(())
}

/// slack-morphism's Socket Mode listener, one connection, reporting what it receives.
async fn listen(
    emu: &Emulator,
    config: SlackClientSocketModeConfig,
) -> (
    SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
    mpsc::UnboundedReceiver<String>,
) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(Arc::new(client(emu))).with_user_state(tx),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        // slack-morphism does not export the hello event's type: name it through a closure.
        .with_hello_events(|hello, _client, state| async move {
            let state = state.read().await;
            let seen = state.get_user_state::<Seen>().unwrap();
            let _ = seen.send(format!("hello {}", hello.num_connections));
        })
        .with_push_events(on_push)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    listener.listen_for(&app_token(emu)).await.unwrap();
    listener.start().await;
    (listener, rx)
}

fn one_connection() -> SlackClientSocketModeConfig {
    SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_reconnect_timeout_in_seconds(1)
}

/// Everything the listener reported so far.
fn drain(seen: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| seen.try_recv().ok()).collect()
}

#[tokio::test]
async fn listener_receives_events_and_commands_and_acks_them() {
    let emu = Emulator::start(workspace()).await;
    let (listener, mut seen) = listen(&emu, one_connection()).await;
    assert!(emu.socket_connected(WAIT).await);
    assert_eq!(seen.recv().await.unwrap(), "hello 1");

    let event = emu.send_event(events::dm_message("U0ADA", "*Yesterday*\n- shipped"));
    assert_eq!(event.ack(WAIT).await, Some(serde_json::Value::Null));
    assert_eq!(seen.recv().await.unwrap(), "*Yesterday*\n- shipped");

    let command = emu.send_slash_command("/standup", "blocked", "U0ADA", "C0STANDUP");
    let payload = command.ack(WAIT).await.expect("the command is acked");
    assert_eq!(payload["text"], "No open blockers");
    assert_eq!(seen.recv().await.unwrap(), "/standup blocked");

    let ts = post_skip_button(&emu).await;
    let click = emu.click("U0ADA", "C0STANDUP", &ts, "skip").unwrap();
    let posted = emu.send_interaction(click);
    assert!(posted.ack(WAIT).await.is_some());
    assert_eq!(seen.recv().await.unwrap(), "block_actions");

    let acks = emu.acks();
    assert_eq!(acks.len(), 3);
    assert_eq!(acks[0].envelope_id, event.envelope_id());
    assert!(acks.iter().all(|a| a.latency < WAIT && a.connection == 1));
    assert_eq!(emu.calls_to("apps.connections.open").len(), 1);
    listener.shutdown().await;
}

#[tokio::test]
async fn redelivery_disconnect_and_dropped_connections() {
    let emu = Emulator::start(workspace()).await;
    let (listener, mut seen) = listen(&emu, one_connection()).await;
    assert!(emu.socket_connected(WAIT).await);

    let dm = emu.dm_channel("U0ADA");
    let edit = events::message_changed("U0ADA", &dm, "1700000000.000100", "new text", "old text");
    let event = emu.send_event(edit);
    assert_eq!(event.acked(WAIT).await.unwrap().retry_attempt, 0);
    // The same envelope again, retry_attempt 1: the listener does not deduplicate.
    emu.redeliver(&event);
    assert_eq!(event.acked(WAIT).await.unwrap().retry_attempt, 1);

    // Slack asks the app to reconnect: it opens a new connection through apps.connections.open.
    emu.disconnect("refresh_requested");
    assert!(emu.wait_connections_opened(2, WAIT).await);
    assert!(emu.socket_connected(WAIT).await);

    // Lost without a word: events sent meanwhile wait and go out on the next connection.
    emu.drop_connection();
    assert_eq!(emu.live_connections(), 0);
    let later = emu.send_event(events::bot_message("B0OTHER", "C0STANDUP", "from a bot"));
    later
        .ack(WAIT)
        .await
        .expect("delivered on the new connection");
    assert_eq!(emu.connections_opened(), 3);
    assert_eq!(emu.calls_to("apps.connections.open").len(), 3);
    assert_eq!(later.acked(WAIT).await.unwrap().connection, 3);
    assert_eq!(
        drain(&mut seen),
        [
            "hello 1",
            "new text",
            "new text",
            "hello 1",
            "hello 1",
            "bot: from a bot"
        ]
    );
    listener.shutdown().await;
}

#[tokio::test]
async fn pings_are_answered_so_the_listener_stays_connected() {
    let emu = Emulator::start(workspace()).await;
    // The listener gives up on a connection after 1 s without a pong.
    let config = one_connection()
        .with_ping_interval_in_seconds(1)
        .with_ping_failure_threshold_times(1);
    let (listener, _seen) = listen(&emu, config).await;
    assert!(emu.socket_connected(WAIT).await);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(emu.connections_opened(), 1);
    assert_eq!(emu.live_connections(), 1);
    listener.shutdown().await;
}

#[tokio::test]
async fn the_bots_own_dm_posts_come_back_as_message_im_events_by_default() {
    let emu = Emulator::start(workspace()).await;
    let (listener, mut seen) = listen(&emu, one_connection()).await;
    assert!(emu.socket_connected(WAIT).await);
    assert_eq!(seen.recv().await.unwrap(), "hello 1");
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    let post = |channel: &str, text: &str| {
        SlackApiChatPostMessageRequest::new(
            channel.into(),
            SlackMessageContent::new().with_text(text.into()),
        )
    };
    // In #standup: the app subscribes to message.im only, so nothing comes back.
    session
        .chat_post_message(&post("C0STANDUP", "The notes are up"))
        .await
        .unwrap();
    session
        .chat_post_message(&post("U0ADA", "Time for standup"))
        .await
        .unwrap();
    assert_eq!(seen.recv().await.unwrap(), "bot: Time for standup");
    // Ephemeral messages never come back as events.
    let ephemeral = SlackApiChatPostEphemeralRequest::new(
        emu.dm_channel("U0ADA").into(),
        "U0ADA".into(),
        SlackMessageContent::new().with_text("Only you".into()),
    );
    session.chat_post_ephemeral(&ephemeral).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(drain(&mut seen).is_empty(), "only the DM post came back");
    listener.shutdown().await;
}

#[tokio::test]
async fn the_echo_is_slacks_message_event_for_a_bot_users_post() {
    let emu = Emulator::start(workspace()).await;
    let mut raw = RawSocket::connect(&emu).await;
    let session_client = client(&emu);
    let token = bot_token(&emu);
    let session = session_client.open_session(&token);
    let blocks = slack_blocks![some_into(SlackSectionBlock::new().with_text(md!("*Hi*")))];
    let post = SlackApiChatPostMessageRequest::new(
        "U0ADA".into(),
        SlackMessageContent::new()
            .with_text("Hi".into())
            .with_blocks(blocks),
    );
    let posted = session.chat_post_message(&post).await.unwrap();
    let envelope = raw.next(WAIT).await.expect("the echo");
    assert_eq!(envelope["type"], "events_api");
    let event = &envelope["payload"]["event"];
    assert_eq!(event["type"], "message");
    assert!(
        event.get("subtype").is_none(),
        "a bot user's post has no subtype: {event}"
    );
    assert_eq!(event["bot_id"], emu.config().bot_id);
    assert_eq!(event["user"], emu.config().bot_user_id);
    assert_eq!(event["app_id"], emu.config().app_id);
    assert_eq!(event["channel"], emu.dm_channel("U0ADA"));
    assert_eq!(event["channel_type"], "im");
    assert_eq!(event["ts"], posted.ts.to_string());
    assert_eq!(event["bot_profile"]["id"], emu.config().bot_id);
    assert_eq!(event["blocks"][0]["type"], "section");
    // slack-morphism reads it as a message whose sender is a bot.
    let parsed: SlackPushEventCallback =
        serde_json::from_value(envelope["payload"].clone()).unwrap();
    let SlackEventCallbackBody::Message(message) = parsed.event else {
        panic!("not a message event");
    };
    assert!(message.subtype.is_none());
    assert_eq!(
        message.sender.bot_id.map(|b| b.to_string()).as_deref(),
        Some(emu.config().bot_id.as_str())
    );
    raw.ack(&envelope).await;

    // An edit of it comes back as message_changed, the bot's post before and after.
    let update = SlackApiChatUpdateRequest::new(
        posted.channel.clone(),
        SlackMessageContent::new().with_text("Hi again".into()),
        posted.ts.clone(),
    );
    session.chat_update(&update).await.unwrap();
    let envelope = raw.next(WAIT).await.expect("the edit's echo");
    let event = &envelope["payload"]["event"];
    assert_eq!(event["subtype"], "message_changed");
    assert_eq!(event["channel_type"], "im");
    assert_eq!(event["message"]["text"], "Hi again");
    assert_eq!(event["message"]["bot_id"], emu.config().bot_id);
    assert_eq!(event["message"]["ts"], posted.ts.to_string());
    assert_eq!(event["previous_message"]["text"], "Hi");
    let parsed: SlackPushEventCallback =
        serde_json::from_value(envelope["payload"].clone()).unwrap();
    let SlackEventCallbackBody::Message(changed) = parsed.event else {
        panic!("not a message event");
    };
    assert!(changed.message.and_then(|m| m.sender.bot_id).is_some());
    raw.ack(&envelope).await;

    // Off when the workspace turns it off (or the app does not subscribe to message.im).
    let mut config = workspace();
    config.echo_bot_messages = false;
    let quiet = Emulator::start(config).await;
    let mut raw = RawSocket::connect(&quiet).await;
    client(&quiet)
        .open_session(&bot_token(&quiet))
        .chat_post_message(&post)
        .await
        .unwrap();
    assert!(
        raw.next(std::time::Duration::from_millis(400))
            .await
            .is_none()
    );
}
