"""CombinatorialDML: debiased deep learning (DeDL) for experiments with m binary treatments."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseStructuralDML
from ._crossfit import predict_held_out
from ._estimators import _ATTRIBUTES, _SHARED_PARAMS, _replace_param
from ._inference import InferenceResults
from ._parallel import n_task_threads
from ._sklearn_compat import Interval, StrOptions
from ._training import TrainingData
from .families._base import Family
from .families._combinatorial import LINKS, CombinatorialFamily, all_cells
from .targets import MultiTreatmentATE

NEAR_SINGULAR_WARN_SHARE = 0.05
MISFIT_Z, MISFIT_RELATIVE = 3.0, 0.05


class _CellMeansFamily(Family):
    """The unstructured comparison model: one free mean per observed cell, θ_c(x)."""

    name = "cell_means"
    hessian_depends_on_y = False

    def __init__(self, cells):
        self.cells = np.asarray(cells, dtype=float)

    def theta_names(self, treatment_names):
        return [f"mean[{i}]" for i in range(len(self.cells))]

    def _onehot(self, t):
        cells = torch.as_tensor(self.cells, dtype=t.dtype, device=t.device)
        return (t[:, None, :] == cells[None]).all(-1).to(t.dtype)

    def mean(self, t, theta):
        return (theta * self._onehot(t)).sum(-1)

    def loss(self, y, t, theta):
        return (y - self.mean(t, theta)) ** 2

    def initial_bias(self, y, t):
        hit = (t[:, None, :] == self.cells[None]).all(-1)
        counts = np.maximum(hit.sum(0), 1)
        return list((hit * y[:, None]).sum(0) / counts)


_PARAMS = _replace_param(_SHARED_PARAMS, "max_epochs", """    max_epochs : int, default=500
        Maximum passes over the training rows. DeDL is valid only once the
        θ-network has converged (Ye et al. 2025, Fig. 7); early stopping ends
        training sooner.
""")
_PARAMS = _replace_param(_PARAMS, "weight_decay", """    weight_decay : float, default=1e-4
        L2 penalty on the network weights. Lighter than the other estimators' default:
        the structured links have few θ components (the user guide's combinatorial
        page gives the coverage at this value).
""")
_PARAMS = _replace_param(_PARAMS, "n_iter_no_change", """    n_iter_no_change : int, default=20
        Patience of early stopping, in epochs.
""")
_PARAMS = _replace_param(_PARAMS, "lambda_method", """\
    lambda_method : {"randomized", "regression"}, default="randomized"
        "randomized": Λ(x) = 2 Σ_t ν(t) G_θG_θ' summed exactly over the design
        cells (two-way cross-fitting). "regression" (three-way splitting) only if the
        assignment depends on X.
""")
_PARAMS = _replace_param(_PARAMS, "treatment_law", """\
    treatment_law : None, "empirical", array-like or (values, probabilities), \
default=None
        The randomization law ν. None / "empirical": the cell frequencies of each
        training fold, enumerated exactly (a random sample of 256 rows only when
        more than 256 distinct cells occur). Pass ``(cells, probabilities)`` for a
        known design.
""")
_PARAMS = _replace_param(_PARAMS, "lambda_floor", """    lambda_floor : float, default=1e-4
        Eigenvalue floor for Λ̂ before inversion, applied to the Jacobi-scaled
        D^{-1/2}Λ̂D^{-1/2} (D = diag Λ̂, so free of the units of Y and θ), relative to
        the larger of the row's own largest eigenvalue and the median over rows of
        that eigenvalue. Rows raised are flagged in ``lambda_regularized_`` and
        counted in ``lambda_report_``.
