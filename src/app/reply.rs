//! A member's reply: a DM, its edit or deletion, or the answer form, recorded as a new version of
//! their update; then confirmed to them, posted in the cycle's thread, its blockers flagged and
//! the posted notes refreshed, each step on its own.

use super::{App, Dm, Failures, Result, buttons, channel, cycle, flags, home, messages, once};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::{self, CycleInfo, NewReply, SendKey};
use standup_core::domain::{ChannelId, UserId};
use standup_core::parse::parse_reply;

/// A DM from a user: a new message or an edit of one.
pub async fn direct_message(app: &App, dm: &Dm<'_>) -> Result<()> {
    // A member of several teams answers the first one in the config by DM; the form of a
    // prompt names its own team.
    let config = app.config();
    let Some(team) = config.teams_of(dm.user).first().copied() else {
        app.api
            .post(dm.channel, messages::NOT_A_MEMBER, None, None)
            .await?;
        return Ok(());
    };
    reply_to_team(app, team, dm).await
}

/// Records a form answer as the member's reply for the prompt's team; all submissions share
/// one key, so a resubmitted form is a new version of the same answer. `replace`: the form
/// was the Home tab's *Edit*, whose answer supersedes the messages written before it.
pub async fn form_answer(
    app: &App,
    user: &UserId,
    meta: &str,
    version: &str,
    text: &str,
    replace: bool,
) -> Result<()> {
    let Some(team) = buttons::team_from_meta(app, user, meta) else {
        return Ok(());
    };
    let team: &crate::config::TeamConfig = &team;
    let channel = app.api.open_dm(user).await?;
    let dm = Dm {
        user,
        channel: &channel,
        ts: "form",
        version,
        text,
        edited: true,
        replace,
    };
    reply_to_team(app, team, &dm).await
}

/// A member deleted a message in their DM: it no longer counts toward the update of the
/// cycle it was written for (an empty newest version; every revision stays stored). `user`
/// when Slack named the author; otherwise the store knows whose message it was.
pub async fn message_deleted(
    app: &App,
    user: Option<&UserId>,
    channel: &ChannelId,
    ts: &str,
    version: &str,
) -> Result<()> {
    let (at, by) = (ts.to_string(), user.cloned());
    let origin = app.read(move |s| s.reply_origin(&at, by.as_ref())).await?;
    let Some((cycle_id, team_id, author)) = origin else {
        tracing::debug!("a deleted message that was not part of an update");
        return Ok(());
    };
    let Some(team) = app.team(&team_id) else {
        return Ok(());
    };
    let Some(cycle) = cycle::cycles(app, &team.id)
        .await?
        .into_iter()
        .find(|c| c.id == cycle_id)
    else {
        return Ok(());
    };
    let dm = Dm {
        user: &author,
        channel,
        ts,
        version,
        text: "",
        edited: true,
        replace: false,
    };
    reply_in_cycle(app, &team, &cycle, &dm).await
}

/// Records a reply to `team`'s current cycle, confirms it, and flags what changed.
async fn reply_to_team(app: &App, team: &TeamConfig, dm: &Dm<'_>) -> Result<()> {
    let cycle = cycle::current_cycle(app, team).await?;
    reply_in_cycle(app, team, &cycle, dm).await
}

/// Records a reply to `cycle`, confirms it, and flags what changed.
async fn reply_in_cycle(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    dm: &Dm<'_>,
) -> Result<()> {
    let Dm {
        user,
        channel,
        ts,
        version,
        text,
        edited,
        replace,
    } = *dm;
    let names = app.names(&team.id);
    let (cycle_id, member) = (cycle.id, user.clone());
    let reply = NewReply {
        cycle: cycle.id,
        user: &member,
        source: match (replace, edited) {
            (true, _) => store::SOURCE_REPLACE,
            // An empty newest version is a deletion (see `message_deleted`).
            (false, true) if text.is_empty() => "deleted",
            (false, true) => "edit",
            (false, false) => "dm",
        },
        slack_ts: ts,
        version,
        text,
        at: app.now(),
    };
    let reply = reply.owned();
    let format = team.format;
    let outcome = app
        .write(move |s| {
            // A follow-through carry ends the member's text; notes are about what they wrote.
            let carry = s.carry_text(cycle_id, &member)?;
            s.record_reply(&reply.borrowed(), |t| {
                standup_core::followthrough::with_carry(t, carry.as_deref(), format, |own| {
                    let parsed = parse_reply(own, format, names.as_ref());
                    (parsed.update, parsed.diagnostics)
                })
            })
        })
        .await?;
    // Handling a version again (a redelivery, or after a crash) repeats only what did not
    // happen the first time: every step below is keyed or checked against the store.
    if !outcome.changed && !outcome.known {
        return Ok(());
    }
    if outcome.changed {
        tracing::info!(team = %team.id, cycle = %cycle.date, edited, "update recorded");
        app.metrics.reply_recorded();
        // A changed blocker refreshes the Home from `sync_flags`; otherwise it is done here.
        if outcome.opened.is_empty() && outcome.resolved.is_empty() {
            home::refresh_home(app, user).await;
        }
    }
    let confirmation = messages::understood(team.format, &outcome.update, &outcome.diagnostics);
    let key = SendKey::Ack {
        cycle: cycle.id,
        user: user.clone(),
        ts: ts.to_string(),
        version: version.to_string(),
    };
    let out = Outgoing {
        channel,
        text: &confirmation,
        blocks: None,
        thread_ts: None,
        key: None,
    };
    // The reply is stored: each step below is independent of the others, so one that
    // fails (a confirmation Slack refuses) does not keep the rest from the channel.
    let mut failures = Failures::default();
    let acked = once::send_once(app, &team.id, &key, out).await.map(|_| ());
    failures.note(&team.id, "confirming a reply", acked);
    let posted = channel::post_update(app, team, cycle, user, &outcome.update).await;
    failures.note(&team.id, "posting an update in the thread", posted);
    flags::update_changed(app, team, cycle, &mut failures).await;
    failures.into_result()
}
