"""Probit family: P(Y = 1 | x, t) = Φ(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import special

from ._binary import BinaryIndexFamily
from ._support import mills, ndtr, norm_pdf


class ProbitFamily(BinaryIndexFamily):
    """Probit log-likelihood ℓ = −y log Φ(η) − (1 − y) log Φ(−η).

    With q = 2y − 1, ℓ' = −q λ(qη) and ℓ'' = λ(qη)(qη + λ(qη)), λ the inverse Mills
    ratio φ/Φ: positive but dependent on y. Λ(x) therefore uses the expected
    ℓ'' = φ(η)² / (Φ(η) Φ(−η)) (Fisher information), which also allows a randomized
    treatment's law to be integrated over (regime A).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import ProbitFamily
    >>> family = ProbitFamily()
    >>> family.mean_numpy(np.array([[1.0]]), np.array([[0.1, 0.3]])).round(4)  # Φ(0.4)
    array([0.6554])
    """

    name = "probit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    # the secant weights' Mills-ratio terms make Λ̂ too noisy for the probit; the observed
    # ℓ'' (bounded in (0, 1)) removes part of the same bias at little noise (user guide,
    # regime C)
    secant_lambda = False
    observed_lambda = True

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

    def inverse_link(self, p):
        return special.ndtri(p)
