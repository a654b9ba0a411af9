//! Follow-through from one cycle to the next: what a member planned last time (their *Next* /
//! *This week* items), the reply text that carries chosen items into this cycle, and whether
//! each planned item shipped.
//!
//! Pure: no Slack calls, no SQL. A carry is written as reply text (readable, and in the Slack
//! mrkdwn the parser reads), so it is stored and versioned like any other message of the
//! member; [`with_carry`] reads it back item by item and adds it to the update parsed from the
//! member's own messages, so each item keeps exactly the text it had.
//!
//! **Matching planned and done items** (the planned-vs-done section): a planned item counts as
//! shipped when a line of this cycle's *Shipped* (or *Shipped / in progress*; *Last week* in
//! the `standup` format) says the same words — compared ignoring case, punctuation, emoji and
//! spacing, a Markdown link counting as its label — or links the same URL. So
//! `[Exporter](https://example.org/x) module` matches `exporter module!` and
//! `[PR #212](https://example.org/pr/212)`.

use sha2::{Digest, Sha256};

use crate::domain::{Extra, Format, Item, Marker, Meeting, SectionKind, Update};

/// The heading of the planned-vs-done section in the document.
pub const PLANNED_VS_DONE: &str = "Planned vs done";

/// What a member planned in `update`: the top-level items of its *Next* sections (with what is
/// nested under them), each heading's inline text first. "Nothing" markers (`N/A`, `-`) are not
/// plans.
pub fn planned(update: &Update) -> Vec<Item> {
    let mut plans = Vec::new();
    for next in update.sections_of(SectionKind::Next) {
        let inline = next
            .text
            .iter()
            .filter(|t| !crate::domain::is_nothing(t))
            .map(|t| Item::new(Marker::Auto, t.clone()));
        let items = next
            .items
            .iter()
            .filter(|i| !crate::domain::is_nothing(&i.text))
            .cloned();
        plans.extend(inline.chain(items));
    }
    plans
}

/// A short, stable id of a planned item for a checkbox value: its position and a digest of its
/// text, so a click on a plan that has changed since the prompt selects nothing wrong.
pub fn item_id(index: usize, item: &Item) -> String {
    let digest = Sha256::digest(item.text.as_bytes());
    let short = hex::encode(&digest[..4]);
    format!("{index}:{short}")
}

/// The reply text that records `shipped` under *Shipped* / *Last week* and `kept` under
/// *Next* / *This week*, nesting kept. Parsing it gives back the items' exact texts: `&`, `<`
/// and `>` are escaped as Slack escapes them, and Markdown links pass through the parser as
/// they are.
pub fn carry_text(format: Format, shipped: &[Item], kept: &[Item]) -> String {
    let mut out = String::new();
    for (kind, items) in [(SectionKind::Shipped, shipped), (SectionKind::Next, kept)] {
        if items.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(heading_word(format, kind));
        for item in items {
            for (depth, line) in item.walk() {
                out.push('\n');
                out.push_str(&"    ".repeat(depth));
                out.push('-');
                if !line.text.is_empty() {
                    out.push(' ');
                    out.push_str(&escape_mrkdwn(&line.text));
                }
            }
        }
    }
    out
}

/// The update of a member whose reply text `combined` ends with their carry `carry`: their own
/// text parsed as any reply (`parse`), with the carried items added under their sections.
/// The carry is read here rather than by the reply parser, so a carried item keeps its exact
/// text even when it reads like a heading (`Todo: x`) or holds a `:shortcode:`.
pub fn with_carry(
    combined: &str,
    carry: Option<&str>,
    format: Format,
    parse: impl FnOnce(&str) -> (Update, Vec<crate::domain::Diagnostic>),
) -> (Update, Vec<crate::domain::Diagnostic>) {
    let (mut update, diagnostics) = parse(own_text(combined, carry));
    let Some(carry) = carry else {
        return (update, diagnostics);
    };
    for (kind, items) in read_carry(format, carry) {
        match update.sections.iter_mut().find(|s| s.kind == Some(kind)) {
            Some(section) => section.items.extend(items),
            None => {
                let mut section = crate::domain::Section::new(kind);
                section.items = items;
                update.sections.push(section);
            }
        }
    }
    let order = format.section_order();
    update
        .sections
        .sort_by_key(|s| s.kind.and_then(|k| order.iter().position(|o| *o == k)));
    (update, diagnostics)
}

