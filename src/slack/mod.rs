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

use futures::future::BoxFuture;
use slack_morphism::prelude::{
    SlackCommandEvent, SlackCommandEventResponse, SlackInteractionEvent,
};

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
