#!/usr/bin/env bash
# The NAT lab benchmark (issue 5, "Benchmark (not a test)"; not part of ctest). Builds `stargate`
# in Release (build-bench/, or $BENCH_DIR), builds the NAT lab (tests/natlab/lab.sh) and measures:
#   1. time to a successful call: public <-> public, NAT -> public, NAT <-> NAT through the relay
#      (eim), symmetric <-> symmetric through the relay; one-shot `stargate call` (process start,
#      identity load, connection, call) and through a running agent whose connection is reused;
#   2. round trip per call, relayed (symmetric NATs) vs direct (eim NATs, hole-punched), through
#      a running agent's control socket in a loop, plus libp2p ping round trips;
#   3. throughput, relayed vs direct: echo of a large payload (the relay runs with --private,
#      which lifts the 128 KiB per-circuit limit);
#   4. the hole-punch success rate per NAT pairing, each attempt with two fresh agents.
# Results go to docs/benchmarks.md between the lab-bench markers (only that block is replaced).
# By default the lab has no delay (no netem in this kernel). --delay-ms D puts the userspace
# delay stage (lab_set_delay, tests/natlab/delay.py) with D ms on both routers, so a <-> public
# sees D each way and a <-> b (direct or through the relay) 2*D each way; those results go
# between the lab-bench-delay markers instead.
#
#   sudo scripts/lab_bench.sh [--runs N] [--calls N] [--punches N] [--parallel K] [--delay-ms D]
#                             [--perf-runs N] [--no-build]
#   BENCH_JOBS=N  build jobs (default 2)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

runs=10 calls=200 punches=50 parallel=10 build=1 tput_calls=10 tput_bytes=1000000 delay_ms=0 perf_runs=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --calls) calls=$2; shift ;;
    --punches) punches=$2; shift ;;
    --parallel) parallel=$2; shift ;;
    --delay-ms) delay_ms=$2; shift ;;
    --perf-runs) perf_runs=$2; shift ;;
    --no-build) build=0 ;;
    *) echo "usage: scripts/lab_bench.sh [--runs N] [--calls N] [--punches N] [--parallel K] [--delay-ms D] [--perf-runs N] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done

bench_dir=${BENCH_DIR:-build-bench}
if [[ "$build" == 1 ]]; then
  cmake -S . -B "$bench_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARGATE_BENCH=ON -DSTARGATE_TESTS=OFF >/dev/null || exit 1
  cmake --build "$bench_dir" --target stargate stargate_lab_perf -j "${BENCH_JOBS:-2}" || exit 1
fi
stargate="$root/$bench_dir/src/stargate"
[[ -x "$stargate" ]] || { echo "lab_bench: no $stargate" >&2; exit 1; }
helper="$root/scripts/lab_bench_helper.py"
lab_perf="$root/$bench_dir/bench/stargate_lab_perf"
[[ -x "$lab_perf" ]] || { echo "lab_bench: no $lab_perf" >&2; exit 1; }
[[ "$delay_ms" =~ ^[0-9]+$ ]] || { echo "lab_bench: --delay-ms takes whole milliseconds" >&2; exit 2; }
perf_bytes=$((64 * 1024 * 1024))
# The hole-punch outcome deadline: 3 DCUtR tries of 5 s, plus the round trips the delay adds.
punch_deadline=$((25 + delay_ms / 2))

work="$(mktemp -d /tmp/sglb.XXXXXX)"  # short: control socket paths must stay under 108 bytes
results="$work/results.jsonl"
here="$root/tests/natlab"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require
# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
lab_init
trap 'lab_cleanup; rm -rf "$work"' EXIT
t_begin=$SECONDS
step() { echo "lab_bench: [$((SECONDS - t_begin)) s] $*" >&2; }
json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }

