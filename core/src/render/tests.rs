use chrono::NaiveDate;

use super::*;
use crate::domain::{Block, BlockRole, Entry, Question};
use crate::notes::{Chunk, read_document};
use crate::parse::{NoNames, parse_reply};

fn fixture(name: &str) -> String {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn meetings(text: &str, format: Format) -> Vec<crate::notes::ImportedMeeting> {
    read_document(text, format)
        .expect("readable")
        .chunks
        .into_iter()
        .filter_map(|c| match c {
            Chunk::Meeting(m) => Some(m),
            Chunk::Other { .. } => None,
        })
        .collect()
}

fn render(meeting: &Meeting) -> String {
    Renderer::new()
        .render(&TemplateRef::Builtin(meeting.format), meeting)
        .expect("renders")
}

#[test]
fn canonical_planning_round_trips_byte_for_byte() {
    let text = fixture("planning.md");
    let ms = meetings(&text, Format::Planning);
    assert_eq!(ms.len(), 1);
    assert_eq!(render(&ms[0].meeting), text);
}

#[test]
fn canonical_standup_round_trips_byte_for_byte() {
    let text = fixture("standup.md");
    let ms = meetings(&text, Format::Standup);
    assert_eq!(ms.len(), 1);
    assert_eq!(render(&ms[0].meeting), text);
}

/// Whitespace normalisation: trailing and leading spaces, tabs and blank lines do not count;
/// separators are the document's, not the meeting's.
fn normalise(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "---")
        .map(str::to_string)
        .collect()
}

fn check_hand_typed(name: &str, format: Format, dates: &[&str], others: usize) {
    let text = fixture(name);
    let doc = read_document(&text, format).expect("readable");
    let mut rendered_all = Vec::new();
    let mut seen = Vec::new();
    for chunk in &doc.chunks {
        match chunk {
            Chunk::Meeting(m) => {
                seen.push(m.meeting.date.to_string());
                rendered_all.extend(normalise(&render(&m.meeting)));
            }
            Chunk::Other { text, .. } => rendered_all.extend(normalise(text)),
        }
    }
    assert_eq!(seen, dates);
    assert_eq!(doc.chunks.len() - seen.len(), others);
    // Every line of the document comes back, in order.
    assert_eq!(rendered_all, normalise(&text));
}

#[test]
fn hand_typed_standup_keeps_every_line() {
    check_hand_typed(
        "standup-handtyped.md",
        Format::Standup,
        &["2024-03-18", "2024-03-11"],
        2,
    );
}

#[test]
fn hand_typed_planning_keeps_every_line() {
    check_hand_typed(
        "planning-handtyped.md",
        Format::Planning,
        &["2024-03-18", "2024-03-11"],
        0,
    );
}

#[test]
fn hand_typed_items_keep_marker_and_nesting() {
    let text = fixture("standup-handtyped.md");
    let ms = meetings(&text, Format::Standup);
    let out = render(&ms[0].meeting);
    let li = out
        .split("##### @li")
        .nth(1)
        .unwrap()
        .split("##### @kenji")
        .next()
        .unwrap();
    assert_eq!(
        li,
        "\n\nLast week:\n\n* Tests for the add pipeline\n- refactor the sharder tests\n1. numbered items too\n\nThis week:\n\n* two-space bullets, `*` and `-` mixed\n    - nested under two-space\n\n"
    );
    let maria = out
        .split("##### @maria")
        .nth(1)
        .unwrap()
        .split("##### @li")
        .next()
        .unwrap();
    assert!(
        maria
            .contains("* Pubsub monitoring\n    * alerts wired to the channel\n- Released 0.4.0\n"),
        "{maria}"
    );
}

