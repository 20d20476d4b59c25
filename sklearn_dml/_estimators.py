"""Public estimators: thin classes that name a family; all work is in the shared base."""

from __future__ import annotations

import re

from ._base import _BaseStructuralDML
from ._sklearn_compat import HasMethods

_SHARED_PARAMS = """
    homogeneous : None, str or list of str or int, default=None
        Components of θ that do not vary with x: names from ``theta_names_``, blocks
        of them (``"alpha"`` for every ``alpha[...]``), positions, or "all". The
        network's output for them is a constant per fold, started at
        the constant-θ maximum-likelihood fit, and their debiasing correction pools the
        curvature left after partialling out the varying components (the efficient
        score; Robinson's partially linear estimator for ``homogeneous=["beta"]`` in
        the linear model). "all" is the parametric model: θ̂ is the MLE of each fold
        and the standard errors are the sandwich ones. X enters only through θ(x), so
        "all" is the model of Y given T alone (for the logit, statsmodels'
        ``Logit(Y, add_constant(T))``), not a regression that controls for X. Holding a
        component fixed that truly varies makes its estimate the best constant
        approximation, not E[θ(X)].
        ``homogeneous_`` lists them after fit. Where no column of X varies, θ cannot
        vary either and every component is held constant, as with "all".
    x_scaling : {"auto", "standard", "quantile"}, default="auto"
        How the θ-networks see X; the Λ regressions keep each column standardized in
        your units, where a linear trend of T in a covariate stays linear. "standard":
        each column centred and divided by its SD. "quantile": each column with more than
        two values replaced by its normal scores Φ⁻¹(mid-rank / n) first, then
        standardized. The map
        is monotone, so θ(x) is the same function of the data; what changes is where the
        rows lie: a skewed or heavy-tailed column (income, wealth, firm size) standardized
        by its SD puts most rows in a sliver of the input and a few rows tens of SDs
        away, where θ̂(x) extrapolates and, under an exponential link, the debiasing
        correction can be far off. "auto" uses normal scores only for the columns of 20
        or more distinct values with a long tail: the 99th (or 1st) percentile more than
        10 times as far from the median as the upper (lower) quartile, where a normal
        column has 3.45 and a log-normal one 7.5 (log-SD 0.8), 12 (log-SD 1.2) or 36
        (log-SD 2), or a point mass of half the rows with a tail beside it; the SD for
        the rest. ``x_scaling_`` lists each column's choice after fit.
    hidden_dims : tuple of int, default=(64, 32)
        Hidden layer sizes of the θ-network.
    dropout : float, default=0.0
        Dropout rate after each hidden layer during training.
    solver : {"adam", "lbfgs"}, default="adam"
        Optimizer of the θ-networks. "adam": mini-batch Adam. "lbfgs": full-batch
        L-BFGS with a backtracking line search, each fold's network on its own; one
        iteration counts as an epoch for ``max_epochs`` and early stopping, a network
        also stops once an iteration no longer lowers its loss at float32 resolution,
        and ``lr`` and ``batch_size`` are unused. Use it to train to convergence (e.g.
        ``cv=1, early_stopping=False, weight_decay=0`` for a constant or parametric
        model, where it is much faster than full-batch Adam and closer to the optimum).
        With early stopping it is no faster than Adam on a CPU; every iteration
        evaluates all training rows, so memory grows with n. No dropout. The user guide
        gives the measurements.
    lr : float, default=0.01
        Adam learning rate.
    weight_decay : float or "auto", default="auto"
        L2 penalty on the weights, relative to the mean loss (Adam's weight decay; for
        "lbfgs", ``weight_decay / 2`` times their squared norm is added to the loss, the
        same objective). "auto" is ``1e-2`` up to 2,000 rows and ``1e-2 · 2000 / n``
        beyond (``weight_decay_`` after fit): a penalty that does not fall with n keeps
        θ̂(x) at a fixed smoothing bias while the standard error shrinks, and the
        debiased estimate then has variance its standard error does not see. A
        penalty (rather than none) lowers the error of θ̂(x) at small n and tames
        extrapolation at extreme covariates, which otherwise produces rare huge
        debiasing corrections under exponential links. Use 0 when θ cannot vary with x
        (a constant covariate), so that θ̂ is the maximum-likelihood estimate.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" uses about an eighth of the training rows, in [64, 1024],
        and beyond 102,400 training rows a hundredth of them, up to 8192.
    max_epochs : int, default=200
        Maximum passes over the training rows.
    early_stopping : bool, default=True
        Stop each fold's network when its validation loss stops improving, and
        restore its best weights.
    validation_fraction : float, default=0.1
        Share of each fold's training rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    cv : int, cross-validation splitter or iterable, default=5
        Cross-fitting folds. An int gives ``KFold(cv, shuffle=True)`` (``GroupKFold``
        when ``groups`` is passed; a splitter must then keep each group in one fold); 1
        disables cross-fitting (tuning only). The test folds of a splitter must partition
        the rows; one that does not shuffle (``KFold(5)``) takes the rows in the order
        given, and where a held-out fold then differs from its training rows the fit
        warns.
    n_rep : int, default=1
        Repetitions of cross-fitting with new splits; estimates are aggregated by
        the median with the variance adjustment of Chernozhukov et al. (2018).
    n_networks : int, default=1
        θ-networks trained per fold (different initializations and validation
        splits, trained together in the batched ensemble); θ̂ on the fold's held-out
        rows is their average. Averaging lowers the variance of θ̂ (and the weight of
        rare extreme rows), at ``n_networks`` times the training cost; it does not
        remove the smoothing bias of θ̂, nor the second-order bias that bias leaves.
    lambda_method : {"auto", "analytic", "randomized", "conditional", "regression"}, \
default="auto"
        How Λ(x) = E[ℓ_θθ | X = x] is estimated. "auto" picks "randomized" when
        ``treatment_law`` is given, "analytic" when ℓ_θθ is free of θ and y,
        "conditional" for a single two-valued T from 1000 rows on (its law given X is
        Bernoulli), and
        otherwise the family's ``observational_lambda``: "regression" (three-way
        splitting, Hessians at cross-fitted auxiliary fits regressed on X) or "conditional" (the
        expected Hessian at θ̂(x) integrated over an estimated law of T given X; for a
        choice family, the attribute tables of the max(16, √n) nearest training rows in
        X).
    lambda_model : sklearn regressor, "network" or None, default=None
        Model for the regressions of Hessian entries on X; None uses a
        ``HistGradientBoostingRegressor`` (a random forest for whole Hessian matrices;
        for the mean of a continuous T where the Hessian is free of θ, as in the linear
        model, least squares plus boosting on its residuals; for a single-index family's
        moments in regime C, least squares on the two-valued columns plus boosting, so
        that effects spread over many dummies are not shrunk; the matrix forest fits the
        shifts of five or more dummies by least squares first). Gradient boosting is
        fitted on X's bin codes, computed once per fit rather than at every regression.
        "network" fits them as small networks like the θ-networks, all of a fold group's
        at once, on ``device`` (single-index families and the conditional law of T; see
        the user guide's "Λ regressions as networks" for what it costs and gains).
    treatment_law : None, "empirical", array-like or (values, probabilities), default=None
        Declares T randomized (independent of X) with this law; Λ is then
        integrated over it exactly. "empirical" uses the training rows' T. A given law
        must give positive probability to every observed value of T (an error names
        those it misses), and a law far from the sample's mean or SD warns.
    lambda_floor : float, default=1e-2
        Eigenvalue floor for Λ̂(x_i) before inversion, applied to Λ̂(x_i) whitened by the
        average Λ̄ (Λ̄^-½ Λ̂(x_i) Λ̄^-½), relative to the larger of the row's own largest
        eigenvalue and the median over rows of that eigenvalue: a row is regularized
        where its curvature in some direction is below ``lambda_floor`` times the
        typical curvature in that direction. Free of the units of T, Y and θ; never
        binds when θ cannot vary with x. Rows raised are reported, with a warning above 5%.
    cluster_se : bool, default=True
        With ``groups`` passed to ``fit``: standard errors robust to correlation within
        groups (ψ summed within each group, small-sample factor G/(G − 1)). The folds
        always keep each group whole. False gives standard errors for independent rows.
    device : {"cpu", "cuda", "cuda:N", "auto"}, default="cpu"
        Where the θ-networks train; "auto" uses CUDA when torch sees a GPU.
    n_jobs : int, default=None
        Parallel fold groups through joblib (``-1``: all cores). Results do not
        depend on it.
    torch_num_threads : int or "auto", default="auto"
        Torch and OpenMP/BLAS threads per fold task. "auto" trains on 1 thread (fastest
        for small networks) and, on 20,000 rows or more, shares the cores among the Λ
        nuisance regressions of the folds, which run side by side: in threads, and from
        400,000 rows in worker processes (``with joblib.parallel_config(backend=
        "threading"):`` keeps them in threads).
    random_state : int, RandomState instance or None, default=None
        The root of every random draw of the fit (splits, initializations, mini-batches,
        the Λ stage): each fold and purpose has its own seed below it, the same whichever
        worker runs it. The Λ regressor's ``random_state`` parameters, its own and its
        sub-estimators', are set from it fold by fold, so a ``lambda_model`` left at
        ``random_state=None`` still gives reproducible fits. An int gives the same fit
        every time; a RandomState instance or None (numpy's global one) gives one draw
        at each fit.
    verbose : int, default=0
        Progress messages on stderr: 1 reports each stage (fold-group training with
        best epochs, Λ, inference) with timings, and, where tqdm is installed, shows a
        progress bar over the training epochs (over the fold groups when ``n_jobs``
        runs them in workers) once a stage takes more than two seconds; 2 adds the
        validation loss every 10 epochs and joblib's task messages.
"""

