#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bounded test traffic on loopback only: run as a test user inside a test cgroup.

  traffic.py udp-recv FAMILY PORT COUNT READYFILE   receive COUNT datagrams (20 s max)
  traffic.py udp-send FAMILY ADDR PORT COUNT SIZE [SRC]  send COUNT datagrams of SIZE payload bytes
  traffic.py tcp-recv FAMILY PORT READYFILE         accept one connection, read until EOF
  traffic.py tcp-send FAMILY ADDR PORT BYTES        connect, send BYTES, close
  traffic.py udp-flood FAMILY ADDR PORT SECONDS SIZE [NPEERS]  send as fast as possible (bounded)
"""
import os
import socket
import sys
import time

LOOPBACK = ("127.", "::1")


def fam(name):
    return socket.AF_INET6 if name in ("6", "ipv6", "inet6") else socket.AF_INET


def check_addr(addr):
    # Never anything but loopback: the test machine's network must stay untouched.
    if not addr.startswith(LOOPBACK):
        sys.exit("traffic.py: refusing non-loopback address %s" % addr)


def any_addr(family):
    return "::1" if family == socket.AF_INET6 else "127.0.0.1"


def main(argv):
    mode = argv[1]
    deadline = time.monotonic() + 20
    if mode == "udp-recv":
        family, port, count, ready = fam(argv[2]), int(argv[3]), int(argv[4]), argv[5]
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((any_addr(family), port))
        open(ready, "w").close()
        got = 0
        while got < count and time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                s.recv(65536)
                got += 1
            except socket.timeout:
                break
        print(got)
    elif mode == "udp-send":
        family, addr, port, count, size = fam(argv[2]), argv[3], int(argv[4]), int(argv[5]), int(argv[6])
        check_addr(addr)
        s = socket.socket(family, socket.SOCK_DGRAM)
        if len(argv) > 7:
            check_addr(argv[7])
            s.bind((argv[7], 0))
        payload = b"x" * size
        for _ in range(count):
            s.sendto(payload, (addr, port))
            time.sleep(0.001)  # keep the receiver's queue short: no loss on loopback
    elif mode == "tcp-recv":
        family, port, ready = fam(argv[2]), int(argv[3]), argv[4]
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((any_addr(family), port))
        s.listen(1)
        s.settimeout(20)
        open(ready, "w").close()
        c, _ = s.accept()
        c.settimeout(20)
        n = 0
        while time.monotonic() < deadline:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
        c.close()
        print(n)
    elif mode == "tcp-send":
        family, addr, port, nbytes = fam(argv[2]), argv[3], int(argv[4]), int(argv[5])
        check_addr(addr)
        s = socket.create_connection((addr, port), timeout=20)
        s.sendall(b"y" * nbytes)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()
    elif mode == "udp-phases":
        # One connected socket sends COUNT datagrams per phase; after phase i it creates
        # SYNC/sent.i and waits for SYNC/go.i (10 s at most) before the next.
        family, addr, port, count, size = fam(argv[2]), argv[3], int(argv[4]), int(argv[5]), int(argv[6])
        sync, phases = argv[7], int(argv[8])
        check_addr(addr)
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.connect((addr, port))
        payload = b"p" * size
        for i in range(phases):
            for _ in range(count):
                s.send(payload)
                time.sleep(0.001)
            open("%s/sent.%d" % (sync, i), "w").close()
            if i + 1 < phases:
                wait_until = time.monotonic() + 10
                while not os.path.exists("%s/go.%d" % (sync, i)) and time.monotonic() < wait_until:
                    time.sleep(0.01)
    elif mode == "udp-flood":
        family, addr, port, secs, size = fam(argv[2]), argv[3], int(argv[4]), float(argv[5]), int(argv[6])
        npeers = int(argv[7]) if len(argv) > 7 else 1
        check_addr(addr)
        s = socket.socket(family, socket.SOCK_DGRAM)
        payload = b"z" * size
        end = time.monotonic() + min(secs, 60)
        base = [int(x) for x in addr.split(".")] if family == socket.AF_INET else None
        i = n = 0
        while time.monotonic() < end:
            dst = addr
            if npeers > 1 and base:
                k = i % npeers  # walk 127.x.y.z: distinct loopback peers only
                dst = "127.%d.%d.%d" % ((k >> 16) & 255, (k >> 8) & 255, (k & 255) or 1)
                i += 1
            try:
                s.sendto(payload, (dst, port))
                n += 1
            except OSError:
                pass
        print(n)
    else:
        sys.exit("traffic.py: unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
