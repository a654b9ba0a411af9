//! Socket Mode: the websocket at `/socket`, envelopes pushed to the app, and its acks.
//!
//! A connection gets `hello` first. Envelopes go round-robin to live connections; with none
//! live they wait and go out, in order, to the next connection (as Slack holds events while an
//! app reconnects). An ack is any frame from the app with an `envelope_id`.
//!
//! As on Slack, an envelope is not lost with its connection: when a connection closes, drops,
//! is replaced or is frozen ([`Emulator::freeze_connection`]), every envelope sent on it and not
//! acked goes out again on a live or the next connection, with `retry_attempt` one higher and
//! `retry_reason: "timeout"`.
//!
//! Nor is it lost when the app is slow: Slack wants an ack within 3 s
//! ([`EmulatorConfig::ack_timeout`](crate::EmulatorConfig::ack_timeout)); an envelope still
//! unacked then is delivered again, with `retry_attempt` one higher and `retry_reason:
//! "timeout"` (the value Slack sends in Socket Mode, as the official Java SDK's `EventContext`
//! notes next to `X-Slack-Retry-Reason: http_error` for HTTP), on Slack's Events API schedule:
//! nearly at once, after 1 minute, after 5 minutes, then no more
//! ([`EmulatorConfig::retry_delays`](crate::EmulatorConfig::retry_delays), which tests may
//! scale down). Slack documents this retry for Events API deliveries; for a slash command or a
//! click it documents only that the user sees an error after 3 s. The emulator retries those
//! too: a harsher condition than Slack promises, which the app's per-envelope deduplication
//! must survive either way.
//!
//! Slack's servers also ping each connection with websocket Ping frames; with
//! [`EmulatorConfig::socket_ping_every`](crate::EmulatorConfig::socket_ping_every) set the
//! emulator does too, and times each Pong ([`Emulator::pings`]): how long the app's connection
//! took to answer, which is what a busy app shows first.

use crate::events;
use crate::ids;
use crate::server::Emulator;
use crate::state::Shared;
use crate::web_api::issue_trigger;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The app's acknowledgement of one envelope.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The envelope acked.
    pub envelope_id: String,
    /// The ack's `payload` (a slash command's response, a view submission's
    /// `response_action`), if any.
    pub payload: Option<Value>,
    /// From the (last) delivery of the envelope to its ack.
    pub latency: Duration,
    /// Which connection (1, 2, ... in order of opening) carried the ack.
    pub connection: u64,
    /// The envelope's `retry_attempt` when the ack arrived (0 unless redelivered).
    pub retry_attempt: u64,
    /// When it arrived.
    pub at: Instant,
}

/// One websocket Ping the emulator sent on a Socket Mode connection, and its Pong.
#[derive(Debug, Clone)]
pub struct Ping {
    /// Which connection (1, 2, ... in order of opening) it was sent on.
    pub connection: u64,
    /// When it was written to the websocket.
    pub sent_at: Instant,
    /// From the Ping being written to its Pong being read; `None` while unanswered.
    pub round_trip: Option<Duration>,
}

/// An envelope sent to the app; await its ack with [`EnvelopeHandle::ack`].
#[derive(Clone)]
pub struct EnvelopeHandle {
    envelope_id: String,
    event_id: Option<String>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EnvelopeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeHandle")
            .field("envelope_id", &self.envelope_id)
            .field("event_id", &self.event_id)
            .finish()
    }
}

impl EnvelopeHandle {
    /// The envelope id.
    pub fn envelope_id(&self) -> &str {
        &self.envelope_id
    }

    /// The Events API `event_id`, for `events_api` envelopes.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// Waits for the ack of the latest delivery (after [`Emulator::redeliver`], the ack of the
    /// redelivery); its payload (`Value::Null` for a bare ack), or `None` on timeout.
    pub async fn ack(&self, timeout: Duration) -> Option<Value> {
        self.acked(timeout)
            .await
            .map(|ack| ack.payload.unwrap_or(Value::Null))
    }

