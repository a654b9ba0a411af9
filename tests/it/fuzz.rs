//! Fuzzing on a fixed budget, with proptest (there is no nightly toolchain for cargo-fuzz).
//!
//! Three surfaces take text nobody controls: the reply parser, the notes reader and importer,
//! and the HTTP endpoints. Each target feeds one of them arbitrary input and input biased to
//! what it expects (headings, bullets, Slack markup, signed Slack payloads), and checks an
//! invariant, not just "no panic".
//!
//! How many cases: `FUZZ_CASES` (default 2,000 for the parser and the reader; the importer and
//! the HTTP targets, which cost more per case, run a fixed fraction of it), so `cargo test` stays
//! quick. `FUZZ_DEADLINE` (Unix seconds) stops every target at that time, between batches.
//! `scripts/fuzz.sh [seconds]` runs this target in rounds with a large `FUZZ_CASES` and a fresh
//! `PROPTEST_RNG_SEED` each round for a fixed wall-clock budget. A failure is shrunk, reported
//! with its smallest input, and its seed saved in `tests/fuzz.proptest-regressions`, which every
//! later run replays first.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Request;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, TestCaseError, TestError, TestRunner,
};
use serde_json::{Value, json};
use slack_emulator::{Emulator, EmulatorConfig, User, events};
use tower::ServiceExt;

use standup_bot::app::App;
use standup_bot::app::messages::{ANSWER_FORM, OUT_OF_OFFICE, RESOLVE, SKIP, answer_form};
use standup_bot::bot::inbound::Handler;
use standup_bot::config::{Config, Secret};
use standup_bot::slack::client::{Api, Policy};
use standup_bot::slack::http::{COMMANDS_PATH, EVENTS_PATH, HttpConfig, INTERACTIONS_PATH, router};
use standup_bot::store::{MemberRecord, Store, TeamRecord};
use standup_core::domain::{Format, TeamId, Update, UserId};
use standup_core::notes::{self, Chunk};
use standup_core::parse::lines::{Bullets, classify};
use standup_core::parse::{Parsed, heading, mrkdwn, parse_reply};
use standup_core::render::{Renderer, TemplateRef};

use crate::support::{TestDb, new_database};

// ---------------------------------------------------------------------------------------------
// The budget.

/// Cases of the cheapest targets per run when `FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 2_000;
/// Cases per batch: how often a target checks `FUZZ_DEADLINE`.
const BATCH: u32 = 100;
const REGRESSIONS: &str = "tests/fuzz.proptest-regressions";

/// This target's cases: `FUZZ_CASES` divided by what one case costs relative to a parse.
fn cases(cost: u32) -> u32 {
    let total = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    (total / cost).max(1)
}

fn past_deadline() -> bool {
    let Some(deadline) = std::env::var("FUZZ_DEADLINE")
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
    else {
        return false;
    };
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|now| now.as_secs() >= deadline)
}

/// Runs `test` on `cases(cost)` inputs from `strategy`, in batches so a deadline can stop it,
/// from one seed (`PROPTEST_RNG_SEED`, random if unset) so a round can be replayed. Prints
/// `fuzz-cases <name> <n>` for scripts/fuzz.sh and returns how many cases passed.
fn fuzz<S>(
    name: &str,
    cost: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u32
where
    S: Strategy,
    S::Value: Debug,
{
    // Thousands of cases keep a core busy: never beside the tests that time a real binary
    // against Slack's windows (see `ONE_AT_A_TIME`).
    let _turn = crate::support::ONE_AT_A_TIME.blocking_read();
    let config = |n| ProptestConfig {
        cases: n,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        // Enough to shrink a 2 KB input (the default scales with the small batch size).
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    };
    let total = cases(cost);
    let mut seeds = TestRunner::new(config(BATCH));
    let mut done = 0;
    while done < total && !past_deadline() {
        let batch = BATCH.min(total - done);
        let mut runner = TestRunner::new_with_rng(config(batch), seeds.new_rng());
        match runner.run(&strategy, &test) {
            Ok(()) => done += batch,
            Err(TestError::Fail(reason, input)) => panic!(
                "fuzz target {name} failed after {done} passing cases: {reason}\n\
                 smallest failing input: {input:#?}\n\
                 its seed is saved in {REGRESSIONS} and replayed first on every run"
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz target {name} gave up: {reason}"),
        }
    }
    eprintln!("fuzz-cases {name} {done}");
    done
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Text shaped like what people type in Slack.

fn indent() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        2 => (0usize..40).prop_map(|n| " ".repeat(n)),
        1 => "[ \t\u{a0}]{1,12}",
    ]
}

fn bullet() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "",
        "• ",
        "◦ ",
        "▪ ",
        "- ",
        "* ",
        "1. ",
        "12) ",
        "999999999. ",
        "1234567890. ",
        "•",
        "-",
        "*",
        "▫ ",
        "‣ ",
        "· ",
        "+ ",
        "-\t",
    ])
}

