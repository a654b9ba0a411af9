//! The names of what the bot sends and posts: [`SendKey`], the key of a message sent once (the
//! `sends` table and the message's metadata, see `app::once`), and [`PostKind`], what a `posts`
//! row of a cycle is. Both are written to the database and read back, so their text is a
//! stored format: [`std::fmt::Display`] writes it and [`std::str::FromStr`] reads it, and the
//! text of every variant stays what earlier versions wrote, or existing databases would send
//! their messages again.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use standup_core::domain::{CycleId, TeamId, UserId};

/// The key of a message the bot sends once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SendKey {
    /// A scheduled prompt (`prompt:<team>:<user>:<fire time>`).
    Prompt {
        team: TeamId,
        user: UserId,
        fire_at: DateTime<Utc>,
    },
    /// A scheduled reminder (`remind:<team>:<user>:<fire time>`).
    Remind {
        team: TeamId,
        user: UserId,
        fire_at: DateTime<Utc>,
    },
    /// The confirmation of one version of a member's reply (`ack:<cycle>:<user>:<ts>:<version>`).
    Ack {
        cycle: CycleId,
        user: UserId,
        ts: String,
        version: String,
    },
    /// The introduction DM (`intro:<team>:<user>`).
    Intro { team: TeamId, user: UserId },
    /// The parent of the cycle's thread in the team channel (`thread:<cycle>`).
    Thread(CycleId),
    /// Part `part` (from 0) of a member's update in the cycle's thread (`update:<cycle>:<user>`,
    /// then `update:<cycle>:<user>:2`, ...).
    Update {
        cycle: CycleId,
        user: UserId,
        part: usize,
    },
    /// A blocker's flag (`blocker:<id>`).
    Blocker(i64),
    /// A blocker's escalation to the leads (`escalate:<id>`).
    Escalate(i64),
    /// The notes' summary in the team channel (`notes:<cycle>`).
    Notes(CycleId),
    /// One version of the notes file, by its content (`notes-file:<cycle>:<digest>`).
    NotesFile { cycle: CycleId, digest: String },
}

/// What a `posts` row of a cycle is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PostKind {
    /// The notes file's latest version (`document`).
    Document,
    /// The notes' summary message (`summary`).
    Summary,
    /// The parent of the cycle's thread (`thread`).
    Thread,
    /// Part `part` (from 0) of a member's update in the thread (`update:<user>`,
    /// `update:<user>:2`, ...).
    Update { user: UserId, part: usize },
    /// A blocker's flag as posted (`blocker:<id>`).
    Blocker(i64),
    /// A blocker's flag as edited to say it is resolved (`resolved:<id>`).
    Resolved(i64),
}

/// A stored key or kind that is none of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a key the bot writes: {0:?}")]
pub struct UnknownKey(pub String);

/// A job's fire time as keys carry it: the store's timestamps (RFC 3339, milliseconds, `Z`),
/// which the participation query relies on to find a prompt's send from its job.
fn instant(t: &DateTime<Utc>) -> String {
    super::ts(*t)
}

/// `n`-th part suffix: nothing for the first, `:2` for the second, ...
fn part_suffix(part: usize) -> String {
    match part {
        0 => String::new(),
        n => format!(":{}", n + 1),
    }
}

impl fmt::Display for SendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendKey::Prompt {
                team,
                user,
                fire_at,
            } => write!(f, "prompt:{team}:{user}:{}", instant(fire_at)),
            SendKey::Remind {
                team,
                user,
                fire_at,
            } => write!(f, "remind:{team}:{user}:{}", instant(fire_at)),
            SendKey::Ack {
                cycle,
                user,
                ts,
                version,
            } => write!(f, "ack:{cycle}:{user}:{ts}:{version}"),
            SendKey::Intro { team, user } => write!(f, "intro:{team}:{user}"),
            SendKey::Thread(cycle) => write!(f, "thread:{cycle}"),
            SendKey::Update { cycle, user, part } => {
                write!(f, "update:{cycle}:{user}{}", part_suffix(*part))
            }
            SendKey::Blocker(id) => write!(f, "blocker:{id}"),
            SendKey::Escalate(id) => write!(f, "escalate:{id}"),
            SendKey::Notes(cycle) => write!(f, "notes:{cycle}"),
            SendKey::NotesFile { cycle, digest } => write!(f, "notes-file:{cycle}:{digest}"),
        }
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostKind::Document => f.write_str("document"),
            PostKind::Summary => f.write_str("summary"),
            PostKind::Thread => f.write_str("thread"),
            PostKind::Update { user, part } => write!(f, "update:{user}{}", part_suffix(*part)),
            PostKind::Blocker(id) => write!(f, "blocker:{id}"),
            PostKind::Resolved(id) => write!(f, "resolved:{id}"),
        }
    }
}

