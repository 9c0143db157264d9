# shellcheck shell=bash
# What every NAT lab test script shares: the root/tools check (skip with 77, or fail when
# CI=true), check counting, failure reports with the logs of $work, and timing.
#   source tests/natlab/testlib.sh   (after setting $work)

natlab_require() {  # natlab_require TOOL...: skips unless root and every tool is there
  local tool
  [[ $EUID -eq 0 ]] || natlab_skip "not running as root"
  for tool in ip iptables python3 timeout "$@"; do
    command -v "$tool" >/dev/null || natlab_skip "$tool is not installed (scripts/setup.sh installs it)"
  done
}

natlab_skip() {
  if [[ "${CI:-}" == true ]]; then
    echo "natlab: FAILED: cannot run the NAT lab: $* (a skip counts as a failure when CI=true)" >&2
    exit 1
  fi
  echo "natlab: SKIPPED: $* (the NAT lab needs root, iproute2, iptables and python3)" >&2
  exit 77
}

checks=0
t_check=$SECONDS
fail() {
  echo "natlab: FAILED: $*" >&2
  local f
  for f in "$work"/*.log "$work"/*.out "$work"/*.err; do
    [[ -s "$f" ]] || continue
    echo "--- last lines of $(basename "$f") ---" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
pass() {
  checks=$((checks + 1))
  echo "ok $checks - $* ($((SECONDS - t_check)) s)"
  t_check=$SECONDS
}
