//! Storing imported notes: meetings become cycles, the rest is kept as fragments.
//!
//! An import is one transaction. A meeting whose text is unchanged since the last import is
//! left alone, so importing the same file twice changes nothing. A meeting that already has
//! updates from Slack keeps them: imported text never overwrites what members sent the bot.

use super::sql::{Conn, params};
use chrono::{DateTime, NaiveDate, Utc};

use super::cycles::insert_blocks;
use super::{Result, Store, ts};
use standup_core::domain::TeamId;
use standup_core::notes::{Chunk, Document, ImportedMeeting};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: Vec<NaiveDate>,
    pub replaced: Vec<NaiveDate>,
    pub unchanged: Vec<NaiveDate>,
    /// `(date, handle)` of updates not imported because the member's update came from Slack.
    pub kept_from_slack: Vec<(NaiveDate, String)>,
    /// Handles seen in the notes that were not members yet (added as inactive members).
    pub new_members: Vec<String>,
    /// Pieces of text that are not dated meetings, kept as they are.
    pub fragments: usize,
}

impl ImportReport {
    pub fn changed(&self) -> bool {
        !self.created.is_empty() || !self.replaced.is_empty() || !self.new_members.is_empty()
    }
}

impl Store {
    /// Imports a read document for `team`. `source` names the file, so its fragments can be
    /// replaced by a later import of the same file.
    pub fn import_document(
        &mut self,
        team: &TeamId,
        source: &str,
        document: &Document,
        now: DateTime<Utc>,
    ) -> Result<ImportReport> {
        self.conn.transaction(|tx| {
        let exists: Option<String> = tx.query_opt(
            "SELECT id FROM teams WHERE id = ?1",
            params![team.as_str()],
            |r| r.get(0),
        )?;
        if exists.is_none() {
            return Err(super::Error::NotFound(format!(
                "team `{team}` is not in the database; is it in the config file? (`standup-bot check-config`)"
            )));
        }
        let mut report = ImportReport::default();
        let mut fragments = Vec::new();
        for chunk in &document.chunks {
            match chunk {
                Chunk::Meeting(m) => import_meeting(tx, team, m, now, &mut report)?,
                Chunk::Other { line, text } => fragments.push((*line, text.as_str())),
            }
        }
        report.fragments = fragments.len();
        replace_fragments(tx, team, source, &fragments)?;
        Ok(report)
        })
    }
}

