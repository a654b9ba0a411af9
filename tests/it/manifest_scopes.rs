//! The app manifest asks Slack for exactly the bot scopes the code uses (issue 11, item 6).
//!
//! Every Web API method the bot's code can call is found by scanning `src/` for
//! slack-morphism client calls (`.chat_post_message(`, `.files_get_upload_url_external(` ...,
//! matched against Slack's method names in the emulator's vendored spec); each is checked
//! against `config/slack-app-manifest.yml`'s bot scopes with the scopes Slack's spec lists for
//! it, and so are the manifest's event subscriptions and slash commands. A scope the code
//! needs and the manifest lacks is `missing_scope` on real Slack; a scope nothing uses is asked
//! of every workspace admin for nothing. Both fail here.

use slack_emulator::spec::{self, ConversationType, Manifest, ScopeNeed};
use std::collections::BTreeMap;
use std::path::Path;

/// slack-morphism session functions whose names are not Slack's method name in snake case,
/// and the Slack method each calls (`None`: not a Web API method).
const MORPHISM_NAMES: &[(&str, Option<&str>)] = &[
    (
        "get_upload_url_external",
        Some("files.getUploadURLExternal"),
    ),
    // Posts the bytes to the upload URL Slack handed out: no method, no scope.
    ("files_upload_via_url", None),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The Web API methods called in `src/`, with where: every slack-morphism session call
/// (`.open_session(&t).chat_post_message(`), its function name matched to Slack's method
/// names (`chat_post_message` = `chat.postMessage` without dots, case and underscores).
fn called_methods() -> BTreeMap<String, String> {
    let by_normal: BTreeMap<String, String> = spec::method_names()
        .into_iter()
        .map(|m| (m.replace('.', "").to_ascii_lowercase(), m))
        .collect();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (i, call) in text.match_indices("open_session(") {
            let rest = &text[i + call.len()..];
            let Some(after) = rest.find(')').map(|close| rest[close + 1..].trim_start()) else {
                continue;
            };
            let Some(after) = after.strip_prefix('.') else {
                continue;
            };
            let ident: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let at = format!("{}:{}", file.display(), text[..i].lines().count());
            // A call slack-morphism has no function for (an argument it lacks) goes through
            // the session's own GET with Slack's method name:
            // `.open_session(&t).http_session_api.http_get("conversations.replies", …)`.
            if ident == "http_session_api" {
                let method = after
                    .split_once("http_get(")
                    .and_then(|(_, args)| args.trim_start().strip_prefix('"'))
                    .and_then(|args| args.split_once('"'))
                    .map(|(method, _)| method.to_string())
                    .unwrap_or_else(|| panic!("{at}: a raw session call without a method name"));
                assert!(
                    spec::method(&method).is_some(),
                    "{at}: {method} is no Slack method"
                );
                found.entry(method).or_insert(at);
                continue;
            }
            let method = match MORPHISM_NAMES.iter().find(|(name, _)| *name == ident) {
                Some((_, method)) => method.map(str::to_string),
                None => Some(
                    by_normal
                        .get(&ident.replace('_', ""))
                        .unwrap_or_else(|| {
                            panic!(
                                "{at}: slack-morphism call {ident} matches no Slack method; \
                                 name it in MORPHISM_NAMES"
                            )
                        })
                        .clone(),
                ),
            };
            if let Some(method) = method {
                found.entry(method).or_insert(at);
            }
        }
    }
    found
}

/// The conversations the bot addresses: its teams' channels, public or private, and each
/// member's DM; `conversations.open` only ever opens a DM with one member, and
/// `conversations.info` is only asked about a team's channel (`check-config --online`).
fn addressed(method: &str) -> &'static [ConversationType] {
    match method {
        "conversations.open" => &[ConversationType::Im],
        // Team channels, public or private; `conversations.list` asks for both types and
        // `conversations.members` reads a team's channel (`members = "#channel"`).
        "conversations.info" | "conversations.list" | "conversations.members" => {
            &[ConversationType::Public, ConversationType::Private]
        }
        _ => &[
            ConversationType::Public,
            ConversationType::Private,
            ConversationType::Im,
        ],
    }
}

/// Scope → what needs it.
fn needed_scopes(manifest: &Manifest) -> BTreeMap<String, Vec<String>> {
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, at) in called_methods() {
        let m = spec::method(&method).expect("a spec method");
        if m.app_token {
            continue;
        }
        let scopes: Vec<String> = match m.scope_need() {
            ScopeNeed::None => Vec::new(),
            ScopeNeed::AnyOf(any) => any.into_iter().take(1).collect(),
            ScopeNeed::ByConversation(by) => addressed(&method)
                .iter()
                .filter_map(|t| by.get(t).cloned())
                .collect(),
        };
        for s in scopes {
            needed
                .entry(s)
                .or_default()
                .push(format!("{method} ({at})"));
        }
    }
    for event in &manifest.bot_events {
        let scopes = spec::event_scopes(event).unwrap_or_else(|| {
            panic!("the manifest subscribes to {event}, unknown to Slack's spec")
        });
        for s in scopes {
            needed.entry(s).or_default().push(format!("event {event}"));
        }
    }
    for command in &manifest.slash_commands {
        needed
            .entry("commands".into())
            .or_default()
            .push(format!("slash command {command}"));
    }
    needed
}

fn manifest() -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/slack-app-manifest.yml");
    Manifest::parse(&std::fs::read_to_string(path).expect("read the manifest")).expect("YAML")
}

#[test]
fn the_scan_finds_the_bots_web_api_calls() {
    let called = called_methods();
    for method in [
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "users.info",
        "views.publish",
    ] {
        assert!(
            called.contains_key(method),
            "{method} not found in {called:#?}"
        );
    }
}

#[test]
fn the_manifest_grants_every_scope_the_code_needs() {
    let manifest = manifest();
    let missing: Vec<String> = needed_scopes(&manifest)
        .into_iter()
        .filter(|(scope, _)| !manifest.bot_scopes.contains(scope))
        .map(|(scope, users)| format!("{scope} (needed by {})", users.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "config/slack-app-manifest.yml lacks bot scopes the code needs (Slack answers \
         missing_scope):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_manifest_asks_for_no_scope_the_code_does_not_use() {
    let manifest = manifest();
    let needed = needed_scopes(&manifest);
    let unused: Vec<&String> = manifest
        .bot_scopes
        .iter()
        .filter(|s| !needed.contains_key(*s))
        .collect();
    assert!(
        unused.is_empty(),
        "config/slack-app-manifest.yml asks for bot scopes nothing uses: {unused:?}"
    );
}

#[test]
fn the_emulator_grants_what_the_manifest_file_says() {
    assert_eq!(Manifest::standup_bot(), manifest());
}

/// The README's scope table (under "Set up in Slack") names exactly the manifest's bot scopes,
/// so what an admin reads before installing is what Slack will ask them to allow.
#[test]
fn the_readme_lists_the_manifests_scopes() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let listed: std::collections::BTreeSet<String> = readme
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(scope, _)| scope.to_string()))
        .filter(|scope| scope.contains(':') || scope == "commands")
        .collect();
    let granted: std::collections::BTreeSet<String> = manifest().bot_scopes.into_iter().collect();
    assert_eq!(
        listed, granted,
        "README.md's scope table and config/slack-app-manifest.yml's bot scopes differ"
    );
}
