"""Checks at the boundary: every bad input gets an error that says what to do."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
from sklearn.utils.validation import check_array

from ._search_guard import check_search_scoring
from ._units import varying_binary_columns

# check_array's switch for its finiteness check (renamed in scikit-learn 1.6): T and Y are
# checked by _check_finite, whose message names the column and the count
_FINITE_OFF = ({"ensure_all_finite": False}
               if "ensure_all_finite" in inspect.signature(check_array).parameters
               else {"force_all_finite": False})

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
        The names of a pandas ``T`` (Series name or columns) and ``Y`` travel with it
        (in the dtype's metadata) and label the fitted estimator's tables.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import pack_targets
    >>> TY = pack_targets(np.array([0.0, 1.0]), np.array([1.5, 2.5]))
    >>> TY["Y"]
    array([1.5, 2.5])
    >>> import pandas as pd
    >>> pack_targets(pd.Series([0.0, 1.0], name="price"),
    ...              pd.Series([1.5, 2.5], name="sales")).dtype.metadata
    mappingproxy({'treatment_names': ['price'], 'outcome_name': 'sales'})
    """
    names = {"treatment_names": _names(T, None), "outcome_name": _names(Y, [None])[0]}
    T = np.asarray(T, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(-1)
    if T.shape[0] != Y.shape[0]:
        raise ValueError(f"T has {T.shape[0]} rows but Y has {Y.shape[0]}.")
    t_shape = T.shape[1:] if T.ndim == 2 and T.shape[1] > 1 else ()
    # the names ride in the dtype's metadata, which row indexing (CV splits) keeps
    fields = [("T", float, t_shape), ("Y", float)]
    metadata = {k: v for k, v in names.items() if v is not None}
    out = np.empty(T.shape[0], dtype=np.dtype(fields, metadata=metadata) if metadata
                   else np.dtype(fields))
    out["T"] = T if t_shape else T.reshape(-1)
    out["Y"] = Y
    return out


def packed_names(T):
    """``(treatment_names, outcome_name)`` carried by a :func:`pack_targets` array, or Nones."""
    metadata = getattr(getattr(T, "dtype", None), "metadata", None) or {}
    return metadata.get("treatment_names"), metadata.get("outcome_name")


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
    dtypes = getattr(value, "dtypes", getattr(value, "dtype", None))
    if any(getattr(d, "kind", "") in ("m", "M") for d in np.atleast_1d(dtypes)):
        raise ValueError(f"{name} holds dates or durations (read as nanosecond counts): turn "
                         "them into numbers first (a year, or days since a start date).")
    try:
        return check_array(value, ensure_2d=ensure_2d, dtype="numeric", input_name=name,
                           ensure_min_samples=1, **_FINITE_OFF).astype(float, copy=False)
    except ValueError as exc:
        msg = str(exc)
        if "string" in msg or "convert" in msg or "dtype" in msg:
            raise ValueError(
                f"{name} has non-numeric values ({msg}). Code a two-valued {name} as 0/1 (for "
                f"example ({name} == 'yes').astype(float)) and categories as dummy columns."
            ) from exc
        raise


def _check_finite(values, what, names):
    """Raise naming each column of ``values`` (n,) or (n, p) with NaN or inf, and counts."""
    finite = np.isfinite(values)
    if finite.all():
        return
    bad = ~finite.reshape(values.shape[0], -1)
    nan = np.isnan(values).reshape(bad.shape)
    columns = []
    for j in np.flatnonzero(bad.any(axis=0)):
        n_nan, n_inf = int(nan[:, j].sum()), int(bad[:, j].sum() - nan[:, j].sum())
        counts = " and ".join(f"{count} {kind}" for count, kind in ((n_nan, "NaN"), (n_inf, "inf"))
                              if count)
        columns.append(f"column {names[j]!r} has {counts}")
    rows = np.flatnonzero(bad.any(axis=1))
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
    raise ValueError(
        f"{what} contains NaN or infinity: {'; '.join(columns)} (row{'s' if rows.size > 1 else ''} "
        f"{shown}). The structural loss is undefined there: drop those rows (from X, T, Y "
        "and sample_weight alike) or impute the values before fitting.")


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
    if fitting:
        check_search_scoring(y_passed=Y is not None)
    packed_t, packed_y = packed_names(T) if Y is None else (None, None)
    T, Y = unpack_targets(T, Y)
    p_names = packed_t or _names(T, None)
    y_name = packed_y or _names(Y, ["Y"])[0]
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
    _check_finite(T, "T", names)
    _check_finite(Y, "Y", [y_name])
    check_constant = fitting and getattr(family, "requires_varying_treatments", True)
    for j in range(T.shape[1] if check_constant else 0):
        if np.ptp(T[:, j]) == 0:
            raise ValueError(
                f"Treatment {names[j]!r} is constant ({T[0, j]:g}); its effect is not identified. "
                "Drop it or check the data.")
    if check_constant and T.shape[1] > 1:
        _check_collinear(T, names)
    if fitting and np.ptp(Y) == 0:
        raise ValueError(f"Y takes the single value {Y[0]:g} in every row: there is nothing to "
                         "estimate. Check the outcome column.")
    T = np.require(family.check_t(T), dtype=float, requirements=["C", "W"])
    Y = np.require(family.check_y(Y), dtype=float, requirements=["C", "W"])
    return T, Y, names, y_name


def _check_collinear(T, names):
    """Raise where the treatment columns (with an intercept) are linearly dependent: their
    separate effects are then not identified, whatever the model."""
    centred = T - T.mean(axis=0)
    scaled = centred / np.linalg.norm(centred, axis=0)
    _, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    if singular[-1] > 1e-8 * singular[0]:
        return
    weights = vt[-1] / np.abs(vt[-1]).max()
    involved = [f"{names[j]!r}" for j in np.flatnonzero(np.abs(weights) > 1e-6)]
    raise ValueError(
        f"The treatments {', '.join(involved)} are collinear (with the intercept, one is a "
        "linear combination of the others in every row): their separate effects are not "
        "identified. Drop one, or combine them into a single treatment.")


# A user-given treatment law warns when the sample's mean or SD of a treatment lies more than
# this many of its standard errors under the law from the law's, or when data at least as
# rare as that tail (two-sided normal, 6.3e-5 per check) are seen: a law that did assign T
# almost never warns.
LAW_MOMENT_Z = 4.0
LAW_TAIL = math.erfc(LAW_MOMENT_Z / math.sqrt(2))


def parse_treatment_law(treatment_law, n_treatments):
    """Support points and probabilities of a user-given treatment law.

    Parameters
    ----------
    treatment_law : array-like or (values, probabilities)
        Values alone get equal probabilities.
    n_treatments : int
        Columns of T; each support point has that many entries.

    Returns
    -------
    values : ndarray (S, n_treatments), probs : ndarray (S,)
    """
    pair = isinstance(treatment_law, tuple) and len(treatment_law) == 2
    values = np.asarray(treatment_law[0] if pair else treatment_law, dtype=float)
    if values.size == 0 or values.size % n_treatments:
        raise ValueError(f"treatment_law values need {n_treatments} column(s), one per "
                         f"treatment; got an array of shape {values.shape}.")
    values = values.reshape(-1, n_treatments)
    probs = (np.asarray(treatment_law[1], dtype=float) if pair
             else np.full(values.shape[0], 1.0 / values.shape[0]))
    if probs.shape != (values.shape[0],) or np.any(probs < 0) or not np.isclose(probs.sum(), 1):
        raise ValueError(
            "treatment_law=(values, probabilities) needs one nonnegative probability per value, "
            "summing to 1."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("treatment_law has NaN or infinite values; give the design's values.")
    return values, probs


def _format_value(row):
    return f"{row[0]:g}" if row.size == 1 else "(" + ", ".join(f"{v:g}" for v in row) + ")"


def _match_support(support, T):
    """Match the distinct rows of T with the support's rows.

    A value matches a support value when they differ by at most 1e-9 times the column's
    largest magnitude, so that values written differently (0.3 and 0.1 + 0.2) match.

    Returns
    -------
    seen : ndarray (U, p)
        The distinct rows of T.
    counts : ndarray (U,)
        Rows of T equal to each.
    covered : ndarray of bool (U,)
        Whether each matches a support row.
    hit : ndarray of bool (S,)
        Whether each support row matches a row of T.
    """
    seen, counts = np.unique(T, axis=0, return_counts=True)
    snapped = np.empty_like(seen)
    covered = np.ones(seen.shape[0], dtype=bool)
    for j in range(T.shape[1]):  # each value to the nearest support value of its column
        column = np.unique(support[:, j])
        right = np.clip(np.searchsorted(column, seen[:, j]), 0, column.size - 1)
        left = np.clip(right - 1, 0, column.size - 1)
        nearest = np.where(np.abs(column[left] - seen[:, j]) <= np.abs(column[right] - seen[:, j]),
                           left, right)
        snapped[:, j] = column[nearest]
        tol = 1e-9 * max(np.abs(column).max(), np.abs(seen[:, j]).max())
        covered &= np.abs(snapped[:, j] - seen[:, j]) <= tol
    # whole rows: a snapped row of T must be one of the support's rows
    codes = np.unique(np.vstack([support, snapped]), axis=0, return_inverse=True)[1].reshape(-1)
    law_codes, seen_codes = codes[:len(support)], codes[len(support):]
    covered &= np.isin(seen_codes, law_codes)
    return seen, counts, covered, np.isin(law_codes, seen_codes[covered])


def check_law_support(values, probs, T):
    """Raise when rows of T take values outside the law's support.

    The support is the values of positive probability, matched with T's values up to
    round-off (1e-9 of the column's largest magnitude).

    Parameters
    ----------
    values : ndarray (S, p), probs : ndarray (S,)
        The law, as from :func:`parse_treatment_law`.
    T : ndarray (n, p)
        Observed treatments.
    """
    support = values[probs > 0]
    seen, counts, covered, _ = _match_support(support, T)
    if covered.all():
        return
    missing, rows = seen[~covered], counts[~covered]
    order = np.argsort(-rows, kind="stable")
    listed = ", ".join(f"{_format_value(missing[k])} ({rows[k]} row{'s' if rows[k] > 1 else ''})"
                       for k in order[:5]) + (", ..." if missing.shape[0] > 5 else "")
    raise ValueError(
        f"treatment_law gives probability 0 to {missing.shape[0]} value(s) that T takes in "
        f"{int(rows.sum())} of {T.shape[0]} rows: {listed} "
        f"{'is' if missing.shape[0] == 1 else 'are'} not in its support "
        f"{', '.join(_format_value(v) for v in support[:10])}"
        f"{', ...' if len(support) > 10 else ''}. Λ(x) integrates over this law, so it must be "
        "the law that assigned T: correct it, or pass treatment_law='empirical' to use the "
        "observed treatments.")


def check_law_fit(values, probs, T, treatment_names, n_independent=None):
    """Warn when the observed treatments do not look drawn from the law.

    Each check warns when the data would be rarer than ``LAW_TAIL`` under the law: a
    support value the law makes near certain to appear (probability π, never seen in n
    rows: chance (1 − π)ⁿ), and, per column, the sample mean and the mean squared
    deviation from the law's mean, each more than ``LAW_MOMENT_Z`` of its sampling
    standard errors under the law (σ/√n and √((μ₄ − σ⁴)/n), from the law's moments) away
    from its value under the law.

    Parameters
    ----------
    values : ndarray (S, p), probs : ndarray (S,)
        The law, as from :func:`parse_treatment_law`.
    T : ndarray (n, p)
        Observed treatments.
    treatment_names : list of str
    n_independent : int, optional
        Independent draws behind the rows: the number of clusters when T was assigned
        by cluster (the sampling errors then shrink with it, not with the rows).
    """
    n = T.shape[0] if n_independent is None else int(n_independent)
    advice = ("Λ(x) integrates over this law, so a wrong one biases the estimate and its "
              "standard error: pass the design's law, or treatment_law='empirical'.")
    support, mass = values[probs > 0], probs[probs > 0]
    _, _, _, hit = _match_support(support, T)
    with np.errstate(divide="ignore"):
        chance = np.exp(n * np.log1p(-mass))  # (1 - π)ⁿ
    unseen = np.flatnonzero(~hit & (chance < LAW_TAIL))
    if unseen.size:
        k = unseen[np.argmin(chance[unseen])]
        warnings.warn(
            f"treatment_law gives probability {mass[k]:.3g} to {_format_value(support[k])}, "
            f"which T never takes in {T.shape[0]} rows (a chance of {chance[k]:.2g} under the law"
            f"{f'; {unseen.size - 1} more such values' if unseen.size > 1 else ''}). {advice}",
            UserWarning, stacklevel=4)
    for j, name in enumerate(treatment_names):
        mean = probs @ values[:, j]
        var = probs @ (values[:, j] - mean) ** 2
        fourth = probs @ (values[:, j] - mean) ** 4
        t = T[:, j]
        gaps = np.array([t.mean() - mean, np.mean((t - mean) ** 2) - var])
        # floors at float round-off: a law of two equally likely values fixes (t - mean)²
        se = np.maximum(np.sqrt(np.array([var, max(fourth - var ** 2, 0.0)]) / n),
                        1e-12 * np.array([np.sqrt(var), var]) + np.finfo(float).tiny)
        z = float(np.max(np.abs(gaps) / se))
        if z > LAW_MOMENT_Z:
            warnings.warn(
                f"treatment_law does not look like the law that assigned {name!r}: the law's "
                f"mean is {mean:.4g} and SD {np.sqrt(var):.4g}, the sample's (n = {T.shape[0]}) "
                f"{t.mean():.4g} and {t.std():.4g}, {z:.1f} standard errors apart. {advice}",
                UserWarning, stacklevel=4)


def check_treatment_law(treatment_law, T, treatment_names=None, n_independent=None):
    """Check a user-given treatment law (regime A) against the observed treatments.

    None and "empirical" are the data's own law and pass. Otherwise the law must give
    positive probability to every value T takes (:func:`check_law_support`, ValueError),
    and its mean and SD should be those of the sample up to sampling error
    (:func:`check_law_fit`, UserWarning).

    Parameters
    ----------
    treatment_law : None, "empirical", array-like or (values, probabilities)
    T : ndarray (n, p)
        Observed treatments.
    treatment_names : list of str, default=None
        Names for the warning; T, T0, T1, ... if None.
    n_independent : int, optional
        The number of clusters with clustered data (see :func:`check_law_fit`).

    Returns
    -------
    (values, probs), or None for None and "empirical".
    """
    if treatment_law is None or (isinstance(treatment_law, str) and treatment_law == "empirical"):
        return None
    if treatment_names is None:
        treatment_names = ["T"] if T.shape[1] == 1 else [f"T{j}" for j in range(T.shape[1])]
    values, probs = parse_treatment_law(treatment_law, T.shape[1])
    check_law_support(values, probs, T)
    check_law_fit(values, probs, T, treatment_names, n_independent)
    return values, probs


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


# Kish's effective sample size below EFFECTIVE_N_WARN_SHARE of n (a design effect above 10,
# beyond what survey designs produce) or below EFFECTIVE_N_WARN rows warns: the normal
# approximation of a weighted mean needs tens of effectively independent rows. Below
# MIN_EFFECTIVE_N, with the weights to blame, a handful of rows carry the estimate: an error.
EFFECTIVE_N_WARN_SHARE = 0.1
EFFECTIVE_N_WARN = 30
MIN_EFFECTIVE_N = 5


def check_effective_sample_size(weights):
    """Kish's effective sample size (Σw)²/Σw²; warn or raise when the weights leave too few."""
    n = weights.shape[0]
    n_eff = float(weights.sum() ** 2 / np.sum(weights ** 2))
    top = int(np.argmax(weights))
    median = float(np.median(weights))
    ratio = weights[top] / median if median > 0 else float("inf")
    if n_eff < MIN_EFFECTIVE_N and n_eff < 0.5 * n:  # the weights, not n, leave too few
        raise ValueError(
            f"The sample weights leave an effective sample size of {n_eff:.1f} rows out of {n} "
            f"(Kish's (Σw)²/Σw²; the largest weight, row {top}, is {ratio:.3g} times the "
            "median weight): too "
            "few for a normal approximation. Check the weights for a coding error.")
    if n_eff < EFFECTIVE_N_WARN_SHARE * n or (n_eff < EFFECTIVE_N_WARN and n_eff < 0.9 * n):
        warnings.warn(
            f"The sample weights leave an effective sample size of {n_eff:.0f} of {n} rows "
            f"(Kish's (Σw)²/Σw², a design effect of {n / n_eff:.1f}; the largest weight, row "
            f"{top}, is {ratio:.3g} times the median weight). Standard errors rest on those "
            "effective rows; "
            "check for extreme weights, or trim them.", UserWarning, stacklevel=3)
    return n_eff


def check_where(where, T, n_folds):
    """``where`` as a boolean mask over the training rows (those of ``T``), with enough
    rows; warns where it selects the rows of one value of a binary treatment."""
    mask, n_rows = np.asarray(where), T.shape[0]
    if mask.dtype != bool or mask.shape != (n_rows,):
        raise ValueError(f"where must be a boolean mask over the {n_rows} training rows.")
    if mask.sum() < 2 * n_folds:
        raise ValueError(f"where selects {mask.sum()} rows; too few for inference.")
    for j in varying_binary_columns(T):
        if np.all(mask == (T[:, j] == T[mask, j][0])):
            warnings.warn(
                "where= selects the rows of one value of a binary treatment: the average "
                "is valid, but each row's correction is then divided by its probability of "
                "that treatment given x. population='treated' (or 'untreated') estimates "
                "the same average with the efficient weights and a narrower interval.",
                UserWarning, stacklevel=4)
            break
    return mask


def check_groups(groups, n_rows):
    """``groups`` as an array of ``n_rows`` labels and their integer codes; (None, None)."""
    if groups is None:
        return None, None
    groups = np.asarray(groups)
    if groups.shape[0] != n_rows:
        raise ValueError(f"groups has {groups.shape[0]} entries for {n_rows} rows.")
    return groups, np.unique(groups, return_inverse=True)[1].ravel()
