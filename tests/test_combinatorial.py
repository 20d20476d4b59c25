"""CombinatorialDML: link derivatives, exact Λ, identification, targets, and small fits."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_dml import CombinatorialDML
from sklearn_dml._autodiff import loss_gradient, loss_hessian, target_jacobian
from sklearn_dml._lambda import integrate_hessian, treatment_support
from sklearn_dml.datasets import make_combinatorial
from sklearn_dml.families import CombinatorialFamily, get_family
from sklearn_dml.families._combinatorial import all_cells, check_identified
from sklearn_dml.targets import BestCombinationATE, MultiTreatmentATE

LINKS = ["gen_sigmoid_ii", "gen_sigmoid_i", "sigmoid", "multiplicative"]
SMALL = dict(hidden_dims=(32,), max_epochs=150, n_iter_no_change=15, cv=3)


def _family(link):
    return CombinatorialFamily(link, a=1.5, b=0.2) if link == "sigmoid" else \
        CombinatorialFamily(link)


def _point(link, m, rng, n=40):
    fam = _family(link)
    t = rng.binomial(1, 0.5, size=(n, m)).astype(float)
    theta = rng.normal(scale=0.8, size=(n, fam.theta_dim(m)))
    y = rng.normal(size=n)
    return fam, y, t, theta


@pytest.mark.parametrize("link", LINKS)
def test_link_jacobian_and_second_derivative_match_autodiff(link, rng):
    fam, _, t, theta = _point(link, 4, rng)
    np.testing.assert_allclose(fam.mean_jacobian(t, theta),
                               target_jacobian(lambda th, tt: fam.mean(tt, th), theta, t),
                               rtol=1e-10, atol=1e-13)

    def grad_row(th, tt):
        return torch.func.grad(lambda a: fam.mean(tt[None], a[None])[0])(th)

    auto = torch.func.vmap(torch.func.jacrev(grad_row))(torch.as_tensor(theta),
                                                        torch.as_tensor(t)).numpy()
    np.testing.assert_allclose(fam.mean_hessian(t, theta), auto, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("link", LINKS)
def test_score_hessian_and_fisher_information(link, rng):
    fam, y, t, theta = _point(link, 3, rng)
    np.testing.assert_allclose(fam.gradient(y, t, theta), loss_gradient(fam.loss, y, t, theta),
                               rtol=1e-10, atol=1e-12)
    H = fam.hessian(y, t, theta)
    np.testing.assert_allclose(H, loss_hessian(fam.loss, y, t, theta), rtol=1e-10, atol=1e-12)
    # the expected Hessian is the observed one at y = G (residual zero), and y enters ℓ_θθ
    G = fam.mean_numpy(t, theta)
    np.testing.assert_allclose(fam.expected_hessian(t, theta), fam.hessian(G, t, theta),
                               atol=1e-12)
    assert fam.hessian_depends_on_y and not np.allclose(H, fam.hessian(y + 1, t, theta))


@pytest.mark.parametrize("link", LINKS)
def test_enumerated_lambda_equals_monte_carlo_lambda(link, rng):
    """Exact Σ_t ν(t) 2G_θG_θ' against the average over 20,000 cells drawn from ν."""
    fam, m = _family(link), 3
    cells = all_cells(m)
    probs = rng.dirichlet(np.ones(len(cells)))
    theta = rng.normal(scale=0.8, size=(5, fam.theta_dim(m)))
    exact = integrate_hessian(fam, theta, cells, probs)
    draws = cells[rng.choice(len(cells), size=20000, p=probs)]
    per_draw = np.stack([fam.expected_hessian(draws, np.tile(th, (len(draws), 1)))
                         for th in theta])
    mc, se = per_draw.mean(axis=1), per_draw.std(axis=1) / np.sqrt(len(draws))
    assert np.all(np.abs(exact - mc) <= 4.5 * se + 1e-12)
    # and the Monte Carlo error is real: a wrong law is detected
    wrong = integrate_hessian(fam, theta, cells, np.full(len(cells), 1 / len(cells)))
    assert np.any(np.abs(wrong - mc) > 4.5 * se + 1e-12)


def test_empirical_law_is_the_exact_cell_frequencies():
    T = np.array([[0, 0], [1, 0], [1, 0], [1, 1], [0, 0], [1, 0]], dtype=float)
    values, probs = treatment_support("empirical", T, np.random.RandomState(0))
    np.testing.assert_array_equal(values, [[0, 0], [1, 0], [1, 1]])
    np.testing.assert_allclose(probs, [2 / 6, 3 / 6, 1 / 6])


