"""Groups of rows whose outcome never leaves a value of unbounded likelihood are flagged."""

import warnings

import numpy as np
import pytest

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._cells import covariate_cells
from sklearn_dml._constant_outcome import constant_outcome_groups, constant_outcome_warning
from sklearn_dml.families import get_family


def _dead_level(seed=0, n=1500, share=0.15, threshold=False, dead=12.0):
    """A logit whose outcome is 0 on every row of a level of a dummy (or, with
    ``threshold``, beyond a cut of the continuous covariate): β = 1 everywhere."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    level = (x1 > np.quantile(x1, 1 - share)) if threshold else rng.random(n) < share
    X = (np.column_stack([x1, rng.normal(size=n)]) if threshold else
         np.column_stack([x1, level.astype(float), rng.normal(size=n)]))
    T = 0.5 * x1 + rng.normal(size=n)
    eta = 0.3 * x1 - dead * level + T
    Y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, T, Y, level


def _groups(family_name, X, Y, weights=None, cells=None):
    family = get_family(family_name)
    w = np.ones(Y.size) if weights is None else weights
    return constant_outcome_groups(family.constant_outcome_unbounded, X, Y, w, cells)


@pytest.mark.parametrize("threshold", [False, True])
def test_a_level_or_tail_without_events_is_found_and_named(threshold):
    X, _, Y, level = _dead_level(threshold=threshold)
    assert Y[level].max() == 0 and Y.mean() > 0.3
    found = _groups("logit", X, Y)
    if threshold:  # the tail reaches down to the largest x of a row with an event
        cut = X[Y == 1, 0].max()
        np.testing.assert_array_equal(found.rows, X[:, 0] > cut)
        assert found.rows[level].all()
        assert found.largest == f"Y = 0 on all {found.rows.sum()} rows with X0 > {cut:g}"
    else:
        np.testing.assert_array_equal(found.rows, level)
        assert found.largest == f"Y = 0 on all {level.sum()} rows with X1 = 1"


def test_the_groups_do_not_depend_on_the_covariates_units():
    X, _, Y, _ = _dead_level(threshold=True)
    found = _groups("logit", X * np.array([1e4, -3.0]) + 7.0, Y)
    np.testing.assert_array_equal(found.rows, _groups("logit", X, Y).rows)
    assert found.rows.mean() > 0.1


def test_constancy_likely_by_chance_is_not_flagged():
    """A small level whose outcome agrees by chance, and a level where the outcome varies."""
    rng = np.random.default_rng(1)
    n = 2000
    X = np.column_stack([rng.normal(size=n), (np.arange(n) < 12).astype(float)])
    Y = (rng.random(n) < 0.2).astype(float)  # π_0 = 0.8: 0.8^12 = 0.07
    Y[:12] = 0.0
    assert not _groups("logit", X, Y).rows.any()
    Y = (rng.random(n) < 0.5).astype(float)
    assert not _groups("logit", X, Y).rows.any()  # no group is constant at all


def test_only_values_of_unbounded_likelihood_count():
    """Counts of zero do; a positive count, a linear outcome and an uncensored one do not."""
    rng = np.random.default_rng(2)
    n = 1500
    x = rng.normal(size=n)
    level = rng.random(n) < 0.2
    X = np.column_stack([x, level.astype(float)])
    counts = rng.poisson(3.0, size=n).astype(float)
    counts[level] = 0.0
    np.testing.assert_array_equal(_groups("poisson", X, counts).rows, level)
    counts[level] = 5.0
    assert not _groups("poisson", X, counts).rows.any()
    assert not _groups("linear", X, counts).rows.any()
    censored = np.maximum(rng.normal(size=n), 0.0)
    censored[level] = 0.0
    np.testing.assert_array_equal(_groups("tobit", X, censored).rows, level)


def test_rows_of_zero_weight_do_not_count():
    X, _, Y, level = _dead_level()
    weights = np.ones(Y.size)
    weights[np.flatnonzero(level)[5:]] = 0.0  # five rows of weight left in the level
    assert not _groups("logit", X, Y, weights).rows.any()


def test_cells_of_identical_covariates_are_searched():
    rng = np.random.default_rng(3)
    X = np.repeat(rng.normal(size=(60, 2)), 25, axis=0)
    X[:25] = 0.0  # the first cell, inside the range of both covariates
    Y = (rng.random(X.shape[0]) < 0.5).astype(float)
    Y[:25] = 1.0
    found = _groups("logit", X, Y, cells=covariate_cells(X))
    np.testing.assert_array_equal(found.rows, np.arange(X.shape[0]) < 25)
    assert "of a cell with identical covariates" in found.largest


def _fit(X, T, Y, **params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = LogitDML(cv=3, random_state=0, **params).fit(X, T, Y)
    return est, [str(w.message) for w in caught]


def test_a_fit_warns_and_marks_the_rows_where_the_outcome_never_varies():
    X, T, Y, level = _dead_level()
    est, messages = _fit(X, T, Y)
    found = [m for m in messages if "outcome never varies" in m]
    assert len(found) == 1
    assert f"Y = 0 on all {level.sum()} rows with X1 = 1" in found[0]
    assert "treat the interval as unreliable" in found[0]
    assert not any(m.startswith("Λ̂(x) was regularized") for m in messages)
    assert np.all(est.lambda_regularized_[level])
    diag = est.inference_.diagnostics
    assert diag["share_constant_outcome"] == pytest.approx(level.mean())
    rest = est.inference(where=~est.lambda_regularized_).diagnostics
    assert rest["share_constant_outcome"] == 0.0 and "constant_outcome" not in rest


def test_a_fit_whose_outcome_varies_everywhere_does_not_warn():
    X, T, Y, _ = _dead_level(dead=0.0)
    est, messages = _fit(X, T, Y)
    assert est.inference_.diagnostics["share_constant_outcome"] == 0.0
    assert not any("outcome never varies" in m for m in messages)


def test_a_linear_outcome_is_never_flagged():
    X, T, _, level = _dead_level()
    Y = np.where(level, 0.0, X[:, 0] + T)  # constant on the level, but a linear model fits it
    est = StructuralDMLRegressor(cv=3, random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_constant_outcome"] == 0.0


@pytest.mark.parametrize("share, n_rows, expected", [
    (0.005, 3000, None),  # 15 rows: below 1% and 100 rows
    (0.015, 3000, "warn"),  # 45 rows: above 1%, below √n = 55
    (0.02, 3000, "unreliable"),  # 60 rows
    (0.003, 50_000, "warn"),  # 150 rows: above 100, below √n = 224
    (0.005, 50_000, "unreliable"),  # 250 rows
])
def test_the_warning_calls_the_interval_unreliable_above_root_n_rows(share, n_rows, expected):
    diagnostics = {"share_constant_outcome": share, "n_obs": n_rows,
                   "constant_outcome": "Y = 0 on all 45 rows with X1 = 1"}
    message = constant_outcome_warning(diagnostics)
    if expected is None:
        assert message is None
        return
    assert "Y = 0 on all 45 rows with X1 = 1" in message
    assert ("treat the interval as unreliable" in message) == (expected == "unreliable")
    assert "homogeneous=..." in message
    held = constant_outcome_warning({**diagnostics, "homogeneous": "beta"})
    assert "held constant in x (beta) do not rest on these rows" in held
