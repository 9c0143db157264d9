#!/usr/bin/env bash
# NAT lab self-test: proves the lab's routers behave like real NATs before any relay or DCUtR
# test relies on them.
#   lab_test.sh STARGATE_BINARY
# Checks (each can fail; every wait has a timeout):
#   1. outbound works: a host behind an endpoint-independent NAT pings a public stargate node;
#      the firewalled public host can too.
#   2. inbound does not: the public host cannot reach the NATed node at its private address
#      (routed to the router) nor at the router's WAN address, nor the firewalled host's node;
#      each ping fails within its --timeout, not with "refused", and the DROP counters grew.
#   3. the observed address is the router's WAN address; EIM keeps a fixed source port,
#      symmetric (--random-fully) changes it.
#   4. TCP simultaneous open (what DCUtR needs) gets through EIM <-> EIM and never through
#      symmetric <-> symmetric.
#   5. the delay/loss stage (lab_set_delay, tests/natlab/delay.py): with 25 ms on r1 a TCP echo
#      round trip a <-> pub takes >= 50 ms (25 each way) and stays under a generous bound; the
#      NAT still maps a's port to r1's WAN address, unsolicited inbound is still dropped; 100 %
#      loss stops traffic; after lab_set_delay r1 0 the round trip is fast again, the stage
#      process exited 0 and its device and rules are gone.
#   6. every namespace of the run is gone afterwards and the host's links are unchanged.
# Not root: skips (exit 77) with a message, but when CI=true a skip is a failure (exit 1).
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: lab_test.sh STARGATE_BINARY" >&2
  exit 2
fi
stargate="$1"
here="$(cd "$(dirname "$0")" && pwd)"
probe="$here/probe.py"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require

[[ -x "$stargate" ]] || { echo "natlab: $stargate is not executable" >&2; exit 1; }

# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-natlab.XXXXXX")"
host_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)
# A stale namespace as a crashed earlier run leaves it: named after a process that is gone.
sh -c 'exit 0' &
dead_pid=$!
wait "$dead_pid"
stale_ns="${LAB_PREFIX}${dead_pid}-stale"
ip netns add "$stale_ns" || { rm -rf "$work"; echo "natlab: FAILED: ip netns add $stale_ns" >&2; exit 1; }
lab_init
trap 'lab_cleanup; ip netns del "$stale_ns" 2>/dev/null; rm -rf "$work"' EXIT

# ------------------------------------------------------------------ the harness itself
ip netns list | grep -q "^$stale_ns\b" && fail "lab_init left the stale namespace $stale_ns"
pass "lab_init removed the stale namespace $stale_ns (its creator $dead_pid is gone)"

# A run that fails after building its topology, and one killed by SIGTERM, leave nothing behind.
start=$(date +%s%N)
bash -c 'source "$1"; lab_init; lab_topology || exit 9; echo "$LAB_ID"; exit 3' _ "$here/lab.sh" \
  >"$work/failing-run.out" 2>&1
rc=$?
[[ $rc -eq 3 ]] || fail "the failing run exited $rc, not 3"
other_id=$(cat "$work/failing-run.out")
[[ "$other_id" =~ ^${LAB_PREFIX}[0-9]+$ ]] || fail "the failing run printed no run id"
ip netns list | grep -q "^$other_id-" && fail "a failing run left namespaces: $(ip netns list | grep "^$other_id-")"
pass "a run that exits with an error after building the topology removes its namespaces ($(ms_since "$start") ms)"

start=$(date +%s%N)
bash -c 'source "$1"; lab_init; lab_topology || exit 9; lab_spawn a /dev/null sleep 300; echo "$LAB_ID"; wait' \
  _ "$here/lab.sh" >"$work/killed-run.out" 2>&1 &
