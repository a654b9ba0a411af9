//! Slack's published method and event data (`emulator/spec/`, vendored from
//! slackapi/slack-api-specs plus a supplement from Slack's method pages) and the app manifest's
//! scopes: what a method needs, what an event needs, what the app asks for.
//!
//! Public so that the bot's own tests can check the manifest against the methods the code
//! calls with the same data the emulator enforces.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

const METHODS_JSON: &str = include_str!("../../spec/methods.json");
const SUPPLEMENT_JSON: &str = include_str!("../../spec/supplement.json");
/// The app manifest the emulator grants scopes from unless a test says otherwise.
const MANIFEST_YAML: &str = include_str!("../../../config/slack-app-manifest.yml");

/// What Slack documents about one Web API method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodSpec {
    /// Arguments Slack requires (besides `token`).
    pub required: BTreeSet<String>,
    /// Arguments Slack accepts besides those.
    pub optional: BTreeSet<String>,
    /// The scopes the spec lists, perspectival ones replaced by their granular successor:
    /// either one per conversation type (see [`ScopeNeed`]) or alternatives.
    pub scopes: Vec<String>,
    /// Called with the app-level token (`xapp-...`, Socket Mode), whose scopes are the app's,
    /// not the bot's.
    pub app_token: bool,
}

/// The conversation a call addresses, which decides scopes like `channels:history` vs
/// `im:history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversationType {
    /// A public channel (`C...`): `channels:*`.
    Public,
    /// A private channel (`G...`): `groups:*`.
    Private,
    /// A DM (`D...`, or a user id where Slack opens the DM): `im:*`.
    Im,
    /// A group DM: `mpim:*`.
    Mpim,
}

impl ConversationType {
    /// The type of a conversation id as the emulator hands them out: `C` public, `G` private,
    /// `D` DM (and a `U`/`W` user id, which Slack's chat methods turn into the DM).
    pub fn of_id(id: &str) -> Option<ConversationType> {
        match id.chars().next()? {
            'C' => Some(ConversationType::Public),
            'G' => Some(ConversationType::Private),
            'D' | 'U' | 'W' => Some(ConversationType::Im),
            _ => None,
        }
    }

    /// The type named in the `types` argument of `conversations.list`: `public_channel`,
    /// `private_channel`, `im`, `mpim`.
    pub fn of_type_name(name: &str) -> Option<ConversationType> {
        match name {
            "public_channel" => Some(ConversationType::Public),
            "private_channel" => Some(ConversationType::Private),
            "im" => Some(ConversationType::Im),
            "mpim" => Some(ConversationType::Mpim),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            ConversationType::Public => "channels:",
            ConversationType::Private => "groups:",
            ConversationType::Im => "im:",
            ConversationType::Mpim => "mpim:",
        }
    }
}

/// The `types` argument of `conversations.list` read as Slack reads it: comma-separated type
/// names, `public_channel` when missing or empty (Slack's default); `None` when one is not a
/// type name (Slack answers `invalid_types`).
pub(crate) fn list_types(types: Option<&str>) -> Option<Vec<ConversationType>> {
    match types.map(str::trim).filter(|t| !t.is_empty()) {
        None => Some(vec![ConversationType::Public]),
        Some(types) => types
            .split(',')
            .map(|t| ConversationType::of_type_name(t.trim()))
            .collect(),
    }
}

/// How a method's scopes are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeNeed {
    /// No scope (`auth.test`, `views.*`).
    None,
    /// One of these, whatever the call addresses.
    AnyOf(Vec<String>),
    /// One scope per conversation type (`conversations.history`: `channels:history` for a
    /// public channel, `groups:history` for a private one, `im:history`, `mpim:history`).
    ByConversation(BTreeMap<ConversationType, String>),
}

