//! Storage faults: a full disk and another program holding the lock.
//! Each write fails whole with a message that says what to do, and what was written before
//! stays intact.

use chrono::{TimeZone, Utc};

use super::*;
use standup_core::domain::{ChannelId, Format, TeamId, UserId};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 11, 9, 0, 0).unwrap()
}

fn file_store(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("standup.db")).unwrap();
    store
        .sync_team(&TeamRecord {
            id: TeamId::new("orbit"),
            name: "Orbit".into(),
            format: Format::Planning,
            channel: ChannelId::new("C0123456789"),
            members: vec![MemberRecord {
                user: Some(UserId("U1".into())),
                handle: "maria".into(),
            }],
        })
        .unwrap();
    store
}

/// Records version `version` of the member's one message.
fn record(store: &mut Store, version: &str, text: &str) -> Result<ReplyOutcome> {
    let cycle = store
        .ensure_cycle(
            &TeamId::new("orbit"),
            Format::Planning,
            chrono::NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
            "T",
            now(),
        )?
        .id;
    let user = UserId("U1".into());
    store.record_reply(
        &NewReply {
            cycle,
            user: &user,
            source: "dm",
            slack_ts: "1.000100",
            version,
            text,
            at: now(),
        },
        |t| {
            let p = standup_core::parse::parse_reply(
                t,
                Format::Planning,
                &standup_core::parse::NoNames,
            );
            (p.update, p.diagnostics)
        },
    )
}

fn revisions(store: &Store) -> i64 {
    store
        .conn
        .query_row("SELECT count(*) FROM replies", (), |r| r.get(0))
        .unwrap()
}

#[test]
fn a_full_database_refuses_the_write_and_keeps_what_it_had() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(dir.path());
    store.cap_size(1).unwrap();
    let big = "- shipped a thing\n".repeat(6_000); // ~100 KB per reply
    let mut written = 0;
    let err = loop {
        // Each version differs, so each is a new ~100 KB revision.
        match record(
            &mut store,
            &format!("{written}.000100"),
            &format!("{big}{written}"),
        ) {
            Ok(_) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 100, "the 1 MiB cap never filled");
    };
    assert!(written >= 3, "only {written} replies fitted");
    let message = err.to_string();
    assert!(
        message.contains("the disk is full") && message.contains("nothing was written"),
        "{message}"
    );
    // The failed write left nothing half-done, and everything before it is there and sound.
    assert_eq!(revisions(&store), written);
    let check: String = store
        .conn
        .query_row("PRAGMA integrity_check", (), |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // With room again, the same write goes through.
    store.cap_size(64).unwrap();
    record(
        &mut store,
        &format!("{written}.000100"),
        &format!("{big}{written}"),
    )
    .unwrap();
    assert_eq!(revisions(&store), written + 1);
}

#[test]
fn a_lock_held_by_another_program_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(dir.path());
    let path = dir.path().join("standup.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        tx.commit().unwrap();
    });
    locked_rx.recv().unwrap();
    // SQLITE_BUSY is retried (busy_timeout) until the other writer lets go.
    record(&mut store, "1.000100", "- waited for the lock").unwrap();
    other.join().unwrap();
    assert_eq!(revisions(&store), 1);
}

#[test]
fn a_job_cut_short_by_crashes_keeps_its_attempts_and_a_failure_spends_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(dir.path());
    let key = JobKey {
        team: TeamId::new("orbit"),
        kind: "prompt",
        fire_at: now(),
        member: Some(UserId("U1".into())),
        cycle_date: chrono::NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
    };
    assert_eq!(store.begin_job(&key, now()).unwrap(), JobStart::Fresh);
    // Killed mid-job ten times: each restart runs it again without spending an attempt.
    for _ in 0..10 {
        assert_eq!(store.begin_job(&key, now()).unwrap(), JobStart::Again(1));
    }
    store
        .end_job(&key, JobEnd::Failed, Some("Slack: 500"), now())
        .unwrap();
    assert_eq!(store.begin_job(&key, now()).unwrap(), JobStart::Again(2));
    store.end_job(&key, JobEnd::Done, None, now()).unwrap();
    assert_eq!(store.begin_job(&key, now()).unwrap(), JobStart::Finished);
}
