"""Training the θ-networks of several folds at once, each with its own rows.

Every member of the ensemble has its own training rows, validation rows,
generator, early-stopping clock and best weights. Members never interact:
their parameters are separate slices, Adam is element-wise and L-BFGS
(:class:`~sklearn_dml._lbfgs.EnsembleLBFGS`) keeps its curvature and line search
per member, so the batched run gives each member the same trajectory it would
have alone (up to floating point summation order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._adam import Adam
from ._lbfgs import EnsembleLBFGS
from ._nets import EnsembleStructuralNet
from ._progress import log, progress_bar


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

    def resolved_batch_size(self, n_train):
        if self.batch_size == "auto":
            # an eighth of the rows in [64, 1024]; beyond 102,400 rows, a hundredth (up to
            # 8192), so that an epoch stays near 100 steps: at n = 10^6 on an H100, batches of
            # 1024 spent 51 s on launches of tiny kernels, batches of 8192 9 s (same estimate)
            large = min(n_train // 100, 8192)
            return int(min(max(64, min(n_train // 8, 1024), large), n_train))
        return int(min(self.batch_size, n_train))


def resolve_device(device):
    """'auto' -> 'cuda' if available else 'cpu'; validate explicit choices."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but torch sees no CUDA device. Use device='cpu' or 'auto'."
        )
    return str(device)


def _split_validation(rows, gen, config):
    if not config.early_stopping:
        return rows, rows[:0]
    n_val = int(round(config.validation_fraction * rows.size))
    n_val = min(max(n_val, 1), rows.size - 1)
    perm = torch.randperm(rows.size, generator=gen).numpy()
    return rows[perm[n_val:]], rows[perm[:n_val]]


def _padded(index_lists):
    """Stack ragged index arrays into (M, L) with a validity mask."""
    length = max(len(ix) for ix in index_lists)
    idx = np.zeros((len(index_lists), length), dtype=np.int64)
    mask = np.zeros((len(index_lists), length), dtype=np.float32)
    for m, ix in enumerate(index_lists):
        idx[m, : len(ix)] = ix
        mask[m, : len(ix)] = 1.0
    return idx, mask


