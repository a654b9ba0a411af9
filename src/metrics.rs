//! The bot's Prometheus metrics: what operators graph and alert on (Slack's traffic in and out,
//! how late scheduled jobs run, replies recorded and notes posted), served as `GET /metrics`
//! beside `/healthz` in the Prometheus text format.
//!
//! One [`Metrics`] handle is made per running bot and passed down explicitly (the Slack
//! client, the app and the transports hold clones of it) rather than kept in a global: two bots
//! in one process (the tests) then count apart. It sits below the edges so `slack`, `app` and
//! `bot` can all count into it without using each other.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s text: Prometheus's text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// What Slack sent the bot: an Events API event, a slash command or an interaction (a click or
/// a form submission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inbound {
    Event,
    Command,
    Interaction,
}

impl Inbound {
    const ALL: [Inbound; 3] = [Inbound::Event, Inbound::Command, Inbound::Interaction];

    fn label(self) -> &'static str {
        match self {
            Inbound::Event => "event",
            Inbound::Command => "command",
            Inbound::Interaction => "interaction",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    /// `ok`, `rate_limited`, `timeout`, `transport`, or Slack's error code.
    outcome: String,
}

/// How late a job may run, in seconds: from a scheduler that is on time (well under a second)
/// to one that was down for a day and runs a missed post at start.
const LAG_BUCKETS: [f64; 12] = [
    0.1,
    0.5,
    1.0,
    5.0,
    15.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
    86400.0,
];

/// The kinds of scheduled job (`JobKey::kind` in the store).
const JOB_KINDS: [&str; 3] = ["prompt", "remind", "post"];

fn lag_histogram() -> Histogram {
    Histogram::new(LAG_BUCKETS)
}

/// Slack error codes are Slack's own words, but an unknown code must not grow the label set
/// without bound (one time series per code); the rest share one label.
const MAX_CODE_LEN: usize = 64;

/// The bot's metrics; cheap to clone, every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    received: Family<KindLabels, Counter>,
    acked: Family<KindLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    rate_limited: Family<MethodLabels, Counter>,
    job_lag: Family<KindLabels, Histogram, fn() -> Histogram>,
    replies: Counter,
    notes: Counter,
    leading: Gauge,
    epoch: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric of the bot, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let received = Family::<KindLabels, Counter>::default();
        registry.register(
            "standup_events_received",
            "Requests Slack sent the bot (kind: event, command or interaction), before it stored or answered them",
            received.clone(),
        );
        let acked = Family::<KindLabels, Counter>::default();
        registry.register(
            "standup_events_acked",
            "Requests the bot stored or answered, so acked (one it could not store is not acked and Slack delivers it again)",
            acked.clone(),
        );
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "standup_slack_calls",
            "Slack Web API requests by method and outcome (ok, a Slack error code, rate_limited, timeout, transport); each retry counts",
            calls.clone(),
        );
        let rate_limited = Family::<MethodLabels, Counter>::default();
        registry.register(
            "standup_slack_rate_limited",
            "HTTP 429 answers Slack gave the bot's Web API calls, by method",
            rate_limited.clone(),
        );
        let job_lag =
            Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(lag_histogram);
        registry.register(
            "standup_job_lag_seconds",
            "How late scheduled jobs (kind: prompt, remind, post) started, in seconds after they were due",
            job_lag.clone(),
        );
        let replies = Counter::default();
        registry.register(
            "standup_replies_recorded",
            "Member replies (messages, edits, deletions, form answers) that changed a stored update",
            replies.clone(),
        );
        let notes = Counter::default();
        registry.register(
            "standup_notes_posted",
            "Meeting notes posted to a team channel (first posts, not refreshes)",
            notes.clone(),
        );
        let leading = Gauge::default();
        registry.register(
            "standup_scheduler_leader",
            "1 while this replica holds the scheduler's lease and runs the schedule, else 0 (one replica of a database shows 1)",
            leading.clone(),
        );
        let epoch = Gauge::default();
        registry.register(
            "standup_scheduler_epoch",
            "The scheduler lease's epoch this replica last led under (0: never led); grows by one with each new leader",
            epoch.clone(),
        );
        // Series known in advance start at zero: a family with none is left out of the text,
        // and a counter that appears only at its first increase hides that increase from
        // `rate()`.
        for kind in Inbound::ALL {
            let labels = KindLabels { kind: kind.label() };
            let _ = received.get_or_create(&labels);
            let _ = acked.get_or_create(&labels);
        }
        for kind in JOB_KINDS {
            let _ = job_lag.get_or_create(&KindLabels { kind });
        }
        Metrics(Arc::new(Inner {
            registry,
            received,
            acked,
            calls,
            rate_limited,
            job_lag,
            replies,
            notes,
            leading,
            epoch,
        }))
    }

    /// This replica took the scheduler's lease at `epoch` (`Some`), or stopped leading.
    pub fn leading(&self, epoch: Option<i64>) {
        match epoch {
            Some(epoch) => {
                self.0.leading.set(1);
                self.0.epoch.set(epoch);
            }
            None => {
                self.0.leading.set(0);
            }
        }
    }

    /// Slack sent a request of `kind`.
    pub fn received(&self, kind: Inbound) {
        self.0
            .received
            .get_or_create(&KindLabels { kind: kind.label() })
            .inc();
    }

    /// The bot acked a request of `kind`.
    pub fn acked(&self, kind: Inbound) {
        self.0
            .acked
            .get_or_create(&KindLabels { kind: kind.label() })
            .inc();
    }

    /// One Web API request of `method` ended with `outcome` (see [`Outcome`]).
    pub fn slack_call(&self, method: &'static str, outcome: Outcome<'_>) {
        let outcome = match outcome {
            Outcome::Ok => "ok".to_string(),
            Outcome::RateLimited => "rate_limited".to_string(),
            Outcome::Timeout => "timeout".to_string(),
            Outcome::Transport => "transport".to_string(),
            Outcome::Slack(code)
                if !code.is_empty()
                    && code.len() <= MAX_CODE_LEN
                    && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                code.to_string()
            }
            Outcome::Slack(_) => "other_error".to_string(),
        };
        self.0
            .calls
            .get_or_create(&CallLabels { method, outcome })
            .inc();
    }

    /// Slack answered a request of `method` with HTTP 429.
    pub fn rate_limited(&self, method: &'static str) {
        self.0
            .rate_limited
            .get_or_create(&MethodLabels { method })
            .inc();
    }

    /// A scheduled job of `kind` started `seconds` after it was due.
    pub fn job_lag(&self, kind: &'static str, seconds: f64) {
        self.0
            .job_lag
            .get_or_create(&KindLabels { kind })
            .observe(seconds.max(0.0));
    }

    /// A member's reply changed their stored update.
    pub fn reply_recorded(&self) {
        self.0.replies.inc();
    }

    /// A team's notes were posted.
    pub fn notes_posted(&self) {
        self.0.notes.inc();
    }

    /// Every metric in Prometheus's text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail, and label values are ours.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry);
        text
    }
}

