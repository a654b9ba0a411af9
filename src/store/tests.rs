use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use standup_core::domain::{ChannelId, CycleId, Format, SectionKind, TeamId, UserId};
use standup_core::notes::read_document;
use standup_core::parse::{NoNames, parse_reply};
use standup_core::render::{Renderer, TemplateRef};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 11, 9, 0, 0).unwrap()
}

fn team(format: Format) -> TeamRecord {
    TeamRecord {
        id: TeamId::new("orbit"),
        name: "Team Orbit".into(),
        format,
        channel: ChannelId::new("C0123456789"),
        members: ["maria", "kenji", "li"]
            .iter()
            .enumerate()
            .map(|(i, h)| MemberRecord {
                user: Some(UserId(format!("U00000000{i}"))),
                handle: h.to_string(),
            })
            .collect(),
    }
}

fn store_with(format: Format) -> Store {
    let mut store = test_store();
    store.sync_team(&team(format)).unwrap();
    store
}

/// Every row of every table, for "nothing changed" assertions (rows sorted: PostgreSQL gives
/// them in no set order).
fn dump(store: &Store) -> Vec<String> {
    let tables_sql = match store.engine() {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        }
    };
    let tables: Vec<String> = store.conn.query_map(tables_sql, (), |r| r.get(0)).unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut rows = store
            .conn
            .query_map(&format!("SELECT * FROM {table}"), (), |r| {
                Ok(format!("{table}: {r:?}"))
            })
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// The `orbit` planning cycle of 2024-03-11, created if needed.
fn cycle_of(store: &mut Store) -> CycleId {
    let orbit = TeamId::new("orbit");
    store
        .ensure_cycle(&orbit, Format::Planning, date("2024-03-11"), "T", now())
        .unwrap()
        .id
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn file_database_uses_wal_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/standup.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.sync_team(&team(Format::Planning)).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", (), |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", (), |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        schema::latest_version() as i64
    );
    assert_eq!(store.team_ids().unwrap(), vec![TeamId::new("orbit")]);
}

#[test]
fn newer_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("standup.db");
    drop(Store::open(&path).unwrap());
    // Migrated by a release whose change this one cannot live with.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", schema::latest_version() + 1)
        .unwrap();
    conn.execute(
        "UPDATE schema_compat SET oldest_binary = ?1",
        [schema::latest_version() as i64 + 1],
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err().to_string();
    let expect = format!(
        "written by a newer standup-bot (schema version {}; this binary knows up to {})",
        schema::latest_version() + 1,
        schema::latest_version()
    );
    assert!(err.contains(&expect), "{err}");
    assert!(err.starts_with(&path.display().to_string()), "{err}");
}

/// A rolling deploy: the next release migrated the database, adding only what this one does not
/// need; this one (or a rollback to it) still runs on it, and leaves its schema alone.
#[test]
fn a_newer_database_marked_usable_by_this_version_is_used_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("standup.db");
    drop(Store::open(&path).unwrap());
    let next = schema::latest_version() + 1;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE next_release_only (x INTEGER)")
            .unwrap();
        conn.pragma_update(None, "user_version", next).unwrap();
        conn.execute(
            "UPDATE schema_compat SET oldest_binary = ?1",
            [schema::latest_version() as i64],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    store
        .sync_team(&crate::store::TeamRecord {
            id: TeamId::new("orbit"),
            name: "Orbit".into(),
            format: standup_core::domain::Format::Planning,
            channel: standup_core::domain::ChannelId::new("C0123456789"),
            members: Vec::new(),
        })
        .unwrap();
    assert_eq!(store.team_ids().unwrap(), vec![TeamId::new("orbit")]);
    assert_eq!(
        store.schema_version().unwrap(),
        next as i64,
        "not migrated back"
    );
    drop(store);
    // The release after needs a newer binary: refused as before.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE schema_compat SET oldest_binary = ?1", [next as i64])
        .unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("written by a newer standup-bot"), "{err}");
}

