//! A team's cycles: one per meeting, created when the first prompt or reply needs it.

use chrono::{DateTime, NaiveDate, Utc};

use super::{App, Result};
use crate::config::TeamConfig;
use crate::store::CycleInfo;
use standup_core::domain::TeamId;

/// The cycle a meeting on `date` belongs to, created if needed.
pub async fn cycle_for(app: &App, team: &TeamConfig, date: NaiveDate) -> Result<CycleInfo> {
    let title = team.title_for(date);
    let (id, format, now) = (team.id.clone(), team.format, app.now());
    Ok(app
        .write(move |s| s.ensure_cycle(&id, format, date, &title, now))
        .await?)
}

/// The cycle replies go to now: the latest one, or the one for the next meeting if the team
/// has none yet.
pub async fn current_cycle(app: &App, team: &TeamConfig) -> Result<CycleInfo> {
    if let Some(latest) = cycles(app, &team.id).await?.into_iter().next() {
        return Ok(latest);
    }
    let date = next_meeting_date(team, app.now());
    cycle_for(app, team, date).await
}

/// A team's cycles, newest first.
pub async fn cycles(app: &App, team: &TeamId) -> Result<Vec<CycleInfo>> {
    let id = team.clone();
    Ok(app.read(move |s| s.cycles(&id)).await?)
}

/// The local date of the team's next meeting after `at`.
pub fn next_meeting_date(team: &TeamConfig, at: DateTime<Utc>) -> NaiveDate {
    team.sync.next_after(at, team.timezone).map_or_else(
        || at.with_timezone(&team.timezone).date_naive(),
        |s| s.with_timezone(&team.timezone).date_naive(),
    )
}

/// What a team does next after `at`: its next prompt, that prompt's reminder and the next
/// notes post.
#[derive(Debug, Clone, Copy)]
pub struct NextTimes {
    pub prompt: Option<DateTime<Utc>>,
    pub remind: Option<DateTime<Utc>>,
    pub notes: Option<DateTime<Utc>>,
}

/// The team's [`NextTimes`] after `at`, its prompt read on `tz` (the team's zone, or a
/// member's own with `per_member_timezone`).
pub fn next_times(team: &TeamConfig, tz: chrono_tz::Tz, at: DateTime<Utc>) -> NextTimes {
    let prompt = team.prompt.next_after(at, tz);
    NextTimes {
        prompt,
        remind: prompt.map(|p| team.remind_time(p)),
        notes: team
            .sync
            .next_after(at, team.timezone)
            .map(|s| team.post_time(s)),
    }
}

/// A moment as a person reads it on `tz`'s clock: `Mon 14 Dec 09:00`.
pub fn on_clock(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}
