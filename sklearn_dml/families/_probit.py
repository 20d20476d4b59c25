"""Probit family: P(Y = 1 | x, t) = Φ(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import special

from ._index import IndexFamily
from ._support import binary_sf, check_binary, check_binary_data, mills, ndtr, norm_pdf


class ProbitFamily(IndexFamily):
    """Probit log-likelihood ℓ = −y log Φ(η) − (1 − y) log Φ(−η).

    With q = 2y − 1, ℓ' = −q λ(qη) and ℓ'' = λ(qη)(qη + λ(qη)), λ the inverse Mills
    ratio φ/Φ: positive but dependent on y. Λ(x) therefore uses the expected
    ℓ'' = φ(η)² / (Φ(η) Φ(−η)) (Fisher information), which also allows a randomized
    treatment's law to be integrated over (regime A).
    """

    name = "probit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True

    def loss_eta(self, y, eta):
        return -y * torch.special.log_ndtr(eta) - (1 - y) * torch.special.log_ndtr(-eta)

    def d1(self, y, eta):
        q = 2.0 * y - 1.0
        return -q * mills(q * eta)

    def d2(self, y, eta):
        qe = (2.0 * y - 1.0) * eta
        lam = mills(qe)
        return lam * (qe + lam)

    def expected_d2(self, eta):
        return np.exp(-eta * eta - np.log(2 * np.pi) - special.log_ndtr(eta)
                      - special.log_ndtr(-eta))

    def mean_eta(self, eta):
        return ndtr(eta)

    def mean_eta_d1(self, eta):
        return norm_pdf(eta)

    def mean_eta_d2(self, eta):
        return -eta * norm_pdf(eta)

    def sf(self, c, t, theta):
        return binary_sf(c, self.mean(t, theta))

    def variance(self, t, theta):
        p = self.mean(t, theta)
        return p * (1 - p)

    def check_y(self, y):
        return check_binary(y, "probit")

    def check_data(self, t, y, treatment_names):
        check_binary_data(t, y, treatment_names, "probit")

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]

    def initial_bias(self, y, t):
        p = float(np.clip(np.mean(y), 1e-3, 1 - 1e-3))
        return [float(special.ndtri(p))] + [0.0] * t.shape[1]

