"""Λ-stage nuisance fits side by side: Python threads (as ``map_folds`` runs them) vs processes.

At the defaults the Λ stage runs the folds' gradient-boosting fits in threads, each with its
share of the OpenMP threads. On a 16-core GPU machine the logit's Λ stage at n = 10⁶ took
64 s that way and about 27 s when the same fits ran in five worker processes (``n_jobs=5``).
The suspect is the part of each fit that holds the GIL. This script times the same fits
(the default Λ regressor, fit on ``--rows`` rows and predicting a quarter as many) one after
another, in ``--concurrency`` threads through ``map_folds``, and in as many warm loky
processes (start-up timed apart), and checks that all three give the same predictions.

Usage::

    python benchmarks/lambda_threads.py --rows 800000 --fits 10 --concurrency 5
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from joblib import Parallel, delayed, parallel_config

from sklearn_dml._crossfit import map_folds
from sklearn_dml._lambda import default_lambda_model


def _data(rows, d, n_targets):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, d))
    targets = [np.tanh(X[:, k % d]) + 0.5 * X[:, (k + 1) % d] ** 2 + rng.normal(size=rows)
               for k in range(n_targets)]
    return X, targets


def _fit_predict(X, y):
    model = default_lambda_model().fit(X, y)
    return model.predict(X[: X.shape[0] // 4])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=160_000)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--fits", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the timings to this JSON file")
    args = ap.parse_args()
    cores = os.cpu_count()
    X, targets = _data(args.rows, args.d, args.fits)
    timings = {}

    groups = np.array_split(np.arange(args.fits), args.concurrency)  # as the folds' fits

    def fit_group(group):
        return [_fit_predict(X, targets[k]) for k in group]

    def flat(per_group):
        return [prediction for group in per_group for prediction in group]

    start = time.perf_counter()
    sequential = flat(map_folds(fit_group, groups, 1))
    timings["one after another, 1 thread"] = time.perf_counter() - start

    start = time.perf_counter()  # the Λ stage's way: groups in threads sharing the cores
    threaded = flat(map_folds(fit_group, groups, cores))
    timings[f"{args.concurrency} threads"] = time.perf_counter() - start

    per_process = max(1, cores // args.concurrency)
    with parallel_config(backend="loky", inner_max_num_threads=per_process):
        start = time.perf_counter()
        Parallel(n_jobs=args.concurrency)(delayed(default_lambda_model)()  # imports too
                                          for _ in range(args.concurrency))
        timings["process start-up"] = time.perf_counter() - start
        start = time.perf_counter()
        processes = flat(Parallel(n_jobs=args.concurrency)(
            delayed(fit_group)(group) for group in groups))
        timings[f"{args.concurrency} warm processes"] = time.perf_counter() - start

    same = all(np.array_equal(a, b) and np.array_equal(a, c)
               for a, b, c in zip(sequential, threaded, processes))
    header = (f"{args.fits} fits of {args.rows} rows x {args.d} features, {cores} cores, "
              f"{per_process} OpenMP thread(s) per concurrent fit; identical predictions: {same}")
    print(header)
    for name, seconds in timings.items():
        print(f"  {name:32s} {seconds:7.1f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"header": header, "seconds": timings, "identical": same}, f, indent=1)
    if not same:
        raise SystemExit("the three ways gave different predictions")


if __name__ == "__main__":
    main()
