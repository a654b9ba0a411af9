//! Socket Mode frame by frame, through a bare websocket client that acks only when told to.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use slack_emulator::{Emulator, events};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// Long enough for a frame on 127.0.0.1 to have arrived if it was sent at all.
const QUIET: Duration = Duration::from_millis(400);

/// A bare Socket Mode connection that acks only when told to.
pub struct RawSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawSocket {
    /// `apps.connections.open`, then the websocket; the `hello` is read and checked.
    pub async fn connect(emu: &Emulator) -> RawSocket {
        let bearer = format!("Bearer {}", emu.config().app_token);
        let url = format!("{}/apps.connections.open", emu.api_url());
        let (_, body) = raw("POST", &url, &[("authorization", &bearer)], "").await;
        let (ws, _) = connect_async(body["url"].as_str().unwrap()).await.unwrap();
        let mut socket = RawSocket { ws };
        let hello = socket.next(WAIT).await.expect("hello");
        assert_eq!(hello["type"], "hello");
        socket
    }

    /// The next text frame as JSON; `None` on timeout or when the connection ends.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        tokio::time::timeout(timeout, async {
            loop {
                match self.ws.next().await? {
                    Ok(Ws::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
                    Ok(Ws::Close(_)) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub async fn ack(&mut self, envelope: &Value) {
        let ack = json!({"envelope_id": envelope["envelope_id"]});
        self.ws
            .send(Ws::Text(ack.to_string().into()))
            .await
            .unwrap();
    }

    /// Whether a ping is answered with a pong within `timeout`.
    async fn pong(&mut self, timeout: Duration) -> bool {
        if self.ws.send(Ws::Ping(b"alive?"[..].into())).await.is_err() {
            return false;
        }
        tokio::time::timeout(timeout, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Ws::Pong(_))) => return true,
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return false,
                }
            }
        })
        .await
        .unwrap_or(false)
    }
}

#[tokio::test]
async fn an_envelope_not_acked_before_a_drop_comes_again_on_the_next_connection() {
    let emu = Emulator::start(workspace()).await;
    let mut first = RawSocket::connect(&emu).await;
    let acked = emu.send_event(events::dm_message("U0ADA", "acked"));
    let lost = emu.send_event(events::dm_message("U0ADA", "never acked"));
    let delivered = first.next(WAIT).await.unwrap();
    first.ack(&delivered).await;
    assert!(acked.acked(WAIT).await.is_some());
    let unacked = first.next(WAIT).await.unwrap();
    assert_eq!(unacked["envelope_id"], lost.envelope_id());
    assert_eq!(unacked["retry_attempt"], 0);
    assert_eq!(emu.unacked_envelopes(), [lost.envelope_id()]);

    emu.drop_connection();
    assert!(
        first.next(QUIET).await.is_none(),
        "nothing more on a dropped connection"
    );
    let mut second = RawSocket::connect(&emu).await;
    let again = second
        .next(WAIT)
        .await
        .expect("the unacked envelope, redelivered");
    assert_eq!(again["envelope_id"], lost.envelope_id());
    assert_eq!(again["retry_attempt"], 1);
    assert_eq!(again["retry_reason"], "timeout");
    assert_eq!(again["payload"]["event_id"], lost.event_id().unwrap());
    assert_eq!(lost.retry_attempt(), 1);
    second.ack(&again).await;
    let ack = lost
        .acked(WAIT)
        .await
        .expect("acked on the second connection");
    assert_eq!((ack.connection, ack.retry_attempt), (2, 1));
    assert!(emu.unacked_envelopes().is_empty());
    // The acked one was not sent again.
    assert!(second.next(QUIET).await.is_none());
}

