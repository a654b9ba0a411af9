//! People and channels by name: a member can be written as a user id, `@handle` or an email, a
//! channel as an id or `#name`, and a team's `members` as `"#channel"` (every person in it).
//!
//! Only Slack knows what a name stands for, and the config layer does not talk to Slack: the
//! checker asks a [`Directory`] for each name. Loaded without one ([`NotAsked`], what offline
//! commands do), a name is checked for its form only and kept in [`Config::names`]; whoever
//! can ask Slack (the running bot, `check-config --online`) looks those up and loads the file
//! again with the answers, so an unknown name is a problem with its line, like any other.
//!
//! [`Config::names`]: super::Config::names

use standup_core::domain::{ChannelId, UserId};

/// What a [`Directory`] knows of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    /// Slack has nothing by this name: why, in words for the problem message.
    Missing(String),
    /// Not asked of Slack (offline).
    NotAsked,
}

/// Answers for the names in a config.
pub trait Directory {
    /// A person by `@handle` (with the `@`) or email.
    fn user(&self, name: &str) -> Lookup<UserId>;
    /// A channel by `#name` (with the `#`).
    fn channel(&self, name: &str) -> Lookup<ChannelId>;
    /// The people (not bots, not deactivated) in a channel.
    fn members_of(&self, channel: &ChannelId) -> Lookup<Vec<UserId>>;
}

/// Asks nothing: every name is kept for later (see [`Name`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NotAsked;

impl Directory for NotAsked {
    fn user(&self, _: &str) -> Lookup<UserId> {
        Lookup::NotAsked
    }

    fn channel(&self, _: &str) -> Lookup<ChannelId> {
        Lookup::NotAsked
    }

    fn members_of(&self, _: &ChannelId) -> Lookup<Vec<UserId>> {
        Lookup::NotAsked
    }
}

/// A name in the config that was not looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    /// `@handle` or an email.
    User(String),
    /// `#name`.
    Channel(String),
    /// The members of this channel (an id, or `#name`).
    MembersOf(String),
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::User(name) | Name::Channel(name) => f.write_str(name),
            Name::MembersOf(channel) => write!(f, "the members of {channel}"),
        }
    }
}

/// Whether `text` is written as a person's name rather than an id: `@handle` or an email.
pub fn is_user_name(text: &str) -> bool {
    is_handle(text) || is_email(text)
}

/// `@` then a Slack display name or username (no spaces at either end, no `<>`).
pub fn is_handle(text: &str) -> bool {
    text.strip_prefix('@').is_some_and(|rest| {
        !rest.is_empty()
            && rest.trim() == rest
            && !rest.contains(['<', '>', '@', '\n'])
            && rest.chars().count() <= 80
    })
}

/// `local@domain.tld`, as far as a config needs to tell it from a handle or an id.
pub fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `#` then a Slack channel name: lower-case letters, digits, `-`, `_` (and the letters of other
/// scripts), at most 80 characters.
pub fn is_channel_name(text: &str) -> bool {
    text.strip_prefix('#').is_some_and(|rest| {
        !rest.is_empty()
            && rest.chars().count() <= 80
            && rest.chars().all(|c| {
                c == '-' || c == '_' || c.is_numeric() || (c.is_alphabetic() && !c.is_uppercase())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_told_from_ids_by_their_form() {
        assert!(is_user_name("@maria"));
        assert!(is_user_name("@Maria Garcia"));
        assert!(is_user_name("maria@example.com"));
        assert!(!is_user_name("U0123ABCD"));
        assert!(!is_user_name("@"));
        assert!(!is_user_name("@ maria"));
        assert!(!is_user_name("maria@localhost"));
        assert!(!is_user_name("maria @example.com"));
        assert!(is_channel_name("#team-orbit"));
        assert!(is_channel_name("#équipe_2"));
        assert!(!is_channel_name("#Team"));
        assert!(!is_channel_name("#team orbit"));
        assert!(!is_channel_name("team-orbit"));
        assert!(!is_channel_name("#"));
    }
}
