#!/usr/bin/env bash
# Agents behind real NATs (tests/natlab/lab.sh) reach each other directly where the network lets
# them and through a Circuit Relay v2 relay where it does not. Scenarios of docs/natlab.md:
#   1. public <-> public: a direct call.
#   2. NAT -> public: a direct call out; the NATed agent holds a reservation and is reached
#      through the relay.
#   3. endpoint-independent <-> endpoint-independent: the first call is relayed, DCUtR punches a
#      direct connection between both listen ports, later calls go direct.
#   4. symmetric <-> symmetric: calls go through the relay and keep working; the punch fails and is
#      counted.
#   5. interop: a js-libp2p peer behind a NAT reserves on the Stargate relay and is pinged through
#      it; a Stargate agent behind a NAT reserves on a js-libp2p relay and is called through it, and
#      a js-libp2p peer reaches it there (the DCUtR upgrade it refuses is counted).
#   6. bad requests to the relay: a circuit to a peer without reservation, a reservation flood
#      from one IP (malformed hop/stop messages need a raw client: tests/integration/relay_test.cpp).
#   7. relay limits: a call bigger than a circuit's byte limit is refused with the limit named
#      (the relay resets a circuit that exceeds it: tests/integration/relay_test.cpp), and the next
#      small call works.
#   8. bounded shutdown (issue 13): a relay carrying a relayed call between agents behind both NATs,
#      sent SIGTERM together with them, and all exit within the grace period (5 s) + 2 s; again with
#      the agents' routers and namespaces removed under the relay (`ip netns del`) first.
# Every wait has a timeout. Not root: skips (77), but a skip fails when CI=true.
#   relay_lab_test.sh STARGATE_BINARY
set -uo pipefail
[[ $# -eq 1 ]] || { echo "usage: relay_lab_test.sh STARGATE_BINARY" >&2; exit 2; }
stargate="$1"
here="$(cd "$(dirname "$0")" && pwd)"
js_peer="$here/../interop/js_peer.mjs"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-natlab-relay.XXXXXX")"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require
# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
lab_init
trap 'lab_cleanup; rm -rf "$work"' EXIT
# The lab's "internet" ranges are documentation ranges, private to libp2p: count them as public.
export STARGATE_TREAT_AS_PUBLIC=203.0.113.0/24,198.51.100.0/24

json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }

# start_agent ROLE NAME ARGS...: `connect --no-nats --json` in ROLE; prints its peer id.
start_agent() {
  local role=$1 name=$2 line
  shift 2
  lab_spawn "$role" "$work/agent-$name.log" "$stargate" --identity-dir "$work/id-$name" --log-level info,dcutr=debug \
    connect --name "$name" --no-nats --json "$@"
  line=$(lab_wait_line "$work/agent-$name.log" '"event":"started"' 30) || return 1
  json_field "$line" 'v["peer_id"]'
}
# circuit_of NAME RELAY_ID: waits for NAME's circuit address through RELAY_ID; prints it.
circuit_of() {
  local name=$1 relay=$2 status addr
  for _ in $(seq 1 200); do  # bounded: 200 × 100 ms
    status=$("$stargate" --identity-dir "$work/id-$name" status --json 2>/dev/null) &&
      addr=$(json_field "$status" "[a for a in v['addresses'] if '/p2p/$relay/p2p-circuit/' in a][0]" 2>/dev/null) &&
      [[ -n "$addr" ]] && { echo "$addr"; return 0; }
    sleep 0.1
  done
  echo "$status" >"$work/status-$name.out"
  return 1
}
# call_from ROLE OUT TARGET METHOD PARAMS: a one-shot `call` from ROLE; result in $work/OUT.out.
call_from() {
  lab_exec "$1" timeout 60 "$stargate" --identity-dir "$work/id-caller-$1" call "$3" "$4" "$5" --timeout 20 \
    >"$work/$2.out" 2>"$work/$2.err"
}
expect_pong() {  # expect_pong OUT VALUE
  grep -q '"pong":true' "$work/$1.out" && grep -q "$2" "$work/$1.out"
}

start=$(date +%s%N)
lab_topology eim eim || fail "could not build the topology"
pass "topology built ($(ms_since "$start") ms)"

# The relay daemon on the public relay host.
lab_spawn relay "$work/relay.log" "$stargate" --identity-dir "$work/id-relay" --log-level info,relay=debug relay start --port 4001 \
  --metrics-listen 127.0.0.1:0 --json
relay_pid=$LAB_LAST_PID
line=$(lab_wait_line "$work/relay.log" '"event":"listening"' 30) || fail "the relay did not start"
relay_id=$(json_field "$line" 'v["peer_id"]')
relay_addr="/ip4/$LAB_RELAY_IP/tcp/4001/p2p/$relay_id"
json_field "$line" 'v["addrs"]' | grep -q "$LAB_RELAY_IP" || fail "the relay does not advertise $LAB_RELAY_IP: $line"
line=$(lab_wait_line "$work/relay.log" '"event":"metrics"' 30) || fail "the relay printed no metrics address"
relay_metrics=$(json_field "$line" 'v["address"]')
# The relay's /metrics is on loopback inside its namespace: scrape it from there.
relay_circuits_opened() {
  lab_exec relay python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=5).read().decode()
print([l for l in text.splitlines() if l.startswith("stargate_relay_circuits_opened_total")][0].split()[1])' "$relay_metrics"
}
pass "relay start on $LAB_RELAY_IP:4001 advertises its interface address"
# A second relay with small circuits (scenario 7), also an AutoNAT server for scenario 2.
lab_spawn relay "$work/relay-small.log" "$stargate" --identity-dir "$work/id-relay-small" relay start --port 4002 \
  --circuit-bytes 65536 --max-reservations-per-ip 2 --metrics-listen off --json
