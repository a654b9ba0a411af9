use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// A compact view of a parse: one line per section, item or diagnostic.
fn show(parsed: &Parsed) -> String {
    let mut out = String::new();
    for s in &parsed.update.sections {
        let kind = s.kind.map_or("?", |k| k.name());
        match &s.heading {
            Some(label) => out.push_str(&format!("[{kind} as {label:?}]")),
            None => out.push_str(&format!("[{kind}]")),
        }
        if let Some(t) = &s.text {
            out.push_str(&format!(" {t}"));
        }
        out.push('\n');
        for (depth, item) in s.lines() {
            let marker = match &item.marker {
                Marker::Auto => "•".to_string(),
                Marker::Bullet(b) => b.clone(),
                Marker::Plain => "¶".to_string(),
            };
            out.push_str(&format!(
                "{}{marker} {}\n",
                "  ".repeat(depth + 1),
                item.text
            ));
        }
    }
    for d in &parsed.diagnostics {
        out.push_str(&format!("! line {}: {}\n", d.line, d.message));
    }
    out
}

fn check(format: Format, input: &str, expected: &str) {
    let names: HashMap<String, String> = [("U024BE7LH".to_string(), "maria".to_string())].into();
    let parsed = parse_reply(input, format, &names);
    assert_eq!(show(&parsed), expected, "input:\n{input}");
}

#[test]
fn planning_reply_with_shortcode_headings() {
    check(
        Format::Planning,
        ":ship: Shipped:\n• <https://example.org/exporter|Exporter> module &amp; docs\n    ◦ reviewed by <@U024BE7LH>\n:no_entry: Blocked:\n• N/A\n:black_right_pointing_double_triangle_with_vertical_bar: Next:\n1. get back up to speed\n2. review the storage doc\n",
        "[shipped]\n  • [Exporter](https://example.org/exporter) module & docs\n    • reviewed by @maria\n[blocked]\n  • N/A\n[next]\n  1. get back up to speed\n  2. review the storage doc\n",
    );
}

/// Found by fuzzing (tests/fuzz.rs): an emoji before a bold heading used to panic the parser,
/// so the bot dropped the whole reply.
#[test]
fn emoji_before_bold_headings() {
    check(
        Format::Planning,
        ":ship:*Yesterday*\n• shipped it\n✅ *Done*: docs\n:no_entry: **Blockers**\n• review\n",
        "[shipped as \"🚢Yesterday:\"]\n  • shipped it\n[shipped as \"✅ Done:\"]\n  • docs\n[blocked]\n  • review\n! line 3: `✅ Done` read as another `🚢Yesterday` section; kept under its own heading\n",
    );
}

/// Issue 11: `Next week:` after `This week:` used to be merged into *This week* and its words
/// dropped from the notes.
#[test]
fn a_kind_under_a_second_name_keeps_its_label() {
    check(
        Format::Standup,
        "Last week:\n* reviews\nThis week: finish the frontend\nNext week:\n* start on the docs\n*Next week:*\n* and the release\n",
        "[shipped]\n  • reviews\n[next as \"This week:\"] finish the frontend\n[next as \"Next week:\"]\n  • start on the docs\n  • and the release\n! line 4: `Next week` read as another `This week` section; kept under its own heading\n! line 6: a second `Next week` heading; its items were added to the first\n",
    );
    // Questions under two names stay one section: they are gathered into the meeting's.
    check(
        Format::Planning,
        "Questions:\n- why?\nComments:\n- nice\n",
        "[questions]\n  • why?\n  • nice\n! line 3: `Comments` read as more `Questions`; its items were added to them\n",
    );
    // Text before any heading joins the first heading of its kind, as before.
    check(
        Format::Planning,
        "fixed the build\nShipped:\n- docs\n",
        "[shipped]\n  • fixed the build\n  • docs\n! line 1: line 1 came before any heading; kept under `🚢 Shipped`\n",
    );
}

#[test]
fn blockers_and_plans_come_from_every_section_of_their_kind() {
    let parsed = parse_reply(
        "Blocked: the VPN\nBlockers:\n- review from infra\nToday:\n- a\nTomorrow maybe\nNext week:\n- b\n",
        Format::Standup,
        &NoNames,
    );
    assert_eq!(
        parsed.update.blockers(),
        vec!["the VPN".to_string(), "review from infra".to_string()]
    );
    let plans: Vec<String> = crate::followthrough::planned(&parsed.update)
        .into_iter()
        .map(|i| i.text)
        .collect();
    assert_eq!(plans, ["a", "Tomorrow maybe", "b"]);
}

