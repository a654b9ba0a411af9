#!/usr/bin/env bash
# Supply-chain checks with cargo-deny, configured by deny.toml.
#
#   scripts/deny.sh                   licenses, bans and sources (offline, no database needed)
#   scripts/deny.sh ADVISORY_DB_DIR   the same, then advisories against that database
#
# ADVISORY_DB_DIR is a git checkout of https://github.com/rustsec/advisory-db at the snapshot to
# check against (a clone, or `git worktree add DIR <commit>` of one). Nothing is fetched: the
# check says what was known on the snapshot's date, which it prints. Example:
#
#   git clone https://github.com/rustsec/advisory-db /tmp/advisory-db
#   git -C /tmp/advisory-db checkout "$(git -C /tmp/advisory-db rev-list -1 --before=2026-08-22 HEAD)"
#   scripts/deny.sh /tmp/advisory-db
#
# Needs cargo-deny 0.20 (`cargo install cargo-deny --locked`) and git.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "cargo-deny is not installed: run \`cargo install cargo-deny --locked\`" >&2
    exit 1
fi

echo "== licenses, bans, sources"
# Duplicate versions are warnings; `cargo deny check bans` shows which crates pull each one in.
cargo deny --locked check --hide-inclusion-graph licenses bans sources

if [ $# -eq 0 ]; then
    echo "== advisories: skipped (give an advisory-db checkout to check against it)"
    exit 0
fi

db=$(cd "$1" 2>/dev/null && pwd) || { echo "no such directory: $1" >&2; exit 1; }
if ! git -C "$db" rev-parse --verify -q HEAD >/dev/null || [ ! -d "$db/crates" ]; then
    echo "$1 is not a checkout of rustsec/advisory-db (no git HEAD or no crates/ directory)" >&2
    exit 1
fi
echo "== advisories: rustsec/advisory-db at $(git -C "$db" log -1 --format='%h (%cs)')"

# cargo-deny reads its databases from <db-path>/<name derived from the URL>; it takes that
# root only from its config. So: a copy of deny.toml naming a scratch root, where the
# snapshot is linked under the name cargo-deny 0.20 gives the default URL.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/dbs"
ln -s "$db" "$scratch/dbs/advisory-db-3157b0e258782691"
# A snapshot is old on purpose: allow any age (the date is printed above).
sed "s|^\[advisories\]$|[advisories]\ndb-path = \"$scratch/dbs\"\nmaximum-db-staleness = \"P36500D\"|" \
    deny.toml >"$scratch/deny.toml"
# --offline: no fetch of the database (and the crate sources are already there from the
# checks above).
cargo deny --locked --offline --config "$scratch/deny.toml" check advisories