#[tokio::test]
async fn a_connection_the_app_replaces_hands_its_unacked_envelopes_to_the_new_one() {
    let emu = Emulator::start(workspace()).await;
    let mut old = RawSocket::connect(&emu).await;
    let event = emu.send_event(events::dm_message("U0ADA", "mid-flight"));
    assert_eq!(old.next(WAIT).await.unwrap()["retry_attempt"], 0);
    // The app opens a new connection, then closes the old one without acking.
    let mut new = RawSocket::connect(&emu).await;
    old.ws.close(None).await.unwrap();
    let again = new
        .next(WAIT)
        .await
        .expect("redelivered on the new connection");
    assert_eq!(again["envelope_id"], event.envelope_id());
    assert_eq!(again["retry_attempt"], 1);
    new.ack(&again).await;
    assert_eq!(event.acked(WAIT).await.unwrap().connection, 2);
}

#[tokio::test]
async fn disconnect_sends_slacks_frame_then_closes() {
    let emu = Emulator::start(workspace()).await;
    for (n, reason) in [
        "refresh_requested",
        "warning",
        "link_disabled",
        "too_many_websockets",
    ]
    .into_iter()
    .enumerate()
    {
        let mut socket = RawSocket::connect(&emu).await;
        assert!(emu.socket_connected(WAIT).await);
        emu.disconnect(reason);
        let frame = socket.next(WAIT).await.expect("the disconnect frame");
        assert_eq!(frame["type"], "disconnect");
        assert_eq!(frame["reason"], reason);
        assert!(
            frame["debug_info"]["host"]
                .as_str()
                .is_some_and(|h| !h.is_empty())
        );
        assert_eq!(frame.as_object().unwrap().len(), 3, "{frame}");
        assert!(socket.next(WAIT).await.is_none(), "closed after the frame");
        assert_eq!(emu.live_connections(), 0);
        assert_eq!(emu.connections_opened(), n as u64 + 1);
    }
}

#[tokio::test]
async fn one_event_can_arrive_on_every_connection() {
    let emu = Emulator::start(workspace()).await;
    let mut a = RawSocket::connect(&emu).await;
    let mut b = RawSocket::connect(&emu).await;
    let handles = emu.send_event_on_all(events::dm_message("U0ADA", "twice"));
    assert_eq!(handles.len(), 2);
    let (on_a, on_b) = (a.next(WAIT).await.unwrap(), b.next(WAIT).await.unwrap());
    assert_eq!(on_a["payload"]["event_id"], on_b["payload"]["event_id"]);
    assert_eq!(on_a["payload"]["event_id"], handles[0].event_id().unwrap());
    assert_ne!(on_a["envelope_id"], on_b["envelope_id"]);
    assert_eq!(on_a["envelope_id"], handles[0].envelope_id());
    assert_eq!(on_b["envelope_id"], handles[1].envelope_id());
    a.ack(&on_a).await;
    b.ack(&on_b).await;
    assert_eq!(handles[0].acked(WAIT).await.unwrap().connection, 1);
    assert_eq!(handles[1].acked(WAIT).await.unwrap().connection, 2);

    // With nobody connected it waits, once, for the next connection.
    emu.drop_connection();
    let handles = emu.send_event_on_all(events::dm_message("U0ADA", "later"));
    assert_eq!(handles.len(), 1);
    let mut c = RawSocket::connect(&emu).await;
    assert_eq!(
        c.next(WAIT).await.unwrap()["envelope_id"],
        handles[0].envelope_id()
    );
}