/// Slack replies equivalent to the FORMATS.md example give the example document exactly.
#[test]
fn slack_replies_render_the_canonical_planning_document() {
    let replies = [
        (
            "maria",
            Some(
                ":ship: Shipped:\n• <https://example.org/exporter|Exporter> module for splitting big archives\n• (Almost) PR to move the nightly job to CI <https://example.org/pr/212|#212>\n:black_right_pointing_double_triangle_with_vertical_bar: Next:\n• get back up to speed\n• review the storage doc",
            ),
        ),
        (
            "kenji",
            Some(
                "*Shipped*\n• Reorganized the indexer to run concurrently\n    ◦ ( the demo is recorded: <https://example.org/demo> )\n*Blocked*\n• Short week / moving\n*Next*\n• Ship the aggregator library",
            ),
        ),
        (
            "li",
            Some(
                "shipped / in progress:\n- Design feedback posted\nIn progress:\n- Large uploads\n  - Solution scoping\nBlocked: N/A\nNext: Finish the API work",
            ),
        ),
    ];
    let entries = replies
        .iter()
        .map(|(handle, text)| Entry {
            handle: handle.to_string(),
            update: text.map(|t| parse_reply(t, Format::Planning, &NoNames).update),
            note: None,
        })
        .collect();
    let agenda = "1. Async updates: participants broadcast their own async update and answer any questions.\n2. Current projects: review and assign tasks for the next week.\n3. Open discussion for any other questions that arise.";
    let meeting = Meeting {
        format: Format::Planning,
        date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
        title: "Team Orbit Planning 2024-03-11".into(),
        blocks: vec![
            Block {
                role: BlockRole::Verbatim,
                heading: "## Agenda".into(),
                body: agenda.into(),
            },
            Block {
                role: BlockRole::Updates,
                heading: "## Async Updates".into(),
                body: String::new(),
            },
            Block {
                role: BlockRole::Questions,
                heading: "## Notes/Questions".into(),
                body: "* Shall we move the board to the issue tracker?".into(),
            },
        ],
        entries,
        questions: vec![],
        extras: vec![],
    };
    let mut expected = fixture("planning.md");
    // The example's second question carries a nested link, which came from the pad, not Slack.
    expected = expected.replace(
        "* Why can't we stream?\n    * https://example.org/issues/182\n",
        "",
    );
    let expected = expected.trim_end().to_string() + "\n";
    assert_eq!(render(&meeting), expected);
}

#[test]
fn slack_replies_render_the_canonical_standup_document() {
    let replies = [
        (
            "maria",
            Some(
                "Last week:\n• Pubsub monitoring\n• PR using the DiskUsage() method for repo stat\n    ◦ benchmarks attached\nThis week:\n• Reviews\n• Start on documentation for 0.4.0",
            ),
        ),
        ("kenji", None),
        (
            "li",
            Some(
                "Yesterday\n- Tests for the add pipeline\nToday: finish the \"frontend\" work, then some light \"backend\" refactoring.",
            ),
        ),
    ];
    let entries = replies
        .iter()
        .map(|(handle, text)| Entry {
            handle: handle.to_string(),
            update: text.map(|t| parse_reply(t, Format::Standup, &NoNames).update),
            note: None,
        })
        .collect();
    let meeting = Meeting {
        format: Format::Standup,
        date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
        title: "Standup meeting - 2024-03-11".into(),
        blocks: vec![
            Block {
                role: BlockRole::Updates,
                heading: "### Updates since last time".into(),
                body: String::new(),
            },
            Block {
                role: BlockRole::Questions,
                heading: "### Questions, announcements and comments".into(),
                body: "* li -> maria: any ideas why CI cannot build this commit?".into(),
            },
            Block {
                role: BlockRole::Verbatim,
                heading: "### Other business".into(),
                body: String::new(),
            },
        ],
        entries,
        questions: vec![Question {
            handle: "kenji".into(),
            text: "on vacation next week".into(),
        }],
        extras: vec![],
    };
    let expected = fixture("standup.md").replace(
        "* Announcement: kenji on vacation next week",
        "* @kenji: on vacation next week",
    );
    assert_eq!(render(&meeting), expected);
}

