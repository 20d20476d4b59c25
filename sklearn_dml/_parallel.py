"""Threads and processes of the fold work: how many, and how folds run side by side.

Training runs one joblib task per fold group; the Λ stage's nuisance fits and the
post-fit projections run the folds of a group concurrently (:func:`map_folds`), in
Python threads or, for large data at the top level, in loky worker processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor

import numpy as np
import torch
from joblib import Parallel, cpu_count, delayed, parallel_config
from joblib.parallel import get_active_backend
from threadpoolctl import ThreadpoolController, threadpool_limits

# Rows (all of the data) from which the Λ stage's concurrent fold fits run in processes, and
# the fewest fits at once for which they do; see lambda_in_processes.
LAMBDA_PROCESSES_MIN_ROWS = 400_000
LAMBDA_PROCESSES_MIN_CONCURRENT = 3

# Rows per Λ nuisance fit from which its OpenMP/BLAS threads pay for themselves when the fold
# groups run one after another (smaller fits gain little wall time for much more CPU).
LAMBDA_THREADS_MIN_ROWS = 20_000


@contextlib.contextmanager
def limited_threads(n_threads):
    """Torch, OpenMP and BLAS limited to ``n_threads`` while the block runs."""
    previous = torch.get_num_threads()
    with threadpool_limits(limits=n_threads):
        torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def n_task_threads(torch_num_threads):
    """Torch/BLAS threads per training task: ``torch_num_threads``, or 1 under "auto"
    (in joblib workers and in the main process alike)."""
    if torch_num_threads != "auto":
        return int(torch_num_threads)
    return 1  # small θ-networks run fastest single-threaded


def n_lambda_threads(torch_num_threads, n_groups_at_once, n_rows):
    """OpenMP/BLAS threads for the Λ stage of one fold group.

    Nuisance fits on ``LAMBDA_THREADS_MIN_ROWS`` rows or more share the cores among the fold
    groups running at once; smaller ones run as training does (one thread under "auto").
    """
    if torch_num_threads != "auto" or n_rows < LAMBDA_THREADS_MIN_ROWS:
        return n_task_threads(torch_num_threads)
    return max(1, cpu_count(only_physical_cores=True) // n_groups_at_once)



def map_folds(function, items, n_threads, processes=False):
    """``[function(item) for item in items]`` on ``n_threads`` OpenMP/BLAS threads in all.

    With several threads and several folds, the folds run concurrently, each with an equal
    share of the OpenMP threads: in Python threads, or with ``processes=True`` in loky worker
    processes (``function`` must then pickle; see :func:`lambda_in_processes`): the Λ
    nuisance fits (small-tree gradient boosting) use many threads poorly, so folds side by
    side finish sooner than one after another on all cores. OpenMP's thread count is per
    calling thread, so each Python thread sets its own; the BLAS pools are process-wide
    and get the per-thread share for the whole section.
    """
    items = list(items)
    n_concurrent = min(len(items), n_threads)
    if n_concurrent <= 1:
        with threadpool_limits(limits=n_threads):
            return [function(item) for item in items]
    per_thread = max(1, n_threads // n_concurrent)
    if processes:
        try:
            with parallel_config(backend="loky", inner_max_num_threads=per_thread):
                return Parallel(n_jobs=n_concurrent)(delayed(function)(item) for item in items)
        except BrokenExecutor as exc:  # a worker killed (often for memory) or not started
            raise RuntimeError(
                f"The Λ stage's {n_concurrent} worker processes stopped ({exc}). If memory is "
                "short, or processes cannot be started here, fit inside `with joblib."
                "parallel_config(backend='threading'):` to run the folds in threads in this "
                "process.") from exc
    controller = ThreadpoolController()

    def run(item):
        with controller.limit(limits=per_thread, user_api="openmp"):
            return function(item)

    with controller.limit(limits=per_thread, user_api="blas"), \
            ThreadPoolExecutor(n_concurrent, thread_name_prefix="sklearn_dml-fold") as pool:
        return list(pool.map(run, items))


def lambda_in_processes(n_rows, n_folds, n_threads):
    """Whether the Λ stage's fold fits run in worker processes rather than Python threads.

    Processes pay for their start only on large data (the measurements are on the
    performance page): they are used from ``LAMBDA_PROCESSES_MIN_ROWS`` rows, with at
    least ``LAMBDA_PROCESSES_MIN_CONCURRENT`` fits at once; never inside a joblib worker,
    where nesting would oversubscribe, nor under
    ``joblib.parallel_config(backend="threading")`` (or "sequential"), the user's way to
    keep a fit in one process. loky keeps its workers for later fits.
    """
    n_concurrent = min(n_folds, n_threads)
    if n_rows < LAMBDA_PROCESSES_MIN_ROWS or n_concurrent < LAMBDA_PROCESSES_MIN_CONCURRENT:
        return False
    backend, _ = get_active_backend()
    return (getattr(backend, "nesting_level", 0) == 0
            and not getattr(backend, "supports_sharedmem", False))


@contextlib.contextmanager
def memory_mapped(*arrays, enabled=True):
    """The arrays as read-only memory maps in a temporary folder while the block runs.

    joblib sends a memory-mapped array to worker processes by file name; a plain one it
    hashes (about 0.2 s per 100 MB) for every task that carries it.
    """
    if not enabled:
        yield arrays
        return
    folder = tempfile.mkdtemp(prefix="sklearn_dml_",
                              dir=shared_memory_dir(sum(a.nbytes for a in arrays)))
    try:
        maps = []
        for i, array in enumerate(arrays):
            path = os.path.join(folder, f"{i}.npy")
            np.save(path, array)
            maps.append(np.load(path, mmap_mode="r"))
        yield tuple(maps)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shared_memory_dir(nbytes, shm="/dev/shm"):
    """``shm`` (memory, not disk) where it is writable and has twice ``nbytes`` free, else
    None, the system's temporary folder: containers often give /dev/shm 64 MB."""
    try:
        stats = os.statvfs(shm)
    except (OSError, AttributeError):  # no such folder; no statvfs on Windows
        return None
    free = stats.f_bavail * stats.f_frsize
    return shm if os.access(shm, os.W_OK) and free >= 2 * nbytes else None

