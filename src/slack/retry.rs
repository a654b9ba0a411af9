//! The one retry policy of the Slack edge: exponential backoff from a first wait, doubling up to
//! a cap, optionally with jitter. Web API calls ([`super::client`]) and Socket Mode reconnects
//! ([`super::socket`]) both wait by it; what counts as worth retrying, and Slack's own
//! `Retry-After`, stay with each caller.

use std::time::Duration;

/// How long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// Waits double up to this.
    pub max: Duration,
    /// Add up to a quarter to each wait, so many clients that failed together (bots restarted
    /// at once, a Slack outage ending) do not come back in step.
    pub jitter: bool,
}

impl Backoff {
    /// The waits for one run of failures, starting from [`Backoff::first`].
    pub fn waits(self) -> Waits {
        Waits {
            policy: self,
            next: self.first,
        }
    }
}

/// The waits of one run of failures, in order.
#[derive(Debug, Clone)]
pub struct Waits {
    policy: Backoff,
    next: Duration,
}

impl Waits {
    /// The wait before the next try; the one after is twice as long, up to the cap.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.policy.max);
        if self.policy.jitter {
            wait + wait.mul_f64(fastrand::f64() / 4.0)
        } else {
            wait
        }
    }

    /// Starts over from the first wait (the failures have stopped).
    pub fn reset(&mut self) {
        self.next = self.policy.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEADY: Backoff = Backoff {
        first: Duration::from_millis(250),
        max: Duration::from_secs(2),
        jitter: false,
    };

    #[test]
    fn waits_double_up_to_the_cap() {
        let mut waits = STEADY.waits();
        let got: Vec<u64> = (0..6)
            .map(|_| waits.next_wait().as_millis() as u64)
            .collect();
        assert_eq!(got, [250, 500, 1000, 2000, 2000, 2000]);
    }

    #[test]
    fn reset_starts_over() {
        let mut waits = STEADY.waits();
        waits.next_wait();
        waits.next_wait();
        waits.reset();
        assert_eq!(waits.next_wait(), Duration::from_millis(250));
    }

    #[test]
    fn jitter_adds_at_most_a_quarter_and_spreads_the_waits() {
        let policy = Backoff {
            first: Duration::from_secs(4),
            max: Duration::from_secs(4),
            jitter: true,
        };
        let mut waits = policy.waits();
        let got: Vec<Duration> = (0..50).map(|_| waits.next_wait()).collect();
        for wait in &got {
            assert!(
                *wait >= Duration::from_secs(4) && *wait <= Duration::from_secs(5),
                "{wait:?}"
            );
        }
        // Fifty draws from a continuous range are not all equal unless the jitter is missing.
        assert!(got.iter().any(|w| *w != got[0]), "no spread: {got:?}");
    }
}