    /// The envelope's current `retry_attempt` (0 until it is redelivered).
    pub fn retry_attempt(&self) -> u64 {
        self.shared.read(|s| s.socket.attempt(&self.envelope_id))
    }

    /// Waits for the ack and returns it whole (with latency), or `None` on timeout.
    pub async fn acked(&self, timeout: Duration) -> Option<Ack> {
        self.shared
            .wait_for(timeout, |s| {
                let attempt = s.socket.attempt(&self.envelope_id);
                s.socket
                    .acks
                    .iter()
                    .find(|a| a.envelope_id == self.envelope_id && a.retry_attempt == attempt)
                    .cloned()
            })
            .await
    }
}

enum Command {
    Frame(String),
    Disconnect(String),
    /// Stop reading (so pings go unanswered) and sending, but keep the TCP connection open.
    Freeze,
    Drop,
}

#[derive(Debug)]
struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<Command>,
}

#[derive(Debug)]
struct Sent {
    /// Order of creation, so envelopes lost together go out again in the order they were sent.
    seq: u64,
    envelope: Value,
    delivered_at: Option<Instant>,
    /// The connection carrying the latest delivery; `None` while it waits for one.
    connection: Option<u64>,
    /// The latest delivery was acked.
    acked: bool,
    /// Every retry the schedule allows was sent and the last one timed out too.
    gave_up: bool,
}

/// Socket Mode's part of the emulator state.
#[derive(Debug, Default)]
pub(crate) struct SocketState {
    pub tickets: HashSet<String>,
    pub acks: Vec<Ack>,
    connections: Vec<Connection>,
    /// Connections made silently dead: kept only so the emulator can close them at the end.
    frozen: Vec<Connection>,
    opened: u64,
    next: usize,
    pending: VecDeque<String>,
    sent: HashMap<String, Sent>,
    /// Envelopes delivered on a live connection and not acked yet: the ones the ack timeout
    /// watches (so the timer does not scan every envelope ever sent).
    inflight: HashSet<String>,
    /// Every Ping sent, in order; a Ping's payload is its index here.
    pings: Vec<Ping>,
}

impl SocketState {
    /// Wraps `payload` in a new envelope and delivers it; returns the envelope id.
    pub(crate) fn enqueue(
        &mut self,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
    ) -> String {
        let envelope_id = self.create(kind, payload, accepts_response_payload);
        self.deliver(&envelope_id);
        envelope_id
    }

    /// One envelope per live connection, all with the same payload (so the same `event_id`),
    /// each sent on its own connection, as Slack may do; with none live, one envelope that
    /// waits for the next connection.
    pub(crate) fn enqueue_on_all(
        &mut self,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
    ) -> Vec<String> {
        if self.connections.is_empty() {
            return vec![self.enqueue(kind, payload, accepts_response_payload)];
        }
        (0..self.connections.len())
            .map(|index| {
                let envelope_id = self.create(kind, payload.clone(), accepts_response_payload);
                self.send_on(index, &envelope_id);
                envelope_id
            })
            .collect()
    }

    /// Wraps `payload` in a new envelope, not yet sent.
    fn create(&mut self, kind: &str, payload: Value, accepts_response_payload: bool) -> String {
        let envelope_id = ids::envelope_id();
        let envelope = json!({
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        });
        let seq = self.sent.len() as u64;
        self.sent.insert(
            envelope_id.clone(),
            Sent {
                seq,
                envelope,
                delivered_at: None,
                connection: None,
                acked: false,
                gave_up: false,
            },
        );
        envelope_id
    }

    /// Sends an envelope on the next live connection (round-robin), or queues it for the next
    /// connection to open.
    fn deliver(&mut self, envelope_id: &str) {
        if self.connections.is_empty() {
            self.pending.push_back(envelope_id.to_string());
            return;
        }
        let index = self.next % self.connections.len();
        self.next += 1;
        self.send_on(index, envelope_id);
    }