#[test]
fn garbage_and_foreign_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    let bytes = b"this is not a database, just text that happens to be long enough".repeat(100);
    std::fs::write(&garbage, &bytes).unwrap();
    let err = Store::open(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("not a standup-bot database or damaged"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        bytes,
        "the file is left as it was"
    );

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = Store::open(&foreign).unwrap_err().to_string();
    assert!(
        err.contains("has tables but no standup-bot schema version"),
        "{err}"
    );
}

#[test]
fn imported_canonical_notes_compile_to_the_same_bytes() {
    for (format, name) in [
        (Format::Planning, "planning.md"),
        (Format::Standup, "standup.md"),
    ] {
        let mut store = store_with(format);
        let text = fixture(name);
        let doc = read_document(&text, format).unwrap();
        let report = store
            .import_document(&TeamId::new("orbit"), name, &doc, now())
            .unwrap();
        assert_eq!(report.created, vec![date("2024-03-11")]);
        let meeting = store
            .meeting(&TeamId::new("orbit"), format, date("2024-03-11"))
            .unwrap();
        let out = Renderer::new()
            .render(&TemplateRef::Builtin(format), &meeting)
            .unwrap();
        assert_eq!(out, text, "{name}");
    }
}

#[test]
fn reimporting_the_same_file_changes_nothing() {
    let mut store = store_with(Format::Standup);
    let text = fixture("standup-handtyped.md");
    let doc = read_document(&text, Format::Standup).unwrap();
    let first = store
        .import_document(&TeamId::new("orbit"), "notes.md", &doc, now())
        .unwrap();
    assert_eq!(first.created.len(), 2);
    assert_eq!(first.fragments, 2);
    let before = dump(&store);
    let later = now() + chrono::Duration::hours(1);
    let again = store
        .import_document(&TeamId::new("orbit"), "notes.md", &doc, later)
        .unwrap();
    assert!(!again.changed(), "{again:?}");
    assert_eq!(again.unchanged.len(), 2);
    assert_eq!(dump(&store), before);
}

#[test]
fn changed_notes_replace_imported_text_but_keep_slack_updates() {
    let mut store = store_with(Format::Standup);
    let orbit = TeamId::new("orbit");
    let text = fixture("standup.md");
    let doc = read_document(&text, Format::Standup).unwrap();
    store.import_document(&orbit, "n.md", &doc, now()).unwrap();
    // maria (U000000000) then answers in Slack for the same meeting.
    let cycle = store.cycle(&orbit, date("2024-03-11")).unwrap().unwrap();
    let maria = UserId::new("U000000000");
    let reply = NewReply {
        cycle: cycle.id,
        user: &maria,
        source: "dm",
        slack_ts: "1710147600.000100",
        version: "1710147600.000100",
        text: "Last week:\n- from slack",
        at: now(),
    };
    store
        .record_reply(&reply, |t| {
            let p = parse_reply(t, Format::Standup, &NoNames);
            (p.update, p.diagnostics)
        })
        .unwrap();

    let edited = text.replace("* Reviews", "* Reviews and docs");
    let doc = read_document(&edited, Format::Standup).unwrap();
    let report = store.import_document(&orbit, "n.md", &doc, now()).unwrap();
    assert_eq!(report.replaced, vec![date("2024-03-11")]);
    assert_eq!(
        report.kept_from_slack,
        vec![(date("2024-03-11"), "maria".to_string())]
    );
    let meeting = store
        .meeting(&orbit, Format::Standup, date("2024-03-11"))
        .unwrap();
    let out = Renderer::new()
        .render(&TemplateRef::Builtin(Format::Standup), &meeting)
        .unwrap();
    assert!(
        out.contains("##### @maria\n\nLast week:\n\n* from slack\n\nThis week:\n\n##### @kenji"),
        "{out}"
    );
}

