"""Rows whose outcome never varies: what they do to an average of θ(x), and the check.

Logit with index α(x) + β(x)·T, α(x) = 0.3·x₀, β(x) = 1 + 0.3·tanh(x₁) (E[β] = 1),
T = 0.5·x₀ + N(0, 1), x ~ N(0, I), n = 3000, default settings. Designs:
``logit-clean``; ``logit-dead-level``: a dummy x₂ (15% of rows) lowers α by 12, so Y is
0 on every row of its level (no event there: a subgroup that cannot have the outcome);
``logit-dead-level-5``: the same on 5% of rows; ``logit-dead-tail``: α falls by 12 above
the 85th percentile of x₀ (an eligibility cut-off on a continuous covariate);
``poisson-dead-level``: a Poisson with log-rate 0.3·x₀ + (0.5 + 0.15·tanh(x₁))·T
(E[β] = 0.5) and 12 less on a 15% level, so every count there is 0. 'where' rows are
``est.inference(where=~est.lambda_regularized_)``, whose truth is E[β] over the rows kept
(β does not depend on the level or on x₀, so it is the same). 'warned_constant' is the
share of fits that warned of rows whose outcome never varies; 'unreliable' of fits with
any warning that calls the interval unreliable.

Usage: python benchmarks/constant_outcome.py [--reps 100] [--jobs 2]
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

sys.path.insert(0, os.path.dirname(__file__))
from _mc import parse_study, replicate_designs, summarize, write_study  # noqa: E402

import sklearn_dml as sd  # noqa: E402

DESIGNS = ("logit-clean", "logit-dead-level", "logit-dead-level-5", "logit-dead-tail",
           "poisson-dead-level")
COLUMNS = ["design", "average", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "R", "share_flagged", "warned_constant", "unreliable"]
N, DEAD = 3000, 12.0


def simulate(design, seed):
    """X, T, Y, the truth E[β] and the rows of the dead group of one sample."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 3))
    share = 0.05 if design.endswith("-5") else 0.15
    if design.endswith("tail"):
        dead = X[:, 0] > 1.0364  # the standard normal's 85th percentile
    else:
        dead = rng.random(N) < share
        X[:, 2] = dead
    T = 0.5 * X[:, 0] + rng.standard_normal(N)
    if design.startswith("poisson"):
        eta = 0.3 * X[:, 0] + (0.5 + 0.15 * np.tanh(X[:, 1])) * T - DEAD * dead
        return X, T, rng.poisson(np.exp(eta)).astype(float), 0.5
    eta = 0.3 * X[:, 0] + (1 + 0.3 * np.tanh(X[:, 1])) * T
    eta = eta - DEAD * dead if "dead" in design else eta
    return X, T, (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(float), 1.0


def replication(design, seed):
    torch.set_num_threads(1)
    X, T, Y, truth = simulate(design, seed)
    estimator = (sd.PoissonDML if design.startswith("poisson") else sd.LogitDML)(
        target="beta", random_state=seed)
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, T, Y)
    messages = [str(w.message) for w in caught]
    kept = estimator.inference(where=~estimator.lambda_regularized_)
    record = {"names": ["E[beta]"], "truth": np.array([truth]),
              "cpu": time.process_time() - t0}
    return ({**record, "estimate": estimator.inference_.estimate,
             "stderr": estimator.inference_.stderr},
            {**record, "estimate": kept.estimate, "stderr": kept.stderr},
            {"warned": any("outcome never varies" in m for m in messages),
             "unreliable": any("unreliable" in m for m in messages),
             "share": estimator.inference_.diagnostics.get("share_constant_outcome", 0.0)})


def main():
    args, rows, t_start = parse_study("constant_outcome", DESIGNS, 100), [], time.time()
    runs = replicate_designs("constant_outcome", args.designs.split(","), args.reps, args.jobs)
    for design, results in runs.items():
        facts = {"share_flagged": float(np.mean([r[2]["share"] for r in results])),
                 "warned_constant": float(np.mean([r[2]["warned"] for r in results])),
                 "unreliable": float(np.mean([r[2]["unreliable"] for r in results]))}
        for average, k in (("all rows", 0), ("where", 1)):
            rows.append({"design": design, "average": average,
                         **summarize([r[k] for r in results])[0], **facts})
            print(rows[-1], flush=True)
    meta = (f"n = {N}, default settings, R = {args.reps} (seeds 0-{args.reps - 1}); "
            f"wall {time.time() - t_start:.0f} s")
    write_study(args.out, "constant_outcome", "outcome constant on a group of rows", meta,
                rows, COLUMNS)
    print(open(os.path.join(args.out, "constant_outcome.md")).read())


if __name__ == "__main__":
    main()
