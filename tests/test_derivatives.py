"""Closed-form scores, Hessians and target Jacobians against autodiff (float64)."""

import numpy as np
import pytest
import torch

from sklearn_dml._autodiff import loss_gradient, loss_hessian, target_jacobian
from sklearn_dml.families import CustomFamily, LinearFamily, LogitFamily
from sklearn_dml.targets import (
    AverageEffect,
    AverageMarginalEffect,
    AverageParameter,
    AveragePrediction,
)

FAMILIES = [LinearFamily(), LogitFamily()]


def _data(family, p, rng, n=50):
    t = rng.normal(size=(n, p))
    theta = rng.normal(size=(n, 1 + p))
    y = rng.binomial(1, 0.4, size=n).astype(float) if family.name == "logit" else rng.normal(size=n)
    return y, t, theta


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("p", [1, 3])
def test_score_and_hessian_match_autodiff(family, p, rng):
    y, t, theta = _data(family, p, rng)
    np.testing.assert_allclose(family.gradient(y, t, theta),
                               loss_gradient(family.loss, y, t, theta), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(family.hessian(y, t, theta),
                               loss_hessian(family.loss, y, t, theta), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_hessian_facts_are_true(family, rng):
    """The flags that choose Λ's regime must describe the Hessian truthfully."""
    y, t, theta = _data(family, 2, rng)
    H = family.hessian(y, t, theta)
    H_other_y = family.hessian(1 - y, t, theta)
    H_other_theta = family.hessian(y, t, theta + 0.5)
    assert family.hessian_depends_on_y == (not np.allclose(H, H_other_y))
    assert family.hessian_depends_on_theta == (not np.allclose(H, H_other_theta))


TARGETS = [
    AverageParameter(1),
    AverageMarginalEffect(0),
    AverageMarginalEffect(0, at=0.5),
    AverageMarginalEffect(1, at=[0.2, -0.3]),
    AverageEffect(0.0, 1.0),
    AveragePrediction(at=1.0),
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("target", TARGETS, ids=repr)
def test_target_jacobians_match_autodiff(family, target, rng):
    y, t, theta = _data(family, 2, rng)
    if isinstance(target, AverageParameter):
        target = AverageParameter(1).bind(["alpha", "b1", "b2"])
    closed = target.jacobian(family, theta, t)
    # the oracle: a CustomFamily (no closed forms) gives the autodiff fallback path
    generic = CustomFamily(family.loss, ["alpha", "b1", "b2"], mean=family.mean)
    auto = target.jacobian(generic, theta, t)
    np.testing.assert_allclose(closed, auto, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(target.value(family, theta, t), target.value(generic, theta, t),
                               rtol=1e-10, atol=1e-12)


def test_marginal_effect_value_is_derivative_of_mean(rng):
    family = LogitFamily()
    _, t, theta = _data(family, 1, rng)
    h = 1e-6
    fd = (family.mean_numpy(t + h, theta) - family.mean_numpy(t - h, theta)) / (2 * h)
    np.testing.assert_allclose(AverageMarginalEffect(0).value(family, theta, t), fd, rtol=1e-6)


def test_autodiff_target_jacobian_of_a_known_function(rng):
    theta = rng.normal(size=(20, 2))
    t = rng.normal(size=(20, 1))
    jac = target_jacobian(lambda th, tt: th[:, 0] * th[:, 1] ** 2 + torch.sin(tt[:, 0]), theta, t)
    np.testing.assert_allclose(jac[:, 0], theta[:, 1] ** 2)
    np.testing.assert_allclose(jac[:, 1], 2 * theta[:, 0] * theta[:, 1])
