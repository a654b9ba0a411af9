//! `/standup` and its sub-commands. Each answer is a short ephemeral text; a user's mistake is
//! answered with what to type instead, never with silence or an error.

use super::messages::{age, escape};
use super::{App, Result};
use crate::domain::UserId;

/// What the command answers, shown only to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
}

impl Reply {
    pub(super) fn new(text: impl Into<String>) -> Reply {
        Reply { text: text.into() }
    }
}

pub const USAGE: &str = "*/standup* commands:\n\
• `/standup blocked` — open blockers of your teams\n\
• `/standup blocked <what blocks you>` — flag a blocker to your team\n\
• `/standup unblock` — resolve your open blockers\n\
• `/standup skip` — skip this cycle\n\
• `/standup ooo <from> [to]` — out of office (YYYY-MM-DD, `today`, `tomorrow`; or `ooo until <date>`)\n\
• `/standup ooo list` / `/standup ooo cancel [number]` — your time off, and cancel it\n\
• `/standup quiet 18:00-09:00` / `quiet off` — your quiet hours: prompts wait until they end\n\
• `/standup status` — who has answered this cycle\n\
• `/standup preview [team]` — the notes so far, only to you\n\
• `/standup post [team]` — post the notes now\n\
• `/standup history [@member] [n]` — your or a teammate's last n updates (default 3, at most 10)\n\
• `/standup stats [team] [cycles]` — who answered how often and how soon, only to you\n\
• `/standup help` — this list";