#[test]
fn new_cycles_copy_the_previous_meetings_sections() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let first = store
        .ensure_cycle(
            &orbit,
            Format::Planning,
            date("2024-03-11"),
            "Team Orbit Planning 2024-03-11",
            now(),
        )
        .unwrap();
    let m1 = store.meeting(&orbit, Format::Planning, first.date).unwrap();
    assert_eq!(m1.blocks, default_blocks(Format::Planning));
    assert_eq!(
        m1.entries
            .iter()
            .map(|e| e.handle.as_str())
            .collect::<Vec<_>>(),
        ["maria", "kenji", "li"]
    );
    store
        .conn
        .execute(
            "UPDATE meeting_sections SET body = 'Board review' WHERE role = 'questions'",
            (),
        )
        .unwrap();
    let again = store
        .ensure_cycle(
            &orbit,
            Format::Planning,
            date("2024-03-11"),
            "ignored",
            now(),
        )
        .unwrap();
    assert_eq!(again.id, first.id);
    store
        .ensure_cycle(
            &orbit,
            Format::Planning,
            date("2024-03-18"),
            "Team Orbit Planning 2024-03-18",
            now(),
        )
        .unwrap();
    let m2 = store
        .meeting(&orbit, Format::Planning, date("2024-03-18"))
        .unwrap();
    assert_eq!(m2.blocks.last().unwrap().body, "Board review");
    let err = store
        .meeting(&orbit, Format::Planning, date("2024-01-01"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("team `orbit` has no meeting on 2024-01-01"),
        "{err}"
    );
}

fn reply_in(
    store: &mut Store,
    cycle: CycleId,
    user: &UserId,
    ts: &str,
    text: &str,
) -> ReplyOutcome {
    let reply = NewReply {
        cycle,
        user,
        source: "dm",
        slack_ts: ts,
        version: ts,
        text,
        at: now(),
    };
    store
        .record_reply(&reply, |t| {
            let p = parse_reply(t, Format::Planning, &NoNames);
            (p.update, p.diagnostics)
        })
        .unwrap()
}

#[test]
fn replies_edits_and_redeliveries() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let cycle = cycle_of(&mut store);
    let kenji = UserId::new("U000000001");
    let first = reply_in(
        &mut store,
        cycle,
        &kenji,
        "1710147600.000100",
        "Shipped:\n- indexer",
    );
    assert!(first.changed && first.opened.is_empty());
    let second = reply_in(
        &mut store,
        cycle,
        &kenji,
        "1710147700.000100",
        "Blocked:\n- waiting on infra",
    );
    assert_eq!(
        second
            .opened
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>(),
        ["waiting on infra"]
    );
    assert_eq!(store.open_blockers(&orbit).unwrap().len(), 1);
    // The same event again changes nothing.
    let dup = reply_in(
        &mut store,
        cycle,
        &kenji,
        "1710147700.000100",
        "Blocked:\n- waiting on infra",
    );
    assert!(!dup.changed && dup.opened.is_empty());
    // An edit of the second message replaces it; the blocker it no longer names is resolved.
    let edit = reply_in(
        &mut store,
        cycle,
        &kenji,
        "1710147700.000100",
        "Blocked: N/A\nNext:\n- ship",
    );
    assert_eq!(
        edit.resolved
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>(),
        ["waiting on infra"]
    );
    assert!(store.open_blockers(&orbit).unwrap().is_empty());
    assert_eq!(
        store.reply_revisions(cycle).unwrap(),
        3,
        "every revision is kept"
    );
    assert_eq!(
        store.reply_text(cycle, &kenji).unwrap().unwrap(),
        "Shipped:\n- indexer\nBlocked: N/A\nNext:\n- ship"
    );
    let meeting = store
        .meeting(&orbit, Format::Planning, date("2024-03-11"))
        .unwrap();
    let out = Renderer::new()
        .render(&TemplateRef::Builtin(Format::Planning), &meeting)
        .unwrap();
    assert!(out.contains("@maria\n\n@kenji\n- 🚢 Shipped:\n    - indexer\n- ⛔\u{fe0f} Blocked:\n    - N/A\n- ⏭ Next:\n    - ship\n\n@li\n"), "{out}");
}

