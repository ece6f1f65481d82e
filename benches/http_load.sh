#!/usr/bin/env bash
# HTTP load figures for the cashdesk server, with a real load generator (wrk).
#
#   benches/http_load.sh            # ~10 s per scenario, 32 keep-alive connections
#   DURATION=5s CONNECTIONS=64 THREADS=2 benches/http_load.sh
#   STORE=postgres://user@host/db benches/http_load.sh   # on PostgreSQL (an empty database)
#   SERVERS=2 STORE=postgres://… benches/http_load.sh    # two servers on one database; each
#             scenario splits its connections over both (one wrk per server) and
#             the table sums their requests (p50/p99: the worse of the two)
#
# Scenarios, each on a fresh server over a temp dir with the shipped rules:
#   balance   GET /api/card/balance/by/number/{n}, Basic auth, a card with 4 lots
#   bare      the `bare_warp` bench target: warp answering a fixed JSON body of
#             the balance response's size (the HTTP/warp floor)
#   block     durable Block/UnBlock: each wrk thread owns CARDS_PER_THREAD
#             Issued+bound cards and walks them round-robin, so a card's next call
#             comes after CARDS_PER_THREAD-1 others; each card alternates Block
#             (reason 0 lost) and UnBlock (0 found). Every response body is checked
#             and non-OK answers are counted and reported.
#   calculate POST /api/purchase/Calculate as the cashier: three lines (one
#             tobacco) and a redemption, on an Active card with 4 lots
#   balance_slowloris  balance again while SLOWLORIS (default 5000; 0: skip)
#             half-open connections are held by benches/slowloris.py; the
#             server's CPU over a quiet 12 s while it holds and sheds them
#   balance_tls  balance over HTTPS (TLS=1, the default; one server only): the
#             server restarted on its data with a self-signed certificate
#   confirm   durable POST /api/purchase/Confirm as the cashier, a distinct
#             receipt id per call, each wrk thread walking its own
#             CONFIRM_CARDS_PER_THREAD Active cards (default 1024, loaded by
#             `cashdesk import` before the server starts): 1 bonus redeemed and
#             4.95 accrued per call (checked). Each Confirm adds a lot to its
#             card, and a Confirm reads and rewrites all of its card's lots:
#             with 64 cards per thread a 10 s run gives each card ~300 lots,
#             a year of daily shopping; CONFIRM_CARDS_PER_THREAD=64 shows that case
# Needs: wrk (apt-get install wrk; oha via cargo install as a fallback), curl, python3.
# Cleans up servers and temp dirs on any exit.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CARDS_PER_THREAD=${CARDS_PER_THREAD:-64}
CONFIRM_CARDS_PER_THREAD=${CONFIRM_CARDS_PER_THREAD:-1024}
SLOWLORIS=${SLOWLORIS:-5000}
SERVERS=${SERVERS:-1}
TLS=${TLS:-1}
if [ "$SERVERS" -gt 1 ] && [ -z "${STORE:-}" ]; then
    echo "SERVERS=$SERVERS needs STORE=postgres://… (one database for all of them)" >&2
    exit 1
fi
INSTANCES_CARDS=$((SERVERS * THREADS * CARDS_PER_THREAD))
CONFIRM_CARDS=$((SERVERS * THREADS * CONFIRM_CARDS_PER_THREAD))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

WORK=$(mktemp -d -t cashdesk-load.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT INT TERM

log() { echo "== $*" >&2; }

# --- load generator -----------------------------------------------------------
LOADGEN=""
if command -v wrk >/dev/null; then
    LOADGEN=wrk
else
    log "wrk not found; trying apt-get"
    if command -v apt-get >/dev/null && { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }; }; then
        LOADGEN=wrk
    elif command -v oha >/dev/null || cargo install oha --locked >&2; then
        LOADGEN=oha
    else
        echo "no load generator (wrk or oha) available" >&2
        exit 1
    fi
fi
if [ "$LOADGEN" = oha ]; then
    # oha cannot script the Block/UnBlock alternation; only wrk is supported for now.
    echo "wrk is required for the Block/UnBlock scenario; oha fallback not implemented" >&2
    exit 1
fi

