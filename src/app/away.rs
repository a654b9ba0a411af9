//! Time off as members use it: `/standup ooo` (dates, `today`, `tomorrow`, `until`, `list`,
//! `cancel`), `/standup quiet`, a Slack status that means out of office, and whose quiet hours
//! apply when.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::commands::Reply;
use super::messages::escape;
use super::{App, Result};
use crate::config::TeamConfig;
use crate::slack::client::UserInfo;
use crate::store::Absence;
use crate::store::CycleInfo;
use standup_core::calendar::AwayNote;
use standup_core::calendar::QuietHours;
use standup_core::domain::UserId;

pub const OOO_USAGE: &str = "Usage: `/standup ooo &lt;from&gt; [to]`, `/standup ooo today`, \
`/standup ooo tomorrow`, `/standup ooo until &lt;date&gt;`, `/standup ooo list`, \
`/standup ooo cancel [number]` — dates as YYYY-MM-DD, e.g. `/standup ooo 2026-12-21 2026-12-31`.";

pub const QUIET_USAGE: &str = "Usage: `/standup quiet 18:00-09:00` (your own time; no prompts \
or reminders then, they wait until it ends), `/standup quiet off` (none), `/standup quiet default` \
(the team's setting), `/standup quiet` (what applies now).";

/// What `/standup ooo …` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ooo {
    /// Away from, to (inclusive).
    Range(NaiveDate, NaiveDate),
    List,
    /// Cancel one absence by its number in `list`, or all current and upcoming ones.
    Cancel(Option<usize>),
}

/// Reads `/standup ooo` arguments with `today` as the member's today; a mistake comes back as
/// the text to answer with.
pub fn parse_ooo(args: &str, today: NaiveDate) -> std::result::Result<Ooo, String> {
    let words: Vec<String> = args.split_whitespace().map(str::to_lowercase).collect();
    let day = |w: &str| -> std::result::Result<NaiveDate, String> {
        match w {
            "today" => Ok(today),
            "tomorrow" => Ok(today + Duration::days(1)),
            _ => NaiveDate::parse_from_str(w, "%Y-%m-%d").map_err(|_| {
                format!(
                    "`{}` is not a date: write it as YYYY-MM-DD (or `today`, `tomorrow`).\n{OOO_USAGE}",
                    escape(w)
                )
            }),
        }
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (from, to) = match words.as_slice() {
        ["list"] => return Ok(Ooo::List),
        ["cancel"] => return Ok(Ooo::Cancel(None)),
        ["cancel", n] => {
            return match n.trim_start_matches('#').parse::<usize>() {
                Ok(n) if n > 0 => Ok(Ooo::Cancel(Some(n))),
                _ => Err(format!(
                    "`{}` is not a number from `/standup ooo list`.\n{OOO_USAGE}",
                    escape(n)
                )),
            };
        }
        ["until", to] => (today, day(to)?),
        [one] => {
            let d = day(one)?;
            (d, d)
        }
        [from, to] => (day(from)?, day(to)?),
        _ => return Err(OOO_USAGE.to_string()),
    };
    if to < from {
        return Err(format!(
            "The range ends ({to}) before it starts ({from}): put the first day first.\n{OOO_USAGE}"
        ));
    }
    if to < today {
        return Err(format!(
            "That range ({from} to {to}) is in the past: give dates from today ({today}) on."
        ));
    }
    Ok(Ooo::Range(from, to))
}

/// How `list` shows an absence.
fn describe(a: &Absence) -> String {
    match (a.kind.as_str(), a.from == a.to) {
        ("skip", _) => format!("skipping the {} update", a.from),
        (_, true) => format!("out of office on {}", a.from),
        _ => format!("out of office {} to {}", a.from, a.to),
    }
}

/// The status emoji that makes a member out of office now, if their profile has one.
pub fn ooo_status<'i>(
    team: &TeamConfig,
    info: &'i UserInfo,
    now: DateTime<Utc>,
) -> Option<&'i str> {
    let emoji = info.status_emoji.as_deref()?;
    let live = info.status_expires.is_none_or(|t| t > now);
    (live && team.timeoff.is_ooo_emoji(emoji)).then_some(emoji)
}

