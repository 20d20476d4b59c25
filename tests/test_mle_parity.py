"""Parity with the classical MLE: when θ cannot vary with x, every estimator is the MLE.

With a constant covariate, no cross-fitting (``cv=1``), full-batch L-BFGS to convergence
and no weight decay, the θ-network can only output a constant, the debiased E[θ_k] is
the (one-step-corrected) maximum-likelihood estimate and its standard error is the
robust sandwich one, H⁻¹(Σ g gᵀ)H⁻¹ (HC0). Each family is checked against an
independent oracle: statsmodels where it fits the model, otherwise a scipy MLE of the
likelihood written with ``scipy.stats`` and a finite-difference sandwich, a Newton
MLE for the conditional logit and the NLS fit of the combinatorial link. Acceptance
(issue 21): point within 1e-3 relative (with a floor of 1e-3 SE for components near zero),
robust SE within 5%.
"""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, special, stats

import sklearn_dml as sd
from sklearn_dml.targets import AverageParameter

# a heavy-tailed row can move a sandwich estimate by half an SE; that is the MLE's too
pytestmark = pytest.mark.filterwarnings("ignore:Dropping one row")

POINT_RTOL, SE_RTOL = 1e-3, 0.05
RECIPE = dict(cv=1, solver="lbfgs", weight_decay=0.0, random_state=0, early_stopping=False,
              max_epochs=300, hidden_dims=(8,))


# -- oracles ----------------------------------------------------------------------------
def _scores(nll_rows, theta, h=1e-5):
    """Per-row gradients of the negative log-likelihood, by central differences."""
    eye = np.eye(theta.size) * h
    return np.column_stack([(nll_rows(theta + e) - nll_rows(theta - e)) / (2 * h) for e in eye])


def _hessian(nll_rows, theta, h=1e-4):
    """Observed Hessian of the total negative log-likelihood (differences of the score)."""
    eye = np.eye(theta.size) * h
    H = np.column_stack([(_scores(nll_rows, theta + e).sum(0)
                          - _scores(nll_rows, theta - e).sum(0)) / (2 * h) for e in eye])
    return (H + H.T) / 2


def _sandwich(H, g):
    """Robust (HC0) standard errors from the total Hessian and the per-row scores."""
    Hinv = np.linalg.inv(H)
    return np.sqrt(np.diag(Hinv @ (g.T @ g) @ Hinv))


def scipy_mle(nll_rows, start):
    """MLE of a per-row negative log-likelihood (BFGS, then Newton) and its robust SE."""
    theta = optimize.minimize(lambda th: nll_rows(th).sum(), np.asarray(start, float),
                              jac=lambda th: _scores(nll_rows, th).sum(0), method="BFGS",
                              options={"gtol": 1e-6}).x
    for _ in range(3):
        theta = theta - np.linalg.solve(_hessian(nll_rows, theta),
                                        _scores(nll_rows, theta).sum(0))
    return theta, _sandwich(_hessian(nll_rows, theta), _scores(nll_rows, theta))


