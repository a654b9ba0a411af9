//! SQLite storage: the only module that writes SQL.
//!
//! One [`Store`] owns one connection (the bot has one writer). The database runs in WAL mode with
//! foreign keys on; migrations run on open; every multi-row write is one transaction, so a crash
//! or a full disk leaves the previous state intact.

mod away;
mod blockers;
mod cycles;
mod db;
mod follow;
mod home;
mod import;
mod inbox;
mod jobs;
mod keys;
pub mod lease;
mod migrate;
mod owner;
mod pg;
mod pg_tls;
mod posts;
mod rates;
mod replays;
mod replies;
mod schema;
mod sends;
mod setups;
pub(crate) mod sql;
mod stats;
mod teams;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use sql::{Conn, params};

pub use sql::Engine;

pub use away::Absence;
pub use blockers::OpenBlocker;
pub use cycles::{CycleInfo, default_blocks};
pub use db::{Db, Received};
pub use follow::{CARRY_KEY, CARRY_SOURCE, PastUpdate};
pub use import::ImportReport;
pub use inbox::MAX_EVENT_ATTEMPTS;
pub use jobs::{JobEnd, JobKey, JobStart};
pub use keys::{PostKind, SendKey, UnknownKey};
pub use migrate::CopyReport;
pub use owner::Owner;
/// A PostgreSQL url as the operator may read it (no user, no password).
pub use pg::describe as describe_postgres;
pub use posts::Post;
pub use rates::RateKey;
pub use replies::{NewReply, OwnedReply, ReplyOutcome, SOURCE_REPLACE};
pub use sends::{FailedSend, SendStart};
pub use teams::{MemberRecord, TeamRecord};

/// What can go wrong with the database, each with what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(
        "{path}: cannot open the database: {reason}; check the path and its permissions ([database] path)"
    )]
    Open { path: String, reason: String },
    /// A PostgreSQL server that cannot be reached or refuses the connection; `at` never holds
    /// the user or password.
    #[error(
        "{at}: cannot connect to PostgreSQL: {reason} ([database] url or STANDUP_DATABASE_URL)"
    )]
    Connect { at: String, reason: String },
    /// Another running bot holds the database (see [`Owner`]).
    #[error(
        "{path}: another standup-bot runs on this database ({holder}): stop that one first; one bot per SQLite file (several replicas need Postgres)"
    )]
    InUse { path: String, holder: String },
    #[error(
        "{path}: written by a newer standup-bot (schema version {found}; this binary knows up to {known}); run the newer binary or restore a backup"
    )]
    TooNew {
        path: String,
        found: i64,
        known: usize,
    },
    #[error(
        "{path}: not a standup-bot database or damaged ({reason}); restore a backup or point [database] path at a new file"
    )]
    Corrupt { path: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    /// A write only the holder of a lease may make, refused: the lease passed to another
    /// replica (this one was paused or cut off past its expiry).
    #[error(
        "the {lease} lease (epoch {epoch}) is no longer this replica's; the write was refused and the new holder does the work"
    )]
    Fenced { lease: String, epoch: i64 },
    /// The database was first used with another Slack workspace than the token's: its rows are
    /// that workspace's people and channels.
    #[error(
        "{at}: this database belongs to Slack workspace {bound}, but the bot token is for workspace {token}; point [database] at that workspace's database (or a new one), or use a token of workspace {bound}"
    )]
    OtherWorkspace {
        at: String,
        bound: String,
        token: String,
    },
    /// `migrate-db`'s target has rows already: a copy goes into an empty database only.
    #[error(
        "{path}: already holds standup-bot data ({found}); migrate-db copies into an empty database only: give it a new database (CREATE DATABASE), or drop this one if nothing in it is needed"
    )]
    NotEmpty { path: String, found: String },
    /// A database that cannot be copied as it is, and why.
    #[error("{path}: cannot be copied: {reason}")]
    Copy { path: String, reason: String },
    /// Writing a backup failed: about the backup's file, not the database.
    #[error("{path}: cannot write the backup: {reason}")]
    Backup { path: String, reason: String },
    #[error("stored data could not be read: {0}")]
    Data(String),
    /// A failed statement, already turned into words at the edge: no engine type crosses the
    /// store's interface, so a second engine can report the same kinds.
    #[error("{message}")]
    Sql { kind: SqlKind, message: String },
    /// The store's thread gave no answer: it has stopped (the bot is stopping), or the request
    /// panicked inside it (a bug; its transaction was rolled back).
    #[error(
        "database: the store gave no answer (the bot is stopping, or a bug; see the log); try again"
    )]
    Stopped,
}

