"""Monte Carlo study of sample weights that depend on T or Y given X.

Survey weights often oversample the treated, and case-control (choice-based) samples keep
every rare outcome and a fraction of the others, weighting those back. The weighted law of
T given x then differs from the unweighted one, and so does the curvature Λ(x) the
correction divides by. Designs (X ~ N(0, I₅), θ(x) as in
:func:`~sklearn_dml.datasets.make_logit`, target the weighted mean of β(x)):

* ``linear-survey``, ``logit-survey``: T ~ Bernoulli(σ(0.8 x₁ − 0.5 x₃)),
  w = exp(0.3 x₁ + 0.4 T + 0.3 ε), a design effect of about 1.2.
* ``logit-continuous-survey``: T = 0.6 x₁ + N(0, 1) (regime C), w as above.
* ``logit-case-control``: a rare outcome (α(x) − 2.7, about 8% ones), binary T as above;
  every Y = 1 row of a population is kept and a quarter of the Y = 0 rows, weighted 4.
  The target is the population's E[β] = 0.6.
* ``linear-treated-x10``: the linear survey design with w = 10 for treated rows, 1 for
  the others: in the weighted population the untreated are a small minority at every x.
* ``linear-x-weights``: the linear survey design with w = exp(0.5 x₁ + 0.3 ε), weights
  that do not depend on T given x (Λ needs no weighting there, and should not suffer).

For a binary T each fit also reports the average over the treated,
``est.inference("beta", population="treated")``, whose truth is E[w T β(X)] / E[w T].

``--code`` labels the rows with the code they ran on (a stored row for another label is
kept with ``--append``); run it under ``PYTHONPATH=<an older checkout>`` to compare.

Usage: python benchmarks/coverage_weighted.py [--reps 200] [--n 5000] [--jobs 2]
       [--designs ...] [--code LABEL] [--append]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import functools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import finish_study, study_parser, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402

DESIGNS = ("linear-survey", "logit-survey", "logit-continuous-survey", "logit-case-control",
           "linear-treated-x10", "linear-x-weights")
COLUMNS = ["design", "code", "n", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "warned", "effective_n", "cpu_s"]
KEEP_ZEROS = 0.25  # the case-control design's sampling rate of Y = 0 rows


def theta_of(X):
    """make_logit's α(x) and β(x)."""
    return np.column_stack([-0.3 + 0.5 * X[:, 0] + 0.3 * np.sin(X[:, 1]),
                            0.8 + 0.4 * X[:, 1] - 0.2 * X[:, 0] ** 2])


def propensity(X):
    return 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.5 * X[:, 2])))


def draw(design, n, rng):
    """X, T, Y and the sample weights of ``n`` rows."""
    family = design.split("-")[0]
    X = rng.standard_normal((n, 5))
    theta = theta_of(X)
    if design == "logit-continuous-survey":
        T = 0.6 * X[:, 0] + rng.standard_normal(n)
    else:
        T = rng.binomial(1, propensity(X)).astype(float)
    if design == "logit-case-control":
        theta[:, 0] -= 2.7
    eta = theta[:, 0] + theta[:, 1] * T
    if family == "linear":
        Y = eta + rng.standard_normal(n)
    else:
        Y = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    if design == "linear-treated-x10":
        w = np.where(T == 1, 10.0, 1.0)
    elif design == "logit-case-control":
        w = np.where(Y == 1, 1.0, 1 / KEEP_ZEROS)
    elif design == "linear-x-weights":
        w = np.exp(0.5 * X[:, 0] + 0.3 * rng.standard_normal(n))
    else:
        w = np.exp(0.3 * X[:, 0] + 0.4 * T + 0.3 * rng.standard_normal(n))
    return X, T, Y, w, theta


@functools.cache
def truth(design):
    """The weighted population mean of β(x), E[w β(X)] / E[w], and for a binary T its mean
    over the treated, E[w T β(X)] / E[w T], on 2,000,000 draws (of the population before
    sampling, for the case-control design, whose weights undo the sampling)."""
    X, T, Y, w, theta = draw(design, 2_000_000, np.random.default_rng(12345))
    if design == "logit-case-control":
        w = np.ones_like(w)
    values = [float(np.sum(w * theta[:, 1]) / np.sum(w))]
    if design != "logit-continuous-survey":
        values.append(float(np.sum(w * T * theta[:, 1]) / np.sum(w * T)))
    return tuple(values)


def simulate(design, n, seed):
    rng = np.random.default_rng(seed)
    if design != "logit-case-control":
        return draw(design, n, rng)[:4]
    parts, kept = [], 0
    while kept < n:  # a population large enough, then the case-control sample of n rows
        X, T, Y, w, _ = draw(design, 4 * n, rng)
        keep = (Y == 1) | (rng.uniform(size=Y.size) < KEEP_ZEROS)
        parts.append((X[keep], T[keep], Y[keep], w[keep]))
        kept += int(keep.sum())
    X, T, Y, w = (np.concatenate(p)[:n] for p in zip(*parts))
    return X, T, Y, w


def replication(design, n, seed):
    X, T, Y, w = simulate(design, n, seed)
    family = design.split("-")[0]
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = sd.StructuralDML(family=family, target="beta", random_state=seed).fit(
            X, T, Y, sample_weight=w)
        results = [est.inference_]
        if len(truth(design)) > 1:  # the average effect on the treated
            results.append(est.inference("beta", population="treated"))
    return {"names": ["E[beta]", "E[beta] | T=1"][:len(results)],
            "truth": np.array(truth(design)),
            "estimate": np.concatenate([r.estimate for r in results]),
            "stderr": np.concatenate([r.stderr for r in results]),
            "warned": bool(caught), "cpu": time.process_time() - t0,
            "effective_n": float(est.effective_n_)}


def main():
    ap = study_parser("coverage_weighted", DESIGNS)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--code", default="current",
                    help="label of the code the rows ran on (e.g. a commit)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    print(f"sklearn_dml from {os.path.dirname(sd.__file__)}", flush=True)
    import coverage_weighted as this  # the workers import it by name
    rows, t_start = [], time.time()
    for design in args.designs.split(","):
        this.truth(design)
        results = Parallel(n_jobs=args.jobs)(
            delayed(this.replication)(design, args.n, seed) for seed in range(args.reps))
        for row in summarize(results):
            rows.append({"design": design, "code": args.code, "n": args.n, **row,
                         "warned": float(np.mean([r["warned"] for r in results])),
                         "effective_n": float(np.mean([r["effective_n"] for r in results]))})
            print(rows[-1], flush=True)
    finish_study(args, "coverage_weighted", "sample weights that depend on T or Y",
                 f"{args.designs} at n = {args.n} on code {args.code}", rows, COLUMNS,
                 key=lambda r: (r["design"], r["code"], r["n"], r["target"]), t_start=t_start)


if __name__ == "__main__":
    main()
