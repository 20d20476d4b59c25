"""Monte Carlo study for MultinomialLogitDML (issue 6 acceptance).

Conditional logit with heterogeneous preferences, J=4 alternatives, K=2 attributes
(price, quality), n=5000, K=5 folds, default network and training settings:

- randomized prices (independent of w), Λ integrated over resampled attribute rows
  (``treatment_law="empirical"``, regime A, two-way splitting);
- observational prices (co-moving with w), Λ regressed on w (default, regime C,
  three-way splitting).

Targets: E[β_price], the average choice probability of alternative 1 and its
own-price elasticity at fixed attributes x̃ (truths from 2e6 draws of w).
Writes benchmarks/results/coverage_choice/coverage_choice.{md,json}, updated after every design.

Usage: python benchmarks/coverage_choice.py [--reps 100] [--n 5000] [--only "regime C"]
       [--jobs 1]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table, split_failed, summarize, write_study  # noqa: E402

from sklearn_dml import MultinomialLogitDML  # noqa: E402
from sklearn_dml.datasets import make_choice  # noqa: E402
from sklearn_dml.targets import ChoiceElasticity, ChoiceProbability  # noqa: E402

COLUMNS = ["design", "target", "truth", "bias", "plugin_bias", "mean_se", "sd", "se_sd",
           "bias_se", "coverage", "coverage_mc_se", "R", "cpu_s"]
DESIGNS = {
    "randomized prices (regime A)": ("randomized", "empirical"),
    "observational prices (regime C)": ("observational", None),
}


def replicate(prices, law, n, seed):
    data = make_choice(n, prices=prices, random_state=seed)
    targets = ["beta[price]", ChoiceProbability(1, at=data.at),
               ChoiceElasticity(1, "price", at=data.at)]
    est = MultinomialLogitDML(4, attribute_names=["price", "quality"], target=targets,
                              treatment_law=law, random_state=seed)
    t0 = time.process_time()
    try:
        est.fit(data.X, data.attributes, data.Y)
    except Exception as exc:  # a failed fit is counted, not lost
        print(f"seed {seed}: {type(exc).__name__}: {exc}", flush=True)
        nan = np.full(3, np.nan)
        return {"names": None, "estimate": nan, "stderr": nan, "truth": nan, "plugin": nan,
                "cpu": time.process_time() - t0}
    cpu = time.process_time() - t0
    res = est.inference_
    return {"names": res.names, "estimate": res.estimate, "stderr": res.stderr,
            "truth": np.array([data.truth[name] for name in res.names]),
            "plugin": np.array(res.diagnostics["plugin_estimate"], dtype=float), "cpu": cpu}


def write_tables(results, args, t0):
    rows = []
    for name in results:
        ok, failed = split_failed(results[name])
        if len(ok) < 2:
            continue
        plugin = np.array([r["plugin"] for r in ok])
        truth = np.array([r["truth"] for r in ok])
        for j, row in enumerate(summarize(ok)):
            rows.append({"design": name, **row, "failed": failed,
                         "plugin_bias": float(np.mean(plugin[:, j] - truth[:, j]))})
    meta = (f"J=4, K=2, n={args.n}, 5 folds, R={args.reps} per design requested, default "
            f"network (64, 32); {platform.machine()}, {args.jobs} process(es) of one thread; "
            f"wall {time.time() - t0:.0f} s")
    write_study(args.out, "coverage_choice", "MultinomialLogitDML", meta, rows, COLUMNS)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed0", type=int, default=1000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_choice"))
    ap.add_argument("--only", default=None, help="run only the designs whose name contains this")
    ap.add_argument("--jobs", type=int, default=1,
                    help="replications at once, each in its own single-threaded process")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    designs = {name: spec for name, spec in DESIGNS.items()
               if args.only is None or args.only in name}
    results = {name: [] for name in designs}
    # designs interleaved: a stopped run leaves comparable R
    tasks = [(r, name) for r in range(args.reps) for name in designs]
    outs = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(replicate)(*designs[name], args.n, args.seed0 + r) for r, name in tasks)
    rows = []
    for (r, name), out in zip(tasks, outs):
        results[name].append(out)
        print(json.dumps({"design": name, "rep": r, "estimate": out["estimate"].tolist(),
                          "stderr": out["stderr"].tolist(), "cpu": out["cpu"]}), flush=True)
        if name == list(designs)[-1] and ((r + 1) % 10 == 0 or r + 1 == args.reps):
            rows = write_tables(results, args, t0)
    print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