#[test]
fn template_syntax_errors_name_the_line() {
    let mut r = Renderer::new();
    let err = r
        .add_template("custom.md.j2", "# {{ title }}\n{% for x in %}\n".into())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("custom.md.j2:2: syntax error"), "{msg}");
}

#[test]
fn custom_templates_get_the_same_context() {
    let mut r = Renderer::new();
    r.add_template(
        "mine",
        "{{ title }}|{% for m in members %}{{ m.handle }}={% if m.answered %}yes{% else %}no{% endif %};{% endfor %}".into(),
    )
    .unwrap();
    let ms = meetings(&fixture("standup.md"), Format::Standup);
    let out = r
        .render(&TemplateRef::Custom("mine".into()), &ms[0].meeting)
        .unwrap();
    assert_eq!(
        out,
        "Standup meeting - 2024-03-11|maria=yes;kenji=no;li=yes;"
    );
}

/// The whole hand-typed planning document, compiled meeting by meeting: the reviewed picture
/// of what whitespace normalisation does (indentation to four spaces a level, blank lines
/// between sections, bullets kept as typed).
#[test]
fn hand_typed_planning_compiles_to_normalised_notes() {
    let text = fixture("planning-handtyped.md");
    let out: Vec<String> = meetings(&text, Format::Planning)
        .iter()
        .map(|m| render(&m.meeting))
        .collect();
    insta::assert_snapshot!(out.join("\n---\n\n"));
}

/// A member away shows the note instead of empty sections, in both formats; a member who
/// answered keeps their update even with a note; the bot's own sections come before the
/// questions section at the format's heading level.
#[test]
fn notes_and_extra_sections_render_in_both_formats() {
    for (format, file) in [
        (Format::Planning, "planning.md"),
        (Format::Standup, "standup.md"),
    ] {
        let mut ms = meetings(&fixture(file), format);
        let meeting = &mut ms[0].meeting;
        meeting.entries[1].update = None;
        meeting.entries[1].note = Some("🌴 Out of office".into());
        meeting.entries[0].note = Some("ignored: maria answered".into());
        meeting.extras.push(crate::domain::Extra {
            heading: "Resolved blockers".into(),
            body: "* @kenji: short week".into(),
        });
        let out = render(meeting);
        assert!(!out.contains("ignored"), "{out}");
        let (level, kenji, questions) = match format {
            Format::Planning => (
                "## ",
                "@kenji\n- 🌴 Out of office\n\n@li",
                "## Notes/Questions",
            ),
            Format::Standup => (
                "### ",
                "##### @kenji\n\n🌴 Out of office\n\n##### @li",
                "### Questions",
            ),
        };
        assert!(out.contains(kenji), "{out}");
        let extra = out
            .find(&format!(
                "{level}Resolved blockers\n\n* @kenji: short week\n"
            ))
            .unwrap_or_else(|| panic!("no extra section in\n{out}"));
        assert!(extra < out.find(questions).unwrap(), "{out}");
        assert!(extra > out.find("@li").unwrap(), "{out}");
    }
}

/// Issue 11: a second name for a section kind reaches the notes under its own label, with every
/// word the member wrote.
#[test]
fn a_section_under_a_second_name_keeps_its_label_in_the_notes() {
    let reply =
        "Last week:\n• reviews\nThis week: finish the frontend\nNext week:\n• start on the docs";
    let meeting = Meeting {
        format: Format::Standup,
        date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
        title: "Standup meeting - 2024-03-11".into(),
        blocks: vec![Block {
            role: BlockRole::Updates,
            heading: "### Updates since last time".into(),
            body: String::new(),
        }],
        entries: vec![Entry {
            handle: "li".into(),
            update: Some(parse_reply(reply, Format::Standup, &NoNames).update),
            note: None,
        }],
        questions: vec![],
        extras: vec![],
    };
    let notes = render(&meeting);
    assert!(
        notes.contains(
            "##### @li\n\nLast week:\n\n* reviews\n\nThis week: finish the frontend\n\nNext week:\n\n* start on the docs\n"
        ),
        "{notes}"
    );
}
