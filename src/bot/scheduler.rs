//! The one scheduler task: works out which prompts, reminders and posts are due, runs each as a
//! recorded job, and sleeps until the next one (or until shut down).
//!
//! Jobs are recorded before they run and marked after, keyed by team, kind, fire time and
//! member, so a restart neither repeats a finished job nor loses one: on start the latest prompt
//! of each team is still sent if its cycle is open, and a missed post is still made.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::app::{self, App};
use crate::config::TeamConfig;
use crate::store::{JobEnd, JobKey, JobStart, PostKind};
use standup_core::domain::UserId;

/// Attempts before a failing job is given up (and left recorded with its error).
const MAX_ATTEMPTS: u32 = 5;
/// The longest sleep. What the scheduler plans by changes through the use cases, which wake it
/// ([`App::wake_scheduler`]), and the wall clock is watched by [`crate::app::clock::SystemClock`];
/// this only bounds what a missed wake-up could cost.
const MAX_SLEEP: Duration = Duration::from_secs(10 * 60);
/// The shortest wait between two rounds.
const MIN_SLEEP: Duration = Duration::from_millis(20);
/// How soon a failed job is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Runs until `shutdown` says stop. Work in progress finishes first.
///
/// It waits on the app's clock, so a test that moves its clock moves the schedule.
pub async fn run(app: Arc<App>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = app.now();
        let next = tick(&app, now).await;
        let wake = wake_at(now, app.now(), next);
        tokio::select! {
            () = app.sleep_until(wake) => {}
            () = app.scheduler_woken() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    tracing::info!("scheduler stopped");
}

/// When to look again after a round that started at `started` and ended at `now`: at the next
/// due job, but not sooner than [`MIN_SLEEP`] after the round began (a job due again at once is
/// not run in a tight loop) and not later than [`MAX_SLEEP`] from now.
fn wake_at(
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let min = started + chrono::Duration::from_std(MIN_SLEEP).unwrap_or_default();
    let max = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
    next.unwrap_or(max).clamp(min, max.max(min))
}

/// When the round's first failed job is to be tried again.
#[derive(Default)]
struct Retry(std::sync::Mutex<Option<DateTime<Utc>>>);

/// Runs every job due at `now`; returns when the next one is due.
pub async fn tick(app: &App, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let retry = Retry::default();
    let mut next: Option<DateTime<Utc>> = None;
    let mut soonest = |t: Option<DateTime<Utc>>| {
        if let Some(t) = t {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    };
    for team in &app.config().teams {
        for member in &team.members {
            let tz = member_zone(app, team, &member.user).await;
            soonest(team.prompt.next_after(now, tz));
            if let Some(wake) = member_jobs(app, &retry, team, &member.user, tz, now).await {
                soonest(Some(wake));
            }
        }
        soonest(post_jobs(app, &retry, team, now).await);
        soonest(escalations(app, team, now).await);
    }
    soonest(retry.0.into_inner().unwrap_or_else(|p| p.into_inner()));
    next
}

/// The zone a member's prompts follow.
async fn member_zone(app: &App, team: &TeamConfig, user: &UserId) -> Tz {
    if !team.per_member_timezone {
        return team.timezone;
    }
    let (id, who) = (team.id.clone(), user.clone());
    app.read(move |s| s.member_tz(&id, &who))
        .await
        .ok()
        .flatten()
        .and_then(|tz| tz.parse().ok())
        .unwrap_or(team.timezone)
}

/// A member's own time zone, learnt from their Slack profile the first time it is needed and
/// kept; the team's while Slack cannot say.
async fn own_zone(app: &App, team: &TeamConfig, user: &UserId) -> Tz {
    let (id, who) = (team.id.clone(), user.clone());
    let known = app
        .read(move |s| s.member_tz(&id, &who))
        .await
        .ok()
        .flatten();
    if let Some(tz) = known.and_then(|tz| tz.parse().ok()) {
        return tz;
    }
    match app::people::profile(app, team, user).await {
        Ok(info) => {
            let (id, who, tz, name) = (
                team.id.clone(),
                user.clone(),
                info.tz.clone(),
                info.name.clone(),
            );
            if let Err(e) = app
                .write(move |s| s.set_profile(&id, &who, tz.as_deref(), name.as_deref()))
                .await
            {
                tracing::warn!(team = %team.id, error = %e, "cannot store a member's time zone");
            }
            info.tz
                .and_then(|tz| tz.parse().ok())
                .unwrap_or(team.timezone)
        }
        Err(e) => {
            tracing::warn!(team = %team.id, error = %e, "cannot read a member's time zone; quiet hours on the team's clock");
            team.timezone
        }
    }
}

/// The cycle of the member's latest prompt (fired at or before `now` on `tz`) while it is open,
/// its notes not yet posted: when the prompt fired, the meeting, and the cycle's date.
fn open_cycle(
    team: &TeamConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>, NaiveDate)> {
    let fired = team.prompt.prev_at_or_before(now, tz)?;
    let sync = team.sync.next_after(fired, team.timezone)?;
    (now < team.post_time(sync))
        .then(|| (fired, sync, sync.with_timezone(&team.timezone).date_naive()))
}

/// The key of a member's job of `kind` in the cycle of `date`.
fn member_job(
    team: &TeamConfig,
    user: &UserId,
    kind: &'static str,
    fire_at: DateTime<Utc>,
    date: NaiveDate,
) -> JobKey {
    JobKey {
        team: team.id.clone(),
        kind,
        fire_at,
        member: Some(user.clone()),
        cycle_date: date,
    }
}

/// The latest prompt and its reminder for one member, if their cycle is still open. Returns
/// when the reminder is due, if later.
async fn member_jobs(
    app: &App,
    retry: &Retry,
    team: &TeamConfig,
    user: &UserId,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let (fired, sync, date) = open_cycle(team, tz, now)?;
    let key = |kind, fire_at| member_job(team, user, kind, fire_at, date);
    // Quiet hours hold a job without changing its key (its fire time), so it is still recorded
    // once and a restart finds it where it was.
    let quiet = app::away::quiet_hours(app, team, user).await;
    // Quiet hours are the member's own, read on their own clock, whichever clock the team's
    // schedule follows.
    let own = match quiet {
        Some(_) => own_zone(app, team, user).await,
        None => tz,
    };
    let release = |at| quiet.map_or(at, |q| q.release(at, own));
    let prompt_at = release(fired);
    if prompt_at > now {
        if prompt_at < team.post_time(sync) {
            return Some(prompt_at);
        }
        skip_job(
            app,
            &key("prompt", fired),
            now,
            "quiet hours last past the post time",
        )
        .await;
        return None;
    }
    run_job(app, retry, &key("prompt", fired), prompt_at, now, false).await;
    let remind_at = team.remind_time(fired);
    let remind_due = release(prompt_at + (remind_at - fired));
    if remind_due > now {
        return Some(remind_due);
    }
    let prompted = key("prompt", fired);
    if app
        .read(move |s| s.job_finished(&prompted))
        .await
        .unwrap_or(false)
    {
        run_job(app, retry, &key("remind", remind_at), remind_due, now, true).await;
    }
    None
}

/// Says in the log, before the first round, what starting now is about to do: for each team
/// whose cycle is open (its prompt time passed, its notes not yet posted), how many members
/// will be prompted at once, so an operator starting the bot mid-cycle is not surprised.
pub async fn announce(app: &App) {
    let now = app.now();
    for team in &app.config().teams {
        let mut due = 0;
        let mut cycle = None;
        for member in &team.members {
            let tz = member_zone(app, team, &member.user).await;
            let Some((fired, _, date)) = open_cycle(team, tz, now) else {
                continue;
            };
            cycle = Some(date);
            let key = member_job(team, &member.user, "prompt", fired, date);
            let done = app
                .read(move |s| s.job_finished(&key))
                .await
                .unwrap_or(false);
            if !done {
                due += 1;
            }
        }
        if let Some(date) = cycle.filter(|_| due > 0) {
            tracing::info!(
                team = %team.id,
                cycle = %date,
                "the cycle is open: prompting {due} of {} members now",
                team.members.len()
            );
        }
    }
}

/// Records a job as skipped without running it (unless it already ended).
async fn skip_job(app: &App, key: &JobKey, now: DateTime<Utc>, why: &str) {
    let (job, reason) = (key.clone(), why.to_string());
    // Begun and ended in one request to the writer.
    let skipped = app
        .write(move |store| {
            let start = store.begin_job(&job, now)?;
            if matches!(start, JobStart::Fresh | JobStart::Again(_)) {
                store.end_job(&job, JobEnd::Skipped, Some(&reason), now)?;
                return Ok::<_, crate::store::Error>(true);
            }
            Ok(false)
        })
        .await;
    match skipped {
        Ok(true) => tracing::info!(team = %key.team, kind = key.kind, why, "job skipped"),
        Ok(false) => {}
        Err(e) => {
            tracing::error!(team = %key.team, kind = key.kind, error = %e, "cannot record a skipped job")
        }
    }
}

/// The post of the coming meeting once its time has come, and a post the bot missed while
/// it was down. Returns when the next post is due.
async fn post_jobs(
    app: &App,
    retry: &Retry,
    team: &TeamConfig,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz = team.timezone;
    if let Some(previous) = team.sync.prev_at_or_before(now, tz) {
        let date = previous.with_timezone(&tz).date_naive();
        let id = team.id.clone();
        let exists = app
            .read(move |s| s.cycle(&id, date))
            .await
            .ok()
            .flatten()
            .is_some();
        if exists {
            let key = JobKey {
                team: team.id.clone(),
                kind: "post",
                fire_at: team.post_time(previous),
                member: None,
                cycle_date: date,
            };
            run_job(app, retry, &key, key.fire_at, now, false).await;
        }
    }
    let coming = team.sync.next_after(now, tz)?;
    let at = team.post_time(coming);
    if at > now {
        return Some(at);
    }
    let date = coming.with_timezone(&tz).date_naive();
    let key = JobKey {
        team: team.id.clone(),
        kind: "post",
        fire_at: at,
        member: None,
        cycle_date: date,
    };
    run_job(app, retry, &key, at, now, false).await;
    team.sync.next_after(coming, tz).map(|s| team.post_time(s))
}

/// Escalates the team's blockers that are due (each once, see [`crate::app::escalate`]);
/// returns when the next one is. A failure is logged and tried again soon.
async fn escalations(app: &App, team: &TeamConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match app::escalate::escalate_due(app, team, now).await {
        Ok(next) => next,
        Err(e) => {
            tracing::error!(team = %team.id, error = %e, "escalating blockers failed; trying again soon");
            Some(app.now() + chrono::Duration::from_std(RETRY_AFTER).unwrap_or_default())
        }
    }
}

/// Records, runs and marks one job, due at `due` (its fire time, or later when quiet hours
/// held it). A failure asks the scheduler to come back soon.
async fn run_job(
    app: &App,
    retry: &Retry,
    key: &JobKey,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    reminder: bool,
) {
    if !run_recorded(app, key, due, now, reminder).await {
        let at = app.now() + chrono::Duration::from_std(RETRY_AFTER).unwrap_or_default();
        let mut soon = retry.0.lock().unwrap_or_else(|p| p.into_inner());
        *soon = Some(soon.map_or(at, |t: DateTime<Utc>| t.min(at)));
    }
}

/// Returns false when the job failed (and will be retried).
async fn run_recorded(
    app: &App,
    key: &JobKey,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    reminder: bool,
) -> bool {
    let job = key.clone();
    let start = match app.write(move |s| s.begin_job(&job, now)).await {
        Ok(s) => s,
        // The lease passed to another replica: that one runs the job.
        Err(e @ crate::store::Error::Fenced { .. }) => {
            tracing::warn!(team = %key.team, kind = key.kind, error = %e, "not running a job: no longer leading");
            return false;
        }
        Err(e) => {
            tracing::error!(team = %key.team, kind = key.kind, error = %e, "cannot record a job; not running it");
            return false;
        }
    };
    match start {
        JobStart::Finished => return true,
        JobStart::Again(n) if n > MAX_ATTEMPTS => {
            let (job, at) = (key.clone(), app.now());
            let _ = app
                .write(move |s| {
                    s.end_job(
                        &job,
                        JobEnd::Skipped,
                        Some("gave up after repeated failures"),
                        at,
                    )
                })
                .await;
            tracing::error!(team = %key.team, kind = key.kind, "job given up after {MAX_ATTEMPTS} attempts");
            return true;
        }
        JobStart::Again(n) => {
            tracing::warn!(team = %key.team, kind = key.kind, attempt = n, "running a job again")
        }
        // The lag of a job's first start: a retry's wait is the retry policy's, not lateness.
        JobStart::Fresh => {
            let lag = (app.now() - due).num_milliseconds() as f64 / 1000.0;
            app.metrics().job_lag(key.kind, lag);
        }
    }
    let Some(team) = app.team(&key.team) else {
        return true;
    };
    let outcome = async {
        let cycle = app::cycle::cycle_for(app, &team, key.cycle_date).await?;
        match (key.kind, &key.member, key.send_key()) {
            ("prompt" | "remind", Some(user), Some(send)) => {
                // A day off where the member is: nobody is prompted or reminded.
                let day = key
                    .fire_at
                    .with_timezone(&member_zone(app, &team, user).await);
                if let Some(off) = team.timeoff.day_off(day.date_naive()) {
                    tracing::info!(team = %key.team, kind = key.kind, ?off, "day off: not prompting");
                    return Ok(false);
                }
                app::prompt::prompt(app, &team, &cycle, user, reminder, &send)
                    .await
            }
            ("post", None, _) => {
                let id = cycle.id;
                if app
                    .read(move |s| s.last_post(id, &PostKind::Document.to_string()))
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                app::notes::post_notes(app, &team, &cycle).await.map(|()| true)
            }
            _ => Ok(false),
        }
    }
    .await;
    let (end, error) = match &outcome {
        Ok(true) => (JobEnd::Done, None),
        Ok(false) => (JobEnd::Skipped, None),
        Err(e) => (JobEnd::Failed, Some(e.to_string())),
    };
    if let Some(e) = &error {
        tracing::error!(team = %key.team, kind = key.kind, error = %e, "job failed; it will be retried");
    }
    let (job, why, at) = (key.clone(), error.clone(), app.now());
    if let Err(e) = app
        .write(move |s| s.end_job(&job, end, why.as_deref(), at))
        .await
    {
        tracing::error!(team = %key.team, kind = key.kind, error = %e, "cannot record a job's end");
    }
    error.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_scheduler_wakes_at_the_next_job_within_its_bounds() {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let secs = chrono::Duration::seconds;
        // A job in 10 s: then.
        assert_eq!(wake_at(t, t, Some(t + secs(10))), t + secs(10));
        // A job in an hour, or none: a look again within ten minutes.
        assert_eq!(wake_at(t, t, Some(t + secs(3600))), t + secs(600));
        assert_eq!(wake_at(t, t, None), t + secs(600));
        // A job due already (a retry): not before 20 ms after the round began.
        assert_eq!(
            wake_at(t, t, Some(t - secs(1))),
            t + chrono::Duration::milliseconds(20)
        );
        // A round that took long: the ten minutes count from its end.
        assert_eq!(wake_at(t, t + secs(30), None), t + secs(630));
    }
}
