//! The Slack edge: the only module that knows Slack's JSON and slack-morphism's types.
//!
//! Inbound, Socket Mode ([`socket`]) and HTTP mode ([`http`]) both turn what Slack sends into
//! calls on one [`Inbound`] implementation; outbound, [`client`] wraps the Web API with
//! timeouts, retries and rate control.

pub mod blocks;
pub mod client;
pub mod http;
pub mod inbound;
pub mod mrkdwn;
pub mod pacing;
pub mod socket;

use futures::future::BoxFuture;
use slack_morphism::prelude::{
    SlackCommandEvent, SlackCommandEventResponse, SlackInteractionEvent, SlackPushEventCallback,
};

/// An event the bot could not store; Slack should deliver it again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event could not be stored; Slack should deliver it again")]
pub struct NotStored;

/// What the bot does with what Slack sends. Both connection modes call it; each call must
/// return well within Slack's 3-second ack window (slow work is spawned by the implementation).
pub trait Inbound: Send + Sync + 'static {
    /// An Events API `event_callback` (messages, edits, app home opened, ...). `Ok` once the
    /// event is stored (the transport acks it then); `Err` when it could not be, so the
    /// transport must not ack and Slack delivers it again.
    fn event(&self, event: SlackPushEventCallback) -> BoxFuture<'static, Result<(), NotStored>>;
    /// A slash command; the response is the command's (ephemeral) answer.
    fn command(&self, command: SlackCommandEvent) -> BoxFuture<'static, SlackCommandEventResponse>;
    /// A button click or modal submission. `Some(body)` is sent back as the response body
    /// (for example `{"response_action": "errors", ...}` for a modal); `None` is an empty ack.
    fn interaction(
        &self,
        interaction: SlackInteractionEvent,
    ) -> BoxFuture<'static, Option<serde_json::Value>>;
}