small_pid=$LAB_LAST_PID
line=$(lab_wait_line "$work/relay-small.log" '"event":"listening"' 30) || fail "the small relay did not start"
small_id=$(json_field "$line" 'v["peer_id"]')
small_addr="/ip4/$LAB_RELAY_IP/tcp/4002/p2p/$small_id"

# ------------------------------------------------------------------ 1. public <-> public
pub_id=$(start_agent pub pub --listen /ip4/0.0.0.0/tcp/4001) || fail "the agent on pub did not start"
start=$(date +%s%N)
call_from fw s1 "/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id" ping '{"s":1}' || fail "fw -> pub call exited $?"
expect_pong s1 '"s":1' || fail "fw -> pub: $(cat "$work/s1.out")"
pass "1. public <-> public: fw calls pub directly ($(ms_since "$start") ms)"

# ------------------------------------------------------------------ 2. NAT -> public
start=$(date +%s%N)
call_from a s2 "/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id" ping '{"s":2}' || fail "a -> pub call exited $?"
expect_pong s2 '"s":2' || fail "a -> pub: $(cat "$work/s2.out")"
pass "2. NAT -> public: a (behind r1) calls pub directly ($(ms_since "$start") ms)"

a_id=$(start_agent a alice --listen /ip4/0.0.0.0/tcp/4001 --relay "$relay_addr" --relay "$small_addr") ||
  fail "the agent on a did not start"
start=$(date +%s%N)
a_circuit=$(circuit_of alice "$relay_id") || fail "alice holds no reservation: $(cat "$work/status-alice.out")"
[[ "$a_circuit" == "$relay_addr/p2p-circuit/p2p/$a_id" ]] || fail "alice's circuit address: $a_circuit"
pass "2. alice (behind r1) reserves on the relay and announces $a_circuit ($(ms_since "$start") ms)"
start=$(date +%s%N)
call_from pub s2b "$a_circuit" ping '{"s":"2b"}' || fail "pub -> alice through the relay exited $?"
expect_pong s2b '"s":"2b"' || fail "pub -> alice: $(cat "$work/s2b.out")"
pass "2. pub reaches alice (behind NAT) through the relay ($(ms_since "$start") ms)"

# alice talks to three AutoNAT servers (both relays, and pub once she calls it): their dial-backs
# to her listen port's mapping are dropped by r1, so she finds herself private; two observers at
# different IPs see the same mapped port, so her NAT is endpoint-independent.
"$stargate" --identity-dir "$work/id-alice" call "/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id" ping '{}' >"$work/s2c.out" 2>&1 ||
  fail "alice -> pub exited $?"
