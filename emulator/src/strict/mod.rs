//! Strict mode: Slack's documented rules, enforced on every Web API call and `response_url`
//! post, on in every test.
//!
//! What Slack refuses is refused with Slack's answer (`missing_scope` with `needed` and
//! `provided`, `invalid_blocks` with `errors` and `response_metadata.messages`,
//! `invalid_arguments`, `msg_too_long`, `invalid_blocks_format`, ...). What Slack accepts but
//! shows wrong or ignores (Markdown links, unescaped `&<>`, `<!channel>`, unknown arguments) is
//! answered as Slack does. Either way it is recorded as a [`Violation`]; an [`Emulator`]
//! dropped with violations nobody expected panics, so the test that caused them fails
//! (`Emulator::expect_violation`, `Emulator::take_violations` for tests that mean to break a
//! rule).
//!
//! [`Emulator`]: crate::Emulator

mod blocks;
pub mod spec;
mod text;

use crate::params::str_of;
pub(crate) use blocks::is_hh_mm;
use blocks::{Problem, Surface, Walker};
use serde_json::{Value, json};
use spec::ConversationType;

/// A Slack rule the strict emulator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A method the app's bot scopes do not allow (`missing_scope`).
    MissingScope,
    /// A required argument left out (answered with the method's own code, e.g.
    /// `channel_not_found`, or `invalid_arguments`).
    MissingArgument,
    /// An argument Slack's spec does not list for the method (Slack ignores it).
    UnknownArgument,
    /// Blocks that break Block Kit's rules (`invalid_blocks`).
    InvalidBlocks,
    /// `blocks` that are not a JSON array (`invalid_blocks_format`).
    InvalidBlocksFormat,
    /// A view that breaks Slack's rules, or arguments Slack refuses (`invalid_arguments`).
    InvalidArguments,
    /// Message `text` over 40,000 characters (`msg_too_long`).
    MsgTooLong,
    /// `metadata` without `event_type` and an object `event_payload`
    /// (`invalid_metadata_format`).
    InvalidMetadataFormat,
    /// `[label](url)` in mrkdwn, which Slack shows literally.
    MarkdownLink,
    /// `&`, `<` or `>` outside Slack's `<...>` tokens and entities.
    UnescapedControlCharacter,
    /// `<!channel>`, `<!here>` or `<!everyone>` in the bot's output.
    BroadcastMention,
}

impl Rule {
    /// The rule's name: Slack's error code for refusals, a short name for the lint.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingScope => "missing_scope",
            Rule::MissingArgument => "missing_argument",
            Rule::UnknownArgument => "unknown_argument",
            Rule::InvalidBlocks => "invalid_blocks",
            Rule::InvalidBlocksFormat => "invalid_blocks_format",
            Rule::InvalidArguments => "invalid_arguments",
            Rule::MsgTooLong => "msg_too_long",
            Rule::InvalidMetadataFormat => "invalid_metadata_format",
            Rule::MarkdownLink => text::MARKDOWN_LINK,
            Rule::UnescapedControlCharacter => text::UNESCAPED,
            Rule::BroadcastMention => text::BROADCAST,
        }
    }

    /// The rule a Slack error code stands for, when a strict rule caused it.
    pub(crate) fn of_error(code: &str) -> Option<Rule> {
        [
            Rule::MissingScope,
            Rule::InvalidBlocks,
            Rule::InvalidBlocksFormat,
            Rule::InvalidArguments,
            Rule::MsgTooLong,
            Rule::InvalidMetadataFormat,
        ]
        .into_iter()
        .find(|r| r.as_str() == code)
    }

    fn of_lint(name: &str) -> Rule {
        match name {
            text::MARKDOWN_LINK => Rule::MarkdownLink,
            text::BROADCAST => Rule::BroadcastMention,
            _ => Rule::UnescapedControlCharacter,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: which call, which rule, where in the payload, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The Web API method, or `response_url`.
    pub method: String,
    /// The rule.
    pub rule: Rule,
    /// A JSON pointer into the payload (`/blocks/0/text/text`), or the argument's name.
    pub path: String,
    /// What was wrong, in a line.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} at {}: {}",
            self.method, self.rule, self.path, self.detail
        )
    }
}

