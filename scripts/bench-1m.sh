#!/usr/bin/env bash
# Measures a DNS node at scale (issue 7, acceptance 3): an external etcd (Debian's etcd-server,
# its own process, default limits) is loaded with the perf.test zone of NHOSTS names through the
# API of one healthdns node; that node stops; then a fresh DNS node (`serve --roles dns`, empty
# --data-dir, so nothing comes from a local copy) starts against the same etcd. Reported: time
# from its start to the first correct answer for the last host of the zone, its peak RSS
# (VmHWM) and its RSS once settled, then NSD's peak RSS for the same zone file for comparison.
# Needs: etcd (etcd-server), dig (bind9-dnsutils), nsd (optional).
# usage: scripts/bench-1m.sh [NHOSTS]   env: PORT (default 15400), KEEP=1 keeps the temp dir,
#   MEMORY_LIMIT (the node's --memory-limit, default 400MiB: the sizing docs/operations.md gives
#   for a 1M-name DNS node; MEMORY_LIMIT=auto for the product default), PROFILE=FILE saves the
#   node's heap profile there
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
n=${1:-${NHOSTS:-1000000}}
MEMORY_LIMIT=${MEMORY_LIMIT-400MiB}
port=${PORT:-15400}
bin=$here/bin/healthdns
(cd "$here" && go build -o bin/ ./cmd/healthdns)
command -v etcd >/dev/null || { echo "bench-1m: etcd not found (apt-get install etcd-server)" >&2; exit 2; }
dir=$(mktemp -d /tmp/healthdns-1m.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
say() { echo "# $(date -u +%H:%M:%S) $*"; }

"$here/../shared/bench/gen-zone.sh" "$dir/zone" "$n" >/dev/null
zone=$dir/zone/perf.test.zone
last="host$((n - 1)).perf.test."
want="10.$(((n - 1) / 65536 % 256)).$(((n - 1) / 256 % 256)).$(((n - 1) % 256))"

ec=http://127.0.0.1:$((port + 1))
etcd --name bench --data-dir "$dir/etcd" --listen-client-urls "$ec" --advertise-client-urls "$ec" \
  --listen-peer-urls "http://127.0.0.1:$((port + 2))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 2))" \
  --initial-cluster "bench=http://127.0.0.1:$((port + 2))" --log-level warn >"$dir/etcd.log" 2>&1 &
pids+=($!)
etcd_pid=$!

api=http://127.0.0.1:$((port + 3))
"$bin" serve --roles api --api-addr "127.0.0.1:$((port + 3))" --etcd-endpoints "$ec" \
  --data-dir "$dir/loader" --log-level warn --api-rate-limit 0 >"$dir/loader.log" 2>&1 &
loader=$!
pids+=($loader)
LOG=$dir/loader.log wait_ready "$api" "$loader"
"$bin" zone create perf.test --api "$api" >/dev/null
t0=$(date +%s.%N)
"$bin" zone import perf.test "$zone" --api "$api" --wait --timeout 900s >/dev/null
say "imported $n names through the API in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s"
kill "$loader"; wait "$loader" 2>/dev/null || true
say "etcd RSS $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$etcd_pid/status), db $(du -sh "$dir/etcd" | cut -f1)"

t0=$(date +%s.%N)
"$bin" serve --roles dns --dns-addr "127.0.0.1:$port" --api-addr "127.0.0.1:$((port + 4))" \
  --etcd-endpoints "$ec" --data-dir "$dir/node" --log-level warn ${MEMORY_LIMIT:+--memory-limit "$MEMORY_LIMIT"} \
  ${PROFILE:+--debug-pprof} >"$dir/node.log" 2>&1 &
node=$!
pids+=($node)
hwm() { awk '/VmHWM/{printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
rss() { awk '/VmRSS/{printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
while :; do
  got=$(dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 "$last" A 2>/dev/null || true)
  [ "$got" = "$want" ] && break
  kill -0 "$node" 2>/dev/null || { echo "bench-1m: node exited" >&2; cat "$dir/node.log" >&2; exit 1; }
  sleep 0.05
done
say "serve start -> first correct answer ($last A $want): $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s; peak RSS so far $(hwm "$node")"
sleep 20
say "after 20 s: RSS $(rss "$node"), peak RSS $(hwm "$node")"
curl -fsS "http://127.0.0.1:$((port + 4))/metrics" | grep -E '^healthdns_runtime_heap_bytes|^healthdns_record_sets' || true
if [ -n "${PROFILE:-}" ]; then
  curl -fsS -o "$PROFILE" "http://127.0.0.1:$((port + 4))/debug/pprof/heap?gc=1"
  go tool pprof -top -inuse_space "$PROFILE" 2>/dev/null | head -25
fi

if command -v nsd >/dev/null; then
  mkdir -p "$dir/nsd"
  cat >"$dir/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$((port + 5))
  server-count: 1
  database: ""
  zonelistfile: "$dir/nsd/zone.list"
  xfrdfile: "$dir/nsd/xfrd.state"
  pidfile: "$dir/nsd/nsd.pid"
  username: ""
  chroot: ""
  zonesdir: "$dir/zone"
  logfile: "$dir/nsd/nsd.log"
remote-control:
  control-enable: no
zone:
  name: perf.test
  zonefile: perf.test.zone
EOF
  t0=$(date +%s.%N)
  nsd -d -c "$dir/nsd/nsd.conf" &
  pids+=($!)
  nsd_pid=$!
  while [ "$(dig +short +tries=1 +time=1 -p $((port + 5)) @127.0.0.1 "$last" A 2>/dev/null || true)" != "$want" ]; do
    kill -0 "$nsd_pid" 2>/dev/null || { echo "bench-1m: nsd exited" >&2; break; }
    sleep 0.05
  done
  sleep 2
  tot=0
  for p in $nsd_pid $(pgrep -P "$nsd_pid"); do tot=$((tot + $(awk '/VmHWM/{print $2}' /proc/$p/status))); done
  say "NSD start -> first correct answer: $(echo "$(date +%s.%N) - $t0 - 2" | bc | cut -c1-6) s; peak RSS (sum over its processes) $((tot / 1024)) MB"
fi
