//! The meeting a document is rendered from: the stored meeting plus what the bot knows beside
//! it (who is away, sections the bot writes). Both the running bot and `standup-bot compile`
//! render through here, so a posted document and a compiled one are the same.

use chrono::NaiveDate;

use crate::config::TeamConfig;
use crate::domain::Meeting;
use crate::store::{Result, Store};

/// The meeting of `team` on `date`, ready to render. It depends only on the config and the
/// store, so a document compiled later is the one that was posted.
pub fn meeting(store: &Store, team: &TeamConfig, date: NaiveDate) -> Result<Meeting> {
    let mut meeting = store.meeting(&team.id, team.format, date)?;
    // The team's meeting before this one: what was planned, and since when blockers count.
    let previous = store
        .cycles(&team.id)?
        .into_iter()
        .map(|c| c.date)
        .find(|d| *d < date);
    if team.planned_vs_done
        && let Some(previous) = previous
    {
        let before = store.meeting(&team.id, team.format, previous)?;
        meeting
            .extras
            .extend(crate::followthrough::planned_vs_done(&before, &meeting));
    }
    meeting
        .extras
        .extend(crate::resolved::section(store, team, previous, date)?);
    if team.stats_in_document {
        // Every cycle up to this one counts as closed: the document is its record.
        let facts = store.participation(&team.id, date, team.stats_cycles)?;
        let people = crate::stats::team(&facts, None);
        meeting
            .extras
            .push(crate::stats::section(&people, facts.len()));
    }
    note_time_off(store, team, &mut meeting)?;
    Ok(meeting)
}

/// Members with no update who are out of office (or the meeting falls on a holiday) say so
/// instead of showing empty sections; an update, when there is one, always wins.
fn note_time_off(store: &Store, team: &TeamConfig, meeting: &mut Meeting) -> Result<()> {
    let away = store.away_on(&team.id, meeting.date)?;
    let holiday = team.timeoff.is_holiday(meeting.date);
    for entry in meeting.entries.iter_mut().filter(|e| e.update.is_none()) {
        let why = away
            .iter()
            .find(|(h, _)| *h == entry.handle)
            .map(|(_, n)| n);
        entry.note = crate::calendar::away_note(why, holiday, meeting.date).or(entry.note.take());
    }
    Ok(())
}
