#!/usr/bin/env bash
# Relay failover behind real NATs (issue 6): alice (behind r1) and bob (behind r2) sit behind
# symmetric NATs, so no hole punch moves their traffic off the relays. Both know two relays, the
# primary on `relay` and the backup on `pub`, and a nats-server on `pub`. While alice calls bob in
# a steady stream (100 calls, every second one carrying about 1 MB), the primary relay is killed
# (SIGKILL), then the backup, then the primary is started again. Every call must complete exactly
# once (bob's handler logs each call number; retries over another tier carry the same request ID)
# with its payload's checksum intact, and alice's counters and metrics must show the tiers change:
# relay -> relay (backup) -> nats -> relay (primary again).
# Every wait has a timeout. Not root: skips (77), but a skip fails when CI=true.
#   failover_lab_test.sh STARGATE_BINARY
set -uo pipefail
[[ $# -eq 1 ]] || { echo "usage: failover_lab_test.sh STARGATE_BINARY" >&2; exit 2; }
stargate="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-natlab-failover.XXXXXX")"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require nats-server
# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
lab_init
trap '[[ -n "${driver_pid:-}" ]] && kill "$driver_pid" 2>/dev/null; lab_cleanup; rm -rf "$work"' EXIT
export STARGATE_TREAT_AS_PUBLIC=203.0.113.0/24,198.51.100.0/24
calls=100

# counter NAME FIELD: one of alice's status counters.
counter() { json_field "$(status_of "$1")" "v['$2']"; }
done_calls() { [[ -f "$work/progress" ]] && wc -l <"$work/progress" || echo 0; }
wait_calls() {  # wait_calls N: until N calls have finished (bounded: 120 s)
  for _ in $(seq 1 1200); do (($(done_calls) >= $1)) && return 0; sleep 0.1; done
  return 1
}

lab_topology symmetric symmetric || fail "could not build the topology"
start_relays_and_broker
start_callee bob --serve "sink=python3 $here/failover_sink.py $work/sink.log" --allow-any
lab_spawn a "$work/alice.log" "$stargate" --identity-dir "$work/id-alice" connect --name alice --nats "$nats_url" \
  --relay "$primary" --relay "$backup" --relay-health-interval 1 --json --metrics-listen 127.0.0.1:0
lab_wait_line "$work/alice.log" '"event":"started"' 30 >/dev/null || fail "alice did not start: $(cat "$work/alice.log")"

python3 - "$work" "$calls" <<'PY'
import base64, hashlib, json, os, sys
work, calls = sys.argv[1], int(sys.argv[2])
with open(f"{work}/expected", "w") as expected:
    for i in range(1, calls + 1):
        data = base64.b64encode(os.urandom(750_000 if i % 2 == 0 else 30)).decode()
        with open(f"{work}/params-{i}.json", "w") as f:
            json.dump({"i": i, "data": data}, f)
        expected.write(f"{i} {hashlib.sha256(data.encode()).hexdigest()}\n")
PY

# The caller: one call after the other through alice's running agent (its control socket). A
# `hold` file pauses it between calls (while the primary comes back).
(
  for i in $(seq 1 "$calls"); do
    while [[ -f "$work/hold" ]]; do sleep 0.05; done
    "$stargate" --identity-dir "$work/id-alice" call bob sink "@$work/params-$i.json" --timeout 30 \
      >"$work/out-$i.json" 2>"$work/err-$i"
    echo "$i $?" >>"$work/progress"
  done
) &
driver_pid=$!

declare -A relayed=() nats=()
snapshot() {  # snapshot NAME: alice's relayed and NATS call counts now
  local s
  s=$(status_of alice)
  relayed[$1]=$(json_field "$s" "v['calls_ok_relayed']")
  nats[$1]=$(json_field "$s" "v['calls_ok_nats']")
}
wait_calls 20 || fail "the first 20 calls did not finish"
snapshot before_kill
kill_relay primary
pass "primary relay killed after $(done_calls) calls"
wait_calls 45 || fail "calls stopped after the primary relay died ($(done_calls) done)"
snapshot primary_dead
wait_status bob "[r['health'] for r in v['relays']]" "['unhealthy', 'healthy']" 10 ||
  fail "bob's monitor does not see the primary down and the backup up: $(json_field "$s" "v['relays']")"
kill_relay backup
pass "backup relay killed after $(done_calls) calls"
wait_calls 65 || fail "calls stopped after both relays died ($(done_calls) done)"
snapshot all_dead
touch "$work/hold"
start_relay relay primary "$LAB_RELAY_IP" || fail "the primary relay did not start again"
primary_id=${primary##*/}
# bob's monitor probes every second
wait_status bob "sum('/p2p/$primary_id/p2p-circuit/' in a for a in v['addresses'])" 1 30 ||
  fail "bob did not reserve on the restarted primary: $(json_field "$s" "v['relays']")"
[[ "$(json_field "$s" "[a for a in v['addresses'] if '/p2p-circuit/' in a][0]")" == *"/p2p/$primary_id/p2p-circuit/"* ]] ||
  fail "bob does not announce the primary's circuit first again: $(json_field "$s" "v['addresses']")"
pass "the primary relay restarted after $(done_calls) calls; bob reserved on it again and announces it first"
rm -f "$work/hold"
wait "$driver_pid"
driver_pid=
snapshot end

# Every call answered, each payload intact, each handler run exactly once.
failed=$(awk '$2 != 0' "$work/progress")
[[ -z "$failed" ]] || fail "calls failed: $failed; first error: $(cat "$work/err-$(echo "$failed" | head -n1 | cut -d' ' -f1)")"
python3 - "$work" "$calls" <<'PY' || fail "a call's answer or the handler runs are wrong"
import collections, json, sys
work, calls = sys.argv[1], int(sys.argv[2])
expected = dict(line.split() for line in open(f"{work}/expected"))
for i in range(1, calls + 1):
    out = json.load(open(f"{work}/out-{i}.json"))
    assert out == {"i": i, "sha256": expected[str(i)]}, f"call {i}: {out}"
runs = collections.Counter(int(line) for line in open(f"{work}/sink.log"))
twice = {i: n for i, n in runs.items() if n != 1}
missing = set(range(1, calls + 1)) - set(runs)
assert not twice and not missing, f"handler runs: twice {twice}, missing {missing}"
PY
pass "all $calls calls completed exactly once, every checksum matches (50 of about 1 MB)"

# The tiers: relay while a relay lived, NATS while none did, relay again after the restart.
((relayed[before_kill] > 0 && nats[before_kill] == 0)) || fail "before the kill: relayed ${relayed[before_kill]}, nats ${nats[before_kill]}"
((relayed[primary_dead] > relayed[before_kill])) || fail "no relayed call through the backup (${relayed[before_kill]} -> ${relayed[primary_dead]})"
((nats[all_dead] > nats[primary_dead])) || fail "no call over NATS with both relays down (${nats[primary_dead]} -> ${nats[all_dead]})"
((relayed[end] > relayed[all_dead])) || fail "no relayed call after the primary came back (${relayed[all_dead]} -> ${relayed[end]})"
pass "tiers: relay (${relayed[before_kill]}), backup relay (+$((relayed[primary_dead] - relayed[before_kill]))), nats (+$((nats[all_dead] - nats[primary_dead]))), relay again (+$((relayed[end] - relayed[all_dead])))"

metrics_addr=$(json_field "$(status_of alice)" "v['metrics_address']")
lab_exec a python3 - "$metrics_addr" "${primary##*/}" >"$work/metrics.check" <<'PY' || fail "alice's metrics: $(cat "$work/metrics.check")"
import sys, urllib.request
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=5).read().decode()
def value(prefix):
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(prefix))
relay_ok = value('stargate_calls_total{tier="relay",outcome="ok"}')
nats_ok = value('stargate_calls_total{tier="nats",outcome="ok"}')
down = value('stargate_relay_health_changes_total{relay="%s",to="unhealthy"}' % sys.argv[2])
up = value('stargate_relay_health{relay="%s",state="healthy"}' % sys.argv[2])
print(f"relay ok {relay_ok}, nats ok {nats_ok}, primary went down {down}, primary healthy {up}")
assert relay_ok > 0 and nats_ok > 0 and down >= 1 and up == 1
PY
pass "alice's /metrics: $(cat "$work/metrics.check")"

lab_cleanup
[[ -z "$(lab_leftovers)" ]] || fail "namespaces left after cleanup: $(lab_leftovers)"
echo "natlab failover: all $checks checks passed"
