//! Identifiers and timestamps shaped like Slack's: message `ts`, envelope ids, event ids, ...
//!
//! Counters are process-wide, so ids never repeat between emulators in one test binary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST_TS_MICROS: AtomicU64 = AtomicU64::new(0);
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A message timestamp `"1700000000.000100"`: the wall clock in microseconds, strictly
/// increasing across the process so every ts is unique and sorts by time.
pub fn next_ts() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default();
    let mut last = LAST_TS_MICROS.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST_TS_MICROS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => return format!("{}.{:06}", next / 1_000_000, next % 1_000_000),
            Err(seen) => last = seen,
        }
    }
}

fn next_n() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// An id with Slack's prefix letter and a unique numeric body, e.g. `F0000000012`.
pub fn prefixed(prefix: &str) -> String {
    format!("{prefix}{:010}", next_n())
}

/// A UUID-shaped envelope id, e.g. `dbdd0ef3-1543-4f94-bfb4-133d0e6c1545`.
pub fn envelope_id() -> String {
    let n = next_n();
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        (n >> 12) & 0xfff,
        n & 0xfff,
        n
    )
}

/// An Events API event id, e.g. `Ev0000000042`.
pub fn event_id() -> String {
    prefixed("Ev")
}

/// A trigger id like Slack's `"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"`.
pub fn trigger_id() -> String {
    let n = next_n();
    format!(
        "{}.{}.{:032x}",
        unix_now(),
        47445629121u64,
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

/// A block id like the ones Slack generates for a block posted without one (`"dWq5A"`:
/// short, letters and digits).
pub fn block_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = next_n().wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

/// `blocks` with a generated `block_id` on every block that has none, as Slack stores them
/// ("If not specified, a block_id will be generated", Block Kit reference, every block type):
/// the message or view the API returns, history shows and interactions carry has them.
pub fn with_block_ids(mut blocks: serde_json::Value) -> serde_json::Value {
    if let Some(list) = blocks.as_array_mut() {
        for block in list.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            block
                .entry("block_id")
                .or_insert_with(|| serde_json::Value::String(block_id()));
        }
    }
    blocks
}

/// An opaque token for URLs (websocket tickets, response_url paths).
pub fn token() -> String {
    format!(
        "{:016x}",
        next_n().wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_is_unique_and_increasing() {
        let a = next_ts();
        let b = next_ts();
        assert!(b > a, "{a} then {b}");
        assert_eq!(a.len(), "1700000000.000100".len());
    }
}
