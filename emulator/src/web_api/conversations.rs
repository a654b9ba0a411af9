//! `conversations.open`, `conversations.info`, `conversations.members`.

use super::{Conv, Ctx, Reply, error, resolve};
use crate::config::{Channel, User};
use crate::params::list_of;
use crate::state::{State, dm_channel_id};
use serde_json::{Value, json};

impl Ctx<'_> {
    fn im_object(&self, user: &User) -> Value {
        json!({
            "id": dm_channel_id(&user.id),
            "created": self.shared.started_unix,
            "is_im": true,
            "is_org_shared": false,
            "is_open": true,
            "user": user.id,
            "is_user_deleted": user.deleted,
            "priority": 0,
            "last_read": "0000000000.000000",
            "unread_count": 0,
            "unread_count_display": 0,
        })
    }

    fn channel_object(&self, c: &Channel) -> Value {
        let empty = json!({"value": "", "creator": "", "last_set": 0});
        let mut object = json!({
            "id": c.id,
            "name": c.name,
            "name_normalized": c.name,
            "created": self.shared.started_unix,
            "creator": "",
            "is_channel": c.id.starts_with('C'),
            "is_group": c.id.starts_with('G'),
            "is_im": false,
            "is_mpim": false,
            "is_private": c.id.starts_with('G'),
            "is_archived": false,
            "is_general": false,
            "is_shared": false,
            "is_org_shared": false,
            "is_member": c.bot_is_member,
            "topic": empty,
            "purpose": empty,
            "previous_names": [],
        });
        if self.str("include_num_members").as_deref() == Some("true") {
            object["num_members"] = json!(c.members.len() + usize::from(c.bot_is_member));
        }
        object
    }

    pub(super) fn conversations_open(&self, s: &mut State) -> Reply {
        let users = list_of(self.p, "users");
        let user = match (users.as_slice(), self.str("channel")) {
            ([], Some(channel)) => match resolve(self.cfg, &channel) {
                Some(Conv::Dm(user)) => user,
                _ => return error("channel_not_found"),
            },
            ([], None) => return error("users_list_not_supplied"),
            ([one], _) => match self.user(one) {
                Some(user) => user,
                None => return error("user_not_found"),
            },
            // Group DMs (mpim) are not emulated.
            _ => return error("not_supported_by_emulator"),
        };
        if user.deleted {
            return error("user_disabled");
        }
        let already_open = !s.open_dms.insert(user.id.clone());
        let mut body = json!({"channel": self.im_object(user)});
        if already_open {
            body["already_open"] = json!(true);
            body["no_op"] = json!(true);
        }
        Reply::Ok(body)
    }

    pub(super) fn conversations_info(&self) -> Reply {
        match resolve(self.cfg, &self.str("channel").unwrap_or_default()) {
            Some(Conv::Channel(c)) => Reply::Ok(json!({"channel": self.channel_object(c)})),
            Some(Conv::Dm(u)) => Reply::Ok(json!({"channel": self.im_object(u)})),
            None => error("channel_not_found"),
        }
    }

    pub(super) fn conversations_members(&self) -> Reply {
        let members: Vec<String> = match resolve(self.cfg, &self.str("channel").unwrap_or_default())
        {
            Some(Conv::Channel(c)) => c
                .members
                .iter()
                .cloned()
                .chain(c.bot_is_member.then(|| self.cfg.bot_user_id.clone()))
                .collect(),
            Some(Conv::Dm(u)) => vec![u.id.clone(), self.cfg.bot_user_id.clone()],
            None => return error("channel_not_found"),
        };
        Reply::Ok(json!({"members": members, "response_metadata": {"next_cursor": ""}}))
    }
}
