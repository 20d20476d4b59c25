"""Influence functions, cross-fit variance, repeated cross-fitting, and the results object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._summary import Summary


def influence(family, targets, theta, T, correction, project=None, adjust=None):
    """Plug-in values and influence functions for several targets.

    ψ_i = H(θ̂_i, t_i) − E[H_θ | X = x_i] · Λ̂_i⁻¹ ℓ_θ,i, where ``correction`` holds the
    cached Λ̂_i⁻¹ ℓ_θ,i (n, d). For targets evaluated at a fixed t̃, E[H_θ | X] is
    H_θ itself. For targets evaluated at the observed T it is not, and using
    H_θ(θ̂_i, t_i) would break Neyman orthogonality (the interval of the logit's AME
    would undercover badly); ``project(target, J)`` supplies E[H_θ | X].
    ``adjust(J)`` replaces J · correction (n,) where some components of θ are
    homogeneous (:meth:`~sklearn_dml._homogeneous.HomogeneousBlock.adjustment`).

    Returns
    -------
    plugin : (n, k), psi : (n, k)
    """
    values = np.column_stack([tg.value(family, theta, T) for tg in targets])
    terms = []
    for tg in targets:
        J = tg.jacobian(family, theta, T)
        if tg.uses_observed_t and project is not None:
            J = project(tg, J)
        terms.append(np.einsum("nd,nd->n", J, correction) if adjust is None else adjust(J))
    return values, values - np.column_stack(terms)


def influence_max_share(psi, weights=None):
    """Per target, the largest single row's share of the weighted sum of squared centred ψ.

    A heavy-tailed influence function (one row with a huge correction) shows as a share
    near one; for well-behaved ψ it is O(log n / n).
    """
    w = np.ones(psi.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    centred = psi - np.average(psi, axis=0, weights=w)
    contrib = w[:, None] * centred ** 2
    total = contrib.sum(axis=0)
    return np.where(total > 0, contrib.max(axis=0) / np.where(total > 0, total, 1.0), 0.0)


def leave_one_out_shift(psi, weights, stderr):
    """Per target, how far dropping the most influential row moves the mean of ψ, in SEs,
    and that row's position.

    Dropping row i moves the weighted mean by w_i (ψ_i − μ̂) / (Σ w − w_i); the nuisance
    fits are not redone, so this is the first-order effect of that row.

    Returns
    -------
    shift : ndarray (k,), row : ndarray (k,) of int
    """
    w = np.ones(psi.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    centred = psi - np.average(psi, axis=0, weights=w)
    rest = np.maximum(w.sum() - w, np.finfo(float).tiny)
    moves = np.abs(w[:, None] * centred / rest[:, None])
    row = moves.argmax(axis=0)
    shift = moves[row, np.arange(moves.shape[1])]
    return np.where(stderr > 0, shift / np.where(stderr > 0, stderr, 1.0), 0.0), row


def crossfit_moments(psi, fold_id, weights=None, clusters=None):
    """Estimate and covariance from cross-fitted influence values.

    The estimate is the (weighted) mean of ψ. Without clusters the variance is the mean
    over folds of the within-fold second moment of ψ − μ̂ (FLM 2021, eq. 3.8, centred at
    the pooled estimate as in DoubleML, which keeps between-fold variation of the nuisance
    fits in the standard error), divided by n. With clusters it is cluster-robust:
    Σ_g (Σ_{i∈g} w_i(ψ_i − μ̂))(…)' / n², times G/(G − 1).

    Parameters
    ----------
    psi : ndarray (n, k)
    fold_id : ndarray (n,)
    weights : ndarray (n,) or None
        Sample weights; normalized to mean one.
    clusters : ndarray (n,) of int codes 0..G-1, or None

    Returns
    -------
    estimate : (k,), cov : (k, k)
    """
    n = psi.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, float) / np.mean(weights)
    estimate = (w[:, None] * psi).mean(axis=0)
    dev = w[:, None] * (psi - estimate)
    if clusters is not None:
        n_clusters = int(clusters.max()) + 1
        sums = np.column_stack([np.bincount(clusters, weights=dev[:, j], minlength=n_clusters)
                                for j in range(dev.shape[1])])
        factor = n_clusters / (n_clusters - 1) if n_clusters > 1 else 1.0
        return estimate, factor * (sums.T @ sums) / n ** 2
    folds = np.unique(fold_id)
    second = np.zeros((psi.shape[1], psi.shape[1]))
    for k in folds:
        rows = fold_id == k
        second += dev[rows].T @ dev[rows] / rows.sum()
    second /= len(folds)
    return estimate, second / n


def aggregate_repetitions(estimates, covs):
    """Median aggregation over repeated cross-fits (Chernozhukov et al. 2018, DoubleML).

    μ̂ = median_r μ̂_r and Σ̂ = median_r (Σ̂_r + (μ̂_r − μ̂)(μ̂_r − μ̂)'), element-wise.
    """
    estimates = np.asarray(estimates)
    covs = np.asarray(covs)
    if estimates.shape[0] == 1:
        return estimates[0], covs[0]
    med = np.median(estimates, axis=0)
    dev = estimates - med
    return med, np.median(covs + dev[:, :, None] * dev[:, None, :], axis=0)


@dataclass(frozen=True)
class Influence:
    """What the variance of any function of the targets needs: ψ of every repetition,
    the folds, the sample weights and the clusters (rows aligned across repetitions)."""

    psi: tuple            # (n, k) per repetition
    fold_id: tuple        # (n,) per repetition
    weights: np.ndarray | None = None
    clusters: np.ndarray | None = None   # int codes 0..G-1

    @property
    def n_clusters(self):
        return None if self.clusters is None else int(self.clusters.max()) + 1

    def moments(self):
        """(estimate, cov) aggregated over the repetitions."""
        parts = [crossfit_moments(psi, fold, self.weights, self.clusters)
                 for psi, fold in zip(self.psi, self.fold_id)]
        return aggregate_repetitions([p[0] for p in parts], [p[1] for p in parts])

    def map(self, function):
        """The same structure with ψ_r replaced by ``function(ψ_r, r)``."""
        return dataclasses.replace(self, psi=tuple(function(psi, r)
                                                   for r, psi in enumerate(self.psi)))

    def rep_estimates(self):
        """Each repetition's (weighted) mean of ψ, shape (n_rep, k)."""
        w = self.weights
        return np.array([np.average(psi, axis=0, weights=w) for psi in self.psi])

    def compatible(self, other):
        return (len(self.psi) == len(other.psi)
                and all(a.shape[0] == b.shape[0] and np.array_equal(fa, fb)
                        for a, b, fa, fb in zip(self.psi, other.psi, self.fold_id,
                                                other.fold_id))
                and _same(self.weights, other.weights) and _same(self.clusters, other.clusters))

    def stack(self, other):
        return dataclasses.replace(self, psi=tuple(np.column_stack([a, b])
                                                   for a, b in zip(self.psi, other.psi)))


def _same(a, b):
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


class InferenceResults:
    """Debiased estimates of one or several targets with their joint covariance.

    Parameters
    ----------
    names : list of str
        Target labels.
    estimate : ndarray (k,)
    cov : ndarray (k, k)
        Covariance of the estimates.
    psi : ndarray (n, k) or None
        Influence values, for results built by hand; a fit passes ``influence`` instead.
    diagnostics : dict
        Plug-in estimates, correction sizes, n, folds, Λ conditioning.
    influence : Influence or None
        ψ of every cross-fitting repetition with the folds, sample weights and clusters:
        what :meth:`contrast`, :meth:`ratio`, ``-``, ``+`` and subsets need to compute
        their variance by the same rule as ``cov``.
    dof : int or None
        Degrees of freedom of the t law that tests and intervals refer to; None for the
        normal law. Defaults to G − 1 where ``influence`` holds G clusters (as Stata's
        cluster-robust intervals do), None otherwise.

    Examples
    --------
    A fitted estimator's ``inference_`` and ``inference(...)`` return one; it can also be
    built from estimates and a covariance:

    >>> from sklearn_dml import InferenceResults
    >>> res = InferenceResults(["E[beta]", "AME[T]"], [1.2, 0.3],
    ...                        [[0.0004, 0.0001], [0.0001, 0.0009]])
    >>> res.stderr
    array([0.02, 0.03])
    >>> res.conf_int(alpha=0.05).round(4)
    array([[1.1608, 1.2392],
           [0.2412, 0.3588]])
    >>> diff = res.contrast([1, -1])  # E[beta] − AME[T], with the covariance
    >>> diff.estimate, diff.stderr.round(4)
    (array([0.9]), array([0.0332]))
    """

    def __init__(self, names, estimate, cov, psi=None, diagnostics=None, *, influence=None,
                 dof=None):
        self.names = list(names)
        self.estimate = np.asarray(estimate, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.influence = influence
        if dof is None and influence is not None and influence.n_clusters is not None:
            dof = max(influence.n_clusters - 1, 1)
        self.dof = dof
        self._psi = psi
        self.diagnostics = dict(diagnostics or {})
        bad = ~np.isfinite(self.estimate) | ~np.isfinite(np.diag(self.cov))
        if bad.any():
            raise FloatingPointError(
                f"Non-finite estimate or variance for {[n for n, b in zip(self.names, bad) if b]}."
                " Check the Λ diagnostics (lambda_min_eig) and the inputs for extreme values."
            )

    @classmethod
    def from_influence(cls, names, influence, diagnostics=None):
        """Estimates and covariance computed from ``influence`` (:class:`Influence`)."""
        estimate, cov = influence.moments()
        return cls(names, estimate, cov, diagnostics=diagnostics, influence=influence)

    @property
    def psi(self):
        """Influence values (n, k), averaged over repeated cross-fits; None if not kept."""
        if self.influence is None:
            return self._psi
        return np.mean(self.influence.psi, axis=0)

    # -- basic quantities -------------------------------------------------------------
    @property
    def point_estimate(self):
        """Debiased estimates, shape (k,)."""
        return self.estimate

    @property
    def stderr(self):
        """Standard errors, shape (k,)."""
        return np.sqrt(np.clip(np.diag(self.cov), 0, None))

    def zstat(self, value=0.0):
        """Test statistics (estimate − value) / SE for H0: μ = value."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.estimate - value) / self.stderr

    @property
    def reference_law(self):
        """The law :meth:`pvalue` and :meth:`conf_int` refer to: ``scipy.stats.t(dof)``
        with clusters, the standard normal otherwise."""
        return stats.norm() if self.dof is None else stats.t(self.dof)

    def pvalue(self, value=0.0):
        """Two-sided p-values for H0: μ = value (from :attr:`reference_law`)."""
        return 2 * self.reference_law.sf(np.abs(self.zstat(value)))

    def conf_int(self, alpha=0.05, joint=False, n_draws=20000, random_state=0):
        """Confidence intervals, shape (k, 2).

        Parameters
        ----------
        alpha : float, default=0.05
            1 − confidence level.
        joint : bool, default=False
            Simultaneous intervals over all k targets (sup-t critical value from
            the estimated joint normal law, or multivariate t with :attr:`dof`) instead
            of pointwise ones.

        Notes
        -----
        Critical values come from :attr:`reference_law`: t(G − 1) for results with G
        clusters (the normal law runs short with few clusters), the normal otherwise.
        """
        _check_alpha(alpha)
        crit = self.reference_law.ppf(1 - alpha / 2)
        if joint and len(self.names) > 1:
            se = self.stderr
            corr = self.cov / np.outer(se, se)
            rng = np.random.RandomState(random_state)
            draws = rng.multivariate_normal(np.zeros(len(se)), corr, size=n_draws,
                                            check_valid="ignore")
            if self.dof is not None:
                draws /= np.sqrt(rng.chisquare(self.dof, size=(n_draws, 1)) / self.dof)
            crit = np.quantile(np.abs(draws).max(axis=1), 1 - alpha)
        half = crit * self.stderr
        return np.column_stack([self.estimate - half, self.estimate + half])

    # -- EconML's population-summary names (what its ate_inference returns) ----------------
    def _econml_shape(self, values):
        return values[0] if values.shape == (1,) else values

    @property
    def mean_point(self):
        """The debiased estimate(s), EconML's name: a float for one target, else shape (k,).

        EconML's ``mean_point`` is the mean of a plug-in CATE over some rows; here it is
        the debiased average itself.
        """
        return self._econml_shape(self.estimate)

    @property
    def stderr_mean(self):
        """Standard error(s) of :attr:`mean_point` (exact, not EconML's conservative bound)."""
        return self._econml_shape(self.stderr)

    def conf_int_mean(self, *, alpha=0.05):
        """EconML's ``conf_int_mean``: ``(lower, upper)``, floats for one target.

        Parameters
        ----------
        alpha : float, default=0.05
            1 − confidence level.
        """
        ci = self.conf_int(alpha)
        return self._econml_shape(ci[:, 0]), self._econml_shape(ci[:, 1])

    # -- derived results ----------------------------------------------------------------
    def __getitem__(self, key):
        keys = key if isinstance(key, (list, tuple)) else [key]
        unknown = [k for k in keys if isinstance(k, str) and k not in self.names]
        if unknown:
            raise KeyError(f"No target named {unknown[0]!r}; these results hold {self.names}.")
        idx = [self.names.index(k) if isinstance(k, str) else k for k in keys]
        k = len(self.names)
        diagnostics = {key: ([val[i] for i in idx] if isinstance(val, list) and len(val) == k
                             else val) for key, val in self.diagnostics.items()}
        names = [self.names[i] for i in idx]
        if self.influence is not None:
            return InferenceResults(names, self.estimate[idx], self.cov[np.ix_(idx, idx)],
                                    diagnostics=diagnostics,
                                    influence=self.influence.map(lambda psi, r: psi[:, idx]))
        psi = None if self._psi is None else self._psi[:, idx]
        return InferenceResults(names, self.estimate[idx], self.cov[np.ix_(idx, idx)], psi,
                                diagnostics, dof=self.dof)

    def _shared_diagnostics(self):
        keep = ("n_obs", "n_folds", "n_rep", "standard_errors")
        return {key: self.diagnostics[key] for key in keep if key in self.diagnostics}

    def linear_map(self, matrix, names):
        """Inference on C μ for a matrix C (m, k): estimates, covariance and influence."""
        C = np.atleast_2d(np.asarray(matrix, dtype=float))
        if C.shape[1] != len(self.names):
            raise ValueError(f"The matrix needs {len(self.names)} columns, one per target; "
                             f"got shape {C.shape}.")
        if self.influence is not None:
            return InferenceResults.from_influence(
                names, self.influence.map(lambda psi, r: psi @ C.T), self._shared_diagnostics())
        psi = None if self._psi is None else self._psi @ C.T
        return InferenceResults(names, C @ self.estimate, C @ self.cov @ C.T, psi,
                                self._shared_diagnostics(), dof=self.dof)

    def contrast(self, weights, name=None):
        """Inference on a linear combination Σ_j c_j μ_j (joint covariance used)."""
        c = np.asarray(weights, dtype=float)
        if c.shape != self.estimate.shape:
            raise ValueError(f"weights needs {len(self.names)} entries, one per target.")
        label = name or " ".join(f"{w:+g}·{n}" for w, n in zip(c, self.names) if w != 0)
        return self.linear_map(c[None, :], [label])

    def ratio(self, numerator, denominator, name=None):
        """Inference on μ_a / μ_b by the delta method."""
        a = self.names.index(numerator) if isinstance(numerator, str) else numerator
        b = self.names.index(denominator) if isinstance(denominator, str) else denominator
        if abs(self.estimate[b]) < 1e-12:
            raise ZeroDivisionError(f"The denominator {self.names[b]} is estimated as 0.")
        label = name or f"{self.names[a]} / {self.names[b]}"
        r = self.estimate[a] / self.estimate[b]
        if self.influence is None:
            g = np.zeros(len(self.names))
            g[a], g[b] = 1 / self.estimate[b], -r / self.estimate[b]
            return InferenceResults([label], [r], [[g @ self.cov @ g]],
                                    diagnostics=self._shared_diagnostics(), dof=self.dof)
        means = self.influence.rep_estimates()

        def linearized(psi, rep):  # r_rep + (ψ_a − μ_a − r_rep (ψ_b − μ_b)) / μ_b, per repetition
            mu_a, mu_b = means[rep, a], means[rep, b]
            if abs(mu_b) < 1e-12:
                raise ZeroDivisionError(f"The denominator {self.names[b]} is estimated as 0 in "
                                        f"repetition {rep}.")
            ratio = mu_a / mu_b
            return (ratio + (psi[:, a] - mu_a - ratio * (psi[:, b] - mu_b)) / mu_b)[:, None]

        return InferenceResults.from_influence([label], self.influence.map(linearized),
                                               self._shared_diagnostics())

    def _combine(self, other, sign):
        if not isinstance(other, InferenceResults):
            return NotImplemented
        if len(self.names) != 1 or len(other.names) != 1:
            raise ValueError("Combine single-target results, or use contrast().")
        op = "-" if sign < 0 else "+"
        if (self.influence is None or other.influence is None
                or not self.influence.compatible(other.influence)):
            raise ValueError("Both results must come from the same fit (the same rows, folds, "
                             "weights and clusters) to be combined; use est.inference([...]) "
                             "and contrast().")
        c = np.array([[1.0], [sign]])
        both = self.influence.stack(other.influence).map(lambda psi, r: psi @ c)
        return InferenceResults.from_influence([f"{self.names[0]} {op} {other.names[0]}"], both,
                                               self._shared_diagnostics())

    def __sub__(self, other):
        """Difference of two single-target results from the same fit (paired ψ)."""
        return self._combine(other, -1.0)

    def __add__(self, other):
        """Sum of two single-target results from the same fit (paired ψ)."""
        return self._combine(other, 1.0)

    # -- tables -----------------------------------------------------------------------------
    def summary_frame(self, alpha=0.05, value=0.0, style="econml"):
        """A pandas DataFrame: point_estimate, stderr, zstat, pvalue, ci_lower, ci_upper."""
        return self.summary(alpha=alpha, value=value).to_frame(style=style)

    def summary(self, alpha=0.05, value=0.0, decimals=4, title=None):
        """A :class:`Summary` table (prints as text, renders as HTML, exports to pandas)."""
        ci = self.conf_int(alpha)
        rows = {
            "point_estimate": self.estimate, "stderr": self.stderr,
            "zstat": self.zstat(value), "pvalue": self.pvalue(value),
            "ci_lower": ci[:, 0], "ci_upper": ci[:, 1],
        }
        return Summary(self.names, rows, self.diagnostics, alpha=alpha, decimals=decimals,
                       title=title, dof=self.dof)

    def __repr__(self):
        return str(self.summary())


def _check_alpha(alpha):
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
