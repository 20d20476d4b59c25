"""Size-aware training defaults: what "auto" resolves to, and that it matters at large n."""

import numpy as np
import pytest

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._sizing import auto_weight_decay
from sklearn_dml.datasets import make_linear_confounded, make_logit


def test_auto_weight_decay_rule():
    assert auto_weight_decay(100) == auto_weight_decay(2000) == pytest.approx(1e-2)
    assert auto_weight_decay(20000) == pytest.approx(1e-3)
    assert auto_weight_decay(200000) == pytest.approx(1e-4)


def test_resolved_weight_decay_is_reported():
    data = make_linear_confounded(600, random_state=0)
    est = StructuralDMLRegressor(max_epochs=3, random_state=0).fit(data.X, data.T, data.Y)
    assert est.weight_decay_ == pytest.approx(1e-2)
    assert est.summary().diagnostics["weight_decay"] == pytest.approx(1e-2)
    fixed = StructuralDMLRegressor(max_epochs=3, weight_decay=0.0, random_state=0)
    assert fixed.fit(data.X, data.T, data.Y).weight_decay_ == 0.0


def test_auto_penalty_lowers_theta_error_at_large_n():
    # a penalty that does not fall with n holds θ̂ at a smoothing bias: at 12,000 rows the
    # resolved one (1.7e-3) must fit θ(x) clearly better than the fixed 1e-2
    data = make_logit(12000, random_state=5)
    errors = {}
    for decay in ("auto", 1e-2):
        est = LogitDML(weight_decay=decay, cv=3, random_state=0).fit(data.X, data.T, data.Y)
        errors[decay] = np.sqrt(np.mean((est.theta_ - data.theta) ** 2))
    assert errors["auto"] < 0.8 * errors[1e-2], errors
