//! Which replica runs the scheduler: the one holding the scheduler's lease (see
//! [`crate::store::lease`]).
//!
//! Every replica handles Slack's events; only the leader runs the scheduler (prompts,
//! reminders, posts, escalations), the start-up introductions, the config's sync into the
//! database (on PostgreSQL when it takes the lead, and at each reload while it leads; see
//! [`App::keeps_teams`]) and the pruning of old data (when it takes the lead, then daily). A
//! replica asks for the lease every second until it gets it, then renews it every third of its
//! time to live. It stops acting as leader a quarter of the lease before the lease could pass to
//! another, counted from before the call that last took or renewed it, so a leader cut off from
//! the database (or paused) has stopped before a successor starts; its job rows are refused by
//! epoch even if it had not. A clean stop releases the lease, so a successor takes over at once.
//! On SQLite the one process always leads.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::app::{self, App};
use crate::store::lease::{self, Held};

/// The scheduler's lease: how long it lasts unless renewed.
pub const LEASE_TTL: Duration = Duration::from_secs(15);

/// The lease's time to live: [`LEASE_TTL`], or `STANDUP_LEASE_TTL_SECS` (a shorter lease fails
/// over sooner and costs a database write more often; at least 1 s).
pub fn ttl_from_env() -> Duration {
    std::env::var("STANDUP_LEASE_TTL_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= 1.0 && v.is_finite())
        .map_or(LEASE_TTL, Duration::from_secs_f64)
}

/// Runs until `shutdown` says stop: leads whenever this replica holds the lease. `asked` is
/// told once the first ask has its answer (and, if this replica got the lease, once it has
/// taken the lead: the config's teams are in the database).
pub async fn run(
    app: Arc<App>,
    holder: String,
    ttl: Duration,
    mut shutdown: watch::Receiver<bool>,
    asked: tokio::sync::oneshot::Sender<()>,
) {
    let mut first_answer = Some(asked);
    let renew_every = ttl / 3;
    // A follower asks again within a second: a leader that died is replaced as soon as its
    // connections are gone (one small write a second per follower).
    let ask_every = renew_every.min(Duration::from_secs(1));
    let act_for = ttl - ttl / 4;
    let mut leading: Option<Leading> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let asked = Instant::now();
        match &mut leading {
            None => {
                let (name, who) = (lease::SCHEDULER, holder.clone());
                match app.write(move |s| s.take_lease(name, &who, ttl)).await {
                    Ok(Some(held)) => {
                        leading = Some(Leading::start(&app, held, asked + act_for).await);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "could not ask for the scheduler's lease; trying again")
                    }
                }
                if let Some(told) = first_answer.take() {
                    let _ = told.send(());
                }
            }
            Some(lead) => {
                let held = lead.held.clone();
                match app.write(move |s| s.renew_lease(&held, ttl)).await {
                    Ok(true) => lead.until = asked + act_for,
                    Ok(false) => {
                        tracing::warn!(
                            epoch = lead.held.epoch,
                            "the scheduler's lease passed to another replica; no longer leading"
                        );
                        if let Some(lead) = leading.take() {
                            lead.stop(&app, false).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the scheduler's lease; trying again")
                    }
                }
            }
        }
        let wake = match &leading {
            Some(lead) => (Instant::now() + renew_every).min(lead.until),
            None => Instant::now() + ask_every,
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            changed = shutdown.changed() => {
                // The bot dropped its side: it is stopping too.
                if changed.is_err() {
                    break;
                }
            }
        }
        if let Some(lead) = &leading
            && Instant::now() >= lead.until
        {
            tracing::warn!(
                epoch = lead.held.epoch,
                "the scheduler's lease was not renewed in time; no longer leading"
            );
            if let Some(lead) = leading.take() {
                lead.stop(&app, false).await;
            }
        }
    }
    if let Some(lead) = leading.take() {
        lead.stop(&app, true).await;
    }
}