start=$(date +%s%N)
private_alice() {
  alice_status=$("$stargate" --identity-dir "$work/id-alice" status --json 2>/dev/null) &&
    [[ "$(json_field "$alice_status" 'v["reachability"]')" == private ]]
}
for _ in $(seq 1 600); do private_alice && break; sleep 0.1; done  # bounded: 60 s
private_alice || fail "alice does not report private: $alice_status"
nat=$(json_field "$alice_status" 'v["nat_kind"]')
[[ "$nat" == endpoint_independent ]] || fail "alice's NAT kind: $nat ($alice_status)"
pass "2. alice reports private (AutoNAT, $(ms_since "$start") ms) behind an endpoint-independent NAT, and holds reservations"

# ------------------------------------------------------------------ 3. eim <-> eim: hole punch
# Both agents listen on 4001 and dial out from it, so r1 and r2 map it to 198.51.100.x:4001.
# alice (already running on a) calls erin on b through the relay; erin drives DCUtR; afterwards
# the agents talk directly and the relay sees no new circuit.
erin_id=$(start_agent b erin --listen /ip4/0.0.0.0/tcp/4001 --relay "$relay_addr") || fail "the agent erin on b did not start"
erin_circuit=$(circuit_of erin "$relay_id") || fail "erin holds no reservation"
start=$(date +%s%N)
# Through alice's running agent (its control socket), so the connection it makes stays open.
"$stargate" --identity-dir "$work/id-alice" call "$erin_circuit" ping '{"s":"3a"}' >"$work/s3a.out" 2>"$work/s3a.err" ||
  fail "alice -> erin through the relay exited $?"
expect_pong s3a '"s":"3a"' || fail "alice -> erin: $(cat "$work/s3a.out")"
first_call_ms=$(ms_since "$start")
direct_to_erin() {
  local status
  status=$("$stargate" --identity-dir "$work/id-alice" status --json 2>/dev/null) || return 1
  json_field "$status" "[c for c in v['connections'] if c['peer_id'] == '$erin_id' and not c['relayed']][0]['remote_addr']" \
    >"$work/s3-direct.out" 2>/dev/null
}
for _ in $(seq 1 150); do direct_to_erin && break; sleep 0.1; done  # bounded: 15 s
direct_to_erin || fail "alice and erin never got a direct connection: $("$stargate" --identity-dir "$work/id-erin" status --json)"
punch_ms=$(ms_since "$start")
[[ "$(cat "$work/s3-direct.out")" == "/ip4/$LAB_R2_WAN/tcp/4001" ]] ||
  fail "alice's direct connection to erin goes to $(cat "$work/s3-direct.out"), not r2's mapping of erin's port"
lab_exec a ss -tn state established "( sport = :4001 and dst $LAB_R2_WAN )" | grep -q "$LAB_R2_WAN:4001" ||
  fail "no established TCP connection from a:4001 to $LAB_R2_WAN:4001: $(lab_exec a ss -tn)"
circuits_before=$(relay_circuits_opened)
"$stargate" --identity-dir "$work/id-alice" call "$erin_id" ping '{"s":"3b"}' >"$work/s3b.out" 2>"$work/s3b.err" ||
  fail "alice -> erin after the punch exited $?"
expect_pong s3b '"s":"3b"' || fail "alice -> erin after the punch: $(cat "$work/s3b.out")"
"$stargate" --identity-dir "$work/id-alice" call "$erin_circuit" ping '{"s":"3c"}' >"$work/s3c.out" 2>"$work/s3c.err" ||
  fail "alice -> erin (circuit address) after the punch exited $?"
circuits_after=$(relay_circuits_opened)
[[ "$circuits_before" == "$circuits_after" ]] || fail "calls after the punch opened relay circuits ($circuits_before -> $circuits_after)"
erin_status=$("$stargate" --identity-dir "$work/id-erin" status --json)
[[ "$(json_field "$erin_status" 'v["hole_punch"]["successes"]')" -ge 1 ]] || fail "erin counts no hole-punch success: $erin_status"
pass "3. eim <-> eim: first call relayed ($first_call_ms ms), hole-punched to a direct a:4001 <-> $LAB_R2_WAN:4001 connection ($punch_ms ms after the call began); later calls go direct (relay circuits stay at $circuits_after)"

