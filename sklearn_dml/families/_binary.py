"""Binary-outcome single-index families: P(Y = 1 | x, t) = F(η)."""

from __future__ import annotations

import numpy as np

from ._index import IndexFamily
from ._support import binary_sf, check_binary, check_binary_data


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

    def sf(self, c, t, theta):
        return binary_sf(c, self.mean(t, theta))

    def variance(self, t, theta):
        p = self.mean(t, theta)
        return p * (1 - p)

    def check_y(self, y):
        return check_binary(y, self._label())

    def check_data(self, t, y, treatment_names):
        check_binary_data(t, y, treatment_names, self._label())

    def default_targets(self, n_treatments):
        from ..targets import AverageMarginalEffect, AverageParameter

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            AverageMarginalEffect(j) for j in range(n_treatments)]

    def initial_bias(self, y, t):
        p = float(np.clip(np.mean(y), 1e-3, 1 - 1e-3))
        return [float(self.inverse_link(p))] + [0.0] * t.shape[1]
