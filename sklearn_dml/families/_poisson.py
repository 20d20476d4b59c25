"""Poisson family: E[Y | x, t] = exp(α(x) + β(x)'t)."""

from __future__ import annotations

import numpy as np
import torch

from .._units import index_units
from ._index import IndexFamily, index
from ._support import check_counts, count_sf, is_torch


class PoissonFamily(IndexFamily):
    """Poisson log-likelihood ℓ = e^η − y η (log-factorial dropped).

    ℓ'' = e^η z z' depends on θ but not on y (regime A with a randomized
    treatment, regime C otherwise). β is a semi-elasticity: ∂ log E[Y]/∂t.

    Parameters
    ----------
    pseudo : bool, default=False
        Accept any nonnegative Y, not only integer counts: Poisson pseudo-maximum
        likelihood (quasi-Poisson; Santos Silva and Tenreyro 2006), which needs only the
        mean E[Y | x, t] = exp(η) to be right; the standard errors come from ψ (a
        sandwich), valid without the Poisson variance. :class:`~sklearn_dml.PoissonDML`
        uses ``pseudo=True``. Distribution-based targets (P(Y > c), the conditional
        variance) assume a Poisson law either way.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import PoissonFamily
    >>> family = PoissonFamily()
    >>> y, t, theta = np.array([2.0]), np.array([[1.0]]), np.array([[0.1, 0.3]])
    >>> family.mean_numpy(t, theta).round(4)  # exp(0.4)
    array([1.4918])
    >>> family.gradient(y, t, theta).round(4)  # (e^η − y) (1, t)
    array([[-0.5082, -0.5082]])
    """

    name = "poisson"
    hessian_depends_on_theta = True
    hessian_depends_on_y = False
    # secant weights (μ̃ + y)/2 in the regime-C Hessian regression: the exponential
    # curvature at an auxiliary fit that underpredicts μ leaves Λ̂ too small, and the
    # one-step correction then overshoots (measurements: user guide, regime C)
    secant_lambda = True
    # e^η z z' is unbounded in t: one row far out in T's tail can carry more curvature than
    # the rest together, which Λ̂(x) cannot see; the targeting step weighs it by its own
    targeted = True
    curvature_spans_scales = True

    def __init__(self, pseudo=False):
        self.pseudo = pseudo

    def loss_eta(self, y, eta):
        return torch.exp(eta) - y * eta

    def d1(self, y, eta):
        return np.exp(eta) - y

    def d2(self, y, eta):
        return np.exp(eta)

    def curvature_log_slope(self, eta):
        return np.ones_like(np.asarray(eta, dtype=float))

    def mean_eta(self, eta):
        return torch.exp(eta) if is_torch(eta) else np.exp(eta)

    def mean_eta_d1(self, eta):
        return np.exp(eta)

    def mean_eta_d2(self, eta):
        return np.exp(eta)

    def sf(self, c, t, theta):
        eta = index(t, theta)
        return count_sf(lambda k: k * eta - torch.exp(eta) - torch.lgamma(k + 1), c, eta)

    def variance(self, t, theta):
        return self.mean(t, theta)

    def constant_outcome_unbounded(self, values):
        return np.asarray(values) == 0  # a rate of zero: log-rate at -inf

    def check_y(self, y):
        return check_counts(y, "poisson", allow_noninteger=self.pseudo)

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]

    def internal_units(self, t, y, x=None):
        """T standardized; Y divided by its dispersion φ̂ (Pearson's, from a Poisson
        regression on (1, x, t)), α absorbing log φ̂: the training loss is then the
        quasi-likelihood (e^η − yη)/φ, the count likelihood itself where Var(Y) ≈ E[Y],
        in any units of Y."""
        return index_units(t, self.theta_dim(t.shape[1]), outcome=y, log_mean_degree=1,
                           outcome_scale=pearson_dispersion(x, t, y))

    def initial_bias(self, y, t):
        return [float(np.log(max(np.mean(y), 1e-3)))] + [0.0] * t.shape[1]

    def __repr__(self):
        return f"PoissonFamily(pseudo={self.pseudo!r})"


def pearson_dispersion(x, t, y, max_rows=20_000, n_iter=30):
    """Pearson's dispersion Σ (y − μ̂)²/μ̂ / (n − k) of a Poisson regression of y on
    z = (1, x, t) (x None: (1, t)), on at most ``max_rows`` evenly spaced rows; it scales
    with y. Falls back to the mean of y where the fit does not give a positive number."""
    y = np.asarray(y, dtype=float)
    mean = float(np.mean(y))
    parts = [np.ones((y.size, 1)), np.asarray(t, dtype=float).reshape(y.size, -1)]
    if x is not None:
        parts.insert(1, np.asarray(x, dtype=float).reshape(y.size, -1))
    z = np.concatenate(parts, axis=1)
    rows = np.unique(np.linspace(0, y.size - 1, min(y.size, max_rows)).astype(int))
    z, y_fit = z[rows], y[rows] / mean  # the fit on y / mean: the same coefficients but α
    sd = z[:, 1:].std(axis=0)
    z = np.concatenate([z[:, :1], (z[:, 1:] - z[:, 1:].mean(axis=0)) / np.where(sd > 0, sd, 1)],
                       axis=1)[:, np.r_[True, sd > 0]]
    k = z.shape[1]
    if y_fit.size - k < max(10, y_fit.size // 2):
        return mean
    coef = np.zeros(k)
    for _ in range(n_iter):  # Newton on the Poisson log-likelihood, ridge-stabilized
        mu = np.exp(np.clip(z @ coef, -30, 30))
        hess = (z * mu[:, None]).T @ z + 1e-8 * np.eye(k)
        step = np.linalg.solve(hess, z.T @ (y_fit - mu))
        coef += step / max(1.0, float(np.abs(step).max()))
        if np.abs(step).max() < 1e-8:
            break
    mu = np.exp(np.clip(z @ coef, -30, 30))
    phi = float(np.sum((y_fit - mu) ** 2 / mu) / (y_fit.size - k)) * mean
    return phi if np.isfinite(phi) and phi > 0 else mean
