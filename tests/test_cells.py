"""Covariate cells: rows with identical X whose own curvature is singular are flagged."""

import warnings

import numpy as np
import pytest

from sklearn_dml import PoissonDML, StructuralDMLRegressor
from sklearn_dml._cells import covariate_cells, flat_cells
from sklearn_dml._lambda._hessians import lambda_hessians
from sklearn_dml.families import get_family


def test_covariate_cells_codes_only_large_cells():
    X = np.array([[0, 1]] * 12 + [[1, 1]] * 3 + [[2, 0]] * 10 + [[0.5, 2]], dtype=float)
    codes = covariate_cells(X)
    assert codes.shape == (26,)
    assert np.all(codes[12:15] == -1) and codes[25] == -1
    assert len(set(codes[:12])) == 1 and len(set(codes[15:25])) == 1
    assert codes[0] != codes[15] and set(codes) == {-1, 0, 1}
    assert covariate_cells(np.random.default_rng(0).normal(size=(500, 2))) is None


def test_covariate_cells_survive_a_hash_collision(monkeypatch):
    """The rows' hash is checked: with every key equal, the exact grouping takes over."""
    class Zeros:
        def standard_normal(self, size):
            return np.zeros(size)

    X = np.repeat(np.arange(30.0).reshape(3, 10).T, 10, axis=0)[:, :2]
    expected = covariate_cells(X)
    monkeypatch.setattr("sklearn_dml._cells.np.random.default_rng", lambda seed: Zeros())
    codes = covariate_cells(X)
    assert len(set(codes)) == 10 and np.all(codes >= 0)
    np.testing.assert_array_equal(codes[:, None] == codes[None, :],
                                  expected[:, None] == expected[None, :])


def _cell_design(seed=0, n_cells=40, rows=20, flat=4):
    """Cells of identical X; in the first 1/flat of them every row has the same T."""
    rng = np.random.default_rng(seed)
    X = np.repeat(rng.normal(size=(n_cells, 2)), rows, axis=0)
    T = rng.normal(size=n_cells * rows)
    constant = np.arange(n_cells * rows) < n_cells * rows // flat
    T[constant] = np.repeat(rng.normal(size=n_cells // flat), rows)
    Y = 1.0 + X[:, 0] + (0.5 + 0.3 * X[:, 1]) * T + rng.normal(size=T.size)
    return X, T, Y, constant


@pytest.mark.parametrize("family_name", ["linear", "poisson"])
def test_flat_cells_marks_cells_without_variation_in_any_units(family_name):
    X, T, Y, constant = _cell_design()
    family = get_family(family_name)
    Y = np.round(np.exp(0.1 * Y)) if family_name == "poisson" else Y
    t = np.column_stack([T])
    theta = np.tile([0.2, 0.1], (T.size, 1))
    lam = lambda_hessians(family, Y, t, theta)
    cells, w = covariate_cells(X), np.ones(T.size)
    flat = flat_cells(family, t, Y, theta, cells, lam, w, 1e-2)
    np.testing.assert_array_equal(flat, constant)
    # T in other units (×1000, shifted) and θ mapped to match: the same rows
    t2, theta2 = 1000 * t + 5, np.column_stack([theta[:, 0] - 5 * theta[:, 1] / 1000,
                                                theta[:, 1] / 1000])
    lam2 = lambda_hessians(family, Y, t2, theta2)
    np.testing.assert_array_equal(flat_cells(family, t2, Y, theta2, cells, lam2, w, 1e-2), flat)


def test_a_rare_treatment_missing_from_small_cells_is_no_evidence():
    """100 cells of 20 rows: a treatment that 5% of rows take misses a third of the cells
    by chance (a fit there covered 0.95); one that half the rows take cannot."""
    rng = np.random.default_rng(0)
    X = np.repeat(np.arange(100.0), 20)[:, None]
    cells, w, family = covariate_cells(X), np.ones(2000), get_family("linear")
    theta, Y = np.zeros((2000, 2)), rng.normal(size=2000)

    def flagged(T):
        t = T[:, None]
        return flat_cells(family, t, Y, theta, cells, lambda_hessians(family, Y, t, theta),
                          w, 1e-2)

    rare = (rng.uniform(size=2000) < 0.05).astype(float)
    untreated = np.bincount(cells, weights=rare)[cells] == 0
    assert untreated.mean() > 0.2 and not flagged(rare).any()
    common = (rng.uniform(size=2000) < 0.5).astype(float)
    common[:200] = 1.0
    np.testing.assert_array_equal(flagged(common), np.arange(2000) < 200)


def test_each_treatment_column_is_judged_on_its_own():
    """A rare binary treatment missing from small cells stays no evidence next to a
    continuous one; a continuous treatment constant in a cell is, whatever the other does."""
    rng = np.random.default_rng(0)
    X = np.repeat(np.arange(100.0), 20)[:, None]
    cells, w, family = covariate_cells(X), np.ones(2000), get_family("linear")
    theta, Y = np.zeros((2000, 3)), rng.normal(size=2000)
    T = np.column_stack([rng.uniform(size=2000) < 0.05, rng.normal(size=2000)]).astype(float)
    lam = lambda_hessians(family, Y, T, theta)
    assert not flat_cells(family, T, Y, theta, cells, lam, w, 1e-2).any()
    T[:200, 1] = np.repeat(rng.normal(size=10), 20)
    T[:, 0] = rng.uniform(size=2000) < 0.5
    lam = lambda_hessians(family, Y, T, theta)
    np.testing.assert_array_equal(flat_cells(family, T, Y, theta, cells, lam, w, 1e-2),
                                  np.arange(2000) < 200)


def test_rows_of_zero_weight_do_not_make_a_cell():
    X = np.zeros((20, 1))
    weights = np.r_[1.0, np.zeros(19)]
    assert covariate_cells(X, weights) is None
    weights[:10] = 1.0
    codes = covariate_cells(X, weights)
    assert np.all(codes[:10] == 0) and np.all(codes[10:] == -1)


def test_fit_flags_cells_without_treatment_variation():
    X, T, Y, constant = _cell_design(n_cells=60, rows=15)
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=20, random_state=0)
    with pytest.warns(UserWarning, match="cells of 10 or more rows with identical covariates"):
        est.fit(X, T, Y)
    diag = est.inference_.diagnostics
    assert diag["share_flat_cells"] == pytest.approx(constant.mean())
    assert np.all(est.lambda_regularized_[constant])
    assert diag["share_regularized"] >= constant.mean()


def test_a_tenth_of_rows_in_flat_cells_makes_the_interval_unreliable():
    """Rows of flat cells are not identified at all: from 5% the warning calls the interval
    unreliable, below the 15% that rows the smoothed Λ̂ floors need."""
    X, T, Y, constant = _cell_design(n_cells=60, rows=15, flat=10)
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=20, random_state=0)
    with pytest.warns(UserWarning, match="treat the interval as unreliable"):
        est.fit(X, T, Y)
    assert est.inference_.diagnostics["share_regularized"] < 0.15
    assert est.inference_.diagnostics["share_flat_cells"] == pytest.approx(0.1)


