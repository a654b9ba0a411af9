//! `/standup setup [team]`: a team set up, or changed, from Slack. Workspace admins and owners,
//! and the admins of any team of the config file, get a modal: the channel, the people (or
//! everyone in the channel, followed as they join and leave), the days and time of the prompt
//! and of the meeting, the time zone, the notes format, the reminder and how long before the
//! meeting the notes go out.
//!
//! A submission becomes a `[[team]]` table in TOML, checked by the same code as the config file
//! (a problem is shown under its field before the modal closes), kept in the database, and
//! applied at once by a reload, beside the file's teams. A team of the file is changed in the
//! file: the modal does not open for it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{App, Result};
use crate::config::names::NotAsked;
use crate::config::{Config, SlackTeam, Source, TeamConfig};
use standup_core::domain::{ChannelId, Format, TeamId, UserId};

/// The modal's `callback_id`.
pub const CALLBACK: &str = "team_setup";

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const REMIND: [(&str, &str); 4] = [
    ("30m", "30 minutes after the prompt"),
    ("1h", "1 hour after the prompt"),
    ("2h", "2 hours after the prompt"),
    ("4h", "4 hours after the prompt"),
];
const POST: [(&str, &str); 4] = [
    ("15m", "15 minutes before the meeting"),
    ("30m", "30 minutes before the meeting"),
    ("1h", "1 hour before the meeting"),
    ("2h", "2 hours before the meeting"),
];

/// Who may set teams up: workspace admins and owners, and the admins of a team of the file.
async fn allowed(app: &App, user: &UserId) -> Result<bool> {
    let config = app.config();
    if config
        .teams
        .iter()
        .any(|t| t.source == Source::File && t.admins.contains(user))
    {
        return Ok(true);
    }
    Ok(app.api().user_info(user).await?.is_admin)
}

/// Opens the modal for `/standup setup [team]` typed in `channel`; the answer the user sees.
pub async fn open(
    app: &App,
    user: &UserId,
    trigger: &str,
    channel: &ChannelId,
    text: &str,
) -> Result<String> {
    if !allowed(app, user).await? {
        return Ok("Only workspace admins and owners, and the admins of a team in the config file, can set teams up.".into());
    }
    let config = app.config();
    let wanted = text.trim();
    if let Some(id) = wanted.strip_prefix("remove").map(str::trim) {
        return remove(app, user, id).await;
    }
    let team = if wanted.is_empty() {
        config
            .teams
            .iter()
            .find(|t| &t.channel == channel && t.source != Source::File)
    } else {
        config
            .teams
            .iter()
            .find(|t| t.id.as_str().eq_ignore_ascii_case(wanted))
    };
    if let Some(team) = team
        && team.source == Source::File
    {
        return Ok(format!(
            "Team `{}` is set up in the config file `{}`: change it there (the bot applies a saved change at once).",
            team.id,
            config.path.display()
        ));
    }
    let zone = match team {
        Some(t) => t.timezone.name().to_string(),
        None => app
            .api()
            .user_info(user)
            .await
            .ok()
            .and_then(|u| u.tz)
            .unwrap_or_else(|| "UTC".into()),
    };
    app.api()
        .open_view(trigger, form(team, channel, &zone))
        .await?;
    Ok(match team {
        Some(t) => format!("Changing team *{}*: the form is open.", t.name),
        None => "Setting up a new team: the form is open.".to_string(),
    })
}

/// `/standup setup remove <team>`: the team set up from Slack stops running (its meetings stay
/// stored, and `/standup setup` can set it up again).
async fn remove(app: &App, user: &UserId, id: &str) -> Result<String> {
    let config = app.config();
    let Some(team) = config
        .teams
        .iter()
        .find(|t| t.id.as_str().eq_ignore_ascii_case(id))
    else {
        return Ok(format!(
            "There is no team `{id}`. `/standup teams` lists them; `/standup setup remove <team>` removes one set up from Slack."
        ));
    };
    if team.source == Source::File {
        return Ok(format!(
            "Team `{}` is set up in the config file `{}`: remove it there.",
            team.id,
            config.path.display()
        ));
    }
    let gone = team.id.clone();
    let forgotten = app.write(move |s| s.forget_slack_team(&gone)).await?;
    tracing::info!(team = %team.id, by = %user, forgotten, "team set up from Slack removed");
    let why = format!("team {} removed from Slack by {user}", team.id);
    Ok(match super::reload::from_file(app, &why).await {
        Ok(_) => {
            format!(
                "Team *{}* is removed: nobody is prompted for it any more. Its meetings stay stored.",
                team.name
            )
        }
        Err(e) => format!(
            "Team `{}` is removed, and stops once the bot's config loads again: {}",
            team.id,
            e.to_string().lines().next().unwrap_or_default()
        ),
    })
}

