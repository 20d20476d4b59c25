"""The private base estimator: all estimators share its fit; public classes stay thin."""

from __future__ import annotations

import dataclasses
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import metadata_routing
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ._cells import covariate_cells
from ._constant_outcome import constant_outcome_groups, constant_outcome_warning
from ._covariate_checks import check_covariate_shape, check_targets_not_in_covariates
from ._covariates import X_SCALINGS, fit_covariate_scaling
from ._crossfit import check_plans, plan_crossfit, run_crossfit
from ._debias import (
    FitRows,
    cache_repetition,
    check_identified,
    debias,
    influence_warnings,
    lambda_report,
    regularization_warnings,
)
from ._effects_api import _EffectsMixin
from ._homogeneous import resolve_homogeneous
from ._lambda import (
    LAMBDA_METHODS,
    check_lambda_model,
    choose_lambda_method,
    make_lambda_strategy,
    varying_weights,
)
from ._nets import homogeneous_projector, predict_theta
from ._parallel import n_lambda_threads, n_task_threads
from ._post_estimation import _PostEstimationMixin
from ._progress import Stopwatch, log
from ._sample_checks import fold_balance, row_dependence, sample_warnings, variance_label
from ._seeds import SeedTree
from ._sizing import resolve_weight_decay
from ._sklearn_compat import HasMethods, Interval, StrOptions, check_params, validate_X
from ._training import TrainConfig, TrainingData, resolve_device, train_ensemble
from ._units import binary_columns
from ._validation import (
    check_effective_sample_size,
    check_groups,
    check_sample_weight,
    check_treatment_outcome,
    check_where,
    unpack_targets,
)
from .families import get_family
from .targets._population import population_targets, untreated_overlap
from .targets._resolve import resolve_targets


