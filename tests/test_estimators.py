"""End-to-end behaviour of the public estimators on simulated data with known truth."""

import numpy as np
import pytest

from sklearn_dml import LogitDML, StructuralDML, StructuralDMLRegressor, Summary, pack_targets
from sklearn_dml.datasets import make_linear_confounded, make_logit
from sklearn_dml.targets import AverageEffect, AverageMarginalEffect, AverageParameter


@pytest.fixture(scope="module")
def linear_fit():
    data = make_linear_confounded(1500, random_state=11)
    est = StructuralDMLRegressor(hidden_dims=(32, 16), random_state=0).fit(data.X, data.T, data.Y)
    return data, est


def test_linear_recovers_truth_within_its_interval(linear_fit):
    """Small-n recovery: E[beta] within 3 SE of 1.25, SE of the right size."""
    data, est = linear_fit
    res = est.inference_
    assert res.names == ["E[alpha]", "E[beta]"]
    j = res.names.index("E[beta]")
    assert abs(res.estimate[j] - 1.25) < 3 * res.stderr[j]
    # sampling SD of E[beta] at n=1500 is about 0.03 (from the Monte Carlo study)
    assert 0.015 < res.stderr[j] < 0.06
    # the cross-fitted θ̂ tracks the true β(x)
    assert np.corrcoef(est.theta_[:, 1], data.theta[:, 1])[0, 1] > 0.8


def test_linear_uses_regime_b_with_little_regularization(linear_fit):
    data, est = linear_fit
    assert est.inference_.diagnostics["lambda_method"] == "analytic"
    assert est.inference_.diagnostics["share_regularized"] < 0.05


def test_logit_randomized_recovers_truth():
    data = make_logit(2000, treatment="randomized", random_state=4)
    est = LogitDML(hidden_dims=(32, 16), treatment_law=data.treatment_law, random_state=0)
    res = est.fit(data.X, data.T, data.Y).inference_
    assert est.lambda_method_ == "randomized"
    assert res.names == ["E[beta]", "ATE[T]"]  # a 0/1 treatment: the effect of 0 -> 1
    ame = est.inference("ame")
    for name, estimate, se in [(n, e, s) for n, e, s in zip(res.names, res.estimate,
                                                             res.stderr)] + [
            ("AME[T]", ame.estimate[0], ame.stderr[0])]:
        assert abs(estimate - data.truth[name]) < 3 * se, name


def test_logit_observational_uses_three_way_splitting():
    data = make_logit(1200, random_state=2)
    est = LogitDML(hidden_dims=(16,), max_epochs=30, random_state=0).fit(data.X, data.T, data.Y)
    assert est.lambda_method_ == "regression"
    res = est.inference_
    j = res.names.index("AME[T]")
    assert abs(res.estimate[j] - data.truth["AME[T]"]) < 3 * res.stderr[j]


def test_new_target_without_refitting(linear_fit):
    data, est = linear_fit
    before = est.models_
    ame = est.inference(AverageMarginalEffect(0))
    beta = est.inference("beta")
    # in the linear model the AME equals E[beta], influence function included
    np.testing.assert_allclose(ame.estimate, beta.estimate)
    np.testing.assert_allclose(ame.stderr, beta.stderr)
    ate = est.inference(AverageEffect(0.0, 2.0))
    np.testing.assert_allclose(ate.estimate, 2 * beta.estimate)
    assert est.models_ is before


def test_joint_inference_contrast_and_ratio(linear_fit):
    _, est = linear_fit
    res = est.inference(["alpha", "beta"])
    assert res.cov.shape == (2, 2)
    diff = res.contrast([1.0, -1.0])
    expected = np.sqrt(res.cov[0, 0] + res.cov[1, 1] - 2 * res.cov[0, 1])
    np.testing.assert_allclose(diff.stderr[0], expected)
    np.testing.assert_allclose((res["E[alpha]"] - res["E[beta]"]).estimate, diff.estimate)
    ratio = res.ratio("E[beta]", "E[alpha]") if abs(res.estimate[0]) > 1e-6 else None
    if ratio is not None:
        np.testing.assert_allclose(ratio.estimate, res.estimate[1] / res.estimate[0])
    joint = res.conf_int(joint=True)
    point = res.conf_int()
    assert np.all(joint[:, 1] - joint[:, 0] >= point[:, 1] - point[:, 0])


def test_subgroup_average_with_where(linear_fit):
    data, est = linear_fit
    high = data.X[:, 0] > 0
    lo, hi = est.inference("beta", where=~high), est.inference("beta", where=high)
    # beta(x) = 1 + 0.5 x1 + ...: the x1 > 0 group has the larger average, by about 0.8
    assert hi.estimate[0] - lo.estimate[0] > 0.4