    /// Sends an envelope on the live connection at `index`.
    fn send_on(&mut self, index: usize, envelope_id: &str) {
        let Some(sent) = self.sent.get_mut(envelope_id) else {
            return;
        };
        let connection = &self.connections[index];
        if connection
            .tx
            .send(Command::Frame(sent.envelope.to_string()))
            .is_ok()
        {
            sent.delivered_at = Some(Instant::now());
            sent.connection = Some(connection.id);
            sent.acked = false;
            self.inflight.insert(envelope_id.to_string());
        } else {
            // The connection's task has ended and will report it; wait for the next one.
            sent.connection = None;
            self.pending.push_back(envelope_id.to_string());
        }
    }

    fn attempt(&self, envelope_id: &str) -> u64 {
        self.sent
            .get(envelope_id)
            .and_then(|s| s.envelope["retry_attempt"].as_u64())
            .unwrap_or(0)
    }

    fn redeliver(&mut self, envelope_id: &str, reason: &str) {
        if let Some(sent) = self.sent.get_mut(envelope_id) {
            let attempt = sent.envelope["retry_attempt"].as_u64().unwrap_or(0) + 1;
            sent.envelope["retry_attempt"] = json!(attempt);
            sent.envelope["retry_reason"] = json!(reason);
            sent.connection = None;
            sent.acked = false;
            self.inflight.remove(envelope_id);
            self.deliver(envelope_id);
        }
    }

    /// Whether [`SocketState::time_out`] has anything to do at `now`.
    fn timeouts_due(&self, now: Instant, ack_timeout: Duration, delays: &[Duration]) -> bool {
        self.inflight
            .iter()
            .any(|id| self.retry_due(id, now, ack_timeout, delays).is_some())
    }

    /// For an envelope in flight: `Some(true)` when its retry is due at `now`, `Some(false)`
    /// when it timed out on its last allowed retry, `None` while there is nothing to do.
    fn retry_due(
        &self,
        envelope_id: &str,
        now: Instant,
        ack_timeout: Duration,
        delays: &[Duration],
    ) -> Option<bool> {
        let sent = self.sent.get(envelope_id)?;
        if sent.acked || sent.gave_up || sent.connection.is_none() {
            return None;
        }
        let timed_out = sent.delivered_at? + ack_timeout;
        let attempt = usize::try_from(sent.envelope["retry_attempt"].as_u64().unwrap_or(0)).ok()?;
        match delays.get(attempt) {
            Some(delay) => (now >= timed_out + *delay).then_some(true),
            None => (now >= timed_out).then_some(false),
        }
    }

    /// Sends again, oldest first, what was not acked within `ack_timeout` and whose retry is
    /// due; gives up on what timed out on its last retry.
    fn time_out(&mut self, now: Instant, ack_timeout: Duration, delays: &[Duration]) {
        let mut due: Vec<(u64, String, bool)> = self
            .inflight
            .iter()
            .filter_map(|id| {
                let retry = self.retry_due(id, now, ack_timeout, delays)?;
                Some((self.sent.get(id)?.seq, id.clone(), retry))
            })
            .collect();
        due.sort();
        for (_, envelope_id, retry) in due {
            if retry {
                self.redeliver(&envelope_id, "timeout");
            } else {
                tracing::warn!(
                    envelope_id,
                    "socket mode: never acked; Slack stops retrying here"
                );
                self.inflight.remove(&envelope_id);
                if let Some(sent) = self.sent.get_mut(&envelope_id) {
                    sent.gave_up = true;
                }
            }
        }
    }

    /// Connection `id` is gone (or frozen): what it carried and the app did not ack goes out
    /// again, as Slack retries an envelope whose ack never came.
    fn lost(&mut self, id: u64) {
        let mut unacked: Vec<(u64, String)> = self
            .sent
            .iter()
            .filter(|(_, sent)| sent.connection == Some(id) && !sent.acked)
            .map(|(envelope_id, sent)| (sent.seq, envelope_id.clone()))
            .collect();
        unacked.sort();
        for (_, envelope_id) in unacked {
            self.redeliver(&envelope_id, "timeout");
        }
    }

