#!/usr/bin/env bash
# Side-by-side dnsperf run of NSD, Knot and healthdns on the same zone and queries, one core
# each, with ../shared/bench/anchors.sh. Needs: dnsperf bind9-dnsutils nsd knot (Debian).
# usage: scripts/bench-peers.sh [SECONDS] [SERVERS...]   env: NHOSTS (zone size), RATE (fixed qps)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
anchors=${ANCHORS:-$here/../shared/bench/anchors.sh}
[ -x "$anchors" ] || { echo "bench-peers: $anchors not found" >&2; exit 2; }
[ -x "$here/bin/healthdns" ] || (cd "$here" && go build -o bin/ ./cmd/healthdns)
secs=${1:-10}; shift || true
servers=${*:-nsd knot healthdns}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, NHOSTS=${NHOSTS:-1000} RATE=${RATE:-max} secs=$secs"
PROJECT_CMD="$here/scripts/serve-zonefile.sh" READY_TRIES=${READY_TRIES:-1500} "$anchors" "$secs" $servers