# Agents: each gets a fresh identity directory and a fresh listen port (so no conntrack entry or
# TIME_WAIT socket of an earlier agent is reused). AGENT_PID/AGENT_ID/AGENT_DIR by name.
declare -A AGENT_PID AGENT_ID AGENT_DIR
next_port=20000
spawn_agent() {  # spawn_agent ROLE NAME ARGS...: starts it, does not wait
  local role=$1 name=$2
  shift 2
  AGENT_DIR[$name]="$work/$name"
  lab_spawn "$role" "$work/$name.log" "$stargate" --identity-dir "$work/$name" \
    connect --name "$name" --no-nats --json "$@"
  AGENT_PID[$name]=$LAB_LAST_PID
}
await_agent() {  # await_agent NAME: waits for its "started" line, sets AGENT_ID
  local line
  line=$(lab_wait_line "$work/$1.log" '"event":"started"' 30) || fail "agent $1 did not start"
  AGENT_ID[$1]=$(json_field "$line" 'v["peer_id"]')
}
start_agent() {  # start_agent ROLE NAME [--relay ADDR]: listens on a fresh port
  next_port=$((next_port + 1))
  spawn_agent "$1" "$2" --listen "/ip4/0.0.0.0/tcp/$next_port" "${@:3}"
  await_agent "$2"
}
stop_agents() {  # stop_agents NAME...: SIGTERM, bounded wait, then SIGKILL
  local n p
  for n in "$@"; do kill -TERM "${AGENT_PID[$n]}" 2>/dev/null || true; done
  for n in "$@"; do
    p=${AGENT_PID[$n]}
    timeout 5 tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
sock() { echo "${AGENT_DIR[$1]}/stargate.sock"; }
wait_status() {  # wait_status NAME EXPR TIMEOUT: prints the value
  python3 "$helper" wait "$(sock "$1")" "$2" "$3"
}
circuit_of() {  # circuit_of NAME RELAY_ID
  wait_status "$1" "[a for a in v['addresses'] if '/p2p/$2/p2p-circuit/' in a][0]" 20
}
# one-shot calls from ROLE with their own identity (not an agent's: that would use its socket)
oneshot() {  # oneshot KEY ROLE TARGET
  lab_exec "$2" python3 "$helper" oneshot "$results" "oneshot:$1" "$runs" '"pong":true' -- \
    "$stargate" --identity-dir "$work/oneshot-$2" call "$3" ping '{}' --timeout 20 ||
    fail "one-shot calls $1 from $2 to $3"
}
# calls through a running agent: the first on a new connection (timed on the socket, no process
# start), then $runs CLI calls that reuse it
agent_calls() {  # agent_calls KEY NAME TARGET [WAIT_EXPR]: WAIT_EXPR is awaited after the first call
  python3 "$helper" ctl "$results" "first:$1" "$(sock "$2")" 1 "$3" '{}' || fail "first call $1"
  if [[ -n "${4:-}" ]]; then wait_status "$2" "$4" 30 >/dev/null || fail "after the first call $1: $4"; fi
  python3 "$helper" oneshot "$results" "agentcli:$1" "$runs" '"pong":true' -- \
    "$stargate" --identity-dir "${AGENT_DIR[$2]}" call "$3" ping '{}' --timeout 20 || fail "agent calls $1"
}
punch_done() {  # a python expression on b's status: its DCUtR upgrade ended (3 failed tries)
  echo "sum(v['hole_punch']['failures'].values()) >= 3 or v['hole_punch']['successes'] >= 1"
}

echo "{\"key\": \"meta\", \"delay_ms\": $delay_ms, \"start\": \"$(date -u '+%Y-%m-%d %H:%M UTC')\", \"load_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$results"

step "building the lab (r1 eim, r2 eim)"
lab_topology eim eim || fail "could not build the topology"
if ((delay_ms > 0)); then
  step "delay stage: $delay_ms ms each way on r1 and on r2"
  LAB_DELAY_LOG_DIR=$work
  lab_set_delay r1 "$delay_ms" || fail "lab_set_delay r1 $delay_ms"
  lab_set_delay r2 "$delay_ms" || fail "lab_set_delay r2 $delay_ms"
fi

# Relay 1: go-libp2p's default limits, except reservations per IP (every agent of a batch of the
# hole-punch runs comes from one router address; the default is 8).
lab_spawn relay "$work/relay.log" "$stargate" --identity-dir "$work/relay" relay start --port 4001 \
  --max-reservations-per-ip 64 --metrics-listen off --json
line=$(lab_wait_line "$work/relay.log" '"event":"listening"' 30) || fail "the relay did not start"
relay_id=$(json_field "$line" 'v["peer_id"]')
relay="/ip4/$LAB_RELAY_IP/tcp/4001/p2p/$relay_id"
# Relay 2: --private (no per-circuit byte or time limit), for the round-trip and throughput runs.
lab_spawn relay "$work/prelay.log" "$stargate" --identity-dir "$work/prelay" relay start --port 4002 \
  --private --metrics-listen off --json
line=$(lab_wait_line "$work/prelay.log" '"event":"listening"' 30) || fail "the private relay did not start"
prelay_id=$(json_field "$line" 'v["peer_id"]')
prelay="/ip4/$LAB_RELAY_IP/tcp/4002/p2p/$prelay_id"

# ------------------------------------------------------------------ 1. time to a successful call
step "1. time to a successful call (eim)"
start_agent pub pub
pub_addr="/ip4/$LAB_PUB_IP/tcp/$next_port/p2p/${AGENT_ID[pub]}"
start_agent fw fwa
start_agent a alice --relay "$relay"
start_agent b bob --relay "$relay"
bob_circuit=$(circuit_of bob "$relay_id") || fail "bob holds no reservation"

oneshot pp fw "$pub_addr"
agent_calls pp fwa "$pub_addr"
oneshot np a "$pub_addr"
agent_calls np alice "$pub_addr"
oneshot nn a "$bob_circuit"
# alice's first call goes through the relay; bob punches; the timed calls reuse the direct one
agent_calls nn alice "$bob_circuit" \
  "[c for c in v['connections'] if c['peer_id'] == '${AGENT_ID[bob]}' and not c['relayed']]"
python3 "$helper" oneshot "$results" "agentcli:floor" "$runs" '"peer_id"' -- "$stargate" --identity-dir "${AGENT_DIR[alice]}" status --json ||
  fail "status through alice"
stop_agents fwa alice bob  # pub serves the direct ping below

# ------------------------------------------------------------------ 2+3. direct (eim, punched)
step "2/3. round trip and throughput, direct (eim <-> eim, hole-punched)"
python3 -c 'import json,sys; json.dump({"blob": "x" * (int(sys.argv[2]) - 12)}, open(sys.argv[1], "w"))' \
  "$work/big.json" "$tput_bytes"
start_agent a ad --relay "$prelay"
start_agent b bd --relay "$prelay"
bd_circuit=$(circuit_of bd "$prelay_id") || fail "bd holds no reservation on the private relay"
python3 "$helper" ctl "$work/warm.jsonl" warm "$(sock ad)" 1 "$bd_circuit" '{}' || fail "ad -> bd"
wait_status bd "v['hole_punch']['successes'] >= 1" 30 >/dev/null || fail "ad and bd did not punch"
wait_status ad "[c for c in v['connections'] if c['peer_id'] == '${AGENT_ID[bd]}' and not c['relayed']]" 10 >/dev/null ||
  fail "ad has no direct connection to bd"
python3 "$helper" ctl "$results" rtt:direct "$(sock ad)" "$calls" "${AGENT_ID[bd]}" '{}' || fail "rtt direct"
python3 "$helper" ctlstatus "$results" rtt:floor "$(sock ad)" "$calls" || fail "status floor"
python3 "$helper" ctl "$results" tput:direct "$(sock ad)" "$tput_calls" "${AGENT_ID[bd]}" "@$work/big.json" || fail "tput direct"
wait_status ad "all(not c['relayed'] for c in v['connections'] if c['peer_id'] == '${AGENT_ID[bd]}')" 5 >/dev/null ||
  fail "ad's connection to bd is no longer direct only"
# libp2p ping round trips from a: direct to pub, and through the relay to bd
lab_exec a python3 "$helper" pings "$results" ping:direct -- "$stargate" --identity-dir "$work/oneshot-a" \
  ping "$pub_addr" --count 100 --interval 0 --timeout 20 --json 2>/dev/null || true
lab_exec a python3 "$helper" perf "$results" perf:direct -- "$lab_perf" "$pub_addr" "$perf_bytes" "$perf_runs" 120 ||
  fail "perf a -> pub"
stop_agents ad bd pub

# ------------------------------------------------------------------ 4. hole punching
# punch_runs PAIRING: $punches attempts, $parallel at a time; each with two fresh agents on fresh
# ports, both reserving on relay 1; a's agent calls b's circuit address; the outcome is read from
# both agents' status (direct connection / b's DCUtR counters) with a deadline.
punch_runs() {
  local pairing=$1 done_n=0 k i names pairs
  step "4. hole punching $pairing: $punches attempts, $parallel at a time"
  while ((done_n < punches)); do
    k=$((punches - done_n < parallel ? punches - done_n : parallel))
    names=() pairs=()
    for ((i = 0; i < k; i++)); do
      next_port=$((next_port + 1))
      spawn_agent b "pb$done_n-$i" --listen "/ip4/0.0.0.0/tcp/$next_port" --relay "$relay"
      next_port=$((next_port + 1))
      spawn_agent a "pa$done_n-$i" --listen "/ip4/0.0.0.0/tcp/$next_port" --relay "$relay"
      names+=("pb$done_n-$i" "pa$done_n-$i")
    done
    for n in "${names[@]}"; do await_agent "$n"; done
    for ((i = 0; i < k; i++)); do
      pairs+=("${AGENT_DIR[pa$done_n-$i]},${AGENT_DIR[pb$done_n-$i]},${AGENT_ID[pb$done_n-$i]},$relay_id")
    done
    echo "  $(python3 "$helper" punch "$results" "punch:$pairing" "$punch_deadline" "${pairs[@]}")" >&2
    stop_agents "${names[@]}"
    rm -rf "$work"/p[ab]"$done_n"-*
    done_n=$((done_n + k))
  done
}
punch_runs eim-eim
lab_set_nat r2 symmetric || fail "cannot switch r2"
punch_runs eim-symmetric
lab_set_nat r1 symmetric || fail "cannot switch r1"
punch_runs symmetric-symmetric

# ------------------------------------------------------------------ 1 (ss) and 2+3 relayed
step "1. time to a successful call (symmetric <-> symmetric) and 2/3 relayed"
start_agent a alice2 --relay "$relay"
start_agent b bob2 --relay "$relay"
bob2_circuit=$(circuit_of bob2 "$relay_id") || fail "bob2 holds no reservation"
oneshot ss a "$bob2_circuit"
agent_calls ss alice2 "$bob2_circuit"
stop_agents alice2 bob2

start_agent a as --relay "$prelay"
start_agent b bs --relay "$prelay"
bs_circuit=$(circuit_of bs "$prelay_id") || fail "bs holds no reservation on the private relay"
python3 "$helper" ctl "$work/warm.jsonl" warm "$(sock as)" 1 "$bs_circuit" '{}' || fail "as -> bs"
# let bob's DCUtR tries end (they fail through symmetric NATs) before timing
wait_status bs "$(punch_done)" 30 >/dev/null || fail "bs's DCUtR tries did not end"
python3 "$helper" ctl "$results" rtt:relayed "$(sock as)" "$calls" "${AGENT_ID[bs]}" '{}' || fail "rtt relayed"
python3 "$helper" ctl "$results" tput:relayed "$(sock as)" "$tput_calls" "${AGENT_ID[bs]}" "@$work/big.json" || fail "tput relayed"
wait_status as "[c for c in v['connections'] if c['peer_id'] == '${AGENT_ID[bs]}'] and all(c['relayed'] for c in v['connections'] if c['peer_id'] == '${AGENT_ID[bs]}')" 5 >/dev/null ||
  fail "as's connection to bs is not relayed"
lab_exec a python3 "$helper" pings "$results" ping:relayed -- "$stargate" --identity-dir "$work/oneshot-a" \
  ping "$bs_circuit" --count 100 --interval 0 --timeout 20 --json 2>/dev/null || true
lab_exec a python3 "$helper" perf "$results" perf:relayed -- "$lab_perf" "$bs_circuit" "$perf_bytes" "$perf_runs" 120 ||
  fail "perf a -> bs through the relay"
stop_agents as bs

echo "{\"key\": \"meta\", \"end\": \"$(date -u '+%Y-%m-%d %H:%M UTC')\", \"load_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"seconds\": $((SECONDS - t_begin))}" >>"$results"
step "writing docs/benchmarks.md"
if ((delay_ms > 0)); then
  # the stages' counters (in, out, lost, overflow) go into the results file
  for r in r1 r2; do
    lab_set_delay "$r" 0
    echo "{\"key\": \"meta\", \"stage_$r\": \"$(tail -n 1 "$work/${LAB_ID}-$r-delay.log")\", \"stage_${r}_rc\": $LAB_DELAY_RC}" >>"$results"
  done
fi
if ((delay_ms > 0)); then
  cp "$results" "$root/$bench_dir/lab_bench_delay_results.jsonl"
  marker=lab-bench-delay
  begin="<!-- lab-bench-delay:begin (generated by scripts/lab_bench.sh --delay-ms; a re-run replaces this block) -->"
  end="<!-- lab-bench-delay:end -->"
else
  cp "$results" "$root/$bench_dir/lab_bench_results.jsonl"
  marker=lab-bench
  begin="<!-- lab-bench:begin (generated by scripts/lab_bench.sh; a re-run replaces this block) -->"
  end="<!-- lab-bench:end -->"
fi
meta=$(python3 -c 'import json,sys
m = {}
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["key"] == "meta": m.update(o)
print("{start}, {seconds} s; load average (1/5/15 min) {load_start} at the start, {load_end} at the end".format(**m))' "$results")
{
  echo "$begin"
  if ((delay_ms > 0)); then
    echo "## NAT lab with $delay_ms ms delay per router: calls, relay and hole punching"
  else
    echo "## NAT lab: calls, relay and hole punching"
  fi
  echo
  echo "Generated by \`scripts/lab_bench.sh$( ((delay_ms > 0)) && echo " --delay-ms $delay_ms --punches $punches")\` (Release \`stargate\`, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include proto 2>/dev/null || echo ' plus uncommitted changes'))"
  echo "on $(nproc) CPUs, run of $meta. The machine is shared: other builds may run at the same time."
  echo
  if ((delay_ms > 0)); then
    echo "**$delay_ms ms each way on each router**: the userspace delay stage (\`lab_set_delay\`,"
    echo "tests/natlab/delay.py, docs/natlab.md \"Delay and loss\") holds every packet forwarded by r1"
    echo "and by r2 for $delay_ms ms in each direction, no loss. So a ↔ pub/relay has a $((2 * delay_ms)) ms round trip"
    echo "(r1 only) and a ↔ b $((4 * delay_ms)) ms (r1 and r2), the same whether direct or through the relay: the"
    echo "relay and the public hosts sit on the zero-delay internet segment, so the relay's detour"
    echo "adds processing but no path delay here. Packets to and from the routers themselves are not"
    echo "delayed. The stage is a Python process per router: it caps throughput (section 3)."
  else
    echo "**A zero-delay lab**: the NAT lab (tests/natlab/lab.sh, docs/natlab.md) joins network"
    echo "namespaces by veth pairs and a bridge with no added delay (this kernel has no \`netem\`), so a"
    echo "network round trip costs tens of microseconds and the relay's overhead below is pure"
    echo "processing (two more Noise/Yamux hops in user space). On a real network each relayed round"
    echo "trip adds the path through the relay, and connection setup adds several round trips."
    echo "\`--delay-ms\` runs the same benchmark with the userspace delay stage on both routers (below)."
  fi
  echo
  echo "Method:"
  echo "- One-shot: \`stargate --identity-dir D call <multiaddr> ping '{}'\` from inside the caller's"
  echo "  namespace, timed from process start to exit (one untimed warm-up first): process start,"
  echo "  identity load, TCP + Noise + Yamux (+ the relay's HOP/STOP through \`/p2p-circuit\`), the call."
  echo "- Through a running agent (\`stargate connect\`): its first call, timed on the control socket,"
  echo "  opens the connection; then the same \`stargate call\` CLI with the agent's identity directory"
  echo "  goes through the agent's control socket and reuses that connection (process start + control"
  echo "  socket + call). For eim ↔ eim the agent's first call is relayed and b hole-punches; the"
  echo "  timed calls start once the direct connection is up. The floor row is \`stargate status\` the same way."
  echo "- Round trip / throughput: a Python client keeps one control-socket connection to a's agent"
  echo "  and sends \`call\` requests one at a time; a figure includes the control socket and JSON on"
  echo "  a's side, then an A2A call (new Yamux stream, JSON-RPC request, response) over the pooled"
  echo "  connection. Relayed: both routers symmetric (b's three DCUtR tries fail first, so it stays"
  echo "  relayed), through a relay started with \`--private\` (no 128 KiB / 2 min circuit limit); direct:"
  echo "  both routers eim, after the punch. Throughput: params \`{\"blob\": \"xxx…\"}\` of $tput_bytes bytes, echoed"
  echo "  back by \`ping\`, so each call moves the payload both ways through JSON, the control socket and the"
  echo "  connection. \`/ipfs/ping\`: \`stargate ping --count 100"
  echo "  --interval 0\` (one-shot process, one stream) from a to pub directly and to b through the relay."
  echo "- \`/perf/1.0.0\`: \`bench/lab_perf.cpp\` (a one-shot libp2p host, so it cannot hole-punch) on a"
  echo "  downloads $perf_runs × $perf_bytes bytes on one connection from the agent on pub (direct, through"
  echo "  r1) and from the agent on b through the \`--private\` relay (symmetric NATs)."
  echo "- Hole punching: per attempt two fresh agents (new identities, new listen ports, so no"
  echo "  conntrack mapping or TIME_WAIT socket carries over; the routers have no \`conntrack\` tool),"
  echo "  both reserving on a relay with default limits except \`--max-reservations-per-ip 64\`; a's agent"
  echo "  calls b through b's circuit address, b drives DCUtR (up to 3 tries, 5 s punch timeout each)."
  echo "  Outcome read from both agents' \`status\` (a's connection to b direct or not, b's \`hole_punch\`"
  echo "  counters) with a $punch_deadline s deadline. $parallel attempts run at a time (different ports) to keep the run short."
  echo
  python3 "$helper" report "$results"
  echo "$end"
} >"$work/section.md"
out="$root/docs/benchmarks.md"
if grep -qF "<!-- $marker:begin" "$out"; then
  awk -v file="$work/section.md" -v b="<!-- $marker:begin" -v e="$end" '
    index($0, b) == 1 { while ((getline line < file) > 0) print line; skip = 1; next }
    skip && $0 == e { skip = 0; next }
    !skip { print }' "$out" >"$work/out.md"
else
  { cat "$out"; echo; cat "$work/section.md"; } >"$work/out.md"
fi
cp "$work/out.md" "$out"
step "done: wrote the $marker section of docs/benchmarks.md"
lab_cleanup
[[ -z "$(lab_leftovers)" ]] || { echo "lab_bench: namespaces left: $(lab_leftovers)" >&2; exit 1; }
