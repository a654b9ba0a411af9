//! Client-side pacing by Slack's published rate limits, so a fan-out to a big team runs at the
//! rate Slack allows instead of into a storm of 429s.
//!
//! Web API methods are limited per method and workspace by tier (1: 1+/min, 2: 20+/min, 3:
//! 50+/min, 4: 100+/min); `chat.postMessage` is limited to about one message per second per
//! channel. Waiting for pacing happens before a call's timeout starts. A 429 that still comes
//! (another app on the same token, a restart) is handled by the client's retry with
//! `Retry-After`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// Calls per minute a method's tier allows.
fn per_minute(method: &str) -> u32 {
    match method {
        "users.list" => 20,
        "conversations.open"
        | "conversations.history"
        | "conversations.replies"
        | "chat.update"
        | "conversations.info" => 50,
        _ => 100,
    }
}

type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;
type Keyed<C> =
    RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The pacing of one Slack client (one workspace), on governor's clock (a fake one in tests,
/// so they count what goes at once instead of timing it).
#[derive(Debug)]
pub struct Pacing<C: Clock = DefaultClock> {
    clock: C,
    methods: Mutex<HashMap<&'static str, Arc<Direct<C>>>>,
    channels: Keyed<C>,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::with_clock(DefaultClock::default())
    }
}

impl<C: Clock + Clone> Pacing<C> {
    fn with_clock(clock: C) -> Self {
        let one = NonZeroU32::MIN;
        let three = NonZeroU32::new(3).unwrap_or(one);
        Pacing {
            // One message a second per channel, with a short burst as Slack allows.
            channels: RateLimiter::new(
                Quota::per_second(one).allow_burst(three),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            methods: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Waits until a call to `method` (posting into `channel`, if any) fits the limits.
    pub async fn wait(&self, method: &'static str, channel: Option<&str>) {
        while let Err(wait) = self.check(method, channel) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a place for a call to `method` if the limits allow one now; otherwise says how
    /// long until they may.
    fn check(&self, method: &'static str, channel: Option<&str>) -> Result<(), Duration> {
        // Reconnecting has its own backoff (see `socket`); Slack tolerates reconnect bursts.
        if method == "apps.connections.open" {
            return Ok(());
        }
        let outcome = match (method, channel) {
            ("chat.postMessage", Some(channel)) => {
                self.channels.check_key(&channel.to_string()).map(|_| ())
            }
            ("chat.postMessage", None) => Ok(()),
            _ => self.limiter(method).check().map(|_| ()),
        };
        outcome.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn limiter(&self, method: &'static str) -> Arc<Direct<C>> {
        let mut methods = self.methods.lock().unwrap_or_else(|p| p.into_inner());
        methods
            .entry(method)
            .or_insert_with(|| {
                let n = NonZeroU32::new(per_minute(method)).unwrap_or(NonZeroU32::MIN);
                // Slack lets a method burst up to its minute's allowance; a 429 after a
                // restart (Slack's count did not restart) is handled by `Retry-After`.
                Arc::new(RateLimiter::direct_with_clock(
                    Quota::per_minute(n),
                    self.clock.clone(),
                ))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn post(pacing: &Pacing<FakeRelativeClock>, channel: &str) -> Result<(), Duration> {
        pacing.check("chat.postMessage", Some(channel))
    }

    #[test]
    fn posts_to_one_channel_are_spaced_and_other_channels_are_not_held_up() {
        let clock = FakeRelativeClock::default();
        let pacing = Pacing::with_clock(clock.clone());
        // Three go at once (the burst); the fourth must wait a second.
        for n in 1..=3 {
            assert_eq!(post(&pacing, "C1"), Ok(()), "post {n}");
        }
        assert_eq!(post(&pacing, "C1"), Err(Duration::from_secs(1)));
        // Another channel is not held up by the first one's queue.
        assert_eq!(post(&pacing, "C2"), Ok(()));
        // Half a second later the fourth still waits, the rest of the second.
        clock.advance(Duration::from_millis(500));
        assert_eq!(post(&pacing, "C1"), Err(Duration::from_millis(500)));
        clock.advance(Duration::from_millis(500));
        assert_eq!(post(&pacing, "C1"), Ok(()));
        assert_eq!(post(&pacing, "C1"), Err(Duration::from_secs(1)));
    }

    #[test]
    fn a_method_bursts_to_its_tier_then_waits_for_the_next_share() {
        let clock = FakeRelativeClock::default();
        let pacing = Pacing::with_clock(clock.clone());
        for n in 1..=20 {
            assert_eq!(pacing.check("users.list", None), Ok(()), "call {n}");
        }
        // Tier 2: 20 a minute, so the 21st waits three seconds; other methods go on.
        assert_eq!(
            pacing.check("users.list", None),
            Err(Duration::from_secs(3))
        );
        assert_eq!(pacing.check("users.info", None), Ok(()));
        assert_eq!(pacing.check("apps.connections.open", None), Ok(()));
        clock.advance(Duration::from_secs(3));
        assert_eq!(pacing.check("users.list", None), Ok(()));
    }

    #[tokio::test]
    async fn wait_holds_a_call_until_the_limit_allows_it() {
        let clock = FakeRelativeClock::default();
        let pacing = Arc::new(Pacing::with_clock(clock.clone()));
        for _ in 0..3 {
            pacing.wait("chat.postMessage", Some("C1")).await;
        }
        let fourth = tokio::spawn({
            let pacing = pacing.clone();
            async move { pacing.wait("chat.postMessage", Some("C1")).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        // The limiter's clock has not moved, so the fourth post cannot have gone.
        assert!(!fourth.is_finished());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(10), fourth)
            .await
            .expect("the post goes once its second has passed")
            .unwrap();
        assert_eq!(post(&pacing, "C1"), Err(Duration::from_secs(1)));
    }

    #[test]
    fn tiers_follow_slacks_table() {
        assert_eq!(per_minute("users.info"), 100);
        assert_eq!(per_minute("conversations.history"), 50);
        assert_eq!(per_minute("users.list"), 20);
    }
}
