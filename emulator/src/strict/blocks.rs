//! Block Kit and view rules: Slack refuses a message whose blocks break them with
//! `invalid_blocks`, and a view with `invalid_arguments`, each problem named by a JSON pointer.
//!
//! | limit | value | source |
//! | --- | --- | --- |
//! | blocks in a message | 50 | docs.slack.dev/reference/block-kit/blocks ("up to 50 blocks in each message") |
//! | blocks in a modal / Home tab | 100 | docs.slack.dev/reference/views ; python-slack-sdk `View.blocks_max_length = 100` |
//! | `block_id` | 255, unique in the message or view | docs.slack.dev/reference/block-kit/blocks ; sdk `Block.block_id_max_length = 255` |
//! | `action_id` | 255, unique in its block ("Should be unique among all other action_ids in the containing block") | docs.slack.dev/reference/block-kit/block-elements/checkboxes-element, button-element ; sdk `InteractiveElement.action_id_max_length = 255` |
//! | section `text` | 1–3000 | docs.slack.dev/reference/block-kit/blocks/section-block ; sdk `SectionBlock.text_max_length = 3000` |
//! | section `fields` | ≤ 10 items, each text ≤ 2000 | section-block page ; sdk `SectionBlock.fields_max_length = 10` |
//! | section | `text` or `fields` required | section-block page |
//! | context `elements` | ≤ 10, text ≤ 3000 | docs.slack.dev/reference/block-kit/blocks/context-block ; sdk `ContextBlock.elements_max_length = 10` |
//! | actions `elements` | ≤ 25 | docs.slack.dev/reference/block-kit/blocks/actions-block ; sdk `ActionsBlock.elements_max_length = 25` |
//! | header `text` | plain_text, ≤ 150 | docs.slack.dev/reference/block-kit/blocks/header-block ; sdk `HeaderBlock.text_max_length = 150` |
//! | input `label` / `hint` | plain_text, ≤ 2000 | docs.slack.dev/reference/block-kit/blocks/input-block ; sdk `InputBlock.label_max_length = 2000` |
//! | button `text` / `value` / `url` | plain_text ≤ 75 / ≤ 2000 / ≤ 3000 | docs.slack.dev/reference/block-kit/block-elements/button-element ; sdk `ButtonElement` |
//! | option `text` / `value` | 1–75 / ≤ 150 | docs.slack.dev/reference/block-kit/composition-objects/option-object ; sdk `Option.label_max_length = 75`, `value_max_length = 150` |
//! | checkboxes / radio_buttons `options` | ≤ 10 | checkboxes-element and radio-button-group-element pages |
//! | static_select `options` | ≤ 100 | select-menu-element page ; sdk `StaticSelectElement.options_max_length = 100` |
//! | overflow `options` | 1–5 | overflow-menu-element page ; sdk `OverflowMenuElement` |
//! | plain_text_input `initial_value` / `max_length` / `min_length` | ≤ 3000 | docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element |
//! | static_select / multi_static_select `initial_option(s)` | each "exactly matches one of the options within options or option_groups" (the whole option object) | select-menu-element and multi-select-menu-element pages |
//! | radio_buttons `initial_option`, checkboxes `initial_options` | each exactly matches one of `options` | radio-button-group-element and checkboxes-element pages |
//! | timepicker `initial_time` | `HH:mm`, 24-hour: HH 00–23, mm 00–59 ("for example 22:25 for 10:25pm"); `timezone` a string | docs.slack.dev/reference/block-kit/block-elements/time-picker-element ; sdk `TimePickerElement._validate_initial_time_valid` |
//! | multi_users_select `initial_users` / `max_selected_items` | an array of user ids / an integer ≥ 1 ("Minimum number is 1") | docs.slack.dev/reference/block-kit/block-elements/multi-select-menu-element#users_multi_select ; sdk `UserMultiSelectElement` |
//! | conversations_select `initial_conversation` / `default_to_current_conversation` | a conversation id / a boolean | docs.slack.dev/reference/block-kit/block-elements/select-menu-element#conversations_select ; sdk `ConversationSelectElement` |
//! | conversations_select `response_url_enabled` | "only works with menus in input blocks in modals" | select-menu-element page ; sdk `ConversationSelectElement` docstring |
//! | conversation filter | `include` a non-empty array of `im`, `mpim`, `private`, `public`; `exclude_bot_users`, `exclude_external_shared_channels` booleans; at least one of the three | docs.slack.dev/reference/block-kit/composition-objects/conversation-filter-object ; sdk `ConversationFilter` |
//! | text object | `type` plain_text or mrkdwn, `text` required | docs.slack.dev/reference/block-kit/composition-objects/text-object |
//! | modal `title` / `submit` / `close` | plain_text ≤ 24; `submit` required with an input block | docs.slack.dev/reference/views ; sdk `View.title_max_length = 24` |
//! | view `private_metadata` / `callback_id` / `external_id` | ≤ 3000 / ≤ 255 / ≤ 255 | docs.slack.dev/reference/views ; sdk `View.private_metadata_max_length = 3000` |
//!
//! The messages copy the shape of Slack's answers (`must be less than 3001 characters`,
//! `no more than 50 items allowed`), each followed by `[json-pointer:/blocks/0/text/text]`.

