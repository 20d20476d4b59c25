"""Strong confounding: regime-C families when X explains most of T.

The family catalogue's designs (sklearn_dml.datasets.make_family_data: θ(x), outcome laws)
with the treatment made more predictable from X at the same variance: T = c·(0.5·x₁ +
0.3·x₃) + s·u, u ~ N(0, 1), with c and s set so that Var(T) = 1.34 (the catalogue's) and
R²(T | X) is 0.6 or 0.9 (the catalogue's own is 0.25). Each replication fits the family's
estimator (target E[beta], cv=5) with the default Λ̂ (``lambda_method="regression"``: a
random forest over whole Hessians for the tobit, negative binomial and gamma, weighted
moments of T given X for the single-index poisson and probit) and, for the forest
families, with ``lambda_method="conditional"``.

Writes benchmarks/results/coverage_confounding/coverage_confounding.{md,json}.

Usage: python benchmarks/coverage_confounding.py [--reps 40] [--jobs 2]
       [--families tobit,negbin,gamma] [--r2 0.6,0.9] [--methods regression,conditional]
       [--append]

``--append`` adds the cells to the stored study (replacing cells it already holds).
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
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import summarize, write_study  # noqa: E402
from coverage_families import ESTIMATORS  # noqa: E402

from sklearn_dml.datasets import _families  # noqa: E402

VAR_T, VAR_SIGNAL = 1.34, 0.34  # the catalogue's Var(T) and Var(0.5·x₁ + 0.3·x₃)
METHODS = ("regression", "conditional")
COLUMNS = ["family", "r2", "lambda_method", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "sd_z", "R", "cpu_s"]


def make_data(family, r2, n, seed):
    """X, T (n, 1), Y and the true E[beta] of one replication."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, 5))
    signal = 0.5 * X[:, 0] + 0.3 * X[:, 2]
    noise = rng.standard_normal(n)
    T = np.sqrt(r2 * VAR_T / VAR_SIGNAL) * signal + np.sqrt((1 - r2) * VAR_T) * noise
    theta = _families._theta(family, X[:, :3])
    eta = theta[:, 0] + theta[:, 1] * T
    Y = _families._draw_y(family, eta, theta[:, 2] if theta.shape[1] > 2 else None, rng)
    return X, T[:, None], Y, _families._DESIGNS[family][0][3]


def replicate(family, r2, method, n, seed):
    torch.set_num_threads(1)
    X, T, Y, truth = make_data(family, r2, n, seed)
    est = ESTIMATORS[family](cv=5, random_state=seed, lambda_method=method, target="beta")
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, T, Y)
    res = est.inference_
    return {"names": ["E[beta]"], "estimate": res.estimate[:1], "stderr": res.stderr[:1],
            "truth": np.array([truth]), "cpu": time.process_time() - t0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--families", default="tobit,negbin,gamma")
    parser.add_argument("--r2", default="0.6,0.9")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    t0 = time.time()
    cells = [(f, float(r2), m) for f in args.families.split(",") for r2 in args.r2.split(",")
             for m in args.methods.split(",")]
    rows = []
    for family, r2, method in cells:
        raw = Parallel(n_jobs=args.jobs)(delayed(replicate)(family, r2, method, args.n, s)
                                         for s in range(args.reps))
        row = summarize(raw)[0]
        z = np.array([(r["estimate"][0] - r["truth"][0]) / r["stderr"][0] for r in raw])
        row.pop("target"), row.pop("truth")
        rows.append({"family": family, "r2": r2, "lambda_method": method, **row,
                     "sd_z": float(z.std())})
        print(rows[-1], flush=True)
    meta = (f"n={args.n}, K=5, R={args.reps} per cell (seeds 0-{args.reps - 1}); "
            f"{platform.machine()}, {args.jobs} process(es) of one thread; "
            f"wall {time.time() - t0:.0f} s")
    out_dir = os.path.join(os.path.dirname(__file__), "results", "coverage_confounding")
    os.makedirs(out_dir, exist_ok=True)
    notes = None
    if args.append:
        with open(os.path.join(out_dir, "coverage_confounding.json")) as f:
            stored = json.load(f)
        new = {(r["family"], r["r2"], r["lambda_method"]) for r in rows}
        rows = [r for r in stored["rows"]
                if (r["family"], r["r2"], r["lambda_method"]) not in new] + rows
        meta, notes = f"{stored['meta']}; appended: {meta}", stored.get("notes")
    write_study(out_dir, "coverage_confounding", "strong confounding, regime C", meta, rows,
                COLUMNS, notes=notes)


if __name__ == "__main__":
    main()
