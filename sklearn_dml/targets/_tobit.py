"""Tobit marginal effects: on the latent outcome, on the observed outcome, on P(uncensored)."""

from __future__ import annotations

import numpy as np
import torch

from ..families._index import design
from ..families._tobit import TobitFamily, _norm_parts
from ._base import Target, broadcast_t

SCALES = ("latent", "observed", "probability")


class TobitMarginalEffect(Target):
    """Average marginal effect of treatment j in a Tobit model, on a chosen scale.

    - ``"latent"``: ∂E[Y* | x, t]/∂tⱼ = βⱼ(x), the effect on the uncensored outcome.
    - ``"observed"``: ∂E[Y | x, t]/∂tⱼ = βⱼ(x)·P(uncensored | x, t) (McDonald and
      Moffitt 1980), the effect on the outcome as recorded.
    - ``"probability"``: ∂P(uncensored | x, t)/∂tⱼ = βⱼ(x)(φ(l) − φ(u))/σ(x), with l, u
      the standardized censoring points.

    Parameters
    ----------
    treatment : int, default=0
    scale : {"latent", "observed", "probability"}, default="observed"
    at : float or array-like, optional
        Evaluation treatment t̃. None evaluates at each row's observed treatment.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import TobitFamily
    >>> from sklearn_dml.targets import TobitMarginalEffect
    >>> family = TobitFamily()
    >>> theta = np.array([[0.1, 0.3, 0.0], [-0.2, 0.5, np.log(2)]])  # (α, β, log σ)
    >>> t = np.array([[0.0], [1.0]])
    >>> TobitMarginalEffect(scale="latent").value(family, theta, t)  # β
    array([0.3, 0.5])
    >>> TobitMarginalEffect().value(family, theta, t).round(4)  # β·P(Y > 0 | x, t)
    array([0.1619, 0.2798])
    """

    def __init__(self, treatment=0, scale="observed", at=None):
        self.treatment = treatment
        self.scale = scale
        self.at = at

    def _check(self, family):
        if not isinstance(family, TobitFamily):
            raise ValueError(f"TobitMarginalEffect needs the tobit family; got {family!r}. "
                             "Use AverageMarginalEffect for other families.")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}; got {self.scale!r}.")

    def name(self, theta_names, treatment_names):
        where = "" if self.at is None else f" at {self.at}"
        return f"AME[{treatment_names[self.treatment]}, {self.scale}]{where}"

    def _parts(self, family, theta, t):
        lo, hi = family._bounds()
        eta, s = family.split(t, theta)
        sigma = np.exp(s[:, 0])
        return (lo - eta) / sigma, (hi - eta) / sigma, sigma

    def value(self, family, theta, t):
        self._check(family)
        t = broadcast_t(self.at, t)
        beta = theta[:, 1 + self.treatment]
        if self.scale == "latent":
            return np.array(beta, dtype=float)
        l, u, sigma = self._parts(family, theta, t)
        Pl, pl, _ = _norm_parts(l)
        Pu, pu, _ = _norm_parts(u)
        if self.scale == "observed":
            return beta * (Pu - Pl)
        return beta * (pl - pu) / sigma

    def jacobian(self, family, theta, t):
        self._check(family)
        t = broadcast_t(self.at, t)
        j = 1 + self.treatment
        if self.scale == "probability":
            return super().jacobian(family, theta, t)
        jac = np.zeros_like(theta, dtype=float)
        if self.scale == "latent":
            jac[:, j] = 1.0
            return jac
        l, u, sigma = self._parts(family, theta, t)
        Pl, pl, lpl = _norm_parts(l)
        Pu, pu, upu = _norm_parts(u)
        beta = theta[:, j]
        q = design(t).shape[1]
        jac[:, :q] = (beta * (pl - pu) / sigma)[:, None] * design(t)
        jac[:, q] = beta * (lpl - upu)
        jac[:, j] += Pu - Pl
        return jac

    def torch_value(self, family, theta, t):
        beta = theta[:, 1 + self.treatment]
        if self.scale == "latent":
            return beta
        lo, hi = family._bounds()
        eta, s = family.split(t, theta)
        sigma = torch.exp(s[:, 0])
        inside, dens = torch.ones_like(eta), torch.zeros_like(eta)  # P(l < r < u), φ(l) − φ(u)
        if np.isfinite(lo):
            l = (lo - eta) / sigma
            inside = inside - torch.special.ndtr(l)
            dens = dens + torch.exp(-0.5 * l * l)
        if np.isfinite(hi):
            u = (hi - eta) / sigma
            inside = inside - torch.special.ndtr(-u)
            dens = dens - torch.exp(-0.5 * u * u)
        if self.scale == "observed":
            return beta * inside
        return beta * dens / (np.sqrt(2 * np.pi) * sigma)