""")


class CombinatorialDML(_BaseStructuralDML):
    __doc__ = f"""Debiased deep learning for combinatorial experiments (Ye et al. 2025, "DeDL").

    m binary treatments run at once, but only some of the 2^m combinations
    (cells) are observed. A θ-network gives E[Y | x, t] = G(θ(x), t) under a
    structured link; with m + 1 or m + 2 cells this identifies θ(x), so the
    average effect of *every* combination against control, observed or not, is
    debiased with the influence function ψ = H − H_θ'Λ(x)⁻¹ℓ_θ and
    Λ(x) = 2 Σ_t ν(t) G_θG_θ' summed exactly over the design cells.

    The fit checks that the observed cells identify the link (an error names
    the cells to add), reports the conditioning of Λ̂(x) per row (gen_sigmoid_ii
    is nearly singular where effects vanish or cancel), and warns when the
    structured model fits clearly worse than an unstructured cell-means
    network on held-out rows (a sign of a misspecified link).

    Parameters
    ----------
    n_treatments : int, default=None
        m, the number of binary treatments (columns of T); None takes it from T.
    link : str, default="gen_sigmoid_ii"
        "gen_sigmoid_ii", "gen_sigmoid_i", "sigmoid" or "multiplicative": the outcome
        model G; see :class:`~sklearn_dml.families.CombinatorialFamily`.
        "gen_sigmoid_ii" (θ_{{m+1}}σ(θ₀ + θ't), m + 2 parameters) approximates any
        effect surface; the others have m + 1 parameters.
    a : float, default=1.0
        Known scale of the "sigmoid" link, G = a·σ(η) + b.
    b : float, default=0.0
        Known offset of the "sigmoid" link.
    target : None, MultiTreatmentATE, Target or list of these, default=None
        What to estimate. None gives the effect of every non-control cell against
        control (for m ≤ 6), with their joint covariance.
    structure_check : bool, default=True
        Also cross-fit an unstructured network with one free mean per observed
        cell on the same folds, and warn when the structured model's held-out
        squared error is clearly larger (z > 3 and more than 5% larger). Costs a
        second training run.
{_PARAMS}
{_ATTRIBUTES}    structure_check_ : dict or None
        Held-out mean squared errors of the structured and the cell-means model,
        the relative excess and its z statistic.

    See Also
    --------
    sklearn_dml.targets.MultiTreatmentATE : the effect of one combination.
    sklearn_dml.datasets.make_combinatorial : simulated experiments with known effects.

    References
    ----------
    Ye, Zhang, Zhang, Zhang and Zhang (2025), "Deep Learning-Based Causal Inference
    for Large-Scale Combinatorial Experiments", Management Science.
    Farrell, Liang and Misra (2025), "Deep Learning for Individual Heterogeneity".

    Examples
    --------
    >>> from sklearn_dml import CombinatorialDML
    >>> from sklearn_dml.datasets import make_combinatorial
    >>> data = make_combinatorial(n_samples=600, n_treatments=2, random_state=0)
    >>> est = CombinatorialDML(max_epochs=30, structure_check=False, random_state=0)
    >>> est = est.fit(data.X, data.T, data.Y)
    >>> est.inference_.names
    ['ATE[01]', 'ATE[10]', 'ATE[11]']
    """

    _parameter_constraints = {
        **_BaseStructuralDML._parameter_constraints,
        "n_treatments": [None, Interval(Integral, 1, None, closed="left")],
        "link": [StrOptions(set(LINKS))],
        "a": [Real],
        "b": [Real],
        "structure_check": ["boolean"],
    }

    def __init__(
        self,
        n_treatments=None,
        link="gen_sigmoid_ii",
        *,
        a=1.0,
        b=0.0,
        target=None,
        structure_check=True,
        homogeneous=None,
        x_scaling="auto",
        hidden_dims=(64, 32),
        dropout=0.0,
        solver="adam",
        lr=0.01,
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs=500,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        cv=5,
        n_rep=1,
        n_networks=1,
        lambda_method="randomized",
        lambda_model=None,
        treatment_law=None,
        lambda_floor=1e-4,
        cluster_se=True,
        device="cpu",
        n_jobs=None,
        torch_num_threads="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_treatments = n_treatments
        self.link = link
        self.a = a
        self.b = b
        self.structure_check = structure_check
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

    # Λ̂ floored per row after Jacobi scaling: which rows are floored then does not depend
    # on the outcome's scale, which the link's scale parameter carries
    _jacobi_lambda_floor = True

    def _get_family(self):
        return CombinatorialFamily(self.link, self.n_treatments, self.a, self.b)

    def fit(self, X, T, Y=None, *, sample_weight=None, groups=None):
        """Check identification, cross-fit θ(x), and debias the cell effects.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates.
        T : array-like of shape (n_samples, n_treatments)
            0/1 treatment indicators, one column per treatment; or a packed array
            from :func:`pack_targets` with ``Y=None``.
        Y : array-like of shape (n_samples,), default=None
            Outcome.
        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weights.
        groups : array-like of shape (n_samples,), default=None
            Group labels for the cross-fitting splits.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        super().fit(X, T, Y, sample_weight=sample_weight, groups=groups)
        self._warn_near_singular()
        self.structure_check_ = self._check_structure() if self.structure_check else None
        return self

    # ------------------------------------------------------------------ diagnostics
    def _warn_regularized(self):
        """Near-singular rows are reported by :meth:`_warn_near_singular`, with the link's
        hint."""

    def _warn_near_singular(self):
        report = self.lambda_report_
        share = report["share_near_singular"]
        q = [report["condition_median"], report["condition_q90"], report["condition_q99"]]
        if share > NEAR_SINGULAR_WARN_SHARE:
            hint = (" Under gen_sigmoid_ii this happens where effects vanish or cancel "
                    "(e^{Σθ_k} − 1 ≈ Σ(e^{θ_k} − 1) over the overlapping cell); a design "
                    "whose overlapping cell carries large effects identifies the scale better."
                    if self.link == "gen_sigmoid_ii" else "")
            warnings.warn(
                f"{share:.1%} of rows have a near-singular Λ̂(x) (condition number of the "
                f"Jacobi-scaled Λ̂ above {1 / self.lambda_floor:.0e}; median {q[0]:.3g}, 99th "
                f"percentile {q[2]:.3g}); their correction was regularized and may be "
                f"biased.{hint}", UserWarning, stacklevel=3)

    def _check_structure(self):
        """Held-out fit of the structured model against one free mean per observed cell."""
        rows = self._training_rows()
        T, Y, w = rows.T, rows.Y, rows.weights
        fam = _CellMeansFamily(np.unique(T, axis=0))
        n = Y.shape[0]
        tests = self.folds_[0]
        seeds = self._seeds.child("structure").ints(len(tests))
        theta = predict_held_out(TrainingData(rows.X_network, T, Y, w), tests, seeds, fam,
                                 self._train_config(), n_task_threads(self.torch_num_threads))
        pred = np.empty(n)
        for te in tests:
            pred[te] = fam.mean_numpy(T[te], theta[te])
        err_s = (Y - self.family_.mean_numpy(T, self._reps[0].theta)) ** 2
        err_u = (Y - pred) ** 2
        diff = w * (err_s - err_u)
        mse_s, mse_u = float(np.average(err_s, weights=w)), float(np.average(err_u, weights=w))
        z = float(diff.mean() / max(diff.std(ddof=1) / np.sqrt(n), 1e-300))
        excess = (mse_s - mse_u) / mse_u if mse_u > 0 else 0.0
        if z > MISFIT_Z and excess > MISFIT_RELATIVE:
            warnings.warn(
                f"The {self.link!r} model fits the held-out rows clearly worse than an "
                f"unstructured network with one mean per observed cell (MSE {mse_s:.4g} vs "
                f"{mse_u:.4g}, {excess:+.1%}, z = {z:.1f}): the link may be misspecified, or "
                "its θ-network under-trained (raise max_epochs). Effects of unobserved cells "
                "rest on the link; compare links by structural_loss on held-out data.",
                UserWarning, stacklevel=3)
        return {"structured_mse": mse_s, "unstructured_mse": mse_u, "relative_excess": excess,
                "z": z}

    # ------------------------------------------------------------------ results
    def _cells(self):
        return all_cells(len(self.treatment_names_))

    def all_effects(self, baseline=None):
        """Debiased effects of all 2^m cells against ``baseline``, with joint covariance.

        Parameters
        ----------
        baseline : array-like of 0/1, default=None
            The comparison cell; None is control.

        Returns
        -------
        InferenceResults
            One row per cell other than the baseline; ``conf_int(joint=True)``
            gives simultaneous intervals, ``contrast`` any comparison.
        """
        check_is_fitted(self)
        base = np.zeros(len(self.treatment_names_)) if baseline is None else np.asarray(
            baseline, float)
        cells = [c for c in self._cells() if not np.array_equal(c, base)]
        return self.inference([MultiTreatmentATE(c, baseline) for c in cells])

    def best_combination(self, alpha=0.05, baseline=None):
        """The best combination, its effect, and intervals that account for the selection.

        The selected cell t̂* maximizes the debiased effect. Three intervals answer
        different questions: ``conf_int`` is the usual interval for μ(t̂*), valid
        *conditional on the selected cell* (it ignores the selection and is
        optimistic when cells are close); ``conf_int_max`` covers max_t μ(t)
        whatever cell is best (from the simultaneous band over all cells); and
        ``candidates`` lists the cells not significantly worse than t̂* (the gaps
        μ(t̂*) − μ(t) with simultaneous intervals), a confidence set for the best.

        Parameters
        ----------
        alpha : float, default=0.05
            1 − confidence level.
        baseline : array-like of 0/1, default=None
            The comparison cell; None is control.

        Returns
        -------
        Bunch with ``cell``, ``estimate``, ``stderr``, ``conf_int``,
        ``conf_int_max``, ``candidates``, ``gaps`` (InferenceResults) and
        ``effects`` (all cells).
        """
        effects = self.all_effects(baseline)
        k = len(effects.names)
        best = int(np.argmax(effects.estimate))
        band = effects.conf_int(alpha, joint=True)
        others = [j for j in range(k) if j != best]
        C = np.zeros((len(others), k))
        C[np.arange(len(others)), best] = 1.0
        C[np.arange(len(others)), others] = -1.0
        names = [f"{effects.names[best]} - {effects.names[j]}" for j in others]
        psi = None if effects.psi is None else effects.psi @ C.T
        gaps = InferenceResults(names, C @ effects.estimate, C @ effects.cov @ C.T, psi,
                                dof=effects.dof)
        gap_lo = gaps.conf_int(alpha, joint=True)[:, 0] if others else np.array([])
        candidates = [effects.names[best]] + [effects.names[j] for j, lo in zip(others, gap_lo)
                                              if lo <= 0]
        return Bunch(cell=effects.names[best], estimate=float(effects.estimate[best]),
                     stderr=float(effects.stderr[best]),
                     conf_int=tuple(effects.conf_int(alpha)[best]),
                     conf_int_max=(float(band[:, 0].max()), float(band[:, 1].max())),
                     candidates=candidates, gaps=gaps, effects=effects)