fn heading_text() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "*Yesterday*",
        "Yesterday:",
        ":white_check_mark: Shipped",
        ":ship: Shipped:",
        "**Blockers**",
        "*Blocked:* none",
        "Blocked: waiting on infra",
        "_Next:_ finish the thing",
        "Today: review",
        "⛔\u{fe0f} Blocked:",
        "WIP",
        "In progress:",
        ":black_right_pointing_double_triangle_with_vertical_bar: Next:",
        "*Shipped / In progress*",
        "Last week:",
        "This week: plan it",
        "Notes/Questions:",
        "Questions",
        ":construction: In progress: the thing",
        "Blocked on the API",
    ])
}

fn markup() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "<@U123>",
        "<@U024BE7LH|maria>",
        "<@U024BE7LH>",
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<!subteam^S1|@team>",
        "<!date^1392734382^{date}|Feb 18>",
        "<http://x|label>",
        "<https://example.org/a?b=c&amp;d=e|a *link*>",
        "<mailto:a@b.c|mail>",
        "<#C123|general>",
        "<#C123>",
        "<http://x>",
        "<",
        ">",
        "<|>",
        "<@>",
        "<!>",
        "&lt;",
        "&gt;",
        "&amp;",
        "&amp;lt;",
        "&#39;",
        "&quot;",
        "&",
        ";",
        ":ship:",
        ":tada::tada:",
        ":unknown_code:",
        "::",
        ":",
        "10:30:00",
        "*",
        "**",
        "_",
        "~",
        "`code`",
        "```",
        "@maria",
        "#",
        "## heading",
        "---",
    ])
}

fn control() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "\u{0}",
        "\r",
        "\t",
        "\u{7}",
        "\u{1b}[31m",
        "\u{200b}",
        "\u{feff}",
        "\u{202e}",
        "\u{85}",
        "\u{2028}",
        "\u{fe0f}",
        "e\u{301}",
        "\u{a0}",
        "\u{3000}",
        "\u{10ffff}",
    ])
}

fn words() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 ,.!?'()-]{1,16}",
        2 => markup().prop_map(str::to_string),
        1 => control().prop_map(str::to_string),
        1 => heading_text().prop_map(str::to_string),
        1 => "\\PC{1,8}",
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

fn reply_line() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => (indent(), bullet(), heading_text(), words())
            .prop_map(|(i, b, h, rest)| format!("{i}{b}{h}{rest}")),
        6 => (indent(), bullet(), words()).prop_map(|(i, b, t)| format!("{i}{b}{t}")),
        1 => "[ \t]{0,4}",
    ]
}

/// Bytes that are not UTF-8: a lone continuation byte, a truncated sequence, a surrogate, ...
fn invalid_utf8() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"\xff"[..],
        b"\x80",
        b"\xc3",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xc0\xaf",
    ])
}

/// Lines joined by `\n` or `\r\n`, with a few invalid byte sequences dropped in anywhere, read
/// the way the bot reads bytes it did not write (lossily).
fn document(
    line: impl Strategy<Value = String>,
    max_lines: usize,
) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line, 0..max_lines),
        prop::sample::select(vec!["\n", "\n", "\r\n"]),
        prop::collection::vec((any::<prop::sample::Index>(), invalid_utf8()), 0..3),
    )
        .prop_map(|(lines, newline, junk)| {
            let mut bytes = lines.join(newline).into_bytes();
            for (at, bad) in junk {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, bad.iter().copied());
            }
            lossy(&bytes)
        })
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048).prop_map(|b| lossy(&b)),
        any::<String>(),
    ]
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Planning), Just(Format::Standup)]
}

// ---------------------------------------------------------------------------------------------
// Target 1: the reply parser.

/// Names for `<@U...>` mentions, as a team's config gives them.
fn names() -> HashMap<String, String> {
    HashMap::from([
        ("U024BE7LH".to_string(), "maria".to_string()),
        ("U123".to_string(), "kenji".to_string()),
    ])
}

