"""Monte Carlo study of the average effect on the treated (``population="treated"``).

The job-training design of :func:`sklearn_dml.datasets.make_job_training`, shaped like
LaLonde's NSW-PSID comparison: n = 2675 rows of which about 8% are treated, strong
selection (a third of the rows have a propensity below 1%), earnings in dollars. Two
outcomes: ``earnings`` (``StructuralDMLRegressor``, target E[beta]) and ``employment``
(``LogitDML``, target the effect of moving T from 0 to 1).

Each fit reports the target over all rows (the ATE), over the treated
(``population="treated"``, the ATT) and over the treated rows by a mask
(``where=T == 1``). Truths are the dataset's population values. The design
``earnings-doubleml`` fits DoubleML's interactive regression model (``DoubleMLIRM``, the
ATE and ATTE scores) to the same samples, for comparison (``--append`` keeps the stored
rows of the other designs).

Usage: python benchmarks/coverage_population.py [--reps 200] [--designs earnings,employment]
       [--jobs 2] [--append]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import finish_study, study_parser, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_job_training  # noqa: E402

N = 2675
COLUMNS = ["design", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "unreliable", "cpu_s"]


def doubleml_replication(seed):
    """DoubleML's interactive regression model on the earnings design: the ATE and the ATTE
    scores, gradient-boosting learners, five folds, its default trimming at 0.01."""
    import doubleml
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    data = make_job_training(outcome="earnings", random_state=seed)
    frame = pd.DataFrame(data.X, columns=data.feature_names).assign(y=data.Y, d=data.T)
    dml_data = doubleml.DoubleMLData(frame, "y", "d", data.feature_names)
    out = {}
    for kind, score in [("all", "ATE"), ("treated", "ATTE")]:
        t0 = time.process_time()
        model = doubleml.DoubleMLIRM(
            dml_data, HistGradientBoostingRegressor(random_state=seed),
            HistGradientBoostingClassifier(random_state=seed), score=score, n_folds=5)
        np.random.seed(seed)  # DoubleML draws its folds from numpy's global generator
        model.fit()
        out[kind] = {"estimate": np.ravel(model.coef), "stderr": np.ravel(model.se),
                     "warned": None, "cpu": time.process_time() - t0}
    return out


def replication(design, seed):
    if design == "earnings-doubleml":
        return doubleml_replication(seed)
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
    ap = study_parser("coverage_population", ("earnings", "employment"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    import coverage_population as this  # the workers import it by name, not as __main__
    rows, t_start = [], time.time()
    designs = args.designs.split(",")
    for design in designs:
        truth = make_job_training(outcome=design.split("-")[0], random_state=0).truth
        ate, att = truth["ATE"], truth["ATT"]
        reps = Parallel(n_jobs=args.jobs)(delayed(this.replication)(design, seed)
                                          for seed in range(args.reps))
        kinds = [("all", ate), ("treated", att), ("treated rows (where=T == 1)", att)]
        for kind, truth in kinds[:len(reps[0])]:
            results = [{"names": [f"{design}: {kind}"], "truth": np.array([truth]),
                        **r[kind]} for r in reps]
            row = summarize(results)[0]
            rows.append({"design": design, **row, "target": kind,
                         "unreliable": (None if design.endswith("doubleml") else
                                        float(np.mean([r["warned"] for r in results])))})
    finish_study(args, "coverage_population", "average effect on the treated",
                 f"{', '.join(designs)}: n = {N}, default settings", rows,
                 COLUMNS, key=lambda r: r["design"], t_start=t_start)


if __name__ == "__main__":
    main()
