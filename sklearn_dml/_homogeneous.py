"""Components of θ that do not vary with x: their partialled-out (efficient) correction.

With θ(x) = (β(x), γ), γ constant, the one-step correction of γ pools the curvature
left after partialling out β: Ĩ = E[Λ_γγ − Λ_γβ Λ_ββ⁻¹ Λ_βγ] (estimated with each row's
own Hessian ℓ_θθ,i where it enters linearly, h_γγ − h_γβ Λ̂_ββ⁻¹Λ̂_βγ, so that with every
component homogeneous Ĩ is the pooled observed information), and each row contributes
g_i = Ĩ⁻¹ (ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β)_i (Robinson's partially linear estimator for the
linear model). A target H(x, β(x), γ) then has the influence function

    ψ_i = H_i − H_β,i Λ_ββ,i⁻¹ ℓ_β,i − ā g_i,   ā = E[H_γ − H_β Λ_ββ⁻¹ Λ_βγ],

which is Neyman-orthogonal in β(·) and in γ. γ̂ itself is the root of the mean of
ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β (:func:`solve_constant`). Where every component is homogeneous this
is the maximum-likelihood estimate with its sandwich; where none is, the per-row Λ̂⁻¹ℓ_θ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .families._base import Family


@dataclass(frozen=True)
class HomogeneousBlock:
    """Per-row pieces of the correction with the components ``constant`` held fixed in x.

    All arrays are in the user's units; with p varying and q constant components:
    """

    constant: np.ndarray  # (q,) indices of the homogeneous components
    varying: np.ndarray  # (p,) the others
    step: np.ndarray  # (n, p) Λ_ββ⁻¹ ℓ_β
    slope: np.ndarray  # (n, p, q) Λ_ββ⁻¹ Λ_βγ
    schur: np.ndarray  # (n, q, q) h_γγ − h_γβ Λ_ββ⁻¹ Λ_βγ, h the row's Hessian
    residual: np.ndarray  # (n, q) ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β

    @classmethod
    def from_rows(cls, lam, grad, hess, constant):
        """The block from each row's Λ̂ (n, d, d), score ℓ_θ (n, d) and Hessian ℓ_θθ
        (n, d, d)."""
        d = lam.shape[1]
        constant = np.asarray(constant, dtype=int)
        varying = np.setdiff1d(np.arange(d), constant)
        L_bb = lam[:, varying][:, :, varying]
        L_bg = lam[:, varying][:, :, constant]
        L_gg = lam[:, constant][:, :, constant]
        if varying.size:
            solved = np.linalg.solve(L_bb, np.concatenate(
                [grad[:, varying, None], L_bg], axis=2))
            step, slope = solved[:, :, 0], solved[:, :, 1:]
        else:
            n = lam.shape[0]
            step, slope = np.zeros((n, 0)), np.zeros((n, 0, constant.size))
        h_bg = hess[:, varying][:, :, constant]
        schur = hess[:, constant][:, :, constant] - np.einsum("npq,npr->nqr", h_bg, slope)
        model = L_gg - np.einsum("npq,npr->nqr", L_bg, slope)
        if np.linalg.eigvalsh(0.5 * (schur + schur.transpose(0, 2, 1)).mean(0)).min() <= 0:
            schur = model  # the rows' own Hessians do not pool to a positive curvature
        residual = grad[:, constant] - np.einsum("npq,np->nq", L_bg, step)
        return cls(constant, varying, step, slope, schur, residual)

    def constant_step(self, weights, rows=slice(None)):
        """g_i = Ĩ⁻¹ (ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β)_i for every row, Ĩ pooled over ``rows``."""
        pooled = np.average(self.schur[rows], axis=0, weights=weights[rows])
        pooled = 0.5 * (pooled + pooled.T)
        return np.linalg.solve(pooled, self.residual.T).T

    def correction(self, weights, rows=slice(None)):
        """The full per-row correction (n, d): γ's g_i and β's Λ_ββ⁻¹(ℓ_β − Λ_βγ g_i)."""
        g = self.constant_step(weights, rows)
        out = np.empty((g.shape[0], self.constant.size + self.varying.size))
        out[:, self.constant] = g
        out[:, self.varying] = self.step - np.einsum("npq,nq->np", self.slope, g)
        return out

    def adjuster(self, weights, rows=slice(None)):
        """``adjust(H_θ)``: H_β Λ_ββ⁻¹ ℓ_β + ā g_i per row (n,) for a target's Jacobian
        H_θ (n, d), with g solved once for all the targets of an inference."""
        g = self.constant_step(weights, rows)

        def adjust(jacobian):
            J_b, J_g = jacobian[:, self.varying], jacobian[:, self.constant]
            a = J_g - np.einsum("np,npq->nq", J_b, self.slope)
            a_bar = np.average(a[rows], axis=0, weights=weights[rows])
            return np.einsum("np,np->n", J_b, self.step) + g @ a_bar

        return adjust

    def adjustment(self, jacobian, weights, rows=slice(None)):
        """One target's :meth:`adjuster` term."""
        return self.adjuster(weights, rows)(jacobian)


