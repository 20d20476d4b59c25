"""Λ-stage nuisance fits side by side: Python threads (as ``map_folds`` runs them) vs processes.

At the defaults the Λ stage runs the folds' gradient-boosting fits in threads, each with its
share of the OpenMP threads. On a 16-core GPU machine the logit's Λ stage at n = 10⁶ took
64 s that way and about 27 s when the same fits ran in five worker processes (``n_jobs=5``).
The suspect is the part of each fit that holds the GIL. This script times the same fits
(the default Λ regressor, fit on ``--rows`` rows and predicting a quarter as many) one after
another, in ``--concurrency`` threads through ``map_folds``, and in as many warm loky
processes through ``map_folds(processes=True)`` (start-up timed apart), and checks that
all three give the same predictions.

Usage::

    python benchmarks/lambda_threads.py --rows 160000 800000 --fits 35 --concurrency 5
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from joblib import Parallel, delayed, parallel_config

from sklearn_dml._lambda import default_lambda_model
from sklearn_dml._parallel import map_folds, memory_mapped


def _data(rows, d, n_targets):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, d))
    targets = [np.tanh(X[:, k % d]) + 0.5 * X[:, (k + 1) % d] ** 2 + rng.normal(size=rows)
               for k in range(n_targets)]
    return X, targets


def _fit_predict(X, y):
    model = default_lambda_model().fit(X, y)
    return model.predict(X[: X.shape[0] // 4])


def compare(rows, d, n_fits, concurrency, sequential=True):
    """Seconds for the fits one after another, in threads and in warm processes."""
    cores = os.cpu_count()
    X, targets = _data(rows, d, n_fits)
    timings = {}
    groups = np.array_split(np.arange(n_fits), concurrency)  # as the folds' fits
    tasks = [(X, targets, group) for group in groups]

    def flat(per_group):
        return [prediction for group in per_group for prediction in group]

    results = []
    if sequential:
        start = time.perf_counter()
        results.append(flat(map_folds(_fit_group, tasks, 1)))
        timings["one after another"] = time.perf_counter() - start

    start = time.perf_counter()  # the Λ stage's way below 4·10⁵ rows: threads sharing the cores
    results.append(flat(map_folds(_fit_group, tasks, cores)))
    timings[f"{concurrency} threads"] = time.perf_counter() - start

    per_process = max(1, cores // concurrency)
    with parallel_config(backend="loky", inner_max_num_threads=per_process):
        start = time.perf_counter()
        Parallel(n_jobs=concurrency)(delayed(default_lambda_model)()  # imports too
                                     for _ in range(concurrency))
        timings["process start-up"] = time.perf_counter() - start
    start = time.perf_counter()  # and above: worker processes, X memory-mapped
    with memory_mapped(X) as (X_shared,):
        shared = [(X_shared, targets, group) for group in groups]
        results.append(flat(map_folds(_fit_group, shared, cores, processes=True)))
    timings[f"{concurrency} warm processes"] = time.perf_counter() - start

    same = all(all(np.array_equal(a, b) for a, b in zip(results[0], other))
               for other in results[1:])
    header = (f"{n_fits} fits of {rows} rows x {d} features, {cores} cores, "
              f"{per_process} OpenMP thread(s) per concurrent fit; identical predictions: "
              f"{same}")
    return header, timings, same


def _fit_group(task):
    """Predictions of one fold group's fits; module-level, so that worker processes can
    unpickle it."""
    X, targets, group = task
    return [_fit_predict(X, targets[k]) for k in group]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[160_000])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--fits", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--no-sequential", action="store_true",
                    help="skip the fits one after another (the slowest way)")
    ap.add_argument("--out", default=None, help="write the timings to this JSON file")
    args = ap.parse_args()
    runs, all_same = [], True
    for rows in args.rows:
        header, timings, same = compare(rows, args.d, args.fits, args.concurrency,
                                        sequential=not args.no_sequential)
        print(header, flush=True)
        for name, seconds in timings.items():
            print(f"  {name:32s} {seconds:7.1f} s", flush=True)
        runs.append({"header": header, "seconds": timings, "identical": same})
        all_same &= same
    if args.out:
        with open(args.out, "w") as f:
            json.dump(runs[0] if len(runs) == 1 else runs, f, indent=1)
    if not all_same:
        raise SystemExit("the ways gave different predictions")


if __name__ == "__main__":
    main()
