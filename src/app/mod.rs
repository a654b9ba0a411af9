//! Use cases of the running bot: prompt, record a reply, flag a blocker, answer `/standup`,
//! compile and post the notes.
//!
//! The app speaks plain values (user ids, texts, dates); the Slack adapter calls it with what
//! Slack sent and it calls [`crate::slack::client::Api`] with what to send. The store is
//! reached through [`Db`]: every read and write runs on the store's own threads and is awaited,
//! so no SQLite call runs on an async worker.

mod archive;
pub mod away;
pub mod carry;
pub mod channel;
pub mod clock;
mod commands;
pub mod document;
pub mod escalate;
pub mod export;
mod history;
pub mod home;
pub mod messages;
mod onboarding;
mod once;
pub mod resolved;
pub mod setup;
mod stats;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::config::{Config, TeamConfig};
use crate::slack::client::{Api, Error as SlackError, Outgoing};
use crate::store::{self, CycleInfo, Db, NewReply, OpenBlocker, Post, PostKind, SendKey, Store};
use standup_core::domain::{ChannelId, CycleId, TeamId, UserId};
use standup_core::parse::parse_reply;
use standup_core::render::Renderer;

pub use commands::Reply;
pub use once::{MAX_CHECKS, Sent};

/// A member's message to the bot, as Slack delivered it.
#[derive(Debug, Clone, Copy)]
pub struct Dm<'a> {
    pub user: &'a UserId,
    /// The DM channel, where the bot answers.
    pub channel: &'a ChannelId,
    /// The message's Slack ts (an edit carries the original's).
    pub ts: &'a str,
    /// This version's Slack ts: the message's own, or the edit's.
    pub version: &'a str,
    pub text: &'a str,
    pub edited: bool,
    /// The text is the member's whole update (the Home tab's *Edit* form): it replaces what
    /// they wrote before (see [`crate::store::SOURCE_REPLACE`]).
    pub replace: bool,
}

/// A failure inside a use case; logged with its cause, never shown raw to a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    Render(#[from] standup_core::render::RenderError),
    /// A send that may have reached Slack and could not be checked was given up (see
    /// [`once`]); it is not tried again, and `/standup status` shows it to the team's admins.
    #[error("not sending `{key}` again: {error}")]
    GaveUp { key: String, error: String },
}

