//! The `Resolved blockers` section of a meeting's document: blockers resolved since the
//! previous meeting, up to this one. Pure apart from the store read, so `compile` and the bot
//! write the same section.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::config::TeamConfig;
use crate::store::{OpenBlocker, Result, Store};
use standup_core::domain::Extra;

pub const HEADING: &str = "Resolved blockers";

/// The section for the meeting on `date` (the team's meeting before it on `previous`), or
/// `None` when no blocker was resolved in between (so imported notes still render byte for
/// byte) or the team turned it off.
pub fn section(
    store: &Store,
    team: &TeamConfig,
    previous: Option<NaiveDate>,
    date: NaiveDate,
) -> Result<Option<Extra>> {
    if !team.threads.resolved_blockers {
        return Ok(None);
    }
    let after = previous.map(|d| meeting_at(team, d));
    let resolved = store.resolved_blockers(&team.id, after, meeting_at(team, date))?;
    if resolved.is_empty() {
        return Ok(None);
    }
    let body = resolved
        .iter()
        .map(|(b, at)| line(team, b, *at))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Some(Extra {
        heading: HEADING.to_string(),
        body,
    }))
}

/// `* @kenji: waiting on review access (open 3 days, resolved 2026-11-20)`.
fn line(team: &TeamConfig, blocker: &OpenBlocker, resolved_at: DateTime<Utc>) -> String {
    let day = resolved_at.with_timezone(&team.timezone).date_naive();
    format!(
        "* @{}: {} ({}, resolved {day})",
        blocker.handle,
        blocker.text,
        crate::app::messages::age(blocker.opened_at, resolved_at)
    )
}

/// When the meeting on `date` happens: the team's `sync` time that day, or the end of the day
/// when the schedule has none that day (an imported meeting on another weekday).
pub fn meeting_at(team: &TeamConfig, date: NaiveDate) -> DateTime<Utc> {
    let midnight = |d: NaiveDate| {
        team.timezone
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || d.and_time(chrono::NaiveTime::MIN).and_utc(),
                |t| t.with_timezone(&Utc),
            )
    };
    let start = midnight(date);
    team.sync
        .next_after(start - Duration::seconds(1), team.timezone)
        .filter(|t| t.with_timezone(&team.timezone).date_naive() == date)
        .unwrap_or_else(|| midnight(date + Duration::days(1)))
}
