//! Replies as received, and the update rebuilt from them.
//!
//! Every message and every edit is kept as its own row; the member's update is the parse of
//! the latest revision of each of their messages, in the order they were sent. Recording a
//! reply, re-parsing and opening or resolving blockers happen in one transaction.

use super::sql::{Conn, params};
use chrono::{DateTime, Utc};

use super::blockers::{OpenBlocker, open_blockers_where};
use super::{Error, Result, Store, member_in_cycle, require_member, ts};
use standup_core::domain::{CycleId, Diagnostic, Update, UserId};

/// The source of a reply that replaces the member's whole update for the cycle (the Home tab's
/// *Edit* form): messages older than it no longer count.
pub const SOURCE_REPLACE: &str = "replace";

/// A message (or an edit of one) from a member.
#[derive(Debug, Clone)]
pub struct NewReply<'a> {
    pub cycle: CycleId,
    pub user: &'a UserId,
    /// Where it came from: `dm`, `modal`, `edit`, `deleted` (an empty last version: the
    /// message no longer counts), `carry` (a follow-through click), or [`SOURCE_REPLACE`].
    pub source: &'a str,
    /// The Slack `ts` of the message (an edit carries the original message's ts).
    pub slack_ts: &'a str,
    /// The Slack `ts` of this version: the message's own for a new message, the edit's for an
    /// edit. The newest version of each message counts.
    pub version: &'a str,
    pub text: &'a str,
    pub at: DateTime<Utc>,
}

/// A [`NewReply`] that owns its texts, to send to the store's thread.
#[derive(Debug, Clone)]
pub struct OwnedReply {
    pub cycle: CycleId,
    pub user: UserId,
    pub source: String,
    pub slack_ts: String,
    pub version: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl NewReply<'_> {
    pub fn owned(&self) -> OwnedReply {
        OwnedReply {
            cycle: self.cycle,
            user: self.user.clone(),
            source: self.source.to_string(),
            slack_ts: self.slack_ts.to_string(),
            version: self.version.to_string(),
            text: self.text.to_string(),
            at: self.at,
        }
    }
}

impl OwnedReply {
    pub fn borrowed(&self) -> NewReply<'_> {
        NewReply {
            cycle: self.cycle,
            user: &self.user,
            source: &self.source,
            slack_ts: &self.slack_ts,
            version: &self.version,
            text: &self.text,
            at: self.at,
        }
    }
}

/// What recording a reply changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// This exact version was recorded before (a redelivery, or handling again after a crash).
    pub known: bool,
    /// False when the same text was already recorded (a redelivered event): nothing changed.
    pub changed: bool,
    pub update: Update,
    pub diagnostics: Vec<Diagnostic>,
    pub opened: Vec<OpenBlocker>,
    pub resolved: Vec<OpenBlocker>,
}

impl Store {
    /// Records a reply and rebuilds the member's update with `parse` (given the member's whole
    /// current text). Fails with [`Error::NotFound`] when the user is not a member of the team.
    pub fn record_reply(
        &mut self,
        reply: &NewReply<'_>,
        parse: impl Fn(&str) -> (Update, Vec<Diagnostic>),
    ) -> Result<ReplyOutcome> {
        self.conn.transaction(|tx| {
        let cycle = reply.cycle.0;
        let member = require_member(tx, cycle, reply.user)?;
        // Versions are ordered by Slack's timestamps, not by arrival: an edit handled before
        // the message it edits still wins, and a redelivered version changes nothing.
        let before = current_text(tx, cycle, member)?;
        let known: bool = tx.query_row(
            "SELECT count(*) > 0 FROM replies
             WHERE cycle_id = ?1 AND member_id = ?2 AND slack_ts = ?3 AND version_ts = ?4 AND text = ?5",
            params![cycle, member, reply.slack_ts, reply.version, reply.text],
            |r| r.get(0),
        )?;
        if !known {
            let revision: i64 = tx.query_row(
                "SELECT coalesce(max(revision) + 1, 0) FROM replies WHERE cycle_id = ?1 AND member_id = ?2 AND slack_ts = ?3",
                params![cycle, member, reply.slack_ts],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO replies (cycle_id, member_id, source, slack_ts, revision, version_ts, text, received_at, workspace)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, (SELECT workspace FROM cycles WHERE id = ?1))",
                params![cycle, member, reply.source, reply.slack_ts, revision, reply.version, reply.text, ts(reply.at)],
            )?;
        }
        let combined = current_text(tx, cycle, member)?;
        let changed = combined != before;
        let (update, diagnostics) = parse(&combined);
        let mut opened = Vec::new();
        let mut resolved = Vec::new();
        if changed {
            let parsed = serde_json::to_string(&update).map_err(|e| Error::Data(e.to_string()))?;
            let diags =
                serde_json::to_string(&diagnostics).map_err(|e| Error::Data(e.to_string()))?;
            tx.execute(
                "INSERT INTO updates (cycle_id, member_id, source, parsed, diagnostics, updated_at, workspace)
                 VALUES (?1, ?2, 'slack', ?3, ?4, ?5, (SELECT workspace FROM cycles WHERE id = ?1))
                 ON CONFLICT (cycle_id, member_id) DO UPDATE SET source = 'slack', parsed = excluded.parsed,
                     diagnostics = excluded.diagnostics, updated_at = excluded.updated_at",
                params![cycle, member, parsed, diags, ts(reply.at)],
            )?;
            tx.execute(
                "INSERT INTO cycle_members (cycle_id, member_id, position, workspace)
                 SELECT ?1, id, position, workspace FROM members WHERE id = ?2
                 ON CONFLICT DO NOTHING",
                params![cycle, member],
            )?;
            (opened, resolved) = sync_blockers(tx, cycle, member, &update.blockers(), reply.at)?;
        }
        Ok(ReplyOutcome {
            known,
            changed,
            update,
            diagnostics,
            opened,
            resolved,
        })
        })
    }

    /// The member's whole current text for a cycle: the latest revision of each message, in order.
    pub fn reply_text(&self, cycle: CycleId, user: &UserId) -> Result<Option<String>> {
        let member = member_in_cycle(&self.conn, cycle.0, user)?;
        match member {
            Some(m) => {
                let text = current_text(&self.conn, cycle.0, m)?;
                Ok(Some(text).filter(|t| !t.is_empty()))
            }
            None => Ok(None),
        }
    }

    /// Where the message `slack_ts` was recorded: its cycle, that cycle's team and its author
    /// (who must be `user` when given). `None` when no reply has that ts.
    pub fn reply_origin(
        &self,
        slack_ts: &str,
        user: Option<&UserId>,
    ) -> Result<Option<(CycleId, standup_core::domain::TeamId, UserId)>> {
        self.conn.query_opt(
            "SELECT r.cycle_id, c.team_id, m.slack_user FROM replies r
                 JOIN members m ON m.id = r.member_id JOIN cycles c ON c.id = r.cycle_id
                 WHERE r.slack_ts = ?1 AND m.slack_user IS NOT NULL
                   AND (CAST(?2 AS TEXT) IS NULL OR m.slack_user = ?2)
                 ORDER BY r.id DESC LIMIT 1",
            params![slack_ts, user.map(UserId::as_str)],
            |r| {
                Ok((
                    CycleId(r.get(0)?),
                    standup_core::domain::TeamId(r.get(1)?),
                    UserId(r.get(2)?),
                ))
            },
        )
    }

    /// How many revisions of replies are stored for a cycle (all kept, edits included).
    pub fn reply_revisions(&self, cycle: CycleId) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM replies WHERE cycle_id = ?1",
            params![cycle.0],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }
}

