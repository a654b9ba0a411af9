//! The meeting notes in the team channel: rendered from the store in the team's format, posted
//! once as a summary message with the document as a file in its thread, and brought up to date
//! (summary edited, a new version of the file) when a late reply or a blocker changes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::once::{self, Sent};
use super::{App, Result, archive, channel, digest, messages};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::{self, CycleInfo, Post, PostKind, SendKey};
use standup_core::domain::{ChannelId, CycleId, TeamId};

/// Each team's turn to post or refresh its notes: each render then sees every reply recorded
/// before it, and versions of the document are uploaded (and archived) in order. One per team,
/// so a slow team holds back no other.
#[derive(Default)]
pub(crate) struct Turns(Mutex<HashMap<TeamId, Arc<tokio::sync::Mutex<()>>>>);

/// Waits for `team`'s turn with its notes (see [`Turns`]).
async fn notes_turn(app: &App, team: &TeamId) -> tokio::sync::OwnedMutexGuard<()> {
    let lock = app
        .notes
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(team.clone())
        .or_default()
        .clone();
    lock.lock_owned().await
}

/// Remembers a message the bot posted (see [`Store::record_post`]).
pub(super) async fn record_post(app: &App, post: Post) -> Result<()> {
    app.write(move |s| s.record_post(&post)).await?;
    Ok(())
}

/// The latest post of `kind` in a cycle.
pub(super) async fn last_post(app: &App, cycle: CycleId, kind: &str) -> Result<Option<Post>> {
    let kind = kind.to_string();
    Ok(app.read(move |s| s.last_post(cycle, &kind)).await?)
}

/// Renders the cycle's notes.
pub async fn render(app: &App, team: &TeamConfig, date: NaiveDate) -> Result<String> {
    let of = team.clone();
    let meeting = app
        .read(move |s| crate::app::document::meeting(s, &of, date))
        .await?;
    Ok(app
        .renderer()
        .render(&crate::app::setup::template_of(team), &meeting)?)
}

/// Posts the notes of a cycle: a summary message and the document as a file in its thread.
/// Both are sent once, so a post cut short and run again completes what is missing.
pub async fn post_notes(app: &App, team: &TeamConfig, cycle: &CycleInfo) -> Result<()> {
    let _turn = notes_turn(app, &team.id).await;
    if last_post(app, cycle.id, &PostKind::Document.to_string())
        .await?
        .is_some()
    {
        drop(_turn);
        return refresh_posted_notes(app, team, cycle).await;
    }
    let document = render(app, team, cycle.date).await?;
    let (summary, shown) = summary(app, team, cycle).await?;
    if let Some((channel, ts)) = channel::notes_in_thread(app, team, cycle, &summary).await? {
        record_summary(app, cycle, &channel, &ts, shown).await?;
        attach_notes(app, team, cycle, channel, ts, &document).await?;
        tracing::info!(team = %team.id, cycle = %cycle.date, "notes posted in the cycle's thread");
        app.metrics.notes_posted();
        return Ok(());
    }
    let key = SendKey::Notes(cycle.id);
    let out = Outgoing {
        channel: &team.channel,
        text: &summary,
        blocks: None,
        thread_ts: None,
        key: None,
    };
    let Sent::At(channel, ts) = once::send_once(app, &team.id, &key, out).await? else {
        return Ok(());
    };
    record_summary(app, cycle, &channel, &ts, shown).await?;
    attach_notes(app, team, cycle, channel, ts, &document).await?;
    tracing::info!(team = %team.id, cycle = %cycle.date, "notes posted");
    app.metrics.notes_posted();
    archive::archive_notes(app, team, cycle, &document).await;
    Ok(())
}

/// Uploads a version of the document into the summary's thread (once per content) and
/// records it as the cycle's latest post.
async fn attach_notes(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    channel: ChannelId,
    ts: String,
    document: &str,
) -> Result<()> {
    let content_digest = digest(document);
    let key = SendKey::NotesFile {
        cycle: cycle.id,
        digest: content_digest.clone(),
    };
    let filename = format!("{}-{}.md", team.id, cycle.date);
    let file = once::upload_once(
        app,
        &team.id,
        &key,
        &channel,
        &ts,
        once::FileOut {
            filename: &filename,
            title: &cycle.title,
            bytes: document.as_bytes(),
        },
    )
    .await?;
    record_post(
        app,
        Post {
            cycle: cycle.id,
            kind: PostKind::Document.to_string(),
            channel,
            ts: Some(ts),
            file_id: file,
            content_digest,
            posted_at: app.now(),
        },
    )
    .await
}

/// After a late reply or a blocker's change: if the notes were posted, edit the summary
/// when what it shows changed (who answered, the team's open blockers) and add the new
/// version of the file in the thread when the document changed.
pub async fn refresh_posted_notes(app: &App, team: &TeamConfig, cycle: &CycleInfo) -> Result<()> {
    let _turn = notes_turn(app, &team.id).await;
    let Some(post) = last_post(app, cycle.id, &PostKind::Document.to_string()).await? else {
        return Ok(());
    };
    let document = render(app, team, cycle.date).await?;
    // Before the Slack check: an archive write that failed last time is retried here.
    archive::archive_notes(app, team, cycle, &document).await;
    let Some(ts) = post.ts.clone() else {
        return Ok(());
    };
    let (summary, shown) = summary(app, team, cycle).await?;
    let was = last_post(app, cycle.id, &PostKind::Summary.to_string()).await?;
    if was.is_none_or(|p| p.content_digest != shown) {
        // An edit: doing it again after a crash is harmless.
        app.api.update(&post.channel, &ts, &summary, None).await?;
        record_summary(app, cycle, &post.channel, &ts, shown).await?;
        tracing::info!(team = %team.id, cycle = %cycle.date, "posted summary updated");
    }
    if digest(&document) != post.content_digest {
        attach_notes(app, team, cycle, post.channel, ts, &document).await?;
        tracing::info!(team = %team.id, cycle = %cycle.date, "posted notes updated");
    }
    Ok(())
}

/// The notes' summary message, and a digest of what it shows (the roster's answers and the
/// open blockers, not their ages), to tell whether it needs an edit.
async fn summary(app: &App, team: &TeamConfig, cycle: &CycleInfo) -> Result<(String, String)> {
    let (id, team_id) = (cycle.id, team.id.clone());
    let (roster, blockers) = app
        .read(move |s| Ok::<_, store::Error>((s.roster(id)?, s.open_blockers(&team_id)?)))
        .await?;
    let shown = digest(&format!(
        "{roster:?}{:?}",
        blockers
            .iter()
            .map(|b| (b.id, &b.handle, &b.text))
            .collect::<Vec<_>>()
    ));
    Ok((
        messages::summary(cycle, &roster, &blockers, app.now()),
        shown,
    ))
}

/// Remembers what the posted summary shows (see [`summary`]).
async fn record_summary(
    app: &App,
    cycle: &CycleInfo,
    channel: &ChannelId,
    ts: &str,
    shown: String,
) -> Result<()> {
    record_post(
        app,
        Post {
            cycle: cycle.id,
            kind: PostKind::Summary.to_string(),
            channel: channel.clone(),
            ts: Some(ts.to_string()),
            file_id: None,
            content_digest: shown,
            posted_at: app.now(),
        },
    )
    .await
}
