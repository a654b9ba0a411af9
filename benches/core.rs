//! Benchmarks of the pure core: parsing replies, rendering a cycle, reading (and storing) notes.
//!
//! Run with `cargo bench --bench core`; figures are recorded in docs/BENCHMARKS.md.

use std::hint::black_box;

use chrono::{Duration, NaiveDate, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use standup_bot::store::{MemberRecord, Store, TeamRecord, default_blocks};
use standup_core::domain::{ChannelId, Entry, Format, Meeting, TeamId};
use standup_core::notes::read_document;
use standup_core::parse::{NoNames, parse_reply};
use standup_core::render::{Renderer, TemplateRef};

/// A realistic mix of replies: shortcode and bold headings, bullets, nesting, links, mentions.
const REPLIES: [&str; 4] = [
    ":ship: Shipped:\n• <https://example.org/exporter|Exporter> module for splitting big archives\n• (Almost) PR to move the nightly job to CI <https://example.org/pr/212|#212>\n    ◦ review from <@U024BE7LH>\n:no_entry: Blocked:\n• N/A\n:black_right_pointing_double_triangle_with_vertical_bar: Next:\n• get back up to speed\n• review the storage doc\n",
    "*Shipped*\n• Reorganized the indexer to run concurrently\n    ◦ ( the demo is recorded: <https://example.org/demo> )\n*Blocked*\n• Short week / moving &amp; packing\n*Next*\n• Ship the aggregator library :tada:\n",
    "Yesterday:\n* Pubsub monitoring\n* PR using the DiskUsage() method for repo stat\n    - benchmarks attached\nToday: finish the \"frontend\" work, then some light \"backend\" refactoring.\n",
    "Mostly reviews this week, plus the flaky test in <#C024BE7LH|ci>.\nNothing blocking.\n",
];

fn one_megabyte_of_replies() -> Vec<String> {
    let mut replies = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < 1 << 20 {
        let r = REPLIES[i % REPLIES.len()].to_string();
        size += r.len();
        replies.push(r);
        i += 1;
    }
    replies
}

fn parse(c: &mut Criterion) {
    let replies = one_megabyte_of_replies();
    let bytes: usize = replies.iter().map(String::len).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("1MB_of_replies", |b| {
        b.iter(|| {
            for r in &replies {
                black_box(parse_reply(black_box(r), Format::Planning, &NoNames));
            }
        })
    });
    group.finish();
}

fn thousand_member_meeting(format: Format) -> Meeting {
    let entries = (0..1000)
        .map(|i| Entry {
            handle: format!("member{i}"),
            update: (i % 5 != 0)
                .then(|| parse_reply(REPLIES[i % REPLIES.len()], format, &NoNames).update),
            note: None,
        })
        .collect();
    Meeting {
        format,
        date: NaiveDate::from_ymd_opt(2024, 3, 11).unwrap(),
        title: "Team Orbit Planning 2024-03-11".into(),
        blocks: default_blocks(format),
        entries,
        questions: vec![],
        extras: vec![],
    }
}

fn render(c: &mut Criterion) {
    let renderer = Renderer::new();
    let mut group = c.benchmark_group("render");
    for format in Format::ALL {
        let meeting = thousand_member_meeting(format);
        group.bench_with_input(
            BenchmarkId::new("1000_members", format.name()),
            &meeting,
            |b, m| b.iter(|| black_box(renderer.render(&TemplateRef::Builtin(format), m).unwrap())),
        );
    }
    group.finish();
}

/// A notes document of `n` weekly meetings, newest first, each with eight members.
fn notes_document(n: usize) -> String {
    let renderer = Renderer::new();
    let first = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap();
    let mut doc = String::new();
    for k in (0..n).rev() {
        let date = first + Duration::weeks(k as i64);
        let mut meeting = thousand_member_meeting(Format::Standup);
        meeting.entries.truncate(8);
        meeting.date = date;
        meeting.title = format!("Standup meeting - {date}");
        doc.push_str(
            &renderer
                .render(&TemplateRef::Builtin(Format::Standup), &meeting)
                .unwrap(),
        );
        doc.push('\n');
    }
    doc
}

fn import(c: &mut Criterion) {
    let doc = notes_document(1000);
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("read_1000_meetings", |b| {
        b.iter(|| black_box(read_document(black_box(&doc), Format::Standup).unwrap()))
    });
    group.bench_function("read_and_store_1000_meetings", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
                store
                    .sync_team(&TeamRecord {
                        id: TeamId::new("orbit"),
                        name: "Orbit".into(),
                        format: Format::Standup,
                        channel: ChannelId::new("C0123456789"),
                        members: vec![MemberRecord {
                            user: None,
                            handle: "member0".into(),
                        }],
                    })
                    .unwrap();
                (dir, store)
            },
            |(dir, mut store)| {
                let document = read_document(&doc, Format::Standup).unwrap();
                let report = store
                    .import_document(&TeamId::new("orbit"), "notes.md", &document, Utc::now())
                    .unwrap();
                assert_eq!(report.created.len(), 1000);
                (dir, store)
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A config of one `planning` team of `members`, with every document section of issue 6 on
/// (`extras`) or off.
fn team_config(members: usize, extras: bool) -> standup_bot::config::TeamConfig {
    let list: Vec<String> = (0..members)
        .map(|i| format!("{{ user = \"U{i:09}\", handle = \"member{i}\" }}"))
        .collect();
    let text = format!(
        r#"
[database]
path = "bench.db"
[[team]]
id = "orbit"
name = "Orbit"
channel = "C0123456789"
format = "planning"
timezone = "UTC"
prompt = "0 9 * * Mon"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
planned_vs_done = {extras}
resolved_blockers = {extras}
stats_in_document = {extras}
stats_cycles = 8
members = [{}]
"#,
        list.join(", ")
    );
    standup_bot::config::Config::from_str(&text, std::path::Path::new("bench.toml"))
        .unwrap()
        .teams
        .remove(0)
}

/// A year of weekly meetings of a 50-member team, every member answering every week (a
/// blocker every fourth reply, half of them resolved), then the newest meeting's document
/// assembled and rendered: as stored, and with the planned-vs-done, resolved-blockers and
/// participation sections.
fn document(c: &mut Criterion) {
    const MEMBERS: usize = 50;
    const WEEKS: i64 = 52;
    let mut store = Store::open_in_memory().unwrap();
    let plain = team_config(MEMBERS, false);
    let full = team_config(MEMBERS, true);
    store
        .sync_team(&TeamRecord {
            id: plain.id.clone(),
            name: plain.name.clone(),
            format: plain.format,
            channel: plain.channel.clone(),
            members: plain
                .members
                .iter()
                .map(|m| MemberRecord {
                    user: Some(m.user.clone()),
                    handle: m.handle.clone().unwrap(),
                })
                .collect(),
        })
        .unwrap();
    let first = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
    let start = first.and_hms_opt(9, 0, 0).unwrap().and_utc();
    let mut last = first;
    for week in 0..WEEKS {
        let date = first + Duration::weeks(week);
        last = date;
        let at = start + Duration::weeks(week);
        let cycle = store
            .ensure_cycle(&plain.id, plain.format, date, &plain.title_for(date), at)
            .unwrap();
        for (i, m) in plain.members.iter().enumerate() {
            let ts = format!("{}.{:06}", at.timestamp() + i as i64, i);
            let reply = standup_bot::store::NewReply {
                cycle: cycle.id,
                user: &m.user,
                source: "dm",
                slack_ts: &ts,
                version: &ts,
                text: REPLIES[(i + week as usize) % 2],
                at: at + Duration::minutes(i as i64),
            };
            let outcome = store
                .record_reply(&reply, |t| {
                    let p = parse_reply(t, Format::Planning, &NoNames);
                    (p.update, p.diagnostics)
                })
                .unwrap();
            for b in outcome.opened.iter().filter(|b| b.id % 2 == 0) {
                store
                    .resolve_blocker(b.id, m.user.as_str(), at + Duration::days(1))
                    .unwrap();
            }
        }
    }
    let renderer = Renderer::new();
    let template = TemplateRef::Builtin(Format::Planning);
    let mut group = c.benchmark_group("document");
    for (name, team) in [("stored_only", &plain), ("with_extras", &full)] {
        let meeting = standup_bot::app::document::meeting(&store, team, last).unwrap();
        assert_eq!(meeting.extras.is_empty(), name == "stored_only");
        group.bench_function(BenchmarkId::new("50_members_52_weeks", name), |b| {
            b.iter(|| {
                let meeting = standup_bot::app::document::meeting(&store, team, last).unwrap();
                black_box(renderer.render(&template, &meeting).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, render, import, document);
criterion_main!(benches);
