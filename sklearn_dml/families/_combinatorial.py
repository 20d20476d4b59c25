"""Combinatorial experiments (DeDL): E[Y | x, t] = G(θ(x), t) for t ∈ {0,1}^m, squared loss.

Ye et al. (2025) "Deep learning-based causal inference for combinatorial
experiments". A structured link G lets a few design cells (m+1 or m+2 of the
2^m) identify θ(x), and so the effect of every combination, observed or not.
Each link is a small declarative piece: its θ names, G, and closed-form
∂G/∂θ and ∂²G/∂θ².
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ._base import Family
from ._index import sigmoid

MAX_ENUMERATED_CELLS = 1024  # 2^m up to m = 10 are listed when naming missing cells


def _ones(t):
    return torch.ones_like(t[..., :1]) if isinstance(t, torch.Tensor) else np.ones((len(t), 1))


def _cat(parts):
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts, dim=-1)
    return np.concatenate(parts, axis=-1)


def cell_label(cell):
    """'101' for the cell (1, 0, 1)."""
    return "".join(str(int(round(v))) for v in np.asarray(cell).ravel())


def all_cells(m):
    """The 2^m cells of {0,1}^m in binary order, shape (2^m, m)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=m)))


class _SigmoidLink:
    """G = scale·σ(η) + offset with η = θ₀·intercept + Σ θ_k t_k (shared by three links)."""

    intercept = True  # θ₀ in η
    free_scale = True  # last θ component is the scale

    def __init__(self, a=1.0, b=0.0):
        self.a, self.b = float(a), float(b)

    def names(self, treatment_names):
        eff = [f"beta[{n}]" for n in treatment_names]
        return (["alpha"] if self.intercept else []) + eff + (["scale"] if self.free_scale else [])

    def dim(self, m):
        return m + int(self.intercept) + int(self.free_scale)

    def outcome_component(self, m):
        """Index of the θ component in Y's units (the free scale), or None."""
        return self.dim(m) - 1 if self.free_scale else None

    def _design(self, t):
        return _cat([_ones(t), t]) if self.intercept else t

    def _split(self, t, theta):
        k = t.shape[-1] + int(self.intercept)
        z = self._design(t)
        eta = (theta[..., :k] * z).sum(-1)
        scale = theta[..., k] if self.free_scale else self.a
        return z, eta, scale

    def mean(self, t, theta):
        _, eta, scale = self._split(t, theta)
        offset = 0.0 if self.free_scale else self.b
        return scale * sigmoid(eta) + offset

    def jacobian(self, t, theta):
        z, eta, scale = self._split(t, theta)
        s = sigmoid(eta)
        d1 = s * (1 - s)
        parts = [(scale * d1)[:, None] * z]
        if self.free_scale:
            parts.append(s[:, None])
        return np.concatenate(parts, axis=1)

    def second(self, t, theta):
        z, eta, scale = self._split(t, theta)
        s = sigmoid(eta)
        d1, k = s * (1 - s), z.shape[1]
        out = np.zeros((t.shape[0], self.dim(t.shape[1]), self.dim(t.shape[1])))
        out[:, :k, :k] = (scale * d1 * (1 - 2 * s))[:, None, None] * z[:, :, None] * z[:, None, :]
        if self.free_scale:
            out[:, :k, k] = out[:, k, :k] = d1[:, None] * z
        return out

    def start(self, cells, means, weights):
        """θ whose G matches the observed cell means (least squares on the logit scale)."""
        top = np.max(np.abs(means))
        scale = (1.25 * top if top > 0 else 1.0) * (1.0 if means[np.argmax(np.abs(means))] >= 0
                                                    else -1.0)
        if self.free_scale:
            p = means / scale
        else:
            p = (means - self.b) / self.a
        logit = np.log(np.clip(p, 0.02, 0.98)) - np.log1p(-np.clip(p, 0.02, 0.98))
        z = self._design(cells)
        sw = np.sqrt(weights)[:, None]
        coef = np.linalg.lstsq(z * sw, logit * sw[:, 0], rcond=None)[0]
        return list(coef) + ([scale] if self.free_scale else [])


