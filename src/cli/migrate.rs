//! `standup-bot migrate-db`: the SQLite database the config names, copied into PostgreSQL, then
//! checked by compiling every meeting from both and comparing the bytes.

use std::io::Write;

use chrono::NaiveDate;

use super::{plural, stdout_error};
use crate::app::document::compile;
use crate::config::{Config, DatabaseConfig, Secret};
use crate::error::{Error, Result};
use crate::store::{CopyReport, Owner, Store};
use standup_core::render::{Renderer, TemplateRef};

const URL_FORM: &str = "postgres://user:password@host:5432/database";

pub(super) fn migrate_db(
    config: &Config,
    renderer: &Renderer,
    to: Option<String>,
    out: &mut dyn Write,
) -> Result<()> {
    if file_names_postgres(config)? {
        return Err(Error::Usage(format!(
            "{}: [database] url already puts the bot on PostgreSQL; migrate-db copies the SQLite file ([database] path) into PostgreSQL: run it with a config that names the SQLite file",
            config.path.display()
        )));
    }
    let url = target_url(to)?;
    let path = &config.database.path;
    if !path.exists() {
        return Err(Error::Usage(format!(
            "{}: no SQLite database there ([database] path in {}), so nothing to copy; point path at the bot's database",
            path.display(),
            config.path.display()
        )));
    }
    // Both ends are claimed as a running bot claims them: a bot still writing the SQLite file
    // would lose what it writes after the copy, and one started on the target would write
    // beside it.
    let who = format!(
        "standup-bot migrate-db, pid {} on {}",
        std::process::id(),
        host()
    );
    let _source_claim = Owner::claim(path, &who)?;
    let _target_claim = Owner::claim_configured(
        &DatabaseConfig {
            path: path.clone(),
            max_size_mb: None,
            url: Some(url.clone()),
        },
        &who,
    )?;
    let source = Store::open(path)?;
    let target = Store::open_postgres(url.expose())?;
    let report = source.copy_to(&target)?;
    write_report(&source, &target, &report, out)?;
    writeln!(
        out,
        "checking that every meeting compiles to the same bytes from both:"
    )
    .map_err(stdout_error)?;
    let (meetings, teams) = verify(config, renderer, &source, &target, out)?;
    writeln!(
        out,
        "done: {} row{} copied, {meetings} meeting{} in {teams} team{} verified",
        report.total(),
        plural(report.total() as usize),
        plural(meetings),
        plural(teams)
    )
    .map_err(stdout_error)?;
    writeln!(
        out,
        "next: set [database] url in {} to this database, in place of path (or STANDUP_DATABASE_URL, which keeps the password out of the file), and restart the bot; {} is not written from then on: keep it as a backup",
        config.path.display(),
        path.display()
    )
    .map_err(stdout_error)
}

/// Whether the config file itself names a PostgreSQL database. The loaded config cannot say:
/// `STANDUP_DATABASE_URL` fills its url too, and here that variable names the target.
fn file_names_postgres(config: &Config) -> Result<bool> {
    let text = std::fs::read_to_string(&config.path).map_err(|source| Error::Io {
        path: config.path.clone(),
        source,
    })?;
    // The file was checked by the load; a table that does not parse has no url to find.
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(false);
    };
    Ok(table.get("database").and_then(|d| d.get("url")).is_some())
}

/// The database to copy into: `--to`, else `STANDUP_DATABASE_URL`.
fn target_url(to: Option<String>) -> Result<Secret> {
    let (url, from) = match to {
        Some(url) => (Secret::new(url), "--to"),
        None => match crate::config::database_url_from_env()? {
            Some(url) => (url, "STANDUP_DATABASE_URL"),
            None => {
                return Err(Error::Usage(format!(
                    "migrate-db: which PostgreSQL database? give --to {URL_FORM}, or set STANDUP_DATABASE_URL (which keeps the password out of the shell's history)"
                )));
            }
        },
    };
    if let Some(problem) = crate::config::database_url_problem(url.expose()) {
        return Err(Error::Usage(format!("{from}: {problem}; write {URL_FORM}")));
    }
    Ok(url)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".into())
}