# ------------------------------------------------------------------ 4. symmetric <-> symmetric
lab_set_nat r1 symmetric || fail "cannot switch r1 to symmetric"
lab_set_nat r2 symmetric || fail "cannot switch r2 to symmetric"
b_id=$(start_agent b bob --listen /ip4/0.0.0.0/tcp/4002 --relay "$relay_addr") || fail "the agent on b did not start"
b_circuit=$(circuit_of bob "$relay_id") || fail "bob holds no reservation: $(cat "$work/status-bob.out")"
for i in 1 2 3; do
  start=$(date +%s%N)
  call_from a "s4-$i" "$b_circuit" ping "{\"s\":\"4-$i\"}" || fail "a -> bob (symmetric <-> symmetric) call $i exited $?"
  expect_pong "s4-$i" "\"s\":\"4-$i\"" || fail "a -> bob call $i: $(cat "$work/s4-$i.out")"
  echo "  call $i through the relay: $(ms_since "$start") ms"
done
# alice's running agent (listening, so DCUtR has addresses on both sides) calls bob: the punch
# cannot work through two symmetric NATs; it is counted and the call goes through the relay.
"$stargate" --identity-dir "$work/id-alice" call "$b_circuit" ping '{"s":"4a"}' >"$work/s4a.out" 2>"$work/s4a.err" ||
  fail "alice -> bob (symmetric) exited $?"
expect_pong s4a '"s":"4a"' || fail "alice -> bob: $(cat "$work/s4a.out")"
punch_failed() {
  status=$("$stargate" --identity-dir "$work/id-bob" status --json 2>/dev/null) &&
    [[ "$(json_field "$status" 'v["hole_punch"]["failures"].get("punch_failed", 0)')" -ge 1 ]]
}
for _ in $(seq 1 200); do punch_failed && break; sleep 0.1; done  # bounded: 20 s (one punch times out in 5)
punch_failed || fail "bob counted no failed punch: $status"
"$stargate" --identity-dir "$work/id-alice" call "$b_circuit" ping '{"s":"4b"}' >"$work/s4b.out" 2>"$work/s4b.err" ||
  fail "alice -> bob after the failed punch exited $?"
alice_status=$("$stargate" --identity-dir "$work/id-alice" status --json)
json_field "$alice_status" "all(c['relayed'] for c in v['connections'] if c['peer_id'] == '$b_id')" | grep -q True ||
  fail "alice has a direct connection to bob through two symmetric NATs?: $alice_status"
pass "4. symmetric <-> symmetric: calls go through the relay; the hole punch fails, is counted (punch_failed) and calls keep working"

# ------------------------------------------------------------------ 6. bad requests to the relay
# A circuit to a peer that holds no reservation: NO_RESERVATION, told to the caller.
call_from a s6a "$relay_addr/p2p-circuit/p2p/$pub_id" ping '{}' && fail "a circuit to a peer without reservation worked"
grep -q NO_RESERVATION "$work/s6a.err" || fail "circuit to an unreserved peer: $(cat "$work/s6a.err")"
# A reservation flood from one address: the small relay allows 2 per IP; alice holds one, a second
# agent on a gets one, a third is refused with RESERVATION_REFUSED.
start_agent a flood1 --relay "$small_addr" >/dev/null || fail "flood1 did not start"
circuit_of flood1 "$small_id" >/dev/null || fail "flood1 (second reservation from a's IP) was refused"
start_agent a flood2 --relay "$small_addr" >/dev/null || fail "flood2 did not start"
refused_flood() {
  status=$("$stargate" --identity-dir "$work/id-flood2" status --json 2>/dev/null) &&
    json_field "$status" 'v["reservations"][0].get("last_error", "")' | grep -q RESERVATION_REFUSED
}
for _ in $(seq 1 100); do refused_flood && break; sleep 0.1; done  # bounded: 10 s
refused_flood || fail "a third reservation from a's IP was not refused: $status"
pass "6. the relay refuses a circuit to an unreserved peer (NO_RESERVATION) and a third reservation from one IP (RESERVATION_REFUSED); malformed hop/stop messages: tests/integration/relay_test.cpp"

# ------------------------------------------------------------------ 7. relay limits
carol_id=$(start_agent b carol --relay "$small_addr") || fail "the agent carol on b did not start"
carol_circuit=$(circuit_of carol "$small_id") || fail "carol holds no reservation on the small relay"
python3 -c 'import json; print(json.dumps({"blob": "x" * 200000}))' >"$work/big.json"
start=$(date +%s%N)
call_from a s7 "$carol_circuit" ping "@$work/big.json" && fail "a 200 KB call went through a circuit limited to 64 KiB"
elapsed=$(ms_since "$start")
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["code"] == -32001 and "limit of 65536" in e["message"], e' "$work/s7.err" ||
  fail "over-limit call: $(cat "$work/s7.err")"
