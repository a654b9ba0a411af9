//! Time off, end to end: the bot in-process against the local Slack emulator, on a test clock.
//! Holidays and working days, an out-of-office Slack status, `/standup ooo` and `quiet`, the
//! document's "out of office" notes, and quiet hours that hold a prompt (across a restart).

use crate::support::*;
use chrono::{Datelike, Utc};
use slack_emulator::{Emulator, User, events};

fn jobs(bot: &Bot, team: &str, state: &str) -> i64 {
    bot.db().int(
        "SELECT count(*) FROM jobs WHERE team_id = $1 AND kind = 'prompt' AND state = $2",
        &[team, state],
    )
}

fn at_nine() -> chrono::DateTime<Utc> {
    monday_8am() + chrono::Duration::hours(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_prompts_nobody_while_another_team_works() {
    let emu = emulator().await;
    let prompt = at_nine();
    let today = prompt.date_naive();
    let weekday = today.weekday().to_string();
    // orbit has today off; nova (zoe alone) works today, by the weekday list.
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(prompt + chrono::Duration::hours(1))
        .post_before("20m")
        .team(&format!(
            "holidays = [\"{today}\", \"2026-12-24..2026-12-31\"]"
        ))
        .build();
    bot.edit_config(|text| {
        let nova = text
            .split("[[team]]")
            .nth(1)
            .unwrap()
            .replace("id = \"orbit\"", "id = \"nova\"")
            .replace("name = \"Team Orbit\"", "name = \"Team Nova\"")
            .replace(
                &format!("holidays = [\"{today}\", \"2026-12-24..2026-12-31\"]"),
                &format!("working_days = [\"{weekday}\"]"),
            );
        let head = nova.split("members = [").next().unwrap().to_string();
        format!("{text}\n[[team]]{head}members = [{{ user = \"{ZOE}\", handle = \"zoe\" }}]\n")
    });
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    bot.run_until(prompt).await;
    // Every orbit prompt was recorded, and skipped; nova's was sent.
    assert_eq!(jobs(&bot, "orbit", "skipped"), 4, "log:\n{}", bot.log());
    assert_eq!(jobs(&bot, "nova", "done"), 1, "log:\n{}", bot.log());
    for user in [MARIA, KENJI, LI] {
        assert_eq!(
            prompts_to(&emu, user),
            0,
            "{user} was prompted on a holiday"
        );
    }
    assert_eq!(prompts_to(&emu, ZOE), 1, "zoe is prompted by nova only");
    assert!(bot.log().contains("day off: not prompting"));
    // /standup status says why nobody in orbit is asked.
    let status = command(&emu, MARIA, "status").await;
    assert!(
        status.contains(&format!("{today} is a holiday")),
        "{status}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_office_by_status_or_command_shows_in_the_notes() {
    // maria's Slack status says she is on leave (for another day).
    let expires = (monday_8am() + chrono::Duration::days(1)).timestamp();
    let emu = Emulator::start(
        slack_emulator::EmulatorConfig::default()
            .with_user(User::new(MARIA, "maria").status(":palm_tree:", "Vacation", expires))
            .with_user(User::new(KENJI, "kenji"))
            .with_user(User::new(LI, "li"))
            .with_user(User::new(ZOE, "zoe").status(":coffee:", "Break", 0))
            .with_channel(
                slack_emulator::Channel::new(CHANNEL, "team-orbit")
                    .members(&[MARIA, KENJI, LI, ZOE]),
            ),
    )
    .await;
    let prompt = at_nine();
    let sync = prompt + chrono::Duration::minutes(20);
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("10m")
        .start()
        .await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // kenji is out today and again later; he lists and cancels the later leave.
    let today = bot.now().date_naive();
    let later = today + chrono::Duration::days(30);
    let end = later + chrono::Duration::days(4);
    let answer = command(&emu, KENJI, "ooo today").await;
    assert!(
        answer.starts_with(&format!("OK, you are out of office on {today}")),
        "{answer}"
    );
    let answer = command(&emu, KENJI, &format!("ooo {later} {end}")).await;
    assert!(
        answer.contains(&format!("from {later} to {end}")),
        "{answer}"
    );
    let list = command(&emu, KENJI, "ooo list").await;
    assert_eq!(
        list,
        format!(
            "Your time off:\n1. out of office on {today}\n2. out of office {later} to {end}\nCancel one with `/standup ooo cancel &lt;number&gt;`."
        )
    );
    let cancelled = command(&emu, KENJI, "ooo cancel 2").await;
    assert!(
        cancelled.starts_with(&format!("Cancelled: out of office {later} to {end}")),
        "{cancelled}"
    );
    let list = command(&emu, KENJI, "ooo list").await;
    assert!(!list.contains(&later.to_string()), "{list}");
    // Mistakes get a clear answer.
    let backwards = command(&emu, KENJI, &format!("ooo {end} {later}")).await;
    assert!(backwards.starts_with("The range ends"), "{backwards}");
    let past = command(&emu, KENJI, "ooo 2020-01-01 2020-01-02").await;
    assert!(past.contains("is in the past"), "{past}");
    let quiet = command(&emu, LI, "quiet 22:00-07:00").await;
    assert!(quiet.starts_with("OK, quiet hours 22:00-07:00"), "{quiet}");
    let quiet = command(&emu, LI, "quiet default").await;
    assert!(quiet.starts_with("OK, no quiet hours"), "{quiet}");

    // li and zoe (a status that is not out of office) are prompted; maria and kenji are not.
    bot.run_until(prompt).await;
    assert_eq!(prompts_to(&emu, LI), 1);
    assert_eq!(prompts_to(&emu, ZOE), 1);
    emu.send_event(events::dm_message(LI, "Done: the exporter"))
        .ack(WAIT)
        .await
        .expect("acked");
    bot.events_handled().await;
    let status = command(&emu, LI, "status").await;
    assert!(
        status.contains("out of office: @kenji, @maria (Slack status)"),
        "{status}"
    );

    bot.run_until(sync - chrono::Duration::minutes(10)).await;
    let file = wait_file(&emu, 1).await;
    assert!(
        file.content.contains(
            "@maria\n- 🌴 Out of office\n\n@kenji\n- 🌴 Out of office\n\n@li\n- 🚢 Shipped:\n    - the exporter\n\n@zoe\n\n"
        ),
        "{}",
        file.content
    );
    assert_eq!(prompts_to(&emu, MARIA), 0);
    assert_eq!(prompts_to(&emu, KENJI), 0);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_a_prompt_until_they_end_even_across_a_restart() {
    let emu = emulator().await;
    let prompt = at_nine();
    let quiet_end = prompt + chrono::Duration::minutes(10);
    let sync = prompt + chrono::Duration::hours(1);
    // The team's zone is UTC; quiet hours are read on the member's own clock. maria lives in
    // Berlin (UTC+1 in winter): her window, written in her time, started a minute before the
    // prompt and ends ten minutes after it. li's (UTC) lasts past the post (at sync - 20 min):
    // her prompt is skipped, not sent late.
    let mut bot = Bot::builder(&emu)
        .prompt_at(prompt)
        .sync_at(sync)
        .post_before("20m")
        .build();
    let berlin = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::Berlin)
            .format("%H:%M:%S")
            .to_string()
    };
    let window = format!(
        "{}-{}",
        berlin(prompt - chrono::Duration::minutes(1)),
        berlin(quiet_end)
    );
    bot.edit_config(|text| {
        text.replace(
            "handle = \"maria\" }",
            &format!("handle = \"maria\", quiet_hours = \"{window}\" }}"),
        )
        .replace(
            "handle = \"li\" }",
            "handle = \"li\", quiet_hours = \"08:59:00-09:45:00\" }",
        )
    });
    bot.start().await;
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    bot.run_until(prompt).await;
    assert_eq!(prompts_to(&emu, KENJI), 1);
    assert_eq!(prompts_to(&emu, MARIA), 0, "maria is in her quiet hours");
    // A restart while the prompt is held neither loses nor repeats it.
    bot.kill().await;
    bot.start().await;
    bot.run_until(quiet_end - chrono::Duration::seconds(1))
        .await;
    assert_eq!(
        prompts_to(&emu, MARIA),
        0,
        "maria was prompted before her quiet hours ended"
    );
    bot.run_until(quiet_end).await;
    assert_eq!(
        prompts_to(&emu, MARIA),
        1,
        "prompted as her quiet hours end"
    );
    bot.run_until(sync).await;
    assert_eq!(prompts_to(&emu, MARIA), 1);
    assert_eq!(prompts_to(&emu, KENJI), 1);
    assert_eq!(
        prompts_to(&emu, LI),
        0,
        "li's quiet hours outlast the cycle"
    );
    let li = bot.db().text(
        "SELECT state || ': ' || last_error FROM jobs WHERE member = $1 AND kind = 'prompt'",
        &[LI],
    );
    assert_eq!(li, "skipped: quiet hours last past the post time");
    bot.stop().await;
}
