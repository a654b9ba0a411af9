//! Time off as the team configures it: working days, holidays (dates, ranges, an iCalendar
//! file), and quiet hours. Pure date and time maths; the only I/O is the config loader handing
//! in the text of a holidays file.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// A team's days off: the weekdays it works (all of them when not configured) and its holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeOff {
    /// Weekdays the team works; `None` means every day (the prompt crontab alone decides).
    pub working_days: Option<Vec<Weekday>>,
    /// Holidays as inclusive date ranges, from `holidays` and `holidays_file`.
    pub holidays: Vec<(NaiveDate, NaiveDate)>,
    /// Slack status emoji that mean "out of office" (`:palm_tree:`), compared without colons.
    pub ooo_emoji: Vec<String>,
    /// The team's default quiet hours, in each member's own zone.
    pub quiet_hours: Option<QuietHours>,
}

/// Why a day is not worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOff {
    /// Not one of the team's `working_days`.
    NotWorking(Weekday),
    Holiday,
}

impl TimeOff {
    /// Why nobody works on `date`, if nobody does.
    pub fn day_off(&self, date: NaiveDate) -> Option<DayOff> {
        if self.is_holiday(date) {
            return Some(DayOff::Holiday);
        }
        match &self.working_days {
            Some(days) if !days.contains(&date.weekday()) => {
                Some(DayOff::NotWorking(date.weekday()))
            }
            _ => None,
        }
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays
            .iter()
            .any(|(from, to)| *from <= date && date <= *to)
    }

    /// Whether a Slack status emoji (`:palm_tree:` or `palm_tree`) means out of office.
    pub fn is_ooo_emoji(&self, emoji: &str) -> bool {
        let bare = emoji.trim().trim_matches(':');
        !bare.is_empty() && self.ooo_emoji.iter().any(|e| e.eq_ignore_ascii_case(bare))
    }
}

/// `Mon`, `monday`, `Tue`, ... (case-insensitive).
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    text.trim().parse().ok()
}

/// A holiday: `2026-12-25`, or an inclusive range `2026-12-24..2026-12-31`.
pub fn parse_holiday(text: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let date = |d: &str| {
        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| format!("`{}` is not a date", d.trim()))
    };
    match text.split_once("..") {
        None => date(text).map(|d| (d, d)),
        Some((from, to)) => {
            let (from, to) = (date(from)?, date(to)?);
            if to < from {
                return Err(format!("the range ends ({to}) before it starts ({from})"));
            }
            Ok((from, to))
        }
    }
}

/// The days off an iCalendar file lists: each `VEVENT` from `DTSTART` to `DTEND` (exclusive, as
/// RFC 5545 has it; one day when `DTEND` is missing). Timed events count by their local date in
/// `tz` (UTC times are converted, zoned and floating times are taken as written).
pub fn read_ics(text: &str, tz: Tz) -> Result<Vec<(NaiveDate, NaiveDate)>, String> {
    use icalendar::{Calendar, Component, DatePerhapsTime};
    if !text.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err("line 1: not an iCalendar file (it must start with BEGIN:VCALENDAR)".into());
    }
    let calendar: Calendar = text.parse().map_err(|e: String| e.trim().to_string())?;
    let local = |d: &DatePerhapsTime| -> (NaiveDate, bool) {
        match d {
            DatePerhapsTime::Date(date) => (*date, false),
            DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(t)) => {
                let t = t.with_timezone(&tz);
                (t.date_naive(), t.time() != NaiveTime::MIN)
            }
            DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Floating(t))
            | DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
                date_time: t,
                ..
            }) => (t.date(), t.time() != NaiveTime::MIN),
        }
    };
    let mut days = Vec::new();
    for (i, event) in calendar.events().enumerate() {
        let name = event
            .get_summary()
            .map_or_else(|| format!("event {}", i + 1), |s| format!("event {s:?}"));
        let Some(start) = event.get_start() else {
            return Err(format!(
                "{name} has no valid DTSTART (write DTSTART;VALUE=DATE:20261225)"
            ));
        };
        let (from, _) = local(&start);
        let to = match event.get_end() {
            None => from,
            Some(end) => {
                let (end, has_time) = local(&end);
                // DTEND is exclusive; a timed end later in the day still covers that day.
                let last = if has_time {
                    end
                } else {
                    end - Duration::days(1)
                };
                last.max(from)
            }
        };
        days.push((from, to));
    }
    Ok(days)
}