impl App {
    /// Runs `/standup <text>` for `user`.
    pub async fn command(&self, user: &UserId, text: &str) -> Reply {
        match self.run_command(user, text.trim()).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!(error = %e, "/standup failed");
                Reply::new(
                    "Sorry, that did not work: the bot could not reach its database or Slack. Please try again in a minute; if it keeps failing, tell your admin.",
                )
            }
        }
    }

    async fn run_command(&self, user: &UserId, text: &str) -> Result<Reply> {
        let (verb, rest) = text
            .split_once(char::is_whitespace)
            .map_or((text, ""), |(v, r)| (v, r.trim()));
        let teams = self.teams_of(user);
        if matches!(verb, "preview" | "post") {
            return self.notes_command(user, verb, rest).await;
        }
        if teams.is_empty() && !matches!(verb, "" | "help") {
            return Ok(Reply::new(super::messages::NOT_A_MEMBER));
        }
        match verb.to_lowercase().as_str() {
            "" | "help" => Ok(Reply::new(USAGE)),
            "blocked" if rest.is_empty() => self.list_blockers(user),
            "blocked" => {
                let team = teams[0];
                let cycle = self.current_cycle(team)?;
                // Slack escapes a command's text as it does a message's (the manifest's
                // `should_escape`): decoded the same way, a blocker reads as a DM's would.
                let no_names = super::Names::new();
                let names = self.names.get(&team.id).unwrap_or(&no_names);
                let text = crate::parse::mrkdwn::to_markdown(rest, names);
                let blocker = self
                    .store()
                    .raise_blocker(cycle.id, user, &text, self.now())?;
                tracing::info!(team = %team.id, blocker = blocker.id, "blocker raised");
                self.sync_flags(team).await?;
                Ok(Reply::new(format!(
                    "Flagged to your team: {}",
                    escape(&text)
                )))
            }
            "unblock" | "resolve" => {
                let mut resolved = Vec::new();
                for team in &teams {
                    let mine: Vec<_> = self
                        .store()
                        .open_blockers(&team.id)?
                        .into_iter()
                        .filter(|b| b.user.as_ref() == Some(user))
                        .filter(|b| rest.is_empty() || b.id.to_string() == rest)
                        .collect();
                    for b in mine {
                        if self
                            .store()
                            .resolve_blocker(b.id, user.as_str(), self.now())?
                        {
                            resolved.push(escape(&b.text));
                        }
                    }
                    self.sync_flags(team).await?;
                }
                Ok(Reply::new(if resolved.is_empty() {
                    "You have no open blockers.".to_string()
                } else {
                    format!("Resolved: {}", resolved.join("; "))
                }))
            }
            "skip" => {
                for team in &teams {
                    let cycle = self.current_cycle(team)?;
                    self.store().add_absence(
                        &team.id,
                        user,
                        cycle.date,
                        cycle.date,
                        "skip",
                        self.now(),
                    )?;
                }
                Ok(Reply::new(
                    "OK, you are skipping this cycle: no reminders until the next one.",
                ))
            }
            "ooo" => self.ooo_command(user, &teams, rest),
            "quiet" => self.quiet_command(user, &teams, rest),
            "status" => self.status(user),
            "history" => self.history(user, rest),
            "stats" => self.stats_command(user, rest),
            _ => Ok(Reply::new(format!(
                "I don't know `{}`.\n{USAGE}",
                escape(verb)
            ))),
        }
    }

    /// `/standup preview [team]` and `/standup post [team]`: for the team's members, or only its
    /// admins when the team lists some.
    async fn notes_command(&self, user: &UserId, verb: &str, rest: &str) -> Result<Reply> {
        let allowed = |t: &&crate::config::TeamConfig| {
            if t.admins.is_empty() {
                t.member(user).is_some()
            } else {
                t.admins.contains(user)
            }
        };
        let named = (!rest.is_empty()).then(|| {
            self.config
                .teams
                .iter()
                .find(|t| t.id.as_str().eq_ignore_ascii_case(rest))
        });
        let team = match named {
            Some(None) => {
                return Ok(Reply::new(format!(
                    "There is no team `{}`. Teams: {}.",
                    escape(rest),
                    self.config
                        .teams
                        .iter()
                        .map(|t| format!("`{}`", t.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Some(Some(t)) => t,
            None => match self
                .config
                .teams
                .iter()
                .find(allowed)
                .or_else(|| self.teams_of(user).into_iter().next())
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
            } else if self.teams_of(user).is_empty() {
                super::messages::NOT_A_MEMBER.to_string()
            } else {
                format!(
                    "Only members of *{}* can {verb} its notes.",
                    escape(&team.name)
                )
            }));
        }
        let cycle = self.current_cycle(team)?;
        if verb == "preview" {
            let document = self.render(team, cycle.date)?;
            return Ok(Reply::new(format!(
                "```\n{}\n```",
                escape(document.trim_end())
            )));
        }
        if self.store().last_post(cycle.id, "document")?.is_some() {
            self.refresh_posted_notes(team, &cycle).await?;
            return Ok(Reply::new(
                "The notes were already posted; I updated them with the latest updates.",
            ));
        }
        self.post_notes(team, &cycle).await?;
        Ok(Reply::new(format!(
            "Posted the notes for {} in <#{}>.",
            cycle.date, team.channel
        )))
    }

    fn list_blockers(&self, user: &UserId) -> Result<Reply> {
        let now = self.now();
        let mut lines = Vec::new();
        for team in self.teams_of(user) {
            for b in self.store().open_blockers(&team.id)? {
                lines.push(format!(
                    "• *{}* @{}: {} ({})",
                    escape(&team.name),
                    escape(&b.handle),
                    escape(&b.text),
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

    fn status(&self, user: &UserId) -> Result<Reply> {
        let mut out = Vec::new();
        for team in self.teams_of(user) {
            let cycle = self.current_cycle(team)?;
            let roster = self.store().roster(cycle.id)?;
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
            let away = self
                .away_line(team, cycle.date)?
                .map(|line| format!("; {line}"))
                .unwrap_or_default();
            out.push(format!(
                "*{}* ({}): answered {}; waiting for {}{away}",
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
        }
        Ok(Reply::new(out.join("\n")))
    }
}
