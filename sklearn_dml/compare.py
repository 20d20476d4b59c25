"""Side-by-side average-effect tables across sklearn_dml, EconML and DoubleML.

Only sklearn_dml is imported here; other libraries' fitted objects are read
through their public attributes, so neither is a dependency.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["ate_table"]

NOTES = {
    "sklearn_dml": "debiased sample average of the effect; influence-function SE (cross-fitted)",
    "econml": "mean of CATE(x) over X; EconML ate_inference interval for that mean",
    "econml_constant": "constant effect (fit with X=None); EconML ate_inference interval",
    "doubleml": "orthogonal-score estimate of the model's causal parameter; DoubleML SE",
}
# DoubleML models whose parameter is a coefficient on D (an effect per unit of D); the
# parameter of the others (IRM, IIVM, APO, ...) is an effect of a fixed contrast
_DOUBLEML_LINEAR = ("DoubleMLPLR", "DoubleMLPLIV")


def _row(name, estimate, stderr, lo, hi, library, note=None):
    return {"estimator": name, "point_estimate": float(estimate), "stderr": float(stderr),
            "ci_lower": float(lo), "ci_upper": float(hi), "library": library,
            "note": note or NOTES[library]}


def _first(values):
    return np.ravel(values)[0]


def _ours(name, est, X, T0, T1, alpha):
    res = est.ate_inference(T0=T0, T1=T1)
    lo, hi = res.conf_int(alpha)[0]
    return _row(name, res.estimate[0], res.stderr[0], lo, hi, "sklearn_dml")


def _econml(name, est, X, T0, T1, alpha):
    # a fit with X=None has a constant effect (EconML stores no X shape): averaging it over
    # rows changes nothing, and EconML's own ate_inference(X) fails on it
    constant = getattr(est, "_d_x", ()) is None
    if X is None and not constant:
        raise ValueError(f"{name!r} is an EconML estimator fitted with X: pass X, the rows "
                         "to average its CATE over (usually the training X).")
    inf = (est.ate_inference(T0=T0, T1=T1) if constant
           else est.ate_inference(X, T0=T0, T1=T1))
    lo, hi = inf.conf_int_mean(alpha=alpha)
    return _row(name, _first(inf.mean_point), _first(inf.stderr_mean), _first(lo), _first(hi),
                "econml", NOTES["econml_constant"] if constant else None)


def _doubleml(name, est, X, T0, T1, alpha):
    """One row per treatment of a fitted DoubleML model (``coef`` and ``se`` as it has them)."""
    coef = np.ravel(np.asarray(est.coef, dtype=float))
    se = np.ravel(np.asarray(est.se, dtype=float))
    if coef.size == 0 or not np.all(np.isfinite(coef)):
        raise ValueError(f"{name!r}: the DoubleML model has no estimate; call its fit() first.")
    kind = type(est).__name__
    delta = np.ravel(np.asarray(T1, float) - np.asarray(T0, float))
    if kind in _DOUBLEML_LINEAR:
        scale = np.broadcast_to(delta, coef.shape) if delta.size in (1, coef.size) else None
        if scale is None:
            raise ValueError(f"T1 - T0 has {delta.size} entries for {coef.size} treatments.")
        note = NOTES["doubleml"] + (f"; times T1 - T0 = {delta[0]:g}" if np.any(delta != 1)
                                    else "")
    elif np.all(delta == 1) and np.all(np.ravel(T0) == 0):
        scale, note = np.ones_like(coef), f"{NOTES['doubleml']} ({kind}: its own contrast)"
    else:
        raise ValueError(f"{name!r} is a {kind}, whose parameter is a fixed contrast of a "
                         "binary treatment; compare it at T0=0, T1=1.")
    crit = stats.norm.ppf(1 - alpha / 2)
    names = _doubleml_treatments(est, coef.size)
    rows = []
    for j in range(coef.size):
        label = name if coef.size == 1 else f"{name} [{names[j]}]"
        rows.append(_row(label, scale[j] * coef[j], abs(scale[j]) * se[j],
                         scale[j] * coef[j] - crit * abs(scale[j]) * se[j],
                         scale[j] * coef[j] + crit * abs(scale[j]) * se[j], "doubleml", note))
    return rows


def _doubleml_treatments(est, k):
    data = getattr(est, "_dml_data", None)
    data = getattr(est, "dml_data", None) if data is None else data
    names = list(getattr(data, "d_cols", []) or [])
    return names if len(names) == k else [f"d{j}" for j in range(k)]


def _reader(est):
    module = type(est).__module__.split(".")[0]
    if module == "sklearn_dml":
        return _ours
    if module == "econml":
        return _econml
    if module == "doubleml":
        return _doubleml
    raise TypeError(
        f"Cannot read {type(est).__name__} from {module!r}: ate_table understands fitted "
        "sklearn_dml, EconML (ate_inference) and DoubleML (coef, se) objects.")


def ate_table(estimators, X=None, *, T0=0, T1=1, alpha=0.05):
    """One DataFrame of average effects and intervals from several fitted estimators.

    Parameters
    ----------
    estimators : dict of str -> fitted estimator
        sklearn_dml estimators and :mod:`sklearn_dml.econml` adapters (debiased
        average over their training rows), EconML CATE estimators (averaged over
        ``X``; a constant-effect fit, ``fit(Y, T, X=None, W=W)``, needs no X),
        DoubleML models (one row per treatment: a PLR / PLIV coefficient scaled by
        T1 − T0, other models' parameter as it is, at T0=0, T1=1).
    X : array-like, default=None
        Rows for the averages of EconML fits with X; ignored by the others.
    T0, T1 : float, default=0 and 1
        The treatment change.
    alpha : float, default=0.05
        1 − confidence level.

    Returns
    -------
    pandas.DataFrame
        Index ``estimator``; columns ``point_estimate, stderr, ci_lower, ci_upper,
        library, note`` (the note says what each interval is an interval for).

    Examples
    --------
    >>> from sklearn_dml import StructuralDMLRegressor
    >>> from sklearn_dml.compare import ate_table
    >>> from sklearn_dml.datasets import make_linear_confounded
    >>> d = make_linear_confounded(400, random_state=0)
    >>> est = StructuralDMLRegressor(max_epochs=10, random_state=0).fit(d.X, d.T, d.Y)
    >>> list(ate_table({"ours": est}).columns)[:2]
    ['point_estimate', 'stderr']
    """
    import pandas as pd

    rows = []
    for name, est in estimators.items():
        out = _reader(est)(name, est, X, T0, T1, alpha)
        rows.extend(out if isinstance(out, list) else [out])
    return pd.DataFrame(rows).set_index("estimator")
