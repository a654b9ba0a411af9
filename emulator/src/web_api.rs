//! The Web API at `/api/{method}`, the file upload URLs and `response_url`s.
//!
//! Every call is recorded first, then a scripted fault (if any) applies, then auth, then rate
//! limits, then the method. Business errors are HTTP 200 with `{"ok":false,"error":...}`, as on
//! Slack; only rate limits (429) and injected statuses use other codes.

use crate::config::{Channel, EmulatorConfig, User};
use crate::events;
use crate::faults::Fault;
use crate::ids;
use crate::params::{self, json_of, list_of, str_of};
use crate::state::{
    Call, File, Message, ResponsePost, Revision, Shared, State, Trigger, View, dm_channel_id,
};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// What a method answers.
enum Reply {
    Ok(Value),
    Error(String),
    RateLimited(u64),
}

fn error(code: &str) -> Reply {
    Reply::Error(code.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"ok": false, "error": "ratelimited"}).to_string(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Ok(mut body) => {
                if let Value::Object(map) = &mut body {
                    map.insert("ok".into(), Value::Bool(true));
                }
                json_response(StatusCode::OK, body.to_string())
            }
            Reply::Error(code) => json_response(
                StatusCode::OK,
                json!({"ok": false, "error": code}).to_string(),
            ),
            Reply::RateLimited(secs) => rate_limited(secs),
        }
    }
}

/// `/api/{method}`, any verb.
pub(crate) async fn api(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(method): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = params::parse(&uri, &headers, &body);
    let token = params::bearer(&headers).or(parsed.token_param);
    tracing::debug!(method = %method, "web api call");
    let fault = shared.update(|s| {
        s.calls.push(Call {
            method: method.clone(),
            params: parsed.params.clone(),
            at: Instant::now(),
        });
        s.faults.pop(&method)
    });
    match fault {
        None => {}
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::RateLimited { retry_after_secs }) => {
            shared.update(|s| *s.rate_limited.entry(method).or_default() += 1);
            return rate_limited(retry_after_secs);
        }
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = status.canonical_reason().unwrap_or("error");
            return (status, text).into_response();
        }
        Some(Fault::SlackError(code)) => return Reply::Error(code).into_response(),
        Some(Fault::Malformed) => {
            return json_response(StatusCode::OK, r#"{"ok":true,"channel":"#.into());
        }
    }
    let reply = shared.update(|s| dispatch(&shared, s, &method, &parsed.params, token.as_deref()));
    if matches!(reply, Reply::RateLimited(_)) {
        shared.update(|s| *s.rate_limited.entry(method).or_default() += 1);
    }
    reply.into_response()
}

enum TokenKind {
    Bot,
    App,
}

fn token_kind(method: &str) -> Option<TokenKind> {
    match method {
        "apps.connections.open" => Some(TokenKind::App),
        "auth.test"
        | "conversations.open"
        | "conversations.info"
        | "conversations.members"
        | "chat.postMessage"
        | "chat.update"
        | "chat.postEphemeral"
        | "users.info"
        | "views.open"
        | "views.update"
        | "views.publish"
        | "files.getUploadURLExternal"
        | "files.completeUploadExternal" => Some(TokenKind::Bot),
        _ => None,
    }
}

