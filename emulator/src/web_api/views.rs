//! `views.open`, `views.update`, `views.publish`, with Slack's trigger and hash rules.

use super::{Ctx, Reply, error};
use crate::ids;
use crate::params::json_of;
use crate::state::{State, View};
use serde_json::{Value, json};
use std::time::Instant;

impl Ctx<'_> {
    /// Fills in what Slack adds to a view it stores.
    fn stateful_view(&self, view: &Value, id: &str, root_id: &str) -> Value {
        let mut object = view.as_object().cloned().unwrap_or_default();
        let c = self.cfg;
        for (key, value) in [
            ("id", json!(id)),
            ("team_id", json!(c.team_id)),
            ("app_id", json!(c.app_id)),
            ("bot_id", json!(c.bot_id)),
            ("app_installed_team_id", json!(c.team_id)),
            (
                "hash",
                json!(format!("{}.{}", ids::unix_now(), ids::token())),
            ),
            ("root_view_id", json!(root_id)),
            ("previous_view_id", Value::Null),
        ] {
            object.insert(key.into(), value);
        }
        for (key, value) in [
            ("blocks", json!([])),
            ("state", json!({"values": {}})),
            ("private_metadata", json!("")),
            ("callback_id", json!("")),
            ("external_id", json!("")),
            ("clear_on_close", json!(false)),
            ("notify_on_close", json!(false)),
        ] {
            object.entry(key).or_insert(value);
        }
        if let Some(blocks) = object.remove("blocks") {
            object.insert("blocks".into(), ids::with_block_ids(blocks));
        }
        Value::Object(object)
    }

    pub(super) fn views(&self, s: &mut State, method: &str) -> Reply {
        let Some(view) = json_of(self.p, "view").filter(Value::is_object) else {
            return error("invalid_arguments");
        };
        let mut user_id = None;
        let mut trigger_id = None;
        let mut conversation = None;
        let previous: Option<&View> = match method {
            "views.open" => {
                let id = self.str("trigger_id").unwrap_or_default();
                let Some(trigger) = s.triggers.get_mut(&id) else {
                    return error("invalid_trigger_id");
                };
                if trigger.used {
                    return error("exchanged_trigger_id");
                }
                if trigger.issued.elapsed() > self.cfg.trigger_id_ttl {
                    return error("expired_trigger_id");
                }
                trigger.used = true;
                conversation = trigger.channel.clone();
                trigger_id = Some(id);
                None
            }
            "views.update" => {
                let by_id = self.str("view_id");
                let by_external = self.str("external_id");
                let found = s.views.iter().rev().find(|v| {
                    by_id.as_deref() == v.view["id"].as_str()
                        || (by_external.is_some()
                            && by_external.as_deref() == v.view["external_id"].as_str())
                });
                match found {
                    Some(v) => {
                        conversation = v.conversation.clone();
                        Some(v)
                    }
                    None => return error("not_found"),
                }
            }
            _ => {
                let Some(user) = self.str("user_id").filter(|u| self.user(u).is_some()) else {
                    return error("user_not_found");
                };
                let found =
                    s.views.iter().rev().find(|v| {
                        v.method == "views.publish" && v.user_id.as_deref() == Some(&user)
                    });
                user_id = Some(user);
                found
            }
        };
        if let (Some(hash), Some(prev)) = (self.str("hash"), previous) {
            if hash != prev.hash() {
                return error("hash_conflict");
            }
        }
        let (id, root) = match previous {
            Some(prev) => (
                prev.id.clone(),
                prev.view["root_view_id"]
                    .as_str()
                    .unwrap_or(&prev.id)
                    .to_string(),
            ),
            None => {
                let id = ids::prefixed("V");
                (id.clone(), id)
            }
        };
        let stored = self.stateful_view(&view, &id, &root);
        s.views.push(View {
            id,
            method: method.to_string(),
            user_id,
            trigger_id,
            conversation,
            view: stored.clone(),
            at: Instant::now(),
        });
        Reply::Ok(json!({"view": stored}))
    }
}
