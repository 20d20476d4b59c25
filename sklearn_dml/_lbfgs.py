"""Full-batch L-BFGS for the members of a batched ensemble, each on its own.

``torch.optim.LBFGS`` treats all parameters as one vector: its curvature pairs, step
directions and line search would mix the fold networks of an ensemble, so a member's
result would depend on which others share its batch. Here every quantity of the
two-loop recursion and of the line search is per member (inner products sum over a
member's own parameters only), so each member follows the trajectory it would follow
alone, as with :class:`~sklearn_dml._adam.Adam`.
"""

from __future__ import annotations

import torch

ARMIJO_C1 = 1e-4
MAX_HALVINGS = 20


class EnsembleLBFGS:
    """L-BFGS over stacked parameters of shape (M, ...), one independent problem per member.

    Parameters
    ----------
    params : list of torch.Tensor
        Leaf tensors with ``requires_grad``, each with the members on the first axis.
    objective : callable
        ``objective()`` returns the (M,) per-member objective at the current
        parameters, differentiable in them; members must not interact.
    history_size : int, default=10
        Curvature pairs kept per member.
    ftol : float or None, default=None
        A member has converged when an iteration lowers its objective by no more than
        ``ftol`` times max(|f|, 1) (scipy's L-BFGS-B rule). None: the machine epsilon of
        the parameters' dtype; below it, iterations only spend line-search evaluations.

    Notes
    -----
    Each :meth:`step` takes the quasi-Newton direction and a backtracking (Armijo)
    line search, all members at once: a trial evaluates every member, and a member
    keeps the first step length that decreases its objective enough. A member whose
    direction is not a descent direction restarts from the gradient. A member is done
    (:attr:`done`) once an iteration lowers its objective by no more than ``ftol``
    relative to max(|f|, 1), or finds no acceptable step in ``MAX_HALVINGS`` halvings.

    Examples
    --------
    >>> import torch
    >>> from sklearn_dml._lbfgs import EnsembleLBFGS
    >>> w = torch.zeros(3, 2, requires_grad=True)  # 3 members, 2 parameters each
    >>> target = torch.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    >>> opt = EnsembleLBFGS([w], lambda: ((w - target) ** 2).sum(1))
    >>> for _ in range(5):
    ...     _ = opt.step()
    >>> torch.allclose(w.detach(), target, atol=1e-5)
    True
    """

    def __init__(self, params, objective, history_size=10, ftol=None):
        self.params = list(params)
        self.ftol = torch.finfo(self.params[0].dtype).eps if ftol is None else float(ftol)
        self.objective = objective
        self.history_size = int(history_size)
        self.n_members = self.params[0].shape[0]
        self.sizes = [p[0].numel() for p in self.params]
        self.s_hist, self.y_hist, self.rho_hist = [], [], []
        self.done = torch.zeros(self.n_members, dtype=torch.bool,
                                   device=self.params[0].device)
        self.gamma = torch.ones(self.n_members, device=self.params[0].device)  # H0 = gamma I
        self.loss, self.grad = self._evaluate()
        self.first = True

    # ------------------------------------------------------------------ helpers
    def _flat(self):
        return torch.cat([p.detach().reshape(self.n_members, -1) for p in self.params], 1)

    @torch.no_grad()
    def _assign(self, flat):
        offset = 0
        for p, size in zip(self.params, self.sizes):
            p.copy_(flat[:, offset:offset + size].view_as(p))
            offset += size

    def _evaluate(self):
        for p in self.params:
            p.grad = None
        with torch.enable_grad():
            loss = self.objective()
            loss.sum().backward()
        grad = torch.cat([p.grad.reshape(self.n_members, -1) for p in self.params], 1)
        return loss.detach(), grad

    def _direction(self, grad):
        """-H·grad by the two-loop recursion, per member."""
        q = -grad
        alphas = []
        for s, y, rho in zip(reversed(self.s_hist), reversed(self.y_hist),
                             reversed(self.rho_hist)):
            a = rho * (s * q).sum(1)
            q = q - a[:, None] * y
            alphas.append(a)
        q = q * self.gamma[:, None]
        for s, y, rho, a in zip(self.s_hist, self.y_hist, self.rho_hist, reversed(alphas)):
            b = rho * (y * q).sum(1)
            q = q + (a - b)[:, None] * s
        return q

    # --------------------------------------------------------------------- step
    def step(self, active=None):
        """One L-BFGS iteration for the ``active`` members (bool (M,); default all).

        Returns the (M,) objective after the step.
        """
        device = self.params[0].device
        M = self.n_members
        if active is None:
            active = torch.ones(M, dtype=torch.bool, device=device)
        moving = active & ~self.done
        x, loss, grad = self._flat(), self.loss, self.grad
        direction = self._direction(grad)
        slope = (grad * direction).sum(1)
        uphill = ~(slope < 0)  # also catches NaN
        if uphill.any():  # restart those members from steepest descent
            direction[uphill] = -grad[uphill]
            slope = torch.where(uphill, -(grad * grad).sum(1), slope)
            for hist in (self.s_hist, self.y_hist, self.rho_hist):
                for h in hist:
                    h[uphill] = 0.0
        # the first step (no curvature yet) is scaled to unit length in the L1 norm
        t = torch.ones(M, dtype=x.dtype, device=device)
        if self.first:
            t = torch.clamp(1.0 / grad.abs().sum(1).clamp_min(1e-30), max=1.0)
        pending = moving & (slope < 0)
        new_x, new_loss, new_grad = x.clone(), loss.clone(), grad.clone()
        for _ in range(MAX_HALVINGS):
            if not pending.any():
                break
            trial = torch.where(pending[:, None], x + t[:, None] * direction, x)
            self._assign(trial)
            f, g = self._evaluate()
            ok = pending & torch.isfinite(f) & (f <= loss + ARMIJO_C1 * t * slope)
            new_x[ok], new_loss[ok], new_grad[ok] = trial[ok], f[ok], g[ok]
            pending = pending & ~ok
            t = torch.where(pending, t * 0.5, t)
        scale = torch.maximum(torch.maximum(loss.abs(), new_loss.abs()), torch.ones_like(loss))
        self.done |= moving & ((loss - new_loss) <= self.ftol * scale)  # includes no step found
        self._assign(new_x)
        s, y = new_x - x, new_grad - grad
        sy = (s * y).sum(1)
        keep = sy > 1e-10 * (y * y).sum(1).clamp_min(1e-30)  # curvature condition
        self.s_hist.append(torch.where(keep[:, None], s, 0.0))
        self.y_hist.append(torch.where(keep[:, None], y, 0.0))
        self.rho_hist.append(torch.where(keep, 1.0 / sy.clamp_min(1e-30), 0.0))
        self.gamma = torch.where(keep, sy / (y * y).sum(1).clamp_min(1e-30), self.gamma)
        if len(self.s_hist) > self.history_size:
            del self.s_hist[0], self.y_hist[0], self.rho_hist[0]
        self.loss, self.grad, self.first = new_loss, new_grad, False
        return new_loss
