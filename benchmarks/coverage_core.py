"""Monte Carlo study for the core estimators (issue 2 acceptance).

Designs at n=2000, K=5: linear with continuous confounded T, linear with binary
confounded T, logit with confounded T (regime C), logit with randomized T
(regime A). Reports bias, mean SE / SD, 95% coverage of E[beta] (and the AME
for logit). Writes benchmarks/results/coverage_core/coverage_core.{md,json}.

Usage: python benchmarks/coverage_core.py [--reps 200] [--n 2000] [--jobs 1] [--only NAME]
                                         [--set PARAM=VALUE ...] [--name NAME]

``--set solver=lbfgs`` (repeatable) sets an estimator parameter in every design; the
results then go to ``coverage_core_<param>-<value>...{md,json}`` unless ``--name`` says.
``--only`` takes comma-separated substrings of design names.

The JSON keeps every replication's estimates and standard errors (``raw``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table, run_study, summarize  # noqa: E402

from sklearn_dml import LogitDML, StructuralDMLRegressor  # noqa: E402
from sklearn_dml.datasets import make_linear_confounded, make_logit  # noqa: E402

COLUMNS = ["design", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "cpu_s"]


def designs(n):
    return {
        "linear, continuous confounded T": (
            lambda s: make_linear_confounded(n, treatment="continuous", random_state=s),
            lambda d, s: StructuralDMLRegressor(target="beta", cv=5, random_state=s)),
        "linear, binary confounded T": (
            lambda s: make_linear_confounded(n, treatment="binary", random_state=s),
            lambda d, s: StructuralDMLRegressor(target="beta", cv=5, random_state=s)),
        "logit, confounded T (regime C)": (
            lambda s: make_logit(n, treatment="continuous", random_state=s),
            lambda d, s: LogitDML(cv=5, random_state=s)),
        "logit, randomized T (regime A)": (
            lambda s: make_logit(n, treatment="randomized", random_state=s),
            lambda d, s: LogitDML(cv=5, treatment_law=d.treatment_law, random_state=s)),
    }


def _parse_setting(text):
    key, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"--set takes PARAM=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


class _with_params:
    """A design's estimator factory with parameters overridden (picklable for --jobs)."""

    def __init__(self, make_est, params):
        self.make_est, self.params = make_est, params

    def __call__(self, data, seed):
        return self.make_est(data, seed).set_params(**self.params)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", default=None,
                    help="comma-separated substrings of design names")
    ap.add_argument("--name", default=None, help="output file name, without extension")
    ap.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                    help="an estimator parameter for every design (a Python literal or a "
                         "string), e.g. solver=lbfgs")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_core"))
    args = ap.parse_args()
    overrides = dict(_parse_setting(text) for text in args.set)
    rows, raw = [], {}
    t0 = time.time()
    for name, (make_data, make_est) in designs(args.n).items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        if overrides:
            make_est = _with_params(make_est, overrides)
        res = run_study(make_data, make_est, args.reps, n_jobs=args.jobs)
        raw[name] = [{"seed": seed, "estimate": np.asarray(r["estimate"]).tolist(),
                      "stderr": np.asarray(r["stderr"]).tolist(),
                      "truth": np.asarray(r["truth"]).tolist()} for seed, r in enumerate(res)]
        for r in summarize(res):
            rows.append({"design": name, **r})
            print(json.dumps(rows[-1]), flush=True)
        _write(args, overrides, rows, raw, t0)  # after each design, so a long run keeps them
    print(markdown_table(rows, COLUMNS))


def _write(args, overrides, rows, raw, t0):
    os.makedirs(args.out, exist_ok=True)
    suffix = "" if args.only is None else "_" + args.only.replace(" ", "_").replace(",", "_")
    suffix += "".join(f"_{key}-{value}" for key, value in overrides.items())
    stem = args.name or f"coverage_core{suffix}"
    settings = "".join(f", {key}={value!r}" for key, value in overrides.items())
    meta = (f"n={args.n}, K=5, R={args.reps}{settings}; "
            f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores; wall {time.time() - t0:.0f} s")
    with open(os.path.join(args.out, f"{stem}.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "raw": raw}, f, indent=1)
    with open(os.path.join(args.out, f"{stem}.md"), "w") as f:
        f.write(f"Coverage study, core estimators ({meta})\n\n")
        f.write(markdown_table(rows, COLUMNS) + "\n")


if __name__ == "__main__":
    main()
