#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""One markdown row per kernel: the stock module and the variant under legacy, from the
scenario figures that make check leaves in build/vm/ABI/figures/ (the RESULTS.md table)."""

import json
import pathlib
import sys

PHASES = ("draining", "destroyed", "removed")


def phase_text(run: dict, phase: str) -> str:
    p = run["phases"].get(phase)
    if p is None:
        return "-"
    c = p["client"]
    errors = ", ".join(f"{n} {k}" for k, n in sorted(c["errors"].items()))
    text = f"{c['ok']}/{c['attempts']} ok, {c['pods'].get('A', 0)} on A"
    return f"{text}, {errors}" if errors else text


def main(argv: list) -> int:
    if len(argv) != 2:
        print("usage: kernels.py BUILD_VM_DIR", file=sys.stderr)
        return 2
    rows = []
    for fig in sorted(pathlib.Path(argv[1]).glob("*/figures/stock-legacy.json")):
        abi = fig.parent.parent.name
        stock = json.loads(fig.read_text())
        variant_path = fig.with_name("variant-legacy.json")
        variant = json.loads(variant_path.read_text()) if variant_path.exists() else None
        cells = [abi]
        for run in (stock, variant):
            for phase in PHASES:
                cells.append(phase_text(run, phase) if run else "-")
        rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        print(f"kernels.py: no */figures/stock-legacy.json under {argv[1]}", file=sys.stderr)
        return 1
    head = ["kernel"] + [f"stock, {p}" for p in PHASES] + [f"variant knob 1, {p}" for p in PHASES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
