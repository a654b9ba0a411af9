//! `standup-bot migrate-db`: a SQLite database with imported notes, copied into PostgreSQL by
//! the real binary; the commands then give the same notes from either, and a target that holds
//! data, or a config already on PostgreSQL, is refused in one line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::cli::{config, fixture};
use crate::support::{DATABASE_URL_ENV, POSTGRES_ENV, TestDb, new_postgres_database};

/// Runs the binary in `dir` with `config`, `env` set (and `STANDUP_DATABASE_URL` cleared
/// otherwise, as a developer's shell may have it).
fn run(dir: &Path, config: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_standup-bot"));
    command
        .env_remove(DATABASE_URL_ENV)
        .args(["--config", config])
        .args(args)
        .current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn ok(dir: &Path, config: &str, args: &[&str]) -> String {
    let out = run(dir, config, args, &[]);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A command that must fail with one line on stderr: that line.
fn refused(out: Output) -> String {
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success(),
        "should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

/// Every meeting of both teams compiled, then each team exported: what the notes are.
fn notes(dir: &Path, config: &str) -> String {
    let mut all = String::new();
    for team in ["orbit", "lighthouse"] {
        let list = ok(dir, config, &["compile", "--team", team, "--list"]);
        for line in list.lines() {
            let date = line.split_whitespace().next().unwrap();
            all.push_str(&ok(
                dir,
                config,
                &["compile", "--team", team, "--date", date],
            ));
        }
        all.push_str(&ok(dir, config, &["export", "--team", team]));
    }
    all
}

/// The table lines of the copy report: `  teams   2 rows`.
fn copied(report: &str) -> BTreeMap<String, i64> {
    report
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words[..] {
                [table, n, "row" | "rows"] if l.starts_with("  ") => {
                    Some((table.to_string(), n.parse().unwrap()))
                }
                _ => None,
            }
        })
        .collect()
}

/// A fresh PostgreSQL database and its url; `None`, saying why the test is skipped, without a
/// server to make it on.
fn postgres_target(what: &str) -> Option<(TestDb, String)> {
    let Some(target) = new_postgres_database() else {
        eprintln!("skipped: {what} needs a PostgreSQL server ({POSTGRES_ENV})");
        return None;
    };
    let TestDb::Postgres { url, .. } = &target else {
        unreachable!()
    };
    let url = url.clone();
    Some((target, url))
}

/// The SQLite database `dir/standup.db`, and the two teams' config on it.
fn on_sqlite(dir: &Path) -> (TestDb, String) {
    let sqlite = TestDb::Sqlite {
        named: "standup.db".into(),
        path: dir.join("standup.db"),
    };
    let text = config(&sqlite, "planning", "standup");
    (sqlite, text)
}

#[test]
fn migrate_db_copies_sqlite_into_postgres_and_the_notes_stay_the_same() {
    let Some((target, url)) = postgres_target("migrate-db") else {
        return;
    };
    let url = &url;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (sqlite, sqlite_config) = on_sqlite(dir);
    std::fs::write(dir.join("standup.toml"), &sqlite_config).unwrap();
    std::fs::write(
        dir.join("postgres.toml"),
        sqlite_config.replace(&sqlite.config_line(), &target.config_line()),
    )
    .unwrap();
    for (team, name) in [
        ("orbit", "planning-handtyped.md"),
        ("lighthouse", "standup-handtyped.md"),
        ("lighthouse", "standup.md"),
    ] {
        ok(
            dir,
            "standup.toml",
            &["import", "--team", team, fixture(name).to_str().unwrap()],
        );
    }
    let before = notes(dir, "standup.toml");

    let out = run(dir, "standup.toml", &["migrate-db", "--to", url], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let counts = copied(&stdout);
    assert_eq!(counts.len(), 19, "{stdout}");
    for (table, n) in &counts {
        let rows = format!("SELECT count(*) FROM {table}");
        assert_eq!(*n, sqlite.int(&rows, &[]), "{table} in SQLite: {stdout}");
        assert_eq!(
            *n,
            target.int(&rows, &[]),
            "{table} in PostgreSQL: {stdout}"
        );
    }
    assert_eq!(counts["teams"], 2, "{stdout}");
    assert_eq!(counts["cycles"], 4, "{stdout}");
    assert!(counts["updates"] > 0 && counts["fragments"] > 0, "{stdout}");
    for line in [
        "  team lighthouse: 2 meetings the same\n",
        "  team orbit: 2 meetings the same\n",
        "4 meetings in 2 teams verified\n",
        "and restart the bot",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }
    let password = url::Url::parse(url).unwrap().password().map(str::to_string);
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        assert!(!stdout.contains(&password) && !stderr.contains(&password));
    }

    assert_eq!(notes(dir, "postgres.toml"), before);
    // Written after the copy, new rows get ids past the copied ones.
    let later = dir.join("later.md");
    std::fs::write(
        &later,
        std::fs::read_to_string(fixture("planning.md"))
            .unwrap()
            .replace("2024-03-11", "2024-03-25"),
    )
    .unwrap();
    let imported = ok(
        dir,
        "postgres.toml",
        &["import", "--team", "orbit", later.to_str().unwrap()],
    );
    assert!(imported.contains("1 new, 0 updated"), "{imported}");
    assert_eq!(
        ok(
            dir,
            "postgres.toml",
            &["compile", "--team", "orbit", "--date", "2024-03-25"]
        ),
        std::fs::read_to_string(&later).unwrap()
    );

    // The url from the environment this time: the target holds the copy now.
    let again = refused(run(
        dir,
        "standup.toml",
        &["migrate-db"],
        &[(DATABASE_URL_ENV, url)],
    ));
    assert!(
        again.contains("already holds standup-bot data (teams: 2, members: "),
        "{again}"
    );
    assert!(
        again.contains("copies into an empty database only"),
        "{again}"
    );
}

/// Refused before any database is opened, so no PostgreSQL server is needed.
#[test]
fn migrate_db_refuses_a_config_on_postgres_and_a_target_that_is_not_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (sqlite, sqlite_config) = on_sqlite(dir);
    std::fs::write(dir.join("standup.toml"), &sqlite_config).unwrap();
    let secret = "postgres://standup:s3cret@127.0.0.1:9/standup";
    std::fs::write(
        dir.join("postgres.toml"),
        sqlite_config.replace(&sqlite.config_line(), &format!("url = \"{secret}\"")),
    )
    .unwrap();

    let on_postgres = refused(run(
        dir,
        "postgres.toml",
        &["migrate-db", "--to", secret],
        &[],
    ));
    assert!(
        on_postgres.contains("postgres.toml: [database] url already puts the bot on PostgreSQL"),
        "{on_postgres}"
    );
    let not_postgres = refused(run(
        dir,
        "standup.toml",
        &["migrate-db", "--to", "mysql://standup:s3cret@db/standup"],
        &[],
    ));
    assert!(
        not_postgres.contains("--to: the database url is not a PostgreSQL one"),
        "{not_postgres}"
    );
    let from_env = refused(run(
        dir,
        "standup.toml",
        &["migrate-db"],
        &[(DATABASE_URL_ENV, "sqlite://standup.db")],
    ));
    assert!(from_env.contains("STANDUP_DATABASE_URL"), "{from_env}");
    let none = refused(run(dir, "standup.toml", &["migrate-db"], &[]));
    assert!(none.contains("which PostgreSQL database?"), "{none}");
    let nothing = refused(run(
        dir,
        "standup.toml",
        &["migrate-db", "--to", secret],
        &[],
    ));
    assert!(
        nothing.contains("standup.db: no SQLite database there"),
        "{nothing}"
    );
    for line in [on_postgres, not_postgres, from_env, none, nothing] {
        assert!(!line.contains("s3cret"), "{line}");
    }
    assert!(!sqlite.exists(), "a refused copy made the SQLite file");
}

