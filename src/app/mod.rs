//! Use cases of the running bot: prompt, record a reply, flag a blocker, answer `/standup`,
//! compile and post the notes.
//!
//! The app speaks plain values (user ids, texts, dates); the Slack adapter calls it with what
//! Slack sent and it calls [`crate::slack::client::Api`] with what to send. The store is
//! reached through [`Db`]: every read and write runs on the store's own threads and is awaited,
//! so no SQLite call runs on an async worker.

pub mod archive;
pub mod away;
pub mod buttons;
pub mod carry;
pub mod channel;
pub mod clock;
pub mod commands;
pub mod cycle;
pub mod document;
pub mod escalate;
pub mod export;
pub mod flags;
mod history;
pub mod home;
pub mod messages;
pub mod names;
pub mod notes;
pub mod onboarding;
mod once;
pub mod people;
pub mod prompt;
pub mod reload;
pub mod reply;
pub mod resolved;
pub mod setup;
mod stats;
pub mod team_setup;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{Config, Team};
use crate::metrics::Metrics;
use crate::slack::client::{Api, Error as SlackError};
use crate::store::{self, Db, Store};
use standup_core::domain::{ChannelId, TeamId, UserId};
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

/// What the use cases share: the ports they reach (config, store, Slack, clock, renderer) and
/// three small pieces of process state, each owned by the use case that needs it. Use cases are
/// functions in their own modules taking `&App` (`reply::direct_message(&app, dm)`); the fields
/// are private to `app`, so the bot above sees only the accessors.
pub struct App {
    /// The config the bot runs by and what is derived from it, replaced whole by a reload.
    live: std::sync::RwLock<Arc<Live>>,
    db: Db,
    api: Api,
    /// The bot's own user id: its messages come back as events and are ignored.
    bot_user: UserId,
    /// Calendar time (see [`clock`]): the wall clock in production, a test's own in tests.
    clock: Arc<dyn clock::Clock>,
    /// Sends under way in this process (see [`once`]).
    in_flight: once::InFlight,
    /// Each team's turn with its notes (see [`notes::Turns`]).
    notes: notes::Turns,
    /// Who is who in the workspace (see [`people::Directory`]).
    people: people::Directory,
    /// Where posted notes are also kept as files, if `[archive]` says so.
    archive: Option<archive::Archiver>,
    /// Pokes the scheduler when something it plans by changed (a new blocker to escalate,
    /// new quiet hours), so it need not poll for them.
    schedule_changed: tokio::sync::Notify,
    /// The bot's metrics: the ones its Slack client counts into.
    metrics: Metrics,
    /// Whether this process keeps the database's teams in line with its config (see
    /// [`App::keeps_teams`]).
    keeps_teams: std::sync::atomic::AtomicBool,
}

impl App {
    pub fn new(
        config: Config,
        db: Db,
        renderer: Renderer,
        api: Api,
        bot_user: UserId,
        clock: Arc<dyn clock::Clock>,
    ) -> Arc<App> {
        let keeps_teams = std::sync::atomic::AtomicBool::new(config.database.url.is_none());
        Arc::new(App {
            people: people::Directory::default(),
            archive: crate::archive::Archive::from_config(&config.archive)
                .map(archive::Archiver::new),
            notes: notes::Turns::default(),
            metrics: api.metrics().clone(),
            live: std::sync::RwLock::new(Arc::new(Live::new(config, renderer))),
            db,
            api,
            bot_user,
            clock,
            in_flight: once::InFlight::default(),
            schedule_changed: tokio::sync::Notify::new(),
            keeps_teams,
        })
    }

    /// The config as it is now; a reload replaces it, not what a caller already holds.
    pub fn config(&self) -> Arc<Config> {
        self.live().config.clone()
    }

    fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs by `config` (its teams' templates compiled into `renderer`) from now on.
    pub(crate) fn replace_config(&self, config: Config, renderer: Renderer) {
        let live = Arc::new(Live::new(config, renderer));
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = live;
    }

    /// The renderer of the current config's teams.
    pub(crate) fn renderer(&self) -> Arc<Renderer> {
        self.live().renderer.clone()
    }

    /// `team`'s handles by user id (empty for a team with none).
    pub(crate) fn names(&self, team: &TeamId) -> Arc<people::Names> {
        self.live().names.get(team).cloned().unwrap_or_default()
    }

    /// Slack's Web API, for the bot's own calls (acks that are posts, views).
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// What the bot counts for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The bot's own user id.
    pub fn bot_user(&self) -> &UserId {
        &self.bot_user
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Waits until calendar time `at` on the app's clock.
    pub fn sleep_until(&self, at: DateTime<Utc>) -> futures::future::BoxFuture<'static, ()> {
        self.clock.sleep_until(at)
    }

    /// Tells the scheduler to look at what is due again (kept until it next waits, if it is
    /// in a round).
    pub fn wake_scheduler(&self) {
        self.schedule_changed.notify_one();
    }

    /// Resolves at the next [`App::wake_scheduler`] (or at once for one made since the last).
    pub async fn scheduler_woken(&self) {
        self.schedule_changed.notified().await;
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

    /// Whether a reload writes the config's teams into the database and introduces the members
    /// it adds: on SQLite always (one process); among replicas on PostgreSQL only the leader's,
    /// so a replica started with another config does not rewrite the teams the others run by.
    pub fn keeps_teams(&self) -> bool {
        self.keeps_teams.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets [`App::keeps_teams`]: the running bot's leader sets it when it takes the lead and
    /// clears it when it stops leading.
    pub fn set_keeps_teams(&self, keeps: bool) {
        self.keeps_teams
            .store(keeps, std::sync::atomic::Ordering::Relaxed);
    }

    /// The current config's team with this id.
    pub fn team(&self, id: &TeamId) -> Option<Team> {
        Team::of(&self.config(), id)
    }
}

/// The config the bot runs by, with its teams' templates compiled and their handles indexed.
struct Live {
    config: Arc<Config>,
    renderer: Arc<Renderer>,
    /// Each team's [`people::Names`], built once per config and shared.
    names: std::collections::HashMap<TeamId, Arc<people::Names>>,
}

impl Live {
    fn new(config: Config, renderer: Renderer) -> Live {
        Live {
            names: people::names(&config),
            config: Arc::new(config),
            renderer: Arc::new(renderer),
        }
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

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
