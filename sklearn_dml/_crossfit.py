"""Cross-fitting: splits from sklearn splitters, fold plans, and joblib tasks over fold groups.

A task trains the θ-networks of a group of folds as one batched ensemble (and the
auxiliary networks where the Λ strategy needs them), then takes θ̂ on each fold's
held-out rows and asks the Λ strategy (:mod:`sklearn_dml._lambda`) for Λ̂ there. Tasks
return numpy arrays only. Every seed comes from the fit's seed tree
(:mod:`sklearn_dml._seeds`) by its fold and purpose, whichever worker runs the fold.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.model_selection import GroupKFold, KFold

from ._divergence import train_with_retry
from ._lambda import LambdaData, varying_weights
from ._nets import predict_theta
from ._parallel import (
    lambda_in_processes,
    limited_threads,
    map_folds,
    memory_mapped,
    n_lambda_threads,
    n_task_threads,
)
from ._progress import Stopwatch, log, progress_bar
from ._row_splits import split_permuted
from ._seeds import SeedTree
from ._training import train_ensemble

MIN_TRAIN_ROWS = 4


@dataclass
class FoldPlan:
    """What one fold needs: its rows and its node of the seed tree."""

    rep: int
    fold: int
    train: np.ndarray
    test: np.ndarray
    seeds: SeedTree
    # regime C: the two halves of the training part; an auxiliary θ-network trains on each
    # and gives the Hessians of the other half
    aux_rows: np.ndarray | None = None
    lambda_rows: np.ndarray | None = None


def _group_kfold(n_splits, seed):
    """GroupKFold over shuffled groups (scikit-learn >= 1.6), so that repetitions differ."""
    if "shuffle" in inspect.signature(GroupKFold).parameters:
        return GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return GroupKFold(n_splits=n_splits)


def _splits_for_rep(cv, X, T, groups, seed, reshuffle):
    """The (train, test) splits of one repetition: from an int (KFold, or GroupKFold with
    ``groups``), a splitter, or an iterable of splits."""
    n = X.shape[0]
    if isinstance(cv, (int, np.integer)):
        if cv == 1:
            rows = np.arange(n)
            return [(rows, rows)]
        splitter = _group_kfold(int(cv), seed) if groups is not None else \
            KFold(n_splits=int(cv), shuffle=True, random_state=seed)
    elif hasattr(cv, "split"):
        splitter = cv
        if reshuffle and getattr(cv, "shuffle", False) and hasattr(cv, "random_state"):
            splitter = copy.deepcopy(cv)  # repeated cross-fitting: a new shuffle per repetition
            splitter.random_state = seed
    else:
        return [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    no_groups = ValueError(
        f"cv={type(splitter).__name__}(...) splits by groups, but fit got no groups. Pass the "
        "group labels to fit: est.fit(X, T, Y, groups=groups) (inside a meta-estimator with "
        "metadata routing, also est.set_fit_request(groups=True)).")
    # scikit-learn's group splitters (GroupKFold, StratifiedGroupKFold, LeaveOneGroupOut, ...)
    if groups is None and "Group" in type(splitter).__name__:
        raise no_groups
    try:
        return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, T[:, 0], groups)]
    except ValueError as exc:
        if groups is None and "groups" in str(exc):  # a group splitter by another name
            raise no_groups from exc
        if "target types" in str(exc):  # a stratified splitter on a continuous T
            raise ValueError(
                f"cv={type(splitter).__name__}(...) stratifies on the first treatment column, "
                f"which is not discrete ({exc}). Use cv=KFold(5, shuffle=True), or pass the "
                "splits of another variable: cv=list(StratifiedKFold(5, shuffle=True)"
                ".split(X, Y)).") from exc
        raise ValueError(f"The cross-fitting splitter failed: {exc} Use fewer folds (cv).") from exc


def _check_partition(splits, n):
    if len(splits) == 1 and splits[0][0].size == n and splits[0][1].size == n:
        return
    counts = np.zeros(n, dtype=int)
    for train, test in splits:
        counts[test] += 1
        if np.intersect1d(train, test).size:
            raise ValueError("A cross-fitting split has rows in both its train and test parts.")
    if not np.all(counts == 1):
        raise ValueError(
            "Cross-fitting needs the test folds to partition the rows (each row held out exactly "
            f"once); {np.sum(counts != 1)} rows are held out 0 or several times. Use a KFold-type "
            "splitter, not ShuffleSplit."
        )
    for k, (train, test) in enumerate(splits):
        if test.size < 2 or train.size < MIN_TRAIN_ROWS:
            raise ValueError(
                f"Fold {k} has {test.size} held-out and {train.size} training rows; each fold "
                f"needs at least 2 held-out and {MIN_TRAIN_ROWS} training rows. Use fewer folds "
                "(a smaller cv) or more data."
            )


def _check_treatment_variation(T, rows, where):
    """A treatment constant on the rows that estimate Λ(x) leaves Λ̂ singular: refuse."""
    for j in range(T.shape[1]):
        if rows.size and np.ptp(T[rows, j]) == 0:
            raise ValueError(
                f"Treatment column {j} is constant ({T[rows[0], j]:g}) on the {where}, so Λ(x) "
                "is not identified there and the estimate would be arbitrary. Use a splitter "
                "stratified on T (cv=StratifiedKFold(5, shuffle=True) stratifies on the first "
                "treatment column), fewer folds, or more data.")


def plan_crossfit(cv, n_rep, X, T, groups, needs_aux, seeds, check_treatment=True):
    """Draw every split up front; ``seeds`` (:class:`~sklearn_dml._seeds.SeedTree`) is the
    fit's root, each fold gets its node below it.

    Returns
    -------
    list of lists of FoldPlan, one list per repetition.
    """
    plans = []
    codes = None if groups is None else np.unique(groups, return_inverse=True)[1].ravel()
    for rep in range(n_rep):
        rep_seeds = seeds.child(rep)
        splits = _splits_for_rep(cv, X, T, groups, rep_seeds.int("split"), reshuffle=n_rep > 1)
        _check_partition(splits, X.shape[0])
        K = len(splits)
        rep_plans = []
        for k, (train, test) in enumerate(splits):
            plan = FoldPlan(rep, k, train, test, rep_seeds.child(k))
            where = f"training rows of fold {k} (repetition {rep})"
            if check_treatment:
                _check_treatment_variation(T, train, where)
            if needs_aux and K > 1:  # without cross-fitting (cv=1) Λ̂ is taken at θ̂ itself
                order = plan.seeds.random_state("halves").permutation(train)
                halves = split_permuted(order, order.size // 2, codes)
                plan.aux_rows, plan.lambda_rows = np.sort(halves[0]), np.sort(halves[1])
                if check_treatment:
                    for rows in (plan.aux_rows, plan.lambda_rows):
                        _check_treatment_variation(
                            T, rows, f"half of the {where} on which an auxiliary θ-network "
                            "trains")
            rep_plans.append(plan)
        plans.append(rep_plans)
    return plans


def _fold_group(plans, data, X_lambda, family, config, strategy, n_threads, lambda_threads):
    """Train and evaluate a group of folds; runs inside a joblib worker.

    ``data`` (:class:`~sklearn_dml._training.TrainingData`) feeds the networks,
    ``X_lambda`` (X or its bin codes, :meth:`~sklearn_dml._lambda.LambdaStrategy.covariates`)
    the Λ regressions.
    """
    with limited_threads(n_threads):
        try:
            return _fold_group_body(plans, data.as_float32(), X_lambda, family, config,
                                    strategy, lambda_threads)
        except Exception as exc:
            folds = [p.fold for p in plans]
            raise RuntimeError(
                f"Cross-fitting failed in fold(s) {folds} of repetition {plans[0].rep}: "
                f"{type(exc).__name__}: {exc}") from exc


def _fold_group_body(plans, data, X_lambda, family, config, strategy, lambda_threads):
    where = f"repetition {plans[0].rep}, fold(s) {[p.fold for p in plans]}"
    clock = Stopwatch()
    B = config.n_networks  # members m*B .. m*B+B-1 belong to fold plans[m]
    main = train_with_retry(data, [p.train for p in plans for _ in range(B)],
                            [s for p in plans for s in p.seeds.child("theta").ints(B)], family,
                            config, plans, "θ-network")
    log(config.verbose, 1, f"{where}: θ-networks trained in {clock():.1f} s (best epochs "
        f"{main.best_epoch.tolist()})")
    aux = None
    if strategy.needs_aux and plans[0].aux_rows is not None:
        # two per fold, each predicting the half the other trained on
        aux = train_with_retry(data,
                               [rows for p in plans for rows in (p.aux_rows, p.lambda_rows)],
                               [s for p in plans for s in p.seeds.child("aux").ints(2)],
                               family,
                               dataclasses.replace(config, label="auxiliary θ-network",
                                                   n_networks=1), plans,
                               "auxiliary θ-network (for Λ)")
        log(config.verbose, 1, f"{where}: auxiliary θ-networks (for Λ) trained, "
            f"{clock():.1f} s so far")
    lambda_clock = Stopwatch()
    processes = (strategy.spreads_fits and not strategy.batched
                 and lambda_in_processes(data.X.shape[0], len(plans), lambda_threads))
    with memory_mapped(X_lambda, data.X, enabled=processes) as (X_shared, X32_shared):
        folds = [FoldNetworks(plan, m, B, main.layers,
                              None if aux is None else aux.layers, X32_shared)
                 for m, plan in enumerate(plans)]
        lambda_data = LambdaData(X_shared, data.T, data.Y, varying_weights(data.weights))
        if strategy.batched:
            thetas = [fold.theta(fold.plan.test) for fold in folds]
            lambdas = strategy.evaluate_group(folds, thetas, lambda_data, data.X, config,
                                              train_ensemble)
            evaluated = [(theta, *result) for theta, result in zip(thetas, lambdas)]
        else:
            evaluate = functools.partial(_evaluate_fold, strategy=strategy, data=lambda_data)
            evaluated = map_folds(evaluate, folds, lambda_threads, processes=processes)
    results = [_fold_result(fold, main, *values) for fold, values in zip(folds, evaluated)]
    log(config.verbose, 1, f"{where}: Λ(x) ({strategy.method}) in {lambda_clock():.1f} s"
        + (" (folds in worker processes)" if processes else ""))
    return main.layers, results


def check_plans(plans, codes, weights):
    """Raise unless the folds keep each group whole and every part of a fold has weight."""
    check_groups_whole(codes, plans)
    check_fold_weights(plans, weights)


def check_groups_whole(codes, plans):
    """Raise unless every fold of every repetition keeps each group (``codes``) whole."""
    if codes is None:
        return
    for rep_plans in plans:
        if len(rep_plans) == 1:
            continue
        fold_of = np.empty(codes.size, dtype=int)
        for plan in rep_plans:
            fold_of[plan.test] = plan.fold
        representative = np.empty(codes.max() + 1, dtype=int)
        representative[codes] = fold_of  # the fold of some row of each group
        split = np.unique(codes[fold_of != representative[codes]])
        if split.size:
            raise ValueError(
                f"{split.size} of the groups passed to fit are split across cross-fitting "
                "folds; the folds must keep each group whole (an integer cv does: it becomes "
                "GroupKFold). Use a group splitter such as GroupKFold or "
                "StratifiedGroupKFold, or drop groups=.")


def check_fold_weights(plans, weights):
    """Raise where a part of a fold (training rows, test rows, or a half of the training
    rows in regime C) has no row of positive weight: nothing would be fitted or averaged."""
    if np.all(weights > 0):
        return
    for rep_plans in plans:
        for plan in rep_plans:
            parts = {"test": plan.test, "training": plan.train,
                     "first training half": plan.aux_rows,
                     "second training half": plan.lambda_rows}
            for part, rows in parts.items():
                if rows is not None and not np.any(weights[rows] > 0):
                    positive = int(np.sum(weights > 0))
                    raise ValueError(
                        f"The {part} rows of fold {plan.fold} (repetition {plan.rep}) all have "
                        f"sample_weight 0: only {positive} of {weights.size} rows have a "
                        "positive weight. Drop the rows of zero weight before fitting (they "
                        "carry no information), or use fewer folds.")


@dataclass
class FoldNetworks:
    """The trained networks of one fold of a group, as the Λ strategy queries them."""

    plan: FoldPlan
    member: int  # the fold's place m in its group: networks m*B .. m*B+B-1
    n_networks: int  # B
    main_layers: list
    aux_layers: list | None
    X32: np.ndarray

    def theta(self, rows):
        """θ̂ at ``rows``: the mean of the fold's ``B`` networks."""
        B, m = self.n_networks, self.member
        return np.mean([predict_theta(self.main_layers, self.X32[rows], member=m * B + b)
                        for b in range(B)], axis=0)

    def held_out_theta(self):
        """Both halves of the training part with θ from the auxiliary network that did
        not see each, or None without auxiliary networks."""
        if self.aux_layers is None:
            return None
        plan, m = self.plan, self.member
        rows = np.concatenate([plan.lambda_rows, plan.aux_rows])
        theta_rows = np.concatenate([
            predict_theta(self.aux_layers, self.X32[plan.lambda_rows], member=2 * m),
            predict_theta(self.aux_layers, self.X32[plan.aux_rows], member=2 * m + 1)])
        return rows, theta_rows