fn dispatch(shared: &Shared, s: &mut State, method: &str, p: &Value, token: Option<&str>) -> Reply {
    let cfg = &shared.config;
    let Some(kind) = token_kind(method) else {
        return error("unknown_method");
    };
    let expected = match kind {
        TokenKind::Bot => &cfg.bot_token,
        TokenKind::App => &cfg.app_token,
    };
    match token {
        None | Some("") => return error("not_authed"),
        Some(t) if t == expected => {}
        Some(t) if t == cfg.bot_token || t == cfg.app_token => {
            return error("not_allowed_token_type");
        }
        Some(_) => return error("invalid_auth"),
    }
    if let Some(limiter) = s.limiter.as_mut() {
        let channel = resolve(cfg, &str_of(p, "channel").unwrap_or_default()).map(|c| c.id());
        if let Err(secs) = limiter.check(method, channel.as_deref(), Instant::now()) {
            return Reply::RateLimited(secs);
        }
    }
    let ctx = Ctx { shared, cfg, p };
    match method {
        "auth.test" => ctx.auth_test(),
        "apps.connections.open" => ctx.apps_connections_open(s),
        "conversations.open" => ctx.conversations_open(s),
        "conversations.info" => ctx.conversations_info(),
        "conversations.members" => ctx.conversations_members(),
        "chat.postMessage" => ctx.chat_post_message(s),
        "chat.update" => ctx.chat_update(s),
        "chat.postEphemeral" => ctx.chat_post_ephemeral(s),
        "users.info" => ctx.users_info(),
        "views.open" | "views.update" | "views.publish" => ctx.views(s, method),
        "files.getUploadURLExternal" => ctx.files_get_upload_url(s),
        "files.completeUploadExternal" => ctx.files_complete_upload(s),
        _ => error("unknown_method"),
    }
}

/// A conversation the bot can address.
enum Conv<'a> {
    Channel(&'a Channel),
    Dm(&'a User),
}

impl Conv<'_> {
    fn id(&self) -> String {
        match self {
            Conv::Channel(c) => c.id.clone(),
            Conv::Dm(u) => dm_channel_id(&u.id),
        }
    }
}

/// A channel id, a DM id, or a user id (posting to a user id posts to the DM).
fn resolve<'a>(cfg: &'a EmulatorConfig, id: &str) -> Option<Conv<'a>> {
    if let Some(channel) = cfg.channels.iter().find(|c| c.id == id) {
        return Some(Conv::Channel(channel));
    }
    cfg.users
        .iter()
        .find(|u| u.id == id || dm_channel_id(&u.id) == id)
        .map(Conv::Dm)
}

struct Ctx<'a> {
    shared: &'a Shared,
    cfg: &'a EmulatorConfig,
    p: &'a Value,
}

