"""Λ strategies: how Λ̂(x) is estimated on a fold, and how E[H_θ | X] is projected.

One object per Λ method, made by :func:`make_lambda_strategy`. The cross-fitting engine
asks it which covariates the regressions see, whether auxiliary θ-networks are needed, and
for each fold's Λ̂; it knows neither families nor method names. A fold reaches the
strategy as an object with ``plan`` (``train``, ``test``, ``seeds``, and for the
auxiliary networks ``aux_rows``, ``lambda_rows``), ``theta(rows)`` (the fold's θ̂ at rows)
and ``held_out_theta()`` (the rows of both training halves with θ from the auxiliary
network that did not see each, or None without auxiliary networks).
"""

from __future__ import annotations

import copy
import dataclasses
import functools

import numpy as np

from .._parallel import map_folds
from .._seeds import SeedTree, seeded_clone
from .._units import internal_law
from .._validation import check_treatment_law
from ..families._index import index
from ._hessians import (
    integrate_hessian,
    lambda_hessians,
    lambda_index_weights,
    regress_hessian,
    treatment_support,
)
from ._method import is_network
from ._moments import (
    cap_leverage,
    conditional_law,
    index_moment_lambda,
    law_from_moments,
    linear_prediction,
    moment_lambda,
    neighbour_law,
    overlap_floored,
    shift_lambda,
    strong_confounding_warnings,
)
from ._networks import (
    MomentTask,
    network_config,
    network_projection,
    network_weighted_moments,
)
from ._projection import project_crossfitted, project_on_law
from ._regressors import (
    LinearTrendBoosting,
    LogTrendBoosting,
    default_lambda_model,
    default_matrix_model,
    lambda_features,
)

# a treatment at its smallest value on this share of rows is bounded there (zero for many)
BOUNDED_SHARE = 0.1


def varying_weights(weights):
    """``weights`` where they differ between rows, None where they are all equal (every Λ
    regression is then unweighted)."""
    if weights is None or np.ptp(weights) <= 1e-12 * np.abs(weights).max(initial=0.0):
        return None
    return np.asarray(weights, dtype=float)


@dataclasses.dataclass
class LambdaData:
    """The rows the Λ stage reads: ``X`` its covariates (:meth:`LambdaStrategy.covariates`),
    ``T`` and ``Y`` in the units the networks were trained in, and ``weights`` the fit's
    sample weights (None where all are equal; :func:`varying_weights`)."""

    X: np.ndarray
    T: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None = None

    def weights_at(self, rows):
        """The sample weights of ``rows``, or None."""
        return None if self.weights is None else self.weights[rows]


