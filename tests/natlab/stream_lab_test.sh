#!/usr/bin/env bash
# Streamed results surviving their path, behind real NATs (docs/protocol.md, "Streamed results";
# docs/natlab.md): the failover setup (testlib.sh): bob, on b behind a symmetric NAT, reserves on a
# primary relay (on `relay`) and a backup (on `pub`) and announces on a nats-server on `pub`; he
# serves `count` with `connect --serve-stream`, a program printing 10,000 numbered JSON lines over
# at least 4 s. alice, on a behind a symmetric NAT (no hole punch: everything is relayed), calls
# him by name with `call --stream` (a client node of her own, with the broker).
#   1. Once she has printed 4,000 partials the primary relay is killed (SIGKILL): she resumes
#      through the backup (the backup relays the rest; bob's NATS traffic stays flat).
#   2. The primary is started again; a second stream, and after 4,000 partials both relays are
#      killed: she resumes over NATS (bob's NATS traffic carries the rest).
# Each time alice must print every partial exactly once and in order, then null, and exit 0, and
# bob's program must have run once. Every wait has a timeout. Not root: skips (77), but a skip
# fails when CI=true.
#   stream_lab_test.sh STARGATE_BINARY
set -uo pipefail
[[ $# -eq 1 ]] || { echo "usage: stream_lab_test.sh STARGATE_BINARY" >&2; exit 2; }
stargate="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-natlab-stream.XXXXXX")"
# shellcheck source=tests/natlab/testlib.sh
source "$here/testlib.sh"
natlab_require nats-server
# shellcheck source=tests/natlab/lab.sh
source "$here/lab.sh"
lab_init
trap 'lab_cleanup; rm -rf "$work"' EXIT
export STARGATE_TREAT_AS_PUBLIC=203.0.113.0/24,198.51.100.0/24
partials=10000
check_at=500   # partials alice has printed when the path is looked at,
kill_at=3000   # and when it is broken (the stream lasts at least 4 s: 100 batches of 100, 40 ms apart)

# bob's streaming program: params {"tag", "count", "batch", "pause"} on stdin; prints {"n": 0} ..
# {"n": count-1}, one per line, flushing and pausing after each batch (so the stream lasts
# count / batch * pause seconds at least); logs each run to runs.log and, after each batch, how
# many partials it has handed to bob so far to produced-TAG.
cat >"$work/count.py" <<'PY'
import json, sys, time
p = json.load(sys.stdin)
with open(sys.argv[1] + "/runs.log", "a") as runs:
    runs.write(p["tag"] + "\n")
with open(sys.argv[1] + "/produced-" + p["tag"], "a", buffering=1) as produced:
    for i in range(p["count"]):
        sys.stdout.write('{"n":%d}\n' % i)
        if i % p["batch"] == p["batch"] - 1:
            sys.stdout.flush()
            produced.write("%d\n" % (i + 1))
            time.sleep(p["pause"])
PY

nats_out() { json_field "$(status_of bob)" "v['traffic']['nats']['bytes_out']"; }
lines_of() { [[ -f "$1" ]] && wc -l <"$1" || echo 0; }
wait_lines() {  # wait_lines CASE PID N: until alice's call PID has printed N lines (bounded: 30 s)
  local deadline=$((SECONDS + 30))
  while (($(lines_of "$work/$1.out") < $3)); do
    kill -0 "$2" 2>/dev/null || fail "$1: alice's call ended after $(lines_of "$work/$1.out") partials, before the path broke"
    ((SECONDS < deadline)) || fail "$1: alice printed only $(lines_of "$work/$1.out") partials in 30 s"
    sleep 0.02
  done
}

# stream CASE CHECK_FUNCTION KILL_FUNCTION: alice calls bob's `count` with --stream; once she has
# printed $check_at partials CHECK_FUNCTION looks at the path, once she has printed $kill_at
# KILL_FUNCTION breaks it; then waits for her to finish and checks what she printed. Sets
# nats_before, nats_at_check, nats_after (bob's NATS bytes out), lines_at_kill and left (the
# partials bob's program had not yet handed over when the path broke: they can only have gone by
# the new path, whatever alice had received but not printed yet); CHECK_FUNCTION finds bob's
# status then in $s.
stream() {
  local name=$1 check_fn=$2 kill_fn=$3 out="$work/$1.out" pid rc
  nats_before=$(nats_out) || fail "no status from bob"
  # stdout to $out alone (the partials), stderr to $name.err.
  # shellcheck disable=SC2016  # expanded by that bash
  lab_spawn a "$work/$name.err" bash -c 'exec "${@:2}" >"$1"' _ "$out" \
    "$stargate" --identity-dir "$work/id-alice" call --stream --nats "$nats_url" --timeout 60 bob count \
    "{\"tag\":\"$name\",\"count\":$partials,\"batch\":100,\"pause\":0.04}"
  pid=$LAB_LAST_PID
  wait_lines "$name" "$pid" "$check_at"
  s=$(status_of bob) || fail "$name: no status from bob"
  nats_at_check=$(json_field "$s" "v['traffic']['nats']['bytes_out']")
  "$check_fn"
  wait_lines "$name" "$pid" "$kill_at"
  "$kill_fn"
  lines_at_kill=$(lines_of "$out")
  left=$((partials - $(tail -n 1 "$work/produced-$name")))
  kill -0 "$pid" 2>/dev/null || fail "$name: alice's call had ended when the path broke"
  ((left >= 2000)) || fail "$name: the stream was nearly over when the path broke (bob's program had $left partials to go)"
  timeout 90 tail --pid="$pid" -s 0.1 -f /dev/null || fail "$name: alice's call still runs 90 s after the path broke"
  wait "$pid"
  rc=$?
  nats_after=$(nats_out)
  ((rc == 0)) || fail "$name: alice's call exited $rc: $(tail -n 3 "$work/$name.err")"
  python3 - "$out" "$partials" <<'PY' >"$work/$name.check" || fail "$name: $(cat "$work/$name.check")"
import collections, json, sys
want = [{"n": i} for i in range(int(sys.argv[2]))] + [None]
got = []
for line in open(sys.argv[1]).read().splitlines():
    try:
        got.append(json.loads(line))
    except ValueError:
        got.append(f"not JSON: {line[:80]}")
if got != want:
    seen = collections.Counter(json.dumps(v) for v in got)
    twice = sorted(k for k, c in seen.items() if c > 1)
    missing = [w for w in want if json.dumps(w) not in seen]
    first = next(i for i in range(len(want) + 1) if i >= len(got) or i >= len(want) or got[i] != want[i])
    print(f"{len(got)} lines; line {first} is {got[first] if first < len(got) else 'missing'}, not "
          f"{want[first] if first < len(want) else 'there'}; repeated {len(twice)} {twice[:3]}, missing {len(missing)} {missing[:3]}")
    sys.exit(1)
PY
  [[ "$(grep -c -x "$name" "$work/runs.log")" == 1 ]] || fail "$name: bob's program ran $(grep -c -x "$name" "$work/runs.log") times"
}

lab_topology symmetric symmetric || fail "could not build the topology"
start_relays_and_broker
start_callee bob --serve-stream "count=python3 $work/count.py $work" --allow-any
primary_id=${primary##*/}
# alice finds bob by name in his announcement on the broker: wait until it carries both circuits.
for _ in $(seq 1 20); do  # bounded: 20 discoveries of 0.5 s
  peers=$(lab_exec a "$stargate" --identity-dir "$work/id-alice" discover --json --nats "$nats_url" 2>/dev/null) &&
    [[ "$(json_field "$peers" "sum('/p2p-circuit/' in a for p in v if p['name'] == 'bob' for a in p['addresses'])")" == 2 ]] && break
  peers=""
done
[[ -n "$peers" ]] || fail "bob's announcement does not carry both circuits"
pass "alice (behind a symmetric NAT) finds bob on the broker with both circuits"

# on_relay CASE PATTERN: the stream started on a relayed connection (whose address contains
# PATTERN), not over NATS: the first 500 partials there would be well over 16 KB.
on_relay() {
  [[ "$(json_field "$s" "any(c['relayed'] and '$2' in c['remote_addr'] for c in v['connections'])")" == True ]] ||
    fail "$1: bob has no relayed connection${2:+ through $2}: $(json_field "$s" "v['connections']")"
  ((nats_at_check - nats_before < 16384)) || fail "$1: bob sent $((nats_at_check - nats_before)) B over NATS for the first partials"
}
on_primary() { on_relay relay "/p2p/$primary_id/"; }  # bob's announcement lists the primary's circuit first
kill_primary() { kill_relay primary; }
t0=$(date +%s%N)
backup_before=$(relay_metric pub stargate_relay_relayed_bytes_total) || fail "no /metrics from the backup relay"
stream relay on_primary kill_primary
# The rest of the stream went through the backup: each {"seq":N,"partial":{"n":M}} frame is over
# 28 B (bounded wait, in case the relay counts late).
want=$((left * 20))
for _ in $(seq 1 50); do
  backup_bytes=$(($(relay_metric pub stargate_relay_relayed_bytes_total) - backup_before))
  ((backup_bytes > want)) && break
  sleep 0.1
done
((backup_bytes > want)) ||
  fail "relay: the backup relay carried $backup_bytes B for the last $left partials or more"
# Over NATS the 2000 partials or more left after the kill would be well over 64 KB (about 120 B each).
((nats_after - nats_before < 65536)) ||
  fail "relay: bob sent $((nats_after - nats_before)) bytes over NATS during the stream: not through the backup relay"
pass "relay: primary relay killed after $lines_at_kill partials printed, $left not produced yet; alice resumed through the backup ($backup_bytes B relayed) and printed all $partials once, in order, then null ($(ms_since "$t0") ms; bob's NATS out +$((nats_after - nats_before)) B)"

# bob's monitor (a probe a second) sees the primary down, then back up and reserves on it again.
wait_status bob "[r['health'] for r in v['relays']]" "['unhealthy', 'healthy']" 10 ||
  fail "bob's monitor does not see the primary down: $(json_field "$s" "v['relays']")"
start_relay relay primary "$LAB_RELAY_IP" || fail "the primary relay did not start again"
wait_status bob "([r['health'] for r in v['relays']], sum('/p2p-circuit/' in a for a in v['addresses']))" \
  "(['healthy', 'healthy'], 2)" 30 || fail "bob did not reserve on the restarted primary: $(json_field "$s" "v['relays']")"
pass "the primary relay restarted; bob holds reservations on both relays again"

on_a_relay() { on_relay nats ''; }
kill_both() {
  # shellcheck disable=SC2154  # set by start_relay
  kill -KILL "$relay_pid_primary" "$relay_pid_backup"
  wait "$relay_pid_primary" "$relay_pid_backup" 2>/dev/null
}
t0=$(date +%s%N)
stream nats on_a_relay kill_both
# What was left of the stream went over NATS ({"seq":N,"partial":{"n":M}} sealed: about 120 B each).
((nats_after - nats_before > left * 40)) ||
  fail "nats: bob sent only $((nats_after - nats_before)) B over NATS for the last $left partials or more"
pass "nats: both relays killed after $lines_at_kill partials printed, $left not produced yet; alice resumed over NATS and printed all $partials once, in order, then null ($(ms_since "$t0") ms; bob's NATS out +$((nats_after - nats_before)) B)"

lab_cleanup
[[ -z "$(lab_leftovers)" ]] || fail "namespaces left after cleanup: $(lab_leftovers)"
echo "natlab stream: all $checks checks passed"
