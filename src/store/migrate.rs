//! Copying a SQLite database into PostgreSQL (`standup-bot migrate-db`): every row of every
//! table with its ids, in one transaction on the target, so a copy cut short leaves the target
//! as it was.
//!
//! The columns are read from both databases' catalogs rather than written out here: a column
//! added by a later migration (in both schemas, as `schema.rs` asks) is copied without a change
//! here, and schemas that drifted apart stop the copy instead of dropping a column's values.

use super::sql::{Conn, Value, params};
use super::{Engine, Error, Result, Store};
use standup_core::domain::{Format, TeamId};

/// The tables copied: every table whose rows belong to a workspace (in their order, each after
/// the tables it refers to) but those [`NOT_COPIED`], and the workspace the database is bound to.
fn tables() -> Vec<&'static str> {
    super::schema::WORKSPACE_TABLES
        .iter()
        .copied()
        .filter(|t| !NOT_COPIED.contains(t))
        .chain(["workspace_binding"])
        .collect()
}

/// Tables not copied: those each engine's own migrations fill (their rows speak of that
/// engine's schema versions), HTTP mode's replay ledger, whose rows matter for five minutes, and
/// the replicas' Slack pacing (`slack_rates`: passing state, on the old database's clock).
const NOT_COPIED: &[&str] = &["schema_compat", "http_replays", "slack_rates"];

/// Rows read from SQLite and written to PostgreSQL per statement: few round trips, and memory
/// bounded by a page of the largest rows (the inbox keeps whole events).
const PAGE: usize = 200;

/// What a copy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows copied per table, in the order they were copied.
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Copies every row of this SQLite database into `target`, a PostgreSQL database that holds
    /// no standup-bot data yet (refused otherwise), keeping ids; then moves each id sequence past
    /// the copied ids, so the bot's next rows get new ones. The inbox's arrival order (SQLite's
    /// rowid) becomes PostgreSQL's `seq` by inserting in that order.
    pub fn copy_to(&self, target: &Store) -> Result<CopyReport> {
        let from = self.describe();
        let to = target.describe();
        if self.engine() != Engine::Sqlite {
            return Err(Error::Copy {
                path: from,
                reason: "the source must be a SQLite database".into(),
            });
        }
        if target.engine() != Engine::Postgres {
            return Err(Error::Copy {
                path: to,
                reason: "the target must be a PostgreSQL database".into(),
            });
        }
        let unknown: Vec<String> = self
            .conn
            .query_map(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                (),
                |r| r.get::<String>(0),
            )?
            .into_iter()
            .filter(|t| !tables().contains(&t.as_str()) && !NOT_COPIED.contains(&t.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::Copy {
                path: from,
                reason: format!(
                    "it has tables this standup-bot does not know ({}): a newer one wrote it; run migrate-db with that one",
                    unknown.join(", ")
                ),
            });
        }
        let copied = tables();
        let mut plan = Vec::with_capacity(copied.len());
        for table in copied {
            let columns = sqlite_columns(&self.conn, table)?;
            let theirs = postgres_columns(&target.conn, table)?;
            let mut ours_sorted = columns.clone();
            ours_sorted.sort();
            let mut theirs_sorted = theirs;
            theirs_sorted.sort();
            if ours_sorted != theirs_sorted {
                return Err(Error::Copy {
                    path: to,
                    reason: format!(
                        "table {table} has columns ({}) where the SQLite database has ({}): the two schemas differ (a bug); nothing was copied",
                        theirs_sorted.join(", "),
                        ours_sorted.join(", ")
                    ),
                });
            }
            plan.push((table, columns));
        }
        target.conn.transaction(|tx| {
            refuse_data(tx, &to)?;
            let mut tables = Vec::with_capacity(plan.len());
            for (table, columns) in &plan {
                let n = copy_table(&self.conn, tx, table, columns)
                    .map_err(|e| naming_table(e, table))?;
                tables.push((*table, n));
            }
            move_sequences(tx)?;
            Ok(CopyReport { tables })
        })
    }

    /// Every stored team with the format it was stored with, by id: for rendering a team the
    /// config no longer has.
    pub fn stored_teams(&self) -> Result<Vec<(TeamId, Option<Format>)>> {
        self.conn
            .query_map("SELECT id, format FROM teams ORDER BY id", (), |r| {
                Ok((
                    TeamId(r.get::<String>(0)?),
                    Format::from_name(&r.get::<String>(1)?),
                ))
            })
    }
}

