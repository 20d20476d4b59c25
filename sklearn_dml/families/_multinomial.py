"""Conditional (multinomial) logit with heterogeneous preferences θ(w).

Row i has covariates w_i (the network input), attributes x_ij ∈ R^K of J
alternatives, an availability set A_i and a choice y_i ∈ A_i. With α-block
e_j (zero for the reference alternative) the utility is

    V_ij = α_j(w_i) + x_ij'β(w_i),   P_ij = 1{j ∈ A_i} exp V_ij / Σ_{l ∈ A_i} exp V_il.

With an outside option, slot J is an extra always-available alternative with
V = 0, and every inside alternative has its own α_j. The base machinery sees a
two-dimensional "treatment": the packed layout ``[x (J·K, alternative-major),
availability (J)]`` produced by :meth:`MultinomialLogitFamily.pack`.

Score and Hessian (the Hessian is the Fisher information: it is free of y):
ℓ_θ = D̄ − D_y and ℓ_θθ = Σ_j P_j (D_j − D̄)(D_j − D̄)', with D_j = ∂V_j/∂θ and
D̄ = Σ_j P_j D_j.
"""

from __future__ import annotations

import numpy as np
import torch

from ._base import Family

NEWTON_MAX_ITER = 50
# Rows the network's start value (the constant-θ MLE) is computed on: a start needs no
# more precision than this many rows give, and every θ-network of a fit computes one.
START_ROWS = 20_000
# Smallest eigenvalue of the pooled information (scaled to unit diagonal) relative to the
# largest below which the coefficients are collinear: exact ties give about 1e-16.
COLLINEAR_TOL = 1e-9


def secant_choice_weights(P, y):
    """(P_j + 1{y = j})/2 per row and slot (n, S): each probability averaged with the
    observed choice."""
    w = 0.5 * P
    w[np.arange(P.shape[0]), np.asarray(y).astype(int)] += 0.5
    return w


