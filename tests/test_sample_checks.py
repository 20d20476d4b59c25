"""Is the sample what the standard errors assume: independent rows, and enough of them."""

import warnings

import numpy as np
import pytest

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._sample_checks import DEPENDENCE_Z, row_dependence
from sklearn_dml.datasets import make_logit

FAST = dict(hidden_dims=(16,), max_epochs=40, random_state=0)


def _panel(seed=0, units=300, periods=5):
    """Units observed over periods, stored unit by unit, with a unit effect in Y."""
    rng = np.random.default_rng(seed)
    n = units * periods
    X = np.repeat(rng.standard_normal((units, 3)), periods, axis=0)
    X += 0.5 * rng.standard_normal((n, 3))
    T = 0.5 * X[:, 0] + rng.standard_normal(n)
    unit_effect = np.repeat(rng.standard_normal(units), periods)
    Y = X[:, 0] + (1 + 0.5 * np.tanh(X[:, 1])) * T + unit_effect + rng.standard_normal(n)
    return X, T, Y, np.repeat(np.arange(units), periods)


def _fit(X, T, Y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = StructuralDMLRegressor(**FAST).fit(X, T, Y, **kw)
    return est, [str(w.message) for w in caught]


def test_panel_stored_unit_by_unit_warns_and_groups_or_shuffling_silence_it():
    X, T, Y, unit = _panel()
    est, messages = _fit(X, T, Y)
    assert est.row_dependence_["z"] > DEPENDENCE_Z
    assert any("rows adjacent in the order passed to fit" in m for m in messages)
    assert "pass groups=<unit or period id>" in " ".join(str(est.summary()).split())
    assert est.inference_.diagnostics["adjacent_rows"].startswith("score correlation")
    # the same rows in random order: independent neighbours
    order = np.random.default_rng(1).permutation(len(T))
    est, messages = _fit(X[order], T[order], Y[order])
    assert abs(est.row_dependence_["z"]) < DEPENDENCE_Z
    assert not any("rows adjacent" in m for m in messages)
    # the unit ids given: the user has said how rows depend
    est, messages = _fit(X, T, Y, groups=unit)
    assert est.row_dependence_ is None and "adjacent_rows" not in est.inference_.diagnostics
    assert not any("rows adjacent" in m for m in messages)


@pytest.mark.parametrize("sort_by", ["covariate", "treatment"])
def test_independent_rows_sorted_by_x_or_t_are_not_flagged(sort_by):
    data = make_logit(n_samples=1500, random_state=2)
    order = np.argsort(data.X[:, 0] if sort_by == "covariate" else data.T)
    est = LogitDML(**FAST).fit(data.X[order], data.T[order], data.Y[order])
    assert abs(est.row_dependence_["z"]) < DEPENDENCE_Z
    assert "rows adjacent" not in str(est.summary())


def test_row_dependence_is_unit_free_and_standard_normal_under_independence():
    rng = np.random.default_rng(0)
    c = rng.standard_t(3, size=(1000, 2))
    w = rng.uniform(0.5, 2.0, 1000)
    base = row_dependence(c, w, constant=[])
    mixed = row_dependence(c @ np.array([[1000.0, 0.0], [-5.0, 0.01]]), w, constant=[])
    assert base["z"] == pytest.approx(mixed["z"], rel=1e-8)
    assert base["correlation"] == pytest.approx(mixed["correlation"], rel=1e-8)
    assert row_dependence(c, w, constant=[0, 1]) is None
    # heavy-tailed independent rows: z is N(0, 1); AR(1) rows with ρ = 0.3: far out
    z = [row_dependence(rng.standard_t(3, size=(800, 2)), np.ones(800), [])["z"]
         for _ in range(300)]
    assert abs(np.mean(z)) < 0.2 and 0.85 < np.std(z) < 1.15
    e = rng.standard_normal((2000, 2))
    for i in range(1, 2000):
        e[i] += 0.3 * e[i - 1]
    assert row_dependence(e, np.ones(2000), [])["z"] > 2 * DEPENDENCE_Z


def test_public_panel_without_ids_warns():
    """RAND Health Insurance Experiment as statsmodels ships it: person-years stored person
    by person, without a person id. The scores of neighbouring rows are correlated; the
    same rows shuffled are not."""
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.randhie.load_pandas().data.iloc[:4000]
    X = d[["physlm", "disea", "hlthg", "hlthf", "hlthp"]].to_numpy(float)
    T, Y = d["lncoins"].to_numpy(float), d["mdvis"].to_numpy(float)
    est, messages = _fit(X, T, np.log1p(Y))
    assert est.row_dependence_["z"] > DEPENDENCE_Z
    assert any("rows adjacent" in m for m in messages)
    order = np.random.default_rng(0).permutation(len(T))
    est, messages = _fit(X[order], T[order], np.log1p(Y)[order])
    assert abs(est.row_dependence_["z"]) < DEPENDENCE_Z


def test_small_samples_warn_unless_theta_is_constant():
    data = make_logit(n_samples=120, random_state=0)
    with pytest.warns(UserWarning, match="Only 120 rows"):
        LogitDML(**FAST).fit(data.X, data.T, data.Y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogitDML(homogeneous="all", **FAST).fit(data.X, data.T, data.Y)
        data = make_logit(n_samples=400, random_state=0)
        LogitDML(**FAST).fit(data.X, data.T, data.Y)
    assert not any("for θ(x) to vary with x" in str(w.message) for w in caught)
