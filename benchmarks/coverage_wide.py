"""Monte Carlo study on covariates like a survey's: many, mixed, a few of them relevant.

X has 20 columns: ten standard normal, five binary (shares 0.5, 0.3, 0.1, 0.6, 0.2) and
five log-normal (log-SD 0.8). β(x) = 0.5 + 0.3·tanh(x₀) − 0.2·x₁₁ + 0.1·log x₁₅ (truth
E[β] = 0.44), α(x) = 0.2·x₁ − 0.3·x₁₂ + 0.2·sin x₃, and the treatment is confounded:
T = 0.5·x₀ + 0.4·x₁₀ − 0.3·log x₁₆ + 0.2·x₂ + N(0, 1). The outcome is linear (N(0, 1)
noise) or a logit. Designs ``*-mixed20`` give the estimator all 20 columns; ``*-relevant9``
only the nine that enter α, β or T, as they are (log-normal ones included). Default
settings, target E[beta]; 'fits warned' is the share of fits that raised any warning.

Usage: python benchmarks/coverage_wide.py [--reps 100] [--n 3000,10000] [--jobs 2]
       [--designs logit-relevant9 --n 10000 --append]
"""

from __future__ import annotations

import functools
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import fit_recording, study_by_n  # noqa: E402

import sklearn_dml as sd  # noqa: E402

DESIGNS = ("linear-mixed20", "logit-mixed20", "logit-relevant9")
COLUMNS = ["design", "n", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "sd_z", "R", "warned", "cpu_s"]
RELEVANT = [0, 1, 2, 3, 10, 11, 12, 15, 16]
TRUTH_ROWS = 400_000


def covariates(rng, n):
    """Ten normal, five binary and five log-normal columns."""
    normal = rng.normal(size=(n, 10))
    binary = (rng.random((n, 5)) < [0.5, 0.3, 0.1, 0.6, 0.2]).astype(float)
    return np.column_stack([normal, binary, np.exp(0.8 * rng.normal(size=(n, 5)))])


def beta(X):
    return 0.5 + 0.3 * np.tanh(X[:, 0]) - 0.2 * X[:, 11] + 0.1 * np.log(X[:, 15])


@functools.cache
def true_mean_beta():
    """E[β] over 400,000 simulated rows."""
    return float(np.mean(beta(covariates(np.random.default_rng(10 ** 6), TRUTH_ROWS))))


def sample(design, n, seed):
    """One sample with what only the simulation knows: θ(x) = (α, β) and E[T | x]."""
    rng = np.random.default_rng(seed)
    X = covariates(rng, n)
    t_mean = 0.5 * X[:, 0] + 0.4 * X[:, 10] - 0.3 * np.log(X[:, 16]) + 0.2 * X[:, 2]
    T = t_mean + rng.normal(size=n)
    theta = np.column_stack([0.2 * X[:, 1] - 0.3 * X[:, 12] + 0.2 * np.sin(X[:, 3]), beta(X)])
    eta = theta[:, 0] + theta[:, 1] * T
    if design.startswith("linear"):
        Y = eta + rng.normal(size=n)
    else:
        Y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return SimpleNamespace(X=X[:, RELEVANT] if design.endswith("relevant9") else X, T=T, Y=Y,
                           theta=theta, t_mean=t_mean, truth={"E[beta]": true_mean_beta()})


def simulate(design, n, seed):
    """(X the estimator sees, T, Y, truth E[β])."""
    data = sample(design, n, seed)
    return data.X, data.T, data.Y, data.truth["E[beta]"]


def replication(design, n, seed):
    X, T, Y, truth = simulate(design, n, seed)
    estimator = sd.StructuralDMLRegressor if design.startswith("linear") else sd.LogitDML
    return fit_recording(estimator(target="beta", random_state=seed), X, T, Y, truth)


def main():
    study_by_n("coverage_wide", "many mixed covariates", DESIGNS, "3000,10000", COLUMNS)


if __name__ == "__main__":
    main()
