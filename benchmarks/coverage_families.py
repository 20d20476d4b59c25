"""Monte Carlo study for the family catalogue (issue 4 acceptance).

One design per family (sklearn_dml.datasets.make_family_data): heterogeneous θ(x), a
continuous treatment confounded by X, n=2000, K=5, the family's estimator with default
settings (regime C: three-way splitting, Λ from the Fisher information where ℓ_θθ
depends on y). Reports bias, mean SE / SD and 95% coverage of the default targets; the
main target is E[beta], judged against the band coverage 93-97%, |bias| <= 0.2 SE,
SE/SD in [0.85, 1.15]. Writes
benchmarks/results/coverage_families/coverage_families.{md,json} after each
family, so an interrupted run can continue with --resume.

Each replication runs on one thread (torch, BLAS and OpenMP limited); ``--jobs`` runs that
many at once in separate processes (same results).

Usage: python benchmarks/coverage_families.py [--reps 100] [--n 2000] [--only poisson,zip]
       [--jobs 1] [--name coverage_families] [--render]

``--render --name coverage_families_n8000`` rewrites that study's markdown from its JSON.
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

import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import guarded_replicate, markdown_table, summarize  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import FAMILY_DATASETS, make_family_data  # noqa: E402

ESTIMATORS = {"probit": sd.ProbitDML, "gumbel": sd.GumbelDML, "poisson": sd.PoissonDML,
              "negbin": sd.NegativeBinomialDML, "gamma": sd.GammaDML, "weibull": sd.WeibullDML,
              "tobit": sd.TobitDML, "heteroskedastic": sd.HeteroskedasticDML,
              "beta": sd.BetaDML, "zip": sd.ZeroInflatedPoissonDML,
              "fractional_logit": sd.FractionalLogitDML}
MAIN_TARGET = "E[beta]"
BAND = {"coverage": (0.93, 0.97), "bias_se": (0.0, 0.2), "se_sd": (0.85, 1.15)}
COLUMNS = ["family", "target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "R", "failed", "cpu_s", "in_band"]


def _replication(name, n, seed):
    """One replication as (result, None), or (None, failure)."""
    return guarded_replicate(lambda s: make_family_data(name, n, random_state=s),
                             lambda d, s: ESTIMATORS[name](cv=5, random_state=s), seed)


def run_family(name, n, reps, seed0=0, n_jobs=1):
    """R replications of one family's design (seeds seed0, ..., seed0 + R - 1), on ``n_jobs``
    single-threaded processes; the results do not depend on ``n_jobs``."""
    return run_replications(functools.partial(_replication, name, n), reps, seed0, n_jobs)


def run_replications(replication, reps, seed0=0, n_jobs=1):
    """``replication(seed)`` (a :func:`guarded_replicate` pair) for seeds seed0, ...,
    seed0 + reps - 1 on ``n_jobs`` single-threaded processes: the results and the failures."""
    with threadpool_limits(1):
        out = Parallel(n_jobs=n_jobs)(delayed(replication)(seed0 + r) for r in range(reps))
    return [res for res, _ in out if res is not None], [bad for _, bad in out if bad is not None]


def record_family(store, name, results, failed, wall_s):
    """One family's rows (judged on the main target), raw estimates and failures in ``store``,
    replacing any it held."""
    store["wall_s"][name] = wall_s
    store["rows"] = [r for r in store["rows"] if r["family"] != name]
    for row in summarize(results):
        row = {"family": name, **row, "failed": len(failed)}
        row["in_band"] = in_band(row) if row["target"] == MAIN_TARGET else "-"
        store["rows"].append(row)
        print(json.dumps(row), flush=True)
    store["raw"][name] = [{"seed": r["seed"], "estimate": r["estimate"].tolist(),
                           "stderr": r["stderr"].tolist()} for r in results]
    store["failed"][name] = failed


def in_band(row):
    return all(lo <= row[k] <= hi for k, (lo, hi) in BAND.items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed0", type=int, default=0, help="seeds seed0, ..., seed0 + reps - 1")
    ap.add_argument("--only", default=None, help="comma-separated family names")
    ap.add_argument("--jobs", type=int, default=1,
                    help="replications at once, each in its own single-threaded process")
    ap.add_argument("--resume", action="store_true", help="skip families already in the JSON")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_families"))
    ap.add_argument("--name", default="coverage_families",
                    help="file stem of the study's JSON and markdown in --out")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the markdown table from the JSON already in --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.name}.json")
    if args.render:
        with open(path) as f:
            return _write_markdown(json.load(f), path)
    store = {"rows": [], "raw": {}, "failed": {}, "wall_s": {}}
    if args.resume and os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    families = FAMILY_DATASETS if args.only is None else args.only.split(",")
    for name in families:
        if name in store["raw"]:
            continue
        t0 = time.time()
        results, failed = run_family(name, args.n, args.reps, seed0=args.seed0,
                                     n_jobs=args.jobs)
        record_family(store, name, results, failed, time.time() - t0)
        _write(store, args, path)


def _write(store, args, path):
    store["meta"] = (f"n={args.n}, K=5, R={args.reps} per family (seeds from {args.seed0}); "
                     f"{args.jobs} process(es) of one thread; "
                     f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
                     f"wall {sum(store['wall_s'].values()):.0f} s")
    with open(path, "w") as f:
        json.dump(store, f, indent=1)
    _write_markdown(store, path)


def _write_markdown(store, json_path):
    """The markdown beside the study's JSON, from the study as stored: its title (default
    "family catalogue"), meta line, the band where every row is judged against it, the table
    and its notes."""
    lo, hi = BAND["coverage"]
    judged = all("in_band" in row for row in store["rows"])
    columns = [c for c in COLUMNS if c != "in_band" or judged]
    with open(os.path.splitext(json_path)[0] + ".md", "w") as f:
        f.write(f"Coverage study, {store.get('title', 'family catalogue')} "
                f"({store['meta']})\n\n")
        if judged:
            f.write(f"Main target {MAIN_TARGET}; band: coverage {lo:.0%}-{hi:.0%}, |bias| <= "
                    f"{BAND['bias_se'][1]} SE, SE/SD in {list(BAND['se_sd'])}. Other targets "
                    "are reported for information.\n\n")
        f.write(markdown_table(store["rows"], columns) + "\n")
        if store.get("notes"):
            f.write("\n" + "".join(f"* {note}\n" for note in store["notes"]))


if __name__ == "__main__":
    main()
