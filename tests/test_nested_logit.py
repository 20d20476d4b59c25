"""Nested logit: likelihood against an independent numpy oracle, MLE parity, λ = 1, bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import minimize

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
    return th, Hinv @ (s.T @ s) @ Hinv


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
    mle, cov = _mle(x, avail, y, est.inference_.estimate)
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
    np.testing.assert_allclose(fam.expected_hessian(t, theta), outer, atol=1e-10)


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
    np.testing.assert_allclose(res.stderr, np.sqrt(np.diag(cov)), rtol=0.05)
    assert np.all((mle[-2:] > 0.3) & (mle[-2:] < 0.95))


def test_get_coefficient_lambda(parity_fit):
    est, mle, _ = parity_fit
    lam = est.get_coefficient("lambda")
    assert lam.shape == (4000, 2)
    np.testing.assert_allclose(lam.mean(0), mle[-2:], rtol=1e-2)


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


def test_willingness_to_pay_works_and_choice_targets_refuse_the_nested_family(parity_fit):
    from sklearn_dml.targets import ChoiceProbability

    est, mle, _ = parity_fit
    wtp = est.willingness_to_pay("quality", price="price")
    np.testing.assert_allclose(wtp.estimate, -mle[6] / mle[5], rtol=1e-3)
    with pytest.raises(TypeError, match="multinomial logit family"):
        est.inference(ChoiceProbability(0))
