"""Estimates do not depend on the units of T, Y or X: properties that hold for any data."""

import numpy as np
import pytest

from sklearn_dml import (
    LogitDML,
    MultinomialLogitDML,
    PoissonDML,
    ProbitDML,
    StructuralDML,
    StructuralDMLRegressor,
)
from sklearn_dml.datasets import make_choice, make_family_data, make_linear_confounded, make_logit

FAST = dict(hidden_dims=(16,), max_epochs=40, random_state=0)
FACTORS = [1e-3, 1e-2, 1e2, 1e3]


def _data(family):
    if family == "linear":
        d = make_linear_confounded(800, treatment="continuous", random_state=1)
        return StructuralDMLRegressor, d.X, d.T, d.Y
    if family == "logit":
        d = make_logit(800, random_state=1)
        return LogitDML, d.X, d.T, d.Y
    d = make_family_data(family, n_samples=800, random_state=1)
    cls = {"probit": ProbitDML, "poisson": PoissonDML}[family]
    return cls, d.X, d.T, d.Y


def _beta_and_ame(est):
    return est.inference(["beta", "ame"])


@pytest.mark.parametrize("family", ["linear", "logit", "probit", "poisson"])
def test_treatment_units_do_not_change_estimates(family):
    """T → c·T: c·E[β] and c·AME within 0.05 SE of the c = 1 fit, c·SE within 2%."""
    cls, X, T, Y = _data(family)
    first = cls(**FAST).fit(X, T, Y)
    base = _beta_and_ame(first)
    for c in FACTORS:
        est = cls(**FAST).fit(X, c * T, Y)
        res = _beta_and_ame(est)
        assert np.all(np.abs(c * res.estimate - base.estimate) < 0.05 * base.stderr), c
        np.testing.assert_allclose(c * res.stderr, base.stderr, rtol=0.02)
        assert (est.inference_.diagnostics["share_regularized"]
                == first.inference_.diagnostics["share_regularized"])


@pytest.mark.parametrize("n, method", [(600, "regression"), (1000, "conditional")])
@pytest.mark.parametrize("low, high", [(1.0, 2.0), (-1.0, 1.0), (0.0, 100.0)])
def test_a_two_valued_treatment_is_the_same_fit_in_any_coding(low, high, n, method):
    """T in {low, high} is T01 = (T − low)/(high − low): the same Λ method, and E[β] and its
    SE scaled by 1/(high − low)."""
    d = make_logit(n, treatment="binary", random_state=3)
    base = LogitDML(**FAST).fit(d.X, d.T, d.Y)
    est = LogitDML(**FAST).fit(d.X, low + (high - low) * d.T, d.Y)
    assert est.lambda_method_ == base.lambda_method_ == method
    res, ref = est.inference("beta"), base.inference("beta")
    np.testing.assert_allclose((high - low) * res.estimate, ref.estimate, rtol=1e-5)
    np.testing.assert_allclose((high - low) * res.stderr, ref.stderr, rtol=1e-4)


@pytest.mark.parametrize("family", ["gumbel", "negbin", "gamma", "weibull", "tobit",
                                    "heteroskedastic", "beta", "fractional_logit", "zip"])
def test_treatment_units_for_every_index_family(family):
    """T → 1000·T for the rest of the catalogue: E[β], the AME and their SEs scale exactly."""
    from sklearn_dml.families import get_family

    d = make_family_data(family, n_samples=500, random_state=1)
    params = dict(FAST, family=get_family(family))
    base = StructuralDML(**params).fit(d.X, d.T, d.Y).inference(["beta", "ame"])
    res = StructuralDML(**params).fit(d.X, 1e3 * d.T, d.Y).inference(["beta", "ame"])
    np.testing.assert_allclose(1e3 * res.estimate, base.estimate, rtol=1e-5,
                               atol=1e-4 * base.stderr.min())
    np.testing.assert_allclose(1e3 * res.stderr, base.stderr, rtol=1e-4)


