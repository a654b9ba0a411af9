//! What naming people and channels in the bot's config needs from Slack: users by email,
//! channels listed, and channel membership that changes while the app runs.

use crate::common::*;
use crate::socket_frames::RawSocket;
use serde_json::Value;
use slack_emulator::{Channel, Emulator, EmulatorConfig, Rule, User};
use std::time::Duration;

/// Long enough for a frame on 127.0.0.1 to have arrived if it was sent at all.
const QUIET: Duration = Duration::from_millis(400);

/// A form POST of `args` (`a=1&b=2`) to `method` with the bot token; the JSON answer.
async fn call(emu: &Emulator, method: &str, args: &str) -> Value {
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let (status, body) = raw(
        "POST",
        &format!("{}/{method}", emu.api_url()),
        &[
            ("authorization", &bearer),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        args,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The manifest's scopes plus `extra`.
fn scopes_with(extra: &[&str]) -> Vec<String> {
    let mut scopes = EmulatorConfig::default().scopes;
    scopes.extend(extra.iter().map(|s| s.to_string()));
    scopes
}

/// The manifest's scopes without `removed`.
fn scopes_without(removed: &str) -> Vec<String> {
    let mut scopes = EmulatorConfig::default().scopes;
    scopes.retain(|s| s != removed);
    scopes
}

fn people() -> EmulatorConfig {
    workspace()
        .with_user(User::new("U0DEE", "dee").email("Dee@Example.com"))
        .with_user(User::new("U0EVE", "eve").email("eve@example.com"))
}

#[tokio::test]
async fn users_are_found_by_email_with_users_read_email() {
    let emu = Emulator::start(people().with_scopes(scopes_with(&["users:read.email"]))).await;

    let found = call(&emu, "users.lookupByEmail", "email=eve%40example.com").await;
    assert_eq!(found["ok"], true, "{found}");
    assert_eq!(found["user"]["id"], "U0EVE");
    assert_eq!(found["user"]["profile"]["email"], "eve@example.com");
    // The same user object as users.info, email included with the scope.
    let info = call(&emu, "users.info", "user=U0EVE").await;
    assert_eq!(found["user"], info["user"]);
    // Matched as written: Slack does not document ignoring case, so neither does the emulator.
    let found = call(&emu, "users.lookupByEmail", "email=Dee%40Example.com").await;
    assert_eq!(found["user"]["id"], "U0DEE");
    let other_case = call(&emu, "users.lookupByEmail", "email=dee%40example.com").await;
    assert_eq!(other_case["error"], "users_not_found");

    let missing = call(&emu, "users.lookupByEmail", "email=nobody%40example.com").await;
    assert_eq!(missing["ok"], false);
    assert_eq!(missing["error"], "users_not_found");
    // Users without an address (Ada has none) are not found by an empty one either.
    let empty = call(&emu, "users.lookupByEmail", "email=").await;
    assert_eq!(empty["ok"], false);
    emu.expect_violation(Rule::MissingArgument);

    let listed = call(&emu, "users.list", "").await;
    let eve = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "U0EVE")
        .unwrap()
        .clone();
    assert_eq!(eve["profile"]["email"], "eve@example.com");
}

#[tokio::test]
async fn without_users_read_email_there_is_no_lookup_and_no_email() {
    let emu = Emulator::start(people().with_scopes(scopes_without("users:read.email"))).await;

    let refused = call(&emu, "users.lookupByEmail", "email=eve%40example.com").await;
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"], "missing_scope");
    assert_eq!(refused["needed"], "users:read.email");
    let violations = emu.take_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].rule, Rule::MissingScope);

    let info = call(&emu, "users.info", "user=U0EVE").await;
    assert_eq!(info["ok"], true);
    assert!(info["user"]["profile"].get("email").is_none(), "{info}");
    let listed = call(&emu, "users.list", "").await;
    for user in listed["members"].as_array().unwrap() {
        assert!(user["profile"].get("email").is_none(), "{user}");
    }
}

/// Public #standup (bot, Ada, Bob), public #random (no bot), #old (archived), private
/// #secret with the bot and #hidden without it, and 120 more public channels.
fn channels() -> EmulatorConfig {
    let mut config = workspace()
        .with_channel(Channel::new("C0OLD", "old").archived())
        .with_channel(Channel::new("G0SECRET", "secret").members(&["U0ADA"]))
        .with_channel(Channel::new("G0HIDDEN", "hidden").without_bot());
    for n in 0..120 {
        config = config.with_channel(Channel::new(&format!("C1{n:03}"), &format!("team-{n}")));
    }
    config
}