def solve_constant(family, Y, T, theta, lam, units, weights, constant, max_iter=10):
    """γ̂ that solves the partialled-out moment mean(ℓ_γ − Λ_γβ Λ_ββ⁻¹ ℓ_β) = 0 with β̂(·)
    and Λ̂ held fixed, by Newton steps from the cross-fitted γ̃, and the block there.

    The first step is the one-step estimator; the following ones remove its error
    quadratic in γ̃ − γ, which is not small against the standard error where the score
    is strongly nonlinear in γ (the nested logit's λ). With every component constant it
    is the maximum-likelihood estimate of the pooled rows.

    Parameters
    ----------
    family : Family
    Y, T : ndarray
        In the internal units of ``units``, as ``theta``.
    theta : ndarray (n, d)
        Cross-fitted θ̂ in internal units.
    lam : ndarray (n, d, d)
        Λ̂ in the user's units.
    units : internal units (:meth:`Family.internal_units`)
    weights : ndarray (n,)
    constant : sequence of int
        The homogeneous components (positions in the user's θ).
    max_iter : int, default=10

    Returns
    -------
    theta : ndarray (n, d) internal θ̂ with the constant components at γ̂ on every row
    block : HomogeneousBlock there
    """
    def block_at(th):
        grad = units.score(family.gradient(Y, T, th))
        hess = units.curvature(row_hessians(family, Y, T, th))
        return HomogeneousBlock.from_rows(lam, grad, hess, constant)

    block, user = block_at(theta), units.theta(theta)
    last_change = np.inf
    for _ in range(max_iter):
        step = block.constant_step(weights)
        gamma = np.average(user[:, constant] - step, axis=0, weights=weights)
        change = np.abs(gamma - user[:, constant]).max()
        trial = user.copy()
        trial[:, constant] = gamma
        trial_theta = units.internal_theta(trial)
        trial_block = block_at(trial_theta)
        if not (np.all(np.isfinite(trial_block.residual)) and change < last_change):
            break  # keep the last iterate: the Newton steps stopped contracting
        theta, block, user, last_change = trial_theta, trial_block, trial, change
        spread = np.sqrt(np.average(step ** 2, axis=0, weights=weights) / step.shape[0])
        if np.all(change <= 1e-4 * np.maximum(spread, 1e-12)):
            break
    return theta, block