/// The parser's promise: every non-blank line is a heading, a heading's inline text, or an
/// item, after its Slack markup is converted; diagnostics point at real lines; the update
/// survives the JSON the store keeps it in.
fn loses_nothing(input: &str, parsed: &Parsed) -> Result<(), TestCaseError> {
    let names = names();
    let mut texts: Vec<&str> = Vec::new();
    for section in &parsed.update.sections {
        texts.extend(section.text.as_deref());
        texts.extend(
            section
                .lines()
                .into_iter()
                .map(|(_, item)| item.text.as_str()),
        );
    }
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let converted = mrkdwn::to_markdown(line, &names);
        let body = classify(&converted, Bullets::Slack).text;
        if texts.contains(&body) {
            continue;
        }
        // Not kept as an item, so it must have been read as a heading, and its inline text
        // (if any) kept.
        let heading = heading::recognize(body);
        prop_assert!(heading.is_some(), "line {line:?} (as {body:?}) lost");
        if let Some(rest) = heading.and_then(|h| h.rest) {
            prop_assert!(
                texts.contains(&rest),
                "inline text {rest:?} of {line:?} lost"
            );
        }
    }
    let line_count = input.lines().count();
    for d in &parsed.diagnostics {
        prop_assert!(
            (1..=line_count).contains(&d.line),
            "diagnostic for line {} of {line_count}: {}",
            d.line,
            d.message
        );
    }
    let json =
        serde_json::to_string(&parsed.update).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: Update = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("stored update unreadable: {e}")))?;
    prop_assert_eq!(&back, &parsed.update);
    Ok(())
}

#[test]
fn parse_reply_arbitrary_bytes() {
    fuzz(
        "parse_reply_arbitrary_bytes",
        1,
        (arbitrary_text(), format()),
        |(input, format)| loses_nothing(&input, &parse_reply(&input, format, &names())),
    );
}

#[test]
fn parse_reply_slack_shaped() {
    fuzz(
        "parse_reply_slack_shaped",
        1,
        (document(reply_line(), 40), format()),
        |(input, format)| loses_nothing(&input, &parse_reply(&input, format, &names())),
    );
}

// ---------------------------------------------------------------------------------------------
// Target 2: the notes reader and the importer.

fn notes_line() -> impl Strategy<Value = String> {
    let structure = prop::sample::select(vec![
        "# Team Orbit Planning 2024-03-04",
        "## Standup meeting - 2024-03-11",
        "# Planning 2024-02-30",
        "## Meeting 9999-12-31",
        "## 2024-03-04 and 2024-03-11",
        "@maria",
        "@kenji",
        "@",
        "@@x",
        "##### @li",
        "##### @maria",
        "###### @",
        "## Agenda",
        "## Async Updates",
        "### Updates since last time",
        "### Questions, announcements and comments",
        "## Notes/Questions",
        "### Other business",
        "- 🚢 Shipped:",
        "- ⛔️ Blocked:",
        "* ⏭ Next:",
        "Last week:",
        "This week: finish it",
        "---",
        "***",
        "",
        "#",
        "#######",
    ]);
    prop_oneof![
        3 => structure.prop_map(str::to_string),
        3 => (indent(), bullet(), words()).prop_map(|(i, b, t)| format!("{i}{b}{t}")),
        1 => (indent(), bullet(), heading_text()).prop_map(|(i, b, h)| format!("{i}{b}{h}")),
    ]
}

/// Chunks point at lines of the document, in order; every meeting read renders with the
/// team's template, and what it renders reads back as that one meeting.
fn reads_consistently(text: &str, format: Format) -> Result<(), TestCaseError> {
    let document = notes::read_as(text, format);
    let last_line = text.lines().count().max(1);
    let mut previous = 0;
    let renderer = Renderer::new();
    for chunk in &document.chunks {
        let line = match chunk {
            Chunk::Meeting(m) => m.line,
            Chunk::Other { line, .. } => *line,
        };
        prop_assert!(
            line >= previous && (1..=last_line).contains(&line),
            "chunk at line {line} after {previous}, of {last_line} lines"
        );
        previous = line;
        let Chunk::Meeting(imported) = chunk else {
            continue;
        };
        let rendered = renderer
            .render(&TemplateRef::Builtin(format), &imported.meeting)
            .map_err(|e| TestCaseError::fail(format!("render: {e}")))?;
        let dates: Vec<_> = notes::read_as(&rendered, format)
            .chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Meeting(m) => Some(m.meeting.date),
                Chunk::Other { .. } => None,
            })
            .collect();
        prop_assert_eq!(
            dates,
            vec![imported.meeting.date],
            "rendered as:\n{}",
            rendered
        );
    }
    // Reading checks the format first, and fails only on that.
    if notes::detect_format(text) == Some(format) {
        prop_assert_eq!(notes::read_document(text, format), Ok(document));
    }
    Ok(())
}

#[test]
fn notes_reader_arbitrary_text() {
    fuzz(
        "notes_reader_arbitrary_text",
        1,
        (arbitrary_text(), format()),
        |(text, format)| reads_consistently(&text, format),
    );
}

