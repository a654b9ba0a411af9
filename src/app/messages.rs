//! What the bot says in Slack: texts (Slack mrkdwn) and Block Kit blocks for its messages.
//!
//! Anything a user typed goes out through [`crate::slack::mrkdwn`] (stored Markdown → Slack
//! mrkdwn, escaped once, so `<!channel>` written in an update is shown, not broadcast) and
//! into blocks from [`crate::slack::blocks`], which keep Slack's limits.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::TeamConfig;
use crate::store::{CycleInfo, OpenBlocker};
use standup_core::domain::{Diagnostic, Format, SectionKind, Update, UserId};

pub const NOT_A_MEMBER: &str = "Hi! I collect standup updates, but you are not a member of any team I run a standup for. Ask your team's admin to add your Slack user id to the bot's config.";

use crate::slack::blocks;
pub use crate::slack::mrkdwn::{escape, from_markdown};

/// Where the whole of a text clipped in Slack can be read.
pub const IN_THE_NOTES: &str = "the full text is in the notes file";

/// Action ids of the prompt's buttons and the flag's button.
pub const ANSWER_FORM: &str = "answer_form";
pub const SKIP: &str = "skip_cycle";
pub const OUT_OF_OFFICE: &str = "out_of_office";
pub const RESOLVE: &str = "resolve_blocker";

/// The headings a member is asked to answer under, in order.
pub(crate) fn questions(format: Format) -> Vec<&'static str> {
    let kinds: &[SectionKind] = match format {
        Format::Planning => &[
            SectionKind::Shipped,
            SectionKind::InProgress,
            SectionKind::Blocked,
            SectionKind::Next,
        ],
        Format::Standup => &[
            SectionKind::Shipped,
            SectionKind::Next,
            SectionKind::Blocked,
        ],
    };
    kinds.iter().map(|k| format.heading(*k)).collect()
}

pub fn prompt(team: &TeamConfig, cycle: &CycleInfo, reminder: bool) -> (String, Value) {
    let lead = if reminder {
        format!(
            "Reminder: your *{}* update for {} is still missing.",
            escape(&team.name),
            cycle.date
        )
    } else {
        format!(
            "Time for your *{}* update for the meeting on {}.",
            escape(&team.name),
            cycle.date
        )
    };
    let headings = questions(team.format).join("\n");
    let text = format!(
        "{lead}\nReply here with a few lines under these headings (leave out what does not apply):\n{headings}\nEdit your message any time; the latest text counts."
    );
    let value = format!("{}|{}", team.id, cycle.date);
    let mut list = blocks::sections(&text);
    list.push(blocks::actions(
        None,
        vec![
            blocks::primary(blocks::button(ANSWER_FORM, "Answer in a form", &value)),
            blocks::button(SKIP, "Skip this time", &value),
            blocks::button(OUT_OF_OFFICE, "Out of office", &value),
        ],
    ));
    (text, Value::Array(list))
}

/// The answer to a reply: what the parser understood, so the member can correct it by editing.
pub fn understood(format: Format, update: &Update, diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = update
        .sections
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let name = s
                .heading
                .as_deref()
                .or(s.kind.map(|k| format.heading(k)))
                .unwrap_or("Notes")
                .trim_end_matches(':');
            let n =
                s.items.iter().map(|i| i.count()).sum::<usize>() + usize::from(s.text.is_some());
            format!("{name}: {n} item{}", if n == 1 { "" } else { "s" })
        })
        .collect();
    let mut text = if parts.is_empty() {
        "Got it, but I found nothing to record.".to_string()
    } else {
        format!("Got it. {}.", parts.join(", "))
    };
    let blockers = update.blockers();
    if !blockers.is_empty() {
        text.push_str(&format!(
            " I flagged {} blocker{} to the team.",
            blockers.len(),
            if blockers.len() == 1 { "" } else { "s" }
        ));
    }
    for d in diagnostics {
        text.push_str(&format!("\nNote: {}", escape(&d.message)));
    }
    text.push_str("\nEdit your message to change it.");
    blocks::message_text(&text, "your message itself is stored whole")
}

pub fn blocker_flag(blocker: &OpenBlocker, resolved: Option<&str>) -> (String, Value) {
    let who = match &blocker.user {
        Some(user) => format!("<@{user}>"),
        None => format!("@{}", escape(&blocker.handle)),
    };
    let what = from_markdown(&blocker.text);
    match resolved {
        None => {
            let text = format!(
                ":no_entry: {who} is blocked: {what} (open since {})",
                since(blocker.opened_at)
            );
            let mut list = blocks::sections(&text);
            list.push(blocks::actions(
                None,
                vec![blocks::button(RESOLVE, "Resolve", &blocker.id.to_string())],
            ));
            let list = blocks::fit(list, blocks::MESSAGE_BLOCKS, IN_THE_NOTES);
            (
                blocks::message_text(&text, IN_THE_NOTES),
                Value::Array(list),
            )
        }
        Some(how) => {
            let struck = format!("~{who} was blocked: {what}~");
            // Slack strikes through one line of one block only.
            let text =
                if !what.contains('\n') && blocks::length(&struck) + 100 < blocks::SECTION_TEXT {
                    format!(":white_check_mark: {struck} ({how})")
                } else {
                    format!(":white_check_mark: Resolved ({how}): {who} was blocked: {what}")
                };
            let list = blocks::fit(
                blocks::sections(&text),
                blocks::MESSAGE_BLOCKS,
                IN_THE_NOTES,
            );
            (
                blocks::message_text(&text, IN_THE_NOTES),
                Value::Array(list),
            )
        }
    }
}

