"""Simulated data with known truth, for demos, tests and Monte Carlo studies."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..families._index import sigmoid

_TRUTH_DRAWS = 2_000_000


def _alpha_beta_linear(X):
    alpha = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    beta = 1.0 + 0.5 * X[:, 0] + 0.25 * X[:, 1] ** 2
    return alpha, beta


def _alpha_beta_logit(X):
    alpha = -0.3 + 0.5 * X[:, 0] + 0.3 * np.sin(X[:, 1])
    beta = 0.8 + 0.4 * X[:, 1] - 0.2 * X[:, 0] ** 2
    return alpha, beta


def _treatment(X, rng, kind):
    n = X.shape[0]
    if kind == "continuous":
        return 0.5 * X[:, 0] + 0.3 * X[:, 2] + rng.standard_normal(n)
    if kind == "binary":
        return rng.binomial(1, sigmoid(0.8 * X[:, 0] - 0.5 * X[:, 2])).astype(float)
    if kind == "randomized":
        return rng.binomial(1, 0.5, size=n).astype(float)
    raise ValueError(f"treatment must be 'continuous', 'binary' or 'randomized'; got {kind!r}.")


def _covariates(n_samples, n_features, rng):
    if n_features < 3:
        raise ValueError("n_features must be at least 3 (the simulated θ(x) uses three).")
    return rng.standard_normal((n_samples, n_features))


def make_linear_confounded(n_samples=2000, n_features=5, treatment="continuous", noise=1.0,
                           random_state=None):
    """Simulate Y = α(x) + β(x)·T + ε with a treatment that depends on x.

    X ~ N(0, I); α(x) = sin(x₁) + 0.5·x₂; β(x) = 1 + 0.5·x₁ + 0.25·x₂²;
    T = 0.5·x₁ + 0.3·x₃ + N(0, 1) (``"continuous"``), T ~ Bernoulli(σ(0.8·x₁ − 0.5·x₃))
    (``"binary"``) or Bernoulli(0.5) (``"randomized"``); ε ~ N(0, noise²).
    True averages: E[α(X)] = 0 and E[β(X)] = 1.25.

    Parameters
    ----------
    n_samples : int, default=2000
    n_features : int, default=5
        Covariates; only the first three matter.
    treatment : {"continuous", "binary", "randomized"}, default="continuous"
    noise : float, default=1.0
        Standard deviation of ε.
    random_state : int, RandomState instance or None

    Returns
    -------
    Bunch with ``X``, ``T``, ``Y``, ``theta`` (true θ(x_i)), ``truth`` (dict of
    true targets keyed as in the summary) and ``description``.

    Examples
    --------
    >>> from sklearn_dml.datasets import make_linear_confounded
    >>> data = make_linear_confounded(n_samples=100, random_state=0)
    >>> data.X.shape, data.truth["E[beta]"]
    ((100, 5), 1.25)
    """
    rng = check_random_state(random_state)
    X = _covariates(n_samples, n_features, rng)
    alpha, beta = _alpha_beta_linear(X)
    T = _treatment(X, rng, treatment)
    Y = alpha + beta * T + noise * rng.standard_normal(n_samples)
    return Bunch(X=X, T=T, Y=Y, theta=np.column_stack([alpha, beta]),
                 truth={"E[alpha]": 0.0, "E[beta]": 1.25},
                 description=f"linear model, {treatment} treatment, n={n_samples}")


def _logit_ame_truth(treatment):
    rng = np.random.RandomState(12345)
    X = rng.standard_normal((_TRUTH_DRAWS, 3))
    alpha, beta = _alpha_beta_logit(X)
    T = _treatment(X, rng, treatment)
    p = sigmoid(alpha + beta * T)
    ate = float(np.mean(sigmoid(alpha + beta) - sigmoid(alpha)))
    return float(np.mean(p * (1 - p) * beta)), ate


_AME_CACHE: dict = {}


def make_logit(n_samples=2000, n_features=5, treatment="continuous", random_state=None):
    """Simulate P(Y=1 | x, t) = σ(α(x) + β(x)·t).

    X ~ N(0, I); α(x) = −0.3 + 0.5·x₁ + 0.3·sin(x₂); β(x) = 0.8 + 0.4·x₂ − 0.2·x₁²;
    T as in :func:`make_linear_confounded` (``"randomized"``: Bernoulli(0.5),
    independent of X, with law ``treatment_law=([0, 1], [0.5, 0.5])``).
    True E[β(X)] = 0.6; the true average marginal effect at the observed T (and, for a
    0/1 treatment, the average effect of moving T from 0 to 1) is computed once from
    2·10⁶ draws (Monte Carlo error about 1e-4).

    Parameters
    ----------
    n_samples : int, default=2000
    n_features : int, default=5
    treatment : {"continuous", "binary", "randomized"}, default="continuous"
    random_state : int, RandomState instance or None

    Returns
    -------
    Bunch with ``X``, ``T``, ``Y``, ``theta``, ``truth`` (``"E[beta]"``,
    ``"AME[T]"``, and ``"ATE[T]"`` for a 0/1 treatment), ``treatment_law`` (for the
    randomized design, else None) and ``description``.

    Examples
    --------
    >>> from sklearn_dml.datasets import make_logit
    >>> data = make_logit(n_samples=100, random_state=0)
    >>> sorted(data.truth)
    ['AME[T]', 'E[beta]']
    """
    rng = check_random_state(random_state)
    X = _covariates(n_samples, n_features, rng)
    alpha, beta = _alpha_beta_logit(X)
    T = _treatment(X, rng, treatment)
    Y = rng.binomial(1, sigmoid(alpha + beta * T)).astype(float)
    if treatment not in _AME_CACHE:
        _AME_CACHE[treatment] = _logit_ame_truth(treatment)
    law = ([0.0, 1.0], [0.5, 0.5]) if treatment == "randomized" else None
    ame, ate = _AME_CACHE[treatment]
    truth = {"E[beta]": 0.6, "AME[T]": ame}
    if treatment != "continuous":
        truth["ATE[T]"] = ate
    return Bunch(X=X, T=T, Y=Y, theta=np.column_stack([alpha, beta]), truth=truth,
                 treatment_law=law,
                 description=f"logit model, {treatment} treatment, n={n_samples}")
