//! PostgreSQL's side of opening a store: the connection, its schema brought up to date once
//! however many replicas start together, and the database named without its password.

use super::sql::{Conn, params};
use super::{Error, Result, pg_tls, schema};

/// The advisory lock migrations are run under (any constant of ours; "standup" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_7461_6e64_7570;

/// Connects to `url`. A failure says where to, without user or password.
pub fn connect(url: &str) -> Result<Conn> {
    Ok(Conn::postgres(client(url)?, url))
}

/// A new client of `url` (see [`connect`]), over TLS as its `sslmode` asks (see [`pg_tls`]).
pub fn client(url: &str) -> Result<postgres::Client> {
    let failed = |reason: String| Error::Connect {
        at: describe(url),
        reason,
    };
    let (driver_url, tls) = pg_tls::split(url).map_err(failed)?;
    let connector = pg_tls::connector(&tls).map_err(failed)?;
    let mut config: postgres::Config = driver_url.parse().map_err(|e| Error::Connect {
        at: describe(url),
        reason: format!(
            "not a PostgreSQL connection string ({e}); write postgres://user:password@host:5432/database"
        ),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    // The sync client runs its own small runtime: connecting from a thread of ours keeps it
    // clear of any tokio runtime the caller is on.
    let joined = std::thread::scope(|s| s.spawn(|| config.connect(connector)).join());
    let client = match joined {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return Err(failed(match certificate_refused(&e) {
                Some(why) => format!(
                    "{} ({why}): the server's certificate was not accepted (sslmode={}); give the CA that signed it with sslrootcert=/path/ca.pem in the url, or sslmode=require to encrypt without checking it",
                    words(&e),
                    match tls.mode {
                        pg_tls::Mode::VerifyFull => "verify-full",
                        pg_tls::Mode::VerifyCa => "verify-ca",
                        _ => "require",
                    }
                ),
                None => format!(
                    "{}: check that the server is up, the url's host, port, user and password, and that the database exists",
                    words(&e)
                ),
            }));
        }
        Err(_) => return Err(failed("the connection attempt panicked (a bug)".into())),
    };
    Ok(client)
}

/// Why the TLS handshake refused the server's certificate, if that is why a connection failed.
fn certificate_refused(e: &postgres::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = source {
        let rustls = cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(refusal @ rustls::Error::InvalidCertificate(_)) = rustls {
            return Some(refusal.to_string());
        }
        source = cause.source();
    }
    None
}

fn words(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// `url` as the operator may read it: host, port and database, never user or password.
pub fn describe(url: &str) -> String {
    let driver_url = pg_tls::split(url).map_or_else(|_| url.to_string(), |(u, _)| u);
    match driver_url.parse::<postgres::Config>() {
        Ok(config) => {
            let host = config
                .get_hosts()
                .first()
                .map(|h| match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".into());
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let db = config.get_dbname().unwrap_or("(default database)");
            format!("postgres://{host}:{port}/{db}")
        }
        Err(_) => "the PostgreSQL url".into(),
    }
}

/// The schema version of the database.
pub fn version(conn: &Conn) -> Result<i64> {
    Ok(conn
        .query_opt("SELECT version FROM schema_version WHERE id = 1", (), |r| {
            r.get::<i64>(0)
        })?
        .unwrap_or(0))
}

/// Brings the schema up to date in one transaction under an advisory lock: replicas starting
/// together wait for the first, then find nothing to do. A newer schema this binary may still
/// use (see `schema_compat`) is used as it is; one it may not is refused.
pub fn migrate(conn: &Conn) -> Result<()> {
    conn.batch("BEGIN")?;
    let done = (|| {
        conn.execute("SELECT pg_advisory_xact_lock(?1)", params![MIGRATION_LOCK])?;
        conn.batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 id BIGINT PRIMARY KEY CHECK (id = 1),
                 version BIGINT NOT NULL
             )",
        )?;
        let found = version(conn)?;
        let known = schema::PG_ALL.len();
        if found > known as i64 {
            let oldest: Option<i64> = conn.query_opt(
                "SELECT oldest_binary FROM schema_compat WHERE id = 1",
                (),
                |r| r.get(0),
            )?;
            if oldest.is_some_and(|oldest| oldest <= known as i64) {
                tracing::warn!(
                    version = found,
                    known,
                    "the database was migrated by a newer standup-bot that this one can still use (a rolling deploy or a rollback)"
                );
                return Ok(());
            }
            return Err(Error::TooNew {
                path: "PostgreSQL".into(),
                found,
                known,
            });
        }
        for sql in &schema::PG_ALL[found as usize..] {
            conn.batch(sql)?;
        }
        conn.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            params![known as i64],
        )?;
        conn.execute(
            "INSERT INTO schema_compat (id, oldest_binary) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET oldest_binary = excluded.oldest_binary",
            params![schema::pg_oldest_binary(known) as i64],
        )?;
        Ok(())
    })();
    match done {
        Ok(()) => conn.batch("COMMIT"),
        Err(e) => {
            let _ = conn.batch("ROLLBACK");
            Err(e)
        }
    }
}
