"""Conditional logit with heterogeneous preferences: derivatives, reductions, parity, API."""

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_dml import MultinomialLogitDML, StructuralDMLRegressor, from_long
from sklearn_dml._autodiff import loss_gradient, loss_hessian
from sklearn_dml.datasets import make_choice, make_linear_confounded
from sklearn_dml.families import LogitFamily, MultinomialLogitFamily, get_family
from sklearn_dml.targets import (
    ChoiceElasticity,
    ChoiceMarginalEffect,
    ChoiceProbability,
    ConsumerSurplus,
    Revenue,
    WillingnessToPay,
)

matplotlib.use("Agg")

FAST = dict(hidden_dims=(16,), max_epochs=30, random_state=0)
NAMES = ["price", "quality"]


def _random_rows(fam, rng, n=40, p_missing=0.3):
    x = rng.normal(size=(n, fam.n_alternatives, fam.n_attributes))
    avail = rng.uniform(size=(n, fam.n_alternatives)) > p_missing
    avail[:, 0] = True
    t = fam.pack(x, avail)
    theta = rng.normal(size=(n, fam.theta_dim()))
    P = fam.probabilities(t, theta)
    y = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=P.shape[1] - 1).astype(float)
    return x, avail, t, theta, y


FAMILIES = [MultinomialLogitFamily(4, 3), MultinomialLogitFamily(4, 2, reference=2),
            MultinomialLogitFamily(3, 2, outside_option=True)]


@pytest.mark.parametrize("fam", FAMILIES, ids=repr)
def test_score_and_fisher_information_match_autodiff(fam, rng):
    _, _, t, theta, y = _random_rows(fam, rng)
    np.testing.assert_allclose(fam.gradient(y, t, theta), loss_gradient(fam.loss, y, t, theta),
                               atol=1e-12)
    H = fam.hessian(y, t, theta)
    np.testing.assert_allclose(H, loss_hessian(fam.loss, y, t, theta), atol=1e-12)
    # y-free, and the information equality E_y[ℓ_θ ℓ_θ'] = ℓ_θθ holds exactly
    P = fam.probabilities(t, theta)
    outer = sum(P[:, [j]][:, :, None] * np.einsum("nd,ne->nde", g, g)
                for j in range(fam.n_slots)
                for g in [fam.gradient(np.full(y.shape, j), t, theta)])
    np.testing.assert_allclose(outer, H, atol=1e-12)
    np.testing.assert_allclose(fam.expected_hessian(t, theta), H)
    assert fam.hessian_depends_on_theta and not fam.hessian_depends_on_y


TARGETS = [
    ChoiceProbability(2),
    ChoiceProbability(1, at=[[1.0, 0.2], [0.5, -1.0], [2.0, 0.0], [1.5, 0.3]],
                      availability=[True, True, False, True],
                      baseline=[[1.0, 0.2], [0.8, -1.0], [2.0, 0.0], [1.5, 0.3]]),
    ChoiceMarginalEffect(1, "price"),
    ChoiceMarginalEffect(1, "quality", of=3),
    ChoiceElasticity(2, "price"),
    ChoiceElasticity(0, "price", of=1),
    WillingnessToPay("quality", "price"),
    ConsumerSurplus("price"),
    ConsumerSurplus("price", at=np.ones((4, 2)), baseline=np.zeros((4, 2))),
    Revenue("price"),
]