fn write_report(
    source: &Store,
    target: &Store,
    report: &CopyReport,
    out: &mut dyn Write,
) -> Result<()> {
    writeln!(
        out,
        "copied {} into {} in one transaction:",
        source.describe(),
        target.describe()
    )
    .map_err(stdout_error)?;
    let width = report
        .tables
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0);
    for (table, rows) in &report.tables {
        writeln!(
            out,
            "  {table:<width$}  {rows:>8} row{}",
            plural(*rows as usize)
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}

/// Compiles every meeting of every team stored in `source` from both stores and compares the
/// bytes; a line per team. Teams the config no longer has are rendered as stored, with their
/// format's built-in template. The meetings and teams checked; the first difference is an error.
fn verify(
    config: &Config,
    renderer: &Renderer,
    source: &Store,
    target: &Store,
    out: &mut dyn Write,
) -> Result<(usize, usize)> {
    let mut all = config.clone();
    // Names are not looked up: compiling reads no member from the config.
    let _ = all.add_slack_teams(&source.slack_teams()?, &crate::config::names::NotAsked);
    let mut meetings = 0;
    let stored = source.stored_teams()?;
    for (id, format) in &stored {
        let team = all.team(id);
        let render = |store: &Store, date: NaiveDate| -> std::result::Result<String, String> {
            match (team, format) {
                (Some(team), _) => compile(store, renderer, team, date).map_err(|e| e.to_string()),
                (None, Some(format)) => {
                    let meeting = store
                        .meeting(id, *format, date)
                        .map_err(|e| e.to_string())?;
                    renderer
                        .render(&TemplateRef::Builtin(*format), &meeting)
                        .map_err(|e| e.to_string())
                }
                (None, None) => Err("its stored format is unknown".into()),
            }
        };
        let dates: Vec<NaiveDate> = source.cycles(id)?.iter().map(|c| c.date).collect();
        let mut failing: Option<(NaiveDate, String)> = None;
        let mut failed = 0;
        for date in &dates {
            let ours = render(source, *date);
            let theirs = render(target, *date);
            if ours != theirs {
                return Err(Error::Usage(format!(
                    "verify: team `{id}`'s meeting of {date} compiles differently from {} than from {}: do not switch the bot to it (a bug; please report it); drop and create that database before copying again",
                    target.describe(),
                    source.describe()
                )));
            }
            if let Err(e) = ours {
                failed += 1;
                failing.get_or_insert((*date, e));
            }
        }
        meetings += dates.len();
        let how = match team {
            Some(_) => String::new(),
            None => format!(
                " (not in the config: as stored, with the built-in {} template)",
                format.map_or("?", |f| f.name())
            ),
        };
        let broken = match failing {
            Some((date, e)) => format!(
                "; {failed} compile{} from neither (first: {date}: {e})",
                if failed == 1 { "s" } else { "" }
            ),
            None => String::new(),
        };
        writeln!(
            out,
            "  team {id}: {} meeting{} the same{how}{broken}",
            dates.len(),
            plural(dates.len())
        )
        .map_err(stdout_error)?;
    }
    Ok((meetings, stored.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use standup_core::domain::Format;

    fn config(team: &str) -> Config {
        let toml = format!(
            "[[team]]\nid = \"{team}\"\nname = \"T\"\nchannel = \"C0123456789\"\nformat = \"planning\"\ntitle = \"Team Orbit Planning {{date}}\"\nprompt = \"0 9 * * *\"\nsync = \"0 14 * * Mon\"\npost_before = \"30m\"\nremind_after = \"2h\"\nmembers = [{{ user = \"U0MARIA001\", handle = \"maria\" }}]\n"
        );
        Config::from_str(&toml, std::path::Path::new("t.toml")).unwrap()
    }

    fn import(store: &mut Store, notes: &str) {
        let document = standup_core::notes::read_document(notes, Format::Planning).unwrap();
        store
            .import_document(
                &standup_core::domain::TeamId::new("orbit"),
                "planning.md",
                &document,
                Utc::now(),
            )
            .unwrap();
    }

    #[test]
    fn a_meeting_that_compiles_differently_names_its_team_and_date() {
        let Some(url) = crate::store::test_postgres_url() else {
            eprintln!("skipped: comparing with PostgreSQL needs STANDUP_TEST_POSTGRES");
            return;
        };
        // Read when the test runs: a build of the binary (the Dockerfile's) has no tests/.
        let notes = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/planning.md"
        ))
        .unwrap();
        let orbit = config("orbit");
        let mut source = Store::open_in_memory().unwrap();
        crate::app::setup::sync_teams(&mut source, &orbit.teams).unwrap();
        import(&mut source, &notes);
        let mut target = Store::open_postgres(&url).unwrap();
        source.copy_to(&target).unwrap();
        let renderer = Renderer::new();
        let mut out = Vec::new();
        assert_eq!(
            verify(&orbit, &renderer, &source, &target, &mut out).unwrap(),
            (1, 1)
        );
        // A team the config no longer has is compared as stored.
        let other = config("lighthouse");
        let mut out = Vec::new();
        assert_eq!(
            verify(&other, &renderer, &source, &target, &mut out).unwrap(),
            (1, 1)
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  team orbit: 1 meeting the same (not in the config: as stored, with the built-in planning template)\n"
        );
        import(
            &mut target,
            &notes.replacen("big archives", "small archives", 1),
        );
        let differs = verify(&orbit, &renderer, &source, &target, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            differs.starts_with(
                "verify: team `orbit`'s meeting of 2024-03-11 compiles differently from postgres://"
            ),
            "{differs}"
        );
    }
}
