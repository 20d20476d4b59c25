"""lambda_model="network": the Λ regressions as a batch of small networks."""

import numpy as np
import pytest

import sklearn_dml as sd
from sklearn_dml._lambda._networks import (
    MomentTask,
    fit_predict_networks,
    network_config,
    network_weighted_moments,
)
from sklearn_dml._training import TrainConfig, train_ensemble
from sklearn_dml.datasets import make_family_data, make_linear_confounded, make_logit

CONFIG = network_config(TrainConfig(hidden_dims=(32, 16), max_epochs=100))


def _covariates(n, d=3, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d)).astype(np.float32)


def test_regression_recovers_function_and_copies_constants():
    X = _covariates(3000)
    rng = np.random.RandomState(1)
    truth = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    y = np.column_stack([truth + rng.normal(scale=0.3, size=3000), np.full(3000, 2.5)])
    fit, test = np.arange(2500), np.arange(2500, 3000)
    pred, = fit_predict_networks(X, [(fit, y[fit], test)], [0], CONFIG, train_ensemble)
    rmse = np.sqrt(np.mean((pred[:, 0] - truth[test]) ** 2))
    assert rmse < 0.15, rmse  # noise SD 0.3; the constant predictor's RMSE is 0.9
    assert np.all(pred[:, 1] == 2.5)


def test_positive_columns_stay_positive():
    X = _covariates(2000)
    rng = np.random.RandomState(2)
    # a heavy-tailed positive target that is nearly zero for most x
    y = np.exp(3 * X[:, :1]) * rng.exponential(size=(2000, 1))
    rows = np.arange(2000)
    plain, = fit_predict_networks(X, [(rows, y, rows)], [0], CONFIG, train_ensemble)
    positive, = fit_predict_networks(X, [(rows, y, rows)], [0], CONFIG, train_ensemble,
                                     positive=[True])
    assert plain.min() < 0  # what an unconstrained fit does here
    assert positive.min() > 0


def test_members_do_not_interact():
    X = _covariates(2000)
    rng = np.random.RandomState(3)
    y1 = (X[:, :1] + rng.normal(size=(2000, 1))).astype(float)
    y2 = (np.cos(X[:, 1:2]) + rng.normal(size=(2000, 1))).astype(float)
    t1 = (np.arange(0, 1500), y1[:1500], np.arange(1500, 2000))
    t2 = (np.arange(500, 2000), y2[500:], np.arange(0, 500))
    together = fit_predict_networks(X, [t1, t2], [11, 12], CONFIG, train_ensemble)
    alone = fit_predict_networks(X, [t2], [12], CONFIG, train_ensemble)
    np.testing.assert_allclose(together[1], alone[0], rtol=1e-4, atol=1e-5)


def test_moments_of_treatment_given_x():
    """Unit weights: m(x) = E[T | x] and S(x) = Var(T | x), against their known values."""
    n = 6000
    X = _covariates(n)
    rng = np.random.RandomState(4)
    mean = 0.8 * X[:, 0]
    sd = np.exp(0.4 * X[:, 1])
    T = (mean + sd * rng.normal(size=n))[:, None]
    test = np.arange(5000, n)
    folds = [MomentTask(d2=np.ones(5000), T=T[:5000], fit_rows=np.arange(5000),
                        pred_rows=test)]
    # the estimators' default networks: smaller ones fitted S 16% low here
    (a, m, S, floored, resid), = network_weighted_moments(
        folds, X, [5], network_config(TrainConfig()), train_ensemble)
    assert np.all(a == 1.0)
    assert np.corrcoef(m[:, 0], mean[test])[0, 1] > 0.95
    assert np.corrcoef(S[:, 0, 0], sd[test] ** 2)[0, 1] > 0.8
    assert abs(np.mean(S[:, 0, 0]) / np.mean(sd[test] ** 2) - 1) < 0.15
    assert resid.shape == (5000, 1)  # out-of-fold residuals, for the conditional law
    assert abs(np.std(resid) / np.sqrt(np.mean(sd[:5000] ** 2)) - 1) < 0.1


