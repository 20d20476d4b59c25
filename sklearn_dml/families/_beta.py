"""Beta regression for fractional outcomes: Y ~ Beta(μφ, (1 − μ)φ), μ = σ(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import check_open_unit


class BetaFamily(ExtendedIndexFamily):
    """Beta log-likelihood (Ferrari and Cribari-Neto 2004), logit mean and log precision.

    θ = (α, β, log_precision): μ = σ(α + β't), φ = e^s, Var(Y | x, t) = μ(1 − μ)/(1 + φ).
    With p = μφ and q = (1 − μ)φ,
    ℓ = lgamma(p) + lgamma(q) − lgamma(φ) − p log y − q log(1 − y)
    (a term free of θ dropped). Its Hessian in (p, q) is free of y; through the
    map (η, s) → (p, q) it is not, so Λ(x) uses the Fisher information J'ΨJ,
    Ψ = [[ψ₁(p) − ψ₁(φ), −ψ₁(φ)], [−ψ₁(φ), ψ₁(q) − ψ₁(φ)]].
    In the torch loss, y is clamped one unit of rounding inside (0, 1), so float32
    training never takes the log of 0.

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import BetaFamily
    >>> family = BetaFamily()
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_precision']
    >>> family.has_expected_hessian  # Λ(x) from the Fisher information
    True
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "beta"
    extra_names = ("log_precision",)
    hessian_depends_on_theta = True
    hessian_depends_on_y = True

    def loss_local(self, y, eta, s):
        s = s[..., 0]
        eps = torch.finfo(y.dtype).eps / 2
        y = y.clamp(eps, 1 - eps)
        p = torch.exp(s - F.softplus(-eta))
        q = torch.exp(s - F.softplus(eta))
        return (torch.lgamma(p) + torch.lgamma(q) - torch.lgamma(torch.exp(s))
                - p * torch.log(y) - q * torch.log1p(-y))

    def mean_local(self, eta, s):
        return torch.sigmoid(eta)

    def variance_local(self, eta, s):
        mu = torch.sigmoid(eta)
        return mu * (1 - mu) / (1 + torch.exp(s[..., 0]))

    def _parts(self, eta, s):
        phi = np.exp(s[:, 0])
        mu = special.expit(eta)
        m = mu * (1 - mu)
        p, q = phi * mu, phi * (1 - mu)
        J = np.empty((eta.shape[0], 2, 2))  # rows (p, q), columns (η, s)
        J[:, 0, 0], J[:, 0, 1] = phi * m, p
        J[:, 1, 0], J[:, 1, 1] = -phi * m, q
        psi = stack_hessian(special.polygamma(1, p) - special.polygamma(1, phi),
                            -special.polygamma(1, phi),
                            special.polygamma(1, q) - special.polygamma(1, phi))
        return phi, mu, m, p, q, J, psi

    def _score_pq(self, y, phi, p, q):
        dphi = special.digamma(phi)
        return (special.digamma(p) - dphi - np.log(y), special.digamma(q) - dphi - np.log1p(-y))

    def local_gradient(self, y, eta, s):
        phi, mu, m, p, q, J, _ = self._parts(eta, s)
        gp, gq = self._score_pq(y, phi, p, q)
        return np.einsum("nij,ni->nj", J, np.column_stack([gp, gq]))

    def local_hessian(self, y, eta, s):
        phi, mu, m, p, q, J, psi = self._parts(eta, s)
        gp, gq = self._score_pq(y, phi, p, q)
        d = gp - gq  # ∇²p = −∇²q off the (s, s) entry
        curv = stack_hessian(d * phi * m * (1 - 2 * mu), d * phi * m, gp * p + gq * q)
        return np.einsum("nki,nkl,nlj->nij", J, psi, J) + curv

    def local_expected_hessian(self, eta, s):
        _, _, _, _, _, J, psi = self._parts(eta, s)
        return np.einsum("nki,nkl,nlj->nij", J, psi, J)

    def check_y(self, y):
        return check_open_unit(y, "beta")

    def initial_bias(self, y, t):
        m = float(np.mean(y))
        phi = float(np.clip(m * (1 - m) / max(float(np.var(y)), 1e-12) - 1, 1.0, 1e4))
        return [float(np.log(m / (1 - m)))] + [0.0] * t.shape[1] + [float(np.log(phi))]
