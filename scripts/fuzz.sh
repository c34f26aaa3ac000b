#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 30s), one after another,
# and prints a line per target: package, target, time, result. New crashers land in the
# package's testdata/fuzz/ and fail `make test` until fixed (then they stay as regression tests).
# usage: scripts/fuzz.sh [FUZZTIME] [PACKAGE-PATTERN]   (FUZZPARALLEL=N limits the workers; default GOMAXPROCS)
set -uo pipefail
cd "$(dirname "$0")/.."
t=${1:-30s}; pat=${2:-./...}
status=0
for pkg in $(go list "$pat"); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    start=$(date +%s)
    if out=$(go test ${FUZZPARALLEL:+-parallel "$FUZZPARALLEL"} -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" 2>&1); then res=ok; else res=FAIL; status=1; fi
    execs=$(grep -o 'execs: [0-9]*' <<<"$out" | tail -1 | awk '{print $2}')
    printf '%s %-45s %-28s %4ss execs=%-10s %s\n' "$(date -u +%FT%TZ)" "${pkg#github.com/healthdns/healthdns/}" "$target" "$(( $(date +%s) - start ))" "${execs:-?}" "$res"
    [ "$res" = FAIL ] && grep -E 'Failing input|--- FAIL|panic:' <<<"$out" | head -5
  done
done
exit $status
