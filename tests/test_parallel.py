"""joblib backends: the same random_state gives the same result on any backend."""

import os

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded, make_logit

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


def _openmp_threads_here():
    from threadpoolctl import ThreadpoolController

    libs = ThreadpoolController().select(user_api="openmp").lib_controllers
    return [lib.num_threads for lib in libs]


@pytest.mark.parametrize("n_threads, n_items, per_thread", [(4, 2, 2), (6, 3, 2), (2, 5, 1)])
def test_map_folds_gives_each_thread_its_share_of_openmp(n_threads, n_items, per_thread):
    from sklearn_dml._parallel import map_folds

    if not _openmp_threads_here():
        pytest.skip("no OpenMP runtime loaded")
    before = _openmp_threads_here()
    seen = map_folds(lambda i: (i, _openmp_threads_here()), range(n_items), n_threads)
    assert [i for i, _ in seen] == list(range(n_items))  # in order
    assert all(threads == [per_thread] * len(threads) for _, threads in seen)
    assert _openmp_threads_here() == before  # the calling thread's setting is untouched


def _lambda_stage_data(name, n):
    if name == "linear":
        return StructuralDMLRegressor, make_linear_confounded(n, random_state=2)
    if name == "logit":
        return LogitDML, make_logit(n, random_state=2)
    from sklearn_dml import HeteroskedasticDML, TobitDML
    from sklearn_dml.datasets import make_family_data

    estimator = {"heteroskedastic": HeteroskedasticDML, "tobit": TobitDML}[name]
    return estimator, make_family_data(name, n, random_state=2)


@pytest.mark.parametrize("name", ["linear", "logit", "heteroskedastic", "tobit"])
def test_concurrent_lambda_stage_matches_sequential(monkeypatch, name):
    """The folds' Λ fits side by side, in threads or in worker processes, give the numbers
    they give one by one: linear (Λ 'analytic', an index family), logit ('regression', with
    the auxiliary networks' θ at the Hessian rows), heteroskedastic ('conditional', the law
    of T given X), tobit ('regression', Hessian matrices regressed entry by entry)."""
    import sklearn_dml._crossfit as crossfit

    estimator, data = _lambda_stage_data(name, 1500)
    kw = dict(hidden_dims=(8,), max_epochs=2, cv=3, random_state=0)
    real_map_folds = crossfit.map_folds
    seen, fits = [], {}
    for n_threads, processes in ((1, False), (2, False), (2, True)):
        def forced(f, items, _, processes=False, n=n_threads):
            items = list(items)
            shared = isinstance(f.keywords["data"].X, np.memmap)  # sent by file name
            seen.append(([type(fold).__name__ for fold in items], processes, shared))
            return real_map_folds(f, items, n, processes=processes)

        monkeypatch.setattr(crossfit, "map_folds", forced)
        monkeypatch.setattr(crossfit, "lambda_in_processes", lambda *_, p=processes: p)
        fits[n_threads, processes] = estimator(**kw).fit(data.X, data.T, data.Y)
    assert seen == [(["FoldNetworks"] * 3, p, p) for p in (False, False, True)]
    assert fits[1, False].lambda_method_ == {"linear": "analytic", "heteroskedastic":
                                             "conditional"}.get(name, "regression")
    for mode in ((2, False), (2, True)):
        for attr in ("estimate", "stderr"):
            np.testing.assert_array_equal(getattr(fits[mode].inference_, attr),
                                          getattr(fits[1, False].inference_, attr))


def test_lambda_stage_uses_processes_for_large_data_at_the_top_level_only(monkeypatch):
    import sklearn_dml._parallel as parallel

    monkeypatch.setattr(parallel, "LAMBDA_PROCESSES_MIN_ROWS", 1000)
    monkeypatch.setattr(parallel, "LAMBDA_PROCESSES_MIN_CONCURRENT", 3)
    rule = parallel.lambda_in_processes
    assert rule(1000, 5, 16) and rule(10**6, 3, 3)
    assert not rule(999, 5, 16)  # too little data to pay for the processes' start
    assert not rule(10**6, 5, 2) and not rule(10**6, 2, 16)  # too few fits at once
    with parallel_config(backend="loky", n_jobs=2):
        nested = Parallel()(delayed(rule)(10**6, 5, 16) for _ in range(2))
    assert nested == [False, False]  # inside a joblib worker: threads, as before
    for backend in ("threading", "sequential"):  # the user keeps the fit in one process
        with parallel_config(backend=backend):
            assert not rule(10**6, 5, 16)


def _exit_worker(item):
    os._exit(1)  # as the system's out-of-memory killer would end it


def test_a_killed_lambda_worker_gives_an_error_that_says_what_to_do():
    from sklearn_dml._parallel import map_folds

    with pytest.raises(RuntimeError, match=r"(?s)worker processes stopped.*backend='threading'"):
        map_folds(_exit_worker, range(2), 2, processes=True)


def test_memory_mapped_arrays_are_read_only_copies_removed_afterwards():
    from sklearn_dml._parallel import memory_mapped

    a, b = np.arange(12.0).reshape(3, 4), np.ones(5, dtype=np.float32)
    with memory_mapped(a, b) as (a_map, b_map):
        assert isinstance(a_map, np.memmap) and not a_map.flags.writeable
        np.testing.assert_array_equal(a_map, a)
        np.testing.assert_array_equal(b_map, b)
        assert b_map.dtype == np.float32
        folder = os.path.dirname(a_map.filename)
    assert not os.path.exists(folder)
    with memory_mapped(a, b, enabled=False) as same:
        assert same[0] is a and same[1] is b


def test_shared_memory_is_used_only_with_room_to_spare(tmp_path):
    from sklearn_dml._parallel import shared_memory_dir

    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    assert shared_memory_dir(free // 4, shm=str(tmp_path)) == str(tmp_path)
    assert shared_memory_dir(free, shm=str(tmp_path)) is None  # e.g. a container's 64 MB
    assert shared_memory_dir(1, shm=str(tmp_path / "missing")) is None


def test_projection_fits_side_by_side_match_one_after_another():
    """E[H_θ | X] (the AME's projection): its (column, fold) fits in threads give the
    numbers they give one by one; a constant column passes through unfitted."""
    from sklearn_dml._lambda import project_crossfitted
    from sklearn_dml._parallel import map_folds

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 3))
    J = np.column_stack([np.sin(X[:, 0]) + 0.1 * rng.normal(size=900), np.full(900, 2.5),
                         X[:, 1] ** 2])
    fold_id = np.arange(900) % 3
    calls = []

    def in_threads(fit, tasks):
        calls.append(list(tasks))
        return map_folds(fit, tasks, 2)

    alone = project_crossfitted(J, X, fold_id, None)
    side_by_side = project_crossfitted(J, X, fold_id, None, map_fits=in_threads)
    assert calls == [[(j, k) for j in (0, 2) for k in range(3)]]
    np.testing.assert_array_equal(side_by_side, alone)
    np.testing.assert_array_equal(alone[:, 1], 2.5)
    assert np.corrcoef(alone[:, 0], np.sin(X[:, 0]))[0, 1] > 0.9