use serde_json::Value;
use std::collections::HashSet;

/// One broken rule, at a JSON pointer into the request (`/blocks/0/text/text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub pointer: String,
    pub message: String,
}

impl Problem {
    /// As Slack words it in `errors` / `response_metadata.messages` (without `[ERROR] `).
    pub fn slack_message(&self) -> String {
        format!("{} [json-pointer:{}]", self.message, self.pointer)
    }
}

/// Where blocks are shown, which decides how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    Message,
    View,
}

/// Checks a surface's blocks and gathers the mrkdwn texts in them (pointer, text) for the lint.
pub(crate) struct Walker {
    pub problems: Vec<Problem>,
    pub mrkdwn: Vec<(String, String)>,
    block_ids: HashSet<String>,
    action_ids: HashSet<String>,
    /// Walking a modal (not a Home tab or a message).
    modal: bool,
    /// Walking the element of an `input` block.
    in_input: bool,
}

const BLOCK_TYPES: &[&str] = &[
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
    "table",
    "call",
];

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The kinds of conversation a conversation filter's `include` may name.
const CONVERSATION_KINDS: &[&str] = &["im", "mpim", "private", "public"];

/// `HH:mm` on a 24-hour clock (`00:00` to `23:59`), as a timepicker's `initial_time` and
/// `selected_time` are written.
pub(crate) fn is_hh_mm(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
        && (b[0] - b'0') * 10 + (b[1] - b'0') < 24
        && b[3] < b'6'
}

