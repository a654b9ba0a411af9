//! `/standup history [@member] [n]`: someone's last updates, newest first, each shown as the
//! team's notes show it. Anyone may see their own; a teammate's only when they share a team.

use super::commands::Reply;
use super::messages::escape;
use super::{App, Result};
use crate::config::TeamConfig;
use crate::store::PastUpdate;
use standup_core::domain::{Block, BlockRole, Entry, Meeting, UserId};
use standup_core::render::TemplateRef;

pub const DEFAULT_UPDATES: usize = 3;
pub const MAX_UPDATES: usize = 10;

pub const HISTORY_USAGE: &str = "Usage: `/standup history [@member] [n]`: the last n updates (default 3, at most 10) of you or a teammate, e.g. `/standup history @maria 5`.";

/// The arguments of `history`, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Args<'a> {
    who: Option<&'a str>,
    n: usize,
}

/// Reads `[@member] [n]` in either order; `Err` is the answer to a mistake.
fn parse_args(rest: &str) -> std::result::Result<Args<'_>, String> {
    let mut who = None;
    let mut n = None;
    for word in rest.split_whitespace() {
        if let Ok(number) = word.parse::<i64>() {
            if n.is_some() {
                return Err(HISTORY_USAGE.to_string());
            }
            if !(1..=MAX_UPDATES as i64).contains(&number) {
                return Err(format!(
                    "`{number}` is out of range: ask for 1 to {MAX_UPDATES} updates.\n{HISTORY_USAGE}"
                ));
            }
            n = Some(number as usize);
        } else if who.is_none() {
            who = Some(word);
        } else {
            return Err(HISTORY_USAGE.to_string());
        }
    }
    Ok(Args {
        who,
        n: n.unwrap_or(DEFAULT_UPDATES),
    })
}

/// The user id a slash command's mention names: Slack's escaped `<@U123|name>` or `<@U123>`,
/// or a bare user id. `None` for a handle, which is looked up in the config.
fn mentioned_user(word: &str) -> Option<UserId> {
    let inner = word.strip_prefix("<@").and_then(|w| w.strip_suffix('>'));
    let id = match inner {
        Some(inner) => inner.split('|').next().unwrap_or_default(),
        None => word,
    };
    let looks_like_id = id.len() >= 9
        && (id.starts_with('U') || id.starts_with('W'))
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    looks_like_id.then(|| UserId::new(id))
}

/// `/standup history [@member] [n]` for `caller`.
pub(super) async fn history(app: &App, caller: &UserId, rest: &str) -> Result<Reply> {
    let args = match parse_args(rest) {
        Ok(args) => args,
        Err(answer) => return Ok(Reply { text: answer }),
    };
    let target = match args.who {
        None => caller.clone(),
        Some(word) => match find_member(app, word).await? {
            Some(user) => user,
            None => {
                return Ok(Reply {
                    text: format!(
                        "I don't know `{}` in any team. Name a teammate as in the notes (`@maria`) or mention them.",
                        escape(word)
                    ),
                });
            }
        },
    };
    let config = app.config();
    let shared: Vec<&TeamConfig> = config
        .teams_of(caller)
        .into_iter()
        .filter(|t| t.member(&target).is_some())
        .collect();
    if shared.is_empty() {
        return Ok(Reply {
            text: format!(
                "<@{target}> is not in any of your teams: you can see your own history and your teammates'."
            ),
        });
    }
    let mut found: Vec<(&TeamConfig, String, PastUpdate)> = Vec::new();
    for team in shared {
        let handle = handle_of(app, team, &target).await?;
        let (id, who, n) = (team.id.clone(), target.clone(), args.n);
        for past in app.read(move |s| s.member_updates(&id, &who, n)).await? {
            found.push((team, handle.clone(), past));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.2.date));
    found.truncate(args.n);
    let whose = if &target == caller {
        "your".to_string()
    } else {
        format!("<@{target}>'s")
    };
    if found.is_empty() {
        return Ok(Reply {
            text: format!("No updates yet: {whose} history starts with the next answer."),
        });
    }
    let mut text = format!(
        "*{} last {}* (newest first):",
        capitalise(&whose),
        if found.len() == 1 {
            "update".to_string()
        } else {
            format!("{} updates", found.len())
        }
    );
    for (team, handle, past) in &found {
        let block = member_block(app, team, handle, past)?;
        text.push_str(&format!(
            "\n*{}* · {}\n```\n{}\n```",
            past.date,
            escape(&team.name),
            escape(&block)
        ));
    }
    Ok(Reply::new(text))
}