/// The member's "today", on the team's clock.
fn today(app: &App, team: &TeamConfig) -> NaiveDate {
    app.now().with_timezone(&team.timezone).date_naive()
}

/// Whether the member is away for the cycle: an absence, or a status seen when prompted.
pub(super) async fn away_for(
    app: &App,
    team: &TeamConfig,
    user: &UserId,
    date: NaiveDate,
) -> Result<bool> {
    let (id, who) = (team.id.clone(), user.clone());
    Ok(app
        .read(move |s| {
            Ok::<_, crate::store::Error>(
                s.is_away(&id, &who, date)? || s.status_away(&id, &who, date)?,
            )
        })
        .await?)
}

/// Before a prompt: a status emoji meaning out of office marks the member away for the
/// cycle (so the document says so) and the prompt is not sent.
pub(super) async fn away_by_status(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    info: &UserInfo,
) -> Result<bool> {
    let Some(emoji) = ooo_status(team, info, app.now()) else {
        return Ok(false);
    };
    tracing::info!(team = %team.id, cycle = %cycle.date, "not prompting: Slack status says out of office");
    let (id, who, date, emoji, now) = (
        team.id.clone(),
        user.clone(),
        cycle.date,
        emoji.to_string(),
        app.now(),
    );
    app.write(move |s| s.record_status_away(&id, &who, date, &emoji, now))
        .await?;
    Ok(true)
}

