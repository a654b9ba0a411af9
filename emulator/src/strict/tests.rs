//! Each rule rejects a payload that breaks it and accepts one at the limit.

use super::*;

fn s(n: usize) -> String {
    "x".repeat(n)
}

fn message_rules(p: Value) -> Vec<(Rule, String)> {
    match check_message("chat.postMessage", &p) {
        Ok(lint) => lint.into_iter().map(|v| (v.rule, v.path)).collect(),
        Err(r) => r.violations.into_iter().map(|v| (v.rule, v.path)).collect(),
    }
}

fn blocks_ok(blocks: Value) -> bool {
    check_message("chat.postMessage", &json!({"blocks": blocks})).is_ok()
}

fn refused_at(blocks: Value) -> Vec<String> {
    match check_message("chat.postMessage", &json!({"blocks": blocks})) {
        Ok(_) => Vec::new(),
        Err(r) => {
            assert_eq!(r.body["error"], "invalid_blocks");
            r.violations.into_iter().map(|v| v.path).collect()
        }
    }
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

fn option(text: &str, value: &str) -> Value {
    json!({"text": plain(text), "value": value})
}

#[test]
fn invalid_blocks_answer_has_slacks_shape() {
    let r = check_message("chat.postMessage", &json!({"blocks": [section(&s(3001))]}))
        .expect_err("refused");
    assert_eq!(
        r.body,
        json!({
            "ok": false,
            "error": "invalid_blocks",
            "errors": ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
            "response_metadata": {"messages": [
                "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
            ]},
        })
    );
    assert_eq!(r.violations[0].rule, Rule::InvalidBlocks);
}

#[test]
fn block_counts() {
    let fifty: Vec<Value> = (0..50).map(|_| json!({"type": "divider"})).collect();
    assert!(blocks_ok(json!(fifty)));
    let mut fifty_one = fifty.clone();
    fifty_one.push(json!({"type": "divider"}));
    assert_eq!(refused_at(json!(fifty_one)), ["/blocks"]);
    let view = |n: usize| json!({"view": {"type": "home", "blocks": (0..n).map(|_| json!({"type": "divider"})).collect::<Vec<_>>()}});
    assert!(check_view("views.publish", &view(100)).is_ok());
    let r = check_view("views.publish", &view(101)).expect_err("refused");
    assert_eq!(r.body["error"], "invalid_arguments");
    assert_eq!(
        r.body["response_metadata"]["messages"][0],
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    );
}

#[test]
fn section_text_and_fields() {
    assert!(blocks_ok(json!([section(&s(3000))])));
    assert_eq!(
        refused_at(json!([section(&s(3001))])),
        ["/blocks/0/text/text"]
    );
    assert_eq!(refused_at(json!([section("")])), ["/blocks/0/text/text"]);
    assert_eq!(refused_at(json!([{"type": "section"}])), ["/blocks/0"]);
    let fields = |n: usize, len: usize| json!([{"type": "section", "fields": (0..n).map(|_| json!({"type": "mrkdwn", "text": s(len)})).collect::<Vec<_>>()}]);
    assert!(blocks_ok(fields(10, 2000)));
    assert_eq!(refused_at(fields(11, 1)), ["/blocks/0/fields"]);
    assert_eq!(refused_at(fields(1, 2001)), ["/blocks/0/fields/0/text"]);
}

#[test]
fn text_objects_need_type_and_text() {
    assert_eq!(
        refused_at(json!([{"type": "section", "text": {"text": "hi"}}])),
        ["/blocks/0/text"]
    );
    assert_eq!(
        refused_at(json!([{"type": "section", "text": {"type": "markdown", "text": "hi"}}])),
        ["/blocks/0/text/type"]
    );
    assert_eq!(refused_at(json!([{"type": "sektion"}])), ["/blocks/0/type"]);
}

#[test]
fn header_context_and_buttons() {
    let header = |n: usize| json!([{"type": "header", "text": plain(&s(n))}]);
    assert!(blocks_ok(header(150)));
    assert_eq!(refused_at(header(151)), ["/blocks/0/text/text"]);
    assert_eq!(
        refused_at(json!([{"type": "header", "text": {"type": "mrkdwn", "text": "a"}}])),
        ["/blocks/0/text/type"]
    );
    let context = |n: usize, len: usize| json!([{"type": "context", "elements": (0..n).map(|_| json!({"type": "mrkdwn", "text": s(len)})).collect::<Vec<_>>()}]);
    assert!(blocks_ok(context(10, 3000)));
    assert_eq!(refused_at(context(11, 1)), ["/blocks/0/elements"]);
    assert_eq!(refused_at(context(1, 3001)), ["/blocks/0/elements/0/text"]);
    let button = |text: usize, value: usize, url: usize| {
        json!([{"type": "actions", "elements": [{
            "type": "button", "action_id": "a", "text": plain(&s(text)),
            "value": s(value), "url": format!("https://{}", s(url - 8)),
        }]}])
    };
    assert!(blocks_ok(button(75, 2000, 3000)));
    assert_eq!(
        refused_at(button(76, 1, 9)),
        ["/blocks/0/elements/0/text/text"]
    );
    assert_eq!(
        refused_at(button(1, 2001, 9)),
        ["/blocks/0/elements/0/value"]
    );
    assert_eq!(refused_at(button(1, 1, 3001)), ["/blocks/0/elements/0/url"]);
}

#[test]
fn options() {
    let boxes = |n: usize, text: &str, value: &str| {
        json!([{"type": "actions", "elements": [{
            "type": "checkboxes", "action_id": "c",
            "options": (0..n).map(|i| option(text, &format!("{value}{i}"))).collect::<Vec<_>>(),
        }]}])
    };
    assert!(blocks_ok(boxes(10, &s(75), &s(148))));
    assert_eq!(
        refused_at(boxes(11, "a", "v")),
        ["/blocks/0/elements/0/options"]
    );
    assert_eq!(
        refused_at(boxes(1, "", "v")),
        ["/blocks/0/elements/0/options/0/text/text"]
    );
    assert_eq!(
        refused_at(boxes(1, &s(76), "v")),
        ["/blocks/0/elements/0/options/0/text/text"]
    );
    assert_eq!(
        refused_at(boxes(1, "a", &s(150))),
        ["/blocks/0/elements/0/options/0/value"]
    );
    let select = |n: usize| {
        json!([{"type": "section", "text": plain("pick"), "accessory": {
            "type": "static_select", "action_id": "s",
            "options": (0..n).map(|i| option("o", &i.to_string())).collect::<Vec<_>>(),
        }}])
    };
    assert!(blocks_ok(select(100)));
    assert_eq!(refused_at(select(101)), ["/blocks/0/accessory/options"]);
}

#[test]
fn ids_are_bounded_and_unique() {
    let two = |a: &str, b: &str| {
        json!([
            {"type": "divider", "block_id": a},
            {"type": "divider", "block_id": b},
        ])
    };
    assert!(blocks_ok(two(&s(255), "b")));
    assert_eq!(refused_at(two(&s(256), "b")), ["/blocks/0/block_id"]);
    assert_eq!(refused_at(two("same", "same")), ["/blocks/1/block_id"]);
    let button = |id: &str| json!({"type": "button", "action_id": id, "text": plain("a")});
    let actions = json!([{"type": "actions", "elements": [button("go"), button("go")]}]);
    assert_eq!(refused_at(actions), ["/blocks/0/elements/1/action_id"]);
    // Unique within the containing block only (the same id in two blocks is fine).
    let two_blocks = json!([
        {"type": "actions", "elements": [button("go")]},
        {"type": "actions", "elements": [button("go")]},
    ]);
    assert!(blocks_ok(two_blocks));
}

#[test]
fn views() {
    let modal = |title: usize, meta: usize, callback: usize, initial: usize| {
        json!({"view": {
            "type": "modal", "title": plain(&s(title)), "submit": plain("Save"),
            "close": plain("Cancel"), "private_metadata": s(meta), "callback_id": s(callback),
            "blocks": [{"type": "input", "block_id": "b", "label": plain("Notes"), "element": {
                "type": "plain_text_input", "action_id": "a", "multiline": true,
                "initial_value": s(initial), "max_length": 3000,
            }}],
        }})
    };
    let pointers = |p: Value| match check_view("views.open", &p) {
        Ok(_) => Vec::new(),
        Err(r) => r.violations.into_iter().map(|v| v.path).collect::<Vec<_>>(),
    };
    assert!(pointers(modal(24, 3000, 255, 3000)).is_empty());
    assert_eq!(pointers(modal(25, 1, 1, 1)), ["/view/title/text"]);
    assert_eq!(pointers(modal(1, 3001, 1, 1)), ["/view/private_metadata"]);
    assert_eq!(pointers(modal(1, 1, 256, 1)), ["/view/callback_id"]);
    assert_eq!(
        pointers(modal(1, 1, 1, 3001)),
        ["/view/blocks/0/element/initial_value"]
    );
    let mut no_submit = modal(1, 1, 1, 1);
    no_submit["view"].as_object_mut().unwrap().remove("submit");
    assert_eq!(pointers(no_submit), ["/view"]);
    assert_eq!(pointers(json!({"view": "{not json"})), ["/view"]);
}

#[test]
fn message_text_length_and_blocks_format() {
    assert!(check_message("chat.postMessage", &json!({"text": s(40_000)})).is_ok());
    let r = check_message("chat.postMessage", &json!({"text": s(40_001)})).expect_err("refused");
    assert_eq!(r.body, json!({"ok": false, "error": "msg_too_long"}));
    let r =
        check_message("chat.postMessage", &json!({"blocks": "[{\"type\":"})).expect_err("refused");
    assert_eq!(
        r.body,
        json!({"ok": false, "error": "invalid_blocks_format"})
    );
    // A form body sends blocks as a JSON string: checked like an array.
    assert!(
        check_message(
            "chat.postMessage",
            &json!({"blocks": "[{\"type\":\"divider\"}]"})
        )
        .is_ok()
    );
}

#[test]
fn lint_covers_text_blocks_and_respects_mrkdwn_false() {
    assert_eq!(
        message_rules(json!({"text": "see [PR](https://x.y/1)"})),
        [(Rule::MarkdownLink, "/text".to_string())]
    );
    assert_eq!(message_rules(json!({"text": "a & b", "mrkdwn": false})), []);
    assert_eq!(
        message_rules(json!({"text": "ok", "blocks": [section("a < b")]})),
        [(
            Rule::UnescapedControlCharacter,
            "/blocks/0/text/text".to_string()
        )]
    );
    // plain_text is shown as written: nothing to escape.
    assert_eq!(
        message_rules(json!({"blocks": [{"type": "header", "text": plain("R&D <team>")}]})),
        []
    );
    assert_eq!(
        message_rules(json!({"text": "<!here> blocked"})),
        [(Rule::BroadcastMention, "/text".to_string())]
    );
}

#[test]
fn scopes_follow_the_manifest_and_the_conversation() {
    let granted: Vec<String> = ["chat:write", "im:history"].map(String::from).to_vec();
    assert!(check_scope("chat.postMessage", &json!({"channel": "C1"}), &granted).is_ok());
    assert!(check_scope("conversations.history", &json!({"channel": "D1"}), &granted).is_ok());
    let r = check_scope("conversations.history", &json!({"channel": "C1"}), &granted)
        .expect_err("refused");
    assert_eq!(
        r.body,
        json!({"ok": false, "error": "missing_scope", "needed": "channels:history", "provided": "chat:write,im:history"})
    );
    let r = check_scope("conversations.replies", &json!({"channel": "G1"}), &granted)
        .expect_err("refused");
    assert_eq!(r.body["needed"], "groups:history");
    let r = check_scope("users.info", &json!({"user": "U1"}), &granted).expect_err("refused");
    assert_eq!(r.body["needed"], "users:read");
    assert!(check_scope("views.publish", &json!({}), &[]).is_ok());
    assert!(check_scope("auth.test", &json!({}), &[]).is_ok());
    let r =
        check_scope("conversations.open", &json!({"users": "U1"}), &granted).expect_err("refused");
    assert_eq!(r.body["needed"], "im:write");
}

#[test]
fn conversations_list_needs_the_scope_of_each_type_it_asks_for() {
    let granted: Vec<String> = ["channels:read"].map(String::from).to_vec();
    let list = |types: Option<&str>| {
        let p = types.map_or_else(|| json!({}), |t| json!({"types": t}));
        check_scope("conversations.list", &p, &granted).map_err(|r| r.body["needed"].clone())
    };
    assert!(list(None).is_ok(), "public_channel by default");
    assert!(list(Some("")).is_ok());
    assert!(list(Some("public_channel")).is_ok());
    assert_eq!(list(Some("private_channel")).unwrap_err(), "groups:read");
    assert_eq!(list(Some("public_channel, mpim")).unwrap_err(), "mpim:read");
    assert_eq!(list(Some("im,public_channel")).unwrap_err(), "im:read");
    // Unknown types pass to the method, which answers invalid_types.
    assert!(list(Some("channels")).is_ok());
    let r = check_scope("users.lookupByEmail", &json!({"email": "a@b.c"}), &granted)
        .expect_err("refused");
    assert_eq!(r.body["needed"], "users:read.email");
}

#[test]
fn required_and_unknown_arguments() {
    let r = check_args("chat.postMessage", &json!({"text": "hi"})).expect_err("refused");
    assert_eq!(r.body, json!({"ok": false, "error": "channel_not_found"}));
    assert_eq!(r.violations[0].rule, Rule::MissingArgument);
    let r = check_args("files.getUploadURLExternal", &json!({"filename": "a.md"}))
        .expect_err("refused");
    assert_eq!(r.body["error"], "invalid_arguments");
    assert_eq!(
        r.body["response_metadata"]["messages"][0],
        "[ERROR] missing required field: length"
    );
    let unknown = check_args(
        "chat.postMessage",
        &json!({"channel": "C1", "text": "hi", "metadata": {}, "token": "x", "colour": "red"}),
    )
    .expect("accepted");
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        (unknown[0].rule, unknown[0].path.as_str()),
        (Rule::UnknownArgument, "colour")
    );
}

