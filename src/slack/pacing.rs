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

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

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

/// The pacing of one Slack client (one workspace).
#[derive(Debug)]
pub struct Pacing {
    methods: Mutex<HashMap<&'static str, Arc<DefaultDirectRateLimiter>>>,
    channels: DefaultKeyedRateLimiter<String>,
}

impl Default for Pacing {
    fn default() -> Self {
        let one = NonZeroU32::MIN;
        let three = NonZeroU32::new(3).unwrap_or(one);
        Pacing {
            methods: Mutex::new(HashMap::new()),
            // One message a second per channel, with a short burst as Slack allows.
            channels: RateLimiter::keyed(Quota::per_second(one).allow_burst(three)),
        }
    }
}

impl Pacing {
    /// Waits until a call to `method` (posting into `channel`, if any) fits the limits.
    pub async fn wait(&self, method: &'static str, channel: Option<&str>) {
        // Reconnecting has its own backoff (see `socket`); Slack tolerates reconnect bursts.
        if method == "apps.connections.open" {
            return;
        }
        let limiter = {
            let mut methods = self.methods.lock().unwrap_or_else(|p| p.into_inner());
            methods
                .entry(method)
                .or_insert_with(|| {
                    let n = NonZeroU32::new(per_minute(method)).unwrap_or(NonZeroU32::MIN);
                    // Slack lets a method burst up to its minute's allowance; a 429 after a
                    // restart (Slack's count did not restart) is handled by `Retry-After`.
                    Arc::new(RateLimiter::direct(Quota::per_minute(n)))
                })
                .clone()
        };
        if method == "chat.postMessage" {
            if let Some(channel) = channel {
                self.channels.until_key_ready(&channel.to_string()).await;
            }
            return;
        }
        limiter.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn posts_to_one_channel_are_spaced_and_other_channels_are_not_held_up() {
        let pacing = Pacing::default();
        let start = Instant::now();
        for _ in 0..4 {
            pacing.wait("chat.postMessage", Some("C1")).await;
        }
        // Three go at once (the burst), the fourth a second later.
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        let other = Instant::now();
        pacing.wait("chat.postMessage", Some("C2")).await;
        assert!(other.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn tiers_follow_slacks_table() {
        assert_eq!(per_minute("users.info"), 100);
        assert_eq!(per_minute("conversations.history"), 50);
        assert_eq!(per_minute("users.list"), 20);
    }
}