class LambdaStrategy:
    """Base Λ strategy: per-fold evaluation with a scikit-learn regressor.

    Parameters
    ----------
    family : Family
    lambda_model : sklearn regressor, "network" or None
    seeds : SeedTree, default=SeedTree(0)
        The fit's seed tree: folds draw from their own node (``fold.plan.seeds``), the
        fits over all rows (binning, projections) from this one.
    """

    method: str = ""  # the lambda_method it implements
    needs_aux = False  # regime C: auxiliary θ-networks on the halves of each training part
    spreads_fits = True  # fold evaluations fit regressions, worth running side by side
    batched = False  # all folds of a group evaluated at once (evaluate_group)
    known_law = False  # Λ(x) integrates over a known law of T, not over the rows near x

    def __init__(self, family, lambda_model=None, seeds=None):
        self.family = family
        self.lambda_model = lambda_model
        self.seeds = SeedTree(0) if seeds is None else seeds

    def covariates(self, X, n_threads):
        """X as the Λ regressions see it: the bin codes of :func:`lambda_features` where
        they fit gradient boosting, X itself otherwise."""
        return lambda_features(X, self.lambda_model, n_threads, seed=self.seeds.int("binning"))

    def seeded_model(self, seed, default=default_lambda_model):
        """The Λ regressor (``default()`` where none was given) with its random states
        set to ``seed``."""
        model = default() if self.lambda_model is None else self.lambda_model
        return seeded_clone(model, seed)

    def evaluate(self, fold, theta_test, data):
        """Λ̂ at the fold's test rows, and the rows where a floor binds.

        Returns
        -------
        lam : ndarray (n_test, d, d), floored : ndarray (n_test,) bool
        """
        raise NotImplementedError

    def in_units(self, units, n_treatments, family):
        """The strategy for data in the internal units of ``units``, with ``family`` as it
        applies to them (:meth:`~sklearn_dml.families.Family.in_units`)."""
        if family is self.family:
            return self
        strategy = copy.copy(self)
        strategy.family = family
        return strategy

    def fit_warnings(self, X, T):
        """Messages on what the strategy's Λ̂ cannot be trusted with in these data."""
        return []

    def check_design(self, T, treatment_names, n_independent=None):
        """Raise where the data contradict what the strategy assumes of the treatment."""

    def projector(self, theta, fold_id, X, T, *, n_threads, config, train, weights=None):
        """``project(target, J)``: E[H_θ | X] at the training rows, regressed on X with
        the fits of the other folds (folds side by side, sharing ``n_threads``).

        ``theta`` and ``T`` (user units) serve the randomized law, ``config`` and
        ``train`` (the θ-networks' settings and trainer) the network regressions;
        ``weights`` (:func:`varying_weights`) weight every regression.
        """

        @functools.cache
        def features():  # made at the first target that needs E[H_θ | X], if any does
            return lambda_features(X, self.lambda_model, n_threads,
                                   seed=self.seeds.int("binning"))

        model = self.seeded_model(self.seeds.int("projection"))

        def project(target, J):
            return project_crossfitted(
                J, features(), fold_id, model,
                map_fits=lambda fit, tasks: map_folds(fit, tasks, n_threads),
                sample_weight=weights)
        return project


