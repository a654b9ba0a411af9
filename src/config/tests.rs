//! The loader's behaviour, message by message: these expectations are the spec of what
//! `check-config` says.

use std::collections::HashMap;
use std::ffi::OsString;

use rstest::rstest;

use super::raw::{RawTeam, fields_of};
use super::suggest::suggest;
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
/// line ending in `…` only has to start the rendered line. The expectations leave out the line
/// number after the file name (`file:12: key: ...`), which `line_numbers` tests on its own; here
/// it only has to be the line of the key named, or of the table a missing key belongs in.
fn check(text: &str, expect: &[&str]) {
    let error = load(text).expect_err("should fail");
    let rendered = error.to_string();
    let numbered = regex::Regex::new(r"^conf/standup\.toml:(\d+): ").unwrap();
    for problem in error.problems() {
        let Some(line) = problem.line else { continue };
        let written = text.lines().nth(line - 1).unwrap_or_default();
        let last_key = problem.key.rsplit(['.', '[']).next().unwrap_or_default();
        let key = last_key.trim_end_matches(']');
        assert!(
            key.parse::<usize>().is_ok()
                || written.contains(key)
                || written.starts_with('[')
                || problem.message.starts_with("escalate_after")
                || problem.message.starts_with("missing key"),
            "line {line} `{written}` is not where {} is\n{rendered}",
            problem.key
        );
    }
    let rendered = rendered
        .lines()
        .map(|l| numbered.replace(l, "conf/standup.toml: ").into_owned())
        .collect::<Vec<_>>()
        .join("\n");
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
        &["conf/standup.toml: slack.api_uri: unknown key `api_uri` (did you mean `api_url`?) — …"],
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
            r#"conf/standup.toml: team "orbit".channel: (a Slack token, not shown) is neither a #channel name nor a Slack channel id — write the channel's name with its `#`, …"#,
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
    r#"conf/standup.toml: team "orbit".members[1].user: `maria` is not a Slack user id, @handle or email — write the person as "@maria" (their Slack display name), "maria@example.com", or their member id (profile → ⋮ → Copy member ID): U or W then at least 8 capitals or digits, e.g. "U0123ABCD""#,
)]
#[case::lower_case_user(
    r#"[{ user = "u0maria01" }]"#,
    r#"conf/standup.toml: team "orbit".members[1].user: `u0maria01` is not a Slack user id, @handle or email — …"#
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
#[case::not_a_channel(
    r#""maria""#,
    r##"conf/standup.toml: team "orbit".members: `maria` is neither a #channel name nor a Slack channel id — write the channel's name with its `#`, e.g. "#team-orbit", or its id: C, G or D then at least 8 capitals or digits, e.g. "C0123456789" (channel details → About, at the bottom)"##,
)]
#[case::not_a_list(
    "42",
    r##"conf/standup.toml: team "orbit".members: expected a list of members or a channel, found a number — write it as [{ user = "@maria" }, ...] or "#team-orbit""##,
)]
fn member_lists(#[case] members: &str, #[case] expect: &str) {
    check(&team_toml(&[("members", Some(members))]), &[expect]);
}

#[test]
fn members_are_required() {
    check(
        &team_toml(&[("members", None)]),
        &[
            r##"conf/standup.toml: team "orbit".members: missing key `members` — add `members = [{ user = "@maria" }, ...] or "#team-orbit"`"##,
        ],
    );
}

