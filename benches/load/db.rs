//! The bot's database as the load tool sees it: a SQLite file in the bot's directory, or (with
//! `--postgres URL`) a database of its own created on that PostgreSQL server for the run and
//! dropped after it. Both are read with the same SQL, so the checks do not care which.
//!
//! The `postgres` crate's client is blocking and runs a runtime of its own, which panics on a
//! tokio worker thread: every call to it here happens on a thread of its own (the callers in
//! async code go through `spawn_blocking`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The server the bots' databases are created on; unset, they run on SQLite files.
static POSTGRES: OnceLock<String> = OnceLock::new();

/// Puts every bot of this run on PostgreSQL: a new database on `server` (an admin URL, e.g.
/// `postgres://postgres@localhost:5432/postgres`) for each.
pub fn use_postgres(server: String) {
    let _ = POSTGRES.set(server);
}

pub fn on_postgres() -> bool {
    POSTGRES.get().is_some()
}

/// "SQLite" or "PostgreSQL", for the reports.
pub fn engine_name() -> &'static str {
    if on_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// The SQLite file's name in the bot's directory, as the config names it.
const SQLITE_FILE: &str = "standup.db";

/// One bot's database (shared by its replicas).
pub enum BotDb {
    Sqlite(PathBuf),
    Postgres {
        server: String,
        /// The database's own URL, as the config names it.
        url: String,
        name: String,
        /// `--keep`: left on the server for a look afterwards.
        keep: AtomicBool,
    },
}

impl BotDb {
    /// A fresh database for a bot whose directory is `dir`.
    pub fn fresh(dir: &Path) -> BotDb {
        let Some(server) = POSTGRES.get() else {
            return BotDb::Sqlite(dir.join(SQLITE_FILE));
        };
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        // The server outlives runs (and pids come back): the time keeps names apart.
        let name = format!(
            "bench_{}_{}_{}",
            chrono::Utc::now().timestamp(),
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        );
        let create = format!("CREATE DATABASE {name}");
        on_own_thread(server, move |c| c.batch_execute(&create))
            .unwrap_or_else(|e| panic!("cannot create database {name} on {server}: {e}"));
        let mut url = url::Url::parse(server)
            .unwrap_or_else(|e| panic!("--postgres is not a URL ({e}): {server}"));
        url.set_path(&format!("/{name}"));
        BotDb::Postgres {
            server: server.clone(),
            url: url.to_string(),
            name,
            keep: AtomicBool::new(false),
        }
    }

    /// The `[database]` line of the bot's config.
    pub fn config_line(&self) -> String {
        match self {
            BotDb::Sqlite(_) => format!("path = \"{SQLITE_FILE}\""),
            BotDb::Postgres { url, .. } => format!("url = \"{url}\""),
        }
    }

    /// The SQLite file, for what only SQLite has (another process taking its write lock).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            BotDb::Sqlite(path) => Some(path),
            BotDb::Postgres { .. } => None,
        }
    }

    /// Where it is, for a note.
    pub fn describe(&self) -> String {
        match self {
            BotDb::Sqlite(path) => path.display().to_string(),
            BotDb::Postgres { url, .. } => url.clone(),
        }
    }

    /// Leaves a PostgreSQL database on its server after the run (a SQLite file stays with the
    /// kept directory anyway).
    pub fn keep(&self) {
        if let BotDb::Postgres { keep, .. } = self {
            keep.store(true, Ordering::Relaxed);
        }
    }

    /// A connection for reading, to be used on the calling thread only, and not on a tokio
    /// worker. SQLite opens read-only (WAL lets it read while the bot writes).
    pub fn open(&self) -> Result<Reader, String> {
        match self {
            BotDb::Sqlite(path) => rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map(Reader::Sqlite)
            .map_err(|e| format!("{}: {e}", path.display())),
            BotDb::Postgres { url, .. } => postgres::Client::connect(url, postgres::NoTls)
                .map(|c| Reader::Postgres(Box::new(c)))
                .map_err(|e| format!("{url}: {e}")),
        }
    }
}

impl Drop for BotDb {
    fn drop(&mut self) {
        if let BotDb::Postgres {
            server, name, keep, ..
        } = self
        {
            if keep.load(Ordering::Relaxed) {
                return;
            }
            // FORCE: a bot killed a moment ago may still hold a connection the server has not
            // seen close yet.
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = on_own_thread(server, move |c| c.batch_execute(&drop)) {
                eprintln!("could not drop database {name}: {e}");
            }
        }
    }
}

/// A read connection to either engine. The SQL given must be what both accept (no `rowid`,
/// `PRAGMA`, `INSERT OR`), selecting integers as BIGINT-sized values and text as text.
pub enum Reader {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

impl Reader {
    /// The one integer a query like `SELECT count(*) ...` returns.
    pub fn int(&mut self, sql: &str) -> Result<i64, String> {
        match self {
            Reader::Sqlite(c) => c
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map_err(|e| e.to_string()),
            Reader::Postgres(c) => c
                .query_one(sql, &[])
                .and_then(|r| r.try_get::<_, i64>(0))
                .map_err(|e| e.to_string()),
        }
    }

    /// The first column of every row, as text.
    pub fn texts(&mut self, sql: &str) -> Result<Vec<String>, String> {
        match self {
            Reader::Sqlite(c) => {
                let mut statement = c.prepare(sql).map_err(|e| e.to_string())?;
                let rows = statement
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
            Reader::Postgres(c) => c
                .query(sql, &[])
                .map_err(|e| e.to_string())?
                .iter()
                .map(|r| r.try_get::<_, String>(0).map_err(|e| e.to_string()))
                .collect(),
        }
    }
}

/// Runs `f` on a new connection to `url` on a thread of its own, for the callers that may be on
/// a tokio worker (creating and dropping databases happens in `Bot::new` and in drops).
fn on_own_thread<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        f(&mut client)
    })
    .join()
    .map_err(|_| "the PostgreSQL thread panicked".to_string())?
    .map_err(|e| e.to_string())
}