fn import_meeting(
    tx: &Conn,
    team: &TeamId,
    imported: &ImportedMeeting,
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> Result<()> {
    let m = &imported.meeting;
    let date = m.date.to_string();
    let existing: Option<(i64, Option<String>)> = tx.query_opt(
        "SELECT id, import_digest FROM cycles WHERE team_id = ?1 AND date = ?2",
        params![team.as_str(), date],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let cycle = match existing {
        Some((_, Some(digest))) if digest == imported.digest => {
            report.unchanged.push(m.date);
            return Ok(());
        }
        Some((id, _)) => {
            tx.execute(
                "UPDATE cycles SET title = ?2, import_digest = ?3 WHERE id = ?1",
                params![id, m.title, imported.digest],
            )?;
            tx.execute(
                "DELETE FROM meeting_sections WHERE cycle_id = ?1",
                params![id],
            )?;
            tx.execute(
                "DELETE FROM updates WHERE cycle_id = ?1 AND source = 'import'",
                params![id],
            )?;
            tx.execute("DELETE FROM cycle_members WHERE cycle_id = ?1", params![id])?;
            report.replaced.push(m.date);
            id
        }
        None => {
            let id: i64 = tx.query_row(
                "INSERT INTO cycles (team_id, date, title, source, import_digest, created_at, workspace)
                 VALUES (?1, ?2, ?3, 'import', ?4, ?5, (SELECT workspace FROM teams WHERE id = ?1)) RETURNING id",
                params![team.as_str(), date, m.title, imported.digest, ts(now)],
                |r| r.get(0),
            )?;
            report.created.push(m.date);
            id
        }
    };
    insert_blocks(tx, cycle, &m.blocks)?;
    for (position, entry) in m.entries.iter().enumerate() {
        let member = member_for(tx, team, &entry.handle, report)?;
        // A handle written twice in one meeting keeps its first place in the roster.
        tx.execute(
            "INSERT INTO cycle_members (cycle_id, member_id, position, workspace)
             VALUES (?1, ?2, ?3, (SELECT workspace FROM cycles WHERE id = ?1)) ON CONFLICT DO NOTHING",
            params![cycle, member, position as i64],
        )?;
        let Some(update) = &entry.update else {
            continue;
        };
        let from_slack: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM updates WHERE cycle_id = ?1 AND member_id = ?2 AND source <> 'import'",
                params![cycle, member],
                |r| r.get(0),
            )?;
        if from_slack {
            report.kept_from_slack.push((m.date, entry.handle.clone()));
            continue;
        }
        let parsed =
            serde_json::to_string(update).map_err(|e| super::Error::Data(e.to_string()))?;
        tx.execute(
            "INSERT INTO updates (cycle_id, member_id, source, parsed, diagnostics, updated_at, workspace)
             VALUES (?1, ?2, 'import', ?3, '[]', ?4, (SELECT workspace FROM cycles WHERE id = ?1))
             ON CONFLICT (cycle_id, member_id) DO UPDATE SET parsed = excluded.parsed, updated_at = excluded.updated_at",
            params![cycle, member, parsed, ts(now)],
        )?;
    }
    // Members who answered in Slack stay in the document even if the notes leave them out.
    tx.execute(
        "INSERT INTO cycle_members (cycle_id, member_id, position, workspace)
         SELECT u.cycle_id, u.member_id, 1000000 + m.position, u.workspace FROM updates u JOIN members m ON m.id = u.member_id
         WHERE u.cycle_id = ?1
         ON CONFLICT DO NOTHING",
        params![cycle],
    )?;
    Ok(())
}

fn member_for(tx: &Conn, team: &TeamId, handle: &str, report: &mut ImportReport) -> Result<i64> {
    let found: Option<i64> = tx.query_opt(
        "SELECT id FROM members WHERE team_id = ?1 AND handle = ?2",
        params![team.as_str(), handle],
        |r| r.get(0),
    )?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id: i64 = tx.query_row(
        "INSERT INTO members (team_id, handle, slack_user, active, position, workspace)
         VALUES (?1, ?2, NULL, 0, 1000000, (SELECT workspace FROM teams WHERE id = ?1)) RETURNING id",
        params![team.as_str(), handle],
        |r| r.get(0),
    )?;
    report.new_members.push(handle.to_string());
    Ok(id)
}

fn replace_fragments(
    tx: &Conn,
    team: &TeamId,
    source: &str,
    fragments: &[(usize, &str)],
) -> Result<()> {
    let stored = tx.query_map(
        "SELECT line, text FROM fragments WHERE team_id = ?1 AND source = ?2 ORDER BY position",
        params![team.as_str(), source],
        |r| Ok((r.get::<i64>(0)? as usize, r.get::<String>(1)?)),
    )?;
    let same = stored.len() == fragments.len()
        && stored
            .iter()
            .zip(fragments)
            .all(|((l1, t1), (l2, t2))| l1 == l2 && t1 == t2);
    if same {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM fragments WHERE team_id = ?1 AND source = ?2",
        params![team.as_str(), source],
    )?;
    for (position, (line, text)) in fragments.iter().enumerate() {
        tx.execute(
            "INSERT INTO fragments (team_id, source, position, line, text, workspace)
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT workspace FROM teams WHERE id = ?1))",
            params![team.as_str(), source, position as i64, *line as i64, text],
        )?;
    }
    Ok(())
}
