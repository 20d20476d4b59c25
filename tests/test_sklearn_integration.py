"""Pipeline, GridSearchCV, clone, routing on and off, pandas: the sklearn faces."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dml import LogitDML, StructuralDML, StructuralDMLRegressor, pack_targets
from sklearn_dml.datasets import make_linear_confounded

TINY = dict(hidden_dims=(8,), max_epochs=8, cv=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(400, random_state=0)


def routing(on):
    return sklearn.config_context(enable_metadata_routing=on)


def test_clone_and_params_round_trip():
    est = StructuralDMLRegressor(hidden_dims=(64, 32), weight_decay=1e-3, cv=3)
    params = est.get_params()
    assert params["hidden_dims"] == (64, 32)
    twin = clone(est)
    assert twin.get_params() == params and twin is not est
    assert isinstance(twin.hidden_dims, tuple)
    twin.set_params(hidden_dims=(8, 8))
    assert twin.hidden_dims == (8, 8) and est.hidden_dims == (64, 32)
    from sklearn.ensemble import HistGradientBoostingRegressor

    nested = StructuralDML("logit", lambda_model=HistGradientBoostingRegressor(max_iter=10))
    nested.set_params(lambda_model__max_iter=20)
    assert nested.get_params()["lambda_model__max_iter"] == 20


def test_fitted_clone_is_unfitted(data):
    est = StructuralDMLRegressor(**TINY).fit(data.X, data.T, data.Y)
    assert not hasattr(clone(est), "theta_")
    assert est.n_features_in_ == 5


def test_pickle_round_trip_keeps_summary(data):
    est = StructuralDMLRegressor(**TINY).fit(data.X, data.T, data.Y)
    again = pickle.loads(pickle.dumps(est))
    assert str(again.summary()) == str(est.summary())
    np.testing.assert_array_equal(again.predict(data.X[:5]), est.predict(data.X[:5]))


def test_pipeline_routing_on(data):
    with routing(True):
        pipe = make_pipeline(StandardScaler(), StructuralDMLRegressor(**TINY))
        pipe.fit(data.X, data.T, Y=data.Y)
        score = pipe.score(data.X, data.T, Y=data.Y)
    assert np.isfinite(score) and score < 0


def test_pipeline_routing_off_with_packed_targets(data):
    TY = pack_targets(data.T, data.Y)
    pipe = make_pipeline(StandardScaler(), StructuralDMLRegressor(**TINY)).fit(data.X, TY)
    est = pipe[-1]
    assert est.inference_.names == ["E[alpha]", "E[beta]"]
    assert np.isfinite(pipe.score(data.X, TY))
    # the scaler in front is invisible to θ̂ up to training noise: same data, same seeds
    direct = StructuralDMLRegressor(**TINY).fit(StandardScaler().fit_transform(data.X), TY)
    np.testing.assert_allclose(direct.inference_.estimate, est.inference_.estimate)


def test_pipeline_routing_off_laststep_keyword(data):
    pipe = make_pipeline(StandardScaler(), StructuralDMLRegressor(**TINY))
    pipe.fit(data.X, data.T, structuraldmlregressor__Y=data.Y)
    assert hasattr(pipe[-1], "inference_")


def test_column_transformer_with_dataframe(data):
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    df = pd.DataFrame(data.X, columns=[f"x{j}" for j in range(5)])
    df["region"] = np.where(data.X[:, 0] > 0, "north", "south")
    pre = ColumnTransformer([("num", StandardScaler(), [f"x{j}" for j in range(5)]),
                             ("cat", OneHotEncoder(sparse_output=False), ["region"])])
    pipe = make_pipeline(pre, StructuralDMLRegressor(**TINY)).set_output(transform="pandas")
    T = pd.Series(data.T, name="price")
    Y = pd.Series(data.Y, name="sales")
    pipe.fit(df, pack_targets(T, Y))
    est = pipe[-1]
    assert "cat__region_north" in list(est.feature_names_in_)
    with routing(True):
        pipe.fit(df, T, Y=Y)
    assert pipe[-1].treatment_names_ == ["price"] and pipe[-1].outcome_name_ == "sales"


@pytest.mark.parametrize("mode", ["packed", "routing"])
def test_grid_search_picks_the_best_not_the_first(data, mode):
    # the first candidate is crippled by a huge penalty; a search that silently NaNs (the
    # routing-off failure mode of other libraries) would return it
    grid = {"weight_decay": [30.0, 1e-4], "hidden_dims": [(16,)]}
    base = StructuralDMLRegressor(hidden_dims=(16,), max_epochs=30, cv=1, random_state=0)
    gs = GridSearchCV(base, grid, cv=3, error_score="raise")
    if mode == "packed":
        gs.fit(data.X, pack_targets(data.T, data.Y))
    else:
        with routing(True):
            gs.fit(data.X, data.T, Y=data.Y)
    scores = gs.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert gs.best_params_["weight_decay"] == 1e-4
    assert scores[1] > scores[0] + 0.1


def test_cross_val_score_and_cross_validate_both_modes(data):
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=10, cv=1, random_state=0)
    packed = cross_val_score(est, data.X, pack_targets(data.T, data.Y), cv=3)
    with routing(True):
        routed = cross_val_score(est, data.X, data.T, params={"Y": data.Y}, cv=3)
        cv = cross_validate(est, data.X, data.T, params={"Y": data.Y}, cv=3,
                            return_train_score=True)
    np.testing.assert_allclose(packed, routed)
    assert np.all(np.isfinite(cv["train_score"]))


def test_group_kfold_with_groups_in_pipeline(data):
    groups = np.repeat(np.arange(40), 10)
    with routing(True):
        est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=5, cv=GroupKFold(4),
                                     random_state=0).set_fit_request(groups=True)
        pipe = make_pipeline(StandardScaler(), est)
        pipe.fit(data.X, data.T, Y=data.Y, groups=groups)
    for test in pipe[-1].folds_[0]:
        assert set(groups[test]).isdisjoint(np.delete(groups, test))


def test_score_without_Y_explains_what_to_do(data):
    est = StructuralDMLRegressor(**TINY).fit(data.X, data.T, data.Y)
    with pytest.raises(TypeError, match="pack_targets"):
        est.score(data.X, data.T)


def test_cv1_mode_is_flagged_in_diagnostics(data):
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=5, cv=1, random_state=0)
    est.fit(data.X, data.T, data.Y)
    assert "off" in est.inference_.diagnostics["cross_fitting"]


def test_econml_style_methods(data):
    est = StructuralDMLRegressor(**TINY).fit(data.X, data.T, data.Y)
    n = data.X.shape[0]
    assert est.effect().shape == (n,)
    np.testing.assert_allclose(est.effect(data.X[:3], T0=1, T1=3),
                               2 * est.const_marginal_effect(data.X[:3]))
    np.testing.assert_allclose(est.marginal_effect(0.0), est.theta_[:, 1])
    inf = est.ate_inference()
    assert est.ate() == pytest.approx(inf.estimate[0])
    lo, hi = est.ate_interval(alpha=0.1)
    assert lo < est.ate() < hi
    assert list(inf.summary_frame().columns)[0] == "point_estimate"
    assert 0 <= inf.pvalue()[0] <= 1
    # linear family: the ATE from 0 to 1 equals E[beta] exactly, influence function included
    np.testing.assert_allclose(inf.estimate, est.inference("beta").estimate)
    sub = est.ate(where=data.X[:, 0] > 0)
    assert sub != est.ate()
    # ate(X_train) is ate(): the debiased average; the plug-in mean has its own name
    assert est.ate(data.X) == est.ate()
    assert est.ate_interval(data.X) == est.ate_interval()
    assert est.plugin_ate(data.X[:50]) == pytest.approx(est.effect(data.X[:50]).mean())
    assert est.plugin_ate() == pytest.approx(inf.diagnostics["plugin_estimate"][0])
    for call in (est.effect_interval, est.effect_inference, est.const_marginal_effect_inference):
        with pytest.raises(NotImplementedError, match="averages"):
            call(data.X)
    for call in (est.ate, est.ate_interval, est.ate_inference):
        with pytest.raises(ValueError, match="plugin_ate"):
            call(data.X[:50])
    # EconML's other averages, debiased: the linear model's AME and E[beta] coincide
    assert est.marginal_ate(data.T) == pytest.approx(est.const_marginal_ate())
    assert est.const_marginal_ate() == pytest.approx(est.inference("beta").estimate[0])
    lo, hi = est.marginal_ate_interval(0.0)
    assert lo < est.marginal_ate(0.0) < hi


def test_const_marginal_effect_refused_for_logit():
    from sklearn_dml.datasets import make_logit

    d = make_logit(300, random_state=0)
    est = LogitDML(hidden_dims=(4,), max_epochs=3, cv=2, random_state=0).fit(d.X, d.T, d.Y)
    with pytest.raises(NotImplementedError, match="marginal_effect"):
        est.const_marginal_effect()
    assert est.marginal_effect(d.T).shape == (300,)


def test_pandas_names_reach_the_tables(data):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(data.X, columns=list("abcde"))
    T = pd.DataFrame({"price": data.T, "ads": np.random.RandomState(0).normal(size=400)})
    Y = pd.Series(data.Y, name="sales")
    est = StructuralDMLRegressor(**TINY).fit(X, T, Y)
    frame = est.summary().to_frame()
    assert list(frame.index) == ["E[alpha]", "E[beta[price]]", "E[beta[ads]]"]
    assert list(est.feature_names_in_) == list("abcde")
    assert "sales" in str(est.summary())
