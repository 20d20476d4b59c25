"""scikit-learn's estimator checks, through an adapter that maps fit(X, y) to fit(X, T, Y).

The checks know only ``fit(X, y)``. The adapter feeds ``y`` as the treatment and a
deterministic outcome built from it. Checks that cannot apply are listed with the
reason in ``EXPECTED_FAILED`` (and in doc/sklearn_compatibility.rst).
"""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_dml import StructuralDMLRegressor


class _CheckAdapter(StructuralDMLRegressor):
    """Test-only: fit(X, y) -> fit(X, T=y, Y=0.5 y + 0.1 cos(row)). X is left untouched so
    that the estimator's own validation meets whatever the checks feed in."""

    def _outcome(self, X, y):
        if y is None:
            return None
        y = np.asarray(y, dtype=float)
        return 0.5 * y + 0.1 * np.cos(np.arange(y.shape[0]))

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, y, self._outcome(X, y), sample_weight=sample_weight)

    def score(self, X, y, sample_weight=None):
        return super().score(X, y, self._outcome(X, y), sample_weight=sample_weight)


EXPECTED_FAILED = {
    # Training is stochastic (mini-batch Adam with early stopping on a random validation
    # split), so weight 2 is not exactly equivalent to repeating a row at 1e-7 tolerance.
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch SGD: weights are not bit-equivalent to repetition",
    # Y is built from y inside the adapter; a 2-D y becomes a vector treatment, which the
    # estimator accepts by design instead of warning about a column vector.
    # These two checks' X has a column that is an affine copy of y, which the adapter
    # passes as the treatment: a covariate that copies T is refused (T would not vary
    # given x), before the sample weights are looked at.
    "check_sample_weights_shape": "X's second column copies y, the adapter's treatment",
    "check_sample_weights_not_overwritten":
        "X's second column copies y, the adapter's treatment",
}


@parametrize_with_checks(
    [_CheckAdapter(hidden_dims=(4,), max_epochs=3, cv=2, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
