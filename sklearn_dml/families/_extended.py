"""Families with a single index in T plus auxiliary parameters (scale, shape, inflation)."""

from __future__ import annotations

import numpy as np

from .._units import index_units
from ._base import Family
from ._index import design, index


class ExtendedIndexFamily(Family):
    """Base for ℓ(y, t, θ) = ℓ(y, η, s) with η = θ₀ + Σⱼ θⱼ tⱼ and auxiliary parameters s.

    θ = (α, β₁, …, β_p, s₁, …, s_k): the index coefficients come first, then the
    k auxiliary components named by ``extra_names`` (log σ, log shape, logit of an
    inflation probability, …), which depend on x but not on t. Subclasses give the
    loss and mean in torch as functions of (η, s), and the derivatives with respect
    to (η, s) in float64 numpy; the chain rule through z = (1, t) is done here:
    ℓ_θ = (ℓ_η z, ℓ_s) and ℓ_θθ = [[ℓ_ηη z z', z ℓ_ηs'], [ℓ_sη z', ℓ_ss]].

    Examples
    --------
    >>> from sklearn_dml.families import ExtendedIndexFamily, GammaFamily
    >>> family = GammaFamily()
    >>> isinstance(family, ExtendedIndexFamily), family.extra_names
    (True, ('log_shape',))
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_shape']
    """

    extra_names: tuple[str, ...] = ()
    #: η in Y's units and a last component log σ: Y is standardized for training, the
    #: index part of θ scales with it and log σ shifts by log s_Y.
    location_scale = False
    #: For a mean exp(η) times a factor free of Y's units: the power of Y's scale by which
    #: the loss scales when Y is rescaled (the gamma's and Weibull's 0: it only shifts).
    #: Training then sees Y over its mean, and α absorbs the log of that mean
    #: (:func:`sklearn_dml._units.index_units`). None: Y as given.
    log_mean_degree: int | None = None

    def theta_names(self, treatment_names):
        if len(treatment_names) == 1:
            names = ["alpha", "beta"]
        else:
            names = ["alpha"] + [f"beta[{name}]" for name in treatment_names]
        return names + list(self.extra_names)

    def theta_dim(self, n_treatments):
        return 1 + n_treatments + len(self.extra_names)

    def internal_units(self, t, y, x=None):
        """T standardized column by column (0/1 columns kept): β scales, α absorbs the shift;
        for a ``location_scale`` family Y too, and with ``log_mean_degree`` Y over its mean."""
        d = self.theta_dim(t.shape[1])
        if self.location_scale:
            return index_units(t, d, outcome=y, log_scale=d - 1)
        outcome = None if self.log_mean_degree is None else y
        return index_units(t, d, outcome=outcome, log_mean_degree=self.log_mean_degree)

    def split(self, t, theta):
        """(η, s) from t (n, p) and θ (n, d), for numpy arrays or torch tensors."""
        p = t.shape[-1]
        return index(t, theta[..., :1 + p]), theta[..., 1 + p:]

    # -- subclasses define these (torch: loss_local, mean_local; numpy: the rest) ---------
    def loss_local(self, y, eta, s):
        raise NotImplementedError

    def mean_local(self, eta, s):
        raise NotImplementedError(f"The {self.name!r} family defines no mean function.")

    def sf_local(self, c, eta, s):
        return Family.sf(self, c, None, None)

    def variance_local(self, eta, s):
        return Family.variance(self, None, None)

    def local_gradient(self, y, eta, s):
        """(ℓ_η, ℓ_s) per row, shape (n, 1 + k)."""
        raise NotImplementedError

    def local_hessian(self, y, eta, s):
        """Second derivatives in (η, s) per row, shape (n, 1 + k, 1 + k)."""
        raise NotImplementedError

    def local_expected_hessian(self, eta, s):
        """E[second derivatives in (η, s) | η, s], shape (n, 1 + k, 1 + k); None if not given."""
        return None

    def local_hessian_under(self, law_eta, law_s, eta, s):
        """E[second derivatives in (η, s) at (eta, s)] with Y following the model at
        (law_eta, law_s), shape (n, 1 + k, 1 + k); None if not given. At law = (eta, s)
        it is :meth:`local_expected_hessian`."""
        return None

    # -- derived -------------------------------------------------------------------------
    def loss(self, y, t, theta):
        eta, s = self.split(t, theta)
        return self.loss_local(y, eta, s)

    def mean(self, t, theta):
        eta, s = self.split(t, theta)
        return self.mean_local(eta, s)

    def sf(self, c, t, theta):
        eta, s = self.split(t, theta)
        return self.sf_local(float(c), eta, s)

    def variance(self, t, theta):
        eta, s = self.split(t, theta)
        return self.variance_local(eta, s)

    def _local(self, t, theta):
        t = np.asarray(t, dtype=float)
        theta = np.asarray(theta, dtype=float)
        eta, s = self.split(t, theta)
        return design(t), eta, s

    def gradient(self, y, t, theta):
        z, eta, s = self._local(t, theta)
        g = self.local_gradient(np.asarray(y, dtype=float), eta, s)
        return np.concatenate([g[:, :1] * z, g[:, 1:]], axis=1)

    def hessian(self, y, t, theta):
        z, eta, s = self._local(t, theta)
        return _lift_hessian(self.local_hessian(np.asarray(y, dtype=float), eta, s), z)

    @property
    def has_expected_hessian(self):
        return type(self).local_expected_hessian is not ExtendedIndexFamily.local_expected_hessian

    def expected_hessian(self, t, theta):
        z, eta, s = self._local(t, theta)
        h = self.local_expected_hessian(eta, s)
        return None if h is None else _lift_hessian(h, z)

    def hessian_under(self, t, theta, law_theta):
        if type(self).local_hessian_under is ExtendedIndexFamily.local_hessian_under:
            return super().hessian_under(t, theta, law_theta)
        z, eta, s = self._local(t, theta)
        _, law_eta, law_s = self._local(t, law_theta)
        return _lift_hessian(self.local_hessian_under(law_eta, law_s, eta, s), z)

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]


def _lift_hessian(h, z):
    """Hessian in θ from the Hessian h (n, 1+k, 1+k) in (η, s) and the design z (n, q)."""
    n, q = z.shape
    k = h.shape[1] - 1
    out = np.empty((n, q + k, q + k))
    out[:, :q, :q] = h[:, 0, 0, None, None] * z[:, :, None] * z[:, None, :]
    out[:, :q, q:] = z[:, :, None] * h[:, None, 0, 1:]
    out[:, q:, :q] = np.swapaxes(out[:, :q, q:], 1, 2)
    out[:, q:, q:] = h[:, 1:, 1:]
    return out


def stack_hessian(*entries):
    """Symmetric (n, m, m) matrices from upper-triangle entries given row by row."""
    m = int(round((np.sqrt(8 * len(entries) + 1) - 1) / 2))
    n = np.broadcast(*entries).shape[0]
    out = np.empty((n, m, m))
    it = iter(entries)
    for i in range(m):
        for j in range(i, m):
            out[:, i, j] = out[:, j, i] = next(it)
    return out
