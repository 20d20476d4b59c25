"""``lambda_model="network"``: the Λ nuisance regressions as small networks, batched.

Every regression that the Λ stage of a group of folds needs (for an index family: the
weighted means a(x) and m(x), their out-of-fold versions and the conditional covariance
S(x), or the moments of T given X for the conditional law) becomes one member of an ensemble of
:class:`~sklearn_dml._nets.EnsembleStructuralNet` regressors, trained together by the
θ-networks' trainer (``train``, :func:`~sklearn_dml._training.train_ensemble`, passed in by
the caller so that this layer does not import the one above it) with squared loss on
standardized targets, each with its own rows, targets, validation split and early
stopping. All the folds of a group then cost about one small training run, on the
estimator's device, instead of seven gradient-boosting fits per fold on the CPU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from .._nets import predict_theta
from .._seeds import SeedTree
from ._hessians import unpack_symmetric
from ._moments import OVERLAP_FLOOR, finish_moments, moment_kind, propensity_from_arms

LARGE_BATCH_ROWS = 100_000  # from this many fitting rows per task, a 25th of them per step


class _StandardizedSquaredError:
    """Mean squared error over k scaled targets; the 'family' of a regression member.

    Columns marked ``positive`` (means of nonnegative quantities, such as a(x) and the
    diagonal of S(x)) are scaled by their mean and predicted through a softplus, so that a
    prediction cannot fall to or below zero where the targets never do; the others are
    standardized.
    """

    def __init__(self, positive):
        self.positive = np.asarray(positive, dtype=bool)
        self._masks = {}  # the mask on each device, made once rather than at every step

    def theta_dim(self, n_treatments):
        return self.positive.size

    def initial_bias(self, y, t):
        return np.where(self.positive, _SOFTPLUS_OF_ONE_INVERSE, 0.0)  # every target's mean

    def loss(self, y, t, theta):
        mask = self._masks.get(theta.device)
        if mask is None:
            mask = self._masks[theta.device] = torch.as_tensor(self.positive,
                                                               device=theta.device)
        return ((torch.where(mask, F.softplus(theta), theta) - y) ** 2).mean(dim=1)

    def output(self, raw):
        return np.where(self.positive, np.logaddexp(0.0, raw), raw)


_SOFTPLUS_OF_ONE_INVERSE = float(np.log(np.expm1(1.0)))


def network_config(config):
    """Training settings of the Λ regressions: the θ-networks', always with Adam and early
    stopping (nuisance fits; with L-BFGS for them too, CPU and GPU fits drifted apart)."""
    return dataclasses.replace(config, early_stopping=True, dropout=0.0, n_networks=1,
                               solver="adam", label="Λ-network", output_projector=None)


def fit_predict_networks(X32, tasks, seeds, config, train, positive=None, weights=None):
    """Fit one regression network per task, all at once; predict each at its own rows.

    Parameters
    ----------
    X32 : ndarray (n, d), float32
        Standardized covariates of all rows.
    tasks : list of (fit_rows, targets, pred_rows)
        ``targets`` (len(fit_rows), k) are the values to regress on ``X32[fit_rows]``;
        every task has the same k. A target column constant on ``fit_rows`` is predicted
        exactly, not fitted.
    seeds : list of int
        One per task.
    config : TrainConfig
        As for the θ-networks (see :func:`network_config`).
    train : callable
        The ensemble trainer, :func:`~sklearn_dml._training.train_ensemble`.
    positive : bool array (k,), optional
        Columns whose targets are nonnegative; their predictions stay positive.
    weights : ndarray (n,), optional
        The rows' weights in every task's squared error (the fit's sample weights).

    Returns
    -------
    list of ndarray (len(pred_rows), k), float64
    """
    n, k = X32.shape[0], tasks[0][1].shape[1]
    positive = np.zeros(k, dtype=bool) if positive is None else np.asarray(positive, bool)
    targets = np.zeros((len(tasks), n, k), dtype=np.float32)
    centres, scales = np.empty((len(tasks), k)), np.empty((len(tasks), k))
    for j, (fit_rows, y, _) in enumerate(tasks):
        mean, spread = y.mean(axis=0), y.std(axis=0)
        varies = spread > 1e-12 * np.maximum(1.0, np.abs(mean))
        # positive columns: y / mean, fitted through a softplus; others: (y - mean) / sd
        centres[j] = np.where(positive & varies, 0.0, mean)
        scales[j] = np.where(~varies, 0.0, np.where(positive, mean, spread))
        targets[j, fit_rows] = (y - centres[j]) / np.where(scales[j] > 0, scales[j], 1.0)
    if np.any(positive[None, :] & (scales < 0)):
        raise ValueError("A Λ regression target declared nonnegative has a negative mean.")
    family = _StandardizedSquaredError(positive)
    fewest = min(task[0].size for task in tasks)
    if config.batch_size == "auto" and fewest >= LARGE_BATCH_ROWS:
        # about 25 steps an epoch: smooth regression targets need no small-batch noise, and on
        # a GPU the number of steps is the cost
        config = dataclasses.replace(config, batch_size=fewest // 25)
    fit = train(X32, np.zeros((n, 0), dtype=np.float32), targets,
                         np.ones(n, dtype=np.float32) if weights is None
                         else weights.astype(np.float32), [task[0] for task in tasks], seeds,
                         family, config)
    if not np.all(np.isfinite(fit.best_loss)):
        raise FloatingPointError(
            "A Λ regression network diverged (non-finite validation loss). Use the default "
            "lambda_model=None (gradient boosting) or a smaller lr.")
    return [centres[j] + scales[j] * family.output(
                predict_theta(fit.layers, X32[pred_rows], member=j))
            for j, (_, _, pred_rows) in enumerate(tasks)]


@dataclasses.dataclass
class MomentTask:
    """One fold's weighted moments of T given X: weights ``d2`` and treatments ``T`` at
    ``fit_rows``, predicted at ``pred_rows`` (indices into the covariates)."""

    d2: np.ndarray
    T: np.ndarray
    fit_rows: np.ndarray
    pred_rows: np.ndarray


def _halves(rows, seed):
    """Two random halves of ``rows`` (as positions into it), for out-of-fold predictions."""
    order = SeedTree(seed).random_state(1).permutation(rows.size)
    return np.sort(order[: rows.size // 2]), np.sort(order[rows.size // 2:])


def network_weighted_moments(folds, X32, seeds, config, train, weights=None):
    """The moments of :func:`~sklearn_dml._lambda._moments.weighted_moments` for several
    folds at once, by networks.

    Parameters
    ----------
    folds : list of MomentTask
        One per fold.
    X32 : ndarray (n, d), float32
    seeds : list of int
        One per fold.
    config : TrainConfig
    train : callable
        The ensemble trainer (:func:`fit_predict_networks`).
    weights : ndarray (n,), optional
        The fit's sample weights of all rows.

    Returns
    -------
    list of (a, m, S, floored, resid) per fold, as ``weighted_moments`` returns them.
    """
    kinds = [moment_kind(f.d2, f.T) for f in folds]
    tasks, task_seeds, layout = [], [], []
    for f, (_, binary), seed in zip(folds, kinds, seeds):
        y = np.column_stack([f.d2, f.d2[:, None] * f.T])  # a and the unnormalized m
        first = len(tasks)
        tasks.append((f.fit_rows, y, f.pred_rows))
        halves = None
        if not binary:  # out-of-fold a and m give the residuals that S is regressed on
            halves = _halves(f.fit_rows, seed)
            for own, other in (halves, halves[::-1]):
                tasks.append((f.fit_rows[own], y[own], f.fit_rows[other]))
        task_seeds.extend(member_seeds(seed, 4)[:len(tasks) - first])
        layout.append((first, halves))
    p = folds[0].T.shape[1]
    preds = fit_predict_networks(X32, tasks, task_seeds, config, train,
                                 positive=np.arange(1 + p) == 0, weights=weights)

    partial, s_tasks, s_seeds = [], [], []
    for f, (constant_w, _), (first, halves), seed in zip(folds, kinds, layout, seeds):
        a, m_raw = _split_means(preds[first], f.d2, constant_w)
        resid = None
        if halves is not None:
            oof = np.empty((f.d2.size, preds[first].shape[1]))
            oof[halves[1]], oof[halves[0]] = preds[first + 1], preds[first + 2]
            a_oof, m_oof = _split_means(oof, f.d2, constant_w)
            resid = f.T - m_oof / a_oof[:, None]
            s_tasks.append((f.fit_rows, _product_targets(f.d2, resid), f.pred_rows))
            s_seeds.append(member_seeds(seed, 4)[3])
        partial.append((a, m_raw / a[:, None], resid))
    if weights is not None:
        _arm_propensities(folds, kinds, partial, X32, seeds, (config, train), weights)
    upper = np.triu_indices(p)
    s_preds = iter(fit_predict_networks(X32, s_tasks, s_seeds, config, train,
                                        positive=upper[0] == upper[1], weights=weights)
                   if s_tasks else [])
    out = []
    for f, (_, binary), (a, m, resid) in zip(folds, kinds, partial):
        S = None if binary else unpack_symmetric(next(s_preds), m.shape[1]) / a[:, None, None]
        m, S, floored = finish_moments(m, S, f.T, f.d2, binary,
                                       None if weights is None else weights[f.fit_rows])
        out.append((a, m, S, floored, resid))
    return out


def _arm_propensities(folds, kinds, partial, X32, seeds, training, weights):
    """Give the binary folds of ``partial`` the weighted propensity of
    :func:`~sklearn_dml._lambda._moments.weighted_propensity`: the unweighted propensity and
    the arms' mean weights, each a network, in place of the weighted regression of T."""
    binary = [i for i, (_, is_binary) in enumerate(kinds) if is_binary]
    if not binary:
        return
    e_tasks, w_tasks, e_seeds, w_seeds = [], [], [], []
    for i in binary:
        f, own = folds[i], SeedTree(seeds[i], (1,)).ints(3)
        e_tasks.append((f.fit_rows, f.T, f.pred_rows))
        e_seeds.append(own[0])
        for arm, seed in zip((1.0, 0.0), own[1:]):
            rows = f.fit_rows[f.T[:, 0] == arm]
            w_tasks.append((rows, weights[rows, None], f.pred_rows))
            w_seeds.append(seed)
    e = fit_predict_networks(X32, e_tasks, e_seeds, *training)
    w = fit_predict_networks(X32, w_tasks, w_seeds, *training, positive=np.array([True]))
    for k, i in enumerate(binary):
        m = propensity_from_arms(e[k][:, 0], w[2 * k][:, 0], w[2 * k + 1][:, 0], weights)
        partial[i] = (partial[i][0], m[:, None], None)


def member_seeds(seed, count):
    """``count`` seeds for the regression networks of one fold (or one projection)."""
    return SeedTree(seed, (0,)).ints(count)


def _split_means(pred, d2, constant_w):
    """a (floored as the boosting path floors it) and the unnormalized m from a prediction."""
    a = (np.full(pred.shape[0], float(d2[0])) if constant_w
         else np.maximum(pred[:, 0], OVERLAP_FLOOR * d2.mean()))
    return a, pred[:, 1:]


def _product_targets(d2, resid):
    """d2 · r_j · r_k for j <= k: the upper triangle of the weighted residual products."""
    rows, cols = np.triu_indices(resid.shape[1])
    return d2[:, None] * resid[:, rows] * resid[:, cols]


def network_projection(J, X32, fold_id, config, train, seed=0, weights=None):
    """:func:`~sklearn_dml._lambda._projection.project_crossfitted` by networks: E[J | X]
    for every row, all columns jointly, from a network fitted on the other folds (one per
    fold, batched)."""
    # columns in units of their SD, so that training acts alike whatever the units of T, Y
    scale = np.where(J.std(axis=0) > 0, J.std(axis=0), 1.0)
    tasks = []
    for k in np.unique(fold_id):
        test = np.flatnonzero(fold_id == k)
        rows = np.flatnonzero(fold_id != k)
        rows = rows if rows.size else test
        tasks.append((rows, J[rows] / scale, test))
    out = np.empty_like(J, dtype=float)
    preds = fit_predict_networks(X32, tasks, member_seeds(seed, len(tasks)), config, train,
                                 weights=weights)
    for (_, _, test), pred in zip(tasks, preds):
        out[test] = pred * scale
    return out
