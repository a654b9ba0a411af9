//! Reading what people type in Slack into an [`Update`].
//!
//! Parsing never fails and never drops text: every non-blank line of a reply ends up in the
//! update, as a heading, a heading's inline text or an item. Lines the parser had to guess about
//! are still kept, and reported as [`Diagnostic`]s.

pub mod emoji;
pub mod heading;
pub mod lines;
pub mod mrkdwn;

use serde::Serialize;

use crate::domain::{Diagnostic, Format, Item, Marker, Section, Update};
use lines::{Bullets, TreeBuilder, classify};
pub use mrkdwn::{Names, NoNames};

/// The result of parsing a reply: the update and what the parser noticed on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    pub update: Update,
    pub diagnostics: Vec<Diagnostic>,
}

struct Open {
    section: Section,
    tree: TreeBuilder,
    /// The name its heading was recognised by; `None` for text that came before any heading.
    name: Option<&'static str>,
    /// Its heading as a label of its own, used when another section has the same kind.
    label: Option<String>,
}

impl Open {
    fn new(kind: crate::domain::SectionKind, heading: Option<&heading::Heading<'_>>) -> Open {
        Open {
            section: Section::new(kind),
            tree: TreeBuilder::new(),
            name: heading.map(|h| h.name),
            label: heading.map(heading::Heading::label),
        }
    }
}

/// Parses a Slack reply (mrkdwn) for a team using `format`.
pub fn parse_reply(text: &str, format: Format, names: &dyn Names) -> Parsed {
    let mut diagnostics = Vec::new();
    let mut sections: Vec<Open> = Vec::new();
    let mut current: Option<usize> = None;
    let mut orphans: Vec<usize> = Vec::new();

    let converted: Vec<(usize, std::borrow::Cow<'_, str>)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, mrkdwn::to_markdown(l, names)))
        .collect();
    // Each line is classified once; whether any heading exists decides where leading text goes.
    let read: Vec<(usize, lines::Line<'_>, Option<heading::Heading<'_>>)> = converted
        .iter()
        .map(|(number, line)| {
            let classified = classify(line, Bullets::Slack);
            let heading = as_heading(&classified);
            (*number, classified, heading)
        })
        .collect();
    let any_heading = read.iter().any(|(_, _, h)| h.is_some());

    for (number, classified, heading) in read {
        let number = &number;
        if let Some(h) = heading {
            // The same heading again (a reply in several messages) adds to its section; a heading
            // of the same kind under another name (`Next week:` after `This week:`) is a section
            // of its own that keeps its label, so none of the member's words are lost.
            // Questions are gathered into the meeting's own questions section, under its
            // heading, so theirs are one section whatever each heading says.
            let gathered = h.kind == crate::domain::SectionKind::Questions;
            let same = sections.iter().position(|s| {
                s.section.kind == Some(h.kind) && (gathered || s.name.is_none_or(|n| n == h.name))
            });
            let index = match same {
                Some(i) => {
                    let open = &mut sections[i];
                    let label = h.label();
                    let label = label.trim_end_matches(':');
                    if open.name == Some(h.name) {
                        diagnostics.push(Diagnostic {
                            line: *number,
                            message: format!(
                                "a second `{label}` heading; its items were added to the first"
                            ),
                        });
                    } else if let Some(first) = &open.label {
                        diagnostics.push(Diagnostic {
                            line: *number,
                            message: format!(
                                "`{label}` read as more `{}`; its items were added to them",
                                first.trim_end_matches(':')
                            ),
                        });
                    } else {
                        // Text written before any heading, then this heading: one section.
                        open.name = Some(h.name);
                        open.label = Some(h.label());
                    }
                    i
                }
                None => {
                    if let Some(first) = sections.iter().find(|s| s.section.kind == Some(h.kind)) {
                        diagnostics.push(Diagnostic {
                            line: *number,
                            message: format!(
                                "`{}` read as another `{}` section; kept under its own heading",
                                h.label().trim_end_matches(':'),
                                first
                                    .label
                                    .as_deref()
                                    .unwrap_or(format.heading(h.kind))
                                    .trim_end_matches(':')
                            ),
                        });
                    }
                    sections.push(Open::new(h.kind, Some(&h)));
                    sections.len() - 1
                }
            };
            current = Some(index);
            if let Some(rest) = h.rest {
                let open = &mut sections[index];
                // `standup` notes keep text on the heading's line (`This week: finish X`);
                // `planning` notes put every point under its heading as a bullet.
                if format == Format::Standup && open.section.text.is_none() && open.tree.is_empty()
                {
                    open.section.text = Some(rest.to_string());
                } else {
                    open.tree.push(0, Item::new(Marker::Auto, rest));
                }
            }
            continue;
        }
        let index = match current {
            Some(i) => i,
            None => {
                let kind = format.first_section();
                if any_heading {
                    orphans.push(*number);
                }
                let i = match sections.iter().position(|s| s.section.kind == Some(kind)) {
                    Some(i) => i,
                    None => {
                        sections.push(Open::new(kind, None));
                        sections.len() - 1
                    }
                };
                current = Some(i);
                i
            }
        };
        let marker = match classified.marker {
            Marker::Plain => Marker::Auto,
            other => other,
        };
        sections[index]
            .tree
            .push(classified.indent, Item::new(marker, classified.text));
    }
    if let (Some(first), Some(last)) = (orphans.first(), orphans.last()) {
        let span = if first == last {
            format!("line {first}")
        } else {
            format!("lines {first}-{last}")
        };
        diagnostics.push(Diagnostic {
            line: *first,
            message: format!(
                "{span} came before any heading; kept under `{}`",
                format.heading(format.first_section()).trim_end_matches(':')
            ),
        });
    }

    // A kind written under two names shows each section under its own label; a kind written
    // once is shown under the format's own heading, as before.
    let kinds: Vec<_> = sections.iter().map(|o| o.section.kind).collect();
    let mut sections: Vec<Section> = sections
        .into_iter()
        .map(|open| {
            let mut section = open.section;
            section.items = open.tree.finish();
            if kinds.iter().filter(|k| **k == section.kind).count() > 1 {
                section.heading = open.label;
            }
            section
        })
        .collect();
    for kind in format.empty_sections() {
        if !sections.iter().any(|s| s.kind == Some(*kind)) {
            sections.push(Section::new(*kind));
        }
    }
    let order = format.section_order();
    sections.sort_by_key(|s| s.kind.and_then(|k| order.iter().position(|o| *o == k)));
    Parsed {
        update: Update { sections },
        diagnostics,
    }
}

/// A Slack line is a heading when it is recognised, and for a bulleted line only when it also
/// has a colon or an emoji (`• Done` alone is more likely an item than a heading).
fn as_heading<'a>(classified: &lines::Line<'a>) -> Option<heading::Heading<'a>> {
    let h = heading::recognize(classified.text)?;
    let plain = classified.marker == Marker::Plain;
    (plain || h.colon || h.emoji).then_some(h)
}

#[cfg(test)]
mod tests;
