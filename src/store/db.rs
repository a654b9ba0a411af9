//! The store as the running bot reaches it: [`Db`], an async handle that never runs SQLite on
//! an async worker.
//!
//! One writer thread owns the read-write connection and takes requests over a channel; a few
//! reader threads each own a read-only connection (WAL mode: a reader never waits for a writer,
//! not even one stuck behind another program's write lock). A caller's `await` parks its task,
//! never a runtime thread, so Socket Mode pings, `/healthz` and acks that need no write go on
//! while the file is locked.
//!
//! Events waiting for their ack come first: the writer drains every event queued, inserts them
//! in one transaction (one savepoint each, so an event that cannot be stored fails alone) and
//! answers each, then runs one piece of other work before looking at the queue again. A commit
//! costs one fsync whatever the group's size, which is what lets ingest outrun one commit per
//! event.
//!
//! What crosses this interface is the store's own vocabulary: [`Store`]'s methods, which take
//! and return domain values and [`Error`], never an engine type. A second engine implements the
//! same methods behind the same handle.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{Error, Result, Store};

/// Reader threads (each with its own connection): reads of concurrent use cases go side by
/// side, and the machine has few cores.
const READERS: usize = 2;
/// Most events committed in one transaction: a group stays a short write.
const MAX_GROUP: usize = 1024;

/// An event to keep before its ack.
#[derive(Debug, Clone)]
pub struct Received {
    /// Slack's `event_id` (or the key of an interaction).
    pub id: String,
    /// The payload as received.
    pub payload: String,
    pub at: DateTime<Utc>,
}

type Work = Box<dyn FnOnce(&mut Store) + Send>;
type ReadWork = Box<dyn FnOnce(&Store) + Send>;

enum Request {
    Receive(Received, oneshot::Sender<Result<bool>>),
    Work(Work),
}

/// A cheap-to-clone async handle on the bot's database. The threads stop when the last handle
/// is dropped.
#[derive(Clone)]
pub struct Db {
    writer: mpsc::Sender<Request>,
    /// `None` for an in-memory database, whose only connection is the writer's: reads go there.
    readers: Option<mpsc::Sender<ReadWork>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("readers", &self.readers.as_ref().map_or(0, |_| READERS))
            .finish()
    }
}

impl Db {
    /// Starts the writer thread on `store` and, for a database file, reader threads with
    /// read-only connections of their own.
    pub fn start(store: Store) -> Result<Db> {
        let readers = match store.reader()? {
            Some(first) => {
                let mut conns = vec![first];
                for _ in 1..READERS {
                    conns.extend(store.reader()?);
                }
                Some(start_readers(conns)?)
            }
            None => None,
        };
        let (writer, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(store, &queue))
            .map_err(|e| Error::Data(format!("cannot start the store's writer thread: {e}")))?;
        Ok(Db { writer, readers })
    }

    /// Starts the writer thread alone on `store`, with no readers: a connection kept for one
    /// kind of short write (the replicas' shared Slack pacing, see
    /// [`Store::pacing_connection`]), out of the main writer's queue.
    pub fn start_writer_only(store: Store) -> Result<Db> {
        let (writer, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("store-pacing".into())
            .spawn(move || write_loop(store, &queue))
            .map_err(|e| Error::Data(format!("cannot start the store's pacing thread: {e}")))?;
        Ok(Db {
            writer,
            readers: None,
        })
    }

    /// Opens the database file at `path` (see [`Store::open`]) and starts it.
    pub fn open(path: &Path) -> Result<Db> {
        Db::start(Store::open(path)?)
    }

    /// Runs `f` on the writer's connection, after the events queued before it.
    pub async fn write<T, E>(
        &self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let work: Work = Box::new(move |store| {
            let _ = tx.send(f(store));
        });
        self.writer
            .send(Request::Work(work))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Runs `f` on a reader's connection: it sees what was committed before it started, and
    /// never waits for a write.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&Store) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(move |store| f(store)).await;
        };
        let (tx, rx) = oneshot::channel();
        let work: ReadWork = Box::new(move |store| {
            let _ = tx.send(f(store));
        });
        readers.send(work).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Stores an event before its ack, in a group with the others waiting (see
    /// [`Store::receive_events`]). False when the id was seen before. An error means it was not
    /// stored: the caller must not ack it.
    ///
    /// The event joins the writer's queue when this is called, not when the answer is first
    /// awaited: a caller that reads events in order queues them in that order, and can leave
    /// the waiting to another task.
    pub fn receive_event(
        &self,
        event: Received,
    ) -> impl Future<Output = Result<bool>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = self.writer.send(Request::Receive(event, tx));
        async move {
            queued.map_err(|_| Error::Stopped)?;
            rx.await.map_err(|_| Error::Stopped)?
        }
    }
}

fn start_readers(conns: Vec<Store>) -> Result<mpsc::Sender<ReadWork>> {
    let (tx, rx) = mpsc::channel::<ReadWork>();
    let rx = Arc::new(Mutex::new(rx));
    for (i, store) in conns.into_iter().enumerate() {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("store-reader-{i}"))
            .spawn(move || {
                loop {
                    // The lock is held only while waiting for the next request.
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(work) = next else { return };
                    // A panicking read drops its answer (the caller gets `Stopped`); the
                    // connection is still good.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| work(&store)));
                }
            })
            .map_err(|e| Error::Data(format!("cannot start a store reader thread: {e}")))?;
    }
    Ok(tx)
}

