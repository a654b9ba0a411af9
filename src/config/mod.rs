//! Typed configuration: the TOML file that describes the teams, and the Slack secrets, which come
//! only from the environment.
//!
//! Loading checks the whole file before the bot starts. Every problem is collected, not just the
//! first, and each names the file, the line, the key and how to fix it:
//!
//! ```text
//! config/standup.toml:12: team "orbit".promt: unknown key `promt` (did you mean `prompt`?) — remove it or correct its spelling; keys allowed here: ...
//! ```
//!
//! Keys are written as a path into the file: `slack.api_url`, `team "orbit".members[2].user`.
//! A team is named by its id when it has a valid, unique one, by position otherwise
//! (`team[2]`); positions count from 1, as a person reading the file would.
//!
//! The file is read by serde into the shapes of `raw`, which keep each value's place in the
//! file and let a value of the wrong type through as a problem to report; `validate` turns
//! them into the types below. Problem messages never repeat a value that looks like a secret.

pub mod names;
mod raw;
mod secrets;
mod suggest;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

pub use self::secrets::{Secret, Secrets, database_url_from_env};
pub(crate) use self::validate::database_url_problem;
use standup_core::calendar::{QuietHours, TimeOff};
use standup_core::domain::{ChannelId, Format, TeamId, UserId};
use standup_core::schedule::Schedule;

/// The config file used when none is given and it exists.
pub const DEFAULT_PATH: &str = "config/standup.toml";
/// The config file used when [`DEFAULT_PATH`] does not exist.
pub const EXAMPLE_PATH: &str = "config/standup.example.toml";
/// `database.path` when the file does not set it.
pub const DEFAULT_DATABASE_PATH: &str = "data/standup.db";
/// `slack.api_url` when the file does not set it.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";
/// A team's `stats_cycles` when the file does not set it: about two months of weekly meetings.
pub const DEFAULT_STATS_CYCLES: usize = 8;

/// The config path to use when none is given: [`DEFAULT_PATH`] if it exists, else the example.
pub fn default_path() -> PathBuf {
    let own = Path::new(DEFAULT_PATH);
    if own.exists() {
        own.to_path_buf()
    } else {
        PathBuf::from(EXAMPLE_PATH)
    }
}

/// The example config's text: its ids are made up, and [`Config::made_up_ids`] finds them.
const EXAMPLE_TEXT: &str = include_str!("../../config/standup.example.toml");

/// The whole configuration, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was loaded from (for messages, and to find templates next to it).
    pub path: PathBuf,
    pub database: DatabaseConfig,
    pub slack: SlackConfig,
    pub archive: ArchiveConfig,
    pub teams: Vec<TeamConfig>,
    /// The Slack names (`@handle`, email, `#channel`, a channel's members) the file was not
    /// checked against Slack for, each once in the order written; empty when loaded with a
    /// [`names::Directory`] that knew them all (see [`Config::load_with`]).
    pub names: Vec<names::Name>,
}

impl Config {
    /// The Slack ids in this config (team channels, members, admins, leads) that are the
    /// example config's made-up ones, in order, each once: a config still holding any of them
    /// was never set up for a real workspace.
    pub fn made_up_ids(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for team in &self.teams {
            let ids = std::iter::once(team.channel.0.as_str())
                .chain(team.members.iter().map(|m| m.user.0.as_str()))
                .chain(team.admins.iter().map(|a| a.0.as_str()))
                .chain(team.threads.leads.iter().map(|l| l.0.as_str()));
            // Names (`#team-orbit`, `@maria`) are ones a real workspace may well have: only
            // the example's ids are made up.
            let ids = ids.filter(|id| !names::is_user_name(id) && !names::is_channel_name(id));
            for id in ids {
                if EXAMPLE_TEXT.contains(&format!("\"{id}\"")) && !found.iter().any(|f| f == id) {
                    found.push(id.to_string());
                }
            }
        }
        found
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// The SQLite file; a relative path is relative to the current directory.
    pub path: PathBuf,
    /// A cap on the file's size in MiB; writes beyond it fail like on a full disk.
    pub max_size_mb: Option<u64>,
    /// A PostgreSQL database instead of the file (`url`, or `STANDUP_DATABASE_URL`, which wins):
    /// a secret, since it may hold a password.
    pub url: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    /// The Web API base URL, without a trailing slash (the client appends `/{method}`).
    pub api_url: String,
}

/// `[archive]`: where posted notes are kept as files, and whether they are committed to git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// The archive folder, resolved against the config file's directory; `None`: no archive.
    pub dir: Option<PathBuf>,
    /// Commit each change to the git repository the folder is in (made one if it is not).
    pub git: bool,
}

