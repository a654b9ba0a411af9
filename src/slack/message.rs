//! `message` events in a member's DM with the bot → what they wrote, changed or deleted.
//!
//! Read from the event's JSON as Slack sent it, not through slack-morphism's model, which drops
//! fields the bot needs (a rich text emoji's `skin_tone`) and cannot read some shapes at all.
//! Every shape Slack sends for a person's words counts: a plain message, one with files
//! (`file_share`), a reply in a thread, one also sent to the conversation (`thread_broadcast`),
//! `/me` (`me_message`), and edits (`message_changed`) and deletions (`message_deleted`) of each.
//! Shapes: <https://docs.slack.dev/reference/events/message>.

use serde_json::Value;

use super::rich_text;

/// What a DM event means for the member's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message, or a new version of one.
    Wrote {
        user: String,
        /// The message's ts (an edit names the message it edits).
        ts: String,
        /// This version's ts: the message's own, or the edit's.
        version: String,
        /// The member's words as mrkdwn, files as links on lines of their own.
        text: String,
        edited: bool,
    },
    /// The message `ts` was deleted (at `version`); `user` when Slack says whose it was.
    Deleted {
        user: Option<String>,
        ts: String,
        version: String,
    },
}

/// The subtypes that carry a person's words; any other (joins, bot messages, topic changes, ...)
/// is not an answer.
const WORDS: &[&str] = &["file_share", "thread_broadcast", "me_message"];

fn str_at<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

/// Reads a `message` event from a DM (`channel_type: im`); `None` for anything that is not a
/// person's message there (another conversation, a bot, a subtype that carries no words).
pub fn read(event: &Value) -> Option<Change> {
    if str_at(event, "type") != Some("message") || str_at(event, "channel_type") != Some("im") {
        return None;
    }
    let ts = str_at(event, "ts")?.to_string();
    match str_at(event, "subtype") {
        Some("message_changed") => {
            let message = event.get("message")?;
            if str_at(message, "subtype") == Some("tombstone") {
                // A thread's first message deleted while replies remain: Slack keeps a
                // "This message was deleted." placeholder in its place.
                return Some(Change::Deleted {
                    user: None,
                    ts: str_at(message, "ts")?.to_string(),
                    version: ts,
                });
            }
            let (user, text) = words(message)?;
            let version = match message.get("edited").and_then(|e| str_at(e, "ts")) {
                Some(edited) => edited.to_string(),
                // Not an edit by the member (a link unfurled, a thread's reply count): only
                // counts if the words changed.
                None if event
                    .get("previous_message")
                    .and_then(words)
                    .map(|(_, t)| t)
                    == Some(text.clone()) =>
                {
                    return None;
                }
                None => ts,
            };
            Some(Change::Wrote {
                user,
                ts: str_at(message, "ts")?.to_string(),
                version,
                text,
                edited: true,
            })
        }
        Some("message_deleted") => {
            let previous = event.get("previous_message");
            if previous.is_some_and(is_bot) {
                return None;
            }
            Some(Change::Deleted {
                user: previous.and_then(|p| str_at(p, "user")).map(str::to_string),
                ts: str_at(event, "deleted_ts")?.to_string(),
                version: ts,
            })
        }
        None => new_message(event, ts),
        Some(subtype) if WORDS.contains(&subtype) => new_message(event, ts),
        Some(_) => None,
    }
}

fn new_message(event: &Value, ts: String) -> Option<Change> {
    let (user, text) = words(event)?;
    Some(Change::Wrote {
        user,
        version: ts.clone(),
        ts,
        text,
        edited: false,
    })
}

fn is_bot(message: &Value) -> bool {
    message.get("bot_id").is_some_and(|b| !b.is_null())
        || str_at(message, "subtype") == Some("bot_message")
}

/// The author and words of a message object: its rich text blocks when it has them (its `text`
/// otherwise), then one line per file, `• <permalink|name>`. A line of its own puts a file in
/// the section the text before it is in; a message that is only a file is a one-item update.
fn words(message: &Value) -> Option<(String, String)> {
    if is_bot(message) {
        return None;
    }
    let user = str_at(message, "user")?.to_string();
    let fallback = str_at(message, "text").unwrap_or_default();
    let mut text = message
        .get("blocks")
        .and_then(|blocks| rich_text::to_mrkdwn(blocks, fallback))
        .unwrap_or_else(|| fallback.to_string());
    for file in message
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("• ");
        text.push_str(&file_link(file));
    }
    Some((user, text))
}

/// A file as a mrkdwn link to its page in Slack, labelled with its name.
fn file_link(file: &Value) -> String {
    let name = str_at(file, "name")
        .or_else(|| str_at(file, "title"))
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        // A file the bot may not see (another organisation's, in Slack Connect) has only an id.
        .unwrap_or_else(|| format!("file {}", str_at(file, "id").unwrap_or("?")));
    let label = name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    match str_at(file, "permalink").or_else(|| str_at(file, "url_private")) {
        Some(url) => format!("<{url}|{label}>"),
        None => label,
    }
}

#[cfg(test)]
mod tests;
