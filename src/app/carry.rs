//! Follow-through in the prompt: the prompt lists what the member planned last cycle, with a
//! checkbox per item, and one click carries the items into this cycle — the ticked ones or all
//! of them into *Shipped* / *Last week*, or all of them into *Next* / *This week*.
//!
//! A carry is recorded as one more message of the member's reply (source `carry`, one key per
//! member and cycle), so it combines with what they type in the DM, and a later click is a
//! newer version of it: the latest click wins and nothing is carried twice.

use chrono::NaiveDate;
use serde_json::Value;

use super::messages::{self, IN_THE_NOTES, escape, from_markdown};
use super::{App, Result};
use super::{buttons, cycle, flags};
use crate::config::TeamConfig;
use crate::slack::{blocks, mrkdwn};
use crate::store::{CARRY_KEY, CARRY_SOURCE, CycleInfo, NewReply};
use standup_core::domain::{ChannelId, Item, SectionKind, UserId};
use standup_core::followthrough::{self, carry_text, item_id, not_yet_in, own_text, planned};
use standup_core::parse::parse_reply;

/// Action ids of the follow-through part of the prompt.
pub const PLANNED_ITEMS: &str = "planned_items";
pub const CARRY_CHECKED: &str = "carry_checked";
pub const CARRY_ALL: &str = "carry_all";
pub const CARRY_KEEP: &str = "carry_keep";
pub const CARRY_UNDO: &str = "carry_undo";
/// The block holding the checkboxes: the click's `state.values` is read under it.
pub const PLANNED_BLOCK: &str = "planned";

/// Slack shows at most 10 options in one checkboxes element.
const MAX_OPTIONS: usize = blocks::CHECKBOX_OPTIONS;

/// Which button was clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The ticked items into *Shipped*.
    Checked,
    /// Every planned item into *Shipped*.
    All,
    /// Every planned item into *Next*, still planned.
    Keep,
    /// Nothing carried after all: the plan and its buttons come back.
    Undo,
}

impl Choice {
    pub fn from_action(action_id: &str) -> Option<Choice> {
        match action_id {
            CARRY_CHECKED => Some(Choice::Checked),
            CARRY_ALL => Some(Choice::All),
            CARRY_KEEP => Some(Choice::Keep),
            CARRY_UNDO => Some(Choice::Undo),
            _ => None,
        }
    }
}

/// A click on one of the carry buttons, as Slack delivered it.
#[derive(Debug, Clone)]
pub struct CarryClick<'a> {
    pub user: &'a UserId,
    /// The button's value: `team|date` of the prompt's cycle.
    pub meta: &'a str,
    pub choice: Choice,
    /// The values of the ticked checkboxes in the same message.
    pub checked: &'a [String],
    /// The prompt message, to show what was carried in place of the buttons.
    pub message: Option<(&'a ChannelId, &'a str)>,
    /// A Slack-style ts of the click, ordering this carry after earlier ones.
    pub version: &'a str,
}

/// What a member planned in the team's previous meeting.
#[derive(Debug, Clone)]
pub struct Plan {
    pub date: NaiveDate,
    pub items: Vec<Item>,
}

/// The member's plan from the meeting before `cycle`, when follow-through is on and there
/// was one.
pub async fn plan_before(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
) -> Result<Option<Plan>> {
    if !team.follow_through {
        return Ok(None);
    }
    let (id, date, who) = (team.id.clone(), cycle.date, user.clone());
    let previous = app
        .read(move |s| s.previous_update(&id, date, &who))
        .await?;
    Ok(previous.and_then(|(date, update)| {
        let items = update.as_ref().map(planned).unwrap_or_default();
        (!items.is_empty()).then_some(Plan { date, items })
    }))
}

/// Adds the member's plan from last time to a prompt: the list, a checkbox per item and
/// the carry buttons.
pub(super) async fn add_plan(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    user: &UserId,
    text: &mut String,
    blocks: &mut Value,
) -> Result<()> {
    let Some(plan) = plan_before(app, team, cycle, user).await? else {
        return Ok(());
    };
    let meta = format!("{}|{}", team.id, cycle.date);
    let (lead, extra) = plan_blocks(team, &plan, &meta);
    text.push('\n');
    text.push_str(&lead);
    *text = blocks::message_text(text, IN_THE_NOTES);
    if let Some(list) = blocks.as_array_mut() {
        list.extend(extra);
        *list = blocks::fit(std::mem::take(list), blocks::MESSAGE_BLOCKS, IN_THE_NOTES);
    }
    Ok(())
}

