//! HTTP mode: the Events API, slash command and interactivity endpoints.
//!
//! [`router`] answers Slack's three POST endpoints, a health check and the metrics; [`serve`]
//! runs it on a listener the caller bound, until a shutdown future resolves.
//!
//! Every POST goes through one verification layer before any handler sees it ([`router`]
//! applies it to the routes, so a new route cannot skip it): the timestamp must be within the
//! window of now, the body no larger than the limit, the signature Slack's
//! `v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))` (compared in constant time), and, for slash
//! commands and interactions, the signature not one already accepted within the window (by this
//! process, or by any replica when the caller gives a shared [`ReplayLedger`]). Only then is the
//! body parsed.
//!
//! Rejections answer with a status and a short `{"error": "..."}`; they are logged at warn with
//! the path and the reason, never the body, the headers or the secret.
//!
//! What the replay guard protects: a command or a click that runs twice acts twice (a blocker
//! raised twice, a button applied twice), and Slack never sends one twice, so a second copy of
//! an accepted command or interaction signature is refused. Events are not guarded that way:
//! Slack retries an event it thinks failed (`X-Slack-Retry-Num` / `X-Slack-Retry-Reason`, "up
//! to 3 times": nearly at once, after 1 minute, after 5 minutes; docs.slack.dev/apis/events-api,
//! "Retries"), with the same body, and a retry sent within the second of the original has the
//! original's timestamp, so the same signature (the retry headers are not signed). Refusing it
//! would refuse Slack's own retry. The app deduplicates every event on its `event_id` when it
//! stores it, which stops a replay of a captured event as well as Slack's retries, at any
//! timestamp.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Form, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent, SlackPushEvent};
use tracing::Instrument;

use super::Inbound;
use crate::config::Secret;
use crate::metrics::Metrics;

/// Events API requests.
pub const EVENTS_PATH: &str = "/slack/events";
/// Slash commands.
pub const COMMANDS_PATH: &str = "/slack/commands";
/// Interactivity (buttons, modals).
pub const INTERACTIONS_PATH: &str = "/slack/interactions";
/// Liveness check, unauthenticated.
pub const HEALTH_PATH: &str = "/healthz";
/// Prometheus metrics, unauthenticated like the health check (counts only, no secret or
/// member data in them).
pub const METRICS_PATH: &str = "/metrics";

/// How many accepted signatures the replay guard remembers at most. Only requests with a valid
/// signature get in, so this is only reached if Slack itself sends more than this within one
/// window; past it, requests are refused with 503 (and Slack retries) rather than forgetting
/// signatures that could then be replayed.
const REPLAY_CAPACITY: usize = 65_536;

/// How HTTP mode checks requests.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The app's Signing Secret (Basic Information → App Credentials).
    pub signing_secret: Secret,
    /// Bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// How far a request's timestamp may be from now, either way; also how long accepted
    /// signatures are remembered to refuse replays.
    pub window: Duration,
    /// What `GET /metrics` shows.
    pub metrics: Metrics,
    /// Where accepted signatures are remembered; `None`: in this process ([`MemoryLedger`]).
    pub replays: Option<Arc<dyn ReplayLedger>>,
}

impl HttpConfig {
    /// [`HttpConfig::max_body_bytes`] unless set: 1 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    /// [`HttpConfig::window`] unless set: Slack's five minutes.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

    /// The defaults, with this signing secret (and metrics of their own).
    pub fn new(signing_secret: Secret) -> HttpConfig {
        HttpConfig {
            signing_secret,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            window: Self::DEFAULT_WINDOW,
            metrics: Metrics::default(),
            replays: None,
        }
    }
}

/// The router: `POST /slack/events`, `POST /slack/commands`, `POST /slack/interactions` (all
/// verified), `GET /healthz` and `GET /metrics`.
pub fn router(inbound: Arc<dyn Inbound>, config: HttpConfig) -> Router {
    let limit = config.max_body_bytes;
    let metrics = metrics_route(config.metrics.clone());
    let verifier = Arc::new(Verifier::new(config));
    let slack = Router::new()
        .route(EVENTS_PATH, post(events))
        .route(COMMANDS_PATH, post(commands))
        .route(INTERACTIONS_PATH, post(interactions))
        .route_layer(middleware::from_fn_with_state(verifier, verify_layer))
        .with_state(inbound);
    Router::new()
        .route(HEALTH_PATH, get(health))
        .merge(metrics)
        .merge(slack)
        .layer(DefaultBodyLimit::max(limit))
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP mode listening");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

// ---------------------------------------------------------------------------------------------
// Handlers: parse, call the app, answer.

async fn health() -> &'static str {
    "ok"
}

