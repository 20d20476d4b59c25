"""sklearn_dml.econml: a script written for EconML's LinearDML runs unchanged on ours.

The script below uses EconML's API only. It runs on ``sklearn_dml.econml.LinearDML``
(always) and on ``econml.dml.LinearDML`` (when EconML is installed), and on ours gives
the debiased numbers of the wrapped estimator fitted directly.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml import econml as sd_econml
from sklearn_dml.compare import ate_table

# the wrapped estimator's own warnings about small fits are beside the point here
pytestmark = pytest.mark.filterwarnings("ignore:Dropping one row", "ignore:Λ̂")

TINY = dict(hidden_dims=(8,), max_epochs=15, cv=2)
N = 400


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    W = rng.normal(size=(N, 2))
    X = rng.normal(size=(N, 2))
    T = 0.8 * W[:, 0] + 0.4 * X[:, 0] + rng.normal(size=N)
    Y = (1.0 + 0.5 * X[:, 0]) * T + W[:, 0] - 0.5 * W[:, 1] + rng.normal(size=N)
    return Y, T, X, W


def econml_script(LinearDML, Y, T, X, W, **kwargs):
    """Code as written for EconML's LinearDML (constant effect with W, then with X)."""
    out = {}
    est = LinearDML(random_state=0, **kwargs)
    est.fit(Y, T, X=None, W=W)
    out["const_ate"] = est.ate()
    out["const_ate_interval"] = est.ate_interval(alpha=0.05)
    inf = est.ate_inference()
    out["const_inference"] = (inf.mean_point, inf.stderr_mean, inf.conf_int_mean(),
                              inf.zstat(), inf.pvalue())
    out["const_effect"] = est.effect()
    out["const_cme"] = est.const_marginal_effect()
    out["const_me"] = est.marginal_effect(T)
    out["const_cme_frame"] = est.const_marginal_effect_inference().summary_frame()
    out["intercept"] = est.intercept_
    out["const_summary"] = str(est.summary())

    est = LinearDML(random_state=0, **kwargs)
    est.fit(Y, T, X=X, W=W)
    out["effect"] = est.effect(X[:5], T0=0, T1=2)
    out["cme"] = est.const_marginal_effect(X[:5])
    out["me"] = est.marginal_effect(T[:5], X[:5])
    out["ate"] = est.ate(X)
    out["ate_interval"] = est.ate_interval(X, alpha=0.1)
    out["ate_summary"] = str(est.ate_inference(X).summary())
    out["marginal_ate"] = est.marginal_ate(T, X)
    out["const_marginal_ate"] = est.const_marginal_ate(X)
    out["summary"] = str(est.summary(feature_names=["x0", "x1"]))
    out["score"] = est.score(Y, T, X=X, W=W)
    return out


@pytest.fixture(scope="module")
def ours(data):
    base = StructuralDMLRegressor(**TINY)
    return econml_script(sd_econml.LinearDML, *data, estimator=base)


def direct(Z, T, Y):
    return StructuralDMLRegressor(**TINY, random_state=0).fit(Z, T, Y)


def test_constant_effect_with_controls_is_our_debiased_average(data, ours):
    Y, T, X, W = data
    est = direct(W, T, Y)  # W joins the network's input; nothing is reported as varying
    assert ours["const_ate"] == est.ate()
    assert ours["const_ate_interval"] == est.ate_interval()
    mean, se, (lo, hi), z, p = ours["const_inference"]
    res = est.ate_inference()
    assert (mean, se, lo, hi) == (res.estimate[0], res.stderr[0], *res.conf_int()[0])
    assert z == res.zstat()[0] and p == res.pvalue()[0]
    # a constant effect: effect() and const_marginal_effect() are that average, shape (1,)
    np.testing.assert_array_equal(ours["const_effect"], [est.ate()])
    beta = est.inference("beta")
    np.testing.assert_allclose(ours["const_cme"], beta.estimate)
    np.testing.assert_allclose(ours["const_me"], np.full(N, beta.estimate[0]))
    assert ours["intercept"] == pytest.approx(beta.estimate[0])
    assert ours["const_cme_frame"]["stderr"].iloc[0] == pytest.approx(beta.stderr[0])
    assert "constant effect (X=None)" in ours["const_summary"]


