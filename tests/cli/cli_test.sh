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

echo "cli_test: all $checks checks passed"
