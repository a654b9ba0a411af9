//! The database schema, as numbered migrations applied on open.
//!
//! Migrations are append-only: a released one is never edited, a change is a new entry.

use rusqlite_migration::{M, Migrations};

const V1: &str = r#"
CREATE TABLE teams (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    format  TEXT NOT NULL,
    channel TEXT NOT NULL
);

-- A member known from config (slack_user set) or only from imported notes (slack_user NULL).
CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id),
    handle     TEXT NOT NULL,
    slack_user TEXT,
    active     INTEGER NOT NULL DEFAULT 1,
    position   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (team_id, handle)
);
CREATE UNIQUE INDEX members_by_user ON members(team_id, slack_user) WHERE slack_user IS NOT NULL;

-- One team's standup for one meeting date.
CREATE TABLE cycles (
    id            INTEGER PRIMARY KEY,
    team_id       TEXT NOT NULL REFERENCES teams(id),
    date          TEXT NOT NULL,
    title         TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('bot', 'import')),
    import_digest TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (team_id, date)
);

-- Who is in the cycle's document, in order.
CREATE TABLE cycle_members (
    cycle_id  INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (cycle_id, member_id)
);

-- Meeting-level sections: kept verbatim (Agenda, Notes/Questions, ...) and the updates heading.
CREATE TABLE meeting_sections (
    cycle_id INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('verbatim', 'updates', 'questions')),
    heading  TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (cycle_id, position)
);

-- Every message as received. An edit is a new revision of the same Slack ts.
CREATE TABLE replies (
    id          INTEGER PRIMARY KEY,
    cycle_id    INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    source      TEXT NOT NULL,
    slack_ts    TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (cycle_id, member_id, slack_ts, revision)
);

-- The parsed update of a member for a cycle (JSON of domain::Update), rebuilt from replies.
CREATE TABLE updates (
    cycle_id    INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    source      TEXT NOT NULL,
    parsed      TEXT NOT NULL,
    diagnostics TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (cycle_id, member_id)
);

CREATE TABLE blockers (
    id          INTEGER PRIMARY KEY,
    cycle_id    INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    text        TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('update', 'command')),
    opened_at   TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by TEXT
);
CREATE INDEX blockers_open ON blockers(member_id) WHERE resolved_at IS NULL;

-- What the bot posted to Slack, so that a later change edits it instead of posting again.
CREATE TABLE posts (
    id             INTEGER PRIMARY KEY,
    cycle_id       INTEGER NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    channel        TEXT NOT NULL,
    ts             TEXT,
    file_id        TEXT,
    content_digest TEXT NOT NULL,
    posted_at      TEXT NOT NULL
);

-- Text of imported notes that is not a dated meeting (a free-standing heading, a template).
CREATE TABLE fragments (
    team_id  TEXT NOT NULL REFERENCES teams(id),
    source   TEXT NOT NULL,
    position INTEGER NOT NULL,
    line     INTEGER NOT NULL,
    text     TEXT NOT NULL,
    PRIMARY KEY (team_id, source, position)
);
"#;

const V2: &str = r#"
-- Scheduled work, recorded before it is done and marked after, so a restart neither repeats
-- nor loses it. One row per team, kind, fire time and member ('' for team-wide jobs).
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id),
    kind       TEXT NOT NULL CHECK (kind IN ('prompt', 'remind', 'post')),
    fire_at    TEXT NOT NULL,
    member     TEXT NOT NULL DEFAULT '',
    cycle_date TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('started', 'done', 'skipped', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 1,
    last_error TEXT,
    started_at TEXT NOT NULL,
    done_at    TEXT,
    UNIQUE (team_id, kind, fire_at, member)
);

-- Slack event ids already applied: a redelivered event is recognised after a restart too.
CREATE TABLE seen_events (
    event_id TEXT PRIMARY KEY,
    seen_at  TEXT NOT NULL
);

-- Skips (one cycle) and out-of-office ranges (inclusive dates) per member.
CREATE TABLE absences (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members(id),
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('skip', 'ooo')),
    created_at TEXT NOT NULL
);

