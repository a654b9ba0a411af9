//! Participation over a team's recent cycles: who answered how often, how soon after their
//! prompt, and in how long an unbroken run. Pure: the store gives the facts of each cycle
//! ([`CycleFacts`]), this module does the sums and writes the lines `/standup stats` and the
//! document's `Participation` section show.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::{CycleId, Extra};

/// What the store knows of one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleFacts {
    pub id: CycleId,
    pub date: NaiveDate,
    /// The roster, in document order.
    pub seats: Vec<Seat>,
}

/// One member in one cycle's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub handle: String,
    /// An update is stored for them (from Slack or imported notes).
    pub answered: bool,
    /// A skip or out-of-office covers the meeting's date.
    pub away: bool,
    /// When their first prompt of the cycle went out; `None` for imported cycles or members
    /// never prompted.
    pub prompted_at: Option<DateTime<Utc>>,
    /// When their first reply of the cycle arrived; `None` for imported updates.
    pub first_reply_at: Option<DateTime<Utc>>,
}

/// A member's part in one cycle, as the sums count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Answered, `after` this long from the prompt when known.
    Answered {
        after: Option<TimeDelta>,
    },
    Missed,
    /// Skipped or out of office: not counted, and does not break a streak.
    Away,
    /// The cycle is still open and they have not answered yet: not counted either.
    Pending,
}

/// One member's participation over the cycles looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    pub handle: String,
    pub answered: usize,
    /// Cycles that count: answered or missed (not away, not still open).
    pub counted: usize,
    pub away: usize,
    /// Median time from prompt to first reply, over the answers where both are known.
    pub median: Option<TimeDelta>,
    /// Answered cycles in a row up to the newest (away cycles skipped).
    pub streak: usize,
    pub best: usize,
}

impl Participation {
    /// The answer rate in whole percent, `None` when no cycle counts.
    pub fn percent(&self) -> Option<u32> {
        (self.counted > 0)
            .then(|| ((self.answered as f64 * 100.0 / self.counted as f64).round()) as u32)
    }
}

/// The turns of a seat in a cycle; `open` says the cycle still takes answers.
pub fn turn(seat: &Seat, open: bool) -> Turn {
    if seat.answered {
        let after = match (seat.prompted_at, seat.first_reply_at) {
            // A reply before the prompt (the member wrote first) says nothing about response
            // time.
            (Some(p), Some(r)) if r >= p => Some(r - p),
            _ => None,
        };
        Turn::Answered { after }
    } else if seat.away {
        Turn::Away
    } else if open {
        Turn::Pending
    } else {
        Turn::Missed
    }
}

/// Sums one member's turns, oldest first.
pub fn participation(handle: &str, turns: &[Turn]) -> Participation {
    let mut p = Participation {
        handle: handle.to_string(),
        answered: 0,
        counted: 0,
        away: 0,
        median: None,
        streak: 0,
        best: 0,
    };
    let mut times = Vec::new();
    let mut run = 0;
    for t in turns {
        match *t {
            Turn::Answered { after } => {
                p.answered += 1;
                p.counted += 1;
                times.extend(after);
                run += 1;
                p.best = p.best.max(run);
            }
            Turn::Missed => {
                p.counted += 1;
                run = 0;
            }
            Turn::Away => p.away += 1,
            Turn::Pending => {}
        }
    }
    p.streak = run;
    p.median = median(&mut times);
    p
}

/// The median; of an even count, the mean of the middle two.
pub fn median(values: &mut [TimeDelta]) -> Option<TimeDelta> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        values[mid - 1] + (values[mid] - values[mid - 1]) / 2
    })
}

/// Every member seen in `cycles` (newest first), in the order they first appear, with their
/// participation. `open` is the cycle that still takes answers, if any.
pub fn team(cycles: &[CycleFacts], open: Option<CycleId>) -> Vec<Participation> {
    let mut handles: Vec<&str> = Vec::new();
    for seat in cycles.iter().flat_map(|c| &c.seats) {
        if !handles.contains(&seat.handle.as_str()) {
            handles.push(&seat.handle);
        }
    }
    handles
        .into_iter()
        .map(|handle| {
            let turns: Vec<Turn> = cycles
                .iter()
                .rev()
                .filter_map(|c| {
                    let seat = c.seats.iter().find(|s| s.handle == handle)?;
                    Some(turn(seat, open == Some(c.id)))
                })
                .collect();
            participation(handle, &turns)
        })
        .collect()
}

/// A duration as people say it: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn short_duration(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match () {
        _ if days > 0 && hours > 0 => format!("{days}d {hours}h"),
        _ if days > 0 => format!("{days}d"),
        _ if hours > 0 && minutes > 0 => format!("{hours}h {minutes}m"),
        _ if hours > 0 => format!("{hours}h"),
        _ if minutes > 0 => format!("{minutes}m"),
        _ => format!("{s}s"),
    }
}

/// One member's line, without the handle: `3 of 4 answered (75%) · median time to answer 12m ·
/// streak 2, best 3 · away 1`.
pub fn summary(p: &Participation) -> String {
    let rate = p.percent().map_or("—".to_string(), |n| format!("{n}%"));
    let median = p.median.map_or("—".to_string(), short_duration);
    let mut line = format!(
        "{} of {} answered ({rate}) · median time to answer {median} · streak {}, best {}",
        p.answered, p.counted, p.streak, p.best
    );
    if p.away > 0 {
        line.push_str(&format!(" · away {}", p.away));
    }
    line
}

