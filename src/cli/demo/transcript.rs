//! The demo's terminal transcript: what the members and the bot said, in Slack's order, as a
//! person in the workspace would have seen it. The bot's side is read from the emulator (what
//! the bot really posted, edited and uploaded), never from the bot's own state.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use chrono::{DateTime, Utc};
use slack_emulator::Emulator;

/// Lines of a message shown; the rest is summed up.
const SHOWN_LINES: usize = 6;
/// Characters of a line shown.
const LINE_WIDTH: usize = 96;

/// Who is who, to print handles and channel names instead of ids.
pub struct Names {
    pub users: HashMap<String, String>,
    pub channel: (String, String),
}

impl Names {
    fn user(&self, id: &str) -> String {
        self.users
            .get(id)
            .map_or_else(|| id.to_string(), |h| format!("@{h}"))
    }

    /// Slack mrkdwn as Slack shows it: mentions as handles, links as their labels, dates as
    /// their fallback text, entities decoded.
    fn plain(&self, text: &str) -> String {
        let mut shown = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            shown.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('>') else {
                shown.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let token = &rest[open + 1..open + close];
            let (target, label) = match token.split_once('|') {
                Some((t, l)) => (t, Some(l)),
                None => (token, None),
            };
            match (target.chars().next(), label) {
                (Some('@'), _) => shown.push_str(&self.user(&target[1..])),
                (Some('#'), Some(label)) => shown.push_str(&format!("#{label}")),
                (Some('!'), Some(label)) => shown.push_str(label),
                (Some('!'), None) => shown.push_str(&format!("@{}", &target[1..])),
                (_, Some(label)) => shown.push_str(label),
                (_, None) => shown.push_str(target),
            }
            rest = &rest[open + close + 1..];
        }
        shown.push_str(rest);
        shown
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// Where a message went, as a member would say it.
    fn place(&self, emu: &Emulator, channel: &str, thread: bool) -> String {
        if channel == self.channel.0 {
            let name = format!("#{}", self.channel.1);
            return if thread {
                format!("{name} (thread)")
            } else {
                name
            };
        }
        let dm_of = self
            .users
            .keys()
            .find(|u| emu.dm_channel(u) == channel)
            .map(|u| self.user(u));
        match dm_of {
            Some(who) => format!("{who} (DM)"),
            None => channel.to_string(),
        }
    }
}

/// Follows the emulator's messages and files and prints what is new since the last look.
pub struct Transcript {
    names: Names,
    /// Messages seen, by (channel, ts), with how many revisions of each were shown.
    seen: HashMap<(String, String), usize>,
    files_seen: HashSet<String>,
    /// What was printed, counted for the closing summary.
    pub counts: Counts,
}

/// What happened, for the summary at the end.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub prompts: usize,
    pub reminders: usize,
    pub flags: usize,
    pub notes_posted: usize,
}

impl Transcript {
    pub fn new(names: Names) -> Transcript {
        Transcript {
            names,
            seen: HashMap::new(),
            files_seen: HashSet::new(),
            counts: Counts::default(),
        }
    }

    /// A member's own message, as they typed it.
    pub fn member(
        &self,
        out: &mut dyn Write,
        at: DateTime<Utc>,
        who: &str,
        to: &str,
        text: &str,
    ) -> std::io::Result<()> {
        writeln!(out, "{}  {} → {to}", clock(at), self.names.user(who))?;
        body(out, &self.names.plain(text))
    }

    /// The bot's answer to a command, which only its author sees.
    pub fn answer(
        &self,
        out: &mut dyn Write,
        at: DateTime<Utc>,
        who: &str,
        text: &str,
    ) -> std::io::Result<()> {
        writeln!(
            out,
            "{}  standup → {} (only they see it)",
            clock(at),
            self.names.user(who)
        )?;
        body(out, &self.names.plain(text))
    }

