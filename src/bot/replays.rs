//! HTTP mode's replay ledger for replicas: the signatures of accepted slash commands and
//! interactions kept in the shared database (see [`crate::slack::http::ReplayLedger`]), so the
//! same signed request sent to two replicas acts once. Rows past Slack's window are deleted as
//! requests come, at most once a minute per replica.
//!
//! A database that cannot be reached fails the check closed: the request is refused with 503.
//! A command or click refused shows its user an error and they try again (it could not have
//! done its work anyway: that needs the database too), while one let through unchecked could
//! be replayed later and act twice.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::slack::http::{LedgerError, ReplayLedger};
use crate::store::Db;

/// How often a replica deletes the signatures past the window, at most (seconds).
const PRUNE_EVERY: i64 = 60;

/// The ledger in the database.
#[derive(Debug)]
pub struct SharedReplays {
    db: Db,
    /// Slack's window, in seconds: older requests fail the timestamp check anyway.
    window: i64,
    /// When this replica last deleted old signatures (Unix seconds).
    pruned: AtomicI64,
}

impl SharedReplays {
    pub fn new(db: Db, window: Duration) -> SharedReplays {
        SharedReplays {
            db,
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX),
            pruned: AtomicI64::new(0),
        }
    }
}

impl ReplayLedger for SharedReplays {
    fn first_time(
        &self,
        timestamp: i64,
        signature: [u8; 32],
        now: i64,
    ) -> BoxFuture<'static, Result<bool, LedgerError>> {
        let db = self.db.clone();
        let key = hex::encode(signature);
        let last = self.pruned.load(Ordering::Relaxed);
        let prune = now.saturating_sub(last) >= PRUNE_EVERY
            && self
                .pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        let before = now.saturating_sub(self.window);
        Box::pin(async move {
            let first: Result<bool, crate::store::Error> = db
                .write(move |s| {
                    if prune {
                        s.prune_requests(before)?;
                    }
                    s.first_request(&key, timestamp)
                })
                .await;
            first.map_err(|e| LedgerError::Unavailable(e.to_string()))
        })
    }
}
