# shellcheck shell=bash
# Sourced by .ci/run: a throwaway PostgreSQL cluster for the tests.
#
# Installs PostgreSQL from the system's packages when it is missing, starts a
# cluster as the `postgres` user with the package's own initdb and pg_ctl, on
# a private socket directory and port, trust auth on loopback only, and
# exports CASHDESK_TEST_PG (a URL where tests create throwaway databases) and
# CASHDESK_REQUIRE_PG=1 (so no PostgreSQL test can skip). `pg_stop` stops
# the cluster and removes it; the caller traps it on EXIT.

pg_bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin_dir)" ]; then
    echo "postgres.sh: installing PostgreSQL from the system's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
PG_BIN="$(pg_bin_dir)"
if [ -z "$PG_BIN" ]; then
    echo "postgres.sh: no PostgreSQL under /usr/lib/postgresql after installing" >&2
    return 1 2>/dev/null || exit 1
fi

PG_ROOT="$(mktemp -d /tmp/cashdesk-pg.XXXXXX)"
PG_DATA="$PG_ROOT/data"
PG_SOCK="$PG_ROOT/sock"
mkdir -p "$PG_SOCK"
# A free port: the kernel picks one, PostgreSQL takes it just after.
PG_PORT="${PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)}"
chown -R postgres:postgres "$PG_ROOT"
chmod 700 "$PG_ROOT"

pg_as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

pg_as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_ROOT/initdb.log" 2>&1 || {
    cat "$PG_ROOT/initdb.log" >&2
    return 1 2>/dev/null || exit 1
}
# Loopback only, trust: the cluster lives for one run and nobody else reaches it.
cat >"$PG_DATA/pg_hba.conf" <<HBA
local   all all                trust
host    all all 127.0.0.1/32   trust
host    all all ::1/128        trust
HBA
cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 300
fsync = on
synchronous_commit = on
CONF

pg_start() {
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log" -w -t 60 start >/dev/null
}

pg_stop() {
    if [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ]; then
        pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "${PG_ROOT:-}" ]; then
        rm -rf "$PG_ROOT"
    fi
}

pg_start || {
    cat "$PG_ROOT/server.log" >&2
    pg_stop
    return 1 2>/dev/null || exit 1
}

export CASHDESK_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export CASHDESK_REQUIRE_PG=1
# For the test that stops and restarts the cluster under a running server.
export CASHDESK_TEST_PG_CTL="$PG_BIN/pg_ctl"
export CASHDESK_TEST_PG_DATA="$PG_DATA"
echo "postgres.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_ROOT)" >&2
