"""Λ(x) estimators against known truths."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

from sklearn_dml import _lambda
from sklearn_dml._lambda import (
    binned_features,
    choose_lambda_method,
    default_lambda_model,
    index_moment_lambda,
    integrate_hessian,
    lambda_features,
    make_lambda_strategy,
    treatment_support,
)
from sklearn_dml._lambda._method import BINARY_CONDITIONAL_ROWS
from sklearn_dml._lambda._moments import weighted_moments
from sklearn_dml._lambda._regressors import LinearTrendBoosting, LogTrendBoosting
from sklearn_dml._linalg import regularize
from sklearn_dml.families import LinearFamily, LogitFamily, TobitFamily
from sklearn_dml.families._index import IndexFamily, sigmoid


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


def test_linear_trend_boosting_keeps_a_linear_mean_in_the_tails(rng):
    """Regime B's default mean regression: where E[T | x] is linear and x skewed, boosting
    alone is flat beyond the bulk; least squares plus boosting on its residuals is not."""

    n = 4000
    X = np.column_stack([np.exp(rng.normal(size=n)), rng.normal(size=(n, 2))])
    m = 2.0 + 0.8 * X[:, 0] - 0.5 * X[:, 1]
    T = m + 1.5 * rng.normal(size=n)
    tail = X[:, 0] > np.quantile(X[:, 0], 0.99)
    trend = LinearTrendBoosting(random_state=0).fit(X, T).predict(X[tail])
    trees = default_lambda_model().fit(X, T).predict(X[tail])
    assert np.abs(trend - m[tail]).mean() < 0.5 * np.abs(trees - m[tail]).mean()
    assert np.abs(trend - m[tail]).mean() < 0.5


def test_analytic_lambda_default_regresses_the_mean_with_a_linear_trend(rng):
    """The linear family's Λ̂ sees x itself and fits E[T | x] with LinearTrendBoosting;
    a lambda_model given by the user serves every regression."""

    default = make_lambda_strategy("analytic", LinearFamily())
    X = rng.normal(size=(50, 2))
    np.testing.assert_array_equal(default.covariates(X, 1), X)
    assert isinstance(default.mean_model(3), LinearTrendBoosting)
    assert default.mean_model(3).random_state == default.mean_model(3).random_state
    given = make_lambda_strategy("analytic", LinearFamily(),
                                 lambda_model=HistGradientBoostingRegressor())
    assert given.mean_model(3) is None
    regression = make_lambda_strategy("regression", LogitFamily())
    assert regression.mean_model(3) is None  # its one regressor serves every moment


def test_regression_lambda_default_is_linear_in_the_dummies_only(rng):
    """Regime C's default for a single-index family: every moment given x by boosting
    plus least squares on the two-valued columns (on the bin codes too, where a dummy
    stays two-valued); the matrix families keep their forest."""

    X = np.column_stack([rng.normal(size=(400, 2)), rng.binomial(1, 0.3, (400, 2)) * 5.0 - 1])
    y = X[:, 0] + 2 * X[:, 2] - X[:, 3] + rng.normal(size=400)
    index = make_lambda_strategy("regression", LogitFamily())
    model = index.moment_model(3)
    assert isinstance(index.seeded_model(3), HistGradientBoostingRegressor)  # the projector
    assert isinstance(model, LinearTrendBoosting) and model.linear_columns == "binary"
    fitted = clone(model).fit(X, y)
    np.testing.assert_array_equal(fitted.columns_, [2, 3])
    on_codes = clone(model).fit(index.covariates(X, 1), y)
    np.testing.assert_array_equal(on_codes.columns_, [2, 3])
    # no two-valued column: the trees alone, as gradient boosting itself predicts
    continuous = clone(model).fit(X[:, :2], y)
    assert continuous.linear_ is None
    np.testing.assert_allclose(continuous.predict(X[:, :2]),
                               default_lambda_model().set_params(random_state=3).fit(
                                   X[:, :2], y).predict(X[:, :2]))
    matrix = make_lambda_strategy("regression", TobitFamily())
    assert isinstance(matrix.seeded_model(3, _lambda._strategies.default_matrix_model),
                      RandomForestRegressor)
    given = make_lambda_strategy("regression", LogitFamily(),
                                 lambda_model=HistGradientBoostingRegressor())
    assert isinstance(given.moment_model(3), HistGradientBoostingRegressor)


def test_index_moments_carry_the_effects_of_many_dummies():
    """T's mean given 30 regions coded as 29 dummies: boosted trees alone, stopped early on
    a noisy target, shrink the regions' effects (by 6-28% over six seeds); least squares
    plus boosting keeps them (slopes 0.96-1.08)."""
    from sklearn_dml._lambda._moments import weighted_moments

    rng = np.random.RandomState(0)
    n, regions = 3000, 30
    region = rng.randint(0, regions, n)
    effect = rng.normal(0.0, 0.6, regions)[region]
    X = np.column_stack([rng.normal(size=(n, 4)), np.eye(regions)[region][:, 1:]])
    T = (0.5 * X[:, 0] + effect + rng.normal(size=n))[:, None]
    d2 = 0.25 * sigmoid(0.5 * X[:, 0]) + 0.05  # ℓ''-like weights that vary with x
    centred = effect - effect.mean()
    slopes = {}
    for name, model in [("trend", LinearTrendBoosting(linear_columns="binary")),
                        ("trees", default_lambda_model())]:
        m = weighted_moments(d2, T, X, X, model)[1][:, 0]
        slopes[name] = np.sum((m - 0.5 * X[:, 0]) * centred) / np.sum(centred ** 2)
    assert abs(slopes["trend"] - 1.0) < 0.1 and slopes["trees"] < 0.9, slopes


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
    w, V, raised, raw_min, _ = regularize(L, 1e-2)
    assert raised.tolist() == [True, False]
    assert raw_min[0] == -1.0
    assert w.min() >= 2e-2 - 1e-15
    rhs = np.array([[1.0, 1.0], [1.0, -1.0]])
    inverse = np.einsum("nij,nj,nkj->nik", V[1:], 1.0 / w[1:], V[1:])
    np.testing.assert_allclose(np.einsum("nij,nj->ni", inverse, rhs[1:]),
                               np.linalg.solve(L[1:], rhs[1:, :, None])[..., 0])


def test_regime_choice_and_errors():
    assert choose_lambda_method("auto", LinearFamily(), None) == "analytic"
    assert choose_lambda_method("auto", LogitFamily(), None) == "regression"
    assert choose_lambda_method("auto", LogitFamily(), "empirical") == "randomized"
    rows = BINARY_CONDITIONAL_ROWS
    binary = (np.arange(rows) % 2.0)[:, None]
    for T in (binary, 2.0 + 3.0 * binary):  # a single two-valued T: its law given X is Bernoulli
        assert choose_lambda_method("auto", LogitFamily(), None, T) == "conditional"
        assert choose_lambda_method("auto", LogitFamily(), None, T[1:]) == "regression"
    three = (np.arange(rows) % 3.0)[:, None]
    assert choose_lambda_method("auto", LogitFamily(), None, three) == "regression"
    assert choose_lambda_method("auto", LogitFamily(), None, np.hstack([binary, binary])) \
        == "regression"
    assert choose_lambda_method("auto", LinearFamily(), None, binary) == "analytic"
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



def test_matrix_forest_trees_grow_on_a_sublinear_subsample(rng):
    """All rows up to MATRIX_TREE_ROWS; beyond, a per-tree sample growing slower than n,
    whose averages stay PSD and track Λ(x)."""
    from sklearn_dml._lambda._hessians import (
        MATRIX_TREE_ROWS,
        matrix_tree_rows,
        regress_hessian,
    )

    assert matrix_tree_rows(MATRIX_TREE_ROWS) is None
    assert matrix_tree_rows(8 * MATRIX_TREE_ROWS) == MATRIX_TREE_ROWS
    big = matrix_tree_rows(10 ** 7)
    assert MATRIX_TREE_ROWS < big < 10 ** 7 / 10
    n, d = MATRIX_TREE_ROWS + 2000, 2
    X = rng.normal(size=(n, 1))
    A = rng.normal(size=(n, d, 1)) * (1 + 0.5 * X[:, :1, None])
    lam = regress_hessian(A @ np.swapaxes(A, 1, 2), X, X[:300], None)
    assert np.linalg.eigvalsh(lam).min() > -1e-10
    assert np.corrcoef(lam[:, 0, 0], (1 + 0.5 * X[:300, 0]) ** 2)[0, 1] > 0.9


INDEX_FAMILIES = ("logit", "probit", "gumbel", "poisson")


def _expected_curvature_torch(family, eta):
    """E[∂²ℓ/∂η² | η] by autodiff of the torch loss, for the test oracle."""
    import torch

    eta = eta.clone().requires_grad_(True)
    if family.name == "poisson":  # ℓ'' = e^η, free of y
        ys = [(torch.zeros_like(eta), torch.ones_like(eta))]
    else:  # binary: average ℓ'' over y ∈ {0, 1} with P(Y = 1 | η)
        p = family.mean_eta(eta)
        ys = [(torch.zeros_like(eta), 1 - p), (torch.ones_like(eta), p)]
    total = 0.0
    for y, prob in ys:
        (g,) = torch.autograd.grad(family.loss_eta(y, eta).sum(), eta, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), eta, create_graph=True)
        total = total + prob * h
    return eta, total


@pytest.mark.parametrize("name", INDEX_FAMILIES)
def test_curvature_log_slope_matches_autodiff(name):
    import torch

    from sklearn_dml.families import get_family

    family = get_family(name)
    eta0 = torch.linspace(-4, 3, 29, dtype=torch.float64)
    eta, c = _expected_curvature_torch(family, eta0)
    (slope,) = torch.autograd.grad(torch.log(c).sum(), eta)
    np.testing.assert_allclose(family.curvature(eta0.numpy()), c.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(family.curvature_log_slope(eta0.numpy()), slope.numpy(),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", INDEX_FAMILIES)
def test_secant_weights_track_the_secant_slope(name):
    """E[w | x, t] under the true law of Y equals the secant slope of E[ℓ' | η] between
    the true η and η̂ = η + Δ up to O(Δ²); the curvature at η̂ misses it by O(Δ)."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import get_family

    family = get_family(name)
    family.secant_weight_cap = None  # the weights' algebra; the clip is tested below
    eta_true = np.linspace(-2.5, 1.5, 9)  # P(Y = 1) up to 0.99 (gumbel), 0.93 (probit)
    if name == "poisson":  # the weights are linear in y: plug in E[Y] = e^η
        ys, probs = [np.exp(eta_true)], [np.ones_like(eta_true)]
    else:
        p = family.mean_eta(eta_true)
        ys, probs = [np.zeros_like(p), np.ones_like(p)], [1 - p, p]

    def errors(delta):
        eta_hat = eta_true + delta

        def expect(fn):
            return sum(q * fn(y) for y, q in zip(ys, probs))

        secant = expect(lambda y: family.d1(y, eta_hat)) / delta  # E[ℓ'(Y, η̂)] / Δ
        plain = expect(lambda y: lambda_index_weights(family, y, eta_hat))
        corrected = expect(lambda y: lambda_index_weights(family, y, eta_hat, secant=True))
        return np.abs(plain - secant) / secant, np.abs(corrected - secant) / secant

    for delta in (0.2, -0.2):
        plain_err, secant_err = errors(delta)
        # (where c'(η̂) = 0 the plain weights are accurate to O(Δ²) too: compare on average)
        assert secant_err.mean() < 0.35 * plain_err.mean(), (delta, secant_err, plain_err)
    # convergence order in Δ: about 2 for the secant weights, 1 for the plain curvature
    (plain_1, secant_1), (plain_2, secant_2) = errors(0.1), errors(0.05)
    order_secant = np.log2(secant_1 / secant_2)
    order_plain = np.log2(plain_1 / plain_2)
    assert np.all(order_secant > 1.7), order_secant
    assert np.median(order_plain) < 1.3, order_plain


@pytest.mark.parametrize("name", INDEX_FAMILIES)
def test_secant_weights_move_to_the_main_fits_error(name):
    """With the auxiliary fit at η̃ = η + 2Δ and the main fit at η̂ = η + Δ, the weights
    given ``eta_main=η̂`` track the secant slope of E[ℓ' | η] between η and η̂ to O(Δ²);
    without it they give the secant to η̃, a miss of order Δ."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import get_family

    family = get_family(name)
    family.secant_weight_cap = None
    eta_true = np.linspace(-2.5, 1.5, 9)
    if name == "poisson":
        ys, probs = [np.exp(eta_true)], [np.ones_like(eta_true)]
    else:
        p = family.mean_eta(eta_true)
        ys, probs = [np.zeros_like(p), np.ones_like(p)], [1 - p, p]

    def errors(delta):
        eta_aux, eta_main = eta_true + 2 * delta, eta_true + delta

        def expect(fn):
            return sum(q * fn(y) for y, q in zip(ys, probs))

        target = expect(lambda y: family.d1(y, eta_main)) / delta
        moved = expect(lambda y: lambda_index_weights(family, y, eta_aux, secant=True,
                                                      eta_main=eta_main))
        stayed = expect(lambda y: lambda_index_weights(family, y, eta_aux, secant=True))
        return np.abs(moved - target) / target, np.abs(stayed - target) / target

    (moved_1, stayed_1), (moved_2, stayed_2) = errors(0.1), errors(0.05)
    assert np.all(np.log2(moved_1 / moved_2) > 1.7), np.log2(moved_1 / moved_2)
    assert np.median(np.log2(stayed_1 / stayed_2)) < 1.3
    assert moved_2.mean() < 0.35 * stayed_2.mean(), (moved_2, stayed_2)


def test_observed_weights_move_to_the_main_fits_error():
    """The probit's observed ℓ''(y, η̃) plus ½·E[ℓ''(Y, η̂) − ℓ''(Y, η̃)] (Y following η̃)
    has mean ℓ''-at-η plus ½·∂ℓ''·(Δη̂ + Δη̃) under the true law: it misses the secant to η̂
    by ½·∂ℓ''·Δη̃ only. With the auxiliary fit exact the miss is O(Δ²) (the unmoved
    weights miss by O(Δ)); with η̃ = η + 2Δ it is two thirds of the unmoved miss."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import ProbitFamily

    family = ProbitFamily()
    eta_true = np.linspace(-2.0, 1.5, 8)
    p = family.mean_eta(eta_true)

    def errors(delta, aux_steps):
        eta_aux, eta_main = eta_true + aux_steps * delta, eta_true + delta
        def expect(fn):
            return (1 - p) * fn(np.zeros_like(p)) + p * fn(np.ones_like(p))

        target = expect(lambda y: family.d1(y, eta_main)) / delta
        moved = expect(lambda y: lambda_index_weights(family, y, eta_aux, observed=True,
                                                      eta_main=eta_main))
        stayed = expect(lambda y: lambda_index_weights(family, y, eta_aux, observed=True))
        return moved - target, stayed - target

    (moved_1, stayed_1), (moved_2, stayed_2) = errors(0.1, 0), errors(0.05, 0)
    def order(big, small):
        return np.log2(np.abs(big).sum() / np.abs(small).sum())

    assert order(moved_1, moved_2) > 1.8 and abs(order(stayed_1, stayed_2) - 1) < 0.2
    moved, stayed = errors(0.02, 2)
    assert abs(np.abs(moved).sum() / np.abs(stayed).sum() - 2 / 3) < 0.03


def test_secant_weight_cap_clips_only_improbable_outcomes():
    """The gumbel's secant weights stay within [0, 30·E[ℓ'' | η]]; the clip binds only for
    y = 0 where P(Y = 1 | η) is above about 0.97, and leaves every other weight alone."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import GumbelFamily

    capped, free = GumbelFamily(), GumbelFamily()
    free.secant_weight_cap = None
    eta = np.linspace(-4, 3, 71)
    c = capped.curvature(eta)
    for y in (0.0, 1.0):
        w = lambda_index_weights(capped, np.full_like(eta, y), eta, secant=True)
        w_free = lambda_index_weights(free, np.full_like(eta, y), eta, secant=True)
        assert np.all(w >= 0) and np.all(w <= 30 * c * (1 + 1e-12))
        binds = w_free > 30 * c
        np.testing.assert_array_equal(w[~binds], w_free[~binds])
        if y == 1.0:
            assert not binds.any()
        else:
            assert binds.any() and capped.mean_eta(eta[binds]).min() > 0.97


def test_conditional_law_binary_treatment_is_bernoulli_propensity(rng):
    from sklearn_dml._lambda import conditional_law

    n = 4000
    X = rng.normal(size=(n, 3))
    e = sigmoid(0.8 * X[:, 0])
    T = rng.binomial(1, e).astype(float)[:, None]
    values, probs, floored = conditional_law(T, X, X[:500], None, np.random.RandomState(0))
    assert values.shape == (500, 2, 1) and probs.shape == (500, 2)
    np.testing.assert_array_equal(values[0, :, 0], [0.0, 1.0])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert np.abs(probs[:, 1] - e[:500]).mean() < 0.05
    assert probs.min() >= 0.01 and floored.dtype == bool


def test_conditional_law_carries_location_scale_and_shape(rng):
    """T = m(x) + s(x)·ε with a skewed ε: each row's points have the estimated mean and
    variance exactly, follow m and s, and keep ε's skewness (2 for an exponential)."""
    from sklearn_dml._lambda import conditional_law

    n = 6000
    X = rng.normal(size=(n, 3))
    m, s = 0.6 * X[:, 0], np.exp(0.3 * X[:, 1])
    T = (m + s * (rng.exponential(size=n) - 1.0))[:, None]
    values, probs, _ = conditional_law(T, X, X[:800], None, np.random.RandomState(0))
    mean = (probs[:, :, None] * values).sum(axis=1)[:, 0]
    var = (probs * (values[:, :, 0] - mean[:, None]) ** 2).sum(axis=1)
    assert np.corrcoef(mean, m[:800])[0, 1] > 0.9
    assert np.corrcoef(np.sqrt(var), s[:800])[0, 1] > 0.6
    np.testing.assert_allclose(var.mean(), (s[:800] ** 2).mean(), rtol=0.2)
    u = (values[0, :, 0] - mean[0]) / np.sqrt(var[0])
    assert 1.2 < (probs[0] * u ** 3).sum() < 2.5  # a Gaussian law would give 0


def test_conditional_law_two_treatments_has_their_covariance(rng):
    from sklearn_dml._lambda import conditional_law

    n = 4000
    X = rng.normal(size=(n, 3))
    noise = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.0], [0.6, 0.8]]).T  # corr 0.6
    T = np.column_stack([0.5 * X[:, 0], -0.4 * X[:, 1]]) + noise
    values, probs, _ = conditional_law(T, X, X[:300], None, np.random.RandomState(0))
    assert values.shape == (300, 32, 2)
    centred = values - (probs[:, :, None] * values).sum(axis=1, keepdims=True)
    cov = np.einsum("ns,nsi,nsj->nij", probs, centred, centred).mean(axis=0)
    np.testing.assert_allclose(cov, [[1.0, 0.6], [0.6, 1.0]], atol=0.15)


