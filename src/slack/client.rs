//! The outbound Web API: every call the bot makes to Slack, with a timeout, retries with
//! backoff for 429 (honouring `Retry-After`), 5xx and timeouts, and Slack's error code in the
//! error when it still fails.
//!
//! Work that starts a few at a time (the bot's handling of stored events) holds a [`Turn`]
//! until its first call: waiting for pacing, a backoff or Slack's answer needs no CPU, and a
//! member whose messages wait for their channel's one post a second must not hold up everyone
//! else's.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::retry::Backoff;
use crate::config::Secret;
use crate::metrics::{Metrics, Outcome};
use standup_core::domain::{ChannelId, UserId};

pub type Connector = SlackClientHyperHttpsConnector;
type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// A place in a pool of work that starts a few at a time (a semaphore's permit), held by the
/// task doing the work (see [`Turn::hold`]) until its first Web API call.
///
/// It is not taken again after the call: the task may by then hold a lock (a team's notes, a
/// member's thread reply) that the holders of every turn are waiting for.
#[derive(Debug)]
pub struct Turn {
    /// `None` once given back.
    held: Mutex<Option<OwnedSemaphorePermit>>,
}

tokio::task_local! {
    static TURN: Turn;
}

impl Turn {
    /// A turn of `pool`, once one is free.
    pub async fn take(pool: &Arc<Semaphore>) -> Turn {
        Turn {
            held: Mutex::new(pool.clone().acquire_owned().await.ok()),
        }
    }

    /// Runs `work` holding this turn, which goes back to its pool at the first Web API call
    /// `work` makes, or when `work` ends.
    pub async fn hold<T>(self, work: impl Future<Output = T>) -> T {
        TURN.scope(self, work).await
    }

    /// Gives back the current task's turn, if it holds one.
    fn give_back() {
        let _ = TURN.try_with(|turn| turn.held.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// A Web API call of a paged listing: the client, the token and a page's request in, the
/// page out.
type PageCall<Req, Resp> =
    fn(Arc<SlackClient<Connector>>, SlackApiToken, Req) -> BoxFuture<'static, ClientResult<Resp>>;

/// Why a Slack call failed, after retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("Slack {method}: {code}{}", needed.as_deref().map(|n| format!(" (needs {n})")).unwrap_or_default())]
    Api {
        method: &'static str,
        code: String,
        /// For `missing_scope`: the scope Slack says the call needs.
        needed: Option<String>,
    },
    #[error("Slack {method}: still rate limited after {attempts} attempts")]
    RateLimited { method: &'static str, attempts: u32 },
    #[error("Slack {method}: no answer within {secs} s")]
    Timeout { method: &'static str, secs: u64 },
    #[error("Slack {method}: {detail}")]
    Transport {
        method: &'static str,
        detail: String,
    },
    #[error("cannot set up the Slack client: {0}")]
    Setup(String),
}

impl Error {
    /// Whether the call may have taken effect although it failed (a timeout, a 5xx, an
    /// unreadable answer): a post may be in Slack.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Transport { .. })
    }

    /// Slack's error code, for errors Slack answered with (`channel_not_found`, ...).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub team: String,
}

/// What Slack says about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub tz: Option<String>,
    pub deleted: bool,
    pub is_bot: bool,
    /// Display name, falling back to the real name, then the user name.
    pub name: Option<String>,
    /// What people write after `@` for them: the display name and the user name, if set.
    pub handles: Vec<String>,
    /// A workspace admin or owner.
    pub is_admin: bool,
    /// `profile.status_emoji` (`:palm_tree:`), if set.
    pub status_emoji: Option<String>,
    /// When the status clears (`profile.status_expiration`); `None` when it does not.
    pub status_expires: Option<chrono::DateTime<chrono::Utc>>,
}

/// What `conversations.info` says of a team channel.
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    pub name: Option<String>,
    pub is_member: bool,
    pub is_archived: bool,
}

/// The metadata `event_type` of messages the bot sends once; the payload's `key` names the send.
pub const METADATA_TYPE: &str = "standup_bot_send";

/// History pages read when looking for a message (200 messages each).
const MAX_PAGES: usize = 5;

/// A message to post.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// A channel id, or a user id for the DM with the bot.
    pub channel: &'a ChannelId,
    pub text: &'a str,
    pub blocks: Option<serde_json::Value>,
    pub thread_ts: Option<&'a str>,
    /// The send's key, carried in the message metadata.
    pub key: Option<&'a str>,
}

