//! Prompting a member: the DM that asks for their update (or reminds them), sent once per
//! send key, to members who are neither away, deactivated nor bots, with last cycle's plan.

use super::once::Sent;
use super::{App, Result, away, carry, messages, once, people};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::{CycleInfo, SendKey};
use standup_core::domain::{ChannelId, CycleId, UserId};

/// Sends the prompt to one member, once per `key`. Returns false when the member was not
/// prompted (away, deactivated, a bot).
pub async fn prompt(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    reminder: bool,
    key: &SendKey,
) -> Result<bool> {
    // Away, or already answered this cycle (daily prompts for a weekly meeting): no DM.
    if away::away_for(app, team, user, cycle.date).await? || answered(app, cycle.id, user).await? {
        return Ok(false);
    }
    let info = people::profile(app, team, user).await?;
    if info.deleted || info.is_bot {
        tracing::info!(team = %team.id, "not prompting a deactivated user or a bot");
        return Ok(false);
    }
    if away::away_by_status(app, team, cycle, user, &info).await? {
        return Ok(false);
    }
    let (id, who, tz, name) = (
        team.id.clone(),
        user.clone(),
        info.tz.clone(),
        info.name.clone(),
    );
    app.write(move |s| s.set_profile(&id, &who, tz.as_deref(), name.as_deref()))
        .await?;
    // Posting to the user id opens the DM on Slack's side: one call per member, not two.
    let to = ChannelId(user.0.clone());
    let (mut text, mut blocks) = messages::prompt(team, cycle, reminder);
    // The plan is a help, not the prompt: a prompt goes out without it rather than not at all.
    if let Err(e) = carry::add_plan(app, team, cycle, user, &mut text, &mut blocks).await {
        tracing::warn!(team = %team.id, error = %e, "prompting without last cycle's plan");
    }
    let out = Outgoing {
        channel: &to,
        text: &text,
        blocks: Some(blocks),
        thread_ts: None,
        key: None,
    };
    Ok(once::send_once(app, &team.id, key, out).await? != Sent::Busy)
}

async fn answered(app: &App, cycle: CycleId, user: &UserId) -> Result<bool> {
    Ok(app
        .read(move |s| s.roster(cycle))
        .await?
        .iter()
        .any(|(_, u, answered)| u.as_ref() == Some(user) && *answered))
}