/// The `/view/blocks/0/element/...` pointers a modal with one input of `element` is refused at.
fn modal_input_refused_at(element: Value) -> Vec<String> {
    let p = json!({"view": {
        "type": "modal", "title": plain("Setup"), "submit": plain("Save"),
        "blocks": [{"type": "input", "block_id": "b", "label": plain("L"), "element": element}],
    }});
    match check_view("views.open", &p) {
        Ok(_) => Vec::new(),
        Err(r) => {
            assert_eq!(r.body["error"], "invalid_arguments");
            r.violations.into_iter().map(|v| v.path).collect()
        }
    }
}

#[test]
fn initial_options_must_be_among_the_options() {
    let select = |initial: Value| {
        json!({"type": "static_select", "action_id": "s",
               "options": [option("One", "1"), option("Two", "2")], "initial_option": initial})
    };
    assert!(modal_input_refused_at(select(option("Two", "2"))).is_empty());
    // Any field that differs makes another option, the `emoji` flag too: Slack asks for an
    // exact match and no Slack page or official SDK sets a field aside.
    let with_emoji = json!({"text": {"type": "plain_text", "text": "Two", "emoji": true},
                            "value": "2"});
    assert!(!modal_input_refused_at(select(with_emoji)).is_empty());
    let described = json!({"text": {"type": "plain_text", "text": "Two"}, "value": "2",
                           "description": {"type": "plain_text", "text": "the second"}});
    assert_eq!(
        modal_input_refused_at(select(described)),
        ["/view/blocks/0/element/initial_option"]
    );
    assert_eq!(
        modal_input_refused_at(select(option("Three", "3"))),
        ["/view/blocks/0/element/initial_option"]
    );
    assert_eq!(
        modal_input_refused_at(select(option("Two", "1"))),
        ["/view/blocks/0/element/initial_option"],
        "text and value together"
    );
    let grouped = json!({"type": "static_select", "action_id": "s",
        "option_groups": [{"label": plain("G"), "options": [option("One", "1")]}],
        "initial_option": option("One", "1")});
    assert!(modal_input_refused_at(grouped).is_empty());
    let boxes = json!({"type": "checkboxes", "action_id": "c",
        "options": [option("A", "a")], "initial_options": [option("A", "a"), option("B", "b")]});
    assert_eq!(
        modal_input_refused_at(boxes),
        ["/view/blocks/0/element/initial_options/1"]
    );
    let radio = json!({"type": "radio_buttons", "action_id": "r",
        "options": [option("A", "a")], "initial_option": option("B", "b")});
    assert_eq!(
        modal_input_refused_at(radio),
        ["/view/blocks/0/element/initial_option"]
    );
}

