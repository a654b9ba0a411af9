//! Lines of text as lists see them: indentation, bullet and text, and the tree they nest into.
//!
//! Shared by the Slack reply parser and the notes importer, so that both read nesting the same
//! way: an item indented further than the one before it is its child; anything else closes
//! levels until it finds a less-indented parent (as Markdown lists do). Tabs advance to the next
//! multiple of four columns.

use crate::domain::{Item, Marker};

/// Which bullets a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bullets {
    /// Slack: `•` `◦` `▪` `-` `*` and numbers; glyphs become [`Marker::Auto`].
    Slack,
    /// Markdown notes: `-` `*` `+` and numbers, all kept as typed.
    Markdown,
}

/// One classified line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// Width of the leading whitespace in columns.
    pub indent: usize,
    pub marker: Marker,
    /// The text after the bullet, with trailing whitespace removed.
    pub text: &'a str,
}

/// Columns taken by leading whitespace, and the rest of the line.
pub fn split_indent(raw: &str) -> (usize, &str) {
    let mut col = 0;
    for (i, c) in raw.char_indices() {
        match c {
            ' ' | '\u{a0}' => col += 1,
            '\t' => col = (col / 4 + 1) * 4,
            _ => return (col, &raw[i..]),
        }
    }
    (col, "")
}

const SLACK_GLYPHS: [char; 8] = ['•', '◦', '▪', '▫', '‣', '○', '■', '·'];

/// Reads the indentation and bullet of one line.
pub fn classify(raw: &str, bullets: Bullets) -> Line<'_> {
    let (indent, rest) = split_indent(raw);
    let rest = rest.trim_end();
    let (marker, text) = split_marker(rest, bullets);
    Line {
        indent,
        marker,
        text,
    }
}

fn split_marker(rest: &str, bullets: Bullets) -> (Marker, &str) {
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return (Marker::Plain, rest);
    };
    // A bullet glyph followed by whitespace or the end of the line.
    let glyph = match bullets {
        Bullets::Slack => first == '-' || first == '*' || SLACK_GLYPHS.contains(&first),
        Bullets::Markdown => first == '-' || first == '*' || first == '+',
    };
    if glyph {
        let after = &rest[first.len_utf8()..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            let marker = match bullets {
                Bullets::Slack => Marker::Auto,
                Bullets::Markdown => Marker::Bullet(first.to_string()),
            };
            return (marker, after.trim_start());
        }
        return (Marker::Plain, rest);
    }
    // Numbered: up to 9 digits then `.` or `)`, then whitespace or the end.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let after = &rest[digits..];
        if let Some(tail) = after.strip_prefix(['.', ')'])
            && (tail.is_empty() || tail.starts_with([' ', '\t']))
        {
            let marker = Marker::Bullet(rest[..digits + 1].to_string());
            return (marker, tail.trim_start());
        }
    }
    (Marker::Plain, rest)
}

/// The deepest nesting kept; deeper lines stay at this depth.
pub const MAX_DEPTH: usize = 16;

/// Builds the nesting of items from their indentation.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    roots: Vec<Item>,
    /// Indentation of the open item at each depth.
    open: Vec<usize>,
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Adds an item indented by `indent` columns; returns its depth.
    pub fn push(&mut self, indent: usize, item: Item) -> usize {
        while self.open.last().is_some_and(|&open| open >= indent) {
            self.open.pop();
        }
        // Deeper than anyone writes by hand: keep the line, as a sibling at the deepest level,
        // so hostile input cannot build a tree too deep to store, render or drop.
        self.open.truncate(MAX_DEPTH - 1);
        let depth = self.open.len();
        let mut level = &mut self.roots;
        for _ in 0..depth {
            level = &mut level.last_mut().expect("open levels have items").children;
        }
        level.push(item);
        self.open.push(indent);
        depth
    }

    pub fn finish(self) -> Vec<Item> {
        self.roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, bullets: Bullets, indent: usize, marker: Marker, text: &str) {
        assert_eq!(
            classify(raw, bullets),
            Line {
                indent,
                marker,
                text
            },
            "{raw:?}"
        );
    }

    #[test]
    fn classifies_bullets() {
        let auto = Marker::Auto;
        let b = |s: &str| Marker::Bullet(s.to_string());
        check("• one", Bullets::Slack, 0, auto.clone(), "one");
        check("    ◦ two  ", Bullets::Slack, 4, auto.clone(), "two");
        check("▪ three", Bullets::Slack, 0, auto.clone(), "three");
        check("1. first", Bullets::Slack, 0, b("1."), "first");
        check("12) twelfth", Bullets::Markdown, 0, b("12)"), "twelfth");
        check("\t* tabbed", Bullets::Markdown, 4, b("*"), "tabbed");
        check("  \t- mixed", Bullets::Markdown, 4, b("-"), "mixed");
        check("-", Bullets::Markdown, 0, b("-"), "");
        check(
            "*bold* text",
            Bullets::Slack,
            0,
            Marker::Plain,
            "*bold* text",
        );
        check(
            "-5 degrees",
            Bullets::Markdown,
            0,
            Marker::Plain,
            "-5 degrees",
        );
        check(
            "2024. was a year",
            Bullets::Markdown,
            0,
            b("2024."),
            "was a year",
        );
        check(
            "• not markdown",
            Bullets::Markdown,
            0,
            Marker::Plain,
            "• not markdown",
        );
        check("   ", Bullets::Markdown, 3, Marker::Plain, "");
    }

    #[test]
    fn absurd_nesting_is_capped_without_losing_lines() {
        let mut tree = TreeBuilder::new();
        for i in 0..10_000 {
            tree.push(i, Item::new(Marker::Auto, format!("level {i}")));
        }
        let roots = tree.finish();
        let mut depth = 0;
        let mut level = &roots;
        while let Some(last) = level.last() {
            depth += 1;
            level = &last.children;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(roots.iter().map(Item::count).sum::<usize>(), 10_000);
    }

    #[test]
    fn nests_by_relative_indentation() {
        let mut tree = TreeBuilder::new();
        let item = |t: &str| Item::new(Marker::Auto, t);
        assert_eq!(tree.push(4, item("a")), 0);
        assert_eq!(tree.push(8, item("a.1")), 1);
        assert_eq!(tree.push(12, item("a.1.1")), 2);
        assert_eq!(tree.push(6, item("a.2")), 1);
        assert_eq!(tree.push(0, item("b")), 0);
        assert_eq!(tree.push(2, item("b.1")), 1);
        let roots = tree.finish();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[0].children.len(), 2);
        assert_eq!(roots[0].children[0].children[0].text, "a.1.1");
        assert_eq!(roots[1].children[0].text, "b.1");
    }
}
