"""Nested logit: likelihood against an independent numpy oracle, MLE parity, λ = 1, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import minimize
from sklearn.base import clone

from sklearn_dml import MultinomialLogitDML, NestedLogitDML
from sklearn_dml.families import FAMILIES, MultinomialLogitFamily, NestedLogitFamily

NESTS = {"budget": [0, 1, 2], "premium": [3, 4], "store": [5]}
NAMES = ["price", "quality"]
J, K = 6, 2


def _family(**kw):
    return NestedLogitFamily(J, K, NESTS, attribute_names=NAMES, lambda_nests=["budget",
                                                                               "premium"], **kw)


def _loglik_rows(theta, x, avail, y, nests=NESTS, reference=0):
    """Independent numpy nested-logit log-likelihood per row; θ = (α_{j≠ref}, β, λ_free)."""
    n = x.shape[0]
    alpha = np.insert(theta[:J - 1], reference, 0.0)
    beta = theta[J - 1:J - 1 + K]
    free = [k for k, alts in nests.items() if len(alts) > 1]
    lam = dict(zip(free, theta[J - 1 + K:]))
    V = alpha[None] + x @ beta
    log_num = np.full((n, J), -np.inf)
    inclusive = {}
    for k, alts in nests.items():
        lk = lam.get(k, 1.0)
        U = np.where(avail[:, alts], V[:, alts] / lk, -np.inf)
        m = U.max(1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)  # a nest with nothing available: I = −inf
        with np.errstate(divide="ignore", invalid="ignore"):  # −inf − (−inf): never chosen
            Ik = (m + np.log(np.exp(U - m).sum(1, keepdims=True)))[:, 0]
            log_num[:, alts] = U - Ik[:, None]  # log P(j | k)
        inclusive[k] = (lk, Ik)
    top = np.stack([lk * Ik for lk, Ik in inclusive.values()], 1)
    mt = top.max(1, keepdims=True)
    log_den = (mt + np.log(np.exp(top - mt).sum(1, keepdims=True)))[:, 0]
    nest_of = np.empty(J, dtype=int)
    for i, alts in enumerate(nests.values()):
        nest_of[alts] = i
    rows = np.arange(n)
    return log_num[rows, y] + top[rows, nest_of[y]] - log_den


def _simulate(n, theta, rng):
    price = rng.uniform(2.0, 20.0, size=(n, J))  # dollars
    quality = rng.normal(3.0, 1.0, size=(n, J))
    x = np.stack([price, quality], axis=2)
    avail = rng.uniform(size=(n, J)) > 0.15
    avail[:, 0] = True
    logp = np.stack([_loglik_rows(theta, x, avail, np.full(n, j)) for j in range(J)], 1)
    P = np.where(avail, np.exp(logp), 0.0)
    y0 = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=J - 1)
    return x, avail, y0


def _mle(x, avail, y, start):
    """scipy BFGS, Newton-polished, with the sandwich covariance from finite differences."""
    d = start.size

    def negll(th):
        return -_loglik_rows(th, x, avail, y).sum()

    def scores(th, h=1e-5):
        out = np.empty((y.size, d))
        for a in range(d):
            e = np.zeros(d)
            e[a] = h
            out[:, a] = (_loglik_rows(th + e, x, avail, y)
                         - _loglik_rows(th - e, x, avail, y)) / (2 * h)
        return out

    def hess(th, h=1e-4):
        H = np.empty((d, d))
        for a in range(d):
            e = np.zeros(d)
            e[a] = h
            H[:, a] = -(scores(th + e).sum(0) - scores(th - e).sum(0)) / (2 * h)
        return (H + H.T) / 2

    th = minimize(negll, start, jac=lambda t: -scores(t).sum(0), method="BFGS",
                  options={"gtol": 1e-8, "maxiter": 2000}).x
    for _ in range(3):
        th = th - np.linalg.solve(hess(th), -scores(th).sum(0))
    Hinv = np.linalg.inv(hess(th))
    s = scores(th)
    # θ̂ − θ ≈ Σ_i Hinv s_i: the rows of s @ Hinv are each case's influence on θ̂
    return th, Hinv @ (s.T @ s) @ Hinv, s @ Hinv


TRUE = np.array([0.5, 0.2, 1.0, 0.6, 0.3, -0.25, 0.8, 0.5, 0.7])


@pytest.fixture(scope="module")
def parity_fit():
    rng = np.random.RandomState(3)
    n = 4000
    x, avail, y = _simulate(n, TRUE, rng)
    est = NestedLogitDML(J, nests=NESTS, attribute_names=NAMES, lambda_nests=["budget",
                                                                              "premium"],
                         cv=1, solver="lbfgs", weight_decay=0.0, early_stopping=False,
                         max_epochs=300, hidden_dims=(8,), random_state=0)
    est.fit(np.ones((n, 1)), x, y.astype(float), availability=avail)
    mle, cov, influence = _mle(x, avail, y, est.inference_.estimate)
    est.parity_data_ = (x, avail, influence)  # for the target parity below
    return est, mle, cov


def test_loss_matches_the_numpy_oracle(rng):
    fam = _family()
    x, avail, y = _simulate(50, TRUE, rng)
    theta = np.tile(TRUE, (50, 1))
    loss = fam.loss(torch.as_tensor(y), torch.as_tensor(fam.pack(x, avail)),
                    torch.as_tensor(theta)).numpy()
    np.testing.assert_allclose(loss, -_loglik_rows(TRUE, x, avail, y), rtol=1e-12)
    P = fam.probabilities(fam.pack(x, avail), theta)
    np.testing.assert_allclose(P.sum(1), 1.0)
    assert np.all(P[~avail] == 0)


def test_gradient_and_hessian_match_finite_differences(rng):
    fam = _family()
    x, avail, y = _simulate(30, TRUE, rng)
    t = fam.pack(x, avail)
    theta = np.tile(TRUE, (30, 1)) + rng.normal(scale=0.1, size=(30, TRUE.size))
    G, H = fam.gradient(y, t, theta), fam.hessian(y, t, theta)
    h = 1e-6
    for a in range(TRUE.size):
        e = np.zeros(TRUE.size)
        e[a] = h
        fd = (fam.gradient(y, t, theta + e) - fam.gradient(y, t, theta - e)) / (2 * h)
        np.testing.assert_allclose(H[:, :, a], fd, atol=1e-6)
        lp = -np.array([_loglik_rows(th, x[[i]], avail[[i]], y[[i]])[0]
                        for i, th in enumerate(theta + e)])
        lm = -np.array([_loglik_rows(th, x[[i]], avail[[i]], y[[i]])[0]
                        for i, th in enumerate(theta - e)])
        np.testing.assert_allclose(G[:, a], (lp - lm) / (2 * h), atol=1e-6)
    # the Fisher information is E_y[ℓ_θθ] and equals E_y[ℓ_θ ℓ_θ']
    P = fam.probabilities(t, theta)
    outer = sum(P[:, j, None, None] * np.einsum("nd,ne->nde", g, g)
                for j in range(J) for g in [fam.gradient(np.full(30, j), t, theta)])
    expected = sum(P[:, j, None, None] * fam.hessian(np.full(30, j), t, theta) for j in range(J))
    np.testing.assert_allclose(fam.expected_hessian(t, theta), outer, atol=1e-10)
    np.testing.assert_allclose(fam.expected_hessian(t, theta), expected, atol=1e-10)


@pytest.mark.parametrize("outside", [False, True])
def test_all_lambdas_one_is_the_conditional_logit(rng, outside):
    fam = NestedLogitFamily(J, K, NESTS, lambda_nests=["budget", "premium"],
                            outside_option=outside)
    mnl = MultinomialLogitFamily(J, K, outside_option=outside)
    x = rng.normal(size=(20, J, K))
    avail = rng.uniform(size=(20, J)) > 0.3
    avail[:, 0] = True
    t = fam.pack(x, avail)
    theta0 = rng.normal(size=(20, mnl.theta_dim()))
    theta = np.concatenate([theta0, np.ones((20, 2))], axis=1)
    np.testing.assert_allclose(fam.probabilities(t, theta), mnl.probabilities(t, theta0),
                               atol=1e-14)
    y = np.zeros(20)
    d0 = mnl.theta_dim()
    np.testing.assert_allclose(fam.gradient(y, t, theta)[:, :d0], mnl.gradient(y, t, theta0),
                               atol=1e-12)
    np.testing.assert_allclose(fam.expected_hessian(t, theta)[:, :d0, :d0],
                               mnl.expected_hessian(t, theta0), atol=1e-12)


def test_debiased_estimate_reproduces_the_mle(parity_fit):
    est, mle, cov = parity_fit
    res = est.inference_
    assert res.names[-2:] == ["E[lambda[budget]]", "E[lambda[premium]]"]
    np.testing.assert_allclose(res.estimate, mle, rtol=1e-3)
    # X constant: every component held fixed, the bread the mean observed Hessian
    assert est.homogeneous_ == est.theta_names_
    np.testing.assert_allclose(res.stderr, np.sqrt(np.diag(cov)), rtol=0.01)
    assert np.all((mle[-2:] > 0.3) & (mle[-2:] < 0.95))


def test_conditional_lambda_with_constant_covariates_is_the_mle(parity_fit):
    # lambda_method="conditional" too: with X constant the fit is the parametric MLE
    est, mle, cov = parity_fit
    other = clone(est).set_params(lambda_method="conditional")
    x, avail, _ = est.parity_data_
    other.fit(np.ones((x.shape[0], 1)), x, est._rows.Y, availability=avail)
    assert other.lambda_method_ == "conditional"
    np.testing.assert_allclose(other.inference_.estimate, mle, rtol=1e-3)
    np.testing.assert_allclose(other.inference_.stderr, np.sqrt(np.diag(cov)), rtol=0.01)


def test_a_block_name_as_target_averages_each_component(parity_fit):
    est = parity_fit[0]
    res = est.inference("lambda")  # as get_coefficient("lambda") and homogeneous="lambda"
    assert res.names == ["E[lambda[budget]]", "E[lambda[premium]]"]
    np.testing.assert_array_equal(res.estimate, est.inference_.estimate[-2:])
    with pytest.raises(ValueError, match="Unknown parameter 'gamma'"):
        est.inference("gamma")


def test_conditional_lambda_refuses_a_lambda_model(rng):
    x, avail, y = _simulate(100, TRUE, rng)
    est = NestedLogitDML(J, nests=NESTS, attribute_names=NAMES, lambda_method="conditional",
                         lambda_model="network", max_epochs=1)
    with pytest.raises(ValueError, match="fits no regression"):
        est.fit(rng.normal(size=(100, 2)), x, y.astype(float), availability=avail)


def test_get_coefficient_lambda(parity_fit):
    est, mle, _ = parity_fit
    lam = est.get_coefficient("lambda")
    assert lam.shape == (4000, 2)
    np.testing.assert_allclose(lam.mean(0), mle[-2:], rtol=1e-2)


def test_get_coefficient_by_group_level_and_lambda_errors(parity_fit):
    est = parity_fit[0]
    lam = est.get_coefficient("lambda")
    users = np.arange(lam.shape[0]) % 10
    frame = est.get_coefficient("lambda", by=users)
    assert list(frame.columns) == ["lambda[budget]", "lambda[premium]"] and frame.shape == (10, 2)
    np.testing.assert_allclose(frame.loc[3].to_numpy(), lam[users == 3].mean(0))
    series = est.get_coefficient("beta[price]", by=users, level="item")
    assert series.name == "beta[price]" and series.index.tolist() == list(range(10))
    np.testing.assert_array_equal(est.get_coefficient("intercept[item]"),
                                  est.get_coefficient("alpha"))
    np.testing.assert_array_equal(est.get_coefficient("lambda", level="nest"), lam)
    np.testing.assert_array_equal(est.get_coefficient("price[constant]"),
                                  est.get_coefficient("beta[price]"))
    with pytest.raises(ValueError, match="fixed at 1, not estimated.*single alternative"):
        est.get_coefficient("lambda[store]")
    with pytest.raises(ValueError, match="no nest-level terms"):
        est.get_coefficient("alpha", level="nest")
    with pytest.raises(ValueError, match="Unknown coefficient 'gamma'"):
        est.get_coefficient("gamma")
    with pytest.raises(ValueError, match="level must be"):
        est.get_coefficient("alpha", level="user")
    with pytest.raises(ValueError, match="one group label per row"):
        est.get_coefficient("lambda", by=users[:5])


def test_summary_reports_the_iia_test(parity_fit):
    est = parity_fit[0]
    diagnostics = est.summary().diagnostics
    test = est.iia_test()
    assert diagnostics["iia_wald_chi2"] == test.statistic and diagnostics["iia_df"] == 2
    assert diagnostics["iia_pvalue"] == test.pvalue
    assert "iia_pvalue" in est.summary().as_text()


def test_shared_lambda_names_one_component():
    fam = NestedLogitFamily(J, K, NESTS, shared_lambda=True)
    assert fam.theta_names()[-1] == "lambda" and fam.n_lambda == 1
    lam = fam.nest_lambdas(np.r_[np.zeros(J - 1 + K), 0.4][None])
    np.testing.assert_allclose(lam, [[0.4, 0.4, 1.0]])


def test_registry_and_singleton_warning():
    with pytest.warns(UserWarning, match=r"\['store'\] have a single alternative"):
        fam = NestedLogitFamily(J, K, NESTS)
    assert fam.theta_names()[-2:] == ["lambda[budget]", "lambda[premium]"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NestedLogitFamily(J, K, NESTS, shared_lambda=True)
    assert FAMILIES["nested_logit"] is NestedLogitFamily


@pytest.mark.parametrize("nests, match", [
    ({"a": [0, 1, 2], "b": [3, 4]}, r"\['5'\] are in no nest"),
    ({"a": [0, 1, 2], "b": [2, 3, 4, 5]}, "appears in nest 'a' and in nest 'b'"),
    ({"a": [0, 1, 2], "b": ["z", 3, 4, 5]}, "unknown alternative 'z'"),
    ({"a": [0, 1, 2], "b": []}, "non-empty list"),
    ([[0, 1, 2], [3, 4, 5]], "must be a non-empty dict"),
])
def test_bad_nest_maps(nests, match):
    with pytest.raises(ValueError, match=match):
        NestedLogitFamily(J, K, nests)


def test_lambda_for_a_singleton_nest_is_an_error():
    with pytest.raises(ValueError, match=r"λ cannot be estimated for nest\(s\) \['store'\]"):
        NestedLogitFamily(J, K, NESTS, lambda_nests=["budget", "store"])
    with pytest.raises(ValueError, match="Unknown nest 'nope'"):
        NestedLogitFamily(J, K, NESTS, lambda_nests=["nope"])


@pytest.mark.filterwarnings("ignore:Dropping one row")  # 300 rows, 5 epochs: API check only
def test_estimator_needs_nests_and_fit_long_nest_column(rng):
    n = 300
    x, avail, y = _simulate(n, TRUE, rng)
    with pytest.raises(ValueError, match="needs the nests"):
        NestedLogitDML(J, max_epochs=1).fit(np.ones((n, 1)), x, y)
    items = np.array(["0", "1", "2", "3", "4", "5"])
    nest_of = {str(j): k for k, alts in NESTS.items() for j in alts}
    rows = [(i, items[j], float(y[i] == j), *x[i, j], nest_of[items[j]], rng.normal())
            for i in range(n) for j in range(J) if avail[i, j]]
    df = pd.DataFrame(rows, columns=["case", "item", "chosen", "price", "quality", "nest", "w"])
    df["w"] = df.groupby("case")["w"].transform("first")
    est = NestedLogitDML(J, lambda_nests=["budget", "premium"], hidden_dims=(4,), max_epochs=5,
                         cv=2, random_state=0)
    est.fit_long(df, choice="chosen", alternative="item", attributes=NAMES, covariates=["w"],
                 case="case", nest="nest")
    assert est.family_.nest_names == ["budget", "premium", "store"]
    assert est.theta_names_[-2:] == ["lambda[budget]", "lambda[premium]"]
    assert isinstance(est, MultinomialLogitDML)


def test_willingness_to_pay_is_the_ratio_of_the_mles(parity_fit):
    est, mle, _ = parity_fit
    wtp = est.willingness_to_pay("quality", price="price")
    np.testing.assert_allclose(wtp.estimate, -mle[6] / mle[5], rtol=1e-3)


def _target_rows(rng, n=25):
    fam = _family()
    x, avail, _ = _simulate(n, TRUE, rng)
    avail[:, [1, 3]] = True  # the alternatives the targets below move
    theta = np.tile(TRUE, (n, 1)) + rng.normal(scale=0.05, size=(n, TRUE.size))
    return fam, x, avail, theta


def _fd_theta(target, fam, theta, t, h=1e-6):
    out = np.empty(theta.shape)
    for a in range(theta.shape[1]):
        e = np.zeros(theta.shape[1])
        e[a] = h
        out[:, a] = (target.value(fam, theta + e, t) - target.value(fam, theta - e, t)) / (2 * h)
    return out


@pytest.mark.parametrize("of", [1, 0, 3, 5], ids=["own", "within", "across", "singleton"])
def test_nested_elasticities_and_marginal_effects_match_finite_differences(rng, of):
    from sklearn_dml.targets import ChoiceElasticity, ChoiceMarginalEffect

    fam, x, avail, theta = _target_rows(rng)
    avail[:, of] = True
    t = fam.pack(x, avail)
    h = 1e-6
    xp, xm = x.copy(), x.copy()
    xp[:, of, 0] *= 1 + h
    xm[:, of, 0] *= 1 - h
    Pp, Pm = fam.probabilities(fam.pack(xp, avail), theta), fam.probabilities(fam.pack(xm, avail),
                                                                               theta)
    elasticity = ChoiceElasticity(1, "price", of=of)
    np.testing.assert_allclose(elasticity.value(fam, theta, t),
                               (np.log(Pp[:, 1]) - np.log(Pm[:, 1])) / (2 * h), atol=1e-6)
    effect = ChoiceMarginalEffect(1, "price", of=of)
    np.testing.assert_allclose(effect.value(fam, theta, t),
                               (Pp[:, 1] - Pm[:, 1]) / (2 * h * x[:, of, 0]), atol=1e-7)
    for target in (elasticity, effect):
        np.testing.assert_allclose(target.jacobian(fam, theta, t),
                                   _fd_theta(target, fam, theta, t), atol=1e-6)


def test_nested_within_and_across_cross_elasticities_differ(rng):
    from sklearn_dml.targets import ChoiceElasticity

    fam, x, avail, theta = _target_rows(rng)
    t = fam.pack(x, avail)
    within = ChoiceElasticity(1, "price", of=0).value(fam, theta, t)
    across = ChoiceElasticity(1, "price", of=3).value(fam, theta, t)
    P = fam.probabilities(t, theta)
    # across nests the conditional logit's formula holds: −β_p x_lp P_l
    np.testing.assert_allclose(across, -theta[:, 5] * x[:, 3, 0] * P[:, 3], rtol=1e-10)
    rows = avail[:, 0]  # within the nest (λ < 1) substitution is stronger
    assert np.all(within[rows] > across[rows] * x[rows, 0, 0] / x[rows, 3, 0] * P[rows, 0]
                  / P[rows, 3])


@pytest.mark.parametrize("outside", [False, True])
def test_nested_consumer_surplus(rng, outside):
    from sklearn_dml.targets import ChoiceProbability, ConsumerSurplus

    fam, x, avail, theta = _target_rows(rng)
    if outside:
        fam = NestedLogitFamily(J, K, NESTS, attribute_names=NAMES, outside_option=True,
                                lambda_nests=["budget", "premium"])
        theta = np.concatenate([theta[:, :1], theta], axis=1)  # one more α
    t = fam.pack(x, avail)
    cs = ConsumerSurplus("price")
    bp = theta[:, fam.beta_index("price")]
    # Williams–Daly–Zachary: ∂(log-sum)/∂V_j = P_j, so ∂CS/∂x_jp = −P_j
    h = 1e-6
    xp, xm = x.copy(), x.copy()
    xp[:, 3, 0] += h
    xm[:, 3, 0] -= h
    dcs = (cs.value(fam, theta, fam.pack(xp, avail)) - cs.value(fam, theta, fam.pack(xm, avail)))
    np.testing.assert_allclose(dcs / (2 * h), -fam.probabilities(t, theta)[:, 3], atol=1e-7)
    np.testing.assert_allclose(cs.jacobian(fam, theta, t), _fd_theta(cs, fam, theta, t),
                               atol=1e-5 * np.abs(1 / bp).max())
    prob = ChoiceProbability(3)
    np.testing.assert_allclose(prob.value(fam, theta, t), fam.probabilities(t, theta)[:, 3])
    np.testing.assert_allclose(prob.jacobian(fam, theta, t), _fd_theta(prob, fam, theta, t),
                               atol=1e-7)


def test_nested_targets_at_lambda_one_are_the_conditional_logit_ones(rng):
    from sklearn_dml.targets import ChoiceElasticity, ConsumerSurplus

    fam, x, avail, theta = _target_rows(rng)
    mnl = MultinomialLogitFamily(J, K, attribute_names=NAMES)
    theta[:, -2:] = 1.0
    t = fam.pack(x, avail)
    for target in (ChoiceElasticity(1, "price", of=0), ChoiceElasticity(1, "price"),
                   ConsumerSurplus("price")):
        np.testing.assert_allclose(target.value(fam, theta, t),
                                   target.value(mnl, theta[:, :-2], t), rtol=1e-10)
        np.testing.assert_allclose(target.jacobian(fam, theta, t)[:, :-2],
                                   target.jacobian(mnl, theta[:, :-2], t), atol=1e-10)


def test_debiased_nested_targets_are_the_plug_in_at_the_mle(parity_fit):
    """Own, within-nest and across-nest elasticities and ΔCS at the observed menus: the
    average at the MLE, with the delta-method SE (row variation plus θ̂'s influence)."""
    from sklearn_dml.targets import ChoiceElasticity, ConsumerSurplus

    est, mle, _ = parity_fit
    x, avail, influence = est.parity_data_
    n = x.shape[0]
    menu = x.mean(0)  # a fixed menu, and the same with alternative 3 10% cheaper
    cheaper = menu.copy()
    cheaper[3, 0] *= 0.9
    targets = [ChoiceElasticity(1, "price"), ChoiceElasticity(1, "price", of=0),
               ChoiceElasticity(1, "price", of=3),
               ConsumerSurplus("price", at=cheaper, baseline=menu)]
    res = est.inference(targets)
    fam, t, theta = est.family_, est.family_.pack(x, avail), np.tile(mle, (n, 1))
    for i, target in enumerate(targets):
        H = target.value(fam, theta, t)
        psi = H + n * influence @ target.jacobian(fam, theta, t).mean(0)
        np.testing.assert_allclose(res.estimate[i], H.mean(), rtol=1e-3)
        np.testing.assert_allclose(res.stderr[i], psi.std() / np.sqrt(n), rtol=0.05)
    assert res.estimate[0] < 0 < res.estimate[2] < res.estimate[1]


def test_iia_wald_test_matches_the_mle_one(parity_fit):
    from scipy.stats import chi2

    est, mle, cov = parity_fit
    test = est.iia_test()
    gap = mle[-2:] - 1.0
    oracle = gap @ np.linalg.solve(cov[-2:, -2:], gap)
    assert test.df == 2 and test.names == ["E[lambda[budget]]", "E[lambda[premium]]"]
    np.testing.assert_allclose(test.statistic, oracle, rtol=0.1)
    np.testing.assert_allclose(test.pvalue, chi2.sf(test.statistic, 2))


def test_no_lambda_estimated_is_the_conditional_logit_estimator(rng):
    n = 1500
    x, avail, y = _simulate(n, np.r_[TRUE[:-2], 1.0, 1.0], rng)  # λ = 1: a conditional logit
    kw = dict(attribute_names=NAMES, cv=1, solver="lbfgs", weight_decay=0.0,
              early_stopping=False, max_epochs=300, hidden_dims=(8,), random_state=0)
    nested = NestedLogitDML(J, nests=NESTS, lambda_nests=[], **kw)
    nested.fit(np.ones((n, 1)), x, y.astype(float), availability=avail)
    plain = MultinomialLogitDML(J, **kw).fit(np.ones((n, 1)), x, y.astype(float),
                                             availability=avail)
    assert nested.theta_names_ == plain.theta_names_
    np.testing.assert_allclose(nested.inference_.estimate, plain.inference_.estimate,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(nested.inference_.stderr, plain.inference_.stderr, rtol=1e-4)


def test_randomized_attributes_regime_runs(rng):
    n = 600
    x, avail, y = _simulate(n, TRUE, rng)
    est = NestedLogitDML(J, nests=NESTS, lambda_nests=["budget", "premium"],
                         attribute_names=NAMES, treatment_law="empirical", cv=2,
                         hidden_dims=(4,), max_epochs=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small-sample influence diagnostics
        est.fit(rng.normal(size=(n, 2)), x, y.astype(float), availability=avail)
    assert est.inference_.diagnostics["lambda_method"] == "randomized"
    assert np.all(np.isfinite(est.inference_.stderr))


def test_within_nest_responses_warn_when_lambda_varies(rng, parity_fit):
    # own and within-nest elasticities carry 1/λ̂(w): the one-step correction leaves a
    # bias of the order of the SE, so a fit with λ(w) varying says so; across-nest ones
    # and the constant-covariate (parametric) fit do not warn
    from sklearn_dml.targets import ChoiceElasticity

    n = 400
    x, avail, y = _simulate(n, TRUE, rng)
    menu = x[0]
    est = NestedLogitDML(J, nests=NESTS, lambda_nests=["budget", "premium"],
                         attribute_names=NAMES, target=["lambda[budget]"], cv=2,
                         homogeneous=None, hidden_dims=(4,), max_epochs=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(rng.normal(size=(n, 2)), x, y.astype(float), availability=avail)
    within = [ChoiceElasticity(1, "price", at=menu), ChoiceElasticity(0, "price", of=1, at=menu)]
    with pytest.warns(UserWarning, match="carries 1/λ̂ of its nest") as record:
        est.inference([*within, ChoiceElasticity(3, "price", of=1, at=menu)])
    flagged = [w for w in record if "carries 1/λ̂" in str(w.message)]
    assert len(flagged) == 2 and "lambda[budget]" in str(flagged[0].message)
    assert all(w.filename == __file__ for w in flagged)  # names the caller's line
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        parity_fit[0].inference(within)
    assert not [w for w in record if "carries 1/λ̂" in str(w.message)]


def test_homogeneous_all_with_varying_covariates_is_the_nested_mle(parity_fit):
    # the parity data again, with covariates that vary: homogeneous="all" skips the
    # networks and is the MLE with its sandwich SE
    est, mle, cov = parity_fit
    x, avail, _ = est.parity_data_
    y = est._training_rows().Y
    X = np.random.RandomState(0).normal(size=(y.size, 3))
    fit = NestedLogitDML(J, nests=NESTS, attribute_names=NAMES, lambda_nests=["budget",
                                                                              "premium"],
                         homogeneous="all", cv=1, random_state=0)
    fit.fit(X, x, y, availability=avail)
    np.testing.assert_allclose(fit.inference_.estimate, mle, rtol=1e-5)
    # the bread is the Fisher information, the oracle's the observed Hessian
    np.testing.assert_allclose(fit.inference_.stderr, np.sqrt(np.diag(cov)), rtol=0.03)


def test_lambda_is_homogeneous_by_default_and_the_within_nest_warning_silent(rng):
    from sklearn_dml.targets import ChoiceElasticity

    n = 600
    x, avail, y = _simulate(n, TRUE, rng)
    lambdas = ["lambda[budget]", "lambda[premium]"]
    est = NestedLogitDML(J, nests=NESTS, lambda_nests=["budget", "premium"],
                         attribute_names=NAMES, target=lambdas, cv=2,
                         hidden_dims=(4,), max_epochs=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(rng.normal(size=(n, 2)), x, y.astype(float), availability=avail)
    lam = est.get_coefficient("lambda")
    for test in est.folds_[0]:
        assert np.ptp(lam[test], axis=0).max() < 1e-6
    assert np.ptp(est.get_coefficient("beta[price]")) > 0  # the rest still varies
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.inference([ChoiceElasticity(1, "price", at=x[0])])
    assert not [w for w in record if "carries 1/λ̂" in str(w.message)]


def test_regime_c_folds_side_by_side_in_threads(rng):
    """The moved secant Hessian differentiates in every fold's thread at once (reverse mode:
    forward-mode levels are not thread-safe)."""
    x, avail, y = _simulate(600, TRUE, rng)
    est = NestedLogitDML(J, nests=NESTS, attribute_names=NAMES, lambda_method="regression",
                         hidden_dims=(4,), max_epochs=3, cv=3, torch_num_threads=2,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(rng.normal(size=(600, 2)), x, y.astype(float), availability=avail)
    assert np.all(np.isfinite(est.inference_.stderr))


def test_iia_test_with_clusters_refers_to_f(parity_fit, monkeypatch):
    """With G clusters the single-target intervals use t(G − 1), so the Wald test of
    q restrictions refers statistic / q to F(q, G − 1)."""
    from scipy.stats import f

    from sklearn_dml import InferenceResults

    est = parity_fit[0]
    res = est.inference(["lambda[budget]", "lambda[premium]"])
    clustered = InferenceResults(res.names, res.estimate, res.cov, dof=19)
    monkeypatch.setattr(est, "inference", lambda names: clustered)
    test = est.iia_test()
    np.testing.assert_allclose(test.pvalue, f.sf(test.statistic / 2, 2, 19))