class GenSigmoidII(_SigmoidLink):
    """G = θ_{m+1}·σ(θ₀ + Σ θ_k t_k); θ = (alpha, beta[...], scale), m + 2 components."""


class GenSigmoidI(_SigmoidLink):
    """G = θ_{m+1}·σ(Σ θ_k t_k) (no intercept); θ = (beta[...], scale), m + 1 components."""

    intercept = False


class Sigmoid(_SigmoidLink):
    """G = a·σ(θ₀ + Σ θ_k t_k) + b with known a ≠ 0 and b; θ = (alpha, beta[...])."""

    free_scale = False


class Multiplicative:
    """G = θ₀·Π_k (1 + θ_k t_k); θ = (baseline, lift[...]), m + 1 components."""

    def names(self, treatment_names):
        return ["baseline"] + [f"lift[{n}]" for n in treatment_names]

    def dim(self, m):
        return m + 1

    def outcome_component(self, m):
        """Index of the θ component in Y's units (the baseline)."""
        return 0

    def mean(self, t, theta):
        factors = 1 + theta[..., 1:] * t
        prod = torch.prod(factors, -1) if isinstance(t, torch.Tensor) else np.prod(factors, -1)
        return theta[..., 0] * prod

    @staticmethod
    def _products(t, theta):
        """Π over j ∉ {k} and over j ∉ {k, l} of (1 + θ_j t_j), without dividing."""
        f = 1 + theta[:, 1:] * t
        m = t.shape[1]
        eye = np.eye(m, dtype=bool)
        excl1 = np.prod(np.where(eye[None], 1.0, f[:, None, :]), axis=-1)
        pair = eye[:, None, :] | eye[None, :, :]
        excl2 = np.prod(np.where(pair[None], 1.0, f[:, None, None, :]), axis=-1)
        return f, excl1, excl2

    def jacobian(self, t, theta):
        f, excl1, _ = self._products(t, theta)
        return np.column_stack([np.prod(f, axis=1), theta[:, :1] * t * excl1])

    def second(self, t, theta):
        _, excl1, excl2 = self._products(t, theta)
        n, m = t.shape
        out = np.zeros((n, m + 1, m + 1))
        out[:, 0, 1:] = out[:, 1:, 0] = t * excl1
        cross = theta[:, 0, None, None] * t[:, :, None] * t[:, None, :] * excl2
        cross[:, np.arange(m), np.arange(m)] = 0.0  # G is linear in each θ_k
        out[:, 1:, 1:] = cross
        return out

    def start(self, cells, means, weights):
        """Log-linear least squares on positive cell means; flat start otherwise."""
        if np.all(means > 0):
            z = np.column_stack([np.ones(len(cells)), cells])
            sw = np.sqrt(weights)[:, None]
            coef = np.linalg.lstsq(z * sw, np.log(means) * sw[:, 0], rcond=None)[0]
            return [float(np.exp(coef[0]))] + list(np.expm1(coef[1:]))
        return [float(np.average(means, weights=weights))] + [0.0] * cells.shape[1]


LINKS = {"gen_sigmoid_ii": GenSigmoidII, "gen_sigmoid_i": GenSigmoidI, "sigmoid": Sigmoid,
         "multiplicative": Multiplicative}


def _generic_theta(link, m, rng):
    """A generic parameter point (effects of one sign, well away from the singular sets)."""
    d = link.dim(m)
    theta = rng.uniform(0.4, 1.3, size=d)
    if isinstance(link, Multiplicative):
        theta[0] = 1.0
    elif link.intercept:
        theta[0] = rng.uniform(-1.0, -0.3)
    return theta


