//! The emulator's handle: start-up on `127.0.0.1:0`, routes, and the test-side accessors.

use crate::config::EmulatorConfig;
use crate::faults::Fault;
use crate::socket::EnvelopeHandle;
use crate::state::{Call, File, Message, ResponsePost, Shared, View, dm_channel_id};
use crate::strict::spec::{self, ConversationType};
use crate::strict::{Rule, Violation};
use crate::{socket, web_api};
use axum::Router;
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A running emulator. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) shared: Arc<Shared>,
    _server: Arc<ServerTask>,
}

struct ServerTask {
    task: JoinHandle<()>,
    retry_timer: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Drop for ServerTask {
    /// Runs once, when the last clone of the [`Emulator`] goes (the end of the test): stops
    /// the server and fails the test if Slack's rules were broken unexpectedly.
    fn drop(&mut self) {
        self.task.abort();
        self.retry_timer.abort();
        self.shared.update(|s| s.socket.drop_all());
        let Some(report) = self.shared.read(strict_report) else {
            return;
        };
        if std::thread::panicking() {
            // The test failed already (perhaps because Slack refused a payload): say why.
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

/// What strict mode has to say at the end of a test: violations no test expected, and
/// expected rules never broken.
fn strict_report(s: &crate::state::State) -> Option<String> {
    const SHOWN: usize = 25;
    let unexpected: Vec<&Violation> = s
        .violations
        .iter()
        .filter(|v| !s.expected.contains(&v.rule))
        .collect();
    let mut missing: Vec<String> = s
        .expected
        .iter()
        .filter(|r| !s.violations.iter().any(|v| v.rule == **r))
        .map(|r| r.to_string())
        .collect();
    missing.sort();
    if unexpected.is_empty() && missing.is_empty() {
        return None;
    }
    let mut report = String::from("slack-emulator (strict mode): the bot broke Slack's rules");
    if !unexpected.is_empty() {
        report += &format!(" — {} unexpected violation(s):", unexpected.len());
        for v in unexpected.iter().take(SHOWN) {
            report += &format!("\n  - {v}");
        }
        if unexpected.len() > SHOWN {
            report += &format!("\n  - ... and {} more", unexpected.len() - SHOWN);
        }
    }
    if !missing.is_empty() {
        report += &format!(
            "\n  expected violation(s) that never happened: {}",
            missing.join(", ")
        );
    }
    report += "\n(a test that breaks a rule on purpose says so with emu.expect_violation(rule) or emu.take_violations())";
    Some(report)
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds `127.0.0.1:0` and serves the Web API, upload URLs, `response_url`s and Socket Mode.
    ///
    /// # Panics
    /// If no local port can be bound.
    pub async fn start(config: EmulatorConfig) -> Emulator {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("slack-emulator: bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("slack-emulator: local address");
        let shared = Arc::new(Shared::new(config, addr));
        let app = Router::new()
            .route("/api/{method}", any(web_api::api))
            .route("/upload/{file_id}", post(web_api::upload))
            .route("/response/{*id}", post(web_api::response_url))
            .route("/socket", get(socket::upgrade))
            .with_state(shared.clone());
        // Small frames go out at once, as from Slack's edge: with Nagle's algorithm on,
        // back-to-back envelopes on one websocket waited for the app's delayed TCP ACK (up to
        // 40 ms on Linux), and the load tool measured the emulator instead of the app.
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "slack-emulator: cannot set TCP_NODELAY");
            }
        });
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(%err, "slack-emulator: server stopped");
            }
        });
        let retry_timer = tokio::spawn(socket::retry_timer(shared.clone()));
        tracing::debug!(%addr, "slack-emulator: listening");
        Emulator {
            shared: shared.clone(),
            _server: Arc::new(ServerTask {
                task,
                retry_timer,
                shared,
            }),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The Web API base for slack-morphism's `with_slack_api_url`: `http://127.0.0.1:PORT/api`
    /// (no trailing slash; the client appends `/{method}`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.shared.base_url())
    }

    /// The workspace it was started with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// The DM channel id of a user (`D` + the user id without its first letter).
    pub fn dm_channel(&self, user_id: &str) -> String {
        dm_channel_id(user_id)
    }

    /// Every Web API call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.read(|s| s.calls.clone())
    }

    /// The calls to one method.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.shared.read(|s| {
            s.calls
                .iter()
                .filter(|c| c.method == method)
                .cloned()
                .collect()
        })
    }

    /// Messages the bot posted in a channel (DMs by their `D...` id), oldest first, with
    /// `chat.update`s applied (earlier versions in [`Message::history`]). Includes ephemeral
    /// messages (see [`Message::ephemeral_to`]) and file shares.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        self.shared.read(|s| {
            s.messages
                .iter()
                .filter(|m| m.channel == channel)
                .cloned()
                .collect()
        })
    }

    /// Every message the bot posted, oldest first.
    pub fn all_messages(&self) -> Vec<Message> {
        self.shared.read(|s| s.messages.clone())
    }

    /// The messages posted after the first `start`, oldest first (edits applied so far). The
    /// list only grows, so a long run can collect messages as they come by passing how many it
    /// has seen, instead of copying every message under the state lock each time.
    pub fn messages_from(&self, start: usize) -> Vec<Message> {
        self.shared
            .read(|s| s.messages.get(start..).map(<[Message]>::to_vec))
            .unwrap_or_default()
    }

    /// Files announced, uploaded and completed.
    pub fn files(&self) -> Vec<File> {
        self.shared.read(|s| s.files.clone())
    }

    /// Every successful `views.open` / `views.update` / `views.publish`, in order.
    pub fn views(&self) -> Vec<View> {
        self.shared.read(|s| s.views.clone())
    }

    /// Posts to the `response_url`s the emulator handed out.
    pub fn response_posts(&self) -> Vec<ResponsePost> {
        self.shared.read(|s| s.response_posts.clone())
    }

    /// How many `429`s were answered (rate limits and injected faults).
    pub fn rate_limited_count(&self) -> usize {
        self.shared.read(|s| s.rate_limited.values().sum())
    }

    /// How many `429`s one method got.
    pub fn rate_limited_count_for(&self, method: &str) -> usize {
        self.shared
            .read(|s| s.rate_limited.get(method).copied().unwrap_or_default())
    }

    /// Every broken Slack rule so far (strict mode), in order.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.read(|s| s.violations.clone())
    }

    /// Returns the violations so far and forgets them, so that the end of the test does not
    /// report them: for a test that breaks rules on purpose and checks what it broke.
    pub fn take_violations(&self) -> Vec<Violation> {
        self.shared.update(|s| std::mem::take(&mut s.violations))
    }

    /// Says the test breaks `rule` on purpose: violations of it do not fail the test, and the
    /// end of the test fails if none happened.
    pub fn expect_violation(&self, rule: Rule) {
        self.shared.update(|s| s.expected.insert(rule));
    }

    /// Makes the next call to `method` fail with `fault`; several queue up in order.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.shared.update(|s| s.faults.push(method, fault));
    }

    /// Forgets every scripted fault not yet used.
    pub fn clear_faults(&self) {
        self.shared.update(|s| s.faults.clear());
    }

    /// Waits for a call to `method` matching `predicate` (calls already made count).
    ///
    /// # Panics
    /// On timeout, listing the calls to `method` that were seen.
    pub async fn wait_for_call(
        &self,
        method: &str,
        predicate: impl Fn(&Call) -> bool,
        timeout: Duration,
    ) -> Call {
        let found = self
            .shared
            .wait_for(timeout, |s| {
                s.calls
                    .iter()
                    .find(|c| c.method == method && predicate(c))
                    .cloned()
            })
            .await;
        found.unwrap_or_else(|| {
            let seen: Vec<_> = self
                .calls_to(method)
                .into_iter()
                .map(|c| c.params)
                .collect();
            panic!("timed out after {timeout:?} waiting for a {method} call; seen: {seen:#?}")
        })
    }

    /// Waits for a message in `channel` matching `predicate` (messages already posted count,
    /// and so do edits: the predicate sees the current version).
    ///
    /// # Panics
    /// On timeout, listing the channel's messages.
    pub async fn wait_for_message(
        &self,
        channel: &str,
        predicate: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> Message {
        let found = self
            .shared
            .wait_for(timeout, |s| {
                s.messages
                    .iter()
                    .find(|m| m.channel == channel && predicate(m))
                    .cloned()
            })
            .await;
        found.unwrap_or_else(|| {
            let seen: Vec<_> = self
                .messages(channel)
                .into_iter()
                .map(|m| (m.ts, m.text))
                .collect();
            panic!(
                "timed out after {timeout:?} waiting for a message in {channel}; seen: {seen:#?}"
            )
        })
    }

    /// Who is in `channel` now (people and the bot user), in the order they joined, as
    /// `conversations.members` answers; empty for a channel the workspace does not have.
    pub fn channel_members(&self, channel: &str) -> Vec<String> {
        self.shared.read(|s| {
            s.channels
                .get(channel)
                .map(|m| m.users.clone())
                .unwrap_or_default()
        })
    }

    /// `user` (a person, or the bot user: the bot invited) joins `channel`: from now on
    /// `conversations.members` lists them and, for the bot, `conversations.info` says
    /// `is_member` and posting works. Slack then sends the app `member_joined_channel`, and so
    /// does this, over Socket Mode like [`Emulator::send_event`], when Slack would: the app
    /// subscribes to the event ([`EmulatorConfig::bot_events`]), its token has the event's
    /// scope for the channel's type (`channels:read` public, `groups:read` private), and the
    /// bot is in the channel (bot events come only from conversations the bot is in). Returns
    /// the envelope sent, if one was; `None` too when `user` was in the channel already. (It is
    /// `async` though nothing waits yet, so that delivering over HTTP, which waits for the
    /// app's answer, will not change its callers.)
    ///
    /// # Panics
    /// When the workspace has no such channel (`C...`/`G...`) or user.
    pub async fn join_channel(&self, user: &str, channel: &str) -> Option<EnvelopeHandle> {
        self.change_membership(user, channel, true)
    }

    /// `user` leaves (or is removed from) `channel`, the reverse of
    /// [`Emulator::join_channel`]: the membership changes at once and `member_left_channel`
    /// goes to the app under the same conditions (the bot counts as in the channel when it is
    /// the one leaving). `None` when `user` was not in the channel.
    ///
    /// # Panics
    /// When the workspace has no such channel or user.
    pub async fn leave_channel(&self, user: &str, channel: &str) -> Option<EnvelopeHandle> {
        self.change_membership(user, channel, false)
    }

    fn change_membership(&self, user: &str, channel: &str, join: bool) -> Option<EnvelopeHandle> {
        let cfg = self.config();
        assert!(
            cfg.channels.iter().any(|c| c.id == channel),
            "slack-emulator: the workspace has no channel {channel}"
        );
        let is_bot = user == cfg.bot_user_id;
        assert!(
            is_bot || cfg.users.iter().any(|u| u.id == user),
            "slack-emulator: the workspace has no user {user}"
        );
        let (changed, bot_there) = self.shared.update(|s| {
            let membership = s.channels.entry(channel.to_string()).or_default();
            let bot_before = membership.users.contains(&cfg.bot_user_id);
            let at = membership.users.iter().position(|u| u == user);
            let changed = match (join, at) {
                (true, None) => {
                    membership.users.push(user.to_string());
                    true
                }
                (false, Some(i)) => {
                    membership.users.remove(i);
                    true
                }
                _ => false,
            };
            if changed && !is_bot {
                membership.declared = true;
            }
            let bot_after = membership.users.contains(&cfg.bot_user_id);
            (changed, bot_before || bot_after)
        });
        let event_type = if join {
            "member_joined_channel"
        } else {
            "member_left_channel"
        };
        if !changed || !bot_there || !self.receives(event_type, channel) {
            return None;
        }
        let event = if join {
            self.member_joined_channel(user, channel, None)
        } else {
            self.member_left_channel(user, channel)
        };
        Some(self.send_event(event))
    }

    /// Whether Slack would send the app `event` from `channel`: the app subscribes to it and
    /// holds the scope it needs there.
    fn receives(&self, event: &str, channel: &str) -> bool {
        let cfg = self.config();
        if !cfg.bot_events.iter().any(|e| e == event) {
            return false;
        }
        match spec::event_scope_for(event, ConversationType::of_id(channel)) {
            None => true,
            Some(needed) => needed.iter().any(|s| cfg.scopes.contains(s)),
        }
    }
}
