//! Blockers: opened by updates or `/standup blocked`, open until resolved.

use super::sql::{Conn, Params, params};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Error, Result, Store, parse_ts, require_member, ts};
use standup_core::domain::{CycleId, TeamId, UserId};

/// An open (or just resolved) blocker with who reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBlocker {
    pub id: i64,
    pub team: TeamId,
    pub cycle: CycleId,
    pub date: NaiveDate,
    pub handle: String,
    pub user: Option<UserId>,
    pub text: String,
    pub opened_at: DateTime<Utc>,
}

/// Open blockers not flagged yet, and resolved blockers (with who resolved them) whose flag
/// still shows them open.
pub type UnsyncedBlockers = (Vec<OpenBlocker>, Vec<(OpenBlocker, String)>);

pub(super) fn open_blockers_where(
    conn: &Conn,
    filter: &str,
    params: impl Params,
) -> Result<Vec<OpenBlocker>> {
    blockers_where(conn, &format!("b.resolved_at IS NULL AND {filter}"), params)
}

fn blockers_where(conn: &Conn, filter: &str, params: impl Params) -> Result<Vec<OpenBlocker>> {
    let sql = format!(
        "SELECT b.id, c.team_id, c.id, c.date, m.handle, m.slack_user, b.text, b.opened_at
         FROM blockers b JOIN members m ON m.id = b.member_id JOIN cycles c ON c.id = b.cycle_id
         WHERE {filter} ORDER BY b.opened_at, b.id"
    );
    let rows = conn.query_map(&sql, params, |r| {
        Ok((
            r.get::<i64>(0)?,
            r.get::<String>(1)?,
            r.get::<i64>(2)?,
            r.get::<String>(3)?,
            r.get::<String>(4)?,
            r.get::<Option<String>>(5)?,
            r.get::<String>(6)?,
            r.get::<String>(7)?,
        ))
    })?;
    rows.into_iter()
        .map(|(id, team, cycle, date, handle, user, text, opened)| {
            Ok(OpenBlocker {
                id,
                team: TeamId(team),
                cycle: CycleId(cycle),
                date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                    .map_err(|e| Error::Data(e.to_string()))?,
                handle,
                user: user.map(UserId),
                text,
                opened_at: parse_ts(&opened)?,
            })
        })
        .collect()
}

impl Store {
    /// Open blockers of a team, oldest first.
    pub fn open_blockers(&self, team: &TeamId) -> Result<Vec<OpenBlocker>> {
        open_blockers_where(&self.conn, "c.team_id = ?1", params![team.as_str()])
    }

    /// Blockers whose message in the channel lags behind them: open ones not flagged yet (and
    /// whose flag was not given up), and resolved ones whose flag still shows them open (with
    /// who resolved them). A crash between a change and its message leaves one of these; the
    /// next sync catches up.
    pub fn unsynced_blockers(&self, team: &TeamId) -> Result<UnsyncedBlockers> {
        let flagged = "EXISTS (SELECT 1 FROM posts p WHERE p.cycle_id = b.cycle_id AND p.kind = 'blocker:' || b.id)";
        // A flag given up (it may be in Slack and could not be checked) is not tried again.
        let given_up = "EXISTS (SELECT 1 FROM sends s WHERE s.key = 'blocker:' || b.id AND s.failed_at IS NOT NULL)";
        let unflagged = open_blockers_where(
            &self.conn,
            &format!("c.team_id = ?1 AND NOT {flagged} AND NOT {given_up}"),
            params![team.as_str()],
        )?;
        let stale = blockers_where(
            &self.conn,
            &format!(
                "c.team_id = ?1 AND b.resolved_at IS NOT NULL AND {flagged} AND NOT EXISTS
                 (SELECT 1 FROM posts p WHERE p.cycle_id = b.cycle_id AND p.kind = 'resolved:' || b.id)"
            ),
            params![team.as_str()],
        )?;
        let mut resolved = Vec::new();
        for b in stale {
            let by: Option<String> = self.conn.query_row(
                "SELECT resolved_by FROM blockers WHERE id = ?1",
                params![b.id],
                |r| r.get(0),
            )?;
            resolved.push((b, by.unwrap_or_default()));
        }
        Ok((unflagged, resolved))
    }

    /// Blockers raised with `/standup blocked` for a cycle, with when each was resolved (if
    /// it was), oldest first. They are part of the member's update for that cycle.
    pub fn raised_blockers(
        &self,
        cycle: CycleId,
    ) -> Result<Vec<(OpenBlocker, Option<DateTime<Utc>>)>> {
        let raised = blockers_where(
            &self.conn,
            "b.cycle_id = ?1 AND b.source = 'command'",
            params![cycle.0],
        )?;
        let mut out = Vec::with_capacity(raised.len());
        for b in raised {
            let at: Option<String> = self.conn.query_row(
                "SELECT resolved_at FROM blockers WHERE id = ?1",
                params![b.id],
                |r| r.get(0),
            )?;
            out.push((b, at.as_deref().map(parse_ts).transpose()?));
        }
        Ok(out)
    }

    /// Records a blocker a member raised directly (`/standup blocked <text>`).
    pub fn raise_blocker(
        &mut self,
        cycle: CycleId,
        user: &UserId,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<OpenBlocker> {
        self.conn.transaction(|tx| {
        let member = require_member(tx, cycle.0, user)?;
        // The same blocker raised twice (a repeated command) is one blocker.
        let same = open_blockers_where(
            tx,
            "b.member_id = ?1 AND b.cycle_id = ?2 AND b.text = ?3",
            params![member, cycle.0, text],
        )?;
        if let Some(existing) = same.into_iter().next() {
            return Ok(existing);
        }
        let id: i64 = tx.query_row(
            "INSERT INTO blockers (cycle_id, member_id, text, source, opened_at, workspace)
             VALUES (?1, ?2, ?3, 'command', ?4, (SELECT workspace FROM cycles WHERE id = ?1)) RETURNING id",
            params![cycle.0, member, text, ts(at)],
            |r| r.get(0),
        )?;
        let blocker = open_blockers_where(tx, "b.id = ?1", params![id])?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("blocker {id}")))?;
        Ok(blocker)
        })
    }

    /// Resolves an open blocker; `by` records who or what resolved it. Returns false when it was
    /// already resolved (a second click changes nothing).
    pub fn resolve_blocker(&mut self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE blockers SET resolved_at = ?2, resolved_by = ?3 WHERE id = ?1 AND resolved_at IS NULL",
            params![id, ts(at), by],
        )?;
        Ok(n == 1)
    }

    /// Blockers of a team resolved after `after` (from the start when `None`) up to `until`,
    /// with when each was resolved, in the order they were resolved.
    pub fn resolved_blockers(
        &self,
        team: &TeamId,
        after: Option<DateTime<Utc>>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(OpenBlocker, DateTime<Utc>)>> {
        let after = after.map(ts).unwrap_or_default();
        let found = blockers_where(
            &self.conn,
            "c.team_id = ?1 AND b.resolved_at IS NOT NULL AND b.resolved_at > ?2 AND b.resolved_at <= ?3",
            params![team.as_str(), after, ts(until)],
        )?;
        let mut resolved = Vec::new();
        for b in found {
            let at: String = self.conn.query_row(
                "SELECT resolved_at FROM blockers WHERE id = ?1",
                params![b.id],
                |r| r.get(0),
            )?;
            resolved.push((b, parse_ts(&at)?));
        }
        resolved.sort_by_key(|(b, at)| (*at, b.id));
        Ok(resolved)
    }
}
