//! Blockers in the team channel: each open blocker flagged once, the flag edited when it is
//! resolved (by a later update, `/standup unblock` or the Home tab), and `resolve` on behalf of
//! its owner.

use chrono::NaiveDate;

use super::once::Sent;
use super::{App, Failures, Result, channel, cycle, digest, home, messages, notes, once};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::{CycleInfo, OpenBlocker, Post, PostKind, SendKey};
use standup_core::domain::{ChannelId, TeamId, UserId};

/// Brings the team channel's blocker flags in line with the store: flags open blockers not
/// flagged yet and marks resolved ones on their flag. Each step happens once, and each
/// blocker on its own: one Slack refuses is left for the next sync, the others go ahead.
pub async fn sync_flags(app: &App, team: &TeamConfig) -> Result<()> {
    let id = team.id.clone();
    let (unflagged, resolved) = app.read(move |s| s.unsynced_blockers(&id)).await?;
    let mut failures = Failures::default();
    for blocker in &unflagged {
        let flagged = flag(app, team, blocker).await;
        failures.note(&team.id, "flagging a blocker", flagged);
    }
    if !unflagged.is_empty() && team.threads.escalate_after.is_some() {
        // A new blocker has an escalation due: the scheduler learns when.
        app.wake_scheduler();
    }
    // A blocker resolved while its flag was being posted here was not yet flagged when the
    // resolver synced, so nothing edited it: look again once the flags are recorded.
    let late = if unflagged.is_empty() {
        Vec::new()
    } else {
        let id = team.id.clone();
        let (_, now_resolved) = app.read(move |s| s.unsynced_blockers(&id)).await?;
        now_resolved
            .into_iter()
            .filter(|(b, _)| unflagged.iter().any(|f| f.id == b.id))
            .collect()
    };
    for (blocker, by) in resolved.iter().chain(&late) {
        let unflagged = unflag(app, team, blocker, &resolved_by(by)).await;
        failures.note(&team.id, "marking a blocker resolved", unflagged);
    }
    // Their owners' Home tabs list open blockers.
    let mut owners: Vec<&UserId> = unflagged
        .iter()
        .chain(resolved.iter().chain(&late).map(|(b, _)| b))
        .filter_map(|b| b.user.as_ref())
        .collect();
    owners.sort();
    owners.dedup();
    for owner in owners {
        home::refresh_home(app, owner).await;
    }
    failures.into_result()
}

/// Posts a blocker to the team channel (once) and remembers the message.
pub(super) async fn flag(app: &App, team: &TeamConfig, blocker: &OpenBlocker) -> Result<()> {
    let (text, blocks) = messages::blocker_flag(blocker, None);
    let key = SendKey::Blocker(blocker.id);
    let thread = channel::flag_thread(app, team, blocker).await?;
    let out = Outgoing {
        channel: &team.channel,
        text: &text,
        blocks: Some(blocks),
        thread_ts: thread.as_deref(),
        key: None,
    };
    let Sent::At(channel, ts) = once::send_once(app, &team.id, &key, out).await? else {
        return Ok(());
    };
    record_flag(
        app,
        blocker,
        PostKind::Blocker(blocker.id),
        channel,
        ts,
        &text,
    )
    .await
}

/// Remembers a blocker's flag message (`blocker:<id>`) or its edit (`resolved:<id>`).
async fn record_flag(
    app: &App,
    blocker: &OpenBlocker,
    kind: PostKind,
    channel: ChannelId,
    ts: String,
    text: &str,
) -> Result<()> {
    notes::record_post(
        app,
        Post {
            cycle: blocker.cycle,
            kind: kind.to_string(),
            channel,
            ts: Some(ts),
            file_id: None,
            content_digest: digest(text),
            posted_at: app.now(),
        },
    )
    .await
}

