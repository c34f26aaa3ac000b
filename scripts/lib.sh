# Shared by the scripts in this directory: source it, do not run it.

# wait_ready URL PID [SECONDS=30]: waits until the node behind URL answers
# /readyz with 200. Fails (status 1, with the reason and LOG's tail when
# LOG names the node's log) when the process PID exits first or SECONDS
# pass.
wait_ready() {
  local url=$1 pid=$2 secs=${3:-30} end=$((SECONDS + ${3:-30}))
  until curl -fsS "$url/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the node ($url) exited before it was ready" >&2
      [ -n "${LOG:-}" ] && tail -20 "$LOG" >&2
      return 1
    fi
    if ((SECONDS >= end)); then
      echo "the node ($url) was not ready within $secs s" >&2
      [ -n "${LOG:-}" ] && tail -20 "$LOG" >&2
      return 1
    fi
    sleep 0.1
  done
}
