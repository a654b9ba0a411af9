//! The notes archive: each posted meeting kept as `<dir>/<team>/<YYYY-MM-DD>.md`, with a
//! `README.md` per team listing them newest first, optionally committed to git.
//!
//! The files on disk are the archive's only state: a save writes what differs and, with git,
//! commits whatever in the team's folder is not committed yet. So a save that failed half way
//! (a full disk, a lock left by another git) is completed by the next one, and saving the same
//! meeting twice changes nothing. Git is driven through its command line, which every host
//! that keeps a repository has, rather than a linked library.
//!
//! Every `git` gets a deadline: a command still running when it passes is stopped (its whole
//! process group, so a hook or helper it started goes too) and the save fails with
//! [`Error::Timeout`]. Commands in one repository take turns, because git lets one writer at a
//! time hold its index. A save blocks (files, processes): the running bot calls it off the
//! async workers, one save at a time per team (see `app::archive`).

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use wait_timeout::ChildExt;

use crate::config::ArchiveConfig;
use standup_core::domain::TeamId;

/// The name commits are made under (author and committer).
pub const GIT_NAME: &str = "standup-bot";
pub const GIT_EMAIL: &str = "standup-bot@localhost";
/// The per-team list of meetings.
pub const INDEX: &str = "README.md";
/// How long a save's git commands may take together, unless `STANDUP_ARCHIVE_GIT_TIMEOUT_SECS`
/// says otherwise: a commit of a few Markdown files takes well under a second, so this much is
/// a git that waits for something (a hook, a network filesystem) and will not come back.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped git has to clean up (git removes its lock files on SIGTERM) before it is
/// killed outright.
const GIT_GRACE: Duration = Duration::from_secs(2);

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
    #[error(
        "{}: `git {what}` did not finish within {} s and was stopped; check what keeps git waiting there (a hook, a network filesystem, another git) — the archive is committed again at the next post",
        dir.display(), after.as_secs_f64()
    )]
    Timeout {
        dir: PathBuf,
        what: String,
        after: Duration,
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

/// The configured archive. Clones share the repository's turn (see the module docs).
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    git: bool,
    /// The git program: `git` from `PATH`.
    program: PathBuf,
    /// How long one save's git commands may take together.
    timeout: Duration,
    /// Held while a git command runs in the repository.
    repository: Arc<Mutex<()>>,
}

