//! Onboarding: the bot introduces itself by DM to each member of a team, once ever per team:
//! what it does, the team's schedule in words, the headings it expects with a sample answer,
//! and the useful `/standup` commands.
//!
//! A member is due for an introduction when the bot joins the team's channel (everyone), when
//! they join the channel themselves, or when they were added to the team's config since the
//! last start. Due introductions are rows in the store (`intros`), so one cut short by a crash
//! is sent at the next start; each DM is sent once by its key `intro:<team>:<user>`, so a
//! restart or a redelivered event never repeats it.

use chrono::{DateTime, Utc};

use super::messages::{self, escape};
use super::{App, Result, Sent};
use super::{once, people};
use crate::config::TeamConfig;
use crate::slack::client::Outgoing;
use crate::store::SendKey;
use standup_core::domain::{ChannelId, Format, TeamId, UserId};
use standup_core::schedule::Schedule;

/// `member_joined_channel`: the bot itself joining a team's channel makes every member of
/// the team due for an introduction; a member joining makes them due.
pub async fn member_joined(app: &App, user: &UserId, channel: &ChannelId) -> Result<()> {
    for team in app.config().teams.iter().filter(|t| &t.channel == channel) {
        if !team.onboarding {
            continue;
        }
        let due: Vec<UserId> = if user == &app.bot_user {
            team.members.iter().map(|m| m.user.clone()).collect()
        } else if team.member(user).is_some() {
            vec![user.clone()]
        } else {
            continue;
        };
        tracing::info!(team = %team.id, members = due.len(), "introductions due");
        let (id, now) = (team.id.clone(), app.now());
        app.write(move |s| s.intro_due(&id, &due, now)).await?;
    }
    introduce_due(app).await
}

