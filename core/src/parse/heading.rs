//! Recognising a section heading: `:ship: Shipped:`, `*Blocked*`, `⏭ Next: ship it`, `Last week:`.
//!
//! A heading is an optional run of emoji, the section's name or a synonym (any case, optionally
//! bold or italic), then either the end of the line or a colon and optional text. A name followed
//! by more words and no colon ("Blocked on the API") is a sentence, not a heading.

use crate::domain::SectionKind;

/// A recognised heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading<'a> {
    pub kind: SectionKind,
    /// The name or synonym it was recognised by, lower case (`"next week"`).
    pub name: &'static str,
    /// The heading as written, through its colon (`":ship: Shipped:"`).
    pub written: &'a str,
    /// Text after the colon on the same line, if any.
    pub rest: Option<&'a str>,
    /// Whether it ended in a colon (bulleted lines only count as headings with one).
    pub colon: bool,
    /// Whether an emoji stood before the name.
    pub emoji: bool,
}

/// Names and synonyms, longest first within overlapping prefixes so `shipped / in progress`
/// wins over `shipped`.
const NAMES: &[(&str, SectionKind)] = &[
    ("shipped / in progress", SectionKind::ShippedInProgress),
    ("shipped/in progress", SectionKind::ShippedInProgress),
    ("shipped & in progress", SectionKind::ShippedInProgress),
    ("shipped and in progress", SectionKind::ShippedInProgress),
    ("last week / in progress", SectionKind::ShippedInProgress),
    ("shipped", SectionKind::Shipped),
    ("done", SectionKind::Shipped),
    ("completed", SectionKind::Shipped),
    ("finished", SectionKind::Shipped),
    ("accomplished", SectionKind::Shipped),
    ("last week", SectionKind::Shipped),
    ("yesterday", SectionKind::Shipped),
    ("previously", SectionKind::Shipped),
    ("in progress", SectionKind::InProgress),
    ("in-progress", SectionKind::InProgress),
    ("wip", SectionKind::InProgress),
    ("doing", SectionKind::InProgress),
    ("ongoing", SectionKind::InProgress),
    ("working on", SectionKind::InProgress),
    ("blocked", SectionKind::Blocked),
    ("blockers", SectionKind::Blocked),
    ("blocker", SectionKind::Blocked),
    ("blocking", SectionKind::Blocked),
    ("impediments", SectionKind::Blocked),
    ("next week", SectionKind::Next),
    ("next", SectionKind::Next),
    ("up next", SectionKind::Next),
    ("this week", SectionKind::Next),
    ("today", SectionKind::Next),
    ("plans", SectionKind::Next),
    ("plan", SectionKind::Next),
    ("planned", SectionKind::Next),
    ("to do", SectionKind::Next),
    ("todo", SectionKind::Next),
    ("notes/questions", SectionKind::Questions),
    ("questions", SectionKind::Questions),
    ("question", SectionKind::Questions),
    ("comments", SectionKind::Questions),
    ("announcements", SectionKind::Questions),
];

/// Recognises `text` (already without its bullet) as a heading.
pub fn recognize(text: &str) -> Option<Heading<'_>> {
    let (after_emoji, emoji) = skip_emoji(text);
    // Where the opening emphasis starts in `text`, past any emoji.
    let emphasis_at = text.len() - after_emoji.len();
    let mut rest = after_emoji;
    // Opening emphasis: `*Blocked*`, `_Next:_`, `**Done**`.
    let open = rest.len() - rest.trim_start_matches(['*', '_']).len();
    rest = &rest[open..];
    // Every name starts with an ASCII letter: most item lines are rejected on their first byte.
    let first = rest.as_bytes().first()?.to_ascii_lowercase();
    let (kind, name) = NAMES.iter().find_map(|(name, kind)| {
        if name.as_bytes()[0] != first {
            return None;
        }
        let candidate = rest.get(..name.len())?;
        candidate
            .eq_ignore_ascii_case(name)
            .then_some((*kind, *name))
    })?;
    rest = &rest[name.len()..];
    // The name must end at a word boundary.
    if rest.chars().next().is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    let close = |s: &str| s.len() - s.trim_start_matches(['*', '_', ' ', '\t']).len();
    rest = &rest[close(rest)..];
    let colon = rest.starts_with(':') || rest.starts_with('：');
    if colon {
        rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
        rest = &rest[close(rest)..];
    } else if !rest.is_empty() && !rest.starts_with('?') {
        return None;
    } else if rest.starts_with('?') {
        rest = rest[1..].trim_start();
    }
    let written_len = text.len() - rest.len();
    let written = text[..written_len].trim_end();
    let rest = Some(rest.trim()).filter(|r| !r.is_empty());
    // Emphasis around the name must be balanced with something after it, or we took a
    // bullet-like `*` of a sentence for bold.
    if open > 0 && !written[emphasis_at + open..].contains(['*', '_']) {
        return None;
    }
    Some(Heading {
        kind,
        name,
        written,
        rest,
        colon,
        emoji,
    })
}

