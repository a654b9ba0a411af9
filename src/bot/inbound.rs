//! Slack payloads → app calls: the [`Inbound`] implementation both connection modes use.
//!
//! Events are stored, then acknowledged, and handled in a spawned task (Slack wants the ack
//! within 3 s). Clicks and form submissions that change something are kept the same way: stored
//! in the inbox before their ack and handled from it, so one acked just before a crash is
//! handled at the next start; a form's validation errors still go back in its ack, and a click
//! that only opens a form (its `trigger_id` lasts 3 s) is handled at once. A slash command gets
//! its answer in the ack when it is ready within 2.5 s, otherwise an "on it" ack and the answer
//! later through its `response_url`.
//!
//! Stored events start a few at a time ([`HANDLING_AT_ONCE`]): when the store had to wait
//! (another program held the write lock for seconds) a whole backlog is stored and acked in
//! one group, and starting all of its handling at once would queue every ack, command, ping
//! and `/healthz` behind hundreds of runnable tasks on the runtime's few workers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{self, App};
use crate::slack::client::Turn;
use crate::slack::message::{self, Change};
use crate::slack::{Inbound, NotStored};
use crate::store::Received;
use standup_core::domain::{ChannelId, UserId};

/// How often a replica on PostgreSQL looks for stored events whose claim ran out (their replica
/// died before handling them) and takes them over.
pub const TAKE_OVER_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// The bot's handler of everything Slack sends.
#[derive(Clone)]
pub struct Handler {
    app: Arc<App>,
    /// Work started for Slack payloads, so shutdown can wait for it.
    tasks: TaskTracker,
    /// Cancelled at shutdown: retries stop waiting (their events stay pending in the store).
    stopping: CancellationToken,
    /// Turns to handle a stored event ([`HANDLING_AT_ONCE`]).
    turns: Arc<Semaphore>,
}

/// Stored events read and recorded at once, at most: an event's [`Turn`] lasts until its first
/// Slack call (the confirmation of a DM), so a member whose confirmations wait for their
/// channel's one post a second holds up nobody else. A few at once keep the writer thread and
/// the two cores busy; a released backlog waits for its turns parked, not runnable, so the acks
/// and answers that need no write go first.
pub const HANDLING_AT_ONCE: usize = 8;

/// What a spawned handling task needs besides the app.
#[derive(Clone)]
struct Turns {
    stopping: CancellationToken,
    turns: Arc<Semaphore>,
}

impl Handler {
    /// Handles the events stored but not handled when the bot last stopped (it was killed, or
    /// their handling failed). Called once at start, before Slack is connected.
    pub async fn resume(&self) -> usize {
        if self.stopping.is_cancelled() {
            return 0;
        }
        let now = self.app.now();
        let pending = match self.app.write(move |s| s.claim_pending_events(now)).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the pending events");
                return 0;
            }
        };
        let mut resumed = 0;
        for (id, payload) in pending {
            match serde_json::from_str::<Value>(&payload) {
                Ok(event) => {
                    let (app, turns) = (self.app.clone(), self.turns());
                    self.tasks
                        .spawn(async move { handle_stored(&app, &id, event, &turns).await });
                    resumed += 1;
                }
                Err(e) => {
                    tracing::error!(event_id = %id, error = %e, "a stored event cannot be read; left as it is");
                    let now = self.app.now();
                    let _ = self
                        .app
                        .write(move |s| s.event_done(&id, Some("unreadable payload"), now))
                        .await;
                }
            }
        }
        if resumed > 0 {
            tracing::info!(resumed, "handling events received before the last stop");
        }
        resumed
    }

    pub fn new(app: Arc<App>) -> Handler {
        Handler {
            app,
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            turns: Arc::new(Semaphore::new(HANDLING_AT_ONCE)),
        }
    }

    fn turns(&self) -> Turns {
        Turns {
            stopping: self.stopping.clone(),
            turns: self.turns.clone(),
        }
    }

    /// Stops taking new work and waits (up to `limit`) for the work in flight.
    pub async fn drain(&self, limit: Duration) {
        self.tasks.close();
        self.stopping.cancel();
        if tokio::time::timeout(limit, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.tasks.len(),
                "shutdown: work still running after {limit:?}"
            );
        }
    }
}

