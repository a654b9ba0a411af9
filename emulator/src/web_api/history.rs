//! `conversations.history` and `conversations.replies`: reading back what was posted, as a bot
//! does after a crash to learn whether a message it may have sent is already in Slack.
//!
//! A conversation holds the messages the bot posted through the emulator (users' messages
//! reach the bot as events and are not stored). As on Slack: ephemeral messages are never
//! returned, thread replies are in `conversations.replies` but not in the history, metadata
//! only comes back with `include_all_metadata`, and pages are linked by an opaque
//! `response_metadata.next_cursor` (base64 of `next_ts:<ts>`, the shape of Slack's own).

use super::{Conv, Ctx, Reply, error, resolve};
use crate::state::{Message, State};
use serde_json::{Value, json};
use std::cmp::Reverse;

/// Slack's default page size for both methods.
const DEFAULT_LIMIT: usize = 100;
/// Slack's largest page.
const MAX_LIMIT: usize = 999;

/// A `ts` as microseconds since the epoch, so `"1700000000.5"` and `"1700000000.500000"`
/// compare equal and numeric bounds like `oldest=0` work. `None` if it is not a timestamp.
fn micros(ts: &str) -> Option<u64> {
    let (secs, fraction) = ts.split_once('.').unwrap_or((ts, ""));
    if secs.is_empty()
        || fraction.len() > 6
        || !secs
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let micros: u64 = format!("{fraction:0<6}").parse().ok()?;
    secs.parse::<u64>()
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(micros)
}

/// Stored messages always have a valid `ts`.
fn at(m: &Message) -> u64 {
    micros(&m.ts).unwrap_or_default()
}

/// The `oldest` / `latest` / `inclusive` filter.
struct Window {
    oldest: Option<u64>,
    latest: Option<u64>,
    inclusive: bool,
}

impl Window {
    fn contains(&self, ts: u64) -> bool {
        let after = self
            .oldest
            .is_none_or(|o| ts > o || (self.inclusive && ts == o));
        let before = self
            .latest
            .is_none_or(|l| ts < l || (self.inclusive && ts == l));
        after && before
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(super) fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
    }
    out
}

