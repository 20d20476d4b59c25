"""Cross-fitting: splits from sklearn splitters, fold plans, and joblib tasks over fold groups.

A task trains the θ-networks of a group of folds as one batched ensemble (and,
in regime C, the auxiliary networks), then estimates θ̂ and Λ̂ on each fold's
held-out rows. Tasks return numpy arrays only. All seeds are drawn up front, so
results do not depend on ``n_jobs`` or the joblib backend.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import inspect
import os
import shutil
import tempfile
import warnings
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, cpu_count, delayed, effective_n_jobs, parallel_config
from joblib.parallel import get_active_backend
from sklearn.model_selection import GroupKFold, KFold
from threadpoolctl import ThreadpoolController, threadpool_limits

from ._lambda import (
    conditional_law,
    index_moment_lambda,
    integrate_hessian,
    lambda_features,
    lambda_hessians,
    lambda_index_weights,
    law_from_moments,
    moment_lambda,
    regress_hessian,
    treatment_support,
)
from ._lambda_networks import is_network, network_config, network_weighted_moments
from ._nets import predict_theta
from ._progress import Stopwatch, log, progress_bar
from ._training import DIVERGENCE_GROWTH, diverged_members, train_ensemble
from .families._index import IndexFamily, index

MAX_SEED = 2**31 - 1


def member_seed(fold_seed, b):
    """Seed of the b-th network of a fold; b = 0 keeps the fold's own seed."""
    return int((fold_seed + 104729 * b) % MAX_SEED)
MIN_TRAIN_ROWS = 4


@dataclass
class FoldPlan:
    """What one fold needs: its rows and seeds."""

    rep: int
    fold: int
    train: np.ndarray
    test: np.ndarray
    seed: int
    # regime C: the two halves of the training part; an auxiliary θ-network trains on each
    # and gives the Hessians of the other half
    aux_rows: np.ndarray | None = None
    lambda_rows: np.ndarray | None = None
    aux_seed: int = 0
    law_seed: int = 0


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


def plan_crossfit(cv, n_rep, X, T, groups, needs_aux, rng, check_treatment=True):
    """Draw every split and seed up front.

    Returns
    -------
    list of lists of FoldPlan, one list per repetition.
    """
    plans = []
    for rep in range(n_rep):
        split_seed = int(rng.randint(MAX_SEED))
        splits = _splits_for_rep(cv, X, T, groups, split_seed, reshuffle=n_rep > 1)
        _check_partition(splits, X.shape[0])
        K = len(splits)
        seeds = rng.randint(MAX_SEED, size=(K, 4))
        rep_plans = []
        for k, (train, test) in enumerate(splits):
            plan = FoldPlan(rep, k, train, test, int(seeds[k, 0]), aux_seed=int(seeds[k, 1]),
                            law_seed=int(seeds[k, 2]))
            where = f"training rows of fold {k} (repetition {rep})"
            if check_treatment:
                _check_treatment_variation(T, train, where)
            if needs_aux and K > 1:  # without cross-fitting (cv=1) Λ̂ is taken at θ̂ itself
                order = np.random.RandomState(seeds[k, 3]).permutation(train)
                half = order.size // 2
                plan.aux_rows, plan.lambda_rows = np.sort(order[:half]), np.sort(order[half:])
                if check_treatment:
                    for rows in (plan.aux_rows, plan.lambda_rows):
                        _check_treatment_variation(
                            T, rows, f"half of the {where} on which an auxiliary θ-network "
                            "trains")
            rep_plans.append(plan)
        plans.append(rep_plans)
    return plans


def _lambda_covariates(X, family, method, lambda_model, n_threads):
    """X as the Λ stage's regressions see it: the bin codes of :func:`lambda_features` for
    gradient boosting (the default of an index family and of the conditional law), X
    itself for the default random forest over whole Hessian matrices, for networks and
    where Λ integrates over a known law."""
    if method == "randomized" or is_network(lambda_model):
        return X
    if lambda_model is None and method != "conditional" and not isinstance(family, IndexFamily):
        return X
    return lambda_features(X, lambda_model, n_threads)


