//! Leases: how replicas on one PostgreSQL database take turns at the work only one may do.
//!
//! A lease row names its holder, an epoch and an expiry on the database's clock (no two
//! machines' clocks are compared). Taking a lease that expired, or whose holder has no
//! connection to the database left (it died: its connections carry its name, see
//! [`Store::claim_as`]), starts a new epoch; renewing
//! keeps the epoch; releasing ends it at once, so a successor need not wait out the expiry. A
//! write that must come from the current holder checks, in its own transaction, that the lease
//! is still that holder's at that epoch and unexpired ([`Store::holds`]): a holder that was
//! paused past its expiry finds its writes refused. On SQLite one process owns the file, so it
//! always holds every lease.

use std::time::Duration;

use super::sql::{Conn, Engine, params};
use super::{Error, Result, Store};

/// The lease of the scheduler: prompts, reminders, posts, escalations and introductions.
pub const SCHEDULER: &str = "scheduler";

/// The lease of one team's turn with its notes (posting or refreshing them).
pub fn notes(team: &str) -> String {
    format!("notes:{team}")
}

/// The prefix of the leases of short work that must not run twice at once (one member's update
/// in a cycle's thread): many of them, each done with quickly, so pruned.
const HOLD: &str = "hold:";

/// The lease of short work named `key` (see [`HOLD`]).
pub fn hold(key: &str) -> String {
    format!("{HOLD}{key}")
}

/// A lease as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub name: String,
    pub holder: String,
    pub epoch: i64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Takes the lease `name` for `holder` for `ttl` if it is free or expired (a new epoch), or
    /// renews it if `holder` already holds it; `None` while another holds it.
    pub fn take_lease(&mut self, name: &str, holder: &str, ttl: Duration) -> Result<Option<Held>> {
        if self.conn.engine() == Engine::Sqlite {
            return Ok(Some(Held {
                name: name.into(),
                holder: holder.into(),
                epoch: 1,
            }));
        }
        let epoch: Option<i64> = self.conn.transaction(|tx| {
            tx.query_opt(
                "INSERT INTO leases (name, holder, epoch, expires_at)
                 VALUES (?1, ?2, 1, clock_timestamp() + CAST(?3 AS BIGINT) * interval '1 millisecond')
                 ON CONFLICT (name) DO UPDATE
                   SET holder = excluded.holder,
                       epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > clock_timestamp()
                                    THEN leases.epoch ELSE leases.epoch + 1 END,
                       expires_at = excluded.expires_at
                   WHERE leases.expires_at <= clock_timestamp() OR leases.holder = excluded.holder
                      OR leases.holder NOT IN (SELECT application_name FROM pg_stat_activity
                                               WHERE application_name IS NOT NULL)
                 RETURNING epoch",
                params![name, holder, millis(ttl)],
                |r| r.get(0),
            )
        })?;
        Ok(epoch.map(|epoch| Held {
            name: name.into(),
            holder: holder.into(),
            epoch,
        }))
    }

    /// [`Store::take_lease`] as this replica: by the name it claims by (see
    /// [`Store::claim_as`]), else by its process id (a one-shot command).
    pub fn take_lease_here(&mut self, name: &str, ttl: Duration) -> Result<Option<Held>> {
        let holder = self
            .holder
            .clone()
            .unwrap_or_else(|| format!("standup-bot pid {}", std::process::id()));
        self.take_lease(name, &holder, ttl)
    }

    /// Extends a held lease by `ttl`; false when it is no longer this holder's at this epoch
    /// (it expired and was taken, or was released).
    pub fn renew_lease(&mut self, held: &Held, ttl: Duration) -> Result<bool> {
        if self.conn.engine() == Engine::Sqlite {
            return Ok(true);
        }
        let n = self.conn.execute(
            "UPDATE leases SET expires_at = clock_timestamp() + CAST(?4 AS BIGINT) * interval '1 millisecond'
             WHERE name = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at > clock_timestamp()",
            params![held.name, held.holder, held.epoch, millis(ttl)],
        )?;
        Ok(n == 1)
    }

    /// Gives a held lease up at once (a clean stop), so a successor takes it without waiting.
    pub fn release_lease(&mut self, held: &Held) -> Result<()> {
        if self.conn.engine() == Engine::Sqlite {
            return Ok(());
        }
        self.conn.execute(
            "UPDATE leases SET expires_at = clock_timestamp() - interval '1 millisecond'
             WHERE name = ?1 AND holder = ?2 AND epoch = ?3",
            params![held.name, held.holder, held.epoch],
        )?;
        Ok(())
    }
}

impl Store {
    /// Deletes the leases of short work ([`hold`]) that ran out more than a day ago; the
    /// scheduler's and the teams' notes leases stay (their epochs fence writes).
    pub fn prune_leases(&mut self) -> Result<usize> {
        if self.conn.engine() == Engine::Sqlite {
            return Ok(0);
        }
        self.conn.execute(
            "DELETE FROM leases WHERE name LIKE ?1 AND expires_at < clock_timestamp() - interval '1 day'",
            params![format!("{HOLD}%")],
        )
    }
}

/// Fails with [`Error::Fenced`] unless `held` is still the lease's holder and epoch, unexpired:
/// called inside the transaction of a write only the holder may make, so the write commits only
/// under the current epoch.
pub(super) fn holds(conn: &Conn, held: Option<&Held>) -> Result<()> {
    let Some(held) = held else { return Ok(()) };
    if conn.engine() == Engine::Sqlite {
        return Ok(());
    }
    let current: i64 = conn.query_row(
        "SELECT count(*) FROM leases
         WHERE name = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at > clock_timestamp()",
        params![held.name, held.holder, held.epoch],
        |r| r.get(0),
    )?;
    if current == 0 {
        return Err(Error::Fenced {
            lease: held.name.clone(),
            epoch: held.epoch,
        });
    }
    Ok(())
}