/// A team's open blockers.
pub(super) async fn open_blockers(app: &App, team: &TeamId) -> Result<Vec<OpenBlocker>> {
    let id = team.clone();
    Ok(app.read(move |s| s.open_blockers(&id)).await?)
}

/// Edits a blocker's flag to say it is resolved (an edit: doing it twice is harmless).
async fn unflag(app: &App, team: &TeamConfig, blocker: &OpenBlocker, how: &str) -> Result<()> {
    let post = notes::last_post(
        app,
        blocker.cycle,
        &PostKind::Blocker(blocker.id).to_string(),
    )
    .await?;
    let Some(Post {
        ts: Some(ts),
        channel,
        ..
    }) = post
    else {
        tracing::warn!(team = %team.id, "resolved blocker had no flag message to edit");
        return Ok(());
    };
    let (text, blocks) = messages::blocker_flag(blocker, Some(how));
    app.api.update(&channel, &ts, &text, Some(blocks)).await?;
    record_flag(
        app,
        blocker,
        PostKind::Resolved(blocker.id),
        channel,
        ts,
        &text,
    )
    .await
}

/// Resolves a blocker by id on behalf of `user`; only its owner may.
pub async fn resolve(app: &App, user: &UserId, id: i64) -> Result<Option<String>> {
    for team in app.config().teams_of(user) {
        let open = open_blockers(app, &team.id).await?;
        if let Some(b) = open.into_iter().find(|b| b.id == id) {
            if b.user.as_ref() != Some(user) {
                return Ok(Some(
                    "Only the person who is blocked can resolve their blocker.".into(),
                ));
            }
            let (id, by, now) = (b.id, user.to_string(), app.now());
            app.write(move |s| s.resolve_blocker(id, &by, now)).await?;
            // Resolved in the store: the flag and the notes follow, and a failure there is
            // logged rather than told to the member as if nothing had happened.
            if let Err(e) = blockers_changed(app, team, &[b.date]).await {
                tracing::warn!(team = %team.id, error = %e, "a resolved blocker is not shown as resolved in Slack yet");
            }
            return Ok(Some(format!(
                "Resolved: {}",
                messages::from_markdown(&b.text)
            )));
        }
    }
    Ok(None)
}

/// After a member's update of `cycle` changed (a reply, a carry): the team's blocker flags and
/// the cycle's posted notes follow it, each on its own.
pub(super) async fn update_changed(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    failures: &mut Failures,
) {
    failures.note(
        &team.id,
        "syncing blocker flags",
        sync_flags(app, team).await,
    );
    let refreshed = notes::refresh_posted_notes(app, team, cycle).await;
    failures.note(&team.id, "refreshing the posted notes", refreshed);
}

/// After blockers were raised or resolved: their flags, and the posted notes that show
/// them: those of the blockers' own meetings (`dates`) and the team's latest (a summary
/// lists all of the team's open blockers). Each on its own; the first failure is returned.
pub(super) async fn blockers_changed(
    app: &App,
    team: &TeamConfig,
    dates: &[NaiveDate],
) -> Result<()> {
    let mut failures = Failures::default();
    failures.note(
        &team.id,
        "syncing blocker flags",
        sync_flags(app, team).await,
    );
    let mut cycles = cycle::cycles(app, &team.id).await?;
    // Newest first: the latest, then the blockers' own.
    let latest = cycles.first().map(|c| c.date);
    cycles.retain(|c| Some(c.date) == latest || dates.contains(&c.date));
    for cycle in &cycles {
        let refreshed = notes::refresh_posted_notes(app, team, cycle).await;
        failures.note(&team.id, "refreshing the posted notes", refreshed);
    }
    failures.into_result()
}

/// How a resolved blocker's flag says who resolved it.
fn resolved_by(by: &str) -> String {
    match by {
        "update" => "resolved by a later update".to_string(),
        u if u.starts_with('U') || u.starts_with('W') => format!("resolved by <@{u}>"),
        other => format!("resolved ({other})"),
    }
}
