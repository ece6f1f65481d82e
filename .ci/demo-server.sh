# Sourced by .ci/schemathesis.sh and .ci/openapi-client.sh: a throwaway
# `cashdesk serve --demo` on a free loopback port.
#
#   start_demo BINARY DIR   starts it with its data in DIR/demo, waits until
#                           /ready answers, and sets DEMO_PID, DEMO_URL and
#                           DEMO_ADMIN_PASSWORD (the demo's administrator);
#                           its output is in DIR/server.out and server.err
#   stop_demo               stops it (SIGTERM) and waits; safe to call twice

DEMO_PID=""

start_demo() {
    local bin=$1 dir=$2
    "$bin" serve --demo --listen 127.0.0.1:0 --data "$dir/demo" >"$dir/server.out" 2>"$dir/server.err" &
    DEMO_PID=$!
    DEMO_URL=""
    for _ in $(seq 1 600); do
        DEMO_URL=$(sed -n 's/^cashdesk listening on \(http:\/\/[^ ]*\)$/\1/p' "$dir/server.out")
        [ -n "$DEMO_URL" ] && break
        kill -0 "$DEMO_PID" 2>/dev/null || { echo "the server exited before listening" >&2; return 1; }
        sleep 0.2
    done
    [ -n "$DEMO_URL" ] || { echo "the server did not say where it listens within 120 s" >&2; return 1; }
    DEMO_ADMIN_PASSWORD=$(awk '$1 == "demo-admin" { print $3 }' "$dir/server.out")
    [ -n "$DEMO_ADMIN_PASSWORD" ] || { echo "no demo-admin password in the demo's printout" >&2; return 1; }
    python3 - "$DEMO_URL/ready" <<'PY'
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
PY
}

stop_demo() {
    if [ -n "$DEMO_PID" ]; then
        kill -TERM "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
        DEMO_PID=""
    fi
}