/// The document's `Participation` section over `cycles` cycles.
pub fn section(people: &[Participation], cycles: usize) -> Extra {
    let body = people
        .iter()
        .map(|p| format!("* @{}: {}", p.handle, summary(p)))
        .collect::<Vec<_>>()
        .join("\n");
    Extra {
        heading: format!(
            "Participation (last {cycles} cycle{})",
            if cycles == 1 { "" } else { "s" }
        ),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Turn::*;

    fn answered(minutes: i64) -> Turn {
        Answered {
            after: Some(TimeDelta::minutes(minutes)),
        }
    }

    const UNKNOWN: Turn = Answered { after: None };

    #[test]
    fn rate_counts_only_cycles_the_member_was_in_and_not_away() {
        let p = participation("maria", &[answered(5), Away, Missed, answered(10), Pending]);
        assert_eq!((p.answered, p.counted, p.away), (2, 3, 1));
        assert_eq!(p.percent(), Some(67));
        assert_eq!(participation("li", &[Away, Pending]).percent(), None);
    }

    #[test]
    fn median_of_odd_and_even_counts_and_unknown_times() {
        let p = participation("m", &[answered(30), answered(10), UNKNOWN, answered(20)]);
        assert_eq!(p.median, Some(TimeDelta::minutes(20)));
        let p = participation("m", &[answered(10), answered(40)]);
        assert_eq!(p.median, Some(TimeDelta::minutes(25)));
        assert_eq!(participation("m", &[UNKNOWN, UNKNOWN]).median, None);
        assert_eq!(participation("m", &[]).median, None);
    }

    #[test]
    fn streaks_skip_away_and_open_cycles_and_break_on_a_miss() {
        let p = participation(
            "m",
            &[
                answered(1),
                answered(1),
                Away,
                answered(1),
                Missed,
                answered(1),
                Away,
                UNKNOWN,
                Pending,
            ],
        );
        assert_eq!((p.streak, p.best), (2, 3));
        let p = participation("m", &[answered(1), Missed]);
        assert_eq!((p.streak, p.best), (0, 1));
    }

    fn seat(handle: &str, answered: bool, away: bool) -> Seat {
        Seat {
            handle: handle.into(),
            answered,
            away,
            prompted_at: None,
            first_reply_at: None,
        }
    }

    #[test]
    fn team_lists_everyone_seen_in_order_and_counts_open_cycles_as_pending() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
        let cycles = vec![
            CycleFacts {
                id: CycleId(3),
                date: day(18),
                seats: vec![seat("maria", true, false), seat("kenji", false, false)],
            },
            CycleFacts {
                id: CycleId(2),
                date: day(11),
                seats: vec![
                    seat("maria", false, false),
                    seat("kenji", false, true),
                    seat("li", true, false),
                ],
            },
        ];
        let people = team(&cycles, Some(CycleId(3)));
        let got: Vec<(&str, usize, usize, usize)> = people
            .iter()
            .map(|p| (p.handle.as_str(), p.answered, p.counted, p.streak))
            .collect();
        assert_eq!(
            got,
            [("maria", 1, 2, 1), ("kenji", 0, 0, 0), ("li", 1, 1, 1)]
        );
        let closed = team(&cycles, None);
        assert_eq!(closed[1].counted, 1, "kenji missed the closed cycle");
    }

    #[test]
    fn time_to_answer_is_from_prompt_to_first_reply() {
        let at = |m: i64| DateTime::<Utc>::from_timestamp(1_710_000_000 + m * 60, 0).unwrap();
        let mut s = seat("maria", true, false);
        s.prompted_at = Some(at(0));
        s.first_reply_at = Some(at(42));
        assert_eq!(
            turn(&s, false),
            Answered {
                after: Some(TimeDelta::minutes(42))
            }
        );
        s.first_reply_at = Some(at(-5));
        assert_eq!(turn(&s, false), UNKNOWN, "a reply before the prompt");
        s.prompted_at = None;
        assert_eq!(turn(&s, false), UNKNOWN, "imported");
    }

    #[test]
    fn durations_read_like_people_say_them() {
        let cases = [
            (TimeDelta::seconds(45), "45s"),
            (TimeDelta::minutes(12), "12m"),
            (TimeDelta::minutes(60), "1h"),
            (TimeDelta::minutes(185), "3h 5m"),
            (TimeDelta::hours(52), "2d 4h"),
            (TimeDelta::hours(48), "2d"),
            (TimeDelta::seconds(-3), "0s"),
        ];
        for (d, want) in cases {
            assert_eq!(short_duration(d), want);
        }
    }

    #[test]
    fn lines_and_section() {
        let p = participation("maria", &[answered(12), Away, Missed, answered(12)]);
        assert_eq!(
            summary(&p),
            "2 of 3 answered (67%) · median time to answer 12m · streak 1, best 1 · away 1"
        );
        let none = participation("li", &[UNKNOWN]);
        assert_eq!(
            summary(&none),
            "1 of 1 answered (100%) · median time to answer — · streak 1, best 1"
        );
        let extra = section(&[p, none], 4);
        assert_eq!(extra.heading, "Participation (last 4 cycles)");
        assert_eq!(
            extra.body,
            "* @maria: 2 of 3 answered (67%) · median time to answer 12m · streak 1, best 1 · away 1\n* @li: 1 of 1 answered (100%) · median time to answer — · streak 1, best 1"
        );
    }
}