#[test]
fn notes_reader_notes_shaped() {
    fuzz(
        "notes_reader_notes_shaped",
        1,
        (document(notes_line(), 60), format()),
        |(text, format)| reads_consistently(&text, format),
    );
}

fn team(id: &str, format: Format) -> TeamRecord {
    TeamRecord {
        id: TeamId::new(id),
        name: format!("Team {id}"),
        format,
        channel: standup_core::domain::ChannelId::new("C0123456789"),
        members: ["maria", "kenji"]
            .iter()
            .enumerate()
            .map(|(i, handle)| MemberRecord {
                user: Some(UserId(format!("U00000000{i}"))),
                handle: handle.to_string(),
            })
            .collect(),
    }
}

/// Any document, read as its team's format, imports into a real SQLite file; importing it
/// again changes nothing; every meeting it created reads back and renders.
fn imports_cleanly(text: &str, format: Format) -> Result<(), TestCaseError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| TestCaseError::fail(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| fail("temp dir", &e))?;
    let mut store = Store::open(&dir.path().join("standup.db")).map_err(|e| fail("open", &e))?;
    let id = match format {
        Format::Planning => "orbit",
        Format::Standup => "platform",
    };
    store
        .sync_team(&team(id, format))
        .map_err(|e| fail("sync", &e))?;
    let team = TeamId::new(id);
    let now = Utc.with_ymd_and_hms(2024, 3, 11, 9, 0, 0).unwrap();
    let document = notes::read_as(text, format);
    let first = store
        .import_document(&team, "notes.md", &document, now)
        .map_err(|e| fail("import", &e))?;
    let again = store
        .import_document(
            &team,
            "notes.md",
            &document,
            now + chrono::Duration::hours(1),
        )
        .map_err(|e| fail("second import", &e))?;
    prop_assert!(!again.changed(), "a second import changed {again:?}");
    let renderer = Renderer::new();
    for date in &first.created {
        let meeting = store
            .meeting(&team, format, *date)
            .map_err(|e| fail("meeting", &e))?;
        renderer
            .render(&TemplateRef::Builtin(format), &meeting)
            .map_err(|e| fail("render", &e))?;
    }
    Ok(())
}

#[test]
fn notes_import_into_sqlite() {
    fuzz(
        "notes_import_into_sqlite",
        20,
        (document(notes_line(), 60), format()),
        |(text, format)| imports_cleanly(&text, format),
    );
}

// ---------------------------------------------------------------------------------------------
// Target 3: the HTTP endpoints, with requests signed like Slack's.

const SECRET: &str = "fuzz-signing-secret-0123456789ab";
const MARIA: &str = "U0MARIA001";
const KENJI: &str = "U0KENJI001";
const CHANNEL: &str = "C0TEAM0001";

/// Panics in the app's spawned work, by runtime: the router answers before that work runs, so
/// its panics never reach the test thread.
static PANICS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn count_worker_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(name) = std::thread::current().name()
                && name.starts_with("fuzz-")
            {
                *PANICS
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(name.to_string())
                    .or_default() += 1;
            }
            previous(info);
        }));
    });
}

fn panics_in(worker: &str) -> usize {
    PANICS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(worker)
        .copied()
        .unwrap_or_default()
}