const COMMAND_BUDGET: Duration = Duration::from_millis(2500);

fn ephemeral(text: String) -> SlackCommandEventResponse {
    SlackCommandEventResponse::new(SlackMessageContent::new().with_text(text))
        .with_response_type(SlackMessageResponseType::Ephemeral)
}

impl Inbound for Handler {
    fn event(&self, event: Value) -> BoxFuture<'static, Result<(), NotStored>> {
        let id = str_at(&event, "/event_id").unwrap_or_default().to_string();
        Box::pin(keep(&self.app, &self.tasks, &self.turns(), id, event))
    }

    fn command(&self, command: SlackCommandEvent) -> BoxFuture<'static, SlackCommandEventResponse> {
        let app = self.app.clone();
        let tasks = self.tasks.clone();
        Box::pin(async move {
            let user = UserId(command.user_id.to_string());
            let text = command.text.clone().unwrap_or_default();
            let work = {
                let app = app.clone();
                let trigger = command.trigger_id.to_string();
                let channel = ChannelId(command.channel_id.to_string());
                tasks.spawn(async move {
                    // The modal needs the command's `trigger_id` within 3 s: opened at once.
                    match text.trim().strip_prefix("setup") {
                        Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                            match app::team_setup::open(&app, &user, &trigger, &channel, rest)
                                .await
                            {
                                Ok(text) => app::Reply::new(text),
                                Err(e) => {
                                    tracing::warn!(error = %e, "could not open the setup form");
                                    app::Reply::new(format!(
                                        "The setup form could not be opened ({e}); please try again."
                                    ))
                                }
                            }
                        }
                        _ => app::commands::command(&app, &user, &text).await,
                    }
                })
            };
            let mut work = work;
            match tokio::time::timeout(COMMAND_BUDGET, &mut work).await {
                Ok(Ok(reply)) => ephemeral(reply.text),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "/standup task failed");
                    ephemeral("Sorry, that did not work. Please try again.".into())
                }
                Err(_) => {
                    let url = command.response_url.0.to_string();
                    tasks.spawn(async move {
                        if let Ok(reply) = work.await
                            && let Err(e) = app.api().respond(&url, &reply.text).await
                        {
                            tracing::error!(error = %e, "could not send the late /standup answer");
                        }
                    });
                    ephemeral("On it…".into())
                }
            }
        })
    }

    fn interaction(
        &self,
        interaction: SlackInteractionEvent,
    ) -> BoxFuture<'static, Result<Option<Value>, NotStored>> {
        let app = self.app.clone();
        let tasks = self.tasks.clone();
        let turns = self.turns();
        Box::pin(async move {
            let payload = serde_json::to_value(&interaction).unwrap_or(Value::Null);
            let submission = match interaction {
                SlackInteractionEvent::BlockActions(_) => false,
                SlackInteractionEvent::ViewSubmission(_) => true,
                _ => return Ok(None),
            };
            if submission {
                // Slack shows validation errors only from the ack: checked before storing.
                let checked = if is_team_setup(&payload) {
                    app::team_setup::read(&payload, &app.config(), app.now())
                        .map(drop)
                        .map_err(Some)
                } else {
                    read_submission(&payload).map(drop)
                };
                if let Err(errors) = checked {
                    return Ok(errors);
                }
            } else {
                let action = str_at(&payload, "/actions/0/action_id")
                    .unwrap_or_default()
                    .to_string();
                if opens_form(&action) {
                    // `views.open` needs the click's `trigger_id` within 3 s: at once, not
                    // stored (a form opened after a restart would be refused anyway).
                    tasks.spawn(async move {
                        if let Err(e) = handle_action(&app, &payload).await {
                            tracing::error!(error = %e, action, "button click failed");
                        }
                    });
                    return Ok(None);
                }
                if !acts(&action) {
                    // Ticking a checkbox is sent too; only the buttons act on the ticks.
                    return Ok(None);
                }
            }
            // Slack gives every click and submission its own `trigger_id`.
            let Some(trigger) = str_at(&payload, "/trigger_id").filter(|t| !t.is_empty()) else {
                tracing::warn!("an interaction without a trigger_id; ignored");
                return Ok(None);
            };
            let id = format!("interaction:{trigger}");
            // The version a form answer is recorded under is fixed now, so handling it again
            // after a crash records the same version, not a new one.
            let stored = json!({
                "type": INTERACTION,
                "version": version_now(app.now()),
                "payload": payload,
            });
            keep(&app, &tasks, &turns, id, stored).await.map(|()| None)
        })
    }
}