#[test]
fn bold_and_plain_headings_in_any_order_are_sorted() {
    check(
        Format::Planning,
        "*Next*\n- ship the aggregator\n*Blocked:* short week / moving\nin progress\n- indexer\n",
        "[in_progress]\n  • indexer\n[blocked]\n  • short week / moving\n[next]\n  • ship the aggregator\n",
    );
}

#[test]
fn standup_synonyms_and_inline_text() {
    check(
        Format::Standup,
        "Yesterday:\n* Pubsub monitoring\n* PR for repo stat\n    - benchmarks attached\nToday: finish the frontend work\n",
        "[shipped]\n  • Pubsub monitoring\n  • PR for repo stat\n    • benchmarks attached\n[next] finish the frontend work\n",
    );
}

#[test]
fn standup_always_has_both_headings() {
    check(
        Format::Standup,
        "Blocked: no VPN access\n",
        "[shipped]\n[next]\n[blocked] no VPN access\n",
    );
}

#[test]
fn no_heading_is_one_free_text_update() {
    check(
        Format::Planning,
        "Mostly reviews this week.\nAlso fixed the flaky test.",
        "[shipped]\n  • Mostly reviews this week.\n  • Also fixed the flaky test.\n",
    );
}

#[test]
fn text_before_the_first_heading_is_kept_and_reported() {
    check(
        Format::Planning,
        "Hi! Here is my update\nNext:\n- docs\n",
        "[shipped]\n  • Hi! Here is my update\n[next]\n  • docs\n! line 1: line 1 came before any heading; kept under `🚢 Shipped`\n",
    );
}

#[test]
fn repeated_heading_merges_and_reports() {
    check(
        Format::Planning,
        "Blocked:\n- a\nNext:\n- b\nBlocked:\n- c\n",
        "[blocked]\n  • a\n  • c\n[next]\n  • b\n! line 5: a second `Blocked` heading; its items were added to the first\n",
    );
}

#[test]
fn a_sentence_starting_with_a_section_name_is_not_a_heading() {
    check(
        Format::Planning,
        "Done:\n• Blocked on the API team for a day, now fine\n",
        "[shipped]\n  • Blocked on the API team for a day, now fine\n",
    );
}

#[test]
fn pasted_markdown_format_is_understood() {
    check(
        Format::Planning,
        "- 🚢 Shipped:\n    - Reorganized the indexer\n        - ( the demo is recorded: https://example.org/demo )\n- ⛔️ Blocked:\n    - Short week / moving\n",
        "[shipped]\n  • Reorganized the indexer\n    • ( the demo is recorded: https://example.org/demo )\n[blocked]\n  • Short week / moving\n",
    );
}

#[test]
fn blockers_ignore_nothing_markers() {
    let parsed = parse_reply("Blocked: none", Format::Planning, &NoNames);
    assert!(parsed.update.blockers().is_empty());
    let parsed = parse_reply(
        "*Blocked*\n• waiting on infra\n• N/A",
        Format::Planning,
        &NoNames,
    );
    assert_eq!(
        parsed.update.blockers(),
        vec!["waiting on infra".to_string()]
    );
}

/// Lines of arbitrary Slack-ish text: bullets, headings, markup, emoji and junk.
fn reply_line() -> impl Strategy<Value = String> {
    let indent = prop::sample::select(vec!["", "  ", "    ", "\t", "        "]);
    let bullet = prop::sample::select(vec!["", "• ", "◦ ", "▪ ", "- ", "* ", "1. ", "-", "*"]);
    let body = prop_oneof![
        Just("Shipped:".to_string()),
        Just(":no_entry: Blocked: the API".to_string()),
        Just("*Next*".to_string()),
        Just("This week: finish".to_string()),
        Just("<https://example.org|link> &amp; <@U1> <!here>".to_string()),
        Just(":ship::tada: :unknown: 10:30:00".to_string()),
        "[a-zA-Z0-9 :*_<>|&;@#!.-]{0,24}",
        any::<String>(),
    ];
    (indent, bullet, body).prop_map(|(i, b, t)| format!("{i}{b}{t}"))
}

