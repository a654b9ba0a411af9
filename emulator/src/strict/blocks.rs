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

impl Walker {
    pub fn new() -> Walker {
        Walker {
            problems: Vec::new(),
            mrkdwn: Vec::new(),
            block_ids: HashSet::new(),
            action_ids: HashSet::new(),
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
                    Some(e) => self.element(e, &format!("{p}/element")),
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
            "checkboxes" | "radio_buttons" => self.options(element, p, 10, 1),
            "static_select" | "multi_static_select" if element.get("option_groups").is_none() => {
                self.options(element, p, 100, 1);
            }
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

    /// A view (`views.open` / `update` / `publish`) at `/view`.
    pub fn view(&mut self, view: &Value) {
        let p = "/view";
        let kind = view.get("type").and_then(Value::as_str);
        match kind {
            Some("modal") => {
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
