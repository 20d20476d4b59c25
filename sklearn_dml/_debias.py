"""From cross-fitted θ̂ and Λ̂ to debiased targets: the per-row cache and ψ.

:func:`cache_repetition` turns one repetition's :class:`~sklearn_dml._crossfit.CrossfitResult`
into what any target needs (θ̂_i, the regularized Λ̂_i and Λ̂_i⁻¹ℓ_θ,i, in the user's units);
:func:`debias` stacks the targets' influence functions over the repetitions into an
:class:`~sklearn_dml._inference.InferenceResults`, with its diagnostics and the messages
the estimator warns with.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._cells import MIN_CELL_ROWS, flat_cells
from ._homogeneous import HomogeneousBlock, solve_constant
from ._inference import (
    InferenceResults,
    Influence,
    influence,
    influence_max_share,
    leave_one_out_shift,
)
from ._linalg import regularize_jacobi, regularize_whitened
from ._targeting import TargetingResult, target_theta
from .targets import AverageParameter
from .targets._population import population_facts, population_ratio, unwrap

# warn when Λ̂ is floored on more than this share of rows, or the average Λ̂ (scaled to unit
# diagonal) has a condition number above this: a direction the data barely identify
REGULARIZED_WARN_SHARE = 0.05
# above this share the warning says the interval is unreliable too; above UNIDENTIFIED_SHARE
# of rows singular at IDENTIFIED_FLOOR (or at the Λ stage's overlap floor) a fit refuses:
# the average would extrapolate θ(x) to most rows (benchmarks/coverage_overlap.py,
# coverage_semisynthetic.py)
REGULARIZED_UNRELIABLE_SHARE = 0.15
# rows in cells without treatment variation are not identified at all, and their smoothed
# Λ̂ leaves the extrapolation out of the standard error: unreliable from a lower share
# (benchmarks/coverage_semisynthetic.py)
FLAT_UNRELIABLE_SHARE = 0.05
UNIDENTIFIED_SHARE = 0.5
IDENTIFIED_FLOOR = 1e-2
# below this many rows Λ̂'s regressions see too few rows per fold for the share to be evidence:
# the fit warns instead
UNIDENTIFIED_MIN_ROWS = 100
POOLED_CONDITION_WARN = 1e10
# warn when dropping one row moves an estimate by more than this many standard errors
INFLUENCE_SHIFT_WARN = 0.5
# warn when the targeting step lands more than this many standard errors from the one-step
# estimate (well-posed designs: at most 1.2 over 60 fits of four Poisson and gumbel designs)
TARGETING_GAP_WARN = 2.0


@dataclass(frozen=True)
class FitRows:
    """The training rows an estimator keeps after fit, for inference and post-fit methods."""

    X: np.ndarray  # (n, k) standardized covariates, as the Λ regressions see them
    T: np.ndarray  # (n, p) treatments, user units
    Y: np.ndarray  # (n,) outcomes, user units
    weights: np.ndarray  # (n,) sample weights
    X_user: np.ndarray  # (n, k) covariates in the user's units
    X_network: np.ndarray  # (n, k) as the networks see them (x_scaling_)

    def covariates(self):
        """X in the user's units."""
        return self.X_user


@dataclass
class RepetitionCache:
    """Per-row results of one cross-fitting repetition, in the user's units."""

    theta: np.ndarray  # (n, d) cross-fitted θ̂
    fold_id: np.ndarray  # (n,)
    lam: np.ndarray  # (n, d, d) regularized Λ̂
    correction: np.ndarray  # (n, d) Λ̂⁻¹ ℓ_θ
    raised: np.ndarray  # (n,) bool: a floor binds (eigenvalue or Λ-stage floor)
    unidentified: np.ndarray  # (n,) bool: Λ̂ singular at IDENTIFIED_FLOOR or the Λ-stage floor
    raw_min_eig: np.ndarray  # (n,) smallest whitened eigenvalue before the floor
    condition: np.ndarray  # (n,) condition number after the floor
    raw_condition: np.ndarray  # (n,) condition number before the floor (inf if singular)
    pooled_condition: float  # of the Jacobi-scaled average Λ̂
    best_epoch: np.ndarray  # (K,)
    in_flat_cell: np.ndarray  # (n,) bool: in a covariate cell whose own Λ is singular
    in_constant_outcome: np.ndarray  # (n,) bool: in a group whose Y never leaves a bound
    homogeneous: HomogeneousBlock | None = None  # components of θ constant in x
    targeting: TargetingResult | None = None  # the targeting step, where the family takes one
    fitted_theta: np.ndarray | None = None  # (n, d) the networks' θ̂ where targeting moved it
    one_step: np.ndarray | None = None  # (n, d) θ̂ − Λ̂⁻¹ℓ_θ(θ̂) at the networks' θ̂, with targeting

    @property
    def network_theta(self):
        """The cross-fitted θ̂ of the networks (before any targeting step)."""
        return self.theta if self.fitted_theta is None else self.fitted_theta


