#!/usr/bin/env bash
# The README's first command: installs (scripts/setup.sh), builds the release `stargate` and runs
# `stargate demo` (arguments passed through: --json, --no-nats). In one process: a private
# nats-server when installed, two relays and three agents; discovery, a call over each tier
# (direct, relay, nats), the primary relay killed and the calls carrying on through the backup, the
# backup killed and the calls carrying on over NATS, then the calls by tier. Everything is stopped
# and removed at the end; the exit code is 0 only if every call succeeded.
set -euo pipefail
cd "$(dirname "$0")/.."
# Installing and building talk on stderr: stdout is the demo's alone (one JSON object a line with --json).
bash scripts/setup.sh >&2
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARGATE_TESTS=OFF >/dev/null
cmake --build build/release --target stargate -j "$(nproc)" >&2
exec build/release/src/stargate demo "$@"