def test_cells_with_variation_and_parametric_fits_are_not_flagged():
    X, T, Y, constant = _cell_design(n_cells=60, rows=15)
    T[constant] = np.random.default_rng(1).normal(size=constant.sum())  # overlap everywhere
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=20, random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_flat_cells"] == 0.0
    T[constant] = 0.0
    # β constant in x: a cell need not identify it, only α(x), which it does
    est = StructuralDMLRegressor(homogeneous=["beta"], hidden_dims=(8,), max_epochs=20,
                                 random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_flat_cells"] == 0.0
    # no variation, but θ cannot vary with x: the classical MLE
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = StructuralDMLRegressor(homogeneous="all", hidden_dims=(8,), max_epochs=20,
                                     random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_flat_cells"] == 0.0


def test_public_panel_whose_plan_never_changes_within_a_cell():
    """RAND Health Insurance Experiment, real visits: with the chronic-disease index in X
    the covariates take 339 values over 20,190 person-years, and on a fifth of the rows
    every person-year of a cell has the same insurance plan. The smoothed Λ̂ saw only a few
    percent of rows; the cells' own curvature shows the rest (its coverage was 0.70)."""
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.randhie.load_pandas().data
    rows = np.random.default_rng(0).choice(len(d), 5000, replace=False)
    d = d.iloc[rows]
    X = d[["idp", "physlm", "disea", "hlthg", "hlthf", "hlthp"]].to_numpy(float)
    with pytest.warns(UserWarning, match="cells of 10 or more rows"):
        est = PoissonDML(hidden_dims=(16,), max_epochs=10, random_state=0).fit(
            X, d["lncoins"].to_numpy(float), d["mdvis"].to_numpy(float))
    assert est.inference_.diagnostics["share_flat_cells"] > 0.1
