//! The signed client against a stand-in bot endpoint that checks signatures with
//! slack-morphism's own verifier.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use slack_emulator::{Emulator, SignedClient, events};
use slack_morphism::prelude::*;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use std::sync::{Arc, Mutex};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, String)>>>);

async fn endpoint(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let body = String::from_utf8(body.to_vec()).unwrap();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let verifier = SlackEventSignatureVerifier::new(&SlackSigningSecret::new(SECRET.into()));
    let verdict = verifier.verify(
        &header("x-slack-signature"),
        &body,
        &header("x-slack-request-timestamp"),
    );
    received.0.lock().unwrap().push((headers, body));
    if verdict.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn bot() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/push", post(endpoint))
        .route("/command", post(endpoint))
        .route("/interaction", post(endpoint))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn signed_requests_pass_slack_morphisms_verifier_and_knobs_fail_it() {
    let emu = Emulator::start(workspace()).await;
    let (url, received) = bot().await;
    let slack = SignedClient::new(&url, SECRET);

    let event = emu.event_callback(events::dm_message("U0ADA", "done"));
    let ok = slack.post_event(&event).await.unwrap();
    assert_eq!(ok.status, 200);
    let fields = emu.slash_command_fields("/standup", "status", "U0ADA", "C0STANDUP");
    assert_eq!(slack.post_command(fields).await.unwrap().status, 200);
    let ts = post_skip_button(&emu).await;
    let interaction = emu.click("U0ADA", "C0STANDUP", &ts, "skip").unwrap();
    assert_eq!(
        slack.post_interaction(&interaction).await.unwrap().status,
        200
    );

    assert_eq!(
        slack
            .event(&event)
            .bad_signature()
            .send()
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        slack.event(&event).stale().send().await.unwrap().status,
        401
    );
    assert_eq!(
        slack.event(&event).unsigned().send().await.unwrap().status,
        401
    );
    let retried = slack
        .event(&event)
        .retry(1, "http_timeout")
        .send()
        .await
        .unwrap();
    assert_eq!(slack.replay(&retried.request).await.unwrap().status, 200);

    let received = received.0.lock().unwrap().clone();
    assert_eq!(received.len(), 8);
    let (headers, body) = &received[0];
    assert_eq!(headers["content-type"], "application/json");
    let parsed: SlackPushEvent = serde_json::from_str(body).unwrap();
    assert!(matches!(parsed, SlackPushEvent::EventCallback(_)));
    let (headers, body) = &received[1];
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert!(body.starts_with("token=emulatorVerificationToken&team_id=T0EMULATOR&"));
    let form: std::collections::HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form["command"], "/standup");
    let (_, body) = &received[2];
    let payload = form_urlencoded::parse(body.as_bytes()).next().unwrap();
    assert_eq!(payload.0, "payload");
    let _: SlackInteractionEvent = serde_json::from_str(&payload.1).unwrap();
    let (headers, body) = &received[6];
    assert_eq!(headers["x-slack-retry-num"], "1");
    assert_eq!(headers["x-slack-retry-reason"], "http_timeout");
    assert_eq!(&received[7].1, body, "replayed byte for byte");
    assert_eq!(
        received[7].0["x-slack-signature"],
        headers["x-slack-signature"]
    );
}

#[tokio::test]
async fn response_urls_record_posts() {
    let emu = Emulator::start(workspace()).await;
    let client = client(&emu);
    let fields = emu.slash_command_fields("/standup", "", "U0ADA", "C0STANDUP");
    let url = fields
        .iter()
        .find(|(k, _)| k == "response_url")
        .unwrap()
        .1
        .clone();
    let message = SlackApiPostWebhookMessageRequest::new(
        SlackMessageContent::new().with_text("Posted the notes".into()),
    );
    client
        .respond_to_event(&SlackResponseUrl::new(url.parse().unwrap()), &message)
        .await
        .unwrap();
    let posts = emu.response_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body["text"], "Posted the notes");
}

/// A bot endpoint that answers each event delivery from a script: `None` never answers in
/// time, `Some(status)` answers that at once.
async fn scripted_bot(script: Vec<Option<u16>>) -> (String, Received) {
    #[derive(Clone)]
    struct Script(
        Arc<Mutex<std::collections::VecDeque<Option<u16>>>>,
        Received,
    );
    async fn answer(
        State(Script(script, received)): State<Script>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        received
            .0
            .lock()
            .unwrap()
            .push((headers, String::from_utf8(body.to_vec()).unwrap()));
        let next = script.lock().unwrap().pop_front().flatten();
        match next {
            Some(status) => StatusCode::from_u16(status).unwrap(),
            None => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                StatusCode::OK
            }
        }
    }
    let received = Received::default();
    let app = Router::new()
        .route("/push", post(answer))
        .with_state(Script(
            Arc::new(Mutex::new(script.into())),
            received.clone(),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn an_event_not_answered_200_within_3_s_is_retried_with_slacks_headers() {
    use std::time::{Duration, Instant};
    let emu = Emulator::start(workspace()).await;
    // Too slow, then a 500, then a 200.
    let (url, received) = scripted_bot(vec![None, Some(500), Some(200)]).await;
    let slack = SignedClient::new(&url, SECRET).with_retry_delays(&[
        Duration::ZERO,
        Duration::from_millis(100),
        Duration::from_millis(100),
    ]);
    let event = emu.event_callback(events::dm_message("U0ADA", "done"));
    let started = Instant::now();
    let delivery = slack.deliver_event(&event).await;
    assert!(delivery.delivered());
    let seen: Vec<(u32, Option<&str>, Option<&str>)> = delivery
        .attempts
        .iter()
        .map(|a| (a.retry_num, a.retry_reason.as_deref(), a.failure.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (0, None, Some("http_timeout")),
            (1, Some("http_timeout"), Some("http_error")),
            (2, Some("http_error"), None),
        ]
    );
    // The first retry went out after the 3 s timeout, without waiting for the slow answer.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(4500),
        "{took:?}"
    );

    let received = received.0.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    assert!(received[0].0.get("x-slack-retry-num").is_none());
    for (n, reason) in [(1, "http_timeout"), (2, "http_error")] {
        let (headers, body) = &received[n];
        assert_eq!(headers["x-slack-retry-num"], n.to_string().as_str());
        assert_eq!(headers["x-slack-retry-reason"], reason);
        assert_eq!(body, &received[0].1, "the same event, same event_id");
    }

    // A bot that never answers in time gets Slack's three retries and no more.
    let (url, received) = scripted_bot(vec![None, None, None, None, None]).await;
    let slack = SignedClient::new(&url, SECRET)
        .with_timeout(Duration::from_millis(200))
        .with_retry_delays(&[Duration::ZERO, Duration::ZERO, Duration::ZERO]);
    let delivery = slack.deliver_event(&event).await;
    assert!(!delivery.delivered());
    assert_eq!(delivery.attempts.len(), 4, "the original and 3 retries");
    assert_eq!(received.0.lock().unwrap().len(), 4);
}