/// How often the leader prunes old data.
pub const PRUNE_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// This replica's turn as leader: the scheduler it runs and until when it may act.
struct Leading {
    held: Held,
    until: Instant,
    stop: watch::Sender<bool>,
    scheduler: tokio::task::JoinHandle<()>,
    /// The daily pruning.
    pruning: tokio::task::JoinHandle<()>,
}

/// The config's teams written into the database by the replica that takes the lead (on SQLite
/// the one process did it at start, before opening the store to the rest of the bot).
async fn sync_config(app: &Arc<App>) {
    if app.config().database.url.is_none() {
        return;
    }
    let teams = app.config().teams.clone();
    match app.write(move |s| app::setup::sync_teams(s, &teams)).await {
        Ok(()) => tracing::info!("the config's teams written into the database (leader)"),
        Err(e) => {
            tracing::warn!(error = %e, "could not write the config's teams into the database; the next leader or reload tries again")
        }
    }
    app.set_keeps_teams(true);
    // Slack calls, maybe many: not in the way of the lease's next renewal.
    let app = app.clone();
    tokio::spawn(async move { crate::bot::run::refresh_zones(&app).await });
}

/// Forgets what is no longer needed: the payloads of events handled a week ago (their ids
/// stay, so a late redelivery is still known) and the leases of short work long done.
async fn prune(app: &App) {
    let week_ago = app.now() - chrono::Duration::days(7);
    let pruned = app
        .write(move |s| Ok::<_, crate::store::Error>((s.prune_inbox(week_ago)?, s.prune_leases()?)))
        .await;
    match pruned {
        Ok((events, leases)) => tracing::info!(events, leases, "pruned old data (leader)"),
        Err(e) => tracing::warn!(error = %e, "could not prune old data"),
    }
}

impl Leading {
    async fn start(app: &Arc<App>, held: Held, until: Instant) -> Leading {
        tracing::info!(
            epoch = held.epoch,
            "leading: this replica runs the scheduler"
        );
        app.metrics().leading(Some(held.epoch));
        // Before the scheduler plans by them, and before a follower waiting on a new database
        // finds them there.
        sync_config(app).await;
        let fence = held.clone();
        if let Err(e) = app
            .write(move |s| {
                s.fence_jobs(fence);
                Ok::<_, crate::store::Error>(())
            })
            .await
        {
            tracing::warn!(error = %e, "could not fence the scheduler's jobs");
        }
        crate::bot::scheduler::announce(app).await;
        let (stop, stopped) = watch::channel(false);
        let scheduler = tokio::spawn(crate::bot::scheduler::run(app.clone(), stopped));
        // Members added since the last leader, and introductions a crash cut short.
        let intro = app.clone();
        tokio::spawn(async move {
            // Either line ends the start-up introductions (tests wait for it).
            match app::onboarding::introduce_due(&intro).await {
                Ok(()) => tracing::info!("introductions due at start sent"),
                Err(e) => tracing::warn!(error = %e, "introductions left for the next start"),
            }
        });
        let pruning = {
            let app = app.clone();
            tokio::spawn(async move {
                // On tokio's timer, not the app's clock: a test's clock counts the sleeps
                // under way to tell when the scheduler is idle, and this one never is due.
                let mut every = tokio::time::interval(PRUNE_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    prune(&app).await;
                }
            })
        };
        Leading {
            held,
            until,
            stop,
            scheduler,
            pruning,
        }
    }

    /// Stops the scheduler (work in progress finishes); `release` gives the lease up too.
    async fn stop(self, app: &App, release: bool) {
        app.metrics().leading(None);
        self.pruning.abort();
        if app.config().database.url.is_some() {
            app.set_keeps_teams(false);
        }
        let _ = self.stop.send(true);
        let _ = self.scheduler.await;
        if release {
            let held = self.held.clone();
            match app.write(move |s| s.release_lease(&held)).await {
                Ok(()) => tracing::info!(epoch = self.held.epoch, "released the scheduler's lease"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not release the scheduler's lease; it expires by itself")
                }
            }
        }
    }
}
