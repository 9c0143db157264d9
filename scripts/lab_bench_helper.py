#!/usr/bin/env python3
"""Timing and polling helper of scripts/lab_bench.sh (the NAT lab benchmark). Not a test.

Every sample is appended to a JSON-lines results file (one object per measurement) and the
report subcommand turns that file into the markdown section of docs/benchmarks.md. Every wait
has a deadline.

  oneshot RESULTS KEY N EXPECT -- CMD...  run CMD N times (after one untimed warm-up), time each run
                                       from start to exit; each must exit 0 and print EXPECT
  ctl RESULTS KEY SOCK N PEER PARAMS   N calls through a running agent's control socket, on one
                                       unix connection (PARAMS: JSON or @FILE); ms per call
  ctlstatus RESULTS KEY SOCK N         N `status` requests on one control connection (no network)
  pings RESULTS KEY -- CMD...          run `stargate ping --json` once, keep each rtt_us
  perf RESULTS KEY -- CMD...           run stargate_lab_perf once, keep each run's MB/s
  wait SOCK EXPR TIMEOUT               poll `status` until EXPR (Python, on v) is truthy; print it
  punch RESULTS KEY TIMEOUT PAIRS...   hole-punch attempts in parallel; PAIR = dirA,dirB,peerB,relayId
  report RESULTS                       the markdown section on stdout
"""
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time


def append(results, obj):
    with open(results, "a") as f:
        f.write(json.dumps(obj) + "\n")


