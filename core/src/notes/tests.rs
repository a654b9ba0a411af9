use super::*;

#[test]
fn detects_the_format() {
    assert_eq!(
        detect_format("## Async Updates\n\n@maria\n- 🚢 Shipped:\n"),
        Some(Format::Planning)
    );
    assert_eq!(
        detect_format("### Updates since last time\n##### @li\n"),
        Some(Format::Standup)
    );
    assert_eq!(
        detect_format("##### @li\n\nLast week:\n"),
        Some(Format::Standup)
    );
    assert_eq!(detect_format("# Shopping list\n\n* milk\n"), None);
}

#[test]
fn neither_format_is_an_error() {
    assert_eq!(
        read_document("just some text\n", Format::Planning),
        Err(ReadError::UnknownFormat)
    );
    let err =
        read_document("### Updates since last time\n##### @li\n", Format::Planning).unwrap_err();
    assert_eq!(
        err.to_string(),
        "looks like `standup` notes, but this team uses the `planning` format; check --team"
    );
}

#[test]
fn finds_iso_dates_in_titles_only() {
    assert_eq!(
        find_date("Standup meeting - 2024-03-11"),
        NaiveDate::from_ymd_opt(2024, 3, 11)
    );
    assert_eq!(find_date("Planning 2024-13-45"), None);
    assert_eq!(find_date("v12024-03-111"), None);
    assert_eq!(title_date("##### 2024-03-11"), None);
    assert!(title_date("# Team Orbit Planning 2024-03-11").is_some());
}

#[test]
fn meetings_split_at_separators_and_at_titles() {
    let text = "## Standup meeting - 2024-03-18\n### Updates since last time\n##### @li\nLast week:\n## Standup meeting - 2024-03-11\n### Updates since last time\n---\n---\n## Standup meeting - 2024-03-04\n### Updates since last time\n";
    let doc = read_document(text, Format::Standup).unwrap();
    let dates: Vec<String> = doc
        .chunks
        .iter()
        .filter_map(|c| match c {
            Chunk::Meeting(m) => Some(m.meeting.date.to_string()),
            Chunk::Other { .. } => None,
        })
        .collect();
    assert_eq!(dates, ["2024-03-18", "2024-03-11", "2024-03-04"]);
}

/// Found by fuzzing (tests/fuzz.rs): a code fence left open used to stop the splitting but not
/// the search for a title, so one meeting swallowed every later one as its text.
#[test]
fn a_fence_left_open_hides_the_titles_after_it() {
    let text = "```\n# Team Orbit Planning 2024-03-11\n@maria\n---\n# Team Orbit Planning 2024-03-04\n@kenji\n";
    let doc = read_as(text, Format::Planning);
    assert_eq!(
        doc.chunks,
        [Chunk::Other {
            line: 1,
            text: text.trim_end().to_string(),
        }]
    );
    // Closed, the fence hides only what is inside it.
    let closed = format!("```\n# Not a title 2024-01-01\n```\n{}", &text[4..]);
    let titles: Vec<usize> = read_as(&closed, Format::Planning)
        .chunks
        .iter()
        .filter_map(|c| match c {
            Chunk::Meeting(m) => Some(m.line),
            Chunk::Other { .. } => None,
        })
        .collect();
    assert_eq!(titles, [4, 7]);
}

#[test]
fn duplicate_dates_are_kept_as_text_and_reported() {
    let text = "## Standup meeting - 2024-03-18\n### Updates since last time\n---\n## Standup again 2024-03-18\n### Updates since last time\n##### @li\n";
    let doc = read_document(text, Format::Standup).unwrap();
    assert!(
        matches!(&doc.chunks[1], Chunk::Other { line: 4, text } if text.contains("Standup again"))
    );
    assert_eq!(doc.diagnostics[0].line, 4);
}

#[test]
fn planning_members_unknown_headings_are_kept_as_sections() {
    let text = "# P 2024-03-18\n## Async Updates\n@kenji\n- 🎉 Celebrations:\n    - indexer\n- plain note\n";
    let doc = read_document(text, Format::Planning).unwrap();
    let Chunk::Meeting(m) = &doc.chunks[0] else {
        panic!()
    };
    let update = m.meeting.entries[0].update.as_ref().unwrap();
    assert_eq!(update.sections.len(), 2);
    assert_eq!(update.sections[0].kind, None);
    assert_eq!(
        update.sections[0].heading.as_deref(),
        Some("🎉 Celebrations:")
    );
    assert_eq!(update.sections[0].items[0].text, "indexer");
    assert_eq!(update.sections[1].heading.as_deref(), Some("plain note"));
}