#[test]
fn non_members_cannot_reply() {
    let mut store = store_with(Format::Planning);
    let cycle = cycle_of(&mut store);
    let stranger = UserId::new("U999999999");
    let reply = NewReply {
        cycle,
        user: &stranger,
        source: "dm",
        slack_ts: "1.0",
        version: "1.0",
        text: "hi",
        at: now(),
    };
    let err = store
        .record_reply(&reply, |_| unreachable!("not parsed"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    assert_eq!(store.reply_revisions(cycle).unwrap(), 0);
}

#[test]
fn raised_blockers_resolve_once() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let cycle = cycle_of(&mut store);
    let li = UserId::new("U000000002");
    let b = store
        .raise_blocker(cycle, &li, "no prod access", now())
        .unwrap();
    assert_eq!(
        (b.handle.as_str(), b.text.as_str()),
        ("li", "no prod access")
    );
    // An update without it does not resolve a blocker raised by command.
    reply_in(&mut store, cycle, &li, "1.0", "Next: x");
    assert_eq!(store.open_blockers(&orbit).unwrap().len(), 1);
    assert!(store.resolve_blocker(b.id, "U000000002", now()).unwrap());
    assert!(!store.resolve_blocker(b.id, "U000000002", now()).unwrap());
    assert!(store.open_blockers(&orbit).unwrap().is_empty());
}

#[test]
fn config_changes_keep_history() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let doc = read_document(&fixture("planning.md"), Format::Planning).unwrap();
    store.import_document(&orbit, "p.md", &doc, now()).unwrap();
    let mut t = team(Format::Planning);
    t.members.remove(1); // kenji leaves
    t.members.push(MemberRecord {
        user: Some(UserId::new("U00000000Z")),
        handle: "zoe".into(),
    });
    store.sync_team(&t).unwrap();
    let handles: Vec<String> = store
        .active_members(&orbit)
        .unwrap()
        .into_iter()
        .map(|m| m.handle)
        .collect();
    assert_eq!(handles, ["maria", "li", "zoe"]);
    // The old meeting still shows kenji.
    let meeting = store
        .meeting(&orbit, Format::Planning, date("2024-03-11"))
        .unwrap();
    assert!(meeting.entries.iter().any(|e| e.handle == "kenji"));
}

#[test]
fn posts_are_remembered_latest_first() {
    let mut store = store_with(Format::Planning);
    let cycle = cycle_of(&mut store);
    assert_eq!(store.last_post(cycle, "document").unwrap(), None);
    let mut post = Post {
        cycle,
        kind: "document".into(),
        channel: ChannelId::new("C0123456789"),
        ts: Some("1710147600.000100".into()),
        file_id: Some("F1".into()),
        content_digest: "abc".into(),
        posted_at: now(),
    };
    store.record_post(&post).unwrap();
    post.file_id = Some("F2".into());
    store.record_post(&post).unwrap();
    assert_eq!(store.last_post(cycle, "document").unwrap(), Some(post));
}

#[test]
fn an_edit_that_arrives_first_still_wins() {
    let mut store = store_with(Format::Planning);
    let cycle = cycle_of(&mut store);
    let li = UserId::new("U000000002");
    let parse = |t: &str| {
        let p = parse_reply(t, Format::Planning, &NoNames);
        (p.update, p.diagnostics)
    };
    let version = |version, text| NewReply {
        cycle,
        user: &li,
        source: "dm",
        slack_ts: "1710147600.000100",
        version,
        text,
        at: now(),
    };
    let edit = store
        .record_reply(&version("1710147700.000200", "Next:\n- edited"), parse)
        .unwrap();
    assert!(edit.changed);
    let original = store
        .record_reply(&version("1710147600.000100", "Next:\n- original"), parse)
        .unwrap();
    assert!(
        !original.changed,
        "an older version does not replace a newer one"
    );
    assert_eq!(
        store.reply_text(cycle, &li).unwrap().unwrap(),
        "Next:\n- edited"
    );
    assert_eq!(
        store.reply_revisions(cycle).unwrap(),
        2,
        "both versions are kept"
    );
}