def cache_repetition(result, family, T, Y, units, weights, floor, jacobi=False,
                     homogeneous=(), cells=None, constant_outcome=None):
    """Regularize and invert one repetition's Λ̂ and map the cache to the user's units.

    Parameters
    ----------
    result : CrossfitResult
        θ̂ and Λ̂ in the internal units of ``units``, as ``T`` and ``Y``.
    family : Family
    T, Y : ndarray
    units : internal units (:meth:`Family.internal_units`)
    weights : ndarray (n,)
    floor : float
        ``lambda_floor``.
    jacobi : bool, default=False
        Floor each row's Jacobi-scaled Λ̂ (:func:`~sklearn_dml._linalg.regularize_jacobi`)
        rather than Λ̂ whitened by its average
        (:func:`~sklearn_dml._linalg.regularize_whitened`).
    homogeneous : sequence of int, default=()
        Components of the user's θ that do not vary with x: their correction pools the
        curvature left after partialling out the others (:mod:`~sklearn_dml._homogeneous`).
    cells : ndarray (n,) of int or None
        Cells of rows with identical covariates (:func:`~sklearn_dml._cells.covariate_cells`):
        rows of a cell whose own Hessians are singular count as regularized and
        unidentified, whatever the smoothed Λ̂ says there.
    constant_outcome : ConstantOutcome or None
        Groups of rows whose outcome never leaves a value of unbounded likelihood
        (:func:`~sklearn_dml._constant_outcome.constant_outcome_groups`): their rows count
        as regularized, with a warning of their own.

    Returns
    -------
    RepetitionCache
    """
    reg = (regularize_jacobi(result.lam, floor) if jacobi
           else regularize_whitened(result.lam, floor, weights))
    lam = units.curvature(reg.matrices())
    # the user's components that vary with x, as directions of the internal θ
    varying = np.delete(np.linalg.inv(units.theta_matrix), list(homogeneous), axis=1)
    flat = (np.zeros(T.shape[0], dtype=bool) if cells is None else
            flat_cells(family, T, Y, result.theta, cells, result.lam, weights, IDENTIFIED_FLOOR,
                       directions=varying))
    dead = (np.zeros(T.shape[0], dtype=bool) if constant_outcome is None
            else constant_outcome.rows)
    theta, block, targeting, one_step = result.theta, None, None, None
    if len(homogeneous):
        theta, block = solve_constant(family, Y, T, theta, lam, units, weights, homogeneous)
        correction = block.correction(weights)
    else:
        if family.targeted:
            targeting = target_theta(family, Y, T, theta, reg.inverses(), weights)
            theta = targeting.theta
            if targeting.converged:  # the one-step estimate at θ̂, for targeting_gap
                one_step = (units.theta(result.theta)
                            - units.tangent(reg.solve(family.gradient(Y, T, result.theta))))
        correction = units.tangent(reg.solve(family.gradient(Y, T, theta)))
    return RepetitionCache(
        theta=units.theta(theta), fold_id=result.fold_id,
        lam=lam, correction=correction, homogeneous=block,
        raised=reg.raised | result.floored | flat | dead, in_flat_cell=flat,
        in_constant_outcome=dead,
        # the Jacobi floor marks where a link's parameters are not separately identified
        # (gen_sigmoid_ii at vanishing effects), which its targets need not be
        unidentified=(result.floored if jacobi
                      else reg.below(min(floor, IDENTIFIED_FLOOR)) | result.floored | flat),
        raw_min_eig=reg.raw_min, condition=reg.condition,
        raw_condition=reg.raw_condition, pooled_condition=reg.pooled_condition,
        best_epoch=result.best_epoch, targeting=targeting,
        fitted_theta=None if targeting is None else units.theta(result.theta),
        one_step=one_step)


