#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Guest-side traffic for the list comparison: a tiny TCP/UDP server, and a client that hits VIPs.
import socket
import sys
import threading
import time

TCP_PORTS = (80, 443, 8080)
UDP_PORTS = (53, 5353)


def listen(family, kind, addr, port):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        # The IPv4 socket already holds the port; the IPv6 one must not claim it a second time.
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    return s


def serve_tcp(s):
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def handle(c):
    try:
        c.settimeout(30)
        while True:
            data = c.recv(1 << 16)
            if not data or data.endswith(b"\n"):
                break
        c.sendall(b"pod\n")
    except OSError:
        pass
    finally:
        c.close()


def serve_udp(s):
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def server():
    threads = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for port in TCP_PORTS:
            s = listen(fam, socket.SOCK_STREAM, addr, port)
            threads.append(threading.Thread(target=serve_tcp, args=(s,), daemon=True))
        for port in UDP_PORTS:
            s = listen(fam, socket.SOCK_DGRAM, addr, port)
            threads.append(threading.Thread(target=serve_udp, args=(s,), daemon=True))
    for t in threads:
        t.start()
    print("traffic server: listening", flush=True)
    threading.Event().wait()


def one(proto, host, port, size):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        if proto == "udp":
            s.settimeout(0.3)
            s.sendto(b"ping", (host, port))
            s.recvfrom(100)
        else:
            s.settimeout(0.5 if size == 0 else 120)
            s.connect((host, port))
            chunk = b"x" * (1 << 20)
            left = size
            while left > 0:
                s.sendall(chunk[: min(left, len(chunk))])
                left -= len(chunk)
            s.sendall(b"hello\n")
            s.recv(100)
        return True
    except OSError:
        return False
    finally:
        s.close()


def client(args):
    # args: [--min-seconds S] target... with target = proto,host,port,count[,bytes]
    min_seconds = 0.0
    if args and args[0] == "--min-seconds":
        min_seconds = float(args[1])
        args = args[2:]
    targets = []
    for a in args:
        f = a.split(",")
        targets.append((f[0], f[1], int(f[2]), int(f[3]), int(f[4]) if len(f) > 4 else 0))
    start = time.monotonic()
    done = {t: [0, 0] for t in targets}
    # Every target gets its count in one burst, so the entries' expire columns tick close together.
    for t in targets:
        for _ in range(t[3]):
            done[t][1] += 1
            done[t][0] += one(t[0], t[1], t[2], t[4])
    # Then one connection trickles bytes until min_seconds have passed, so that the 2-second rate
    # estimator ticks while traffic flows, without adding entries to the connection table.
    tcp = [t for t in targets if t[0] == "tcp"]
    if tcp and time.monotonic() - start < min_seconds:
        host, port = tcp[0][1], tcp[0][2]
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                while time.monotonic() - start < min_seconds:
                    s.sendall(b"x" * 512)
                    time.sleep(0.1)
                s.sendall(b"\n")
                s.recv(100)
            print(f"traffic {host} port {port}: held one connection until {min_seconds} s", flush=True)
        except OSError as e:
            print(f"traffic {host} port {port}: keeper connection failed: {e}", flush=True)
            while time.monotonic() - start < min_seconds:
                time.sleep(0.1)
    for t, (ok, tried) in done.items():
        print(f"traffic {t[0]} {t[1]} port {t[2]}: {ok}/{tried} answered", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server()
    else:
        client(sys.argv[2:])
