//! The notes archive: each posted meeting kept as `<dir>/<team>/<YYYY-MM-DD>.md`, with a
//! `README.md` per team listing them newest first, optionally committed to git.
//!
//! The files on disk are the archive's only state: a save writes what differs and, with git,
//! commits whatever in the team's folder is not committed yet. So a save that failed half way
//! (a full disk, a lock left by another git) is completed by the next one, and saving the same
//! meeting twice changes nothing. Git is driven through its command line, which every host
//! that keeps a repository has, rather than a linked library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::NaiveDate;

use crate::config::ArchiveConfig;
use standup_core::domain::TeamId;

/// The name commits are made under (author and committer).
pub const GIT_NAME: &str = "standup-bot";
pub const GIT_EMAIL: &str = "standup-bot@localhost";
/// The per-team list of meetings.
pub const INDEX: &str = "README.md";

/// Why the archive could not be brought up to date; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{}: cannot write the notes archive: {reason}; check that the folder can be created and written by the bot ([archive] dir)",
        path.display()
    )]
    Write { path: PathBuf, reason: String },
    #[error(
        "[archive] git = true, but the `git` command cannot be run ({reason}); install git (e.g. `apt-get install git`) or set git = false"
    )]
    NoGit { reason: String },
    #[error(
        "{}: `git {what}` failed: {detail}; fix the repository (a stale .git/index.lock? a folder owned by another user?) — the archive is committed again at the next post",
        dir.display()
    )]
    Git {
        dir: PathBuf,
        what: String,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// One meeting to keep.
#[derive(Debug, Clone, Copy)]
pub struct Meeting<'a> {
    pub date: NaiveDate,
    pub text: &'a str,
}

/// What a save did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// Files written (changed or new), relative to the archive folder.
    pub written: Vec<PathBuf>,
    /// Whether a commit was made.
    pub committed: bool,
}

/// The configured archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    dir: PathBuf,
    git: bool,
}