    /// Envelopes whose latest delivery has not been acked (including those waiting for a
    /// connection), oldest first.
    fn unacked(&self) -> Vec<String> {
        let mut unacked: Vec<(u64, &String)> = self
            .sent
            .iter()
            .filter(|(_, sent)| !sent.acked)
            .map(|(envelope_id, sent)| (sent.seq, envelope_id))
            .collect();
        unacked.sort();
        unacked.into_iter().map(|(_, id)| id.clone()).collect()
    }

    fn open(&mut self, tx: mpsc::UnboundedSender<Command>, app_id: &str) -> u64 {
        self.opened += 1;
        let id = self.opened;
        self.connections.push(Connection { id, tx: tx.clone() });
        let hello = json!({
            "type": "hello",
            "num_connections": self.connections.len(),
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": app_id},
        });
        let _ = tx.send(Command::Frame(hello.to_string()));
        for envelope_id in std::mem::take(&mut self.pending) {
            self.deliver(&envelope_id);
        }
        id
    }

    /// The connection's task has ended (the app closed it, or the emulator did).
    fn close(&mut self, id: u64) {
        self.connections.retain(|c| c.id != id);
        self.frozen.retain(|c| c.id != id);
        self.lost(id);
    }

    fn record_frame(&mut self, connection: u64, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            tracing::warn!(connection, "socket mode: a frame from the app is not JSON");
            return;
        };
        let Some(envelope_id) = frame["envelope_id"].as_str() else {
            tracing::warn!(
                connection,
                "socket mode: a frame from the app has no envelope_id"
            );
            return;
        };
        let retry_attempt = self.attempt(envelope_id);
        let latency = self
            .sent
            .get(envelope_id)
            .and_then(|s| s.delivered_at)
            .map(|at| at.elapsed())
            .unwrap_or_default();
        if let Some(sent) = self.sent.get_mut(envelope_id) {
            sent.acked = true;
        }
        self.inflight.remove(envelope_id);
        self.acks.push(Ack {
            envelope_id: envelope_id.to_string(),
            payload: frame.get("payload").filter(|p| !p.is_null()).cloned(),
            latency,
            connection,
            retry_attempt,
            at: Instant::now(),
        });
    }

    /// Records a Ping about to go out on `connection`; returns its payload (its index).
    fn ping_sent(&mut self, connection: u64) -> u64 {
        self.pings.push(Ping {
            connection,
            sent_at: Instant::now(),
            round_trip: None,
        });
        self.pings.len() as u64 - 1
    }

    /// A Pong came back on `connection`: it answers the Ping whose index is its payload (a
    /// Pong must carry the Ping's payload, RFC 6455 5.5.3); an unsolicited one is ignored.
    fn pong(&mut self, connection: u64, payload: &[u8]) {
        let Ok(index) = <[u8; 8]>::try_from(payload).map(u64::from_be_bytes) else {
            return;
        };
        if let Some(ping) = usize::try_from(index)
            .ok()
            .and_then(|i| self.pings.get_mut(i))
            .filter(|p| p.connection == connection && p.round_trip.is_none())
        {
            ping.round_trip = Some(ping.sent_at.elapsed());
        }
    }

    /// Closes every connection, frozen ones too, without a word.
    pub(crate) fn drop_all(&mut self) {
        for connection in self.frozen.drain(..) {
            let _ = connection.tx.send(Command::Drop);
        }
        self.broadcast(|| Command::Drop);
    }

    /// Makes every live connection silently dead and takes them off the live list; returns
    /// how many.
    fn freeze_all(&mut self) -> usize {
        let frozen = self.broadcast(|| Command::Freeze);
        let count = frozen.len();
        // Their tasks end when every sender is gone: keep one, to close them later.
        self.frozen.extend(frozen);
        count
    }

    /// Sends `command` to every live connection and takes them off the live list at once, so
    /// envelopes sent from now on wait for the next connection; what they carried unacked is
    /// redelivered at once (once all are off the list, so not to one of them). Returns them.
    fn broadcast(&mut self, command: impl Fn() -> Command) -> Vec<Connection> {
        let connections: Vec<Connection> = self.connections.drain(..).collect();
        for connection in &connections {
            let _ = connection.tx.send(command());
            self.lost(connection.id);
        }
        connections
    }
}

