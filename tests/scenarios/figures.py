#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Scenario figures: a run's figures from `ipvs-drain bench --lab --json`, and the verdicts
that judge them for the TAP assertions; the snapshot readers of the shell lab (lib.sh)."""

# Converters and judges are pure functions of JSON, so a failed assertion can be re-judged
# on the host from $IPVS_VM_OUT/figures without a guest. Each check prints one "# ..." line
# per reason and exits 1 when the assertion fails.

import argparse
import ipaddress
import json
import sys

REUSE_PHASES = ("draining", "destroyed", "removed")
# The phases after warm of each plan (bench's --plan).
PLAN_PHASES = {"full": REUSE_PHASES, "short": ("draining",),
               "lastdest": ("quiesced", "emptied")}
# The phases after which the long-lived connection to A is checked and closed.
HOLD_PHASES = ("draining", "quiesced")


def load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def parse_ports(spec: str) -> set[int]:
    ports: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        ports.update(range(int(lo), int(hi or lo) + 1))
    return ports


def proc_addr(text: str) -> str:
    """An address as /proc/net/ip_vs_conn prints it: IPv4 as 8 hex digits, IPv6 in full."""
    if ":" in text:
        return str(ipaddress.IPv6Address(text))
    return str(ipaddress.IPv4Address(int(text, 16)))


def parse_conn_table(text: str) -> list[dict]:
    """/proc/net/ip_vs_conn (hex addresses and ports) -> entries."""
    entries = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        entries.append({"cport": int(cols[2], 16), "dest": proc_addr(cols[5]), "state": cols[7]})
    return entries


def parse_reuse_stats(text: str) -> dict:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}


def read_snapshot(base: str) -> dict:
    def text(ext: str) -> str | None:
        try:
            with open(base + ext) as f:
                return f.read()
        except FileNotFoundError:
            return None
    stats, ct = text(".stats"), text(".ct")
    return {"entries": parse_conn_table(text(".conn") or ""),
            "stats": parse_reuse_stats(stats) if stats is not None else None,
            "conntrack": int(ct) if ct and ct.strip() else None}


# The states a reused port meets: a NAT director sees the whole close; with direct routing
# the replies bypass it and its entries stop in FIN_WAIT.
REUSE_STATES = {"nat": ("TIME_WAIT", "CLOSE"), "nat6": ("TIME_WAIT", "CLOSE"), "dr": ("FIN_WAIT",)}


# `ipvs-drain bench --lab --json` names pods and its own connect timeout differently.
BENCH_PODS = {"pod-a": "A", "pod-b": "B"}
BENCH_ERRORS = {"ETIMEDOUT": "timeout"}


def from_bench(bench: dict, meta: dict, name: str | None = None) -> tuple[dict | None, str]:
    """A `bench --lab` JSON's configuration NAME (or its only one) -> this suite's run
    figures, or (None, why) when the configuration did not run; ValueError when there is no
    such configuration, or more than one."""
    configs = [c for c in bench["configs"] if name in (None, c["name"])]
    if len(configs) != 1:
        raise ValueError(f"expected one configuration{' named ' + name if name else ''}, got {len(configs)}")
    c = configs[0]
    if c["skipped"] or c["failed"]:
        return None, c["skipped"] or c["failed"]
    run = dict(meta, config_name=c["name"], topo=bench["topology"], plan=bench["plan"], short=bench["plan"] == "short",
               persistence=bench["persistent_s"],
               expire_quiescent_template=c["sysctls"].get("expire_quiescent_template"), phases={},
               sysctls=" ".join(f"{k}={v}" for k, v in c["sysctls"].items()))
    for p in c["phases"]:
        lat = p["connect_us"] or {}
        ms = {k: (round(lat[k] / 1000.0, 2) if k in lat else None) for k in ("p50", "p99", "max")}
        client = {"phase": p["phase"], "attempts": p["attempts"], "ok": p["ok"],
                  "errors": {BENCH_ERRORS.get(k, k): v for k, v in sorted(p["errors"].items())},
                  "pods": {BENCH_PODS.get(k, k): v for k, v in sorted(p["pods"].items())},
                  "connect_ms": ms, "wall_s": p["wall_s"], "rate_per_s": p["conn_per_s"]}
        rec = {"phase": p["phase"], "ports": p["ports"],
               "entries_before_change": p["entries_before_change"] or 0,
               "entries_hit": p["old_pod_entries"] or 0,
               "client": client, "reuse_stats_delta": p["counters_delta"]}
        if p["phase"] in HOLD_PHASES:
            h = c["hold"]
            alive = bool(h["alive_after_draining"])
            rec["hold"] = {"pod": BENCH_PODS.get(h["pod"], h["pod"]), "closed": h["closed"],
                           "alive_after_weight_change": alive,
                           "error": None if alive else "no answer after the draining burst"}
        run["phases"][p["phase"]] = rec
    return run, ""


def phase_line(label: str, r: dict) -> str:
    c, lat, d = r["client"], r["client"]["connect_ms"], r.get("reuse_stats_delta")
    s = (f"{label:<22} {r['phase']:<9} entries={r['entries_before_change']}/{r['entries_hit']}"
         f" ok={c['ok']}/{c['attempts']}"
         f" pods={json.dumps(c['pods'])} errors={json.dumps(c['errors'])}"
         f" connect_ms p50/p99/max={lat['p50']}/{lat['p99']}/{lat['max']}"
         f" rate={c['rate_per_s']}/s")
    if "failed_connect_ms" in c:
        s += f" failed_ms p50/max={c['failed_connect_ms']['p50']}/{c['failed_connect_ms']['max']}"

    if d is not None:
        s += f" rescheduled={d.get('rescheduled')} dropped_old_conntrack={d.get('dropped_old_conntrack')}"
    h = r.get("hold")
    if h:
        s += (f" long-lived={h['pod']} alive after weight 0={h['alive_after_weight_change']}"
              f" closed={h.get('closed')} error={h['error']}")
    return s


# --- judges: each returns a list of failure reasons, empty when the assertion holds.

def on_a(p: dict) -> int:
    return p["client"]["pods"].get("A", 0)


def failed(p: dict) -> int:
    return p["client"]["attempts"] - p["client"]["ok"]


def preconditions(run: dict, phases) -> list[str]:
    why = []
    for name in phases:
        p = run["phases"].get(name)
        if p is None:
            why.append(f"{run['label']}: phase {name} did not run")
        elif p["entries_before_change"] <= 0:
            why.append(f"{run['label']}: {name} found no {'/'.join(REUSE_STATES[run.get('topo', 'nat')])}"
                       " entries to A to reuse")
    return why


def phases_of(run: dict) -> tuple:
    plan = run.get("plan") or ("short" if run.get("persistence") or run.get("short") else "full")
    return PLAN_PHASES[plan]


def judge_bug(run: dict) -> list[str]:
    """The stock decision reproduces: the test bed can show the bug at all."""
    why = preconditions(run, phases_of(run))
    ph = run["phases"]
    if "draining" in ph and on_a(ph["draining"]) == 0:
        why.append("draining: no new connection landed on the weight-0 pod A")
    if not (run.get("persistence") or run.get("short")):
        # How the failures split between EHOSTUNREACH and timeout depends on neighbour
        # timers (the first SYNs meet the dead pod's still valid neighbour entry and are
        # lost; later ones meet its failure), so only the failure itself is the verdict.
        if "destroyed" in ph and not failed(ph["destroyed"]):
            why.append("destroyed: no connection failed")
        if "removed" in ph and ph["removed"]["client"]["errors"].get("timeout", 0) == 0:
            why.append("removed: no timeouts")
    return why


def judge_fixed(run: dict) -> list[str]:
    """Knob 1: nothing new lands on A, nothing fails, and our counter saw every hit."""
    why = judge_remedy(run)
    for name in phases_of(run):
        p = run["phases"].get(name)
        if p is None:
            continue
        d = p.get("reuse_stats_delta")
        if d is None:
            why.append(f"{name}: no /proc/net/ip_vs_reuse_stats")
        elif d.get("rescheduled") != p["entries_hit"]:
            why.append(f"{name}: rescheduled {d.get('rescheduled')} != {p['entries_hit']} entries hit")
    return why


def judge_remedy(run: dict) -> list[str]:
    """Nothing new lands on A and nothing fails, whichever path decides (ours or upstream's)."""
    why = preconditions(run, phases_of(run))
    for name in phases_of(run):
        p = run["phases"].get(name)
        if p is None:
            continue
        if on_a(p):
            why.append(f"{name}: {on_a(p)} new connections landed on the old pod A")
        if failed(p):
            why.append(f"{name}: {failed(p)} connections failed: {p['client']['errors']}")
    why += judge_hold(run)
    return why


def judge_hold(run: dict, phase: str = "draining") -> list[str]:
    """Graceful termination: the connection opened to A before the drain keeps working."""
    p = run["phases"].get(phase)
    h = p and p.get("hold")
    if not h:
        return [f"{phase}: no long-lived connection figures"]
    why = []
    if h["pod"] != "A":
        why.append(f"long-lived connection was served by {h['pod']}, not A")
    if h["error"]:
        why.append(f"long-lived connection failed: {h['error']}")
    if not h.get("alive_after_weight_change"):
        why.append("long-lived connection made no progress after A went to weight 0")
    if not h.get("closed"):
        why.append("long-lived connection did not close cleanly")
    return why


def judge_dropped(run: dict) -> list[str]:
    """The conntrack drop path: every hit SYN is dropped once, and its retransmit lands on B."""
    why = judge_remedy(run)
    for name in phases_of(run):
        p = run["phases"].get(name)
        d = p and p.get("reuse_stats_delta")
        if d is None:
            why.append(f"{name}: no /proc/net/ip_vs_reuse_stats delta")
            continue
        if d.get("dropped_old_conntrack") != p["entries_hit"]:
            why.append(f"{name}: dropped_old_conntrack {d.get('dropped_old_conntrack')}"
                       f" != {p['entries_hit']} entries hit")
        if d.get("rescheduled"):
            why.append(f"{name}: rescheduled {d.get('rescheduled')}, expected every hit to take the drop path")
    return why


def judge_no_resched(run: dict) -> list[str]:
    why = []
    for name in phases_of(run):
        p = run["phases"].get(name)
        d = p and p.get("reuse_stats_delta")
        if d is None:
            why.append(f"{name}: no /proc/net/ip_vs_reuse_stats delta")
        elif any(d.values()):
            why.append(f"{name}: our path acted: {d}")
    return why


def acted(run: dict, p: dict) -> list[str]:
    """Why our path shows as having acted in phase P (for stock, which has no counters: never)."""
    d = p.get("reuse_stats_delta")
    if d is None:
        return [] if run.get("set") == "stock" else [f"{p['phase']}: no /proc/net/ip_vs_reuse_stats delta"]
    return [f"{p['phase']}: our path acted: {d}"] if any(d.values()) else []


def judge_kept(run: dict) -> list[str]:
    """Every destination at weight 0, A still there: the reused ports are served by A, as on
    stock, and our path leaves them alone; the long-lived connection keeps working."""
    why = preconditions(run, ("quiesced",))
    p = run["phases"].get("quiesced")
    if p is None:
        return why
    c = p["client"]
    if failed(p):
        why.append(f"quiesced: {failed(p)} connections failed: {c['errors']}")
    if on_a(p) != c["attempts"]:
        why.append(f"quiesced: {on_a(p)} of {c['attempts']} connections served by A: {c['pods']}")
    return why + acted(run, p) + judge_hold(run, "quiesced")


def judge_stalled(run: dict) -> list[str]:
    """No destination left (A gone and deleted), the stock decision: the old entries to A keep
    the reused ports' SYNs, which are dropped (or sent to the gone A): every connect waits
    for its timeout (or EHOSTUNREACH); nothing connects, nothing is refused."""
    why = preconditions(run, ("emptied",))
    p = run["phases"].get("emptied")
    if p is None:
        return why
    c, errs = p["client"], p["client"]["errors"]
    if c["ok"]:
        why.append(f"emptied: {c['ok']} connections succeeded with no destination left")
    if errs.get("ECONNREFUSED"):
        why.append(f"emptied: {errs['ECONNREFUSED']} refused: something rescheduled them")
    if errs.get("timeout", 0) + errs.get("EHOSTUNREACH", 0) != c["attempts"]:
        why.append(f"emptied: not every connection timed out or met EHOSTUNREACH: {errs}")
    return why


def judge_refused(run: dict) -> list[str]:
    """No destination left: our path reschedules every hit, the scheduler finds nothing, and
    the client is refused (ICMP port unreachable) at once: no hit SYN is dropped."""
    why = preconditions(run, ("emptied",))
    p = run["phases"].get("emptied")
    if p is None:
        return why
    c = p["client"]
    if c["errors"] != {"ECONNREFUSED": c["attempts"]}:
        why.append(f"emptied: expected all {c['attempts']} refused, got ok={c['ok']} errors={c['errors']}")
    # Counted, not timed: every hit rescheduled and none dropped, so no SYN waited for a
    # retransmit (the connect times are in the figures, for the reader).
    d = p.get("reuse_stats_delta")
    if d is None:
        why.append("emptied: no /proc/net/ip_vs_reuse_stats delta")
    else:
        if d.get("rescheduled") != p["entries_hit"]:
            why.append(f"emptied: rescheduled {d.get('rescheduled')} != {p['entries_hit']} entries hit")
        if d.get("dropped_old_conntrack"):
            why.append(f"emptied: {d['dropped_old_conntrack']} SYNs dropped for an old conntrack entry")
    return why


def classify(p: dict) -> dict:
    # Coarse on purpose: how a failure splits between EHOSTUNREACH and timeout depends on
    # neighbour timers, but whether anything lands on A, on B, or fails does not.
    return {"on_A": on_a(p) > 0, "on_B": p["client"]["pods"].get("B", 0) > 0, "failed": failed(p) > 0}


def judge_same(run: dict, ref: dict) -> list[str]:
    why = preconditions(run, phases_of(run)) + preconditions(ref, phases_of(ref))
    for name in phases_of(ref):
        a, b = run["phases"].get(name), ref["phases"].get(name)
        if a and b and classify(a) != classify(b):
            why.append(f"{name}: {classify(a)} differs from {ref['label']} {classify(b)}")
    return why


def judge_no_worse(run: dict, ref: dict) -> list[str]:
    why = preconditions(run, phases_of(run)) + preconditions(ref, phases_of(ref))
    for name in phases_of(ref):
        a, b = run["phases"].get(name), ref["phases"].get(name)
        if not (a and b):
            continue
        if on_a(a) > on_a(b):
            why.append(f"{name}: {on_a(a)} on A, {ref['label']} had {on_a(b)}")
        if failed(a) > failed(b):
            why.append(f"{name}: {failed(a)} failed, {ref['label']} had {failed(b)}")
    return why


def report(why: list[str]) -> int:
    for w in why:
        print(f"# {w}")
    return 1 if why else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("from-bench", help="a bench --lab JSON's configuration -> run JSON;"
                       " exit 3 with the reason when it did not run")
    s.add_argument("--json", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--meta", required=True, help="JSON object of run metadata")
    s.add_argument("--config", help="the configuration to take (default: the only one)")
    s = sub.add_parser("judge", help="exit 1 with reasons if an assertion fails")
    s.add_argument("kind", choices=["bug", "fixed", "remedy", "dropped", "no-resched", "same", "no-worse", "hold",
                                    "kept", "stalled", "refused"])
    s.add_argument("run")
    s.add_argument("ref", nargs="?")
    a = ap.parse_args()

    if a.cmd == "from-bench":
        try:
            run, why = from_bench(load(a.json), json.loads(a.meta), a.config)
        except ValueError as e:
            print(f"figures.py from-bench: {e}", file=sys.stderr)
            return 1
        if run is None:
            print(why)
            return 3
        for rec in run["phases"].values():
            print("# " + phase_line(run["label"], rec))
        with open(a.out, "w") as f:
            json.dump(run, f, indent=1)
    else:
        run = load(a.run)
        ref = load(a.ref) if a.ref else None
        judges = {"bug": lambda: judge_bug(run), "fixed": lambda: judge_fixed(run),
                  "remedy": lambda: judge_remedy(run), "dropped": lambda: judge_dropped(run),
                  "no-resched": lambda: judge_no_resched(run), "hold": lambda: judge_hold(run),
                  "kept": lambda: judge_kept(run), "stalled": lambda: judge_stalled(run),
                  "refused": lambda: judge_refused(run),
                  "same": lambda: judge_same(run, ref), "no-worse": lambda: judge_no_worse(run, ref)}
        return report(judges[a.kind]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
