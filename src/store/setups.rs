//! Teams set up from Slack (`/standup setup`), kept as the `[[team]]` TOML the config layer
//! checks; the store only keeps them.

use super::sql::params;
use chrono::{DateTime, Utc};

use super::{Result, Store};
use crate::config::SlackTeam;
use standup_core::domain::{TeamId, UserId};

impl Store {
    /// Every team set up from Slack, by id (an order both engines give alike).
    pub fn slack_teams(&self) -> Result<Vec<SlackTeam>> {
        let rows = self.conn.query_map(
            "SELECT team_id, toml, set_by, set_at FROM slack_teams ORDER BY team_id",
            (),
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, toml, by, at) = row;
            out.push(SlackTeam {
                id: TeamId::new(&id),
                toml,
                by: UserId::new(&by),
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Forgets a team set up from Slack; false when none has this id. Its meetings stay stored.
    pub fn forget_slack_team(&mut self, id: &TeamId) -> Result<bool> {
        let gone = self.conn.execute(
            "DELETE FROM slack_teams WHERE team_id = ?1",
            params![id.as_str()],
        )?;
        Ok(gone > 0)
    }

    /// Keeps a team set up from Slack, replacing what was kept for its id.
    pub fn keep_slack_team(&mut self, team: &SlackTeam) -> Result<()> {
        self.conn.execute(
            "INSERT INTO slack_teams (team_id, toml, set_by, set_at, workspace) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (team_id) DO UPDATE SET toml = excluded.toml, set_by = excluded.set_by, set_at = excluded.set_at",
            params![
                team.id.as_str(),
                team.toml,
                team.by.as_str(),
                team.at.to_rfc3339(),
                self.workspace
            ],
        )?;
        Ok(())
    }
}
