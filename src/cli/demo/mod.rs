//! `standup-bot demo`: the real bot, unchanged, against the bundled Slack emulator started in
//! this process, with a small team whose members answer from a script. The bot runs on a test
//! clock the demo moves (about a minute for a morning's standup), and everything it sends goes
//! through the emulator's strict checks, as it would through Slack.
//!
//! It writes what a first run leaves behind: the config it ran, the database, the notes file
//! (through the bot's own archive) and the bot's log, so the other commands can be tried on them.

mod script;
mod transcript;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use slack_emulator::{Channel, Emulator, EmulatorConfig, User, events};

use super::{plural, stdout_error};
use crate::app::clock::{Clock, TestClock};
use crate::bot::run::{Timings, Transport};
use crate::config::{Secret, Secrets};
use crate::error::{Error, Result};
use script::{Act, PEOPLE};
use standup_core::domain::Format;
use transcript::{Names, Transcript};

/// The team channel of the demo workspace.
const CHANNEL: (&str, &str) = ("C0DEMOTEAM", "team-orbit");
/// The schedule, in UTC: prompt at 09:00, reminder 45 minutes later, the meeting at 10:30 with
/// the notes posted 15 minutes before.
const PROMPT: (u32, u32) = (9, 0);
const REMIND_AFTER: &str = "45m";
const SYNC: (u32, u32) = (10, 30);
const POST_BEFORE: &str = "15m";
/// The demo ends a minute after the notes are posted.
const END: (u32, u32) = (10, 16);
/// How long the demo waits for the bot to take a member's message or answer a command.
const ANSWER_WAIT: StdDuration = StdDuration::from_secs(10);
/// The longest a scheduler round may take (a fan-out to the team at Slack's pace).
const ROUND_WAIT: StdDuration = StdDuration::from_secs(60);
/// Real time between two moves of the clock when the demo is paced.
const TICK: StdDuration = StdDuration::from_millis(50);

/// How fast the demo's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// This many seconds of the bot's clock per real second.
    Times(u32),
    /// No waiting: from one moment something happens to the next.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Speed, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<u32>() {
            Ok(n) if (1..=100_000).contains(&n) => Ok(Speed::Times(n)),
            _ => Err(format!(
                "`{s}` is not a speed: give how many times faster than real time (1 to 100000, e.g. 90), or `max`"
            )),
        }
    }
}

/// What `standup-bot demo` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub speed: Speed,
    pub team_size: usize,
    pub format: Format,
    pub out: PathBuf,
}

/// The files a demo leaves, relative to its folder.
pub const CONFIG_FILE: &str = "standup.toml";
pub const DATABASE_FILE: &str = "standup.db";
pub const LOG_FILE: &str = "bot.log";

/// Runs the demo, printing the transcript to `out` (and a progress line to stderr when it is a
/// terminal).
pub fn demo(options: &Options, out: &mut dyn Write) -> Result<()> {
    if !(1..=PEOPLE.len()).contains(&options.team_size) {
        return Err(Error::Usage(format!(
            "--team-size {} is out of range: the demo team has 1 to {} members",
            options.team_size,
            PEOPLE.len()
        )));
    }
    std::fs::create_dir_all(&options.out).map_err(|source| Error::Io {
        path: options.out.clone(),
        source,
    })?;
    let runtime = super::runtime()?;
    runtime.block_on(run_demo(options, out))
}

/// The Monday after `now` (a week later on a Monday), at `hour:minute` UTC.
fn next_monday(now: DateTime<Utc>, (hour, minute): (u32, u32)) -> DateTime<Utc> {
    let days = 7 - now.weekday().num_days_from_monday() as i64;
    let day = now.date_naive() + Duration::days(days);
    debug_assert_eq!(day.weekday(), Weekday::Mon);
    let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
    Utc.from_utc_datetime(&day.and_time(time))
}

fn cron((hour, minute): (u32, u32)) -> String {
    format!("{minute} {hour} * * Mon-Fri")
}

