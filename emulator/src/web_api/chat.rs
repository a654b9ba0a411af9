//! `chat.postMessage`, `chat.update`, `chat.postEphemeral`.

use super::{Conv, Ctx, Reply, error, resolve};
use crate::events;
use crate::ids;
use crate::params::json_of;
use crate::state::{Message, Revision, State};
use serde_json::{Value, json};
use std::time::Instant;

impl Ctx<'_> {
    /// Text, blocks and attachments of a post; `no_text` when all are missing.
    fn content(&self) -> Result<(Option<String>, Option<Value>), Reply> {
        let text = self.str("text");
        let blocks =
            json_of(self.p, "blocks").filter(|b| b.as_array().is_some_and(|a| !a.is_empty()));
        let attachments = json_of(self.p, "attachments");
        if text.is_none() && blocks.is_none() && attachments.is_none() {
            return Err(error("no_text"));
        }
        Ok((text, blocks.map(ids::with_block_ids)))
    }

    /// `metadata`, if given: an object with a non-empty string `event_type` and an object
    /// `event_payload` (a form body sends it as a JSON string). Anything else is refused with
    /// Slack's `invalid_metadata_format` rather than stored half-read.
    fn metadata(&self) -> Result<Option<Value>, Reply> {
        let parsed = match self.p.get("metadata") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(other) => Some(other.clone()),
        };
        match parsed {
            Some(m)
                if m["event_type"].as_str().is_some_and(|t| !t.is_empty())
                    && m["event_payload"].is_object() =>
            {
                Ok(Some(m))
            }
            _ => Err(error("invalid_metadata_format")),
        }
    }

    /// The message as Slack's API shows it (without metadata, which only the history methods
    /// return, and only when asked).
    pub(super) fn message_object(&self, m: &Message) -> Value {
        let mut object = json!({
            "type": "message",
            "user": self.cfg.bot_user_id,
            "bot_id": self.cfg.bot_id,
            "app_id": self.cfg.app_id,
            "team": self.cfg.team_id,
            "text": m.text.clone().unwrap_or_default(),
            "ts": m.ts,
        });
        if let Some(blocks) = &m.blocks {
            object["blocks"] = blocks.clone();
        }
        if let Some(thread_ts) = &m.thread_ts {
            object["thread_ts"] = json!(thread_ts);
        }
        object
    }

    pub(super) fn chat_post_message(&self, s: &mut State) -> Reply {
        let conv = match self.postable(s, "channel") {
            Ok(conv) => conv,
            Err(reply) => return reply,
        };
        let (text, blocks) = match self.content() {
            Ok(content) => content,
            Err(reply) => return reply,
        };
        let metadata = match self.metadata() {
            Ok(metadata) => metadata,
            Err(reply) => return reply,
        };
        let message = Message {
            channel: conv.id(),
            ts: ids::next_ts(),
            user: self.cfg.bot_user_id.clone(),
            text,
            blocks,
            thread_ts: self.str("thread_ts"),
            ephemeral_to: None,
            files: Vec::new(),
            metadata,
            params: self.p.clone(),
            history: Vec::new(),
            at: Instant::now(),
        };
        let object = self.message_object(&message);
        if let Some(event) = events::own_message(self.cfg, &object, &message.channel) {
            let payload = events::event_callback(self.cfg, event);
            s.socket.enqueue("events_api", payload, false);
        }
        let reply = json!({"channel": message.channel, "ts": message.ts, "message": object});
        s.messages.push(message);
        Reply::Ok(reply)
    }

    pub(super) fn chat_update(&self, s: &mut State) -> Reply {
        let Some(conv) = resolve(self.cfg, &self.str("channel").unwrap_or_default()) else {
            return error("channel_not_found");
        };
        let channel = conv.id();
        let ts = self.str("ts").unwrap_or_default();
        let metadata = match self.metadata() {
            Ok(metadata) => metadata,
            Err(reply) => return reply,
        };
        let Some(message) = s
            .messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts && m.ephemeral_to.is_none())
        else {
            return error("message_not_found");
        };
        let previous = self.message_object(message);
        message.history.push(Revision {
            text: message.text.clone(),
            blocks: message.blocks.clone(),
            metadata: message.metadata.clone(),
            replaced_at: Instant::now(),
        });
        // Like Slack: a field left out keeps its value; `blocks: []` removes the blocks.
        if let Some(text) = self.p.get("text").and_then(Value::as_str) {
            message.text = Some(text.to_string());
        }
        if let Some(blocks) = json_of(self.p, "blocks") {
            message.blocks = blocks
                .as_array()
                .is_some_and(|a| !a.is_empty())
                .then(|| ids::with_block_ids(blocks));
        }
        // Metadata left out of an update stays, as on Slack.
        if metadata.is_some() {
            message.metadata = metadata;
        }
        let mut object = self.message_object(message);
        object["edited"] = json!({"user": self.cfg.bot_user_id, "ts": ids::next_ts()});
        if let Some(event) = events::own_edit(self.cfg, &previous, &object, &channel) {
            let payload = events::event_callback(self.cfg, event);
            s.socket.enqueue("events_api", payload, false);
        }
        Reply::Ok(json!({
            "channel": channel,
            "ts": ts,
            "text": message.text.clone().unwrap_or_default(),
            "message": object,
        }))
    }

    pub(super) fn chat_post_ephemeral(&self, s: &mut State) -> Reply {
        let conv = match self.postable(s, "channel") {
            Ok(conv) => conv,
            Err(reply) => return reply,
        };
        let user = self.str("user").unwrap_or_default();
        if self.user(&user).is_none() {
            return error("user_not_found");
        }
        let in_channel = match &conv {
            Conv::Channel(c) => {
                s.in_channel(&c.id, &user) || s.channels.get(&c.id).is_some_and(|m| !m.declared)
            }
            Conv::Dm(u) => u.id == user,
        };
        if !in_channel {
            return error("user_not_in_channel");
        }
        let (text, blocks) = match self.content() {
            Ok(content) => content,
            Err(reply) => return reply,
        };
        let ts = ids::next_ts();
        s.messages.push(Message {
            channel: conv.id(),
            ts: ts.clone(),
            user: self.cfg.bot_user_id.clone(),
            text,
            blocks,
            thread_ts: self.str("thread_ts"),
            ephemeral_to: Some(user),
            files: Vec::new(),
            metadata: None,
            params: self.p.clone(),
            history: Vec::new(),
            at: Instant::now(),
        });
        Reply::Ok(json!({"message_ts": ts}))
    }
}