def _fold_group(plans, X, X_lambda, T, Y, weights, family, config, method, lambda_model,
                treatment_law, n_threads, lambda_threads):
    """Train and evaluate a group of folds; runs inside a joblib worker.

    ``X`` feeds the networks, ``X_lambda`` (X or its bin codes, :func:`lambda_features`)
    the Λ regressions.
    """
    previous = torch.get_num_threads()
    with threadpool_limits(limits=n_threads):
        torch.set_num_threads(n_threads)
        try:
            return _fold_group_body(plans, X, X_lambda, T, Y, weights, family, config,
                                    method, lambda_model, treatment_law, lambda_threads)
        except Exception as exc:
            folds = [p.fold for p in plans]
            raise RuntimeError(
                f"Cross-fitting failed in fold(s) {folds} of repetition {plans[0].rep}: "
                f"{type(exc).__name__}: {exc}") from exc
        finally:
            torch.set_num_threads(previous)


def _fold_group_body(plans, X, X_lambda, T, Y, weights, family, config, method, lambda_model,
                     treatment_law, lambda_threads):
    X32 = X.astype(np.float32)
    where = f"repetition {plans[0].rep}, fold(s) {[p.fold for p in plans]}"
    clock = Stopwatch()
    B = config.n_networks  # members m*B .. m*B+B-1 belong to fold plans[m]
    main = _train_with_retry(X32, T, Y, weights, [p.train for p in plans for _ in range(B)],
                             [member_seed(p.seed, b) for p in plans for b in range(B)], family,
                             config, plans, "θ-network")
    log(config.verbose, 1, f"{where}: θ-networks trained in {clock():.1f} s (best epochs "
        f"{main['best_epoch'].tolist()})")
    aux = None
    if method == "regression" and plans[0].aux_rows is not None:
        # two per fold, each predicting the half the other trained on
        aux = _train_with_retry(X32, T, Y, weights,
                                [rows for p in plans for rows in (p.aux_rows, p.lambda_rows)],
                                [member_seed(p.aux_seed, b) for p in plans for b in range(2)],
                                family,
                                dataclasses.replace(config, label="auxiliary θ-network",
                                                    n_networks=1), plans,
                                "auxiliary θ-network (for Λ)")
        log(config.verbose, 1, f"{where}: auxiliary θ-networks (for Λ) trained, "
            f"{clock():.1f} s so far")
    lambda_clock = Stopwatch()
    processes = False
    if is_network(lambda_model) and method != "randomized":
        results = _evaluate_folds_by_networks(plans, main, aux, X32, T, Y, family, method,
                                              network_config(config), B)
    else:
        # the randomized design's Λ integrates over a known law: no regressions to spread
        processes = (method != "randomized"
                     and lambda_in_processes(X.shape[0], len(plans), lambda_threads))
        with _memory_mapped(X_lambda, X32, enabled=processes) as (X_shared, X32_shared):
            evaluate = functools.partial(_evaluate_fold, main=main, aux=aux, X=X_shared,
                                         X32=X32_shared, T=T, Y=Y, family=family,
                                         method=method, lambda_model=lambda_model,
                                         treatment_law=treatment_law, B=B)
            results = map_folds(evaluate, enumerate(plans), lambda_threads,
                                processes=processes)
    log(config.verbose, 1, f"{where}: Λ(x) ({method}) in {lambda_clock():.1f} s"
        + (" (folds in worker processes)" if processes else ""))
    return main["layers"], results