/// The channel message that carries the notes file in its thread.
pub fn summary(
    cycle: &CycleInfo,
    roster: &[(String, Option<UserId>, bool)],
    blockers: &[OpenBlocker],
    now: DateTime<Utc>,
) -> String {
    let answered = roster.iter().filter(|(_, _, a)| *a).count();
    let missing: Vec<String> = roster
        .iter()
        .filter(|(_, _, a)| !a)
        .map(|(h, _, _)| format!("@{}", escape(h)))
        .collect();
    let mut text = format!(
        "*{}*: {answered} of {} answered",
        escape(&cycle.title),
        roster.len()
    );
    if !missing.is_empty() {
        text.push_str(&format!(" (no update from {})", missing.join(", ")));
    }
    text.push('.');
    if blockers.is_empty() {
        text.push_str(" No open blockers.");
    } else {
        text.push_str(&format!(" Open blockers ({}):", blockers.len()));
        for b in blockers {
            text.push_str(&format!(
                "\n• @{}: {} ({})",
                escape(&b.handle),
                from_markdown(&b.text),
                age(b.opened_at, now)
            ));
        }
    }
    text.push_str("\nThe full notes are in the thread.");
    blocks::message_text(&text, "the notes in the thread have every update")
}

/// Slack's date token for an instant: each reader sees it in their own time zone, relative
/// ("yesterday") when close; clients that cannot render it show the UTC fallback.
pub fn since(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// "3 days", "5 hours", "12 minutes".
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - since;
    let (n, unit) = if d.num_days() > 0 {
        (d.num_days(), "day")
    } else if d.num_hours() > 0 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(0), "minute")
    };
    format!("open {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The action id of a form's box: unique in the view (Slack asks for unique action ids within
/// a block; unique in the whole view holds under either reading). A submission is read by
/// block id.
pub fn answer_action(block_id: &str) -> String {
    format!("answer:{block_id}")
}

/// The form a member can answer in: one multiline input per section, named so the reply
/// parser recognises each as its heading.
pub fn answer_form(format: Format, meta: &str) -> Value {
    let names: &[&str] = match format {
        Format::Planning => &["Shipped", "In progress", "Blocked", "Next"],
        Format::Standup => &["Last week", "This week", "Blocked"],
    };
    let boxes: Vec<Value> = names
        .iter()
        .map(|name| blocks::text_box(name, name, &answer_action(name), ""))
        .collect();
    blocks::modal(
        "standup_form",
        meta,
        "Standup update",
        Some("Save"),
        "Cancel",
        boxes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocker(text: &str) -> OpenBlocker {
        OpenBlocker {
            id: 7,
            team: standup_core::domain::TeamId::new("orbit"),
            cycle: standup_core::domain::CycleId(1),
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            handle: "maria".into(),
            user: Some(UserId::new("U0MARIA01")),
            text: text.into(),
            opened_at: DateTime::parse_from_rfc3339("2026-12-07T09:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn a_blocker_flag_shows_links_as_slack_links_and_escapes_once() {
        let b = blocker("waiting on [PR #3](https://e.org/pr/3) & <!channel>");
        for how in [None, Some("resolved by <@U0MARIA01>")] {
            let (text, blocks) = blocker_flag(&b, how);
            let shown = blocks[0]["text"]["text"].as_str().unwrap();
            for t in [text.as_str(), shown] {
                assert!(
                    t.contains("<https://e.org/pr/3|PR #3> &amp; &lt;!channel&gt;"),
                    "{t}"
                );
                assert!(!t.contains("](") && !t.contains("&amp;amp;"), "{t}");
            }
        }
    }

    #[test]
    fn a_long_blocker_is_split_not_refused() {
        let long = format!("{}\n{}", "a".repeat(2500), "b".repeat(2500));
        let (text, blocks) = blocker_flag(&blocker(&long), None);
        let blocks = blocks.as_array().unwrap();
        let sections: Vec<&str> = blocks
            .iter()
            .filter(|b| b["type"] == "section")
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(sections.len(), 2);
        assert!(
            sections
                .iter()
                .all(|t| blocks::length(t) <= blocks::SECTION_TEXT)
        );
        assert_eq!(sections.join("\n"), text);
        assert_eq!(blocks.last().unwrap()["type"], "actions");
        let (_, resolved) = blocker_flag(&blocker(&long), Some("resolved by a later update"));
        assert!(
            resolved
                .to_string()
                .contains("Resolved (resolved by a later update)")
        );
    }

    #[test]
    fn since_is_a_slack_date_token_with_a_fallback() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            since(t),
            "<!date^1795167000^{date_short_pretty} {time}|2026-11-20 09:30 UTC>"
        );
    }

    #[test]
    fn ages_read_naturally() {
        let t = DateTime::parse_from_rfc3339("2024-03-11T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age(t, t + chrono::Duration::minutes(1)), "open 1 minute");
        assert_eq!(age(t, t + chrono::Duration::hours(5)), "open 5 hours");
        assert_eq!(age(t, t + chrono::Duration::days(3)), "open 3 days");
    }
}