/// The writer thread: events first, in groups; then one piece of other work at a time.
fn write_loop(mut store: Store, queue: &mpsc::Receiver<Request>) {
    let mut events: Vec<(Received, oneshot::Sender<Result<bool>>)> = Vec::new();
    let mut work: VecDeque<Work> = VecDeque::new();
    loop {
        while events.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(Request::Receive(e, tx)) => events.push((e, tx)),
                Ok(Request::Work(w)) => work.push_back(w),
                Err(_) => break,
            }
        }
        if !events.is_empty() {
            let (group, answers): (Vec<_>, Vec<_>) = events.drain(..).unzip();
            match store.receive_events(&group) {
                Ok(results) => {
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(result);
                    }
                }
                Err(e) => {
                    for answer in answers {
                        let _ = answer.send(Err(e.clone()));
                    }
                }
            }
            continue;
        }
        if let Some(w) = work.pop_front() {
            // SQLite rolled back whatever the panicking work had open; the connection goes on.
            if std::panic::catch_unwind(AssertUnwindSafe(|| w(&mut store))).is_err() {
                tracing::error!("a store request panicked; its caller gets an error");
            }
            continue;
        }
        match queue.recv() {
            Ok(Request::Receive(e, tx)) => events.push((e, tx)),
            Ok(Request::Work(w)) => work.push_back(w),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::store::SqlKind;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 11, 9, 0, 0).unwrap()
    }

    fn event(id: &str, payload: &str) -> Received {
        Received {
            id: id.to_string(),
            payload: payload.to_string(),
            at: at(),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn pending(db: &Db, rt: &tokio::runtime::Runtime) -> Vec<String> {
        rt.block_on(db.read(|s| s.pending_events()))
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn concurrent_events_reads_and_writes_are_all_answered_and_each_event_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let db = Db::open(&dir.path().join("standup.db")).unwrap();
        let mut tasks = Vec::new();
        for i in 0..300 {
            let db = db.clone();
            tasks.push(rt.spawn(async move {
                // Every event twice (Slack's redelivery): one of the two is new.
                let id = format!("Ev{i}");
                let first = db.receive_event(event(&id, "{}")).await.unwrap();
                let again = db.receive_event(event(&id, "{}")).await.unwrap();
                let attempt = db.write(move |s| s.event_attempt(&id)).await;
                let seen = db.read(|s| s.pending_events()).await.unwrap();
                (first, again, attempt.is_ok(), seen.len())
            }));
        }
        for task in tasks {
            let (first, again, attempted, seen) = rt.block_on(task).unwrap();
            assert!(first && !again, "the first copy is new, the second is not");
            assert!(attempted);
            assert!(seen >= 1, "a read after an event's ack sees it");
        }
        let mut ids = pending(&db, &rt);
        ids.sort();
        let mut want: Vec<String> = (0..300).map(|i| format!("Ev{i}")).collect();
        want.sort();
        assert_eq!(ids, want);
    }

    #[test]
    fn an_event_that_cannot_be_stored_fails_alone_in_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("standup.db")).unwrap();
        store.cap_size(1).unwrap();
        let big = "x".repeat(2 * 1024 * 1024);
        let answers = store
            .receive_events(&[
                event("Ev1", "{}"),
                event("Ev2", &big),
                event("Ev3", "{}"),
                event("Ev1", "{}"),
            ])
            .unwrap();
        assert!(matches!(answers[0], Ok(true)));
        let Err(e) = &answers[1] else {
            panic!("a payload past the size cap is refused: {:?}", answers[1]);
        };
        assert_eq!(e.sql_kind(), Some(SqlKind::Full), "{e}");
        assert!(e.to_string().contains("disk is full"), "{e}");
        assert!(matches!(answers[2], Ok(true)));
        assert!(
            matches!(answers[3], Ok(false)),
            "a redelivery in the same group"
        );
        let ids: Vec<String> = store
            .pending_events()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["Ev1", "Ev3"]);
    }

    #[test]
    fn reads_go_on_and_events_wait_while_another_program_holds_the_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("standup.db");
        let rt = runtime();
        let db = Db::open(&path).unwrap();
        rt.block_on(db.receive_event(event("Ev0", "{}"))).unwrap();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            let mut conn = rusqlite::Connection::open(path).unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            tx.commit().unwrap();
        });
        locked_rx.recv().unwrap();
        // The writer is stuck behind the lock with this event...
        let waiting = rt.spawn({
            let db = db.clone();
            async move { db.receive_event(event("Ev1", "{}")).await }
        });
        // ...and reads still answer, from what was committed (a blocked read would fail
        // with SQLITE_BUSY after the busy timeout, not pass).
        assert_eq!(pending(&db, &rt), ["Ev0"]);
        assert!(!waiting.is_finished(), "the event waits for the lock");
        release_tx.send(()).unwrap();
        other.join().unwrap();
        assert!(
            rt.block_on(waiting).unwrap().unwrap(),
            "stored once released"
        );
        assert_eq!(pending(&db, &rt), ["Ev0", "Ev1"]);
    }

    #[test]
    fn a_panicking_request_fails_alone_and_the_store_goes_on() {
        let rt = runtime();
        let db = Db::start(crate::store::test_store()).unwrap();
        let panicked: Result<()> = rt.block_on(db.write(|_| panic!("a bug in a request")));
        assert!(matches!(panicked, Err(Error::Stopped)));
        assert!(rt.block_on(db.receive_event(event("Ev1", "{}"))).unwrap());
        assert_eq!(pending(&db, &rt), ["Ev1"]);
    }

    #[test]
    fn database_errors_carry_their_kind_and_a_fix_not_the_engine_type() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        let e = Error::from(busy);
        assert_eq!(e.sql_kind(), Some(SqlKind::Busy));
        assert!(e.to_string().contains("locked by another program"), "{e}");
        let full = Error::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        ));
        assert_eq!(full.sql_kind(), Some(SqlKind::Full));
        assert!(full.to_string().contains("free disk space"), "{full}");
    }
}