@pytest.mark.parametrize("outside", [False, True])
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: type(t).__name__)
def test_choice_target_jacobians_match_autodiff(target, outside, rng):
    fam = MultinomialLogitFamily(4, 2, outside_option=outside, attribute_names=NAMES)
    _, _, t, theta, _ = _random_rows(fam, rng)
    theta[:, -2] = -np.abs(theta[:, -2]) - 0.5  # price coefficient away from 0 (WTP, CS)
    th = torch.tensor(theta, requires_grad=True)
    value = target.torch_value(fam, th, torch.tensor(t))
    value.sum().backward()
    np.testing.assert_allclose(target.value(fam, theta, t), value.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(target.jacobian(fam, theta, t), th.grad.numpy(), atol=1e-10)


def test_elasticities_are_the_log_derivatives_of_the_probabilities(rng):
    """Own and cross elasticities (J > 2) against finite differences of P in the attribute."""
    fam = MultinomialLogitFamily(4, 2, attribute_names=NAMES)
    x, avail, t, theta, _ = _random_rows(fam, rng, p_missing=0.0)
    x[:, :, 0] = np.abs(x[:, :, 0]) + 0.5
    t = fam.pack(x, avail)
    for j, of in [(1, 1), (1, 3), (0, 2)]:
        h = 1e-6
        bumped = x.copy()
        bumped[:, of, 0] *= 1 + h
        dlogP = (np.log(fam.probabilities(fam.pack(bumped), theta)[:, j])
                 - np.log(fam.probabilities(t, theta)[:, j])) / np.log1p(h)
        el = ChoiceElasticity(j, "price", of=of).value(fam, theta, t)
        np.testing.assert_allclose(el, dlogP, rtol=1e-4, atol=1e-7)
        me = ChoiceMarginalEffect(j, "price", of=of).value(fam, theta, t)
        dP = (fam.probabilities(fam.pack(bumped), theta)[:, j]
              - fam.probabilities(t, theta)[:, j]) / (h * x[:, of, 0])
        np.testing.assert_allclose(me, dP, rtol=1e-4, atol=1e-7)


def test_two_alternatives_reduce_exactly_to_the_binary_logit(rng):
    fam, logit = MultinomialLogitFamily(2, 2), LogitFamily()
    x = rng.normal(size=(50, 2, 2))
    t = fam.pack(x)
    theta = rng.normal(size=(50, 3))
    y = rng.binomial(1, 0.5, size=50).astype(float)
    diff = x[:, 1] - x[:, 0]
    tt, ty, tth = torch.tensor(t), torch.tensor(y), torch.tensor(theta)
    np.testing.assert_allclose(fam.loss(ty, tt, tth).numpy(),
                               logit.loss(ty, torch.tensor(diff), tth).numpy(), atol=1e-12)
    np.testing.assert_allclose(fam.gradient(y, t, theta), logit.gradient(y, diff, theta),
                               atol=1e-12)
    np.testing.assert_allclose(fam.hessian(y, t, theta), logit.hessian(y, diff, theta),
                               atol=1e-12)
    np.testing.assert_allclose(fam.probabilities(t, theta)[:, 1], logit.mean_numpy(diff, theta),
                               atol=1e-12)


def test_unavailable_alternatives_get_zero_probability_and_contribute_nothing(rng):
    fam4, fam3 = MultinomialLogitFamily(4, 2), MultinomialLogitFamily(3, 2)
    x = rng.normal(size=(30, 4, 2))
    avail = np.ones((30, 4), dtype=bool)
    avail[:, 3] = False
    t4, t3 = fam4.pack(x, avail), fam3.pack(x[:, :3])
    theta4 = rng.normal(size=(30, 5))
    theta3 = np.delete(theta4, 2, axis=1)  # drop alpha[3]
    y = rng.randint(0, 3, size=30).astype(float)
    assert np.all(fam4.probabilities(t4, theta4)[:, 3] == 0)
    g4, H4 = fam4.gradient(y, t4, theta4), fam4.hessian(y, t4, theta4)
    np.testing.assert_allclose(g4[:, 2], 0)
    np.testing.assert_allclose(H4[:, 2], 0)
    np.testing.assert_allclose(np.delete(g4, 2, axis=1), fam3.gradient(y, t3, theta3),
                               atol=1e-12)
    keep = [0, 1, 3, 4]
    np.testing.assert_allclose(H4[:, keep][:, :, keep], fam3.hessian(y, t3, theta3), atol=1e-12)
    # attribute values of an unavailable alternative never enter
    x2 = x.copy()
    x2[:, 3] = 1e6
    np.testing.assert_array_equal(fam4.pack(x2, avail), t4)


def test_classical_mle_matches_an_independent_optimizer(rng):
    from scipy.optimize import minimize

    data = make_choice(2000, prices="randomized", p_unavailable=0.2, random_state=3)
    fam = MultinomialLogitFamily(4, 2)
    t = fam.pack(data.attributes, data.availability)
    theta, cov = fam.fit_constant(data.Y, t)
    yt, tt = torch.tensor(data.Y), torch.tensor(t)

    def nll(th):
        th = torch.tensor(th, requires_grad=True)
        val = fam.loss(yt, tt, th.expand(len(data.Y), -1)).sum()
        val.backward()
        return val.item(), th.grad.numpy().copy()

    ref = minimize(nll, np.zeros(5), jac=True, method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(theta, ref.x, atol=1e-5)
    H = loss_hessian(fam.loss, data.Y, t, np.tile(theta, (len(data.Y), 1))).sum(0)
    np.testing.assert_allclose(cov, np.linalg.inv(H), rtol=1e-8)


@pytest.fixture(scope="module")
def constant_fit():
    """Constant preferences (a constant covariate), n=5000."""
    rng = np.random.RandomState(7)
    n = 5000
    x = np.stack([rng.uniform(0.5, 2.0, size=(n, 3)), rng.normal(size=(n, 3))], axis=2)
    fam = MultinomialLogitFamily(3, 2, attribute_names=NAMES)
    theta = np.array([0.4, -0.2, -1.0, 0.8])
    P = fam.probabilities(fam.pack(x), np.tile(theta, (n, 1)))
    y = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=2).astype(float)
    # the recipe with full-batch Adam (tests/test_lbfgs.py has it with solver="lbfgs"):
    # a constant covariate, no cross-fitting, full-batch training to convergence
    est = MultinomialLogitDML(3, attribute_names=NAMES, cv=1, hidden_dims=(8,), batch_size=n,
                              early_stopping=False, max_epochs=300, random_state=0)
    est.fit(np.ones((n, 1)), x, y)
    return est, x, y, fam


def test_start_value_on_many_rows_uses_an_even_subsample(rng):
    """The network's start (constant-θ MLE) on START_ROWS evenly spaced rows: the MLE of
    those rows, close to that of all rows."""
    from sklearn_dml.families._multinomial import START_ROWS

    data = make_choice(n_samples=2 * START_ROWS + 1, random_state=0)
    fam = MultinomialLogitFamily(4, 2)
    t, y = fam.pack(data.attributes), data.Y
    start = fam.initial_bias(y, t)
    sub, cov = fam.fit_constant(y[::3], t[::3])
    assert np.allclose(start, sub)
    full, _ = fam.fit_constant(y, t)  # within sampling error of the subsample's MLE
    assert np.all(np.abs(start - full) < 3 * np.sqrt(np.diag(cov)))


def test_constant_preferences_reproduce_the_conditional_logit_mle(constant_fit):
    est, x, y, fam = constant_fit
    mle, cov = fam.fit_constant(y, fam.pack(x))
    res = est.inference_
    np.testing.assert_allclose(res.estimate, mle, atol=1e-3)
    np.testing.assert_allclose(res.stderr, np.sqrt(np.diag(cov)), rtol=0.05)


def test_constant_preferences_match_statsmodels(constant_fit):
    sm = pytest.importorskip("statsmodels.discrete.conditional_models")
    est, x, y, _ = constant_fit
    n, J = x.shape[:2]
    dummies = np.zeros((n, J, J - 1))
    dummies[:, 1, 0] = dummies[:, 2, 1] = 1.0
    exog = np.concatenate([dummies, x], axis=2).reshape(n * J, -1)
    endog = (np.arange(J)[None, :] == y[:, None]).reshape(-1).astype(float)
    fit = sm.ConditionalLogit(endog, exog, groups=np.repeat(np.arange(n), J)).fit(disp=0)
    np.testing.assert_allclose(est.inference_.estimate, fit.params, atol=1e-3)
    np.testing.assert_allclose(est.inference_.stderr, fit.bse, rtol=0.05)


@pytest.fixture(scope="module")
def fitted():
    data = make_choice(800, prices="observational", p_unavailable=0.1, random_state=0)
    est = MultinomialLogitDML(4, attribute_names=NAMES, price="price", **FAST)
    return est.fit(data.X, data.attributes, data.Y, availability=data.availability), data


def test_fit_reports_average_preferences_and_market_targets(fitted):
    est, data = fitted
    assert est.inference_.names == ["E[alpha[1]]", "E[alpha[2]]", "E[alpha[3]]",
                                    "E[beta[price]]", "E[beta[quality]]"]
    assert est.lambda_method_ == "regression"  # safe default: prices may co-move with w
    res = est.inference([ChoiceProbability(1, at=data.at), ChoiceElasticity(1, "price",
                                                                            at=data.at),
                         ChoiceProbability(2), ConsumerSurplus("price", at=data.at)])
    assert res.names == ["P[1]", "Elasticity[P[1] / price[1]]", "P[2] | observed", "CS"]
    assert np.all(np.isfinite(res.estimate)) and np.all(res.stderr > 0)
    wtp = est.willingness_to_pay("quality")
    assert wtp.names == ["-E[beta[quality]] / E[beta[price]]"]
    both = est.inference(["beta[quality]", "beta[price]"])
    assert wtp.estimate[0] == pytest.approx(-both.estimate[0] / both.estimate[1])
    assert est.willingness_to_pay("quality", kind="average_ratio").names == ["WTP[quality]"]
    proba = est.predict_proba(data.X[:5], data.attributes[:5], data.availability[:5])
    np.testing.assert_allclose(proba.sum(1), 1)
    assert np.all(proba[~data.availability[:5]] == 0)
    assert np.isfinite(est.score(data.X, data.attributes, data.Y,
                                 availability=data.availability))


def test_outside_option_and_randomized_regime():
    data = make_choice(600, outside_option=True, random_state=1)
    est = MultinomialLogitDML(4, outside_option=True, attribute_names=NAMES,
                              treatment_law="empirical", **FAST)
    est.fit(data.X, data.attributes, data.Y)
    assert est.lambda_method_ == "randomized"
    assert est.theta_names_[:4] == ["alpha[0]", "alpha[1]", "alpha[2]", "alpha[3]"]
    res = est.inference(ChoiceProbability("outside", at=data.at))
    assert 0 < res.estimate[0] < 1


def test_from_long_round_trip_and_fit_long():
    data = make_choice(300, p_unavailable=0.2, random_state=2)
    n, J, _ = data.attributes.shape
    case, alt = np.nonzero(data.availability)
    df = pd.DataFrame({"case": case, "item": [f"item_{j}" for j in alt],
                       "price": data.attributes[case, alt, 0],
                       "quality": data.attributes[case, alt, 1],
                       "chosen": (data.Y[case] == alt).astype(int),
                       "w0": data.X[case, 0], "w1": data.X[case, 1], "w2": data.X[case, 2]})
    df = df.sample(frac=1.0, random_state=0)  # order must not matter
    long = from_long(df, choice="chosen", alternative="item", attributes=["price", "quality"],
                     covariates=["w0", "w1", "w2"], case="case")
    np.testing.assert_array_equal(long.availability, data.availability)
    np.testing.assert_allclose(long.T[data.availability], data.attributes[data.availability])
    np.testing.assert_array_equal(long.Y, data.Y)
    np.testing.assert_allclose(long.X.to_numpy(), data.X)
    est = MultinomialLogitDML(J, **FAST).fit_long(
        df, choice="chosen", alternative="item", attributes=["price", "quality"],
        covariates=["w0", "w1", "w2"], case="case")
    assert est.theta_names_ == ["alpha[item_1]", "alpha[item_2]", "alpha[item_3]",
                                "beta[price]", "beta[quality]"]
    assert est.get_coefficient("alpha[item_2]").shape == (n,)
    ax = est.plot_coefficient_dependence("beta[price]", "w0")
    assert ax.get_xlabel() == "w0"


def test_get_coefficient_and_plots(fitted):
    est, data = fitted
    beta = est.get_coefficient("beta")
    assert beta.shape == (800, 2)
    np.testing.assert_array_equal(est.get_coefficient("beta[price]"), est.theta_[:, 3])
    new = est.get_coefficient("beta[price]", X=data.X[:7])
    np.testing.assert_allclose(new, est.predict(data.X[:7])[:, 3])
    frame = est.coef_frame()
    assert list(frame.columns) == est.theta_names_ and frame.shape == (800, 5)
    ax = est.plot_coefficient_distribution("beta[price]")
    res = est.inference("beta[price]")
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(res.estimate[0])
    assert "debiased" in ax.get_legend_handles_labels()[1][-1]
    ax = est.plot_coefficient_dependence("beta[price]", 2)
    assert ax.get_ylabel() == "beta[price]"
    with pytest.raises(ValueError, match="names 2 coefficients"):
        est.plot_coefficient_distribution("beta")
    with pytest.raises(ValueError, match="Unknown coefficient"):
        est.get_coefficient("gamma")
    with pytest.raises(ValueError, match="no λ"):
        est.get_coefficient("lambda")
    with pytest.raises(ValueError, match="level='nest'.*nested logit"):
        est.get_coefficient("alpha", level="nest")
    by_w0 = est.get_coefficient("beta", by=data.X[:, 0] > 0)
    assert by_w0.shape == (2, 2) and list(by_w0.columns) == ["beta[price]", "beta[quality]"]
    matplotlib.pyplot.close("all")


def test_post_estimation_works_for_the_linear_family():
    data = make_linear_confounded(400, random_state=0)
    est = StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y)
    assert est.get_coefficient("beta").shape == (400,)
    ax = est.plot_coefficient_distribution("beta", kde=False)
    assert ax.get_xlabel() == "beta"
    matplotlib.pyplot.close("all")


