"""Binary-outcome single-index families: P(Y = 1 | x, t) = F(η)."""

from __future__ import annotations

import numpy as np

from .._validation import check_separation
from ._index import IndexFamily
from ._support import binary_sf, check_binary


class BinaryIndexFamily(IndexFamily):
    """Shared behaviour of logit, probit and gumbel (cloglog): Y ∈ {0, 1}.

    Subclasses give the link (``mean_eta`` and derivatives, ``loss_eta``, ``d1``,
    ``d2``) and ``inverse_link(p)``, the index with P(Y = 1) = p, used to start
    training at the constant-probability fit. Default targets: E[β] and the
    average marginal effect of each treatment.
    """

    label: str | None = None  # name in error messages, when it differs from ``name``

    def _label(self):
        return self.label or self.name

    def inverse_link(self, p):
        """η such that F(η) = p (numpy)."""
        raise NotImplementedError

    def secant_coefficient(self, eta, step=1e-4):
        """κ/c of :meth:`IndexFamily.secant_coefficient`; with ℓ'' depending on y, by central
        differences of ℓ''(y, ·) for y = 0, 1, weighted by P(Y = 1 | η)."""
        if not self.hessian_depends_on_y:
            return super().secant_coefficient(eta)
        if not self.has_expected_hessian:  # no y-free curvature to take the slope of
            return None
        eta = np.asarray(eta, dtype=float)
        d3 = (self.curvature_under(eta, eta + step)
              - self.curvature_under(eta, eta - step)) / (2.0 * step)  # E_η[∂ℓ''/∂η]
        c = self.curvature(eta)
        tiny = c < 1e-300
        excess = 0.5 * d3 / np.where(tiny, 1.0, c)
        return np.where(tiny, 0.0, self.curvature_log_slope(eta) - excess)

    def curvature_under(self, eta_law, eta):
        """E[ℓ''(Y, η)] with Y ~ Bernoulli(F(``eta_law``)) (numpy)."""
        if not self.hessian_depends_on_y:
            return super().curvature_under(eta_law, eta)
        p = self.mean_eta(np.asarray(eta_law, dtype=float))
        return (p * self.d2(np.ones_like(eta), eta)
                + (1 - p) * self.d2(np.zeros_like(eta), eta))

    def sf(self, c, t, theta):
        return binary_sf(c, self.mean(t, theta))

    def variance(self, t, theta):
        p = self.mean(t, theta)
        return p * (1 - p)

    def check_y(self, y):
        return check_binary(y, self._label())

    def constant_outcome_unbounded(self, values):
        return np.ones(np.shape(values), dtype=bool)  # never 1, or never 0

    def check_data(self, t, y, treatment_names):
        # a constant Y is refused before (check_treatment_outcome)
        check_separation(t, y, treatment_names)

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]

    def initial_bias(self, y, t):
        p = float(np.clip(np.mean(y), 1e-3, 1 - 1e-3))
        return [float(self.inverse_link(p))] + [0.0] * t.shape[1]
