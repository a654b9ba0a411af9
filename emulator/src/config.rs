//! What the emulated workspace contains: team, bot, tokens, users, channels, limits.

use std::time::Duration;

/// The seed of an emulated workspace. Start from [`EmulatorConfig::default`] and add users
/// and channels with the `with_*` methods.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Team id, `T...`.
    pub team_id: String,
    /// Team name, as `auth.test` reports it.
    pub team_name: String,
    /// Team domain: `https://{domain}.slack.com/`.
    pub team_domain: String,
    /// The app's id, `A...` (Socket Mode `hello`, event payloads).
    pub app_id: String,
    /// The bot user's id, `U...`.
    pub bot_user_id: String,
    /// The bot's id, `B...` (on messages the bot posts).
    pub bot_id: String,
    /// The bot user's name.
    pub bot_name: String,
    /// The bot token (`xoxb-...`) accepted by the Web API.
    pub bot_token: String,
    /// The app-level token (`xapp-...`) accepted by `apps.connections.open`.
    pub app_token: String,
    /// The deprecated verification token Slack still puts in payloads.
    pub verification_token: String,
    /// Workspace members.
    pub users: Vec<User>,
    /// Public and private channels (DMs are implicit: one per user).
    pub channels: Vec<Channel>,
    /// Slack-like rate limiting; `None` (the default) never throttles.
    pub rate_limits: Option<RateLimits>,
    /// How long a `trigger_id` stays valid for `views.open` (Slack: 3 s).
    pub trigger_id_ttl: Duration,
    /// Send every message the bot posts back over Socket Mode as a `message` event with its
    /// `bot_id` and `user`, as Slack does in the conversations whose message event the app
    /// subscribes to ([`EmulatorConfig::bot_events`]). On by default, as on Slack.
    pub echo_bot_messages: bool,
    /// The bot events the app subscribes to (`settings.event_subscriptions.bot_events` of its
    /// manifest): `message.im` / `message.channels` / `message.groups` decide where the bot's
    /// own posts come back as events, and [`Emulator::join_channel`](crate::Emulator::join_channel)
    /// / [`Emulator::leave_channel`](crate::Emulator::leave_channel) deliver
    /// `member_joined_channel` / `member_left_channel` only when listed here, as Slack sends an
    /// app only the events it subscribes to. Defaults to the bot events of
    /// `config/slack-app-manifest.yml`, read when the emulator is built.
    pub bot_events: Vec<String>,
    /// How long Slack waits for an ack (Socket Mode) before it counts a delivery as failed:
    /// 3 s ("your app must acknowledge ... within 3 seconds", Slack's Socket Mode and Events API
    /// docs).
    pub ack_timeout: Duration,
    /// When a delivery is retried after a failed one, by retry number: Slack's Events API retries
    /// "up to 3 times": nearly immediately, after 1 minute, after 5 minutes
    /// (docs.slack.dev/apis/events-api/#retries). The length is the number of retries. Tests may
    /// scale these down (e.g. to 0 s, 1 s, 5 s).
    pub retry_delays: Vec<Duration>,
    /// The bot token's scopes; a method needing another is answered `missing_scope`.
    /// Default: the bot scopes of `config/slack-app-manifest.yml`, as Slack grants them.
    pub scopes: Vec<String>,
    /// How often the emulator sends a websocket Ping on each Socket Mode connection and times
    /// the app's Pong ([`Emulator::pings`](crate::Emulator::pings)). Slack's servers ping
    /// Socket Mode clients (Slack's Node SDK takes a connection for stale after 30 s without
    /// one) at an interval Slack does not publish, so the default, `None`, sends none; a test
    /// or the load tool picks one.
    pub socket_ping_every: Option<Duration>,
}

/// Slack's Events API retry schedule (see [`EmulatorConfig::retry_delays`]).
pub const SLACK_RETRY_DELAYS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(60),
    Duration::from_secs(300),
];

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            team_id: "T0EMULATOR".into(),
            team_name: "Emulated Team".into(),
            team_domain: "emulated".into(),
            app_id: "A0EMULATOR".into(),
            bot_user_id: "U0BOTUSER".into(),
            bot_id: "B0BOTID".into(),
            bot_name: "standup".into(),
            bot_token: "xoxb-0000-emulator-bot-token".into(),
            app_token: "xapp-1-A0EMULATOR-0000-emulator-app-token".into(),
            verification_token: "emulatorVerificationToken".into(),
            users: Vec::new(),
            channels: Vec::new(),
            rate_limits: None,
            trigger_id_ttl: Duration::from_secs(3),
            echo_bot_messages: true,
            bot_events: crate::strict::spec::Manifest::standup_bot().bot_events,
            ack_timeout: Duration::from_secs(3),
            retry_delays: SLACK_RETRY_DELAYS.to_vec(),
            scopes: crate::strict::spec::Manifest::standup_bot().bot_scopes,
            socket_ping_every: None,
        }
    }
}

impl EmulatorConfig {
    /// Adds a workspace member.
    pub fn with_user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Adds a channel.
    pub fn with_channel(mut self, channel: Channel) -> Self {
        self.channels.push(channel);
        self
    }

    /// Sets the retry schedule (see [`EmulatorConfig::retry_delays`]), e.g. Slack's scaled down.
    pub fn with_retry_delays(mut self, delays: &[Duration]) -> Self {
        self.retry_delays = delays.to_vec();
        self
    }

    /// Grants these bot scopes instead of the manifest's.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Pings every Socket Mode connection at this interval (see
    /// [`EmulatorConfig::socket_ping_every`]).
    pub fn with_socket_pings(mut self, every: Duration) -> Self {
        self.socket_ping_every = Some(every);
        self
    }