/// `GET /metrics` showing `metrics`; Socket Mode's health listener serves the same route.
pub fn metrics_route(metrics: Metrics) -> Router {
    Router::new().route(
        METRICS_PATH,
        get(|| async move {
            (
                [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
                metrics.render(),
            )
        }),
    )
}

async fn events(
    State(inbound): State<Arc<dyn Inbound>>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, Rejection> {
    let Json(body) = body.map_err(Rejection::from)?;
    let kind = body
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or(Rejection::Malformed("malformed event"))?;
    if !matches!(
        kind,
        "url_verification" | "event_callback" | "app_rate_limited"
    ) {
        // Answer 200 so Slack does not retry something this version cannot read.
        tracing::debug!(kind, "ignored an unknown request type");
        return Ok(StatusCode::OK.into_response());
    }
    if kind == "event_callback" {
        // Kept as JSON (see `Inbound::event`): only what storing it needs is checked.
        let callback =
            super::event_callback(body).ok_or(Rejection::Malformed("malformed event"))?;
        log_retry(&headers, &callback);
        inbound
            .event(callback)
            .await
            .map_err(|_| Rejection::NotStored)?;
        return Ok(StatusCode::OK.into_response());
    }
    let event =
        SlackPushEvent::deserialize(&body).map_err(|_| Rejection::Malformed("malformed event"))?;
    match event {
        SlackPushEvent::UrlVerification(verification) => Ok(Json(serde_json::json!({
            "challenge": verification.challenge
        }))
        .into_response()),
        // Taken above.
        SlackPushEvent::EventCallback(_) => Ok(StatusCode::OK.into_response()),
        SlackPushEvent::AppRateLimited(limited) => {
            tracing::warn!(
                team = %limited.team_id,
                "Slack stopped delivering events for a minute: the app is over its rate limit"
            );
            Ok(StatusCode::OK.into_response())
        }
    }
}

fn log_retry(headers: &HeaderMap, callback: &serde_json::Value) {
    let Some(num) = headers.get("x-slack-retry-num") else {
        return;
    };
    let num = num.to_str().ok().and_then(|n| n.parse::<u32>().ok());
    let reason = headers
        .get("x-slack-retry-reason")
        .and_then(|r| r.to_str().ok())
        .filter(|r| r.len() <= 64 && r.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("<unknown>");
    tracing::debug!(
        retry = num,
        reason,
        event_id = callback["event_id"].as_str().unwrap_or_default(),
        "Slack retried an event"
    );
}

async fn commands(
    State(inbound): State<Arc<dyn Inbound>>,
    form: Result<Form<SlackCommandEvent>, FormRejection>,
) -> Result<Response, Rejection> {
    let Form(command) = form.map_err(Rejection::from)?;
    let span = tracing::info_span!("slash_command", command = %command.command);
    let response = inbound.command(command).instrument(span).await;
    Ok(Json(response).into_response())
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactions(
    State(inbound): State<Arc<dyn Inbound>>,
    form: Result<Form<InteractionForm>, FormRejection>,
) -> Result<Response, Rejection> {
    let Form(form) = form.map_err(Rejection::from)?;
    let interaction: SlackInteractionEvent = serde_json::from_str(&form.payload)
        .map_err(|_| Rejection::Malformed("malformed interaction payload"))?;
    Ok(match inbound.interaction(interaction).await {
        Ok(Some(body)) => Json(body).into_response(),
        Ok(None) => StatusCode::OK.into_response(),
        Err(super::NotStored) => return Err(Rejection::NotStored),
    })
}

// ---------------------------------------------------------------------------------------------
// Rejections.

/// Why a request was refused. The message is all the caller and the log get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    StaleTimestamp,
    MissingSignature,
    BadSignature,
    Replayed,
    TooLarge,
    Busy,
    Unchecked,
    UnreadableBody,
    WrongContentType,
    Malformed(&'static str),
    NotStored,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::StaleTimestamp
            | Rejection::MissingSignature
            | Rejection::BadSignature
            | Rejection::Replayed => StatusCode::UNAUTHORIZED,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Busy | Rejection::Unchecked => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::WrongContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::UnreadableBody | Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            // Slack retries a failed delivery: the event arrives again once storage recovers.
            Rejection::NotStored => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Rejection::StaleTimestamp => "stale or missing timestamp",
            Rejection::MissingSignature => "missing signature",
            Rejection::BadSignature => "invalid signature",
            Rejection::Replayed => "replayed request",
            Rejection::TooLarge => "request body too large",
            Rejection::Busy => "too many requests",
            Rejection::Unchecked => "cannot check for a replay now; try again",
            Rejection::UnreadableBody => "unreadable request body",
            Rejection::WrongContentType => "unsupported content type",
            Rejection::Malformed(reason) => reason,
            Rejection::NotStored => "event not stored; deliver it again",
        }
    }
}

/// Marks a response as a rejection, for the layer to log once with the path.
#[derive(Clone, Copy)]
struct Rejected(&'static str);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "error": self.reason() })),
        )
            .into_response();
        response.extensions_mut().insert(Rejected(self.reason()));
        response
    }
}

impl From<JsonRejection> for Rejection {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Rejection::WrongContentType,
            JsonRejection::BytesRejection(_) => Rejection::UnreadableBody,
            _ => Rejection::Malformed("malformed JSON"),
        }
    }
}

