//! The integration tests, one binary: each file is a module, and they share [`support`] (the
//! emulated workspace, the in-process bot on a test clock, the real binary for the few tests
//! that need a process, and one copy of each helper). One binary links the crate once instead
//! of once per file.

mod support;

mod archive;
mod cli;
mod clock_rule;
mod crash;
mod demo;
mod dm_shapes;
mod first_hour;
mod follow;
mod fuzz;
mod home;
mod layers;
mod limits;
mod load_smoke;
mod manifest_scopes;
mod metrics;
mod migrate;
mod names;
mod promises;
mod reliability;
mod reload;
mod replicas;
mod sends;
mod setup;
mod slack;
mod threads;
mod timeoff;

/// The suite stays one binary: cargo makes each file directly in `tests/` a binary of its own,
/// linking the whole crate again. A test file belongs in `tests/it/`, named in this file.
#[test]
fn every_integration_test_is_a_module_of_this_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let stray: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        stray.is_empty(),
        "move these into tests/it/ and add a `mod` line to tests/it/main.rs: {stray:?}"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    for entry in std::fs::read_dir(tests.join("it")).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path
            .file_stem()
            .filter(|_| path.extension().is_some_and(|e| e == "rs"))
            .and_then(|s| s.to_str())
        else {
            continue;
        };
        assert!(
            stem == "main" || main.contains(&format!("mod {stem};")),
            "tests/it/{stem}.rs is not a module of the test binary: add `mod {stem};` to tests/it/main.rs"
        );
    }
}