def test_gen_sigmoid_ii_on_single_cells_is_not_identified():
    singles = np.vstack([np.zeros(3), np.eye(3)])
    with pytest.raises(ValueError, match=r"identify only 4 of the 5 parameters.*"
                                         r"any one more cell of: \['011', '101', '110', '111'\]"):
        check_identified(CombinatorialFamily("gen_sigmoid_ii"), singles)
    for link in ("sigmoid", "gen_sigmoid_i", "multiplicative"):  # m + 1 cells suffice
        check_identified(CombinatorialFamily(link), singles)
    check_identified(CombinatorialFamily("gen_sigmoid_ii"), np.vstack([singles, [1, 1, 0]]))
    with pytest.raises(ValueError, match="At least 2 more cells"):
        check_identified(CombinatorialFamily("sigmoid"), np.array([[0, 0, 0], [1, 0, 0]]))


def test_fit_raises_identification_error_before_training():
    data = make_combinatorial(n_samples=300, n_treatments=3, design="m+1", random_state=0)
    with pytest.raises(ValueError, match="gen_sigmoid_ii needs m \\+ 2 cells"):
        CombinatorialDML(max_epochs=1).fit(data.X, data.T, data.Y)


def test_singular_set_of_gen_sigmoid_ii():
    """Λ is singular iff e^{Σθ_k} − 1 = Σ(e^{θ_k} − 1) over the overlapping cell."""
    fam = CombinatorialFamily("gen_sigmoid_ii")
    cells = np.vstack([np.zeros(3), np.eye(3), np.ones(3)])
    probs = np.full(5, 0.2)
    theta = np.array([[-0.5, 0.3, 0.0, 0.0, 1.2], [-0.5, 1.0, 1.0, 1.0, 1.2]])
    w = np.linalg.eigvalsh(integrate_hessian(fam, theta, cells, probs))
    cond = w[:, -1] / np.abs(w[:, 0])
    assert cond[0] > 1e12 and cond[1] < 1e3


def test_multi_treatment_targets_match_autodiff(rng):
    fam, _, t, theta = _point("gen_sigmoid_ii", 3, rng)
    for target in (MultiTreatmentATE([1, 0, 1]), MultiTreatmentATE([1, 1, 0], [0, 1, 1])):
        np.testing.assert_allclose(
            target.jacobian(fam, theta, t),
            target_jacobian(lambda th, tt, tg=target: tg.torch_value(fam, th, tt), theta, t),
            rtol=1e-10, atol=1e-13)
    target = MultiTreatmentATE([1, 1, 0], baseline=[1, 0, 0])
    direct = fam.mean_numpy(np.tile([1.0, 1, 0], (40, 1)), theta) - fam.mean_numpy(
        np.tile([1.0, 0, 0], (40, 1)), theta)
    np.testing.assert_allclose(target.value(fam, theta, t), direct)
    best = BestCombinationATE()
    cell, _ = best.select(fam, theta, t)
    means = [MultiTreatmentATE(c).value(fam, theta, t).mean() for c in all_cells(3)[1:]]
    assert MultiTreatmentATE(cell).value(fam, theta, t).mean() == pytest.approx(max(means))
    with pytest.raises(ValueError, match="0/1 vector"):
        MultiTreatmentATE([2, 0, 1]).value(fam, theta, t)


def test_bad_treatments_are_rejected():
    data = make_combinatorial(n_samples=200, n_treatments=2, random_state=0)
    with pytest.raises(ValueError, match="0/1 indicators"):
        CombinatorialDML().fit(data.X, data.T * 2, data.Y)
    with pytest.raises(ValueError, match="n_treatments=3"):
        CombinatorialDML(n_treatments=3).fit(data.X, data.T, data.Y)
    assert get_family("combinatorial").link == "gen_sigmoid_ii"


