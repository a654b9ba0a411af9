//! What the App Home tab and onboarding keep: who opened the bot's Home (their Home is
//! published again when their update or blockers change), a member's parsed update for a
//! cycle, and the members the bot still has to introduce itself to.

use super::sql::params;
use chrono::{DateTime, Utc};

use super::{Error, Result, Store, member_in_cycle, ts};
use standup_core::domain::{CycleId, TeamId, Update, UserId};

impl Store {
    /// Remembers that `user` opened the bot's Home tab.
    pub fn home_opened(&mut self, user: &UserId, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO home_views (slack_user, opened_at, workspace) VALUES (?1, ?2, ?3)
             ON CONFLICT (slack_user) DO UPDATE SET opened_at = excluded.opened_at",
            params![user.as_str(), ts(at), self.workspace],
        )?;
        Ok(())
    }

    /// Whether `user` ever opened the bot's Home tab.
    pub fn has_opened_home(&self, user: &UserId) -> Result<bool> {
        self.conn.query_row(
            "SELECT count(*) > 0 FROM home_views WHERE slack_user = ?1",
            params![user.as_str()],
            |r| r.get(0),
        )
    }

    /// The update `user` gave for a cycle, as last parsed; `None` when they have not answered.
    pub fn member_update(&self, cycle: CycleId, user: &UserId) -> Result<Option<Update>> {
        let Some(member) = member_in_cycle(&self.conn, cycle.0, user)? else {
            return Ok(None);
        };
        let parsed: Option<String> = self.conn.query_opt(
            "SELECT parsed FROM updates WHERE cycle_id = ?1 AND member_id = ?2",
            params![cycle.0, member],
            |r| r.get(0),
        )?;
        parsed
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| Error::Data(format!("update of {user}: {e}")))
    }

    /// Configured members of an already known team that the store has never seen: they were
    /// added to the config since the last start. Call before [`Store::sync_team`]; they are
    /// recorded as due for an introduction (see [`Store::intros_due`]). A team seen for the first
    /// time has no "added" members: its members are introduced when the bot joins its channel.
    pub fn note_added_members(&mut self, team: &TeamId, users: &[UserId]) -> Result<usize> {
        self.conn.transaction(|tx| {
        let known_team: bool = tx.query_row(
            "SELECT count(*) > 0 FROM teams WHERE id = ?1",
            params![team.as_str()],
            |r| r.get(0),
        )?;
        let mut added = 0;
        if known_team {
            let now = ts(Utc::now());
            for user in users {
                let known: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM members WHERE team_id = ?1 AND slack_user = ?2",
                    params![team.as_str(), user.as_str()],
                    |r| r.get(0),
                )?;
                if !known {
                    added += tx.execute(
                        "INSERT INTO intros (team_id, slack_user, due_at, workspace)
                         VALUES (?1, ?2, ?3, (SELECT workspace FROM teams WHERE id = ?1)) ON CONFLICT DO NOTHING",
                        params![team.as_str(), user.as_str(), now],
                    )?;
                }
            }
        }
        Ok(added)
        })
    }

    /// Marks members as due for an introduction (kept until [`Store::intro_done`]).
    pub fn intro_due(&mut self, team: &TeamId, users: &[UserId], at: DateTime<Utc>) -> Result<()> {
        let workspace = self.workspace.as_str();
        self.conn.transaction(|tx| {
            for user in users {
                tx.execute(
                    "INSERT INTO intros (team_id, slack_user, due_at, workspace)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![team.as_str(), user.as_str(), ts(at), workspace],
                )?;
            }
            Ok(())
        })
    }

    /// Introductions due and not done yet, oldest first.
    pub fn intros_due(&self) -> Result<Vec<(TeamId, UserId)>> {
        let rows = self.conn.query_map("SELECT team_id, slack_user FROM intros WHERE done_at IS NULL ORDER BY due_at, team_id, slack_user", (), |r| {
                Ok((TeamId(r.get(0)?), UserId(r.get::<String>(1)?)))
            })?;
        Ok(rows)
    }

    /// Marks an introduction done (sent, or no longer wanted).
    pub fn intro_done(&mut self, team: &TeamId, user: &UserId, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE intros SET done_at = ?3 WHERE team_id = ?1 AND slack_user = ?2",
            params![team.as_str(), user.as_str(), ts(at)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemberRecord, TeamRecord};
    use standup_core::domain::Format;

    fn team(users: &[&str]) -> TeamRecord {
        TeamRecord {
            id: TeamId::new("orbit"),
            name: "Orbit".into(),
            format: Format::Planning,
            channel: standup_core::domain::ChannelId::new("C0TEAM0001"),
            members: users
                .iter()
                .map(|u| MemberRecord {
                    user: Some(UserId(u.to_string())),
                    handle: u.to_lowercase(),
                })
                .collect(),
        }
    }

    fn ids(users: &[&str]) -> Vec<UserId> {
        users.iter().map(|u| UserId(u.to_string())).collect()
    }

    #[test]
    fn only_members_added_to_a_known_team_are_due() {
        let mut store = crate::store::test_store();
        let orbit = TeamId::new("orbit");
        // A new team: nobody is "added".
        assert_eq!(store.note_added_members(&orbit, &ids(&["U1"])).unwrap(), 0);
        store.sync_team(&team(&["U1"])).unwrap();
        // U2 joins the config later.
        assert_eq!(
            store
                .note_added_members(&orbit, &ids(&["U1", "U2"]))
                .unwrap(),
            1
        );
        store.sync_team(&team(&["U1", "U2"])).unwrap();
        assert_eq!(
            store.intros_due().unwrap(),
            vec![(orbit.clone(), UserId("U2".into()))]
        );
        // Noting again (a crash before the intro) changes nothing; done is done.
        assert_eq!(
            store
                .note_added_members(&orbit, &ids(&["U1", "U2"]))
                .unwrap(),
            0
        );
        store
            .intro_done(&orbit, &UserId("U2".into()), Utc::now())
            .unwrap();
        assert!(store.intros_due().unwrap().is_empty());
        store
            .intro_due(&orbit, &ids(&["U1", "U2"]), Utc::now())
            .unwrap();
        assert_eq!(
            store.intros_due().unwrap(),
            vec![(orbit, UserId("U1".into()))],
            "an introduction done stays done"
        );
    }

    /// Records a reply and returns the member's whole current text.
    fn say(
        store: &mut Store,
        cycle: CycleId,
        source: &str,
        ts: &str,
        version: &str,
        text: &str,
    ) -> String {
        let maria = UserId("U1".into());
        let reply = crate::store::NewReply {
            cycle,
            user: &maria,
            source,
            slack_ts: ts,
            version,
            text,
            at: Utc::now(),
        };
        store
            .record_reply(&reply, |t| {
                let p = standup_core::parse::parse_reply(
                    t,
                    Format::Planning,
                    &standup_core::parse::NoNames,
                );
                (p.update, p.diagnostics)
            })
            .unwrap();
        store.reply_text(cycle, &maria).unwrap().unwrap_or_default()
    }

    #[test]
    fn an_edited_update_replaces_older_messages_and_later_ones_add_to_it() {
        let mut store = crate::store::test_store();
        store.sync_team(&team(&["U1"])).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2024, 3, 11).unwrap();
        let cycle = store
            .ensure_cycle(
                &TeamId::new("orbit"),
                Format::Planning,
                date,
                "t",
                Utc::now(),
            )
            .unwrap()
            .id;
        say(
            &mut store,
            cycle,
            "dm",
            "1710147600.000100",
            "1710147600.000100",
            "Shipped:\n- a",
        );
        let two = say(
            &mut store,
            cycle,
            "dm",
            "1710147700.000100",
            "1710147700.000100",
            "Next:\n- b",
        );
        assert_eq!(two, "Shipped:\n- a\nNext:\n- b");
        // The whole update edited in the Home form: the DMs before it no longer count.
        let edited = say(
            &mut store,
            cycle,
            crate::store::SOURCE_REPLACE,
            "form",
            "1710147800.000000",
            "Shipped:\n- a, done\nNext:\n- b",
        );
        assert_eq!(edited, "Shipped:\n- a, done\nNext:\n- b");
        let update = store
            .member_update(cycle, &UserId("U1".into()))
            .unwrap()
            .unwrap();
        assert_eq!(update.sections.len(), 2, "{update:?}");
        // A DM sent after the edit adds to it; an older DM redelivered changes nothing.
        say(
            &mut store,
            cycle,
            "dm",
            "1710147600.000100",
            "1710147600.000100",
            "Shipped:\n- a",
        );
        let later = say(
            &mut store,
            cycle,
            "dm",
            "1710147900.000100",
            "1710147900.000100",
            "Blocked:\n- c",
        );
        assert_eq!(later, "Shipped:\n- a, done\nNext:\n- b\nBlocked:\n- c");
        // Edited again: the newest replacement wins.
        let again = say(
            &mut store,
            cycle,
            crate::store::SOURCE_REPLACE,
            "form",
            "1710148000.000000",
            "Next:\n- only this",
        );
        assert_eq!(again, "Next:\n- only this");
    }

    #[test]
    fn home_visitors_are_remembered() {
        let mut store = crate::store::test_store();
        let maria = UserId("U0MARIA001".into());
        assert!(!store.has_opened_home(&maria).unwrap());
        store.home_opened(&maria, Utc::now()).unwrap();
        store.home_opened(&maria, Utc::now()).unwrap();
        assert!(store.has_opened_home(&maria).unwrap());
    }
}
