//! Slack's rate limits as the replicas of one bot share them (PostgreSQL): a row per workspace
//! and key (`method:users.list`, `channel:C123`) holding GCRA's theoretical arrival time and the
//! end of the last 429's `Retry-After`, in seconds since 1970 on the database's clock — one clock
//! for every replica, whatever their machines' say.
//!
//! The arithmetic is `slack::pacing`'s `Cell` (the store cannot name it; `bot::pacing` joins the
//! two): a reservation moves `tat` to `max(tat, now) + interval` and the call may go at
//! `max(now, tat_before - (burst - 1) × interval, blocked_until)`; a block moves
//! `blocked_until` to `now + retry_after` and `tat` to at least `blocked_until + (burst - 1) ×
//! interval`. Each is one `INSERT … ON CONFLICT DO UPDATE` for every key of the call, outside any
//! transaction: the row's lock orders replicas reserving the same key, and `now` is the
//! statement's own time (PostgreSQL's `statement_timestamp()`, SQLite's `'now'`, both fixed for
//! the statement), so the rows of one call and the answer agree on it. (`clock_timestamp()` would
//! be read anew at each use inside the statement; outside a transaction the two differ only by
//! the statement's own run, a wait for another replica's lock on the row included, which can
//! only make the wait a little longer.)
//!
//! A row whose `tat` and `blocked_until` have passed says what no row says, so idle rows are
//! deleted ([`Store::prune_rates`]); one is kept per channel posted to recently.

use std::time::Duration;

use super::sql::{Engine, Value};
use super::{Result, SqlKind, Store};

/// A key a call counts against, with its rate: one call per `interval`, `burst` at once.
#[derive(Debug, Clone, PartialEq)]
pub struct RateKey {
    pub key: String,
    pub interval: Duration,
    pub burst: u32,
}

impl RateKey {
    /// How far `tat` may run ahead of now with a call still going at once, in seconds.
    fn tolerance(&self) -> f64 {
        self.interval.as_secs_f64() * f64::from(self.burst.max(1) - 1)
    }
}

/// The database's time, in seconds since 1970, fixed for the statement.
fn now(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)",
        Engine::Sqlite => "((julianday('now') - 2440587.5) * 86400.0)",
    }
}

/// Seconds below which a wait is taken for rounding.
const ROUNDING: f64 = 1e-3;

/// Times a statement is run again when PostgreSQL aborts it for a conflict (a server whose
/// default isolation is stricter than READ COMMITTED).
const CONFLICT_RETRIES: u32 = 5;

