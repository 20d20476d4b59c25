"""Second versions of the core designs: other θ(x), covariate laws and treatment laws.

Written to judge size-dependent defaults on data they were not tuned on. Eight covariates
(a uniform, a skewed lognormal, a 0/1 indicator, one correlated with the uniform, four
pure noise), θ(x) with tanh / cos / indicator terms, a treatment in "real units"
(mean about 2, SD about 1.9, Student-t(5) noise) and a strongly confounded 0/1 treatment.
True E[β(X)] is a property of the covariate law; it is computed once by simulation.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from sklearn.utils import Bunch

N_FEATURES = 8
_TRUTH_DRAWS = 4_000_000

# family -> (α shift, β level, β heterogeneity scale, α scale)
_SCALES = {
    "linear": (0.0, 1.0, 1.0, 1.0),
    "logit": (-0.6, 0.4, 0.6, 1.0),
    "probit": (-0.4, 0.25, 0.4, 0.6),
    "poisson": (0.2, 0.15, 0.25, 0.5),
    "tobit": (-0.3, 0.5, 0.6, 1.0),
}


def covariates(n, rng):
    x1 = rng.uniform(-np.sqrt(3), np.sqrt(3), n)
    z = rng.standard_normal(n)
    x2 = (np.exp(0.6 * z) - np.exp(0.18)) / np.sqrt((np.exp(0.36) - 1) * np.exp(0.36))
    x3 = rng.binomial(1, 0.3, n).astype(float)
    x4 = 0.6 * x1 + 0.8 * rng.standard_normal(n)
    noise = rng.standard_normal((n, N_FEATURES - 4))
    return np.column_stack([x1, x2, x3, x4, noise])


def theta(family, X):
    a_shift, b_level, b_scale, a_scale = _SCALES[family]
    x1, x2, x3, x4 = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    alpha = a_shift + a_scale * (0.4 * x2 - 0.3 * x3 + 0.3 * np.cos(x4))
    beta = b_level + b_scale * (0.3 * np.tanh(x1) + 0.25 * x3 - 0.15 * x2)
    return alpha, beta


def treatment(X, rng, kind):
    n = X.shape[0]
    if kind == "continuous":
        e = rng.standard_t(5, n) / np.sqrt(5 / 3)
        return 2.0 + 0.8 * X[:, 1] - 0.5 * X[:, 2] + 0.6 * X[:, 3] + 1.5 * e
    if kind == "binary":
        p = 1 / (1 + np.exp(-(-0.4 + 1.2 * X[:, 0] - 0.8 * X[:, 2] + 0.5 * X[:, 1])))
        return rng.binomial(1, p).astype(float)
    if kind == "randomized":
        return rng.binomial(1, 0.3, n).astype(float)
    raise ValueError(kind)


_TRUTH: dict = {}


def true_mean_beta(family):
    if family not in _TRUTH:
        X = covariates(_TRUTH_DRAWS, np.random.RandomState(2024))
        _TRUTH[family] = float(theta(family, X)[1].mean())
    return _TRUTH[family]


def make_alt(family, n, treatment_kind="continuous", random_state=None):
    """One data set of the second design for ``family`` (linear, logit, probit, poisson,
    tobit)."""
    rng = np.random.RandomState(random_state)
    X = covariates(n, rng)
    alpha, beta = theta(family, X)
    T = treatment(X, rng, treatment_kind)
    eta = alpha + beta * T
    if family == "linear":
        Y = eta + (0.5 + 0.5 * np.abs(X[:, 0])) * rng.standard_normal(n)
    elif family == "logit":
        Y = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "probit":
        Y = rng.binomial(1, norm.cdf(eta)).astype(float)
    elif family == "poisson":
        Y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "tobit":
        Y = np.maximum(eta + rng.standard_normal(n), 0.0)
    else:
        raise ValueError(family)
    law = ([0.0, 1.0], [0.7, 0.3]) if treatment_kind == "randomized" else None
    return Bunch(X=X, T=T, Y=Y, theta=np.column_stack([alpha, beta]),
                 truth={"E[beta]": true_mean_beta(family)}, treatment_law=law,
                 description=f"{family}, second design, {treatment_kind} T, n={n}")
