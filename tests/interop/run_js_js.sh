#!/usr/bin/env bash
# Proves the js-libp2p harness against itself: one js_peer.mjs listens, another dials it.
#   run_js_js.sh [dial options]   (default: --echo-bytes 10000000 --streams 100 --ping 3 --perf 1000000)
# Exits 0 when the dialer reports ok:true, 77 (skip) when node or node_modules is missing (1 under
# CI=true: a skipped interop test must not pass CI), 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v node >/dev/null; then
  echo "run_js_js: node is not installed" >&2
  [[ "${CI:-}" == true ]] && exit 1
  exit 77
fi
if [[ ! -d "$here/node_modules/libp2p" ]]; then
  echo "run_js_js: $here/node_modules is missing; run: (cd $here && npm ci)" >&2
  [[ "${CI:-}" == true ]] && exit 1
  exit 77
fi
if [[ $# -eq 0 ]]; then
  set -- --echo-bytes 10000000 --streams 100 --ping 3 --perf 1000000
fi

# The listener lives as long as its stdin: the coprocess pipe closes when this script ends,
# however it ends, so no node process outlives the test.
coproc LISTENER { exec node "$here/js_peer.mjs" listen; }
listener_pid=$LISTENER_PID
listener_out=${LISTENER[0]}
listener_in=${LISTENER[1]}

cleanup() {
  exec {listener_in}>&- 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$listener_pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill "$listener_pid" 2>/dev/null || true
}
trap cleanup EXIT

# Wait for the "listening" line (bounded), not a fixed sleep.
addr=""
while IFS= read -r -t 30 line <&"$listener_out"; do
  echo "listener: $line"
  if [[ "$line" == *'"event":"listening"'* ]]; then
    addr=$(node -e 'console.log(JSON.parse(process.argv[1]).addrs[0])' "$line")
    break
  fi
done
if [[ -z "$addr" ]]; then
  echo "run_js_js: the listener did not report an address" >&2
  exit 1
fi

set +e
result=$(node "$here/js_peer.mjs" dial "$addr" "$@")
status=$?
set -e
echo "dialer: $result"

# What the listener saw meanwhile (its peer:identify lines).
while IFS= read -r -t 1 line <&"$listener_out"; do echo "listener: $line"; done || true

if [[ $status -ne 0 || "$result" != *'"event":"result","ok":true'* ]]; then
  echo "run_js_js: FAILED (dialer exit $status)" >&2
  exit 1
fi
echo "run_js_js: ok"
