"""Sample weights in the Λ stage: Λ(x) is the curvature given x of the weighted population.

Where the weights depend on T or Y given x (survey weights that oversample the treated,
choice-based sampling), the weighted law of T given x differs from the unweighted one, and
a Λ̂ fitted without the weights leaves the correction off by the ratio of the two. Integer
weights must act as repeated rows in every regression the stage fits.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.tree import DecisionTreeRegressor

import sklearn_dml as sd
from sklearn_dml._lambda import (
    conditional_law,
    index_moment_lambda,
    project_crossfitted,
    regress_hessian,
    treatment_support,
)
from sklearn_dml._lambda._moments import neighbour_law

FAST = dict(hidden_dims=(16,), max_epochs=30, random_state=0)


@pytest.fixture
def rows():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    T = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0]))).astype(float)[:, None]
    k = rng.randint(1, 4, size=300)  # integer weights: k[i] copies of row i
    return X, T, k, np.repeat(np.arange(300), k)


def test_integer_weights_are_repeated_rows_in_the_propensity():
    """With a discrete x and a regressor that fits cell means (a full tree), the weighted
    propensity, e·w̄₁ / (e·w̄₁ + (1 − e)·w̄₀), is the propensity of the repeated rows."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(300, 1)).astype(float)
    T = rng.binomial(1, 0.2 + 0.15 * X[:, 0]).astype(float)[:, None]
    k = rng.randint(1, 4, size=300) + 2 * T[:, 0].astype(int)  # the treated weigh more
    copies = np.repeat(np.arange(300), k)
    model, rng = DecisionTreeRegressor(), np.random.RandomState(0)
    _, weighted, _ = conditional_law(T, X, X[:50], model, rng, sample_weight=k.astype(float))
    _, repeated, _ = conditional_law(T[copies], X[copies], X[:50], model, rng)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-10)
    lam_w, _ = index_moment_lambda(np.ones(300), T, X, X[:50], model,
                                   sample_weight=k.astype(float))
    lam_r, _ = index_moment_lambda(np.ones(copies.size), T[copies], X[copies], X[:50], model)
    np.testing.assert_allclose(lam_w, lam_r, rtol=1e-10)


def test_integer_weights_are_repeated_rows_in_hessian_and_projection_regressions(rows):
    X, T, k, copies = rows
    H = np.einsum("ni,nj->nij", np.column_stack([np.ones(300), T]), np.column_stack(
        [np.ones(300), T])) * np.exp(X[:, :1, None])
    weighted = regress_hessian(H, X, X[:40], LinearRegression(), jointly=False,
                               sample_weight=k.astype(float))
    repeated = regress_hessian(H[copies], X[copies], X[:40], LinearRegression(), jointly=False)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-10)

    J = np.column_stack([X[:, 1] * T[:, 0], X[:, 2] ** 2])
    fold_id = np.arange(300) % 3
    weighted = project_crossfitted(J, X, fold_id, LinearRegression(),
                                   sample_weight=k.astype(float))
    repeated = project_crossfitted(J[copies], X[copies], fold_id[copies], LinearRegression())
    first = np.concatenate([[0], np.cumsum(k)[:-1]])  # each row's first copy
    np.testing.assert_allclose(weighted, repeated[first], rtol=1e-10)


def test_integer_weights_are_repeated_rows_in_the_empirical_and_neighbour_laws(rows):
    X, T, k, copies = rows
    T3 = np.round(X[:, :1] * 2) / 2  # a few distinct values
    values, probs = treatment_support("empirical", T3, np.random.RandomState(0),
                                      sample_weight=k.astype(float))
    values_r, probs_r = treatment_support("empirical", T3[copies], np.random.RandomState(0))
    np.testing.assert_array_equal(values, values_r)
    np.testing.assert_allclose(probs, probs_r, rtol=1e-12)

    tables = np.random.RandomState(1).normal(size=(300, 4))
    _, probs, _ = neighbour_law(tables, X, X[:20], n_points=6, sample_weight=k.astype(float))
    _, plain, _ = neighbour_law(tables, X, X[:20], n_points=6)
    idx = np.argsort(((X[:20, None] - X[None]) ** 2).sum(-1), axis=1)[:, :6]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # each neighbour's probability is its weight over the neighbours' total weight
    np.testing.assert_allclose(np.sort(probs, axis=1), np.sort(
        k[idx] / k[idx].sum(axis=1, keepdims=True), axis=1), rtol=1e-12)
    np.testing.assert_allclose(plain, 1 / 6)