/// One `[[team]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamConfig {
    pub id: TeamId,
    pub name: String,
    pub channel: ChannelId,
    /// The section vocabulary and layout: the built-in format, or what a custom template builds
    /// on (`base_format`).
    pub format: Format,
    /// The custom template, resolved against the config file's directory; `None` for a built-in
    /// format.
    pub template: Option<PathBuf>,
    /// The document title, with `{date}` and `{name}` placeholders; see [`TeamConfig::title_for`].
    pub title: String,
    pub timezone: Tz,
    /// Prompt each member at the prompt time on their own clock rather than the team's.
    pub per_member_timezone: bool,
    pub prompt: Schedule,
    pub sync: Schedule,
    pub post_before: Duration,
    pub remind_after: Duration,
    pub admins: Vec<UserId>,
    /// The prompt lists what each member planned last cycle and carries it with one click.
    pub follow_through: bool,
    /// The document gets a "Planned vs done" section (off by default: imported notes then
    /// compile back byte for byte).
    pub planned_vs_done: bool,
    pub members: Vec<MemberConfig>,
    /// `members = "#channel"`: the team is whoever is in this channel (kept in sync as people
    /// join and leave it); its `members` are who was in it when the config was loaded.
    pub members_from: Option<ChannelId>,
    /// Where the team is set up: the config file, or Slack (`/standup setup`).
    pub source: Source,
    /// Some of the team's names were not looked up (see [`Config::names`]): its channel or
    /// people stand in as written, and nothing is sent or stored by them.
    pub names_pending: bool,
    /// Working days, holidays, out-of-office status emoji and default quiet hours.
    pub timeoff: TimeOff,
    /// Show the team on its members' App Home tab (see `app::home`).
    pub home: bool,
    /// Introduce the bot by DM to each member once (see `app::onboarding`).
    pub onboarding: bool,
    /// Where updates and blocker flags go in the channel, and when blockers are escalated.
    pub threads: Threads,
    /// How many recent cycles `/standup stats` (and the document's section) look at.
    pub stats_cycles: usize,
    /// Add a `Participation` section to the team's document.
    pub stats_in_document: bool,
}

/// Where a team is set up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// A `[[team]]` of the config file.
    #[default]
    File,
    /// `/standup setup`, stored in the database.
    Slack { by: UserId, at: DateTime<Utc> },
}

/// A team set up from Slack as the database keeps it: a `[[team]]` table in TOML, checked as
/// the file's teams are (see [`Config::add_slack_teams`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackTeam {
    pub id: TeamId,
    pub toml: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// Where a team's updates are posted in its channel (`updates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdatesTo {
    /// Only the compiled notes are posted (the default).
    #[default]
    Document,
    /// Each update goes into one thread per cycle as it arrives.
    Thread,
}

/// Where a team's blocker flags are posted (`blocker_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlagsTo {
    /// A top-level message in the channel (the default).
    #[default]
    Channel,
    /// A reply in the cycle's thread.
    Thread,
}

/// The team keys of less channel noise and the blocker lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Threads {
    pub updates: UpdatesTo,
    pub blocker_flags: FlagsTo,
    /// Open blockers older than this are escalated to the leads; `None`: never.
    pub escalate_after: Option<Duration>,
    /// Who an escalation mentions besides the blocked member.
    pub leads: Vec<UserId>,
    /// List the blockers resolved since the previous meeting in the document.
    pub resolved_blockers: bool,
}

impl Threads {
    /// Whether anything goes into the cycle's thread.
    pub fn uses_thread(&self) -> bool {
        self.updates == UpdatesTo::Thread || self.blocker_flags != FlagsTo::Channel
    }
}

impl TeamConfig {
    /// When the notes of the meeting at `sync` are posted (`post_before` earlier).
    pub fn post_time(&self, sync: DateTime<Utc>) -> DateTime<Utc> {
        sync - chrono::Duration::from_std(self.post_before).unwrap_or_default()
    }

    /// When the reminder of the prompt that fired at `fired` is due (`remind_after` later).
    pub fn remind_time(&self, fired: DateTime<Utc>) -> DateTime<Utc> {
        fired + chrono::Duration::from_std(self.remind_after).unwrap_or_default()
    }

    /// The title of the meeting on `date`: `{date}` becomes `YYYY-MM-DD`, `{name}` the team name.
    pub fn title_for(&self, date: NaiveDate) -> String {
        // One pass, so a team name containing "{date}" is not itself expanded.
        let mut out = String::with_capacity(self.title.len() + 16);
        let mut rest = self.title.as_str();
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("{date}") {
                out.push_str(&date.format("%Y-%m-%d").to_string());
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{name}") {
                out.push_str(&self.name);
                rest = after;
            } else {
                out.push('{');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// The member with this Slack user id.
    pub fn member(&self, user: &UserId) -> Option<&MemberConfig> {
        self.members.iter().find(|m| &m.user == user)
    }

    pub fn is_admin(&self, user: &UserId) -> bool {
        self.admins.contains(user)
    }
}

/// One entry of a team's `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    pub user: UserId,
    /// The handle the documents use (`maria` for `@maria`), without the `@`; `None` to take it
    /// from Slack.
    pub handle: Option<String>,
    /// This member's quiet hours, over the team's default.
    pub quiet_hours: Option<QuietHours>,
}

impl Config {
    /// Reads and checks the config file at `path`; Slack names are checked for their form only
    /// and listed in [`Config::names`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, &names::NotAsked)
    }