/// Carries the planned items the member chose into the prompt's cycle, updates the prompt
/// to show what was carried, and returns the confirmation for the member.
pub async fn carry(app: &App, click: &CarryClick<'_>) -> Result<String> {
    let Some(team) = buttons::team_from_meta(app, click.user, click.meta) else {
        return Ok(messages::NOT_A_MEMBER.to_string());
    };
    let team: &crate::config::TeamConfig = &team;
    let date = click
        .meta
        .split('|')
        .nth(1)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let cycle = match date {
        Some(date) => cycle::cycle_for(app, team, date).await?,
        None => cycle::current_cycle(app, team).await?,
    };
    let Some(plan) = plan_before(app, team, &cycle, click.user).await? else {
        return Ok("There is nothing to carry: your update of last time planned nothing.".into());
    };
    let (shipped, kept): (Vec<Item>, Vec<Item>) = match click.choice {
        Choice::Checked => {
            let ticked: Vec<Item> = plan
                .items
                .iter()
                .enumerate()
                .filter(|(i, item)| click.checked.contains(&item_id(*i, item)))
                .map(|(_, item)| item.clone())
                .collect();
            if ticked.is_empty() {
                return Ok(format!(
                    "Tick the items that shipped first, then click *Carry checked into {}*.",
                    section_name(team, SectionKind::Shipped)
                ));
            }
            (ticked, Vec::new())
        }
        Choice::All => (plan.items.clone(), Vec::new()),
        Choice::Keep => (Vec::new(), plan.items.clone()),
        Choice::Undo => (Vec::new(), Vec::new()),
    };
    // What the member typed themselves (their carry left out) is not carried again.
    let (id, who) = (cycle.id, click.user.clone());
    let (before, all) = app
        .read(move |s| {
            Ok::<_, crate::store::Error>((s.carry_text(id, &who)?, s.reply_text(id, &who)?))
        })
        .await?;
    let own = all.map(|all| own_text(&all, before.as_deref()).to_string());
    let own_update = own
        .as_deref()
        .map(|t| parse_reply(t, team.format, &standup_core::parse::NoNames).update);
    let shipped = not_yet_in(own_update.as_ref(), SectionKind::Shipped, shipped);
    let kept = not_yet_in(own_update.as_ref(), SectionKind::Next, kept);
    let text = carry_text(team.format, &shipped, &kept);
    record_carry(app, team, &cycle, click, &text).await?;
    tracing::info!(team = %team.id, cycle = %cycle.date, choice = ?click.choice, items = shipped.len() + kept.len(), "planned items carried");

    let said = if click.choice == Choice::Undo {
        "Undone: nothing from your last plan is carried now.".to_string()
    } else {
        carried_summary(team, &shipped, &kept)
    };
    if let Some((channel, ts)) = click.message {
        let (mut prompt, mut shown) = messages::prompt(team, &cycle, false);
        if click.choice == Choice::Undo {
            add_plan(app, team, &cycle, click.user, &mut prompt, &mut shown).await?;
        } else {
            prompt.push('\n');
            prompt.push_str(&said);
            prompt = blocks::message_text(&prompt, IN_THE_NOTES);
            if let Some(list) = shown.as_array_mut() {
                list.extend(blocks::sections(&said));
                list.push(blocks::actions(
                    None,
                    vec![blocks::button(CARRY_UNDO, "Undo", click.meta)],
                ));
                *list = blocks::fit(std::mem::take(list), blocks::MESSAGE_BLOCKS, IN_THE_NOTES);
            }
        }
        let blocks = shown;
        // The carry buttons give way to what was carried (and *Undo*, which brings them
        // back). If the edit fails the carry is still recorded, and a click on the old
        // buttons replaces it rather than adding to it.
        if let Err(e) = app.api.update(channel, ts, &prompt, Some(blocks)).await {
            tracing::warn!(error = %e, "could not update the prompt after a carry");
        }
    }
    if click.choice == Choice::Undo {
        return Ok(said);
    }
    Ok(blocks::message_text(
        &format!(
            "{said}\nIt is part of your update for {}; add the rest by replying here.",
            cycle.date
        ),
        IN_THE_NOTES,
    ))
}