/// A part number as written (`2` for the second part); a first part has none.
fn part_number(text: Option<&str>) -> Option<usize> {
    match text {
        None => Some(0),
        Some(n) => n.parse::<usize>().ok().filter(|n| *n >= 2).map(|n| n - 1),
    }
}

/// A non-empty field with no `:` in it (every id the keys carry is one).
fn field(text: &str) -> Option<&str> {
    (!text.is_empty() && !text.contains(':')).then_some(text)
}

fn cycle(text: &str) -> Option<CycleId> {
    text.parse().ok().map(CycleId)
}

fn user(text: &str) -> Option<UserId> {
    field(text).map(|u| UserId(u.to_string()))
}

impl FromStr for SendKey {
    type Err = UnknownKey;

    fn from_str(s: &str) -> Result<SendKey, UnknownKey> {
        let parsed = || -> Option<SendKey> {
            let (kind, rest) = s.split_once(':')?;
            Some(match kind {
                "prompt" | "remind" => {
                    // The fire time has colons of its own: it is the rest after two fields.
                    let mut parts = rest.splitn(3, ':');
                    let team = TeamId::new(field(parts.next()?)?);
                    let user = user(parts.next()?)?;
                    let fire_at = DateTime::parse_from_rfc3339(parts.next()?)
                        .ok()?
                        .with_timezone(&Utc);
                    if kind == "prompt" {
                        SendKey::Prompt {
                            team,
                            user,
                            fire_at,
                        }
                    } else {
                        SendKey::Remind {
                            team,
                            user,
                            fire_at,
                        }
                    }
                }
                "ack" => {
                    let [c, u, ts, version] = fields::<4>(rest)?;
                    SendKey::Ack {
                        cycle: cycle(c)?,
                        user: user(u)?,
                        ts: ts.to_string(),
                        version: version.to_string(),
                    }
                }
                "intro" => {
                    let [team, u] = fields::<2>(rest)?;
                    SendKey::Intro {
                        team: TeamId::new(team),
                        user: user(u)?,
                    }
                }
                "thread" => SendKey::Thread(cycle(rest)?),
                "update" => {
                    let mut parts = rest.split(':');
                    let c = cycle(parts.next()?)?;
                    let u = user(parts.next()?)?;
                    let part = part_number(parts.next())?;
                    if parts.next().is_some() {
                        return None;
                    }
                    SendKey::Update {
                        cycle: c,
                        user: u,
                        part,
                    }
                }
                "blocker" => SendKey::Blocker(rest.parse().ok()?),
                "escalate" => SendKey::Escalate(rest.parse().ok()?),
                "notes" => SendKey::Notes(cycle(rest)?),
                "notes-file" => {
                    let [c, digest] = fields::<2>(rest)?;
                    SendKey::NotesFile {
                        cycle: cycle(c)?,
                        digest: digest.to_string(),
                    }
                }
                _ => return None,
            })
        };
        // Only text this very key would write back reads as it: a key is one name, never two.
        parsed()
            .filter(|key| key.to_string() == s)
            .ok_or_else(|| UnknownKey(s.to_string()))
    }
}

impl FromStr for PostKind {
    type Err = UnknownKey;

    fn from_str(s: &str) -> Result<PostKind, UnknownKey> {
        let parsed = || -> Option<PostKind> {
            Some(match s.split_once(':') {
                None => match s {
                    "document" => PostKind::Document,
                    "summary" => PostKind::Summary,
                    "thread" => PostKind::Thread,
                    _ => return None,
                },
                Some(("update", rest)) => {
                    let mut parts = rest.split(':');
                    let u = user(parts.next()?)?;
                    let part = part_number(parts.next())?;
                    if parts.next().is_some() {
                        return None;
                    }
                    PostKind::Update { user: u, part }
                }
                Some(("blocker", id)) => PostKind::Blocker(id.parse().ok()?),
                Some(("resolved", id)) => PostKind::Resolved(id.parse().ok()?),
                Some(_) => return None,
            })
        };
        parsed()
            .filter(|kind| kind.to_string() == s)
            .ok_or_else(|| UnknownKey(s.to_string()))
    }
}