call_from a s7b "$carol_circuit" ping '{"s":7}' || fail "a small call after the over-limit one exited $?"
expect_pong s7b '"s":7' || fail "small call after the limit: $(cat "$work/s7b.out")"
pass "7. a call over the circuit's 64 KiB limit fails in $elapsed ms ($(head -c 120 "$work/s7.err")); the next small call works"

# ------------------------------------------------------------------ 5. interop with js-libp2p
if [[ ! -d "$here/../interop/node_modules/libp2p" ]]; then
  [[ "${CI:-}" == true ]] && fail "tests/interop/node_modules is missing (npm ci) and CI=true"
  echo "natlab: js-libp2p scenarios skipped: tests/interop/node_modules is missing (run npm ci there)" >&2
else
  lab_spawn b "$work/js-b.log" node "$js_peer" listen --listen-ip "$LAB_B_IP" --relay "$relay_addr" --ignore-stdin
  line=$(lab_wait_line "$work/js-b.log" '"event":"reserved"' 60) || fail "the js peer behind r2 did not reserve on the Stargate relay"
  js_circuit=$(json_field "$line" "[a for a in v['addrs'] if a.startswith('$relay_addr/p2p-circuit')][0]") ||
    fail "the js peer announces no circuit through our relay: $line"
  start=$(date +%s%N)
  lab_exec a timeout 60 "$stargate" --identity-dir "$work/id-pinger" ping "$js_circuit" --count 2 --interval 0 --timeout 20 \
    >"$work/s5a.out" 2>"$work/s5a.err" || fail "a could not ping the js peer through the Stargate relay"
  pass "5. a js-libp2p peer behind r2 reserves on the Stargate relay; a pings it through the relay ($(ms_since "$start") ms)"

  lab_spawn pub "$work/js-relay.log" node "$js_peer" relay-server --listen-ip "$LAB_PUB_IP" --port 4003 --ignore-stdin
  line=$(lab_wait_line "$work/js-relay.log" '"event":"listening"' 60) || fail "the js relay did not start"
  js_relay_id=$(json_field "$line" 'v["peer_id"]')
  js_relay_addr="/ip4/$LAB_PUB_IP/tcp/4003/p2p/$js_relay_id"
  dave_id=$(start_agent b dave --listen /ip4/0.0.0.0/tcp/4003 --relay "$js_relay_addr") || fail "the agent dave on b did not start"
  dave_circuit=$(circuit_of dave "$js_relay_id") || fail "dave holds no reservation on the js relay"
  start=$(date +%s%N)
  call_from a s5b "$dave_circuit" ping '{"s":"5b"}' || fail "a -> dave through the js relay exited $?"
  expect_pong s5b '"s":"5b"' || fail "a -> dave through the js relay: $(cat "$work/s5b.out")"
  pass "5. a Stargate agent behind r2 reserves on a js-libp2p relay and is called through it ($(ms_since "$start") ms)"

  # A js-libp2p peer reaches dave through the js relay: dave (which accepted the relayed
  # connection) tries DCUtR with it; js-libp2p cannot punch over TCP (no SO_REUSEPORT in Node.js,
  # and it counts the documentation ranges as private), so the upgrade fails, dave counts it with
  # its reason, and the relayed connection keeps carrying the echo.
  lab_exec a timeout 60 node "$js_peer" dial "$dave_circuit" --echo-bytes 20000 >"$work/s5c.out" 2>"$work/s5c.err" ||
    fail "the js peer on a could not reach dave through the js relay: $(tail -n 3 "$work/s5c.out")"
  upgrade_failed() {
    status=$("$stargate" --identity-dir "$work/id-dave" status --json 2>/dev/null) &&
      [[ "$(json_field "$status" 'sum(v["hole_punch"]["failures"].values())')" -ge 1 ]]
  }
  for _ in $(seq 1 300); do upgrade_failed && break; sleep 0.1; done  # bounded: 30 s
  upgrade_failed || fail "dave counted no failed upgrade with the js peer: $status"
  [[ "$(json_field "$status" 'v["hole_punch"]["successes"]')" == 0 ]] || fail "a punch with js-libp2p succeeded?: $status"
  reasons=$(json_field "$status" '",".join(f"{k}={n}" for k, n in v["hole_punch"]["failures"].items())')
  pass "5. a js-libp2p peer (with its DCUtR) reaches dave through the js relay; the upgrade fails and is counted ($reasons), the echo of 20000 bytes goes through"
