"""Simulated discrete-choice data with heterogeneous preferences and known truth."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._named_attributes import NamedAttributes
from ..families._multinomial import MultinomialLogitFamily

_TRUTH_DRAWS = 2_000_000
ATTRIBUTES = ["price", "quality"]


def _preferences(W, n_alternatives, outside_option):
    """True θ(w) = (α, β_price, β_quality) in the family's θ order."""
    first = 0 if outside_option else 1
    alphas = []
    for j in range(first, n_alternatives):
        sign = 1.0 if j % 2 else -0.8
        alphas.append(0.3 * (-1.0) ** j + 0.5 * sign * W[:, (j - 1) % 3])
    beta_price = -1.0 + 0.5 * W[:, 0] * W[:, 2] - 0.3 * W[:, 1] ** 2
    beta_quality = 0.8 + 0.3 * np.sin(np.pi * W[:, 2])
    return np.column_stack(alphas + [beta_price, beta_quality])


def evaluation_attributes(n_alternatives):
    """The attribute matrix x̃ (J, 2) at which the simulator reports true market quantities."""
    prices = np.linspace(0.8, 1.6, n_alternatives)
    quality = np.resize([0.0, 0.5, -0.5, 0.3], n_alternatives)
    return np.column_stack([prices, quality])


@lru_cache(maxsize=8)
def _truth(n_alternatives, outside_option):
    fam = MultinomialLogitFamily(n_alternatives, 2, outside_option=outside_option,
                                 attribute_names=ATTRIBUTES)
    at = evaluation_attributes(n_alternatives)
    rng = np.random.RandomState(12345)
    sums = {}
    chunk = 250_000
    for _ in range(_TRUTH_DRAWS // chunk):
        W = rng.uniform(-1, 1, size=(chunk, 3))
        theta = _preferences(W, n_alternatives, outside_option)
        t = np.broadcast_to(fam.pack(at[None]), (chunk, fam.n_packed))
        P = fam.probabilities(t, theta)
        bp = theta[:, -2]
        parts = {"cs": -fam.logsum(t, theta) / bp}
        for j in range(n_alternatives):
            parts[f"P{j}"] = P[:, j]
            parts[f"E{j}"] = bp * at[j, 0] * (1 - P[:, j])
        for key, v in parts.items():
            sums[key] = sums.get(key, 0.0) + float(v.sum())
    return {k: v / _TRUTH_DRAWS for k, v in sums.items()}


def make_choice(n_samples=5000, n_alternatives=4, prices="randomized", outside_option=False,
                p_unavailable=0.0, n_features=3, random_state=None):
    """Simulate conditional-logit choices with preferences that vary with w.

    W ~ U(−1, 1)^d (only the first three columns matter). Utility of alternative
    j: V_ij = α_j(w_i) + β_price(w_i)·price_ij + β_quality(w_i)·quality_ij + Gumbel,
    with β_price(w) = −1 + 0.5·w₁w₃ − 0.3·w₂² ∈ [−1.8, −0.5] (mean −1.1),
    β_quality(w) = 0.8 + 0.3·sin(πw₃) (mean 0.8), α_0 = 0 (reference) and
    α_j(w) = 0.3·(−1)^j ± 0.5·w_{(j−1) mod 3} (mean 0.3·(−1)^j). Quality ~ N(0, 1).
    Prices are U(0.5, 2) independent of w (``"randomized"``), or co-move with w
    (``"observational"``: 1.25 + 0.3·w₁ ± 0.2·w₂ + U(−0.5, 0.5), the sign
    alternating over alternatives).

    Parameters
    ----------
    n_samples : int, default=5000
    n_alternatives : int, default=4
    prices : {"randomized", "observational"}, default="randomized"
    outside_option : bool, default=False
        Add an outside good with utility 0 (coded as choice ``n_alternatives``);
        every inside alternative then has a constant.
    p_unavailable : float, default=0.0
        Probability that an alternative other than 0 is missing from a choice set.
    n_features : int, default=3
        Columns of W (at least 3).
    random_state : int, RandomState instance or None

    Returns
    -------
    Bunch with ``X`` (W, the network input), ``attributes`` (n, J, 2), ``T`` (the same
    attributes carrying ``alternative_names`` and ``attribute_names``, which
    ``MultinomialLogitDML(J).fit(data.X, data.T, data.Y)`` uses), those names,
    ``availability`` (n, J), ``Y`` (choices), ``theta`` (true θ(w_i)), ``at`` (the
    evaluation attributes x̃), ``probabilities`` (true P at the observed
    attributes), ``truth`` (dict keyed as the summary names the targets:
    ``"E[beta[price]]"``, ``"E[beta[quality]]"``, ``"E[alpha[j]]"``, ``"P[j]"``,
    ``"Elasticity[P[j] / price[j]]"`` at x̃, ``"CS"`` at x̃) and ``description``.

    Examples
    --------
    >>> from sklearn_dml.datasets import make_choice
    >>> data = make_choice(n_samples=200, random_state=0)
    >>> data.attributes.shape, data.truth["E[beta[price]]"]
    ((200, 4, 2), -1.1)
    """
    if prices not in ("randomized", "observational"):
        raise ValueError(f"prices must be 'randomized' or 'observational'; got {prices!r}.")
    if n_features < 3:
        raise ValueError("n_features must be at least 3 (the simulated θ(w) uses three).")
    rng = check_random_state(random_state)
    J, n = int(n_alternatives), int(n_samples)
    W = rng.uniform(-1, 1, size=(n, n_features))
    theta = _preferences(W, J, outside_option)
    if prices == "randomized":
        price = rng.uniform(0.5, 2.0, size=(n, J))
    else:
        signs = (-1.0) ** np.arange(J)
        price = (1.25 + 0.3 * W[:, [0]] + 0.2 * signs * W[:, [1]]
                 + rng.uniform(-0.5, 0.5, size=(n, J)))
    quality = rng.standard_normal((n, J))
    attributes = np.stack([price, quality], axis=2)
    availability = rng.uniform(size=(n, J)) >= p_unavailable
    availability[:, 0] = True
    fam = MultinomialLogitFamily(J, 2, outside_option=outside_option,
                                 attribute_names=ATTRIBUTES)
    t = fam.pack(attributes, availability)
    P = fam.probabilities(t, theta)
    cum = P.cumsum(axis=1)
    Y = (rng.uniform(size=(n, 1)) > cum).sum(axis=1).clip(max=P.shape[1] - 1).astype(float)
    sim = _truth(J, bool(outside_option))
    truth = {"E[beta[price]]": -1.1, "E[beta[quality]]": 0.8, "CS": sim["cs"]}
    for j in range(0 if outside_option else 1, J):
        truth[f"E[alpha[{j}]]"] = 0.3 * (-1.0) ** j
    for j in range(J):
        truth[f"P[{j}]"] = sim[f"P{j}"]
        truth[f"Elasticity[P[{j}] / price[{j}]]"] = sim[f"E{j}"]
    alternative_names = [str(j) for j in range(J)]
    return Bunch(X=W, attributes=attributes, availability=availability, Y=Y, theta=theta,
                 T=NamedAttributes(attributes, alternative_names, ATTRIBUTES),
                 alternative_names=alternative_names, attribute_names=list(ATTRIBUTES),
                 at=evaluation_attributes(J), probabilities=P, truth=truth,
                 description=f"conditional logit, J={J}, {prices} prices, n={n}")
