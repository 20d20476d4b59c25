"""ate_table across libraries (other libraries optional)."""

import numpy as np
import pytest

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml.compare import ate_table
from sklearn_dml.datasets import make_linear_confounded

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def fitted():
    d = make_linear_confounded(500, random_state=0)
    est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=10, cv=2, random_state=0)
    return d, est.fit(d.X, d.T, d.Y)


def test_ate_table_for_our_estimators(fitted):
    d, est = fitted
    table = ate_table({"ours": est}, T0=0, T1=2)
    row = table.loc["ours"]
    assert row.point_estimate == pytest.approx(est.ate(T0=0, T1=2))
    assert row.ci_lower < row.point_estimate < row.ci_upper
    assert "influence-function" in row.note


def test_ate_table_rejects_unknown_objects(fitted):
    with pytest.raises(TypeError, match="understands"):
        ate_table({"x": object()})


def test_ate_table_with_econml_and_doubleml(fitted):
    econml_dml = pytest.importorskip("econml.dml")
    dml = pytest.importorskip("doubleml")
    from sklearn.linear_model import LinearRegression

    d, est = fitted
    lin = econml_dml.LinearDML(model_y=LinearRegression(), model_t=LinearRegression(),
                               random_state=0).fit(d.Y, d.T, X=d.X)
    plr = dml.DoubleMLPLR(dml.DoubleMLData.from_arrays(d.X, d.Y, d.T), LinearRegression(),
                          LinearRegression()).fit()
    table = ate_table({"ours": est, "econml": lin, "doubleml": plr}, X=d.X)
    assert list(table.library) == ["sklearn_dml", "econml", "doubleml"]
    assert np.all(table.ci_lower < table.ci_upper)
