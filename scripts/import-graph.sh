#!/usr/bin/env bash
# Prints which top-level modules of src/ each module uses (crate:: paths, grouped imports
# expanded; comments skipped), and the workspace crates each crate depends on. The layer rule
# itself is enforced by tests/it/layers.rs; this is the picture to read.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in src/*; do
    mod=$(basename "$dir" .rs)
    [[ $mod == lib || $mod == main ]] && continue
    uses=$(grep -rh --include='*.rs' -v '^\s*//' "$dir" \
        | { grep -oE 'crate::(\{[^}]*\}|[a-z_]+)' || true; } \
        | sed -E 's/crate:://; s/[{}]//g' | tr ',' '\n' | sed -E 's/^ *//; s/::.*//' \
        | { grep -E '^[a-z_]+$' || true; } | { grep -vx "$mod" || true; } | sort -u | tr '\n' ' ')
    printf '%-8s -> %s\n' "$mod" "${uses:-(nothing)}"
done
printf '%-8s -> %s\n' main "$(grep -oE 'standup_bot::[a-z_]+' src/main.rs | sed 's/standup_bot:://' | sort -u | tr '\n' ' ')"
echo
for manifest in core/Cargo.toml Cargo.toml emulator/Cargo.toml; do
    name=$(sed -nE 's/^name *= *"([^"]+)".*/\1/p' "$manifest" | head -n1)
    deps=$(awk '/^\[/ { dev = ($0 ~ /dev-dependencies/) }
        /^(standup-core|slack-emulator|standup-bot) *=/ { print $1 (dev ? " (dev)" : "") }' "$manifest" | tr '\n' ' ')
    printf 'crate %-14s -> %s\n' "$name" "${deps:-(no workspace crate)}"
done
