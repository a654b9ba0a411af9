//! The bot's clock: what time it is and how to wait for a moment, for everything that follows
//! the calendar (prompts, reminders, quiet hours, escalations, posts).
//!
//! Production runs on [`SystemClock`]; tests hand the bot a [`TestClock`] and move it forward, so
//! a week of schedules runs in moments and "nothing happened before 09:00" is checked exactly.
//! Network timeouts (Slack calls, Socket Mode pings) are not calendar time and stay on tokio's.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// What time it is, and waiting until a given time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once [`Clock::now`] is at or past `at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Sleeps in steps of at most a minute, reading the wall clock after each: tokio's timer is
    /// monotonic, so a wall clock set forward (NTP, a host resumed from suspend) would
    /// otherwise make a long sleep end late by as much.
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            loop {
                let Ok(left) = (at - Utc::now()).to_std() else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(std::time::Duration::from_secs(60))).await;
            }
        })
    }
}

/// A clock that stands still until the test moves it. Sleepers wake when it reaches their time,
/// whichever runtime they run on.
#[derive(Clone)]
pub struct TestClock {
    inner: Arc<Inner>,
}

struct Inner {
    now: tokio::sync::watch::Sender<DateTime<Utc>>,
    /// The deadlines of the sleeps under way, by id: [`TestClock::settled`] reads them.
    sleepers: Mutex<Vec<(u64, DateTime<Utc>)>>,
    next_id: std::sync::atomic::AtomicU64,
    /// Counts the sleeps started and ended, so a test waiting for [`TestClock::settled`] wakes
    /// when it may have changed instead of polling.
    changes: tokio::sync::watch::Sender<u64>,
}

impl TestClock {
    pub fn new(start: DateTime<Utc>) -> TestClock {
        TestClock {
            inner: Arc::new(Inner {
                now: tokio::sync::watch::Sender::new(start),
                sleepers: Mutex::new(Vec::new()),
                next_id: std::sync::atomic::AtomicU64::new(0),
                changes: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// Moves the clock forward by `by`, waking every sleep that is then due.
    pub fn advance(&self, by: chrono::Duration) {
        assert!(
            by >= chrono::Duration::zero(),
            "a test clock only moves forward"
        );
        self.inner.now.send_modify(|now| *now += by);
    }

    /// Sets the clock to `at` (not earlier than now).
    pub fn set(&self, at: DateTime<Utc>) {
        self.inner.now.send_modify(|now| {
            assert!(at >= *now, "a test clock only moves forward ({now} → {at})");
            *now = at;
        });
    }

    /// How many sleeps are waiting for a time still to come; none of them is due. A sleep that is
    /// due but not yet woken, or woken but not yet gone, makes this `None`: its task is still
    /// catching up with the clock.
    pub fn settled(&self) -> Option<usize> {
        let now = *self.inner.now.borrow();
        let sleepers = self
            .inner
            .sleepers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        sleepers
            .iter()
            .all(|(_, at)| *at > now)
            .then_some(sleepers.len())
    }

    /// Sees every sleep that starts or ends from now on: wait on it (`changed()`) between two
    /// looks at [`TestClock::settled`] instead of polling.
    pub fn sleeps_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Waits up to `within` until something sleeps and no sleep is due ([`TestClock::settled`]
    /// is `Some(n)` with `n > 0`: everything due by now has run), waking at each sleep that
    /// starts or ends; whether it came to that.
    pub async fn until_settled(&self, within: std::time::Duration) -> bool {
        let mut changes = self.sleeps_changed();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            changes.borrow_and_update();
            if self.settled().is_some_and(|n| n > 0) {
                return true;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            // The cap covers a task still running past its wake with no sleep to change.
            let wait = left.min(std::time::Duration::from_millis(20));
            let _ = tokio::time::timeout(wait, changes.changed()).await;
        }
    }

    /// The earliest time a sleep under way waits for.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        let sleepers = self
            .inner
            .sleepers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        sleepers.iter().map(|(_, at)| *at).min()
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.inner.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let id = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner
            .sleepers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, at));
        self.inner.changes.send_modify(|n| *n += 1);
        // Removes the sleep from the list however it ends: woken, or dropped by a `select!`.
        let registered = Registered {
            inner: self.inner.clone(),
            id,
        };
        let mut rx = self.inner.now.subscribe();
        Box::pin(async move {
            let _registered = registered;
            // The sender lives in `_registered`'s `inner`, so `wait_for` never sees it closed.
            let _ = rx.wait_for(|now| *now >= at).await;
        })
    }
}

struct Registered {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.inner
            .sleepers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| *id != self.id);
        self.inner.changes.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn a_sleep_wakes_when_the_clock_reaches_its_time_and_not_before() {
        let clock = TestClock::new(t0());
        let sleep = tokio::spawn(clock.sleep_until(t0() + chrono::Duration::minutes(5)));
        tokio::task::yield_now().await;
        clock.advance(chrono::Duration::minutes(4));
        tokio::task::yield_now().await;
        assert!(!sleep.is_finished(), "woke a minute early");
        assert_eq!(clock.settled(), Some(1));
        clock.advance(chrono::Duration::minutes(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleep)
            .await
            .expect("the sleep woke")
            .unwrap();
        assert_eq!(clock.settled(), Some(0));
        assert_eq!(clock.now(), t0() + chrono::Duration::minutes(5));
    }

    #[tokio::test]
    async fn a_due_sleep_is_not_settled_until_it_has_woken() {
        let clock = TestClock::new(t0());
        let sleep = clock.sleep_until(t0() + chrono::Duration::seconds(1));
        clock.advance(chrono::Duration::seconds(2));
        assert_eq!(clock.settled(), None);
        sleep.await;
        assert_eq!(clock.settled(), Some(0));
    }

    #[test]
    #[should_panic(expected = "only moves forward")]
    fn a_test_clock_does_not_go_back() {
        TestClock::new(t0()).set(t0() - chrono::Duration::seconds(1));
    }
}