def test_summary_renders_every_way(linear_fit):
    pd = pytest.importorskip("pandas")
    _, est = linear_fit
    s = est.summary(alpha=0.1)
    assert isinstance(s, Summary)
    text = str(s)
    assert "E[beta]" in text and "point_estimate" in text and "lambda_min_eig" in text
    assert "<table>" in s._repr_html_()
    assert "\\begin{tabular}" in s.as_latex()
    assert s.as_csv().startswith("target,point_estimate")
    df = s.to_frame()
    assert list(df.columns) == ["point_estimate", "stderr", "zstat", "pvalue", "ci_lower",
                                "ci_upper"]
    assert isinstance(df, pd.DataFrame)
    assert list(s.to_frame(style="doubleml").columns)[:2] == ["coef", "std err"]
    # 90% interval = estimate ± 1.645 SE
    np.testing.assert_allclose(df["ci_upper"] - df["point_estimate"], 1.6449 * df["stderr"],
                               rtol=1e-4)


def test_predict_predict_outcome_score(linear_fit):
    data, est = linear_fit
    theta = est.predict(data.X[:50])
    assert theta.shape == (50, 2)
    mu = est.predict_outcome(data.X[:50], data.T[:50])
    np.testing.assert_allclose(mu, theta[:, 0] + theta[:, 1] * data.T[:50])
    s = est.score(data.X, data.T, data.Y)
    assert s == -est.structural_loss(data.X, data.T, data.Y)
    assert s == est.score(data.X, pack_targets(data.T, data.Y))
    # noise variance is 1: the loss of a good fit is near 1, far below Var(Y)
    assert -s < 1.5 < np.var(data.Y)


def test_vector_treatment_and_generic_estimator(rng):
    n = 1200
    X = rng.normal(size=(n, 3))
    T = np.column_stack([0.5 * X[:, 0] + rng.normal(size=n), rng.normal(size=n)])
    Y = X[:, 1] + (1 + 0.5 * X[:, 0]) * T[:, 0] - 0.5 * T[:, 1] + rng.normal(size=n)
    est = StructuralDML(family="linear", hidden_dims=(16,), max_epochs=40, random_state=0)
    res = est.fit(X, T, Y).inference_
    assert est.theta_names_ == ["alpha", "beta[T0]", "beta[T1]"]
    est_b = dict(zip(res.names, res.estimate))
    se_b = dict(zip(res.names, res.stderr))
    assert abs(est_b["E[beta[T0]]"] - 1.0) < 3 * se_b["E[beta[T0]]"]
    assert abs(est_b["E[beta[T1]]"] + 0.5) < 3 * se_b["E[beta[T1]]"]


def test_n_rep_median_aggregation(linear_fit):
    data, _ = linear_fit
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=15, n_rep=3, cv=3,
                                 random_state=0).fit(data.X, data.T, data.Y)
    assert est.inference_.diagnostics["n_rep"] == 3
    assert len(est.models_) == 3
    assert not np.array_equal(est.folds_[0][0], est.folds_[1][0])


def test_parameter_target_by_name_and_index(linear_fit):
    _, est = linear_fit
    a = est.inference(AverageParameter("beta")).estimate
    b = est.inference(1).estimate
    np.testing.assert_array_equal(a, b)


def test_cv_splitter_and_groups(rng):
    from sklearn.model_selection import GroupKFold, KFold

    data = make_linear_confounded(400, random_state=1)
    kw = dict(hidden_dims=(8,), max_epochs=5, random_state=0)
    est = StructuralDMLRegressor(cv=KFold(4), **kw).fit(data.X, data.T, data.Y)
    assert est.n_folds_ == 4
    groups = np.repeat(np.arange(40), 10)
    est = StructuralDMLRegressor(cv=GroupKFold(4), **kw).fit(data.X, data.T, data.Y,
                                                             groups=groups)
    for test in est.folds_[0]:
        assert np.unique(groups[test]).size == test.size // 10  # groups never split
    est = StructuralDMLRegressor(cv=4, **kw).fit(data.X, data.T, data.Y, groups=groups)
    for test in est.folds_[0]:
        assert set(groups[test]).isdisjoint(set(groups[np.setdiff1d(np.arange(400), test)]))


def test_per_row_conditioning_is_exposed(linear_fit):
    data, est = linear_fit
    assert est.lambda_condition_.shape == (data.X.shape[0],)
    assert np.all(est.lambda_condition_ >= 1)
    assert est.lambda_regularized_.dtype == bool
    assert est.lambda_regularized_.mean() == est.inference_.diagnostics["share_regularized"]
