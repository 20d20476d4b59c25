"""Monte Carlo comparison of sklearn_dml with the ``deep-inference`` package (PyPI, 0.2.0).

Both packages are fitted on the SAME simulated data (replication r uses seed r for the
data, for our ``random_state`` and for deep-inference's global numpy / torch RNGs) with
K=5 cross-fitting folds. Designs at n=2000: linear with continuous confounded T, linear
with binary confounded T, logit with confounded continuous T, logit with randomized binary
T. Per design and target: bias, mean SE, SD of estimates, SE/SD, 95% coverage and mean CPU
seconds per fit (``time.process_time``), with the CPU ratio deep-inference / ours.

deep-inference is called through its documented entry point ``structural_dml(Y, T, X,
family=..., target=..., n_folds=5)`` with all other arguments at their defaults. Its AME
(``target="ame"``: mean of p(1-p)·β at the observed T, the same estimand as our
``AME[T]``) needs a separate fit, so for logit designs it is run as a second study on the
same seeds. Its newer ``inference()`` API is far slower (a per-row Python loop inside the
training loss); ``--new-api-once`` times a single fit of it for the record.

deep-inference is NOT a dependency of sklearn_dml; install it in a separate environment::

    python3 -m venv /tmp/venv-di && source /tmp/venv-di/bin/activate
    pip install torch deep-inference==0.2.0 && pip install -e .

Usage: python benchmarks/compare_deep_inference.py [--reps-ours 200] [--reps-di 200]
       [--n 2000] [--only SUBSTRING] [--new-api-once]

Writes benchmarks/results/compare_deep_inference/deep_inference.{md,json}.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from collections import Counter
from importlib.metadata import version

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _mc import run_study, split_failed, summarize  # noqa: E402

from sklearn_dml import LogitDML, StructuralDMLRegressor  # noqa: E402
from sklearn_dml.datasets import make_linear_confounded, make_logit  # noqa: E402

try:
    import deep_inference
    from deep_inference import structural_dml
except ImportError as exc:  # pragma: no cover - informative exit
    raise SystemExit("This benchmark needs deep-inference (pip install deep-inference==0.2.0) "
                     "in a separate environment; it is not a dependency of sklearn_dml.") from exc

K = 5
TORCH_THREADS = 1
WARMUP_SEED = 10**6
COLUMNS = ["design", "target", "package", "R", "failed", "truth", "bias", "mean_se", "sd",
           "se_sd", "coverage", "coverage_mc_se", "cpu_s_per_fit", "cpu_ratio_di_ours"]


class Guarded:
    """Wrap a fit so that a crash records NaN estimates instead of stopping the study."""

    def __init__(self, fit, names):
        self._fit, self.names = fit, names
        self.error = None
        self.warnings = []

    def fit(self, X, T, Y):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.inference_ = self._fit(X, T, Y)
            except Exception as exc:  # noqa: BLE001 - recorded, reported in the table
                self.error = f"{type(exc).__name__}: {exc}"
                nan = np.full(len(self.names), np.nan)
                self.inference_ = _Result(self.names, nan, nan)
        # numbers stripped so that warnings of one kind are counted together
        self.warnings = [re.sub(r"\d+(\.\d+)?", "#", str(w.message))[:120] for w in caught]
        return self


class _Result:
    def __init__(self, names, estimate, stderr):
        self.names, self.estimate, self.stderr = list(names), estimate, stderr


def ours_fit(estimator, names):
    def fit(X, T, Y):
        res = estimator.fit(X, T, Y).inference_
        est = dict(zip(res.names, res.estimate))
        se = dict(zip(res.names, res.stderr))
        return _Result(names, np.array([est[k] for k in names]), np.array([se[k] for k in names]))
    return fit


def di_fit(family, target, name, seed):
    def fit(X, T, Y):
        np.random.seed(seed)          # deep-inference draws folds from numpy's global RNG
        torch.manual_seed(seed)       # and initializations / batches from torch's
        res = structural_dml(Y=Y, T=T, X=X, family=family, target=target, n_folds=K)
        return _Result([name], np.array([float(res.mu_hat)]), np.array([float(res.se)]))
    return fit


def designs(n):
    """name -> (make_data, make_ours(data, seed), ours target names, DI family, DI targets)."""
    lin = ["E[beta]"]
    logit = ["E[beta]", "AME[T]"]
    di_lin = [("E[beta]", None)]
    di_logit = [("E[beta]", None), ("AME[T]", "ame")]
    return {
        "linear, continuous confounded T": (
            lambda s: make_linear_confounded(n, treatment="continuous", random_state=s),
            lambda d, s: StructuralDMLRegressor(target="beta", cv=K, n_jobs=1,
                                                torch_num_threads=TORCH_THREADS, random_state=s),
            lin, "linear", di_lin),
        "linear, binary confounded T": (
            lambda s: make_linear_confounded(n, treatment="binary", random_state=s),
            lambda d, s: StructuralDMLRegressor(target="beta", cv=K, n_jobs=1,
                                                torch_num_threads=TORCH_THREADS, random_state=s),
            lin, "linear", di_lin),
        "logit, confounded continuous T": (
            lambda s: make_logit(n, treatment="continuous", random_state=s),
            lambda d, s: LogitDML(cv=K, n_jobs=1, torch_num_threads=TORCH_THREADS,
                                  random_state=s),
            logit, "logit", di_logit),
        "logit, randomized binary T": (
            lambda s: make_logit(n, treatment="randomized", random_state=s),
            lambda d, s: LogitDML(cv=K, treatment_law=d.treatment_law, n_jobs=1,
                                  torch_num_threads=TORCH_THREADS, random_state=s),
            logit, "logit", di_logit),
    }


def study(make_data, make_guarded, n_rep):
    """Run a guarded study; return summary rows, failure count, errors and warnings."""
    guards = []

    def make_estimator(data, seed):
        g = make_guarded(data, seed)
        guards.append(g)
        return g

    warm = make_data(WARMUP_SEED)
    make_guarded(warm, WARMUP_SEED).fit(warm.X, warm.T, warm.Y)   # untimed warm-up
    results = run_study(make_data, make_estimator, n_rep, n_jobs=1)
    ok, failed = split_failed(results)
    rows = summarize(ok) if ok else []
    errors = Counter(g.error for g in guards if g.error)
    warns = Counter(w for g in guards for w in set(g.warnings))
    return rows, failed, dict(errors), dict(warns), results


def di_defaults():
    sig = inspect.signature(structural_dml).parameters
    keep = ["hidden_dims", "epochs", "lr", "patience"]
    out = {k: sig[k].default for k in keep}
    core = inspect.signature(deep_inference.core.structural_dml_core).parameters
    out.update({k: core[k].default for k in ["lambda_method", "ridge_alpha", "ridge"]})
    return out


def time_new_api(n):
    """One fit of deep-inference's newer ``inference()`` API (linear, binary T, seed 0)."""
    d = make_linear_confounded(n, treatment="binary", random_state=0)
    np.random.seed(0)
    torch.manual_seed(0)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = deep_inference.inference(d.Y, d.T, d.X, model="linear", target="beta", n_folds=K)
    return {"design": "linear, binary confounded T", "seed": 0, "call":
            "inference(Y, T, X, model='linear', target='beta', n_folds=5)",
            "estimate": float(r.mu_hat), "se": float(r.se), "truth": d.truth["E[beta]"],
            "cpu_s": time.process_time() - t0}


