//! Benchmarks of the pure core: parsing replies, rendering a cycle, reading (and storing) notes.
//!
//! Run with `cargo bench --bench core`; figures are recorded in docs/BENCHMARKS.md.

use std::hint::black_box;

use chrono::{Duration, NaiveDate, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use standup_bot::domain::{ChannelId, Entry, Format, Meeting, TeamId};
use standup_bot::notes::read_document;
use standup_bot::parse::{NoNames, parse_reply};
use standup_bot::render::{Renderer, TemplateRef};
use standup_bot::store::{MemberRecord, Store, TeamRecord, default_blocks};

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

criterion_group!(benches, parse, render, import);
criterion_main!(benches);
