//! The emulated workspace's mutable state, the records tests read, and change notification.

use crate::config::EmulatorConfig;
use crate::faults::FaultQueues;
use crate::rate_limit::RateLimiter;
use crate::socket::SocketState;
use crate::strict::{Rule, Violation};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One Web API call as received (recorded before faults, auth and rate limits apply).
#[derive(Debug, Clone)]
pub struct Call {
    /// The method, e.g. `chat.postMessage`.
    pub method: String,
    /// Query, form and JSON body parameters merged into one object, values as sent.
    pub params: Value,
    /// When it arrived.
    pub at: Instant,
}

impl Call {
    /// A parameter as a string (strings as they are, numbers and booleans formatted).
    pub fn param(&self, key: &str) -> Option<String> {
        crate::params::str_of(&self.params, key)
    }
}

/// A message the bot posted (`chat.postMessage`, `chat.postEphemeral`, a file share).
#[derive(Debug, Clone)]
pub struct Message {
    /// Channel id (`D...` for a DM, even when posted to a user id).
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
    /// The posting user (the bot user).
    pub user: String,
    /// Current text.
    pub text: Option<String>,
    /// Current blocks (a JSON array).
    pub blocks: Option<Value>,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// For `chat.postEphemeral`: the only user who sees it.
    pub ephemeral_to: Option<String>,
    /// File ids shared with this message (`files.completeUploadExternal`).
    pub files: Vec<String>,
    /// Message metadata (`{"event_type": ..., "event_payload": {...}}`) as posted or last
    /// updated; `conversations.history` / `.replies` return it with `include_all_metadata`.
    pub metadata: Option<Value>,
    /// The parameters of the call that posted it.
    pub params: Value,
    /// Earlier versions replaced by `chat.update`, oldest first.
    pub history: Vec<Revision>,
    /// When it was posted.
    pub at: Instant,
}

/// A version of a message before a `chat.update`.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Text of that version.
    pub text: Option<String>,
    /// Blocks of that version.
    pub blocks: Option<Value>,
    /// Metadata of that version.
    pub metadata: Option<Value>,
    /// When it was replaced.
    pub replaced_at: Instant,
}

/// A file announced by `files.getUploadURLExternal`.
#[derive(Debug, Clone)]
pub struct File {
    /// `F...`
    pub id: String,
    /// `filename` given to `files.getUploadURLExternal`.
    pub filename: String,
    /// `length` declared there.
    pub length: u64,
    /// Title from `files.completeUploadExternal` (defaults to the filename).
    pub title: Option<String>,
    /// The uploaded bytes, as (lossy) UTF-8 text.
    pub content: String,
    /// Bytes were posted to the upload URL.
    pub uploaded: bool,
    /// `files.completeUploadExternal` finished it.
    pub completed: bool,
    /// Channel it was shared to.
    pub channel: Option<String>,
    /// Thread it was shared into.
    pub thread_ts: Option<String>,
    /// The message text introducing it.
    pub initial_comment: Option<String>,
}

/// One `views.open` / `views.update` / `views.publish` that succeeded.
#[derive(Debug, Clone)]
pub struct View {
    /// `V...` (stable across updates of one view).
    pub id: String,
    /// The method that produced this version.
    pub method: String,
    /// `views.publish`: whose Home tab.
    pub user_id: Option<String>,
    /// `views.open`: the trigger used.
    pub trigger_id: Option<String>,
    /// The conversation the modal was opened from, when the emulator knows it: the channel of
    /// the slash command or message click whose `trigger_id` opened it (kept by
    /// `views.update`). Slack preselects it in a `conversations_select` with
    /// `default_to_current_conversation`. `None` for a trigger minted on its own
    /// ([`Emulator::new_trigger_id`](crate::Emulator::new_trigger_id)) and for Home tabs.
    pub conversation: Option<String>,
    /// The view as the API returned it (with `id`, `hash`, `state`, ...).
    pub view: Value,
    /// When.
    pub at: Instant,
}

impl View {
    /// The view's `hash` (changes with every update).
    pub fn hash(&self) -> &str {
        self.view["hash"].as_str().unwrap_or_default()
    }
}