class _HessianRegression(LambdaStrategy):
    """Regress per-row Hessians (or, for a single-index family, the moments of T given X
    weighted by ℓ'') on X over the fold's training rows."""

    bounded = False  # T sits at its smallest value on many rows (set by check_design)

    def check_design(self, T, treatment_names, n_independent=None):
        """Note a treatment with a mass at its lower bound (0 cigarettes, 0 hours): one
        column of at least three values, ``BOUNDED_SHARE`` of the rows at its minimum."""
        super().check_design(T, treatment_names, n_independent)
        t = T[:, 0]
        self.bounded = bool(T.shape[1] == 1 and np.unique(t).size > 2
                            and np.mean(t == t.min()) >= BOUNDED_SHARE)

    def covariates(self, X, n_threads):
        if self.lambda_model is None and not self.family.single_index:
            return X  # the default random forest over whole Hessian matrices
        return super().covariates(X, n_threads)

    def hessian_rows(self, fold, data):
        """The rows whose Hessians estimate Λ, θ there, and whether θ there comes from
        an auxiliary network."""
        raise NotImplementedError

    def mean_model(self, seed):
        """The regressor of E[w T | x] where it is not the Λ regressor: by default, for a
        treatment with a mass at its lower bound, :class:`LogTrendBoosting` (T measured
        from that bound); None otherwise."""
        return self._bounded_model(seed)

    def moment_model(self, seed):
        """The regressor of a single-index family's moments given x: the Λ regressor."""
        return self.seeded_model(seed)

    def variance_model(self, seed):
        """The regressor of T's weighted variance given x where it is not
        :meth:`moment_model`: by default :class:`LogTrendBoosting` for a treatment with a
        mass at its lower bound, whose variance spans orders of magnitude across x."""
        return self._bounded_model(seed)

    def weight_model(self, seed):
        """The regressor of the index weights' mean given x, relative to whose fit the
        moments are regressed, where the family's curvature spans orders of magnitude
        (``family.curvature_spans_scales``): by default :class:`LogTrendBoosting`; boosting
        in raw units chased the large weights and overstated the smallest means 2-3 times.
        None elsewhere."""
        if not self.family.curvature_spans_scales:
            return None
        return self.seeded_model(seed, LogTrendBoosting)

    def _bounded_model(self, seed):
        if self.lambda_model is None and self.bounded:
            return seeded_clone(LogTrendBoosting(), seed)
        return None

    def index_weights(self, fold, data):
        """Rows and index weights of Λ̂ = E[w z z' | x] for a single-index family; the
        secant and observed-ℓ'' forms correct for the auxiliary fit's error, so they apply
        only where θ comes from an auxiliary network."""
        rows, theta_rows, elsewhere = self.hessian_rows(fold, data)
        family, T_rows, X_rows, Y_rows = self.family, data.T[rows], data.X[rows], data.Y[rows]
        secant = elsewhere and family.secant_lambda
        observed = elsewhere and family.observed_lambda
        d2 = lambda_index_weights(family, Y_rows, index(T_rows, theta_rows), secant=secant,
                                  observed=observed,
                                  eta_main=(index(T_rows, fold.theta(rows))
                                            if (secant or observed) and family.secant_to_main_fit
                                            else None))
        reference = lambda_index_weights(
            family, Y_rows, index(linear_prediction(T_rows, X_rows), theta_rows))
        return rows, cap_leverage(d2, reference, T_rows, X_rows)[0]

    def evaluate(self, fold, theta_test, data):
        test, seed = fold.plan.test, fold.plan.seeds.int("lambda_model")
        if self.family.single_index:  # expected ℓ'' / ℓ_θθ where ℓ_θθ has y
            rows, d2 = self.index_weights(fold, data)
            T_rows, lower = data.T[rows], None
            if self.bounded:  # T above its bound, where w·T has the sign of w as a log trend needs
                lower = T_rows.min(axis=0)
                T_rows = T_rows - lower
            lam, floored = index_moment_lambda(
                d2, T_rows, data.X[rows], data.X[test], self.moment_model(seed),
                self.mean_model(seed), data.weights_at(rows), self.variance_model(seed),
                self.weight_model(seed))
            return (lam if lower is None else shift_lambda(lam, lower)), floored
        rows, theta_rows, elsewhere = self.hessian_rows(fold, data)
        H = lambda_hessians(self.family, data.Y[rows], data.T[rows], theta_rows,
                            secant=elsewhere,
                            theta_main=(fold.theta(rows) if elsewhere
                                        and self.family.secant_to_main_fit else None))
        # the default fits all entries jointly (PSD-preserving), a user's model entry by entry
        lam = regress_hessian(H, data.X[rows], data.X[test],
                              self.seeded_model(seed, default_matrix_model),
                              jointly=self.lambda_model is None,
                              sample_weight=data.weights_at(rows))
        if not self.family.requires_varying_treatments:
            return lam, np.zeros(test.size, dtype=bool)
        # a leaf's average Hessian is full rank where T varies across the leaf even when X
        # determines T, so overlap is read from T's own conditional moments
        train, mean_model = fold.plan.train, self.mean_model(seed)
        if mean_model is None and self.lambda_model is None:
            mean_model = seeded_clone(LinearTrendBoosting(), seed)
        return lam, overlap_floored(data.T[train], data.X[train], data.X[test],
                                    self.seeded_model(seed), mean_model,
                                    data.weights_at(train))


class AnalyticLambda(_HessianRegression):
    """Regime B: ℓ_θθ free of θ and y, a function of T alone regressed on X."""

    method = "analytic"

    def covariates(self, X, n_threads):
        if self.lambda_model is None:
            return X  # the linear part of the default mean regression needs x itself
        return super().covariates(X, n_threads)

    def mean_model(self, seed):
        """By default E[T | x] by :class:`LinearTrendBoosting`: with a constant weight
        Λ's entries are moments of T, and its mean is often close to linear in x. For a
        treatment with a mass at its lower bound, :class:`LogTrendBoosting` above it."""
        if self.lambda_model is not None or self.bounded:
            return super().mean_model(seed)
        return seeded_clone(LinearTrendBoosting(), seed)

    def hessian_rows(self, fold, data):
        train = fold.plan.train
        return train, np.zeros((train.size, self.family.theta_dim(data.T.shape[1]))), False


