"""Weibull family (accelerated failure time): scale exp(α(x) + β(x)'t), shape k(x)."""

from __future__ import annotations

import numpy as np
import torch

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import check_positive

EULER = 0.5772156649015329


class WeibullFamily(ExtendedIndexFamily):
    """Weibull log-likelihood, log-linear in the scale, with log-shape s as a θ component.

    θ = (α, β, log_shape): Y ~ Weibull(shape k = e^s, scale λ = exp(α + β't)), so
    log Y = η + W/k with W standard minimum-Gumbel (the accelerated-failure-time
    form of survival regression). E[Y | x, t] = λ Γ(1 + 1/k) and β is the
    semi-elasticity ∂ log E[Y]/∂t. With w = k (log y − η),
    ℓ = −s − w + e^w (a term free of θ dropped).
    ℓ_θθ depends on y, so Λ(x) uses the Fisher information, in (η, s):
    [[k², −k(1 − γ)], [−k(1 − γ), π²/6 + (1 − γ)²]], γ Euler's constant.

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import WeibullFamily
    >>> family = WeibullFamily()
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_shape']
    >>> family.has_expected_hessian  # Λ(x) from the Fisher information
    True
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "weibull"
    extra_names = ("log_shape",)
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    log_mean_degree = 0

    def loss_local(self, y, eta, s):
        s = s[..., 0]
        w = torch.exp(s) * (torch.log(y) - eta)
        return -s - w + torch.exp(w)

    def mean_local(self, eta, s):
        return torch.exp(eta + torch.lgamma(1 + torch.exp(-s[..., 0])))

    def variance_local(self, eta, s):
        inv_k = torch.exp(-s[..., 0])
        return torch.exp(2 * eta) * (torch.exp(torch.lgamma(1 + 2 * inv_k))
                                     - torch.exp(2 * torch.lgamma(1 + inv_k)))

    def sf_local(self, c, eta, s):
        if c <= 0:
            return torch.ones_like(eta)
        return torch.exp(-torch.exp(torch.exp(s[..., 0]) * (np.log(c) - eta)))

    def _parts(self, y, eta, s):
        k = np.exp(s[:, 0])
        w = k * (np.log(y) - eta)
        return k, w, np.exp(w)

    def local_gradient(self, y, eta, s):
        k, w, e = self._parts(y, eta, s)
        return np.column_stack([k * (1 - e), -1 + w * (e - 1)])

    def local_hessian(self, y, eta, s):
        k, w, e = self._parts(y, eta, s)
        return stack_hessian(k * k * e, k * (1 - e - w * e), w * w * e + w * (e - 1))

    def local_expected_hessian(self, eta, s):
        k = np.exp(s[:, 0])
        return stack_hessian(k * k, -k * (1 - EULER),
                             np.full_like(k, np.pi ** 2 / 6 + (1 - EULER) ** 2))

    def check_y(self, y):
        return check_positive(y, "weibull")

    def initial_bias(self, y, t):
        logy = np.log(y)
        k = float(np.clip(np.pi / (np.sqrt(6) * max(float(np.std(logy)), 1e-6)), 0.05, 50))
        return [float(np.mean(logy) + EULER / k)] + [0.0] * t.shape[1] + [float(np.log(k))]
