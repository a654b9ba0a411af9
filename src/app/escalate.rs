//! Escalation of old blockers (`escalate_after`, `leads`): an open blocker older than the
//! threshold gets, once, a reply in its flag's thread mentioning the leads and the blocked
//! member. Run from the scheduler; each is keyed `escalate:<blocker id>` through
//! [`once::send_once`](super::once::send_once), so a restart does not repeat one. A blocker resolved before its time is
//! no longer open, so it is never escalated.

use chrono::{DateTime, Utc};

use super::messages::{IN_THE_NOTES, escape, from_markdown, since};
use super::{App, Result, Sent};
use super::{channel, flags, notes, once};
use crate::config::{FlagsTo, TeamConfig};
use crate::slack::client::Outgoing;
use crate::store::{OpenBlocker, Post, PostKind, SendKey};
use standup_core::domain::ChannelId;

/// How soon an escalation Slack refused is tried again.
const RETRY: chrono::Duration = chrono::Duration::seconds(5);

/// Escalates the team's open blockers that are due at `now`; returns when the next one is.
pub async fn escalate_due(
    app: &App,
    team: &TeamConfig,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let Some(after) = team.threads.escalate_after else {
        return Ok(None);
    };
    let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    let open = flags::open_blockers(app, &team.id).await?;
    let mut next: Option<DateTime<Utc>> = None;
    for blocker in &open {
        let Some(due) = blocker.opened_at.checked_add_signed(after) else {
            continue;
        };
        if due > now {
            next = Some(next.map_or(due, |n| n.min(due)));
            continue;
        }
        // Each blocker on its own: one Slack refuses does not hold back the others.
        let again = match escalate(app, team, blocker, now).await {
            Ok(true) => None,
            // Another task of this process is sending it: look again shortly.
            Ok(false) => Some(chrono::Duration::seconds(1)),
            // Given up (logged then, shown in `/standup status`): not tried again.
            Err(e) if e.given_up() => None,
            Err(e) => {
                tracing::warn!(team = %team.id, blocker = blocker.id, error = %e, "escalating a blocker failed; trying again soon");
                Some(RETRY)
            }
        };
        if let Some(after) = again {
            let soon = now + after;
            next = Some(next.map_or(soon, |n| n.min(soon)));
        }
    }
    Ok(next)
}

/// Sends one blocker's escalation (once). Returns false when another task is sending it.
async fn escalate(
    app: &App,
    team: &TeamConfig,
    blocker: &OpenBlocker,
    now: DateTime<Utc>,
) -> Result<bool> {
    let key = SendKey::Escalate(blocker.id);
    // Flags in the cycle's thread: the escalation goes there too (Slack threads have one
    // level), flagged yet or not.
    let cycle = match team.threads.blocker_flags {
        FlagsTo::Thread => {
            let (id, date) = (team.id.clone(), blocker.date);
            app.read(move |s| s.cycle(&id, date)).await?
        }
        _ => None,
    };
    if let Some(cycle) = cycle
        && let Some((channel, thread)) = channel::cycle_thread(app, team, &cycle).await?
    {
        return send_escalation(app, team, blocker, now, &key, &channel, Some(&thread)).await;
    }
    // Flags in the channel: the escalation is a reply to the flag, so a blocker not flagged
    // yet (the bot stopped in between) is flagged first. A flag given up is not waited for.
    let flag_kind = PostKind::Blocker(blocker.id).to_string();
    if notes::last_post(app, blocker.cycle, &flag_kind)
        .await?
        .is_none()
    {
        match flags::flag(app, team, blocker).await {
            Err(e) if e.given_up() => {}
            flagged => flagged?,
        }
    }
    let (channel, thread) = match notes::last_post(app, blocker.cycle, &flag_kind).await? {
        Some(Post {
            channel,
            ts: Some(ts),
            ..
        }) => (channel, Some(ts)),
        _ => (team.channel.clone(), None),
    };
    send_escalation(app, team, blocker, now, &key, &channel, thread.as_deref()).await
}

/// Posts one blocker's escalation (once). Returns false when another task is sending it.
async fn send_escalation(
    app: &App,
    team: &TeamConfig,
    blocker: &OpenBlocker,
    now: DateTime<Utc>,
    key: &SendKey,
    channel: &ChannelId,
    thread: Option<&str>,
) -> Result<bool> {
    let text = escalation(team, blocker, now);
    let out = Outgoing {
        channel,
        text: &text,
        blocks: None,
        thread_ts: thread,
        key: None,
    };
    let sent = once::send_once(app, &team.id, key, out).await?;
    if sent != Sent::Busy {
        tracing::info!(team = %team.id, blocker = blocker.id, "blocker escalated");
    }
    Ok(sent != Sent::Busy)
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
