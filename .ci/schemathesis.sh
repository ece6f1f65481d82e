#!/usr/bin/env bash
# schemathesis against a demo server: every operation of /api/openapi.json,
# all default checks (server errors, status codes, content types, headers and
# bodies against the document, auth enforced, wrong methods 405, positive data
# accepted and negative data rejected), as the demo administrator.
#
#   .ci/schemathesis.sh target/debug/cashdesk
#
# Needs python3 (with venv) and the Python package index on first use; the
# virtual environment is kept in target/schemathesis-venv and reused while it
# holds the pinned version. The demo's data directory is thrown away: the
# generated requests change it freely. Exits non-zero on any failure.
#
# Settings (environment): SCHEMATHESIS_MAX_EXAMPLES (default 40) examples per
# operation and phase; SCHEMATHESIS_SEED (default 20261207) for a run that
# repeats; SCHEMATHESIS_VENV for another venv directory.
set -euo pipefail

ST_VERSION=4.32.5
bin=${1:?usage: .ci/schemathesis.sh PATH/TO/cashdesk}
cd "$(dirname "$0")/.."
bin=$(realpath "$bin")
venv=$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")
examples=${SCHEMATHESIS_MAX_EXAMPLES:-40}
seed=${SCHEMATHESIS_SEED:-20261207}

work=$(mktemp -d "${TMPDIR:-/tmp}/cashdesk-schemathesis.XXXXXX")
server=""
stop_server() {
    if [ -n "$server" ]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}
cleanup() {
    status=$?
    stop_server
    if [ "$status" -ne 0 ] && [ -f "$work/server.err" ]; then
        echo "-- server log (last 20 lines):" >&2
        tail -n 20 "$work/server.err" >&2 || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "$venv/bin/st" --version 2>/dev/null | grep -qx "st, version $ST_VERSION"; then
    echo "== installing schemathesis $ST_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
"$venv/bin/st" --version

echo "== starting $bin serve --demo on a free loopback port"
"$bin" serve --demo --listen 127.0.0.1:0 --data "$work/demo" >"$work/server.out" 2>"$work/server.err" &
server=$!
base=""
for _ in $(seq 1 600); do
    base=$(sed -n 's/^cashdesk listening on \(http:\/\/[^ ]*\)$/\1/p' "$work/server.out")
    [ -n "$base" ] && break
    kill -0 "$server" 2>/dev/null || { echo "the server exited before listening" >&2; exit 1; }
    sleep 0.2
done
[ -n "$base" ] || { echo "the server did not say where it listens within 120 s" >&2; exit 1; }
password=$(awk '$1 == "demo-admin" { print $3 }' "$work/server.out")
[ -n "$password" ] || { echo "no demo-admin password in the demo's printout" >&2; exit 1; }
"$venv/bin/python" - "$base/ready" <<'EOF'
import sys, time, urllib.request
for _ in range(300):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("the server did not become ready within 60 s")
EOF
echo "== $base is ready; schemathesis with $examples examples per operation, seed $seed"

# From the throwaway directory: schemathesis keeps a cache where it runs.
cd "$work"
"$venv/bin/st" --no-color run "$base/api/openapi.json" \
    --auth "demo-admin:$password" \
    --workers 2 \
    --max-examples "$examples" \
    --seed "$seed" \
    --generation-database none \
    --generation-with-security-parameters false \
    --request-timeout 30
