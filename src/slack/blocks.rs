//! Block Kit builders that keep Slack's limits, so a long update is split, never refused.
//!
//! Each limit is Slack's, from its Block Kit reference (<https://docs.slack.dev/reference/block-kit/>)
//! and the validators of Slack's Python SDK (`slack_sdk/models/blocks`, `slack_sdk/models/views`);
//! `docs/SLACK.md` lists them per surface with what the bot does at each. Long mrkdwn is split
//! across section blocks at line boundaries; text is clipped only where a surface has no room
//! for more (a header, a checkbox option, a button, a modal title), with "…".
//!
//! Lengths are counted in UTF-16 code units, which is never less than Slack's count in
//! characters, so a text that fits here fits in Slack.

use serde_json::{Value, json};

/// Blocks in one message.
pub const MESSAGE_BLOCKS: usize = 50;
/// Blocks in a modal or the Home tab.
pub const VIEW_BLOCKS: usize = 100;
/// A section block's text.
pub const SECTION_TEXT: usize = 3000;
/// A context block's text element.
pub const CONTEXT_TEXT: usize = 3000;
/// A header block's text.
pub const HEADER_TEXT: usize = 150;
/// A button's text.
pub const BUTTON_TEXT: usize = 75;
/// A button's value.
pub const BUTTON_VALUE: usize = 2000;
/// An option's text (checkboxes), at least one character.
pub const OPTION_TEXT: usize = 75;
/// An option's value.
pub const OPTION_VALUE: usize = 150;
/// Options in one checkboxes element.
pub const CHECKBOX_OPTIONS: usize = 10;
/// A `plain_text_input`'s `initial_value` (and its `max_length`).
pub const INPUT_VALUE: usize = 3000;
/// An input block's label.
pub const INPUT_LABEL: usize = 2000;
/// A modal's title, submit and close texts.
pub const VIEW_TITLE: usize = 24;
/// A message's top-level `text`.
pub const MESSAGE_TEXT: usize = 40_000;