/// The modal, filled from `team` when it changes one.
fn form(team: Option<&TeamConfig>, channel: &ChannelId, zone: &str) -> Value {
    let option = |value: &str, text: &str| json!({"text": {"type": "plain_text", "text": text}, "value": value});
    let days_of = |schedule: Option<&str>| -> Vec<Value> {
        let fields: Vec<&str> = schedule.unwrap_or("").split_whitespace().collect();
        let listed = fields.get(4).copied().unwrap_or("Mon-Fri");
        let position = |day: &str| DAYS.iter().position(|d| d.eq_ignore_ascii_case(day));
        // What this form wrote: day names and ranges of them (`Mon-Fri,Sun`).
        let ticked = |i: usize| {
            listed.split(',').any(|part| match part.split_once('-') {
                Some((from, to)) => match (position(from), position(to)) {
                    (Some(a), Some(b)) => (a..=b).contains(&i),
                    _ => false,
                },
                None => position(part) == Some(i),
            })
        };
        DAYS.iter()
            .enumerate()
            .filter(|(i, _)| ticked(*i))
            .map(|(_, d)| option(d, d))
            .collect()
    };
    let time_of = |schedule: Option<&str>, default: &str| -> String {
        let fields: Vec<&str> = schedule.unwrap_or("").split_whitespace().collect();
        match (fields.first(), fields.get(1)) {
            (Some(m), Some(h)) => match (m.parse::<u32>(), h.parse::<u32>()) {
                (Ok(m), Ok(h)) => format!("{h:02}:{m:02}"),
                _ => default.to_string(),
            },
            _ => default.to_string(),
        }
    };
    let prompt = team.map(|t| t.prompt.to_string());
    let sync = team.map(|t| t.sync.to_string());
    let everyone = team.is_some_and(|t| t.members_from.is_some());
    let users: Vec<&str> = team
        .filter(|t| t.members_from.is_none())
        .map(|t| t.members.iter().map(|m| m.user.as_str()).collect())
        .unwrap_or_default();
    let format = team.map_or(Format::Planning, |t| t.format);
    // In the choices' own words ("30m", "2h"); another value shows the default choice.
    let duration = |d: std::time::Duration| match d.as_secs() {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}m", s / 60),
    };
    let remind = team.map_or("2h".to_string(), |t| duration(t.remind_after));
    let post = team.map_or("30m".to_string(), |t| duration(t.post_before));
    let pick = |choices: &[(&str, &str)], value: &str| -> Value {
        let chosen = choices
            .iter()
            .find(|(v, _)| *v == value)
            .unwrap_or(&choices[1]);
        option(chosen.0, chosen.1)
    };
    let meta = team.map(|t| t.id.to_string()).unwrap_or_default();
    let title = if team.is_some() {
        "Change a team"
    } else {
        "Set up a team"
    };
    let mut everyone_box = json!({
        "type": "checkboxes", "action_id": "everyone",
        "options": [option("everyone", "Everyone in the channel (bots left out), as people join and leave")],
    });
    if everyone {
        everyone_box["initial_options"] = json!([option(
            "everyone",
            "Everyone in the channel (bots left out), as people join and leave"
        )]);
    }
    let mut members = json!({"type": "multi_users_select", "action_id": "members",
        "placeholder": {"type": "plain_text", "text": "Pick people"}});
    if !users.is_empty() {
        members["initial_users"] = json!(users);
    }
    let days = days_of(prompt.as_deref());
    let meet_days = if sync.is_some() {
        days_of(sync.as_deref())
    } else {
        vec![option("Mon", "Mon")]
    };
    json!({
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "name", "label": {"type": "plain_text", "text": "Team name"},
             "element": {"type": "plain_text_input", "action_id": "name", "max_length": 80,
                         "initial_value": team.map(|t| t.name.clone()).unwrap_or_default()}},
            {"type": "input", "block_id": "channel", "label": {"type": "plain_text", "text": "Channel for blockers and notes"},
             "element": {"type": "conversations_select", "action_id": "channel",
                         "initial_conversation": team.map_or(channel.as_str(), |t| t.channel.as_str()),
                         "filter": {"include": ["public", "private"], "exclude_bot_users": true}}},
            {"type": "input", "block_id": "members", "optional": true, "label": {"type": "plain_text", "text": "Members"},
             "element": members},
            {"type": "input", "block_id": "everyone", "optional": true, "label": {"type": "plain_text", "text": "Or"},
             "element": everyone_box},
            {"type": "input", "block_id": "days", "label": {"type": "plain_text", "text": "Ask for updates on"},
             "element": {"type": "checkboxes", "action_id": "days",
                         "options": DAYS.iter().map(|d| option(d, d)).collect::<Vec<_>>(),
                         "initial_options": days}},
            {"type": "input", "block_id": "prompt_time", "label": {"type": "plain_text", "text": "at"},
             "element": {"type": "timepicker", "action_id": "prompt_time",
                         "initial_time": time_of(prompt.as_deref(), "09:00")}},
            {"type": "input", "block_id": "meet_days", "label": {"type": "plain_text", "text": "The team meets on"},
             "element": {"type": "checkboxes", "action_id": "meet_days",
                         "options": DAYS.iter().map(|d| option(d, d)).collect::<Vec<_>>(),
                         "initial_options": meet_days}},
            {"type": "input", "block_id": "meet_time", "label": {"type": "plain_text", "text": "at"},
             "element": {"type": "timepicker", "action_id": "meet_time",
                         "initial_time": time_of(sync.as_deref(), "14:00")}},
            {"type": "input", "block_id": "timezone", "label": {"type": "plain_text", "text": "Time zone (IANA, e.g. Europe/Berlin)"},
             "element": {"type": "plain_text_input", "action_id": "timezone", "max_length": 64,
                         "initial_value": zone}},
            {"type": "input", "block_id": "format", "label": {"type": "plain_text", "text": "Notes format"},
             "element": {"type": "static_select", "action_id": "format",
                         "options": [option("planning", "Planning (sections per person)"), option("standup", "Standup (last week / this week)")],
                         "initial_option": if format == Format::Standup { option("standup", "Standup (last week / this week)") } else { option("planning", "Planning (sections per person)") }}},
            {"type": "input", "block_id": "remind_after", "label": {"type": "plain_text", "text": "Remind who has not answered"},
             "element": {"type": "static_select", "action_id": "remind_after",
                         "options": REMIND.iter().map(|(v, t)| option(v, t)).collect::<Vec<_>>(),
                         "initial_option": pick(&REMIND, &remind)}},
            {"type": "input", "block_id": "post_before", "label": {"type": "plain_text", "text": "Post the notes"},
             "element": {"type": "static_select", "action_id": "post_before",
                         "options": POST.iter().map(|(v, t)| option(v, t)).collect::<Vec<_>>(),
                         "initial_option": pick(&POST, &post)}},
        ]
    })
}

