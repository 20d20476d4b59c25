"""Outcome-support checks and small numeric helpers shared by the families."""

from __future__ import annotations

import numpy as np
import torch
from scipy import special


def _shown(values, k=5):
    values = np.unique(values)
    text = ", ".join(f"{v:g}" for v in values[:k])
    return text + (" ..." if values.size > k else "")


def check_binary(y, family_name):
    """Y must be coded 0/1; a share in [0, 1] is sent to the fractional logit."""
    y = np.asarray(y, dtype=float)
    if not np.all(np.isin(np.unique(y), (0.0, 1.0))):
        if np.all((y >= 0) & (y <= 1)):
            inside = (y > 0) & (y < 1)
            raise ValueError(
                f"The {family_name} family needs a binary outcome Y coded 0/1; Y has "
                f"{inside.sum()} values strictly between 0 and 1 (e.g. {_shown(y[inside], 3)}), "
                "a share or rate. Use FractionalLogitDML (Bernoulli quasi-likelihood, "
                "Papke-Wooldridge), which takes Y in [0, 1] as it is; do not recode it.")
        raise ValueError(
            f"The {family_name} family needs a binary outcome Y coded 0/1; got values "
            f"{_shown(y)}. Recode Y (e.g. Y = (Y == level)) or choose a family that fits your "
            "outcome.")
    return y


def check_counts(y, family_name, allow_noninteger=False):
    """Y must be a nonnegative (integer) count."""
    y = np.asarray(y, dtype=float)
    if np.any(y < 0):
        raise ValueError(
            f"The {family_name} family needs nonnegative counts; Y has {np.sum(y < 0)} negative "
            f"values (min {y.min():g}). Check the outcome, or use a family for signed outcomes "
            "(linear, heteroskedastic).")
    if not allow_noninteger and np.any(y != np.round(y)):
        bad = y[y != np.round(y)]
        raise ValueError(
            f"The {family_name} family needs integer counts; Y has {bad.size} non-integer values "
            f"({_shown(bad, 3)}). Round or recount them; for a continuous nonnegative outcome use "
            "PoissonDML (Poisson quasi-likelihood, any Y >= 0; PoissonFamily(pseudo=True) in "
            "StructuralDML) or the gamma family.")
    return y


def check_positive(y, family_name):
    """Y must be strictly positive."""
    y = np.asarray(y, dtype=float)
    if np.any(y <= 0):
        raise ValueError(
            f"The {family_name} family needs a strictly positive outcome; Y has {np.sum(y <= 0)} "
            f"values <= 0 (min {y.min():g}). Drop or shift them, or use a family that allows "
            "zeros (tobit for a mass at zero, PoissonDML for a nonnegative mean).")
    return y


# Share of Y at exactly 0 or 1 above which squeezing into (0, 1) is not offered: the beta
# likelihood then rests on those rows' log y, log(1 − y) of a made-up value, not on the data.
BOUNDS_SQUEEZE_MAX = 0.05


def check_open_unit(y, family_name):
    """Y must lie strictly inside (0, 1); with mass at the bounds, point to the fractional
    logit rather than to squeezing."""
    y = np.asarray(y, dtype=float)
    bad = (y <= 0) | (y >= 1)
    if np.any(bad):
        head = (f"The {family_name} family needs an outcome strictly inside (0, 1); Y has "
                f"{bad.sum()} values outside it (e.g. {_shown(y[bad], 3)}).")
        bounds = float(np.mean((y == 0) | (y == 1)))
        if np.all((y >= 0) & (y <= 1)) and bounds > BOUNDS_SQUEEZE_MAX:
            raise ValueError(
                f"{head} {bounds:.1%} of Y sits exactly at 0 or 1: do not squeeze it into "
                "(0, 1), which makes those rows dominate the beta likelihood and changes the "
                "mean being modelled. Use FractionalLogitDML (Bernoulli quasi-likelihood), "
                "which takes Y in [0, 1] with its mass at the bounds.")
        raise ValueError(
            f"{head} For a share with values at 0 or 1 use FractionalLogitDML (Bernoulli "
            "quasi-likelihood); to keep the beta model with a few such values, squeeze Y with "
            "(Y * (n - 1) + 0.5) / n (Smithson and Verkuilen 2006).")
    return y


def check_unit_interval(y, family_name):
    """Y must lie in [0, 1] (bounds included)."""
    y = np.asarray(y, dtype=float)
    bad = ~((y >= 0) & (y <= 1))
    if np.any(bad):
        raise ValueError(
            f"The {family_name} family needs an outcome in [0, 1] (a share or rate); Y has "
            f"{bad.sum()} values outside it (e.g. {_shown(y[bad], 3)}). Rescale a percentage to "
            "[0, 1]; for an unbounded nonnegative outcome use PoissonDML (Poisson "
            "quasi-likelihood).")
    return y


def is_torch(x):
    return isinstance(x, torch.Tensor)


def ndtr(x):
    """Standard normal cdf Φ for numpy arrays and torch tensors."""
    return torch.special.ndtr(x) if is_torch(x) else special.ndtr(x)


def norm_pdf(x):
    """Standard normal density φ for numpy arrays and torch tensors."""
    if is_torch(x):
        return torch.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def mills(a):
    """Inverse Mills ratio φ(a) / Φ(a) in float64 numpy, stable for very negative a."""
    return np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - special.log_ndtr(a))


def count_sf(log_pmf, c, like):
    """P(Y > c) of a count distribution from its torch log-pmf, summed up to floor(c).

    Parameters
    ----------
    log_pmf : callable
        ``log_pmf(k)`` with k a float tensor like ``like`` -> log P(Y = k) per row.
    c : float
        Threshold.
    like : torch.Tensor (n,)
        Gives the shape, dtype and device.
    """
    if c < 0:
        return torch.ones_like(like)
    top = int(np.floor(c))
    if top > 100_000:
        raise ValueError(f"P(Y > {c}) sums {top} probabilities; use a smaller threshold.")
    cdf = torch.zeros_like(like)
    for k in range(top + 1):  # loops over support points, vectorized over rows
        cdf = cdf + torch.exp(log_pmf(torch.full_like(like, float(k))))
    return 1.0 - cdf


def binary_sf(c, p):
    """P(Y > c) for Y ∈ {0, 1} with P(Y = 1) = p (torch)."""
    if c < 0:
        return torch.ones_like(p)
    if c < 1:
        return p
    return torch.zeros_like(p)


def boundary_warnings(stat, *, absent, symbol, link, component, part):
    """The fit's warning (a list, empty where the one-sided 5% score test rejects) that a
    Poisson extension's parameter ``symbol`` sits at its boundary 0: the data show no
    ``absent``, ``link`` ``symbol`` (θ's ``component``) has no finite estimate, and the
    ``part`` coefficients are the Poisson model's."""
    if stat >= 1.645:
        return []
    return [f"The data show no {absent} (score test of {symbol} = 0: z = {stat:.2f}, below "
            f"1.645): {symbol} is at or near its boundary 0, where {link} {symbol} has no "
            f"finite estimate, so intervals for {component} and for targets that use it are "
            f"not valid. The {part} coefficients are the Poisson model's; PoissonDML fits "
            f"them without {symbol}."]
