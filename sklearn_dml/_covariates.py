"""How the networks see X: each column standardized, or replaced by its normal scores first.

A skewed or heavy-tailed covariate (income, wealth, firm size) standardized by its SD puts
most rows in a sliver of the network's input and a few rows tens of SDs away, where θ̂(x)
extrapolates; its normal scores Φ⁻¹(F̂(x)) spread the rows as a normal column's are. The map
is monotone, so θ(x) is the same function of the data either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

X_SCALINGS = ("auto", "standard", "quantile")
# a column's normal-score table keeps at most this many distinct values
MAX_KNOTS = 1000
# "auto": normal scores for a column of at least MIN_VALUES distinct values whose tail reaches
# TAIL_RATIO times as far beyond the median (1st or 99th percentile) as the quartile on its
# side: 3.45 for a normal column, 7.5 for a log-normal one with log-SD 0.8, 36 with log-SD 2
TAIL_RATIO = 10.0
MIN_VALUES = 20


def tail_ratio(column):
    """The larger of (q99 − q50)/(q75 − q50) and (q50 − q01)/(q50 − q25), each quartile
    side counted as at least a quarter of the IQR; infinite where the IQR is zero but the
    1st and 99th percentiles differ (a mass point with a tail)."""
    q01, q25, q50, q75, q99 = np.quantile(column, [0.01, 0.25, 0.5, 0.75, 0.99])
    quarter = (q75 - q25) / 4
    if quarter <= 0:
        return np.inf if q99 > q01 else 0.0
    return max((q99 - q50) / max(q75 - q50, quarter), (q50 - q01) / max(q50 - q25, quarter))


def heavy_tailed(column):
    """Whether a column of at least ``MIN_VALUES`` distinct values has a tail ``TAIL_RATIO``
    times as long as its quartile on that side (:func:`tail_ratio`)."""
    return tail_ratio(column) > TAIL_RATIO and np.unique(column).size >= MIN_VALUES


def _normal_score_table(column):
    """Distinct values and their mid-rank normal scores Φ⁻¹((rank − ½)/n) for
    interpolation; beyond ``MAX_KNOTS`` values, thinned evenly over the ranks, keeping the
    smallest, the largest and every value held by more than 1/``MAX_KNOTS`` of the rows."""
    values, counts = np.unique(column, return_counts=True)
    cdf = (np.cumsum(counts) - 0.5 * counts) / column.size
    if values.size > MAX_KNOTS:
        by_rank = np.searchsorted(cdf, np.linspace(cdf[0], cdf[-1], MAX_KNOTS))
        keep = np.unique(np.concatenate([[0, values.size - 1], by_rank,
                                         np.flatnonzero(counts * MAX_KNOTS > column.size)]))
        values, cdf = values[keep], cdf[keep]
    return values, ndtri(cdf)


def _with_normal_scores(X, columns, tables):
    """A copy of X with each listed column replaced by its normal scores from its table."""
    Z = X.copy()
    for j, (values, scores) in zip(columns, tables):
        Z[:, j] = np.interp(X[:, j], values, scores)
    return Z


@dataclass(frozen=True)
class CovariateScaling:
    """The fitted map from X in the user's units to the networks' input.

    :meth:`transform` gives the networks' input: the columns listed in
    ``quantile_columns`` replaced by their normal scores (interpolated between the fit's
    distinct values, constant beyond its range), then every column centred by ``mean`` and
    divided by ``scale``. :meth:`standardize` gives every column centred and scaled in the
    user's units (by ``raw_mean`` and ``raw_scale``), the covariates of the Λ regressions,
    whose linear parts follow trends in those units.
    """

    raw_mean: np.ndarray
    raw_scale: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    quantile_columns: tuple = ()
    tables: tuple = ()

    def standardize(self, X):
        return (np.asarray(X, dtype=float) - self.raw_mean) / self.raw_scale

    def transform(self, X):
        if not self.quantile_columns:
            return self.standardize(X)
        X = _with_normal_scores(np.asarray(X, dtype=float), self.quantile_columns, self.tables)
        return (X - self.mean) / self.scale

    def quantile_names(self, feature_names=None):
        """Names of the columns on normal scores ("x0", "x1", ... without feature names)."""
        return [f"x{j}" if feature_names is None else str(feature_names[j])
                for j in self.quantile_columns]

    def column_scalings(self, n_columns):
        """Per column, "quantile" (normal scores) or "standard"."""
        return ["quantile" if j in self.quantile_columns else "standard"
                for j in range(n_columns)]


def fit_covariate_scaling(X, scaling="auto"):
    """The :class:`CovariateScaling` of ``X`` under ``x_scaling=scaling``."""
    if scaling not in X_SCALINGS:
        raise ValueError(f"x_scaling must be one of {X_SCALINGS}; got {scaling!r}.")
    X = np.asarray(X, dtype=float)
    if scaling == "standard":
        columns = ()
    elif scaling == "quantile":
        columns = tuple(j for j in range(X.shape[1]) if np.unique(X[:, j]).size > 2)
    else:
        columns = tuple(j for j in range(X.shape[1]) if heavy_tailed(X[:, j]))
    tables = tuple(_normal_score_table(X[:, j]) for j in columns)
    moments = []
    for Z in (X, _with_normal_scores(X, columns, tables)):
        scale = Z.std(axis=0)
        moments += [Z.mean(axis=0), np.where(scale > 0, scale, 1.0)]
    return CovariateScaling(*moments, columns, tables)