def test_network_lambda_model_is_free_of_treatment_units():
    """lambda_model="network" (Λ regressions and the AME's projection as networks)."""
    cls, X, T, Y = _data("logit")
    params = dict(FAST, lambda_model="network")
    base = _beta_and_ame(cls(**params).fit(X, T, Y))
    res = _beta_and_ame(cls(**params).fit(X, 1e3 * T, Y))
    assert np.all(np.abs(1e3 * res.estimate - base.estimate) < 0.05 * base.stderr)
    np.testing.assert_allclose(1e3 * res.stderr, base.stderr, rtol=0.02)


def test_treatment_shift_moves_only_the_intercept():
    """T → T + b leaves E[β] and moves E[α] by −E[β]·b (α is the intercept at T = 0)."""
    cls, X, T, Y = _data("linear")
    base = cls(**FAST).fit(X, T, Y).inference(["alpha", "beta"])
    shifted = cls(**FAST).fit(X, T + 50.0, Y).inference(["alpha", "beta"])
    assert abs(shifted.estimate[1] - base.estimate[1]) < 0.05 * base.stderr[1]
    assert shifted.estimate[0] == pytest.approx(base.estimate[0] - 50.0 * base.estimate[1],
                                                rel=1e-6)


@pytest.mark.parametrize("c", [1e-3, 1e3])
def test_outcome_units_scale_the_linear_estimates(c):
    cls, X, T, Y = _data("linear")
    base = cls(**FAST).fit(X, T, Y).inference_
    res = cls(**FAST).fit(X, T, c * Y + 7.0).inference_
    beta = res.names.index("E[beta]")
    assert abs(res.estimate[beta] / c - base.estimate[beta]) < 0.05 * base.stderr[beta]
    np.testing.assert_allclose(res.stderr / c, base.stderr, rtol=0.02)


@pytest.mark.parametrize("family", ["tobit", "heteroskedastic"])
def test_outcome_units_scale_the_location_scale_estimates(family):
    """Y → c·Y (censoring points too): E[β], the AME and their SEs scale by c, θ̂'s log σ
    shifts by log c, to rounding."""
    from sklearn_dml import HeteroskedasticDML, TobitDML

    d = make_family_data(family, n_samples=800, random_state=1)
    cls = TobitDML if family == "tobit" else HeteroskedasticDML
    base = cls(**FAST).fit(d.X, d.T, d.Y)
    for c in (1e-3, 1e3):  # the tobit's censoring point 0 is the same in every unit
        est = cls(**FAST).fit(d.X, d.T, c * d.Y)
        a, b = base.inference(["beta", "ame"]), est.inference(["beta", "ame"])
        np.testing.assert_allclose(b.estimate / c, a.estimate, rtol=1e-6)
        np.testing.assert_allclose(b.stderr / c, a.stderr, rtol=1e-6)
        np.testing.assert_allclose(est.predict(d.X[:20])[:, -1] - np.log(c),
                                   base.predict(d.X[:20])[:, -1], atol=1e-5)


@pytest.mark.parametrize("family", ["poisson", "gamma", "weibull"])
def test_outcome_units_move_only_alpha_of_a_log_mean_model(family):
    """Y → c·Y for a mean exp(η) (Poisson pseudo-likelihood on amounts, durations in days
    or years): E[β] and its SE unchanged, θ̂'s α shifted by log c, E[Y]'s AME scaled by c,
    to rounding. The Poisson's loss scales with Y: trained on Y as given, its fit would
    weigh the loss against the weight decay differently in each unit; it trains on Y over
    its Pearson dispersion, which scales with Y."""
    from sklearn_dml import GammaDML, WeibullDML

    d = make_family_data(family, n_samples=800, random_state=1)
    cls = {"poisson": PoissonDML, "gamma": GammaDML, "weibull": WeibullDML}[family]
    base = cls(**FAST).fit(d.X, d.T, d.Y)
    a = base.inference(["beta", "ame"])
    for c in (1e-3, 365.0, 1e3):
        est = cls(**FAST).fit(d.X, d.T, c * d.Y)
        b = est.inference(["beta", "ame"])
        np.testing.assert_allclose(b.estimate * [1, 1 / c], a.estimate, rtol=1e-5)
        np.testing.assert_allclose(b.stderr * [1, 1 / c], a.stderr, rtol=1e-5)
        np.testing.assert_allclose(est.predict(d.X[:20])[:, 0] - np.log(c),
                                   base.predict(d.X[:20])[:, 0], atol=1e-5)