/// A word the test writes into a reply and must find again: letters then digits, so it is
/// never a section name, an emoji shortcode or part of Slack's markup.
fn content_word() -> impl Strategy<Value = String> + Clone {
    "[a-z]{2,6}[0-9]{1,3}"
}

fn is_content_word(token: &str) -> bool {
    let letters = token.bytes().take_while(u8::is_ascii_lowercase).count();
    (2..=6).contains(&letters)
        && (1..=3).contains(&(token.len() - letters))
        && token.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// One word as a member might write it in Slack: plain, emphasised, struck, as code or as a
/// link's label; with Slack markup and emoji around it that carry no words of their own.
fn written_word() -> impl Strategy<Value = (String, String)> + Clone {
    let dress = prop::sample::select(vec![
        "{}",
        "*{}*",
        "_{}_",
        "~{}~",
        "`{}`",
        "<https://example.org/page|{}>",
        "{},",
        "({})",
        "{}!",
    ]);
    let noise = prop::sample::select(vec![
        "", "", "", ":tada:", "&amp;", "&lt;", "<!here>", "<@U1>", "—", "10:30", "+1", "🚀",
    ]);
    (content_word(), dress, noise)
        .prop_map(|(word, dress, noise)| (format!("{noise} {}", dress.replace("{}", &word)), word))
}

/// A reply built from section headings and lines of known words: the reply's text and, for
/// each run of lines under one heading, the words written there, in order.
fn reply_with_known_words() -> impl Strategy<Value = (String, Vec<Vec<String>>)> {
    let heading = prop::sample::select(vec![
        "Shipped:",
        "*Done*",
        ":ship: Shipped:",
        "In progress:",
        ":no_entry: Blocked:",
        "*Blocked*",
        "Next:",
        "_Next:_",
        "Today:",
        "Yesterday:",
        "This week:",
        "Last week:",
        "Questions:",
    ]);
    let words = prop::collection::vec(written_word(), 0..5);
    let line = prop_oneof![
        1 => (heading, words.clone()).prop_map(|(h, w)| (true, String::new(), h.to_string(), w)),
        4 => (
            prop::sample::select(vec!["", "  ", "    ", "\t"]),
            prop::sample::select(vec!["", "• ", "◦ ", "- ", "* ", "1. "]),
            words
        )
            .prop_map(|(i, b, w)| (false, i.to_string(), b.to_string(), w)),
    ];
    prop::collection::vec(line, 0..16).prop_map(|lines| {
        let mut text = Vec::new();
        let mut blocks: Vec<Vec<String>> = vec![Vec::new()];
        for (is_heading, indent, lead, words) in lines {
            if is_heading {
                blocks.push(Vec::new());
            }
            let written: String = words.iter().map(|(w, _)| format!(" {w}")).collect();
            text.push(format!("{indent}{lead}{written}"));
            let block = blocks.last_mut().expect("a block is open");
            block.extend(words.into_iter().map(|(_, word)| word));
        }
        (text.join("\n"), blocks)
    })
}

/// The words of a text as a reader sees them: runs of letters and digits.
fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Whether `needles` appear in `haystack` in the same order (gaps allowed).
fn in_order<'a>(needles: &[String], haystack: impl IntoIterator<Item = &'a str>) -> bool {
    let mut rest = needles.iter().peekable();
    for word in haystack {
        if rest.peek().is_some_and(|n| n.as_str() == word) {
            rest.next();
        }
    }
    rest.peek().is_none()
}

/// The parser's promise, checked against the reply's own words and not the parser's steps:
/// the words under each heading are found, in the order written, in one section of the update
/// (a heading's inline text, then its items), and no word is kept fewer times than written.
fn keeps_every_word(blocks: &[Vec<String>], parsed: &Parsed) -> Result<(), String> {
    let sections: Vec<Vec<&str>> = parsed
        .update
        .sections
        .iter()
        .map(|s| {
            let mut words: Vec<&str> = s
                .text
                .as_deref()
                .map(words_of)
                .into_iter()
                .flatten()
                .collect();
            for (_, item) in s.lines() {
                words.extend(words_of(&item.text));
            }
            words
        })
        .collect();
    for block in blocks.iter().filter(|b| !b.is_empty()) {
        if !sections.iter().any(|s| in_order(block, s.iter().copied())) {
            return Err(format!(
                "the words {block:?} are not in any section in this order"
            ));
        }
    }
    let mut written: HashMap<&str, usize> = HashMap::new();
    for word in blocks.iter().flatten() {
        *written.entry(word.as_str()).or_default() += 1;
    }
    let mut kept: HashMap<&str, usize> = HashMap::new();
    for word in sections.iter().flatten().filter(|w| is_content_word(w)) {
        *kept.entry(word).or_default() += 1;
    }
    for (word, n) in written {
        let found = kept.get(word).copied().unwrap_or_default();
        if found < n {
            return Err(format!("{word:?} written {n} times, kept {found} times"));
        }
    }
    Ok(())
}

