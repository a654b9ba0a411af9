//! Cycles (one team's standup for one meeting), their sections and roster, and the meeting view.

use super::sql::{Conn, params};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Error, Result, Store, parse_ts, ts};
use standup_core::domain::{
    Block, BlockRole, CycleId, Entry, Format, Meeting, Question, SectionKind, TeamId, Update,
};

/// A stored cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleInfo {
    pub id: CycleId,
    pub team: TeamId,
    pub date: NaiveDate,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

/// The sections a team's first meeting starts with, before there is a previous one to copy.
pub fn default_blocks(format: Format) -> Vec<Block> {
    let block = |role, heading: &str, body: &str| Block {
        role,
        heading: heading.into(),
        body: body.into(),
    };
    match format {
        Format::Planning => vec![
            block(
                BlockRole::Verbatim,
                "## Agenda",
                "1. Async updates: participants broadcast their own async update and answer any questions.\n2. Current projects: review and assign tasks for the next week.\n3. Open discussion for any other questions that arise.",
            ),
            block(BlockRole::Updates, "## Async Updates", ""),
            block(BlockRole::Questions, "## Notes/Questions", ""),
        ],
        Format::Standup => vec![
            block(BlockRole::Updates, "### Updates since last time", ""),
            block(
                BlockRole::Questions,
                "### Questions, announcements and comments",
                "",
            ),
            block(BlockRole::Verbatim, "### Other business", ""),
        ],
    }
}

fn role_name(role: BlockRole) -> &'static str {
    match role {
        BlockRole::Verbatim => "verbatim",
        BlockRole::Updates => "updates",
        BlockRole::Questions => "questions",
    }
}

fn role_from(name: &str) -> Result<BlockRole> {
    match name {
        "verbatim" => Ok(BlockRole::Verbatim),
        "updates" => Ok(BlockRole::Updates),
        "questions" => Ok(BlockRole::Questions),
        other => Err(Error::Data(format!("unknown section role {other:?}"))),
    }
}

fn date_from(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| Error::Data(format!("date {s:?}: {e}")))
}

const CYCLE_COLUMNS: &str = "id, team_id, date, title, created_at";