@pytest.mark.parametrize("lambda_method, lambda_model", [
    ("analytic", None), ("conditional", None), ("analytic", "network")])
def test_weights_that_depend_on_t_reach_the_propensity_of_a_fit(lambda_method, lambda_model):
    """Treated rows weighted 4: Λ̂ follows the weighted propensity 4e/(4e + 1 − e), not e."""
    rng = np.random.RandomState(3)
    n = 2000
    X = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-0.8 * X[:, 0]))
    T = rng.binomial(1, e).astype(float)
    Y = 0.5 * X[:, 1] + T * (1 + 0.3 * X[:, 0]) + rng.normal(size=n)
    w = np.where(T == 1, 4.0, 1.0)
    est = sd.StructuralDML(family="linear", lambda_method=lambda_method,
                           lambda_model=lambda_model, **FAST).fit(
        X, T, Y, sample_weight=w)
    propensity = est.lambda_[:, 0, 1] / est.lambda_[:, 0, 0]
    weighted = 4 * e / (4 * e + 1 - e)
    # boosting's own error is about 0.05 here; e and the weighted propensity differ by 0.27
    assert np.abs(propensity - weighted).mean() < 0.07
    assert np.abs(propensity - e).mean() > 0.2


class _Unweighted(RegressorMixin, BaseEstimator):
    """A regressor whose fit takes no sample_weight."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(X.shape[0], self.mean_)


def test_a_lambda_model_without_sample_weight_is_refused_for_unequal_weights():
    rng = np.random.RandomState(0)
    X, T = rng.normal(size=(300, 2)), rng.normal(size=300)
    Y = T + rng.normal(size=300)
    est = sd.StructuralDMLRegressor(lambda_model=_Unweighted(), **FAST)
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        est.fit(X, T, Y, sample_weight=rng.uniform(0.5, 2.0, 300))
    est.fit(X, T, Y, sample_weight=np.full(300, 2.0))  # equal weights: no weighting needed


def test_equal_weights_leave_the_fit_unchanged():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(400, 2))
    T = rng.binomial(1, 0.5, 400).astype(float)
    Y = rng.binomial(1, 1 / (1 + np.exp(-(0.3 * X[:, 0] + T)))).astype(float)
    plain = sd.LogitDML(**FAST).fit(X, T, Y).inference_
    equal = sd.LogitDML(**FAST).fit(X, T, Y, sample_weight=np.full(400, 3.0)).inference_
    np.testing.assert_array_equal(plain.estimate, equal.estimate)
    np.testing.assert_array_equal(plain.stderr, equal.stderr)


@pytest.mark.parametrize("family", ["linear", "logit"])
def test_rescaled_weights_give_the_same_fit(family):
    """Weights are relative: multiplying them all by a constant changes nothing, Λ̂ included."""
    rng = np.random.RandomState(2)
    X = rng.normal(size=(600, 2))
    T = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    eta = 0.3 * X[:, 1] + T
    Y = eta + rng.normal(size=600) if family == "linear" else rng.binomial(
        1, 1 / (1 + np.exp(-eta))).astype(float)
    w = np.exp(0.3 * X[:, 0] + 0.5 * T)
    fits = [sd.StructuralDML(family=family, **FAST).fit(X, T, Y, sample_weight=c * w).inference_
            for c in (1.0, 7.3)]
    np.testing.assert_allclose(fits[0].estimate, fits[1].estimate, rtol=1e-9)
    np.testing.assert_allclose(fits[0].stderr, fits[1].stderr, rtol=1e-9)