class CombinatorialFamily(Family):
    """Squared loss ℓ = (y − G(θ, t))² for m binary treatments under a structured link.

    Parameters
    ----------
    link : str, default="gen_sigmoid_ii"
        One of "gen_sigmoid_ii", "gen_sigmoid_i", "sigmoid", "multiplicative".
        The outcome model G (Ye et al. 2025, Assumption 1):

        - ``"gen_sigmoid_ii"``: θ_{m+1}·σ(θ₀ + θ't); θ = (alpha, beta[...], scale);
          needs m + 2 cells (control, the singles and one overlapping cell).
        - ``"gen_sigmoid_i"``: θ_{m+1}·σ(θ't); θ = (beta[...], scale).
        - ``"sigmoid"``: a·σ(θ₀ + θ't) + b with known ``a`` and ``b``.
        - ``"multiplicative"``: θ₀·Π_k(1 + θ_k t_k); θ = (baseline, lift[...]).
    n_treatments : int, default=None
        m; None takes it from T.
    a, b : float, default=1.0 and 0.0
        Known scale and offset of the ``"sigmoid"`` link (ignored by the others).

    Notes
    -----
    ℓ_θ = −2(y − G)G_θ and ℓ_θθ = 2 G_θG_θ' − 2(y − G)G_θθ, which depends on y; its
    conditional mean, the expected Hessian 2 G_θG_θ', is free of y, so Λ(x) =
    2 Σ_t ν(t) G_θG_θ' is an exact sum over the design cells (regime A).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import CombinatorialFamily
    >>> fam = CombinatorialFamily("gen_sigmoid_ii")
    >>> fam.theta_names(["A", "B"])
    ['alpha', 'beta[A]', 'beta[B]', 'scale']
    >>> fam.mean_numpy(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 2.0]]))
    array([1.])
    """

    name = "combinatorial"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True

    def __init__(self, link="gen_sigmoid_ii", n_treatments=None, a=1.0, b=0.0):
        if link not in LINKS:
            raise ValueError(f"Unknown link {link!r}; use one of {sorted(LINKS)}.")
        if link == "sigmoid" and float(a) == 0:
            raise ValueError("The sigmoid link needs a known scale a ≠ 0.")
        self.link = link
        self.n_treatments = n_treatments
        self.a, self.b = a, b
        self._link = Sigmoid(a, b) if link == "sigmoid" else LINKS[link]()

    # -- structure ------------------------------------------------------------------
    def theta_names(self, treatment_names):
        return self._link.names(list(treatment_names))

    def theta_dim(self, n_treatments):
        return self._link.dim(n_treatments)

    def mean(self, t, theta):
        return self._link.mean(t, theta)

    def mean_numpy(self, t, theta):
        return self._link.mean(np.asarray(t, float), np.asarray(theta, float))

    def mean_jacobian(self, t, theta):
        """G_θ = ∂G/∂θ per row, float64 (n, d)."""
        return self._link.jacobian(np.asarray(t, float), np.asarray(theta, float))

    def mean_hessian(self, t, theta):
        """G_θθ = ∂²G/∂θ² per row, float64 (n, d, d)."""
        return self._link.second(np.asarray(t, float), np.asarray(theta, float))

    # -- loss and derivatives -----------------------------------------------------------
    def loss(self, y, t, theta):
        return (y - self.mean(t, theta)) ** 2

    def gradient(self, y, t, theta):
        resid = np.asarray(y, float) - self.mean_numpy(t, theta)
        return -2.0 * resid[:, None] * self.mean_jacobian(t, theta)

    def hessian(self, y, t, theta):
        resid = np.asarray(y, float) - self.mean_numpy(t, theta)
        return self.expected_hessian(t, theta) - 2.0 * resid[:, None, None] * self.mean_hessian(
            t, theta)

    def expected_hessian(self, t, theta):
        G = self.mean_jacobian(t, theta)
        return 2.0 * G[:, :, None] * G[:, None, :]

    def internal_units(self, t, y, x=None):
        """Y divided by its SD where the link has a component in Y's units (its scale or
        baseline), which scales with it; the sigmoid link's known a and b fix Y's units."""
        from .._units import Units

        m = t.shape[1]
        d = self.theta_dim(m)
        units = Units.identity(m, d)
        j = self._link.outcome_component(m) if hasattr(self._link, "outcome_component") \
            else None
        sd = float(np.std(y))
        if j is None or not sd > 0:
            return units
        M = np.eye(d)
        M[j, j] = sd
        return Units(units.t_shift, units.t_scale, 0.0, sd, M, np.zeros(d), sd ** 2)

    # -- data checks and defaults ---------------------------------------------------------
    def check_t(self, t):
        t = np.asarray(t, dtype=float)
        if not np.all(np.isin(t, (0.0, 1.0))):
            raise ValueError("T must hold 0/1 indicators (one column per treatment) for a "
                             "combinatorial design.")
        if self.n_treatments is not None and t.shape[1] != self.n_treatments:
            raise ValueError(f"T has {t.shape[1]} columns but n_treatments={self.n_treatments}.")
        return t

    def check_data(self, t, y, treatment_names):
        check_identified(self, np.unique(t, axis=0))

    def initial_bias(self, y, t):
        cells, inverse, counts = np.unique(t, axis=0, return_inverse=True, return_counts=True)
        means = np.bincount(inverse.ravel(), weights=y) / counts
        return [float(v) for v in self._link.start(cells, means, counts.astype(float))]

    def default_targets(self, n_treatments):
        from ..targets import MultiTreatmentATE

        cells = all_cells(n_treatments)[1:] if n_treatments <= 6 else np.eye(n_treatments)
        return [MultiTreatmentATE(c) for c in cells]

    def __repr__(self):
        return f"CombinatorialFamily(link={self.link!r})"


