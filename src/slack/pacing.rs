//! Client-side pacing by Slack's published rate limits, so a fan-out to a big team runs at the
//! rate Slack allows instead of into a storm of 429s, and a 429 Slack still answers holds back
//! every call it concerns, not only the one that met it.
//!
//! Web API methods are limited per method and workspace by tier (1: 1+/min, 2: 20+/min, 3:
//! 50+/min, 4: 100+/min); `chat.postMessage` is limited to about one message per second per
//! channel. Waiting for pacing happens before a call's timeout starts.
//!
//! **The model** is GCRA (the generic cell rate algorithm, a token bucket kept as one number):
//! each key — `method:users.list`, `channel:C123` — has a *theoretical arrival time* `tat`. A
//! call asked for at `now` under a rate of one per `interval` with bursts of `burst` may go at
//! `max(now, tat - (burst - 1) × interval, blocked_until)`, and takes its place by setting
//! `tat = max(tat, now) + interval` ([`Cell::reserve`]): a reservation, so callers queue in order
//! and each learns at once how long to sleep. A 429 sets `blocked_until` to Slack's `Retry-After`
//! and counts the bucket as empty then ([`Cell::block`]): after the wait calls resume one an
//! interval, not in a burst that would meet the next 429. `chat.postMessage` is paced per channel
//! and its method key carries only blocks (a 429 on a post may be the channel's or the
//! workspace's limit: both keys are blocked, so every post waits it out).
//!
//! The cell is a few lines written here rather than governor's (which paced this client before):
//! the replicas' state has to be rows the database advances in one statement, governor has no
//! way to take a place ahead (it answers "not yet" and the caller asks again) nor to be told of a
//! 429, and one model for both places keeps the memory and the rows in step.
//!
//! **Where the state lives.** One process paces in memory (this module's [`Pacing`]), which is
//! all a bot on SQLite needs: one process owns the file. Replicas on PostgreSQL would together
//! send N times a tier and not see each other's 429s, so the running bot gives their `Api` a
//! [`SharedPacing`] (`bot::pacing`, over the store): the same keys and the same arithmetic, kept
//! in one row per key in the database and advanced by one statement on the database's clock, so
//! replicas on different machines agree on the time. The same code for both engines would cost
//! the SQLite bot a write per Slack call for nothing; the in-memory cells are also the fallback
//! when the database does not answer: a hiccup must not stop sends, so the call is paced locally
//! (logged once as a warning, and once when the database answers again; it is asked again
//! after [`SHARED_RETRY`]). The local cells know only the calls this replica paced alone (and
//! every 429 it met), so an outage may cost a burst more than Slack allows, which `Retry-After`
//! then handles. The slack layer never sees the store: only this trait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

/// How long the shared pacing is given to answer before the call is paced locally.
pub const SHARED_TIMEOUT: Duration = Duration::from_secs(1);
/// After the shared pacing failed, how long calls are paced locally before it is asked again.
pub const SHARED_RETRY: Duration = Duration::from_secs(5);
/// Local cells kept before the idle ones are dropped (an idle cell is the same as none).
const KEEP_CELLS: usize = 4096;

/// A rate: one call per `interval` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub interval: Duration,
    pub burst: u32,
}

impl Rate {
    /// No rate of its own: a key that only carries the blocks of 429s.
    pub const BLOCKS_ONLY: Rate = Rate {
        interval: Duration::ZERO,
        burst: 1,
    };
    /// `chat.postMessage` into one channel: one a second, with a burst of two where Slack (and
    /// the emulator) let three through. The one kept in hand is for the way to Slack: a post
    /// held up after its turn (a busy machine, another replica's slow call) arrives close to the
    /// next one, and at an exact one a second that second post would find the bucket empty.
    pub const PER_CHANNEL: Rate = Rate {
        interval: Duration::from_secs(1),
        burst: 2,
    };

    /// A tier's allowance: `n` a minute, all of them at once if the bucket is full (Slack lets
    /// a method burst up to its minute's allowance).
    pub fn per_minute(n: u32) -> Rate {
        let n = n.max(1);
        Rate {
            interval: Duration::from_secs(60) / n,
            burst: n,
        }
    }

    /// How far ahead of `now` the theoretical arrival time may run with a call still going at
    /// once: `(burst - 1) × interval`, in seconds.
    pub fn tolerance(&self) -> f64 {
        self.interval.as_secs_f64() * f64::from(self.burst.max(1) - 1)
    }
}

/// One key a call counts against, with its rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// `method:<method>` or `channel:<channel id>`; the workspace is the client's.
    pub key: String,
    pub rate: Rate,
}

