//! Typed configuration: the TOML file that describes the teams, and the Slack secrets, which come
//! only from the environment.
//!
//! Loading checks the whole file before the bot starts. Every problem is collected, not just the
//! first, and each names the file, the key and how to fix it:
//!
//! ```text
//! config/standup.toml: team "orbit".promt: unknown key `promt` (did you mean `prompt`?) — remove it or correct its spelling; keys allowed here: ...
//! ```
//!
//! Keys are written as a path into the file: `slack.api_url`, `team "orbit".members[2].user`.
//! A team is named by its id when it has a valid, unique one, by position otherwise
//! (`team[2]`); positions count from 1, as a person reading the file would.
//!
//! Values are parsed into their real types here (cron expressions, time zones, channel ids,
//! template paths), so the rest of the bot never sees a string it has to re-check. Problem
//! messages never repeat a value that looks like a secret.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use toml::{Table, Value};

use standup_core::calendar::{QuietHours, TimeOff};
use standup_core::domain::{ChannelId, Format, TeamId, UserId};
use standup_core::schedule::{Schedule, parse_duration};

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
/// The most cycles `stats_cycles` may ask for (two years of weekly meetings).
const MAX_STATS_CYCLES: i64 = 104;

/// Longest `post_before` allowed: a team's cycles can be a week apart, so posting a week or more
/// early would post into the previous cycle.
const MAX_POST_BEFORE: Duration = Duration::from_secs(7 * 24 * 3600);

const CRON_FIX: &str = "write crontab: minute hour day-of-month month day-of-week (or 6 fields \
                        with seconds first), e.g. \"0 9 * * Mon-Fri\" for 09:00 on weekdays";
const DURATION_FIX: &str = "write a number with a unit: 30s, 30m, 2h, 1h30m or 1d";

const ROOT_KEYS: &[&str] = &["database", "slack", "archive", "team"];
const ARCHIVE_KEYS: &[&str] = &["dir", "git"];
const DATABASE_KEYS: &[&str] = &["path", "max_size_mb"];
const SLACK_KEYS: &[&str] = &["api_url"];
const TEAM_KEYS: &[&str] = &[
    "id",
    "name",
    "channel",
    "format",
    "base_format",
    "title",
    "timezone",
    "per_member_timezone",
    "prompt",
    "sync",
    "post_before",
    "remind_after",
    "admins",
    "follow_through",
    "planned_vs_done",
    "members",
    "working_days",
    "holidays",
    "holidays_file",
    "ooo_emoji",
    "quiet_hours",
    "home",
    "onboarding",
    "updates",
    "blocker_flags",
    "escalate_after",
    "leads",
    "resolved_blockers",
    "stats_cycles",
    "stats_in_document",
];
const MEMBER_KEYS: &[&str] = &["user", "handle", "quiet_hours"];

/// The config path to use when none is given: [`DEFAULT_PATH`] if it exists, else the example.
pub fn default_path() -> PathBuf {
    let own = Path::new(DEFAULT_PATH);
    if own.exists() {
        own.to_path_buf()
    } else {
        PathBuf::from(EXAMPLE_PATH)
    }
}

/// The whole configuration, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was loaded from (for messages, and to find templates next to it).
    pub path: PathBuf,
    pub database: DatabaseConfig,
    pub slack: SlackConfig,
    pub archive: ArchiveConfig,
    pub teams: Vec<TeamConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// The SQLite file; a relative path is relative to the current directory.
    pub path: PathBuf,
    /// A cap on the file's size in MiB; writes beyond it fail like on a full disk.
    pub max_size_mb: Option<u64>,
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
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::from_str(&text, path)
    }

    /// Checks config `text` as if read from `path`: `path` names the file in messages, and
    /// custom template paths are resolved against its directory (and read, to check them).
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let root: Table = text.parse().map_err(|e| syntax_error(path, text, &e))?;
        let mut check = Checker::new(path);
        check.keys(&root, "", ROOT_KEYS);
        let database = check.database(root.get("database"));
        let slack = check.slack(root.get("slack"));
        let archive = check.archive(root.get("archive"));
        let teams = check.teams(root.get("team"));
        match (database, slack, archive) {
            (Ok(database), Ok(slack), Ok(archive)) if check.problems.is_empty() => Ok(Config {
                path: path.to_path_buf(),
                database,
                slack,
                archive,
                teams,
            }),
            _ => Err(ConfigError::Invalid(check.problems)),
        }
    }

    pub fn team(&self, id: &TeamId) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| &t.id == id)
    }
}

/// Why the configuration (or the secrets) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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
    /// Where in the file: `team "orbit".members[2].user`; an environment variable for secrets.
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} — {}",
            self.file, self.key, self.message, self.fix
        )
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

/// Marks a value as unusable because a problem about it has been recorded. Checking carries on
/// with the other keys, so one load reports everything.
struct Reported;

type Checked<T> = Result<T, Reported>;

/// Walks the parsed TOML, building typed values and collecting problems.
struct Checker {
    file: String,
    /// Where relative template paths start.
    dir: PathBuf,
    problems: Vec<Problem>,
}

impl Checker {
    fn new(path: &Path) -> Checker {
        Checker {
            file: path.display().to_string(),
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            problems: Vec::new(),
        }
    }

    /// Records a problem; returns [`Reported`] so callers can `return Err(self.report(..))`.
    fn report(
        &mut self,
        key: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Reported {
        self.problems.push(Problem {
            file: self.file.clone(),
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
        Reported
    }

    /// Reports every key of `table` not in `known`; keys that look like secrets get their own
    /// message. Values are never quoted here.
    fn keys(&mut self, table: &Table, path: &str, known: &[&str]) {
        for key in table.keys().filter(|k| !known.contains(&k.as_str())) {
            let at = join(path, key);
            if let Some(var) = secret_variable(key) {
                self.report(
                    &at,
                    "secrets are read from the environment, never from the config file",
                    format!("remove this key and set {var} (or {var}_FILE) in the environment"),
                );
            } else if looks_secret(key) {
                self.report(
                    &at,
                    "this looks like a secret; secrets are read from the environment \
                     (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET)",
                    "remove this key",
                );
            } else {
                let hint = suggest(key, known.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.report(
                    &at,
                    format!("unknown key `{key}`{hint}"),
                    format!(
                        "remove it or correct its spelling; keys allowed here: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// The value at `key`, `None` when absent; a value of the wrong type is reported.
    fn get<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
        want: Kind,
    ) -> Checked<Option<&'t Value>> {
        match table.get(key) {
            None => Ok(None),
            Some(value) if (want.is)(value) => Ok(Some(value)),
            Some(value) => Err(self.report(
                &join(path, key),
                format!("expected {}, found {}", want.name, describe(value)),
                format!("write it as {}", want.example),
            )),
        }
    }

    /// Like [`Checker::get`], and reports the key as missing when it is not there.
    fn require<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
        want: Kind,
    ) -> Checked<&'t Value> {
        match self.get(table, path, key, want)? {
            Some(value) => Ok(value),
            None => Err(self.report(
                &join(path, key),
                format!("missing key `{key}`"),
                format!("add `{key} = {}`", want.example),
            )),
        }
    }

    fn string<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Checked<Option<&'t str>> {
        Ok(self.get(table, path, key, STRING)?.and_then(Value::as_str))
    }

    /// A required string; `example` is offered as the fix when it is missing.
    fn required_string<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
        example: &'static str,
    ) -> Checked<&'t str> {
        let want = Kind { example, ..STRING };
        let value = self.require(table, path, key, want)?;
        Ok(value.as_str().unwrap_or_default())
    }

    /// A value that must be a table if present.
    fn section<'t>(&mut self, value: Option<&'t Value>, name: &str) -> Checked<Option<&'t Table>> {
        match value {
            None => Ok(None),
            Some(Value::Table(table)) => Ok(Some(table)),
            Some(other) => Err(self.report(
                name,
                format!("expected a table, found {}", describe(other)),
                format!("write it as a [{name}] section"),
            )),
        }
    }

    fn database(&mut self, value: Option<&Value>) -> Checked<DatabaseConfig> {
        let (path, max_size_mb) = match self.section(value, "database")? {
            None => (None, None),
            Some(table) => {
                self.keys(table, "database", DATABASE_KEYS);
                let path = self.string(table, "database", "path");
                let max = self
                    .get(table, "database", "max_size_mb", INTEGER)?
                    .and_then(Value::as_integer);
                (path?, max)
            }
        };
        let max_size_mb = match max_size_mb {
            Some(mb) if mb < 1 => {
                return Err(self.report(
                    "database.max_size_mb",
                    "the size cap must be at least 1 MiB",
                    "remove the key for no cap, or write e.g. max_size_mb = 512",
                ));
            }
            other => other.map(|mb| mb as u64),
        };
        let path = match path {
            None => DEFAULT_DATABASE_PATH,
            Some(p) if p.trim().is_empty() => {
                return Err(self.report(
                    "database.path",
                    "the database path is empty",
                    format!("remove the key to use \"{DEFAULT_DATABASE_PATH}\", or name a file"),
                ));
            }
            Some(p) => p,
        };
        Ok(DatabaseConfig {
            path: PathBuf::from(path),
            max_size_mb,
        })
    }