# --- build --------------------------------------------------------------------
log "building (release)"
(cd "$ROOT" && cargo build --release --quiet --bin cashdesk)
BARE=$(cd "$ROOT" && cargo bench --quiet --bench bare_warp --no-run --message-format=json 2>/dev/null |
    python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="bare_warp" and m.get("executable"):
        print(m["executable"])')
CASHDESK=$CARGO_TARGET_DIR/release/cashdesk
[ -x "$CASHDESK" ] && [ -x "$BARE" ] || { echo "build did not produce the binaries" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.05
    done
    echo "server on port $1 did not come up" >&2
    return 1
}

# --- server -------------------------------------------------------------------
USERS=$WORK/users.toml
echo 'admin-pass-1234' | "$CASHDESK" user add --users "$USERS" --name admin --role administrator >/dev/null
echo 'client-pass-1234' | "$CASHDESK" user add --users "$USERS" --name client --role client >/dev/null
ADMIN=(-u admin:admin-pass-1234)
CLIENT_AUTH="Authorization: Basic $(printf 'client:client-pass-1234' | base64)"
echo 'cashier-pass-1234' | "$CASHDESK" user add --users "$USERS" --name cashier --role cashier >/dev/null
CASHIER_AUTH="Authorization: Basic $(printf 'cashier:cashier-pass-1234' | base64)"

start_server() { # DATA_DIR [more serve flags…]; sets PORT, BASE and SERVER_PID
    local data=$1
    shift
    PORT=$(free_port)
    "$CASHDESK" serve --data "$data" --rules "$ROOT/rules" --users "$USERS" --listen "127.0.0.1:$PORT" \
        ${STORE:+--store "$STORE"} "$@" >"$WORK/serve-$PORT.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=($!)
    wait_port "$PORT"
    BASE=http://127.0.0.1:$PORT
}

call() { # METHOD PATH [BODY] — fails unless the answer is Status true
    local out
    out=$(curl -s "${ADMIN[@]}" -X "$1" -H 'content-type: application/json' ${3:+--data "$3"} "$BASE$2")
    case $out in *'"Status":true'*) ;; *) echo "seed call $1 $2 failed: $out" >&2; return 1 ;; esac
}

# Confirm's cards: Active, bound, one large lot each, loaded by import (a
# few thousand cards by curl would take minutes).
log "importing $CONFIRM_CARDS Active cards for Confirm"
python3 - "$WORK" "$CONFIRM_CARDS" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/contacts.csv", "w") as f:
    f.write("Code,MobileNumber,Name\n")
    f.writelines(f"P-{i},+7913{i:07d},Buyer {i}\n" for i in range(n))
with open(f"{work}/cards.csv", "w") as f:
    f.write("Number,CategoryCode,TypeCode,Status,ContactCode\n")
    f.writelines(f"{300000000000 + i},0,0,2,P-{i}\n" for i in range(n))
with open(f"{work}/bonuses.csv", "w") as f:
    f.write("Number,Amount,TypeCode,ActiveFrom,ExpireDate,Frozen\n")
    f.writelines(f"{300000000000 + i},1000000000,0,2020-01-01,,false\n" for i in range(n))
PY
for kind in contacts cards bonuses; do
    "$CASHDESK" import --data "$WORK/data" --rules "$ROOT/rules" ${STORE:+--store "$STORE"} --quiet "$kind" "$WORK/$kind.csv" >&2
done
start_server "$WORK/data"
FIRST_PORT=$PORT FIRST_PID=$SERVER_PID
BASES=("$BASE")
for k in $(seq 1 $((SERVERS - 1))); do
    start_server "$WORK/data$k"
    BASES+=("$BASE")
done
PORT=$FIRST_PORT SERVER_PID=$FIRST_PID BASE=${BASES[0]}
log "seeding: balance card with 4 lots, $INSTANCES_CARDS bound cards for Block/UnBlock"
BAL=100000000001
call PUT /api/admin/cards/$BAL '{"CategoryCode":0,"TypeCode":2}'
call POST /api/admin/cards/$BAL/bonuses '{"Amount":100,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2099-12-31","Frozen":false}'
call POST /api/admin/cards/$BAL/bonuses '{"Amount":12.5,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2098-06-30","Frozen":false}'
call POST /api/admin/cards/$BAL/bonuses '{"Amount":7,"TypeCode":1,"ActiveFrom":"2099-01-01","ExpireDate":"2099-12-31","Frozen":false}'
call POST /api/admin/cards/$BAL/bonuses '{"Amount":3.25,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2099-12-31","Frozen":true}'
call GET "/api/card/Issue?Number=$BAL"
for i in $(seq 0 $((INSTANCES_CARDS - 1))); do
    n=$((200000000000 + i))
    m=$(printf '+7912%07d' "$i")
    call PUT /api/admin/contacts/C-$i "{\"MobileNumber\":\"$m\",\"Name\":\"Load $i\"}"
    call PUT /api/admin/cards/$n '{"CategoryCode":0,"TypeCode":0}'
    call GET "/api/card/Issue?Number=$n"
    call POST /api/card/BindTo "{\"Number\":\"$n\",\"MobileNumber\":\"$m\"}"
