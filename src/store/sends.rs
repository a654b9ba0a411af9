//! Messages the bot sends once: each has a key, recorded before the send and completed with
//! Slack's `ts` after. A key found started but not completed means the send was cut short (a
//! crash, a timeout after Slack had posted): the caller looks for it in Slack before sending.
//! A send whose lookup keeps failing (a missing scope, say) is given up after a bounded number
//! of lookups and keeps Slack's error, for the team's admins to see.

use super::sql::params;
use chrono::{DateTime, Utc};

use super::{Result, Store, parse_ts, ts};
use standup_core::domain::{ChannelId, TeamId};

/// What [`Store::begin_send`] found for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendStart {
    /// Never tried: go ahead.
    Fresh,
    /// Tried before without a recorded end: it may be in Slack already.
    Unsure {
        channel: ChannelId,
        thread_ts: Option<String>,
        started_at: DateTime<Utc>,
        /// What the attempt noted on the way (a file id).
        detail: Option<String>,
    },
    /// Sent; Slack's ts.
    Sent(String),
    /// Given up: it may be in Slack, and looking it up kept failing with this error.
    Failed(String),
    /// Another replica is sending it now (its claim has not run out): leave it to that one.
    Claimed,
}

/// How long a replica's claim on a send lasts: longer than any Slack call takes with its
/// retries, so a claim runs out only when its replica died (or was paused) mid-send.
pub const SEND_CLAIM: chrono::Duration = chrono::Duration::seconds(120);

/// A send given up because it could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSend {
    pub key: String,
    pub channel: ChannelId,
    /// Slack's error and what to do about it.
    pub error: String,
    pub failed_at: DateTime<Utc>,
}

/// `channel, thread_ts, started_at, detail, ts, error` of a sends row (`error` only once the
/// send was given up).
type SendRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Records that a send for `team` is about to happen (or finds that it happened, or was
    /// given up).
    pub fn begin_send(
        &mut self,
        key: &str,
        team: &TeamId,
        channel: &ChannelId,
        thread_ts: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SendStart> {
        let claimant = self.claimant();
        let workspace = self.workspace.as_str();
        let until = ts(now + SEND_CLAIM);
        self.conn.transaction(|tx| {
        // Another replica's claim that has not run out: that replica is sending it.
        if let Some(me) = claimant {
            let theirs: i64 = tx.query_row(
                "SELECT count(*) FROM sends WHERE key = ?1 AND ts IS NULL AND failed_at IS NULL
                   AND claimed_by IS NOT NULL AND claimed_by != ?2 AND claim_until > ?3
                   AND claimed_by IN (SELECT application_name FROM pg_stat_activity)",
                params![key, me, ts(now)],
                |r| r.get(0),
            )?;
            if theirs > 0 {
                return Ok(SendStart::Claimed);
            }
            tx.execute(
                "UPDATE sends SET claimed_by = ?2, claim_until = ?3 WHERE key = ?1 AND ts IS NULL",
                params![key, me, until],
            )?;
        }
        let found: Option<SendRow> = tx.query_opt(
            "SELECT channel, thread_ts, started_at, detail, ts,
                        CASE WHEN failed_at IS NOT NULL THEN coalesce(error, '') END
                 FROM sends WHERE key = ?1",
            params![key],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )?;
        let start = match found {
            Some((_, _, _, _, Some(sent), _)) => SendStart::Sent(sent),
            Some((_, _, _, _, None, Some(error))) => SendStart::Failed(error),
            Some((channel, thread_ts, started, detail, None, None)) => SendStart::Unsure {
                channel: ChannelId(channel),
                thread_ts,
                started_at: parse_ts(&started)?,
                detail,
            },
            None => {
                tx.execute(
                    "INSERT INTO sends (key, team_id, channel, thread_ts, started_at, claimed_by, claim_until, workspace)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![key, team.as_str(), channel.as_str(), thread_ts, ts(now), claimant, claimant.map(|_| until.clone()), workspace],
                )?;
                SendStart::Fresh
            }
        };
        Ok(start)
        })
    }

    /// Notes something learnt during a send (the file id of an upload), for a later check.
    pub fn note_send(&mut self, key: &str, channel: &ChannelId, detail: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sends SET channel = ?2, detail = ?3 WHERE key = ?1",
            params![key, channel.as_str(), detail],
        )?;
        Ok(())
    }

    /// Records that the send happened, with Slack's ts.
    pub fn finish_send(
        &mut self,
        key: &str,
        channel: &ChannelId,
        sent_ts: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE sends SET channel = ?2, ts = ?3, done_at = ?4 WHERE key = ?1",
            params![key, channel.as_str(), sent_ts, ts(now)],
        )?;
        Ok(())
    }

    /// Counts a failed lookup of an uncertain send; at the `limit`-th, gives the send up with
    /// `error`. Returns whether it was given up now.
    pub fn send_check_failed(
        &mut self,
        key: &str,
        error: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE sends SET checks = checks + 1, error = ?2,
                 failed_at = CASE WHEN checks + 1 >= ?3 THEN ?4 END
             WHERE key = ?1 AND ts IS NULL AND failed_at IS NULL",
            params![key, error, limit, ts(now)],
        )?;
        if n == 0 {
            return Ok(false);
        }
        let failed: bool = self.conn.query_row(
            "SELECT failed_at IS NOT NULL FROM sends WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        Ok(failed)
    }

    /// The sends of a team given up because they could not be checked, oldest first.
    pub fn failed_sends(&self, team: &TeamId) -> Result<Vec<FailedSend>> {
        let rows = self.conn.query_map(
            "SELECT key, channel, coalesce(error, ''), failed_at FROM sends
             WHERE team_id = ?1 AND failed_at IS NOT NULL ORDER BY failed_at, key",
            params![team.as_str()],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(key, channel, error, at)| {
                Ok(FailedSend {
                    key,
                    channel: ChannelId(channel),
                    error,
                    failed_at: parse_ts(&at)?,
                })
            })
            .collect()
    }

    /// Whether the send with `key` was given up.
    pub fn send_failed(&self, key: &str) -> Result<bool> {
        let failed: Option<bool> = self.conn.query_opt(
            "SELECT failed_at IS NOT NULL FROM sends WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        Ok(failed.unwrap_or(false))
    }

    /// How many sends of a key prefix completed (for tests and checks).
    pub fn sends_done(&self, prefix: &str) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM sends WHERE ts IS NOT NULL AND substr(key, 1, length(?1)) = ?1",
            params![prefix],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }
}

impl Store {
    /// The channel a completed send went to.
    pub fn send_channel(&self, key: &str) -> Result<Option<ChannelId>> {
        let channel: Option<String> = self.conn.query_opt(
            "SELECT channel FROM sends WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        Ok(channel.map(ChannelId))
    }

    /// What a send noted on the way (the file id of an upload).
    pub fn send_detail(&self, key: &str) -> Result<Option<String>> {
        let detail: Option<Option<String>> = self.conn.query_opt(
            "SELECT detail FROM sends WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        Ok(detail.flatten())
    }
}