#[test]
fn imported_blockers_are_found() {
    let text = "# P 2024-03-18\n## Async Updates\n@kenji\n- ⛔️ Blocked:\n    - Short week / moving\n@li\n- ⛔️ Blocked:\n    - N/A\n";
    let doc = read_document(text, Format::Planning).unwrap();
    let Chunk::Meeting(m) = &doc.chunks[0] else {
        panic!()
    };
    let blockers: Vec<Vec<String>> = m
        .meeting
        .entries
        .iter()
        .map(|e| e.update.as_ref().unwrap().blockers())
        .collect();
    assert_eq!(
        blockers,
        vec![vec!["Short week / moving".to_string()], vec![]]
    );
}

#[test]
fn same_text_gives_the_same_digest() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/standup.md"
    ))
    .unwrap();
    let a = read_document(&text, Format::Standup).unwrap();
    let b = read_document(&text, Format::Standup).unwrap();
    assert_eq!(a, b);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::render::{Renderer, TemplateRef};

    fn line(format: Format) -> impl Strategy<Value = String> {
        // Titles at the level the format's template writes them: a title at another level
        // reads fine but renders at the template's level, which moves its sections.
        let (member, title) = match format {
            Format::Planning => ("@maria", "# Team Orbit Planning 2024-03-04"),
            Format::Standup => ("##### @maria", "## Standup meeting - 2024-03-11"),
        };
        let pieces = prop::sample::select(vec![
            member,
            "@kenji",
            "##### @li",
            "## Agenda",
            "## Async Updates",
            "### Updates since last time",
            "### Questions, announcements and comments",
            "## Notes/Questions",
            "### Other business",
            "- 🚢 Shipped:",
            "- ⛔️ Blocked:",
            "* ⏭ Next:",
            "Last week:",
            "This week: finish it",
            "- item",
            "* item",
            "1. numbered",
            "plain text",
            "- N/A",
            "---",
            "",
            "#### deeper heading",
            title,
        ]);
        let indent = prop::sample::select(vec!["", "", "  ", "    ", "\t", "        "]);
        let trailing = prop::sample::select(vec!["", "", "  "]);
        (indent, pieces, trailing).prop_map(|(i, p, t)| format!("{i}{p}{t}"))
    }

    fn document(format: Format) -> impl Strategy<Value = String> {
        let title = match format {
            Format::Planning => "# Team Orbit Planning 2024-03-18",
            Format::Standup => "## Standup meeting - 2024-03-18",
        };
        prop::collection::vec(line(format), 0..40)
            .prop_map(move |lines| format!("{title}\n{}", lines.join("\n")))
    }

    fn meetings(doc: &Document) -> Vec<Meeting> {
        doc.chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Meeting(m) => Some(m.meeting.clone()),
                Chunk::Other { .. } => None,
            })
            .collect()
    }

    fn fixpoint(format: Format, text: &str) -> Result<(), TestCaseError> {
        let Ok(doc) = read_document(text, format) else {
            return Ok(());
        };
        let renderer = Renderer::new();
        for meeting in meetings(&doc) {
            let rendered = renderer
                .render(&TemplateRef::Builtin(format), &meeting)
                .unwrap();
            let again = meetings(&read_as(&rendered, format));
            prop_assert_eq!(again.len(), 1, "rendered:\n{}", rendered);
            prop_assert_eq!(&again[0], &meeting, "rendered:\n{}", rendered);
        }
        Ok(())
    }

    proptest! {
        /// A rendered meeting reads back as the same meeting: rendering loses nothing the
        /// reader found.
        #[test]
        fn planning_render_then_read_is_a_fixpoint(text in document(Format::Planning)) {
            fixpoint(Format::Planning, &text)?;
        }

        #[test]
        fn standup_render_then_read_is_a_fixpoint(text in document(Format::Standup)) {
            fixpoint(Format::Standup, &text)?;
        }

        #[test]
        fn reading_never_panics(text in any::<String>()) {
            let _ = read_document(&text, Format::Planning);
            let _ = read_document(&text, Format::Standup);
        }
    }
}
