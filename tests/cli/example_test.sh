#!/usr/bin/env bash
# Runs examples/hello_agents against a private nats-server and checks its output.
#   example_test.sh HELLO_AGENTS_BINARY
set -uo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/stargate-example.XXXXXX")
nats_pid=""
cleanup() { [ -n "$nats_pid" ] && kill "$nats_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/ports"
nats-server -a 127.0.0.1 -p -1 --ports_file_dir "$work/ports" >"$work/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 1 200); do ls "$work"/ports/*.ports >/dev/null 2>&1 && break; sleep 0.05; done  # bounded poll
url=$(sed -n 's/.*"\(nats:[^"]*\)".*/\1/p' "$work"/ports/*.ports | head -n 1)
[ -n "$url" ] || { echo "example_test: nats-server did not start" >&2; exit 1; }
out=$(TMPDIR="$work" STARGATE_NATS_URL="$url" timeout 60 "$1" 2>&1) || { echo "example_test: exited $?: $out" >&2; exit 1; }
echo "$out"
grep -q '^found greeter ' <<<"$out" || { echo "example_test: greeter not discovered" >&2; exit 1; }
grep -q '"greeting":"hello, world"' <<<"$out" || { echo "example_test: no greeting" >&2; exit 1; }
