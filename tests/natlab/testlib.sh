# shellcheck shell=bash disable=SC2154  # $work and $stargate are the sourcing script's
# What every NAT lab test script shares: the root/tools check (skip with 77, or fail when
# CI=true), check counting, failure reports with the logs of $work, and timing.
#   source tests/natlab/testlib.sh   (after setting $work)

natlab_require() {  # natlab_require TOOL...: skips unless root and every tool is there
  local tool
  [[ $EUID -eq 0 ]] || natlab_skip "not running as root"
  for tool in ip iptables python3 timeout "$@"; do
    command -v "$tool" >/dev/null || natlab_skip "$tool is not installed (scripts/setup.sh installs it)"
  done
}

natlab_skip() {
  if [[ "${CI:-}" == true ]]; then
    echo "natlab: FAILED: cannot run the NAT lab: $* (a skip counts as a failure when CI=true)" >&2
    exit 1
  fi
  echo "natlab: SKIPPED: $* (the NAT lab needs root, iproute2, iptables and python3)" >&2
  exit 77
}

checks=0
t_check=$SECONDS
fail() {
  echo "natlab: FAILED: $*" >&2
  local f
  for f in "$work"/*.log "$work"/*.out "$work"/*.err; do
    [[ -s "$f" ]] || continue
    echo "--- last lines of $(basename "$f") ---" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
pass() {
  checks=$((checks + 1))
  echo "ok $checks - $* ($((SECONDS - t_check)) s)"
  t_check=$SECONDS
}

# ---- Agents on the lab: what the scripts that run relays, a broker and agents share. They use
# $stargate (the binary) and $work (identities in $work/id-NAME, logs in $work), and lab.sh.

json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }
status_of() { "$stargate" --identity-dir "$work/id-$1" status --json 2>/dev/null; }  # status_of NAME
# wait_status NAME EXPR WANT SECONDS: polls NAME's status until EXPR (python, on v) prints WANT;
# the last status stays in $s (for the failure message). Bounded: returns 1 after SECONDS.
wait_status() {
  local deadline=$((SECONDS + $4))
  while ((SECONDS <= deadline)); do
    s=$(status_of "$1") && [[ "$(json_field "$s" "$2")" == "$3" ]] && return 0
    sleep 0.1
  done
  return 1
}

# start_relay ROLE NAME IP: the relay daemon with lifted limits on ROLE:4001 (same identity on a
# restart), its /metrics on ROLE's loopback (relay_metric); sets relay_addr and relay_pid_NAME.
# Not in a subshell: the lab must know the pid.
start_relay() {
  local line
  rm -f "$work/relay-$2.log"
  lab_spawn "$1" "$work/relay-$2.log" "$stargate" --identity-dir "$work/id-relay-$2" relay start --port 4001 \
    --circuit-bytes 0 --circuit-duration 0 --metrics-listen 127.0.0.1:9464 --json
  printf -v "relay_pid_$2" '%s' "$LAB_LAST_PID"
  line=$(lab_wait_line "$work/relay-$2.log" '"event":"listening"' 30) || return 1
  relay_addr="/ip4/$3/tcp/4001/p2p/$(json_field "$line" 'v["peer_id"]')"
}
relay_metric() {  # relay_metric ROLE NAME: the sum of the relay's samples of metric NAME
  lab_exec "$1" python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode()
print(int(sum(float(l.split()[-1]) for l in text.splitlines() if l.split("{")[0].split(" ")[0] == sys.argv[1])))' "$2"
}
kill_relay() {  # kill_relay NAME: SIGKILL, as a crash would
  local pid_var="relay_pid_$1"
  kill -KILL "${!pid_var}" && wait "${!pid_var}" 2>/dev/null
  true
}

# The failover setup (natlab_failover, natlab_stream), on lab_topology: a primary relay on
# `relay`, a backup relay on `pub` and a nats-server on `pub`. Sets primary, backup (their
# addresses) and nats_url.
start_relays_and_broker() {
  start_relay relay primary "$LAB_RELAY_IP" || fail "the primary relay did not start"
  primary=$relay_addr
  start_relay pub backup "$LAB_PUB_IP" || fail "the backup relay did not start"
  backup=$relay_addr
  lab_spawn pub "$work/nats.log" nats-server -a 0.0.0.0 -p 4222
  local try
  for try in $(seq 1 101); do  # bounded: 10 s
    lab_exec pub bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222' 2>/dev/null && break
    ((try < 101)) || fail "nats-server does not listen on $LAB_PUB_IP:4222"
    sleep 0.1
  done
  nats_url="nats://$LAB_PUB_IP:4222"
  pass "two relays (primary $LAB_RELAY_IP, backup $LAB_PUB_IP) and a nats-server on the lab internet"
}
# start_callee NAME ARGS...: `connect` on b with the broker and both relays (health probed every
# second), then waits until it holds a reservation on each relay.
start_callee() {
  local name=$1
  shift
  lab_spawn b "$work/$name.log" "$stargate" --identity-dir "$work/id-$name" connect --name "$name" \
    --nats "$nats_url" --relay "$primary" --relay "$backup" --relay-health-interval 1 --json "$@"
  lab_wait_line "$work/$name.log" '"event":"started"' 30 >/dev/null || fail "$name did not start: $(cat "$work/$name.log")"
  wait_status "$name" "sum('/p2p-circuit/' in a for a in v['addresses'])" 2 20 ||
    fail "$name is not reserved on both relays: $s"
  pass "$name (behind a symmetric NAT) holds reservations on both relays"
}
