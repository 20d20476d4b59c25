"""A treatment with a mass at its lower bound (0 cigarettes, 0 hours): its moments given x."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._lambda._moments import shift_lambda
from sklearn_dml._lambda._regressors import LinearTrendBoosting, LogTrendBoosting
from sklearn_dml._lambda._strategies import AnalyticLambda, RegressionLambda
from sklearn_dml.families import get_family


def _zero_inflated(seed=0, n=2000):
    """T = 0 on about 70% of rows (fewer at large x₀), log-normal otherwise; the true
    E[T | x] and Var(T | x)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    positive = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) + 0.8 * X[:, 0])))
    log_mean = 0.3 * X[:, 0] + 1.0
    T = np.where(rng.random(n) < positive, np.exp(log_mean + 0.5 * rng.normal(size=n)), 0.0)
    mean = positive * np.exp(log_mean + 0.125)
    variance = positive * np.exp(2 * log_mean + 0.5) - mean ** 2
    Y = X[:, 0] + (0.5 + 0.2 * np.tanh(X[:, 1])) * T + rng.normal(size=n)
    return X, T, Y, mean, variance


def test_log_trend_boosting_follows_a_mean_that_spans_orders_of_magnitude():
    X, T, _, mean, _ = _zero_inflated()
    low = X[:, 0] < -1  # T mostly 0: the mean is 0.1-0.3 there, 3-10 at x₀ > 1
    log_trend = LogTrendBoosting().fit(X, T).predict(X)
    linear = np.clip(LinearTrendBoosting().fit(X, T).predict(X), T.min(), None)
    assert np.all(log_trend >= T.min())
    log_error = np.median(np.abs(np.log(log_trend[low] / mean[low])))
    assert log_error < 0.5
    assert np.median(np.abs(linear[low] - mean[low])) > 2 * np.median(
        np.abs(log_trend[low] - mean[low]))


def test_log_trend_boosting_fits_a_target_negative_on_a_few_rows_as_it_is():
    """A weighted moment w·T whose weight is negative on a few rows: the trend follows y's
    positive part and the trees the ratio of y itself, so the negative rows lower the
    fit by what they take from y's mean."""
    X, T, _, _, _ = _zero_inflated(seed=1)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 2.0, size=T.size)
    y = T * np.where(rng.random(T.size) < 0.05, -0.5, 1.0)
    positive = np.maximum(y, 0.0)
    fitted = LogTrendBoosting().fit(X, y, sample_weight=weights).predict(X)
    clipped = LogTrendBoosting().fit(X, positive, sample_weight=weights).predict(X)
    excess = np.average(positive - y, weights=weights)
    assert 0.7 < np.average(clipped - fitted, weights=weights) / excess < 1.3


def test_shift_lambda_gives_the_moments_of_the_treatment_from_those_above_its_bound():
    rng = np.random.default_rng(0)
    t, w, lower = rng.exponential(size=(500, 1)), rng.uniform(size=500), -1.7

    def moments(values):  # E[w z z'] over the rows
        return np.einsum("n,ni,nj->ij", w, values, values)[None] / w.size

    z = np.column_stack([np.ones(500), t])
    above = np.column_stack([np.ones(500), t - lower])
    np.testing.assert_allclose(shift_lambda(moments(above), np.array([lower])), moments(z))


@pytest.mark.parametrize("strategy_class, family", [
    (AnalyticLambda, "linear"), (RegressionLambda, "logit")])
@pytest.mark.parametrize("kind, bounded", [
    ("zero-inflated", True), ("normal", False), ("binary", False), ("two columns", False)])
