"""Λ(x) of a single-index family from the moments of T given X, and the law of T given X.

With w = ℓ''(y, η) and z = (1, t), Λ(x) = E[w z z' | x] is made of a(x) = E[w | x], the
w-weighted mean m(x) and covariance S(x) of T given x, each an unweighted regression on X.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .._seeds import seeded_clone
from ._regressors import LinearTrendBoosting, _fit_predict, _oof_predict

OVERLAP_FLOOR = 1e-2  # conditional variance of T floored at 1% of its pooled variance
# Binary T: propensities clipped to [0.01, 0.99] (DoubleML's default trimming); a looser clip
# lets a few boosted propensities near 0 or 1 dominate the estimate.
PROPENSITY_CLIP = 1e-2
# A fitting row's weight is capped where its leverage given x (below) exceeds this many
# times the average: one row far out in T under a curvature that grows with t (the
# Poisson's e^η) otherwise inflates Λ̂ on every row through the regressions' means.
LEVERAGE_CAP = 50.0
# from this share of T's variance explained by X on, regime C's intervals are off
EXPLAINED_SHARE_WARN = 0.5


def capped_mean(values, cap):
    """The m with m = mean(min(values, cap·m)): the average of nonnegative ``values`` once
    those above ``cap`` times it are brought down to that level (exact, after a sort)."""
    ascending = np.sort(values)
    n = ascending.size
    below = np.concatenate([[0.0], np.cumsum(ascending)])  # sums of the smallest, in order
    k = np.arange(min(n - 1, int(np.ceil(n / cap)) - 1) + 1)  # n − k·cap stays positive
    level = below[n - k] / (n - k * cap)  # the mean with the k largest at cap·level
    fits = ascending[n - 1 - k] <= cap * level
    return float(level[np.argmax(fits)] if fits.any() else level[-1])


def cap_leverage(d2, d2_reference, T_fit, X_fit, cap=LEVERAGE_CAP):
    """Weights of Λ̂'s fitting rows with no row's leverage given x above ``cap`` times the
    average.

    The leverage of row i is (|w_i| / w̄_i)(1 + u_i'S⁻¹u_i): its weight relative to a
    reference w̄_i that follows x (the curvature at T's linear prediction from x), times
    the Mahalanobis length of T's residual u from that prediction. Rows far out in T given
    x (large u, and under an exponential link a weight far above w̄) stand out; rows with
    large weights because of where x is do not. Rows above ``cap`` times the weighted
    average have their weight scaled down to that level, the average being the one after
    the capping (:func:`capped_mean`), so that a row whose leverage is many orders of
    magnitude out cannot raise its own ceiling. Constant weights (the linear family) are
    left as they are: there T's own spread is Λ.

    Parameters
    ----------
    d2 : ndarray (n,)
        The weights of the Hessian regression.
    d2_reference : ndarray (n,)
        The curvature at the same θ with T at its linear prediction from x.
    T_fit : ndarray (n, p)
    X_fit : ndarray (n, k)

    Returns
    -------
    d2 : ndarray (n,), capped : ndarray (n,) bool
    """
    capped = np.zeros(d2.shape, dtype=bool)
    if moment_kind(d2, T_fit)[0]:
        return d2, capped
    resid = T_fit - linear_prediction(T_fit, X_fit)
    S = np.atleast_2d(np.cov(resid, rowvar=False))
    spread = 1.0 + np.einsum("ni,ij,nj->n", resid, np.linalg.pinv(S), resid)
    scale = np.abs(d2_reference)
    ratio = np.abs(d2) / np.maximum(scale, 1e-3 * max(np.median(scale), 1e-300))
    lev = ratio * spread
    factor = np.minimum(1.0, cap * capped_mean(lev, cap) / np.maximum(lev, 1e-300))
    capped = factor < 1.0
    return d2 * factor, capped


def linear_prediction(T_fit, X_fit):
    """T's least-squares prediction from (1, x)."""
    A = np.column_stack([np.ones(X_fit.shape[0]), X_fit])
    return A @ np.linalg.lstsq(A, T_fit, rcond=None)[0]


def index_moment_lambda(d2, T_fit, X_fit, X_pred, model, mean_model=None, sample_weight=None,
                        variance_model=None, weight_model=None):
    """Λ(x) for a single-index family, positive semi-definite by construction.

    With w = ℓ''(y, η) and z = (1, t), Λ(x) = E[w z z' | x] = a(x)·[[1, m'], [m, m m' + S]]
    where a = E[w | x], m = E[w T | x] / a and S = E[w (T − m)(T − m)' | x] / a. Each is an
    unweighted regression on X; S is regressed on out-of-fold residuals so that
    overfitting cannot shrink it, and floored at 1% of T's pooled variance; for a
    binary T, S = m(1 − m) with m clipped to [0.01, 0.99]. Rows where a floor
    binds (limited overlap) are reported.

    The test-row predictions of a and m come from fits on all the fitting rows, not
    from averaging the two half-sample models that give the out-of-fold residuals (which
    shifted the estimates). m is the ratio of the regressions of w·T and w, which
    regresses Λ's entries E[w | x] and E[w T | x] directly; one regression of T weighted
    by w would make E[w T | x] a product of two fitted functions, and biased the logit.

    Parameters
    ----------
    d2 : ndarray (n_fit,)
        ℓ'' at the fitting rows (constant for the linear family).
    T_fit : ndarray (n_fit, p)
    X_fit, X_pred : ndarray
    model : sklearn regressor or None
    mean_model : sklearn regressor or None
        The regressor of E[w T | x] for a continuous T, where it differs from ``model``.
    sample_weight : ndarray (n_fit,) or None
        The fit's sample weights at the fitting rows: every regression is weighted by
        them, so that Λ̂ is the curvature given x of the weighted population.
    variance_model : sklearn regressor or None
        The regressor of E[w (T − m)(T − m)' | x], where it differs from ``model``.
    weight_model : sklearn regressor or None
        The regressor of a = E[w | x] (such as :class:`LogTrendBoosting` for weights that
        span orders of magnitude across x); m and S are then regressed with the weights
        divided by its in-sample fit â(x). A function of x divides out of a weighted mean
        given x, so m and S are the same in population, but the regressions fit them as
        closely where the weights are small (a Poisson's e^η at low η, a rare event's
        p(1 − p)) as where they are large. None: a by ``model``, the weights as they are.

    Returns
    -------
    lam : ndarray (n_pred, 1 + p, 1 + p), floored : ndarray (n_pred,) bool
    """
    a, m, S, floored, _ = weighted_moments(d2, T_fit, X_fit, X_pred, model, mean_model,
                                           sample_weight, variance_model, weight_model)
    return moment_lambda(a, m, S), floored


def shift_lambda(lam, lower):
    """Λ for z = (1, t) from Λ for z = (1, t − ``lower``): A Λ A' with A = [[1, 0], [lower, I]]."""
    A = np.eye(lam.shape[1])
    A[1:, 0] = lower
    return A @ lam @ A.T


def moment_lambda(a, m, S):
    """a(x)·[[1, m'], [m, m m' + S]] per row."""
    return a[:, None, None] * _moment_matrix(m, S)


def _moment_matrix(m, S):
    """[[1, m'], [m, m m' + S]] per row: E[z z' | x] for z = (1, t), mean m, covariance S."""
    n_pred, p = m.shape
    lam = np.empty((n_pred, 1 + p, 1 + p))
    lam[:, 0, 0] = 1.0
    lam[:, 0, 1:] = m
    lam[:, 1:, 0] = m
    lam[:, 1:, 1:] = m[:, :, None] * m[:, None, :] + S
    return lam


def moment_kind(d2, T_fit):
    """(constant weights, binary treatment): which moments need regressions."""
    constant_w = np.ptp(d2) <= 1e-12 * max(1.0, abs(d2).max())
    binary = T_fit.shape[1] == 1 and constant_w and np.all(np.isin(T_fit, (0.0, 1.0)))
    return constant_w, binary


def finish_moments(m, S, T_fit, d2, binary, sample_weight=None):
    """Clip a binary propensity (S = m(1 − m)) or floor S's eigenvalues at 1% of T's pooled
    variance; return m, S and the rows where a floor binds.

    With nonnegative weights, m is a weighted mean of observed treatments and S their
    weighted covariance, so m lies within the range of T and S's eigenvalues below the
    largest variance a law on that range can have: a ratio of two regressions that strays
    outside (a tiny E[w | x] in the denominator) is brought back; below the floor, or with
    m clipped, the row is reported.
    """
    aweights = np.maximum(d2, 0.0) * (1.0 if sample_weight is None else sample_weight)
    pooled = np.atleast_2d(np.cov(T_fit, rowvar=False, aweights=aweights))
    lo, hi = T_fit.min(axis=0), T_fit.max(axis=0)
    if binary:
        clipped = (m[:, 0] < PROPENSITY_CLIP) | (m[:, 0] > 1 - PROPENSITY_CLIP)
        m = np.clip(m, PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
        S = (m * (1 - m))[:, :, None]
    else:
        clipped = ((m < lo) | (m > hi)).any(axis=1)
        m = np.clip(m, lo, hi)
    sw, sv = np.linalg.eigh(S)
    floor = OVERLAP_FLOOR * np.linalg.eigvalsh(pooled).max()
    ceiling = max(float(np.sum((hi - lo) ** 2) / 4), floor)
    # above the ceiling is more variation than T's range allows, not too little: clipped,
    # not reported (a binary T at propensity ½ sits at the ceiling, and noise crosses it)
    floored = (sw < floor).any(axis=1) | clipped
    S = np.einsum("nij,nj,nkj->nik", sv, np.clip(sw, floor, ceiling), sv)
    return m, S, floored


def weighted_moments(d2, T_fit, X_fit, X_pred, model, mean_model=None, sample_weight=None,
                     variance_model=None, weight_model=None):
    """a = E[w | x], the w-weighted mean m and covariance S of T given x (floored), the
    rows where a floor binds, and the out-of-fold residuals (None for a binary T).
    ``mean_model`` (None: ``model``) regresses w·T for a continuous T, ``variance_model``
    (None: ``model``) the products of its residuals; every regression is weighted by
    ``sample_weight`` (None: unweighted). ``weight_model``: a's regressor, and m and S
    from the weights over its fit (:func:`index_moment_lambda`)."""
    fit_predict = functools.partial(_fit_predict, sample_weight=sample_weight)
    oof_predict = functools.partial(_oof_predict, sample_weight=sample_weight)
    n_pred, p = X_pred.shape[0], T_fit.shape[1]
    constant_w, binary = moment_kind(d2, T_fit)
    mean_model = model if mean_model is None or binary else mean_model
    variance_model = model if variance_model is None else variance_model
    if constant_w:
        a, a_oof, a_fit = np.full(n_pred, float(d2[0])), np.full(d2.shape, float(d2[0])), None
    else:
        a, a_oof, a_fit = _mean_weight(fit_predict, oof_predict, weight_model or model, X_fit,
                                       d2, X_pred, in_sample=weight_model is not None)
    w, w_mean, w_mean_oof = d2, a, a_oof  # the weights of m and S, and their mean given x
    if a_fit is not None:
        w = d2 / a_fit
        w_mean, w_mean_oof, _ = _mean_weight(fit_predict, oof_predict, model, X_fit, w, X_pred)
    wT = w[:, None] * T_fit
    m = np.empty((n_pred, p))
    resid = np.empty_like(T_fit)
    for j in range(p):
        if binary and sample_weight is not None:
            m[:, j] = weighted_propensity(model, X_fit, T_fit[:, j], sample_weight, X_pred)
            continue
        m[:, j] = fit_predict(mean_model, X_fit, wT[:, j], X_pred) / w_mean
        if not binary:
            # a weighted mean of T lies within T's range, whatever the ratio's noise
            resid[:, j] = T_fit[:, j] - np.clip(
                oof_predict(mean_model, X_fit, wT[:, j]) / w_mean_oof,
                T_fit[:, j].min(), T_fit[:, j].max())
    S = None
    if not binary:
        S = np.empty((n_pred, p, p))
        for j in range(p):
            for k in range(j, p):
                S[:, j, k] = S[:, k, j] = fit_predict(
                    variance_model, X_fit, w * resid[:, j] * resid[:, k], X_pred) / w_mean
    m, S, floored = finish_moments(m, S, T_fit, d2, binary, sample_weight)
    return a, m, S, floored, None if binary else resid


def _mean_weight(fit_predict, oof_predict, model, X_fit, w, X_pred, in_sample=False):
    """E[w | x] at the new rows, out of fold, and with ``in_sample`` at the fitting rows
    (else None), floored at 1% of w's mean."""
    floor = OVERLAP_FLOOR * w.mean()
    rows = np.vstack([X_pred, X_fit]) if in_sample else X_pred
    fitted = np.maximum(fit_predict(model, X_fit, w, rows), floor)
    oof = np.maximum(oof_predict(model, X_fit, w), floor)
    return fitted[:len(X_pred)], oof, (fitted[len(X_pred):] if in_sample else None)


def weighted_propensity(model, X_fit, t, sample_weight, X_pred):
    """P_w(T = 1 | x) of the weighted population, e·w̄₁ / (e·w̄₁ + (1 − e)·w̄₀).

    e(x) is the unweighted propensity and w̄_t(x) = E[w | x, T = t], one regression of the
    weights on (x, t). Its target is that of the weighted regression of T on x, but where
    the weights differ between the arms, that regression sees the weighted population's
    minority arm through few effective rows, and the unweighted propensity sees both arms
    as they were sampled.
    """
    e = _fit_predict(model, X_fit, t, X_pred)
    n_pred = len(X_pred)
    at_arms = np.column_stack([np.vstack([X_pred, X_pred]),
                               np.repeat([1.0, 0.0], n_pred)])  # each row at t = 1, then 0
    w = _fit_predict(model, np.column_stack([X_fit, t]), sample_weight, at_arms)
    return propensity_from_arms(e, w[:n_pred], w[n_pred:], sample_weight)


def propensity_from_arms(e, w1, w0, sample_weight):
    """e·w̄₁ / (e·w̄₁ + (1 − e)·w̄₀), with e clipped to the propensity clip and the arms' mean
    weights floored at a thousandth of the mean weight."""
    e = np.clip(e, PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
    floor = 1e-3 * float(np.mean(sample_weight))
    w1, w0 = np.maximum(w1, floor), np.maximum(w0, floor)
    return e * w1 / (e * w1 + (1 - e) * w0)


def explained_share(T, X, mean_model, max_rows=5000):
    """The share of T's variance that X explains: 1 − mean out-of-fold squared residual of
    ``mean_model`` over T's variance, on at most ``max_rows`` rows (the largest over T's
    columns; 0 for a constant X)."""
    T = np.asarray(T)
    T = T.reshape(T.shape[0], -1)
    rows = np.random.RandomState(0).permutation(T.shape[0])[:max_rows]
    shares = [1.0 - np.mean((T[rows, j] - _oof_predict(mean_model, X[rows], T[rows, j])) ** 2)
              / max(float(np.var(T[rows, j])), np.finfo(float).tiny) for j in range(T.shape[1])]
    return max(0.0, max(shares))


def strong_confounding_warnings(family, X, T, forest):
    """A message where X explains at least ``EXPLAINED_SHARE_WARN`` of T's variance and Λ̂
    is estimated from a curvature that depends on θ (regime C); ``forest``: Λ̂ is the
    default random forest over whole Hessians, which overstates the information there."""
    if not family.requires_varying_treatments:
        return []
    share = explained_share(T, X, seeded_clone(LinearTrendBoosting(), 0))
    if share < EXPLAINED_SHARE_WARN:
        return []
    forest_note = (f" The {family.name} family's Λ̂, a random forest over whole Hessians, "
                   "also overstates the information there: its leaves average over rows "
                   "whose E[T | x] differs." if forest else "")
    return [f"X explains {share:.0%} of the variance of T, which leaves little variation "
            "in T given X to estimate the curvature Λ(x) from. In the coverage studies "
            "(limited overlap, strong confounding) families whose curvature depends on θ had "
            "E[beta] up to 0.7 SE off and intervals covering 0.78-0.95 from half of T's "
            f"variance explained on (the linear model's held).{forest_note} Treat the "
            "interval as approximate" + (": a second fit with lambda_method='conditional' "
                                         "is a check, not a cure." if forest else ".")]


def overlap_floored(T_fit, X_fit, X_pred, model, mean_model=None, sample_weight=None):
    """Rows of ``X_pred`` where T's conditional covariance given x sits at the overlap floor
    of :func:`finish_moments` (a binary T's propensity outside [0.01, 0.99]): T is (nearly)
    determined by x there, so θ(x) is not identified."""
    return weighted_moments(np.ones(T_fit.shape[0]), T_fit, X_fit, X_pred, model,
                            mean_model, sample_weight)[3]


def conditional_law(T_fit, X_fit, X_pred, model, rng, n_points=32, sample_weight=None):
    """An estimated law of T given X at new rows, as weighted support points per row.

    A binary T is Bernoulli(e(x)), e clipped to [0.01, 0.99]. Otherwise T = m(x) +
    S(x)^½ u, a location-scale model: m and S are the regressions of
    :func:`index_moment_lambda` (unit weights), and the law of u is that of the
    pooled, standardized out-of-fold residuals, represented by ``n_points`` points
    (their quantiles for one treatment, a random subset for several) re-standardized
    so that every row's points have exactly the mean m(x) and covariance S(x).

    Parameters
    ----------
    T_fit : ndarray (n_fit, p)
    X_fit, X_pred : ndarray
    model : sklearn regressor or None
    rng : numpy RandomState
        Picks the points for several treatments.
    n_points : int, default=32
    sample_weight : ndarray (n_fit,) or None
        Weights of the fitting rows: the law is that of the weighted population.

    Returns
    -------
    values : ndarray (n_pred, S, p), probs : ndarray (n_pred, S), floored : ndarray (n_pred,)
    """
    _, m, S, floored, resid = weighted_moments(np.ones(T_fit.shape[0]), T_fit, X_fit, X_pred,
                                                model, sample_weight=sample_weight)
    return law_from_moments(m, S, floored, resid, rng, n_points)


def neighbour_law(T_fit, X_fit, X_pred, n_points=None, sample_weight=None):
    """The law of a whole T row given X at new rows: the T of the ``n_points`` nearest
    training rows in X, equally weighted (for a choice family's table of attributes,
    which no location-scale model describes).

    Parameters
    ----------
    T_fit : ndarray (n_fit, p)
    X_fit, X_pred : ndarray
    n_points : int or None, default=None
        None: max(16, √n_fit), so that the law, and Λ̂ integrated over it, is
        consistent as n grows.
    sample_weight : ndarray (n_fit,) or None
        Weights of the fitting rows: each neighbour's probability is proportional to it.

    Returns
    -------
    values : ndarray (n_pred, S, p), probs : ndarray (n_pred, S), floored : ndarray (n_pred,)
    """
    n_fit = T_fit.shape[0]
    S = min(n_fit, max(16, int(np.ceil(np.sqrt(n_fit)))) if n_points is None else n_points)
    idx = NearestNeighbors(n_neighbors=S).fit(X_fit).kneighbors(X_pred, return_distance=False)
    if sample_weight is None:
        probs = np.full(idx.shape, 1.0 / S)
    else:
        near = sample_weight[idx]
        total = near.sum(axis=1, keepdims=True)  # zero where every neighbour has weight 0
        probs = np.where(total > 0, near / np.where(total > 0, total, 1.0), 1.0 / S)
    return T_fit[idx], probs, np.zeros(X_pred.shape[0], dtype=bool)


def law_from_moments(m, S, floored, resid, rng, n_points=32):
    """:func:`conditional_law` from the moments of T given X and the out-of-fold residuals."""
    n_pred, p = m.shape
    if resid is None:  # binary
        values = np.broadcast_to(np.array([[0.0], [1.0]]), (n_pred, 2, 1))
        return values, np.column_stack([1 - m[:, 0], m[:, 0]]), floored
    resid = resid - resid.mean(axis=0)
    if p == 1:
        u = np.quantile(resid[:, 0], (np.arange(n_points) + 0.5) / n_points)[:, None]
    else:
        u = resid[rng.choice(resid.shape[0], size=min(n_points, resid.shape[0]), replace=False)]
    u = u - u.mean(axis=0)
    cw, cv = np.linalg.eigh(np.atleast_2d(np.cov(u, rowvar=False, bias=True)))
    u = u @ cv @ np.diag(1.0 / np.sqrt(np.maximum(cw, 1e-12 * cw.max()))) @ cv.T  # whitened
    sw, sv = np.linalg.eigh(S)
    root = np.einsum("nij,nj,nkj->nik", sv, np.sqrt(np.maximum(sw, 0.0)), sv)
    values = m[:, None, :] + np.einsum("nij,sj->nsi", root, u)
    return values, np.full(values.shape[:2], 1.0 / u.shape[0]), floored