/// A refusal: Slack's whole error body, and the violations that caused it.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub body: Value,
    pub violations: Vec<Violation>,
}

fn violation(method: &str, rule: Rule, path: &str, detail: impl Into<String>) -> Violation {
    Violation {
        method: method.to_string(),
        rule,
        path: path.to_string(),
        detail: detail.into(),
    }
}

/// Slack's body for a refusal with per-problem messages (`invalid_blocks` also lists them in
/// `errors`).
fn refusal(method: &str, rule: Rule, problems: &[Problem]) -> Refusal {
    let messages: Vec<String> = problems.iter().map(Problem::slack_message).collect();
    let mut body = json!({
        "ok": false,
        "error": rule.as_str(),
        "response_metadata": {
            "messages": messages.iter().map(|m| format!("[ERROR] {m}")).collect::<Vec<_>>(),
        },
    });
    if rule == Rule::InvalidBlocks {
        body["errors"] = json!(messages);
    }
    Refusal {
        body,
        violations: problems
            .iter()
            .map(|p| violation(method, rule, &p.pointer, &p.message))
            .collect(),
    }
}

fn plain_refusal(method: &str, rule: Rule, path: &str, detail: &str) -> Refusal {
    Refusal {
        body: json!({"ok": false, "error": rule.as_str()}),
        violations: vec![violation(method, rule, path, detail)],
    }
}

/// `missing_scope` unless the granted bot scopes allow `method` on the conversation the call
/// addresses, or on every conversation type it lists (`conversations.list`'s `types`).
pub(crate) fn check_scope(method: &str, p: &Value, granted: &[String]) -> Result<(), Refusal> {
    let Some(spec) = spec::method(method) else {
        return Ok(());
    };
    for kind in conversations_of(method, p) {
        let Some(needed) = spec.scope_for(kind) else {
            return Ok(());
        };
        if needed.iter().any(|s| granted.contains(s)) {
            continue;
        }
        let needed = needed.first().cloned().unwrap_or_default();
        let provided = granted.join(",");
        return Err(Refusal {
            body: json!({"ok": false, "error": "missing_scope", "needed": needed, "provided": provided}),
            violations: vec![violation(
                method,
                Rule::MissingScope,
                "token",
                format!("needs {needed}; the manifest grants {provided}"),
            )],
        });
    }
    Ok(())
}

/// The conversation types whose scopes a call needs: one for most, each type asked for by
/// `conversations.list` (Slack wants `groups:read` to list private channels, `im:read` for
/// DMs, ... and refuses the call when one is missing).
fn conversations_of(method: &str, p: &Value) -> Vec<Option<ConversationType>> {
    if method == "conversations.list" {
        // Unknown type names: nothing to decide by, the method answers `invalid_types`.
        return match spec::list_types(str_of(p, "types").as_deref()) {
            Some(types) => types.into_iter().map(Some).collect(),
            None => vec![None],
        };
    }
    vec![conversation_of(method, p)]
}

/// The type of conversation a call addresses.
fn conversation_of(method: &str, p: &Value) -> Option<ConversationType> {
    if method == "conversations.open" {
        if let Some(channel) = str_of(p, "channel") {
            return ConversationType::of_id(&channel);
        }
        return match crate::params::list_of(p, "users").len() {
            0 => None,
            1 => Some(ConversationType::Im),
            _ => Some(ConversationType::Mpim),
        };
    }
    str_of(p, "channel")
        .or_else(|| str_of(p, "channel_id"))
        .and_then(|c| ConversationType::of_id(&c))
}

/// What Slack answers when `arg` is missing from a call to `method`.
fn missing_answer(method: &str, arg: &str) -> Value {
    let code = match (method, arg) {
        (_, "channel" | "channel_id") => "channel_not_found",
        (_, "user") => "user_not_found",
        ("chat.update", "ts") => "message_not_found",
        ("conversations.replies", "ts") => "thread_not_found",
        _ => {
            return json!({
                "ok": false,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [format!("[ERROR] missing required field: {arg}")]},
            });
        }
    };
    json!({"ok": false, "error": code})
}

