#!/usr/bin/env bash
# The README's first command: installs, builds (release), starts a local libp2p node and pings it
# from a second node, printing peer IDs, addresses and round-trip times. No external server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARGATE_TESTS=OFF >/dev/null
cmake --build build/release --target stargate -j "$(nproc)"
stargate=build/release/src/stargate

work=$(mktemp -d)
node_pid=""
cleanup() { [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "== starting node A"
mkfifo "$work/out"
"$stargate" --identity-dir "$work/a" node --listen /ip4/127.0.0.1/tcp/0 --json >"$work/out" &
node_pid=$!
exec 3<"$work/out"
IFS= read -r -t 30 line <&3 || { echo "node A did not start" >&2; exit 1; }
echo "$line"
addr=$(printf '%s' "$line" | sed -n 's/.*"addrs":\["\([^"]*\)".*/\1/p')

echo "== node B pings node A"
"$stargate" --identity-dir "$work/b" identity generate
"$stargate" --identity-dir "$work/b" ping "$addr" --count 5 --interval 0.2