killed_pid=$!
other_id=$(lab_wait_line "$work/killed-run.out" "^${LAB_PREFIX}[0-9]+$" 30) || fail "the run to kill did not start"
ip netns list | grep -q "^$other_id-a\b" || fail "the run to kill has no namespace $other_id-a"
kill -TERM "$killed_pid"
timeout 15 tail --pid="$killed_pid" -s 0.05 -f /dev/null || fail "the run did not exit within 15 s of SIGTERM"
wait "$killed_pid"
ip netns list | grep -q "^$other_id-" && fail "a run killed by SIGTERM left namespaces: $(ip netns list | grep "^$other_id-")"
pass "a run killed by SIGTERM stops its processes and removes its namespaces ($(ms_since "$start") ms)"

# ------------------------------------------------------------------ topology
start=$(date +%s%N)
lab_topology eim eim || fail "could not build the topology"
pass "topology: internet bridge, relay/pub/fw public hosts, a behind r1 (eim), b behind r2 (eim) in $(ms_since "$start") ms"

# Stargate nodes: pub (public), a (behind r1), fw (firewalled public host).
node_id() {  # node_id ROLE: starts a node on port 4001 in ROLE, prints its peer id
  local role=$1 line
  lab_spawn "$role" "$work/node-$role.log" "$stargate" --identity-dir "$work/id-$role" \
    node --listen /ip4/0.0.0.0/tcp/4001 --json
  line=$(lab_wait_line "$work/node-$role.log" '"peer_id"' 30) || return 1
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])["peer_id"])' "$line"
}
pub_id=$(node_id pub) || fail "the node on pub printed no peer id within 30 s"
a_id=$(node_id a) || fail "the node on a printed no peer id within 30 s"
fw_id=$(node_id fw) || fail "the node on fw printed no peer id within 30 s"

sg_ping() {  # sg_ping ROLE OUT_PREFIX MULTIADDR [ping options...]
  local role=$1 pfx=$2 addr=$3
  shift 3
  lab_exec "$role" timeout 60 "$stargate" --identity-dir "$work/id-$role-client" \
    ping "$addr" "$@" >"$work/$pfx.out" 2>"$work/$pfx.err"
}

# ------------------------------------------------------------------ 1. outbound works
start=$(date +%s%N)
sg_ping a ping-a-pub "/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id" --count 2 --interval 0 --timeout 20 ||
  fail "ping from a (behind eim r1) to the public node exited $?"
grep -q 'rtt\|time\|seq' "$work/ping-a-pub.out" || fail "ping from a printed no round trip"
pass "a (10.0.1.10 behind eim NAT) pings the public node 203.0.113.20:4001 ($(ms_since "$start") ms)"

start=$(date +%s%N)
sg_ping fw ping-fw-pub "/ip4/$LAB_PUB_IP/tcp/4001/p2p/$pub_id" --count 2 --interval 0 --timeout 20 ||
  fail "ping from the firewalled host to the public node exited $?"
pass "fw (firewalled public host) pings the public node: outbound works ($(ms_since "$start") ms)"

# The node on a is alive and reachable inside its own LAN, so a failure below is the NAT's doing.
sg_ping a ping-a-self "/ip4/$LAB_A_IP/tcp/4001/p2p/$a_id" --count 1 --timeout 20 ||
  fail "the node on a is not reachable even from a itself"

# ------------------------------------------------------------------ 2. inbound is dropped
# An attacker next to the router that knows the private range routes it to the router's WAN.
ip -n "$(lab_ns pub)" route add 10.0.1.0/24 via "$LAB_R1_WAN" || fail "cannot add the route to 10.0.1.0/24"
dial_timeout=3
expect_dropped() {  # expect_dropped NAME MULTIADDR COUNTER_ROLE CHAIN IN_IF
  local name=$1 addr=$2 before after t0 elapsed
  before=$(lab_drop_count "$3" "$4" "$5")
  t0=$(date +%s%N)
  if sg_ping pub "$name" "$addr" --count 1 --timeout "$dial_timeout"; then
    fail "$name: the public host reached $addr"
  fi
  elapsed=$(ms_since "$t0")
  ((elapsed < (dial_timeout + 15) * 1000)) || fail "$name: ping took $elapsed ms with --timeout $dial_timeout"
  ((elapsed >= dial_timeout * 1000 - 500)) ||
    fail "$name: ping failed after $elapsed ms, before its timeout: not a silent drop ($(cat "$work/$name.err"))"
  grep -qi 'refused\|reset' "$work/$name.err" && fail "$name: answered with a refusal/reset, not dropped silently"
  after=$(lab_drop_count "$3" "$4" "$5")
  ((after > before)) || fail "$name: the $3 $4 DROP counter did not grow ($before -> $after)"
  echo "  $name: failed after $elapsed ms; $3 $4 DROP $before -> $after"
}
expect_dropped rev-private "/ip4/$LAB_A_IP/tcp/4001/p2p/$a_id" r1 FORWARD wan
pass "pub cannot dial a's private address 10.0.1.10: r1 FORWARD drops it silently"
expect_dropped rev-router "/ip4/$LAB_R1_WAN/tcp/4001/p2p/$a_id" r1 INPUT wan
pass "pub cannot dial a through r1's WAN address 198.51.100.1: r1 INPUT drops it silently"
expect_dropped rev-fw "/ip4/$LAB_FW_IP/tcp/4001/p2p/$fw_id" fw INPUT '*'
pass "pub cannot dial the firewalled host 203.0.113.30: its INPUT drops it silently"

