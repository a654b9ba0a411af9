//! Slack events as received: written before Slack gets its ack, so an acknowledged event is
//! never lost, and keyed by `event_id`, so a redelivered one is applied once.

use super::sql::{Begin, Engine, params};
use chrono::{DateTime, Utc};

use super::{Error, Received, Result, Store, ts};

/// Attempts, over all runs, after which a pending event is left alone (it keeps its last
/// error): enough for a long outage of Slack or the disk, not endless for an event that crashes
/// the bot.
pub const MAX_EVENT_ATTEMPTS: i64 = 20;

/// How long the replica that stored an event (or took it over) has it to itself: its handling
/// with retries takes well under this, so a claim runs out only when the replica died.
pub const EVENT_CLAIM: chrono::Duration = chrono::Duration::seconds(60);

impl Store {
    /// Stores an event before it is acknowledged. False when the id was seen before (a
    /// redelivery, or the same event over a second connection).
    pub fn receive_event(
        &mut self,
        event_id: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO inbox (event_id, payload, received_at, workspace) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![event_id, payload, ts(now), self.workspace],
        )?;
        Ok(n == 1)
    }

    /// Stores a group of events in one transaction, one savepoint each: an event that cannot
    /// be stored (the size cap reached by its payload) fails alone and the others are kept.
    /// The outer error (the write lock not had within the busy timeout, a failed commit)
    /// means none was stored. Each answer is false for an id seen before.
    pub fn receive_events(&mut self, events: &[Received]) -> Result<Vec<Result<bool>>> {
        // Events refused so far; a failure that made SQLite roll back the whole transaction
        // (a full disk does) starts the group again without them.
        let mut refused: Vec<Option<Error>> = vec![None; events.len()];
        let claimant = self.claimant().map(str::to_string);
        let workspace = self.workspace.as_str();
        loop {
            let mut restart = false;
            let stored = self.conn.transaction_with(Begin::Immediate, |tx| {
                restart = false;
                let mut fresh = Vec::with_capacity(events.len());
                for (i, event) in events.iter().enumerate() {
                    if refused[i].is_some() {
                        fresh.push(false);
                        continue;
                    }
                    let one = tx.savepoint(|one| {
                        one.execute(
                            "INSERT INTO inbox (event_id, payload, received_at, claimed_by, claim_until, workspace)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                            params![
                                event.id,
                                event.payload,
                                ts(event.at),
                                claimant,
                                claimant.as_ref().map(|_| ts(event.at + EVENT_CLAIM)),
                                workspace
                            ],
                        )
                    });
                    match one {
                        Ok(n) => fresh.push(n == 1),
                        Err(e) => {
                            // The savepoint rolled back this event alone, unless SQLite
                            // already rolled back the whole transaction.
                            refused[i] = Some(e.clone());
                            if !tx.in_transaction() {
                                restart = true;
                                return Err(e);
                            }
                            fresh.push(false);
                        }
                    }
                }
                Ok(fresh)
            });
            if restart {
                continue;
            }
            return Ok(stored?
                .into_iter()
                .zip(refused)
                .map(|(fresh, refused)| refused.map_or(Ok(fresh), Err))
                .collect());
        }
    }

    /// Counts an attempt at handling an event, before the attempt (so an event that crashes
    /// the process is not tried for ever).
    pub fn event_attempt(&mut self, event_id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE inbox SET attempts = attempts + 1 WHERE event_id = ?1",
            params![event_id],
        )?;
        Ok(())
    }

    /// Marks an event handled, or records why this attempt failed.
    pub fn event_done(
        &mut self,
        event_id: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match error {
            None => self.conn.execute(
                "UPDATE inbox SET handled_at = ?2, last_error = NULL WHERE event_id = ?1",
                params![event_id, ts(now)],
            )?,
            Some(e) => self.conn.execute(
                "UPDATE inbox SET last_error = ?2 WHERE event_id = ?1",
                params![event_id, e],
            )?,
        };
        Ok(())
    }

    /// Events stored but not handled (a crash or a failure came between), oldest first, with
    /// their payloads; those tried [`MAX_EVENT_ATTEMPTS`] times are left out.
    pub fn pending_events(&self) -> Result<Vec<(String, String)>> {
        // Events of one millisecond in the order they came: SQLite's rowid, PostgreSQL's
        // identity column (a table's rows have no order of their own there).
        let sql = match self.conn.engine() {
            Engine::Sqlite => {
                "SELECT event_id, payload FROM inbox WHERE handled_at IS NULL AND attempts < ?1
                 ORDER BY received_at, rowid"
            }
            Engine::Postgres => {
                "SELECT event_id, payload FROM inbox WHERE handled_at IS NULL AND attempts < ?1
                 ORDER BY received_at, seq"
            }
        };
        let rows = self.conn.query_map(sql, params![MAX_EVENT_ATTEMPTS], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows)
    }

    /// The events stored but not handled that this replica may take, claimed for it, oldest
    /// first: on SQLite every pending one ([`Store::pending_events`]); on PostgreSQL those no
    /// other live replica has a claim on (one that ran out, or whose replica has no connection
    /// left, is taken over; rows another replica is claiming right now are skipped, not waited
    /// for).
    pub fn claim_pending_events(&mut self, now: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        let Some(me) = self.claimant().map(str::to_string) else {
            return self.pending_events();
        };
        let mut rows: Vec<(i64, String, String, String)> = self.conn.transaction(|tx| {
            tx.query_map(
                "UPDATE inbox SET claimed_by = ?1, claim_until = ?3
                 WHERE event_id IN (
                     SELECT event_id FROM inbox
                     WHERE handled_at IS NULL AND attempts < ?4
                       AND (claim_until IS NULL OR claim_until < ?2 OR claimed_by = ?1
                            OR claimed_by NOT IN (SELECT application_name FROM pg_stat_activity
                                                  WHERE application_name IS NOT NULL))
                     FOR UPDATE SKIP LOCKED)
                 RETURNING seq, received_at, event_id, payload",
                params![me, ts(now), ts(now + EVENT_CLAIM), MAX_EVENT_ATTEMPTS],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })?;
        rows.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
        Ok(rows
            .into_iter()
            .map(|(_, _, id, payload)| (id, payload))
            .collect())
    }

    /// Forgets the payloads of events handled before `before`; their ids stay, so a very late
    /// redelivery is still recognised.
    pub fn prune_inbox(&mut self, before: DateTime<Utc>) -> Result<usize> {
        self.conn.execute(
            "UPDATE inbox SET payload = '' WHERE handled_at IS NOT NULL AND handled_at < ?1 AND payload != ''",
            params![ts(before)],
        )
    }
}
