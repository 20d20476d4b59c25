"""Limited overlap: how the intervals behave as T becomes a function of X, and where a fit
warns or refuses.

Design: x ~ N(0, I₄), g(x) = sin(x₁) + 0.5·x₂ + 0.3·x₃², Y = cos(x₁) + 0.5·x₃ + β(x)·T + ε with
β(x) = 0.5 + 0.3·x₂ (E[β] = 0.5) and ε ~ N(0, 1). Two treatment laws, each from good
overlap to none:

* continuous: T = g(x) + σ·u, u ~ N(0, 1), with σ set so that R²(T | X) is 0.5, 0.9, 0.97,
  0.99, 0.999 or 1 (T = g(x) exactly);
* binary: P(T = 1 | x) = logistic(k·(g(x) − 0.2)) for k = 1, 2, 4, 8, 16, and T = 1{g(x) > 0.2}
  (k = inf, no overlap at all).

With ``--family tobit`` the outcome is censored at zero, Y = max(Y*, 0) with Y* the linear
outcome above, and the fit is ``TobitDML``: its Λ̂ is a random forest over whole Hessians, whose
overlap is read from T's conditional moments (not from Λ̂'s eigenvalues, which a forest's
averaging keeps away from zero).

Each replication fits ``StructuralDMLRegressor(target="beta", cv=5)`` with the refusal
switched off, so that the table shows what the estimate would be in every cell, and records
the share of rows whose Λ̂ was regularized (the warning's share, which says the interval is
unreliable above 25%) and the share singular at 1% of the typical curvature (above 50% the
library refuses the fit). Coverage is over all replications; ``refused`` and ``unreliable``
are the shares of replications the library would refuse or flag.

Writes benchmarks/results/coverage_overlap/coverage_overlap.{md,json}
(coverage_overlap_tobit.{md,json} with ``--family tobit``).

Usage: python benchmarks/coverage_overlap.py [--reps 100] [--n 2000] [--jobs 2]
       [--family linear|tobit]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import summarize, write_study  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml import _base  # noqa: E402
from sklearn_dml._debias import (  # noqa: E402
    REGULARIZED_UNRELIABLE_SHARE,
    UNIDENTIFIED_SHARE,
)

CELLS = [("continuous", r2) for r2 in (0.5, 0.9, 0.97, 0.99, 0.999, 1.0)] + \
        [("binary", k) for k in (1.0, 2.0, 4.0, 8.0, 16.0, float("inf"))]
VAR_G = 0.55  # about the variance of g(X)
TRUTH = 0.5
COLUMNS = ["design", "overlap", "share_regularized", "refused", "unreliable", "bias",
           "mean_se", "sd", "se_sd", "bias_se", "coverage", "coverage_mc_se", "R", "cpu_s"]


ESTIMATORS = {"linear": sd.StructuralDMLRegressor, "tobit": sd.TobitDML}


def make_data(kind, level, n, seed, family="linear"):
    """X, T, Y of one replication (see the module docstring)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    g = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.3 * X[:, 2] ** 2
    if kind == "continuous":
        sigma = 0.0 if level >= 1 else np.sqrt(VAR_G * (1 - level) / level)
        T = g + sigma * rng.normal(size=n)
    else:
        p = (g > 0.2).astype(float) if np.isinf(level) else 1 / (1 + np.exp(-level * (g - 0.2)))
        T = rng.binomial(1, p).astype(float)
    Y = np.cos(X[:, 0]) + 0.5 * X[:, 2] + (0.5 + 0.3 * X[:, 1]) * T + rng.normal(size=n)
    return X, T, (np.maximum(Y, 0.0) if family == "tobit" else Y)


def replicate(kind, level, n, seed, family="linear"):
    torch.set_num_threads(1)
    _base.check_identified = lambda reps, varying=True: None  # measure what it would refuse
    X, T, Y = make_data(kind, level, n, seed, family)
    est = ESTIMATORS[family](target="beta", cv=5, random_state=seed)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, T, Y)
    res, diag = est.inference_, est.inference_.diagnostics
    return {"names": ["E[beta]"], "estimate": res.estimate[:1], "stderr": res.stderr[:1],
            "truth": np.array([TRUTH]), "cpu": time.process_time() - t0,
            "share_regularized": diag["share_regularized"],
            "share_unidentified": diag["share_unidentified"]}


def summarize_cell(kind, level, raw):
    row = summarize(raw)[0]
    row.pop("target"), row.pop("truth")
    regularized = np.array([r["share_regularized"] for r in raw])
    unidentified = np.array([r["share_unidentified"] for r in raw])
    return {"design": f"{kind} T", "overlap": (f"R²(T|X) = {level:g}" if kind == "continuous"
                                                 else f"slope k = {level:g}"),
            "share_regularized": float(regularized.mean()),
            "refused": float(np.mean(unidentified > UNIDENTIFIED_SHARE)),
            "unreliable": float(np.mean((regularized > REGULARIZED_UNRELIABLE_SHARE)
                                        & (unidentified <= UNIDENTIFIED_SHARE))),
            **row}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--family", choices=sorted(ESTIMATORS), default="linear")
    args = parser.parse_args()
    t0 = time.time()
    jobs = [(kind, level, seed) for kind, level in CELLS for seed in range(args.reps)]
    out = Parallel(n_jobs=args.jobs)(delayed(replicate)(kind, level, args.n, seed, args.family)
                                     for kind, level, seed in jobs)
    rows = []
    for i, (kind, level) in enumerate(CELLS):
        rows.append(summarize_cell(kind, level, out[i * args.reps:(i + 1) * args.reps]))
        print(rows[-1], flush=True)
    meta = (f"n={args.n}, K=5, R={args.reps} per cell (seeds 0-{args.reps - 1}), default "
            f"settings with the refusal switched off; {platform.machine()}, {args.jobs} "
            f"process(es) of one thread; wall {time.time() - t0:.0f} s")
    out_dir = os.path.join(os.path.dirname(__file__), "results", "coverage_overlap")
    os.makedirs(out_dir, exist_ok=True)
    name = "coverage_overlap" + ("" if args.family == "linear" else f"_{args.family}")
    write_study(out_dir, name, f"limited overlap, {ESTIMATORS[args.family].__name__}", meta,
                rows, COLUMNS)


if __name__ == "__main__":
    main()