impl Store {
    /// Takes a place for one call under every key of `keys` in `workspace`; how long the caller
    /// must wait before making the call (the longest of the keys' waits).
    pub fn reserve_rate(&mut self, workspace: &str, keys: &[RateKey]) -> Result<Duration> {
        if keys.is_empty() {
            return Ok(Duration::ZERO);
        }
        let now = now(self.conn.engine());
        let rows: Vec<String> = (0..keys.len())
            .map(|i| {
                let (key, spacing) = (2 + 2 * i, 3 + 2 * i);
                format!(
                    "(CAST(?1 AS TEXT), CAST(?{key} AS TEXT), CAST(?{spacing} AS DOUBLE PRECISION), \
                     {now} + CAST(?{spacing} AS DOUBLE PRECISION), CAST(0 AS DOUBLE PRECISION))"
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO slack_rates (workspace, key, spacing, tat, blocked_until)
             VALUES {}
             ON CONFLICT (workspace, key) DO UPDATE SET
                 spacing = excluded.spacing,
                 tat = CASE WHEN slack_rates.tat > {now} THEN slack_rates.tat ELSE {now} END
                       + excluded.spacing
             RETURNING key, tat, spacing, blocked_until, {now}",
            rows.join(", ")
        );
        let mut params = vec![Value::Text(workspace.to_string())];
        for k in keys {
            params.push(Value::Text(k.key.clone()));
            params.push(Value::Real(k.interval.as_secs_f64()));
        }
        let rows = again_on_conflict(|| {
            self.conn.query_map(&sql, params.clone(), |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<f64>(1)?,
                    r.get::<f64>(2)?,
                    r.get::<f64>(3)?,
                    r.get::<f64>(4)?,
                ))
            })
        })?;
        let mut wait = 0.0f64;
        for (key, tat, spacing, blocked_until, now) in rows {
            let tolerance = keys
                .iter()
                .find(|k| k.key == key)
                .map_or(0.0, RateKey::tolerance);
            // `tat - spacing` is `max(tat_before, now)`, so this is `max(now, tat_before -
            // tolerance, blocked_until)`.
            let at = (tat - spacing - tolerance).max(blocked_until).max(now);
            wait = wait.max(at - now);
        }
        // Less than a millisecond is the rounding of `now + spacing - spacing`, not a queue.
        if wait < ROUNDING {
            return Ok(Duration::ZERO);
        }
        Ok(Duration::from_secs_f64(wait))
    }

    /// Slack answered 429 with `retry_after`: no call under any of `keys` in `workspace` until
    /// it has passed, and the calls after it one an interval (the bucket counted empty then).
    pub fn block_rate(
        &mut self,
        workspace: &str,
        keys: &[RateKey],
        retry_after: Duration,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let now = now(self.conn.engine());
        let rows: Vec<String> = (0..keys.len())
            .map(|i| {
                let (key, spacing, tolerance) = (3 + 3 * i, 4 + 3 * i, 5 + 3 * i);
                format!(
                    "(CAST(?1 AS TEXT), CAST(?{key} AS TEXT), CAST(?{spacing} AS DOUBLE PRECISION), \
                     {now} + CAST(?2 AS DOUBLE PRECISION) + CAST(?{tolerance} AS DOUBLE PRECISION), \
                     {now} + CAST(?2 AS DOUBLE PRECISION))"
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO slack_rates (workspace, key, spacing, tat, blocked_until)
             VALUES {}
             ON CONFLICT (workspace, key) DO UPDATE SET
                 blocked_until = CASE WHEN slack_rates.blocked_until > excluded.blocked_until
                                      THEN slack_rates.blocked_until ELSE excluded.blocked_until END,
                 tat = CASE WHEN slack_rates.tat > excluded.tat
                            THEN slack_rates.tat ELSE excluded.tat END",
            rows.join(", ")
        );
        let mut params = vec![
            Value::Text(workspace.to_string()),
            Value::Real(retry_after.as_secs_f64()),
        ];
        for k in keys {
            params.push(Value::Text(k.key.clone()));
            params.push(Value::Real(k.interval.as_secs_f64()));
            params.push(Value::Real(k.tolerance()));
        }
        again_on_conflict(|| self.conn.execute(&sql, params.clone()))?;
        Ok(())
    }

    /// Deletes the rows idle for `idle` or longer: nothing queued and no block, the same as no
    /// row. How many went.
    pub fn prune_rates(&mut self, idle: Duration) -> Result<usize> {
        let now = now(self.conn.engine());
        let sql = format!(
            "DELETE FROM slack_rates
             WHERE tat < {now} - CAST(?1 AS DOUBLE PRECISION)
               AND blocked_until < {now} - CAST(?1 AS DOUBLE PRECISION)"
        );
        again_on_conflict(|| {
            self.conn
                .execute(&sql, vec![Value::Real(idle.as_secs_f64())])
        })
    }
}

/// Runs a one-statement write again when PostgreSQL aborted it for a conflict with another
/// replica's (only a server whose default isolation is stricter than READ COMMITTED does).
fn again_on_conflict<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f() {
            Err(e) if e.sql_kind() == Some(SqlKind::Conflict) && attempt < CONFLICT_RETRIES => {
                std::thread::sleep(Duration::from_millis(fastrand::u64(1..=5)));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two handles on one database, as two replicas hold it: a SQLite file opened twice, or a
    /// fresh PostgreSQL database connected to twice (with `STANDUP_TEST_POSTGRES`).
    fn two_replicas() -> (Store, Store, Option<tempfile::TempDir>) {
        match super::super::test_postgres_url() {
            Some(url) => (
                Store::open_postgres(&url).unwrap(),
                Store::open_postgres(&url).unwrap(),
                None,
            ),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("standup.db");
                let first = Store::open(&path).unwrap();
                let second = Store::open(&path).unwrap();
                (first, second, Some(dir))
            }
        }
    }

    fn key(key: &str, interval_ms: u64, burst: u32) -> RateKey {
        RateKey {
            key: key.into(),
            interval: Duration::from_millis(interval_ms),
            burst,
        }
    }

    /// A wait of about `want`: the statements between two reservations take a little of it.
    fn about(wait: Duration, want: Duration) {
        let (early, rounding) = (Duration::from_millis(300), Duration::from_millis(1));
        assert!(
            wait <= want + rounding && wait + early >= want,
            "waited {wait:?}, expected about {want:?}"
        );
    }

    const W: &str = "T0WORKSPACE";

    #[test]
    fn a_second_replica_reserving_in_the_same_interval_waits_about_the_interval() {
        let (mut a, mut b, _dir) = two_replicas();
        let channel = [key("channel:C1", 1000, 1)];
        assert_eq!(a.reserve_rate(W, &channel).unwrap(), Duration::ZERO);
        about(b.reserve_rate(W, &channel).unwrap(), Duration::from_secs(1));
        // The queue goes on whoever asks: the third place is two intervals on.
        about(a.reserve_rate(W, &channel).unwrap(), Duration::from_secs(2));
        // Another channel, another workspace: not held up.
        assert_eq!(
            b.reserve_rate(W, &[key("channel:C2", 1000, 1)]).unwrap(),
            Duration::ZERO
        );
        assert_eq!(b.reserve_rate("T1OTHER", &channel).unwrap(), Duration::ZERO);
    }

    #[test]
    fn a_burst_goes_at_once_across_replicas_and_the_next_call_waits() {
        let (mut a, mut b, _dir) = two_replicas();
        // Three a second at most, as a channel's posts.
        let channel = [key("channel:C1", 1000, 3)];
        assert_eq!(a.reserve_rate(W, &channel).unwrap(), Duration::ZERO);
        assert_eq!(b.reserve_rate(W, &channel).unwrap(), Duration::ZERO);
        assert_eq!(a.reserve_rate(W, &channel).unwrap(), Duration::ZERO);
        about(b.reserve_rate(W, &channel).unwrap(), Duration::from_secs(1));
        // A call under two keys waits for the slower one.
        let both = [key("method:chat.postMessage", 0, 1), channel[0].clone()];
        about(a.reserve_rate(W, &both).unwrap(), Duration::from_secs(2));
    }

    #[test]
    fn a_429_recorded_by_one_replica_holds_back_the_other() {
        let (mut a, mut b, _dir) = two_replicas();
        let method = key("method:chat.postMessage", 0, 1);
        let channel = key("channel:C1", 1000, 3);
        a.block_rate(
            W,
            &[method.clone(), channel.clone()],
            Duration::from_secs(2),
        )
        .unwrap();
        // A post into another channel waits out the method's block...
        let elsewhere = [method.clone(), key("channel:C2", 1000, 3)];
        about(
            b.reserve_rate(W, &elsewhere).unwrap(),
            Duration::from_secs(2),
        );
        about(
            b.reserve_rate(W, &elsewhere).unwrap(),
            Duration::from_secs(2),
        );
        // ...and posts into the channel that met the 429 go one a second after it.
        let here = [method.clone(), channel.clone()];
        about(b.reserve_rate(W, &here).unwrap(), Duration::from_secs(2));
        about(a.reserve_rate(W, &here).unwrap(), Duration::from_secs(3));
        // A shorter block does not cut a longer one short.
        b.block_rate(W, std::slice::from_ref(&method), Duration::from_millis(100))
            .unwrap();
        about(
            a.reserve_rate(W, &elsewhere).unwrap(),
            Duration::from_secs(2),
        );
        // Other methods are not held.
        assert_eq!(
            a.reserve_rate(W, &[key("method:users.info", 600, 100)])
                .unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn idle_rows_are_pruned_and_busy_ones_kept() {
        let (mut a, mut b, _dir) = two_replicas();
        a.reserve_rate(W, &[key("channel:C1", 1, 1)]).unwrap();
        a.reserve_rate(W, &[key("channel:C2", 60_000, 1)]).unwrap();
        b.block_rate(
            W,
            &[key("method:users.list", 3000, 20)],
            Duration::from_secs(30),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(b.prune_rates(Duration::ZERO).unwrap(), 1, "C1 is idle");
        // The others hold what they held.
        assert!(
            a.reserve_rate(W, &[key("channel:C2", 60_000, 1)]).unwrap() > Duration::from_secs(50)
        );
        assert!(
            a.reserve_rate(W, &[key("method:users.list", 3000, 20)])
                .unwrap()
                > Duration::from_secs(25)
        );
        assert_eq!(b.prune_rates(Duration::from_secs(3600)).unwrap(), 0);
    }
}
