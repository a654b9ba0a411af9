//! From the file's raw shape to checked, typed values, collecting every problem on the way.
//!
//! Each check records its problem with the key's path (`team "orbit".members[2].user`), the
//! line it is on, and a fix, then carries on with the other keys, so one load reports all of
//! them. Values are parsed into their real types here (cron expressions, time zones, channel
//! ids, template paths), so the rest of the bot never sees a string it has to re-check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;

use super::names::{self, Directory, Lookup, Name};
use super::raw::{
    Field, Found, List, Members, Opt, RawArchive, RawConfig, RawDatabase, RawMember, RawSlack,
    RawTeam, Section, Span, Text, fields_of,
};
use super::secrets::{Secret, is_token, looks_secret, secret_variable};
use super::suggest::{hint, suggest};
use super::{
    ArchiveConfig, Config, DEFAULT_API_URL, DEFAULT_DATABASE_PATH, DEFAULT_STATS_CYCLES,
    DatabaseConfig, FlagsTo, MemberConfig, Problem, SlackConfig, TeamConfig, Threads, UpdatesTo,
};
use standup_core::calendar::{QuietHours, TimeOff};
use standup_core::domain::{ChannelId, Format, TeamId, UserId};
use standup_core::schedule::{Schedule, parse_duration};

/// The most cycles `stats_cycles` may ask for (two years of weekly meetings).
const MAX_STATS_CYCLES: i64 = 104;

/// Longest `post_before` allowed: a team's cycles can be a week apart, so posting a week or more
/// early would post into the previous cycle.
const MAX_POST_BEFORE: Duration = Duration::from_secs(7 * 24 * 3600);

const CRON_FIX: &str = "write crontab: minute hour day-of-month month day-of-week (or 6 fields \
                        with seconds first), e.g. \"0 9 * * Mon-Fri\" for 09:00 on weekdays";
const DURATION_FIX: &str = "write a number with a unit: 30s, 30m, 2h, 1h30m or 1d";

/// Marks a value as unusable because a problem about it has been recorded. Checking carries on
/// with the other keys, so one load reports everything.
pub(super) struct Reported;

type Checked<T> = Result<T, Reported>;

/// A list's items, each with its `key[n]` path.
type Items<'f, T> = Vec<(String, &'f Field<T>)>;

/// A list's texts, each with its `key[n]` path and span.
type Texts<'f> = Vec<(String, Span, &'f str)>;

/// The type a key must have, and how to write one in a fix.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    example: &'static str,
}

const STRING: Kind = Kind {
    name: "a string",
    example: "\"...\"",
};
const BOOL: Kind = Kind {
    name: "true or false",
    example: "true",
};
const INTEGER: Kind = Kind {
    name: "a whole number",
    example: "512",
};
const ARRAY: Kind = Kind {
    name: "a list",
    example: "[...]",
};
const MEMBERS: Kind = Kind {
    name: "a list of members or a channel",
    example: "[{ user = \"@maria\" }, ...] or \"#team-orbit\"",
};

/// Where a table is: the path of its keys (`team "orbit"`) and its header's span, which is
/// where a missing key is reported.
#[derive(Clone)]
struct At<'a> {
    path: &'a str,
    table: Span,
}

impl At<'_> {
    fn key(&self, key: &str) -> String {
        join(self.path, key)
    }
}

/// Builds typed values from the raw file, collecting problems.
pub(super) struct Checker<'t> {
    file: String,
    /// The file's text, to turn spans into line numbers.
    text: &'t str,
    /// Where relative template, archive and holiday paths start.
    dir: PathBuf,
    pub(super) problems: Vec<Problem>,
    /// Who says what the Slack names stand for.
    directory: &'t dyn Directory,
    /// The names it was not asked about, for [`Config::names`].
    names: Vec<Name>,
    /// Whether the team being checked has such a name.
    team_pending: bool,
}

