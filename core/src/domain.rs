//! Plain domain types: teams, members, updates, meetings and blockers.
//!
//! Nothing here knows about Slack payloads or SQL rows. Platform ids are newtypes so a channel id
//! can never be passed where a user id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The configured id of a team (`[[team]] id`), unique within one bot.
    TeamId
);
string_id!(
    /// A Slack user id (`U024BE7LH`).
    UserId
);
string_id!(
    /// A Slack channel id (`C024BE7LH`).
    ChannelId
);

/// The database id of a stored cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CycleId(pub i64);

impl fmt::Display for CycleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The two meeting-notes formats our users write by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Weekly planning with async updates (`@handle` blocks with emoji sections).
    Planning,
    /// Weekly standup with "Last week" / "This week" per member.
    Standup,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Planning, Format::Standup];

    pub fn name(self) -> &'static str {
        match self {
            Format::Planning => "planning",
            Format::Standup => "standup",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Sections a member's update is shown with, in document order.
    pub fn section_order(self) -> &'static [SectionKind] {
        use SectionKind::*;
        match self {
            Format::Planning => &[
                Shipped,
                ShippedInProgress,
                InProgress,
                Blocked,
                Next,
                Questions,
            ],
            Format::Standup => &[Shipped, InProgress, Next, Blocked, Questions],
        }
    }

    /// The sections an empty update still shows (the `standup` format keeps its two headings).
    pub fn empty_sections(self) -> &'static [SectionKind] {
        match self {
            Format::Planning => &[],
            Format::Standup => &[SectionKind::Shipped, SectionKind::Next],
        }
    }

    /// Where free text with no heading goes.
    pub fn first_section(self) -> SectionKind {
        SectionKind::Shipped
    }

    /// The heading a section is written with in this format, as in FORMATS.md.
    pub fn heading(self, kind: SectionKind) -> &'static str {
        use SectionKind::*;
        match (self, kind) {
            (Format::Planning, Shipped) => "🚢 Shipped:",
            (Format::Planning, ShippedInProgress) => "🚢 Shipped / in progress:",
            (Format::Planning, InProgress) => "🚧 In progress:",
            (Format::Planning, Blocked) => "⛔\u{fe0f} Blocked:",
            (Format::Planning, Next) => "⏭ Next:",
            (Format::Standup, Shipped) => "Last week:",
            (Format::Standup, ShippedInProgress) => "Last week / in progress:",
            (Format::Standup, InProgress) => "In progress:",
            (Format::Standup, Blocked) => "Blocked:",
            (Format::Standup, Next) => "This week:",
            (_, Questions) => "Questions:",
        }
    }

    /// The bullet written for a generated item at `depth` (0 = directly under a heading).
    pub fn bullet(self, depth: usize) -> &'static str {
        match (self, depth) {
            (Format::Standup, 0) => "*",
            _ => "-",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a section of an update says, independent of the words a format uses for it.
///
/// The `standup` format calls [`SectionKind::Shipped`] "Last week" and [`SectionKind::Next`]
/// "This week".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Shipped,
    ShippedInProgress,
    InProgress,
    Blocked,
    Next,
    /// Questions for the meeting; they are gathered into the meeting's questions section.
    Questions,
}

impl SectionKind {
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Shipped => "shipped",
            SectionKind::ShippedInProgress => "shipped_in_progress",
            SectionKind::InProgress => "in_progress",
            SectionKind::Blocked => "blocked",
            SectionKind::Next => "next",
            SectionKind::Questions => "questions",
        }
    }
}

/// How an item's line starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marker {
    /// The format's own bullet for the item's depth (items that came from Slack).
    Auto,
    /// A bullet kept exactly as typed: `-`, `*`, `+`, `1.`.
    Bullet(String),
    /// A line of text with no bullet.
    Plain,
}

/// One line of an update and the lines nested under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    pub marker: Marker,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Item>,
}

impl Item {
    pub fn new(marker: Marker, text: impl Into<String>) -> Self {
        Item {
            marker,
            text: text.into(),
            children: Vec::new(),
        }
    }

    /// This item and everything under it, depth first, with each line's depth below `self`.
    pub fn walk(&self) -> Vec<(usize, &Item)> {
        let mut out = Vec::new();
        fn go<'a>(item: &'a Item, depth: usize, out: &mut Vec<(usize, &'a Item)>) {
            out.push((depth, item));
            for child in &item.children {
                go(child, depth + 1, out);
            }
        }
        go(self, 0, &mut out);
        out
    }

    pub fn count(&self) -> usize {
        1 + self.children.iter().map(Item::count).sum::<usize>()
    }
}

/// A section of one member's update: a heading line and its items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Section {
    /// What the section means; `None` for a heading the bot does not model (kept as written).
    pub kind: Option<SectionKind>,
    /// The heading exactly as written (`"Last week:"`, `"🚢 Shipped:"`), or `None` to use the
    /// format's own heading for `kind`, or to have no heading line at all when `kind` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The bullet in front of the heading line (`planning` headings are list items themselves).
    #[serde(default = "auto_marker", skip_serializing_if = "is_auto")]
    pub heading_marker: Marker,
    /// Text on the heading's own line after the colon (`This week: finish the frontend`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

