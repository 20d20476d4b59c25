"""Components of θ held constant in x (``homogeneous=``): network, correction, estimators."""

import warnings

import numpy as np
import pytest

import sklearn_dml as sd
from sklearn_dml._homogeneous import HomogeneousBlock, resolve_homogeneous
from sklearn_dml._nets import homogeneous_projector
from sklearn_dml._units import index_theta_map


def _spd(rng, n, d):
    A = rng.normal(size=(n, d, d))
    return A @ A.transpose(0, 2, 1) + d * np.eye(d)


def test_block_is_the_full_solve_when_the_curvature_does_not_vary():
    # with the same Λ on every row the pooled Schur complement is each row's own, so the
    # partialled-out correction is Λ⁻¹ℓ_θ exactly
    rng = np.random.default_rng(0)
    n, d = 50, 4
    lam = np.broadcast_to(_spd(rng, 1, d), (n, d, d)).copy()
    grad = rng.normal(size=(n, d))
    block = HomogeneousBlock.from_rows(lam, grad, lam, [1, 3])
    np.testing.assert_allclose(block.correction(np.ones(n)),
                               np.linalg.solve(lam, grad[..., None])[..., 0], rtol=1e-10)


def test_all_homogeneous_block_is_the_sandwich_and_the_varying_rows_are_partialled():
    rng = np.random.default_rng(1)
    n, d = 200, 3
    lam, hess = _spd(rng, n, d), _spd(rng, n, d)
    grad, w = rng.normal(size=(n, d)), rng.uniform(0.5, 2.0, n)
    every = HomogeneousBlock.from_rows(lam, grad, hess, [0, 1, 2])
    pooled = np.average(hess, axis=0, weights=w)
    np.testing.assert_allclose(every.correction(w), np.linalg.solve(pooled, grad.T).T,
                               rtol=1e-10)
    # one varying component: g from the pooled h_γγ − h_γβ Λ_ββ⁻¹Λ_βγ, β's step Λ_ββ⁻¹(ℓ_β
    # − Λ_βγ g), and the influence adjustment H_β Λ_ββ⁻¹ℓ_β + ā g
    part = HomogeneousBlock.from_rows(lam, grad, hess, [1, 2])
    D = lam[:, 0, 1:] / lam[:, :1, 0]
    schur = hess[:, 1:, 1:] - hess[:, 1:, :1] * D[:, None, :]
    pooled = np.average(schur, axis=0, weights=w)
    g = np.linalg.solve((pooled + pooled.T) / 2,
                        (grad[:, 1:] - lam[:, 1:, 0] * (grad[:, :1] / lam[:, :1, 0])).T).T
    corr = part.correction(w)
    np.testing.assert_allclose(corr[:, 1:], g, rtol=1e-9)
    np.testing.assert_allclose(corr[:, 0], (grad[:, 0] - (lam[:, 0, 1:] * g).sum(1))
                               / lam[:, 0, 0], rtol=1e-9)
    J = rng.normal(size=(n, d))
    a = J[:, 1:] - J[:, :1] * D
    expected = J[:, 0] * grad[:, 0] / lam[:, 0, 0] + g @ np.average(a, axis=0, weights=w)
    np.testing.assert_allclose(part.adjustment(J, w), expected, rtol=1e-9)


def test_projector_keeps_the_user_components_constant_under_a_mixing_units_map():
    # the index units move α with β (α = α̃ − β̃·shift/scale): holding α fixed takes a
    # projector, not a mask
    rng = np.random.default_rng(2)
    M = index_theta_map(np.array([3.0]), np.array([2.0]), 2)
    Q = homogeneous_projector(M, [0])
    W = rng.normal(size=(5, 2))
    h = rng.normal(size=(100, 5))
    theta_user = (h @ W @ Q) @ M.T
    assert np.ptp(theta_user[:, 0]) < 1e-12 and np.ptp(theta_user[:, 1]) > 0.1
    np.testing.assert_array_equal(homogeneous_projector(np.eye(3), [1]), np.diag([1., 0, 1]))
    assert homogeneous_projector(np.eye(3), []) is None


def test_resolve_names_positions_all_and_errors():
    names = ["alpha", "beta"]
    assert resolve_homogeneous(None, names) == []
    assert resolve_homogeneous("all", names) == names
    assert resolve_homogeneous([1, "alpha"], names) == names
    assert resolve_homogeneous("beta", names) == ["beta"]
    with pytest.raises(ValueError, match="not a component or block of θ; the components are"):
        resolve_homogeneous(["gamma"], names)
    with pytest.raises(ValueError, match="position 2 is outside"):
        resolve_homogeneous([2], names)
    blocks = ["alpha[b]", "alpha[c]", "beta[price]", "beta[income|b]", "beta[income|c]",
              "lambda[budget]", "lambda[premium]"]
    assert resolve_homogeneous("lambda", blocks) == blocks[-2:]
    assert resolve_homogeneous(["alpha", "beta[income]"], blocks) == [
        "alpha[b]", "alpha[c]", "beta[income|b]", "beta[income|c]"]