impl Error {
    /// Whether this is a send given up earlier: it was logged once then, and is not worth
    /// logging again at every step that meets it.
    pub fn given_up(&self) -> bool {
        matches!(self, Error::GaveUp { .. })
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The running bot's shared state.
pub struct App {
    pub config: Config,
    db: Db,
    renderer: Renderer,
    pub api: Api,
    /// The bot's own user id: its messages come back as events and are ignored.
    pub bot_user: UserId,
    /// Calendar time (see [`clock`]): the wall clock in production, a test's own in tests.
    clock: Arc<dyn clock::Clock>,
    /// When the scheduler should come back to retry a failed job.
    pub retry_at: Mutex<Option<DateTime<Utc>>>,
    /// Sends under way in this process (see [`once`]).
    in_flight: once::InFlight,
    /// Each team's turn to post or refresh its notes: each render then sees every reply
    /// recorded before it, and versions of the document are uploaded (and archived) in order.
    /// One per team, so a slow team holds back no other.
    notes: Mutex<std::collections::HashMap<TeamId, Arc<tokio::sync::Mutex<()>>>>,
    /// The workspace's users from one `users.list`, for prompting big teams (see
    /// [`App::profile`]).
    profiles: tokio::sync::Mutex<Option<(std::time::Instant, Profiles)>>,
    /// Each team's [`Names`], built once and shared (a reply of a 2,000-member team does not
    /// copy them on its way to the store's thread).
    names: std::collections::HashMap<TeamId, Arc<Names>>,
    /// Where posted notes are also kept as files, if `[archive]` says so.
    archive: Option<archive::Archiver>,
}

type Profiles = std::collections::HashMap<UserId, crate::slack::client::UserInfo>;

/// A team's Slack user ids → handles, for turning `<@U…>` mentions into `@handle`.
type Names = std::collections::HashMap<String, String>;

/// Teams this big are prompted from one `users.list` rather than a `users.info` per member.
const BIG_TEAM: usize = 100;
/// How long a `users.list` answer is used.
const PROFILES_FRESH: std::time::Duration = std::time::Duration::from_secs(300);

impl App {
    pub fn new(
        config: Config,
        db: Db,
        renderer: Renderer,
        api: Api,
        bot_user: UserId,
        clock: Arc<dyn clock::Clock>,
    ) -> Arc<App> {
        let names = config
            .teams
            .iter()
            .map(|team| {
                let names = team
                    .members
                    .iter()
                    .filter_map(|m| m.handle.clone().map(|h| (m.user.to_string(), h)))
                    .collect();
                (team.id.clone(), Arc::new(names))
            })
            .collect();
        Arc::new(App {
            names,
            archive: crate::archive::Archive::from_config(&config.archive)
                .map(|a| archive::Archiver::new(a, config.teams.iter().map(|t| &t.id))),
            notes: Mutex::default(),
            config,
            db,
            renderer,
            api,
            bot_user,
            clock,
            retry_at: Mutex::new(None),
            in_flight: once::InFlight::default(),
            profiles: tokio::sync::Mutex::new(None),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Waits until calendar time `at` on the app's clock.
    pub fn sleep_until(&self, at: DateTime<Utc>) -> futures::future::BoxFuture<'static, ()> {
        self.clock.sleep_until(at)
    }

    /// The store, reached off the async workers.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Reads from the store on one of its reader threads (see [`Db::read`]).
    pub async fn read<T: Send + 'static, E: From<store::Error> + Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        self.db.read(f).await
    }

    /// Writes to the store on its writer thread (see [`Db::write`]).
    pub async fn write<T: Send + 'static, E: From<store::Error> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        self.db.write(f).await
    }

    /// Waits for `team`'s turn with its notes (see [`App::notes`]).
    async fn notes_turn(&self, team: &TeamId) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(team.clone())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    pub fn team(&self, id: &TeamId) -> Option<&TeamConfig> {
        self.config.team(id)
    }

    /// Teams the user is configured in, in config order.
    pub fn teams_of(&self, user: &UserId) -> Vec<&TeamConfig> {
        self.config
            .teams
            .iter()
            .filter(|t| t.member(user).is_some())
            .collect()
    }

    /// The cycle a meeting on `date` belongs to, created if needed.
    pub async fn cycle_for(&self, team: &TeamConfig, date: NaiveDate) -> Result<CycleInfo> {
        let title = team.title_for(date);
        let (id, format, now) = (team.id.clone(), team.format, self.now());
        Ok(self
            .write(move |s| s.ensure_cycle(&id, format, date, &title, now))
            .await?)
    }

    /// The cycle replies go to now: the latest one, or the one for the next meeting if the team
    /// has none yet.
    pub async fn current_cycle(&self, team: &TeamConfig) -> Result<CycleInfo> {
        if let Some(latest) = self.cycles(&team.id).await?.into_iter().next() {
            return Ok(latest);
        }
        let date = self.next_meeting_date(team, self.now());
        self.cycle_for(team, date).await
    }

    /// A team's cycles, newest first.
    pub async fn cycles(&self, team: &TeamId) -> Result<Vec<CycleInfo>> {
        let id = team.clone();
        Ok(self.read(move |s| s.cycles(&id)).await?)
    }

    /// The local date of the team's next meeting after `at`.
    pub fn next_meeting_date(&self, team: &TeamConfig, at: DateTime<Utc>) -> NaiveDate {
        team.sync.next_after(at, team.timezone).map_or_else(
            || at.with_timezone(&team.timezone).date_naive(),
            |s| s.with_timezone(&team.timezone).date_naive(),
        )
    }

    /// Sends the prompt to one member, once per `key`. Returns false when the member was not
    /// prompted (away, deactivated, a bot).
    pub async fn prompt(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
        user: &UserId,
        reminder: bool,
        key: &SendKey,
    ) -> Result<bool> {
        // Away, or already answered this cycle (daily prompts for a weekly meeting): no DM.
        if self.away_for(team, user, cycle.date).await? || self.answered(cycle.id, user).await? {
            return Ok(false);
        }
        let info = self.profile(team, user).await?;
        if info.deleted || info.is_bot {
            tracing::info!(team = %team.id, "not prompting a deactivated user or a bot");
            return Ok(false);
        }
        if self.away_by_status(team, cycle, user, &info).await? {
            return Ok(false);
        }
        let (id, who, tz, name) = (
            team.id.clone(),
            user.clone(),
            info.tz.clone(),
            info.name.clone(),
        );
        self.write(move |s| s.set_profile(&id, &who, tz.as_deref(), name.as_deref()))
            .await?;
        // Posting to the user id opens the DM on Slack's side: one call per member, not two.
        let to = ChannelId(user.0.clone());
        let (mut text, mut blocks) = messages::prompt(team, cycle, reminder);
        // The plan is a help, not the prompt: a prompt goes out without it rather than not at all.
        if let Err(e) = self
            .add_plan(team, cycle, user, &mut text, &mut blocks)
            .await
        {
            tracing::warn!(team = %team.id, error = %e, "prompting without last cycle's plan");
        }
        let out = Outgoing {
            channel: &to,
            text: &text,
            blocks: Some(blocks),
            thread_ts: None,
            key: None,
        };
        Ok(self.send_once(&team.id, key, out).await? != Sent::Busy)
    }

    /// What Slack says about a member: `users.info` for a small team; for a big one, the
    /// workspace's `users.list` (a few calls for thousands of users, where `users.info` is one
    /// call each at 100 a minute), falling back to `users.info` for anyone it lacks.
    pub async fn profile(
        &self,
        team: &TeamConfig,
        user: &UserId,
    ) -> Result<crate::slack::client::UserInfo> {
        if team.members.len() >= BIG_TEAM {
            let mut cache = self.profiles.lock().await;
            if cache
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() > PROFILES_FRESH)
            {
                let list = match self.api.users().await {
                    Ok(list) => list.into_iter().collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "users.list failed; asking Slack member by member");
                        Profiles::new()
                    }
                };
                *cache = Some((std::time::Instant::now(), list));
            }
            if let Some(info) = cache.as_ref().and_then(|(_, all)| all.get(user)) {
                return Ok(info.clone());
            }
        }
        Ok(self.api.user_info(user).await?)
    }

    async fn answered(&self, cycle: CycleId, user: &UserId) -> Result<bool> {
        Ok(self
            .read(move |s| s.roster(cycle))
            .await?
            .iter()
            .any(|(_, u, answered)| u.as_ref() == Some(user) && *answered))
    }

    /// A DM from a user: a new message or an edit of one.
    pub async fn direct_message(&self, dm: &Dm<'_>) -> Result<()> {
        // A member of several teams answers the first one in the config by DM; the form of a
        // prompt names its own team.
        let teams = self.teams_of(dm.user);
        let Some(team) = teams.first().copied() else {
            self.api
                .post(dm.channel, messages::NOT_A_MEMBER, None, None)
                .await?;
            return Ok(());
        };
        self.reply_to_team(team, dm).await
    }

    /// Records a form answer as the member's reply for the prompt's team; all submissions share
    /// one key, so a resubmitted form is a new version of the same answer. `replace`: the form
    /// was the Home tab's *Edit*, whose answer supersedes the messages written before it.
    pub async fn form_answer(
        &self,
        user: &UserId,
        meta: &str,
        version: &str,
        text: &str,
        replace: bool,
    ) -> Result<()> {
        let Some(team) = self.team_from_meta(user, meta) else {
            return Ok(());
        };
        let channel = self.api.open_dm(user).await?;
        let dm = Dm {
            user,
            channel: &channel,
            ts: "form",
            version,
            text,
            edited: true,
            replace,
        };
        self.reply_to_team(team, &dm).await
    }

    /// A member deleted a message in their DM: it no longer counts toward the update of the
    /// cycle it was written for (an empty newest version; every revision stays stored). `user`
    /// when Slack named the author; otherwise the store knows whose message it was.
    pub async fn message_deleted(
        &self,
        user: Option<&UserId>,
        channel: &ChannelId,
        ts: &str,
        version: &str,
    ) -> Result<()> {
        let (at, by) = (ts.to_string(), user.cloned());
        let origin = self.read(move |s| s.reply_origin(&at, by.as_ref())).await?;
        let Some((cycle_id, team_id, author)) = origin else {
            tracing::debug!("a deleted message that was not part of an update");
            return Ok(());
        };
        let Some(team) = self.team(&team_id) else {
            return Ok(());
        };
        let Some(cycle) = self
            .cycles(&team.id)
            .await?
            .into_iter()
            .find(|c| c.id == cycle_id)
        else {
            return Ok(());
        };
        let dm = Dm {
            user: &author,
            channel,
            ts,
            version,
            text: "",
            edited: true,
            replace: false,
        };
        self.reply_in_cycle(team, &cycle, &dm).await
    }

    /// Records a reply to `team`'s current cycle, confirms it, and flags what changed.
    async fn reply_to_team(&self, team: &TeamConfig, dm: &Dm<'_>) -> Result<()> {
        let cycle = self.current_cycle(team).await?;
        self.reply_in_cycle(team, &cycle, dm).await
    }

    /// Records a reply to `cycle`, confirms it, and flags what changed.
    async fn reply_in_cycle(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
        dm: &Dm<'_>,
    ) -> Result<()> {
        let Dm {
            user,
            channel,
            ts,
            version,
            text,
            edited,
            replace,
        } = *dm;
        let names = self.names.get(&team.id).cloned().unwrap_or_default();
        let (cycle_id, member) = (cycle.id, user.clone());
        let reply = NewReply {
            cycle: cycle.id,
            user: &member,
            source: match (replace, edited) {
                (true, _) => store::SOURCE_REPLACE,
                // An empty newest version is a deletion (see `message_deleted`).
                (false, true) if text.is_empty() => "deleted",
                (false, true) => "edit",
                (false, false) => "dm",
            },
            slack_ts: ts,
            version,
            text,
            at: self.now(),
        };
        let reply = reply.owned();
        let format = team.format;
        let outcome = self
            .write(move |s| {
                // A follow-through carry ends the member's text; notes are about what they wrote.
                let carry = s.carry_text(cycle_id, &member)?;
                s.record_reply(&reply.borrowed(), |t| {
                    standup_core::followthrough::with_carry(t, carry.as_deref(), format, |own| {
                        let parsed = parse_reply(own, format, names.as_ref());
                        (parsed.update, parsed.diagnostics)
                    })
                })
            })
            .await?;
        // Handling a version again (a redelivery, or after a crash) repeats only what did not
        // happen the first time: every step below is keyed or checked against the store.
        if !outcome.changed && !outcome.known {
            return Ok(());
        }
        if outcome.changed {
            tracing::info!(team = %team.id, cycle = %cycle.date, edited, "update recorded");
            // A changed blocker refreshes the Home from `sync_flags`; otherwise it is done here.
            if outcome.opened.is_empty() && outcome.resolved.is_empty() {
                self.refresh_home(user).await;
            }
        }
        let confirmation = messages::understood(team.format, &outcome.update, &outcome.diagnostics);
        let key = SendKey::Ack {
            cycle: cycle.id,
            user: user.clone(),
            ts: ts.to_string(),
            version: version.to_string(),
        };
        let out = Outgoing {
            channel,
            text: &confirmation,
            blocks: None,
            thread_ts: None,
            key: None,
        };
        // The reply is stored: each step below is independent of the others, so one that
        // fails (a confirmation Slack refuses) does not keep the rest from the channel.
        let mut failures = Failures::default();
        let acked = self.send_once(&team.id, &key, out).await.map(|_| ());
        failures.note(&team.id, "confirming a reply", acked);
        let posted = self.post_update(team, cycle, user, &outcome.update).await;
        failures.note(&team.id, "posting an update in the thread", posted);
        failures.note(
            &team.id,
            "syncing blocker flags",
            self.sync_flags(team).await,
        );
        let refreshed = self.refresh_posted_notes(team, cycle).await;
        failures.note(&team.id, "refreshing the posted notes", refreshed);
        failures.into_result()
    }

    /// Brings the team channel's blocker flags in line with the store: flags open blockers not
    /// flagged yet and marks resolved ones on their flag. Each step happens once, and each
    /// blocker on its own: one Slack refuses is left for the next sync, the others go ahead.
    pub async fn sync_flags(&self, team: &TeamConfig) -> Result<()> {
        let id = team.id.clone();
        let (unflagged, resolved) = self.read(move |s| s.unsynced_blockers(&id)).await?;
        let mut failures = Failures::default();
        for blocker in &unflagged {
            let flagged = self.flag(team, blocker).await;
            failures.note(&team.id, "flagging a blocker", flagged);
        }
        // A blocker resolved while its flag was being posted here was not yet flagged when the
        // resolver synced, so nothing edited it: look again once the flags are recorded.
        let late = if unflagged.is_empty() {
            Vec::new()
        } else {
            let id = team.id.clone();
            let (_, now_resolved) = self.read(move |s| s.unsynced_blockers(&id)).await?;
            now_resolved
                .into_iter()
                .filter(|(b, _)| unflagged.iter().any(|f| f.id == b.id))
                .collect()
        };
        for (blocker, by) in resolved.iter().chain(&late) {
            let unflagged = self.unflag(team, blocker, &resolved_by(by)).await;
            failures.note(&team.id, "marking a blocker resolved", unflagged);
        }
        // Their owners' Home tabs list open blockers.
        let mut owners: Vec<&UserId> = unflagged
            .iter()
            .chain(resolved.iter().chain(&late).map(|(b, _)| b))
            .filter_map(|b| b.user.as_ref())
            .collect();
        owners.sort();
        owners.dedup();
        for owner in owners {
            self.refresh_home(owner).await;
        }
        failures.into_result()
    }

    /// Posts a blocker to the team channel (once) and remembers the message.
    async fn flag(&self, team: &TeamConfig, blocker: &OpenBlocker) -> Result<()> {
        let (text, blocks) = messages::blocker_flag(blocker, None);
        let key = SendKey::Blocker(blocker.id);
        let thread = self.flag_thread(team, blocker).await?;
        let out = Outgoing {
            channel: &team.channel,
            text: &text,
            blocks: Some(blocks),
            thread_ts: thread.as_deref(),
            key: None,
        };
        let Sent::At(channel, ts) = self.send_once(&team.id, &key, out).await? else {
            return Ok(());
        };
        self.record_flag(blocker, PostKind::Blocker(blocker.id), channel, ts, &text)
            .await
    }

    /// Remembers a blocker's flag message (`blocker:<id>`) or its edit (`resolved:<id>`).
    async fn record_flag(
        &self,
        blocker: &OpenBlocker,
        kind: PostKind,
        channel: ChannelId,
        ts: String,
        text: &str,
    ) -> Result<()> {
        self.record_post(Post {
            cycle: blocker.cycle,
            kind: kind.to_string(),
            channel,
            ts: Some(ts),
            file_id: None,
            content_digest: digest(text),
            posted_at: self.now(),
        })
        .await
    }

    /// Remembers a message the bot posted (see [`Store::record_post`]).
    pub(crate) async fn record_post(&self, post: Post) -> Result<()> {
        self.write(move |s| s.record_post(&post)).await?;
        Ok(())
    }

    /// The latest post of `kind` in a cycle.
    pub(crate) async fn last_post(&self, cycle: CycleId, kind: &str) -> Result<Option<Post>> {
        let kind = kind.to_string();
        Ok(self.read(move |s| s.last_post(cycle, &kind)).await?)
    }

    /// A team's open blockers.
    pub(crate) async fn open_blockers(&self, team: &TeamId) -> Result<Vec<OpenBlocker>> {
        let id = team.clone();
        Ok(self.read(move |s| s.open_blockers(&id)).await?)
    }

    /// Edits a blocker's flag to say it is resolved (an edit: doing it twice is harmless).
    async fn unflag(&self, team: &TeamConfig, blocker: &OpenBlocker, how: &str) -> Result<()> {
        let post = self
            .last_post(blocker.cycle, &PostKind::Blocker(blocker.id).to_string())
            .await?;
        let Some(Post {
            ts: Some(ts),
            channel,
            ..
        }) = post
        else {
            tracing::warn!(team = %team.id, "resolved blocker had no flag message to edit");
            return Ok(());
        };
        let (text, blocks) = messages::blocker_flag(blocker, Some(how));
        self.api.update(&channel, &ts, &text, Some(blocks)).await?;
        self.record_flag(blocker, PostKind::Resolved(blocker.id), channel, ts, &text)
            .await
    }

    /// Resolves a blocker by id on behalf of `user`; only its owner may.
    pub async fn resolve(&self, user: &UserId, id: i64) -> Result<Option<String>> {
        for team in self.teams_of(user) {
            let open = self.open_blockers(&team.id).await?;
            if let Some(b) = open.into_iter().find(|b| b.id == id) {
                if b.user.as_ref() != Some(user) {
                    return Ok(Some(
                        "Only the person who is blocked can resolve their blocker.".into(),
                    ));
                }
                let (id, by, now) = (b.id, user.to_string(), self.now());
                self.write(move |s| s.resolve_blocker(id, &by, now)).await?;
                // Resolved in the store: the flag and the notes follow, and a failure there is
                // logged rather than told to the member as if nothing had happened.
                if let Err(e) = self.blockers_changed(team, &[b.date]).await {
                    tracing::warn!(team = %team.id, error = %e, "a resolved blocker is not shown as resolved in Slack yet");
                }
                return Ok(Some(format!(
                    "Resolved: {}",
                    messages::from_markdown(&b.text)
                )));
            }
        }
        Ok(None)
    }

    /// Renders the cycle's notes.
    pub async fn render(&self, team: &TeamConfig, date: NaiveDate) -> Result<String> {
        let of = team.clone();
        let meeting = self
            .read(move |s| crate::app::document::meeting(s, &of, date))
            .await?;
        Ok(self
            .renderer
            .render(&crate::app::setup::template_of(team), &meeting)?)
    }

    /// Posts the notes of a cycle: a summary message and the document as a file in its thread.
    /// Both are sent once, so a post cut short and run again completes what is missing.
    pub async fn post_notes(&self, team: &TeamConfig, cycle: &CycleInfo) -> Result<()> {
        let _turn = self.notes_turn(&team.id).await;
        if self
            .last_post(cycle.id, &PostKind::Document.to_string())
            .await?
            .is_some()
        {
            drop(_turn);
            return self.refresh_posted_notes(team, cycle).await;
        }
        let document = self.render(team, cycle.date).await?;
        let (summary, shown) = self.summary(team, cycle).await?;
        if let Some((channel, ts)) = self.notes_in_thread(team, cycle, &summary).await? {
            self.record_summary(cycle, &channel, &ts, shown).await?;
            self.attach_notes(team, cycle, channel, ts, &document)
                .await?;
            tracing::info!(team = %team.id, cycle = %cycle.date, "notes posted in the cycle's thread");
            return Ok(());
        }
        let key = SendKey::Notes(cycle.id);
        let out = Outgoing {
            channel: &team.channel,
            text: &summary,
            blocks: None,
            thread_ts: None,
            key: None,
        };
        let Sent::At(channel, ts) = self.send_once(&team.id, &key, out).await? else {
            return Ok(());
        };
        self.record_summary(cycle, &channel, &ts, shown).await?;
        self.attach_notes(team, cycle, channel, ts, &document)
            .await?;
        tracing::info!(team = %team.id, cycle = %cycle.date, "notes posted");
        self.archive_notes(team, cycle, &document).await;
        Ok(())
    }

    /// Uploads a version of the document into the summary's thread (once per content) and
    /// records it as the cycle's latest post.
    async fn attach_notes(
        &self,
        team: &TeamConfig,
        cycle: &CycleInfo,
        channel: ChannelId,
        ts: String,
        document: &str,
    ) -> Result<()> {
        let content_digest = digest(document);
        let key = SendKey::NotesFile {
            cycle: cycle.id,
            digest: content_digest.clone(),
        };
        let filename = format!("{}-{}.md", team.id, cycle.date);
        let file = self
            .upload_once(
                &team.id,
                &key,
                &channel,
                &ts,
                once::FileOut {
                    filename: &filename,
                    title: &cycle.title,
                    bytes: document.as_bytes(),
                },
            )
            .await?;
        self.record_post(Post {
            cycle: cycle.id,
            kind: PostKind::Document.to_string(),
            channel,
            ts: Some(ts),
            file_id: file,
            content_digest,
            posted_at: self.now(),
        })
        .await
    }

    /// After a late reply or a blocker's change: if the notes were posted, edit the summary
    /// when what it shows changed (who answered, the team's open blockers) and add the new
    /// version of the file in the thread when the document changed.
    pub async fn refresh_posted_notes(&self, team: &TeamConfig, cycle: &CycleInfo) -> Result<()> {
        let _turn = self.notes_turn(&team.id).await;
        let Some(post) = self
            .last_post(cycle.id, &PostKind::Document.to_string())
            .await?
        else {
            return Ok(());
        };
        let document = self.render(team, cycle.date).await?;
        // Before the Slack check: an archive write that failed last time is retried here.
        self.archive_notes(team, cycle, &document).await;
        let Some(ts) = post.ts.clone() else {
            return Ok(());
        };
        let (summary, shown) = self.summary(team, cycle).await?;
        let was = self
            .last_post(cycle.id, &PostKind::Summary.to_string())
            .await?;
        if was.is_none_or(|p| p.content_digest != shown) {
            // An edit: doing it again after a crash is harmless.
            self.api.update(&post.channel, &ts, &summary, None).await?;
            self.record_summary(cycle, &post.channel, &ts, shown)
                .await?;
            tracing::info!(team = %team.id, cycle = %cycle.date, "posted summary updated");
        }
        if digest(&document) != post.content_digest {
            self.attach_notes(team, cycle, post.channel, ts, &document)
                .await?;
            tracing::info!(team = %team.id, cycle = %cycle.date, "posted notes updated");
        }
        Ok(())
    }

    /// After blockers were raised or resolved: their flags, and the posted notes that show
    /// them: those of the blockers' own meetings (`dates`) and the team's latest (a summary
    /// lists all of the team's open blockers). Each on its own; the first failure is returned.
    pub(crate) async fn blockers_changed(
        &self,
        team: &TeamConfig,
        dates: &[NaiveDate],
    ) -> Result<()> {
        let mut failures = Failures::default();
        failures.note(
            &team.id,
            "syncing blocker flags",
            self.sync_flags(team).await,
        );
        let mut cycles = self.cycles(&team.id).await?;
        // Newest first: the latest, then the blockers' own.
        let latest = cycles.first().map(|c| c.date);
        cycles.retain(|c| Some(c.date) == latest || dates.contains(&c.date));
        for cycle in &cycles {
            let refreshed = self.refresh_posted_notes(team, cycle).await;
            failures.note(&team.id, "refreshing the posted notes", refreshed);
        }
        failures.into_result()
    }

    /// The notes' summary message, and a digest of what it shows (the roster's answers and the
    /// open blockers, not their ages), to tell whether it needs an edit.
    async fn summary(&self, team: &TeamConfig, cycle: &CycleInfo) -> Result<(String, String)> {
        let (id, team_id) = (cycle.id, team.id.clone());
        let (roster, blockers) = self
            .read(move |s| Ok::<_, store::Error>((s.roster(id)?, s.open_blockers(&team_id)?)))
            .await?;
        let shown = digest(&format!(
            "{roster:?}{:?}",
            blockers
                .iter()
                .map(|b| (b.id, &b.handle, &b.text))
                .collect::<Vec<_>>()
        ));
        Ok((
            messages::summary(cycle, &roster, &blockers, self.now()),
            shown,
        ))
    }

    /// Remembers what the posted summary shows (see [`App::summary`]).
    async fn record_summary(
        &self,
        cycle: &CycleInfo,
        channel: &ChannelId,
        ts: &str,
        shown: String,
    ) -> Result<()> {
        self.record_post(Post {
            cycle: cycle.id,
            kind: PostKind::Summary.to_string(),
            channel: channel.clone(),
            ts: Some(ts.to_string()),
            file_id: None,
            content_digest: shown,
            posted_at: self.now(),
        })
        .await
    }
}

