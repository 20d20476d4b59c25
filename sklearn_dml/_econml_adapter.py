"""The body of the EconML-style adapters of :mod:`sklearn_dml.econml` (see there)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from ._effects_api import NEW_X_MESSAGE, POINTWISE_MESSAGE
from ._estimators import StructuralDMLRegressor

# functions of X on a fit with controls average over at most this many training rows of W
# (evenly spaced in the training order); more rows cost time in proportion
W_AVERAGE_ROWS = 1000
# network rows per batch when averaging over W
_CHUNK_ROWS = 200_000

_IGNORED = ("model_y", "featurizer", "model_final")


def _column_names(values, prefix, k):
    columns = getattr(values, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    return [f"{prefix}{j}" for j in range(k)]


def _matrix(values, name, n=None):
    """A float (rows, columns) array of X or W (a 1-D input is one column)."""
    if hasattr(values, "dtypes") and hasattr(values, "columns"):
        from ._sklearn_compat import _check_numeric_columns

        _check_numeric_columns(values)
    arr = np.asarray(values, dtype=float)
    arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, columns); got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows; Y and T have {n}.")
    return arr


def _repeat(value, m):
    """A constant (a float, or one per treatment) as m rows: shape (m,) or (m, p)."""
    value = np.asarray(value, dtype=float)
    return np.full(m, float(value)) if value.ndim == 0 else np.tile(value, (m, 1))


class _EconMLAdapter(BaseEstimator):
    """Shared body of :class:`LinearDML` and :class:`NonParamDML`. Not public."""

    # ------------------------------------------------------------------ fit
    def _make_estimator(self):
        est = StructuralDMLRegressor() if self.estimator is None else clone(self.estimator)
        for name in _IGNORED:
            value = getattr(self, name, None)
            if value is not None and not (isinstance(value, str) and value == "auto"):
                warnings.warn(
                    f"{name}={value!r} is not used: the θ-network is the outcome and final "
                    "model and learns its own features of X. Configure it through "
                    "estimator=StructuralDMLRegressor(hidden_dims=..., ...).",
                    UserWarning, stacklevel=3)
        params = {}
        if self.model_t is not None and not (isinstance(self.model_t, str)
                                             and self.model_t == "auto"):
            if is_classifier(self.model_t):
                warnings.warn(
                    f"model_t={self.model_t!r} is a classifier; Λ(x) needs regressions of "
                    "moments of T on X, so the estimator's default regressor is used.",
                    UserWarning, stacklevel=3)
            else:
                params["lambda_model"] = self.model_t
        if self.cv is not None:
            params["cv"] = self.cv
        if self.mc_iters is not None:
            params["n_rep"] = int(self.mc_iters)
        if self.random_state is not None:
            params["random_state"] = self.random_state
        return est.set_params(**params)

    def _encode_categories(self, T):
        """T as the estimator's numeric treatment; discrete categories become 0/1 columns."""
        if not self.discrete_treatment:
            self.categories_ = None
            return T
        labels = np.asarray(T).reshape(-1)
        cats = (np.unique(labels) if isinstance(self.categories, str)
                and self.categories == "auto" else np.asarray(self.categories[0]
                                                              if np.ndim(self.categories) == 2
                                                              else self.categories))
        unknown = np.setdiff1d(labels, cats)
        if unknown.size:
            raise ValueError(f"T has values {unknown[:5].tolist()} outside categories "
                             f"{cats.tolist()}.")
        if cats.size < 2:
            raise ValueError(f"discrete_treatment=True needs two or more categories; T has "
                             f"{cats.tolist()}.")
        self.categories_ = cats
        coded = self._one_hot(labels)
        name = getattr(T, "name", None) or "T"
        if coded.shape[1] == 1:
            columns = [str(name)]
        else:
            columns = [f"{name}={c}" for c in cats[1:]]
        try:
            import pandas as pd

            return pd.DataFrame(coded, columns=columns)
        except ImportError:  # pragma: no cover - names are cosmetic
            return coded

    def _one_hot(self, labels):
        labels = np.asarray(labels)
        missing = np.setdiff1d(labels.reshape(-1), self.categories_)
        if missing.size:
            raise ValueError(f"Treatment values {missing[:5].tolist()} are not among the "
                             f"categories {self.categories_.tolist()} (T0 and T1 are category "
                             "labels with discrete_treatment=True).")
        return (labels.reshape(-1, 1) == self.categories_[1:]).astype(float)

    def _t(self, value):
        """A T0 / T1 / T as the estimator takes it: category labels one-hot coded."""
        if self.categories_ is None:
            return value
        coded = self._one_hot(np.atleast_1d(value))
        return coded[0] if np.ndim(value) == 0 else coded

    def fit(self, Y, T, *, X=None, W=None, sample_weight=None, groups=None,
            cache_values=False, inference="auto"):
        """Fit the θ-network on (X, W) by cross-fitting and debias its averages.

        Parameters
        ----------
        Y : array-like of shape (n_samples,)
            Outcome (a pandas Series' name labels the tables).
        T : array-like of shape (n_samples,) or (n_samples, n_treatments)
            Treatment(s); category labels with ``discrete_treatment=True``.
        X : array-like of shape (n_samples, n_features), default=None
            Where the effect varies. None: a constant effect (see the module notes).
        W : array-like of shape (n_samples, n_controls), default=None
            Controls: confounders in the network's input whose effect heterogeneity is
            averaged out of what is reported.
        sample_weight : array-like of shape (n_samples,), default=None
        groups : array-like of shape (n_samples,), default=None
            Clusters: folds keep them whole and standard errors are cluster-robust.
        cache_values : bool, default=False
            Accepted for EconML compatibility; the fit always keeps what debiasing any
            average later needs.
        inference : str, default="auto"
            Accepted for EconML compatibility; intervals are always the
            influence-function ones ("auto", "statsmodels" or None pass quietly).

        Returns
        -------
        self : object
        """
        if inference not in (None, "auto", "statsmodels"):
            warnings.warn(f"inference={inference!r} is not used: intervals come from the "
                          "influence function of the debiased averages.", UserWarning,
                          stacklevel=2)
        n = np.shape(Y)[0]
        est = self._make_estimator()
        self.constant_effect_ = X is None
        parts, self.feature_names_, self.control_names_ = [], [], []
        self._x_train = None
        if X is not None:
            self._x_train = _matrix(X, "X", n)
            self.feature_names_ = _column_names(X, "X", self._x_train.shape[1])
            parts.append(self._x_train)
        self._w_rows = None
        if W is not None:
            w = _matrix(W, "W", n)
            self.control_names_ = _column_names(W, "W", w.shape[1])
            parts.append(w)
            keep = np.unique(np.linspace(0, n - 1, min(n, W_AVERAGE_ROWS)).round().astype(int))
            self._w_rows = w[keep]
        # without X and W the network sees a constant: θ cannot vary (the classical model)
        Z = np.hstack(parts) if parts else np.ones((n, 1))
        self.estimator_ = est.fit(Z, self._encode_categories(T), Y,
                                  sample_weight=sample_weight, groups=groups)
        return self

    # ------------------------------------------------------------ helpers
    def _fitted(self):
        check_is_fitted(self, "estimator_")
        return self.estimator_

    def _x(self, X):
        """X as a float array of the training width; the training X when None."""
        if X is None:
            return self._x_train
        x = _matrix(X, "X")
        if x.shape[1] != self._x_train.shape[1]:
            raise ValueError(f"X has {x.shape[1]} columns; the fit had "
                             f"{self._x_train.shape[1]}.")
        return x

    def _is_training_x(self, X):
        return X is None or self.constant_effect_ or (
            np.shape(X)[0] == self._x_train.shape[0]
            and np.array_equal(_matrix(X, "X"), self._x_train))

    def _over_w(self, X, func):
        """func(Z, rows) at each row of X, averaged over the kept training rows of W.

        ``Z`` holds network inputs (X next to W) and ``rows`` the row of X each comes from.
        """
        x = self._x(X)
        if self._w_rows is None:
            return func(x, np.arange(x.shape[0]))
        k = self._w_rows.shape[0]
        step = max(1, _CHUNK_ROWS // k)
        out = []
        for start in range(0, x.shape[0], step):
            rows = np.arange(start, min(start + step, x.shape[0]))
            Z = np.hstack([np.repeat(x[rows], k, axis=0), np.tile(self._w_rows, (rows.size, 1))])
            values = np.asarray(func(Z, np.repeat(rows, k)))
            out.append(values.reshape(rows.size, k, *values.shape[1:]).mean(axis=1))
        return np.concatenate(out, axis=0)

    def _per_row(self, value, m):
        """Index ``value`` by row when it holds one treatment row per row of X."""
        arr = np.asarray(self._t(value), dtype=float)
        p = len(self._fitted().treatment_names_)
        by_row = (arr.ndim == 2 and arr.shape[0] == m) or (arr.ndim == 1 and p == 1
                                                           and arr.shape[0] == m and m > 1)
        return (lambda rows: arr[rows]) if by_row else (lambda rows: arr)

    def _new_x(self, X):
        if not self._is_training_x(X):
            raise ValueError(NEW_X_MESSAGE)

    def _n_rows(self, X):
        return 1 if X is None else np.shape(X)[0]

    # -------------------------------------------------------- per-row effects
    def effect(self, X=None, *, T0=0, T1=1):
        """Effect of moving T from T0 to T1 at each row of X (plug-in; W averaged out).

        With a constant-effect fit (X=None), the debiased average effect, shape (1,)
        (or one per row of a given X).

        Returns
        -------
        ndarray of shape (m,)
        """
        est = self._fitted()
        if self.constant_effect_:
            return np.full(self._n_rows(X), est.ate(T0=self._t(T0), T1=self._t(T1)))
        m = self._x(X).shape[0]
        t0, t1 = self._per_row(T0, m), self._per_row(T1, m)
        return self._over_w(X, lambda Z, rows: est.effect(Z, T0=t0(rows), T1=t1(rows)))

    def marginal_effect(self, T, X=None):
        """∂E[Y | x, t]/∂t at treatments T, at each row of X (plug-in; W averaged out).

        With a constant-effect fit: the debiased average marginal effect (for a model
        linear in t the same at every T, so one per row of T).

        Returns
        -------
        ndarray of shape (m,) or (m, n_treatments)
        """
        est = self._fitted()
        if self.constant_effect_:
            p = len(est.treatment_names_)  # one T row per row, not one value per treatment
            per_row = np.ndim(T) == 2 or (np.ndim(T) == 1 and p == 1 and np.shape(T)[0] > 1)
            if per_row and not getattr(est.family_, "linear_in_t", False):
                raise NotImplementedError(
                    "With X=None the effect is one average; a marginal effect at each row's "
                    "own T is not one number here. Use marginal_ate(T).")
            value = (est.const_marginal_ate() if per_row else est.marginal_ate(self._t(T)))
            return _repeat(value, np.shape(T)[0] if per_row else self._n_rows(X))
        m = self._x(X).shape[0]
        t = self._per_row(T, m)
        return self._over_w(X, lambda Z, rows: est.marginal_effect(t(rows), Z))

    def const_marginal_effect(self, X=None):
        """θ's treatment coefficient β(x) at each row of X (models linear in t only).

        Returns
        -------
        ndarray of shape (m,) or (m, n_treatments)
        """
        est = self._fitted()
        if self.constant_effect_:
            return _repeat(est.const_marginal_ate(), self._n_rows(X))
        return self._over_w(X, lambda Z, rows: est.const_marginal_effect(Z))

    def _constant_only(self, method):
        if not self.constant_effect_:
            raise NotImplementedError(POINTWISE_MESSAGE)
        return method

    def const_marginal_effect_inference(self, X=None):
        """Inference on the constant effect of an X=None fit (the debiased E[β]).

        With X in the fit, pointwise inference is not provided (raises).
        """
        return self._constant_only(self._fitted().const_marginal_ate_inference)()

    def const_marginal_effect_interval(self, X=None, *, alpha=0.05):
        """``(lower, upper)`` of the constant effect of an X=None fit, one per row."""
        lo, hi = self.const_marginal_effect_inference().conf_int_mean(alpha=alpha)
        return _repeat(lo, self._n_rows(X)), _repeat(hi, self._n_rows(X))

    def effect_inference(self, X=None, *, T0=0, T1=1):
        """Inference on the effect of an X=None fit (the debiased average effect)."""
        self._constant_only(None)
        return self.ate_inference(T0=T0, T1=T1)

    def effect_interval(self, X=None, *, T0=0, T1=1, alpha=0.05):
        """``(lower, upper)`` of the effect of an X=None fit, one per row."""
        self._constant_only(None)
        lo, hi = self.ate_interval(T0=T0, T1=T1, alpha=alpha)
        return _repeat(lo, self._n_rows(X)), _repeat(hi, self._n_rows(X))

    # ------------------------------------------------------------- averages
    def ate_inference(self, X=None, *, T0=0, T1=1, where=None, population="all"):
        """Debiased average effect over the training rows, with inference.

        ``where`` (a boolean mask over the training rows, not in EconML) restricts the
        average to a subgroup; ``population="treated"`` (not in EconML) gives the average
        effect on the treated of a binary treatment.

        Returns
        -------
        InferenceResults
            ``mean_point``, ``stderr_mean``, ``conf_int_mean()``, ``zstat()``,
            ``pvalue()``, ``summary_frame()`` as EconML's.
        """
        self._new_x(X)
        return self._fitted().ate_inference(T0=self._t(T0), T1=self._t(T1), where=where,
                                            population=population)

    def ate(self, X=None, *, T0=0, T1=1, where=None, population="all"):
        """Debiased average effect over the training rows (the same with X = X_train)."""
        return self.ate_inference(X, T0=T0, T1=T1, where=where,
                                  population=population).mean_point

    def ate_interval(self, X=None, *, T0=0, T1=1, alpha=0.05, where=None, population="all"):
        """``(lower, upper)`` of :meth:`ate`."""
        return self.ate_inference(X, T0=T0, T1=T1, where=where,
                                  population=population).conf_int_mean(alpha=alpha)

    def plugin_ate(self, X=None, *, T0=0, T1=1):
        """Plug-in mean of :meth:`effect` at rows X: not debiased, no interval.

        EconML's ``ate(X)`` is this number. With X=None, the mean of the cross-fitted
        effects over the training rows (what ``ate`` corrects).
        """
        est = self._fitted()
        if X is None or self.constant_effect_:
            return est.plugin_ate(T0=self._t(T0), T1=self._t(T1))
        return float(np.mean(self.effect(X, T0=T0, T1=T1)))

    def marginal_ate_inference(self, T, X=None):
        """Debiased average marginal effect at treatments T, with inference."""
        self._new_x(X)
        return self._fitted().marginal_ate_inference(self._t(T))

    def marginal_ate(self, T, X=None):
        """Debiased average marginal effect at treatments T."""
        return self.marginal_ate_inference(T, X).mean_point

    def marginal_ate_interval(self, T, X=None, *, alpha=0.05):
        """``(lower, upper)`` of :meth:`marginal_ate`."""
        return self.marginal_ate_inference(T, X).conf_int_mean(alpha=alpha)

    def const_marginal_ate_inference(self, X=None):
        """Debiased E[β], the average of :meth:`const_marginal_effect`, with inference."""
        self._new_x(X)
        return self._fitted().const_marginal_ate_inference()

    def const_marginal_ate(self, X=None):
        """Debiased E[β] over the training rows."""
        return self.const_marginal_ate_inference(X).mean_point

    def const_marginal_ate_interval(self, X=None, *, alpha=0.05):
        """``(lower, upper)`` of :meth:`const_marginal_ate`."""
        return self.const_marginal_ate_inference(X).conf_int_mean(alpha=alpha)

    # ----------------------------------------------------------- reporting
    def summary(self, alpha=0.05, value=0, decimals=3, feature_names=None,
                treatment_names=None, output_names=None):
        """The debiased estimates of the wrapped estimator as a :class:`~sklearn_dml.Summary`.

        Parameters
        ----------
        alpha : float, default=0.05
        value : float, default=0
            Null value of the z statistics.
        decimals : int, default=3
        feature_names : list of str, default=None
            Names of X's columns, shown in the title (θ is a network, so there are no
            per-feature coefficients to label).
        treatment_names, output_names : list of str, default=None
            Relabel the treatments (in the rows) and the outcome (in the title).

        Returns
        -------
        Summary
        """
        est = self._fitted()
        if feature_names is not None and len(feature_names) != len(self.feature_names_):
            raise ValueError(f"feature_names has {len(feature_names)} names; X has "
                             f"{len(self.feature_names_)} columns.")
        features = list(feature_names) if feature_names is not None else self.feature_names_
        treatments = (list(treatment_names) if treatment_names is not None
                      else list(est.treatment_names_))
        if len(treatments) != len(est.treatment_names_):
            raise ValueError(f"treatment_names has {len(treatments)} names; the fit has "
                             f"{len(est.treatment_names_)} treatments.")
        outcome = output_names[0] if output_names is not None else est.outcome_name_
        varies = (f"effects vary with X = [{', '.join(map(str, features))}]" if features
                  else "constant effect (X=None)")
        controls = (f"; W ({len(self.control_names_)} columns) adjusts for confounding, its "
                    "heterogeneity averaged out" if self.control_names_ else "")
        title = (f"{type(self).__name__} via {type(est).__name__}: debiased averages (outcome "
                 f"{outcome}; treatment {', '.join(map(str, treatments))}); {varies}{controls}")
        summary = est.inference_.summary(alpha=alpha, value=value, decimals=decimals,
                                         title=title)
        theta_names = est.family_.theta_names(treatments)
        summary.names = [t.name(theta_names, treatments) for t in est.targets_]
        return summary

    def score(self, Y, T, X=None, W=None, sample_weight=None):
        """Mean structural loss on (Y, T, X, W): lower is better, as EconML's ``score``.

        For the linear model it is the mean squared residual Y − α(x, w) − β(x, w)·T.
        """
        est = self._fitted()
        n = np.shape(Y)[0]
        parts = [] if X is None else [_matrix(X, "X", n)]
        parts += [] if W is None else [_matrix(W, "W", n)]
        Z = np.hstack(parts) if parts else np.ones((n, 1))
        if Z.shape[1] != est.n_features_in_:
            raise ValueError("Pass the X and W the model was fitted with (the same columns).")
        return est.structural_loss(Z, self._encode_score_t(T), Y, sample_weight=sample_weight)

    def _encode_score_t(self, T):
        if self.categories_ is None:
            return T
        return self._one_hot(np.asarray(T).reshape(-1))