    fn slack(&mut self, value: Option<&Value>) -> Checked<SlackConfig> {
        let url = match self.section(value, "slack")? {
            None => None,
            Some(table) => {
                self.keys(table, "slack", SLACK_KEYS);
                self.string(table, "slack", "api_url")?
            }
        };
        let url = url.map_or(DEFAULT_API_URL, str::trim);
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|host| host.trim_matches('/').is_empty()) {
            return Err(self.report(
                "slack.api_url",
                format!("{} is not an http(s) URL", shown(url)),
                format!(
                    "use \"{DEFAULT_API_URL}\", or e.g. \"http://127.0.0.1:8080/api\" for a \
                     local Slack emulator"
                ),
            ));
        }
        Ok(SlackConfig {
            api_url: url.trim_end_matches('/').to_string(),
        })
    }

    fn archive(&mut self, value: Option<&Value>) -> Checked<ArchiveConfig> {
        let Some(table) = self.section(value, "archive")? else {
            return Ok(ArchiveConfig::default());
        };
        self.keys(table, "archive", ARCHIVE_KEYS);
        let dir = self.string(table, "archive", "dir");
        let git = self
            .get(table, "archive", "git", BOOL)?
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let dir = match dir? {
            Some(d) if d.trim().is_empty() => {
                return Err(self.report(
                    "archive.dir",
                    "the archive folder is empty",
                    "remove the key for no archive, or name a folder, e.g. dir = \"notes\"",
                ));
            }
            // Relative to the config file, like templates: the archive sits beside the config.
            Some(d) => Some(self.dir.join(d.trim())),
            None => None,
        };
        if git && dir.is_none() {
            return Err(self.report(
                "archive.git",
                "git = true needs a folder to commit in",
                "add dir = \"notes\" to [archive], or remove git",
            ));
        }
        Ok(ArchiveConfig { dir, git })
    }

    /// Every `[[team]]` that checks out; the others have had their problems reported.
    fn teams(&mut self, value: Option<&Value>) -> Vec<TeamConfig> {
        let tables: &[Value] = match value {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.report(
                    "team",
                    format!("expected [[team]] sections, found {}", describe(other)),
                    "write each team as a [[team]] section (two brackets)",
                );
                return Vec::new();
            }
        };
        if tables.is_empty() {
            self.report(
                "team",
                "no [[team]] defined",
                "add a [[team]] section with id, name, channel, format, prompt, sync, \
                 post_before, remind_after and members (see config/standup.example.toml)",
            );
            return Vec::new();
        }
        let ids: Vec<Option<&str>> = tables
            .iter()
            .map(|t| t.get("id").and_then(Value::as_str))
            .collect();
        let mut teams = Vec::new();
        for (i, value) in tables.iter().enumerate() {
            let id = ids[i];
            // Name the team by id where that is unambiguous: it is how people think of it.
            let label = match id {
                Some(id)
                    if is_team_id(id) && ids.iter().filter(|o| **o == Some(id)).count() == 1 =>
                {
                    format!("team {id:?}")
                }
                _ => format!("team[{}]", i + 1),
            };
            let Some(table) = value.as_table() else {
                self.report(
                    &label,
                    format!("expected a [[team]] table, found {}", describe(value)),
                    "write each team as a [[team]] section",
                );
                continue;
            };
            let first = id.and_then(|id| ids[..i].iter().position(|o| *o == Some(id)));
            if let (Some(id), Some(first)) = (id, first) {
                self.report(
                    &join(&label, "id"),
                    format!(
                        "duplicate team id {} (team[{}] has it too)",
                        shown(id),
                        first + 1
                    ),
                    "give each [[team]] its own id",
                );
            }
            if let Ok(team) = self.team(table, &label) {
                teams.push(team);
            }
        }
        teams
    }

    fn team(&mut self, table: &Table, at: &str) -> Checked<TeamConfig> {
        self.keys(table, at, TEAM_KEYS);
        // Every key is checked before any error is returned, so all problems get reported.
        let id = self.team_id(table, at);
        let name = self.name(table, at);
        let channel = self.channel(table, at);
        let format = self.format(table, at);
        let title = self.title(table, at, format.as_ref().map_or(Format::Planning, |f| f.0));
        let timezone = self.timezone(table, at);
        let per_member_timezone = self.get(table, at, "per_member_timezone", BOOL);
        let zone = timezone.as_ref().map_or(Tz::UTC, |tz| *tz);
        let prompt = self.schedule(table, at, "prompt", zone);
        let sync = self.schedule(table, at, "sync", zone);
        let post_before = self.post_before(table, at);
        let remind_after = self.remind_after(table, at);
        let admins = self.admins(table, at);
        let follow_through = self.get(table, at, "follow_through", BOOL);
        let planned_vs_done = self.get(table, at, "planned_vs_done", BOOL);
        let members = self.members(table, at);
        let timeoff = self.timeoff(table, at, zone);
        let home = self.get(table, at, "home", BOOL);
        let onboarding = self.get(table, at, "onboarding", BOOL);
        let threads = self.threads(table, at);
        let stats_cycles = self.stats_cycles(table, at);
        let stats_in_document = self.get(table, at, "stats_in_document", BOOL);
        let (format, template) = format?;
        Ok(TeamConfig {
            id: id?,
            name: name?,
            channel: channel?,
            format,
            template,
            title: title?,
            timezone: timezone?,
            per_member_timezone: per_member_timezone?
                .and_then(Value::as_bool)
                .unwrap_or(false),
            prompt: prompt?,
            sync: sync?,
            post_before: post_before?,
            remind_after: remind_after?,
            admins: admins?,
            follow_through: follow_through?.and_then(Value::as_bool).unwrap_or(true),
            planned_vs_done: planned_vs_done?.and_then(Value::as_bool).unwrap_or(false),
            members: members?,
            timeoff: timeoff?,
            home: home?.and_then(Value::as_bool).unwrap_or(true),
            onboarding: onboarding?.and_then(Value::as_bool).unwrap_or(true),
            threads: threads?,
            stats_cycles: stats_cycles?,
            stats_in_document: stats_in_document?.and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// `updates`, `blocker_flags`, `escalate_after`, `leads`, `resolved_blockers`.
    fn threads(&mut self, table: &Table, at: &str) -> Checked<Threads> {
        let updates = match self.string(table, at, "updates") {
            Ok(None | Some("document")) => Ok(UpdatesTo::Document),
            Ok(Some("thread")) => Ok(UpdatesTo::Thread),
            Ok(Some(other)) => Err(self.report(
                &join(at, "updates"),
                format!("unknown value {}", shown(other)),
                "use \"document\" (only the compiled notes are posted) or \"thread\" (each \
                 update goes into one thread per meeting)",
            )),
            Err(reported) => Err(reported),
        };
        let blocker_flags = match self.string(table, at, "blocker_flags") {
            Ok(None | Some("channel")) => Ok(FlagsTo::Channel),
            Ok(Some("thread")) => Ok(FlagsTo::Thread),
            Ok(Some(other)) => Err(self.report(
                &join(at, "blocker_flags"),
                format!("unknown value {}", shown(other)),
                "use \"channel\" (a message in the channel) or \"thread\" (a reply in the meeting's thread)",
            )),
            Err(reported) => Err(reported),
        };
        let escalate_after = match self.string(table, at, "escalate_after") {
            Ok(None) => Ok(None),
            Ok(Some(text)) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Err(self.report(
                    &join(at, "escalate_after"),
                    "escalate_after is zero: every blocker would be escalated at once",
                    "e.g. escalate_after = \"2d\", or remove the key to never escalate",
                )),
                Ok(d) => Ok(Some(d)),
                Err(why) => Err(self.report(
                    &join(at, "escalate_after"),
                    format!("invalid duration: {why}"),
                    DURATION_FIX,
                )),
            },
            Err(reported) => Err(reported),
        };
        let leads = self.user_list(table, at, "leads");
        let resolved_blockers = self.get(table, at, "resolved_blockers", BOOL);
        if let (Ok(Some(_)), Ok(leads)) = (&escalate_after, &leads)
            && leads.is_empty()
        {
            return Err(self.report(
                &join(at, "leads"),
                "escalate_after is set but there is no one to escalate to",
                "add leads = [\"U0123ABCD\"] (the Slack user ids to mention), or remove \
                 escalate_after",
            ));
        }
        Ok(Threads {
            updates: updates?,
            blocker_flags: blocker_flags?,
            escalate_after: escalate_after?,
            leads: leads?,
            resolved_blockers: resolved_blockers?.and_then(Value::as_bool).unwrap_or(true),
        })
    }

    fn stats_cycles(&mut self, table: &Table, at: &str) -> Checked<usize> {
        let want = Kind {
            example: "8",
            ..INTEGER
        };
        match self.get(table, at, "stats_cycles", want)?.and_then(Value::as_integer) {
            None => Ok(DEFAULT_STATS_CYCLES),
            Some(n) if (1..=MAX_STATS_CYCLES).contains(&n) => Ok(n as usize),
            Some(n) => Err(self.report(
                &join(at, "stats_cycles"),
                format!("{n} cycles is out of range"),
                format!(
                    "write a number from 1 to {MAX_STATS_CYCLES}, e.g. stats_cycles = {DEFAULT_STATS_CYCLES}"
                ),
            )),
        }
    }

    fn team_id(&mut self, table: &Table, at: &str) -> Checked<TeamId> {
        let id = self.required_string(table, at, "id", "\"orbit\"")?;
        if !is_team_id(id) {
            return Err(self.report(
                &join(at, "id"),
                format!("{} is not a valid team id", shown(id)),
                "use lower-case letters, digits, `-` and `_`, e.g. \"orbit\"",
            ));
        }
        Ok(TeamId::new(id))
    }

    fn name(&mut self, table: &Table, at: &str) -> Checked<String> {
        let name = self
            .required_string(table, at, "name", "\"Team Orbit\"")?
            .trim();
        if name.is_empty() {
            return Err(self.report(
                &join(at, "name"),
                "the team name is empty",
                "e.g. name = \"Team Orbit\"",
            ));
        }
        Ok(name.to_string())
    }

    fn channel(&mut self, table: &Table, at: &str) -> Checked<ChannelId> {
        let channel = self.required_string(table, at, "channel", "\"C0123456789\"")?;
        if !is_channel_id(channel) {
            return Err(self.report(
                &join(at, "channel"),
                format!("{} is not a Slack channel id", shown(channel)),
                "use the channel's id, not its name: C, G or D then at least 8 capitals or \
                 digits, e.g. \"C0123456789\" (channel details → About, at the bottom)",
            ));
        }
        Ok(ChannelId::new(channel))
    }

    /// `format` and `base_format`: a built-in format, or a custom template and the built-in
    /// vocabulary it builds on.
    fn format(&mut self, table: &Table, at: &str) -> Checked<(Format, Option<PathBuf>)> {
        let builtins = || Format::ALL.iter().map(|f| f.name());
        let base = match self.string(table, at, "base_format") {
            Ok(None) => Ok(None),
            Ok(Some(name)) => match Format::from_name(name) {
                Some(format) => Ok(Some(format)),
                None => {
                    let hint = suggest(name, builtins())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    Err(self.report(
                        &join(at, "base_format"),
                        format!("unknown base format {}{hint}", shown(name)),
                        "use \"planning\" or \"standup\"",
                    ))
                }
            },
            Err(reported) => Err(reported),
        };
        let written = self.required_string(table, at, "format", "\"planning\"")?;
        if let Some(format) = Format::from_name(written) {
            if let Ok(Some(_)) = base {
                return Err(self.report(
                    &join(at, "base_format"),
                    "base_format only applies to a custom template",
                    format!(
                        "remove base_format, or set format to the path of a template file \
                         (format is the built-in \"{format}\")"
                    ),
                ));
            }
            return Ok((format, None));
        }
        let template = self.dir.join(written);
        let source = match std::fs::read_to_string(&template) {
            Ok(source) => source,
            Err(error) => {
                let looks_like_a_name = !written.contains(['/', '\\', '.']);
                let message = match suggest(written, builtins()) {
                    Some(s) if looks_like_a_name => {
                        format!("unknown format {} (did you mean `{s}`?)", shown(written))
                    }
                    _ if error.kind() == std::io::ErrorKind::NotFound => {
                        format!("template file `{}` does not exist", template.display())
                    }
                    _ => format!(
                        "cannot read template file `{}`: {error}",
                        template.display()
                    ),
                };
                let fix = format!(
                    "use \"planning\", \"standup\", or the path of a template file relative to `{}`",
                    display_dir(&self.dir)
                );
                return Err(self.report(&join(at, "format"), message, fix));
            }
        };
        // Compiling catches syntax errors now rather than at the first meeting; unknown
        // variables and filters only show when rendering, which is the renderer's to check.
        let mut env = minijinja::Environment::new();
        if let Err(error) = env.add_template_owned(written.to_string(), source) {
            let line = error
                .line()
                .map(|l| format!(" line {l}"))
                .unwrap_or_default();
            let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
            return Err(self.report(
                &join(at, "format"),
                format!(
                    "template `{}`{line}: {}{detail}",
                    template.display(),
                    error.kind()
                ),
                "fix the template (minijinja syntax: {{ value }}, {% for %} … {% endfor %})",
            ));
        }
        Ok((base?.unwrap_or(Format::Planning), Some(template)))
    }

    fn timezone(&mut self, table: &Table, at: &str) -> Checked<Tz> {
        let Some(name) = self.string(table, at, "timezone")? else {
            return Ok(Tz::UTC);
        };
        if let Ok(tz) = name.parse::<Tz>() {
            return Ok(tz);
        }
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        let same_but_case = names.clone().find(|n| n.eq_ignore_ascii_case(name));
        let hint = same_but_case
            .or_else(|| suggest(name, names))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        Err(self.report(
            &join(at, "timezone"),
            format!("unknown time zone {}{hint}", shown(name)),
            "use an IANA time zone name, e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\"",
        ))
    }

    /// `format` picks the default title.
    fn title(&mut self, table: &Table, at: &str, format: Format) -> Checked<String> {
        let default = match format {
            Format::Planning => "{name} Planning {date}",
            Format::Standup => "Standup meeting - {date}",
        };
        let Some(title) = self.string(table, at, "title")? else {
            return Ok(default.to_string());
        };
        let key = join(at, "title");
        let unknown: Vec<&str> = placeholders(title)
            .into_iter()
            .filter(|p| !matches!(*p, "{date}" | "{name}"))
            .collect();
        if !unknown.is_empty() {
            return Err(self.report(
                &key,
                format!("unknown placeholder {} in the title", unknown.join(", ")),
                "the title can use {date} (the meeting date) and {name} (the team name)",
            ));
        }
        if !title.contains("{date}") {
            return Err(self.report(
                &key,
                "the title has no {date}, so every meeting's notes would have the same title",
                format!("add {{date}}, e.g. title = \"{default}\""),
            ));
        }
        Ok(title.to_string())
    }

    /// A cron key; `tz` is only used to check that it ever fires.
    fn schedule(&mut self, table: &Table, at: &str, key: &str, tz: Tz) -> Checked<Schedule> {
        let text = self.required_string(table, at, key, "\"0 9 * * Mon-Fri\"")?;
        let schedule = Schedule::parse(text).map_err(|why| {
            self.report(
                &join(at, key),
                format!("invalid cron expression {}: {why}", shown(text)),
                CRON_FIX,
            )
        })?;
        if schedule
            .next_after(DateTime::<Utc>::UNIX_EPOCH, tz)
            .is_none()
        {
            return Err(self.report(
                &join(at, key),
                format!("the cron expression {} never fires", shown(text)),
                format!("check the day and month fields; {CRON_FIX}"),
            ));
        }
        Ok(schedule)
    }

    fn duration(&mut self, table: &Table, at: &str, key: &str) -> Checked<Duration> {
        let text = self.required_string(table, at, key, "\"30m\"")?;
        parse_duration(text).map_err(|why| {
            self.report(
                &join(at, key),
                format!("invalid duration: {why}"),
                DURATION_FIX,
            )
        })
    }

    fn post_before(&mut self, table: &Table, at: &str) -> Checked<Duration> {
        let duration = self.duration(table, at, "post_before")?;
        if duration >= MAX_POST_BEFORE {
            return Err(self.report(
                &join(at, "post_before"),
                "post_before must be less than 7 days: a team's meetings can be a week apart",
                "post the notes shortly before the meeting, e.g. post_before = \"30m\"",
            ));
        }
        Ok(duration)
    }

    fn remind_after(&mut self, table: &Table, at: &str) -> Checked<Duration> {
        let duration = self.duration(table, at, "remind_after")?;
        if duration.is_zero() {
            return Err(self.report(
                &join(at, "remind_after"),
                "remind_after is zero: the reminder would go out with the prompt",
                "e.g. remind_after = \"2h\"",
            ));
        }
        Ok(duration)
    }

    fn admins(&mut self, table: &Table, at: &str) -> Checked<Vec<UserId>> {
        self.user_list(table, at, "admins")
    }

    /// A list of Slack user ids (`admins`, `leads`), each checked.
    fn user_list(&mut self, table: &Table, at: &str, name: &str) -> Checked<Vec<UserId>> {
        let Some(items) = self.get(table, at, name, ARRAY)?.and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        let mut admins = Vec::new();
        let mut result = Ok(());
        for (i, item) in items.iter().enumerate() {
            let key = format!("{}[{}]", join(at, name), i + 1);
            let admin = match item.as_str() {
                Some(user) => self.user_id(&key, user),
                None => Err(self.report(
                    &key,
                    format!("expected a Slack user id string, found {}", describe(item)),
                    format!("write {name} = [\"U0123ABCD\", ...]"),
                )),
            };
            match admin {
                Ok(admin) => admins.push(admin),
                Err(reported) => result = Err(reported),
            }
        }
        result.map(|()| admins)
    }

    fn user_id(&mut self, key: &str, user: &str) -> Checked<UserId> {
        if !is_user_id(user) {
            return Err(self.report(
                key,
                format!("{} is not a Slack user id", shown(user)),
                "use the member id (profile → ⋮ → Copy member ID): U or W then at least 8 \
                 capitals or digits, e.g. \"U0123ABCD\"",
            ));
        }
        Ok(UserId::new(user))
    }

    fn members(&mut self, table: &Table, at: &str) -> Checked<Vec<MemberConfig>> {
        let items = self.require(table, at, "members", ARRAY)?.as_array();
        let items = items.map_or(&[][..], Vec::as_slice);
        let list = join(at, "members");
        if items.is_empty() {
            return Err(self.report(
                &list,
                "the team has no members",
                "list at least one member, e.g. members = [{ user = \"U0123ABCD\", handle = \
                 \"maria\" }]",
            ));
        }
        let mut members = Vec::new();
        let mut result = Ok(());
        // Where each user id and (case-folded) handle was first seen, for duplicate messages.
        let mut users: HashMap<String, usize> = HashMap::new();
        let mut handles: HashMap<String, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("{list}[{}]", i + 1);
            let member = self.member(item, &key);
            let member = member.and_then(|member| {
                let user = member.user.to_string();
                let handle = member.handle.as_deref().map(str::to_lowercase);
                if let Some(first) = users.get(&user) {
                    return Err(self.report(
                        &join(&key, "user"),
                        format!("{user} is listed twice (also members[{first}])"),
                        "list each member once",
                    ));
                }
                if let Some(first) = handle.as_ref().and_then(|h| handles.get(h)) {
                    return Err(self.report(
                        &join(&key, "handle"),
                        format!(
                            "handle `{}` is used twice (also members[{first}])",
                            member.handle.as_deref().unwrap_or_default()
                        ),
                        "give each member their own handle",
                    ));
                }
                users.insert(user, i + 1);
                if let Some(handle) = handle {
                    handles.insert(handle, i + 1);
                }
                Ok(member)
            });
            match member {
                Ok(member) => members.push(member),
                Err(reported) => result = Err(reported),
            }
        }
        result.map(|()| members)
    }

    fn member(&mut self, item: &Value, at: &str) -> Checked<MemberConfig> {
        let Some(table) = item.as_table() else {
            return Err(self.report(
                at,
                format!("expected a member table, found {}", describe(item)),
                "write each member as { user = \"U0123ABCD\", handle = \"maria\" }",
            ));
        };
        self.keys(table, at, MEMBER_KEYS);
        let user = self
            .required_string(table, at, "user", "\"U0123ABCD\"")
            .and_then(|user| self.user_id(&join(at, "user"), user));
        let handle = self.handle(table, at);
        let quiet_hours = self.quiet_hours(table, at);
        Ok(MemberConfig {
            user: user?,
            handle: handle?,
            quiet_hours: quiet_hours?,
        })
    }

    /// `quiet_hours = "18:00-09:00"` of a team or a member; `None` when absent.
    fn quiet_hours(&mut self, table: &Table, at: &str) -> Checked<Option<QuietHours>> {
        let Some(written) = self.string(table, at, "quiet_hours")? else {
            return Ok(None);
        };
        written.parse().map(Some).map_err(|why: String| {
            self.report(
                &join(at, "quiet_hours"),
                why,
                "write the window as \"HH:MM-HH:MM\" in the member's own time, e.g. \"18:00-09:00\"",
            )
        })
    }

    /// `working_days`, `holidays`, `holidays_file`, `ooo_emoji` and the team's `quiet_hours`.
    fn timeoff(&mut self, table: &Table, at: &str, zone: Tz) -> Checked<TimeOff> {
        let working_days = self.working_days(table, at);
        let holidays = self.holidays(table, at, zone);
        let ooo_emoji = self.ooo_emoji(table, at);
        let quiet_hours = self.quiet_hours(table, at);
        Ok(TimeOff {
            working_days: working_days?,
            holidays: holidays?,
            ooo_emoji: ooo_emoji?,
            quiet_hours: quiet_hours?,
        })
    }

    /// The strings of a list key, each with its `key[n]` path; other items are reported.
    fn strings(
        &mut self,
        table: &Table,
        at: &str,
        key: &str,
        example: &'static str,
    ) -> Checked<Option<Vec<(String, String)>>> {
        let want = Kind { example, ..ARRAY };
        let Some(items) = self.get(table, at, key, want)?.and_then(Value::as_array) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let mut result = Ok(());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{}]", join(at, key), i + 1);
            match item {
                Value::String(s) => out.push((path, s.clone())),
                // An unquoted TOML date is what people mean by a date.
                Value::Datetime(d) => out.push((path, d.to_string())),
                other => {
                    result = Err(self.report(
                        &path,
                        format!("expected a string, found {}", describe(other)),
                        format!("write the list as {example}"),
                    ))
                }
            }
        }
        result.map(|()| Some(out))
    }

    fn working_days(&mut self, table: &Table, at: &str) -> Checked<Option<Vec<chrono::Weekday>>> {
        const EXAMPLE: &str = "[\"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\"]";
        let Some(items) = self.strings(table, at, "working_days", EXAMPLE)? else {
            return Ok(None);
        };
        let key = join(at, "working_days");
        if items.is_empty() {
            return Err(self.report(
                &key,
                "no working days: nobody would ever be prompted",
                format!(
                    "list the days the team works, e.g. {EXAMPLE}, or remove the key for every day"
                ),
            ));
        }
        let mut days = Vec::new();
        let mut result = Ok(());
        for (path, text) in items {
            match standup_core::calendar::parse_weekday(&text) {
                Some(day) => days.push(day),
                None => {
                    result = Err(self.report(
                        &path,
                        format!("{} is not a day of the week", shown(&text)),
                        "write Mon, Tue, Wed, Thu, Fri, Sat or Sun",
                    ))
                }
            }
        }
        result.map(|()| Some(days))
    }

    fn holidays(
        &mut self,
        table: &Table,
        at: &str,
        zone: Tz,
    ) -> Checked<Vec<(NaiveDate, NaiveDate)>> {
        const FIX: &str =
            "write a date as \"2026-12-25\" or an inclusive range as \"2026-12-24..2026-12-31\"";
        let listed = self.strings(
            table,
            at,
            "holidays",
            "[\"2026-12-25\", \"2026-12-24..2026-12-31\"]",
        );
        let file = self.string(table, at, "holidays_file");
        let mut days = Vec::new();
        let mut result = Ok(());
        for (path, text) in listed?.unwrap_or_default() {
            match standup_core::calendar::parse_holiday(&text) {
                Ok(range) => days.push(range),
                Err(why) => result = Err(self.report(&path, why, FIX)),
            }
        }
        if let Some(written) = file? {
            let key = join(at, "holidays_file");
            let path = self.dir.join(written);
            let fix = format!(
                "name an iCalendar (.ics) file relative to `{}` with all-day events (DTSTART;VALUE=DATE:20261225)",
                self.dir.display()
            );
            match std::fs::read_to_string(&path) {
                Err(e) => {
                    return Err(self.report(
                        &key,
                        format!("cannot read `{}`: {e}", path.display()),
                        fix,
                    ));
                }
                Ok(text) => match standup_core::calendar::read_ics(&text, zone) {
                    Ok(more) => days.extend(more),
                    Err(why) => {
                        return Err(self.report(&key, format!("`{}`: {why}", path.display()), fix));
                    }
                },
            }
        }
        result.map(|()| days)
    }

    /// Status emoji meaning out of office; `[":palm_tree:"]` when absent, `[]` to turn it off.
    fn ooo_emoji(&mut self, table: &Table, at: &str) -> Checked<Vec<String>> {
        let Some(items) = self.strings(table, at, "ooo_emoji", "[\":palm_tree:\"]")? else {
            return Ok(vec!["palm_tree".to_string()]);
        };
        let mut out = Vec::new();
        let mut result = Ok(());
        for (path, text) in items {
            let bare = text.trim().trim_matches(':');
            let valid = !bare.is_empty()
                && bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '\''));
            if valid {
                out.push(bare.to_string());
            } else {
                result = Err(self.report(
                    &path,
                    format!("{} is not an emoji code", shown(&text)),
                    "write it as Slack shows it, e.g. \":palm_tree:\"",
                ));
            }
        }
        result.map(|()| out)
    }

    /// `None` when absent; a leading `@` is dropped, since people write handles that way.
    fn handle(&mut self, member: &Table, at: &str) -> Checked<Option<String>> {
        let Some(written) = self.string(member, at, "handle")? else {
            return Ok(None);
        };
        let handle = written.strip_prefix('@').unwrap_or(written);
        let valid = !handle.is_empty()
            && handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(self.report(
                &join(at, "handle"),
                format!("{} is not a valid handle", shown(written)),
                "use letters, digits, `.`, `_` and `-`, e.g. \"maria\"; or leave handle out to \
                 take it from Slack",
            ));
        }
        Ok(Some(handle.to_string()))
    }
}