impl Archive {
    /// The archive `[archive]` describes; `None` when it is off.
    pub fn from_config(config: &ArchiveConfig) -> Option<Archive> {
        let timeout = std::env::var("STANDUP_ARCHIVE_GIT_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .and_then(|v| Duration::try_from_secs_f64(v).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(GIT_TIMEOUT);
        config
            .dir
            .as_ref()
            .map(|dir| Archive::new(dir.clone(), config.git).with_timeout(timeout))
    }

    /// An archive in `dir`, committed to git when `git` is set, with the default timeout.
    pub fn new(dir: PathBuf, git: bool) -> Archive {
        Archive {
            dir,
            git,
            program: PathBuf::from("git"),
            timeout: GIT_TIMEOUT,
            repository: Arc::default(),
        }
    }

    /// The same archive, its git commands given `timeout` per save.
    pub fn with_timeout(mut self, timeout: Duration) -> Archive {
        self.timeout = timeout;
        self
    }

    /// The same archive, driving git through `program` (a stand-in in tests).
    pub fn with_git_program(mut self, program: impl Into<PathBuf>) -> Archive {
        self.program = program.into();
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The start-up check: with git on, the `git` command must run.
    pub fn check(&self) -> Result<()> {
        if !self.git {
            return Ok(());
        }
        let mut cmd = Command::new(&self.program);
        cmd.arg("--version");
        match self.run(cmd, &["--version"], Instant::now() + self.timeout) {
            Ok((status, _)) if status.success() => Ok(()),
            Ok((status, _)) => Err(Error::NoGit {
                reason: format!("`git --version` exited with {status}"),
            }),
            Err(Error::Git { detail, .. }) => Err(Error::NoGit { reason: detail }),
            Err(e) => Err(e),
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
            // The repository's turn, then the deadline: waiting behind another team's git is
            // not this save's git being slow.
            let _turn = self
                .repository
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let deadline = Instant::now() + self.timeout;
            saved.committed = self.commit(team, &message, deadline)?;
        }
        Ok(saved)
    }

    /// Commits the team's folder if anything in it is not committed; returns whether it did.
    fn commit(&self, team: &TeamId, message: &str, deadline: Instant) -> Result<bool> {
        if self
            .git_status(&["rev-parse", "--git-dir"], deadline)?
            .is_none()
        {
            self.git(&["-c", "init.defaultBranch=main", "init", "-q"], deadline)?;
        }
        let folder = team.as_str();
        self.git(&["add", "-A", "--", folder], deadline)?;
        // `diff --quiet` exits 1 when something is staged: that is the answer, not a failure.
        if self
            .git_status(&["diff", "--cached", "--quiet", "--", folder], deadline)?
            .is_some()
        {
            return Ok(false);
        }
        self.git(
            &[
                "-c",
                "commit.gpgsign=false",
                "commit",
                "-q",
                "--no-verify",
                "-m",
                message,
                "--",
                folder,
            ],
            deadline,
        )?;
        Ok(true)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
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
    fn git(&self, args: &[&str], deadline: Instant) -> Result<()> {
        match self.git_status(args, deadline)? {
            Some(()) => Ok(()),
            None => Err(self.failed(args, "exited with an error".into())),
        }
    }

    /// Runs git: `Some` on exit 0, `None` on exit 1, an error otherwise (with git's words).
    fn git_status(&self, args: &[&str], deadline: Instant) -> Result<Option<()>> {
        let (status, stderr) = self.run(self.command(args), args, deadline)?;
        match status.code() {
            Some(0) => Ok(Some(())),
            Some(1) if args[0] == "diff" => Ok(None),
            // `rev-parse --git-dir` outside a repository exits 128: not one yet.
            Some(128) if args[0] == "rev-parse" => Ok(None),
            _ => {
                let detail: String = stderr.trim().chars().take(400).collect();
                Err(self.failed(args, format!("{detail} ({status})")))
            }
        }
    }

    /// Runs `cmd` (git with `args`) until it exits or `deadline` passes, when its process group
    /// is stopped and the answer is [`Error::Timeout`]. Returns its exit and what it wrote to
    /// stderr.
    fn run(
        &self,
        mut cmd: Command,
        args: &[&str],
        deadline: Instant,
    ) -> Result<(ExitStatus, String)> {
        // Stderr goes to a file, not a pipe: nothing to drain while waiting, and no wait for
        // the pipe's end, which a helper git left behind could hold open.
        let mut stderr = tempfile::tempfile().map_err(|e| self.failed(args, e.to_string()))?;
        let sink = stderr
            .try_clone()
            .map_err(|e| self.failed(args, e.to_string()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(sink)
            // Its own process group, so a timeout stops whatever it started too.
            .process_group(0)
            .spawn()
            .map_err(|e| self.failed(args, e.to_string()))?;
        let left = deadline.saturating_duration_since(Instant::now());
        let status = match child
            .wait_timeout(left)
            .map_err(|e| self.failed(args, e.to_string()))?
        {
            Some(status) => status,
            None => {
                stop(&mut child);
                return Err(Error::Timeout {
                    dir: self.dir.clone(),
                    what: what(args),
                    after: self.timeout,
                });
            }
        };
        let mut bytes = Vec::new();
        let _ = stderr.rewind();
        let _ = stderr.take(64 * 1024).read_to_end(&mut bytes);
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn failed(&self, args: &[&str], detail: String) -> Error {
        Error::Git {
            dir: self.dir.clone(),
            what: what(args),
            detail,
        }
    }
}

/// The git sub-command `args` run, for messages.
fn what(args: &[&str]) -> String {
    args.iter()
        .find(|a| !a.starts_with('-') && !a.contains('='))
        .unwrap_or(&"")
        .to_string()
}

/// Stops a git that overran: SIGTERM to its process group (git then removes its lock files),
/// SIGKILL to the group if it is still there after [`GIT_GRACE`], then reaps it.
fn stop(child: &mut Child) {
    let group = child.id() as libc::pid_t;
    signal_group(group, libc::SIGTERM);
    if !matches!(child.wait_timeout(GIT_GRACE), Ok(Some(_))) {
        signal_group(group, libc::SIGKILL);
        let _ = child.wait();
    }
    // Whatever else of the group outlived the leader (a helper that ignores SIGTERM).
    signal_group(group, libc::SIGKILL);
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group that `process_group(0)` made with the child's pid as its id.
    unsafe {
        libc::kill(-group, signal);
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
        let archive = Archive::new(dir.clone(), true);
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
        let archive = Archive::new(dir.clone(), true);
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
        let archive = Archive::new(tmp.path().join("a/b"), false);
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

    /// A stand-in for git in `dir`: while `dir/hang` exists, a command that names the team
    /// `apollo` starts a child that sleeps, records the child's pid in `dir/sleeper` and waits,
    /// both deaf to SIGTERM (the worst case: only SIGKILL stops them); anything else is the real
    /// git.
    fn hanging_git(dir: &Path) -> PathBuf {
        let out = Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap();
        let real = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(!real.is_empty(), "git is installed");
        let script = dir.join("git");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 for a in \"$@\"; do\n\
                   if [ \"$a\" = apollo ] && [ -e '{d}/hang' ]; then\n\
                     trap '' TERM\n\
                     sleep 600 &\n\
                     echo $! > '{d}/sleeper.tmp' && mv '{d}/sleeper.tmp' '{d}/sleeper'\n\
                     wait\n\
                   fi\n\
                 done\n\
                 exec '{real}' \"$@\"\n",
                d = dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// Whether process `pid` is gone (or a zombie nobody has reaped yet, which runs no more).
    fn gone(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    }

    #[test]
    fn a_hung_git_is_stopped_at_the_timeout_and_the_next_save_completes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notes");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let archive = Archive::new(dir.clone(), true)
            .with_timeout(Duration::from_secs(1))
            .with_git_program(hanging_git(&bin));
        archive.check().expect("the stand-in runs");
        let titles = BTreeMap::new();
        let m = Meeting {
            date: day(11),
            text: "notes\n",
        };
        let (apollo, orbit) = (TeamId::new("apollo"), TeamId::new("orbit"));
        archive.save(&orbit, "Orbit", &[m], &titles).unwrap();

        std::fs::write(bin.join("hang"), "").unwrap();
        let started = Instant::now();
        let hung = {
            let (archive, apollo) = (archive.clone(), apollo.clone());
            std::thread::spawn(move || {
                let saved = archive.save(&apollo, "Apollo", &[m], &BTreeMap::new());
                (saved, started.elapsed())
            })
        };
        while !bin.join("sleeper").exists() {
            assert!(started.elapsed() < Duration::from_secs(10), "git never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        // While apollo's git hangs, orbit's save goes on: its file at once, its commit once
        // the hung git is stopped.
        let m2 = Meeting {
            date: day(18),
            text: "more notes\n",
        };
        let saved = archive.save(&orbit, "Orbit", &[m2], &titles).unwrap();
        assert!(saved.committed, "{saved:?}");
        assert!(dir.join("orbit/2024-03-18.md").exists());

        let (saved, took) = hung.join().unwrap();
        let err = saved.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Timeout { .. }), "{message}");
        assert!(
            message.contains("`git add` did not finish within 1 s and was stopped"),
            "{message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(took < Duration::from_secs(8), "stopped after {took:?}");
        // The files were written before git ran; the hung command and what it started are
        // gone, not left running.
        assert_eq!(
            std::fs::read_to_string(dir.join("apollo/2024-03-11.md")).unwrap(),
            "notes\n"
        );
        let sleeper = std::fs::read_to_string(bin.join("sleeper")).unwrap();
        let sleeper = sleeper.trim();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone(sleeper) {
            assert!(
                Instant::now() < deadline,
                "git's child {sleeper} still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        // Git recovers: the next save commits what the stopped one left.
        std::fs::remove_file(bin.join("hang")).unwrap();
        let saved = archive.save(&apollo, "Apollo", &[m], &titles).unwrap();
        assert!(saved.committed, "{saved:?}");
        assert!(saved.written.is_empty(), "the files were already written");
        let log = git_log(&dir);
        assert!(log.contains("apollo: notes of 2024-03-11"), "{log}");
        assert!(
            std::process::Command::new("git")
                .args(["status", "--porcelain"])
                .current_dir(&dir)
                .output()
                .unwrap()
                .stdout
                .is_empty(),
            "all committed"
        );
    }
}
