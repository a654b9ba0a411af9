//! Setting up for any command: the config with its teams' templates compiled, the store opened
//! and brought in line with the config, and how a configured team maps to what is stored.

use std::path::Path;

use standup_core::render::{Renderer, TemplateRef};

use crate::config::{Config, TeamConfig};
use crate::error::{Error, Result};
use crate::store::{MemberRecord, Store, TeamRecord};

/// Loads the config and compiles every team's template, so a broken template stops start-up.
pub fn load(path: Option<&Path>) -> Result<(Config, Renderer)> {
    let path = path.map_or_else(crate::config::default_path, Path::to_path_buf);
    if !path.exists() && path == Path::new(crate::config::EXAMPLE_PATH) {
        // Neither default exists: say so, rather than only that the example is missing.
        let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
        return Err(crate::config::ConfigError::NoFile { dir }.into());
    }
    let config = Config::load(&path)?;
    let mut renderer = Renderer::new();
    for team in &config.teams {
        if let Some(template) = &team.template {
            let source = std::fs::read_to_string(template).map_err(|source| Error::Io {
                path: template.clone(),
                source,
            })?;
            let name = template.display().to_string();
            renderer.add_template(&name, source)?;
        }
    }
    Ok((config, renderer))
}

/// The template a team renders with.
pub fn template_of(team: &TeamConfig) -> TemplateRef {
    match &team.template {
        Some(path) => TemplateRef::Custom(path.display().to_string()),
        None => TemplateRef::Builtin(team.format),
    }
}

/// The team's stored form, as configured.
pub fn team_record(team: &TeamConfig) -> TeamRecord {
    TeamRecord {
        id: team.id.clone(),
        name: team.name.clone(),
        format: team.format,
        channel: team.channel.clone(),
        members: team
            .members
            .iter()
            .map(|m| MemberRecord {
                user: Some(m.user.clone()),
                handle: m.handle.clone().unwrap_or_else(|| m.user.to_string()),
            })
            .collect(),
    }
}

/// Opens the database and makes its teams match the config.
pub fn open_store(config: &Config) -> Result<Store> {
    let mut store = open_store_as_is(config)?;
    sync_teams(&mut store, &config.teams)?;
    Ok(store)
}

/// Opens the database for a command that only reads it: as [`open_store`] does, or, when the
/// file cannot be written (a read-only file or mount), read as it is, its teams as the bot last
/// left them.
pub fn open_store_to_read(config: &Config) -> Result<Store> {
    let path = &config.database.path;
    if config.database.url.is_some() || Store::writable(path) {
        open_store(config)
    } else {
        tracing::debug!(path = %path.display(), "the database is read-only: reading it as it is");
        Ok(Store::open_read_only(path)?)
    }
}

/// Opens the database, its teams as they were (the running bot adds the teams set up from
/// Slack before it syncs them).
pub fn open_store_as_is(config: &Config) -> Result<Store> {
    let mut store = Store::open_configured(&config.database)?;
    if let Some(mb) = config
        .database
        .max_size_mb
        .filter(|_| config.database.url.is_none())
    {
        store.cap_size(mb)?;
    }
    Ok(store)
}

/// Makes the store's teams and members match `teams` (at start, and at each reload).
pub fn sync_teams(store: &mut Store, teams: &[TeamConfig]) -> crate::store::Result<()> {
    // A team whose names were not looked up (an offline command) stays as the bot last had it.
    for team in teams.iter().filter(|t| !t.names_pending) {
        if team.onboarding {
            // Before the sync, which makes them known: members new to the config are due for
            // the bot's introduction (see `app::onboarding`).
            let users: Vec<_> = team.members.iter().map(|m| m.user.clone()).collect();
            store.note_added_members(&team.id, &users)?;
        }
        store.sync_team(&team_record(team))?;
    }
    Ok(())
}