/// Watches the ack timeout: every 50 ms, sends again what is due (see the module docs). Runs
/// until the emulator is dropped.
pub(crate) async fn retry_timer(shared: Arc<Shared>) {
    let ack_timeout = shared.config.ack_timeout;
    let delays = shared.config.retry_delays.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = Instant::now();
        // Read first: an update wakes every waiter, which a quiet tick should not.
        if shared.read(|s| s.socket.timeouts_due(now, ack_timeout, &delays)) {
            shared.update(|s| s.socket.time_out(now, ack_timeout, &delays));
        }
    }
}

/// `GET /socket?ticket=...`: upgrades when the ticket came from `apps.connections.open`.
pub(crate) async fn upgrade(
    AxumState(shared): AxumState<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let ticket = query.get("ticket").cloned().unwrap_or_default();
    if !shared.read(|s| s.socket.tickets.contains(&ticket)) {
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    ws.on_upgrade(move |socket| serve(shared, socket))
}

async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.update(|s| s.socket.open(tx, &shared.config.app_id));
    tracing::debug!(connection = id, "socket mode: connected");
    let ping_every = shared.config.socket_ping_every;
    // The first Ping goes one interval after `hello`, not with it. (Without pings the timer
    // still exists, but its branch is off.)
    let period = ping_every
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_millis(1));
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = pings.tick(), if ping_every.is_some() => {
                let index = shared.update(|s| s.socket.ping_sent(id));
                let payload = index.to_be_bytes().to_vec();
                if socket.send(WsMessage::Ping(payload.into())).await.is_err() {
                    break;
                }
            }
            command = rx.recv() => match command {
                Some(Command::Frame(frame)) => {
                    if socket.send(WsMessage::Text(frame.into())).await.is_err() {
                        break;
                    }
                }
                Some(Command::Disconnect(reason)) => {
                    let frame = json!({
                        "type": "disconnect",
                        "reason": reason,
                        "debug_info": {"host": "applink-emulator"},
                    });
                    let _ = socket.send(WsMessage::Text(frame.to_string().into())).await;
                    let _ = socket
                        .send(WsMessage::Close(Some(CloseFrame { code: 1000, reason: "".into() })))
                        .await;
                    break;
                }
                Some(Command::Freeze) => {
                    // Reading is what answers pings, so read nothing and send nothing; hold the
                    // TCP connection open until told to let go.
                    while let Some(command) = rx.recv().await {
                        if matches!(command, Command::Drop) {
                            break;
                        }
                    }
                    break;
                }
                Some(Command::Drop) | None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    shared.update(|s| s.socket.record_frame(id, text.as_str()));
                }
                Some(Ok(WsMessage::Pong(payload))) => {
                    shared.update(|s| s.socket.pong(id, &payload));
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                // The app's Pings are answered by the websocket layer.
                Some(Ok(_)) => {}
            },
        }
    }
    // Dropping the socket without a close frame is what `drop_connection` wants.
    drop(socket);
    shared.update(|s| s.socket.close(id));
    tracing::debug!(connection = id, "socket mode: closed");
}

impl Emulator {
    /// Waits until at least one Socket Mode connection is live; `false` on timeout.
    #[must_use]
    pub async fn socket_connected(&self, timeout: Duration) -> bool {
        self.shared
            .wait_for(timeout, |s| {
                (!s.socket.connections.is_empty()).then_some(())
            })
            .await
            .is_some()
    }