fi

# ------------------------------------------------------------------ 8. bounded shutdown
# start_agent runs in a subshell: an agent's PID is found by its identity directory among the
# processes of its namespace.
pid_of() {  # pid_of ROLE NAME
  local p
  for p in $(ip netns pids "$(lab_ns "$1")" 2>/dev/null); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "--identity-dir $work/id-$2 " && { echo "$p"; return 0; }
  done
  return 1
}
running() { [[ -e /proc/$1 && "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
# sigterm_together LABEL PID...: SIGTERM to all at once; each must be gone within 7 s (grace 5 s + 2 s).
sigterm_together() {
  local label=$1 p t0 left took=()
  shift
  t0=$(date +%s%N)
  kill -TERM "$@"
  for _ in $(seq 1 140); do  # bounded: 140 × 50 ms = 7 s
    left=()
    for p in "$@"; do running "$p" && left+=("$p"); done
    ((${#left[@]} == 0)) && break
    sleep 0.05
  done
  ((${#left[@]} == 0)) || fail "$label: still running 7 s after SIGTERM: ${left[*]} ($(for p in "${left[@]}"; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done))"
  echo "$(ms_since "$t0")"
}

# alice (behind r1, symmetric) calls bob (behind r2, symmetric) through the relay, from her running
# agent: the connection and its circuit stay open. Then the relay and both agents get SIGTERM.
"$stargate" --identity-dir "$work/id-alice" call "$b_circuit" ping '{"s":8}' >"$work/s8.out" 2>"$work/s8.err" ||
  fail "alice -> bob before the shutdown exited $?"
expect_pong s8 '"s":8' || fail "alice -> bob: $(cat "$work/s8.out")"
alice_pid=$(pid_of a alice) || fail "alice's process not found"
bob_pid=$(pid_of b bob) || fail "bob's process not found"
took=$(sigterm_together "relay, alice and bob" "$relay_pid" "$alice_pid" "$bob_pid") || exit 1
wait "$relay_pid"; rc=$?
[[ $rc -eq 0 || $rc -eq 3 ]] || fail "the relay exited $rc after SIGTERM (0: drained, 3: forced)"
grep -q "final load" "$work/relay.log" || fail "the relay did not drain (no final load logged)"
pass "8. the relay carrying alice -> bob, and both agents, exit within $took ms of a joint SIGTERM (relay exit $rc)"

# The small relay carries flood1 (behind r1) -> carol (behind r2); then both routers and both
# agents' namespaces are removed under it (the agents live on, cut off), and all three get SIGTERM.
"$stargate" --identity-dir "$work/id-flood1" call "$carol_circuit" ping '{"s":"8b"}' >"$work/s8b.out" 2>"$work/s8b.err" ||
  fail "flood1 -> carol before the shutdown exited $?"
expect_pong s8b '"s":"8b"' || fail "flood1 -> carol: $(cat "$work/s8b.out")"
flood1_pid=$(pid_of a flood1) || fail "flood1's process not found"
carol_pid=$(pid_of b carol) || fail "carol's process not found"
cut_off=()
for role in a b; do cut_off+=($(ip netns pids "$(lab_ns "$role")" 2>/dev/null)); done
for role in r1 r2 a b; do ip netns del "$(lab_ns "$role")" || fail "cannot remove namespace $(lab_ns "$role")"; done
took=$(sigterm_together "the small relay, flood1 and carol (namespaces removed)" "$small_pid" "$flood1_pid" "$carol_pid") ||
  { kill -KILL "${cut_off[@]}" 2>/dev/null; exit 1; }
wait "$small_pid"; rc=$?
kill -KILL "${cut_off[@]}" 2>/dev/null  # the other processes of the removed namespaces
[[ $rc -eq 0 || $rc -eq 3 ]] || fail "the small relay exited $rc after SIGTERM"
pass "8. with the agents' namespaces removed under it, the small relay and both agents exit within $took ms of a joint SIGTERM (relay exit $rc)"

lab_cleanup
[[ -z "$(lab_leftovers)" ]] || fail "namespaces left after cleanup: $(lab_leftovers)"
echo "natlab relay: all $checks checks passed"
