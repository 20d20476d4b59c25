"""Per-row Hessians whose mean given X is Λ(x): their regression on X, and their integral
over a known law of the treatment."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from .._units import two_valued_columns
from .._validation import check_law_support, parse_treatment_law
from ._regressors import _constant, _fit_predict, _weight_params, default_matrix_model

MAX_LAW_POINTS = 256
# Rows each tree of the default matrix forest grows on: all of them up to this many,
# then max(this, n^0.8), so that the per-tree sample grows more slowly than n.
MATRIX_TREE_ROWS = 10_000

def uses_expected_hessian(family):
    """Whether Λ is built from the family's expected Hessian (Fisher information).

    True when ℓ_θθ depends on y and the family supplies E[ℓ_θθ | x, t]: its
    conditional mean given X is the same Λ(x), without the y-noise (and, for
    families whose per-row Hessian is indefinite, positive semi-definite).
    """
    return bool(family.hessian_depends_on_y and family.has_expected_hessian)


def lambda_hessians(family, y, t, theta, secant=False, theta_main=None):
    """Per-row matrices whose mean given X is Λ(x): expected Hessians where available.

    With ``secant`` (θ from the auxiliary fit, regime C), the family's
    :meth:`~sklearn_dml.families.Family.secant_hessian` where it has ``secant_lambda``;
    ``theta_main`` (the main fit's θ̂ at the same rows) moves that secant from the
    auxiliary fit's error to the main fit's by ½·(E[ℓ_θθ(Y, θ̂)] − E[ℓ_θθ(Y, θ̃)]), Y
    following θ̃, as :func:`lambda_index_weights` does for an index. Families with
    ``information_to_main_fit`` take the same move on the expected Hessian at θ̃: the
    one-step needs G(θ, θ) + ½·∂₂G·Δ̂ (G(θ*, θ) the mean of ℓ_θθ at θ with Y following
    θ*), which G(θ̃, θ̃) misses by (∂₁G + ∂₂G)·Δ̃ − ½·∂₂G·Δ̂, and the moved form by
    (∂₁G + ½·∂₂G)·Δ̃ only, with no y in it.
    """
    if secant and family.secant_lambda:
        H, information = family.secant_hessian(y, t, theta), None
    elif uses_expected_hessian(family):
        H = information = family.expected_hessian(t, theta)
        if not (secant and family.information_to_main_fit):
            return H
    else:
        return family.hessian(y, t, theta)
    if theta_main is None:
        return H
    moved = family.hessian_under(t, theta_main, theta)
    if moved is None:
        flag = "secant_lambda" if information is None else "information_to_main_fit"
        raise NotImplementedError(
            f"The {family.name!r} family sets {flag} with secant_to_main_fit = True, but its "
            "hessian_under returns None, so regime C's Hessians cannot be moved to the main "
            "fit. Define hessian_under (local_hessian_under for an ExtendedIndexFamily), or "
            "set secant_to_main_fit = False.")
    if information is None:  # at its own law hessian_under is the Fisher information
        information = family.expected_hessian(t, theta)
    return H + 0.5 * (moved - information)


def lambda_index_weights(family, y, eta, secant=False, observed=False, eta_main=None):
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
    times the curvature. Families opt in with ``secant_lambda`` (the logit, the Poisson
    and the gumbel); the user guide's section on regime C gives the measurements behind
    each choice.

    These weights give the secant for the auxiliary fit's error Δη̃, where the one-step
    needs it for the main fit's Δη̂. ``eta_main`` (the main fit's η̂ at the same rows)
    adds the known difference, ½·E[ℓ''(Y, η̂) − ℓ''(Y, η̃)] with Y following η̃, which
    is ½·∂₂g·(η̂ − η̃) to first order: without it the secant leaves
    ½·E[∂₂g·(Δη̃ − Δη̂)·Δη̂ z], the fits' unshared errors (the auxiliary network sees half
    the rows) times the main one's. The observed weights take the same shift, so that
    their mean under the true law misses the secant to η̂ by ½·∂₂g·Δη̃ instead of
    ∂₂g·(Δη̃ − ½·Δη̂).

    Returns the plain weights where ℓ'' depends on y and the family gives no
    ``expected_d2`` (no y-free curvature to take the slope of).
    """
    curvature = family.curvature(eta)  # None where ℓ'' depends on y and no expectation is given
    w = family.d2(y, eta) if observed or curvature is None else curvature
    coefficient = family.secant_coefficient(eta) if secant else None
    if coefficient is not None:
        w = w - coefficient * family.d1(y, eta)
    elif not observed:
        return w
    if eta_main is not None and curvature is not None:
        moved = family.curvature_under(eta, eta_main)
        if moved is None:
            raise NotImplementedError(
                f"The {family.name!r} family's regime-C weights (secant_lambda or "
                "observed_lambda) are moved to the main fit (secant_to_main_fit = True), but "
                "its curvature_under returns None. Define curvature_under(eta_law, eta), or "
                "set secant_to_main_fit = False.")
        w = w + 0.5 * (moved - curvature)
    if coefficient is not None and family.secant_weight_cap is not None:
        w = np.clip(w, 0.0, family.secant_weight_cap * curvature)
    return w


def regress_hessian(H, X_fit, X_pred, model=None, jointly=True, sample_weight=None):
    """Regress per-row Hessians on X and predict Λ at new rows (families without an index).

    ``jointly``: all distinct entries fitted by one multi-output forest (``model``, by
    default :func:`default_matrix_model`; PSD-preserving), each tree on a bootstrap sample
    of :func:`matrix_tree_rows` rows: on many rows, leaves of a fixed minimum size over
    all of them would average too few Hessians to smooth their noise, and cost time in
    proportion to n log n times the number of entries. Otherwise ``model`` is fitted
    entry by entry (constant entries are copied, identical entries share a fit); the
    eigenvalue floor then repairs any indefiniteness.

    Parameters
    ----------
    H : ndarray (n_fit, d, d)
    X_fit, X_pred : ndarray
    model : sklearn regressor or None
        With ``jointly``, a random forest (``max_samples`` is set here).
    jointly : bool, default=True
    sample_weight : ndarray (n_fit,) or None
        Weights of the fitting rows (the fit's sample weights).

    Returns
    -------
    ndarray (n_pred, d, d)
    """
    d = H.shape[1]
    rows, cols = np.triu_indices(d)
    entries = H[:, rows, cols]
    if _constant(X_fit):
        preds = np.broadcast_to(np.average(entries, axis=0, weights=sample_weight),
                                (X_pred.shape[0], entries.shape[1]))
    elif jointly:
        forest = clone(default_matrix_model() if model is None else model)
        forest.set_params(max_samples=matrix_tree_rows(X_fit.shape[0]))
        # many dummies' shifts by least squares, the forest on what is left
        shift = _dummy_shifts(X_fit, entries, sample_weight)
        target = entries if shift is None else entries - shift(X_fit)
        preds = forest.fit(X_fit, target, **_weight_params(sample_weight)).predict(X_pred)
        preds = preds.reshape(X_pred.shape[0], -1)
        if shift is not None:
            preds = preds + shift(X_pred)
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
                fitted[key] = _fit_predict(model, X_fit, y, X_pred, sample_weight)
            preds[:, j] = fitted[key]
    return unpack_symmetric(preds, d)


# a forest splits on a few dummies itself; from this many, as a categorical covariate's
# one-hot columns, its leaves dilute their effects
MATRIX_DUMMY_COLUMNS = 5


def _dummy_shifts(X_fit, entries, sample_weight=None):
    """The least-squares fit of ``entries`` on X's two-valued columns, as a function of X;
    None where X has fewer than ``MATRIX_DUMMY_COLUMNS`` of them."""
    columns = two_valued_columns(X_fit)
    if len(columns) < MATRIX_DUMMY_COLUMNS:
        return None
    linear = LinearRegression().fit(X_fit[:, columns], entries, sample_weight=sample_weight)
    return lambda X: linear.predict(X[:, columns])


def matrix_tree_rows(n_rows):
    """Rows of each tree's bootstrap sample in the default matrix forest (None: all).

    All ``n_rows`` up to ``MATRIX_TREE_ROWS``, then max(``MATRIX_TREE_ROWS``, n^0.8):
    a per-tree sample that grows, but more slowly than n, as consistency of a
    subsampled forest asks.
    """
    if n_rows <= MATRIX_TREE_ROWS:
        return None
    return int(max(MATRIX_TREE_ROWS, n_rows ** 0.8))


def unpack_symmetric(entries, p):
    """(n, p(p+1)/2) upper-triangle entries (row-major, as np.triu_indices) to symmetric
    (n, p, p) matrices."""
    rows, cols = np.triu_indices(p)
    out = np.empty((entries.shape[0], p, p))
    out[:, rows, cols] = entries
    out[:, cols, rows] = entries
    return out


def treatment_support(treatment_law, T_train, rng, sample_weight=None):
    """Support points and probabilities of the treatment law for regime A.

    Parameters
    ----------
    treatment_law : None, "empirical", array-like or (values, probabilities)
        None / "empirical": the training rows' treatments, enumerated exactly
        when they take at most 256 distinct values, else 256 resampled rows.
        A given law must give positive probability to every value in ``T_train``.
    T_train : ndarray (n, p)
    rng : numpy RandomState
    sample_weight : ndarray (n,) or None
        Weights of the training rows: the empirical law is the weighted one.

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
        values, inverse = np.unique(T_train, axis=0, return_inverse=True)
        weights = np.ones(T_train.shape[0]) if sample_weight is None else sample_weight
        if len(values) <= MAX_LAW_POINTS:
            mass = np.bincount(inverse.ravel(), weights=weights, minlength=len(values))
            return values, mass / mass.sum()
        pick = rng.choice(T_train.shape[0], size=MAX_LAW_POINTS, replace=False,
                          p=None if sample_weight is None else weights / weights.sum())
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