# ------------------------------------------------------------------ 3. the observed address
lab_spawn pub "$work/observe.out" python3 "$probe" serve "$LAB_PUB_IP" 5000 2
lab_wait_line "$work/observe.out" '^listening' 10 >/dev/null || fail "the observing server did not start"
lab_exec a timeout 20 python3 "$probe" connect "$LAB_A_IP" 41000 "$LAB_PUB_IP" 5000 5 >"$work/observe-eim.err" 2>&1 ||
  fail "a could not connect from port 41000 to pub:5000"
seen=$(lab_wait_line "$work/observe.out" '^peer ' 10) || fail "the server printed no peer"
[[ "$seen" == "peer $LAB_R1_WAN:41000" ]] || fail "eim: pub saw '$seen', expected 'peer $LAB_R1_WAN:41000'"
pass "eim: pub sees a's connection from r1's WAN address with the same port ($LAB_R1_WAN:41000)"

lab_set_nat r1 symmetric || fail "cannot switch r1 to symmetric"
lab_exec a timeout 20 python3 "$probe" connect "$LAB_A_IP" 41001 "$LAB_PUB_IP" 5000 5 >"$work/observe-sym.err" 2>&1 ||
  fail "a could not connect from port 41001 to pub:5000 through the symmetric NAT"
timeout 10 tail --pid="$LAB_LAST_PID" -s 0.05 -f /dev/null || fail "the observing server did not see 2 peers"
seen=$(grep '^peer ' "$work/observe.out" | sed -n 2p)
[[ "$seen" == "peer $LAB_R1_WAN:"* ]] || fail "symmetric: pub saw '$seen', expected r1's WAN address"
[[ "$seen" != "peer $LAB_R1_WAN:41001" ]] || fail "symmetric: the source port 41001 was kept ($seen)"
pass "symmetric: pub sees r1's WAN address with another port (${seen#peer })"
lab_set_nat r1 eim || fail "cannot switch r1 back to eim"

# ------------------------------------------------------------------ 4. TCP simultaneous open
# a and b bind the same port, then (released together by a barrier) connect to the other's
# router WAN address at that port. Each try uses a fresh port so no conntrack entry carries over.
simopen_try() {  # simopen_try PORT NAME -> 0 when both sides connected and exchanged a line
  local port=$1 name=$2 pa pb ra rb
  rm -f "$work/go-a" "$work/go-b"
  mkfifo "$work/go-a" "$work/go-b"
  exec 7<>"$work/go-a" 8<>"$work/go-b"  # read-write: opening never blocks, writes never block
  lab_spawn a "$work/$name-a.out" timeout 20 python3 "$probe" simopen "$LAB_A_IP" "$port" "$LAB_R2_WAN" "$port" "$work/go-a" 4
  pa=$LAB_LAST_PID
  lab_spawn b "$work/$name-b.out" timeout 20 python3 "$probe" simopen "$LAB_B_IP" "$port" "$LAB_R1_WAN" "$port" "$work/go-b" 4
  pb=$LAB_LAST_PID
  lab_wait_line "$work/$name-a.out" '^ready' 10 >/dev/null || fail "$name: a's probe did not get ready"
  lab_wait_line "$work/$name-b.out" '^ready' 10 >/dev/null || fail "$name: b's probe did not get ready"
  printf x >&7
  printf x >&8
  wait "$pa"; ra=$?
  wait "$pb"; rb=$?
  exec 7>&- 8>&-
  echo "  $name port $port: a $(tail -n 1 "$work/$name-a.out") | b $(tail -n 1 "$work/$name-b.out")"
  [[ $ra -eq 0 && $rb -eq 0 ]]
}
tries=5
ok=0
start=$(date +%s%N)
for ((i = 0; i < tries; i++)); do
  simopen_try $((40000 + i)) "simopen-eim-$i" && ok=$((ok + 1))
