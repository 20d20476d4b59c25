"""Covariate cells: rows that share their exact covariates, and whether the data identify θ there.

Λ̂(x) is a regression of per-row Hessians on X, so it smooths across neighbouring x. Where
X takes repeated values (discrete covariates, or a panel whose covariates do not change
over time) it can report curvature at x that the rows at x do not have: when every row of
a cell has the same treatment, Λ(x) is singular there, θ(x) rests on extrapolation from
other cells, and the smoothed Λ̂(x) hides it. The average Hessian of the cell's own rows
shows it.
"""

from __future__ import annotations

import numpy as np

from ._lambda._hessians import lambda_hessians
from ._linalg import symmetric_root

# a cell needs this many rows before its lack of variation is evidence: ten rows of a binary
# treatment with probability ½ all agree with probability 0.002
MIN_CELL_ROWS = 10
# and a lack of variation this unlikely under T's marginal law: twenty untreated rows of a
# treatment that 5% of rows take are no evidence (chance 0.36)
CHANCE = 0.01


def covariate_cells(X, min_rows=MIN_CELL_ROWS):
    """Codes 0..G-1 of the cells of rows with identical X that hold at least ``min_rows``
    rows, -1 for the other rows; None where no cell is that large."""
    if X.shape[0] < min_rows:
        return None
    # rows hashed by a random projection (10x faster than sorting whole rows), checked exact
    key = X @ np.random.default_rng(0).standard_normal(X.shape[1])
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                          return_counts=True)
    if not np.array_equal(X, X[first[inverse]]):
        _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    large = counts >= min_rows
    if not large.any():
        return None
    codes = np.full(counts.size, -1)
    codes[large] = np.arange(int(large.sum()))
    return codes[inverse.ravel()]


def flat_cells(family, T, Y, theta, cells, lam, weights, floor):
    """Rows of a cell whose own average Hessian is singular, and not by chance.

    The cell's weighted average of the family's per-row Hessians at θ̂ (its expected
    Hessian where it has one), whitened by the average Λ̂ over all rows as
    :func:`~sklearn_dml._linalg.regularize_whitened` does, has its smallest eigenvalue
    below ``floor`` times max(its largest, 1). Unit-free: a linear reparametrization of θ
    turns every whitened matrix by the same rotation. The cell's m rows must also be
    unlikely to take so few values of T by chance: (Σ π_v)^m < ``CHANCE``, the sum over
    the values v of T the cell takes, π_v their shares among all rows.

    Parameters
    ----------
    family : Family
    T, Y, theta : ndarray
        Treatments, outcomes and cross-fitted θ̂ in the family's (internal) units.
    cells : ndarray (n,) of int
        From :func:`covariate_cells`.
    lam : ndarray (n, d, d)
        Λ̂ before regularization, in the same units.
    weights : ndarray (n,)
    floor : float

    Returns
    -------
    ndarray (n,) of bool
    """
    inside = np.flatnonzero(cells >= 0)
    codes = cells[inside]
    H = lambda_hessians(family, Y[inside], T[inside], theta[inside])
    d = H.shape[-1]
    w = weights[inside]
    n_cells = int(codes.max()) + 1
    sums = np.stack([np.bincount(codes, weights=w * H[:, i, j], minlength=n_cells)
                     for i in range(d) for j in range(d)], axis=1).reshape(n_cells, d, d)
    mass = np.bincount(codes, weights=w, minlength=n_cells)
    average = sums / np.where(mass > 0, mass, 1.0)[:, None, None]
    _, root_inv = symmetric_root(np.average(lam, axis=0, weights=weights))
    eig = np.linalg.eigvalsh(root_inv @ (0.5 * (average + np.swapaxes(average, 1, 2)))
                             @ root_inv)
    singular = (eig[:, 0] < floor * np.maximum(eig[:, -1], 1.0)) & (mass > 0)
    singular &= _support_chance(T.reshape(T.shape[0], -1), cells, n_cells) < CHANCE
    flat = np.zeros(cells.shape[0], dtype=bool)
    flat[inside] = singular[codes]
    return flat


def _support_chance(T, cells, n_cells):
    """Per cell, the chance that its rows, drawn from T's marginal law, take no values of
    T beyond those they take: (Σ_v π_v)^m over the cell's values v."""
    _, value, counts = np.unique(T, axis=0, return_inverse=True, return_counts=True)
    value = value.ravel()
    share = counts / T.shape[0]
    inside = cells >= 0
    pairs = np.unique(np.column_stack([cells[inside], value[inside]]), axis=0)
    support = np.bincount(pairs[:, 0], weights=share[pairs[:, 1]], minlength=n_cells)
    rows = np.bincount(cells[inside], minlength=n_cells)
    with np.errstate(divide="ignore"):
        return np.exp(rows * np.log(np.minimum(support, 1.0)))