    /// Waits until `n` connections have been opened in total (reconnects count); `false` on
    /// timeout.
    #[must_use]
    pub async fn wait_connections_opened(&self, n: u64, timeout: Duration) -> bool {
        self.shared
            .wait_for(timeout, |s| (s.socket.opened >= n).then_some(()))
            .await
            .is_some()
    }

    /// Connections opened so far, reconnects included.
    pub fn connections_opened(&self) -> u64 {
        self.shared.read(|s| s.socket.opened)
    }

    /// Connections live now.
    pub fn live_connections(&self) -> usize {
        self.shared.read(|s| s.socket.connections.len())
    }

    fn push(&self, kind: &str, payload: Value, accepts_response_payload: bool) -> EnvelopeHandle {
        if let Some(trigger) = payload["trigger_id"].as_str() {
            self.shared.update(|s| issue_trigger(s, trigger, None));
        }
        let event_id = payload["event_id"].as_str().map(str::to_string);
        let envelope_id = self
            .shared
            .update(|s| s.socket.enqueue(kind, payload, accepts_response_payload));
        self.handle(envelope_id, event_id)
    }

    fn handle(&self, envelope_id: String, event_id: Option<String>) -> EnvelopeHandle {
        EnvelopeHandle {
            envelope_id,
            event_id,
            shared: self.shared.clone(),
        }
    }

    /// Pushes an Events API event (the inner `event` object, see [`crate::events`]) in an
    /// `events_api` envelope.
    pub fn send_event(&self, event: Value) -> EnvelopeHandle {
        let payload = events::event_callback(self.config(), event);
        self.push("events_api", payload, false)
    }

    /// Pushes an Events API event on one live connection: `index` in the order the live
    /// connections were opened (Slack gives no say in which connection gets an event; a test
    /// uses this to know which of several clients holds it). With no connection at `index`,
    /// the envelope waits for the next connection, as [`Emulator::send_event`]'s does.
    pub fn send_event_on(&self, index: usize, event: Value) -> EnvelopeHandle {
        let payload = events::event_callback(self.config(), event);
        self.push_on(index, "events_api", payload, false)
    }

    /// Pushes an interaction payload on one live connection, as [`Emulator::send_event_on`]
    /// does an event.
    pub fn send_interaction_on(&self, index: usize, payload: Value) -> EnvelopeHandle {
        if let Some(trigger) = payload["trigger_id"].as_str() {
            self.shared.update(|s| issue_trigger(s, trigger, None));
        }
        self.push_on(index, "interactive", payload, true)
    }

    fn push_on(
        &self,
        index: usize,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
    ) -> EnvelopeHandle {
        let event_id = payload["event_id"].as_str().map(str::to_string);
        let envelope_id = self.shared.update(|s| {
            let envelope_id = s.socket.create(kind, payload, accepts_response_payload);
            if index < s.socket.connections.len() {
                s.socket.send_on(index, &envelope_id);
            } else {
                s.socket.deliver(&envelope_id);
            }
            envelope_id
        });
        self.handle(envelope_id, event_id)
    }

    /// Pushes one Events API event over every live connection at once: the same `event_id` in
    /// a different envelope on each, as Slack may deliver an event to two connections of one
    /// app. With no live connection, one envelope waits for the next. Returns the envelopes in
    /// connection order.
    pub fn send_event_on_all(&self, event: Value) -> Vec<EnvelopeHandle> {
        let payload = events::event_callback(self.config(), event);
        let event_id = payload["event_id"].as_str().map(str::to_string);
        let envelope_ids = self
            .shared
            .update(|s| s.socket.enqueue_on_all("events_api", payload, false));
        envelope_ids
            .into_iter()
            .map(|envelope_id| self.handle(envelope_id, event_id.clone()))
            .collect()
    }

