#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The keepalived suite's side-by-side table: one column per configuration, per forwarding and
close order, from the raw files tests/keepalived/guest.sh leaves; also its facts for the TAP
assertions and a JSON copy of everything."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios"))
import figures  # noqa: E402  (parse_ports, read_snapshot: the scenario suite's own readers)

POD_A, POD_B = "10.244.1.10", "10.244.1.11"
ORDERS = (("server", "server closes first"), ("client", "client closes first"))
ERRORS = ("ECONNREFUSED", "EHOSTUNREACH", "timeout")
# Column order of the table, whatever order the suite ran them in.
ORDER = ("stock-mode1", "stock-mode0", "stock-mode3", "variant-knob0", "variant-knob1", "variant-knob3")


def covered(state: str, bits: int, topo: str) -> bool:
    """Whether conn_reuse_mode's or the knob's bits reschedule a reused port meeting an entry in
    STATE: bit 1 TIME_WAIT and CLOSE, bit 2 FIN_WAIT of a Route/Tunnel (NOOUTPUT) destination."""
    if state in ("TIME_WAIT", "CLOSE"):
        return bool(bits & 1)
    return state == "FIN_WAIT" and topo == "dr" and bool(bits & 2)


def title(label: str) -> str:
    """stock-mode1 -> 'stock mode 1', variant-knob3 -> 'variant knob 3'."""
    kind, _, rest = label.partition("-")
    word = "mode" if rest.startswith("mode") else "knob"
    return f"{kind} {word} {rest[len(word):]}"


def order_figures(entries: list, ports: str, client: dict, bits: int, topo: str) -> dict:
    """What one port range met: the dead server's entries on those ports before the reuse, by
    state, and the outcome of the reused connects."""
    reused = figures.parse_ports(ports)
    states: dict[str, int] = {}
    b_entries = 0
    for e in entries:
        if e["cport"] not in reused:
            continue
        if e["dest"] == POD_A:
            states[e["state"]] = states.get(e["state"], 0) + 1
        elif e["dest"] == POD_B:
            b_entries += 1
    c = client["summary"]
    failed = c["attempts"] - c["ok"]
    uncovered = sum(n for st, n in states.items() if not covered(st, bits, topo))
    return {"ports": ports, "a_entries": sum(states.values()), "a_states": dict(sorted(states.items())),
            "uncovered": uncovered,
            "b_entries": b_entries, "attempts": c["attempts"], "ok": c["ok"], "failed": failed,
            "on_A": c["pods"].get("A", 0), "on_B": c["pods"].get("B", 0), "errors": c["errors"],
            "class": "+".join(sorted(c["errors"])) or "none",
            "failed_connect_ms_max": c["failed_connect_ms"]["max"]}


def load_columns(columns_file: str, work: str) -> list[dict]:
    cols = []
    with open(columns_file) as f:
        for line in f:
            topo, label, kset, mode, knob, sports, cports, after_kill = line.split()
            run_dir = os.path.join(work, topo)
            before = figures.read_snapshot(os.path.join(run_dir, f"{label}.before"))
            col = {"topo": topo, "label": label, "set": kset, "conn_reuse_mode": int(mode),
                   "conn_reuse_quiescent": None if knob == "-" else int(knob),
                   "weight_after_kill": after_kill, "orders": {}}
            bits = int(mode) | (0 if knob == "-" else int(knob))
            for order, ports in (("server", sports), ("client", cports)):
                client = figures.load(os.path.join(run_dir, f"{label}.reuse-{order}.client.json"))
                col["orders"][order] = order_figures(before["entries"], ports, client, bits, topo)
            cols.append(col)
    topos = list(dict.fromkeys(c["topo"] for c in cols))
    return sorted(cols, key=lambda c: (topos.index(c["topo"]),
                                       ORDER.index(c["label"]) if c["label"] in ORDER else len(ORDER)))


