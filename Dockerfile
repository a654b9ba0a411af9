# syntax=docker/dockerfile:1
#
# standup-bot container image: a Rust build stage and a small Debian runtime stage.
#
#   docker build -t standup-bot .
#   docker run --rm standup-bot demo --out /tmp/demo      # see it work, no Slack needed
#   docker run -d --name standup-bot -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN \
#     -v "$PWD/config:/app/config:ro" -v standup-data:/app/data standup-bot
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.
# `bash scripts/check-dockerfile.sh` checks, without Docker, that the build step matches CI's
# and that every file the workspace needs is copied in.

############################ build ############################
FROM docker.io/library/rust:1.95-bookworm AS builder
WORKDIR /build

# Everything `cargo build` needs to load the workspace and compile the binary, and nothing more:
# - Cargo.toml, Cargo.lock: the workspace manifest and the exact dependency versions (--locked);
# - src/: the library and the binary;
# - core/: the workspace's pure core crate, a dependency of the binary;
# - emulator/: the bundled Slack emulator, a dependency of the binary (`standup-bot demo` runs
#   the bot against it), so the directory goes in whole (it is small);
# - benches/: Cargo.toml declares [[bench]] "core", and cargo refuses a declared target whose
#   file is missing;
# - config/: the built-in templates are compiled in (include_str! of config/templates/*.j2).
# tests/ is not copied: its targets are discovered, not declared, so the build does not need it.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY core ./core
COPY emulator ./emulator
COPY benches ./benches
COPY config ./config

# The crates index and downloads and the target directory live in BuildKit cache mounts, so a
# rebuild after a source change recompiles only this workspace's crates. A cache mount is not
# part of the image: the binary is copied out of target/ in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/build/target,sharing=locked \
    cargo build --release --locked --bin standup-bot \
    && install -D -m 0755 target/release/standup-bot /out/standup-bot

############################ runtime ############################
FROM docker.io/library/debian:bookworm-slim AS runtime

LABEL org.opencontainers.image.title="standup-bot" \
      org.opencontainers.image.description="Self-hosted Slack bot that runs a team's asynchronous standup and writes the team's own meeting notes" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

# ca-certificates: rustls uses the system roots to reach slack.com over TLS.
# tzdata: IANA zones for anything reading TZ (schedules use chrono-tz's compiled-in data).
# git: the notes archive commits with it when `[archive] git = true`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata git \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid, so a bind-mounted data directory can be chowned to match
# (`chown 10001:10001 ./data`) and orchestrators can verify runAsNonRoot.
RUN groupadd --system --gid 10001 standup \
    && useradd --system --uid 10001 --gid standup --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin standup \
    && mkdir -p /app/config /app/data \
    && chown standup:standup /app/data

WORKDIR /app

COPY --from=builder /out/standup-bot /usr/local/bin/standup-bot
# The example config and the templates, owned by root and read-only for the bot. The bot reads
# config/standup.toml when it exists and config/standup.example.toml otherwise (both relative to
# /app): mount your own over /app/config (or just /app/config/standup.toml), or set
# STANDUP_CONFIG. STANDUP_CONFIG is deliberately not set here.
COPY config/templates /app/config/templates
COPY config/standup.example.toml /app/config/standup.example.toml

# The SQLite database: `[database] path = "data/standup.db"` resolves to /app/data/standup.db.
VOLUME ["/app/data"]

USER 10001:10001

# HTTP mode (`run --http 0.0.0.0:3000`): Events API, slash commands and interactivity.
# Socket Mode needs no inbound port.
EXPOSE 3000

# A probe without curl: the binary itself GETs /healthz and exits 0 (healthy) or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/standup-bot", "healthcheck", "--url", "http://127.0.0.1:3000/healthz"]

# Socket Mode serves /healthz here; in HTTP mode the --http listener serves it.
ENV STANDUP_HEALTH_ADDR=127.0.0.1:3000

ENTRYPOINT ["standup-bot"]
CMD ["run"]