/// The type a key must have, and how to write one in a fix.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    example: &'static str,
    is: fn(&Value) -> bool,
}

const STRING: Kind = Kind {
    name: "a string",
    example: "\"...\"",
    is: Value::is_str,
};
const BOOL: Kind = Kind {
    name: "true or false",
    example: "true",
    is: Value::is_bool,
};
const INTEGER: Kind = Kind {
    name: "a whole number",
    example: "512",
    is: Value::is_integer,
};
const ARRAY: Kind = Kind {
    name: "a list",
    example: "[...]",
    is: Value::is_array,
};

fn describe(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "a number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        ".".to_string()
    } else {
        dir.display().to_string()
    }
}

/// A user-written value quoted for a message; values that look like Slack tokens are withheld,
/// since config files and their error output end up in logs and chat.
fn shown(value: &str) -> String {
    const TOKEN_PREFIXES: [&str; 6] = ["xoxb-", "xoxp-", "xoxa-", "xoxe", "xoxs-", "xapp-"];
    if TOKEN_PREFIXES.iter().any(|p| value.starts_with(p)) {
        return "(a Slack token, not shown)".to_string();
    }
    let short: String = value.chars().take(60).collect();
    if short.len() < value.len() {
        format!("`{short}…`")
    } else {
        format!("`{value}`")
    }
}

