"""Progress of a long benchmark, one line per step on stderr, so a user sees it is working and how far it is.

``smslab run`` shows a line per scenario; the benches that run for a minute (``bench fakes``, ``bench
proxy``) show a line per step the same way: ``smslab bench fakes: [4/33] round 1 of 10: fake``. The result
itself still goes to stdout alone, so ``--json`` output stays one document.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Steps"]


class Steps:
    """Counts the steps of a run of known length and prints each as it starts, with the seconds so far.

    Args:
        prog: the command's name, e.g. ``smslab bench fakes``.
        total: how many steps the run has.
        out: where to print (stderr by default).
    """

    def __init__(self, prog: str, total: int, out: TextIO | None = None) -> None:
        self.prog = prog
        self.total = total
        self.done = 0
        self.out = out
        self._start = time.monotonic()

    def step(self, what: str) -> None:
        """Count one step and print it: ``PROG: [n/total] what (t s)``."""
        self.done += 1
        elapsed = time.monotonic() - self._start
        line = f"{self.prog}: [{self.done}/{self.total}] {what} ({elapsed:.0f} s)"
        print(line, file=self.out or sys.stderr, flush=True)
