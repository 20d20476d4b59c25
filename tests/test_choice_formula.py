"""Utility formulas: grammar, bad input, MLE parity of the new terms, fit_long."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import minimize

from sklearn_dml import MultinomialLogitDML, NestedLogitDML
from sklearn_dml._utility_spec import UtilitySpec, parse_formula
from sklearn_dml.families import MultinomialLogitFamily

matplotlib.use("Agg")

J = 4
ALTS = ["a", "b", "c", "d"]
MLE_FIT = dict(cv=1, solver="lbfgs", weight_decay=0.0, early_stopping=False, max_epochs=300,
               hidden_dims=(8,), random_state=0)


def _data(n, rng):
    price = rng.uniform(1.0, 9.0, size=(n, J))  # dollars
    quality = np.tile([1.0, 2.5, 3.0, 1.5], (n, 1))  # item-only observable
    dist = rng.uniform(0.0, 3.0, size=(n, J))
    income = rng.normal(50.0, 15.0, size=n)  # thousands of dollars
    return np.stack([price, quality, dist], axis=2), income


def _utilities(theta, x, income, spec):
    """Independent numpy utilities of the two formulas tested below."""
    price, quality, dist = x[:, :, 0], x[:, :, 1], x[:, :, 2]
    if spec == "A":  # (1|item) + (price|constant) + (dist|item) + (income|item)
        alpha = np.r_[0.0, theta[:3]]
        return (alpha + theta[3] * price + theta[4:8] * dist
                + np.r_[0.0, theta[8:11]] * income[:, None])
    # B: (price|constant) + (quality|constant) + (income|item)
    return theta[0] * price + theta[1] * quality + np.r_[0.0, theta[2:5]] * income[:, None]


def _loglik(theta, x, income, y, spec):
    V = _utilities(theta, x, income, spec)
    m = V.max(1, keepdims=True)
    return V[np.arange(y.size), y] - (m[:, 0] + np.log(np.exp(V - m).sum(1)))


def _scipy_mle(loglik, start, h=1e-5):
    """BFGS on the summed log-likelihood, sandwich covariance from numerical scores."""
    d = start.size

    def scores(th):
        out = np.empty((loglik(th).size, d))
        for a in range(d):
            e = np.zeros(d)
            e[a] = h
            out[:, a] = (loglik(th + e) - loglik(th - e)) / (2 * h)
        return out

    def information(th):
        H = np.empty((d, d))
        for a in range(d):
            e = np.zeros(d)
            e[a] = 1e-4
            H[:, a] = -(scores(th + e).sum(0) - scores(th - e).sum(0)) / 2e-4
        return (H + H.T) / 2

    th = minimize(lambda t: -loglik(t).sum(), start, jac=lambda t: -scores(t).sum(0),
                  method="BFGS", options={"gtol": 1e-7, "maxiter": 3000}).x
    for _ in range(2):  # Newton polish: BFGS stops early along flat directions
        th = th + np.linalg.solve(information(th), scores(th).sum(0))
    Hinv = np.linalg.inv(information(th))
    s = scores(th)
    return th, Hinv @ (s.T @ s) @ Hinv


@pytest.mark.parametrize("spec, formula, truth", [
    ("A", "(1|item) + (price|constant) + (dist|item) + (income|item)",
     [0.5, -0.3, 0.2, -0.8, -0.3, -0.6, -0.2, -0.9, 0.02, -0.03, 0.04]),
    ("B", "(price|constant) + (quality|constant) + (income|item)",
     [-0.6, 0.7, 0.02, -0.03, 0.04]),
])
def test_homogeneous_fit_with_formula_terms_is_the_mle(spec, formula, truth):
    rng = np.random.default_rng(7)
    n = 3000
    x, income = _data(n, rng)
    V = _utilities(np.asarray(truth), x, income, spec)
    y = (V + rng.gumbel(size=V.shape)).argmax(1)
    est = MultinomialLogitDML(J, attribute_names=["price", "quality", "dist"],
                              alternative_names=ALTS, formula=formula, **MLE_FIT)
    est.fit(np.ones((n, 1)), x, y.astype(float), case_data=pd.DataFrame({"income": income}))
    res = est.inference_
    mle, cov = _scipy_mle(lambda th: _loglik(th, x, income, y, spec), np.zeros(len(truth)))
    np.testing.assert_allclose(res.estimate, mle, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(res.stderr, np.sqrt(np.diag(cov)), rtol=0.05)
    if spec == "A":
        assert est.theta_names_[4:8] == [f"beta[dist|{a}]" for a in ALTS]
        assert est.get_coefficient("beta[dist]").shape == (n, 4)
        assert est.get_coefficient("income[item]").shape == (n, 3)
    proba = est.predict_proba(np.ones((2, 1)), x[:2], case_data=income[:2, None])
    np.testing.assert_allclose(proba.sum(1), 1.0)


def _nested_loglik(theta, x, income, y, nests):
    """Independent numpy nested logit with nest-specific income coefficients.

    θ = (α_{b,c,d,e,f}, β_price, γ_premium, γ_store, λ_budget, λ_premium).
    """
    alpha = np.r_[0.0, theta[:5]]
    V = alpha + theta[5] * x[:, :, 0]
    gamma = {"budget": 0.0, "premium": theta[6], "store": theta[7]}
    lam = {"budget": theta[8], "premium": theta[9], "store": 1.0}
    n = y.size
    top, log_cond = [], np.empty((n, 6))
    nest_of = np.empty(6, dtype=int)
    for k, (name, alts) in enumerate(nests.items()):
        U = (V[:, alts] + gamma[name] * income[:, None]) / lam[name]
        m = U.max(1, keepdims=True)
        inclusive = m[:, 0] + np.log(np.exp(U - m).sum(1))
        log_cond[:, alts] = U - inclusive[:, None]
        top.append(lam[name] * inclusive)
        nest_of[alts] = k
    top = np.stack(top, 1)
    mt = top.max(1, keepdims=True)
    log_den = mt[:, 0] + np.log(np.exp(top - mt).sum(1))
    rows = np.arange(n)
    return log_cond[rows, y] + top[rows, nest_of[y]] - log_den


def test_nested_fit_with_nest_level_terms_is_the_mle():
    nests = {"budget": [0, 1, 2], "premium": [3, 4], "store": [5]}
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.uniform(2.0, 20.0, size=(n, 6, 1))
    income = rng.normal(0.0, 1.0, size=n)
    truth = np.array([0.3, 0.1, 0.8, 0.5, -0.2, -0.2, 0.6, -0.5, 0.5, 0.7])
    logp = np.stack([_nested_loglik(truth, x, income, np.full(n, j), nests)
                     for j in range(6)], 1)
    y = (rng.uniform(size=(n, 1)) > np.exp(logp).cumsum(1)).sum(1).clip(max=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the singleton nest's λ, fixed at 1
        est = NestedLogitDML(6, nests=nests, attribute_names=["price"],
                             formula="(1|item) + (price|constant)",
                             nest_formula="(z0|nest)", **MLE_FIT)
        est.fit(np.ones((n, 1)), x, y.astype(float), case_data=income[:, None])
    assert est.theta_names_[6:8] == ["nest_beta[z0|premium]", "nest_beta[z0|store]"]
    mle, cov = _scipy_mle(lambda th: _nested_loglik(th, x, income, y, nests),
                          est.inference_.estimate)
    np.testing.assert_allclose(est.inference_.estimate, mle, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(est.inference_.stderr, np.sqrt(np.diag(cov)), rtol=0.05)
    assert est.get_coefficient("z0[nest]", level="nest").shape == (n, 2)
    ax = est.plot_coefficient_distribution("nest_beta[z0|premium]", level="nest")
    assert ax.get_xlabel() == "nest_beta[z0|premium]"
    with pytest.raises(ValueError, match="names 2 coefficients"):
        est.plot_coefficient_distribution("z0[nest]", level="nest")
    matplotlib.pyplot.close("all")
    with pytest.raises(ValueError, match="Unknown coefficient 'alpha' at level='nest'"):
        est.get_coefficient("alpha", level="nest")


def test_family_without_constants_matches_autodiff(rng):
    fam = MultinomialLogitFamily(3, 2, constants=False, beta_names=["beta[p]", "beta[q|b]"])
    assert fam.theta_names(None) == ["beta[p]", "beta[q|b]"]
    t = fam.pack(rng.normal(size=(20, 3, 2)))
    theta = rng.normal(size=(20, 2))
    y = rng.randint(0, 3, 20).astype(float)
    th = torch.tensor(theta, requires_grad=True)
    fam.loss(torch.as_tensor(y), torch.as_tensor(t), th).sum().backward()
    np.testing.assert_allclose(fam.gradient(y, t, theta), th.grad.numpy(), atol=1e-10)


def test_formula_names_and_design():
    spec = UtilitySpec("(1|item) + (price|constant) + (price|item) + (income|item)",
                       nest_formula="(size|constant) + (income|nest)")
    bound = spec.bind(alternatives=["a", "b", "c"], reference=0, outside_option=False,
                      row_variables=["price", "size"], case_variables=["income"],
                      nests=(["x", "y"], [0, 0, 1]))
    assert bound.theta_names == ["beta[price]", "beta[price|a]", "beta[price|b]",
                                 "beta[price|c]", "beta[income|b]", "beta[income|c]",
                                 "nest_beta[size]", "nest_beta[income|y]"]
    rows = np.arange(12.0).reshape(2, 3, 2)
    D = bound.design(rows, np.array([[10.0], [20.0]]))
    np.testing.assert_array_equal(D[1, :, 4], [0.0, 20.0, 0.0])  # income|b
    np.testing.assert_array_equal(D[0, :, 7], [0.0, 0.0, 10.0])  # income in nest y
    with_outside = UtilitySpec("(1|constant) + (income|item)").bind(
        alternatives=["a", "b"], reference=0, outside_option=True, row_variables=[],
        case_variables=["income"])
    assert with_outside.theta_names == ["beta[intercept]", "beta[income|a]", "beta[income|b]"]


@pytest.mark.parametrize("formula, match", [
    ("(1|item) + (foo|constant)", "names unknown column 'foo'"),
    ("(1|item) + (price|user)", "network input X"),
    ("(1|item) + (price|brand)", "Unknown variation"),
    ("(1|item) + (price|constant) + (price|constant)", "appears twice"),
    ("1|item", "Cannot read the term"),
    ("(income|constant)", "identified only against an outside option"),
    ("(1|constant) + (price|constant)", "identified only against an outside option"),
])
def test_bad_formulas(formula, match):
    with pytest.raises(ValueError, match=match):
        UtilitySpec(formula).bind(alternatives=ALTS, reference=0, outside_option=False,
                                  row_variables=["price"], case_variables=["income"])


def test_unidentified_terms_and_nest_observables_are_refused(rng):
    n = 300
    x, income = _data(n, rng)
    y = rng.randint(0, J, n).astype(float)
    kw = dict(attribute_names=["price", "quality", "dist"], max_epochs=2)
    with pytest.raises(ValueError, match="'beta\\[quality\\]' is not identified"):
        MultinomialLogitDML(J, formula="(1|item) + (quality|constant)", **kw).fit(
            np.ones((n, 1)), x, y)
    with pytest.raises(ValueError, match="not identified"):
        MultinomialLogitDML(J, formula="(price|constant) + (price|item)", **kw).fit(
            np.ones((n, 1)), x, y)
    nested = dict(nests={"p": [0, 1], "q": [2, 3]}, **kw)
    with pytest.raises(ValueError, match="varies across the alternatives of nest"):
        NestedLogitDML(J, formula="(1|item)", nest_formula="(price|constant)", **nested).fit(
            np.ones((n, 1)), x, y)
    with pytest.raises(ValueError, match="collinear with the alternative constants"):
        NestedLogitDML(J, formula="(1|item)", nest_formula="(1|nest)", **nested).fit(
            np.ones((n, 1)), x, y)
    with pytest.raises(ValueError, match="give MultinomialLogitDML\\(formula=...\\)"):
        MultinomialLogitDML(J, **kw).fit(np.ones((n, 1)), x, y, case_data=income)


def test_specific_coefficients_on_a_variable_that_x_determines_are_refused(rng):
    """α_j(w) + β_j(w)·z is any function of w when X determines z: neither is identified."""
    n = 400
    x, income = _data(n, rng)
    y = rng.randint(0, J, n).astype(float)
    age = rng.normal(40.0, 10.0, size=n)
    income = pd.DataFrame({"income": income})
    kw = dict(attribute_names=["price", "quality", "dist"], alternative_names=ALTS, max_epochs=2,
              random_state=0)
    formula = "(1|item) + (price|constant) + (income|item)"
    in_x = np.column_stack([age, income["income"] / 1000.0])  # the same variable, other units
    with pytest.raises(ValueError, match=r"X determines the variable of beta\[income\|b\] "
                                         r"\(100% of rows\).*homogeneous='all'"):
        MultinomialLogitDML(J, formula=formula, **kw).fit(in_x, x, y, case_data=income)
    # an attribute's alternative-specific coefficient, the attribute set by the covariates
    x_set = x.copy()
    x_set[:, :, 2] = ((age[:, None] - 40.0) / 10.0) ** np.arange(1, J + 1)
    with pytest.raises(ValueError, match=r"beta\[dist\|a\] \(100% of rows\)"):
        MultinomialLogitDML(J, formula="(1|item) + (dist|item)", **kw).fit(age[:, None], x_set, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random choices, two epochs
        MultinomialLogitDML(J, formula=formula, **kw).fit(age[:, None], x, y, case_data=income)
        MultinomialLogitDML(J, formula=formula, homogeneous="all", **kw).fit(
            in_x, x, y, case_data=income)


@pytest.mark.filterwarnings("ignore:Dropping one row")  # 400 cases, 3 epochs: API check only
def test_fit_long_with_formula_and_case_variables(rng):
    n = 400
    x, income = _data(n, rng)
    y = rng.randint(0, J, n)
    df = pd.DataFrame({
        "case": np.repeat(np.arange(n), J), "item": np.tile(ALTS, n),
        "chosen": (np.arange(J)[None] == y[:, None]).ravel().astype(int),
        "price": x[:, :, 0].ravel(), "dist": x[:, :, 2].ravel(),
        "income": np.repeat(income, J), "age": np.repeat(rng.normal(size=n), J),
        "user": np.repeat(np.arange(n) % 7, J),
        "nest": np.tile(["p", "p", "q", "q"], n)})
    est = NestedLogitDML(J, formula="(1|item) + (price|constant) + (dist|item)",
                         nest_formula="(income|nest)", max_epochs=3, cv=2, random_state=0)
    with warnings.catch_warnings():
        # random choices leave λ unidentified: Λ̂ is floored on most rows, as it says
        warnings.filterwarnings("ignore", "Λ̂\\(x\\) was regularized", UserWarning)
        est.fit_long(df, choice="chosen", alternative="item", covariates=["age"],
                     case="case", nest="nest", case_variables=["income"])
    assert est.theta_names_[-3:] == ["nest_beta[income|q]", "lambda[p]", "lambda[q]"]
    assert est.get_coefficient("dist[item]", by=np.arange(n) % 4).shape == (4, 4)
    per_user = est.get_coefficient("beta[price]", by="user")
    np.testing.assert_allclose(per_user.to_numpy(), [
        est.get_coefficient("beta[price]")[np.arange(n) % 7 == u].mean() for u in range(7)])
    assert "price" not in est.case_frame_.columns  # varies within a case
    with pytest.raises(ValueError, match="Unknown feature 'price'"):
        est.get_coefficient("beta[price]", by="price")
    with pytest.raises(ValueError, match="vary within a case"):
        est.fit_long(df, choice="chosen", alternative="item", covariates=["age"], case="case",
                     nest="nest", case_variables=["price"])
    with pytest.raises(ValueError, match="network covariates and case-level"):
        est.fit_long(df, choice="chosen", alternative="item", covariates=["income"],
                     case="case", nest="nest", case_variables=["income"])


def test_parse_formula_reads_nest_variations():
    terms = parse_formula("(1|item) + (size|constant)", "nest")
    assert [t.variation for t in terms] == ["nest", "constant"]


@pytest.mark.parametrize("nested", [False, True])
def test_elasticity_of_a_design_column_is_that_of_the_raw_attribute(rng, nested):
    """ChoiceElasticity(j, "price|b", of="b") = ∂ log P_j / ∂ log price_b through the design."""
    from sklearn_dml.families import NestedLogitFamily
    from sklearn_dml.targets import ChoiceElasticity

    spec = UtilitySpec("(1|item) + (price|item) + (income|item)")
    bound = spec.bind(alternatives=ALTS, reference=0, outside_option=False,
                      row_variables=["price"], case_variables=["income"])
    layout = dict(attribute_names=bound.column_labels, beta_names=bound.theta_names,
                  alternative_names=ALTS)
    fam = (NestedLogitFamily(J, len(bound.theta_names), {"p": ["a", "b"], "q": ["c", "d"]},
                             **layout) if nested
           else MultinomialLogitFamily(J, len(bound.theta_names), **layout))
    n = 30
    price, income = rng.uniform(1.0, 9.0, (n, J, 1)), rng.normal(size=(n, 1))
    theta = rng.normal(size=(n, fam.theta_dim()))
    theta[:, 3:7] = -np.abs(theta[:, 3:7])  # price coefficients
    if nested:
        theta[:, -2:] = rng.uniform(0.4, 0.9, (n, 2))

    def log_p(p):
        return np.log(fam.probabilities(fam.pack(bound.design(p, income)), theta))

    h = 1e-6
    up, down = price.copy(), price.copy()
    up[:, 1, 0] *= np.exp(h)
    down[:, 1, 0] *= np.exp(-h)
    numeric = (log_p(up) - log_p(down)) / (2 * h)
    t = fam.pack(bound.design(price, income))
    for j in range(J):
        target = ChoiceElasticity(ALTS[j], "price|b", of="b")
        np.testing.assert_allclose(target.value(fam, theta, t), numeric[:, j], rtol=1e-5,
                                   atol=1e-8)
