"""Monte Carlo study of a categorical covariate coded as dummies: region fixed effects.

Real data often carry a categorical covariate (state, industry, year) as one-hot dummies.
Here X has four standard-normal columns and 29 dummies of 30 equally likely regions whose
effects e_r ~ N(0, 0.7²) (drawn once) enter α(x) and the confounded treatment:
α(x) = 0.5·x₀ + e_r, β(x) = 0.6 + 0.3·tanh(x₁) (truth E[β] = 0.6),
T = 0.5·x₀ + 0.5·e_r + N(0, 1). The outcome is linear (N(0, 1) noise), a logit, a probit
(index scaled by 0.6) or a Poisson count (index scaled by 0.3, around 1 + 0.3·x₀).
n = 3000 rows, about 100 per region. Designs ``*-boosting`` refit the same samples with
``lambda_model`` set to the gradient boosting that the single-index families' Λ
regressions used before they gained a linear part in the two-valued columns.

Usage: python benchmarks/coverage_fixed_effects.py [--reps 200] [--n 3000] [--jobs 2]
       [--designs logit,logit-boosting]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import expit, ndtr  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import fit_recording, study_by_n  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml._lambda import default_lambda_model  # noqa: E402

DESIGNS = ("linear", "logit", "logit-boosting", "probit", "probit-boosting", "poisson",
           "poisson-boosting")
COLUMNS = ["design", "n", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "sd_z", "R", "warned", "cpu_s"]
REGIONS = 30
EFFECTS = np.random.default_rng(999).normal(0.0, 0.7, REGIONS)
# family -> (estimator, scale of the index)
FAMILIES = {"linear": (sd.StructuralDMLRegressor, 1.0), "logit": (sd.LogitDML, 1.0),
            "probit": (sd.ProbitDML, 0.6), "poisson": (sd.PoissonDML, 0.3)}


def sample(family, n, seed):
    """One sample with what only the simulation knows: θ(x) of the index and E[T | x]."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    region = rng.integers(0, REGIONS, n)
    effect = EFFECTS[region]
    X = np.column_stack([x, np.eye(REGIONS)[region][:, 1:]])
    t_mean = 0.5 * x[:, 0] + 0.5 * effect
    T = t_mean + rng.standard_normal(n)
    scale = FAMILIES[family][1]
    theta = scale * np.column_stack([0.5 * x[:, 0] + effect, 0.6 + 0.3 * np.tanh(x[:, 1])])
    eta = theta[:, 0] + theta[:, 1] * T
    if family == "linear":
        Y = eta + rng.standard_normal(n)
    elif family == "poisson":
        Y = rng.poisson(np.exp(eta)).astype(float)
    else:
        p = expit(eta) if family == "logit" else ndtr(eta)
        Y = (rng.random(n) < p).astype(float)
    return SimpleNamespace(X=X, T=T, Y=Y, theta=theta, t_mean=t_mean,
                           truth={"E[beta]": 0.6 * scale})  # E[tanh(x₁)] = 0


def simulate(family, n, seed):
    """(X, T, Y, truth E[β] of the index) of one sample."""
    data = sample(family, n, seed)
    return data.X, data.T, data.Y, data.truth["E[beta]"]


def replication(design, n, seed):
    family = design.removesuffix("-boosting")
    X, T, Y, truth = simulate(family, n, seed)
    params = {"lambda_model": default_lambda_model()} if design.endswith("boosting") else {}
    estimator = FAMILIES[family][0](target="beta", random_state=seed, **params)
    return fit_recording(estimator, X, T, Y, truth)


def main():
    study_by_n("coverage_fixed_effects", "region dummies", DESIGNS, "3000", COLUMNS)


if __name__ == "__main__":
    main()
