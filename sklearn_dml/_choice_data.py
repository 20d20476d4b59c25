"""Long-format choice tables: one row per case and available alternative."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ._named_attributes import NamedAttributes


def from_long(df, *, choice, alternative, attributes, covariates, case, alternatives=None):
    """Reshape a long-format choice table (one row per case and available alternative).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (choice situation, alternative offered). Alternatives absent
        from a case are unavailable there.
    choice : str
        Column that marks the chosen row of each case: 1/0, True/False or "yes"/"no"
        (any case; also "y"/"n", "t"/"f"). A case with no chosen row chose the outside
        option.
    alternative : str
        Column naming the alternative of each row.
    attributes : list of str
        Alternative attributes x_ij (e.g. ``["price", "quality"]``).
    covariates : list of str
        Customer / context covariates w_i (the network input); constant within a case.
    case : str
        Column identifying the choice situation.
    alternatives : list, optional
        Order of the alternatives (the first is the default reference); sorted
        unique values of ``alternative`` when None.

    Returns
    -------
    Bunch with ``X`` (n_cases, n_covariates) DataFrame, ``T`` attributes (n_cases, J, K)
    (an ndarray carrying the names, which ``MultinomialLogitDML.fit`` uses for θ),
    ``Y`` choices (J codes the outside option), ``availability`` (n_cases, J),
    ``alternative_names``, ``attribute_names``, ``cases`` and ``outside_chosen``
    (whether any case has no chosen row).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_dml import from_long
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 2], "item": ["a", "b", "a", "b", "c"],
    ...                    "chosen": [0, 1, 1, 0, 0], "price": [1.0, 2.0, 1.5, 2.5, 0.5],
    ...                    "income": [3.0, 3.0, 1.0, 1.0, 1.0]})
    >>> data = from_long(df, choice="chosen", alternative="item", attributes=["price"],
    ...                  covariates=["income"], case="id")
    >>> data.Y, data.availability.tolist()
    (array([1., 0.]), [[True, True, False], [True, True, True]])
    """
    import pandas as pd

    missing = [c for c in [choice, alternative, case, *attributes, *covariates]
               if c not in df.columns]
    if missing:
        raise ValueError(f"Columns {missing} are not in the DataFrame; it has {list(df.columns)}.")
    names = list(pd.unique(df[alternative])) if alternatives is None else list(alternatives)
    if alternatives is None:
        try:
            names = sorted(names)
        except TypeError:
            pass
    alt_code = pd.Categorical(df[alternative], categories=names).codes
    if np.any(alt_code < 0):
        raise ValueError(f"Column {alternative!r} has alternatives outside {names}.")
    cases, case_code = np.unique(df[case].to_numpy(), return_inverse=True)
    n, J, K = cases.size, len(names), len(attributes)
    if pd.DataFrame({"c": case_code, "a": alt_code}).duplicated().any():
        raise ValueError(f"Some case lists an alternative twice; each ({case}, {alternative}) "
                         "pair must appear at most once.")
    T = np.zeros((n, J, K))
    T[case_code, alt_code] = df[list(attributes)].to_numpy(dtype=float)
    avail = np.zeros((n, J), dtype=bool)
    avail[case_code, alt_code] = True
    chosen = _choice_indicator(df[choice], choice)
    n_chosen = np.bincount(case_code, weights=chosen, minlength=n)
    if np.any(n_chosen > 1):
        raise ValueError(f"{int(np.sum(n_chosen > 1))} cases have more than one chosen row.")
    Y = np.full(n, float(J))
    rows = chosen == 1
    Y[case_code[rows]] = alt_code[rows]
    X = df.groupby(case_code, sort=True)[list(covariates)].first()
    varies = df.groupby(case_code)[list(covariates)].nunique(dropna=False).max() > 1
    if varies.any():
        raise ValueError(f"Covariates {list(varies.index[varies])} vary within a case; alternative-"
                         "specific variables belong in attributes.")
    X.index = cases
    alternative_names = [str(a) for a in names]
    return Bunch(X=X, T=NamedAttributes(T, alternative_names, attributes), Y=Y,
                 availability=avail, alternative_names=alternative_names,
                 attribute_names=list(attributes), cases=cases,
                 outside_chosen=bool(np.any(n_chosen == 0)))


# spellings of a chosen / not-chosen mark, compared case-insensitively
_CHOSEN = {"1": 1.0, "1.0": 1.0, "true": 1.0, "yes": 1.0, "y": 1.0, "t": 1.0,
           "0": 0.0, "0.0": 0.0, "false": 0.0, "no": 0.0, "n": 0.0, "f": 0.0}


def _choice_indicator(column, name):
    """The choice column as 0.0 / 1.0: numbers 0/1, booleans, or "yes"/"no" and the like."""
    values = column.to_numpy()
    if values.dtype.kind in "biuf":
        chosen = values.astype(float)
        bad = values[~np.isin(chosen, (0.0, 1.0))]
    else:
        text = np.array([str(v).strip().lower() for v in values])
        chosen = np.array([_CHOSEN.get(v, np.nan) for v in text])
        bad = values[np.isnan(chosen)]
    if bad.size:
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(bad.tolist()))[:5])
        raise ValueError(
            f"Column {name!r} must mark the chosen row: 1/0, True/False or 'yes'/'no'; it "
            f"also has {shown}. Recode it, e.g. df[{name!r}] = df[{name!r}] == <the chosen "
            "value>.")
    return chosen


def _case_column(df, case, column):
    """One value of ``column`` per case (sorted case order), as a Series named ``column``."""
    if column not in df.columns:
        raise ValueError(f"groups={column!r} is not a column of the DataFrame; it has "
                         f"{list(df.columns)}.")
    by_case = df.groupby(case, sort=True)[column]
    if (by_case.nunique(dropna=False) > 1).any():
        raise ValueError(f"Column {column!r} varies within a case; clusters must hold whole "
                         "cases.")
    return by_case.first().reset_index(drop=True).rename(column)


def _case_frame(df, case, columns):
    """One row per case (sorted case order) of columns constant within a case."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"Case-level columns {missing} are not in the DataFrame; it has "
                         f"{list(df.columns)}.")
    by_case = df.groupby(case, sort=True)[list(columns)]
    varies = by_case.nunique(dropna=False).max() > 1
    if varies.any():
        raise ValueError(f"Case-level variables {list(varies.index[varies])} vary within a "
                         "case; a variable that varies by alternative is an attribute.")
    return by_case.first().reset_index(drop=True)


def _case_level_columns(df, case):
    """The columns of ``df`` constant within every case, one row per case (sorted)."""
    grouped = df.groupby(case, sort=True)
    constant = grouped.nunique(dropna=False).max() <= 1
    return grouped[list(constant.index[constant])].first().reset_index(drop=True)
