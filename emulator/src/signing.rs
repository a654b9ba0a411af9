//! Slack's request signing, and a client that posts to the bot's HTTP endpoints as Slack does.
//!
//! [`SignedClient::deliver_event`] delivers an Events API request the way Slack does
//! (docs.slack.dev/apis/events-api, "Retries"): an answer other than 200 within 3 s is a failed
//! attempt, and the event is sent again "up to 3 times": nearly at once, after 1 minute, after
//! 5 minutes, each retry with `X-Slack-Retry-Num` (1, 2, 3) and `X-Slack-Retry-Reason`
//! (`http_timeout`, `http_error`, `connection_failed`, ...). A timed-out attempt is not waited
//! for: Slack sends the retry while the first request may still be running. A failed answer
//! carrying `X-Slack-No-Retry: 1` stops the retries. The delays can be scaled down for tests
//! ([`SignedClient::with_retry_delays`]); the 3 s and the number of retries stay Slack's unless
//! changed. Slash commands and interactions are never retried (Slack shows the user an error).

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sha2::Sha256;
use std::fmt;
use std::time::Duration;

/// `v0=` + hex(HMAC-SHA256(secret, `"v0:{timestamp}:{body}"`)), the `X-Slack-Signature` value.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("v0={}", hex::encode(digest))
}

/// A request exactly as sent, for byte-for-byte replays.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRequest {
    /// Full URL.
    pub url: String,
    /// Headers in the order sent.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The bot's answer.
#[derive(Debug, Clone)]
pub struct SignedResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
    /// The request that got this answer (replay it with [`SignedClient::replay`]).
    pub request: RawRequest,
}

impl SignedResponse {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The request could not be sent or its answer not read.
#[derive(Debug)]
pub struct ClientError(String);

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signed request failed: {}", self.0)
    }
}

impl std::error::Error for ClientError {}

enum Signing {
    Valid,
    Bad,
    Missing,
}

/// Posts Events API, slash command and interactivity requests signed like Slack's.
///
/// Paths default to slack-morphism's examples (`/push`, `/command`, `/interaction`); change them
/// with [`SignedClient::with_paths`].
#[derive(Clone)]
pub struct SignedClient {
    base_url: String,
    secret: String,
    paths: [String; 3],
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    retry_delays: Vec<Duration>,
}

/// One attempt of [`SignedClient::deliver_event`].
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 0 for the original, then the `X-Slack-Retry-Num` it carried.
    pub retry_num: u32,
    /// The `X-Slack-Retry-Reason` it carried (`None` for the original).
    pub retry_reason: Option<String>,
    /// The bot's answer, if it came within the timeout.
    pub response: Option<SignedResponse>,
    /// Why the attempt failed, in Slack's words (`http_timeout`, `http_error`,
    /// `connection_failed`); `None` when the bot answered 200 in time.
    pub failure: Option<String>,
}

/// What became of one event delivered with Slack's retries.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The original request and each retry, in order.
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    /// The last attempt got its 200 in time.
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(|a| a.failure.is_none())
    }
}

impl fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedClient")
            .field("base_url", &self.base_url)
            .field("secret", &format_args!("<{} chars>", self.secret.len()))
            .field("paths", &self.paths)
            .finish()
    }
}