/// Where a message landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: ChannelId,
    pub ts: String,
}

/// A file Slack has named but not yet shared.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_id: String,
    url: SlackFileUploadUrl,
}

/// Timing of calls and retries.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub timeout: Duration,
    pub attempts: u32,
    /// Waits between attempts, unless Slack names one (`Retry-After`).
    pub backoff: Backoff,
    /// Pace calls by Slack's published limits before sending them ([`super::pacing`]; on for
    /// the bot). Off only for tests that drive the app against an emulator faster than Slack
    /// would allow.
    pub paced: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(10),
            attempts: 5,
            backoff: Backoff {
                first: Duration::from_millis(250),
                max: Duration::from_secs(30),
                jitter: false,
            },
            paced: true,
        }
    }
}

/// The bot's Web API client.
#[derive(Clone)]
pub struct Api {
    client: Arc<SlackClient<Connector>>,
    /// The Web API base, without a trailing slash (for the one raw request, [`Api::granted_scopes`]).
    api_url: String,
    token: SlackApiToken,
    policy: Policy,
    /// This process's pacing (and whether the shared pacing answers); one for every clone.
    pacing: Arc<super::pacing::Pacing>,
    /// The pacing shared with the bot's other replicas (PostgreSQL), when it runs beside them.
    shared: Option<Arc<dyn super::pacing::SharedPacing>>,
    /// Where each request's outcome is counted.
    metrics: Metrics,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("policy", &self.policy)
            .field("shared_pacing", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// A connector for `api_url`, which may be plain `http://` (a local emulator) or `https://`.
pub fn connector(api_url: &str) -> Result<Connector, Error> {
    // Pacing is ours (see `pacing`): slack-morphism's rate control counts chat.postMessage per
    // workspace, where Slack counts it per channel, and its waits would eat the call timeout.
    Ok(SlackClientHyperConnector::with_connector(https()?)
        .with_slack_api_url(api_url.trim_end_matches('/')))
}

/// TLS over TCP (or plain TCP for an `http://` emulator), for slack-morphism and for our own
/// raw request alike.
fn https() -> Result<Https, Error> {
    // Requests go out as headers and body in separate writes: without TCP_NODELAY the body can
    // wait for the peer's delayed ACK (tens of milliseconds per call).
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| Error::Setup(format!("cannot load the system's CA certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http))
}

impl Api {
    pub fn new(api_url: &str, bot_token: &Secret, policy: Policy) -> Result<Api, Error> {
        let client = Arc::new(SlackClient::new(connector(api_url)?));
        let token = SlackApiToken::new(SlackApiTokenValue::new(bot_token.expose().to_string()));
        Ok(Api {
            client,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            policy,
            pacing: Arc::default(),
            shared: None,
            metrics: Metrics::default(),
        })
    }

    /// The same client pacing its calls with `shared`, the pacing of every replica of the bot
    /// (see [`super::pacing`]): their calls together keep Slack's limits, and a 429 one of them
    /// meets holds back the others. This process's own pacing stands in whenever `shared` fails.
    pub fn with_shared_pacing(self, shared: Arc<dyn super::pacing::SharedPacing>) -> Api {
        Api {
            shared: Some(shared),
            ..self
        }
    }

    /// The same client counting its calls into `metrics` (the running bot's, served at
    /// `/metrics`); a client made with [`Api::new`] alone counts into a registry nobody reads.
    pub fn with_metrics(self, metrics: Metrics) -> Api {
        Api { metrics, ..self }
    }

    /// The metrics this client counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The underlying slack-morphism client (for the Socket Mode listener).
    pub fn client(&self) -> Arc<SlackClient<Connector>> {
        self.client.clone()
    }

    /// The same client with another token (the app-level token for Socket Mode).
    pub fn with_token(&self, token: &Secret) -> Api {
        Api {
            token: SlackApiToken::new(SlackApiTokenValue::new(token.expose().to_string())),
            ..self.clone()
        }
    }

    /// A fresh Socket Mode websocket URL (`apps.connections.open`, with the app token).
    pub async fn open_connection(&self) -> Result<String, Error> {
        let r = self
            .call("apps.connections.open", |c, t| {
                Box::pin(async move {
                    c.open_session(&t)
                        .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
                        .await
                })
            })
            .await?;
        Ok(r.url.0.to_string())
    }

    /// Tags the token with the workspace, so slack-morphism's per-team tier limits apply.
    pub fn with_team(mut self, team: &str) -> Api {
        self.token = self.token.with_team_id(SlackTeamId::new(team.to_string()));
        self
    }

    /// Makes a call with the timeout and retry policy.
    ///
    /// `f` gets an owned client and token and returns a `'static` future: futures that borrow a
    /// session across an await trip the compiler's `Send` inference in spawned tasks.
    async fn call<T>(
        &self,
        method: &'static str,
        f: impl Fn(Arc<SlackClient<Connector>>, SlackApiToken) -> BoxFuture<'static, ClientResult<T>>,
    ) -> Result<T, Error> {
        self.call_in(None, true, method, f).await
    }

    /// [`Api::call`] for a call that posts into `channel` (paced per channel).
    ///
    /// With `retry_ambiguous` false, a failure that may have taken effect (see
    /// [`Error::is_ambiguous`]) is returned at once instead of retried: the caller checks Slack
    /// before trying again.
    async fn call_in<T>(
        &self,
        channel: Option<&str>,
        retry_ambiguous: bool,
        method: &'static str,
        f: impl Fn(Arc<SlackClient<Connector>>, SlackApiToken) -> BoxFuture<'static, ClientResult<T>>,
    ) -> Result<T, Error> {
        Turn::give_back();
        let mut waits = self.policy.backoff.waits();
        let mut last = Error::Timeout {
            method,
            secs: self.policy.timeout.as_secs(),
        };
        for attempt in 1..=self.policy.attempts {
            if self.policy.paced {
                self.pacing
                    .wait(method, channel, self.shared.as_deref())
                    .await;
            }
            let outcome = tokio::time::timeout(
                self.policy.timeout,
                f(self.client.clone(), self.token.clone()),
            )
            .await;
            self.metrics.slack_call(method, outcome_of(&outcome));
            // The wait Slack asks for, if it names one.
            let retry_after = match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(SlackClientError::RateLimitError(e))) => {
                    self.metrics.rate_limited(method);
                    last = Error::RateLimited {
                        method,
                        attempts: attempt,
                    };
                    e.retry_after
                }
                Ok(Err(SlackClientError::ApiError(e))) if e.code == "ratelimited" => {
                    last = Error::RateLimited {
                        method,
                        attempts: attempt,
                    };
                    None
                }
                Ok(Err(SlackClientError::ApiError(e))) => {
                    // Business errors (channel_not_found, invalid_auth, ...) do not get better.
                    let needed = e
                        .http_response_body
                        .as_deref()
                        .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
                        .and_then(|v| v["needed"].as_str().map(short));
                    return Err(Error::Api {
                        method,
                        code: e.code,
                        needed,
                    });
                }
                Ok(Err(SlackClientError::HttpError(e))) if e.status_code.is_server_error() => {
                    last = Error::Transport {
                        method,
                        detail: format!("HTTP {}", e.status_code),
                    };
                    None
                }
                Ok(Err(SlackClientError::HttpError(e))) => {
                    return Err(Error::Transport {
                        method,
                        detail: format!("HTTP {}", e.status_code),
                    });
                }
                Ok(Err(other)) => {
                    last = Error::Transport {
                        method,
                        detail: short(&other.to_string()),
                    };
                    None
                }
                Err(_) => {
                    last = Error::Timeout {
                        method,
                        secs: self.policy.timeout.as_secs(),
                    };
                    None
                }
            };
            if !retry_ambiguous && last.is_ambiguous() {
                return Err(last);
            }
            let retrying = attempt < self.policy.attempts;
            // Slack's `Retry-After` is the wait when given; the backoff advances either way.
            let wait = if retrying {
                Some(retry_after.unwrap_or(waits.next_wait()))
            } else {
                retry_after
            };
            if self.policy.paced
                && matches!(last, Error::RateLimited { .. })
                && let Some(wait) = wait
            {
                // Every call this 429 concerns waits it out, this replica's and the others'.
                self.pacing
                    .blocked(method, channel, wait, self.shared.as_deref())
                    .await;
            }
            if retrying && let Some(wait) = wait {
                tracing::warn!(method, attempt, wait_ms = wait.as_millis() as u64, error = %last, "retrying Slack call");
                tokio::time::sleep(wait).await;
            }
        }
        Err(last)
    }

    pub async fn auth_test(&self) -> Result<Identity, Error> {
        let r = self
            .call("auth.test", |c, t| {
                Box::pin(async move { c.open_session(&t).auth_test().await })
            })
            .await?;
        Ok(Identity {
            user: UserId(r.user_id.to_string()),
            team: r.team_id.to_string(),
        })
    }

    /// The scopes Slack granted this token, from the `x-oauth-scopes` header of an `auth.test`
    /// answer (Slack lists a token's scopes there on Web API answers, comma-separated; its SDKs
    /// read them into `response_metadata.scopes`); `None` when the answer has no such header.
    ///
    /// slack-morphism does not show response headers, so this is one raw request, with the same
    /// connector, the token in the `Authorization` header and the call timeout; not retried (a
    /// check that fails is reported and can be run again).
    pub async fn granted_scopes(&self) -> Result<Option<Vec<String>>, Error> {
        let method = "auth.test";
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, String>(https()?);
        let request = axum::http::Request::post(format!("{}/{method}", self.api_url))
            .header(
                axum::http::header::AUTHORIZATION,
                format!("Bearer {}", self.token.token_value.0),
            )
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(String::new())
            .map_err(|e| Error::Setup(format!("cannot build the {method} request: {e}")))?;
        let timeout = self.policy.timeout;
        let transport = |detail: String| Error::Transport {
            method,
            detail: short(&detail),
        };
        let answer = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let status = response.status();
            let scopes = response
                .headers()
                .get("x-oauth-scopes")
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                });
            let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1 << 20)
                .await
                .map_err(|e| transport(e.to_string()))?;
            Ok::<_, Error>((status, scopes, body))
        };
        let (status, scopes, body) = match tokio::time::timeout(timeout, answer).await {
            Ok(answer) => answer,
            Err(_) => {
                self.metrics.slack_call(method, Outcome::Timeout);
                return Err(Error::Timeout {
                    method,
                    secs: timeout.as_secs(),
                });
            }
        }
        .inspect_err(|_| self.metrics.slack_call(method, Outcome::Transport))?;
        if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
            self.metrics.slack_call(method, Outcome::RateLimited);
            self.metrics.rate_limited(method);
            return Err(Error::RateLimited {
                method,
                attempts: 1,
            });
        }
        if !status.is_success() {
            self.metrics.slack_call(method, Outcome::Transport);
            return Err(transport(format!("HTTP {status}")));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if json["ok"].as_bool() != Some(true) {
            let code = json["error"]
                .as_str()
                .unwrap_or("unreadable_answer")
                .to_string();
            self.metrics.slack_call(method, Outcome::Slack(&code));
            return Err(Error::Api {
                method,
                code,
                needed: None,
            });
        }
        self.metrics.slack_call(method, Outcome::Ok);
        Ok(scopes)
    }

    /// Opens (or finds) the DM channel with a user.
    pub async fn open_dm(&self, user: &UserId) -> Result<ChannelId, Error> {
        let req = SlackApiConversationsOpenRequest::new()
            .with_users(vec![SlackUserId::new(user.0.clone())]);
        let r = self
            .call("conversations.open", move |c, t| {
                let r = req.clone();
                Box::pin(async move { c.open_session(&t).conversations_open(&r).await })
            })
            .await?;
        Ok(ChannelId(r.channel.id.to_string()))
    }

    /// Posts a message; returns its `ts`.
    pub async fn post(
        &self,
        channel: &ChannelId,
        text: &str,
        blocks: Option<serde_json::Value>,
        thread_ts: Option<&str>,
    ) -> Result<String, Error> {
        Ok(self
            .send(&Outgoing {
                channel,
                text,
                blocks,
                thread_ts,
                key: None,
            })
            .await?
            .ts)
    }

    /// Posts a message; `channel` may be a user id (Slack posts to the DM with the bot), and the
    /// answer says which channel it went to. A `key` travels in the message's metadata, so
    /// [`Api::find_keyed`] can find it later.
    pub async fn send(&self, out: &Outgoing<'_>) -> Result<Posted, Error> {
        let mut content = SlackMessageContent::new().with_text(out.text.to_string());
        if let Some(blocks) = &out.blocks {
            content = content.with_blocks(parse_blocks(blocks.clone())?);
        }
        if let Some(key) = out.key {
            content = content.with_metadata(SlackMessageMetadata {
                event_type: METADATA_TYPE.to_string(),
                event_payload: Some([("key".to_string(), key.to_string())].into()),
            });
        }
        let mut req = SlackApiChatPostMessageRequest::new(
            SlackChannelId::new(out.channel.0.clone()),
            content,
        );
        if let Some(ts) = out.thread_ts {
            req = req.with_thread_ts(SlackTs::new(ts.to_string()));
        }
        let r = self
            .call_in(
                Some(out.channel.as_str()),
                out.key.is_none(),
                "chat.postMessage",
                move |c, t| {
                    let r = req.clone();
                    Box::pin(async move { c.open_session(&t).chat_post_message(&r).await })
                },
            )
            .await?;
        Ok(Posted {
            channel: ChannelId(r.channel.to_string()),
            ts: r.ts.to_string(),
        })
    }

    /// The ts of a message the bot posted with `key` in `channel` (in the thread of
    /// `thread_ts`, if given) since `oldest`, if Slack has it; a few pages at most.
    ///
    /// A thread reply is looked up where it lives: `conversations.history` lists only the
    /// channel's top-level messages (and thread broadcasts), so replies are read with
    /// `conversations.replies` of their parent, which takes `include_all_metadata` too
    /// (<https://api.slack.com/methods/conversations.replies#arg_include_all_metadata>).
    pub async fn find_keyed(
        &self,
        channel: &ChannelId,
        thread_ts: Option<&str>,
        oldest: chrono::DateTime<chrono::Utc>,
        key: &str,
    ) -> Result<Option<String>, Error> {
        let has_key = |m: &SlackHistoryMessage| {
            m.content.metadata.as_ref().is_some_and(|meta| {
                meta.event_type == METADATA_TYPE
                    && meta
                        .event_payload
                        .as_ref()
                        .and_then(|p| p.get("key"))
                        .is_some_and(|k| k == key)
            })
        };
        let oldest = format!("{}.000000", oldest.timestamp());
        if let Some(parent) = thread_ts {
            return self
                .find_in_pages(has_key, |cursor| {
                    // slack-morphism's `conversations_replies` has no `include_all_metadata`,
                    // so the same GET is made with it.
                    let mut params = vec![
                        ("channel", Some(channel.0.clone())),
                        ("ts", Some(parent.to_string())),
                        ("oldest", Some(oldest.clone())),
                        ("include_all_metadata", Some("true".to_string())),
                        ("limit", Some("200".to_string())),
                    ];
                    if let Some(c) = cursor {
                        params.push(("cursor", Some(c.0)));
                    }
                    self.call("conversations.replies", move |c, t| {
                        let params = params.clone();
                        Box::pin(async move {
                            let page: SlackApiConversationsRepliesResponse = c
                                .open_session(&t)
                                .http_session_api
                                .http_get("conversations.replies", &params, None)
                                .await?;
                            Ok((page.messages, page.response_metadata))
                        })
                    })
                })
                .await;
        }
        let base = SlackApiConversationsHistoryRequest::new()
            .with_channel(SlackChannelId::new(channel.0.clone()))
            .with_oldest(SlackTs::new(oldest))
            .with_include_all_metadata(true)
            .with_limit(200);
        self.find_in_pages(has_key, |cursor| {
            let req = cursor.map_or_else(|| base.clone(), |c| base.clone().with_cursor(c));
            self.call("conversations.history", move |c, t| {
                let r = req.clone();
                Box::pin(async move {
                    let page = c.open_session(&t).conversations_history(&r).await?;
                    Ok((page.messages, page.response_metadata))
                })
            })
        })
        .await
    }

    /// The ts of the message in a thread that shares `file_id`, if Slack has one.
    pub async fn find_file_share(
        &self,
        channel: &ChannelId,
        thread_ts: &str,
        file_id: &str,
    ) -> Result<Option<String>, Error> {
        let base = SlackApiConversationsRepliesRequest::new(
            SlackChannelId::new(channel.0.clone()),
            SlackTs::new(thread_ts.to_string()),
        )
        .with_limit(200);
        let shares_file = |m: &SlackHistoryMessage| {
            m.content
                .files
                .as_ref()
                .is_some_and(|files| files.iter().any(|f| f.id.0 == file_id))
        };
        self.find_in_pages(shares_file, |cursor| {
            let req = cursor.map_or_else(|| base.clone(), |c| base.clone().with_cursor(c));
            self.call("conversations.replies", move |c, t| {
                let r = req.clone();
                Box::pin(async move {
                    let page = c.open_session(&t).conversations_replies(&r).await?;
                    Ok((page.messages, page.response_metadata))
                })
            })
        })
        .await
    }

    /// Reads pages (up to [`MAX_PAGES`]) until a message matches; returns its ts.
    async fn find_in_pages<F, Fut>(
        &self,
        matches: impl Fn(&SlackHistoryMessage) -> bool,
        page: F,
    ) -> Result<Option<String>, Error>
    where
        F: Fn(Option<SlackCursorId>) -> Fut,
        Fut: std::future::Future<
                Output = Result<(Vec<SlackHistoryMessage>, Option<SlackResponseMetadata>), Error>,
            >,
    {
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let (messages, meta) = page(cursor.take()).await?;
            if let Some(m) = messages.iter().find(|m| matches(m)) {
                return Ok(Some(m.origin.ts.to_string()));
            }
            cursor = meta.and_then(|m| m.next_cursor).filter(|c| !c.0.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// Posts a message only `user` sees, in a channel.
    pub async fn post_ephemeral(
        &self,
        channel: &ChannelId,
        user: &UserId,
        text: &str,
    ) -> Result<(), Error> {
        let req = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new(channel.0.clone()),
            SlackUserId::new(user.0.clone()),
            SlackMessageContent::new().with_text(text.to_string()),
        );
        self.call("chat.postEphemeral", move |c, t| {
            let r = req.clone();
            Box::pin(async move { c.open_session(&t).chat_post_ephemeral(&r).await })
        })
        .await?;
        Ok(())
    }

    /// Replaces a message's text and blocks.
    pub async fn update(
        &self,
        channel: &ChannelId,
        ts: &str,
        text: &str,
        blocks: Option<serde_json::Value>,
    ) -> Result<(), Error> {
        let mut content = SlackMessageContent::new().with_text(text.to_string());
        if let Some(blocks) = blocks {
            content = content.with_blocks(parse_blocks(blocks)?);
        }
        let req = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(channel.0.clone()),
            content,
            SlackTs::new(ts.to_string()),
        );
        self.call("chat.update", move |c, t| {
            let r = req.clone();
            Box::pin(async move { c.open_session(&t).chat_update(&r).await })
        })
        .await?;
        Ok(())
    }

    pub async fn user_info(&self, user: &UserId) -> Result<UserInfo, Error> {
        let req = SlackApiUsersInfoRequest::new(SlackUserId::new(user.0.clone()));
        let r = self
            .call("users.info", move |c, t| {
                let r = req.clone();
                Box::pin(async move { c.open_session(&t).users_info(&r).await })
            })
            .await?;
        Ok(info_of(&r.user))
    }

    /// A channel's name, whether the bot is in it and whether it is archived
    /// (`conversations.info`, `channels:read` / `groups:read`).
    pub async fn channel_info(&self, channel: &ChannelId) -> Result<ChannelInfo, Error> {
        let req = SlackApiConversationsInfoRequest::new(SlackChannelId::new(channel.0.clone()));
        let r = self
            .call("conversations.info", move |c, t| {
                let r = req.clone();
                Box::pin(async move { c.open_session(&t).conversations_info(&r).await })
            })
            .await?;
        Ok(ChannelInfo {
            name: r.channel.name.clone(),
            is_member: r.channel.flags.is_member.unwrap_or(false),
            is_archived: r.channel.flags.is_archived.unwrap_or(false),
        })
    }

    /// Every user of the workspace, a page of 1,000 per call (`users.list`, tier 2): one call
    /// instead of a `users.info` per member when a big team is prompted.
    pub async fn users(&self) -> Result<Vec<(UserId, UserInfo)>, Error> {
        self.all_pages(
            "users.list",
            |cursor| {
                let req = SlackApiUsersListRequest::new().with_limit(1000);
                match cursor {
                    Some(c) => req.with_cursor(c),
                    None => req,
                }
            },
            |c, t, r| Box::pin(async move { c.open_session(&t).users_list(&r).await }),
            |page| {
                let users = page
                    .members
                    .iter()
                    .map(|u| (UserId(u.id.to_string()), info_of(u)))
                    .collect();
                (
                    users,
                    page.response_metadata
                        .as_ref()
                        .and_then(|m| m.next_cursor.clone()),
                )
            },
        )
        .await
    }

    /// The person with this email (`users.lookupByEmail`, `users:read.email`); `None` when
    /// Slack has nobody by it (`users_not_found`).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(UserId, UserInfo)>, Error> {
        let req = SlackApiUsersLookupByEmailRequest::new(EmailAddress(email.to_string()));
        let found = self
            .call("users.lookupByEmail", move |c, t| {
                let r = req.clone();
                Box::pin(async move { c.open_session(&t).users_lookup_by_email(&r).await })
            })
            .await;
        match found {
            Ok(r) => Ok(Some((UserId(r.user.id.to_string()), info_of(&r.user)))),
            Err(e) if e.code() == Some("users_not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every channel the bot can see by name, `#name` → id: public ones, and private ones it is
    /// in (`conversations.list`, `channels:read` and `groups:read`), archived ones left out.
    pub async fn channels(&self) -> Result<Vec<(String, ChannelId)>, Error> {
        self.all_pages(
            "conversations.list",
            |cursor| {
                let req = SlackApiConversationsListRequest::new()
                    .with_limit(1000)
                    .with_exclude_archived(true)
                    .with_types(vec![
                        SlackConversationType::Public,
                        SlackConversationType::Private,
                    ]);
                match cursor {
                    Some(c) => req.with_cursor(c),
                    None => req,
                }
            },
            |c, t, r| Box::pin(async move { c.open_session(&t).conversations_list(&r).await }),
            |page| {
                let channels = page
                    .channels
                    .iter()
                    .filter_map(|c| Some((c.name.clone()?, ChannelId(c.id.to_string()))))
                    .collect();
                (
                    channels,
                    page.response_metadata
                        .as_ref()
                        .and_then(|m| m.next_cursor.clone()),
                )
            },
        )
        .await
    }

    /// Who is in a channel, the bot and bots included (`conversations.members`).
    pub async fn channel_members(&self, channel: &ChannelId) -> Result<Vec<UserId>, Error> {
        let channel = SlackChannelId::new(channel.0.clone());
        self.all_pages(
            "conversations.members",
            move |cursor| {
                let req = SlackApiConversationsMembersRequest::new()
                    .with_channel(channel.clone())
                    .with_limit(1000);
                match cursor {
                    Some(c) => req.with_cursor(c),
                    None => req,
                }
            },
            |c, t, r| Box::pin(async move { c.open_session(&t).conversations_members(&r).await }),
            |page| {
                let members = page.members.iter().map(|u| UserId(u.to_string())).collect();
                (
                    members,
                    page.response_metadata
                        .as_ref()
                        .and_then(|m| m.next_cursor.clone()),
                )
            },
        )
        .await
    }

    /// Every item of a listing Slack pages with a cursor: `request` makes the request for a
    /// page (the first without a cursor), `page` reads its items and the next cursor (none, or
    /// an empty one, at the end).
    async fn all_pages<Req, Resp, T>(
        &self,
        method: &'static str,
        request: impl Fn(Option<SlackCursorId>) -> Req,
        send: PageCall<Req, Resp>,
        page: impl Fn(&Resp) -> (Vec<T>, Option<SlackCursorId>),
    ) -> Result<Vec<T>, Error>
    where
        Req: Clone + Send + Sync + 'static,
        Resp: Send + 'static,
    {
        let mut out = Vec::new();
        let mut cursor: Option<SlackCursorId> = None;
        loop {
            let req = request(cursor.take());
            let answer = self
                .call(method, move |c, t| send(c, t, req.clone()))
                .await?;
            let (items, next) = page(&answer);
            out.extend(items);
            cursor = next.filter(|c| !c.0.is_empty());
            if cursor.is_none() {
                return Ok(out);
            }
        }
    }

    /// Opens a modal for a `trigger_id`.
    pub async fn open_view(&self, trigger_id: &str, view: serde_json::Value) -> Result<(), Error> {
        let view: SlackView = serde_json::from_value(view)
            .map_err(|e| Error::Setup(format!("the bot built an invalid view: {e}")))?;
        let req = SlackApiViewsOpenRequest::new(SlackTriggerId::new(trigger_id.to_string()), view);
        self.call("views.open", move |c, t| {
            let r = req.clone();
            Box::pin(async move { c.open_session(&t).views_open(&r).await })
        })
        .await?;
        Ok(())
    }

    /// Publishes a user's Home tab (`views.publish`, tier 4; paced like every call).
    pub async fn publish_view(&self, user: &UserId, view: serde_json::Value) -> Result<(), Error> {
        let view: SlackView = serde_json::from_value(view)
            .map_err(|e| Error::Setup(format!("the bot built an invalid view: {e}")))?;
        let req = SlackApiViewsPublishRequest::new(SlackUserId::new(user.0.clone()), view);
        self.call("views.publish", move |c, t| {
            let r = req.clone();
            Box::pin(async move { c.open_session(&t).views_publish(&r).await })
        })
        .await?;
        Ok(())
    }

    /// Step one of an upload: Slack names the file and where to send its bytes.
    pub async fn start_upload(&self, filename: &str, length: usize) -> Result<Upload, Error> {
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_string(), length);
        let target = self
            .call("files.getUploadURLExternal", move |c, t| {
                let r = req.clone();
                Box::pin(async move { c.open_session(&t).get_upload_url_external(&r).await })
            })
            .await?;
        Ok(Upload {
            file_id: target.file_id.to_string(),
            url: target.upload_url,
        })
    }

    /// Step two: sends the bytes and shares the file into a channel (and thread).
    pub async fn finish_upload(
        &self,
        upload: &Upload,
        bytes: &[u8],
        channel: &ChannelId,
        thread_ts: Option<&str>,
        title: &str,
    ) -> Result<(), Error> {
        let send = SlackApiFilesUploadViaUrlRequest::new(
            upload.url.clone(),
            bytes.to_vec(),
            "text/markdown".to_string(),
        );
        self.call("files.upload", move |c, t| {
            let r = send.clone();
            Box::pin(async move { c.open_session(&t).files_upload_via_url(&r).await })
        })
        .await?;
        let mut complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(SlackFileId::new(upload.file_id.clone()))
                .with_title(title.to_string()),
        ])
        .with_channel_id(SlackChannelId::new(channel.0.clone()));
        if let Some(ts) = thread_ts {
            complete = complete.with_thread_ts(SlackTs::new(ts.to_string()));
        }
        self.call("files.completeUploadExternal", move |c, t| {
            let r = complete.clone();
            Box::pin(async move { c.open_session(&t).files_complete_upload_external(&r).await })
        })
        .await?;
        Ok(())
    }
}

