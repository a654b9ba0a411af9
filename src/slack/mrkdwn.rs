//! The one way text goes out to Slack: our stored Markdown → Slack mrkdwn, and literal text →
//! mrkdwn or plain text.
//!
//! The store holds what [`standup_core::parse`] made of Slack's text: Markdown links
//! (`[label](url)`), `@handle` mentions, Unicode emoji, and `&`, `<`, `>` as plain characters.
//! Slack's mrkdwn has no `[label](url)`: a link is `<url|label>`; bold is `*x*` (Markdown's
//! `**x**`), strike `~x~` (Markdown's `~~x~~`); `&`, `<` and `>` are control characters that
//! must be escaped as `&amp;`, `&lt;`, `&gt;` exactly once, outside Slack's own `<…>` tokens
//! (<https://docs.slack.dev/messaging/formatting-message-text#escaping>).
//!
//! User text can keep a user or channel mention (`<@U…>`, `<#C…>`), but never produces a
//! special token: `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>` or a date written by a
//! user is escaped, so it is shown and pings nobody. Code spans and blocks keep their text as
//! written (escaped, nothing converted inside them).

/// User text (our stored Markdown) as Slack mrkdwn: links as `<url|label>`, `**bold**` as
/// `*bold*`, `~~strike~~` as `~strike~`, user and channel mentions kept, everything else
/// escaped once.
pub fn from_markdown(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 8);
    let mut rest = markdown;
    // Markdown's doubled markers, open on this line (Slack's are single).
    let mut bold = false;
    let mut strike = false;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("```")
            && let Some(end) = rest[3..].find("```")
        {
            out.push_str("```");
            out.push_str(&escape(&rest[3..3 + end]));
            out.push_str("```");
            rest = &rest[3 + end + 3..];
            continue;
        }
        if c == '`'
            && let Some(end) = rest[1..].find(['`', '\n'])
            && rest[1 + end..].starts_with('`')
            && end > 0
        {
            out.push('`');
            out.push_str(&escape(&rest[1..1 + end]));
            out.push('`');
            rest = &rest[1 + end + 1..];
            continue;
        }
        if c == '['
            && let Some((label, url, used)) = markdown_link(rest)
        {
            out.push_str(&link(url, label));
            rest = &rest[used..];
            continue;
        }
        if c == '<'
            && let Some(used) = mention(rest)
        {
            out.push_str(&rest[..used]);
            rest = &rest[used..];
            continue;
        }
        let marker = ["**", "~~"].into_iter().find(|m| rest.starts_with(m));
        if let Some(marker) = marker {
            let (open, slack) = if marker == "**" {
                (&mut bold, "*")
            } else {
                (&mut strike, "~")
            };
            if *open || line_of(&rest[2..]).contains(marker) {
                *open = !*open;
                out.push_str(slack);
            } else {
                out.push_str(marker);
            }
            rest = &rest[2..];
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => {
                bold = false;
                strike = false;
                out.push('\n');
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Literal text (a name, a heading, a message the bot composed around user text) as mrkdwn:
/// only `&`, `<` and `>` escaped, nothing converted.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// User text (our stored Markdown) for a `plain_text` field (a header, a checkbox option, a
/// button): a link shows its label (its URL when the label is empty), Markdown's doubled
/// markers are dropped. Slack shows `plain_text` as written, so nothing is escaped.
pub fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some((label, url, used)) = markdown_link(rest)
        {
            let label = plain(label);
            out.push_str(if label.trim().is_empty() { url } else { &label });
            rest = &rest[used..];
            continue;
        }
        if rest.starts_with("**") || rest.starts_with("~~") {
            rest = &rest[2..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A Slack link: `<url>` when the label is empty or the URL itself, else `<url|label>`.
/// `&`, `<`, `>` are escaped in both parts and a `|` in the URL is percent-encoded (Slack
/// takes the first `|` as the end of the URL).
pub fn link(url: &str, label: &str) -> String {
    let target = escape(url).replace('|', "%7C");
    let shown = plain(label);
    if shown.trim().is_empty() || shown == url {
        format!("<{target}>")
    } else {
        format!("<{target}|{}>", escape(&shown))
    }
}

/// The rest of the current line.
fn line_of(text: &str) -> &str {
    text.split('\n').next().unwrap_or_default()
}

/// A Markdown link at the start of `text`: `[label](url)` with balanced brackets in the label
/// and balanced parentheses in the URL, which has a scheme (`https:`, `mailto:`, …) and no
/// white space. `(label, url, bytes used)`.
fn markdown_link(text: &str) -> Option<(&str, &str, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            '\n' => return None,
            _ => {}
        }
    }
    let close = close?;
    let after = &text[close + 1..];
    let target = after.strip_prefix('(')?;
    let mut depth = 1usize;
    let mut end = None;
    for (i, c) in target.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            c if c.is_whitespace() => return None,
            _ => {}
        }
    }
    let end = end?;
    let url = &target[..end];
    if !has_scheme(url) {
        return None;
    }
    Some((&text[1..close], url, close + 1 + 1 + end + 1))
}

/// Whether `url` starts with a URI scheme and something after it (`https://…`, `mailto:…`).
fn has_scheme(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        && !rest.is_empty()
}