def debias(family, targets, names, reps, T, weights, projectors, *, rows=slice(None),
           clusters=None, fit_facts=None):
    """Debiased estimates and joint covariance of ``targets`` over the repetitions.

    Parameters
    ----------
    family : Family
    targets : list of Target
    names : list of str
    reps : list of RepetitionCache
    T : ndarray (n, p)
        Treatments in the user's units.
    weights : ndarray (n,)
    projectors : list of callable
        Per repetition, ``project(target, J)`` giving E[H_θ | X]
        (:meth:`~sklearn_dml._lambda.LambdaStrategy.projector`).
    rows : slice or bool mask, default=slice(None)
        The rows averaged over (a subgroup).
    clusters : ndarray (n,) of int codes or None
        For a cluster-robust variance.
    fit_facts : dict
        Entries of the diagnostics that describe the fit (see :func:`diagnostics`).

    Returns
    -------
    InferenceResults
    """
    psis, folds, plugins = [], [], []
    w = weights[rows]
    for rep, project in zip(reps, projectors):
        adjust = (None if rep.homogeneous is None
                  else rep.homogeneous.adjuster(weights, rows))
        plugin, psi = influence(family, targets, rep.theta, T, rep.correction,
                                project=project, adjust=adjust)
        if rep.fitted_theta is not None:  # the plug-in the diagnostics report: the networks'
            plugin = np.column_stack([tg.value(family, rep.fitted_theta, T) for tg in targets])
        plugin, psi = population_ratio(targets, plugin, psi, T, weights, rows,
                                       min_rows=2 * (fit_facts or {}).get("n_folds", 1))
        psis.append(psi[rows])
        folds.append(rep.fold_id[rows])
        plugins.append(np.average(plugin[rows], axis=0, weights=w))
    if clusters is not None:
        clusters = np.unique(clusters[rows], return_inverse=True)[1].ravel()
    data = Influence(tuple(psis), tuple(folds), w, clusters)
    estimate, cov = data.moments()
    diag = diagnostics(reps, rows, np.median(plugins, axis=0), estimate, fit_facts or {},
                       data.n_clusters)
    diag.update(population_facts(targets, names, T, rows))
    psi = np.mean(psis, axis=0)
    diag["influence_max_share"] = [round(float(v), 4) for v in influence_max_share(psi, w)]
    shift, worst = leave_one_out_shift(psi, w, np.sqrt(np.diag(cov)))
    diag["influence_max_shift"] = [round(float(v), 4) for v in shift]
    diag["influence_max_row"] = [int(i) for i in np.arange(T.shape[0])[rows][worst]]
    gap = targeting_gap(reps, rows, w)
    if gap is not None:
        diag["targeting_gap"] = gap
    message = scale_average_warning(family, targets, names, fit_facts or {})
    if message:  # raised now, and kept for the summary as the fit's own warnings are
        warnings.warn(message, UserWarning, stacklevel=4)
        diag["warnings"] = (message,)
    return InferenceResults(names, estimate, cov, diagnostics=diag, influence=data)


def targeting_gap(reps, rows, w):
    """The largest difference, over θ's components, between the average of the targeted θ
    and the one-step estimate at the networks' θ̂, in standard errors of the latter; None
    without a converged targeting step.

    Both estimators share the influence function, so they differ by second-order terms
    only where the linearization holds; a gap of several standard errors means neither
    can be trusted (Λ̂ nearly singular on rows that the submodel then moves far).
    """
    gaps = []
    for rep in reps:
        if rep.one_step is None:
            continue
        one_step = rep.one_step[rows]
        targeted = (rep.theta - rep.correction)[rows]
        spread = np.sqrt(np.average((one_step - np.average(one_step, axis=0, weights=w)) ** 2,
                                    axis=0, weights=w) / one_step.shape[0])
        diff = np.average(targeted - one_step, axis=0, weights=w)
        gaps.append(np.abs(diff) / np.where(spread > 0, spread, np.inf))
    return round(float(np.max(np.mean(gaps, axis=0))), 3) if gaps else None


# components whose score is quadratic in the fitted mean's error: their averages keep a
# second-order bias the one-step correction does not remove
SCALE_COMPONENTS = ("log_sigma", "log_shape", "log_dispersion", "log_precision")