    /// Turns on rate limiting.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }
}

/// A workspace member, as `users.info` describes them.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// `U...`
    pub id: String,
    /// The handle (`name`).
    pub name: String,
    /// Full name; `profile.real_name` too.
    pub real_name: String,
    /// `profile.display_name`, often empty in real workspaces.
    pub display_name: String,
    /// IANA zone, e.g. `Europe/Berlin`.
    pub tz: String,
    /// Zone label, e.g. `Central European Time`.
    pub tz_label: String,
    /// Offset from UTC in seconds (Slack reports the current, DST-dependent one).
    pub tz_offset: i32,
    /// Deactivated account.
    pub deleted: bool,
    /// A bot user.
    pub is_bot: bool,
    /// A workspace admin (`is_admin` in `users.info` / `users.list`).
    pub is_admin: bool,
    /// A workspace owner (`is_owner`).
    pub is_owner: bool,
    /// `profile.status_emoji`, e.g. `:palm_tree:`; empty for no status.
    pub status_emoji: String,
    /// `profile.status_text`.
    pub status_text: String,
    /// `profile.status_expiration`: Unix seconds when the status clears, 0 for never.
    pub status_expiration: i64,
    /// `profile.email`; empty for none (bots have none). Slack shows it only to a token with
    /// `users:read.email`, and `users.lookupByEmail` finds the user by it.
    pub email: String,
}

impl User {
    /// A member in UTC whose real name is their handle and whose display name is empty.
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            real_name: name.into(),
            display_name: String::new(),
            tz: "UTC".into(),
            tz_label: "Coordinated Universal Time".into(),
            tz_offset: 0,
            deleted: false,
            is_bot: false,
            is_admin: false,
            is_owner: false,
            status_emoji: String::new(),
            status_text: String::new(),
            status_expiration: 0,
            email: String::new(),
        }
    }

    /// Sets the email address (`profile.email`, `users.lookupByEmail`).
    pub fn email(mut self, email: &str) -> Self {
        self.email = email.into();
        self
    }

    /// Sets the custom status: emoji (`:palm_tree:`), text, and when it clears (Unix seconds,
    /// 0 for never).
    pub fn status(mut self, emoji: &str, text: &str, expiration: i64) -> Self {
        self.status_emoji = emoji.into();
        self.status_text = text.into();
        self.status_expiration = expiration;
        self
    }

    /// Sets the real name.
    pub fn real_name(mut self, real_name: &str) -> Self {
        self.real_name = real_name.into();
        self
    }

    /// Sets the display name.
    pub fn display_name(mut self, display_name: &str) -> Self {
        self.display_name = display_name.into();
        self
    }

    /// Sets the time zone: IANA name, label and current offset in seconds.
    pub fn tz(mut self, tz: &str, label: &str, offset_secs: i32) -> Self {
        self.tz = tz.into();
        self.tz_label = label.into();
        self.tz_offset = offset_secs;
        self
    }

    /// Marks the account deactivated.
    pub fn deleted(mut self) -> Self {
        self.deleted = true;
        self
    }

    /// Marks the account a bot.
    pub fn bot(mut self) -> Self {
        self.is_bot = true;
        self
    }

    /// Makes the member a workspace admin (`is_admin: true`).
    pub fn admin(mut self) -> Self {
        self.is_admin = true;
        self
    }

    /// Makes the member a workspace owner (`is_owner: true`). Only `is_owner` is set: chain
    /// [`User::admin`] for an owner whose user object also says `is_admin`.
    pub fn owner(mut self) -> Self {
        self.is_owner = true;
        self
    }
}

/// A public or private channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// `C...` (public) or `G...` (private).
    pub id: String,
    /// Name without `#`.
    pub name: String,
    /// Whether the bot is a member at the start (posting needs it: else `not_in_channel`).
    pub bot_is_member: bool,
    /// Members other than the bot at the start (for `conversations.members`). Membership then
    /// changes with [`Emulator::join_channel`](crate::Emulator::join_channel) /
    /// [`Emulator::leave_channel`](crate::Emulator::leave_channel); the emulator's answers
    /// follow those, not this seed.
    pub members: Vec<String>,
    /// Archived (`is_archived`; `conversations.list` leaves it out with `exclude_archived`,
    /// posting in it is answered `is_archived`).
    pub archived: bool,
}

impl Channel {
    /// A channel the bot is a member of.
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            bot_is_member: true,
            members: Vec::new(),
            archived: false,
        }
    }

    /// The channel is archived.
    pub fn archived(mut self) -> Self {
        self.archived = true;
        self
    }

    /// The bot is not a member.
    pub fn without_bot(mut self) -> Self {
        self.bot_is_member = false;
        self
    }

    /// Sets the human members.
    pub fn members(mut self, members: &[&str]) -> Self {
        self.members = members.iter().map(|m| m.to_string()).collect();
        self
    }
}

/// Slack-like rate limits. Buckets refill continuously and start full, so a burst up to the
/// per-minute allowance passes and the rest is throttled with `429` + `Retry-After`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Requests per minute per method for tiers 1 to 4.
    pub tier_per_minute: [u32; 4],
    /// `chat.postMessage` messages per second per channel.
    pub post_message_per_second: u32,
    /// How many `chat.postMessage` calls per channel may pass at once before throttling.
    pub post_message_burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            tier_per_minute: [1, 20, 50, 100],
            post_message_per_second: 1,
            post_message_burst: 3,
        }
    }
}
