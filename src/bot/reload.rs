//! The config file watched while the bot runs: an edit (or SIGHUP) is loaded and checked as
//! `check-config` would; a valid one applies at once (see [`crate::app::reload`]), an invalid one
//! leaves the bot running by the config it has and logs every problem with what to do.
//!
//! The file is looked at every few seconds rather than through file-system notifications: an
//! editor's save by rename, a Kubernetes ConfigMap's swapped symlink and a network file system
//! all show up as new contents, which is all this compares. A change is taken once the contents
//! have stayed the same for one look, so a file caught half-written is not reported as broken.
//!
//! Among replicas on PostgreSQL the teams set up from Slack (kept in the database) are looked at
//! too: a team set up through one replica is then run by all, and written into the database by
//! the leader (followers do not write the config's teams, see [`App::keeps_teams`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::app::{self, App};

/// How often the config file is looked at by default.
pub const POLL: Duration = Duration::from_secs(2);

/// Watches the running config's file until `stop`; reloads it when its contents change (every
/// `poll`, if given) and at each `reload` notification.
pub async fn watch(
    app: Arc<App>,
    poll: Option<Duration>,
    reload: Arc<Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = fingerprint(&app).await.unwrap_or_default();
    // Contents seen changed at the last look, taken if they are the same at the next.
    let mut settling: Option<Fingerprint> = None;
    loop {
        let look = async {
            match poll {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = look => {
                // The database could not be read: nothing is known to have changed.
                let Some(now) = fingerprint(&app).await else { continue };
                if now == seen {
                    settling = None;
                } else if settling != Some(now) {
                    settling = Some(now);
                } else {
                    settling = None;
                    let why = if now.files == seen.files {
                        "the teams set up from Slack changed"
                    } else {
                        "the config file changed"
                    };
                    seen = now;
                    reload_now(&app, why).await;
                }
            }
            () = reload.notified() => {
                seen = fingerprint(&app).await.unwrap_or(seen);
                settling = None;
                reload_now(&app, "asked to (SIGHUP)").await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// What a reload is made of, as digests: the files, and among replicas the teams set up from
/// Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Fingerprint {
    files: [u8; 32],
    slack_teams: [u8; 32],
}

/// The contents of the config file and the team templates it names (missing files count as
/// empty: a file being replaced is picked up when it is back); among replicas, also the teams
/// set up from Slack. `None` when the database could not be read.
async fn fingerprint(app: &App) -> Option<Fingerprint> {
    let config = app.config();
    let files: Vec<PathBuf> = std::iter::once(config.path.clone())
        .chain(config.teams.iter().filter_map(|t| t.template.clone()))
        .collect();
    let slack_teams: [u8; 32] = if config.database.url.is_some() {
        let teams: Result<_, crate::store::Error> = app.read(|s| s.slack_teams()).await;
        Sha256::digest(format!("{:?}", teams.ok()?)).into()
    } else {
        [0; 32]
    };
    let files = tokio::task::spawn_blocking(move || {
        let mut hash = Sha256::new();
        for file in files {
            hash.update(file.as_os_str().as_encoded_bytes());
            hash.update(std::fs::read(&file).unwrap_or_default());
        }
        hash.finalize().into()
    })
    .await
    .unwrap_or_default();
    Some(Fingerprint { files, slack_teams })
}

/// Loads the config file again and applies it, or logs why not; the bot goes on either way.
pub async fn reload_now(app: &App, why: &str) {
    if let Ok(reloaded) = app::reload::from_file(app, why).await
        && !reloaded.changes.is_empty()
    {
        crate::bot::scheduler::announce(app).await;
    }
}
