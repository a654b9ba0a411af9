//! The Slack pacing replicas share on PostgreSQL: [`crate::slack::pacing::SharedPacing`] over
//! the store's `slack_rates` rows (see [`crate::store::Store::reserve_rate`]), on a connection
//! of its own so a reservation never queues behind the store's other writes.
//!
//! Only replicas on PostgreSQL install it (`bot::run`); a bot on SQLite is one process and paces
//! in memory. When the database fails to answer, the client paces the call locally and says so
//! once (see `slack::pacing`).

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use crate::slack::pacing::{Limit, SharedError, SharedPacing};
use crate::store::{Db, RateKey};

/// How often idle rows are deleted (by the replica that reserves first after that long).
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);
/// A row idle this long is deleted: nothing is queued on it and no block holds (an idle row
/// says what no row says; the margin only keeps the rows a busy channel reuses).
const IDLE: Duration = Duration::from_secs(60);

/// The shared pacing of one workspace.
pub struct StorePacing {
    /// The pacing's own connection ([`Db::start_writer_only`]).
    db: Db,
    workspace: String,
    /// When idle rows were last deleted by this replica.
    pruned: Mutex<Instant>,
}

impl StorePacing {
    pub fn new(db: Db, workspace: &str) -> StorePacing {
        StorePacing {
            db,
            workspace: workspace.to_string(),
            pruned: Mutex::new(Instant::now()),
        }
    }

    /// Whether this reservation also deletes the idle rows (at most once per [`PRUNE_EVERY`]).
    fn prune_due(&self) -> bool {
        let mut pruned = self.pruned.lock().unwrap_or_else(|p| p.into_inner());
        if pruned.elapsed() < PRUNE_EVERY {
            return false;
        }
        *pruned = Instant::now();
        true
    }
}

fn keys(limits: &[Limit]) -> Vec<RateKey> {
    limits
        .iter()
        .map(|l| RateKey {
            key: l.key.clone(),
            interval: l.rate.interval,
            burst: l.rate.burst,
        })
        .collect()
}

impl SharedPacing for StorePacing {
    fn reserve<'a>(&'a self, limits: &'a [Limit]) -> BoxFuture<'a, Result<Duration, SharedError>> {
        let (keys, workspace, prune) = (keys(limits), self.workspace.clone(), self.prune_due());
        Box::pin(async move {
            self.db
                .write(move |s| {
                    let wait = s.reserve_rate(&workspace, &keys)?;
                    if prune {
                        match s.prune_rates(IDLE) {
                            Ok(n) => tracing::debug!(rows = n, "idle Slack pacing rows deleted"),
                            Err(e) => {
                                tracing::warn!(error = %e, "could not delete idle Slack pacing rows")
                            }
                        }
                    }
                    Ok::<_, crate::store::Error>(wait)
                })
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn block<'a>(
        &'a self,
        limits: &'a [Limit],
        retry_after: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        let (keys, workspace) = (keys(limits), self.workspace.clone());
        Box::pin(async move {
            self.db
                .write(move |s| s.block_rate(&workspace, &keys, retry_after))
                .await
                .map_err(|e| e.to_string())
        })
    }
}