/// Exactly `N` non-empty `:`-separated fields.
fn fields<const N: usize>(text: &str) -> Option<[&str; N]> {
    let parts: Vec<&str> = text.split(':').collect();
    let parts: [&str; N] = parts.try_into().ok()?;
    parts.iter().all(|p| !p.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn every_key() -> Vec<SendKey> {
        let fire_at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let user = || UserId("U0MARIA001".into());
        vec![
            SendKey::Prompt {
                team: TeamId::new("orbit"),
                user: user(),
                fire_at,
            },
            SendKey::Remind {
                team: TeamId::new("orbit-2"),
                user: user(),
                fire_at: fire_at + chrono::Duration::milliseconds(1_250),
            },
            SendKey::Ack {
                cycle: CycleId(3),
                user: user(),
                ts: "1733562000.000100".into(),
                version: "1733562060.000200".into(),
            },
            SendKey::Intro {
                team: TeamId::new("orbit"),
                user: user(),
            },
            SendKey::Thread(CycleId(3)),
            SendKey::Update {
                cycle: CycleId(3),
                user: user(),
                part: 0,
            },
            SendKey::Update {
                cycle: CycleId(3),
                user: user(),
                part: 1,
            },
            SendKey::Update {
                cycle: CycleId(12),
                user: user(),
                part: 9,
            },
            SendKey::Blocker(17),
            SendKey::Escalate(17),
            SendKey::Notes(CycleId(3)),
            SendKey::NotesFile {
                cycle: CycleId(3),
                digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            },
        ]
    }

    fn every_kind() -> Vec<PostKind> {
        let user = || UserId("U0KENJI001".into());
        vec![
            PostKind::Document,
            PostKind::Summary,
            PostKind::Thread,
            PostKind::Update {
                user: user(),
                part: 0,
            },
            PostKind::Update {
                user: user(),
                part: 1,
            },
            PostKind::Blocker(4),
            PostKind::Resolved(4),
        ]
    }

    /// The stored text of each key and kind, as the code before these enums wrote it with
    /// `format!` (databases written by it hold exactly these): a change here makes a bot
    /// upgraded over such a database send its messages again.
    #[test]
    fn stored_text_is_what_earlier_versions_wrote() {
        let keys: Vec<String> = every_key().iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "prompt:orbit:U0MARIA001:2026-12-07T09:00:00.000Z",
                "remind:orbit-2:U0MARIA001:2026-12-07T09:00:01.250Z",
                "ack:3:U0MARIA001:1733562000.000100:1733562060.000200",
                "intro:orbit:U0MARIA001",
                "thread:3",
                "update:3:U0MARIA001",
                "update:3:U0MARIA001:2",
                "update:12:U0MARIA001:10",
                "blocker:17",
                "escalate:17",
                "notes:3",
                "notes-file:3:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ]
        );
        let kinds: Vec<String> = every_kind().iter().map(ToString::to_string).collect();
        assert_eq!(
            kinds,
            [
                "document",
                "summary",
                "thread",
                "update:U0KENJI001",
                "update:U0KENJI001:2",
                "blocker:4",
                "resolved:4",
            ]
        );
    }

    #[test]
    fn every_key_and_kind_reads_back_as_itself() {
        for key in every_key() {
            assert_eq!(key.to_string().parse::<SendKey>(), Ok(key.clone()), "{key}");
        }
        for kind in every_kind() {
            assert_eq!(
                kind.to_string().parse::<PostKind>(),
                Ok(kind.clone()),
                "{kind}"
            );
        }
    }

    #[test]
    fn text_no_key_writes_is_refused() {
        for text in [
            "",
            "prompt",
            "prompt:orbit:U1",
            "prompt:orbit:U1:yesterday",
            // Another spelling of the same instant is not the key the bot wrote.
            "prompt:orbit:U1:2026-12-07T09:00:00Z",
            "ack:3:U1:1.1",
            "thread:x",
            "thread:3:4",
            "update:3:U1:1",
            "update:3:U1:02",
            "update:3:U1:2:3",
            "notes-file:3",
            "blocker:-",
            "sent:3",
            "odd<key>",
        ] {
            assert!(text.parse::<SendKey>().is_err(), "{text:?} read as a key");
        }
        for text in [
            "",
            "documents",
            "update:",
            "update:U1:1",
            "blocker:x",
            "notes:3",
        ] {
            assert!(text.parse::<PostKind>().is_err(), "{text:?} read as a kind");
        }
    }
}
