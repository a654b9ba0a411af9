//! Slack's `rich_text` blocks → the mrkdwn text replies are stored and parsed as.
//!
//! Slack's composer sends what a member typed twice: as `text` (mrkdwn) and as `rich_text`
//! blocks, which say exactly where lists start, how deep each item is, which runs are links,
//! mentions or emoji (with their skin tone). The bot reads the blocks when there are any and
//! writes them out as the mrkdwn the reply parser reads: one line per paragraph line or list item,
//! items indented four spaces a level, `<url|label>` links, `<@U…>` mentions, `:name:` emoji and
//! `&amp;`-escaped text. Block shapes are documented at
//! <https://docs.slack.dev/reference/block-kit/blocks/rich-text-block>.

use std::collections::HashMap;

use serde_json::Value;

/// The mrkdwn text of the message's `rich_text` blocks, or `None` when it has none (then its
/// `text` is what the member wrote). `text`, the message's mrkdwn fallback, lends the names
/// the blocks leave out: a channel element has only its id, `text` has `<#C123|general>`.
pub fn to_mrkdwn(blocks: &Value, text: &str) -> Option<String> {
    let rich: Vec<&Value> = blocks
        .as_array()?
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("rich_text"))
        .collect();
    if rich.is_empty() {
        return None;
    }
    let labels = labels(text);
    let mut out = String::new();
    for block in rich {
        for element in elements(block) {
            write_element(&mut out, element, &labels);
        }
    }
    Some(out)
}

/// The labels of `<#C123|general>` and `<!subteam^S123|@team>` in mrkdwn text, by id.
fn labels(text: &str) -> HashMap<&str, &str> {
    let mut labels = HashMap::new();
    for token in text.split('<').skip(1) {
        let Some((inner, _)) = token.split_once('>') else {
            continue;
        };
        let Some((target, label)) = inner.split_once('|') else {
            continue;
        };
        if let Some(id) = target
            .strip_prefix('#')
            .or_else(|| target.strip_prefix("!subteam^"))
        {
            labels.insert(id, label);
        }
    }
    labels
}

