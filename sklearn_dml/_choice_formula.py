"""The choice estimators' side of a utility formula: bind it to the data, build the design."""

from __future__ import annotations

import warnings

import numpy as np

from ._debias import UNIDENTIFIED_MIN_ROWS, UNIDENTIFIED_SHARE
from ._lambda._moments import overlap_floored
from ._lambda._regressors import LinearTrendBoosting, default_lambda_model
from ._utility_spec import UtilitySpec

OVERLAP_CHECK_ROWS = 5000  # rows the overlap of a specific coefficient's variable is read on


def default_formula(row_names):
    """The conditional logit without a formula: constants and a generic β per attribute."""
    return " + ".join(["(1|item)", *[f"({a}|constant)" for a in row_names]])


def formulas(est):
    """The (formula, nest_formula) pair, or None when the estimator has neither."""
    formula = getattr(est, "formula", None)
    nest_formula = getattr(est, "nest_formula", None)
    if formula is None and nest_formula is None:
        return None
    return formula, nest_formula


def _rows(T, J):
    rows = np.asarray(T, dtype=float)
    if rows.ndim == 2 and rows.shape[1] % J == 0:  # alternative-major
        rows = rows.reshape(rows.shape[0], J, rows.shape[1] // J)
    if rows.ndim != 3 or rows.shape[1] != J:
        raise ValueError(f"T must hold the row-level data with shape (n_samples, {J}, "
                         f"n_columns); got {np.shape(T)}.")
    return rows


def _case_matrix(case_data, n):
    """Case-level data (n, L) and its column names (``z0, z1, ...`` for an array)."""
    if case_data is None:
        return None, []
    if hasattr(case_data, "columns"):
        names = [str(c) for c in case_data.columns]
        values = np.asarray(case_data, dtype=float)
    else:
        values = np.asarray(case_data, dtype=float)
        values = values.reshape(-1, 1) if values.ndim == 1 else values
        names = [f"z{j}" for j in range(values.shape[1])]
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(f"case_data must have one row per case ({n}); got shape "
                         f"{np.shape(case_data)}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("case_data contains NaN or inf.")
    return values, names


def nest_layout(J, nests, alternatives, outside_option):
    """(nest names, nest index of each inside alternative) of a nest map."""
    from .families._nested import NestedLogitFamily

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the family warns again at fit
        fam = NestedLogitFamily(J, 0, nests, alternative_names=alternatives,
                                outside_option=outside_option)
    return fam.nest_names, list(fam._nest_of[:J])


def formula_design(est, T, case_data, names, nests=None):
    """The design of the estimator's formula and the family's layout names.

    Parameters
    ----------
    est : MultinomialLogitDML
    T : array-like of shape (n, J, K)
        Row-level data (attributes, item observables).
    case_data : array-like or DataFrame of shape (n, L), or None
    names : dict
        Names carried by the inputs (``"alternatives"``, ``"attributes"``).
    nests : dict, default=None
        The nested logit's nest map.

    Returns
    -------
    design : ndarray (n, J, C), or ``T`` unchanged without a formula
    names : dict
        Layout names for the family (with ``"beta_names"`` and ``"constants"``).
    bound : BoundUtility or None
    """
    given = formulas(est)
    if given is None:
        if case_data is not None:
            raise ValueError("case_data feeds the terms of a utility formula; give "
                             f"{type(est).__name__}(formula=...) to use it.")
        return T, names, None
    J = est.n_alternatives
    rows = _rows(T, J)
    row_names = est.attribute_names or names.get("attributes") or [
        f"x{k}" for k in range(rows.shape[2])]
    if len(row_names) != rows.shape[2]:
        raise ValueError(f"Give {rows.shape[2]} attribute names for T; got {row_names}.")
    case, case_names = _case_matrix(case_data, rows.shape[0])
    alternatives = est.alternative_names or names.get("alternatives") or [
        str(j) for j in range(J)]
    layout = None
    if nests is not None:
        layout = nest_layout(J, nests, alternatives, est.outside_option)
    formula, nest_formula = given
    spec = UtilitySpec(formula or default_formula(row_names), nest_formula)
    bound = spec.bind(alternatives=[str(a) for a in alternatives], reference=est.reference,
                      outside_option=est.outside_option, row_variables=list(row_names),
                      case_variables=case_names, nests=layout)
    layout_names = {**names, "alternatives": alternatives, "attributes": bound.column_labels,
                    "beta_names": bound.theta_names, "constants": bound.constants}
    return bound.design(rows, case), layout_names, bound


def family_layout(est, names):
    """Keyword arguments naming the family's alternatives and attributes."""
    layout = {"alternative_names": est.alternative_names or names.get("alternatives")}
    if "beta_names" in names:  # a formula's design columns
        layout.update(attribute_names=names["attributes"], beta_names=names["beta_names"],
                      constants=names["constants"])
    else:
        layout["attribute_names"] = est.attribute_names or names.get("attributes")
    return layout


def check_design(bound, T, design, availability, family):
    """The formula's identification checks on the training data."""
    J = family.n_alternatives
    avail = (np.ones(design.shape[:2], dtype=bool) if availability is None
             else np.asarray(availability).astype(bool))
    bound.check(_rows(T, J), design, avail, list(family.alpha_alternatives))


def check_specific_overlap(bound, design, X, homogeneous):
    """Refuse alternative- or nest-specific coefficients whose variable X determines.

    With preferences varying with w = X, α_j(w) + β_j(w)·z is any function of w when z is
    one: neither coefficient is identified (a case variable also given as a covariate, or
    an attribute set by the covariates). Read as in the Λ stage: z's conditional variance
    given X at its overlap floor on more than ``UNIDENTIFIED_SHARE`` of rows.
    """
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return  # the estimator's validation says what is wrong with X
    n = X.shape[0]
    if (homogeneous == "all" or n < UNIDENTIFIED_MIN_ROWS or X.ndim != 2
            or not np.all(np.isfinite(X)) or np.ptp(X, axis=0).max(initial=0.0) == 0):
        return
    rows = np.random.RandomState(0).permutation(n)[:OVERLAP_CHECK_ROWS]
    refused, seen = [], {}
    for c, j, name in bound.specific_columns():
        z = design[rows, j, c]
        key = z.tobytes()
        if key not in seen:
            floored = overlap_floored(z[:, None], X[rows], X[rows], default_lambda_model(),
                                      LinearTrendBoosting())
            seen[key] = float(np.mean(floored))
        if seen[key] > UNIDENTIFIED_SHARE:
            refused.append(f"{name} ({seen[key]:.0%} of rows)")
    if refused:
        raise ValueError(
            f"X determines the variable of {', '.join(refused)}: with preferences varying "
            "with X, the alternative's (or nest's) constant absorbs such a coefficient, and "
            "neither is identified (a case variable given as a covariate too, or an "
            "attribute set by the covariates). Take the variable out of X (its coefficients "
            "then vary with the other covariates), or hold θ constant in x "
            "(homogeneous='all').")


def predict_design(est, T, case_data):
    """The design at new data for a fitted estimator (``T`` itself without a formula)."""
    bound = getattr(est, "utility_", None)
    if bound is None:
        if case_data is not None:
            raise ValueError("case_data is used only with a utility formula.")
        return T
    case, _ = _case_matrix(case_data, np.shape(T)[0])
    return bound.design(_rows(T, est.n_alternatives), case)