#[tokio::test]
async fn a_frozen_connection_stays_open_but_answers_nothing() {
    let emu = Emulator::start(workspace()).await;
    let mut socket = RawSocket::connect(&emu).await;
    assert!(socket.pong(WAIT).await, "a live connection answers pings");
    let before = emu.send_event(events::dm_message("U0ADA", "sent before"));
    assert_eq!(
        socket.next(WAIT).await.unwrap()["envelope_id"],
        before.envelope_id()
    );

    assert_eq!(emu.freeze_connection(), 1);
    assert_eq!(emu.live_connections(), 0);
    let during = emu.send_event(events::dm_message("U0ADA", "sent while frozen"));
    assert!(
        !socket.pong(QUIET).await,
        "no pong from a frozen connection"
    );
    assert!(socket.next(QUIET).await.is_none(), "and no envelope");
    // Still open: an ack now is not read.
    socket
        .ack(&json!({"envelope_id": before.envelope_id()}))
        .await;
    assert!(before.acked(QUIET).await.is_none());

    // The app's watchdog gives up and reconnects: both arrive there, the first as a retry.
    let mut next = RawSocket::connect(&emu).await;
    let first = next.next(WAIT).await.unwrap();
    let second = next.next(WAIT).await.unwrap();
    assert_eq!(first["envelope_id"], before.envelope_id());
    assert_eq!(first["retry_attempt"], 1);
    assert_eq!(second["envelope_id"], during.envelope_id());
    assert_eq!(second["retry_attempt"], 0);
    assert_eq!(emu.connections_opened(), 2);
}

async fn ignore_event(
    _event: slack_morphism::prelude::SlackPushEventCallback,
    _client: std::sync::Arc<slack_morphism::prelude::SlackHyperClient>,
    _state: slack_morphism::prelude::SlackClientEventsUserState,
) -> slack_morphism::prelude::UserCallbackResult<()> {
    Ok(())
}

#[tokio::test]
async fn slack_morphisms_watchdog_notices_a_frozen_connection() {
    use slack_morphism::prelude::*;
    use std::sync::Arc;
    let emu = Emulator::start(workspace()).await;
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_reconnect_timeout_in_seconds(1)
        .with_ping_interval_in_seconds(1)
        .with_ping_failure_threshold_times(1);
    let env = Arc::new(SlackClientEventsListenerEnvironment::new(Arc::new(client(
        &emu,
    ))));
    let callbacks = SlackSocketModeListenerCallbacks::new().with_push_events(ignore_event);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    listener.listen_for(&app_token(&emu)).await.unwrap();
    listener.start().await;
    assert!(emu.socket_connected(WAIT).await);

    emu.freeze_connection();
    let event = emu.send_event(slack_emulator::events::dm_message(
        "U0ADA",
        "after the freeze",
    ));
    assert!(
        emu.wait_connections_opened(2, Duration::from_secs(10))
            .await,
        "the listener reconnected"
    );
    let ack = event
        .acked(WAIT)
        .await
        .expect("delivered on the new connection");
    assert_eq!(ack.connection, 2);
    listener.shutdown().await;
}

#[tokio::test]
async fn an_envelope_not_acked_within_3_s_comes_again_with_retry_attempt() {
    // Slack's 3 s ack timeout; the retry schedule after it scaled down to keep the test short.
    let config = workspace().with_retry_delays(&[Duration::ZERO, Duration::from_millis(200)]);
    let emu = Emulator::start(config).await;
    let mut socket = RawSocket::connect(&emu).await;
    let sent_at = std::time::Instant::now();
    let event = emu.send_event(events::dm_message("U0ADA", "slow to ack"));
    let first = socket.next(WAIT).await.unwrap();
    assert_eq!(
        (
            first["retry_attempt"].as_u64(),
            first["retry_reason"].as_str()
        ),
        (Some(0), Some(""))
    );

    // Not acked: nothing more before 3 s, then the same envelope and event again.
    assert!(
        socket.next(Duration::from_millis(2500)).await.is_none(),
        "nothing before 3 s"
    );
    let again = socket
        .next(WAIT)
        .await
        .expect("redelivered after the ack timeout");
    let waited = sent_at.elapsed();
    assert!(waited >= Duration::from_secs(3), "after {waited:?}");
    assert_eq!(again["envelope_id"], event.envelope_id());
    assert_eq!(again["payload"]["event_id"], event.event_id().unwrap());
    assert_eq!(again["retry_attempt"], 1);
    assert_eq!(again["retry_reason"], "timeout");
    assert_eq!(event.retry_attempt(), 1);

    // The retry is acked: no more deliveries, and the ack counts for the retry.
    socket.ack(&again).await;
    let ack = event.acked(WAIT).await.expect("acked");
    assert_eq!(ack.retry_attempt, 1);
    assert!(
        socket.next(Duration::from_millis(3500)).await.is_none(),
        "acked: not sent again"
    );
    assert!(emu.unacked_envelopes().is_empty());
}

