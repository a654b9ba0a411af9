//! Less noise in the team channel: one thread per cycle (`updates = "thread"`) that carries each
//! member's update as it arrives, blocker flags when `blocker_flags = "thread"`, and the notes
//! (the thread's parent becomes the summary, the file goes into the thread).
//!
//! Every message here is sent once (`thread:<cycle>`, `update:<cycle>:<user>`) and recorded in
//! `posts`, so an edit or a later message of the same member edits their reply in the thread.

use std::time::Duration;

use serde_json::{Value, json};

use super::messages::escape;
use super::{App, Result, Sent, digest};
use crate::config::{FlagsTo, TeamConfig, UpdatesTo};
use crate::domain::{ChannelId, Format, Item, Update, UserId};
use crate::slack::client::Outgoing;
use crate::store::{CycleInfo, OpenBlocker, Post};

/// The `posts` kind of the cycle's thread parent.
const THREAD: &str = "thread";
/// How long a task waits for another one of this process opening the same thread.
const BUSY_WAIT: Duration = Duration::from_millis(100);
const BUSY_TRIES: u32 = 100;

impl App {
    /// The cycle's thread in the team channel (channel and parent ts), opened once on first
    /// use. `None` only when another task kept opening it for too long.
    pub(super) async fn cycle_thread(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
    ) -> Result<Option<(ChannelId, String)>> {
        if let Some(Post {
            ts: Some(ts),
            channel,
            ..
        }) = self.store().last_post(cycle.id, THREAD)?
        {
            return Ok(Some((channel, ts)));
        }
        let text = thread_parent(cycle);
        let key = format!("thread:{}", cycle.id);
        // Two members answering at once both want the thread: the second waits for the first.
        for _ in 0..BUSY_TRIES {
            let out = Outgoing {
                channel: &team.channel,
                text: &text,
                blocks: None,
                thread_ts: None,
                key: Some(&key),
            };
            let sent = match self.send_once(&team.id, &key, out).await {
                Err(e) if e.given_up() => {
                    // The parent may be in Slack, unknown where: updates and flags go on
                    // without the thread rather than not at all.
                    tracing::debug!(team = %team.id, "the cycle's thread was given up; going on without it");
                    return Ok(None);
                }
                sent => sent?,
            };
            if let Sent::At(channel, ts) = sent {
                self.store().record_post(&Post {
                    cycle: cycle.id,
                    kind: THREAD.into(),
                    channel: channel.clone(),
                    ts: Some(ts.clone()),
                    file_id: None,
                    content_digest: digest(&text),
                    posted_at: self.now(),
                })?;
                return Ok(Some((channel, ts)));
            }
            tokio::time::sleep(BUSY_WAIT).await;
        }
        tracing::warn!(team = %team.id, "the cycle's thread is still being opened; going on without it");
        Ok(None)
    }

    /// Puts a member's update into the cycle's thread (`updates = "thread"`): their first
    /// update is a new reply, anything later edits that reply. What is posted is the member's
    /// update as stored when the reply is posted or edited (`update` when none is stored), one
    /// task at a time per member, so replies handled at once or out of order end with the latest.
    pub(super) async fn post_update(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
        user: &UserId,
        update: &Update,
    ) -> Result<()> {
        if team.threads.updates != UpdatesTo::Thread {
            return Ok(());
        }
        let kind = format!("update:{user}");
        let Some(_turn) = self
            .hold(&format!("edit:{}:{kind}", cycle.id), BUSY_TRIES, BUSY_WAIT)
            .await
        else {
            tracing::warn!(team = %team.id, "a member's reply in the thread is still being posted; going on without it");
            return Ok(());
        };
        let stored = self.store().member_update(cycle.id, user)?;
        let update = stored.as_ref().unwrap_or(update);
        let who = team
            .member(user)
            .and_then(|m| m.handle.as_deref())
            .map_or_else(|| format!("<@{user}>"), |h| format!("@{}", escape(h)));
        let (text, blocks) = thread_update(team.format, &who, update);
        let content_digest = digest(&text);
        let record = |channel: ChannelId, ts: String| Post {
            cycle: cycle.id,
            kind: kind.clone(),
            channel,
            ts: Some(ts),
            file_id: None,
            content_digest: content_digest.clone(),
            posted_at: self.now(),
        };
        let earlier = self.store().last_post(cycle.id, &kind)?;
        if let Some(Post {
            channel,
            ts: Some(ts),
            content_digest: was,
            ..
        }) = earlier
        {
            if was != content_digest {
                self.api.update(&channel, &ts, &text, Some(blocks)).await?;
                self.store().record_post(&record(channel, ts))?;
            }
            return Ok(());
        }
        if update.is_empty() {
            return Ok(());
        }
        let Some((channel, thread)) = self.cycle_thread(team, cycle).await? else {
            return Ok(());
        };
        let key = format!("update:{}:{user}", cycle.id);
        // A reply an earlier attempt may have posted (before a crash) shows what that attempt
        // had: found again, it is edited to what is stored now.
        let tried = self.tried_before(&key)?;
        let out = Outgoing {
            channel: &channel,
            text: &text,
            blocks: Some(blocks.clone()),
            thread_ts: Some(&thread),
            key: Some(&key),
        };
        if let Sent::At(channel, ts) = self.send_once(&team.id, &key, out).await? {
            if tried {
                self.api.update(&channel, &ts, &text, Some(blocks)).await?;
            }
            self.store().record_post(&record(channel, ts))?;
        }
        Ok(())
    }

