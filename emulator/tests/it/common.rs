use slack_emulator::{Channel, Emulator, EmulatorConfig, User};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(5);

/// Ada (Berlin, no display name), Bob (display name), Cy (deactivated); #standup with the bot,
/// #random without.
pub fn workspace() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_user(User::new("U0ADA", "ada").real_name("Ada Lovelace").tz(
            "Europe/Berlin",
            "Central European Summer Time",
            7200,
        ))
        .with_user(User::new("U0BOB", "bob").display_name("Bobby").status(
            ":palm_tree:",
            "On leave",
            1_900_000_000,
        ))
        .with_user(User::new("U0CY", "cy").deleted())
        .with_channel(Channel::new("C0STANDUP", "standup").members(&["U0ADA", "U0BOB"]))
        .with_channel(Channel::new("C0RANDOM", "random").without_bot())
}

/// How the bot must build its client to reach a plain-http emulator: the https connector
/// with `https_or_http()` and HTTP/1 enabled, pointed at `api_url()`.
pub fn client(emu: &Emulator) -> SlackHyperClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .expect("native roots")
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    SlackClient::new(
        SlackClientHyperConnector::with_connector(connector).with_slack_api_url(&emu.api_url()),
    )
}

pub fn bot_token(emu: &Emulator) -> SlackApiToken {
    SlackApiToken::new(emu.config().bot_token.clone().into())
}

pub fn app_token(emu: &Emulator) -> SlackApiToken {
    SlackApiToken::new(emu.config().app_token.clone().into())
}

/// The Slack error code of a failed call.
pub fn code<T: std::fmt::Debug>(result: ClientResult<T>) -> String {
    match result {
        Err(SlackClientError::ApiError(err)) => err.code,
        other => panic!("expected a Slack API error, got {other:?}"),
    }
}

/// A raw HTTP request to the emulator: (status, body as JSON or string).
pub async fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut request = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client
        .request(
            request
                .body(Full::new(bytes::Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Posts, as the bot and through the Web API, a message in #standup with one button (action
/// `skip`, value `skip`), so a test has something real to click; returns its `ts`.
pub async fn post_skip_button(emu: &Emulator) -> String {
    let button = SlackBlockButtonElement::new(pt!("Skip"))
        .with_action_id("skip".into())
        .with_value("skip".into());
    let content = SlackMessageContent::new()
        .with_text("Skip today?".into())
        .with_blocks(slack_blocks![some_into(SlackActionsBlock::new(
            slack_blocks![some_into(button)]
        ))]);
    let post = SlackApiChatPostMessageRequest::new("C0STANDUP".into(), content);
    client(emu)
        .open_session(&bot_token(emu))
        .chat_post_message(&post)
        .await
        .unwrap()
        .ts
        .to_string()
}
