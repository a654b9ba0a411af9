//! The running bot: start-up checks, then the scheduler and the Slack connection side by side
//! until the caller's shutdown signal; in-flight work finishes before it returns.
//!
//! The caller owns what the bot runs on (the shape of mini-redis's `server::run`): the
//! listeners ([`Transport`]), the [`Clock`] and the shutdown future. `standup-bot run` passes
//! listeners it bound, the wall clock and SIGTERM/Ctrl-C; tests pass the emulator, a clock they
//! move and a signal they fire.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::clock::Clock;
use crate::app::{self, App};
use crate::bot::inbound::Handler;
use crate::config::{Config, Secret, Secrets};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::slack::client::{Api, Policy};
use crate::slack::{Counted, Inbound, socket};
use standup_core::domain::UserId;
use standup_core::render::Renderer;

/// How Slack reaches the bot.
#[derive(Debug)]
pub enum Transport {
    /// Socket Mode (the bot connects out); `/healthz` and `/metrics` are served on `health` if
    /// given.
    Socket { health: Option<TcpListener> },
    /// Slack's HTTP endpoints, served on this listener.
    Http(TcpListener),
}

fn required(secret: Option<Secret>, name: &str, why: &str) -> Result<Secret> {
    secret.ok_or_else(|| {
        Error::Usage(format!(
            "{name} is not set: {why}; set it in the environment (or {name}_FILE)"
        ))
    })
}

/// How long the bot waits on Slack. The defaults suit Slack (`standup-bot run` also reads the
/// Socket Mode watchdog's from the environment); tests shorten them, so a hung call or a dead
/// connection is noticed in a second, not in Slack's tens of seconds.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Web API calls: timeout, attempts, backoff, pacing.
    pub calls: Policy,
    /// The Socket Mode connection: step timeouts, watchdog, reconnect backoff.
    pub socket: socket::Timing,
    /// How often the config file (and the team templates it names) is looked at for an edit;
    /// `None`: only on [`Signals::reload`].
    pub config_poll: Option<std::time::Duration>,
    /// How long the scheduler's lease lasts unless renewed (replicas on PostgreSQL).
    pub lease_ttl: std::time::Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            calls: Policy::default(),
            socket: socket::Timing::default(),
            config_poll: Some(crate::bot::reload::POLL),
            lease_ttl: crate::bot::leader::LEASE_TTL,
        }
    }
}

/// What the caller tells the running bot while it runs (the CLI: SIGTERM/Ctrl-C and SIGHUP).
pub struct Signals {
    /// Resolves when the bot is to stop.
    pub shutdown: futures::future::BoxFuture<'static, ()>,
    /// Each notification reloads the config file at once.
    pub reload: Arc<tokio::sync::Notify>,
}

impl Signals {
    /// Stops when `shutdown` resolves; reloads only when the file changes.
    pub fn stop_on(shutdown: impl Future<Output = ()> + Send + 'static) -> Signals {
        Signals {
            shutdown: Box::pin(shutdown),
            reload: Arc::default(),
        }
    }
}

