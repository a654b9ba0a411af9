//! Keeping the notes archive in line with what was posted: after each post or refresh of a
//! cycle's notes, the same document goes into the archive (see [`crate::archive`]).

use super::App;
use crate::config::TeamConfig;
use crate::store::CycleInfo;

impl App {
    /// Writes (and with git, commits) the posted `document` of `cycle`. A failure is logged
    /// with what to do and never fails the post: the next post or refresh tries again, and
    /// `standup-bot archive --team ID` writes everything stored.
    pub(super) async fn archive_notes(&self, team: &TeamConfig, cycle: &CycleInfo, document: &str) {
        let Some(archive) = self.archive.clone() else {
            return;
        };
        let titles = match self.cycles(&team.id).await {
            Ok(cycles) => cycles.into_iter().map(|c| (c.date, c.title)).collect(),
            Err(e) => {
                tracing::error!(team = %team.id, cycle = %cycle.date, error = %e, "notes not archived: cannot read the meeting titles; retried at the next post");
                return;
            }
        };
        let (id, name, date, text) = (
            team.id.clone(),
            team.name.clone(),
            cycle.date,
            document.to_string(),
        );
        // Files and git processes block: off the async workers. Awaited, so the notes lock
        // the caller holds keeps versions in order.
        let saved = tokio::task::spawn_blocking(move || {
            let meeting = crate::archive::Meeting { date, text: &text };
            archive.save(&id, &name, &[meeting], &titles)
        })
        .await;
        match saved {
            Ok(Ok(saved)) if !saved.written.is_empty() || saved.committed => {
                tracing::info!(team = %team.id, cycle = %cycle.date, files = saved.written.len(), committed = saved.committed, "notes archived");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(team = %team.id, cycle = %cycle.date, error = %e, "notes not archived");
            }
            Err(e) => {
                tracing::error!(team = %team.id, cycle = %cycle.date, error = %e, "notes not archived: the archive task failed; retried at the next post");
            }
        }
    }
}
