//! People and channels by name: a config written with `#team-orbit`, `@handle`s and emails runs
//! the team as if it had the ids; `members = "#team-orbit"` follows the channel as people join
//! and leave; a name Slack does not know stops the start with its line. Against the emulator
//! with the manifest's scopes.

use crate::support::*;
use slack_emulator::{Channel, Emulator, EmulatorConfig, User};

const AISHA: &str = "U0AISHA001";
const HELPER_BOT: &str = "U0BOTBOT01";

/// The team's workspace with display names and emails, Aisha outside the channel and a bot
/// inside it.
async fn workspace() -> Emulator {
    let config = EmulatorConfig::default()
        .with_user(
            User::new(MARIA, "maria.lopez")
                .display_name("maria")
                .email("maria@example.com"),
        )
        .with_user(User::new(KENJI, "kenji").email("kenji@example.com"))
        .with_user(User::new(LI, "li"))
        .with_user(User::new(ZOE, "zoe"))
        .with_user(User::new(AISHA, "aisha"))
        .with_user(User::new(HELPER_BOT, "deploybot").bot())
        .with_channel(
            Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI, ZOE, HELPER_BOT]),
        );
    Emulator::start(config).await
}

/// Replaces the team's channel and member list in the config the builder wrote.
fn by_name(bot: &Bot, channel: &str, members: &str) {
    bot.edit_config(|text| {
        let start = text.find("members = [").unwrap();
        let end = start + text[start..].find("\n]").unwrap() + 2;
        let text = format!("{}members = {members}{}", &text[..start], &text[end..]);
        text.replace(
            &format!("channel = \"{CHANNEL}\""),
            &format!("channel = \"{channel}\""),
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_written_with_names_runs_as_with_ids() {
    let emu = workspace().await;
    let mut bot = Bot::builder(&emu).build();
    by_name(
        &bot,
        "#team-orbit",
        r#"[{ user = "@maria" }, { user = "kenji@example.com", handle = "kenji" }, { user = "@li" }, { user = "U0ZOE00001" }]"#,
    );
    bot.start().await;
    bot.run_until(monday_8am() + chrono::Duration::hours(1))
        .await;
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted");
    }
    assert_eq!(prompts_to(&emu, AISHA), 0);
    // Looked up with the calls the names need, and only those.
    assert_eq!(emu.calls_to("users.lookupByEmail").len(), 1);
    assert_eq!(emu.calls_to("conversations.list").len(), 1);
    let teams = command(&emu, MARIA, "teams").await;
    assert!(
        teams.contains(&format!("in <#{CHANNEL}>: 4 members")),
        "{teams}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_as_members_follows_people_joining_and_leaving() {
    let emu = workspace().await;
    let mut bot = Bot::builder(&emu).build();
    by_name(&bot, CHANNEL, r##""#team-orbit""##);
    bot.start().await;
    bot.run_until(monday_8am() + chrono::Duration::hours(1))
        .await;
    // The people in the channel; not the bot, not the other bot.
    for user in [MARIA, KENJI, LI, ZOE] {
        assert_eq!(prompts_to(&emu, user), 1, "{user} prompted");
    }
    assert!(emu.messages(&emu.dm_channel(HELPER_BOT)).is_empty());

    // Aisha joins mid-cycle: she is a member at once, prompted, and introduced.
    let reloads = |bot: &Bot| bot.log().matches("config reloaded (someone").count();
    emu.join_channel(AISHA, CHANNEL).await;
    wait_until("the join followed", WAIT, || reloads(&bot) == 1).await;
    let line = bot.log();
    let line = line
        .lines()
        .find(|l| l.contains("config reloaded (someone joined"))
        .unwrap();
    assert!(line.contains(&format!("members added: {AISHA}")), "{line}");
    bot.settle().await;
    assert_eq!(prompts_to(&emu, AISHA), 1, "Aisha prompted after joining");

    // Kenji leaves: no longer a member, so not reminded at 11:00.
    emu.leave_channel(KENJI, CHANNEL).await;
    wait_until("the leave followed", WAIT, || reloads(&bot) == 2).await;
    assert!(
        bot.log().contains(&format!("members removed: {KENJI}")),
        "{}",
        bot.log()
    );
    let before = emu.messages(&emu.dm_channel(KENJI)).len();
    bot.run_until(monday_8am() + chrono::Duration::hours(4))
        .await;
    assert_eq!(
        emu.messages(&emu.dm_channel(KENJI)).len(),
        before,
        "Kenji not reminded"
    );
    assert!(emu.messages(&emu.dm_channel(LI)).len() >= 2, "Li reminded");
    let teams = command(&emu, MARIA, "teams").await;
    assert!(
        teams.contains(&format!("4 members (everyone in <#{CHANNEL}>)")),
        "{teams}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_slack_does_not_know_stops_the_start_with_its_line() {
    let emu = workspace().await;
    let mut bot = Bot::builder(&emu).build();
    by_name(
        &bot,
        "#team-orbit",
        r#"[{ user = "@maria" }, { user = "@nobody" }, { user = "zoe@example.com" }]"#,
    );
    let error = bot.try_start().await.unwrap_err();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 2, "{error}");
    assert!(
        lines[0].contains("members[2].user: `@nobody`: nobody in the workspace goes by this name"),
        "{error}"
    );
    assert!(
        lines[1]
            .contains("members[3].user: `zoe@example.com`: nobody in the workspace has this email"),
        "{error}"
    );
    assert!(lines[0].contains("standup.toml:"), "{error}");
    // Nothing was sent.
    assert!(emu.calls_to("chat.postMessage").is_empty());
}
