//! The Slack secrets: read from the environment only (or files it names, for Docker secrets),
//! never from the config file, and never shown. [`Secret`] prints as its length.
//!
//! Also the key names that look like secrets, so the config loader can refuse them in the file
//! and say which variable to set instead.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use super::{ConfigError, Problem};

/// A secret value. It prints as its length only, so it can sit in structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} chars)", self.0.chars().count())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The Slack credentials, from the environment. Which ones are needed depends on how the bot
/// connects (Socket Mode needs both tokens, HTTP mode the bot token and signing secret), so
/// each is optional here and the caller decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pub bot_token: Option<Secret>,
    pub app_token: Option<Secret>,
    pub signing_secret: Option<Secret>,
}

/// A secret's variable, the prefix its value must have, and where to get it.
struct SecretSpec {
    var: &'static str,
    prefix: Option<&'static str>,
    fix: &'static str,
}

const BOT_TOKEN: SecretSpec = SecretSpec {
    var: "SLACK_BOT_TOKEN",
    prefix: Some("xoxb-"),
    fix: "use the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions)",
};
const APP_TOKEN: SecretSpec = SecretSpec {
    var: "SLACK_APP_TOKEN",
    prefix: Some("xapp-"),
    fix: "use an app-level token (xapp-…, under Basic Information → App-Level Tokens, with \
          the connections:write scope)",
};
const SIGNING_SECRET: SecretSpec = SecretSpec {
    var: "SLACK_SIGNING_SECRET",
    prefix: None,
    fix: "use the app's Signing Secret (under Basic Information → App Credentials)",
};

impl Secrets {
    /// Reads `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` and `SLACK_SIGNING_SECRET`, or for each the
    /// file named by the same variable with `_FILE` appended (trimmed; for Docker secrets).
    pub fn from_env() -> Result<Secrets, ConfigError> {
        Secrets::from_lookup(|name| std::env::var_os(name))
    }

    /// [`Secrets::from_env`] with the environment given as a function, for tests and callers
    /// that keep their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Secrets, ConfigError> {
        let mut problems = Vec::new();
        let mut read = |spec: &SecretSpec| match read_secret(spec, &lookup) {
            Ok(secret) => secret,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let secrets = Secrets {
            bot_token: read(&BOT_TOKEN),
            app_token: read(&APP_TOKEN),
            signing_secret: read(&SIGNING_SECRET),
        };
        if problems.is_empty() {
            Ok(secrets)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

fn read_secret(
    spec: &SecretSpec,
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Secret>, Problem> {
    let var = spec.var;
    let file_var = format!("{var}_FILE");
    let problem = |key: &str, message: String, fix: String| Problem {
        file: "environment".to_string(),
        line: None,
        key: key.to_string(),
        message,
        fix,
    };
    // An empty variable counts as unset: compose files often list every variable, some blank.
    let direct = lookup(var).filter(|v| !v.is_empty());
    let file = lookup(&file_var).filter(|v| !v.is_empty());
    let (value, key) = match (direct, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(problem(
                var,
                format!("both {var} and {file_var} are set"),
                "unset one of them".to_string(),
            ));
        }
        (Some(value), None) => match value.into_string() {
            Ok(value) => (value, var.to_string()),
            Err(_) => {
                return Err(problem(
                    var,
                    "is not valid UTF-8".to_string(),
                    spec.fix.to_string(),
                ));
            }
        },
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            match std::fs::read_to_string(&path) {
                Ok(text) => (text.trim().to_string(), file_var.clone()),
                Err(error) => {
                    return Err(problem(
                        &file_var,
                        format!("cannot read `{}`: {error}", path.display()),
                        format!("point {file_var} at a readable file that holds only the secret"),
                    ));
                }
            }
        }
    };
    if value.is_empty() {
        return Err(problem(
            &key,
            "the secret is empty".to_string(),
            spec.fix.to_string(),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem(
            &key,
            "the secret contains spaces or control characters".to_string(),
            format!(
                "{} and copy it without quotes or a `Bearer` prefix",
                spec.fix
            ),
        ));
    }
    if let Some(prefix) = spec.prefix.filter(|p| !value.starts_with(p)) {
        // Naming the kind of token found is safe (the prefixes are public) and explains the
        // commonest mistake, the two tokens swapped.
        let found = ["xoxb-", "xapp-", "xoxp-"]
            .into_iter()
            .find(|p| value.starts_with(p))
            .map(|p| format!(" (it starts with {p})"))
            .unwrap_or_default();
        return Err(problem(
            &key,
            format!("the value does not start with {prefix}{found}"),
            spec.fix.to_string(),
        ));
    }
    Ok(Some(Secret(value)))
}

/// The environment variable for a secret key someone put in the config file.
pub(super) fn secret_variable(key: &str) -> Option<&'static str> {
    match key.to_ascii_lowercase().as_str() {
        "bot_token" | "slack_bot_token" | "token" => Some("SLACK_BOT_TOKEN"),
        "app_token" | "slack_app_token" => Some("SLACK_APP_TOKEN"),
        "signing_secret" | "slack_signing_secret" => Some("SLACK_SIGNING_SECRET"),
        _ => None,
    }
}

/// A key name that suggests its value is a credential.
pub(super) fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("token") || key.contains("secret") || key.contains("password")
}

/// Whether a value written in the file is a Slack token, which messages must not repeat.
pub(super) fn is_token(value: &str) -> bool {
    const TOKEN_PREFIXES: [&str; 6] = ["xoxb-", "xoxp-", "xoxa-", "xoxe", "xoxs-", "xapp-"];
    TOKEN_PREFIXES.iter().any(|p| value.starts_with(p))
}

/// `STANDUP_DATABASE_URL` (or the file `STANDUP_DATABASE_URL_FILE` names): a PostgreSQL url
/// that may hold a password, so it may be kept out of the config file. It wins over the file's.
pub fn database_url_from_env() -> Result<Option<Secret>, ConfigError> {
    let spec = SecretSpec {
        var: "STANDUP_DATABASE_URL",
        prefix: None,
        fix: super::validate::DATABASE_URL_FIX,
    };
    let url = read_secret(&spec, &|name| std::env::var_os(name))
        .map_err(|p| ConfigError::Invalid(vec![p]))?;
    if let Some(problem) = url
        .as_ref()
        .and_then(|u| super::validate::database_url_problem(u.expose()))
    {
        return Err(ConfigError::Invalid(vec![Problem {
            file: "environment".to_string(),
            line: None,
            key: "STANDUP_DATABASE_URL".to_string(),
            message: problem.to_string(),
            fix: super::validate::DATABASE_URL_FIX.to_string(),
        }]));
    }
    Ok(url)
}
