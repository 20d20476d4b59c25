"""Fractional logit: E[Y | x, t] = σ(α(x) + β(x)'t) for a share or rate Y ∈ [0, 1]."""

from __future__ import annotations

import numpy as np

from ._logit import LogitFamily
from ._support import check_unit_interval


class FractionalLogitFamily(LogitFamily):
    """Bernoulli quasi-likelihood ℓ = −[y log p + (1 − y) log(1 − p)], p = σ(η), y ∈ [0, 1].

    The fractional logit of Papke and Wooldridge (1996): the logit's loss applied to
    a share or rate, with mass at 0 and 1 allowed. It is consistent for θ(x) whenever
    the mean E[Y | x, t] = σ(η) is right, whatever the distribution of Y around it:
    Var(Y | x, t) is typically far below the Bernoulli p(1 − p). The standard errors
    come from ψ (the sandwich), never from a Bernoulli variance, so they stay valid.

    The score (p − y)·z and the Hessian p(1 − p)·z z' are the logit's; the Hessian is
    free of y, so Λ(x) = E[p(1 − p) z z' | x] needs only the mean model (regime A with a
    randomized treatment; regime C with the logit's secant weights otherwise).
    Distribution targets (P(Y > c), Var(Y | x, t)) are not defined: the quasi-likelihood
    specifies the mean only.

    References
    ----------
    Papke and Wooldridge (1996), "Econometric Methods for Fractional Response Variables
    with an Application to 401(k) Plan Participation Rates", Journal of Applied
    Econometrics 11(6).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import FractionalLogitFamily
    >>> family = FractionalLogitFamily()
    >>> y, t, theta = np.array([0.25]), np.array([[1.0]]), np.array([[0.1, 0.3]])
    >>> family.mean_numpy(t, theta).round(4)  # σ(0.1 + 0.3)
    array([0.5987])
    >>> family.gradient(y, t, theta).round(4)  # (σ(η) − y) (1, t)
    array([[0.3487, 0.3487]])
    >>> family.check_y([0.0, 0.4, 1.0])  # shares with mass at the bounds
    array([0. , 0.4, 1. ])
    """

    name = "fractional_logit"
    label = "fractional logit"
    # ℓ'' = p(1 − p) is free of y under the quasi-likelihood too: Λ(x) needs only the mean.
    hessian_depends_on_y = False
    # The secant weights p(1 − p) − ½(1 − 2p)(p − y) use E[y | x, t] = σ(η) alone: they hold.
    secant_lambda = True

    def check_y(self, y):
        return check_unit_interval(y, self.label)

    def constant_outcome_unbounded(self, values):
        return (np.asarray(values) == 0) | (np.asarray(values) == 1)

    def check_data(self, t, y, treatment_names):
        # a fractional row pulls towards both bounds, so only rows with Y > 0 against rows
        # with Y < 1 can separate (the binary check when Y is 0/1)
        above, below = y > 0, y < 1
        for j, name in enumerate(treatment_names):
            tj = t[:, j]
            if tj[above].min() > tj[below].max() or tj[below].min() > tj[above].max():
                raise ValueError(
                    f"Treatment {name!r} perfectly separates Y (every row with Y > 0 lies on "
                    "one side of every row with Y < 1): the coefficient is infinite and no "
                    "valid estimate exists.")
            levels = np.unique(tj)
            if levels.size == 2:
                for level in levels:
                    ys = y[tj == level]
                    if np.all(ys == 0) or np.all(ys == 1):
                        raise ValueError(
                            f"All rows with {name} = {level:g} have Y = {ys[0]:g}: "
                            "quasi-complete separation, so the effect of the treatment is not "
                            "identified. Collect more data or use a model for the outcome that "
                            "does not need it.")

    # initial_bias (the logit of the mean of Y) is inherited: it is the constant-mean QMLE.

    def sf(self, c, t, theta):
        raise NotImplementedError(
            f"The {self.label} family is a quasi-likelihood: it models E[Y | x, t] only, so "
            "P(Y > c) is not available. Estimate a probability with LogitDML on the "
            "indicator (Y > c).")

    def variance(self, t, theta):
        raise NotImplementedError(
            f"The {self.label} family is a quasi-likelihood: it models E[Y | x, t] only, and "
            "the Bernoulli p(1 − p) is an upper bound, not Var(Y | x, t). Model the variance "
            "with BetaDML (Y strictly inside (0, 1)) or a custom loss.")
