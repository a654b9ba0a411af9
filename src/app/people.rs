//! Who is who in the workspace: members' Slack profiles (time zone, name, whether deactivated
//! or a bot) and each team's handles for writing `<@U…>` mentions as `@handle`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{App, Result};
use crate::config::{Config, TeamConfig};
use crate::slack::client::UserInfo;
use standup_core::domain::{TeamId, UserId};

/// Teams this big are prompted from one `users.list` rather than a `users.info` per member.
const BIG_TEAM: usize = 100;
/// How long a `users.list` answer is used.
const PROFILES_FRESH: Duration = Duration::from_secs(300);

type Profiles = HashMap<UserId, UserInfo>;

/// A team's Slack user ids → handles, for turning `<@U…>` mentions into `@handle`.
pub(crate) type Names = HashMap<String, String>;

/// The process's memory of people: one `users.list` answer shared by every prompt of a big
/// team.
#[derive(Default)]
pub(crate) struct Directory {
    profiles: tokio::sync::Mutex<Option<(Instant, Profiles)>>,
}

/// Each team's [`Names`], built once per config and shared (a reply of a 2,000-member team
/// does not copy them on its way to the store's thread).
pub(crate) fn names(config: &Config) -> HashMap<TeamId, Arc<Names>> {
    config
        .teams
        .iter()
        .map(|team| {
            let names = team
                .members
                .iter()
                .filter_map(|m| m.handle.clone().map(|h| (m.user.to_string(), h)))
                .collect();
            (team.id.clone(), Arc::new(names))
        })
        .collect()
}

/// What Slack says about a member: `users.info` for a small team; for a big one, the
/// workspace's `users.list` (a few calls for thousands of users, where `users.info` is one
/// call each at 100 a minute), falling back to `users.info` for anyone it lacks.
pub async fn profile(app: &App, team: &TeamConfig, user: &UserId) -> Result<UserInfo> {
    if team.members.len() >= BIG_TEAM {
        let mut cache = app.people.profiles.lock().await;
        if cache
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() > PROFILES_FRESH)
        {
            let list = match app.api.users().await {
                Ok(list) => list.into_iter().collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "users.list failed; asking Slack member by member");
                    Profiles::new()
                }
            };
            *cache = Some((Instant::now(), list));
        }
        if let Some(info) = cache.as_ref().and_then(|(_, all)| all.get(user)) {
            return Ok(info.clone());
        }
    }
    Ok(app.api.user_info(user).await?)
}
