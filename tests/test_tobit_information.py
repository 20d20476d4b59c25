"""The tobit's Hessian under another law, and the regime-C move of its expected Hessian
from the auxiliary fit's error to the main fit's. Expectations over Y are exact: the
censored masses plus Gauss-Legendre quadrature over the uncensored interval."""

import numpy as np
import pytest
from scipy import special

from sklearn_dml._lambda import lambda_hessians
from sklearn_dml.families import TobitFamily

LEFT, RIGHT = 0.0, 4.0


def _setup(n=60, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 1))
    theta = np.column_stack([0.8 * rng.normal(size=n) + 0.5, 0.5 * rng.normal(size=n),
                             0.3 * rng.normal(size=n)])
    return t, theta, rng.normal(size=theta.shape)


def _expect(family, per_row, t, theta, nodes=80):
    """E[per_row(Y)] per row with Y following the tobit at ``theta``."""
    eta, sigma = theta[:, 0] + theta[:, 1] * t[:, 0], np.exp(theta[:, 2])
    lo = -np.inf if family.left is None else family.left
    hi = np.inf if family.right is None else family.right
    l, u = (lo - eta) / sigma, (hi - eta) / sigma
    at_lo, at_hi = per_row(np.full(eta.shape, lo)), per_row(np.full(eta.shape, hi))
    shape = (-1,) + (1,) * (at_lo.ndim - 1)
    out = (np.where(np.isfinite(l), special.ndtr(l), 0.0).reshape(shape) * np.nan_to_num(at_lo)
           + np.where(np.isfinite(u), special.ndtr(-u), 0.0).reshape(shape)
           * np.nan_to_num(at_hi))
    x, w = np.polynomial.legendre.leggauss(nodes)
    a, b = np.maximum(l, -12.0), np.minimum(u, 12.0)  # the normal's mass beyond is < 1e-32
    for xi, wi in zip(x, w):
        e = a + (b - a) * (xi + 1) / 2
        density = wi * (b - a) / 2 * np.exp(-0.5 * e * e) / np.sqrt(2 * np.pi)
        out = out + density.reshape(shape) * per_row(eta + sigma * e)
    return out


def _miss(M, delta, score):
    return np.abs(np.einsum("nde,ne->nd", M, delta) - score).mean()


@pytest.mark.parametrize("left, right", [(LEFT, RIGHT), (LEFT, None), (None, RIGHT)])
def test_hessian_under_another_law_is_the_mean_observed_hessian(left, right):
    family = TobitFamily(left=left, right=right)
    t, theta, direction = _setup()
    other = theta + 0.3 * direction
    np.testing.assert_allclose(
        family.hessian_under(t, other, theta),
        _expect(family, lambda y: family.hessian(y, t, other), t, theta), atol=1e-10)
    np.testing.assert_array_equal(family.hessian_under(t, theta, theta),
                                  family.expected_hessian(t, theta))


@pytest.mark.parametrize("left, right", [(LEFT, RIGHT), (LEFT, None), (None, RIGHT)])
def test_information_moved_to_the_main_fit_is_third_order(left, right):
    """With an exact auxiliary fit (θ̃ = θ) and the main fit at θ̂ = θ + Δ̂, the expected
    Hessian at θ̃ misses the main fit's expected score by ½·∂₂G·Δ̂·Δ̂ (second order); moved
    by ½·(E[ℓ_θθ(Y, θ̂)] − E[ℓ_θθ(Y, θ̃)]), Y following θ̃, it is third order."""
    family = TobitFamily(left=left, right=right)
    t, theta, direction = _setup(seed=2)
    y = np.zeros(len(t))  # the expected Hessian does not read y
    misses = []
    for eps in (0.05, 0.025):
        theta_main, delta = theta + eps * direction, eps * direction
        score = _expect(family, lambda y, th=theta_main: family.gradient(y, t, th), t, theta)
        stayed, moved = (lambda_hessians(family, y, t, theta, secant=True, theta_main=main)
                         for main in (None, theta_main))
        misses.append((_miss(stayed, delta, score), _miss(moved, delta, score)))
    (stayed_1, moved_1), (stayed_2, moved_2) = misses
    assert moved_2 < 0.3 * stayed_2, (moved_2, stayed_2)
    assert np.log2(stayed_1 / stayed_2) < 2.3  # second order
    assert np.log2(moved_1 / moved_2) > 2.6  # third order
    np.testing.assert_array_equal(stayed, family.expected_hessian(t, theta))


def test_a_move_the_family_cannot_make_is_an_error():
    """A family that asks for the move but cannot compute G(θ*, θ) is told so, rather than
    getting the unmoved information in silence."""
    from sklearn_dml._lambda import lambda_index_weights
    from sklearn_dml.families import Family, LogitFamily

    class NoLawTobit(TobitFamily):
        def hessian_under(self, t, theta, law_theta):
            return Family.hessian_under(self, t, theta, law_theta)

    t, theta, direction = _setup()
    y = np.zeros(len(t))
    with pytest.raises(NotImplementedError, match="information_to_main_fit.*hessian_under"):
        lambda_hessians(NoLawTobit(), y, t, theta, secant=True, theta_main=theta + direction)
    # without the main fit's θ̂ there is nothing to move
    lambda_hessians(NoLawTobit(), y, t, theta, secant=True)

    class NoLawLogit(LogitFamily):
        def curvature_under(self, eta_law, eta):
            return None

    eta = t[:, 0]
    with pytest.raises(NotImplementedError, match="curvature_under"):
        lambda_index_weights(NoLawLogit(), y, eta, secant=True, eta_main=eta + 0.1)
    lambda_index_weights(NoLawLogit(), y, eta, secant=True)