-- The Slack ts of each reply version (the edit's own ts for an edit): the newest wins.
ALTER TABLE replies ADD COLUMN version_ts TEXT NOT NULL DEFAULT '';

-- What Slack says about a member (time zone, name), refreshed by the bot.
ALTER TABLE members ADD COLUMN tz TEXT;
ALTER TABLE members ADD COLUMN display_name TEXT;
"#;

const V3: &str = r#"
-- Slack events as received: stored before they are acknowledged and marked once handled, so an
-- acknowledged event survives a crash and a redelivered one is applied once.
CREATE TABLE inbox (
    event_id    TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    handled_at  TEXT,
    last_error  TEXT
);
CREATE INDEX inbox_pending ON inbox(received_at) WHERE handled_at IS NULL;
INSERT INTO inbox (event_id, payload, received_at, handled_at)
    SELECT event_id, '', seen_at, seen_at FROM seen_events;
DROP TABLE seen_events;

-- Messages the bot sends once (prompts, reminders, flags, the notes), by key: recorded before the
-- send and completed with Slack's ts after. A send cut short is looked up in Slack (the key
-- travels in the message's metadata) before it is tried again.
CREATE TABLE sends (
    key        TEXT PRIMARY KEY,
    channel    TEXT NOT NULL,
    thread_ts  TEXT,
    started_at TEXT NOT NULL,
    detail     TEXT,
    ts         TEXT,
    done_at    TEXT
);
"#;

#[allow(non_upper_case_globals)]
const V_follow: &str = r#"
-- Follow-through reads a member's updates across cycles (the previous plan, `/standup history`).
CREATE INDEX updates_by_member ON updates(member_id, cycle_id);
"#;

#[allow(non_upper_case_globals)]
const V_timeoff: &str = r#"
-- Quiet hours a member set with `/standup quiet`: "HH:MM-HH:MM", or "off"; NULL follows the config.
ALTER TABLE members ADD COLUMN quiet_hours TEXT;

-- Members whose Slack status said "out of office" when the bot came to prompt them for a cycle.
CREATE TABLE status_away (
    member_id  INTEGER NOT NULL REFERENCES members(id),
    cycle_date TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (member_id, cycle_date)
);
"#;

#[allow(non_upper_case_globals)]
const V_home: &str = r#"
-- Who opened the bot's Home tab: their Home is published again when their update changes.
CREATE TABLE home_views (
    slack_user TEXT PRIMARY KEY,
    opened_at  TEXT NOT NULL
);

-- Members the bot introduces itself to (onboarding): due when the bot joins the team's channel,
-- a member joins it, or a member is added to the config; done once sent (the DM itself is sent
-- once by its `intro:<team>:<user>` key in `sends`).
CREATE TABLE intros (
    team_id    TEXT NOT NULL,
    slack_user TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    done_at    TEXT,
    PRIMARY KEY (team_id, slack_user)
);
"#;

/// Threads and the blocker lifecycle: a member's update reply and the cycle's thread are found
/// by kind at every reply, and the document lists blockers resolved between two meetings.
#[allow(non_upper_case_globals)]
const V_threads: &str = r#"
CREATE INDEX posts_by_kind ON posts(cycle_id, kind, id);
CREATE INDEX blockers_resolved ON blockers(resolved_at) WHERE resolved_at IS NOT NULL;
"#;

/// Sends that cannot be checked: a send left uncertain whose lookup in Slack keeps failing (a
/// missing scope, a channel the bot left) is looked up a bounded number of times, then given up
/// with Slack's error, so the team's admins see it in `/standup status`.
#[allow(non_upper_case_globals)]
const V_send_failures: &str = r#"
ALTER TABLE sends ADD COLUMN team_id TEXT;
ALTER TABLE sends ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sends ADD COLUMN error TEXT;
ALTER TABLE sends ADD COLUMN failed_at TEXT;
CREATE INDEX sends_failed ON sends(team_id) WHERE failed_at IS NOT NULL;
"#;

/// Teams set up from Slack (`/standup setup`): each a `[[team]]` table as TOML, checked like the
/// config file's when the bot loads it, with who set it up and when.
#[allow(non_upper_case_globals)]
const V_slack_teams: &str = r#"
CREATE TABLE slack_teams (
    team_id TEXT PRIMARY KEY,
    toml TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"#;

/// Rolling deploys: the oldest binary a database can be used by, kept in the database, so a
/// binary meeting a newer schema that it can still use (only tables and columns it does not
/// know were added) runs on it instead of refusing it; the previous release keeps running, or
/// comes back after a rollback, while the next one has migrated.
#[allow(non_upper_case_globals)]
const V_compat: &str = r#"
CREATE TABLE schema_compat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    oldest_binary INTEGER NOT NULL
);
"#;

/// Claims, for replicas sharing a PostgreSQL database (kept in SQLite too, so the two schemas stay
/// the same): a send or a stored event is claimed by the replica working on it until a time;
/// another replica leaves it alone until then, and takes it over after.
#[allow(non_upper_case_globals)]
const V_claims: &str = r#"
ALTER TABLE sends ADD COLUMN claimed_by TEXT;
ALTER TABLE sends ADD COLUMN claim_until TEXT;
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN claim_until TEXT;
"#;

/// The Slack workspace (`team_id` from `auth.test`) on every row of every table, so a database
/// can later hold several workspaces, and PostgreSQL's tables can be distributed by it, without
/// reshaping the tables. `''` is a row written before the bot met Slack (an import, a command run
/// offline): the store gives it the workspace it is bound to at the next start
/// ([`crate::store::Store::bind_workspace`]). `workspace_binding` is that workspace, once per
/// database. Not breaking: an older binary's rows get `''` and are adopted the same way.
#[allow(non_upper_case_globals)]
const V_workspace: &str = r#"
ALTER TABLE teams ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE cycles ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE cycle_members ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE meeting_sections ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE replies ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE updates ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE blockers ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE fragments ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE absences ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE status_away ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE home_views ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE intros ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE slack_teams ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
CREATE TABLE workspace_binding (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    workspace TEXT NOT NULL,
    bound_at TEXT NOT NULL
);
"#;

/// The tables whose rows carry the workspace (`V_workspace`): every table but the schema's
/// own bookkeeping and the replicas' leases; each after the tables it refers to (`migrate-db`
/// copies them in this order).
pub const WORKSPACE_TABLES: &[&str] = &[
    "teams",
    "members",
    "cycles",
    "cycle_members",
    "meeting_sections",
    "replies",
    "updates",
    "blockers",
    "posts",
    "fragments",
    "jobs",
    "absences",
    "inbox",
    "sends",
    "status_away",
    "home_views",
    "intros",
    "slack_teams",
    "http_replays",
    "slack_rates",
];

/// HTTP mode's replay ledger shared by replicas (kept in SQLite too, so the two schemas stay
/// the same; one process there remembers them in memory): each accepted signature of a slash
/// command or an interaction, with the request's own timestamp (Unix seconds), so rows past
/// Slack's five-minute window, whose replays fail the timestamp check anyway, are deleted.
#[allow(non_upper_case_globals)]
const V_replays: &str = r#"
CREATE TABLE http_replays (
    workspace  TEXT NOT NULL DEFAULT '',
    signature  TEXT NOT NULL,
    request_ts INTEGER NOT NULL,
    PRIMARY KEY (workspace, signature)
);
CREATE INDEX http_replays_by_time ON http_replays (request_ts);
"#;

/// Slack's rate limits shared by replicas (PostgreSQL; kept in SQLite too, so the two schemas
/// stay the same): per workspace and key (`method:…`, `channel:…`), GCRA's theoretical arrival
/// time and the end of the last 429's `Retry-After`, in seconds since 1970 on the database's
/// clock, and the spacing the key was last reserved at (`store::rates`).
#[allow(non_upper_case_globals)]
const V_slack_rates: &str = r#"
CREATE TABLE slack_rates (
    workspace     TEXT NOT NULL DEFAULT '',
    key           TEXT NOT NULL,
    spacing       REAL NOT NULL,
    tat           REAL NOT NULL,
    blocked_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, key)
);
"#;

