"""Training with a divergence check: a diverged θ-network is retried once, then an error.

A network diverged when its loss grew by orders of magnitude from the start or is not
finite (:func:`~sklearn_dml._training.diverged_members`), or when its θ̂ on rows of its
fold it did not train on lies far outside what the data support (:func:`divergence`).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch

from ._nets import predict_theta
from ._training import DIVERGENCE_GROWTH, diverged_members, train_ensemble

# Held-out rows per network on which θ̂ is compared with the network's start: divergence
# spoils every row, so evenly spaced rows up to this many suffice and keep the check cheap.
HELD_OUT_CHECK_ROWS = 10_000


def divergence(fit, data, rows, family, plans, config):
    """(fold, what went wrong) for each network of ``fit`` that diverged.

    A network diverged when the loss of its returned weights is not finite or grew by
    orders of magnitude from the start (:func:`~sklearn_dml._training.diverged_members`),
    or when its θ̂, on rows of its fold it did not train on, gives a mean loss more than
    ``DIVERGENCE_GROWTH`` times their mean absolute loss at its start above the start's: θ̂
    far outside what the data support.
    """
    X, T, Y, weights = data.X, data.T, data.Y, data.weights
    per_plan = len(rows) // len(plans)
    monitored = "validation" if config.early_stopping else "training"
    problems = []
    for i in np.flatnonzero(diverged_members(fit)):
        end, start = fit.end_loss[i], fit.start_loss[i]
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
                for layers in (fit.layers, fit.start_layers))
        with np.errstate(all="ignore"):
            loss, start = np.average(fitted, weights=w), np.average(begun, weights=w)
            scale = np.average(np.abs(begun), weights=w)
            if not np.isfinite(start) or loss - start <= DIVERGENCE_GROWTH * scale:
                continue  # a start without a finite loss cannot judge
        problems.append((plan.fold, (
            f"θ̂ gives a mean loss of {loss:.3g} on {held.size} rows it did not train on, "
            f"against {start:.3g} at the start: θ̂ lies far outside what the data support")))
    return problems


def train_with_retry(data, rows, seeds, family, config, plans, what):
    """Train; if a network diverges, retry the group once with a ten times smaller learning
    rate (Adam), then raise naming the fold(s).

    A network diverged when its validation loss (its training loss without early
    stopping) is not finite or grew by orders of magnitude from the start, or when its θ̂
    lies far outside what the data support (see :func:`divergence`).
    """
    fit = train_ensemble(data.X, data.T, data.Y, data.weights, rows, seeds, family, config,
                         data.groups)
    problems = divergence(fit, data, rows, family, plans, config)
    rep = plans[0].rep
    if problems and config.solver != "lbfgs":  # L-BFGS takes no learning rate
        config = dataclasses.replace(config, lr=config.lr / 10)
        warnings.warn(f"Training of the {what} diverged in fold {problems[0][0]} of repetition "
                      f"{rep} ({problems[0][1]}); retrying with lr={config.lr:g}.",
                      RuntimeWarning, stacklevel=2)
        fit = train_ensemble(data.X, data.T, data.Y, data.weights, rows, seeds, family,
                             config, data.groups)
        problems = divergence(fit, data, rows, family, plans, config)
    if problems:
        bad = sorted({fold for fold, _ in problems})
        fold, detail = problems[0]
        also = f", also with lr={config.lr:g}" if config.solver != "lbfgs" else ""
        advice = ("Use a smaller lr (the default is 0.01), and check"
                  if config.solver != "lbfgs" else "Check")
        raise FloatingPointError(
            f"Training of the {what} diverged in fold(s) {bad} of repetition {rep}{also}: in "
            f"fold {fold}, {detail}. {advice} X, T and Y for extreme values "
            "(x_scaling='quantile' gives every covariate its normal scores; a custom family "
            "trains on T and Y as given, so standardize them); the estimate would be "
            "meaningless.")
    return fit
