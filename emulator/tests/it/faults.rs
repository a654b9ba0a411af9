use crate::common::*;
use slack_emulator::{Emulator, Fault, RateLimits};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::time::Duration;

fn hello() -> SlackApiChatPostMessageRequest {
    SlackApiChatPostMessageRequest::new(
        "C0STANDUP".into(),
        SlackMessageContent::new().with_text("hello".into()),
    )
}

#[tokio::test]
async fn injected_faults_reach_the_client_in_order() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    emu.fail_next(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    emu.fail_next("chat.postMessage", Fault::Status(503));
    emu.fail_next(
        "chat.postMessage",
        Fault::SlackError("channel_not_found".into()),
    );
    emu.fail_next("chat.postMessage", Fault::Malformed);

    match session.chat_post_message(&hello()).await {
        Err(SlackClientError::RateLimitError(err)) => {
            assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
            assert_eq!(err.code.as_deref(), Some("ratelimited"));
        }
        other => panic!("expected a rate limit error, got {other:?}"),
    }
    match session.chat_post_message(&hello()).await {
        Err(SlackClientError::HttpError(err)) => assert_eq!(err.status_code.as_u16(), 503),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    assert_eq!(
        code(session.chat_post_message(&hello()).await),
        "channel_not_found"
    );
    assert!(matches!(
        session.chat_post_message(&hello()).await,
        Err(SlackClientError::ProtocolError(_))
    ));
    session
        .chat_post_message(&hello())
        .await
        .expect("faults are used up");

    assert_eq!(
        emu.calls_to("chat.postMessage").len(),
        5,
        "faulted calls are recorded"
    );
    assert_eq!(emu.messages("C0STANDUP").len(), 1);
    assert_eq!(emu.rate_limited_count_for("chat.postMessage"), 1);
}

#[tokio::test]
async fn delay_and_hang_trip_client_timeouts() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    emu.fail_next("auth.test", Fault::Delay(Duration::from_millis(300)));
    emu.fail_next("auth.test", Fault::Hang);

    let short = Duration::from_millis(100);
    assert!(
        tokio::time::timeout(short, session.auth_test())
            .await
            .is_err()
    );
    assert!(
        tokio::time::timeout(short, session.auth_test())
            .await
            .is_err()
    );
    // The delayed one still answers when the client waits long enough.
    emu.fail_next("auth.test", Fault::Delay(Duration::from_millis(200)));
    assert!(
        tokio::time::timeout(WAIT, session.auth_test())
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn rate_limits_throttle_bursts_per_channel() {
    let limits = RateLimits {
        post_message_burst: 2,
        ..RateLimits::default()
    };
    let emu = Emulator::start(workspace().with_rate_limits(limits)).await;
    let client = client(&emu);
    let token = bot_token(&emu);
    let session = client.open_session(&token);
    session.chat_post_message(&hello()).await.unwrap();
    session.chat_post_message(&hello()).await.unwrap();
    match session.chat_post_message(&hello()).await {
        Err(SlackClientError::RateLimitError(err)) => {
            assert_eq!(err.retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("expected a rate limit error, got {other:?}"),
    }
    // Another channel has its own budget.
    let dm = SlackApiChatPostMessageRequest::new(
        "U0ADA".into(),
        SlackMessageContent::new().with_text("hi".into()),
    );
    session.chat_post_message(&dm).await.unwrap();
    assert_eq!(emu.rate_limited_count(), 1);
}