def test_integrate_hessian_with_a_law_per_row(rng):
    theta = rng.normal(size=(7, 2))
    values = rng.normal(size=(7, 5, 1))
    probs = rng.dirichlet(np.ones(5), size=7)
    lam = integrate_hessian(LogitFamily(), theta, values, probs, chunk_rows=3)
    for i in range(7):
        one = integrate_hessian(LogitFamily(), theta[i:i + 1], values[i], probs[i])
        np.testing.assert_allclose(lam[i], one[0])


@pytest.mark.parametrize("name", ["probit"])
def test_observed_weights_miss_the_secant_slope_by_less_than_the_expected_curvature(name):
    """At η̂ = η + Δ, E[ℓ''(Y, η̂)] with Y from the true η is closer to the secant slope of
    E[ℓ' | η] between η and η̂ than the expected curvature at η̂ is (the families that opt
    in with ``observed_lambda``)."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import get_family

    family = get_family(name)
    assert family.observed_lambda
    eta_true = np.linspace(-2.0, 1.0, 13)
    p = family.mean_eta(eta_true)

    def expect(weight, eta_hat):  # mean over Y ~ Bernoulli(p) of the true η
        return (1 - p) * weight(np.zeros_like(p), eta_hat) + p * weight(np.ones_like(p), eta_hat)

    for delta in (0.2, -0.2, 0.05):
        eta_hat = eta_true + delta
        secant = expect(family.d1, eta_hat) / delta
        expected = lambda_index_weights(family, np.zeros_like(p), eta_hat)  # free of y
        observed = expect(lambda y, e: lambda_index_weights(family, y, e, observed=True), eta_hat)
        miss_expected = np.abs(expected - secant).mean()
        miss_observed = np.abs(observed - secant).mean()
        assert miss_observed < 0.8 * miss_expected, (delta, miss_observed, miss_expected)


def test_regime_c_passes_each_family_its_lambda_weights(monkeypatch):
    """The probit's Hessian regression uses the observed ℓ'', the logit's, the gumbel's
    (clipped) and the Poisson's the secant weights, all but the gumbel's moved to the main
    fit's η̂."""
    import sklearn_dml._lambda._strategies as strategies
    from sklearn_dml import GumbelDML, LogitDML, PoissonDML, ProbitDML
    from sklearn_dml.datasets import make_family_data

    seen = []
    real = strategies.lambda_index_weights
    monkeypatch.setattr(strategies, "lambda_index_weights", lambda family, y, eta, **kw:
                        seen.append((family.name, {**kw, "eta_main": kw.get("eta_main")
                                                   is not None})) or real(family, y, eta, **kw))
    kw = dict(hidden_dims=(4,), max_epochs=2, cv=2, random_state=0)
    for estimator, name in ((ProbitDML, "probit"), (LogitDML, "probit"), (GumbelDML, "gumbel"),
                            (PoissonDML, "poisson")):
        data = make_family_data(name, 300, random_state=0)
        estimator(**kw).fit(data.X, data.T, data.Y)
    flags = {family: kw for family, kw in seen if len(kw) > 1}  # not the cap's reference
    assert flags == {"probit": {"secant": False, "observed": True, "eta_main": True},
                     "logit": {"secant": True, "observed": False, "eta_main": True},
                     "gumbel": {"secant": True, "observed": False, "eta_main": False},
                     "poisson": {"secant": True, "observed": False, "eta_main": True}}