    /// Reads and checks the config file at `path`, each Slack name looked up in `directory`.
    pub fn load_with(path: &Path, directory: &dyn names::Directory) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::from_str_with(&text, path, directory)?;
        if let Some(url) = secrets::database_url_from_env()? {
            config.database.url = Some(url);
        }
        Ok(config)
    }

    /// Checks config `text` as if read from `path`: `path` names the file in messages, and
    /// custom template paths are resolved against its directory (and read, to check them).
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::from_str_with(text, path, &names::NotAsked)
    }

    /// [`Config::from_str`], each Slack name looked up in `directory`.
    pub fn from_str_with(
        text: &str,
        path: &Path,
        directory: &dyn names::Directory,
    ) -> Result<Config, ConfigError> {
        let document = toml::de::DeTable::parse(text).map_err(|e| syntax_error(path, text, &e))?;
        // Wrong types are kept as problems by the raw shapes, so this fails only on what the
        // parser itself would reject.
        let raw =
            raw::Section::<raw::RawConfig>::deserialize(toml::de::Deserializer::from(document))
                .map_err(|e| syntax_error(path, text, &e))?;
        let mut check = validate::Checker::new(path, text, directory);
        match check.config(path, &raw) {
            Some(config) => Ok(config),
            None => Err(ConfigError::Invalid(check.problems)),
        }
    }

    pub fn team(&self, id: &TeamId) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| &t.id == id)
    }

    /// Adds the teams set up from Slack, after the file's, each checked as a config of its own
    /// with its names looked up in `directory`. One that does not check out, or whose id the
    /// file already has, is left out: its problems are returned, one line each.
    pub fn add_slack_teams(
        &mut self,
        stored: &[SlackTeam],
        directory: &dyn names::Directory,
    ) -> Vec<String> {
        let mut skipped = Vec::new();
        for team in stored {
            if self.team(&team.id).is_some() {
                skipped.push(format!(
                    "team {} set up from Slack is left out: {} has a team with that id, and the file wins",
                    team.id,
                    self.path.display()
                ));
                continue;
            }
            let label = format!("team {} set up from Slack", team.id);
            match Config::from_str_with(&team.toml, Path::new(&label), directory) {
                Ok(checked) => {
                    for name in checked.names {
                        if !self.names.contains(&name) {
                            self.names.push(name);
                        }
                    }
                    for mut t in checked.teams {
                        t.source = Source::Slack {
                            by: team.by.clone(),
                            at: team.at,
                        };
                        self.teams.push(t);
                    }
                }
                Err(e) => skipped.extend(e.to_string().lines().map(|l| format!("left out: {l}"))),
            }
        }
        skipped
    }

    /// Teams `user` is a member of, in config order.
    pub fn teams_of(&self, user: &UserId) -> Vec<&TeamConfig> {
        self.teams
            .iter()
            .filter(|t| t.member(user).is_some())
            .collect()
    }
}

/// One team of a shared config, kept alive by it: what the running bot hands out, so a reload
/// that replaces the config does not pull a team from under a use case that is working on it.
#[derive(Debug, Clone)]
pub struct Team {
    config: std::sync::Arc<Config>,
    index: usize,
}

impl Team {
    /// `config`'s team with this id.
    pub fn of(config: &std::sync::Arc<Config>, id: &TeamId) -> Option<Team> {
        let index = config.teams.iter().position(|t| &t.id == id)?;
        Some(Team {
            config: config.clone(),
            index,
        })
    }
}

impl std::ops::Deref for Team {
    type Target = TeamConfig;

    fn deref(&self) -> &TeamConfig {
        &self.config.teams[self.index]
    }
}

/// Why the configuration (or the secrets) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no config file: neither {DEFAULT_PATH} nor {EXAMPLE_PATH} is in {}; copy {EXAMPLE_PATH} from the release to {DEFAULT_PATH} and edit it, or pass --config PATH (or try `standup-bot demo`, which needs none)",
        dir.display()
    )]
    NoFile { dir: PathBuf },
    #[error("{}: cannot read the config file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: TOML syntax error: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file parsed but says something wrong; one entry per problem, all of them.
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The individual problems of an [`ConfigError::Invalid`]; empty for the other kinds.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => problems,
            _ => &[],
        }
    }
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The config file, or `environment` for secrets.
    pub file: String,
    /// The line in the file the problem is on (counting from 1); `None` for secrets and for
    /// what is missing from the file as a whole.
    pub line: Option<usize>,
    /// Where in the file: `team "orbit".members[2].user`; an environment variable for secrets.
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{}: {} — {}", self.key, self.message, self.fix)
    }
}

fn syntax_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    ConfigError::Syntax {
        file: path.to_path_buf(),
        line,
        column,
        message: error.message().trim().to_string(),
    }
}
