"""The regressors of the Λ stage: the defaults, and the covariates they are fitted on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression, PoissonRegressor
from sklearn.model_selection import KFold, cross_val_predict

from .._units import two_valued_columns


def default_lambda_model():
    """Default nuisance regressor: small-tree gradient boosting with early stopping.

    Early stopping fits smooth propensity-type functions more accurately than a fixed
    number of rounds, in less time.
    """
    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, max_leaf_nodes=8,
                                         min_samples_leaf=30, early_stopping=True,
                                         validation_fraction=0.15, n_iter_no_change=10,
                                         random_state=0)


class LinearTrendBoosting(RegressorMixin, BaseEstimator):
    """Least squares on X, then :func:`default_lambda_model` on its residuals.

    Boosted trees are flat beyond the data's bulk, so a mean that is linear in x comes
    out shrunk toward the centre at extreme covariates; the linear part carries the
    trend there and the trees what is left. Trees stopped early also shrink effects
    spread over many columns, such as a region's one-hot dummies; least squares does not.

    Parameters
    ----------
    random_state : int, default=0
        The boosting's random state (its early-stopping split).
    linear_columns : {"all", "binary"}, default="all"
        The columns of the linear part. "binary" takes only the two-valued ones, whose
        linear part cannot extrapolate (a positive moment, such as a curvature, stays
        within what the rows showed); without any, the trees alone.
    """

    def __init__(self, random_state=0, linear_columns="all"):
        self.random_state = random_state
        self.linear_columns = linear_columns

    def fit(self, X, y, sample_weight=None):
        self.columns_ = (np.arange(X.shape[1]) if self.linear_columns == "all"
                         else np.asarray(two_valued_columns(X), dtype=int))
        self.linear_ = None
        residual = y
        if self.columns_.size:
            self.linear_ = LinearRegression().fit(X[:, self.columns_], y,
                                                  sample_weight=sample_weight)
            residual = y - self.linear_.predict(X[:, self.columns_])
        self.boosting_ = default_lambda_model().set_params(random_state=self.random_state)
        # with weights the boosting's own binning takes weighted quantiles, slowly: bin here
        self.edges_ = None if sample_weight is None else bin_edges(X, self.boosting_.max_bins)
        self.boosting_.fit(self._boosting_features(X), residual, sample_weight=sample_weight)
        return self

    def predict(self, X):
        trees = self.boosting_.predict(self._boosting_features(X))
        if self.linear_ is None:
            return trees
        return self.linear_.predict(X[:, self.columns_]) + trees

    def _boosting_features(self, X):
        return X if self.edges_ is None else bin_codes(X, self.edges_)


class LogTrendBoosting(RegressorMixin, BaseEstimator):
    """A log-linear trend in X (a Poisson regression), then :func:`default_lambda_model` on
    the ratio of y to it: E[y | x] for a y that is mostly nonnegative.

    A moment that spans orders of magnitude across x (the mean and variance of a
    treatment that is 0 on most rows where x is low, and large where x is high) comes out
    negative from a linear trend and flat from trees stopped early; a multiplicative
    trend follows it, and the trees correct its shape. The trend is fitted to y's
    positive part, the trees to the ratio of y itself (a weighted moment whose weight is
    negative on a few rows).

    Parameters
    ----------
    random_state : int, default=0
        The boosting's random state (its early-stopping split).
    """

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y, dtype=float)
        positive = np.maximum(y, 0.0)
        self.scale_ = max(float(np.average(positive, weights=sample_weight)), 1e-300)
        # standardized columns: on raw bin codes (0-255) the solver took hundreds of steps
        self.center_ = X.mean(axis=0)
        spread = X.std(axis=0)
        self.spread_ = np.where(spread > 0, spread, 1.0)
        self.trend_ = PoissonRegressor(alpha=1e-8, max_iter=1000).fit(
            self._standardized(X), positive / self.scale_, sample_weight=sample_weight)
        trend = self._trend(X)
        weight = trend if sample_weight is None else trend * sample_weight
        self.boosting_ = default_lambda_model().set_params(random_state=self.random_state)
        # weighted, the boosting's own binning takes weighted quantiles, slowly: bin here
        self.edges_ = bin_edges(X, self.boosting_.max_bins)
        self.boosting_.fit(bin_codes(X, self.edges_), y / trend, sample_weight=weight)
        return self

    def predict(self, X):
        # the ratio stays positive: the trend carries the scale, the trees its shape
        ratio = np.maximum(self.boosting_.predict(bin_codes(X, self.edges_)), RATIO_FLOOR)
        return self._trend(X) * ratio

    def _trend(self, X):
        return self.scale_ * self.trend_.predict(self._standardized(X))

    def _standardized(self, X):
        return (X - self.center_) / self.spread_


RATIO_FLOOR = 0.05
BINNING_SUBSAMPLE = 200_000  # rows whose quantiles set the bin edges, as in gradient boosting


def lambda_features(X, model, n_threads=1, seed=0):
    """The covariates that the Λ regressor ``model`` is fitted on: X, or its bin codes.

    HistGradientBoosting bins its features at every fit, the same work 7 times per fold
    in the logit's Λ stage. Given the codes of :func:`binned_features` it only finds
    each column's distinct codes and bins on them, so the quantiles are taken once for
    all the fits of an estimator, with the same trees where a column has at most
    ``max_bins`` distinct values. Other regressors (and boosting with categorical
    features) see X itself.

    Parameters
    ----------
    X : ndarray (n, d)
    model : sklearn regressor or None
        The regressor that will be fitted, None for the default gradient boosting.
    n_threads : int, default=1
        Threads for the codes' columns.
    seed : int, default=0
        Draws the rows whose quantiles set the bin edges when there are more than
        ``BINNING_SUBSAMPLE``.
    """
    model = default_lambda_model() if model is None else model
    if _bins_x(model, X):
        return binned_features(X, model.max_bins, n_threads, seed)
    return X


def binned_features(X, max_bins=255, n_threads=1, seed=0):
    """Each column of X as uint8 codes of its ``max_bins`` quantile bins.

    As gradient boosting bins: on at most ``BINNING_SUBSAMPLE`` rows (a random subset drawn
    with ``seed``), a column with at most ``max_bins`` distinct values gets the midpoints
    between them as edges, any other its quantiles; a value equal to an edge falls in
    the bin below it. Monotone in each column, so a tree fitted on the codes splits the
    rows as one fitted on X with those edges would.
    """
    return bin_codes(X, bin_edges(X, max_bins, n_threads, seed), n_threads)


def bin_edges(X, max_bins=255, n_threads=1, seed=0):
    """The bin edges of each column of X, as :func:`binned_features` takes them."""
    n, d = X.shape
    sample = X
    if n > BINNING_SUBSAMPLE:
        sample = X[np.random.RandomState(seed).choice(n, BINNING_SUBSAMPLE, replace=False)]
    quantiles = np.linspace(0.0, 1.0, max_bins + 1)[1:-1]

    def column_edges(j):
        column = np.sort(sample[:, j])
        distinct = column[np.concatenate([[True], column[1:] != column[:-1]])]
        if distinct.size <= max_bins:
            return 0.5 * (distinct[:-1] + distinct[1:])
        return np.quantile(column, quantiles)

    return _map_columns(column_edges, d, n_threads)


def bin_codes(X, edges, n_threads=1):
    """X as uint8 codes of the bins given by ``edges`` (:func:`bin_edges`)."""
    codes = np.empty(X.shape, dtype=np.uint8)

    def code_column(j):
        codes[:, j] = np.searchsorted(edges[j], X[:, j], side="left")

    _map_columns(code_column, X.shape[1], n_threads)
    return codes


def _map_columns(function, d, n_threads):
    """[function(j) for j in range(d)], in threads where asked (np.quantile and
    np.searchsorted release the GIL)."""
    if n_threads > 1 and d > 1:
        with ThreadPoolExecutor(min(n_threads, d)) as pool:
            return list(pool.map(function, range(d)))
    return [function(j) for j in range(d)]


def _constant(X):
    """Whether X carries no information (every column constant): E[y | X] is then the mean
    of y, which a regressor with early stopping would take over a subsample only."""
    return X.shape[0] == 0 or not np.any(np.ptp(X, axis=0))


def _fit_predict(model, X_fit, y, X_pred, sample_weight=None):
    """E[y | x] at ``X_pred``, fitted on the rows ``X_fit`` (weighted by ``sample_weight``)."""
    if _constant(X_fit):
        return np.full(X_pred.shape[0], np.average(y, weights=sample_weight))
    reg = clone(model if model is not None else default_lambda_model())
    if sample_weight is not None and _bins_x(reg, X_fit):
        edges = bin_edges(X_fit, reg.max_bins)
        X_fit, X_pred = bin_codes(X_fit, edges), bin_codes(X_pred, edges)
    return reg.fit(X_fit, y, **_weight_params(sample_weight)).predict(X_pred)


def _oof_predict(model, X, y, n_splits=2, sample_weight=None):
    """E[y | x] at each row of X from a fit on the other of ``n_splits`` folds."""
    if _constant(X):
        return np.full(X.shape[0], np.average(y, weights=sample_weight))
    reg = clone(model if model is not None else default_lambda_model())
    if sample_weight is not None and _bins_x(reg, X):
        X = binned_features(X, reg.max_bins)
    # the folds follow the regressor's seed (set from the fit's seed tree), 0 without one
    seed = getattr(reg, "random_state", None)
    seed = seed if isinstance(seed, (int, np.integer)) else 0
    return cross_val_predict(reg, X, y, cv=KFold(n_splits, shuffle=True, random_state=seed),
                             params=_weight_params(sample_weight))


def _bins_x(model, X):
    """Whether ``model`` is gradient boosting that would bin X's continuous columns itself.
    Given weights it takes weighted quantiles, slowly; the unweighted edges of
    :func:`bin_edges` serve as well (uint8 codes are left as they are)."""
    if not isinstance(model, HistGradientBoostingRegressor) or X.dtype == np.uint8:
        return False
    categorical = model.categorical_features  # None, a string, or a mask or indices
    return categorical is None or (isinstance(categorical, str) and categorical == "from_dtype")


def _weight_params(sample_weight):
    """The fit parameters that pass ``sample_weight`` on (none without weights, so that an
    unweighted fit calls the regressor exactly as before)."""
    return {} if sample_weight is None else {"sample_weight": sample_weight}


def default_matrix_model():
    """Default model for whole Hessian matrices: a multi-output random forest.

    Its prediction is a nonnegative-weighted average of training rows' targets,
    with the same weights for every entry, so an average of positive
    semi-definite Hessians stays positive semi-definite: no entry-wise noise
    can make Λ̂(x) indefinite.
    """
    return RandomForestRegressor(n_estimators=100, min_samples_leaf=20, max_features=0.6,
                                 random_state=0, n_jobs=1)


