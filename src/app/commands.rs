//! `/standup` and its sub-commands. Each answer is a short ephemeral text; a user's mistake is
//! answered with what to type instead, never with silence or an error.

use super::messages::{age, escape, from_markdown};
use super::{App, Result};
use super::{away, cycle, flags, history, notes, stats};
use crate::store::{PostKind, SendKey};
use standup_core::domain::UserId;

/// What the command answers, shown only to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
}

impl Reply {
    /// An answer within Slack's 40,000 characters for a message's text.
    pub fn new(text: impl Into<String>) -> Reply {
        let text = text.into();
        Reply {
            text: crate::slack::blocks::message_text(
                &text,
                "the notes file and `/standup preview` have the rest",
            ),
        }
    }
}

pub const USAGE: &str = "*/standup* commands:\n\
• `/standup blocked` — open blockers of your teams\n\
• `/standup blocked &lt;what blocks you&gt;` — flag a blocker to your team\n\
• `/standup unblock` — resolve your open blockers\n\
• `/standup skip` — skip this cycle\n\
• `/standup ooo &lt;from&gt; [to]` — out of office (YYYY-MM-DD, `today`, `tomorrow`; or `ooo until &lt;date&gt;`)\n\
• `/standup ooo list` / `/standup ooo cancel [number]` — your time off, and cancel it\n\
• `/standup quiet 18:00-09:00` / `quiet off` — your quiet hours: prompts wait until they end\n\
• `/standup status` — who has answered this cycle\n\
• `/standup preview [team]` — the notes so far, only to you\n\
• `/standup post [team]` — post the notes now\n\
• `/standup history [@member] [n]` — your or a teammate's last n updates (default 3, at most 10)\n\
• `/standup stats [team] [cycles]` — who answered how often and how soon, only to you\n\
• `/standup teams` — every team the bot runs: channel, schedule, members, next prompt, where it is set up\n\
• `/standup setup [team]` — set a team up, or change one set up from Slack, in a form (workspace admins and team admins); `/standup setup remove &lt;team&gt;` removes one\n\
• `/standup help` — this list";

/// Runs `/standup <text>` for `user`.
pub async fn command(app: &App, user: &UserId, text: &str) -> Reply {
    match run_command(app, user, text.trim()).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, "/standup failed");
            Reply::new(
                "Sorry, that did not work: the bot could not reach its database or Slack. Please try again in a minute; if it keeps failing, tell your admin.",
            )
        }
    }
}

