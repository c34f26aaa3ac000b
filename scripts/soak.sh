#!/usr/bin/env bash
# Soak: one healthdns node (embedded etcd) under a steady DNS load for DURATION while changes and
# health flips go on; samples memory and goroutines; fails if queries failed or answers were
# SERVFAIL. Not part of CI (make soak). Prints a summary to paste into docs/benchmarks.md.
# usage: scripts/soak.sh [DURATION=600] [RATE=5000]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
dur=${1:-600}; rate=${2:-5000}
cd "$here" && go build -o bin/ ./cmd/...
work=$(mktemp -d /tmp/healthdns-soak.XXXX)
dns=127.0.0.1:35300; api=http://127.0.0.1:38053
H="bin/healthdns"; export HEALTHDNS_API=$api
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
bin/healthdns serve --data-dir "$work/data" --dns-addr $dns --api-addr 127.0.0.1:38053 \
  --embedded-etcd-client-url http://127.0.0.1:32379 --embedded-etcd-peer-url http://127.0.0.1:32380 \
  --log-level warn --api-rate-limit 0 >"$work/serve.log" 2>&1 & srv=$!; pids+=($srv)
LOG=$work/serve.log wait_ready "$api" "$srv"
"$here/../shared/bench/gen-zone.sh" "$work" 1000 >/dev/null
$H zone create perf.test >/dev/null
$H zone import perf.test "$work/perf.test.zone" --wait >/dev/null
python3 -m http.server 38081 --bind 127.0.0.1 >/dev/null 2>&1 & pids+=($!)
python3 -m http.server 38082 --bind 127.0.0.1 >/dev/null 2>&1 & pids+=($!)
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
p=$($H healthcheck create --type TCP --ip 127.0.0.1 --port 38081 --interval 1 --failure-threshold 2 --json | id)
s=$($H healthcheck create --type TCP --ip 127.0.0.1 --port 38082 --interval 1 --failure-threshold 2 --json | id)
rc=$($H healthcheck create --type ROUTING_CONTROL --json | id)
$H record upsert perf.test app A 5 10.9.0.1 --set-identifier p --failover PRIMARY --health-check-id "$p" >/dev/null
$H record upsert perf.test app A 5 10.9.0.2 --set-identifier s --failover SECONDARY --health-check-id "$s" >/dev/null
$H record upsert perf.test rc A 5 10.9.1.1 --set-identifier p --failover PRIMARY --health-check-id "$rc" >/dev/null
$H record upsert perf.test rc A 5 10.9.1.2 --set-identifier s --failover SECONDARY --wait >/dev/null
{ grep -v missing "$work/queries.txt"; for i in $(seq 100); do echo "app.perf.test A"; echo "rc.perf.test A"; done; } > "$work/q.txt"
# changes: one upsert a second; health flips: the routing control every 10 s, a backend every 30 s
( i=0; while :; do i=$((i+1))
    $H record upsert perf.test "churn$((i % 50))" TXT 60 "\"$i\"" >/dev/null 2>>"$work/api-errors" || echo "upsert $i failed" >>"$work/api-errors"
    (( i % 10 == 0 )) && { $H healthcheck routingcontrol "$rc" $([ $((i / 10 % 2)) = 1 ] && echo OFF || echo ON) >/dev/null 2>>"$work/api-errors" || echo "rc $i failed" >>"$work/api-errors"; }
    sleep 1; done ) & pids+=($!)
metric() { curl -fsS $api/metrics | awk -v m="$1" '$1==m{print $2}'; }
( while :; do printf '%s rss_kb=%s anon_kb=%s file_kb=%s goroutines=%s heap_bytes=%s\n' "$(date -u +%T)" "$(awk '/VmRSS/{print $2}' /proc/$srv/status)" "$(awk '/RssAnon/{print $2}' /proc/$srv/status)" "$(awk '/RssFile/{print $2}' /proc/$srv/status)" "$(metric healthdns_runtime_goroutines)" "$(metric healthdns_runtime_heap_bytes)"; sleep 30; done ) >"$work/samples" & pids+=($!)
bin/dnsload qps --server $dns --queries "$work/q.txt" --rate "$rate" --duration "${dur}s" --json --quiet >"$work/load.json" &
load=$!
( while kill -0 $load 2>/dev/null; do sleep 30; kill -0 $load 2>/dev/null || break; kill "${pids[1]}" 2>/dev/null; sleep 5
    python3 -m http.server 38081 --bind 127.0.0.1 >/dev/null 2>&1 & echo $! >"$work/backend.pid"; sleep 25; kill "$(cat "$work/backend.pid")" 2>/dev/null; done ) & pids+=($!)
wait $load
echo "# soak $(date -u +%FT%TZ): ${dur}s at ${rate} qps, a change a second, a routing-control flip every 10 s, a backend killed every 30 s"
cat "$work/load.json"; echo
echo "# samples"; cat "$work/samples"
errs=$(wc -l <"$work/api-errors" 2>/dev/null || echo 0)
echo "# API errors: $errs"
python3 - "$work/load.json" "$errs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); errs = int(sys.argv[2])
bad = r.get("lost", 0) + r.get("rcodes", {}).get("SERVFAIL", 0)
print(f"lost={r.get('lost')} servfail={r.get('rcodes', {}).get('SERVFAIL', 0)} api_errors={errs}")
sys.exit(1 if bad or errs else 0)
PY
