//! Socket Mode: a websocket to Slack (no public URL needed), through slack-morphism's listener.
//!
//! The listener calls plain `fn` callbacks; the [`Inbound`] handler reaches them through the
//! listener's user state.

use std::future::Future;
use std::sync::Arc;

use slack_morphism::prelude::*;

use super::Inbound;
use super::client::{Api, Connector, Error};
use crate::config::Secret;

type Client = SlackClient<Connector>;

#[derive(Clone)]
struct HandlerState(Arc<dyn Inbound>);

async fn handler(state: &SlackClientEventsUserState) -> Option<Arc<dyn Inbound>> {
    state
        .read()
        .await
        .get_user_state::<HandlerState>()
        .map(|h| h.0.clone())
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(h) = handler(&state).await {
        h.event(event).await;
    }
    Ok(())
}

async fn on_command(
    command: SlackCommandEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    match handler(&state).await {
        Some(h) => Ok(h.command(command).await),
        None => Ok(SlackCommandEventResponse::new(
            SlackMessageContent::new().with_text("Starting up, try again".into()),
        )),
    }
}

async fn on_interaction(
    interaction: SlackInteractionEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let Some(h) = handler(&state).await else {
        return Ok(SlackInteractionResponse::Empty);
    };
    let response = h.interaction(interaction).await;
    Ok(
        match response.and_then(|v| serde_json::from_value::<SlackViewSubmissionResponse>(v).ok()) {
            Some(r) => SlackInteractionResponse::ViewSubmission(r),
            None => SlackInteractionResponse::Empty,
        },
    )
}

/// Every callback returns `Ok`; should one fail anyway, ack it (200) rather than have Slack
/// redeliver something the bot cannot handle.
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<Client>,
    _state: SlackClientEventsUserState,
) -> axum::http::StatusCode {
    tracing::error!(error = %err, "Socket Mode callback failed");
    axum::http::StatusCode::OK
}

/// Connects with the app token and serves until `shutdown` resolves. slack-morphism reconnects
/// by itself on `disconnect` messages and dropped connections.
pub async fn serve(
    api: &Api,
    app_token: &Secret,
    inbound: Arc<dyn Inbound>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(api.client())
            .with_error_handler(on_error)
            .with_user_state(HandlerState(inbound)),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_initial_backoff_in_seconds(1);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue::new(app_token.expose().to_string()));
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        listener.listen_for(&token),
    )
    .await
    .map_err(|_| Error::Timeout {
        method: "apps.connections.open",
        secs: 30,
    })?
    .map_err(|e| Error::Transport {
        method: "apps.connections.open",
        detail: e.to_string(),
    })?;
    listener.start().await;
    tracing::info!("connected to Slack over Socket Mode");
    shutdown.await;
    listener.shutdown().await;
    Ok(())
}