def fmt(v, digits=4):
    return "nan" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def git_state():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../sklearn_dml"],
                               cwd=here, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (+ uncommitted changes in sklearn_dml/)" if dirty else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps-ours", type=int, default=200)
    ap.add_argument("--reps-di", type=int, default=200)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--only", default=None, help="substring of a design name")
    ap.add_argument("--new-api-once", action="store_true",
                    help="also time one fit of deep_inference.inference() (slow)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "compare_deep_inference"))
    args = ap.parse_args()
    torch.set_num_threads(TORCH_THREADS)
    t_start = time.time()
    code_state = git_state()   # at start: the code that is imported and run

    rows, extra = [], {}
    for name, (make_data, make_ours, names, family, di_targets) in designs(args.n).items():
        if args.only and args.only not in name:
            continue
        extra[name] = {}
        r_ours, f_ours, e_ours, w_ours, _ = study(
            make_data, lambda d, s, mk=make_ours, nm=names: Guarded(ours_fit(mk(d, s), nm), nm),
            args.reps_ours)
        extra[name]["sklearn_dml"] = {"errors": e_ours, "warnings": w_ours}
        ours_cpu = r_ours[0]["cpu_s"] if r_ours else float("nan")
        by_target = {r["target"]: r for r in r_ours}
        for t in names:
            r = by_target.get(t, {"target": t, "R": 0})
            rows.append({"design": name, "package": "sklearn_dml", "failed": f_ours, **r,
                         "cpu_s_per_fit": r.get("cpu_s", float("nan")),
                         "cpu_ratio_di_ours": float("nan")})
            print(json.dumps(rows[-1]), flush=True)
        di_cpu_total = 0.0
        for t, di_target in di_targets:
            r_di, f_di, e_di, w_di, _ = study(
                make_data,
                lambda d, s, tg=di_target, nm=t, fam=family: Guarded(di_fit(fam, tg, nm, s), [nm]),
                args.reps_di)
            extra[name][f"deep-inference {t}"] = {"errors": e_di, "warnings": w_di}
            r = r_di[0] if r_di else {"target": t, "R": 0, "cpu_s": float("nan")}
            di_cpu_total += r["cpu_s"]
            rows.append({"design": name, "package": "deep-inference", "failed": f_di, **r,
                         "cpu_s_per_fit": r["cpu_s"],
                         "cpu_ratio_di_ours": r["cpu_s"] / ours_cpu})
            print(json.dumps(rows[-1]), flush=True)
        extra[name]["cpu_ratio_all_targets"] = di_cpu_total / ours_cpu
        extra[name]["cpu_ours"] = ours_cpu
        extra[name]["cpu_di_all_targets"] = di_cpu_total

    new_api = time_new_api(args.n) if args.new_api_once else None
    wall = time.time() - t_start

    dflt = di_defaults()
    di_params = f"deep-inference {version('deep-inference')}" + (
        ": structural_dml(Y, T, X, family='linear'|'logit', target=None|'ame', n_folds=5)"
        " -- n_folds=5 is the only argument changed from its defaults (default n_folds=50); "
        "defaults kept: " + ", ".join(f"{k}={v!r}" for k, v in dflt.items()))
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with another job)",
        "torch": torch.__version__, "torch_threads": TORCH_THREADS, "n": args.n, "K": K,
        "R_ours": args.reps_ours, "R_di": args.reps_di, "wall_s": round(wall),
        "sklearn_dml": code_state,
        "ours": "StructuralDMLRegressor(target='beta', cv=5) / LogitDML(cv=5"
                "[, treatment_law=data.treatment_law]), n_jobs=1, torch_num_threads=1, "
                "random_state=r; other arguments at their defaults",
        "deep_inference": di_params,
        "warnings_note": "per_design.*.warnings counts the fits that emitted each warning",
        "seeds": "replication r: data seed r, our random_state=r, np.random.seed(r) and "
                 "torch.manual_seed(r) before each deep-inference call",
    }
    os.makedirs(args.out, exist_ok=True)
    suffix = "" if args.only is None else "_" + args.only.replace(" ", "_").replace(",", "")
    with open(os.path.join(args.out, f"deep_inference{suffix}.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "per_design": extra, "new_api_once": new_api},
                  f, indent=1, default=str)

    head = "| " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in rows:
        cells = [r["design"], r["target"], r["package"], str(r["R"]), str(r["failed"]),
                 fmt(r.get("truth")), fmt(r.get("bias")), fmt(r.get("mean_se")),
                 fmt(r.get("sd")), fmt(r.get("se_sd"), 2), fmt(r.get("coverage"), 3),
                 fmt(r.get("coverage_mc_se"), 3), fmt(r["cpu_s_per_fit"], 2),
                 fmt(r["cpu_ratio_di_ours"], 2) if r["package"] != "sklearn_dml" else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    ratio_lines = [f"- {d}: ours {e['cpu_ours']:.2f} s, deep-inference "
                   f"{e['cpu_di_all_targets']:.2f} s for all targets "
                   f"(ratio {e['cpu_ratio_all_targets']:.2f})" for d, e in extra.items()]
    with open(os.path.join(args.out, f"deep_inference{suffix}.md"), "w") as f:
        f.write(f"sklearn_dml vs deep-inference. Machine: {meta['machine']}; torch "
                f"{meta['torch']}, {TORCH_THREADS} thread; n={args.n}, K={K}, "
                f"R={args.reps_ours} (ours) / {args.reps_di} (deep-inference); "
                f"wall {wall:.0f} s; sklearn_dml at {meta['sklearn_dml']}.\n\n")
        f.write(f"deep-inference parameters: {di_params}.\n\n")
        f.write(f"sklearn_dml parameters: {meta['ours']}.\n\n")
        f.write(f"Seeds: {meta['seeds']}. Coverage of the nominal 95% interval; "
                "R counts replications with finite estimate and SE, `failed` the rest "
                "(crashes or NaN). cpu_s_per_fit is mean time.process_time() of one fit; "
                "cpu_ratio_di_ours = deep-inference / ours per fit (ours gives both logit "
                "targets from one fit, deep-inference needs one fit per target).\n\n")
        f.write(table + "\n\nCPU per replication, all reported targets:\n\n")
        f.write("\n".join(ratio_lines) + "\n")
        if new_api is not None:
            f.write(f"\nOne fit of deep-inference's newer API, `{new_api['call']}`, on "
                    f"{new_api['design']} (seed 0): estimate {new_api['estimate']:.4f} "
                    f"(SE {new_api['se']:.4f}, truth {new_api['truth']}), "
                    f"{new_api['cpu_s']:.1f} CPU s.\n")
    print(table)
    print("\n".join(ratio_lines))
    print(f"wall {wall:.0f} s")


if __name__ == "__main__":
    main()
