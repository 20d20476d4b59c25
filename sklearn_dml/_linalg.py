"""Λ̂(x) made safe to invert: a floor on its eigenvalues that does not depend on units.

Each row's Λ̂_i is compared with the average Λ̄ = mean_i Λ̂_i: with R the symmetric square
root of Λ̄, the eigenvalues of R⁻¹Λ̂_iR⁻¹ are floored. Under any linear reparametrization
θ = Aθ̃ (a unit change of T or Y, a shift of T, a mixing of α and β) every R⁻¹Λ̂_iR⁻¹ turns by
the same orthogonal matrix, so which rows are floored, and by how much, does not change.
Where θ cannot vary with x, every Λ̂_i equals Λ̄ and nothing is floored, so the estimator
keeps the classical sandwich variance however ill-conditioned Λ̄ is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Λ̄'s eigenvalues below this fraction of its largest are treated as this fraction when
# whitening (a direction Λ̄ does not identify at all); reported as `pooled_condition`.
POOLED_EIGEN_FLOOR = 1e-14


@dataclass
class RegularizedLambda:
    """Λ̂ per row, floored, factorized for solving, with its diagnostics.

    ``Λ_i = R V_i diag(eigval_i) V_i' R`` with ``R`` the root of the average Λ̄ (the identity
    for row-wise scaling), so Λ_i⁻¹ r = R⁻¹ V_i diag(1/eigval_i) V_i' R⁻¹ r.
    """

    eigval: np.ndarray      # (n, d), floored eigenvalues of the whitened Λ̂_i
    eigvec: np.ndarray      # (n, d, d)
    root: np.ndarray        # (n, d, d) or (d, d): left/right factor R
    root_inv: np.ndarray    # same shape as root
    raised: np.ndarray      # (n,) bool, rows where the floor binds
    raw_min: np.ndarray     # (n,) smallest whitened eigenvalue before the floor
    pooled_condition: float  # condition number of the Jacobi-scaled Λ̄
    typical: np.ndarray     # (n,) the curvature the floor is a fraction of

    def below(self, floor):
        """Rows whose smallest eigenvalue before the floor is below ``floor`` times the
        typical curvature: the rows a floor of ``floor`` would raise."""
        return self.raw_min < floor * self.typical

    def solve(self, rhs):
        """Λ̂_i⁻¹ r_i per row, shape (n, d)."""
        r = _apply(self.root_inv, rhs)
        coef = np.einsum("nji,nj->ni", self.eigvec, r) / self.eigval
        return _apply(self.root_inv, np.einsum("nij,nj->ni", self.eigvec, coef))

    def inverses(self):
        """The regularized Λ̂_i⁻¹, shape (n, d, d)."""
        n, d = self.eigval.shape
        columns = [self.solve(np.broadcast_to(np.eye(d)[k], (n, d))) for k in range(d)]
        return np.stack(columns, axis=2)

    def matrices(self):
        """The regularized Λ̂_i, shape (n, d, d)."""
        inner = np.einsum("nij,nj,nkj->nik", self.eigvec, self.eigval, self.eigvec)
        R = self.root if self.root.ndim == 3 else self.root[None]
        return R @ inner @ R

    @property
    def condition(self):
        """Condition number of each row's whitened, floored Λ̂ (unit-free)."""
        return self.eigval[:, -1] / self.eigval[:, 0]

    @property
    def raw_condition(self):
        """Condition number of each row's whitened Λ̂ before the floor (inf if singular)."""
        raw_min = self.raw_min
        with np.errstate(divide="ignore"):
            return np.where(raw_min > 0, self.eigval[:, -1] / np.where(raw_min > 0, raw_min, 1),
                            np.inf)


def _apply(root, v):
    return v @ root.T if root.ndim == 2 else np.einsum("nij,nj->ni", root, v)


def symmetric_root(S):
    """R = S^½ and R⁻¹ for a symmetric positive semi-definite S, tiny eigenvalues raised."""
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    w = np.maximum(w, POOLED_EIGEN_FLOOR * max(w[-1], np.finfo(float).tiny))
    return (V * np.sqrt(w)) @ V.T, (V / np.sqrt(w)) @ V.T


