//! Lint of the mrkdwn the bot sends: what Slack would not refuse but would show wrong.
//!
//! Slack's rules (https://docs.slack.dev/messaging/formatting-message-text): `&`, `<` and `>`
//! are control characters and must be sent as `&amp;`, `&lt;`, `&gt;` except in Slack's own
//! `<...>` tokens (links `<https://...|label>`, `<mailto:...>`, mentions `<@U...>`,
//! `<#C...>`, `<!subteam^...>`, dates `<!date^...>`); mrkdwn has no `[label](url)` links
//! (shown literally); and `<!channel>`, `<!here>`, `<!everyone>` notify everyone, which this
//! bot never means to do, so one in its output came from a user's text.

/// One problem in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lint {
    /// The rule's name (see [`crate::strict::Rule`]).
    pub rule: &'static str,
    /// What was found, quoted.
    pub detail: String,
}

/// The lint rules' names.
pub(crate) const MARKDOWN_LINK: &str = "markdown_link";
pub(crate) const UNESCAPED: &str = "unescaped_control_character";
pub(crate) const BROADCAST: &str = "broadcast_mention";

fn excerpt(text: &str, at: usize) -> String {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(15)
        .map_or(0, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .nth(25)
        .map_or(text.len(), |(i, _)| at + i);
    format!("…{}…", &text[start..end])
}

/// Whether `inner` (between `<` and `>`) is one of Slack's tokens.
fn is_slack_token(inner: &str) -> bool {
    let target = inner.split('|').next().unwrap_or_default();
    [
        "http://",
        "https://",
        "mailto:",
        "@U",
        "@W",
        "@B",
        "#C",
        "#G",
        "#D",
        "!subteam^",
        "!date^",
    ]
    .iter()
    .any(|p| target.starts_with(p) && target.len() > p.len())
}

/// The broadcast a `<!...>` token makes, if it is one.
fn broadcast(inner: &str) -> Option<&str> {
    let target = inner.split('|').next().unwrap_or_default();
    ["!channel", "!here", "!everyone"]
        .into_iter()
        .find(|b| target == *b)
}

/// Every problem in one mrkdwn text.
pub(crate) fn lint(text: &str) -> Vec<Lint> {
    let mut found = Vec::new();
    if let Some(at) = markdown_link(text) {
        found.push(Lint {
            rule: MARKDOWN_LINK,
            detail: format!(
                "Markdown link (Slack shows it literally): {}",
                excerpt(text, at)
            ),
        });
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => match text[i + 1..].find(['>', '<', '\n']) {
                Some(len) if bytes[i + 1 + len] == b'>' => {
                    let inner = &text[i + 1..i + 1 + len];
                    if let Some(b) = broadcast(inner) {
                        found.push(Lint {
                            rule: BROADCAST,
                            detail: format!("<{b}> notifies everyone in the conversation"),
                        });
                    } else if !is_slack_token(inner) {
                        found.push(Lint {
                            rule: UNESCAPED,
                            detail: format!("unescaped '<' (send &lt;): {}", excerpt(text, i)),
                        });
                    }
                    i += len + 2;
                    line_start = false;
                    continue;
                }
                _ => found.push(Lint {
                    rule: UNESCAPED,
                    detail: format!("unescaped '<' (send &lt;): {}", excerpt(text, i)),
                }),
            },
            // A `>` opening a line is mrkdwn's quote marker.
            b'>' if !line_start => found.push(Lint {
                rule: UNESCAPED,
                detail: format!("unescaped '>' (send &gt;): {}", excerpt(text, i)),
            }),
            b'&' if !["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| text[i..].starts_with(e)) =>
            {
                found.push(Lint {
                    rule: UNESCAPED,
                    detail: format!("unescaped '&' (send &amp;): {}", excerpt(text, i)),
                });
            }
            _ => {}
        }
        line_start = bytes[i] == b'\n' || (line_start && bytes[i] == b' ');
        i += 1;
    }
    found
}

/// The byte offset of a `[label](http...)` / `[label](mailto:...)` link.
fn markdown_link(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = text[from..].find("](") {
        let close = from + rel;
        let target = &text[close + 2..];
        let has_open = text[..close].rfind('[').is_some_and(|open| {
            !text[open..close].contains('\n') && !text[open + 1..close].contains(']')
        });
        if has_open
            && ["http://", "https://", "mailto:"]
                .iter()
                .any(|p| target.starts_with(p))
        {
            return text[..close].rfind('[');
        }
        from = close + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        lint(text).into_iter().map(|l| l.rule).collect()
    }

    #[test]
    fn slack_tokens_entities_and_quotes_pass() {
        for ok in [
            "see <https://example.com/a?b=1&c=2|PR #3> and <@U123> in <#C42|team>",
            "&lt;tag&gt; &amp; friends, <!subteam^S1|@devs> <!date^1392734382^{date}|Feb 18>",
            "> quoted line\n  > indented quote\nmail <mailto:a@b.c|a>",
            "[not a link] (plain) [x](relative)",
        ] {
            assert_eq!(rules(ok), Vec::<&str>::new(), "{ok}");
        }
    }

    #[test]
    fn markdown_links_are_caught() {
        assert_eq!(
            rules("fixed [PR #3](https://github.com/x/y/pull/3)"),
            [MARKDOWN_LINK]
        );
        assert_eq!(rules("[mail](mailto:a@b.c)"), [MARKDOWN_LINK]);
    }

    #[test]
    fn raw_control_characters_are_caught() {
        assert_eq!(rules("a & b"), [UNESCAPED]);
        assert_eq!(rules("a &amp;amp b &nbsp;"), [UNESCAPED]);
        assert_eq!(rules("if a < b"), [UNESCAPED]);
        assert_eq!(rules("x -> y"), [UNESCAPED]);
        assert_eq!(rules("<b>bold</b>"), [UNESCAPED, UNESCAPED]);
    }

    #[test]
    fn broadcasts_are_caught() {
        assert_eq!(rules("hey <!channel> look"), [BROADCAST]);
        assert_eq!(
            rules("<!here|here> and <!everyone>"),
            [BROADCAST, BROADCAST]
        );
    }
}
