#!/usr/bin/env bash
# Bounded shutdown (issue 13, docs/threat-model.md "Shutdown"): a relay with peers that stop
# answering (a raw TCP client that never completes its handshake, an agent frozen with SIGSTOP)
# exits within its grace period (+2 s) after SIGTERM; with --shutdown-grace 30 a second SIGTERM
# stops it at once (< 2 s); `connect` is bounded the same way; bad grace values are refused; a
# relay whose gossipsub peers left (cleanly and killed) holds no /meshsub stream and drains cleanly.
#   shutdown_test.sh STARGATE_BINARY
set -uo pipefail
stargate="$1"
test_name=shutdown_test
# shellcheck source=tests/cli/testlib.sh
source "$(dirname "$0")/testlib.sh"
json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }
http_get() {  # http_get URL -> BODY
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for SECONDS COMMAND...: retries COMMAND every 100 ms until it succeeds (bounded).
wait_for() {
  local tries=$(($1 * 10)); shift
  for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}
# wait_exit PID MS: waits up to MS ms for PID to exit; sets rc (its exit code) and took (ms since `t0`).
wait_exit() {
  local pid=$1 deadline=$(($(now_ms) + $2))
  while kill -0 "$pid" 2>/dev/null; do
    (($(now_ms) > deadline)) && return 1
    sleep 0.02
  done
  took=$(($(now_ms) - t0))
  wait "$pid"; rc=$?
  return 0
}

# start_relay NAME [FLAGS...]: sets relay_pid, relay_addr, relay_port, metrics.
start_relay() {
  local name=$1; shift
  mkfifo "$work/$name.fifo"
  "$stargate" --identity-dir "$work/$name" --log-level info relay start --listen /ip4/127.0.0.1/tcp/0 \
    --metrics-listen 127.0.0.1:0 --json "$@" >"$work/$name.fifo" 2>"$work/$name.err" &
  relay_pid=$!
  pids+=($relay_pid)
  local fd listening metrics_line
  exec {fd}<"$work/$name.fifo"
  IFS= read -r -t 30 listening <&"$fd" || fail "$name printed no listening line"
  IFS= read -r -t 30 metrics_line <&"$fd" || fail "$name printed no metrics line"
  relay_addr=$(json_field "$listening" 'v["addrs"][0]')
  relay_port=$(cut -d/ -f5 <<<"$relay_addr")
  metrics=$(json_field "$metrics_line" 'v["address"]')
}

# A raw TCP client that connects and then sends nothing (a handshake that never completes).
# stall PORT NAME: sets stall_pid once the node holds it as a pending handshake (its /metrics).
stall() {
  python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(600)' "$1" >"$work/$2.out" 2>&1 &
  stall_pid=$!
  pids+=($stall_pid)
}
handshake_pending() {
  http_get "http://$metrics/metrics" | grep -E '^stargate_resource_used\{[^}]*resource="handshakes"[^}]*\} [1-9]' >/dev/null
}

# An agent reserving on the relay, then frozen (SIGSTOP): it answers nothing any more.
# frozen_agent NAME: sets agent_pid.
frozen_agent() {
  "$stargate" --identity-dir "$work/$1" connect --name "$1" --no-nats --relay "$relay_addr" --json \
    >"$work/$1.out" 2>"$work/$1.err" &
  agent_pid=$!
  pids+=($agent_pid)
  reserved() { http_get "http://$metrics/metrics" | grep '^stargate_relay_reservations 1$' >/dev/null; }
  wait_for 20 reserved || fail "$1 never reserved on the relay"
  kill -STOP "$agent_pid"
}

stop_peers() {  # the frozen agent and the raw client, quietly
  kill -KILL "$agent_pid" "$stall_pid" 2>/dev/null
  wait "$agent_pid" "$stall_pid" 2>/dev/null
}

for bad in nan -1 601; do
  out=$("$stargate" --identity-dir "$work/refused" relay start --listen /ip4/127.0.0.1/tcp/0 --shutdown-grace "$bad" 2>&1)
  rc=$?
  [[ $rc -eq 2 && "$out" == *"--shutdown-grace"* ]] || fail "--shutdown-grace $bad: exit $rc: $out"
done
out=$("$stargate" --identity-dir "$work/refused" connect --name x --no-nats --listen /ip4/127.0.0.1/tcp/0 \
  --shutdown-grace -5 2>&1)
rc=$?
[[ $rc -eq 2 && "$out" == *"--shutdown-grace"* ]] || fail "connect --shutdown-grace -5: exit $rc: $out"
pass "--shutdown-grace refuses nan, negative values and more than 600 s (exit 2)"

# 1. The default grace (5 s): SIGTERM with a stalled handshake and a frozen agent.
start_relay relay1
frozen_agent frozen1
stall "$relay_port" stall1
wait_for 10 handshake_pending || fail "the relay never held the raw client's handshake"
t0=$(now_ms)
kill -TERM "$relay_pid"
wait_exit "$relay_pid" 7000 || fail "the relay was still running 7 s after SIGTERM (grace 5 s)"
[[ $rc -eq 0 || $rc -eq 3 ]] || fail "the relay exited $rc after SIGTERM (0: drained, 3: forced)"
grep -q "final load" "$work/relay1.err" || fail "the relay did not drain (no final load logged)"
if [[ $rc -eq 3 ]]; then
  grep -q "shutdown grace of 5 s over" "$work/relay1.err" || fail "exit 3 without the grace's warning"
fi
pass "relay with a stalled handshake and a frozen agent exits $took ms after SIGTERM (grace 5 s; exit $rc)"
stop_peers

# 2. --shutdown-grace 30: the first SIGTERM drains, the second stops the relay at once.
start_relay relay2 --shutdown-grace 30
frozen_agent frozen2
stall "$relay_port" stall2
wait_for 10 handshake_pending || fail "the relay never held the raw client's handshake"
kill -TERM "$relay_pid"
draining() { grep -q "SIGTERM: shutting down" "$work/relay2.err"; }
wait_for 10 draining || fail "the relay did not log the first SIGTERM"
kill -0 "$relay_pid" 2>/dev/null || fail "the relay exited at the first SIGTERM: nothing held it, the second signal is untested"
t0=$(now_ms)
kill -TERM "$relay_pid"
wait_exit "$relay_pid" 2000 || fail "the relay was still running 2 s after a second SIGTERM (grace 30 s)"
[[ $rc -eq 3 ]] || fail "exit $rc after a second SIGTERM (expected 3: forced)"
grep -q "second signal" "$work/relay2.err" || fail "no warning about the second signal"
pass "with --shutdown-grace 30, a second SIGTERM stops the relay in $took ms (exit 3)"
stop_peers

# 3. connect: an agent with a stalled handshake on its listener, grace 1 s.
mkfifo "$work/agent.fifo"
"$stargate" --identity-dir "$work/agent" --log-level info connect --name agent --no-nats \
  --listen /ip4/127.0.0.1/tcp/0 --shutdown-grace 1 --json >"$work/agent.fifo" 2>"$work/agent.err" &
agent_pid=$!
pids+=($agent_pid)
exec {agent_fd}<"$work/agent.fifo"
IFS= read -r -t 30 started <&"$agent_fd" || fail "the agent did not start"
agent_port=$(json_field "$started" '[a for a in v["addrs"] if a.startswith("/ip4/127.0.0.1/tcp/")][0].split("/")[4]')
stall "$agent_port" stall3
agent_handshake_pending() {
  local status
  status=$(run --identity-dir "$work/agent" status --json 2>/dev/null) || return 1
  json_field "$status" '[s for s in v["resources"]["scopes"] if s["scope"] == "transient"][0]["handshakes"]["used"]' |
    grep '^[1-9]' >/dev/null
}
wait_for 10 agent_handshake_pending || fail "the agent never held the raw client's handshake"
t0=$(now_ms)
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 3000 || fail "the agent was still running 3 s after SIGTERM (grace 1 s)"
[[ $rc -eq 0 ]] || fail "the agent exited $rc after SIGTERM (its stop() is bounded within the grace: expected 0)"
pass "connect with a stalled handshake stops cleanly $took ms after SIGTERM (grace 1 s; exit 0)"

# 4. Gossipsub peers that leave (one cleanly, one killed) leave nothing behind on the relay: its
# /meshsub streams go back to 0, and SIGTERM then drains cleanly (exit 0) at once, with no
# coroutine parked on a departed peer to hold the event loop until the grace runs out.
start_relay relay4
meshsub_streams() {  # the relay's open /meshsub/1.1.0 streams, from its metrics
  http_get "http://$metrics/metrics" |
    sed -n 's/^stargate_resource_used{scope="protocol",name="\/meshsub\/1.1.0",resource="streams"} //p'
}
meshsub_at_least_2() { [[ "$(meshsub_streams)" -ge 2 ]] 2>/dev/null; }
meshsub_none() { [[ "$(meshsub_streams)" == 0 ]]; }
gossip_pids=()
for name in leaver1 leaver2; do
  "$stargate" --identity-dir "$work/$name" connect --name "$name" --no-nats --relay "$relay_addr" --json \
    >"$work/$name.out" 2>"$work/$name.err" &
  gossip_pids+=($!)
  pids+=($!)
done
wait_for 20 meshsub_at_least_2 || fail "the agents never opened gossipsub streams with the relay (metrics: $(meshsub_streams))"
kill -TERM "${gossip_pids[0]}"
kill -KILL "${gossip_pids[1]}"
wait "${gossip_pids[@]}" 2>/dev/null
wait_for 20 meshsub_none || fail "the relay still holds $(meshsub_streams) /meshsub streams after its gossip peers left"
t0=$(now_ms)
kill -TERM "$relay_pid"
wait_exit "$relay_pid" 7000 || fail "the relay was still running 7 s after SIGTERM once its gossip peers had left"
[[ $rc -eq 0 ]] || fail "the relay exited $rc after its gossip peers left (expected 0: a clean drain, nothing parked)"
pass "gossipsub peers left (cleanly and killed): the relay's /meshsub streams back to 0, SIGTERM drains in $took ms (exit 0)"

echo "$test_name: all $checks checks passed"
