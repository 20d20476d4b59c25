"""Adam vs full-batch L-BFGS (``solver``) on the speed benchmark's data, same process.

For each design (linear, logit), n and seed, fits the default estimator with each solver
and records the fit's wall time, the θ-network training time (all ``train_ensemble``
calls, auxiliary networks included), the epochs (L-BFGS iterations) of the fold networks,
their best validation loss, and the estimate and SE of E[β]. One thread, a warm-up fit
first, one fit after another. Writes ``benchmarks/results/solvers/solvers.{json,md}``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/solvers.py [--n 1000 5000 20000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _mc import markdown_table  # noqa: E402
from _speed_runner import simulate, simulate_logit  # noqa: E402

from sklearn_dml import LogitDML, StructuralDMLRegressor, _divergence  # noqa: E402

COLUMNS = ["design", "n", "solver", "fit_wall_s", "train_wall_s", "epochs", "val_loss",
           "estimate", "stderr", "R"]


class _TrainingClock:
    """Wraps ``_divergence.train_ensemble`` (the θ-networks' training) to add up the
    seconds spent in it."""

    def __init__(self):
        self.seconds, self.original = 0.0, _divergence.train_ensemble

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def one_fit(design, n, solver, seed, clock):
    X, T, Y = (simulate_logit if design == "logit" else simulate)(n, 20, seed)
    make = LogitDML if design == "logit" else StructuralDMLRegressor
    clock.seconds = 0.0
    start = time.perf_counter()
    est = make(target="beta", solver=solver, random_state=seed).fit(X, T, Y)
    wall = time.perf_counter() - start
    histories = est.history_[0]
    return {"fit_wall_s": wall, "train_wall_s": clock.seconds,
            "epochs": float(np.mean([np.isfinite(h).sum() for h in histories])),
            "val_loss": float(np.mean([np.nanmin(h) for h in histories])),
            "estimate": float(est.inference_.estimate[0]),
            "stderr": float(est.inference_.stderr[0])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--designs", nargs="+", default=["linear", "logit"])
    args = ap.parse_args()
    clock = _TrainingClock()
    _divergence.train_ensemble = clock
    one_fit("linear", 500, "adam", 0, clock)  # warm-up: imports, first torch calls
    rows, raw = [], []
    for design in args.designs:
        for n in args.n:
            for solver in ("adam", "lbfgs"):
                fits = [one_fit(design, n, solver, seed, clock) for seed in range(args.seeds)]
                raw += [{"design": design, "n": n, "solver": solver, "seed": s, **f}
                        for s, f in enumerate(fits)]
                row = {"design": design, "n": n, "solver": solver, "R": len(fits),
                       **{k: float(np.mean([f[k] for f in fits])) for k in fits[0]}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    meta = (f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; means over seeds "
            f"0-{args.seeds - 1}")
    os.makedirs(os.path.join(HERE, "results", "solvers"), exist_ok=True)
    with open(os.path.join(HERE, "results", "solvers", "solvers.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "raw": raw}, f, indent=1)
    text = markdown_table(rows, COLUMNS, number="{:.4g}")
    with open(os.path.join(HERE, "results", "solvers", "solvers.md"), "w") as f:
        f.write(f"Adam vs L-BFGS ({meta})\n\n{text}\n")
    print(text)


if __name__ == "__main__":
    main()
