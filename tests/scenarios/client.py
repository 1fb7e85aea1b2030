#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Scenario client: short connections from fixed source ports, for the shell lab (lib.sh)."""

# Fixed source ports are the point of the test: a reused port whose old 5-tuple is still
# in the director's IPVS table is what sends a new SYN to a draining or dead pod. Each
# connection records its outcome (ok or an errno name), its connect latency and the pod
# that answered; a phase summary aggregates them into the figures the tests assert on.

import argparse
import errno
import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def parse_ports(spec: str) -> list[int]:
    """'20000-20049,21000' -> [20000, ..., 20049, 21000]"""
    ports: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        ports.extend(range(int(lo), int(hi or lo) + 1))
    return ports


def error_name(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or isinstance(exc, socket.timeout):
        # A connect timeout carries no errno; it is the client-visible shape of a SYN
        # that the director dropped or sent to a MAC that no longer exists.
        return "timeout"
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def family_of(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def one_connection(src: str, port: int, dst: str, dport: int, timeout: float,
                   client_first: bool = False) -> dict:
    """One short connection. The pod closes first (HELLO), or with client_first the client
    does, once it has the pod's name (ECHO, then our FIN, then the pod's)."""
    rec = {"port": port, "outcome": "ok", "stage": None, "pod": None, "connect_ms": None}
    s = socket.socket(family_of(dst), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.bind((src, port))
        rec["stage"] = "connect"
        try:
            s.connect((dst, dport))
        finally:
            rec["connect_ms"] = round((time.monotonic() - t0) * 1000.0, 2)
        rec["stage"] = "read"
        s.sendall(b"ECHO\n" if client_first else b"HELLO\n")
        data = b""
        while not (client_first and b"\n" in data):
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        if client_first:
            # Our FIN first; the pod closes when it reads the end of its input.
            s.shutdown(socket.SHUT_WR)
            while s.recv(256):
                pass
        rec["pod"] = data.decode(errors="replace").strip() or None
        rec["stage"] = None
    except BaseException as exc:  # noqa: BLE001 - every failure is a figure, not a crash
        rec["outcome"] = error_name(exc)
    finally:
        s.close()
    return rec


def percentile(sorted_vals: list[float], q: float) -> float | None:
    if not sorted_vals:
        return None
    # Nearest-rank: with ~100 samples p99 is the second largest, which is what we want
    # to see (a single SYN retransmit shows up as ~1000 ms).
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 1)) - 1))
    return sorted_vals[k]


def summarize(phase: str, recs: list[dict], wall_s: float) -> dict:
    ok = [r for r in recs if r["outcome"] == "ok"]
    errors: dict[str, int] = {}
    for r in recs:
        if r["outcome"] != "ok":
            key = r["outcome"]
            errors[key] = errors.get(key, 0) + 1
    pods: dict[str, int] = {}
    for r in ok:
        pods[r["pod"] or "?"] = pods.get(r["pod"] or "?", 0) + 1
    lat = sorted(r["connect_ms"] for r in recs if r["connect_ms"] is not None and r["stage"] != "connect")
    failed = sorted(r["connect_ms"] for r in recs if r["connect_ms"] is not None and r["stage"] == "connect")
    return {
        "phase": phase,
        "attempts": len(recs),
        "ok": len(ok),
        "errors": dict(sorted(errors.items())),
        "pods": dict(sorted(pods.items())),
        # Latency of connects that completed (ok or failed after connect); failed
        # connects are in "errors" and would only measure the timeout.
        "connect_ms": {"p50": percentile(lat, 0.50), "p99": percentile(lat, 0.99),
                       "max": lat[-1] if lat else None},
        "slow_connects_over_900ms": sum(1 for v in lat if v >= 900),
        # How long a failing connect took: ~0 for an ICMP error, the timeout for a drop.
        "failed_connect_ms": {"p50": percentile(failed, 0.50), "max": failed[-1] if failed else None},
        "wall_s": round(wall_s, 3),
        "rate_per_s": round(len(recs) / wall_s, 1) if wall_s > 0 else None,
    }


def cmd_burst(args: argparse.Namespace) -> int:
    ports = parse_ports(args.ports)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        recs = list(pool.map(lambda p: one_connection(args.src, p, args.dst, args.dport,
                                                      args.timeout), ports))
    summary = summarize(args.phase, recs, time.monotonic() - t0)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": summary, "connections": recs}, f, indent=1)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    """Serve burst commands from a FIFO, so that one python start serves a whole run.

    Under TCG a python start costs seconds, and every second between the warm phase and
    the last reuse phase eats into IPVS's 120 s TIME_WAIT that the phases depend on.
    Commands, one per line on CTL, each answered by one JSON line on REPLY:
      burst PHASE PORTS OUTFILE [client-first] | quit
    (client-first: the client closes each connection first, see one_connection).
    """
    with open(args.ctl) as ctl, open(args.reply, "w") as reply:
        for line in ctl:
            words = line.split()
            if not words:
                continue
            cmd, rest = words[0], words[1:]
            answer: object
            if cmd == "burst" and rest[3:] not in ([], ["client-first"]):
                answer = {"error": f"unknown burst option {' '.join(rest[3:])}"}
            elif cmd == "burst":
                phase, ports, out = rest[:3]
                first = rest[3:] == ["client-first"]
                t0 = time.monotonic()
                with ThreadPoolExecutor(max_workers=args.threads) as pool:
                    recs = list(pool.map(lambda p: one_connection(args.src, p, args.dst, args.dport,
                                                                  args.timeout, first), parse_ports(ports)))
                summary = summarize(phase, recs, time.monotonic() - t0)
                with open(out, "w") as f:
                    json.dump({"summary": summary, "connections": recs}, f, indent=1)
                answer = summary
            elif cmd == "quit":
                break
            else:
                answer = {"error": f"unknown command {cmd}"}
            reply.write(json.dumps(answer) + "\n")
            reply.flush()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", default="10.0.0.2")
    ap.add_argument("--dst", default="10.96.0.10")
    ap.add_argument("--dport", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=8)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("burst", help="one connection per source port")
    b.add_argument("--phase", required=True)
    b.add_argument("--ports", required=True, help="e.g. 20000-20099")
    b.add_argument("--out", help="full per-connection JSON")
    g = sub.add_parser("agent", help="serve commands from a FIFO (see cmd_agent)")
    g.add_argument("--ctl", required=True)
    g.add_argument("--reply", required=True)
    args = ap.parse_args()
    return cmd_burst(args) if args.cmd == "burst" else cmd_agent(args)


if __name__ == "__main__":
    sys.exit(main())