/// The bot as `standup-bot run --http` builds it (a team, a SQLite file, the Web API at an
/// emulator), without the scheduler: the handler behind the router is the real one.
struct Bot {
    runtime: tokio::runtime::Runtime,
    worker: &'static str,
    emu: Emulator,
    handler: Handler,
    /// The answer form, opened through the emulator so submissions of it look like Slack's.
    form: String,
    /// Requests answered 2xx, to check the generated requests get past verification at all.
    accepted: AtomicUsize,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

impl Bot {
    fn start(worker: &'static str) -> Bot {
        count_worker_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(worker)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = runtime.block_on(Emulator::start(
            EmulatorConfig::default()
                .with_user(User::new(MARIA, "maria"))
                .with_user(User::new(KENJI, "kenji"))
                .with_channel(
                    slack_emulator::Channel::new(CHANNEL, "team-orbit").members(&[MARIA, KENJI]),
                ),
        ));
        let dir = tempfile::tempdir().expect("temp dir");
        let db = new_database(
            dir.path(),
            &dir.path().join("standup.db").display().to_string(),
        );
        let toml = format!(
            r#"
[database]
{db_line}

[slack]
api_url = "{api}"

[[team]]
id = "orbit"
name = "Team Orbit"
channel = "{CHANNEL}"
format = "planning"
prompt = "0 9 * * Mon-Fri"
sync = "0 14 * * Mon"
post_before = "30m"
remind_after = "2h"
members = [
  {{ user = "{MARIA}", handle = "maria" }},
  {{ user = "{KENJI}", handle = "kenji" }},
]
"#,
            db_line = db.config_line(),
            api = emu.api_url(),
        );
        let config = Config::from_str(&toml, &dir.path().join("standup.toml")).expect("config");
        let store = standup_bot::app::setup::open_store(&config).expect("store");
        let store = standup_bot::store::Db::start(store).expect("the store starts");
        // One attempt per call, unpaced: a case must not wait out retries or Slack's
        // one-message-a-second pacing (the emulator does not limit).
        let policy = Policy {
            timeout: Duration::from_secs(5),
            attempts: 1,
            paced: false,
            ..Policy::default()
        };
        let bot_token = Secret::new(emu.config().bot_token.clone());
        let api = {
            // The HTTP client may start tasks: give it the runtime.
            let _inside = runtime.enter();
            Api::new(&config.slack.api_url, &bot_token, policy).expect("api")
        };
        let form = runtime.block_on(async {
            let meta = "orbit|2024-03-11";
            api.open_view(&emu.new_trigger_id(), answer_form(Format::Planning, meta))
                .await
                .expect("the answer form opens");
            emu.views()[0].id.clone()
        });
        let app = App::new(
            config,
            store,
            Renderer::new(),
            api,
            UserId::new(emu.config().bot_user_id.clone()),
            Arc::new(standup_bot::app::clock::SystemClock),
        );
        Bot {
            runtime,
            worker,
            emu,
            handler: Handler::new(app),
            form,
            accepted: AtomicUsize::new(0),
            _dir: dir,
            _db: db,
        }
    }

    /// Posts `body` to `path`, signed now; checks the answer and that the work it started
    /// finished without a panic.
    fn check(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
        let panics_before = panics_in(self.worker);
        let timestamp = Utc::now().timestamp().to_string();
        let request = Request::post(path)
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", &timestamp)
            .header(
                "x-slack-signature",
                slack_emulator::signature(SECRET, &timestamp, &body),
            )
            .body(Body::from(body))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // A new router per case: its replay guard would otherwise fill up over a long run.
        let app = router(
            Arc::new(self.handler.clone()),
            HttpConfig::new(Secret::new(SECRET)),
        );
        let (status, text) = self.runtime.block_on(async {
            let response = app
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the answer reads");
            self.handler.drain(Duration::from_secs(30)).await;
            (status, lossy(&bytes))
        });
        prop_assert!(
            status.is_success() || status.is_client_error(),
            "{status} for {path}: {text}"
        );
        if status.is_success() {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        }
        if status.is_client_error() {
            prop_assert!(text.len() <= 200, "a long {status} answer: {text}");
            let reason = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string));
            prop_assert!(reason.is_some(), "{status} without a JSON reason: {text}");
        }
        for leak in ["panicked", "backtrace", ".rs:", "RUST_BACKTRACE"] {
            prop_assert!(
                !text.contains(leak),
                "{status} answer leaks {leak:?}: {text}"
            );
        }
        prop_assert_eq!(
            panics_in(self.worker),
            panics_before,
            "the work this request started panicked (see the output above)"
        );
        Ok(())
    }

    /// After a run of `cases`: a fuzz target whose requests all bounce off the signature or
    /// the parser proves nothing, so a good share must have been accepted; and the hostile
    /// requests must not have broken the app: a well-formed request sent after them (`good`,
    /// to `path`) makes it call Slack's `method` with a text containing `expect`, as it would
    /// have before. The control is exact at any case count, unlike waiting for a random
    /// request to happen to make a Slack call.
    fn assert_still_works(
        &self,
        cases: u32,
        (path, content_type, good): (&str, &str, Vec<u8>),
        method: &str,
        expect: &str,
    ) {
        let accepted = self.accepted.load(Ordering::Relaxed);
        eprintln!("fuzz-accepted {} {accepted} of {cases}", self.worker);
        assert!(cases > 0, "the fuzz target ran no case");
        // A share needs enough cases to mean anything (`FUZZ_CASES` may be set tiny by hand).
        if cases >= 50 {
            assert!(
                accepted * 4 >= cases as usize,
                "only {accepted} of {cases} requests were accepted"
            );
        }
        let made = |emu: &Emulator| {
            emu.calls_to(method)
                .iter()
                .filter(|c| c.params.to_string().contains(expect))
                .count()
        };
        let before = made(&self.emu);
        let accepted_before = self.accepted.load(Ordering::Relaxed);
        if let Err(e) = self.check(path, content_type, good) {
            panic!("the well-formed request after the fuzzing failed: {e}");
        }
        assert_eq!(
            self.accepted.load(Ordering::Relaxed),
            accepted_before + 1,
            "the well-formed request after the fuzzing was refused"
        );
        // `check` waited for the work the request started (`Handler::drain`).
        assert_eq!(
            made(&self.emu),
            before + 1,
            "the well-formed request after the fuzzing made no {method} with {expect:?}"
        );
    }
}

