"""The family interface: a structural loss and what inference needs from it."""

from __future__ import annotations

import numpy as np
import torch

from .._autodiff import loss_gradient, loss_hessian


class Family:
    """A structural model: the loss ℓ(y, t, θ) that θ(x) minimizes in expectation.

    A family is a small declarative object. Subclasses give the loss in torch
    (used for training and as the autodiff oracle) and, where known, closed-form
    score and Hessian in float64 numpy. Anything not given in closed form falls
    back to automatic differentiation.

    Attributes
    ----------
    name : str
        Registry name.
    hessian_depends_on_theta : bool
        Whether ℓ_θθ varies with θ. If not (and not with y either), Λ(x) only
        needs nuisance regressions of functions of T on X (regime B).
    hessian_depends_on_y : bool
        Whether ℓ_θθ varies with y. A y-free Hessian can be integrated over a
        known treatment law (regime A).
    observational_lambda : {"regression", "conditional"}
        How ``lambda_method="auto"`` estimates Λ(x) when T is observational and
        ℓ_θθ depends on θ: by the three-way Hessian regression, or by integrating
        the expected Hessian at θ̂(x) over an estimated law of T given X.
    conditional_law : {"location_scale", "neighbours"}
        The law of T given X that ``lambda_method="conditional"`` integrates over: a
        location-scale model of a few treatment columns, or the whole T rows of the
        nearest training rows in X (a choice family's table of attributes).
    secant_lambda : bool
        Whether the regime-C Hessian regression uses :meth:`secant_hessian` at the
        auxiliary fit instead of the expected Hessian there.
    information_to_main_fit : bool
        Whether the regime-C Hessian regression moves the expected Hessian at the
        auxiliary fit to the main fit's error (:func:`~sklearn_dml._lambda.lambda_hessians`),
        for families without a secant whose Hessian depends on y; their
        :meth:`hessian_under` then gives E[ℓ_θθ] under another law.
    secant_to_main_fit : bool
        With ``secant_lambda`` (or ``observed_lambda``): whether that secant (or the
        observed curvature) is moved from the auxiliary fit's error to the main fit's
        (:func:`~sklearn_dml._lambda.lambda_hessians`,
        :func:`~sklearn_dml._lambda.lambda_index_weights`).
    targeted : bool
        Whether the debiased average of θ comes from a targeting step (θ̂ moved along
        Λ̂⁻¹ to the minimum of the loss, :mod:`~sklearn_dml._targeting`) rather than
        the one-step correction; both have the same influence function. For convex
        losses whose curvature can grow without bound (the Poisson's exponential link,
        the gumbel's y = 0 rows).
    single_index : bool
        Whether ℓ depends on θ only through the index η = (1, t)'θ
        (:class:`~sklearn_dml.families.IndexFamily`): targets and Λ(x) then use the
        scalar derivatives in η.

    Examples
    --------
    >>> from sklearn_dml.families import Family, LogitFamily
    >>> family = LogitFamily()
    >>> isinstance(family, Family)
    True
    >>> family.theta_names(["price", "ad"]), family.theta_dim(2)
    (['alpha', 'beta[price]', 'beta[ad]'], 3)
    """

    name = "custom"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    observational_lambda = "regression"
    conditional_law = "location_scale"
    single_index = False
    secant_lambda = False
    information_to_main_fit = False
    secant_to_main_fit = True
    targeted = False
    #: θ components besides scale, shape and dispersion ones whose averages keep a
    #: second-order bias in the fitted mean's error (benchmarks/coverage_components.py).
    second_order_components: tuple[str, ...] = ()
    #: Whether each treatment column must vary: overall (a constant column is an error)
    #: and given x (where it does not, θ(x) is not identified). False for packed layouts,
    #: e.g. a choice model's attributes, which vary across alternatives.
    requires_varying_treatments = True

    # -- what a family must define -------------------------------------------------
    def theta_names(self, treatment_names):
        """Names of the components of θ for the given treatment names."""
        raise NotImplementedError

    def loss(self, y, t, theta):
        """Per-row loss on torch tensors: y (n,), t (n, p), theta (n, d) -> (n,)."""
        raise NotImplementedError

    # -- optional, with sensible defaults ----------------------------------------
    def mean(self, t, theta):
        """E[Y | x, t] as a torch function of t (n, p) and theta (n, d) -> (n,)."""
        raise NotImplementedError(f"The {self.name!r} family defines no mean function.")

    def check_y(self, y):
        """Validate the outcome's support; return it as float64."""
        return np.asarray(y, dtype=float)

    def check_t(self, t):
        """Validate the treatment; return it as float64 of shape (n, p)."""
        return np.asarray(t, dtype=float)

    def theta_dim(self, n_treatments):
        """Length of θ for ``n_treatments`` treatments."""
        return len(self.theta_names([f"T{j}" for j in range(n_treatments)]))

    def default_targets(self, n_treatments):
        """Targets reported when the user names none."""
        from ..targets import AverageParameter

        return [AverageParameter(j) for j in range(self.theta_dim(n_treatments))]

    def check_data(self, t, y, treatment_names):
        """Checks that need T and Y together (e.g. separation); raise ValueError."""

    def constant_outcome_unbounded(self, values):
        """Per value of Y, whether the likelihood of rows that all take it has no finite
        maximum in θ (a binary outcome that is never 1, counts that are all 0, outcomes
        all censored): where a group of rows has only that value, its θ(x) runs to infinity
        and the data there do not identify it. None by default."""
        return np.zeros(np.shape(values), dtype=bool)

    def fit_warnings(self, y, t, theta):
        """Messages on the fitted θ̂ (user units) that the estimator raises as warnings
        (e.g. signs of separation, a parameter at its boundary); none by default."""
        return []

    def initial_bias(self, y, t):
        """A starting value for θ (the output bias of the network), or None."""
        return None

    def internal_units(self, t, y, x=None):
        """How training and Λ̂ see T and Y, and how θ maps back (:class:`Units`).

        The default leaves both as given. Families whose loss allows it standardize T
        (and Y), so that estimates do not depend on the units the data come in. ``x`` is
        the standardized covariates, for a family whose outcome scale is read from a
        pilot fit (the Poisson's dispersion).
        """
        from .._units import Units

        return Units.identity(t.shape[1], self.theta_dim(t.shape[1]))

    def in_units(self, units):
        """The family as it applies to data in the internal units of ``units``.

        Itself, unless its definition names values of Y (the tobit's censoring points).
        """
        return self

    def expected_hessian(self, t, theta):
        """E[ℓ_θθ(Y, t, θ) | x, t] under the model (the Fisher information), or None.

        Families whose Hessian depends on y define it (y-free and positive
        semi-definite per row). Λ(x) is then built from it instead of the noisy
        per-row Hessians, and a randomized treatment's law can be integrated
        over (regime A). The default gives None: not available.
        """
        return None

    def secant_hessian(self, y, t, theta):
        """Per-row matrices whose mean given (x, t) is the secant slope of E[ℓ_θ | x, t]
        between the true θ and ``theta``, to second order; families with
        ``secant_lambda`` define it.

        In regime C, Λ̂ at the auxiliary fit θ̃ = θ + Δ misses the slope that makes the
        one-step correction exact by half the change of ℓ_θθ along Δ; the observed y,
        whose law follows the true θ, removes that half on average (a function linear in
        y, so no θ is needed).
        """
        raise NotImplementedError(f"The {self.name!r} family defines no secant Hessian.")

    def hessian_under(self, t, theta, law_theta):
        """E[ℓ_θθ(Y, t, θ)] per row with Y following the model at ``law_theta``, or None.

        The secant Hessians of regime C use it to move the secant from the auxiliary
        fit's error to the main fit's. Where ℓ_θθ is free of y it is
        :meth:`expected_hessian` at ``theta``; families whose Hessian depends on y and
        that have ``secant_lambda`` or ``information_to_main_fit`` override it, and must
        then define :meth:`expected_hessian`, which it equals at ``law_theta = theta``.
        """
        if not self.hessian_depends_on_y and self.has_expected_hessian:
            return self.expected_hessian(t, theta)
        return None

    @property
    def has_expected_hessian(self):
        """Whether :meth:`expected_hessian` is defined."""
        return type(self).expected_hessian is not Family.expected_hessian

    def sf(self, c, t, theta):
        """P(Y > c | x, t) as a torch function of t (n, p) and theta (n, d) -> (n,)."""
        raise NotImplementedError(
            f"The {self.name!r} family supplies no distribution function, so P(Y > c) is not "
            "available. Families with one: logit, probit, gumbel, poisson, negbin, zip, weibull, "
            "tobit, heteroskedastic.")

    def variance(self, t, theta):
        """Var(Y | x, t) as a torch function of t (n, p) and theta (n, d) -> (n,)."""
        raise NotImplementedError(
            f"The {self.name!r} family defines no conditional variance (its loss does not "
            "specify one).")

    def gradient(self, y, t, theta):
        """ℓ_θ per row, float64 array of shape (n, d)."""
        return loss_gradient(self.loss, y, t, theta)

    def hessian(self, y, t, theta):
        """ℓ_θθ per row, float64 array of shape (n, d, d)."""
        return loss_hessian(self.loss, y, t, theta)

    def loss_numpy(self, y, t, theta):
        """The per-row loss in float64 numpy (n,)."""
        with torch.no_grad():
            out = self.loss(torch.as_tensor(y, dtype=torch.float64),
                            torch.as_tensor(t, dtype=torch.float64),
                            torch.as_tensor(theta, dtype=torch.float64))
        return out.double().numpy()

    def mean_numpy(self, t, theta):
        """E[Y | x, t] in float64 numpy (n,)."""
        with torch.no_grad():
            out = self.mean(torch.as_tensor(t, dtype=torch.float64),
                            torch.as_tensor(theta, dtype=torch.float64))
        return out.numpy()

    def __repr__(self):
        return f"{type(self).__name__}()"


