"""Monte Carlo study of a confounded 0/1 treatment: which Λ method keeps the interval centred?

For a single 0/1 treatment the law of T given X is Bernoulli with the propensity e(x), so
``lambda_method="conditional"`` integrates the Hessian at θ̂(x) over a law that is exact in
form. This study compares it with the Hessian regression (``"regression"``) on binary-T
versions of the logit, probit, Poisson, gumbel and tobit designs: X ~ N(0, I₅),
T ~ Bernoulli(σ(0.8 x₁ − 0.5 x₃)), θ(x) as in :func:`~sklearn_dml.datasets.make_logit`
(logit) or :func:`~sklearn_dml.datasets.make_family_data` (the others). The ``-rare``
designs lower α(x) so that about 8% (logit) or 11% (probit) of outcomes are ones, as in
default, mortality or conversion data (``share_positive``: the share of Y > 0). Target
E[β]; 'fits warned' is the share of fits that raised any warning. The method ``auto`` is
the default, resolved as shown.

Usage: python benchmarks/coverage_binary_treatment.py [--reps 150] [--n 3000] [--jobs 2]
       [--designs logit,logit-rare] [--methods regression,auto] [--append]
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
from _mc import finish_study, fit_recording, study_parser, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import _families  # noqa: E402

# design -> (family, shift of α(x))
DESIGNS = {"logit": ("logit", 0.0), "logit-rare": ("logit", -2.7), "probit": ("probit", 0.0),
           "probit-rare": ("probit", -1.5), "poisson": ("poisson", 0.0),
           "gumbel": ("gumbel", 0.0), "tobit": ("tobit", 0.0)}
COLUMNS = ["design", "method", "n", "share_positive", "truth", "bias", "mean_se", "sd", "se_sd",
           "bias_se", "coverage", "coverage_mc_se", "R", "warned", "cpu_s"]


def simulate(family, shift, n, seed):
    """X, a confounded 0/1 T, Y, and the truth E[β]."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    if family == "logit":  # make_logit's α(x) and β(x)
        theta = np.column_stack([-0.3 + 0.5 * X[:, 0] + 0.3 * np.sin(X[:, 1]),
                                 0.8 + 0.4 * X[:, 1] - 0.2 * X[:, 0] ** 2])
        truth = 0.6
    else:
        theta = _families._theta(family, X)
        truth = _families._DESIGNS[family][0][3]
    theta[:, 0] += shift
    T = rng.binomial(1, 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 2])))).astype(float)
    eta = theta[:, 0] + theta[:, 1] * T
    if family == "logit":
        Y = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    else:
        Y = _families._draw_y(family, eta, theta[:, 2] if theta.shape[1] > 2 else None, rng)
    return X, T, Y, truth


def replication(design, method, n, seed):
    family, shift = DESIGNS[design]
    X, T, Y, truth = simulate(family, shift, n, seed)
    est = sd.StructuralDML(family=family, target="beta", lambda_method=method,
                           random_state=seed)
    return {**fit_recording(est, X, T, Y, truth), "resolved": est.lambda_method_,
            "share_positive": float(np.mean(Y > 0))}


def main():
    ap = study_parser("coverage_binary_treatment", tuple(DESIGNS))
    ap.set_defaults(reps=150)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--methods", default="regression,auto")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    import coverage_binary_treatment as this  # the workers import it by name
    rows, t_start = [], time.time()
    for design in args.designs.split(","):
        for method in args.methods.split(","):
            results = Parallel(n_jobs=args.jobs)(
                delayed(this.replication)(design, method, args.n, seed)
                for seed in range(args.reps))
            resolved = sorted({r["resolved"] for r in results})
            rows.append({"design": design, "n": args.n,
                         "method": method if resolved == [method] else
                         f"{method} ({', '.join(resolved)})",
                         "share_positive": float(np.mean([r["share_positive"] for r in results])),
                         **summarize(results)[0],
                         "warned": float(np.mean([r["warned"] for r in results]))})
            print(rows[-1], flush=True)
    finish_study(args, "coverage_binary_treatment", "a confounded 0/1 treatment",
                 f"{args.designs} at n = {args.n}, methods {args.methods}", rows,
                 COLUMNS, key=lambda r: (r["design"], r["method"], r["n"]),
                 t_start=t_start)


if __name__ == "__main__":
    main()
