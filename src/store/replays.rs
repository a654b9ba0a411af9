//! HTTP mode's replay ledger, shared by replicas: the signatures of the slash commands and
//! interactions accepted within Slack's five-minute window, so the same signed request sent to
//! two replicas is acted on once. A signature commits to its request's timestamp and body, so
//! it names one request; a row past the window can go, since a replay that old fails the
//! timestamp check anyway.

use super::sql::params;
use super::{Result, Store};

impl Store {
    /// Remembers a request's `signature` (its timestamp, Unix seconds, beside it); false when
    /// it was remembered before: the request is a replay.
    pub fn first_request(&mut self, signature: &str, request_ts: i64) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO http_replays (signature, request_ts, workspace) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![signature, request_ts, self.workspace],
        )?;
        Ok(n == 1)
    }

    /// Forgets the signatures of requests timestamped before `before` (Unix seconds).
    pub fn prune_requests(&mut self, before: i64) -> Result<usize> {
        self.conn.execute(
            "DELETE FROM http_replays WHERE request_ts < ?1",
            params![before],
        )
    }
}