/// A submission of the modal, read and checked.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub user: UserId,
    pub team: SlackTeam,
    /// Whether it changes a team set up before (its id in the modal's metadata).
    pub change: bool,
}

/// Reads a submission; `Err` is the ack showing what to fix under each field (Slack shows
/// errors only from the ack, so this needs nothing but the payload and the config).
pub fn read(
    payload: &Value,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<Submitted, Value> {
    let errors = |list: Vec<(&str, String)>| {
        let map: BTreeMap<&str, String> = list.into_iter().collect();
        json!({"response_action": "errors", "errors": map})
    };
    let user = payload
        .pointer("/user/id")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(UserId::new)
        .ok_or_else(|| errors(vec![("name", "Slack did not say who you are.".into())]))?;
    let values = payload
        .pointer("/view/state/values")
        .cloned()
        .unwrap_or(Value::Null);
    let field = |block: &str| {
        values
            .pointer(&format!("/{block}/{block}"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let text = |block: &str| {
        field(block)["value"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let chosen = |block: &str| -> Vec<String> {
        field(block)["selected_options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["value"].as_str().map(str::to_string))
            .collect()
    };
    let selected = |block: &str| {
        field(block)["selected_option"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let time = |block: &str| {
        field(block)["selected_time"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    let name = text("name");
    let editing = payload
        .pointer("/view/private_metadata")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(TeamId::new);
    let id = editing.clone().unwrap_or_else(|| TeamId::new(slug(&name)));
    let mut problems: Vec<(&str, String)> = Vec::new();
    match config.team(&id) {
        Some(t) if t.source == Source::File => problems.push((
            "name",
            format!("The config file has a team `{id}`: choose another name, or change that team in the file."),
        )),
        Some(_) if editing.is_none() => problems.push((
            "name",
            format!("A team `{id}` is already set up from Slack: `/standup setup {id}` changes it."),
        )),
        _ => {}
    }
    let channel = field("channel")["selected_conversation"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let users: Vec<String> = field("members")["selected_users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    let everyone = !chosen("everyone").is_empty();
    if users.is_empty() && !everyone {
        problems.push((
            "members",
            "Pick the members, or tick everyone in the channel.".into(),
        ));
    }
    if everyone && !users.is_empty() {
        problems.push((
            "everyone",
            "Either pick members or tick everyone in the channel, not both.".into(),
        ));
    }
    let days = chosen("days");
    let meet_days = chosen("meet_days");
    let cron = |time: &str, days: &[String]| -> Option<String> {
        let (h, m) = time.split_once(':')?;
        Some(format!(
            "{} {} * * {}",
            m.parse::<u32>().ok()?,
            h.parse::<u32>().ok()?,
            day_list(days)
        ))
    };
    let prompt = cron(&time("prompt_time"), &days);
    let sync = cron(&time("meet_time"), &meet_days);
    if prompt.is_none() {
        problems.push(("prompt_time", "Pick a time.".into()));
    }
    if sync.is_none() {
        problems.push(("meet_time", "Pick a time.".into()));
    }
    if !problems.is_empty() {
        return Err(errors(problems));
    }
    let mut table = toml::Table::new();
    let mut set = |key: &str, value: toml::Value| {
        table.insert(key.to_string(), value);
    };
    set("id", id.to_string().into());
    set("name", name.clone().into());
    set("channel", channel.clone().into());
    set("format", selected("format").into());
    set("timezone", text("timezone").into());
    set("prompt", prompt.unwrap_or_default().into());
    set("sync", sync.unwrap_or_default().into());
    set("post_before", selected("post_before").into());
    set("remind_after", selected("remind_after").into());
    if everyone {
        set("members", channel.clone().into());
    } else {
        let members: Vec<toml::Value> = users
            .iter()
            .map(|u| {
                let mut member = toml::Table::new();
                member.insert("user".into(), u.clone().into());
                toml::Value::Table(member)
            })
            .collect();
        set("members", toml::Value::Array(members));
    }
    let mut document = toml::Table::new();
    document.insert(
        "team".into(),
        toml::Value::Array(vec![toml::Value::Table(table)]),
    );
    let toml = toml::to_string(&document).map_err(|e| errors(vec![("name", e.to_string())]))?;
    // Checked as the file's teams are; each problem goes under the field it is about.
    if let Err(e) = Config::from_str_with(&toml, Path::new(CALLBACK), &NotAsked) {
        let mut by_field: Vec<(&str, String)> = Vec::new();
        for problem in e.problems() {
            let key = problem.key.rsplit('.').next().unwrap_or_default();
            let block = match key {
                "channel" => "channel",
                k if k.starts_with("members") => "members",
                "timezone" => "timezone",
                "prompt" => "days",
                "sync" => "meet_days",
                "format" => "format",
                "post_before" => "post_before",
                "remind_after" => "remind_after",
                _ => "name",
            };
            if !by_field.iter().any(|(b, _)| *b == block) {
                by_field.push((block, format!("{} — {}", problem.message, problem.fix)));
            }
        }
        if by_field.is_empty() {
            by_field.push(("name", e.to_string()));
        }
        return Err(errors(by_field));
    }
    Ok(Submitted {
        user: user.clone(),
        team: SlackTeam {
            id,
            toml,
            by: user,
            at: now,
        },
        change: editing.is_some(),
    })
}

/// A checked submission kept and applied: the team runs from now on, beside the file's. The
/// person who set it up is told by DM what the team is now, or why it does not run yet.
pub async fn submitted(app: &App, submitted: Submitted) -> Result<()> {
    let Submitted { user, team, change } = submitted;
    if !allowed(app, &user).await? {
        tracing::warn!(user = %user, "a team setup from someone not allowed; ignored");
        return Ok(());
    }
    let id = team.id.clone();
    app.write(move |s| s.keep_slack_team(&team)).await?;
    tracing::info!(team = %id, by = %user, change, "team set up from Slack");
    let why = format!("team {id} set up from Slack by {user}");
    let text = match super::reload::from_file(app, &why).await {
        Ok(reloaded) => {
            if let Some(why) = reloaded.skipped.iter().find(|l| l.contains(id.as_str())) {
                format!("Team `{id}` is saved but does not run: {why}")
            } else {
                match app.team(&id) {
                    Some(t) => summary(&t),
                    None => format!("Team `{id}` is saved."),
                }
            }
        }
        Err(e) => format!(
            "Team `{id}` is saved, and runs once the bot's config loads again: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
    };
    let dm = app.api().open_dm(&user).await?;
    app.api().post(&dm, &text, None, None).await?;
    Ok(())
}

/// What a team set up from Slack now does, in words.
fn summary(team: &TeamConfig) -> String {
    let members = match &team.members_from {
        Some(channel) => format!("everyone in <#{}> ({} now)", channel, team.members.len()),
        None => format!(
            "{} member{}",
            team.members.len(),
            if team.members.len() == 1 { "" } else { "s" }
        ),
    };
    format!(
        "Team *{}* is set up: {members}; prompts {}, meets {} ({}); notes in <#{}>. `/standup teams` lists it, `/standup setup {}` changes it.",
        team.name,
        super::onboarding::when(&team.prompt),
        super::onboarding::when(&team.sync),
        team.timezone.name(),
        team.channel,
        team.id
    )
}

/// The crontab day field of ticked days, runs of three or more as ranges (`Mon-Fri,Sun`), so
/// the schedule reads as people say it.
fn day_list(days: &[String]) -> String {
    let index: Vec<usize> = DAYS
        .iter()
        .enumerate()
        .filter(|(_, d)| days.iter().any(|t| t == *d))
        .map(|(i, _)| i)
        .collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < index.len() {
        let mut j = i;
        while j + 1 < index.len() && index[j + 1] == index[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", DAYS[index[i]], DAYS[index[j]]));
        } else {
            parts.extend(index[i..=j].iter().map(|&k| DAYS[k].to_string()));
        }
        i = j + 1;
    }
    parts.join(",")
}

/// A team id from its name: lower-case letters, digits and `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "team".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_days_read_as_people_say_them() {
        let days = |d: &[&str]| day_list(&d.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(days(&["Mon", "Tue", "Wed", "Thu", "Fri"]), "Mon-Fri");
        assert_eq!(days(&["Sun", "Mon", "Wed"]), "Mon,Wed,Sun");
        assert_eq!(days(&["Tue"]), "Tue");
        assert_eq!(
            days(&["Mon", "Tue", "Wed", "Fri", "Sat", "Sun"]),
            "Mon-Wed,Fri-Sun"
        );
    }

    #[test]
    fn a_team_id_is_made_from_its_name() {
        assert_eq!(slug("Team Orbit"), "team-orbit");
        assert_eq!(slug("  Équipe #2 "), "quipe-2");
        assert_eq!(slug("!!!"), "team");
    }
}
