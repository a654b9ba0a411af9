//! The meeting a document is rendered from: the stored meeting plus what the bot knows beside
//! it (who is away, sections the bot writes). Both the running bot and `standup-bot compile`
//! render through here, so a posted document and a compiled one are the same.

use chrono::NaiveDate;

use crate::config::TeamConfig;
use crate::store::{Result, Store};
use standup_core::domain::{Item, Marker, Meeting, Section, SectionKind, Update};

/// The meeting of `team` on `date`, ready to render. It depends only on the config and the
/// store, so a document compiled later is the one that was posted.
pub fn meeting(store: &Store, team: &TeamConfig, date: NaiveDate) -> Result<Meeting> {
    let mut meeting = store.meeting(&team.id, team.format, date)?;
    if let Some(cycle) = store.cycle(&team.id, date)? {
        // Blockers open when the meeting happens: one resolved before it is in *Resolved
        // blockers* instead, so a document compiled later is the one posted then.
        let at = crate::app::resolved::meeting_at(team, date);
        let raised: Vec<(String, String)> = store
            .raised_blockers(cycle.id)?
            .into_iter()
            .filter(|(_, resolved)| resolved.is_none_or(|r| r > at))
            .map(|(b, _)| (b.handle, b.text))
            .collect();
        add_raised_blockers(&mut meeting, &raised);
    }
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
            .extend(standup_core::followthrough::planned_vs_done(
                &before, &meeting,
            ));
    }
    meeting
        .extras
        .extend(crate::app::resolved::section(store, team, previous, date)?);
    if team.stats_in_document {
        // Every cycle up to this one counts as closed: the document is its record.
        let facts = store.participation(&team.id, date, team.stats_cycles)?;
        let people = standup_core::stats::team(&facts, None);
        meeting
            .extras
            .push(standup_core::stats::section(&people, facts.len()));
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
        entry.note =
            standup_core::calendar::away_note(why, holiday, meeting.date).or(entry.note.take());
    }
    Ok(())
}

/// Puts blockers raised with `/standup blocked` (`(handle, text)`) into their members' updates,
/// under *Blocked*: they are part of the update, as if written there. A text the update
/// already lists is not added twice; a *Blocked* section is added where the format has it.
pub fn add_raised_blockers(meeting: &mut Meeting, raised: &[(String, String)]) {
    let order = meeting.format.section_order();
    let rank = |kind: Option<SectionKind>| kind.and_then(|k| order.iter().position(|o| *o == k));
    let blocked_rank = rank(Some(SectionKind::Blocked));
    for (handle, text) in raised {
        let Some(entry) = meeting.entries.iter_mut().find(|e| &e.handle == handle) else {
            continue;
        };
        let update = entry.update.get_or_insert_with(Update::default);
        if update.blockers().iter().any(|b| b == text.trim()) {
            continue;
        }
        let at = match update
            .sections
            .iter()
            .position(|s| s.kind == Some(SectionKind::Blocked))
        {
            Some(at) => at,
            None => {
                let at = update
                    .sections
                    .iter()
                    .position(|s| rank(s.kind) > blocked_rank)
                    .unwrap_or(update.sections.len());
                update
                    .sections
                    .insert(at, Section::new(SectionKind::Blocked));
                at
            }
        };
        let section = &mut update.sections[at];
        // A "nothing" line (`N/A`) no longer stands for the section once it has a blocker.
        section
            .items
            .retain(|i| !standup_core::domain::is_nothing(&i.text));
        if section
            .text
            .as_deref()
            .is_some_and(standup_core::domain::is_nothing)
        {
            section.text = None;
        }
        section.items.push(Item::new(Marker::Auto, text.trim()));
    }
}

/// Renders the stored meeting of `team` on `date`.
pub fn compile(
    store: &Store,
    renderer: &standup_core::render::Renderer,
    team: &TeamConfig,
    date: NaiveDate,
) -> crate::error::Result<String> {
    let meeting = meeting(store, team, date)?;
    Ok(renderer.render(&super::setup::template_of(team), &meeting)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::domain::{Entry, Format};

    fn meeting(format: Format, update: Option<Update>) -> Meeting {
        Meeting {
            format,
            date: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            title: "t".into(),
            blocks: Vec::new(),
            entries: vec![Entry {
                handle: "kenji".into(),
                update,
                note: None,
            }],
            questions: Vec::new(),
            extras: Vec::new(),
        }
    }

    fn section(kind: SectionKind, items: &[&str]) -> Section {
        let mut s = Section::new(kind);
        s.items = items.iter().map(|t| Item::new(Marker::Auto, *t)).collect();
        s
    }

    fn kinds(m: &Meeting) -> Vec<Option<SectionKind>> {
        let update = m.entries[0].update.as_ref().unwrap();
        update.sections.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn a_raised_blocker_goes_under_blocked_in_the_formats_place() {
        let update = Update {
            sections: vec![
                section(SectionKind::Shipped, &["exporter"]),
                section(SectionKind::Next, &["importer"]),
            ],
        };
        let mut m = meeting(Format::Planning, Some(update));
        add_raised_blockers(&mut m, &[("kenji".into(), "review access".into())]);
        assert_eq!(
            kinds(&m),
            [
                Some(SectionKind::Shipped),
                Some(SectionKind::Blocked),
                Some(SectionKind::Next)
            ]
        );
        let update = m.entries[0].update.as_ref().unwrap();
        assert_eq!(update.blockers(), ["review access"]);
    }

    #[test]
    fn a_member_with_no_update_gets_one_with_the_blocker() {
        let mut m = meeting(Format::Standup, None);
        add_raised_blockers(&mut m, &[("kenji".into(), "VPN down".into())]);
        let update = m.entries[0].update.as_ref().unwrap();
        assert_eq!(update.blockers(), ["VPN down"]);
    }

    #[test]
    fn a_blocker_already_written_or_a_nothing_line_is_not_doubled() {
        let update = Update {
            sections: vec![section(SectionKind::Blocked, &["VPN down", "N/A"])],
        };
        let mut m = meeting(Format::Standup, Some(update));
        add_raised_blockers(
            &mut m,
            &[
                ("kenji".into(), "VPN down".into()),
                ("kenji".into(), "review access".into()),
                ("someone else".into(), "not here".into()),
            ],
        );
        let update = m.entries[0].update.as_ref().unwrap();
        assert_eq!(update.blockers(), ["VPN down", "review access"]);
        assert_eq!(update.sections[0].items.len(), 2, "the N/A line is gone");
    }
}