impl Ctx<'_> {
    fn str(&self, key: &str) -> Option<String> {
        str_of(self.p, key)
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.cfg.users.iter().find(|u| u.id == id)
    }

    /// The channel to post to, checked like Slack: unknown → `channel_not_found`, a channel
    /// the bot is not in → `not_in_channel`.
    fn postable(&self, key: &str) -> Result<Conv<'_>, Reply> {
        let id = self.str(key).ok_or_else(|| error("channel_not_found"))?;
        match resolve(self.cfg, &id) {
            None => Err(error("channel_not_found")),
            Some(Conv::Channel(c)) if !c.bot_is_member => Err(error("not_in_channel")),
            Some(conv) => Ok(conv),
        }
    }

    fn auth_test(&self) -> Reply {
        let c = self.cfg;
        Reply::Ok(json!({
            "url": format!("https://{}.slack.com/", c.team_domain),
            "team": c.team_name,
            "user": c.bot_name,
            "team_id": c.team_id,
            "user_id": c.bot_user_id,
            "bot_id": c.bot_id,
            "is_enterprise_install": false,
        }))
    }

    fn apps_connections_open(&self, s: &mut State) -> Reply {
        let ticket = ids::token();
        s.socket.tickets.insert(ticket.clone());
        Reply::Ok(json!({
            "url": format!("ws://{}/socket?ticket={ticket}&app_id={}", self.shared.addr, self.cfg.app_id),
        }))
    }

    fn im_object(&self, user: &User) -> Value {
        json!({
            "id": dm_channel_id(&user.id),
            "created": self.shared.started_unix,
            "is_im": true,
            "is_org_shared": false,
            "is_open": true,
            "user": user.id,
            "is_user_deleted": user.deleted,
            "priority": 0,
            "last_read": "0000000000.000000",
            "unread_count": 0,
            "unread_count_display": 0,
        })
    }

    fn channel_object(&self, c: &Channel) -> Value {
        let empty = json!({"value": "", "creator": "", "last_set": 0});
        let mut object = json!({
            "id": c.id,
            "name": c.name,
            "name_normalized": c.name,
            "created": self.shared.started_unix,
            "creator": "",
            "is_channel": c.id.starts_with('C'),
            "is_group": c.id.starts_with('G'),
            "is_im": false,
            "is_mpim": false,
            "is_private": c.id.starts_with('G'),
            "is_archived": false,
            "is_general": false,
            "is_shared": false,
            "is_org_shared": false,
            "is_member": c.bot_is_member,
            "topic": empty,
            "purpose": empty,
            "previous_names": [],
        });
        if self.str("include_num_members").as_deref() == Some("true") {
            object["num_members"] = json!(c.members.len() + usize::from(c.bot_is_member));
        }
        object
    }

    fn conversations_open(&self, s: &mut State) -> Reply {
        let users = list_of(self.p, "users");
        let user = match (users.as_slice(), self.str("channel")) {
            ([], Some(channel)) => match resolve(self.cfg, &channel) {
                Some(Conv::Dm(user)) => user,
                _ => return error("channel_not_found"),
            },
            ([], None) => return error("users_list_not_supplied"),
            ([one], _) => match self.user(one) {
                Some(user) => user,
                None => return error("user_not_found"),
            },
            // Group DMs (mpim) are not emulated.
            _ => return error("not_supported_by_emulator"),
        };
        if user.deleted {
            return error("user_disabled");
        }
        let already_open = !s.open_dms.insert(user.id.clone());
        let mut body = json!({"channel": self.im_object(user)});
        if already_open {
            body["already_open"] = json!(true);
            body["no_op"] = json!(true);
        }
        Reply::Ok(body)
    }

    fn conversations_info(&self) -> Reply {
        match resolve(self.cfg, &self.str("channel").unwrap_or_default()) {
            Some(Conv::Channel(c)) => Reply::Ok(json!({"channel": self.channel_object(c)})),
            Some(Conv::Dm(u)) => Reply::Ok(json!({"channel": self.im_object(u)})),
            None => error("channel_not_found"),
        }
    }

    fn conversations_members(&self) -> Reply {
        let members: Vec<String> = match resolve(self.cfg, &self.str("channel").unwrap_or_default())
        {
            Some(Conv::Channel(c)) => c
                .members
                .iter()
                .cloned()
                .chain(c.bot_is_member.then(|| self.cfg.bot_user_id.clone()))
                .collect(),
            Some(Conv::Dm(u)) => vec![u.id.clone(), self.cfg.bot_user_id.clone()],
            None => return error("channel_not_found"),
        };
        Reply::Ok(json!({"members": members, "response_metadata": {"next_cursor": ""}}))
    }

    /// Text, blocks and attachments of a post; `no_text` when all are missing.
    fn content(&self) -> Result<(Option<String>, Option<Value>), Reply> {
        let text = self.str("text");
        let blocks =
            json_of(self.p, "blocks").filter(|b| b.as_array().is_some_and(|a| !a.is_empty()));
        let attachments = json_of(self.p, "attachments");
        if text.is_none() && blocks.is_none() && attachments.is_none() {
            return Err(error("no_text"));
        }
        Ok((text, blocks))
    }

    fn message_object(&self, m: &Message) -> Value {
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

    fn chat_post_message(&self, s: &mut State) -> Reply {
        let conv = match self.postable("channel") {
            Ok(conv) => conv,
            Err(reply) => return reply,
        };
        let (text, blocks) = match self.content() {
            Ok(content) => content,
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
            params: self.p.clone(),
            history: Vec::new(),
            at: Instant::now(),
        };
        let object = self.message_object(&message);
        if self.cfg.echo_bot_messages {
            let mut event = object.clone();
            event["channel"] = json!(message.channel);
            event["event_ts"] = json!(message.ts);
            event["channel_type"] = json!(match conv {
                Conv::Dm(_) => "im",
                Conv::Channel(c) if c.id.starts_with('G') => "group",
                Conv::Channel(_) => "channel",
            });
            let payload = events::event_callback(self.cfg, event);
            s.socket.enqueue("events_api", payload, false);
        }
        let reply = json!({"channel": message.channel, "ts": message.ts, "message": object});
        s.messages.push(message);
        Reply::Ok(reply)
    }

    fn chat_update(&self, s: &mut State) -> Reply {
        let Some(conv) = resolve(self.cfg, &self.str("channel").unwrap_or_default()) else {
            return error("channel_not_found");
        };
        let channel = conv.id();
        let ts = self.str("ts").unwrap_or_default();
        let Some(message) = s
            .messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts && m.ephemeral_to.is_none())
        else {
            return error("message_not_found");
        };
        message.history.push(Revision {
            text: message.text.clone(),
            blocks: message.blocks.clone(),
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
                .then_some(blocks);
        }
        let mut object = self.message_object(message);
        object["edited"] = json!({"user": self.cfg.bot_user_id, "ts": ids::next_ts()});
        Reply::Ok(json!({
            "channel": channel,
            "ts": ts,
            "text": message.text.clone().unwrap_or_default(),
            "message": object,
        }))
    }

    fn chat_post_ephemeral(&self, s: &mut State) -> Reply {
        let conv = match self.postable("channel") {
            Ok(conv) => conv,
            Err(reply) => return reply,
        };
        let user = self.str("user").unwrap_or_default();
        if self.user(&user).is_none() {
            return error("user_not_found");
        }
        let in_channel = match &conv {
            Conv::Channel(c) => c.members.is_empty() || c.members.contains(&user),
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
            params: self.p.clone(),
            history: Vec::new(),
            at: Instant::now(),
        });
        Reply::Ok(json!({"message_ts": ts}))
    }

    fn users_info(&self) -> Reply {
        let Some(u) = self.str("user").and_then(|id| self.user(&id)) else {
            return error("user_not_found");
        };
        Reply::Ok(json!({"user": {
            "id": u.id,
            "team_id": self.cfg.team_id,
            "name": u.name,
            "deleted": u.deleted,
            "color": "9f69e7",
            "real_name": u.real_name,
            "tz": u.tz,
            "tz_label": u.tz_label,
            "tz_offset": u.tz_offset,
            "profile": {
                "real_name": u.real_name,
                "real_name_normalized": u.real_name,
                "display_name": u.display_name,
                "display_name_normalized": u.display_name,
                "status_text": "",
                "avatar_hash": "g0000000000e",
                "team": self.cfg.team_id,
            },
            "is_admin": false,
            "is_owner": false,
            "is_primary_owner": false,
            "is_restricted": false,
            "is_ultra_restricted": false,
            "is_bot": u.is_bot,
            "is_app_user": false,
            "updated": self.shared.started_unix,
        }}))
    }

    /// Fills in what Slack adds to a view it stores.
    fn stateful_view(&self, view: &Value, id: &str, root_id: &str) -> Value {
        let mut object = view.as_object().cloned().unwrap_or_default();
        let c = self.cfg;
        for (key, value) in [
            ("id", json!(id)),
            ("team_id", json!(c.team_id)),
            ("app_id", json!(c.app_id)),
            ("bot_id", json!(c.bot_id)),
            ("app_installed_team_id", json!(c.team_id)),
            (
                "hash",
                json!(format!("{}.{}", ids::unix_now(), ids::token())),
            ),
            ("root_view_id", json!(root_id)),
            ("previous_view_id", Value::Null),
        ] {
            object.insert(key.into(), value);
        }
        for (key, value) in [
            ("blocks", json!([])),
            ("state", json!({"values": {}})),
            ("private_metadata", json!("")),
            ("callback_id", json!("")),
            ("external_id", json!("")),
            ("clear_on_close", json!(false)),
            ("notify_on_close", json!(false)),
        ] {
            object.entry(key).or_insert(value);
        }
        Value::Object(object)
    }

    fn views(&self, s: &mut State, method: &str) -> Reply {
        let Some(view) = json_of(self.p, "view").filter(Value::is_object) else {
            return error("invalid_arguments");
        };
        let mut user_id = None;
        let mut trigger_id = None;
        let previous: Option<&View> = match method {
            "views.open" => {
                let id = self.str("trigger_id").unwrap_or_default();
                let Some(trigger) = s.triggers.get_mut(&id) else {
                    return error("invalid_trigger_id");
                };
                if trigger.used {
                    return error("exchanged_trigger_id");
                }
                if trigger.issued.elapsed() > self.cfg.trigger_id_ttl {
                    return error("expired_trigger_id");
                }
                trigger.used = true;
                trigger_id = Some(id);
                None
            }
            "views.update" => {
                let by_id = self.str("view_id");
                let by_external = self.str("external_id");
                let found = s.views.iter().rev().find(|v| {
                    by_id.as_deref() == v.view["id"].as_str()
                        || (by_external.is_some()
                            && by_external.as_deref() == v.view["external_id"].as_str())
                });
                match found {
                    Some(v) => Some(v),
                    None => return error("not_found"),
                }
            }
            _ => {
                let Some(user) = self.str("user_id").filter(|u| self.user(u).is_some()) else {
                    return error("user_not_found");
                };
                let found =
                    s.views.iter().rev().find(|v| {
                        v.method == "views.publish" && v.user_id.as_deref() == Some(&user)
                    });
                user_id = Some(user);
                found
            }
        };
        if let (Some(hash), Some(prev)) = (self.str("hash"), previous) {
            if hash != prev.hash() {
                return error("hash_conflict");
            }
        }
        let (id, root) = match previous {
            Some(prev) => (
                prev.id.clone(),
                prev.view["root_view_id"]
                    .as_str()
                    .unwrap_or(&prev.id)
                    .to_string(),
            ),
            None => {
                let id = ids::prefixed("V");
                (id.clone(), id)
            }
        };
        let stored = self.stateful_view(&view, &id, &root);
        s.views.push(View {
            id,
            method: method.to_string(),
            user_id,
            trigger_id,
            view: stored.clone(),
            at: Instant::now(),
        });
        Reply::Ok(json!({"view": stored}))
    }

    fn files_get_upload_url(&self, s: &mut State) -> Reply {
        let (Some(filename), Some(length)) = (
            self.str("filename"),
            self.str("length").and_then(|l| l.parse::<u64>().ok()),
        ) else {
            return error("invalid_arguments");
        };
        let id = ids::prefixed("F");
        s.files.push(File {
            id: id.clone(),
            filename,
            length,
            title: None,
            content: String::new(),
            uploaded: false,
            completed: false,
            channel: None,
            thread_ts: None,
            initial_comment: None,
        });
        Reply::Ok(json!({
            "upload_url": format!("{}/upload/{id}", self.shared.base_url()),
            "file_id": id,
        }))
    }

    fn files_complete_upload(&self, s: &mut State) -> Reply {
        let Some(Value::Array(entries)) = json_of(self.p, "files") else {
            return error("invalid_arguments");
        };
        let channel_param = self
            .str("channel_id")
            .or_else(|| list_of(self.p, "channels").into_iter().next());
        let channel = match channel_param {
            None => None,
            Some(_) if self.str("channel_id").is_some() => match self.postable("channel_id") {
                Ok(conv) => Some(conv.id()),
                Err(reply) => return reply,
            },
            Some(id) => match resolve(self.cfg, &id) {
                None => return error("channel_not_found"),
                Some(Conv::Channel(c)) if !c.bot_is_member => return error("not_in_channel"),
                Some(conv) => Some(conv.id()),
            },
        };
        let wanted: Vec<(String, Option<String>)> = entries
            .iter()
            .map(|e| {
                let id = e["id"].as_str().unwrap_or_default().to_string();
                (id, e["title"].as_str().map(str::to_string))
            })
            .collect();
        // Unknown, never uploaded, or already completed: the upload is gone.
        if wanted.is_empty()
            || wanted.iter().any(|(id, _)| {
                !s.files
                    .iter()
                    .any(|f| &f.id == id && f.uploaded && !f.completed)
            })
        {
            return error("file_not_found");
        }
        let thread_ts = self.str("thread_ts");
        let initial_comment = self.str("initial_comment");
        let mut shared_files = Vec::new();
        for (id, title) in &wanted {
            let Some(file) = s.files.iter_mut().find(|f| &f.id == id) else {
                continue;
            };
            file.title = Some(title.clone().unwrap_or_else(|| file.filename.clone()));
            file.completed = true;
            file.channel = channel.clone();
            file.thread_ts = thread_ts.clone();
            file.initial_comment = initial_comment.clone();
            shared_files.push(json!({
                "id": file.id,
                "title": file.title,
                "name": file.filename,
                "size": file.content.len(),
                "user": self.cfg.bot_user_id,
                "created": ids::unix_now(),
                "timestamp": ids::unix_now(),
            }));
        }
        if let Some(channel) = channel {
            s.messages.push(Message {
                channel,
                ts: ids::next_ts(),
                user: self.cfg.bot_user_id.clone(),
                text: initial_comment,
                blocks: None,
                thread_ts,
                ephemeral_to: None,
                files: wanted.into_iter().map(|(id, _)| id).collect(),
                params: self.p.clone(),
                history: Vec::new(),
                at: Instant::now(),
            });
        }
        Reply::Ok(json!({"files": shared_files}))
    }
}