done
# Purchases: Active bonus cards (type 0, 5%) with a large active lot; Calculate
# reads one with four lots like the balance card, Confirm walks the others.
CALC=400000000999
log "seeding: one Active card with 4 lots for Calculate"
active_card() { # NUMBER CONTACT MOBILE
    call PUT /api/admin/contacts/"$2" "{\"MobileNumber\":\"$3\",\"Name\":\"Buyer $2\"}"
    call PUT /api/admin/cards/"$1" '{"CategoryCode":0,"TypeCode":0}'
    call GET "/api/card/Issue?Number=$1"
    call POST /api/card/BindTo "{\"Number\":\"$1\",\"MobileNumber\":\"$3\"}"
    call GET "/api/card/Active?Number=$1"
}
active_card $CALC P-calc +79139999999
call POST /api/admin/cards/$CALC/bonuses '{"Amount":100,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2099-12-31","Frozen":false}'
call POST /api/admin/cards/$CALC/bonuses '{"Amount":12.5,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2098-06-30","Frozen":false}'
call POST /api/admin/cards/$CALC/bonuses '{"Amount":7,"TypeCode":1,"ActiveFrom":"2099-01-01","ExpireDate":"2099-12-31","Frozen":false}'
call POST /api/admin/cards/$CALC/bonuses '{"Amount":3.25,"TypeCode":0,"ActiveFrom":"2020-01-01","ExpireDate":"2099-12-31","Frozen":true}'
BAL_BYTES=$(curl -s -H "$CLIENT_AUTH" "$BASE/api/card/balance/by/number/$BAL" | wc -c)
log "balance body: $BAL_BYTES bytes"

# --- wrk scripts --------------------------------------------------------------
# Shared reporter: one machine-readable line per run.
cat >"$WORK/report.lua" <<'LUA'
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
-- Each thread counts good and bad answers (the first bad one kept to show).
local ok_n, bad_n = 0, 0
function count(good, status, body)
  if good then
    ok_n = ok_n + 1
  else
    bad_n = bad_n + 1
    if first_bad == nil then first_bad = status .. " " .. string.sub(body, 1, 200) end
  end
  ok = ok_n
  bad = bad_n
end
function answered_ok(status, body)
  return status == 200 and string.find(body, '"Status":true', 1, true) ~= nil
end
function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("ok") or 0)
    bad = bad + (t:get("bad") or 0)
    local fb = t:get("first_bad")
    if fb then io.stderr:write("first non-OK answer: " .. fb .. "\n") end
  end
  local errs = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d max_us=%d socket_errors=%d non2xx=%d ok=%d bad=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max,
    errs.connect + errs.read + errs.write + errs.timeout, errs.status, ok, bad))
end
LUA
cat "$WORK/report.lua" >"$WORK/get.lua"
cat >>"$WORK/get.lua" <<LUA
wrk.headers["Authorization"] = "${CLIENT_AUTH#Authorization: }"
LUA
post_script() { # AUTH_HEADER — the reporter, then a JSON POST as that user
    cat "$WORK/report.lua"
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    printf 'wrk.headers["Authorization"] = "%s"\n' "${1#Authorization: }"
}
post_script "$CLIENT_AUTH" >"$WORK/block.lua"
cat >>"$WORK/block.lua" <<LUA
local per_thread = $CARDS_PER_THREAD
LUA
cat >>"$WORK/block.lua" <<'LUA'
-- Runs in each thread's own Lua state once `id` is set.
local next_card, blocked, base = 0, {}, nil
function request()
  if base == nil then base = 200000000000 + (__INSTANCE__ * __THREADS__ + id) * per_thread end
  local i = next_card
  next_card = (next_card + 1) % per_thread
  local n = base + i
  if blocked[i] then
    blocked[i] = false
    return wrk.format(nil, "/api/card/UnBlock", nil, '{"Number":"' .. n .. '","UnBlockReasonCode":"0"}')
  else
    blocked[i] = true
    return wrk.format(nil, "/api/card/Block", nil, '{"Number":"' .. n .. '","BlockReasonCode":"0"}')
  end
end
function response(status, headers, body)
  count(answered_ok(status, body), status, body)
end
LUA

