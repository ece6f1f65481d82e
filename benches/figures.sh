#!/usr/bin/env bash
# Runs every benchmark of the project one after another (nothing else should
# be running) and prints the figures table that README.md shows.
#
#   benches/figures.sh            # about 20 minutes on 2 cores
#
# Each criterion bench prints "time: [low mid high]"; the middle value is
# taken. Throughput benches (store, import) also print "thrpt:".
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d -t cashdesk-figures.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

run() { # name, cargo bench args...
    local name=$1; shift
    echo "== $name" >&2
    cargo bench --bench "$@" > "$OUT/$name.txt" 2>&1 || { cat "$OUT/$name.txt" >&2; exit 1; }
}
mid() { # file, benchmark id, [thrpt] -> the middle estimate of time (or throughput)
    awk -v id="$2" -v want_thrpt="${3:-}" '$0 ~ "^"id"([ ]|$)" {f=1} f && /time:|thrpt:/ {print; if (/thrpt:/ || want_thrpt=="") exit}' "$1" \
        | tail -1 | sed -E 's/.*\[[^ ]+ [^ ]+ ([^ ]+ [^ ]+) .*/\1/'
}

run rules rules -- --warm-up-time 1 --measurement-time 5
run store store -- --warm-up-time 1 --measurement-time 5
run group_commit group_commit
BALANCE_BENCH_1M=1 run balance balance -- --warm-up-time 2 --measurement-time 5
run import import -- --warm-up-time 1 --measurement-time 5
echo "== http" >&2
benches/http_load.sh > "$OUT/http.txt"

echo
echo "| figure | measured |"
echo "|---|---|"
for id in unblock_deepest/interpreted unblock_deepest/match block/interpreted block/match block/casbin; do
    echo "| rule decision $id | $(mid "$OUT/rules.txt" "$id") |"
done
for id in durable_commit/threads/1 durable_commit/threads/32; do
    echo "| $id | $(mid "$OUT/store.txt" "$id" thrpt) |"
done
# group_commit prints, per level, a row per pair, the median ratio, and 128 callers.
awk '/^(service|store):/ {level=$1; sub(":", "", level)}
     /^ +[0-9]+ +[0-9]+ +[0-9]+ / {one[level]=one[level] (one[level] ? ", " : "") $2; many[level]=many[level] (many[level] ? ", " : "") $3}
     /^median ratio/ {print "| group commit, " level ", durable calls/s with 1 caller (each pair) | " one[level] " |";
                      print "| group commit, " level ", with 32 callers (each pair) | " many[level] " |";
                      print "| group commit, " level ", " $0 " |"}
     /^128 callers/ {print "| group commit, " level ", " $0 " |"}' "$OUT/group_commit.txt" | sed -E 's/median ratio 32\/1: /32\/1 ratio, median of pairs | /; s/, ([0-9]+) callers: /, \1 callers | /'
for id in balance_read/1000 balance_read/100000 balance_read/1000000; do
    echo "| $id | $(mid "$OUT/balance.txt" "$id") |"
done
grep -oE "^import/[^ ]+" "$OUT/import.txt" | sort -u | while read -r id; do
    echo "| $id | $(mid "$OUT/import.txt" "$id" thrpt) |"
done
echo
cat "$OUT/http.txt"
