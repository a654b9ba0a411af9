//! `standup-bot demo` end to end: the binary runs the real bot against its bundled emulator; the
//! transcript it prints and the notes, database and config it leaves are checked.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::cli_in;

fn demo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .arg("demo")
        .args(["--speed", "max", "--out"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The transcript's lines, each with its clock time and who spoke, in order.
fn position(transcript: &str, needle: &str) -> usize {
    transcript
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the transcript:\n{transcript}"))
}

#[test]
fn the_demo_shows_a_whole_standup_and_leaves_its_notes_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path(), &["--team-size", "4"]);
    let transcript = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The conversation, in Slack's order: the prompt to everyone, the blocked member flagged
    // at once, an edit taken, the command answered, the reminder only to the late member, the
    // notes posted before the meeting.
    let order = [
        "09:00  standup → 4 members (DM each)\n         Time for your *Team Orbit* update",
        "09:04  @maria → standup (DM)",
        "09:04  standup → @maria (DM)\n         Got it.",
        "09:09  standup → #team-orbit\n         :no_entry: @kenji is blocked: Waiting on the security review of the new VPC",
        "09:21  @li → standup (edits their answer)",
        "09:21  standup → @li (DM)\n         Got it. 🚢 Shipped: 1 item, ⏭ Next: 2 items.",
        "09:40  @maria → #team-orbit\n         /standup blocked",
        "09:40  standup → @maria (only they see it)\n         Open blockers:\n         • *Team Orbit* @kenji: Waiting on the security review",
        "09:45  standup → @zoe (DM)\n         Reminder:",
        "09:52  @zoe → standup (DM)",
        "10:15  standup → #team-orbit\n         *Team Orbit Planning ",
        "standup uploads orbit-",
        "Done: 4 prompts, 1 reminder, 1 blocker flag, notes posted 1 time.",
    ];
    let at: Vec<usize> = order.iter().map(|n| position(&transcript, n)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "out of order {at:?}:\n{transcript}"
    );
    assert!(
        transcript.contains(": 4 of 4 answered. Open blockers (1):"),
        "{transcript}"
    );
    assert_eq!(
        transcript.matches("Reminder:").count(),
        1,
        "only zoe is reminded"
    );

    // The notes the bot archived hold every member's update, the edit and the late answer.
    let notes_dir = dir.path().join("notes/orbit");
    let file = std::fs::read_dir(&notes_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("README.md"))
        .expect("a notes file");
    let notes = std::fs::read_to_string(&file).unwrap();
    for needle in [
        "\n@maria\n- 🚢 Shipped:",
        "[#412](https://github.com/example/orbit/pull/412)",
        "\n@kenji\n",
        "Waiting on the security review of the new VPC",
        "Fix the unsubscribe link 🐛",
        "Release notes for 2.4",
    ] {
        assert!(notes.contains(needle), "{needle:?} missing:\n{notes}");
    }

    // The database and config it leaves work with the other commands: compiling the meeting
    // gives the notes the bot posted, byte for byte.
    let date = file.file_stem().unwrap().to_str().unwrap().to_string();
    let listed = cli_in(dir.path(), &["compile", "--team", "orbit", "--list"]);
    assert!(listed.contains(&date), "{listed}");
    let compiled = cli_in(dir.path(), &["compile", "--team", "orbit", "--date", &date]);
    assert_eq!(compiled, notes);
    assert!(
        !dir.path().join("standup.db-wal").exists()
            || std::fs::metadata(dir.path().join("standup.db-wal"))
                .unwrap()
                .len()
                == 0,
        "the database file holds the run on its own"
    );
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert!(log.contains("update recorded"), "{log}");
    assert!(
        !transcript.contains("INFO"),
        "the bot's log stays out of the transcript"
    );
}

#[test]
fn the_demo_keeps_the_standup_format_and_refuses_bad_options_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(dir.path(), &["--team-size", "2", "--format", "standup"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains("09:00  standup → 2 members (DM each)"),
        "{transcript}"
    );
    assert!(transcript.contains("*Standup meeting - "), "{transcript}");
    assert!(!transcript.contains("@li"), "a team of two: {transcript}");

    let bad = demo(dir.path(), &["--team-size", "13"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("1 to 12 members"), "{err}");

    let bad = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .args(["demo", "--speed", "fast"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("1 to 100000") && err.contains("max"), "{err}");
}

/// What the README promises when no option is given: six members, and everything left in
/// `standup-demo/` where it was started.
#[test]
fn the_demo_defaults_to_six_members_and_a_standup_demo_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_standup-bot"))
        .args(["demo", "--speed", "max"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        transcript.contains("09:00  standup → 6 members (DM each)"),
        "{transcript}"
    );
    let folder = dir.path().join("standup-demo");
    for file in ["standup.toml", "standup.db", "bot.log"] {
        assert!(folder.join(file).is_file(), "{file} not in standup-demo/");
    }
    let notes = std::fs::read_dir(folder.join("notes/orbit"))
        .unwrap()
        .count();
    assert!(notes >= 1, "no notes in standup-demo/notes/orbit");
}