/// Records the carry as the newest version of the member's carry message and brings the
/// flags and any posted notes in line with it.
async fn record_carry(
    app: &App,
    team: &TeamConfig,
    cycle: &CycleInfo,
    click: &CarryClick<'_>,
    text: &str,
) -> Result<()> {
    let reply = NewReply {
        cycle: cycle.id,
        user: click.user,
        source: CARRY_SOURCE,
        slack_ts: CARRY_KEY,
        version: click.version,
        text,
        at: app.now(),
    }
    .owned();
    let names = app.names(&team.id);
    let format = team.format;
    app.write(move |s| {
        s.record_reply(&reply.borrowed(), |combined| {
            followthrough::with_carry(combined, Some(&reply.text), format, |own| {
                let parsed = parse_reply(own, format, names.as_ref());
                (parsed.update, parsed.diagnostics)
            })
        })
    })
    .await?;
    // The carry is stored: a flag or notes refresh Slack refuses must not keep the other
    // from the channel.
    let mut failures = super::Failures::default();
    flags::update_changed(app, team, cycle, &mut failures).await;
    failures.into_result()
}

/// The name of a section as the format's heading says it, without emoji or colon.
fn section_name(team: &TeamConfig, kind: SectionKind) -> &'static str {
    let heading = team.format.heading(kind).trim_end_matches(':');
    heading
        .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
        .trim()
}

