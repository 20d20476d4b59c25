"""Does the sample carry what the standard errors assume: enough independent rows?

The sandwich variance treats rows (or clusters) as independent draws, and the normal
approximation needs many of them. Six checks, each a message for the fit's warnings:

* :func:`row_dependence`: the scores of rows adjacent in the order passed to ``fit``
  are correlated, as in a panel stored unit by unit or a time series whose errors persist,
  where the rows' independence fails and ``groups=`` is needed;
* :func:`small_sample_warning`: fewer rows than the coverage studies found the intervals
  to hold at;
* :func:`few_clusters_warning`: fewer clusters than cluster-robust errors need;
* :func:`fold_balance`: a held-out fold whose covariates, treatment or outcome differ from
  its training rows' beyond what a random split gives, as where rows stored in order meet a
  splitter that does not shuffle them, and every network extrapolates to its held-out rows;
* :func:`repeated_rows`: rows that copy another row exactly where chance would not repeat
  it (a merge that duplicated records), so that cross-fitting holds out rows whose copies
  it trained on and the standard errors count one observation several times;
* :func:`value_codes`: a treatment or outcome value repeated at an extreme, far from every
  other value, as a missing-value code (-9, 99) that the fit would read as data;

and :func:`variance_label`, the diagnostics' words for what the standard errors assume.
"""

from __future__ import annotations

import re

import numpy as np

# below this many (effective) rows the heterogeneous fits' intervals covered 81-93% in the
# small-sample study (benchmarks/coverage_small_n.py: linear and logit designs, 5
# covariates, n = 50 and 100) and 92-97% at 200 and 500 rows
SMALL_SAMPLE_ROWS = 200
FEW_CLUSTERS = 30  # below this many clusters a fit warns (benchmarks/coverage_clustered.py)
# adjacent rows' scores correlated beyond chance (z under independence, self-normalized) and
# by enough to matter: neighbour correlations this large take 5-20% off a standard error
DEPENDENCE_Z = 3.5
DEPENDENCE_CORRELATION = 0.02
# rows read as sorted by a discrete key when it has at most this many distinct values and
# comes in at most twice as many runs; a continuous one when this share of adjacent pairs
# is in order
SORT_KEY_LEVELS = 50
SORTED_SHARE = 0.95
# a held-out fold's mean of some column this many standard errors of a random split's from
# its training rows' (a random split exceeds 6 with probability 2e-9 per column and fold)
FOLD_BALANCE_Z = 6.0
# rows that repeat another in X, T and Y are copies, not chance, where some column alone
# takes this share as many values as there are distinct rows; a fit warns from this share
# of the rows
COPY_DISTINCT_SHARE = 0.9
COPIES_SHARE = 0.01
# a column's smallest or largest value, on at least CODE_MIN_ROWS rows, farther from every
# other value than CODE_GAP_SDS of their SDs and twice their widest spacing, and written as
# surveys write missing values (nines: 9, 99, -9, 998; or a negative integer below values
# that are all nonnegative): a code
CODE_MIN_ROWS = 3
CODE_GAP_SDS = 3.0


def outcome_order(Y):
    """How the order passed to ``fit`` follows the outcome: None (it does not), an array of
    block labels (rows sorted by a discrete outcome, or by whether Y is above its minimum,
    as a censored sample stored with its positive rows first), or "sorted" (rows sorted by
    a continuous outcome)."""
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    if Y.shape[1] != 1 or Y.shape[0] < 3:
        return None
    y = Y[:, 0]
    blocks = _sorted_blocks(y)
    if blocks is not None or np.unique(y).size <= SORT_KEY_LEVELS:
        return blocks
    steps = np.sign(np.diff(y))
    if max(np.mean(steps >= 0), np.mean(steps <= 0)) >= SORTED_SHARE:
        return "sorted"
    at_min = y == y.min()  # a mass point at the minimum (censoring), stored in blocks
    return _sorted_blocks(at_min) if at_min.sum() >= max(5, 0.01 * y.size) else None


def _sorted_blocks(key):
    """Block labels where ``key`` is discrete and comes in at most twice as many runs as it
    has values (rows stored sorted, or grouped, by it); None otherwise."""
    changes = key[1:] != key[:-1]
    levels = np.unique(key).size
    if 1 < levels <= SORT_KEY_LEVELS and 1 + changes.sum() <= 2 * levels:
        return np.concatenate([[0], np.cumsum(changes)])
    return None


