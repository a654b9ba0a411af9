//! Slack mrkdwn → Markdown for one line of a reply.
//!
//! Slack sends links as `<url|label>`, mentions as `<@U123>`, channels as `<#C123|general>`,
//! specials as `<!here>`, escapes `&`, `<` and `>`, and emoji as `:shortcodes:` by Slack's own
//! names (see [`super::emoji`]). The notes are Markdown, so links become `[label](url)`, mentions
//! `@name`, emoji Unicode.

use std::borrow::Cow;
use std::collections::HashMap;

use super::emoji;

/// Display names for Slack user ids, used to turn `<@U123>` into `@maria`.
pub trait Names {
    fn user(&self, id: &str) -> Option<&str>;
}

impl Names for HashMap<String, String> {
    fn user(&self, id: &str) -> Option<&str> {
        self.get(id).map(String::as_str)
    }
}

/// No names known: mentions become `@U123`.
pub struct NoNames;

impl Names for NoNames {
    fn user(&self, _id: &str) -> Option<&str> {
        None
    }
}

/// Converts one line of Slack text to Markdown; borrows when there is nothing to convert.
pub fn to_markdown<'a>(line: &'a str, names: &dyn Names) -> Cow<'a, str> {
    if !line.contains(['<', '&', ':']) {
        return Cow::Borrowed(line);
    }
    let linked = replace_angle(line, names);
    let decoded = decode_entities(&linked);
    Cow::Owned(replace_shortcodes(&decoded).into_owned())
}

fn replace_angle(line: &str, names: &dyn Names) -> String {
    if !line.contains('<') {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start + 1..].find(['>', '<']) else {
            break;
        };
        let end = start + 1 + len;
        if rest.as_bytes()[end] == b'<' {
            // A stray `<` (Slack would have escaped it); keep it and look further on.
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        out.push_str(&rest[..start]);
        let inner = &rest[start + 1..end];
        out.push_str(&render_angle(inner, names));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn render_angle(inner: &str, names: &dyn Names) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        let name = names
            .user(id)
            .or(label.map(|l| l.trim_start_matches('@')))
            .unwrap_or(id);
        return format!("@{name}");
    }
    if let Some(id) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or(id));
    }
    if let Some(special) = target.strip_prefix('!') {
        return match special.split_once('^').map_or(special, |(head, _)| head) {
            "here" | "channel" | "everyone" => format!("@{special}"),
            "subteam" => label.map_or_else(|| "@group".to_string(), str::to_string),
            _ => label.unwrap_or(special).to_string(),
        };
    }
    match label {
        Some(label) if label != target => {
            let label = decode_entities(label);
            format!("[{label}]({target})")
        }
        _ => target.to_string(),
    }
}

/// Slack escapes exactly these three.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn replace_shortcodes(text: &str) -> Cow<'_, str> {
    if !text.contains(':') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        let after = &rest[start + 1..];
        match shortcode(after).and_then(|name| emoji::lookup(name).map(|e| (name, e))) {
            Some((name, base)) => {
                out.push_str(&rest[..start]);
                rest = &after[name.len() + 1..];
                // A skin tone follows its emoji as a code of its own: `:wave::skin-tone-3:`.
                let toned = rest
                    .strip_prefix(":skin-tone-")
                    .and_then(|t| t.split_once(':'))
                    .and_then(|(tone, tail)| Some((emoji::with_tone(name, tone)?, tail)));
                match toned {
                    Some((with_tone, tail)) => {
                        out.push_str(&with_tone);
                        rest = tail;
                    }
                    None => out.push_str(base),
                }
            }
            // A custom emoji, a time (`10:30`) or no code at all: kept as written.
            None => {
                out.push_str(&rest[..start + 1]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The name of a `:code:` whose opening colon is just before `after`.
fn shortcode(after: &str) -> Option<&str> {
    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || "_+-'".contains(c)))?;
    (end > 0 && after[end..].starts_with(':')).then(|| &after[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "<https://example.org/pr/212|#212>",
        "[#212](https://example.org/pr/212)"
    )]
    #[case("see <https://example.org>", "see https://example.org")]
    #[case("<https://example.org|https://example.org>", "https://example.org")]
    #[case("ping <@U024BE7LH>", "ping @maria")]
    #[case("ping <@U999|kenji>", "ping @kenji")]
    #[case("ping <@U000>", "ping @U000")]
    #[case("in <#C024BE7LH|general>", "in #general")]
    #[case("<!here> and <!channel>", "@here and @channel")]
    #[case("<!subteam^S123|@backend>", "@backend")]
    #[case("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014")]
    #[case("a &amp; b &lt;c&gt; &amp;lt;", "a & b <c> &lt;")]
    #[case("<mailto:a@b.org|a@b.org>", "[a@b.org](mailto:a@b.org)")]
    #[case(":ship: it :tada:", "🚢 it 🎉")]
    #[case(":no_entry:", "⛔\u{fe0f}")]
    #[case(":wave::skin-tone-3:", "👋\u{1F3FC}")]
    #[case(":custom-team-emoji: at 10:30:00", ":custom-team-emoji: at 10:30:00")]
    #[case(":+1: :100: :face_with_rolling_eyes:", "👍 💯 🙄")]
    #[case(":flag-de: :male-technologist::skin-tone-4:", "🇩🇪 👨🏽\u{200d}💻")]
    #[case(":thumbsup::skin-tone-6: :skin-tone-2:", "👍🏿 🏻")]
    #[case(":ship::skin-tone-3:", "🚢🏼")]
    #[case(":wave::skin-tone-9:", "👋:skin-tone-9:")]
    #[case("a :100:1 :party-parrot::skin-tone-2:", "a 💯1 :party-parrot:🏻")]
    #[case("x < y and a<b", "x < y and a<b")]
    #[case("unclosed <https://x", "unclosed <https://x")]
    fn converts(#[case] slack: &str, #[case] markdown: &str) {
        let names: HashMap<String, String> =
            [("U024BE7LH".to_string(), "maria".to_string())].into();
        assert_eq!(to_markdown(slack, &names), markdown);
    }
}

#[cfg(test)]
mod every_emoji {
    use super::*;

    /// Every name in Slack's emoji data set, with and without a skin tone, comes out as an emoji
    /// in the notes: nothing is left as a literal `:name:`.
    #[test]
    fn every_slack_name_becomes_its_emoji() {
        let names = emoji::names();
        assert!(names.len() > 1900, "{} names", names.len());
        for name in names {
            let code = format!("done :{name}: today");
            let converted = to_markdown(&code, &NoNames);
            let expected = emoji::lookup(name).unwrap();
            assert_eq!(converted, format!("done {expected} today"), ":{name}:");
            assert!(!expected.is_ascii(), ":{name}:");
            let with_tone = format!(":{name}::skin-tone-4:");
            let toned = to_markdown(&with_tone, &NoNames);
            assert!(!toned.contains(':'), ":{name}::skin-tone-4: gave {toned:?}");
            assert!(
                toned.starts_with(expected.chars().next().unwrap()),
                ":{name}:"
            );
        }
    }
}