async fn run_command(app: &App, user: &UserId, text: &str) -> Result<Reply> {
    let (verb, rest) = text
        .split_once(char::is_whitespace)
        .map_or((text, ""), |(v, r)| (v, r.trim()));
    let config = app.config();
    let teams = config.teams_of(user);
    if matches!(verb, "preview" | "post") {
        return notes_command(app, user, verb, rest).await;
    }
    // A team's admin need not be a member: `status` shows them the team's trouble.
    let admin = config.teams.iter().any(|t| t.admins.contains(user));
    if teams.is_empty()
        && !matches!(verb, "" | "help")
        && !(admin && matches!(verb, "status" | "teams"))
    {
        return Ok(Reply::new(super::messages::NOT_A_MEMBER));
    }
    match verb.to_lowercase().as_str() {
        "" | "help" => Ok(Reply::new(USAGE)),
        "blocked" if rest.is_empty() => list_blockers(app, user).await,
        "blocked" => {
            let team = teams[0];
            let cycle = cycle::current_cycle(app, team).await?;
            // Slack sends the command's text as mrkdwn (`&amp;`, `<url|label>`): it is
            // stored as Markdown like a DM's text, and escaped once on the way out.
            let names = app.names(&team.id);
            let what = standup_core::parse::mrkdwn::to_markdown(rest, names.as_ref());
            let (id, who, text, now) = (cycle.id, user.clone(), what.to_string(), app.now());
            let blocker = app
                .write(move |s| s.raise_blocker(id, &who, &text, now))
                .await?;
            tracing::info!(team = %team.id, blocker = blocker.id, "blocker raised");
            // The blocker is stored and is in the notes; a flag Slack refuses now is
            // posted by a later sync.
            if let Err(e) = flags::blockers_changed(app, team, &[cycle.date]).await {
                tracing::warn!(team = %team.id, error = %e, "a raised blocker is not in the channel yet");
                return Ok(Reply::new(format!(
                    "Noted your blocker: {}. It is in your update, but I could not post it in <#{}> just now; I will try again with the team's next update or command.",
                    from_markdown(&what),
                    team.channel
                )));
            }
            Ok(Reply::new(format!(
                "Flagged to your team: {}",
                from_markdown(&what)
            )))
        }
        "unblock" | "resolve" => {
            let mut resolved = Vec::new();
            for team in &teams {
                let mine: Vec<_> = flags::open_blockers(app, &team.id)
                    .await?
                    .into_iter()
                    .filter(|b| b.user.as_ref() == Some(user))
                    .filter(|b| rest.is_empty() || b.id.to_string() == rest)
                    .collect();
                let mut dates = Vec::new();
                for b in mine {
                    let (id, by, now) = (b.id, user.to_string(), app.now());
                    if app.write(move |s| s.resolve_blocker(id, &by, now)).await? {
                        resolved.push(from_markdown(&b.text));
                        dates.push(b.date);
                    }
                }
                // The resolution is stored; its flag and the notes follow, one team's
                // Slack trouble not holding back another's.
                if let Err(e) = flags::blockers_changed(app, team, &dates).await {
                    tracing::warn!(team = %team.id, error = %e, "a resolved blocker is not shown as resolved in Slack yet");
                }
            }
            Ok(Reply::new(if resolved.is_empty() {
                "You have no open blockers.".to_string()
            } else {
                format!("Resolved: {}", resolved.join("; "))
            }))
        }
        "skip" => {
            for team in &teams {
                let cycle = cycle::current_cycle(app, team).await?;
                let (id, who, date, now) = (team.id.clone(), user.clone(), cycle.date, app.now());
                app.write(move |s| s.add_absence(&id, &who, date, date, "skip", now))
                    .await?;
            }
            Ok(Reply::new(
                "OK, you are skipping this cycle: no reminders until the next one.",
            ))
        }
        "ooo" => away::ooo_command(app, user, &teams, rest).await,
        "quiet" => away::quiet_command(app, user, &teams, rest).await,
        "status" => status(app, user).await,
        "history" => history::history(app, user, rest).await,
        "stats" => stats::stats_command(app, user, rest).await,
        "teams" => Ok(teams_list(app)),
        _ => Ok(Reply::new(format!(
            "I don't know `{}`.\n{USAGE}",
            escape(verb)
        ))),
    }
}

