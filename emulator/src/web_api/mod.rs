//! The Web API at `/api/{method}`, the file upload URLs and `response_url`s.
//!
//! Every call is recorded first, then a scripted fault (if any) applies, then auth, then rate
//! limits, then the method. Business errors are HTTP 200 with `{"ok":false,"error":...}`, as on
//! Slack; only rate limits (429) and injected statuses use other codes.
//! Answers to a token the emulator knows carry the token's scopes in `x-oauth-scopes`, as Slack's
//! do.

mod chat;
mod conversations;
mod files;
mod history;
mod views;

pub(crate) use files::upload;

use crate::config::{Channel, EmulatorConfig, User};
use crate::faults::Fault;
use crate::ids;
use crate::params::{self, str_of};
use crate::state::{Call, ResponsePost, Shared, State, Trigger, dm_channel_id};
use crate::strict::{self, Refusal, Rule};
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
    /// A whole error body (`missing_scope` with `needed`, `invalid_blocks` with `errors`, ...).
    Refused(Value),
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
            Reply::Refused(body) => json_response(StatusCode::OK, body.to_string()),
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
    let scopes = granted_scopes(&shared.config, token.as_deref());
    tracing::debug!(method = %method, "web api call");
    // Without a fault (or with a late answer) the call is answered in the same step that
    // records it, so a test that sees the call (`wait_for_call`) also sees what it did.
    let step = shared.update(|s| {
        s.calls.push(Call {
            method: method.clone(),
            params: parsed.params.clone(),
            at: Instant::now(),
        });
        let late = match s.faults.pop(&method) {
            None => None,
            Some(Fault::LateAnswer(delay)) => Some(delay),
            Some(fault) => return Err(fault),
        };
        Ok((
            dispatch(&shared, s, &method, &parsed.params, token.as_deref()),
            late,
        ))
    });
    let fault = match step {
        Ok((reply, late)) => {
            let response = with_scopes(answer(&shared, &method, reply), scopes);
            if let Some(delay) = late {
                tokio::time::sleep(delay).await;
            }
            return response;
        }
        Err(fault) => fault,
    };
    match fault {
        Fault::LateAnswer(_) => unreachable!("a late answer is dispatched when recorded"),
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::Hang => std::future::pending::<()>().await,
        Fault::RateLimited { retry_after_secs } => {
            shared.update(|s| *s.rate_limited.entry(method).or_default() += 1);
            return rate_limited(retry_after_secs);
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = status.canonical_reason().unwrap_or("error");
            return (status, text).into_response();
        }
        Fault::SlackError(code) => return Reply::Error(code).into_response(),
        Fault::Malformed => {
            return json_response(StatusCode::OK, r#"{"ok":true,"channel":"#.into());
        }
    }
    let reply = shared.update(|s| dispatch(&shared, s, &method, &parsed.params, token.as_deref()));
    with_scopes(answer(&shared, &method, reply), scopes)
}

/// The scopes a token carries, as Slack lists them in the `x-oauth-scopes` header of a Web API
/// answer: comma-separated, no spaces. A token Slack does not know gets no list.
fn granted_scopes(cfg: &EmulatorConfig, token: Option<&str>) -> Option<HeaderValue> {
    let scopes = match token {
        Some(t) if t == cfg.bot_token => cfg.scopes.join(","),
        // The app-level token's one scope (Socket Mode).
        Some(t) if t == cfg.app_token => "connections:write".to_string(),
        _ => return None,
    };
    HeaderValue::from_str(&scopes).ok()
}

/// An answer with the token's scopes in its `x-oauth-scopes` header, as Slack's answers carry
/// them (the official SDKs read them into `response_metadata.scopes`).
fn with_scopes(mut response: Response, scopes: Option<HeaderValue>) -> Response {
    if let Some(scopes) = scopes {
        response.headers_mut().insert("x-oauth-scopes", scopes);
    }
    response
}

