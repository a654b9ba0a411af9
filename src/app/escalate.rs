//! Escalation of old blockers (`escalate_after`, `leads`): an open blocker older than the
//! threshold gets, once, a reply in its flag's thread mentioning the leads and the blocked
//! member. Run from the scheduler; each is keyed `escalate:<blocker id>` through
//! [`App::send_once`], so a restart does not repeat one. A blocker resolved before its time is
//! no longer open, so it is never escalated.

use chrono::{DateTime, Utc};

use super::messages::{IN_THE_NOTES, escape, from_markdown, since};
use super::{App, Result, Sent};
use crate::config::{FlagsTo, TeamConfig};
use crate::slack::client::Outgoing;
use crate::store::{OpenBlocker, Post};

impl App {
    /// Escalates the team's open blockers that are due at `now`; returns when the next one is.
    pub async fn escalate_due(
        &self,
        team: &TeamConfig,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let Some(after) = team.threads.escalate_after else {
            return Ok(None);
        };
        let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
        let open = self.store().open_blockers(&team.id)?;
        let mut next: Option<DateTime<Utc>> = None;
        for blocker in &open {
            let Some(due) = blocker.opened_at.checked_add_signed(after) else {
                continue;
            };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            if !self.escalate(team, blocker, now).await? {
                // Another task of this process is sending it: look again shortly.
                let soon = now + chrono::Duration::seconds(1);
                next = Some(next.map_or(soon, |n| n.min(soon)));
            }
        }
        Ok(next)
    }

    /// Sends one blocker's escalation (once). Returns false when another task is sending it.
    async fn escalate(
        &self,
        team: &TeamConfig,
        blocker: &OpenBlocker,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let key = format!("escalate:{}", blocker.id);
        let flag = self
            .store()
            .last_post(blocker.cycle, &format!("blocker:{}", blocker.id))?;
        // A flag in the cycle's thread is itself a reply: Slack threads have one level, so the
        // escalation goes into the same thread. A flag in the channel gets its own thread.
        let (channel, thread) = match flag {
            Some(Post {
                channel,
                ts: Some(ts),
                ..
            }) => {
                let in_thread = if team.threads.blocker_flags == FlagsTo::Thread {
                    self.store()
                        .last_post(blocker.cycle, "thread")?
                        .and_then(|p| p.ts)
                } else {
                    None
                };
                (channel, Some(in_thread.unwrap_or(ts)))
            }
            _ => (team.channel.clone(), None),
        };
        let text = escalation(team, blocker, now);
        let out = Outgoing {
            channel: &channel,
            text: &text,
            blocks: None,
            thread_ts: thread.as_deref(),
            key: Some(&key),
        };
        let sent = self.send_once(&key, out).await?;
        if sent != Sent::Busy {
            tracing::info!(team = %team.id, blocker = blocker.id, "blocker escalated");
        }
        Ok(sent != Sent::Busy)
    }
}

/// `:rotating_light: <@LEAD>: <@KENJI> has been blocked since … (open 3 days): text`.
pub fn escalation(team: &TeamConfig, blocker: &OpenBlocker, now: DateTime<Utc>) -> String {
    let leads: Vec<String> = team
        .threads
        .leads
        .iter()
        .map(|l| format!("<@{l}>"))
        .collect();
    let who = match &blocker.user {
        Some(user) => format!("<@{user}>"),
        None => format!("@{}", escape(&blocker.handle)),
    };
    let text = format!(
        ":rotating_light: {}: {who} has been blocked since {} ({}): {}",
        leads.join(" "),
        since(blocker.opened_at),
        super::messages::age(blocker.opened_at, now),
        from_markdown(&blocker.text)
    );
    crate::slack::blocks::message_text(&text, IN_THE_NOTES)
}
