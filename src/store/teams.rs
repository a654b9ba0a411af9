//! Teams and their members, as the configuration says they are now.

use super::sql::{Conn, params};

use super::{Result, Store};
use standup_core::domain::{ChannelId, Format, TeamId, UserId};

/// A team as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub format: Format,
    pub channel: ChannelId,
    /// In document order.
    pub members: Vec<MemberRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user: Option<UserId>,
    pub handle: String,
}

impl Store {
    /// Makes the stored team match its configuration: members in config are active, in config
    /// order; members no longer configured are kept (their past updates stay) but inactive.
    /// A configured member whose handle is already known from imported notes takes that row over.
    pub fn sync_team(&mut self, team: &TeamRecord) -> Result<()> {
        let workspace = self.workspace.as_str();
        self.conn.transaction(|tx| {
        tx.execute(
            "INSERT INTO teams (id, name, format, channel, workspace) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, format = excluded.format, channel = excluded.channel",
            params![team.id.as_str(), team.name, team.format.name(), team.channel.as_str(), workspace],
        )?;
        tx.execute(
            "UPDATE members SET active = 0 WHERE team_id = ?1",
            params![team.id.as_str()],
        )?;
        for (position, member) in team.members.iter().enumerate() {
            let by_user: Option<i64> = match &member.user {
                Some(user) => tx.query_opt(
                    "SELECT id FROM members WHERE team_id = ?1 AND slack_user = ?2",
                    params![team.id.as_str(), user.as_str()],
                    |r| r.get(0),
                )?,
                None => None,
            };
            let by_handle: Option<(i64, Option<String>)> = tx.query_opt(
                "SELECT id, slack_user FROM members WHERE team_id = ?1 AND handle = ?2",
                params![team.id.as_str(), member.handle],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let user = member.user.as_ref().map(UserId::as_str);
            match (by_user, by_handle) {
                (Some(id), Some((other, _))) if other != id => {
                    // The handle moved to this user: free it from the old row first.
                    tx.execute(
                        "UPDATE members SET handle = handle || '~' || id WHERE id = ?1",
                        params![other],
                    )?;
                    update_member(tx, id, &member.handle, user, position)?;
                }
                (Some(id), _) => update_member(tx, id, &member.handle, user, position)?,
                (None, Some((id, None))) => update_member(tx, id, &member.handle, user, position)?,
                (None, Some((id, Some(_)))) => {
                    tx.execute(
                        "UPDATE members SET handle = handle || '~' || id WHERE id = ?1",
                        params![id],
                    )?;
                    insert_member(tx, workspace, team, &member.handle, user, position)?;
                }
                (None, None) => insert_member(tx, workspace, team, &member.handle, user, position)?,
            }
        }
        Ok(())
        })
    }

    /// The stored team ids.
    pub fn team_ids(&self) -> Result<Vec<TeamId>> {
        let ids = self
            .conn
            .query_map("SELECT id FROM teams ORDER BY id", (), |r| {
                r.get::<String>(0)
            })?;
        Ok(ids.into_iter().map(TeamId).collect())
    }

    /// Active members of a team in config order, as `(handle, slack user)`.
    pub fn active_members(&self, team: &TeamId) -> Result<Vec<MemberRecord>> {
        let rows = self.conn.query_map("SELECT handle, slack_user FROM members WHERE team_id = ?1 AND active = 1 ORDER BY position", params![team.as_str()], |r| {
                Ok(MemberRecord {
                    handle: r.get(0)?,
                    user: r.get::<Option<String>>(1)?.map(UserId),
                })
            })?;
        Ok(rows)
    }
}

fn update_member(
    tx: &Conn,
    id: i64,
    handle: &str,
    user: Option<&str>,
    position: usize,
) -> Result<()> {
    tx.execute(
        "UPDATE members SET handle = ?2, slack_user = ?3, active = 1, position = ?4 WHERE id = ?1",
        params![id, handle, user, position as i64],
    )?;
    Ok(())
}

fn insert_member(
    tx: &Conn,
    workspace: &str,
    team: &TeamRecord,
    handle: &str,
    user: Option<&str>,
    position: usize,
) -> Result<()> {
    tx.execute(
        "INSERT INTO members (team_id, handle, slack_user, active, position, workspace) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
        params![team.id.as_str(), handle, user, position as i64, workspace],
    )?;
    Ok(())
}