/// The quiet hours that apply to a member: their own (`/standup quiet`), else their config
/// entry's, else the team's.
pub async fn quiet_hours(app: &App, team: &TeamConfig, user: &UserId) -> Option<QuietHours> {
    let (id, who) = (team.id.clone(), user.clone());
    match app.read(move |s| s.quiet_hours(&id, &who)).await {
        Ok(Some(own)) if own == "off" => return None,
        Ok(Some(own)) => {
            if let Ok(q) = own.parse() {
                return Some(q);
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(team = %team.id, error = %e, "cannot read quiet hours; using the config")
        }
    }
    team.member(user)
        .and_then(|m| m.quiet_hours)
        .or(team.timeoff.quiet_hours)
}

/// `/standup ooo …`.
pub(super) async fn ooo_command(
    app: &App,
    user: &UserId,
    teams: &[&TeamConfig],
    rest: &str,
) -> Result<Reply> {
    let Some(first) = teams.first() else {
        return Ok(Reply::new(super::messages::NOT_A_MEMBER));
    };
    let today = today(app, first);
    let ooo = match parse_ooo(rest, today) {
        Ok(ooo) => ooo,
        Err(text) => return Ok(Reply::new(text)),
    };
    // A member of several teams is away from all of them: one list, merged.
    let mut mine: Vec<Absence> = Vec::new();
    for team in teams {
        let (id, who) = (team.id.clone(), user.clone());
        let upcoming = app
            .read(move |s| s.upcoming_absences(&id, &who, today))
            .await?;
        for a in upcoming {
            if !mine
                .iter()
                .any(|m| (m.from, m.to, &m.kind) == (a.from, a.to, &a.kind))
            {
                mine.push(a);
            }
        }
    }
    mine.sort_by_key(|a| (a.from, a.to));
    match ooo {
        Ooo::Range(from, to) => {
            for team in teams {
                let (id, who, now) = (team.id.clone(), user.clone(), app.now());
                app.write(move |s| s.add_absence(&id, &who, from, to, "ooo", now))
                    .await?;
            }
            let when = if from == to {
                format!("on {from}")
            } else {
                format!("from {from} to {to}")
            };
            Ok(Reply::new(format!(
                "OK, you are out of office {when}: no prompts or reminders then, and the notes say so. `/standup ooo list` shows your time off."
            )))
        }
        Ooo::List if mine.is_empty() => Ok(Reply::new(
            "You have no time off coming up. Add some with `/standup ooo &lt;from&gt; [to]`.",
        )),
        Ooo::List => {
            let lines: Vec<String> = mine
                .iter()
                .enumerate()
                .map(|(i, a)| format!("{}. {}", i + 1, describe(a)))
                .collect();
            Ok(Reply::new(format!(
                "Your time off:\n{}\nCancel one with `/standup ooo cancel &lt;number&gt;`.",
                lines.join("\n")
            )))
        }
        Ooo::Cancel(which) => {
            let chosen: Vec<&Absence> = match which {
                None => mine.iter().collect(),
                Some(n) => match mine.get(n - 1) {
                    Some(a) => vec![a],
                    None => {
                        return Ok(Reply::new(format!(
                            "There is no number {n}: you have {} upcoming. See `/standup ooo list`.",
                            mine.len()
                        )));
                    }
                },
            };
            if chosen.is_empty() {
                return Ok(Reply::new("You have no time off to cancel."));
            }
            let ranges: Vec<_> = chosen
                .iter()
                .map(|a| (a.from, a.to, a.kind.clone()))
                .collect();
            for team in teams {
                // The same range in each team has its own row: found and cancelled in one
                // request to the writer.
                let (id, who, ranges) = (team.id.clone(), user.clone(), ranges.clone());
                app.write(move |store| {
                    for row in store.upcoming_absences(&id, &who, today)? {
                        if ranges.iter().any(|(from, to, kind)| {
                            (row.from, row.to, &row.kind) == (*from, *to, kind)
                        }) {
                            store.cancel_absence(&id, &who, row.id)?;
                        }
                    }
                    Ok::<_, crate::store::Error>(())
                })
                .await?;
            }
            let what: Vec<String> = chosen.iter().map(|a| describe(a)).collect();
            tracing::info!(cancelled = chosen.len(), "time off cancelled");
            Ok(Reply::new(format!(
                "Cancelled: {}. You will be prompted as usual.",
                what.join("; ")
            )))
        }
    }
}

/// `/standup quiet [HH:MM-HH:MM|off|default]`.
pub(super) async fn quiet_command(
    app: &App,
    user: &UserId,
    teams: &[&TeamConfig],
    rest: &str,
) -> Result<Reply> {
    let Some(first) = teams.first() else {
        return Ok(Reply::new(super::messages::NOT_A_MEMBER));
    };
    let set = match rest.trim().to_lowercase().as_str() {
        "" => {
            return Ok(Reply::new(match quiet_hours(app, first, user).await {
                Some(q) => format!(
                    "Your quiet hours: {q} (your own time). Prompts and reminders wait until they end."
                ),
                None => "You have no quiet hours.".to_string(),
            }));
        }
        "off" | "none" => Some("off".to_string()),
        "default" | "reset" => None,
        window => match window.parse::<QuietHours>() {
            Ok(q) => Some(q.to_string()),
            Err(why) => {
                return Ok(Reply::new(format!("{}.\n{QUIET_USAGE}", escape(&why))));
            }
        },
    };
    for team in teams {
        let (id, who, set) = (team.id.clone(), user.clone(), set.clone());
        app.write(move |s| s.set_quiet_hours(&id, &who, set.as_deref()))
            .await?;
    }
    // A job held for the old quiet hours goes when the new ones allow.
    app.wake_scheduler();
    Ok(Reply::new(match quiet_hours(app, first, user).await {
        Some(q) => format!(
            "OK, quiet hours {q} (your own time): prompts and reminders then wait until they end."
        ),
        None => "OK, no quiet hours: prompts come at the team's time.".to_string(),
    }))
}

/// `/standup status`'s line about who is away for the cycle, if anyone.
pub(super) async fn away_line(
    app: &App,
    team: &TeamConfig,
    date: NaiveDate,
) -> Result<Option<String>> {
    if team.timeoff.is_holiday(date) {
        return Ok(Some(format!("{date} is a holiday")));
    }
    let id = team.id.clone();
    let away = app.read(move |s| s.away_on(&id, date)).await?;
    if away.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = away
        .iter()
        .map(|(h, why)| match why {
            AwayNote::Until(to) if *to > date => format!("@{} (until {to})", escape(h)),
            AwayNote::Status => format!("@{} (Slack status)", escape(h)),
            AwayNote::Until(_) => format!("@{}", escape(h)),
        })
        .collect();
    Ok(Some(format!("out of office: {}", names.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-11-21";

    fn check(args: &str, expect: std::result::Result<Ooo, &str>) {
        let got = parse_ooo(args, d(TODAY));
        match (got, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{args}"),
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{args}: {got}"),
            (got, want) => panic!("{args}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn ooo_arguments() {
        let day = |s| d(s);
        check("today", Ok(Ooo::Range(day(TODAY), day(TODAY))));
        check(
            "Tomorrow",
            Ok(Ooo::Range(day("2026-11-22"), day("2026-11-22"))),
        );
        check(
            "until 2026-11-27",
            Ok(Ooo::Range(day(TODAY), day("2026-11-27"))),
        );
        check(
            "2026-12-24 2026-12-31",
            Ok(Ooo::Range(day("2026-12-24"), day("2026-12-31"))),
        );
        check(
            "tomorrow 2026-11-30",
            Ok(Ooo::Range(day("2026-11-22"), day("2026-11-30"))),
        );
        check("list", Ok(Ooo::List));
        check("cancel", Ok(Ooo::Cancel(None)));
        check("cancel 2", Ok(Ooo::Cancel(Some(2))));
        check("cancel #1", Ok(Ooo::Cancel(Some(1))));
    }

    #[test]
    fn ooo_mistakes_are_explained() {
        check("", Err("Usage: `/standup ooo"));
        check("cancel x", Err("`x` is not a number"));
        check("cancel 0", Err("`0` is not a number"));
        check("next week", Err("`next` is not a date"));
        check("2026-13-01", Err("`2026-13-01` is not a date"));
        check(
            "2026-12-31 2026-12-24",
            Err("The range ends (2026-12-24) before it starts (2026-12-31)"),
        );
        check(
            "2026-11-01 2026-11-05",
            Err("That range (2026-11-01 to 2026-11-05) is in the past"),
        );
        check("until 2026-11-20", Err("The range ends"));
        check("a b c", Err("Usage:"));
        check("<!channel>", Err("`&lt;!channel&gt;` is not a date"));
    }

    fn info(emoji: Option<&str>, expires: Option<DateTime<Utc>>) -> UserInfo {
        UserInfo {
            tz: None,
            deleted: false,
            is_bot: false,
            name: None,
            handles: Vec::new(),
            is_admin: false,
            status_emoji: emoji.map(str::to_string),
            status_expires: expires,
        }
    }

    #[test]
    fn a_status_counts_while_it_lasts() {
        let config = crate::config::Config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/standup.example.toml"
        )))
        .unwrap();
        let team = &config.teams[0];
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let palm = Some(":palm_tree:");
        assert_eq!(ooo_status(team, &info(palm, None), now), palm);
        let later = Some(now + Duration::hours(1));
        assert_eq!(ooo_status(team, &info(palm, later), now), palm);
        let earlier = Some(now - Duration::hours(1));
        assert_eq!(ooo_status(team, &info(palm, earlier), now), None);
        assert_eq!(ooo_status(team, &info(Some(":coffee:"), None), now), None);
        assert_eq!(ooo_status(team, &info(None, None), now), None);
    }
}
