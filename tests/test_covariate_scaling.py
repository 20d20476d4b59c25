"""x_scaling: which covariates the networks see as normal scores, and what that changes."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from sklearn_dml import LogitDML, ProbitDML
from sklearn_dml._covariates import fit_covariate_scaling, heavy_tailed
from sklearn_dml.datasets import make_family_data, make_logit

FAST = dict(cv=2, hidden_dims=(8,), max_epochs=15, random_state=0)


@pytest.mark.parametrize("n", [200, 5000, 200_000])
def test_light_tailed_columns_keep_their_standardization(n):
    rng = np.random.default_rng(n)
    # moderate skew (exponential, log-normal with log-SD 0.6) keeps it too, and so does a
    # column of few values, however skewed (a 1-5 rating, a count of children)
    for column in (rng.normal(size=n), rng.uniform(size=n), rng.integers(18, 80, n),
                   rng.binomial(1, 0.1, n), np.round(rng.normal(13, 2.5, n)),
                   np.full(n, 3.0), rng.exponential(size=n), np.exp(0.6 * rng.normal(size=n)),
                   np.minimum(rng.poisson(0.3, n), 5),
                   rng.choice([1, 4, 5], n, p=[0.02, 0.3, 0.68])):
        assert not heavy_tailed(column.astype(float))


@pytest.mark.parametrize("n", [1000, 5000, 200_000])
def test_skewed_and_heavy_tailed_columns_get_normal_scores(n):
    rng = np.random.default_rng(n)
    wealth = np.exp(rng.normal(10, 1.5, n))
    earnings = np.where(rng.random(n) < 0.8, 0.0, np.exp(rng.normal(9, 0.5, n)))  # IQR zero
    for column in (wealth, -wealth, rng.standard_cauchy(n), earnings):
        assert heavy_tailed(column)


def test_normal_scores_follow_the_ranks_and_handle_ties():
    rng = np.random.default_rng(0)
    x = np.exp(2 * rng.normal(size=4000))
    x[:400] = 0.0  # a point mass, as unemployed rows' earnings
    scaling = fit_covariate_scaling(x[:, None])
    z = scaling.transform(x[:, None])[:, 0]
    assert scaling.quantile_columns == (0,)
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    order = np.argsort(x)
    assert np.all(np.diff(z[order]) >= -1e-12)  # monotone
    assert np.ptp(z[:400]) == 0  # ties share their mid-rank score
    # rows beyond the fit's range take its end values: no extrapolation, no NaN
    outside = scaling.transform(np.array([[-1.0], [1e9]]))[:, 0]
    assert np.allclose(outside, [z.min(), z.max()])
    # a mass point inside a long column keeps its own mid-rank score when the table thins
    big = np.concatenate([np.exp(2 * rng.normal(size=20_000)), np.full(2_000, 1.5)])
    scores = fit_covariate_scaling(big[:, None], "quantile")
    below = np.sum(big < 1.5)
    expected = norm.ppf((below + 1_000) / big.size)  # the ties' mid-rank
    z_ties = scores.transform(np.array([[1.5]]))[0, 0] * scores.scale[0] + scores.mean[0]
    assert z_ties == pytest.approx(expected, abs=1e-9)
    # the Λ regressions' covariates stay in the user's units, standardized
    assert np.allclose(scaling.standardize(x[:, None])[:, 0], (x - x.mean()) / x.std())


def test_auto_is_the_standard_scaling_where_no_column_is_heavy_tailed():
    data = make_family_data("probit", n_samples=600, random_state=1)
    auto = ProbitDML(target="beta", **FAST).fit(data.X, data.T, data.Y)
    standard = ProbitDML(target="beta", x_scaling="standard", **FAST).fit(
        data.X, data.T, data.Y)
    assert auto.x_scaling_ == ["standard"] * data.X.shape[1]
    assert np.array_equal(auto.theta_, standard.theta_)
    assert np.array_equal(auto.inference_.stderr, standard.inference_.stderr)
    assert "x_normal_scores" not in auto.inference_.diagnostics


def test_a_monotone_recoding_of_a_covariate_changes_nothing():
    """With a known law of T, Λ(x) needs no regression on X, and the networks see only
    ranks of a column on normal scores: exp(x) or x³ in place of x gives the same fit."""
    data = make_logit(n_samples=800, treatment="randomized", random_state=2)
    law = ([0.0, 1.0], [0.5, 0.5])
    fits = []
    for recode in (lambda x: x, np.exp, lambda x: x ** 3):
        X = data.X.copy()
        X[:, 0] = recode(X[:, 0])
        est = LogitDML(target="beta", x_scaling="quantile", treatment_law=law, **FAST)
        fits.append(est.fit(X, data.T, data.Y))
    for est in fits[1:]:
        assert np.allclose(est.theta_, fits[0].theta_, atol=1e-6)
        assert np.allclose(est.inference_.estimate, fits[0].inference_.estimate, atol=1e-6)
        assert np.allclose(est.inference_.stderr, fits[0].inference_.stderr, rtol=1e-5)


def test_the_fit_reports_which_columns_are_on_normal_scores():
    data = make_family_data("probit", n_samples=600, random_state=3)
    X = pd.DataFrame(data.X, columns=[f"c{j}" for j in range(data.X.shape[1])])
    X["c1"] = np.exp(2 * X["c1"])
    est = ProbitDML(target="beta", **FAST).fit(X, data.T, data.Y)
    assert est.x_scaling_ == ["standard", "quantile", "standard", "standard", "standard"]
    assert est.inference_.diagnostics["x_normal_scores"] == "c1"
    assert "x_normal_scores" in str(est.summary())
    # the EconML-style averages accept the training rows in the user's units
    assert est.ate(X=X) == pytest.approx(est.ate())
