//! The App Home and channel-membership payloads read as slack-morphism reads Slack's own.

use crate::common::*;
use slack_emulator::Emulator;
use slack_morphism::prelude::*;

#[tokio::test]
async fn home_and_membership_payloads_are_slacks_shapes() {
    let emu = Emulator::start(workspace()).await;
    let session_client = client(&emu);
    let token = bot_token(&emu);
    let session = session_client.open_session(&token);

    // Before anything is published, app_home_opened carries no view.
    let first = emu.event_callback(emu.app_home_opened("U0ADA", "home"));
    assert!(first["event"].get("view").is_none());
    let parsed: SlackPushEventCallback = serde_json::from_value(first).unwrap();
    let SlackEventCallbackBody::AppHomeOpened(opened) = parsed.event else {
        panic!("not app_home_opened: {:?}", parsed.event);
    };
    assert_eq!(opened.tab.as_deref(), Some("home"));
    assert_eq!(opened.channel.to_string(), emu.dm_channel("U0ADA"));

    // Published once, the Home comes back in the event and its buttons can be clicked.
    let button = SlackBlockButtonElement::new(pt!("Edit"))
        .with_action_id("home_edit".into())
        .with_value("orbit|2024-03-11".into());
    let home = SlackView::Home(SlackHomeView::new(slack_blocks![some_into(
        SlackActionsBlock::new(slack_blocks![some_into(button)])
    )]));
    session
        .views_publish(&SlackApiViewsPublishRequest::new("U0ADA".into(), home))
        .await
        .unwrap();
    let again = emu.event_callback(emu.app_home_opened("U0ADA", "home"));
    let parsed: SlackPushEventCallback = serde_json::from_value(again).unwrap();
    let SlackEventCallbackBody::AppHomeOpened(opened) = parsed.event else {
        panic!("not app_home_opened");
    };
    assert!(matches!(opened.view, Some(SlackView::Home(_))));

    let click = emu.click_in_home("U0ADA", "home_edit", None).unwrap();
    assert_eq!(click["container"]["type"], "view");
    assert_eq!(click["actions"][0]["value"], "orbit|2024-03-11");
    assert!(emu.click_in_home("U0ADA", "home_skip", None).is_err());
    assert!(
        emu.click_in_home("U0BOB", "home_edit", None).is_err(),
        "Bob has no Home yet"
    );
    let parsed: SlackInteractionEvent = serde_json::from_value(click).unwrap();
    let SlackInteractionEvent::BlockActions(actions) = parsed else {
        panic!("not block_actions");
    };
    assert!(matches!(
        actions.container,
        SlackInteractionActionContainer::View(_)
    ));
    assert!(actions.channel.is_none());
    let action = &actions.actions.unwrap()[0];
    assert_eq!(action.action_id.to_string(), "home_edit");

    // The bot invited to a channel, and a person joining it.
    for (user, inviter) in [
        (emu.config().bot_user_id.clone(), Some("U0ADA")),
        ("U0BOB".to_string(), None),
    ] {
        let joined = emu.event_callback(emu.member_joined_channel(&user, "C0STANDUP", inviter));
        let parsed: SlackPushEventCallback = serde_json::from_value(joined).unwrap();
        let SlackEventCallbackBody::MemberJoinedChannel(joined) = parsed.event else {
            panic!("not member_joined_channel");
        };
        assert_eq!(joined.user.to_string(), user);
        assert_eq!(joined.channel.to_string(), "C0STANDUP");
        assert_eq!(joined.inviter.map(|i| i.to_string()).as_deref(), inviter);
    }
}
