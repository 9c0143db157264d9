# shellcheck shell=bash
# What the CLI end-to-end scripts share: a work directory and background processes cleaned up on
# exit, check counting, failures that show the *.err logs, and `run` (the binary under a timeout).
#   test_name=... ; stargate=... ; source tests/cli/testlib.sh
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-$test_name.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
checks=0
fail() { echo "$test_name: FAILED: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }
pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }
run() { timeout 30 "$stargate" "$@"; }