    /// Prints the bot's messages, edits and files that appeared since the last call. Identical
    /// DMs sent in one go (a prompt, a reminder) are printed once, with how many got it.
    pub fn catch_up(
        &mut self,
        out: &mut dyn Write,
        emu: &Emulator,
        at: DateTime<Utc>,
    ) -> std::io::Result<()> {
        let mut new_dms: Vec<(String, String)> = Vec::new();
        for m in emu.all_messages() {
            let key = (m.channel.clone(), m.ts.clone());
            let revisions = 1 + m.history.len();
            let shown = self.seen.insert(key, revisions);
            let text = self.names.plain(m.text.as_deref().unwrap_or_default());
            match shown {
                Some(n) if n == revisions => continue,
                Some(_) => {
                    let place = self.names.place(emu, &m.channel, m.thread_ts.is_some());
                    writeln!(out, "{}  standup edits its message in {place}", clock(at))?;
                    body(out, &text)?;
                    continue;
                }
                None => {}
            }
            if m.channel.starts_with('D') && m.ephemeral_to.is_none() {
                if text.starts_with("Reminder") {
                    self.counts.reminders += 1;
                } else if text.contains("update for") {
                    self.counts.prompts += 1;
                }
                new_dms.push((m.channel.clone(), text));
                continue;
            }
            if text.trim().is_empty() {
                // A file's message: the upload is shown below.
                continue;
            }
            if text.contains("is blocked:") && m.history.is_empty() {
                self.counts.flags += 1;
            }
            if m.thread_ts.is_none() && text.contains("answered") {
                self.counts.notes_posted += 1;
            }
            let place = self.names.place(emu, &m.channel, m.thread_ts.is_some());
            let place = match &m.ephemeral_to {
                Some(u) => format!("{place}, only {} sees it", self.names.user(u)),
                None => place,
            };
            writeln!(out, "{}  standup → {place}", clock(at))?;
            body(out, &text)?;
        }
        // The DMs, grouped by text in the order they were first sent.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (channel, text) in new_dms {
            match groups.iter_mut().find(|(t, _)| *t == text) {
                Some((_, channels)) => channels.push(channel),
                None => groups.push((text, vec![channel])),
            }
        }
        for (text, channels) in groups {
            let to = match channels.as_slice() {
                [one] => self.names.place(emu, one, false),
                many => format!("{} members (DM each)", many.len()),
            };
            writeln!(out, "{}  standup → {to}", clock(at))?;
            body(out, &text)?;
        }
        for file in emu.files().into_iter().filter(|f| f.completed) {
            if self.files_seen.insert(file.id.clone()) {
                let lines = file.content.lines().count();
                writeln!(
                    out,
                    "{}  standup uploads {} ({lines} lines of Markdown) to #{}",
                    clock(at),
                    file.filename,
                    self.names.channel.1
                )?;
            }
        }
        Ok(())
    }
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M").to_string()
}

/// A message's text, indented, cut to a few lines of terminal width.
fn body(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in lines.iter().take(SHOWN_LINES) {
        let shown: String = line.chars().take(LINE_WIDTH).collect();
        let cut = if line.chars().count() > LINE_WIDTH {
            "…"
        } else {
            ""
        };
        writeln!(out, "         {shown}{cut}")?;
    }
    if lines.len() > SHOWN_LINES {
        writeln!(out, "         … {} more lines", lines.len() - SHOWN_LINES)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_is_shown_as_slack_shows_it() {
        let names = Names {
            users: [("U0DEMO0002".to_string(), "kenji".to_string())].into(),
            channel: ("C1".into(), "team".into()),
        };
        assert_eq!(
            names.plain(
                ":no_entry: <@U0DEMO0002> is blocked: a &lt;b&gt; (open since <!date^1765703340^{time}|09:09>) <https://x.org/1|#1> <!here>"
            ),
            ":no_entry: @kenji is blocked: a <b> (open since 09:09) #1 @here"
        );
    }

    #[test]
    fn a_long_message_is_cut_and_says_how_much_is_left() {
        let text = (1..=9)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut out = Vec::new();
        body(&mut out, &text).unwrap();
        let printed = String::from_utf8(out).unwrap();
        assert!(printed.contains("line 6"));
        assert!(!printed.contains("line 7"));
        assert!(printed.contains("… 3 more lines"));
        let mut out = Vec::new();
        body(&mut out, &"x".repeat(200)).unwrap();
        let printed = String::from_utf8(out).unwrap();
        assert!(printed.trim_end().ends_with('…'));
    }
}
