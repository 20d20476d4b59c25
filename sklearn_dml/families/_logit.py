"""Logit family: P(Y = 1 | x, t) = σ(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from .._validation import check_separation
from ._index import IndexFamily, sigmoid
from ._support import binary_sf


class LogitFamily(IndexFamily):
    """Binary cross-entropy ℓ = log(1 + e^η) − y·η.

    ℓ_θθ = σ(η)(1 − σ(η)) z z' depends on θ but not on y: Λ(x) can be
    integrated over a randomized treatment's law (regime A) or regressed on X
    with an auxiliary θ-fit (regime C).
    """

    name = "logit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = False

    def loss_eta(self, y, eta):
        return F.softplus(eta) - y * eta

    def d1(self, y, eta):
        return sigmoid(eta) - y

    def d2(self, y, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)

    def mean_eta(self, eta):
        return sigmoid(eta)

    def mean_eta_d1(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)

    def mean_eta_d2(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p) * (1.0 - 2.0 * p)

    def sf(self, c, t, theta):
        return binary_sf(c, self.mean(t, theta))

    def variance(self, t, theta):
        p = self.mean(t, theta)
        return p * (1 - p)

    def check_y(self, y):
        y = np.asarray(y, dtype=float)
        values = np.unique(y)
        if not np.all(np.isin(values, (0.0, 1.0))):
            shown = ", ".join(f"{v:g}" for v in values[:5])
            raise ValueError(
                f"The logit family needs a binary outcome Y coded 0/1; got values {shown}"
                f"{' ...' if values.size > 5 else ''}. Recode Y (e.g. Y = (Y == level)) or "
                "choose a family that fits your outcome."
            )
        return y

    def check_data(self, t, y, treatment_names):
        if np.ptp(y) == 0:
            raise ValueError(
                f"Y takes the single value {y[0]:g}: a logit model is not identified. "
                "Check the outcome column."
            )
        check_separation(t, y, treatment_names)

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]

    def initial_bias(self, y, t):
        p = float(np.clip(np.mean(y), 1e-3, 1 - 1e-3))
        return [float(np.log(p / (1 - p)))] + [0.0] * t.shape[1]