def test_heterogeneous_effect_with_x_and_w_is_ours(data, ours):
    Y, T, X, W = data
    Z = np.hstack([X, W])
    est = direct(Z, T, Y)
    # ate(X) on the training rows is the debiased average, the same as ate()
    assert ours["ate"] == est.ate()
    assert ours["ate_interval"] == pytest.approx(est.ate_interval(alpha=0.1))
    assert f"{est.ate():.4f}" in ours["ate_summary"]
    assert ours["marginal_ate"] == pytest.approx(est.inference("ame").estimate[0])
    assert ours["const_marginal_ate"] == pytest.approx(est.inference("beta").estimate[0])
    # functions of X average W out over the training rows of W (all of them here)
    rows = np.hstack([np.repeat(X[:5], N, axis=0), np.tile(W, (5, 1))])
    beta = est.const_marginal_effect(rows).reshape(5, N).mean(axis=1)
    np.testing.assert_allclose(ours["cme"], beta, rtol=1e-10)
    np.testing.assert_allclose(ours["effect"], 2 * beta, rtol=1e-10)
    np.testing.assert_allclose(ours["me"], beta, rtol=1e-10)
    assert "effects vary with X = [x0, x1]" in ours["summary"]
    # score: the held-out structural loss, lower is better as EconML's
    assert ours["score"] == pytest.approx(est.structural_loss(Z, T, Y))


def test_the_same_script_runs_on_econml(data, ours):
    econml_dml = pytest.importorskip("econml.dml")
    theirs = econml_script(econml_dml.LinearDML, *data)
    assert set(theirs) == set(ours)
    # same data, two estimators of the same average effect (about 1)
    se = np.hypot(ours["const_inference"][1], theirs["const_inference"][1])
    assert abs(ours["const_ate"] - theirs["const_ate"]) < 4 * se
    assert np.shape(ours["const_effect"]) == np.shape(theirs["const_effect"]) == (1,)
    assert np.shape(ours["const_me"]) == np.shape(theirs["const_me"]) == (N,)
    assert np.shape(ours["effect"]) == np.shape(theirs["effect"]) == (5,)


def test_no_x_no_w_is_ols_with_the_sandwich_se(data):
    sm = pytest.importorskip("statsmodels.api")
    Y, T, _, _ = data
    recipe = dict(cv=1, solver="lbfgs", weight_decay=0.0, random_state=0,
                  early_stopping=False, max_epochs=300, hidden_dims=(8,))
    est = sd_econml.LinearDML(estimator=StructuralDMLRegressor(**recipe)).fit(Y, T)
    ols = sm.OLS(Y, sm.add_constant(T)).fit(cov_type="HC0")
    assert est.ate() == pytest.approx(ols.params[1], rel=1e-3)
    assert est.ate_inference().stderr_mean == pytest.approx(ols.bse[1], rel=0.05)


def test_new_rows_pointwise_intervals_and_names(data):
    Y, T, X, W = data
    est = sd_econml.NonParamDML(estimator=StructuralDMLRegressor(**TINY),
                                random_state=0).fit(Y, T, X=X, W=W)
    with pytest.raises(ValueError, match="plugin_ate"):
        est.ate(X[:50])
    assert est.plugin_ate(X[:50]) == pytest.approx(est.effect(X[:50]).mean())
    for call in (est.effect_interval, est.const_marginal_effect_inference):
        with pytest.raises(NotImplementedError, match="averages"):
            call(X)
    with pytest.raises(ValueError, match="feature_names has 3"):
        est.summary(feature_names=["a", "b", "c"])
    table = est.summary(treatment_names=["price"], output_names=["sales"]).to_frame()
    assert list(table.index) == ["E[alpha]", "E[beta[price]]"]
    sub = X[:, 0] > 0
    assert est.ate(where=sub) == est.estimator_.ate(where=sub)
    again = pickle.loads(pickle.dumps(est))
    assert again.ate() == est.ate()
    assert clone(est).get_params()["random_state"] == 0


