//! Slack's emoji names → Unicode emoji, from the data set Slack's clients use.
//!
//! Slack writes emoji in message text by *its* names, those of iamcal/emoji-data (`:+1:`,
//! `:flag-de:`, `:male-technologist:`), and a skin tone as a second code after the emoji
//! (`:wave::skin-tone-3:`). The names are vendored in `slack-emoji.tsv` (see the README beside
//! it); a name not in it is a workspace's custom emoji, which has no Unicode form.

use std::collections::HashMap;
use std::sync::LazyLock;

const DATA: &str = include_str!("slack-emoji.tsv");

/// Two emoji our notes formats spell as FORMATS.md does (their section headings), which the
/// data set spells with a different variation selector.
const NOTES_SPELLINGS: &[(&str, &str)] = &[
    ("no_entry", "⛔\u{fe0f}"),
    (
        "black_right_pointing_double_triangle_with_vertical_bar",
        "⏭",
    ),
];

struct Emoji {
    text: String,
    /// Skin tone variations: modifiers (`1F3FB`, or `1F3FB-1F3FC` for two people) → emoji.
    tones: Vec<(String, String)>,
}

struct Table {
    by_name: HashMap<&'static str, Emoji>,
    names: Vec<&'static str>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut by_name = HashMap::new();
    let mut names = Vec::new();
    for line in DATA
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.split('\t');
        let (Some(short_names), Some(unified)) = (fields.next(), fields.next()) else {
            continue;
        };
        let tones: Vec<(String, String)> = fields
            .next()
            .into_iter()
            .flat_map(|t| t.split(','))
            .filter_map(|pair| pair.split_once('='))
            .filter_map(|(tone, code)| Some((tone.to_string(), decode(code)?)))
            .collect();
        let Some(text) = decode(unified) else {
            continue;
        };
        for name in short_names.split(' ') {
            let text = NOTES_SPELLINGS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| text.clone(), |(_, s)| (*s).to_string());
            names.push(name);
            by_name.insert(
                name,
                Emoji {
                    text,
                    tones: tones.clone(),
                },
            );
        }
    }
    Table { by_name, names }
});

/// Code points written as hex joined by `-` (`1F468-200D-1F4BB`), as the data set and Slack's
/// rich text `unicode` field write them.
pub fn decode(code: &str) -> Option<String> {
    code.split('-')
        .map(|hex| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))
        .collect()
}

/// The emoji Slack shows for `:name:`; `None` for a custom emoji or no emoji at all.
pub fn lookup(name: &str) -> Option<&'static str> {
    TABLE.by_name.get(name).map(|e| e.text.as_str())
}

/// The modifier of Slack's skin tone number (`2`–`6`, as in `:skin-tone-3:`).
fn modifier(tone: &str) -> Option<&'static str> {
    Some(match tone {
        "2" => "1F3FB",
        "3" => "1F3FC",
        "4" => "1F3FD",
        "5" => "1F3FE",
        "6" => "1F3FF",
        _ => return None,
    })
}

/// `:name:` with skin tone `tone`: Slack's number (`3`), or two for two-person emoji (`2-5`).
/// An emoji that takes no skin tone stays as it is, followed by the tone's modifier (what Slack
/// shows for such a pair); `None` when the name or the tone is unknown.
pub fn with_tone(name: &str, tone: &str) -> Option<String> {
    let emoji = TABLE.by_name.get(name)?;
    let mut tones = tone.split('-');
    let first = modifier(tones.next()?)?;
    let key = match tones.next() {
        Some(second) => format!("{first}-{}", modifier(second)?),
        None => first.to_string(),
    };
    // A two-person emoji given one tone: both people get it.
    let same_twice = format!("{first}-{first}");
    let variation = emoji
        .tones
        .iter()
        .find(|(k, _)| *k == key || (!key.contains('-') && *k == same_twice));
    Some(match variation {
        Some((_, text)) => text.clone(),
        None => format!("{}{}", emoji.text, decode(&key)?),
    })
}

/// Every name in the data set, in its order (for tests and tools).
pub fn names() -> &'static [&'static str] {
    &TABLE.names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_names_the_issue_found_missing() {
        assert_eq!(lookup("+1"), Some("👍"));
        assert_eq!(lookup("100"), Some("💯"));
        assert_eq!(lookup("face_with_rolling_eyes"), Some("🙄"));
        assert_eq!(lookup("flag-de"), Some("🇩🇪"));
        assert_eq!(lookup("male-technologist"), Some("👨\u{200d}💻"));
        assert_eq!(lookup("no_entry"), Some("⛔\u{fe0f}"));
        assert_eq!(lookup("my-team-party-parrot"), None);
    }

    #[test]
    fn skin_tones_go_where_unicode_puts_them() {
        assert_eq!(with_tone("wave", "3").as_deref(), Some("👋🏼"));
        // Inside a ZWJ sequence the modifier follows the person, not the whole emoji.
        assert_eq!(
            with_tone("male-technologist", "6").as_deref(),
            Some("👨🏿\u{200d}💻")
        );
        assert_eq!(
            with_tone("people_holding_hands", "2-5").as_deref(),
            Some("🧑🏻\u{200d}🤝\u{200d}🧑🏾")
        );
        assert_eq!(
            with_tone("people_holding_hands", "4").as_deref(),
            Some("🧑🏽\u{200d}🤝\u{200d}🧑🏽")
        );
        assert_eq!(with_tone("wave", "9"), None);
        assert_eq!(with_tone("custom", "3"), None);
    }

    #[test]
    fn every_line_of_the_data_is_read() {
        let lines = DATA.lines().filter(|l| !l.starts_with('#')).count();
        let count: usize = DATA
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').next().unwrap_or_default().split(' ').count())
            .sum();
        assert!(lines > 1800, "{lines} emoji");
        assert_eq!(names().len(), count, "names read");
        assert_eq!(TABLE.by_name.len(), count, "every name is unique");
    }
}