impl MethodSpec {
    /// How this method's scopes are read.
    pub fn scope_need(&self) -> ScopeNeed {
        if self.scopes.is_empty() {
            return ScopeNeed::None;
        }
        let types = [
            ConversationType::Public,
            ConversationType::Private,
            ConversationType::Im,
            ConversationType::Mpim,
        ];
        let by_type: BTreeMap<_, _> = types
            .iter()
            .filter_map(|t| {
                self.scopes
                    .iter()
                    .find(|s| s.starts_with(t.prefix()))
                    .map(|s| (*t, s.clone()))
            })
            .collect();
        if by_type.len() == self.scopes.len() && by_type.len() > 1 {
            ScopeNeed::ByConversation(by_type)
        } else {
            ScopeNeed::AnyOf(self.scopes.clone())
        }
    }

    /// The scope a call to this method needs when it addresses a conversation of `kind`
    /// (`None`: the method needs no scope). For alternatives, the first is named.
    pub fn scope_for(&self, kind: Option<ConversationType>) -> Option<Vec<String>> {
        match self.scope_need() {
            ScopeNeed::None => None,
            ScopeNeed::AnyOf(any) => Some(any),
            ScopeNeed::ByConversation(by_type) => match kind.and_then(|k| by_type.get(&k)) {
                Some(scope) => Some(vec![scope.clone()]),
                // Nothing to decide by: any of them lets the call through to its own checks.
                None => Some(by_type.into_values().collect()),
            },
        }
    }
}

struct Spec {
    methods: BTreeMap<String, MethodSpec>,
    events: BTreeMap<String, Vec<String>>,
}

fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
}

static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    let base: Value = serde_json::from_str(METHODS_JSON).expect("spec/methods.json is JSON");
    let extra: Value = serde_json::from_str(SUPPLEMENT_JSON).expect("spec/supplement.json is JSON");
    let replace = &extra["granular_scopes"]["replace"];
    let granular = |s: String| replace[&s].as_str().map_or(s.clone(), str::to_string);
    let mut methods = BTreeMap::new();
    let all = base["methods"]
        .as_object()
        .into_iter()
        .flatten()
        .chain(extra["methods"].as_object().into_iter().flatten());
    for (name, m) in all {
        let mut scopes: Vec<String> = Vec::new();
        for s in strings(&m["scopes"]).map(granular) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        methods.insert(
            name.clone(),
            MethodSpec {
                required: strings(&m["required"]).collect(),
                optional: strings(&m["optional"]).collect(),
                scopes,
                app_token: m["token"] == "app",
            },
        );
    }
    for (name, m) in extra["arguments"].as_object().into_iter().flatten() {
        if let Some(spec) = methods.get_mut(name) {
            spec.optional.extend(strings(&m["optional"]));
        }
    }
    let mut events: BTreeMap<String, Vec<String>> = base["events"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), strings(v).collect()))
        .collect();
    for (name, v) in extra["events"].as_object().into_iter().flatten() {
        if v.is_array() {
            events.insert(name.clone(), strings(v).collect());
        }
    }
    Spec { methods, events }
});

/// What Slack documents about `method`, if it is a Web API method.
pub fn method(method: &str) -> Option<MethodSpec> {
    SPEC.methods.get(method).cloned()
}

/// Every method Slack's spec and the supplement name.
pub fn method_names() -> BTreeSet<String> {
    SPEC.methods.keys().cloned().collect()
}

/// The scopes an Events API subscription requires (alternatives: one per conversation type
/// where the event depends on it), if Slack documents the event.
pub fn event_scopes(event: &str) -> Option<Vec<String>> {
    SPEC.events.get(event).cloned()
}

/// The scopes an app needs to receive `event` from a conversation of `kind`: of a list of
/// per-type scopes (`member_joined_channel`: `channels:read` or `groups:read`) the one for
/// that type, else the list (any one of them). `None` when Slack requires none or does not
/// document the event.
pub fn event_scope_for(event: &str, kind: Option<ConversationType>) -> Option<Vec<String>> {
    let scopes = event_scopes(event)?;
    MethodSpec {
        scopes,
        ..MethodSpec::default()
    }
    .scope_for(kind)
}

