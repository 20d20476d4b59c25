"""Gamma family: E[Y | x, t] = exp(α(x) + β(x)'t), shape ν(x) as a θ component."""

from __future__ import annotations

import numpy as np
import torch
from scipy import special

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import check_positive


class GammaFamily(ExtendedIndexFamily):
    """Gamma log-likelihood with log-mean index η and log-shape s as θ components.

    θ = (α, β, log_shape): μ = exp(α + β't), ν = exp(s), Var(Y | x, t) = μ²/ν.
    The shape is a θ component, heterogeneous in x, rather than a fixed
    dispersion: the likelihood is then complete, so distribution-based targets
    (the conditional variance) are available, and because the Fisher information
    is block-diagonal, E[ℓ_ηs] = 0, errors in ν̂(x) do not bias the mean
    parameters. (For a mean-only model robust to the shape, Gamma pseudo-likelihood,
    the index block alone is ν·z z'.) With v = y/μ,
    ℓ = lgamma(ν) − ν s + ν η − ν log y + ν v (a term free of θ dropped).
    ℓ_θθ depends on y and is indefinite for some rows, so Λ(x) uses the Fisher
    information diag(ν z z', ν² ψ₁(ν) − ν).

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import GammaFamily
    >>> family = GammaFamily()
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_shape']
    >>> family.has_expected_hessian  # Λ(x) from the Fisher information
    True
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "gamma"
    extra_names = ("log_shape",)
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    log_mean_degree = 0

    def loss_local(self, y, eta, s):
        s = s[..., 0]
        nu = torch.exp(s)
        return torch.lgamma(nu) - nu * s + nu * eta - nu * torch.log(y) + nu * y * torch.exp(-eta)

    def mean_local(self, eta, s):
        return torch.exp(eta)

    def variance_local(self, eta, s):
        return torch.exp(2 * eta - s[..., 0])

    def local_gradient(self, y, eta, s):
        s = s[:, 0]
        nu, v = np.exp(s), y * np.exp(-eta)
        return np.column_stack([nu * (1 - v),
                                nu * (special.digamma(nu) - s - 1 - np.log(v) + v)])

    def local_hessian(self, y, eta, s):
        s = s[:, 0]
        nu, v = np.exp(s), y * np.exp(-eta)
        g_s = nu * (special.digamma(nu) - s - 1 - np.log(v) + v)
        return stack_hessian(nu * v, nu * (1 - v), g_s + nu * nu * special.polygamma(1, nu) - nu)

    def local_expected_hessian(self, eta, s):
        nu = np.exp(s[:, 0])
        return stack_hessian(nu, np.zeros_like(nu), nu * nu * special.polygamma(1, nu) - nu)

    def check_y(self, y):
        return check_positive(y, "gamma")

    def initial_bias(self, y, t):
        m = float(np.mean(y))
        shape = float(np.clip(m ** 2 / max(float(np.var(y)), 1e-12), 0.05, 1e3))
        return [float(np.log(m))] + [0.0] * t.shape[1] + [float(np.log(shape))]
