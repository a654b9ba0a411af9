#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server, for the tests on PostgreSQL:
#
#   scripts/with-postgres.sh cargo test --test it -- cli::
#   scripts/with-postgres.sh sh -c 'psql "$STANDUP_TEST_POSTGRES" -c "select version()"'
#
# The command gets STANDUP_TEST_POSTGRES, the server's URL (its `postgres` database, as the
# superuser), on which the test harness creates a database per bot (tests/it/support.rs,
# `new_database`); without that variable the tests run on SQLite files. The server is removed
# afterwards, whatever the command's exit status, which the script returns.
#
# pg_virtualenv (postgresql-common) makes the cluster and drops it on exit; -t keeps it in a temp
# folder even as root, so it cannot collide with a cluster of the machine or of another run.
# Nothing in it has to survive a crash, so it is tuned for speed (no fsync, no waiting for
# commits to reach the disk, no full-page images), and allows enough connections for a test run
# of bots and pollers side by side. The C collation compares text byte by byte, as SQLite does
# (the bot compares RFC 3339 timestamps as text); UTF-8, as the bot's text is. Connections are
# trusted (the cluster listens on loopback for this run only): a password's SCRAM exchange costs
# thousands of hash rounds, unoptimised in a test build, on every connection the tests and the
# bots open, which made the suite several times slower.
set -euo pipefail
if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi
# The newest PostgreSQL the machine has (Debian 12's package is 15).
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ] || [ ! -x "/usr/lib/postgresql/$version/bin/postgres" ]; then
    echo "$0: PostgreSQL is not installed (apt-get install postgresql)" >&2
    exit 2
fi
exec pg_virtualenv -t -v "$version" \
    -i "--locale=C --encoding=UTF8 --auth=trust" \
    -o fsync=off -o synchronous_commit=off -o full_page_writes=off -o max_connections=200 \
    bash -c '
        export STANDUP_TEST_POSTGRES="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
        exec "$@"
    ' with-postgres "$@"