fn current_text(conn: &Conn, cycle: i64, member: i64) -> Result<String> {
    // A carry (follow-through) goes last: its headings then cannot capture a later message's
    // text that has no heading of its own.
    let latest = conn.query_map("SELECT r.slack_ts, r.version_ts, r.text FROM replies r
         WHERE r.cycle_id = ?1 AND r.member_id = ?2
           AND r.id = (SELECT x.id FROM replies x
                       WHERE x.cycle_id = r.cycle_id AND x.member_id = r.member_id AND x.slack_ts = r.slack_ts
                       ORDER BY length(x.version_ts) DESC, x.version_ts DESC, x.revision DESC LIMIT 1)
         ORDER BY r.source = 'carry', length(r.slack_ts), r.slack_ts", params![cycle, member], |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
            ))
        })?;
    // A replacement (the whole update edited in one form, see `SOURCE_REPLACE`) supersedes every
    // message whose newest version is older than it; messages written or edited after it add
    // to it as usual.
    let replacement: Option<(String, String)> = conn.query_opt(
        "SELECT slack_ts, version_ts FROM replies
             WHERE cycle_id = ?1 AND member_id = ?2 AND source = ?3
             ORDER BY length(version_ts) DESC, version_ts DESC LIMIT 1",
        params![cycle, member, SOURCE_REPLACE],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let newer = |a: &str, b: &str| (a.len(), a) > (b.len(), b);
    Ok(latest
        .into_iter()
        .filter(|(slack_ts, version, _)| match &replacement {
            Some((replaced_in, at)) => slack_ts == replaced_in || newer(version, at),
            None => true,
        })
        .map(|(_, _, text)| text)
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Opens blockers the update names that are not open yet, and resolves the ones it no longer
/// names. Blockers raised with `/standup blocked` are left to be resolved explicitly.
fn sync_blockers(
    tx: &Conn,
    cycle: i64,
    member: i64,
    wanted: &[String],
    at: DateTime<Utc>,
) -> Result<(Vec<OpenBlocker>, Vec<OpenBlocker>)> {
    let open = open_blockers_where(
        tx,
        "b.member_id = ?1 AND b.cycle_id = ?2 AND b.source = 'update'",
        params![member, cycle],
    )?;
    let mut resolved = Vec::new();
    for blocker in &open {
        if !wanted.contains(&blocker.text) {
            tx.execute(
                "UPDATE blockers SET resolved_at = ?2, resolved_by = 'update' WHERE id = ?1",
                params![blocker.id, ts(at)],
            )?;
            resolved.push(blocker.clone());
        }
    }
    let mut opened_ids = Vec::new();
    for text in wanted {
        if !open.iter().any(|b| &b.text == text) {
            opened_ids.push(tx.query_row(
                "INSERT INTO blockers (cycle_id, member_id, text, source, opened_at, workspace)
                 VALUES (?1, ?2, ?3, 'update', ?4, (SELECT workspace FROM cycles WHERE id = ?1)) RETURNING id",
                params![cycle, member, text, ts(at)],
                |r| r.get::<i64>(0),
            )?);
        }
    }
    let opened = open_blockers_where(
        tx,
        "b.member_id = ?1 AND b.cycle_id = ?2",
        params![member, cycle],
    )?
    .into_iter()
    .filter(|b| opened_ids.contains(&b.id))
    .collect();
    Ok((opened, resolved))
}
