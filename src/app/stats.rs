//! `/standup stats [team] [cycles]`: each member's participation over the team's recent
//! cycles, shown only to the caller. The sums are [`standup_core::stats`]'s; this is the Slack text.

use super::commands::Reply;
use super::messages::escape;
use super::{App, Result};
use super::{cycle, notes};
use crate::store::PostKind;
use standup_core::domain::UserId;
use standup_core::stats;

/// The most cycles one can ask for, as `stats_cycles` allows.
const MAX_CYCLES: usize = 104;

const USAGE: &str = "Usage: `/standup stats [team] [cycles]`, e.g. `/standup stats` or `/standup stats orbit 12` (cycles from 1 to 104; default: the team's `stats_cycles`).";

/// Participation of the caller's team (or the named one, if they are in it).
pub(super) async fn stats_command(app: &App, user: &UserId, rest: &str) -> Result<Reply> {
    let mut team_word = None;
    let mut cycles = None;
    for word in rest.split_whitespace() {
        match word.parse::<usize>() {
            Ok(n) if cycles.is_none() && (1..=MAX_CYCLES).contains(&n) => cycles = Some(n),
            Ok(_) => return Ok(Reply::new(USAGE)),
            Err(_) if team_word.is_none() => team_word = Some(word),
            Err(_) => return Ok(Reply::new(USAGE)),
        }
    }
    let config = app.config();
    let mine = config.teams_of(user);
    let team = match team_word {
        None => mine[0],
        Some(word) => {
            let Some(team) = config
                .teams
                .iter()
                .find(|t| t.id.as_str().eq_ignore_ascii_case(word))
            else {
                return Ok(Reply::new(format!(
                    "There is no team `{}`. {USAGE}",
                    escape(word)
                )));
            };
            if team.member(user).is_none() && !team.is_admin(user) {
                return Ok(Reply::new(format!(
                    "Only members of *{}* can see its participation.",
                    escape(&team.name)
                )));
            }
            team
        }
    };
    let limit = cycles.unwrap_or(team.stats_cycles);
    let today = app.now().with_timezone(&team.timezone).date_naive();
    // Every cycle so far, including a future meeting's that already takes answers.
    let up_to = cycle::next_meeting_date(team, app.now()).max(today);
    let id = team.id.clone();
    let facts = app
        .read(move |s| s.participation(&id, up_to, limit))
        .await?;
    let (Some(newest), Some(oldest)) = (facts.first(), facts.last()) else {
        return Ok(Reply::new(format!(
            "*{}* has no cycles yet: participation shows after the first prompt.",
            escape(&team.name)
        )));
    };
    // The newest cycle still takes answers until its notes are posted: members who have
    // not answered yet are not counted as missing it.
    let open = (newest.date >= today
        && notes::last_post(app, newest.id, &PostKind::Document.to_string())
            .await?
            .is_none())
    .then_some(newest.id);
    let people = stats::team(&facts, open);
    let mut text = format!(
        "*{}*: participation over the last {} cycle{} ({} to {}){}:",
        escape(&team.name),
        facts.len(),
        if facts.len() == 1 { "" } else { "s" },
        oldest.date,
        newest.date,
        if open.is_some() {
            format!("; the {} cycle is still open", newest.date)
        } else {
            String::new()
        }
    );
    for p in &people {
        text.push_str(&format!(
            "\n• @{}: {}",
            escape(&p.handle),
            stats::summary(p)
        ));
    }
    Ok(Reply::new(text))
}
