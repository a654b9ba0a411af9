//! Messages the bot sends once: each has a key, recorded before the send and completed with
//! Slack's `ts` after. A key found started but not completed means the send was cut short (a
//! crash, a timeout after Slack had posted): the caller looks for it in Slack before sending.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, parse_ts, ts};
use crate::domain::ChannelId;

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
}

/// `channel, thread_ts, started_at, detail, ts` of a sends row.
type SendRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Records that a send is about to happen (or finds that it happened).
    pub fn begin_send(
        &mut self,
        key: &str,
        channel: &ChannelId,
        thread_ts: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SendStart> {
        let tx = self.conn.transaction()?;
        let found: Option<SendRow> = tx
            .query_row(
                "SELECT channel, thread_ts, started_at, detail, ts FROM sends WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let start = match found {
            Some((_, _, _, _, Some(sent))) => SendStart::Sent(sent),
            Some((channel, thread_ts, started, detail, None)) => SendStart::Unsure {
                channel: ChannelId(channel),
                thread_ts,
                started_at: parse_ts(&started)?,
                detail,
            },
            None => {
                tx.execute(
                    "INSERT INTO sends (key, channel, thread_ts, started_at) VALUES (?1, ?2, ?3, ?4)",
                    params![key, channel.as_str(), thread_ts, ts(now)],
                )?;
                SendStart::Fresh
            }
        };
        tx.commit()?;
        Ok(start)
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
        let channel: Option<String> = self
            .conn
            .query_row(
                "SELECT channel FROM sends WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(channel.map(ChannelId))
    }

    /// What a send noted on the way (the file id of an upload).
    pub fn send_detail(&self, key: &str) -> Result<Option<String>> {
        let detail: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT detail FROM sends WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(detail.flatten())
    }
}