/// Every migration, in the order they apply; a database's version is how many it has had.
const ALL: &[&str] = &[
    V1,
    V2,
    V3,
    V_follow,
    V_timeoff,
    V_home,
    V_threads,
    V_send_failures,
    V_slack_teams,
    V_compat,
    V_claims,
    V_workspace,
    V_replays,
    V_slack_rates,
];

/// The versions an older binary cannot use a database at: every one up to `V_send_failures`
/// counts (taken as breaking: nothing older reads `schema_compat` anyway); from then on, a
/// migration that only adds tables, or columns with defaults, is left out of this list. One that
/// renames, drops or tightens anything must be listed.
const BREAKING: &[usize] = &[1, 2, 3, 4, 5, 6, 7, 8];

/// The oldest schema version a binary must know to use a database at `version`: the newest
/// breaking migration up to it.
pub fn oldest_binary(version: usize) -> usize {
    BREAKING
        .iter()
        .copied()
        .filter(|v| *v <= version)
        .max()
        .unwrap_or(0)
}

pub fn migrations() -> Migrations<'static> {
    Migrations::new(ALL.iter().map(|sql| M::up(sql)).collect())
}

/// The schema version this binary writes.
pub fn latest_version() -> usize {
    ALL.len()
}

/// PostgreSQL's migrations: its own list, whose first entry is the SQLite schema as it stood at
/// SQLite's version 10, in PostgreSQL's words. Integers are BIGINT (SQLite's are 64-bit), ids
/// are identities (for `RETURNING id`), and text compares byte by byte (`COLLATE "C"`, SQLite's
/// order: timestamps and keys sort as they do there). A later change is written in both lists.
const PG_V1: &str = r#"
CREATE TABLE teams (
    id      TEXT COLLATE "C" PRIMARY KEY,
    name    TEXT COLLATE "C" NOT NULL,
    format  TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL
);

