//! Sends that happen once: prompts, reminders, blocker flags, the notes and their file.
//!
//! Each send has a key. It is recorded before the call to Slack and completed with Slack's ts
//! after; the key also travels in the message's metadata. When a key is found started but not
//! completed (the process died, or Slack timed out after posting), Slack's history is searched
//! for it before anything is sent again. Within the process, a key being sent is not sent by a
//! second task at the same time.

use std::collections::HashSet;
use std::sync::Mutex;

use super::{App, Result};
use crate::domain::ChannelId;
use crate::slack::client::Outgoing;
use crate::store::SendStart;

/// Keys being sent right now by this process.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashSet<String>>);

/// Releases a key when its send ends, however it ends.
struct Claim<'a> {
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

/// Where a send ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Posted now, or found posted earlier: channel and ts.
    At(ChannelId, String),
    /// Another task of this process is sending it.
    Busy,
}

impl App {
    /// Posts `out` unless a message with its key was posted before. `out.key` must be set.
    pub async fn send_once(&self, key: &str, out: Outgoing<'_>) -> Result<Sent> {
        let Some(_claim) = self.in_flight.claim(key) else {
            return Ok(Sent::Busy);
        };
        let start = self
            .store()
            .begin_send(key, out.channel, out.thread_ts, self.now())?;
        match start {
            SendStart::Sent(ts) => {
                let channel = self.store().send_channel(key)?;
                return Ok(Sent::At(channel.unwrap_or_else(|| out.channel.clone()), ts));
            }
            SendStart::Fresh => {}
            SendStart::Unsure {
                channel,
                started_at,
                ..
            } => {
                if let Some(found) = self.find_sent(key, &channel, started_at).await? {
                    return Ok(found);
                }
            }
        }
        // A post that may or may not have landed (a timeout, a 5xx) is looked up before it is
        // tried again; the client does not retry such failures of a keyed post by itself.
        let mut tries = 0;
        loop {
            tries += 1;
            match self
                .api
                .send(&Outgoing {
                    key: Some(key),
                    ..out.clone()
                })
                .await
            {
                Ok(posted) => {
                    self.store()
                        .finish_send(key, &posted.channel, &posted.ts, self.now())?;
                    return Ok(Sent::At(posted.channel, posted.ts));
                }
                Err(e) if e.is_ambiguous() && tries < 3 => {
                    tracing::warn!(key, error = %e, "a post may or may not have reached Slack; checking");
                    let since = self.now() - chrono::Duration::seconds(60);
                    if let Some(found) = self.find_sent(key, out.channel, since).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Looks for a keyed message in Slack; records and returns it when found.
    async fn find_sent(
        &self,
        key: &str,
        channel: &ChannelId,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Sent>> {
        // A DM sent to a user id landed in a D… channel: history is read there.
        let channel = if channel.as_str().starts_with('U') || channel.as_str().starts_with('W') {
            self.api
                .open_dm(&crate::domain::UserId(channel.0.clone()))
                .await?
        } else {
            channel.clone()
        };
        let since = since - chrono::Duration::seconds(5);
        let Some(ts) = self.api.find_keyed(&channel, since, key).await? else {
            return Ok(None);
        };
        tracing::info!(key, "a send cut short had reached Slack; not repeating it");
        self.store().finish_send(key, &channel, &ts, self.now())?;
        Ok(Some(Sent::At(channel, ts)))
    }

    /// Uploads a file into a thread unless the upload with this key was shared before.
    pub async fn upload_once(
        &self,
        key: &str,
        channel: &ChannelId,
        thread_ts: &str,
        filename: &str,
        title: &str,
        bytes: &[u8],
    ) -> Result<Option<String>> {
        let Some(_claim) = self.in_flight.claim(key) else {
            return Ok(None);
        };
        let start = self
            .store()
            .begin_send(key, channel, Some(thread_ts), self.now())?;
        match start {
            SendStart::Sent(_) => return Ok(self.store().send_detail(key)?),
            SendStart::Fresh => {}
            SendStart::Unsure { detail, .. } => {
                if let Some(file) = detail
                    && let Some(ts) = self.api.find_file_share(channel, thread_ts, &file).await?
                {
                    tracing::info!(
                        key,
                        "an upload cut short had reached Slack; not repeating it"
                    );
                    self.store().finish_send(key, channel, &ts, self.now())?;
                    return Ok(Some(file));
                }
            }
        }
        let upload = self.api.start_upload(filename, bytes.len()).await?;
        self.store().note_send(key, channel, &upload.file_id)?;
        self.api
            .finish_upload(&upload, bytes, channel, Some(thread_ts), title)
            .await?;
        self.store()
            .finish_send(key, channel, thread_ts, self.now())?;
        Ok(Some(upload.file_id))
    }
}
