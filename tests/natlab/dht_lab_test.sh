#!/usr/bin/env bash
# Relays found through the DHT (docs/dht.md), behind a real NAT (tests/natlab/lab.sh):
#   - pub and a second agent (public) run DHT servers; the relay daemon joins the DHT through pub and advertises
#     itself under "stargate/relay";
#   - alice, behind r1, is given pub as her only bootstrap peer and no relay: she finds the relay
#     in the DHT, AutoNAT finds her private, she reserves on the relay and publishes her signed
#     announcement (with the circuit address) and her capability in the DHT;
#   - pub's agent finds alice by capability and calls her by agent ID through the relay, with no
#     broker anywhere.
# Every wait has a timeout. Not root: skips (77), but a skip fails when CI=true.
#   dht_lab_test.sh STARGATE_BINARY
set -uo pipefail
[[ $# -eq 1 ]] || { echo "usage: dht_lab_test.sh STARGATE_BINARY" >&2; exit 2; }
stargate="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-natlab-dht.XXXXXX")"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require
# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
lab_init
trap 'lab_cleanup; rm -rf "$work"' EXIT
export STARGATE_TREAT_AS_PUBLIC=203.0.113.0/24,198.51.100.0/24

json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }
start_agent() {  # start_agent ROLE NAME ARGS...: prints the agent's JSON "started" line
  local role=$1 name=$2
  shift 2
  lab_spawn "$role" "$work/agent-$name.log" "$stargate" --identity-dir "$work/id-$name" --log-level info,kad=debug \
    connect --name "$name" --no-nats --json "$@"
  lab_wait_line "$work/agent-$name.log" '"event":"started"' 30
}
status_of() { "$stargate" --identity-dir "$work/id-$1" status --json 2>/dev/null; }

start=$(date +%s%N)
lab_topology eim eim || fail "could not build the topology"
pass "topology built ($(ms_since "$start") ms)"

line=$(start_agent pub pub --listen /ip4/0.0.0.0/tcp/4001 --dht-mode server) || fail "the agent on pub did not start"
pub_id=$(json_field "$line" 'v["peer_id"]')
pub_addr="/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id"

# A second public DHT server, on the relay host: AutoNAT needs three servers to conclude.
line=$(start_agent relay second --listen /ip4/0.0.0.0/tcp/4002 --dht-mode server --bootstrap "$pub_addr") ||
  fail "the second DHT agent did not start"

lab_spawn relay "$work/relay.log" "$stargate" --identity-dir "$work/id-relay" --log-level info relay start --port 4001 \
  --metrics-listen off --bootstrap "$pub_addr" --json
line=$(lab_wait_line "$work/relay.log" '"event":"listening"' 30) || fail "the relay did not start"
relay_id=$(json_field "$line" 'v["peer_id"]')
lab_wait_line "$work/relay.log" 'advertised as a relay in the DHT' 30 >/dev/null ||
  fail "the relay did not advertise itself: $(tail -5 "$work/relay.log")"
pass "the relay joined the DHT through pub and advertised itself"

start=$(date +%s%N)
line=$(start_agent a alice --listen /ip4/0.0.0.0/tcp/4001 --bootstrap "$pub_addr" --capability translate) ||
  fail "alice did not start"
alice_agent=$(json_field "$line" 'v["agent_id"]')
alice_id=$(json_field "$line" 'v["peer_id"]')
circuit=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  if status=$(status_of alice); then
    circuit=$(json_field "$status" "([a for a in v['addresses'] if '/p2p/$relay_id/p2p-circuit/' in a] + [''])[0]")
    [[ -n "$circuit" ]] && break
  fi
  sleep 0.1
done
[[ -n "$circuit" ]] || fail "alice holds no reservation on the relay found in the DHT: $status"
[[ "$(json_field "$status" 'v["reachability"]')" == private ]] || fail "alice is not private: $status"
grep -q "found 1 relay(s) in the DHT, 1 answered" "$work/agent-alice.log" ||
  fail "alice did not find the relay in the DHT: $(grep -i relay "$work/agent-alice.log" | tail -5)"
pass "alice (behind r1, no relay configured) found the relay in the DHT and reserves: $circuit ($(ms_since "$start") ms)"

# pub finds alice by capability (a DHT provider record + her announcement record) and calls her.
start=$(date +%s%N)
found=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  found=$("$stargate" --identity-dir "$work/id-pub" discover --capability translate --json 2>"$work/discover.err") &&
    grep -q "$alice_agent" <<<"$found" && grep -q "p2p-circuit" <<<"$found" && break
  found=""
  sleep 0.2
done
[[ -n "$found" ]] || fail "pub does not discover alice's capability with her circuit address: $(cat "$work/discover.err")"
pass "pub discovers alice by capability through the DHT, with her circuit address ($(ms_since "$start") ms)"

# Alice's DHT traffic left a connection open to pub (from her listen port, through her NAT), which
# the cascade reuses first; then the call is forced through the relay's circuit.
start=$(date +%s%N)
"$stargate" --identity-dir "$work/id-pub" call "$alice_agent" ping '{"via":"dht"}' --timeout 20 >"$work/call.out" 2>&1 ||
  fail "pub -> alice by agent ID failed: $(cat "$work/call.out")"
grep -q '"via":"dht"' "$work/call.out" || fail "unexpected answer: $(cat "$work/call.out")"
"$stargate" --identity-dir "$work/id-pub" call "$alice_agent" ping '{"via":"relay"}' --via relay --timeout 20 \
  >"$work/call-relay.out" 2>&1 || fail "pub -> alice through the relay failed: $(cat "$work/call-relay.out")"
grep -q '"via":"relay"' "$work/call-relay.out" || fail "unexpected answer: $(cat "$work/call-relay.out")"
pub_status=$(status_of pub) || fail "no status from pub"
[[ "$(json_field "$pub_status" 'v["calls_ok_relayed"]')" -ge 1 ]] || fail "no call went through the relay: $pub_status"
pass "pub calls alice ($alice_id) by agent ID, and through the relay's circuit ($(ms_since "$start") ms)"
lab_cleanup
[[ -z "$(lab_leftovers)" ]] || fail "namespaces left after cleanup: $(lab_leftovers)"
echo "natlab dht: all $checks checks passed"
