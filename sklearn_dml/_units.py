"""Internal units: T and Y as the networks and Λ̂ see them, and θ mapped back exactly.

A family whose loss allows it standardizes its treatment (and, for the linear model, its
outcome) before training: the networks, the Λ stage and the eigenvalue floor then see the
same numbers whatever units the user chose, and an affine map takes θ̂ and the cached
corrections Λ̂⁻¹ℓ_θ back to the user's units. Under θ = M θ̃ + b (M fixed), ℓ_θ̃ = M'ℓ_θ and
Λ̃ = M'ΛM, so Λ⁻¹ℓ_θ = M Λ̃⁻¹ℓ_θ̃: the correction maps like a difference of θ's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Units:
    """Affine maps between the user's units and the internal ones.

    ``T_internal = (T − t_shift) / t_scale``, ``Y_internal = (Y − y_shift) / y_scale`` and
    ``θ_user = θ_internal @ theta_matrix.T + theta_offset``; the user's loss is
    ``loss_scale`` times the internal one.
    """

    t_shift: np.ndarray
    t_scale: np.ndarray
    y_shift: float
    y_scale: float
    theta_matrix: np.ndarray
    theta_offset: np.ndarray
    loss_scale: float = 1.0

    @classmethod
    def identity(cls, n_treatments, theta_dim):
        """The maps that leave everything as given (custom and packed families)."""
        return cls(np.zeros(n_treatments), np.ones(n_treatments), 0.0, 1.0,
                   np.eye(theta_dim), np.zeros(theta_dim))

    def treatment(self, T):
        """The user's T (n, p) in internal units."""
        return (np.asarray(T, dtype=float) - self.t_shift) / self.t_scale

    def outcome(self, Y):
        """The user's Y (n,) in internal units."""
        return (np.asarray(Y, dtype=float) - self.y_shift) / self.y_scale

    def theta(self, theta):
        """Internal θ (n, d) in the user's units."""
        return theta @ self.theta_matrix.T + self.theta_offset

    def internal_theta(self, theta):
        """The user's θ (n, d) in internal units (the inverse of :meth:`theta`)."""
        return (theta - self.theta_offset) @ np.linalg.inv(self.theta_matrix).T

    def score(self, grad):
        """Internal scores ℓ_θ̃ (n, d) as the user's ℓ_θ: loss_scale · ℓ_θ̃ M⁻¹."""
        return self.loss_scale * grad @ np.linalg.inv(self.theta_matrix)

    def tangent(self, v):
        """Internal differences of θ, such as Λ̃⁻¹ℓ_θ̃ (n, d), in the user's units."""
        return v @ self.theta_matrix.T

    def curvature(self, lam):
        """Internal Λ̃ (n, d, d) in the user's units: loss_scale · M⁻ᵀ Λ̃ M⁻¹."""
        inv = np.linalg.inv(self.theta_matrix)
        return self.loss_scale * np.einsum("ji,njk,kl->nil", inv, lam, inv)

    def layers(self, layers):
        """Stored network weights [(W, b), ...] whose output is θ in the user's units."""
        W, b = layers[-1]
        M = self.theta_matrix.T.astype(np.float64)
        W_user = (W.astype(np.float64) @ M).astype(W.dtype)
        b_user = (b.astype(np.float64) @ M + self.theta_offset).astype(b.dtype)
        return [*layers[:-1], (W_user, b_user)]


def binary_columns(T):
    """Indices of the columns of T (n, p) that take only the values 0 and 1."""
    T = np.asarray(T, dtype=float)
    return [j for j in range(T.shape[1]) if np.all((T[:, j] == 0) | (T[:, j] == 1))]


def varying_binary_columns(T):
    """Indices of the columns of T (n, p) that take both values 0 and 1 and no other: the
    treatments that split the rows into treated and untreated."""
    T = np.asarray(T, dtype=float)
    return [j for j in binary_columns(T) if np.ptp(T[:, j]) > 0]


def two_valued_columns(T):
    """Indices of the columns of T (n, p) that take exactly two distinct values (a dummy,
    whatever its coding)."""
    T = np.asarray(T, dtype=float)
    low, high = T.min(axis=0), T.max(axis=0)
    return np.flatnonzero((low < high) & np.all((T == low) | (T == high), axis=0)).tolist()


