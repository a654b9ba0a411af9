//! Slack-like rate limiting: per-method tiers and `chat.postMessage` per channel.

use crate::config::RateLimits;
use std::collections::HashMap;
use std::time::Instant;

/// The tier (1 to 4) Slack documents for a method; unknown methods count as tier 3.
pub(crate) fn tier(method: &str) -> usize {
    match method {
        "apps.connections.open" => 1,
        // conversations.list: "Tier 2: 20+ per minute" on its method page.
        "users.list" | "conversations.list" => 2,
        // users.lookupByEmail: "Tier 3: 50+ per minute" on its method page.
        "users.lookupByEmail"
        | "chat.update"
        | "conversations.open"
        | "conversations.info"
        | "conversations.history"
        | "conversations.replies" => 3,
        "auth.test"
        | "chat.postEphemeral"
        | "users.info"
        | "views.open"
        | "views.update"
        | "views.publish"
        | "views.push"
        | "conversations.members"
        | "files.getUploadURLExternal"
        | "files.completeUploadExternal" => 4,
        _ => 3,
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    at: Instant,
}

impl Bucket {
    fn new(capacity: f64, per_sec: f64, now: Instant) -> Self {
        Self {
            tokens: capacity,
            capacity,
            per_sec,
            at: now,
        }
    }

    /// Takes a token, or says how many whole seconds until one is available.
    fn take(&mut self, now: Instant) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.per_sec;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

/// Token buckets keyed by method, or by method and channel for `chat.postMessage`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: RateLimits,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: HashMap::new(),
        }
    }

    /// `Err(retry_after_secs)` when this call is over the limit.
    pub(crate) fn check(
        &mut self,
        method: &str,
        channel: Option<&str>,
        now: Instant,
    ) -> Result<(), u64> {
        let (key, capacity, per_sec) = match (method, channel) {
            ("chat.postMessage", Some(channel)) => (
                format!("{method}#{channel}"),
                self.limits.post_message_burst.max(1) as f64,
                self.limits.post_message_per_second.max(1) as f64,
            ),
            _ => {
                let per_minute = self.limits.tier_per_minute[tier(method) - 1].max(1) as f64;
                (method.to_string(), per_minute, per_minute / 60.0)
            }
        };
        self.buckets
            .entry(key)
            .or_insert_with(|| Bucket::new(capacity, per_sec, now))
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn post_message_allows_a_burst_then_one_per_second_per_channel() {
        let mut rl = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(rl.check("chat.postMessage", Some("C1"), t0), Ok(()));
        }
        assert_eq!(rl.check("chat.postMessage", Some("C1"), t0), Err(1));
        assert_eq!(rl.check("chat.postMessage", Some("C2"), t0), Ok(()));
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(rl.check("chat.postMessage", Some("C1"), t1), Ok(()));
    }

    #[test]
    fn tier_one_allows_one_per_minute() {
        let mut rl = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        assert_eq!(rl.check("apps.connections.open", None, t0), Ok(()));
        assert_eq!(rl.check("apps.connections.open", None, t0), Err(60));
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(rl.check("apps.connections.open", None, t1), Err(30));
    }
}
