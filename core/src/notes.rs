//! Reading meeting-notes documents (the Markdown teams keep by hand) into meetings.
//!
//! A document holds one meeting or many, separated by `---` lines, newest first. Each meeting
//! has a dated title, meeting-level sections (one of which holds the members' updates), and
//! per-member blocks. Whatever does not look like a meeting (a free-standing heading, an undated
//! template) is returned as an [`Chunk::Other`] so the caller can keep it: reading never loses a
//! line and never fails on a document of a known format.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::domain::{
    Block, BlockRole, Diagnostic, Entry, Format, Item, Marker, Meeting, Section, SectionKind,
    Update,
};
use crate::parse::heading;
use crate::parse::lines::{Bullets, TreeBuilder, classify};

/// A document read into meetings and the other text around them, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub format: Format,
    pub chunks: Vec<Chunk>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Meeting(ImportedMeeting),
    /// Text that is not a dated meeting, kept as written.
    Other {
        line: usize,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMeeting {
    /// 1-based line of the title in the document.
    pub line: usize,
    pub meeting: Meeting,
    /// SHA-256 of the meeting's text: re-importing unchanged text is recognised by it.
    pub digest: String,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "does not look like `planning` or `standup` notes: found no `## Async Updates` / `@handle` lines and no `### Updates since last time` / `##### @handle` headings"
    )]
    UnknownFormat,
    #[error("looks like `{found}` notes, but this team uses the `{expected}` format; check --team")]
    WrongFormat { found: Format, expected: Format },
}

/// Which format a document is written in, judged by its telltale lines.
pub fn detect_format(text: &str) -> Option<Format> {
    let (mut planning, mut standup) = (0usize, 0usize);
    for line in text.lines() {
        let t = line.trim();
        if let Some((level, title)) = md_heading(t) {
            let lower = title.to_lowercase();
            if lower.starts_with("async update") {
                planning += 3;
            } else if lower.starts_with("updates since") {
                standup += 3;
            } else if level >= 4 && is_handle(title) {
                standup += 1;
            }
        } else if is_handle(t) {
            planning += 1;
        }
    }
    match planning.cmp(&standup) {
        _ if planning == 0 && standup == 0 => None,
        std::cmp::Ordering::Less => Some(Format::Standup),
        std::cmp::Ordering::Greater | std::cmp::Ordering::Equal => Some(Format::Planning),
    }
}

/// Reads a whole document written in `format`.
pub fn read_document(text: &str, format: Format) -> Result<Document, ReadError> {
    match detect_format(text) {
        None => return Err(ReadError::UnknownFormat),
        Some(found) if found != format => {
            return Err(ReadError::WrongFormat {
                found,
                expected: format,
            });
        }
        Some(_) => {}
    }
    Ok(read_as(text, format))
}

/// Reads a document as `format` without checking that it looks like one.
pub fn read_as(text: &str, format: Format) -> Document {
    let mut chunks = Vec::new();
    let mut diagnostics = Vec::new();
    let mut seen_dates: Vec<NaiveDate> = Vec::new();
    for raw in split_chunks(text) {
        let Some(title_at) = first_title(&raw.lines) else {
            push_other(&mut chunks, raw.first_line, &raw.lines);
            continue;
        };
        push_other(&mut chunks, raw.first_line, &raw.lines[..title_at]);
        let lines = &raw.lines[title_at..];
        let line = raw.first_line + title_at;
        let (meeting, mut diags) = read_meeting(lines, line, format);
        diagnostics.append(&mut diags);
        if seen_dates.contains(&meeting.date) {
            diagnostics.push(Diagnostic {
                line,
                message: format!(
                    "a second meeting dated {}; kept as text, not as a meeting",
                    meeting.date
                ),
            });
            push_other(&mut chunks, line, lines);
            continue;
        }
        seen_dates.push(meeting.date);
        let digest = hex::encode(Sha256::digest(lines.join("\n").trim().as_bytes()));
        chunks.push(Chunk::Meeting(ImportedMeeting {
            line,
            meeting,
            digest,
        }));
    }
    Document {
        format,
        chunks,
        diagnostics,
    }
}

fn push_other(chunks: &mut Vec<Chunk>, first_line: usize, lines: &[&str]) {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    if let (Some(start), Some(end)) = (start, end) {
        let text = lines[start..=end].join("\n");
        chunks.push(Chunk::Other {
            line: first_line + start,
            text,
        });
    }
}

struct RawChunk<'a> {
    first_line: usize,
    lines: Vec<&'a str>,
}