class _BaseStructuralDML(_PostEstimationMixin, _EffectsMixin, BaseEstimator):
    """Shared machinery of the structural DML estimators. Not public.

    Subclasses set ``_family`` (a registry name) or take a ``family`` parameter.
    """

    _family = "linear"
    # floor Λ̂ per row after Jacobi scaling rather than whitened by its average
    # (:func:`~sklearn_dml._linalg.regularize_jacobi`)
    _jacobi_lambda_floor = False

    __metadata_request__fit = {"Y": True, "T": metadata_routing.UNUSED}
    __metadata_request__score = {"Y": True, "T": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "target": [None, str, Integral, list, tuple, HasMethods(["value", "jacobian"])],
        "homogeneous": [None, str, list, tuple],
        "x_scaling": [StrOptions(set(X_SCALINGS))],
        "hidden_dims": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "solver": [StrOptions({"adam", "lbfgs"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "cv": [Interval(Integral, 1, None, closed="left"), "cv_object"],
        "n_rep": [Interval(Integral, 1, None, closed="left")],
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "lambda_method": [StrOptions(set(LAMBDA_METHODS))],
        "lambda_model": [None, StrOptions({"network"}), HasMethods(["fit", "predict"])],
        "treatment_law": [None, StrOptions({"empirical"}), "array-like", tuple],
        "lambda_floor": [Interval(Real, 0, 1, closed="neither")],
        "cluster_se": ["boolean"],
        "device": [str],
        "n_jobs": [None, Integral],
        "torch_num_threads": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
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
        self.target = target
        self.homogeneous = homogeneous
        self.x_scaling = x_scaling
        self.hidden_dims = hidden_dims
        self.dropout = dropout
        self.solver = solver
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.cv = cv
        self.n_rep = n_rep
        self.n_networks = n_networks
        self.lambda_method = lambda_method
        self.lambda_model = lambda_model
        self.treatment_law = treatment_law
        self.lambda_floor = lambda_floor
        self.cluster_se = cluster_se
        self.device = device
        self.n_jobs = n_jobs
        self.torch_num_threads = torch_num_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _get_family(self):
        return get_family(getattr(self, "family", self._family))

    def _train_config(self, n_rows=None):
        """The training settings; "auto" entries resolved for ``n_rows`` rows (default: as
        resolved by the last fit)."""
        decay = (self.weight_decay_ if n_rows is None
                 else resolve_weight_decay(self.weight_decay, n_rows))
        dims = tuple(int(h) for h in np.atleast_1d(self.hidden_dims))
        if len(dims) == 0 or min(dims) < 1:
            raise ValueError(
                f"hidden_dims must be a non-empty sequence of positive layer sizes, e.g. (64, 32); "
                f"got {self.hidden_dims!r}.")
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError(
                f"solver='lbfgs' takes full-batch steps with a line search, which random dropout "
                f"masks would break; got dropout={self.dropout!r}. Use dropout=0 with 'lbfgs', "
                f"or solver='adam'.")
        return TrainConfig(hidden_dims=dims, dropout=float(self.dropout), solver=self.solver,
                           lr=float(self.lr), weight_decay=decay, batch_size=self.batch_size,
                           max_epochs=int(self.max_epochs),
                           early_stopping=bool(self.early_stopping),
                           validation_fraction=float(self.validation_fraction),
                           n_iter_no_change=int(self.n_iter_no_change),
                           device=resolve_device(self.device), verbose=int(self.verbose),
                           n_networks=int(self.n_networks))

    def _resolve_homogeneous(self):
        """The θ names of ``homogeneous`` (after ``theta_names_`` is set)."""
        return resolve_homogeneous(self.homogeneous, self.theta_names_)

    def _standardize(self, X):
        """X in the user's units as the networks see it (:attr:`x_scaling_`)."""
        return self._x_scaling.transform(X)

    def _training_rows(self):
        """The fit's rows (:class:`~sklearn_dml._debias.FitRows`): the hook through which
        the post-fit mixins and subclasses read the training data."""
        check_is_fitted(self)
        return self._rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ---------------------------------------------------------------------- fit
    def fit(self, X, T, Y=None, *, sample_weight=None, groups=None):
        """Cross-fit θ(x), estimate Λ(x), and debias the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates: the input of the θ-network.
        T : array-like of shape (n_samples,) or (n_samples, n_treatments)
            Treatment(s). Or a packed array from :func:`pack_targets` with ``Y=None``.
        Y : array-like of shape (n_samples,), default=None
            Outcome. Requested for metadata routing by default.
        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weights for the training loss and the averages.
        groups : array-like of shape (n_samples,), default=None
            Cluster labels (households, villages, markets): the folds keep each group
            whole (an integer ``cv`` becomes a ``GroupKFold``) and, with
            ``cluster_se=True``, the standard errors are cluster-robust. A pandas Series'
            name labels the clusters in the summary.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        check_params(self)
        return self._fit(self._get_family(), X, T, Y, sample_weight, groups)

    def _fit(self, family, X, T, Y, sample_weight, groups):
        """:meth:`fit` with the given family: the hook through which an estimator whose
        family depends on the data (the choice models) fits."""
        X = validate_X(self, X, reset=True)
        config = self._train_config(n_rows=X.shape[0])
        T, Y, weights, groups, codes = self._check_fit_data(family, X, T, Y, sample_weight,
                                                            groups)
        self.family_ = family
        self.weight_decay_ = config.weight_decay
        self.theta_names_ = family.theta_names(self.treatment_names_)
        varies = np.any(X.std(axis=0) > 0)  # X constant: θ(x) is constant, the parametric MLE
        self.homogeneous_ = self._resolve_homogeneous() if varies else list(self.theta_names_)
        self._x_scaling = fit_covariate_scaling(X, self.x_scaling)
        self.x_scaling_ = self._x_scaling.column_scalings(X.shape[1])
        # the networks see Xn (normal scores where x_scaling_ says so), the Λ stage Xs
        Xs, Xn = self._x_scaling.standardize(X), self._standardize(X)
        self._seeds = SeedTree.from_random_state(self.random_state)
        strategy = self._lambda_stage(family, T, codes, weights)
        self.effective_n_ = check_effective_sample_size(weights)
        # training and Λ̂ see T and Y in internal units; θ̂ and Λ̂⁻¹ℓ_θ are mapped back
        units = family.internal_units(T, Y, Xs)
        T_fit, Y_fit, fit_family = units.treatment(T), units.outcome(Y), family.in_units(units)
        constant = [self.theta_names_.index(name) for name in self.homogeneous_]
        config = dataclasses.replace(config, output_projector=homogeneous_projector(
            units.theta_matrix, constant))

        clock = Stopwatch()
        log(self.verbose, 1, f"{type(self).__name__}: {X.shape[0]} rows, {X.shape[1]} "
            f"features, θ of dimension {len(self.theta_names_)}, Λ by {self.lambda_method_!r}")
        plans = plan_crossfit(self.cv, int(self.n_rep), Xs, T_fit, groups,
                              needs_aux=strategy.needs_aux, seeds=self._seeds,
                              check_treatment=getattr(family, "requires_varying_treatments", True))
        self.n_clusters_ = None if codes is None else int(codes.max()) + 1
        self._fold_balance = None if codes is not None else fold_balance(  # rows in order?
            [[p.test for p in rep] for rep in plans], X, T, Y,
            getattr(self, "feature_names_in_", None), self.treatment_names_, self.outcome_name_)
        check_plans(plans, codes, weights)
        self._clusters = codes if self.cluster_se else None
        reps = run_crossfit(plans, TrainingData(Xn, T_fit, Y_fit, weights, Xs, codes),
                            fit_family, config,
                            strategy.in_units(units, T.shape[1], fit_family), self.n_jobs,
                            self.torch_num_threads, verbose=self.verbose)
        self._rows = FitRows(Xs, T, Y, weights, X, Xn)
        varying = len(constant) < len(self.theta_names_)
        cells = (covariate_cells(X, weights) if varying and not strategy.known_law
                 else None)  # with a known law of T, Λ(x) does not rest on the rows at x
        self._constant_outcome = constant_outcome_groups(
            family.constant_outcome_unbounded, X, Y, weights, cells,
            getattr(self, "feature_names_in_", None), self.outcome_name_) if varying else None
        self._reps = [cache_repetition(rep, fit_family, T_fit, Y_fit, units, weights,
                                       self.lambda_floor, self._jacobi_lambda_floor,
                                       homogeneous=constant, cells=cells,
                                       constant_outcome=self._constant_outcome) for rep in reps]
        check_identified(self._reps, varying=varying, T=T, constant_outcome=self._constant_outcome)
        self.row_dependence_ = None if codes is not None else row_dependence(
            self._reps[0].correction, weights, constant, Y)
        self._store_crossfit(plans, reps, units, config)
        self.targets_ = resolve_targets(self.target, family, self.theta_names_, T.shape[1],
                                        binary_treatments=binary_columns(T),
                                        treatment_names=self.treatment_names_)
        log(self.verbose, 1, f"cross-fitting done in {clock():.1f} s")
        self.inference_ = self._infer(self.targets_)
        log(self.verbose, 1, f"debiased {len(self.targets_)} target(s); fit took {clock():.1f} s")
        self._warn_fit(family)
        return self

    def _lambda_stage(self, family, T, codes, weights):
        """The Λ strategy of the fit (sets ``lambda_method_``), checked against the data."""
        self.lambda_method_ = choose_lambda_method(self.lambda_method, family,
                                                  self.treatment_law, T)
        check_lambda_model(self.lambda_model, family, self.lambda_method_,
                           weighted=varying_weights(weights) is not None)
        strategy = make_lambda_strategy(self.lambda_method_, family, self.lambda_model,
                                        self.treatment_law, self._seeds)
        strategy.check_design(T, self.treatment_names_,
                              n_independent=None if codes is None else codes.max() + 1)
        self._lambda_strategy = strategy
        return strategy

    def _check_fit_data(self, family, X, T, Y, sample_weight, groups):
        """Validated T, Y, weights, groups and the groups' integer codes (or None) for the
        validated X; sets the treatment and outcome names."""
        check_covariate_shape(X)
        T, Y, self.treatment_names_, self.outcome_name_ = check_treatment_outcome(
            T, Y, X.shape[0], family)
        check_targets_not_in_covariates(X, T, Y, getattr(self, "feature_names_in_", None),
                                        self.treatment_names_, self.outcome_name_, treatments=(
                                            getattr(family, "requires_varying_treatments", True)))
        family.check_data(T, Y, self.treatment_names_)
        weights = check_sample_weight(sample_weight, X.shape[0])
        if isinstance(self.cv, (int, np.integer)) and self.cv > X.shape[0] // 2:
            raise ValueError(f"cv={self.cv} folds is too many for {X.shape[0]} rows; "
                             "use fewer folds.")
        self._groups_name = getattr(groups, "name", None)  # a pandas Series' name
        groups, codes = check_groups(groups, X.shape[0])
        return T, Y, weights, groups, codes

    def _store_crossfit(self, plans, reps, units, config):
        """The fitted attributes that describe the cross-fitting."""
        self.n_folds_ = len(plans[0])
        self.device_ = config.device
        self.folds_ = [[p.test for p in rep_plans] for rep_plans in plans]
        self.models_ = [units.layers(rep.layers) for rep in reps]
        self.history_ = [rep.history for rep in reps]
        self.theta_ = np.mean([r.network_theta for r in self._reps], axis=0)
        self.lambda_ = self._reps[0].lam
        self.lambda_condition_ = self._reps[0].condition
        self.lambda_condition_raw_ = self._reps[0].raw_condition
        self.lambda_regularized_ = self._reps[0].raised
        self.lambda_report_ = lambda_report(self._reps[0])

    def _warn_fit(self, family):
        """The family's checks, Λ̂ floored on many rows, a row that dominates, few clusters:
        raised from fit → _fit → here (stacklevel 4 names the caller), kept for summary()."""
        varying = len(self.homogeneous_) < len(self.theta_names_)
        rows, strategy = self._rows, self._lambda_strategy
        messages = [*family.fit_warnings(rows.Y, rows.T, self.theta_),
                    *(strategy.fit_warnings(rows.X, rows.T) if varying else ()),
                    *regularization_warnings(self.inference_.diagnostics, self.lambda_floor,
                                             varying, untreated_overlap(
                                                 rows.T, self.lambda_regularized_,
                                                 self.treatment_names_)),
                    constant_outcome_warning(self.inference_.diagnostics),
                    *influence_warnings(self.inference_),
                    *sample_warnings(rows.T.shape[0], self.effective_n_, varying,
                                     self.row_dependence_,
                                     self.n_clusters_ if self.cluster_se else None,
                                     self._fold_balance, (rows.X_user, rows.T, rows.Y),
                                     (self.treatment_names_, self.outcome_name_),
                                     grouped=self.n_clusters_ is not None)]
        messages = tuple(filter(None, messages))
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=4)
        if messages:  # after any the debiasing raised for the targets
            diag = self.inference_.diagnostics
            diag["warnings"] = (*diag.get("warnings", ()), *messages)

    # ---------------------------------------------------------------- inference
    def _projector(self, rep):
        """E[H_θ | X] for targets evaluated at the observed T, by the Λ strategy."""
        # the fits run as the Λ stage's do: folds side by side, sharing the cores
        n_threads = n_lambda_threads(self.torch_num_threads, 1, self._rows.X.shape[0])
        return self._lambda_strategy.projector(
            rep.theta, rep.fold_id, self._rows.X, self._rows.T, n_threads=n_threads,
            config=self._train_config(), train=train_ensemble,
            weights=varying_weights(self._rows.weights))

    def _infer(self, targets, where=None):
        # capped threads as in the fold tasks (OpenMP spinning cost 10x); the E[H_θ | X]
        # regressions set their own, by the Λ stage's rule (see _projector)
        names = [t.name(self.theta_names_, self.treatment_names_) for t in targets]
        weights = self._rows.weights
        rows = slice(None) if where is None else check_where(where, self._rows.T, self.n_folds_)
        facts = {"n_folds": self.n_folds_, "lambda_method": self.lambda_method_,
                 "standard_errors": partial(variance_label, name=self._groups_name,
                                            grouped=self.n_clusters_ is not None),
                 "weight_decay": self.weight_decay_,
                 "effective_n": None if np.all(weights == 1.0) else self.effective_n_,
                 "homogeneous": self.homogeneous_, "theta_dim": len(self.theta_names_),
                 "row_dependence": self.row_dependence_, "fold_balance": self._fold_balance,
                 "constant_outcome": self._constant_outcome,
                 "normal_scores": self._x_scaling.quantile_names(
                     getattr(self, "feature_names_in_", None))}
        with threadpool_limits(limits=n_task_threads(self.torch_num_threads)):
            return debias(self.family_, targets, names, self._reps, self._rows.T, weights,
                          [self._projector(rep) for rep in self._reps], rows=rows,
                          clusters=self._clusters, fit_facts=facts)

    def inference(self, target=None, *, where=None, population="all"):
        """Debias any target from the cached fit, without refitting.

        Parameters
        ----------
        target : str, int, Target or list of these, default=None
            None re-reports the estimator's targets.
        where : bool array of shape (n_samples,), default=None
            Restrict the average to these training rows (a subgroup of covariates).
        population : {"all", "treated", "untreated"} or tuple, default="all"
            Average over the rows with a binary treatment at 1 ("treated": the average
            effect on the treated, ATT) or at 0, weighting each row's correction by
            the estimated probability of that treatment given x, as the efficient
            influence function does; a mask of T in ``where`` would not. With several
            binary treatments, name one: ``("treated", "<treatment name>")``.

        Returns
        -------
        InferenceResults
        """
        check_is_fitted(self)
        targets = self.targets_ if target is None else resolve_targets(
            target, self.family_, self.theta_names_, self._rows.T.shape[1],
            treatment_names=self.treatment_names_)
        targets = population_targets(targets, population, self._rows.T, self.treatment_names_)
        return self._infer(targets, where=where)

    def summary(self, alpha=0.05, value=0.0, decimals=4):
        """The debiased estimates as a :class:`~sklearn_dml.Summary` table.

        Parameters
        ----------
        alpha : float, default=0.05
            1 − confidence level.
        value : float, default=0.0
            Null value for the z statistics and p-values.
        decimals : int, default=4
            Digits shown.

        Returns
        -------
        Summary
        """
        check_is_fitted(self)
        title = (f"{type(self).__name__}: debiased estimates (outcome {self.outcome_name_}; "
                 f"treatment {', '.join(self.treatment_names_)})")
        return self.inference_.summary(alpha=alpha, value=value, decimals=decimals, title=title)

    # --------------------------------------------------------------- prediction
    def predict(self, X):
        """θ̂(X): the fitted structural parameters, averaged over the fold networks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_theta)
        """
        check_is_fitted(self)
        Xs = self._standardize(validate_X(self, X, reset=False))
        return np.mean([predict_theta(layers, Xs).mean(axis=0) for layers in self.models_],
                       axis=0)

    def predict_outcome(self, X, T):
        """E[Y | X, T] under the fitted model, shape (n_samples,)."""
        theta = self.predict(X)
        T = np.asarray(T, dtype=float)
        T = T.reshape(theta.shape[0], -1) if T.ndim < 2 else T
        return self.family_.mean_numpy(T, theta)

    def structural_loss(self, X, T, Y=None, sample_weight=None):
        """Mean structural loss of the fitted θ̂ on (X, T, Y); lower is better.

        Parameters
        ----------
        X, T, Y : array-like
            As in :meth:`fit`; ``T`` may be packed (:func:`pack_targets`) with ``Y=None``.
        sample_weight : array-like, default=None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        T, Y = unpack_targets(T, Y)
        theta = self.predict(X)
        T, Y, _, _ = check_treatment_outcome(T, Y, theta.shape[0], self.family_, fitting=False)
        loss = self.family_.loss_numpy(Y, T, theta)
        return float(np.average(loss, weights=sample_weight))

    def score(self, X, T, Y=None, sample_weight=None):
        """Minus the mean structural loss (greater is better, as sklearn expects)."""
        return -self.structural_loss(X, T, Y, sample_weight=sample_weight)