#[test]
fn follow_through_reads_the_previous_plan_history_and_the_carry() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let maria = UserId::new("U000000000");
    let kenji = UserId::new("U000000001");
    let first = cycle_of(&mut store);
    let second = store
        .ensure_cycle(&orbit, Format::Planning, date("2024-03-18"), "T2", now())
        .unwrap()
        .id;
    assert_eq!(
        store
            .previous_update(&orbit, date("2024-03-11"), &maria)
            .unwrap(),
        None,
        "no meeting before the first"
    );
    reply_in(&mut store, first, &maria, "1710147600.000100", "Next:\n- a");
    let (when, update) = store
        .previous_update(&orbit, date("2024-03-18"), &maria)
        .unwrap()
        .unwrap();
    assert_eq!(when, date("2024-03-11"));
    assert_eq!(
        update.unwrap().section(SectionKind::Next).unwrap().texts(),
        ["a"]
    );
    let (_, none) = store
        .previous_update(&orbit, date("2024-03-18"), &kenji)
        .unwrap()
        .unwrap();
    assert_eq!(none, None, "kenji sent nothing last time");

    // A carry comes after the member's own messages, whatever its key, and its newest version
    // is the one that counts.
    reply_in(&mut store, second, &maria, "1710752400.000100", "did b");
    for (version, text) in [
        ("1710752500.000001", "Next:\n- a"),
        ("1710752600.000001", "Shipped:\n- a"),
    ] {
        let carry = NewReply {
            cycle: second,
            user: &maria,
            source: CARRY_SOURCE,
            slack_ts: CARRY_KEY,
            version,
            text,
            at: now(),
        };
        store
            .record_reply(&carry, |t| {
                let p = parse_reply(t, Format::Planning, &NoNames);
                (p.update, p.diagnostics)
            })
            .unwrap();
    }
    assert_eq!(
        store.reply_text(second, &maria).unwrap().unwrap(),
        "did b\nShipped:\n- a"
    );
    assert_eq!(
        store.carry_text(second, &maria).unwrap().as_deref(),
        Some("Shipped:\n- a")
    );
    assert_eq!(store.carry_text(second, &kenji).unwrap(), None);

    // History: newest first, limited, empty updates left out.
    let history = store.member_updates(&orbit, &maria, 10).unwrap();
    let dates: Vec<_> = history.iter().map(|h| h.date.to_string()).collect();
    assert_eq!(dates, ["2024-03-18", "2024-03-11"]);
    assert_eq!(history[0].title, "T2");
    assert_eq!(store.member_updates(&orbit, &maria, 1).unwrap().len(), 1);
    assert!(store.member_updates(&orbit, &kenji, 3).unwrap().is_empty());
}

#[test]
fn a_send_whose_lookups_keep_failing_is_given_up_after_the_limit() {
    let mut store = store_with(Format::Planning);
    let orbit = TeamId::new("orbit");
    let channel = ChannelId::new("C0123456789");
    let key = "blocker:7";
    assert_eq!(
        store
            .begin_send(key, &orbit, &channel, None, now())
            .unwrap(),
        SendStart::Fresh
    );
    for n in 1..3 {
        assert!(
            !store
                .send_check_failed(key, "missing_scope", 3, now())
                .unwrap(),
            "lookup {n} of 3 does not give up"
        );
        assert!(matches!(
            store
                .begin_send(key, &orbit, &channel, None, now())
                .unwrap(),
            SendStart::Unsure { .. }
        ));
    }
    assert!(
        store
            .send_check_failed(key, "missing_scope", 3, now())
            .unwrap()
    );
    assert_eq!(
        store
            .begin_send(key, &orbit, &channel, None, now())
            .unwrap(),
        SendStart::Failed("missing_scope".into())
    );
    // Counted once given up: a later failure changes nothing.
    assert!(!store.send_check_failed(key, "other", 3, now()).unwrap());
    let failed = store.failed_sends(&orbit).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key, key);
    assert_eq!(failed[0].error, "missing_scope");
    assert!(
        store
            .failed_sends(&TeamId::new("other"))
            .unwrap()
            .is_empty()
    );

    // A send that completes is never given up.
    store
        .begin_send("ack:1", &orbit, &channel, None, now())
        .unwrap();
    store.finish_send("ack:1", &channel, "1.2", now()).unwrap();
    assert!(!store.send_check_failed("ack:1", "x", 1, now()).unwrap());
    assert_eq!(
        store
            .begin_send("ack:1", &orbit, &channel, None, now())
            .unwrap(),
        SendStart::Sent("1.2".into())
    );
}