/// Splits at `---` separator lines, and before a dated title when the chunk already has one.
fn split_chunks(text: &str) -> Vec<RawChunk<'_>> {
    let mut chunks = Vec::new();
    let mut current = RawChunk {
        first_line: 1,
        lines: Vec::new(),
    };
    let mut has_title = false;
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if is_fence(line) {
            in_fence = !in_fence;
        }
        if !in_fence && is_separator(t) {
            chunks.push(std::mem::replace(
                &mut current,
                RawChunk {
                    first_line: i + 2,
                    lines: Vec::new(),
                },
            ));
            has_title = false;
            continue;
        }
        if !in_fence && title_date(line).is_some() {
            if has_title {
                chunks.push(std::mem::replace(
                    &mut current,
                    RawChunk {
                        first_line: i + 1,
                        lines: Vec::new(),
                    },
                ));
            }
            has_title = true;
        }
        current.lines.push(line);
    }
    chunks.push(current);
    chunks
}

/// A line opening or closing a code fence.
fn is_fence(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("```") || t.starts_with("~~~")
}

/// The first dated title outside code fences, as [`split_chunks`] sees titles: a fence left
/// open hides the rest of the chunk, as in Markdown.
fn first_title(lines: &[&str]) -> Option<usize> {
    let mut in_fence = false;
    lines.iter().position(|line| {
        if is_fence(line) {
            in_fence = !in_fence;
        }
        !in_fence && title_date(line).is_some()
    })
}

fn is_separator(t: &str) -> bool {
    t.len() >= 3
        && (t.bytes().all(|b| b == b'-')
            || t.bytes().all(|b| b == b'*')
            || t.bytes().all(|b| b == b'_'))
}

/// `(level, text)` of a Markdown ATX heading line.
fn md_heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let level = t.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((level, rest.trim()))
}

/// `@handle` alone.
fn is_handle(text: &str) -> bool {
    handle_of(text).is_some()
}

fn handle_of(text: &str) -> Option<&str> {
    let h = text.trim().strip_prefix('@')?;
    (!h.is_empty() && !h.contains(char::is_whitespace)).then_some(h)
}

/// The date in a heading line, if the line is a dated title.
fn title_date(line: &str) -> Option<(usize, NaiveDate)> {
    let (level, text) = md_heading(line)?;
    if level > 3 {
        return None;
    }
    find_date(text).map(|d| (level, d))
}

fn find_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let s = text.get(i..i + 10)?;
        let shape = s.bytes().enumerate().all(|(j, c)| {
            if j == 4 || j == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        let bounded = i.checked_sub(1).is_none_or(|p| !b[p].is_ascii_digit())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        (shape && bounded)
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
    })
}

/// Reads one meeting from its title line onwards.
fn read_meeting(lines: &[&str], first_line: usize, format: Format) -> (Meeting, Vec<Diagnostic>) {
    let (title_level, date) = title_date(lines[0]).expect("caller found the title");
    let title = md_heading(lines[0])
        .map(|(_, t)| t.to_string())
        .unwrap_or_default();
    let mut diagnostics = Vec::new();

    // Group the lines into blocks, each starting at a heading no deeper than one below the title
    // (or than the format's own section level, for notes whose title is a level too high).
    let block_level = (title_level + 1).max(match format {
        Format::Planning => 2,
        Format::Standup => 3,
    });
    // Each group remembers the document line its body starts on, for diagnostics.
    let mut groups: Vec<(Option<&str>, usize, Vec<&str>)> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let number = first_line + i;
        match md_heading(line) {
            Some((level, _)) if level <= block_level && !is_member_heading(line, format) => {
                groups.push((Some(line.trim_end()), number + 1, Vec::new()));
            }
            _ => match groups.last_mut() {
                Some((_, _, body)) => body.push(line),
                // Blank lines between the title and the first section are layout, not text.
                None if line.trim().is_empty() => {}
                None => groups.push((None, number, vec![line])),
            },
        }
    }

    let mut blocks = Vec::new();
    let mut entries = Vec::new();
    let mut have_updates = false;
    for (heading, body_start, body) in groups {
        let heading_text = heading
            .and_then(md_heading)
            .map(|(_, t)| t.to_lowercase())
            .unwrap_or_default();
        let role = if !have_updates && heading_text.contains("update") {
            have_updates = true;
            BlockRole::Updates
        } else if heading_text.contains("question") {
            BlockRole::Questions
        } else {
            BlockRole::Verbatim
        };
        let heading = heading.unwrap_or("").to_string();
        if role != BlockRole::Updates {
            blocks.push(Block {
                role,
                heading,
                body: trim_blank(&body),
            });
            continue;
        }
        let first_member = body
            .iter()
            .position(|l| member_handle(l, format).is_some())
            .unwrap_or(body.len());
        blocks.push(Block {
            role,
            heading,
            body: trim_blank(&body[..first_member]),
        });
        let mut i = first_member;
        while i < body.len() {
            let handle = member_handle(body[i], format)
                .expect("at a member line")
                .to_string();
            let end = body[i + 1..]
                .iter()
                .position(|l| member_handle(l, format).is_some())
                .map_or(body.len(), |p| i + 1 + p);
            let member_lines = &body[i + 1..end];
            let update = read_member(member_lines, format);
            if entries.iter().any(|e: &Entry| e.handle == handle) {
                diagnostics.push(Diagnostic {
                    line: body_start + i,
                    message: format!(
                        "@{handle} appears twice in this meeting; both blocks are kept"
                    ),
                });
            }
            entries.push(Entry {
                handle,
                update,
                note: None,
            });
            i = end;
        }
    }
    let meeting = Meeting {
        format,
        date,
        title,
        blocks,
        entries,
        questions: Vec::new(),
        extras: Vec::new(),
    };
    (meeting, diagnostics)
}