@pytest.fixture(scope="module")
def fitted():
    data = make_combinatorial(n_samples=1500, n_treatments=3, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-specified fit raises no warning
        est = CombinatorialDML(random_state=0, **SMALL).fit(data.X, data.T, data.Y)
    return data, est


def test_fit_recovers_observed_and_unobserved_cells(fitted):
    data, est = fitted
    res = est.inference_
    assert res.names == [f"ATE[{c}]" for c in ("001", "010", "011", "100", "101", "110", "111")]
    truth = np.array([data.truth[n] for n in res.names])
    z = (res.estimate - truth) / res.stderr
    assert np.all(np.abs(z) < 4), z
    assert np.all((res.stderr > 0.003) & (res.stderr < 0.03))
    assert est.lambda_method_ == "randomized"
    assert est.lambda_report_["share_near_singular"] == 0.0
    assert 10 < est.lambda_report_["condition_median"] < 1e4
    assert abs(est.structure_check_["relative_excess"]) < 0.05
    assert clone(est).get_params() == est.get_params()


def test_all_effects_and_best_combination(fitted):
    data, est = fitted
    effects = est.all_effects()
    np.testing.assert_allclose(effects.estimate, est.inference_.estimate)
    pair = est.inference(MultiTreatmentATE([1, 1, 1], baseline=[1, 1, 0]))
    diff = effects.contrast(np.eye(7)[6] - np.eye(7)[5])
    assert pair.estimate[0] == pytest.approx(diff.estimate[0], abs=1e-10)
    assert pair.stderr[0] == pytest.approx(diff.stderr[0], rel=0.05)
    best = est.best_combination()
    assert best.cell == "ATE[111]" and best.candidates[0] == "ATE[111]"
    lo, hi = best.conf_int_max
    assert lo <= best.estimate <= hi and hi - lo > best.conf_int[1] - best.conf_int[0]
    assert "ATE[001]" not in best.candidates


def test_known_design_law_matches_the_empirical_one(fitted):
    """treatment_law=(cells, probabilities) of the design ≈ the fold cell frequencies
    (which differ from 0.2 by up to 13% at this n: the estimates move by ~0.25 SE)."""
    data, est = fitted
    known = CombinatorialDML(random_state=0, structure_check=False,
                             treatment_law=(data.cells, np.full(5, 0.2)), **SMALL).fit(
        data.X, data.T, data.Y)
    np.testing.assert_allclose(known.theta_, est.theta_)  # same networks
    diff = np.abs(known.inference_.estimate - est.inference_.estimate)
    assert np.all(diff < 0.5 * est.inference_.stderr) and np.any(diff > 0)


def test_misspecified_link_warns():
    """Multiplicative outcomes above 1 under a sigmoid link bounded by 1."""
    data = make_combinatorial(n_samples=1200, n_treatments=2, link="multiplicative",
                              design="full", random_state=0)
    with pytest.warns(UserWarning, match="clearly worse than an unstructured"):
        est = CombinatorialDML(link="sigmoid", random_state=0, **SMALL).fit(
            data.X, data.T, data.Y)
    assert est.structure_check_["relative_excess"] > 0.5


def test_vanishing_effects_are_flagged_as_near_singular():
    """gen_sigmoid_ii with all effects zero sits on its singular set: rows are flagged."""
    data = make_combinatorial(n_samples=1200, n_treatments=3, random_state=3)
    y = 0.8 / (1 + np.exp(0.5 - data.X[:, 0])) + 0.1 * np.random.RandomState(0).normal(
        size=1200)
    with pytest.warns(UserWarning, match="near-singular"):
        est = CombinatorialDML(random_state=0, structure_check=False, **SMALL).fit(
            data.X, data.T, y)
    assert est.lambda_report_["share_near_singular"] > 0.5
    assert np.mean(est.lambda_regularized_) == est.lambda_report_["share_near_singular"]
    assert est.lambda_report_["condition_q90"] > 1e4


def test_outcome_scale_does_not_change_the_floor(fitted):
    """The floor acts on the Jacobi-scaled Λ̂: Y × 10 flags the same (no) rows."""
    data, est = fitted
    big = CombinatorialDML(random_state=0, structure_check=False, **SMALL).fit(
        data.X, data.T, 10 * data.Y)
    assert big.lambda_report_["share_near_singular"] == 0.0
    truth = 10 * np.array([data.truth[n] for n in big.inference_.names])
    assert np.all(np.abs(big.inference_.estimate - truth) < 4 * big.inference_.stderr)


def test_make_combinatorial_designs():
    data = make_combinatorial(n_samples=400, n_treatments=4, design="m+2", random_state=0)
    assert len(data.observed) == 6 and len(data.unobserved) == 10
    assert set(map(tuple, np.unique(data.T, axis=0))) == set(map(tuple, data.cells))
    full = make_combinatorial(n_samples=4000, n_treatments=2, design="full", noise=0.0,
                              random_state=0)
    assert full.unobserved == []
    # truth is the population average of G(θ(x), t) − G(θ(x), 0): check against the sample
    fam = CombinatorialFamily("gen_sigmoid_ii")
    ate = fam.mean_numpy(np.ones_like(full.T), full.theta) - fam.mean_numpy(
        np.zeros_like(full.T), full.theta)
    assert ate.mean() == pytest.approx(full.truth["ATE[11]"], abs=4 * ate.std() / 63)