def scale_average_warning(family, targets, names, fit_facts):
    """A message where a target averages a scale, shape or dispersion component of a θ that
    varies with x, or one of the family's ``second_order_components``; None otherwise.

    That component's score is quadratic in the error δ of the fitted mean, so its one-step
    estimate keeps a bias of order E[δ²] (half of E[δ²/σ²] for log σ), which the interval
    does not describe; a component whose curvature is tied to it (the tobit's intercept
    through censoring) inherits it."""
    homogeneous = fit_facts.get("homogeneous", ())
    if len(homogeneous) == fit_facts.get("theta_dim", -1):
        return None  # the parametric MLE: bias O(1/n)
    biased = SCALE_COMPONENTS + tuple(getattr(family, "second_order_components", ()))
    bases = [unwrap(tg, name) for tg, name in zip(targets, names)]
    hit = [name for name, (tg, label) in zip(names, bases)
           if isinstance(tg, AverageParameter) and label[2:-1] in biased]
    if not hit:
        return None
    return (f"{', '.join(hit)} average a component whose estimate absorbs the squared error "
            "of the fitted mean (a scale, shape or dispersion component, or one tied to it, "
            "such as the tobit's intercept through censoring or the zero-inflated Poisson's "
            "intercept and inflation through the zeros): a bias the one-step correction does "
            "not remove and the interval does not show, so treat that interval as off-centre "
            "(E[beta] and the AME are not affected). In a parametric fit (homogeneous='all') "
            "the bias is of order 1/n. The documentation's coverage page measures it by family.")


def lambda_report(rep):
    """Conditioning of the unregularized, Jacobi-scaled Λ̂(x_i) of a repetition."""
    cond = rep.raw_condition
    q = np.quantile(np.where(np.isfinite(cond), cond, np.finfo(float).max), [0.5, 0.9, 0.99])
    return {"condition_median": float(q[0]), "condition_q90": float(q[1]),
            "condition_q99": float(q[2]), "condition_max": float(cond.max()),
            "min_eigenvalue": float(rep.raw_min_eig.min()),
            "share_near_singular": float(np.mean(rep.raised))}


def diagnostics(reps, rows, plugin, estimate, fit_facts, n_clusters):
    """The diagnostics of an inference: plug-in and correction, Λ̂'s conditioning, training.

    ``fit_facts`` holds ``n_folds``, ``lambda_method``, ``standard_errors`` (a callable of
    the number of clusters giving the variance's label), ``weight_decay`` (the resolved
    value), ``effective_n`` (None with equal weights) and, optionally, ``homogeneous``
    (the θ names held constant in x), ``theta_dim`` and ``row_dependence``
    (:func:`~sklearn_dml._sample_checks.row_dependence`, None with groups) and
    ``normal_scores`` (the covariates the networks see as normal scores).
    """
    diag = {
        "plugin_estimate": [round(float(v), 6) for v in plugin],
        "correction": [round(float(v), 6) for v in estimate - plugin],
        "n_obs": int(np.asarray(reps[0].fold_id[rows]).size),
        "n_folds": fit_facts["n_folds"],
        "n_rep": len(reps),
        "standard_errors": fit_facts["standard_errors"](n_clusters),
        "lambda_method": fit_facts["lambda_method"],
        "lambda_min_eig": float(min(r.raw_min_eig[rows].min() for r in reps)),
        "share_regularized": float(np.mean([np.mean(r.raised[rows]) for r in reps])),
        "share_unidentified": float(np.mean([np.mean(r.unidentified[rows]) for r in reps])),
        "share_flat_cells": float(np.mean([np.mean(r.in_flat_cell[rows]) for r in reps])),
        "share_constant_outcome": float(np.mean(reps[0].in_constant_outcome[rows])),
        "lambda_condition_median": float(np.median(
            np.concatenate([r.condition[rows] for r in reps]))),
        "pooled_condition": float(max(r.pooled_condition for r in reps)),
        "mean_best_epoch": float(np.mean([np.mean(r.best_epoch) for r in reps])),
        "weight_decay": fit_facts["weight_decay"],
    }
    if diag["share_constant_outcome"] > 0:  # the fit's largest such group, for the warning
        diag["constant_outcome"] = fit_facts["constant_outcome"].largest
    if fit_facts.get("normal_scores"):  # x_scaling: columns the networks see as normal scores
        diag["x_normal_scores"] = ", ".join(fit_facts["normal_scores"])
    if fit_facts.get("effective_n") is not None:
        diag["effective_n"] = round(float(fit_facts["effective_n"]), 1)
    if fit_facts.get("row_dependence") is not None:  # the order passed to fit, no groups
        dep = fit_facts["row_dependence"]
        if np.isnan(dep["z"]):
            diag["adjacent_rows"] = f"not checked (rows ordered by {dep['ordered_by']})"
        else:
            diag["adjacent_rows"] = (f"score correlation {dep['correlation']:.3f} "
                                     f"(z {dep['z']:.1f})" + (
                                         f", within runs of {dep['ordered_by']}"
                                         if dep.get("ordered_by") else ""))
    if fit_facts.get("fold_balance") is not None:  # folds against their training rows
        bal = fit_facts["fold_balance"]
        diag["fold_balance"] = f"largest difference {bal['z']:.1f} SE ({bal['column']})"
    steps = [r.targeting for r in reps if r.targeting is not None]
    if steps:
        failed = sum(not step.converged for step in steps)
        diag["debiasing"] = ("targeted (θ̂ moved along Λ̂⁻¹ to the loss minimum)" if not failed
                             else f"one-step in {failed} of {len(steps)} repetitions "
                                  "(the targeting step did not converge)")
    constant = fit_facts.get("homogeneous") or []
    if constant:
        diag["homogeneous"] = ", ".join(constant)
    if fit_facts["n_folds"] == 1:
        diag["cross_fitting"] = (
            "off (cv=1): the parametric MLE and its sandwich standard errors"
            if len(constant) == fit_facts.get("theta_dim") else
            "off (cv=1): standard errors ignore overfitting; tuning only")
    return diag


