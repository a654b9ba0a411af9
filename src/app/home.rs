//! The bot's App Home tab: each of the member's teams with the current cycle (meeting date,
//! whether they answered or are away, how many answered), their update with an *Edit* button
//! (a modal prefilled with it, one box per section), their open blockers with *Resolve*, and a
//! help line. Someone in no team sees how to join.
//!
//! A Home is published when its owner opens the tab, and again after their update or one of
//! their blockers changes, if they have opened it before (`home_views` remembers who did).
//! Submitting the *Edit* form replaces the member's whole update (see
//! [`crate::store::SOURCE_REPLACE`]).

use serde_json::Value;

use super::messages::{self, IN_THE_NOTES, age, escape, from_markdown};
use super::{App, Result};
use super::{buttons, cycle};
use crate::config::TeamConfig;
use crate::slack::blocks;
use crate::store::OpenBlocker;
use standup_core::domain::{Format, Item, Marker, Section, SectionKind, Update, UserId};

/// Action id of the Home tab's *Edit* button; its value is `team|date`.
pub const HOME_EDIT: &str = "home_edit";
/// Callback id of the form it opens.
pub const EDIT_CALLBACK: &str = "standup_edit";
/// Block id of the form's box for text under no heading (written back without a heading).
pub const FREE_TEXT: &str = "free_text";

/// Blockers listed per team; the rest are counted.
const MAX_BLOCKERS: usize = 10;

/// What the Home shows of one team.
struct TeamStatus<'a> {
    team: &'a TeamConfig,
    date: chrono::NaiveDate,
    answered: usize,
    roster: usize,
    away: bool,
    update: Option<Update>,
    blockers: Vec<OpenBlocker>,
}

/// `app_home_opened` on the Home tab: remembers the visitor and publishes their Home.
pub async fn home_opened(app: &App, user: &UserId) -> Result<()> {
    if !home_wanted(app, user) {
        return Ok(());
    }
    let (who, now) = (user.clone(), app.now());
    app.write(move |s| s.home_opened(&who, now)).await?;
    publish_home(app, user).await
}

/// Publishes `user`'s Home again if they have opened it before. A failure is logged, not
/// returned: the Home is a view of the store, and the next change publishes it again.
pub async fn refresh_home(app: &App, user: &UserId) {
    let who = user.clone();
    let opened = match app.read(move |s| s.has_opened_home(&who)).await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether a member opened their Home");
            return;
        }
    };
    if opened
        && home_wanted(app, user)
        && let Err(e) = publish_home(app, user).await
    {
        tracing::warn!(error = %e, "could not refresh a member's Home tab");
    }
}

/// Whether `user`'s Home is the bot's to show: a team of theirs has `home` on (a stranger's,
/// when any team does).
fn home_wanted(app: &App, user: &UserId) -> bool {
    let config = app.config();
    let teams = config.teams_of(user);
    if teams.is_empty() {
        config.teams.iter().any(|t| t.home)
    } else {
        teams.iter().any(|t| t.home)
    }
}

async fn publish_home(app: &App, user: &UserId) -> Result<()> {
    let view = home_view(app, user).await?;
    app.api.publish_view(user, view).await?;
    tracing::debug!("home tab published");
    Ok(())
}