/// Every page of conversations.list with `args`, following the cursor; the channel ids.
async fn list_all(emu: &Emulator, args: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor = String::new();
    loop {
        let body = call(
            emu,
            "conversations.list",
            &format!("{args}&cursor={}", cursor.replace('=', "%3D")),
        )
        .await;
        assert_eq!(body["ok"], true, "{body}");
        pages += 1;
        for c in body["channels"].as_array().unwrap() {
            ids.push(c["id"].as_str().unwrap().to_string());
        }
        cursor = body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            return (ids, pages);
        }
    }
}

#[tokio::test]
async fn conversations_list_pages_by_type_and_shows_private_channels_the_bot_is_in() {
    let emu = Emulator::start(channels()).await;

    // Default: public channels only, 100 a page.
    let first = call(&emu, "conversations.list", "").await;
    assert_eq!(first["channels"].as_array().unwrap().len(), 100);
    let standup = &first["channels"][0];
    assert_eq!(standup["id"], "C0STANDUP");
    assert_eq!(standup["name"], "standup");
    assert_eq!(standup["is_channel"], true);
    assert_eq!(standup["is_private"], false);
    assert_eq!(standup["is_archived"], false);
    assert_eq!(standup["is_member"], true);
    assert_eq!(first["channels"][1]["is_member"], false, "#random");

    let (public, pages) = list_all(&emu, "limit=50").await;
    assert_eq!(pages, 3);
    assert_eq!(public.len(), 123);
    assert!(public.contains(&"C0OLD".to_string()));
    assert!(!public.iter().any(|id| id.starts_with('G')));

    let (unarchived, _) = list_all(&emu, "limit=1000&exclude_archived=true").await;
    assert_eq!(unarchived.len(), 122);
    assert!(!unarchived.contains(&"C0OLD".to_string()));

    let (private, _) = list_all(&emu, "types=private_channel").await;
    assert_eq!(private, ["G0SECRET"], "#hidden does not have the bot");
    let secret = call(&emu, "conversations.list", "types=private_channel").await;
    assert_eq!(secret["channels"][0]["is_private"], true);
    assert_eq!(secret["channels"][0]["is_member"], true);

    let (both, _) = list_all(&emu, "types=public_channel,private_channel&limit=1000").await;
    assert_eq!(both.len(), 124);

    // The bot invited to #hidden: now it lists it.
    emu.join_channel(&emu.config().bot_user_id.clone(), "G0HIDDEN")
        .await;
    let (private, _) = list_all(&emu, "types=private_channel").await;
    assert_eq!(private, ["G0SECRET", "G0HIDDEN"]);

    let bad = call(&emu, "conversations.list", "types=public_channel,channels").await;
    assert_eq!(bad["error"], "invalid_types");
    let bad = call(&emu, "conversations.list", "cursor=bm9wZQ%3D%3D").await;
    assert_eq!(bad["error"], "invalid_cursor");
}

#[tokio::test]
async fn conversations_list_needs_the_scope_of_every_type_asked_for() {
    let emu = Emulator::start(channels().with_scopes(scopes_without("groups:read"))).await;
    let public = call(&emu, "conversations.list", "types=public_channel").await;
    assert_eq!(public["ok"], true, "{public}");
    for types in ["private_channel", "public_channel,private_channel"] {
        let refused = call(&emu, "conversations.list", &format!("types={types}")).await;
        assert_eq!(refused["error"], "missing_scope", "{types}");
        assert_eq!(refused["needed"], "groups:read", "{types}");
    }
    assert_eq!(emu.take_violations().len(), 2);

    let emu = Emulator::start(channels().with_scopes(scopes_without("channels:read"))).await;
    let refused = call(&emu, "conversations.list", "").await;
    assert_eq!(refused["needed"], "channels:read");
    // The manifest grants no im:read.
    let refused = call(&emu, "conversations.list", "types=im").await;
    assert_eq!(refused["needed"], "im:read");
    assert_eq!(emu.take_violations().len(), 2);
}