class RegressionLambda(_HessianRegression):
    """Regime C: Hessians at θ from the auxiliary network that did not see each row,
    regressed on X (three-way splitting). Without cross-fitting (no auxiliary networks)
    θ̂ itself, so that a θ that cannot vary gives the classical sandwich."""

    method = "regression"
    needs_aux = True

    def moment_model(self, seed):
        """By default :class:`LinearTrendBoosting` linear in the two-valued columns:
        boosted trees alone shrink effects spread over many dummies, and a linear part in
        a continuous column extrapolates a positive moment below zero."""
        return self.seeded_model(
            seed, functools.partial(LinearTrendBoosting, linear_columns="binary"))

    def hessian_rows(self, fold, data):
        held_out = fold.held_out_theta()
        if held_out is None:
            return fold.plan.train, fold.theta(fold.plan.train), False
        return (*held_out, True)

    def fit_warnings(self, X, T):
        forest = not self.family.single_index and self.lambda_model is None
        return strong_confounding_warnings(self.family, X, T, forest)


class ConditionalLambda(LambdaStrategy):
    """Integrate the expected Hessian at θ̂(x) over an estimated law of T given X: a
    location-scale model, or the nearest training rows' T where the family's
    ``conditional_law`` is "neighbours" (a choice family's table of attributes)."""

    method = "conditional"

    def fit_warnings(self, X, T):
        return strong_confounding_warnings(self.family, X, T, forest=False)

    def covariates(self, X, n_threads):
        if self.family.conditional_law == "neighbours":
            return X  # nearest neighbours in the standardized X
        return super().covariates(X, n_threads)

    def evaluate(self, fold, theta_test, data):
        plan = fold.plan
        if self.family.conditional_law == "neighbours":
            T_train, X_train = data.T[plan.train], data.X[plan.train]
            weights = data.weights_at(plan.train)
            if np.ptp(X_train, axis=0).max(initial=0.0) == 0:
                # θ̂ is one point: integrate over every training row's T (the MLE's bread)
                probs = (np.full(T_train.shape[0], 1.0 / T_train.shape[0]) if weights is None
                         else weights / weights.sum())
                lam = integrate_hessian(self.family, theta_test[:1], T_train, probs)
                return (np.repeat(lam, plan.test.size, axis=0),
                        np.zeros(plan.test.size, dtype=bool))
            values, probs, floored = neighbour_law(T_train, X_train, data.X[plan.test],
                                                   sample_weight=weights)
        else:
            values, probs, floored = conditional_law(
                data.T[plan.train], data.X[plan.train], data.X[plan.test],
                self.seeded_model(plan.seeds.int("lambda_model")),
                plan.seeds.random_state("law"), sample_weight=data.weights_at(plan.train))
        return integrate_hessian(self.family, theta_test, values, probs), floored


class RandomizedLambda(LambdaStrategy):
    """Regime A: integrate ℓ_θθ over the known (or resampled) law of a randomized T.

    Parameters
    ----------
    family : Family
    treatment_law : None, "empirical", array-like or (values, probabilities)
        In the units of the data the strategy is used on.
    """

    method = "randomized"
    spreads_fits = False  # no regressions: nothing to spread
    known_law = True

    def __init__(self, family, treatment_law=None, seeds=None):
        super().__init__(family, seeds=seeds)
        self.treatment_law = treatment_law

    def covariates(self, X, n_threads):
        return X

    def check_design(self, T, treatment_names, n_independent=None):
        check_treatment_law(self.treatment_law, T, treatment_names,
                            n_independent=n_independent)

    def in_units(self, units, n_treatments, family):
        return RandomizedLambda(family,
                                internal_law(self.treatment_law, units, n_treatments),
                                self.seeds)

    def evaluate(self, fold, theta_test, data):
        plan = fold.plan
        values, probs = treatment_support(self.treatment_law, data.T[plan.train],
                                          plan.seeds.random_state("law"),
                                          data.weights_at(plan.train))
        lam = integrate_hessian(self.family, theta_test, values, probs)
        return lam, np.zeros(plan.test.size, dtype=bool)

    def support(self, T, weights=None):
        """The law's support points and probabilities on all rows (for projections)."""
        return treatment_support(self.treatment_law, T, self.seeds.random_state("support"),
                                 weights)

    def projector(self, theta, fold_id, X, T, *, n_threads, config, train, weights=None):
        values, probs = self.support(T, weights)
        family = self.family

        def project(target, J):
            return project_on_law(lambda th, t: target.jacobian(family, th, t),
                                  theta, values, probs)
        return project