/// The stored form of a click or submission in the inbox (beside Slack's `event_callback`s).
const INTERACTION: &str = "interaction";

/// Stores an event (or an interaction) before its ack, in a group with the others waiting,
/// then handles it in a spawned task when its turn comes. `Err` when it could not be stored:
/// no ack, so Slack delivers it again.
///
/// The event is queued for the store by the call itself; the future only waits for it. Socket
/// Mode calls this on the connection's reading task and waits for every event on one other
/// task, so the work per event is split between the two instead of all falling on the one that
/// waits.
fn keep(
    app: &Arc<App>,
    tasks: &TaskTracker,
    turns: &Turns,
    id: String,
    event: Value,
) -> impl Future<Output = Result<(), NotStored>> + Send + 'static {
    let received = Received {
        id: id.clone(),
        payload: event.to_string(),
        at: app.now(),
    };
    let stored = app.db().receive_event(received);
    let (app, tasks, turns) = (app.clone(), tasks.clone(), turns.clone());
    async move {
        let fresh = stored.await.map_err(|e| {
            tracing::error!(event_id = %id, error = %e, "cannot store an event; Slack will deliver it again");
            NotStored
        })?;
        if fresh {
            tasks.spawn(async move { handle_stored(&app, &id, event, &turns).await });
        } else {
            tracing::debug!(event_id = %id, "redelivered event ignored");
        }
        Ok(())
    }
}

/// Clicks that open a form: handled at once (see [`Handler::interaction`]).
fn opens_form(action: &str) -> bool {
    use crate::app::home::HOME_EDIT;
    use crate::app::messages::ANSWER_FORM;
    matches!(action, ANSWER_FORM | HOME_EDIT)
}

/// Clicks that change something, and so are stored before their ack.
fn acts(action: &str) -> bool {
    use crate::app::carry::Choice;
    use crate::app::messages::{OUT_OF_OFFICE, RESOLVE, SKIP};
    matches!(action, SKIP | OUT_OF_OFFICE | RESOLVE) || Choice::from_action(action).is_some()
}

/// Attempts per stored event in one run, and the wait before the first retry (doubling).
const EVENT_ATTEMPTS: u32 = 4;
const EVENT_RETRY: Duration = Duration::from_secs(2);