# Calculate: one body, three lines (one tobacco), a redemption.
post_script "$CASHIER_AUTH" >"$WORK/calculate.lua"
cat >>"$WORK/calculate.lua" <<LUA
wrk.body = '{"Number":"$CALC","Lines":[{"Position":1,"Amount":600},{"Position":2,"Amount":400},{"Position":3,"Amount":150,"Category":"tobacco"}],"Redeem":10}'
LUA
cat >>"$WORK/calculate.lua" <<'LUA'
function response(status, headers, body)
  count(answered_ok(status, body), status, body)
end
LUA
# Confirm: durable, distinct receipt ids (thread id and a counter), each
# thread walks its own cards round-robin; 1 bonus redeemed, 4.95 accrued.
post_script "$CASHIER_AUTH" >"$WORK/confirm.lua"
cat >>"$WORK/confirm.lua" <<LUA
local per_thread = $CONFIRM_CARDS_PER_THREAD
local run = "$(date +%s%N)"
LUA
cat >>"$WORK/confirm.lua" <<'LUA'
local next_card, sent, base = 0, 0, nil
function request()
  if base == nil then base = 300000000000 + (__INSTANCE__ * __THREADS__ + id) * per_thread end
  local n = base + next_card
  next_card = (next_card + 1) % per_thread
  sent = sent + 1
  local receipt = "L-" .. run .. "-" .. __INSTANCE__ .. "-" .. id .. "-" .. sent
  return wrk.format(nil, "/api/purchase/Confirm", nil,
    '{"ReceiptId":"' .. receipt .. '","Number":"' .. n .. '","Lines":[{"Position":1,"Amount":100}],"Redeem":1}')
end
function response(status, headers, body)
  count(answered_ok(status, body) and string.find(body, '"Accrued":4.95', 1, true) ~= nil, status, body)
end
LUA

run_wrk_at() { # NAME SCRIPT URL [CONNECTIONS] — one wrk; prints its RESULT line as NAME …
    wrk -t "$THREADS" -c "${4:-$CONNECTIONS}" -d "$DURATION" --timeout 10s -s "$2" "$3" >"$WORK/wrk-$1.txt" 2>"$WORK/wrk-$1.err"
    sed 's/^/   /' "$WORK/wrk-$1.err" >&2
    grep '^RESULT' "$WORK/wrk-$1.txt" | sed "s/^RESULT/${1%@*}/"
}
run_wrk() { # NAME SCRIPT PATH — one wrk per server, the connections split over them
    log "wrk $1: $CONNECTIONS connections over $SERVERS server(s), $THREADS threads each, $DURATION"
    local k pids=()
    for k in $(seq 0 $((SERVERS - 1))); do
        sed "s/__INSTANCE__/$k/g; s/__THREADS__/$THREADS/g" "$2" >"$2.$k"
        run_wrk_at "$1@$k" "$2.$k" "${BASES[$k]}$3" $((CONNECTIONS / SERVERS)) >"$WORK/result-$1-$k.txt" &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
    cat "$WORK"/result-"$1"-*.txt
}

RESULTS=$WORK/results.txt
run_wrk balance "$WORK/get.lua" "/api/card/balance/by/number/$BAL" >>"$RESULTS"
run_wrk block "$WORK/block.lua" "/" >>"$RESULTS"
if [ "$SLOWLORIS" -gt 0 ]; then
    # Balance again while SLOWLORIS half-open connections are held; the server
    # closes them at its header timeout (default 10 s) and they come back.
    # Its CPU is read over a quiet 12 s that includes the first such close.
    secs=${DURATION%s}
    python3 "$ROOT/benches/slowloris.py" "$PORT" "$SLOWLORIS" $((secs + 16)) >"$WORK/slowloris.txt" &
    SLOW_PID=$!
    PIDS+=($SLOW_PID)
    sleep 2
    t0=$(date +%s.%N); c0=$(cpu_ticks "$SERVER_PID")
    sleep 12
    t1=$(date +%s.%N); c1=$(cpu_ticks "$SERVER_PID")
    run_wrk balance_slowloris "$WORK/get.lua" "/api/card/balance/by/number/$BAL" >>"$RESULTS"
    wait "$SLOW_PID" || true
    python3 -c "import os,sys; t0,t1,c0,c1,n=map(float,sys.argv[1:]); print(f'server CPU while holding and shedding {n:.0f} half-open connections (no other load): {(c1-c0)/os.sysconf(\"SC_CLK_TCK\")/(t1-t0):.1%} of one core')" \
        "$t0" "$t1" "$c0" "$c1" "$SLOWLORIS" >"$WORK/slowloris-cpu.txt"