/// The sections and items of a text written by [`carry_text`].
fn read_carry(format: Format, text: &str) -> Vec<(SectionKind, Vec<Item>)> {
    let mut out: Vec<(SectionKind, crate::parse::lines::TreeBuilder)> = Vec::new();
    for line in text.lines() {
        let heading = [SectionKind::Shipped, SectionKind::Next]
            .into_iter()
            .find(|k| line == heading_word(format, *k));
        if let Some(kind) = heading {
            out.push((kind, crate::parse::lines::TreeBuilder::new()));
            continue;
        }
        let Some((_, tree)) = out.last_mut() else {
            continue;
        };
        let (indent, rest) = crate::parse::lines::split_indent(line);
        let Some(rest) = rest.strip_prefix('-') else {
            continue;
        };
        let text = unescape_mrkdwn(rest.strip_prefix(' ').unwrap_or(rest));
        tree.push(indent, Item::new(Marker::Auto, text));
    }
    out.into_iter()
        .map(|(kind, tree)| (kind, tree.finish()))
        .collect()
}

fn unescape_mrkdwn(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A plain heading the reply parser reads as `kind` in `format`.
fn heading_word(format: Format, kind: SectionKind) -> &'static str {
    match (format, kind) {
        (Format::Standup, SectionKind::Shipped) => "Last week:",
        (Format::Standup, _) => "This week:",
        (Format::Planning, SectionKind::Shipped) => "Shipped:",
        (Format::Planning, _) => "Next:",
    }
}

/// Slack escapes these three in message text; the parser turns them back.
fn escape_mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The items of `items` that `update` does not already list under `kind`, by [`same_item`]:
/// carrying what the member already typed would show it twice.
pub fn not_yet_in(update: Option<&Update>, kind: SectionKind, items: Vec<Item>) -> Vec<Item> {
    let Some(update) = update else {
        return items;
    };
    let texts: Vec<&str> = update.sections_of(kind).flat_map(|s| s.texts()).collect();
    items
        .into_iter()
        .filter(|i| !texts.iter().any(|t| same_item(&i.text, t)))
        .collect()
}

/// The member's own text in a combined reply text that ends with their carry: diagnostics are
/// taken from it alone, so the carry's headings do not produce notes about headings the member
/// never wrote.
pub fn own_text<'a>(combined: &'a str, carry: Option<&str>) -> &'a str {
    match carry {
        Some(carry) if !carry.trim().is_empty() => combined
            .strip_suffix(carry)
            .map_or(combined, |own| own.trim_end_matches('\n')),
        _ => combined,
    }
}

/// Whether two item texts say the same thing (see the module docs).
pub fn same_item(a: &str, b: &str) -> bool {
    let (ka, kb) = (match_key(a), match_key(b));
    if !ka.is_empty() && ka == kb {
        return true;
    }
    let ua = urls(a);
    !ua.is_empty() && urls(b).iter().any(|u| ua.contains(u))
}

/// Lower-case words of `text`, links counted as their labels, everything else dropped.
pub fn match_key(text: &str) -> String {
    let labels = link_labels(text);
    let mut out = String::new();
    let mut gap = false;
    for c in labels.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// `text` with each Markdown link `[label](url)` replaced by its label.
pub fn link_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, label, _url, after)) = next_link(rest) {
        out.push_str(before);
        out.push_str(label);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The URLs `text` links to: Markdown link targets and bare `http(s)://` words.
fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut plain = String::new();
    while let Some((before, _label, url, after)) = next_link(rest) {
        plain.push_str(before);
        plain.push(' ');
        out.push(normal_url(url));
        rest = after;
    }
    plain.push_str(rest);
    for word in plain.split_whitespace() {
        let word = word.trim_matches(|c: char| "()<>,;.!?\"'".contains(c));
        if word.starts_with("http://") || word.starts_with("https://") {
            out.push(normal_url(word));
        }
    }
    out
}

