#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run a command and write its own CPU time in nanoseconds, user and system together.

Usage: taskclock.py OUTFILE CMD [ARGS...]

The figure is the scheduler's runtime of CMD's process (what wait4() reports, which the
kernel scales to the task's sum_exec_runtime), not the wall clock: other tasks and idle
time do not count. In a guest booted with `tests/vm/run.sh --icount`, one guest
nanosecond is one executed instruction, so the figure is CMD's instructions, user and
kernel together. CMD's stdout and stderr pass through; the exit status is CMD's.
"""
import os
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: taskclock.py OUTFILE CMD [ARGS...]", file=sys.stderr)
        return 2
    out, cmd = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            print(f"taskclock: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    # ru_utime and ru_stime are floats of microsecond resolution.
    ns = round((usage.ru_utime + usage.ru_stime) * 1e9)
    with open(out, "w") as f:
        f.write(f"{ns}\n")
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