/// A `block_actions` payload in Slack's shape for a click on any button, posted or not: the
/// fuzzer's forged input (the emulator's own clicks only name what the bot posted).
fn forged_click(emu: &Emulator, user: &str, action: &str, value: &str) -> Value {
    let c = emu.config();
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "name": user, "team_id": c.team_id},
        "api_app_id": c.app_id,
        "token": c.verification_token,
        "container": {"type": "message", "message_ts": "1700000000.000100",
                      "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": emu.new_trigger_id(),
        "team": {"id": c.team_id, "domain": c.team_domain},
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": {"id": CHANNEL, "name": "standup"},
        "state": {"values": {}},
        "message": {"type": "message", "ts": "1700000000.000100", "text": ""},
        "response_url": emu.new_response_url(),
        "actions": [{
            "type": "button",
            "action_id": action,
            "block_id": "forged",
            "text": {"type": "plain_text", "text": value, "emoji": true},
            "value": value,
            "action_ts": "1700000000.000200",
        }],
    })
}

/// A `view_submission` of the answer form `view_id` with any `state.values`: forged input, as
/// [`forged_click`].
fn forged_submission(
    emu: &Emulator,
    user: &str,
    view_id: &str,
    values: serde_json::Map<String, Value>,
) -> Value {
    let c = emu.config();
    let mut view = emu
        .views()
        .into_iter()
        .rev()
        .find(|v| v.id == view_id)
        .expect("the answer form was opened")
        .view;
    view["state"] = json!({ "values": values });
    json!({
        "type": "view_submission",
        "team": {"id": c.team_id, "domain": c.team_domain},
        "user": {"id": user, "username": user, "name": user, "team_id": c.team_id},
        "api_app_id": c.app_id,
        "token": c.verification_token,
        "trigger_id": emu.new_trigger_id(),
        "view": view,
        "response_urls": [],
        "enterprise": null,
        "is_enterprise_install": false,
    })
}

/// Arbitrary JSON, with Slack's keys and values common enough to get past the first checks.
fn json_value() -> impl Strategy<Value = Value> {
    let word = prop::sample::select(vec![
        "event_callback",
        "url_verification",
        "app_rate_limited",
        "message",
        "message_changed",
        "im",
        "channel",
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        MARIA,
        KENJI,
        "U0BOTUSER",
        "D0MARIA001",
        CHANNEL,
        "1700000000.000100",
        "orbit|2024-03-11",
        ANSWER_FORM,
        SKIP,
        OUT_OF_OFFICE,
        RESOLVE,
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        word.prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "type", "event", "event_id", "team_id", "api_app_id", "token", "challenge", "user",
            "id", "channel", "channel_type", "text", "ts", "thread_ts", "subtype", "message",
            "edited", "bot_id", "event_time", "authorizations", "actions", "action_id", "value",
            "view", "state", "values", "private_metadata", "trigger_id", "response_url",
            "callback_id", "blocks", "container", "minute_rate_limited", "answer",
        ])
        .prop_map(str::to_string),
        1 => ".{0,10}",
    ]
}

/// Changes to a realistic payload: a JSON pointer set to a new value, or removed (`None`).
/// Half the payloads stay as Slack sends them, so the app gets to see them.
fn mutations(
    paths: &'static [&'static str],
) -> impl Strategy<Value = Vec<(&'static str, Option<Value>)>> {
    let change = (
        prop::sample::select(paths),
        prop::option::weighted(0.8, json_value()),
    );
    prop_oneof![Just(Vec::new()), prop::collection::vec(change, 1..4),]
}

fn apply(mut value: Value, mutations: &[(&str, Option<Value>)]) -> Value {
    for (pointer, replacement) in mutations {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        let Some(Value::Object(object)) = value.pointer_mut(parent) else {
            continue;
        };
        match replacement {
            Some(v) => object.insert(key.to_string(), v.clone()),
            None => object.remove(key),
        };
    }
    value
}

fn content_type(right: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just(right.to_string()),
        1 => prop::sample::select(vec![
            "",
            "text/plain",
            "application/json",
            "application/x-www-form-urlencoded; charset=utf-8",
            "multipart/form-data; boundary=x",
            "application/json; charset=utf-8",
        ])
        .prop_map(str::to_string),
        1 => "[ -~]{0,30}",
    ]
}

