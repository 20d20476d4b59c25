"""joblib backends: the same random_state gives the same result on any backend."""

import numpy as np
import pytest
from joblib import parallel_config

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded

KW = dict(hidden_dims=(8,), max_epochs=8, cv=4, random_state=3)


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(400, random_state=1)


@pytest.fixture(scope="module")
def reference(data):
    return StructuralDMLRegressor(n_jobs=1, **KW).fit(data.X, data.T, data.Y)


def test_threading_backend_matches_sequential(data, reference):
    with parallel_config(backend="threading", n_jobs=2):
        est = StructuralDMLRegressor(n_jobs=2, **KW).fit(data.X, data.T, data.Y)
    np.testing.assert_allclose(est.theta_, reference.theta_, atol=1e-5)
    np.testing.assert_allclose(est.inference_.estimate, reference.inference_.estimate, atol=1e-6)


def test_dask_backend_matches_sequential(data, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with parallel_config(backend="dask"):
            est = StructuralDMLRegressor(n_jobs=2, **KW).fit(data.X, data.T, data.Y)
        workers = client.run(lambda: 1)
    assert len(workers) == 2
    np.testing.assert_allclose(est.theta_, reference.theta_, atol=1e-5)
    np.testing.assert_allclose(est.inference_.estimate, reference.inference_.estimate, atol=1e-6)
