#!/usr/bin/env bash
# What a replacing import costs another API node's readers: two nodes with every role (the second
# on the first's embedded etcd), the gen-zone.sh zone of NAMES names imported once, then imported
# again through the first node while a client reads GET /v1/zones/{id} from the second every
# 30 ms (under the API's default rate limit). Prints the import's time, the GETs' latency before
# and during it, and the longest time the second node held its Mirror's write lock applying a
# watch batch (its debug log, "watch events applied ... locked=").
# usage: scripts/import-lock.sh [NAMES=200000]   env: PORT (default 15400)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/lib.sh"
names=${1:-200000}; port=${PORT:-15400}
cd "$here" && go build -o bin/ ./cmd/healthdns
H=$here/bin/healthdns
d=$(mktemp -d /tmp/healthdns-import-lock.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$d"; }
trap cleanup EXIT
api=http://127.0.0.1:$((port + 1)); api2=http://127.0.0.1:$((port + 11)); ec=http://127.0.0.1:$((port + 2))
"$H" serve --dns-addr "127.0.0.1:$port" --api-addr "127.0.0.1:$((port + 1))" --data-dir "$d/n1" \
  --embedded-etcd-client-url "$ec" --embedded-etcd-peer-url "http://127.0.0.1:$((port + 3))" \
  --log-level warn >"$d/n1.log" 2>&1 & pids+=($!)
LOG=$d/n1.log wait_ready "$api" "$!"
"$H" serve --etcd-endpoints "$ec" --dns-addr "127.0.0.1:$((port + 10))" --api-addr "127.0.0.1:$((port + 11))" \
  --data-dir "$d/n2" --log-level debug >"$d/n2.log" 2>&1 & pids+=($!)
LOG=$d/n2.log wait_ready "$api2" "$!"
"$here/../shared/bench/gen-zone.sh" "$d" "$names" >/dev/null
zid=$("$H" zone create perf.test --api "$api" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$H" zone import perf.test "$d/perf.test.zone" --api "$api" --wait --timeout 600s >/dev/null
sleep 2
: >"$d/n2.log" # only the second import's batches from here on
python3 - "$api2" "$zid" "$H" "$api" "$d/perf.test.zone" <<'PY'
import sys, time, threading, subprocess, urllib.request
api2, zid, h, api, zone = sys.argv[1:]
lat, stop = [], False
def poll():
    while not stop:
        t = time.perf_counter()
        urllib.request.urlopen(f"{api2}/v1/zones/{zid}").read()
        lat.append((t, time.perf_counter() - t))
        time.sleep(0.03)
th = threading.Thread(target=poll); th.start()
time.sleep(1)
t0 = time.perf_counter()
subprocess.run([h, "zone", "import", "perf.test", zone, "--api", api, "--wait", "--timeout", "600s"], stdout=subprocess.DEVNULL, check=True)
t1 = time.perf_counter()
time.sleep(2)
stop = True; th.join()
ms = lambda v: "%.1f ms" % (1000 * v)
before = sorted(l for t, l in lat if t < t0)
during = sorted(l for t, l in lat if t0 <= t <= t1 + 1)
print("import of %s: %.2f s" % (zone.rsplit("/", 1)[-1], t1 - t0))
print("GET /v1/zones/{id} on the second node: before p50 %s (%d); during p50 %s, p99 %s, max %s (%d)" % (
    ms(before[len(before) // 2]), len(before), ms(during[len(during) // 2]), ms(during[int(len(during) * 0.99)]), ms(during[-1]), len(during)))
PY
python3 - "$d/n2.log" <<'PY'
import re, sys
units = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1, "s": 1000}
held = []
for l in open(sys.argv[1]):
    m = re.search(r'watch events applied.*locked=([0-9.]+)(ns|µs|us|ms|s)\b', l)
    if m:
        held.append(float(m.group(1)) * units[m.group(2)])
print("second node's write lock per watch batch: %d batches, longest %.1f ms" % (len(held), max(held, default=0)))
PY