/// Calls per minute a method's tier allows.
fn per_minute(method: &str) -> u32 {
    match method {
        "users.list" | "conversations.list" => 20,
        "conversations.open"
        | "conversations.history"
        | "conversations.replies"
        | "chat.update"
        | "conversations.info"
        | "users.lookupByEmail" => 50,
        _ => 100,
    }
}

/// The keys a call to `method` (posting into `channel`, if any) counts against; none for
/// `apps.connections.open`, whose reconnects have their own backoff (see `socket`; Slack
/// tolerates reconnect bursts).
pub fn limits(method: &str, channel: Option<&str>) -> Vec<Limit> {
    let key = format!("method:{method}");
    match (method, channel) {
        ("apps.connections.open", _) => Vec::new(),
        ("chat.postMessage", channel) => {
            let mut limits = vec![Limit {
                key,
                rate: Rate::BLOCKS_ONLY,
            }];
            if let Some(channel) = channel {
                limits.push(Limit {
                    key: format!("channel:{channel}"),
                    rate: Rate::PER_CHANNEL,
                });
            }
            limits
        }
        _ => vec![Limit {
            key,
            rate: Rate::per_minute(per_minute(method)),
        }],
    }
}

/// One key's state, times in seconds on one clock (the process's here, the database's in the
/// shared rows).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    /// The theoretical arrival time: where the key's queue of calls ends.
    pub tat: f64,
    /// No call before this (Slack's `Retry-After`).
    pub blocked_until: f64,
}

impl Cell {
    /// Takes the next place for a call asked for at `now`; returns when the call may go.
    pub fn reserve(&mut self, now: f64, rate: Rate) -> f64 {
        let at = (self.tat - rate.tolerance())
            .max(self.blocked_until)
            .max(now);
        self.tat = self.tat.max(now) + rate.interval.as_secs_f64();
        at
    }

    /// Slack said no call before `until`: blocked until then, with the bucket empty then (the
    /// calls after it go one an interval).
    pub fn block(&mut self, until: f64, rate: Rate) {
        self.blocked_until = self.blocked_until.max(until);
        self.tat = self.tat.max(until + rate.tolerance());
    }

    /// Whether the cell is the same as a new one at `now` (nothing queued, not blocked).
    fn idle(&self, now: f64) -> bool {
        self.tat <= now && self.blocked_until <= now
    }
}

/// Errors of a [`SharedPacing`], in words for the log.
pub type SharedError = String;

/// Pacing state kept outside the process, shared by the replicas of one bot (the running bot's
/// is the database: `bot::pacing`). Each call is one short write.
pub trait SharedPacing: Send + Sync + 'static {
    /// Takes a place under every one of `limits` for a call now; how long to wait before making
    /// it (the longest of the keys' waits).
    fn reserve<'a>(&'a self, limits: &'a [Limit]) -> BoxFuture<'a, Result<Duration, SharedError>>;
    /// Slack answered 429 with `retry_after`: no call under `limits`, from any replica, before
    /// that time has passed.
    fn block<'a>(
        &'a self,
        limits: &'a [Limit],
        retry_after: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>>;
}

/// The pacing of one Slack client (one workspace): the cells in memory, and whether the shared
/// pacing (when the client has one) is answering.
#[derive(Debug)]
pub struct Pacing {
    /// Time zero of the cells.
    origin: Instant,
    cells: Mutex<HashMap<String, Cell>>,
    /// When the shared pacing last failed; `None` while it answers.
    outage: Mutex<Option<Instant>>,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            origin: Instant::now(),
            cells: Mutex::new(HashMap::new()),
            outage: Mutex::new(None),
        }
    }
}