def _replace_param(block, name, text):
    """Swap one parameter's entry in the shared numpydoc block."""
    pattern = rf"    {name} : .*?\n(?=    \w+ : )"
    new, n = re.subn(pattern, text, block, count=1, flags=re.S)
    if n != 1:
        raise ValueError(f"no entry {name!r} in the parameter block")
    return new


# the choice models keep a fixed penalty: their coverage studies were run with it
_CHOICE_PARAMS = _replace_param(_SHARED_PARAMS, "weight_decay", """\
    weight_decay : float or "auto", default=1e-2
        L2 penalty on the weights, relative to the mean loss (Adam's weight decay; for
        "lbfgs", ``weight_decay / 2`` times their squared norm is added to the loss).
        "auto" is ``1e-2`` up to 2,000 choice situations and ``1e-2 · 2000 / n`` beyond,
        as for the other estimators; the default stays fixed here because the choice
        models' coverage studies were run with it. Use 0 when θ cannot vary with w, so
        that θ̂ is the maximum-likelihood estimate.
""")


_ATTRIBUTES = """
    Attributes
    ----------
    inference_ : InferenceResults
        Debiased estimates of the targets with their joint covariance.
    theta_ : ndarray of shape (n_samples, n_theta)
        Cross-fitted θ̂(x_i): each row from networks that did not see it.
    lambda_ : ndarray of shape (n_samples, n_theta, n_theta)
        Regularized Λ̂(x_i) (first repetition).
    lambda_condition_ : ndarray of shape (n_samples,)
        Condition number of each row's regularized Λ̂ (first repetition).
    lambda_condition_raw_ : ndarray of shape (n_samples,)
        Condition number of each row's Jacobi-scaled Λ̂ before regularization.
    lambda_regularized_ : ndarray of shape (n_samples,), dtype bool
        Rows whose Λ̂ was floored (limited overlap or an indefinite estimate), or that sit
        in a cell of 10 or more rows with identical covariates in which a treatment never
        varies (where chance would rarely give that), or in a group of rows whose outcome
        never leaves a value where the likelihood has no maximum (a level with no event),
        first repetition.
    lambda_report_ : dict
        Conditioning of the unregularized, Jacobi-scaled Λ̂(x_i) (first repetition):
        condition-number quantiles, largest condition number, smallest eigenvalue and
        the share of rows flagged in ``lambda_regularized_``.
    lambda_method_ : str
        The Λ regime used.
    row_dependence_ : dict or None
        Whether neighbouring rows, in the order passed to ``fit``, look dependent:
        ``correlation`` (lag-1, of the whitened score contributions) and ``z`` (standard
        normal for independent rows; above 3.5 the fit warns). None where ``groups`` were
        given or θ is constant in x.
    theta_names_ : list of str
        Names of the components of θ.
    homogeneous_ : list of str
        The components of θ held constant in x (``homogeneous``; every one where X
        does not vary).
    treatment_names_ : list of str
    outcome_name_ : str
    targets_ : list of Target
    models_ : list
        Stacked weights of the fold networks, one entry per repetition.
    folds_ : list
        Held-out rows of each fold, per repetition.
    history_ : list
        Validation-loss curves per fold.
    n_folds_ : int
    x_scaling_ : list of str
        Per column of X, "quantile" (the networks see its normal scores) or "standard"
        (``x_scaling`` resolved).
    weight_decay_ : float
        The L2 penalty the θ-networks were trained with (``weight_decay="auto"``
        resolved for the number of rows).
    device_ : str
        Where the θ-networks were trained ("cpu" or "cuda"; ``device="auto"`` resolved).
        The fitted weights are stored as CPU arrays, so a pickle loads anywhere.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.
"""