def regularization_warnings(diagnostics, lambda_floor, varying=True, untreated=None):
    """Messages for a Λ̂ floored on many rows (only where some component of θ varies: a
    parametric fit's correction does not use the rows' Λ̂), for a nearly singular average
    Λ̂, and for a targeting step that fell back to the one-step correction. ``untreated``
    names the binary treatment whose untreated rows hold most of the floored ones (see
    :func:`~sklearn_dml.targets._population.untreated_overlap`), or None."""
    messages = []
    # rows of constant outcome are regularized too, with a warning of their own
    share = diagnostics["share_regularized"] - diagnostics.get("share_constant_outcome", 0.0)
    if varying and share > REGULARIZED_WARN_SHARE:
        flat = diagnostics.get("share_flat_cells", 0.0)
        messages.append(
            f"Λ̂(x) was regularized on {share:.1%} of rows (its curvature there is below "
            f"lambda_floor={lambda_floor:g} times the typical one in some direction): "
            "limited overlap of T given X, or θ̂ at extremes (e.g. probabilities near 0 or "
            "1). Their corrections are shrunk"
            + (f". That share counts the {flat:.1%} of rows in cells of {MIN_CELL_ROWS} or "
               "more rows with identical covariates in which a treatment never varies "
               "(chance alone would rarely do that): θ(x) there is extrapolated from other "
               "cells whatever Λ̂(x) says. Together they" if flat > 0 else ", which")
            + " can bias the estimate"
            + (" and make its interval too narrow: at this share, treat the interval as "
               "unreliable (the coverage page's limited-overlap study)"
               if share > REGULARIZED_UNRELIABLE_SHARE or flat > FLAT_UNRELIABLE_SHARE
               else "")
            + ". Check overlap (est.lambda_regularized_ marks the rows) and average over "
            "the rest (est.inference(where=~est.lambda_regularized_))"
            + (", drop or coarsen the covariates that make the cells, or hold θ's "
               "treatment components constant (homogeneous=...)" if flat > share / 2 else
               ", add weight_decay, or lower lambda_floor")
            + (f". Most of these rows are untreated ({untreated} = 0) and unlike the "
               "treated: the effect on the treated, est.inference(..., "
               "population='treated'), does not need them" if untreated else "") + ".")
    condition = diagnostics.get("pooled_condition", 0.0)
    if condition > POOLED_CONDITION_WARN:
        messages.append(
            f"The average Λ̂ is nearly singular (condition number {condition:.2g} after "
            "scaling each θ component to unit curvature): some combination of θ is barely "
            "identified by the data (collinear treatments, an alternative almost never "
            "chosen, an effect with no variation). Its standard errors are large and "
            "may be unreliable.")
    if diagnostics.get("debiasing", "").startswith("one-step"):
        messages.append(
            f"The targeting step did not converge ({diagnostics['debiasing']}); those "
            "estimates use the one-step correction, which a row far out in T can "
            "dominate under an exponential link. Check influence_max_shift.")
    return messages


