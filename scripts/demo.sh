#!/usr/bin/env bash
# The README's first command: installs, builds (release) and runs a small local agent network with
# no external server: a private nats-server on a free port, two agents (one serving a method
# through a shell command), discovery and sealed calls between them; then over libp2p: a relay, an
# agent that does not listen and is reached through the relay, calls forced over each tier
# (direct, relay, nats), and a libp2p node pinged from a second node. Everything is stopped at the
# end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARGATE_TESTS=OFF >/dev/null
cmake --build build/release --target stargate -j "$(nproc)"
stargate=$PWD/build/release/src/stargate

work=$(mktemp -d /tmp/stargate-demo.XXXXXX)
pids=()
cleanup() {
  # Newest first, each awaited: the agents say goodbye while the broker still runs.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

first_line() {  # first_line FIFO: the first line a background command writes, within 30 s
  local line
  exec {fd}<"$1"
  IFS= read -r -t 30 line <&"$fd" || { echo "demo: no output from a background process" >&2; exit 1; }
  printf '%s\n' "$line"
}

echo "== a private NATS broker (nats-server, free port)"
mkdir -p "$work/ports"
nats-server -a 127.0.0.1 -p -1 --ports_file_dir "$work/ports" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do ls "$work"/ports/*.ports >/dev/null 2>&1 && break; sleep 0.05; done
export STARGATE_NATS_URL=$(sed -n 's/.*"\(nats:[^"]*\)".*/\1/p' "$work"/ports/*.ports | head -n 1)
echo "broker at $STARGATE_NATS_URL"

echo "== agent 'translator' serves method 'shout' (a shell command: params on stdin, JSON result on stdout)"
mkfifo "$work/translator.out"
"$stargate" --identity-dir "$work/translator" connect --name translator --capability text \
  --serve 'shout=tr a-z A-Z' --allow-any --json >"$work/translator.out" &
pids+=($!)
first_line "$work/translator.out"

echo "== agent 'assistant' runs too"
mkfifo "$work/assistant.out"
"$stargate" --identity-dir "$work/assistant" connect --name assistant --capability planning --json >"$work/assistant.out" &
pids+=($!)
first_line "$work/assistant.out"

echo "== discover (through the assistant's control socket)"
"$stargate" --identity-dir "$work/assistant" discover
echo "== assistant calls translator.shout (sealed end to end; the broker sees only ciphertext)"
"$stargate" --identity-dir "$work/assistant" call translator shout '{"text":"hello from the assistant"}'
echo "== assistant's status"
"$stargate" --identity-dir "$work/assistant" status

echo "== a Circuit Relay v2 relay (what agents behind NATs reserve a slot on)"
mkfifo "$work/relay.out"
"$stargate" --identity-dir "$work/relay" relay start --listen /ip4/127.0.0.1/tcp/0 --metrics-listen off --json \
  >"$work/relay.out" &
pids+=($!)
line=$(first_line "$work/relay.out")
relay=$(printf '%s' "$line" | sed -n 's/.*"addrs":\["\([^"]*\)".*/\1/p')
echo "relay at $relay"

echo "== agent 'hidden' listens nowhere: it reserves on the relay and is reached through it"
mkfifo "$work/hidden.out"
"$stargate" --identity-dir "$work/hidden" connect --name hidden --relay "$relay" --json >"$work/hidden.out" &
pids+=($!)
first_line "$work/hidden.out"
for _ in $(seq 1 100); do  # until the reservation holds and is announced (bounded: 10 s)
  circuit=$("$stargate" --identity-dir "$work/hidden" status --json |
    sed -n 's/.*"addresses":\["\([^"]*p2p-circuit[^"]*\)".*/\1/p')
  [ -n "$circuit" ] && break
  sleep 0.1
done
echo "hidden is at $circuit"
"$stargate" --identity-dir "$work/assistant" call "$circuit" ping '{"via":"a multiaddr through the relay"}'

echo "== agent 'worker' listens on libp2p too; the assistant calls it over each tier in turn"
mkfifo "$work/worker.out"
"$stargate" --identity-dir "$work/worker" connect --name worker --listen /ip4/127.0.0.1/tcp/0 --relay "$relay" \
  --json >"$work/worker.out" &
pids+=($!)
first_line "$work/worker.out"
for _ in $(seq 1 100); do  # until worker's circuit address is announced (bounded: 10 s)
  "$stargate" --identity-dir "$work/worker" status --json | grep -q p2p-circuit && break
  sleep 0.1
done
"$stargate" --identity-dir "$work/worker" announce >/dev/null
for via in direct relay nats; do
  echo "-- --via $via"
  "$stargate" --identity-dir "$work/assistant" call --via "$via" worker ping "{\"tier\":\"$via\"}"
done
echo "== assistant's calls by tier (stargate status --json)"
"$stargate" --identity-dir "$work/assistant" status --json |
  sed -n 's/.*\("calls_ok_direct":[0-9]*\).*\("calls_ok_relayed":[0-9]*\).*/\1 \2/p'
"$stargate" --identity-dir "$work/assistant" status --json | sed -n 's/.*\("calls_ok_nats":[0-9]*\).*/\1/p'

echo "== libp2p: node A listens, node B pings it (TCP + Noise + Yamux)"
mkfifo "$work/node.out"
"$stargate" --identity-dir "$work/node-a" node --listen /ip4/127.0.0.1/tcp/0 --json >"$work/node.out" &
pids+=($!)
line=$(first_line "$work/node.out")
echo "$line"
addr=$(printf '%s' "$line" | sed -n 's/.*"addrs":\["\([^"]*\)".*/\1/p')
"$stargate" --identity-dir "$work/node-b" ping "$addr" --count 5 --interval 0.2