fn someone() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![MARIA, KENJI, "U0BOTUSER", "U0STRANGER"]).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

const EVENT_PATHS: &[&str] = &[
    "/type",
    "/event_id",
    "/team_id",
    "/event",
    "/event/type",
    "/event/text",
    "/event/user",
    "/event/ts",
    "/event/event_ts",
    "/event/channel",
    "/event/channel_type",
    "/event/subtype",
    "/event/thread_ts",
    "/event/bot_id",
    "/event/message",
    "/event/message/text",
    "/event/message/ts",
    "/event/message/user",
    "/event/message/edited",
    "/event/previous_message",
    "/authorizations",
    "/challenge",
];

#[derive(Debug, Clone)]
enum EventBody {
    /// A member's (or anyone's) DM, or an edit of one, with Slack-shaped text, then mutated.
    Dm {
        user: String,
        text: String,
        edit: bool,
        mutations: Vec<(&'static str, Option<Value>)>,
    },
    Json(Value),
    Bytes(Vec<u8>),
}

#[test]
fn http_events_endpoint() {
    let bot = Bot::start("fuzz-events");
    let body = prop_oneof![
        6 => (someone(), document(reply_line(), 12), any::<bool>(), mutations(EVENT_PATHS))
            .prop_map(|(user, text, edit, mutations)| EventBody::Dm { user, text, edit, mutations }),
        2 => json_value().prop_map(EventBody::Json),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(EventBody::Bytes),
    ];
    let cases = fuzz(
        "http_events_endpoint",
        10,
        (body, content_type("application/json")),
        |(body, content_type)| {
            let bytes = match body {
                EventBody::Dm {
                    user,
                    text,
                    edit,
                    mutations,
                } => {
                    let dm = format!("D{}", user.get(1..).unwrap_or_default());
                    let event = if edit {
                        events::message_changed(&user, &dm, "1700000000.000100", &text, "before")
                    } else {
                        events::message(&user, &dm, &text)
                    };
                    apply(bot.emu.event_callback(event), &mutations)
                        .to_string()
                        .into_bytes()
                }
                EventBody::Json(value) => value.to_string().into_bytes(),
                EventBody::Bytes(bytes) => bytes,
            };
            bot.check(EVENTS_PATH, &content_type, bytes)
        },
    );
    // A member's DM naming a blocker is flagged in the team channel.
    let good = bot
        .emu
        .event_callback(events::dm_message(MARIA, "Blocked: the fuzz control ctl1"))
        .to_string()
        .into_bytes();
    bot.assert_still_works(
        cases,
        (EVENTS_PATH, "application/json", good),
        "chat.postMessage",
        "is blocked: the fuzz control ctl1",
    );
}

const COMMAND_FIELDS: &[&str] = &[
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "api_app_id",
];

fn command_text() -> impl Strategy<Value = String> {
    let verb = prop::sample::select(vec![
        "", "help", "status", "skip", "away", "ooo", "blocked", "unblock", "resolve", "post",
        "preview", "list", "BLOCKED", "now",
    ]);
    prop_oneof![
        2 => verb.clone().prop_map(str::to_string),
        2 => (verb, words()).prop_map(|(verb, rest)| format!("{verb} {rest}")),
        1 => prop::sample::select(vec!["resolve -1", "resolve 99999999999999999999", "blocked  "])
            .prop_map(str::to_string),
        1 => words(),
    ]
}

#[test]
fn http_commands_endpoint() {
    let bot = Bot::start("fuzz-commands");
    // Slack's fields for `/standup <text>`, then some dropped, some replaced, some added.
    let form = (
        someone(),
        command_text(),
        prop::collection::vec(
            (
                prop_oneof![
                    3 => prop::sample::select(COMMAND_FIELDS).prop_map(str::to_string),
                    1 => ".{0,8}",
                ],
                prop::option::weighted(0.8, ".{0,40}"),
            ),
            0..4,
        ),
    );
    let body = prop_oneof![
        8 => form.prop_map(Ok),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Err),
    ];
    let cases = fuzz(
        "http_commands_endpoint",
        10,
        (body, content_type("application/x-www-form-urlencoded")),
        |(body, content_type)| {
            let bytes = match body {
                Ok((user, text, changes)) => {
                    let mut fields: Vec<(String, String)> = bot
                        .emu
                        .slash_command_fields("/standup", &text, &user, CHANNEL);
                    for (key, value) in changes {
                        fields.retain(|(k, _)| *k != key);
                        if let Some(value) = value {
                            fields.push((key, value));
                        }
                    }
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(fields)
                        .finish()
                        .into_bytes()
                }
                Err(bytes) => bytes,
            };
            bot.check(COMMANDS_PATH, &content_type, bytes)
        },
    );
    // `/standup blocked <text>` flags it in the team channel.
    let good = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(bot.emu.slash_command_fields(
            "/standup",
            "blocked the fuzz control ctl2",
            MARIA,
            CHANNEL,
        ))
        .finish()
        .into_bytes();
    bot.assert_still_works(
        cases,
        (COMMANDS_PATH, "application/x-www-form-urlencoded", good),
        "chat.postMessage",
        "is blocked: the fuzz control ctl2",
    );
}

