//! `/standup setup`: a team set up from Slack in a modal runs at once beside the config file's,
//! is kept across a restart, and is changed with the same command; who may do it, and what the
//! form refuses, as Slack shows it. Against the emulator with its Block Kit and scope checks.

use crate::support::*;
use serde_json::Value;
use slack_emulator::{Channel, Emulator, EmulatorConfig, User};

const APOLLO: &str = "C0APOLLO01";
const BOSS: &str = "U0BOSS0001";
const AISHA: &str = "U0AISHA001";

async fn workspace() -> Emulator {
    let config = EmulatorConfig::default()
        .with_user(User::new(MARIA, "maria"))
        .with_user(User::new(KENJI, "kenji"))
        .with_user(User::new(LI, "li"))
        .with_user(User::new(ZOE, "zoe"))
        .with_user(User::new(AISHA, "aisha").tz("Europe/Berlin", "CET", 3600))
        .with_user(User::new(BOSS, "boss").admin())
        .with_channel(Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI, LI, ZOE]))
        .with_channel(Channel::new(APOLLO, "team-apollo").members(&[AISHA, LI, BOSS]));
    Emulator::start(config).await
}

/// `/standup <text>` typed by `user` in `channel`: the ephemeral answer.
async fn standup_in(emu: &Emulator, user: &str, channel: &str, text: &str) -> String {
    let ack = emu
        .send_slash_command("/standup", text, user, channel)
        .ack(WAIT)
        .await
        .expect("acked");
    ack["text"].as_str().unwrap_or_default().to_string()
}