/// A user or channel mention at the start of `text` (`<@U123>`, `<@U123|maria>`, `<#C123>`,
/// `<#C123|general>`): the bytes it spans. Anything else in angle brackets is not a mention.
fn mention(text: &str) -> Option<usize> {
    let end = text.find('>')?;
    let inner = &text[1..end];
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    let id = target
        .strip_prefix('@')
        .filter(|id| id.starts_with(['U', 'W']))
        .or_else(|| target.strip_prefix('#').filter(|id| id.starts_with('C')))?;
    let id_ok = id.len() >= 2
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let label_ok = label.is_none_or(|l| !l.contains(['<', '&', '|']));
    (id_ok && label_ok).then_some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "[PR #3](https://example.org/pr/3)",
        "<https://example.org/pr/3|PR #3>"
    )]
    #[case("see [](https://e.org/x)", "see <https://e.org/x>")]
    #[case("[https://e.org](https://e.org)", "<https://e.org>")]
    #[case(
        "[a & b](https://e.org/?x=1&y=2)",
        "<https://e.org/?x=1&amp;y=2|a &amp; b>"
    )]
    #[case(
        "[wiki](https://e.org/Foo_(bar)) ok",
        "<https://e.org/Foo_(bar)|wiki> ok"
    )]
    #[case("[a|b](https://e.org/a|b)", "<https://e.org/a%7Cb|a|b>")]
    #[case("[mail](mailto:a@b.org)", "<mailto:a@b.org|mail>")]
    #[case("[[a](https://x.org)](https://y.org)", "<https://y.org|a>")]
    #[case("[a] (b) [c](not a url) [d](e)", "[a] (b) [c](not a url) [d](e)")]
    #[case("a & b", "a &amp; b")]
    #[case("a &amp; b", "a &amp;amp; b")]
    #[case("x < y > z", "x &lt; y &gt; z")]
    #[case(
        "<!channel> <!here> <!everyone>",
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;"
    )]
    #[case(
        "<!subteam^S1|@team> <!date^1^{date}|x>",
        "&lt;!subteam^S1|@team&gt; &lt;!date^1^{date}|x&gt;"
    )]
    #[case(
        "ask <@U024BE7LH> in <#C024BE7LH|general>",
        "ask <@U024BE7LH> in <#C024BE7LH|general>"
    )]
    #[case("<@U1|a&b> <@x> <#c>", "&lt;@U1|a&amp;b&gt; &lt;@x&gt; &lt;#c&gt;")]
    #[case("<https://e.org|raw>", "&lt;https://e.org|raw&gt;")]
    #[case("**bold** and ~~gone~~", "*bold* and ~gone~")]
    #[case("*already* _it_ ~s~ `c`", "*already* _it_ ~s~ `c`")]
    #[case("2 ** 3", "2 ** 3")]
    #[case("**see [doc](https://e.org)**", "*see <https://e.org|doc>*")]
    #[case("`[a](https://e.org) & **b**`", "`[a](https://e.org) &amp; **b**`")]
    #[case(
        "```\n<x> & [a](https://e.org)\n```",
        "```\n&lt;x&gt; &amp; [a](https://e.org)\n```"
    )]
    #[case("**a\nb**", "**a\nb**")]
    #[case("@maria 🚢 done", "@maria 🚢 done")]
    fn converts(#[case] markdown: &str, #[case] slack: &str) {
        assert_eq!(from_markdown(markdown), slack);
    }

    #[rstest]
    #[case("[](https://e.org/x)", "https://e.org/x")]
    #[case("[PR **3**](https://e.org) & <b>", "PR 3 & <b>")]
    #[case("**Ship** it", "Ship it")]
    fn plain_text(#[case] markdown: &str, #[case] expected: &str) {
        assert_eq!(plain(markdown), expected);
    }

    #[test]
    fn escaping_happens_once() {
        assert_eq!(escape("a & <b>"), "a &amp; &lt;b&gt;");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    /// What `from_markdown` must never give, whatever it is given.
    pub(crate) fn problems(slack: &str) -> Vec<String> {
        let mut found = Vec::new();
        let without_code = strip_code(slack);
        let link =
            regex::Regex::new(r"\[[^\[\]\n]*\]\([A-Za-z][A-Za-z0-9+.-]*:[^()\s]*\)").unwrap();
        if let Some(m) = link.find(&without_code) {
            found.push(format!("Markdown link {:?}", m.as_str()));
        }
        let token = regex::Regex::new(r"<([^<>]*)>").unwrap();
        for t in token.captures_iter(slack) {
            let inner = &t[1];
            if inner.starts_with('!') {
                found.push(format!("special token <{inner}>"));
            }
        }
        let bare = token.replace_all(slack, "");
        if bare.contains(['<', '>']) {
            found.push("bare < or > outside a token".into());
        }
        let entity = regex::Regex::new(r"&(amp|lt|gt);").unwrap();
        if entity.replace_all(slack, "").contains('&') {
            found.push("bare & ".into());
        }
        found
    }

    #[test]
    fn the_property_can_fail() {
        for bad in ["[a](https://e.org)", "a & b", "<!here>", "x > y", "<b"] {
            assert!(!problems(bad).is_empty(), "{bad}");
        }
        assert!(problems("<https://e.org|a> &amp; `[a](https://e.org)`").is_empty());
    }

    fn strip_code(slack: &str) -> String {
        let code = regex::Regex::new(r"(?s)```.*?```|`[^`\n]+`").unwrap();
        code.replace_all(slack, "").into_owned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_text_goes_out_clean(text in "([a-z &<>!@#|*~`\\[\\]()\n:/.^UC0-9]|https://e\\.org|<!channel>|<!here>|<@U12>|\\[x\\]\\(https://e\\.org/\\)){0,40}") {
            let slack = from_markdown(&text);
            prop_assert!(problems(&slack).is_empty(), "{:?} → {:?}: {:?}", text, slack, problems(&slack));
        }

        #[test]
        fn any_unicode_goes_out_clean(text in "\\PC{0,60}") {
            let slack = from_markdown(&text);
            prop_assert!(problems(&slack).is_empty(), "{:?} → {:?}: {:?}", text, slack, problems(&slack));
        }
    }
}
