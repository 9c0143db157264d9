#!/usr/bin/env bash
# Runs one test script in a PID namespace of its own and fails when anything it started outlives
# it. Every shell test that ctest runs goes through here (tests/CMakeLists.txt: STARGATE_ISOLATED).
#   isolated.sh SCRIPT [ARG...]
# Process groups and PID files miss what a script starts through `ip netns exec`, `setsid`, a
# double fork or a command substitution; a PID namespace holds all of it. Once the script exits,
# every process still alive in the namespace is listed on stderr (pid, parent, command line) and
# killed, and the test fails (exit 1); otherwise the script's own status is passed on (so 77, the
# NAT lab's SKIP_RETURN_CODE, still skips). When ctest kills a test that timed out, `unshare`
# dies, its child (the namespace's init) is killed with it (--kill-child), and the kernel kills
# everything else in the namespace.
# As root (CI, the development VM), /run/netns is a private tmpfs as well: the NAT lab names its
# network namespaces after its PID, which is no longer unique across concurrent runs, and a
# namespace left by a crashed run disappears with the run's mount namespace instead of
# lingering. Not as root, the namespaces are created in a user namespace that keeps our uid (the
# NAT lab then skips as before).
set -uo pipefail

if [[ "${1:-}" != --inner ]]; then
  if (($# < 1)); then
    echo "usage: isolated.sh SCRIPT [ARG...]" >&2
    exit 2
  fi
  namespaces=(--pid --fork --kill-child --mount-proc)
  ((EUID == 0)) || namespaces=(--user --map-current-user "${namespaces[@]}")
  if ! unshare "${namespaces[@]}" true; then
    echo "isolated.sh: cannot create a PID namespace for $1 (unshare ${namespaces[*]}: see above;" \
      "not as root this needs unprivileged user namespaces)" >&2
    exit 1
  fi
  exec unshare "${namespaces[@]}" -- "$(readlink -f "${BASH_SOURCE[0]}")" --inner "$@"
fi

# ---- inside the namespace: this shell is its init (pid 1)
shift
script=$1
if ((EUID == 0)); then
  mkdir -p /run/netns &&
    mount -t tmpfs -o mode=0755,size=1m stargate-test-netns /run/netns ||
    echo "isolated.sh: warning: no private /run/netns; NAT lab runs may collide" >&2
fi

# In the foreground, not with `&`: a non-interactive shell starts background jobs with SIGINT and
# SIGQUIT ignored, which the script and everything it starts would inherit. While waiting, this
# shell also reaps the orphans reparented to it, so a stopped process does not linger as a zombie.
"$@"
rc=$?

# Everything alive in the namespace but this shell. Builtins only (no process of our own shows up
# in the listing); zombies have exited already and are not survivors.
survivors=()
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  ((pid == $$)) && continue
  { read -r stat <"$dir/stat"; } 2>/dev/null || continue
  state=${stat##*) }  # the command name in parentheses may hold spaces and parentheses
  read -r state ppid _ <<<"$state"
  [[ "$state" == Z ]] && continue
  argv=()
  { mapfile -d '' -t argv <"$dir/cmdline"; } 2>/dev/null
  comm=${stat#*(}
  ((${#argv[@]})) || argv=("[${comm%)*}]")
  survivors+=("$pid")
  echo "isolated.sh: still running after $script exited: pid $pid (parent $ppid): ${argv[*]}" >&2
done
((${#survivors[@]} == 0)) && exit "$rc"
kill -KILL "${survivors[@]}" 2>/dev/null
echo "isolated.sh: FAILED: $script left ${#survivors[@]} process(es) running (killed now);" \
  "it exited $rc itself" >&2
exit 1