def test_discrete_treatment_labels(data):
    Y, T, _, W = data
    D = T > 0
    labels = np.where(D, "treated", "control")
    est = sd_econml.LinearDML(discrete_treatment=True, estimator=StructuralDMLRegressor(**TINY),
                              random_state=0).fit(Y, labels, W=W)
    assert list(est.categories_) == ["control", "treated"]
    coded = direct(W, D.astype(float), Y)
    assert est.ate(T0="control", T1="treated") == pytest.approx(coded.ate())
    with pytest.raises(ValueError, match="categories"):
        est.ate()  # EconML's default T0=0, T1=1 are not labels here


def test_constructor_arguments_map_or_warn(data):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    Y, T, _, W = data
    est = sd_econml.LinearDML(model_t=LinearRegression(), cv=3, mc_iters=2, random_state=1,
                              estimator=StructuralDMLRegressor(**TINY))
    inner = est._make_estimator()
    assert (inner.cv, inner.n_rep, inner.random_state) == (3, 2, 1)
    assert isinstance(inner.lambda_model, LinearRegression)
    with pytest.warns(UserWarning, match="model_y=.* is not used"):
        sd_econml.LinearDML(model_y=LinearRegression())._make_estimator()
    with pytest.warns(UserWarning, match="classifier"):
        sd_econml.LinearDML(model_t=LogisticRegression())._make_estimator()


def test_ate_table_takes_econml_fits_as_they_come(data):
    econml_dml = pytest.importorskip("econml.dml")
    from sklearn.linear_model import LinearRegression

    Y, T, X, W = data
    models = dict(model_y=LinearRegression(), model_t=LinearRegression(), random_state=0)
    constant = econml_dml.LinearDML(**models).fit(Y, T, X=None, W=W)
    hetero = econml_dml.LinearDML(**models).fit(Y, T, X=X, W=W)
    ours = sd_econml.LinearDML(estimator=StructuralDMLRegressor(**TINY),
                               random_state=0).fit(Y, T, W=W)
    for X_arg in (None, X):  # a constant-effect fit needs no X, and ignores one
        table = ate_table({"constant": constant, "ours": ours}, X=X_arg)
        assert table.loc["constant", "point_estimate"] == pytest.approx(constant.ate())
        assert "X=None" in table.loc["constant", "note"]
        assert table.loc["ours", "point_estimate"] == ours.ate()
    table = ate_table({"hetero": hetero}, X=X)
    assert table.loc["hetero", "point_estimate"] == pytest.approx(hetero.ate(X))
    with pytest.raises(ValueError, match="pass X"):
        ate_table({"hetero": hetero})


def test_ate_table_takes_doubleml_fits_as_they_come(data):
    dml = pytest.importorskip("doubleml")
    from sklearn.linear_model import LinearRegression, LogisticRegression

    Y, T, X, W = data
    two = np.column_stack([T, W[:, 1]])
    plr = dml.DoubleMLPLR(dml.DoubleMLData.from_arrays(X, Y, two), LinearRegression(),
                          LinearRegression()).fit()
    table = ate_table({"plr": plr}, T0=0, T1=2)
    assert list(table.index) == ["plr [d1]", "plr [d2]"]  # one row per treatment
    np.testing.assert_allclose(table.point_estimate, 2 * plr.coef)
    D = (T > 0).astype(float)
    irm = dml.DoubleMLIRM(dml.DoubleMLData.from_arrays(X, Y, D), LinearRegression(),
                          LogisticRegression()).fit()
    assert ate_table({"irm": irm}).loc["irm", "point_estimate"] == pytest.approx(irm.coef[0])
    with pytest.raises(ValueError, match="T0=0, T1=1"):
        ate_table({"irm": irm}, T1=2)
    unfitted = dml.DoubleMLPLR(dml.DoubleMLData.from_arrays(X, Y, T), LinearRegression(),
                               LinearRegression())
    with pytest.raises(ValueError, match="fit"):
        ate_table({"unfitted": unfitted})