/// Sends every introduction that is due (at start-up: members added to the config, and any
/// cut short by a crash). A failed one stays due; the first error is returned after the rest
/// were tried.
pub async fn introduce_due(app: &App) -> Result<()> {
    let due = app.read(|s| s.intros_due()).await?;
    let mut first_error = None;
    for (team_id, user) in due {
        let wanted = app
            .team(&team_id)
            .filter(|t| t.onboarding && t.member(&user).is_some());
        let outcome = match wanted {
            Some(team) => introduce(app, &team, &user).await,
            // No longer in the team, or onboarding turned off: nothing to send.
            None => Ok(true),
        };
        match outcome {
            Ok(true) => intro_done(app, &team_id, &user).await?,
            Ok(false) => {}
            // Given up (it may have reached Slack; logged then, and in `/standup status`):
            // no longer due, or it would be tried and logged at every start.
            Err(e) if e.given_up() => intro_done(app, &team_id, &user).await?,
            Err(e) => {
                tracing::warn!(team = %team_id, error = %e, "could not send an introduction; it stays due");
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn intro_done(app: &App, team: &TeamId, user: &UserId) -> Result<()> {
    let (id, who, now) = (team.clone(), user.clone(), app.now());
    app.write(move |s| s.intro_done(&id, &who, now)).await?;
    Ok(())
}

/// DMs the introduction (once per team and member). False when another task is sending it.
async fn introduce(app: &App, team: &TeamConfig, user: &UserId) -> Result<bool> {
    let info = people::profile(app, team, user).await?;
    if info.deleted || info.is_bot {
        return Ok(true);
    }
    let key = SendKey::Intro {
        team: team.id.clone(),
        user: user.clone(),
    };
    let text = introduction(team, user, app.now());
    let blocks = serde_json::Value::Array(crate::slack::blocks::sections(&text));
    let to = ChannelId(user.0.clone());
    let out = Outgoing {
        channel: &to,
        text: &text,
        blocks: Some(blocks),
        thread_ts: None,
        key: None,
    };
    let sent = once::send_once(app, &team.id, &key, out).await?;
    if sent != Sent::Busy {
        tracing::info!(team = %team.id, "member introduced");
    }
    Ok(sent != Sent::Busy)
}

/// The introduction DM (Slack mrkdwn). It never says "update for", which marks prompts.
pub fn introduction(team: &TeamConfig, user: &UserId, now: DateTime<Utc>) -> String {
    let name = escape(&team.name);
    let zone = team.timezone.name();
    let prompt = when(&team.prompt);
    let next_prompt = team
        .prompt
        .next_after(now, team.timezone)
        .map(|t| {
            format!(
                " (next: {})",
                t.with_timezone(&team.timezone).format("%A %-d %B at %H:%M")
            )
        })
        .unwrap_or_default();
    let meeting = when(&team.sync);
    let before = duration_words(team.post_before);
    let headings = messages::questions(team.format)
        .iter()
        .map(|h| h.trim_end_matches(':'))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        ":wave: Hi <@{user}>! I am the standup bot of *{name}*. I run the team's asynchronous standup: you write your update when it suits you, and the meeting starts from the notes.\n\n\
*How it works*\n\
• I DM you for your update {prompt}, {zone} time{next_prompt}. If you have not answered after {remind}, I remind you once.\n\
• The team meets {meeting}; {before} before, I post the meeting notes in <#{channel}>.\n\
• A blocker you report is flagged to the team at once.\n\n\
*How to answer*: reply to my DM with a few lines under these headings (leave out what does not apply): {headings}. For example:\n\
```{sample}```\n\
Edit your message any time; the latest text counts. My *Home* tab shows your update, with a button to edit it.\n\n\
*Useful commands*: `/standup status` (who has answered), `/standup skip` (skip this time), `/standup ooo &lt;from&gt; [to]` (out of office), `/standup blocked &lt;what blocks you&gt;`, `/standup help` (all of them).",
        remind = duration_words(team.remind_after),
        channel = team.channel,
        sample = sample(team.format),
    )
}

/// "30 minutes", "1 hour 30 minutes", "2 days".
fn duration_words(d: std::time::Duration) -> String {
    let mut secs = d.as_secs();
    let mut parts = Vec::new();
    for (unit, size) in [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "no time".to_string()
    } else {
        parts.join(" ")
    }
}

/// A sample answer in the format's headings.
fn sample(format: Format) -> &'static str {
    match format {
        Format::Planning => {
            "🚢 Shipped:\n- the importer\n🚧 In progress:\n- the Slack service\n    - retries\n⛔️ Blocked:\n- none\n⏭ Next:\n- review the storage doc"
        }
        Format::Standup => {
            "Last week:\n- the importer\nThis week:\n- the Slack service\n    - retries\nBlocked:\n- none"
        }
    }
}

/// A schedule in words when it has the usual shape (one time of day; every day, some weekdays
/// or a day of the month), else the expression itself.
pub fn when(schedule: &Schedule) -> String {
    let fields: Vec<&str> = schedule.source().split_whitespace().collect();
    let (minute, hour, dom, month, dow) = match fields.as_slice() {
        [m, h, dom, mon, dow] | [_, m, h, dom, mon, dow] => (*m, *h, *dom, *mon, *dow),
        _ => return format!("on the schedule `{}`", schedule.source()),
    };
    let (Ok(minute), Ok(hour)) = (minute.parse::<u32>(), hour.parse::<u32>()) else {
        return format!("on the schedule `{}`", schedule.source());
    };
    let time = format!("at {hour:02}:{minute:02}");
    let days = match (dom, month, dow.to_lowercase().as_str()) {
        ("*", "*", "*") => "every day".to_string(),
        ("*", "*", "1-5" | "mon-fri") => "on weekdays".to_string(),
        ("*", "*", days) => match days_in_words(days) {
            Some(words) => format!("on {words}"),
            None => return format!("on the schedule `{}`", schedule.source()),
        },
        (day, "*", "*") if day.parse::<u32>().is_ok() => format!("on day {day} of each month"),
        _ => return format!("on the schedule `{}`", schedule.source()),
    };
    format!("{time} {days}")
}

/// `1,3` → "Mondays and Wednesdays"; `mon-wed` → "Mondays to Wednesdays".
fn days_in_words(days: &str) -> Option<String> {
    const NAMES: [&str; 7] = [
        "Sundays",
        "Mondays",
        "Tuesdays",
        "Wednesdays",
        "Thursdays",
        "Fridays",
        "Saturdays",
    ];
    let day = |d: &str| -> Option<&str> {
        let i = match d {
            "0" | "7" | "sun" => 0,
            "1" | "mon" => 1,
            "2" | "tue" => 2,
            "3" | "wed" => 3,
            "4" | "thu" => 4,
            "5" | "fri" => 5,
            "6" | "sat" => 6,
            _ => return None,
        };
        Some(NAMES[i])
    };
    let parts: Option<Vec<String>> = days
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => Some(format!("{} to {}", day(a)?, day(b)?)),
            None => day(part).map(str::to_string),
        })
        .collect();
    let parts = parts?;
    Some(match parts.as_slice() {
        [] => return None,
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::domain::SectionKind;
    use standup_core::parse::{NoNames, parse_reply};

    fn schedule(s: &str) -> String {
        when(&Schedule::parse(s).unwrap())
    }

    #[test]
    fn durations_in_words() {
        use std::time::Duration;
        assert_eq!(duration_words(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(
            duration_words(Duration::from_secs(5400)),
            "1 hour 30 minutes"
        );
        assert_eq!(duration_words(Duration::from_secs(2 * 86_400)), "2 days");
    }

    #[test]
    fn schedules_in_words() {
        assert_eq!(schedule("0 9 * * Mon-Fri"), "at 09:00 on weekdays");
        assert_eq!(schedule("0 9 * * 1-5"), "at 09:00 on weekdays");
        assert_eq!(schedule("30 14 * * Mon"), "at 14:30 on Mondays");
        assert_eq!(
            schedule("0 10 * * 1,3,5"),
            "at 10:00 on Mondays, Wednesdays and Fridays"
        );
        assert_eq!(schedule("15 8 * * *"), "at 08:15 every day");
        assert_eq!(schedule("0 12 1 * *"), "at 12:00 on day 1 of each month");
        assert_eq!(
            schedule("0 5 9 * * *"),
            "at 09:05 every day",
            "seconds first"
        );
        assert_eq!(schedule("*/15 * * * *"), "on the schedule `*/15 * * * *`");
    }

    #[test]
    fn the_samples_parse_cleanly_into_the_formats_sections() {
        for (format, kinds) in [
            (
                Format::Planning,
                vec![
                    SectionKind::Shipped,
                    SectionKind::InProgress,
                    SectionKind::Blocked,
                    SectionKind::Next,
                ],
            ),
            (
                Format::Standup,
                vec![
                    SectionKind::Shipped,
                    SectionKind::Next,
                    SectionKind::Blocked,
                ],
            ),
        ] {
            let parsed = parse_reply(sample(format), format, &NoNames);
            assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
            let got: Vec<_> = parsed.update.sections.iter().map(|s| s.kind).collect();
            assert_eq!(got, kinds.into_iter().map(Some).collect::<Vec<_>>());
            assert!(parsed.update.blockers().is_empty(), "`none` is no blocker");
        }
    }
}