#[tokio::test]
async fn retries_stop_after_the_schedule_and_cover_commands_and_clicks() {
    let mut config = workspace().with_retry_delays(&[Duration::ZERO, Duration::from_millis(100)]);
    config.ack_timeout = Duration::from_millis(300);
    let emu = Emulator::start(config).await;
    let mut socket = RawSocket::connect(&emu).await;
    let event = emu.send_event(events::dm_message("U0ADA", "never acked"));
    let attempts: Vec<u64> = [
        socket.next(WAIT).await,
        socket.next(WAIT).await,
        socket.next(WAIT).await,
    ]
    .into_iter()
    .map(|frame| {
        frame.expect("a delivery")["retry_attempt"]
            .as_u64()
            .unwrap()
    })
    .collect();
    assert_eq!(attempts, [0, 1, 2]);
    // Two retries in this schedule, then no more.
    assert!(socket.next(Duration::from_millis(800)).await.is_none());
    assert_eq!(emu.unacked_envelopes(), [event.envelope_id()]);

    // A slash command is delivered again too, and its late ack is taken.
    let command = emu.send_slash_command("/standup", "status", "U0ADA", "C0STANDUP");
    assert_eq!(socket.next(WAIT).await.unwrap()["retry_attempt"], 0);
    let again = socket.next(WAIT).await.unwrap();
    assert_eq!(
        (again["type"].as_str(), again["retry_attempt"].as_u64()),
        (Some("slash_commands"), Some(1))
    );
    socket.ack(&again).await;
    assert!(command.acked(WAIT).await.is_some());
}

#[tokio::test]
async fn pings_go_out_at_the_interval_and_each_pong_is_timed_against_its_ping() {
    let emu = Emulator::start(workspace().with_socket_pings(Duration::from_millis(20))).await;
    let mut socket = RawSocket::connect(&emu).await;
    // Reading is what answers a Ping (the websocket layer queues the Pong and sends it on the
    // next read): read until the first is answered.
    let answered = tokio::time::timeout(WAIT, async {
        while !emu.pings().iter().any(|p| p.round_trip.is_some()) {
            socket.next(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(answered.is_ok(), "no Pong recorded: {:?}", emu.pings());
    assert!(emu.pings().iter().all(|p| p.connection == 1));

    // An app that stops reading answers nothing more: what is sent now stays unanswered...
    let stopped = emu.pings().len();
    let sent = tokio::time::timeout(WAIT, async {
        while emu.pings().len() < stopped + 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(sent.is_ok(), "pings stopped going out");
    let unread = emu.pings();
    assert!(
        unread[stopped..].iter().all(|p| p.round_trip.is_none()),
        "a Pong for a Ping the app never read: {unread:?}"
    );
    // ...until it reads again: then every Ping is answered, the late ones with their wait.
    let all = unread.len();
    let caught_up = tokio::time::timeout(WAIT, async {
        while emu.pings()[..all].iter().any(|p| p.round_trip.is_none()) {
            socket.next(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        caught_up.is_ok(),
        "pings left unanswered: {:?}",
        emu.pings()
    );
    let pings = emu.pings();
    let waited = pings[stopped].round_trip.unwrap();
    let gap = pings[stopped + 2].sent_at - pings[stopped].sent_at;
    assert!(
        waited >= gap,
        "the first unread Ping's round trip ({waited:?}) covers the two sent after it ({gap:?})"
    );
}