impl Walker {
    pub fn new() -> Walker {
        Walker {
            problems: Vec::new(),
            mrkdwn: Vec::new(),
            block_ids: HashSet::new(),
            action_ids: HashSet::new(),
            modal: false,
            in_input: false,
        }
    }

    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.to_string(),
            message: message.into(),
        });
    }

    fn max_chars(&mut self, pointer: &str, value: &str, max: usize) {
        if chars(value) > max {
            self.problem(pointer, format!("must be less than {} characters", max + 1));
        }
    }

    fn max_items(&mut self, pointer: &str, items: &[Value], max: usize) {
        if items.len() > max {
            self.problem(pointer, format!("no more than {max} items allowed"));
        }
    }

    fn string_field(&mut self, object: &Value, key: &str, pointer: &str, max: usize) {
        match object.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => self.max_chars(&format!("{pointer}/{key}"), s, max),
            Some(_) => self.problem(&format!("{pointer}/{key}"), "must be a string"),
        }
    }

    fn unique(&mut self, pointer: &str, key: &str, id: &str) {
        let seen = if key == "block_id" {
            &mut self.block_ids
        } else {
            &mut self.action_ids
        };
        if !seen.insert(id.to_string()) {
            self.problem(
                &format!("{pointer}/{key}"),
                format!("{key} must be unique: {id:?} is used twice"),
            );
        }
    }

    /// A text object: `{type: plain_text|mrkdwn, text}` with `min..=max` characters.
    fn text_object(
        &mut self,
        object: Option<&Value>,
        pointer: &str,
        plain_only: bool,
        min: usize,
        max: usize,
    ) {
        let Some(object) = object else {
            self.problem(pointer, "missing required field: text object");
            return;
        };
        let kind = object.get("type").and_then(Value::as_str);
        match kind {
            None => self.problem(pointer, "missing required field: type"),
            Some("plain_text") => {}
            Some("mrkdwn") if !plain_only => {}
            Some(other) => self.problem(
                &format!("{pointer}/type"),
                format!(
                    "must be {}: {other:?}",
                    if plain_only {
                        "plain_text"
                    } else {
                        "plain_text or mrkdwn"
                    }
                ),
            ),
        }
        let text_pointer = format!("{pointer}/text");
        match object.get("text").and_then(Value::as_str) {
            None => self.problem(pointer, "missing required field: text"),
            Some(text) => {
                if chars(text) < min {
                    self.problem(
                        &text_pointer,
                        format!("must be more than {} characters", min - 1),
                    );
                }
                self.max_chars(&text_pointer, text, max);
                if kind == Some("mrkdwn") {
                    self.mrkdwn.push((text_pointer, text.to_string()));
                }
            }
        }
    }

    /// A surface's `blocks` array at `pointer` (`/blocks` or `/view/blocks`).
    pub fn blocks(&mut self, blocks: &Value, pointer: &str, surface: Surface) {
        let Some(list) = blocks.as_array() else {
            self.problem(pointer, "must be an array");
            return;
        };
        let max = match surface {
            Surface::Message => 50,
            Surface::View => 100,
        };
        self.max_items(pointer, list, max);
        for (i, block) in list.iter().enumerate() {
            self.block(block, &format!("{pointer}/{i}"));
        }
    }

    fn block(&mut self, block: &Value, p: &str) {
        // action_ids need only differ within a block: a modal's inputs may share one.
        self.action_ids.clear();
        if !block.is_object() {
            self.problem(p, "must provide an object");
            return;
        }
        if let Some(id) = block.get("block_id").and_then(Value::as_str) {
            self.max_chars(&format!("{p}/block_id"), id, 255);
            self.unique(p, "block_id", id);
        }
        let Some(kind) = block.get("type").and_then(Value::as_str) else {
            self.problem(p, "missing required field: type");
            return;
        };
        match kind {
            "section" => {
                let (text, fields) = (block.get("text"), block.get("fields"));
                if text.is_none() && fields.is_none() {
                    self.problem(p, "must provide either text or fields");
                }
                if text.is_some() {
                    self.text_object(text, &format!("{p}/text"), false, 1, 3000);
                }
                if let Some(fields) = fields {
                    let list = fields.as_array().cloned().unwrap_or_default();
                    self.max_items(&format!("{p}/fields"), &list, 10);
                    for (i, f) in list.iter().enumerate() {
                        self.text_object(Some(f), &format!("{p}/fields/{i}"), false, 1, 2000);
                    }
                }
                if let Some(accessory) = block.get("accessory") {
                    self.element(accessory, &format!("{p}/accessory"));
                }
            }
            "header" => self.text_object(block.get("text"), &format!("{p}/text"), true, 1, 150),
            "context" => {
                let list = block["elements"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    self.problem(p, "missing required field: elements");
                }
                self.max_items(&format!("{p}/elements"), &list, 10);
                for (i, e) in list.iter().enumerate() {
                    let ep = format!("{p}/elements/{i}");
                    match e.get("type").and_then(Value::as_str) {
                        Some("plain_text" | "mrkdwn") => {
                            self.text_object(Some(e), &ep, false, 1, 3000);
                        }
                        Some("image") => {}
                        _ => self.problem(&ep, "must be a text object or an image element"),
                    }
                }
            }
            "actions" => {
                let list = block["elements"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    self.problem(p, "missing required field: elements");
                }
                self.max_items(&format!("{p}/elements"), &list, 25);
                for (i, e) in list.iter().enumerate() {
                    self.element(e, &format!("{p}/elements/{i}"));
                }
            }
            "input" => {
                self.text_object(block.get("label"), &format!("{p}/label"), true, 1, 2000);
                if let Some(hint) = block.get("hint") {
                    self.text_object(Some(hint), &format!("{p}/hint"), true, 1, 2000);
                }
                match block.get("element") {
                    Some(e) => {
                        self.in_input = true;
                        self.element(e, &format!("{p}/element"));
                        self.in_input = false;
                    }
                    None => self.problem(p, "missing required field: element"),
                }
            }
            "image" => {
                self.string_field(block, "image_url", p, 3000);
                self.string_field(block, "alt_text", p, 2000);
            }
            k if BLOCK_TYPES.contains(&k) => {}
            other => self.problem(
                &format!("{p}/type"),
                format!("unsupported block type: {other:?}"),
            ),
        }
    }

    fn options(&mut self, element: &Value, p: &str, max: usize, min: usize) {
        let list = element["options"].as_array().cloned().unwrap_or_default();
        if list.len() < min {
            self.problem(
                &format!("{p}/options"),
                format!("must provide at least {min} items"),
            );
        }
        self.max_items(&format!("{p}/options"), &list, max);
        for (i, o) in list.iter().enumerate() {
            self.option(o, &format!("{p}/options/{i}"));
        }
        for (i, o) in element["initial_options"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.option(o, &format!("{p}/initial_options/{i}"));
        }
        if let Some(o) = element.get("initial_option") {
            self.option(o, &format!("{p}/initial_option"));
        }
    }

    fn option(&mut self, option: &Value, p: &str) {
        self.text_object(option.get("text"), &format!("{p}/text"), false, 1, 75);
        match option.get("value").and_then(Value::as_str) {
            Some(v) => self.max_chars(&format!("{p}/value"), v, 150),
            None => self.problem(p, "missing required field: value"),
        }
        if let Some(d) = option.get("description") {
            self.text_object(Some(d), &format!("{p}/description"), false, 1, 75);
        }
    }

    fn element(&mut self, element: &Value, p: &str) {
        if let Some(id) = element.get("action_id").and_then(Value::as_str) {
            self.max_chars(&format!("{p}/action_id"), id, 255);
            self.unique(p, "action_id", id);
        }
        let Some(kind) = element.get("type").and_then(Value::as_str) else {
            self.problem(p, "missing required field: type");
            return;
        };
        match kind {
            "button" => {
                self.text_object(element.get("text"), &format!("{p}/text"), true, 1, 75);
                self.string_field(element, "value", p, 2000);
                self.string_field(element, "url", p, 3000);
            }
            "checkboxes" | "radio_buttons" => {
                self.options(element, p, 10, 1);
                self.initial_among_options(element, p);
            }
            "static_select" | "multi_static_select" => {
                if element.get("option_groups").is_none() {
                    self.options(element, p, 100, 1);
                }
                self.initial_among_options(element, p);
            }
            "timepicker" => {
                match element.get("initial_time") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(t)) if is_hh_mm(t) => {}
                    Some(_) => self.problem(
                        &format!("{p}/initial_time"),
                        "must be a time in the format HH:mm (24-hour, 00:00 to 23:59)",
                    ),
                }
                self.string_field(element, "timezone", p, usize::MAX);
            }
            "multi_users_select" => {
                match element.get("initial_users") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(users)) => {
                        for (i, u) in users.iter().enumerate() {
                            if u.as_str().is_none_or(str::is_empty) {
                                self.problem(
                                    &format!("{p}/initial_users/{i}"),
                                    "must be a user id string",
                                );
                            }
                        }
                    }
                    Some(_) => self.problem(
                        &format!("{p}/initial_users"),
                        "must be an array of user ids",
                    ),
                }
                self.max_selected_items(element, p);
            }
            "conversations_select" => self.conversations_select(element, p),
            "overflow" => self.options(element, p, 5, 1),
            "plain_text_input" => {
                self.string_field(element, "initial_value", p, 3000);
                for key in ["max_length", "min_length"] {
                    if let Some(n) = element.get(key).and_then(Value::as_u64) {
                        if n > 3000 {
                            self.problem(
                                &format!("{p}/{key}"),
                                "must be less than or equal to 3000",
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(placeholder) = element.get("placeholder") {
            self.text_object(Some(placeholder), &format!("{p}/placeholder"), true, 1, 150);
        }
    }

    /// `max_selected_items` of a multi-select: an integer, at least 1.
    fn max_selected_items(&mut self, element: &Value, p: &str) {
        match element.get("max_selected_items") {
            None | Some(Value::Null) => {}
            Some(n) if n.as_u64().is_some_and(|n| n >= 1) => {}
            Some(n) if n.is_i64() => self.problem(
                &format!("{p}/max_selected_items"),
                "must be greater than or equal to 1",
            ),
            Some(_) => self.problem(&format!("{p}/max_selected_items"), "must be an integer"),
        }
    }

    /// Each `initial_option` / `initial_options` entry must be one of the element's options
    /// (Slack: "exactly matches one of the options within options or option_groups"): the
    /// whole option object, as the page says "exactly". No field is set aside: no Slack page or
    /// official SDK says one is.
    fn initial_among_options(&mut self, element: &Value, p: &str) {
        let all: Vec<&Value> = element["options"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                element["option_groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g["options"].as_array())
                    .flatten(),
            )
            .collect();
        let mut initial: Vec<(String, &Value)> = Vec::new();
        if let Some(o) = element.get("initial_option").filter(|o| o.is_object()) {
            initial.push((format!("{p}/initial_option"), o));
        }
        for (i, o) in element["initial_options"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            initial.push((format!("{p}/initial_options/{i}"), o));
        }
        for (pointer, o) in initial {
            if !all.contains(&o) {
                self.problem(&pointer, "must exactly match one of the options");
            }
        }
    }

    /// A `conversations_select`: its initial conversation, its booleans, where
    /// `response_url_enabled` may be, and its filter.
    fn conversations_select(&mut self, element: &Value, p: &str) {
        match element.get("initial_conversation") {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) if !id.is_empty() => {}
            Some(_) => self.problem(
                &format!("{p}/initial_conversation"),
                "must be a conversation id string",
            ),
        }
        for key in ["default_to_current_conversation", "response_url_enabled"] {
            if element.get(key).is_some_and(|v| !v.is_boolean()) {
                self.problem(&format!("{p}/{key}"), "must be a boolean");
            }
        }
        if element.get("response_url_enabled") == Some(&Value::Bool(true))
            && !(self.modal && self.in_input)
        {
            self.problem(
                &format!("{p}/response_url_enabled"),
                "is only allowed in input blocks of modals",
            );
        }
        let Some(filter) = element.get("filter") else {
            return;
        };
        let fp = format!("{p}/filter");
        let Some(object) = filter.as_object() else {
            self.problem(&fp, "must provide an object");
            return;
        };
        if ![
            "include",
            "exclude_bot_users",
            "exclude_external_shared_channels",
        ]
        .iter()
        .any(|k| object.contains_key(*k))
        {
            self.problem(
                &fp,
                "must provide at least one of include, exclude_bot_users, exclude_external_shared_channels",
            );
        }
        for key in ["exclude_bot_users", "exclude_external_shared_channels"] {
            if object.get(key).is_some_and(|v| !v.is_boolean()) {
                self.problem(&format!("{fp}/{key}"), "must be a boolean");
            }
        }
        match object.get("include") {
            None => {}
            Some(Value::Array(kinds)) if kinds.is_empty() => {
                self.problem(&format!("{fp}/include"), "must provide at least 1 items");
            }
            Some(Value::Array(kinds)) => {
                for (i, kind) in kinds.iter().enumerate() {
                    if !kind
                        .as_str()
                        .is_some_and(|k| CONVERSATION_KINDS.contains(&k))
                    {
                        self.problem(
                            &format!("{fp}/include/{i}"),
                            format!("must be one of {CONVERSATION_KINDS:?}: {kind}"),
                        );
                    }
                }
            }
            Some(_) => self.problem(&format!("{fp}/include"), "must be an array"),
        }
    }

    /// A view (`views.open` / `update` / `publish`) at `/view`.
    pub fn view(&mut self, view: &Value) {
        let p = "/view";
        let kind = view.get("type").and_then(Value::as_str);
        match kind {
            Some("modal") => {
                self.modal = true;
                self.text_object(view.get("title"), "/view/title", true, 1, 24);
                for key in ["submit", "close"] {
                    if let Some(t) = view.get(key) {
                        self.text_object(Some(t), &format!("/view/{key}"), true, 1, 24);
                    }
                }
                let has_input = view["blocks"]
                    .as_array()
                    .is_some_and(|b| b.iter().any(|b| b["type"] == "input"));
                if has_input && view.get("submit").is_none() {
                    self.problem(
                        p,
                        "missing required field: submit (the view has an input block)",
                    );
                }
            }
            Some("home") => {}
            Some(other) => self.problem("/view/type", format!("unsupported view type: {other:?}")),
            None => self.problem(p, "missing required field: type"),
        }
        self.string_field(view, "private_metadata", p, 3000);
        self.string_field(view, "callback_id", p, 255);
        self.string_field(view, "external_id", p, 255);
        match view.get("blocks") {
            Some(blocks) => self.blocks(blocks, "/view/blocks", Surface::View),
            None => self.problem(p, "missing required field: blocks"),
        }
    }
}
