//! Less noise in the team channel: one thread per cycle (`updates = "thread"`) that carries each
//! member's update as it arrives, blocker flags when `blocker_flags = "thread"`, and the notes
//! (the thread's parent becomes the summary, the file goes into the thread).
//!
//! Every message here is sent once (`thread:<cycle>`, `update:<cycle>:<user>`) and recorded in
//! `posts`, so an edit or a later message of the same member edits their reply in the thread.

use std::time::Duration;

use serde_json::Value;

use super::messages::{IN_THE_NOTES, escape, from_markdown};
use super::{App, Result, Sent, digest};
use super::{notes, once};
use crate::config::{FlagsTo, TeamConfig, UpdatesTo};
use crate::slack::blocks;
use crate::slack::client::Outgoing;
use crate::store::{CycleInfo, OpenBlocker, Post, PostKind, SendKey};
use standup_core::domain::{ChannelId, Format, Item, Update, UserId};

/// How long a task waits for another one of this process opening the same thread.
const BUSY_WAIT: Duration = Duration::from_millis(100);
const BUSY_TRIES: u32 = 100;

/// The cycle's thread in the team channel (channel and parent ts), opened once on first
/// use. `None` only when another task kept opening it for too long.
pub(super) async fn cycle_thread(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
) -> Result<Option<(ChannelId, String)>> {
    if let Some(Post {
        ts: Some(ts),
        channel,
        ..
    }) = notes::last_post(app, cycle.id, &PostKind::Thread.to_string()).await?
    {
        return Ok(Some((channel, ts)));
    }
    let text = thread_parent(cycle);
    let key = SendKey::Thread(cycle.id);
    // Two members answering at once both want the thread: the second waits for the first.
    for _ in 0..BUSY_TRIES {
        let out = Outgoing {
            channel: &team.channel,
            text: &text,
            blocks: None,
            thread_ts: None,
            key: None,
        };
        let sent = match once::send_once(app, &team.id, &key, out).await {
            Err(e) if e.given_up() => {
                // The parent may be in Slack, unknown where: updates and flags go on
                // without the thread rather than not at all.
                tracing::debug!(team = %team.id, "the cycle's thread was given up; going on without it");
                return Ok(None);
            }
            sent => sent?,
        };
        if let Sent::At(channel, ts) = sent {
            notes::record_post(
                app,
                Post {
                    cycle: cycle.id,
                    kind: PostKind::Thread.to_string(),
                    channel: channel.clone(),
                    ts: Some(ts.clone()),
                    file_id: None,
                    content_digest: digest(&text),
                    posted_at: app.now(),
                },
            )
            .await?;
            return Ok(Some((channel, ts)));
        }
        tokio::time::sleep(BUSY_WAIT).await;
    }
    tracing::warn!(team = %team.id, "the cycle's thread is still being opened; going on without it");
    Ok(None)
}

/// Puts a member's update into the cycle's thread (`updates = "thread"`): their first
/// update is a new reply, anything later edits that reply. An update longer than one
/// message holds (50 blocks) goes on in more replies (`update:<user>:2`, …), each edited
/// in place the same way; a part no longer needed says so. What is posted is the member's
/// update as stored when the reply is posted or edited (`update` when none is stored), one
/// task at a time per member (among replicas too: two replicas' edits could otherwise land
/// in Slack in one order and be recorded in the other, leaving an old version shown), so
/// replies handled at once or out of order end with the latest.
pub(super) async fn post_update(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    update: &Update,
) -> Result<()> {
    if team.threads.updates != UpdatesTo::Thread {
        return Ok(());
    }
    let Some(turn) = once::hold(
        app,
        &format!("edit:{}:update:{user}", cycle.id),
        BUSY_TRIES,
        BUSY_WAIT,
    )
    .await?
    else {
        tracing::info!(team = %team.id, "a member's update is being posted to the thread by an earlier reply's task, which posts this version too");
        return Ok(());
    };
    // A reply stored while this task posts an earlier version finds the turn taken and
    // goes on (above); reading the store again after each version, until what was posted
    // is what is stored, puts that reply in the thread too.
    let posted = post_until_stored(app, team, cycle, user, update).await;
    turn.release().await;
    posted
}