def test_tobit_censoring_point_moves_with_the_outcome():
    """Y → Y + 50 with the censoring point at 50: only α moves, by 50."""
    from sklearn_dml import StructuralDML
    from sklearn_dml.families import TobitFamily

    d = make_family_data("tobit", n_samples=800, random_state=1)
    base = StructuralDML(family=TobitFamily(), **FAST).fit(d.X, d.T, d.Y)
    base = base.inference(["alpha", "beta", "ame"])
    est = StructuralDML(family=TobitFamily(left=50.0), **FAST).fit(d.X, d.T, d.Y + 50.0)
    res = est.inference(["alpha", "beta", "ame"])
    np.testing.assert_allclose(res.estimate - [50.0, 0.0, 0.0], base.estimate, rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(res.stderr, base.stderr, rtol=1e-6)


@pytest.mark.parametrize("family", ["linear", "logit"])
def test_affine_covariate_units_change_nothing(family):
    cls, X, T, Y = _data(family)
    base = cls(**FAST).fit(X, T, Y).inference_
    res = cls(**FAST).fit(3.0 * X - 100.0, T, Y).inference_
    np.testing.assert_allclose(res.estimate, base.estimate, rtol=1e-4,
                               atol=1e-4 * base.stderr.min())
    np.testing.assert_allclose(res.stderr, base.stderr, rtol=1e-3)


def test_choice_prices_in_cents():
    """Prices in cents: β[price] and its SE scale by 1/100 exactly, the rest is unchanged."""
    d = make_choice(1200, n_alternatives=3, random_state=0)
    params = dict(attribute_names=["price", "quality"], hidden_dims=(16,), max_epochs=40,
                  random_state=0)
    base = MultinomialLogitDML(3, **params).fit(d.X, d.attributes, d.Y)
    cents = d.attributes.copy()
    cents[:, :, 0] *= 100.0
    est = MultinomialLogitDML(3, **params).fit(d.X, cents, d.Y)
    names = est.theta_names_
    factor = np.array([100.0 if n == "beta[price]" else 1.0 for n in names])
    a, b = base.inference(list(range(len(names)))), est.inference(list(range(len(names))))
    assert np.all(np.abs(factor * b.estimate - a.estimate) < 0.05 * a.stderr)
    np.testing.assert_allclose(factor * b.stderr, a.stderr, rtol=0.02)


def test_network_predictions_are_in_the_users_units():
    """predict() and the stored networks give θ in the units the data came in."""
    cls, X, T, Y = _data("linear")
    est = cls(**FAST).fit(X, 1000.0 * T, Y)
    theta = est.predict(X[:50])
    net_theta = np.mean([est.get_network(fold=k)(
        __import__("torch").as_tensor(est._standardize(X[:50]), dtype=__import__("torch").float32)
    ).detach().numpy() for k in range(est.n_folds_)], axis=0)
    np.testing.assert_allclose(theta, net_theta, rtol=1e-4, atol=1e-6)
    assert np.abs(theta[:, 1]).mean() < 0.01  # β per unit of 1000·T


@pytest.mark.parametrize("link", ["gen_sigmoid_ii", "multiplicative"])
def test_combinatorial_outcome_units(link):
    """Y → c·Y: every combination effect and its SE scale by c (T is 0/1, unit-free)."""
    from sklearn_dml import CombinatorialDML
    from sklearn_dml.datasets import make_combinatorial

    d = make_combinatorial(1500, n_treatments=2, link=link, random_state=0)
    params = dict(link=link, hidden_dims=(16,), max_epochs=40, structure_check=False,
                  random_state=0)
    base = CombinatorialDML(**params).fit(d.X, d.T, d.Y).inference_
    for c in (1e-3, 1e3):
        res = CombinatorialDML(**params).fit(d.X, d.T, c * d.Y).inference_
        assert np.all(np.abs(res.estimate / c - base.estimate) < 0.05 * base.stderr)
        np.testing.assert_allclose(res.stderr / c, base.stderr, rtol=0.02)


def test_units_map_theta_and_scores_both_ways():
    import torch

    from sklearn_dml._units import index_units
    from sklearn_dml.families import LogitFamily

    rng = np.random.default_rng(0)
    T = rng.normal(5.0, 30.0, size=(10, 2))
    y = (rng.uniform(size=10) < 0.4).astype(float)
    units = index_units(T, 3)
    theta = rng.normal(size=(10, 3))
    np.testing.assert_allclose(units.internal_theta(units.theta(theta)), theta, atol=1e-12)
    # the user's score: the gradient of loss_scale · ℓ(θ̃(θ_user)) in θ_user, by autodiff
    fam, t = LogitFamily(), units.treatment(T)
    th_user = torch.tensor(units.theta(theta), requires_grad=True)
    M_inv = torch.tensor(np.linalg.inv(units.theta_matrix))
    th_internal = (th_user - torch.tensor(units.theta_offset)) @ M_inv.T
    loss = units.loss_scale * fam.loss(torch.tensor(y), torch.tensor(t), th_internal)
    loss.sum().backward()
    np.testing.assert_allclose(units.score(fam.gradient(y, t, theta)), th_user.grad.numpy(),
                               atol=1e-10)


def test_tobit_in_internal_units_is_a_copy_of_the_same_class():
    """The family for internal data keeps a subclass's overrides; only the bounds move."""
    from sklearn_dml.families import TobitFamily

    class TopCoded(TobitFamily):
        pass

    rng = np.random.default_rng(0)
    y = np.clip(rng.normal(5.0, 3.0, 200), 0.0, 10.0)
    family = TopCoded(left=0.0, right=10.0)
    units = family.internal_units(rng.normal(size=(200, 1)), y)
    internal = family.in_units(units)
    assert type(internal) is TopCoded and (family.left, family.right) == (0.0, 10.0)
    assert internal.left == pytest.approx((0.0 - y.mean()) / y.std())
    assert internal.right == pytest.approx((10.0 - y.mean()) / y.std())


def test_poisson_dispersion_is_pearsons_and_scales_with_the_outcome():
    """The Poisson's internal scale: Pearson's χ²/df of a Poisson GLM on (1, X, T), as
    statsmodels computes it; times c for Y times c; near 1 for Poisson counts, near the
    overdispersion factor for a negative binomial."""
    sm = pytest.importorskip("statsmodels.api")
    from sklearn_dml.families._poisson import pearson_dispersion

    for family, expected in (("poisson", (0.9, 1.3)), ("negbin", (1.5, 6.0))):
        d = make_family_data(family, n_samples=3000, random_state=2)
        z = np.column_stack([np.ones(3000), d.X, d.T])
        glm = sm.GLM(d.Y, z, family=sm.families.Poisson()).fit()
        phi = pearson_dispersion(d.X, d.T, d.Y)
        assert phi == pytest.approx(glm.pearson_chi2 / glm.df_resid, rel=1e-6)
        assert expected[0] < phi < expected[1]
        assert pearson_dispersion(d.X, d.T, 250.0 * d.Y) == pytest.approx(250.0 * phi, rel=1e-9)