#[test]
fn the_oracle_sees_a_lost_or_moved_word() {
    let blocks = vec![vec!["ab1".to_string(), "cd2".to_string()]];
    let parsed = parse_reply("Shipped:\n- ab1 *cd2*", Format::Planning, &NoNames);
    assert_eq!(keeps_every_word(&blocks, &parsed), Ok(()));
    let lost = parse_reply("Shipped:\n- ab1", Format::Planning, &NoNames);
    assert!(keeps_every_word(&blocks, &lost).is_err());
    let swapped = parse_reply("Shipped:\n- cd2 ab1", Format::Planning, &NoNames);
    assert!(keeps_every_word(&blocks, &swapped).is_err());
    let split = parse_reply("Shipped:\n- ab1\nNext:\n- cd2", Format::Planning, &NoNames);
    assert!(keeps_every_word(&blocks, &split).is_err());
}

proptest! {
    #[test]
    fn loses_no_word_and_keeps_the_order((input, blocks) in reply_with_known_words(), standup in any::<bool>()) {
        let format = if standup { Format::Standup } else { Format::Planning };
        let parsed = parse_reply(&input, format, &NoNames);
        if let Err(e) = keeps_every_word(&blocks, &parsed) {
            prop_assert!(false, "{e}\ninput: {input:?}");
        }
    }

    #[test]
    fn never_panics_on_slack_shaped_lines(lines in prop::collection::vec(reply_line(), 0..24), standup in any::<bool>()) {
        let input = lines.join("\n");
        let format = if standup { Format::Standup } else { Format::Planning };
        let parsed = parse_reply(&input, format, &NoNames);
        let kept: usize = parsed.update.sections.iter()
            .map(|s| s.lines().len() + usize::from(s.text.is_some()))
            .sum();
        prop_assert!(kept <= input.lines().count());
    }

    #[test]
    fn never_panics_on_any_string(input in any::<String>()) {
        let parsed = parse_reply(&input, Format::Planning, &NoNames);
        let lines = input.lines().filter(|l| !l.trim().is_empty()).count();
        let kept: usize = parsed.update.sections.iter()
            .map(|s| s.lines().len() + usize::from(s.text.is_some()))
            .sum();
        prop_assert!(kept <= lines);
    }
}

/// Hostile replies: 10,000 nested bullets and a 10 MB reply parse, store and render.
#[test]
fn huge_and_deep_replies_survive_the_whole_path() {
    // 3,000 levels (4.5 MB of indentation) and 2 MB of lines: far past anything Slack sends (a
    // message is at most 40,000 characters), enough to show neither depth nor size breaks it.
    let deep: String = (0..3_000)
        .map(|i| format!("{}• level {i}\n", " ".repeat(i)))
        .collect();
    let parsed = parse_reply(&deep, Format::Planning, &NoNames);
    let count: usize = parsed
        .update
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .map(Item::count)
        .sum();
    assert_eq!(count, 3_000);
    // It round-trips through JSON (the store's format), whose reader limits nesting.
    let json = serde_json::to_string(&parsed.update).unwrap();
    let back: Update = serde_json::from_str(&json).expect("stored updates read back");
    assert_eq!(back, parsed.update);

    let line = "• shipped the thing <https://example.org|link> &amp; more :tada:\n";
    let huge = line.repeat(2 * 1024 * 1024 / line.len());
    let parsed = parse_reply(&huge, Format::Planning, &NoNames);
    let count: usize = parsed.update.sections.iter().map(|s| s.items.len()).sum();
    assert_eq!(count, huge.lines().count());
}
