"""Checks at the boundary: every bad input gets an error that says what to do."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

Y_MISSING = (
    "Y is missing. Pass it as fit(X, T, Y), pack T and Y into one array with "
    "sklearn_dml.pack_targets(T, Y) (works with every sklearn tool), or enable metadata "
    "routing (sklearn.set_config(enable_metadata_routing=True)) and pass Y=Y."
)


def pack_targets(T, Y):
    """Pack treatment(s) and outcome into one structured array.

    scikit-learn tools (``Pipeline``, ``GridSearchCV``, ``cross_val_score``) pass a
    single ``y`` through to ``fit`` and ``score``. A packed array rides in that
    slot, so they work without metadata routing.

    Parameters
    ----------
    T : array-like of shape (n_samples,) or (n_samples, n_treatments)
    Y : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,) with fields ``"T"`` and ``"Y"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import pack_targets
    >>> TY = pack_targets(np.array([0.0, 1.0]), np.array([1.5, 2.5]))
    >>> TY["Y"]
    array([1.5, 2.5])
    """
    T = np.asarray(T, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(-1)
    if T.shape[0] != Y.shape[0]:
        raise ValueError(f"T has {T.shape[0]} rows but Y has {Y.shape[0]}.")
    t_shape = T.shape[1:] if T.ndim == 2 and T.shape[1] > 1 else ()
    out = np.empty(T.shape[0], dtype=[("T", float, t_shape), ("Y", float)])
    out["T"] = T if t_shape else T.reshape(-1)
    out["Y"] = Y
    return out


def unpack_targets(T, Y):
    """Return (T, Y), unpacking a :func:`pack_targets` array when Y is None."""
    if Y is not None:
        return T, Y
    arr = np.asarray(T) if not hasattr(T, "dtype") or T.dtype.names is None else T
    if getattr(arr, "dtype", None) is not None and arr.dtype.names and {"T", "Y"} <= set(
            arr.dtype.names):
        return arr["T"], arr["Y"]
    raise TypeError(Y_MISSING)


def _names(obj, default):
    cols = getattr(obj, "columns", None)
    if cols is not None:
        return [str(c) for c in cols]
    name = getattr(obj, "name", None)
    if name is not None:
        return [str(name)]
    return default


def _numeric(value, name, ensure_2d):
    try:
        return check_array(value, ensure_2d=ensure_2d, dtype="numeric", input_name=name,
                           ensure_min_samples=1).astype(float, copy=False)
    except ValueError as exc:
        msg = str(exc)
        if "string" in msg or "convert" in msg or "dtype" in msg:
            raise ValueError(
                f"{name} has non-numeric values ({msg}) Encode categorical columns first, for "
                "example with a OneHotEncoder in a ColumnTransformer before the estimator."
            ) from exc
        raise


def check_treatment_outcome(T, Y, n_rows, family, fitting=True):
    """Validate T and Y against X's row count and the family's support.

    Returns
    -------
    T : ndarray (n, p), Y : ndarray (n,), treatment_names : list, outcome_name : str
    """
    if T is None:
        raise ValueError(
            "T is None: this estimator requires y to be passed, but the target y is None. Pass the "
            "treatment T (and the outcome Y) to fit.")
    T, Y = unpack_targets(T, Y)
    p_names = _names(T, None)
    y_name = _names(Y, ["Y"])[0]
    T = _numeric(T, "T", ensure_2d=False)
    if T.ndim == 1:
        T = T[:, None]
    if T.ndim != 2:
        raise ValueError(f"T must be 1-D or 2-D; got {T.ndim} dimensions.")
    Y = _numeric(Y, "Y", ensure_2d=False)
    if Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if Y.ndim != 1:
        raise ValueError(f"Y must be one outcome column; got shape {Y.shape}.")
    for name, arr in (("T", T), ("Y", Y)):
        if arr.shape[0] != n_rows:
            raise ValueError(
                f"X has {n_rows} rows but {name} has {arr.shape[0]}. Pass arrays of equal length.")
    names = p_names if p_names and len(p_names) == T.shape[1] else (
        ["T"] if T.shape[1] == 1 else [f"T{j}" for j in range(T.shape[1])])
    check_constant = fitting and getattr(family, "requires_varying_treatments", True)
    for j in range(T.shape[1] if check_constant else 0):
        if np.ptp(T[:, j]) == 0:
            raise ValueError(
                f"Treatment {names[j]!r} is constant ({T[0, j]:g}); its effect is not identified. "
                "Drop it or check the data.")
    T = np.require(family.check_t(T), dtype=float, requirements=["C", "W"])
    Y = np.require(family.check_y(Y), dtype=float, requirements=["C", "W"])
    return T, Y, names, y_name


def check_sample_weight(sample_weight, n):
    """Nonnegative, finite, not all zero; normalized to mean one."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries for {n} rows.")
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or inf.")
    if np.any(w < 0):
        raise ValueError("sample_weight has negative entries; weights must be >= 0.")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to zero; at least one row needs positive weight.")
    return w / w.mean()


def check_separation(T, Y, treatment_names):
    """Binary outcome: raise when a treatment separates Y perfectly (no finite MLE)."""
    for j, name in enumerate(treatment_names):
        t = T[:, j]
        lo1, hi0 = t[Y == 1].min(), t[Y == 0].max()
        lo0, hi1 = t[Y == 0].min(), t[Y == 1].max()
        if lo1 > hi0 or lo0 > hi1:
            raise ValueError(
                f"Treatment {name!r} perfectly separates Y (every Y=1 row lies on one side of "
                "every Y=0 row): the logit coefficient is infinite and no valid estimate exists.")
        levels = np.unique(t)
        if levels.size == 2:
            for level in levels:
                ys = Y[t == level]
                if np.ptp(ys) == 0:
                    raise ValueError(
                        f"All rows with {name} = {level:g} have Y = {ys[0]:g}: quasi-complete "
                        "separation, so the effect of the treatment is not identified. Collect "
                        "more data or use a model for the outcome that does not need it.")