impl Heading<'_> {
    /// The heading as a label of its own: as written, without emphasis, ending in its colon
    /// (`*Next week*` → `Next week:`).
    pub fn label(&self) -> String {
        let plain: String = self
            .written
            .chars()
            .filter(|c| !matches!(c, '*' | '_'))
            .collect();
        let mut label = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        if !label.ends_with([':', '：', '?']) {
            label.push(':');
        }
        label
    }
}

/// Skips leading emoji (Unicode or `:shortcode:`) and whitespace.
fn skip_emoji(text: &str) -> (&str, bool) {
    let mut rest = text.trim_start();
    let mut seen = false;
    loop {
        if let Some(after) = rest.strip_prefix(':')
            && let Some(end) = after.find(':')
            && end > 0
            && after[..end]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        {
            rest = after[end + 1..].trim_start();
            seen = true;
            continue;
        }
        match rest.chars().next() {
            Some(c) if is_emoji_char(c) => {
                rest = rest[c.len_utf8()..].trim_start();
                seen = true;
            }
            _ => return (rest, seen),
        }
    }
}

/// Pictographs, symbols and the joiners and selectors that combine them.
fn is_emoji_char(c: char) -> bool {
    let cp = c as u32;
    matches!(cp,
        0x200D | 0x20E3 | 0xFE0E | 0xFE0F
        | 0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x2460..=0x27BF
        | 0x2900..=0x297F
        | 0x2B00..=0x2BFF
        | 0x1F000..=0x1FAFF
        | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SectionKind::*;
    use rstest::rstest;

    #[rstest]
    #[case(":ship: Shipped:", Shipped, ":ship: Shipped:", None)]
    #[case("🚢 Shipped:", Shipped, "🚢 Shipped:", None)]
    #[case(
        ":construction: In progress:",
        InProgress,
        ":construction: In progress:",
        None
    )]
    #[case(":no_entry: Blocked:", Blocked, ":no_entry: Blocked:", None)]
    #[case("⛔\u{fe0f} Blocked:", Blocked, "⛔\u{fe0f} Blocked:", None)]
    #[case(
        ":black_right_pointing_double_triangle_with_vertical_bar: Next:",
        Next,
        ":black_right_pointing_double_triangle_with_vertical_bar: Next:",
        None
    )]
    #[case("*Blocked*", Blocked, "*Blocked*", None)]
    #[case("*Blocked:*", Blocked, "*Blocked:*", None)]
    #[case("*Blocked*: the API", Blocked, "*Blocked*:", Some("the API"))]
    #[case("blocked", Blocked, "blocked", None)]
    #[case("BLOCKERS:", Blocked, "BLOCKERS:", None)]
    #[case("Last week:", Shipped, "Last week:", None)]
    #[case("Yesterday", Shipped, "Yesterday", None)]
    #[case("Done:", Shipped, "Done:", None)]
    #[case(
        "This week: finish the \"frontend\" work",
        Next,
        "This week:",
        Some("finish the \"frontend\" work")
    )]
    #[case("Today:", Next, "Today:", None)]
    #[case("Plan", Next, "Plan", None)]
    #[case(
        "🚢 Shipped / in progress:",
        ShippedInProgress,
        "🚢 Shipped / in progress:",
        None
    )]
    #[case("Questions?", Questions, "Questions?", None)]
    // Emoji before emphasis (found by fuzzing: these used to panic slicing inside the emoji).
    #[case("🚢 *Shipped*", Shipped, "🚢 *Shipped*", None)]
    #[case("✅*Done*: all of it", Shipped, "✅*Done*:", Some("all of it"))]
    #[case(":no_entry: **Blockers**", Blocked, ":no_entry: **Blockers**", None)]
    fn recognizes(
        #[case] text: &str,
        #[case] kind: SectionKind,
        #[case] written: &str,
        #[case] rest: Option<&str>,
    ) {
        let h = recognize(text).unwrap_or_else(|| panic!("{text:?} is a heading"));
        assert_eq!(
            (h.kind, h.written, h.rest),
            (kind, written, rest),
            "{text:?}"
        );
    }

    #[rstest]
    #[case("Blocked on the API team")]
    #[case("Doneness criteria reviewed")]
    #[case("Next steps are unclear")]
    #[case("Reviews")]
    #[case("*Blocked on review")]
    #[case("🚢 *Shipped")]
    #[case(":unknown: *Done")]
    #[case("10:30:00 meeting")]
    #[case("")]
    fn rejects(#[case] text: &str) {
        assert_eq!(recognize(text), None, "{text:?}");
    }
}
