#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Side-by-side table of scenario runs, one column per run, from their figures JSON."""

import json
import sys

PHASES = ("draining", "destroyed", "removed", "quiesced", "emptied")


def errors_text(errors: dict) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(errors.items())) or "-"


def column(run: dict) -> dict:
    """Row key -> cell text for one run."""
    cells = {}
    for name in PHASES:
        p = run["phases"].get(name)
        if p is None:
            continue
        c = p["client"]
        lat = c["connect_ms"]
        cells[(name, "old entries hit")] = str(p["entries_hit"])
        cells[(name, "connected")] = f"{c['ok']}/{c['attempts']}"
        cells[(name, "on weight-0 pod A")] = str(c["pods"].get("A", 0))
        cells[(name, "on pod B")] = str(c["pods"].get("B", 0))
        cells[(name, "errors")] = errors_text(c["errors"])
        cells[(name, "connect p50/p99 ms")] = (
            f"{lat['p50']}/{lat['p99']}" if lat["p50"] is not None else "-")
        d = p.get("reuse_stats_delta")
        cells[(name, "rescheduled")] = "n/a" if d is None else str(d.get("rescheduled"))
        if name in ("draining", "quiesced"):
            h = p.get("hold") or {}
            ok = h.get("pod") == "A" and not h.get("error")
            cells[(name, "long-lived conn to A")] = "alive" if ok else f"broken: {h.get('error')}"
    return cells


def render(runs: list[tuple[str, dict]]) -> str:
    cols = [(title, column(run)) for title, run in runs]
    rows = []
    for name in PHASES:
        seen = []
        for _, cells in cols:
            for key in cells:
                if key[0] == name and key not in seen:
                    seen.append(key)
        rows += seen
    w0 = max([len(f"{p:<9} {r}") for p, r in rows] + [10])
    widths = [max([len(t)] + [len(c.get(k, "")) for k in rows]) for t, c in cols]
    out = [" " * w0 + "  " + "  ".join(t.ljust(w) for (t, _), w in zip(cols, widths))]
    last = None
    for phase, row in rows:
        label = f"{phase if phase != last else '':<9} {row}"
        last = phase
        out.append(label.ljust(w0) + "  " +
                   "  ".join(c.get((phase, row), "").ljust(w) for (_, c), w in zip(cols, widths)))
    return "\n".join(line.rstrip() for line in out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) % 2 == 0:
        print("usage: table.py TITLE FIGURES.json [TITLE FIGURES.json ...]", file=sys.stderr)
        return 2
    runs = []
    for title, path in zip(argv[1::2], argv[2::2]):
        with open(path, encoding="utf-8") as f:
            runs.append((title, json.load(f)))
    sys.stdout.write(render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