impl Pacing {
    /// Waits until a call to `method` (posting into `channel`, if any) fits the limits: as
    /// `shared` says when given and answering, else as this process's cells say.
    pub async fn wait(
        &self,
        method: &'static str,
        channel: Option<&str>,
        shared: Option<&dyn SharedPacing>,
    ) {
        let limits = limits(method, channel);
        if limits.is_empty() {
            return;
        }
        let shared_wait = match shared.filter(|_| self.shared_usable()) {
            Some(shared) => self.ask(shared.reserve(&limits)).await,
            None => None,
        };
        let wait = shared_wait.unwrap_or_else(|| self.reserve_local(&limits, self.now()));
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Slack answered a call to `method` (into `channel`) with 429 and `retry_after`: this
    /// process's cells, and the shared ones when given, hold every call they concern until then.
    pub async fn blocked(
        &self,
        method: &'static str,
        channel: Option<&str>,
        retry_after: Duration,
        shared: Option<&dyn SharedPacing>,
    ) {
        let limits = limits(method, channel);
        if limits.is_empty() {
            return;
        }
        self.block_local(&limits, self.now() + retry_after.as_secs_f64());
        if let Some(shared) = shared.filter(|_| self.shared_usable()) {
            self.ask(shared.block(&limits, retry_after)).await;
        }
    }

    /// Runs a call of the shared pacing with [`SHARED_TIMEOUT`]; `None` when it failed or did
    /// not answer (said once, see [`Pacing::shared_failed`]).
    async fn ask<T>(&self, call: BoxFuture<'_, Result<T, SharedError>>) -> Option<T> {
        match tokio::time::timeout(SHARED_TIMEOUT, call).await {
            Ok(Ok(answer)) => {
                self.shared_answered();
                Some(answer)
            }
            Ok(Err(e)) => {
                self.shared_failed(&e);
                None
            }
            Err(_) => {
                self.shared_failed(&format!("no answer within {} s", SHARED_TIMEOUT.as_secs()));
                None
            }
        }
    }

    fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Takes a place under every limit in this process's cells at `now`; the wait before the
    /// call.
    fn reserve_local(&self, limits: &[Limit], now: f64) -> Duration {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        if cells.len() > KEEP_CELLS {
            cells.retain(|_, cell| !cell.idle(now));
        }
        let at = limits
            .iter()
            .map(|l| cells.entry(l.key.clone()).or_default().reserve(now, l.rate))
            .fold(now, f64::max);
        Duration::from_secs_f64((at - now).max(0.0))
    }

    fn block_local(&self, limits: &[Limit], until: f64) {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        for l in limits {
            cells.entry(l.key.clone()).or_default().block(until, l.rate);
        }
    }

    /// Whether to ask the shared pacing: it answers, or it failed long enough ago to be asked
    /// again.
    fn shared_usable(&self) -> bool {
        let outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        outage.is_none_or(|since| since.elapsed() >= SHARED_RETRY)
    }

    fn shared_failed(&self, error: &str) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if outage.is_none() {
            tracing::warn!(
                error,
                "the replicas' shared Slack pacing is not answering; this replica paces its calls alone until the database answers again"
            );
        } else {
            tracing::debug!(error, "the shared Slack pacing still fails");
        }
        *outage = Some(Instant::now());
    }