impl SignedClient {
    /// A client for the bot at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, signing_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            secret: signing_secret.to_string(),
            paths: ["/push".into(), "/command".into(), "/interaction".into()],
            http: Client::builder(TokioExecutor::new()).build_http(),
            timeout: Duration::from_secs(3),
            retry_delays: crate::config::SLACK_RETRY_DELAYS.to_vec(),
        }
    }

    /// Sets the delay before each retry of [`SignedClient::deliver_event`] (Slack's: 0 s,
    /// 1 minute, 5 minutes); its length is the number of retries.
    pub fn with_retry_delays(mut self, delays: &[Duration]) -> Self {
        self.retry_delays = delays.to_vec();
        self
    }

    /// Sets how long an answer may take before the attempt counts as failed (Slack: 3 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Delivers an Events API body as Slack does: retried with `X-Slack-Retry-Num` /
    /// `X-Slack-Retry-Reason` until it is answered 200 within the timeout, on Slack's schedule
    /// (see the module docs). Returns every attempt.
    pub async fn deliver_event(&self, body: &Value) -> Delivery {
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut reason: Option<String> = None;
        for retry_num in 0..=self.retry_delays.len() {
            if retry_num > 0 {
                tokio::time::sleep(self.retry_delays[retry_num - 1]).await;
            }
            let mut request = self.event(body);
            if let Some(reason) = &reason {
                request = request.retry(retry_num as u32, reason);
            }
            let raw = request.build();
            let client = self.clone();
            // Run on its own, so a late answer is still read (and the bot's handler not cut
            // off) while the retry goes out, as with Slack.
            let mut sent = tokio::spawn(async move { client.replay(&raw).await });
            let (response, failure) = match tokio::time::timeout(self.timeout, &mut sent).await {
                Ok(Ok(Ok(response))) if response.status == 200 => (Some(response), None),
                Ok(Ok(Ok(response))) => (Some(response), Some("http_error")),
                Ok(Ok(Err(_))) => (None, Some("connection_failed")),
                Ok(Err(_)) => (None, Some("unknown_error")),
                Err(_) => (None, Some("http_timeout")),
            };
            let no_retry = response.as_ref().is_some_and(|r| {
                r.headers
                    .get("x-slack-no-retry")
                    .is_some_and(|v| v.as_bytes() == b"1")
            });
            attempts.push(Attempt {
                retry_num: retry_num as u32,
                retry_reason: reason.clone(),
                response,
                failure: failure.map(str::to_string),
            });
            match failure {
                None => break,
                Some(_) if no_retry => break,
                Some(failure) => reason = Some(failure.to_string()),
            }
        }
        Delivery { attempts }
    }

    /// Sets the paths of the events, slash command and interactivity endpoints.
    pub fn with_paths(mut self, events: &str, commands: &str, interactions: &str) -> Self {
        self.paths = [events.into(), commands.into(), interactions.into()];
        self
    }

    /// An Events API request (`application/json`), to adjust before [`SignedRequest::send`].
    pub fn event(&self, body: &Value) -> SignedRequest<'_> {
        self.request(0, "application/json", body.to_string().into_bytes())
    }

    /// A slash command request (`application/x-www-form-urlencoded` fields).
    pub fn command<K: AsRef<str>, V: AsRef<str>>(
        &self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> SignedRequest<'_> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(1, "application/x-www-form-urlencoded", body.into_bytes())
    }

    /// An interactivity request: `payload=<urlencoded JSON>`.
    pub fn interaction(&self, payload: &Value) -> SignedRequest<'_> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.request(2, "application/x-www-form-urlencoded", body.into_bytes())
    }

    fn request(&self, path: usize, content_type: &'static str, body: Vec<u8>) -> SignedRequest<'_> {
        SignedRequest {
            client: self,
            url: format!("{}{}", self.base_url, self.paths[path]),
            content_type,
            body,
            timestamp: None,
            signing: Signing::Valid,
            retry: None,
        }
    }

    /// Posts a signed Events API body (e.g. [`crate::Emulator::event_callback`]).
    pub async fn post_event(&self, body: &Value) -> Result<SignedResponse, ClientError> {
        self.event(body).send().await
    }

    /// Posts signed slash command fields (e.g. [`crate::Emulator::slash_command_fields`]).
    pub async fn post_command<K: AsRef<str>, V: AsRef<str>>(
        &self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<SignedResponse, ClientError> {
        self.command(fields).send().await
    }

    /// Posts a signed interaction payload.
    pub async fn post_interaction(&self, payload: &Value) -> Result<SignedResponse, ClientError> {
        self.interaction(payload).send().await
    }

    /// Sends a recorded request again, byte for byte (same timestamp and signature).
    pub async fn replay(&self, request: &RawRequest) -> Result<SignedResponse, ClientError> {
        let mut builder = Request::post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let http_request = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| ClientError(e.to_string()))?;
        let response = self
            .http
            .request(http_request)
            .await
            .map_err(|e| ClientError(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError(e.to_string()))?
            .to_bytes();
        Ok(SignedResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            request: request.clone(),
        })
    }
}