#[test]
fn timepicker() {
    let time = |initial: Value| {
        json!({"type": "timepicker", "action_id": "t", "initial_time": initial,
               "timezone": "Europe/Berlin", "placeholder": plain("When")})
    };
    for ok in ["00:00", "09:30", "23:59"] {
        assert!(modal_input_refused_at(time(json!(ok))).is_empty(), "{ok}");
    }
    for bad in [
        json!("24:00"),
        json!("9:30"),
        json!("09:60"),
        json!("09:30:00"),
        json!("9:30pm"),
        json!(930),
    ] {
        assert_eq!(
            modal_input_refused_at(time(bad.clone())),
            ["/view/blocks/0/element/initial_time"],
            "{bad}"
        );
    }
    let zone = json!({"type": "timepicker", "action_id": "t", "timezone": 1});
    assert_eq!(
        modal_input_refused_at(zone),
        ["/view/blocks/0/element/timezone"]
    );
    // In a message too (section accessory, actions).
    let accessory = json!([{"type": "section", "text": plain("at"), "accessory":
        {"type": "timepicker", "action_id": "t", "initial_time": "25:00"}}]);
    assert_eq!(refused_at(accessory), ["/blocks/0/accessory/initial_time"]);
}

#[test]
fn multi_users_select() {
    let users = |initial: Value, max: Value| {
        json!({"type": "multi_users_select", "action_id": "u", "placeholder": plain("Who"),
               "initial_users": initial, "max_selected_items": max})
    };
    assert!(modal_input_refused_at(users(json!(["U0ADA", "U0BOB"]), json!(1))).is_empty());
    assert_eq!(
        modal_input_refused_at(users(json!("U0ADA"), json!(5))),
        ["/view/blocks/0/element/initial_users"]
    );
    assert_eq!(
        modal_input_refused_at(users(json!(["U0ADA", 7]), json!(5))),
        ["/view/blocks/0/element/initial_users/1"]
    );
    assert_eq!(
        modal_input_refused_at(users(json!([]), json!(0))),
        ["/view/blocks/0/element/max_selected_items"]
    );
    assert_eq!(
        modal_input_refused_at(users(json!([]), json!("3"))),
        ["/view/blocks/0/element/max_selected_items"]
    );
}

