#!/usr/bin/env bash
# js-libp2p dials a Stargate node: `stargate node --json` listens, `js_peer.mjs dial` connects and
# checks identify, ping, a 10 MB echo (SHA-256), 100 concurrent echo streams and perf.
#   run_js_dials_cpp.sh STARGATE_BINARY [dial options]
#     (default dial options: --echo-bytes 10000000 --streams 100 --ping 3 --perf 1000000)
# Exits 0 on success; 77 (skip) when node or node_modules is missing, unless CI=true, which makes
# that a failure; 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 ]]; then
  echo "usage: run_js_dials_cpp.sh STARGATE_BINARY [dial options]" >&2
  exit 2
fi
stargate="$1"
shift

missing() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "run_js_dials_cpp: FAILED: $1 (CI=true, so this is not skipped)" >&2
    exit 1
  fi
  echo "run_js_dials_cpp: SKIPPED: $1" >&2
  exit 77
}
command -v node >/dev/null || missing "node is not installed"
[[ -d "$here/node_modules/libp2p" ]] || missing "$here/node_modules is missing; run: (cd $here && npm ci)"
[[ -x "$stargate" ]] || { echo "run_js_dials_cpp: $stargate is not executable" >&2; exit 1; }
if [[ $# -eq 0 ]]; then
  set -- --echo-bytes 10000000 --streams 100 --ping 3 --perf 1000000
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/stargate-interop.XXXXXX")"
node_pid=""
cleanup() {
  if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    # Bounded wait for a clean exit, then force it.
    for _ in $(seq 50); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
  if [[ -s "$workdir/node.err" ]]; then
    echo "--- stargate node stderr ---"
    tail -n 50 "$workdir/node.err"
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

coproc NODE { exec "$stargate" --identity-dir "$workdir/identity" node --listen /ip4/127.0.0.1/tcp/0 --json 2>"$workdir/node.err"; }
node_pid=$NODE_PID
node_out=${NODE[0]}

# Wait for the "listening" line (bounded read), not a fixed sleep.
line=""
if ! IFS= read -r -t 30 line <&"$node_out"; then
  echo "run_js_dials_cpp: stargate node printed no listening line (it exited, or 30 s passed)" >&2
  exit 1
fi
echo "stargate: $line"
addr=$(node -e '
  const l = JSON.parse(process.argv[1])
  if (l.event !== "listening" || !Array.isArray(l.addrs) || l.addrs.length === 0) process.exit(1)
  console.log(l.addrs[0])' "$line") || { echo "run_js_dials_cpp: not a listening line: $line" >&2; exit 1; }
[[ "$addr" == */p2p/* ]] || { echo "run_js_dials_cpp: address without /p2p/: $addr" >&2; exit 1; }

start=$(date +%s.%N)
set +e
result=$(node "$here/js_peer.mjs" dial "$addr" "$@")
status=$?
set -e
end=$(date +%s.%N)
echo "js dialer (exit $status, $(awk "BEGIN { printf \"%.1f\", $end - $start }") s): $result"

kill -0 "$node_pid" 2>/dev/null || { echo "run_js_dials_cpp: FAILED: the stargate node died" >&2; exit 1; }

# ok:true, and identify names a stargate agent serving ping and echo, with our peer ID.
expected_peer="${addr##*/p2p/}"
if ! node -e '
  const [text, peer, ...args] = process.argv.slice(1)
  const r = JSON.parse(text)
  const problems = []
  if (r.event !== "result" || r.ok !== true) problems.push(`not ok: ${JSON.stringify(r.errors)}`)
  const id = r.identify ?? {}
  if (id.peer_id !== peer) problems.push(`identify peer_id ${id.peer_id}, want ${peer}`)
  if (typeof id.agent_version !== "string" || !id.agent_version.startsWith("stargate/")) problems.push(`agent_version ${id.agent_version}`)
  for (const p of ["/ipfs/ping/1.0.0", "/echo/1.0.0", "/ipfs/id/1.0.0"]) {
    if (!(id.protocols ?? []).includes(p)) problems.push(`protocols lack ${p}: ${JSON.stringify(id.protocols)}`)
  }
  // The dial options given to js_peer.mjs, e.g. --echo-bytes 10000000 -> want["echo-bytes"].
  const want = {}
  for (let i = 0; i + 1 < args.length; i += 2) want[args[i].replace(/^--/, "")] = args[i + 1]
  if (want.ping != null && r.ping_rtts_ms.length !== Number(want.ping)) problems.push(`${r.ping_rtts_ms.length} pings`)
  if (want["echo-bytes"] != null && (r.echo_bytes !== Number(want["echo-bytes"]) || r.echo_sha256_ok !== true)) problems.push(`echo ${r.echo_bytes} bytes, sha ok ${r.echo_sha256_ok}`)
  if (want.streams != null && r.concurrent_ok !== Number(want.streams)) problems.push(`${r.concurrent_ok} concurrent streams ok`)
  if (want.perf != null && r.perf?.bytes_down !== Number(want.perf)) problems.push(`perf ${JSON.stringify(r.perf)}`)
  if (problems.length > 0) { console.error(problems.join("\n")); process.exit(1) }
' "$result" "$expected_peer" "$@"; then
  echo "run_js_dials_cpp: FAILED (dialer exit $status)" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "run_js_dials_cpp: FAILED (dialer exit $status)" >&2
  exit 1
fi
echo "run_js_dials_cpp: ok"
