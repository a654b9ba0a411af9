//! One running bot per SQLite file. Two bots on one file would each run the schedule (a member
//! prompted twice) or one would fail later with "database is locked"; the second is refused at
//! start instead, with a line naming the first.
//!
//! The claim is an advisory lock (`flock`) on `<database>.owner`, a file beside the database
//! that also says who holds it. The operating system lets go of the lock when the holder exits,
//! however it exits (a crash, SIGKILL), so a stale file never blocks a start. Commands that only
//! read or import do not take it: SQLite keeps them safe beside the bot.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::{Error, Result};

/// The running bot's claim on its database, held until dropped.
#[derive(Debug)]
pub struct Owner {
    /// Kept open: closing it lets go of the lock.
    _file: Option<File>,
}

/// The claim file of the database at `path`.
fn owner_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".owner");
    PathBuf::from(name)
}

impl Owner {
    /// Claims the database at `path` for this process; `who` says who is claiming it
    /// (written in the file for a second bot's message). Refused while another holds it.
    pub fn claim(path: &Path, who: &str) -> Result<Owner> {
        let claim = owner_path(path);
        let shown = path.display().to_string();
        let open_error = |e: std::io::Error| Error::Open {
            path: shown.clone(),
            reason: format!("cannot claim it through {}: {e}", claim.display()),
        };
        if let Some(dir) = claim.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(open_error)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&claim)
            .map_err(open_error)?;
        if !try_lock(&file) {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Error::InUse {
                path: shown,
                holder: if holder.is_empty() {
                    "it has not said who it is".into()
                } else {
                    holder.to_string()
                },
            });
        }
        // Ours now: say who holds it.
        file.set_len(0).map_err(open_error)?;
        file.rewind().map_err(open_error)?;
        file.write_all(who.as_bytes()).map_err(open_error)?;
        file.flush().map_err(open_error)?;
        Ok(Owner { _file: Some(file) })
    }

    /// Claims the database a config names: the SQLite file as [`Owner::claim`] does. A
    /// PostgreSQL database is not claimed: replicas share it, taking turns at the scheduler by
    /// lease (`store::lease`).
    pub fn claim_configured(database: &crate::config::DatabaseConfig, who: &str) -> Result<Owner> {
        if database.url.is_some() {
            return Ok(Owner { _file: None });
        }
        Owner::claim(&database.path, who)
    }
}

/// Takes the file's exclusive advisory lock without waiting; false while another holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this File owns and keeps open; no memory is passed.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Elsewhere nothing is claimed (the bot ships for Linux).
#[cfg(not(unix))]
fn try_lock(_: &File) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data").join("standup.db");
        let first = Owner::claim(&db, "pid 1 on host-a").unwrap();
        let refused = Owner::claim(&db, "pid 2 on host-a")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("another standup-bot runs on this database (pid 1 on host-a)"),
            "{refused}"
        );
        assert!(refused.contains("standup.db"), "{refused}");
        drop(first);
        let second = Owner::claim(&db, "pid 2 on host-a").unwrap();
        assert_eq!(
            std::fs::read_to_string(owner_path(&db)).unwrap(),
            "pid 2 on host-a"
        );
        drop(second);
    }
}
