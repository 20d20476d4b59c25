"""Progress messages for long fits (``verbose``), in the style of scikit-learn's ``verbose``."""

from __future__ import annotations

import sys
import time

PREFIX = "[sklearn_dml]"


def log(verbose, level, message):
    """Print ``message`` to stderr when ``verbose >= level``, flushed (workers print too)."""
    if verbose >= level:
        print(f"{PREFIX} {message}", file=sys.stderr, flush=True)


class Stopwatch:
    """Seconds since creation, for stage timings."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self):
        return time.perf_counter() - self.start