CREATE TABLE members (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id      TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    handle       TEXT COLLATE "C" NOT NULL,
    slack_user   TEXT COLLATE "C",
    active       BIGINT NOT NULL DEFAULT 1,
    position     BIGINT NOT NULL DEFAULT 0,
    tz           TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    quiet_hours  TEXT COLLATE "C",
    UNIQUE (team_id, handle)
);
CREATE UNIQUE INDEX members_by_user ON members(team_id, slack_user) WHERE slack_user IS NOT NULL;

CREATE TABLE cycles (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id       TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    date          TEXT COLLATE "C" NOT NULL,
    title         TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL CHECK (source IN ('bot', 'import')),
    import_digest TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL,
    UNIQUE (team_id, date)
);

CREATE TABLE cycle_members (
    cycle_id  BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members(id),
    position  BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, member_id)
);

CREATE TABLE meeting_sections (
    cycle_id BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    role     TEXT COLLATE "C" NOT NULL CHECK (role IN ('verbatim', 'updates', 'questions')),
    heading  TEXT COLLATE "C" NOT NULL,
    body     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (cycle_id, position)
);

CREATE TABLE replies (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    cycle_id    BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   BIGINT NOT NULL REFERENCES members(id),
    source      TEXT COLLATE "C" NOT NULL,
    slack_ts    TEXT COLLATE "C" NOT NULL,
    revision    BIGINT NOT NULL,
    text        TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    version_ts  TEXT COLLATE "C" NOT NULL DEFAULT '',
    UNIQUE (cycle_id, member_id, slack_ts, revision)
);

CREATE TABLE updates (
    cycle_id    BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   BIGINT NOT NULL REFERENCES members(id),
    source      TEXT COLLATE "C" NOT NULL,
    parsed      TEXT COLLATE "C" NOT NULL,
    diagnostics TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (cycle_id, member_id)
);
CREATE INDEX updates_by_member ON updates(member_id, cycle_id);

