//! The first hour of a new user: `run` on the example config is refused before anything is
//! sent, and a start in the middle of an open cycle says what it is about to do.

use std::process::Command;

use crate::support::*;
use slack_emulator::User;

fn run_with_config(config: &std::path::Path) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .current_dir(dir.path())
        // A real-looking token: the refusal must come before any call to Slack.
        .env("SLACK_BOT_TOKEN", "xoxb-1-not-used")
        .env("SLACK_APP_TOKEN", "xapp-1-not-used")
        .env("STANDUP_LOG", "off")
        .output()
        .unwrap()
}

#[test]
fn run_refuses_the_example_config_and_its_made_up_ids() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/standup.example.toml");
    let out = run_with_config(&example);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("made-up ids (C0123456789, U0MARIA01"), "{err}");
    assert!(
        err.contains("copy config/standup.example.toml to config/standup.toml"),
        "{err}"
    );

    // A copy with one team's ids replaced still names what is left of the example.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("C0123456789", "C0REAL0001")
        .replace("U0ADMIN01", "U0REALADM1")
        .replace("U0MARIA01", "U0REAL0001")
        .replace("U0KENJI01", "U0REAL0002")
        .replace("U0LI00001", "U0REAL0003");
    let copy = dir.path().join("standup.toml");
    std::fs::write(&copy, text).unwrap();
    let out = run_with_config(&copy);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("made-up ids (C0987654321, U0AISHA01"), "{err}");
    assert!(!err.contains("C0REAL0001"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_in_an_open_cycle_says_how_many_it_prompts_now() {
    let emu = emulator().await;
    // Started at 09:30, half an hour after the prompt time, with nobody prompted yet.
    let mut bot = Bot::builder(&emu)
        .clock_at(monday_8am() + chrono::Duration::minutes(90))
        .start()
        .await;
    let log = bot.log();
    let line = log
        .lines()
        .find(|l| l.contains("the cycle is open"))
        .unwrap_or_else(|| panic!("no announcement; log:\n{log}"));
    assert!(line.contains("prompting 4 of 4 members now"), "{line}");
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted at start");
    }
    // Started again: everyone was prompted, so there is nothing to announce.
    bot.stop().await;
    bot.start().await;
    assert_eq!(
        bot.log().matches("the cycle is open").count(),
        1,
        "{}",
        bot.log()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_bot_soon_even_while_slack_hangs() {
    let emu = emulator().await;
    // Every auth.test hangs: the start-up check would retry for most of a minute.
    for _ in 0..5 {
        emu.fail_next("auth.test", slack_emulator::Fault::Hang);
    }
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let mut bot = Process::new(&emu, later, later + chrono::Duration::hours(2), "30m", "1h");
    bot.start();
    emu.wait_for_call("auth.test", |_| true, WAIT).await;
    // SIGTERM, then exit status 0 within Docker's 10 s grace (Process::stop's limit).
    bot.stop();
    let log = bot.log();
    assert!(
        log.contains("stopped 5 s after the signal with work unfinished"),
        "{log}"
    );
}

/// Rough edges a new user meets, each now one line saying what is wrong and what to do.
#[test]
fn first_mistakes_get_one_line_that_says_what_to_do() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("config/standup.example.toml"),
        dir.path().join("standup.toml"),
    )
    .unwrap();
    let fixture = root.join("tests/fixtures/planning.md");
    cli_in(
        dir.path(),
        &["import", "--team", "orbit", fixture.to_str().unwrap()],
    );
    let one_line_error = |args: &[&str]| {
        let out = run_cli(dir.path(), args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        err
    };

    // A usage mistake: clap's one line, then its pointer to --help.
    let out = run_cli(
        dir.path(),
        &["compile", "--team", "orbit", "--date", "11/03/2024"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .contains("write it as YYYY-MM-DD"),
        "{err}"
    );

    let missing = dir.path().join("missing/sub");
    let err = one_line_error(&["backup", missing.join("b.db").to_str().unwrap()]);
    assert!(
        err.contains(&format!("the folder {} does not exist", missing.display())),
        "{err}"
    );
    assert!(
        !err.contains(".standup-backup") && !err.contains("[database] path"),
        "{err}"
    );
    let err = one_line_error(&[
        "compile",
        "--team",
        "orbit",
        "--out",
        missing.join("notes.md").to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!("the folder {} does not exist", missing.display())),
        "{err}"
    );
    // No temporary file's name (tempfile's are `.tmp…`; the test's own folder is one too).
    let own = dir.path().to_str().unwrap();
    assert!(!err.replace(own, "").contains(".tmp"), "{err}");

    // No config at all where the bot is started: both default places are named.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .arg("check-config")
        .current_dir(empty.path())
        .env_remove("STANDUP_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("neither config/standup.toml nor config/standup.example.toml"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standup_teams_lists_each_team_its_schedule_and_where_it_is_set_up() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    let answer = command(&emu, MARIA, "teams").await;
    let monday = monday_8am().format("%a %-d %b").to_string();
    assert!(answer.starts_with("*Teams* (1):"), "{answer}");
    assert!(
        answer.contains(&format!(
            "• *Team Orbit* (`orbit`) in <#{CHANNEL}>: 4 members; prompts at 09:00 on weekdays, meets at 15:00 on weekdays (UTC); next prompt {monday} 09:00, notes {monday} 14:30; set up in the config file `"
        )),
        "{answer}"
    );
    // Someone in no team (and no admin) is told so, as for the other commands.
    let stranger = command(&emu, "U0STRANGE1", "teams").await;
    assert!(!stranger.contains("Team Orbit"), "{stranger}");
    bot.stop().await;
}

fn check_online(dir: &std::path::Path, token: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .args(["--config", "standup.toml", "check-config", "--online"])
        .current_dir(dir)
        .env("SLACK_BOT_TOKEN", token)
        .env("STANDUP_LOG", "off")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_asks_slack_what_the_file_cannot_say() {
    let emu = emulator_with(&[User::new("U0BOTLIKE1", "robo").bot()]).await;
    let bot = Bot::builder(&emu).per_member_timezone().build();
    let token = emu.config().bot_token.clone();
    let (ok, out) = check_online(bot.dir.path(), &token);
    assert!(ok, "{out}");
    assert!(out.contains("Slack: the bot token works"), "{out}");
    assert!(
        out.contains(&format!(
            "team orbit: channel #team-orbit ({CHANNEL}): the bot is in it"
        )),
        "{out}"
    );
    assert!(out.contains("team orbit: next prompt "), "{out}");
    // Maria's own clock is Berlin's: her next prompt is read there.
    assert!(
        out.lines()
            .any(|l| l.contains(MARIA) && l.ends_with("(Europe/Berlin)")),
        "{out}"
    );
    let scopes = slack_emulator::spec::Manifest::standup_bot().bot_scopes;
    assert!(
        out.contains(&format!(
            "Slack: scopes: all {} the app manifest lists are granted",
            scopes.len()
        )),
        "{out}"
    );
    assert!(out.contains("online: ok"), "{out}");

    // A member Slack does not know, a bot as a member, a channel the bot is not in.
    bot.edit_config(|c| {
        c.replace(
            "members = [",
            "members = [\n  { user = \"U0GHOST001\", handle = \"ghost\" },\n  { user = \"U0BOTLIKE1\", handle = \"robo\" },",
        )
        .replace(CHANNEL, "C0NOTHERE1")
    });
    let (ok, out) = check_online(bot.dir.path(), &token);
    assert!(!ok, "{out}");
    assert!(
        out.contains("problem: team orbit: member U0GHOST001: Slack says user_not_found"),
        "{out}"
    );
    assert!(
        out.contains("problem: team orbit: member U0BOTLIKE1 is a bot"),
        "{out}"
    );
    assert!(
        out.contains("problem: team orbit: channel C0NOTHERE1: Slack says channel_not_found"),
        "{out}"
    );
    assert!(out.contains("3 problems found in Slack"), "{out}");

    // A wrong token is said in one line, without the token.
    let (ok, out) = check_online(bot.dir.path(), "xoxb-1-wrong-token");
    assert!(!ok);
    assert!(out.contains("invalid_auth"), "{out}");
    assert!(!out.contains("xoxb-1-wrong-token"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_names_a_scope_the_token_lacks() {
    // Granted every scope of the manifest but files:write (the notes file), which none of the
    // check's own calls needs: the one problem is the scope.
    let scopes = slack_emulator::spec::Manifest::standup_bot().bot_scopes;
    assert!(scopes.iter().any(|s| s == "files:write"));
    let fewer = scopes.iter().filter(|s| *s != "files:write").cloned();
    let emu = slack_emulator::Emulator::start(team_workspace(&[]).with_scopes(fewer)).await;
    let bot = Bot::builder(&emu).build();
    let (ok, out) = check_online(bot.dir.path(), &emu.config().bot_token);
    assert!(!ok, "{out}");
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("problem:")).collect();
    assert_eq!(
        problems,
        [
            "problem: the bot token lacks the files:write scope (for files.getUploadURLExternal / files.completeUploadExternal: the notes file): add it under OAuth & Permissions → Scopes (or re-create the app from config/slack-app-manifest.yml), then reinstall the app to the workspace"
        ],
        "{out}"
    );
    assert!(
        !out.contains("all granted") && !out.contains("are granted"),
        "{out}"
    );
    assert!(out.contains("1 problem found in Slack"), "{out}");
}

/// A second bot on the same SQLite file is refused at start, naming the first, before it sends
/// anything; once the first stops, a bot starts on the file again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bot_on_the_same_database_is_refused_naming_the_first() {
    if !sqlite_only("the claim is a lock on the SQLite file's `.owner` file") {
        return;
    }
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).start().await;
    let posts = emu.calls_to("chat.postMessage").len();
    let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .env_remove(DATABASE_URL_ENV)
        .args(["--config", "standup.toml", "run"])
        .current_dir(bot.dir.path())
        .env("SLACK_BOT_TOKEN", &bot.bot_token)
        .env("SLACK_APP_TOKEN", &bot.app_token)
        .env("STANDUP_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "another standup-bot runs on this database (pid {} on ",
            std::process::id()
        )),
        "{err}"
    );
    assert!(err.contains("stop that one first"), "{err}");
    assert_eq!(
        emu.calls_to("chat.postMessage").len(),
        posts,
        "the second sent nothing"
    );
    // The first stops: the file is free again.
    bot.stop().await;
    bot.start().await;
    bot.stop().await;
}
