"""Monte Carlo study of every θ component's average on the family catalogue's designs.

The catalogue study (``coverage_families.py``) judges E[β] and the AME. Users also read
E[α] and the average of the shape, dispersion or scale component (log κ, log ν, log k,
log σ, log φ, logit π). Same designs, seeds, n and default settings; after each fit,
``est.inference(theta_names_)`` gives every component's average. The truth of E[θ_k(X)]
is the mean of the true θ_k over 400,000 simulated rows.

Writes benchmarks/results/coverage_components/coverage_components.{md,json}.

Usage: python benchmarks/coverage_components.py [--reps 100] [--n 2000] [--jobs 2]
       [--only negbin,gamma]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table  # noqa: E402
from coverage_families import ESTIMATORS, record_family, run_replications  # noqa: E402

from sklearn_dml.datasets import make_family_data  # noqa: E402

FAMILIES = ("negbin", "gamma", "weibull", "tobit", "heteroskedastic", "beta", "zip")
COLUMNS = ["family", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "cpu_s"]


def component_truth(name):
    """E[θ_k(X)] for each component, from 400,000 simulated rows."""
    return make_family_data(name, 400_000, random_state=12345).theta.mean(axis=0)


def _replication(name, n, truth, seed):
    data = make_family_data(name, n, random_state=seed)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = ESTIMATORS[name](cv=5, random_state=seed).fit(data.X, data.T, data.Y)
            res = est.inference(list(est.theta_names_))
    except Exception as exc:  # a crash is a failed replication, recorded with its message
        return None, {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    return {"seed": seed, "names": res.names, "estimate": res.estimate,
            "stderr": res.stderr, "truth": truth[:len(res.names)],
            "cpu": time.process_time() - t0}, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", default=None)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_components"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "coverage_components.json")
    store = {"rows": [], "raw": {}, "failed": {}, "wall_s": {}}
    if os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    for name in (FAMILIES if args.only is None else args.only.split(",")):
        truth = component_truth(name)
        t0 = time.time()
        results, failed = run_replications(functools.partial(_replication, name, args.n, truth),
                                           args.reps, args.seed0, args.jobs)
        record_family(store, name, results, failed, time.time() - t0)
        store["meta"] = (f"n={args.n}, K=5, default settings, R={args.reps} per family (seeds "
                         f"from {args.seed0}); {args.jobs} process(es) of one thread; "
                         f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        with open(path, "w") as f:
            json.dump(store, f, indent=1)
        with open(os.path.splitext(path)[0] + ".md", "w") as f:
            f.write(f"Every component's average on the catalogue designs ({store['meta']})\n\n"
                    + markdown_table(store["rows"], COLUMNS) + "\n")


if __name__ == "__main__":
    main()