/// Runs the bot until `signals.shutdown` resolves.
pub async fn run(
    config: Config,
    renderer: Renderer,
    secrets: Secrets,
    timings: Timings,
    transport: Transport,
    clock: Arc<dyn Clock>,
    signals: Signals,
) -> Result<()> {
    let Signals { shutdown, reload } = signals;
    // The example config's made-up ids would have the bot prompt strangers and post to a
    // channel nobody chose: refuse before anything is sent.
    let made_up = config.made_up_ids();
    if !made_up.is_empty() {
        return Err(Error::Usage(format!(
            "{} uses the example config's made-up ids ({}): copy config/standup.example.toml to config/standup.toml and put your workspace's channel and member ids in it (or try `standup-bot demo`)",
            config.path.display(),
            made_up.join(", ")
        )));
    }
    // A missing `git` stops start-up, rather than showing up as a failed commit at each post.
    if let Some(archive) = crate::archive::Archive::from_config(&config.archive) {
        archive.check()?;
    }
    let bot_token = required(
        secrets.bot_token,
        "SLACK_BOT_TOKEN",
        "the bot token (xoxb-...) is needed to talk to Slack",
    )?;
    // One registry for the whole bot: the client counts its calls, the app what it recorded
    // and posted, the scheduler its lag, the transports what Slack sent.
    let metrics = Metrics::new();
    let api = Api::new(&config.slack.api_url, &bot_token, timings.calls)
        .map_err(Error::slack)?
        .with_metrics(metrics.clone());
    let identity = api.auth_test().await.map_err(|e| match e.code() {
        Some(
            code @ ("invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
            | "token_expired"),
        ) => Error::SlackToken {
            token: "SLACK_BOT_TOKEN",
            code: code.to_string(),
            fix: "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
        },
        _ => Error::slack(e),
    })?;
    let api = api.with_team(&identity.team);
    tracing::info!(bot = %identity.user, team = %identity.team, "authenticated with Slack");
    let bot_user = UserId(identity.user.0.clone());

    // One bot per SQLite file: a second would run the schedule again (replicas on PostgreSQL
    // take turns by lease instead). Held until `run` ends.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().chars().take(32).collect::<String>())
        .unwrap_or_else(|_| "this machine".into());
    // A replica's name in leases and claims, unique per run and short enough for PostgreSQL's
    // application_name (63 bytes), which is how a dead replica's claims are told.
    let holder = format!(
        "standup-bot {host} pid {} {:04x}",
        std::process::id(),
        fastrand::u16(..)
    );
    let _owner = {
        let database = config.database.clone();
        let who = format!(
            "pid {} on {host}, started {}",
            std::process::id(),
            clock.now().format("%Y-%m-%d %H:%M UTC")
        );
        tokio::task::spawn_blocking(move || crate::store::Owner::claim_configured(&database, &who))
            .await
            .map_err(|e| Error::Usage(format!("claiming the database failed: {e}")))??
    };
    // Opening runs migrations and an integrity check: off the async workers, like every
    // store call after it.
    let (mut store, slack_teams) = {
        let config = config.clone();
        let workspace = identity.team.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let mut store = crate::app::setup::open_store_as_is(&config)?;
            // A database holds one workspace's people: refused before anything is sent when it
            // is another's, and what was stored without Slack (an import) becomes this one's.
            store.bind_workspace(&workspace)?;
            let slack_teams = store.slack_teams()?;
            Ok((store, slack_teams))
        })
        .await
        .map_err(|e| Error::Usage(format!("opening the database failed: {e}")))??
    };
    // The teams set up from Slack join the file's, and `@handle`s, emails and `#channel`s
    // become ids, before anything is stored or sent.
    let (config, skipped) = app::names::assemble(&api, &bot_user, config, slack_teams).await?;
    for line in skipped {
        tracing::warn!("{line}");
    }
    let (db, pacing) = {
        let teams = config.teams.clone();
        let claimant = holder.clone();
        let replicas = config.database.url.is_some();
        tokio::task::spawn_blocking(move || -> Result<_> {
            // Among replicas the leader writes its config's teams when it takes the lead
            // (`bot::leader`): one started with another config leaves them alone.
            if !replicas {
                crate::app::setup::sync_teams(&mut store, &teams)?;
            }
            store.claim_as(&claimant)?;
            let pacing = store
                .pacing_connection()?
                .map(crate::store::Db::start_writer_only)
                .transpose()?;
            Ok((crate::store::Db::start(store)?, pacing))
        })
        .await
        .map_err(|e| Error::Usage(format!("opening the database failed: {e}")))??
    };
    // Replicas on PostgreSQL keep Slack's limits together: each call takes its place in the
    // database, and a 429 one replica meets holds back the others (one process on SQLite
    // paces in memory).
    let api = match pacing {
        Some(pacing) => {
            tracing::info!(
                "Slack's rate limits are paced with the other replicas, in the database"
            );
            api.with_shared_pacing(Arc::new(crate::bot::pacing::StorePacing::new(
                pacing,
                &identity.team,
            )))
        }
        None => api,
    };
    let app = App::new(config, db, renderer, api.clone(), bot_user, clock);
    let replicas = app.config().database.url.is_some();
    let handler = Handler::new(app.clone());
    if !replicas {
        refresh_zones(&app).await;
        // Events stored but not handled when the bot last stopped go first.
        handler.resume().await;
    }
    let inbound: Arc<dyn Inbound> =
        Arc::new(Counted::new(Arc::new(handler.clone()), metrics.clone()));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The scheduler runs on the replica holding its lease (always this one on SQLite); the
    // leader also syncs the config's teams into the database and prunes old data.
    let (asked_tx, asked) = tokio::sync::oneshot::channel();
    let scheduler = tokio::spawn(crate::bot::leader::run(
        app.clone(),
        holder,
        timings.lease_ttl,
        stop_rx.clone(),
        asked_tx,
    ));
    tokio::spawn(crate::bot::reload::watch(
        app.clone(),
        timings.config_poll,
        reload,
        stop_rx.clone(),
    ));
    if replicas {
        // A replica that takes the lead at start writes its config's teams before it handles
        // an event, as a bot on SQLite does; one that follows finds them written, or waits.
        let _ = asked.await;
        wait_for_teams(&app, stop_rx.clone()).await;
        handler.resume().await;
        // Replicas share the inbox: events a replica stored and then died with are taken over
        // once its claim runs out, or at once when it has no connection left (on SQLite the
        // one process took them all at start). A lease shorter than the usual look asks for
        // quicker failover: events are looked for as often.
        let (handler, mut stop) = (handler.clone(), stop_rx.clone());
        let every = crate::bot::inbound::TAKE_OVER_EVERY.min(timings.lease_ttl);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {
                        handler.resume().await;
                    }
                    _ = stop.changed() => break,
                }
            }
        });
    }
    let stopped = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let signals = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });

    let served = match transport {
        Transport::Http(listener) => {
            let secret = required(
                secrets.signing_secret,
                "SLACK_SIGNING_SECRET",
                "HTTP mode verifies every request with it",
            )?;
            // Replicas share what they accepted: a request sent to two of them acts once.
            let replays = app.config().database.url.is_some().then(|| {
                Arc::new(crate::bot::replays::SharedReplays::new(
                    app.db().clone(),
                    crate::slack::http::HttpConfig::DEFAULT_WINDOW,
                )) as Arc<dyn crate::slack::http::ReplayLedger>
            });
            serve_http(listener, inbound, secret, metrics, replays, stopped).await
        }
        Transport::Socket { health } => {
            let app_token = required(
                secrets.app_token,
                "SLACK_APP_TOKEN",
                "Socket Mode connects with the app-level token (xapp-...)",
            )?;
            if let Some(listener) = health {
                let mut rx = stop_rx.clone();
                let health = axum::Router::new()
                    .route(
                        crate::slack::http::HEALTH_PATH,
                        axum::routing::get(|| async { "ok" }),
                    )
                    .merge(crate::slack::http::metrics_route(metrics));
                tokio::spawn(async move {
                    let stopped = async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    };
                    if let Err(e) = axum::serve(listener, health)
                        .with_graceful_shutdown(stopped)
                        .await
                    {
                        tracing::error!(error = %e, "health endpoint stopped");
                    }
                });
            }
            socket::serve(&api, &app_token, inbound, stopped, timings.socket)
                .await
                .map_err(|e| match e.code() {
                    Some(code) => Error::SlackToken {
                        token: "SLACK_APP_TOKEN",
                        code: code.to_string(),
                        fix: "use the app-level token (xapp-...) with the connections:write scope from the app's Basic Information page, and turn Socket Mode on",
                    },
                    None => Error::slack(e),
                })
        }
    };
    signals.abort();
    // In-flight work finishes: replies being recorded, notes being posted.
    let _ = scheduler.await;
    handler.drain(std::time::Duration::from_secs(10)).await;
    app::archive::archive_settled(&app, std::time::Duration::from_secs(5)).await;
    tracing::info!("stopped");
    served
}

