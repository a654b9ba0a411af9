//! Cron schedules evaluated in a team's time zone, and the durations that go with them.
//!
//! Users write crontab: five fields (`minute hour day-of-month month day-of-week`) or six with
//! seconds first. Weekdays are numbered as in crontab (0 and 7 = Sunday, 1 = Monday) and may be
//! named (`Mon-Fri`). When both day-of-month and day-of-week are restricted a day matching either
//! fires, unless one of them starts with `*`, in which case both must match (Vixie cron).
//!
//! Fire times are computed on the zone's wall clock and returned in UTC. Daylight-saving changes
//! have one rule, the same forwards and backwards: every fire time happens exactly once.
//!
//! - A wall-clock time skipped by a spring-forward gap (02:30 in Berlin on the last Sunday of
//!   March) fires at the first instant after the gap (03:00 local).
//! - A wall-clock time that happens twice in a fall-back overlap fires at its first occurrence
//!   only.
//!
//! Nothing here does I/O or reads the clock: callers pass the instant to search from.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed cron expression, kept with the text it came from so messages can quote it.
#[derive(Clone)]
pub struct Schedule {
    source: String,
    cron: Cron,
}

impl Schedule {
    /// Parses a crontab expression of 5 fields, or 6 with seconds first.
    ///
    /// The error is croner's own explanation of what is wrong, for the config loader to quote.
    pub fn parse(source: &str) -> Result<Schedule, String> {
        let text = source.trim();
        let fields: Vec<&str> = text.split_whitespace().collect();
        // croner ORs day-of-month and day-of-week unless one is exactly `*`; Vixie cron ANDs them
        // whenever either *starts* with `*` (`*/2`), so the switch is made here per expression.
        let (dom, dow) = match fields.len() {
            5 => (fields[2], fields[4]),
            6 => (fields[3], fields[5]),
            _ => ("*", "*"),
        };
        let starred = |f: &str| f.starts_with('*') || f.starts_with('?');
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            // croner would take a 7th field as a year; crontab has no year, so a 7th field is a
            // mistake worth reporting rather than a feature.
            .year(Year::Disallowed)
            .dom_and_dow(starred(dom) || starred(dow))
            .build();
        if text.is_empty() {
            return Err("empty cron expression".to_string());
        }
        if !text.starts_with('@') && !(5..=6).contains(&fields.len()) {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with \
                 seconds first, found {}",
                fields.len()
            ));
        }
        let cron = parser.parse(text).map_err(|e| explain(&fields, e))?;
        Ok(Schedule {
            source: text.to_string(),
            cron,
        })
    }

    /// The expression as written (trimmed).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, with the expression read on `tz`'s wall clock.
    ///
    /// `None` when the expression never fires again (say, `0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Wall-clock matches are found by croner on a zone-less clock (UTC stands in for "naive")
        // and mapped to instants here, so the DST rule lives in one place: `instant_of`.
        // That mapping never goes backwards in time, so the first match at or after the wall
        // clock reading of `after` is a lower bound; matches inside a fall-back overlap may still
        // map to instants before `after` and are skipped.
        let mut cursor = wall_clock(after, tz);
        let mut inclusive = true;
        loop {
            let wall = self
                .cron
                .find_next_occurrence(&cursor.and_utc(), inclusive)
                .ok()?;
            let wall = wall.naive_utc();
            let fire = instant_of(wall, tz)?;
            if fire > after {
                return Some(fire);
            }
            cursor = wall;
            inclusive = false;
        }
    }

    /// The last fire time at or before `at` (to catch up on a job missed while the bot was down).
    ///
    /// Same DST rule as [`Schedule::next_after`]: a time skipped by a gap counts as having fired at
    /// the end of the gap, a repeated time as having fired at its first occurrence.
    pub fn prev_at_or_before(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let wall_at = wall_clock(at, tz);
        // In the second pass of a fall-back overlap the wall clock reads earlier than times that
        // already fired in the first pass; start the backward search past the whole overlap.
        let mut cursor = match tz.from_local_datetime(&wall_at) {
            LocalResult::Ambiguous(first, second) => wall_at + (second - first).abs(),
            _ => wall_at,
        };
        let mut inclusive = true;
        loop {
            let wall = self
                .cron
                .find_previous_occurrence(&cursor.and_utc(), inclusive)
                .ok()?;
            let wall = wall.naive_utc();
            let fire = instant_of(wall, tz)?;
            if fire <= at {
                return Some(fire);
            }
            cursor = wall;
            inclusive = false;
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.source)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two schedules are equal when they were written the same way.
impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Schedule {}

/// What is wrong, in our words: which field, and what it allows. croner's own message names
/// its internals ("CronPattern contains illegal character 'F' in part '1-FRY'") and not the
/// field, so each field is tried on its own to find the culprit; croner's text is kept only
/// when no single field is to blame.
fn explain(fields: &[&str], error: croner::errors::CronError) -> String {
    const NAMES: [(&str, &str); 6] = [
        ("second", "0-59"),
        ("minute", "0-59"),
        ("hour", "0-23"),
        ("day-of-month", "1-31"),
        ("month", "1-12 or Jan-Dec"),
        ("day-of-week", "0-7 or Sun-Sat, 0 and 7 both Sunday"),
    ];
    let names = &NAMES[6 - fields.len().min(6)..];
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        .build();
    let culprit = (0..fields.len()).find(|&i| {
        let mut alone = ["*"; 6];
        alone[6 - fields.len() + i] = fields[i];
        parser.parse(&alone.join(" ")).is_err()
    });
    match culprit {
        Some(i) => {
            let (name, range) = names[i];
            format!(
                "the {name} field `{}` is not valid (allowed: {range})",
                fields[i]
            )
        }
        None => format!("it cannot be read ({error})"),
    }
}

/// `instant` as read on `tz`'s wall clock, to the whole second (cron has no finer field).
fn wall_clock(instant: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let local = instant.with_timezone(&tz).naive_local();
    local.with_nanosecond(0).unwrap_or(local)
}

/// The instant at which wall-clock time `wall` fires in `tz`: itself when it exists once, its
/// first occurrence when it exists twice, the end of the gap when it does not exist.
fn instant_of(wall: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).to_utc()),
        LocalResult::None => gap_end(wall, tz),
    }
}