impl App {
    /// The team a button or form belongs to (`team|date` in its value), if the user is in it.
    pub fn team_from_meta(&self, user: &UserId, meta: &str) -> Option<&TeamConfig> {
        let id = meta.split('|').next().unwrap_or_default();
        self.teams_of(user)
            .into_iter()
            .find(|t| t.id.as_str() == id)
    }

    /// Opens the answer form for the cycle a prompt was about.
    pub async fn open_form(&self, user: &UserId, meta: &str, trigger_id: &str) -> Result<()> {
        let Some(team) = self.team_from_meta(user, meta) else {
            return Ok(());
        };
        let view = messages::answer_form(team.format, meta);
        self.api.open_view(trigger_id, view).await?;
        Ok(())
    }

    /// "Skip this time" / "Out of office" from a prompt: away for that cycle's meeting.
    pub async fn mark_away(&self, user: &UserId, meta: &str, kind: &str) -> Result<String> {
        let Some(team) = self.team_from_meta(user, meta) else {
            return Ok(messages::NOT_A_MEMBER.to_string());
        };
        let date = meta
            .split('|')
            .nth(1)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or_else(|| self.next_meeting_date(team, self.now()));
        let (id, who, what, now) = (team.id.clone(), user.clone(), kind.to_string(), self.now());
        self.write(move |s| s.add_absence(&id, &who, date, date, &what, now))
            .await?;
        Ok(match kind {
            "skip" => format!("OK, skipping the {date} update. No reminders for it."),
            _ => format!(
                "OK, marked out of office for the {date} meeting. For longer leave: `/standup ooo &lt;from&gt; &lt;to&gt;`."
            ),
        })
    }
}

/// The first failure of independent steps, so that one failing does not stop the others: it
/// is returned at the end (and logged by the caller), later ones are logged here. A send given
/// up earlier is no failure of the step: it was logged when given up, and `/standup status`
/// shows it to the team's admins.
#[derive(Debug, Default)]
pub(crate) struct Failures(Option<Error>);

impl Failures {
    pub(crate) fn note(&mut self, team: &TeamId, what: &str, outcome: Result<()>) {
        match outcome {
            Ok(()) => {}
            Err(e) if e.given_up() => tracing::debug!(team = %team, error = %e, "{what}: skipped"),
            Err(e) if self.0.is_some() => {
                tracing::warn!(team = %team, error = %e, "{what} failed; going on with the rest")
            }
            Err(e) => self.0 = Some(e),
        }
    }

    pub(crate) fn into_result(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// How a resolved blocker's flag says who resolved it.
fn resolved_by(by: &str) -> String {
    match by {
        "update" => "resolved by a later update".to_string(),
        u if u.starts_with('U') || u.starts_with('W') => format!("resolved by <@{u}>"),
        other => format!("resolved ({other})"),
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
