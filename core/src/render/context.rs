//! The data a meeting-notes template sees.
//!
//! Templates get finished lines rather than the update tree, so a template only decides layout:
//! `title`, `date`, `format`; `blocks` (each `role` = `verbatim` | `updates` | `questions`,
//! `heading`, `body`); `members` (each `handle`, `answered`, `sections` with `heading` — the
//! whole heading line or none — and `lines`, each `indent` (four spaces a level), `depth` and
//! `text` — the bullet and its text), and `note` (what stands in for the empty sections of a member
//! without an update, such as `Out of office`, or none); and `questions` (gathered from updates,
//! already added to the questions block's body). Sections the bot adds (`Meeting::extras`) come
//! as blocks of role `extra` placed before the questions block.

use serde::Serialize;

use crate::domain::{Block, BlockRole, Extra, Format, Item, Marker, Meeting, Section, SectionKind};

#[derive(Debug, Serialize)]
pub struct Context {
    pub title: String,
    pub date: String,
    pub format: &'static str,
    pub blocks: Vec<BlockCtx>,
    pub members: Vec<MemberCtx>,
    pub questions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BlockCtx {
    pub role: &'static str,
    pub heading: String,
    pub body: String,
}

#[derive(Debug, Serialize)]
pub struct MemberCtx {
    pub handle: String,
    pub answered: bool,
    pub sections: Vec<SectionCtx>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SectionCtx {
    pub kind: Option<&'static str>,
    pub heading: Option<String>,
    pub lines: Vec<LineCtx>,
}

#[derive(Debug, Serialize)]
pub struct LineCtx {
    pub depth: usize,
    pub indent: String,
    pub text: String,
}

/// The heading level of a format's meeting sections.
fn section_level(format: Format) -> &'static str {
    match format {
        Format::Planning => "## ",
        Format::Standup => "### ",
    }
}

/// The heading of the questions section a format starts new meetings with.
pub fn default_questions_heading(format: Format) -> &'static str {
    match format {
        Format::Planning => "## Notes/Questions",
        Format::Standup => "### Questions, announcements and comments",
    }
}

impl Context {
    pub fn new(meeting: &Meeting) -> Self {
        let format = meeting.format;
        let questions: Vec<String> = meeting
            .questions
            .iter()
            .map(|q| format!("* @{}: {}", q.handle, q.text))
            .collect();
        let mut blocks: Vec<BlockCtx> = meeting.blocks.iter().map(block_ctx).collect();
        if !questions.is_empty() {
            let index = match blocks.iter().position(|b| b.role == "questions") {
                Some(i) => i,
                None => {
                    blocks.push(BlockCtx {
                        role: "questions",
                        heading: default_questions_heading(format).to_string(),
                        body: String::new(),
                    });
                    blocks.len() - 1
                }
            };
            let body = &mut blocks[index].body;
            for q in &questions {
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(q);
            }
        }
        if !meeting.extras.is_empty() {
            let at = blocks
                .iter()
                .position(|b| b.role == "questions")
                .unwrap_or(blocks.len());
            let extras = meeting.extras.iter().map(|e| extra_ctx(format, e));
            blocks.splice(at..at, extras);
        }
        let members = meeting
            .entries
            .iter()
            .map(|entry| {
                let answered = entry.update.as_ref().is_some_and(|u| !u.is_empty());
                // A member away with nothing to say shows the note instead of empty sections.
                let noted = entry.update.is_none() && entry.note.is_some();
                let sections = match &entry.update {
                    None if noted => Vec::new(),
                    Some(update) => update
                        .sections
                        .iter()
                        .filter(|s| s.kind != Some(SectionKind::Questions) || s.heading.is_some())
                        .map(|s| section_ctx(format, s))
                        .collect(),
                    None => format
                        .empty_sections()
                        .iter()
                        .map(|k| section_ctx(format, &Section::new(*k)))
                        .collect(),
                };
                MemberCtx {
                    handle: entry.handle.clone(),
                    answered,
                    sections,
                    note: entry.note.clone().filter(|_| noted),
                }
            })
            .collect();
        Context {
            title: meeting.title.clone(),
            date: meeting.date.format("%Y-%m-%d").to_string(),
            format: format.name(),
            blocks,
            members,
            questions,
        }
    }
}

fn block_ctx(block: &Block) -> BlockCtx {
    let role = match block.role {
        BlockRole::Verbatim => "verbatim",
        BlockRole::Updates => "updates",
        BlockRole::Questions => "questions",
    };
    BlockCtx {
        role,
        heading: block.heading.clone(),
        body: block.body.clone(),
    }
}

fn extra_ctx(format: Format, extra: &Extra) -> BlockCtx {
    BlockCtx {
        role: "extra",
        heading: format!("{}{}", section_level(format), extra.heading),
        body: extra.body.clone(),
    }
}

fn section_ctx(format: Format, section: &Section) -> SectionCtx {
    let title = section
        .heading
        .as_deref()
        .or(section.kind.map(|k| format.heading(k)));
    let heading = title.map(|title| {
        let marker = match (&section.heading_marker, format) {
            (Marker::Auto, Format::Planning) => Some("-"),
            (Marker::Auto, Format::Standup) | (Marker::Plain, _) => None,
            (Marker::Bullet(b), _) => Some(b.as_str()),
        };
        let mut line = join_marker(marker, title);
        if let Some(text) = &section.text {
            line.push(' ');
            line.push_str(text);
        }
        line
    });
    let lines = section
        .items
        .iter()
        .flat_map(Item::walk)
        .map(|(depth, item)| {
            let marker = match &item.marker {
                Marker::Auto => Some(format.bullet(depth)),
                Marker::Bullet(b) => Some(b.as_str()),
                Marker::Plain => None,
            };
            LineCtx {
                depth,
                indent: "    ".repeat(depth),
                text: join_marker(marker, &item.text),
            }
        })
        .collect();
    SectionCtx {
        kind: section.kind.map(SectionKind::name),
        heading,
        lines,
    }
}

fn join_marker(marker: Option<&str>, text: &str) -> String {
    match (marker, text.is_empty()) {
        (Some(m), true) => m.to_string(),
        (Some(m), false) => format!("{m} {text}"),
        (None, _) => text.to_string(),
    }
}