fn elements(v: &Value) -> impl Iterator<Item = &Value> {
    v.get("elements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// Starts a new line unless `out` is at the start of one.
fn new_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn write_element(out: &mut String, element: &Value, labels: &HashMap<&str, &str>) {
    new_line(out);
    match kind(element) {
        "rich_text_list" => {
            let indent = element.get("indent").and_then(Value::as_u64).unwrap_or(0);
            let indent = usize::try_from(indent).unwrap_or(usize::MAX).min(64);
            let ordered = element.get("style").and_then(Value::as_str) == Some("ordered");
            let offset = element.get("offset").and_then(Value::as_u64).unwrap_or(0);
            for (n, item) in (offset + 1..).zip(elements(element)) {
                new_line(out);
                let pad = "    ".repeat(indent);
                let marker = if ordered {
                    format!("{n}.")
                } else {
                    // Slack's own glyphs by depth, as its `text` writes them.
                    ["•", "◦", "▪"][indent % 3].to_string()
                };
                let text = inline(item, labels);
                // A line break inside an item continues it one level deeper.
                let mut lines = text.split('\n');
                out.push_str(&format!(
                    "{pad}{marker} {}",
                    lines.next().unwrap_or_default()
                ));
                for more in lines.filter(|l| !l.trim().is_empty()) {
                    out.push_str(&format!("\n{pad}    {more}"));
                }
            }
        }
        "rich_text_preformatted" => {
            out.push_str("```");
            out.push_str(&inline(element, labels));
            out.push_str("```");
        }
        "rich_text_quote" => {
            let text = inline(element, labels);
            let quoted: Vec<String> = text.split('\n').map(|l| format!("&gt; {l}")).collect();
            out.push_str(&quoted.join("\n"));
        }
        // `rich_text_section`, and any container Slack adds later: its runs, as a paragraph.
        _ => out.push_str(&inline(element, labels)),
    }
}

/// The runs of a section, list item, quote or code block as one piece of mrkdwn.
fn inline(container: &Value, labels: &HashMap<&str, &str>) -> String {
    let mut out = String::new();
    for run in elements(container) {
        out.push_str(&run_text(run, labels));
    }
    out
}

/// Slack escapes exactly these three in message text; the parser decodes them.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn str_field<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

fn run_text(run: &Value, labels: &HashMap<&str, &str>) -> String {
    let labelled = |prefix: &str, id: &str| match labels.get(id) {
        Some(label) => format!("<{prefix}{id}|{label}>"),
        None => format!("<{prefix}{id}>"),
    };
    match kind(run) {
        "text" => styled(&escape(str_field(run, "text").unwrap_or_default()), run),
        "link" => {
            let url = str_field(run, "url").unwrap_or_default();
            match str_field(run, "text").filter(|t| !t.is_empty() && *t != url) {
                Some(label) => format!("<{url}|{}>", escape(label)),
                None => format!("<{url}>"),
            }
        }
        "emoji" => emoji(run),
        "user" => format!("<@{}>", str_field(run, "user_id").unwrap_or_default()),
        "channel" => labelled("#", str_field(run, "channel_id").unwrap_or_default()),
        "usergroup" => labelled(
            "!subteam^",
            str_field(run, "usergroup_id").unwrap_or_default(),
        ),
        "broadcast" => format!("<!{}>", str_field(run, "range").unwrap_or("here")),
        "date" => {
            let shown = str_field(run, "fallback")
                .map(str::to_string)
                .or_else(|| run.get("timestamp").map(|t| t.to_string().replace('"', "")))
                .unwrap_or_default();
            escape(&shown)
        }
        "color" => escape(str_field(run, "value").unwrap_or_default()),
        // Something newer than this reader: keep whatever text it carries.
        _ => escape(
            str_field(run, "text")
                .or_else(|| str_field(run, "fallback"))
                .unwrap_or_default(),
        ),
    }
}

/// `:name:` with its skin tone (`skin_tone: 3` → `:wave::skin-tone-3:`, as Slack's `text`
/// writes it). A name the emoji data does not know but Slack gave a `unicode` for is written as
/// that Unicode; an unknown name without one is a custom emoji and stays `:name:`.
fn emoji(run: &Value) -> String {
    let name = str_field(run, "name").unwrap_or_default();
    // Slack's docs also show the tone inside the name: `wave::skin-tone-2`.
    let (base, tone) = match name.split_once("::skin-tone-") {
        Some((base, tone)) => (base, Some(tone.to_string())),
        None => (
            name,
            run.get("skin_tone")
                .and_then(Value::as_u64)
                .map(|t| t.to_string()),
        ),
    };
    if standup_core::parse::emoji::lookup(base).is_none()
        && let Some(unicode) =
            str_field(run, "unicode").and_then(standup_core::parse::emoji::decode)
    {
        return unicode;
    }
    match tone {
        Some(tone) => format!(":{base}::skin-tone-{tone}:"),
        None => format!(":{base}:"),
    }
}

/// Wraps each line of `text` in the mrkdwn of the run's style, spaces kept outside the marks
/// (`*Blocked:* ` stays a bold heading).
fn styled(text: &str, run: &Value) -> String {
    let Some(style) = run.get("style") else {
        return text.to_string();
    };
    let on = |flag: &str| style.get(flag).and_then(Value::as_bool) == Some(true);
    let marks: Vec<&str> = [
        ("code", "`"),
        ("bold", "*"),
        ("italic", "_"),
        ("strike", "~"),
    ]
    .iter()
    .filter(|(flag, _)| on(flag))
    .map(|(_, mark)| *mark)
    .collect();
    if marks.is_empty() {
        return text.to_string();
    }
    let open: String = marks.iter().rev().copied().collect();
    let close: String = marks.concat();
    text.split('\n')
        .map(|line| {
            let body = line.trim();
            if body.is_empty() {
                return line.to_string();
            }
            let start = line.len() - line.trim_start().len();
            let end = start + body.len();
            format!("{}{open}{body}{close}{}", &line[..start], &line[end..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn channel_and_group_names_come_from_the_text() {
        let blocks = json!([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "channel", "channel_id": "C043YJGBY49"},
            {"type": "text", "text": " "},
            {"type": "usergroup", "usergroup_id": "S1"},
            {"type": "text", "text": " "},
            {"type": "channel", "channel_id": "C2"}
        ]}]}]);
        assert_eq!(
            to_mrkdwn(
                &blocks,
                "<#C043YJGBY49|general> <!subteam^S1|@backend> <#C2>"
            )
            .as_deref(),
            Some("<#C043YJGBY49|general> <!subteam^S1|@backend> <#C2>")
        );
    }

    #[test]
    fn styles_wrap_words_not_spaces() {
        let run = json!({"type": "text", "text": "Blocked: ", "style": {"bold": true}});
        assert_eq!(run_text(&run, &HashMap::new()), "*Blocked:* ");
        let run = json!({"type": "text", "text": "a\n b", "style": {"bold": true, "italic": true}});
        assert_eq!(run_text(&run, &HashMap::new()), "_*a*_\n _*b*_");
    }

    #[test]
    fn text_is_escaped_as_slack_escapes_it() {
        let run = json!({"type": "text", "text": "a & b <c>"});
        assert_eq!(run_text(&run, &HashMap::new()), "a &amp; b &lt;c&gt;");
    }

    #[test]
    fn emoji_keep_slack_names_and_tones() {
        let e = |v: Value| emoji(&v);
        assert_eq!(
            e(json!({"name": "wave", "skin_tone": 3})),
            ":wave::skin-tone-3:"
        );
        assert_eq!(
            e(json!({"name": "wave::skin-tone-2"})),
            ":wave::skin-tone-2:"
        );
        assert_eq!(e(json!({"name": "partyparrot"})), ":partyparrot:");
        assert_eq!(
            e(json!({"name": "a-newer-emoji", "unicode": "1faea"})),
            "\u{1faea}"
        );
    }

    #[test]
    fn no_rich_text_means_no_text() {
        assert_eq!(to_mrkdwn(&json!([{"type": "divider"}]), "x"), None);
        assert_eq!(to_mrkdwn(&Value::Null, "x"), None);
    }

    use proptest::prelude::*;

    fn run() -> impl Strategy<Value = Value> + Clone {
        prop_oneof![
            any::<String>().prop_map(|t| json!({"type": "text", "text": t})),
            (any::<String>(), any::<bool>(), any::<bool>()).prop_map(|(t, b, i)| {
                json!({"type": "text", "text": t, "style": {"bold": b, "italic": i}})
            }),
            "[a-z_+-]{1,12}".prop_map(|n| json!({"type": "emoji", "name": n, "skin_tone": 3})),
            Just(json!({"type": "link", "url": "https://example.org", "text": "x|y"})),
            Just(json!({"type": "user", "user_id": "U1"})),
            Just(json!({"type": "something_new", "text": "kept"})),
            Just(json!({"type": "text"})),
        ]
    }

    fn element() -> impl Strategy<Value = Value> {
        let runs = prop::collection::vec(run(), 0..5);
        prop_oneof![
            runs.clone()
                .prop_map(|r| json!({"type": "rich_text_section", "elements": r})),
            (
                prop::collection::vec(runs.clone(), 0..4),
                0u64..40,
                any::<bool>()
            )
                .prop_map(|(items, indent, ordered)| {
                    let items: Vec<Value> = items
                        .into_iter()
                        .map(|r| json!({"type": "rich_text_section", "elements": r}))
                        .collect();
                    json!({"type": "rich_text_list", "indent": indent,
                           "style": if ordered { "ordered" } else { "bullet" }, "elements": items})
                }),
            runs.clone()
                .prop_map(|r| json!({"type": "rich_text_quote", "elements": r})),
            runs.prop_map(|r| json!({"type": "rich_text_preformatted", "elements": r})),
        ]
    }

    proptest! {
        /// Any blocks read without a panic, and every word of every text run is in the result.
        #[test]
        fn every_text_run_is_kept(elements in prop::collection::vec(element(), 0..6)) {
            let blocks = json!([{"type": "rich_text", "elements": elements}]);
            let out = to_mrkdwn(&blocks, "").expect("rich text");
            let mut texts = Vec::new();
            for e in blocks[0]["elements"].as_array().unwrap() {
                for r in e["elements"].as_array().unwrap() {
                    let runs = r.get("elements").and_then(Value::as_array).cloned()
                        .unwrap_or_else(|| vec![r.clone()]);
                    for run in runs {
                        if run["type"] == "text" && let Some(t) = run["text"].as_str() {
                            texts.push(escape(t));
                        }
                    }
                }
            }
            for text in texts {
                for word in text.split_whitespace() {
                    prop_assert!(out.contains(word), "{word:?} lost from {out:?}");
                }
            }
        }
    }
}
