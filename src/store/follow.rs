//! What follow-through reads: a member's update of an earlier cycle, their recent updates for
//! `/standup history`, and the carry they clicked in the current cycle.

use super::sql::params;
use chrono::NaiveDate;

use super::{Error, Result, Store};
use standup_core::domain::{CycleId, TeamId, Update, UserId};

/// One stored update of a member, with the meeting it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastUpdate {
    pub date: NaiveDate,
    pub title: String,
    pub update: Update,
}

/// The `slack_ts` a member's carry is stored under: one per member and cycle, so a later click
/// is a newer version of the same message and replaces the earlier carry.
pub const CARRY_KEY: &str = "carry";
/// The `source` of a carry row; such rows come after the member's messages in their update.
pub const CARRY_SOURCE: &str = "carry";

impl Store {
    /// The team's last cycle before `before`, and `user`'s update in it (`None` when they sent
    /// none). `None` when the team has no earlier cycle.
    pub fn previous_update(
        &self,
        team: &TeamId,
        before: NaiveDate,
        user: &UserId,
    ) -> Result<Option<(NaiveDate, Option<Update>)>> {
        let row: Option<(String, Option<String>)> = self
            .conn
            .query_opt(
                "SELECT c.date, (SELECT u.parsed FROM updates u JOIN members m ON m.id = u.member_id
                                 WHERE u.cycle_id = c.id AND m.team_id = c.team_id AND m.slack_user = ?3)
                 FROM cycles c WHERE c.team_id = ?1 AND c.date < ?2 ORDER BY c.date DESC LIMIT 1",
                params![team.as_str(), before.to_string(), user.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            ?;
        let Some((date, parsed)) = row else {
            return Ok(None);
        };
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .map_err(|e| Error::Data(format!("date {date:?}: {e}")))?;
        let update = parsed.map(|json| parse_update(&json)).transpose()?;
        Ok(Some((date, update)))
    }

    /// The last `limit` non-empty updates of the member `user` of `team`, newest first.
    pub fn member_updates(
        &self,
        team: &TeamId,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<PastUpdate>> {
        let rows = self.conn.query_map(
            "SELECT c.date, c.title, u.parsed FROM updates u
             JOIN members m ON m.id = u.member_id
             JOIN cycles c ON c.id = u.cycle_id
             WHERE m.team_id = ?1 AND m.slack_user = ?2
             ORDER BY c.date DESC",
            params![team.as_str(), user.as_str()],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for (date, title, parsed) in rows {
            let update = parse_update(&parsed)?;
            if update.is_empty() {
                continue;
            }
            let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|e| Error::Data(format!("date {date:?}: {e}")))?;
            out.push(PastUpdate {
                date,
                title,
                update,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// The text of the member's latest carry in a cycle, if they clicked one.
    pub fn carry_text(&self, cycle: CycleId, user: &UserId) -> Result<Option<String>> {
        self.conn.query_opt(
            "SELECT r.text FROM replies r JOIN members m ON m.id = r.member_id
                 WHERE r.cycle_id = ?1 AND m.slack_user = ?2 AND r.slack_ts = ?3 AND r.source = ?4
                 ORDER BY length(r.version_ts) DESC, r.version_ts DESC, r.revision DESC LIMIT 1",
            params![cycle.0, user.as_str(), CARRY_KEY, CARRY_SOURCE],
            |r| r.get(0),
        )
    }
}

fn parse_update(json: &str) -> Result<Update> {
    serde_json::from_str(json).map_err(|e| Error::Data(format!("stored update: {e}")))
}
