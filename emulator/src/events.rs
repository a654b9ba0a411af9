//! Realistic payloads: Events API events and callbacks, slash command fields, interactions.
//!
//! The free functions build the inner `event` objects; the [`Emulator`] methods wrap and fill in
//! the workspace's ids, `response_url`s and `trigger_id`s (registered, so `views.open` accepts
//! them). Every builder returns plain JSON that a test may edit before sending. Clicks and form
//! submissions are not built here but from what the bot posted: see [`Emulator::click`] and
//! [`Emulator::submit_view`].

use crate::config::EmulatorConfig;
use crate::ids;
use crate::server::Emulator;
use crate::state::dm_channel_id;
use crate::web_api::issue_trigger;
use serde_json::{Value, json};

fn channel_type(channel: &str) -> &'static str {
    match channel.chars().next() {
        Some('D') => "im",
        Some('G') => "group",
        _ => "channel",
    }
}

fn client_msg_id() -> String {
    ids::envelope_id()
}

/// A user's message event, e.g. a DM reply (`channel` `D...` gives `channel_type: "im"`), with a
/// fresh `ts`/`event_ts` and a `client_msg_id`. Set `thread_ts` on the result for a reply in a
/// thread.
pub fn message(user: &str, channel: &str, text: &str) -> Value {
    let ts = ids::next_ts();
    json!({
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type(channel),
        "client_msg_id": client_msg_id(),
    })
}

/// A DM from `user` to the bot, in the DM channel the emulator uses for that user.
pub fn dm_message(user: &str, text: &str) -> Value {
    message(user, &dm_channel_id(user), text)
}

/// An edit: `subtype: "message_changed"`, the new text in `message.text`, the original `ts` in
/// `message.ts`, the old text in `previous_message`.
pub fn message_changed(
    user: &str,
    channel: &str,
    ts: &str,
    new_text: &str,
    old_text: &str,
) -> Value {
    let event_ts = ids::next_ts();
    json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "channel": channel,
        "channel_type": channel_type(channel),
        "ts": event_ts,
        "event_ts": event_ts,
        "message": {
            "type": "message",
            "user": user,
            "text": new_text,
            "ts": ts,
            "edited": {"user": user, "ts": event_ts},
            "client_msg_id": client_msg_id(),
        },
        "previous_message": {
            "type": "message",
            "user": user,
            "text": old_text,
            "ts": ts,
        },
    })
}

/// A message from another bot or integration (`subtype: "bot_message"`, `bot_id`).
pub fn bot_message(bot_id: &str, channel: &str, text: &str) -> Value {
    let ts = ids::next_ts();
    json!({
        "type": "message",
        "subtype": "bot_message",
        "bot_id": bot_id,
        "username": "Other Bot",
        "channel": channel,
        "channel_type": channel_type(channel),
        "text": text,
        "ts": ts,
        "event_ts": ts,
    })
}

/// The `message` event Slack sends the app for a message its bot posted with
/// `chat.postMessage` (`object`, as the API answered it), or `None` where the app does not
/// subscribe to that conversation type's message event (`message.im` for a DM,
/// `message.channels` / `message.groups` for a channel) or echoes are off.
///
/// Slack's shape for a bot user's own post: no `subtype` (docs.slack.dev/reference/events/
/// message/bot_message: that subtype marks posts of integrations and classic apps), the bot's
/// `bot_id` and its bot `user`, `app_id`, `team` and a `bot_profile` (as in @slack/types'
/// `GenericMessageEvent` and `AppMentionEvent`).
pub(crate) fn own_message(cfg: &EmulatorConfig, object: &Value, channel: &str) -> Option<Value> {
    let channel_type = echoed_in(cfg, channel)?;
    let mut event = object.clone();
    event["channel"] = json!(channel);
    event["event_ts"] = object["ts"].clone();
    event["channel_type"] = json!(channel_type);
    event["bot_profile"] = json!({
        "id": cfg.bot_id,
        "deleted": false,
        "name": cfg.bot_name,
        "updated": ids::unix_now(),
        "app_id": cfg.app_id,
        "icons": {"image_36": "", "image_48": "", "image_72": ""},
        "team_id": cfg.team_id,
    });
    Some(event)
}