class StructuralDMLRegressor(_BaseStructuralDML):
    __doc__ = f"""Linear structural model Y = α(x) + β(x)'T + ε with debiased averages.

    θ(x) = (α(x), β(x)) is a neural network trained by squared loss with
    cross-fitting; E[α(X)] and E[β(X)] (or any other target) are debiased with
    the influence function of Farrell, Liang & Misra (2021). Λ(x) = 2 E[(1,T)(1,T)' | X]
    comes from sklearn regressions of T and T² on X.

    Parameters
    ----------
    target : None, str, int, Target or list of these, default=None
        What to estimate. None gives E[α(X)] and E[β(X)]. Strings name θ
        components (``"beta"``) or shortcuts (``"ame"``, ``"ate"``).
{_SHARED_PARAMS}
{_ATTRIBUTES}
    See Also
    --------
    LogitDML : binary outcomes.
    StructuralDML : any family, or a custom torch loss.

    References
    ----------
    Farrell, Liang and Misra (2021), "Deep Neural Networks for Estimation and
    Inference", Econometrica 89(1). Farrell, Liang and Misra (2025), "Deep
    Learning for Individual Heterogeneity".

    Examples
    --------
    >>> from sklearn_dml import StructuralDMLRegressor
    >>> from sklearn_dml.datasets import make_linear_confounded
    >>> data = make_linear_confounded(n_samples=500, random_state=0)
    >>> est = StructuralDMLRegressor(max_epochs=20, random_state=0)
    >>> est = est.fit(data.X, data.T, data.Y)
    >>> est.inference_.names
    ['E[alpha]', 'E[beta]']
    """

    _family = "linear"