def map_folds(function, items, n_threads, processes=False):
    """``[function(item) for item in items]`` on ``n_threads`` OpenMP/BLAS threads in all.

    With several threads and several folds, the folds run concurrently, each with an equal
    share of the OpenMP threads: in Python threads, or with ``processes=True`` in loky worker
    processes (``function`` must then pickle; see :func:`lambda_in_processes`). The Λ
    nuisance fits (small-tree gradient boosting) use many threads poorly. Measured on the
    same machine, the logit's Λ stage of five folds one after another on all cores vs side
    by side: 33.0 s vs 15.3 s at 5·10⁵ rows on an H100 machine's 16 cores (whole fit 57.1 s
    vs 35.9 s, same estimate); 11.3 s vs 8.8 s at 10⁵ rows on 2 cores. OpenMP's thread
    count is per calling thread, so each Python thread sets its own; the BLAS pools are
    process-wide and get the per-thread share for the whole section.
    """
    items = list(items)
    n_concurrent = min(len(items), n_threads)
    if n_concurrent <= 1:
        with threadpool_limits(limits=n_threads):
            return [function(item) for item in items]
    per_thread = max(1, n_threads // n_concurrent)
    if processes:
        try:
            with parallel_config(backend="loky", inner_max_num_threads=per_thread):
                return Parallel(n_jobs=n_concurrent)(delayed(function)(item) for item in items)
        except BrokenExecutor as exc:  # a worker killed (often for memory) or not started
            raise RuntimeError(
                f"The Λ stage's {n_concurrent} worker processes stopped ({exc}). If memory is "
                "short, or processes cannot be started here, fit inside `with joblib."
                "parallel_config(backend='threading'):` to run the folds in threads in this "
                "process.") from exc
    controller = ThreadpoolController()

    def run(item):
        with controller.limit(limits=per_thread, user_api="openmp"):
            return function(item)

    with controller.limit(limits=per_thread, user_api="blas"), \
            ThreadPoolExecutor(n_concurrent, thread_name_prefix="sklearn_dml-fold") as pool:
        return list(pool.map(run, items))


def lambda_in_processes(n_rows, n_folds, n_threads):
    """Whether the Λ stage's fold fits run in worker processes rather than Python threads.

    Measured on an H100 machine's 16 cores (benchmarks/gpu.py, five folds side by side, a
    fresh interpreter per fit, so the workers' start is counted): the logit's whole fit at
    10⁶ rows took 48.7 s and 57.5 s with the folds in processes against 84.6 s and 84.2 s
    in threads (Λ stage 28.5 s against 58.6 s), with the same estimates; at 5·10⁵ rows
    43.7 s against 48.2 s; at 2·10⁵ rows the processes' start cost more than they saved
    (logit 29.0 s against 26.6 s, linear 17.1 s against 13.1 s). Gradient-boosting fits
    alone ran as fast in threads as in processes (35 fits at 8·10⁵ rows: 28.8 s against
    27.5 s; benchmarks/lambda_threads.py), so the threads' loss lies in the rest of the
    fold's work (the data copies and the networks' forward passes around the fits); it
    was not isolated further. Processes are used from ``LAMBDA_PROCESSES_MIN_ROWS`` rows,
    with at least ``LAMBDA_PROCESSES_MIN_CONCURRENT`` fits at once (on 2 cores, two at once,
    the logit's Λ stage at 4·10⁵ rows took 47.8 s in processes against 43.1 s in threads,
    the same estimate); never inside a joblib worker, where nesting would oversubscribe, nor
    under ``joblib.parallel_config(backend="threading")`` (or "sequential"), the user's way
    to keep a fit in one process. loky keeps its workers for later fits.
    """
    n_concurrent = min(n_folds, n_threads)
    if n_rows < LAMBDA_PROCESSES_MIN_ROWS or n_concurrent < LAMBDA_PROCESSES_MIN_CONCURRENT:
        return False
    backend, _ = get_active_backend()
    return (getattr(backend, "nesting_level", 0) == 0
            and not getattr(backend, "supports_sharedmem", False))


@contextlib.contextmanager
def _memory_mapped(*arrays, enabled=True):
    """The arrays as read-only memory maps in a temporary folder while the block runs.

    joblib sends a memory-mapped array to worker processes by file name; a plain one it
    hashes (about 0.2 s per 100 MB) for every task that carries it.
    """
    if not enabled:
        yield arrays
        return
    folder = tempfile.mkdtemp(prefix="sklearn_dml_",
                              dir=_shared_memory_dir(sum(a.nbytes for a in arrays)))
    try:
        maps = []
        for i, array in enumerate(arrays):
            path = os.path.join(folder, f"{i}.npy")
            np.save(path, array)
            maps.append(np.load(path, mmap_mode="r"))
        yield tuple(maps)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _shared_memory_dir(nbytes, shm="/dev/shm"):
    """``shm`` (memory, not disk) where it is writable and has twice ``nbytes`` free, else
    None, the system's temporary folder: containers often give /dev/shm 64 MB."""
    try:
        stats = os.statvfs(shm)
    except (OSError, AttributeError):  # no such folder; no statvfs on Windows
        return None
    free = stats.f_bavail * stats.f_frsize
    return shm if os.access(shm, os.W_OK) and free >= 2 * nbytes else None


def _evaluate_fold(fold, *, main, aux, X, X32, T, Y, family, method, lambda_model,
                   treatment_law, B):
    """θ̂ and Λ̂ at the test rows of ``fold = (m, plan)``, the group's m-th fold.

    ``X`` holds the covariates of the Λ regressions (:func:`lambda_features`), ``X32``
    those of the networks.
    """
    m, plan = fold
    theta_test = _theta_test(m, plan, main, X32, B)
    floored = np.zeros(plan.test.size, dtype=bool)
    if method == "randomized":
        values, probs = treatment_support(treatment_law, T[plan.train],
                                          np.random.RandomState(plan.law_seed))
        lam = integrate_hessian(family, theta_test, values, probs)
    elif method == "conditional":
        values, probs, floored = conditional_law(T[plan.train], X[plan.train], X[plan.test],
                                                 lambda_model,
                                                 np.random.RandomState(plan.law_seed))
        lam = integrate_hessian(family, theta_test, values, probs)
    else:
        rows, theta_rows = _hessian_rows(m, plan, aux, main, X32, theta_test.shape[1], method,
                                         B)
        if isinstance(family, IndexFamily):  # expected ℓ'' / ℓ_θθ where ℓ_θθ depends on y
            d2 = _index_weights(family, Y[rows], T[rows], theta_rows, method, aux is not None)
            lam, floored = index_moment_lambda(d2, T[rows], X[rows], X[plan.test],
                                               lambda_model)
        else:
            H = lambda_hessians(family, Y[rows], T[rows], theta_rows)
            lam = regress_hessian(H, X[rows], X[plan.test], lambda_model)
    return _fold_result(m, plan, main, theta_test, lam, floored, B)


def _evaluate_folds_by_networks(plans, main, aux, X32, T, Y, family, method, config, B):
    """:func:`_evaluate_fold` for every fold of the group, with the Λ regressions of all
    folds fitted as one batch of networks (``lambda_model="network"``; index families, or
    the conditional law of T, as :func:`~sklearn_dml._lambda_networks.check_lambda_model`
    ensures)."""
    thetas = [_theta_test(m, plan, main, X32, B) for m, plan in enumerate(plans)]
    folds = []
    for m, plan in enumerate(plans):
        if method == "conditional":
            rows, d2 = plan.train, np.ones(plan.train.size)
        else:
            rows, theta_rows = _hessian_rows(m, plan, aux, main, X32, thetas[m].shape[1],
                                             method, B)
            d2 = _index_weights(family, Y[rows], T[rows], theta_rows, method, aux is not None)
        folds.append({"d2": d2, "T": T[rows], "fit_rows": rows, "pred_rows": plan.test})
    moments = network_weighted_moments(folds, X32, [plan.law_seed for plan in plans], config)
    results = []
    for m, (plan, (a, mean, S, floored, resid)) in enumerate(zip(plans, moments)):
        if method == "conditional":
            values, probs, floored = law_from_moments(mean, S, floored, resid,
                                                      np.random.RandomState(plan.law_seed))
            lam = integrate_hessian(family, thetas[m], values, probs)
        else:
            lam = moment_lambda(a, mean, S)
        results.append(_fold_result(m, plan, main, thetas[m], lam, floored, B))
    return results


def _theta_test(m, plan, main, X32, B):
    """θ̂ at the fold's test rows: the mean of its ``B`` networks."""
    return np.mean([predict_theta(main["layers"], X32[plan.test], member=m * B + b)
                    for b in range(B)], axis=0)


def _hessian_rows(m, plan, aux, main, X32, theta_dim, method, B):
    """The rows whose Hessians estimate Λ, and θ there: zeros where ℓ_θθ is free of θ
    (analytic); for "regression", each half's θ from the auxiliary network that did not
    see it, or without cross-fitting (no auxiliary networks) θ̂ itself, so that a θ that
    cannot vary gives the classical sandwich."""
    if method == "analytic":
        return plan.train, np.zeros((plan.train.size, theta_dim))
    if aux is None:
        return plan.train, np.mean([predict_theta(main["layers"], X32[plan.train],
                                                  member=m * B + b) for b in range(B)], axis=0)
    rows = np.concatenate([plan.lambda_rows, plan.aux_rows])
    theta_rows = np.concatenate([
        predict_theta(aux["layers"], X32[plan.lambda_rows], member=2 * m),
        predict_theta(aux["layers"], X32[plan.aux_rows], member=2 * m + 1)])
    return rows, theta_rows


def _index_weights(family, y, t, theta_rows, method, auxiliary):
    """Index weights of Λ̂; the secant and observed-ℓ'' forms correct for the auxiliary fit's
    error, so they apply only where θ there comes from an auxiliary network."""
    elsewhere = method == "regression" and auxiliary
    return lambda_index_weights(family, y, index(t, theta_rows),
                                secant=elsewhere and family.secant_lambda,
                                observed=elsewhere and family.observed_lambda)


def _fold_result(m, plan, main, theta_test, lam, floored, B):
    return {"rep": plan.rep, "fold": plan.fold, "test": plan.test,
            "theta": theta_test, "lambda": lam, "floored": floored,
            "best_epoch": float(np.mean(main["best_epoch"][m * B:(m + 1) * B])),
            "history": main["history"][:, m * B] if main["history"].size else None}


# Held-out rows per network on which θ̂ is compared with the network's start: divergence
# spoils every row, so evenly spaced rows up to this many suffice and keep the check cheap.
HELD_OUT_CHECK_ROWS = 10_000


def _divergence(fit, X, T, Y, weights, rows, family, plans, config):
    """(fold, what went wrong) for each network of ``fit`` that diverged.

    A network diverged when the loss of its returned weights is not finite or grew by
    orders of magnitude from the start (:func:`~sklearn_dml._training.diverged_members`),
    or when its θ̂, on rows of its fold it did not train on, gives a mean loss more than
    ``DIVERGENCE_GROWTH`` times their mean absolute loss at its start above the start's: θ̂
    far outside what the data support.
    """
    per_plan = len(rows) // len(plans)
    monitored = "validation" if config.early_stopping else "training"
    problems = []
    for i in np.flatnonzero(diverged_members(fit)):
        end, start = fit["end_loss"][i], fit["start_loss"][i]
        problems.append((plans[i // per_plan].fold, (
            f"the {monitored} loss is not finite" if not np.isfinite(end) else
            f"the {monitored} loss of the returned weights is {end:.3g}, against {start:.3g} "
            "at the start")))
    flagged = {fold for fold, _ in problems}
    for i, train in enumerate(rows):
        plan = plans[i // per_plan]
        if plan.fold in flagged:
            continue
        held = np.zeros(X.shape[0], dtype=bool)
        held[plan.train] = held[plan.test] = True
        held[train] = False
        held = np.flatnonzero(held)
        if held.size > HELD_OUT_CHECK_ROWS:
            held = held[np.linspace(0, held.size - 1, HELD_OUT_CHECK_ROWS).astype(int)]
        w = weights[held]
        if w.sum() <= 0:  # cv=1 (no held-out rows), or zero weights on all of them
            continue
        with torch.no_grad():
            y, t = torch.as_tensor(Y[held]), torch.as_tensor(T[held])
            fitted, begun = (family.loss(y, t, torch.as_tensor(
                predict_theta(layers, X[held], member=i))).numpy()
                for layers in (fit["layers"], fit["start_layers"]))
        with np.errstate(all="ignore"):
            loss, start = np.average(fitted, weights=w), np.average(begun, weights=w)
            scale = np.average(np.abs(begun), weights=w)
            if not np.isfinite(start) or loss - start <= DIVERGENCE_GROWTH * scale:
                continue  # a start without a finite loss cannot judge
        problems.append((plan.fold, (
            f"θ̂ gives a mean loss of {loss:.3g} on {held.size} rows it did not train on, "
            f"against {start:.3g} at the start: θ̂ lies far outside what the data support")))
    return problems


def _train_with_retry(X, T, Y, weights, rows, seeds, family, config, plans, what):
    """Train; if a network diverges, retry the group once with a ten times smaller learning
    rate (Adam), then raise naming the fold(s).

    A network diverged when its validation loss (its training loss without early
    stopping) is not finite or grew by orders of magnitude from the start, or when its θ̂
    lies far outside what the data support (see :func:`_divergence`).
    """
    fit = train_ensemble(X, T, Y, weights, rows, seeds, family, config)
    problems = _divergence(fit, X, T, Y, weights, rows, family, plans, config)
    rep = plans[0].rep
    if problems and config.solver != "lbfgs":  # L-BFGS takes no learning rate
        config = dataclasses.replace(config, lr=config.lr / 10)
        warnings.warn(f"Training of the {what} diverged in fold {problems[0][0]} of repetition "
                      f"{rep} ({problems[0][1]}); retrying with lr={config.lr:g}.",
                      RuntimeWarning, stacklevel=2)
        fit = train_ensemble(X, T, Y, weights, rows, seeds, family, config)
        problems = _divergence(fit, X, T, Y, weights, rows, family, plans, config)
    if problems:
        bad = sorted({fold for fold, _ in problems})
        fold, detail = problems[0]
        also = f", also with lr={config.lr:g}" if config.solver != "lbfgs" else ""
        advice = ("Use a smaller lr (the default is 0.01), standardize T and Y, and check them"
                  if config.solver != "lbfgs" else "Standardize T and Y, and check them")
        raise FloatingPointError(
            f"Training of the {what} diverged in fold(s) {bad} of repetition {rep}{also}: in "
            f"fold {fold}, {detail}. {advice} for extreme values; the estimate would be "
            "meaningless.")
    return fit


# Rows (all of the data) from which the Λ stage's concurrent fold fits run in processes, and
# the fewest fits at once for which they do; see lambda_in_processes.
LAMBDA_PROCESSES_MIN_ROWS = 400_000
LAMBDA_PROCESSES_MIN_CONCURRENT = 3

# Rows per Λ nuisance fit from which its OpenMP/BLAS threads pay for themselves when the fold
# groups run one after another. Measured (HistGradientBoosting, d = 20, 2 cores): 4000 rows,
# 0.105 s wall on 1 thread vs 0.088 s on 2 at 40% more CPU; 200,000 rows, 2.05 s vs 1.27 s.
LAMBDA_THREADS_MIN_ROWS = 20_000


def n_task_threads(torch_num_threads, parallel):
    """Torch/BLAS threads per task: 1 inside parallel workers unless told otherwise."""
    if torch_num_threads != "auto":
        return int(torch_num_threads)
    # Small θ-networks run fastest single-threaded (measured: 3.3 s vs 12.1 s with 2 threads).
    return 1


def n_lambda_threads(torch_num_threads, n_groups_at_once, n_rows):
    """OpenMP/BLAS threads for the Λ stage of one fold group.

    Nuisance fits on ``LAMBDA_THREADS_MIN_ROWS`` rows or more share the cores among the fold
    groups running at once; smaller ones run as training does (one thread under "auto").
    """
    if torch_num_threads != "auto" or n_rows < LAMBDA_THREADS_MIN_ROWS:
        return n_task_threads(torch_num_threads, n_groups_at_once > 1)
    return max(1, cpu_count(only_physical_cores=True) // n_groups_at_once)


def run_crossfit(plans, X, T, Y, weights, family, config, method, lambda_model, treatment_law,
                 n_jobs, torch_num_threads, verbose=0):
    """Run all fold groups with joblib and gather per-repetition arrays.

    Returns
    -------
    list (one per repetition) of dicts with ``theta`` (n, d), ``lambda`` (n, d, d),
    ``fold_id`` (n,), ``layers`` (stacked weights of the K fold networks) and
    ``best_epoch`` (K,).
    """
    n_workers = effective_n_jobs(n_jobs)
    groups = []
    for rep_plans in plans:
        k = len(rep_plans)
        n_chunks = min(k, max(1, n_workers))
        groups.extend([rep_plans[c[0]:c[-1] + 1] for c in np.array_split(np.arange(k), n_chunks)])
    parallel = n_workers > 1 and len(groups) > 1
    threads = n_task_threads(torch_num_threads, parallel)
    lambda_threads = n_lambda_threads(torch_num_threads, min(n_workers, len(groups)) if parallel
                                      else 1, X.shape[0])
    X_lambda = _lambda_covariates(X, family, method, lambda_model, lambda_threads)
    # progress bars (verbose >= 1, tqdm installed): over epochs where the folds train in this
    # process, over fold groups where they train in workers
    config = dataclasses.replace(config, progress=verbose >= 1 and not parallel)
    group_bar = verbose >= 1 and parallel
    tasks = Parallel(n_jobs=n_jobs, prefer="processes",
                     return_as="generator" if group_bar else "list",
                     verbose=verbose if verbose >= 2 else 0)(
        delayed(_fold_group)(g, X, X_lambda, T, Y, weights, family, config, method,
                             lambda_model, treatment_law, threads, lambda_threads)
        for g in groups
    )
    bar = progress_bar(group_bar, len(groups), "fold groups", "group", delay=0.0)
    outputs = []
    for output in tasks:
        outputs.append(output)
        bar.update()
    bar.close()
    n, d = X.shape[0], family.theta_dim(T.shape[1])
    reps = []
    for rep in range(len(plans)):
        theta = np.full((n, d), np.nan)
        lam = np.full((n, d, d), np.nan)
        floored = np.zeros(n, dtype=bool)
        fold_id = np.full(n, -1)
        layer_parts, best_epoch, histories = [], [], []
        for layers, results in outputs:
            if results[0]["rep"] != rep:
                continue
            layer_parts.append(layers)
            for r in results:
                theta[r["test"]] = r["theta"]
                lam[r["test"]] = r["lambda"]
                floored[r["test"]] = r["floored"]
                fold_id[r["test"]] = r["fold"]
                best_epoch.append(r["best_epoch"])
                histories.append(r["history"])
        stacked = [(np.concatenate([lp[i][0] for lp in layer_parts]),
                    np.concatenate([lp[i][1] for lp in layer_parts]))
                   for i in range(len(layer_parts[0]))]
        reps.append({"theta": theta, "lambda": lam, "floored": floored, "fold_id": fold_id,
                     "layers": stacked,
                     "best_epoch": np.array(best_epoch), "history": histories})
    return reps
