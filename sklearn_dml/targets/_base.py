"""The target interface: μ = E[H(X, θ(X); t̃)] and its Jacobian H_θ."""

from __future__ import annotations

import numpy as np
import torch

from .._autodiff import target_jacobian


def broadcast_t(at, t):
    """Evaluation treatments: the observed ``t`` (n, p) if ``at`` is None, else ``at`` per row.

    Parameters
    ----------
    at : None, float or array-like
        A scalar, one value per treatment (p,), or one row per observation.
    t : ndarray of shape (n, p)
        Observed treatments.

    Returns
    -------
    ndarray of shape (n, p)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.targets._base import broadcast_t
    >>> t = np.array([[0.0], [1.0]])
    >>> broadcast_t(2.0, t)
    array([[2.],
           [2.]])
    >>> broadcast_t(None, t) is t
    True
    """
    if at is None:
        return t
    at = np.asarray(at, dtype=float)
    if at.ndim == 0:
        at = np.full(t.shape[1], float(at))
    if at.ndim == 1 and at.shape[0] == t.shape[1]:
        return np.broadcast_to(at, t.shape).copy()
    if at.ndim == 1 and t.shape[1] == 1 and at.shape[0] == t.shape[0]:
        return at[:, None]
    if at.shape == t.shape:
        return at
    raise ValueError(
        f"Treatment value of shape {at.shape} does not fit treatments of shape {t.shape}; "
        "give a scalar, one value per treatment, or one row per observation."
    )


class Target:
    """An average of a smooth function of θ(x): μ = E[H(X, θ(X); t̃)].

    Subclasses give ``value`` and, where known, a closed-form ``jacobian``
    (float64 numpy, vectorized over rows). Without one, ``jacobian`` falls back
    to autodiff of ``torch_value``.

    Examples
    --------
    >>> from sklearn_dml.targets import AverageMarginalEffect, Target
    >>> target = AverageMarginalEffect(at=0.0)
    >>> isinstance(target, Target), target.uses_observed_t
    (True, False)
    >>> target.name(["alpha", "beta"], ["price"])
    'AME[price] at 0.0'
    """

    def name(self, theta_names, treatment_names):
        """Label for tables."""
        return type(self).__name__

    @property
    def uses_observed_t(self):
        """Whether H is evaluated at each row's observed T (then the correction needs
        E[H_θ | X], not H_θ at the observed T, to stay orthogonal)."""
        return getattr(self, "at", 0.0) is None

    def value(self, family, theta, t):
        """H per row, shape (n,)."""
        with torch.no_grad():
            out = self.torch_value(family, torch.as_tensor(theta, dtype=torch.float64),
                                   torch.as_tensor(t, dtype=torch.float64))
        return out.numpy()

    def jacobian(self, family, theta, t):
        """H_θ per row, shape (n, d)."""
        return target_jacobian(lambda th, tt: self.torch_value(family, th, tt), theta, t)

    def torch_value(self, family, theta, t):
        """H per row on torch tensors; needed for the autodiff fallback."""
        raise NotImplementedError(f"{type(self).__name__} defines no torch_value.")

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class CustomTarget(Target):
    """A user target from a torch callable ``H(theta, t)``; Jacobian by autodiff.

    Parameters
    ----------
    func : callable
        ``func(theta, t)`` on torch tensors (n, d), (n, p) returning (n,).
    name : str, default="custom"
        Label for tables.
    at : float or array-like, optional
        Evaluation treatment t̃; the observed T when None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import CustomTarget
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> import torch
    >>> target = CustomTarget(lambda theta, t: torch.sigmoid(theta[:, 0]), name="P(Y=1 | T=0)")
    >>> target.value(family, theta, t).round(4)
    array([0.525 , 0.4502])
    >>> target.jacobian(family, theta, t).round(4)  # by autodiff
    array([[0.2494, 0.    ],
           [0.2475, 0.    ]])
    """

    def __init__(self, func, name="custom", at=None):
        self.func = func
        self.label = name
        self.at = at

    def name(self, theta_names, treatment_names):
        return self.label

    def value(self, family, theta, t):
        return super().value(family, theta, broadcast_t(self.at, t))

    def jacobian(self, family, theta, t):
        return super().jacobian(family, theta, broadcast_t(self.at, t))

    def torch_value(self, family, theta, t):
        return self.func(theta, t)