/// The Home view of `user`, from what is stored now.
async fn home_view(app: &App, user: &UserId) -> Result<Value> {
    let config = app.config();
    let teams: Vec<&TeamConfig> = config
        .teams_of(user)
        .into_iter()
        .filter(|t| t.home)
        .collect();
    if teams.is_empty() {
        return Ok(stranger_view(user));
    }
    let mut statuses = Vec::with_capacity(teams.len());
    for team in teams {
        let cycle = cycle::current_cycle(app, team).await?;
        let (id, team_id, who, date) = (cycle.id, team.id.clone(), user.clone(), cycle.date);
        // One read: the roster, blockers and update of the same moment.
        let (roster, blockers, away, update) = app
            .read(move |store| {
                Ok::<_, crate::store::Error>((
                    store.roster(id)?,
                    store.open_blockers(&team_id)?,
                    store.is_away(&team_id, &who, date)?,
                    store.member_update(id, &who)?,
                ))
            })
            .await?;
        let blockers = blockers
            .into_iter()
            .filter(|b| b.user.as_ref() == Some(user))
            .collect();
        statuses.push(TeamStatus {
            team,
            date: cycle.date,
            answered: roster.iter().filter(|(_, _, a)| *a).count(),
            roster: roster.len().max(team.members.len()),
            away,
            update,
            blockers,
        });
    }
    Ok(member_view(&statuses, app.now()))
}

/// The Home's *Edit* button: opens the answer form prefilled with the member's update.
pub async fn open_edit_form(app: &App, user: &UserId, meta: &str, trigger_id: &str) -> Result<()> {
    let Some(team) = buttons::team_from_meta(app, user, meta) else {
        return Ok(());
    };
    let team: &crate::config::TeamConfig = &team;
    let cycle = cycle::current_cycle(app, team).await?;
    let (id, who) = (cycle.id, user.clone());
    let update = app.read(move |s| s.member_update(id, &who)).await?;
    let meta = format!("{}|{}", team.id, cycle.date);
    let view = edit_form(team.format, &meta, update.as_ref());
    app.api.open_view(trigger_id, view).await?;
    Ok(())
}

/// The reply text of a submitted form: each box under its heading (the box's block id), in
/// the form's order; the free-text box first and without a heading. Empty boxes are left out.
/// A section prefilled over several boxes (see [`edit_form`]) comes back as one: its parts
/// (`Shipped#2`, …) are joined to the first, a part ending in `+` continuing the line before.
pub fn form_text(answers: &[(String, String)]) -> String {
    let mut joined: Vec<(&str, String)> = Vec::new();
    for (block, answer) in answers {
        let (base, part) = match block.split_once('#') {
            Some((base, part)) => (base, Some(part)),
            None => (block.as_str(), None),
        };
        let continues = part.is_some_and(|p| p.ends_with('+'));
        let entry = match joined.iter_mut().find(|(b, _)| *b == base) {
            Some(entry) => entry,
            None => {
                joined.push((base, String::new()));
                joined.last_mut().expect("just pushed")
            }
        };
        let text = &mut entry.1;
        if continues {
            text.push_str(answer);
        } else {
            if !text.trim().is_empty() && !answer.trim().is_empty() {
                text.push('\n');
            }
            text.push_str(answer);
        }
    }
    let mut text = String::new();
    let free = joined.iter().filter(|(block, _)| *block == FREE_TEXT);
    let headed = joined.iter().filter(|(block, _)| *block != FREE_TEXT);
    for (block, answer) in free.chain(headed) {
        if answer.trim().is_empty() {
            continue;
        }
        if *block != FREE_TEXT {
            text.push_str(block);
            text.push_str(":\n");
        }
        text.push_str(answer.trim_end());
        text.push('\n');
    }
    text
}

