"""Training defaults that depend on the size of the data."""

from __future__ import annotations

# the penalty that suits a few thousand rows, and the row count it is anchored at
_REFERENCE_ROWS = 2000
_REFERENCE_WEIGHT_DECAY = 1e-2
_WEIGHT_DECAY_EXPONENT = 1.0


def auto_weight_decay(n_rows):
    """The L2 penalty ``weight_decay="auto"`` resolves to for a fit on ``n_rows`` rows.

    ``1e-2`` up to 2,000 rows, then ``1e-2 · 2000 / n_rows``: the penalty is relative to
    the mean loss, so a fixed one holds θ̂(x) at a fixed smoothing bias while the
    standard error shrinks; falling as 1/n it acts like a fixed prior on the weights.

    Parameters
    ----------
    n_rows : int
        Rows of the fit (all folds together).

    Returns
    -------
    float
    """
    ratio = min(1.0, _REFERENCE_ROWS / max(int(n_rows), 1))
    return _REFERENCE_WEIGHT_DECAY * ratio ** _WEIGHT_DECAY_EXPONENT


def resolve_weight_decay(weight_decay, n_rows):
    """A number: ``weight_decay`` itself, or what "auto" gives for ``n_rows`` rows."""
    if isinstance(weight_decay, str) and weight_decay == "auto":
        return auto_weight_decay(n_rows)
    return float(weight_decay)