/// Handles a stored event, retrying a failure a few times, and marks it handled. Each attempt
/// waits for a turn (see [`HANDLING_AT_ONCE`]), held until its first Slack call. An event whose
/// handling keeps failing, or still waiting for a turn when the bot stops, stays pending and is
/// tried again at the next start.
async fn handle_stored(app: &App, id: &str, event: Value, turns: &Turns) {
    let inner = event.get("event").cloned().unwrap_or(Value::Null);
    let kind = str_at(&inner, "/type").unwrap_or_default();
    let mut wait = EVENT_RETRY;
    let stopping = &turns.stopping;
    for attempt in 1..=EVENT_ATTEMPTS {
        let turn = tokio::select! {
            biased;
            turn = Turn::take(&turns.turns) => turn,
            () = stopping.cancelled() => {
                tracing::debug!(event_id = %id, "shutting down: the event stays pending for the next start");
                return;
            }
        };
        let Err(e) = turn.hold(attempt_once(app, id, &event, &inner)).await else {
            return;
        };
        if attempt == EVENT_ATTEMPTS {
            tracing::error!(event_id = %id, error = %e, "giving up on an event for now; it is kept and retried at the next start");
            if kind == "message"
                && let Some(channel) = str_at(&inner, "/channel")
            {
                let sorry = "Sorry, I could not process that message yet. I have kept it and will try again; if your update does not show up in `/standup status`, send it again later.";
                let channel = ChannelId(channel.to_string());
                if let Err(e) = app.api().post(&channel, sorry, None, None).await {
                    tracing::error!(error = %e, "could not tell the member their update is delayed");
                }
            }
            return;
        }
        tracing::warn!(event_id = %id, attempt, error = %e, "handling an event failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stopping.cancelled() => {
                tracing::info!(event_id = %id, "shutting down: the event stays pending for the next start");
                return;
            }
        }
        wait *= 2;
    }
}

/// One attempt at a stored event (`inner` is its `event` object): counted first, marked
/// handled (or why it failed) after.
async fn attempt_once(
    app: &App,
    id: &str,
    event: &Value,
    inner: &Value,
) -> Result<(), crate::app::Error> {
    let event_id = id.to_string();
    if let Err(e) = app.write(move |s| s.event_attempt(&event_id)).await {
        tracing::error!(event_id = %id, error = %e, "cannot count an event attempt");
    }
    let user = |field: &str| str_at(inner, field).map(|u| UserId(u.to_string()));
    let outcome = match str_at(inner, "/type").unwrap_or_default() {
        _ if str_at(event, "/type") == Some(INTERACTION) => handle_interaction(app, event).await,
        "message" => handle_message(app, inner).await,
        // The Messages tab opens this event too; only the Home tab shows a view.
        "app_home_opened" if str_at(inner, "/tab") == Some("home") => match user("/user") {
            Some(u) => app::home::home_opened(app, &u).await,
            None => Ok(()),
        },
        "member_joined_channel" => match (user("/user"), str_at(inner, "/channel")) {
            (Some(u), Some(channel)) => {
                let channel = ChannelId(channel.to_string());
                people_changed(app, &channel, "joined").await;
                app::onboarding::member_joined(app, &u, &channel).await
            }
            _ => Ok(()),
        },
        "member_left_channel" => {
            if let Some(channel) = str_at(inner, "/channel") {
                people_changed(app, &ChannelId(channel.to_string()), "left").await;
            }
            Ok(())
        }
        _ => Ok(()),
    };
    let error = outcome.as_ref().err().map(ToString::to_string);
    let (event_id, now) = (id.to_string(), app.now());
    if let Err(e) = app
        .write(move |s| s.event_done(&event_id, error.as_deref(), now))
        .await
    {
        tracing::error!(event_id = %id, error = %e, "cannot mark an event handled");
    }
    outcome
}

/// Someone joined or left `channel`: a team whose members are that channel's people is looked
/// up again (the whole config, as a reload; a member who left is no longer prompted, one who
/// joined is prompted in an open cycle and introduced).
async fn people_changed(app: &App, channel: &ChannelId, what: &str) {
    let config = app.config();
    if config
        .teams
        .iter()
        .any(|t| t.members_from.as_ref() == Some(channel))
    {
        crate::bot::reload::reload_now(app, &format!("someone {what} {channel}")).await;
    }
}