CREATE TABLE blockers (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    cycle_id    BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    member_id   BIGINT NOT NULL REFERENCES members(id),
    text        TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL CHECK (source IN ('update', 'command')),
    opened_at   TEXT COLLATE "C" NOT NULL,
    resolved_at TEXT COLLATE "C",
    resolved_by TEXT COLLATE "C"
);
CREATE INDEX blockers_open ON blockers(member_id) WHERE resolved_at IS NULL;
CREATE INDEX blockers_resolved ON blockers(resolved_at) WHERE resolved_at IS NOT NULL;

CREATE TABLE posts (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    cycle_id       BIGINT NOT NULL REFERENCES cycles(id) ON DELETE CASCADE,
    kind           TEXT COLLATE "C" NOT NULL,
    channel        TEXT COLLATE "C" NOT NULL,
    ts             TEXT COLLATE "C",
    file_id        TEXT COLLATE "C",
    content_digest TEXT COLLATE "C" NOT NULL,
    posted_at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX posts_by_kind ON posts(cycle_id, kind, id);

CREATE TABLE fragments (
    team_id  TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    source   TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL,
    line     BIGINT NOT NULL,
    text     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, source, position)
);

CREATE TABLE jobs (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id    TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('prompt', 'remind', 'post')),
    fire_at    TEXT COLLATE "C" NOT NULL,
    member     TEXT COLLATE "C" NOT NULL DEFAULT '',
    cycle_date TEXT COLLATE "C" NOT NULL,
    state      TEXT COLLATE "C" NOT NULL CHECK (state IN ('started', 'done', 'skipped', 'failed')),
    attempts   BIGINT NOT NULL DEFAULT 1,
    last_error TEXT COLLATE "C",
    started_at TEXT COLLATE "C" NOT NULL,
    done_at    TEXT COLLATE "C",
    UNIQUE (team_id, kind, fire_at, member)
);

CREATE TABLE absences (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    member_id  BIGINT NOT NULL REFERENCES members(id),
    from_date  TEXT COLLATE "C" NOT NULL,
    to_date    TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('skip', 'ooo')),
    created_at TEXT COLLATE "C" NOT NULL
);

