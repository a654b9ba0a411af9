//! Changes without a restart: a new config, already checked, applied to the running bot at
//! once. The store's teams and members are brought in line first (so a member added is known,
//! and due for the bot's introduction, before anything is sent to them; among replicas only by
//! the leader, see [`App::keeps_teams`]), then the config is swapped and the scheduler woken:
//! a new schedule or member is planned by in its next round.
//! Jobs already recorded stay recorded, so nothing done is done again.
//!
//! The database, the Slack API address and the archive are what the bot was started with; a
//! change to them is reported as waiting for the next start.

use standup_core::render::Renderer;

use super::{App, Result};
use crate::config::{Config, TeamConfig};

/// What a reload did: what changed, and the teams set up from Slack it left out (and why).
#[derive(Debug, Default)]
pub struct Reloaded {
    pub changes: Vec<String>,
    pub skipped: Vec<String>,
}

/// Loads the config file again, adds the teams set up from Slack, looks the names up and
/// applies the result, saying in the log what it did and `why` it was done; members new to a
/// team are introduced. An error (the file's problems, Slack or the store failing) is logged
/// line by line and leaves the bot running by the config it has.
pub async fn from_file(app: &App, why: &str) -> crate::error::Result<Reloaded> {
    let outcome = load_and_apply(app).await;
    match &outcome {
        Ok(reloaded) => {
            for line in &reloaded.skipped {
                tracing::warn!("{line}");
            }
            if reloaded.changes.is_empty() {
                tracing::info!("config reloaded ({why}): nothing the bot runs by changed");
            } else {
                tracing::info!("config reloaded ({why}): {}", reloaded.changes.join(" | "));
                if app.keeps_teams()
                    && let Err(e) = super::onboarding::introduce_due(app).await
                {
                    tracing::warn!(error = %e, "introductions after the reload left for the next start");
                }
            }
        }
        Err(e) => {
            for line in e.to_string().lines() {
                tracing::warn!(
                    "config not reloaded ({why}), still running by the last good one: {line}"
                );
            }
        }
    }
    outcome
}

async fn load_and_apply(app: &App) -> crate::error::Result<Reloaded> {
    use crate::error::Error;
    let path = app.config().path.clone();
    let (config, renderer) = tokio::task::spawn_blocking(move || super::setup::load(Some(&path)))
        .await
        .map_err(|e| Error::Usage(format!("the reload task failed: {e}")))??;
    let made_up = config.made_up_ids();
    if !made_up.is_empty() {
        return Err(Error::Usage(format!(
            "it uses the example config's made-up ids ({}): put your workspace's ids in it",
            made_up.join(", ")
        )));
    }
    let slack_teams = app.read(|s| s.slack_teams()).await?;
    let (config, skipped) =
        super::names::assemble(app.api(), app.bot_user(), config, slack_teams).await?;
    let changes = apply(app, config, renderer)
        .await
        .map_err(|e| Error::Usage(format!("the store could not take it: {e}")))?;
    Ok(Reloaded { changes, skipped })
}

/// Applies `new` (its teams' templates compiled into `renderer`); returns what changed, one line
/// each, for the log.
pub async fn apply(app: &App, mut new: Config, renderer: Renderer) -> Result<Vec<String>> {
    let old = app.config();
    let mut changes = Vec::new();
    if new.database != old.database {
        changes.push("[database] changed: applies at the next start".to_string());
    }
    if new.slack != old.slack {
        changes.push("[slack] changed: applies at the next start".to_string());
    }
    if new.archive != old.archive {
        changes.push("[archive] changed: applies at the next start".to_string());
    }
    new.database = old.database.clone();
    new.slack = old.slack.clone();
    new.archive = old.archive.clone();
    changes.extend(team_changes(&old.teams, &new.teams));

    if app.keeps_teams() {
        let teams = new.teams.clone();
        app.write(move |s| super::setup::sync_teams(s, &teams))
            .await?;
    } else {
        tracing::info!("not leading: the teams in the database are left to the leader");
    }
    app.replace_config(new, renderer);
    app.wake_scheduler();
    Ok(changes)
}

/// What differs between two lists of teams, a line per team that changed.
fn team_changes(old: &[TeamConfig], new: &[TeamConfig]) -> Vec<String> {
    let mut lines = Vec::new();
    for team in new {
        let Some(was) = old.iter().find(|t| t.id == team.id) else {
            lines.push(format!(
                "team {}: added ({} members)",
                team.id,
                team.members.len()
            ));
            continue;
        };
        let mut what = Vec::new();
        let added: Vec<&str> = team
            .members
            .iter()
            .filter(|m| was.member(&m.user).is_none())
            .map(|m| m.user.as_str())
            .collect();
        let removed: Vec<&str> = was
            .members
            .iter()
            .filter(|m| team.member(&m.user).is_none())
            .map(|m| m.user.as_str())
            .collect();
        if !added.is_empty() {
            what.push(format!("members added: {}", added.join(", ")));
        }
        if !removed.is_empty() {
            what.push(format!("members removed: {}", removed.join(", ")));
        }
        let keys = [
            ("channel", team.channel != was.channel),
            ("prompt", team.prompt != was.prompt),
            ("sync", team.sync != was.sync),
            ("timezone", team.timezone != was.timezone),
            ("post_before", team.post_before != was.post_before),
            ("remind_after", team.remind_after != was.remind_after),
            (
                "format",
                team.format != was.format || team.template != was.template,
            ),
        ];
        let changed: Vec<&str> = keys.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
        if !changed.is_empty() {
            what.push(format!("changed: {}", changed.join(", ")));
        }
        let mut rest_old = was.clone();
        let mut rest_new = team.clone();
        for t in [&mut rest_old, &mut rest_new] {
            t.members
                .sort_by(|a, b| a.user.as_str().cmp(b.user.as_str()));
        }
        rest_new.members = rest_old.members.clone();
        (rest_new.channel, rest_new.prompt, rest_new.sync) = (
            rest_old.channel.clone(),
            rest_old.prompt.clone(),
            rest_old.sync.clone(),
        );
        (
            rest_new.timezone,
            rest_new.post_before,
            rest_new.remind_after,
        ) = (
            rest_old.timezone,
            rest_old.post_before,
            rest_old.remind_after,
        );
        (rest_new.format, rest_new.template) = (rest_old.format, rest_old.template.clone());
        if rest_new != rest_old {
            what.push("other settings changed".to_string());
        }
        if !what.is_empty() {
            lines.push(format!("team {}: {}", team.id, what.join("; ")));
        }
    }
    for team in old.iter().filter(|t| !new.iter().any(|n| n.id == t.id)) {
        lines.push(format!(
            "team {}: removed (its stored meetings stay)",
            team.id
        ));
    }
    lines
}
