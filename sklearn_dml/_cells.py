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

# a cell needs this many rows (of positive weight) before its lack of variation is evidence:
# ten rows of a binary treatment with probability ½ all agree with probability 0.002
MIN_CELL_ROWS = 10
# and a constant treatment column this unlikely under the column's marginal law: twenty
# untreated rows of a treatment that 5% of rows take are no evidence (chance 0.36)
CHANCE = 0.01


def covariate_cells(X, weights=None, min_rows=MIN_CELL_ROWS):
    """Codes 0..G-1 of the cells of rows with identical X that hold at least ``min_rows``
    rows of positive weight, -1 for the other rows; None where no cell is that large."""
    counted = np.ones(X.shape[0], bool) if weights is None else weights > 0
    if counted.sum() < min_rows:
        return None
    # rows hashed by a random projection (10x faster than sorting whole rows), checked exact
    key = X @ np.random.default_rng(0).standard_normal(X.shape[1])
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not np.array_equal(X, X[first[inverse]]):
        _, inverse = np.unique(X, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    large = np.bincount(inverse[counted], minlength=int(inverse.max()) + 1) >= min_rows
    if not large.any():
        return None
    codes = np.full(large.size, -1)
    codes[large] = np.arange(int(large.sum()))
    return np.where(counted, codes[inverse], -1)


def flat_cells(family, T, Y, theta, cells, lam, weights, floor, directions=None):
    """Rows of a cell in which a treatment never varies, not by chance, and whose own
    average Hessian is singular.

    A column of T is constant over the cell's m rows where its marginal share π_v of that
    value (weighted) makes it unlikely: π_v^m < ``CHANCE``. The cell's weighted average of
    the family's per-row Hessians at θ̂ (its expected Hessian where it has one), whitened
    by the average Λ̂ over all rows as :func:`~sklearn_dml._linalg.regularize_whitened`
    does, has its smallest eigenvalue below ``floor`` times max(its largest, 1). Unit-free:
    a linear reparametrization of θ turns every whitened matrix by the same rotation.

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
    directions : ndarray (d, k), default=None
        The directions of θ that vary with x (the others are pooled over all rows, so a
        cell need not identify them); all of them if None.

    Returns
    -------
    ndarray (n,) of bool
    """
    n_cells = int(cells.max()) + 1
    constant = _unlikely_constant(T.reshape(T.shape[0], -1), cells, weights, n_cells)
    flat = np.zeros(cells.shape[0], dtype=bool)
    inside = np.flatnonzero((cells >= 0) & constant[np.maximum(cells, 0)])
    if inside.size == 0:
        return flat
    codes = np.unique(cells[inside], return_inverse=True)[1].ravel()
    P = np.eye(lam.shape[-1]) if directions is None else directions
    H = P.T @ lambda_hessians(family, Y[inside], T[inside], theta[inside]) @ P
    k, w = P.shape[1], weights[inside]
    sums = np.stack([np.bincount(codes, weights=w * H[:, i, j]) for i in range(k)
                     for j in range(k)], axis=1).reshape(-1, k, k)
    average = sums / np.bincount(codes, weights=w)[:, None, None]
    _, root_inv = symmetric_root(P.T @ np.average(lam, axis=0, weights=weights) @ P)
    eig = np.linalg.eigvalsh(root_inv @ (0.5 * (average + np.swapaxes(average, 1, 2)))
                             @ root_inv)
    flat[inside] = (eig[:, 0] < floor * np.maximum(eig[:, -1], 1.0))[codes]
    return flat


def _unlikely_constant(T, cells, weights, n_cells):
    """Per cell, whether some column of T takes one value over the cell's rows of positive
    weight with a chance π_v^m below ``CHANCE`` under the column's weighted marginal law."""
    counted = (cells >= 0) & (weights > 0)
    codes, rows = cells[counted], np.bincount(cells[counted], minlength=n_cells)
    unlikely = np.zeros(n_cells, dtype=bool)
    for column in T.T:
        _, value = np.unique(column, return_inverse=True)
        share = np.bincount(value, weights=weights) / weights.sum()
        low = np.full(n_cells, np.inf)
        high = np.full(n_cells, -np.inf)
        np.minimum.at(low, codes, value[counted])
        np.maximum.at(high, codes, value[counted])
        single = low == high
        chance = np.ones(n_cells)
        chance[single] = share[low[single].astype(int)] ** rows[single]
        unlikely |= single & (chance < CHANCE)
    return unlikely