/// What the app manifest asks Slack for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `oauth_config.scopes.bot`.
    pub bot_scopes: Vec<String>,
    /// What each bot scope is for: the comment on its line (`- chat:write  # prompts, ...`),
    /// for the scopes that have one. YAML drops comments, so they are read from the text.
    pub bot_scope_purposes: BTreeMap<String, String>,
    /// `settings.event_subscriptions.bot_events`.
    pub bot_events: Vec<String>,
    /// `features.slash_commands[].command`.
    pub slash_commands: Vec<String>,
}

impl Manifest {
    /// Reads a manifest's YAML text.
    ///
    /// # Errors
    /// A one-line reason when the text is not YAML.
    pub fn parse(yaml: &str) -> Result<Manifest, String> {
        let docs = yaml_rust2::YamlLoader::load_from_str(yaml)
            .map_err(|e| format!("app manifest is not YAML: {e}"))?;
        let Some(doc) = docs.first() else {
            return Ok(Manifest::default());
        };
        let list = |node: &yaml_rust2::Yaml| -> Vec<String> {
            node.as_vec()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let bot_scopes = list(&doc["oauth_config"]["scopes"]["bot"]);
        let bot_scope_purposes = yaml
            .lines()
            .filter_map(|line| {
                let (item, comment) = line.trim().strip_prefix("- ")?.split_once('#')?;
                let item = item.trim();
                bot_scopes
                    .iter()
                    .any(|s| s == item)
                    .then(|| (item.to_string(), comment.trim().to_string()))
            })
            .collect();
        Ok(Manifest {
            bot_scopes,
            bot_scope_purposes,
            bot_events: list(&doc["settings"]["event_subscriptions"]["bot_events"]),
            slash_commands: doc["features"]["slash_commands"]
                .as_vec()
                .into_iter()
                .flatten()
                .filter_map(|c| c["command"].as_str().map(str::to_string))
                .collect(),
        })
    }

    /// The manifest of this repository (`config/slack-app-manifest.yml`), built in.
    pub fn standup_bot() -> Manifest {
        Manifest::parse(MANIFEST_YAML).expect("config/slack-app-manifest.yml is YAML")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_scopes_are_decided_by_the_conversation() {
        let history = method("conversations.history").unwrap();
        assert_eq!(
            history.scope_for(Some(ConversationType::Public)),
            Some(vec!["channels:history".to_string()])
        );
        assert_eq!(
            history.scope_for(Some(ConversationType::Private)),
            Some(vec!["groups:history".to_string()])
        );
        assert_eq!(
            history.scope_for(Some(ConversationType::Im)),
            Some(vec!["im:history".to_string()])
        );
    }

    #[test]
    fn perspectival_scopes_become_granular_and_views_need_none() {
        assert_eq!(
            method("chat.postMessage").unwrap().scope_need(),
            ScopeNeed::AnyOf(vec!["chat:write".into()])
        );
        assert_eq!(
            method("views.publish").unwrap().scope_need(),
            ScopeNeed::None
        );
        assert_eq!(
            method("files.getUploadURLExternal").unwrap().scopes,
            ["files:write"]
        );
        assert!(
            method("conversations.history")
                .unwrap()
                .optional
                .contains("include_all_metadata")
        );
    }

    #[test]
    fn events_and_the_manifest_are_read() {
        assert_eq!(
            event_scopes("member_joined_channel").unwrap(),
            ["channels:read", "groups:read"]
        );
        assert_eq!(event_scopes("message.im").unwrap(), ["im:history"]);
        let m = Manifest::standup_bot();
        assert!(m.bot_scopes.contains(&"chat:write".to_string()));
        assert!(m.bot_events.contains(&"message.im".to_string()));
        assert_eq!(m.slash_commands, ["/standup"]);
        // Every bot scope says what it is for, from its comment.
        assert_eq!(
            m.bot_scope_purposes.keys().collect::<Vec<_>>(),
            m.bot_scopes
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(
            m.bot_scope_purposes["commands"],
            "the /standup slash command"
        );
    }
}