/// How one Web API request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Ok,
    /// HTTP 429, or Slack's `ratelimited` error.
    RateLimited,
    Timeout,
    /// No usable answer: a connection error, a 5xx, a body that could not be read.
    Transport,
    /// Slack answered `ok: false` with this error code.
    Slack(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_in_the_text_with_its_help() {
        let m = Metrics::new();
        m.received(Inbound::Event);
        m.acked(Inbound::Command);
        m.slack_call("chat.postMessage", Outcome::Ok);
        m.slack_call("chat.postMessage", Outcome::Slack("channel_not_found"));
        m.slack_call("chat.postMessage", Outcome::Slack("Not a <code>"));
        m.rate_limited("chat.postMessage");
        m.job_lag("prompt", 2.5);
        m.reply_recorded();
        m.notes_posted();
        let text = m.render();
        for line in [
            "# HELP standup_events_received_total Requests Slack sent",
            "standup_events_received_total{kind=\"event\"} 1",
            "standup_events_acked_total{kind=\"command\"} 1",
            "standup_slack_calls_total{method=\"chat.postMessage\",outcome=\"ok\"} 1",
            "standup_slack_calls_total{method=\"chat.postMessage\",outcome=\"channel_not_found\"} 1",
            "standup_slack_calls_total{method=\"chat.postMessage\",outcome=\"other_error\"} 1",
            "standup_slack_rate_limited_total{method=\"chat.postMessage\"} 1",
            "standup_job_lag_seconds_bucket{kind=\"prompt\",le=\"5\"} 1",
            "standup_job_lag_seconds_count{kind=\"prompt\"} 1",
            "standup_replies_recorded_total 1",
            "standup_notes_posted_total 1",
        ] {
            assert!(text.contains(line), "no `{line}` in:\n{text}");
        }
    }
}
