//! Keeping the notes archive in line with what was posted: after each post or refresh of a
//! cycle's notes, the same document goes into the archive (see [`crate::archive`]).
//!
//! Each team has its own queue and at most one save under way, on a blocking thread: the post
//! hands its document over and goes on, so a slow disk or a hung `git` holds back only its own
//! team's archive, never the bot or the other teams. A newer version of a meeting's document
//! replaces an older one still waiting, so versions reach the files in order and a backlog
//! never grows past one document per meeting.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::App;
use crate::archive::{Archive, Meeting};
use crate::config::TeamConfig;
use crate::store::CycleInfo;
use standup_core::domain::TeamId;

/// The archive with one queue per team.
pub(crate) struct Archiver {
    archive: Archive,
    teams: HashMap<TeamId, Arc<Queue>>,
}

/// What waits to be saved for one team.
#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    name: String,
    /// The latest document of each meeting not saved yet.
    documents: BTreeMap<NaiveDate, String>,
    /// The titles of the team's meetings, for the index, as of the latest document.
    titles: BTreeMap<NaiveDate, String>,
    /// Whether a task is saving for this team (it takes what arrives meanwhile too).
    saving: bool,
}

impl Archiver {
    pub(crate) fn new(archive: Archive, teams: &[TeamConfig]) -> Archiver {
        Archiver {
            archive,
            teams: teams
                .iter()
                .map(|t| (t.id.clone(), Arc::default()))
                .collect(),
        }
    }

    /// Queues `document` as the notes of `team`'s meeting on `date`, and starts the team's
    /// save unless one is under way (it then picks this up when it is done). Returns at once.
    pub(crate) fn submit(
        &self,
        team: &TeamConfig,
        date: NaiveDate,
        document: String,
        titles: BTreeMap<NaiveDate, String>,
    ) {
        let Some(queue) = self.teams.get(&team.id) else {
            return;
        };
        {
            let mut pending = lock(queue);
            pending.name = team.name.clone();
            pending.documents.insert(date, document);
            pending.titles = titles;
            if pending.saving {
                return;
            }
            pending.saving = true;
        }
        let (archive, queue, id) = (self.archive.clone(), queue.clone(), team.id.clone());
        tokio::spawn(save_all(archive, queue, id));
    }
}

fn lock(queue: &Queue) -> std::sync::MutexGuard<'_, Pending> {
    queue
        .pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Saves what the team's queue holds until it is empty. A failure is logged with what to do
/// and the task goes on: the archive's files are its state, so the next save completes it.
async fn save_all(archive: Archive, queue: Arc<Queue>, team: TeamId) {
    loop {
        let (name, documents, titles) = {
            let mut pending = lock(&queue);
            if pending.documents.is_empty() {
                pending.saving = false;
                return;
            }
            (
                pending.name.clone(),
                std::mem::take(&mut pending.documents),
                pending.titles.clone(),
            )
        };
        let dates: Vec<NaiveDate> = documents.keys().copied().collect();
        let job = {
            let (archive, team) = (archive.clone(), team.clone());
            tokio::task::spawn_blocking(move || {
                let meetings: Vec<Meeting<'_>> = documents
                    .iter()
                    .map(|(date, text)| Meeting { date: *date, text })
                    .collect();
                archive.save(&team, &name, &meetings, &titles)
            })
        };
        let saved = wait_reporting(job, &team, &dates, archive.timeout()).await;
        match saved {
            Ok(Ok(saved)) if !saved.written.is_empty() || saved.committed => {
                tracing::info!(team = %team, cycles = ?dates, files = saved.written.len(), committed = saved.committed, "notes archived");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(team = %team, cycles = ?dates, error = %e, "notes not archived");
            }
            Err(e) => {
                tracing::error!(team = %team, cycles = ?dates, error = %e, "notes not archived: the archive task failed; retried at the next post");
            }
        }
    }
}

/// Awaits a save. Git stops itself at its timeout, but a file write on a hung disk cannot be
/// stopped: past twice the timeout the wait is reported, once, and goes on — one save per
/// team at a time, so a stuck one holds up nothing but its own team's archive.
async fn wait_reporting<T>(
    mut job: tokio::task::JoinHandle<T>,
    team: &TeamId,
    dates: &[NaiveDate],
    timeout: Duration,
) -> Result<T, tokio::task::JoinError> {
    let patience = timeout * 2;
    match tokio::time::timeout(patience, &mut job).await {
        Ok(done) => done,
        Err(_) => {
            tracing::error!(team = %team, cycles = ?dates, "notes archive: a save has not finished after {} s (the disk the archive is on?); this team's archive waits for it, the bot goes on", patience.as_secs_f64());
            job.await
        }
    }
}

impl App {
    /// Hands the posted `document` of `cycle` to the team's archive queue (see the module
    /// docs). A failure is logged with what to do and never fails the post: the next post or
    /// refresh tries again, and `standup-bot archive --team ID` writes everything stored.
    pub(super) async fn archive_notes(&self, team: &TeamConfig, cycle: &CycleInfo, document: &str) {
        let Some(archiver) = &self.archive else {
            return;
        };
        let titles = match self.store().cycles(&team.id) {
            Ok(cycles) => cycles.into_iter().map(|c| (c.date, c.title)).collect(),
            Err(e) => {
                tracing::error!(team = %team.id, cycle = %cycle.date, error = %e, "notes not archived: cannot read the meeting titles; retried at the next post");
                return;
            }
        };
        archiver.submit(team, cycle.date, document.to_string(), titles);
    }
}
