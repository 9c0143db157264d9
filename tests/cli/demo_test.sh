#!/usr/bin/env bash
# `stargate demo`, the README's first command, run as a test: with a nats-server (--json: one JSON
# object per line; a successful call over each of direct, relay and nats; a relay killed and the
# calls carrying on, through the backup relay, then over NATS; a summary that agrees with the call
# events), as a person sees it (every tier named), and with --no-nats (direct and relay only).
#   demo_test.sh STARGATE_BINARY
set -uo pipefail
stargate="$1"
test_name=demo_test
# shellcheck source=tests/cli/testlib.sh
source "$(dirname "$0")/testlib.sh"
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || fail "nats-server is not installed"
demo() { timeout 60 "$stargate" demo "$@"; }

# check_events FILE MODE: every line is a JSON object; MODE nats or no-nats says what must be there.
check_events() {
  python3 - "$1" "$2" <<'PY'
import json, sys
path, mode = sys.argv[1], sys.argv[2]
events = []
for n, line in enumerate(open(path), 1):
    try:
        events.append(json.loads(line))
    except ValueError:
        sys.exit(f"line {n} is not JSON: {line!r}")
    if not isinstance(events[-1], dict) or "event" not in events[-1]:
        sys.exit(f"line {n} is not an event object: {line!r}")
def die(why):
    sys.exit(why + "\n" + "\n".join(json.dumps(e) for e in events))
calls = [e for e in events if e["event"] == "call"]
for c in calls:
    if not (c["ok"] is True and isinstance(c["ms"], (int, float)) and c["ms"] >= 0):
        die(f"a call failed or has no time: {c}")
ok_tiers = {c["tier"] for c in calls if c["ok"]}
want = {"direct", "relay", "nats"} if mode == "nats" else {"direct", "relay"}
if not want <= ok_tiers:
    die(f"successful calls over {sorted(ok_tiers)}, expected {sorted(want)}")
forced = {c["via"]: c["tier"] for c in calls if c["via"] != "any"}
if any(via != tier for via, tier in forced.items()):
    die(f"a forced call took another tier: {forced}")
if mode == "no-nats" and "nats" in ok_tiers | set(forced):
    die("a call over nats without a broker")
if mode == "no-nats" and not any(e["event"] == "skipped" and "nats" in e["step"] for e in events):
    die("no event says the NATS tier is skipped")
killed = [i for i, e in enumerate(events) if e["event"] == "relay_killed"]
if not killed:
    die("no relay_killed event")
# After the primary dies: calls through the backup relay; after the backup dies too: over NATS.
after_first = [e for e in events[killed[0] + 1:(killed[1] if len(killed) > 1 else len(events))] if e["event"] == "call"]
if not after_first or any(not c["ok"] or c["tier"] != "relay" for c in after_first):
    die(f"after the primary relay died, calls did not carry on through the backup: {after_first}")
if mode == "nats":
    if len(killed) != 2:
        die("expected both relays killed")
    after_second = [e for e in events[killed[1] + 1:] if e["event"] == "call"]
    if not after_second or any(not c["ok"] or c["tier"] != "nats" for c in after_second):
        die(f"after the backup relay died, calls did not carry on over NATS: {after_second}")
    found = {p["name"]: p for d in events if d["event"] == "discovery" for p in d["found"]}
    if found.get("bob", {}).get("capabilities") != ["shout"] or "carol" not in found:
        die(f"discovery did not list bob and carol with their capabilities: {found}")
summary = events[-1]
if summary["event"] != "summary" or summary["ok"] is not True or summary["calls_failed"] != 0:
    die(f"the last event is not a successful summary: {summary}")
counted = {t: sum(1 for c in calls if c["tier"] == t) for t in ("direct", "relay", "nats")}
if summary["by_tier"] != counted or summary["calls"] != len(calls):
    die(f"the summary {summary} does not match the call events {counted}")
print(f"{len(events)} events, {len(calls)} calls, by tier {counted}")
PY
}

demo --json >"$work/demo.json" 2>"$work/demo.err" || fail "stargate demo --json exited $?: $(cat "$work/demo.json")"
out=$(check_events "$work/demo.json" nats) || fail "stargate demo --json: $out"
pass "demo --json: every line JSON, calls over direct, relay and nats, relays killed and calls carrying on, summary ($out)"

demo >"$work/demo.txt" 2>"$work/demo-human.err" || fail "stargate demo exited $?: $(cat "$work/demo.txt")"
for tier in direct relay nats; do
  grep -q "ok over $tier" "$work/demo.txt" || fail "the human output names no call over $tier: $(cat "$work/demo.txt")"
done
for line in "relay primary killed" "every call succeeded"; do
  grep -q "$line" "$work/demo.txt" || fail "the human output lacks '$line': $(cat "$work/demo.txt")"
done
pass "demo (human output) names every tier, the relay killed and the verdict"

demo --no-nats --json >"$work/no-nats.json" 2>"$work/no-nats.err" || fail "stargate demo --no-nats --json exited $?: $(cat "$work/no-nats.json")"
out=$(check_events "$work/no-nats.json" no-nats) || fail "stargate demo --no-nats --json: $out"
pass "demo --no-nats --json: direct and relay calls, none over nats, the skip said ($out)"

echo "$test_name: $checks checks passed"