def row_dependence(correction, weights, constant, Y=None):
    """Lag-1 correlation of the rows' score contributions in the order passed to ``fit``.

    ``correction`` (n, d) is each row's Λ̂⁻¹ℓ_θ. On the components that vary with x its
    mean given the row's covariates is zero where the rows are independent, whatever their
    order (sorted by a covariate included); the ``constant`` ones (indices of the
    components held constant in x) have means that vary with x and are left out. The
    weighted, centred contributions are whitened (w_i, identity covariance), so that
    nothing depends on the units of T or of θ: ``correlation`` is Σ w_i·w_{i+1} / Σ |w_i|²,
    the lag-1 correlation averaged over directions of θ, and ``z`` is Σ w_i·w_{i+1} /
    (Σ (w_i·w_{i+1})²)^½, standard normal under independence whatever the tails of w.

    Rows stored in order of the outcome ``Y`` (:func:`outcome_order`) have neighbours with
    alike scores whether or not they are independent: sorted by a discrete key, only pairs
    within a block count, each block centred on its own mean; sorted by a continuous Y, the
    order says nothing and the check is skipped (``ordered_by`` says so).

    Returns
    -------
    dict or None
        ``correlation`` and ``z`` (NaN where skipped) and ``ordered_by`` (None, or "the
        outcome"); None where no component varies with x.
    """
    components = np.delete(np.arange(correction.shape[1]), list(constant))
    if components.size == 0:
        return None
    blocks = None if Y is None else outcome_order(Y)
    if isinstance(blocks, str):
        return {"correlation": float("nan"), "z": float("nan"), "ordered_by": "the outcome"}
    c = correction[:, components]
    if blocks is None:
        a = weights[:, None] * (c - np.average(c, axis=0, weights=weights))
    else:
        a = weights[:, None] * _centred_in_blocks(c, weights, blocks)
    scale, basis = np.linalg.eigh(a.T @ a)
    keep = scale > 1e-12 * max(scale[-1], np.finfo(float).tiny)
    if not keep.any():
        return {"correlation": 0.0, "z": 0.0}
    white = a @ basis[:, keep] / np.sqrt(scale[keep])
    products = np.einsum("ij,ij->i", white[:-1], white[1:])
    if blocks is not None:
        products = products[blocks[1:] == blocks[:-1]]  # pairs within a block
    spread = np.sqrt(np.sum(products ** 2))
    z = float(products.sum() / spread) if spread > 0 else 0.0
    return {"correlation": float(products.sum() / keep.sum()), "z": z,
            "ordered_by": None if blocks is None else "the outcome"}


def _centred_in_blocks(c, weights, blocks):
    """``c`` less its weighted mean within each block."""
    totals = np.zeros((blocks[-1] + 1, c.shape[1]))
    np.add.at(totals, blocks, weights[:, None] * c)
    mass = np.bincount(blocks, weights=weights)
    return c - totals[blocks] / np.where(mass > 0, mass, 1.0)[blocks, None]


def fold_balance(folds, X, T, Y, feature_names=None, treatment_names=None, outcome_name="Y"):
    """The held-out fold and column of X, T or Y whose mean differs most from its training
    rows'.

    Parameters
    ----------
    folds : list of lists of int arrays
        Each repetition's held-out rows, fold by fold.
    X, T, Y : array-like of shape (n_samples, ...)
        What the folds are compared on.
    feature_names, treatment_names : list of str, default=None
        Names of the columns of X ("x0", "x1", ... without) and of T ("T0", ... without).
    outcome_name : str, default="Y"
        Name of the outcome.

    Returns
    -------
    dict or None
        ``z`` (the difference of the two means over its standard error under a random
        split, (1/n_test + 1/n_train)^½ in units of the column's SD), ``column``, ``fold``
        and ``repetition``; None without cross-fitting or without a column that varies.
    """
    n = len(X)
    if len(folds[0]) < 2:
        return None
    V, names = _columns(X, T, Y, feature_names, treatment_names, outcome_name)
    spread = V.std(axis=0)
    keep = spread > 0
    if not keep.any():
        return None
    V = (V[:, keep] - V[:, keep].mean(axis=0)) / spread[keep]
    names = [name for name, kept in zip(names, keep) if kept]
    worst = {"z": -1.0}
    for rep, tests in enumerate(folds):
        for fold, test in enumerate(tests):
            n_test = test.size
            held_out = V[test].sum(axis=0)  # V sums to zero: the training rows' sum is -this
            z = np.abs(held_out / n_test + held_out / (n - n_test)) / np.sqrt(
                1 / n_test + 1 / (n - n_test))
            j = int(np.argmax(z))
            if z[j] > worst["z"]:
                worst = {"z": float(z[j]), "column": names[j], "fold": fold,
                         "repetition": rep}
    return worst


def _columns(X, T, Y, feature_names=None, treatment_names=None, outcome_name="Y"):
    """X, T and Y side by side as float columns (n, k), and the columns' names ("x0", "T0",
    ... where none are given or the given ones do not fit)."""
    n = len(Y)
    blocks = [np.asarray(a, dtype=float).reshape(n, -1) for a in (X, T, Y)]

    def named(given, prefix, width):
        return list(given) if given is not None and len(given) == width else [
            f"{prefix}{j}" for j in range(width)]

    width_y = blocks[2].shape[1]
    names = [*named(feature_names, "x", blocks[0].shape[1]),
             *named(treatment_names, "T", blocks[1].shape[1]),
             *([str(outcome_name)] if width_y == 1 else named(None, outcome_name, width_y))]
    return np.hstack(blocks), names