fi
run_wrk calculate "$WORK/calculate.lua" "/api/purchase/Calculate" >>"$RESULTS"
run_wrk confirm "$WORK/confirm.lua" "/" >>"$RESULTS"

BARE_PORT=$(free_port)
"$BARE" "$BARE_PORT" "$BAL_BYTES" >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
wait_port "$BARE_PORT"
GOT=$(curl -s "http://127.0.0.1:$BARE_PORT/x" | wc -c)
[ "$GOT" = "$BAL_BYTES" ] || { echo "bare body is $GOT bytes, wanted $BAL_BYTES" >&2; exit 1; }
if [ "$TLS" = 1 ] && [ "$SERVERS" = 1 ]; then
    # Balance over HTTPS: the same server restarted on its data with a
    # self-signed certificate (wrk does not verify it; tests/serve_tls.rs
    # checks a verifying client).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    # (wait_port's plain-HTTP probe gets the TLS port's 400 answer once it listens.)
    start_server "$WORK/data" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
    log "wrk balance_tls: $CONNECTIONS connections, $THREADS threads, $DURATION"
    run_wrk_at balance_tls "$WORK/get.lua" "https://127.0.0.1:$PORT/api/card/balance/by/number/$BAL" >>"$RESULTS"
fi
log "wrk bare: $CONNECTIONS connections, $THREADS threads, $DURATION"
run_wrk_at bare "$WORK/report.lua" "http://127.0.0.1:$BARE_PORT/api/card/balance/by/number/$BAL" >>"$RESULTS"

# --- table --------------------------------------------------------------------
[ -f "$WORK/slowloris.txt" ] && cat "$WORK/slowloris.txt" "$WORK/slowloris-cpu.txt" >&2
python3 - "$RESULTS" "$BAL_BYTES" "$CONNECTIONS" "$(nproc)" "$SERVERS" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    r = {k: float(v) for k, v in (x.split("=") for x in kv)}
    if name in rows:  # one row per server: add the counts, keep the worse times
        for k, v in r.items():
            rows[name][k] = max(rows[name][k], v) if k in ("seconds", "p50_us", "p99_us", "max_us") else rows[name][k] + v
    else:
        rows[name] = r
print(f"\ncashdesk HTTP load: {sys.argv[3]} keep-alive connections over {sys.argv[5]} server(s), body {sys.argv[2]} bytes, {sys.argv[4]} CPUs (wrk on the same machine)\n")
print(f"{'scenario':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
label = {"balance": "balance by number (auth)", "bare": "bare warp, same body", "block": "Block/UnBlock calls",
         "calculate": "Calculate (3 lines, redeem)", "confirm": "Confirm (durable)",
         "balance_slowloris": "balance, half-open held", "balance_tls": "balance over HTTPS"}
for name in ("balance", "balance_tls", "balance_slowloris", "bare", "block", "calculate", "confirm"):
    if name not in rows:
        continue
    r = rows[name]
    rps = r["requests"] / r["seconds"]
    errs = r["socket_errors"] + r["non2xx"] + r["bad"]
    print(f"{label[name]:<28}{rps:>10.0f}{r['p50_us']/1000:>9.2f}{r['p99_us']/1000:>9.2f}{errs:>8.0f}")
b = rows["block"]
pairs = b["ok"] / 2 / b["seconds"]
print(f"\nBlock/UnBlock pairs/s (OK answers / 2): {pairs:.0f}   (non-OK answers: {b['bad']:.0f} of {b['requests']:.0f})")
rate = lambda n: rows[n]["requests"] / rows[n]["seconds"]
if "balance_tls" in rows:
    print(f"balance over HTTPS / plain HTTP throughput ratio: {rate('balance_tls')/rate('balance'):.2f}")
if "balance_slowloris" in rows:
    print(f"balance with half-open connections held / without: {rate('balance_slowloris')/rate('balance'):.2f}")
print(f"Calculate / balance throughput ratio: {rate('calculate')/rate('balance'):.2f}   (target >= 0.8)")
print(f"Confirm / Block+UnBlock calls ratio: {rate('confirm')/rate('block'):.2f}   (target >= 0.8; non-OK Confirms: {rows['confirm']['bad']:.0f})")
print(f"balance / bare throughput ratio: {rows['balance']['requests']/rows['balance']['seconds'] / (rows['bare']['requests']/rows['bare']['seconds']):.2f}")
PY