def states_text(o: dict) -> str:
    return ", ".join(f"{n} {s}" for s, n in o["a_states"].items()) or "none"


def cell_rows(o: dict) -> list[tuple[str, str]]:
    rows = [("dead server's entries", states_text(o)),
            ("reused ports", str(o["attempts"])),
            ("  served by live B", str(o["on_B"])),
            ("  served by dead A", str(o["on_A"]))]
    rows += [(f"  {e}", str(o["errors"].get(e, 0))) for e in ERRORS]
    other = {k: n for k, n in o["errors"].items() if k not in ERRORS}
    rows.append(("  other errors", ", ".join(f"{n} {k}" for k, n in sorted(other.items())) or "0"))
    return rows


def render(cols: list[dict], heading: str) -> str:
    ports = max(o["attempts"] for c in cols for o in c["orders"].values())
    out = [heading,
           "Director sysctls: the kernel's defaults (conntrack=0, expire_nodest_conn=0) but",
           "conn_reuse_mode: 'mode N' is conn_reuse_mode=N on the stock modules; 'knob N' is the",
           "variant at conn_reuse_mode=0 with conn_reuse_quiescent=N. Per column, two fresh ranges",
           f"of {ports} source ports connect once through keepalived's VIP, then A's listener is",
           "killed, keepalived's TCP_CHECK sets A to weight 0, the director's entries of A on those",
           "ports are counted by state, and every port connects again:", ""]
    for topo in dict.fromkeys(c["topo"] for c in cols):
        tcols = [c for c in cols if c["topo"] == topo]
        for order, heading in ORDERS:
            cells = [dict(cell_rows(c["orders"][order])) for c in tcols]
            keys = [k for k, _ in cell_rows(tcols[0]["orders"][order])]
            titles = [title(c["label"]) for c in tcols]
            w0 = max(len(k) for k in keys + ["keepalived after the kill"])
            widths = [max([len(t), len(c["weight_after_kill"]) + 9] + [len(cl[k]) for k in keys])
                      for t, c, cl in zip(titles, tcols, cells)]
            out.append(f"{topo.upper()}, {heading}:")
            out.append(" " * w0 + "  " + "  ".join(t.ljust(w) for t, w in zip(titles, widths)))
            out.append("keepalived after the kill".ljust(w0) + "  " + "  ".join(
                f"weight {c['weight_after_kill']}".ljust(w) for c, w in zip(tcols, widths)))
            for k in keys:
                out.append(k.ljust(w0) + "  " + "  ".join(cl[k].ljust(w) for cl, w in zip(cells, widths)))
            out.append("")
    return "\n".join(line.rstrip() for line in out)


def facts(cols: list[dict]) -> list[str]:
    lines = []
    for c in cols:
        for order, o in c["orders"].items():
            base = f"{c['topo']}/{c['label']}/{order}"
            for k in ("a_entries", "uncovered", "failed", "on_A", "on_B", "class"):
                lines.append(f"{base}/{k} {o[k]}")
            lines.append(f"{base}/states {states_text(o)}")
            lines.append(f"{base}/title {title(c['label'])}")
            errs = ",".join(f"{k}:{n}" for k, n in sorted(o["errors"].items())) or "none"
            lines.append(f"{base}/errors {errs}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--columns", required=True, help="guest.sh's column list")
    ap.add_argument("--dir", required=True, help="guest.sh's work directory")
    ap.add_argument("--json", required=True, help="write every figure here")
    ap.add_argument("--facts", required=True, help="write 'KEY VALUE' lines here")
    ap.add_argument("--heading", default="", help="the table's first line")
    args = ap.parse_args()
    cols = load_columns(args.columns, args.dir)
    with open(args.json, "w") as f:
        json.dump({"schema": 1, "kernel": os.uname().release, "columns": cols}, f, indent=1)
    with open(args.facts, "w") as f:
        f.write("\n".join(facts(cols)) + "\n")
    sys.stdout.write(render(cols, args.heading) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
