#!/usr/bin/env bash
# Sets up, builds (one g++ ASan+UBSan build) and runs the whole test suite, then the fuzzers briefly.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
phase_start=$SECONDS
phase_name=""
phase() {  # ends the running phase (printing its duration) and starts the next
  if [ -n "$phase_name" ]; then echo "== $phase_name: $((SECONDS - phase_start)) s"; fi
  phase_name=$1
  phase_start=$SECONDS
  if [ -n "$phase_name" ]; then echo "== $phase_name"; fi
}

phase "setup: Debian packages"
bash scripts/setup.sh
if [ -f tests/interop/package-lock.json ]; then
  phase "setup: js-libp2p interop packages (npm ci, pinned by tests/interop/package-lock.json)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

jobs=$(nproc)
phase "build: g++ ASan+UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTARGATE_SANITIZE=ON >/dev/null
cmake --build build/asan -j "$jobs"

phase "build: clang libFuzzer targets (sans-IO codecs only)"
CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTARGATE_FUZZ=ON >/dev/null
cmake --build build/fuzz -j "$jobs"

phase "test: ctest"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/asan --output-on-failure -j "$jobs" --timeout 300

phase "fuzz: short run of every target"
bash scripts/fuzz.sh build/fuzz "${FUZZ_SECONDS:-10}"

phase ""