@dataclass
class FoldResult:
    """θ̂ and Λ̂ at one fold's held-out rows, with its training record."""

    rep: int
    fold: int
    test: np.ndarray
    theta: np.ndarray  # (n_test, d)
    lam: np.ndarray  # (n_test, d, d)
    floored: np.ndarray  # (n_test,) bool: a floor of the Λ stage binds
    best_epoch: float  # mean over the fold's networks
    history: np.ndarray | None


@dataclass
class CrossfitResult:
    """One repetition's cross-fitted θ̂ and Λ̂ at every row, in internal units."""

    theta: np.ndarray  # (n, d)
    lam: np.ndarray  # (n, d, d)
    floored: np.ndarray  # (n,) bool
    fold_id: np.ndarray  # (n,)
    layers: list  # stacked weights of the K fold networks
    best_epoch: np.ndarray  # (K,)
    history: list


def _evaluate_fold(fold, *, strategy, data):
    """θ̂ and Λ̂ at the test rows of one fold (a :class:`FoldNetworks`)."""
    theta_test = fold.theta(fold.plan.test)
    lam, floored = strategy.evaluate(fold, theta_test, data)
    return theta_test, lam, floored


def _fold_result(fold, main, theta_test, lam, floored):
    m, B, plan = fold.member, fold.n_networks, fold.plan
    return FoldResult(plan.rep, plan.fold, plan.test, theta_test, lam, floored,
                      float(np.mean(main.best_epoch[m * B:(m + 1) * B])),
                      main.history[:, m * B] if main.history.size else None)


