#!/usr/bin/env bash
# Checks the Dockerfile without Docker (a static check, plus an optional real build):
#   - its `cargo build` is a --release --locked build of the standup-bot binary, and CI also
#     builds --locked, so both compile exactly Cargo.lock;
#   - the builder image's Rust is at least the workspace's rust-version;
#   - the build stage COPYs, at the same relative paths, everything cargo needs: Cargo.toml,
#     Cargo.lock, src/, every workspace member, every declared [[bench]]/[[test]]/[[example]]/
#     [[bin]] file, and every include_str!/include_bytes! file; and .dockerignore drops none of it.
# With --build it also clones HEAD into /tmp, keeps only what the build stage COPYs, runs that
# same `cargo build` there, and runs `check-config` from an /app-like layout, as the image would.
# It does not parse every Dockerfile form (shell-form COPY only, no ARG/ENV expansion).
# Usage: bash scripts/check-dockerfile.sh [--build]      Exit status: 0 ok, 1 a problem.
set -euo pipefail
cd "$(dirname "$0")/.."

build=false
case "${1:-}" in
    "") ;;
    --build) build=true ;;
    *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

problems=0
fail() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }
ok() { echo "ok: $*"; }
norm() { local p="${1#./}"; p="${p%/}"; echo "${p:-.}"; }   # ./src/ -> src, ./ -> .

# The build stage: from the first FROM to the next, with line continuations joined.
stage=$(awk '/^[[:space:]]*#/ { next }
             { line = line $0 }
             /\\$/ { sub(/\\$/, "", line); next }
             { print line; line = "" }' Dockerfile |
        awk 'toupper($1) == "FROM" { n++ } n == 1')

# 1. The cargo build command.
cmd=$(grep -o 'cargo build[^&;]*' <<<"$stage" | sed 's/[[:space:]]*$//' || true)
if [[ $(grep -c . <<<"$cmd") -ne 1 ]]; then
    fail "expected exactly one \`cargo build\` in the build stage, found: ${cmd:-none}"
else
    echo "build step: $cmd"
    for flag in --release --locked "--bin standup-bot"; do
        [[ " $cmd " == *" $flag "* ]] || fail "the Dockerfile's cargo build lacks $flag"
    done
fi
ci_cargo=$(grep -E '^[^#]*cargo (build|clippy|test)' .ci/run | grep -v -- '--version' || true)
if [[ -z $ci_cargo ]] || grep -v -q -- --locked <<<"$ci_cargo"; then
    fail ".ci/run has a cargo build/clippy/test without --locked: CI and the image could resolve different versions"
else
    ok "CI and the image both build --locked from Cargo.lock"
fi

# 2. Builder Rust version >= rust-version.
image=$(awk 'toupper($1) == "FROM" { print $2; exit }' <<<"$stage")
have=$(sed -nE 's#^(docker\.io/library/)?rust:([0-9]+\.[0-9]+).*#\2#p' <<<"$image")
need=$(sed -nE 's/^rust-version *= *"([0-9]+\.[0-9]+).*/\1/p' Cargo.toml | head -n1)
if [[ -z $have || -z $need ]]; then
    fail "cannot compare the builder image ($image) with rust-version (${need:-unset})"
elif [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]]; then
    fail "builder image $image is older than rust-version $need"
else
    ok "builder image $image >= rust-version $need"
fi

