"""Influence functions, cross-fit variance, repeated cross-fitting, and the results object."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._summary import Summary


def influence(family, targets, theta, T, correction, project=None):
    """Plug-in values and influence functions for several targets.

    ψ_i = H(θ̂_i, t_i) − E[H_θ | X = x_i] · Λ̂_i⁻¹ ℓ_θ,i, where ``correction`` holds the
    cached Λ̂_i⁻¹ ℓ_θ,i (n, d). For targets evaluated at a fixed t̃, E[H_θ | X] is
    H_θ itself. For targets evaluated at the observed T it is not, and using
    H_θ(θ̂_i, t_i) would break Neyman orthogonality (the pilot study showed 68%
    coverage for the logit AME); ``project(target, J)`` supplies E[H_θ | X].

    Returns
    -------
    plugin : (n, k), psi : (n, k)
    """
    values = np.column_stack([tg.value(family, theta, T) for tg in targets])
    adjust = []
    for tg in targets:
        J = tg.jacobian(family, theta, T)
        if tg.uses_observed_t and project is not None:
            J = project(tg, J)
        adjust.append(np.einsum("nd,nd->n", J, correction))
    return values, values - np.column_stack(adjust)


# one row carrying more than this share of Σ ψ̃² (ψ̃ = ψ − mean) makes the normal approximation
# doubtful: in a Gaussian sample of n = 2000 the largest share is about 1%
INFLUENCE_SHARE_WARN = 0.1


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


def crossfit_moments(psi, fold_id, weights=None):
    """Estimate and covariance from cross-fitted influence values.

    The estimate is the (weighted) mean of ψ. The variance is the mean over
    folds of the within-fold second moment of ψ − μ̂ (FLM 2021, eq. 3.8, centred at
    the pooled estimate as in DoubleML, which keeps between-fold variation of the
    nuisance fits in the standard error), divided by n.

    Parameters
    ----------
    psi : ndarray (n, k)
    fold_id : ndarray (n,)
    weights : ndarray (n,) or None
        Sample weights; normalized to mean one.

    Returns
    -------
    estimate : (k,), cov : (k, k)
    """
    n = psi.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, float) / np.mean(weights)
    estimate = (w[:, None] * psi).mean(axis=0)
    dev = w[:, None] * (psi - estimate)
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
        Influence values (first repetition), kept for contrasts and diagnostics.
    diagnostics : dict
        Plug-in estimates, correction sizes, n, folds, Λ conditioning.

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

    def __init__(self, names, estimate, cov, psi=None, diagnostics=None):
        self.names = list(names)
        self.estimate = np.asarray(estimate, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.psi = psi
        self.diagnostics = dict(diagnostics or {})
        bad = ~np.isfinite(self.estimate) | ~np.isfinite(np.diag(self.cov))
        if bad.any():
            raise FloatingPointError(
                f"Non-finite estimate or variance for {[n for n, b in zip(self.names, bad) if b]}."
                " Check the Λ diagnostics (lambda_min_eig) and the inputs for extreme values."
            )

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
        """z statistics for H0: μ = value."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.estimate - value) / self.stderr

    def pvalue(self, value=0.0):
        """Two-sided p-values for H0: μ = value."""
        return 2 * stats.norm.sf(np.abs(self.zstat(value)))

    def conf_int(self, alpha=0.05, joint=False, n_draws=20000, random_state=0):
        """Confidence intervals, shape (k, 2).

        Parameters
        ----------
        alpha : float, default=0.05
            1 − confidence level.
        joint : bool, default=False
            Simultaneous intervals over all k targets (sup-t critical value from
            the estimated joint normal law) instead of pointwise ones.
        """
        _check_alpha(alpha)
        crit = stats.norm.ppf(1 - alpha / 2)
        if joint and len(self.names) > 1:
            se = self.stderr
            corr = self.cov / np.outer(se, se)
            draws = np.random.RandomState(random_state).multivariate_normal(
                np.zeros(len(se)), corr, size=n_draws, check_valid="ignore")
            crit = np.quantile(np.abs(draws).max(axis=1), 1 - alpha)
        half = crit * self.stderr
        return np.column_stack([self.estimate - half, self.estimate + half])

    # -- derived results ----------------------------------------------------------------
    def __getitem__(self, key):
        idx = [self.names.index(k) if isinstance(k, str) else k
               for k in (key if isinstance(key, (list, tuple)) else [key])]
        psi = None if self.psi is None else self.psi[:, idx]
        k = len(self.names)
        diagnostics = {key: ([val[i] for i in idx] if isinstance(val, list) and len(val) == k
                             else val) for key, val in self.diagnostics.items()}
        return InferenceResults([self.names[i] for i in idx], self.estimate[idx],
                                self.cov[np.ix_(idx, idx)], psi, diagnostics)

    def contrast(self, weights, name=None):
        """Inference on a linear combination Σ_j c_j μ_j (joint covariance used)."""
        c = np.asarray(weights, dtype=float)
        if c.shape != self.estimate.shape:
            raise ValueError(f"weights needs {len(self.names)} entries, one per target.")
        label = name or " ".join(f"{w:+g}·{n}" for w, n in zip(c, self.names) if w != 0)
        psi = None if self.psi is None else self.psi @ c[:, None]
        return InferenceResults([label], [c @ self.estimate], [[c @ self.cov @ c]], psi)

    def ratio(self, numerator, denominator, name=None):
        """Inference on μ_a / μ_b by the delta method."""
        a = self.names.index(numerator) if isinstance(numerator, str) else numerator
        b = self.names.index(denominator) if isinstance(denominator, str) else denominator
        if abs(self.estimate[b]) < 1e-12:
            raise ZeroDivisionError(f"The denominator {self.names[b]} is estimated as 0.")
        r = self.estimate[a] / self.estimate[b]
        g = np.zeros(len(self.names))
        g[a], g[b] = 1 / self.estimate[b], -r / self.estimate[b]
        return InferenceResults([name or f"{self.names[a]} / {self.names[b]}"], [r],
                                [[g @ self.cov @ g]])

    def __sub__(self, other):
        """Difference of two single-target results from the same fit (paired ψ)."""
        if not isinstance(other, InferenceResults):
            return NotImplemented
        if len(self.names) != 1 or len(other.names) != 1:
            raise ValueError("Subtract single-target results, or use contrast().")
        if self.psi is None or other.psi is None or self.psi.shape != other.psi.shape:
            raise ValueError("Both results must come from the same fit to be differenced.")
        both = np.column_stack([self.psi, other.psi])
        cov = np.cov(both, rowvar=False) / both.shape[0]
        c = np.array([1.0, -1.0])
        return InferenceResults([f"{self.names[0]} - {other.names[0]}"],
                                [self.estimate[0] - other.estimate[0]], [[c @ cov @ c]],
                                both @ c[:, None])

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
                       title=title)

    def __repr__(self):
        return str(self.summary())


def _check_alpha(alpha):
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
