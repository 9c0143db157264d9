#!/usr/bin/env bash
# The test wrapper itself (tests/isolated.sh): scripts that leave a process behind, however they
# started it, fail; clean ones pass with their own exit status (77 still a skip); nothing planted
# outlives the wrapper.
#   isolated_test.sh
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wrapper="$here/isolated.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/stargate-isolated.XXXXXX")"
trap 'rm -rf "$work"' EXIT
checks=0
fail() { echo "isolated_test: FAILED: $*" >&2; [[ -s "$work/err" ]] && cat "$work/err" >&2; exit 1; }
pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }

# A sleep no other process on the machine runs: the argument is unique to this run.
marker="1000.$$$RANDOM"
# plant NAME BODY: a test script of that body.
plant() { printf '#!/usr/bin/env bash\n%s\n' "$2" >"$work/$1.sh"; chmod +x "$work/$1.sh"; }
# expect RC NAME: runs the planted script through the wrapper; its status must be RC.
expect() {
  "$wrapper" "$work/$2.sh" >"$work/out" 2>"$work/err"
  local rc=$?
  [[ $rc -eq $1 ]] || fail "$2 exited $rc through the wrapper, not $1"
}
# Whether a process of this run's marker is alive anywhere we can see.
marker_alive() {
  local d
  for d in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q -- "sleep $marker" && return 0
  done
  return 1
}

plant clean 'sleep 30 & p=$!; kill "$p"; wait "$p"; echo done; exit 0'
expect 0 clean
[[ "$(cat "$work/out")" == done && ! -s "$work/err" ]] || fail "a clean script's output was changed"
plant fails 'exit 3'
expect 3 fails
plant skips 'exit 77'
expect 77 skips
pass "clean scripts keep their exit status (0, 3, 77) and their output"

plant setsid "setsid sleep $marker & sleep 0.2; exit 0"
expect 1 setsid
grep -q "still running after .*setsid.sh exited: pid [0-9]* (parent [0-9]*): .*sleep $marker" "$work/err" ||
  fail "the wrapper did not name the leaked process"
grep -q "FAILED: .*setsid.sh left 1 process(es) running (killed now); it exited 0 itself" "$work/err" ||
  fail "the wrapper did not say why it failed"
marker_alive && fail "the planted sleep outlived the wrapper"
pass "a process started through setsid by a script that exits 0 fails the test, and is killed"

plant daemon "( (exec sleep $marker) & ) & sleep 0.2; exit 77"
expect 1 daemon
marker_alive && fail "the double-forked sleep outlived the wrapper"
pass "a double-forked process fails the test even when the script skips (77), and is killed"

plant ignores_term "trap '' TERM; (exec sleep $marker) & sleep 0.2; exit 0"
expect 1 ignores_term
marker_alive && fail "a sleep that ignores SIGTERM outlived the wrapper"
pass "a process that ignores SIGTERM is killed"

plant substitution "x=\$(sleep $marker >/dev/null & echo started); [[ \$x == started ]]"
expect 1 substitution
marker_alive && fail "a sleep started inside \$(...) outlived the wrapper"
pass "a process started inside a command substitution fails the test"

if [[ $EUID -eq 0 ]] && command -v ip >/dev/null; then
  plant netns "ip netns add leak || exit 9; ip netns exec leak sleep $marker & sleep 0.2; exit 0"
  expect 1 netns
  marker_alive && fail "the sleep in a network namespace outlived the wrapper"
  ip netns list 2>/dev/null | grep -q '^leak\b' && fail "the planted network namespace is visible outside the run"
  pass "a process started through ip netns exec fails the test; the run's network namespaces are its own"
else
  echo "ok - # SKIP ip netns exec (needs root and iproute2)"
fi
echo "isolated_test: all $checks checks passed"
