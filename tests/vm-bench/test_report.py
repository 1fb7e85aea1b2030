#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host checks of report.py's arithmetic and splicing, without a guest (make check).

Prints one TAP line per check, the plan and "N passed, N failed, N skipped"; exits 1 on a failure.
"""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def hook(rnd, cls, cfg, hook_name, calls, instr, tcalls=None, tinstr=None):
    return {"round": rnd, "class": cls, "config": cfg, "hook": hook_name, "function": f"ip_vs_{hook_name}_hook",
            "calls": calls, "instructions": instr,
            "trimmed_calls": calls if tcalls is None else tcalls,
            "trimmed_instructions": instr if tinstr is None else tinstr}


def doc(per_call):
    """A count.json with one class; per_call[cfg] lists each round's instructions per call."""
    hooks = []
    for cfg, rounds in per_call.items():
        for i, v in enumerate(rounds, 1):
            hooks.append(hook(i, "established", cfg, "in", 1000, v * 1000))
            hooks.append(hook(i, "established", cfg, "out", 500, 500 * 2000))
    return {"schema": 1, "kernel": "6.1.0-56-amd64", "rounds": len(per_call["stock"]), "hooks": hooks,
            "tools": [{"round": 1, "figure": "list_svc", "tool": "ours", "units": 1, "instructions": 750},
                      {"round": 1, "figure": "list_svc", "tool": "ipvsadm", "units": 1, "instructions": 1000}]}


class Report(unittest.TestCase):
    def test_ratio_is_taken_round_by_round(self):
        s = report.summarize(doc({"stock": [5000, 5100], "knob0": [5005, 5105], "knob1": [5000, 5100]}))
        row = next(r for r in s["hooks"] if r["hook"] == "in")
        r = row["configs"]["knob0"]["vs_stock"]
        self.assertAlmostEqual(r["min"], 5105 / 5100)
        self.assertAlmostEqual(r["max"], 5005 / 5000)
        self.assertAlmostEqual(row["configs"]["knob1"]["vs_stock"]["median"], 1.0)

    def test_spread_is_range_over_median(self):
        s = report.summarize(doc({"stock": [1000, 1010, 1020], "knob0": [1000] * 3, "knob1": [1000] * 3}))
        row = next(r for r in s["hooks"] if r["hook"] == "in")
        self.assertAlmostEqual(row["configs"]["stock"]["spread"], 20 / 1010)
        self.assertEqual(row["configs"]["knob0"]["spread"], 0)
        self.assertEqual(len(report.wide_spreads(s)), 1)

    def test_trimmed_figures_are_the_headline(self):
        d = doc({"stock": [1000], "knob0": [1000], "knob1": [1000]})
        for e in d["hooks"]:
            if e["config"] == "knob1" and e["hook"] == "in":
                e["instructions"] += 900_000  # one call an interrupt landed in
                e["trimmed_calls"], e["trimmed_instructions"] = 995, 995 * 1000
        s = report.summarize(d)
        c = next(r for r in s["hooks"] if r["hook"] == "in")["configs"]["knob1"]
        self.assertEqual(c["median"], 1000)
        self.assertAlmostEqual(c["plain_mean"]["median"], 1900)

    def test_verdicts(self):
        self.assertTrue(report.verdict({"min": 1.001, "max": 1.003}).startswith("costs +0.10%"))
        self.assertTrue(report.verdict({"min": 0.99, "max": 0.995}).startswith("saves 0.50%"))
        self.assertTrue(report.verdict({"min": 0.999, "max": 1.002}).startswith("no difference resolved"))

    def test_tools_ratio(self):
        s = report.summarize(doc({"stock": [1], "knob0": [1], "knob1": [1]}))
        self.assertAlmostEqual(s["tools"][0]["ratio"]["median"], 0.75)

    def test_bad_input_is_refused(self):
        with self.assertRaises(report.ReportError):
            report.summarize(dict(doc({"stock": [1], "knob0": [1], "knob1": [1]}), schema=2))
        d = doc({"stock": [1], "knob0": [1], "knob1": [1]})
        d["hooks"] = [e for e in d["hooks"] if e["config"] != "knob1"]
        with self.assertRaises(report.ReportError):
            report.summarize(d)
        d = doc({"stock": [1], "knob0": [1], "knob1": [1]})
        d["hooks"][0]["trimmed_calls"] = 0
        with self.assertRaises(report.ReportError):
            report.summarize(d)

    def test_splice(self):
        text = f"a\n{report.BEGIN}\nold\n{report.END}\nb\n"
        self.assertEqual(report.splice(text, "new\n"), f"a\n{report.BEGIN}\nnew\n{report.END}\nb\n")
        with self.assertRaises(report.ReportError):
            report.splice("no markers\n", "new\n")

    def test_markdown_names_every_class_and_config(self):
        md = report.markdown([report.summarize(doc({"stock": [5000], "knob0": [5000], "knob1": [5100]}))])
        self.assertIn("| established | `ip_vs_in_hook` | 5,000 (0.00%) | 5,000 (0.00%) | +0.00%", md)
        self.assertIn("+2.00% (+2.00..+2.00)", md)


class Tap(unittest.TextTestResult):
    n = 0

    def _line(self, test, ok, directive=""):
        Tap.n += 1
        print(f"{'ok' if ok else 'not ok'} {Tap.n} - report.py: {test._testMethodName}{directive}")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, True, f" # SKIP {reason}")


if __name__ == "__main__":
    res = unittest.TextTestRunner(resultclass=Tap, verbosity=0, stream=sys.stderr).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(Report))
    bad = len(res.failures) + len(res.errors)
    print(f"1..{res.testsRun}")
    print(f"{res.testsRun - bad - len(res.skipped)} passed, {bad} failed, {len(res.skipped)} skipped")
    sys.exit(1 if bad else 0)