def run_crossfit(plans, data, family, config, strategy, n_jobs, torch_num_threads, verbose=0):
    """Run all fold groups with joblib and gather per-repetition arrays.

    ``data`` (:class:`~sklearn_dml._training.TrainingData`) holds the standardized X and T,
    Y in the units the networks train in.

    Returns
    -------
    list of CrossfitResult, one per repetition.
    """
    n_workers = effective_n_jobs(n_jobs)
    groups = []
    for rep_plans in plans:
        k = len(rep_plans)
        n_chunks = min(k, max(1, n_workers))
        groups.extend([rep_plans[c[0]:c[-1] + 1] for c in np.array_split(np.arange(k), n_chunks)])
    parallel = n_workers > 1 and len(groups) > 1
    threads = n_task_threads(torch_num_threads)
    lambda_threads = n_lambda_threads(torch_num_threads, min(n_workers, len(groups)) if parallel
                                      else 1, data.X.shape[0])
    X_lambda = strategy.covariates(data.X if data.X_lambda is None else data.X_lambda,
                                   lambda_threads)
    # progress bars (verbose >= 1, tqdm installed): over epochs where the folds train in this
    # process, over fold groups where they train in workers
    config = dataclasses.replace(config, progress=verbose >= 1 and not parallel)
    group_bar = verbose >= 1 and parallel
    tasks = Parallel(n_jobs=n_jobs, prefer="processes",
                     return_as="generator" if group_bar else "list",
                     verbose=verbose if verbose >= 2 else 0)(
        delayed(_fold_group)(g, data, X_lambda, family, config, strategy, threads,
                             lambda_threads)
        for g in groups
    )
    bar = progress_bar(group_bar, len(groups), "fold groups", "group", delay=0.0)
    outputs = []
    for output in tasks:
        outputs.append(output)
        bar.update()
    bar.close()
    d = family.theta_dim(data.T.shape[1])
    return [_gather(rep, outputs, data.X.shape[0], d) for rep in range(len(plans))]


