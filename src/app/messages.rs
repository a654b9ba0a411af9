//! What the bot says in Slack: texts (Slack mrkdwn) and Block Kit blocks for its messages.
//!
//! Anything a user typed is escaped before it is sent back, so `<!channel>` written in an update
//! is shown, not broadcast.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::config::TeamConfig;
use crate::domain::{Diagnostic, Format, SectionKind, Update, UserId};
use crate::store::{CycleInfo, OpenBlocker};

pub const NOT_A_MEMBER: &str = "Hi! I collect standup updates, but you are not a member of any team I run a standup for. Ask your team's admin to add your Slack user id to the bot's config.";

/// Escapes the three characters Slack treats as markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

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
    let blocks = json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [
            {"type": "button", "action_id": ANSWER_FORM, "text": {"type": "plain_text", "text": "Answer in a form"}, "value": value, "style": "primary"},
            {"type": "button", "action_id": SKIP, "text": {"type": "plain_text", "text": "Skip this time"}, "value": value},
            {"type": "button", "action_id": OUT_OF_OFFICE, "text": {"type": "plain_text", "text": "Out of office"}, "value": value}
        ]}
    ]);
    (text, blocks)
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
    text
}

pub fn blocker_flag(blocker: &OpenBlocker, resolved: Option<&str>) -> (String, Value) {
    let who = match &blocker.user {
        Some(user) => format!("<@{user}>"),
        None => format!("@{}", escape(&blocker.handle)),
    };
    match resolved {
        None => {
            let text = format!(
                ":no_entry: {who} is blocked: {} (open since {})",
                escape(&blocker.text),
                since(blocker.opened_at)
            );
            let blocks = json!([
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "actions", "elements": [
                    {"type": "button", "action_id": RESOLVE, "text": {"type": "plain_text", "text": "Resolve"}, "value": blocker.id.to_string()}
                ]}
            ]);
            (text, blocks)
        }
        Some(how) => {
            let text = format!(
                ":white_check_mark: ~{who} was blocked: {}~ ({how})",
                escape(&blocker.text)
            );
            let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": text}}]);
            (text, blocks)
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
                escape(&b.text),
                age(b.opened_at, now)
            ));
        }
    }
    text.push_str("\nThe full notes are in the thread.");
    text
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

/// The form a member can answer in: one multiline input per section, named so the reply
/// parser recognises each as its heading.
pub fn answer_form(format: Format, meta: &str) -> Value {
    let names: &[&str] = match format {
        Format::Planning => &["Shipped", "In progress", "Blocked", "Next"],
        Format::Standup => &["Last week", "This week", "Blocked"],
    };
    let blocks: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({
                "type": "input",
                "block_id": name,
                "optional": true,
                "label": {"type": "plain_text", "text": name},
                "element": {"type": "plain_text_input", "action_id": "answer", "multiline": true,
                             "placeholder": {"type": "plain_text", "text": "One item per line"}}
            })
        })
        .collect();
    json!({
        "type": "modal",
        "callback_id": "standup_form",
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": "Standup update"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_ping_the_channel() {
        assert_eq!(
            escape("<!channel> & <@U1>"),
            "&lt;!channel&gt; &amp; &lt;@U1&gt;"
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
