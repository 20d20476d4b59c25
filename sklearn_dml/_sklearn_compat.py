"""The few scikit-learn internals we rely on, isolated in one place.

``validate_data`` became public in scikit-learn 1.6 and parameter validation
(``_param_validation``) is private. Keeping every such import here means a
scikit-learn upgrade can break at most this file.
"""

from __future__ import annotations

import sklearn
from sklearn.utils.validation import check_array

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.4 / 1.5
    _validate_data = None

try:
    from sklearn.utils._param_validation import (  # noqa: F401
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
    kwargs = dict(dtype="numeric", ensure_min_samples=1, reset=reset)
    if _validate_data is not None:
        return _validate_data(estimator, X, **kwargs).astype(float, copy=False)
    return estimator._validate_data(X, **kwargs).astype(float, copy=False)  # pragma: no cover


def check_params(estimator):
    """Validate ``estimator.get_params()`` against ``_parameter_constraints``."""
    if HAS_PARAM_VALIDATION:
        validate_parameter_constraints(
            estimator._parameter_constraints,
            estimator.get_params(deep=False),
            caller_name=type(estimator).__name__,
        )


__all__ = ["check_array", "validate_X", "check_params", "Interval", "StrOptions"]
