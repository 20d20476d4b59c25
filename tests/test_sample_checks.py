"""Is the sample what the standard errors assume: independent rows, and enough of them."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import KFold, StratifiedKFold

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._sample_checks import (
    DEPENDENCE_Z,
    FOLD_BALANCE_Z,
    fold_balance,
    outcome_order,
    repeated_rows,
    repeated_rows_warning,
    row_dependence,
    value_codes,
)
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


def test_independent_rows_sorted_by_the_outcome_are_not_flagged():
    """Stored cases first (a binary Y) or positive outcomes first (a censored sample, as
    Mroz's hours): neighbours' scores alike from the order alone, so only pairs within a
    run of the outcome count. Sorted by Y, the same rows gave z = 32 before."""
    data = make_logit(n_samples=1500, random_state=2)
    order = np.argsort(-data.Y, kind="stable")
    est = LogitDML(**FAST).fit(data.X[order], data.T[order], data.Y[order])
    assert abs(est.row_dependence_["z"]) < DEPENDENCE_Z
    assert est.inference_.diagnostics["adjacent_rows"].endswith("within runs of the outcome")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1500, 3))
    T = 0.5 * X[:, 0] + rng.standard_normal(1500)
    Y = np.maximum(X[:, 1] + T + rng.standard_normal(1500), 0.0)
    positive_first = np.argsort(Y == 0, kind="stable")
    est, messages = _fit(X[positive_first], T[positive_first], Y[positive_first])
    assert abs(est.row_dependence_["z"]) < DEPENDENCE_Z
    assert not any("rows adjacent" in m for m in messages)
    ascending = np.argsort(Y, kind="stable")
    est, messages = _fit(X[ascending], T[ascending], Y[ascending])
    assert est.inference_.diagnostics["adjacent_rows"] == (
        "not checked (rows ordered by the outcome)")
    assert not any("rows adjacent" in m for m in messages)


def test_a_panel_with_a_binary_outcome_stored_unit_by_unit_still_warns():
    X, T, _, unit = _panel(seed=4)
    rng = np.random.default_rng(5)
    effect = np.repeat(2.0 * rng.standard_normal(unit.max() + 1), 5)
    Y = (X[:, 0] + T + effect + rng.logistic(size=T.size) > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LogitDML(**FAST).fit(X, T, Y)
    assert est.row_dependence_["ordered_by"] is None
    assert est.row_dependence_["z"] > DEPENDENCE_Z


def test_outcome_order_reads_sorted_keys_and_nothing_else():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600).astype(float)
    assert outcome_order(y) is None
    blocks = outcome_order(np.sort(y))
    assert blocks.max() == 2 and np.all(np.diff(blocks) >= 0)
    censored = np.maximum(rng.standard_normal(600), 0.0)
    assert outcome_order(censored) is None
    assert outcome_order(censored[np.argsort(censored == 0, kind="stable")]).max() == 1
    assert outcome_order(np.sort(rng.standard_normal(600))) == "sorted"
    assert outcome_order(rng.standard_normal(600)) is None


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


def test_fold_balance_of_random_splits_stays_below_its_threshold():
    # heavy tails, rare dummies and a count outcome: a random split's z is still bounded
    rng = np.random.default_rng(0)
    for n in (60, 500, 5000):
        X = np.column_stack([rng.normal(size=(n, 4)), rng.lognormal(0, 2, (n, 2)),
                             rng.random((n, 3)) < 0.02, rng.standard_cauchy(n)])
        T, Y = rng.normal(size=n), rng.poisson(0.05, n)
        z = [fold_balance([[te for _, te in KFold(5, shuffle=True, random_state=s).split(X)]],
                          X, T, Y)["z"] for s in range(40)]
        assert max(z) < FOLD_BALANCE_Z - 1.0
        assert 1.5 < np.median(z) < 3.5  # max |N(0, 1)| over 5 folds and 11 columns


def test_fold_balance_names_the_sorted_column_and_is_unit_free():
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(1000, 3)), rng.normal(size=1000)
    order = np.argsort(X[:, 2])
    folds = [[te for _, te in KFold(5).split(X)]]
    balance = fold_balance(folds, X[order], T[order], T[order] ** 2, ["a", "b", "c"], ["p"],
                           "q")
    assert balance["column"] == "c" and balance["z"] > 20
    scaled = fold_balance(folds, 1e4 * X[order] - 7, T[order], T[order] ** 2)
    assert scaled["column"] == "x2" and np.isclose(scaled["z"], balance["z"])
    assert fold_balance([[np.arange(1000)]], X, T, T) is None  # cv=1: no held-out fold


@pytest.mark.parametrize("sort_by", ["T", "Y"])
def test_rows_in_order_with_an_unshuffled_splitter_warn(sort_by):
    data = make_logit(n_samples=1000, random_state=0)
    order = np.argsort(data.T if sort_by == "T" else data.Y, kind="stable")
    X, T, Y = data.X[order], data.T[order], data.Y[order]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = LogitDML(**{**FAST, "cv": KFold(5)}).fit(X, T, Y)
    messages = [str(w.message) for w in caught if "Held-out fold" in str(w.message)]
    assert len(messages) == 1 and f"in {sort_by} by" in messages[0]
    assert "shuffle=True" in messages[0]
    assert est.inference_.diagnostics["fold_balance"].endswith(f"({sort_by})")
    # the same rows with the default, shuffled folds: no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = LogitDML(**FAST).fit(X, T, Y)
    assert not any("Held-out fold" in str(w.message) for w in caught)
    assert "Held-out fold" not in str(est.summary())


def test_stratifying_on_a_continuous_treatment_says_what_to_do():
    data = make_logit(n_samples=300, random_state=0)
    with pytest.raises(ValueError, match=r"stratifies on the first treatment column.*"
                                         r"KFold\(5, shuffle=True\)"):
        LogitDML(**{**FAST, "cv": StratifiedKFold(5)}).fit(data.X, data.T, data.Y)


def _copies(seed=0, n=600):
    """Independent rows, each stored twice, in random order."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    T = 0.5 * X[:, 0] + rng.standard_normal(n)
    Y = X[:, 0] + (1 + 0.5 * np.tanh(X[:, 1])) * T + rng.standard_normal(n)
    order = rng.permutation(np.repeat(np.arange(n), 2))
    return X[order], T[order], Y[order], order


def test_copied_rows_warn_and_groups_or_distinct_rows_silence_it():
    X, T, Y, origin = _copies()
    assert repeated_rows(X, T, Y) == 600
    _, messages = _fit(X, T, Y)
    assert any("600 of the 1200 rows repeat another row" in m for m in messages)
    _, messages = _fit(X, T, Y, groups=origin)
    assert not any("repeat another row" in m for m in messages)
    _, messages = _fit(*(a[np.unique(origin, return_index=True)[1]] for a in (X, T, Y)))
    assert not any("repeat another row" in m for m in messages)


def test_repeated_rows_ignores_the_ties_of_discrete_data():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 4, size=(3000, 2)).astype(float)
    T = rng.integers(0, 2, 3000).astype(float)
    Y = rng.integers(0, 3, 3000).astype(float)
    assert repeated_rows(X, T, Y) == 0  # 96 cells: ties are chance, not copies
    X_copied = np.vstack([X, X[:1]])
    X_copied[:, 0] = np.arange(3001.0)  # a column with a value of its own per row
    assert repeated_rows(X_copied, np.r_[T, T[0]], np.r_[Y, Y[0]]) == 0  # no exact repeat
    Xc, Tc, Yc = (np.concatenate([a, a[:40]]) for a in (X_copied, np.r_[T, T[0]],
                                                       np.r_[Y, Y[0]]))
    assert repeated_rows(Xc, Tc, Yc) == 40
    assert repeated_rows_warning(40, 3041) is not None
    assert repeated_rows_warning(20, 3041) is None  # under 1% of the rows


