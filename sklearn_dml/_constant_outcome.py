"""Groups of rows whose outcome never leaves a value where the likelihood has no maximum.

A binary outcome that is 0 on every row of a category (or beyond a threshold of a
covariate), a count that is always 0 there, a tobit outcome censored on all of them: the
likelihood of those rows alone increases without bound as θ(x) runs to infinity, so the
rows do not identify θ(x), whatever value the network settles on. Classical software
drops them ("x2 predicts failure perfectly"); a heterogeneous fit that averages θ̂ over
them reports an extrapolation with an interval that does not show it, and Λ̂ at the
shrunken θ̂ does not see it either.

The groups searched are the rows below the smallest (above the largest) value that a
covariate takes among the rows with another outcome: one value of the covariate (a
level of a dummy, a top code) or a tail of several (counted from 5% of the rows: a
strong, smooth effect leaves its most extreme rows all alike too). Cells of rows with
identical covariates are searched too (:func:`~sklearn_dml._cells.covariate_cells`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._cells import CHANCE, MIN_CELL_ROWS, _unlikely_constant

# warn when such groups hold more than this share of the rows averaged, or this many rows;
# the bias an extrapolated group adds grows with its share times √n (0.3-0.7 SE per unit in
# benchmarks/constant_outcome.py), so above √n rows the warning calls the interval unreliable
WARN_SHARE = 0.01
WARN_ROWS = 100
# a tail holding more than one value of its covariate counts from this share of the rows:
# the extreme rows of a strong, smooth effect agree too (a logit's top 2% all 1), and its
# network, smooth across them, is not extrapolating
TAIL_SHARE = 0.05
REMEDY = ("Average over the other rows (est.inference(where=~est.lambda_regularized_)) or "
          "drop these rows before fitting.")


@dataclass(frozen=True)
class ConstantOutcome:
    """Rows in groups whose outcome is constant at a value of unbounded likelihood."""

    rows: np.ndarray  # (n,) bool
    largest: str  # a phrase naming the largest group, "" when there is none
    n_groups: int


def constant_outcome_groups(at_boundary, X, Y, weights, cells=None, feature_names=None,
                            outcome_name="Y"):
    """Rows of ``X`` whose group has ``Y`` at one value of unbounded likelihood throughout.

    A group counts when it holds at least ``MIN_CELL_ROWS`` rows of positive weight and
    its constancy would be unlikely if Y did not depend on X: π_v^m below ``CHANCE`` for
    a cell, and below ``CHANCE`` over the number of tails searched for a covariate's
    tails, with π_v the weighted share of the value v and m the group's rows.

    Parameters
    ----------
    at_boundary : callable
        ``Family.constant_outcome_unbounded``: per value of Y, whether rows that all take
        it have no finite maximum of their likelihood.
    X : ndarray (n, k)
        Covariates (any units: only their order is used).
    Y, weights : ndarray (n,)
    cells : ndarray (n,) of int or None
        :func:`~sklearn_dml._cells.covariate_cells` codes.
    feature_names : sequence of str, optional
    outcome_name : str, default="Y"

    Returns
    -------
    ConstantOutcome
    """
    counted = weights > 0
    values = np.unique(Y[counted])
    values = values[np.asarray(at_boundary(values), dtype=bool)]
    rows, groups = np.zeros(Y.shape[0], dtype=bool), []
    names = (list(feature_names) if feature_names is not None
             else [f"X{j}" for j in range(X.shape[1])])
    for value in values:
        share = weights[Y == value].sum() / weights.sum()
        other = counted & (Y != value)
        if not other.any():
            continue
        for inside, m, where in _tails(X, counted, other, share,
                                       2 * X.shape[1] * values.size, names):
            rows |= inside
            groups.append((m, f"{outcome_name} = {value:g} on all {m} rows with {where}"))
    if cells is not None:
        inside, sizes, cell_values = _constant_cells(at_boundary, cells, Y, weights)
        rows |= inside
        groups += [(m, f"{outcome_name} = {value:g} on all {m} rows of a cell with identical "
                       "covariates") for m, value in zip(sizes, cell_values)]
    largest = max(groups)[1] if groups else ""
    return ConstantOutcome(rows=rows, largest=largest, n_groups=len(groups))


def _tails(X, counted, other, share, n_tests, names):
    """(rows, row count, 'x2 = 1' or 'x1 > 1.04') for each covariate tail of constant
    outcome that counts: one value of the covariate (a dummy's level, a top code), or a
    tail holding ``TAIL_SHARE`` of the rows."""
    found = []
    for below, cut in ((True, X[other].min(axis=0)), (False, X[other].max(axis=0))):
        inside = (X < cut) if below else (X > cut)
        m = (inside & counted[:, None]).sum(axis=0)
        top = np.where(inside, X, -np.inf).max(axis=0)
        one_value = top == np.where(inside, X, np.inf).min(axis=0)
        least = np.where(one_value, MIN_CELL_ROWS, max(TAIL_SHARE * counted.sum(),
                                                       MIN_CELL_ROWS))
        for j in np.flatnonzero((m >= least) & (share ** m < CHANCE / n_tests)):
            where = (f"{names[j]} = {top[j]:g}" if one_value[j]
                     else f"{names[j]} {'<' if below else '>'} {cut[j]:g}")
            found.append((inside[:, j], int(m[j]), where))
    return found


def _constant_cells(at_boundary, cells, Y, weights):
    """Rows in, and row counts and outcome values of, the cells of identical covariates
    whose outcome takes one value of unbounded likelihood where chance would rarely give
    that (:func:`~sklearn_dml._cells._unlikely_constant`, as for a constant treatment)."""
    n_cells = int(cells.max()) + 1
    counted = (cells >= 0) & (weights > 0)
    value = np.zeros(n_cells)
    value[cells[counted]] = Y[counted]  # a constant cell's rows all agree
    constant = (_unlikely_constant(Y[:, None], cells, weights, n_cells)
                & np.asarray(at_boundary(value), dtype=bool))
    sizes = np.bincount(cells[counted], minlength=n_cells)
    return ((cells >= 0) & constant[np.maximum(cells, 0)], sizes[constant].tolist(),
            value[constant].tolist())


def constant_outcome_warning(diagnostics):
    """A message where groups of constant outcome (:func:`constant_outcome_groups`) hold
    more than ``WARN_SHARE`` of the averaged rows or ``WARN_ROWS`` of them, else None; it
    calls the interval unreliable where they hold more than √n of the n rows."""
    share, n_rows = diagnostics.get("share_constant_outcome", 0.0), diagnostics["n_obs"]
    if share <= WARN_SHARE and share * n_rows <= WARN_ROWS:
        return None
    return (
        f"{share:.1%} of rows lie in groups whose outcome never varies, at a value where "
        f"the likelihood has no maximum (the largest: {diagnostics['constant_outcome']}): "
        "θ(x) is not identified there (classical software drops such rows as perfectly "
        "predicted), so an average over them extrapolates θ̂, and its standard error does "
        "not show it" + (": treat the interval as unreliable" if share * n_rows > np.sqrt(n_rows)
                         else "") + ". " + REMEDY + (
            f" Targets of the components held constant in x ({diagnostics['homogeneous']}) "
            "do not rest on these rows." if diagnostics.get("homogeneous") else
            " Holding the treatment effects constant in x (homogeneous=...) avoids them too."))