/// Rows in `table` whose workspace is not `workspace`.
fn rows_outside(store: &Store, table: &str, workspace: &str) -> i64 {
    store
        .conn
        .query_row(
            &format!("SELECT count(*) FROM {table} WHERE workspace <> ?1"),
            params![workspace],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn notes_imported_before_the_bot_met_slack_join_its_workspace_and_another_workspace_is_refused() {
    // An import run offline, before the first start: nothing knows the workspace yet.
    let mut store = store_with(Format::Planning);
    let doc = read_document(&fixture("planning.md"), Format::Planning).unwrap();
    store
        .import_document(&TeamId::new("orbit"), "planning.md", &doc, now())
        .unwrap();
    assert_eq!(
        rows_outside(&store, "updates", ""),
        0,
        "written before any binding"
    );

    // The first start binds the database to the token's workspace and adopts those rows.
    store.bind_workspace("T0WORKSPACE").unwrap();
    for table in super::schema::WORKSPACE_TABLES {
        assert_eq!(rows_outside(&store, table, "T0WORKSPACE"), 0, "{table}");
    }
    let imported: i64 = store
        .conn
        .query_row("SELECT count(*) FROM updates", (), |r| r.get(0))
        .unwrap();
    assert!(imported > 0, "the fixture has updates");

    // What the bot writes from then on carries it too: a cycle, a reply and its blocker.
    let cycle = store
        .ensure_cycle(
            &TeamId::new("orbit"),
            Format::Planning,
            date("2024-03-18"),
            "T",
            now(),
        )
        .unwrap()
        .id;
    let opened = reply_in(
        &mut store,
        cycle,
        &UserId::new("U000000000"),
        "1710147600.000100",
        "Blocked:\n- waiting on the vendor",
    )
    .opened;
    assert_eq!(opened.len(), 1, "the reply opens a blocker");
    for table in super::schema::WORKSPACE_TABLES {
        assert_eq!(rows_outside(&store, table, "T0WORKSPACE"), 0, "{table}");
    }

    // The same workspace again is fine; another one is refused, naming both, and changes nothing.
    store.bind_workspace("T0WORKSPACE").unwrap();
    let before = dump(&store);
    let err = store.bind_workspace("T0ANOTHER").unwrap_err().to_string();
    assert!(
        err.contains("belongs to Slack workspace T0WORKSPACE")
            && err.contains("the bot token is for workspace T0ANOTHER"),
        "{err}"
    );
    assert_eq!(dump(&store), before);
    assert_eq!(store.workspace(), "T0WORKSPACE");
}

/// Two replicas' stores on one database (PostgreSQL), each claiming by its own name; `None`
/// on SQLite, where one process owns the file.
fn two_replicas() -> Option<(Store, Store)> {
    let url = test_postgres_url()?;
    let mut a = Store::open_postgres(&url).unwrap();
    let mut b = Store::open_postgres(&url).unwrap();
    a.claim_as("replica a").unwrap();
    b.claim_as("replica b").unwrap();
    Some((a, b))
}

fn notes_post(cycle: CycleId, digest: &str) -> Post {
    Post {
        cycle,
        kind: "document".into(),
        channel: ChannelId::new("C0123456789"),
        ts: Some("1710147600.000100".into()),
        file_id: Some("F1".into()),
        content_digest: digest.into(),
        posted_at: now(),
    }
}

#[test]
fn a_teams_notes_are_one_replicas_turn_at_a_time_and_a_lost_turn_records_no_post() {
    let turn = std::time::Duration::from_secs(120);
    let name = lease::notes("orbit");
    let Some((mut a, mut b)) = two_replicas() else {
        // One process on the file: it always has the turn, and its posts are recorded.
        let mut store = store_with(Format::Planning);
        let cycle = cycle_of(&mut store);
        let held = store.take_lease_here(&name, turn).unwrap().unwrap();
        store.release_lease(&held).unwrap();
        store
            .record_post_under(&notes_post(cycle, "one"), Some(&held))
            .unwrap();
        assert_eq!(
            store.last_post(cycle, "document").unwrap(),
            Some(notes_post(cycle, "one"))
        );
        return;
    };
    a.sync_team(&team(Format::Planning)).unwrap();
    let cycle = cycle_of(&mut a);
    let first = a.take_lease_here(&name, turn).unwrap().expect("a's turn");
    assert_eq!(b.take_lease_here(&name, turn).unwrap(), None, "b waits");
    assert_eq!(
        b.take_lease_here(&lease::notes("other"), turn)
            .unwrap()
            .map(|h| h.holder),
        Some("replica b".to_string()),
        "another team's turn is free"
    );
    a.record_post_under(&notes_post(cycle, "a"), Some(&first))
        .unwrap();
    a.release_lease(&first).unwrap();
    let second = b.take_lease_here(&name, turn).unwrap().expect("b's turn");
    assert_eq!(second.epoch, first.epoch + 1);
    let refused = a.record_post_under(&notes_post(cycle, "a, late"), Some(&first));
    assert!(matches!(refused, Err(Error::Fenced { .. })), "{refused:?}");
    b.record_post_under(&notes_post(cycle, "b"), Some(&second))
        .unwrap();
    assert_eq!(
        a.last_post(cycle, "document").unwrap(),
        Some(notes_post(cycle, "b"))
    );
    // b dies mid-turn: a takes the turn as soon as b's connection is gone, well before the
    // lease would run out.
    drop(b);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let third = loop {
        if let Some(held) = a.take_lease_here(&name, turn).unwrap() {
            break held;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dead replica's turn is taken"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(third.epoch, second.epoch + 1);
}

#[test]
fn a_request_signature_is_new_once_until_it_is_past_the_window() {
    let signature = "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    let Some((mut a, mut b)) = two_replicas() else {
        let mut store = test_store();
        assert!(store.first_request(signature, 1_531_420_618).unwrap());
        assert!(!store.first_request(signature, 1_531_420_618).unwrap());
        assert_eq!(store.prune_requests(1_531_420_618).unwrap(), 0);
        assert_eq!(store.prune_requests(1_531_420_619).unwrap(), 1);
        assert!(store.first_request(signature, 1_531_420_618).unwrap());
        return;
    };
    assert!(a.first_request(signature, 1_531_420_618).unwrap());
    assert!(
        !b.first_request(signature, 1_531_420_618).unwrap(),
        "another replica saw it first"
    );
    assert!(b.first_request("another", 1_531_420_700).unwrap());
    assert_eq!(b.prune_requests(1_531_420_619).unwrap(), 1);
    assert!(!a.first_request("another", 1_531_420_700).unwrap());
}

#[test]
fn a_command_run_without_slack_after_the_first_start_writes_the_bound_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let open = || match test_postgres_url() {
        Some(url) => (Store::open_postgres(&url).unwrap(), Some(url)),
        None => (Store::open(&dir.path().join("standup.db")).unwrap(), None),
    };
    let (mut first, url) = open();
    first.sync_team(&team(Format::Planning)).unwrap();
    first.bind_workspace("T0WORKSPACE").unwrap();
    drop(first);
    // An `import` later: the store is opened again, with no Slack to ask.
    let mut later = match &url {
        Some(url) => Store::open_postgres(url).unwrap(),
        None => Store::open(&dir.path().join("standup.db")).unwrap(),
    };
    assert_eq!(later.workspace(), "T0WORKSPACE");
    later.sync_team(&team(Format::Planning)).unwrap();
    let doc = read_document(&fixture("planning.md"), Format::Planning).unwrap();
    later
        .import_document(&TeamId::new("orbit"), "planning.md", &doc, now())
        .unwrap();
    for table in super::schema::WORKSPACE_TABLES {
        assert_eq!(rows_outside(&later, table, "T0WORKSPACE"), 0, "{table}");
    }
}
