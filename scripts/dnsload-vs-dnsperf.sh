#!/usr/bin/env bash
# dnsload against dnsperf (issue 5, acceptance 2): one healthdns node with embedded etcd and the
# gen-zone.sh zone, a discarded warm-up run, then PAIRS rounds of three runs on the same query
# file, unpinned, as a newcomer runs them: `dnsload qps --rate RATE --duration SECONDS`, right
# after it `dnsperf -Q RATE -l SECONDS`, then dnsperf again. dnsload/dnsperf is the ratio asked
# for; dnsperf/dnsperf, taken in the same rounds, shows how much two runs of one tool differ.
# Prints one line per round and the median ratios. Not part of CI: it needs dnsperf and a quiet
# machine.
# usage: scripts/dnsload-vs-dnsperf.sh [PAIRS=8] [RATE=20000] [SECONDS=10] [NAMES=10000]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
pairs=${1:-8}; rate=${2:-20000}; secs=${3:-10}; names=${4:-10000}
command -v dnsperf >/dev/null || { echo "dnsperf is not installed (apt-get install -y dnsperf)" >&2; exit 1; }
bin=$here/bin
cd "$here" && go build -o "$bin/" ./cmd/...
work=$(mktemp -d /tmp/healthdns-vs-dnsperf.XXXX)
port=35310; dns=127.0.0.1:$port; api=http://127.0.0.1:38063
export HEALTHDNS_API=$api
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$bin/healthdns" serve --data-dir "$work/data" --dns-addr $dns --api-addr 127.0.0.1:38063 \
  --embedded-etcd-client-url http://127.0.0.1:32389 --embedded-etcd-peer-url http://127.0.0.1:32390 \
  --log-level warn >"$work/serve.log" 2>&1 & srv=$!
LOG=$work/serve.log wait_ready "$api" "$srv"
"$here/../shared/bench/gen-zone.sh" "$work" "$names" >/dev/null
"$bin/healthdns" zone create perf.test >/dev/null
"$bin/healthdns" zone import perf.test "$work/perf.test.zone" --wait >/dev/null
q=$work/queries.txt
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# dnsload qps --server $dns --queries queries.txt --rate $rate --duration ${secs}s"
echo "# dnsperf -s 127.0.0.1 -p $port -d queries.txt -Q $rate -l $secs"
dnsperf_avg() { dnsperf -s 127.0.0.1 -p $port -d "$q" -Q "$rate" -l "$secs" 2>&1 |
  awk '/Queries per second/{q=$4} /Queries lost/{l=$3} /Average Latency/{a=$4*1000} END{print q, l, a}'; }
dnsperf_avg >/dev/null # warm-up: the import's aftermath is not what is compared
for _ in $(seq "$pairs"); do
  a=$("$bin/dnsload" qps --server $dns --queries "$q" --rate "$rate" --duration "${secs}s" --json |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["qps"], r["lost"], r["latencyMs"]["avg"])')
  echo "$a $(dnsperf_avg) $(dnsperf_avg)"
done | python3 -c '
import sys, statistics as st
r, c = [], []
for l in sys.stdin:
    f = l.split()
    r.append(float(f[2]) / float(f[5])); c.append(float(f[8]) / float(f[5]))
    print("dnsload qps %s lost %s avg %s ms | dnsperf qps %.1f lost %s avg %.3f ms | ratio %.2f | dnsperf again avg %.3f ms, ratio %.2f"
          % (f[0], f[1], f[2], float(f[3]), f[4], float(f[5]), r[-1], float(f[8]), c[-1]))
within = lambda v: sum(abs(x - 1) <= 0.1 for x in v)
print("dnsload/dnsperf: median ratio %.3f, %d of %d within 10%%" % (st.median(r), within(r), len(r)))
print("dnsperf/dnsperf: median ratio %.3f, %d of %d within 10%%" % (st.median(c), within(c), len(c)))'
