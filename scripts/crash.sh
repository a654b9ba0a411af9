#!/usr/bin/env bash
# Kills the bot with SIGKILL at random points through prompt fan-out, a reply burst and the
# post, restarting it each time, and checks that nothing was lost or repeated. Half the kills hit
# a team in thread mode (updates, flags and escalations as replies in the cycle's thread).
#
#   scripts/crash.sh [kills] [seed]     # default 200 kills, a fresh seed
#
# CI runs the same test with 18 kills (`cargo test --test it crash::`). A failing run prints its
# CRASH_SEED; pass it back to repeat the same kill points.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-200}"
seed="${2:-}"
export CRASH_KILLS="$kills"
if [ -n "$seed" ]; then export CRASH_SEED="$seed"; fi
start=$(date +%s)
cargo test --locked --test it crash:: -- --nocapture 2>&1 | grep -E "^(CRASH_SEED|scenarios|kills|replies|prompts|summaries|history|thread)|test result|panicked"
echo "crash run: ${kills} kills in $(( $(date +%s) - start )) s"