class CustomFamily(Family):
    """A family from a user-written torch loss; derivatives by autodiff.

    Parameters
    ----------
    loss : callable
        ``loss(y, t, theta)`` on torch tensors (n,), (n, p), (n, d) returning (n,).
    theta_names : list of str
        Names of the components of θ.
    mean : callable, optional
        ``mean(t, theta)`` giving E[Y | x, t]; needed for outcome-scale targets.
    hessian_depends_on_theta, hessian_depends_on_y : bool, default=True
        Facts about ℓ_θθ that select the Λ regime. Leave True if unsure.
    expected_hessian : callable, optional
        ``expected_hessian(t, theta)`` on float64 numpy arrays (n, p), (n, d)
        returning E[ℓ_θθ | x, t] of shape (n, d, d) (the Fisher information of a
        likelihood). When given, Λ(x) is built from it; it must be exact under
        the model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import StructuralDML
    >>> from sklearn_dml.families import CustomFamily
    >>> def squared_loss(y, t, theta):
    ...     return (y - theta[:, 0] - theta[:, 1] * t[:, 0]) ** 2
    >>> family = CustomFamily(squared_loss, ["alpha", "beta"])
    >>> y, t, theta = np.array([2.0]), np.array([[1.0]]), np.array([[0.1, 0.3]])
    >>> family.gradient(y, t, theta)  # by autodiff: -2 (y - α - βt) (1, t)
    array([[-3.2, -3.2]])
    >>> est = StructuralDML(family=family, target="beta")  # then est.fit(X, T, Y)
    """

    def __init__(self, loss, theta_names, mean=None, *, hessian_depends_on_theta=True,
                 hessian_depends_on_y=True, expected_hessian=None):
        self._loss = loss
        self._theta_names = list(theta_names)
        self._mean = mean
        self._expected_hessian = expected_hessian
        self.hessian_depends_on_theta = hessian_depends_on_theta
        self.hessian_depends_on_y = hessian_depends_on_y

    @property
    def has_expected_hessian(self):
        return self._expected_hessian is not None

    def expected_hessian(self, t, theta):
        if self._expected_hessian is None:
            return None
        return np.asarray(self._expected_hessian(t, theta), dtype=float)

    def theta_names(self, treatment_names):
        return list(self._theta_names)

    def loss(self, y, t, theta):
        return self._loss(y, t, theta)

    def mean(self, t, theta):
        if self._mean is None:
            return super().mean(t, theta)
        return self._mean(t, theta)