/// "Carried into *Shipped*: a; b." and "Kept under *Next*: c."
fn carried_summary(team: &TeamConfig, shipped: &[Item], kept: &[Item]) -> String {
    let list = |items: &[Item]| {
        items
            .iter()
            .map(|i| from_markdown(&i.text))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut parts = Vec::new();
    if !shipped.is_empty() {
        parts.push(format!(
            ":white_check_mark: Carried into *{}*: {}.",
            section_name(team, SectionKind::Shipped),
            list(shipped)
        ));
    }
    if !kept.is_empty() {
        parts.push(format!(
            ":arrow_right: Kept under *{}*: {}.",
            section_name(team, SectionKind::Next),
            list(kept)
        ));
    }
    if parts.is_empty() {
        return "Those items are already in your update; nothing more to carry.".into();
    }
    parts.join("\n")
}

/// The fallback text and the blocks of a plan: the items (nesting shown), the checkboxes (the
/// first ten) and the three buttons.
fn plan_blocks(team: &TeamConfig, plan: &Plan, meta: &str) -> (String, Vec<Value>) {
    let shipped = section_name(team, SectionKind::Shipped);
    let next = section_name(team, SectionKind::Next);
    let mut list = String::new();
    for item in &plan.items {
        for (depth, line) in item.walk() {
            list.push('\n');
            list.push_str(&"    ".repeat(depth));
            list.push_str(if depth == 0 { "• " } else { "◦ " });
            list.push_str(&from_markdown(&line.text));
        }
    }
    let lead = format!(
        "*Last time ({}) you planned:*{list}\nWhich shipped? Tick them and carry them into *{shipped}*, or keep them all under *{next}*.",
        plan.date
    );
    let options: Vec<Value> = plan
        .items
        .iter()
        .enumerate()
        .take(MAX_OPTIONS)
        .map(|(i, item)| {
            // An item that is only a link with an empty label shows its URL (`plain`); one with
            // no text at all its number: Slack refuses an empty option.
            blocks::option(
                &mrkdwn::plain(&item.text),
                &format!("Item {}", i + 1),
                &item_id(i, item),
            )
        })
        .collect();
    // The plan in full above the checkboxes: an option's text shows 75 characters.
    let mut blocks = vec![blocks::divider()];
    blocks.extend(blocks::sections(&lead));
    if plan.items.len() > MAX_OPTIONS {
        blocks.push(blocks::context(&format!(
            "Only the first {MAX_OPTIONS} of your {} items can be ticked here (Slack's limit). *All shipped* and *Keep as planned* take all of them; or type the rest in your reply.",
            plan.items.len()
        )));
    }
    blocks.push(blocks::actions(
        Some(PLANNED_BLOCK),
        vec![blocks::checkboxes(PLANNED_ITEMS, options)],
    ));
    blocks.push(blocks::actions(
        None,
        vec![
            blocks::primary(blocks::button(
                CARRY_CHECKED,
                &format!("Carry checked into {shipped}"),
                meta,
            )),
            blocks::button(CARRY_ALL, "All shipped", meta),
            blocks::button(CARRY_KEEP, "Keep as planned", meta),
        ],
    ));
    let text = format!(
        "Last time ({}) you planned: {}.",
        plan.date,
        plan.items
            .iter()
            .map(|i| escape(&blocks::clip(mrkdwn::plain(&i.text).trim(), 200)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    (text, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(format: &str) -> TeamConfig {
        let toml = format!(
            "[[team]]\nid = \"orbit\"\nname = \"Orbit\"\nchannel = \"C0123456789\"\nformat = \"{format}\"\nprompt = \"0 9 * * *\"\nsync = \"0 14 * * Mon\"\npost_before = \"30m\"\nremind_after = \"2h\"\nmembers = [{{ user = \"U0MARIA01\", handle = \"maria\" }}]\n"
        );
        crate::config::Config::from_str(&toml, std::path::Path::new("t.toml"))
            .unwrap()
            .teams
            .remove(0)
    }

    fn plan(n: usize) -> Plan {
        Plan {
            date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            items: (1..=n)
                .map(|i| {
                    Item::new(
                        standup_core::domain::Marker::Auto,
                        format!("item {i} {}", "x".repeat(80)),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_plan_offers_a_checkbox_per_item_up_to_slacks_limit() {
        let (text, blocks) = plan_blocks(&team("planning"), &plan(3), "orbit|2024-03-18");
        assert!(
            text.starts_with("Last time (2024-03-11) you planned: item 1"),
            "{text}"
        );
        let shown = Value::Array(blocks.clone()).to_string();
        assert!(!shown.contains("Only the first"), "{shown}");
        let checkboxes = &blocks[2]["elements"][0];
        assert_eq!(checkboxes["type"], "checkboxes");
        let options = checkboxes["options"].as_array().unwrap();
        assert_eq!(options.len(), 3);
        let label = options[0]["text"]["text"].as_str().unwrap();
        assert_eq!(
            label.chars().count(),
            blocks::OPTION_TEXT,
            "labels fit Slack's 75 characters"
        );
        assert!(label.ends_with('…'));
        let buttons = blocks[3]["elements"].to_string();
        assert!(buttons.contains("Carry checked into Shipped"), "{buttons}");
        assert!(buttons.contains("orbit|2024-03-18"), "{buttons}");

        let (_, blocks) = plan_blocks(&team("standup"), &plan(12), "orbit|2024-03-18");
        let shown = Value::Array(blocks.clone()).to_string();
        assert!(
            shown.contains("Only the first 10 of your 12 items"),
            "{shown}"
        );
        assert!(shown.contains("Carry checked into Last week"), "{shown}");
        assert!(shown.contains("keep them all under *This week*"), "{shown}");
        let options = blocks
            .iter()
            .find(|b| b["block_id"] == PLANNED_BLOCK)
            .unwrap()["elements"][0]["options"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(options, 10);
    }

    #[test]
    fn an_item_that_is_only_a_link_with_an_empty_label_still_has_an_option_text() {
        let plan = Plan {
            date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            items: vec![
                Item::new(standup_core::domain::Marker::Auto, "[](https://e.org/pr/3)"),
                Item::new(standup_core::domain::Marker::Auto, ""),
                Item::new(
                    standup_core::domain::Marker::Auto,
                    "[PR & co](https://e.org/pr/4)",
                ),
            ],
        };
        let (_, blocks) = plan_blocks(&team("planning"), &plan, "orbit|2024-03-18");
        let options = blocks
            .iter()
            .find(|b| b["block_id"] == PLANNED_BLOCK)
            .unwrap()["elements"][0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["text"]["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        assert_eq!(options, ["https://e.org/pr/3", "Item 2", "PR & co"]);
        let lead = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(lead.contains("• <https://e.org/pr/3>\n"), "{lead}");
        assert!(lead.contains("<https://e.org/pr/4|PR &amp; co>"), "{lead}");
    }

    #[test]
    fn a_long_plan_is_listed_in_full_over_several_sections() {
        let (_, blocks) = plan_blocks(&team("planning"), &plan(60), "orbit|2024-03-18");
        let listed: String = blocks
            .iter()
            .filter(|b| b["type"] == "section")
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(listed.contains("item 60 "), "the last item is listed");
        assert!(
            blocks
                .iter()
                .filter(|b| b["type"] == "section")
                .all(
                    |b| blocks::length(b["text"]["text"].as_str().unwrap()) <= blocks::SECTION_TEXT
                )
        );
    }

    #[test]
    fn a_carry_summary_past_a_section_is_split() {
        let items: Vec<Item> = plan(60).items;
        let said = carried_summary(&team("planning"), &items, &[]);
        assert!(blocks::length(&said) > blocks::SECTION_TEXT);
        let parts = blocks::sections(&said);
        assert!(parts.len() > 1);
    }
}
