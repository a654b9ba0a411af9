//! The clock rule, checked: the use cases and the running bot read calendar time only through
//! the app's `Clock` (`App::now`, `App::sleep_until`), so a test's clock is the bot's whole
//! notion of time. A direct read of the wall clock in `src/app` or `src/bot` (outside
//! `clock.rs` and test code) fails this test.

use std::path::{Path, PathBuf};

/// Ways to read the wall clock or wait on it by calendar time.
const WALL_CLOCK: &[&str] = &["Utc::now()", "Local::now()", "SystemTime::now()"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `file:line: text` for each wall-clock read in `source` before its first `#[cfg(test)]`.
fn wall_clock_reads(name: &str, source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| WALL_CLOCK.iter().any(|w| line.contains(w)))
        .map(|(n, line)| format!("{name}:{}: {}", n + 1, line.trim()))
        .collect()
}

#[test]
fn the_app_and_the_bot_read_time_only_through_the_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in ["app", "bot"] {
        rust_files(&src.join(layer), &mut files);
    }
    assert!(files.len() > 10, "found only {files:?}");
    let reads: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("app/clock.rs") && !f.ends_with("tests.rs"))
        .flat_map(|f| {
            let name = f.strip_prefix(&src).unwrap().display().to_string();
            wall_clock_reads(&name, &std::fs::read_to_string(f).unwrap())
        })
        .collect();
    assert!(
        reads.is_empty(),
        "read the time with App::now (the app's Clock), not the wall clock:\n{}",
        reads.join("\n")
    );
}

#[test]
fn the_checker_catches_a_planted_read() {
    let planted = "fn f(app: &App) {\n    let t = chrono::Utc::now();\n}\n#[cfg(test)]\nmod tests { fn g() { Utc::now(); } }\n";
    assert_eq!(
        wall_clock_reads("app/x.rs", planted),
        ["app/x.rs:2: let t = chrono::Utc::now();"]
    );
    assert!(wall_clock_reads("app/y.rs", "// Utc::now() in a comment\n").is_empty());
}
