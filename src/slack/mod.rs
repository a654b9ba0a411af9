//! The Slack edge: the only module that knows Slack's JSON and slack-morphism's types.
//!
//! Inbound, Socket Mode ([`socket`]) and HTTP mode ([`http`]) both turn what Slack sends into
//! calls on one [`Inbound`] implementation; outbound, [`client`] wraps the Web API with
//! timeouts, retries and rate control.

pub mod blocks;
pub mod client;
pub mod http;
pub mod message;
pub mod mrkdwn;
pub mod pacing;
pub mod retry;
pub mod rich_text;
pub mod socket;

use std::sync::Arc;

use futures::future::BoxFuture;
use slack_morphism::prelude::{
    SlackCommandEvent, SlackCommandEventResponse, SlackInteractionEvent,
};

use crate::metrics::{self, Metrics};

/// An event the bot could not store; Slack should deliver it again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event could not be stored; Slack should deliver it again")]
pub struct NotStored;

/// `body` when it is an `event_callback` the bot can store and deduplicate: a string
/// `event_id` and an `event` object.
pub fn event_callback(body: serde_json::Value) -> Option<serde_json::Value> {
    let valid = body.get("type").and_then(serde_json::Value::as_str) == Some("event_callback")
        && body
            .get("event_id")
            .is_some_and(serde_json::Value::is_string)
        && body.get("event").is_some_and(serde_json::Value::is_object);
    valid.then_some(body)
}

/// What the bot does with what Slack sends. Both connection modes call it; each call must
/// return well within Slack's 3-second ack window (slow work is spawned by the implementation).
pub trait Inbound: Send + Sync + 'static {
    /// An Events API `event_callback` body (messages, edits, app home opened, ...) as Slack sent
    /// it, checked by [`event_callback`]. It stays JSON: slack-morphism's model drops fields the
    /// bot reads (a rich text emoji's skin tone) and cannot read some message shapes at all. `Ok`
    /// once the event is stored (the transport acks it then); `Err` when it could not be, so the
    /// transport must not ack and Slack delivers it again.
    fn event(&self, event: serde_json::Value) -> BoxFuture<'static, Result<(), NotStored>>;
    /// A slash command; the response is the command's (ephemeral) answer.
    fn command(&self, command: SlackCommandEvent) -> BoxFuture<'static, SlackCommandEventResponse>;
    /// A button click or modal submission. `Ok(Some(body))` is sent back as the response body
    /// (for example `{"response_action": "errors", ...}` for a modal); `Ok(None)` is an empty
    /// ack. A click or submission that changes something is stored before `Ok` (like an
    /// event); `Err` when it could not be, so the transport must not ack and Slack tells the
    /// member it did not work.
    fn interaction(
        &self,
        interaction: SlackInteractionEvent,
    ) -> BoxFuture<'static, Result<Option<serde_json::Value>, NotStored>>;
}

/// An [`Inbound`] that counts, for `/metrics`, each request Slack sent and each one acked
/// (stored or answered), whichever transport delivered it. Wrapping the one `Inbound` both
/// transports call counts alike in Socket Mode and HTTP mode.
pub struct Counted {
    inner: Arc<dyn Inbound>,
    metrics: Metrics,
}

impl Counted {
    pub fn new(inner: Arc<dyn Inbound>, metrics: Metrics) -> Counted {
        Counted { inner, metrics }
    }
}

impl Inbound for Counted {
    fn event(&self, event: serde_json::Value) -> BoxFuture<'static, Result<(), NotStored>> {
        self.metrics.received(metrics::Inbound::Event);
        let (stored, counts) = (self.inner.event(event), self.metrics.clone());
        Box::pin(async move {
            let stored = stored.await;
            if stored.is_ok() {
                counts.acked(metrics::Inbound::Event);
            }
            stored
        })
    }

    fn command(&self, command: SlackCommandEvent) -> BoxFuture<'static, SlackCommandEventResponse> {
        self.metrics.received(metrics::Inbound::Command);
        let (answer, counts) = (self.inner.command(command), self.metrics.clone());
        Box::pin(async move {
            let answer = answer.await;
            // A command always gets its answer as the ack.
            counts.acked(metrics::Inbound::Command);
            answer
        })
    }

    fn interaction(
        &self,
        interaction: SlackInteractionEvent,
    ) -> BoxFuture<'static, Result<Option<serde_json::Value>, NotStored>> {
        self.metrics.received(metrics::Inbound::Interaction);
        let (answer, counts) = (self.inner.interaction(interaction), self.metrics.clone());
        Box::pin(async move {
            let answer = answer.await;
            if answer.is_ok() {
                counts.acked(metrics::Inbound::Interaction);
            }
            answer
        })
    }
}
