//! The meeting notes in the team channel: rendered from the store in the team's format, posted
//! once as a summary message with the document as a file in its thread, and brought up to date
//! (summary edited, a new version of the file) when a late reply or a blocker changes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::once::{self, Sent};
use super::{App, Result, archive, channel, digest, messages};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::lease::{self, Held};
use crate::store::{self, CycleInfo, Db, Post, PostKind, SendKey};
use standup_core::domain::{ChannelId, CycleId, TeamId};

/// Each team's turn to post or refresh its notes: each render then sees every reply recorded
/// before it, and versions of the document are uploaded (and archived) in order. One per team,
/// so a slow team holds back no other. Within a process a mutex per team; among replicas on
/// PostgreSQL also the team's notes lease ([`lease::notes`]), taken after the mutex (so a process
/// asks for it once at a time) and given up before the mutex is let go.
#[derive(Default)]
pub(crate) struct Turns(Mutex<HashMap<TeamId, Arc<tokio::sync::Mutex<()>>>>);

/// How long a turn's lease lasts unless renewed: far longer than a post takes (a few Slack
/// calls with their retries), so it runs out only when its replica died or was cut off. It
/// is renewed every quarter of that while the turn lasts, and a dead replica's is taken at
/// once anyway (its connections are gone, see [`crate::store::lease`]).
pub const NOTES_TURN: Duration = Duration::from_secs(120);

/// How long a replica waiting for another's turn waits between asks, at most.
const ASK_AT_MOST_EVERY: Duration = Duration::from_millis(500);

/// A team's turn with its notes. Dropping it ends the turn: the lease is released, and only
/// then is the mutex let go, so the next turn in this process does not have its lease
/// released under it.
pub(super) struct Turn {
    local: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// The lease and its renewal, among replicas (on SQLite the mutex is the whole turn).
    lease: Option<(Held, tokio::task::JoinHandle<()>)>,
    db: Db,
}

impl Turn {
    /// The lease the turn's writes are fenced by.
    fn fence(&self) -> Option<&Held> {
        self.lease.as_ref().map(|(held, _)| held)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some((held, renew)) = self.lease.take() else {
            return;
        };
        renew.abort();
        let (db, local) = (self.db.clone(), self.local.take());
        // Released on the store's writer thread; without a runtime (the bot is gone) the lease
        // runs out by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = db.write(move |s| s.release_lease(&held)).await {
                    let e: store::Error = e;
                    tracing::warn!(error = %e, "could not release the notes' lease; it runs out by itself");
                }
                drop(local);
            });
        }
    }
}

/// Waits for `team`'s turn with its notes (see [`Turns`]): this process's, then the replicas'.
async fn notes_turn(app: &App, team: &TeamId) -> Result<Turn> {
    let lock = app
        .notes
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(team.clone())
        .or_default()
        .clone();
    let local = lock.lock_owned().await;
    if app.config().database.url.is_none() {
        return Ok(Turn {
            local: Some(local),
            lease: None,
            db: app.db().clone(),
        });
    }
    let name = lease::notes(team.as_str());
    let mut wait = Duration::from_millis(25);
    let mut waited = false;
    let held = loop {
        let asked = name.clone();
        if let Some(held) = app
            .write(move |s| s.take_lease_here(&asked, NOTES_TURN))
            .await?
        {
            break held;
        }
        if !waited {
            tracing::info!(team = %team, "another replica is posting this team's notes; waiting for its turn to end");
            waited = true;
        }
        // Polled, with a little jitter so replicas waiting together do not ask in step.
        tokio::time::sleep(wait + Duration::from_millis(fastrand::u64(..10))).await;
        wait = (wait * 2).min(ASK_AT_MOST_EVERY);
    };
    let renew = {
        let (db, held) = (app.db().clone(), held.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(NOTES_TURN / 4).await;
                let mine = held.clone();
                match db.write(move |s| s.renew_lease(&mine, NOTES_TURN)).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // Its post rows are refused from now on (see `record_notes_post`).
                        tracing::warn!(lease = %held.name, "the notes' lease passed to another replica during a post");
                        return;
                    }
                    Err(e) => {
                        let e: store::Error = e;
                        tracing::warn!(error = %e, "could not renew the notes' lease; trying again");
                    }
                }
            }
        })
    };
    Ok(Turn {
        local: Some(local),
        lease: Some((held, renew)),
        db: app.db().clone(),
    })
}

/// Remembers a message the bot posted (see [`Store::record_post`]).
pub(super) async fn record_post(app: &App, post: Post) -> Result<()> {
    app.write(move |s| s.record_post(&post)).await?;
    Ok(())
}

/// Remembers a post of the notes, made in `turn`: refused once the turn's lease passed on.
async fn record_notes_post(app: &App, turn: &Turn, post: Post) -> Result<()> {
    let fence = turn.fence().cloned();
    app.write(move |s| s.record_post_under(&post, fence.as_ref()))
        .await?;
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
    let turn = notes_turn(app, &team.id).await?;
    if last_post(app, cycle.id, &PostKind::Document.to_string())
        .await?
        .is_some()
    {
        return refresh_in_turn(app, team, cycle, &turn).await;
    }
    let document = render(app, team, cycle.date).await?;
    let (summary, shown) = summary(app, team, cycle).await?;
    if let Some((channel, ts)) = channel::notes_in_thread(app, team, cycle, &summary).await? {
        record_summary(app, &turn, cycle, &channel, &ts, shown).await?;
        attach_notes(app, &turn, team, cycle, channel, ts, &document).await?;
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
    record_summary(app, &turn, cycle, &channel, &ts, shown).await?;
    attach_notes(app, &turn, team, cycle, channel, ts, &document).await?;
    tracing::info!(team = %team.id, cycle = %cycle.date, "notes posted");
    app.metrics.notes_posted();
    archive::archive_notes(app, team, cycle, &document).await;
    Ok(())
}

/// Uploads a version of the document into the summary's thread (once per content) and
/// records it as the cycle's latest post.
async fn attach_notes(
    app: &App,
    turn: &Turn,
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
    record_notes_post(
        app,
        turn,
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
    let turn = notes_turn(app, &team.id).await?;
    refresh_in_turn(app, team, cycle, &turn).await
}

/// [`refresh_posted_notes`] in the team's turn.
async fn refresh_in_turn(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    turn: &Turn,
) -> Result<()> {
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
        record_summary(app, turn, cycle, &post.channel, &ts, shown).await?;
        tracing::info!(team = %team.id, cycle = %cycle.date, "posted summary updated");
    }
    if digest(&document) != post.content_digest {
        attach_notes(app, turn, team, cycle, post.channel, ts, &document).await?;
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
    turn: &Turn,
    cycle: &CycleInfo,
    channel: &ChannelId,
    ts: &str,
    shown: String,
) -> Result<()> {
    record_notes_post(
        app,
        turn,
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
