"""Targets for combinatorial experiments: the effect of any treatment combination."""

from __future__ import annotations

import numpy as np

from .._autodiff import target_jacobian
from ._base import Target


def _cell(value, name):
    cell = np.asarray(value, dtype=float).ravel()
    if cell.size == 0 or not np.all(np.isin(cell, (0.0, 1.0))):
        raise ValueError(f"{name} must be a 0/1 vector with one entry per treatment, e.g. "
                         f"[1, 0, 1]; got {value!r}.")
    return cell


def _label(cell):
    return "".join(str(int(v)) for v in cell)


def _mean_jacobian(family, theta, t):
    if hasattr(family, "mean_jacobian"):
        return family.mean_jacobian(t, theta)
    return target_jacobian(lambda th, tt: family.mean(tt, th), theta, t)


class MultiTreatmentATE(Target):
    """μ = E[G(θ(X), t) − G(θ(X), t₀)]: the effect of combination t against a baseline t₀.

    Works for cells never run in the experiment: under a structured link
    (:class:`~sklearn_dml.CombinatorialDML`) the observed cells identify θ(x),
    and so G at every cell.

    Parameters
    ----------
    treatment : array-like of 0/1, shape (n_treatments,)
        The combination t, e.g. ``[1, 0, 1]``.
    baseline : array-like of 0/1, shape (n_treatments,), default=None
        The comparison cell t₀; None is the control cell (all zeros). A non-zero
        baseline compares two combinations.

    Examples
    --------
    >>> from sklearn_dml.targets import MultiTreatmentATE
    >>> MultiTreatmentATE([1, 0, 1]).name(None, ["A", "B", "C"])
    'ATE[101]'
    >>> MultiTreatmentATE([1, 1, 0], baseline=[1, 0, 0]).name(None, ["A", "B", "C"])
    'ATE[110 vs 100]'
    """

    def __init__(self, treatment, baseline=None):
        self.treatment = treatment
        self.baseline = baseline

    def _cells(self, p):
        t1 = _cell(self.treatment, "treatment")
        t0 = np.zeros_like(t1) if self.baseline is None else _cell(self.baseline, "baseline")
        if t1.size != p or t0.size != p:
            raise ValueError(f"treatment and baseline need {p} entries (one per treatment); got "
                             f"{t1.size} and {t0.size}.")
        return t1, t0

    def name(self, theta_names, treatment_names):
        t1, t0 = self._cells(len(treatment_names))
        vs = "" if self.baseline is None else f" vs {_label(t0)}"
        return f"ATE[{_label(t1)}{vs}]"

    def value(self, family, theta, t):
        t1, t0 = self._cells(t.shape[1])
        n = theta.shape[0]
        return family.mean_numpy(np.tile(t1, (n, 1)), theta) - family.mean_numpy(
            np.tile(t0, (n, 1)), theta)

    def jacobian(self, family, theta, t):
        t1, t0 = self._cells(t.shape[1])
        n = theta.shape[0]
        return (_mean_jacobian(family, theta, np.tile(t1, (n, 1)))
                - _mean_jacobian(family, theta, np.tile(t0, (n, 1))))

    def torch_value(self, family, theta, t):
        import torch

        t1, t0 = (torch.as_tensor(c, dtype=theta.dtype).expand(theta.shape[0], -1)
                  for c in self._cells(t.shape[1]))
        return family.mean(t1, theta) - family.mean(t0, theta)


class BestCombinationATE(Target):
    """The effect of the best combination: μ(t̂*) with t̂* = argmax_t of the plug-in cell effects.

    The cell is selected on the same sample (by the plug-in averages of
    G(θ̂, t) − G(θ̂, t₀) over the rows), and the interval is *conditional on the
    selected cell*: it ignores the selection, so it is optimistic when several
    cells are close. :meth:`~sklearn_dml.CombinatorialDML.best_combination`
    gives a selection-robust interval for max_t μ(t) and a confidence set of
    cells that may be best.

    Parameters
    ----------
    baseline : array-like of 0/1, default=None
        The comparison cell; None is control.
    cells : array-like of shape (n_cells, n_treatments), default=None
        Candidate cells; None is all 2^m cells other than the baseline.

    Examples
    --------
    >>> from sklearn_dml.targets import BestCombinationATE
    >>> BestCombinationATE().name(None, ["A", "B"])
    'ATE[best]'
    """

    def __init__(self, baseline=None, cells=None):
        self.baseline = baseline
        self.cells = cells

    def name(self, theta_names, treatment_names):
        return "ATE[best]"

    def _candidates(self, p):
        from ..families._combinatorial import all_cells

        base = np.zeros(p) if self.baseline is None else _cell(self.baseline, "baseline")
        cells = all_cells(p) if self.cells is None else np.asarray(self.cells, float).reshape(
            -1, p)
        return [c for c in cells if not np.array_equal(c, base)], base

    def select(self, family, theta, t):
        """The chosen cell: the largest plug-in average effect."""
        cells, base = self._candidates(t.shape[1])
        means = [MultiTreatmentATE(c, base).value(family, theta, t).mean() for c in cells]
        return cells[int(np.argmax(means))], base

    def value(self, family, theta, t):
        cell, base = self.select(family, theta, t)
        return MultiTreatmentATE(cell, base).value(family, theta, t)

    def jacobian(self, family, theta, t):
        cell, base = self.select(family, theta, t)
        return MultiTreatmentATE(cell, base).jacobian(family, theta, t)
