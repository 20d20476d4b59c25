"""Row-wise derivatives by automatic differentiation (float64).

These are the fallback for custom losses and targets, and the oracle that
tests compare every closed-form derivative against. Everything is vectorized
over rows with :func:`torch.func.vmap`; there is no Python loop per row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad, hessian, jacrev, vmap


def _as_tensor(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def loss_gradient(loss, y, t, theta):
    """Per-row gradient of ``loss(y, t, theta)`` with respect to ``theta``.

    Parameters
    ----------
    loss : callable
        ``loss(y, t, theta)`` on torch tensors of shapes (n,), (n, p), (n, d),
        returning the per-row loss of shape (n,).
    y, t, theta : ndarray
        Outcomes (n,), treatments (n, p) and parameters (n, d).

    Returns
    -------
    ndarray of shape (n, d)
    """

    def one(yi, ti, thi):
        return loss(yi[None], ti[None], thi[None])[0]

    out = vmap(grad(one, argnums=2))(_as_tensor(y), _as_tensor(t), _as_tensor(theta))
    return out.detach().numpy()


def loss_hessian(loss, y, t, theta):
    """Per-row Hessian of ``loss`` with respect to ``theta``, shape (n, d, d)."""

    def one(yi, ti, thi):
        return loss(yi[None], ti[None], thi[None])[0]

    out = vmap(hessian(one, argnums=2))(_as_tensor(y), _as_tensor(t), _as_tensor(theta))
    return out.detach().numpy()


def target_jacobian(func, theta, t):
    """Per-row Jacobian of ``func(theta, t)`` (shape (n,)) with respect to theta."""

    def one(thi, ti):
        return func(thi[None], ti[None])[0]

    out = vmap(jacrev(one, argnums=0))(_as_tensor(theta), _as_tensor(t))
    return out.detach().numpy()


def treatment_derivative(func, theta, t, treatment):
    """Per-row derivative of ``func(theta, t)`` with respect to ``t[:, treatment]``."""

    def one(thi, ti):
        return func(thi[None], ti[None])[0]

    out = vmap(grad(one, argnums=1))(_as_tensor(theta), _as_tensor(t))
    return out[:, treatment].detach().numpy()
