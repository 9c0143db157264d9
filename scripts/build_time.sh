#!/usr/bin/env bash
# Times what scripts/demo.sh compiles: a Release build of the `stargate` target from nothing, in a
# scratch build directory (build/build-time), with the README's flags. Prints the wall time and the
# slowest compile steps (from .ninja_log), the numbers docs/building.md holds the build to.
#   scripts/build_time.sh [--keep] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
jobs=$(nproc)
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    --jobs) jobs=$2; shift ;;
    *) echo "usage: $0 [--keep] [--jobs N]" >&2; exit 2 ;;
  esac
  shift
done
dir=build/build-time
rm -rf "$dir"
start=$SECONDS
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARGATE_TESTS=OFF >/dev/null
configured=$SECONDS
cmake --build "$dir" --target stargate -j "$jobs" >/dev/null
end=$SECONDS
echo "configure: $((configured - start)) s; build of stargate (-j $jobs): $((end - configured)) s"
python3 - "$dir/.ninja_log" <<'PY'
import sys
steps = []
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    begin, end, _, out, _ = line.rstrip("\n").split("\t")
    steps.append(((int(end) - int(begin)) / 1000, out))
print(f"{len(steps)} steps, {sum(s for s, _ in steps):.0f} s summed; slowest:")
for seconds, out in sorted(steps, reverse=True)[:10]:
    print(f"  {seconds:6.1f} s  {out}")
PY
if ((!keep)); then rm -rf "$dir"; fi