class NetworkLambda(LambdaStrategy):
    """``lambda_model="network"``: the regressions of ``inner`` (analytic or regression
    for a single-index family, or the conditional law) fitted for all folds of a group as
    one batch of small networks."""

    batched = True

    def __init__(self, inner):
        super().__init__(inner.family, inner.lambda_model, inner.seeds)
        self.inner = inner
        self.method = inner.method
        self.needs_aux = inner.needs_aux

    def covariates(self, X, n_threads):
        return X

    def fit_warnings(self, X, T):
        return self.inner.fit_warnings(X, T)

    def in_units(self, units, n_treatments, family):
        strategy = super().in_units(units, n_treatments, family)
        if strategy is not self:
            strategy.inner = self.inner.in_units(units, n_treatments, family)
        return strategy

    def evaluate_group(self, folds, thetas, data, X32, config, train):
        """Λ̂ and floored rows of every fold of a group, from one batch of networks."""
        conditional = isinstance(self.inner, ConditionalLambda)
        inputs = []
        for fold in folds:
            if conditional:
                rows, d2 = fold.plan.train, np.ones(fold.plan.train.size)
            else:
                rows, d2 = self.inner.index_weights(fold, data)
            inputs.append(MomentTask(d2, data.T[rows], rows, fold.plan.test))
        moments = network_weighted_moments(inputs, X32,
                                           [f.plan.seeds.int("lambda_networks") for f in folds],
                                           network_config(config), train, data.weights)
        results = []
        for fold, theta, (a, mean, S, floored, resid) in zip(folds, thetas, moments):
            if conditional:
                values, probs, floored = law_from_moments(
                    mean, S, floored, resid, fold.plan.seeds.random_state("law"))
                lam = integrate_hessian(self.family, theta, values, probs)
            else:
                lam = moment_lambda(a, mean, S)
            results.append((lam, floored))
        return results

    def projector(self, theta, fold_id, X, T, *, n_threads, config, train, weights=None):
        X32 = X.astype(np.float32)
        return functools.partial(_network_project, X32=X32, fold_id=fold_id,
                                 config=network_config(config), train=train,
                                 seed=self.seeds.int("projection"), weights=weights)


def _network_project(target, J, *, X32, fold_id, config, train, seed, weights):
    return network_projection(J, X32, fold_id, config, train, seed, weights)


_STRATEGIES = {"analytic": AnalyticLambda, "regression": RegressionLambda,
               "conditional": ConditionalLambda}


def make_lambda_strategy(method, family, lambda_model=None, treatment_law=None, seeds=None):
    """The strategy of a resolved Λ method (:func:`choose_lambda_method`), drawing its
    seeds from ``seeds`` (the fit's :class:`~sklearn_dml._seeds.SeedTree`).

    A randomized design integrates over its law whatever ``lambda_model`` is; otherwise
    ``lambda_model="network"`` batches the method's regressions as networks.
    """
    if method == "randomized":
        return RandomizedLambda(family, treatment_law, seeds)
    strategy = _STRATEGIES[method](family, lambda_model, seeds)
    return NetworkLambda(strategy) if is_network(lambda_model) else strategy