/// README: `STANDUP_DATABASE_URL` wins over the file's `[database] url`, and a server that cannot
/// be reached is one line naming host, port and database, never the password.
#[test]
fn the_environments_database_url_wins_over_the_files_and_an_unreachable_one_is_one_line() {
    let Some((target, url)) = postgres_target("the environment's url") else {
        return;
    };
    let url = &url;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The file names a server nobody listens on (port 9, discard), with a password.
    let (sqlite, text) = on_sqlite(dir);
    let text = text.replace(
        &sqlite.config_line(),
        "url = \"postgres://standup:s3cret@127.0.0.1:9/standup\"",
    );
    std::fs::write(dir.join("standup.toml"), text).unwrap();
    let import = [
        "import",
        "--team",
        "orbit",
        fixture("planning-handtyped.md").to_str().unwrap(),
    ]
    .map(str::to_string);
    let import: Vec<&str> = import.iter().map(String::as_str).collect();

    let out = run(dir, "standup.toml", &import, &[(DATABASE_URL_ENV, url)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        target.int("SELECT count(*) FROM cycles", &[]) > 0,
        "the notes went to the environment's database"
    );

    let line = refused(run(dir, "standup.toml", &import, &[]));
    assert!(
        line.contains("postgres://127.0.0.1:9/standup: cannot connect to PostgreSQL: ")
            && line
                .trim_end()
                .ends_with("([database] url or STANDUP_DATABASE_URL)"),
        "{line}"
    );
    assert!(
        !line.contains("s3cret") && !line.contains("standup@"),
        "{line}"
    );
}
