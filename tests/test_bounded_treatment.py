"""A treatment with a mass at its lower bound (0 cigarettes, 0 hours): its moments given x."""

import warnings

import numpy as np
import pytest

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml._lambda._regressors import LinearTrendBoosting, LogTrendBoosting
from sklearn_dml._lambda._strategies import AnalyticLambda
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
    log_trend = LogTrendBoosting(shift=True).fit(X, T).predict(X)
    linear = np.clip(LinearTrendBoosting().fit(X, T).predict(X), T.min(), None)
    assert np.all(log_trend >= T.min())
    log_error = np.median(np.abs(np.log(log_trend[low] / mean[low])))
    assert log_error < 0.5
    assert np.median(np.abs(linear[low] - mean[low])) > 2 * np.median(
        np.abs(log_trend[low] - mean[low]))


def test_log_trend_boosting_takes_sample_weights_and_shifts_to_the_bound():
    X, T, _, _, _ = _zero_inflated(seed=1)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=T.size)
    shifted = LogTrendBoosting(shift=True).fit(X, T - 5.0, sample_weight=weights)
    plain = LogTrendBoosting(shift=True).fit(X, T, sample_weight=weights)
    np.testing.assert_allclose(shifted.predict(X) + 5.0, plain.predict(X), rtol=1e-6)


@pytest.mark.parametrize("kind, bounded", [
    ("zero-inflated", True), ("normal", False), ("binary", False), ("two columns", False)])
def test_a_mass_at_the_lower_bound_is_what_selects_the_log_trend(kind, bounded):
    X, T, _, _, _ = _zero_inflated()
    rng = np.random.default_rng(0)
    T = {"zero-inflated": T[:, None], "normal": rng.normal(size=(T.size, 1)),
         "binary": (T[:, None] > 0).astype(float),
         "two columns": np.column_stack([T, rng.normal(size=T.size)])}[kind]
    strategy = AnalyticLambda(get_family("linear"))
    strategy.check_design(T, [f"T{j}" for j in range(T.shape[1])])
    assert strategy.bounded is bounded
    assert isinstance(strategy.mean_model(0), LogTrendBoosting) is bounded
    assert isinstance(strategy.moment_model(0), LogTrendBoosting) is bounded


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