fn write_config(options: &Options, api_url: &str) -> Result<PathBuf> {
    let format = options.format.name();
    let members: String = PEOPLE
        .iter()
        .take(options.team_size)
        .map(|p| format!("  {{ user = \"{}\", handle = \"{}\" }},\n", p.id, p.handle))
        .collect();
    let database = absolute(&options.out)?.join(DATABASE_FILE);
    let text = format!(
        "# Written by `standup-bot demo`: the config the demo ran, against the Slack emulator it\n\
         # started (the address below is gone once the demo ends). For a real workspace, start\n\
         # from config/standup.example.toml.\n\n\
         [database]\npath = {database:?}\n\n\
         [slack]\napi_url = \"{api_url}\"\n\n\
         [archive]\ndir = \"notes\"\n\n\
         [[team]]\nid = \"orbit\"\nname = \"Team Orbit\"\nchannel = \"{channel}\"\n\
         format = \"{format}\"\ntimezone = \"UTC\"\nprompt = \"{prompt}\"\nsync = \"{sync}\"\n\
         post_before = \"{POST_BEFORE}\"\nremind_after = \"{REMIND_AFTER}\"\n\
         admins = [\"{admin}\"]\nmembers = [\n{members}]\n",
        channel = CHANNEL.0,
        prompt = cron(PROMPT),
        sync = cron(SYNC),
        admin = PEOPLE[0].id,
    );
    let path = options.out.join(CONFIG_FILE);
    crate::files::write_atomically(&path, text.as_bytes()).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn workspace(team_size: usize) -> EmulatorConfig {
    let mut config = EmulatorConfig {
        team_name: "Orbit Demo".into(),
        ..Default::default()
    };
    let ids: Vec<&str> = PEOPLE.iter().take(team_size).map(|p| p.id).collect();
    for p in &PEOPLE {
        let mut user = User::new(p.id, p.handle);
        user.real_name = p.name.into();
        config = config.with_user(user);
    }
    config.with_channel(Channel::new(CHANNEL.0, CHANNEL.1).members(&ids))
}

async fn run_demo(options: &Options, out: &mut dyn Write) -> Result<()> {
    let emu = Emulator::start(workspace(options.team_size)).await;
    let config_path = write_config(options, &emu.api_url())?;
    let (config, renderer) = crate::app::setup::load(Some(&config_path))?;
    let prompt_at = next_monday(Utc::now(), PROMPT);
    let clock = TestClock::new(prompt_at - Duration::minutes(1));
    let secrets = Secrets {
        bot_token: Some(Secret::new(emu.config().bot_token.clone())),
        app_token: Some(Secret::new(emu.config().app_token.clone())),
        signing_secret: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(crate::bot::run::run(
        config,
        renderer,
        secrets,
        // The demo writes its config once and never edits it.
        Timings {
            config_poll: None,
            ..Timings::default()
        },
        Transport::Socket { health: None },
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        crate::bot::run::Signals::stop_on(async move {
            let _ = stopped.await;
        }),
    ));
    writeln!(
        out,
        "standup-bot demo: Team Orbit, {} member{}, {} notes, in #{} of an emulated Slack\n\
         {}: prompt at 09:00, reminder after {REMIND_AFTER}, meeting at 10:30 (notes {POST_BEFORE} before)\n",
        options.team_size,
        plural(options.team_size),
        options.format,
        CHANNEL.1,
        prompt_at.format("%A %-d %B %Y"),
    )
    .map_err(stdout_error)?;

    let started = wait_started(&emu, &clock, &bot).await;
    if let Err(e) = started {
        let _ = stop.send(());
        return Err(match bot.await {
            Ok(Err(run_error)) => run_error,
            _ => e,
        });
    }
    let names = Names {
        users: PEOPLE
            .iter()
            .map(|p| (p.id.to_string(), p.handle.to_string()))
            .collect(),
        channel: (CHANNEL.0.to_string(), CHANNEL.1.to_string()),
    };
    let mut transcript = Transcript::new(names);
    let steps = script::script(options.team_size, options.format);
    let driven = drive(options, &emu, &clock, &steps, &mut transcript, out).await;
    progress_done();

    let _ = stop.send(());
    let stopped = bot
        .await
        .map_err(|e| Error::Usage(format!("the bot stopped unexpectedly: {e}")))?;
    driven?;
    stopped?;
    // The database file alone holds the run, without its write-ahead log.
    crate::store::Store::open(&absolute(&options.out)?.join(DATABASE_FILE))?.checkpoint()?;

    let date = prompt_at.date_naive();
    let notes = options
        .out
        .join("notes")
        .join("orbit")
        .join(format!("{date}.md"));
    let c = transcript.counts;
    writeln!(
        out,
        "\nDone: {} prompt{}, {} reminder{}, {} blocker flag{}, notes posted {} time{}.\n\n\
         Written to {}:\n  \
         {:<28} the notes the bot posted, as the team's Markdown\n  \
         {:<28} the database (try: standup-bot --config {} compile --team orbit --list)\n  \
         {:<28} the config the demo ran\n  \
         {:<28} the bot's log\n\n\
         Next: set the bot up in your Slack workspace (README, \"Set up in Slack\").",
        c.prompts,
        plural(c.prompts),
        c.reminders,
        plural(c.reminders),
        c.flags,
        plural(c.flags),
        c.notes_posted,
        plural(c.notes_posted),
        options.out.display(),
        format!("notes/orbit/{date}.md"),
        DATABASE_FILE,
        options.out.join(CONFIG_FILE).display(),
        CONFIG_FILE,
        LOG_FILE,
    )
    .map_err(stdout_error)?;
    if !notes.exists() {
        return Err(Error::Usage(format!(
            "the demo ended without the notes file {}: see {} for why",
            notes.display(),
            options.out.join(LOG_FILE).display()
        )));
    }
    Ok(())
}

/// Waits until the bot is connected and its scheduler sleeps (or it stopped with an error).
async fn wait_started(
    emu: &Emulator,
    clock: &TestClock,
    bot: &tokio::task::JoinHandle<Result<()>>,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        if bot.is_finished() {
            return Err(Error::Usage("the bot stopped while starting".into()));
        }
        if emu.live_connections() > 0 && clock.settled().is_some_and(|n| n > 0) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Usage(
                "the bot did not start within 10 s against the emulator".into(),
            ));
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

/// Waits until the bot has handled every event it stored.
async fn handled(db: &Path) -> Result<()> {
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        let db = db.to_path_buf();
        let pending = tokio::task::spawn_blocking(move || {
            crate::store::Store::open_reader(&db).and_then(|s| s.pending_events())
        })
        .await
        .map_err(|e| Error::Usage(format!("reading the demo's database failed: {e}")))??;
        if pending.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Usage(format!(
                "the bot left {} event(s) unhandled for 10 s: see the demo's {LOG_FILE}",
                pending.len()
            )));
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

/// Moves the clock from now to the end, playing the script at its times and printing what
/// happens.
async fn drive(
    options: &Options,
    emu: &Emulator,
    clock: &TestClock,
    steps: &[script::Step],
    transcript: &mut Transcript,
    out: &mut dyn Write,
) -> Result<()> {
    let start = clock.now();
    let prompt_at = start + Duration::minutes(1);
    let end = Utc.from_utc_datetime(
        &start
            .date_naive()
            .and_time(NaiveTime::from_hms_opt(END.0, END.1, 0).unwrap_or_default()),
    );
    let db = absolute(&options.out)?.join(DATABASE_FILE);
    let mut pending = steps.iter().peekable();
    // Each member's last DM, for their edit.
    let mut last_dm: std::collections::HashMap<usize, serde_json::Value> = Default::default();
    while clock.now() < end {
        let now = clock.now();
        let mut target = match options.speed {
            Speed::Times(n) => now + Duration::from_std(TICK * n).unwrap_or(Duration::seconds(1)),
            Speed::Max => end,
        };
        if let Some(step) = pending.peek() {
            target = target.min(prompt_at + step.after);
        }
        if let Some(wake) = clock.next_wake() {
            target = target.min(wake.max(now));
        }
        target = target.min(end);
        if target > now {
            clock.set(target);
        }
        clock.until_settled(ROUND_WAIT).await;
        transcript
            .catch_up(out, emu, clock.now())
            .map_err(stdout_error)?;
        while let Some(step) = pending.next_if(|s| prompt_at + s.after <= clock.now()) {
            play(emu, &db, clock, step, &mut last_dm, transcript, out).await?;
            clock.until_settled(ROUND_WAIT).await;
            transcript
                .catch_up(out, emu, clock.now())
                .map_err(stdout_error)?;
        }
        progress(now, start, end);
        if let Speed::Times(_) = options.speed {
            tokio::time::sleep(TICK).await;
        }
    }
    // The notes reach the archive after they are posted, on a task of their own.
    let notes = options
        .out
        .join("notes")
        .join("orbit")
        .join(format!("{}.md", prompt_at.date_naive()));
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    while !notes.exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    transcript
        .catch_up(out, emu, clock.now())
        .map_err(stdout_error)?;
    Ok(())
}

/// One member's act: sent to the bot as Slack sends it, then waited for until the bot took it.
async fn play(
    emu: &Emulator,
    db: &Path,
    clock: &TestClock,
    step: &script::Step,
    last_dm: &mut std::collections::HashMap<usize, serde_json::Value>,
    transcript: &Transcript,
    out: &mut dyn Write,
) -> Result<()> {
    let person = &PEOPLE[step.who];
    let refused = |what: &str| {
        Error::Usage(format!(
            "the bot did not take {}'s {what} within 10 s against the emulator",
            person.handle
        ))
    };
    match &step.act {
        Act::Reply(text) | Act::Edit(text) => {
            let event = match (&step.act, last_dm.get(&step.who)) {
                (Act::Edit(_), Some(original)) => events::edit_of(original, text, None),
                _ => events::dm_message(person.id, text),
            };
            let what = if matches!(step.act, Act::Edit(_)) {
                "standup (edits their answer)"
            } else {
                "standup (DM)"
            };
            transcript
                .member(out, clock.now(), person.id, what, text)
                .map_err(stdout_error)?;
            if matches!(step.act, Act::Reply(_)) {
                last_dm.insert(step.who, event.clone());
            }
            emu.send_event(event)
                .ack(ANSWER_WAIT)
                .await
                .ok_or_else(|| refused("message"))?;
            // Handled (confirmed, flagged, stored) before the clock moves on, so the transcript
            // keeps Slack's order.
            handled(db).await?;
        }
        Act::Command(text) => {
            transcript
                .member(
                    out,
                    clock.now(),
                    person.id,
                    &format!("#{}", CHANNEL.1),
                    &format!("/standup {text}"),
                )
                .map_err(stdout_error)?;
            let answer = emu
                .send_slash_command("/standup", text, person.id, CHANNEL.0)
                .ack(ANSWER_WAIT)
                .await
                .ok_or_else(|| refused("/standup command"))?;
            let shown = answer["text"].as_str().unwrap_or_default();
            transcript
                .answer(out, clock.now(), person.id, shown)
                .map_err(stdout_error)?;
        }
    }
    Ok(())
}

/// A progress line on stderr, when it is a terminal (the transcript goes to stdout).
fn progress(now: DateTime<Utc>, start: DateTime<Utc>, end: DateTime<Utc>) {
    let stderr = std::io::stderr();
    if !stderr.is_terminal() {
        return;
    }
    let total = (end - start).num_seconds().max(1) as f64;
    let done = ((now - start).num_seconds() as f64 / total).clamp(0.0, 1.0);
    let width = 30;
    let filled = (done * width as f64).round() as usize;
    let _ = write!(
        stderr.lock(),
        "\r  [{}{}] {} of the bot's clock, {:>3.0}% ",
        "#".repeat(filled),
        " ".repeat(width - filled),
        now.format("%H:%M"),
        done * 100.0
    );
}

fn progress_done() {
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr.lock(), "\r{}\r", " ".repeat(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_are_a_factor_or_max_and_anything_else_says_what_to_give() {
        assert_eq!("90".parse::<Speed>(), Ok(Speed::Times(90)));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        for bad in ["0", "fast", "-3", "1000001"] {
            let e = bad.parse::<Speed>().unwrap_err();
            assert!(e.contains("1 to 100000") && e.contains("max"), "{e}");
        }
    }

    #[test]
    fn the_demo_day_is_the_next_monday() {
        let sunday = Utc.with_ymd_and_hms(2026, 12, 6, 23, 0, 0).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        assert_eq!(
            next_monday(sunday, (9, 0)),
            Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
        );
        assert_eq!(
            next_monday(monday, (9, 0)),
            Utc.with_ymd_and_hms(2026, 12, 14, 9, 0, 0).unwrap()
        );
    }
}
