//! Time off, end to end: the real `standup-bot run` binary against the local Slack emulator.
//! Holidays and working days, an out-of-office Slack status, `/standup ooo` and `quiet`, the
//! document's "out of office" notes, and quiet hours that hold a prompt (across a restart).

mod support;

use std::time::Duration;

use chrono::{Datelike, Timelike, Utc};
use slack_emulator::{Emulator, User, events};
use support::*;

/// `/standup <text>` from `user`: the answer in the ack, or (on a slow machine) the one that
/// follows through the `response_url`.
async fn command(emu: &Emulator, user: &str, text: &str) -> String {
    let before = emu.response_posts().len();
    let answer = emu
        .send_slash_command("/standup", text, user, CHANNEL)
        .ack(WAIT)
        .await
        .expect("acked");
    let text = answer["text"].as_str().unwrap_or_default().to_string();
    if !text.starts_with("On it") {
        return text;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(post) = emu.response_posts().get(before) {
            return post.body["text"].as_str().unwrap_or_default().to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer to {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_file(emu: &Emulator) -> slack_emulator::File {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let files = emu.files();
        if let Some(file) = files.first().filter(|f| f.title.is_some()) {
            return file.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no file posted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn jobs(bot: &Bot, team: &str, state: &str) -> i64 {
    rusqlite::Connection::open(bot.db_path())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM jobs WHERE team_id = ?1 AND kind = 'prompt' AND state = ?2",
            [team, state],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_prompts_nobody_while_another_team_works() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    let t0 = Utc::now();
    let prompt = t0 + chrono::Duration::seconds(4);
    let sync = t0 + chrono::Duration::seconds(60);
    let today = prompt.date_naive();
    let weekday = today.weekday().to_string();
    // orbit has today off; nova (zoe alone) works today, by the weekday list.
    let mut bot = Bot::with_extra(
        &emu,
        prompt,
        sync,
        "20s",
        "1h",
        "",
        &format!("holidays = [\"{today}\", \"2026-12-24..2026-12-31\"]"),
    );
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
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    wait_prompted(&emu, ZOE).await;
    // Every orbit prompt was recorded, and skipped.
    let deadline = tokio::time::Instant::now() + WAIT;
    // The prompt reaches Slack a moment before its job is marked done.
    while jobs(&bot, "orbit", "skipped") < 4 || jobs(&bot, "nova", "done") < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(jobs(&bot, "nova", "done"), 1);
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
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_office_by_status_or_command_shows_in_the_notes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // maria's Slack status says she is on leave (for another day).
    let expires = (Utc::now() + chrono::Duration::days(1)).timestamp();
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
    let t0 = Utc::now();
    let prompt = t0 + chrono::Duration::seconds(6);
    let sync = t0 + chrono::Duration::seconds(26);
    let mut bot = Bot::new(&emu, prompt, sync, "10s", "1h");
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // kenji is out today and again later; he lists and cancels the later leave.
    let today = Utc::now().date_naive();
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
    wait_prompted(&emu, LI).await;
    wait_prompted(&emu, ZOE).await;
    emu.send_event(events::dm_message(LI, "Done: the exporter"))
        .ack(WAIT)
        .await
        .expect("acked");
    let status = command(&emu, LI, "status").await;
    assert!(
        status.contains("out of office: @kenji, @maria (Slack status)"),
        "{status}"
    );

    let file = wait_file(&emu).await;
    assert!(
        file.content.contains(
            "@maria\n- 🌴 Out of office\n\n@kenji\n- 🌴 Out of office\n\n@li\n- 🚢 Shipped:\n    - the exporter\n\n@zoe\n\n"
        ),
        "{}",
        file.content
    );
    assert_eq!(prompts_to(&emu, MARIA), 0);
    assert_eq!(prompts_to(&emu, KENJI), 0);
    bot.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_a_prompt_until_they_end_even_across_a_restart() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let emu = emulator().await;
    // Whole seconds: the window is written to the second.
    let t0 = Utc::now().with_nanosecond(0).unwrap();
    let prompt = t0 + chrono::Duration::seconds(3);
    let quiet_end = t0 + chrono::Duration::seconds(12);
    let sync = t0 + chrono::Duration::seconds(50);
    // The team's zone is UTC; maria lives in Berlin, and quiet hours are read on the member's
    // own clock (the README's promise): her window, in Berlin time, started a minute ago and
    // ends in 12 s. Read on the team's clock it would lie an hour ahead, and not hold her.
    let berlin = |t: chrono::DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Berlin);
    let window = format!(
        "{}-{}",
        berlin(t0 - chrono::Duration::seconds(60)).format("%H:%M:%S"),
        berlin(quiet_end).format("%H:%M:%S")
    );
    // li's window lasts past the post (at sync - 20 s): her prompt is skipped, not sent late.
    let li_window = format!(
        "{}-{}",
        (t0 - chrono::Duration::seconds(60)).format("%H:%M:%S"),
        (t0 + chrono::Duration::seconds(40)).format("%H:%M:%S")
    );
    let mut bot = Bot::new(&emu, prompt, sync, "20s", "1h");
    bot.edit_config(|text| {
        text.replace(
            "handle = \"maria\" }",
            &format!("handle = \"maria\", quiet_hours = \"{window}\" }}"),
        )
        .replace(
            "handle = \"li\" }",
            &format!("handle = \"li\", quiet_hours = \"{li_window}\" }}"),
        )
    });
    bot.start();
    assert!(emu.socket_connected(WAIT).await, "log:\n{}", bot.log());

    // Members are taken in order in each pass, maria before kenji: once kenji's prompt job has
    // ended, maria's was held or sent.
    wait_jobs(&bot, "prompt", KENJI, "done", 1).await;
    assert_eq!(prompts_to(&emu, MARIA), 0, "maria is in her quiet hours");
    // A restart while the prompt is held neither loses nor repeats it.
    bot.kill();
    bot.start();
    wait_prompted(&emu, MARIA).await;
    assert!(
        Utc::now() >= quiet_end,
        "maria was prompted before her quiet hours ended"
    );
    wait_jobs(&bot, "prompt", MARIA, "done", 1).await;
    wait_jobs(&bot, "prompt", LI, "skipped", 1).await;
    assert_eq!(prompts_to(&emu, MARIA), 1);
    assert_eq!(prompts_to(&emu, KENJI), 1);
    assert_eq!(
        prompts_to(&emu, LI),
        0,
        "li's quiet hours outlast the cycle"
    );
    let li: String = rusqlite::Connection::open(bot.db_path())
        .unwrap()
        .query_row(
            "SELECT state || ': ' || last_error FROM jobs WHERE member = ?1 AND kind = 'prompt'",
            [LI],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(li, "skipped: quiet hours last past the post time");
    bot.stop();
}
