//! Socket Mode: a websocket to Slack (no public URL needed), kept up for as long as the bot runs.
//!
//! Each connection starts with `apps.connections.open` (with a timeout), waits for Slack's
//! `hello`, then serves envelopes: every command or interaction is handled in its own task and
//! acked with its answer; every event is acked once it is stored, by one task per connection
//! that waits for all of them (see [`ack_events`]). A watchdog pings every few seconds and
//! drops a connection that has been silent too long; a `disconnect` from Slack, a closed or
//! dead socket, or a failed open all lead to a new connection, with exponential backoff (and
//! jitter) while things keep failing. Only a token Slack refuses stops the bot, and only at
//! start.
//!
//! Frames are read with slack-morphism's Socket Mode models, so the wire format is the one the
//! crate keeps up to date; the connection handling is ours because the bot needs timeouts on
//! every step and acks that wait for storage.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::client::{Api, Error};
use super::retry::Backoff;
use super::{Inbound, NotStored};
use crate::config::Secret;

/// Timing of the connection; the defaults suit Slack, tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Longest wait for `apps.connections.open`, the websocket handshake, and `hello`, each.
    pub step_timeout: Duration,
    /// How often the watchdog pings.
    pub ping_every: Duration,
    /// Silence (no frame, no pong) after which a connection is taken for dead.
    pub dead_after: Duration,
    /// Waits between failed connections (with jitter).
    pub backoff: Backoff,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            step_timeout: Duration::from_secs(10),
            ping_every: Duration::from_secs(10),
            dead_after: Duration::from_secs(35),
            backoff: Backoff {
                first: Duration::from_secs(1),
                max: Duration::from_secs(60),
                jitter: true,
            },
        }
    }
}

impl Timing {
    /// Reads `STANDUP_SOCKET_PING_SECS` / `STANDUP_SOCKET_DEAD_SECS` (operators behind lossy
    /// proxies; tests), keeping the defaults otherwise.
    pub fn from_env() -> Timing {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .map(Duration::from_secs_f64)
        };
        let mut t = Timing::default();
        if let Some(p) = secs("STANDUP_SOCKET_PING_SECS") {
            t.ping_every = p;
        }
        if let Some(d) = secs("STANDUP_SOCKET_DEAD_SECS") {
            t.dead_after = d;
        }
        if let Some(s) = secs("STANDUP_SOCKET_STEP_SECS") {
            t.step_timeout = s;
        }
        t
    }
}

/// Most frames the writer sends in one write: a large backlog still goes out in pieces.
const ACKS_PER_WRITE: usize = 256;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Slack asked us to reconnect (`refresh_requested`, `warning`): at once, no backoff.
    Refresh(String),
    /// Something failed; reconnect after the backoff.
    Failed(String),
    /// Slack refuses more connections for now (`too_many_websockets`, `link_disabled`).
    Refused(String),
    Shutdown,
}

