"""E[H_θ | X] for targets evaluated at the observed treatment: by a known law, or by
regressions fitted on the other folds."""

from __future__ import annotations

import numpy as np

from ._regressors import _fit_predict


def project_on_law(jacobian_fn, theta, values, probs, chunk_rows=4096):
    """E_ν[H_θ(θ_i, T)] = Σ_s ν_s H_θ(θ_i, t_s) for a randomized treatment law."""
    n, d = theta.shape
    S = values.shape[0]
    out = np.zeros((n, d))
    for start in range(0, n, chunk_rows):
        th = theta[start:start + chunk_rows]
        m = th.shape[0]
        J = jacobian_fn(np.repeat(th, S, axis=0), np.tile(values, (m, 1))).reshape(m, S, d)
        out[start:start + m] = np.einsum("s,msd->md", probs, J)
    return out


def project_crossfitted(J, X, fold_id, model, map_fits=None, sample_weight=None):
    """E[H_θ | X] by regressing each column of J on X, fitted on the other folds (weighted
    by ``sample_weight`` where given).

    ``map_fits(function, items)`` runs the (column, fold) fits, e.g. side by side in
    threads (:func:`~sklearn_dml._crossfit.map_folds`); one after another by default.
    """
    out = J.astype(float, copy=True)
    varying = [j for j in range(J.shape[1])
               if np.ptp(J[:, j]) > 1e-12 * max(1.0, np.abs(J[:, j]).max())]
    tasks = [(j, k) for j in varying for k in np.unique(fold_id)]
    # each column fitted in units of its SD: a regressor's absolute tolerances (gradient
    # boosting's early stopping) then act alike whatever the units of T and Y
    scale = np.where(J.std(axis=0) > 0, J.std(axis=0), 1.0)

    def fit(task):
        j, k = task
        test = fold_id == k
        train = ~test if (~test).any() else test
        weights = None if sample_weight is None else sample_weight[train]
        return scale[j] * _fit_predict(model, X[train], J[train, j] / scale[j], X[test],
                                       weights)

    predictions = (map_fits or (lambda f, items: [f(item) for item in items]))(fit, tasks)
    for (j, k), prediction in zip(tasks, predictions):
        out[fold_id == k, j] = prediction
    return out