def test_missing_value_codes_in_t_or_y_warn():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((800, 3))
    T = 0.5 * X[:, 0] + rng.standard_normal(800)
    Y = X[:, 0] + T + rng.standard_normal(800)
    coded = rng.random(800) < 0.02
    _, messages = _fit(X, np.where(coded, 99.0, T), Y)
    assert any(m.startswith(f"T takes the value 99 on {coded.sum()} rows") for m in messages)
    _, messages = _fit(X, T, np.where(coded, -99.0, Y))
    assert any(m.startswith("Y takes the value -99 on") for m in messages)
    _, messages = _fit(X, T, Y)
    assert not any("missing-value code" in m for m in messages)


@pytest.mark.parametrize("column, flagged", [
    (np.r_[np.random.default_rng(0).normal(size=500), [99.0] * 5], True),
    (np.r_[np.random.default_rng(0).normal(size=500), [-9.0] * 5], True),
    (np.r_[np.random.default_rng(0).uniform(10, 14, 500), [-1.0] * 5], True),  # below ≥ 0
    (np.r_[np.random.default_rng(0).normal(size=500), [99.0] * 2], False),  # two rows
    (np.r_[np.random.default_rng(0).normal(size=500), [60.0] * 5], False),  # not a code
    (np.r_[np.random.default_rng(0).uniform(8, 12, 500), [0.0] * 50], False),  # a log's 0
    (np.maximum(np.random.default_rng(0).normal(size=500), 0.0), False),  # censored at 0
    (np.r_[np.random.default_rng(0).integers(0, 3, 500), [9] * 5], True),  # a count's 9
    (np.r_[np.random.default_rng(0).integers(0, 30, 500), [9] * 5], False),  # inside
    (np.r_[np.random.default_rng(0).normal(size=500), [-9.0] * 5] * 3, False),  # -27
])
def test_value_codes_tell_codes_from_real_extremes(column, flagged):
    assert bool(value_codes(column[:, None].astype(float), ["v"])) is flagged


def test_a_typo_in_t_is_named_where_it_leaves_lambda_singular():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((1500, 4))
    T = 0.5 * X[:, 0] + rng.standard_normal(1500)
    Y = X[:, 1] + T + rng.standard_normal(1500)
    with pytest.raises(ValueError, match=r"Row 3 \(0-based\) has T = 10000, \d+ robust SDs"):
        StructuralDMLRegressor(**FAST).fit(X, np.where(np.arange(1500) == 3, 1e4, T), Y)
