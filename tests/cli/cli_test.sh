#!/usr/bin/env bash
# End-to-end checks of the `stargate` command: identity generate/show/export/import (file modes,
# --force, too-open and corrupt key files, zero-configuration creation), `node --json`, `ping`
# (success and each kind of failure), `--log-level` validation and a clean SIGTERM shutdown.
#   cli_test.sh STARGATE_BINARY
# Exits 0 when every check passes, 1 at the first failure (with what was expected and seen).
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: cli_test.sh STARGATE_BINARY" >&2
  exit 2
fi
stargate="$1"
[[ -x "$stargate" ]] || { echo "cli_test: $stargate is not executable" >&2; exit 1; }
command -v python3 >/dev/null || { echo "cli_test: python3 is needed to parse JSON" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-cli.XXXXXX")"
node_pid=""
cleanup() {
  if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# A hung command fails the check instead of the whole suite.
run() { timeout 30 "$stargate" "$@"; }

checks=0
fail() {
  echo "cli_test: FAILED: $*" >&2
  for f in out err; do
    if [[ -s "$work/$f" ]]; then
      echo "--- last $f ---" >&2
      tail -n 20 "$work/$f" >&2
    fi
  done
  exit 1
}
pass() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}
mode_of() { stat -c %a "$1"; }
json_field() {  # json_field FIELD < json
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"
}

# ---------------------------------------------------------------- identity
id1="$work/id1"
key="$id1/identity.key"

run --identity-dir "$id1" identity generate >"$work/out" 2>"$work/err" || fail "identity generate exited $?"
peer1=$(grep -o '12D3KooW[1-9A-HJ-NP-Za-km-z]*' "$work/out" | head -n 1)
[[ -n "$peer1" ]] || fail "identity generate printed no 12D3KooW peer id"
# The key file: whichever single regular file the directory now holds, if not identity.key.
if [[ ! -f "$key" ]]; then
  key=$(find "$id1" -maxdepth 1 -type f | head -n 1)
fi
[[ -f "$key" ]] || fail "identity generate wrote no key file in $id1"
[[ "$(mode_of "$key")" == 600 ]] || fail "key file mode is $(mode_of "$key"), not 600"
pass "identity generate creates a 0600 key file and prints $peer1"

if run --identity-dir "$id1" identity generate >"$work/out" 2>"$work/err"; then
  fail "a second identity generate without --force succeeded"
fi
grep -q -- '--force' "$work/err" || fail "the refusal does not mention --force"
run --identity-dir "$id1" identity show >"$work/out" 2>"$work/err" || fail "identity show after refusal exited $?"
grep -q "$peer1" "$work/out" || fail "the refused generate changed the key"
pass "identity generate refuses to overwrite without --force and says so"

run --identity-dir "$id1" identity generate --force >"$work/out" 2>"$work/err" || fail "generate --force exited $?"
peer1b=$(grep -o '12D3KooW[1-9A-HJ-NP-Za-km-z]*' "$work/out" | head -n 1)
[[ -n "$peer1b" && "$peer1b" != "$peer1" ]] || fail "generate --force did not change the peer id ($peer1 -> $peer1b)"
[[ "$(mode_of "$key")" == 600 ]] || fail "key file mode after --force is $(mode_of "$key")"
peer1="$peer1b"
pass "identity generate --force replaces the key"

run --identity-dir "$id1" identity show --json >"$work/out" 2>"$work/err" || fail "identity show --json exited $?"
shown=$(json_field peer_id <"$work/out") || fail "identity show --json is not JSON with peer_id"
[[ "$shown" == "$peer1" ]] || fail "identity show --json peer_id $shown != $peer1"
agent=$(json_field agent_id <"$work/out") || fail "identity show --json has no agent_id"
[[ "$agent" =~ ^[0-9a-f]{32}$ ]] || fail "agent_id '$agent' is not 32 hex characters"
pass "identity show --json parses (peer_id, 32-hex agent_id)"

chmod 644 "$key"
if run --identity-dir "$id1" identity show >"$work/out" 2>"$work/err"; then
  fail "identity show accepted a key file with mode 644"
fi
grep -q 'chmod 600' "$work/err" || fail "the too-open refusal does not say 'chmod 600'"
chmod 600 "$key"
pass "a group/other-readable key file is refused with a chmod 600 hint"

# Export to a file (0600), import into another directory: same peer id.
run --identity-dir "$id1" identity export -o "$work/exported.key" >"$work/out" 2>"$work/err" ||
  fail "identity export exited $?"
[[ -s "$work/exported.key" ]] || fail "identity export wrote nothing"
[[ "$(mode_of "$work/exported.key")" == 600 ]] || fail "exported file mode is $(mode_of "$work/exported.key")"
run --identity-dir "$work/id2" identity import "$work/exported.key" --json >"$work/out" 2>"$work/err" ||
  fail "identity import exited $?"
imported=$(json_field peer_id <"$work/out") || fail "identity import --json is not JSON with peer_id"
[[ "$imported" == "$peer1" ]] || fail "imported peer id $imported != exported $peer1"
run --identity-dir "$work/id2" identity show --json >"$work/out" 2>"$work/err" || fail "show after import exited $?"
[[ "$(json_field peer_id <"$work/out")" == "$peer1" ]] || fail "show after import gives another peer id"
pass "export (0600) then import into another directory keeps the peer id"

# A corrupt key file is an error, and is left as it was (no silent new identity).
corrupt_dir="$work/corrupt"
mkdir -p "$corrupt_dir"
cp -p "$key" "$corrupt_dir/"
corrupt_key="$corrupt_dir/$(basename "$key")"
printf 'this is not a key\n' >"$corrupt_key"
chmod 600 "$corrupt_key"
before=$(sha256sum "$corrupt_key")
if run --identity-dir "$corrupt_dir" identity show >"$work/out" 2>"$work/err"; then
  fail "identity show accepted a corrupt key file"
fi
grep -qi 'corrupt\|not a stargate identity' "$work/err" || fail "the corrupt-file error does not say what is wrong"
if run --identity-dir "$corrupt_dir" ping /ip4/127.0.0.1/tcp/1 --count 1 >"$work/out" 2>"$work/err"; then
  fail "ping ran with a corrupt identity"
fi
grep -q 'created a new identity' "$work/err" && fail "a corrupt identity was silently replaced"
[[ "$(sha256sum "$corrupt_key")" == "$before" ]] || fail "the corrupt key file was modified"
pass "a corrupt key file is a clear error and stays untouched"

# ---------------------------------------------------------------- log level
run --identity-dir "$id1" --log-level nonsense identity show >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "--log-level nonsense exited $status, not 2"
grep -q -- '--log-level' "$work/err" || fail "the --log-level error does not name the option"
grep -q 'nonsense' "$work/err" || fail "the --log-level error does not quote the bad value"
pass "--log-level nonsense exits 2 with a clear message"

# ---------------------------------------------------------------- top-level options after the subcommand
# Where people type them: --identity-dir, --log-level and --log-json after any (nested) subcommand.
after_dir="$work/id-after"
run identity generate --identity-dir "$after_dir" >"$work/out" 2>"$work/err" ||
  fail "identity generate --identity-dir (after the subcommand) exited $?"
peer_after=$(grep -o '12D3KooW[1-9A-HJ-NP-Za-km-z]*' "$work/out" | head -n 1)
[[ -n "$peer_after" && -f "$after_dir/identity.key" ]] || fail "identity generate --identity-dir wrote no key in $after_dir"
run identity show --json --log-level warn --identity-dir "$after_dir" --log-json >"$work/out" 2>"$work/err" ||
  fail "identity show with the top-level options after it exited $?"
[[ "$(json_field peer_id <"$work/out")" == "$peer_after" ]] || fail "identity show --identity-dir showed another identity"
run identity show --identity-dir "$after_dir" --log-level nonsense >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "--log-level nonsense after the subcommand exited $status, not 2"
grep -q -- '--log-level' "$work/err" || fail "the --log-level error after the subcommand does not name the option"
run status --identity-dir "$after_dir" --log-level error >"$work/out" 2>"$work/err" &&
  fail "status found an agent in $after_dir"
grep -q 'no agent is running' "$work/err" || fail "status with --identity-dir after it did not look there"
run identity show --identity-dir "$after_dir" --no-such-option >"$work/out" 2>"$work/err" &&
  fail "an unknown option after the subcommand was accepted"
pass "--identity-dir, --log-level and --log-json are accepted after the subcommand"

# ---------------------------------------------------------------- node and ping
node_dir="$work/node-id"
run --identity-dir "$node_dir" identity generate >/dev/null 2>"$work/err" || fail "node identity generate exited $?"
coproc NODE { exec "$stargate" --identity-dir "$node_dir" node --listen /ip4/127.0.0.1/tcp/0 --json 2>"$work/node.err"; }
node_pid=$NODE_PID
line=""
IFS= read -r -t 30 line <&"${NODE[0]}" || fail "stargate node printed no first line within 30 s"
node_peer=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["peer_id"])' "$line") ||
  fail "node's first line has no peer_id: $line"
