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
    "doubleml": "orthogonal-score estimate of the model's causal parameter; DoubleML SE",
}


def _row(name, estimate, stderr, lo, hi, library, note=None):
    return {"estimator": name, "point_estimate": float(estimate), "stderr": float(stderr),
            "ci_lower": float(lo), "ci_upper": float(hi), "library": library,
            "note": note or NOTES[library]}


def _ours(name, est, X, T0, T1, alpha):
    res = est.ate_inference(T0=T0, T1=T1)
    lo, hi = res.conf_int(alpha)[0]
    return _row(name, res.estimate[0], res.stderr[0], lo, hi, "sklearn_dml")


def _econml(name, est, X, T0, T1, alpha):
    if X is None:
        raise ValueError(f"{name!r} is an EconML estimator: pass X, the rows to average over.")
    inf = est.ate_inference(X, T0=T0, T1=T1)
    lo, hi = inf.conf_int_mean(alpha=alpha)
    return _row(name, np.ravel(inf.mean_point)[0], np.ravel(inf.stderr_mean)[0],
                np.ravel(lo)[0], np.ravel(hi)[0], "econml")


def _doubleml(name, est, X, T0, T1, alpha):
    coef, se = np.ravel(est.coef)[0], np.ravel(est.se)[0]
    crit = stats.norm.ppf(1 - alpha / 2)
    scale = float(np.ravel(np.asarray(T1, float) - np.asarray(T0, float))[0])
    return _row(name, scale * coef, abs(scale) * se, scale * (coef - crit * se),
                scale * (coef + crit * se), "doubleml")


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
        sklearn_dml estimators (debiased average over their training rows), EconML
        CATE estimators (averaged over ``X``), DoubleML models (their coefficient,
        scaled by T1 − T0).
    X : array-like, default=None
        Rows for EconML's averages; ignored by the others.
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

    rows = [_reader(est)(name, est, X, T0, T1, alpha) for name, est in estimators.items()]
    return pd.DataFrame(rows).set_index("estimator")
