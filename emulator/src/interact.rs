//! Clicks and form submissions, built the way Slack builds them: from what the bot posted.
//!
//! Slack's client can only send a `block_actions` for a button a user sees, carrying the
//! `action_id`, `block_id`, `value` and text the bot gave that button, the message (or view) it
//! sits in and the state of its checkboxes; and a `view_submission` only for a modal the bot
//! opened, with one entry per input block of that view. So every id, value and option here is
//! taken from the stored message, Home view or modal: a test names only what a person points at
//! (a button's `action_id`, a checkbox option's text, the words typed into a box). Naming
//! something the bot never posted is an [`InteractionError`] for the test, never a payload made
//! up to fit.

use crate::config::EmulatorConfig;
use crate::ids;
use crate::server::Emulator;
use crate::state::{Message, View, dm_channel_id};
use crate::strict::is_hh_mm;
use serde_json::{Map, Value, json};
use std::fmt;

/// A click or submission that no user could make: what the test named is not in what the bot
/// posted (or a value does not fit the input). The message says what was there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionError(String);

impl fmt::Display for InteractionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InteractionError {}

type Result<T> = std::result::Result<T, InteractionError>;

fn refuse<T>(message: String) -> Result<T> {
    Err(InteractionError(message))
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The block id Slack reports for a block: its own, or, where the bot gave none, the one Slack
/// would generate (the emulator names it by position).
fn block_id(block: &Value, position: usize) -> String {
    str_of(block, "block_id").map_or_else(|| format!("block{position}"), str::to_string)
}

/// The interactive elements of a surface's blocks, each with its block's id: the elements of
/// `actions` blocks, section accessories and the elements of `input` blocks.
fn elements(blocks: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (position, block) in blocks.as_array().into_iter().flatten().enumerate() {
        let id = block_id(block, position);
        let inner = block
            .get("elements")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(block.get("accessory").cloned())
            .chain(block.get("element").cloned());
        for element in inner.filter(|e| e.get("action_id").is_some()) {
            found.push((id.clone(), element));
        }
    }
    found
}

fn action_ids(blocks: &Value) -> Vec<String> {
    elements(blocks)
        .iter()
        .filter_map(|(_, e)| str_of(e, "action_id").map(str::to_string))
        .collect()
}

/// The one button `action_id` of a surface (with its block id), the one whose value is `value`
/// when given.
fn button(
    blocks: &Value,
    action_id: &str,
    value: Option<&str>,
    surface: &str,
) -> Result<(String, Value)> {
    let named: Vec<(String, Value)> = elements(blocks)
        .into_iter()
        .filter(|(_, e)| str_of(e, "action_id") == Some(action_id))
        .collect();
    if named.is_empty() {
        return refuse(format!(
            "{surface} has no element with action_id {action_id:?}; its action_ids: {:?}",
            action_ids(blocks)
        ));
    }
    if let Some((_, other)) = named
        .iter()
        .find(|(_, e)| str_of(e, "type") != Some("button"))
    {
        return refuse(format!(
            "{action_id:?} in {surface} is a {}, not a button",
            str_of(other, "type").unwrap_or("element without a type")
        ));
    }
    let values: Vec<Option<String>> = named
        .iter()
        .map(|(_, e)| str_of(e, "value").map(str::to_string))
        .collect();
    let mut matching: Vec<(String, Value)> = named
        .into_iter()
        .filter(|(_, e)| value.is_none_or(|v| str_of(e, "value") == Some(v)))
        .collect();
    match (matching.len(), value) {
        (1, _) => Ok(matching.remove(0)),
        (0, Some(value)) => refuse(format!(
            "{surface} has no {action_id:?} button with value {value:?}; their values: {values:?}"
        )),
        _ => refuse(format!(
            "{surface} has several {action_id:?} buttons: name one by its value: {values:?}"
        )),
    }
}

/// The `actions[0]` Slack sends for a click on `element` in block `block_id`.
fn button_action(block_id: &str, element: &Value) -> Value {
    let mut action = json!({
        "type": "button",
        "action_id": element["action_id"],
        "block_id": block_id,
        "text": element["text"],
        "action_ts": ids::next_ts(),
    });
    for key in ["value", "style"] {
        if let Some(v) = element.get(key) {
            action[key] = v.clone();
        }
    }
    action
}

fn option_text(option: &Value) -> Option<&str> {
    option.pointer("/text/text").and_then(Value::as_str)
}

/// Every option of a selection element (`options`, or the options of its `option_groups`).
fn options(element: &Value) -> Vec<Value> {
    let direct = element
        .get("options")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let grouped = element
        .get("option_groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.get("options").and_then(Value::as_array))
        .flatten()
        .cloned();
    direct.into_iter().chain(grouped).collect()
}

/// The `state.values` Slack sends with a click on a message: every checkboxes element, with
/// the options it starts with (`ticked: None`) or the options whose text is in `ticked`, keyed
/// `{block_id: {action_id: {"type": "checkboxes", "selected_options": [...]}}}`. A ticked text
/// that no checkbox of the message shows is refused.
fn checkbox_state(blocks: &Value, ticked: Option<&[&str]>, surface: &str) -> Result<Value> {
    let mut values = Map::new();
    let mut shown = Vec::new();
    for (block, element) in elements(blocks) {
        if str_of(&element, "type") != Some("checkboxes") {
            continue;
        }
        let all = options(&element);
        shown.extend(all.iter().filter_map(option_text).map(str::to_string));
        let selected: Vec<Value> = match ticked {
            Some(ticked) => all
                .into_iter()
                .filter(|o| option_text(o).is_some_and(|t| ticked.contains(&t)))
                .collect(),
            None => element
                .get("initial_options")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        let action_id = str_of(&element, "action_id")
            .unwrap_or_default()
            .to_string();
        let entry = values.entry(block).or_insert_with(|| json!({}));
        entry[action_id] = json!({"type": "checkboxes", "selected_options": selected});
    }
    for text in ticked.unwrap_or_default() {
        if !shown.iter().any(|s| s == text) {
            return refuse(format!(
                "{surface} has no checkbox option {text:?}; its options: {shown:?}"
            ));
        }
    }
    Ok(Value::Object(values))
}

/// What a submission is checked against: the emulated workspace, who submits, and the
/// conversation the modal was opened from (when the emulator knows it).
struct Submitter<'a> {
    config: &'a EmulatorConfig,
    user: &'a str,
    current: Option<&'a str>,
}

impl Submitter<'_> {
    /// Whether `id` is a user of the workspace (a member or the bot user), as a users menu
    /// lists them.
    fn is_user(&self, id: &str) -> bool {
        id == self.config.bot_user_id || self.config.users.iter().any(|u| u.id == id)
    }

    /// A conversation the submitter could pick in a conversations menu: its kind for a filter's
    /// `include` and whether it is a DM with a bot user; or why not. The emulator knows the
    /// configured channels (`C...` public, `G...` private, listed only for their members) and one
    /// DM per member, the one with the bot; it has no group DMs and no externally shared
    /// channels.
    fn conversation(&self, id: &str) -> std::result::Result<(&'static str, bool), String> {
        if let Some(channel) = self.config.channels.iter().find(|c| c.id == id) {
            if !id.starts_with('G') {
                return Ok(("public", false));
            }
            if channel.members.iter().any(|m| m == self.user) {
                return Ok(("private", false));
            }
            return Err(format!(
                "{id} is a private channel {} is not in: Slack's menu does not list it",
                self.user
            ));
        }
        if id == dm_channel_id(self.user) {
            return Ok(("im", true));
        }
        let known: Vec<String> = self
            .config
            .channels
            .iter()
            .map(|c| c.id.clone())
            .chain([dm_channel_id(self.user)])
            .collect();
        Err(format!(
            "{id} is no conversation of the workspace {} sees; the emulator knows {known:?}",
            self.user
        ))
    }

    /// `id` as a conversations menu with `element`'s filter offers it, or why it does not.
    fn pickable(&self, element: &Value, id: &str) -> std::result::Result<(), String> {
        let (kind, bot_dm) = self.conversation(id)?;
        let filter = &element["filter"];
        if let Some(include) = filter["include"].as_array()
            && !include.iter().any(|k| k == kind)
        {
            return Err(format!(
                "{id} is a {kind} conversation and the menu's filter includes only {include:?}"
            ));
        }
        if bot_dm && filter["exclude_bot_users"] == true {
            return Err(format!(
                "{id} is a DM with a bot user and the menu's filter has exclude_bot_users"
            ));
        }
        // `exclude_external_shared_channels` excludes nothing here: the emulator has no
        // externally shared channels.
        Ok(())
    }
}

/// The state entry of one input block of a submitted modal: what was typed or picked (`named`,
/// the test's entries for that block), or what the view started with.
fn input_state(
    block: &str,
    element: &Value,
    named: &[&str],
    optional: bool,
    who: &Submitter,
) -> Result<Value> {
    let kind = str_of(element, "type").unwrap_or_default();
    let one = || -> Result<Option<&str>> {
        match named {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => refuse(format!(
                "input {block:?} ({kind}) takes one value, got {named:?}"
            )),
        }
    };
    let pick = |text: &str| -> Result<Value> {
        let all = options(element);
        all.iter()
            .find(|o| option_text(o) == Some(text))
            .cloned()
            .map_or_else(
                || {
                    let shown: Vec<&str> = all.iter().filter_map(option_text).collect();
                    refuse(format!(
                        "input {block:?} has no option {text:?}; its options: {shown:?}"
                    ))
                },
                Ok,
            )
    };
    let (state, empty) = match kind {
        "plain_text_input" => {
            // Slack sends `null` for a box left empty.
            let value = match one()? {
                Some(typed) => Some(typed.to_string()).filter(|t| !t.is_empty()),
                None => str_of(element, "initial_value").map(str::to_string),
            };
            if let Some(text) = &value {
                let chars = text.chars().count() as u64;
                let multiline = element.get("multiline").and_then(Value::as_bool) == Some(true);
                if !multiline && text.contains('\n') {
                    return refuse(format!(
                        "input {block:?} is a single-line box: it cannot hold a line break"
                    ));
                }
                if let Some(max) = element.get("max_length").and_then(Value::as_u64)
                    && chars > max
                {
                    return refuse(format!(
                        "input {block:?} takes at most {max} characters; Slack's client stops the typing at that (got {chars})"
                    ));
                }
                if let Some(min) = element.get("min_length").and_then(Value::as_u64)
                    && chars < min
                {
                    return refuse(format!(
                        "input {block:?} needs at least {min} characters; Slack's client does not submit fewer (got {chars})"
                    ));
                }
            }
            let empty = value.is_none();
            (json!({"type": kind, "value": value}), empty)
        }
        "static_select" | "radio_buttons" => {
            let option = match one()? {
                Some(text) => pick(text)?,
                None => element
                    .get("initial_option")
                    .cloned()
                    .unwrap_or(Value::Null),
            };
            let empty = option.is_null();
            (json!({"type": kind, "selected_option": option}), empty)
        }
        "checkboxes" => {
            let selected: Vec<Value> = if named.is_empty() {
                element
                    .get("initial_options")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            } else {
                named.iter().map(|t| pick(t)).collect::<Result<_>>()?
            };
            let empty = selected.is_empty();
            (json!({"type": kind, "selected_options": selected}), empty)
        }
        "datepicker" => {
            let date = match one()? {
                Some(text) => {
                    let valid = text.len() == 10
                        && text.bytes().enumerate().all(|(i, b)| {
                            if i == 4 || i == 7 {
                                b == b'-'
                            } else {
                                b.is_ascii_digit()
                            }
                        });
                    if !valid {
                        return refuse(format!(
                            "input {block:?} is a datepicker: {text:?} is not a YYYY-MM-DD date"
                        ));
                    }
                    Some(text.to_string())
                }
                None => str_of(element, "initial_date").map(str::to_string),
            };
            let empty = date.is_none();
            (json!({"type": kind, "selected_date": date}), empty)
        }
        "timepicker" => {
            // Slack sends `null` for a time left empty; an empty text clears the initial one.
            let time = match one()? {
                Some("") => None,
                Some(text) => {
                    if !is_hh_mm(text) {
                        return refuse(format!(
                            "input {block:?} is a timepicker: {text:?} is not an HH:mm time (24-hour, 00:00 to 23:59)"
                        ));
                    }
                    Some(text.to_string())
                }
                None => str_of(element, "initial_time").map(str::to_string),
            };
            let empty = time.is_none();
            (json!({"type": kind, "selected_time": time}), empty)
        }
        "multi_users_select" => {
            let users: Vec<String> = match named {
                [] => element
                    .get("initial_users")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                [""] => Vec::new(),
                picked => {
                    let mut users: Vec<String> = Vec::new();
                    for id in picked {
                        if !who.is_user(id) {
                            return refuse(format!(
                                "input {block:?} is a users menu: {id:?} is no user of the workspace"
                            ));
                        }
                        if users.iter().any(|u| u == id) {
                            return refuse(format!(
                                "input {block:?}: {id:?} is picked twice; a menu holds each user once"
                            ));
                        }
                        users.push(id.to_string());
                    }
                    if let Some(max) = element.get("max_selected_items").and_then(Value::as_u64)
                        && users.len() as u64 > max
                    {
                        return refuse(format!(
                            "input {block:?} takes at most {max} users (max_selected_items); Slack's client stops the picking at that (got {})",
                            users.len()
                        ));
                    }
                    users
                }
            };
            let empty = users.is_empty();
            (json!({"type": kind, "selected_users": users}), empty)
        }
        "conversations_select" => {
            let conversation = match one()? {
                Some("") => None,
                Some(id) => {
                    if let Err(why) = who.pickable(element, id) {
                        return refuse(format!("input {block:?}: {why}"));
                    }
                    Some(id.to_string())
                }
                // `initial_conversation` wins over `default_to_current_conversation` (Slack's
                // docs). The current conversation is the one the modal was opened from, known
                // when its trigger came from a slash command or a click on a message; when the
                // emulator does not know it (a trigger minted by `new_trigger_id`), or the
                // filter would not offer it, the menu starts empty.
                None => match str_of(element, "initial_conversation") {
                    Some(id) => Some(id.to_string()),
                    None if element.get("default_to_current_conversation")
                        == Some(&Value::Bool(true)) =>
                    {
                        who.current
                            .filter(|id| who.pickable(element, id).is_ok())
                            .map(str::to_string)
                    }
                    None => None,
                },
            };
            let empty = conversation.is_none();
            (
                json!({"type": kind, "selected_conversation": conversation}),
                empty,
            )
        }
        other => {
            return refuse(format!(
                "input {block:?}: the emulator cannot fill a {other:?} element yet"
            ));
        }
    };
    if empty && !optional {
        return refuse(format!(
            "input {block:?} is required and empty: Slack's client does not submit the form"
        ));
    }
    Ok(state)
}

impl Emulator {
    /// What every `block_actions` payload carries; `channel` is where the click happened, which
    /// a modal opened with its `trigger_id` records.
    fn interaction_base(&self, user: &str, channel: Option<&str>) -> Value {
        let c = self.config();
        json!({
            "type": "block_actions",
            "user": self.user_info(user),
            "api_app_id": c.app_id,
            "token": c.verification_token,
            "trigger_id": self.new_trigger_id_in(channel),
            "team": {"id": c.team_id, "domain": c.team_domain},
            "enterprise": null,
            "is_enterprise_install": false,
        })
    }

    fn posted(&self, channel: &str, ts: &str) -> Result<Message> {
        let messages = self.messages(channel);
        if let Some(found) = messages.iter().find(|m| m.ts == ts) {
            return Ok(found.clone());
        }
        let posted: Vec<(String, String)> = messages
            .into_iter()
            .map(|m| {
                let text: String = m.text.unwrap_or_default().chars().take(40).collect();
                (m.ts, text)
            })
            .collect();
        refuse(format!(
            "the bot posted no message {ts} in {channel}; it posted there: {posted:?}"
        ))
    }

    /// `user` clicks the button `action_id` on the message `ts` the bot posted in `channel`:
    /// the `block_actions` payload Slack sends, with the button's `block_id`, `value` and text,
    /// the message with its blocks, and `state.values` holding each checkboxes element of the
    /// message as it was posted (see [`Emulator::click_ticking`]).
    ///
    /// # Errors
    /// When the bot posted no such message, the message has no button `action_id` (or several:
    /// use [`Emulator::click_value`]), or only another user sees it (an ephemeral message).
    pub fn click(&self, user: &str, channel: &str, ts: &str, action_id: &str) -> Result<Value> {
        self.click_on(user, channel, ts, action_id, None, None)
    }

    /// [`Emulator::click`] on the button `action_id` whose `value` is `value`, for a message
    /// with several buttons of that `action_id`.
    ///
    /// # Errors
    /// As [`Emulator::click`], and when no such button has that value.
    pub fn click_value(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
        value: &str,
    ) -> Result<Value> {
        self.click_on(user, channel, ts, action_id, Some(value), None)
    }

    /// [`Emulator::click`] after `user` ticked the checkbox options whose text is in `ticked`
    /// (and unticked every other option) in the message's checkboxes; `state.values` carries
    /// them, as Slack sends with every click.
    ///
    /// # Errors
    /// As [`Emulator::click`], and when a text in `ticked` is no option of the message.
    pub fn click_ticking(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
        ticked: &[&str],
    ) -> Result<Value> {
        self.click_on(user, channel, ts, action_id, None, Some(ticked))
    }

    fn click_on(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
        value: Option<&str>,
        ticked: Option<&[&str]>,
    ) -> Result<Value> {
        let message = self.posted(channel, ts)?;
        if let Some(only) = message.ephemeral_to.as_deref()
            && only != user
        {
            return refuse(format!(
                "message {ts} in {channel} is ephemeral: only {only} sees it, not {user}"
            ));
        }
        let blocks = message.blocks.clone().unwrap_or(Value::Null);
        let surface = format!("message {ts} in {channel}");
        let (block_id, element) = button(&blocks, action_id, value, &surface)?;
        let state = checkbox_state(&blocks, ticked, &surface)?;
        let c = self.config();
        let mut container = json!({
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": message.ephemeral_to.is_some(),
        });
        let mut payload = self.interaction_base(user, Some(channel));
        if let Some(thread_ts) = &message.thread_ts {
            container["thread_ts"] = json!(thread_ts);
        }
        payload["container"] = container;
        payload["channel"] = json!({"id": channel, "name": self.channel_name(channel)});
        payload["state"] = json!({"values": state});
        // Slack sends the message itself only for a message everyone in the channel sees.
        if message.ephemeral_to.is_none() {
            let mut object = json!({
                "type": "message",
                "user": message.user,
                "bot_id": c.bot_id,
                "app_id": c.app_id,
                "team": c.team_id,
                "text": message.text.clone().unwrap_or_default(),
                "ts": message.ts,
            });
            if let Some(blocks) = &message.blocks {
                object["blocks"] = blocks.clone();
            }
            if let Some(thread_ts) = &message.thread_ts {
                object["thread_ts"] = json!(thread_ts);
            }
            payload["message"] = object;
        }
        payload["response_url"] = json!(self.new_response_url());
        payload["actions"] = json!([button_action(&block_id, &element)]);
        Ok(payload)
    }

    /// `user` clicks the button `action_id` in the Home tab the bot last published for them
    /// (the one whose `value` is `value` when given, for a Home with several such buttons): the
    /// `block_actions` payload with container `view`, the view itself, and no channel, message
    /// or `response_url`, as Slack sends it.
    ///
    /// # Errors
    /// When no Home view was published for `user`, or it has no such button.
    pub fn click_in_home(&self, user: &str, action_id: &str, value: Option<&str>) -> Result<Value> {
        let Some(view) = self
            .views()
            .into_iter()
            .rev()
            .find(|v| v.method == "views.publish" && v.user_id.as_deref() == Some(user))
        else {
            return refuse(format!("the bot published no Home view for {user}"));
        };
        let surface = format!("the Home view of {user}");
        let (block_id, element) = button(&view.view["blocks"], action_id, value, &surface)?;
        let mut payload = self.interaction_base(user, None);
        payload["container"] = json!({"type": "view", "view_id": view.id});
        payload["view"] = view.view;
        payload["actions"] = json!([button_action(&block_id, &element)]);
        Ok(payload)
    }

    /// `user` submits the modal `view_id` (its latest version, as the bot opened or updated
    /// it): the `view_submission` payload, whose `view.state.values` has an entry for every
    /// input block of the view, keyed by the block's and its element's ids.
    ///
    /// `values` names input blocks by `block_id` with what the user typed (a text box) or the
    /// text of the option they picked (a select, radio buttons; checkboxes take one entry per
    /// ticked option; a datepicker takes `YYYY-MM-DD`, a timepicker `HH:mm`; a
    /// `multi_users_select` takes one entry per user id, a `conversations_select` a channel
    /// id). A block not named keeps what the view started with (`initial_value`,
    /// `initial_option`, `initial_time`, `initial_users`, `initial_conversation`, or, for a
    /// `conversations_select` with `default_to_current_conversation`, the conversation the modal
    /// was opened from when the emulator knows it: see [`View::conversation`]); an empty text
    /// clears a text box, a timepicker or a users or conversations menu, which Slack sends as
    /// `null` (`[]` for users).
    ///
    /// # Errors
    /// When the bot opened no such modal, a named block is not one of its inputs, a value does
    /// not fit its element (not an option, a line break in a single-line box, longer than its
    /// `max_length`, a time not `HH:mm`, a user id that is no user of the workspace or more
    /// users than `max_selected_items`, a conversation the workspace lacks or the menu's
    /// `filter` leaves out, ...), or a required input is left empty (Slack's client does not
    /// submit).
    pub fn submit_view(&self, user: &str, view_id: &str, values: &[(&str, &str)]) -> Result<Value> {
        let Some(stored) = self.views().into_iter().rev().find(|v| v.id == view_id) else {
            return refuse(format!("the bot opened no view {view_id}"));
        };
        let View {
            view, conversation, ..
        } = stored;
        let who = Submitter {
            config: self.config(),
            user,
            current: conversation.as_deref(),
        };
        if str_of(&view, "type") != Some("modal") {
            return refuse(format!(
                "view {view_id} is a {}, not a modal: only a modal is submitted",
                str_of(&view, "type").unwrap_or("view without a type")
            ));
        }
        if view.get("submit").is_none_or(Value::is_null) {
            return refuse(format!("modal {view_id} has no submit button"));
        }
        let inputs: Vec<(String, Value, bool)> = view["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, b)| str_of(b, "type") == Some("input"))
            .map(|(position, b)| {
                let optional = b.get("optional").and_then(Value::as_bool) == Some(true);
                (block_id(b, position), b["element"].clone(), optional)
            })
            .collect();
        for (block, _) in values {
            if !inputs.iter().any(|(id, _, _)| id == block) {
                let ids: Vec<&str> = inputs.iter().map(|(id, _, _)| id.as_str()).collect();
                return refuse(format!(
                    "modal {view_id} has no input block {block:?}; its inputs: {ids:?}"
                ));
            }
        }
        let mut state = Map::new();
        for (block, element, optional) in &inputs {
            let named: Vec<&str> = values
                .iter()
                .filter(|(b, _)| b == block)
                .map(|(_, v)| *v)
                .collect();
            let action_id = str_of(element, "action_id").unwrap_or_default().to_string();
            let mut entry = Map::new();
            entry.insert(
                action_id,
                input_state(block, element, &named, *optional, &who)?,
            );
            state.insert(block.clone(), Value::Object(entry));
        }
        let mut view = view;
        view["state"] = json!({"values": state});
        let c = self.config();
        Ok(json!({
            "type": "view_submission",
            "team": {"id": c.team_id, "domain": c.team_domain},
            "user": self.user_info(user),
            "api_app_id": c.app_id,
            "token": c.verification_token,
            "trigger_id": self.new_trigger_id(),
            "view": view,
            "response_urls": [],
            "enterprise": null,
            "is_enterprise_install": false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(text: &str, value: &str) -> Value {
        json!({"text": {"type": "plain_text", "text": text}, "value": value})
    }

    #[test]
    fn checkbox_state_is_keyed_by_block_and_action_and_ticks_by_text() {
        let blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}},
            {"type": "actions", "block_id": "planned", "elements": [
                {"type": "checkboxes", "action_id": "items",
                 "options": [option("Alpha", "a"), option("Beta", "b")],
                 "initial_options": [option("Alpha", "a")]},
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}
            ]}
        ]);
        assert_eq!(
            checkbox_state(&blocks, None, "m").unwrap(),
            json!({"planned": {"items": {"type": "checkboxes", "selected_options": [option("Alpha", "a")]}}})
        );
        assert_eq!(
            checkbox_state(&blocks, Some(&["Beta"]), "m").unwrap(),
            json!({"planned": {"items": {"type": "checkboxes", "selected_options": [option("Beta", "b")]}}})
        );
        let refused = checkbox_state(&blocks, Some(&["b"]), "m").unwrap_err();
        assert!(
            refused.to_string().contains("no checkbox option \"b\""),
            "{refused}"
        );
        assert_eq!(checkbox_state(&json!(null), None, "m").unwrap(), json!({}));
    }

    #[test]
    fn a_button_is_found_only_as_posted() {
        let blocks = json!([
            {"type": "actions", "block_id": "b1", "elements": [
                {"type": "button", "action_id": "edit", "value": "orbit",
                 "text": {"type": "plain_text", "text": "Edit"}},
                {"type": "checkboxes", "action_id": "items", "options": [option("A", "a")]}
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory":
                {"type": "button", "action_id": "edit", "value": "apollo",
                 "text": {"type": "plain_text", "text": "Edit"}}}
        ]);
        let (block, element) = button(&blocks, "edit", Some("apollo"), "m").unwrap();
        assert_eq!(
            (block.as_str(), &element["value"]),
            ("block1", &json!("apollo"))
        );
        let several = button(&blocks, "edit", None, "m").unwrap_err().to_string();
        assert!(several.contains("several"), "{several}");
        let missing = button(&blocks, "skip", None, "m").unwrap_err().to_string();
        assert!(
            missing.contains("[\"edit\", \"items\", \"edit\"]"),
            "{missing}"
        );
        let not_a_button = button(&blocks, "items", None, "m").unwrap_err().to_string();
        assert!(not_a_button.contains("is a checkboxes"), "{not_a_button}");
        let action = button_action(
            "b1",
            &button(&blocks, "edit", Some("orbit"), "m").unwrap().1,
        );
        assert_eq!(action["value"], "orbit");
        assert_eq!(action["block_id"], "b1");
        assert_eq!(action["text"]["text"], "Edit");
    }

    #[test]
    fn inputs_take_only_what_fits_them() {
        let config = EmulatorConfig::default();
        let who = Submitter {
            config: &config,
            user: "U0ADA",
            current: None,
        };
        let text = json!({"type": "plain_text_input", "action_id": "answer", "max_length": 5});
        assert_eq!(
            input_state("b", &text, &["abc"], false, &who).unwrap(),
            json!({"type": "plain_text_input", "value": "abc"})
        );
        assert!(
            input_state("b", &text, &["a\nb"], true, &who).is_err(),
            "single line"
        );
        assert!(
            input_state("b", &text, &["abcdef"], true, &who).is_err(),
            "max_length"
        );
        assert!(
            input_state("b", &text, &[], false, &who).is_err(),
            "required"
        );
        assert_eq!(
            input_state("b", &text, &[""], true, &who).unwrap(),
            json!({"type": "plain_text_input", "value": null})
        );
        let prefilled = json!({"type": "plain_text_input", "action_id": "a", "initial_value": "x"});
        assert_eq!(
            input_state("b", &prefilled, &[], false, &who).unwrap()["value"],
            "x"
        );
        let select = json!({"type": "static_select", "action_id": "s",
            "options": [option("One", "1"), option("Two", "2")]});
        assert_eq!(
            input_state("b", &select, &["Two"], false, &who).unwrap()["selected_option"]["value"],
            "2"
        );
        assert!(
            input_state("b", &select, &["2"], false, &who).is_err(),
            "by text, not value"
        );
        let date = json!({"type": "datepicker", "action_id": "d"});
        assert_eq!(
            input_state("b", &date, &["2026-12-07"], false, &who).unwrap()["selected_date"],
            "2026-12-07"
        );
        assert!(input_state("b", &date, &["7 Dec"], false, &who).is_err());
    }

    /// Ada and Bob, a bot; #standup (public), #leads (private, Ada only), #random (public).
    fn modal_workspace() -> EmulatorConfig {
        use crate::config::{Channel, User};
        EmulatorConfig::default()
            .with_user(User::new("U0ADA", "ada"))
            .with_user(User::new("U0BOB", "bob"))
            .with_channel(Channel::new("C0STANDUP", "standup").members(&["U0ADA", "U0BOB"]))
            .with_channel(Channel::new("G0LEADS", "leads").members(&["U0ADA"]))
            .with_channel(Channel::new("C0RANDOM", "random").without_bot())
    }

    #[test]
    fn a_timepicker_takes_hh_mm() {
        let config = modal_workspace();
        let who = Submitter {
            config: &config,
            user: "U0ADA",
            current: None,
        };
        let time = json!({"type": "timepicker", "action_id": "t"});
        assert_eq!(
            input_state("b", &time, &["09:30"], false, &who).unwrap(),
            json!({"type": "timepicker", "selected_time": "09:30"})
        );
        assert_eq!(
            input_state("b", &time, &["23:59"], false, &who).unwrap()["selected_time"],
            "23:59"
        );
        for bad in ["9:30", "09:30:00", "24:00", "12:60", "9.30am", "0930"] {
            let refused = input_state("b", &time, &[bad], false, &who).unwrap_err();
            assert!(
                refused.to_string().contains("not an HH:mm time"),
                "{bad}: {refused}"
            );
        }
        assert!(
            input_state("b", &time, &[], false, &who).is_err(),
            "required"
        );
        assert_eq!(
            input_state("b", &time, &[], true, &who).unwrap(),
            json!({"type": "timepicker", "selected_time": null})
        );
        let prefilled = json!({"type": "timepicker", "action_id": "t", "initial_time": "10:15",
            "timezone": "Europe/Berlin"});
        assert_eq!(
            input_state("b", &prefilled, &[], false, &who).unwrap(),
            json!({"type": "timepicker", "selected_time": "10:15"})
        );
        assert_eq!(
            input_state("b", &prefilled, &[""], true, &who).unwrap()["selected_time"],
            Value::Null,
            "cleared"
        );
        assert!(
            input_state("b", &prefilled, &["09:00", "10:00"], true, &who).is_err(),
            "one time"
        );
    }

    #[test]
    fn a_users_menu_takes_workspace_users_up_to_its_maximum() {
        let config = modal_workspace();
        let who = Submitter {
            config: &config,
            user: "U0ADA",
            current: None,
        };
        let users = json!({"type": "multi_users_select", "action_id": "u",
            "max_selected_items": 2, "initial_users": ["U0BOB"]});
        assert_eq!(
            input_state("b", &users, &["U0ADA", "U0BOB"], false, &who).unwrap(),
            json!({"type": "multi_users_select", "selected_users": ["U0ADA", "U0BOB"]})
        );
        assert_eq!(
            input_state("b", &users, &[], false, &who).unwrap()["selected_users"],
            json!(["U0BOB"]),
            "as the view started"
        );
        assert_eq!(
            input_state("b", &users, &[""], true, &who).unwrap(),
            json!({"type": "multi_users_select", "selected_users": []}),
            "cleared"
        );
        assert!(
            input_state("b", &users, &[""], false, &who).is_err(),
            "required"
        );
        let unknown = input_state("b", &users, &["U0NOBODY"], false, &who).unwrap_err();
        assert!(
            unknown.to_string().contains("no user of the workspace"),
            "{unknown}"
        );
        let too_many =
            input_state("b", &users, &["U0ADA", "U0BOB", "U0BOTUSER"], false, &who).unwrap_err();
        assert!(
            too_many.to_string().contains("at most 2 users"),
            "{too_many}"
        );
        let twice = input_state("b", &users, &["U0ADA", "U0ADA"], false, &who).unwrap_err();
        assert!(twice.to_string().contains("picked twice"), "{twice}");
    }

    #[test]
    fn a_conversations_menu_takes_what_its_filter_offers() {
        let config = modal_workspace();
        let who = Submitter {
            config: &config,
            user: "U0ADA",
            current: None,
        };
        let any = json!({"type": "conversations_select", "action_id": "c"});
        assert_eq!(
            input_state("b", &any, &["C0STANDUP"], false, &who).unwrap(),
            json!({"type": "conversations_select", "selected_conversation": "C0STANDUP"})
        );
        assert_eq!(
            input_state("b", &any, &["G0LEADS"], false, &who).unwrap()["selected_conversation"],
            "G0LEADS"
        );
        assert_eq!(
            input_state("b", &any, &["D0ADA"], false, &who).unwrap()["selected_conversation"],
            "D0ADA",
            "Ada's DM with the bot"
        );
        let unknown = input_state("b", &any, &["C0NOWHERE"], false, &who).unwrap_err();
        assert!(unknown.to_string().contains("no conversation"), "{unknown}");
        let bob = Submitter {
            config: &config,
            user: "U0BOB",
            current: None,
        };
        let hidden = input_state("b", &any, &["G0LEADS"], false, &bob).unwrap_err();
        assert!(hidden.to_string().contains("private channel"), "{hidden}");
        assert_eq!(
            input_state("b", &any, &[], true, &who).unwrap(),
            json!({"type": "conversations_select", "selected_conversation": null})
        );

        let public_only = json!({"type": "conversations_select", "action_id": "c",
            "filter": {"include": ["public"], "exclude_bot_users": true}});
        assert!(input_state("b", &public_only, &["C0RANDOM"], false, &who).is_ok());
        let private = input_state("b", &public_only, &["G0LEADS"], false, &who).unwrap_err();
        assert!(private.to_string().contains("includes only"), "{private}");
        let bots = json!({"type": "conversations_select", "action_id": "c",
            "filter": {"exclude_bot_users": true}});
        let dm = input_state("b", &bots, &["D0ADA"], false, &who).unwrap_err();
        assert!(dm.to_string().contains("exclude_bot_users"), "{dm}");
    }

    #[test]
    fn a_conversations_menu_starts_with_the_current_conversation_when_known() {
        let config = modal_workspace();
        let from_standup = Submitter {
            config: &config,
            user: "U0ADA",
            current: Some("C0STANDUP"),
        };
        let unknown = Submitter {
            config: &config,
            user: "U0ADA",
            current: None,
        };
        let current = json!({"type": "conversations_select", "action_id": "c",
            "default_to_current_conversation": true});
        assert_eq!(
            input_state("b", &current, &[], false, &from_standup).unwrap()["selected_conversation"],
            "C0STANDUP"
        );
        // Not known (a trigger minted on its own): the menu starts empty.
        assert!(
            input_state("b", &current, &[], false, &unknown).is_err(),
            "required"
        );
        // initial_conversation wins; a filter that leaves the current one out leaves it empty.
        let initial = json!({"type": "conversations_select", "action_id": "c",
            "default_to_current_conversation": true, "initial_conversation": "C0RANDOM"});
        assert_eq!(
            input_state("b", &initial, &[], false, &from_standup).unwrap()["selected_conversation"],
            "C0RANDOM"
        );
        let dms_only = json!({"type": "conversations_select", "action_id": "c",
            "default_to_current_conversation": true, "filter": {"include": ["im"]}});
        assert_eq!(
            input_state("b", &dms_only, &[], true, &from_standup).unwrap()["selected_conversation"],
            Value::Null
        );
    }
}
