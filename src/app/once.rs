//! Sends that happen once: prompts, reminders, blocker flags, the notes and their file.
//!
//! Each send has a key. It is recorded before the call to Slack and completed with Slack's ts
//! after; the key also travels in the message's metadata. When a key is found started but not
//! completed (the process died, or Slack timed out after posting), Slack is searched for it
//! before anything is sent again: the channel's history for a top-level message, the thread's
//! replies for a reply (history does not list them). Within the process, a key being sent is
//! not sent by a second task at the same time.
//!
//! A lookup that fails (the app lacks `channels:history`, the bot left the channel) leaves the
//! send uncertain: sending it blind could post it twice. Such a send is looked up again at most
//! [`MAX_CHECKS`] times in all (restarts included), then given up with Slack's error: logged
//! once with what to do, and listed to the team's admins by `/standup status`.

use std::collections::HashSet;
use std::sync::Mutex;

use super::{App, Error, Result};
use crate::slack::client::{Error as SlackError, Outgoing};
use crate::store::{SendKey, SendStart};
use standup_core::domain::{ChannelId, TeamId};

/// Failed lookups of an uncertain send before it is given up. Each lookup is a Slack call
/// with its own retries, so a short outage does not use them up; a missing scope does.
pub const MAX_CHECKS: u32 = 5;

/// Keys being sent right now by this process.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashSet<String>>);

/// Releases a key when its send ends, however it ends.
pub(super) struct Claim<'a> {
    set: &'a InFlight,
    key: String,
}

impl InFlight {
    fn claim(&self, key: &str) -> Option<Claim<'_>> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.to_string()).then(|| Claim {
            set: self,
            key: key.to_string(),
        })
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut set = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}

/// A file to upload: its name, its title in Slack, its bytes.
#[derive(Debug, Clone, Copy)]
pub struct FileOut<'a> {
    pub filename: &'a str,
    pub title: &'a str,
    pub bytes: &'a [u8],
}

/// Where a send ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Posted now, or found posted earlier: channel and ts.
    At(ChannelId, String),
    /// Another task of this process is sending it.
    Busy,
}

/// How long a [`hold`]'s lease lasts unless released: far longer than the work it guards (a
/// few Slack edits), so it runs out only when its replica died mid-work (and a dead replica's
/// is taken at once anyway, see [`crate::store::lease`]).
const HOLD_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Work that must not run twice at once, held by this task: in this process, and across
/// replicas on PostgreSQL by its lease ([`crate::store::lease::hold`]). [`Hold::release`] ends it.
pub(super) struct Hold<'a> {
    claim: Option<Claim<'a>>,
    lease: Option<crate::store::lease::Held>,
    db: crate::store::Db,
}

impl Hold<'_> {
    /// Gives the lease up, then this process's claim: in that order, so the next task of
    /// this process, which renews the same lease, does not have it released under it.
    pub(super) async fn release(mut self) {
        if let Some(held) = self.lease.take() {
            let released: std::result::Result<(), crate::store::Error> =
                self.db.write(move |s| s.release_lease(&held)).await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release a lease; it runs out by itself");
            }
        }
        self.claim.take();
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        // Not released in order (the task was cancelled): the lease is let go after the fact.
        if let Some(held) = self.lease.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let db = self.db.clone();
            runtime.spawn(async move {
                let _: std::result::Result<(), crate::store::Error> =
                    db.write(move |s| s.release_lease(&held)).await;
            });
        }
    }
}

/// Waits until this task holds `key` (a name of its own, not a send's key) in this process
/// and among the replicas, for work that must not run twice at once; `None` when another
/// task held it for `tries` × `wait`.
pub(super) async fn hold<'a>(
    app: &'a App,
    key: &str,
    tries: u32,
    wait: std::time::Duration,
) -> Result<Option<Hold<'a>>> {
    let name = crate::store::lease::hold(key);
    // One process on a SQLite file: its own claim is the whole hold.
    let replicas = app.config().database.url.is_some();
    for _ in 0..tries {
        if let Some(claim) = app.in_flight.claim(key) {
            if !replicas {
                return Ok(Some(Hold {
                    claim: Some(claim),
                    lease: None,
                    db: app.db().clone(),
                }));
            }
            let asked = name.clone();
            if let Some(held) = app
                .write(move |s| s.take_lease_here(&asked, HOLD_LEASE))
                .await?
            {
                return Ok(Some(Hold {
                    claim: Some(claim),
                    lease: Some(held),
                    db: app.db().clone(),
                }));
            }
        }
        tokio::time::sleep(wait).await;
    }
    Ok(None)
}

/// Whether a send with `key` was tried before (it may be in Slack, with what that attempt
/// sent).
pub(super) async fn tried_before(app: &App, key: &SendKey) -> Result<bool> {
    Ok(send_channel(app, &key.to_string()).await?.is_some())
}