pub(super) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| BASE64.iter().position(|&d| d == c).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (d << (18 - 6 * i)));
        out.extend((0..chunk.len() - 1).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

/// The cursor of a page starting at the message `ts`.
fn cursor_at(ts: &str) -> String {
    base64(format!("next_ts:{}", ts.replace('.', "")).as_bytes())
}

fn cursor_ts(cursor: &str) -> Option<u64> {
    let text = String::from_utf8(unbase64(cursor)?).ok()?;
    let digits = text.strip_prefix("next_ts:")?;
    // `parse` alone would take a leading `+`.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One page of `messages` (already in the method's order) from `start` on, where `before`
/// says whether a message comes before the cursor's position.
fn page(
    mut messages: Vec<&Message>,
    start: Option<u64>,
    before: impl Fn(u64, u64) -> bool,
    limit: usize,
) -> (Vec<&Message>, String) {
    if let Some(start) = start {
        messages.retain(|m| !before(at(m), start));
    }
    let next = messages.get(limit).map(|m| cursor_at(&m.ts));
    messages.truncate(limit);
    (messages, next.unwrap_or_default())
}

impl Ctx<'_> {
    /// The conversation to read, checked like Slack: a channel the bot is in or a DM by its
    /// `D...` id. A user id is not a conversation id here (only posting takes one).
    fn readable(&self, s: &State) -> Result<String, Reply> {
        let id = self.str("channel").unwrap_or_default();
        match resolve(self.cfg, &id) {
            Some(Conv::Channel(c)) if !self.bot_in(s, c) => Err(error("not_in_channel")),
            Some(conv) if conv.id() == id => Ok(id),
            _ => Err(error("channel_not_found")),
        }
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.str(key).as_deref(), Some("true" | "1"))
    }

    fn window(&self) -> Result<Window, Reply> {
        let bound = |key: &str, code: &str| match self.str(key) {
            None => Ok(None),
            Some(ts) => micros(&ts).map(Some).ok_or_else(|| error(code)),
        };
        Ok(Window {
            oldest: bound("oldest", "invalid_ts_oldest")?,
            latest: bound("latest", "invalid_ts_latest")?,
            inclusive: self.flag("inclusive"),
        })
    }

    /// `limit`: 100 when missing, zero or unreadable; at most 999.
    fn limit(&self) -> usize {
        self.str("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|&l| l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_LIMIT)
    }

    /// The conversation, the window and where the page starts (the cursor), or the error.
    fn query(&self, s: &State) -> Result<(String, Window, Option<u64>), Reply> {
        let channel = self.readable(s)?;
        let window = self.window()?;
        let start = match self.str("cursor") {
            None => None,
            Some(c) => Some(cursor_ts(&c).ok_or_else(|| error("invalid_cursor"))?),
        };
        Ok((channel, window, start))
    }

    /// A message as the history methods show it: its thread, its files, and its metadata
    /// when asked for.
    fn listed(&self, s: &State, m: &Message, with_metadata: bool) -> Value {
        let mut object = self.message_object(m);
        let replies: Vec<&Message> = s
            .messages
            .iter()
            .filter(|r| {
                r.channel == m.channel
                    && r.ephemeral_to.is_none()
                    && r.ts != m.ts
                    && r.thread_ts.as_deref() == Some(&m.ts)
            })
            .collect();
        if let Some(latest) = replies.iter().map(|r| &r.ts).max() {
            object["thread_ts"] = json!(m.ts);
            object["reply_count"] = json!(replies.len());
            object["reply_users_count"] = json!(1);
            object["reply_users"] = json!([self.cfg.bot_user_id]);
            object["latest_reply"] = json!(latest);
        }
        if m.thread_ts.as_ref().is_some_and(|t| *t != m.ts) {
            // Every stored message is the bot's, so the parent's author is the bot too (or a
            // user's message the emulator never stored; Slack would name that user).
            object["parent_user_id"] = json!(self.cfg.bot_user_id);
        }
        if !m.files.is_empty() {
            let files: Vec<Value> = m
                .files
                .iter()
                .filter_map(|id| s.files.iter().find(|f| &f.id == id))
                .map(|f| {
                    json!({
                        "id": f.id,
                        "name": f.filename,
                        "title": f.title.clone().unwrap_or_else(|| f.filename.clone()),
                    })
                })
                .collect();
            object["files"] = json!(files);
        }
        if let (true, Some(metadata)) = (with_metadata, &m.metadata) {
            object["metadata"] = metadata.clone();
        }
        object
    }

    pub(super) fn conversations_history(&self, s: &State) -> Reply {
        let (channel, window, start) = match self.query(s) {
            Ok(query) => query,
            Err(reply) => return reply,
        };
        let mut top: Vec<&Message> = s
            .messages
            .iter()
            .filter(|m| {
                m.channel == channel
                    && m.ephemeral_to.is_none()
                    && m.thread_ts.as_ref().is_none_or(|t| *t == m.ts)
                    && window.contains(at(m))
            })
            .collect();
        top.sort_by_key(|m| Reverse(at(m)));
        // Newest first: the cursor's message and older ones are left.
        let (shown, next) = page(top, start, |ts, start| ts > start, self.limit());
        let with_metadata = self.flag("include_all_metadata");
        let messages: Vec<Value> = shown
            .iter()
            .map(|m| self.listed(s, m, with_metadata))
            .collect();
        Reply::Ok(json!({
            "messages": messages,
            "has_more": !next.is_empty(),
            "pin_count": 0,
            "channel_actions_ts": null,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next},
        }))
    }

    /// The parent first, then its replies oldest first. `ts` may name the parent or any reply.
    /// The window filters replies; the parent is on the first page whatever the window. A
    /// thread under a message the emulator never stored (a user's) lists just the replies.
    pub(super) fn conversations_replies(&self, s: &State) -> Reply {
        let (channel, window, start) = match self.query(s) {
            Ok(query) => query,
            Err(reply) => return reply,
        };
        let ts = self.str("ts").unwrap_or_default();
        let visible = |m: &&Message| m.channel == channel && m.ephemeral_to.is_none();
        let root = s
            .messages
            .iter()
            .filter(visible)
            .find(|m| m.ts == ts || m.thread_ts.as_deref() == Some(&ts))
            .map(|m| m.thread_ts.clone().unwrap_or_else(|| m.ts.clone()));
        let Some(root) = root else {
            return error("thread_not_found");
        };
        let mut thread: Vec<&Message> = s
            .messages
            .iter()
            .filter(visible)
            .filter(|m| {
                m.ts == root || (m.thread_ts.as_deref() == Some(&root) && window.contains(at(m)))
            })
            .collect();
        thread.sort_by_key(|m| at(m));
        // Oldest first: the cursor's message and newer ones are left.
        let (shown, next) = page(thread, start, |ts, start| ts < start, self.limit());
        let with_metadata = self.flag("include_all_metadata");
        let messages: Vec<Value> = shown
            .iter()
            .map(|m| self.listed(s, m, with_metadata))
            .collect();
        Reply::Ok(json!({
            "messages": messages,
            "has_more": !next.is_empty(),
            "response_metadata": {"next_cursor": next},
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_as_numbers() {
        assert_eq!(micros("1700000000.000100"), Some(1_700_000_000_000_100));
        assert_eq!(micros("1700000000.5"), micros("1700000000.500000"));
        assert_eq!(micros("0"), Some(0));
        assert_eq!(micros("1700000000"), Some(1_700_000_000_000_000));
        for bad in ["", ".5", "17e9", "1.1234567", "-1", "now", "1.2.3"] {
            assert_eq!(micros(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_look_like_slacks() {
        // Slack's documented cursor is base64 of `next_ts:` and the digits of a ts.
        assert_eq!(
            cursor_at("1512085861.000543"),
            "bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz"
        );
        assert_eq!(
            cursor_ts("bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz"),
            Some(1_512_085_861_000_543)
        );
        for n in 0..5 {
            let text = "x".repeat(n);
            assert_eq!(unbase64(&base64(text.as_bytes())), Some(text.into_bytes()));
        }
        for bad in ["", "!!!!", "bmV4dF90czo=", "aGVsbG8="] {
            assert_eq!(cursor_ts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_window_is_exclusive_unless_asked() {
        let window = |inclusive| Window {
            oldest: Some(10),
            latest: Some(20),
            inclusive,
        };
        assert!(!window(false).contains(10));
        assert!(window(false).contains(11));
        assert!(!window(false).contains(20));
        assert!(window(true).contains(10));
        assert!(window(true).contains(20));
        assert!(!window(true).contains(21));
    }
}
