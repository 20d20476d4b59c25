"""Monte Carlo study: covariates given in heavy-tailed units, like income or wealth.

Each design draws the data of a core design (``make_linear_confounded``, ``make_logit`` or
``make_family_data``: five standard-normal covariates, T | X ~ N(0.5 x₁ + 0.3 x₃, 1)),
then hands the estimator x₁ and x₂ as exp(2 x₁) and exp(2 x₂): log-normal columns with a
log-SD of 2, the skew of wealth or firm size. The information in X is the same (the map
is monotone) and so is the truth; only the coding changes. Versions: ``normal`` (X as
drawn, the reference), ``lognormal-standard`` (the recoded X, ``x_scaling="standard"``:
each column divided by its SD, the behaviour before ``x_scaling``) and
``lognormal-auto`` (the recoded X with the default ``x_scaling="auto"``, which gives the
two columns normal scores). Target E[beta]; 'failed' counts fits that stopped with an
error (a diverged θ-network, a singular Λ̂).

Usage: python benchmarks/coverage_heavy_tails.py [--reps 100] [--n 5000] [--jobs 2]
       [--designs probit-lognormal-auto,...] [--append]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import finish_study, guarded_replicate, study_parser, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_family_data, make_linear_confounded, make_logit  # noqa: E402

ESTIMATORS = {"linear": sd.StructuralDMLRegressor, "logit": sd.LogitDML,
              "probit": sd.ProbitDML, "poisson": sd.PoissonDML, "tobit": sd.TobitDML}
VERSIONS = ("normal", "lognormal-standard", "lognormal-auto")
DESIGNS = tuple(f"{family}-{version}" for family in ESTIMATORS for version in VERSIONS)
COLUMNS = ["design", "n", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "sd_z", "R", "failed", "warned", "cpu_s"]
RECODED = [0, 1]
LOG_SD = 2.0


def make_data(design, n, seed):
    family, _, version = design.partition("-")
    if family in ("linear", "logit"):
        make = make_linear_confounded if family == "linear" else make_logit
        data = make(n, treatment="continuous", random_state=seed)
    else:
        data = make_family_data(family, n, random_state=seed)
    if version != "normal":
        data.X = data.X.copy()
        data.X[:, RECODED] = np.exp(LOG_SD * data.X[:, RECODED])
    return data


class Estimator:
    """The design's default estimator, ``x_scaling="standard"`` for that version
    (picklable for the worker processes)."""

    def __init__(self, design):
        self.design = design

    def __call__(self, data, seed):
        family, _, version = self.design.partition("-")
        scaling = "standard" if version.endswith("standard") else "auto"
        return ESTIMATORS[family](target="beta", x_scaling=scaling, random_state=seed)


def replication(design, n, seed):
    import warnings

    torch.set_num_threads(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, failure = guarded_replicate(lambda s: make_data(design, n, s),
                                            Estimator(design), seed)
    if result is not None:
        result["warned"] = bool(caught)
    return result


def main():
    ap = study_parser("coverage_heavy_tails", DESIGNS)
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    args.reps = args.reps if "--reps" in sys.argv else 100
    os.makedirs(args.out, exist_ok=True)
    rows, t_start = [], time.time()
    for design in args.designs.split(","):
        results = Parallel(n_jobs=args.jobs)(delayed(replication)(design, args.n, seed)
                                             for seed in range(args.reps))
        ok = [r for r in results if r is not None]
        z = np.array([(r["estimate"][0] - r["truth"][0]) / r["stderr"][0] for r in ok])
        rows.append({"design": design, "n": args.n, **summarize(ok)[0],
                     "sd_z": float(z.std(ddof=1)), "failed": len(results) - len(ok),
                     "warned": float(np.mean([r["warned"] for r in ok]))})
        print(rows[-1], flush=True)
    finish_study(args, "coverage_heavy_tails", "covariates in heavy-tailed units",
                 f"{args.designs} at n = {args.n}: default settings but x_scaling", rows,
                 COLUMNS, key=lambda r: (r["design"], r["n"]), t_start=t_start)


if __name__ == "__main__":
    main()