class LogitDML(_BaseStructuralDML):
    __doc__ = f"""Logit model P(Y=1 | x, t) = σ(α(x) + β(x)'t) with debiased averages.

    Default targets: E[β(X)] and the average marginal effect of T on P(Y=1),
    evaluated at each row's observed T. Λ(x) depends on θ: with a randomized
    treatment pass ``treatment_law`` (two-way splitting); otherwise an auxiliary
    network and a Hessian regression give Λ̂(x) (three-way splitting).

    Parameters
    ----------
    target : None, str, int, Target or list of these, default=None
        What to estimate. None gives E[β(X)] and the AME at observed T; use
        ``AverageMarginalEffect(at=t)`` for the AME at a fixed t̃.
{_SHARED_PARAMS}
{_ATTRIBUTES}
    See Also
    --------
    StructuralDMLRegressor : continuous outcomes.

    Examples
    --------
    >>> from sklearn_dml import LogitDML
    >>> from sklearn_dml.datasets import make_logit
    >>> data = make_logit(n_samples=500, random_state=0)
    >>> est = LogitDML(max_epochs=20, random_state=0).fit(data.X, data.T, data.Y)
    >>> est.inference_.names
    ['E[beta]', 'AME[T]']
    """

    _family = "logit"


class StructuralDML(_BaseStructuralDML):
    __doc__ = f"""Structural DML for any family, including a custom torch loss.

    Parameters
    ----------
    family : str or Family, default="linear"
        A registry name (``"linear"``, ``"logit"``) or a :class:`~sklearn_dml.families.Family`,
        e.g. ``CustomFamily(loss, theta_names)`` whose derivatives come from autodiff.
    target : None, str, int, Target or list of these, default=None
        What to estimate; None gives the family's default targets.
{_SHARED_PARAMS}
{_ATTRIBUTES}
    Examples
    --------
    >>> from sklearn_dml import StructuralDML
    >>> est = StructuralDML(family="logit", target="beta")
    """

    def __init__(
        self,
        family="linear",
        *,
        target=None,
        homogeneous=None,
        x_scaling="auto",
        hidden_dims=(64, 32),
        dropout=0.0,
        solver="adam",
        lr=0.01,
        weight_decay="auto",
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        cv=5,
        n_rep=1,
        n_networks=1,
        lambda_method="auto",
        lambda_model=None,
        treatment_law=None,
        lambda_floor=1e-2,
        cluster_se=True,
        device="cpu",
        n_jobs=None,
        torch_num_threads="auto",
        random_state=None,
        verbose=0,
    ):
        self.family = family
        super().__init__(
            target=target, homogeneous=homogeneous, x_scaling=x_scaling, hidden_dims=hidden_dims,
            dropout=dropout, solver=solver, lr=lr,
            weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, cv=cv, n_rep=n_rep, n_networks=n_networks,
            lambda_method=lambda_method,
            lambda_model=lambda_model, treatment_law=treatment_law, lambda_floor=lambda_floor,
            cluster_se=cluster_se,
            device=device, n_jobs=n_jobs, torch_num_threads=torch_num_threads,
            random_state=random_state, verbose=verbose)

    _parameter_constraints = {**_BaseStructuralDML._parameter_constraints,
                              "family": [str, HasMethods(["loss", "theta_dim"])]}
