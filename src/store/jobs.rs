//! Scheduled jobs and absences: the state that makes the service restart-safe.

use super::sql::{Conn, params};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Error, Result, SendKey, Store, ts};
use standup_core::domain::{CycleId, TeamId, UserId};

/// A job's identity: what, for which team, when it was due, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey {
    pub team: TeamId,
    /// `prompt`, `remind` or `post`.
    pub kind: &'static str,
    pub fire_at: DateTime<Utc>,
    /// The member a per-member job is for; `None` for team-wide jobs.
    pub member: Option<UserId>,
    pub cycle_date: NaiveDate,
}

impl JobKey {
    /// The key of the message a prompt or reminder job sends (see `app::once`); `None` for
    /// a job that sends none that way.
    pub fn send_key(&self) -> Option<SendKey> {
        let (team, user, fire_at) = (self.team.clone(), self.member.clone()?, self.fire_at);
        match self.kind {
            "prompt" => Some(SendKey::Prompt {
                team,
                user,
                fire_at,
            }),
            "remind" => Some(SendKey::Remind {
                team,
                user,
                fire_at,
            }),
            _ => None,
        }
    }

    /// The member column: the user id, or empty for a team-wide job.
    fn member_column(&self) -> &str {
        self.member.as_ref().map_or("", UserId::as_str)
    }
}

/// What [`Store::begin_job`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStart {
    /// Never started: go ahead.
    Fresh,
    /// Started before (a crash or a failure) but not finished: go ahead, this is attempt `n`.
    Again(u32),
    /// Already done (or deliberately skipped): do nothing.
    Finished,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    Done,
    /// Not needed after all (the member was away, already answered, ...).
    Skipped,
    Failed,
}

