"""Simulated data with known truth for every family of the catalogue."""

from __future__ import annotations

import numpy as np
from scipy import special
from sklearn.utils import Bunch, check_random_state

from ._simulate import _covariates

_TRUTH_DRAWS = 2_000_000
_EULER = 0.5772156649015329


def _index_coefficients(X, a0, a1, a2, b0, b1, b2):
    """α(x) = a0 + a1·x₁ + a2·sin(x₂); β(x) = b0 + b1·x₂ − b2·(x₁² − 1), so E[β(X)] = b0."""
    alpha = a0 + a1 * X[:, 0] + a2 * np.sin(X[:, 1])
    beta = b0 + b1 * X[:, 1] - b2 * (X[:, 0] ** 2 - 1)
    return alpha, beta


# family -> (index coefficients, auxiliary component s(x) or None, E[β])
_DESIGNS = {
    "probit": ((-0.2, 0.4, 0.3, 0.5, 0.25, 0.15), None),
    "gumbel": ((-0.5, 0.4, 0.3, 0.4, 0.2, 0.1), None),
    "poisson": ((0.5, 0.3, 0.2, 0.3, 0.1, 0.1), None),
    "negbin": ((0.5, 0.3, 0.2, 0.3, 0.1, 0.1), lambda X: np.log(0.5) + 0.3 * X[:, 1]),
    "gamma": ((1.0, 0.3, 0.2, 0.3, 0.1, 0.1), lambda X: np.log(2.0) + 0.3 * X[:, 0]),
    "weibull": ((1.0, 0.3, 0.2, 0.3, 0.1, 0.1), lambda X: np.log(1.5) + 0.2 * X[:, 1]),
    "tobit": ((0.3, 0.5, 0.3, 1.0, 0.3, 0.2), lambda X: 0.2 * X[:, 0]),
    "heteroskedastic": ((0.0, 0.5, 1.0, 1.0, 0.5, -0.25), lambda X: 0.3 * X[:, 0] - 0.2 * X[:, 1]),
    "beta": ((0.2, 0.3, 0.2, 0.4, 0.2, 0.1), lambda X: np.log(20.0) + 0.3 * X[:, 0]),
    "zip": ((0.7, 0.3, 0.2, 0.3, 0.1, 0.1), lambda X: -1.0 + 0.5 * X[:, 1]),
    "fractional_logit": ((0.2, 0.3, 0.2, 0.4, 0.2, 0.1), None),
}
FAMILY_DATASETS = tuple(_DESIGNS)


def _theta(name, X):
    coef, aux = _DESIGNS[name]
    if name == "heteroskedastic":  # α(x) = sin(x₁) + 0.5·x₂, β(x) = 1 + 0.5·x₂ + 0.25·(x₁² − 1)
        alpha = np.sin(X[:, 0]) + 0.5 * X[:, 1]
        beta = coef[3] + coef[4] * X[:, 1] - coef[5] * (X[:, 0] ** 2 - 1)
    else:
        alpha, beta = _index_coefficients(X, *coef)
    cols = [alpha, beta] + ([] if aux is None else [aux(X)])
    return np.column_stack(cols)


def _treatment(X, rng, kind):
    n = X.shape[0]
    if kind == "continuous":
        return 0.5 * X[:, 0] + 0.3 * X[:, 2] + rng.standard_normal(n)
    if kind == "randomized":
        return rng.standard_normal(n)
    raise ValueError(f"treatment must be 'continuous' or 'randomized'; got {kind!r}.")


def _draw_y(name, eta, s, rng):
    n = eta.shape[0]
    if name == "probit":
        return (eta + rng.standard_normal(n) > 0).astype(float)
    if name == "gumbel":
        return rng.binomial(1, -np.expm1(-np.exp(eta))).astype(float)
    if name == "poisson":
        return rng.poisson(np.exp(eta)).astype(float)
    if name == "negbin":  # gamma-Poisson mixture with r = 1/κ
        r = np.exp(-s)
        return rng.poisson(rng.gamma(r, np.exp(eta) / r)).astype(float)
    if name == "gamma":
        nu = np.exp(s)
        return rng.gamma(nu, np.exp(eta) / nu)
    if name == "weibull":
        return np.exp(eta) * rng.weibull(np.exp(s))
    if name == "tobit":
        return np.maximum(eta + np.exp(s) * rng.standard_normal(n), 0.0)
    if name == "heteroskedastic":
        return eta + np.exp(s) * rng.standard_normal(n)
    if name == "beta":
        mu, phi = special.expit(eta), np.exp(s)
        # keep draws representable strictly inside (0, 1) in float64
        return np.clip(rng.beta(mu * phi, (1 - mu) * phi), 1e-12, 1 - 1e-12)
    if name == "zip":
        return np.where(rng.uniform(size=n) < special.expit(s), 0.0,
                        rng.poisson(np.exp(eta))).astype(float)
    if name == "fractional_logit":  # Bernoulli(μ) w.p. ρ = 0.2 + 0.4μ, else Beta(5μ, 5(1 − μ))
        mu = special.expit(eta)
        share = rng.beta(5 * mu, 5 * (1 - mu))
        return np.where(rng.uniform(size=n) < 0.2 + 0.4 * mu,
                        (rng.uniform(size=n) < mu).astype(float), share)
    raise ValueError(name)


def _mean_slope(name, eta, s):
    """∂E[Y | x, t]/∂η (the observed-scale mean for tobit, censored at 0)."""
    if name == "probit":
        return np.exp(-0.5 * eta ** 2) / np.sqrt(2 * np.pi)
    if name == "gumbel":
        u = np.exp(eta)
        return u * np.exp(-u)
    if name in ("poisson", "negbin", "gamma"):
        return np.exp(eta)
    if name == "weibull":
        return np.exp(eta + special.gammaln(1 + np.exp(-s)))
    if name == "tobit":
        return special.ndtr(eta / np.exp(s))
    if name in ("beta", "fractional_logit"):
        mu = special.expit(eta)
        return mu * (1 - mu)
    if name == "zip":
        return special.expit(-s) * np.exp(eta)
    raise ValueError(name)