impl Archive {
    /// The archive `[archive]` describes; `None` when it is off.
    pub fn from_config(config: &ArchiveConfig) -> Option<Archive> {
        config.dir.as_ref().map(|dir| Archive {
            dir: dir.clone(),
            git: config.git,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The start-up check: with git on, the `git` command must run.
    pub fn check(&self) -> Result<()> {
        if !self.git {
            return Ok(());
        }
        match Command::new("git")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(Error::NoGit {
                reason: format!("`git --version` exited with {}", out.status),
            }),
            Err(e) => Err(Error::NoGit {
                reason: e.to_string(),
            }),
        }
    }

    /// Writes `meetings` of `team` and its index, and commits the team's folder when git is on.
    /// `titles` are the titles of the team's stored meetings, for the index.
    pub fn save(
        &self,
        team: &TeamId,
        team_name: &str,
        meetings: &[Meeting<'_>],
        titles: &BTreeMap<NaiveDate, String>,
    ) -> Result<Saved> {
        let folder = self.dir.join(team.as_str());
        std::fs::create_dir_all(&folder).map_err(|e| Error::Write {
            path: folder.clone(),
            reason: e.to_string(),
        })?;
        let mut saved = Saved::default();
        let mut updated = false;
        for m in meetings {
            let name = format!("{}.md", m.date);
            let path = folder.join(&name);
            updated |= path.exists();
            if write_if_changed(&path, m.text)? {
                saved.written.push(Path::new(team.as_str()).join(name));
            }
        }
        let dates = archived_dates(&folder)?;
        let entries: Vec<(NaiveDate, &str)> = dates
            .iter()
            .rev()
            .map(|d| (*d, titles.get(d).map_or("", String::as_str)))
            .collect();
        if write_if_changed(&folder.join(INDEX), &index(team_name, &entries))? {
            saved.written.push(Path::new(team.as_str()).join(INDEX));
        }
        if self.git {
            let message = commit_message(team, meetings, updated);
            saved.committed = self.commit(team, &message)?;
        }
        Ok(saved)
    }

    /// Commits the team's folder if anything in it is not committed; returns whether it did.
    fn commit(&self, team: &TeamId, message: &str) -> Result<bool> {
        if self.git_status(&["rev-parse", "--git-dir"])?.is_none() {
            self.git(&["-c", "init.defaultBranch=main", "init", "-q"])?;
        }
        let folder = team.as_str();
        self.git(&["add", "-A", "--", folder])?;
        // `diff --quiet` exits 1 when something is staged: that is the answer, not a failure.
        if self
            .git_status(&["diff", "--cached", "--quiet", "--", folder])?
            .is_some()
        {
            return Ok(false);
        }
        self.git(&[
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
            "--",
            folder,
        ])?;
        Ok(true)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .env("GIT_AUTHOR_NAME", GIT_NAME)
            .env("GIT_AUTHOR_EMAIL", GIT_EMAIL)
            .env("GIT_COMMITTER_NAME", GIT_NAME)
            .env("GIT_COMMITTER_EMAIL", GIT_EMAIL)
            .env("GIT_TERMINAL_PROMPT", "0");
        cmd
    }

    /// Runs git; an exit other than 0 is an error.
    fn git(&self, args: &[&str]) -> Result<()> {
        match self.git_status(args)? {
            Some(()) => Ok(()),
            None => Err(self.failed(args, "exited with an error".into())),
        }
    }

    /// Runs git: `Some` on exit 0, `None` on exit 1, an error otherwise (with git's words).
    fn git_status(&self, args: &[&str]) -> Result<Option<()>> {
        let out = self
            .command(args)
            .output()
            .map_err(|e| self.failed(args, e.to_string()))?;
        match out.status.code() {
            Some(0) => Ok(Some(())),
            Some(1) if args[0] == "diff" => Ok(None),
            // `rev-parse --git-dir` outside a repository exits 128: not one yet.
            Some(128) if args[0] == "rev-parse" => Ok(None),
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let detail = stderr.trim();
                let detail: String = detail.chars().take(400).collect();
                Err(self.failed(args, format!("{} ({})", detail, out.status)))
            }
        }
    }

    fn failed(&self, args: &[&str], detail: String) -> Error {
        let what = args
            .iter()
            .find(|a| !a.starts_with('-') && !a.contains('='))
            .unwrap_or(&"")
            .to_string();
        Error::Git {
            dir: self.dir.clone(),
            what,
            detail,
        }
    }
}

/// Writes `text` to `path` (atomically) unless the file already holds it; returns whether it
/// wrote.
fn write_if_changed(path: &Path, text: &str) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    crate::files::write_atomically(path, text.as_bytes()).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(true)
}

/// The dates of the meeting files in a team's folder, oldest first.
fn archived_dates(folder: &Path) -> Result<Vec<NaiveDate>> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::Write {
        path: folder.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut dates: Vec<NaiveDate> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let stem = name.to_str()?.strip_suffix(".md")?.to_string();
            NaiveDate::parse_from_str(&stem, "%Y-%m-%d").ok()
        })
        .collect();
    dates.sort();
    Ok(dates)
}