    /// The thread a blocker's flag goes into: the cycle's thread with `blocker_flags =
    /// "thread"`, else none (a message in the channel).
    pub(super) async fn flag_thread(
        &self,
        team: &TeamConfig,
        blocker: &OpenBlocker,
    ) -> Result<Option<String>> {
        if team.threads.blocker_flags != FlagsTo::Thread {
            return Ok(None);
        }
        let Some(cycle) = self.store().cycle(&team.id, blocker.date)? else {
            return Ok(None);
        };
        Ok(self.cycle_thread(team, &cycle).await?.map(|(_, ts)| ts))
    }

    /// Where the notes of a cycle go when the team uses a thread: the parent becomes the
    /// summary and the file goes into the thread. `None`: the usual new summary message.
    pub(super) async fn notes_in_thread(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
        summary: &str,
    ) -> Result<Option<(ChannelId, String)>> {
        if !team.threads.uses_thread() {
            return Ok(None);
        }
        let Some((channel, ts)) = self.cycle_thread(team, cycle).await? else {
            return Ok(None);
        };
        // An edit: doing it again after a crash is harmless.
        self.api.update(&channel, &ts, summary, None).await?;
        Ok(Some((channel, ts)))
    }
}

/// The parent message of a cycle's thread.
pub fn thread_parent(cycle: &CycleInfo) -> String {
    format!(
        "Standup updates for {} — replies in thread",
        cycle.date.format("%Y-%m-%d")
    )
}

/// A member's update as a thread reply: who, then each non-empty section as a bold heading
/// and its items as bullets, nested items indented. User text is escaped.
pub fn thread_update(format: Format, who: &str, update: &Update) -> (String, Value) {
    let mut text = format!("*{who}*");
    if update.is_empty() {
        text.push_str("\n_no update_");
    }
    for section in update.sections.iter().filter(|s| !s.is_empty()) {
        let heading = section
            .heading
            .as_deref()
            .or(section.kind.map(|k| format.heading(k)))
            .unwrap_or("Notes")
            .trim_end_matches(':');
        text.push_str(&format!("\n*{}*", escape(heading)));
        if let Some(line) = section.text.as_deref().filter(|t| !t.trim().is_empty()) {
            text.push_str(&format!(" {}", escape(line)));
        }
        for item in &section.items {
            push_item(&mut text, item, 0);
        }
    }
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": text}}]);
    (text, blocks)
}

fn push_item(text: &mut String, item: &Item, depth: usize) {
    let bullet = if depth == 0 { "•" } else { "◦" };
    text.push_str(&format!(
        "\n{}{bullet} {}",
        "    ".repeat(depth),
        escape(&item.text)
    ));
    for child in &item.children {
        push_item(text, child, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Marker, Section, SectionKind};

    #[test]
    fn an_update_reads_as_headings_and_bullets() {
        let mut item = Item::new(Marker::Auto, "Large uploads");
        item.children
            .push(Item::new(Marker::Auto, "<!channel> scoping & co"));
        let update = Update {
            sections: vec![
                Section {
                    kind: Some(SectionKind::InProgress),
                    heading: None,
                    heading_marker: Marker::Auto,
                    text: None,
                    items: vec![item],
                },
                Section {
                    kind: Some(SectionKind::Blocked),
                    heading: None,
                    heading_marker: Marker::Auto,
                    text: None,
                    items: vec![],
                },
            ],
        };
        let (text, _) = thread_update(Format::Planning, "@li", &update);
        let heading = Format::Planning
            .heading(SectionKind::InProgress)
            .trim_end_matches(':');
        assert_eq!(
            text,
            format!("*@li*\n*{heading}*\n• Large uploads\n    ◦ &lt;!channel&gt; scoping &amp; co")
        );
    }

    #[test]
    fn an_emptied_update_says_so() {
        let (text, _) = thread_update(Format::Standup, "@zoe", &Update::default());
        assert_eq!(text, "*@zoe*\n_no update_");
    }
}