/// The environment variable for a secret key someone put in the file.
fn secret_variable(key: &str) -> Option<&'static str> {
    match key.to_ascii_lowercase().as_str() {
        "bot_token" | "slack_bot_token" | "token" => Some("SLACK_BOT_TOKEN"),
        "app_token" | "slack_app_token" => Some("SLACK_APP_TOKEN"),
        "signing_secret" | "slack_signing_secret" => Some("SLACK_SIGNING_SECRET"),
        _ => None,
    }
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("token") || key.contains("secret") || key.contains("password")
}

/// `{word}` placeholders in `text`, braces included.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let tail = &rest[open..];
        match tail.find('}') {
            Some(close) => {
                out.push(&tail[..=close]);
                rest = &tail[close + 1..];
            }
            None => break,
        }
    }
    out
}

fn is_team_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Slack ids: a kind letter, then at least 8 upper-case letters or digits.
fn is_slack_id(id: &str, kinds: &[char]) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| kinds.contains(&c))
        && id.len() >= 9
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_channel_id(id: &str) -> bool {
    is_slack_id(id, &['C', 'G', 'D'])
}

fn is_user_id(id: &str) -> bool {
    is_slack_id(id, &['U', 'W'])
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// A secret value. It prints as its length only, so it can sit in structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} chars)", self.0.chars().count())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The Slack credentials, from the environment. Which ones are needed depends on how the bot
/// connects (Socket Mode needs both tokens, HTTP mode the bot token and signing secret), so
/// each is optional here and the caller decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pub bot_token: Option<Secret>,
    pub app_token: Option<Secret>,
    pub signing_secret: Option<Secret>,
}

/// A secret's variable, the prefix its value must have, and where to get it.
struct SecretSpec {
    var: &'static str,
    prefix: Option<&'static str>,
    fix: &'static str,
}

const BOT_TOKEN: SecretSpec = SecretSpec {
    var: "SLACK_BOT_TOKEN",
    prefix: Some("xoxb-"),
    fix: "use the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions)",
};
const APP_TOKEN: SecretSpec = SecretSpec {
    var: "SLACK_APP_TOKEN",
    prefix: Some("xapp-"),
    fix: "use an app-level token (xapp-…, under Basic Information → App-Level Tokens, with \
          the connections:write scope)",
};
const SIGNING_SECRET: SecretSpec = SecretSpec {
    var: "SLACK_SIGNING_SECRET",
    prefix: None,
    fix: "use the app's Signing Secret (under Basic Information → App Credentials)",
};

impl Secrets {
    /// Reads `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` and `SLACK_SIGNING_SECRET`, or for each the
    /// file named by the same variable with `_FILE` appended (trimmed; for Docker secrets).
    pub fn from_env() -> Result<Secrets, ConfigError> {
        Secrets::from_lookup(|name| std::env::var_os(name))
    }