-- Events in arrival order: `seq` stands in for SQLite's rowid among events of one millisecond.
CREATE TABLE inbox (
    event_id    TEXT COLLATE "C" PRIMARY KEY,
    payload     TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    handled_at  TEXT COLLATE "C",
    last_error  TEXT COLLATE "C",
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX inbox_pending ON inbox(received_at) WHERE handled_at IS NULL;

CREATE TABLE sends (
    key        TEXT COLLATE "C" PRIMARY KEY,
    channel    TEXT COLLATE "C" NOT NULL,
    thread_ts  TEXT COLLATE "C",
    started_at TEXT COLLATE "C" NOT NULL,
    detail     TEXT COLLATE "C",
    ts         TEXT COLLATE "C",
    done_at    TEXT COLLATE "C",
    team_id    TEXT COLLATE "C",
    checks     BIGINT NOT NULL DEFAULT 0,
    error      TEXT COLLATE "C",
    failed_at  TEXT COLLATE "C"
);
CREATE INDEX sends_failed ON sends(team_id) WHERE failed_at IS NOT NULL;

CREATE TABLE status_away (
    member_id  BIGINT NOT NULL REFERENCES members(id),
    cycle_date TEXT COLLATE "C" NOT NULL,
    emoji      TEXT COLLATE "C" NOT NULL,
    seen_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (member_id, cycle_date)
);

CREATE TABLE home_views (
    slack_user TEXT COLLATE "C" PRIMARY KEY,
    opened_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE intros (
    team_id    TEXT COLLATE "C" NOT NULL,
    slack_user TEXT COLLATE "C" NOT NULL,
    due_at     TEXT COLLATE "C" NOT NULL,
    done_at    TEXT COLLATE "C",
    PRIMARY KEY (team_id, slack_user)
);

CREATE TABLE slack_teams (
    team_id TEXT COLLATE "C" PRIMARY KEY,
    toml    TEXT COLLATE "C" NOT NULL,
    set_by  TEXT COLLATE "C" NOT NULL,
    set_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE schema_compat (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    oldest_binary BIGINT NOT NULL
);
"#;

/// Replicas take turns at the work only one may do (the scheduler) by lease: a row per lease with
/// its holder, an epoch that grows with each new holder (the fencing token: a write made under an
/// older epoch is refused) and an expiry on the database's clock. SQLite has no such table: one
/// process runs on a file (`store::owner`).
const PG_V2_LEASES: &str = r#"
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
"#;

/// PostgreSQL's migrations, in the order they apply; its version is how many it has had.
pub const PG_ALL: &[&str] = &[
    PG_V1,
    PG_V2_LEASES,
    PG_V3_CLAIMS,
    PG_V4_WORKSPACE,
    PG_V5_REPLAYS,
    PG_V6_SLACK_RATES,
];

/// SQLite's `V_claims`.
const PG_V3_CLAIMS: &str = r#"
ALTER TABLE sends ADD COLUMN claimed_by TEXT COLLATE "C";
ALTER TABLE sends ADD COLUMN claim_until TEXT COLLATE "C";
ALTER TABLE inbox ADD COLUMN claimed_by TEXT COLLATE "C";
ALTER TABLE inbox ADD COLUMN claim_until TEXT COLLATE "C";
"#;

/// SQLite's `V_workspace`.
const PG_V4_WORKSPACE: &str = r#"
ALTER TABLE teams ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE cycles ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE cycle_members ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE meeting_sections ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE replies ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE updates ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE blockers ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE fragments ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE absences ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sends ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE status_away ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE home_views ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE intros ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE slack_teams ADD COLUMN workspace TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE TABLE workspace_binding (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    workspace TEXT COLLATE "C" NOT NULL,
    bound_at  TEXT COLLATE "C" NOT NULL
);
"#;

/// SQLite's `V_replays`.
const PG_V5_REPLAYS: &str = r#"
CREATE TABLE http_replays (
    workspace  TEXT COLLATE "C" NOT NULL DEFAULT '',
    signature  TEXT COLLATE "C" NOT NULL,
    request_ts BIGINT NOT NULL,
    PRIMARY KEY (workspace, signature)
);
CREATE INDEX http_replays_by_time ON http_replays (request_ts);
"#;

/// SQLite's `V_slack_rates`, unlogged: passing state that no crash, failover or standby needs, so
/// the write each Slack call makes costs no WAL and its commit no wait for the disk (a crash or
/// a failover empties the table: every key starts with a full burst again, and a 429 met then
/// is handled by `Retry-After` as before).
const PG_V6_SLACK_RATES: &str = r#"
CREATE UNLOGGED TABLE slack_rates (
    workspace     TEXT COLLATE "C" NOT NULL DEFAULT '',
    key           TEXT COLLATE "C" NOT NULL,
    spacing       DOUBLE PRECISION NOT NULL,
    tat           DOUBLE PRECISION NOT NULL,
    blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, key)
);
"#;

/// PostgreSQL's versions an older binary cannot use a database at (see [`BREAKING`]).
const PG_BREAKING: &[usize] = &[1];

/// [`oldest_binary`] for PostgreSQL's list.
pub fn pg_oldest_binary(version: usize) -> usize {
    PG_BREAKING
        .iter()
        .copied()
        .filter(|v| *v <= version)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().expect("valid migrations");
    }

    #[test]
    fn a_database_is_usable_by_binaries_back_to_its_last_breaking_migration() {
        use super::{latest_version, oldest_binary};
        assert_eq!(oldest_binary(8), 8);
        // The teams set up from Slack and the compatibility table only add tables.
        assert_eq!(oldest_binary(9), 8);
        assert_eq!(oldest_binary(latest_version()), 8);
        assert_eq!(oldest_binary(0), 0);
    }
}