#[test]
fn conversations_select() {
    let base = json!({"type": "conversations_select", "action_id": "c",
        "placeholder": plain("Where"), "initial_conversation": "C0STANDUP",
        "default_to_current_conversation": true, "response_url_enabled": true,
        "filter": {"include": ["public", "private", "im", "mpim"], "exclude_bot_users": true,
                   "exclude_external_shared_channels": true}});
    assert!(modal_input_refused_at(base.clone()).is_empty());
    let with = |key: &str, value: Value| {
        let mut e = base.clone();
        e[key] = value;
        modal_input_refused_at(e)
    };
    assert_eq!(
        with("initial_conversation", json!(["C0STANDUP"])),
        ["/view/blocks/0/element/initial_conversation"]
    );
    assert_eq!(
        with("default_to_current_conversation", json!("yes")),
        ["/view/blocks/0/element/default_to_current_conversation"]
    );
    assert_eq!(
        with("filter", json!({"include": []})),
        ["/view/blocks/0/element/filter/include"]
    );
    assert_eq!(
        with("filter", json!({"include": ["public", "shared"]})),
        ["/view/blocks/0/element/filter/include/1"]
    );
    assert_eq!(
        with("filter", json!({})),
        ["/view/blocks/0/element/filter"],
        "at least one field"
    );
    assert_eq!(
        with("filter", json!({"exclude_bot_users": "true"})),
        ["/view/blocks/0/element/filter/exclude_bot_users"]
    );

    // response_url_enabled only in an input block of a modal.
    let mut menu = base.clone();
    menu.as_object_mut().unwrap().remove("initial_conversation");
    let in_section = json!({"view": {"type": "modal", "title": plain("Setup"), "blocks": [
        {"type": "section", "text": plain("Post to"), "accessory": menu.clone()}]}});
    let refused: Vec<String> = check_view("views.open", &in_section)
        .expect_err("refused")
        .violations
        .into_iter()
        .map(|v| v.path)
        .collect();
    assert_eq!(refused, ["/view/blocks/0/accessory/response_url_enabled"]);
    let home = json!({"view": {"type": "home", "blocks": [
        {"type": "input", "label": plain("Post to"), "element": menu.clone()}]}});
    assert!(check_view("views.publish", &home).is_err(), "not a modal");
    assert_eq!(
        refused_at(json!([{"type": "actions", "elements": [menu.clone()]}])),
        ["/blocks/0/elements/0/response_url_enabled"]
    );
    menu["response_url_enabled"] = json!(false);
    assert!(blocks_ok(json!([{"type": "actions", "elements": [menu]}])));
}
