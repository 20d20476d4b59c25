"""Training the θ-networks of several folds at once, each with its own rows.

Every member of the ensemble has its own training rows, validation rows,
generator, early-stopping clock and best weights. Members never interact:
their parameters are separate slices, Adam is element-wise and L-BFGS
(:class:`~sklearn_dml._lbfgs.EnsembleLBFGS`) keeps its curvature and line search
per member, so the batched run gives each member the same trajectory it would
have alone (up to floating point summation order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from ._adam import Adam
from ._homogeneous import constant_start, parametric
from ._lbfgs import EnsembleLBFGS
from ._nets import EnsembleStructuralNet
from ._progress import log, progress_bar
from ._row_splits import split_validation

# How far the loss of the returned weights may rise above the loss at the start, in units of
# the start's mean absolute row loss, before training counts as diverged: two orders of
# magnitude, which a network that merely overfits or stops early does not approach (early
# stopping returns weights no worse on validation than after the first epoch).
DIVERGENCE_GROWTH = 100.0
# rows (over all members) whose losses are evaluated at once outside the training steps
LOSS_CHUNK_ROWS = 2 ** 18
# rows of the constant-θ fit that starts networks with homogeneous components
START_ROWS = 20_000


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer and stopping settings for θ-network training."""

    hidden_dims: tuple = (64, 32)
    dropout: float = 0.0
    lr: float = 0.01
    weight_decay: float = 1e-2
    batch_size: int | str = "auto"
    max_epochs: int = 200
    early_stopping: bool = True
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4
    solver: str = "adam"
    device: str = "cpu"
    verbose: int = 0
    label: str = "θ-network"
    n_networks: int = 1
    progress: bool = False  # a tqdm bar over epochs (set where the training runs in-process)
    # (d, d) projector on the output weights: θ directions outside its range stay constant
    output_projector: np.ndarray | None = None

    def resolved_batch_size(self, n_train):
        if self.batch_size == "auto":
            # an eighth of the rows in [64, 1024]; beyond 102,400 rows, a hundredth (up to
            # 8192), so that an epoch stays near 100 steps: small batches on a GPU spend
            # their time launching tiny kernels
            large = min(n_train // 100, 8192)
            return int(min(max(64, min(n_train // 8, 1024), large), n_train))
        return int(min(self.batch_size, n_train))


# the device strings ``device`` accepts, for the messages that refuse the others
ACCEPTED_DEVICES = ("'cpu', 'cuda', 'cuda:N' (N the index of a CUDA device torch sees) or "
                    "'auto' (CUDA when torch sees a GPU, else the CPU)")


def resolve_device(device):
    """The torch device string the networks train on.

    Parameters
    ----------
    device : str
        'cpu', 'cuda', 'cuda:N' or 'auto' ('cuda' where torch sees a CUDA device,
        else 'cpu').

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For any other string, and for a CUDA device torch does not see.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    cuda = re.fullmatch(r"cuda(?::(\d+))?", str(device))
    if cuda is None:
        hint = {"gpu": " For an NVIDIA GPU, use 'cuda'.",
                "mps": " Apple's 'mps' backend is not supported; use 'cpu'."}.get(
            str(device).lower().split(":")[0], "")
        raise ValueError(f"device={device!r} is not supported. Use {ACCEPTED_DEVICES}.{hint}")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but torch sees no CUDA device (torch {torch.__version__}). Use "
            f"device='cpu' or 'auto' here; accepted: {ACCEPTED_DEVICES}.")
    count = torch.cuda.device_count()
    if cuda.group(1) is not None and int(cuda.group(1)) >= count:
        raise ValueError(
            f"device={device!r} but torch sees {count} CUDA device(s), cuda:0 to "
            f"cuda:{count - 1}. Use one of those, or 'cuda' or 'auto'; accepted: "
            f"{ACCEPTED_DEVICES}.")
    return str(device)


@dataclass(frozen=True)
class TrainingData:
    """The rows the networks train on: covariates, treatments, outcomes and weights."""

    X: np.ndarray  # (n, d) covariates as the networks see them
    T: np.ndarray  # (n, p)
    Y: np.ndarray  # (n,)
    weights: np.ndarray  # (n,)
    X_lambda: np.ndarray | None = None  # (n, d) covariates of the Λ regressions; None: X
    groups: np.ndarray | None = None  # (n,) cluster codes, kept whole by splits within a fold

    def as_float32(self):
        """The same rows with X in float32, as the networks take it."""
        return TrainingData(self.X.astype(np.float32), self.T, self.Y, self.weights,
                            self.X_lambda, self.groups)


@dataclass
class TrainResult:
    """What :func:`train_ensemble` returns, one entry per member along the last axis.

    Losses are on each member's validation rows (its training rows without early
    stopping); see :func:`diverged_members`.
    """

    layers: list  # stacked float32 (weight, bias) pairs of the returned weights
    history: np.ndarray  # (epochs, M) validation losses, NaN after a member stopped
    best_epoch: np.ndarray  # (M,)
    best_loss: np.ndarray  # (M,)
    diverged: np.ndarray  # (M,) bool: a non-finite validation loss at some epoch
    start_loss: np.ndarray  # (M,) weighted mean loss before training
    end_loss: np.ndarray  # (M,) weighted mean loss of the returned weights
    loss_scale: np.ndarray  # (M,) weighted mean absolute loss before training
    start_layers: list  # the weights before training


def _padded(index_lists):
    """Stack ragged index arrays into (M, L) with a validity mask."""
    length = max(len(ix) for ix in index_lists)
    idx = np.zeros((len(index_lists), length), dtype=np.int64)
    mask = np.zeros((len(index_lists), length), dtype=np.float32)
    for m, ix in enumerate(index_lists):
        idx[m, : len(ix)] = ix
        mask[m, : len(ix)] = 1.0
    return idx, mask


def train_ensemble(X, T, Y, weights, row_sets, seeds, family, config, groups=None):
    """Train one θ-network per row set, batched.

    Parameters
    ----------
    X : ndarray (n, d), float32
        Standardized covariates.
    T : ndarray (n, p)
    Y : ndarray (n,), or (M, n, k) with one set of k targets per member
    weights : ndarray (n,)
        Sample weights (mean one).
    row_sets : list of int arrays
        Training rows of each member.
    seeds : list of int
        One seed per member.
    family : Family
    config : TrainConfig
    groups : ndarray (n,) of int or None
        Cluster codes: each member's validation rows are whole clusters.

    Returns
    -------
    TrainResult
    """
    device = torch.device(resolve_device(config.device))
    M = len(row_sets)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    splits = [split_validation(np.asarray(r), g, config.validation_fraction, groups)
              if config.early_stopping else (np.asarray(r), np.asarray(r)[:0])
              for r, g in zip(row_sets, gens)]
    train_rows = [s[0] for s in splits]
    val_rows = [s[1] for s in splits]
    if parametric(config.output_projector):  # nothing varies: the MLE on all the rows
        train_rows = val_rows = [np.asarray(r) for r in row_sets]
    net = _start_network(X, T, Y, weights, train_rows, gens, family, config).to(device)
    losses = _EnsembleLosses(net, M, X, T, Y, weights, family, device)

    # the loss at the start (the constant-θ fit where the family gives one), on the rows that
    # judge the returned weights: validation rows, or the training rows without early stopping
    monitored = val_rows if config.early_stopping else train_rows
    start_loss, loss_scale = losses.level(monitored)
    start_layers = net.state_arrays()
    if parametric(config.output_projector):
        return TrainResult(start_layers, np.zeros((0, M)), np.zeros(M, dtype=int), start_loss,
                           np.zeros(M, dtype=bool), start_loss, start_loss, loss_scale,
                           start_layers)

    # weight decay on the weights only: decaying the biases would pull the output bias, which
    # starts at the constant-θ fit, toward θ = 0 and bias the estimate
    if config.solver == "lbfgs":
        train_epoch = _lbfgs_iteration(net, losses.member, train_rows, config.weight_decay,
                                       device)
    else:
        train_epoch = _AdamEpochs(net, losses.member, train_rows, gens, config, device)
    bar = progress_bar(config.progress, config.max_epochs, f"{config.label}s ({M})", "epoch")
    if config.early_stopping:
        stopping = _EarlyStopping(net, val_rows, config, device)
        stopping.run(train_epoch, losses, bar)
        layers, best_loss, end_loss = stopping.layers(), stopping.best_loss, stopping.best_loss
        best_epoch, history, diverged = stopping.best_epoch, stopping.history, stopping.diverged
    else:
        epoch = _run_fixed(train_epoch, M, config, bar)
        best_epoch, layers = np.full(M, epoch), net.state_arrays()
        best_loss, history, diverged = np.full(M, np.inf), [], np.zeros(M, dtype=bool)
        end_loss = losses.level(monitored)[0]
    bar.close()
    return TrainResult(layers, np.array(history) if history else np.zeros((0, M)), best_epoch,
                       best_loss, diverged, start_loss, end_loss, loss_scale, start_layers)


def _start_network(X, T, Y, weights, train_rows, gens, family, config):
    """The ensemble, each member's output bias at the constant-θ fit of its rows (where the
    family gives one)."""
    per_member = Y.ndim == 3
    net = EnsembleStructuralNet(len(train_rows), X.shape[1], config.hidden_dims,
                                family.theta_dim(T.shape[1]), config.dropout, gens,
                                output_projector=config.output_projector)
    refine = config.output_projector is not None and not per_member
    shared = None
    if refine and not parametric(config.output_projector):
        # homogeneous components start at the constant-θ MLE, one fit for all members
        rows = np.unique(np.concatenate(train_rows))
        rows = rows[::-(-len(rows) // START_ROWS)]
        shared = constant_start(family, Y, T, weights, rows, net.dims[-1])
    with torch.no_grad():
        for m, rows in enumerate(train_rows):
            if shared is not None:
                bias = shared
            elif refine:  # nothing varies: each member is its rows' constant-θ MLE
                bias = constant_start(family, Y, T, weights, rows, net.dims[-1])
            else:
                bias = family.initial_bias((Y[m] if per_member else Y)[rows], T[rows])
            if bias is not None:
                net.biases[-1][m, 0] = torch.tensor(bias, dtype=torch.float32)
    return net


class _EnsembleLosses:
    """The members' weighted losses on rows given as (M, B) index arrays.

    ``Y`` is shared by all members, or (M, n, k) with one set of targets per member.
    """

    def __init__(self, net, M, X, T, Y, weights, family, device):
        self.net, self.family, self.device, self.M = net, family, device, M
        self.per_member = Y.ndim == 3
        self.theta_dim = family.theta_dim(T.shape[1])
        # copies: joblib hands workers read-only memory maps, which torch will not wrap
        self.Xt, self.Tt, Yt, self.Wt = (
            torch.tensor(np.asarray(a, dtype=np.float32), device=device)
            for a in (X, T, Y, weights))
        n_rows = self.Xt.shape[0]
        self.Yflat = Yt.reshape(self.M * n_rows, *Yt.shape[2:]) if self.per_member else Yt
        # where each held member's targets start in Yflat (members leave as they stop)
        self.offsets = torch.arange(self.M, device=device)[:, None] * n_rows

    def rows(self, idx, mask):
        """Per-row losses and weights (zero where masked)."""
        # index_select on flat indices: on a CPU 3-5x cheaper than indexing with (M, B)
        flat = idx.reshape(-1)
        theta = self.net(self.Xt.index_select(0, flat).view(*idx.shape, -1))
        y = self.Yflat.index_select(0, (idx + self.offsets).reshape(-1) if self.per_member
                                    else flat)
        per_row = self.family.loss(y, self.Tt.index_select(0, flat),
                                   theta.reshape(-1, self.theta_dim)).reshape(idx.shape)
        return per_row, self.Wt.index_select(0, flat).view(idx.shape) * mask

    def member(self, idx, mask):
        """Each held member's weighted mean loss on its rows of ``idx``."""
        per_row, w = self.rows(idx, mask)
        return (per_row * w).sum(1) / w.sum(1).clamp_min(1e-12)

    def level(self, index_lists):
        """Each member's weighted mean loss on its rows, and its weighted mean |loss|."""
        idx, mask = (torch.as_tensor(a, device=self.device) for a in _padded(index_lists))
        sums = torch.zeros((3, self.M), dtype=torch.float64, device=self.device)
        step = max(1, LOSS_CHUNK_ROWS // self.M)  # bounds the activations held at once
        self.net.eval()
        with torch.no_grad():
            for start in range(0, idx.shape[1], step):
                per_row, w = self.rows(idx[:, start:start + step], mask[:, start:start + step])
                per_row, w = per_row.double(), w.double()
                per_row = torch.where(w > 0, per_row, 0.0)  # padding may sit on a bad row
                sums += torch.stack([(per_row * w).sum(1), (per_row.abs() * w).sum(1),
                                     w.sum(1)])
        total, level, weight = sums.cpu().numpy()
        return total / np.maximum(weight, 1e-12), level / np.maximum(weight, 1e-12)


def _run_fixed(train_epoch, n_members, config, bar):
    """Train without early stopping until ``max_epochs`` or until the optimizer stops;
    returns the last epoch."""
    everyone = np.ones(n_members, dtype=bool)
    for epoch in range(config.max_epochs):
        moving = train_epoch(everyone)
        bar.update()
        if not moving:
            return epoch
    return config.max_epochs - 1


class _EarlyStopping:
    """Per-member early stopping on the validation loss, with each member's best weights.

    ``ids`` lists the members the network still holds: members that stopped leave the
    batch (:func:`_members_to_keep`), their best weights kept aside.
    """

    def __init__(self, net, val_rows, config, device):
        M = len(val_rows)
        self.net, self.config, self.device = net, config, device
        vidx, vmask = _padded(val_rows)
        self.vidx = torch.as_tensor(vidx, device=device)
        self.vmask = torch.as_tensor(vmask, device=device)
        self.best_loss = np.full(M, np.inf)
        self.best_epoch = np.zeros(M, dtype=int)
        self.wait = np.zeros(M, dtype=int)
        self.active = np.ones(M, dtype=bool)
        self.diverged = np.zeros(M, dtype=bool)
        self.best_state = [p_.detach().clone() for p_ in net.parameters()]
        self.history = []
        self.ids = np.arange(M)

    def run(self, train_epoch, losses, bar):
        """Train until every member stopped, ``max_epochs``, or the optimizer stops."""
        for epoch in range(self.config.max_epochs):
            self.net.train()
            moving = train_epoch(self.active[self.ids])
            bar.update()
            self.net.eval()
            val = np.full(len(self.active), np.nan)
            with torch.no_grad():
                val[self.ids] = losses.member(self.vidx, self.vmask).double().cpu().numpy()
            self.update(epoch, val)
            bar.set_postfix_str(f"{int(self.active.sum())}/{len(self.active)} still training",
                                refresh=False)
            if not (self.active.any() and moving):
                break
            keep = _members_to_keep(self.active[self.ids]) if hasattr(train_epoch, "keep") \
                else None
            if keep is not None:  # stopped members leave the batch; best weights are aside
                train_epoch.keep(keep)
                position = torch.as_tensor(keep, device=self.device)
                self.ids, losses.offsets = self.ids[keep], losses.offsets[position]
                self.vidx, self.vmask = self.vidx[position], self.vmask[position]

    def update(self, epoch, val):
        """Record the epoch's validation losses; save the weights of members that improved."""
        config, active = self.config, self.active
        bad = ~np.isfinite(val)
        self.diverged |= bad & active
        record = np.where(active, val, np.nan)
        self.history.append(record)
        best = self.best_loss
        with np.errstate(invalid="ignore"):
            improved = active & ~bad & (val < best - config.tol * np.abs(best))
        better = active & ~bad & (val < self.best_loss)
        if better.any():
            member = torch.as_tensor(np.flatnonzero(better), device=self.device)
            position = torch.as_tensor(np.flatnonzero(better[self.ids]), device=self.device)
            with torch.no_grad():
                for saved, param in zip(self.best_state, self.net.parameters()):
                    saved[member] = param.detach()[position]
            self.best_loss[better] = val[better]
            self.best_epoch[better] = epoch
        self.wait = np.where(improved, 0, self.wait + 1)
        self.active &= ~bad & (self.wait < config.n_iter_no_change)
        if config.verbose >= 2 and (epoch % 10 == 0 or not self.active.any()):
            log(config.verbose, 2, f"{config.label} epoch {epoch}: mean validation loss "
                f"{np.nanmean(record):.5g}, {int(self.active.sum())}/{len(active)} networks "
                "still training")

    def layers(self):
        """Each member's best weights, as numpy arrays."""
        return self.net.export(self.best_state)


def diverged_members(fit):
    """Which members of a :func:`train_ensemble` result diverged.

    A member diverged when the loss of its returned weights (on its validation rows, or
    its training rows without early stopping) is not finite, or exceeds the loss at the
    start by more than ``DIVERGENCE_GROWTH`` times the start's mean absolute row loss.

    Parameters
    ----------
    fit : TrainResult

    Returns
    -------
    ndarray of bool, shape (M,)
    """
    start, end, scale = fit.start_loss, fit.end_loss, fit.loss_scale
    with np.errstate(invalid="ignore"):
        grown = end - start > DIVERGENCE_GROWTH * np.maximum(scale, np.finfo(float).tiny)
    return ~np.isfinite(end) | grown


def _members_to_keep(active):
    """Positions of the held members to keep training, or None to keep them all.

    ``active`` (bool, one per held member) says which are still training. The stopped
    ones leave: the others' trajectories are unchanged and no step is spent on them. A
    batch of one would take another matmul path, whose last bits differ, so one stopped
    member stays along with the last one training: results then do not depend on how the
    folds were grouped.
    """
    keep = np.flatnonzero(active)
    if keep.size == 1 and active.size > 1:
        keep = np.sort(np.r_[keep, np.flatnonzero(~active)[0]])
    return None if keep.size == active.size else keep


class _AdamEpochs:
    """Passes of mini-batch Adam over each member's own shuffled training rows.

    Calling it runs one epoch for the members the network holds; :meth:`keep` drops the
    others from the network, the optimizer and the shuffling.
    """

    def __init__(self, net, member_losses, train_rows, gens, config, device):
        self.net, self.member_losses, self.device = net, member_losses, device
        self.train_rows, self.gens = list(train_rows), list(gens)
        self.optimizer = Adam([
            {"params": list(net.weights), "weight_decay": config.weight_decay},
            {"params": list(net.biases), "weight_decay": 0.0}], lr=config.lr)
        # fixed at the start: members leaving do not change the batches of the others
        self.batch = config.resolved_batch_size(min(len(r) for r in train_rows))
        self.n_steps = -(-max(len(r) for r in train_rows) // self.batch)
        self.ones = torch.ones((len(train_rows), self.batch), device=device)

    def __call__(self, active):
        batch, n_steps = self.batch, self.n_steps
        order = np.stack([np.resize(r[torch.randperm(len(r), generator=g).numpy()],
                                    n_steps * batch) for r, g in zip(self.train_rows, self.gens)])
        order = torch.as_tensor(order, device=self.device)
        ones = self.ones[:len(self.train_rows)]
        for step in range(n_steps):
            idx = order[:, step * batch:(step + 1) * batch]
            loss = self.member_losses(idx, ones).sum()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return True

    def keep(self, positions):
        """Keep only the members at ``positions`` (of those the network holds)."""
        index = torch.as_tensor(positions, device=self.device)
        self.net.keep_members(index)
        self.optimizer.keep_rows(index, [*self.net.weights, *self.net.biases])
        self.train_rows = [self.train_rows[i] for i in positions]
        self.gens = [self.gens[i] for i in positions]


def _lbfgs_iteration(net, member_losses, train_rows, weight_decay, device):
    """One full-batch L-BFGS iteration per call, for the members still training.

    The objective is Adam's: the weighted mean loss of the member's training rows plus
    ``weight_decay / 2`` times the squared norm of its weights (not its biases).
    """
    tidx, tmask = _padded(train_rows)
    tidx = torch.as_tensor(tidx, device=device)
    tmask = torch.as_tensor(tmask, device=device)

    def objective():
        penalty = sum((w * w).sum(dim=(1, 2)) for w in net.weights)
        return member_losses(tidx, tmask) + 0.5 * weight_decay * penalty

    optimizer = EnsembleLBFGS(list(net.parameters()), objective)

    def iteration(active):  # False once every member has converged
        optimizer.step(torch.as_tensor(active, device=device))
        return not bool(optimizer.done.all())

    return iteration
