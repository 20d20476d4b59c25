"""A targeting step: θ̂ moved along Λ̂⁻¹ until the average corrected score is zero.

The one-step estimator adds mean Λ̂_i⁻¹ℓ_θ,i(θ̂_i) to the plug-in. Where a row's observed
curvature far exceeds Λ̂(x_i) (a treatment value deep in a heavy tail under an exponential
link), that row's score at θ̂ is a poor linearization and its correction can be hundreds
of standard errors. The targeted estimator instead minimizes the loss over the
d-dimensional submodel θ_ε,i = θ̂_i + Λ̂_i⁻¹ε; at the minimum Σ w_i Λ̂_i⁻¹ℓ_θ(θ_ε,i) = 0,
so the average of θ_ε is debiased with the same influence function as the one-step (van
der Laan and Rubin's targeted maximum likelihood for E[θ(X)]), while each row's realized
curvature, not Λ̂(x_i), weighs it in ε. With a constant θ̂ and Λ̂ the update is the
maximum-likelihood estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._homogeneous import row_hessians


@dataclass(frozen=True)
class TargetingResult:
    """θ_ε per row, ε, and whether Newton's method reached the minimum."""

    theta: np.ndarray  # (n, d)
    epsilon: np.ndarray  # (d,)
    converged: bool
    n_iter: int


def target_theta(family, Y, T, theta, lam_inv, weights, max_iter=50, tol=1e-10):
    """Minimize Σ w_i ℓ(y_i, t_i, θ̂_i + Λ̂_i⁻¹ε) over ε by damped Newton steps.

    Parameters
    ----------
    family : Family
        A family whose loss is convex in θ (the minimum is then unique).
    Y, T, theta : ndarray
        Outcomes, treatments and cross-fitted θ̂ (n, d), in the same (internal) units.
    lam_inv : ndarray (n, d, d)
        The regularized Λ̂_i⁻¹ in those units.
    weights : ndarray (n,)
    max_iter : int, default=50
    tol : float, default=1e-10
        Stop, after one more full step, when the Newton decrement is below ``tol``
        times the total weight.

    Returns
    -------
    TargetingResult
        θ̂ itself (ε = 0, ``converged=False``) where no step lowers the loss or a
        value is not finite.
    """
    d = theta.shape[1]
    epsilon = np.zeros(d)
    total = float(np.sum(weights))

    def at(eps):
        return theta + np.einsum("nij,j->ni", lam_inv, eps)

    current = at(epsilon)
    loss = float(np.dot(weights, family.loss_numpy(Y, T, current)))
    for it in range(1, max_iter + 1):
        grad = np.einsum("n,nij,nj->i", weights, lam_inv, family.gradient(Y, T, current))
        curv = np.einsum("n,nij,njk,nkl->il", weights, lam_inv,
                         row_hessians(family, Y, T, current), lam_inv)
        curv = 0.5 * (curv + curv.T)
        if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(curv))):
            break
        try:
            step = np.linalg.solve(curv, grad)
        except np.linalg.LinAlgError:
            break
        decrement = float(grad @ step)
        if not decrement > 0:
            break
        if decrement <= tol * total:  # a last full step: Newton's error is now quadratic
            epsilon = epsilon - step
            return TargetingResult(at(epsilon), epsilon, True, it)
        rate = 1.0
        for _ in range(30):  # backtracking: the full step can overshoot an exponential
            trial_eps = epsilon - rate * step
            trial = at(trial_eps)
            trial_loss = float(np.dot(weights, family.loss_numpy(Y, T, trial)))
            if np.isfinite(trial_loss) and trial_loss <= loss - 0.25 * rate * decrement:
                break
            rate *= 0.5
        else:
            break
        epsilon, current, loss = trial_eps, trial, trial_loss
    return TargetingResult(theta, np.zeros(d), False, 0)