/// `POST /upload/{file_id}`: stores the bytes (a raw body, or the first part of a multipart
/// form) and answers like Slack's upload host: `200 OK - <length>`.
pub(crate) async fn upload(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let bytes = multipart_file(content_type, &body).unwrap_or(&body);
    let length = bytes.len();
    let content = String::from_utf8_lossy(bytes).into_owned();
    let found = shared.update(|s| {
        let file = s.files.iter_mut().find(|f| f.id == file_id)?;
        file.content = content;
        file.uploaded = true;
        Some(())
    });
    match found {
        Some(()) => (StatusCode::OK, format!("OK - {length}")).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// The first part's data of a `multipart/form-data` body.
fn multipart_file<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes())? + delimiter.len();
    let headers_end = start + find(&body[start..], b"\r\n\r\n")? + 4;
    let end = headers_end + find(&body[headers_end..], format!("\r\n{delimiter}").as_bytes())?;
    Some(&body[headers_end..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `POST /response/{id}`: a `response_url` post, recorded.
pub(crate) async fn response_url(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    shared.update(|s| {
        s.response_posts.push(ResponsePost {
            id,
            body,
            at: Instant::now(),
        })
    });
    json_response(StatusCode::OK, json!({"ok": true}).to_string())
}

/// Registers a trigger id as just issued (for `views.open`).
pub(crate) fn issue_trigger(s: &mut State, id: &str) {
    s.triggers.insert(
        id.to_string(),
        Trigger {
            issued: Instant::now(),
            used: false,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_yields_the_file_part() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n\r\n# Notes\r\n--xyz--\r\n";
        assert_eq!(
            multipart_file("multipart/form-data; boundary=xyz", body),
            Some(&b"# Notes"[..])
        );
        assert_eq!(multipart_file("text/markdown", body), None);
    }
}