done
((ok >= 1)) || fail "eim <-> eim: TCP simultaneous open succeeded in 0 of $tries tries"
pass "eim <-> eim: TCP simultaneous open through both NATs in $ok of $tries tries ($(ms_since "$start") ms)"

lab_set_nat r1 symmetric || fail "cannot switch r1 to symmetric"
lab_set_nat r2 symmetric || fail "cannot switch r2 to symmetric"
ok=0
start=$(date +%s%N)
for ((i = 0; i < tries; i++)); do
  simopen_try $((40100 + i)) "simopen-sym-$i" && ok=$((ok + 1))
done
((ok == 0)) || fail "symmetric <-> symmetric: TCP simultaneous open succeeded in $ok of $tries tries (expected 0)"
pass "symmetric <-> symmetric: TCP simultaneous open failed in all $tries tries ($(ms_since "$start") ms)"

# ------------------------------------------------------------------ 5. delay and loss stage
LAB_DELAY_LOG_DIR=$work
lab_set_nat r1 eim || fail "cannot switch r1 back to eim"
lab_spawn pub "$work/echo.out" python3 "$probe" echo "$LAB_PUB_IP" 6000 2
lab_wait_line "$work/echo.out" '^listening' 10 >/dev/null || fail "the echo server did not start"
rtt_probe() {  # rtt_probe NAME: a -> pub:6000, 10 echo round trips; prints connect/min/median/max ms
  lab_exec a timeout 20 python3 "$probe" rtt "$LAB_PUB_IP" 6000 10 5 >"$work/$1.out" 2>&1 ||
    fail "$1: the echo round trips a -> pub failed"
  sed -E 's/^rtt connect_ms=([0-9.]+) min_ms=([0-9.]+) median_ms=([0-9.]+) max_ms=([0-9.]+)$/\1 \2 \3 \4/' "$work/$1.out"
}
ms_ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
start=$(date +%s%N)
lab_set_delay r1 25 || fail "lab_set_delay r1 25 failed"
read -r c_ms min_ms med_ms max_ms < <(rtt_probe rtt-delay)
ms_ge "$c_ms" 50 || fail "with 25 ms on r1 the TCP connect a -> pub took $c_ms ms (< 50: a direction is not held)"
ms_ge "$min_ms" 50 || fail "with 25 ms on r1 an echo round trip took $min_ms ms (< 50: a direction is not held)"
ms_ge "$med_ms" 500 && fail "with 25 ms on r1 the median echo round trip took $med_ms ms (>= 500)"
pass "delay 25 ms on r1: a <-> pub connect $c_ms ms, echo round trip min $min_ms / median $med_ms / max $max_ms ms ($(ms_since "$start") ms)"

lab_spawn pub "$work/observe-delay.out" python3 "$probe" serve "$LAB_PUB_IP" 5001 1
lab_wait_line "$work/observe-delay.out" '^listening' 10 >/dev/null || fail "the observing server did not start"
lab_exec a timeout 20 python3 "$probe" connect "$LAB_A_IP" 41010 "$LAB_PUB_IP" 5001 5 >"$work/observe-delay.err" 2>&1 ||
  fail "a could not connect from port 41010 to pub:5001 through the delay stage"