/// `/standup preview [team]` and `/standup post [team]`: for the team's members, or only its
/// admins when the team lists some.
async fn notes_command(app: &App, user: &UserId, verb: &str, rest: &str) -> Result<Reply> {
    let config = app.config();
    let allowed = |t: &&crate::config::TeamConfig| {
        if t.admins.is_empty() {
            t.member(user).is_some()
        } else {
            t.admins.contains(user)
        }
    };
    let named = (!rest.is_empty()).then(|| {
        config
            .teams
            .iter()
            .find(|t| t.id.as_str().eq_ignore_ascii_case(rest))
    });
    let team = match named {
        Some(None) => {
            return Ok(Reply::new(format!(
                "There is no team `{}`. Teams: {}.",
                escape(rest),
                config
                    .teams
                    .iter()
                    .map(|t| format!("`{}`", t.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Some(Some(t)) => t,
        None => match config
            .teams
            .iter()
            .find(allowed)
            .or_else(|| config.teams_of(user).into_iter().next())
        {
            Some(t) => t,
            None => return Ok(Reply::new(super::messages::NOT_A_MEMBER)),
        },
    };
    if !allowed(&team) {
        tracing::info!(team = %team.id, verb, "refused: not allowed");
        return Ok(Reply::new(if !team.admins.is_empty() {
            format!(
                "Only the admins of *{}* can {verb} its notes.",
                escape(&team.name)
            )
        } else if config.teams_of(user).is_empty() {
            super::messages::NOT_A_MEMBER.to_string()
        } else {
            format!(
                "Only members of *{}* can {verb} its notes.",
                escape(&team.name)
            )
        }));
    }
    let cycle = cycle::current_cycle(app, team).await?;
    if verb == "preview" {
        let document = notes::render(app, team, cycle.date).await?;
        return Ok(Reply::new(format!(
            "```\n{}\n```",
            escape(document.trim_end())
        )));
    }
    if notes::last_post(app, cycle.id, &PostKind::Document.to_string())
        .await?
        .is_some()
    {
        notes::refresh_posted_notes(app, team, &cycle).await?;
        return Ok(Reply::new(
            "The notes were already posted; I updated them with the latest updates.",
        ));
    }
    notes::post_notes(app, team, &cycle).await?;
    Ok(Reply::new(format!(
        "Posted the notes for {} in <#{}>.",
        cycle.date, team.channel
    )))
}

async fn list_blockers(app: &App, user: &UserId) -> Result<Reply> {
    let now = app.now();
    let mut lines = Vec::new();
    for team in app.config().teams_of(user) {
        for b in flags::open_blockers(app, &team.id).await? {
            lines.push(format!(
                "• *{}* @{}: {} ({})",
                escape(&team.name),
                escape(&b.handle),
                from_markdown(&b.text),
                age(b.opened_at, now)
            ));
        }
    }
    Ok(Reply::new(if lines.is_empty() {
        "No open blockers. :tada:".to_string()
    } else {
        format!("Open blockers:\n{}", lines.join("\n"))
    }))
}

/// Who answered, per team of the user; to a team's admins (its members when it lists
/// none) also the messages given up because Slack could not be checked, with what to do.
async fn status(app: &App, user: &UserId) -> Result<Reply> {
    let mut out = Vec::new();
    let config = app.config();
    let teams = config
        .teams
        .iter()
        .filter(|t| t.member(user).is_some() || t.admins.contains(user));
    for team in teams {
        let cycle = cycle::current_cycle(app, team).await?;
        let id = cycle.id;
        let roster = app.read(move |s| s.roster(id)).await?;
        let answered: Vec<String> = roster
            .iter()
            .filter(|(_, _, a)| *a)
            .map(|(h, _, _)| format!("@{}", escape(h)))
            .collect();
        let waiting: Vec<String> = roster
            .iter()
            .filter(|(_, _, a)| !a)
            .map(|(h, _, _)| format!("@{}", escape(h)))
            .collect();
        let away = away::away_line(app, team, cycle.date)
            .await?
            .map(|line| format!("; {line}"))
            .unwrap_or_default();
        let source = match team.source {
            crate::config::Source::Slack { .. } => ", set up in Slack",
            crate::config::Source::File => "",
        };
        out.push(format!(
            "*{}* ({}{source}): answered {}; waiting for {}{away}",
            escape(&team.name),
            cycle.date,
            if answered.is_empty() {
                "nobody yet".to_string()
            } else {
                answered.join(", ")
            },
            if waiting.is_empty() {
                "nobody".to_string()
            } else {
                waiting.join(", ")
            },
        ));
        let sees_trouble = if team.admins.is_empty() {
            team.member(user).is_some()
        } else {
            team.admins.contains(user)
        };
        if sees_trouble {
            let id = team.id.clone();
            for failed in app.read(move |s| s.failed_sends(&id)).await? {
                out.push(format!(
                    ":warning: Not sent: {} ({}). {}",
                    what_was_sent(&failed.key, &failed.channel),
                    failed.failed_at.format("%Y-%m-%d %H:%M UTC"),
                    escape(&failed.error)
                ));
            }
        }
    }
    Ok(Reply::new(out.join("\n")))
}

/// A given-up send in words, from its key (see where each key is made) and channel.
fn what_was_sent(key: &str, channel: &standup_core::domain::ChannelId) -> String {
    let user = |u: &UserId| {
        if u.as_str().starts_with('U') || u.as_str().starts_with('W') {
            format!("<@{u}>")
        } else {
            "a member".to_string()
        }
    };
    let place = if channel.as_str().starts_with('C') || channel.as_str().starts_with('G') {
        format!(" in <#{channel}>")
    } else {
        String::new()
    };
    let what = match key.parse::<SendKey>() {
        Ok(SendKey::Blocker(_)) => "a blocker's flag".to_string(),
        Ok(SendKey::Escalate(_)) => "a blocker's escalation".to_string(),
        Ok(SendKey::Thread(_)) => "the cycle's thread".to_string(),
        Ok(SendKey::Update { user: u, .. }) => format!("{}'s update", user(&u)),
        Ok(SendKey::Notes(_)) => "the notes' summary".to_string(),
        Ok(SendKey::NotesFile { .. }) => "a version of the notes file".to_string(),
        Ok(SendKey::Ack { user: u, .. }) => {
            format!("the confirmation of a reply to {}", user(&u))
        }
        Ok(SendKey::Prompt { user: u, .. }) => format!("the prompt to {}", user(&u)),
        Ok(SendKey::Remind { user: u, .. }) => format!("the reminder to {}", user(&u)),
        Ok(SendKey::Intro { user: u, .. }) => format!("the introduction to {}", user(&u)),
        Err(_) => format!("a message (`{}`)", escape(key)),
    };
    format!("{what}{place}")
}

/// `/standup teams`: each team with its channel, schedule in words, members, next prompt and
/// notes times on the team's clock, and where it is set up.
fn teams_list(app: &App) -> Reply {
    let config = app.config();
    let now = app.now();
    let file = format!("the config file `{}`", config.path.display());
    let mut lines = vec![format!("*Teams* ({}):", config.teams.len())];
    for team in &config.teams {
        let tz = team.timezone;
        let next = cycle::next_times(team, tz, now);
        let next_prompt = next.prompt.map(|t| cycle::on_clock(t, tz));
        let next_notes = next.notes.map(|t| cycle::on_clock(t, tz));
        let members = team.members.len();
        let source = match &team.source {
            crate::config::Source::File => escape(&file),
            crate::config::Source::Slack { by, at } => format!(
                "Slack by <@{by}> on {} (`/standup setup {}` changes it)",
                at.format("%Y-%m-%d"),
                team.id
            ),
        };
        let from = match &team.members_from {
            Some(channel) => format!(" (everyone in <#{channel}>)"),
            None => String::new(),
        };
        lines.push(format!(
            "• *{}* (`{}`) in <#{}>: {members} member{}{from}; prompts {}, meets {} ({}){}{}; set up in {source}",
            escape(&team.name),
            team.id,
            team.channel.0,
            if members == 1 { "" } else { "s" },
            super::onboarding::when(&team.prompt),
            super::onboarding::when(&team.sync),
            tz.name(),
            next_prompt.map_or(String::new(), |t| format!("; next prompt {t}")),
            next_notes.map_or(String::new(), |t| format!(", notes {t}")),
        ));
    }
    Reply::new(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::domain::ChannelId;

    #[test]
    fn a_given_up_send_is_named_for_people() {
        let channel = ChannelId("C0TEAM0001".into());
        assert_eq!(
            what_was_sent("blocker:12", &channel),
            "a blocker's flag in <#C0TEAM0001>"
        );
        assert_eq!(
            what_was_sent("update:3:U0KENJI001", &channel),
            "<@U0KENJI001>'s update in <#C0TEAM0001>"
        );
        assert_eq!(
            what_was_sent(
                "prompt:orbit:U0LI000001:2026-12-07T09:00:00.000Z",
                &ChannelId("U0LI000001".into())
            ),
            "the prompt to <@U0LI000001>"
        );
        assert_eq!(
            what_was_sent("odd<key>", &channel),
            "a message (`odd&lt;key&gt;`) in <#C0TEAM0001>"
        );
    }

    /// What Slack shows under `/standup` as the user types (the manifest's `usage_hint`) names
    /// every sub-command `/standup help` lists, so none is hidden from the autocomplete.
    #[test]
    fn the_manifest_usage_hint_names_every_sub_command() {
        let manifest = include_str!("../../config/slack-app-manifest.yml");
        let hint = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("usage_hint:"))
            .expect("the manifest has a usage_hint");
        let hinted: std::collections::BTreeSet<&str> = hint
            .trim()
            .trim_matches('"')
            .split('|')
            .filter_map(|part| part.split_whitespace().next())
            .collect();
        let listed: std::collections::BTreeSet<&str> = USAGE
            .split("`/standup ")
            .skip(1)
            .filter_map(|rest| rest.split([' ', '`']).next())
            .collect();
        assert_eq!(hinted, listed, "usage_hint: {hint}");
    }

    /// `/standup blocked <text>` is decoded as Slack escapes it: a teammate picked with `@` must
    /// arrive as `<@U…>`, which Slack does only with the command's `should_escape` on (the
    /// README's setup step promises it).
    #[test]
    fn the_manifest_has_slack_escape_the_command_text() {
        let manifest = include_str!("../../config/slack-app-manifest.yml");
        let escape = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("should_escape:"))
            .expect("the /standup command sets should_escape");
        assert_eq!(escape.trim(), "true");
    }
}