/// A daily window in which a member is not to be disturbed, e.g. `18:00-09:00` (over midnight)
/// or `12:00-13:00`. The start is inside the window, the end is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl FromStr for QuietHours {
    type Err = String;

    fn from_str(text: &str) -> Result<QuietHours, String> {
        // Seconds are allowed (HH:MM:SS) for windows that end precisely.
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(t.trim(), "%H:%M:%S"))
                .map_err(|_| format!("`{}` is not a time of day (HH:MM)", t.trim()))
        };
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("`{}` is not a window like 18:00-09:00", text.trim()))?;
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err("the window starts and ends at the same time".into());
        }
        Ok(QuietHours { start, end })
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |t: NaiveTime| {
            if t.second() == 0 {
                t.format("%H:%M").to_string()
            } else {
                t.format("%H:%M:%S").to_string()
            }
        };
        write!(f, "{}-{}", show(self.start), show(self.end))
    }
}

impl QuietHours {
    /// Whether the wall-clock time `t` is inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When something due at `at` may be sent to a member in `tz`: `at` itself outside the
    /// window, else the moment the window ends.
    pub fn release(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        if !self.contains(local.time()) {
            return at;
        }
        let mut day = local.date_naive();
        // In an overnight window before midnight, the window ends tomorrow.
        if self.start > self.end && local.time() >= self.start {
            day = day.succ_opt().unwrap_or(day);
        }
        let end = day.and_time(self.end);
        // A window ending in a DST gap ends at the first valid time after it.
        let resolved = tz.from_local_datetime(&end).earliest().or_else(|| {
            tz.from_local_datetime(&(end + Duration::hours(1)))
                .earliest()
        });
        resolved.map_or(at, |t| t.with_timezone(&Utc).max(at))
    }
}

/// Why a member with no update is away on a meeting date, for the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwayNote {
    /// Out of office through this date (inclusive).
    Until(NaiveDate),
    /// Their Slack status said so when the bot came to prompt them.
    Status,
}

