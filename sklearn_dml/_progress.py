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


class _NoBar:
    """Stands in for a progress bar when none is shown."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass


def progress_bar(show, total, desc, unit, delay=2.0):
    """A tqdm bar on stderr when ``show`` and tqdm is installed (else a no-op stand-in).

    By default the bar appears only once the stage has run for ``delay`` seconds, so quick
    fits stay quiet, and it disappears when done, leaving the ``verbose`` stage lines.
    """
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=f"{PREFIX} {desc}", unit=unit, delay=delay, leave=False,
                file=sys.stderr, dynamic_ncols=True)
