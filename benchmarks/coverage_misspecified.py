"""Monte Carlo study: the family catalogue on data the family does not describe.

Real outcomes never follow the model exactly. Here each family's estimator meets an
outcome drawn from another law (skewed and heteroskedastic noise, a mixture, zero
inflation, a log-normal), with θ(x) heterogeneous through a covariate in four groups,
a noise covariate, and a treatment confounded by the group. The estimand is the
pseudo-true E[θ*(X)]: θ*(g) minimizes the family's expected loss within group g
(computed once, by BFGS on 200,000 rows per group). Default settings, K = 5, n = 2000;
every component of θ is reported, E[beta] is judged against the family band.

Writes ``benchmarks/results/coverage_misspecified/coverage_misspecified.{md,json}`` after
each family (``--resume`` continues an interrupted run).

Usage: python benchmarks/coverage_misspecified.py [--reps 100] [--only tobit,negbin]
       [--jobs 1] [--render]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import optimize, special  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import guarded_replicate  # noqa: E402
from coverage_families import (  # noqa: E402
    ESTIMATORS,
    _write_markdown,
    record_family,
    run_replications,
)

#: the law each family's outcome is drawn from instead of its own
LAWS = {"probit": "logistic mixture", "gumbel": "logistic mixture",
        "tobit": "censored skewed heteroskedastic", "negbin": "zero-inflated Poisson",
        "zip": "negative binomial", "weibull": "log-normal", "gamma": "log-normal",
        "beta": "logit-normal with a uniform mixture"}
N_TRUTH = 200_000  # rows per group for the pseudo-true θ*(g)


def simulate(name, n, rng):
    """Group g, covariates X = (g, noise), treatment T and an outcome the family's law
    does not describe."""
    g = rng.randint(0, 4, n)
    X = np.column_stack([g.astype(float), rng.standard_normal(n)])
    t = 0.4 * (g - 1.5) + rng.standard_normal(n)
    law = LAWS[name]
    if law == "logistic mixture":
        p = 0.1 + 0.8 * special.expit((1 + 0.3 * g) * t - 0.5 + 0.2 * g)
        y = rng.binomial(1, p).astype(float)
    elif law.startswith("censored"):
        noise = (0.4 + 0.6 * np.abs(t)) * (rng.exponential(1.0, n) - 1.0)
        y = np.maximum(-0.3 + 0.2 * g + (0.4 + 0.2 * g) * t + noise, 0.0)
    elif law == "zero-inflated Poisson":
        mu = np.exp(0.3 + 0.1 * g + (0.2 + 0.1 * g) * t)
        y = np.where(rng.uniform(size=n) < 0.3, 0, rng.poisson(mu)).astype(float)
    elif law == "negative binomial":
        mu = np.exp(0.2 + 0.1 * g + (0.2 + 0.1 * g) * t)
        y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu)).astype(float)
    elif law == "log-normal":
        y = np.exp(0.2 + 0.1 * g + (0.3 + 0.1 * g) * t + 0.7 * rng.standard_normal(n))
    else:
        share = special.expit((0.5 + 0.2 * g) * t + rng.standard_normal(n))
        y = np.clip(np.where(rng.uniform(size=n) < 0.3, rng.uniform(size=n), share),
                    1e-3, 1 - 1e-3)
    return g, X, t[:, None], y


def pseudo_truth(name, seed=12345):
    """E[θ*(g)] over the four (equally likely) groups, by name ``E[<component>]``."""
    g, X, T, Y = simulate(name, 4 * N_TRUTH, np.random.RandomState(seed))
    est = ESTIMATORS[name](max_epochs=1, cv=2, random_state=0).fit(X[:400], T[:400], Y[:400])
    family, d = est.family_, len(est.theta_names_)
    thetas = []
    for k in range(4):
        rows = g == k
        t, y = T[rows], Y[rows]

        def loss(th, t=t, y=y):
            return family.loss_numpy(y, t, np.tile(th, (y.size, 1))).mean()

        def grad(th, t=t, y=y):
            return family.gradient(y, t, np.tile(th, (y.size, 1))).mean(axis=0)

        fit = optimize.minimize(loss, np.zeros(d), jac=grad, method="BFGS",
                                options={"gtol": 1e-10})
        thetas.append(fit.x)
    return {f"E[{n}]": float(v) for n, v in zip(est.theta_names_, np.mean(thetas, axis=0))}


def _replication(name, n, seed, *, truth):
    def make_data(s):
        _, X, T, Y = simulate(name, n, np.random.RandomState(s))
        return SimpleNamespace(X=X, T=T, Y=Y, truth=truth)

    return guarded_replicate(
        make_data, lambda d, s: ESTIMATORS[name](cv=5, target=list(range(len(truth))),
                                                 random_state=s), seed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--only", default=None, help="comma-separated family names")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_misspecified"))
    ap.add_argument("--name", default="coverage_misspecified")
    ap.add_argument("--render", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.name}.json")
    if args.render:
        with open(path) as f:
            return _write_markdown(json.load(f), path)
    store = {"title": "family catalogue on misspecified outcomes", "rows": [], "raw": {},
             "failed": {}, "wall_s": {}, "truth": {}}
    if args.resume and os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    for name in (LAWS if args.only is None else args.only.split(",")):
        if name in store["raw"]:
            continue
        t0 = time.time()
        truth = store["truth"][name] = pseudo_truth(name)
        results, failed = run_replications(
            functools.partial(_replication, name, args.n, truth=truth), args.reps,
            n_jobs=args.jobs)
        record_family(store, name, results, failed, time.time() - t0)
        store["meta"] = (f"n={args.n}, K=5, R={args.reps} per family (seeds 0-"
                         f"{args.reps - 1}), default settings, Y from another law ("
                         + "; ".join(f"{k}: {LAWS[k]}" for k in store["raw"]) + "); "
                         f"{args.jobs} process(es) of one thread; wall "
                         f"{sum(store['wall_s'].values()):.0f} s")
        with open(path, "w") as f:
            json.dump(store, f, indent=1)
        _write_markdown(store, path)


if __name__ == "__main__":
    main()