/// One request to send, with knobs for the failure cases.
pub struct SignedRequest<'c> {
    client: &'c SignedClient,
    url: String,
    content_type: &'static str,
    body: Vec<u8>,
    timestamp: Option<i64>,
    signing: Signing,
    retry: Option<(u32, String)>,
}

impl SignedRequest<'_> {
    /// Signs with this Unix timestamp instead of now.
    pub fn timestamp(mut self, unix_secs: i64) -> Self {
        self.timestamp = Some(unix_secs);
        self
    }

    /// Signs correctly, but with a timestamp ten minutes old (Slack's window is five).
    pub fn stale(self) -> Self {
        let ts = crate::ids::unix_now() - 600;
        self.timestamp(ts)
    }

    /// Sends a signature that does not match the body.
    pub fn bad_signature(mut self) -> Self {
        self.signing = Signing::Bad;
        self
    }

    /// Sends no signature headers at all.
    pub fn unsigned(mut self) -> Self {
        self.signing = Signing::Missing;
        self
    }

    /// Adds `X-Slack-Retry-Num` and `X-Slack-Retry-Reason` (e.g. `http_timeout`).
    pub fn retry(mut self, num: u32, reason: &str) -> Self {
        self.retry = Some((num, reason.to_string()));
        self
    }

    /// The exact request this would send.
    pub fn build(&self) -> RawRequest {
        let ts = self
            .timestamp
            .unwrap_or_else(crate::ids::unix_now)
            .to_string();
        let mut headers = vec![
            ("Content-Type".to_string(), self.content_type.to_string()),
            (
                "User-Agent".to_string(),
                "Slackbot 1.0 (+https://api.slack.com/robots)".to_string(),
            ),
            ("Accept".to_string(), "*/*".to_string()),
        ];
        let sig = signature(&self.client.secret, &ts, &self.body);
        match self.signing {
            Signing::Valid => {
                headers.push(("X-Slack-Signature".into(), sig));
                headers.push(("X-Slack-Request-Timestamp".into(), ts));
            }
            Signing::Bad => {
                let mut bad = sig;
                let last = if bad.ends_with('0') { '1' } else { '0' };
                bad.pop();
                bad.push(last);
                headers.push(("X-Slack-Signature".into(), bad));
                headers.push(("X-Slack-Request-Timestamp".into(), ts));
            }
            Signing::Missing => {}
        }
        if let Some((num, reason)) = &self.retry {
            headers.push(("X-Slack-Retry-Num".into(), num.to_string()));
            headers.push(("X-Slack-Retry-Reason".into(), reason.clone()));
        }
        RawRequest {
            url: self.url.clone(),
            headers,
            body: self.body.clone(),
        }
    }

    /// Sends it.
    pub async fn send(self) -> Result<SignedResponse, ClientError> {
        let request = self.build();
        self.client.replay(&request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_slacks_published_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            signature(
                "8f742231b10e8888abcd99yyyzzz85a5",
                "1531420618",
                body.as_bytes()
            ),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn form_fields_encode_like_the_vector() {
        let client = SignedClient::new("http://127.0.0.1:1", "8f742231b10e8888abcd99yyyzzz85a5");
        let request = client
            .command([
                ("token", "xyzz0WbapA4vBCDEFasx0q6G"),
                ("team_id", "T1DC2JH3J"),
                ("team_domain", "testteamnow"),
                ("channel_id", "G8PSS9T3V"),
                ("channel_name", "foobar"),
                ("user_id", "U2CERLKJA"),
                ("user_name", "roadrunner"),
                ("command", "/webhook-collect"),
                ("text", ""),
                (
                    "response_url",
                    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
                ),
                ("trigger_id", "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"),
            ])
            .timestamp(1531420618)
            .build();
        let signature = request
            .headers
            .iter()
            .find(|(k, _)| k == "X-Slack-Signature")
            .map(|(_, v)| v.as_str());
        assert_eq!(
            signature,
            Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
        );
    }
}
