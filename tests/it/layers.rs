//! The dependency rule, checked: each module of the crate uses only the layers below it, the core
//! crate depends on no I/O crate, and nothing uses the CLI but `main.rs`.
//!
//! The compiler already keeps `standup-core` from reaching the rest (it is its own crate); inside
//! `standup-bot` the layers are folders, so this test reads every `crate::`, `super::` and
//! `standup_bot::` path in `src/` and fails on one that points up or sideways between peers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layers from the bottom up. A module may use its own layer's module and anything lower; peers
/// in one layer (the edges) must not use each other. The crate error sits above the edges
/// because it wraps their errors; the edges keep their own. `files` and `metrics` are the base:
/// each is used from above and uses nothing of the crate.
const LAYERS: &[&[&str]] = &[
    &["files", "metrics"],
    &["config"],
    &["store", "slack", "archive"],
    &["error"],
    &["app"],
    &["bot"],
    &["cli"],
];

/// Crates that do I/O or know Slack or SQL, which the pure core must not depend on.
const NOT_IN_CORE: &[&str] = &[
    "tokio",
    "rusqlite",
    "rusqlite_migration",
    "slack-morphism",
    "hyper",
    "hyper-util",
    "axum",
    "tokio-tungstenite",
    "tempfile",
    "tracing",
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

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

/// The module path of a file under `src/`: `src/app/mod.rs` → `[app]`, `src/app/home.rs` →
/// `[app, home]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The top-level modules a line of code reaches, resolving `super::` and expanding
/// `crate::{a, b::c}`.
fn reached(line: &str, here: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && let Some(after) = rest.strip_prefix("crate::") {
            found.extend(heads(after));
            i += "crate::".len();
            continue;
        }
        if starts_word && let Some(after) = rest.strip_prefix("standup_bot::") {
            found.extend(heads(after));
            i += "standup_bot::".len();
            continue;
        }
        if starts_word && rest.starts_with("super::") {
            let mut up = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                up += 1;
                tail = t;
            }
            let base = &here[..here.len().saturating_sub(up)];
            match base.first() {
                Some(top) => found.push(top.clone()),
                None => found.extend(heads(tail)),
            }
            i += rest.len() - tail.len();
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// The first segment of a path, or each first segment inside a `{…}` group.
fn heads(path: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    if let Some(group) = path.strip_prefix('{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut start = true;
        for (k, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                c if start && !c.is_whitespace() => {
                    names.push(ident(&group[k..]));
                    start = false;
                }
                _ => {}
            }
        }
        names.into_iter().filter(|n| !n.is_empty()).collect()
    } else {
        let name = ident(path);
        if name.is_empty() { vec![] } else { vec![name] }
    }
}

/// Every import in `src/` that breaks the rule, as `file:line: message`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let here = module_path(src, file);
        let text = std::fs::read_to_string(file).expect("read source");
        let name = file.display();
        let Some(top) = here.first().cloned() else {
            // lib.rs declares the modules; main.rs may use the CLI and nothing below it.
            if file.ends_with("main.rs") {
                for (n, line) in code_lines(&text) {
                    for m in reached_from_main(line) {
                        if m != "cli" {
                            out.push(format!(
                                "{name}:{n}: main.rs uses `{m}`; it should only call the CLI"
                            ));
                        }
                    }
                }
            }
            continue;
        };
        let Some(own) = layer_of(&top) else {
            out.push(format!(
                "{name}: module `{top}` is in no layer; add it to LAYERS in tests/it/layers.rs"
            ));
            continue;
        };
        for (n, line) in code_lines(&text) {
            for m in reached(line, &here) {
                if m == top || m == "Error" || m == "Result" {
                    continue;
                }
                match layer_of(&m) {
                    Some(l) if l < own => {}
                    Some(l) if l == own => out.push(format!(
                        "{name}:{n}: `{top}` uses its peer `{m}`; peers in one layer stay apart"
                    )),
                    Some(_) => out.push(format!(
                        "{name}:{n}: `{top}` uses `{m}`, a layer above it; arrows point down only"
                    )),
                    None => {}
                }
            }
        }
    }
    out
}

fn reached_from_main(line: &str) -> Vec<String> {
    reached(line, &[])
}

/// Lines that are code: comments and doc comments are skipped, so a link in prose is no import.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_import_points_down() {
    let found = violations(&root().join("src"));
    assert!(
        found.is_empty(),
        "imports that break the layers (ARCHITECTURE.md, Invariants):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_is_in_a_layer() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let layered: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter().map(|m| m.to_string()))
        .collect();
    assert_eq!(declared, layered, "lib.rs modules and LAYERS differ");
}

#[test]
fn the_core_depends_on_no_io_crate() {
    let manifest = std::fs::read_to_string(root().join("core/Cargo.toml")).expect("core manifest");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .expect("a [dependencies] table")
        .split("\n[")
        .next()
        .unwrap_or_default();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['=', ' ']).next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    let bad: Vec<&&str> = names.iter().filter(|n| NOT_IN_CORE.contains(n)).collect();
    assert!(
        bad.is_empty(),
        "standup-core must stay pure, but depends on {bad:?}"
    );
}

/// The checker itself can fail: an upward import, a peer import, a `super::` that climbs out of
/// its layer and a grouped import are each caught.
#[test]
fn the_checker_catches_planted_imports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("store/mod.rs", "use crate::app::App;\n");
    write("slack/client.rs", "use super::super::store::Store;\n");
    write(
        "config.rs",
        "use crate::{files::write_atomically, bot::run};\n// use crate::cli::run;\n",
    );
    write(
        "app/mod.rs",
        "use crate::store::Store;\nuse super::config::Config;\n",
    );
    let found = violations(src);
    let has = |needle: &str| found.iter().any(|f| f.contains(needle));
    assert!(has("store/mod.rs:1: `store` uses `app`"), "{found:#?}");
    assert!(
        has("slack/client.rs:1: `slack` uses its peer `store`"),
        "{found:#?}"
    );
    assert!(has("config.rs:1: `config` uses `bot`"), "{found:#?}");
    assert_eq!(
        found.len(),
        3,
        "comments and downward imports are fine: {found:#?}"
    );
}