/// Connects with the app token and serves until `shutdown` resolves. Fails only when the first
/// `apps.connections.open` is refused for good (a wrong token, Socket Mode off).
pub async fn serve(
    api: &Api,
    app_token: &Secret,
    inbound: Arc<dyn Inbound>,
    shutdown: impl Future<Output = ()>,
    timing: Timing,
) -> Result<(), Error> {
    let app_api = api.with_token(app_token);
    let seen = Arc::new(Recent::default());
    let mut waits = timing.backoff.waits();
    let mut ever_connected = false;
    tokio::pin!(shutdown);
    loop {
        let end = tokio::select! {
            end = connection(&app_api, &inbound, &seen, timing, &mut ever_connected) => end,
            () = &mut shutdown => Ok(End::Shutdown),
        };
        let end = match end {
            Ok(end) => end,
            Err(e) if !ever_connected && is_fatal(&e) => return Err(e),
            Err(e) => End::Failed(e.to_string()),
        };
        let wait = match &end {
            End::Shutdown => return Ok(()),
            End::Refresh(reason) => {
                tracing::info!(reason, "Slack asked for a new Socket Mode connection");
                waits.reset();
                Duration::ZERO
            }
            End::Failed(why) => {
                let wait = waits.next_wait();
                tracing::warn!(
                    why,
                    wait_ms = wait.as_millis() as u64,
                    "Socket Mode connection lost; reconnecting"
                );
                wait
            }
            End::Refused(reason) => {
                // A refusal lasts (another copy holds the socket): wait at least eight first
                // waits, still no more than the cap.
                let wait = waits
                    .next_wait()
                    .max(timing.backoff.first * 8)
                    .min(timing.backoff.max);
                tracing::error!(
                    reason,
                    wait_s = wait.as_secs(),
                    "Slack refused the Socket Mode connection; check that Socket Mode is on and no other copy of the bot runs with this app token"
                );
                wait
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// Errors that no retry can mend: the app token or the app's settings are wrong.
fn is_fatal(e: &Error) -> bool {
    matches!(e.code(), Some(code) if matches!(code,
        "invalid_auth" | "not_authed" | "not_allowed_token_type" | "account_inactive" | "token_revoked" | "token_expired"))
}

/// One connection, from `apps.connections.open` to its end.
async fn connection(
    app_api: &Api,
    inbound: &Arc<dyn Inbound>,
    seen: &Arc<Recent>,
    timing: Timing,
    ever_connected: &mut bool,
) -> Result<End, Error> {
    let url = app_api.open_connection().await?;
    let (socket, _) = match tokio::time::timeout(
        timing.step_timeout,
        // Acks are small frames that must leave at once: no Nagle delay.
        tokio_tungstenite::connect_async_with_config(url.as_str(), None, true),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Ok(End::Failed(format!("websocket handshake: {e}"))),
        Err(_) => return Ok(End::Failed("websocket handshake timed out".into())),
    };
    let (mut sink, mut stream) = socket.split();
    // Slack's first frame is `hello`; anything else (or nothing) is a connection to drop.
    match tokio::time::timeout(timing.step_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<Value>(&text) {
            Ok(v) if v["type"] == "hello" => {}
            Ok(v) if v["type"] == "disconnect" => return Ok(disconnect_end(&v)),
            _ => return Ok(End::Failed("Slack's first frame was not hello".into())),
        },
        Ok(_) => return Ok(End::Failed("connection closed before hello".into())),
        Err(_) => return Ok(End::Failed("no hello within the timeout".into())),
    }
    if *ever_connected {
        tracing::info!("reconnected to Slack over Socket Mode");
    } else {
        tracing::info!("connected to Slack over Socket Mode");
        *ever_connected = true;
    }

    // Acks come from handler tasks; one writer task owns the sink. What is queued when it
    // wakes (the acks of a whole group of events the store committed together) goes out in
    // one write, not one write and flush per frame.
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let mut frames = Vec::with_capacity(ACKS_PER_WRITE);
        'frames: while rx.recv_many(&mut frames, ACKS_PER_WRITE).await > 0 {
            for frame in frames.drain(..) {
                if sink.feed(frame).await.is_err() {
                    break 'frames;
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let (events, storing) = mpsc::unbounded_channel();
    tokio::spawn(ack_events(storing, tx.clone()));
    let mut ping = tokio::time::interval(timing.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let end = loop {
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(end) = on_frame(&text, inbound, seen, &tx, &events) {
                            break end;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => break End::Failed("Slack closed the connection".into()),
                    Some(Ok(_)) => {} // pings are answered by tungstenite; pongs only count as life
                    Some(Err(e)) => break End::Failed(format!("websocket: {e}")),
                }
            }
            _ = ping.tick() => {
                tracing::trace!(silent_ms = last_heard.elapsed().as_millis() as u64, "Socket Mode ping");
                if last_heard.elapsed() > timing.dead_after {
                    break End::Failed(format!("watchdog: nothing from Slack for {} s", last_heard.elapsed().as_secs()));
                }
                let _ = tx.send(Message::Ping(Vec::new().into()));
            }
        }
    };
    drop((tx, events));
    // Acks still being prepared (and events still being stored) keep their sender clones; the
    // writer ends when they are done or the socket is gone. Do not wait on it here.
    drop(writer);
    Ok(end)
}

fn disconnect_end(v: &Value) -> End {
    let reason = v["reason"].as_str().unwrap_or("unknown").to_string();
    match reason.as_str() {
        "too_many_websockets" | "link_disabled" => End::Refused(reason),
        _ => End::Refresh(reason),
    }
}

/// An event envelope's id and its storage under way (see [`ack_events`]).
type Storing = (String, BoxFuture<'static, Result<(), NotStored>>);

/// Acks each event of a connection once it is stored. One task waits for all of them: when the
/// store commits a group at once (hundreds of events, say, held up by another program's write
/// lock), their acks go out from one wake-up of this task, in one write, instead of waking a
/// task per event ahead of the commands, clicks and pings waiting to run. Ends once the
/// connection is gone and every event it received is stored (or refused).
async fn ack_events(
    mut incoming: mpsc::UnboundedReceiver<Storing>,
    tx: mpsc::UnboundedSender<Message>,
) {
    let mut storing = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            next = incoming.recv(), if open => match next {
                Some((envelope_id, stored)) => storing.push(async move { (envelope_id, stored.await) }),
                None => open = false,
            },
            Some((envelope_id, stored)) = storing.next(), if !storing.is_empty() => match stored {
                Ok(()) => send_ack(&tx, &envelope_id, None),
                // No ack: Slack delivers it again, by then storage may work.
                Err(NotStored) => tracing::warn!("Socket Mode: event not stored, not acked"),
            },
            else => return,
        }
    }
}

/// Handles one text frame; returns how the connection ends if it does.
fn on_frame(
    text: &str,
    inbound: &Arc<dyn Inbound>,
    seen: &Arc<Recent>,
    tx: &mpsc::UnboundedSender<Message>,
    events: &mpsc::UnboundedSender<Storing>,
) -> Option<End> {
    let Ok(mut raw) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("Socket Mode: a frame that is not JSON; ignored");
        return None;
    };
    let kind = raw["type"].as_str().unwrap_or_default().to_string();
    let kind = kind.as_str();
    if kind == "disconnect" {
        return Some(disconnect_end(&raw));
    }
    let Some(envelope_id) = raw["envelope_id"].as_str().map(str::to_string) else {
        tracing::debug!(kind, "Socket Mode: a frame without an envelope; ignored");
        return None;
    };
    let attempt = raw["retry_attempt"].as_u64().unwrap_or(0);
    let ack = |payload: Option<Value>| send_ack(tx, &envelope_id, payload);
    // A command or click redelivered while (or after) the first copy was handled gets a bare
    // ack: doing it twice would answer twice. Events are deduplicated by the store instead.
    if kind != "events_api" && !seen.first(&envelope_id) {
        tracing::debug!(
            kind,
            attempt,
            "Socket Mode: envelope seen before; acked only"
        );
        ack(None);
        return None;
    }
    let accepts = raw["accepts_response_payload"].as_bool().unwrap_or(false);
    // Moved out, not copied: it is most of the frame.
    let payload = raw
        .get_mut("payload")
        .map(Value::take)
        .unwrap_or(Value::Null);
    let envelope = match kind {
        "events_api" => super::event_callback(payload)
            .map(|e| Envelope::Event(Box::new(e)))
            .ok_or_else(|| serde::de::Error::custom("not an event_callback with an event_id")),
        "slash_commands" => serde_json::from_value(payload).map(|c| Envelope::Command(Box::new(c))),
        "interactive" => {
            serde_json::from_value(payload).map(|i| Envelope::Interaction(Box::new(i)))
        }
        _ => {
            tracing::debug!(
                kind,
                "Socket Mode: an envelope type this version does not use; acked"
            );
            ack(None);
            return None;
        }
    };
    let envelope = match envelope {
        Ok(e) => e,
        Err(e) => {
            // Ack what this version cannot read, or Slack redelivers it for ever.
            tracing::warn!(kind, error = %e, "Socket Mode: an envelope this version cannot read; acked and ignored");
            ack(None);
            return None;
        }
    };
    let tx = tx.clone();
    match envelope {
        Envelope::Event(e) => {
            // Acked by `ack_events` once stored (a closed queue: no ack, Slack delivers it
            // again).
            let _ = events.send((envelope_id, inbound.event(*e)));
        }
        Envelope::Command(c) => {
            let answer = inbound.command(*c);
            tokio::spawn(async move {
                let answer = answer.await;
                send_ack(&tx, &envelope_id, serde_json::to_value(answer).ok());
            });
        }
        Envelope::Interaction(i) => {
            let answer = inbound.interaction(*i);
            tokio::spawn(async move {
                match answer.await {
                    Ok(answer) => send_ack(&tx, &envelope_id, answer.filter(|_| accepts)),
                    // No ack: Slack tells the member it did not work, and they can try again.
                    Err(_) => tracing::warn!("Socket Mode: interaction not stored, not acked"),
                }
            });
        }
    }
    None
}

/// Queues the ack of an envelope, with a response payload if there is one.
fn send_ack(tx: &mpsc::UnboundedSender<Message>, envelope_id: &str, payload: Option<Value>) {
    let mut frame = serde_json::json!({ "envelope_id": envelope_id });
    if let Some(p) = payload {
        frame["payload"] = p;
    }
    let _ = tx.send(Message::Text(frame.to_string().into()));
}

/// What an envelope carries, in slack-morphism's types.
enum Envelope {
    Event(Box<Value>),
    Command(Box<SlackCommandEvent>),
    Interaction(Box<SlackInteractionEvent>),
}

/// Envelope ids handled lately (ten minutes: Slack's redeliveries come within a few).
#[derive(Debug, Default)]
struct Recent(Mutex<HashMap<String, Instant>>);

impl Recent {
    const KEEP: Duration = Duration::from_secs(600);

    /// True the first time an id is seen.
    fn first(&self, id: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, at| at.elapsed() < Self::KEEP);
        }
        match seen.get(id) {
            Some(at) if at.elapsed() < Self::KEEP => false,
            _ => {
                seen.insert(id.to_string(), Instant::now());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_reasons_map_to_how_the_bot_reconnects() {
        let end = |reason: &str| {
            disconnect_end(&serde_json::json!({"type": "disconnect", "reason": reason}))
        };
        assert_eq!(
            end("refresh_requested"),
            End::Refresh("refresh_requested".into())
        );
        assert_eq!(end("warning"), End::Refresh("warning".into()));
        assert_eq!(
            end("too_many_websockets"),
            End::Refused("too_many_websockets".into())
        );
        assert_eq!(end("link_disabled"), End::Refused("link_disabled".into()));
    }

    #[test]
    fn an_envelope_id_counts_once() {
        let recent = Recent::default();
        assert!(recent.first("e1"));
        assert!(!recent.first("e1"));
        assert!(recent.first("e2"));
    }
}