class Control:
    """One connection to an agent's control socket (JSON-RPC 2.0, one object per line)."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0

    def request(self, method, params):
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}) + "\n"
        self.sock.sendall(line.encode())
        reply = self.reader.readline()
        if not reply:
            raise RuntimeError("control socket closed")
        reply = json.loads(reply)
        if "error" in reply:
            raise RuntimeError(f"control {method}: {reply['error']}")
        return reply["result"]

    def close(self):
        self.reader.close()
        self.sock.close()


def control_request(path, method, params, timeout=10):
    c = Control(path, timeout)
    try:
        return c.request(method, params)
    finally:
        c.close()


def load_params(arg):
    if arg.startswith("@"):
        with open(arg[1:]) as f:
            return json.load(f)
    return json.loads(arg)


def cmd_oneshot(results, key, n, expect, cmd):
    samples = []
    for i in range(n + 1):
        t0 = time.perf_counter_ns()
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        ms = (time.perf_counter_ns() - t0) / 1e6
        if p.returncode != 0 or expect.encode() not in p.stdout:
            sys.exit(f"oneshot {key} run {i}: exit {p.returncode}: {p.stdout[-300:]!r} {p.stderr[-300:]!r}")
        if i > 0:  # run 0 is the warm-up (page cache, identity file created)
            samples.append(ms)
    append(results, {"key": key, "unit": "ms", "samples": samples})


def cmd_ctl(results, key, path, n, peer, params):
    params = load_params(params)
    size = len(json.dumps(params))
    c = Control(path, 60)
    samples = []
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            r = c.request("call", {"peer": peer, "method": "ping", "params": params, "timeout_ms": 30000})
            samples.append((time.perf_counter_ns() - t0) / 1e6)
            if not r.get("pong"):
                sys.exit(f"ctl {key}: unexpected result {str(r)[:200]}")
    finally:
        c.close()
    append(results, {"key": key, "unit": "ms", "samples": samples, "params_bytes": size})


def cmd_ctlstatus(results, key, path, n):
    c = Control(path, 30)
    samples = []
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            c.request("status", {})
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        c.close()
    append(results, {"key": key, "unit": "ms", "samples": samples})


def cmd_pings(results, key, cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=90)
    if p.returncode != 0:
        sys.exit(f"pings {key}: exit {p.returncode}: {p.stderr[-300:]!r}")
    samples = []
    for line in p.stdout.decode().splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if "rtt_us" in obj:
            samples.append(obj["rtt_us"] / 1000.0)
    if not samples:
        sys.exit(f"pings {key}: no rtt_us in {p.stdout[-300:]!r}")
    append(results, {"key": key, "unit": "ms", "samples": samples})


def cmd_perf(results, key, cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=180)
    if p.returncode != 0:
        sys.exit(f"perf {key}: exit {p.returncode}: {p.stderr[-300:]!r}")
    runs = [json.loads(line) for line in p.stdout.decode().splitlines() if line.startswith("{")]
    if not runs:
        sys.exit(f"perf {key}: no result in {p.stdout[-300:]!r}")
    append(results, {"key": key, "unit": "MB/s", "samples": [r["mbps"] for r in runs], "bytes": runs[0]["bytes"],
                     "relayed": runs[0]["relayed"]})


def poll(path, expr, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = control_request(path, "status", {})
            value = eval(expr, {"v": last})
            if value:
                return value, last
        except (OSError, RuntimeError, ValueError, KeyError, IndexError):
            pass
        time.sleep(0.05)
    return None, last


def cmd_wait(path, expr, timeout):
    value, last = poll(path, expr, timeout)
    if not value:
        sys.exit(f"wait: timed out after {timeout} s on {expr}; last status: {json.dumps(last)[:1500]}")
    print(value if isinstance(value, str) else json.dumps(value))


def punch_attempt(dir_a, dir_b, peer_b, relay_id, timeout, out):
    """a's agent calls b's agent through b's circuit address; then, with a deadline, waits for
    the end of b's DCUtR upgrade: a direct connection (success) or every try failed."""
    sock_a = os.path.join(dir_a, "stargate.sock")
    sock_b = os.path.join(dir_b, "stargate.sock")
    res = {"outcome": "error"}
    try:
        circuit, _ = poll(sock_b, f"[a for a in v['addresses'] if '/p2p/{relay_id}/p2p-circuit/' in a][0]", 20)
        if not circuit:
            res["outcome"] = "no_reservation"
            return
        t0 = time.monotonic()
        r = control_request(sock_a, "call", {"peer": circuit, "method": "ping", "params": {}, "timeout_ms": 20000}, 30)
        if not r.get("pong"):
            res["outcome"] = "call_failed"
            return
        deadline = t0 + timeout
        while True:
            sa = control_request(sock_a, "status", {})
            sb = control_request(sock_b, "status", {})
            hp = sb["hole_punch"]
            direct = [c for c in sa["connections"] if c["peer_id"] == peer_b and not c["relayed"]]
            failures = sum(hp["failures"].values())
            final_reasons = {"no_addresses", "protocol_refused", "peer_sent_no_addresses"}
            res.update(b_attempts=hp["attempts"], b_successes=hp["successes"], b_failures=hp["failures"])
            if direct and hp["successes"] >= 1:
                res.update(outcome="direct", ms=round((time.monotonic() - t0) * 1000), remote=direct[0]["remote_addr"])
                return
            if failures >= 3 or final_reasons & set(hp["failures"]):
                res.update(outcome="relayed", ms=round((time.monotonic() - t0) * 1000))
                return
            if time.monotonic() > deadline:
                res.update(outcome="timeout", ms=round((time.monotonic() - t0) * 1000))
                return
            time.sleep(0.1)
    except Exception as e:  # reported, counted as an error, never as a success
        res["error"] = str(e)[:300]
    finally:
        out.append(res)


def cmd_punch(results, key, timeout, pairs):
    out = []
    threads = []
    for pair in pairs:
        dir_a, dir_b, peer_b, relay_id = pair.split(",")
        t = threading.Thread(target=punch_attempt, args=(dir_a, dir_b, peer_b, relay_id, timeout, out))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(timeout + 60)
    for res in out:
        append(results, {"key": key, **res})
    print(" ".join(r["outcome"] for r in out))