def standardized_columns(T):
    """(shift, scale) per column of T: mean and SD, except for two-valued and constant
    columns.

    A two-valued treatment is mapped to 0/1 (low to 0, high to 1; a 0/1 one is left as it
    is), whatever its coding: the Λ stage recognizes a binary T by its values 0 and 1.
    """
    T = np.asarray(T, dtype=float)
    p = T.shape[1]
    shift, scale = np.zeros(p), np.ones(p)
    two_valued = two_valued_columns(T)
    for j in range(p):
        sd = T[:, j].std()
        if j in two_valued:
            shift[j], scale[j] = T[:, j].min(), np.ptp(T[:, j])
        elif sd > 0:
            shift[j], scale[j] = T[:, j].mean(), sd
    return shift, scale


def index_theta_map(shift, scale, theta_dim):
    """θ = M θ̃ for η = α + Σ β_j t_j, with t_j = shift_j + scale_j t̃_j, θ = (α, β, extras).

    η = (α + Σ β_j shift_j) + Σ (β_j scale_j) t̃_j, so β = β̃ / scale and
    α = α̃ − Σ β̃_j shift_j / scale_j; components after the index are unchanged.
    """
    p = shift.shape[0]
    M = np.eye(theta_dim)
    M[0, 1:1 + p] = -shift / scale
    M[1:1 + p, 1:1 + p] = np.diag(1.0 / scale)
    return M


def internal_law(treatment_law, units, n_treatments):
    """A user's ``treatment_law`` (values in the user's units) as (values, probabilities) in
    internal units; None and "empirical" pass through."""
    from ._validation import parse_treatment_law

    if treatment_law is None or isinstance(treatment_law, str):
        return treatment_law
    values, probs = parse_treatment_law(treatment_law, n_treatments)
    return units.treatment(values), probs


def index_units(T, theta_dim, outcome=None, log_scale=None, log_mean_degree=None,
                outcome_scale=None):
    """Units of a single-index family, η = α + Σ β_j t_j, θ = (α, β, extras).

    T is standardized by :func:`standardized_columns`. With ``outcome`` (the Y of a model
    whose index is in Y's units) Y is too, and θ's index part scales with it:
    θ = s_Y (M θ̃) + (m_Y, 0, …). For the linear model's squared error the loss scales by
    s_Y². ``log_scale`` is the position of log σ in θ for a location-scale likelihood
    (tobit, heteroskedastic): that component gains log s_Y, and the negative
    log-likelihood changes by a constant only, so the loss keeps its scale.

    With ``log_mean_degree`` (a family whose mean is exp(η) times a factor free of Y's
    units: Poisson, gamma, Weibull) Y is divided by a scale c instead (``outcome_scale``,
    or Y's mean), α gains log c, and the loss scales by c to that power (the Poisson's
    e^η − yη by c, the others' not at all). With a c that scales with Y, rescaling Y
    changes α only, by the log of the factor.
    """
    shift, scale = standardized_columns(T)
    M = index_theta_map(shift, scale, theta_dim)
    if outcome is not None and log_mean_degree is not None:
        return _log_mean_units(shift, scale, M, outcome, log_mean_degree, outcome_scale)
    if outcome is None:
        return Units(shift, scale, 0.0, 1.0, M, np.zeros(theta_dim))
    y = np.asarray(outcome, dtype=float)
    y_shift, y_scale = float(y.mean()), float(y.std())
    if not y_scale > 0:
        y_shift, y_scale = 0.0, 1.0
    offset = np.zeros(theta_dim)
    offset[0] = y_shift
    rows = np.ones(theta_dim)
    rows[:1 + shift.shape[0]] = y_scale  # the index part; the extras keep their units
    loss_scale = y_scale ** 2
    if log_scale is not None:
        offset[log_scale], loss_scale = np.log(y_scale), 1.0
    return Units(shift, scale, y_shift, y_scale, rows[:, None] * M, offset, loss_scale)


def _log_mean_units(shift, scale, M, outcome, degree, c=None):
    """:func:`index_units` for a log-mean family: Y / c (c = mean(Y) by default), α + log c."""
    c = float(np.mean(np.asarray(outcome, dtype=float))) if c is None else float(c)
    offset = np.zeros(M.shape[0])
    if not (np.isfinite(c) and c > 0):
        return Units(shift, scale, 0.0, 1.0, M, offset)
    offset[0] = np.log(c)
    return Units(shift, scale, 0.0, c, M, offset, c ** degree)
