"""Tobit family: Y = max(Y*, c) (and/or min(·, c̄)), Y* = α(x) + β(x)'t + σ(x) ε, ε ~ N(0, 1)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import special

from ._extended import ExtendedIndexFamily, stack_hessian
from ._support import mills


def _norm_parts(a):
    """Φ(a), φ(a), a·φ(a) with a = ±inf allowed (numpy)."""
    finite = np.isfinite(a)
    phi = np.where(finite, np.exp(-0.5 * np.where(finite, a, 0.0) ** 2) / np.sqrt(2 * np.pi), 0.0)
    return special.ndtr(a), phi, np.where(finite, a, 0.0) * phi


class TobitFamily(ExtendedIndexFamily):
    """Censored normal regression with log σ(x) as a θ component.

    θ = (α, β, log_sigma); the latent outcome is Y* = η + σ ε with η = α + β't. The
    observed Y equals the censoring point where Y* falls beyond it. Rows with
    ``Y <= left`` (``Y >= right``) are censored; ℓ is −log Φ of the standardized
    distance for them and log σ + r²/2, r = (y − η)/σ, otherwise.
    ℓ_θθ depends on y and is indefinite for uncensored rows, so Λ(x) uses the
    Fisher information of the censored normal (Amemiya 1973), in closed form; in
    regime C at the auxiliary fit, moved to the main fit's error with the Hessian under
    the auxiliary fit's law (``information_to_main_fit``, :meth:`local_hessian_under`).

    Parameters
    ----------
    left : float or None, default=0.0
        Left-censoring point (the classical Tobit: Y = max(Y*, 0)); None for none.
    right : float or None, default=None
        Right-censoring point (top-coding, capacity limits); None for none.

    Notes
    -----
    β is the latent-scale effect ∂E[Y*]/∂t; the observed-scale effect
    ∂E[Y]/∂t = β·P(uncensored) is the default second target
    (see :class:`~sklearn_dml.targets.TobitMarginalEffect`).

    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import TobitFamily
    >>> family = TobitFamily(left=0.0, right=10.0)  # censored below at 0 and above at 10
    >>> family.theta_names(["T"])
    ['alpha', 'beta', 'log_sigma']
    >>> est = StructuralDML(family=family)  # then est.fit(X, T, Y)
    """

    name = "tobit"
    extra_names = ("log_sigma",)
    second_order_components = ("alpha",)  # censoring ties α to log σ
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    information_to_main_fit = True
    location_scale = True

    def __init__(self, left=0.0, right=None):
        self.left = left
        self.right = right

    def _bounds(self):
        lo = -np.inf if self.left is None else float(self.left)
        hi = np.inf if self.right is None else float(self.right)
        if not lo < hi:
            raise ValueError(f"TobitFamily needs left < right; got left={self.left}, "
                             f"right={self.right}.")
        if np.isinf(lo) and np.isinf(hi):
            raise ValueError("TobitFamily needs a censoring point (left or right); without "
                             "one use the heteroskedastic family.")
        return lo, hi

    # -- torch ---------------------------------------------------------------------------
    def loss_local(self, y, eta, s):
        lo, hi = self._bounds()
        s = s[..., 0]
        sigma = torch.exp(s)
        out = s + 0.5 * ((y - eta) / sigma) ** 2
        if np.isfinite(lo):
            cens = y <= lo
            out = torch.where(cens, -torch.special.log_ndtr((lo - eta) / sigma), out)
        if np.isfinite(hi):
            cens = y >= hi
            out = torch.where(cens, -torch.special.log_ndtr((eta - hi) / sigma), out)
        return out

    def _std_bounds(self, eta, s):
        lo, hi = self._bounds()
        sigma = torch.exp(s[..., 0])
        inf = torch.full_like(eta, np.inf)
        lo_t = (lo - eta) / sigma if np.isfinite(lo) else -inf
        hi_t = (hi - eta) / sigma if np.isfinite(hi) else inf
        return lo_t, hi_t, sigma

    def mean_local(self, eta, s):
        """E[Y | x, t] on the observed (censored) scale."""
        lo, hi = self._bounds()
        a, b, sigma = self._std_bounds(eta, s)
        mean = eta * (torch.special.ndtr(b) - torch.special.ndtr(a))
        if np.isfinite(lo):
            mean = mean + lo * torch.special.ndtr(a) + sigma * _tpdf(a)
        if np.isfinite(hi):
            mean = mean + hi * torch.special.ndtr(-b) - sigma * _tpdf(b)
        return mean

    def latent_mean(self, t, theta):
        """E[Y* | x, t] = η (torch or numpy)."""
        return self.split(t, theta)[0]

    def variance_local(self, eta, s):
        lo, hi = self._bounds()
        a, b, sigma = self._std_bounds(eta, s)
        inside = torch.special.ndtr(b) - torch.special.ndtr(a)
        # E[r; a < r < b] and E[r²; a < r < b] for a standard normal r, and E[Y²; censored]
        r1, r2, second = torch.zeros_like(eta), inside.clone(), torch.zeros_like(eta)
        if np.isfinite(lo):
            r1 = r1 + _tpdf(a)
            r2 = r2 + a * _tpdf(a)
            second = second + lo ** 2 * torch.special.ndtr(a)
        if np.isfinite(hi):
            r1 = r1 - _tpdf(b)
            r2 = r2 - b * _tpdf(b)
            second = second + hi ** 2 * torch.special.ndtr(-b)
        second = second + eta ** 2 * inside + 2 * eta * sigma * r1 + sigma ** 2 * r2
        return second - self.mean_local(eta, s) ** 2

    def sf_local(self, c, eta, s):
        """P(Y > c): the latent normal's tail above c inside the support, 0 or 1 outside."""
        lo, hi = self._bounds()
        sigma = torch.exp(s[..., 0])
        if c < lo:
            return torch.ones_like(eta)
        if c >= hi:
            return torch.zeros_like(eta)
        return torch.special.ndtr((eta - c) / sigma)

    # -- numpy derivatives ---------------------------------------------------------------
    def local_gradient(self, y, eta, s):
        g, _ = self._derivatives(y, eta, s, hessian=False)
        return g

    def local_hessian(self, y, eta, s):
        return self._derivatives(y, eta, s, hessian=True)[1]

    def _derivatives(self, y, eta, s, hessian):
        lo, hi = self._bounds()
        sigma = np.exp(s[:, 0])
        r = (y - eta) / sigma
        g = np.column_stack([-r / sigma, 1 - r * r])
        h = stack_hessian(1 / sigma ** 2, 2 * r / sigma, 2 * r * r) if hessian else None
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            if not np.isfinite(bound):
                continue
            cens = y <= bound if sign > 0 else y >= bound
            a = sign * (bound - eta[cens]) / sigma[cens]
            lam = mills(a)
            sg = sigma[cens]
            g[cens] = np.column_stack([sign * lam / sg, lam * a])
            if hessian:
                h[cens] = stack_hessian(lam * (a + lam) / sg ** 2,
                                        sign * lam * (a * (a + lam) - 1) / sg,
                                        -a * lam + a * a * lam * (a + lam))
        return g, h

    def local_expected_hessian(self, eta, s):
        return self.local_hessian_under(eta, s, eta, s)

    def local_hessian_under(self, law_eta, law_s, eta, s):
        """E[second derivatives in (η, s) at (eta, s)] with Y* ~ N(law_eta, e^{2 law_s}):
        the censored rows' Hessian times their probability, plus the uncensored rows'
        1/σ², 2r/σ, 2r² integrated over the truncated normal (its first two moments)."""
        lo, hi = self._bounds()
        sigma, law_sigma = np.exp(s[:, 0]), np.exp(law_s[:, 0])
        l, u = (lo - law_eta) / law_sigma, (hi - law_eta) / law_sigma
        Pl, pl, lpl = _norm_parts(l)
        Pu, pu, upu = _norm_parts(u)
        inside = Pu - Pl
        # E[e; inside], E[e²; inside] for e = (Y* − law_eta)/law_sigma, then r = (Y − η)/σ
        e1, e2 = pl - pu, inside + lpl - upu
        shift = law_eta - eta
        r1 = (shift * inside + law_sigma * e1) / sigma
        r2 = (shift ** 2 * inside + 2 * shift * law_sigma * e1 + law_sigma ** 2 * e2) / sigma ** 2
        h_ee, h_es, h_ss = inside / sigma ** 2, 2 * r1 / sigma, 2 * r2
        for bound, sign, mass in ((lo, 1.0, Pl), (hi, -1.0, special.ndtr(-u))):
            if not np.isfinite(bound):
                continue
            a = sign * (bound - eta) / sigma
            lam = mills(a)
            h_ee = h_ee + mass * lam * (a + lam) / sigma ** 2
            h_es = h_es + mass * sign * lam * (a * (a + lam) - 1) / sigma
            h_ss = h_ss + mass * (-a * lam + a * a * lam * (a + lam))
        return stack_hessian(h_ee, h_es, h_ss)

    # -- data ----------------------------------------------------------------------------
    def check_y(self, y):
        lo, hi = self._bounds()
        y = np.asarray(y, dtype=float)
        bad = (y < lo) | (y > hi)
        if np.any(bad):
            raise ValueError(
                f"The tobit family (censored at left={self.left}, right={self.right}) got "
                f"{bad.sum()} values of Y outside [{lo:g}, {hi:g}] (e.g. {y[bad][0]:g}). Set the "
                "censoring points to match the data, e.g. TobitFamily(left=Y.min()).")
        return y

    def constant_outcome_unbounded(self, values):
        lo, hi = self._bounds()  # every row censored: the index beyond any bound
        return (np.asarray(values) <= lo) | (np.asarray(values) >= hi)

    def check_data(self, t, y, treatment_names):
        lo, hi = self._bounds()
        free = (y > lo) & (y < hi)
        if free.sum() < 2:
            raise ValueError(
                f"Only {free.sum()} rows of Y are uncensored (strictly inside ({lo:g}, {hi:g})): "
                "σ(x) is not identified. Check the censoring points.")

    def default_targets(self, n_treatments):
        from ..targets import AverageParameter, TobitMarginalEffect

        return [AverageParameter(1 + j) for j in range(n_treatments)] + [
            TobitMarginalEffect(j, scale="observed") for j in range(n_treatments)]

    def initial_bias(self, y, t):
        return ([float(np.mean(y))] + [0.0] * t.shape[1]
                + [float(np.log(max(float(np.std(y)), 1e-6)))])

    def in_units(self, units):
        """A copy (of a subclass too) with the censoring points in the internal units of Y."""
        family = copy.copy(self)
        family.left, family.right = (None if c is None else float(units.outcome(c))
                                     for c in (self.left, self.right))
        return family

    def __repr__(self):
        return f"TobitFamily(left={self.left!r}, right={self.right!r})"


def _tpdf(a):
    """φ(a) for a torch tensor, 0 at ±inf."""
    return torch.exp(-0.5 * a * a) / np.sqrt(2 * np.pi)
