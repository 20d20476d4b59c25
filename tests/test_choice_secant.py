"""The choice families' secant Hessian: its mean under the true law of the choice, times
Δ = θ̂ − θ, matches the expected score at θ̂ to third order in Δ (conditional logit, and
the nested logit along the utility coefficients), where the Fisher information at θ̂
misses by second-order terms."""

import numpy as np
import pytest
import torch

from sklearn_dml.families import MultinomialLogitFamily, NestedLogitFamily


def _setup(family, n, rng):
    d = family.theta_dim()
    t = family.pack(rng.normal(size=(n, family.n_alternatives, family.n_attributes)))
    theta = 0.5 * rng.normal(size=(n, d))
    if isinstance(family, NestedLogitFamily):
        theta[:, -family.n_lambda:] = rng.uniform(0.4, 0.9, size=(n, family.n_lambda))
    return t, theta


def _expected(family, t, theta, theta_hat, per_choice):
    """E[ℓ_θ(y, θ̂)] and E[per_choice(y)] with y following the model at the true ``theta``."""
    n = theta.shape[0]
    P = family.probabilities(t, theta)
    score, mean = np.zeros_like(theta), 0.0
    for j in range(P.shape[1]):
        y = np.full(n, j)
        th = torch.tensor(theta_hat, requires_grad=True)
        loss = family.loss(torch.tensor(y, dtype=torch.float64), torch.tensor(t), th).sum()
        (grad,) = torch.autograd.grad(loss, th)
        score += P[:, j, None] * grad.numpy()
        mean = mean + P[:, j, None, None] * per_choice(y)
    return score, mean


def _misses(family, t, theta, direction, eps):
    """Mean |M Δ − E[ℓ_θ(θ̂)]| for the Fisher information and the secant Hessian at θ̂."""
    theta_hat = theta + eps * direction
    score, secant = _expected(family, t, theta, theta_hat,
                              lambda y: family.secant_hessian(y, t, theta_hat))
    fisher = family.expected_hessian(t, theta_hat)
    delta = eps * direction

    def miss(M):
        return np.abs(np.einsum("nde,ne->nd", M, delta) - score).mean()

    return miss(fisher), miss(secant)


@pytest.mark.parametrize("nested", [False, True])
def test_secant_hessian_is_third_order(nested):
    rng = np.random.default_rng(0)
    if nested:
        family = NestedLogitFamily(4, 2, nests={"a": [0, 1], "b": [2, 3]})
    else:
        family = MultinomialLogitFamily(4, 2)
    t, theta = _setup(family, 200, rng)
    direction = rng.normal(size=theta.shape)
    if nested:  # along the utility coefficients; λ enters beyond what one choice shows
        direction[:, -family.n_lambda:] = 0.0
    (fisher_1, secant_1), (fisher_2, secant_2) = (
        _misses(family, t, theta, direction, eps) for eps in (0.1, 0.05))
    assert secant_2 < 0.3 * fisher_2, (secant_2, fisher_2)
    assert np.log2(fisher_1 / fisher_2) < 2.3  # second order
    assert np.log2(secant_1 / secant_2) > 2.4  # third order


def test_secant_hessian_is_psd_and_averages_to_the_fisher_information():
    """Weights (P + 1{y = j})/2 are nonnegative, and over y ~ P they average to P."""
    rng = np.random.default_rng(1)
    family = NestedLogitFamily(4, 2, nests={"a": [0, 1], "b": [2, 3]})
    t, theta = _setup(family, 50, rng)
    P = family.probabilities(t, theta)
    mean = sum(P[:, j, None, None] * family.secant_hessian(np.full(50, j), t, theta)
               for j in range(P.shape[1]))
    np.testing.assert_allclose(mean, family.expected_hessian(t, theta), atol=1e-12)
    H = family.secant_hessian(rng.integers(0, 4, size=50), t, theta)
    assert np.linalg.eigvalsh(H).min() > -1e-10


def _moved_misses(family, t, theta, direction, eps):
    """Mean |M Δ̂ − E[ℓ_θ(θ̂)]| for the secant Hessian at the auxiliary θ̃ = θ + 2Δ̂, as is
    and moved to the main θ̂ = θ + Δ̂ (what the regime-C regression averages)."""
    from sklearn_dml._lambda import lambda_hessians

    theta_main, theta_aux = theta + eps * direction, theta + 2 * eps * direction
    score, stayed = _expected(family, t, theta, theta_main,
                              lambda y: lambda_hessians(family, y, t, theta_aux, secant=True))
    moved = _expected(family, t, theta, theta_main,
                      lambda y: lambda_hessians(family, y, t, theta_aux, secant=True,
                                                theta_main=theta_main))[1]
    delta = eps * direction

    def miss(M):
        return np.abs(np.einsum("nde,ne->nd", M, delta) - score).mean()

    return miss(stayed), miss(moved)


@pytest.mark.parametrize("nested", [False, True])
def test_secant_moved_to_the_main_fit_is_third_order(nested):
    """With the auxiliary fit twice as far from θ as the main one, the secant Hessian at
    the auxiliary fit misses the main fit's expected score at second order; moved by
    ½·(E[ℓ_θθ(Y, θ̂)] − E[ℓ_θθ(Y, θ̃)]) it is third order again."""
    rng = np.random.default_rng(2)
    if nested:
        family = NestedLogitFamily(4, 2, nests={"a": [0, 1], "b": [2, 3]})
    else:
        family = MultinomialLogitFamily(4, 2)
    t, theta = _setup(family, 200, rng)
    direction = rng.normal(size=theta.shape)
    if nested:
        direction[:, -family.n_lambda:] = 0.0
    (stayed_1, moved_1), (stayed_2, moved_2) = (
        _moved_misses(family, t, theta, direction, eps) for eps in (0.025, 0.0125))
    assert moved_2 < 0.3 * stayed_2, (moved_2, stayed_2)
    assert np.log2(stayed_1 / stayed_2) < 2.3
    assert np.log2(moved_1 / moved_2) > 2.4


def test_nested_hessian_under_its_own_law_is_the_fisher_information():
    """Σ_j P_j ℓ_θθ(j) by autodiff equals Σ_j P_j ℓ_θ(j) ℓ_θ(j)' (the information identity),
    λ included."""
    rng = np.random.default_rng(3)
    family = NestedLogitFamily(4, 2, nests={"a": [0, 1], "b": [2, 3]})
    t, theta = _setup(family, 40, rng)
    np.testing.assert_allclose(family.hessian_under(t, theta, theta),
                               family.expected_hessian(t, theta), rtol=1e-8, atol=1e-10)
