#!/usr/bin/env bash
# etcd outage drill (issue 6, acceptance 1): a healthdns node on an external etcd (Debian's
# etcd-server, its own process) serves a 1,000-name zone under `dnsload qps` at RATE queries per
# second; etcd is killed (SIGKILL) and stays down for OUTAGE seconds while the load goes on; API
# writes must answer 503; etcd restarts on the same data; the next write must succeed and be
# answered by DNS within a second. Prints dnsload's report (lost and failed queries) and the times.
# Needs: etcd (etcd-server), dig (bind9-dnsutils).
# usage: scripts/etcd-outage-drill.sh   env: RATE (default 10000), OUTAGE (default 60), PORT (default 15500)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
rate=${RATE:-10000}; outage=${OUTAGE:-60}; port=${PORT:-15500}
(cd "$here" && go build -o bin/ ./cmd/healthdns ./cmd/dnsload)
H=$here/bin/healthdns
dir=$(mktemp -d /tmp/healthdns-outage.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
say() { echo "# $(date -u +%H:%M:%S.%3N) $*"; }
ec=http://127.0.0.1:$((port + 1)); api=http://127.0.0.1:$((port + 3))
start_etcd() {
  etcd --name drill --data-dir "$dir/etcd" --listen-client-urls "$ec" --advertise-client-urls "$ec" \
    --listen-peer-urls "http://127.0.0.1:$((port + 2))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 2))" \
    --initial-cluster "drill=http://127.0.0.1:$((port + 2))" --log-level warn >>"$dir/etcd.log" 2>&1 &
  etcd_pid=$!; pids+=("$etcd_pid")
}
start_etcd
"$H" serve --dns-addr "127.0.0.1:$port" --api-addr "127.0.0.1:$((port + 3))" --etcd-endpoints "$ec" \
  --data-dir "$dir/node" --log-level warn --api-rate-limit 0 >"$dir/node.log" 2>&1 &
pids+=($!)
LOG=$dir/node.log wait_ready "$api" "$!"
"$here/../shared/bench/gen-zone.sh" "$dir/zone" 1000 >/dev/null
"$H" zone create perf.test --api "$api" >/dev/null
"$H" zone import perf.test "$dir/zone/perf.test.zone" --api "$api" --wait >/dev/null
say "serving perf.test (1,000 names); load: $rate qps for $((outage + 20)) s"
"$here/bin/dnsload" qps --server "127.0.0.1:$port" --queries "$dir/zone/queries.txt" --rate "$rate" \
  --duration "$((outage + 20))s" >"$dir/load.txt" 2>"$dir/progress.txt" &
load=$!
sleep 5
kill -9 "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
say "etcd killed"
sleep 3
code=$(curl -s -o "$dir/503.json" -w '%{http_code}' -X POST "$api/v1/zones" -H 'Content-Type: application/json' -d '{"name":"during.test"}')
say "API write while etcd is down: HTTP $code $(cat "$dir/503.json")"
ready=$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")
say "/readyz while etcd is down: HTTP $ready"
sleep "$((outage - 3))"
start_etcd
say "etcd restarted"
t0=$(date +%s.%N)
# Deadlines, not counts of tries: each try is bounded too (--timeout, dig's +time).
until "$H" record upsert perf.test after A 60 192.0.2.123 --api "$api" --timeout 2s >/dev/null 2>&1; do
  (( $(echo "$(date +%s.%N) - $t0 > 60" | bc) )) && { say "no write accepted within 60 s of the restart"; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
say "first successful write $(echo "$t1 - $t0" | bc | cut -c1-5) s after the restart"
until [ "$(dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 after.perf.test A)" = 192.0.2.123 ]; do
  (( $(echo "$(date +%s.%N) - $t1 > 5" | bc) )) && { say "the change was not answered by DNS within 5 s"; exit 1; }
  sleep 0.01
done
t2=$(date +%s.%N)
ms=$(echo "($t2 - $t1) * 1000" | bc | cut -d. -f1)
say "the change answered by DNS ${ms:-0} ms after the API accepted it"
(( ${ms:-0} <= 1000 )) || { say "FAIL: over the second the acceptance allows"; exit 1; }
wait "$load" || true
say "dnsload:"
cat "$dir/load.txt"