impl Api {
    /// Answers a slash command later through its `response_url` (ephemeral).
    pub async fn respond(&self, response_url: &str, text: &str) -> Result<(), Error> {
        let url: url::Url = response_url
            .parse()
            .map_err(|e| Error::Setup(format!("Slack sent an unusable response_url: {e}")))?;
        let req = SlackApiPostWebhookMessageRequest::new(
            SlackMessageContent::new().with_text(text.to_string()),
        );
        let method = "response_url";
        match tokio::time::timeout(
            self.policy.timeout,
            self.client
                .respond_to_event(&SlackResponseUrl::new(url), &req),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Transport {
                method,
                detail: short(&e.to_string()),
            }),
            Err(_) => Err(Error::Timeout {
                method,
                secs: self.policy.timeout.as_secs(),
            }),
        }
    }
}

/// How one request ended, as [`Metrics::slack_call`] counts it; the same cases as the retry
/// loop in [`Api::call_in`].
fn outcome_of<T>(outcome: &Result<ClientResult<T>, tokio::time::error::Elapsed>) -> Outcome<'_> {
    match outcome {
        Ok(Ok(_)) => Outcome::Ok,
        Ok(Err(SlackClientError::RateLimitError(_))) => Outcome::RateLimited,
        Ok(Err(SlackClientError::ApiError(e))) if e.code == "ratelimited" => Outcome::RateLimited,
        Ok(Err(SlackClientError::ApiError(e))) => Outcome::Slack(&e.code),
        Ok(Err(_)) => Outcome::Transport,
        Err(_) => Outcome::Timeout,
    }
}

