"""Adam for the stacked ensemble weights, without ``torch.optim``.

``torch.optim.Adam``'s constructor imports ``torch._dynamo`` (and sympy): 1.1 s per
process on the benchmark machine, about a sixth of a whole n = 5000 fit, paid again in
every joblib worker. This is the same update (Kingma and Ba 2015, with PyTorch's coupled
L2 ``weight_decay`` and bias correction), checked against ``torch.optim.Adam`` in the
tests.
"""

from __future__ import annotations

import math

import torch


class Adam:
    """Adam over parameter groups ``[{"params": [...], "weight_decay": float}, ...]``.

    Parameters
    ----------
    groups : list of dict
        Each with ``params`` (tensors with ``requires_grad``) and ``weight_decay``.
    lr : float
    betas : tuple of float, default=(0.9, 0.999)
    eps : float, default=1e-8

    Examples
    --------
    >>> import torch
    >>> from sklearn_dml._adam import Adam
    >>> w = torch.zeros(3, requires_grad=True)
    >>> opt = Adam([{"params": [w], "weight_decay": 0.0}], lr=0.1)
    >>> (w - 1.0).pow(2).sum().backward()
    >>> opt.step()
    >>> w.detach()
    tensor([0.1000, 0.1000, 0.1000])
    """

    def __init__(self, groups, lr, betas=(0.9, 0.999), eps=1e-8):
        self.groups = [{"params": list(g["params"]), "weight_decay": float(g["weight_decay"])}
                       for g in groups]
        self.lr, self.betas, self.eps = float(lr), betas, float(eps)
        self.steps = 0
        self.state = {id(p): (torch.zeros_like(p), torch.zeros_like(p))
                      for g in self.groups for p in g["params"]}

    def keep_rows(self, index, params):
        """Go on with ``params``: the rows ``index`` (first dimension) of the current
        parameters, in group order, keeping those rows' moment estimates."""
        old = [p for g in self.groups for p in g["params"]]
        if len(params) != len(old):
            raise ValueError(f"expected {len(old)} parameters, got {len(params)}")
        fresh = iter(params)
        for g in self.groups:
            g["params"] = [next(fresh) for _ in g["params"]]
        self.state = {id(new): tuple(moment[index] for moment in self.state[id(p)])
                      for p, new in zip(old, params)}

    def zero_grad(self):
        for g in self.groups:
            for p in g["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self):
        self.steps += 1
        beta1, beta2 = self.betas
        bias1 = 1 - beta1 ** self.steps
        root_bias2 = math.sqrt(1 - beta2 ** self.steps)
        for g in self.groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if g["weight_decay"] == 0 else p.grad.add(p, alpha=g["weight_decay"])
                m, v = self.state[id(p)]
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (v.sqrt() / root_bias2).add_(self.eps)
                p.addcdiv_(m, denom, value=-self.lr / bias1)