/// What kind of database failure an [`Error::Sql`] is, for callers that act on it (a busy
/// database is worth retrying; a full disk is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlKind {
    /// Another program held the write lock past the busy timeout.
    Busy,
    /// The disk is full or the size cap is reached.
    Full,
    /// The file cannot be written (permissions, moved or deleted).
    ReadOnly,
    /// The disk failed a read or write.
    Io,
    /// A constraint was broken (a bug, or data changed under the bot).
    Constraint,
    /// PostgreSQL aborted a transaction for a conflict with another one (another replica's):
    /// it is run again.
    Conflict,
    Other,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        use rusqlite::ErrorCode::{
            CannotOpen, ConstraintViolation, DatabaseBusy, DatabaseLocked, DiskFull, ReadOnly,
            SystemIoFailure,
        };
        let kind = match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => SqlKind::Busy,
            Some(DiskFull) => SqlKind::Full,
            Some(ReadOnly) => SqlKind::ReadOnly,
            Some(SystemIoFailure | CannotOpen) => SqlKind::Io,
            Some(ConstraintViolation) => SqlKind::Constraint,
            _ => SqlKind::Other,
        };
        Error::Sql {
            kind,
            message: sql_message(kind, &e.to_string()),
        }
    }
}

impl Error {
    /// The kind of a database failure, if this is one.
    pub fn sql_kind(&self) -> Option<SqlKind> {
        match self {
            Error::Sql { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// How long a write waits for another program's write lock before it fails (and an event
/// waiting for its ack is left unacked, for Slack to deliver again).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The bot's database.
pub struct Store {
    conn: Conn,
    at: Location,
    /// The scheduler's lease as this replica holds it: job rows are written only under it
    /// (see [`lease::holds`]); `None` on SQLite and before a replica first leads.
    jobs_fence: Option<lease::Held>,
    /// The name this replica claims sends and events by, on PostgreSQL (see
    /// [`Store::claim_as`]).
    holder: Option<String>,
    /// The Slack workspace every row this store writes carries (see [`Store::bind_workspace`]);
    /// `""` until bound, as for commands that run without Slack.
    workspace: String,
}

/// Where a [`Store`]'s database is.
#[derive(Clone)]
enum Location {
    File(PathBuf),
    Memory,
    /// A PostgreSQL connection string; it may hold a password, so it is never shown.
    Postgres(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("at", &self.describe())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Open {
                path: shown.clone(),
                reason: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        if !Store::writable(path) {
            return Err(Error::Open {
                path: shown,
                reason: "the file cannot be written (a read-only file or mount): give the bot's user write access to it; commands that only read (compile, export, backup) work as it is".into(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::Open {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Self::setup(conn, Location::File(path.to_path_buf()), true)
    }

    /// Connects to the PostgreSQL database at `url` and brings its schema up to date (under an
    /// advisory lock, so replicas starting together migrate once).
    pub fn open_postgres(url: &str) -> Result<Store> {
        let conn = pg::connect(url)?;
        pg::migrate(&conn)?;
        Store {
            conn,
            at: Location::Postgres(url.to_string()),
            jobs_fence: None,
            holder: None,
            workspace: String::new(),
        }
        .with_binding()
    }

    /// Opens the database a config names: its PostgreSQL url, else its SQLite file.
    pub fn open_configured(database: &crate::config::DatabaseConfig) -> Result<Store> {
        match &database.url {
            Some(url) => Store::open_postgres(url.expose()),
            None => Store::open(&database.path),
        }
    }

    /// A read-only connection to a database that [`Store::open`] has already brought up to
    /// date: [`Db`]'s readers, which never take the write lock.
    pub(crate) fn open_reader(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| Error::Open {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify_open_error(&shown, e))?;
        Ok(Store {
            conn: Conn::Sqlite(conn),
            at: Location::File(path.to_path_buf()),
            jobs_fence: None,
            holder: None,
            workspace: String::new(),
        })
    }

    /// Another connection to the same database, for [`Db`]'s readers: `None` for an in-memory
    /// database, which only its own connection sees.
    pub(crate) fn reader(&self) -> Result<Option<Store>> {
        match &self.at {
            Location::File(path) => Store::open_reader(path).map(Some),
            Location::Memory => Ok(None),
            Location::Postgres(url) => self.another_postgres(url).map(Some),
        }
    }

    /// A new connection to this store's PostgreSQL database at `url`, writing as its workspace.
    fn another_postgres(&self, url: &str) -> Result<Store> {
        Ok(Store {
            conn: pg::connect(url)?,
            at: self.at.clone(),
            jobs_fence: None,
            holder: None,
            workspace: self.workspace.clone(),
        })
    }

    /// A connection of its own to the same PostgreSQL database, for the replicas' shared Slack
    /// pacing (`bot::pacing`): its short writes do not queue behind the store's other work.
    /// `None` on SQLite, where one process paces its calls in memory.
    pub fn pacing_connection(&self) -> Result<Option<Store>> {
        match &self.at {
            Location::Postgres(url) => self.another_postgres(url).map(Some),
            Location::File(_) | Location::Memory => Ok(None),
        }
    }

    /// Whether the process may write the database file (one that does not exist yet is made).
    pub fn writable(path: &Path) -> bool {
        match std::fs::OpenOptions::new().write(true).open(path) {
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ),
        }
    }

    /// A database the process cannot write (a read-only file or mount), read as it is: for the
    /// commands that only read. Its schema must be this version's, since it cannot be migrated.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let store = Self::open_reader(path)?;
        let shown = path.display().to_string();
        let lite = store.lite()?;
        if schema_version(lite, &shown)? < schema::latest_version() as i64 {
            return Err(Error::Open {
                path: shown,
                reason: "it is read-only and from an older standup-bot: make it writable once (or run the bot on it) so its schema is brought up to date".into(),
            });
        }
        quick_check(lite, &shown)?;
        Ok(store)
    }

    /// A private in-memory database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, Location::Memory, false)
    }

    fn setup(mut conn: Connection, at: Location, wal: bool) -> Result<Store> {
        let shown = match &at {
            Location::File(path) => path.display().to_string(),
            _ => ":memory:".to_string(),
        };
        let classify = |e: rusqlite::Error| classify_open_error(&shown, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        let version = schema_version(&conn, &shown)?;
        if version == 0 {
            // A file that has tables but no version is someone else's database.
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )
                .map_err(classify)?;
            if tables > 0 {
                return Err(Error::Corrupt {
                    path: shown,
                    reason: "it has tables but no standup-bot schema version".into(),
                });
            }
        }
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(classify)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(classify)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(classify)?;
        let latest = schema::latest_version();
        // A newer schema this binary may use is used as it is: never migrated back.
        if version <= latest as i64 {
            schema::migrations()
                .to_latest(&mut conn)
                .map_err(|e| match e {
                    rusqlite_migration::Error::RusqliteError { err, .. } => classify(err),
                    other => Error::Corrupt {
                        path: shown.clone(),
                        reason: other.to_string(),
                    },
                })?;
            conn.execute(
                "INSERT INTO schema_compat (id, oldest_binary) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET oldest_binary = excluded.oldest_binary",
                [schema::oldest_binary(latest) as i64],
            )
            .map_err(classify)?;
        }
        quick_check(&conn, &shown)?;
        Store {
            conn: Conn::Sqlite(conn),
            at,
            jobs_fence: None,
            holder: None,
            workspace: String::new(),
        }
        .with_binding()
    }

    /// The store writing as the workspace the database is bound to, if it is: a command run
    /// without Slack (an import) after the bot's first start writes that workspace's rows.
    fn with_binding(mut self) -> Result<Store> {
        self.workspace = self
            .conn
            .query_opt(
                "SELECT workspace FROM workspace_binding WHERE id = 1",
                params![],
                |r| r.get(0),
            )?
            .unwrap_or_default();
        Ok(self)
    }

    /// The SQLite connection, for what only SQLite has; on PostgreSQL, an error saying so.
    fn lite(&self) -> Result<&Connection> {
        self.conn.sqlite().ok_or_else(|| {
            Error::Data(
                "this works on a SQLite database only; on PostgreSQL use the server's own tools (pg_dump)".into(),
            )
        })
    }

    /// Job rows are written from now on only under `held`, the scheduler's lease as this
    /// replica holds it: once another replica takes the lease, they are refused.
    pub fn fence_jobs(&mut self, held: lease::Held) {
        self.jobs_fence = Some(held);
    }

    /// Sends and events are claimed as `holder` from now on, so other replicas on the same
    /// PostgreSQL database leave them alone until the claim runs out. On SQLite one process
    /// runs on the file, and nothing is claimed.
    pub fn claim_as(&mut self, holder: &str) -> Result<()> {
        if self.conn.engine() == Engine::Postgres {
            // The connection carries the name: a claim whose holder has no connection left
            // (the replica died) is taken over at once, without waiting for it to run out.
            self.conn.set_name(holder)?;
        }
        self.holder = Some(holder.to_string());
        Ok(())
    }

    /// Binds the database to the Slack workspace the bot token is for (`team_id` from
    /// `auth.test`), and the rows this store writes from now on carry it. The first binding is
    /// kept; a database bound to another workspace is refused. Rows written before the bot met
    /// Slack (`''`: an import, an offline command, an older binary) are given the workspace.
    pub fn bind_workspace(&mut self, workspace: &str) -> Result<()> {
        let at = self.describe();
        self.conn.transaction(|tx| {
            let bound: Option<String> = tx.query_opt(
                "SELECT workspace FROM workspace_binding WHERE id = 1",
                params![],
                |r| r.get(0),
            )?;
            match bound {
                Some(bound) if bound != workspace => {
                    return Err(Error::OtherWorkspace {
                        at: at.clone(),
                        bound,
                        token: workspace.to_string(),
                    });
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO workspace_binding (id, workspace, bound_at) VALUES (1, ?1, ?2)",
                        params![workspace, ts(Utc::now())],
                    )?;
                }
            }
            for table in schema::WORKSPACE_TABLES {
                tx.execute(
                    &format!("UPDATE {table} SET workspace = ?1 WHERE workspace = ''"),
                    params![workspace],
                )?;
            }
            Ok(())
        })?;
        self.workspace = workspace.to_string();
        Ok(())
    }

    /// The Slack workspace this store's rows carry (`""` before [`Store::bind_workspace`]).
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// The name to claim by: only on PostgreSQL, where other replicas may be at work.
    pub(crate) fn claimant(&self) -> Option<&str> {
        match self.conn.engine() {
            Engine::Postgres => self.holder.as_deref(),
            Engine::Sqlite => None,
        }
    }

    /// Which engine the store runs on.
    pub fn engine(&self) -> Engine {
        self.conn.engine()
    }

    /// Where the database is, as the operator may read it: the file, or PostgreSQL's host and
    /// database without user or password.
    pub fn describe(&self) -> String {
        match &self.at {
            Location::File(path) => path.display().to_string(),
            Location::Memory => ":memory:".into(),
            Location::Postgres(url) => pg::describe(url),
        }
    }

    /// The SQLite file (`:memory:` for an in-memory database; empty on PostgreSQL).
    pub fn path(&self) -> &Path {
        match &self.at {
            Location::File(path) => path,
            Location::Memory => Path::new(":memory:"),
            Location::Postgres(_) => Path::new(""),
        }
    }

    /// Caps the database at `mb` MiB: a write that would grow it further fails as on a full
    /// disk (`SQLITE_FULL`), and what was written before stays intact.
    pub fn cap_size(&mut self, mb: u64) -> Result<()> {
        let conn = self.lite()?;
        let page: u64 = conn.query_row("PRAGMA page_size", (), |r| r.get(0))?;
        let pages = (mb * 1024 * 1024 / page.max(512)).max(1);
        conn.pragma_update(None, "max_page_count", pages as i64)?;
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.query_row("PRAGMA user_version", (), |r| r.get(0))?),
            Conn::Postgres(_) => pg::version(&self.conn),
        }
    }
}

/// A database error as the operator reads it: what happened, that nothing was written, and
/// what to do.
fn sql_message(kind: SqlKind, e: &str) -> String {
    let what = match kind {
        SqlKind::Full => {
            "the disk is full (or [database] max_size_mb is reached); nothing was written — free disk space or raise the cap"
        }
        SqlKind::ReadOnly => {
            "the database cannot be written: the file is read-only, or it was moved or deleted while the bot runs; nothing was written — restore the file's permissions or path and restart the bot"
        }
        SqlKind::Busy => {
            "the database stayed locked by another program for more than 5 s; nothing was written — close other programs using the file (a sqlite3 shell?)"
        }
        SqlKind::Io => {
            "the disk failed a read or write; nothing was written — check the disk and the file's directory"
        }
        _ => return format!("database: {e}"),
    };
    format!("database: {what} ({e})")
}

/// The database's schema version. One newer than this build knows is used as it is when the
/// database says binaries of this build's version can still use it (`schema_compat`, written
/// by the binary that migrated it), and refused otherwise.
fn schema_version(conn: &Connection, shown: &str) -> Result<i64> {
    use rusqlite::OptionalExtension;
    let version: i64 = conn
        .query_row("PRAGMA user_version", (), |r| r.get(0))
        .map_err(|e| classify_open_error(shown, e))?;
    let known = schema::latest_version();
    if version > known as i64 {
        let oldest: Option<i64> = conn
            .query_row(
                "SELECT oldest_binary FROM schema_compat WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or(None);
        if oldest.is_some_and(|oldest| oldest <= known as i64) {
            tracing::warn!(
                database = shown,
                version,
                known,
                "the database was migrated by a newer standup-bot that this one can still use (a rolling deploy or a rollback)"
            );
            return Ok(version);
        }
        return Err(Error::TooNew {
            path: shown.to_string(),
            found: version,
            known,
        });
    }
    Ok(version)
}

/// SQLite's quick integrity check; a damaged file is refused.
fn quick_check(conn: &Connection, shown: &str) -> Result<()> {
    let check: String = conn
        .query_row("PRAGMA quick_check", (), |r| r.get(0))
        .map_err(|e| classify_open_error(shown, e))?;
    if check != "ok" {
        return Err(Error::Corrupt {
            path: shown.to_string(),
            reason: format!("integrity check: {check}"),
        });
    }
    Ok(())
}

fn classify_open_error(path: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => Error::Corrupt {
            path: path.to_string(),
            reason: e.to_string(),
        },
        Some(_) => Error::Open {
            path: path.to_string(),
            reason: e.to_string(),
        },
        None => Error::from(e),
    }
}

/// The member row of `user` in the team a cycle belongs to.
fn member_in_cycle(
    conn: &Conn,
    cycle: i64,
    user: &standup_core::domain::UserId,
) -> Result<Option<i64>> {
    conn.query_opt(
        "SELECT m.id FROM members m JOIN cycles c ON c.team_id = m.team_id WHERE c.id = ?1 AND m.slack_user = ?2",
        params![cycle, user.as_str()],
        |r| r.get(0),
    )
}

/// The member row of `user` in a cycle's team, or why there is none.
fn require_member(conn: &Conn, cycle: i64, user: &standup_core::domain::UserId) -> Result<i64> {
    member_in_cycle(conn, cycle, user)?
        .ok_or_else(|| Error::NotFound(format!("{user} is not a member of this team")))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Data(format!("timestamp {s:?}: {e}")))
}

#[cfg(test)]
mod tests;

impl Store {
    /// Moves everything in the write-ahead log into the database file and empties the log, so
    /// the file alone holds every committed change (the demo leaves its database this way).
    pub fn checkpoint(&self) -> Result<()> {
        if let Some(conn) = self.conn.sqlite() {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Writes a consistent copy of the open database to `target` with SQLite's online backup,
    /// while the bot keeps running. The copy is written next to `target` and renamed into place,
    /// so a failed backup never leaves a half-written file under that name.
    pub fn backup(&self, target: &Path) -> Result<()> {
        let shown = target.display().to_string();
        let failed = |reason: String| Error::Backup {
            path: shown.clone(),
            reason,
        };
        let dir = crate::files::existing_folder_of(target).map_err(|e| failed(e.to_string()))?;
        // The temporary file's name is ours, not the user's: only the error's kind is shown.
        let partial = tempfile::Builder::new()
            .prefix(".standup-backup-")
            .tempfile_in(dir)
            .map_err(|e| failed(crate::files::io_reason(&e)))?;
        {
            let mut copy = Connection::open(partial.path())?;
            let backup = rusqlite::backup::Backup::new(self.lite()?, &mut copy)?;
            backup.run_to_completion(256, Duration::from_millis(5), None)?;
        }
        partial
            .persist(target)
            .map_err(|e| failed(crate::files::io_reason(&e.error)))?;
        Ok(())
    }
}

#[cfg(test)]
mod faults_tests;

/// The store a store test runs on: a private in-memory SQLite database, or, when
/// `STANDUP_TEST_POSTGRES` holds the url of a PostgreSQL server the tests may create databases
/// on, a fresh database there. One suite, both engines (`scripts/with-postgres.sh` runs it so).
#[cfg(test)]
pub(crate) fn test_store() -> Store {
    match test_postgres_url() {
        Some(url) => Store::open_postgres(&url).unwrap(),
        None => Store::open_in_memory().unwrap(),
    }
}

/// A fresh database on the test PostgreSQL server, if the tests have one.
#[cfg(test)]
pub(crate) fn test_postgres_url() -> Option<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let admin = std::env::var("STANDUP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!(
        "standup_unit_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let conn = pg::connect(&admin).unwrap();
    conn.batch(&format!("CREATE DATABASE {name}")).unwrap();
    Some(with_dbname(&admin, &name))
}

/// `url` with its database replaced by `name`.
#[cfg(test)]
fn with_dbname(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}
