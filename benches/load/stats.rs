//! Figures of a load run: latency percentiles, throughput, the printed table and the verdicts.
//!
//! Percentiles are nearest-rank over every sample (no histogram buckets), so p99 of 1,000
//! samples is the 990th smallest: with a few thousand samples per run that is exact and cheap.

use std::fmt::Write as _;
use std::time::Duration;

/// One line of a scenario's table: what was measured, over how long, with which latencies.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    pub count: usize,
    /// The period the count is spread over (throughput = count / duration).
    pub duration: Duration,
    /// Every sample; empty when the row has no latency (only a count and a rate).
    pub latencies: Vec<Duration>,
}

impl Row {
    pub fn new(what: &str, count: usize, duration: Duration, mut latencies: Vec<Duration>) -> Row {
        latencies.sort_unstable();
        Row {
            what: what.to_string(),
            count,
            duration,
            latencies,
        }
    }

    /// The nearest-rank percentile `p` (0 to 100) of the samples.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.latencies, p)
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// An invariant or a target, checked after the run.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// A timing target rather than a correctness invariant: CI asserts only the invariants,
    /// since a shared 2-core runner cannot promise milliseconds.
    pub timing: bool,
}

impl Verdict {
    pub fn invariant(name: &str, ok: bool, detail: String) -> Verdict {
        Verdict {
            name: name.to_string(),
            ok,
            detail,
            timing: false,
        }
    }

    pub fn target(name: &str, ok: bool, detail: String) -> Verdict {
        Verdict {
            timing: true,
            ..Verdict::invariant(name, ok, detail)
        }
    }
}

/// What a scenario prints: a title, notes (set-up, machine load), the table and the verdicts.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
    /// The bot's VmHWM in KiB (the highest of the processes started, for repeated runs).
    pub peak_rss_kib: Option<u64>,
    pub verdicts: Vec<Verdict>,
}

impl Report {
    pub fn new(title: String) -> Report {
        Report {
            title,
            ..Report::default()
        }
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The invariants (not the timing targets) that failed.
    pub fn broken_invariants(&self) -> Vec<&Verdict> {
        self.verdicts
            .iter()
            .filter(|v| !v.timing && !v.ok)
            .collect()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n== {} ==", self.title);
        for note in &self.notes {
            let _ = writeln!(out, "  {note}");
        }
        let rss = self.peak_rss_kib.map_or_else(
            || "-".to_string(),
            |k| format!("{:.1} MiB", k as f64 / 1024.0),
        );
        let header = [
            "measure",
            "count",
            "duration",
            "throughput",
            "p50",
            "p90",
            "p99",
            "max",
            "peak RSS",
        ];
        let mut lines = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        for row in &self.rows {
            let secs = row.duration.as_secs_f64();
            let rate = if secs > 0.0 {
                format!("{:.1}/s", row.count as f64 / secs)
            } else {
                "-".to_string()
            };
            let pct = |p| {
                row.percentile(p)
                    .map_or_else(|| "-".to_string(), fmt_duration)
            };
            lines.push(vec![
                row.what.clone(),
                row.count.to_string(),
                fmt_duration(row.duration),
                rate,
                pct(50.0),
                pct(90.0),
                pct(99.0),
                pct(100.0),
                rss.clone(),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (i, line) in lines.iter().enumerate() {
            let cells: Vec<String> = line
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    let pad = widths[c] - cell.chars().count();
                    if c == 0 {
                        format!("{cell}{}", " ".repeat(pad))
                    } else {
                        format!("{}{cell}", " ".repeat(pad))
                    }
                })
                .collect();
            let _ = writeln!(out, "  {}", cells.join("  "));
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                let _ = writeln!(out, "  {}", rule.join("  "));
            }
        }
        for v in &self.verdicts {
            let mark = match (v.ok, v.timing) {
                (true, _) => "PASS",
                (false, false) => "FAIL",
                (false, true) => "MISS",
            };
            let _ = writeln!(out, "  {mark} {}: {}", v.name, v.detail);
        }
        out
    }
}

/// `1.23 ms`, `456 µs`, `12.3 s`, `4 min 05 s`: enough digits to compare runs.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.001 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}
