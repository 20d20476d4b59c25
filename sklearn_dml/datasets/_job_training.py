"""A simulated job-training evaluation with few treated rows and strong selection."""

from __future__ import annotations

import functools

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..families._index import sigmoid

FEATURE_NAMES = ["age", "education", "black", "hispanic", "married", "no_degree",
                 "earnings_1974", "earnings_1975", "unemployed_1974", "unemployed_1975"]


def _covariates(n, rng):
    age = np.clip(rng.gamma(6.0, 5.5, n), 17, 55)
    educ = np.clip(np.round(rng.normal(11.5, 2.5, n)), 3, 17)
    black, hispanic, married = rng.random_sample((3, n)) < np.array([[0.3], [0.07], [0.6]])

    def earnings():
        zero = rng.random_sample(n) < 0.25 + 0.3 * black
        level = np.log(12000.0) + 0.02 * (age - 30) + 0.05 * (educ - 11)
        return np.where(zero, 0.0, rng.lognormal(level, 0.8))

    re74, re75 = earnings(), earnings()
    return np.column_stack([age, educ, black, hispanic, married, educ < 12, re74, re75,
                            re74 == 0, re75 == 0]).astype(float)


def _propensity(X):
    age, black, married, nodeg, re74, re75 = X[:, 0], X[:, 2], X[:, 4], X[:, 5], X[:, 6], X[:, 7]
    return sigmoid(-2.6 - 0.06 * (age - 25) + 1.5 * black + 0.8 * nodeg - 1.0 * married
                   - 1.2e-4 * (re74 + re75) / 2 + 1.0 * (re75 == 0))


def _outcome(X, T, rng, outcome):
    """Y and each row's effect of moving T from 0 to 1."""
    age, educ, black, married, re74, re75 = X[:, 0], X[:, 1], X[:, 2], X[:, 4], X[:, 6], X[:, 7]
    if outcome == "earnings":
        effect = 1800.0 + 60.0 * (educ - 11) - 800.0 * married
        base = 0.55 * re75 + 0.25 * re74 + 200.0 * (educ - 11) - 4.0 * (age - 30) ** 2 + 3000
        return base + effect * T + 5000.0 * rng.standard_t(4, T.shape[0]), effect
    if outcome == "employment":
        alpha = -0.5 + 0.8 * (re75 > 0) + 0.05 * (educ - 11) - 0.3 * black
        beta = 0.6 + 0.1 * (educ - 11) - 0.4 * married
        Y = (rng.random_sample(T.shape[0]) < sigmoid(alpha + beta * T)).astype(float)
        return Y, sigmoid(alpha + beta) - sigmoid(alpha)
    raise ValueError(f"outcome must be 'earnings' or 'employment'; got {outcome!r}.")


@functools.cache
def _truth(outcome):
    """Population averages of the effect over everyone and over the treated."""
    rng = np.random.RandomState(12345)
    X = _covariates(1_000_000, rng)
    p = _propensity(X)
    _, effect = _outcome(X, np.zeros(X.shape[0]), rng, outcome)
    return float(effect.mean()), float(np.sum(p * effect) / np.sum(p))


def make_job_training(n_samples=2675, outcome="earnings", random_state=None):
    """Simulate a job-training evaluation shaped like LaLonde's NSW-PSID comparison.

    A few percent of the rows are treated, and selection into training is strong: the
    young, black, unmarried, low-earning and those without a degree enter it, so a third
    of the rows have a propensity below 1% and a tenth below 0.1% (the largest are about
    0.8): many untreated rows have no treated row like them. Covariates: age, years of
    education, black, hispanic, married, no degree, earnings in 1974 and 1975 (dollars;
    a quarter to a half are zero) and their zero indicators. Outcomes:

    * ``"earnings"``: earnings in 1978 in dollars, y₀(x) + τ(x)·T + 5000·t₄ noise, with
      τ(x) = 1800 + 60·(education − 11) − 800·married (fit a linear model; τ is β);
    * ``"employment"``: employed in 1978, P(Y = 1) = σ(α(x) + β(x)·T) (fit a logit).

    The average effect over everyone rests on untreated rows that no treated row
    resembles; the average effect on the treated does not (see
    ``inference(..., population="treated")``).

    Parameters
    ----------
    n_samples : int, default=2675
    outcome : {"earnings", "employment"}, default="earnings"
    random_state : int, RandomState instance or None

    Returns
    -------
    Bunch with ``X``, ``T``, ``Y``, ``feature_names``, ``propensity`` (true P(T = 1 | x)),
    ``effect`` (each row's true effect of T), ``truth`` (population averages: ``"ATE"``
    over everyone and ``"ATT"`` over the treated, from 10⁶ draws) and ``description``.

    Examples
    --------
    >>> from sklearn_dml.datasets import make_job_training
    >>> data = make_job_training(random_state=0)
    >>> data.X.shape, round(float(data.T.mean()), 3)
    ((2675, 10), 0.083)
    >>> {k: round(v) for k, v in data.truth.items()}
    {'ATE': 1350, 'ATT': 1452}
    """
    rng = check_random_state(random_state)
    X = _covariates(int(n_samples), rng)
    p = _propensity(X)
    T = (rng.random_sample(X.shape[0]) < p).astype(float)
    Y, effect = _outcome(X, T, rng, outcome)
    ate, att = _truth(outcome)
    return Bunch(X=X, T=T, Y=Y, feature_names=list(FEATURE_NAMES), propensity=p,
                 effect=effect, truth={"ATE": ate, "ATT": att},
                 description=f"job training ({outcome}), n={X.shape[0]}, "
                             f"{T.mean():.1%} treated")