/// The commit message: the team and the meeting's date.
fn commit_message(team: &TeamId, meetings: &[Meeting<'_>], updated: bool) -> String {
    match meetings {
        [one] if updated => format!("{team}: notes of {} updated", one.date),
        [one] => format!("{team}: notes of {}", one.date),
        many => {
            let first = many.iter().map(|m| m.date).min();
            let last = many.iter().map(|m| m.date).max();
            match (first, last) {
                (Some(first), Some(last)) => {
                    format!(
                        "{team}: notes of {} meetings, {first} to {last}",
                        many.len()
                    )
                }
                _ => format!("{team}: notes index"),
            }
        }
    }
}

/// A team's index: every archived meeting, newest first, as a link to its file. `entries` are
/// `(date, title)`, already newest first; an empty title shows the date.
pub fn index(team_name: &str, entries: &[(NaiveDate, &str)]) -> String {
    let mut out = format!(
        "# {} — meeting notes\n\nWritten by standup-bot, newest first.\n\n",
        link_text(team_name)
    );
    for (date, title) in entries {
        let text = if title.trim().is_empty() {
            date.to_string()
        } else {
            link_text(title)
        };
        out.push_str(&format!("- [{text}]({date}.md)\n"));
    }
    out
}

/// Text safe inside a Markdown link's brackets.
fn link_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
    }

    #[test]
    fn index_lists_newest_first_with_escaped_titles() {
        let got = index(
            "Team [Orbit]",
            &[(day(18), "Team Orbit Planning 2024-03-18"), (day(11), "")],
        );
        assert_eq!(
            got,
            "# Team \\[Orbit\\] — meeting notes\n\nWritten by standup-bot, newest first.\n\n- [Team Orbit Planning 2024-03-18](2024-03-18.md)\n- [2024-03-11](2024-03-11.md)\n"
        );
    }

    #[test]
    fn commit_messages_name_team_and_date() {
        let team = TeamId::new("orbit");
        let m = |d| Meeting {
            date: day(d),
            text: "",
        };
        assert_eq!(
            commit_message(&team, &[m(11)], false),
            "orbit: notes of 2024-03-11"
        );
        assert_eq!(
            commit_message(&team, &[m(11)], true),
            "orbit: notes of 2024-03-11 updated"
        );
        assert_eq!(
            commit_message(&team, &[m(18), m(4), m(11)], false),
            "orbit: notes of 3 meetings, 2024-03-04 to 2024-03-18"
        );
    }

    fn git_log(dir: &Path) -> String {
        let out = Command::new("git")
            .args(["log", "--format=%an <%ae>|%cn|%s"])
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn save_writes_files_and_index_and_commits_only_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notes");
        let archive = Archive {
            dir: dir.clone(),
            git: true,
        };
        archive.check().expect("git is installed");
        let team = TeamId::new("orbit");
        let titles: BTreeMap<NaiveDate, String> = [
            (day(11), "Planning 11".to_string()),
            (day(18), "Planning 18".to_string()),
        ]
        .into();
        let first = Meeting {
            date: day(11),
            text: "# Planning 11\n",
        };
        let saved = archive.save(&team, "Orbit", &[first], &titles).unwrap();
        assert!(saved.committed);
        assert_eq!(
            saved.written,
            [
                PathBuf::from("orbit/2024-03-11.md"),
                PathBuf::from("orbit/README.md")
            ]
        );
        let again = archive.save(&team, "Orbit", &[first], &titles).unwrap();
        assert_eq!(again, Saved::default(), "nothing changed");

        let second = Meeting {
            date: day(18),
            text: "# Planning 18\n",
        };
        archive.save(&team, "Orbit", &[second], &titles).unwrap();
        let index = std::fs::read_to_string(dir.join("orbit/README.md")).unwrap();
        assert!(
            index.ends_with("- [Planning 18](2024-03-18.md)\n- [Planning 11](2024-03-11.md)\n"),
            "{index}"
        );
        let edited = Meeting {
            date: day(18),
            text: "# Planning 18\n\nlate reply\n",
        };
        archive.save(&team, "Orbit", &[edited], &titles).unwrap();
        assert_eq!(
            git_log(&dir),
            "standup-bot <standup-bot@localhost>|standup-bot|orbit: notes of 2024-03-18 updated\n\
             standup-bot <standup-bot@localhost>|standup-bot|orbit: notes of 2024-03-18\n\
             standup-bot <standup-bot@localhost>|standup-bot|orbit: notes of 2024-03-11\n"
        );
    }

    #[test]
    fn a_failed_commit_is_completed_by_the_next_save() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let archive = Archive {
            dir: dir.clone(),
            git: true,
        };
        let team = TeamId::new("orbit");
        let titles = BTreeMap::new();
        let m = Meeting {
            date: day(11),
            text: "one\n",
        };
        archive.save(&team, "Orbit", &[m], &titles).unwrap();
        // Another git left its lock behind: the commit fails, the file is written.
        std::fs::write(dir.join(".git/index.lock"), "").unwrap();
        let m2 = Meeting {
            date: day(11),
            text: "two\n",
        };
        let err = archive.save(&team, "Orbit", &[m2], &titles).unwrap_err();
        assert!(err.to_string().contains("index.lock"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("orbit/2024-03-11.md")).unwrap(),
            "two\n"
        );
        std::fs::remove_file(dir.join(".git/index.lock")).unwrap();
        let saved = archive.save(&team, "Orbit", &[m2], &titles).unwrap();
        assert!(
            saved.committed,
            "the file unchanged on disk is still committed"
        );
        assert_eq!(git_log(&dir).lines().count(), 2);
    }

    #[test]
    fn without_git_no_repository_is_made() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = Archive {
            dir: tmp.path().join("a/b"),
            git: false,
        };
        let m = Meeting {
            date: day(11),
            text: "x\n",
        };
        let saved = archive
            .save(&TeamId::new("orbit"), "Orbit", &[m], &BTreeMap::new())
            .unwrap();
        assert!(!saved.committed);
        assert!(tmp.path().join("a/b/orbit/2024-03-11.md").exists());
        assert!(!tmp.path().join("a/b/.git").exists());
    }
}