/// A post to a `response_url` the emulator handed out.
#[derive(Debug, Clone)]
pub struct ResponsePost {
    /// The path after `/response/`.
    pub id: String,
    /// The JSON body (a string value if the body was not JSON).
    pub body: Value,
    /// When.
    pub at: Instant,
}

#[derive(Debug)]
pub(crate) struct Trigger {
    pub issued: Instant,
    pub used: bool,
    /// The conversation the user was in when Slack issued it (slash command, message click).
    pub channel: Option<String>,
}

/// Everything that changes while the emulator runs.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub calls: Vec<Call>,
    pub messages: Vec<Message>,
    pub files: Vec<File>,
    pub views: Vec<View>,
    pub response_posts: Vec<ResponsePost>,
    pub faults: FaultQueues,
    pub limiter: Option<RateLimiter>,
    pub rate_limited: HashMap<String, usize>,
    pub triggers: HashMap<String, Trigger>,
    pub open_dms: HashSet<String>,
    /// Who is in each configured channel now, by channel id (see [`Membership`]).
    pub channels: HashMap<String, Membership>,
    pub socket: SocketState,
    /// Every broken Slack rule, in order (see `crate::strict`).
    pub violations: Vec<Violation>,
    /// Rules a test said it breaks on purpose.
    pub expected: HashSet<Rule>,
}

/// The live membership of one channel: seeded from [`crate::Channel`]'s `members` and
/// `bot_is_member`, then changed by `Emulator::join_channel` / `leave_channel`. It lives here,
/// not in the configuration, because on Slack people come and go while the app runs and
/// `conversations.members` / `conversations.info` answer what is true at the time of the call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Membership {
    /// Member ids in the order they joined (the configured humans, then the bot if it was in).
    pub users: Vec<String>,
    /// Whether the test said who the humans in the channel are (configured `members`, or a
    /// join or leave since). A channel configured without members lets `chat.postEphemeral`
    /// reach anyone, as before membership was tracked, since those tests never named them.
    pub declared: bool,
}

impl State {
    /// Whether `user` (a person or the bot user) is in channel `channel` now.
    pub(crate) fn in_channel(&self, channel: &str, user: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|m| m.users.iter().any(|u| u == user))
    }

    /// Records broken rules, logging each.
    pub(crate) fn record(&mut self, violations: impl IntoIterator<Item = Violation>) {
        for v in violations {
            tracing::warn!(%v, "slack-emulator: Slack rule broken");
            self.violations.push(v);
        }
    }
}

/// State plus what never changes, shared by the server tasks and the test's handle.
pub(crate) struct Shared {
    pub config: EmulatorConfig,
    pub addr: SocketAddr,
    pub started_unix: i64,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, addr: SocketAddr) -> Self {
        let channels = config
            .channels
            .iter()
            .map(|c| {
                let bot = c.bot_is_member.then(|| config.bot_user_id.clone());
                let membership = Membership {
                    users: c.members.iter().cloned().chain(bot).collect(),
                    declared: !c.members.is_empty(),
                };
                (c.id.clone(), membership)
            })
            .collect();
        let state = State {
            limiter: config.rate_limits.clone().map(RateLimiter::new),
            channels,
            ..State::default()
        };
        Self {
            config,
            addr,
            started_unix: crate::ids::unix_now(),
            state: Mutex::new(state),
            changed: watch::channel(0).0,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not hide this test's records.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mutates the state and wakes every waiter.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = f(&mut self.lock());
        self.changed.send_modify(|version| *version += 1);
        result
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Waits until `f` finds something, re-checking after every change; `None` on timeout.
    pub(crate) async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let mut changes = self.changed.subscribe();
        tokio::time::timeout(timeout, async {
            loop {
                if let Some(found) = self.read(&mut f) {
                    return Some(found);
                }
                changes.changed().await.ok()?;
            }
        })
        .await
        .ok()
        .flatten()
    }
}

/// The DM channel id the emulator uses for a user: `D` + the id without its `U`/`W`.
pub fn dm_channel_id(user_id: &str) -> String {
    format!("D{}", user_id.get(1..).unwrap_or_default())
}