def check_identified(reps, varying=True, T=None, constant_outcome=None):
    """Refuse a fit whose Λ̂(x) is singular on most rows, where some component of θ varies.

    There θ(x) is not identified by the rows near x (T barely varies given X, or θ̂ puts
    probabilities at 0 or 1), and an average of θ̂ over all rows extrapolates from the few
    that identify it, with an interval that does not show it. Below
    ``UNIDENTIFIED_MIN_ROWS`` rows the share is noise and the regularization warning speaks.
    Where a value of ``T`` lies far out (:func:`_far_treatment`), the message names it, and
    the largest group of ``constant_outcome`` (a ``ConstantOutcome``) where there is one.
    """
    share = float(np.mean([np.mean(r.unidentified) for r in reps]))
    n_rows = reps[0].unidentified.shape[0]
    if varying and share > UNIDENTIFIED_SHARE and n_rows >= UNIDENTIFIED_MIN_ROWS:
        raise ValueError(
            f"Λ̂(x) is singular or nearly so on {share:.0%} of rows (its curvature in some "
            f"direction is below {IDENTIFIED_FLOOR:g} of the typical one, or T barely varies "
            "given X there): θ(x) is not identified on most rows, so averages over them would "
            "extrapolate and their intervals would not be valid. T is (nearly) determined by "
            "X, or the fitted probabilities sit at 0 or 1. Drop the covariates that determine "
            "T, restrict the sample to rows where T varies given X, or hold θ constant in x "
            "(homogeneous='all')." + _far_treatment(T) + (
                f" In the data, {constant_outcome.largest}, where the likelihood has no "
                "maximum: drop such rows before fitting."
                if constant_outcome is not None and constant_outcome.largest else ""))


def _far_treatment(T):
    """A sentence naming the treatment value farthest out where it lies more than 100
    robust SDs (interquartile range / 1.349) from the median, as a typo or a code would:
    T's spread then dwarfs its variation given X everywhere else. Empty otherwise."""
    if T is None:
        return ""
    T = np.asarray(T, dtype=float).reshape(len(T), -1)
    median = np.median(T, axis=0)
    scale = np.subtract(*np.percentile(T, [75, 25], axis=0)) / 1.349
    far = np.abs(T - median) / np.where(scale > 0, scale, np.inf)
    row, column = np.unravel_index(np.argmax(far), far.shape)
    if far[row, column] <= 100:
        return ""
    return (f" Row {row} (0-based) has T = {T[row, column]:g}, {far[row, column]:.0f} robust "
            "SDs from the median of T: if that is a typo or a missing-value code, fix or "
            "drop the row.")


def influence_warnings(inference):
    """Messages on an estimate the normal approximation does not describe: one row that
    moves it by more than ``INFLUENCE_SHIFT_WARN`` standard errors, and a targeting step
    that lands more than ``TARGETING_GAP_WARN`` of them from the one-step estimate."""
    messages = []
    shift = np.asarray(inference.diagnostics["influence_max_shift"])
    worst = int(np.argmax(shift))
    if shift[worst] > INFLUENCE_SHIFT_WARN:
        row = inference.diagnostics["influence_max_row"][worst]
        messages.append(
            f"Dropping one row would move {inference.names[worst]!r} by {shift[worst]:.2f} "
            f"standard errors (row {row}, 0-based in the order passed to fit): a single row "
            "dominates the debiasing correction (an extreme residual, a treatment far out in "
            "its tail, a near-singular Λ̂(x), or θ̂ extrapolated at extreme covariates under "
            "an exponential link), which makes the normal approximation doubtful even though "
            "the standard error includes it. Inspect that row (est.inference_.diagnostics"
            "['influence_max_row'] lists it per target); more data, more weight_decay or "
            "n_networks > 1 usually help.")
    gap = inference.diagnostics.get("targeting_gap", 0.0)
    if gap > TARGETING_GAP_WARN:
        messages.append(
            f"The targeting step moved the average of θ {gap:.1f} standard errors away from "
            "the one-step estimate at the same θ̂ and Λ̂. The two differ by second-order "
            "terms only where the linearization behind the interval holds, so the "
            "estimates and their intervals are unreliable: the correction rests on rows "
            "where Λ̂(x) is nearly singular (T barely varies given X) or θ̂ is far from the "
            "data. Check overlap (est.lambda_regularized_), restrict the sample to rows "
            "where T varies given X, or hold θ constant in x (homogeneous='all').")
    return messages