def repeated_rows(X, T, Y):
    """How many rows repeat an earlier row exactly in X, T and Y where chance would not:
    some column alone takes at least ``COPY_DISTINCT_SHARE`` as many values as there are
    distinct rows (a continuous outcome or covariate), so two equal rows are one
    observation twice. 0 where every row is distinct or the columns are all coarse enough
    for ties (discrete data repeat rows by chance)."""
    n = len(Y)
    V = np.ascontiguousarray(_columns(X, T, Y)[0] + 0.0)  # + 0.0: -0.0 becomes 0.0
    distinct = np.unique(V.view(np.dtype((np.void, V.dtype.itemsize * V.shape[1])))).size
    if distinct == n:
        return 0
    most_values = max(np.unique(column).size for column in V.T)
    return n - distinct if most_values >= COPY_DISTINCT_SHARE * distinct else 0


def repeated_rows_warning(repeats, n_rows):
    """A message where at least ``COPIES_SHARE`` of the rows copy another row."""
    if repeats < max(1, COPIES_SHARE * n_rows):
        return None
    return (
        f"{repeats} of the {n_rows} rows repeat another row exactly in X, T and Y, where "
        "some column's values are too varied to repeat by chance: they look like copies "
        "of one observation (records duplicated by a merge, or a table expanded from "
        "counts). Cross-fitting then holds out rows whose copies it trained on, and the "
        "standard errors count each copy as an independent draw, so the interval runs "
        "short (the coverage page's study of rows that are not independent measures "
        "how far). Drop the copies (DataFrame.drop_duplicates()) and fit the distinct "
        "rows.")


def value_codes(values, names):
    """The columns of ``values`` (n, k) whose smallest or largest value sits on at least
    ``CODE_MIN_ROWS`` rows apart from all the others (farther from the nearest than
    ``CODE_GAP_SDS`` SDs of the other values and twice their widest spacing) and is
    written as a missing-value code (:func:`_code_like`). A censoring point or a top code
    sits next to the values it bounds; a dummy's interaction or a log's zero is no code.

    Returns
    -------
    list of (name, value, rows, gap in SDs of the other values)
    """
    found = []
    for name, column in zip(names, np.asarray(values, dtype=float).T):
        distinct, counts = np.unique(column, return_counts=True)
        if distinct.size < 4:  # the other values need a spread and a spacing
            continue
        for end, nearest, others in ((0, 1, slice(1, None)), (-1, -2, slice(None, -1))):
            spread = column[column != distinct[end]].std()
            gap = abs(distinct[end] - distinct[nearest])
            if (counts[end] >= CODE_MIN_ROWS and gap > CODE_GAP_SDS * spread
                    and gap > 2 * np.diff(distinct[others]).max()
                    and _code_like(distinct[end], distinct[others].min() >= 0)):
                found.append((name, float(distinct[end]), int(counts[end]), gap / spread))
    return found


def _code_like(value, others_nonnegative):
    """Whether ``value`` is written as surveys write a missing value: an integer of nines,
    perhaps ending in 7 or 8 (9, 99, -99, 998), or a negative integer below values that are
    all nonnegative (-1, -3)."""
    whole = round(value)
    if value == 0 or abs(value - whole) > 1e-6 * abs(value):
        return False
    return (re.fullmatch(r"9+[78]?", str(abs(int(whole)))) is not None
            or (value < 0 and others_nonnegative))


def value_code_warnings(T, Y, treatment_names, outcome_name):
    """A message per treatment or outcome column with a value that looks like a
    missing-value code (:func:`value_codes`)."""
    values, names = _columns(np.empty((len(Y), 0)), T, Y, None, treatment_names,
                             outcome_name)
    return [f"{name} takes the value {value:g} on {rows} rows, {gap:.0f} standard deviations "
            "of its other values away from all of them: it looks like a missing-value code "
            "(such as -9 or 99), which the fit reads as data. A code in T or Y moves the "
            "estimate and can leave a narrow interval around a wrong value (the coverage "
            "page's study of missing-value codes measures how far). Drop or recode those "
            "rows, unless the value is real."
            for name, value, rows, gap in value_codes(values, names)]