/// Required arguments present (refused as Slack does when one is not); arguments the spec
/// does not list are returned as violations (Slack ignores them).
pub(crate) fn check_args(method: &str, p: &Value) -> Result<Vec<Violation>, Refusal> {
    let Some(spec) = spec::method(method) else {
        return Ok(Vec::new());
    };
    for arg in &spec.required {
        let missing = match p.get(arg) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if missing {
            return Err(Refusal {
                body: missing_answer(method, arg),
                violations: vec![violation(
                    method,
                    Rule::MissingArgument,
                    arg,
                    format!("{method} requires {arg}"),
                )],
            });
        }
    }
    let unknown = p
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| *k != "token" && !spec.required.contains(*k) && !spec.optional.contains(*k))
        .map(|k| {
            violation(
                method,
                Rule::UnknownArgument,
                k,
                format!("Slack's spec lists no argument {k:?} for {method}; Slack ignores it"),
            )
        })
        .collect();
    Ok(unknown)
}

fn lint_texts(method: &str, texts: &[(String, String)]) -> Vec<Violation> {
    texts
        .iter()
        .flat_map(|(path, t)| {
            text::lint(t)
                .into_iter()
                .map(move |l| violation(method, Rule::of_lint(l.rule), path, l.detail))
        })
        .collect()
}

fn is_false(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(false))) || matches!(v, Some(Value::String(s)) if s == "false")
}

/// The message content of `chat.postMessage` / `chat.update` / `chat.postEphemeral`, a
/// `response_url` post or a file share's comment: `blocks` well-formed and within Block Kit's
/// limits, `text` within 40,000 characters. On success, the lint's findings.
pub(crate) fn check_message(method: &str, p: &Value) -> Result<Vec<Violation>, Refusal> {
    let mut walker = Walker::new();
    match p.get("blocks") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(blocks @ Value::Array(_)) => walker.blocks(&blocks, "/blocks", Surface::Message),
            _ => {
                return Err(plain_refusal(
                    method,
                    Rule::InvalidBlocksFormat,
                    "/blocks",
                    "blocks is not a JSON array",
                ));
            }
        },
        Some(blocks @ Value::Array(_)) => walker.blocks(blocks, "/blocks", Surface::Message),
        Some(_) => {
            return Err(plain_refusal(
                method,
                Rule::InvalidBlocksFormat,
                "/blocks",
                "blocks is not a JSON array",
            ));
        }
    }
    if !walker.problems.is_empty() {
        return Err(refusal(method, Rule::InvalidBlocks, &walker.problems));
    }
    // Slack: "truncated after 40,000 characters"; chat methods answer msg_too_long.
    // https://docs.slack.dev/reference/methods/chat.postMessage#truncating
    let text = p.get("text").and_then(Value::as_str);
    if let Some(t) = text {
        if t.chars().count() > 40_000 {
            return Err(plain_refusal(
                method,
                Rule::MsgTooLong,
                "/text",
                &format!("text has {} characters (limit 40,000)", t.chars().count()),
            ));
        }
    }
    let mut texts = walker.mrkdwn;
    if let Some(t) = text {
        if !is_false(p.get("mrkdwn")) {
            texts.push(("/text".to_string(), t.to_string()));
        }
    }
    if let Some(t) = p.get("initial_comment").and_then(Value::as_str) {
        texts.push(("/initial_comment".to_string(), t.to_string()));
    }
    Ok(lint_texts(method, &texts))
}

/// The `view` of `views.open` / `views.update` / `views.publish` (a JSON object or a string
/// holding one): Slack's view rules, refused with `invalid_arguments`. On success, the lint's
/// findings.
pub(crate) fn check_view(method: &str, p: &Value) -> Result<Vec<Violation>, Refusal> {
    let view = match p.get("view") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(other) => Some(other.clone()),
    };
    let Some(view) = view.filter(Value::is_object) else {
        let problem = Problem {
            pointer: "/view".into(),
            message: "must provide an object".into(),
        };
        return Err(refusal(method, Rule::InvalidArguments, &[problem]));
    };
    let mut walker = Walker::new();
    walker.view(&view);
    if !walker.problems.is_empty() {
        return Err(refusal(method, Rule::InvalidArguments, &walker.problems));
    }
    Ok(lint_texts(method, &walker.mrkdwn))
}

#[cfg(test)]
mod tests;