/// Posts the member's update as stored, again until what was posted is what is stored.
async fn post_until_stored(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    update: &Update,
) -> Result<()> {
    let mut posted: Option<Update> = None;
    loop {
        let (id, who) = (cycle.id, user.clone());
        let stored = app.read(move |s| s.member_update(id, &who)).await?;
        let current = stored.unwrap_or_else(|| update.clone());
        if posted.as_ref() == Some(&current) {
            return Ok(());
        }
        post_update_version(app, team, cycle, user, &current).await?;
        posted = Some(current);
    }
}

/// Posts or edits every part of one version of a member's update in the thread.
async fn post_update_version(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    update: &Update,
) -> Result<()> {
    let who = team
        .member(user)
        .and_then(|m| m.handle.as_deref())
        .map_or_else(|| format!("<@{user}>"), |h| format!("@{}", escape(h)));
    let (_, blocks) = thread_update(team.format, &who, update);
    let parts = thread_parts(blocks);
    for (n, (text, blocks)) in parts.iter().enumerate() {
        let part = Part {
            kind: part_kind(user, n),
            key: SendKey::Update {
                cycle: cycle.id,
                user: user.clone(),
                part: n,
            },
            text,
            blocks,
        };
        if !post_part(app, team, cycle, update, &part).await? {
            break;
        }
    }
    // Parts an earlier, longer version needed.
    for n in parts.len().. {
        let kind = part_kind(user, n);
        let Some(Post {
            channel,
            ts: Some(ts),
            content_digest: was,
            ..
        }) = notes::last_post(app, cycle.id, &kind).await?
        else {
            break;
        };
        let text = format!("_{who}'s update is shorter now: all of it is in the replies above._");
        let blocks = Value::Array(vec![blocks::section(&text)]);
        let content_digest = digest(&blocks.to_string());
        if was != content_digest {
            app.api.update(&channel, &ts, &text, Some(blocks)).await?;
            notes::record_post(
                app,
                Post {
                    cycle: cycle.id,
                    kind,
                    channel,
                    ts: Some(ts),
                    file_id: None,
                    content_digest,
                    posted_at: app.now(),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Posts or edits one part of a member's update in the cycle's thread. False when it was
/// not posted (an empty update never posted before, or no thread).
async fn post_part(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    update: &Update,
    part: &Part<'_>,
) -> Result<bool> {
    let content_digest = digest(&part.blocks.to_string());
    let record = |channel: ChannelId, ts: String| Post {
        cycle: cycle.id,
        kind: part.kind.clone(),
        channel,
        ts: Some(ts),
        file_id: None,
        content_digest: content_digest.clone(),
        posted_at: app.now(),
    };
    let earlier = notes::last_post(app, cycle.id, &part.kind).await?;
    if let Some(Post {
        channel,
        ts: Some(ts),
        content_digest: was,
        ..
    }) = earlier
    {
        if was != content_digest {
            app.api
                .update(&channel, &ts, part.text, Some(part.blocks.clone()))
                .await?;
            notes::record_post(app, record(channel, ts)).await?;
        }
        return Ok(true);
    }
    if update.is_empty() {
        return Ok(false);
    }
    let Some((channel, thread)) = cycle_thread(app, team, cycle).await? else {
        return Ok(false);
    };
    // A reply an earlier attempt may have posted (before a crash) shows what that attempt
    // had: found again, it is edited to what is stored now.
    let tried = once::tried_before(app, &part.key).await?;
    let out = Outgoing {
        channel: &channel,
        text: part.text,
        blocks: Some(part.blocks.clone()),
        thread_ts: Some(&thread),
        key: None,
    };
    match once::send_once(app, &team.id, &part.key, out).await? {
        Sent::At(channel, ts) => {
            if tried {
                app.api
                    .update(&channel, &ts, part.text, Some(part.blocks.clone()))
                    .await?;
            }
            notes::record_post(app, record(channel, ts)).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The thread a blocker's flag goes into: the cycle's thread with `blocker_flags =
/// "thread"`, else none (a message in the channel).
pub(super) async fn flag_thread(
    app: &App,
    team: &TeamConfig,
    blocker: &OpenBlocker,
) -> Result<Option<String>> {
    if team.threads.blocker_flags != FlagsTo::Thread {
        return Ok(None);
    }
    let (id, date) = (team.id.clone(), blocker.date);
    let Some(cycle) = app.read(move |s| s.cycle(&id, date)).await? else {
        return Ok(None);
    };
    Ok(cycle_thread(app, team, &cycle).await?.map(|(_, ts)| ts))
}

/// Where the notes of a cycle go when the team uses a thread: the parent becomes the
/// summary and the file goes into the thread. `None`: the usual new summary message.
pub(super) async fn notes_in_thread(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    summary: &str,
) -> Result<Option<(ChannelId, String)>> {
    if !team.threads.uses_thread() {
        return Ok(None);
    }
    let Some((channel, ts)) = cycle_thread(app, team, cycle).await? else {
        return Ok(None);
    };
    // An edit: doing it again after a crash is harmless.
    app.api.update(&channel, &ts, summary, None).await?;
    Ok(Some((channel, ts)))
}

/// The parent message of a cycle's thread.
pub fn thread_parent(cycle: &CycleInfo) -> String {
    format!(
        "Standup updates for {} — replies in thread",
        cycle.date.format("%Y-%m-%d")
    )
}

/// A member's update as a thread reply: who, then each non-empty section as a bold heading
/// and its items as bullets, nested items indented. User text goes out as Slack mrkdwn, split
/// over as many section blocks as it needs.
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
            text.push_str(&format!(" {}", from_markdown(line)));
        }
        for item in &section.items {
            push_item(&mut text, item, 0);
        }
    }
    let list = blocks::sections(&text);
    (
        blocks::message_text(&text, IN_THE_NOTES),
        Value::Array(list),
    )
}

/// One message of a member's update in the thread: its `posts` kind, its send key, its
/// fallback text and blocks.
struct Part<'a> {
    kind: String,
    key: SendKey,
    text: &'a str,
    blocks: &'a Value,
}

/// The `posts` kind of part `n` (from 0) of a member's update in the thread.
fn part_kind(user: &UserId, n: usize) -> String {
    PostKind::Update {
        user: user.clone(),
        part: n,
    }
    .to_string()
}

/// A thread reply's blocks as messages of at most 50 blocks, each with its own fallback text.
pub fn thread_parts(blocks: Value) -> Vec<(String, Value)> {
    let Value::Array(list) = blocks else {
        return Vec::new();
    };
    blocks::per_message(list)
        .into_iter()
        .map(|part| {
            let text = part
                .iter()
                .filter_map(|b| b["text"]["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n");
            (
                blocks::message_text(&text, IN_THE_NOTES),
                Value::Array(part),
            )
        })
        .collect()
}

fn push_item(text: &mut String, item: &Item, depth: usize) {
    let bullet = if depth == 0 { "•" } else { "◦" };
    text.push_str(&format!(
        "\n{}{bullet} {}",
        "    ".repeat(depth),
        from_markdown(&item.text)
    ));
    for child in &item.children {
        push_item(text, child, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::domain::{Marker, Section, SectionKind};

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
    fn a_long_update_is_split_over_sections_with_slack_links() {
        let items: Vec<Item> = (0..50)
            .map(|i| {
                Item::new(
                    Marker::Auto,
                    format!("item {i} [PR](https://e.org/{i}) {}", "x".repeat(90)),
                )
            })
            .collect();
        let update = Update {
            sections: vec![Section {
                kind: Some(SectionKind::Shipped),
                heading: None,
                heading_marker: Marker::Auto,
                text: None,
                items,
            }],
        };
        let (text, blocks) = thread_update(Format::Planning, "@li", &update);
        assert!(text.chars().count() > 5000);
        let sections: Vec<&str> = blocks
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        assert!(sections.len() >= 2);
        assert!(
            sections
                .iter()
                .all(|t| blocks::length(t) <= blocks::SECTION_TEXT)
        );
        assert_eq!(sections.join("\n"), text, "nothing left out");
        assert!(text.contains("<https://e.org/49|PR>") && !text.contains("]("));
    }

    #[test]
    fn an_update_past_fifty_blocks_goes_on_in_more_messages() {
        let blocks: Vec<Value> = (0..120)
            .map(|i| blocks::section(&format!("{i} {}", "z".repeat(2900))))
            .collect();
        let parts = thread_parts(Value::Array(blocks));
        let sizes: Vec<usize> = parts
            .iter()
            .map(|(_, b)| b.as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [50, 50, 20]);
        for (text, _) in &parts {
            assert!(blocks::length(text) <= blocks::MESSAGE_TEXT);
        }
        assert!(parts[2].0.starts_with("100 "), "in order");
    }

    #[test]
    fn an_emptied_update_says_so() {
        let (text, _) = thread_update(Format::Standup, "@zoe", &Update::default());
        assert_eq!(text, "*@zoe*\n_no update_");
    }
}
