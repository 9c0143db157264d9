#!/usr/bin/env python3
"""Small TCP probes for the NAT lab (run inside a namespace with `ip netns exec`).

  probe.py serve IP PORT COUNT            print "listening", then "peer IP:PORT" for each of
                                          COUNT accepted connections
  probe.py connect BIND_IP BIND_PORT IP PORT TIMEOUT
                                          connect from a fixed source port; print "connected"
  probe.py simopen BIND_IP BIND_PORT IP PORT GO_FIFO TIMEOUT
                                          TCP simultaneous open: SO_REUSEADDR + SO_REUSEPORT,
                                          bind, print "ready", wait for a byte on GO_FIFO (the
                                          barrier), connect, exchange a line with the peer
  probe.py echo IP PORT COUNT             print "listening", then serve COUNT connections one
                                          after the other, echoing every byte back
  probe.py rtt IP PORT ROUNDS TIMEOUT     connect to an echo server (timed: one round trip,
                                          SYN to SYN-ACK), then ROUNDS echo round trips of a
                                          short line, one at a time; print
                                          "rtt connect_ms=… min_ms=… median_ms=… max_ms=…"

Exit 0 on success, 1 on failure (with the reason on stdout), 2 on usage errors.
"""
import os
import socket
import sys
import time


def out(msg):
    print(msg, flush=True)


def bound_socket(ip, port, reuse):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((ip, port))
    return s


def serve(ip, port, count):
    s = bound_socket(ip, int(port), True)
    s.listen(16)
    out("listening")
    for _ in range(int(count)):
        c, peer = s.accept()
        out(f"peer {peer[0]}:{peer[1]}")
        c.close()
    return 0


def connect(bind_ip, bind_port, ip, port, timeout):
    s = bound_socket(bind_ip, int(bind_port), True)
    s.settimeout(float(timeout))
    try:
        s.connect((ip, int(port)))
    except OSError as e:
        out(f"failed {type(e).__name__}: {e}")
        return 1
    out(f"connected local={s.getsockname()[0]}:{s.getsockname()[1]}")
    s.close()
    return 0


def simopen(bind_ip, bind_port, ip, port, go_fifo, timeout):
    s = bound_socket(bind_ip, int(bind_port), True)
    s.settimeout(float(timeout))
    out("ready")
    fd = os.open(go_fifo, os.O_RDONLY)  # the barrier: the harness writes once both are ready
    os.read(fd, 1)
    os.close(fd)
    try:
        s.connect((ip, int(port)))
        me = f"hello from {bind_ip}:{bind_port}\n".encode()
        s.sendall(me)
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(256)
            if not chunk:
                raise ConnectionError("peer closed before its hello")
            got += chunk
    except OSError as e:
        out(f"failed {type(e).__name__}: {e}")
        return 1
    out(f"connected peer said: {got.decode().strip()}")
    s.close()
    return 0


def echo(ip, port, count):
    s = bound_socket(ip, int(port), True)
    s.listen(16)
    out("listening")
    for _ in range(int(count)):
        c, _ = s.accept()
        with c:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                c.sendall(data)
    return 0


def rtt(ip, port, rounds, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(float(timeout))
    times = []
    try:
        t0 = time.monotonic()
        s.connect((ip, int(port)))
        connect_ms = (time.monotonic() - t0) * 1000
        for i in range(int(rounds)):
            line = f"probe {i}\n".encode()
            t0 = time.monotonic()
            s.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = s.recv(256)
                if not chunk:
                    raise ConnectionError("the echo server closed")
                got += chunk
            times.append((time.monotonic() - t0) * 1000)
    except OSError as e:
        out(f"failed {type(e).__name__}: {e}")
        return 1
    s.close()
    times.sort()
    out(f"rtt connect_ms={connect_ms:.2f} min_ms={times[0]:.2f} median_ms={times[len(times) // 2]:.2f} "
        f"max_ms={times[-1]:.2f}")
    return 0


def main(argv):
    cmds = {"serve": (serve, 3), "connect": (connect, 5), "simopen": (simopen, 6), "echo": (echo, 3),
            "rtt": (rtt, 4)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _ = cmds[argv[1]]
    return fn(*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