#[tokio::test]
async fn members_join_and_leave_and_the_bot_hears_of_it() {
    let config = workspace().with_user(User::new("U0DEE", "dee"));
    assert!(
        config.bot_events.iter().any(|e| e == "member_left_channel"),
        "the manifest subscribes"
    );
    let emu = Emulator::start(config).await;
    let mut socket = RawSocket::connect(&emu).await;
    let bot = emu.config().bot_user_id.clone();
    let members = |body: Value| strings(&body["members"]);

    let before = call(&emu, "conversations.members", "channel=C0STANDUP").await;
    assert_eq!(members(before), ["U0ADA", "U0BOB", bot.as_str()]);

    let sent = emu.join_channel("U0DEE", "C0STANDUP").await.expect("sent");
    let now = call(&emu, "conversations.members", "channel=C0STANDUP").await;
    assert_eq!(members(now), ["U0ADA", "U0BOB", bot.as_str(), "U0DEE"]);
    let frame = socket.next(WAIT).await.expect("member_joined_channel");
    assert_eq!(frame["envelope_id"], sent.envelope_id());
    let event = &frame["payload"]["event"];
    assert_eq!(event["type"], "member_joined_channel");
    assert_eq!(event["user"], "U0DEE");
    assert_eq!(event["channel"], "C0STANDUP");
    assert_eq!(event["channel_type"], "C");
    assert_eq!(event["team"], emu.config().team_id);
    socket.ack(&frame).await;
    // Joining again changes nothing and says nothing.
    assert!(emu.join_channel("U0DEE", "C0STANDUP").await.is_none());

    let sent = emu.leave_channel("U0ADA", "C0STANDUP").await.expect("sent");
    let now = call(&emu, "conversations.members", "channel=C0STANDUP").await;
    assert_eq!(members(now), ["U0BOB", bot.as_str(), "U0DEE"]);
    assert_eq!(
        emu.channel_members("C0STANDUP"),
        ["U0BOB", bot.as_str(), "U0DEE"]
    );
    let frame = socket.next(WAIT).await.expect("member_left_channel");
    assert_eq!(frame["envelope_id"], sent.envelope_id());
    let event = &frame["payload"]["event"];
    assert_eq!(event["type"], "member_left_channel");
    assert_eq!(event["user"], "U0ADA");
    assert_eq!(event["channel"], "C0STANDUP");
    assert_eq!(event["channel_type"], "C");
    assert_eq!(event["team"], emu.config().team_id);
    socket.ack(&frame).await;
    assert!(emu.leave_channel("U0ADA", "C0STANDUP").await.is_none());

    // Paged.
    let page = call(&emu, "conversations.members", "channel=C0STANDUP&limit=2").await;
    assert_eq!(members(page.clone()), ["U0BOB", bot.as_str()]);
    let cursor = page["response_metadata"]["next_cursor"].as_str().unwrap();
    let rest = call(
        &emu,
        "conversations.members",
        &format!(
            "channel=C0STANDUP&limit=2&cursor={}",
            cursor.replace('=', "%3D")
        ),
    )
    .await;
    assert_eq!(members(rest.clone()), ["U0DEE"]);
    assert_eq!(rest["response_metadata"]["next_cursor"], "");

    // No event from a channel the bot is not in.
    assert!(emu.join_channel("U0DEE", "C0RANDOM").await.is_none());
    assert_eq!(emu.channel_members("C0RANDOM"), ["U0DEE"]);
    // The bot removed: is_member goes false, posting is refused, and the app hears it.
    let info = call(&emu, "conversations.info", "channel=C0STANDUP").await;
    assert_eq!(info["channel"]["is_member"], true);
    emu.leave_channel(&bot, "C0STANDUP").await.expect("sent");
    let frame = socket.next(WAIT).await.expect("the bot's own leaving");
    assert_eq!(frame["payload"]["event"]["user"], bot.as_str());
    socket.ack(&frame).await;
    let info = call(&emu, "conversations.info", "channel=C0STANDUP").await;
    assert_eq!(info["channel"]["is_member"], false);
    let post = call(&emu, "chat.postMessage", "channel=C0STANDUP&text=hi").await;
    assert_eq!(post["error"], "not_in_channel");
    assert!(socket.next(QUIET).await.is_none(), "nothing else was sent");
}

#[tokio::test]
async fn a_membership_event_the_app_does_not_subscribe_to_is_not_sent() {
    // An app that does not subscribe to member_left_channel (the manifest does).
    let mut config = workspace().with_user(User::new("U0DEE", "dee"));
    config.bot_events.retain(|e| e != "member_left_channel");
    let emu = Emulator::start(config).await;
    let mut socket = RawSocket::connect(&emu).await;
    assert!(emu.leave_channel("U0ADA", "C0STANDUP").await.is_none());
    assert_eq!(
        emu.channel_members("C0STANDUP"),
        ["U0BOB", emu.config().bot_user_id.as_str()]
    );
    assert!(socket.next(QUIET).await.is_none());

    // Subscribed but without the scope: Slack sends a private channel's only with groups:read.
    let config = workspace()
        .with_channel(Channel::new("G0SECRET", "secret"))
        .with_scopes(scopes_without("groups:read"));
    let emu = Emulator::start(config).await;
    let mut socket = RawSocket::connect(&emu).await;
    assert!(emu.join_channel("U0ADA", "G0SECRET").await.is_none());
    assert!(
        emu.join_channel("U0ADA", "C0STANDUP").await.is_none(),
        "in already"
    );
    assert!(emu.join_channel("U0CY", "C0STANDUP").await.is_some());
    let frame = socket.next(WAIT).await.expect("the public channel's");
    assert_eq!(frame["payload"]["event"]["channel"], "C0STANDUP");
    socket.ack(&frame).await;
}