/// The response to a dispatched call, counting a rate limit.
fn answer(shared: &Shared, method: &str, reply: Reply) -> Response {
    if matches!(reply, Reply::RateLimited(_)) {
        shared.update(|s| *s.rate_limited.entry(method.to_string()).or_default() += 1);
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
        | "conversations.history"
        | "conversations.replies"
        | "chat.postMessage"
        | "chat.update"
        | "chat.postEphemeral"
        | "conversations.list"
        | "users.info"
        | "users.list"
        | "users.lookupByEmail"
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
    if let Err(refusal) = strict_checks(s, cfg, &kind, method, p) {
        return refuse(s, refusal);
    }
    let ctx = Ctx { shared, cfg, p };
    let reply = call_method(&ctx, s, method);
    // Refusals the methods themselves make for a Slack rule (`invalid_metadata_format`, ...).
    if let Reply::Error(code) = &reply {
        if let Some(rule) = Rule::of_error(code) {
            s.record([strict::Violation {
                method: method.to_string(),
                rule,
                path: String::new(),
                detail: format!("answered {code}"),
            }]);
        }
    }
    reply
}

/// Slack's rules before the method runs: scopes, arguments, payload; the lint's findings
/// and unknown arguments are recorded, refusals returned.
fn strict_checks(
    s: &mut State,
    cfg: &EmulatorConfig,
    kind: &TokenKind,
    method: &str,
    p: &Value,
) -> Result<(), Refusal> {
    // App-level tokens carry their own scopes (`connections:write`), not the bot's.
    if matches!(kind, TokenKind::Bot) {
        strict::check_scope(method, p, &cfg.scopes)?;
    }
    let unknown = strict::check_args(method, p)?;
    s.record(unknown);
    let mut lint = match method {
        "chat.postMessage"
        | "chat.update"
        | "chat.postEphemeral"
        | "files.completeUploadExternal" => strict::check_message(method, p)?,
        "views.open" | "views.update" | "views.publish" => strict::check_view(method, p)?,
        _ => Vec::new(),
    };
    // Which conversation, so that a report says which of the bot's messages it was.
    if let Some(channel) = str_of(p, "channel").or_else(|| str_of(p, "channel_id")) {
        for v in &mut lint {
            v.detail = format!("{} (in {channel})", v.detail);
        }
    }
    s.record(lint);
    Ok(())
}

fn refuse(s: &mut State, refusal: Refusal) -> Reply {
    s.record(refusal.violations);
    Reply::Refused(refusal.body)
}

fn call_method(ctx: &Ctx<'_>, s: &mut State, method: &str) -> Reply {
    match method {
        "auth.test" => ctx.auth_test(),
        "apps.connections.open" => ctx.apps_connections_open(s),
        "conversations.open" => ctx.conversations_open(s),
        "conversations.info" => ctx.conversations_info(s),
        "conversations.members" => ctx.conversations_members(s),
        "conversations.list" => ctx.conversations_list(s),
        "conversations.history" => ctx.conversations_history(s),
        "conversations.replies" => ctx.conversations_replies(s),
        "chat.postMessage" => ctx.chat_post_message(s),
        "chat.update" => ctx.chat_update(s),
        "chat.postEphemeral" => ctx.chat_post_ephemeral(s),
        "users.info" => ctx.users_info(),
        "users.list" => ctx.users_list(),
        "users.lookupByEmail" => ctx.users_lookup_by_email(),
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

/// Which items of a list one page shows, and the cursor of the next (empty on the last page).
struct Page {
    range: std::ops::Range<usize>,
    next_cursor: String,
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

    /// Whether the bot user is in channel `c` now.
    fn bot_in(&self, s: &State, c: &Channel) -> bool {
        s.in_channel(&c.id, &self.cfg.bot_user_id)
    }

    /// The channel to post to, checked like Slack: unknown → `channel_not_found`, a channel
    /// the bot is not in → `not_in_channel`, an archived one → `is_archived`.
    fn postable(&self, s: &State, key: &str) -> Result<Conv<'_>, Reply> {
        let id = self.str(key).ok_or_else(|| error("channel_not_found"))?;
        match resolve(self.cfg, &id) {
            None => Err(error("channel_not_found")),
            Some(Conv::Channel(c)) if !self.bot_in(s, c) => Err(error("not_in_channel")),
            Some(Conv::Channel(c)) if c.archived => Err(error("is_archived")),
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

    fn users_info(&self) -> Reply {
        let Some(u) = self.str("user").and_then(|id| self.user(&id)) else {
            return error("user_not_found");
        };
        Reply::Ok(json!({"user": self.user_object(u)}))
    }

    /// `users.list`: every user in configuration order, `limit` per page (default 200, at most
    /// 1000), paged with an opaque cursor.
    fn users_list(&self) -> Reply {
        let page = match self.page("users", 200, self.cfg.users.len()) {
            Ok(page) => page,
            Err(reply) => return reply,
        };
        let members: Vec<Value> = self.cfg.users[page.range.clone()]
            .iter()
            .map(|u| self.user_object(u))
            .collect();
        Reply::Ok(json!({
            "members": members,
            "cache_ts": self.shared.started_unix,
            "response_metadata": {"next_cursor": page.next_cursor},
        }))
    }

    /// `users.lookupByEmail`: the user whose `profile.email` is `email`, as `users.info`
    /// describes them; `users_not_found` when nobody has it (the code Slack's method page
    /// lists, plural unlike `users.info`'s). The scope (`users:read.email`) was checked before.
    /// Compared exactly: Slack's page does not say it ignores case, so the emulator does not
    /// either (a bot relying on it would be relying on something undocumented).
    /// <https://docs.slack.dev/reference/methods/users.lookupByEmail/>
    fn users_lookup_by_email(&self) -> Reply {
        let email = self.str("email").unwrap_or_default();
        match self
            .cfg
            .users
            .iter()
            .find(|u| !u.email.is_empty() && u.email == email)
        {
            Some(u) => Reply::Ok(json!({"user": self.user_object(u)})),
            None => error("users_not_found"),
        }
    }

    /// One page of a list of `total` items: `limit` (default `default_limit`, at most 1000, as
    /// Slack's list methods take) from the offset an opaque cursor names. Cursors are
    /// base64 like Slack's and carry the list's name, so one list's cursor is `invalid_cursor`
    /// for another.
    fn page(&self, list: &str, default_limit: usize, total: usize) -> Result<Page, Reply> {
        let limit = self
            .str("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .unwrap_or(default_limit)
            .min(1000);
        let prefix = format!("{list}:");
        let offset = match self.str("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => history::unbase64(&c)
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| {
                    t.strip_prefix(&prefix)
                        .and_then(|n| n.parse::<usize>().ok())
                })
                .filter(|n| *n <= total)
                .ok_or_else(|| error("invalid_cursor"))?,
        };
        let end = (offset + limit).min(total);
        let next_cursor = if end < total {
            history::base64(format!("{prefix}{end}").as_bytes())
        } else {
            String::new()
        };
        Ok(Page {
            range: offset..end,
            next_cursor,
        })
    }

    /// A user object as `users.info` / `users.list` / `users.lookupByEmail` show it. Like
    /// Slack, `profile.email` only for a token with `users:read.email` ("required to access
    /// the email field in user objects returned by the users.list and users.info web API
    /// methods", <https://docs.slack.dev/reference/scopes/users.read.email>), and only for a
    /// user who has one.
    fn user_object(&self, u: &User) -> Value {
        let mut object = json!({
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
                "status_text": u.status_text,
                "status_emoji": u.status_emoji,
                "status_expiration": u.status_expiration,
                "avatar_hash": "g0000000000e",
                "team": self.cfg.team_id,
            },
            "is_admin": u.is_admin,
            "is_owner": u.is_owner,
            "is_primary_owner": false,
            "is_restricted": false,
            "is_ultra_restricted": false,
            "is_bot": u.is_bot,
            "is_app_user": false,
            "updated": self.shared.started_unix,
        });
        if !u.email.is_empty() && self.cfg.scopes.iter().any(|s| s == "users:read.email") {
            object["profile"]["email"] = json!(u.email);
        }
        object
    }
}

/// `POST /response/{id}`: a `response_url` post, checked like a message (Block Kit limits,
/// `text` length, the mrkdwn lint) and recorded.
pub(crate) async fn response_url(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let refused = shared.update(|s| match strict::check_message("response_url", &body) {
        Err(refusal) => {
            s.record(refusal.violations);
            Some(refusal.body)
        }
        Ok(lint) => {
            s.record(lint);
            s.response_posts.push(ResponsePost {
                id,
                body,
                at: Instant::now(),
            });
            None
        }
    });
    let answer = refused.unwrap_or_else(|| json!({"ok": true}));
    json_response(StatusCode::OK, answer.to_string())
}

/// Registers a trigger id as just issued (for `views.open`), in `channel` when known. Issuing
/// a known trigger again (a delivery) keeps the channel it was issued in.
pub(crate) fn issue_trigger(s: &mut State, id: &str, channel: Option<&str>) {
    let channel = channel
        .map(str::to_string)
        .or_else(|| s.triggers.get(id).and_then(|t| t.channel.clone()));
    s.triggers.insert(
        id.to_string(),
        Trigger {
            issued: Instant::now(),
            used: false,
            channel,
        },
    );
}