/// What the document says for a member with no update on the meeting of `date`: out of office
/// (until when, if it lasts longer), or the team's holiday; `None` when neither.
pub fn away_note(why: Option<&AwayNote>, holiday: bool, date: NaiveDate) -> Option<String> {
    match why {
        Some(AwayNote::Until(to)) if *to > date => Some(format!("🌴 Out of office until {to}")),
        Some(_) => Some("🌴 Out of office".to_string()),
        None if holiday => Some("🌴 Holiday".to_string()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekdays_and_holidays_make_days_off() {
        let off = TimeOff {
            working_days: Some(vec![Weekday::Mon, Weekday::Tue, Weekday::Wed]),
            holidays: vec![parse_holiday("2026-12-24..2026-12-26").unwrap()],
            ..TimeOff::default()
        };
        // 2026-11-23 is a Monday.
        assert_eq!(off.day_off(d("2026-11-23")), None);
        assert_eq!(
            off.day_off(d("2026-11-26")),
            Some(DayOff::NotWorking(Weekday::Thu))
        );
        assert_eq!(off.day_off(d("2026-12-24")), Some(DayOff::Holiday));
        assert_eq!(off.day_off(d("2026-12-26")), Some(DayOff::Holiday));
        assert_eq!(TimeOff::default().day_off(d("2026-11-21")), None);
    }

    #[test]
    fn notes_for_the_document() {
        let day = d("2026-11-23");
        let long = AwayNote::Until(d("2026-11-27"));
        assert_eq!(
            away_note(Some(&long), false, day).as_deref(),
            Some("🌴 Out of office until 2026-11-27")
        );
        let one = AwayNote::Until(day);
        assert_eq!(
            away_note(Some(&one), true, day).as_deref(),
            Some("🌴 Out of office")
        );
        assert_eq!(
            away_note(Some(&AwayNote::Status), false, day).as_deref(),
            Some("🌴 Out of office")
        );
        assert_eq!(away_note(None, true, day).as_deref(), Some("🌴 Holiday"));
        assert_eq!(away_note(None, false, day), None);
    }

    #[test]
    fn holiday_syntax() {
        assert_eq!(
            parse_holiday("2026-12-25"),
            Ok((d("2026-12-25"), d("2026-12-25")))
        );
        assert_eq!(
            parse_holiday("2026-12-31..2026-12-24"),
            Err("the range ends (2026-12-24) before it starts (2026-12-31)".into())
        );
        assert_eq!(
            parse_holiday("Dec 25"),
            Err("`Dec 25` is not a date".into())
        );
        assert_eq!(parse_weekday("monday"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("Fri"), Some(Weekday::Fri));
        assert_eq!(parse_weekday("Fryday"), None);
    }

    #[test]
    fn ooo_emoji_match_with_or_without_colons() {
        let off = TimeOff {
            ooo_emoji: vec!["palm_tree".into()],
            ..TimeOff::default()
        };
        assert!(off.is_ooo_emoji(":palm_tree:"));
        assert!(off.is_ooo_emoji("palm_tree"));
        assert!(!off.is_ooo_emoji(":coffee:"));
        assert!(!off.is_ooo_emoji(""));
    }

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:New Year\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3\r\nSUMMARY:Offsite\r\nDTSTART:20261130T230000Z\r\nDTEND:20261201T020000Z\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn ics_all_day_events_end_exclusive_and_timed_ones_by_local_date() {
        let days = read_ics(ICS, chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(
            days,
            vec![
                (d("2026-12-24"), d("2026-12-26")),
                (d("2027-01-01"), d("2027-01-01")),
                // 23:00Z on the 30th is already the 1st in Berlin.
                (d("2026-12-01"), d("2026-12-01")),
            ]
        );
    }

    #[test]
    fn ics_errors_say_what_is_wrong() {
        assert!(read_ics("hello", Tz::UTC).unwrap_err().contains("line 1"));
        let broken = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n";
        assert!(read_ics(broken, Tz::UTC).is_err());
        let no_start = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Nope\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(
            read_ics(no_start, Tz::UTC).unwrap_err(),
            "event \"Nope\" has no valid DTSTART (write DTSTART;VALUE=DATE:20261225)"
        );
    }

    #[test]
    fn quiet_hours_windows() {
        let night: QuietHours = "18:00-09:00".parse().unwrap();
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(night.contains(t("18:00")));
        assert!(night.contains(t("03:00")));
        assert!(!night.contains(t("09:00")));
        assert!(!night.contains(t("12:00")));
        let lunch: QuietHours = "12:00-13:00".parse().unwrap();
        assert!(lunch.contains(t("12:30")));
        assert!(!lunch.contains(t("13:00")));
        assert_eq!(night.to_string(), "18:00-09:00");
        assert!("18:00".parse::<QuietHours>().is_err());
        assert!("25:00-09:00".parse::<QuietHours>().is_err());
        assert!("09:00-09:00".parse::<QuietHours>().is_err());
    }

    #[test]
    fn release_waits_for_the_window_to_end_in_the_members_zone() {
        let night: QuietHours = "18:00-09:00".parse().unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        // 20:00 Berlin (19:00Z) → 09:00 Berlin tomorrow (08:00Z).
        assert_eq!(
            night.release(utc("2026-11-23T19:00:00Z"), berlin),
            utc("2026-11-24T08:00:00Z")
        );
        // 06:00 Berlin → 09:00 the same day.
        assert_eq!(
            night.release(utc("2026-11-24T05:00:00Z"), berlin),
            utc("2026-11-24T08:00:00Z")
        );
        // Outside the window: unchanged.
        let noon = utc("2026-11-24T11:00:00Z");
        assert_eq!(night.release(noon, berlin), noon);
    }
}