def design_rank(family, cells, n_points=3, random_state=0):
    """Rank of Σ_t G_θ G_θ' over ``cells`` at generic θ (the largest over a few points)."""
    rng = np.random.RandomState(random_state)
    link, m = family._link, cells.shape[1]
    best = 0
    for _ in range(n_points):
        theta = np.tile(_generic_theta(link, m, rng), (len(cells), 1))
        G = link.jacobian(cells, theta)
        sv = np.linalg.svd(G, compute_uv=False)
        best = max(best, int(np.sum(sv > 1e-9 * sv[0])) if sv.size and sv[0] > 0 else 0)
    return best


def check_identified(family, cells):
    """Raise if the observed design cells cannot identify the link's parameters.

    Λ(x) = 2 Σ_t ν(t) G_θG_θ' is invertible iff {G_θ(θ, t): ν(t) > 0} spans R^d.
    The rank is checked at generic θ; the error lists unobserved cells that
    would each raise it.
    """
    m = cells.shape[1]
    d = family.theta_dim(m)
    rank = design_rank(family, cells)
    if rank >= d:
        return
    seen = {cell_label(c) for c in cells}
    msg = (f"The {len(cells)} observed design cells {sorted(seen)} identify only {rank} of the "
           f"{d} parameters of the {family.link!r} link, so Λ(x) is singular and no cell effect "
           "is identified.")
    if 2 ** m <= MAX_ENUMERATED_CELLS:
        helpful = [cell_label(c) for c in all_cells(m) if cell_label(c) not in seen
                   and design_rank(family, np.vstack([cells, c])) > rank]
        if helpful and rank + 1 == d:
            msg += f" Run any one more cell of: {helpful[:12]}" + (
                " ..." if len(helpful) > 12 else "") + "."
        elif helpful:
            msg += (f" At least {d - rank} more cells are needed, for example from "
                    f"{helpful[:12]}.")
    if family.link == "gen_sigmoid_ii":
        msg += (" gen_sigmoid_ii needs m + 2 cells: control, the m singles and one cell with "
                "two or more treatments on; or use link='sigmoid' with a known scale.")
    raise ValueError(msg)