fn sqlite_columns(conn: &Conn, table: &str) -> Result<Vec<String>> {
    conn.query_map(
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        params![table],
        |r| r.get(0),
    )
}

/// The columns a row is written with: generated ones (the inbox's `seq`) are PostgreSQL's to
/// fill.
fn postgres_columns(conn: &Conn, table: &str) -> Result<Vec<String>> {
    conn.query_map(
        "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = current_schema() AND CAST(table_name AS TEXT) = ?1
           AND is_generated = 'NEVER' AND identity_generation IS DISTINCT FROM 'ALWAYS'
         ORDER BY ordinal_position",
        params![table],
        |r| r.get(0),
    )
}

/// Refuses a target that has rows in any table copied: merging two databases' ids is not what
/// a copy can do, and a bot may already be writing there.
fn refuse_data(tx: &Conn, shown: &str) -> Result<()> {
    let mut found = Vec::new();
    for table in tables() {
        let n: i64 = tx.query_row(&format!("SELECT count(*) FROM \"{table}\""), (), |r| {
            r.get(0)
        })?;
        if n > 0 {
            found.push(format!("{table}: {n}"));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::NotEmpty {
        path: shown.to_string(),
        found: found.join(", "),
    })
}

/// Copies one table in rowid order, a page at a time; the rows copied.
fn copy_table(source: &Conn, tx: &Conn, table: &str, columns: &[String]) -> Result<u64> {
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let list = quoted.join(", ");
    let select =
        format!("SELECT rowid, {list} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
    let width = columns.len();
    let mut after = i64::MIN;
    let mut copied = 0u64;
    loop {
        let page = source.query_map(&select, params![after, PAGE as i64], |r| {
            let rowid: i64 = r.get(0)?;
            let values = (1..=width)
                .map(|i| r.get::<Value>(i))
                .collect::<Result<Vec<_>>>()?;
            Ok((rowid, values))
        })?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        let rows: Vec<String> = (0..page.len())
            .map(|row| {
                let marks: Vec<String> = (1..=width)
                    .map(|col| format!("?{}", row * width + col))
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let insert = format!(
            "INSERT INTO \"{table}\" ({list}) VALUES {}",
            rows.join(", ")
        );
        let values: Vec<Value> = page.into_iter().flat_map(|(_, v)| v).collect();
        copied += tx.execute(&insert, values)? as u64;
    }
    Ok(copied)
}

/// Moves each id's sequence to just past the largest id copied: ids were written as they were,
/// which a sequence does not see.
fn move_sequences(tx: &Conn) -> Result<()> {
    let identities = tx.query_map(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'
           AND identity_generation = 'BY DEFAULT'
         ORDER BY table_name, column_name",
        (),
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    for (table, column) in identities {
        tx.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence(?1, ?2), (SELECT COALESCE(MAX(\"{column}\"), 0) + 1 FROM \"{table}\"), false)"
            ),
            params![table, column],
            |r| r.get::<i64>(0),
        )?;
    }
    Ok(())
}

/// A failed statement names the table it was copying; its kind is kept (a conflict is still
/// run again).
fn naming_table(e: Error, table: &str) -> Error {
    match e {
        Error::Sql { kind, message } => Error::Sql {
            kind,
            message: format!("{message} (copying table {table})"),
        },
        Error::Data(reason) => Error::Data(format!("{reason} (copying table {table})")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_sqlite_schema_is_copied_or_left_to_the_migrations() {
        let store = Store::open_in_memory().unwrap();
        let in_schema = store
            .conn
            .query_map(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                (),
                |r| r.get::<String>(0),
            )
            .unwrap();
        let mut listed: Vec<&str> = tables()
            .into_iter()
            .chain(NOT_COPIED.iter().copied())
            .collect();
        listed.sort_unstable();
        assert_eq!(in_schema, listed);
    }

    /// A row or two in every table, ids with gaps, NULLs, quotes and non-ASCII text; the inbox's
    /// events arrive in an order their ids do not sort in.
    const ROWS: &str = r#"
INSERT INTO teams (id, name, format, channel, workspace) VALUES
    ('orbit', 'Team Orbit', 'planning', 'C0TEAM0001', 'T0ORBIT01'),
    ('moon', 'Moon', 'standup', 'C0TEAM0002', 'T0ORBIT01');
INSERT INTO workspace_binding (id, workspace, bound_at) VALUES (1, 'T0ORBIT01', '2024-03-10T08:00:00.000Z');
INSERT INTO members (id, team_id, handle, slack_user, active, position, tz, display_name, quiet_hours) VALUES
    (3, 'orbit', 'maria', 'U0MARIA001', 1, 0, 'Europe/Berlin', 'María', NULL),
    (7, 'orbit', 'kenji', NULL, 0, 1, NULL, NULL, '22:00-07:00');
INSERT INTO cycles (id, team_id, date, title, source, import_digest, created_at) VALUES
    (5, 'orbit', '2024-03-11', 'Team Orbit Planning 2024-03-11', 'import', 'abc123', '2024-03-11T08:00:00.000Z'),
    (9, 'orbit', '2024-03-18', 'Team Orbit Planning 2024-03-18', 'bot', NULL, '2024-03-18T08:00:00.000Z');
INSERT INTO cycle_members (cycle_id, member_id, position) VALUES (5, 3, 0), (5, 7, 1), (9, 3, 0);
INSERT INTO meeting_sections (cycle_id, position, role, heading, body) VALUES
    (5, 0, 'verbatim', '## Agenda', '- it''s "quoted" ✓'),
    (5, 1, 'updates', '## Async Updates', '');
INSERT INTO replies (id, cycle_id, member_id, source, slack_ts, revision, text, received_at, version_ts) VALUES
    (11, 5, 3, 'slack', '1710144000.000100', 0, '*Done*
- shipped', '2024-03-11T09:00:00.000Z', '1710144000.000100');
INSERT INTO updates (cycle_id, member_id, source, parsed, diagnostics, updated_at) VALUES
    (5, 3, 'slack', '{"sections":[]}', '[]', '2024-03-11T09:00:00.000Z');
INSERT INTO blockers (id, cycle_id, member_id, text, source, opened_at, resolved_at, resolved_by) VALUES
    (4, 5, 3, 'waiting on ops', 'update', '2024-03-11T09:00:00.000Z', NULL, NULL),
    (6, 9, 7, 'no access', 'command', '2024-03-18T09:00:00.000Z', '2024-03-18T10:00:00.000Z', 'U0MARIA001');
INSERT INTO posts (id, cycle_id, kind, channel, ts, file_id, content_digest, posted_at) VALUES
    (2, 5, 'notes', 'C0TEAM0001', '1710160000.000200', NULL, 'd1', '2024-03-11T13:30:00.000Z');
INSERT INTO fragments (team_id, source, position, line, text) VALUES ('orbit', 'notes.md', 0, 1, '# Orbit');
INSERT INTO jobs (id, team_id, kind, fire_at, member, cycle_date, state, attempts, last_error, started_at, done_at) VALUES
    (8, 'orbit', 'prompt', '2024-03-11T09:00:00Z', 'U0MARIA001', '2024-03-11', 'done', 1, NULL, '2024-03-11T09:00:00.000Z', '2024-03-11T09:00:01.000Z');
INSERT INTO absences (id, member_id, from_date, to_date, kind, created_at) VALUES
    (3, 3, '2024-03-18', '2024-03-22', 'ooo', '2024-03-12T10:00:00.000Z');
INSERT INTO status_away (member_id, cycle_date, emoji, seen_at) VALUES (7, '2024-03-18', ':palm_tree:', '2024-03-18T09:00:00.000Z');
INSERT INTO inbox (event_id, payload, received_at, attempts, handled_at, last_error) VALUES
    ('Ev3', '{"type":"message"}', '2024-03-11T09:00:00.000Z', 1, '2024-03-11T09:00:00.100Z', NULL),
    ('Ev1', '{"type":"message"}', '2024-03-11T09:00:00.000Z', 0, NULL, NULL),
    ('Ev2', '{"type":"app_home_opened"}', '2024-03-11T09:00:00.000Z', 3, NULL, 'timed out');
INSERT INTO sends (key, channel, thread_ts, started_at, detail, ts, done_at, team_id, checks, error, failed_at) VALUES
    ('prompt:orbit:U0MARIA001:2024-03-11', 'D0MARIA001', NULL, '2024-03-11T09:00:00.000Z', NULL, '1710147600.000300', '2024-03-11T09:00:01.000Z', 'orbit', 0, NULL, NULL);
INSERT INTO home_views (slack_user, opened_at) VALUES ('U0MARIA001', '2024-03-11T09:00:00.000Z');
INSERT INTO intros (team_id, slack_user, due_at, done_at) VALUES ('orbit', 'U0MARIA001', '2024-03-11T08:00:00.000Z', NULL);
INSERT INTO slack_teams (team_id, toml, set_by, set_at) VALUES ('moon', '[[team]]
id = "moon"', 'U0MARIA001', '2024-03-10T08:00:00.000Z');
"#;

    /// A table's rows in an order both engines give alike (they sort NULLs differently).
    fn rows(conn: &Conn, table: &str, columns: &[String]) -> Vec<Vec<Value>> {
        let list: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let mut rows = conn
            .query_map(
                &format!("SELECT {} FROM \"{table}\"", list.join(", ")),
                (),
                |r| {
                    (0..columns.len())
                        .map(|i| r.get::<Value>(i))
                        .collect::<Result<Vec<_>>>()
                },
            )
            .unwrap();
        rows.sort_by_key(|r| format!("{r:?}"));
        rows
    }

    #[test]
    fn a_copy_holds_every_row_and_new_ids_follow_the_copied_ones() {
        let Some(url) = crate::store::test_postgres_url() else {
            eprintln!("skipped: copying into PostgreSQL needs STANDUP_TEST_POSTGRES");
            return;
        };
        let source = Store::open_in_memory().unwrap();
        source.conn.batch(ROWS).unwrap();
        let target = Store::open_postgres(&url).unwrap();
        let report = source.copy_to(&target).unwrap();
        assert_eq!(report.tables.len(), tables().len());
        for (table, copied) in &report.tables {
            let columns = sqlite_columns(&source.conn, table).unwrap();
            let ours = rows(&source.conn, table, &columns);
            assert!(!ours.is_empty(), "{table} has no row to copy");
            assert_eq!(*copied, ours.len() as u64, "{table}");
            assert_eq!(rows(&target.conn, table, &columns), ours, "{table}");
        }
        let arrival = |conn: &Conn, order: &str| {
            conn.query_map(
                &format!("SELECT event_id FROM inbox ORDER BY {order}"),
                (),
                |r| r.get::<String>(0),
            )
            .unwrap()
        };
        assert_eq!(arrival(&target.conn, "seq"), ["Ev3", "Ev1", "Ev2"]);
        assert_eq!(arrival(&target.conn, "seq"), arrival(&source.conn, "rowid"));
        let next = |sql: &str| target.conn.query_row(sql, (), |r| r.get::<i64>(0)).unwrap();
        assert_eq!(
            next("INSERT INTO members (team_id, handle) VALUES ('orbit', 'li') RETURNING id"),
            8
        );
        assert_eq!(
            next(
                "INSERT INTO cycles (team_id, date, title, source, created_at)
                 VALUES ('orbit', '2024-03-25', 't', 'bot', '2024-03-25T08:00:00.000Z') RETURNING id"
            ),
            10
        );
        let again = source.copy_to(&target).unwrap_err().to_string();
        assert!(
            again.contains("already holds standup-bot data (teams: 2, members: 3, cycles: 3"),
            "{again}"
        );
    }
}