def test_a_mass_at_the_lower_bound_is_what_selects_the_log_trend(kind, bounded, strategy_class,
                                                                 family):
    X, T, _, _, _ = _zero_inflated()
    rng = np.random.default_rng(0)
    T = {"zero-inflated": T[:, None], "normal": rng.normal(size=(T.size, 1)),
         "binary": (T[:, None] > 0).astype(float),
         "two columns": np.column_stack([T, rng.normal(size=T.size)])}[kind]
    strategy = strategy_class(get_family(family))
    strategy.check_design(T, [f"T{j}" for j in range(T.shape[1])])
    assert strategy.bounded is bounded
    assert isinstance(strategy.mean_model(0), LogTrendBoosting) is bounded
    assert isinstance(strategy.variance_model(0), LogTrendBoosting) is bounded
    assert not isinstance(strategy.moment_model(0), LogTrendBoosting)  # E[w | x]
    given = strategy_class(get_family(family), lambda_model=LinearRegression())
    given.check_design(T, [f"T{j}" for j in range(T.shape[1])])
    assert given.mean_model(0) is None and given.variance_model(0) is None


def test_the_variance_of_a_zero_inflated_treatment_is_not_overstated_where_it_is_small():
    """Where T is mostly 0 its variance is small and the efficient influence function's
    weights 1/Var(T | x) are largest: boosting alone put Var-hat there at 5-8 times the
    truth (benchmarks/diagnose_large_n.py --design zero-inflated-linear)."""
    X, T, Y, mean, variance = _zero_inflated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = StructuralDMLRegressor(random_state=0, target="beta").fit(X, T, Y)
    lam = est.lambda_
    m_hat = lam[:, 0, 1] / lam[:, 0, 0]
    s_hat = lam[:, 1, 1] / lam[:, 0, 0] - m_hat ** 2
    low = X[:, 0] < -1
    assert np.median(s_hat[low] / variance[low]) < 2.5
    assert np.median(np.abs(m_hat[low] / mean[low] - 1)) < 0.5


def _zero_inflated_logit_lambda(seed=0, n=2000):
    """The zero-inflated T under Y ~ Bernoulli(σ(0.3 x₀ − 0.5 + β(x)·T)), and the true
    Λ(x) = E[p(1 − p) z z' | x] over T's law (Gauss-Hermite on log T)."""
    X, T, _, _, _ = _zero_inflated(seed, n)
    rng = np.random.default_rng(seed + 1000)
    positive = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) + 0.8 * X[:, 0])))
    theta = np.column_stack([0.3 * X[:, 0] - 0.5, 0.3 + 0.1 * np.tanh(X[:, 1])])
    Y = (rng.random(n) < 1 / (1 + np.exp(-(theta[:, 0] + theta[:, 1] * T)))).astype(float)
    nodes, weights = np.polynomial.hermite_e.hermegauss(30)
    t = np.column_stack([np.zeros(n), np.exp(0.3 * X[:, :1] + 1.0 + 0.5 * nodes)])
    law = np.column_stack([1 - positive, positive[:, None] * weights / weights.sum()])
    p = 1 / (1 + np.exp(-(theta[:, :1] + theta[:, 1:] * t)))
    c = law * p * (1 - p)
    moments = [c.sum(1), (c * t).sum(1), (c * t * t).sum(1)]
    lam = np.stack([np.stack(moments[:2], -1), np.stack(moments[1:], -1)], 1)
    return X, T, Y, lam


def test_regime_c_reads_a_zero_inflated_treatment_as_the_linear_model_does():
    """The logit's Λ̂ (regime C's weighted moments) where T is mostly 0: boosting alone
    overstated T's weighted variance there by 40-50% (Λ̂⁻¹ up to 105 times the truth over
    100 samples; ``diagnose_large_n.py --design zero-inflated-logit``)."""
    X, T, Y, lam = _zero_inflated_logit_lambda()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LogitDML(random_state=0, target="beta").fit(X, T, Y)

    def variance(L):
        return L[:, 1, 1] / L[:, 0, 0] - (L[:, 0, 1] / L[:, 0, 0]) ** 2

    low = X[:, 0] < -1
    assert np.median(variance(est.lambda_)[low] / variance(lam)[low]) < 1.25
    inverse_ratio = np.linalg.inv(est.lambda_)[:, 1, 1] / np.linalg.inv(lam)[:, 1, 1]
    assert 0.8 < np.median(inverse_ratio[low]) < 1.25
