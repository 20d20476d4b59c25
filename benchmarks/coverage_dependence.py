"""Monte Carlo study of rows that are not independent, and of the check that flags them.

Linear model Y = α(x) + β(x)·T + u + ε with heterogeneous β(x) = 1 + ½·tanh(x₂), target
E[β] = 1, n = 2000 rows, default settings. Designs:

* ``iid``: independent rows in random order; ``sorted-x`` and ``sorted-t``: the same rows
  sorted by a covariate or by T (independent rows in an informative order);
* ``panel``: 400 units over 5 periods, stored unit by unit, with a unit effect in both the
  error (intra-unit correlation ½) and T, covariates that vary little within a unit;
* ``time-series``: one series of 2000 periods in time order, AR(1) errors (ρ = 0.6);
* ``sorted-x-kfold`` and ``sorted-t-kfold``: the sorted rows fitted with ``cv=KFold(5)``,
  scikit-learn's splitter without shuffling, so that each held-out fold is a slice of the
  order (what the fold-balance warning is for);
* ``copies``: 1000 independent rows, each stored twice, in random order (records that a
  merge duplicated; what the repeated-rows warning is for); ``copies-dropped``: the same
  1000 distinct rows, fitted once each.

Each replication fits without groups (the iid standard error, and whether the adjacent-rows
and the fold-balance warnings fire) and, for the panel, with ``groups=`` the unit
(cluster-robust).

Usage: python benchmarks/coverage_dependence.py [--reps 200] [--designs iid,panel] [--jobs 2]
       [--append]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import finish_study, study_parser, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402

UNITS, PERIODS = 400, 5
N = UNITS * PERIODS
DESIGNS = ("iid", "sorted-x", "sorted-t", "panel", "time-series", "sorted-x-kfold",
           "sorted-t-kfold", "copies", "copies-dropped")
COLUMNS = ["design", "n", "se", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "warned", "mean_z", "warned_folds",
           "mean_fold_z", "warned_copies", "cpu_s"]


def simulate(design, seed):
    """X, T, Y and unit ids of one sample of ``design``, rows in the design's order."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(UNITS), PERIODS)
    if design == "panel":
        X = rng.standard_normal((UNITS, 5))[unit] + 0.3 * rng.standard_normal((N, 5))
        shared_t, shared_e = rng.standard_normal(UNITS)[unit], rng.standard_normal(UNITS)[unit]
    else:
        X = rng.standard_normal((N, 5))
        shared_t = shared_e = np.zeros(N)
    T = 0.5 * X[:, 0] + shared_t + rng.standard_normal(N)
    noise = rng.standard_normal(N)
    if design == "time-series":
        for i in range(1, N):  # AR(1): each period's error carries 0.6 of the last one's
            noise[i] += 0.6 * noise[i - 1]
    Y = X[:, 0] + 0.5 * X[:, 2] + (1 + 0.5 * np.tanh(X[:, 1])) * T + shared_e + noise
    order = {"sorted-x": np.argsort(X[:, 1]), "sorted-t": np.argsort(T),
             "copies": rng.permutation(np.repeat(np.arange(N // 2), 2)),
             "copies-dropped": np.arange(N // 2)}.get(design.removesuffix("-kfold"),
                                                      np.arange(N))
    unit = np.arange(N) if design.startswith("copies") else unit  # a copy's row of origin
    return X[order], T[order], Y[order], unit[order]


def truth():
    """E[β(X)] = 1 + ½·E[tanh(x₂)] = 1 for a symmetric x₂."""
    return 1.0


def replication(design, seed):
    X, T, Y, unit = simulate(design, seed)
    out = {}
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = sd.StructuralDMLRegressor(target="beta", random_state=seed,
                                        cv=KFold(5) if design.endswith("kfold") else 5
                                        ).fit(X, T, Y)
    out["iid"] = {"estimate": est.inference_.estimate, "stderr": est.inference_.stderr,
                  "warned": any("rows adjacent" in str(w.message) for w in caught),
                  "z": est.row_dependence_["z"], "cpu": time.process_time() - t0,
                  "warned_folds": any("Held-out fold" in str(w.message) for w in caught),
                  "fold_z": est._fold_balance["z"],
                  "warned_copies": any("repeat another row" in str(w.message)
                                       for w in caught)}
    if design == "panel":
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = sd.StructuralDMLRegressor(target="beta", random_state=seed).fit(
                X, T, Y, groups=unit)
        out["cluster-robust"] = {"estimate": est.inference_.estimate,
                                 "stderr": est.inference_.stderr, "warned": None, "z": None,
                                 "warned_folds": None, "fold_z": None,
                                 "warned_copies": None, "cpu": time.process_time() - t0}
    return out


def main():
    ap = study_parser("coverage_dependence", DESIGNS)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    import coverage_dependence as this  # the workers import it by name, not as __main__
    rows, t_start = [], time.time()
    designs = args.designs.split(",")
    for design in designs:
        reps = Parallel(n_jobs=args.jobs)(delayed(this.replication)(design, seed)
                                          for seed in range(args.reps))
        for se in reps[0]:
            results = [{"names": ["E[beta]"], "truth": np.array([truth()]), **r[se]}
                       for r in reps]
            row = summarize(results)[0]
            warned = [r["warned"] for r in results if r["warned"] is not None]
            z = [r["z"] for r in results if r["z"] is not None]
            folds = [r["fold_z"] for r in results if r["fold_z"] is not None]
            rows.append({"design": design, "n": N // 2 if design == "copies-dropped" else N,
                         "se": se, **row,
                         "warned": float(np.mean(warned)) if warned else None,
                         "mean_z": float(np.mean(z)) if z else None,
                         "warned_folds": float(np.mean([r["warned_folds"] for r in results]))
                         if folds else None,
                         "mean_fold_z": float(np.mean(folds)) if folds else None,
                         "warned_copies": float(np.mean([r["warned_copies"] for r in results]))
                         if folds else None})
    finish_study(args, "coverage_dependence", "rows that are not independent",
                 f"{', '.join(designs)}: n = {N}, default settings", rows,
                 COLUMNS, key=lambda r: r["design"], t_start=t_start)


if __name__ == "__main__":
    main()
