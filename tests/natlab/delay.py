#!/usr/bin/env python3
"""Userspace delay/loss stage for the NAT lab (this kernel has no netem qdisc).

  delay.py --dev tun0 --delay-ms MS [--loss PERCENT] [--limit PACKETS] [--seed N]

Creates the TUN device DEV (IFF_TUN | IFF_NO_PI) in the current network namespace, prints
"ready DEV", then reads every IP packet the kernel routes into DEV, holds it for MS
milliseconds and writes it back into DEV, where the kernel receives it as if it had arrived on
DEV and routes it again. The delay is constant, so a FIFO is the timer queue (every packet's
due time is later than the one before it) and packet order is kept. A packet is dropped at
random with probability PERCENT/100, and when LIMIT packets are already held (a tail drop, as
netem's "limit", default 1000). The device lives as long as this process: on SIGTERM/SIGINT
the held packets are discarded, a "stopped ..." line with the counters is printed, and the
process exits 0 (the kernel removes the device when its last file descriptor closes).
The lab wires it into a router with lab_set_delay (tests/natlab/lab.sh, docs/natlab.md).
Python 3 standard library only.
"""
import argparse
import collections
import errno
import fcntl
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
READ_BATCH = 256  # packets read per wake-up before due packets are written out


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    os.set_blocking(fd, False)
    return fd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default="tun0")
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--loss", type=float, default=0.0, help="percent of packets dropped at random")
    ap.add_argument("--limit", type=int, default=1000, help="packets held at most (tail drop beyond)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.delay_ms < 0 or not 0 <= args.loss <= 100 or args.limit < 1:
        ap.error("need --delay-ms >= 0, 0 <= --loss <= 100, --limit >= 1")
    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    loss = args.loss / 100.0

    # Signals wake the select() through a pipe; the handler only sets a flag.
    stop = []
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: stop.append(s))

    fd = open_tun(args.dev)
    print(f"ready {args.dev} delay_ms={args.delay_ms:g} loss={args.loss:g}% limit={args.limit}", flush=True)

    held = collections.deque()  # (due, packet), due times non-decreasing
    n_in = n_out = n_loss = n_full = n_err = 0
    while not stop:
        timeout = None
        if held:
            timeout = max(0.0, held[0][0] - time.monotonic())
        try:
            ready, _, _ = select.select([fd, wake_r], [], [], timeout)
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 64)
            except BlockingIOError:
                pass
        if fd in ready:
            now = time.monotonic()
            for _ in range(READ_BATCH):
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                n_in += 1
                if loss and rng.random() < loss:
                    n_loss += 1
                elif len(held) >= args.limit:
                    n_full += 1
                else:
                    held.append((now + delay, pkt))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, pkt = held.popleft()
            try:
                os.write(fd, pkt)
                n_out += 1
            except OSError as e:  # e.g. EINVAL for a malformed packet: count it, keep going
                if e.errno not in (errno.EAGAIN, errno.EINVAL, errno.EIO):
                    raise
                n_err += 1
    os.close(fd)
    print(f"stopped: in={n_in} out={n_out} lost={n_loss} overflow={n_full} write_errors={n_err} "
          f"discarded={len(held)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