const INTERACTION_PATHS: &[&str] = &[
    "/type",
    "/user",
    "/user/id",
    "/actions",
    "/actions/0",
    "/actions/0/action_id",
    "/actions/0/value",
    "/channel",
    "/channel/id",
    "/message",
    "/trigger_id",
    "/response_url",
    "/view",
    "/view/private_metadata",
    "/view/state",
    "/view/state/values",
    "/container",
];

#[derive(Debug, Clone)]
enum InteractionBody {
    /// A button click on one of the bot's buttons, or a form submission, then mutated.
    Payload {
        user: String,
        action: &'static str,
        value: String,
        answers: Vec<(String, String)>,
        submission: bool,
        mutations: Vec<(&'static str, Option<Value>)>,
    },
    /// `payload=` with any JSON.
    Json(Value),
    /// Any form, or no form at all.
    Bytes(Vec<u8>),
}

#[test]
fn http_interactions_endpoint() {
    let bot = Bot::start("fuzz-interactions");
    let value = prop_oneof![
        3 => prop::sample::select(vec!["orbit|2024-03-11", "orbit", "1", "-1", "", "nope|x"])
            .prop_map(str::to_string),
        1 => ".{0,20}",
    ];
    let answers = prop::collection::vec(
        (
            prop::sample::select(vec!["shipped", "blocked", "next", "questions", "x"])
                .prop_map(str::to_string),
            document(reply_line(), 6),
        ),
        0..4,
    );
    let payload = (
        someone(),
        prop::sample::select(vec![ANSWER_FORM, SKIP, OUT_OF_OFFICE, RESOLVE, "other"]),
        value,
        answers,
        any::<bool>(),
        mutations(INTERACTION_PATHS),
    )
        .prop_map(|(user, action, value, answers, submission, mutations)| {
            InteractionBody::Payload {
                user,
                action,
                value,
                answers,
                submission,
                mutations,
            }
        });
    let body = prop_oneof![
        6 => payload,
        2 => json_value().prop_map(InteractionBody::Json),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(InteractionBody::Bytes),
    ];
    let cases = fuzz(
        "http_interactions_endpoint",
        10,
        (body, content_type("application/x-www-form-urlencoded")),
        |(body, content_type)| {
            let payload = match body {
                InteractionBody::Payload {
                    user,
                    action,
                    value,
                    answers,
                    submission,
                    mutations,
                } => {
                    let base = if submission {
                        let values: serde_json::Map<String, Value> = answers
                            .into_iter()
                            .map(|(block, text)| {
                                let answer = json!({"type": "plain_text_input", "value": text});
                                (block, json!({ "answer": answer }))
                            })
                            .collect();
                        let mut payload = forged_submission(&bot.emu, &user, &bot.form, values);
                        payload["view"]["private_metadata"] = json!(value);
                        payload
                    } else {
                        forged_click(&bot.emu, &user, action, &value)
                    };
                    apply(base, &mutations).to_string()
                }
                InteractionBody::Json(value) => value.to_string(),
                InteractionBody::Bytes(bytes) => {
                    return bot.check(INTERACTIONS_PATH, &content_type, bytes);
                }
            };
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &payload)
                .finish();
            bot.check(INTERACTIONS_PATH, &content_type, form.into_bytes())
        },
    );
    // A member's answer form, submitted, is confirmed in their DM.
    let values: serde_json::Map<String, Value> = [(
        "shipped".to_string(),
        json!({"answer": {"type": "plain_text_input", "value": "the fuzz control ctl3"}}),
    )]
    .into_iter()
    .collect();
    let mut submission = forged_submission(&bot.emu, MARIA, &bot.form, values);
    submission["view"]["private_metadata"] = json!("orbit|2024-03-11");
    let good = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &submission.to_string())
        .finish()
        .into_bytes();
    bot.assert_still_works(
        cases,
        (INTERACTIONS_PATH, "application/x-www-form-urlencoded", good),
        "chat.postMessage",
        "Got it.",
    );
}
