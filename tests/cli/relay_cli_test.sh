#!/usr/bin/env bash
# The relay daemon and agents behind it, through the CLI, with no broker: `relay start` (JSON
# listening line, /metrics and /healthz, SIGTERM drain, persistent identity), `connect --relay
# --no-nats` (reserves, `status --json` shows the circuit address and the reservation), `call` on
# a /p2p-circuit multiaddr, and the reservation made again after the relay restarts.
#   relay_cli_test.sh STARGATE_BINARY
set -uo pipefail
stargate="$1"
test_name=relay_cli_test
# shellcheck source=tests/cli/testlib.sh
source "$(dirname "$0")/testlib.sh"
json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }
http_get() {  # http_get URL -> "STATUS BODY"
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
# wait_for SECONDS COMMAND...: retries COMMAND every 100 ms until it succeeds (bounded).
wait_for() {
  local tries=$(($1 * 10)); shift
  for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# start_relay [PORT]: runs the relay in the background; sets relay_pid, relay_addr, relay_id, metrics.
start_relay() {
  rm -f "$work/relay.fifo"; mkfifo "$work/relay.fifo"
  "$stargate" --identity-dir "$work/relay" --log-level info relay start --listen "/ip4/127.0.0.1/tcp/${1:-0}" \
    --metrics-listen 127.0.0.1:0 --json --log-interval 1 >"$work/relay.fifo" 2>>"$work/relay.err" &
  relay_pid=$!
  pids+=($relay_pid)
  exec {relay_fd}<"$work/relay.fifo"
  IFS= read -r -t 30 listening <&"$relay_fd" || fail "relay printed no listening line"
  IFS= read -r -t 30 metrics_line <&"$relay_fd" || fail "relay printed no metrics line"
  relay_id=$(json_field "$listening" 'v["peer_id"]')
  relay_addr=$(json_field "$listening" 'v["addrs"][0]')
  metrics=$(json_field "$metrics_line" 'v["address"]')
}

start_relay
first_relay_id=$relay_id
[[ "$relay_addr" == /ip4/127.0.0.1/tcp/*/p2p/$relay_id ]] || fail "relay address: $relay_addr"
pass "relay start prints its address ($relay_addr)"

out=$(http_get "http://$metrics/healthz")
[[ "$out" == "200 ok"* ]] || fail "/healthz: $out"
pass "/healthz answers 200"

# An agent with no broker and no listener, reachable only through the relay.
mkfifo "$work/bob.fifo"
"$stargate" --identity-dir "$work/bob" connect --name bob --no-nats --relay "$relay_addr" --json \
  >"$work/bob.fifo" 2>"$work/bob.err" &
pids+=($!)
exec {bob_fd}<"$work/bob.fifo"
IFS= read -r -t 30 started <&"$bob_fd" || fail "bob did not start"
bob_peer=$(json_field "$started" 'v["peer_id"]')
circuit_of_bob() {
  status=$(run --identity-dir "$work/bob" status --json 2>/dev/null) || return 1
  circuit=$(json_field "$status" '[a for a in v["addresses"] if "/p2p-circuit/" in a][0]' 2>/dev/null) || return 1
  [[ -n "$circuit" ]]
}
wait_for 20 circuit_of_bob || fail "bob never showed a circuit address: $status"
[[ "$circuit" == "$relay_addr/p2p-circuit/p2p/$bob_peer" ]] || fail "circuit address: $circuit"
json_field "$status" 'v["reservations"][0]["active"] and v["reservations"][0]["relay"]' | grep -q "$relay_id" \
  || fail "status shows no active reservation: $status"
pass "connect --relay reserves; status --json shows the circuit address and the reservation"

out=$(run --identity-dir "$work/cli" call "$circuit" ping '{"n":7}' 2>"$work/call.err") || fail "call through the relay exited $?"
[[ "$out" == *'"pong":true'* && "$out" == *'"n":7'* ]] || fail "call through the relay: $out"
pass "call on a /p2p-circuit multiaddr reaches bob through the relay (no broker anywhere)"

out=$(run --identity-dir "$work/cli" call --via relay "$circuit" ping '{}' 2>"$work/via.err") || fail "call --via relay exited $?"
[[ "$out" == *'"pong":true'* ]] || fail "call --via relay: $out"
run --identity-dir "$work/cli" call --via direct "$circuit" ping '{}' >/dev/null 2>"$work/via-direct.err" &&
  fail "call --via direct on a circuit address should fail"
grep -q "no direct address" "$work/via-direct.err" || fail "--via direct: $(cat "$work/via-direct.err")"
run --identity-dir "$work/cli" call --via pigeon "$circuit" ping '{}' >/dev/null 2>&1 && fail "--via pigeon accepted"
pass "call --via relay uses the circuit; --via direct refuses it with the reason; an unknown tier is refused"

run --identity-dir "$work/cli" call "/ip4/127.0.0.1/tcp/1/p2p/$bob_peer" ping '{}' >/dev/null 2>"$work/dead.err" \
  && fail "a call to a dead address should fail"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["code"]==-32001, e' "$work/dead.err" \
  || fail "dead address: $(cat "$work/dead.err")"
pass "a dead multiaddr: -32001 unreachable on stderr"

out=$(http_get "http://$metrics/metrics")
[[ "$out" == 200* ]] || fail "/metrics: ${out:0:200}"
grep -q '^stargate_relay_reservations 1$' <<<"$out" || fail "/metrics shows no reservation: $out"
grep -q '^stargate_relay_circuits_opened_total [1-9]' <<<"$out" || fail "/metrics shows no circuit: $out"
grep -q '^stargate_relay_relayed_bytes_total [1-9]' <<<"$out" || fail "/metrics shows no relayed bytes"
grep -q '^stargate_transport_bytes_total{transport="libp2p",direction="in"} [1-9]' <<<"$out" || fail "/metrics shows no bytes in"
grep -q '^stargate_transport_bytes_total{transport="libp2p",direction="out"} [1-9]' <<<"$out" || fail "/metrics shows no bytes out"
pass "/metrics exports reservations, circuits, bytes relayed and the relay's bytes in and out"

"$stargate" --identity-dir "$work/dave" connect --name dave --no-nats >/dev/null 2>"$work/nowayin.err" \
  && fail "connect --no-nats without --listen or --relay should fail"
grep -q -- "--listen" "$work/nowayin.err" || fail "no way in: $(cat "$work/nowayin.err")"
pass "connect --no-nats without --listen/--relay is refused with a clear message"

# SIGTERM: the relay drains and exits 0; bob notices and withdraws the circuit address.
kill -TERM "$relay_pid"
wait_for 10 bash -c "! kill -0 $relay_pid 2>/dev/null" || fail "relay did not stop on SIGTERM"
wait "$relay_pid"; rc=$?
[[ $rc -eq 0 ]] || fail "relay exited $rc after SIGTERM"
grep -q "final load" "$work/relay.err" || fail "relay logged no final load"
no_circuit() { ! circuit_of_bob; }
wait_for 10 no_circuit || fail "bob still advertises $circuit after the relay stopped"
pass "relay drains on SIGTERM (exit 0, final load logged); bob withdraws its circuit address"

# The relay comes back with the same identity on the same port; bob reserves again on its own.
port=$(cut -d/ -f5 <<<"$relay_addr")
start_relay "$port"
[[ "$relay_id" == "$first_relay_id" ]] || fail "the relay's PeerId changed across restarts: $first_relay_id -> $relay_id"
wait_for 30 circuit_of_bob || fail "bob did not reserve again after the relay restarted"
out=$(run --identity-dir "$work/cli" call "$circuit" ping '{"again":true}' 2>"$work/call2.err") || fail "call after restart exited $?"
[[ "$out" == *'"again":true'* ]] || fail "call after restart: $out"
pass "the relay keeps its PeerId across restarts; bob's reservation comes back and calls work again"

echo "relay_cli_test: all $checks checks passed"