def test_binary_treatment_gives_clipped_propensity():
    n = 3000
    X = _covariates(n)
    e = 1 / (1 + np.exp(-2 * X[:, 0]))
    T = (np.random.RandomState(6).uniform(size=n) < e).astype(float)[:, None]
    folds = [MomentTask(d2=np.ones(n), T=T, fit_rows=np.arange(n), pred_rows=np.arange(n))]
    (_, m, S, _, resid), = network_weighted_moments(folds, X, [7], CONFIG, train_ensemble)
    assert resid is None
    assert m.min() >= 0.01 and m.max() <= 0.99
    np.testing.assert_allclose(S[:, 0, 0], m[:, 0] * (1 - m[:, 0]))
    assert np.corrcoef(m[:, 0], e)[0, 1] > 0.95


@pytest.mark.parametrize("target", ["beta", "ame"])
def test_logit_regime_c_against_truth_and_boosting(target):
    data = make_logit(4000, random_state=3)
    key = "E[beta]" if target == "beta" else "AME[T]"
    fits = [sd.LogitDML(target=target, lambda_model=model, random_state=0)
            .fit(data.X, data.T, data.Y) for model in (None, "network")]
    boosted, networks = (f.inference_ for f in fits)
    assert abs(networks.estimate[0] - data.truth[key]) < 3 * networks.stderr[0]
    assert abs(networks.estimate[0] - boosted.estimate[0]) < 0.5 * boosted.stderr[0]
    assert abs(networks.stderr[0] / boosted.stderr[0] - 1) < 0.2


@pytest.mark.parametrize("make", [
    lambda: make_linear_confounded(3000, random_state=1),
    lambda: make_linear_confounded(3000, treatment="binary", random_state=1),
    lambda: make_family_data("heteroskedastic", 3000, random_state=1),
    lambda: make_family_data("poisson", 3000, random_state=1),
])
def test_other_lambda_methods_against_truth(make):
    """analytic (continuous and binary T), conditional, and regression with unbounded
    weights (Poisson: a(x) = E[μ | x] must stay positive)."""
    data = make()
    family = getattr(data, "family", None)
    est = (sd.StructuralDMLRegressor if family is None else
           {"heteroskedastic": sd.HeteroskedasticDML, "poisson": sd.PoissonDML}[family])
    fit = est(target="beta", lambda_model="network", random_state=0).fit(data.X, data.T, data.Y)
    boosted = est(target="beta", random_state=0).fit(data.X, data.T, data.Y)
    estimate, stderr = fit.inference_.estimate[0], fit.inference_.stderr[0]
    assert abs(estimate - data.truth["E[beta]"]) < 3 * stderr
    assert abs(stderr / boosted.inference_.stderr[0] - 1) < 0.25


def test_results_do_not_depend_on_n_jobs():
    data = make_logit(1500, random_state=0)
    kw = dict(lambda_model="network", hidden_dims=(16,), max_epochs=30, random_state=0)
    one = sd.LogitDML(**kw).fit(data.X, data.T, data.Y)
    two = sd.LogitDML(n_jobs=2, **kw).fit(data.X, data.T, data.Y)
    np.testing.assert_allclose(one.inference_.estimate, two.inference_.estimate, rtol=1e-5)


def test_bad_lambda_model_is_refused():
    data = make_logit(300, random_state=0)
    # scikit-learn's parameter validation names the parameter and what it must be
    with pytest.raises(ValueError, match="'lambda_model' parameter .* must be None, a str "
                       "among {'network'} or an object implementing 'fit' and 'predict'"):
        sd.LogitDML(lambda_model="networks").fit(data.X, data.T, data.Y)
    with pytest.raises(ValueError, match="'lambda_model' parameter"):
        sd.LogitDML(lambda_model=object()).fit(data.X, data.T, data.Y)
    with pytest.raises(ValueError, match="lambda_model must be None"):
        sd._lambda.check_lambda_model(object())  # the check without parameter validation
    tobit = make_family_data("tobit", 300, random_state=0)
    with pytest.raises(ValueError, match="whole Hessian matrices"):
        sd.TobitDML(lambda_model="network").fit(tobit.X, tobit.T, tobit.Y)
