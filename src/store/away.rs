//! Time off as stored: a member's absences listed and cancelled, their own quiet hours, and who
//! was out of office by Slack status when prompted; what the document notes about who is away.

use super::sql::params;
use chrono::{DateTime, NaiveDate, Utc};

use standup_core::calendar::AwayNote;

use super::{Result, Store, ts};
use standup_core::domain::{TeamId, UserId};

/// One stored out-of-office range (or skip) of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    pub id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `ooo` or `skip`.
    pub kind: String,
}

fn parse_date(s: String) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    /// A member's absences that end on or after `today`, soonest first.
    pub fn upcoming_absences(
        &self,
        team: &TeamId,
        user: &UserId,
        today: NaiveDate,
    ) -> Result<Vec<Absence>> {
        let rows = self.conn.query_map(
            "SELECT a.id, a.from_date, a.to_date, a.kind FROM absences a
             JOIN members m ON m.id = a.member_id
             WHERE m.team_id = ?1 AND m.slack_user = ?2 AND a.to_date >= ?3
             ORDER BY a.from_date, a.to_date, a.id",
            params![team.as_str(), user.as_str(), today.to_string()],
            |r| {
                Ok(Absence {
                    id: r.get(0)?,
                    from: parse_date(r.get(1)?)?,
                    to: parse_date(r.get(2)?)?,
                    kind: r.get(3)?,
                })
            },
        )?;
        Ok(rows)
    }

    /// Cancels one absence of the member; false when it is not theirs (or already gone).
    pub fn cancel_absence(&mut self, team: &TeamId, user: &UserId, id: i64) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM absences WHERE id = ?3 AND member_id =
                 (SELECT id FROM members WHERE team_id = ?1 AND slack_user = ?2)",
            params![team.as_str(), user.as_str(), id],
        )?;
        Ok(n > 0)
    }

    /// Sets the member's own quiet hours (`HH:MM-HH:MM` or `off`); `None` goes back to config.
    pub fn set_quiet_hours(
        &mut self,
        team: &TeamId,
        user: &UserId,
        quiet: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE members SET quiet_hours = ?3 WHERE team_id = ?1 AND slack_user = ?2",
            params![team.as_str(), user.as_str(), quiet],
        )?;
        Ok(())
    }

    /// The member's own quiet hours as they set them, if they did.
    pub fn quiet_hours(&self, team: &TeamId, user: &UserId) -> Result<Option<String>> {
        let q: Option<Option<String>> = self.conn.query_opt(
            "SELECT quiet_hours FROM members WHERE team_id = ?1 AND slack_user = ?2",
            params![team.as_str(), user.as_str()],
            |r| r.get(0),
        )?;
        Ok(q.flatten())
    }

    /// Records that the member's Slack status said out of office for the cycle of `date`.
    pub fn record_status_away(
        &mut self,
        team: &TeamId,
        user: &UserId,
        date: NaiveDate,
        emoji: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO status_away (member_id, cycle_date, emoji, seen_at, workspace)
             SELECT id, ?3, ?4, ?5, workspace FROM members WHERE team_id = ?1 AND slack_user = ?2
             ON CONFLICT DO NOTHING",
            params![
                team.as_str(),
                user.as_str(),
                date.to_string(),
                emoji,
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Handles of the team's members away on `date` (out of office, by range or by status) and
    /// why; plain skips are not listed.
    pub fn away_on(&self, team: &TeamId, date: NaiveDate) -> Result<Vec<(String, AwayNote)>> {
        let rows = self.conn.query_map(
            "SELECT m.handle, max(a.to_date) FROM absences a JOIN members m ON m.id = a.member_id
             WHERE m.team_id = ?1 AND a.kind = 'ooo' AND a.from_date <= ?2 AND a.to_date >= ?2
             GROUP BY m.id
             UNION ALL
             SELECT m.handle, NULL FROM status_away s JOIN members m ON m.id = s.member_id
             WHERE m.team_id = ?1 AND s.cycle_date = ?2",
            params![team.as_str(), date.to_string()],
            |r| {
                let handle: String = r.get(0)?;
                let note = match r.get::<Option<String>>(1)? {
                    Some(to) => AwayNote::Until(parse_date(to)?),
                    None => AwayNote::Status,
                };
                Ok((handle, note))
            },
        )?;
        Ok(rows)
    }
}

impl Store {
    /// Whether the member's Slack status said out of office for the cycle of `date`.
    pub fn status_away(&self, team: &TeamId, user: &UserId, date: NaiveDate) -> Result<bool> {
        self.conn.query_row(
            "SELECT count(*) > 0 FROM status_away s JOIN members m ON m.id = s.member_id
             WHERE m.team_id = ?1 AND m.slack_user = ?2 AND s.cycle_date = ?3",
            params![team.as_str(), user.as_str(), date.to_string()],
            |r| r.get(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemberRecord, TeamRecord};
    use standup_core::domain::{ChannelId, Format};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn absences_listed_cancelled_and_noted() {
        let mut store = crate::store::test_store();
        let team = TeamId::new("orbit");
        store
            .sync_team(&TeamRecord {
                id: team.clone(),
                name: "Orbit".into(),
                format: Format::Planning,
                channel: ChannelId::new("C0123456789"),
                members: ["maria", "kenji"]
                    .iter()
                    .enumerate()
                    .map(|(i, h)| MemberRecord {
                        user: Some(UserId(format!("U00000000{i}"))),
                        handle: h.to_string(),
                    })
                    .collect(),
            })
            .unwrap();
        let (maria, kenji) = (UserId("U000000000".into()), UserId("U000000001".into()));
        let now = Utc::now();
        store
            .add_absence(&team, &maria, d("2026-11-20"), d("2026-11-27"), "ooo", now)
            .unwrap();
        store
            .add_absence(&team, &maria, d("2026-11-01"), d("2026-11-02"), "ooo", now)
            .unwrap();
        store
            .add_absence(&team, &kenji, d("2026-11-23"), d("2026-11-23"), "skip", now)
            .unwrap();
        store
            .record_status_away(&team, &kenji, d("2026-11-24"), ":palm_tree:", now)
            .unwrap();

        let upcoming = store
            .upcoming_absences(&team, &maria, d("2026-11-21"))
            .unwrap();
        assert_eq!(upcoming.len(), 1, "the past leave is not listed");
        assert_eq!(
            (upcoming[0].from, upcoming[0].to),
            (d("2026-11-20"), d("2026-11-27"))
        );
        // A plain skip is not "out of office"; a status is.
        assert_eq!(
            store.away_on(&team, d("2026-11-23")).unwrap(),
            [("maria".to_string(), AwayNote::Until(d("2026-11-27")))]
        );
        assert_eq!(
            store.away_on(&team, d("2026-11-24")).unwrap(),
            [
                ("maria".to_string(), AwayNote::Until(d("2026-11-27"))),
                ("kenji".to_string(), AwayNote::Status)
            ]
        );
        assert!(store.status_away(&team, &kenji, d("2026-11-24")).unwrap());
        // Only the owner cancels.
        assert!(!store.cancel_absence(&team, &kenji, upcoming[0].id).unwrap());
        assert!(store.cancel_absence(&team, &maria, upcoming[0].id).unwrap());
        assert!(!store.is_away(&team, &maria, d("2026-11-24")).unwrap());

        assert_eq!(store.quiet_hours(&team, &maria).unwrap(), None);
        store.set_quiet_hours(&team, &maria, Some("off")).unwrap();
        assert_eq!(
            store.quiet_hours(&team, &maria).unwrap().as_deref(),
            Some("off")
        );
        store.set_quiet_hours(&team, &maria, None).unwrap();
        assert_eq!(store.quiet_hours(&team, &maria).unwrap(), None);
    }
}
