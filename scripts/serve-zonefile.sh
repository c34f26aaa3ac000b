#!/usr/bin/env bash
# Serves one zone file with healthdns on 127.0.0.1:$PORT, through the real product path:
# `healthdns serve` with its embedded etcd in a temporary directory, then `zone create` and
# `zone import` over the API. It is the PROJECT_CMD of ../shared/bench/anchors.sh:
#   PROJECT_CMD='scripts/serve-zonefile.sh' ../shared/bench/anchors.sh 10 nsd knot healthdns
# env: ZONE (zone file), PORT (DNS port); optional ORIGIN (default: the file's $ORIGIN),
# HEALTHDNS_BIN (default bin/healthdns), ETCD_ENDPOINTS (use that etcd instead of an embedded one),
# LEAN=1 (two processes: the API node with the embedded etcd takes the import, and a DNS-only node
# on PORT answers, as a production DNS node would; MEMORY_LIMIT sets its --memory-limit).
# The API listens on PORT+1000, the embedded etcd on PORT+2000 and PORT+3000, a LEAN DNS node's
# health endpoints on PORT+4000.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
bin=${HEALTHDNS_BIN:-$here/bin/healthdns}
: "${ZONE:?ZONE must name a zone file}" "${PORT:?PORT must be the DNS port}"
origin=${ORIGIN:-$(awk 'toupper($1)=="$ORIGIN"{print $2; exit}' "$ZONE")}
[ -n "$origin" ] || { echo "serve-zonefile: no \$ORIGIN in $ZONE; set ORIGIN" >&2; exit 2; }
dir=$(mktemp -d /tmp/healthdns-bench.XXXX)
api=http://127.0.0.1:$((PORT + 1000))
etcd_flags=(--embedded-etcd-client-url "http://127.0.0.1:$((PORT + 2000))" --embedded-etcd-peer-url "http://127.0.0.1:$((PORT + 3000))")
[ -n "${ETCD_ENDPOINTS:-}" ] && etcd_flags=(--etcd-endpoints "$ETCD_ENDPOINTS")
if [ -n "${LEAN:-}" ]; then
  "$bin" serve --roles api --api-addr "127.0.0.1:$((PORT + 1000))" --data-dir "$dir" \
    --log-level warn --api-rate-limit 0 "${etcd_flags[@]}" &
else
  "$bin" serve --dns-addr "127.0.0.1:$PORT" --api-addr "127.0.0.1:$((PORT + 1000))" --data-dir "$dir" \
    --roles dns,api --log-level warn "${etcd_flags[@]}" &
fi
pid=$!
dns_pid=
cleanup() { kill "$pid" $dns_pid 2>/dev/null; wait "$pid" $dns_pid 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 0' TERM INT
wait_ready "$api" "$pid" 60 || exit 1
"$bin" zone create "$origin" --api "$api" >/dev/null 2>&1 || true
"$bin" zone import "$origin" "$ZONE" --api "$api" --wait --timeout 600s >&2
if [ -n "${LEAN:-}" ]; then
  endpoints=${ETCD_ENDPOINTS:-http://127.0.0.1:$((PORT + 2000))}
  "$bin" serve --roles dns --dns-addr "127.0.0.1:$PORT" --api-addr "127.0.0.1:$((PORT + 4000))" \
    --data-dir "$dir/dns" --etcd-endpoints "$endpoints" --log-level warn ${MEMORY_LIMIT:+--memory-limit "$MEMORY_LIMIT"} &
  dns_pid=$!
fi
wait "$pid"
