#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn tests/vm-bench/count.sh's count.json files into the bench table.

Usage: report.py [--json OUT] [--markdown] [--update FILE] FILE.json [FILE.json ...]

Each FILE.json is a count.json (counted figures) or a stall.json (tests/vm-bench/stall.sh,
the one wall-clock figure).

Prints the table as text (or Markdown with --markdown). --json writes the summary: for
every figure its per-round values, median, spread and its ratio to the reference. --update
replaces what lies between "<!-- bench-count:begin -->" and "<!-- bench-count:end -->"
in FILE (the results document) with the Markdown table.

Definitions, the same in the table, the JSON and the results document:
- a round's figure is instructions per hook call (hooks) or per unit of work (tools); for
  the hooks, the mean over the calls of the round without its costliest 0.5% (the
  calls a timer interrupt or a slab refill landed in); the plain mean is in the JSON too;
- median and spread are over the rounds; spread = (max - min) / median;
- a ratio is taken round by round against the reference measured in the same round
  (stock modules for the hooks, ipvsadm or ab for the tools), then its median and range
  are given. A difference is resolved only when the whole range lies on one side of 1.
"""
import argparse
import json
import statistics
import sys

SPREAD_GOAL = 0.003
CLASSES = {
    "established": "established: short HTTP connections (ab -c 1), conntrack=1, conn_reuse_mode=1",
    "fresh": "fresh: SYNs on new source ports, one entry each, conntrack=1, conn_reuse_mode=1",
    "reused": "reused: SYNs on ports whose CLOSE entry points at a weight-0 destination, conntrack=0; "
              "stock and knob 0 reschedule through conn_reuse_mode=1, knob 1 through the variant at "
              "conn_reuse_mode=0",
}
CONFIGS = ("stock", "knob0", "knob1")
CONFIG_LABEL = {"stock": "stock", "knob0": "knob 0", "knob1": "knob 1"}
TOOLS = {
    "loadgen": ("instructions per completed connection, client process, concurrency 8",
                "ours", "ab", "ipvs-drain bench --target / ab"),
    "list_svc": ("instructions per listing, 2,000 services x 4 destinations",
                 "ours", "ipvsadm", "ipvs-drain list -n / ipvsadm -Ln"),
    "list_conn": ("instructions per listing, 100,000 connection entries",
                  "ours", "ipvsadm", "ipvs-drain list -c -n / ipvsadm -Lnc"),
}


class ReportError(Exception):
    pass


def series(values):
    """Median and relative spread of a list of per-round figures."""
    med = statistics.median(values)
    return {"rounds": values, "median": med,
            "spread": (max(values) - min(values)) / med if med else float("nan")}


def ratio_series(values, reference):
    ratios = [v / r for v, r in zip(values, reference)]
    return {"rounds": ratios, "median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def verdict(r):
    """What a ratio range allows to conclude."""
    lo, hi = (r["min"] - 1) * 100, (r["max"] - 1) * 100
    if lo > 0:
        return f"costs {lo:+.2f}% to {hi:+.2f}%"
    if hi < 0:
        return f"saves {-hi:.2f}% to {-lo:.2f}%"
    return f"no difference resolved (within {lo:+.2f}%..{hi:+.2f}%)"


def per_round(entries, key):
    """{key(entry): [figure of round 1, round 2, ...]} from raw entries."""
    out = {}
    for e in sorted(entries, key=lambda e: e["round"]):
        if e["units"] <= 0:
            raise ReportError(f"round {e['round']} of {key(e)} counted no work")
        out.setdefault(key(e), []).append(e["instructions"] / e["units"])
    return out


def summarize(doc):
    """The summary of one count.json (pure)."""
    if doc.get("schema") != 1:
        raise ReportError(f"count.json schema {doc.get('schema')!r} is not 1")
    # The figure drops each run's costliest 0.5% of calls (a call that a timer interrupt
    # or a slab refill happened to land in); the plain mean is kept beside it.
    hooks = [dict(e, units=e["trimmed_calls"], instructions=e["trimmed_instructions"]) for e in doc["hooks"]]
    figures = per_round(hooks, lambda e: (e["class"], e["hook"], e["config"]))
    plain = per_round([dict(e, units=e["calls"]) for e in doc["hooks"]],
                      lambda e: (e["class"], e["hook"], e["config"]))
    out = {"kernel": doc["kernel"], "rounds": doc["rounds"], "date": doc.get("date", "unknown"),
           "hooks": [], "tools": []}
    for cls in CLASSES:
        # The out hook sees this class's own traffic only on established connections (the
        # replies); in the SYN classes its only calls are the RSTs of the pod that does not
        # listen, an artefact of the method, kept in count.json but not in the table.
        for hook in ("in", "out") if cls == "established" else ("in",):
            if (cls, hook, "stock") not in figures:
                continue
            fn = next(e["function"] for e in hooks if e["class"] == cls and e["hook"] == hook)
            row = {"class": cls, "hook": hook, "function": fn, "configs": {}}
            for cfg in CONFIGS:
                vals = figures.get((cls, hook, cfg))
                if vals is None:
                    raise ReportError(f"{doc['kernel']}: {cls} has no {cfg} figures")
                row["configs"][cfg] = series(vals)
                row["configs"][cfg]["plain_mean"] = series(plain[(cls, hook, cfg)])
                if cfg != "stock":
                    row["configs"][cfg]["vs_stock"] = ratio_series(vals, figures[(cls, hook, "stock")])
            out["hooks"].append(row)
    tools = per_round(doc["tools"], lambda e: (e["figure"], e["tool"]))
    for fig, (what, ours, ref, label) in TOOLS.items():
        if (fig, ours) not in tools:
            continue
        out["tools"].append({"figure": fig, "what": what, "label": label,
                             ours: series(tools[(fig, ours)]), ref: series(tools[(fig, ref)]),
                             "ratio": ratio_series(tools[(fig, ours)], tools[(fig, ref)])})
    return out


def summarize_stall(doc):
    """The summary of one stall.json (pure): the one wall-clock figure."""
    if doc.get("schema") != 1 or not doc.get("rounds"):
        raise ReportError("stall.json has no rounds")
    ratios = [r["p99_ratio"] for r in doc["rounds"]]
    return {"kernel": doc["kernel"], "clock": doc["clock"], "p99_ratio": series(ratios),
            "over_900ms": sum(r["over_900ms"] for r in doc["rounds"]), "rounds": len(ratios)}


def stall_line(st):
    p = st["p99_ratio"]
    return (f"Timed, not counted ({st['clock']}, kernel {st['kernel']}), `bench --lab --configs variant`: connect p99 "
            f"destroyed / warm {p['median']:.2f} ({min(p['rounds']):.2f}..{max(p['rounds']):.2f}) over "
            f"{st['rounds']} rounds; destroyed-phase connects over 900 ms: {st['over_900ms']} in all.")


def spread_cell(s):
    return f"{s['median']:,.0f} ({s['spread'] * 100:.2f}%)"


def ratio_cell(r):
    return f"{(r['median'] - 1) * 100:+.2f}% ({(r['min'] - 1) * 100:+.2f}..{(r['max'] - 1) * 100:+.2f})"


def wide_spreads(summary):
    bad = []
    for row in summary["hooks"]:
        for cfg, s in row["configs"].items():
            if s["spread"] > SPREAD_GOAL:
                bad.append(f"{summary['kernel']} {row['class']} {row['function']} {cfg}: spread {s['spread'] * 100:.2f}%")
    return bad


def markdown(summaries, stalls=()):
    lines = []
    for s in summaries:
        if not s["hooks"]:
            continue
        lines += [f"Run: {s['date']}. Kernel {s['kernel']}, instructions per hook call, {s['rounds']} rounds: a cell is the "
                  "median (its spread, max - min over median); a change is the median of the "
                  "round-by-round ratios to stock (their range).", "",
                  "| class | hook | stock | knob 0 | knob 0 vs stock | knob 1 | knob 1 vs stock |",
                  "|---|---|---|---|---|---|---|"]
        for row in s["hooks"]:
            c = row["configs"]
            lines.append(f"| {row['class']} | `{row['function']}` | {spread_cell(c['stock'])} | "
                         f"{spread_cell(c['knob0'])} | {ratio_cell(c['knob0']['vs_stock'])} | "
                         f"{spread_cell(c['knob1'])} | {ratio_cell(c['knob1']['vs_stock'])} |")
        lines.append("")
        for row in s["hooks"]:
            if row["hook"] != "in":
                continue
            c = row["configs"]
            lines.append(f"- {row['class']}, `{row['function']}`: knob 0 "
                         f"{verdict(c['knob0']['vs_stock'])}; knob 1 {verdict(c['knob1']['vs_stock'])}.")
        lines.append("")
    for s in summaries:
        if s["tools"]:
            lines += [f"Kernel {s['kernel']}, the process's own instructions, user and kernel together, "
                      f"{s['rounds']} rounds, order alternated:", "",
                      "| counted work | ipvs-drain | reference | ratio (range) |", "|---|---|---|---|"]
            for t in s["tools"]:
                ours, ref = t["ours"], t[next(k for k in ("ipvsadm", "ab") if k in t)]
                r = t["ratio"]
                lines.append(f"| {t['label']}: {t['what']} | {spread_cell(ours)} | {spread_cell(ref)} | "
                             f"{r['median']:.3f} ({r['min']:.3f}..{r['max']:.3f}) |")
        lines.append("")
    lines += [stall_line(st) for st in stalls] + ([""] if stalls else [])
    lines += ["Classes:", ""] + [f"- {v}" for v in CLASSES.values()]
    return "\n".join(lines).rstrip() + "\n"


def text(summaries, stalls=()):
    out = []
    for s in summaries:
        if not s["hooks"]:
            continue
        out.append(f"kernel {s['kernel']}: instructions per hook call, median of {s['rounds']} rounds "
                   "(spread); vs stock: median change (range over the rounds)")
        out.append(f"{'class':<12} {'hook':<22} {'stock':>18} {'knob 0':>18} {'vs stock':>24} "
                   f"{'knob 1':>18} {'vs stock':>24}")
        for row in s["hooks"]:
            c = row["configs"]
            out.append(f"{row['class']:<12} {row['function']:<22} {spread_cell(c['stock']):>18} "
                       f"{spread_cell(c['knob0']):>18} {ratio_cell(c['knob0']['vs_stock']):>24} "
                       f"{spread_cell(c['knob1']):>18} {ratio_cell(c['knob1']['vs_stock']):>24}")
        for row in s["hooks"]:
            if row["hook"] == "in":
                c = row["configs"]
                out.append(f"  {row['class']}: knob 0 {verdict(c['knob0']['vs_stock'])}; "
                           f"knob 1 {verdict(c['knob1']['vs_stock'])}")
    for s in summaries:
        for t in s["tools"]:
            r = t["ratio"]
            out.append(f"{s['kernel']}: {t['label']}: {t['what']}: ratio {r['median']:.3f} "
                       f"({r['min']:.3f}..{r['max']:.3f})")
    out += [stall_line(st) for st in stalls] + [""]
    for line in (w for s in summaries for w in wide_spreads(s)):
        out.append(f"warning: {line}, above {SPREAD_GOAL * 100:.1f}%: this figure cannot resolve 0.1%")
    return "\n".join(out).rstrip() + "\n"


BEGIN, END = "<!-- bench-count:begin -->", "<!-- bench-count:end -->"


def splice(document, table):
    """The document with the text between the markers replaced by table (pure)."""
    b, e = document.find(BEGIN), document.find(END)
    if b < 0 or e < b:
        raise ReportError(f"the document has no {BEGIN} ... {END} block")
    return document[:b + len(BEGIN)] + "\n" + table + document[e:]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", metavar="FILE.json")
    ap.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    ap.add_argument("--markdown", action="store_true", help="print Markdown instead of text")
    ap.add_argument("--update", metavar="FILE", help="splice the Markdown table into FILE")
    args = ap.parse_args(argv)
    try:
        summaries, stalls = [], []
        for path in args.inputs:
            try:
                with open(path) as f:
                    doc = json.load(f)
                if "clock" in doc:
                    stalls.append(summarize_stall(doc))
                else:
                    summaries.append(summarize(doc))
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ReportError(f"{path}: {e}") from e
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"schema": 1, "spread_goal": SPREAD_GOAL, "kernels": summaries, "stall": stalls},
                          f, indent=1)
        print(markdown(summaries, stalls) if args.markdown else text(summaries, stalls), end="")
        if args.update:
            with open(args.update) as f:
                doc = f.read()
            with open(args.update, "w") as f:
                f.write(splice(doc, markdown(summaries, stalls)))
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
