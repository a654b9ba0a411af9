//! A local Slack emulator for standup-bot's integration tests and load tools.
//!
//! It speaks Slack's real wire formats on `127.0.0.1`, so the bot's own code (slack-morphism's
//! Web API client, its Socket Mode listener, the HTTP endpoints) runs unchanged against it:
//!
//! - the **Web API** at [`Emulator::api_url`] (GET query, form and JSON bodies; bearer or
//!   `token` auth; Slack's response shapes and error codes), with every call recorded;
//! - **messages** with Slack's rules: `chat.postMessage` / `chat.update` with message
//!   `metadata` ([`Message::metadata`]), and reading them back with `conversations.history`
//!   (top-level messages, newest first) and `conversations.replies` (a thread, parent first),
//!   both paged by cursor and returning metadata only with `include_all_metadata`;
//! - **people and channels by name**: `users.lookupByEmail` and `profile.email` (only with
//!   `users:read.email`, as on Slack), `conversations.list` (by `types`, each type's scope
//!   checked, private channels only where the bot is), and channel membership that changes
//!   while the app runs ([`Emulator::join_channel`], [`Emulator::leave_channel`]: what
//!   `conversations.members` / `conversations.info` answer, and the `member_joined_channel` /
//!   `member_left_channel` events the app subscribes to);
//! - **file uploads** (`files.getUploadURLExternal` → upload URL → `files.completeUploadExternal`,
//!   whose share is a message with `files` in its channel or thread) and **`response_url`s**;
//! - **Socket Mode** (`apps.connections.open` → websocket with `hello`, envelopes, acks,
//!   redelivery with `retry_attempt` of what a lost connection did not ack and of what was not
//!   acked within 3 s, on Slack's retry schedule, one event on every connection
//!   ([`Emulator::send_event_on_all`]), Slack's `disconnect` frame, and silently dead
//!   connections ([`Emulator::freeze_connection`]) for the app's watchdog to notice);
//! - the bot's own posts coming back as `message` events where the app subscribes to them
//!   ([`EmulatorConfig::echo_bot_messages`]), as on Slack;
//! - **clicks and form submissions** built only from what the bot posted ([`Emulator::click`],
//!   [`Emulator::click_in_home`], [`Emulator::submit_view`]);
//! - **strict mode**, always on: the bot token has exactly the manifest's scopes
//!   (`missing_scope`), required arguments and Block Kit limits are enforced with Slack's
//!   answers, and the mrkdwn the bot sends is linted; every broken rule is a [`Violation`], and
//!   an emulator dropped with unexpected ones fails the test ([`Emulator::expect_violation`]);
//! - **fault injection** ([`Fault`]) and optional **rate limits** ([`RateLimits`]);
//! - a [`SignedClient`] that posts signed requests to the bot's HTTP endpoints like Slack does,
//!   retrying an event that is not answered 200 within 3 s as Slack does
//!   ([`SignedClient::deliver_event`]).
//!
//! ```no_run
//! use slack_emulator::{events, Emulator, EmulatorConfig, User};
//! use std::time::Duration;
//!
//! # async fn demo() {
//! let emu = Emulator::start(EmulatorConfig::default().with_user(User::new("U1", "ada"))).await;
//! // point the bot at emu.api_url() with emu.config().bot_token / app_token, start it, then:
//! assert!(emu.socket_connected(Duration::from_secs(5)).await);
//! let reply = emu.send_event(events::dm_message("U1", "*Yesterday*\n- shipped"));
//! reply.ack(Duration::from_secs(3)).await.expect("bot acked");
//! let dm = emu.dm_channel("U1");
//! emu.wait_for_message(&dm, |m| m.text.is_some(), Duration::from_secs(5)).await;
//! # }
//! ```

#![warn(missing_docs)]

mod config;
pub mod events;
mod faults;
mod ids;
mod interact;
mod params;
mod rate_limit;
mod server;
mod signing;
mod socket;
mod state;
mod strict;
mod web_api;

pub use config::{Channel, EmulatorConfig, RateLimits, SLACK_RETRY_DELAYS, User};
pub use faults::Fault;
pub use interact::InteractionError;
pub use server::Emulator;
pub use signing::{
    Attempt, ClientError, Delivery, RawRequest, SignedClient, SignedRequest, SignedResponse,
    signature,
};
pub use socket::{Ack, EnvelopeHandle, Ping};
pub use state::{Call, File, Message, ResponsePost, Revision, View};
pub use strict::{Rule, Violation, spec};