/// The length Slack's limits are checked against (see the module docs).
pub fn length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` cut to at most `max` (the "…" included); unchanged when it fits.
pub fn clip(text: &str, max: usize) -> String {
    if length(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + c.len_utf16() + 1 > max {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    let mut out = out.trim_end().to_string();
    out.push('…');
    out
}

/// Mrkdwn `text` in pieces of at most `max`: whole lines when they fit, a longer line cut at a
/// space (else anywhere) but never inside a `<…>` token or an `&…;` entity.
pub fn split_mrkdwn(text: &str, max: usize) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    // The piece's length so far, kept as lines are added: measuring the piece again for each
    // line made a long update quadratic (65,000 characters took seconds).
    let mut current_len = 0;
    for line in text.split('\n') {
        let mut line = line;
        loop {
            let line_len = length(line);
            let joined = if current.is_empty() {
                line_len
            } else {
                current_len + 1 + line_len
            };
            if joined <= max {
                if !current.is_empty() {
                    current.push('\n');
                }
                current.push_str(line);
                current_len = joined;
                break;
            }
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
                current_len = 0;
                continue;
            }
            // One line longer than a piece.
            let cut = cut_point(line, max);
            pieces.push(line[..cut].to_string());
            line = &line[cut..];
        }
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Where to cut `line` so the first part is at most `max` long: the last space that is outside
/// a token and an entity, else the last safe character boundary.
fn cut_point(line: &str, max: usize) -> usize {
    let mut used = 0;
    let mut last_fit = 0;
    let mut last_space = None;
    let mut in_token = false;
    let mut entity_from = None;
    for (i, c) in line.char_indices() {
        if used + c.len_utf16() > max {
            break;
        }
        let safe = !in_token && entity_from.is_none();
        if safe {
            last_fit = i;
            if c == ' ' && i > 0 {
                last_space = Some(i);
            }
        }
        match c {
            '<' => in_token = true,
            '>' => in_token = false,
            '&' if !in_token => entity_from = Some(i),
            ';' => entity_from = None,
            _ => {}
        }
        if entity_from.is_some_and(|from| i - from > 6) {
            entity_from = None;
        }
        used += c.len_utf16();
    }
    let cut = last_space.unwrap_or(last_fit);
    if cut == 0 {
        // A token longer than a piece (a URL of 3,000 characters): cut it anyway.
        let mut used = 0;
        for (i, c) in line.char_indices() {
            if used + c.len_utf16() > max {
                return i.max(c.len_utf8());
            }
            used += c.len_utf16();
        }
        return line.len();
    }
    cut
}

/// A section block with mrkdwn `text`, which must fit (see [`sections`] for text that may not).
pub fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}})
}

/// Mrkdwn `text` as as many section blocks as it needs, split at line boundaries.
pub fn sections(text: &str) -> Vec<Value> {
    split_mrkdwn(text, SECTION_TEXT)
        .into_iter()
        .filter(|piece| !piece.trim().is_empty())
        .map(|piece| section(&piece))
        .collect()
}

/// A context block with one mrkdwn element.
pub fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, CONTEXT_TEXT)}]})
}

/// A header block: `plain` clipped to Slack's 150 characters.
pub fn header(plain: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": clip(plain, HEADER_TEXT), "emoji": true}})
}

/// A button: its text clipped to 75; its value (the bot's own) must fit in 2,000.
pub fn button(action_id: &str, text: &str, value: &str) -> Value {
    debug_assert!(length(value) <= BUTTON_VALUE, "button value too long");
    json!({"type": "button", "action_id": action_id,
           "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT), "emoji": true},
           "value": value})
}

/// A checkbox option: `plain` clipped to 75, never empty (`fallback` when it is); the value (the
/// bot's own) must fit in 150.
pub fn option(plain: &str, fallback: &str, value: &str) -> Value {
    debug_assert!(length(value) <= OPTION_VALUE, "option value too long");
    let plain = plain.trim();
    let text = if plain.is_empty() { fallback } else { plain };
    json!({"text": {"type": "plain_text", "text": clip(text, OPTION_TEXT), "emoji": true}, "value": value})
}

/// A button in the primary style (one per set of choices: the likely one).
pub fn primary(mut button: Value) -> Value {
    button["style"] = json!("primary");
    button
}

/// An actions block holding `elements` (buttons, checkboxes); `block_id` when the bot reads the
/// block's state back from a click.
pub fn actions(block_id: Option<&str>, elements: Vec<Value>) -> Value {
    let mut block = json!({"type": "actions", "elements": elements});
    if let Some(id) = block_id {
        block["block_id"] = json!(id);
    }
    block
}

/// A divider block.
pub fn divider() -> Value {
    json!({"type": "divider"})
}

/// A checkboxes element with at most Slack's 10 options (the caller says what is left out).
pub fn checkboxes(action_id: &str, mut options: Vec<Value>) -> Value {
    options.truncate(CHECKBOX_OPTIONS);
    json!({"type": "checkboxes", "action_id": action_id, "options": options})
}

/// An optional input block with a multiline text box of at most 3,000 characters, prefilled
/// with `initial` when there is one (Slack refuses an `initial_value` longer than the box, so
/// the caller splits long text over several boxes).
pub fn text_box(block_id: &str, label: &str, action_id: &str, initial: &str) -> Value {
    debug_assert!(
        length(initial) <= INPUT_VALUE,
        "initial value longer than the box"
    );
    let mut element = json!({
        "type": "plain_text_input", "action_id": action_id, "multiline": true,
        "max_length": INPUT_VALUE,
        "placeholder": {"type": "plain_text", "text": "One item per line"}
    });
    if !initial.is_empty() {
        element["initial_value"] = json!(initial);
    }
    json!({
        "type": "input",
        "block_id": block_id,
        "optional": true,
        "label": {"type": "plain_text", "text": clip(label, INPUT_LABEL)},
        "element": element
    })
}

/// A modal view: `callback_id` names it when submitted, `meta` comes back with the submission;
/// no *submit* button when `submit` is `None` (a view with nothing to save). At most 100 blocks:
/// the caller decides what to show instead of more.
pub fn modal(
    callback_id: &str,
    meta: &str,
    title: &str,
    submit: Option<&str>,
    close: &str,
    blocks: Vec<Value>,
) -> Value {
    debug_assert!(blocks.len() <= VIEW_BLOCKS, "more blocks than a view holds");
    let mut view = json!({
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": meta,
        "title": view_text(title),
        "close": view_text(close),
        "blocks": blocks
    });
    if let Some(submit) = submit {
        view["submit"] = view_text(submit);
    }
    view
}

/// The App Home view with `blocks` (at most 100: see [`fit`]).
pub fn home(blocks: Vec<Value>) -> Value {
    debug_assert!(blocks.len() <= VIEW_BLOCKS, "more blocks than a view holds");
    json!({"type": "home", "blocks": blocks})
}

/// Blocks in messages of at most 50 each, in order.
pub fn per_message(blocks: Vec<Value>) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = Vec::new();
    for block in blocks {
        match out.last_mut() {
            Some(last) if last.len() < MESSAGE_BLOCKS => last.push(block),
            _ => out.push(vec![block]),
        }
    }
    out
}

/// At most `max` blocks: when there are more, the first `max - 1` and a context block saying
/// what `note` says (where the rest can be read).
pub fn fit(mut blocks: Vec<Value>, max: usize, note: &str) -> Vec<Value> {
    if blocks.len() <= max {
        return blocks;
    }
    let left = blocks.len() - (max - 1);
    blocks.truncate(max - 1);
    blocks.push(context(&format!(
        ":scissors: {left} more block{} not shown here (Slack's limit is {max}): {note}",
        if left == 1 { "" } else { "s" }
    )));
    blocks
}

/// A message's `text`: when it has blocks, only the notification and fallback; clipped to
/// Slack's 40,000 characters with `note` (where the full text is).
pub fn message_text(text: &str, note: &str) -> String {
    if length(text) <= MESSAGE_TEXT {
        return text.to_string();
    }
    let tail = format!("\n… (clipped at Slack's limit; {note})");
    let pieces = split_mrkdwn(text, MESSAGE_TEXT - length(&tail));
    format!("{}{tail}", pieces[0])
}

/// A modal's title, submit or close text: plain text clipped to 24.
pub fn view_text(plain: &str) -> Value {
    json!({"type": "plain_text", "text": clip(plain, VIEW_TITLE)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Value]) -> Vec<String> {
        blocks
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn clipping_keeps_the_limit_and_says_so() {
        assert_eq!(clip("short", 75), "short");
        let long = "x".repeat(151);
        let clipped = clip(&long, HEADER_TEXT);
        assert_eq!(length(&clipped), HEADER_TEXT);
        assert!(clipped.ends_with('…'));
        assert_eq!(length(&clip(&"x".repeat(150), HEADER_TEXT)), 150);
        // Emoji count twice in UTF-16: still within the limit.
        let emoji = "🚢".repeat(80);
        assert!(length(&clip(&emoji, OPTION_TEXT)) <= OPTION_TEXT);
    }

    #[test]
    fn long_text_is_split_at_lines_and_nothing_is_lost() {
        let line = format!("• {}", "word ".repeat(100));
        let text = vec![line.as_str(); 20].join("\n");
        assert!(length(&text) > 3 * SECTION_TEXT);
        let blocks = sections(&text);
        assert!(blocks.len() >= 4, "{}", blocks.len());
        for t in texts(&blocks) {
            assert!(length(&t) <= SECTION_TEXT);
            assert!(t.starts_with('•'), "pieces start at a line: {t:.20}");
        }
        assert_eq!(texts(&blocks).join("\n"), text);
    }

    #[test]
    fn a_line_past_the_limit_is_cut_outside_tokens_and_entities() {
        let unit = "a &amp; <https://example.org/a-long-path|a link> ";
        let line = unit.repeat(200);
        let pieces = split_mrkdwn(&line, SECTION_TEXT);
        assert!(pieces.len() > 1);
        assert_eq!(pieces.concat(), line);
        for p in &pieces {
            assert!(length(p) <= SECTION_TEXT);
            assert_eq!(p.matches('<').count(), p.matches('>').count(), "{p}");
            assert!(!p.ends_with("&am") && !p.ends_with('&'), "{p}");
        }
    }

    #[test]
    fn exactly_at_the_limit_is_one_block_and_one_more_is_two() {
        assert_eq!(sections(&"y".repeat(SECTION_TEXT)).len(), 1);
        let over = format!("{}\n{}", "y".repeat(SECTION_TEXT), "z");
        assert_eq!(sections(&over).len(), 2);
    }

    #[test]
    fn options_are_never_empty_and_never_too_long() {
        let empty = option("  ", "https://example.org/x", "0:ab");
        assert_eq!(empty["text"]["text"], "https://example.org/x");
        let long = option(&"o".repeat(200), "-", "0:ab");
        let text = long["text"]["text"].as_str().unwrap();
        assert_eq!(length(text), OPTION_TEXT);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn blocks_go_into_messages_of_fifty_and_views_of_a_hundred() {
        let blocks: Vec<Value> = (0..120).map(|i| section(&i.to_string())).collect();
        let messages = per_message(blocks.clone());
        assert_eq!(
            messages.iter().map(Vec::len).collect::<Vec<_>>(),
            [50, 50, 20]
        );
        let view = fit(blocks, VIEW_BLOCKS, "the notes file has it all");
        assert_eq!(view.len(), VIEW_BLOCKS);
        let last = view[99]["elements"][0]["text"].as_str().unwrap();
        assert!(last.contains("21 more blocks"), "{last}");
    }

    #[test]
    fn a_message_text_keeps_slacks_limit_with_a_note() {
        let text = "line of text\n".repeat(5000);
        let clipped = message_text(&text, "the full text is in the notes file");
        assert!(length(&clipped) <= MESSAGE_TEXT);
        assert!(clipped.ends_with("the full text is in the notes file)"));
        assert_eq!(message_text("short", "x"), "short");
    }

    #[test]
    fn buttons_headers_and_titles_fit() {
        let b = button("a", &"b".repeat(100), "v");
        assert_eq!(length(b["text"]["text"].as_str().unwrap()), BUTTON_TEXT);
        let h = header(&"Team ".repeat(40));
        assert!(length(h["text"]["text"].as_str().unwrap()) <= HEADER_TEXT);
        assert_eq!(
            view_text("Edit your standup update now")["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            24
        );
    }

    #[test]
    fn checkboxes_forms_and_views_keep_slacks_shape() {
        let options = (0..12).map(|i| option(&format!("item {i}"), "x", &i.to_string()));
        let boxes = checkboxes("planned", options.collect());
        assert_eq!(boxes["options"].as_array().unwrap().len(), CHECKBOX_OPTIONS);

        let empty = text_box("Shipped", "Shipped", "answer:Shipped", "");
        assert!(empty["element"].get("initial_value").is_none(), "{empty}");
        let filled = text_box("Next", &"L".repeat(2100), "answer:Next", "- docs");
        assert_eq!(filled["element"]["initial_value"], "- docs");
        assert_eq!(
            length(filled["label"]["text"].as_str().unwrap()),
            INPUT_LABEL
        );

        let read_only = modal(
            "edit",
            "t|2026-12-07",
            "Edit your update",
            None,
            "Close",
            vec![],
        );
        assert!(read_only.get("submit").is_none(), "{read_only}");
        let form = modal(
            "form",
            "m",
            "Standup update",
            Some("Save"),
            "Cancel",
            vec![],
        );
        assert_eq!(form["submit"]["text"], "Save");
        assert_eq!(form["private_metadata"], "m");

        let row = actions(Some("plan"), vec![primary(button("a", "Go", "v"))]);
        assert_eq!(row["block_id"], "plan");
        assert_eq!(row["elements"][0]["style"], "primary");
        assert!(actions(None, vec![]).get("block_id").is_none());
    }
}
