"""Stop a scikit-learn search before it trains candidates that can only score NaN.

``GridSearchCV``, ``cross_validate`` and friends catch every scoring error, set that
score to NaN and carry on: with metadata routing off, ``search.fit(X, T, Y=Y)`` slices
``Y`` into ``fit`` but never into ``score``, every candidate scores NaN, the first one
"wins" and a refit model comes back. A built-in scorer such as ``"r2"`` compares
``predict(X)`` (θ̂, one column per parameter) with ``T`` and fails the same way. Neither
failure reaches ``fit`` through its arguments, so :func:`check_search_scoring` looks for
scikit-learn's ``_fit_and_score`` frame on the call stack and reads its scorer and
score parameters. Raising from ``fit`` makes the search stop with this message ("All
the fits failed ...", or the error itself with ``error_score="raise"``).
"""

from __future__ import annotations

import sys

# how far up the stack _fit_and_score may sit above fit (joblib adds a few frames)
_MAX_DEPTH = 40

SEARCH_Y_MESSAGE = (
    "A scikit-learn search or cross-validation passed Y to fit but, with metadata routing "
    "off, it cannot pass Y to score: every candidate would score NaN and the first one would "
    "'win'. Pack T and Y into the target instead: search.fit(X, sklearn_dml.pack_targets(T, "
    "Y)) (works with routing off), or turn routing on with "
    "sklearn.set_config(enable_metadata_routing=True) and keep Y=Y."
)


def _search_frame():
    frame = sys._getframe(2)
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        if (frame.f_code.co_name == "_fit_and_score"
                and str(frame.f_globals.get("__name__", "")).startswith("sklearn.")):
            return frame
        frame = frame.f_back
    return None


def _scorers(scorer):
    """The single scorers inside ``scorer`` (a multimetric scorer holds several)."""
    inner = getattr(scorer, "_scorers", None)
    if isinstance(inner, dict):
        return list(inner.values())
    return [scorer]


def _metric_name(scorer):
    """The sklearn.metrics function a built-in scorer applies, or None."""
    func = getattr(scorer, "_score_func", None)
    module = str(getattr(func, "__module__", ""))
    if func is not None and module.startswith("sklearn.metrics"):
        return getattr(func, "__name__", repr(func))
    return None


def check_search_scoring(y_passed):
    """Raise, inside a scikit-learn search, when its scores cannot be computed.

    Parameters
    ----------
    y_passed : bool
        Whether ``fit`` received ``Y`` as its own argument (not packed into ``T``).
    """
    frame = _search_frame()
    if frame is None:
        return
    scorer = frame.f_locals.get("scorer")
    score_params = frame.f_locals.get("score_params") or {}
    for one in _scorers(scorer):
        name = _metric_name(one)
        if name is not None:
            raise ValueError(
                f"The scorer {name!r} cannot score a structural model: it compares "
                "predict(X), the fitted θ̂(x) with one column per parameter, with the target "
                "y (the treatment T, or packed T and Y), so every candidate would score NaN or "
                "nonsense. Use scoring=None, the estimator's own score (minus the held-out "
                "structural loss, greater is better), or a callable scorer(estimator, X, y) "
                "that calls estimator.score(X, y).")
        passthrough = type(one).__name__ == "_PassthroughScorer"
        if passthrough and y_passed and "Y" not in score_params:
            raise ValueError(SEARCH_Y_MESSAGE)
