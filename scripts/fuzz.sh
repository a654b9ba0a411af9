#!/usr/bin/env bash
# Fuzzes for a fixed wall-clock budget: runs the `fuzz` test target (tests/it/fuzz.rs) round after
# round, each round with a fresh random PROPTEST_RNG_SEED and a large FUZZ_CASES, all targets
# at once, until the budget is spent (FUZZ_DEADLINE stops the round in progress on time).
#
#   scripts/fuzz.sh [SECONDS]   default 60; 600 before a release
#   FUZZ_CASES=N                cases per round for the cheapest targets (default 50000)
#
# Building the target is not counted in the budget. Prints the rounds, the cases run per target,
# and on a failure its seed, its smallest input and where it is saved
# (tests/it/fuzz.proptest-regressions, replayed first by every later run, `cargo test` included).
# Stops at the first failing round and exits 1; exits 0 when the budget ran out clean.
set -euo pipefail

budget="${1:-60}"
if [[ ! "$budget" =~ ^[0-9]+$ ]] || ((budget == 0)); then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi
cases="${FUZZ_CASES:-50000}"
cd "$(dirname "$0")/.."
logs="${CARGO_TARGET_DIR:-target}/fuzz-logs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs"

echo "fuzz: building the fuzz test target"
cargo test --test it --no-run --quiet

start=$(date +%s)
deadline=$((start + budget))
declare -A total=()
rounds=0
failed=0
while (($(date +%s) < deadline)); do
    rounds=$((rounds + 1))
    seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    log="$logs/round-$rounds.log"
    status=0
    # Every target in its own thread, so all share the budget; a round that outlives the
    # budget by far has hung, which is a failure too.
    FUZZ_CASES="$cases" FUZZ_DEADLINE="$deadline" PROPTEST_RNG_SEED="$seed" \
        timeout --kill-after=10 $((budget + 300)) \
        cargo test --quiet --test it fuzz:: -- --nocapture --test-threads=16 >"$log" 2>&1 ||
        status=$?
    # libtest's progress dots share the line, so match anywhere in it.
    while read -r _ target n; do
        total[$target]=$((${total[$target]:-0} + n))
    done < <(grep -o 'fuzz-cases [a-z_]* [0-9]*' "$log" || true)
    if ((status != 0)); then
        failed=$(grep -c 'fuzz target .* \(failed\|gave up\)' "$log" || true)
        ((failed > 0)) || failed=1
        echo "fuzz: round $rounds FAILED (exit $status; PROPTEST_RNG_SEED=$seed FUZZ_CASES=$cases)"
        if ((status == 124 || status == 137)); then
            echo "fuzz: the round hung past the budget"
        fi
        grep -E -A 12 'fuzz target .* (failed|gave up)' "$log" || tail -n 40 "$log"
        break
    fi
done
elapsed=$(($(date +%s) - start))

echo "fuzz: ${elapsed}s, $rounds round(s), cases per target:"
sum=0
for target in $(printf '%s\n' "${!total[@]}" | sort); do
    printf '  %-32s %10d\n' "$target" "${total[$target]}"
    sum=$((sum + total[$target]))
done
printf '  %-32s %10d\n' "total" "$sum"
echo "fuzz: logs in $logs"
if ((failed)); then
    echo "fuzz: $failed failing target(s); seeds saved in tests/fuzz.proptest-regressions (commit them with the fix)"
    exit 1
fi
echo "fuzz: no failures"
