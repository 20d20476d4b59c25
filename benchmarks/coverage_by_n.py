"""Do the intervals stay valid as n grows? Coverage of E[β] across sample sizes.

Seven designs (linear with continuous and with binary confounded T, logit regime C,
logit regime A, probit, tobit, poisson), each in two versions: ``ours`` (the package's
simulators, ``sklearn_dml.datasets``) and ``alt`` (``_designs_alt.py``: other θ(x),
covariate and treatment laws, T in real units). Default estimators, K = 5.

Each (design, n) cell is stored in ``results/coverage_by_n/coverage_by_n.json`` as soon
as it finishes,
so the study runs in pieces (``--only``, ``--n``) and resumes; ``--render`` rewrites the
markdown table and the plot from the JSON.

Usage: python benchmarks/coverage_by_n.py --n 2000,10000,50000 [--reps 200,200,100]
       [--only logit] [--version ours,alt] [--jobs 2] [--set key=value ...] [--name NAME]
       [--render]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _designs_alt import make_alt  # noqa: E402
from _mc import guarded_replicate, markdown_table, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_family_data, make_linear_confounded, make_logit  # noqa: E402

TARGET = "E[beta]"
BAND = {"coverage": (0.93, 0.97), "bias_se": (0.0, 0.2), "se_sd": (0.9, 1.1)}
DESIGNS = ("linear-continuous", "linear-binary", "logit-C", "logit-A", "probit", "tobit",
           "poisson")
ESTIMATORS = {"linear": sd.StructuralDMLRegressor, "logit": sd.LogitDML,
              "probit": sd.ProbitDML, "tobit": sd.TobitDML, "poisson": sd.PoissonDML}
COLUMNS = ["design", "version", "n", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "R", "failed", "fit_s", "in_band", "oracle_coverage",
           "oracle_sd_z", "excess_z"]
# designs whose efficient influence function (true θ, true Λ) the simulation can compute,
# by the name of diagnose_large_n.py's design
ORACLE_DESIGNS = {"logit-C": "logit", "probit": "probit", "poisson": "poisson",
                  "logit-A": "logit-randomized", "linear-binary": "linear-binary",
                  "tobit": "tobit"}


def _family_and_treatment(design):
    family, _, kind = design.partition("-")
    return family, {"continuous": "continuous", "binary": "binary", "C": "continuous",
                    "A": "randomized", "": "continuous"}[kind]


def make_data(design, version, n, seed):
    family, kind = _family_and_treatment(design)
    if version == "alt":
        return make_alt(family, n, kind, random_state=seed)
    if family == "linear":
        return make_linear_confounded(n, treatment=kind, random_state=seed)
    if family == "logit":
        return make_logit(n, treatment=kind, random_state=seed)
    return make_family_data(family, n, treatment=kind, random_state=seed)


class EstimatorFactory:
    """The default estimator of a design, with parameters overridden (picklable)."""

    def __init__(self, design, params):
        self.design, self.params = design, params

    def __call__(self, data, seed):
        family, _ = _family_and_treatment(self.design)
        kwargs = {"target": "beta"}
        if data.get("treatment_law") is not None:
            kwargs["treatment_law"] = data.treatment_law
        return ESTIMATORS[family](cv=5, random_state=seed, **kwargs).set_params(**self.params)


def _replication(design, version, n, seed, params):
    result, failure = guarded_replicate(lambda s: make_data(design, version, n, s),
                                        EstimatorFactory(design, params), seed)
    if failure is not None:
        return None, failure
    j = list(result["names"]).index(TARGET)
    return {"seed": seed, "estimate": float(result["estimate"][j]),
            "stderr": float(result["stderr"][j]), "truth": float(result["truth"][j]),
            "cpu": result["cpu"]}, None


def run_cell(design, version, n, reps, params, n_jobs=1, seed0=0):
    with threadpool_limits(1):
        out = Parallel(n_jobs=n_jobs)(delayed(_replication)(design, version, n, seed0 + r, params)
                                      for r in range(reps))
    return [r for r, _ in out if r is not None], [bad for _, bad in out if bad is not None]


def summarize_cell(raw, oracle=None):
    """The cell's row; with ``oracle`` (seed -> the efficient influence function's z on that
    sample) also its coverage and SD of z on the same seeds, and ``excess_z``, the mean of
    the estimator's z minus the oracle's: the estimator's own bias, free of the seeds'."""
    rows = summarize([{"names": [TARGET], "estimate": np.array([r["estimate"]]),
                       "stderr": np.array([r["stderr"]]), "truth": np.array([r["truth"]]),
                       "cpu": r["cpu"]} for r in raw])
    row = rows[0]
    row["fit_s"] = row.pop("cpu_s")
    row["in_band"] = all(lo <= row[k] <= hi for k, (lo, hi) in BAND.items())
    if oracle and all(str(r["seed"]) in oracle for r in raw):
        z_oracle = np.array([oracle[str(r["seed"])] for r in raw])
        z = np.array([(r["estimate"] - r["truth"]) / r["stderr"] for r in raw])
        row["oracle_coverage"] = float(np.mean(np.abs(z_oracle) < 1.959964))
        row["oracle_sd_z"] = float(np.std(z_oracle, ddof=1))
        row["excess_z"] = float(np.mean(z - z_oracle))
    return row


def add_oracle(store):
    """The efficient influence function's z per seed for every cell of ORACLE_DESIGNS
    (version ``ours``) that lacks it (no fit: seconds per hundred seeds)."""
    from diagnose_large_n import oracle_z

    for key, cell in store["cells"].items():
        design, version, n = key.split("|")
        if version != "ours" or design not in ORACLE_DESIGNS:
            continue
        known = cell.setdefault("oracle_z", {})
        for r in cell["raw"]:
            if str(r["seed"]) not in known:
                known[str(r["seed"])] = oracle_z(int(n), r["seed"], ORACLE_DESIGNS[design])


def _key(design, version, n):
    return f"{design}|{version}|{n}"


RESULTS = os.path.join(os.path.dirname(__file__), "results", "coverage_by_n")
DOC_PLOT = os.path.join(os.path.dirname(__file__), os.pardir, "doc", "images",
                        "coverage_by_n.png")


def render(store, path):
    """The table (markdown beside the JSON; ``rows`` in the JSON for doc/coverage.rst) and
    the plot: doc/images/coverage_by_n.png for the study of record, beside the JSON for any
    other run (a partial run must not replace the documented plot)."""
    rows = []
    for key, cell in store["cells"].items():
        design, version, n = key.split("|")
        rows.append({"design": design, "version": version, "n": int(n),
                     **summarize_cell(cell["raw"], cell.get("oracle_z")),
                     "failed": len(cell["failed"])})
    rows.sort(key=lambda r: (DESIGNS.index(r["design"]), r["version"], r["n"]))
    store["rows"] = rows
    with open(path, "w") as f:
        json.dump(store, f, indent=1)
    lo, hi = BAND["coverage"]
    with open(os.path.splitext(path)[0] + ".md", "w") as f:
        f.write(f"Coverage of {TARGET} by sample size ({store.get('meta', '')})\n\n"
                f"Band: coverage {lo:.0%}-{hi:.0%}, |bias| <= {BAND['bias_se'][1]} SE, SE/SD in "
                f"{list(BAND['se_sd'])}; fit_s is CPU seconds per fit. Where the simulation can "
                "compute the efficient influence function (true θ and Λ), oracle_coverage "
                "and oracle_sd_z are its coverage and SD of z on the same seeds (what a "
                "perfect estimator would show on this draw) and excess_z is the mean of the "
                "estimator's z minus the oracle's: its own bias in SEs, free of the seeds' "
                "luck.\n\n")
        f.write(markdown_table(rows, COLUMNS) + "\n")
        f.write("".join(f"\n* {note}" for note in store.get("notes", [])))
    of_record = os.path.abspath(path) == os.path.abspath(os.path.join(RESULTS,
                                                                       "coverage_by_n.json"))
    _plot(rows, DOC_PLOT if of_record else os.path.splitext(path)[0] + ".png")
    return rows


def _plot(rows, path):
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    colors = dict(zip(DESIGNS, plt.get_cmap("tab10").colors))  # one colour per design
    for (design, version) in sorted({(r["design"], r["version"]) for r in rows}):
        cell = sorted((r for r in rows if (r["design"], r["version"]) == (design, version)),
                      key=lambda r: r["n"])
        ns = [r["n"] for r in cell]
        style = "-o" if version == "ours" else "--s"  # one line style per version
        axes[0].plot(ns, [r["bias"] / r["mean_se"] for r in cell], style,
                     color=colors[design], label=f"{design} ({version})")
        axes[1].plot(ns, [r["coverage"] for r in cell], style, color=colors[design])
    axes[0].axhspan(-0.2, 0.2, color="0.9")
    axes[1].axhspan(0.93, 0.97, color="0.9")
    ticks = sorted({r["n"] for r in rows})
    for ax, label in zip(axes, ("bias / SE", "coverage of the 95% interval")):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(ticks, [f"{n:,}" for n in ticks])
        ax.set_xlabel("n")
        ax.set_ylabel(label)
    fig.legend(loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _parse_setting(text):
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="2000,10000,50000")
    ap.add_argument("--reps", default="200,200,100", help="one per n, or one for all")
    ap.add_argument("--only", default=",".join(DESIGNS), help="comma-separated designs")
    ap.add_argument("--version", default="ours,alt")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="estimator PARAM=VALUE")
    ap.add_argument("--name", default="coverage_by_n")
    ap.add_argument("--out", default=RESULTS)
    ap.add_argument("--render", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.name}.json")
    store = {"cells": {}}
    if os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    if args.render:
        add_oracle(store)
        return render(store, path)
    params = dict(_parse_setting(s) for s in args.set)
    ns = [int(v) for v in args.n.split(",")]
    reps = [int(v) for v in args.reps.split(",")]
    reps = reps * len(ns) if len(reps) == 1 else reps
    for n, r in zip(ns, reps):
        for design in args.only.split(","):
            for version in args.version.split(","):
                key = _key(design, version, n)
                done = store["cells"].get(key)
                if done and len(done["raw"]) >= r:
                    continue
                t0 = time.time()
                raw, failed = run_cell(design, version, n, r, params, n_jobs=args.jobs)
                store["cells"][key] = {"raw": raw, "failed": failed, "params": params,
                                       "wall_s": time.time() - t0}
                store["meta"] = (f"K=5, default estimators{' ' + str(params) if params else ''}; "
                                 f"{platform.machine()}, {os.cpu_count()} cores")
                with open(path, "w") as f:
                    json.dump(store, f, indent=1)
                print(key, json.dumps(summarize_cell(raw)), flush=True)
    render(store, path)


if __name__ == "__main__":
    main()