class MultinomialLogitFamily(Family):
    """Conditional logit ℓ = −V_y + log Σ_{l∈A} exp V_l with θ = (α, β).

    Parameters
    ----------
    n_alternatives : int, default=2
        Number of (inside) alternatives J.
    n_attributes : int, default=1
        Number of attributes K per alternative.
    reference : int, default=0
        Alternative whose constant α is fixed at 0 (ignored with an outside option,
        whose utility is the zero point).
    outside_option : bool, default=False
        Add an always-available outside alternative with utility 0, coded as choice
        ``n_alternatives``.
    alternative_names, attribute_names : list of str, optional
        Labels for θ names (``"alpha[<alternative>]"``, ``"beta[<attribute>]"``).
    constants : bool, default=True
        Whether the alternatives have constants α (a utility formula without
        ``(1|item)`` has none).
    beta_names : list of str, optional
        Full θ names of the attribute coefficients, in place of ``"beta[<attribute>]"``
        (the columns of a utility formula's design).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import MultinomialLogitFamily
    >>> fam = MultinomialLogitFamily(3, 2, attribute_names=["price", "quality"])
    >>> fam.theta_names(None)
    ['alpha[1]', 'alpha[2]', 'beta[price]', 'beta[quality]']
    >>> t = fam.pack(np.zeros((1, 3, 2)))
    >>> fam.probabilities(t, np.zeros((1, 4))).round(3)
    array([[0.333, 0.333, 0.333]])
    """

    name = "multinomial_logit"
    hessian_depends_on_theta = True
    hessian_depends_on_y = False
    requires_varying_treatments = False
    conditional_law = "neighbours"  # a table of attributes per row
    secant_lambda = True

    def __init__(self, n_alternatives=2, n_attributes=1, *, reference=0, outside_option=False,
                 alternative_names=None, attribute_names=None, constants=True, beta_names=None):
        J, K = int(n_alternatives), int(n_attributes)
        if J < 2 and not outside_option:
            raise ValueError(f"n_alternatives must be at least 2 (got {J}); with one inside "
                             "alternative pass outside_option=True.")
        if J < 1 or K < 0:
            raise ValueError(f"n_alternatives must be >= 1 and n_attributes >= 0; got {J}, {K}.")
        self.n_alternatives, self.n_attributes = J, K
        self.outside_option = bool(outside_option)
        self.reference = None if self.outside_option else int(reference)
        if self.reference is not None and not 0 <= self.reference < J:
            raise ValueError(f"reference must index an alternative in [0, {J - 1}]; "
                             f"got {reference}.")
        self.alternative_names = ([str(j) for j in range(J)] if alternative_names is None
                                  else [str(a) for a in alternative_names])
        self.attribute_names = ([f"x{k}" for k in range(K)] if attribute_names is None
                                else [str(a) for a in attribute_names])
        if len(self.alternative_names) != J or len(self.attribute_names) != K:
            raise ValueError(f"Give {J} alternative names and {K} attribute names; got "
                             f"{len(self.alternative_names)} and {len(self.attribute_names)}.")
        self.constants = bool(constants)
        self.alpha_alternatives = [j for j in range(J) if j != self.reference and constants]
        self.beta_names = ([f"beta[{a}]" for a in self.attribute_names] if beta_names is None
                           else [str(b) for b in beta_names])
        if len(self.beta_names) != K:
            raise ValueError(f"Give {K} coefficient names; got {len(self.beta_names)}.")
        S = J + self.outside_option
        self._E = np.zeros((S, len(self.alpha_alternatives)))  # slot -> α column
        self._E[self.alpha_alternatives, np.arange(len(self.alpha_alternatives))] = 1.0

    # -- layout ------------------------------------------------------------------------
    @property
    def n_slots(self):
        """Alternatives including the outside option."""
        return self.n_alternatives + self.outside_option

    @property
    def n_alpha(self):
        return len(self.alpha_alternatives)

    @property
    def n_packed(self):
        """Width of the packed treatment array."""
        return self.n_alternatives * (self.n_attributes + 1)

    def theta_names(self, treatment_names):
        return ([f"alpha[{self.alternative_names[j]}]" for j in self.alpha_alternatives]
                + list(self.beta_names))

    def theta_dim(self, n_treatments=None):
        return self.n_alpha + self.n_attributes

    def beta_index(self, attribute):
        """Position in θ of β for an attribute given by index or name."""
        return self.n_alpha + self.attribute_index(attribute)

    def attribute_index(self, attribute):
        if isinstance(attribute, str):
            if attribute not in self.attribute_names:
                raise ValueError(f"Unknown attribute {attribute!r}; the attributes are "
                                 f"{self.attribute_names}.")
            return self.attribute_names.index(attribute)
        k = int(attribute)
        if not 0 <= k < self.n_attributes:
            raise ValueError(f"Attribute index {k} is out of range for {self.n_attributes} "
                             "attributes.")
        return k

    def alternative_index(self, alternative):
        """Slot of an alternative given by index or name (``"outside"`` for the outside option)."""
        if isinstance(alternative, str):
            if self.outside_option and alternative == "outside":
                return self.n_alternatives
            if alternative not in self.alternative_names:
                raise ValueError(f"Unknown alternative {alternative!r}; the alternatives are "
                                 f"{self.alternative_names}.")
            return self.alternative_names.index(alternative)
        j = int(alternative)
        if not 0 <= j < self.n_slots:
            raise ValueError(f"Alternative {j} is out of range [0, {self.n_slots - 1}].")
        return j

    def pack(self, attributes, availability=None):
        """Pack attributes (n, J, K) and availability (n, J) into the 2-D treatment layout.

        Attributes of unavailable alternatives are set to 0 (they never enter).
        """
        J, K = self.n_alternatives, self.n_attributes
        x = np.asarray(attributes, dtype=float)
        if x.ndim == 2 and x.shape == (J, K):
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (J, K):
            raise ValueError(f"attributes must have shape (n_samples, {J}, {K}) "
                             f"(rows, alternatives, attributes); got {x.shape}.")
        if availability is None:
            avail = np.ones(x.shape[:2], dtype=bool)
        else:
            avail = np.asarray(availability)
            if avail.ndim == 1 and avail.shape == (J,):
                avail = np.broadcast_to(avail, x.shape[:2])
            if avail.shape != x.shape[:2]:
                raise ValueError(f"availability must have shape ({x.shape[0]}, {J}); got "
                                 f"{avail.shape}.")
            if not np.all(np.isin(avail, (0, 1))):
                raise ValueError("availability must hold booleans (or 0/1): True where the "
                                 "alternative can be chosen.")
            avail = avail.astype(bool)
        if not self.outside_option and np.any(avail.sum(axis=1) == 0):
            raise ValueError("Some rows have no available alternative; every choice set needs "
                             "at least one (or use outside_option=True).")
        x = np.where(avail[:, :, None], x, 0.0)
        if not np.all(np.isfinite(x)):
            raise ValueError("attributes contain NaN or inf for available alternatives.")
        return np.concatenate([x.reshape(x.shape[0], J * K), avail.astype(float)], axis=1)

    def internal_units(self, t, y, x=None):
        """Each attribute divided by its SD over the available alternatives (no shift: with
        an outside option a common shift of utilities is not free); β scales with it."""
        from .._units import Units

        J, K = self.n_alternatives, self.n_attributes
        x, avail = self.unpack(t)
        scale = np.ones(K)
        for k in range(K):
            sd = x[:, :, k][avail].std()
            scale[k] = sd if sd > 0 else 1.0
        t_scale = np.concatenate([np.tile(scale, J), np.ones(J)])
        d = self.theta_dim()
        M = np.eye(d)
        M[self.n_alpha:, self.n_alpha:] = np.diag(1.0 / scale)
        return Units(np.zeros(t.shape[1]), t_scale, 0.0, 1.0, M, np.zeros(d))

    def unpack(self, t):
        """Packed (n, p) -> attributes (n, J, K) and availability (n, J), numpy or torch."""
        J, K = self.n_alternatives, self.n_attributes
        x = t[:, :J * K].reshape(t.shape[0], J, K)
        return x, t[:, J * K:] > 0.5

    def _slots(self, t):
        """Attributes and availability per slot (outside option appended), numpy."""
        x, avail = self.unpack(np.asarray(t, dtype=float))
        if self.outside_option:
            n = x.shape[0]
            x = np.concatenate([x, np.zeros((n, 1, self.n_attributes))], axis=1)
            avail = np.concatenate([avail, np.ones((n, 1), dtype=bool)], axis=1)
        return x, avail

    # -- numpy closed forms -------------------------------------------------------------
    def utilities(self, t, theta):
        """V (n, S) for every slot (unavailable slots included)."""
        theta = np.asarray(theta, dtype=float)
        x, _ = self._slots(t)
        return theta[:, :self.n_alpha] @ self._E.T + np.einsum("nsk,nk->ns", x,
                                                                 theta[:, self.n_alpha:])

    def probabilities(self, t, theta):
        """Choice probabilities P (n, S); 0 for unavailable alternatives."""
        V = self.utilities(t, theta)
        _, avail = self._slots(t)
        V = np.where(avail, V, -np.inf)
        V = V - V.max(axis=1, keepdims=True)
        e = np.exp(V)
        return e / e.sum(axis=1, keepdims=True)

    def logsum(self, t, theta):
        """log Σ_{j∈A} exp V_j per row."""
        V = self.utilities(t, theta)
        _, avail = self._slots(t)
        V = np.where(avail, V, -np.inf)
        m = V.max(axis=1)
        return m + np.log(np.exp(V - m[:, None]).sum(axis=1))

    def design(self, t):
        """D_j = ∂V_j/∂θ per slot: (n, S, d)."""
        x, _ = self._slots(t)
        E = np.broadcast_to(self._E, (x.shape[0],) + self._E.shape)
        return np.concatenate([E, x], axis=2)

    def probability_jacobian(self, t, theta):
        """∂P_j/∂θ = P_j (D_j − D̄) per slot: (n, S, d); also returns P."""
        P = self.probabilities(t, theta)
        D = self.design(t)
        Dbar = np.einsum("ns,nsd->nd", P, D)
        return P[:, :, None] * (D - Dbar[:, None, :]), P

    def _choice_slot(self, y):
        return np.asarray(y).astype(int)

    def gradient(self, y, t, theta):
        P = self.probabilities(t, theta)
        D = self.design(t)
        onehot = np.zeros_like(P)
        onehot[np.arange(P.shape[0]), self._choice_slot(y)] = 1.0
        return np.einsum("ns,nsd->nd", P - onehot, D)

    def _centered_design(self, t, theta):
        """P (n, S) and D_j − D̄ (n, S, d), D̄ the P-weighted mean of the design."""
        P = self.probabilities(t, theta)
        D = self.design(t)
        return P, D - np.einsum("ns,nsd->nd", P, D)[:, None, :]

    @staticmethod
    def _weighted_outer(w, Dc):
        """Σ_j w_j Dc_j Dc_j' per row (n, d, d) as a batched matrix product (BLAS), not a
        three-operand einsum."""
        return np.matmul((w[:, :, None] * Dc).transpose(0, 2, 1), Dc)

    def hessian(self, y, t, theta):
        P, Dc = self._centered_design(t, theta)
        return self._weighted_outer(P, Dc)

    def _summed_hessian(self, t, theta, w):
        """Σ_i w_i ℓ_θθ,i (d, d) as one matrix product over all rows and slots."""
        P, Dc = self._centered_design(t, theta)
        d = Dc.shape[2]
        return ((w[:, None] * P)[:, :, None] * Dc).reshape(-1, d).T @ Dc.reshape(-1, d)

    def expected_hessian(self, t, theta):
        return self.hessian(None, t, theta)

    def secant_hessian(self, y, t, theta):
        """Σ_j w_j (D_j − D̄)(D_j − D̄)' with w = :func:`secant_choice_weights`: for a
        logit this is the second-order secant exactly (D̄ weighted by P at ``theta``)."""
        P, Dc = self._centered_design(t, theta)
        return self._weighted_outer(secant_choice_weights(P, y), Dc)

    # -- torch ---------------------------------------------------------------------------
    def torch_utilities(self, t, theta):
        """V (n, S) with unavailable slots at a very negative value, torch."""
        x, avail = self.unpack(t)
        beta = theta[:, self.n_alpha:]
        V = (x * beta[:, None, :]).sum(-1)
        E = torch.as_tensor(self._E[:self.n_alternatives], dtype=theta.dtype,
                            device=theta.device)
        V = V + theta[:, :self.n_alpha] @ E.T
        if self.outside_option:
            V = torch.cat([V, torch.zeros_like(V[:, :1])], dim=1)
            avail = torch.cat([avail, torch.ones_like(avail[:, :1])], dim=1)
        return torch.where(avail, V, torch.full_like(V, -1e30))

    def loss(self, y, t, theta):
        V = self.torch_utilities(t, theta)
        chosen = V.gather(1, y.long().reshape(-1, 1))[:, 0]
        return torch.logsumexp(V, dim=1) - chosen

    def log_probabilities(self, t, theta):
        """log P (n, S), torch."""
        return torch.log_softmax(self.torch_utilities(t, theta), dim=1)

    # -- checks and start value --------------------------------------------------------------
    def check_t(self, t):
        t = np.asarray(t, dtype=float)
        if t.ndim != 2 or t.shape[1] != self.n_packed:
            raise ValueError(
                f"The multinomial logit family expects the packed attribute layout with "
                f"{self.n_packed} columns (J·K attributes then J availabilities, "
                f"J={self.n_alternatives}, K={self.n_attributes}); got shape {t.shape}. Use "
                "MultinomialLogitDML, or MultinomialLogitFamily.pack(attributes, availability).")
        if not np.all(np.isin(t[:, self.n_alternatives * self.n_attributes:], (0.0, 1.0))):
            raise ValueError("The availability columns of the packed attributes must be 0 or 1.")
        return t

    def check_y(self, y):
        y = np.asarray(y, dtype=float)
        bad = (y != np.round(y)) | (y < 0) | (y >= self.n_slots)
        if np.any(bad):
            top = self.n_slots - 1
            extra = f" ({top} is the outside option)" if self.outside_option else ""
            raise ValueError(f"The choice Y must hold alternative indices in 0..{top}{extra}; "
                             f"got {int(bad.sum())} other values (e.g. {y[bad][0]:g} in row "
                             f"{int(np.flatnonzero(bad)[0])}).")
        return y

    def check_data(self, t, y, treatment_names):
        x, avail = self._slots(t)
        slot = self._choice_slot(y)
        bad = ~avail[np.arange(slot.size), slot]
        if bad.any():
            raise ValueError(f"{bad.sum()} rows chose an unavailable alternative (first row "
                             f"{np.flatnonzero(bad)[0]}). Fix the choice or the availability.")
        counts = np.bincount(slot, minlength=self.n_slots)
        never = [self.alternative_names[j] for j in self.alpha_alternatives if counts[j] == 0]
        if never:
            absent = [self.alternative_names[j] for j in self.alpha_alternatives
                      if not avail[:, j].any()]
            detail = f" ({absent} in no choice set at all)" if absent else ""
            raise ValueError(f"Alternative(s) {never} are never chosen{detail}, so their "
                             "constants α are not identified (the likelihood pushes them to "
                             "−∞). Drop them, merge them, or collect more data.")
        for k, name in enumerate(self.attribute_names):
            xk = np.where(avail, x[:, :, k], np.nan)
            if not self.outside_option and np.nanmax(np.nanmax(xk, 1) - np.nanmin(xk, 1)) == 0:
                raise ValueError(f"Attribute {name!r} never varies across the alternatives of a "
                                 "choice set, so its coefficient is not identified.")
        self._check_collinear(t)

    def _check_collinear(self, t):
        """Raise where a combination of θ's components leaves every utility difference
        within every choice set unchanged: the pooled information at equal probabilities
        is then singular, whatever θ(w) is."""
        n = np.asarray(t).shape[0]
        H = self._summed_hessian(t, np.zeros((n, self.theta_dim())), np.ones(n))
        scale = np.sqrt(np.diag(H))
        if not np.all(scale > 0):
            return  # a component without variation is refused by the checks above
        values, vectors = np.linalg.eigh(H / np.outer(scale, scale))
        if values[0] > COLLINEAR_TOL * values[-1]:
            return
        names = self.theta_names(None)
        tied = [names[i] for i in np.flatnonzero(np.abs(vectors[:, 0]) > 0.1)]
        raise ValueError(
            f"The coefficients {tied} are not separately identified: a combination of them "
            "leaves every utility difference within every choice set unchanged (an attribute "
            "that is a linear combination of others, or one that is fixed for each "
            "alternative beside the alternative constants). Drop one of the attributes "
            "involved, or the constants (a formula without (1|item)).")

    def initial_bias(self, y, t):
        """The constant-θ MLE as the network's start, on at most ``START_ROWS`` evenly
        spaced rows; None where it fails or runs off (a never-chosen alternative)."""
        step = -(-np.shape(y)[0] // START_ROWS)
        try:
            theta, _ = self.fit_constant(np.asarray(y)[::step], np.asarray(t)[::step])
        except (np.linalg.LinAlgError, FloatingPointError):
            return None
        return theta if np.all(np.abs(theta) < 20) else None

    def fit_constant(self, y, t, sample_weight=None, tol=1e-10):
        """The classical conditional-logit MLE (constant θ) by Newton–Raphson.

        Parameters
        ----------
        y : ndarray (n,)
        t : ndarray (n, p)
            Packed attributes.
        sample_weight : ndarray (n,), optional
        tol : float
            Stop when the Newton step's largest entry is below it.

        Returns
        -------
        theta : ndarray (d,)
            The maximum-likelihood estimate.
        cov : ndarray (d, d)
            Inverse observed information (the classical standard errors' covariance).
        """
        y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
        w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        d = self.theta_dim()
        theta = np.zeros(d)

        def objective(th):
            full = np.broadcast_to(th, (y.shape[0], d))
            V = self.utilities(t, full)
            return float(np.sum(w * (self.logsum(t, full) - V[np.arange(y.size),
                                                               self._choice_slot(y)])))

        value = objective(theta)
        for _ in range(NEWTON_MAX_ITER):
            full = np.broadcast_to(theta, (y.shape[0], d))
            g = (w[:, None] * self.gradient(y, t, full)).sum(0)
            H = self._summed_hessian(t, full, w)
            step = np.linalg.solve(H + 1e-12 * np.trace(H) * np.eye(d), g)
            size = 1.0
            while size > 1e-6:
                new_value = objective(theta - size * step)
                if new_value <= value + 1e-12 * abs(value):
                    break
                size /= 2
            theta, value = theta - size * step, new_value
            if np.max(np.abs(size * step)) < tol:
                break
        H = self._summed_hessian(t, np.broadcast_to(theta, (y.shape[0], d)), w)
        return theta, np.linalg.inv(H)

    def __repr__(self):
        return (f"MultinomialLogitFamily(n_alternatives={self.n_alternatives}, "
                f"n_attributes={self.n_attributes}, outside_option={self.outside_option})")