/// A message event: a member's words in their DM with the bot, an edit or a deletion of them
/// (see [`crate::slack::message`]); anything else is not an answer.
async fn handle_message(app: &App, event: &Value) -> Result<(), crate::app::Error> {
    let Some(change) = message::read(event) else {
        return Ok(());
    };
    let Some(channel) = str_at(event, "/channel").map(|c| ChannelId(c.to_string())) else {
        return Ok(());
    };
    match change {
        Change::Wrote {
            user,
            ts,
            version,
            text,
            edited,
        } => {
            let user = UserId(user);
            if &user == app.bot_user() {
                return Ok(());
            }
            app::reply::direct_message(
                app,
                &crate::app::Dm {
                    user: &user,
                    channel: &channel,
                    ts: &ts,
                    version: &version,
                    text: &text,
                    edited,
                    replace: false,
                },
            )
            .await
        }
        Change::Deleted { user, ts, version } => {
            let user = user.map(UserId);
            app::reply::message_deleted(app, user.as_ref(), &channel, &ts, &version).await
        }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Whether a submission is of the `/standup setup` modal.
fn is_team_setup(payload: &Value) -> bool {
    str_at(payload, "/view/callback_id") == Some(app::team_setup::CALLBACK)
}

/// A stored click or form submission (see [`Handler::interaction`]).
async fn handle_interaction(app: &App, stored: &Value) -> Result<(), crate::app::Error> {
    let payload = stored.get("payload").unwrap_or(&Value::Null);
    if str_at(payload, "/type") != Some("view_submission") {
        return handle_action(app, payload).await;
    }
    if is_team_setup(payload) {
        // Checked again against the config as it is now (a reload may have come between).
        return match app::team_setup::read(payload, &app.config(), app.now()) {
            Ok(submitted) => app::team_setup::submitted(app, submitted).await,
            Err(errors) => {
                tracing::warn!(%errors, "a team setup no longer checks out; not kept");
                Ok(())
            }
        };
    }
    let Ok(form) = read_submission(payload) else {
        return Ok(());
    };
    let version = str_at(stored, "/version").map_or_else(|| version_now(app.now()), str::to_string);
    // The Home tab's *Edit* replaces the update; the prompt's form adds to it.
    app::reply::form_answer(app, &form.user, &form.meta, &version, &form.text, form.edit).await
}

/// A button click. An error is one worth trying again (the store or Slack failed).
async fn handle_action(app: &App, payload: &Value) -> Result<(), crate::app::Error> {
    // A payload without a user (never from Slack, but possible from a forger who knows the
    // signing secret or a broken proxy) has nobody to act for or answer.
    let Some(user) = str_at(payload, "/user/id")
        .filter(|u| !u.is_empty())
        .map(|u| UserId(u.to_string()))
    else {
        return Ok(());
    };
    let action = str_at(payload, "/actions/0/action_id").unwrap_or_default();
    let value = str_at(payload, "/actions/0/value").unwrap_or_default();
    let channel = str_at(payload, "/channel/id").map(|c| ChannelId(c.to_string()));
    let result: Result<Option<String>, crate::app::Error> = async {
        use crate::app::carry::{CarryClick, Choice, PLANNED_ITEMS};
        use crate::app::home::HOME_EDIT;
        use crate::app::messages::{ANSWER_FORM, OUT_OF_OFFICE, RESOLVE, SKIP};
        match action {
            ANSWER_FORM => {
                let trigger = str_at(payload, "/trigger_id").unwrap_or_default();
                app::buttons::open_form(app, &user, value, trigger).await?;
                Ok(None)
            }
            HOME_EDIT => {
                let trigger = str_at(payload, "/trigger_id").unwrap_or_default();
                app::home::open_edit_form(app, &user, value, trigger).await?;
                Ok(None)
            }
            SKIP | OUT_OF_OFFICE => {
                let kind = if action == SKIP { "skip" } else { "ooo" };
                Ok(Some(
                    app::buttons::mark_away(app, &user, value, kind).await?,
                ))
            }
            RESOLVE => Ok(app::flags::resolve(app, &user, value.parse().unwrap_or(-1)).await?),
            carry if Choice::from_action(carry).is_some() => {
                let checked = ticked(payload, PLANNED_ITEMS);
                let message_ts = str_at(payload, "/container/message_ts");
                let version = str_at(payload, "/actions/0/action_ts")
                    .map_or_else(|| version_now(app.now()), str::to_string);
                let click = CarryClick {
                    user: &user,
                    meta: value,
                    choice: Choice::from_action(carry).unwrap_or(Choice::Checked),
                    checked: &checked,
                    message: channel.as_ref().zip(message_ts),
                    version: &version,
                };
                Ok(Some(app::carry::carry(app, &click).await?))
            }
            // Ticking a checkbox is sent too; only the buttons act on the ticks.
            _ => Ok(None),
        }
    }
    .await;
    match (result, channel) {
        (Ok(Some(text)), Some(channel)) => {
            // In a DM the answer is a message; in a team channel only the clicker sees it.
            let sent = if channel.as_str().starts_with('D') {
                app.api().post(&channel, &text, None, None).await.map(drop)
            } else {
                app.api().post_ephemeral(&channel, &user, &text).await
            };
            if let Err(e) = sent {
                // What the click did is stored; only the answer is missing.
                tracing::error!(error = %e, "could not answer a button click");
            }
            Ok(())
        }
        (Ok(_), _) => Ok(()),
        (Err(e), _) => Err(e),
    }
}

/// The values of the options ticked in the checkboxes `action_id` of the clicked message, from
/// the `state.values` Slack sends with every `block_actions` (`{block_id: {action_id: {type,
/// selected_options: [{text, value}]}}}`).
fn ticked(payload: &Value, action_id: &str) -> Vec<String> {
    let Some(blocks) = payload.pointer("/state/values").and_then(Value::as_object) else {
        return Vec::new();
    };
    blocks
        .values()
        .filter_map(|actions| actions.get(action_id))
        .filter_map(|state| state.get("selected_options").and_then(Value::as_array))
        .flatten()
        .filter_map(|option| option.get("value").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// A modal submission read: who, for which cycle (`meta`), the reply text it makes, and whether
/// it is the Home tab's *Edit* (which replaces the update).
struct Submission {
    user: UserId,
    meta: String,
    text: String,
    edit: bool,
}

/// A modal submission: the form's fields become a reply with headings, parsed like any other.
/// `Err(Some(errors))` is the ack that shows the member what to fix; `Err(None)` a submission
/// with nobody or nothing to record.
fn read_submission(payload: &Value) -> Result<Submission, Option<Value>> {
    let user = UserId(
        str_at(payload, "/user/id")
            .filter(|u| !u.is_empty())
            .ok_or(None)?
            .to_string(),
    );
    let meta = str_at(payload, "/view/private_metadata")
        .unwrap_or_default()
        .to_string();
    let values = payload
        .pointer("/view/state/values")
        .and_then(Value::as_object)
        .ok_or(None)?;
    let answer = |block: &str| {
        values
            .get(block)
            // Each box is the only element of its block (its action id says which box).
            .and_then(|fields| fields.as_object()?.values().next())
            .and_then(|f| f.get("value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    // The boxes in the form's own order (`state.values` is keyed by block id, in no order).
    let mut answers: Vec<(String, String)> = payload
        .pointer("/view/blocks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("block_id").and_then(Value::as_str))
        .filter(|block| values.contains_key(*block))
        .map(|block| (block.to_string(), answer(block)))
        .collect();
    for block in values.keys() {
        if !answers.iter().any(|(b, _)| b == block) {
            answers.push((block.clone(), answer(block)));
        }
    }
    let text = app::home::form_text(&answers);
    let edit = str_at(payload, "/view/callback_id") == Some(crate::app::home::EDIT_CALLBACK);
    if text.trim().is_empty() {
        // The error goes under the form's first box.
        let first = answers.first().map_or("Shipped", |(b, _)| b.as_str());
        return Err(Some(
            json!({"response_action": "errors", "errors": {first: "Write at least one line."}}),
        ));
    }
    Ok(Submission {
        user,
        meta,
        text,
        edit,
    })
}

/// A Slack-style ts (`seconds.micros`) for a version that has no Slack ts of its own.
pub fn version_now(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}.{:06}", now.timestamp(), now.timestamp_subsec_micros())
}