_AME_CACHE: dict = {}


def _ame_truth(name, treatment):
    """Average marginal effect at the observed T from 2·10⁶ draws (fixed seed, cached)."""
    key = (name, treatment)
    if key not in _AME_CACHE:
        rng = np.random.RandomState(20240611)
        total = 0.0
        for _ in range(4):  # chunks of 5·10⁵ rows
            X = rng.standard_normal((_TRUTH_DRAWS // 4, 3))
            theta = _theta(name, X)
            T = _treatment(X, rng, treatment)
            eta = theta[:, 0] + theta[:, 1] * T
            s = theta[:, 2] if theta.shape[1] > 2 else None
            total += np.sum(_mean_slope(name, eta, s) * theta[:, 1])
        _AME_CACHE[key] = float(total / _TRUTH_DRAWS)
    return _AME_CACHE[key]


def make_family_data(family, n_samples=2000, n_features=5, treatment="continuous",
                     random_state=None):
    """Simulate a heterogeneous structural model of the given family, with known truth.

    X ~ N(0, I); the index is η = α(x) + β(x)·T with α(x) = a₀ + a₁x₁ + a₂ sin(x₂) and
    β(x) = b₀ + b₁x₂ − b₂(x₁² − 1), so E[β(X)] = b₀ exactly; the auxiliary component
    (log dispersion, log shape, log σ, log precision or logit inflation) varies with
    x₁ or x₂. T = 0.5·x₁ + 0.3·x₃ + N(0, 1) (``"continuous"``: confounded) or N(0, 1)
    independent of X (``"randomized"``, with ``treatment_law="empirical"``).

    =================  ==============================================  ======
    family             model                                           E[β]
    =================  ==============================================  ======
    probit             P(Y=1) = Φ(η)                                   0.5
    gumbel             P(Y=1) = 1 − exp(−e^η) (cloglog)                0.4
    poisson            Y ~ Poisson(e^η)                                0.3
    negbin             NB2, κ(x) = 0.5·e^{0.3 x₂}                      0.3
    gamma              mean e^η, shape ν(x) = 2·e^{0.3 x₁}             0.3
    weibull            scale e^η, shape k(x) = 1.5·e^{0.2 x₂}          0.3
    tobit              Y = max(η + σ(x)ε, 0), σ(x) = e^{0.2 x₁}        1.0
    heteroskedastic    Y = η + σ(x)ε, log σ(x) = 0.3 x₁ − 0.2 x₂       1.0
    beta               mean σ(η), precision φ(x) = 20·e^{0.3 x₁}       0.4
    zip                Poisson(e^η) inflated by π(x) = σ(−1 + 0.5 x₂)  0.3
    fractional_logit   mean μ = σ(η) in [0, 1], see below              0.4
    =================  ==============================================  ======

    (heteroskedastic: α(x) = sin(x₁) + 0.5·x₂ and β(x) = 1 + 0.5·x₂ + 0.25·(x₁² − 1).
    fractional_logit: a share with mass at the bounds, E[Y | x, t] = μ exactly: with
    probability 0.2 + 0.4μ, Y ~ Bernoulli(μ) (exactly 0 or 1, about 40% of rows),
    otherwise Y ~ Beta(5μ, 5(1 − μ)); Var(Y | x, t) is not the Bernoulli μ(1 − μ).)

    Parameters
    ----------
    family : str
        One of :data:`FAMILY_DATASETS`.
    n_samples : int, default=2000
    n_features : int, default=5
        Covariates; only the first three matter.
    treatment : {"continuous", "randomized"}, default="continuous"
    random_state : int, RandomState instance or None

    Returns
    -------
    Bunch with ``X``, ``T``, ``Y``, ``theta`` (true θ(x_i)), ``truth`` (true values of
    the family's default targets, keyed as in the summary: ``"E[beta]"`` and the average
    marginal effect at the observed T, from 2·10⁶ draws with a fixed seed;
    heteroskedastic: ``"E[alpha]"``, ``"E[beta]"``), ``family``, ``treatment_law``
    and ``description``.

    Examples
    --------
    >>> from sklearn_dml.datasets import make_family_data
    >>> data = make_family_data("poisson", n_samples=100, random_state=0)
    >>> data.X.shape, data.truth["E[beta]"]
    ((100, 5), 0.3)
    """
    if family not in _DESIGNS:
        raise ValueError(f"Unknown family {family!r}; simulated families: {FAMILY_DATASETS}.")
    rng = check_random_state(random_state)
    X = _covariates(n_samples, n_features, rng)
    theta = _theta(family, X[:, :3])
    T = _treatment(X, rng, treatment)
    eta = theta[:, 0] + theta[:, 1] * T
    s = theta[:, 2] if theta.shape[1] > 2 else None
    Y = _draw_y(family, eta, s, rng)
    b0 = _DESIGNS[family][0][3]
    if family == "heteroskedastic":
        truth = {"E[alpha]": 0.0, "E[beta]": b0}
    else:
        ame = "AME[T, observed]" if family == "tobit" else "AME[T]"
        truth = {"E[beta]": b0, ame: _ame_truth(family, treatment)}
    return Bunch(X=X, T=T, Y=Y, theta=theta, truth=truth, family=family,
                 treatment_law="empirical" if treatment == "randomized" else None,
                 description=f"{family} model, {treatment} treatment, n={n_samples}")