seen=$(lab_wait_line "$work/observe-delay.out" '^peer ' 10) || fail "the server printed no peer"
[[ "$seen" == "peer $LAB_R1_WAN:41010" ]] || fail "eim with the delay stage: pub saw '$seen', expected 'peer $LAB_R1_WAN:41010'"
pass "eim with the delay stage: pub still sees a's connection from $LAB_R1_WAN:41010"

# Unsolicited inbound (pub still routes 10.0.1.0/24 to r1): a listens, pub's connect times out.
lab_spawn a "$work/a-listen.out" python3 "$probe" serve "$LAB_A_IP" 5002 1
lab_wait_line "$work/a-listen.out" '^listening' 10 >/dev/null || fail "a's server did not start"
for target in "$LAB_A_IP FORWARD" "$LAB_R1_WAN INPUT"; do
  read -r ip chain <<<"$target"
  before=$(lab_drop_count r1 "$chain" wan)
  if lab_exec pub timeout 10 python3 "$probe" connect "$LAB_PUB_IP" 0 "$ip" 5002 1 >"$work/rev-delay.out" 2>&1; then
    fail "with the delay stage, pub connected to $ip:5002 through r1"
  fi
  grep -q 'timeout\|timed out' "$work/rev-delay.out" || fail "pub's connect to $ip:5002 was not a silent drop: $(cat "$work/rev-delay.out")"
  after=$(lab_drop_count r1 "$chain" wan)
  ((after > before)) || fail "with the delay stage, r1 $chain DROP did not grow ($before -> $after)"
done
pass "with the delay stage, unsolicited inbound to 10.0.1.10 and to r1's WAN address is still dropped silently"

lab_set_delay r1 0 100 || fail "lab_set_delay r1 0 100 failed"
[[ "$LAB_DELAY_RC" == 0 ]] || fail "the 25 ms stage exited $LAB_DELAY_RC, not 0"
if lab_exec a timeout 10 python3 "$probe" connect "$LAB_A_IP" 0 "$LAB_PUB_IP" 6000 1 >"$work/loss.out" 2>&1; then
  fail "with 100 % loss on r1, a still connected to pub"
fi
grep -q 'timeout\|timed out' "$work/loss.out" || fail "with 100 % loss: $(cat "$work/loss.out")"
lab_set_delay r1 0 || fail "lab_set_delay r1 0 failed"
[[ "$LAB_DELAY_RC" == 0 ]] || fail "the loss stage exited $LAB_DELAY_RC, not 0"
grep -Eq '^stopped: in=[1-9][0-9]* out=0 lost=[1-9]' "$work/${LAB_ID}-r1-delay.log" ||
  fail "the loss stage did not count its losses: $(tail -n 1 "$work/${LAB_ID}-r1-delay.log")"
pass "100 % loss on r1: a's connect to pub times out ($(tail -n 1 "$work/${LAB_ID}-r1-delay.log"))"

read -r c_ms min_ms med_ms max_ms < <(rtt_probe rtt-nodelay)
ms_ge "$min_ms" 25 && fail "after lab_set_delay r1 0 the fastest echo round trip still took $min_ms ms"
ip -n "$(lab_ns r1)" link show tun0 >/dev/null 2>&1 && fail "tun0 still exists on r1 after lab_set_delay r1 0"
ip -n "$(lab_ns r1)" rule | grep -q 'lookup 100' && fail "r1 still has its policy rules after lab_set_delay r1 0"
pass "lab_set_delay r1 0: the stage exited 0, tun0 and its rules are gone, echo round trip min $min_ms / median $med_ms ms"

# ------------------------------------------------------------------ 6. cleanup
lab_cleanup
left=$(lab_leftovers)
[[ -z "$left" ]] || fail "namespaces left after cleanup: $left"
host_links_after=$(ip -o link show | awk -F': ' '{print $2}' | sort)
[[ "$host_links_before" == "$host_links_after" ]] ||
  fail "the host's links changed: $(diff <(echo "$host_links_before") <(echo "$host_links_after") | tr '\n' ' ')"
pass "cleanup: every namespace of $LAB_ID removed, the host's links unchanged"
echo "natlab: all $checks checks passed"