fn cycle_row(r: &super::sql::Row) -> Result<(i64, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn cycle_info(row: (i64, String, String, String, String)) -> Result<CycleInfo> {
    let (id, team, date, title, created) = row;
    Ok(CycleInfo {
        id: CycleId(id),
        team: TeamId(team),
        date: date_from(&date)?,
        title,
        created_at: parse_ts(&created)?,
    })
}

impl Store {
    /// The cycle of `team` for the meeting on `date`, if there is one.
    pub fn cycle(&self, team: &TeamId, date: NaiveDate) -> Result<Option<CycleInfo>> {
        let row = self.conn.query_opt(
            &format!("SELECT {CYCLE_COLUMNS} FROM cycles WHERE team_id = ?1 AND date = ?2"),
            params![team.as_str(), date.to_string()],
            cycle_row,
        )?;
        row.map(cycle_info).transpose()
    }

    /// All cycles of a team, newest first.
    pub fn cycles(&self, team: &TeamId) -> Result<Vec<CycleInfo>> {
        let rows = self.conn.query_map(
            &format!("SELECT {CYCLE_COLUMNS} FROM cycles WHERE team_id = ?1 ORDER BY date DESC"),
            params![team.as_str()],
            cycle_row,
        )?;
        rows.into_iter().map(cycle_info).collect()
    }

    /// The cycle for `date`, created if needed: its sections copied from the team's previous
    /// meeting (as teams copy their pad forward), or the format's defaults for a first meeting;
    /// its roster the team's active members.
    pub fn ensure_cycle(
        &mut self,
        team: &TeamId,
        format: Format,
        date: NaiveDate,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<CycleInfo> {
        if let Some(existing) = self.cycle(team, date)? {
            return Ok(existing);
        }
        self.conn.transaction(|tx| {
        let id: i64 = tx.query_row(
            "INSERT INTO cycles (team_id, date, title, source, created_at, workspace)
             VALUES (?1, ?2, ?3, 'bot', ?4, (SELECT workspace FROM teams WHERE id = ?1)) RETURNING id",
            params![team.as_str(), date.to_string(), title, ts(now)],
            |r| r.get(0),
        )?;
        let previous: Option<i64> = tx.query_opt(
            "SELECT id FROM cycles WHERE team_id = ?1 AND date < ?2 ORDER BY date DESC LIMIT 1",
            params![team.as_str(), date.to_string()],
            |r| r.get(0),
        )?;
        let blocks = match previous {
            Some(prev) => load_blocks(tx, prev)?,
            None => default_blocks(format),
        };
        insert_blocks(tx, id, &blocks)?;
        tx.execute(
            "INSERT INTO cycle_members (cycle_id, member_id, position, workspace)
             SELECT ?1, id, position, workspace FROM members WHERE team_id = ?2 AND active = 1",
            params![id, team.as_str()],
        )?;
        self.cycle(team, date)?
            .ok_or_else(|| Error::NotFound(format!("cycle {date} of team {team}")))
        })
    }

    /// Everything needed to render the notes of `team`'s meeting on `date`.
    pub fn meeting(&self, team: &TeamId, format: Format, date: NaiveDate) -> Result<Meeting> {
        let cycle = self.cycle(team, date)?.ok_or_else(|| {
            Error::NotFound(format!(
                "team `{team}` has no meeting on {date}; `standup-bot compile --team {team} --list` shows the dates it has"
            ))
        })?;
        let blocks = load_blocks(&self.conn, cycle.id.0)?;
        let rows = self.conn.query_map(
            "SELECT m.handle, u.parsed FROM cycle_members cm
             JOIN members m ON m.id = cm.member_id
             LEFT JOIN updates u ON u.cycle_id = cm.cycle_id AND u.member_id = cm.member_id
             WHERE cm.cycle_id = ?1 ORDER BY cm.position, m.id",
            params![cycle.id.0],
            |r| Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?)),
        )?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut questions = Vec::new();
        for (handle, parsed) in rows {
            let update = parsed
                .map(|json| serde_json::from_str::<Update>(&json))
                .transpose()
                .map_err(|e| Error::Data(format!("update of @{handle} on {date}: {e}")))?;
            if let Some(section) = update
                .as_ref()
                .and_then(|u| u.section(SectionKind::Questions))
                && section.heading.is_none()
            {
                questions.extend(section.texts().into_iter().map(|t| Question {
                    handle: handle.clone(),
                    text: t.to_string(),
                }));
            }
            entries.push(Entry {
                handle,
                update,
                note: None,
            });
        }
        Ok(Meeting {
            format,
            date,
            title: cycle.title,
            blocks,
            entries,
            questions,
            extras: Vec::new(),
        })
    }
}

pub(super) fn load_blocks(conn: &Conn, cycle: i64) -> Result<Vec<Block>> {
    let rows = conn.query_map(
        "SELECT role, heading, body FROM meeting_sections WHERE cycle_id = ?1 ORDER BY position",
        params![cycle],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(|(role, heading, body)| {
            Ok(Block {
                role: role_from(&role)?,
                heading,
                body,
            })
        })
        .collect()
}

pub(super) fn insert_blocks(tx: &Conn, cycle: i64, blocks: &[Block]) -> Result<()> {
    for (position, block) in blocks.iter().enumerate() {
        tx.execute(
            "INSERT INTO meeting_sections (cycle_id, position, role, heading, body, workspace)
            VALUES (?1, ?2, ?3, ?4, ?5, (SELECT workspace FROM cycles WHERE id = ?1))",
            params![
                cycle,
                position as i64,
                role_name(block.role),
                block.heading,
                block.body
            ],
        )?;
    }
    Ok(())
}