fn is_member_heading(line: &str, format: Format) -> bool {
    format == Format::Standup && member_handle(line, format).is_some()
}

/// The handle a member's block starts with: `@maria` (planning), `##### @maria` (standup).
fn member_handle(line: &str, format: Format) -> Option<&str> {
    match format {
        Format::Planning => handle_of(line),
        Format::Standup => md_heading(line)
            .filter(|(level, _)| *level >= 4)
            .and_then(|(_, t)| handle_of(t)),
    }
}

fn trim_blank(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => lines[s..=e].join("\n"),
        _ => String::new(),
    }
}

/// A member's block. `None` when it has no lines at all.
fn read_member(lines: &[&str], format: Format) -> Option<Update> {
    if lines.iter().all(|l| l.trim().is_empty()) {
        return None;
    }
    let sections = match format {
        Format::Planning => read_planning_member(lines),
        Format::Standup => read_standup_member(lines),
    };
    // Exactly the empty headings the format writes for "no update" (`Last week:` /
    // `This week:`) is no update.
    let empty_form = sections.len() == format.empty_sections().len()
        && sections
            .iter()
            .zip(format.empty_sections())
            .all(|(s, kind)| {
                s.kind == Some(*kind)
                    && s.heading.as_deref() == Some(format.heading(*kind))
                    && s.text.is_none()
                    && s.items.is_empty()
            });
    (!empty_form).then_some(Update { sections })
}

/// Recognises a notes heading: questions stay where the member wrote them, so they are not
/// treated as a section the renderer would move.
fn notes_heading(text: &str) -> Option<heading::Heading<'_>> {
    heading::recognize(text).filter(|h| h.kind != SectionKind::Questions)
}

/// `planning`: every top-level list item is a section heading, its children the items.
fn read_planning_member(lines: &[&str]) -> Vec<Section> {
    let mut tree = TreeBuilder::new();
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let c = classify(line, Bullets::Markdown);
        tree.push(c.indent, Item::new(c.marker, c.text));
    }
    tree.finish()
        .into_iter()
        .map(|node| {
            let recognised = notes_heading(&node.text)
                .filter(|h| node.marker == Marker::Plain || h.colon || h.emoji)
                .map(|h| (h.kind, h.written.to_string(), h.rest.map(str::to_string)));
            let (kind, heading, text) = match recognised {
                Some((kind, written, rest)) => (Some(kind), written, rest),
                None => (None, node.text, None),
            };
            Section {
                kind,
                heading: Some(heading),
                heading_marker: node.marker,
                text,
                items: node.children,
            }
        })
        .collect()
}

/// `standup`: plain heading lines (`Last week:`) start sections; lines under them are items.
fn read_standup_member(lines: &[&str]) -> Vec<Section> {
    let mut sections: Vec<(Section, TreeBuilder)> = Vec::new();
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let c = classify(line, Bullets::Markdown);
        if c.marker == Marker::Plain
            && let Some(h) = notes_heading(c.text)
        {
            let section = Section {
                kind: Some(h.kind),
                heading: Some(h.written.to_string()),
                heading_marker: Marker::Plain,
                text: h.rest.map(str::to_string),
                items: Vec::new(),
            };
            sections.push((section, TreeBuilder::new()));
            continue;
        }
        if sections.is_empty() {
            let headless = Section {
                kind: None,
                heading: None,
                heading_marker: Marker::Plain,
                text: None,
                items: Vec::new(),
            };
            sections.push((headless, TreeBuilder::new()));
        }
        let (_, tree) = sections.last_mut().expect("a section is open");
        tree.push(c.indent, Item::new(c.marker, c.text));
    }
    sections
        .into_iter()
        .map(|(mut s, tree)| {
            s.items = tree.finish();
            s
        })
        .collect()
}

#[cfg(test)]
mod tests;
