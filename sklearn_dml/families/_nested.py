"""Nested logit with heterogeneous preferences θ(w) and inclusive-value parameters λ.

The J alternatives are partitioned into nests B_1..B_N. With the item-level utility
of the conditional logit, V_ij = α_j(w_i) + x_ij'β(w_i), and λ_k the inclusive-value
(dissimilarity) parameter of nest k,

    I_k = log Σ_{j∈B_k∩A_i} exp(V_ij / λ_k),
    P(k) = exp(λ_k I_k) / Σ_m exp(λ_m I_m),   P(j | k) = exp(V_ij / λ_k − I_k),

and ℓ = −log P(k(y)) − log P(y | k(y)). λ = 1 everywhere is the conditional logit.
The packed treatment layout ``[x (J·K), availability (J)]`` and its helpers are those
of :class:`MultinomialLogitFamily`. Score and Hessian come from autodiff; since the
Hessian depends on y, Λ(w) is built from the Fisher information Σ_j P_j ℓ_θθ(j).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.func import jacrev, vmap

from ._base import Family
from ._multinomial import MultinomialLogitFamily, secant_choice_weights

#: λ below this is mapped smoothly to a positive value (C¹ at the threshold) in the loss,
#: so that a network output ≤ 0 cannot break training; above it the loss uses λ itself.
LAMBDA_FLOOR = 0.05


def _positive_lambda(lam):
    """λ itself above LAMBDA_FLOOR = c; below, c²/(2c − λ): positive, same value and slope at c."""
    c = LAMBDA_FLOOR
    low = c * c / (2 * c - torch.clamp(lam, max=c))  # clamp: finite where unused
    return torch.where(lam > c, lam, low)


#: exp arguments are kept above this: float32 exp takes a slow path for results that
#: underflow, which masked entries at −1e30 would hit on every step.
EXP_CLAMP = -80.0


def _nest_logsumexp(U, member):
    """log Σ_{j∈k} exp(U_j) per nest k (n, N), torch; U is −1e30 where unavailable.

    The logsumexp over the masked (n, N, S) array with the row maximum held fixed (its
    gradient is zero) and the differences clamped at ``EXP_CLAMP``: masked entries add
    exp(−80) ≈ 2e−35 rather than 0. A nest with no available member gets about −1e30.
    """
    masked = torch.where(member[None], U[:, None, :], torch.full_like(U[:, None, :], -1e30))
    top = masked.amax(dim=2, keepdim=True).detach()
    return top[..., 0] + torch.log(torch.exp((masked - top).clamp(min=EXP_CLAMP)).sum(dim=2))


class NestedLogitFamily(Family):
    """Nested logit ℓ = −log P(nest of y) − log P(y | its nest), θ = (α, β, λ).

    Parameters
    ----------
    n_alternatives : int
        Number of (inside) alternatives J.
    n_attributes : int
        Number of attributes K per alternative.
    nests : dict
        Nest name → list of its alternatives (indices or names), as torch-choice's
        ``nest_to_item``: every alternative in exactly one nest.
    shared_lambda : bool, default=False
        One λ for every nest with two or more alternatives instead of one per nest.
    lambda_nests : list, default=None
        Nests whose λ is estimated; the others have λ = 1. None: every nest with two or
        more alternatives. A nest with a single alternative leaves its λ unidentified
        (P(j | nest) = 1 and λ·I = V_j whatever λ): it is always fixed at 1, and naming
        it here is an error; with per-nest λ requested by default a UserWarning says so.
    reference, outside_option, alternative_names, attribute_names, constants, beta_names
        As in :class:`MultinomialLogitFamily`. The outside option is a nest of its own.

    Notes
    -----
    θ holds λ itself (``"lambda[<nest>]"``, or ``"lambda"`` when shared), so E[λ_k] is an
    average parameter. The loss maps λ below 0.05 smoothly to a positive value; a
    λ̂ there is a sign of misspecification. λ in (0, 1] is consistent with random
    utility maximization for all attribute values; λ > 1 is reported as estimated.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import NestedLogitFamily
    >>> fam = NestedLogitFamily(3, 1, nests={"a": [0, 1], "b": [2]}, lambda_nests=["a"])
    >>> fam.theta_names(None)
    ['alpha[1]', 'alpha[2]', 'beta[x0]', 'lambda[a]']
    >>> t = fam.pack(np.zeros((1, 3, 1)))
    >>> fam.probabilities(t, np.array([[0.0, 0.0, 0.0, 0.5]])).round(3)
    array([[0.293, 0.293, 0.414]])
    """

    name = "nested_logit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = True
    requires_varying_treatments = False
    conditional_law = "neighbours"  # a table of attributes per row
    secant_lambda = True

    def __init__(self, n_alternatives=2, n_attributes=1, nests=None, *, shared_lambda=False,
                 lambda_nests=None, reference=0, outside_option=False, alternative_names=None,
                 attribute_names=None, constants=True, beta_names=None):
        self.items = MultinomialLogitFamily(
            n_alternatives, n_attributes, reference=reference, outside_option=outside_option,
            alternative_names=alternative_names, attribute_names=attribute_names,
            constants=constants, beta_names=beta_names)
        self.shared_lambda = bool(shared_lambda)
        self.nest_names, members = self._check_nests(nests)
        N = len(self.nest_names)
        S = self.items.n_slots
        # slot -> nest (the outside option is a nest of its own, index N)
        self._nest_of = np.full(S, N, dtype=int)
        for k, alts in enumerate(members):
            self._nest_of[alts] = k
        n_nests = N + self.items.outside_option
        self._member = np.zeros((n_nests, S), dtype=bool)
        self._member[self._nest_of, np.arange(S)] = True
        singletons = [self.nest_names[k] for k in range(N) if len(members[k]) == 1]
        if lambda_nests is None:
            free = [k for k in range(N) if len(members[k]) > 1]
            if singletons and not self.shared_lambda:
                warnings.warn(
                    f"Nest(s) {singletons} have a single alternative, so their λ is not "
                    "identified; it is fixed at 1 (not a θ component).", UserWarning,
                    stacklevel=3)
        else:
            free = [self._nest_index(k) for k in lambda_nests]
            bad = [self.nest_names[k] for k in free if len(members[k]) == 1]
            if bad:
                raise ValueError(f"λ cannot be estimated for nest(s) {bad}: a nest with a "
                                 "single alternative leaves it unidentified (fixed at 1). "
                                 "Remove them from lambda_nests.")
            free = sorted(set(free))
        self.lambda_nests = [self.nest_names[k] for k in free]
        # nest -> λ column among the λ block (−1: fixed at 1)
        self._lambda_col = np.full(n_nests, -1, dtype=int)
        for i, k in enumerate(free):
            self._lambda_col[k] = 0 if self.shared_lambda else i
        self.n_lambda = min(len(free), 1) if self.shared_lambda else len(free)
        self._d0 = self.items.theta_dim()

    def _check_nests(self, nests):
        """Nest names and member slots; every inside alternative in exactly one nest."""
        items = self.items
        if not isinstance(nests, dict) or not nests:
            raise ValueError("nests must be a non-empty dict: nest name -> list of its "
                             f"alternatives (indices or names); got {nests!r}.")
        names, members, seen = [], [], {}
        for nest, alts in nests.items():
            if isinstance(alts, (str, int, np.integer)) or len(alts) == 0:
                raise ValueError(f"Nest {nest!r} must list its alternatives (a non-empty "
                                 f"list); got {alts!r}.")
            slots = []
            for a in alts:
                if isinstance(a, str) and a not in items.alternative_names:
                    raise ValueError(f"Nest {nest!r} names unknown alternative {a!r}; the "
                                     f"alternatives are {items.alternative_names}.")
                j = items.alternative_index(a)
                if j >= items.n_alternatives:
                    raise ValueError(f"Nest {nest!r} names alternative {a!r}, outside 0.."
                                     f"{items.n_alternatives - 1} (the outside option is a "
                                     "nest of its own).")
                if j in seen:
                    raise ValueError(f"Alternative {items.alternative_names[j]!r} appears in "
                                     f"nest {seen[j]!r} and in nest {nest!r}; each alternative "
                                     "belongs to exactly one nest.")
                seen[j] = nest
                slots.append(j)
            names.append(str(nest))
            members.append(slots)
        missing = [items.alternative_names[j] for j in range(items.n_alternatives)
                   if j not in seen]
        if missing:
            raise ValueError(f"Alternative(s) {missing} are in no nest; give every alternative "
                             "a nest (a nest of one alternative is allowed, with λ = 1).")
        if len(set(names)) != len(names):
            raise ValueError(f"Nest names must be distinct as strings; got {names}.")
        return names, members

    def _nest_index(self, nest):
        if isinstance(nest, (int, np.integer)) and not isinstance(nest, bool):
            if not 0 <= nest < len(self.nest_names):
                raise ValueError(f"Nest index {nest} is out of range for nests "
                                 f"{self.nest_names}.")
            return int(nest)
        if str(nest) not in self.nest_names:
            raise ValueError(f"Unknown nest {nest!r}; the nests are {self.nest_names}.")
        return self.nest_names.index(str(nest))

    # -- layout (the conditional logit's, plus the λ block) ------------------------------
    def __getattr__(self, name):
        # packed layout and helpers (pack, unpack, check_t, check_y, alternative_index, ...)
        if name in _DELEGATED:
            return getattr(self.__dict__["items"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def theta_names(self, treatment_names=None):
        if self.shared_lambda:
            lam = ["lambda"] * self.n_lambda
        else:
            lam = [f"lambda[{k}]" for k in self.lambda_nests]
        return self.items.theta_names(treatment_names) + lam

    def theta_dim(self, n_treatments=None):
        return self._d0 + self.n_lambda

    @property
    def lambda_indices(self):
        """Positions of the λ block in θ."""
        return list(range(self._d0, self._d0 + self.n_lambda))

    def nest_lambdas(self, theta):
        """λ per nest (n, N (+1 with an outside option)), 1 where fixed; numpy."""
        theta = np.asarray(theta, dtype=float)
        lam = np.ones((theta.shape[0], self._lambda_col.size))
        free = self._lambda_col >= 0
        lam[:, free] = theta[:, self._d0 + self._lambda_col[free]]
        return lam

    def internal_units(self, t, y, x=None):
        """The conditional logit's attribute scaling; λ is unit-free (V/λ is invariant)."""
        from .._units import Units

        u = self.items.internal_units(t, y, x)
        d = self.theta_dim()
        M = np.eye(d)
        M[:self._d0, :self._d0] = u.theta_matrix
        return Units(u.t_shift, u.t_scale, u.y_shift, u.y_scale, M, np.zeros(d))

    # -- torch ---------------------------------------------------------------------------
    def _torch_parts(self, t, theta):
        """log P (n, S), log P(j | nest) (n, S), λ per slot (n, S), top log-sum (n,); torch."""
        V = self.items.torch_utilities(t, theta[:, :self._d0])
        _, avail = self.items.unpack(t)
        if self.items.outside_option:
            avail = torch.cat([avail, torch.ones_like(avail[:, :1])], dim=1)
        cols = [theta[:, self._d0 + c] if c >= 0 else torch.ones_like(theta[:, 0])
                for c in self._lambda_col]
        lam = _positive_lambda(torch.stack(cols, dim=1))  # (n, N)
        nest_of = torch.as_tensor(self._nest_of, device=V.device)
        lam_slot = lam.index_select(1, nest_of)  # index_select: a cheaper backward than x[:, i]
        big = torch.full_like(V, -1e30)
        U = torch.where(avail, V / lam_slot, big)  # V_j / λ_k(j)
        member = torch.as_tensor(self._member, device=V.device)
        # I_k = log Σ_{j∈k, available} exp(U_j); empty nests are masked below
        inclusive = _nest_logsumexp(U, member)
        nest_avail = avail.to(V.dtype) @ member.T.to(V.dtype) > 0
        A = torch.where(nest_avail, lam * inclusive, torch.full_like(lam, -1e30))
        top = torch.logsumexp(A, dim=1)
        log_cond = torch.where(avail, U - inclusive.index_select(1, nest_of), big)
        logp = torch.where(avail, (A - top[:, None]).index_select(1, nest_of) + log_cond,
                           big)
        return logp, log_cond, lam_slot, top

    def log_probabilities(self, t, theta):
        """log P (n, S), torch; very negative for unavailable alternatives."""
        return self._torch_parts(t, theta)[0]

    def torch_logsum(self, t, theta):
        """The top-level log-sum log Σ_k exp(λ_k I_k) per row (consumer surplus), torch."""
        return self._torch_parts(t, theta)[3]

    def share_derivative(self, t, theta, j, l_):
        """∂ log P_j / ∂ V_l per row (n,), torch: for j = l, 1/λ − (1/λ − 1) P(j|k) − P_j;
        l in j's nest, −(1/λ − 1) P(l|k) − P_l; l in another nest, −P_l."""
        logp, log_cond, lam_slot, _ = self._torch_parts(t, theta)
        within = float(self._nest_of[j] == self._nest_of[l_])
        inv = 1.0 / lam_slot[:, l_]
        return (float(j == l_) * inv - within * (inv - 1.0) * torch.exp(log_cond[:, l_])
                - torch.exp(logp[:, l_]))

    def loss(self, y, t, theta):
        return -self.log_probabilities(t, theta).gather(1, y.long().reshape(-1, 1))[:, 0]

    # -- numpy -------------------------------------------------------------------------
    def probabilities(self, t, theta):
        """Choice probabilities P (n, S); 0 for unavailable alternatives."""
        with torch.no_grad():
            logp = self.log_probabilities(torch.as_tensor(np.asarray(t, dtype=float)),
                                          torch.as_tensor(np.asarray(theta, dtype=float)))
        return np.exp(logp.numpy())

    def log_probability_jacobian(self, t, theta):
        """∂ log P_j / ∂θ per row and slot (n, S, d) by autodiff, and P (n, S); numpy."""
        def one(thi, ti):
            return self.log_probabilities(ti[None], thi[None])[0]

        t = torch.as_tensor(np.asarray(t, dtype=float))
        theta = torch.as_tensor(np.asarray(theta, dtype=float))
        jac = vmap(jacrev(one))(theta, t).detach().numpy()
        P = self.probabilities(t.numpy(), theta.numpy())
        return np.where(P[:, :, None] > 0, jac, 0.0), P

    def expected_hessian(self, t, theta):
        """Fisher information Σ_j P_j ℓ_θθ(j) = Σ_j P_j ℓ_θ(j) ℓ_θ(j)' per row (n, d, d).

        The information identity holds at every θ under the model's own law of y, so
        one Jacobian of log P replaces a Hessian per alternative (and is PSD by form).
        """
        jac, P = self.log_probability_jacobian(t, theta)
        return np.einsum("ns,nsd,nse->nde", P, jac, jac)

    def hessian(self, y, t, theta):
        """The observed ℓ_θθ per row (n, d, d): the cross-entropy Hessian against the
        chosen alternative (it depends on y where λ ≠ 1)."""
        chosen = np.zeros((np.shape(y)[0], self.n_slots))
        chosen[np.arange(chosen.shape[0]), np.asarray(y, dtype=int)] = 1.0
        return self._cross_entropy_hessian(t, theta, torch.as_tensor(chosen))

    def hessian_under(self, t, theta, law_theta):
        """Σ_j P_j(law_theta) ℓ_θθ(j, θ) per row (n, d, d): the Hessian of the cross-entropy
        against the probabilities at ``law_theta``, by autodiff."""
        return self._cross_entropy_hessian(
            t, theta, torch.as_tensor(self.probabilities(t, law_theta)))

    def _cross_entropy_hessian(self, t, theta, law):
        """Hessian of −Σ_j law_j log P_j(θ) per row, by autodiff."""
        def one(thi, ti, pi):
            logp = self.log_probabilities(ti[None], thi[None])[0]
            return -(pi * torch.where(pi > 0, logp, torch.zeros_like(logp))).sum()

        t = torch.as_tensor(np.asarray(t, dtype=float))
        theta = torch.as_tensor(np.asarray(theta, dtype=float))
        # reverse over reverse: forward-mode levels are not thread-safe, and folds run in threads
        return vmap(jacrev(jacrev(one)))(theta, t, law).detach().numpy()

    def secant_hessian(self, y, t, theta):
        """Σ_j w_j ∂log P_j ∂log P_j' with w = :func:`secant_choice_weights`: the
        conditional logit's exact secant; under nesting a second-order term in the change
        of λ remains."""
        jac, P = self.log_probability_jacobian(t, theta)
        return np.einsum("ns,nsd,nse->nde", secant_choice_weights(P, y), jac, jac)

    # -- checks and start value --------------------------------------------------------------
    def check_data(self, t, y, treatment_names):
        self.items.check_data(t, y, treatment_names)

    def initial_bias(self, y, t):
        """The conditional-logit MLE for (α, β) and λ = 1 (the nested logit's special case)."""
        start = self.items.initial_bias(y, t)
        if start is None:
            return None
        return np.concatenate([start, np.ones(self.n_lambda)])

    def __repr__(self):
        return (f"NestedLogitFamily(n_alternatives={self.items.n_alternatives}, "
                f"n_attributes={self.items.n_attributes}, nests={len(self.nest_names)}, "
                f"shared_lambda={self.shared_lambda})")


# attributes of the conditional-logit layout that the nested family shares as they are
_DELEGATED = frozenset({
    "n_alternatives", "n_attributes", "outside_option", "reference", "alternative_names",
    "attribute_names", "alpha_alternatives", "n_alpha", "n_slots", "n_packed", "pack",
    "unpack", "check_t", "check_y", "beta_index", "attribute_index", "alternative_index",
    "utilities",
})
