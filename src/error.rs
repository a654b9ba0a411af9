//! The crate's error: one variant per boundary, each message saying what is wrong and what to do.

use std::path::PathBuf;

use standup_core::{notes, render};

use crate::slack::client;
use crate::{archive, config, store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Archive(#[from] archive::Error),
    #[error("{}: {source}", path.display())]
    Notes {
        path: PathBuf,
        source: notes::ReadError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Slack could not be reached, or refused what the bot needs to start: what happened, in
    /// one line, then what to do. Built with [`Error::slack`] (or given its own `fix` where the
    /// caller knows better, such as which token Slack refused).
    #[error("{}; {fix}", describe(source))]
    Slack { source: client::Error, fix: String },
    /// Slack refused one of the bot's tokens (`invalid_auth`, `token_revoked`, ...): which,
    /// and where to get a good one.
    #[error("Slack rejected {token} ({}): {fix}", tidy(code))]
    SlackToken {
        token: &'static str,
        code: String,
        fix: &'static str,
    },
    /// A mistake in how a command was called.
    #[error("{0}")]
    Usage(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A Slack failure with the usual fix for its kind.
    pub fn slack(source: client::Error) -> Error {
        let fix = match &source {
            client::Error::Timeout { .. } | client::Error::Transport { .. } => {
                "check the network between the bot and Slack (a proxy? a firewall?) and [slack] api_url"
            }
            client::Error::RateLimited { .. } => "wait a minute and start the bot again",
            client::Error::Api { .. } => {
                "check the tokens and the app's scopes on the Slack app's settings pages"
            }
            client::Error::Setup(_) => {
                "check the host's CA certificates (the `ca-certificates` package)"
            }
        };
        Error::Slack {
            source,
            fix: fix.into(),
        }
    }
}

/// What went wrong with Slack, in one line: no token (a transport error can quote a request),
/// no line breaks, no more than a sentence of the lower layers' words.
fn describe(e: &client::Error) -> String {
    match e {
        client::Error::Timeout { method, secs } => {
            format!("cannot reach Slack: {method} got no answer within {secs} s")
        }
        client::Error::Transport { method, detail } => {
            format!("cannot reach Slack: {method} failed ({})", tidy(detail))
        }
        client::Error::RateLimited { method, attempts } => {
            format!("Slack kept rate-limiting {method} ({attempts} attempts)")
        }
        client::Error::Api {
            method,
            code,
            needed,
        } => match needed {
            Some(scope) => format!(
                "Slack refused {method}: {} (needs {})",
                tidy(code),
                tidy(scope)
            ),
            None => format!("Slack refused {method}: {}", tidy(code)),
        },
        client::Error::Setup(detail) => {
            format!("cannot set up the Slack client ({})", tidy(detail))
        }
    }
}

/// Lower-layer text made fit for a one-line message: its first line, at most 160 characters,
/// with anything shaped like a Slack token (`xoxb-…`, `xapp-…`, …) replaced.
fn tidy(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let words: Vec<String> = line
        .split(' ')
        .map(|word| {
            match ["xoxb-", "xoxp-", "xoxa-", "xoxe", "xoxs-", "xapp-"]
                .iter()
                .find_map(|prefix| word.find(prefix))
            {
                Some(at) => format!("{}[a Slack token]", &word[..at]),
                None => word.to_string(),
            }
        })
        .collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_failures_say_what_happened_and_what_to_do_in_one_line() {
        let cases = [
            (
                client::Error::Timeout {
                    method: "auth.test",
                    secs: 10,
                },
                "cannot reach Slack: auth.test got no answer within 10 s; check the network between the bot and Slack (a proxy? a firewall?) and [slack] api_url",
            ),
            (
                client::Error::Transport {
                    method: "auth.test",
                    detail: "error sending request for url (https://slack.example/api/auth.test)\nCaused by: connection refused".into(),
                },
                "cannot reach Slack: auth.test failed (error sending request for url (https://slack.example/api/auth.test)); check the network between the bot and Slack (a proxy? a firewall?) and [slack] api_url",
            ),
            (
                client::Error::RateLimited {
                    method: "users.list",
                    attempts: 5,
                },
                "Slack kept rate-limiting users.list (5 attempts); wait a minute and start the bot again",
            ),
            (
                client::Error::Api {
                    method: "apps.connections.open",
                    code: "missing_scope".into(),
                    needed: Some("connections:write".into()),
                },
                "Slack refused apps.connections.open: missing_scope (needs connections:write); check the tokens and the app's scopes on the Slack app's settings pages",
            ),
        ];
        for (source, want) in cases {
            assert_eq!(Error::slack(source).to_string(), want);
        }
    }

    #[test]
    fn a_slack_failure_never_shows_a_token_or_a_second_line() {
        let e = Error::slack(client::Error::Transport {
            method: "auth.test",
            detail: "Authorization: Bearer xoxb-1234-5678-s3cr3t refused\nxapp-1-A1-s3cr3t".into(),
        });
        let text = e.to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        assert!(
            text.starts_with("cannot reach Slack: auth.test failed (Authorization: Bearer [a Slack token] refused)"),
            "{text}"
        );
        let long = Error::slack(client::Error::Setup("x".repeat(1_000)));
        assert!(long.to_string().len() < 400, "{long}");
    }

    #[test]
    fn a_refused_token_is_named_with_where_to_get_a_good_one() {
        let e = Error::SlackToken {
            token: "SLACK_BOT_TOKEN",
            code: "invalid_auth".into(),
            fix: "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
        };
        assert_eq!(
            e.to_string(),
            "Slack rejected SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"
        );
    }
}