impl From<FormRejection> for Rejection {
    fn from(rejection: FormRejection) -> Self {
        match rejection {
            FormRejection::InvalidFormContentType(_) => Rejection::WrongContentType,
            FormRejection::BytesRejection(_) => Rejection::UnreadableBody,
            _ => Rejection::Malformed("malformed or incomplete form"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification.

/// Where the signatures of accepted slash commands and interactions are remembered for the
/// window, so a second copy is refused: in this process ([`MemoryLedger`], for one process), or
/// where replicas share them (the bot keeps them in its database on PostgreSQL), so the same
/// signed request sent to two replicas acts once.
pub trait ReplayLedger: Send + Sync + std::fmt::Debug {
    /// Remembers a verified request by its timestamp (Unix seconds) and its signature's 32
    /// bytes, at `now` (Unix seconds); `Ok(false)` when it was remembered before: a replay.
    fn first_time(
        &self,
        timestamp: i64,
        signature: [u8; 32],
        now: i64,
    ) -> BoxFuture<'static, Result<bool, LedgerError>>;
}

/// Why a [`ReplayLedger`] could not say whether a request is new. Either way the request is
/// refused with 503: a replay let through would act twice, and a command or click refused
/// shows its user an error, so they try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// It holds as many requests as it may within the window.
    Full,
    /// It could not be read or written (the database is unreachable): what went wrong, for
    /// the log.
    Unavailable(String),
}

/// The [`ReplayLedger`] of one process: the signatures in memory, at most
/// [`REPLAY_CAPACITY`] within the window.
#[derive(Debug)]
pub struct MemoryLedger {
    guard: Mutex<ReplayGuard>,
    window: Duration,
}

impl MemoryLedger {
    pub fn new(window: Duration) -> MemoryLedger {
        MemoryLedger {
            guard: Mutex::new(ReplayGuard::new(REPLAY_CAPACITY)),
            window,
        }
    }
}

impl ReplayLedger for MemoryLedger {
    fn first_time(
        &self,
        timestamp: i64,
        signature: [u8; 32],
        now: i64,
    ) -> BoxFuture<'static, Result<bool, LedgerError>> {
        let stamp = Stamp {
            timestamp,
            tag: signature,
        };
        let admitted = self
            .guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&stamp, now, self.window);
        Box::pin(std::future::ready(match admitted {
            Ok(()) => Ok(true),
            Err(Rejection::Replayed) => Ok(false),
            Err(_) => Err(LedgerError::Full),
        }))
    }
}

/// The checks every POST goes through, and what they remember.
struct Verifier {
    config: HttpConfig,
    replays: Arc<dyn ReplayLedger>,
}

impl Verifier {
    fn new(config: HttpConfig) -> Verifier {
        let replays = config
            .replays
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryLedger::new(config.window)));
        Verifier { config, replays }
    }

    /// Checks the request and hands it back with its body read, or says why not.
    async fn admit(&self, request: Request) -> Result<Request, Rejection> {
        // Events are deduplicated on `event_id` by the app, and Slack's retries of one may carry
        // the original's signature (see the module docs).
        let guarded = request.uri().path() != EVENTS_PATH;
        let (parts, body) = request.into_parts();
        let stamp = Stamp::from_headers(&parts.headers, unix_now(), self.config.window)?;
        let limit = self.config.max_body_bytes;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(Rejection::TooLarge);
        }
        let body = read_limited(body, limit).await?;
        stamp.verify(&self.config.signing_secret, &body)?;
        if guarded {
            match self
                .replays
                .first_time(stamp.timestamp, stamp.tag, unix_now())
                .await
            {
                Ok(true) => {}
                Ok(false) => return Err(Rejection::Replayed),
                Err(LedgerError::Full) => return Err(Rejection::Busy),
                Err(LedgerError::Unavailable(why)) => {
                    tracing::warn!(error = %why, "cannot tell whether a Slack request is a replay");
                    return Err(Rejection::Unchecked);
                }
            }
        }
        Ok(Request::from_parts(parts, Body::from(body)))
    }
}

async fn verify_layer(
    State(verifier): State<Arc<Verifier>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let span = tracing::debug_span!("slack_request", path = %path);
    async move {
        let response = match verifier.admit(request).await {
            Ok(request) => next.run(request).await,
            Err(rejection) => rejection.into_response(),
        };
        if let Some(Rejected(reason)) = response.extensions().get::<Rejected>() {
            tracing::warn!(path = %path, reason, "refused a Slack request");
        }
        response
    }
    .instrument(span)
    .await
}

/// Reads at most `limit` bytes of body; more is [`Rejection::TooLarge`].
async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Rejection::UnreadableBody)?;
        if buffer.len() + chunk.len() > limit {
            return Err(Rejection::TooLarge);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A request's timestamp and signature, read from its headers and checked for freshness and
/// form, but not yet against the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    timestamp: i64,
    /// The 32 bytes of HMAC the `X-Slack-Signature` header claims.
    tag: [u8; 32],
}

impl Stamp {
    fn from_headers(headers: &HeaderMap, now: i64, window: Duration) -> Result<Stamp, Rejection> {
        Stamp::parse(
            headers
                .get("x-slack-request-timestamp")
                .map(|v| v.as_bytes()),
            headers.get("x-slack-signature").map(|v| v.as_bytes()),
            now,
            window,
        )
    }

    /// The timestamp must be an integer within `window` of `now`; the signature `v0=` and 64
    /// hex digits.
    fn parse(
        timestamp: Option<&[u8]>,
        signature: Option<&[u8]>,
        now: i64,
        window: Duration,
    ) -> Result<Stamp, Rejection> {
        let timestamp = timestamp
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|t| now.abs_diff(*t) <= window.as_secs())
            .ok_or(Rejection::StaleTimestamp)?;
        let signature = signature.ok_or(Rejection::MissingSignature)?;
        let tag = decode_signature(signature).ok_or(Rejection::BadSignature)?;
        Ok(Stamp { timestamp, tag })
    }

    /// The signature must be the HMAC of `v0:{timestamp}:{body}` under the secret (compared in
    /// constant time).
    fn verify(&self, secret: &Secret, body: &[u8]) -> Result<(), Rejection> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
            return Err(Rejection::BadSignature);
        };
        mac.update(b"v0:");
        mac.update(self.timestamp.to_string().as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.verify_slice(&self.tag)
            .map_err(|_| Rejection::BadSignature)
    }
}

