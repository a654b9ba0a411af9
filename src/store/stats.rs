//! The raw facts participation statistics are worked out from: each recent cycle's roster with
//! who answered, who was away, when each was first prompted and when they first replied.

use super::sql::params;
use chrono::NaiveDate;

use super::{Result, Store, parse_ts};
use standup_core::domain::{CycleId, TeamId};
use standup_core::stats::{CycleFacts, Seat};

/// Per member of a cycle: handle, answered, away, first prompt sent, first reply received.
/// The prompt's time is when Slack took its message (`sends`, keyed as the prompt job's
/// `JobKey::send_key`, a [`super::SendKey::Prompt`]), else when its job finished.
const SEATS: &str = "
SELECT m.handle,
       EXISTS (SELECT 1 FROM updates u WHERE u.cycle_id = cm.cycle_id AND u.member_id = m.id),
       EXISTS (SELECT 1 FROM absences a
               WHERE a.member_id = m.id AND a.from_date <= c.date AND a.to_date >= c.date),
       (SELECT min(COALESCE(s.done_at, j.done_at)) FROM jobs j
          LEFT JOIN sends s ON s.key = 'prompt:' || j.team_id || ':' || j.member || ':' || j.fire_at
        WHERE j.team_id = c.team_id AND j.kind = 'prompt' AND j.state = 'done'
          AND j.member = m.slack_user AND j.cycle_date = c.date),
       (SELECT min(r.received_at) FROM replies r
        WHERE r.cycle_id = cm.cycle_id AND r.member_id = m.id)
FROM cycle_members cm
JOIN members m ON m.id = cm.member_id
JOIN cycles c ON c.id = cm.cycle_id
WHERE cm.cycle_id = ?1
ORDER BY cm.position, m.id";

type SeatRow = (String, bool, bool, Option<String>, Option<String>);

impl Store {
    /// The facts of `team`'s last `limit` cycles up to and including `up_to`, newest first.
    pub fn participation(
        &self,
        team: &TeamId,
        up_to: NaiveDate,
        limit: usize,
    ) -> Result<Vec<CycleFacts>> {
        let rows = self.conn.query_map("SELECT id, date FROM cycles WHERE team_id = ?1 AND date <= ?2 ORDER BY date DESC LIMIT ?3", 
                params![team.as_str(), up_to.to_string(), limit as i64],
                |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
            )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, date) in rows {
            let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|e| super::Error::Data(format!("date {date:?}: {e}")))?;
            let found: Vec<SeatRow> = self.conn.query_map(SEATS, params![id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let seats = found
                .into_iter()
                .map(|(handle, answered, away, prompted, replied)| {
                    Ok(Seat {
                        handle,
                        answered,
                        away,
                        prompted_at: prompted.as_deref().map(parse_ts).transpose()?,
                        first_reply_at: replied.as_deref().map(parse_ts).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push(CycleFacts {
                id: CycleId(id),
                date,
                seats,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use crate::store::{JobEnd, JobKey, MemberRecord, NewReply, TeamRecord};
    use standup_core::domain::{ChannelId, Format, TeamId, UserId};
    use standup_core::parse::{NoNames, parse_reply};

    #[test]
    fn facts_come_from_prompts_replies_and_absences() {
        let mut store = crate::store::test_store();
        let team = TeamId::new("orbit");
        let user = |i: usize| UserId(format!("U00000000{i}"));
        store
            .sync_team(&TeamRecord {
                id: team.clone(),
                name: "Orbit".into(),
                format: Format::Planning,
                channel: ChannelId::new("C0123456789"),
                members: ["maria", "kenji", "li"]
                    .iter()
                    .enumerate()
                    .map(|(i, h)| MemberRecord {
                        user: Some(user(i)),
                        handle: h.to_string(),
                    })
                    .collect(),
            })
            .unwrap();
        let at = |h, m| Utc.with_ymd_and_hms(2024, 3, 11, h, m, 0).unwrap();
        let date = at(0, 0).date_naive();
        let cycle = store
            .ensure_cycle(&team, Format::Planning, date, "Planning", at(8, 0))
            .unwrap();
        // Maria's prompt fired at 9:00, Slack took it at 9:01; she replied at 9:31.
        let key = JobKey {
            team: team.clone(),
            kind: "prompt",
            fire_at: at(9, 0),
            member: Some(user(0)),
            cycle_date: date,
        };
        store.begin_job(&key, at(9, 0)).unwrap();
        let channel = ChannelId(user(0).0);
        let send = key.send_key().unwrap().to_string();
        store
            .begin_send(&send, &key.team, &channel, None, at(9, 0))
            .unwrap();
        store.finish_send(&send, &channel, "1.0", at(9, 1)).unwrap();
        store.end_job(&key, JobEnd::Done, None, at(9, 2)).unwrap();
        let maria = user(0);
        let reply = NewReply {
            cycle: cycle.id,
            user: &maria,
            source: "dm",
            slack_ts: "2.0",
            version: "2.0",
            text: "Shipped:\n- x",
            at: at(9, 31),
        };
        store
            .record_reply(&reply, |t| {
                let p = parse_reply(t, Format::Planning, &NoNames);
                (p.update, p.diagnostics)
            })
            .unwrap();
        store
            .add_absence(&team, &user(1), date, date, "ooo", at(8, 0))
            .unwrap();

        let facts = store.participation(&team, date, 8).unwrap();
        assert_eq!(facts.len(), 1);
        let seats = &facts[0].seats;
        let got: Vec<_> = seats
            .iter()
            .map(|s| (s.handle.as_str(), s.answered, s.away))
            .collect();
        assert_eq!(
            got,
            [
                ("maria", true, false),
                ("kenji", false, true),
                ("li", false, false)
            ]
        );
        assert_eq!(seats[0].prompted_at, Some(at(9, 1)));
        assert_eq!(seats[0].first_reply_at, Some(at(9, 31)));
        assert_eq!(seats[2].prompted_at, None);
        assert!(
            store
                .participation(&team, date.pred_opt().unwrap(), 8)
                .unwrap()
                .is_empty()
        );
    }
}
