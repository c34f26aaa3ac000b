#!/usr/bin/env bash
# The query path alone (package dnsserver serving the zone file, no etcd, no API) under
# ../shared/bench/anchors.sh: miekg/dns's UDP server loop with Answer (the path before issue 7)
# and the fast path with one SO_REUSEPORT socket per GOMAXPROCS, read one datagram per system
# call and in recvmmsg/sendmmsg batches (the default), with NSD beside them.
# usage: scripts/bench-query-path.sh [SECONDS]   env: NHOSTS, RATE (as anchors.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
anchors=${ANCHORS:-$here/../shared/bench/anchors.sh}
[ -x "$anchors" ] || { echo "bench-query-path: $anchors not found" >&2; exit 2; }
(cd "$here" && go build -o bin/ ./scripts/dnsserve-zonefile)
secs=${1:-10}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), NHOSTS=${NHOSTS:-1000} RATE=${RATE:-max} secs=$secs"
"$anchors" "$secs" nsd | grep -v '^#'
for mode in -miekg-udp -udp-no-batch ""; do
  echo "healthdns dnsserver ${mode:-fast path, batches}:"
  PROJECT_CMD="$here/bin/dnsserve-zonefile $mode" "$anchors" "$secs" healthdns | grep -v '^#'
done
