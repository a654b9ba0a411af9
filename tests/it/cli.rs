//! The `standup-bot` binary as a user runs it: import notes, compile them back, and get a
//! one-line error with a non-zero exit (and an untouched database) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{DATABASE_URL_ENV, TestDb, new_database, sqlite_only};

struct Env {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        // Relative, as a user writes it: the commands run in the folder.
        let db = new_database(dir.path(), "standup.db");
        let env = Env { dir, db };
        env.write("standup.toml", &env.config("planning", "standup"));
        env
    }

    /// The config of two teams in `orbit_format` and `lighthouse_format`, on this database.
    fn config(&self, orbit_format: &str, lighthouse_format: &str) -> String {
        config(&self.db, orbit_format, lighthouse_format)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_standup-bot"))
            .env_remove(DATABASE_URL_ENV)
            .arg("--config")
            .arg(self.path("standup.toml"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail, returning its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn db_bytes(&self) -> Vec<u8> {
        self.db.contents()
    }
}

pub(crate) fn config(db: &TestDb, orbit_format: &str, lighthouse_format: &str) -> String {
    format!(
        r#"
[database]
{db_line}

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "C0123456789"
format = "{orbit_format}"
title = "Team Orbit Planning {{date}}"
timezone = "Europe/Berlin"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
members = [
  {{ user = "U0MARIA001", handle = "maria" }},
  {{ user = "U0KENJI001", handle = "kenji" }},
  {{ user = "U0LI000001", handle = "li" }},
]

[[team]]
id = "lighthouse"
name = "Lighthouse"
channel = "C0987654321"
format = "{lighthouse_format}"
title = "Standup meeting - {{date}}"
timezone = "America/New_York"
prompt = "0 9 * * 1-5"
sync = "0 10 * * Fri"
post_before = "1h"
remind_after = "3h"
members = [
  {{ user = "U0MARIA001", handle = "maria" }},
  {{ user = "U0LI000001", handle = "li" }},
  {{ user = "U0KENJI001", handle = "kenji" }},
]
"#,
        db_line = db.config_line(),
    )
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn import_then_compile_gives_the_same_bytes() {
    let env = Env::new();
    for (team, name) in [("orbit", "planning.md"), ("lighthouse", "standup.md")] {
        let file = fixture(name);
        let report = env.ok(&["import", "--team", team, file.to_str().unwrap()]);
        assert!(
            report.contains("1 new, 0 updated, 0 unchanged meeting"),
            "{report}"
        );
        let out = env.ok(&["compile", "--team", team, "--date", "2024-03-11"]);
        assert_eq!(out, std::fs::read_to_string(&file).unwrap(), "{name}");
    }
    // Without --date, the latest meeting; with --out, a file.
    let out_file = env.path("out.md");
    env.ok(&[
        "compile",
        "--team",
        "orbit",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&out_file).unwrap(),
        std::fs::read(fixture("planning.md")).unwrap()
    );
}

#[test]
fn reimport_changes_nothing() {
    let env = Env::new();
    let file = fixture("standup-handtyped.md");
    let first = env.ok(&["import", "--team", "lighthouse", file.to_str().unwrap()]);
    assert!(
        first.contains("2 new, 0 updated, 0 unchanged meetings; 2 other pieces of text kept"),
        "{first}"
    );
    let before = env.db_bytes();
    let again = env.ok(&["import", "--team", "lighthouse", file.to_str().unwrap()]);
    assert!(
        again.contains("0 new, 0 updated, 2 unchanged meetings"),
        "{again}"
    );
    assert_eq!(env.db_bytes(), before);
    let list = env.ok(&["compile", "--team", "lighthouse", "--list"]);
    assert_eq!(
        list,
        "2024-03-18  Standup meeting - 2024-03-18\n2024-03-11  Standup meeting - 2024-03-11\n"
    );
}

#[test]
fn parse_prints_the_update_as_json() {
    let env = Env::new();
    let reply = env.write(
        "reply.txt",
        ":no_entry: Blocked:\n• waiting on <https://example.org/pr/1|#1>\n",
    );
    let out = env.ok(&["parse", "--format", "planning", reply.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["update"]["sections"][0]["kind"], "blocked");
    assert_eq!(
        json["update"]["sections"][0]["items"][0]["text"],
        "waiting on [#1](https://example.org/pr/1)"
    );
    assert_eq!(json["diagnostics"], serde_json::json!([]));
}

#[test]
fn bad_input_is_one_clear_line_and_changes_nothing() {
    let env = Env::new();
    env.ok(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    let before = env.db_bytes();

    let notes = env.write("shopping.md", "# Shopping\n\n* milk\n");
    let err = env.fails(&["import", "--team", "orbit", notes.to_str().unwrap()]);
    assert!(
        err.contains("shopping.md: does not look like `planning` or `standup` notes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let err = env.fails(&[
        "import",
        "--team",
        "orbit",
        fixture("standup.md").to_str().unwrap(),
    ]);
    assert!(
        err.contains("looks like `standup` notes, but this team uses the `planning` format"),
        "{err}"
    );

    let err = env.fails(&[
        "import",
        "--team",
        "nope",
        fixture("planning.md").to_str().unwrap(),
    ]);
    assert!(err.contains("no team `nope`"), "{err}");

    let err = env.fails(&["compile", "--team", "orbit", "--date", "2020-01-06"]);
    assert!(
        err.contains("team `orbit` has no meeting on 2020-01-06"),
        "{err}"
    );

    let err = env.fails(&[
        "import",
        "--team",
        "orbit",
        env.path("missing.md").to_str().unwrap(),
    ]);
    assert!(err.contains("missing.md: No such file"), "{err}");
    assert_eq!(env.db_bytes(), before);
}

#[test]
fn broken_config_names_file_and_key() {
    let env = Env::new();
    env.write(
        "standup.toml",
        &env.config("planning", "standup")
            .replace("Europe/Berlin", "Mars/Olympus"),
    );
    let err = env.fails(&["check-config"]);
    // The line the time zone is written on (the text starts with a blank line).
    assert!(
        err.contains("standup.toml:11: team \"orbit\".timezone"),
        "{err}"
    );
    assert!(err.contains("Mars/Olympus"), "{err}");
    assert!(!env.db.exists(), "a bad config must not create a database");
}

#[test]
fn broken_template_names_file_and_line() {
    let env = Env::new();
    env.write("mine.md.j2", "# {{ title }}\n{% for m in members %}\n");
    env.write("standup.toml", &env.config("mine.md.j2", "standup"));
    let err = env.fails(&["check-config"]);
    assert!(err.contains("mine.md.j2"), "{err}");
    assert!(err.contains(":2") || err.contains("line 2"), "{err}");
}

#[test]
fn custom_template_is_used_for_compile() {
    let env = Env::new();
    env.write(
        "mine.md.j2",
        "{{ title }}\n{% for m in members %}\n- {{ m.handle }}: {{ 'answered' if m.answered else 'no update' }}\n{% endfor %}\n",
    );
    env.write("standup.toml", &env.config("mine.md.j2", "standup"));
    env.ok(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    let out = env.ok(&["compile", "--team", "orbit"]);
    assert_eq!(
        out,
        "Team Orbit Planning 2024-03-11\n- maria: answered\n- kenji: answered\n- li: answered\n"
    );
}

#[test]
fn unreadable_and_newer_databases_are_clear_errors() {
    if !sqlite_only("damages the SQLite file and sets its PRAGMA user_version") {
        return;
    }
    let env = Env::new();
    std::fs::write(
        env.path("standup.db"),
        b"not a database at all, sorry".repeat(200),
    )
    .unwrap();
    let err = env.fails(&["compile", "--team", "orbit"]);
    assert!(
        err.contains("standup.db: not a standup-bot database or damaged"),
        "{err}"
    );

    let env = Env::new();
    env.ok(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    // Migrated by a release whose change this one cannot live with.
    env.db.edit_sqlite_file(
        "PRAGMA user_version = 999; UPDATE schema_compat SET oldest_binary = 999;",
    );
    let err = env.fails(&["compile", "--team", "orbit"]);
    assert!(err.contains("written by a newer standup-bot"), "{err}");
}

#[test]
fn backup_is_a_consistent_copy() {
    if !sqlite_only("`backup` copies the SQLite file, and the copy replaces the file") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    let copy = env.path("copy.db");
    let out = env.ok(&["backup", copy.to_str().unwrap()]);
    assert!(
        out.contains("copy.db: backup of standup.db written"),
        "{out}"
    );
    // The copy is a working database: point the config at it and compile from it.
    let original = env.db_bytes();
    std::fs::remove_file(env.path("standup.db")).unwrap();
    std::fs::copy(&copy, env.path("standup.db")).unwrap();
    let compiled = env.ok(&["compile", "--team", "orbit"]);
    assert_eq!(
        compiled,
        std::fs::read_to_string(fixture("planning.md")).unwrap()
    );
    assert!(!original.is_empty());
}

/// A database the process cannot write (here made immutable with `chattr +i`, which holds even
/// for root) is still read by the commands that only read; one that writes says why it cannot.
#[test]
fn a_read_only_database_serves_the_commands_that_only_read() {
    if !sqlite_only("makes the SQLite file immutable") {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    let db = env.path("standup.db");
    let locked = Command::new("chattr").arg("+i").arg(&db).status();
    if !locked.is_ok_and(|s| s.success()) {
        eprintln!("skipped: chattr +i is not available on this file system");
        return;
    }
    // Whatever happens below, the file is made writable again so the folder can be removed.
    struct Unlock(PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        }
    }
    let _unlock = Unlock(db.clone());
    let before = std::fs::read(&db).unwrap();
    let listed = env.ok(&["compile", "--team", "orbit", "--list"]);
    assert!(listed.contains("2024-03-11"), "{listed}");
    let notes = env.ok(&["compile", "--team", "orbit"]);
    assert!(
        notes.starts_with("# Team Orbit Planning 2024-03-11"),
        "{notes}"
    );
    let exported = env.ok(&["export", "--team", "orbit"]);
    assert!(exported.contains("2024-03-11"), "{exported}");
    let copy = env.path("copy.db");
    env.ok(&["backup", copy.to_str().unwrap()]);
    assert!(copy.exists());
    // Importing writes: one line, naming the file and the reason.
    let err = env.fails(&[
        "import",
        "--team",
        "orbit",
        fixture("planning.md").to_str().unwrap(),
    ]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("standup.db"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is untouched");
}