def _gather(rep, outputs, n, d):
    """The repetition's fold results, put back in row order."""
    theta = np.full((n, d), np.nan)
    lam = np.full((n, d, d), np.nan)
    floored = np.zeros(n, dtype=bool)
    fold_id = np.full(n, -1)
    layer_parts, best_epoch, histories = [], [], []
    for layers, results in outputs:
        if results[0].rep != rep:
            continue
        layer_parts.append(layers)
        for r in results:
            theta[r.test] = r.theta
            lam[r.test] = r.lam
            floored[r.test] = r.floored
            fold_id[r.test] = r.fold
            best_epoch.append(r.best_epoch)
            histories.append(r.history)
    stacked = [(np.concatenate([lp[i][0] for lp in layer_parts]),
                np.concatenate([lp[i][1] for lp in layer_parts]))
               for i in range(len(layer_parts[0]))]
    return CrossfitResult(theta, lam, floored, fold_id, stacked, np.array(best_epoch),
                          histories)


def predict_held_out(data, tests, seeds, family, config, n_threads):
    """θ̂ at every row from a network trained on the rows outside its fold.

    One network per fold of ``tests`` (held-out row sets partitioning the rows), trained
    as one batch on ``n_threads`` threads, without the divergence retry of the θ-networks:
    for diagnostics such as a comparison model.

    Returns
    -------
    ndarray (n, d)
    """
    data = data.as_float32()
    n = data.X.shape[0]
    trains = [np.setdiff1d(np.arange(n), te) for te in tests]
    with limited_threads(n_threads):
        fit = train_ensemble(data.X, data.T, data.Y, data.weights, trains, seeds, family,
                             config, data.groups)
    theta = np.empty((n, family.theta_dim(data.T.shape[1])))
    for k, te in enumerate(tests):
        theta[te] = predict_theta(fit.layers, data.X[te], member=k)
    return theta
