//! What the bot has posted, so that a later change edits the post instead of adding another.

use super::sql::params;
use chrono::{DateTime, Utc};

use super::{Result, Store, parse_ts, ts};
use standup_core::domain::{ChannelId, CycleId};

/// A message (and optionally a file) the bot posted for a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub cycle: CycleId,
    /// What it is: `document`, `blocker:<id>`, ...
    pub kind: String,
    pub channel: ChannelId,
    pub ts: Option<String>,
    pub file_id: Option<String>,
    /// Digest of what was posted, to tell whether a re-render changed anything.
    pub content_digest: String,
    pub posted_at: DateTime<Utc>,
}

impl Store {
    pub fn record_post(&mut self, post: &Post) -> Result<()> {
        self.record_post_under(post, None)
    }

    /// Records a post made under `fence`, a lease as its holder knows it (a team's turn with
    /// its notes): refused with [`super::Error::Fenced`] once the lease is no longer that
    /// holder's at that epoch, so a replica that lost its turn cannot record over its
    /// successor's posts. `None`: unfenced.
    pub fn record_post_under(
        &mut self,
        post: &Post,
        fence: Option<&super::lease::Held>,
    ) -> Result<()> {
        let workspace = self.workspace.as_str();
        self.conn.transaction(|tx| {
            super::lease::holds(tx, fence)?;
            tx.execute(
            "INSERT INTO posts (cycle_id, kind, channel, ts, file_id, content_digest, posted_at, workspace)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                post.cycle.0,
                post.kind,
                post.channel.as_str(),
                post.ts,
                post.file_id,
                post.content_digest,
                ts(post.posted_at),
                workspace
            ],
        )?;
            Ok(())
        })
    }

    /// The latest post of `kind` for a cycle.
    pub fn last_post(&self, cycle: CycleId, kind: &str) -> Result<Option<Post>> {
        let row = self.conn.query_opt(
            "SELECT channel, ts, file_id, content_digest, posted_at FROM posts
                 WHERE cycle_id = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
            params![cycle.0, kind],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<Option<String>>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<String>(3)?,
                    r.get::<String>(4)?,
                ))
            },
        )?;
        row.map(|(channel, ts, file_id, content_digest, posted)| {
            Ok(Post {
                cycle,
                kind: kind.to_string(),
                channel: ChannelId(channel),
                ts,
                file_id,
                content_digest,
                posted_at: parse_ts(&posted)?,
            })
        })
        .transpose()
    }
}
