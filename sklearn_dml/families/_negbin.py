"""Negative binomial (NB2) family: E[Y | x, t] = μ = exp(η), Var = μ + κ(x) μ²."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import boundary_warnings, check_counts, count_sf


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return special.expit(x)


def nb_trigamma_tail(mu, r, block=64, max_terms=200_000):
    """Σ_{k≥0} P(Y > k) / (r + k)² for Y ~ NB2(μ, r), vectorized over rows.

    Equals E[ψ₁(r) − ψ₁(Y + r)]; summed in blocks of k until every row's tail
    probability is below 1e-15.
    """
    mu, r = np.broadcast_arrays(np.asarray(mu, float), np.asarray(r, float))
    out = np.zeros(mu.shape)
    prob = mu / (r + mu)
    active = np.arange(mu.size)
    k0 = 0
    while active.size and k0 < max_terms:
        k = np.arange(k0, k0 + block, dtype=float)[None, :]
        ra, pa = r[active, None], prob[active, None]
        sf = special.betainc(k + 1.0, ra, pa)
        out[active] += (sf / (ra + k) ** 2).sum(axis=1)
        active = active[sf[:, -1] > 1e-15]
        k0 += block
    return out


class NegativeBinomialFamily(ExtendedIndexFamily):
    """NB2 log-likelihood with log-mean index η and log-overdispersion s = log κ as θ components.

    θ = (α, β, log_dispersion): μ = exp(α + β't), κ = exp(s), r = 1/κ,
    Var(Y | x, t) = μ + κ μ². With u = η + s,
    ℓ = lgamma(r) − lgamma(y + r) + r·softplus(u) + y·softplus(−u) (log y! dropped).
    ℓ_θθ depends on y and is not positive semi-definite row by row (in the κ
    direction), so Λ(x) uses the Fisher information: E[ℓ_ηη] = μ/(1 + κμ),
    E[ℓ_ηs] = 0 and E[ℓ_ss] = r² Σ_k P(Y > k)/(r + k)² − rμ/(r + μ) (Lawless 1987).

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import NegativeBinomialFamily
    >>> family = NegativeBinomialFamily()
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_dispersion']
    >>> family.has_expected_hessian  # Λ(x) from the Fisher information
    True
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "negbin"
    extra_names = ("log_dispersion",)
    hessian_depends_on_theta = True
    hessian_depends_on_y = True

    def fit_warnings(self, y, t, theta):
        """No evidence of overdispersion: the score test of κ = 0 (Cameron and Trivedi
        1990), z = Σ((y − μ̂)² − y) / √(2 Σ μ̂²), below its one-sided 5% point. κ̂ then
        sits at or near its boundary 0, where log κ has no finite estimate."""
        mu = np.exp(self.split(t, theta)[0])
        z = float(np.sum((y - mu) ** 2 - y) / np.sqrt(2.0 * np.sum(mu ** 2)))
        return boundary_warnings(z, absent="overdispersion", symbol="κ", link="log",
                                 component="log_dispersion", part="mean's")

    def loss_local(self, y, eta, s):
        s = s[..., 0]
        r = torch.exp(-s)
        u = eta + s
        return (torch.lgamma(r) - torch.lgamma(y + r) + r * F.softplus(u)
                + y * F.softplus(-u))

    def mean_local(self, eta, s):
        return torch.exp(eta)

    def variance_local(self, eta, s):
        mu = torch.exp(eta)
        return mu + torch.exp(s[..., 0]) * mu * mu

    def sf_local(self, c, eta, s):
        s = s[..., 0]
        r = torch.exp(-s)
        u = eta + s

        def log_pmf(k):
            return (torch.lgamma(k + r) - torch.lgamma(r) - torch.lgamma(k + 1)
                    - r * F.softplus(u) - k * F.softplus(-u))

        return count_sf(log_pmf, c, eta)

    def _parts(self, eta, s):
        s = s[:, 0]
        r = np.exp(-s)
        u = eta + s
        return r, u, _sigmoid(u)

    def local_gradient(self, y, eta, s):
        r, u, pi = self._parts(eta, s)
        g_eta = r * pi - y * (1 - pi)
        g_s = (-r * (special.digamma(r) - special.digamma(y + r)) - r * _softplus(u)
               + r * pi - y * (1 - pi))
        return np.column_stack([g_eta, g_s])

    def local_hessian(self, y, eta, s):
        r, u, pi = self._parts(eta, s)
        v = pi * (1 - pi)
        h_ee = (r + y) * v
        h_es = -r * pi + (r + y) * v
        h_ss = (r * (special.digamma(r) - special.digamma(y + r))
                + r * r * (special.polygamma(1, r) - special.polygamma(1, y + r))
                + r * _softplus(u) - 2 * r * pi + (r + y) * v)
        return stack_hessian(h_ee, h_es, h_ss)

    def local_expected_hessian(self, eta, s):
        r, u, pi = self._parts(eta, s)
        mu = np.exp(eta)
        h_ss = r * r * nb_trigamma_tail(mu, r) - r * pi
        return stack_hessian(r * pi, np.zeros_like(eta), np.maximum(h_ss, 0.0))

    def constant_outcome_unbounded(self, values):
        return np.asarray(values) == 0  # a rate of zero: log-rate at -inf

    def check_y(self, y):
        return check_counts(y, "negative binomial")

    def initial_bias(self, y, t):
        m = max(float(np.mean(y)), 1e-3)
        kappa = max((float(np.var(y)) - m) / m ** 2, 0.05)
        return [float(np.log(m))] + [0.0] * t.shape[1] + [float(np.log(kappa))]
