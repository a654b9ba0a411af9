//! Changes without a restart: an edit of the config file applies while the bot runs (a new
//! member, a new prompt time), an invalid edit leaves it running by the last good config and
//! logs each problem as `check-config` words it, and SIGHUP reloads at once.

use crate::support::*;
use slack_emulator::User;

const AISHA: &str = "U0AISHA001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_applies_while_the_bot_runs_and_a_broken_one_is_refused() {
    let emu = emulator_with(&[User::new(AISHA, "aisha")]).await;
    let mut bot = Bot::builder(&emu).start().await;
    let reloads = |bot: &Bot| bot.log().matches("config reloaded").count();

    // 08:00: the prompt moves from 09:00 to 08:30 and Aisha joins the team.
    bot.edit_config(|text| {
        text.replace("0 0 9 * * Mon-Fri", "0 30 8 * * Mon-Fri")
            .replace(
                "members = [",
                &format!("members = [\n  {{ user = \"{AISHA}\", handle = \"aisha\" }},"),
            )
    });
    wait_until("the edit reloaded", WAIT, || reloads(&bot) == 1).await;
    let log = bot.log();
    let line = log.lines().find(|l| l.contains("config reloaded")).unwrap();
    assert!(line.contains("the config file changed"), "{line}");
    assert!(line.contains(&format!("members added: {AISHA}")), "{line}");
    assert!(line.contains("changed: prompt"), "{line}");

    bot.run_until(monday_8am() + chrono::Duration::minutes(31))
        .await;
    for user in [AISHA, MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted at 08:30");
    }

    // A typo in the schedule: refused with the line and key, and the bot runs on as before.
    let good = std::fs::read_to_string(bot.dir.path().join("standup.toml")).unwrap();
    bot.edit_config(|text| text.replace("0 0 15 * * Mon-Fri", "0 0 15 * * Mon-Fry"));
    wait_until("the broken edit reported", WAIT, || {
        bot.log().contains("config not reloaded")
    })
    .await;
    let log = bot.log();
    let problem = log
        .lines()
        .find(|l| l.contains("config not reloaded"))
        .unwrap();
    assert!(
        problem.contains("still running by the last good one"),
        "{problem}"
    );
    assert!(problem.contains("standup.toml:"), "{problem}");
    assert!(problem.contains("team \"orbit\".sync"), "{problem}");
    assert_eq!(reloads(&bot), 1, "{log}");
    // The running config still has Aisha and the old meeting: the reminder at 10:30 reaches
    // her, and `/standup teams` shows the meeting at 15:00.
    bot.run_until(monday_8am() + chrono::Duration::minutes(151))
        .await;
    let dm = emu.dm_channel(AISHA);
    assert!(
        emu.messages(&dm).len() >= 2,
        "Aisha was reminded: {:?}",
        emu.messages(&dm)
    );
    let teams = command(&emu, MARIA, "teams").await;
    assert!(teams.contains("15:00"), "{teams}");

    // Fixed, and reloaded at once by SIGHUP (no waiting on the file's look).
    // A [database] change rides along: it waits for the next start, and the log says so.
    std::fs::write(
        bot.dir.path().join("standup.toml"),
        good.replace("Team Orbit", "Orbit").replacen(
            "[database]\n",
            "[database]\nmax_size_mb = 512\n",
            1,
        ),
    )
    .unwrap();
    bot.reload();
    wait_until("the SIGHUP reload", WAIT, || reloads(&bot) == 2).await;
    let log = bot.log();
    let line = log
        .lines()
        .find(|l| l.contains("config reloaded (asked to (SIGHUP))"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("[database] changed: applies at the next start"),
        "{line}"
    );
    let teams = command(&emu, MARIA, "teams").await;
    assert!(teams.contains("*Orbit*"), "{teams}");
    bot.stop().await;
}