def fold_balance_warning(balance):
    """A message where a held-out fold differs from its training rows beyond chance."""
    if balance is None or balance["z"] <= FOLD_BALANCE_Z:
        return None
    return (
        f"Held-out fold {balance['fold']} (repetition {balance['repetition']}) differs from "
        f"its training rows in {balance['column']} by {balance['z']:.1f} standard errors of "
        "a random split: the folds are not random samples of the rows, so each network "
        "predicts rows unlike those it trained on and the estimate can be several standard "
        "errors off. Rows stored in order (sorted by T, Y or a covariate, or grouped) need "
        "a splitter that shuffles them: cv=KFold(5, shuffle=True), the default with an int "
        "cv, or StratifiedKFold(5, shuffle=True).")


def sample_warnings(n_rows, n_effective, varying, dependence, n_clusters, balance=None,
                    rows=None, names=None, grouped=False):
    """The messages of the six checks for a fit (see the module's docstring).

    Parameters
    ----------
    n_rows : int
        Number of rows.
    n_effective : float
        Kish's effective number of rows (``n_rows`` with equal weights).
    varying : bool
        Whether some component of θ varies with x.
    dependence : dict or None
        :func:`row_dependence` of the fit; None where the fit was given groups (the user
        has said how rows depend) or θ is constant in x.
    n_clusters : int or None
        Number of clusters of cluster-robust standard errors; None without.
    balance : dict or None
        :func:`fold_balance` of the fit's folds; None where the fit was given groups.
    rows : tuple (X, T, Y) or None, default=None
        The fit's rows, checked by :func:`value_codes` and, without groups,
        :func:`repeated_rows`.
    names : tuple (treatment names, outcome name) or None, default=None
    grouped : bool, default=False
        Whether the fit was given groups (which say how rows repeat).

    Returns
    -------
    list of str
    """
    messages = [small_sample_warning(n_effective, varying, weighted=n_effective < n_rows),
                few_clusters_warning(n_clusters),
                row_dependence_warning(dependence),
                fold_balance_warning(balance),
                repeated_rows_warning(0 if rows is None or grouped else repeated_rows(*rows),
                                      n_rows)]
    if rows is not None:
        messages += value_code_warnings(rows[1], rows[2], *(names or ([], "Y")))
    return [m for m in messages if m]


def row_dependence_warning(dependence):
    """A message where adjacent rows' scores are correlated beyond chance; None otherwise."""
    if dependence is None or not (dependence["z"] > DEPENDENCE_Z
                                  and dependence["correlation"] > DEPENDENCE_CORRELATION):
        return None
    return (
        f"The scores of rows adjacent in the order passed to fit are correlated (lag-1 "
        f"correlation {dependence['correlation']:.3f}, z = {dependence['z']:.1f} "
        "under independence): the rows do not look independent, and the standard errors "
        "assume they are. If rows repeat a unit (a panel stored unit by unit, several "
        "members of a household) or share a period, pass groups=<unit or period id> for "
        "cluster-robust standard errors; with a time series, group consecutive periods into "
        "blocks. Rows sorted by T can show this from a misfit of the model in T instead.")


def small_sample_warning(n_rows, varying, weighted=False):
    """A message where a fit with θ varying in x rests on fewer than ``SMALL_SAMPLE_ROWS``
    rows (Kish's effective number where sample weights vary: ``weighted``); None
    otherwise."""
    if not varying or n_rows >= SMALL_SAMPLE_ROWS:
        return None
    effective = " effective rows (Kish's, with the sample weights)" if weighted else " rows"
    return (
        f"Only {n_rows:.0f}{effective} for θ(x) to vary with x: cross-fitting trains each "
        "network on a fraction of them, and the debiased intervals run short. In the "
        "coverage page's small-sample study (5 covariates) they covered 81-93% at 50-100 "
        f"rows and 92-97% at {SMALL_SAMPLE_ROWS}-500; more covariates need more rows. Read "
        "them as rough; n_rep=5 narrows the gap (a logit at 100 rows: 0.885 to 0.92), and "
        "homogeneous='all' gives the parametric MLE.")


def few_clusters_warning(n_clusters):
    """A message where cluster-robust standard errors rest on fewer than ``FEW_CLUSTERS``
    clusters; None otherwise (or without clusters)."""
    if n_clusters is None or n_clusters >= FEW_CLUSTERS:
        return None
    return (f"Only {n_clusters} clusters: cluster-robust standard errors run short with few "
            "clusters. The intervals and p-values use t(G − 1) critical values, which make up "
            "for much of that; report G with the estimate (the coverage page measures "
            "coverage by G).")


def variance_label(n_clusters, name=None, grouped=False):
    """How the standard errors treat the rows, for the diagnostics: clustered by ``name``
    (``n_clusters`` clusters), or independent rows, with ``grouped`` groups shaping only
    the folds."""
    if n_clusters is not None:
        name = "groups" if name is None else name
        return f"cluster-robust, clustered by {name}, {n_clusters} clusters"
    if grouped:
        return "robust for independent rows (cluster_se=False; groups only shape the folds)"
    return "robust (sandwich), independent rows"