    /// [`Secrets::from_env`] with the environment given as a function, for tests and callers
    /// that keep their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Secrets, ConfigError> {
        let mut problems = Vec::new();
        let mut read = |spec: &SecretSpec| match read_secret(spec, &lookup) {
            Ok(secret) => secret,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let secrets = Secrets {
            bot_token: read(&BOT_TOKEN),
            app_token: read(&APP_TOKEN),
            signing_secret: read(&SIGNING_SECRET),
        };
        if problems.is_empty() {
            Ok(secrets)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

fn read_secret(
    spec: &SecretSpec,
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Secret>, Problem> {
    let var = spec.var;
    let file_var = format!("{var}_FILE");
    let problem = |key: &str, message: String, fix: String| Problem {
        file: "environment".to_string(),
        key: key.to_string(),
        message,
        fix,
    };
    // An empty variable counts as unset: compose files often list every variable, some blank.
    let direct = lookup(var).filter(|v| !v.is_empty());
    let file = lookup(&file_var).filter(|v| !v.is_empty());
    let (value, key) = match (direct, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(problem(
                var,
                format!("both {var} and {file_var} are set"),
                "unset one of them".to_string(),
            ));
        }
        (Some(value), None) => match value.into_string() {
            Ok(value) => (value, var.to_string()),
            Err(_) => {
                return Err(problem(
                    var,
                    "is not valid UTF-8".to_string(),
                    spec.fix.to_string(),
                ));
            }
        },
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            match std::fs::read_to_string(&path) {
                Ok(text) => (text.trim().to_string(), file_var.clone()),
                Err(error) => {
                    return Err(problem(
                        &file_var,
                        format!("cannot read `{}`: {error}", path.display()),
                        format!("point {file_var} at a readable file that holds only the secret"),
                    ));
                }
            }
        }
    };
    if value.is_empty() {
        return Err(problem(
            &key,
            "the secret is empty".to_string(),
            spec.fix.to_string(),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem(
            &key,
            "the secret contains spaces or control characters".to_string(),
            format!(
                "{} and copy it without quotes or a `Bearer` prefix",
                spec.fix
            ),
        ));
    }
    if let Some(prefix) = spec.prefix.filter(|p| !value.starts_with(p)) {
        // Naming the kind of token found is safe (the prefixes are public) and explains the
        // commonest mistake, the two tokens swapped.
        let found = ["xoxb-", "xapp-", "xoxp-"]
            .into_iter()
            .find(|p| value.starts_with(p))
            .map(|p| format!(" (it starts with {p})"))
            .unwrap_or_default();
        return Err(problem(
            &key,
            format!("the value does not start with {prefix}{found}"),
            spec.fix.to_string(),
        ));
    }
    Ok(Some(Secret(value)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rstest::rstest;

    use super::*;

    const FILE: &str = "conf/standup.toml";

    /// The keys of a valid `[[team]]`, in file order.
    const TEAM: &[(&str, &str)] = &[
        ("id", r#""orbit""#),
        ("name", r#""Team Orbit""#),
        ("channel", r#""C0123456789""#),
        ("format", r#""planning""#),
        ("title", r#""Team Orbit Planning {date}""#),
        ("timezone", r#""Europe/Berlin""#),
        ("prompt", r#""0 9 * * Mon-Fri""#),
        ("sync", r#""0 14 * * Mon""#),
        ("post_before", r#""30m""#),
        ("remind_after", r#""2h""#),
        ("admins", r#"["U0ADMIN01"]"#),
        (
            "members",
            r#"[{ user = "U0MARIA01", handle = "maria" }, { user = "U0KENJI01" }]"#,
        ),
    ];

    /// A valid `[[team]]` with `changes`: `(key, Some(value))` replaces or adds a key,
    /// `(key, None)` removes it.
    fn team_toml(changes: &[(&str, Option<&str>)]) -> String {
        let mut lines: Vec<(String, String)> = TEAM
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (key, value) in changes {
            match (lines.iter().position(|(k, _)| k == key), value) {
                (Some(i), Some(v)) => lines[i].1 = v.to_string(),
                (Some(i), None) => drop(lines.remove(i)),
                (None, Some(v)) => lines.push((key.to_string(), v.to_string())),
                (None, None) => panic!("no key {key} to remove"),
            }
        }
        let body: Vec<String> = lines.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("[[team]]\n{}\n", body.join("\n"))
    }

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_str(text, Path::new(FILE))
    }

    fn loaded(text: &str) -> Config {
        load(text).unwrap_or_else(|e| panic!("should load:\n{e}\n---\n{text}"))
    }

    /// Loads `text` and checks it fails with exactly the problems `expect`, in order. An expected
    /// line ending in `…` only has to start the rendered line.
    fn check(text: &str, expect: &[&str]) {
        let error = load(text).expect_err("should fail");
        let rendered = error.to_string();
        let got: Vec<&str> = rendered.lines().collect();
        assert_eq!(got.len(), expect.len(), "problems:\n{rendered}");
        assert_eq!(error.problems().len(), expect.len());
        for (got, want) in got.iter().zip(expect) {
            match want.strip_suffix('…') {
                Some(prefix) => assert!(
                    got.starts_with(prefix),
                    "{got}\nshould start with\n{prefix}"
                ),
                None => assert_eq!(got, want),
            }
        }
    }

    fn example_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE_PATH)
    }

    #[test]
    fn the_example_file_loads() {
        let config = Config::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.database.path, PathBuf::from("data/standup.db"));
        assert_eq!(config.slack.api_url, "https://slack.com/api");
        let ids: Vec<&str> = config.teams.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["orbit", "platform"]);

        let orbit = config.team(&TeamId::new("orbit")).unwrap();
        assert_eq!(orbit.format, Format::Planning);
        assert_eq!(orbit.template, None);
        assert_eq!(orbit.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(orbit.prompt.source(), "0 9 * * Mon-Fri");
        assert_eq!(orbit.post_before, Duration::from_secs(30 * 60));
        assert_eq!(orbit.remind_after, Duration::from_secs(2 * 3600));
        assert!(orbit.is_admin(&UserId::new("U0ADMIN01")));
        assert_eq!(
            orbit.members,
            [
                MemberConfig {
                    user: UserId::new("U0MARIA01"),
                    handle: Some("maria".into()),
                    quiet_hours: None,
                },
                MemberConfig {
                    user: UserId::new("U0KENJI01"),
                    handle: Some("kenji".into()),
                    quiet_hours: None,
                },
                MemberConfig {
                    user: UserId::new("U0LI00001"),
                    handle: Some("li".into()),
                    quiet_hours: None,
                },
            ]
        );
        let date = NaiveDate::from_ymd_opt(2024, 5, 13).unwrap();
        assert_eq!(orbit.title_for(date), "Team Orbit Planning 2024-05-13");

        let platform = config.team(&TeamId::new("platform")).unwrap();
        assert_eq!(platform.format, Format::Standup);
        assert_eq!(platform.title_for(date), "Standup meeting - 2024-05-13");
        assert!(platform.per_member_timezone);
        assert_eq!(platform.timezone, chrono_tz::America::New_York);
        assert!(platform.admins.is_empty());
        assert_eq!(platform.members.last().unwrap().handle, None);
    }

    #[test]
    fn defaults() {
        let text = team_toml(&[
            ("title", None),
            ("timezone", None),
            ("admins", None),
            ("format", Some(r#""standup""#)),
        ]);
        let config = loaded(&text);
        assert_eq!(config.path, PathBuf::from(FILE));
        assert_eq!(config.database.path, PathBuf::from(DEFAULT_DATABASE_PATH));
        assert_eq!(config.slack.api_url, DEFAULT_API_URL);
        let team = &config.teams[0];
        assert_eq!(team.title, "Standup meeting - {date}");
        assert_eq!(team.timezone, Tz::UTC);
        assert!(!team.per_member_timezone);
        assert!(team.admins.is_empty());
        assert!(
            team.follow_through,
            "follow-through is on unless turned off"
        );
        assert!(
            !team.planned_vs_done,
            "planned vs done is off unless turned on"
        );
        assert!(team.home, "the Home tab is on by default");
        assert!(team.onboarding, "onboarding is on by default");

        let planning = loaded(&team_toml(&[("title", None)]));
        assert_eq!(planning.teams[0].title, "{name} Planning {date}");
    }

    #[test]
    fn sections_and_normalised_values() {
        let text = format!(
            "[database]\npath = \"/var/lib/standup/db.sqlite\"\n\n\
             [slack]\napi_url = \"http://127.0.0.1:8080/api/\"\n\n{}",
            team_toml(&[(
                "members",
                Some(r#"[{ user = "U0MARIA01", handle = "@maria" }]"#),
            )])
        );
        let config = loaded(&text);
        assert_eq!(
            config.database.path,
            PathBuf::from("/var/lib/standup/db.sqlite")
        );
        assert_eq!(config.slack.api_url, "http://127.0.0.1:8080/api");
        assert_eq!(config.teams[0].members[0].handle.as_deref(), Some("maria"));
    }

    #[test]
    fn archive_and_stats_defaults_are_off_and_eight() {
        let config = loaded(&team_toml(&[]));
        assert_eq!(config.archive, ArchiveConfig::default());
        assert_eq!(config.teams[0].stats_cycles, DEFAULT_STATS_CYCLES);
        assert!(!config.teams[0].stats_in_document);
    }

    #[test]
    fn archive_dir_is_relative_to_the_config_file() {
        let text = format!(
            "[archive]\ndir = \"notes\"\ngit = true\n\n{}",
            team_toml(&[
                ("stats_cycles", Some("4")),
                ("stats_in_document", Some("true"))
            ])
        );
        let config = loaded(&text);
        assert_eq!(config.archive.dir, Some(PathBuf::from("conf/notes")));
        assert!(config.archive.git);
        assert_eq!(config.teams[0].stats_cycles, 4);
        assert!(config.teams[0].stats_in_document);
    }

    #[rstest]
    #[case::empty_dir(
        "dir = \" \"",
        "conf/standup.toml: archive.dir: the archive folder is empty — remove the key for no archive, or name a folder, e.g. dir = \"notes\""
    )]
    #[case::git_without_dir(
        "git = true",
        "conf/standup.toml: archive.git: git = true needs a folder to commit in — add dir = \"notes\" to [archive], or remove git"
    )]
    #[case::git_not_a_bool(
        "dir = \"notes\"\ngit = \"yes\"",
        "conf/standup.toml: archive.git: expected true or false, found a string — write it as true"
    )]
    #[case::unknown_key(
        "folder = \"notes\"",
        "conf/standup.toml: archive.folder: unknown key `folder` — remove it or correct its spelling; keys allowed here: dir, git"
    )]
    fn archive_problems(#[case] body: &str, #[case] expect: &str) {
        check(
            &format!("[archive]\n{body}\n\n{}", team_toml(&[])),
            &[expect],
        );
    }

    #[rstest]
    #[case::zero(
        "0",
        r#"conf/standup.toml: team "orbit".stats_cycles: 0 cycles is out of range — write a number from 1 to 104, e.g. stats_cycles = 8"#
    )]
    #[case::too_many(
        "1000",
        r#"conf/standup.toml: team "orbit".stats_cycles: 1000 cycles is out of range — write a number from 1 to 104, e.g. stats_cycles = 8"#
    )]
    #[case::a_string(
        r#""8""#,
        r#"conf/standup.toml: team "orbit".stats_cycles: expected a whole number, found a string — write it as 8"#
    )]
    fn stats_cycles_problems(#[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[("stats_cycles", Some(value))]), &[expect]);
    }

    #[test]
    fn stats_in_document_must_be_a_bool() {
        check(
            &team_toml(&[("stats_in_document", Some("1"))]),
            &[
                r#"conf/standup.toml: team "orbit".stats_in_document: expected true or false, found a number — write it as true"#,
            ],
        );
    }

    #[rstest]
    #[case::both("{name} Planning {date}", "Team Orbit Planning 2024-05-13")]
    #[case::date_twice("{date} / {date}", "2024-05-13 / 2024-05-13")]
    #[case::other_braces_kept("Sync {date} {x", "Sync 2024-05-13 {x")]
    fn title_for(#[case] title: &str, #[case] expect: &str) {
        let mut team = loaded(&team_toml(&[])).teams.remove(0);
        team.title = title.to_string();
        assert_eq!(
            team.title_for(NaiveDate::from_ymd_opt(2024, 5, 13).unwrap()),
            expect
        );
    }

    #[test]
    fn follow_through_keys_are_read() {
        let config = loaded(&team_toml(&[
            ("follow_through", Some("false")),
            ("planned_vs_done", Some("true")),
        ]));
        assert!(!config.teams[0].follow_through);
        assert!(config.teams[0].planned_vs_done);
    }

    #[test]
    fn title_for_does_not_expand_placeholders_inside_the_name() {
        let config = loaded(&team_toml(&[
            ("name", Some(r#""The {date} team""#)),
            ("title", None),
        ]));
        let date = NaiveDate::from_ymd_opt(2024, 5, 13).unwrap();
        assert_eq!(
            config.teams[0].title_for(date),
            "The {date} team Planning 2024-05-13"
        );
    }

    #[rstest]
    #[case::team_key(
        &[("promt", Some(r#""0 9 * * *""#))],
        &[r#"conf/standup.toml: team "orbit".promt: unknown key `promt` (did you mean `prompt`?) — remove it or correct its spelling; keys allowed here: id, name, channel, format, base_format, title, timezone, per_member_timezone, prompt, sync, post_before, remind_after, admins, follow_through, planned_vs_done, members, working_days, holidays, holidays_file, ooo_emoji, quiet_hours, home, onboarding, updates, blocker_flags, escalate_after, leads, resolved_blockers, stats_cycles, stats_in_document"#],
    )]
    #[case::far_from_anything(
        &[("colour", Some(r#""blue""#))],
        &[r#"conf/standup.toml: team "orbit".colour: unknown key `colour` — remove it or correct its spelling; keys allowed here: …"#],
    )]
    #[case::member_key(
        &[("members", Some(r#"[{ user = "U0MARIA01", hadle = "maria" }]"#))],
        &[r#"conf/standup.toml: team "orbit".members[1].hadle: unknown key `hadle` (did you mean `handle`?) — remove it or correct its spelling; keys allowed here: user, handle, quiet_hours"#],
    )]
    fn unknown_keys(#[case] changes: &[(&str, Option<&str>)], #[case] expect: &[&str]) {
        check(&team_toml(changes), expect);
    }

    #[test]
    fn unknown_sections() {
        let text = format!("[databse]\npath = \"x.db\"\n\n{}", team_toml(&[]));
        check(
            &text,
            &[
                "conf/standup.toml: databse: unknown key `databse` (did you mean `database`?) — remove it or correct its spelling; keys allowed here: database, slack, archive, team",
            ],
        );
        let text = format!(
            "[slack]\napi_uri = \"https://slack.com/api\"\n\n{}",
            team_toml(&[])
        );
        check(
            &text,
            &[
                "conf/standup.toml: slack.api_uri: unknown key `api_uri` (did you mean `api_url`?) — …",
            ],
        );
    }

    #[rstest]
    #[case::bot_token("bot_token", "SLACK_BOT_TOKEN")]
    #[case::app_token("app_token", "SLACK_APP_TOKEN")]
    #[case::signing_secret("signing_secret", "SLACK_SIGNING_SECRET")]
    fn secrets_in_the_file_are_refused_without_echoing_them(#[case] key: &str, #[case] var: &str) {
        let value = "xoxb-1234-5678-s3cr3tv4lu3";
        let text = format!("[slack]\n{key} = \"{value}\"\n\n{}", team_toml(&[]));
        let expect = format!(
            "conf/standup.toml: slack.{key}: secrets are read from the environment, never from \
             the config file — remove this key and set {var} (or {var}_FILE) in the environment"
        );
        check(&text, &[&expect]);
        let rendered = load(&text).unwrap_err().to_string();
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
    }

    #[test]
    fn other_secret_looking_keys_are_refused() {
        let text = team_toml(&[("client_secret", Some(r#""abcdef0123456789""#))]);
        check(
            &text,
            &[
                r#"conf/standup.toml: team "orbit".client_secret: this looks like a secret; secrets are read from the environment (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET) — remove this key"#,
            ],
        );
        let rendered = load(&text).unwrap_err().to_string();
        assert!(!rendered.contains("abcdef"), "{rendered}");
    }

    #[test]
    fn a_token_pasted_into_another_field_is_not_echoed() {
        let text = team_toml(&[("channel", Some(r#""xoxb-1234-s3cr3t""#))]);
        check(
            &text,
            &[
                r#"conf/standup.toml: team "orbit".channel: (a Slack token, not shown) is not a Slack channel id — use the channel's id, not its name: …"#,
            ],
        );
    }

    #[test]
    fn duplicate_team_ids() {
        let text = format!(
            "{}\n{}",
            team_toml(&[]),
            team_toml(&[("channel", Some(r#""C0999999999""#))])
        );
        check(
            &text,
            &[
                "conf/standup.toml: team[2].id: duplicate team id `orbit` (team[1] has it too) — give each [[team]] its own id",
            ],
        );
    }

    #[rstest]
    #[case::same_user(
        r#"[{ user = "U0MARIA01", handle = "maria" }, { user = "U0MARIA01", handle = "mary" }]"#,
        r#"conf/standup.toml: team "orbit".members[2].user: U0MARIA01 is listed twice (also members[1]) — list each member once"#,
    )]
    #[case::same_handle_any_case(
        r#"[{ user = "U0MARIA01", handle = "maria" }, { user = "U0KENJI01", handle = "@Maria" }]"#,
        r#"conf/standup.toml: team "orbit".members[2].handle: handle `Maria` is used twice (also members[1]) — give each member their own handle"#,
    )]
    #[case::bad_handle(
        r#"[{ user = "U0MARIA01", handle = "maria g" }]"#,
        r#"conf/standup.toml: team "orbit".members[1].handle: `maria g` is not a valid handle — use letters, digits, `.`, `_` and `-`, e.g. "maria"; or leave handle out to take it from Slack"#,
    )]
    #[case::bad_user(
        r#"[{ user = "maria", handle = "maria" }]"#,
        r#"conf/standup.toml: team "orbit".members[1].user: `maria` is not a Slack user id — use the member id (profile → ⋮ → Copy member ID): U or W then at least 8 capitals or digits, e.g. "U0123ABCD""#,
    )]
    #[case::lower_case_user(
        r#"[{ user = "u0maria01" }]"#,
        r#"conf/standup.toml: team "orbit".members[1].user: `u0maria01` is not a Slack user id — …"#,
    )]
    #[case::missing_user(
        r#"[{ handle = "maria" }]"#,
        r#"conf/standup.toml: team "orbit".members[1].user: missing key `user` — add `user = "U0123ABCD"`"#,
    )]
    #[case::not_a_table(
        r#"["U0MARIA01"]"#,
        r#"conf/standup.toml: team "orbit".members[1]: expected a member table, found a string — write each member as { user = "U0123ABCD", handle = "maria" }"#,
    )]
    #[case::empty(
        "[]",
        r#"conf/standup.toml: team "orbit".members: the team has no members — list at least one member, e.g. members = [{ user = "U0123ABCD", handle = "maria" }]"#,
    )]
    #[case::not_a_list(
        r#""maria""#,
        r#"conf/standup.toml: team "orbit".members: expected a list, found a string — write it as [...]"#,
    )]
    fn member_lists(#[case] members: &str, #[case] expect: &str) {
        check(&team_toml(&[("members", Some(members))]), &[expect]);
    }

    #[test]
    fn members_are_required() {
        check(
            &team_toml(&[("members", None)]),
            &[
                r#"conf/standup.toml: team "orbit".members: missing key `members` — add `members = [...]`"#,
            ],
        );
    }

    #[rstest]
    #[case::channel_name(
        "channel",
        r##""#general""##,
        r##"conf/standup.toml: team "orbit".channel: `#general` is not a Slack channel id — use the channel's id, not its name: C, G or D then at least 8 capitals or digits, e.g. "C0123456789" (channel details → About, at the bottom)"##,
    )]
    #[case::channel_too_short(
        "channel",
        r#""C0123""#,
        r#"conf/standup.toml: team "orbit".channel: `C0123` is not a Slack channel id — …"#
    )]
    #[case::user_id_as_channel(
        "channel",
        r#""U0123456789""#,
        r#"conf/standup.toml: team "orbit".channel: `U0123456789` is not a Slack channel id — …"#
    )]
    #[case::admin(
        "admins",
        r#"["U0ADMIN01", "admin"]"#,
        r#"conf/standup.toml: team "orbit".admins[2]: `admin` is not a Slack user id — …"#
    )]
    #[case::admin_not_a_string(
        "admins",
        "[42]",
        r#"conf/standup.toml: team "orbit".admins[1]: expected a Slack user id string, found a number — write admins = ["U0123ABCD", ...]"#,
    )]
    #[case::team_id(
        "id",
        r#""Orbit Team""#,
        r#"conf/standup.toml: team[1].id: `Orbit Team` is not a valid team id — use lower-case letters, digits, `-` and `_`, e.g. "orbit""#,
    )]
    #[case::empty_name(
        "name",
        r#""  ""#,
        r#"conf/standup.toml: team "orbit".name: the team name is empty — e.g. name = "Team Orbit""#,
    )]
    #[case::wrong_type(
        "per_member_timezone",
        r#""yes""#,
        r#"conf/standup.toml: team "orbit".per_member_timezone: expected true or false, found a string — write it as true"#,
    )]
    #[case::follow_through(
        "follow_through",
        r#""on""#,
        r#"conf/standup.toml: team "orbit".follow_through: expected true or false, found a string — write it as true"#,
    )]
    #[case::planned_vs_done(
        "planned_vs_done",
        "1",
        r#"conf/standup.toml: team "orbit".planned_vs_done: expected true or false, found a number — write it as true"#,
    )]
    #[case::home_not_a_bool(
        "home",
        r#""off""#,
        r#"conf/standup.toml: team "orbit".home: expected true or false, found a string — write it as true"#,
    )]
    #[case::onboarding_not_a_bool(
        "onboarding",
        "1",
        r#"conf/standup.toml: team "orbit".onboarding: expected true or false, found a number — write it as true"#,
    )]
    fn ids_and_types(#[case] key: &str, #[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[(key, Some(value))]), &[expect]);
    }

    #[rstest]
    #[case::typo(
        r#""Europe/Berln""#,
        r#"conf/standup.toml: team "orbit".timezone: unknown time zone `Europe/Berln` (did you mean `Europe/Berlin`?) — use an IANA time zone name, e.g. "Europe/Berlin", "America/New_York" or "UTC""#,
    )]
    #[case::case(
        r#""europe/berlin""#,
        r#"conf/standup.toml: team "orbit".timezone: unknown time zone `europe/berlin` (did you mean `Europe/Berlin`?) — …"#,
    )]
    #[case::abbreviation(
        r#""CEST""#,
        r#"conf/standup.toml: team "orbit".timezone: unknown time zone `CEST` (did you mean `CET`?) — use an IANA time zone name, e.g. "Europe/Berlin", …"#,
    )]
    #[case::nonsense(
        r#""Mars/Olympus_Mons""#,
        r#"conf/standup.toml: team "orbit".timezone: unknown time zone `Mars/Olympus_Mons` — use an IANA time zone name, e.g. "Europe/Berlin", "America/New_York" or "UTC""#,
    )]
    fn time_zones(#[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[("timezone", Some(value))]), &[expect]);
    }

    #[rstest]
    #[case::out_of_range(
        "prompt",
        r#""0 25 * * Mon-Fri""#,
        r#"conf/standup.toml: team "orbit".prompt: invalid cron expression `0 25 * * Mon-Fri`: Component error: Number out of bounds. in the hour field `25` (allowed: 0-23) — write crontab: minute hour day-of-month month day-of-week (or 6 fields with seconds first), e.g. "0 9 * * Mon-Fri" for 09:00 on weekdays"#,
    )]
    #[case::too_few_fields(
        "sync",
        r#""14 * * Mon""#,
        r#"conf/standup.toml: team "orbit".sync: invalid cron expression `14 * * Mon`: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 4 — write crontab: …"#,
    )]
    #[case::never_fires(
        "sync",
        r#""0 14 30 2 *""#,
        r#"conf/standup.toml: team "orbit".sync: the cron expression `0 14 30 2 *` never fires — check the day and month fields; write crontab: …"#,
    )]
    #[case::missing(
        "prompt",
        "",
        r#"conf/standup.toml: team "orbit".prompt: missing key `prompt` — add `prompt = "0 9 * * Mon-Fri"`"#,
    )]
    #[case::not_a_string(
        "prompt",
        "9",
        r#"conf/standup.toml: team "orbit".prompt: expected a string, found a number — write it as "0 9 * * Mon-Fri""#,
    )]
    fn schedules(#[case] key: &str, #[case] value: &str, #[case] expect: &str) {
        let value = (!value.is_empty()).then_some(value);
        check(&team_toml(&[(key, value)]), &[expect]);
    }

    #[rstest]
    #[case::bare_number(
        "remind_after",
        r#""90""#,
        r#"conf/standup.toml: team "orbit".remind_after: invalid duration: `90` has no unit: write it as e.g. 90m or 90s — write a number with a unit: 30s, 30m, 2h, 1h30m or 1d"#,
    )]
    #[case::words(
        "post_before",
        r#""2 hours""#,
        r#"conf/standup.toml: team "orbit".post_before: invalid duration: unknown unit `hours` in `2 hours` (units are d, h, m, s) — …"#,
    )]
    #[case::a_week(
        "post_before",
        r#""7d""#,
        r#"conf/standup.toml: team "orbit".post_before: post_before must be less than 7 days: a team's meetings can be a week apart — post the notes shortly before the meeting, e.g. post_before = "30m""#,
    )]
    #[case::zero_reminder(
        "remind_after",
        r#""0s""#,
        r#"conf/standup.toml: team "orbit".remind_after: remind_after is zero: the reminder would go out with the prompt — e.g. remind_after = "2h""#,
    )]
    #[case::missing(
        "post_before",
        "",
        r#"conf/standup.toml: team "orbit".post_before: missing key `post_before` — add `post_before = "30m"`"#,
    )]
    fn durations(#[case] key: &str, #[case] value: &str, #[case] expect: &str) {
        let value = (!value.is_empty()).then_some(value);
        check(&team_toml(&[(key, value)]), &[expect]);
    }

    #[test]
    fn just_under_a_week_is_fine() {
        let config = loaded(&team_toml(&[("post_before", Some(r#""6d23h""#))]));
        assert_eq!(
            config.teams[0].post_before,
            Duration::from_secs(6 * 86_400 + 23 * 3600)
        );
    }

    #[rstest]
    #[case::no_date(
        r#""Team Orbit Planning""#,
        r#"conf/standup.toml: team "orbit".title: the title has no {date}, so every meeting's notes would have the same title — add {date}, e.g. title = "{name} Planning {date}""#,
    )]
    #[case::unknown_placeholder(
        r#""{team} Planning {date}""#,
        r#"conf/standup.toml: team "orbit".title: unknown placeholder {team} in the title — the title can use {date} (the meeting date) and {name} (the team name)"#,
    )]
    fn titles(#[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[("title", Some(value))]), &[expect]);
    }

    #[rstest]
    #[case::typo(
        r#""planing""#,
        r#"conf/standup.toml: team "orbit".format: unknown format `planing` (did you mean `planning`?) — use "planning", "standup", or the path of a template file relative to `conf`"#,
    )]
    #[case::missing_template(
        r#""templates/orbit.md.j2""#,
        r#"conf/standup.toml: team "orbit".format: template file `conf/templates/orbit.md.j2` does not exist — use "planning", "standup", or the path of a template file relative to `conf`"#,
    )]
    fn formats(#[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[("format", Some(value))]), &[expect]);
    }

    #[rstest]
    #[case::base_format_with_builtin(
        &[("base_format", Some(r#""standup""#))],
        r#"conf/standup.toml: team "orbit".base_format: base_format only applies to a custom template — remove base_format, or set format to the path of a template file (format is the built-in "planning")"#,
    )]
    #[case::unknown_base_format(
        &[("base_format", Some(r#""stand-up""#))],
        r#"conf/standup.toml: team "orbit".base_format: unknown base format `stand-up` (did you mean `standup`?) — use "planning" or "standup""#,
    )]
    fn base_formats(#[case] changes: &[(&str, Option<&str>)], #[case] expect: &str) {
        check(&team_toml(changes), &[expect]);
    }

    /// A config file in a fresh directory holding `templates/notes.md.j2` with `template`.
    fn with_template(
        template: &str,
        changes: &[(&str, Option<&str>)],
    ) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/notes.md.j2"), template).unwrap();
        let mut all = vec![("format", Some(r#""templates/notes.md.j2""#))];
        all.extend_from_slice(changes);
        let path = dir.path().join("standup.toml");
        (dir, path, team_toml(&all))
    }

    #[test]
    fn custom_template_is_resolved_next_to_the_config() {
        let (dir, path, text) = with_template(
            "# {{ title }}\n{% for e in entries %}@{{ e.handle }}\n{% endfor %}",
            &[("base_format", Some(r#""standup""#)), ("title", None)],
        );
        let config = Config::from_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        let team = &config.teams[0];
        assert_eq!(team.format, Format::Standup);
        assert_eq!(
            team.template.as_deref(),
            Some(dir.path().join("templates/notes.md.j2").as_path())
        );
        assert_eq!(team.title, "Standup meeting - {date}");

        let (dir, path, text) = with_template("{{ title }}", &[]);
        let config = Config::from_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.teams[0].format,
            Format::Planning,
            "base_format defaults to planning"
        );
        drop(dir);
    }

    #[test]
    fn custom_template_with_a_syntax_error() {
        let (dir, path, text) = with_template(
            "# {{ title }}\n\n{% for e in entries %}\n@{{ e.handle | }}\n{% endfor %}\n",
            &[],
        );
        let error = Config::from_str(&text, &path).unwrap_err().to_string();
        let template = dir.path().join("templates/notes.md.j2");
        assert_eq!(
            error,
            format!(
                "{}: team \"orbit\".format: template `{}` line 4: syntax error: unexpected end of variable block, expected identifier — fix the template (minijinja syntax: {{{{ value }}}}, \
                 {{% for %}} … {{% endfor %}})",
                path.display(),
                template.display()
            )
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = format!(
            "[slack]\napi_url = \"slack.com/api\"\n\n{}\n{}",
            team_toml(&[("promt", Some(r#""x""#)), ("channel", Some(r#""general""#))]),
            team_toml(&[
                ("id", Some(r#""platform""#)),
                ("timezone", Some(r#""Berlin""#)),
                ("post_before", Some(r#""90""#)),
                ("members", Some("[]")),
            ]),
        );
        check(
            &text,
            &[
                r#"conf/standup.toml: slack.api_url: `slack.com/api` is not an http(s) URL — use "https://slack.com/api", or e.g. "http://127.0.0.1:8080/api" for a local Slack emulator"#,
                r#"conf/standup.toml: team "orbit".promt: unknown key `promt` (did you mean `prompt`?) — …"#,
                r#"conf/standup.toml: team "orbit".channel: `general` is not a Slack channel id — …"#,
                r#"conf/standup.toml: team "platform".timezone: unknown time zone `Berlin` — …"#,
                r#"conf/standup.toml: team "platform".post_before: invalid duration: `90` has no unit: …"#,
                r#"conf/standup.toml: team "platform".members: the team has no members — …"#,
            ],
        );
    }

    #[rstest]
    #[case::empty_file("")]
    #[case::only_other_sections("[database]\npath = \"x.db\"\n")]
    #[case::empty_list("team = []\n")]
    fn no_team(#[case] text: &str) {
        check(
            text,
            &[
                "conf/standup.toml: team: no [[team]] defined — add a [[team]] section with id, name, channel, format, prompt, sync, post_before, remind_after and members (see config/standup.example.toml)",
            ],
        );
    }

    #[test]
    fn team_entries_must_be_tables() {
        check(
            "team = [\"orbit\"]\n",
            &[
                "conf/standup.toml: team[1]: expected a [[team]] table, found a string — write each team as a [[team]] section",
            ],
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "C".repeat(30) + &"x".repeat(70);
        let error = load(&team_toml(&[("channel", Some(&format!("\"{long}\"")))])).unwrap_err();
        let message = &error.problems()[0].message;
        assert_eq!(
            message,
            &format!("`{}…` is not a Slack channel id", &long[..60])
        );
    }

    #[test]
    fn single_bracket_team() {
        let text = team_toml(&[]).replace("[[team]]", "[team]");
        check(
            &text,
            &[
                "conf/standup.toml: team: expected [[team]] sections, found a table — write each team as a [[team]] section (two brackets)",
            ],
        );
    }

    #[rstest]
    #[case::empty_database_path(
        "[database]\npath = \"\"\n",
        r#"conf/standup.toml: database.path: the database path is empty — remove the key to use "data/standup.db", or name a file"#,
    )]
    #[case::database_not_a_table(
        "database = \"x.db\"\n",
        "conf/standup.toml: database: expected a table, found a string — write it as a [database] section"
    )]
    #[case::api_url_scheme(
        "[slack]\napi_url = \"ftp://slack.com/api\"\n",
        r#"conf/standup.toml: slack.api_url: `ftp://slack.com/api` is not an http(s) URL — …"#
    )]
    fn sections(#[case] head: &str, #[case] expect: &str) {
        check(&format!("{head}\n{}", team_toml(&[])), &[expect]);
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let text = format!("{}prompt = \"0 9 * * *\n", team_toml(&[("prompt", None)]));
        let error = load(&text).unwrap_err();
        let ConfigError::Syntax { line, column, .. } = &error else {
            panic!("expected a syntax error, got {error}");
        };
        // toml points at the end of the line, where the closing quote is missing.
        assert_eq!((*line, *column), (text.lines().count(), 20));
        assert!(
            error
                .to_string()
                .starts_with(&format!("conf/standup.toml:{line}:20: TOML syntax error: ")),
            "{error}"
        );
    }

    #[test]
    fn unreadable_file_names_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.toml");
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "{}: cannot read the config file: ",
                path.display()
            )),
            "{error}"
        );
        assert!(error.contains("No such file or directory"), "{error}");
    }

    #[test]
    fn default_path_prefers_the_real_config() {
        // Tests run in the crate root, where only the example is checked in.
        let expect = if Path::new(DEFAULT_PATH).exists() {
            DEFAULT_PATH
        } else {
            EXAMPLE_PATH
        };
        assert_eq!(default_path(), PathBuf::from(expect));
        assert!(default_path().exists());
    }

    #[rstest]
    #[case("promt", Some("prompt"))]
    #[case("timezon", Some("timezone"))]
    #[case("Members", Some("members"))]
    #[case("xyz", None)]
    fn suggestions(#[case] word: &str, #[case] expect: Option<&str>) {
        assert_eq!(suggest(word, TEAM_KEYS.iter().copied()), expect);
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn secrets_from_variables() {
        let secrets = Secrets::from_lookup(env(&[
            ("SLACK_BOT_TOKEN", "xoxb-111-222-abc"),
            ("SLACK_APP_TOKEN", "xapp-1-A111-222-def"),
            ("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5"),
        ]))
        .unwrap();
        assert_eq!(
            secrets.bot_token.as_ref().map(Secret::expose),
            Some("xoxb-111-222-abc")
        );
        assert_eq!(
            secrets.app_token.as_ref().map(Secret::expose),
            Some("xapp-1-A111-222-def")
        );
        assert_eq!(
            secrets.signing_secret.as_ref().map(Secret::expose),
            Some("8f742231b10e8888abcd99yyyzzz85a5")
        );
        let debug = format!("{secrets:?}");
        assert!(
            debug.contains("bot_token: Some(Secret(16 chars))"),
            "{debug}"
        );
        assert!(
            !debug.contains("abc") && !debug.contains("def") && !debug.contains("8f74"),
            "{debug}"
        );
        assert_eq!(secrets.bot_token.unwrap().to_string(), "Secret(16 chars)");
    }

    #[test]
    fn unset_and_empty_secrets_are_absent() {
        let secrets = Secrets::from_lookup(env(&[("SLACK_APP_TOKEN", "")])).unwrap();
        assert_eq!(secrets, Secrets::default());
    }

    #[test]
    fn secrets_from_files_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bot_token");
        std::fs::write(&file, "xoxb-111-222-abc\n").unwrap();
        let secrets =
            Secrets::from_lookup(env(&[("SLACK_BOT_TOKEN_FILE", file.to_str().unwrap())])).unwrap();
        assert_eq!(
            secrets.bot_token.as_ref().map(Secret::expose),
            Some("xoxb-111-222-abc")
        );
    }

    #[rstest]
    #[case::swapped_tokens(
        &[("SLACK_BOT_TOKEN", "xapp-1-A111-s3cr3t"), ("SLACK_APP_TOKEN", "xoxb-111-s3cr3t")],
        &[
            "environment: SLACK_BOT_TOKEN: the value does not start with xoxb- (it starts with xapp-) — use the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions)",
            "environment: SLACK_APP_TOKEN: the value does not start with xapp- (it starts with xoxb-) — use an app-level token (xapp-…, under Basic Information → App-Level Tokens, with the connections:write scope)",
        ],
    )]
    #[case::bearer_prefix(
        &[("SLACK_BOT_TOKEN", "Bearer xoxb-111-s3cr3t")],
        &["environment: SLACK_BOT_TOKEN: the secret contains spaces or control characters — use the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions) and copy it without quotes or a `Bearer` prefix"],
    )]
    #[case::user_token(
        &[("SLACK_BOT_TOKEN", "xoxp-111-s3cr3t")],
        &["environment: SLACK_BOT_TOKEN: the value does not start with xoxb- (it starts with xoxp-) — …"],
    )]
    #[case::both_ways(
        &[("SLACK_SIGNING_SECRET", "s3cr3t"), ("SLACK_SIGNING_SECRET_FILE", "/run/secrets/s3cr3t")],
        &["environment: SLACK_SIGNING_SECRET: both SLACK_SIGNING_SECRET and SLACK_SIGNING_SECRET_FILE are set — unset one of them"],
    )]
    fn bad_secrets(#[case] vars: &[(&str, &str)], #[case] expect: &[&str]) {
        let error = Secrets::from_lookup(env(vars)).unwrap_err();
        let rendered = error.to_string();
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
        let got: Vec<&str> = rendered.lines().collect();
        assert_eq!(got.len(), expect.len(), "{rendered}");
        for (got, want) in got.iter().zip(expect) {
            match want.strip_suffix('…') {
                Some(prefix) => assert!(got.starts_with(prefix), "{got}"),
                None => assert_eq!(got, want),
            }
        }
    }

    #[test]
    fn unreadable_secret_file_names_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nope");
        let error = Secrets::from_lookup(env(&[("SLACK_APP_TOKEN_FILE", file.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        let expect = format!(
            "environment: SLACK_APP_TOKEN_FILE: cannot read `{}`: No such file or directory (os \
             error 2) — point SLACK_APP_TOKEN_FILE at a readable file that holds only the secret",
            file.display()
        );
        assert_eq!(error, expect);
    }

    #[test]
    fn empty_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty");
        std::fs::write(&file, "\n").unwrap();
        let error = Secrets::from_lookup(env(&[("SLACK_BOT_TOKEN_FILE", file.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("environment: SLACK_BOT_TOKEN_FILE: the secret is empty — "),
            "{error}"
        );
    }

    #[test]
    fn time_off_keys() {
        let team = &loaded(&team_toml(&[
            ("working_days", Some(r#"["Mon", "tuesday", "Fri"]"#)),
            (
                "holidays",
                Some(r#"["2026-12-25", 2026-12-31, "2026-12-24..2026-12-26"]"#),
            ),
            (
                "ooo_emoji",
                Some(r#"[":palm_tree:", "face_with_thermometer"]"#),
            ),
            ("quiet_hours", Some(r#""18:00-09:00""#)),
            (
                "members",
                Some(r#"[{ user = "U0MARIA01", handle = "maria", quiet_hours = "12:00-13:00" }]"#),
            ),
        ]))
        .teams[0];
        let off = &team.timeoff;
        use chrono::Weekday::{Fri, Mon, Tue};
        assert_eq!(off.working_days, Some(vec![Mon, Tue, Fri]));
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            off.holidays,
            [
                (d("2026-12-25"), d("2026-12-25")),
                (d("2026-12-31"), d("2026-12-31")),
                (d("2026-12-24"), d("2026-12-26"))
            ]
        );
        assert_eq!(off.ooo_emoji, ["palm_tree", "face_with_thermometer"]);
        assert_eq!(off.quiet_hours.unwrap().to_string(), "18:00-09:00");
        assert_eq!(
            team.members[0].quiet_hours.unwrap().to_string(),
            "12:00-13:00"
        );
        // Without the keys: every day works, no holidays, :palm_tree: means out of office.
        let plain = &loaded(&team_toml(&[])).teams[0].timeoff;
        assert_eq!(plain.working_days, None);
        assert!(plain.holidays.is_empty());
        assert_eq!(plain.ooo_emoji, ["palm_tree"]);
        assert_eq!(plain.quiet_hours, None);
        let none = &loaded(&team_toml(&[("ooo_emoji", Some("[]"))])).teams[0].timeoff;
        assert!(none.ooo_emoji.is_empty());
    }

    #[rstest]
    #[case::weekday(
        "working_days",
        r#"["Mon", "Fryday"]"#,
        r#"conf/standup.toml: team "orbit".working_days[2]: `Fryday` is not a day of the week — write Mon, Tue, Wed, Thu, Fri, Sat or Sun"#
    )]
    #[case::no_days(
        "working_days",
        "[]",
        r#"conf/standup.toml: team "orbit".working_days: no working days: nobody would ever be prompted — list the days the team works, e.g. ["Mon", "Tue", "Wed", "Thu", "Fri"], or remove the key for every day"#
    )]
    #[case::days_not_a_list(
        "working_days",
        r#""Mon-Fri""#,
        r#"conf/standup.toml: team "orbit".working_days: expected a list, found a string — write it as ["Mon", "Tue", "Wed", "Thu", "Fri"]"#
    )]
    #[case::holiday_date(
        "holidays",
        r#"["25.12.2026"]"#,
        r#"conf/standup.toml: team "orbit".holidays[1]: `25.12.2026` is not a date — write a date as "2026-12-25" or an inclusive range as "2026-12-24..2026-12-31""#
    )]
    #[case::holiday_range(
        "holidays",
        r#"["2026-12-31..2026-12-24"]"#,
        r#"conf/standup.toml: team "orbit".holidays[1]: the range ends (2026-12-24) before it starts (2026-12-31) — write a date as "2026-12-25" or an inclusive range as "2026-12-24..2026-12-31""#
    )]
    #[case::holiday_number(
        "holidays",
        "[20261225]",
        r#"conf/standup.toml: team "orbit".holidays[1]: expected a string, found a number — write the list as ["2026-12-25", "2026-12-24..2026-12-31"]"#
    )]
    #[case::emoji(
        "ooo_emoji",
        r#"["🌴"]"#,
        r#"conf/standup.toml: team "orbit".ooo_emoji[1]: `🌴` is not an emoji code — write it as Slack shows it, e.g. ":palm_tree:""#
    )]
    #[case::quiet(
        "quiet_hours",
        r#""after six""#,
        r#"conf/standup.toml: team "orbit".quiet_hours: `after six` is not a window like 18:00-09:00 — write the window as "HH:MM-HH:MM" in the member's own time, e.g. "18:00-09:00""#
    )]
    #[case::quiet_time(
        "quiet_hours",
        r#""18:00-9""#,
        r#"conf/standup.toml: team "orbit".quiet_hours: `9` is not a time of day (HH:MM) — …"#
    )]
    #[case::member_quiet(
        "members",
        r#"[{ user = "U0MARIA01", quiet_hours = "09:00-09:00" }]"#,
        r#"conf/standup.toml: team "orbit".members[1].quiet_hours: the window starts and ends at the same time — …"#
    )]
    fn time_off_problems(#[case] key: &str, #[case] value: &str, #[case] expect: &str) {
        check(&team_toml(&[(key, Some(value))]), &[expect]);
    }

    /// A config in a fresh directory whose team reads `holidays.ics` holding `ics`.
    fn with_ics(ics: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("holidays.ics"), ics).unwrap();
        let path = dir.path().join("standup.toml");
        let text = team_toml(&[("holidays_file", Some(r#""holidays.ics""#))]);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn holidays_file_is_read_next_to_the_config() {
        let (_dir, path) = with_ics(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//EN\nBEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227\nSUMMARY:Christmas\nEND:VEVENT\nEND:VCALENDAR\n",
        );
        let config = Config::load(&path).unwrap();
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            config.teams[0].timeoff.holidays,
            [(d("2026-12-24"), d("2026-12-26"))]
        );
    }

    #[test]
    fn holidays_file_problems_name_the_file() {
        let (dir, path) = with_ics("not a calendar\n");
        let err = Config::load(&path).unwrap_err().to_string();
        let ics = dir.path().join("holidays.ics");
        assert_eq!(
            err,
            format!(
                "{}: team \"orbit\".holidays_file: `{}`: line 1: not an iCalendar file (it must start with BEGIN:VCALENDAR) — name an iCalendar (.ics) file relative to `{}` with all-day events (DTSTART;VALUE=DATE:20261225)",
                path.display(),
                ics.display(),
                dir.path().display()
            )
        );
        std::fs::remove_file(&ics).unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("holidays_file: cannot read `{}`", ics.display())),
            "{err}"
        );
        let (_dir, path) = with_ics("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2026\n");
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("holidays_file: `"), "{err}");
    }

    #[test]
    fn threads_default_to_todays_behaviour() {
        let config = loaded(&team_toml(&[]));
        assert_eq!(
            config.teams[0].threads,
            Threads {
                resolved_blockers: true,
                ..Threads::default()
            }
        );
    }

    #[test]
    fn threads_keys_are_read() {
        let config = loaded(&team_toml(&[
            ("updates", Some(r#""thread""#)),
            ("blocker_flags", Some(r#""thread""#)),
            ("escalate_after", Some(r#""2d""#)),
            ("leads", Some(r#"["U0LEAD0001"]"#)),
            ("resolved_blockers", Some("false")),
        ]));
        let t = &config.teams[0].threads;
        assert_eq!(t.updates, UpdatesTo::Thread);
        assert_eq!(t.blocker_flags, FlagsTo::Thread);
        assert_eq!(t.escalate_after, Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(t.leads, vec![UserId::new("U0LEAD0001")]);
        assert!(!t.resolved_blockers);
    }

    #[rstest]
    #[case::updates(
        &[("updates", r#""threads""#)],
        r#"conf/standup.toml: team "orbit".updates: unknown value `threads` — use "document" (only the compiled notes are posted) or "thread" (each update goes into one thread per meeting)"#,
    )]
    #[case::flags(
        &[("blocker_flags", r#""top""#)],
        r#"conf/standup.toml: team "orbit".blocker_flags: unknown value `top` — use "channel" (a message in the channel) or "thread" (a reply in the meeting's thread)"#,
    )]
    #[case::duration(
        &[("escalate_after", r#""2 days""#), ("leads", r#"["U0LEAD0001"]"#)],
        r#"conf/standup.toml: team "orbit".escalate_after: invalid duration: … "#,
    )]
    #[case::zero(
        &[("escalate_after", r#""0s""#), ("leads", r#"["U0LEAD0001"]"#)],
        r#"conf/standup.toml: team "orbit".escalate_after: escalate_after is zero: every blocker would be escalated at once — e.g. escalate_after = "2d", or remove the key to never escalate"#,
    )]
    #[case::no_leads(
        &[("escalate_after", r#""2d""#)],
        r#"conf/standup.toml: team "orbit".leads: escalate_after is set but there is no one to escalate to — add leads = ["U0123ABCD"] (the Slack user ids to mention), or remove escalate_after"#,
    )]
    #[case::bad_lead(
        &[("escalate_after", r#""2d""#), ("leads", r#"["@ana"]"#)],
        r#"conf/standup.toml: team "orbit".leads[1]: `@ana` is not a Slack user id — use the member id …"#,
    )]
    #[case::lead_not_a_string(
        &[("leads", "[42]")],
        r#"conf/standup.toml: team "orbit".leads[1]: expected a Slack user id string, found a number — write leads = ["U0123ABCD", ...]"#,
    )]
    #[case::flag_list_not_bool(
        &[("resolved_blockers", r#""yes""#)],
        r#"conf/standup.toml: team "orbit".resolved_blockers: expected … "#,
    )]
    fn threads_problems(#[case] changes: &[(&str, &str)], #[case] expect: &str) {
        let changes: Vec<(&str, Option<&str>)> =
            changes.iter().map(|(k, v)| (*k, Some(*v))).collect();
        check(&team_toml(&changes), &[expect.trim_end()]);
    }
}
