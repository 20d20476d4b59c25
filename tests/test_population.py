"""Averages over the treated or untreated rows (``inference(population=...)``)."""

import numpy as np
import pytest
from scipy.special import expit

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded, make_logit
from sklearn_dml.targets import AverageMarginalEffect

FAST = dict(hidden_dims=(16,), max_epochs=60, random_state=0)


def _att_truth():
    """E[β(X) | T = 1] of make_linear_confounded(treatment="binary"), by simulation."""
    x = np.random.default_rng(1).standard_normal((2_000_000, 3))
    p = expit(0.8 * x[:, 0] - 0.5 * x[:, 2])
    beta = 1 + 0.5 * x[:, 0] + 0.25 * x[:, 1] ** 2
    return float(np.sum(p * beta) / np.sum(p)), float(np.sum((1 - p) * beta) / np.sum(1 - p))


@pytest.fixture(scope="module")
def binary_fit():
    data = make_linear_confounded(n_samples=3000, treatment="binary", random_state=3)
    return StructuralDMLRegressor(random_state=0).fit(data.X, data.T, data.Y), data


def test_effect_on_the_treated_covers_its_truth_and_differs_from_the_ate(binary_fit):
    est, data = binary_fit
    att, atu = _att_truth()
    treated = est.inference("beta", population="treated")
    untreated = est.inference("beta", population="untreated")
    assert treated.names == ["E[beta] | T=1"] and untreated.names == ["E[beta] | T=0"]
    n_treated = int(data.T.sum())
    assert treated.diagnostics["population"] == f"T=1: {n_treated} rows"
    assert untreated.diagnostics["population"] == f"T=0: {len(data.T) - n_treated} rows"
    assert "population" not in est.inference_.diagnostics
    for res, truth in [(treated, att), (untreated, atu)]:
        assert abs(res.estimate[0] - truth) < 3 * res.stderr[0]
    # ATT 1.44, ATU 1.06, ATE 1.25: the three targets are told apart
    assert treated.estimate[0] - untreated.estimate[0] > 3 * treated.stderr[0]
    # the shares of the two populations recombine the average over all rows
    share = data.T.mean()
    ate = est.inference("beta")
    mix = share * treated.estimate[0] + (1 - share) * untreated.estimate[0]
    assert abs(mix - ate.estimate[0]) < 0.1 * ate.stderr[0]


def test_a_mask_of_the_treatment_is_not_the_efficient_average(binary_fit):
    est, data = binary_fit
    efficient = est.inference("beta", population="treated")
    with pytest.warns(UserWarning, match="population='treated'"):
        masked = est.inference("beta", where=data.T == 1)
    # the mask weights each treated row's correction by 1/p(x), the population by one
    assert efficient.stderr[0] < 0.9 * masked.stderr[0]


def test_with_theta_constant_every_population_has_the_parametric_estimate():
    data = make_linear_confounded(n_samples=1500, treatment="binary", random_state=4)
    est = StructuralDMLRegressor(homogeneous="all", random_state=0).fit(data.X, data.T, data.Y)
    ate = est.inference("beta")
    for population in ("treated", "untreated"):
        res = est.inference("beta", population=population)
        np.testing.assert_allclose(res.estimate, ate.estimate, rtol=1e-9)
        np.testing.assert_allclose(res.stderr, ate.stderr, rtol=0.05)


def test_logit_effect_on_the_treated_at_the_observed_treatment():
    data = make_logit(n_samples=2000, treatment="binary", random_state=0)
    est = LogitDML(**FAST).fit(data.X, data.T, data.Y)
    res = est.inference(["ate", "ame", AverageMarginalEffect(at=1.0)], population="treated")
    assert res.names == ["ATE[0.0->1.0] | T=1", "AME[T] | T=1", "AME[T] at 1.0 | T=1"]
    assert np.all(np.isfinite(res.stderr)) and np.all(res.stderr > 0)
    # on the treated rows the observed T is 1: the derivative there, correction included
    np.testing.assert_allclose(res.estimate[1], res.estimate[2], rtol=1e-10)
    np.testing.assert_allclose(res.stderr[1], res.stderr[2], rtol=1e-10)
    assert abs(res.estimate[1] - est.inference("ame").estimate[0]) > 1e-3