fn normal_url(url: &str) -> String {
    url.trim_end_matches('/').to_lowercase()
}

/// The first Markdown link in `text`: (text before it, label, url, text after it).
pub fn next_link(text: &str) -> Option<(&str, &str, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| i + from) {
        let close = text[open..].find("](").map(|i| i + open)?;
        let end = text[close + 2..].find(')').map(|i| i + close + 2)?;
        let url = &text[close + 2..end];
        let label = &text[open + 1..close];
        if !label.contains(']') && !url.is_empty() && !url.contains(char::is_whitespace) {
            return Some((&text[..open], &text[open + 1..close], url, &text[end + 1..]));
        }
        from = open + 1;
    }
    None
}

/// An item's text as a short plain label (a checkbox option shows at most 75 characters).
pub fn label(text: &str, max: usize) -> String {
    let plain = link_labels(text);
    let plain = plain.trim();
    if plain.chars().count() <= max {
        return plain.to_string();
    }
    let mut cut: String = plain.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Whether each planned item shipped in `done` (see the module docs for the match).
pub fn shipped_items<'a>(planned: &'a [Item], done: Option<&Update>) -> Vec<(&'a Item, bool)> {
    let lines: Vec<&str> = done
        .map(|u| {
            [SectionKind::Shipped, SectionKind::ShippedInProgress]
                .iter()
                .flat_map(|k| u.sections_of(*k))
                .flat_map(|s| s.texts())
                .collect()
        })
        .unwrap_or_default();
    planned
        .iter()
        .map(|p| (p, lines.iter().any(|l| same_item(&p.text, l))))
        .collect()
}