async fn send_channel(app: &App, key: &str) -> Result<Option<ChannelId>> {
    let key = key.to_string();
    Ok(app.read(move |s| s.send_channel(&key)).await?)
}

/// Records a send's key before the send (see [`crate::store::Store::begin_send`]).
async fn begin_send(
    app: &App,
    key: &str,
    team: &TeamId,
    channel: &ChannelId,
    thread_ts: Option<&str>,
) -> Result<SendStart> {
    let (key, team, channel) = (key.to_string(), team.clone(), channel.clone());
    let (thread_ts, now) = (thread_ts.map(str::to_string), app.now());
    Ok(app
        .write(move |s| s.begin_send(&key, &team, &channel, thread_ts.as_deref(), now))
        .await?)
}

/// Completes a send's key with where it landed.
async fn finish_send(app: &App, key: &str, channel: &ChannelId, ts: &str) -> Result<()> {
    let (key, channel, ts, now) = (key.to_string(), channel.clone(), ts.to_string(), app.now());
    app.write(move |s| s.finish_send(&key, &channel, &ts, now))
        .await?;
    Ok(())
}

/// Posts `out` for `team` unless a message with `key` was posted before; the key goes into
/// the message's metadata here (whatever `out.key` says). Fails with [`Error::GaveUp`] for
/// a send given up earlier.
pub async fn send_once(app: &App, team: &TeamId, key: &SendKey, out: Outgoing<'_>) -> Result<Sent> {
    let key = key.to_string();
    let key = key.as_str();
    let Some(_claim) = app.in_flight.claim(key) else {
        return Ok(Sent::Busy);
    };
    let start = begin_send(app, key, team, out.channel, out.thread_ts).await?;
    match start {
        SendStart::Sent(ts) => {
            let channel = send_channel(app, key).await?;
            return Ok(Sent::At(channel.unwrap_or_else(|| out.channel.clone()), ts));
        }
        SendStart::Fresh => {}
        SendStart::Claimed => return Ok(Sent::Busy),
        SendStart::Failed(error) => {
            return Err(Error::GaveUp {
                key: key.to_string(),
                error,
            });
        }
        SendStart::Unsure {
            channel,
            thread_ts,
            started_at,
            ..
        } => {
            let found = find_sent(app, key, &channel, thread_ts.as_deref(), started_at).await;
            if let Some(found) = checked(app, key, &channel, found).await? {
                return Ok(found);
            }
        }
    }
    // A post that may or may not have landed (a timeout, a 5xx) is looked up before it is
    // tried again; the client does not retry such failures of a keyed post by itself.
    let mut tries = 0;
    loop {
        tries += 1;
        match app
            .api
            .send(&Outgoing {
                key: Some(key),
                ..out.clone()
            })
            .await
        {
            Ok(posted) => {
                finish_send(app, key, &posted.channel, &posted.ts).await?;
                return Ok(Sent::At(posted.channel, posted.ts));
            }
            Err(e) if e.is_ambiguous() && tries < 3 => {
                tracing::warn!(key, error = %e, "a post may or may not have reached Slack; checking");
                let since = app.now() - chrono::Duration::seconds(60);
                let found = find_sent(app, key, out.channel, out.thread_ts, since).await;
                if let Some(found) = checked(app, key, out.channel, found).await? {
                    return Ok(found);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Looks for a keyed message in Slack (in the thread of `thread_ts`, if given); records
/// and returns it when found.
async fn find_sent(
    app: &App,
    key: &str,
    channel: &ChannelId,
    thread_ts: Option<&str>,
    since: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<Option<Sent>, SlackError> {
    // A DM sent to a user id landed in a D… channel: history is read there.
    let channel = if channel.as_str().starts_with('U') || channel.as_str().starts_with('W') {
        app.api
            .open_dm(&standup_core::domain::UserId(channel.0.clone()))
            .await?
    } else {
        channel.clone()
    };
    let since = since - chrono::Duration::seconds(5);
    let Some(ts) = app.api.find_keyed(&channel, thread_ts, since, key).await? else {
        return Ok(None);
    };
    tracing::info!(key, "a send cut short had reached Slack; not repeating it");
    Ok(Some(Sent::At(channel, ts)))
}

/// What a lookup of an uncertain send means: found (recorded now), not there (go ahead),
/// or unknown: counted, and given up after [`MAX_CHECKS`] failed lookups.
async fn checked(
    app: &App,
    key: &str,
    channel: &ChannelId,
    found: std::result::Result<Option<Sent>, SlackError>,
) -> Result<Option<Sent>> {
    let e = match found {
        Ok(Some(Sent::At(channel, ts))) => {
            finish_send(app, key, &channel, &ts).await?;
            return Ok(Some(Sent::At(channel, ts)));
        }
        Ok(other) => return Ok(other),
        Err(e) => e,
    };
    let error = format!("{e}; {}", remedy(&e, channel));
    let (k, why, now) = (key.to_string(), error.clone(), app.now());
    if app
        .write(move |s| s.send_check_failed(&k, &why, MAX_CHECKS, now))
        .await?
    {
        tracing::error!(key, channel = %channel, "a message may already be in Slack and the bot cannot check, so it is not sent again: {error}");
        return Err(Error::GaveUp {
            key: key.to_string(),
            error,
        });
    }
    tracing::warn!(key, error = %e, "cannot check whether a message reached Slack; it will be checked again before it is sent");
    Err(e.into())
}

/// Uploads a file into a thread unless the upload with this key was shared before.
pub async fn upload_once(
    app: &App,
    team: &TeamId,
    key: &SendKey,
    channel: &ChannelId,
    thread_ts: &str,
    file: FileOut<'_>,
) -> Result<Option<String>> {
    let key = key.to_string();
    let key = key.as_str();
    let FileOut {
        filename,
        title,
        bytes,
    } = file;
    let Some(_claim) = app.in_flight.claim(key) else {
        return Ok(None);
    };
    let start = begin_send(app, key, team, channel, Some(thread_ts)).await?;
    match start {
        SendStart::Sent(_) => {
            let k = key.to_string();
            return Ok(app.read(move |s| s.send_detail(&k)).await?);
        }
        SendStart::Fresh => {}
        SendStart::Claimed => return Ok(None),
        SendStart::Failed(error) => {
            return Err(Error::GaveUp {
                key: key.to_string(),
                error,
            });
        }
        SendStart::Unsure { detail, .. } => {
            if let Some(file) = detail {
                let found = app
                    .api
                    .find_file_share(channel, thread_ts, &file)
                    .await
                    .map(|ts| ts.map(|ts| Sent::At(channel.clone(), ts)));
                if checked(app, key, channel, found).await?.is_some() {
                    tracing::info!(
                        key,
                        "an upload cut short had reached Slack; not repeating it"
                    );
                    return Ok(Some(file));
                }
            }
        }
    }
    let upload = app.api.start_upload(filename, bytes.len()).await?;
    let (k, to, file) = (key.to_string(), channel.clone(), upload.file_id.clone());
    app.write(move |s| s.note_send(&k, &to, &file)).await?;
    app.api
        .finish_upload(&upload, bytes, channel, Some(thread_ts), title)
        .await?;
    finish_send(app, key, channel, thread_ts).await?;
    Ok(Some(upload.file_id))
}

/// What an admin can do about a lookup that failed with `e` in `channel`, in a few words.
pub fn remedy(e: &SlackError, channel: &ChannelId) -> &'static str {
    let dm = ["D", "U", "W"]
        .iter()
        .any(|p| channel.as_str().starts_with(p));
    match e.code() {
        Some("missing_scope") if dm => {
            "add the im:history scope to the Slack app (config/slack-app-manifest.yml) and reinstall it"
        }
        Some("missing_scope") => {
            "add the channels:history and groups:history scopes to the Slack app (config/slack-app-manifest.yml) and reinstall it"
        }
        Some("not_in_channel" | "channel_not_found") => {
            "invite the bot to the team's channel, or fix `channel` in the team's config"
        }
        Some("invalid_auth" | "not_authed" | "token_revoked" | "account_inactive") => {
            "Slack no longer accepts SLACK_BOT_TOKEN: reinstall the app and set the new token"
        }
        Some("thread_not_found") => "the thread's first message was deleted",
        Some(_) => "check the Slack app's setup",
        None => "Slack kept failing: check the bot's network and Slack's status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str) -> SlackError {
        SlackError::Api {
            method: "conversations.history",
            code: code.into(),
            needed: Some("channels:history".into()),
        }
    }

    #[test]
    fn each_failed_lookup_says_what_to_do() {
        let channel = ChannelId::new("C0TEAM0001");
        let dm = ChannelId::new("D0DM000001");
        assert!(remedy(&refused("missing_scope"), &channel).contains("channels:history"));
        assert!(remedy(&refused("missing_scope"), &dm).contains("im:history"));
        assert!(remedy(&refused("not_in_channel"), &channel).contains("invite the bot"));
        assert!(remedy(&refused("token_revoked"), &channel).contains("SLACK_BOT_TOKEN"));
        let timeout = SlackError::Timeout {
            method: "conversations.history",
            secs: 10,
        };
        assert!(remedy(&timeout, &channel).contains("network"));
        assert_eq!(
            refused("missing_scope").to_string(),
            "Slack conversations.history: missing_scope (needs channels:history)"
        );
    }
}