def test_bad_inputs_say_what_to_do():
    data = make_choice(200, p_unavailable=0.3, random_state=0)
    est = MultinomialLogitDML(4, **FAST)
    Y = data.Y.copy()
    row = np.flatnonzero(~data.availability[:, 1])[0]
    Y[row] = 1
    with pytest.raises(ValueError, match="chose an unavailable alternative"):
        est.fit(data.X, data.attributes, Y, availability=data.availability)
    with pytest.raises(ValueError, match="never chosen"):
        est.fit(data.X, data.attributes, np.where(data.Y == 2, 0, data.Y))
    with pytest.raises(ValueError, match="n_samples, 4, n_attributes"):
        est.fit(data.X, data.attributes[:, :3], data.Y)
    with pytest.raises(ValueError, match="alternative indices"):
        est.fit(data.X, data.attributes, data.Y + 0.5)
    with pytest.raises(ValueError, match="never varies"):
        flat = data.attributes.copy()
        flat[:, :, 1] = 1.0
        est.fit(data.X, flat, data.Y)
    absent = data.availability.copy()
    absent[:, 2] = False
    with pytest.raises(ValueError, match=re.escape("['2'] are never chosen (['2'] in no "
                                                   "choice set at all)")):
        est.fit(data.X, data.attributes, np.where(data.Y == 2, 0, data.Y), availability=absent)
    with pytest.raises(ValueError, match=r"e\.g\. 1\.5 in row 0"):
        est.fit(data.X, data.attributes, np.r_[1.5, data.Y[1:]])


