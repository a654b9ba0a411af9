//! The prompt's buttons: *Answer in a form*, *Skip this time* and *Out of office*.

use chrono::NaiveDate;

use super::{App, Result, cycle, messages};
use crate::config::Team;
use standup_core::domain::{TeamId, UserId};

/// The team a button or form belongs to (`team|date` in its value), if the user is in it.
pub fn team_from_meta(app: &App, user: &UserId, meta: &str) -> Option<Team> {
    let id = meta.split('|').next().unwrap_or_default();
    app.team(&TeamId(id.to_string()))
        .filter(|t| t.member(user).is_some())
}

/// Opens the answer form for the cycle a prompt was about.
pub async fn open_form(app: &App, user: &UserId, meta: &str, trigger_id: &str) -> Result<()> {
    let Some(team) = team_from_meta(app, user, meta) else {
        return Ok(());
    };
    let team: &crate::config::TeamConfig = &team;
    let view = messages::answer_form(team.format, meta);
    app.api.open_view(trigger_id, view).await?;
    Ok(())
}

/// "Skip this time" / "Out of office" from a prompt: away for that cycle's meeting.
pub async fn mark_away(app: &App, user: &UserId, meta: &str, kind: &str) -> Result<String> {
    let Some(team) = team_from_meta(app, user, meta) else {
        return Ok(messages::NOT_A_MEMBER.to_string());
    };
    let team: &crate::config::TeamConfig = &team;
    let date = meta
        .split('|')
        .nth(1)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| cycle::next_meeting_date(team, app.now()));
    let (id, who, what, now) = (team.id.clone(), user.clone(), kind.to_string(), app.now());
    app.write(move |s| s.add_absence(&id, &who, date, date, &what, now))
        .await?;
    Ok(match kind {
        "skip" => format!("OK, skipping the {date} update. No reminders for it."),
        _ => format!(
            "OK, marked out of office for the {date} meeting. For longer leave: `/standup ooo &lt;from&gt; &lt;to&gt;`."
        ),
    })
}
