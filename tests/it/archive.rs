//! The notes archive, `export` and participation, as users see them: the running bot writes
//! each posted document into the notes folder and commits it; `export` writes meetings in the
//! form `import` reads back; `/standup stats` counts who answered.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration as Span;
use slack_emulator::events;

use crate::support::*;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many commits the repository at `dir` has: 0 before the first (where `git log` fails,
/// "does not have any commits yet", while the archive's first save is still under way).
fn commits(dir: &Path) -> usize {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-list", "--count", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until `path` exists and `ready` holds for its text.
async fn wait_archived(path: &Path, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && ready(&text)
        {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} never got there; now: {:?}",
            path.display(),
            std::fs::read_to_string(path)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_notes_are_archived_committed_and_counted() {
    let emu = emulator().await;
    let nine = monday_8am() + Span::hours(1);
    let sync = nine + Span::hours(2);
    let mut bot = Bot::builder(&emu)
        .prompt_at(nine)
        .sync_at(sync)
        .post_before("30m")
        .remind_after("1h")
        .database("\n[archive]\ndir = \"notes\"\ngit = true\n")
        .start()
        .await;
    bot.run_until(nine).await;
    wait_prompted(&emu, MARIA).await;
    wait_prompted(&emu, KENJI).await;

    emu.send_event(events::dm_message(
        MARIA,
        "Shipped\n- the archive\nNext\n- the export",
    ))
    .ack(WAIT)
    .await
    .expect("acked");
    emu.wait_for_message(
        &emu.dm_channel(MARIA),
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it")),
        WAIT,
    )
    .await;

    // Posting the notes writes them into the archive, with an index, in one commit.
    let answer = emu
        .send_slash_command("/standup", "post", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.contains("Posted")),
        "{answer}"
    );
    let date = sync.date_naive().to_string();
    let team_dir = bot.dir.path().join("notes/orbit");
    let file = team_dir.join(format!("{date}.md"));
    let text = wait_archived(&file, |t| t.contains("the archive")).await;
    assert_eq!(
        text,
        cli_in(
            bot.dir.path(),
            &["compile", "--team", "orbit", "--date", &date]
        ),
        "the archived file is the compiled document"
    );
    let index = std::fs::read_to_string(team_dir.join("README.md")).unwrap();
    assert!(index.contains(&format!("({date}.md)")), "{index}");
    assert!(index.contains("Team Orbit"), "{index}");
    let notes = bot.dir.path().join("notes");
    let deadline = std::time::Instant::now() + WAIT;
    while commits(&notes) < 1 {
        assert!(std::time::Instant::now() < deadline, "no commit");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        git(&notes, &["log", "-1", "--format=%an"]).trim(),
        "standup-bot"
    );
    assert_eq!(git(&notes, &["status", "--porcelain"]), "", "all committed");

    // A late reply updates the posted notes, the file and adds a commit.
    emu.send_event(events::dm_message(KENJI, "Shipped\n- a late thing"))
        .ack(WAIT)
        .await
        .expect("acked");
    wait_archived(&file, |t| t.contains("a late thing")).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = git(&notes, &["log", "--format=%s"]);
        if log.lines().count() >= 2 {
            assert!(log.contains(&date), "{log}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no second commit: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Participation: maria and kenji answered this cycle, li and zoe did not.
    let answer = emu
        .send_slash_command("/standup", "stats", LI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let text = answer["text"].as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("participation over the last 1 cycle"),
        "{text}"
    );
    for (who, line) in [
        ("maria", "1 of 1 answered (100%)"),
        ("kenji", "1 of 1 answered (100%)"),
        ("li", "0 of 1 answered (0%)"),
        ("zoe", "0 of 1 answered (0%)"),
    ] {
        assert!(text.contains(&format!("@{who}: {line}")), "{who}: {text}");
    }
    let maria = text.lines().find(|l| l.contains("@maria")).unwrap();
    assert!(
        !maria.contains("median time to answer —"),
        "maria's time to answer is known: {maria}"
    );
    let bad = emu
        .send_slash_command("/standup", "stats 0", LI, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(
        bad["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Usage: `/standup stats")),
        "{bad}"
    );
    bot.stop().await;
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn cli_config(db: &TestDb, format: &str, title: &str) -> String {
    format!(
        r#"
[database]
{db_line}

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "C0123456789"
format = "{format}"
title = "{title}"
timezone = "Europe/Berlin"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
members = [{{ user = "U0MARIA001", handle = "maria" }}]
"#,
        db_line = db.config_line(),
    )
}

/// Export of imported notes, imported into a fresh database, compiles to the same meetings;
/// a range exports only its meetings; bad ranges and teams are one clear line.
#[test]
fn export_is_what_import_reads_back() {
    for (format, title, notes) in [
        (
            "planning",
            "Team Orbit Planning {date}",
            "planning-handtyped.md",
        ),
        (
            "standup",
            "Standup meeting - {date}",
            "standup-handtyped.md",
        ),
    ] {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let first_db = new_database(first.path(), "standup.db");
        let second_db = new_database(second.path(), "standup.db");
        for (dir, db) in [(&first, &first_db), (&second, &second_db)] {
            std::fs::write(
                dir.path().join("standup.toml"),
                cli_config(db, format, title),
            )
            .unwrap();
        }
        let source = fixture(notes);
        cli_in(
            first.path(),
            &["import", "--team", "orbit", source.to_str().unwrap()],
        );
        let dates: Vec<String> = cli_in(first.path(), &["compile", "--team", "orbit", "--list"])
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert!(dates.len() >= 2, "{format}: {dates:?}");

        let exported = cli_in(first.path(), &["export", "--team", "orbit"]);
        std::fs::write(second.path().join("export.md"), &exported).unwrap();
        cli_in(second.path(), &["import", "--team", "orbit", "export.md"]);
        let again: Vec<String> = cli_in(second.path(), &["compile", "--team", "orbit", "--list"])
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert_eq!(again, dates, "{format}: the same meetings, newest first");
        for date in &dates {
            let args = ["compile", "--team", "orbit", "--date", date];
            assert_eq!(
                cli_in(second.path(), &args),
                cli_in(first.path(), &args),
                "{format} {date}"
            );
        }
        // Newest first: the first title is the newest date.
        let newest = exported.lines().next().unwrap();
        assert!(newest.contains(&dates[0]), "{format}: {newest}");

        // A range holds just its meetings.
        let (oldest, newest) = (dates.last().unwrap(), &dates[0]);
        let one = cli_in(
            first.path(),
            &[
                "export", "--team", "orbit", "--from", oldest, "--to", oldest,
            ],
        );
        assert_eq!(
            one,
            cli_in(
                first.path(),
                &["compile", "--team", "orbit", "--date", oldest]
            ),
            "{format}: a one-meeting range is that meeting"
        );

        // Mistakes are one line and exit non-zero.
        let out = run_cli(
            first.path(),
            &[
                "export", "--team", "orbit", "--from", newest, "--to", oldest,
            ],
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is after --to"), "{err}");
        let out = run_cli(first.path(), &["export", "--team", "nope"]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("nope"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run_cli(
            first.path(),
            &["export", "--team", "orbit", "--from", "2099-01-01"],
        );
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("has no meeting on or after 2099-01-01"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `standup-bot archive` writes every stored meeting (imported ones too) and commits once;
/// without `[archive]` it says what to add.
#[test]
fn archive_command_backfills_imported_notes() {
    let dir = tempfile::tempdir().unwrap();
    let db = new_database(dir.path(), "standup.db");
    std::fs::write(
        dir.path().join("standup.toml"),
        cli_config(&db, "planning", "Team Orbit Planning {date}"),
    )
    .unwrap();
    let out = run_cli(dir.path(), &["archive", "--team", "orbit"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[archive]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = cli_config(&db, "planning", "Team Orbit Planning {date}")
        + "\n[archive]\ndir = \"notes\"\ngit = true\n";
    std::fs::write(dir.path().join("standup.toml"), config).unwrap();
    let source = fixture("planning-handtyped.md");
    cli_in(
        dir.path(),
        &["import", "--team", "orbit", source.to_str().unwrap()],
    );
    let dates: Vec<String> = cli_in(dir.path(), &["compile", "--team", "orbit", "--list"])
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let said = cli_in(dir.path(), &["archive", "--team", "orbit"]);
    assert!(said.contains("committed"), "{said}");
    let team_dir = dir.path().join("notes/orbit");
    for date in &dates {
        assert_eq!(
            std::fs::read_to_string(team_dir.join(format!("{date}.md"))).unwrap(),
            cli_in(dir.path(), &["compile", "--team", "orbit", "--date", date]),
        );
    }
    let index = std::fs::read_to_string(team_dir.join("README.md")).unwrap();
    let positions: Vec<usize> = dates
        .iter()
        .map(|d| index.find(&format!("({d}.md)")).expect(d))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "newest first: {index}"
    );
    let notes = dir.path().join("notes");
    assert_eq!(git(&notes, &["log", "--oneline"]).lines().count(), 1);
    // Again: nothing changed, nothing committed.
    cli_in(dir.path(), &["archive", "--team", "orbit"]);
    assert_eq!(git(&notes, &["log", "--oneline"]).lines().count(), 1);
}

/// With `stats_in_document`, the compiled notes carry a `Participation` section before the
/// questions, counted from the stored meetings (imported ones have no reply times: `—`).
#[test]
fn participation_section_in_the_notes() {
    let dir = tempfile::tempdir().unwrap();
    let db = new_database(dir.path(), "standup.db");
    let config = cli_config(&db, "planning", "Team Orbit Planning {date}");
    std::fs::write(dir.path().join("standup.toml"), &config).unwrap();
    let source = fixture("planning.md");
    cli_in(
        dir.path(),
        &["import", "--team", "orbit", source.to_str().unwrap()],
    );
    let plain = cli_in(dir.path(), &["compile", "--team", "orbit"]);
    assert!(!plain.contains("Participation"), "off by default: {plain}");
    let on = config.replace(
        "members = [",
        "stats_in_document = true\nstats_cycles = 4\nmembers = [",
    );
    std::fs::write(dir.path().join("standup.toml"), on).unwrap();
    let notes = cli_in(dir.path(), &["compile", "--team", "orbit"]);
    let section = notes
        .find("## Participation (last 1 cycle)\n\n")
        .unwrap_or_else(|| panic!("no section: {notes}"));
    assert!(
        section < notes.find("## Notes/Questions").unwrap(),
        "{notes}"
    );
    for who in ["maria", "kenji", "li"] {
        assert!(
            notes.contains(&format!(
                "* @{who}: 1 of 1 answered (100%) · median time to answer — · streak 1, best 1"
            )),
            "{who}: {notes}"
        );
    }
}

/// A second team, `apollo`, in its own channel with its own member.
const APOLLO_CHANNEL: &str = "C0TEAM0002";
const ASH: &str = "U0ASH00001";

/// A stand-in for git first on the bot's `PATH`: while `<bin>/hang` exists, a command that
/// names `apollo` starts a child that sleeps (its pid in `<bin>/sleeper`) and waits for it;
/// everything else is the real git.
fn hanging_git(bin: &Path) {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert!(!real.is_empty(), "git is installed");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do\n\
               if [ \"$a\" = apollo ] && [ -e '{d}/hang' ]; then\n\
                 sleep 600 &\n\
                 echo $! > '{d}/sleeper.tmp' && mv '{d}/sleeper.tmp' '{d}/sleeper'\n\
                 wait\n\
               fi\n\
             done\n\
             exec '{real}' \"$@\"\n",
            d = bin.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The subjects of the commits in `dir`, newest first; empty before the first.
fn subjects(dir: &Path) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "--format=%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Whether process `pid` has stopped running (gone, or a zombie not reaped yet).
fn stopped(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_git_holds_back_only_its_own_teams_archive() {
    let _turn = ONE_AT_A_TIME.write().await;
    let emu = slack_emulator::Emulator::start(
        workspace_of(&[MARIA.into(), KENJI.into(), LI.into(), ZOE.into()])
            .with_user(slack_emulator::User::new(ASH, "ash"))
            .with_channel(
                slack_emulator::Channel::new(APOLLO_CHANNEL, "team-apollo").members(&[ASH]),
            ),
    )
    .await;
    let t0 = chrono::Utc::now();
    // A process of its own: the stand-in git is found on its PATH.
    let mut bot = Process::with_extra(
        &emu,
        t0 + Span::hours(1),
        t0 + Span::hours(2),
        "30m",
        "1h",
        "\n[archive]\ndir = \"notes\"\ngit = true\n",
        "",
    );
    bot.edit_config(|text| {
        format!(
            "{text}\n[[team]]\nid = \"apollo\"\nname = \"Team Apollo\"\nchannel = \"{APOLLO_CHANNEL}\"\n\
             format = \"planning\"\ntimezone = \"UTC\"\nprompt = \"{prompt}\"\nsync = \"{sync}\"\n\
             post_before = \"30m\"\nremind_after = \"1h\"\nmembers = [ {{ user = \"{ASH}\", handle = \"ash\" }} ]\n",
            prompt = at(t0 + Span::hours(1)),
            sync = at(t0 + Span::hours(2)),
        )
    });
    let bin = bot.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    hanging_git(&bin);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    bot.env.push(("PATH".into(), path));
    bot.env
        .push(("STANDUP_ARCHIVE_GIT_TIMEOUT_SECS".into(), "3".into()));
    bot.start();
    let notes = bot.dir.path().join("notes");
    let date = (t0 + Span::hours(2)).date_naive().to_string();

    // Apollo's notes are posted; its archive's git hangs.
    std::fs::write(bin.join("hang"), "").unwrap();
    let answer = emu
        .send_slash_command("/standup", "post", ASH, APOLLO_CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.contains("Posted")),
        "{answer}"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !bin.join("sleeper").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "apollo's git never ran; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sleeper = std::fs::read_to_string(bin.join("sleeper")).unwrap();
    let sleeper = sleeper.trim().to_string();

    // Meanwhile the bot answers, and orbit's notes are posted and archived.
    let answer = emu
        .send_slash_command("/standup", "post", MARIA, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked while apollo's git hangs");
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.contains("Posted")),
        "{answer}"
    );
    assert!(!stopped(&sleeper), "answered while apollo's git still hung");
    wait_archived(&notes.join(format!("orbit/{date}.md")), |_| true).await;
    wait_archived(&notes.join(format!("apollo/{date}.md")), |_| true).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = subjects(&notes);
        if log.contains(&format!("orbit: notes of {date}")) {
            assert!(!log.contains("apollo"), "{log}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "orbit never committed; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The hung git is stopped at its deadline, child and all, and reported in one line.
    let deadline = std::time::Instant::now() + WAIT;
    while !(stopped(&sleeper) && bot.log().contains("did not finish within 3 s")) {
        assert!(
            std::time::Instant::now() < deadline,
            "apollo's git was not stopped; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = bot.log();
    let line = log
        .lines()
        .find(|l| l.contains("did not finish within 3 s"))
        .unwrap();
    assert!(line.contains("apollo"), "{line}");
    assert!(
        line.contains("`git add` did not finish within 3 s and was stopped"),
        "{line}"
    );

    // Git recovers: the next save (a post again, which refreshes the notes) commits apollo's.
    std::fs::remove_file(bin.join("hang")).unwrap();
    emu.send_slash_command("/standup", "post", ASH, APOLLO_CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let deadline = std::time::Instant::now() + WAIT;
    while !subjects(&notes).contains(&format!("apollo: notes of {date}")) {
        assert!(
            std::time::Instant::now() < deadline,
            "apollo never committed; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(git(&notes, &["status", "--porcelain"]), "", "all committed");
    bot.stop();
}