/// The planned-vs-done section of `current`: per member of its roster who planned something in
/// `previous`, how many planned items shipped and which. `None` when nobody had a plan.
pub fn planned_vs_done(previous: &Meeting, current: &Meeting) -> Option<Extra> {
    let bullet = current.format.bullet(0);
    let mut lines = Vec::new();
    for entry in &current.entries {
        let Some(plan) = previous
            .entries
            .iter()
            .find(|e| e.handle == entry.handle)
            .and_then(|e| e.update.as_ref())
            .map(planned)
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let answered = entry.update.as_ref().filter(|u| !u.is_empty());
        let status = shipped_items(&plan, answered);
        let marks: Vec<String> = status
            .iter()
            .map(|(item, done)| format!("{} {}", if *done { "✅" } else { "⏳" }, item.text))
            .collect();
        let line = if answered.is_none() {
            format!(
                "{bullet} @{}: no update yet — planned: {}",
                entry.handle,
                marks.join("; ")
            )
        } else {
            let n = status.iter().filter(|(_, d)| *d).count();
            format!(
                "{bullet} @{}: {n} of {} planned item{} shipped — {}",
                entry.handle,
                plan.len(),
                if plan.len() == 1 { "" } else { "s" },
                marks.join("; ")
            )
        };
        lines.push(line);
    }
    (!lines.is_empty()).then(|| Extra {
        heading: PLANNED_VS_DONE.to_string(),
        body: lines.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Entry, Section};
    use crate::parse::{NoNames, parse_reply};

    fn update(format: Format, text: &str) -> Update {
        parse_reply(text, format, &NoNames).update
    }

    /// Item texts with their depth, markers left out.
    fn texts(items: &[Item]) -> Vec<(usize, String)> {
        items
            .iter()
            .flat_map(Item::walk)
            .map(|(d, i)| (d, i.text.clone()))
            .collect()
    }

    #[test]
    fn planned_items_are_the_next_section_with_nesting() {
        let u = update(
            Format::Planning,
            "Shipped:\n- a\nNext:\n- <https://example.org/x|the importer> & docs\n    - sub point\n- n/a\n- review",
        );
        let plan = planned(&u);
        assert_eq!(
            texts(&plan),
            vec![
                (
                    0,
                    "[the importer](https://example.org/x) & docs".to_string()
                ),
                (1, "sub point".to_string()),
                (0, "review".to_string()),
            ]
        );
        let standup = update(Format::Standup, "This week: finish the frontend\n* tests");
        assert_eq!(
            texts(&planned(&standup)),
            vec![
                (0, "finish the frontend".to_string()),
                (0, "tests".to_string())
            ]
        );
        assert!(planned(&update(Format::Planning, "Shipped:\n- a")).is_empty());
    }

    #[test]
    fn carried_text_parses_back_to_the_same_items() {
        for format in Format::ALL {
            let plan = planned(&update(
                format,
                "Next:\n- <https://example.org/pr/212|#212> moves `a<b>` & c\n    - nested <@U1>\n        - deeper\n- 🚢 emoji kept: yes\n- plain",
            ));
            let (shipped, kept) = plan.split_at(2);
            let text = carry_text(format, shipped, kept);
            let back = update(format, &text);
            let section = |k| back.section(k).map(|s| s.items.clone()).unwrap_or_default();
            assert_eq!(
                texts(&section(SectionKind::Shipped)),
                texts(shipped),
                "{text}"
            );
            assert_eq!(texts(&section(SectionKind::Next)), texts(kept), "{text}");
        }
    }

    #[test]
    fn carried_items_keep_their_text_even_when_they_read_like_headings() {
        for format in Format::ALL {
            let items = vec![
                Item {
                    marker: Marker::Auto,
                    text: "Todo: the :smile: & <docs>".into(),
                    children: vec![Item::new(Marker::Auto, "Done: a sub-point")],
                },
                Item::new(Marker::Auto, "[#212](https://e.org/pr/212) &amp; more"),
            ];
            let carry = carry_text(format, &items, &items[1..]);
            let combined = format!("free text first\n{carry}");
            let (u, diags) = with_carry(&combined, Some(&carry), format, |t| {
                let p = parse_reply(t, format, &NoNames);
                (p.update, p.diagnostics)
            });
            assert!(diags.is_empty(), "{diags:?}");
            let shipped = u.section(SectionKind::Shipped).unwrap();
            assert_eq!(
                texts(&shipped.items),
                vec![
                    (0, "free text first".to_string()),
                    (0, "Todo: the :smile: & <docs>".to_string()),
                    (1, "Done: a sub-point".to_string()),
                    (0, "[#212](https://e.org/pr/212) &amp; more".to_string()),
                ]
            );
            assert_eq!(
                texts(&u.section(SectionKind::Next).unwrap().items),
                texts(&items[1..])
            );
            let order: Vec<_> = u.sections.iter().map(|s| s.kind).collect();
            let mut sorted = order.clone();
            sorted.sort_by_key(|k| {
                k.and_then(|k| format.section_order().iter().position(|o| *o == k))
            });
            assert_eq!(order, sorted);
        }
    }

    #[test]
    fn carry_text_uses_the_formats_words() {
        let items = vec![Item::new(Marker::Auto, "a")];
        assert_eq!(
            carry_text(Format::Planning, &items, &items),
            "Shipped:\n- a\nNext:\n- a"
        );
        assert_eq!(carry_text(Format::Standup, &items, &[]), "Last week:\n- a");
    }

    #[test]
    fn matching_ignores_case_punctuation_and_link_syntax() {
        assert!(same_item(
            "[Exporter](https://example.org/x) module",
            "exporter module!"
        ));
        assert!(same_item(
            "PR [#212](https://example.org/pr/212)",
            "[the nightly job](https://example.org/pr/212/)"
        ));
        assert!(same_item(
            "Review the storage doc.",
            "review the  storage doc"
        ));
        assert!(same_item(
            "ship https://example.org/a",
            "https://example.org/a"
        ));
        assert!(!same_item("review", "review the storage doc"));
        assert!(!same_item("!!!", "???"));
        assert_eq!(match_key("Ünïcode — Straße 2.0"), "ünïcode straße 2 0");
    }

    #[test]
    fn items_already_typed_are_not_carried_twice() {
        let u = update(Format::Planning, "Shipped:\n- The importer");
        let items = vec![
            Item::new(Marker::Auto, "the importer."),
            Item::new(Marker::Auto, "docs"),
        ];
        let left = not_yet_in(Some(&u), SectionKind::Shipped, items);
        assert_eq!(texts(&left), vec![(0, "docs".to_string())]);
    }

    #[test]
    fn own_text_drops_the_carry_at_the_end() {
        assert_eq!(
            own_text("did things\nShipped:\n- a", Some("Shipped:\n- a")),
            "did things"
        );
        assert_eq!(own_text("Shipped:\n- a", Some("Shipped:\n- a")), "");
        assert_eq!(own_text("x", None), "x");
    }

    #[test]
    fn labels_are_plain_and_short() {
        assert_eq!(
            label("[Exporter](https://e.org) module", 75),
            "Exporter module"
        );
        assert_eq!(label("abcdef", 4), "abc…");
        assert_eq!(link_labels("[x] done [y](https://e.org)"), "[x] done y");
    }

    fn entry(handle: &str, update: Option<Update>) -> Entry {
        Entry {
            handle: handle.into(),
            update,
            note: None,
        }
    }

    fn meeting(format: Format, entries: Vec<Entry>) -> Meeting {
        Meeting {
            format,
            date: chrono::NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            title: "t".into(),
            blocks: Vec::new(),
            entries,
            questions: Vec::new(),
            extras: Vec::new(),
        }
    }

    #[test]
    fn planned_vs_done_per_member() {
        let f = Format::Planning;
        let before = meeting(
            f,
            vec![
                entry(
                    "maria",
                    Some(update(
                        f,
                        "Next:\n- <https://e.org/i|the importer>\n- review\n- docs",
                    )),
                ),
                entry("kenji", Some(update(f, "Next:\n- the aggregator"))),
                entry("li", Some(update(f, "Shipped:\n- x"))),
            ],
        );
        let now = meeting(
            f,
            vec![
                entry(
                    "maria",
                    Some(update(
                        f,
                        "Shipped:\n- The importer\n- Review!\nNext:\n- docs",
                    )),
                ),
                entry("kenji", None),
                entry("li", Some(update(f, "Shipped:\n- y"))),
                entry("zoe", None),
            ],
        );
        let extra = planned_vs_done(&before, &now).expect("a section");
        assert_eq!(extra.heading, "Planned vs done");
        assert_eq!(
            extra.body,
            "- @maria: 2 of 3 planned items shipped — ✅ [the importer](https://e.org/i); ✅ review; ⏳ docs\n\
             - @kenji: no update yet — planned: ⏳ the aggregator"
        );
        let standup = meeting(
            Format::Standup,
            vec![entry(
                "li",
                Some(update(Format::Standup, "This week:\n* tests")),
            )],
        );
        let done = meeting(
            Format::Standup,
            vec![entry(
                "li",
                Some(update(Format::Standup, "Last week:\n* Tests")),
            )],
        );
        assert_eq!(
            planned_vs_done(&standup, &done).unwrap().body,
            "* @li: 1 of 1 planned item shipped — ✅ tests"
        );
        let nothing = meeting(
            f,
            vec![entry(
                "li",
                Some(Update {
                    sections: vec![Section::new(SectionKind::Next)],
                }),
            )],
        );
        assert_eq!(planned_vs_done(&nothing, &now), None);
    }
}