/// The boxes of the answer form for `format`: the format's questions, then any other section
/// the update has (so editing never drops one). `(block id = heading name, kind)`.
fn form_boxes(format: Format, update: Option<&Update>) -> Vec<(&'static str, Option<SectionKind>)> {
    let mut boxes: Vec<(&'static str, Option<SectionKind>)> = match format {
        Format::Planning => vec![
            ("Shipped", Some(SectionKind::Shipped)),
            ("In progress", Some(SectionKind::InProgress)),
            ("Blocked", Some(SectionKind::Blocked)),
            ("Next", Some(SectionKind::Next)),
        ],
        Format::Standup => vec![
            ("Last week", Some(SectionKind::Shipped)),
            ("This week", Some(SectionKind::Next)),
            ("Blocked", Some(SectionKind::Blocked)),
        ],
    };
    let Some(update) = update else {
        return boxes;
    };
    let has = |kind| {
        update
            .sections
            .iter()
            .any(|s| s.kind == kind && !s.is_empty())
    };
    if has(None) {
        boxes.insert(0, (FREE_TEXT, None));
    }
    let extra: [(&'static str, SectionKind); 3] = [
        (
            match format {
                Format::Planning => "Shipped / in progress",
                Format::Standup => "Last week / in progress",
            },
            SectionKind::ShippedInProgress,
        ),
        ("In progress", SectionKind::InProgress),
        ("Questions", SectionKind::Questions),
    ];
    for (name, kind) in extra {
        if has(Some(kind)) && !boxes.iter().any(|(_, k)| *k == Some(kind)) {
            boxes.push((name, Some(kind)));
        }
    }
    boxes
}

/// The answer form prefilled with `update` (`initial_value` of each box), named so the reply
/// parser recognises each box as its heading. A section longer than a box holds (3,000
/// characters) is prefilled over several boxes, `Shipped`, `Shipped#2`, … (`#3+` when the cut
/// is inside a line), which [`form_text`] joins again: the form never drops a word. An update
/// too long for a modal's 100 blocks gets a form that says so instead, with no *Save*.
pub fn edit_form(format: Format, meta: &str, update: Option<&Update>) -> Value {
    let mut list: Vec<Value> = Vec::new();
    for (name, kind) in form_boxes(format, update) {
        let label = if name == FREE_TEXT { "Notes" } else { name };
        let initial = update.map(|u| section_lines(u, kind)).unwrap_or_default();
        for (i, (part, continues)) in prefill_parts(&initial).into_iter().enumerate() {
            let block_id = block_id_of(name, i, continues);
            let label = if i == 0 {
                label.to_string()
            } else {
                format!("{label} (continued, part {})", i + 1)
            };
            list.push(blocks::text_box(
                &block_id,
                &label,
                &messages::answer_action(&block_id),
                &part,
            ));
        }
    }
    if list.len() > blocks::VIEW_BLOCKS {
        let too_long = format!(
            "Your update is too long to edit in a form (Slack allows {} boxes of {} characters). It is stored whole: edit your messages to me, or send a new one, to change it.",
            blocks::VIEW_BLOCKS,
            blocks::INPUT_VALUE,
        );
        return blocks::modal(
            EDIT_CALLBACK,
            meta,
            "Edit your update",
            None,
            "Close",
            vec![blocks::section(&too_long)],
        );
    }
    blocks::modal(
        EDIT_CALLBACK,
        meta,
        "Edit your update",
        Some("Save"),
        "Cancel",
        list,
    )
}

/// The block id of part `i` (from 0) of the box `name`.
fn block_id_of(name: &str, i: usize, continues: bool) -> String {
    if i == 0 {
        name.to_string()
    } else {
        format!("{name}#{}{}", i + 1, if continues { "+" } else { "" })
    }
}

/// A box's prefill in parts that fit a `plain_text_input` (at least one, maybe empty): whole
/// lines where they fit; `true` when a part continues the line of the part before.
fn prefill_parts(text: &str) -> Vec<(String, bool)> {
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in text.split('\n') {
        if let Some((open, _)) = current.as_mut() {
            if blocks::length(open) + 1 + blocks::length(line) <= blocks::INPUT_VALUE {
                open.push('\n');
                open.push_str(line);
                continue;
            }
            parts.extend(current.take());
        }
        // One line longer than a box: cut where neither side is white space, which a box
        // could lose.
        let mut line = line;
        let mut continues = false;
        while blocks::length(line) > blocks::INPUT_VALUE {
            let cut = line_cut(line, blocks::INPUT_VALUE);
            parts.push((line[..cut].to_string(), continues));
            line = &line[cut..];
            continues = true;
        }
        current = Some((line.to_string(), continues));
    }
    parts.extend(current);
    parts
}

/// A byte index at most `max` UTF-16 units into `line`, with no white space on either side.
fn line_cut(line: &str, max: usize) -> usize {
    let mut used = 0;
    let mut best = None;
    let mut last = 0;
    let mut previous: Option<char> = None;
    for (i, c) in line.char_indices() {
        if used + c.len_utf16() > max {
            break;
        }
        if i > 0 {
            last = i;
            if !c.is_whitespace() && previous.is_some_and(|p| !p.is_whitespace()) {
                best = Some(i);
            }
        }
        used += c.len_utf16();
        previous = Some(c);
    }
    best.unwrap_or(last.max(line.chars().next().map_or(0, char::len_utf8)))
}

/// The text of the sections of `kind` as the member would type it: a line per item, nested
/// items indented by four spaces, bullets as written.
fn section_lines(update: &Update, kind: Option<SectionKind>) -> String {
    let mut lines = Vec::new();
    for (n, section) in update
        .sections
        .iter()
        .filter(|s| s.kind == kind)
        .enumerate()
    {
        // A second section of the kind under its own label (`Next week:` after `This week:`)
        // keeps the label, so saving the form does not merge it into the first.
        if (kind.is_none() || n > 0)
            && let Some(heading) = &section.heading
        {
            lines.push(heading.clone());
        }
        if let Some(text) = &section.text {
            lines.push(text.clone());
        }
        for item in &section.items {
            push_item(&mut lines, item, 0);
        }
    }
    lines.join("\n")
}

fn push_item(lines: &mut Vec<String>, item: &Item, depth: usize) {
    let bullet = match &item.marker {
        Marker::Auto => "- ".to_string(),
        Marker::Bullet(b) => format!("{b} "),
        Marker::Plain => String::new(),
    };
    lines.push(format!("{}{bullet}{}", "    ".repeat(depth), item.text));
    for child in &item.children {
        push_item(lines, child, depth + 1);
    }
}

/// An update as Slack mrkdwn: each section's heading in bold, its items as bullets (nested
/// ones indented), user text escaped and Markdown links turned into Slack links.
pub fn update_mrkdwn(format: Format, update: &Update) -> String {
    let mut out = Vec::new();
    for section in update.sections.iter().filter(|s| !s.is_empty()) {
        if let Some(heading) = section_heading(format, section) {
            out.push(format!("*{}*", escape(heading.trim_end_matches(':'))));
        }
        if let Some(text) = &section.text {
            out.push(from_markdown(text));
        }
        for item in &section.items {
            mrkdwn_item(&mut out, item, 0);
        }
    }
    out.join("\n")
}

fn section_heading(format: Format, section: &Section) -> Option<&str> {
    // A section's own label first (a kind written under two names keeps both).
    section
        .heading
        .as_deref()
        .or(section.kind.map(|k| format.heading(k)))
}

fn mrkdwn_item(out: &mut Vec<String>, item: &Item, depth: usize) {
    let bullet = if depth == 0 { "•" } else { "◦" };
    out.push(format!(
        "{}{bullet} {}",
        "\u{2003}".repeat(depth),
        from_markdown(&item.text)
    ));
    for child in &item.children {
        mrkdwn_item(out, child, depth + 1);
    }
}

const HELP: &str = "Answer my DM, or use *Edit* here, any time before the meeting; the latest version counts. `/standup help` lists the commands.";

fn member_view(statuses: &[TeamStatus<'_>], now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut list = Vec::new();
    for status in statuses {
        let team = status.team;
        list.push(blocks::header(&team.name));
        // A header holds 150 characters: a longer name is written out in full below it.
        let full_name = if blocks::length(&team.name) > blocks::HEADER_TEXT {
            format!("*{}* · ", escape(&team.name))
        } else {
            String::new()
        };
        let mine = if status.away {
            ":palm_tree: You are away for this one"
        } else if status.update.is_some() {
            ":white_check_mark: You answered"
        } else {
            ":hourglass_flowing_sand: You have not answered yet"
        };
        list.push(blocks::context(&format!(
            "{full_name}Meeting on *{}* · {mine} · {} of {} answered",
            status.date, status.answered, status.roster
        )));
        let meta = format!("{}|{}", team.id, status.date);
        let (body, label) = match &status.update {
            Some(update) => (update_mrkdwn(team.format, update), "Edit your update"),
            None => (
                "_No update yet for this meeting._".to_string(),
                "Write your update",
            ),
        };
        let body = if body.trim().is_empty() {
            "_Your update is empty._".to_string()
        } else {
            body
        };
        list.extend(blocks::sections(&body));
        let edit = blocks::primary(blocks::button(HOME_EDIT, label, &meta));
        list.push(blocks::actions(None, vec![edit]));
        if !status.blockers.is_empty() {
            list.push(blocks::section("*Your open blockers*"));
        }
        for b in status.blockers.iter().take(MAX_BLOCKERS) {
            let text = format!(
                ":no_entry: {} _({})_",
                from_markdown(&b.text),
                age(b.opened_at, now)
            );
            let resolve = blocks::button(messages::RESOLVE, "Resolve", &b.id.to_string());
            let mut parts = blocks::sections(&text);
            if parts.len() == 1 {
                parts[0]["accessory"] = resolve;
            } else {
                parts.push(blocks::actions(None, vec![resolve]));
            }
            list.extend(parts);
        }
        if status.blockers.len() > MAX_BLOCKERS {
            list.push(blocks::context(&format!(
                "…and {} more: `/standup blocked` lists them all.",
                status.blockers.len() - MAX_BLOCKERS
            )));
        }
        list.push(blocks::divider());
    }
    // Keep within Slack's limit, room left for the help line.
    let mut list = blocks::fit(list, blocks::VIEW_BLOCKS - 1, IN_THE_NOTES);
    list.push(blocks::context(HELP));
    blocks::home(list)
}

fn stranger_view(user: &UserId) -> Value {
    let text = format!(
        "I run asynchronous standups: I DM each member of a team on its schedule, collect their updates and post the team's meeting notes.\n\nYou are not in any team yet. To join one, ask your team's admin to add your Slack member ID `{}` to the team's `members` in the bot's config. Once you are in, this tab shows your team, your update and your blockers.",
        escape(user.as_str())
    );
    blocks::home(vec![blocks::header("Standup"), blocks::section(&text)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::parse::{NoNames, parse_reply};

    fn parsed(text: &str, format: Format) -> Update {
        parse_reply(text, format, &NoNames).update
    }

    /// The initial values of a prefilled form, submitted unchanged.
    fn resubmitted(format: Format, update: &Update) -> String {
        let form = edit_form(format, "orbit|2024-03-11", Some(update));
        let answers: Vec<(String, String)> = form["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["block_id"].as_str().unwrap().to_string(),
                    b["element"]["initial_value"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        form_text(&answers)
    }

    #[test]
    fn a_prefilled_form_submitted_unchanged_gives_the_same_update() {
        for (format, reply) in [
            (
                Format::Planning,
                ":ship: Shipped:\n• <https://example.org/exporter|Exporter> module\n    ◦ with tests\n*Blocked*\n- Short week\nNext:\n1. review the doc\nShipped / in progress:\n- half of it\nQuestions:\n- why?",
            ),
            (
                Format::Standup,
                "Last week:\n* Pubsub monitoring\n    - benchmarks\nThis week:\n* more",
            ),
            (Format::Planning, "just some free text\nand another line"),
        ] {
            let update = parsed(reply, format);
            let again = parsed(&resubmitted(format, &update), format);
            let texts = |u: &Update| {
                u.sections
                    .iter()
                    .map(|s| {
                        (
                            s.kind,
                            s.texts().into_iter().map(String::from).collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let mut before = texts(&update);
            let mut after = texts(&again);
            before.sort_by_key(|(k, _)| k.map(SectionKind::name));
            after.sort_by_key(|(k, _)| k.map(SectionKind::name));
            assert_eq!(after, before, "{reply}");
        }
    }

    #[test]
    fn an_empty_form_has_the_format_questions_and_no_initial_values() {
        let form = edit_form(Format::Standup, "orbit|2024-03-11", None);
        let ids: Vec<&str> = form["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["Last week", "This week", "Blocked"]);
        assert!(!form.to_string().contains("initial_value"));
        assert_eq!(form["callback_id"], EDIT_CALLBACK);
    }

    #[test]
    fn updates_read_as_slack_mrkdwn() {
        let update = parsed(
            "Shipped:\n- <https://example.org/x|the exporter> &amp; a &lt;b&gt;\n    - nested\nBlocked:\n- none",
            Format::Planning,
        );
        assert_eq!(
            update_mrkdwn(Format::Planning, &update),
            "*🚢 Shipped*\n• <https://example.org/x|the exporter> &amp; a &lt;b&gt;\n\u{2003}◦ nested\n*⛔\u{fe0f} Blocked*\n• none"
        );
    }

    #[test]
    fn free_text_goes_first_without_a_heading() {
        let answers = vec![
            ("Shipped".to_string(), "a\n".to_string()),
            (FREE_TEXT.to_string(), "hello".to_string()),
            ("Next".to_string(), "   ".to_string()),
        ];
        assert_eq!(form_text(&answers), "hello\nShipped:\na\n");
    }

    #[test]
    fn a_long_section_is_prefilled_over_several_boxes_and_comes_back_whole() {
        let long_items: String = (0..80)
            .map(|i| format!("- item {i} [PR](https://e.org/{i}) {}\n", "x".repeat(40)))
            .collect();
        let one_line = format!("- {}\n", "y".repeat(7000));
        for body in [long_items, one_line] {
            let reply = format!("Shipped:\n{body}Next:\n- later");
            let update = parsed(&reply, Format::Planning);
            let form = edit_form(Format::Planning, "orbit|2024-03-11", Some(&update));
            let boxes = form["blocks"].as_array().unwrap();
            assert!(boxes.len() > 4, "{}", boxes.len());
            for b in boxes {
                let initial = b["element"]["initial_value"].as_str().unwrap_or_default();
                assert!(blocks::length(initial) <= blocks::INPUT_VALUE);
            }
            let again = parsed(&resubmitted(Format::Planning, &update), Format::Planning);
            assert_eq!(again, update, "nothing lost or changed");
        }
    }

    #[test]
    fn a_team_name_past_the_header_limit_is_clipped_and_written_out_below() {
        let toml = format!(
            "[[team]]\nid = \"orbit\"\nname = \"{}\"\nchannel = \"C0123456789\"\nformat = \"planning\"\nprompt = \"0 9 * * *\"\nsync = \"0 14 * * Mon\"\npost_before = \"30m\"\nremind_after = \"2h\"\nmembers = [{{ user = \"U0MARIA01\", handle = \"maria\" }}]\n",
            "N".repeat(151)
        );
        let team = crate::config::Config::from_str(&toml, std::path::Path::new("t.toml"))
            .unwrap()
            .teams
            .remove(0);
        let status = TeamStatus {
            team: &team,
            date: chrono::NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            answered: 0,
            roster: 1,
            away: false,
            update: None,
            blockers: Vec::new(),
        };
        let view = member_view(&[status], chrono::Utc::now());
        let header = view["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(blocks::length(header), blocks::HEADER_TEXT);
        assert!(view["blocks"][1].to_string().contains(&"N".repeat(151)));
    }
}
