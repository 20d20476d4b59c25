"""The few scikit-learn internals we rely on, isolated in one place.

``validate_data`` became public in scikit-learn 1.6 and parameter validation
(``_param_validation``) is private. Keeping every such import here means a
scikit-learn upgrade can break at most this file.
"""

from __future__ import annotations

import datetime

import numpy as np
import sklearn
from sklearn.utils.validation import check_array

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.4 / 1.5
    _validate_data = None

try:
    from sklearn.utils._param_validation import (  # noqa: F401
        HasMethods,
        Interval,
        StrOptions,
        validate_parameter_constraints,
    )

    HAS_PARAM_VALIDATION = True
except ImportError:  # pragma: no cover
    HAS_PARAM_VALIDATION = False

SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit())


def validate_X(estimator, X, *, reset):
    """Validate the covariate matrix ``X`` and record or check feature names.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose ``n_features_in_`` / ``feature_names_in_`` are set
        (``reset=True``) or checked (``reset=False``).
    X : array-like of shape (n_samples, n_features)
        Covariates.
    reset : bool
        Whether this is the call from ``fit``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
    """
    if X is None:
        raise ValueError(_X_NONE_FIT if reset else
                         "X is None; pass the covariates, shaped like those given to fit.")
    _check_numeric_columns(X)
    kwargs = dict(dtype="numeric", ensure_min_samples=1, reset=reset)
    if _validate_data is not None:
        return _validate_data(estimator, X, **kwargs).astype(float, copy=False)
    return estimator._validate_data(X, **kwargs).astype(float, copy=False)  # pragma: no cover


_X_NONE_FIT = (
    "X is None; θ(x) is a function of the covariates, so fit needs an X of shape "
    "(n_samples, n_features). Without covariates θ is one constant and the fit is the "
    "parametric MLE with its sandwich standard error: pass X=np.ones((n_samples, 1)). "
    "(sklearn_dml.econml.LinearDML and NonParamDML take EconML's X=None.)")

_TEXT_OR_DATE = (str, bytes, datetime.date, np.datetime64)


def _non_numeric_columns(X):
    """``[(column name, dtype)]`` of the columns of ``X`` that are not numbers or booleans."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(X, "columns"):  # a DataFrame: its dtypes say
        return [(str(c), str(t)) for c, t in zip(X.columns, dtypes)
                if getattr(t, "kind", "O") not in "biuf"]
    arr = np.asarray(X) if not hasattr(X, "toarray") else None
    if arr is None or arr.dtype.kind in "biufc" or arr.ndim != 2:
        return []  # numbers; complex numbers get check_array's own message
    if arr.dtype.kind != "O":  # strings, dates: every column
        return [(f"column {j}", str(arr.dtype)) for j in range(arr.shape[1])]
    bad = []
    for j in range(arr.shape[1]):  # objects: the columns holding strings or dates
        kinds = sorted({type(v).__name__ for v in arr[:, j] if isinstance(v, _TEXT_OR_DATE)})
        if kinds:
            bad.append((f"column {j}", ", ".join(kinds)))
    return bad


def _check_numeric_columns(X):
    bad = _non_numeric_columns(X)
    if bad:
        listed = ", ".join(f"{name!s} ({kind})" for name, kind in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise ValueError(
            f"X has non-numeric columns: {listed}{more}. The θ-network takes numbers: one-hot "
            "encode categorical columns (pandas.get_dummies, or a OneHotEncoder in a "
            "ColumnTransformer in a Pipeline before the estimator) and turn dates into numbers "
            "(a year, a month, days since a start date), or drop them.")


def check_params(estimator):
    """Validate ``estimator.get_params()`` against ``_parameter_constraints``."""
    if HAS_PARAM_VALIDATION:
        validate_parameter_constraints(
            estimator._parameter_constraints,
            estimator.get_params(deep=False),
            caller_name=type(estimator).__name__,
        )


__all__ = ["check_array", "validate_X", "check_params", "Interval", "StrOptions"]
