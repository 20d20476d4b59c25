"""Λ(x) estimators against known truths."""

import numpy as np
import pytest

from sklearn_dml._lambda import (
    choose_lambda_method,
    index_moment_lambda,
    integrate_hessian,
    regularize,
    solve,
    treatment_support,
)
from sklearn_dml.families import LinearFamily, LogitFamily
from sklearn_dml.families._index import sigmoid


def test_linear_binary_treatment_lambda_is_propensity_matrix(rng):
    n = 4000
    X = rng.normal(size=(n, 3))
    p = sigmoid(0.8 * X[:, 0])
    T = rng.binomial(1, p).astype(float)[:, None]
    lam, floored = index_moment_lambda(np.full(n, 2.0), T, X, X[:500], None)
    truth = 2 * np.stack([np.stack([np.ones(500), p[:500]], -1),
                          np.stack([p[:500], p[:500]], -1)], 1)
    err = np.abs(lam - truth).mean(axis=0) / 2  # on the propensity scale
    baseline = np.abs(p[:500] - p.mean()).mean()  # a constant Λ, which breaks orthogonality
    assert err.max() < 0.05 and err.max() < baseline / 3, (err, baseline)
    assert np.all(np.linalg.eigvalsh(lam) > 0)


def test_linear_continuous_treatment_lambda_recovers_moments(rng):
    n = 4000
    X = rng.normal(size=(n, 3))
    m = 0.5 * X[:, 0]
    T = (m + rng.normal(size=n))[:, None]
    lam, _ = index_moment_lambda(np.full(n, 2.0), T, X, X[:500], None)
    np.testing.assert_allclose(lam[:, 0, 1].mean(), 2 * m[:500].mean(), atol=0.05)
    # E[T^2 | x] = m^2 + 1: out-of-fold residuals keep the variance near 1
    resid_var = lam[:, 1, 1] / 2 - (lam[:, 0, 1] / 2) ** 2
    assert 0.85 < resid_var.mean() < 1.15, resid_var.mean()


def test_randomized_lambda_by_exact_enumeration(rng):
    family = LogitFamily()
    theta = rng.normal(size=(30, 2))
    values, probs = treatment_support(([0.0, 1.0], [0.3, 0.7]), None or np.zeros((1, 1)), rng)
    lam = integrate_hessian(family, theta, values, probs)
    s0, s1 = sigmoid(theta[:, 0]), sigmoid(theta[:, 0] + theta[:, 1])
    v0, v1 = s0 * (1 - s0), s1 * (1 - s1)
    np.testing.assert_allclose(lam[:, 0, 0], 0.3 * v0 + 0.7 * v1)
    np.testing.assert_allclose(lam[:, 1, 1], 0.7 * v1)


def test_empirical_law_enumerates_distinct_values(rng):
    T = rng.binomial(1, 0.25, size=(1000, 1)).astype(float)
    values, probs = treatment_support("empirical", T, rng)
    assert values.shape == (2, 1)
    np.testing.assert_allclose(probs[1], T.mean())


def test_regularize_floors_and_solves():
    L = np.array([[[2.0, 0.0], [0.0, -1.0]], [[1.0, 0.2], [0.2, 1.0]]])
    w, V, raised, raw_min = regularize(L, 1e-2)
    assert raised.tolist() == [True, False]
    assert raw_min[0] == -1.0
    assert w.min() >= 2e-2 - 1e-15
    rhs = np.array([[1.0, 1.0], [1.0, -1.0]])
    np.testing.assert_allclose(solve(w[1:], V[1:], rhs[1:]),
                               np.linalg.solve(L[1:], rhs[1:, :, None])[..., 0])


def test_regime_choice_and_errors():
    assert choose_lambda_method("auto", LinearFamily(), None) == "analytic"
    assert choose_lambda_method("auto", LogitFamily(), None) == "regression"
    assert choose_lambda_method("auto", LogitFamily(), "empirical") == "randomized"
    with pytest.raises(ValueError, match="free of θ and y"):
        choose_lambda_method("analytic", LogitFamily(), None)


def test_generic_hessian_regression_stays_psd(rng):
    """Noisy PSD Hessians averaged by the default forest stay PSD (entry-wise fits need not)."""
    from sklearn_dml._lambda import regress_hessian

    n, d = 1500, 3
    X = rng.normal(size=(n, 2))
    A = rng.normal(size=(n, d, 1)) * (1 + 0.5 * X[:, :1, None])
    H = A @ np.swapaxes(A, 1, 2)  # rank-one PSD per row: very noisy entries
    lam = regress_hessian(H, X, X[:200], None)
    assert np.linalg.eigvalsh(lam).min() > -1e-10
    # and it tracks the x-dependence of E[A A'] = (1 + 0.5 x1)^2 I
    truth = (1 + 0.5 * X[:200, 0]) ** 2
    assert np.corrcoef(lam[:, 0, 0], truth)[0, 1] > 0.7