def resolve_homogeneous(homogeneous, theta_names):
    """The names of the components of θ the estimator holds constant in x.

    Parameters
    ----------
    homogeneous : None, str, or list of str or int
        As the estimators' ``homogeneous`` parameter: "all", θ names (``theta_names_``),
        blocks of them (``"alpha"`` for every ``alpha[...]``, ``"lambda"`` for every
        ``lambda[...]``, ``"beta[income]"`` for every ``beta[income|...]``) or positions.
    theta_names : list of str

    Returns
    -------
    list of str, in θ's order
    """
    if homogeneous is None:
        return []
    if isinstance(homogeneous, str):
        if homogeneous == "all":
            return list(theta_names)
        homogeneous = [homogeneous]
    chosen = set()
    for item in homogeneous:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= item < len(theta_names):
                raise ValueError(f"homogeneous={list(homogeneous)!r}: position {item} is "
                                 f"outside θ's {len(theta_names)} components {theta_names}.")
            chosen.add(int(item))
            continue
        block = [] if not isinstance(item, str) else name_positions(item, theta_names)
        if not block:
            raise ValueError(f"homogeneous={list(homogeneous)!r}: {item!r} is not a component "
                             f"or block of θ; the components are {theta_names}.")
        chosen.update(block)
    return [theta_names[i] for i in sorted(chosen)]


def name_positions(item, theta_names):
    """Positions of ``item`` itself or of the block it names."""
    if item in theta_names:
        return [theta_names.index(item)]
    return block_positions(item, theta_names)


def block_positions(prefix, theta_names):
    """Positions of the θ names in the block ``prefix``: ``"alpha"`` for every
    ``alpha[...]``, ``"beta[income]"`` for every ``beta[income|...]``."""
    return [j for j, name in enumerate(theta_names)
            if name.startswith(f"{prefix}[")
            or (prefix.endswith("]") and name.startswith(f"{prefix[:-1]}|"))]


def constant_fit(family, y, t, weights, start, max_iter=50):
    """The constant-θ maximum-likelihood fit by damped Newton steps, from ``start``.

    Parameters
    ----------
    family : Family
    y : ndarray (n,)
    t : ndarray (n, p)
    weights : ndarray (n,)
    start : ndarray (d,)
    max_iter : int, default=50

    Returns
    -------
    ndarray (d,), or ``start`` where the loss is not finite there or no step lowers it
    """
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    n, theta = y.shape[0], np.asarray(start, dtype=float).copy()

    def objective(th):
        value = float((family.loss_numpy(y, t, np.tile(th, (n, 1))) * w).sum())
        return value if np.isfinite(value) else np.inf

    value = objective(theta)
    if not np.isfinite(value):
        return theta
    for _ in range(max_iter):
        full = np.tile(theta, (n, 1))
        g = w @ family.gradient(y, t, full)
        H = np.einsum("n,nij->ij", w, row_hessians(family, y, t, full))
        H = 0.5 * (H + H.T)
        shift = max(0.0, -np.linalg.eigvalsh(H).min()) + 1e-6 * max(np.trace(H), 1e-12)
        step = np.linalg.solve(H + shift * np.eye(theta.size), g)
        # at most one unit per component and step: a direction the data barely identify
        # (a flat likelihood) must not send θ far from its start
        size = min(1.0, 1.0 / max(np.abs(step).max(), 1e-300))
        while size > 1e-8:
            new_value = objective(theta - size * step)
            if new_value <= value:
                break
            size /= 2
        else:
            break
        theta, gain, value = theta - size * step, value - new_value, new_value
        if np.max(np.abs(size * step)) < 1e-10 or gain <= 1e-12 * max(abs(value), 1.0):
            break
    return theta


def row_hessians(family, y, t, theta):
    """Per-row curvature (n, d, d) for the pooled information: the observed Hessian where
    the family gives it in closed form, else the Fisher information where it has one
    (an autodiff Hessian per row costs ten times more), else the autodiff Hessian."""
    if type(family).hessian is Family.hessian and family.has_expected_hessian:
        return family.expected_hessian(t, theta)
    return family.hessian(y, t, theta)


def constant_start(family, Y, T, weights, rows, theta_dim):
    """The constant-θ MLE on ``rows``, from the family's start value (or zero)."""
    start = family.initial_bias(Y[rows], T[rows])
    return constant_fit(family, Y[rows], T[rows], weights[rows],
                        np.zeros(theta_dim) if start is None else start)


def parametric(output_projector):
    """Whether no component of θ varies with x (the output projector is zero)."""
    return output_projector is not None and not np.any(output_projector)
