# shellcheck shell=bash
# What the CLI end-to-end scripts share: a work directory and background processes cleaned up on
# exit, check counting, failures that show the *.err logs, and `run` (the binary under a timeout).
#   test_name=... ; stargate=... ; source tests/cli/testlib.sh
# Under ctest the script runs in a PID namespace of its own (tests/isolated.sh), which fails the
# test when anything it started is still running after it exits: cleanup must stop all of it.
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-$test_name.XXXXXX")"
pids=()
# Processes started inside a command substitution (`x=$(start_agent ...)`) are not this shell's
# children and their `pids+=` is lost with the subshell: such code appends the PID to this file.
adopted="$work/adopted.pids"
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -s "$adopted" ]]; then
    local pid
    while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <"$adopted"
    # Not our children: poll until they are gone (bounded: 10 s, then SIGKILL).
    for _ in $(seq 1 100); do
      local alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$adopted"
      ((alive)) || break
      sleep 0.1
    done
    while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$adopted"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
checks=0
fail() { echo "$test_name: FAILED: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }
pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }
run() { timeout 30 "$stargate" "$@"; }