/// The first instant after the DST gap that swallowed the wall-clock time `wall`.
fn gap_end(wall: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let exists = |t: NaiveDateTime| tz.from_local_datetime(&t).earliest();
    // Gaps start and end on whole minutes in every zone in use today; walk minutes to leave the
    // gap, then seconds back in case an old zone's gap ended off the minute. The walk is bounded
    // by the longest gap on record (Samoa skipped a whole day in 2011).
    let start = wall.with_second(0)?;
    let mut minute = start;
    for _ in 0..=(2 * 24 * 60) {
        minute += TimeDelta::minutes(1);
        if exists(minute).is_some() {
            let from = (minute - TimeDelta::seconds(59)).max(wall + TimeDelta::seconds(1));
            let mut t = from;
            while t < minute {
                if let Some(found) = exists(t) {
                    return Some(found.to_utc());
                }
                t += TimeDelta::seconds(1);
            }
            return exists(minute).map(|t| t.to_utc());
        }
    }
    None
}

/// Parses a duration written with units, the way `humantime` reads them: `30s`, `30m`, `2h`,
/// `1h30m`, `1h 30m`, `2 hours`, `90min`, `1d`, `1.5h`.
///
/// A bare number is refused: `90` could be seconds or minutes, and a wrong guess is silent.
/// Mistakes are said in our words, with the fix, not in the crate's.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    use humantime::DurationError as E;
    let text = text.trim();
    let at = |pos: usize| {
        text.get(pos..)
            .and_then(|s| s.chars().next())
            .unwrap_or(' ')
    };
    humantime::parse_duration(text).map_err(|e| match e {
        E::Empty => "empty duration".to_string(),
        E::UnknownUnit { unit, value, .. } if unit.is_empty() => {
            format!("`{text}` has no unit: write it as e.g. {value}m or {value}s")
        }
        E::UnknownUnit { unit, .. } => {
            format!("unknown unit `{unit}` in `{text}` (units are d, h, m, s)")
        }
        E::NumberExpected(pos) => format!("expected a number at `{}` in `{text}`", at(pos)),
        E::InvalidCharacter(pos) => format!("unexpected `{}` in `{text}`", at(pos)),
        E::NumberOverflow => format!("`{text}` is too long a duration"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Weekday};
    use rstest::rstest;

    fn schedule(source: &str) -> Schedule {
        Schedule::parse(source).unwrap_or_else(|e| panic!("{source:?} should parse: {e}"))
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn zone(name: &str) -> Tz {
        name.parse().unwrap()
    }

    /// The next `n` fire times after `after`, as RFC 3339 in `tz` (offsets show which side of a
    /// DST change each one is on).
    fn check_next(source: &str, tz: &str, after: &str, expect: &[&str]) {
        let (cron, tz) = (schedule(source), zone(tz));
        let mut at = utc(after);
        let mut got = Vec::new();
        for _ in 0..expect.len() {
            at = cron.next_after(at, tz).expect("a next fire time");
            got.push(at.with_timezone(&tz).to_rfc3339());
        }
        assert_eq!(got, expect, "{source:?} after {after} in {tz}");
    }

    /// The previous `n` fire times at or before `at`, newest first.
    fn check_prev(source: &str, tz: &str, at: &str, expect: &[&str]) {
        let (cron, tz) = (schedule(source), zone(tz));
        let mut at = utc(at);
        let mut got = Vec::new();
        for _ in 0..expect.len() {
            let fire = cron
                .prev_at_or_before(at, tz)
                .expect("a previous fire time");
            got.push(fire.with_timezone(&tz).to_rfc3339());
            at = fire - TimeDelta::seconds(1);
        }
        assert_eq!(got, expect, "{source:?} at or before {at} in {tz}");
    }

    /// The weekdays on which `source` fires in the week starting Monday 2024-06-03 (UTC).
    fn weekdays(source: &str) -> Vec<Weekday> {
        let cron = schedule(source);
        let mut at = utc("2024-06-02T23:59:59Z");
        let end = utc("2024-06-09T23:59:59Z");
        let mut days = Vec::new();
        while let Some(next) = cron.next_after(at, Tz::UTC).filter(|t| *t <= end) {
            days.push(next.weekday());
            at = next;
        }
        days
    }

    #[rstest]
    #[case::numbers_1_to_5_are_monday_to_friday("0 9 * * 1-5", "Mon Tue Wed Thu Fri")]
    #[case::names("0 9 * * Mon-Fri", "Mon Tue Wed Thu Fri")]
    #[case::lower_case_names("0 9 * * mon,wed", "Mon Wed")]
    #[case::zero_is_sunday("0 9 * * 0", "Sun")]
    #[case::seven_is_sunday("0 9 * * 7", "Sun")]
    #[case::sun_by_name("0 9 * * Sun", "Sun")]
    #[case::one_is_monday("0 9 * * 1", "Mon")]
    #[case::six_is_saturday("0 9 * * 6", "Sat")]
    #[case::range_through_seven("0 9 * * 5-7", "Fri Sat Sun")]
    #[case::range_ending_in_sun("0 9 * * Fri-Sun", "Fri Sat Sun")]
    #[case::with_seconds_first("30 0 9 * * Mon", "Mon")]
    #[case::every_day("0 9 * * *", "Mon Tue Wed Thu Fri Sat Sun")]
    fn weekday_numbering_is_crontab(#[case] source: &str, #[case] expect: &str) {
        let got: Vec<String> = weekdays(source).iter().map(|d| d.to_string()).collect();
        assert_eq!(got.join(" "), expect);
    }

    #[rstest]
    // Both restricted, neither starred: either matches (the 1st of July 2024 is a Monday, so use
    // the 5th: a Friday). Fires on Mondays and on the 5th.
    #[case::both_restricted_is_or("0 9 5 * Mon", "2024-07-01 2024-07-05 2024-07-08 2024-07-15")]
    // A starred day-of-month (`*/2`: odd days) makes Vixie cron require both.
    #[case::starred_dom_is_and("0 9 */2 * Mon", "2024-07-01 2024-07-15 2024-07-29 2024-08-05")]
    #[case::plain_star_dom_means_dow_only(
        "0 9 * * Mon",
        "2024-07-01 2024-07-08 2024-07-15 2024-07-22"
    )]
    #[case::plain_star_dow_means_dom_only(
        "0 9 5 * *",
        "2024-07-05 2024-08-05 2024-09-05 2024-10-05"
    )]
    fn day_of_month_and_day_of_week_combine_like_vixie_cron(
        #[case] source: &str,
        #[case] expect: &str,
    ) {
        let cron = schedule(source);
        let mut at = utc("2024-06-30T12:00:00Z");
        let mut got = Vec::new();
        for _ in 0..4 {
            at = cron.next_after(at, Tz::UTC).unwrap();
            got.push(at.date_naive().to_string());
        }
        assert_eq!(got.join(" "), expect);
    }

    #[rstest]
    #[case::five_fields("0 9 * * Mon-Fri")]
    #[case::six_fields_seconds_first("0 0 9 * * Mon-Fri")]
    #[case::surrounding_space("  0 14 * * Mon ")]
    #[case::lists_and_steps("*/15 9-17 * * 1,3,5")]
    #[case::month_names("0 9 1 Jan,Jul *")]
    fn accepted(#[case] source: &str) {
        let cron = schedule(source);
        assert_eq!(cron.source(), source.trim());
        assert_eq!(cron.to_string(), source.trim());
        assert_eq!(
            format!("{cron:?}"),
            format!("Schedule({:?})", source.trim())
        );
    }

    #[rstest]
    #[case::empty("", "empty")]
    #[case::too_few_fields(
        "0 9 * *",
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 4"
    )]
    #[case::year_field("0 0 9 * * Mon 2030", "found 7")]
    #[case::hour_out_of_range("0 25 * * *", "the hour field `25` is not valid (allowed: 0-23)")]
    #[case::second_out_of_range(
        "60 0 9 * * *",
        "the second field `60` is not valid (allowed: 0-59)"
    )]
    #[case::weekday_out_of_range("0 9 * * 8", "the day-of-week field `8` is not valid")]
    #[case::bad_weekday_name(
        "0 9 * * Mon-Fro",
        "the day-of-week field `Mon-Fro` is not valid (allowed: 0-7 or Sun-Sat"
    )]
    #[case::words("every day at nine", "found 4")]
    fn rejected(#[case] source: &str, #[case] needle: &str) {
        let err = Schedule::parse(source).expect_err(source);
        assert!(
            err.contains(needle),
            "{source:?}: {err:?} should mention {needle:?}"
        );
        // The cron library's own words (its types, its parts) stay out of what users read.
        assert!(
            !err.contains("CronPattern") && !err.contains("Component error"),
            "{err}"
        );
    }

    #[test]
    fn seconds_field_is_honoured() {
        check_next(
            "30 0 9 * * *",
            "UTC",
            "2024-06-03T09:00:00Z",
            &["2024-06-03T09:00:30+00:00", "2024-06-04T09:00:30+00:00"],
        );
    }

    #[test]
    fn strictly_after_and_at_or_before() {
        let cron = schedule("0 9 * * *");
        let nine = utc("2024-06-03T09:00:00Z");
        assert_eq!(
            cron.next_after(nine, Tz::UTC),
            Some(utc("2024-06-04T09:00:00Z"))
        );
        assert_eq!(cron.prev_at_or_before(nine, Tz::UTC), Some(nine));
        let just_before = nine - TimeDelta::nanoseconds(1);
        assert_eq!(cron.next_after(just_before, Tz::UTC), Some(nine));
        assert_eq!(
            cron.prev_at_or_before(just_before, Tz::UTC),
            Some(utc("2024-06-02T09:00:00Z"))
        );
        let just_after = nine + TimeDelta::milliseconds(500);
        assert_eq!(cron.prev_at_or_before(just_after, Tz::UTC), Some(nine));
    }

    #[test]
    fn wall_clock_follows_the_zone() {
        // 9:00 in Berlin is 07:00 UTC in summer and 08:00 UTC in winter.
        let cron = schedule("0 9 * * Mon-Fri");
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            cron.next_after(utc("2024-06-03T00:00:00Z"), berlin),
            Some(utc("2024-06-03T07:00:00Z"))
        );
        assert_eq!(
            cron.next_after(utc("2024-12-02T00:00:00Z"), berlin),
            Some(utc("2024-12-02T08:00:00Z"))
        );
    }

    #[rstest]
    // Spring forward: 02:00 → 03:00. 02:30 does not exist and fires once at 03:00.
    #[case::berlin_gap(
        "30 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z",
        &["2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"]
    )]
    #[case::new_york_gap(
        "30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z",
        &["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"]
    )]
    // Several times in the gap, and 03:00 itself, collapse into one fire at 03:00.
    #[case::berlin_gap_many_times_fire_once(
        "*/20 2-3 * * *", "Europe/Berlin", "2024-03-31T00:30:00Z",
        &["2024-03-31T03:00:00+02:00", "2024-03-31T03:20:00+02:00", "2024-03-31T03:40:00+02:00"]
    )]
    // Fall back: 03:00 → 02:00 in Berlin, 02:00 → 01:00 in New York. The repeated time fires
    // at its first occurrence only (the summer offset), then the next day as usual.
    #[case::berlin_overlap(
        "30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00Z",
        &["2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"]
    )]
    #[case::new_york_overlap(
        "30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z",
        &["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]
    )]
    // Searching from inside the second pass of the overlap does not fire the repeated time again.
    #[case::new_york_from_second_pass(
        "30 1 * * *", "America/New_York", "2024-11-03T06:10:00Z",
        &["2024-11-04T01:30:00-05:00"]
    )]
    // Searching from the first pass, before the time, finds its first occurrence.
    #[case::new_york_from_first_pass(
        "30 1 * * *", "America/New_York", "2024-11-03T05:10:00Z",
        &["2024-11-03T01:30:00-04:00"]
    )]
    // An hourly job in the overlap: 01:00 and 01:30 fire once each, then 02:00 standard time.
    #[case::new_york_overlap_interval(
        "0,30 * * * *", "America/New_York", "2024-11-03T04:50:00Z",
        &["2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-03T02:00:00-05:00"]
    )]
    fn dst_changes_fire_once(
        #[case] source: &str,
        #[case] tz: &str,
        #[case] after: &str,
        #[case] expect: &[&str],
    ) {
        check_next(source, tz, after, expect);
    }

    #[rstest]
    #[case::berlin_gap(
        "30 2 * * *", "Europe/Berlin", "2024-04-01T12:00:00Z",
        &["2024-04-01T02:30:00+02:00", "2024-03-31T03:00:00+02:00", "2024-03-30T02:30:00+01:00"]
    )]
    #[case::new_york_gap(
        "30 2 * * *", "America/New_York", "2024-03-10T12:00:00Z",
        &["2024-03-10T03:00:00-04:00", "2024-03-09T02:30:00-05:00"]
    )]
    #[case::berlin_overlap(
        "30 2 * * *", "Europe/Berlin", "2024-10-28T12:00:00Z",
        &["2024-10-28T02:30:00+01:00", "2024-10-27T02:30:00+02:00", "2024-10-26T02:30:00+02:00"]
    )]
    // At 01:10 standard time (second pass) the 01:30 of the first pass has already fired.
    #[case::new_york_from_second_pass(
        "30 1 * * *", "America/New_York", "2024-11-03T06:10:00Z",
        &["2024-11-03T01:30:00-04:00", "2024-11-02T01:30:00-04:00"]
    )]
    #[case::new_york_overlap_interval(
        "0,30 * * * *", "America/New_York", "2024-11-03T07:10:00Z",
        &["2024-11-03T02:00:00-05:00", "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-04:00"]
    )]
    fn catch_up_sees_the_same_fire_times(
        #[case] source: &str,
        #[case] tz: &str,
        #[case] at: &str,
        #[case] expect: &[&str],
    ) {
        check_prev(source, tz, at, expect);
    }

    #[test]
    fn next_and_prev_agree_through_a_dst_year() {
        // Every fire time found going forwards is found again going backwards.
        for (source, tz) in [
            ("*/30 0-4 * * *", "Europe/Berlin"),
            ("*/30 0-3 * * Sun", "America/New_York"),
            ("15 2 * * *", "Australia/Lord_Howe"),
        ] {
            let (cron, tz) = (schedule(source), zone(tz));
            let mut forward = Vec::new();
            let mut at = utc("2024-01-01T00:00:00Z");
            while at < utc("2025-01-01T00:00:00Z") {
                at = cron.next_after(at, tz).unwrap();
                forward.push(at);
            }
            let mut backward = Vec::new();
            let mut at = *forward.last().unwrap();
            while backward.len() < forward.len() {
                let fire = cron.prev_at_or_before(at, tz).unwrap();
                backward.push(fire);
                at = fire - TimeDelta::seconds(1);
            }
            backward.reverse();
            assert_eq!(forward, backward, "{source:?} in {tz}");
            assert!(
                forward.windows(2).all(|w| w[0] < w[1]),
                "{source:?} in {tz}"
            );
        }
    }

    #[test]
    fn a_day_skipped_entirely() {
        // Samoa moved across the date line: 2011-12-30 never happened in Pacific/Apia, so its
        // 09:00 fires at the first instant after the gap (midnight starting the 31st).
        let apia = zone("Pacific/Apia");
        let cron = schedule("0 9 * * *");
        let fire = cron.next_after(utc("2011-12-29T20:00:00Z"), apia).unwrap();
        let local = fire.with_timezone(&apia);
        assert_eq!(
            local.date_naive(),
            NaiveDate::from_ymd_opt(2011, 12, 31).unwrap()
        );
        assert_eq!((local.hour(), local.minute()), (0, 0));
        let after = cron.next_after(fire, apia).unwrap().with_timezone(&apia);
        assert_eq!(after.to_rfc3339(), "2011-12-31T09:00:00+14:00");
    }

    #[test]
    fn never_firing_expression_gives_none() {
        let cron = schedule("0 0 30 2 *");
        assert_eq!(cron.next_after(utc("2024-01-01T00:00:00Z"), Tz::UTC), None);
    }

    #[rstest]
    #[case("30s", 30)]
    #[case("30m", 30 * 60)]
    #[case("2h", 2 * 3600)]
    #[case("1h30m", 5400)]
    #[case("1h 30m", 5400)]
    #[case("2 h", 7200)]
    #[case("1d", 86_400)]
    #[case("1d2h3m4s", 86_400 + 2 * 3600 + 3 * 60 + 4)]
    #[case("0s", 0)]
    #[case(" 45m ", 45 * 60)]
    #[case("2 hours", 2 * 3600)]
    #[case("90min", 90 * 60)]
    #[case("1.5h", 5400)]
    fn durations(#[case] text: &str, #[case] seconds: u64) {
        assert_eq!(parse_duration(text), Ok(Duration::from_secs(seconds)));
    }

    #[rstest]
    #[case::bare_number("90", "has no unit: write it as e.g. 90m or 90s")]
    #[case::empty("", "empty duration")]
    #[case::unknown_unit("3x", "unknown unit `x`")]
    #[case::unit_word("30 minuets", "unknown unit `minuets`")]
    #[case::no_number("h", "expected a number")]
    #[case::negative("-5m", "expected a number")]
    #[case::trailing_number("1h30", "has no unit")]
    #[case::stray_character("1h, 30m", "unexpected `,`")]
    #[case::overflow("99999999999999999999s", "too long")]
    #[case::too_long("999999999999999999d", "too long")]
    fn bad_durations(#[case] text: &str, #[case] needle: &str) {
        let err = parse_duration(text).expect_err(text);
        assert!(
            err.contains(needle),
            "{text:?}: {err:?} should mention {needle:?}"
        );
    }
}