/// `v0=` + 64 hex digits → the 32 bytes.
fn decode_signature(value: &[u8]) -> Option<[u8; 32]> {
    let digits = value.strip_prefix(b"v0=")?;
    let mut tag = [0u8; 32];
    // Fails on any length but 64 digits and on non-hex digits; either case is accepted.
    hex::decode_to_slice(digits, &mut tag).ok()?;
    Some(tag)
}

/// The signatures accepted within the window, oldest timestamp first. A signature commits to
/// its timestamp, so `(timestamp, tag)` identifies a request.
#[derive(Debug)]
struct ReplayGuard {
    seen: BTreeSet<(i64, [u8; 32])>,
    capacity: usize,
}

impl ReplayGuard {
    fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            seen: BTreeSet::new(),
            capacity,
        }
    }

    /// Remembers a verified request, or refuses it if it was seen before. Forgets requests that
    /// have aged out of the window first (their replays fail the timestamp check anyway).
    fn admit(&mut self, stamp: &Stamp, now: i64, window: Duration) -> Result<(), Rejection> {
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        while let Some(&(timestamp, _)) = self.seen.first() {
            if now.saturating_sub(timestamp) <= window {
                break;
            }
            self.seen.pop_first();
        }
        let key = (stamp.timestamp, stamp.tag);
        if self.seen.contains(&key) {
            return Err(Rejection::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(Rejection::Busy);
        }
        self.seen.insert(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use slack_emulator::{Emulator, EmulatorConfig, RawRequest, SignedClient, SignedResponse};
    use slack_morphism::prelude::SlackCommandEventResponse;
    use slack_morphism::prelude::SlackMessageContent;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    const SECRET: &str = "test-signing-secret-0123456789ab";

    // --- The signature itself, against Slack's published example. ---

    const VECTOR_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const VECTOR_TIMESTAMP: i64 = 1531420618;
    const VECTOR_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const VECTOR_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    /// Verifies the published vector's headers and body at `now`.
    fn check_vector(signature: &str, body: &str, now: i64) -> Result<(), Rejection> {
        let timestamp = VECTOR_TIMESTAMP.to_string();
        let stamp = Stamp::parse(
            Some(timestamp.as_bytes()),
            Some(signature.as_bytes()),
            now,
            HttpConfig::DEFAULT_WINDOW,
        )?;
        stamp.verify(&Secret::new(VECTOR_SECRET), body.as_bytes())
    }

    #[test]
    fn slacks_published_vector_verifies() {
        assert_eq!(
            check_vector(VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TIMESTAMP + 10),
            Ok(())
        );
        // Upper-case hex is the same signature.
        let upper = format!("v0={}", VECTOR_SIGNATURE[3..].to_uppercase());
        assert_eq!(check_vector(&upper, VECTOR_BODY, VECTOR_TIMESTAMP), Ok(()));
    }

    #[test]
    fn the_vector_fails_when_anything_changes() {
        let now = VECTOR_TIMESTAMP;
        let tampered = VECTOR_BODY.replace("text=", "text=hi");
        assert_eq!(
            check_vector(VECTOR_SIGNATURE, &tampered, now),
            Err(Rejection::BadSignature)
        );
        let mut flipped = VECTOR_SIGNATURE.to_string();
        flipped.pop();
        flipped.push('4');
        assert_eq!(
            check_vector(&flipped, VECTOR_BODY, now),
            Err(Rejection::BadSignature)
        );
        for malformed in ["", "v0=", "v1=a2114d57", "v0=zz", &VECTOR_SIGNATURE[..66]] {
            assert_eq!(
                check_vector(malformed, VECTOR_BODY, now),
                Err(Rejection::BadSignature),
                "{malformed:?}"
            );
        }
        let stamp = Stamp::parse(
            Some(VECTOR_TIMESTAMP.to_string().as_bytes()),
            Some(VECTOR_SIGNATURE.as_bytes()),
            now,
            HttpConfig::DEFAULT_WINDOW,
        )
        .unwrap();
        assert_eq!(
            stamp.verify(&Secret::new("another-secret"), VECTOR_BODY.as_bytes()),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn the_timestamp_must_be_an_integer_within_the_window() {
        let window = HttpConfig::DEFAULT_WINDOW;
        let ts = VECTOR_TIMESTAMP;
        let parse = |timestamp: Option<&str>, now: i64| {
            Stamp::parse(
                timestamp.map(str::as_bytes),
                Some(VECTOR_SIGNATURE.as_bytes()),
                now,
                window,
            )
            .map(|stamp| stamp.timestamp)
        };
        assert_eq!(parse(Some("1531420618"), ts + 300), Ok(ts));
        assert_eq!(parse(Some("1531420618"), ts - 300), Ok(ts));
        assert_eq!(
            parse(Some("1531420618"), ts + 301),
            Err(Rejection::StaleTimestamp)
        );
        assert_eq!(
            parse(Some("1531420618"), ts - 301),
            Err(Rejection::StaleTimestamp)
        );
        for bad in [
            None,
            Some(""),
            Some("1531420618.5"),
            Some("soon"),
            Some("-9223372036854775808"),
        ] {
            assert_eq!(parse(bad, ts), Err(Rejection::StaleTimestamp), "{bad:?}");
        }
        let missing = Stamp::parse(Some(b"1531420618"), None, ts, window);
        assert_eq!(missing, Err(Rejection::MissingSignature));
    }

    #[test]
    fn the_replay_guard_forgets_only_what_has_aged_out_and_stays_bounded() {
        let window = Duration::from_secs(300);
        let stamp = |timestamp: i64, byte: u8| Stamp {
            timestamp,
            tag: [byte; 32],
        };
        let mut guard = ReplayGuard::new(2);
        assert_eq!(guard.admit(&stamp(1000, 1), 1000, window), Ok(()));
        assert_eq!(
            guard.admit(&stamp(1000, 1), 1300, window),
            Err(Rejection::Replayed)
        );
        assert_eq!(guard.admit(&stamp(1200, 2), 1200, window), Ok(()));
        // Full: a third signature within the window is refused, not let through unremembered.
        assert_eq!(
            guard.admit(&stamp(1250, 3), 1250, window),
            Err(Rejection::Busy)
        );
        // Once the first has aged out there is room again, and the second is still remembered.
        assert_eq!(guard.admit(&stamp(1301, 3), 1301, window), Ok(()));
        assert_eq!(
            guard.admit(&stamp(1200, 2), 1301, window),
            Err(Rejection::Replayed)
        );
        assert_eq!(guard.seen.len(), 2);
    }

    #[tokio::test]
    async fn a_streamed_body_is_cut_off_at_the_limit() {
        // No Content-Length to go by: the chunks are counted as they arrive.
        let chunks = |n: usize| {
            Body::from_stream(futures::stream::iter(
                (0..n).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(&[b'x'; 1024]))),
            ))
        };
        assert_eq!(
            read_limited(chunks(4), 4096).await.map(|b| b.len()),
            Ok(4096)
        );
        assert_eq!(
            read_limited(chunks(5), 4096).await.map(|b| b.len()),
            Err(Rejection::TooLarge)
        );
    }

    // --- The router, served on a real socket and driven like Slack. ---

    /// What the app was handed.
    #[derive(Debug, Clone)]
    enum Call {
        Event(Box<Value>),
        Command(Box<SlackCommandEvent>),
        Interaction(Box<SlackInteractionEvent>),
    }

    /// An [`Inbound`] that records every call and gives fixed answers.
    struct Recorder {
        calls: Mutex<Vec<Call>>,
        interaction_reply: Option<Value>,
    }

    impl Recorder {
        fn record(&self, call: Call) {
            self.calls.lock().unwrap().push(call);
        }
    }

    impl Inbound for Recorder {
        fn event(
            &self,
            event: Value,
        ) -> futures::future::BoxFuture<'static, Result<(), crate::slack::NotStored>> {
            self.record(Call::Event(Box::new(event)));
            Box::pin(async { Ok(()) })
        }

        fn command(
            &self,
            command: SlackCommandEvent,
        ) -> futures::future::BoxFuture<'static, SlackCommandEventResponse> {
            self.record(Call::Command(Box::new(command)));
            Box::pin(async { command_reply() })
        }

        fn interaction(
            &self,
            interaction: SlackInteractionEvent,
        ) -> futures::future::BoxFuture<'static, Result<Option<Value>, crate::slack::NotStored>>
        {
            self.record(Call::Interaction(Box::new(interaction)));
            let reply = self.interaction_reply.clone();
            Box::pin(async move { Ok(reply) })
        }
    }

    fn command_reply() -> SlackCommandEventResponse {
        SlackCommandEventResponse::new(
            SlackMessageContent::new().with_text("Standup is at 09:30".into()),
        )
    }

    /// The bot's HTTP endpoints on `127.0.0.1:0`, an emulated workspace for realistic payloads,
    /// and a client that signs like Slack.
    struct Bot {
        emu: Emulator,
        client: SignedClient,
        base_url: String,
        inbound: Arc<Recorder>,
        shutdown: Option<oneshot::Sender<()>>,
        server: Option<JoinHandle<std::io::Result<()>>>,
    }

    impl Drop for Bot {
        fn drop(&mut self) {
            if let Some(server) = self.server.take() {
                server.abort();
            }
        }
    }

    impl Bot {
        async fn start() -> Bot {
            Bot::start_with(None).await
        }

        async fn start_with(interaction_reply: Option<Value>) -> Bot {
            Bot::start_on(interaction_reply, None).await
        }

        /// With `replays` as the replay ledger (`None`: the in-memory one).
        async fn start_on(
            interaction_reply: Option<Value>,
            replays: Option<Arc<dyn ReplayLedger>>,
        ) -> Bot {
            let emu = Emulator::start(
                EmulatorConfig::default()
                    .with_user(slack_emulator::User::new("U1", "ada"))
                    .with_channel(slack_emulator::Channel::new("C0STANDUP", "standup")),
            )
            .await;
            let inbound = Arc::new(Recorder {
                calls: Mutex::new(Vec::new()),
                interaction_reply,
            });
            let config = HttpConfig {
                replays,
                ..HttpConfig::new(Secret::new(SECRET))
            };
            let app = router(inbound.clone(), config);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base_url = format!("http://{}", listener.local_addr().unwrap());
            let (shutdown, stop) = oneshot::channel::<()>();
            let server = tokio::spawn(serve(listener, app, async {
                let _ = stop.await;
            }));
            let client = SignedClient::new(&base_url, SECRET).with_paths(
                EVENTS_PATH,
                COMMANDS_PATH,
                INTERACTIONS_PATH,
            );
            Bot {
                emu,
                client,
                base_url,
                inbound,
                shutdown: Some(shutdown),
                server: Some(server),
            }
        }

        /// Everything the app has been handed so far.
        fn calls(&self) -> Vec<Call> {
            self.inbound.calls.lock().unwrap().clone()
        }

        fn event_ids(&self) -> Vec<String> {
            self.calls()
                .into_iter()
                .filter_map(|call| match call {
                    Call::Event(event) => event["event_id"].as_str().map(str::to_string),
                    _ => None,
                })
                .collect()
        }

        fn a_dm_event(&self) -> Value {
            self.emu.event_callback(slack_emulator::events::dm_message(
                "U1",
                "*Yesterday*\n- shipped",
            ))
        }

        fn a_command(&self) -> Vec<(String, String)> {
            self.emu
                .slash_command_fields("/standup", "status", "U1", "C0STANDUP")
        }

        /// A click on a button the bot posted in #standup (action `action_id`, value `skip`):
        /// the emulator builds clicks only from what was posted.
        async fn a_click(&self, action_id: &str) -> Value {
            let api = crate::slack::client::Api::new(
                &self.emu.api_url(),
                &Secret::new(&self.emu.config().bot_token),
                crate::slack::client::Policy::default(),
            )
            .unwrap();
            let blocks = json!([{"type": "actions", "elements": [{"type": "button",
                "action_id": action_id, "value": "skip",
                "text": {"type": "plain_text", "text": "Skip"}}]}]);
            let channel = standup_core::domain::ChannelId("C0STANDUP".into());
            let ts = api
                .post(&channel, "Skip today?", Some(blocks), None)
                .await
                .unwrap();
            self.emu.click("U1", "C0STANDUP", &ts, action_id).unwrap()
        }

        /// A request signed now, with any content type and body.
        fn signed(&self, path: &str, content_type: &str, body: &[u8]) -> RawRequest {
            let timestamp = unix_now().to_string();
            RawRequest {
                url: format!("{}{path}", self.base_url),
                headers: vec![
                    ("Content-Type".into(), content_type.into()),
                    (
                        "X-Slack-Signature".into(),
                        slack_emulator::signature(SECRET, &timestamp, body),
                    ),
                    ("X-Slack-Request-Timestamp".into(), timestamp),
                ],
                body: body.to_vec(),
            }
        }

        async fn send(&self, request: &RawRequest) -> SignedResponse {
            self.client.replay(request).await.expect("bot answers")
        }

        async fn get(&self, path: &str) -> (StatusCode, String) {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Body>();
            let uri = format!("{}{path}", self.base_url).parse().unwrap();
            let response = client.get(uri).await.expect("bot answers");
            let status = response.status();
            let body = axum::body::to_bytes(Body::new(response.into_body()), 64 * 1024)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    }

    fn assert_refused(response: &SignedResponse, status: u16, reason: &str) {
        assert_eq!(response.status, status, "body: {}", response.body);
        assert_eq!(response.json(), Some(json!({ "error": reason })));
    }

    #[tokio::test]
    async fn url_verification_is_answered_with_the_challenge() {
        let bot = Bot::start().await;
        let response = bot
            .client
            .post_event(&slack_emulator::events::url_verification(
                "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            ))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json(),
            Some(json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}))
        );
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_signed_event_reaches_the_app() {
        let bot = Bot::start().await;
        let event = bot.a_dm_event();
        let response = bot.client.post_event(&event).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "");
        assert_eq!(bot.event_ids(), [event["event_id"].as_str().unwrap()]);
    }

    #[tokio::test]
    async fn a_retried_event_is_still_delivered() {
        let bot = Bot::start().await;
        let event = bot.a_dm_event();
        // The original a minute ago, then Slack's retry now: both reach the app, which
        // deduplicates on event_id.
        let original = bot
            .client
            .event(&event)
            .timestamp(unix_now() - 60)
            .send()
            .await
            .unwrap();
        let retry = bot
            .client
            .event(&event)
            .retry(1, "http_timeout")
            .send()
            .await
            .unwrap();
        assert_eq!((original.status, retry.status), (200, 200));
        let id = event["event_id"].as_str().unwrap();
        assert_eq!(bot.event_ids(), [id, id]);
    }

    #[tokio::test]
    async fn unknown_request_types_and_rate_limit_notices_are_acknowledged_not_delivered() {
        let bot = Bot::start().await;
        let unknown = bot
            .client
            .post_event(&json!({"type": "something_new", "token": "x"}))
            .await
            .unwrap();
        let limited = bot
            .client
            .post_event(&json!({
                "token": "x",
                "type": "app_rate_limited",
                "team_id": "T0EMULATOR",
                "minute_rate_limited": 1518467820,
                "api_app_id": "A0EMULATOR",
            }))
            .await
            .unwrap();
        assert_eq!((unknown.status, limited.status), (200, 200));
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_slash_command_gets_the_apps_answer() {
        let bot = Bot::start().await;
        let response = bot.client.post_command(bot.a_command()).await.unwrap();
        assert_eq!(response.status, 200, "body: {}", response.body);
        assert_eq!(
            response.json(),
            Some(serde_json::to_value(command_reply()).unwrap())
        );
        assert_eq!(response.json().unwrap()["text"], "Standup is at 09:30");
        let calls = bot.calls();
        let [Call::Command(command)] = calls.as_slice() else {
            panic!("expected one command, got {calls:?}");
        };
        assert_eq!(command.command.to_string(), "/standup");
        assert_eq!(command.text.as_deref(), Some("status"));
        assert_eq!(command.user_id.to_string(), "U1");
        assert_eq!(command.channel_id.to_string(), "C0STANDUP");
        assert_eq!(command.team_domain.as_deref(), Some("emulated"));
    }

    #[tokio::test]
    async fn a_button_click_reaches_the_app_and_is_acked_empty() {
        let bot = Bot::start().await;
        let click = bot.a_click("skip_today").await;
        let response = bot.client.post_interaction(&click).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "");
        let calls = bot.calls();
        let [Call::Interaction(interaction)] = calls.as_slice() else {
            panic!("expected one interaction, got {calls:?}");
        };
        let SlackInteractionEvent::BlockActions(actions) = interaction.as_ref() else {
            panic!("expected block_actions, got {interaction:?}");
        };
        let action_ids: Vec<String> = actions
            .actions
            .iter()
            .flatten()
            .map(|a| a.action_id.to_string())
            .collect();
        assert_eq!(action_ids, ["skip_today"]);
    }

    #[tokio::test]
    async fn an_interactions_reply_is_sent_back_as_json() {
        let reply = json!({"response_action": "errors", "errors": {"yesterday": "Say something"}});
        let bot = Bot::start_with(Some(reply.clone())).await;
        let click = bot.a_click("edit").await;
        let response = bot.client.post_interaction(&click).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.json(), Some(reply));
        assert_eq!(bot.calls().len(), 1);
    }

    #[tokio::test]
    async fn forged_or_unsigned_requests_are_refused_on_every_route() {
        let bot = Bot::start().await;
        let click = bot.a_click("skip").await;
        let event = bot.a_dm_event();
        let command = bot.a_command();
        for (name, request) in [
            (
                "event, bad signature",
                bot.client.event(&event).bad_signature(),
            ),
            ("event, unsigned", bot.client.event(&event).unsigned()),
            (
                "command, bad signature",
                bot.client.command(command.clone()).bad_signature(),
            ),
            (
                "command, unsigned",
                bot.client.command(command.clone()).unsigned(),
            ),
            (
                "interaction, bad signature",
                bot.client.interaction(&click).bad_signature(),
            ),
            (
                "interaction, unsigned",
                bot.client.interaction(&click).unsigned(),
            ),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(response.status, 401, "{name}: {}", response.body);
        }
        assert!(bot.calls().is_empty(), "{:?}", bot.calls());
    }

    #[tokio::test]
    async fn a_bad_signature_is_refused() {
        let bot = Bot::start().await;
        let response = bot
            .client
            .event(&bot.a_dm_event())
            .bad_signature()
            .send()
            .await
            .unwrap();
        assert_refused(&response, 401, "invalid signature");
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_missing_signature_is_refused() {
        let bot = Bot::start().await;
        let mut request = bot.client.event(&bot.a_dm_event()).build();
        request
            .headers
            .retain(|(name, _)| name != "X-Slack-Signature");
        assert_refused(&bot.send(&request).await, 401, "missing signature");
        // Without any signing headers the timestamp is what is missing first.
        let unsigned = bot
            .client
            .event(&bot.a_dm_event())
            .unsigned()
            .send()
            .await
            .unwrap();
        assert_refused(&unsigned, 401, "stale or missing timestamp");
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_six_minute_old_request_is_refused() {
        let bot = Bot::start().await;
        let response = bot
            .client
            .event(&bot.a_dm_event())
            .timestamp(unix_now() - 360)
            .send()
            .await
            .unwrap();
        assert_refused(&response, 401, "stale or missing timestamp");
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_request_from_the_future_is_refused() {
        let bot = Bot::start().await;
        let response = bot
            .client
            .command(bot.a_command())
            .timestamp(unix_now() + 360)
            .send()
            .await
            .unwrap();
        assert_refused(&response, 401, "stale or missing timestamp");
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_replayed_command_or_click_is_refused() {
        let bot = Bot::start().await;
        let command = bot.client.post_command(bot.a_command()).await.unwrap();
        assert_eq!(command.status, 200);
        let replay = bot.client.replay(&command.request).await.unwrap();
        assert_refused(&replay, 401, "replayed request");

        let click = bot.a_click("skip").await;
        let first = bot.client.post_interaction(&click).await.unwrap();
        assert_eq!(first.status, 200);
        let replay = bot.client.replay(&first.request).await.unwrap();
        assert_refused(&replay, 401, "replayed request");
        assert_eq!(bot.calls().len(), 2);
    }

    /// A shared ledger whose database cannot be reached.
    #[derive(Debug)]
    struct Unreachable;

    impl ReplayLedger for Unreachable {
        fn first_time(
            &self,
            _timestamp: i64,
            _signature: [u8; 32],
            _now: i64,
        ) -> BoxFuture<'static, Result<bool, LedgerError>> {
            Box::pin(std::future::ready(Err(LedgerError::Unavailable(
                "connection refused".into(),
            ))))
        }
    }

    #[tokio::test]
    async fn a_command_or_click_that_cannot_be_checked_for_a_replay_is_refused_not_run() {
        let bot = Bot::start_on(None, Some(Arc::new(Unreachable))).await;
        let command = bot.client.post_command(bot.a_command()).await.unwrap();
        assert_refused(&command, 503, "cannot check for a replay now; try again");
        let click = bot.a_click("skip").await;
        let clicked = bot.client.post_interaction(&click).await.unwrap();
        assert_refused(&clicked, 503, "cannot check for a replay now; try again");
        // Events are not checked here (the app deduplicates them on their id).
        let event = bot.client.post_event(&bot.a_dm_event()).await.unwrap();
        assert_eq!(event.status, 200, "{}", event.body);
        assert_eq!(bot.event_ids().len(), 1);
        assert_eq!(bot.calls().len(), 1, "only the event reached the app");
    }

    #[tokio::test]
    async fn slacks_retry_in_the_same_second_as_the_original_is_delivered() {
        let bot = Bot::start().await;
        let event = bot.a_dm_event();
        // Same body, same second: the same signature; only the unsigned retry headers differ.
        let now = unix_now();
        let original = bot
            .client
            .event(&event)
            .timestamp(now)
            .send()
            .await
            .unwrap();
        let retry = bot
            .client
            .event(&event)
            .timestamp(now)
            .retry(1, "http_timeout")
            .send()
            .await
            .unwrap();
        let signature = |r: &SignedResponse| {
            r.request
                .headers
                .iter()
                .find(|(k, _)| k == "X-Slack-Signature")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(signature(&original), signature(&retry));
        assert_eq!(
            (original.status, retry.status),
            (200, 200),
            "{}",
            retry.body
        );
        // Both reach the app, whose store keeps the event once by its event_id.
        let id = event["event_id"].as_str().unwrap();
        assert_eq!(bot.event_ids(), [id, id]);
        // A byte-for-byte replay of an event is let through for the same reason.
        let replay = bot.client.replay(&original.request).await.unwrap();
        assert_eq!(replay.status, 200);
        assert_eq!(bot.event_ids(), [id, id, id]);
    }

    #[tokio::test]
    async fn a_two_mib_body_is_refused_as_too_large() {
        let bot = Bot::start().await;
        let mut event = bot.a_dm_event();
        event["event"]["text"] = json!("x".repeat(2 * 1024 * 1024));
        let response = bot.client.post_event(&event).await.unwrap();
        assert_refused(&response, 413, "request body too large");
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn a_wrong_content_type_is_refused() {
        let bot = Bot::start().await;
        let event = bot.a_dm_event().to_string();
        let as_form = bot.signed(
            EVENTS_PATH,
            "application/x-www-form-urlencoded",
            event.as_bytes(),
        );
        assert_refused(&bot.send(&as_form).await, 415, "unsupported content type");

        let command = bot.client.command(bot.a_command()).build();
        let as_json = bot.signed(COMMANDS_PATH, "application/json", &command.body);
        assert_refused(&bot.send(&as_json).await, 415, "unsupported content type");

        let click = bot.a_click("skip").await;
        let interaction = bot.client.interaction(&click).build();
        let as_text = bot.signed(INTERACTIONS_PATH, "text/plain", &interaction.body);
        assert_refused(&bot.send(&as_text).await, 415, "unsupported content type");

        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn malformed_bodies_are_refused() {
        let bot = Bot::start().await;
        let cases = [
            (
                EVENTS_PATH,
                "application/json",
                &b"{\"type\": \"event_callback\","[..],
                "malformed JSON",
            ),
            (
                EVENTS_PATH,
                "application/json",
                b"{\"type\": \"event_callback\", \"event_id\": 7}",
                "malformed event",
            ),
            (
                EVENTS_PATH,
                "application/json",
                b"[\"event_callback\"]",
                "malformed event",
            ),
            (
                COMMANDS_PATH,
                "application/x-www-form-urlencoded",
                b"team_id=T1&text=status",
                "malformed or incomplete form",
            ),
            (
                INTERACTIONS_PATH,
                "application/x-www-form-urlencoded",
                b"not_payload=1",
                "malformed or incomplete form",
            ),
            (
                INTERACTIONS_PATH,
                "application/x-www-form-urlencoded",
                b"payload=%7Bnope",
                "malformed interaction payload",
            ),
        ];
        for (path, content_type, body, reason) in cases {
            let response = bot.send(&bot.signed(path, content_type, body)).await;
            assert_eq!(response.status, 400, "{path} {body:?}: {}", response.body);
            assert_eq!(
                response.json(),
                Some(json!({ "error": reason })),
                "{path} {body:?}"
            );
        }
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn metrics_answer_without_a_signature() {
        let bot = Bot::start().await;
        let (status, text) = bot.get(METRICS_PATH).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            text.contains("standup_events_received_total{kind=\"interaction\"} 0"),
            "{text}"
        );
        assert!(bot.calls().is_empty());
    }

    #[tokio::test]
    async fn health_answers_ok_without_a_signature() {
        let bot = Bot::start().await;
        assert_eq!(
            bot.get(HEALTH_PATH).await,
            (StatusCode::OK, "ok".to_string())
        );
    }

    #[tokio::test]
    async fn serve_stops_when_asked() {
        let mut bot = Bot::start().await;
        assert_eq!(
            bot.client
                .post_event(&bot.a_dm_event())
                .await
                .unwrap()
                .status,
            200
        );
        bot.shutdown.take().unwrap().send(()).unwrap();
        let server = bot.server.take().unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server stops within 5 s")
            .expect("server task did not panic");
        assert!(result.is_ok(), "{result:?}");
    }
}
