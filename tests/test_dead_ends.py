"""Each dead end a new user hit ends in a message that says what to do (issue 24, part 5)."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_dml import MultinomialLogitDML, StructuralDMLRegressor, from_long, pack_targets
from sklearn_dml.datasets import make_choice, make_linear_confounded

pd = pytest.importorskip("pandas")

FAST = dict(hidden_dims=(4,), max_epochs=3, cv=1, random_state=0)
GRID = {"weight_decay": [1e-2, 1e-4]}


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(200, random_state=0)


def routing(on):
    return sklearn.config_context(enable_metadata_routing=on)


@pytest.mark.parametrize("error_score", [np.nan, "raise"])
def test_search_with_Y_and_routing_off_stops_and_names_pack_targets(data, error_score):
    # it used to score every candidate NaN and hand back the first one, refitted
    search = GridSearchCV(StructuralDMLRegressor(**FAST), GRID, cv=2, error_score=error_score)
    with routing(False), pytest.raises(ValueError, match="pack_targets") as info:
        search.fit(data.X, data.T, Y=data.Y)
    assert "enable_metadata_routing" in str(info.value)


def test_cross_val_score_with_Y_and_routing_off(data):
    with routing(False), pytest.raises(ValueError, match=r"pack_targets\(T, Y\)"):
        cross_val_score(StructuralDMLRegressor(**FAST), data.X, data.T, params={"Y": data.Y},
                        cv=2)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error", {"r2": "r2"}])
def test_scorers_that_cannot_apply_name_the_estimators_score(data, scoring):
    packed = pack_targets(data.T, data.Y)
    search = GridSearchCV(StructuralDMLRegressor(**FAST), GRID, cv=2, scoring=scoring,
                          refit=False)
    with pytest.raises(ValueError, match="cannot score a structural model.*estimator's own"):
        search.fit(data.X, packed)


def test_search_paths_that_work_still_work(data):
    packed = pack_targets(data.T, data.Y)
    scores = cross_val_score(StructuralDMLRegressor(**FAST), data.X, packed, cv=2)
    assert np.all(np.isfinite(scores))
    with routing(True):
        scores = cross_val_score(StructuralDMLRegressor(**FAST), data.X, data.T,
                                 params={"Y": data.Y}, cv=2)
    assert np.all(np.isfinite(scores))
    # a callable scorer built on the estimator's score is the user's business
    scores = cross_val_score(StructuralDMLRegressor(**FAST), data.X, packed, cv=2,
                             scoring=lambda est, X, y: est.score(X, y))
    assert np.all(np.isfinite(scores))


def _long_table(choice):
    return pd.DataFrame({"id": [1, 1, 2, 2, 2], "item": ["a", "b", "a", "b", "c"],
                         "chosen": choice, "price": [1.0, 2.0, 1.5, 2.5, 0.5],
                         "income": [3.0, 3.0, 1.0, 1.0, 1.0]})


@pytest.mark.parametrize("choice", [
    ["no", "yes", "Yes", "no", "NO"], [False, True, True, False, False],
    ["0", "1", "1", "0", "0"], [0, 1, 1, 0, 0], ["n", "y", "Y", "n", "n"]])
def test_from_long_reads_yes_no_true_false_and_one_zero(choice):
    long = from_long(_long_table(choice), choice="chosen", alternative="item",
                     attributes=["price"], covariates=["income"], case="id")
    np.testing.assert_array_equal(long.Y, [1.0, 0.0])


def test_from_long_names_unreadable_choice_values():
    with pytest.raises(ValueError, match=r"'maybe'.*Recode it"):
        from_long(_long_table(["no", "maybe", "yes", "no", "no"]), choice="chosen",
                  alternative="item", attributes=["price"], covariates=["income"], case="id")


def test_fit_uses_the_names_a_choice_bunch_carries():
    d = make_choice(300, n_alternatives=3, random_state=0)
    est = MultinomialLogitDML(3, hidden_dims=(4,), max_epochs=2, cv=2, random_state=0)
    est.fit(d.X, d.T, d.Y)
    assert d.attribute_names == ["price", "quality"]
    assert est.theta_names_[-2:] == ["beta[price]", "beta[quality]"]
    # from_long's bunch: the alternatives' names too
    case, alt = np.nonzero(d.availability)
    names = np.array(["bus", "car", "train"])
    df = pd.DataFrame({"case": case, "mode": names[alt], "price": d.T[case, alt, 0],
                       "quality": d.T[case, alt, 1], "chosen": d.Y[case] == alt,
                       "w0": d.X[case, 0]})
    long = from_long(df, choice="chosen", alternative="mode", attributes=["price", "quality"],
                     covariates=["w0"], case="case")
    est.fit(long.X, long.T, long.Y, availability=long.availability)
    assert est.theta_names_ == ["alpha[car]", "alpha[train]", "beta[price]", "beta[quality]"]
    # the constructor's names win
    named = MultinomialLogitDML(3, attribute_names=["p", "q"], hidden_dims=(4,), max_epochs=2,
                                cv=2, random_state=0).fit(long.X, long.T, long.Y)
    assert named.theta_names_[-2:] == ["beta[p]", "beta[q]"]


@pytest.mark.parametrize("column, kind", [
    (pd.date_range("2020-01-01", periods=200), "datetime64"), (["north"] * 200, "str")])
def test_non_numeric_X_columns_are_named_with_the_fix(data, column, kind):
    X = pd.DataFrame(data.X, columns=list("abcde")).assign(extra=column)
    with pytest.raises(ValueError, match=rf"non-numeric columns: extra \({kind}.*OneHotEncoder"
                                         r".*ColumnTransformer"):
        StructuralDMLRegressor(**FAST).fit(X, data.T, data.Y)
    mixed = data.X.astype(object)
    mixed[:, 3] = "x"
    with pytest.raises(ValueError, match=r"non-numeric columns: column 3 \(str\)"):
        StructuralDMLRegressor(**FAST).fit(mixed, data.T, data.Y)