def test_population_errors_say_what_to_do():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    T = np.column_stack([rng.integers(0, 2, 300), rng.integers(0, 2, 300), rng.normal(size=300)])
    Y = X[:, 0] + T @ [0.5, 0.2, 0.1] + rng.normal(size=300)
    est = StructuralDMLRegressor(**FAST).fit(X, T, Y)
    with pytest.raises(ValueError, match="Name one: population=\\('treated'"):
        est.inference("beta", population="treated")
    with pytest.raises(ValueError, match="not a binary"):
        est.inference("beta", population=("treated", "T2"))
    with pytest.raises(ValueError, match="population must be one of"):
        est.inference("beta", population="everyone")
    res = est.inference("beta[T0]", population=("treated", "T0"))
    assert res.names == ["E[beta[T0]] | T0=1"]


def test_ate_methods_and_the_econml_adapter_take_the_population(binary_fit):
    est, data = binary_fit
    beta = est.inference("beta", population="treated")
    # in the linear model the effect of moving T from 0 to 1 is β, row by row
    np.testing.assert_allclose(est.ate(population="treated"), beta.estimate[0], rtol=1e-10)
    lo, hi = est.ate_interval(population="treated")
    assert lo < beta.estimate[0] < hi

    from sklearn_dml.econml import LinearDML

    adapter = LinearDML(random_state=0).fit(data.Y, data.T, X=data.X)
    att = adapter.ate_inference(population="treated")
    assert np.isfinite(att.mean_point) and att.stderr_mean > 0
    assert att.mean_point != adapter.ate()


def test_limited_overlap_among_the_untreated_points_to_the_effect_on_the_treated():
    from sklearn_dml.targets._population import untreated_overlap

    T = np.array([[0.0], [0.0], [0.0], [0.0], [1.0]])
    flagged = np.array([True, True, True, True, False])
    assert untreated_overlap(T, flagged, ["training"]) == "training"
    assert untreated_overlap(T, np.zeros(5, dtype=bool), ["training"]) is None
    assert untreated_overlap(np.hstack([T, T]), flagged, ["a", "b"]) is None  # which one?
    assert untreated_overlap(1 - T, flagged, ["training"]) is None  # flagged rows treated
    # most flagged rows untreated only because most rows are, and the treated flagged too
    many = np.zeros((100, 1))
    many[:8] = 1.0
    assert untreated_overlap(many, np.ones(100, dtype=bool), ["training"]) is None

    # a design where the treated are rare and unlike most of the untreated
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 2))
    T = (rng.random(2000) < expit(-4.5 + 2.5 * X[:, 0])).astype(float)
    Y = X[:, 1] + T + rng.normal(size=2000)
    with pytest.warns(UserWarning, match="population='treated'"):
        StructuralDMLRegressor(random_state=0).fit(X, T, Y)


def test_population_requests_that_cannot_be_answered_are_errors(binary_fit):
    est, data = binary_fit
    for bad in [None, ("treated",), ("treated", True), ("all", "T"), "everyone"]:
        with pytest.raises(ValueError, match="population must be one of"):
            est.inference("beta", population=bad)
    # a subgroup holding a single treated row: no population to average over
    where = data.T == 0
    where[np.flatnonzero(data.T == 1)[0]] = True
    with pytest.raises(ValueError, match="The population has 1 of the averaged rows"):
        est.inference("beta", where=where, population="treated")


def test_choice_models_refuse_a_population():
    from sklearn_dml import MultinomialLogitDML
    from sklearn_dml.datasets import make_choice

    data = make_choice(n_samples=400, random_state=0)
    est = MultinomialLogitDML(4, hidden_dims=(8,), max_epochs=5, random_state=0)
    est.fit(data.X, data.T, data.Y)
    with pytest.raises(ValueError, match="one column of T per treatment"):
        est.inference(population="treated")


def test_a_scale_average_keeps_its_warning_over_a_population():
    from sklearn_dml import HeteroskedasticDML

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    T = (rng.random(600) < 0.5).astype(float)
    Y = X[:, 0] + T + np.exp(0.3 * X[:, 1]) * rng.normal(size=600)
    est = HeteroskedasticDML(**FAST).fit(X, T, Y)
    with pytest.warns(UserWarning, match=r"E\[log_sigma\] \| T=1 average a component"):
        est.inference("log_sigma", population="treated")