/// The member a typed name stands for: a mention or user id, else a handle of any team
/// (with or without `@`, any case).
async fn find_member(app: &App, word: &str) -> Result<Option<UserId>> {
    if let Some(user) = mentioned_user(word) {
        let known = app.config().teams.iter().any(|t| t.member(&user).is_some());
        return Ok(known.then_some(user));
    }
    let handle = word.trim_start_matches('@');
    for team in &app.config().teams {
        let id = team.id.clone();
        let members = app.read(move |s| s.active_members(&id)).await?;
        let stored = members.into_iter().find_map(|m| {
            m.handle
                .eq_ignore_ascii_case(handle)
                .then_some(m.user)
                .flatten()
        });
        let configured = team.members.iter().find_map(|m| {
            m.handle
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(handle))
                .then(|| m.user.clone())
        });
        if let Some(user) = configured.or(stored) {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The handle the team's notes use for `user`.
async fn handle_of(app: &App, team: &TeamConfig, user: &UserId) -> Result<String> {
    if let Some(handle) = team.member(user).and_then(|m| m.handle.clone()) {
        return Ok(handle);
    }
    let id = team.id.clone();
    Ok(app
        .read(move |s| s.active_members(&id))
        .await?
        .into_iter()
        .find(|m| m.user.as_ref() == Some(user))
        .map_or_else(|| user.to_string(), |m| m.handle))
}

/// One member's block of a meeting, rendered by the team's built-in format as the notes
/// show it.
fn member_block(app: &App, team: &TeamConfig, handle: &str, past: &PastUpdate) -> Result<String> {
    let meeting = Meeting {
        format: team.format,
        date: past.date,
        title: String::new(),
        blocks: vec![Block {
            role: BlockRole::Updates,
            heading: String::new(),
            body: String::new(),
        }],
        entries: vec![Entry {
            handle: handle.to_string(),
            update: Some(past.update.clone()),
            note: None,
        }],
        questions: Vec::new(),
        extras: Vec::new(),
    };
    let rendered = app
        .renderer()
        .render(&TemplateRef::Builtin(team.format), &meeting)?;
    // Only the member's block: the title line and the format's closing rule go.
    let body = rendered
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .trim();
    Ok(body.trim_end_matches("---").trim().to_string())
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_in_either_order() {
        assert_eq!(parse_args(""), Ok(Args { who: None, n: 3 }));
        assert_eq!(
            parse_args("@maria 5"),
            Ok(Args {
                who: Some("@maria"),
                n: 5
            })
        );
        assert_eq!(
            parse_args("10 <@U0MARIA001|maria>"),
            Ok(Args {
                who: Some("<@U0MARIA001|maria>"),
                n: 10
            })
        );
        assert!(parse_args("11").unwrap_err().contains("out of range"));
        assert!(parse_args("0").unwrap_err().contains("out of range"));
        assert!(parse_args("-2").unwrap_err().contains("out of range"));
        assert!(parse_args("@a @b").unwrap_err().starts_with("Usage"));
        assert!(parse_args("2 3").unwrap_err().starts_with("Usage"));
    }

    #[test]
    fn mentions_as_slack_escapes_them() {
        assert_eq!(
            mentioned_user("<@U0MARIA001|maria>"),
            Some(UserId::new("U0MARIA001"))
        );
        assert_eq!(
            mentioned_user("<@W0MARIA001>"),
            Some(UserId::new("W0MARIA001"))
        );
        assert_eq!(
            mentioned_user("U0MARIA001"),
            Some(UserId::new("U0MARIA001"))
        );
        assert_eq!(mentioned_user("@maria"), None);
        assert_eq!(mentioned_user("Ursula"), None);
    }
}