/// A replica on a new PostgreSQL database that the leader has not written its teams into yet
/// waits for them before handling anything (an event of a member the database does not know
/// would be handled as from a stranger). If this replica takes the lead, it writes them itself.
async fn wait_for_teams(app: &App, mut stop: tokio::sync::watch::Receiver<bool>) {
    if app.config().database.url.is_none() || app.config().teams.is_empty() {
        return;
    }
    let mut said = false;
    loop {
        match app.read(|s| s.team_ids()).await {
            Ok(teams) if !teams.is_empty() => break,
            Ok(_) if app.keeps_teams() => break,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the teams from the database"),
        }
        if !said {
            tracing::info!(
                "waiting for the leader to write the config's teams into the new database"
            );
            said = true;
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            _ = stop.changed() => return,
        }
    }
    if said {
        tracing::info!("the teams are in the database: handling Slack's events");
    }
}

/// Members of teams prompted on their own clock: learn their time zones before the first prompt
/// (through [`app::people::profile`], so a big team costs one `users.list`, not a call per member).
pub(crate) async fn refresh_zones(app: &App) {
    for team in app.config().teams.iter().filter(|t| t.per_member_timezone) {
        for member in &team.members {
            match app::people::profile(app, team, &member.user).await {
                Ok(info) => {
                    let (id, who) = (team.id.clone(), member.user.clone());
                    let (tz, name) = (info.tz.clone(), info.name.clone());
                    let stored = app
                        .write(move |s| s.set_profile(&id, &who, tz.as_deref(), name.as_deref()))
                        .await;
                    if let Err(e) = stored {
                        tracing::warn!(team = %team.id, error = %e, "cannot store a member's time zone");
                    }
                }
                Err(e) => {
                    tracing::warn!(team = %team.id, error = %e, "cannot read a member's time zone; using the team's")
                }
            }
        }
    }
}

async fn serve_http(
    listener: TcpListener,
    inbound: Arc<dyn Inbound>,
    secret: Secret,
    metrics: Metrics,
    replays: Option<Arc<dyn crate::slack::http::ReplayLedger>>,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map_err(|source| Error::Io {
        path: "the HTTP listener".into(),
        source,
    })?;
    tracing::info!(%addr, "serving Slack's HTTP endpoints");
    let config = crate::slack::http::HttpConfig {
        signing_secret: secret,
        max_body_bytes: 1 << 20,
        window: crate::slack::http::HttpConfig::DEFAULT_WINDOW,
        metrics,
        replays,
    };
    let router = crate::slack::http::router(inbound, config);
    crate::slack::http::serve(listener, router, stopped)
        .await
        .map_err(|source| Error::Io {
            path: format!("listen address {addr}").into(),
            source,
        })
}
