#!/usr/bin/env bash
# End-to-end agents over a real nats-server, through the CLI: `connect --serve` with a shell
# command, `discover --json`, `call` (result on stdout, JSON-RPC errors on stderr with a non-zero
# exit), the --allow gate, params from a file and from stdin, and a clean stop.
#   agent_cli_test.sh STARGATE_BINARY
set -uo pipefail
stargate="$1"
test_name=agent_cli_test
# shellcheck source=tests/cli/testlib.sh
source "$(dirname "$0")/testlib.sh"

# A broker of our own on a free port (-p -1), port read back from the ports file.
mkdir -p "$work/ports"
nats-server -a 127.0.0.1 -p -1 --ports_file_dir "$work/ports" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
  ports=$(cat "$work"/ports/*.ports 2>/dev/null) && [ -n "$ports" ] && break
  sleep 0.05  # bounded poll: 200 × 50 ms
done
url=$(printf '%s' "$ports" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nats"][0])') || fail "nats-server did not start"
export STARGATE_NATS_URL="$url"

# start_agent NAME ARGS...: runs `connect --json` in the background, waits for its first line.
start_agent() {
  local name=$1; shift
  mkfifo "$work/$name.fifo"
  "$stargate" --identity-dir "$work/$name" connect --name "$name" --json "$@" >"$work/$name.fifo" 2>"$work/$name.err" &
  echo $! >>"$adopted"  # called as $(start_agent ...): a subshell, whose pids+= would be lost
  exec {fd}<"$work/$name.fifo"
  IFS= read -r -t 30 line <&"$fd" || fail "agent $name did not start"
  printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent_id"])'
}

# An agent whose "upper" method is a shell pipeline; "fails" exits non-zero.
worker=$(start_agent worker --capability text --serve 'upper=tr a-z A-Z' --serve 'fails=echo oops >&2; exit 3' \
  --listen /ip4/127.0.0.1/tcp/0 --serve-stream 'count=seq 1 5' --serve-stream 'half=echo 1; echo broke >&2; exit 4' \
  --serve-stream 'tokens=python3 -c "import json,sys; [print(json.dumps(w)) for w in json.load(sys.stdin)[\"text\"].split()]"' \
  --allow-any) || exit 1
[[ ${#worker} -eq 32 ]] || fail "connect printed no agent id"
pass "connect --serve started (agent $worker)"

run --identity-dir "$work/cli" discover --json >"$work/discover.out" 2>"$work/discover.err" || fail "discover exited $?"
python3 - "$work/discover.out" "$worker" <<'PY' || fail "discover --json does not list the worker"
import json, sys
peers = json.load(open(sys.argv[1]))
assert any(p["agent_id"] == sys.argv[2] and p["name"] == "worker" and "text" in p["capabilities"] for p in peers), peers
PY
pass "discover --json lists the worker with its capability"
run --identity-dir "$work/cli" discover --capability nothing-like-this --json >"$work/none.out" 2>/dev/null || fail "discover --capability exited $?"
[[ "$(cat "$work/none.out")" == "[]" ]] || fail "capability filter: expected [], got $(cat "$work/none.out")"
pass "discover --capability filters"

out=$(run --identity-dir "$work/cli" call worker upper '{"text":"hello"}' 2>"$work/call.err") || fail "call exited $?"
[[ "$out" == '{"TEXT":"HELLO"}' ]] || fail "call result: $out"
pass "call runs the served command (params on stdin, JSON result on stdout)"

echo '{"from":"file"}' >"$work/params.json"
out=$(run --identity-dir "$work/cli" call "$worker" upper "@$work/params.json" 2>>"$work/call.err") || fail "call @FILE exited $?"
[[ "$out" == '{"FROM":"FILE"}' ]] || fail "call @FILE result: $out"
out=$(echo '{"from":"stdin"}' | run --identity-dir "$work/cli" call worker upper - 2>>"$work/call.err") || fail "call - exited $?"
[[ "$out" == '{"FROM":"STDIN"}' ]] || fail "call - result: $out"
pass "params from @FILE and from stdin"

out=$(run --identity-dir "$work/cli" call worker ping '{"n":1}' 2>>"$work/call.err") || fail "built-in ping exited $?"
[[ "$out" == *'"pong":true'* ]] || fail "built-in ping: $out"
pass "built-in ping answers"

run --identity-dir "$work/cli" call worker fails '{}' >"$work/fails.out" 2>"$work/fails.err" && fail "a failing command should make call exit non-zero"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["code"]==-32603 and "oops" in json.dumps(e), e' "$work/fails.err" || fail "failing command: $(cat "$work/fails.err")"
pass "a failing command becomes a JSON-RPC error with its stderr"

run --identity-dir "$work/cli" call worker no-such-method '{}' >/dev/null 2>"$work/nomethod.err" && fail "unknown method should fail"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["code"]==-32601' "$work/nomethod.err" || fail "unknown method: $(cat "$work/nomethod.err")"
pass "unknown method: -32601 on stderr, non-zero exit"

# Streamed results (connect --serve-stream, call --stream): one JSON line per partial, then the
# final result (null when the command exits 0); a command that fails midway ends the stream with
# its error after the partials it printed.
out=$(run --identity-dir "$work/cli" call --stream worker count '{}' 2>"$work/stream.err") || fail "call --stream exited $?: $(cat "$work/stream.err")"
[[ "$out" == $'1\n2\n3\n4\n5\nnull' ]] || fail "call --stream count: $out"
out=$(run --identity-dir "$work/cli" call --stream worker tokens '{"text":"streamed one word at a time"}' 2>>"$work/stream.err") \
  || fail "call --stream tokens exited $?"
[[ "$out" == $'"streamed"\n"one"\n"word"\n"at"\n"a"\n"time"\nnull' ]] || fail "call --stream tokens: $out"
pass "connect --serve-stream and call --stream: partials line by line, params on stdin, then the final result"
run --identity-dir "$work/cli" call --stream worker half '{}' >"$work/half.out" 2>"$work/half.err" && fail "a stream whose command fails should exit non-zero"
[[ "$(cat "$work/half.out")" == "1" ]] || fail "partials before the failure: $(cat "$work/half.out")"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["code"]==-32603 and "broke" in json.dumps(e), e' "$work/half.err" \
  || fail "failing stream: $(cat "$work/half.err")"
out=$(run --identity-dir "$work/cli" call --stream worker upper '{"text":"unary"}' 2>>"$work/stream.err") || fail "call --stream of a unary method exited $?"
[[ "$out" == '{"TEXT":"UNARY"}' ]] || fail "call --stream of a unary method: $out"
pass "a failing streamed command: its partials, then its error and stderr; a unary method streamed: its result alone"

# Bad pool settings stop the agent with a message naming where they came from.
"$stargate" --identity-dir "$work/bad" connect --name bad --pool-max 0 >/dev/null 2>"$work/poolflag.err" && fail "--pool-max 0 should be refused"
grep -q -- "--pool-max" "$work/poolflag.err" || fail "--pool-max 0: $(cat "$work/poolflag.err")"
STARGATE_POOL_IDLE_TIMEOUT=soon "$stargate" --identity-dir "$work/bad" connect --name bad >/dev/null 2>"$work/poolenv.err" \
  && fail "STARGATE_POOL_IDLE_TIMEOUT=soon should be refused"
grep -q "STARGATE_POOL_IDLE_TIMEOUT='soon'" "$work/poolenv.err" || fail "pool env: $(cat "$work/poolenv.err")"
pass "bad pool settings (--pool-max 0, STARGATE_POOL_IDLE_TIMEOUT=soon) are refused, naming the flag or variable"

# --serve without --allow/--allow-any is refused; with --allow naming someone else, callers get "forbidden".
"$stargate" --identity-dir "$work/bad" connect --name bad --serve 'x=cat' >/dev/null 2>"$work/bad.err" && fail "--serve without --allow should be refused"
grep -q -- "--allow" "$work/bad.err" || fail "refusal should mention --allow: $(cat "$work/bad.err")"
guarded=$(start_agent guarded --serve 'upper=tr a-z A-Z' --allow 00000000000000000000000000000000) || exit 1
run --identity-dir "$work/cli" call "$guarded" upper '{"a":1}' >/dev/null 2>"$work/forbidden.err" && fail "a caller not on --allow should be refused"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["code"]==-32005' "$work/forbidden.err" || fail "forbidden: $(cat "$work/forbidden.err")"
pass "--serve methods answer only the agents on --allow (-32005 forbidden otherwise)"

# The running agent's control socket: 0600, and `call`/`status` with its identity go through it.
sock="$work/worker/stargate.sock"
[[ -S "$sock" ]] || fail "no control socket at $sock"
[[ $(stat -c %a "$sock") == 600 ]] || fail "control socket mode is $(stat -c %a "$sock")"
out=$(run --identity-dir "$work/worker" call "$guarded" ping '{"via":"socket"}' 2>"$work/sockcall.err") || fail "call through the control socket exited $?"
[[ "$out" == *'"via":"socket"'* ]] || fail "call through the control socket: $out"
run --identity-dir "$work/worker" status --json >"$work/status.out" 2>"$work/status.err" || fail "status exited $?"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["agent_id"]==sys.argv[2] and s["calls_ok"]>=1 and s["nats_connected"] and s["reachability"] in ("public", "private", "unknown") and "nat_kind" in s, s' "$work/status.out" "$worker" \
  || fail "status: $(cat "$work/status.out")"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["traffic"]; assert t["nats"]["bytes_in"]>0 and t["nats"]["bytes_out"]>0 and "bytes_in" in t["libp2p"], t' "$work/status.out" \
  || fail "status traffic: $(cat "$work/status.out")"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["resources"]
scopes = {(s["scope"], s["name"]): s for s in r["scopes"]}
system = scopes[("system", "")]
assert system["connections"]["limit"] == 512 and system["streams"]["limit"] == 8192 and system["memory"]["limit"] == 1 << 30, system
assert ("service", "a2a") in scopes and ("protocol", "/stargate/a2a/1.0.0") in scopes, sorted(scopes)
assert all("used" in g and "limit" in g for s in r["scopes"] for k, g in s.items() if isinstance(g, dict)), r
' "$work/status.out" || fail "status resources: $(cat "$work/status.out")"
run --identity-dir "$work/worker" status >"$work/status.txt" 2>>"$work/status.err" || fail "human status exited $?"
grep -Eq '^traffic: libp2p [0-9]+ B in, [0-9]+ B out; nats [1-9][0-9]* B in, [1-9][0-9]* B out$' "$work/status.txt" \
  || fail "human status traffic: $(cat "$work/status.txt")"
grep -Eq '^  system  connections [0-9]+/512  streams [0-9]+/8192  memory .*/1.0 GiB$' "$work/status.txt" \
  || fail "human status resources: $(cat "$work/status.txt")"
grep -Eq '^  service a2a  streams [0-9]+/4096  streams_per_peer [0-9]+/512  memory .*/512.0 MiB$' "$work/status.txt" \
  || fail "human status a2a scope: $(cat "$work/status.txt")"
pass "control socket (0600): call and status reuse the running agent (its calls_ok counts the call; traffic per transport; resources against their limits)"
run --identity-dir "$work/nobody" status >/dev/null 2>"$work/nostatus.err" && fail "status without an agent should fail"
grep -q "no agent is running" "$work/nostatus.err" || fail "status without agent: $(cat "$work/nostatus.err")"
pass "status without a running agent says so"

# An unreachable broker is one clear line, quickly.
start=$SECONDS
STARGATE_NATS_URL=nats://127.0.0.1:1 run --identity-dir "$work/cli" discover >/dev/null 2>"$work/unreach.err" && fail "discover with no broker should fail"
(( SECONDS - start < 10 )) || fail "unreachable broker took $((SECONDS - start)) s"
[[ $(wc -l <"$work/unreach.err") -eq 1 ]] || fail "expected one line, got: $(cat "$work/unreach.err")"
pass "unreachable broker: one line, non-zero exit"
echo "agent_cli_test: all $checks checks passed"
