//! `conversations.open`, `conversations.info`, `conversations.members`, `conversations.list`.

use super::{Conv, Ctx, Reply, error, resolve};
use crate::config::{Channel, User};
use crate::params::list_of;
use crate::state::{State, dm_channel_id};
use crate::strict::spec::{self, ConversationType};
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

    /// A channel as `conversations.info` / `conversations.list` show it, `is_member` and
    /// `num_members` as of now.
    fn channel_object(&self, s: &State, c: &Channel) -> Value {
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
            "is_archived": c.archived,
            "is_general": false,
            "is_shared": false,
            "is_org_shared": false,
            "is_member": self.bot_in(s, c),
            "topic": empty,
            "purpose": empty,
            "previous_names": [],
        });
        if self.str("include_num_members").as_deref() == Some("true") {
            let members = s.channels.get(&c.id).map_or(0, |m| m.users.len());
            object["num_members"] = json!(members);
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

    pub(super) fn conversations_info(&self, s: &State) -> Reply {
        match resolve(self.cfg, &self.str("channel").unwrap_or_default()) {
            Some(Conv::Channel(c)) => Reply::Ok(json!({"channel": self.channel_object(s, c)})),
            Some(Conv::Dm(u)) => Reply::Ok(json!({"channel": self.im_object(u)})),
            None => error("channel_not_found"),
        }
    }

    /// `conversations.members`: who is in the conversation now, in the order they joined,
    /// `limit` per page (Slack's default 100) with a cursor.
    pub(super) fn conversations_members(&self, s: &State) -> Reply {
        let members: Vec<String> = match resolve(self.cfg, &self.str("channel").unwrap_or_default())
        {
            Some(Conv::Channel(c)) => s
                .channels
                .get(&c.id)
                .map(|m| m.users.clone())
                .unwrap_or_default(),
            Some(Conv::Dm(u)) => vec![u.id.clone(), self.cfg.bot_user_id.clone()],
            None => return error("channel_not_found"),
        };
        let page = match self.page("members", 100, members.len()) {
            Ok(page) => page,
            Err(reply) => return reply,
        };
        Reply::Ok(json!({
            "members": members[page.range],
            "response_metadata": {"next_cursor": page.next_cursor},
        }))
    }

    /// `conversations.list`: the conversations of the requested `types` (default
    /// `public_channel`) the bot can see, in configuration order, `limit` per page (default
    /// 100, at most 1000) with a cursor. As on Slack, every public channel, but a private one
    /// only when the bot is in it; DMs the bot has opened; no group DMs (not emulated). The
    /// scope of each type asked for (`channels:read`, `groups:read`, `im:read`, `mpim:read`)
    /// was checked before (strict mode). <https://docs.slack.dev/reference/methods/conversations.list>
    pub(super) fn conversations_list(&self, s: &State) -> Reply {
        let Some(types) = spec::list_types(self.str("types").as_deref()) else {
            return error("invalid_types");
        };
        let exclude_archived =
            matches!(self.str("exclude_archived").as_deref(), Some("true" | "1"));
        let mut conversations: Vec<Value> = self
            .cfg
            .channels
            .iter()
            .filter(|c| {
                let private = c.id.starts_with('G');
                let wanted = if private {
                    types.contains(&ConversationType::Private) && self.bot_in(s, c)
                } else {
                    types.contains(&ConversationType::Public)
                };
                wanted && !(exclude_archived && c.archived)
            })
            .map(|c| self.channel_object(s, c))
            .collect();
        if types.contains(&ConversationType::Im) {
            conversations.extend(
                self.cfg
                    .users
                    .iter()
                    .filter(|u| s.open_dms.contains(&u.id))
                    .map(|u| self.im_object(u)),
            );
        }
        let page = match self.page("conversations", 100, conversations.len()) {
            Ok(page) => page,
            Err(reply) => return reply,
        };
        Reply::Ok(json!({
            "channels": conversations[page.range],
            "response_metadata": {"next_cursor": page.next_cursor},
        }))
    }
}