/// The `channel_type` of `channel` when the bot's own messages there come back as events: echoes
/// are on and the app subscribes to that conversation type's message event.
fn echoed_in(cfg: &EmulatorConfig, channel: &str) -> Option<&'static str> {
    let channel_type = channel_type(channel);
    let subscription = match channel_type {
        "im" => "message.im",
        "group" => "message.groups",
        _ => "message.channels",
    };
    (cfg.echo_bot_messages && cfg.bot_events.iter().any(|e| e == subscription))
        .then_some(channel_type)
}

/// The `message_changed` event Slack sends the app when its bot edits a message with
/// `chat.update` (`previous` and `current` as the API shows them), where its posts come back
/// at all (see [`own_message`]): hidden, with the new version in `message` and the old one in
/// `previous_message` (docs.slack.dev/reference/events/message/message_changed).
pub(crate) fn own_edit(
    cfg: &EmulatorConfig,
    previous: &Value,
    current: &Value,
    channel: &str,
) -> Option<Value> {
    let channel_type = echoed_in(cfg, channel)?;
    let event_ts = ids::next_ts();
    Some(json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "channel": channel,
        "channel_type": channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "message": current,
        "previous_message": previous,
    }))
}

/// The Events API `url_verification` handshake body.
pub fn url_verification(challenge: &str) -> Value {
    json!({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
}

/// The `event_callback` body Slack wraps an event in (Socket Mode payload, or HTTP body).
pub(crate) fn event_callback(cfg: &EmulatorConfig, event: Value) -> Value {
    let event_id = ids::event_id();
    json!({
        "token": cfg.verification_token,
        "team_id": cfg.team_id,
        "api_app_id": cfg.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": ids::unix_now(),
        "authorizations": [{
            "enterprise_id": null,
            "team_id": cfg.team_id,
            "user_id": cfg.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-{}", ids::token()),
    })
}

impl Emulator {
    /// Wraps an event in an `event_callback` body with a fresh `event_id` (for
    /// [`crate::SignedClient::post_event`]; Socket Mode's [`Emulator::send_event`] does this
    /// itself).
    pub fn event_callback(&self, event: Value) -> Value {
        event_callback(self.config(), event)
    }

    /// `member_joined_channel`: `user` joined `channel` (the bot's own user id when the bot was
    /// invited), with `inviter` when someone added them. `channel_type` is `C` (public) or `G`
    /// (private), as Slack sends it.
    pub fn member_joined_channel(&self, user: &str, channel: &str, inviter: Option<&str>) -> Value {
        let mut event = json!({
            "type": "member_joined_channel",
            "user": user,
            "channel": channel,
            "channel_type": if channel.starts_with('G') { "G" } else { "C" },
            "team": self.config().team_id,
            "event_ts": ids::next_ts(),
        });
        if let Some(inviter) = inviter {
            event["inviter"] = json!(inviter);
        }
        event
    }

    /// `member_left_channel`: `user` left (or was removed from) `channel`, in Slack's shape:
    /// `type`, `user`, `channel`, `channel_type` `C` (public) or `G` (private), `team`
    /// (docs.slack.dev/reference/events/member_left_channel), and the `event_ts` Slack's SDK
    /// types add (@slack/types `MemberLeftChannelEvent`).
    pub fn member_left_channel(&self, user: &str, channel: &str) -> Value {
        json!({
            "type": "member_left_channel",
            "user": user,
            "channel": channel,
            "channel_type": if channel.starts_with('G') { "G" } else { "C" },
            "team": self.config().team_id,
            "event_ts": ids::next_ts(),
        })
    }

    /// `app_home_opened`: `user` opened the app's `tab` (`home` or `messages`) in their DM with
    /// the app; like Slack, the event carries the Home view last published for them, if any.
    pub fn app_home_opened(&self, user: &str, tab: &str) -> Value {
        let mut event = json!({
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel_id(user),
            "tab": tab,
            "event_ts": ids::next_ts(),
        });
        if let Some(view) = self
            .views()
            .into_iter()
            .rev()
            .find(|v| v.method == "views.publish" && v.user_id.as_deref() == Some(user))
        {
            event["view"] = view.view;
        }
        event
    }

    /// Mints a `trigger_id` that `views.open` accepts for
    /// [`EmulatorConfig::trigger_id_ttl`](crate::EmulatorConfig::trigger_id_ttl).
    pub fn new_trigger_id(&self) -> String {
        self.new_trigger_id_in(None)
    }

    /// A `trigger_id` issued while the user was in `channel` (a slash command, a click on a
    /// message): a modal it opens records that conversation.
    pub(crate) fn new_trigger_id_in(&self, channel: Option<&str>) -> String {
        let id = ids::trigger_id();
        self.shared.update(|s| issue_trigger(s, &id, channel));
        id
    }

    /// A fresh `response_url` on the emulator (posts land in [`Emulator::response_posts`]).
    pub fn new_response_url(&self) -> String {
        format!(
            "{}/response/commands/{}/{}",
            self.shared.base_url(),
            self.config().team_id,
            ids::token()
        )
    }

    fn user_name(&self, user: &str) -> String {
        self.config()
            .users
            .iter()
            .find(|u| u.id == user)
            .map_or_else(|| user.to_string(), |u| u.name.clone())
    }

    pub(crate) fn channel_name(&self, channel: &str) -> String {
        match self.config().channels.iter().find(|c| c.id == channel) {
            Some(c) => c.name.clone(),
            None if channel.starts_with('D') => "directmessage".into(),
            None => "privategroup".into(),
        }
    }

    /// A slash command's form fields, in Slack's order, with a live `response_url` and
    /// `trigger_id` (for [`crate::SignedClient::post_command`]).
    pub fn slash_command_fields(
        &self,
        command: &str,
        text: &str,
        user: &str,
        channel: &str,
    ) -> Vec<(String, String)> {
        let c = self.config();
        [
            ("token", c.verification_token.clone()),
            ("team_id", c.team_id.clone()),
            ("team_domain", c.team_domain.clone()),
            ("channel_id", channel.to_string()),
            ("channel_name", self.channel_name(channel)),
            ("user_id", user.to_string()),
            ("user_name", self.user_name(user)),
            ("command", command.to_string()),
            ("text", text.to_string()),
            ("api_app_id", c.app_id.clone()),
            ("is_enterprise_install", "false".to_string()),
            ("response_url", self.new_response_url()),
            ("trigger_id", self.new_trigger_id_in(Some(channel))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub(crate) fn user_info(&self, user: &str) -> Value {
        json!({
            "id": user,
            "username": self.user_name(user),
            "name": self.user_name(user),
            "team_id": self.config().team_id,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The other shapes of a person's message (docs.slack.dev/reference/events/message/*): files,
// threads, `/me`, deletions, rich text.

/// A `rich_text` block of one paragraph of plain `text` (what Slack's composer sends for a line
/// with no formatting); build richer blocks with JSON and set them as the event's `blocks`.
pub fn rich_text_paragraph(text: &str) -> Value {
    json!({
        "type": "rich_text",
        "block_id": ids::token().chars().take(4).collect::<String>(),
        "elements": [{
            "type": "rich_text_section",
            "elements": [{"type": "text", "text": text}],
        }],
    })
}

/// A reply in a thread of `channel` under the message `thread_ts` (whose author is
/// `parent_user`): a plain message with `thread_ts` and `parent_user_id`.
pub fn thread_reply(
    user: &str,
    channel: &str,
    thread_ts: &str,
    parent_user: &str,
    text: &str,
) -> Value {
    let mut event = message(user, channel, text);
    event["thread_ts"] = json!(thread_ts);
    event["parent_user_id"] = json!(parent_user);
    event
}

/// A thread reply also sent to the conversation: `subtype: "thread_broadcast"`, with the
/// thread's first message as `root`.
pub fn thread_broadcast(user: &str, channel: &str, root: &Value, text: &str) -> Value {
    let mut event = message(user, channel, text);
    event["subtype"] = json!("thread_broadcast");
    event["thread_ts"] = root["ts"].clone();
    event["root"] = root.clone();
    event
}

/// `/me <text>`: `subtype: "me_message"`, the action as `text`.
pub fn me_message(user: &str, channel: &str, text: &str) -> Value {
    let ts = ids::next_ts();
    json!({
        "type": "message",
        "subtype": "me_message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type(channel),
    })
}

/// A deletion of the message `deleted_ts`: `subtype: "message_deleted"`, `hidden`, and, when
/// given, the message as it was in `previous_message` (Slack's own example has none).
pub fn message_deleted(channel: &str, deleted_ts: &str, previous: Option<&Value>) -> Value {
    let ts = ids::next_ts();
    let mut event = json!({
        "type": "message",
        "subtype": "message_deleted",
        "hidden": true,
        "channel": channel,
        "channel_type": channel_type(channel),
        "ts": ts,
        "event_ts": ts,
        "deleted_ts": deleted_ts,
    });
    if let Some(previous) = previous {
        let mut before = previous.clone();
        if let Some(object) = before.as_object_mut() {
            for field in ["channel", "channel_type", "event_ts"] {
                object.remove(field);
            }
        }
        event["previous_message"] = before;
    }
    event
}

/// An edit of any message event built here (a file share, a thread reply, ...): the message as
/// it was, with `new_text` (and `blocks`, when given) and an `edited` stamp, in a
/// `message_changed`, the old message in `previous_message`.
pub fn edit_of(original: &Value, new_text: &str, blocks: Option<Value>) -> Value {
    let event_ts = ids::next_ts();
    let user = original["user"].clone();
    let channel = original["channel"].as_str().unwrap_or_default().to_string();
    let mut previous = original.clone();
    if let Some(object) = previous.as_object_mut() {
        for field in ["channel", "channel_type", "event_ts"] {
            object.remove(field);
        }
    }
    let mut changed = previous.clone();
    changed["text"] = json!(new_text);
    match blocks {
        Some(blocks) => changed["blocks"] = blocks,
        None => {
            if let Some(object) = changed.as_object_mut() {
                object.remove("blocks");
            }
        }
    }
    changed["edited"] = json!({"user": user, "ts": event_ts});
    json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "channel": channel,
        "channel_type": channel_type(&channel),
        "ts": event_ts,
        "event_ts": event_ts,
        "message": changed,
        "previous_message": previous,
    })
}

impl Emulator {
    /// A message with files (`subtype: "file_share"`, `upload: true`): `text` typed with them (as
    /// `text` only: set `blocks` for the composer's rich text) and
    /// one file object per `(file name, mimetype)`, with the `permalink` and `url_private` Slack
    /// gives a file of this workspace.
    pub fn file_share(
        &self,
        user: &str,
        channel: &str,
        text: &str,
        files: &[(&str, &str)],
    ) -> Value {
        let c = self.config();
        let created = ids::unix_now();
        let files: Vec<Value> = files
            .iter()
            .map(|(name, mimetype)| {
                let id = format!("F{}", ids::token().to_uppercase().chars().take(10).collect::<String>());
                json!({
                    "id": id,
                    "created": created,
                    "timestamp": created,
                    "name": name,
                    "title": name,
                    "mimetype": mimetype,
                    "filetype": name.rsplit('.').next().unwrap_or("binary"),
                    "user": user,
                    "user_team": c.team_id,
                    "editable": false,
                    "mode": "hosted",
                    "is_external": false,
                    "external_type": "",
                    "is_public": false,
                    "public_url_shared": false,
                    "display_as_bot": false,
                    "url_private": format!("https://files.slack.com/files-pri/{}-{id}/{name}", c.team_id),
                    "url_private_download": format!("https://files.slack.com/files-pri/{}-{id}/download/{name}", c.team_id),
                    "permalink": format!("https://{}.slack.com/files/{user}/{id}/{name}", c.team_domain),
                    "file_access": "visible",
                })
            })
            .collect();
        let mut event = message(user, channel, text);
        event["subtype"] = json!("file_share");
        event["files"] = json!(files);
        event["upload"] = json!(true);
        event["display_as_bot"] = json!(false);
        event
    }
}
