"""Gumbel (complementary log-log) binary family: P(Y = 1 | x, t) = 1 − exp(−exp(η))."""

from __future__ import annotations

import numpy as np
import torch

from ._binary import BinaryIndexFamily
from ._support import is_torch


def _one_minus_q(u):
    """1 − e^{−u} without cancellation."""
    return -torch.expm1(-u) if is_torch(u) else -np.expm1(-u)


def _u_minus_one_minus_q(u):
    """u − (1 − e^{−u}) = u + expm1(−u), by its series for small u."""
    small = u < 0.05
    series = u * u * (0.5 - u * (1 / 6 - u * (1 / 24 - u * (1 / 120 - u * (1 / 720 - u / 5040)))))
    return np.where(small, series, u + np.expm1(-np.where(small, 1.0, u)))


class GumbelFamily(BinaryIndexFamily):
    """Binary outcome with a type-I extreme value (Gumbel) latent error: the cloglog model.

    P(Y = 1 | x, t) = 1 − exp(−exp(η)), η = α(x) + β(x)'t. This is the econometric
    "Gumbel" binary model: the grouped-duration / discrete-time proportional hazard
    model (Prentice and Gloeckler 1978), in which e^β is a hazard ratio, and the
    asymmetric alternative to logit and probit. (A continuous outcome with a Gumbel
    error is the log of a Weibull outcome: use the weibull family on exp(Y).)

    ℓ = −y log(1 − e^{−u}) + (1 − y) u with u = e^η; ℓ'' depends on y, so Λ(x)
    uses the expected ℓ'' = u² e^{−u} / (1 − e^{−u}).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import GumbelFamily
    >>> family = GumbelFamily()
    >>> family.mean_numpy(np.array([[1.0]]), np.array([[0.1, 0.3]])).round(4)  # 1 − exp(−e^0.4)
    array([0.775])
    """

    name = "gumbel"
    label = "gumbel (cloglog)"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    # secant weights, clipped: the asymmetric link gives an improbable y = 0 a weight up to
    # 10⁸ times the curvature, and a few such rows would make Λ̂ wild
    secant_lambda = True
    secant_weight_cap = 30.0
    # the move to the main fit does not survive the clip: it added bias and SD (user guide)
    secant_to_main_fit = False
    # y = 0 at a large fitted η has score and curvature e^η: a row the one-step linearizes
    # badly, which the targeting step weighs by its own curvature
    targeted = True

    def loss_eta(self, y, eta):
        u = torch.exp(eta)
        return -y * torch.log(-torch.expm1(-u)) + (1 - y) * u

    def d1(self, y, eta):
        u = np.exp(eta)
        return -y * u * np.exp(-u) / _one_minus_q(u) + (1 - y) * u

    def d2(self, y, eta):
        u = np.exp(eta)
        omq = _one_minus_q(u)
        return y * u * np.exp(-u) * _u_minus_one_minus_q(u) / omq ** 2 + (1 - y) * u

    def expected_d2(self, eta):
        u = np.exp(eta)
        return u * u * np.exp(-u) / _one_minus_q(u)

    def mean_eta(self, eta):
        exp = torch.exp if is_torch(eta) else np.exp
        return _one_minus_q(exp(eta))

    def mean_eta_d1(self, eta):
        u = np.exp(eta)
        return u * np.exp(-u)

    def mean_eta_d2(self, eta):
        u = np.exp(eta)
        return u * np.exp(-u) * (1 - u)

    def inverse_link(self, p):
        return np.log(-np.log1p(-p))
