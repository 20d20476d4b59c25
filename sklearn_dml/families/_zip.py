"""Zero-inflated Poisson family: Y = 0 with probability π(x), else Poisson(exp(α(x) + β(x)'t))."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import boundary_warnings, check_counts, count_sf


class ZeroInflatedPoissonFamily(ExtendedIndexFamily):
    """Zero-inflated Poisson log-likelihood (Lambert 1992), log-rate index, logit inflation.

    θ = (α, β, logit_inflation): μ = exp(α + β't) is the Poisson rate, π = σ(g) the
    probability of a structural zero (depending on x, not on t); E[Y | x, t] = (1 − π)μ.
    ℓ = softplus(g) − [y = 0]·log(e^g + e^{−μ}) + [y > 0]·(μ − y η) (log y! dropped).
    ℓ_θθ depends on y and is indefinite for some zero rows, so Λ(x) uses the Fisher
    information: with P₀ = π + (1 − π)e^{−μ} and ρ = π/P₀,
    E[ℓ_ηη] = μ − P₀ μ ρ (1 + μ(1 − ρ)), E[ℓ_ηg] = −P₀ μ ρ (1 − ρ),
    E[ℓ_gg] = π(1 − π) − P₀ ρ (1 − ρ).

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import ZeroInflatedPoissonFamily
    >>> family = ZeroInflatedPoissonFamily()
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'logit_inflation']
    >>> family.has_expected_hessian  # Λ(x) from the Fisher information
    True
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "zip"
    extra_names = ("logit_inflation",)
    second_order_components = ("alpha", "logit_inflation")  # told apart by the zeros
    hessian_depends_on_theta = True
    hessian_depends_on_y = True

    def fit_warnings(self, y, t, theta):
        """No evidence of zero inflation: van den Broek's (1995) score test of π = 0, with
        the Poisson mean's estimation taken out of its variance, below its one-sided 5%
        point. π̂ then sits at or near its boundary 0 (logit π → −∞)."""
        mu = np.exp(self.split(t, theta)[0])
        p0 = np.exp(-mu)
        design = np.column_stack([np.ones_like(mu), t])
        score = np.sum(((y == 0) - p0) / p0)
        a = design.T @ mu
        variance = (np.sum((1.0 - p0) / p0)
                    - a @ np.linalg.solve((design * mu[:, None]).T @ design, a))
        z = float(score / np.sqrt(max(variance, 1e-300)))
        return boundary_warnings(z, absent="zero inflation", symbol="π", link="logit",
                                 component="logit_inflation", part="count part's")

    def loss_local(self, y, eta, s):
        g = s[..., 0]
        mu = torch.exp(eta)
        zero = (y == 0).to(eta.dtype)
        return (F.softplus(g) - zero * torch.logaddexp(g, -mu)
                + (1 - zero) * (mu - y * eta))

    def mean_local(self, eta, s):
        return torch.sigmoid(-s[..., 0]) * torch.exp(eta)

    def variance_local(self, eta, s):
        pi = torch.sigmoid(s[..., 0])
        mu = torch.exp(eta)
        return (1 - pi) * mu * (1 + pi * mu)

    def sf_local(self, c, eta, s):
        g = s[..., 0]
        mu = torch.exp(eta)

        def log_pmf(k):
            pois = -F.softplus(g) + k * eta - mu - torch.lgamma(k + 1)
            return torch.where(k == 0, torch.logaddexp(g, -mu) - F.softplus(g), pois)

        return count_sf(log_pmf, c, eta)

    def _parts(self, eta, s):
        g = s[:, 0]
        mu = np.exp(eta)
        return g, mu, special.expit(g), special.expit(g + mu)

    def local_gradient(self, y, eta, s):
        g, mu, pi, rho = self._parts(eta, s)
        zero = y == 0
        g_eta = np.where(zero, mu * (1 - rho), mu - y)
        g_g = np.where(zero, pi - rho, pi)
        return np.column_stack([g_eta, g_g])

    def local_hessian(self, y, eta, s):
        g, mu, pi, rho = self._parts(eta, s)
        zero = y == 0
        v = rho * (1 - rho)
        h_ee = np.where(zero, mu * (1 - rho) * (1 - rho * mu), mu)
        h_eg = np.where(zero, -mu * v, 0.0)
        h_gg = pi * (1 - pi) - np.where(zero, v, 0.0)
        return stack_hessian(h_ee, h_eg, h_gg)

    def local_expected_hessian(self, eta, s):
        g, mu, pi, rho = self._parts(eta, s)
        p0 = np.exp(np.logaddexp(g, -mu) - np.logaddexp(0.0, g))
        v = rho * (1 - rho)
        h_ee = mu - p0 * mu * rho * (1 + mu * (1 - rho))
        return stack_hessian(h_ee, -p0 * mu * v, pi * (1 - pi) - p0 * v)

    def constant_outcome_unbounded(self, values):
        return np.asarray(values) == 0  # a rate of zero: log-rate at -inf

    def check_y(self, y):
        return check_counts(y, "zero-inflated poisson")

    def check_data(self, t, y, treatment_names):
        if np.all(y == 0) or np.all(y > 0):
            raise ValueError(
                "A zero-inflated Poisson model needs both zero and positive counts in Y; "
                f"got {np.mean(y == 0):.0%} zeros. Use the poisson family if there are no zeros.")

    def initial_bias(self, y, t):
        pos = y[y > 0]
        mu = max(float(pos.mean()), 1e-3)
        for _ in range(50):  # mean of a zero-truncated Poisson: μ / (1 − e^{−μ}) = mean(y | y > 0)
            mu = max(float(pos.mean()) * -np.expm1(-mu), 1e-3)
        pi = float(np.clip(1 - float(np.mean(y)) / mu, 0.02, 0.9))
        return [float(np.log(mu))] + [0.0] * t.shape[1] + [float(np.log(pi / (1 - pi)))]