@pytest.mark.parametrize("binned", [False, True], ids=["X", "bin codes"])
def test_weighted_moments_recover_a_gaussian_tilt(rng, binned):
    # T | x ~ N(μ, 1) tilted by w = exp(-T²/2): E[w | x] = exp(-μ²/4)/√2, and the w-weighted
    # law of T given x is N(μ/2, 1/2)
    n = 8000
    X = rng.normal(size=(n, 3))
    mu = 0.8 * X[:, 0]
    T = (mu + rng.normal(size=n))[:, None]
    w = np.exp(-0.5 * T[:, 0] ** 2)
    features = binned_features(X) if binned else X
    lam, _ = index_moment_lambda(w, T, features, features[:1000], None)
    a = lam[:, 0, 0]
    m = lam[:, 0, 1] / a
    S = lam[:, 1, 1] / a - m ** 2
    a_true = np.exp(-mu[:1000] ** 2 / 4) / np.sqrt(2)
    assert np.abs(a - a_true).mean() < 0.1 * a_true.mean()
    assert np.abs(m - mu[:1000] / 2).mean() < 0.1, np.abs(m - mu[:1000] / 2).mean()
    assert abs(S.mean() - 0.5) < 0.05, S.mean()


def test_bin_codes_split_rows_as_gradient_boosting_bins_them(rng):
    # columns with at most max_bins distinct values: a boosted model on the codes is the
    # model on X (same bins, same trees); a continuous column keeps its order
    n = 3000
    X = np.column_stack([rng.poisson(4, n), rng.binomial(1, 0.3, n),
                         rng.choice([0.0, 0.5, 1.0], n, p=[0.5, 0.002, 0.498]),
                         rng.normal(size=n)]).astype(float)
    codes = binned_features(X)
    assert codes.dtype == np.uint8 and codes.max() < 255
    for j in range(3):
        assert np.unique(codes[:, j]).size == np.unique(X[:, j]).size
    order = np.argsort(X[:, 3])
    assert np.all(np.diff(codes[order, 3].astype(int)) >= 0)
    assert np.unique(codes[:, 3]).size == 255
    y = X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n)
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0)
    np.testing.assert_allclose(clone(model).fit(codes[:, :3], y).predict(codes[:, :3]),
                               clone(model).fit(X[:, :3], y).predict(X[:, :3]))


