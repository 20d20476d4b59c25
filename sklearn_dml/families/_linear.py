"""Linear family: Y = α(x) + β(x)'T + ε, squared loss."""

from __future__ import annotations

import numpy as np

from .._units import index_units
from ._index import IndexFamily


class LinearFamily(IndexFamily):
    """Squared loss ℓ = (y − α − β't)².

    ℓ_θθ = 2 z z' is free of θ and y, so Λ(x) = 2 E[z z' | X = x] needs only
    nuisance regressions of T and its products on X (regime B).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LinearFamily
    >>> family = LinearFamily()
    >>> y, t, theta = np.array([2.0]), np.array([[1.0]]), np.array([[0.1, 0.3]])
    >>> family.mean_numpy(t, theta)  # α + β·t
    array([0.4])
    >>> family.hessian(y, t, theta)[0]  # 2 (1, t)(1, t)': free of θ and y
    array([[2., 2.],
           [2., 2.]])
    """

    name = "linear"
    hessian_depends_on_theta = False
    hessian_depends_on_y = False
    linear_in_t = True

    def loss_eta(self, y, eta):
        return (y - eta) ** 2

    def d1(self, y, eta):
        return -2.0 * (y - eta)

    def d2(self, y, eta):
        return np.full_like(eta, 2.0, dtype=float)

    def mean_eta(self, eta):
        return eta

    def mean_eta_d1(self, eta):
        return np.ones_like(eta, dtype=float)

    def mean_eta_d2(self, eta):
        return np.zeros_like(eta, dtype=float)

    def check_y(self, y):
        return np.asarray(y, dtype=float)

    def internal_units(self, t, y, x=None):
        """T standardized (0/1 columns kept) and Y standardized; θ scales with Y's SD."""
        return index_units(t, self.theta_dim(t.shape[1]), outcome=y)

    def initial_bias(self, y, t):
        return [float(np.mean(y))] + [0.0] * t.shape[1]