    fn shared_answered(&self) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if outage.take().is_some() {
            tracing::info!("the replicas' shared Slack pacing answers again");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The wait for a post into `channel` at `now` (seconds).
    fn post(pacing: &Pacing, channel: &str, now: f64) -> Duration {
        pacing.reserve_local(&limits("chat.postMessage", Some(channel)), now)
    }

    fn call(pacing: &Pacing, method: &str, now: f64) -> Duration {
        pacing.reserve_local(&limits(method, None), now)
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn posts_to_one_channel_are_spaced_and_other_channels_are_not_held_up() {
        let pacing = Pacing::default();
        // Two go at once (the burst); the third waits a second, the fourth two.
        for n in 1..=2 {
            assert_eq!(post(&pacing, "C1", 0.0), Duration::ZERO, "post {n}");
        }
        assert_eq!(post(&pacing, "C1", 0.0), secs(1.0));
        assert_eq!(post(&pacing, "C1", 0.0), secs(2.0));
        // Another channel is not held up by the first one's queue.
        assert_eq!(post(&pacing, "C2", 0.0), Duration::ZERO);
        // Two and a half seconds later the queue has moved: the next one waits half a second.
        assert_eq!(post(&pacing, "C1", 2.5), secs(0.5));
        // Long after, a burst again.
        for _ in 1..=2 {
            assert_eq!(post(&pacing, "C1", 60.0), Duration::ZERO);
        }
    }

    #[test]
    fn a_method_bursts_to_its_tier_then_waits_for_the_next_share() {
        let pacing = Pacing::default();
        for n in 1..=20 {
            assert_eq!(call(&pacing, "users.list", 0.0), Duration::ZERO, "call {n}");
        }
        // Tier 2: 20 a minute, so the 21st waits three seconds; other methods go on.
        assert_eq!(call(&pacing, "users.list", 0.0), secs(3.0));
        assert_eq!(call(&pacing, "users.info", 0.0), Duration::ZERO);
        assert_eq!(call(&pacing, "apps.connections.open", 0.0), Duration::ZERO);
        // Six seconds on: the 22nd's place (6 s) has come.
        assert_eq!(call(&pacing, "users.list", 6.0), Duration::ZERO);
    }

    #[test]
    fn a_429_holds_every_call_it_concerns_then_they_go_one_an_interval() {
        let pacing = Pacing::default();
        let post_limits = limits("chat.postMessage", Some("C1"));
        // Slack said 429, Retry-After 2 s, to a post into C1 at 10 s.
        pacing.block_local(&post_limits, 12.0);
        // Every post waits it out, into any channel (the method is blocked too)...
        assert_eq!(post(&pacing, "C2", 10.0), secs(2.0));
        assert_eq!(post(&pacing, "C3", 11.0), secs(1.0));
        // ...and C1's bucket is empty at 12 s: one a second from then, no burst.
        assert_eq!(post(&pacing, "C1", 10.0), secs(2.0));
        assert_eq!(post(&pacing, "C1", 10.0), secs(3.0));
        // Other methods are not held.
        assert_eq!(call(&pacing, "users.info", 10.0), Duration::ZERO);
        // A tier's method after its 429: one an interval from the end of the wait.
        pacing.block_local(&limits("users.list", None), 15.0);
        assert_eq!(call(&pacing, "users.list", 10.0), secs(5.0));
        assert_eq!(call(&pacing, "users.list", 10.0), secs(8.0));
    }

    #[test]
    fn the_cell_is_gcra() {
        let rate = Rate::per_minute(60);
        assert_eq!(rate.interval, Duration::from_secs(1));
        assert!((rate.tolerance() - 59.0).abs() < 1e-9);
        let mut cell = Cell::default();
        // A fresh cell lets the whole burst through at once, then one an interval.
        for _ in 0..60 {
            assert_eq!(cell.reserve(100.0, rate), 100.0);
        }
        assert_eq!(cell.reserve(100.0, rate), 101.0);
        assert_eq!(cell.tat, 161.0);
        // A call after the queue ran out finds a full bucket again.
        let mut cell = Cell::default();
        cell.reserve(0.0, Rate::PER_CHANNEL);
        assert!(cell.idle(1.0));
        assert_eq!(cell.reserve(5.0, Rate::PER_CHANNEL), 5.0);
        // A block with no rate of its own is the block alone.
        let mut blocks = Cell::default();
        blocks.block(7.0, Rate::BLOCKS_ONLY);
        assert_eq!(blocks.reserve(5.0, Rate::BLOCKS_ONLY), 7.0);
        assert_eq!(blocks.reserve(5.0, Rate::BLOCKS_ONLY), 7.0);
        assert_eq!(blocks.reserve(8.0, Rate::BLOCKS_ONLY), 8.0);
    }

    #[test]
    fn tiers_follow_slacks_table() {
        assert_eq!(per_minute("users.info"), 100);
        assert_eq!(per_minute("conversations.history"), 50);
        assert_eq!(per_minute("users.lookupByEmail"), 50);
        assert_eq!(per_minute("users.list"), 20);
        assert_eq!(per_minute("conversations.list"), 20);
        assert!(limits("apps.connections.open", None).is_empty());
        assert_eq!(
            limits("chat.postMessage", Some("C1"))
                .iter()
                .map(|l| l.key.as_str())
                .collect::<Vec<_>>(),
            ["method:chat.postMessage", "channel:C1"]
        );
    }

    /// A shared pacing that fails `failures` times, then says "wait 0".
    struct Flaky {
        failures: AtomicUsize,
        asked: AtomicUsize,
    }

    impl SharedPacing for Flaky {
        fn reserve<'a>(&'a self, _: &'a [Limit]) -> BoxFuture<'a, Result<Duration, SharedError>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let fail = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            Box::pin(async move {
                if fail {
                    Err("the database is down".to_string())
                } else {
                    Ok(Duration::ZERO)
                }
            })
        }

        fn block<'a>(
            &'a self,
            _: &'a [Limit],
            _: Duration,
        ) -> BoxFuture<'a, Result<(), SharedError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_shared_pacing_that_fails_is_replaced_by_local_pacing_for_a_while() {
        let pacing = Pacing::default();
        let shared = Arc::new(Flaky {
            failures: AtomicUsize::new(1),
            asked: AtomicUsize::new(0),
        });
        // The failing call still goes (paced locally: the first of a burst waits nothing)...
        let started = Instant::now();
        pacing
            .wait("chat.postMessage", Some("C1"), Some(shared.as_ref()))
            .await;
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(shared.asked.load(Ordering::SeqCst), 1);
        // ...and the next ones do not ask the database until `SHARED_RETRY` has passed.
        pacing
            .wait("chat.postMessage", Some("C1"), Some(shared.as_ref()))
            .await;
        assert_eq!(shared.asked.load(Ordering::SeqCst), 1);
        assert!(!pacing.shared_usable());
        // Once it may be asked again and answers, it is used again.
        *pacing.outage.lock().unwrap() = Some(Instant::now() - SHARED_RETRY);
        pacing
            .wait("chat.postMessage", Some("C2"), Some(shared.as_ref()))
            .await;
        assert_eq!(shared.asked.load(Ordering::SeqCst), 2);
        assert!(pacing.outage.lock().unwrap().is_none());
    }
}