def train_ensemble(X, T, Y, weights, row_sets, seeds, family, config):
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

    Returns
    -------
    dict with ``layers`` (stacked float32 weights), ``history`` (epochs, M)
    validation losses (NaN after a member stopped), ``best_epoch`` (M,) and
    ``diverged`` (M,) flags.
    """
    device = torch.device(resolve_device(config.device))
    M = len(row_sets)
    per_member = Y.ndim == 3
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    splits = [_split_validation(np.asarray(r), g, config) for r, g in zip(row_sets, gens)]
    train_rows = [s[0] for s in splits]
    val_rows = [s[1] for s in splits]

    theta_dim = family.theta_dim(T.shape[1])
    net = EnsembleStructuralNet(M, X.shape[1], config.hidden_dims, theta_dim, config.dropout, gens)
    with torch.no_grad():  # start each member at the constant-θ fit of its rows, where known
        for m, rows in enumerate(train_rows):
            bias = family.initial_bias((Y[m] if per_member else Y)[rows], T[rows])
            if bias is not None:
                net.biases[-1][m, 0] = torch.tensor(bias, dtype=torch.float32)
    net.to(device)

    # copies: joblib hands workers read-only memory maps, which torch will not wrap
    Xt, Tt, Yt, Wt = (torch.tensor(np.asarray(a, dtype=np.float32), device=device)
                      for a in (X, T, Y, weights))
    n_rows = Xt.shape[0]
    Yflat = Yt.reshape(M * n_rows, *Yt.shape[2:]) if per_member else Yt
    # the members the network still holds (Adam drops those that stopped; ``idx`` has one
    # row of indices for each), and where each one's targets start in Yflat
    ids = np.arange(M)
    offsets = torch.arange(M, device=device)[:, None] * n_rows

    def member_losses(idx, mask):
        # index_select on flat indices: on a CPU 3-5x cheaper than indexing with (M, B)
        flat = idx.reshape(-1)
        theta = net(Xt.index_select(0, flat).view(*idx.shape, -1))
        y = Yflat.index_select(0, (idx + offsets).reshape(-1) if per_member else flat)
        per_row = family.loss(y, Tt.index_select(0, flat),
                              theta.reshape(-1, theta_dim)).reshape(idx.shape)
        w = Wt.index_select(0, flat).view(idx.shape) * mask
        return (per_row * w).sum(1) / w.sum(1).clamp_min(1e-12)

    # weight decay on the weights only: decaying the biases would pull the output bias, which
    # starts at the constant-θ fit, toward θ = 0 (measured: probit E[β] bias 0.45 SE)
    if config.solver == "lbfgs":
        train_epoch = _lbfgs_iteration(net, member_losses, train_rows, config.weight_decay,
                                       device)
    else:
        train_epoch = _AdamEpochs(net, member_losses, train_rows, gens, config, device)

    if config.early_stopping:
        vidx, vmask = _padded(val_rows)
        vidx = torch.as_tensor(vidx, device=device)
        vmask = torch.as_tensor(vmask, device=device)
    best_loss = np.full(M, np.inf)
    best_epoch = np.zeros(M, dtype=int)
    wait = np.zeros(M, dtype=int)
    active = np.ones(M, dtype=bool)
    diverged = np.zeros(M, dtype=bool)
    best_state = [p_.detach().clone() for p_ in net.parameters()]
    history = []
    bar = progress_bar(config.progress, config.max_epochs, f"{config.label}s ({M})", "epoch")

    for epoch in range(config.max_epochs):
        net.train()
        moving = train_epoch(active[ids])
        bar.update()
        if not config.early_stopping:
            if not moving:
                break
            continue
        net.eval()
        val = np.full(M, np.nan)
        with torch.no_grad():
            val[ids] = member_losses(vidx, vmask).double().cpu().numpy()
        bad = ~np.isfinite(val)
        diverged |= bad & active
        record = np.where(active, val, np.nan)
        history.append(record)
        with np.errstate(invalid="ignore"):
            improved = active & ~bad & (val < best_loss - config.tol * np.abs(best_loss))
        better = active & ~bad & (val < best_loss)
        if better.any():
            member = torch.as_tensor(np.flatnonzero(better), device=device)
            position = torch.as_tensor(np.flatnonzero(better[ids]), device=device)
            with torch.no_grad():
                for saved, param in zip(best_state, net.parameters()):
                    saved[member] = param.detach()[position]
            best_loss[better] = val[better]
            best_epoch[better] = epoch
        wait = np.where(improved, 0, wait + 1)
        active &= ~bad & (wait < config.n_iter_no_change)
        if config.verbose >= 2 and (epoch % 10 == 0 or not active.any()):
            log(config.verbose, 2, f"{config.label} epoch {epoch}: mean validation loss "
                f"{np.nanmean(record):.5g}, {int(active.sum())}/{M} networks still training")
        bar.set_postfix_str(f"{int(active.sum())}/{M} still training", refresh=False)
        if not (active.any() and moving):
            break
        keep = _members_to_keep(active[ids]) if hasattr(train_epoch, "keep") else None
        if keep is not None:  # stopped members leave the batch; their best weights are aside
            train_epoch.keep(keep)
            position = torch.as_tensor(keep, device=device)
            ids, offsets = ids[keep], offsets[position]
            vidx, vmask = vidx[position], vmask[position]
    bar.close()

    if config.early_stopping:
        layers = [(w.cpu().numpy().copy(), b.cpu().numpy().copy())
                  for w, b in zip(best_state[:len(net.weights)], best_state[len(net.weights):])]
    else:
        best_epoch[:] = epoch
        layers = net.state_arrays()
    return {
        "layers": layers,
        "history": np.array(history) if history else np.zeros((0, M)),
        "best_epoch": best_epoch,
        "best_loss": best_loss,
        "diverged": diverged,
    }


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
