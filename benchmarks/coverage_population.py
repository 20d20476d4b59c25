"""Monte Carlo study of the average effect on the treated (``population="treated"``).

The job-training design of :func:`sklearn_dml.datasets.make_job_training`, shaped like
LaLonde's NSW-PSID comparison: n = 2675 rows of which about 8% are treated, strong
selection (a third of the rows have a propensity below 1%), earnings in dollars. Two
outcomes: ``earnings`` (``StructuralDMLRegressor``, target E[beta]) and ``employment``
(``LogitDML``, target the effect of moving T from 0 to 1).

Each fit reports the target over all rows (the ATE), over the treated
(``population="treated"``, the ATT) and over the treated rows by a mask
(``where=T == 1``). Truths are the dataset's population values.

Usage: python benchmarks/coverage_population.py [--reps 200] [--designs earnings,employment]
       [--jobs 2]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import summarize, write_study  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_job_training  # noqa: E402

N = 2675
COLUMNS = ["design", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "unreliable", "cpu_s"]


def replication(design, seed):
    data = make_job_training(outcome=design, random_state=seed)
    X, T, Y = data.X, data.T, data.Y
    est = (sd.StructuralDMLRegressor(target="beta", random_state=seed)
           if design == "earnings" else sd.LogitDML(target="ate", random_state=seed))
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, T, Y)
        target = est.targets_[0]
        results = {"all": est.inference_,
                   "treated": est.inference(target, population="treated"),
                   "treated rows (where=T == 1)": est.inference(target, where=T == 1)}
    unreliable = any("unreliable" in str(w.message) for w in caught)
    return {kind: {"estimate": r.estimate[:1], "stderr": r.stderr[:1], "warned": unreliable,
                   "cpu": time.process_time() - t0} for kind, r in results.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--designs", default="earnings,employment")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_population"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    import coverage_population as this  # the workers import it by name, not as __main__
    rows, t_start = [], time.time()
    for design in args.designs.split(","):
        truth = make_job_training(outcome=design, random_state=0).truth
        ate, att = truth["ATE"], truth["ATT"]
        reps = Parallel(n_jobs=args.jobs)(delayed(this.replication)(design, seed)
                                          for seed in range(args.reps))
        for kind, truth in [("all", ate), ("treated", att),
                            ("treated rows (where=T == 1)", att)]:
            results = [{"names": [f"{design}: {kind}"], "truth": np.array([truth]),
                        **r[kind]} for r in reps]
            row = summarize(results)[0]
            rows.append({"design": design, **row, "target": kind,
                         "unreliable": float(np.mean([r["warned"] for r in results]))})
    meta = (f"n = {N}, default settings, R = {args.reps} (seeds 0-{args.reps - 1}); "
            f"{platform.machine()}, {args.jobs} process(es) of one thread; "
            f"wall {time.time() - t_start:.0f} s")
    write_study(args.out, "coverage_population", "average effect on the treated", meta, rows,
                COLUMNS)
    print(open(os.path.join(args.out, "coverage_population.md")).read())


if __name__ == "__main__":
    main()
