"""Outcome-scale targets: marginal effects, effects of moving T, predicted outcomes."""

from __future__ import annotations

import numpy as np
import torch

from .._autodiff import target_jacobian, treatment_derivative
from ..families._index import design, index
from ._base import Target, broadcast_t


class AverageMarginalEffect(Target):
    """μ = E[∂E[Y | X, t]/∂tⱼ], at the observed T (``at=None``) or at a fixed t̃.

    Parameters
    ----------
    treatment : int, default=0
        Which treatment to differentiate with respect to.
    at : float or array-like, optional
        Evaluation point t̃. None evaluates at each row's observed treatment.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import AverageMarginalEffect
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = AverageMarginalEffect()  # at each row's observed T
    >>> target.name(["alpha", "beta"], ["price"])
    'AME[price]'
    >>> target.value(family, theta, t).round(4)  # ∂P(Y=1 | x, t)/∂t = σ'(η)·β
    array([0.0748, 0.1222])
    """

    def __init__(self, treatment=0, at=None):
        self.treatment = treatment
        self.at = at

    def name(self, theta_names, treatment_names):
        where = "" if self.at is None else f" at {self.at}"
        return f"AME[{treatment_names[self.treatment]}]{where}"

    def value(self, family, theta, t):
        t = broadcast_t(self.at, t)
        if family.single_index:
            eta = index(t, theta)
            return family.mean_eta_d1(eta) * theta[:, 1 + self.treatment]
        return treatment_derivative(lambda th, tt: family.mean(tt, th), theta, t, self.treatment)

    def jacobian(self, family, theta, t):
        t = broadcast_t(self.at, t)
        if family.single_index:
            eta = index(t, theta)
            j = 1 + self.treatment
            jac = (family.mean_eta_d2(eta) * theta[:, j])[:, None] * design(t)
            jac[:, j] += family.mean_eta_d1(eta)
            return jac
        return super().jacobian(family, theta, t)

    def torch_value(self, family, theta, t):
        def mean_row(tt, th):
            return family.mean(tt[None], th[None])[0]

        grads = torch.func.vmap(torch.func.grad(mean_row))(t, theta)
        return grads[:, self.treatment]


class AverageEffect(Target):
    """μ = E[E[Y | X, T1] − E[Y | X, T0]]: the average effect of moving T from T0 to T1.

    Parameters
    ----------
    T0, T1 : float or array-like, default=0 and 1
        Baseline and counterfactual treatment values (scalars, one per
        treatment, or one row per observation).
    treatment : int, optional
        Move only this treatment column from T0 to T1 (scalars), the others staying at
        each row's observed values; None moves every column. The default target of a
        0/1 treatment is ``AverageEffect(0, 1, treatment=j)``, named ``ATE[<name>]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import AverageEffect
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = AverageEffect(T0=0, T1=1)
    >>> target.name(["alpha", "beta"], ["price"])
    'ATE[0->1]'
    >>> target.value(family, theta, t).round(4)  # σ(α + β) − σ(α) per row
    array([0.0737, 0.1243])
    >>> AverageEffect(treatment=0).name(["alpha", "beta"], ["coupon"])
    'ATE[coupon]'
    """

    def __init__(self, T0=0.0, T1=1.0, treatment=None):
        self.T0 = T0
        self.T1 = T1
        self.treatment = treatment

    def name(self, theta_names, treatment_names):
        if self.treatment is None:
            return f"ATE[{self.T0}->{self.T1}]"
        label = treatment_names[self.treatment]
        if np.ndim(self.T0) == 0 and np.ndim(self.T1) == 0 and (self.T0, self.T1) == (0, 1):
            return f"ATE[{label}]"
        return f"ATE[{label}: {self.T0}->{self.T1}]"

    @property
    def uses_observed_t(self):
        # moving one of several columns keeps the others at their observed values
        return self.treatment is not None and getattr(self, "n_treatments", None) != 1

    def _treatments(self, t):
        if self.treatment is None:
            return broadcast_t(self.T0, t), broadcast_t(self.T1, t)
        t0, t1 = np.array(t, dtype=float), np.array(t, dtype=float)
        t0[:, self.treatment], t1[:, self.treatment] = self.T0, self.T1
        return t0, t1

    def value(self, family, theta, t):
        t0, t1 = self._treatments(t)
        return family.mean_numpy(t1, theta) - family.mean_numpy(t0, theta)

    def jacobian(self, family, theta, t):
        t0, t1 = self._treatments(t)
        if family.single_index:
            g1 = family.mean_eta_d1(index(t1, theta))[:, None] * design(t1)
            g0 = family.mean_eta_d1(index(t0, theta))[:, None] * design(t0)
            return g1 - g0
        p = t.shape[1]
        both = np.concatenate([t0, t1], axis=1)
        return target_jacobian(
            lambda th, tt: family.mean(tt[:, p:], th) - family.mean(tt[:, :p], th), theta, both
        )


class AveragePrediction(Target):
    """μ = E[E[Y | X, t̃]]: the average predicted outcome at treatment t̃.

    Parameters
    ----------
    at : float or array-like, default=0
        Evaluation treatment t̃.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import AveragePrediction
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = AveragePrediction(at=1.0)
    >>> target.name(["alpha", "beta"], ["price"])
    'E[Y(1.0)]'
    >>> target.value(family, theta, t).round(4)  # σ(α + β) per row
    array([0.5987, 0.5744])
    """

    def __init__(self, at=0.0):
        self.at = at

    def name(self, theta_names, treatment_names):
        return f"E[Y({self.at})]"

    def value(self, family, theta, t):
        return family.mean_numpy(broadcast_t(self.at, t), theta)

    def jacobian(self, family, theta, t):
        ta = broadcast_t(self.at, t)
        if family.single_index:
            return family.mean_eta_d1(index(ta, theta))[:, None] * design(ta)
        return target_jacobian(lambda th, tt: family.mean(tt, th), theta, ta)
