"""Fractional and quasi-likelihood outcomes: the fractional logit and the quasi-Poisson.

Both are consistent whenever the mean model is right, whatever the distribution of Y
around it; their standard errors must come from ψ (the sandwich), never from the
Bernoulli or Poisson variance. With a constant covariate the estimators are the
statsmodels GLM quasi-MLE with its HC0 standard errors (recipe of test_mle_parity.py).
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special
from threadpoolctl import threadpool_limits

import sklearn_dml as sd
from sklearn_dml.datasets import make_family_data
from sklearn_dml.families import FractionalLogitFamily, ProbitFamily, get_family
from sklearn_dml.targets import AverageParameter, ConditionalVariance, TailProbability

POINT_RTOL, SE_RTOL = 1e-3, 0.05
RECIPE = dict(cv=1, solver="lbfgs", weight_decay=0.0, random_state=0, early_stopping=False,
              max_epochs=300, hidden_dims=(8,))


def fractional_share(n=2000, seed=0, t_mean=1.0):
    """A share with E[Y | t] = σ(0.3 − 0.5(t − t̄)) and about 40% of Y exactly at 0 or 1:
    Bernoulli(μ) with probability 0.4, else Beta(4μ, 4(1 − μ)); Var(Y | t) < μ(1 − μ)."""
    rng = np.random.RandomState(seed)
    t = rng.normal(t_mean, 1.0, n)
    mu = special.expit(0.3 - 0.5 * (t - t_mean))
    y = np.where(rng.uniform(size=n) < 0.4, (rng.uniform(size=n) < mu).astype(float),
                 rng.beta(4 * mu, 4 * (1 - mu)))
    return t, y


def _glm(y, t, family):
    """statsmodels GLM fit with HC0 and model-based standard errors."""
    z = np.column_stack([np.ones(t.size), t])
    with warnings.catch_warnings():  # Binomial GLM on a non-integer Y warns; that is the QMLE
        warnings.simplefilter("ignore")
        robust = sm.GLM(y, z, family=family).fit(cov_type="HC0")
        naive = sm.GLM(y, z, family=family).fit()
    return np.asarray(robust.params), np.asarray(robust.bse), np.asarray(naive.bse)


def _fit_constant(cls, t, y, target=None):
    target = [AverageParameter(0), AverageParameter(1)] if target is None else target
    with threadpool_limits(1):
        return cls(target=target, **RECIPE).fit(np.ones((t.size, 1)), t[:, None], y)


@pytest.mark.parametrize("t_mean", [1.0, 5.0])
def test_fractional_logit_is_the_glm_binomial_quasi_mle_with_its_robust_se(t_mean):
    t, y = fractional_share(t_mean=t_mean)
    assert 0.3 < np.mean((y == 0) | (y == 1)) < 0.5
    params, robust_se, naive_se = _glm(y, t, sm.families.Binomial())
    p = special.expit(params[0] + params[1] * t)
    ame = np.mean(p * (1 - p)) * params[1]
    est = _fit_constant(sd.FractionalLogitDML, t, y,
                        [AverageParameter(0), AverageParameter(1), "ame"])
    inf = est.inference_
    np.testing.assert_allclose(inf.estimate, np.r_[params, ame], rtol=POINT_RTOL)
    np.testing.assert_allclose(inf.stderr[:2], robust_se, rtol=SE_RTOL)
    # the Bernoulli-variance SE is far off here: the sandwich, not p(1 − p), is what is used
    assert np.all(np.abs(inf.stderr[:2] / naive_se - 1) > 0.1)


def test_poisson_dml_takes_a_continuous_outcome_as_quasi_poisson():
    """Overdispersed continuous Y ≥ 0 with zeros: the GLM Poisson QMLE and its HC0 SE."""
    rng = np.random.RandomState(0)
    t = rng.normal(1.0, 1.0, 1500)
    mu = np.exp(0.2 + 0.3 * t)
    y = np.where(rng.uniform(size=t.size) < 0.3, 0.0, rng.gamma(2.0, mu / 0.7 / 2.0))
    params, robust_se, naive_se = _glm(y, t, sm.families.Poisson())
    inf = _fit_constant(sd.PoissonDML, t, y).inference_
    np.testing.assert_allclose(inf.estimate, params, rtol=POINT_RTOL)
    np.testing.assert_allclose(inf.stderr, robust_se, rtol=SE_RTOL)
    assert np.all(np.abs(inf.stderr / naive_se - 1) > 0.1)


@pytest.mark.parametrize("treatment", ["continuous", "randomized"])
def test_heterogeneous_fractional_logit_recovers_the_truth(treatment):
    """θ(x) heterogeneous, ~40% of Y at the bounds; regime C (confounded T) and regime A."""
    data = make_family_data("fractional_logit", n_samples=3000, treatment=treatment,
                            random_state=3)
    est = sd.FractionalLogitDML(treatment_law=data.treatment_law, random_state=0)
    with threadpool_limits(1):
        inf = est.fit(data.X, data.T, data.Y).inference_
    assert est.lambda_method_ == ("regression" if treatment == "continuous" else "randomized")
    assert inf.names == ["E[beta]", "AME[T]"]
    truth = np.array([data.truth[name] for name in inf.names])
    assert np.all(np.abs(inf.estimate - truth) < 3.5 * inf.stderr), (inf.estimate, truth)
    assert np.all((inf.stderr > 0.02 * np.abs(truth)) & (inf.stderr < 0.5 * np.abs(truth)))


def test_the_family_reuses_the_logit_derivatives_on_a_fractional_y():
    family = get_family("fractional_logit")
    assert isinstance(family, FractionalLogitFamily) and not family.hessian_depends_on_y
    rng = np.random.RandomState(0)
    y, t, theta = rng.uniform(size=6), rng.normal(size=(6, 1)), rng.normal(size=(6, 2))
    p = special.expit(theta[:, 0] + theta[:, 1] * t[:, 0])
    z = np.column_stack([np.ones(6), t])
    np.testing.assert_allclose(family.gradient(y, t, theta), (p - y)[:, None] * z)
    np.testing.assert_allclose(family.hessian(y, t, theta),
                               (p * (1 - p))[:, None, None] * z[:, :, None] * z[:, None, :])
    assert family.initial_bias(np.array([0.2, 0.4]), t[:2])[0] == pytest.approx(
        np.log(0.3 / 0.7))


def test_distribution_targets_are_refused_under_quasi_likelihood():
    family, t, theta = FractionalLogitFamily(), np.zeros((2, 1)), np.zeros((2, 2))
    with pytest.raises(NotImplementedError, match="quasi-likelihood"):
        TailProbability(0.5).value(family, theta, t)
    with pytest.raises(NotImplementedError, match="upper bound"):
        ConditionalVariance().value(family, theta, t)


def test_binary_families_send_a_share_to_the_fractional_logit():
    X, t = np.ones((40, 1)), np.linspace(-1, 1, 40)[:, None]
    share = np.tile([0.0, 0.25, 1.0, 0.6], 10)
    with pytest.raises(ValueError, match="strictly between 0 and 1.*FractionalLogitDML"):
        sd.LogitDML().fit(X, t, share)
    with pytest.raises(ValueError, match="FractionalLogitDML"):
        ProbitFamily().check_y(share)
    with pytest.raises(ValueError, match=r"Recode Y \(e.g."):  # a label, not a share
        sd.LogitDML().fit(X, t, np.tile([1.0, 2.0], 20))


def test_beta_refuses_to_squeeze_a_share_with_mass_at_the_bounds():
    y = np.where(np.arange(1000) % 9 < 4, 1.0, np.linspace(0.05, 0.95, 1000))  # 44% at 1
    with pytest.raises(ValueError, match=r"44\.\d% of Y sits exactly at 0 or 1: do not "
                                         r"squeeze.*FractionalLogitDML"):
        sd.BetaDML().fit(np.ones((1000, 1)), np.linspace(0, 1, 1000)[:, None], y)
    y_few = np.r_[0.0, np.linspace(0.05, 0.95, 999)]  # one zero: squeezing is offered
    with pytest.raises(ValueError, match=r"FractionalLogitDML.*squeeze Y"):
        get_family("beta").check_y(y_few)


def test_fractional_logit_input_errors():
    X, t = np.ones((40, 1)), np.linspace(-1, 1, 40)[:, None]
    with pytest.raises(ValueError, match=r"in \[0, 1\].*PoissonDML"):
        sd.FractionalLogitDML().fit(X, t, np.linspace(0, 100, 40))
    with pytest.raises(ValueError, match="single value 0.3"):
        sd.FractionalLogitDML().fit(X, t, np.full(40, 0.3))
    with pytest.raises(ValueError, match="perfectly separates"):
        sd.FractionalLogitDML().fit(X, t, (t[:, 0] > 0).astype(float))
    # a share in (0, 1) at the same T levels is not separated
    family, share = FractionalLogitFamily(), np.where(t[:, 0] > 0, 1.0, 0.5)
    family.check_data(t, share, ["T"])
    binary_t = (t > 0).astype(float)
    with pytest.raises(ValueError, match="quasi-complete separation"):
        family.check_data(binary_t, np.where(binary_t[:, 0] == 1, 1.0, share), ["T"])
