//! `standup-bot export`: a team's stored meetings in a date range as one document, newest first
//! and separated by `---`, the form `import` reads back.

use chrono::NaiveDate;

use crate::config::TeamConfig;
use crate::error::{Error, Result};
use crate::store::Store;
use standup_core::render::Renderer;

/// Renders every meeting of `team` from `from` to `to` (inclusive, either open) as one
/// document. No meeting in the range is an error that says which dates there are.
pub fn export(
    store: &Store,
    renderer: &Renderer,
    team: &TeamConfig,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<String> {
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(Error::Usage(format!(
            "--from {from} is after --to {to}; give the earlier date as --from"
        )));
    }
    let cycles = store.cycles(&team.id)?;
    let dates: Vec<NaiveDate> = cycles
        .iter()
        .map(|c| c.date)
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .collect();
    if dates.is_empty() {
        let known = match (cycles.last(), cycles.first()) {
            (Some(oldest), Some(newest)) => format!(
                "its {} meeting{} run from {} to {}",
                cycles.len(),
                if cycles.len() == 1 { "" } else { "s" },
                oldest.date,
                newest.date
            ),
            _ => "it has none yet".to_string(),
        };
        return Err(Error::Usage(format!(
            "team `{}` has no meeting{}; {known}",
            team.id,
            range_words(from, to)
        )));
    }
    let mut documents = Vec::with_capacity(dates.len());
    for date in dates {
        documents.push(crate::app::document::compile(store, renderer, team, date)?);
    }
    Ok(join(&documents))
}

fn range_words(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!(" from {f} to {t}"),
        (Some(f), None) => format!(" on or after {f}"),
        (None, Some(t)) => format!(" on or before {t}"),
        (None, None) => String::new(),
    }
}

/// Joins rendered meetings (newest first) with a `---` line between them. A format whose
/// meetings already end with a `---` line (`standup`) gets no second one.
pub fn join(documents: &[String]) -> String {
    let mut out = String::new();
    for (i, doc) in documents.iter().enumerate() {
        if i > 0 {
            let closed = out
                .trim_end()
                .lines()
                .next_back()
                .is_some_and(|l| l.trim() == "---");
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(if closed { "\n" } else { "\n---\n\n" });
        }
        out.push_str(doc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn meetings_are_separated_once() {
        let planning = ["# B\n\nb\n".to_string(), "# A\n\na\n".to_string()];
        assert_eq!(join(&planning), "# B\n\nb\n\n---\n\n# A\n\na\n");
        let standup = [
            "## B\n\nb\n\n---\n".to_string(),
            "## A\n\n---\n".to_string(),
        ];
        assert_eq!(join(&standup), "## B\n\nb\n\n---\n\n## A\n\n---\n");
        assert_eq!(join(&["only\n".to_string()]), "only\n");
        assert_eq!(join(&[]), "");
    }
}