/// A job's `(state, attempts)`, if it was ever started.
fn job_state(conn: &Conn, key: &JobKey) -> Result<Option<(String, i64)>> {
    conn
        .query_opt(
            "SELECT state, attempts FROM jobs WHERE team_id = ?1 AND kind = ?2 AND fire_at = ?3 AND member = ?4",
            params![key.team.as_str(), key.kind, ts(key.fire_at), key.member_column()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
}

impl Store {
    /// Records that a job is starting, before any of its effects happen.
    pub fn begin_job(&mut self, key: &JobKey, now: DateTime<Utc>) -> Result<JobStart> {
        let fence = self.jobs_fence.as_ref();
        let workspace = self.workspace.as_str();
        self.conn.transaction(|tx| {
        super::lease::holds(tx, fence)?;
        let member = key.member_column();
        let start = match job_state(tx, key)? {
            None => {
                tx.execute(
                    "INSERT INTO jobs (team_id, kind, fire_at, member, cycle_date, state, started_at, workspace)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7)",
                    params![key.team.as_str(), key.kind, ts(key.fire_at), member, key.cycle_date.to_string(), ts(now), workspace],
                )?;
                JobStart::Fresh
            }
            Some((state, _)) if state == "done" || state == "skipped" => JobStart::Finished,
            Some((state, attempts)) => {
                // A failure counts against the job's attempts; an interruption (the process
                // died while the job ran) does not, or a few crashes in a row would give up a
                // prompt that never failed.
                let attempts = if state == "failed" {
                    attempts + 1
                } else {
                    attempts
                };
                tx.execute(
                    "UPDATE jobs SET state = 'started', attempts = ?6, started_at = ?5
                     WHERE team_id = ?1 AND kind = ?2 AND fire_at = ?3 AND member = ?4",
                    params![
                        key.team.as_str(),
                        key.kind,
                        ts(key.fire_at),
                        member,
                        ts(now),
                        attempts
                    ],
                )?;
                JobStart::Again(attempts as u32)
            }
        };
        Ok(start)
        })
    }

    /// Records how a job ended; `error` is kept for a failed one.
    pub fn end_job(
        &mut self,
        key: &JobKey,
        end: JobEnd,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let state = match end {
            JobEnd::Done => "done",
            JobEnd::Skipped => "skipped",
            JobEnd::Failed => "failed",
        };
        let member = key.member_column();
        let fence = self.jobs_fence.as_ref();
        self.conn.transaction(|tx| {
            super::lease::holds(tx, fence)?;
            tx.execute(
                "UPDATE jobs SET state = ?5, last_error = ?6, done_at = ?7
                 WHERE team_id = ?1 AND kind = ?2 AND fire_at = ?3 AND member = ?4",
                params![
                    key.team.as_str(),
                    key.kind,
                    ts(key.fire_at),
                    member,
                    state,
                    error,
                    ts(now)
                ],
            )?;
            Ok(())
        })
    }

    /// Whether a job has finished (done or skipped).
    pub fn job_finished(&self, key: &JobKey) -> Result<bool> {
        let state = job_state(&self.conn, key)?;
        Ok(matches!(state, Some((s, _)) if s == "done" || s == "skipped"))
    }

    /// Marks a member away from `from` to `to` (inclusive): `skip` for one cycle, `ooo` for leave.
    pub fn add_absence(
        &mut self,
        team: &TeamId,
        user: &UserId,
        from: NaiveDate,
        to: NaiveDate,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let member = self.member_id(team, user)?;
        // A repeated click or command adds nothing.
        self.conn.execute(
            "INSERT INTO absences (member_id, from_date, to_date, kind, created_at, workspace)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM absences
                 WHERE member_id = ?1 AND from_date = ?2 AND to_date = ?3 AND kind = ?4)",
            params![
                member,
                from.to_string(),
                to.to_string(),
                kind,
                ts(now),
                self.workspace
            ],
        )?;
        Ok(())
    }

    /// Whether a member is away on `date`.
    pub fn is_away(&self, team: &TeamId, user: &UserId, date: NaiveDate) -> Result<bool> {
        let away: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM absences a JOIN members m ON m.id = a.member_id
             WHERE m.team_id = ?1 AND m.slack_user = ?2 AND a.from_date <= ?3 AND a.to_date >= ?3",
            params![team.as_str(), user.as_str(), date.to_string()],
            |r| r.get(0),
        )?;
        Ok(away)
    }

    /// Remembers what Slack says about a member.
    pub fn set_profile(
        &mut self,
        team: &TeamId,
        user: &UserId,
        tz: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE members SET tz = ?3, display_name = ?4 WHERE team_id = ?1 AND slack_user = ?2",
            params![team.as_str(), user.as_str(), tz, display_name],
        )?;
        Ok(())
    }

    /// The member's time zone as last seen from Slack.
    pub fn member_tz(&self, team: &TeamId, user: &UserId) -> Result<Option<String>> {
        let tz: Option<Option<String>> = self.conn.query_opt(
            "SELECT tz FROM members WHERE team_id = ?1 AND slack_user = ?2",
            params![team.as_str(), user.as_str()],
            |r| r.get(0),
        )?;
        Ok(tz.flatten())
    }

    /// `(handle, user, answered)` for each member in a cycle's roster, in order.
    pub fn roster(&self, cycle: CycleId) -> Result<Vec<(String, Option<UserId>, bool)>> {
        let rows = self.conn.query_map(
            "SELECT m.handle, m.slack_user, u.member_id IS NOT NULL FROM cycle_members cm
             JOIN members m ON m.id = cm.member_id
             LEFT JOIN updates u ON u.cycle_id = cm.cycle_id AND u.member_id = cm.member_id
             WHERE cm.cycle_id = ?1 ORDER BY cm.position, m.id",
            params![cycle.0],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<Option<String>>(1)?.map(UserId),
                    r.get::<bool>(2)?,
                ))
            },
        )?;
        Ok(rows)
    }

    fn member_id(&self, team: &TeamId, user: &UserId) -> Result<i64> {
        self.conn
            .query_opt(
                "SELECT id FROM members WHERE team_id = ?1 AND slack_user = ?2",
                params![team.as_str(), user.as_str()],
                |r| r.get(0),
            )?
            .ok_or_else(|| Error::NotFound(format!("{user} is not a member of team `{team}`")))
    }
}