node_addr=$(python3 -c '
import json, sys
addrs = json.loads(sys.argv[1])["addrs"]
assert isinstance(addrs, list) and addrs
print(addrs[0])' "$line") || fail "node's first line has no addrs: $line"
[[ "$node_peer" == 12D3KooW* ]] || fail "node peer_id $node_peer"
[[ "$node_addr" == /ip4/127.0.0.1/tcp/*/p2p/"$node_peer" ]] || fail "node address $node_addr"
pass "node --json: first line has peer_id and addrs ($node_addr)"

# A command that needs an identity and finds none creates one and says so on stderr.
ping_dir="$work/ping-id"
start=$(date +%s%N)
run --identity-dir "$ping_dir" ping "$node_addr" --count 3 --interval 0 --json >"$work/out" 2>"$work/err" ||
  fail "ping --count 3 --interval 0 exited $?"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
grep -q 'created a new identity' "$work/err" || fail "ping in an empty identity dir did not say it created one"
[[ -n "$(find "$ping_dir" -maxdepth 1 -type f)" ]] || fail "no identity file was created in $ping_dir"
python3 - "$work/out" <<'EOF' || fail "ping --json output is not 3 seq lines and a count-3 summary"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 4, lines
assert [l["seq"] for l in lines[:3]] == [1, 2, 3], lines
assert all(isinstance(l["rtt_us"], int) and l["rtt_us"] >= 0 for l in lines[:3]), lines
s = lines[3]
assert s["count"] == 3, s
for k in ("min_us", "avg_us", "max_us", "stddev_us"):
    assert k in s, (k, s)
assert s["min_us"] <= s["avg_us"] <= s["max_us"], s
EOF
pass "ping --count 3 --interval 0 --json: 3 seq lines and a summary, exit 0 (${elapsed_ms} ms); identity created on first use"

# The wrong peer id behind the right address.
other_peer=$(run --identity-dir "$work/other-id" identity generate --json 2>/dev/null | json_field peer_id) ||
  fail "cannot make a second identity"
wrong_addr="${node_addr%/p2p/*}/p2p/$other_peer"
if run --identity-dir "$ping_dir" ping "$wrong_addr" --count 1 >"$work/out" 2>"$work/err"; then
  fail "ping to the wrong peer id succeeded"
fi
[[ $(wc -l <"$work/err") -eq 1 ]] || fail "ping to the wrong peer id wrote $(wc -l <"$work/err") lines on stderr, not 1"
grep -qi 'peer id' "$work/err" || fail "the wrong-peer error does not mention the peer id"
grep -q "$other_peer" "$work/err" || fail "the wrong-peer error does not name the expected peer"
pass "ping with a wrong /p2p/ id fails with one line about the peer id"

# A closed port: bind one, then free it, so nothing listens there.
closed_port=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
if run --identity-dir "$ping_dir" ping "/ip4/127.0.0.1/tcp/$closed_port" --count 1 >"$work/out" 2>"$work/err"; then
  fail "ping to a closed port succeeded"
fi
grep -qi 'refused' "$work/err" || fail "the closed-port error does not say refused"
pass "ping to a closed port fails and says refused"

# The node is still up, then stops cleanly on SIGTERM.
kill -0 "$node_pid" 2>/dev/null || fail "stargate node died during the pings"
kill -TERM "$node_pid"
timeout 10 tail --pid="$node_pid" -s 0.05 -f /dev/null || fail "stargate node did not exit within 10 s of SIGTERM"
wait "$node_pid"
status=$?
node_pid=""
[[ $status -eq 0 ]] || fail "stargate node exited $status after SIGTERM"
pass "node exits 0 on SIGTERM"

# ---------------------------------------------------------------- local trust boundary (issue 13)
# Durations from flags are range-checked: NaN, infinities and huge values exit 2 with a message,
# before anything runs (no agent, no broker needed).
trust_id="$work/trust-id"
for bad in nan inf 1e300 -1 0; do
  run --identity-dir "$trust_id" call some-peer ping --timeout "$bad" >"$work/out" 2>"$work/err"
  status=$?
  [[ $status -eq 2 ]] || fail "call --timeout $bad exited $status, not 2"
  grep -q -- '--timeout must be a number of seconds between 0.001 and 86400' "$work/err" ||
    fail "call --timeout $bad: no range message"
done
for flag in "--timeout nan" "--timeout 1e300" "--interval inf" "--interval -1"; do
  # shellcheck disable=SC2086 # the flag and its value are two words
  run --identity-dir "$trust_id" ping /ip4/127.0.0.1/tcp/1 $flag >"$work/out" 2>"$work/err"
  status=$?
  [[ $status -eq 2 ]] || fail "ping $flag exited $status, not 2"
  grep -q -- "${flag%% *} must be a number of seconds" "$work/err" || fail "ping $flag: no range message"
done
run --identity-dir "$trust_id" connect --name x --connect-timeout nan >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "connect --connect-timeout nan exited $status, not 2"
grep -q -- '--connect-timeout must be a number of seconds' "$work/err" || fail "connect --connect-timeout nan: no range message"
run --identity-dir "$trust_id" relay start --port 0 --log-interval 1e300 >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "relay start --log-interval 1e300 exited $status, not 2"
grep -q -- '--log-interval must be a number of seconds' "$work/err" || fail "relay --log-interval 1e300: no range message"
run --identity-dir "$trust_id" relay start --port 0 --reservation-ttl 9223372036854775807 >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "relay start --reservation-ttl INT64_MAX exited $status, not 2"
grep -q -- '--reservation-ttl must be a number of seconds' "$work/err" || fail "relay --reservation-ttl: no range message"
STARGATE_CALL_TIMEOUT=nan run --identity-dir "$trust_id" call some-peer ping >"$work/out" 2>"$work/err"
status=$?
[[ $status -eq 2 ]] || fail "STARGATE_CALL_TIMEOUT=nan exited $status, not 2"
grep -q "STARGATE_CALL_TIMEOUT='nan'" "$work/err" || fail "STARGATE_CALL_TIMEOUT=nan: the message does not name the variable"
[[ ! -e "$trust_id/identity.key" ]] || fail "a refused duration still created an identity"
pass "nan, inf, 1e300, -1, 0 and INT64_MAX durations (call --timeout, connect --connect-timeout, relay --log-interval and --reservation-ttl, STARGATE_CALL_TIMEOUT) exit 2 with a range message"

# An identity directory others can write is refused with the fix, and no identity is created in it.
open_dir="$work/open-id"
mkdir "$open_dir"
chmod 777 "$open_dir"
if run --identity-dir "$open_dir" identity generate >"$work/out" 2>"$work/err"; then
  fail "identity generate accepted a mode-777 identity directory"
fi
grep -q "chmod 700 $open_dir" "$work/err" || fail "the open-directory refusal does not say 'chmod 700 $open_dir'"
if run --identity-dir "$open_dir" ping /ip4/127.0.0.1/tcp/1 --count 1 >"$work/out" 2>"$work/err"; then
  fail "ping ran with a mode-777 identity directory"
fi
grep -q "chmod 700 $open_dir" "$work/err" || fail "ping: the open-directory refusal does not say 'chmod 700'"
if run --identity-dir "$open_dir" call some-peer ping --timeout 1 >"$work/out" 2>"$work/err"; then
  fail "call ran with a mode-777 identity directory"
fi
grep -q "chmod 700 $open_dir" "$work/err" || fail "call: the open-directory refusal does not say 'chmod 700'"
[[ -z "$(ls -A "$open_dir")" ]] || fail "something was created in the mode-777 directory: $(ls -A "$open_dir")"
chmod 700 "$open_dir"
run --identity-dir "$open_dir" identity generate >"$work/out" 2>"$work/err" || fail "identity generate after chmod 700 exited $?"
pass "a mode-777 identity directory is refused ('chmod 700 DIR') and nothing is created in it; after chmod 700 it works"

# A key file that is a FIFO or a symlink is refused at once (a FIFO used to block open() forever).
fifo_dir="$work/fifo-id"
mkdir -m 700 "$fifo_dir"
mkfifo -m 600 "$fifo_dir/identity.key"
run --identity-dir "$fifo_dir" identity show >"$work/out" 2>"$work/err"
status=$?
[[ $status -ne 124 ]] || fail "identity show hung on a FIFO key file"
[[ $status -ne 0 ]] || fail "identity show accepted a FIFO as key file"
grep -q 'is not a regular file (it is a FIFO)' "$work/err" || fail "the FIFO refusal does not say it is not a regular file"
rm "$fifo_dir/identity.key"
ln -s "$key" "$fifo_dir/identity.key"
if run --identity-dir "$fifo_dir" identity show >"$work/out" 2>"$work/err"; then
  fail "identity show followed a symlinked key file"
fi
grep -q 'is a symlink' "$work/err" || fail "the symlink refusal does not say it is a symlink"
pass "a FIFO or symlinked key file is refused at once, saying what it is"

# A running agent refuses out-of-range control-socket timeouts with -32602 (invalid params) and
# keeps serving: 1e300 ms and INT64_MAX ms used to overflow the call's deadline.
agent_dir="$work/guard-id"
coproc AGENT { exec "$stargate" --identity-dir "$agent_dir" connect --name guard --no-nats --listen /ip4/127.0.0.1/tcp/0 --json 2>"$work/agent.err"; }
node_pid=$AGENT_PID
IFS= read -r -t 30 line <&"${AGENT[0]}" || fail "connect --no-nats did not start: $(tail -n 5 "$work/agent.err")"
[[ "$line" == *'"event":"started"'* ]] || fail "connect's first line is not the started event: $line"
python3 - "$agent_dir/stargate.sock" <<'EOF' >"$work/out" 2>&1 || fail "control-socket timeout_ms checks failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
def ask(params, rid):
    f.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": "call", "params": params}) + "\n")
    f.flush()
    return json.loads(f.readline())
for rid, t in enumerate([1e300, 9223372036854775807, -1, "30"], start=1):
    r = ask({"peer": "nobody-at-all", "method": "ping", "timeout_ms": t}, rid)
    assert r.get("error", {}).get("code") == -32602, (t, r)
    assert "timeout_ms" in r["error"]["message"], (t, r)
f.write(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "status", "params": {}}) + "\n")
f.flush()
r = json.loads(f.readline())
assert r.get("result", {}).get("name") == "guard", r
print("ok")
EOF
kill -TERM "$node_pid"
timeout 10 tail --pid="$node_pid" -s 0.05 -f /dev/null || fail "connect did not exit within 10 s of SIGTERM"
wait "$node_pid" 2>/dev/null
node_pid=""
pass "the control socket answers timeout_ms 1e300, INT64_MAX, -1 and \"30\" with -32602 and keeps serving"

# A control socket that is not ours is refused before anything is sent. Making another user's
# socket needs root: a listener binds stargate.sock in a 0700 identity directory of ours, then drops
# to nobody's uid before listen() (SO_PEERCRED reports the listener's credentials from listen()),
# which is what a socket planted by another user looks like from the client. First the file is
# given to nobody (the lstat check refuses), then back to us, so that only SO_PEERCRED can refuse.
if [[ $(id -u) -ne 0 ]]; then
  echo "ok - skipped: the planted control socket checks need root (running as uid $(id -u))"
else
  nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)
  plant_dir="$work/plant-id"
  mkdir -m 700 "$plant_dir"
  plant_sock="$plant_dir/stargate.sock"
  coproc PLANT {
    python3 - "$plant_sock" "$nobody_uid" <<'EOF'
import os, socket, sys
path, uid = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
s.listen()
print("ready", flush=True)
s.settimeout(60)
conn, _ = s.accept()
conn.settimeout(60)
received = 0
while True:
    data = conn.recv(65536)
    if not data:
        break
    received += len(data)
print(received, flush=True)
EOF
  }
  plant_pid=$PLANT_PID
  exec {plant_out}<&"${PLANT[0]}"
  read -t 30 -r ready <&"$plant_out" || fail "the planted listener did not start"
  [[ "$ready" == ready ]] || fail "the planted listener said '$ready'"

  chown "$nobody_uid" "$plant_sock"
  if run --identity-dir "$plant_dir" call some-peer ping --timeout 5 >"$work/out" 2>"$work/err"; then
    fail "call used a control socket file owned by uid $nobody_uid"
  fi
  grep -q "control socket $plant_sock belongs to uid $nobody_uid" "$work/err" ||
    fail "the refusal of another user's socket file does not name its owner"
  pass "a control socket file owned by another user is refused before connecting"

  chown 0 "$plant_sock"
  if run --identity-dir "$plant_dir" call some-peer ping --timeout 5 >"$work/out" 2>"$work/err"; then
    fail "call talked to a control socket served by uid $nobody_uid"
  fi
  grep -q "listening on control socket $plant_sock runs as uid $nobody_uid" "$work/err" ||
    fail "the SO_PEERCRED refusal does not name the listener's uid"
  read -t 30 -r received <&"$plant_out" || fail "the planted listener saw no connection"
  [[ "$received" == 0 ]] || fail "the planted listener received $received bytes"
  wait "$plant_pid" 2>/dev/null
  exec {plant_out}<&-
  [[ ! -e "$plant_dir/identity.key" ]] || fail "a refused control socket led to a new identity"
  pass "a control socket served by another uid is refused (SO_PEERCRED) and receives 0 bytes"
fi

echo "cli_test: all $checks checks passed"
