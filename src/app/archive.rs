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
use super::cycle;
use crate::archive::{Archive, Meeting};
use crate::config::TeamConfig;
use crate::store::CycleInfo;
use standup_core::domain::TeamId;

/// The archive with one queue per team.
pub(crate) struct Archiver {
    archive: Archive,
    /// Made as teams first post, so a team added by a reload has one too.
    teams: Mutex<HashMap<TeamId, Arc<Queue>>>,
    /// How many teams' saves are under way, for a shutdown to wait on.
    busy: Arc<tokio::sync::watch::Sender<usize>>,
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
    pub(crate) fn new(archive: Archive) -> Archiver {
        Archiver {
            archive,
            teams: Mutex::default(),
            busy: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Waits until no save is under way or waiting, for at most `within`; false if one still is.
    pub(crate) async fn settled(&self, within: Duration) -> bool {
        let mut busy = self.busy.subscribe();
        tokio::time::timeout(within, busy.wait_for(|n| *n == 0))
            .await
            .is_ok()
    }

    /// Queues `document` as the notes of `team`'s meeting on `date`, and starts the team's
    /// save unless one is under way (it then picks this up when it is done). Returns at once.
    pub(crate) fn submit(
        &self,
        team: &TeamId,
        name: &str,
        date: NaiveDate,
        document: String,
        titles: BTreeMap<NaiveDate, String>,
    ) {
        let queue = self
            .teams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(team.clone())
            .or_default()
            .clone();
        {
            let mut pending = lock(&queue);
            pending.name = name.to_string();
            pending.documents.insert(date, document);
            pending.titles = titles;
            if pending.saving {
                return;
            }
            pending.saving = true;
        }
        self.busy.send_modify(|n| *n += 1);
        let (archive, queue, id) = (self.archive.clone(), queue.clone(), team.clone());
        let busy = self.busy.clone();
        tokio::spawn(async move {
            save_all(archive, queue, id).await;
            busy.send_modify(|n| *n -= 1);
        });
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

/// Hands the posted `document` of `cycle` to the team's archive queue (see the module
/// docs). A failure is logged with what to do and never fails the post: the next post or
/// refresh tries again, and `standup-bot archive --team ID` writes everything stored.
pub(super) async fn archive_notes(app: &App, team: &TeamConfig, cycle: &CycleInfo, document: &str) {
    let Some(archiver) = &app.archive else {
        return;
    };
    let titles = match cycle::cycles(app, &team.id).await {
        Ok(cycles) => cycles.into_iter().map(|c| (c.date, c.title)).collect(),
        Err(e) => {
            tracing::error!(team = %team.id, cycle = %cycle.date, error = %e, "notes not archived: cannot read the meeting titles; retried at the next post");
            return;
        }
    };
    archiver.submit(
        &team.id,
        &team.name,
        cycle.date,
        document.to_string(),
        titles,
    );
}

/// At shutdown: lets the archive finish what it was handed, for at most `within` (a git
/// stops at its own deadline; what is left is completed by the next save after a start).
pub async fn archive_settled(app: &App, within: Duration) {
    if let Some(archiver) = &app.archive
        && !archiver.settled(within).await
    {
        tracing::warn!(
            "stopping with the notes archive still being written; the next post completes it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
    }

    /// Versions handed over quickly, one after the other, end as the last one on disk, for
    /// each meeting and each team; a shutdown can wait for them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_version_handed_over_is_the_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notes");
        let (orbit, apollo) = (TeamId::new("orbit"), TeamId::new("apollo"));
        let archiver = Archiver::new(Archive::new(dir.clone(), true));
        for n in 0..20 {
            for (team, name) in [(&orbit, "Orbit"), (&apollo, "Apollo")] {
                for d in [11, 18] {
                    archiver.submit(
                        team,
                        name,
                        day(d),
                        format!("version {n}\n"),
                        BTreeMap::new(),
                    );
                }
            }
        }
        assert!(archiver.settled(Duration::from_secs(60)).await);
        for team in ["orbit", "apollo"] {
            for d in ["2024-03-11", "2024-03-18"] {
                assert_eq!(
                    std::fs::read_to_string(dir.join(format!("{team}/{d}.md"))).unwrap(),
                    "version 19\n",
                    "{team} {d}"
                );
            }
        }
        let status = std::process::Command::new("git")
            .args(["status", "--porcelain"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(status.stdout.is_empty(), "all committed");
        // A team first posting after the start (added by a reload) gets its queue then.
        archiver.submit(
            &TeamId::new("newcomer"),
            "Newcomer",
            day(11),
            "x\n".into(),
            BTreeMap::new(),
        );
        assert!(archiver.settled(Duration::from_secs(5)).await);
        assert_eq!(
            std::fs::read_to_string(dir.join("newcomer/2024-03-11.md")).unwrap(),
            "x\n"
        );
    }
}