/// Submits the modal `view` as `user`: the ack (`null` when Slack closes it).
async fn submit(emu: &Emulator, user: &str, view: &str, values: &[(&str, &str)]) -> Value {
    let payload = emu
        .submit_view(user, view, values)
        .expect("the form takes these");
    emu.send_interaction(payload)
        .ack(WAIT)
        .await
        .expect("acked")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_set_up_from_slack_runs_at_once_beside_the_files() {
    let emu = workspace().await;
    let mut bot = Bot::builder(&emu)
        .team(&format!("admins = [\"{MARIA}\"]"))
        .start()
        .await;

    // Someone who is neither a workspace admin nor a team admin gets no form.
    let refused = standup_in(&emu, ZOE, CHANNEL, "setup").await;
    assert!(refused.starts_with("Only workspace admins"), "{refused}");
    // The file's team is changed in the file.
    let file_team = standup_in(&emu, MARIA, CHANNEL, "setup orbit").await;
    assert!(
        file_team.contains("is set up in the config file"),
        "{file_team}"
    );
    assert!(emu.calls_to("views.open").is_empty());

    // A workspace admin, in #team-apollo: the form opens on that channel.
    let opened = standup_in(&emu, BOSS, APOLLO, "setup").await;
    assert!(opened.contains("the form is open"), "{opened}");
    let view = emu.views().last().expect("a modal").clone();
    let blocks = view.view["blocks"].as_array().unwrap();
    let channel = blocks.iter().find(|b| b["block_id"] == "channel").unwrap();
    assert_eq!(channel["element"]["initial_conversation"], APOLLO);
    let zone = blocks.iter().find(|b| b["block_id"] == "timezone").unwrap();
    assert_eq!(zone["element"]["initial_value"], "UTC");

    // Problems show under their fields, and nothing is kept.
    let fields = [
        ("name", "Team Apollo"),
        ("members", AISHA),
        ("members", LI),
        ("prompt_time", "08:30"),
        ("meet_days", "Tue"),
        ("meet_time", "11:00"),
        ("timezone", "Mars/Olympus"),
        ("format", "Standup (last week / this week)"),
    ];
    let ack = submit(&emu, BOSS, &view.id, &fields).await;
    assert_eq!(ack["response_action"], "errors", "{ack}");
    let error = ack["errors"]["timezone"].as_str().unwrap_or_default();
    assert!(error.contains("Mars/Olympus"), "{ack}");
    let ack = submit(
        &emu,
        BOSS,
        &view.id,
        &[("name", "Orbit"), ("members", AISHA)],
    )
    .await;
    assert!(
        ack["errors"]["name"]
            .as_str()
            .is_some_and(|e| e.contains("The config file has a team `orbit`")),
        "{ack}"
    );

    // Fixed: kept, applied at once, and the admin told what the team now does.
    let mut good = fields.to_vec();
    good.retain(|(b, _)| *b != "timezone");
    good.push(("timezone", "Europe/Berlin"));
    let ack = submit(&emu, BOSS, &view.id, &good).await;
    assert!(
        ack.is_null() || ack.get("response_action").is_none(),
        "{ack}"
    );
    let dm = emu.dm_channel(BOSS);
    let told = emu
        .wait_for_message(
            &dm,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.starts_with("Team *Team Apollo* is set up"))
            },
            WAIT,
        )
        .await;
    let told = told.text.unwrap();
    assert!(told.contains("2 members"), "{told}");
    assert!(
        told.contains("prompts at 08:30 on weekdays, meets at 11:00 on Tuesdays (Europe/Berlin)"),
        "{told}"
    );
    let teams = standup_in(&emu, MARIA, APOLLO, "teams").await;
    assert!(teams.starts_with("*Teams* (2):"), "{teams}");
    assert!(
        teams.contains(&format!(
            "• *Team Apollo* (`team-apollo`) in <#{APOLLO}>: 2 members; prompts at 08:30 on weekdays, meets at 11:00 on Tuesdays (Europe/Berlin)"
        )),
        "{teams}"
    );
    assert!(
        teams.contains(&format!("set up in Slack by <@{BOSS}>")),
        "{teams}"
    );

    // It runs: Monday 08:30 in Berlin is 07:30 UTC, an hour before the bot's clock: the cycle
    // is open, so its members are prompted now.
    bot.settle().await;
    assert_eq!(prompts_to(&emu, AISHA), 1, "Aisha prompted");
    assert_eq!(
        prompts_to(&emu, LI),
        1,
        "Li prompted for Apollo (Orbit prompts at 09:00)"
    );

    // Kept across a restart, and changed with the same command: the form opens filled in.
    bot.stop().await;
    bot.start().await;
    let again = standup_in(&emu, BOSS, APOLLO, "setup team-apollo").await;
    assert!(again.contains("Changing team *Team Apollo*"), "{again}");
    let view = emu.views().last().unwrap().clone();
    let blocks = view.view["blocks"].as_array().unwrap();
    let members = blocks.iter().find(|b| b["block_id"] == "members").unwrap();
    assert_eq!(
        members["element"]["initial_users"],
        serde_json::json!([AISHA, LI])
    );
    let ack = submit(
        &emu,
        BOSS,
        &view.id,
        &[
            ("members", ""),
            (
                "everyone",
                "Everyone in the channel (bots left out), as people join and leave",
            ),
        ],
    )
    .await;
    assert!(ack.get("response_action").is_none(), "{ack}");
    emu.wait_for_message(
        &dm,
        |m| {
            m.text.as_deref().is_some_and(|t| {
                t.starts_with(&format!(
                    "Team *Team Apollo* is set up: everyone in <#{APOLLO}> (3 now)"
                ))
            })
        },
        WAIT,
    )
    .await;
    assert!(
        bot.log().contains("config reloaded (team team-apollo set up from Slack by U0BOSS0001): team team-apollo: members added: U0BOSS0001"),
        "{}",
        bot.log()
    );
    let teams = standup_in(&emu, MARIA, APOLLO, "teams").await;
    assert!(
        teams.contains(&format!("3 members (everyone in <#{APOLLO}>)")),
        "{teams}"
    );
    // `/standup status` and `check-config` say where the team comes from.
    let status = standup_in(&emu, AISHA, APOLLO, "status").await;
    assert!(
        status.contains("*Team Apollo* (") && status.contains(", set up in Slack): answered"),
        "{status}"
    );
    let checked = bot.cli(&["check-config"]);
    assert!(
        checked.contains(&format!(
            "team team-apollo: set up from Slack by {BOSS} on "
        )),
        "{checked}"
    );
    // Removed: no longer run or listed; the file's team goes on.
    let removed = standup_in(&emu, BOSS, APOLLO, "setup remove team-apollo").await;
    assert!(
        removed.starts_with("Team *Team Apollo* is removed"),
        "{removed}"
    );
    let teams = standup_in(&emu, MARIA, CHANNEL, "teams").await;
    assert!(teams.starts_with("*Teams* (1):"), "{teams}");
    let file_team = standup_in(&emu, BOSS, CHANNEL, "setup remove orbit").await;
    assert!(file_team.contains("remove it there"), "{file_team}");
    bot.stop().await;
}