def _partially_linear(n=3000, seed=0, beta=1.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    m = np.tanh(X[:, 0]) + 0.5 * X[:, 1]
    T = m + rng.normal(size=n) * (0.5 + 0.5 * np.abs(X[:, 2]))
    eps = rng.normal(size=n) * (1 + 0.5 * np.abs(X[:, 3]))
    Y = np.sin(X[:, 1]) + 0.5 * X[:, 0] ** 2 + beta * T + eps
    v = T - m
    efficient_se = np.sqrt(np.mean(eps ** 2 * v ** 2)) / np.mean(v ** 2) / np.sqrt(n)
    return X, T, Y, efficient_se


def test_partially_linear_model_reaches_robinsons_efficient_standard_error():
    X, T, Y, efficient_se = _partially_linear()
    est = sd.StructuralDMLRegressor(homogeneous=["beta"], target="beta", random_state=0)
    est.fit(X, T, Y)
    assert est.homogeneous_ == ["beta"]
    se = est.inference_.stderr[0]
    assert abs(se / efficient_se - 1) < 0.06
    assert abs(est.inference_.estimate[0] - 1.5) < 3 * se
    # the same data with β free to vary: E[β(X)] has the larger, nonparametric SE
    free = sd.StructuralDMLRegressor(target="beta", random_state=0).fit(X, T, Y)
    assert free.inference_.stderr[0] > 1.05 * se


def test_homogeneous_components_are_constant_and_equivariant_to_units():
    X, T, Y, _ = _partially_linear(n=1500, seed=1)
    Yb = (Y > np.median(Y)).astype(float)
    kw = dict(homogeneous=["alpha"], target=["alpha", "beta"], hidden_dims=(16,),
              max_epochs=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small-sample influence diagnostics
        est = sd.LogitDML(**kw).fit(X, T, Yb)
        cents = sd.LogitDML(**kw).fit(X, 100 * T, Yb)
    fold = est.folds_[0]
    assert np.ptp(est.theta_[:, 0]) < 1e-5  # one γ̂ solved over all the folds' rows
    assert np.ptp(est.theta_[fold[0], 1]) > 1e-2
    # T in other units: the same α (the index at T = 0) and β / 100
    np.testing.assert_allclose(cents.inference_.estimate, est.inference_.estimate * [1, 0.01],
                               rtol=1e-4)
    np.testing.assert_allclose(cents.inference_.stderr, est.inference_.stderr * [1, 0.01],
                               rtol=1e-4)


def test_constant_component_solves_the_partialled_out_moment():
    # γ̂ is the root of mean(ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β) (β̂(·), Λ̂ fixed), not one Newton step
    # from the folds' γ̃: its correction averages to zero and the plug-in is the estimate
    X, T, Y, _ = _partially_linear(n=1500, seed=2)
    Yb = (Y > np.median(Y)).astype(float)
    est = sd.LogitDML(homogeneous=["beta"], target="beta", hidden_dims=(16,), max_epochs=30,
                      random_state=0).fit(X, T, Yb)
    rep, se = est._reps[0], est.inference_.stderr[0]
    g = rep.homogeneous.constant_step(est._rows.weights)
    assert abs(g.mean()) < 1e-3 * se
    assert np.ptp(rep.theta[:, 1]) < 1e-10
    assert abs(rep.theta[0, 1] - est.inference_.estimate[0]) < 1e-3 * se


def test_unknown_homogeneous_name_is_refused_at_fit():
    X, T, Y, _ = _partially_linear(n=200)
    with pytest.raises(ValueError, match="'gamma' is not a component or block of θ"):
        sd.StructuralDMLRegressor(homogeneous=["gamma"]).fit(X, T, Y)


def test_a_parametric_fit_does_not_warn_about_the_rows_lambda():
    """With T nearly determined by X the rows' Λ̂ is singular on most rows, which the
    heterogeneous fit refuses; the parametric fit's correction pools the observed
    Hessian and never reads the rows' Λ̂, so it neither refuses nor warns (on the RAND
    health insurance data, whose plan covariates fix the coinsurance rate, it warned of
    77%)."""
    rng = np.random.RandomState(0)
    n = 1500
    X = rng.normal(size=(n, 2))
    T = X[:, :1] + 0.02 * rng.normal(size=(n, 1))
    Y = rng.poisson(np.exp(0.2 + 0.3 * T[:, 0])).astype(float)
    params = dict(hidden_dims=(16,), max_epochs=30, random_state=0)
    with pytest.raises(ValueError, match="not identified on most rows"):
        sd.PoissonDML(**params).fit(X, T, Y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = sd.PoissonDML(homogeneous="all", **params).fit(X, T, Y)
    assert not any("was regularized on" in str(w.message) for w in caught)
    assert est.inference_.diagnostics["share_regularized"] > 0.5
