"""Λ(x) = E[ℓ_θθ(Y, T, θ(x)) | X = x]: three ways to estimate it, and its safe inversion.

- ``"analytic"`` (regime B): ℓ_θθ is free of θ and y (linear family), so its
  entries are functions of T alone; regress them on X with a sklearn model.
- ``"randomized"`` (regime A): T is independent of X with a known or
  resampleable law ν; Λ(x) = Σ_t ν(t) ℓ_θθ(t, θ̂(x)), by exact enumeration
  (with the expected Hessian E[ℓ_θθ | x, t] where ℓ_θθ depends on y).
- ``"conditional"`` (regime C, the heteroskedastic family's default):
  Λ(x) = E[ℓ_θθ(T, θ̂(x)) | X = x], integrating the expected Hessian at the
  cross-fitted θ̂(x) over an estimated law of T given X (Bernoulli for a binary T,
  location-scale otherwise; :func:`conditional_law`). No auxiliary network.
- ``"regression"`` (regime C): ℓ_θθ depends on θ; two auxiliary θ-networks
  are fit, one on each half of the training part, and the Hessians of every
  training row at the prediction of the network that did not see it are
  regressed on X (for the logit, with the secant weights of
  :func:`lambda_index_weights`, which remove most of the second-order remainder
  that Λ at an estimated θ leaves; for the probit, with the observed ℓ'' rather
  than its expectation, which removes part of it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import KFold, cross_val_predict

from ._validation import check_law_support, parse_treatment_law

LAMBDA_METHODS = ("auto", "analytic", "randomized", "conditional", "regression")
MAX_LAW_POINTS = 256


OVERLAP_FLOOR = 1e-2  # conditional variance of T floored at 1% of its pooled variance
# Binary T: propensities clipped to [0.01, 0.99] (DoubleML's default trimming). At 1e-3, a few
# boosted propensities near 0 or 1 doubled the Monte Carlo SD of E[beta] (0.11 vs 0.062, R=30).
PROPENSITY_CLIP = 1e-2


def default_lambda_model():
    """Default nuisance regressor: small-tree gradient boosting with early stopping.

    On smooth propensity-type functions at n = 1600 it had 30-40% lower RMSE
    than 200 fixed boosting rounds, in half the time. Learning rate 0.1 with 10
    rounds of patience (rather than 0.05 and 20) cost 1-2% RMSE on E[T | x] and
    Var(T | x) at 1600-20,000 rows, d = 20, and 40% of the time.
    """
    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, max_leaf_nodes=8,
                                         min_samples_leaf=30, early_stopping=True,
                                         validation_fraction=0.15, n_iter_no_change=10,
                                         random_state=0)


BINNING_SUBSAMPLE = 200_000  # rows whose quantiles set the bin edges, as in gradient boosting


def lambda_features(X, model, n_threads=1):
    """The covariates that the Λ regressor ``model`` is fitted on: X, or its bin codes.

    HistGradientBoosting bins its features at every fit, the same work 7 times per fold
    in the logit's Λ stage. Given the codes of :func:`binned_features` it only finds
    each column's distinct codes and bins on them, so the quantiles are taken once for
    all the fits of an estimator: a logit fold's Λ regressions took 4% less time at
    4000 fitting rows (1 thread) and 11% less at 160,000 (2 threads), with the same
    trees where a column has at most ``max_bins`` distinct values. Other regressors
    (and boosting with categorical features) see X itself.

    Parameters
    ----------
    X : ndarray (n, d)
    model : sklearn regressor or None
        The regressor that will be fitted, None for the default gradient boosting.
    n_threads : int, default=1
        Threads for the codes' columns.
    """
    model = default_lambda_model() if model is None else model
    if not isinstance(model, HistGradientBoostingRegressor):
        return X
    categorical = model.categorical_features  # None, a string, or a mask or indices
    if categorical is None or (isinstance(categorical, str) and categorical == "from_dtype"):
        return binned_features(X, model.max_bins, n_threads)
    return X


def binned_features(X, max_bins=255, n_threads=1):
    """Each column of X as uint8 codes of its ``max_bins`` quantile bins.

    As gradient boosting bins: on at most ``BINNING_SUBSAMPLE`` rows (a fixed random
    subset), a column with at most ``max_bins`` distinct values gets the midpoints
    between them as edges, any other its quantiles; a value equal to an edge falls in
    the bin below it. Monotone in each column, so a tree fitted on the codes splits the
    rows as one fitted on X with those edges would.
    """
    n, d = X.shape
    sample = X
    if n > BINNING_SUBSAMPLE:
        sample = X[np.random.RandomState(0).choice(n, BINNING_SUBSAMPLE, replace=False)]
    quantiles = np.linspace(0.0, 1.0, max_bins + 1)[1:-1]
    codes = np.empty((n, d), dtype=np.uint8)

    def bin_column(j):
        column = np.sort(sample[:, j])
        distinct = column[np.concatenate([[True], column[1:] != column[:-1]])]
        if distinct.size <= max_bins:
            edges = 0.5 * (distinct[:-1] + distinct[1:])
        else:
            edges = np.quantile(column, quantiles)
        codes[:, j] = np.searchsorted(edges, X[:, j], side="left")

    if n_threads > 1 and d > 1:  # np.quantile and np.searchsorted release the GIL
        with ThreadPoolExecutor(min(n_threads, d)) as pool:
            list(pool.map(bin_column, range(d)))
    else:
        for j in range(d):
            bin_column(j)
    return codes


def _constant(X):
    """Whether X carries no information (every column constant): E[y | X] is then the mean
    of y, which a regressor with early stopping would take over a subsample only."""
    return X.shape[0] == 0 or not np.any(np.ptp(X, axis=0))


def _fit_predict(model, X_fit, y, X_pred):
    if _constant(X_fit):
        return np.full(X_pred.shape[0], np.mean(y))
    reg = clone(model if model is not None else default_lambda_model())
    return reg.fit(X_fit, y).predict(X_pred)


def _oof_predict(model, X, y, n_splits=2):
    if _constant(X):
        return np.full(X.shape[0], np.mean(y))
    reg = clone(model if model is not None else default_lambda_model())
    return cross_val_predict(reg, X, y, cv=KFold(n_splits, shuffle=True, random_state=0))


def index_moment_lambda(d2, T_fit, X_fit, X_pred, model):
    """Λ(x) for a single-index family, positive semi-definite by construction.

    With w = ℓ''(y, η) and z = (1, t), Λ(x) = E[w z z' | x] = a(x)·[[1, m'], [m, m m' + S]]
    where a = E[w | x], m = E[w T | x] / a and S = E[w (T − m)(T − m)' | x] / a. Each is an
    unweighted regression on X; S is regressed on out-of-fold residuals so that
    overfitting cannot shrink it, and floored at 1% of T's pooled variance; for a
    binary T, S = m(1 − m) with m clipped to [0.01, 0.99]. Rows where a floor
    binds (limited overlap) are reported.

    The test-row predictions of a and m come from fits on all the fitting rows, not
    from averaging the two half-sample models that give the out-of-fold residuals:
    that average, though as accurate in RMSE, shifted the linear coverage design's
    estimates by -0.08 SE, consistently (paired over 80 replications).

    m as one regression of T weighted by w (and S of the residual products), rather than
    the ratio of the regressions of w·T and w, would take 5 gradient-boosting fits per
    fold instead of 7; paired over 200 seeds of the logit coverage design it moved E[β]
    by -0.086 SE (s.e. 0.017), its bias from -0.12 to -0.21 SE. The ratio regresses
    Λ's entries E[w | x] and E[w T | x] directly; the weighted fit makes E[w T | x] a
    product of two fitted functions.

    Parameters
    ----------
    d2 : ndarray (n_fit,)
        ℓ'' at the fitting rows (constant for the linear family).
    T_fit : ndarray (n_fit, p)
    X_fit, X_pred : ndarray
    model : sklearn regressor or None

    Returns
    -------
    lam : ndarray (n_pred, 1 + p, 1 + p), floored : ndarray (n_pred,) bool
    """
    a, m, S, floored, _ = _weighted_moments(d2, T_fit, X_fit, X_pred, model)
    return moment_lambda(a, m, S), floored


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


def finish_moments(m, S, T_fit, d2, binary):
    """Clip a binary propensity (S = m(1 − m)) or floor S's eigenvalues at 1% of T's pooled
    variance; return m, S and the rows where a floor binds.

    With nonnegative weights, m is a weighted mean of observed treatments and S their
    weighted covariance, so m lies within the range of T and S's eigenvalues below the
    largest variance a law on that range can have: a ratio of two regressions that strays
    outside (a tiny E[w | x] in the denominator) is brought back and reported.
    """
    pooled = np.atleast_2d(np.cov(T_fit, rowvar=False, aweights=np.maximum(d2, 0.0)))
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
    floored = (sw < floor).any(axis=1) | (sw > ceiling).any(axis=1) | clipped
    S = np.einsum("nij,nj,nkj->nik", sv, np.clip(sw, floor, ceiling), sv)
    return m, S, floored


def _weighted_moments(d2, T_fit, X_fit, X_pred, model):
    """a = E[w | x], the w-weighted mean m and covariance S of T given x (floored), the
    rows where a floor binds, and the out-of-fold residuals (None for a binary T)."""
    n_pred, p = X_pred.shape[0], T_fit.shape[1]
    constant_w, binary = moment_kind(d2, T_fit)
    wT = d2[:, None] * T_fit
    if constant_w:
        a, a_oof = np.full(n_pred, float(d2[0])), np.full(d2.shape, float(d2[0]))
    else:
        a = np.maximum(_fit_predict(model, X_fit, d2, X_pred), OVERLAP_FLOOR * d2.mean())
        a_oof = np.maximum(_oof_predict(model, X_fit, d2), OVERLAP_FLOOR * d2.mean())
    m = np.empty((n_pred, p))
    resid = np.empty_like(T_fit)
    for j in range(p):
        m[:, j] = _fit_predict(model, X_fit, wT[:, j], X_pred) / a
        if not binary:
            # a weighted mean of T lies within T's range, whatever the ratio's noise
            resid[:, j] = T_fit[:, j] - np.clip(_oof_predict(model, X_fit, wT[:, j]) / a_oof,
                                                T_fit[:, j].min(), T_fit[:, j].max())
    S = None
    if not binary:
        S = np.empty((n_pred, p, p))
        for j in range(p):
            for k in range(j, p):
                S[:, j, k] = S[:, k, j] = _fit_predict(
                    model, X_fit, d2 * resid[:, j] * resid[:, k], X_pred) / a
    m, S, floored = finish_moments(m, S, T_fit, d2, binary)
    return a, m, S, floored, None if binary else resid


def conditional_law(T_fit, X_fit, X_pred, model, rng, n_points=32):
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

    Returns
    -------
    values : ndarray (n_pred, S, p), probs : ndarray (n_pred, S), floored : ndarray (n_pred,)
    """
    _, m, S, floored, resid = _weighted_moments(np.ones(T_fit.shape[0]), T_fit, X_fit, X_pred,
                                                model)
    return law_from_moments(m, S, floored, resid, rng, n_points)


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


def uses_expected_hessian(family):
    """Whether Λ is built from the family's expected Hessian (Fisher information).

    True when ℓ_θθ depends on y and the family supplies E[ℓ_θθ | x, t]: its
    conditional mean given X is the same Λ(x), without the y-noise (and, for
    families whose per-row Hessian is indefinite, positive semi-definite).
    """
    return bool(family.hessian_depends_on_y and family.has_expected_hessian)


def lambda_hessians(family, y, t, theta):
    """Per-row matrices whose mean given X is Λ(x): expected Hessians where available."""
    if uses_expected_hessian(family):
        return family.expected_hessian(t, theta)
    return family.hessian(y, t, theta)


def lambda_index_weights(family, y, eta, secant=False, observed=False):
    """Per-row weights w whose mean given X is the index curvature in Λ(x) = E[w z z' | x].

    By default ℓ''(y, η), or its expectation given η where ℓ'' depends on y.

    With ``observed=True`` (regime C, η̃ from the auxiliary θ-fit) the weights are the
    observed ℓ''(y, η̃) even where ℓ'' depends on y. Write g(η*, η) for E[ℓ''(Y, η)] when
    Y follows η*; the one-step estimator needs the secant g(η, η) + ½·∂₂g·Δη. The expected
    curvature at η̃, g(η̃, η̃), misses it by (∂₁g + ½·∂₂g)·Δη; the observed ℓ''(y, η̃), whose
    Y follows the true η, by ½·∂₂g·Δη only. For the probit ∂₁g is 0.2-0.6 times ∂₂g for η
    in [−2, 2], so the miss is 30-50% smaller, and ℓ'' stays bounded in (0, 1). Families
    opt in with ``observed_lambda`` (the probit).

    With ``secant=True`` (regime C, η from the auxiliary θ-fit) the weights are
    w = c(η) − (κ(η)/c(η))·ℓ'(y, η), with c the curvature E[ℓ'' | η] and κ from
    ``family.secant_coefficient``. The one-step estimator is exact when Λ uses the
    secant slope of E[ℓ' | x, t] between θ and θ̂; the curvature at θ̂ misses it by
    κ·Δη (κ = ½c' where ℓ'' is free of y), and since E[ℓ'(Y, η̂) | x, t] ≈ c·Δη, the
    second term removes that excess on average (to second order in Δη), with no θ
    in sight: evaluated at θ̂, Λ would leave a second-order remainder of
    +½·E[c'(η)Δη² z] in the debiased estimate. For the logit it is
    p(1 − p) − ½(1 − 2p)(p − y); for the Poisson, (μ + y)/2. Both are nonnegative. The
    y-term makes Λ̂ noisier, which regressing over both cross-fitted halves of the
    training part offsets. For an asymmetric link (the gumbel) the weight of an
    improbable outcome grows without bound, so it is clipped at ``secant_weight_cap``
    times the curvature. Families opt in with ``secant_lambda`` (the logit and the
    gumbel); the user guide's section on regime C gives the measurements behind each
    choice.

    Returns the plain weights where ℓ'' depends on y and the family gives no
    ``expected_d2`` (no y-free curvature to take the slope of).
    """
    curvature = family.curvature(eta) if secant or not observed else None
    w = family.d2(y, eta) if observed or curvature is None else curvature
    coefficient = family.secant_coefficient(eta) if secant else None
    if coefficient is None:
        return w
    w = w - coefficient * family.d1(y, eta)
    if family.secant_weight_cap is not None:
        w = np.clip(w, 0.0, family.secant_weight_cap * curvature)
    return w


def choose_lambda_method(method, family, treatment_law):
    """Resolve ``lambda_method='auto'`` from the family's facts and the treatment law."""
    if method == "auto":
        if treatment_law is not None:
            method = "randomized"
        elif not family.hessian_depends_on_theta and not family.hessian_depends_on_y:
            method = "analytic"
        else:
            method = family.observational_lambda
    if (method in ("randomized", "conditional") and family.hessian_depends_on_y
            and not family.has_expected_hessian):
        raise ValueError(
            f"lambda_method={method!r} integrates ℓ_θθ over a law of the treatment, but the "
            f"{family.name!r} family's Hessian depends on y and the family gives no "
            "expected_hessian. Use lambda_method='regression' (or give the family an "
            "expected_hessian)."
        )
    if method == "analytic" and (family.hessian_depends_on_theta or family.hessian_depends_on_y):
        raise ValueError(
            f"lambda_method='analytic' needs a Hessian free of θ and y; the {family.name!r} "
            "family's is not. Use 'regression' (observational T) or 'randomized' (randomized T)."
        )
    return method


def default_matrix_model():
    """Default model for whole Hessian matrices: a multi-output random forest.

    Its prediction is a nonnegative-weighted average of training rows' targets,
    with the same weights for every entry, so an average of positive
    semi-definite Hessians stays positive semi-definite: no entry-wise noise
    can make Λ̂(x) indefinite.
    """
    return RandomForestRegressor(n_estimators=100, min_samples_leaf=20, max_features=0.6,
                                 random_state=0, n_jobs=1)


def regress_hessian(H, X_fit, X_pred, model):
    """Regress per-row Hessians on X and predict Λ at new rows (families without an index).

    With ``model=None`` all distinct entries are fitted jointly by
    :func:`default_matrix_model` (PSD-preserving). A user model is fitted entry by
    entry (constant entries are copied, identical entries share a fit); the
    eigenvalue floor then repairs any indefiniteness.

    Parameters
    ----------
    H : ndarray (n_fit, d, d)
    X_fit, X_pred : ndarray
    model : sklearn regressor or None

    Returns
    -------
    ndarray (n_pred, d, d)
    """
    d = H.shape[1]
    rows, cols = np.triu_indices(d)
    entries = H[:, rows, cols]
    if _constant(X_fit):
        preds = np.broadcast_to(entries.mean(axis=0), (X_pred.shape[0], entries.shape[1]))
    elif model is None:
        preds = clone(default_matrix_model()).fit(X_fit, entries).predict(X_pred)
        preds = preds.reshape(X_pred.shape[0], -1)
    else:
        preds = np.empty((X_pred.shape[0], entries.shape[1]))
        fitted = {}
        for j in range(entries.shape[1]):
            y = entries[:, j]
            if np.ptp(y) <= 1e-12 * max(1.0, np.abs(y).max()):
                preds[:, j] = y[0]
                continue
            key = y.tobytes()
            if key not in fitted:
                fitted[key] = _fit_predict(model, X_fit, y, X_pred)
            preds[:, j] = fitted[key]
    return unpack_symmetric(preds, d)


def unpack_symmetric(entries, p):
    """(n, p(p+1)/2) upper-triangle entries (row-major, as np.triu_indices) to symmetric
    (n, p, p) matrices."""
    rows, cols = np.triu_indices(p)
    out = np.empty((entries.shape[0], p, p))
    out[:, rows, cols] = entries
    out[:, cols, rows] = entries
    return out


def treatment_support(treatment_law, T_train, rng):
    """Support points and probabilities of the treatment law for regime A.

    Parameters
    ----------
    treatment_law : None, "empirical", array-like or (values, probabilities)
        None / "empirical": the training rows' treatments, enumerated exactly
        when they take at most 256 distinct values, else 256 resampled rows.
        A given law must give positive probability to every value in ``T_train``.
    T_train : ndarray (n, p)
    rng : numpy RandomState

    Returns
    -------
    values : ndarray (S, p), probs : ndarray (S,)

    Raises
    ------
    ValueError
        When a given law is malformed or misses values that ``T_train`` takes
        (:func:`~sklearn_dml._validation.check_law_support`).
    """
    p = T_train.shape[1]
    if treatment_law is None or (isinstance(treatment_law, str) and treatment_law == "empirical"):
        values, counts = np.unique(T_train, axis=0, return_counts=True)
        if len(values) <= MAX_LAW_POINTS:
            return values, counts / counts.sum()
        pick = rng.choice(T_train.shape[0], size=MAX_LAW_POINTS, replace=False)
        return T_train[pick], np.full(MAX_LAW_POINTS, 1.0 / MAX_LAW_POINTS)
    values, probs = parse_treatment_law(treatment_law, p)
    check_law_support(values, probs, T_train)
    return values, probs


def integrate_hessian(family, theta, values, probs, chunk_rows=4096):
    """Λ(x_i) = Σ_s ν_s ℓ_θθ(t_s, θ_i), vectorized over rows and support points.

    ``values`` (S, p) with ``probs`` (S,) is one law for every row (regime A);
    ``values`` (n, S, p) with ``probs`` (n, S) gives each row its own law
    (:func:`conditional_law`).
    """
    n, d = theta.shape
    per_row = values.ndim == 3
    S = values.shape[-2]
    out = np.zeros((n, d, d))
    for start in range(0, n, chunk_rows):
        th = theta[start:start + chunk_rows]
        m = th.shape[0]
        th_rep = np.repeat(th, S, axis=0)
        if per_row:
            t_rep = values[start:start + m].reshape(m * S, -1)
            nu = probs[start:start + m]
        else:
            t_rep = np.tile(values, (m, 1))
            nu = np.broadcast_to(probs, (m, S))
        H = lambda_hessians(family, np.zeros(m * S), t_rep, th_rep).reshape(m, S, d, d)
        out[start:start + m] = np.einsum("ms,msij->mij", nu, H)
    return out


def regularize(L, floor):
    """Symmetrize and floor eigenvalues; return the factors needed to invert.

    The floor is relative to the *typical* curvature (the median over rows of the
    largest eigenvalue), not only to each row's own: a row whose whole Λ̂ is tiny
    (e.g. a logit row with fitted probability near 0 or 1) is otherwise left
    near-singular, and a single such row dominated the estimate in our Monte Carlo
    (one replication's error was 10 standard errors).

    Parameters
    ----------
    L : ndarray (n, d, d)
    floor : float
        Eigenvalues below ``floor * max(row's largest, median largest)`` are raised to it.

    Returns
    -------
    eigval : (n, d), eigvec : (n, d, d), raised : (n,) bool, raw_min : (n,)
    """
    L = 0.5 * (L + np.swapaxes(L, 1, 2))
    w, V = np.linalg.eigh(L)
    top = np.maximum(w[:, -1:], max(float(np.median(w[:, -1])), 1e-12))
    lo = floor * top
    raised = (w < lo).any(axis=1)
    return np.maximum(w, lo), V, raised, w[:, 0]


def solve(eigval, eigvec, rhs):
    """Λ⁻¹ r per row from an eigendecomposition: V diag(1/w) V' r."""
    coef = np.einsum("nji,nj->ni", eigvec, rhs) / eigval
    return np.einsum("nij,nj->ni", eigvec, coef)


def project_on_law(jacobian_fn, theta, values, probs, chunk_rows=4096):
    """E_ν[H_θ(θ_i, T)] = Σ_s ν_s H_θ(θ_i, t_s) for a randomized treatment law."""
    n, d = theta.shape
    S = values.shape[0]
    out = np.zeros((n, d))
    for start in range(0, n, chunk_rows):
        th = theta[start:start + chunk_rows]
        m = th.shape[0]
        J = jacobian_fn(np.repeat(th, S, axis=0), np.tile(values, (m, 1))).reshape(m, S, d)
        out[start:start + m] = np.einsum("s,msd->md", probs, J)
    return out


def project_crossfitted(J, X, fold_id, model, map_fits=None):
    """E[H_θ | X] by regressing each column of J on X, fitted on the other folds.

    ``map_fits(function, items)`` runs the (column, fold) fits, e.g. side by side in
    threads (:func:`~sklearn_dml._crossfit.map_folds`); one after another by default.
    """
    out = J.astype(float, copy=True)
    varying = [j for j in range(J.shape[1])
               if np.ptp(J[:, j]) > 1e-12 * max(1.0, np.abs(J[:, j]).max())]
    tasks = [(j, k) for j in varying for k in np.unique(fold_id)]
    # each column fitted in units of its SD: a regressor's absolute tolerances (gradient
    # boosting's early stopping) then act alike whatever the units of T and Y
    scale = np.where(J.std(axis=0) > 0, J.std(axis=0), 1.0)

    def fit(task):
        j, k = task
        test = fold_id == k
        train = ~test if (~test).any() else test
        return scale[j] * _fit_predict(model, X[train], J[train, j] / scale[j], X[test])

    predictions = (map_fits or (lambda f, items: [f(item) for item in items]))(fit, tasks)
    for (j, k), prediction in zip(tasks, predictions):
        out[fold_id == k, j] = prediction
    return out