/// What the bot needs to know of a Slack user.
fn info_of(u: &SlackUser) -> UserInfo {
    let profile = u.profile.as_ref();
    let name = profile
        .and_then(|p| p.display_name.clone())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            profile
                .and_then(|p| p.real_name.clone())
                .filter(|n| !n.is_empty())
        })
        .or_else(|| u.name.clone());
    let handles = [profile.and_then(|p| p.display_name.clone()), u.name.clone()]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        .collect();
    UserInfo {
        tz: u.tz.clone(),
        deleted: u.deleted.unwrap_or(false),
        is_bot: u.flags.is_bot.unwrap_or(false),
        name,
        handles,
        is_admin: u.flags.is_admin.unwrap_or(false) || u.flags.is_owner.unwrap_or(false),
        status_emoji: profile
            .and_then(|p| p.status_emoji.as_ref())
            .map(|e| e.0.clone())
            .filter(|e| !e.is_empty()),
        // Slack writes 0 for a status that does not expire.
        status_expires: profile
            .and_then(|p| p.status_expiration.as_ref())
            .map(|t| t.0.as_second())
            .filter(|s| *s > 0)
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
    }
}

fn parse_blocks(blocks: serde_json::Value) -> Result<Vec<SlackBlock>, Error> {
    serde_json::from_value(blocks)
        .map_err(|e| Error::Setup(format!("the bot built invalid blocks: {e}")))
}

/// Error text from the transport, cut short: it never contains the token, but may be long.
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}
