#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, two at a time, from its seed corpus.
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?build dir}; seconds=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
targets=$(find "$build/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
[ -n "$targets" ] || { echo "no fuzz targets in $build/fuzz"; exit 0; }
status=0
run_one() {
  local target=$1 name; name=$(basename "$1")
  local work; work=$(mktemp -d)
  local seeds="$root/fuzz/corpus/$name"
  [ -d "$seeds" ] || seeds=""
  if "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -artifact_prefix="$work/" $work $seeds >"$work/log" 2>&1; then
    echo "fuzz ok: $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" || tail -1 "$work/log"))"
    rm -rf "$work"
  else
    echo "FUZZ FAILURE: $name"; tail -40 "$work/log"; return 1
  fi
}
export -f run_one; export seconds root
echo "$targets" | xargs -P 2 -I{} bash -c 'run_one {}' || status=1
exit $status