impl<'t> Checker<'t> {
    pub(super) fn new(path: &Path, text: &'t str, directory: &'t dyn Directory) -> Checker<'t> {
        Checker {
            file: path.display().to_string(),
            text,
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            problems: Vec::new(),
            directory,
            names: Vec::new(),
            team_pending: false,
        }
    }

    /// Notes a name kept as written, not looked up.
    fn pending(&mut self, name: Name) {
        self.team_pending = true;
        if !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// The whole configuration, if nothing is wrong with it.
    pub(super) fn config(&mut self, path: &Path, raw: &Section<RawConfig>) -> Option<Config> {
        self.unknown_keys(raw, "");
        let root = &raw.value;
        let database = self.database(root.database.as_ref());
        let slack = self.slack(root.slack.as_ref());
        let archive = self.archive(root.archive.as_ref());
        let teams = self.teams(&root.team);
        match (database, slack, archive) {
            (Ok(database), Ok(slack), Ok(archive)) if self.problems.is_empty() => Some(Config {
                path: path.to_path_buf(),
                database,
                slack,
                archive,
                teams,
                names: std::mem::take(&mut self.names),
            }),
            _ => None,
        }
    }

    /// Records a problem; returns [`Reported`] so callers can `return Err(self.report(..))`.
    fn report(
        &mut self,
        key: &str,
        span: Option<&Span>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Reported {
        let line = span.map(|span| {
            let end = span.start.min(self.text.len());
            self.text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        });
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
        Reported
    }

    /// What was written instead of the wanted type, in words.
    fn describe(&self, found: Found, span: &Span) -> &'static str {
        match found {
            Found::String => "a string",
            Found::Number => "a number",
            Found::Boolean => "a boolean",
            Found::List => "a list",
            Found::TableOrDate => {
                let first = self.text.as_bytes().get(span.start);
                if first.is_some_and(u8::is_ascii_digit) {
                    "a date"
                } else {
                    "a table"
                }
            }
        }
    }

    /// Reports every key of the table that its struct does not have; keys that look like
    /// secrets get their own message. Values are never quoted here.
    fn unknown_keys<T: DeserializeOwned>(&mut self, section: &Section<T>, path: &str) {
        let known = fields_of::<T>();
        for key in section.unknown_keys() {
            let name = key.get_ref();
            let at = join(path, name);
            let span = Some(key.span());
            if let Some(var) = secret_variable(name) {
                self.report(
                    &at,
                    span.as_ref(),
                    "secrets are read from the environment, never from the config file",
                    format!("remove this key and set {var} (or {var}_FILE) in the environment"),
                );
            } else if looks_secret(name) {
                self.report(
                    &at,
                    span.as_ref(),
                    "this looks like a secret; secrets are read from the environment \
                     (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET)",
                    "remove this key",
                );
            } else {
                let hint = hint(suggest(name, known.iter().copied()));
                self.report(
                    &at,
                    span.as_ref(),
                    format!("unknown key `{name}`{hint}"),
                    format!(
                        "remove it or correct its spelling; keys allowed here: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// A written value with its span; one of another type is reported as "expected
    /// `expected`, found ...".
    fn typed<'f, T>(
        &mut self,
        field: &'f Field<T>,
        key: &str,
        expected: &str,
        fix: impl Into<String>,
    ) -> Checked<(&'f T, Span)> {
        match &field.value {
            Ok(value) => Ok((value, field.span.clone())),
            Err(found) => {
                let found = self.describe(*found, &field.span);
                Err(self.report(
                    key,
                    Some(&field.span),
                    format!("expected {expected}, found {found}"),
                    fix,
                ))
            }
        }
    }

    /// The value of an optional key with its span; a value of the wrong type is reported.
    fn get<'f, T>(
        &mut self,
        field: &'f Opt<T>,
        at: &At,
        key: &str,
        want: Kind,
    ) -> Checked<Option<(&'f T, Span)>> {
        let Some(field) = field else { return Ok(None) };
        let fix = format!("write it as {}", want.example);
        self.typed(field, &at.key(key), want.name, fix).map(Some)
    }

    /// Like [`Checker::get`], and reports the key as missing when it is not there.
    fn require<'f, T>(
        &mut self,
        field: &'f Opt<T>,
        at: &At,
        key: &str,
        want: Kind,
    ) -> Checked<(&'f T, Span)> {
        match self.get(field, at, key, want)? {
            Some(value) => Ok(value),
            None => Err(self.report(
                &at.key(key),
                Some(&at.table),
                format!("missing key `{key}`"),
                format!("add `{key} = {}`", want.example),
            )),
        }
    }

    fn string<'f>(
        &mut self,
        field: &'f Opt<String>,
        at: &At,
        key: &str,
    ) -> Checked<Option<(&'f str, Span)>> {
        Ok(self
            .get(field, at, key, STRING)?
            .map(|(s, span)| (s.as_str(), span)))
    }

    /// A required string; `example` is offered as the fix when it is missing.
    fn required_string<'f>(
        &mut self,
        field: &'f Opt<String>,
        at: &At,
        key: &str,
        example: &'static str,
    ) -> Checked<(&'f str, Span)> {
        let want = Kind { example, ..STRING };
        let (value, span) = self.require(field, at, key, want)?;
        Ok((value.as_str(), span))
    }

    /// A `true`/`false` key, `default` when absent.
    fn flag(&mut self, field: &Opt<bool>, at: &At, key: &str, default: bool) -> Checked<bool> {
        Ok(self
            .get(field, at, key, BOOL)?
            .map_or(default, |(value, _)| *value))
    }

    /// A value that must be a table if present.
    fn section<'f, T>(
        &mut self,
        field: Option<&'f Field<Section<T>>>,
        name: &str,
    ) -> Checked<Option<(&'f Section<T>, Span)>> {
        let Some(field) = field else { return Ok(None) };
        let fix = format!("write it as a [{name}] section");
        self.typed(field, name, "a table", fix).map(Some)
    }

    fn database(&mut self, field: Option<&Field<Section<RawDatabase>>>) -> Checked<DatabaseConfig> {
        let (path, max_size_mb, url) = match self.section(field, "database")? {
            None => (None, None, None),
            Some((section, span)) => {
                self.unknown_keys(section, "database");
                let at = At {
                    path: "database",
                    table: span,
                };
                let raw = &section.value;
                let path = self.string(&raw.path, &at, "path");
                let max = self.get(&raw.max_size_mb, &at, "max_size_mb", INTEGER)?;
                let url = self.string(&raw.url, &at, "url")?;
                (path?, max, url)
            }
        };
        let url = match url {
            None => None,
            Some((_, span)) if path.is_some() => {
                return Err(self.report(
                    "database.url",
                    Some(&span),
                    "both a SQLite path and a PostgreSQL url are given",
                    "keep path for SQLite (one bot) or url for PostgreSQL (replicas), not both",
                ));
            }
            Some((url, span)) => match database_url_problem(url) {
                Some(problem) => {
                    return Err(self.report(
                        "database.url",
                        Some(&span),
                        problem,
                        DATABASE_URL_FIX,
                    ));
                }
                None => Some(Secret::new(url)),
            },
        };
        let max_size_mb = match max_size_mb {
            Some((mb, span)) if *mb < 1 => {
                return Err(self.report(
                    "database.max_size_mb",
                    Some(&span),
                    "the size cap must be at least 1 MiB",
                    "remove the key for no cap, or write e.g. max_size_mb = 512",
                ));
            }
            other => other.map(|(mb, _)| *mb as u64),
        };
        let path = match path {
            None => DEFAULT_DATABASE_PATH,
            Some((p, span)) if p.trim().is_empty() => {
                return Err(self.report(
                    "database.path",
                    Some(&span),
                    "the database path is empty",
                    format!("remove the key to use \"{DEFAULT_DATABASE_PATH}\", or name a file"),
                ));
            }
            Some((p, _)) => p,
        };
        Ok(DatabaseConfig {
            path: PathBuf::from(path),
            max_size_mb,
            url,
        })
    }

    fn slack(&mut self, field: Option<&Field<Section<RawSlack>>>) -> Checked<SlackConfig> {
        let url = match self.section(field, "slack")? {
            None => None,
            Some((section, span)) => {
                self.unknown_keys(section, "slack");
                let at = At {
                    path: "slack",
                    table: span,
                };
                self.string(&section.value.api_url, &at, "api_url")?
            }
        };
        let (url, span) = url.map_or((DEFAULT_API_URL, None), |(u, span)| (u.trim(), Some(span)));
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|host| host.trim_matches('/').is_empty()) {
            return Err(self.report(
                "slack.api_url",
                span.as_ref(),
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

    fn archive(&mut self, field: Option<&Field<Section<RawArchive>>>) -> Checked<ArchiveConfig> {
        let Some((section, span)) = self.section(field, "archive")? else {
            return Ok(ArchiveConfig::default());
        };
        self.unknown_keys(section, "archive");
        let at = At {
            path: "archive",
            table: span,
        };
        let raw = &section.value;
        let dir = self.string(&raw.dir, &at, "dir");
        let git = self
            .get(&raw.git, &at, "git", BOOL)?
            .map(|(git, span)| (*git, span));
        let dir = match dir? {
            Some((d, span)) if d.trim().is_empty() => {
                return Err(self.report(
                    "archive.dir",
                    Some(&span),
                    "the archive folder is empty",
                    "remove the key for no archive, or name a folder, e.g. dir = \"notes\"",
                ));
            }
            // Relative to the config file, like templates: the archive sits beside the config.
            Some((d, _)) => Some(self.dir.join(d.trim())),
            None => None,
        };
        if let Some((true, span)) = &git
            && dir.is_none()
        {
            return Err(self.report(
                "archive.git",
                Some(span),
                "git = true needs a folder to commit in",
                "add dir = \"notes\" to [archive], or remove git",
            ));
        }
        Ok(ArchiveConfig {
            dir,
            git: git.is_some_and(|(git, _)| git),
        })
    }

    /// Every `[[team]]` that checks out; the others have had their problems reported.
    fn teams(&mut self, field: &List<Section<RawTeam>>) -> Vec<TeamConfig> {
        let (tables, span): (&[Field<Section<RawTeam>>], _) = match field {
            None => (&[], None),
            Some(field) => {
                let fix = "write each team as a [[team]] section (two brackets)";
                match self.typed(field, "team", "[[team]] sections", fix) {
                    Ok((items, span)) => (items, Some(span)),
                    Err(Reported) => return Vec::new(),
                }
            }
        };
        if tables.is_empty() {
            self.report(
                "team",
                span.as_ref(),
                "no [[team]] defined",
                "add a [[team]] section with id, name, channel, format, prompt, sync, \
                 post_before, remind_after and members (see config/standup.example.toml)",
            );
            return Vec::new();
        }
        let ids: Vec<Option<&str>> = tables
            .iter()
            .map(|t| {
                let id = t.ok()?.value.id.as_ref()?;
                id.ok().map(String::as_str)
            })
            .collect();
        let mut teams = Vec::new();
        for (i, item) in tables.iter().enumerate() {
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
            let fix = "write each team as a [[team]] section";
            let Ok((section, _)) = self.typed(item, &label, "a [[team]] table", fix) else {
                continue;
            };
            let first = id.and_then(|id| ids[..i].iter().position(|o| *o == Some(id)));
            if let (Some(id), Some(first)) = (id, first) {
                let span = section.value.id.as_ref().map(|f| f.span.clone());
                self.report(
                    &join(&label, "id"),
                    span.as_ref(),
                    format!(
                        "duplicate team id {} (team[{}] has it too)",
                        shown(id),
                        first + 1
                    ),
                    "give each [[team]] its own id",
                );
            }
            let at = At {
                path: &label,
                table: item.span.clone(),
            };
            if let Ok(team) = self.team(section, &at) {
                teams.push(team);
            }
        }
        teams
    }

    fn team(&mut self, section: &Section<RawTeam>, at: &At) -> Checked<TeamConfig> {
        self.unknown_keys(section, at.path);
        let raw = &section.value;
        self.team_pending = false;
        // Every key is checked before any error is returned, so all problems get reported.
        let id = self.team_id(raw, at);
        let name = self.name(raw, at);
        let channel = self.channel(raw, at);
        let format = self.format(raw, at);
        let title = self.title(raw, at, format.as_ref().map_or(Format::Planning, |f| f.0));
        let timezone = self.timezone(raw, at);
        let per_member_timezone =
            self.flag(&raw.per_member_timezone, at, "per_member_timezone", false);
        let zone = timezone.as_ref().map_or(Tz::UTC, |tz| *tz);
        let prompt = self.schedule(&raw.prompt, at, "prompt", zone);
        let sync = self.schedule(&raw.sync, at, "sync", zone);
        let post_before = self.post_before(raw, at);
        let remind_after = self.remind_after(raw, at);
        let admins = self.user_list(&raw.admins, at, "admins");
        let follow_through = self.flag(&raw.follow_through, at, "follow_through", true);
        let planned_vs_done = self.flag(&raw.planned_vs_done, at, "planned_vs_done", false);
        let members = self.members(raw, at);
        let timeoff = self.timeoff(raw, at, zone);
        let home = self.flag(&raw.home, at, "home", true);
        let onboarding = self.flag(&raw.onboarding, at, "onboarding", true);
        let threads = self.threads(raw, at);
        let stats_cycles = self.stats_cycles(raw, at);
        let stats_in_document = self.flag(&raw.stats_in_document, at, "stats_in_document", false);
        let (format, template) = format?;
        let (members, members_from) = members?;
        Ok(TeamConfig {
            id: id?,
            name: name?,
            channel: channel?,
            format,
            template,
            title: title?,
            timezone: timezone?,
            per_member_timezone: per_member_timezone?,
            prompt: prompt?,
            sync: sync?,
            post_before: post_before?,
            remind_after: remind_after?,
            admins: admins?,
            follow_through: follow_through?,
            planned_vs_done: planned_vs_done?,
            members,
            members_from,
            source: super::Source::File,
            names_pending: self.team_pending,
            timeoff: timeoff?,
            home: home?,
            onboarding: onboarding?,
            threads: threads?,
            stats_cycles: stats_cycles?,
            stats_in_document: stats_in_document?,
        })
    }

    /// `updates`, `blocker_flags`, `escalate_after`, `leads`, `resolved_blockers`.
    fn threads(&mut self, raw: &RawTeam, at: &At) -> Checked<Threads> {
        let updates = match self.string(&raw.updates, at, "updates") {
            Ok(None | Some(("document", _))) => Ok(UpdatesTo::Document),
            Ok(Some(("thread", _))) => Ok(UpdatesTo::Thread),
            Ok(Some((other, span))) => Err(self.report(
                &at.key("updates"),
                Some(&span),
                format!("unknown value {}", shown(other)),
                "use \"document\" (only the compiled notes are posted) or \"thread\" (each \
                 update goes into one thread per meeting)",
            )),
            Err(reported) => Err(reported),
        };
        let blocker_flags = match self.string(&raw.blocker_flags, at, "blocker_flags") {
            Ok(None | Some(("channel", _))) => Ok(FlagsTo::Channel),
            Ok(Some(("thread", _))) => Ok(FlagsTo::Thread),
            Ok(Some((other, span))) => Err(self.report(
                &at.key("blocker_flags"),
                Some(&span),
                format!("unknown value {}", shown(other)),
                "use \"channel\" (a message in the channel) or \"thread\" (a reply in the meeting's thread)",
            )),
            Err(reported) => Err(reported),
        };
        let escalate_after = match self.string(&raw.escalate_after, at, "escalate_after") {
            Ok(None) => Ok(None),
            Ok(Some((text, span))) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Err(self.report(
                    &at.key("escalate_after"),
                    Some(&span),
                    "escalate_after is zero: every blocker would be escalated at once",
                    "e.g. escalate_after = \"2d\", or remove the key to never escalate",
                )),
                Ok(d) => Ok(Some((d, span))),
                Err(why) => Err(self.report(
                    &at.key("escalate_after"),
                    Some(&span),
                    format!("invalid duration: {why}"),
                    DURATION_FIX,
                )),
            },
            Err(reported) => Err(reported),
        };
        let leads = self.user_list(&raw.leads, at, "leads");
        let resolved_blockers = self.flag(&raw.resolved_blockers, at, "resolved_blockers", true);
        if let (Ok(Some((_, span))), Ok(leads)) = (&escalate_after, &leads)
            && leads.is_empty()
        {
            // Said where escalate_after is: that is the line that asks for leads.
            return Err(self.report(
                &at.key("leads"),
                Some(span),
                "escalate_after is set but there is no one to escalate to",
                "add leads = [\"U0123ABCD\"] (the Slack user ids to mention), or remove \
                 escalate_after",
            ));
        }
        Ok(Threads {
            updates: updates?,
            blocker_flags: blocker_flags?,
            escalate_after: escalate_after?.map(|(d, _)| d),
            leads: leads?,
            resolved_blockers: resolved_blockers?,
        })
    }

    fn stats_cycles(&mut self, raw: &RawTeam, at: &At) -> Checked<usize> {
        let want = Kind {
            example: "8",
            ..INTEGER
        };
        match self.get(&raw.stats_cycles, at, "stats_cycles", want)? {
            None => Ok(DEFAULT_STATS_CYCLES),
            Some((n, _)) if (1..=MAX_STATS_CYCLES).contains(n) => Ok(*n as usize),
            Some((n, span)) => Err(self.report(
                &at.key("stats_cycles"),
                Some(&span),
                format!("{n} cycles is out of range"),
                format!(
                    "write a number from 1 to {MAX_STATS_CYCLES}, e.g. stats_cycles = {DEFAULT_STATS_CYCLES}"
                ),
            )),
        }
    }

    fn team_id(&mut self, raw: &RawTeam, at: &At) -> Checked<TeamId> {
        let (id, span) = self.required_string(&raw.id, at, "id", "\"orbit\"")?;
        if !is_team_id(id) {
            return Err(self.report(
                &at.key("id"),
                Some(&span),
                format!("{} is not a valid team id", shown(id)),
                "use lower-case letters, digits, `-` and `_`, e.g. \"orbit\"",
            ));
        }
        Ok(TeamId::new(id))
    }

    fn name(&mut self, raw: &RawTeam, at: &At) -> Checked<String> {
        let (name, span) = self.required_string(&raw.name, at, "name", "\"Team Orbit\"")?;
        let name = name.trim();
        if name.is_empty() {
            return Err(self.report(
                &at.key("name"),
                Some(&span),
                "the team name is empty",
                "e.g. name = \"Team Orbit\"",
            ));
        }
        Ok(name.to_string())
    }

    fn channel(&mut self, raw: &RawTeam, at: &At) -> Checked<ChannelId> {
        let (channel, span) =
            self.required_string(&raw.channel, at, "channel", "\"#team-orbit\"")?;
        self.channel_ref(&at.key("channel"), &span, channel)
    }

    /// A channel written as `#name` (looked up) or as its id.
    fn channel_ref(&mut self, key: &str, span: &Span, channel: &str) -> Checked<ChannelId> {
        if names::is_channel_name(channel) {
            return match self.directory.channel(channel) {
                Lookup::Found(id) => Ok(id),
                Lookup::Missing(why) => Err(self.report(
                    key,
                    Some(span),
                    format!("{}: {why}", shown(channel)),
                    "check the channel's name in Slack (a private channel is found only once \
                     the bot is in it: `/invite @standup` there), or use its id (channel \
                     details → About, at the bottom)",
                )),
                Lookup::NotAsked => {
                    self.pending(Name::Channel(channel.to_string()));
                    Ok(ChannelId::new(channel))
                }
            };
        }
        if !is_channel_id(channel) {
            return Err(self.report(
                key,
                Some(span),
                format!(
                    "{} is neither a #channel name nor a Slack channel id",
                    shown(channel)
                ),
                "write the channel's name with its `#`, e.g. \"#team-orbit\", or its id: C, G \
                 or D then at least 8 capitals or digits, e.g. \"C0123456789\" (channel \
                 details → About, at the bottom)",
            ));
        }
        Ok(ChannelId::new(channel))
    }

    /// `format` and `base_format`: a built-in format, or a custom template and the built-in
    /// vocabulary it builds on.
    fn format(&mut self, raw: &RawTeam, at: &At) -> Checked<(Format, Option<PathBuf>)> {
        let builtins = || Format::ALL.iter().map(|f| f.name());
        let base = match self.string(&raw.base_format, at, "base_format") {
            Ok(None) => Ok(None),
            Ok(Some((name, span))) => match Format::from_name(name) {
                Some(format) => Ok(Some((format, span))),
                None => {
                    let hint = hint(suggest(name, builtins()));
                    Err(self.report(
                        &at.key("base_format"),
                        Some(&span),
                        format!("unknown base format {}{hint}", shown(name)),
                        "use \"planning\" or \"standup\"",
                    ))
                }
            },
            Err(reported) => Err(reported),
        };
        let (written, span) = self.required_string(&raw.format, at, "format", "\"planning\"")?;
        if let Some(format) = Format::from_name(written) {
            if let Ok(Some((_, base_span))) = &base {
                return Err(self.report(
                    &at.key("base_format"),
                    Some(base_span),
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
                return Err(self.report(&at.key("format"), Some(&span), message, fix));
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
                &at.key("format"),
                Some(&span),
                format!(
                    "template `{}`{line}: {}{detail}",
                    template.display(),
                    error.kind()
                ),
                "fix the template (minijinja syntax: {{ value }}, {% for %} … {% endfor %})",
            ));
        }
        Ok((
            base?.map_or(Format::Planning, |(format, _)| format),
            Some(template),
        ))
    }

    fn timezone(&mut self, raw: &RawTeam, at: &At) -> Checked<Tz> {
        let Some((name, span)) = self.string(&raw.timezone, at, "timezone")? else {
            return Ok(Tz::UTC);
        };
        if let Ok(tz) = name.parse::<Tz>() {
            return Ok(tz);
        }
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        let same_but_case = names.clone().find(|n| n.eq_ignore_ascii_case(name));
        let hint = hint(same_but_case.or_else(|| suggest(name, names)));
        Err(self.report(
            &at.key("timezone"),
            Some(&span),
            format!("unknown time zone {}{hint}", shown(name)),
            "use an IANA time zone name, e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\"",
        ))
    }

    /// `format` picks the default title.
    fn title(&mut self, raw: &RawTeam, at: &At, format: Format) -> Checked<String> {
        let default = match format {
            Format::Planning => "{name} Planning {date}",
            Format::Standup => "Standup meeting - {date}",
        };
        let Some((title, span)) = self.string(&raw.title, at, "title")? else {
            return Ok(default.to_string());
        };
        let key = at.key("title");
        let unknown: Vec<&str> = placeholders(title)
            .into_iter()
            .filter(|p| !matches!(*p, "{date}" | "{name}"))
            .collect();
        if !unknown.is_empty() {
            return Err(self.report(
                &key,
                Some(&span),
                format!("unknown placeholder {} in the title", unknown.join(", ")),
                "the title can use {date} (the meeting date) and {name} (the team name)",
            ));
        }
        if !title.contains("{date}") {
            return Err(self.report(
                &key,
                Some(&span),
                "the title has no {date}, so every meeting's notes would have the same title",
                format!("add {{date}}, e.g. title = \"{default}\""),
            ));
        }
        Ok(title.to_string())
    }

    /// A cron key; `tz` is only used to check that it ever fires.
    fn schedule(&mut self, field: &Opt<String>, at: &At, key: &str, tz: Tz) -> Checked<Schedule> {
        let (text, span) = self.required_string(field, at, key, "\"0 9 * * Mon-Fri\"")?;
        let schedule = Schedule::parse(text).map_err(|why| {
            self.report(
                &at.key(key),
                Some(&span),
                format!("invalid cron expression {}: {why}", shown(text)),
                CRON_FIX,
            )
        })?;
        if schedule
            .next_after(DateTime::<Utc>::UNIX_EPOCH, tz)
            .is_none()
        {
            return Err(self.report(
                &at.key(key),
                Some(&span),
                format!("the cron expression {} never fires", shown(text)),
                format!("check the day and month fields; {CRON_FIX}"),
            ));
        }
        Ok(schedule)
    }

    fn duration(&mut self, field: &Opt<String>, at: &At, key: &str) -> Checked<(Duration, Span)> {
        let (text, span) = self.required_string(field, at, key, "\"30m\"")?;
        match parse_duration(text) {
            Ok(duration) => Ok((duration, span)),
            Err(why) => Err(self.report(
                &at.key(key),
                Some(&span),
                format!("invalid duration: {why}"),
                DURATION_FIX,
            )),
        }
    }

    fn post_before(&mut self, raw: &RawTeam, at: &At) -> Checked<Duration> {
        let (duration, span) = self.duration(&raw.post_before, at, "post_before")?;
        if duration >= MAX_POST_BEFORE {
            return Err(self.report(
                &at.key("post_before"),
                Some(&span),
                "post_before must be less than 7 days: a team's meetings can be a week apart",
                "post the notes shortly before the meeting, e.g. post_before = \"30m\"",
            ));
        }
        Ok(duration)
    }

    fn remind_after(&mut self, raw: &RawTeam, at: &At) -> Checked<Duration> {
        let (duration, span) = self.duration(&raw.remind_after, at, "remind_after")?;
        if duration.is_zero() {
            return Err(self.report(
                &at.key("remind_after"),
                Some(&span),
                "remind_after is zero: the reminder would go out with the prompt",
                "e.g. remind_after = \"2h\"",
            ));
        }
        Ok(duration)
    }

    /// The items of a list key, each with its `key[n]` path and span; `None` when absent.
    fn items<'f, T>(
        &mut self,
        field: &'f List<T>,
        at: &At,
        key: &str,
        want: Kind,
    ) -> Checked<Option<(Items<'f, T>, Span)>> {
        let Some((items, span)) = self.get(field, at, key, want)? else {
            return Ok(None);
        };
        let list = at.key(key);
        let items = items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{list}[{}]", i + 1), item))
            .collect();
        Ok(Some((items, span)))
    }

    /// A list of Slack user ids (`admins`, `leads`), each checked.
    fn user_list(&mut self, field: &List<String>, at: &At, name: &str) -> Checked<Vec<UserId>> {
        let Some((items, _)) = self.items(field, at, name, ARRAY)? else {
            return Ok(Vec::new());
        };
        let mut users = Vec::new();
        let mut result = Ok(());
        for (key, item) in items {
            let fix = format!("write {name} = [\"U0123ABCD\", ...]");
            let user = self
                .typed(item, &key, "a Slack user id string", fix)
                .and_then(|(user, span)| self.user_id(&key, &span, user));
            match user {
                Ok(user) => users.push(user),
                Err(reported) => result = Err(reported),
            }
        }
        result.map(|()| users)
    }

    /// A person written as `@handle` or email (looked up) or as their user id.
    fn user_id(&mut self, key: &str, span: &Span, user: &str) -> Checked<UserId> {
        if names::is_user_name(user) {
            return match self.directory.user(user) {
                Lookup::Found(id) => Ok(id),
                Lookup::Missing(why) => Err(self.report(
                    key,
                    Some(span),
                    format!("{}: {why}", shown(user)),
                    "check the name in Slack (their profile shows the display name and email), \
                     or use the member id (profile → ⋮ → Copy member ID)",
                )),
                Lookup::NotAsked => {
                    self.pending(Name::User(user.to_string()));
                    Ok(UserId::new(user))
                }
            };
        }
        if !is_user_id(user) {
            return Err(self.report(
                key,
                Some(span),
                format!("{} is not a Slack user id, @handle or email", shown(user)),
                "write the person as \"@maria\" (their Slack display name), \
                 \"maria@example.com\", or their member id (profile → ⋮ → Copy member ID): U or \
                 W then at least 8 capitals or digits, e.g. \"U0123ABCD\"",
            ));
        }
        Ok(UserId::new(user))
    }

    /// `members`: the list, or a channel's people (`"#team"`) with that channel.
    fn members(
        &mut self,
        raw: &RawTeam,
        at: &At,
    ) -> Checked<(Vec<MemberConfig>, Option<ChannelId>)> {
        let (members, span) = self.require(&raw.members, at, "members", MEMBERS)?;
        let list = at.key("members");
        let items = match members {
            Members::List(items) => items,
            Members::Channel(channel) => {
                let id = self.channel_ref(&list, &span, channel)?;
                let people = if self.names.contains(&Name::Channel(channel.clone())) {
                    // The channel itself was not looked up: neither were its people.
                    Lookup::NotAsked
                } else {
                    self.directory.members_of(&id)
                };
                let users = match people {
                    Lookup::Found(users) if users.is_empty() => {
                        return Err(self.report(
                            &list,
                            Some(&span),
                            format!("{} has nobody in it but bots", shown(channel)),
                            "invite the team to the channel, or list the members",
                        ));
                    }
                    Lookup::Found(users) => users,
                    Lookup::Missing(why) => {
                        return Err(self.report(
                            &list,
                            Some(&span),
                            format!("{}: {why}", shown(channel)),
                            "check the channel, or list the members",
                        ));
                    }
                    Lookup::NotAsked => {
                        self.pending(Name::MembersOf(channel.clone()));
                        Vec::new()
                    }
                };
                let members = users
                    .into_iter()
                    .map(|user| MemberConfig {
                        user,
                        handle: None,
                        quiet_hours: None,
                    })
                    .collect();
                return Ok((members, Some(id)));
            }
        };
        if items.is_empty() {
            return Err(self.report(
                &list,
                Some(&span),
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
            let member = member.and_then(|(member, raw)| {
                let user = member.user.to_string();
                let handle = member.handle.as_deref().map(str::to_lowercase);
                let span_of = |field: &Opt<String>| field.as_ref().map(|f| f.span.clone());
                if let Some(first) = users.get(&user) {
                    return Err(self.report(
                        &join(&key, "user"),
                        span_of(&raw.user).as_ref(),
                        format!("{user} is listed twice (also members[{first}])"),
                        "list each member once",
                    ));
                }
                if let Some(first) = handle.as_ref().and_then(|h| handles.get(h)) {
                    return Err(self.report(
                        &join(&key, "handle"),
                        span_of(&raw.handle).as_ref(),
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
        result.map(|()| (members, None))
    }

    fn member<'f>(
        &mut self,
        item: &'f Field<Section<RawMember>>,
        key: &str,
    ) -> Checked<(MemberConfig, &'f RawMember)> {
        let fix = "write each member as { user = \"U0123ABCD\", handle = \"maria\" }";
        let (section, _) = self.typed(item, key, "a member table", fix)?;
        self.unknown_keys(section, key);
        let at = At {
            path: key,
            table: item.span.clone(),
        };
        let raw = &section.value;
        let user = self
            .required_string(&raw.user, &at, "user", "\"U0123ABCD\"")
            .and_then(|(user, span)| self.user_id(&at.key("user"), &span, user));
        let handle = self.handle(raw, &at);
        let quiet_hours = self.quiet_hours(&raw.quiet_hours, &at);
        let member = MemberConfig {
            user: user?,
            handle: handle?,
            quiet_hours: quiet_hours?,
        };
        Ok((member, raw))
    }

    /// `quiet_hours = "18:00-09:00"` of a team or a member; `None` when absent.
    fn quiet_hours(&mut self, field: &Opt<String>, at: &At) -> Checked<Option<QuietHours>> {
        let Some((written, span)) = self.string(field, at, "quiet_hours")? else {
            return Ok(None);
        };
        written.parse().map(Some).map_err(|why: String| {
            self.report(
                &at.key("quiet_hours"),
                Some(&span),
                why,
                "write the window as \"HH:MM-HH:MM\" in the member's own time, e.g. \"18:00-09:00\"",
            )
        })
    }

    /// `working_days`, `holidays`, `holidays_file`, `ooo_emoji` and the team's `quiet_hours`.
    fn timeoff(&mut self, raw: &RawTeam, at: &At, zone: Tz) -> Checked<TimeOff> {
        let working_days = self.working_days(raw, at);
        let holidays = self.holidays(raw, at, zone);
        let ooo_emoji = self.ooo_emoji(raw, at);
        let quiet_hours = self.quiet_hours(&raw.quiet_hours, at);
        Ok(TimeOff {
            working_days: working_days?,
            holidays: holidays?,
            ooo_emoji: ooo_emoji?,
            quiet_hours: quiet_hours?,
        })
    }

    /// The texts of a list key, each with its `key[n]` path and span; other items are
    /// reported. `None` when absent.
    fn texts<'f>(
        &mut self,
        field: &'f List<Text>,
        at: &At,
        key: &str,
        example: &'static str,
    ) -> Checked<Option<(Texts<'f>, Span)>> {
        let want = Kind { example, ..ARRAY };
        let Some((items, span)) = self.items(field, at, key, want)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let mut result = Ok(());
        for (path, item) in items {
            let fix = format!("write the list as {example}");
            match self.typed(item, &path, "a string", fix) {
                Ok((Text(text), span)) => out.push((path, span, text.as_str())),
                Err(reported) => result = Err(reported),
            }
        }
        result.map(|()| Some((out, span)))
    }

    fn working_days(&mut self, raw: &RawTeam, at: &At) -> Checked<Option<Vec<chrono::Weekday>>> {
        const EXAMPLE: &str = "[\"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\"]";
        let Some((items, span)) = self.texts(&raw.working_days, at, "working_days", EXAMPLE)?
        else {
            return Ok(None);
        };
        if items.is_empty() {
            return Err(self.report(
                &at.key("working_days"),
                Some(&span),
                "no working days: nobody would ever be prompted",
                format!(
                    "list the days the team works, e.g. {EXAMPLE}, or remove the key for every day"
                ),
            ));
        }
        let mut days = Vec::new();
        let mut result = Ok(());
        for (path, span, text) in items {
            match standup_core::calendar::parse_weekday(text) {
                Some(day) => days.push(day),
                None => {
                    result = Err(self.report(
                        &path,
                        Some(&span),
                        format!("{} is not a day of the week", shown(text)),
                        "write Mon, Tue, Wed, Thu, Fri, Sat or Sun",
                    ))
                }
            }
        }
        result.map(|()| Some(days))
    }

    fn holidays(
        &mut self,
        raw: &RawTeam,
        at: &At,
        zone: Tz,
    ) -> Checked<Vec<(NaiveDate, NaiveDate)>> {
        const FIX: &str =
            "write a date as \"2026-12-25\" or an inclusive range as \"2026-12-24..2026-12-31\"";
        let listed = self.texts(
            &raw.holidays,
            at,
            "holidays",
            "[\"2026-12-25\", \"2026-12-24..2026-12-31\"]",
        );
        let file = self.string(&raw.holidays_file, at, "holidays_file");
        let mut days = Vec::new();
        let mut result = Ok(());
        for (path, span, text) in listed?.map(|(items, _)| items).unwrap_or_default() {
            match standup_core::calendar::parse_holiday(text) {
                Ok(range) => days.push(range),
                Err(why) => result = Err(self.report(&path, Some(&span), why, FIX)),
            }
        }
        if let Some((written, span)) = file? {
            let key = at.key("holidays_file");
            let path = self.dir.join(written);
            let fix = format!(
                "name an iCalendar (.ics) file relative to `{}` with all-day events (DTSTART;VALUE=DATE:20261225)",
                display_dir(&self.dir)
            );
            match std::fs::read_to_string(&path) {
                Err(e) => {
                    return Err(self.report(
                        &key,
                        Some(&span),
                        format!("cannot read `{}`: {e}", path.display()),
                        fix,
                    ));
                }
                Ok(text) => match standup_core::calendar::read_ics(&text, zone) {
                    Ok(more) => days.extend(more),
                    Err(why) => {
                        return Err(self.report(
                            &key,
                            Some(&span),
                            format!("`{}`: {why}", path.display()),
                            fix,
                        ));
                    }
                },
            }
        }
        result.map(|()| days)
    }

    /// Status emoji meaning out of office; `[":palm_tree:"]` when absent, `[]` to turn it off.
    fn ooo_emoji(&mut self, raw: &RawTeam, at: &At) -> Checked<Vec<String>> {
        let Some((items, _)) = self.texts(&raw.ooo_emoji, at, "ooo_emoji", "[\":palm_tree:\"]")?
        else {
            return Ok(vec!["palm_tree".to_string()]);
        };
        let mut out = Vec::new();
        let mut result = Ok(());
        for (path, span, text) in items {
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
                    Some(&span),
                    format!("{} is not an emoji code", shown(text)),
                    "write it as Slack shows it, e.g. \":palm_tree:\"",
                ));
            }
        }
        result.map(|()| out)
    }

    /// `None` when absent; a leading `@` is dropped, since people write handles that way.
    fn handle(&mut self, raw: &RawMember, at: &At) -> Checked<Option<String>> {
        let Some((written, span)) = self.string(&raw.handle, at, "handle")? else {
            return Ok(None);
        };
        let handle = written.strip_prefix('@').unwrap_or(written);
        let valid = !handle.is_empty()
            && handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(self.report(
                &at.key("handle"),
                Some(&span),
                format!("{} is not a valid handle", shown(written)),
                "use letters, digits, `.`, `_` and `-`, e.g. \"maria\"; or leave handle out to \
                 take it from Slack",
            ));
        }
        Ok(Some(handle.to_string()))
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
    if is_token(value) {
        return "(a Slack token, not shown)".to_string();
    }
    let short: String = value.chars().take(60).collect();
    if short.len() < value.len() {
        format!("`{short}…`")
    } else {
        format!("`{value}`")
    }
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

/// How a PostgreSQL url is written, for the problems about one.
pub(crate) const DATABASE_URL_FIX: &str = "write postgres://user:password@host:5432/database (or set STANDUP_DATABASE_URL instead, to keep the password out of the file)";

/// What is wrong with a PostgreSQL url, if anything; never quotes it (it may hold a password).
pub(crate) fn database_url_problem(url: &str) -> Option<&'static str> {
    let url = url.trim();
    if url.is_empty() {
        Some("the database url is empty")
    } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        Some("the database url is not a PostgreSQL one (it must start with postgres://)")
    } else {
        None
    }
}
