"""Checks of the covariates a fit is given: their shape, and that they do not hold T or Y.

A data frame passed whole is a common way to leave the outcome (or the treatment) among
the covariates. With Y in X the network's α(x) reproduces Y, β(x) comes out near 0 and
its interval is tight around it; with T in X, T does not vary given x. Both are refused
before any training, with the column named.
"""

from __future__ import annotations

import numpy as np

from ._sample_checks import _columns

MIN_ROWS = 8
# |correlation| above this is a copy of a target column up to units (an affine map), not a
# covariate that predicts it
COPY_CORRELATION = 1 - 1e-9


def check_covariate_shape(X):
    """Refuse an X with fewer than ``MIN_ROWS`` rows or no column."""
    if X.shape[0] < MIN_ROWS:
        raise ValueError(
            f"Got n_samples = {X.shape[0]}; cross-fitting a θ-network needs at least "
            f"{MIN_ROWS} rows (and in practice hundreds).")
    if X.shape[1] == 0:
        raise ValueError("X has no columns; the θ-network needs at least one covariate.")


def check_targets_not_in_covariates(X, T, Y, feature_names=None, treatment_names=None,
                                    outcome_name="Y", treatments=True):
    """Refuse a column of X that is an affine copy of Y or, with ``treatments``, of a
    column of T (the outcome or the treatment in other units, or the same column twice).

    ``treatments=False`` leaves T out, for packed layouts whose columns may repeat a
    covariate by design (a choice model's case-level variable per alternative).
    """
    values, names = _columns(X, T, Y, feature_names, treatment_names, outcome_name)
    k, p = X.shape[1], values.shape[1] - X.shape[1] - 1
    centred = values - values.mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    varying = norms > 0
    unit = np.where(varying, centred / np.where(varying, norms, 1.0), 0.0)
    targets = np.arange(k, k + p + 1) if treatments else np.array([k + p])
    correlation = unit[:, :k].T @ unit[:, targets]  # (k, targets)
    column, target = np.unravel_index(np.argmax(np.abs(correlation)), correlation.shape)
    if abs(correlation[column, target]) < COPY_CORRELATION:
        return
    which = targets[target]
    role = "outcome" if which == k + p else "treatment"
    exact = np.array_equal(values[:, column], values[:, which])
    raise ValueError(
        f"Column {names[column]!r} of X is {'a copy' if exact else 'an affine function'} of "
        f"the {role} {names[which]!r} (correlation {correlation[column, target]:+.9f}). "
        "The covariates must not contain the " + (
            "outcome: α(x) would reproduce Y, and β(x) would come out near 0 with a tight "
            "interval." if role == "outcome" else
            "treatment: T would not vary given x, and θ(x) would not be identified.")
        + " Drop that column from X (a data frame passed whole keeps it).")