def jacobi_condition(S):
    """Condition number of D^-½ S D^-½, D = diag S: S's ill-conditioning beyond its units."""
    d = np.sqrt(np.maximum(np.diag(S), np.finfo(float).tiny))
    w = np.linalg.eigvalsh(S / np.outer(d, d))
    return float(w[-1] / w[0]) if w[0] > 0 else float("inf")


def regularize(L, floor):
    """Symmetrize and floor eigenvalues; return the factors needed to invert.

    The floor is relative to the *typical* curvature (the median over rows of the
    largest eigenvalue), not only to each row's own: a row whose whole Λ̂ is tiny
    (e.g. a logit row with fitted probability near 0 or 1) is otherwise left
    near-singular, and a single such row can dominate the estimate.

    Parameters
    ----------
    L : ndarray (n, d, d)
    floor : float
        Eigenvalues below ``floor * max(row's largest, median largest)`` are raised to it.

    Returns
    -------
    eigval : (n, d), eigvec : (n, d, d), raised : (n,) bool, raw_min : (n,), typical : (n,)
        ``typical`` is max(row's largest, median largest), the curvature the floor scales.
    """
    L = 0.5 * (L + np.swapaxes(L, 1, 2))
    w, V = np.linalg.eigh(L)
    top = np.maximum(w[:, -1:], max(float(np.median(w[:, -1])), 1e-12))
    lo = floor * top
    raised = (w < lo).any(axis=1)
    return np.maximum(w, lo), V, raised, w[:, 0], top[:, 0]


def regularize_whitened(lam, floor, weights=None):
    """Floor each row's Λ̂ relative to the average Λ̂, the rule of the module docstring.

    Eigenvalues of R⁻¹Λ̂_iR⁻¹ below ``floor · max(its largest, the median largest)`` are
    raised to it (:func:`regularize`).

    Parameters
    ----------
    lam : ndarray (n, d, d)
    floor : float
    weights : ndarray (n,) or None
        Sample weights for the average.

    Returns
    -------
    RegularizedLambda
    """
    lam = 0.5 * (lam + np.swapaxes(lam, 1, 2))
    pooled = np.average(lam, axis=0, weights=weights)
    root, root_inv = symmetric_root(pooled)
    whitened = root_inv @ lam @ root_inv
    eigval, eigvec, raised, raw_min, typical = regularize(whitened, floor)
    return RegularizedLambda(eigval, eigvec, root, root_inv, raised, raw_min,
                             jacobi_condition(pooled), typical)


def regularize_rowwise(lam, floor, scale):
    """The floor on each row's Λ̂ scaled by ``scale`` (n, d): Λ̂_i / (s_i s_i')."""
    lam = 0.5 * (lam + np.swapaxes(lam, 1, 2))
    eigval, eigvec, raised, raw_min, typical = regularize(
        lam / scale[:, :, None] / scale[:, None, :], floor)
    root = np.einsum("ni,ij->nij", scale, np.eye(scale.shape[1]))
    pooled = np.mean(lam, axis=0)
    return RegularizedLambda(eigval, eigvec, root, 1.0 / np.where(root > 0, root, np.inf),
                             raised, raw_min, jacobi_condition(pooled), typical)


def regularize_jacobi(lam, floor):
    """The floor on each row's Jacobi-scaled Λ̃ = D^{-1/2} Λ̂ D^{-1/2}, D = diag(Λ̂).

    Λ̃ is free of the units of each θ component, so rescaling Y (and with it a scale
    parameter) does not change which rows are floored: on the raw Λ̂ the condition number
    grows with the squared outcome scale. Λ̂⁻¹ℓ_θ is unchanged where no floor binds.
    """
    scale = np.sqrt(np.maximum(np.einsum("nii->ni", lam), np.finfo(float).tiny))
    return regularize_rowwise(lam, floor, scale)