def test_bin_codes_from_a_subsample_and_in_threads(rng, monkeypatch):
    X = rng.normal(size=(3000, 4))
    serial = binned_features(X, max_bins=16)
    np.testing.assert_array_equal(binned_features(X, max_bins=16, n_threads=2), serial)
    monkeypatch.setattr(_lambda._regressors, "BINNING_SUBSAMPLE", 500)
    sub = binned_features(X, max_bins=16)
    assert sub.max() == 15 and np.mean(sub == serial) > 0.7
    counts = np.bincount(sub[:, 0], minlength=16) / X.shape[0]
    assert np.abs(counts - 1 / 16).max() < 0.03, counts


def test_lambda_features_bins_only_for_gradient_boosting(rng):
    X = rng.normal(size=(200, 3))
    assert lambda_features(X, None).dtype == np.uint8
    assert lambda_features(X, HistGradientBoostingRegressor(max_bins=31)).max() == 30
    assert lambda_features(X, RandomForestRegressor()) is X
    for categorical in ([0], np.array([True, False, False]), np.array([0, 2])):
        model = HistGradientBoostingRegressor(categorical_features=categorical)
        assert lambda_features(X, model) is X


@pytest.mark.parametrize("method", ["analytic", "regression", "conditional", "randomized"])
@pytest.mark.parametrize("model", [None, "network", "forest", "boosting"])
@pytest.mark.parametrize("family", [LogitFamily(), TobitFamily()], ids=["index", "matrix"])
def test_lambda_stage_bins_exactly_where_it_fits_gradient_boosting(rng, family, model, method):
    # the Λ strategies fit boosting for an index family or the conditional law by default, a
    # random forest on whole Hessian matrices otherwise, and no regressor for networks or a
    # known law; regime B's default sees x itself (its mean regression has a linear part)
    X = rng.normal(size=(300, 3))
    lambda_model = {"forest": RandomForestRegressor(), "boosting": default_lambda_model()}.get(
        model, model)
    covariates = make_lambda_strategy(method, family, lambda_model).covariates(X, 1)
    boosting = model == "boosting" or (model is None and (
        method == "conditional" or (isinstance(family, IndexFamily) and method != "analytic")))
    if method == "randomized" or model in ("network", "forest") or not boosting:
        assert covariates is X
    else:
        assert covariates.dtype == np.uint8 and covariates.shape == X.shape