@pytest.mark.parametrize("tie, tied", [
    ("collinear", ["beta[price]", "beta[quality]"]),
    ("per alternative", ["alpha[1]", "alpha[2]", "alpha[3]", "beta[quality]"])])
def test_attributes_that_do_not_separate_are_refused_before_training(tie, tied):
    """quality = 2·price + 1, or quality fixed for each alternative beside the constants:
    no choice data tell the coefficients apart. The error names them before any network
    trains (they reached training, and a Λ̂-singular error that blamed X)."""
    data = make_choice(300, p_unavailable=0.3, random_state=0)
    attributes = data.attributes.copy()
    attributes[:, :, 1] = (2 * attributes[:, :, 0] + 1 if tie == "collinear"
                           else np.array([0.0, 1.0, 3.0, 2.0]))
    with pytest.raises(ValueError, match=re.escape(f"The coefficients {tied} are not "
                                                   "separately identified")):
        MultinomialLogitDML(4, attribute_names=data.attribute_names, **FAST).fit(
            data.X, attributes, data.Y, availability=data.availability)


def test_registry_builds_the_family_and_names_theta():
    fam = get_family("multinomial_logit")
    assert isinstance(fam, MultinomialLogitFamily)
    assert fam.theta_names(None) == ["alpha[1]", "beta[x0]"]


def test_clone_and_pickle(fitted):
    import pickle

    from sklearn.base import clone

    est, data = fitted
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "theta_")
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(back.predict_proba(data.X[:3], data.attributes[:3]),
                               est.predict_proba(data.X[:3], data.attributes[:3]))
    assert str(back.summary()) == str(est.summary())


def test_flat_alternative_major_attributes_are_accepted(fitted):
    est, data = fitted
    flat = data.attributes.reshape(len(data.Y), -1)
    np.testing.assert_allclose(est.predict_proba(data.X[:4], flat[:4], data.availability[:4]),
                               est.predict_proba(data.X[:4], data.attributes[:4],
                                                 data.availability[:4]))
