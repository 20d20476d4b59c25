"""θ-networks: :class:`StructuralNet` and the batched ensemble that trains all folds at once."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def _layer_dims(input_dim, hidden_dims, theta_dim):
    return [int(input_dim), *[int(h) for h in hidden_dims], int(theta_dim)]


class StructuralNet(nn.Module):
    """Feed-forward network x -> θ(x): Linear, ReLU and dropout between hidden layers.

    Parameters
    ----------
    input_dim : int
        Number of covariates d.
    hidden_dims : sequence of int
        Hidden layer sizes, e.g. ``(64, 32)``.
    theta_dim : int
        Number of structural parameters per observation.
    dropout : float, default=0.0
        Dropout rate after each hidden activation (training only).

    Examples
    --------
    >>> import torch
    >>> from sklearn_dml import StructuralNet
    >>> net = StructuralNet(input_dim=10, hidden_dims=(64, 32), theta_dim=2)
    >>> net(torch.randn(100, 10)).shape
    torch.Size([100, 2])
    """

    def __init__(self, input_dim, hidden_dims, theta_dim, dropout=0.0):
        super().__init__()
        dims = _layer_dims(input_dim, hidden_dims, theta_dim)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class EnsembleStructuralNet(nn.Module):
    """M independent :class:`StructuralNet` s with stacked weights, run as one batched net.

    Weights are tensors of shape (M, d_in, d_out); a forward pass on inputs of
    shape (M, B, d) is one batched matrix product per layer, so the K networks of
    a cross-fit train in the time of about one. Each member draws its
    initialization and dropout masks from its own ``torch.Generator``, so a
    member's result does not depend on which other members share its batch.

    Parameters
    ----------
    n_models : int
        Number of members M.
    input_dim, hidden_dims, theta_dim, dropout
        As in :class:`StructuralNet`.
    generators : list of torch.Generator
        One per member, for initialization and dropout.
    output_projector : ndarray of shape (theta_dim, theta_dim), default=None
        Orthogonal projector Q applied to the output layer's weights (θ = h W Q + b):
        the directions of θ outside its range do not vary with x (see
        :func:`homogeneous_projector`). None: every direction varies.

    Examples
    --------
    >>> import torch
    >>> from sklearn_dml import EnsembleStructuralNet
    >>> generators = [torch.Generator().manual_seed(k) for k in range(5)]
    >>> net = EnsembleStructuralNet(5, input_dim=10, hidden_dims=(16,), theta_dim=2,
    ...                             dropout=0.0, generators=generators)
    >>> net(torch.randn(5, 100, 10)).shape  # 5 members, 100 rows each
    torch.Size([5, 100, 2])
    """

    def __init__(self, n_models, input_dim, hidden_dims, theta_dim, dropout, generators,
                 output_projector=None):
        super().__init__()
        self.dims = _layer_dims(input_dim, hidden_dims, theta_dim)
        self.dropout = float(dropout)
        self.generators = generators
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(self.dims[:-1], self.dims[1:]):
            # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn per member.
            bound = 1.0 / math.sqrt(d_in)
            w = torch.stack([(torch.rand(d_in, d_out, generator=g, dtype=torch.float64) * 2 - 1)
                             for g in generators]) * bound
            b = torch.stack([(torch.rand(1, d_out, generator=g, dtype=torch.float64) * 2 - 1)
                             for g in generators]) * bound
            self.weights.append(nn.Parameter(w.float()))
            self.biases.append(nn.Parameter(b.float()))
        Q = None
        if output_projector is not None:
            Q = torch.as_tensor(np.asarray(output_projector), dtype=torch.float32)
        self.register_buffer("output_projector", Q)
        if Q is not None:
            with torch.no_grad():
                self.weights[-1].copy_(self.weights[-1] @ Q)

    @property
    def n_models(self):
        return self.weights[0].shape[0]

    def forward(self, x):
        """Map inputs (M, B, d) to θ of shape (M, B, theta_dim)."""
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if i == last and self.output_projector is not None:
                w = w @ self.output_projector
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
                if self.training and self.dropout > 0:
                    h = h * self._dropout_mask(h.shape)
        return h

    def keep_members(self, index):
        """Keep only the members at positions ``index`` (a LongTensor), with their generators.

        The parameters are replaced by new ones holding those members' rows; an optimizer
        must be told (see :meth:`sklearn_dml._adam.Adam.keep_rows`).
        """
        for params in (self.weights, self.biases):
            for i, param in enumerate(params):
                params[i] = nn.Parameter(param.detach()[index])
        self.generators = [self.generators[i] for i in index.tolist()]

    def _dropout_mask(self, shape):
        keep = 1.0 - self.dropout
        masks = [torch.rand(shape[1:], generator=g) < keep for g in self.generators]
        ref = self.weights[0]
        return torch.stack(masks).to(device=ref.device, dtype=ref.dtype) / keep

    def state_arrays(self):
        """Weights as float32 numpy arrays [(W, b), ...], one entry per layer."""
        return self.export(list(self.weights) + list(self.biases))

    def export(self, params):
        """Stored parameters [W_1, ..., W_L, b_1, ..., b_L] as the float32 numpy layers
        [(W, b), ...] that :func:`predict_theta` evaluates, the output projector applied."""
        n = len(params) // 2
        layers = [(w.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy())
                  for w, b in zip(params[:n], params[n:])]
        if self.output_projector is not None:
            W, b = layers[-1]
            layers[-1] = (W @ self.output_projector.cpu().numpy(), b)
        return layers


def homogeneous_projector(theta_matrix, homogeneous):
    """The projector Q that keeps the components ``homogeneous`` of θ_user = M θ constant.

    A network's θ = h W Q + b has θ_user[S] = h W Q M_Sᵀ + const, with M_S the rows S of
    M: Q = I − M_Sᵀ (M_S M_Sᵀ)⁻¹ M_S makes that term vanish. For a diagonal M (or no
    homogeneous component shared with a varying one) Q zeroes the output columns S.

    Parameters
    ----------
    theta_matrix : ndarray (d, d)
        The map from internal to user θ (:class:`~sklearn_dml._units.Units`).
    homogeneous : sequence of int
        Components of the user's θ that do not vary with x.

    Returns
    -------
    ndarray (d, d) or None (nothing homogeneous)
    """
    index = np.asarray(homogeneous, dtype=int)
    if index.size == 0:
        return None
    M_S = np.asarray(theta_matrix, dtype=float)[index]
    Q = np.eye(M_S.shape[1]) - M_S.T @ np.linalg.solve(M_S @ M_S.T, M_S)
    Q[np.abs(Q) < 1e-12] = 0.0
    return Q


def predict_theta(layers, X, member=None, chunk_size=65536):
    """θ(X) from stored weights, in float64 numpy, evaluated in row chunks.

    Parameters
    ----------
    layers : list of (W, b)
        Stacked weights as returned by :meth:`EnsembleStructuralNet.state_arrays`,
        W of shape (M, d_in, d_out) and b of shape (M, 1, d_out).
    X : ndarray of shape (n, d)
        Standardized covariates.
    member : int or None
        Evaluate one member only; None evaluates all and returns (M, n, theta_dim).
    chunk_size : int
        Rows per evaluation chunk, to bound memory.
    """
    X = np.asarray(X, dtype=np.float32)
    sel = slice(None) if member is None else slice(member, member + 1)
    ws = [(torch.from_numpy(w[sel]), torch.from_numpy(b[sel])) for w, b in layers]
    outs = []
    with torch.no_grad():
        for start in range(0, X.shape[0], chunk_size):
            h = torch.from_numpy(X[start:start + chunk_size]).expand(ws[0][0].shape[0], -1, -1)
            for i, (w, b) in enumerate(ws):
                h = torch.baddbmm(b, h, w)
                if i < len(ws) - 1:
                    h = torch.relu(h)
            outs.append(h.double().numpy())
    out = np.concatenate(outs, axis=1) if outs else np.zeros((len(ws[0][0]), 0, 0))
    return out[0] if member is not None else out


def member_to_module(layers, member, dropout=0.0):
    """Build a stand-alone :class:`StructuralNet` from one member of stored weights."""
    dims = [layers[0][0].shape[1]] + [w.shape[2] for w, _ in layers]
    net = StructuralNet(dims[0], dims[1:-1], dims[-1], dropout=dropout)
    linears = [m for m in net.layers if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, (w, b) in zip(linears, layers):
            lin.weight.copy_(torch.from_numpy(w[member].T))
            lin.bias.copy_(torch.from_numpy(b[member, 0]))
    return net
