"""Logit family: P(Y = 1 | x, t) = σ(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from ._binary import BinaryIndexFamily
from ._index import index, sigmoid


class LogitFamily(BinaryIndexFamily):
    """Binary cross-entropy ℓ = log(1 + e^η) − y·η.

    ℓ_θθ = σ(η)(1 − σ(η)) z z' depends on θ but not on y: Λ(x) can be
    integrated over a randomized treatment's law (regime A) or regressed on X
    with an auxiliary θ-fit (regime C).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> family = LogitFamily()
    >>> y, t, theta = np.array([1.0]), np.array([[1.0]]), np.array([[0.1, 0.3]])
    >>> family.mean_numpy(t, theta).round(4)  # σ(0.1 + 0.3)
    array([0.5987])
    >>> family.gradient(y, t, theta).round(4)  # (σ(η) − y) (1, t)
    array([[-0.4013, -0.4013]])
    """

    name = "logit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = False
    # secant weights in the regime-C Hessian regression: less second-order bias for a
    # noisier Λ̂, a trade that pays for the logit (measurements: user guide, regime C)
    secant_lambda = True

    def fit_warnings(self, y, t, theta):
        """Signs of (quasi-)separation: more than 1% of rows with a fitted ``|η| > 15``."""
        share = np.mean(np.abs(index(t, theta)) > 15)
        if share <= 0.01:
            return []
        return [f"{share:.1%} of rows have a fitted logit index |η| > 15 (probabilities within "
                "3e-7 of 0 or 1): signs of (quasi-)separation. Estimates may be unstable; "
                "consider more weight_decay or fewer covariates."]

    def loss_eta(self, y, eta):
        return F.softplus(eta) - y * eta

    def d1(self, y, eta):
        return sigmoid(eta) - y

    def d2(self, y, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)

    def curvature_log_slope(self, eta):
        return 1.0 - 2.0 * sigmoid(eta)

    def mean_eta(self, eta):
        return sigmoid(eta)

    def mean_eta_d1(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)

    def mean_eta_d2(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p) * (1.0 - 2.0 * p)

    def inverse_link(self, p):
        return np.log(p / (1 - p))
