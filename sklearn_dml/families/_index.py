"""Families whose outcome depends on θ only through the index η = θ₀ + Σⱼ θⱼ tⱼ."""

from __future__ import annotations

import numpy as np
import torch

from .._units import index_units
from ._base import Family


def design(t):
    """The design vector z = (1, t) per row: (n, p) -> (n, 1 + p)."""
    t = np.asarray(t, dtype=float)
    return np.concatenate([np.ones((t.shape[0], 1)), t], axis=1)


def index(t, theta):
    """η = θ₀ + Σⱼ θⱼ tⱼ, for numpy arrays or torch tensors."""
    return theta[..., 0] + (theta[..., 1:] * t).sum(-1)


class IndexFamily(Family):
    """Base for single-index families: ℓ(y, t, θ) = ℓ(y, η) with η = z'θ, z = (1, t).

    The score and Hessian then follow from two scalar derivatives:
    ℓ_θ = ℓ'(y, η)·z and ℓ_θθ = ℓ''(y, η)·z z'. Subclasses give ``loss_eta``
    (torch), its derivatives ``d1``, ``d2`` (numpy), and the mean function with
    its derivatives for outcome-scale targets.

    Examples
    --------
    >>> from sklearn_dml.families import IndexFamily, PoissonFamily
    >>> family = PoissonFamily()
    >>> isinstance(family, IndexFamily)
    True
    >>> family.theta_names(["price", "ad"])  # η = α + β[price]·price + β[ad]·ad
    ['alpha', 'beta[price]', 'beta[ad]']
    """

    single_index = True
    #: Whether the regime-C Hessian regression uses the secant weights of
    #: :func:`sklearn_dml._lambda.lambda_index_weights`: less bias, more noise in Λ̂. On
    #: for the logit, the Poisson, and the gumbel with ``secant_weight_cap`` (the user
    #: guide's regime C section says where the trade pays off).
    secant_lambda = False
    #: With ``secant_lambda``: clip each row's secant weight to [0, cap·E[ℓ'' | η̃]], so that
    #: no row weighs more than ``cap`` times its expected curvature in Λ̂ (None: no clip).
    #: For an asymmetric link the weight of an improbable outcome grows without bound (the
    #: gumbel's, for y = 0 at P(Y = 1) = 0.99: 700 times the curvature).
    secant_weight_cap: float | None = None
    #: Whether the regime-C Hessian regression uses the observed ℓ''(y, η̃) at the auxiliary
    #: fit rather than its expectation E[ℓ'' | η̃] (see
    #: :func:`sklearn_dml._lambda.lambda_index_weights`). Only matters where ℓ'' depends on y.
    observed_lambda = False
    #: Whether the curvature spans orders of magnitude across x (the Poisson's e^η): Λ̂'s
    #: E[w | x] then takes a log-linear trend, and T's weighted moments are regressed
    #: relative to its fit (:func:`sklearn_dml._lambda.index_moment_lambda`).
    curvature_spans_scales = False

    def theta_names(self, treatment_names):
        if len(treatment_names) == 1:
            return ["alpha", "beta"]
        return ["alpha"] + [f"beta[{name}]" for name in treatment_names]

    def theta_dim(self, n_treatments):
        return 1 + n_treatments

    def internal_units(self, t, y, x=None):
        """T standardized column by column (0/1 columns kept): β scales, α absorbs the shift."""
        return index_units(t, self.theta_dim(t.shape[1]))

    # subclasses define these
    def loss_eta(self, y, eta):  # torch
        raise NotImplementedError

    def d1(self, y, eta):  # numpy: ∂ℓ/∂η
        raise NotImplementedError

    def d2(self, y, eta):  # numpy: ∂²ℓ/∂η²
        raise NotImplementedError

    def mean_eta(self, eta):  # torch or numpy: E[Y|η]
        raise NotImplementedError

    def mean_eta_d1(self, eta):  # numpy
        raise NotImplementedError

    def mean_eta_d2(self, eta):  # numpy
        raise NotImplementedError

    # derived
    def loss(self, y, t, theta):
        return self.loss_eta(y, index(t, theta))

    def mean(self, t, theta):
        return self.mean_eta(index(t, theta))

    def mean_numpy(self, t, theta):
        return self.mean_eta(index(np.asarray(t, float), np.asarray(theta, float)))

    def expected_d2(self, eta):  # numpy: E[∂²ℓ/∂η² | η], for y-dependent d2; None if not given
        return None

    @property
    def has_expected_hessian(self):
        return type(self).expected_d2 is not IndexFamily.expected_d2

    def curvature(self, eta):
        """E[ℓ''(Y, η) | η] (numpy): ``expected_d2`` where ℓ'' depends on y, else ℓ'' itself.

        Returns None for a family whose ℓ'' depends on y and gives no expected_d2.
        """
        if self.hessian_depends_on_y:
            return self.expected_d2(eta)
        return self.d2(np.zeros_like(eta), eta)

    def curvature_under(self, eta_law, eta):
        """E[ℓ''(Y, η)] with Y following ``eta_law`` (numpy), or None where not available.

        Where ℓ'' is free of y it is :meth:`curvature` at ``eta``; families whose ℓ''
        depends on y override it (binary families do).
        """
        return None if self.hessian_depends_on_y else self.curvature(eta)

    def secant_coefficient(self, eta):
        """κ(η)/c(η) in the secant weights c(η) − (κ/c)·ℓ'(y, η) of regime C.

        κ = c'(η) − ½·E_η[∂ℓ''(Y, η)/∂η], the excess slope of the curvature at η̂ over
        the secant of E[ℓ' | x, t] between η and η̂, per unit Δη. Where ℓ'' is free of y,
        E_η[∂ℓ''/∂η] = c'(η) and the coefficient is ½·∂ log c/∂η. Families whose ℓ''
        depends on y override this (binary families do); None means "not available".
        """
        if self.hessian_depends_on_y:
            return None
        return 0.5 * self.curvature_log_slope(eta)

    def curvature_log_slope(self, eta, step=1e-4):
        """∂ log E[ℓ'' | η] / ∂η (numpy), used by the secant Λ of regime C.

        A central difference of log :meth:`curvature` (error of order step², about
        1e-8 here) unless a subclass gives the closed form (logit: 1 − 2p; Poisson: 1).
        """
        eta = np.asarray(eta, dtype=float)
        up = np.log(np.maximum(self.curvature(eta + step), 1e-300))
        down = np.log(np.maximum(self.curvature(eta - step), 1e-300))
        return (up - down) / (2.0 * step)

    def expected_hessian(self, t, theta):
        w = self.expected_d2(index(t, theta))
        if w is None:
            return None
        z = design(t)
        return w[:, None, None] * z[:, :, None] * z[:, None, :]

    def gradient(self, y, t, theta):
        return self.d1(y, index(t, theta))[:, None] * design(t)

    def hessian(self, y, t, theta):
        z = design(t)
        return self.d2(y, index(t, theta))[:, None, None] * z[:, :, None] * z[:, None, :]

    def default_targets(self, n_treatments):
        from ..targets import AverageParameter

        return [AverageParameter(j) for j in range(1 + n_treatments)]


def sigmoid(x):
    """Numerically stable logistic function for numpy arrays and torch tensors."""
    if isinstance(x, torch.Tensor):
        return torch.sigmoid(x)
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out