    /// Pushes a slash command in a `slash_commands` envelope (payload: Slack's form fields as
    /// JSON strings, with a live `response_url` and `trigger_id`).
    pub fn send_slash_command(
        &self,
        command: &str,
        text: &str,
        user: &str,
        channel: &str,
    ) -> EnvelopeHandle {
        let fields = self.slash_command_fields(command, text, user, channel);
        let payload = fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<_, _>>();
        self.push("slash_commands", Value::Object(payload), true)
    }

    /// Pushes an interaction payload (`block_actions`, `view_submission`, ...; see
    /// [`Emulator::click`], [`Emulator::submit_view`]) in an `interactive` envelope.
    pub fn send_interaction(&self, payload: Value) -> EnvelopeHandle {
        self.push("interactive", payload, true)
    }

    /// Sends an envelope again with the same `envelope_id` (and `event_id`), `retry_attempt`
    /// one higher and `retry_reason: "timeout"`, as Slack does when an ack is late.
    pub fn redeliver(&self, envelope: &EnvelopeHandle) {
        self.shared
            .update(|s| s.socket.redeliver(&envelope.envelope_id, "timeout"));
    }

    /// Sends a raw text frame on the next connection (for malformed-frame tests).
    pub fn send_raw(&self, frame: &str) {
        self.shared.update(|s| {
            if let Some(connection) = s.socket.connections.first() {
                let _ = connection.tx.send(Command::Frame(frame.to_string()));
            }
        });
    }

    /// Sends Slack's `{"type":"disconnect","reason":...,"debug_info":{"host":...}}` on every
    /// live connection, then closes them. Slack's reasons are `refresh_requested` (reconnect
    /// soon), `warning` (this connection will be refreshed shortly), `link_disabled` (Socket
    /// Mode was turned off: do not reconnect) and `too_many_websockets`. Unacked envelopes and
    /// envelopes sent afterwards go out on the app's next connection.
    pub fn disconnect(&self, reason: &str) {
        self.shared.update(|s| {
            s.socket
                .broadcast(|| Command::Disconnect(reason.to_string()));
        });
    }

    /// Drops every live connection without a message or close frame. Unacked envelopes and
    /// envelopes sent afterwards go out on the app's next connection.
    pub fn drop_connection(&self) {
        self.shared.update(|s| s.socket.drop_all());
    }

    /// Makes every live connection silently dead: the TCP connection stays open, but nothing is
    /// sent on it, nothing the app sends is read, and pings go unanswered, so only the app's
    /// own watchdog can notice. The connections stop counting as live at once; their unacked
    /// envelopes and envelopes sent afterwards go out on the app's next connection. Returns how
    /// many were frozen. The emulator closes them when dropped or on [`Emulator::drop_connection`].
    pub fn freeze_connection(&self) -> usize {
        self.shared.update(|s| s.socket.freeze_all())
    }

    /// Envelopes whose latest delivery the app has not acked yet (sent, or waiting for a
    /// connection), oldest first.
    pub fn unacked_envelopes(&self) -> Vec<String> {
        self.shared.read(|s| s.socket.unacked())
    }

    /// Every websocket Ping sent on a Socket Mode connection (see
    /// [`EmulatorConfig::socket_ping_every`](crate::EmulatorConfig::socket_ping_every)), in
    /// order, each with its Pong's round trip once answered.
    pub fn pings(&self) -> Vec<Ping> {
        self.shared.read(|s| s.socket.pings.clone())
    }

    /// Waits until `n` Pings have been sent and answered in total; `false` on timeout.
    #[must_use]
    pub async fn wait_pongs(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_for(timeout, |s| {
                let answered = s.socket.pings.iter().filter(|p| p.round_trip.is_some());
                (answered.count() >= n).then_some(())
            })
            .await
            .is_some()
    }

    /// Every ack received, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.shared.read(|s| s.socket.acks.clone())
    }

    /// The acks received after the first `start`, in order (see [`Emulator::messages_from`]).
    pub fn acks_from(&self, start: usize) -> Vec<Ack> {
        self.shared
            .read(|s| s.socket.acks.get(start..).map(<[Ack]>::to_vec))
            .unwrap_or_default()
    }
}
