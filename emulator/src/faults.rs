//! Scripted failures for Web API methods, consumed one per call in the order given.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// One scripted failure of one Web API call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: {retry_after_secs}` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Seconds in the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// An HTTP error status (500, 503, ...) with a plain-text body.
    Status(u16),
    /// HTTP 200 with `{"ok":false,"error":"<code>"}`.
    SlackError(String),
    /// HTTP 200, `application/json`, with a body that is not JSON.
    Malformed,
    /// Wait this long, then answer normally (for client timeouts).
    Delay(Duration),
    /// Never answer (the connection stays open until the client gives up).
    Hang,
    /// Do what was asked, then wait this long before answering: the effect happened, but a
    /// client that times out or dies first cannot know it.
    LateAnswer(Duration),
}

/// Per-method queues of faults.
#[derive(Debug, Default)]
pub(crate) struct FaultQueues {
    queues: HashMap<String, VecDeque<Fault>>,
}

impl FaultQueues {
    pub(crate) fn push(&mut self, method: &str, fault: Fault) {
        self.queues
            .entry(method.to_string())
            .or_default()
            .push_back(fault);
    }

    /// The next fault for `method`, if one is scripted.
    pub(crate) fn pop(&mut self, method: &str) -> Option<Fault> {
        self.queues.get_mut(method)?.pop_front()
    }

    pub(crate) fn clear(&mut self) {
        self.queues.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_per_method() {
        let mut q = FaultQueues::default();
        q.push("chat.postMessage", Fault::Status(500));
        q.push("chat.postMessage", Fault::Malformed);
        q.push("users.info", Fault::Hang);
        assert_eq!(q.pop("chat.postMessage"), Some(Fault::Status(500)));
        assert_eq!(q.pop("users.info"), Some(Fault::Hang));
        assert_eq!(q.pop("chat.postMessage"), Some(Fault::Malformed));
        assert_eq!(q.pop("chat.postMessage"), None);
    }
}