#[rstest]
#[case::channel_name_with_capitals(
    "channel",
    r##""#General""##,
    r##"conf/standup.toml: team "orbit".channel: `#General` is neither a #channel name nor a Slack channel id — write the channel's name with its `#`, e.g. "#team-orbit", or its id: C, G or D then at least 8 capitals or digits, e.g. "C0123456789" (channel details → About, at the bottom)"##,
)]
#[case::channel_too_short(
    "channel",
    r#""C0123""#,
    r#"conf/standup.toml: team "orbit".channel: `C0123` is neither a #channel name nor a Slack channel id — …"#
)]
#[case::user_id_as_channel(
    "channel",
    r#""U0123456789""#,
    r#"conf/standup.toml: team "orbit".channel: `U0123456789` is neither a #channel name nor a Slack channel id — …"#
)]
#[case::admin(
    "admins",
    r#"["U0ADMIN01", "admin"]"#,
    r#"conf/standup.toml: team "orbit".admins[2]: `admin` is not a Slack user id, @handle or email — …"#
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
    r#"conf/standup.toml: team "orbit".name: the team name is empty — e.g. name = "Team Orbit""#
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
    r#"conf/standup.toml: team "orbit".prompt: invalid cron expression `0 25 * * Mon-Fri`: the hour field `25` is not valid (allowed: 0-23) — write crontab: minute hour day-of-month month day-of-week (or 6 fields with seconds first), e.g. "0 9 * * Mon-Fri" for 09:00 on weekdays"#,
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
    r#""2 hors""#,
    r#"conf/standup.toml: team "orbit".post_before: invalid duration: unknown unit `hors` in `2 hors` (units are d, h, m, s) — …"#,
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
            "{}:5: team \"orbit\".format: template `{}` line 4: syntax error: unexpected end of variable block, expected identifier — fix the template (minijinja syntax: {{{{ value }}}}, \
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
            r#"conf/standup.toml: team "orbit".channel: `general` is neither a #channel name nor a Slack channel id — …"#,
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
        &format!(
            "`{}…` is neither a #channel name nor a Slack channel id",
            &long[..60]
        )
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
    assert_eq!(
        suggest(word, fields_of::<RawTeam>().iter().copied()),
        expect
    );
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
            "{}:14: team \"orbit\".holidays_file: `{}`: line 1: not an iCalendar file (it must start with BEGIN:VCALENDAR) — name an iCalendar (.ics) file relative to `{}` with all-day events (DTSTART;VALUE=DATE:20261225)",
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
    &[("escalate_after", r#""2 dayz""#), ("leads", r#"["U0LEAD0001"]"#)],
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
    &[("escalate_after", r#""2d""#), ("leads", r#"["ana"]"#)],
    r#"conf/standup.toml: team "orbit".leads[1]: `ana` is not a Slack user id, @handle or email — write the person as …"#,
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
    let changes: Vec<(&str, Option<&str>)> = changes.iter().map(|(k, v)| (*k, Some(*v))).collect();
    check(&team_toml(&changes), &[expect.trim_end()]);
}

/// A file with problems in nested places: a section key, an item of a list written over several
/// lines, a key of an inline member table, and `[[team.members]]` tables of the second team.
const NESTED: &str = r#"[database]
path = "x.db"
max_size_mb = 0

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "C0123456789"
format = "planning"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
admins = [
  "U0ADMIN01",
  "admin",
]
members = [
  { user = "U0MARIA01", handle = "maria" },
  { user = "U0KENJI01", hadle = "kenji" },
]

[[team]]
id = "platform"
name = "Platform"
channel = "C0999999999"
format = "standup"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = 2

[[team.members]]
user = "U0LI00001"

[[team.members]]
handle = "sam"
quiet_hours = "late"
"#;

#[test]
fn line_numbers_of_nested_keys_and_arrays_of_tables() {
    let error = load(NESTED).unwrap_err();
    let got: Vec<(Option<usize>, &str)> = error
        .problems()
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(3), "database.max_size_mb"),
            (Some(16), r#"team "orbit".admins[2]"#),
            (Some(20), r#"team "orbit".members[2].hadle"#),
            (Some(31), r#"team "platform".remind_after"#),
            // A missing key is reported at the header of the table it belongs in.
            (Some(36), r#"team "platform".members[2].user"#),
            (Some(38), r#"team "platform".members[2].quiet_hours"#),
        ],
        "{error}"
    );
    let rendered = error.to_string();
    let lines: Vec<&str> = rendered.lines().collect();
    assert_eq!(
        lines[2],
        "conf/standup.toml:20: team \"orbit\".members[2].hadle: unknown key `hadle` (did you mean \
         `handle`?) — remove it or correct its spelling; keys allowed here: user, handle, \
         quiet_hours"
    );
    assert_eq!(
        lines[3],
        "conf/standup.toml:31: team \"platform\".remind_after: expected a string, found a number \
         — write it as \"30m\""
    );
    assert!(
        lines[5].starts_with(
            "conf/standup.toml:38: team \"platform\".members[2].quiet_hours: `late` is not a window"
        ),
        "{rendered}"
    );
}

#[test]
fn several_problems_at_once_each_on_its_own_line() {
    let text = "\
[slack]
api_url = \"slack.com/api\"
bot_token = \"xoxb-1-s3cr3t\"

[archive]
git = true

[[team]]
id = \"orbit\"
name = 2026-01-01
channel = \"general\"
format = \"planing\"
prompt = \"0 9 * * Mon-Fri\"
sync = \"0 14 30 2 *\"
post_before = \"7d\"
remind_after = \"2h\"
holidays = [2026-12-25, 20261226]
members = [\"U0MARIA01\"]
";
    let error = load(text).unwrap_err();
    let got: Vec<String> = error
        .problems()
        .iter()
        .map(|p| format!("{}: {}: {}", p.line.unwrap_or(0), p.key, p.message))
        .collect();
    assert_eq!(
        got,
        [
            "3: slack.bot_token: secrets are read from the environment, never from the config file",
            "2: slack.api_url: `slack.com/api` is not an http(s) URL",
            "6: archive.git: git = true needs a folder to commit in",
            "10: team \"orbit\".name: expected a string, found a date",
            "11: team \"orbit\".channel: `general` is neither a #channel name nor a Slack channel id",
            "12: team \"orbit\".format: unknown format `planing` (did you mean `planning`?)",
            "14: team \"orbit\".sync: the cron expression `0 14 30 2 *` never fires",
            "15: team \"orbit\".post_before: post_before must be less than 7 days: a team's meetings can be a week apart",
            "18: team \"orbit\".members[1]: expected a member table, found a string",
            "17: team \"orbit\".holidays[2]: expected a string, found a number",
        ],
        "{error}"
    );
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
}

#[test]
fn the_allowed_keys_are_the_fields_serde_reads() {
    assert_eq!(
        fields_of::<super::raw::RawConfig>(),
        ["database", "slack", "archive", "team"]
    );
    assert_eq!(
        fields_of::<super::raw::RawMember>(),
        ["user", "handle", "quiet_hours"]
    );
}

#[test]
fn a_missing_holidays_file_next_to_a_config_in_the_current_folder_names_the_folder() {
    let text = format!(
        "{}holidays_file = \"no-such-holidays.ics\"\n",
        team_toml(&[])
    );
    let err = Config::from_str(&text, Path::new("standup.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("relative to `.` with all-day events"), "{err}");
    assert!(!err.contains("``"), "{err}");
}

/// A workspace as a directory of names: `@maria` and `kenji@example.com` are people,
/// `#team-orbit` a channel of two people, `#empty` one with only bots.
struct Workspace;

impl names::Directory for Workspace {
    fn user(&self, name: &str) -> names::Lookup<UserId> {
        match name {
            "@maria" => names::Lookup::Found(UserId::new("U0MARIA01")),
            "kenji@example.com" => names::Lookup::Found(UserId::new("U0KENJI01")),
            _ => names::Lookup::Missing("nobody in the workspace goes by this name".into()),
        }
    }

    fn channel(&self, name: &str) -> names::Lookup<ChannelId> {
        match name {
            "#team-orbit" => names::Lookup::Found(ChannelId::new("C0ORBIT001")),
            "#empty" => names::Lookup::Found(ChannelId::new("C0EMPTY001")),
            _ => names::Lookup::Missing("no channel has this name".into()),
        }
    }

    fn members_of(&self, channel: &ChannelId) -> names::Lookup<Vec<UserId>> {
        match channel.as_str() {
            "C0ORBIT001" => {
                names::Lookup::Found(vec![UserId::new("U0MARIA01"), UserId::new("U0KENJI01")])
            }
            _ => names::Lookup::Found(Vec::new()),
        }
    }
}

fn with_names(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with(text, Path::new(FILE), &Workspace)
}

#[test]
fn names_are_kept_for_slack_offline_and_become_ids_with_its_answers() {
    let text = team_toml(&[
        ("channel", Some(r##""#team-orbit""##)),
        (
            "members",
            Some(r#"[{ user = "@maria" }, { user = "kenji@example.com", handle = "kenji" }]"#),
        ),
        ("admins", Some(r#"["@maria"]"#)),
    ]);
    // Offline: checked for their form, each listed once, the team marked as waiting for them.
    let offline = loaded(&text);
    let names: Vec<String> = offline.names.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["#team-orbit", "@maria", "kenji@example.com"]);
    assert!(offline.teams[0].names_pending);
    // With Slack's answers: ids, nothing pending, the same as if ids had been written.
    let config = with_names(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.names.is_empty());
    let team = &config.teams[0];
    assert!(!team.names_pending);
    assert_eq!(team.channel, ChannelId::new("C0ORBIT001"));
    let users: Vec<&str> = team.members.iter().map(|m| m.user.as_str()).collect();
    assert_eq!(users, ["U0MARIA01", "U0KENJI01"]);
    assert_eq!(team.admins, [UserId::new("U0MARIA01")]);
    // The same person by name and by id is listed twice.
    let twice = team_toml(&[(
        "members",
        Some(r#"[{ user = "@maria" }, { user = "U0MARIA01" }]"#),
    )]);
    let error = with_names(&twice).unwrap_err().to_string();
    assert!(
        error.contains("members[2].user: U0MARIA01 is listed twice"),
        "{error}"
    );
}

#[test]
fn a_channel_as_members_is_its_people() {
    let text = team_toml(&[("members", Some(r##""#team-orbit""##))]);
    let offline = loaded(&text);
    assert_eq!(offline.names.len(), 2, "{:?}", offline.names);
    assert!(offline.teams[0].members.is_empty());
    let config = with_names(&text).unwrap_or_else(|e| panic!("{e}"));
    let team = &config.teams[0];
    assert_eq!(team.members_from, Some(ChannelId::new("C0ORBIT001")));
    let users: Vec<&str> = team.members.iter().map(|m| m.user.as_str()).collect();
    assert_eq!(users, ["U0MARIA01", "U0KENJI01"]);
    // By id, its people are still looked up.
    let by_id = loaded(&team_toml(&[("members", Some(r#""C0ORBIT001""#))]));
    assert_eq!(
        by_id.names,
        [names::Name::MembersOf("C0ORBIT001".to_string())]
    );
}

#[test]
fn a_name_slack_does_not_know_is_a_problem_on_its_line() {
    let text = team_toml(&[
        ("channel", Some(r##""#nowhere""##)),
        (
            "members",
            Some(r#"[{ user = "@maria" }, { user = "@nobody" }]"#),
        ),
    ]);
    let error = with_names(&text).unwrap_err();
    let lines: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "conf/standup.toml:4: team \"orbit\".channel: `#nowhere`: no channel has this name — check the channel's name in Slack"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "conf/standup.toml:13: team \"orbit\".members[2].user: `@nobody`: nobody in the workspace goes by this name — check the name in Slack"
        ),
        "{}",
        lines[1]
    );
    let empty = with_names(&team_toml(&[("members", Some(r##""#empty""##))])).unwrap_err();
    assert_eq!(
        empty.to_string(),
        "conf/standup.toml:13: team \"orbit\".members: `#empty` has nobody in it but bots — invite the team to the channel, or list the members"
    );
}

#[test]
fn a_postgresql_url_is_checked_and_never_quoted() {
    let team = team_toml(&[]);
    // Both engines named: one of them must go.
    check(
        &format!(
            "[database]\npath = \"x.db\"\nurl = \"postgres://u:hunter2@db/standup\"\n\n{team}"
        ),
        &["conf/standup.toml: database.url: both a SQLite path and a PostgreSQL url are given…"],
    );
    // Not PostgreSQL: refused, and the password in it is not repeated.
    let error = load(&format!(
        "[database]\nurl = \"mysql://u:hunter2@db/standup\"\n\n{team}"
    ))
    .expect_err("a mysql url");
    let said = error.to_string();
    assert!(said.contains("not a PostgreSQL one"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    // A good one is kept as a secret: shown by its length only.
    let config = loaded(&format!(
        "[database]\nurl = \"postgres://u:hunter2@db/standup\"\n\n{team}"
    ));
    let url = config.database.url.as_ref().expect("the url");
    assert_eq!(url.expose(), "postgres://u:hunter2@db/standup");
    assert!(!format!("{config:?}").contains("hunter2"));
}
