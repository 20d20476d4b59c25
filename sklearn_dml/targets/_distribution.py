"""Targets from the outcome's conditional law: elasticities, tail probabilities, variances."""

from __future__ import annotations

import numpy as np
import torch

from .._autodiff import treatment_derivative
from ..families._index import design, index
from ._base import Target, broadcast_t


def _where(at):
    return "" if at is None else f" at {at}"


def _mean_t_derivative(family, theta, t, j):
    """∂E[Y | x, t]/∂tⱼ per row on torch tensors."""
    def mean_row(tt, th):
        return family.mean(tt[None], th[None])[0]

    return torch.func.vmap(torch.func.grad(mean_row))(t, theta)[:, j]


class Elasticity(Target):
    """μ = E[∂ log E[Y | X, t]/∂ log tⱼ]: the average elasticity of the mean outcome.

    Evaluated at each row's observed T (``at=None``) or at a fixed t̃. For a
    log-link family (poisson, negbin, gamma, weibull, zip) the elasticity is
    βⱼ(x)·tⱼ and the semi-elasticity βⱼ(x). An elasticity needs tⱼ > 0 to be a
    log-derivative (e.g. a price); use ``semi=True`` otherwise.

    Parameters
    ----------
    treatment : int, default=0
        Which treatment.
    at : float or array-like, optional
        Evaluation point t̃. None evaluates at each row's observed treatment.
    semi : bool, default=False
        Report the semi-elasticity ∂ log E[Y | X, t]/∂tⱼ instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import Elasticity
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = Elasticity(semi=True)  # ∂ log E[Y | x, t]/∂t, at the observed T
    >>> target.name(["alpha", "beta"], ["price"])
    'semi-elasticity[price]'
    >>> target.value(family, theta, t).round(4)
    array([0.1425, 0.2128])
    """

    def __init__(self, treatment=0, at=None, semi=False):
        self.treatment = treatment
        self.at = at
        self.semi = semi

    def name(self, theta_names, treatment_names):
        kind = "semi-elasticity" if self.semi else "elasticity"
        return f"{kind}[{treatment_names[self.treatment]}]{_where(self.at)}"

    def _scale(self, t):
        return 1.0 if self.semi else t[:, self.treatment]

    def value(self, family, theta, t):
        t = broadcast_t(self.at, t)
        j = self.treatment
        if family.single_index:
            eta = index(t, theta)
            ratio = family.mean_eta_d1(eta) / family.mean_eta(eta)
            return ratio * theta[:, 1 + j] * self._scale(t)
        slope = treatment_derivative(lambda th, tt: family.mean(tt, th), theta, t, j)
        return slope / family.mean_numpy(t, theta) * self._scale(t)

    def jacobian(self, family, theta, t):
        t = broadcast_t(self.at, t)
        if not family.single_index:
            return super().jacobian(family, theta, t)
        j = 1 + self.treatment
        eta = index(t, theta)
        m, m1, m2 = family.mean_eta(eta), family.mean_eta_d1(eta), family.mean_eta_d2(eta)
        ratio = m1 / m
        jac = (theta[:, j] * (m2 / m - ratio ** 2))[:, None] * design(t)
        jac[:, j] += ratio
        scale = self._scale(t)
        return jac * (scale[:, None] if np.ndim(scale) else scale)

    def torch_value(self, family, theta, t):
        slope = _mean_t_derivative(family, theta, t, self.treatment)
        out = slope / family.mean(t, theta)
        return out if self.semi else out * t[:, self.treatment]


class TailProbability(Target):
    """μ = E[P(Y > c | X, t)], for families with a distribution function.

    Parameters
    ----------
    threshold : float
        The level c.
    at : float or array-like, optional
        Evaluation treatment t̃. None evaluates at each row's observed treatment.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import TailProbability
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = TailProbability(0.5)
    >>> target.name(["alpha", "beta"], ["price"])
    'P(Y>0.5)'
    >>> target.value(family, theta, t).round(4)  # P(Y = 1 | x, t) for a binary Y
    array([0.525 , 0.5744])
    """

    def __init__(self, threshold, at=None):
        self.threshold = threshold
        self.at = at

    def name(self, theta_names, treatment_names):
        return f"P(Y>{self.threshold:g}){_where(self.at)}"

    def value(self, family, theta, t):
        return super().value(family, theta, broadcast_t(self.at, t))

    def jacobian(self, family, theta, t):
        return super().jacobian(family, theta, broadcast_t(self.at, t))

    def torch_value(self, family, theta, t):
        return family.sf(float(self.threshold), t, theta)


class ConditionalVariance(Target):
    """μ = E[Var(Y | X, t)]: the average conditional variance of the outcome.

    Parameters
    ----------
    at : float or array-like, optional
        Evaluation treatment t̃. None evaluates at each row's observed treatment.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import ConditionalVariance
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = ConditionalVariance()
    >>> target.name(["alpha", "beta"], ["price"])
    'E[Var(Y|X,T)]'
    >>> target.value(family, theta, t).round(4)  # p (1 − p) per row
    array([0.2494, 0.2445])
    """

    def __init__(self, at=None):
        self.at = at

    def name(self, theta_names, treatment_names):
        return "E[Var(Y|X,T)]" if self.at is None else f"E[Var(Y|X,{self.at})]"

    def value(self, family, theta, t):
        return super().value(family, theta, broadcast_t(self.at, t))

    def jacobian(self, family, theta, t):
        return super().jacobian(family, theta, broadcast_t(self.at, t))

    def torch_value(self, family, theta, t):
        return family.variance(t, theta)
