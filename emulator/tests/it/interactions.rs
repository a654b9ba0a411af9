//! Clicks and form submissions built only from what the bot posted.

use crate::common::*;
use serde_json::{Value, json};
use slack_emulator::Emulator;
use slack_morphism::prelude::*;

/// A Web API call as the bot, with a JSON body; the answer.
async fn call(emu: &Emulator, method: &str, body: Value) -> Value {
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let (status, answer) = raw(
        "POST",
        &format!("{}/{method}", emu.api_url()),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json; charset=utf-8"),
        ],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ok"], true, "{method}: {answer}");
    answer
}

fn option(text: &str, value: &str) -> Value {
    json!({"text": {"type": "plain_text", "text": text}, "value": value})
}

#[tokio::test]
async fn a_click_names_only_a_button_the_bot_posted() {
    let emu = Emulator::start(workspace()).await;
    let posted = call(
        &emu,
        "chat.postMessage",
        json!({"channel": "C0STANDUP", "text": "Your plan", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Ticked ones are done"}},
            {"type": "actions", "block_id": "plan", "elements": [
                {"type": "checkboxes", "action_id": "items",
                 "options": [option("Write docs", "0"), option("Ship it", "1")]},
                {"type": "button", "action_id": "carry", "value": "orbit|2026-12-07",
                 "style": "primary", "text": {"type": "plain_text", "text": "Carry"}}
            ]}
        ]}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap();

    let click = emu
        .click_ticking("U0ADA", "C0STANDUP", ts, "carry", &["Ship it"])
        .unwrap();
    let action = &click["actions"][0];
    assert_eq!(action["action_id"], "carry");
    assert_eq!(action["block_id"], "plan");
    assert_eq!(
        action["value"], "orbit|2026-12-07",
        "the value the bot gave the button"
    );
    assert_eq!(action["text"]["text"], "Carry");
    assert_eq!(click["container"]["message_ts"], ts);
    assert_eq!(click["message"]["blocks"][1]["block_id"], "plan");
    assert_eq!(
        click["state"]["values"]["plan"]["items"]["selected_options"],
        json!([option("Ship it", "1")])
    );
    // slack-morphism reads it as Slack's own.
    let parsed: SlackInteractionEvent = serde_json::from_value(click).unwrap();
    assert!(matches!(parsed, SlackInteractionEvent::BlockActions(_)));

    // Nothing the bot did not post can be clicked.
    let refused = |result: Result<Value, slack_emulator::InteractionError>| {
        result.expect_err("refused").to_string()
    };
    let missing = refused(emu.click("U0ADA", "C0STANDUP", ts, "skip"));
    assert!(
        missing.contains("no element with action_id \"skip\""),
        "{missing}"
    );
    let not_posted = refused(emu.click("U0ADA", "C0STANDUP", "1.000001", "carry"));
    assert!(
        not_posted.contains("the bot posted no message 1.000001"),
        "{not_posted}"
    );
    let wrong_tick = refused(emu.click_ticking("U0ADA", "C0STANDUP", ts, "carry", &["1"]));
    assert!(
        wrong_tick.contains("no checkbox option \"1\""),
        "{wrong_tick}"
    );
    let wrong_value = refused(emu.click_value("U0ADA", "C0STANDUP", ts, "carry", "apollo|x"));
    assert!(
        wrong_value.contains("no \"carry\" button with value"),
        "{wrong_value}"
    );
    let not_a_button = refused(emu.click("U0ADA", "C0STANDUP", ts, "items"));
    assert!(
        not_a_button.contains("is a checkboxes, not a button"),
        "{not_a_button}"
    );

    // An ephemeral message is clicked only by the one who sees it, and Slack sends no message.
    let ephemeral = call(
        &emu,
        "chat.postEphemeral",
        json!({"channel": "C0STANDUP", "user": "U0ADA", "text": "Only you", "blocks": [
            {"type": "actions", "elements": [{"type": "button", "action_id": "undo",
             "text": {"type": "plain_text", "text": "Undo"}}]}
        ]}),
    )
    .await;
    let ts = ephemeral["message_ts"].as_str().unwrap();
    let click = emu.click("U0ADA", "C0STANDUP", ts, "undo").unwrap();
    assert_eq!(click["container"]["is_ephemeral"], true);
    assert!(click.get("message").is_none());
    assert!(emu.click("U0BOB", "C0STANDUP", ts, "undo").is_err());
}

#[tokio::test]
async fn a_submission_fills_only_the_inputs_of_the_opened_modal() {
    let emu = Emulator::start(workspace()).await;
    let opened = call(
        &emu,
        "views.open",
        json!({"trigger_id": emu.new_trigger_id(), "view": {
            "type": "modal", "callback_id": "form",
            "title": {"type": "plain_text", "text": "Standup"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [
                {"type": "input", "block_id": "Shipped", "optional": true,
                 "label": {"type": "plain_text", "text": "Shipped"},
                 "element": {"type": "plain_text_input", "action_id": "answer", "multiline": true,
                             "initial_value": "the exporter"}},
                {"type": "input", "block_id": "Team",
                 "label": {"type": "plain_text", "text": "Team"},
                 "element": {"type": "static_select", "action_id": "team",
                             "options": [option("Orbit", "orbit"), option("Apollo", "apollo")]}},
                {"type": "input", "block_id": "Title", "optional": true,
                 "label": {"type": "plain_text", "text": "Title"},
                 "element": {"type": "plain_text_input", "action_id": "title", "max_length": 10}}
            ]
        }}),
    )
    .await;
    let view_id = opened["view"]["id"].as_str().unwrap();

    let submitted = emu
        .submit_view("U0ADA", view_id, &[("Team", "Apollo")])
        .unwrap();
    let values = &submitted["view"]["state"]["values"];
    assert_eq!(
        values["Shipped"]["answer"]["value"], "the exporter",
        "left as prefilled"
    );
    assert_eq!(values["Team"]["team"]["selected_option"]["value"], "apollo");
    assert_eq!(values["Title"]["title"]["value"], Value::Null, "left empty");
    assert_eq!(submitted["view"]["callback_id"], "form");
    let parsed: SlackInteractionEvent = serde_json::from_value(submitted).unwrap();
    assert!(matches!(parsed, SlackInteractionEvent::ViewSubmission(_)));

    let refused = |values: &[(&str, &str)]| {
        emu.submit_view("U0ADA", view_id, values)
            .expect_err("refused")
            .to_string()
    };
    assert!(refused(&[("Blocked", "x"), ("Team", "Orbit")]).contains("no input block \"Blocked\""));
    assert!(refused(&[("Team", "orbit")]).contains("no option \"orbit\""));
    assert!(refused(&[]).contains("\"Team\" is required"));
    assert!(
        refused(&[("Team", "Orbit"), ("Title", "far too long a title")]).contains("at most 10")
    );
    assert!(refused(&[("Team", "Orbit"), ("Title", "two\nlines")]).contains("single-line"));
    assert!(emu.submit_view("U0ADA", "V0NOTOPENED", &[]).is_err());
}

/// The trigger of a slash command's fields.
fn command_trigger(emu: &Emulator, channel: &str) -> String {
    emu.slash_command_fields("/standup", "setup", "U0ADA", channel)
        .into_iter()
        .find(|(k, _)| k == "trigger_id")
        .map(|(_, v)| v)
        .unwrap()
}

#[tokio::test]
async fn a_setup_modal_from_a_slash_command_takes_a_time_people_and_the_current_channel() {
    let emu = Emulator::start(workspace()).await;
    let setup_view = json!({
        "type": "modal", "callback_id": "setup",
        "title": {"type": "plain_text", "text": "Standup setup"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {"type": "input", "block_id": "time",
             "label": {"type": "plain_text", "text": "Time"},
             "element": {"type": "timepicker", "action_id": "at", "initial_time": "09:00",
                         "timezone": "Europe/Berlin"}},
            {"type": "input", "block_id": "members",
             "label": {"type": "plain_text", "text": "Members"},
             "element": {"type": "multi_users_select", "action_id": "who",
                         "max_selected_items": 2}},
            {"type": "input", "block_id": "channel",
             "label": {"type": "plain_text", "text": "Channel"},
             "element": {"type": "conversations_select", "action_id": "where",
                         "default_to_current_conversation": true, "response_url_enabled": true,
                         "filter": {"include": ["public", "private"]}}}
        ]
    });
    let opened = call(
        &emu,
        "views.open",
        json!({"trigger_id": command_trigger(&emu, "C0STANDUP"), "view": setup_view}),
    )
    .await;
    let view_id = opened["view"]["id"].as_str().unwrap();
    assert_eq!(
        emu.views().last().unwrap().conversation.as_deref(),
        Some("C0STANDUP"),
        "the trigger's channel is recorded"
    );

    let submitted = emu
        .submit_view(
            "U0ADA",
            view_id,
            &[
                ("time", "09:30"),
                ("members", "U0ADA"),
                ("members", "U0BOB"),
            ],
        )
        .unwrap();
    let values = &submitted["view"]["state"]["values"];
    assert_eq!(
        values["time"]["at"],
        json!({"type": "timepicker", "selected_time": "09:30"})
    );
    assert_eq!(
        values["members"]["who"],
        json!({"type": "multi_users_select", "selected_users": ["U0ADA", "U0BOB"]})
    );
    assert_eq!(
        values["channel"]["where"],
        json!({"type": "conversations_select", "selected_conversation": "C0STANDUP"})
    );
    let parsed: SlackInteractionEvent = serde_json::from_value(submitted).unwrap();
    assert!(matches!(parsed, SlackInteractionEvent::ViewSubmission(_)));

    let refused = |values: &[(&str, &str)]| {
        emu.submit_view("U0ADA", view_id, values)
            .expect_err("refused")
            .to_string()
    };
    let ok = [("members", "U0ADA")];
    assert!(refused(&[ok[0], ("time", "9:30am")]).contains("not an HH:mm time"));
    assert!(refused(&[("members", "U0NOBODY")]).contains("no user of the workspace"));
    assert!(
        refused(&[
            ("members", "U0ADA"),
            ("members", "U0BOB"),
            ("members", "U0CY")
        ])
        .contains("at most 2 users")
    );
    assert!(refused(&[ok[0], ("channel", "C0NOWHERE")]).contains("no conversation"));
    assert!(refused(&[ok[0], ("channel", "D0ADA")]).contains("includes only"));
    assert!(
        emu.submit_view("U0ADA", view_id, &[ok[0], ("channel", "C0RANDOM")])
            .is_ok()
    );

    // views.update keeps the conversation; a trigger minted on its own has none.
    let updated = call(
        &emu,
        "views.update",
        json!({"view_id": view_id, "view": setup_view}),
    )
    .await;
    assert_eq!(updated["view"]["id"], view_id);
    assert_eq!(
        emu.views().last().unwrap().conversation.as_deref(),
        Some("C0STANDUP")
    );
    let bare = call(
        &emu,
        "views.open",
        json!({"trigger_id": emu.new_trigger_id(), "view": setup_view}),
    )
    .await;
    let bare_id = bare["view"]["id"].as_str().unwrap();
    assert!(
        emu.submit_view("U0ADA", bare_id, &ok)
            .expect_err("the channel input is required and starts empty")
            .to_string()
            .contains("\"channel\" is required")
    );
}

#[tokio::test]
async fn a_setup_modal_slack_refuses_is_not_opened() {
    let emu = Emulator::start(workspace()).await;
    let bearer = format!("Bearer {}", emu.config().bot_token);
    let view = json!({
        "type": "modal", "title": {"type": "plain_text", "text": "Standup setup"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [{"type": "input", "block_id": "time",
            "label": {"type": "plain_text", "text": "Time"},
            "element": {"type": "timepicker", "action_id": "at", "initial_time": "9am"}}]
    });
    let (_, answer) = raw(
        "POST",
        &format!("{}/views.open", emu.api_url()),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json; charset=utf-8"),
        ],
        &json!({"trigger_id": emu.new_trigger_id(), "view": view}).to_string(),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments", "{answer}");
    assert!(emu.views().is_empty());
    emu.expect_violation(slack_emulator::Rule::InvalidArguments);
}

#[tokio::test]
async fn admins_and_owners_say_so_in_their_user_objects() {
    use slack_emulator::User;
    let emu = Emulator::start(
        workspace()
            .with_user(User::new("U0ADMIN", "grace").admin())
            .with_user(User::new("U0OWNER", "linus").owner()),
    )
    .await;
    let roles = |body: &Value| (body["is_admin"].clone(), body["is_owner"].clone());
    let info = |user: &'static str| {
        let emu = &emu;
        async move { call(emu, "users.info", json!({"user": user})).await["user"].clone() }
    };
    assert_eq!(roles(&info("U0ADMIN").await), (json!(true), json!(false)));
    assert_eq!(roles(&info("U0OWNER").await), (json!(false), json!(true)));
    assert_eq!(roles(&info("U0ADA").await), (json!(false), json!(false)));
    let list = call(&emu, "users.list", json!({})).await;
    let admin = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "U0ADMIN")
        .unwrap();
    assert_eq!(roles(admin), (json!(true), json!(false)));
}