def test_weighted_moments_stay_within_what_a_law_on_the_range_of_t_allows():
    """m = E[wT | x] / E[w | x] is a weighted mean of observed T, S a weighted variance: a
    ratio of regressions that strays outside (tiny denominator) is brought back. A mean
    outside T's range or a variance below the overlap floor is flagged; a variance above
    the largest one T's range allows is more variation, not less, and is not."""
    from sklearn_dml._lambda import finish_moments

    T_fit = np.linspace(-2.0, 3.0, 50)[:, None]
    m = np.array([[0.5], [40.0], [-9.0], [0.5], [0.5]])
    S = np.array([[[1.0]], [[1.0]], [[500.0]], [[7.0]], [[1e-4]]])
    m2, S2, flagged = finish_moments(m, S, T_fit, np.ones(50), binary=False)
    np.testing.assert_array_equal(m2[:, 0], [0.5, 3.0, -2.0, 0.5, 0.5])
    assert S2[2, 0, 0] == S2[3, 0, 0] == pytest.approx(25.0 / 4)  # the largest on [-2, 3]
    np.testing.assert_array_equal(flagged, [False, True, True, False, True])


def test_randomized_binary_treatment_with_a_binary_covariate_is_not_refused():
    """A 50/50 treatment's conditional variance sits at the ceiling m(1 − m) ≤ ¼; noise
    across it was read as no overlap, and this logit was refused (51% of rows)."""
    from sklearn_dml import LogitDML

    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (2000, 1)).astype(float)
    T = rng.integers(0, 2, 2000).astype(float)
    Y = (rng.uniform(size=2000) < sigmoid(-1 + 0.5 * X[:, 0] + 0.8 * T)).astype(float)
    est = LogitDML(hidden_dims=(8,), max_epochs=20, random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_unidentified"] < 0.05


def test_neighbour_law_is_the_nearest_training_rows_tables(rng):
    from sklearn_dml._lambda._moments import neighbour_law

    X_fit, X_pred = rng.normal(size=(200, 3)), rng.normal(size=(30, 3))
    T_fit = rng.normal(size=(200, 7))
    values, probs, floored = neighbour_law(T_fit, X_fit, X_pred, n_points=5)
    dist = ((X_pred[:, None, :] - X_fit[None]) ** 2).sum(-1)
    nearest = np.argsort(dist, axis=1)[:, :5]
    for i in range(30):  # the same rows' whole T, whatever their order
        np.testing.assert_array_equal(np.sort(values[i], axis=0),
                                      np.sort(T_fit[nearest[i]], axis=0))
    np.testing.assert_allclose(probs, 0.2)
    assert not floored.any()
    # by default the law has max(16, √n_fit) points, so that Λ̂ is consistent
    assert neighbour_law(T_fit, X_fit, X_pred)[0].shape == (30, 16, 7)
    big = rng.normal(size=(900, 2))
    assert neighbour_law(big, big, X_pred[:, :2])[0].shape == (30, 30, 2)


def test_matrix_forest_keeps_the_shifts_of_many_dummies(monkeypatch):
    """Hessians whose mean shifts with a region coded as 29 dummies: the forest alone
    dilutes the shifts (slope 0.72 on the truth); least squares on the dummies, the forest
    on what is left, keeps more of them (0.84)."""
    from sklearn_dml._lambda import _hessians

    rng = np.random.RandomState(0)
    n, regions = 3000, 30
    region = rng.randint(0, regions, n)
    shift = rng.uniform(0.5, 2.0, regions)[region]
    X = np.column_stack([rng.normal(size=(n, 4)), np.eye(regions)[region][:, 1:]])
    # a PSD Hessian per row, (1, t)(1, t)', with t's spread set by the region
    t = shift * rng.normal(size=n)
    H = np.stack([np.stack([np.ones(n), t], -1), np.stack([t, t * t], -1)], 1)

    def slope():  # of the fitted E[T² | x] on the true one, over the regions
        truth = shift ** 2 - np.mean(shift ** 2)
        return np.sum(_hessians.regress_hessian(H, X, X)[:, 1, 1] * truth) / np.sum(truth ** 2)

    with_shifts = slope()
    monkeypatch.setattr(_hessians, "MATRIX_DUMMY_COLUMNS", regions)  # the forest alone
    forest_alone = slope()
    assert with_shifts > 0.8 and forest_alone < with_shifts - 0.08, (with_shifts, forest_alone)


@pytest.mark.parametrize("seed", [0, 1])
def test_weighted_moments_keep_their_accuracy_where_the_weights_are_small(seed):
    """Under an exponential weight w = e^(α(x) + βt) with α spanning 5 units, T | x normal:
    the w-weighted law of T given x is the normal tilted to mean μ + βσ², variance σ², and
    a = E[w | x] = e^(α + βμ + β²σ²/2). In raw units the regressions chase the large
    weights and overstate a and S several times where w is small; with a log trend for a
    and m and S relative to its fit, they are as accurate there as elsewhere."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(4000, 2))
    mu, sd = 1.0 + X[:, 1], 1.0 + 0.5 * X[:, 1]
    T = (mu + sd * rng.normal(size=mu.size))[:, None]
    alpha, beta = -1.0 + 2.5 * X[:, 0], 0.5
    w = np.exp(alpha + beta * T[:, 0])
    low = alpha < np.quantile(alpha, 0.2)
    a_true = np.exp(alpha + beta * mu + 0.5 * beta ** 2 * sd ** 2)
    errors = {}
    for relative in (False, True):
        a, m, S, _, _ = weighted_moments(w, T, X, X, default_lambda_model(),
                                         LinearTrendBoosting(),
                                         weight_model=LogTrendBoosting() if relative else None)
        errors[relative] = (np.median(a[low] / a_true[low]), np.median(S[low, 0, 0] / sd[low] ** 2),
                            np.median(np.abs(m[low, 0] - (mu + beta * sd ** 2)[low])))
    assert errors[False][0] > 1.5 and errors[False][1] > 2.0  # raw units: the design's problem
    assert 0.85 < errors[True][0] < 1.15 and 0.8 < errors[True][1] < 1.25
    assert errors[True][2] < 0.25