# 2b. Base images by their full name: Podman and Buildah resolve a short name (`rust:…`) only
# through a registries file, so every FROM names its registry.
while read -r from; do
    if [[ $from != */*/* ]]; then
        fail "base image $from is a short name; write it in full (docker.io/library/…)"
    else
        ok "base image $from is fully qualified"
    fi
done < <(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile)

# 3. What the build stage copies: each source must land at its own relative path.
copied=()
while read -r -a words; do
    [[ ${#words[@]} -ge 3 ]] || continue
    args=()
    for w in "${words[@]:1}"; do [[ $w == --* ]] || args+=("$w"); done
    [[ " ${words[*]} " == *" --from="* ]] && continue
    dest=$(norm "${args[-1]}")
    srcs=("${args[@]:0:${#args[@]}-1}")
    for s in "${srcs[@]}"; do
        s=$(norm "$s")
        if [[ -d $s ]]; then at=$dest                    # a directory's contents go into dest
        elif [[ ${args[-1]} == */ || $dest == . || ${#srcs[@]} -gt 1 ]]; then
            at=$(norm "$dest/$(basename "$s")")
        else at=$dest
        fi
        [[ $at == "$s" ]] || fail "COPY $s lands at ./$at, not ./$s: cargo would not find it"
        copied+=("$s")
    done
done < <(awk 'toupper($1) == "COPY"' <<<"$stage")

mapfile -t ignores < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' .dockerignore 2>/dev/null || true)
covered() {   # is path $1 copied into the build stage (and not dropped by .dockerignore)?
    local p=$1 s pat hit=false
    for s in "${copied[@]}"; do
        [[ $s == . || $p == "$s" || $p == "$s"/* ]] && hit=true
    done
    $hit || return 1
    for pat in "${ignores[@]}"; do
        pat=$(norm "${pat//\*\*\//*}")
        # shellcheck disable=SC2053 # the pattern is a glob on purpose
        [[ $p == $pat || $p == $pat/* ]] && { echo "  (.dockerignore drops it: $pat)" >&2; return 1; }
    done
    return 0
}

# Workspace members (a glob in `members` is expanded).
mapfile -t members < <(awk '/^\[workspace\]/ { ws = 1; next } /^\[/ { ws = 0 }
    ws && /^[[:space:]]*members[[:space:]]*=/ { inm = 1 }
    inm { print; if (/\]/) inm = 0 }' Cargo.toml | grep -o '"[^"]*"' | tr -d '"')
[[ ${#members[@]} -gt 0 ]] || members=(.)
needed=(Cargo.toml Cargo.lock)
for m in "${members[@]}"; do
    for dir in $m; do
        dir=$(norm "$dir")
        pre=""; [[ $dir == . ]] || pre="$dir/"
        needed+=("${pre}Cargo.toml")
        [[ -d ${pre}src ]] && needed+=("${pre}src")
        # Declared targets: [[bench]] name = "core" -> benches/core.rs unless a path is given.
        while read -r kind name path; do
            if [[ $path == - ]]; then
                case $kind in
                    bench) path="benches/$name.rs" ;;   test) path="tests/$name.rs" ;;
                    example) path="examples/$name.rs" ;; bin) path="src/bin/$name.rs" ;;
                esac
                [[ -e $pre$path ]] || path="${path%.rs}/main.rs"
            fi
            needed+=("$(norm "$pre$path")")
        done < <(awk '
            function flush() { if (kind != "") print kind, (name == "" ? "-" : name), (path == "" ? "-" : path) }
            /^\[\[(bench|test|example|bin)\]\]/ { flush(); kind = $0; gsub(/[][[:space:]]/, "", kind); name = path = ""; next }
            /^\[/ { flush(); kind = ""; next }
            kind != "" && /^[[:space:]]*name[[:space:]]*=/ { name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name) }
            kind != "" && /^[[:space:]]*path[[:space:]]*=/ { path = $0; sub(/^[^"]*"/, "", path); sub(/".*/, "", path) }
            END { flush() }' "${pre}Cargo.toml")
        # Files compiled in from outside src/.
        while IFS=: read -r file lit; do
            inc=$(realpath -m --relative-to=. "$(dirname "$file")/$lit")
            needed+=("$inc")
        done < <(grep -rEo 'include_(str|bytes)!\("[^"]+"\)' "${pre}src" 2>/dev/null |
                 sed -E 's/include_(str|bytes)!\("([^"]+)"\)/\2/')
    done
done

mapfile -t needed < <(printf '%s\n' "${needed[@]}" | sort -u)
for p in "${needed[@]}"; do
    if [[ ! -e $p ]]; then fail "$p is needed by the workspace but does not exist"
    elif covered "$p"; then ok "copied: $p"
    else fail "$p is needed by cargo but the build stage does not COPY it"
    fi
done

if [[ $problems -gt 0 ]]; then
    echo "check-dockerfile: $problems problem(s)" >&2
    exit 1
fi
echo "check-dockerfile: static checks passed"
$build || exit 0

# 4. Optional: the same build in a fresh clone holding only what the build stage copies.
[[ -z $(git status --porcelain) ]] || echo "note: uncommitted changes are not in the clone; it builds HEAD" >&2
tmp=$(mktemp -d /tmp/check-dockerfile.XXXXXX)
echo "building in $tmp (remove it when done)"
git clone --quiet --no-local . "$tmp/clone"
mkdir -p "$tmp/context"
for s in "${copied[@]}"; do
    mkdir -p "$tmp/context/$(dirname "$s")"
    cp -a "$tmp/clone/$s" "$tmp/context/$s"
done
for pat in "${ignores[@]}"; do   # drop what .dockerignore would (e.g. config/standup.toml)
    # shellcheck disable=SC2086 # the pattern is a glob on purpose
    (cd "$tmp/context" && shopt -s globstar nullglob && rm -rf -- $pat)
done
(cd "$tmp/context" && $cmd)
bin="${CARGO_TARGET_DIR:-$tmp/context/target}/release/standup-bot"
"$bin" --version
missing=$(ldd "$bin" | grep 'not found' || true)
[[ -z $missing ]] || { echo "FAIL: the binary needs libraries not present: $missing" >&2; exit 1; }
echo "shared libraries: $(ldd "$bin" | awk '{ print $1 }' | tr '\n' ' ')"
# The runtime layout: /app with config/templates and the example config, nothing else.
mkdir -p "$tmp/app/config"
cp -a "$tmp/clone/config/templates" "$tmp/clone/config/standup.example.toml" "$tmp/app/config/"
(cd "$tmp/app" && env -u STANDUP_CONFIG "$bin" check-config)
echo "check-dockerfile: build passed"
