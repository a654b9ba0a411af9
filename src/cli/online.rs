//! `check-config --online`: what the config file cannot say on its own, asked of Slack with the
//! bot token: the token works and carries every scope the app manifest lists, every team channel
//! exists with the bot in it, every member exists and is a person, and when each team's next
//! prompt, reminder and notes are due (on the team's clock, and on each member's own with
//! `per_member_timezone`).

use std::io::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{plural, stdout_error};
use crate::app::cycle::{next_times, on_clock};
use crate::config::{Config, Secrets};
use crate::error::{Error, Result};
use crate::slack::client::{Api, Policy};

/// Checks `config` against Slack, printing what it found to `out`; an error when any problem was
/// found (each already printed on its own line, with what to do).
pub async fn check(config: &Config, secrets: Secrets, out: &mut dyn Write) -> Result<()> {
    let token = secrets.bot_token.ok_or_else(|| {
        Error::Usage(
            "SLACK_BOT_TOKEN is not set: --online asks Slack with the bot token (xoxb-...); set it in the environment (or SLACK_BOT_TOKEN_FILE)".into(),
        )
    })?;
    let api = Api::new(&config.slack.api_url, &token, Policy::default()).map_err(Error::slack)?;
    let me = api.auth_test().await.map_err(Error::slack)?;
    writeln!(
        out,
        "Slack: the bot token works (bot user {} in workspace {})",
        me.user.0, me.team
    )
    .map_err(stdout_error)?;
    let named = config.names.len();
    let assembled = crate::app::names::assemble(&api, &me.user, config.clone(), Vec::new()).await;
    let config = match assembled {
        Ok((resolved, _)) => resolved,
        Err(Error::Config(e)) if !e.problems().is_empty() => {
            for problem in e.problems() {
                writeln!(out, "problem: {problem}").map_err(stdout_error)?;
            }
            return Err(Error::Usage(format!(
                "{} name{} not found in Slack (listed above)",
                e.problems().len(),
                plural(e.problems().len())
            )));
        }
        Err(e) => return Err(e),
    };
    if named > 0 {
        writeln!(
            out,
            "Slack names: all {named} found (people by @handle or email, channels by #name)"
        )
        .map_err(stdout_error)?;
    }
    let mut problems: Vec<String> = Vec::new();
    check_scopes(&api, out, &mut problems).await?;
    let now = Utc::now();
    for team in &config.teams {
        let id = &team.id;
        match api.channel_info(&team.channel).await {
            Ok(c) if c.is_archived => problems.push(format!(
                "team {id}: channel {} is archived: point `channel` at the team's current channel",
                team.channel.0
            )),
            Ok(c) if !c.is_member => problems.push(format!(
                "team {id}: the bot is not in #{}: invite it there (`/invite @standup`)",
                c.name.unwrap_or_else(|| team.channel.0.clone())
            )),
            Ok(c) => writeln!(
                out,
                "team {id}: channel #{} ({}): the bot is in it",
                c.name.unwrap_or_default(),
                team.channel.0
            )
            .map_err(stdout_error)?,
            Err(e) => problems.push(format!(
                "team {id}: channel {}: Slack says {} — check the id (channel details → bottom of About)",
                team.channel.0,
                e.code().unwrap_or("no answer")
            )),
        }
        let tz = team.timezone;
        let next = next_times(team, tz, now);
        let show =
            |t: Option<DateTime<Utc>>, tz| t.map_or("never".to_string(), |t| on_clock(t, tz));
        writeln!(
            out,
            "team {id}: next prompt {}, reminder {}, notes {} ({})",
            show(next.prompt, tz),
            show(next.remind, tz),
            show(next.notes, tz),
            tz.name()
        )
        .map_err(stdout_error)?;
        if let Some(from) = &team.members_from {
            writeln!(
                out,
                "team {id}: members are the {} people in {} now, kept in sync as people join and leave",
                team.members.len(),
                from.0
            )
            .map_err(stdout_error)?;
        }
        for member in &team.members {
            let who = &member.user.0;
            match api.user_info(&member.user).await {
                Ok(u) if u.deleted => problems.push(format!(
                    "team {id}: member {who} is deactivated: remove them from `members`"
                )),
                Ok(u) if u.is_bot => problems.push(format!(
                    "team {id}: member {who} is a bot: remove them from `members`"
                )),
                Ok(u) if team.per_member_timezone => {
                    let own: Tz = u.tz.as_deref().and_then(|z| z.parse().ok()).unwrap_or(tz);
                    writeln!(
                        out,
                        "  {who} ({}): next prompt {} ({})",
                        u.name.unwrap_or_default(),
                        show(next_times(team, own, now).prompt, own),
                        own.name()
                    )
                    .map_err(stdout_error)?;
                }
                Ok(_) => {}
                Err(e) => problems.push(format!(
                    "team {id}: member {who}: Slack says {} — check the id (profile → ⋮ → Copy member ID)",
                    e.code().unwrap_or("no answer")
                )),
            }
        }
    }
    for problem in &problems {
        writeln!(out, "problem: {problem}").map_err(stdout_error)?;
    }
    if problems.is_empty() {
        writeln!(out, "online: ok").map_err(stdout_error)?;
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{} problem{} found in Slack (listed above)",
            problems.len(),
            plural(problems.len())
        )))
    }
}

/// The bot token's scopes against the bot scopes of the app manifest the bot ships with
/// (`config/slack-app-manifest.yml`, built in): each one missing is a problem naming the scope,
/// what the bot needs it for (the manifest's comment) and how to grant it. A scope missing
/// shows up otherwise only when the call that needs it fails, maybe days later.
async fn check_scopes(api: &Api, out: &mut dyn Write, problems: &mut Vec<String>) -> Result<()> {
    let manifest = slack_emulator::spec::Manifest::standup_bot();
    let granted = match api.granted_scopes().await {
        Ok(Some(granted)) => granted,
        Ok(None) => {
            return writeln!(
                out,
                "Slack: scopes not checked: Slack did not list the token's scopes (no x-oauth-scopes header)"
            )
            .map_err(stdout_error);
        }
        Err(e) => {
            problems.push(format!(
                "cannot read the bot token's scopes ({e}): run check-config --online again"
            ));
            return Ok(());
        }
    };
    let missing: Vec<&String> = manifest
        .bot_scopes
        .iter()
        .filter(|s| !granted.contains(s))
        .collect();
    for scope in &missing {
        let purpose = manifest
            .bot_scope_purposes
            .get(*scope)
            .map(|p| format!(" (for {p})"))
            .unwrap_or_default();
        problems.push(format!(
            "the bot token lacks the {scope} scope{purpose}: add it under OAuth & Permissions → Scopes (or re-create the app from config/slack-app-manifest.yml), then reinstall the app to the workspace"
        ));
    }
    if missing.is_empty() {
        writeln!(
            out,
            "Slack: scopes: all {} the app manifest lists are granted",
            manifest.bot_scopes.len()
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}