fn auto_marker() -> Marker {
    Marker::Auto
}

fn is_auto(m: &Marker) -> bool {
    *m == Marker::Auto
}

impl Section {
    pub fn new(kind: SectionKind) -> Self {
        Section {
            kind: Some(kind),
            heading: None,
            heading_marker: Marker::Auto,
            text: None,
            items: Vec::new(),
        }
    }

    /// Every line of the section below its heading (inline text first), depth first.
    pub fn lines(&self) -> Vec<(usize, &Item)> {
        self.items.iter().flat_map(Item::walk).collect()
    }

    /// The section's texts: its inline text, then every item, depth first.
    pub fn texts(&self) -> Vec<&str> {
        let items = self.lines().into_iter().map(|(_, i)| i.text.as_str());
        self.text.as_deref().into_iter().chain(items).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.texts().iter().all(|t| t.trim().is_empty())
    }
}

/// One member's update for one cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    pub sections: Vec<Section>,
}

impl Update {
    /// The first section of `kind`; see [`Update::sections_of`] for a kind written under two
    /// names (`This week:` and `Next week:`).
    pub fn section(&self, kind: SectionKind) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == Some(kind))
    }

    /// Every section of `kind`, in order.
    pub fn sections_of(&self, kind: SectionKind) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(move |s| s.kind == Some(kind))
    }

    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(Section::is_empty)
    }

    /// The blockers this update reports: the lines of its *Blocked* sections that are not
    /// a "nothing" marker such as `N/A`, `none` or `-`.
    pub fn blockers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for section in self.sections_of(SectionKind::Blocked) {
            if let Some(text) = section.text.as_deref().filter(|t| !is_nothing(t)) {
                out.push(text.trim().to_string());
            }
            for item in &section.items {
                if !is_nothing(&item.text) {
                    out.push(item.text.trim().to_string());
                }
            }
        }
        out
    }
}

/// `N/A`, `none`, `-`, `nothing` and the like: said where a section is intentionally empty.
pub fn is_nothing(text: &str) -> bool {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    matches!(
        t.as_str(),
        "" | "n/a" | "na" | "none" | "-" | "--" | "nothing" | "no" | "nope" | "no blockers" | "nil"
    )
}

/// A problem the parser or importer noticed but worked around; nothing is dropped because of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// 1-based line of the input the diagnostic is about.
    pub line: usize,
    pub message: String,
}

/// What a meeting-level section is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockRole {
    /// Kept verbatim and copied forward to the next meeting (Agenda, Projects, ...).
    Verbatim,
    /// The members' updates go here.
    Updates,
    /// Kept verbatim; questions gathered from updates are added at its end.
    Questions,
}

/// A meeting-level section: a heading line and its body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    pub role: BlockRole,
    /// The heading line exactly as written, `#`s included (`## Agenda`).
    pub heading: String,
    /// The body with surrounding blank lines removed; for [`BlockRole::Updates`], text that
    /// stood before the first member.
    pub body: String,
}

/// A question gathered from a member's update, shown in the meeting's questions section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub handle: String,
    pub text: String,
}

/// One row of the cycle's roster: who is in the document, in order, and what they said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub handle: String,
    /// `None`: no update this cycle (the member is shown as the format shows an empty update).
    pub update: Option<Update>,
    /// Shown instead of the empty sections of a member with no update (`Out of office`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Everything needed to render one meeting's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    pub format: Format,
    pub date: chrono::NaiveDate,
    /// Title text without the leading `#`s.
    pub title: String,
    pub blocks: Vec<Block>,
    pub entries: Vec<Entry>,
    pub questions: Vec<Question>,
    /// Sections the bot writes from what it knows (resolved blockers, participation, ...),
    /// placed before the questions section. Never stored: worked out at each render.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<Extra>,
}

/// A section the bot adds to a meeting's document; the renderer gives the heading the
/// format's level (`## ` for `planning`, `### ` for `standup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// Heading text without `#`s.
    pub heading: String,
    /// Markdown lines of the section.
    pub body: String,
}

/// A blocker reported by a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub id: i64,
    pub team: TeamId,
    pub handle: String,
    pub text: String,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_markers_are_not_blockers() {
        for t in ["N/A", "none", "-", " None. ", "n/a", "nothing"] {
            assert!(is_nothing(t), "{t:?}");
        }
        for t in ["waiting on review", "N/A until Friday", "no access to prod"] {
            assert!(!is_nothing(t), "{t:?}");
        }
    }

    #[test]
    fn blockers_come_from_the_blocked_section_only() {
        let mut blocked = Section::new(SectionKind::Blocked);
        blocked.items.push(Item::new(Marker::Auto, "N/A"));
        blocked
            .items
            .push(Item::new(Marker::Auto, "Short week / moving"));
        let mut next = Section::new(SectionKind::Next);
        next.items.push(Item::new(Marker::Auto, "Ship it"));
        let update = Update {
            sections: vec![blocked, next],
        };
        assert_eq!(update.blockers(), vec!["Short week / moving".to_string()]);
    }
}
