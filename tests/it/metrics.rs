//! `GET /metrics` end to end: the bot in Socket Mode with its health listener, against the
//! emulator, counting what a morning's prompts and one member's reply did, a 429 included.

use std::collections::BTreeMap;

use slack_emulator::{Fault, events};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// The body of `GET {path}` at `addr` (`host:port`), with its `Content-Type`; a plain HTTP/1.1
/// request, as a Prometheus scraper sends it.
async fn get(url: &str, path: &str) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (content_type, body.to_string())
}

/// The samples of an exposition text: `name{labels}` → value, labels as written.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value: {l}"));
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {l}"));
            (series.to_string(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_events_calls_429s_job_lag_and_replies() {
    let emu = emulator().await;
    let mut bot = Bot::builder(&emu).health().start().await;
    // 09:00: four prompts, each a chat.postMessage that Slack takes.
    bot.run_until(monday_8am() + chrono::Duration::hours(1))
        .await;
    wait_prompted(&emu, ZOE).await;

    // Maria's confirmation ("Got it. …") meets one 429 first (Retry-After: 1 s), then goes
    // through.
    emu.fail_next(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    emu.send_event(events::dm_message(MARIA, "Today:\n• ship the metrics"))
        .ack(WAIT)
        .await
        .expect("acked");
    bot.events_handled().await;
    let dm = emu.dm_channel(MARIA);
    emu.wait_for_message(
        &dm,
        |m| m.text.as_deref().is_some_and(|t| t.starts_with("Got it.")),
        WAIT,
    )
    .await;

    // The bot's own confirmation comes back as an event too: scraped once every event received
    // is acked (a scrape between the two would see one more received than acked).
    let deadline = std::time::Instant::now() + WAIT;
    let (content_type, text) = loop {
        let (content_type, text) = get(&bot.url(), "/metrics").await;
        let values = samples(&text);
        let of = |kind: &str| {
            values
                .get(&format!("standup_events_{kind}_total{{kind=\"event\"}}"))
                .copied()
        };
        if of("received") == of("acked") || std::time::Instant::now() > deadline {
            break (content_type, text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    for help in [
        "# HELP standup_events_received_total ",
        "# HELP standup_events_acked_total ",
        "# HELP standup_slack_calls_total ",
        "# HELP standup_slack_rate_limited_total ",
        "# HELP standup_job_lag_seconds ",
        "# HELP standup_replies_recorded_total ",
        "# HELP standup_notes_posted_total ",
    ] {
        assert!(text.contains(help), "no `{help}` in:\n{text}");
    }
    let values = samples(&text);
    let value = |series: &str| {
        *values
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    // Maria's DM, and the bot's own posts in DMs coming back as events (stored, then ignored).
    let received = value("standup_events_received_total{kind=\"event\"}");
    assert!(received >= 1.0, "{text}");
    assert_eq!(
        value("standup_events_acked_total{kind=\"event\"}"),
        received,
        "{text}"
    );
    // Four prompts and the confirmation.
    assert!(
        value("standup_slack_calls_total{method=\"chat.postMessage\",outcome=\"ok\"}") >= 5.0,
        "{text}"
    );
    assert_eq!(
        value("standup_slack_calls_total{method=\"chat.postMessage\",outcome=\"rate_limited\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        value("standup_slack_rate_limited_total{method=\"chat.postMessage\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(value("standup_replies_recorded_total"), 1.0, "{text}");
    assert_eq!(value("standup_notes_posted_total"), 0.0, "{text}");
    // The one bot leads (on SQLite always, at the first epoch).
    assert_eq!(value("standup_scheduler_leader"), 1.0, "{text}");
    assert_eq!(value("standup_scheduler_epoch"), 1.0, "{text}");
    // Each prompt ran at 09:00 on the test clock, the moment it was due.
    assert_eq!(
        value("standup_job_lag_seconds_count{kind=\"prompt\"}"),
        4.0,
        "{text}"
    );
    assert_eq!(
        value("standup_job_lag_seconds_sum{kind=\"prompt\"}"),
        0.0,
        "{text}"
    );
    // The health check still answers beside it.
    assert_eq!(get(&bot.url(), "/healthz").await.1, "ok");
    bot.stop().await;
}