def conditional_logit_mle(x, y):
    """Newton MLE of the conditional logit V_ij = α_j + x_ij'β (α_0 = 0), robust SE."""
    n, J, K = x.shape
    D = np.concatenate([np.broadcast_to(np.eye(J)[:, 1:], (n, J, J - 1)), x], axis=2)
    theta = np.zeros(J - 1 + K)
    for _ in range(100):
        V = D @ theta
        P = np.exp(V - V.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        dev = D - np.einsum("nj,njd->nd", P, D)[:, None]
        g = dev[np.arange(n), y.astype(int)]  # per-row score of the log-likelihood
        H = np.einsum("nj,njd,nje->de", P, dev, dev)
        step = np.linalg.solve(H, g.sum(0))
        theta = theta + step
        if np.abs(step).max() < 1e-12 * max(1.0, np.abs(theta).max()):
            break
    return theta, _sandwich(H, g)


def _statsmodels(model):
    """statsmodels' estimate and its HC0 standard errors (observed-Hessian sandwich)."""
    res = model.fit(cov_type="HC0", **({} if isinstance(model, sm.OLS) else {"disp": 0}))
    return np.asarray(res.params), np.asarray(res.bse)


# -- designs: constant θ, a continuous treatment with a nontrivial mean --------------------
def _design(n, seed, t_mean=1.0):
    """A random state, T ~ N(t_mean, 1) and the design matrix (1, T)."""
    rng = np.random.RandomState(seed)
    t = rng.normal(t_mean, 1.0, n)
    return rng, t, np.column_stack([np.ones(n), t])


def linear(n=1500, seed=0, t_mean=1.0):
    rng, t, z = _design(n, seed, t_mean)
    y = 0.3 + 0.5 * t + (0.5 + 0.5 * np.abs(t - t_mean)) * rng.standard_t(5, n)
    return t, y, _statsmodels(sm.OLS(y, z))


def logit(n=2000, seed=0, t_mean=1.0):
    rng, t, z = _design(n, seed, t_mean)
    y = rng.binomial(1, special.expit(0.3 - 0.5 * (t - t_mean) + 0.1 * t_mean)).astype(float)
    return t, y, _statsmodels(sm.Logit(y, z))


def probit(n=2000, seed=0):
    rng, t, z = _design(n, seed)
    y = rng.binomial(1, special.ndtr(-0.2 + 0.4 * t)).astype(float)
    return t, y, _statsmodels(sm.Probit(y, z))


def poisson(n=1500, seed=0):
    rng, t, z = _design(n, seed)
    y = rng.poisson(np.exp(0.2 + 0.3 * t)).astype(float)
    return t, y, _statsmodels(sm.GLM(y, z, family=sm.families.Poisson()))


def negbin(n=2000, seed=0):
    rng, t, z = _design(n, seed)
    mu, kappa = np.exp(0.2 + 0.3 * t), 0.5
    y = rng.negative_binomial(1 / kappa, 1 / (1 + kappa * mu)).astype(float)
    params, bse = _statsmodels(sm.NegativeBinomial(y, z, loglike_method="nb2"))
    # statsmodels' last parameter is κ itself; ours is log κ (the sandwich is equivariant)
    return t, y, (np.r_[params[:2], np.log(params[2])], np.r_[bse[:2], bse[2] / params[2]])


def gamma(n=1500, seed=0):
    rng, t, z = _design(n, seed)
    mu, shape = np.exp(0.2 + 0.3 * t), 3.0
    y = rng.gamma(shape, mu / shape)
    params, bse = _statsmodels(sm.GLM(y, z, family=sm.families.Gamma(sm.families.links.Log())))
    # GLM's scale is a moment estimate, not the MLE of the shape: log_shape from scipy

    def nll(th):
        m = np.exp(th[0] + th[1] * t)
        return -stats.gamma.logpdf(y, np.exp(th[2]), scale=m / np.exp(th[2]))

    mle, se = scipy_mle(nll, np.r_[params, 0.0])
    return t, y, (np.r_[params, mle[2]], np.r_[bse, se[2]])


def weibull(n=1500, seed=0):
    rng, t, _ = _design(n, seed)
    y = np.exp(0.2 + 0.3 * t) * rng.weibull(1.5, n)
    return t, y, scipy_mle(lambda th: -stats.weibull_min.logpdf(
        y, np.exp(th[2]), scale=np.exp(th[0] + th[1] * t)), [0.0, 0.0, 0.0])


def tobit(n=1500, seed=0):
    rng, t, _ = _design(n, seed)
    y = np.maximum(-0.3 + 0.6 * t + 1.2 * rng.standard_normal(n), 0.0)

    def nll(th):
        eta, sigma = th[0] + th[1] * t, np.exp(th[2])
        return -np.where(y > 0, stats.norm.logpdf(y, eta, sigma), stats.norm.logcdf(-eta / sigma))

    return t, y, scipy_mle(nll, [0.0, 0.0, 0.0])


def gumbel(n=2000, seed=0):
    rng, t, _ = _design(n, seed)
    y = rng.binomial(1, -np.expm1(-np.exp(-0.8 + 0.4 * t))).astype(float)

    def nll(th):
        u = np.exp(th[0] + th[1] * t)
        return -(y * np.log(-np.expm1(-u)) - (1 - y) * u)

    return t, y, scipy_mle(nll, [0.0, 0.0])


def heteroskedastic(n=1500, seed=0):
    rng, t, _ = _design(n, seed)
    y = 0.3 + 0.5 * t + 0.8 * rng.standard_t(6, n)
    return t, y, scipy_mle(lambda th: -stats.norm.logpdf(y, th[0] + th[1] * t, np.exp(th[2])),
                           [0.0, 0.0, 0.0])


def beta(n=1500, seed=0):
    rng, t, _ = _design(n, seed)
    mu, phi = special.expit(-0.2 + 0.4 * t), 5.0
    y = rng.beta(mu * phi, (1 - mu) * phi)

    def nll(th):
        m, p = special.expit(th[0] + th[1] * t), np.exp(th[2])
        return -stats.beta.logpdf(y, m * p, (1 - m) * p)

    return t, y, scipy_mle(nll, [0.0, 0.0, 1.0])


def zip_(n=2000, seed=0):
    rng, t, _ = _design(n, seed)
    y = np.where(rng.uniform(size=n) < 0.3, 0, rng.poisson(np.exp(0.2 + 0.3 * t))).astype(float)

    def nll(th):
        mu, pi = np.exp(th[0] + th[1] * t), special.expit(th[2])
        return -np.where(y == 0, np.log(pi + (1 - pi) * np.exp(-mu)),
                         np.log1p(-pi) + stats.poisson.logpmf(y, mu))

    return t, y, scipy_mle(nll, [0.0, 0.0, 0.0])


FAMILIES = {
    "linear": (sd.StructuralDMLRegressor, linear),
    "logit": (sd.LogitDML, logit),
    "probit": (sd.ProbitDML, probit),
    "poisson": (sd.PoissonDML, poisson),
    "negbin": (sd.NegativeBinomialDML, negbin),
    "gamma": (sd.GammaDML, gamma),
    "weibull": (sd.WeibullDML, weibull),
    "tobit": (sd.TobitDML, tobit),
    "gumbel": (sd.GumbelDML, gumbel),
    "heteroskedastic": (sd.HeteroskedasticDML, heteroskedastic),
    "beta": (sd.BetaDML, beta),
    "zip": (sd.ZeroInflatedPoissonDML, zip_),
}


def conditional_logit(design):
    """Choices among J alternatives with constant preferences; θ = (α_1.., β_price, β_2)."""
    rng = np.random.RandomState(0)
    if design == "standard":  # attributes of order 1
        n, J = 2000, 3
        x = np.stack([rng.normal(1.0, 1.0, (n, J)), rng.normal(size=(n, J))], axis=2)
        theta = np.array([0.4, -0.2, -1.0, 0.8])
    else:  # prices in cents, one alternative chosen about 3% of the time
        n, J = 3000, 4
        price = np.round(np.array([250.0, 320.0, 400.0, 600.0]) + rng.normal(0, 40, (n, J)))
        x = np.stack([price, rng.binomial(1, 0.3, (n, J)).astype(float)], axis=2)
        theta = np.array([0.6, 1.0, 0.9, -0.01, 0.8])
    V = np.concatenate([np.zeros((n, 1)), np.tile(theta[:J - 1], (n, 1))], 1) + x @ theta[J - 1:]
    P = np.exp(V - V.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    y = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=J - 1).astype(float)
    return x, y, conditional_logit_mle(x, y)


def combinatorial(link, n=2000, seed=0):
    """m = 3 binary treatments; the oracle is the NLS fit of the link with its HC0 sandwich.

    ``"gen_sigmoid_ii"`` runs the m + 2 cells (exactly identified: the NLS fit solves
    G(θ, cell) = cell mean), ``"multiplicative"`` all 8 (over-identified).
    """
    rng, m = np.random.RandomState(seed), 3
    if link == "gen_sigmoid_ii":
        cells = np.vstack([np.zeros(m), np.eye(m), np.ones(m)])

        def G(th):
            return th[-1] * special.expit(th[0] + t @ th[1:-1])

        truth, start = [-1.0, 0.8, 0.5, 1.1, 2.0], [0.0, 0.0, 0.0, 0.0, 1.0]
    else:
        cells = (np.arange(2 ** m)[:, None] >> np.arange(m) & 1).astype(float)

        def G(th):
            return th[0] * np.prod(1 + th[1:] * t, axis=1)

        truth, start = [1.0, 0.3, 0.2, 0.5], [1.0, 0.0, 0.0, 0.0]
    t = cells[rng.randint(len(cells), size=n)]
    y = G(np.array(truth)) + (0.5 + 0.5 * t[:, 0]) * rng.standard_normal(n)
    fit = optimize.least_squares(lambda th: y - G(th), start, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    # the classical NLS sandwich: Gauss-Newton bread (J'J)⁻¹, meat Σ e² J J'
    return t, y, (fit.x, _sandwich(fit.jac.T @ fit.jac, fit.jac * fit.fun[:, None]))


def _fit(cls, X, T, Y, d, *args, **kwargs):
    """Fit the recipe with the targets E[θ_0], ..., E[θ_{d-1}]."""
    est = cls(*args, target=[AverageParameter(k) for k in range(d)], **{**RECIPE, **kwargs})
    return est.fit(X, T, Y)


def _compare(inf, oracle):
    """Relative differences of the point (floored at one SE) and of the SE."""
    mle, se = oracle
    point = np.abs(inf.estimate - mle) / np.maximum(np.abs(mle), se)
    return point, np.abs(inf.stderr / se - 1)


def assert_parity(inf, oracle):
    """Point within ``POINT_RTOL`` (relative, floored at one SE), SE within ``SE_RTOL``."""
    point, se = _compare(inf, oracle)
    assert point.max() < POINT_RTOL, f"point off by {point} (relative): {inf.estimate} vs " \
                                     f"{oracle[0]}"
    assert se.max() < SE_RTOL, f"SE off by {se} (relative): {inf.stderr} vs {oracle[1]}"


@pytest.mark.parametrize("family", FAMILIES)
def test_constant_theta_reproduces_the_mle_and_its_sandwich_se(family):
    """Each family's estimator against statsmodels or a scipy MLE, T ~ N(1, 1)."""
    cls, simulate = FAMILIES[family]
    t, y, oracle = simulate()
    est = _fit(cls, np.ones((t.size, 1)), t[:, None], y, len(oracle[0]))
    assert_parity(est.inference_, oracle)


@pytest.mark.parametrize("family", ["linear", "logit"])
def test_parity_holds_when_the_treatment_has_a_large_mean(family):
    """T ~ N(5, 1): the same model as T ~ N(1, 1) with the intercept moved.

    E[(1,T)(1,T)'] has condition number ~740; at 8b35967 the Λ̂ eigenvalue floor (capping
    it at 100 in raw units) made the SEs 79-89% too small (linear E[alpha] 0.029 vs HC0
    0.211, logit 0.031 vs 0.287).
    """
    cls, simulate = FAMILIES[family]
    t, y, oracle = simulate(t_mean=5.0)
    est = _fit(cls, np.ones((t.size, 1)), t[:, None], y, 2)
    assert_parity(est.inference_, oracle)


@pytest.mark.parametrize("design", ["standard", "cents"])
def test_constant_preferences_reproduce_the_conditional_logit_mle(design):
    """The recipe of doc/choice.rst against a Newton MLE with its sandwich SE.

    "cents" is ill-conditioned (information condition number 1.2e6): prices of order
    100-1000, three constants, a 3% alternative. At 8b35967 every row's Λ̂ was floored:
    SEs 61-99.98% too small, points off by up to 4.5%.
    """
    x, y, oracle = conditional_logit(design)
    est = _fit(sd.MultinomialLogitDML, np.ones((y.size, 1)), x, y, len(oracle[0]), x.shape[1])
    assert_parity(est.inference_, oracle)


@pytest.mark.parametrize("link, solver", [
    pytest.param("multiplicative", {}, id="multiplicative-lbfgs"),
    pytest.param("gen_sigmoid_ii", {}, id="gen_sigmoid_ii-lbfgs"),
    pytest.param("gen_sigmoid_ii", {"solver": "adam", "batch_size": 2000, "max_epochs": 3000},
                 id="gen_sigmoid_ii-adam"),
])
def test_combinatorial_reduces_to_nonlinear_least_squares(link, solver):
    """CombinatorialDML's squared loss with a constant θ is NLS of the link on the cells."""
    t, y, oracle = combinatorial(link)
    est = _fit(sd.CombinatorialDML, np.ones((y.size, 1)), t, y, len(oracle[0]), link=link,
               structure_check=False, **solver)
    assert_parity(est.inference_, oracle)


def _choice_mle_parity():
    """benchmarks/choice_mle_parity.py as a module (the travel-mode survey's loader)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "choice_mle_parity.py"
    spec = importlib.util.spec_from_file_location("choice_mle_parity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_public_travel_mode_survey_matches_the_mle():
    """statsmodels' modechoice (210 trips, 4 modes, dollars and minutes): the homogeneous
    fit is the conditional-logit MLE with its robust standard errors."""
    module = _choice_mle_parity()
    _, res, mle, robust, _ = module.fit_both(module.load_modechoice())
    assert np.all(np.abs(res.estimate - mle) <= POINT_RTOL * np.abs(mle))
    np.testing.assert_allclose(res.stderr, robust, rtol=SE_RTOL)


@pytest.mark.parametrize("family", FAMILIES)
def test_homogeneous_all_is_the_mle_with_covariates_that_vary(family):
    """``homogeneous="all"`` with real covariates and the default optimizer: θ̂ is the
    constant-θ MLE (no network training) and the standard errors are its sandwich."""
    cls, simulate = FAMILIES[family]
    t, y, oracle = simulate()
    X = np.random.RandomState(1).normal(size=(t.size, 3))
    est = cls(target=[AverageParameter(k) for k in range(len(oracle[0]))], homogeneous="all",
              cv=1, random_state=0).fit(X, t[:, None], y)
    assert_parity(est.inference_, oracle)
    assert np.ptp(est.theta_, axis=0).max() < 1e-5


@pytest.mark.parametrize("family", ["linear", "logit", "poisson"])
def test_homogeneous_all_crossfit_is_the_mle(family):
    """With five folds each fold's θ̂ starts at its own MLE; solving the pooled moment
    (not one Newton step from the fold fits) gives the full-sample MLE and its sandwich."""
    cls, simulate = FAMILIES[family]
    t, y, (mle, se) = simulate()
    X = np.random.RandomState(1).normal(size=(t.size, 3))
    est = cls(target=[AverageParameter(k) for k in range(mle.size)], homogeneous="all",
              random_state=0).fit(X, t[:, None], y)
    assert np.abs(est.inference_.estimate - mle).max() < 1e-6 * se.min()
    np.testing.assert_allclose(est.inference_.stderr, se, rtol=1e-3)
    assert np.ptp(est.theta_, axis=0).max() < 1e-8


# -- misspecified data: the sandwich's bread is the observed Hessian, not the model's ------
def _misspecified(name, n=2000, seed=1):
    """T ~ N(1, 1) and an outcome the family does not describe (skewed, heteroskedastic,
    mixed or zero-inflated), so that the mean observed Hessian differs from the mean Fisher
    information at the MLE."""
    rng = np.random.RandomState(seed)
    t = rng.normal(1.0, 1.0, n)
    skewed = (0.4 + 0.6 * np.abs(t)) * (rng.exponential(1.0, n) - 1.0)
    mixed = rng.binomial(1, 0.1 + 0.8 * special.expit(2.5 * (t - 1))).astype(float)
    lognormal = np.exp(0.2 + 0.3 * t + 0.7 * rng.standard_normal(n))
    y = {
        "probit": mixed,
        "gumbel": mixed,
        "tobit": np.maximum(-0.3 + 0.6 * t + skewed, 0.0),
        "weibull": lognormal,
        "gamma": lognormal,
        "negbin": np.where(rng.uniform(size=n) < 0.3, 0,
                           rng.poisson(np.exp(0.5 + 0.3 * t))).astype(float),
        "zip": rng.negative_binomial(1.5, 1 / (1 + np.exp(0.2 + 0.3 * t) / 1.5)).astype(float),
        "beta": np.clip(np.where(rng.uniform(size=n) < 0.3, rng.uniform(size=n),
                                 special.expit(t + rng.standard_normal(n))), 1e-3, 1 - 1e-3),
    }[name]
    return t, y


@pytest.mark.parametrize("family", ["probit", "gumbel", "tobit", "weibull", "gamma", "negbin",
                                    "zip", "beta"])
def test_a_constant_covariate_gives_the_sandwich_of_a_misspecified_model(family):
    """With X constant θ cannot vary: the estimate is the MLE and its SE the robust
    sandwich, whose bread is the mean observed Hessian. On data the model does not
    describe that differs from the mean Fisher information, which the heterogeneous
    path's Λ̂ was built from before X constant was fitted as ``homogeneous="all"``
    (SEs 2-43% off at 315f87b: gumbel 1.36-1.43, weibull's log shape 1.27, tobit
    1.08-1.18, negbin's log κ 0.82)."""
    cls = FAMILIES[family][0]
    t, y = _misspecified(family)
    est = cls(**RECIPE).fit(np.ones((t.size, 1)), t[:, None], y)
    d = len(est.theta_names_)
    assert est.homogeneous_ == est.theta_names_
    inf = est.inference(list(range(d)))
    n = t.size

    def nll(th):  # the family's own likelihood, checked against scipy.stats above
        return est.family_.loss_numpy(y, t[:, None], np.tile(th, (n, 1)))

    oracle = scipy_mle(nll, inf.estimate)
    point, se = _compare(inf, oracle)
    assert point.max() < POINT_RTOL
    assert se.max() < 0.01, f"SE off by {se} (relative): {inf.stderr} vs {oracle[1]}"


@pytest.mark.parametrize("nests", [
    pytest.param({"fly": ["air"], "ground": ["train", "bus", "car"]}, id="fly-ground"),
    pytest.param({"public": ["train", "bus"], "private": ["air", "car"]}, id="public-private"),
])
def test_public_travel_mode_survey_matches_the_nested_logit_mle(nests):
    """statsmodels' modechoice under nesting, ``homogeneous="all"``: the nested-logit MLE
    and its sandwich, whose bread is the mean observed Hessian. Before the nested logit
    had an observed Hessian the bread was the mean Fisher information, and on these 210
    trips the SEs were 0.44-1.49 times the sandwich's (λ̂_private = 2.5: the model is
    far from the data)."""
    module = _choice_mle_parity()
    df, names = module.load_modechoice(), list(module.MODES.values())
    attributes = ["invc", "invt", "ttme"]
    est = sd.NestedLogitDML(4, nests=nests, alternative_names=names, homogeneous="all",
                            **{**RECIPE, "max_epochs": 500})
    est.fit_long(df, choice="choice", alternative="mode", attributes=attributes,
                 covariates=["const"], case="individual")

    x = df[attributes].to_numpy().reshape(-1, 4, 3)
    chosen = df["choice"].to_numpy().reshape(-1, 4).argmax(1)
    nest_of = np.array([next(k for k, alts in enumerate(nests.values()) if m in alts)
                        for m in names])
    free = [k for k, alts in enumerate(nests.values()) if len(alts) > 1]

    def nll(th):  # V = α_j + x'β (α_air = 0); P = P(nest) P(j | nest), RU2 form
        lam = np.ones(len(nests))
        lam[free] = th[6:]
        V = np.r_[0.0, th[:3]] + x @ th[3:6]
        scaled = V / lam[nest_of]
        inclusive = np.stack([special.logsumexp(scaled[:, nest_of == k], axis=1)
                              for k in range(len(nests))], axis=1)
        top = lam * inclusive
        logp = (scaled - inclusive[:, nest_of] + top[:, nest_of]
                - special.logsumexp(top, axis=1, keepdims=True))
        return -logp[np.arange(chosen.size), chosen]

    oracle = scipy_mle(nll, np.r_[np.zeros(6), np.full(len(free), 0.8)])
    point, se = _compare(est.inference_, oracle)
    assert point.max() < POINT_RTOL
    assert se.max() < 0.01, f"SE off by {se} (relative): {est.inference_.stderr} vs {oracle[1]}"


@pytest.mark.parametrize("family", ["logit", "tobit", "negbin"])
def test_a_constant_covariate_with_default_settings_is_the_mle(family):
    """No recipe needed: five folds, Adam and weight decay, and X constant still give the
    MLE and its sandwich (the constant θ is solved from the cross-fitted start)."""
    cls, simulate = FAMILIES[family]
    t, y, oracle = simulate()
    est = cls(target=list(range(len(oracle[0]))), random_state=0)
    est.fit(np.ones((t.size, 1)), t[:, None], y)
    point, se = _compare(est.inference_, oracle)
    assert point.max() < POINT_RTOL and se.max() < 0.01, (point, se)


def test_clustered_intervals_match_statsmodels_cluster_robust_logit():
    """With X constant and ``groups=``, the SE is the cluster-robust sandwich and the
    intervals and p-values refer to t(G − 1), as statsmodels' ``cov_type="cluster"`` with
    ``use_t=True`` (and Stata) report them. statsmodels also scales by (n − 1)/(n − k)."""
    rng = np.random.RandomState(0)
    n, G = 2000, 12
    g = rng.randint(0, G, n)
    t = rng.normal(1.0, 1.0, n) + rng.normal(size=G)[g]
    y = rng.binomial(1, special.expit(0.3 - 0.5 * t + rng.normal(size=G)[g])).astype(float)
    z = np.column_stack([np.ones(n), t])
    ref = sm.Logit(y, z).fit(disp=0, cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    with pytest.warns(UserWarning, match="Only 12 clusters"):
        est = sd.LogitDML(**RECIPE).fit(np.ones((n, 1)), t[:, None], y, groups=g)
    inf = est.inference([0, 1])
    scale = np.sqrt((n - 1) / (n - 2))
    np.testing.assert_allclose(inf.estimate, ref.params, rtol=1e-4)
    np.testing.assert_allclose(inf.stderr * scale, ref.bse, rtol=1e-3)
    assert inf.dof == G - 1
    half = np.diff(inf.conf_int(), axis=1).ravel() / 2
    np.testing.assert_allclose(half * scale, np.diff(ref.conf_int(), axis=1).ravel() / 2,
                               rtol=1e-3)
    np.testing.assert_allclose(inf.pvalue(), ref.pvalues, rtol=0.02)


# -- sample weights -------------------------------------------------------------------------
def _weighted_oracle(nll_rows, w, start):
    """The weighted MLE, argmin Σ w_i ℓ_i, and its sandwich H⁻¹(Σ w_i² g_i g_iᵀ)H⁻¹ with
    H = Σ w_i ∇²ℓ_i (the estimating equations Σ w_i g_i = 0)."""
    return scipy_mle(lambda th: w * nll_rows(th), start)


def _weighted_design(family, n=2000, seed=1):
    """T ~ N(1, 1), constant θ, and weights that depend on T and, for the logit, on Y (as
    choice-based sampling weights do): the weighted curvature differs from the unweighted."""
    rng = np.random.RandomState(seed)
    t = rng.normal(1.0, 1.0, n)
    z = np.column_stack([np.ones(n), t])
    if family == "linear":
        y = 0.3 + 0.5 * t + (0.5 + 0.5 * np.abs(t - 1)) * rng.standard_normal(n)
        nll = lambda th: 0.5 * (y - z @ th) ** 2  # noqa: E731
    elif family == "logit":
        y = rng.binomial(1, special.expit(0.3 - 0.5 * t)).astype(float)
        nll = lambda th: np.logaddexp(0.0, z @ th) - y * (z @ th)  # noqa: E731
    else:
        y = rng.poisson(np.exp(0.2 + 0.3 * t)).astype(float)
        nll = lambda th: np.exp(z @ th) - y * (z @ th)  # noqa: E731
    w = np.exp(0.7 * (t - 1.0)) * (1.0 + 2.0 * y if family == "logit" else 1.0)
    return t, y, w, _weighted_oracle(nll, w, np.zeros(2))


@pytest.mark.parametrize("family", ["linear", "logit", "poisson"])
def test_sample_weights_give_the_weighted_mle_and_its_sandwich(family):
    """With weights that vary with T (and Y), the fit is the weighted MLE with the weighted
    sandwich (bread Σ w ∇²ℓ, meat Σ w² g gᵀ), for a recipe fit and for the defaults."""
    t, y, w, oracle = _weighted_design(family)
    cls = {"linear": sd.StructuralDMLRegressor, "logit": sd.LogitDML,
           "poisson": sd.PoissonDML}[family]
    X = np.ones((t.size, 1))
    est = cls(target=[AverageParameter(0), AverageParameter(1)], **RECIPE)
    assert_parity(est.fit(X, t[:, None], y, sample_weight=w).inference_, oracle)
    default = cls(target=[0, 1], random_state=0).fit(X, t[:, None], y, sample_weight=w)
    point, se = _compare(default.inference_, oracle)
    assert point.max() < POINT_RTOL and se.max() < 0.01, (point, se)