# ------------------------------------------------------------------------------------ report
def pct(samples, p):
    s = sorted(samples)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def fmt_ms(v):
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def cmd_report(results):
    rows = {}
    punches = {}
    meta = {}
    with open(results) as f:
        for line in f:
            obj = json.loads(line)
            if obj["key"].startswith("punch:"):
                punches.setdefault(obj["key"][6:], []).append(obj)
            elif obj["key"] == "meta":
                meta.update(obj)
            else:
                rows[obj["key"]] = obj

    def lat(key, label):
        r = rows.get(key)
        if not r:
            return f"| {label} | — | not measured | | |"
        s = r["samples"]
        return f"| {label} | {len(s)} | {fmt_ms(pct(s, 50))} | {fmt_ms(pct(s, 90))} | {fmt_ms(min(s))} |"

    out = []
    out.append("### 1. Time to a successful call")
    out.append("")
    out.append("| scenario / how | runs | median | p90 | min |")
    out.append("|---|---:|---:|---:|---:|")
    scen = [("pp", "public ↔ public, direct (fw → pub)"),
            ("np", "NAT → public, direct (a behind eim → pub)"),
            ("nn", "NAT ↔ NAT through the relay (eim ↔ eim)"),
            ("ss", "symmetric ↔ symmetric through the relay")]
    for k, label in scen:
        out.append(lat(f"oneshot:{k}", f"{label}: one-shot `stargate call`"))
        first = rows.get(f"first:{k}")
        if first:
            out.append(f"| {label}: first call through a running agent (new connection) | 1 | {fmt_ms(first['samples'][0])} | | |")
        note = " (direct after the punch)" if k == "nn" else ""
        out.append(lat(f"agentcli:{k}", f"{label}: `stargate call` through the running agent, connection reused{note}"))
    out.append(lat("agentcli:floor", "floor: `stargate status` through the running agent (process start + control socket, no network)"))
    out.append("")
    out.append("### 2. Round trip per call, relayed vs direct (a's running agent calls b's, control socket in a loop)")
    out.append("")
    out.append("| path | calls | median | p90 | min |")
    out.append("|---|---:|---:|---:|---:|")
    out.append(lat("rtt:direct", "direct (eim ↔ eim, hole-punched): `ping` call, `{}` params"))
    out.append(lat("rtt:relayed", "relayed (symmetric ↔ symmetric, private relay): `ping` call, `{}` params"))
    out.append(lat("rtt:floor", "floor: `status` request on the same control connection (no network)"))
    out.append(lat("ping:direct", "libp2p `/ipfs/ping` round trip, direct a → pub (`stargate ping --interval 0`)"))
    out.append(lat("ping:relayed", "libp2p `/ipfs/ping` round trip, a → b through the relay"))
    if rows.get("ping:direct") and rows.get("ping:relayed"):
        d = pct(rows["ping:relayed"]["samples"], 50) - pct(rows["ping:direct"]["samples"], 50)
        meta["relay_extra_ms"] = d
    out.append("")
    out.append("### 3. Throughput, relayed vs direct")
    out.append("")
    out.append("| path (`/perf/1.0.0` download, one stream, `stargate_lab_perf` on a) | bytes per run | runs | median | best |")
    out.append("|---|---:|---:|---:|---:|")
    for k, label in [("perf:direct", "direct: a (behind eim) → the agent on pub"),
                     ("perf:relayed", "relayed: a → the agent on b through the relay (`--private`), symmetric NATs")]:
        r = rows.get(k)
        if not r:
            out.append(f"| {label} | | | not measured | |")
            continue
        out.append(f"| {label} | {r['bytes']} | {len(r['samples'])} | {pct(r['samples'], 50):.0f} MB/s | {max(r['samples']):.0f} MB/s |")
    out.append("")
    out.append("| path (A2A `ping` call echoing a large payload, a's agent → b's) | payload (params JSON) | calls | median per call | payload moved (request + echo), median |")
    out.append("|---|---:|---:|---:|---:|")
    for k, label in [("tput:direct", "direct (eim ↔ eim, hole-punched)"), ("tput:relayed", "relayed (symmetric ↔ symmetric, relay `--private`)")]:
        r = rows.get(k)
        if not r:
            out.append(f"| {label} | | | not measured | |")
            continue
        med = pct(r["samples"], 50)
        mbps = 2 * r["params_bytes"] / (med / 1000) / 1e6
        out.append(f"| {label} | {r['params_bytes']} B | {len(r['samples'])} | {fmt_ms(med)} | {mbps:.1f} MB/s |")
    out.append("")
    out.append("### 4. Hole-punch success rate (each attempt: two fresh agents, fresh identities and listen ports)")
    out.append("")
    out.append("| pairing (a ↔ b) | attempts | direct | stayed relayed | other | success | time to direct, median / p90 | b's DCUtR tries: successes / failures by reason |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for pairing in ["eim-eim", "eim-symmetric", "symmetric-symmetric"]:
        rs = punches.get(pairing, [])
        if not rs:
            out.append(f"| {pairing} | 0 | | | | not measured | | |")
            continue
        direct = [r for r in rs if r["outcome"] == "direct"]
        relayed = [r for r in rs if r["outcome"] == "relayed"]
        other = [r for r in rs if r["outcome"] not in ("direct", "relayed")]
        times = [r["ms"] for r in direct]
        t = f"{pct(times, 50)} / {pct(times, 90)} ms" if times else "—"
        succ = sum(r.get("b_successes", 0) for r in rs)
        reasons = {}
        for r in rs:
            for reason, n in r.get("b_failures", {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"
        other_s = str(len(other))
        if other:
            kinds = {}
            for r in other:
                kinds[r["outcome"]] = kinds.get(r["outcome"], 0) + 1
            other_s += " (" + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ")"
        out.append(f"| {pairing.replace('-', ' ↔ ')} | {len(rs)} | {len(direct)} | {len(relayed)} | {other_s} | "
                   f"{100 * len(direct) / len(rs):.0f}% | {t} | {succ} / {why} |")
    delay = float(meta.get("delay_ms", 0))
    if delay and rows.get("rtt:direct") and rows.get("rtt:relayed"):
        d = pct(rows["rtt:relayed"]["samples"], 50) - pct(rows["rtt:direct"]["samples"], 50)
        out.append("")
        out.append(f"Path round trips added by the delay stages ({delay:g} ms per router each way): a ↔ pub "
                   f"{2 * delay:g} ms (r1 only), a ↔ b {4 * delay:g} ms (r1 and r2) whether direct or through the "
                   f"relay, which sits on the zero-delay internet segment. Relayed minus direct A2A call (same "
                   f"delayed path), median: {d:.2f} ms. The `/ipfs/ping` rows compare different paths "
                   f"(a → pub vs a → b): {meta.get('relay_extra_ms', 0):.1f} ms apart.")
        stages = [f"{r} `{meta[f'stage_{r}']}` (exit {meta.get(f'stage_{r}_rc', '?')})" for r in ("r1", "r2") if f"stage_{r}" in meta]
        if stages:
            out.append("")
            out.append("Delay stages' counters over the whole run (overflow = tail drops at the 1000-packet limit): "
                       + "; ".join(stages) + ".")
    elif "relay_extra_ms" in meta:
        out.append("")
        out.append(f"Relay's extra round trip in this zero-delay lab (median `/ipfs/ping` through the relay minus direct): "
                   f"{meta['relay_extra_ms'] * 1000:.0f} µs.")
    print("\n".join(out))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd in ("oneshot", "pings", "perf"):
        sep = a.index("--")
        if cmd == "oneshot":
            cmd_oneshot(a[1], a[2], int(a[3]), a[4], a[sep + 1:])
        elif cmd == "pings":
            cmd_pings(a[1], a[2], a[sep + 1:])
        else:
            cmd_perf(a[1], a[2], a[sep + 1:])
    elif cmd == "ctl":
        cmd_ctl(a[1], a[2], a[3], int(a[4]), a[5], a[6])
    elif cmd == "ctlstatus":
        cmd_ctlstatus(a[1], a[2], a[3], int(a[4]))
    elif cmd == "wait":
        cmd_wait(a[1], a[2], float(a[3]))
    elif cmd == "punch":
        cmd_punch(a[1], a[2], float(a[3]), a[4:])
    elif cmd == "report":
        cmd_report(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
