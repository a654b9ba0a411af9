//! The config's Slack names looked up: `@handle`s in `users.list`, emails with
//! `users.lookupByEmail`, `#channel`s in `conversations.list`, a channel's people with
//! `conversations.members` (bots, deactivated accounts and the bot itself left out). Only the
//! calls the names need are made; the file is then checked again with the answers, so a name
//! Slack does not know is a problem with its line, as `check-config` reports every other.

use std::collections::HashMap;
use std::path::Path;

use crate::config::names::{Directory, Lookup, Name, NotAsked};
use crate::config::{Config, SlackTeam};
use crate::error::{Error, Result};
use crate::slack::client::{Api, UserInfo};
use standup_core::domain::{ChannelId, UserId};

/// What Slack said about each name of a config.
#[derive(Debug, Default)]
pub struct SlackNames {
    users: HashMap<String, Lookup<UserId>>,
    channels: HashMap<String, Lookup<ChannelId>>,
    members: HashMap<ChannelId, Lookup<Vec<UserId>>>,
}

impl Directory for SlackNames {
    fn user(&self, name: &str) -> Lookup<UserId> {
        self.users.get(name).cloned().unwrap_or(Lookup::NotAsked)
    }

    fn channel(&self, name: &str) -> Lookup<ChannelId> {
        self.channels.get(name).cloned().unwrap_or(Lookup::NotAsked)
    }

    fn members_of(&self, channel: &ChannelId) -> Lookup<Vec<UserId>> {
        self.members
            .get(channel)
            .cloned()
            .unwrap_or(Lookup::NotAsked)
    }
}

/// The config the bot runs by: `config` (the file, loaded without Slack) with the teams set
/// up from Slack added, and every name looked up (the file and those teams checked again with
/// Slack's answers). A Slack team that does not check out is left out; the returned lines say
/// why. An error is the file's own problems, or Slack failing.
pub async fn assemble(
    api: &Api,
    bot: &UserId,
    mut config: Config,
    slack_teams: Vec<SlackTeam>,
) -> Result<(Config, Vec<String>)> {
    let skipped = config.add_slack_teams(&slack_teams, &NotAsked);
    if config.names.is_empty() {
        return Ok((config, skipped));
    }
    let names = look_up(api, bot, &config.names).await?;
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || -> Result<(Config, Vec<String>)> {
        let mut config = Config::load_with(Path::new(&path), &names)?;
        let skipped = config.add_slack_teams(&slack_teams, &names);
        Ok((config, skipped))
    })
    .await
    .map_err(|e| Error::Usage(format!("looking up the config's names failed: {e}")))?
}

/// Asks Slack about `names`.
pub async fn look_up(api: &Api, bot: &UserId, names: &[Name]) -> Result<SlackNames> {
    let mut out = SlackNames::default();
    let slack = Error::slack;
    // Everyone, once, when a handle or a channel's people are to be found.
    let need_people = names.iter().any(|n| {
        matches!(n, Name::User(u) if u.starts_with('@')) || matches!(n, Name::MembersOf(_))
    });
    let people: Vec<(UserId, UserInfo)> = if need_people {
        api.users().await.map_err(slack)?
    } else {
        Vec::new()
    };
    // Active people (not bots, not deactivated; Slackbot is a bot), looked up once per member
    // of a channel rather than by a scan of everyone.
    let persons: std::collections::HashSet<&UserId> = people
        .iter()
        .filter(|(id, info)| !info.deleted && !info.is_bot && id.as_str() != "USLACKBOT")
        .map(|(id, _)| id)
        .collect();
    let need_channels = names.iter().any(|n| {
        matches!(n, Name::Channel(_)) || matches!(n, Name::MembersOf(c) if c.starts_with('#'))
    });
    let channels: Vec<(String, ChannelId)> = if need_channels {
        api.channels().await.map_err(slack)?
    } else {
        Vec::new()
    };
    let channel_id = |written: &str| -> Lookup<ChannelId> {
        let Some(name) = written.strip_prefix('#') else {
            return Lookup::Found(ChannelId::new(written));
        };
        match channels.iter().find(|(n, _)| n == name) {
            Some((_, id)) => Lookup::Found(id.clone()),
            None => Lookup::Missing(
                "no channel has this name (or it is private and the bot is not in it, or archived)"
                    .into(),
            ),
        }
    };
    for name in names {
        match name {
            Name::User(handle) if handle.starts_with('@') => {
                out.users.insert(handle.clone(), by_handle(&people, handle));
            }
            Name::User(email) => {
                let found = match api.user_by_email(email).await.map_err(slack)? {
                    Some((_, info)) if info.deleted => {
                        Lookup::Missing("this person's account is deactivated".into())
                    }
                    Some((_, info)) if info.is_bot => Lookup::Missing("this is a bot".into()),
                    Some((id, _)) => Lookup::Found(id),
                    None => Lookup::Missing("nobody in the workspace has this email".into()),
                };
                out.users.insert(email.clone(), found);
            }
            Name::Channel(channel) => {
                out.channels.insert(channel.clone(), channel_id(channel));
            }
            Name::MembersOf(channel) => {
                let Lookup::Found(id) = channel_id(channel) else {
                    continue;
                };
                let found = match api.channel_members(&id).await {
                    Ok(users) => Lookup::Found(
                        users
                            .into_iter()
                            .filter(|u| u != bot && persons.contains(u))
                            .collect(),
                    ),
                    Err(e) if e.code() == Some("channel_not_found") => Lookup::Missing(
                        "no such channel (or it is private and the bot is not in it)".into(),
                    ),
                    Err(e) => return Err(slack(e)),
                };
                out.members.insert(id, found);
            }
        }
    }
    Ok(out)
}

/// The one active person whose display name or user name is `@handle` (case aside).
fn by_handle(people: &[(UserId, UserInfo)], handle: &str) -> Lookup<UserId> {
    let wanted = handle.trim_start_matches('@').to_lowercase();
    let matches: Vec<&(UserId, UserInfo)> = people
        .iter()
        .filter(|(_, info)| !info.deleted && !info.is_bot)
        .filter(|(_, info)| info.handles.iter().any(|h| h.to_lowercase() == wanted))
        .collect();
    match matches.as_slice() {
        [(id, _)] => Lookup::Found(id.clone()),
        [] => Lookup::Missing("nobody in the workspace goes by this name".into()),
        many => Lookup::Missing(format!(
            "{} people go by this name ({}): write their email or member id",
            many.len(),
            many.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
