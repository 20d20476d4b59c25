"""Shared Monte Carlo machinery: run replications, summarize bias / SE / coverage."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
import traceback
import warnings

import numpy as np
from joblib import Parallel, delayed


def replicate(make_data, make_estimator, seed):
    """One replication: simulate, fit, return estimates, SEs, truth and CPU time."""
    data = make_data(seed)
    est = make_estimator(data, seed)
    t0 = time.process_time()
    est.fit(data.X, data.T, data.Y)
    cpu = time.process_time() - t0
    res = est.inference_
    return {"names": res.names, "estimate": res.estimate, "stderr": res.stderr,
            "truth": np.array([data.truth[n] for n in res.names]), "cpu": cpu}


def guarded_replicate(make_data, make_estimator, seed):
    """:func:`replicate` as ``(result, None)``, or ``(None, failure)`` when the fit crashes or
    is not finite: failed fits are counted, not dropped silently."""
    try:
        result = replicate(make_data, make_estimator, seed)
    except Exception as exc:  # a crash is a failed replication, recorded with its message
        traceback.print_exc()
        return None, {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    if not is_finite(result):
        return None, {"seed": seed, "error": "non-finite estimate"}
    result["seed"] = seed
    return result, None


def replicate_designs(module_name, designs, n_rep, n_jobs=1):
    """``{design: [module.replication(design, seed) for seed in range(n_rep)]}``, in
    parallel; the workers import the study's module by name, not as ``__main__``."""
    module = importlib.import_module(module_name)
    return {design: Parallel(n_jobs=n_jobs)(delayed(module.replication)(design, seed)
                                            for seed in range(n_rep))
            for design in designs}


def run_study(make_data, make_estimator, n_rep, n_jobs=1, seed0=0):
    """Run ``n_rep`` replications (seeds seed0..seed0+n_rep-1), in parallel if asked."""
    out = Parallel(n_jobs=n_jobs)(
        delayed(replicate)(make_data, make_estimator, seed0 + r) for r in range(n_rep))
    return out


def summarize(results, alpha=0.05, dof=None):
    """Per target: bias, mean SE, SD of estimates, SE/SD, coverage, |bias|/SE, CPU s.

    Coverage is that of the interval with normal critical values, or t(dof) ones (what
    the library reports with dof + 1 clusters)."""
    from scipy import stats

    crit = (stats.norm() if dof is None else stats.t(dof)).ppf(1 - alpha / 2)
    est = np.array([r["estimate"] for r in results])
    se = np.array([r["stderr"] for r in results])
    truth = np.array([r["truth"] for r in results])
    covered = np.abs(est - truth) <= crit * se
    rows = []
    for j, name in enumerate(results[0]["names"]):
        bias = float(np.mean(est[:, j] - truth[:, j]))
        sd = float(np.std(est[:, j], ddof=1))
        mse = float(np.mean(se[:, j]))
        cov = float(np.mean(covered[:, j]))
        rows.append({
            "target": name, "truth": float(truth[0, j]), "bias": bias, "mean_se": mse,
            "sd": sd, "se_sd": mse / sd, "bias_se": abs(bias) / mse, "coverage": cov,
            "coverage_mc_se": float(np.sqrt(cov * (1 - cov) / len(results))),
            "R": len(results), "cpu_s": float(np.mean([r["cpu"] for r in results])),
        })
    return rows


def markdown_table(rows, columns, number="{:.3f}"):
    """A markdown table of ``rows`` (dicts); floats formatted by ``number``, missing or None
    cells left blank."""
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            cells.append(number.format(v) if isinstance(v, float) else "" if v is None
                         else str(v))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def write_study(out_dir, stem, title, meta, rows, columns, notes=None):
    """``<stem>.json`` (meta, rows and any ``notes``) and ``<stem>.md`` ("Coverage study,
    <title> (<meta>)" and the table) in ``out_dir``."""
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, **({"notes": notes} if notes else {})}, f,
                  indent=1)
    with open(os.path.join(out_dir, f"{stem}.md"), "w") as f:
        f.write(f"Coverage study, {title} ({meta})\n\n")
        f.write(markdown_table(rows, columns) + "\n")


def split_failed(results):
    """Keep replications with finite estimates and SEs; also return how many were dropped.

    A replication whose fit crashed, or returned NaN / inf, should be recorded with
    non-finite ``estimate`` or ``stderr`` so that it is counted here rather than lost.
    """
    ok = [r for r in results if is_finite(r)]
    return ok, len(results) - len(ok)


def is_finite(result):
    """Whether a replication's estimates and standard errors are all finite."""
    return bool(np.all(np.isfinite(result["estimate"])) and np.all(np.isfinite(result["stderr"])))


def study_parser(stem, designs):
    """The command line every study shares: ``--reps``, ``--designs`` (default: all of
    ``designs``), ``--jobs``, ``--append`` (keep the stored rows not run now, see
    :func:`keep_stored`) and ``--out`` (default ``results/<stem>``); add a study's own."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--designs", default=",".join(designs))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--append", action="store_true",
                    help="keep the stored rows of the cells not run now")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", stem))
    return ap


def parse_study(stem, designs, reps):
    """The parsed :func:`study_parser` command line, ``reps`` replications by default, with
    its output folder made."""
    ap = study_parser(stem, designs)
    ap.set_defaults(reps=reps)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def keep_stored(out_dir, stem, rows, meta, key):
    """``rows`` and ``meta`` preceded by the stored ``<stem>.json``'s rows whose ``key(row)``
    no new row has, and by its meta; as given where nothing is stored."""
    stored = os.path.join(out_dir, f"{stem}.json")
    if not os.path.exists(stored):
        return rows, meta
    with open(stored) as f:
        old = json.load(f)
    run = {key(r) for r in rows}
    return [r for r in old["rows"] if key(r) not in run] + rows, f"{old['meta']}; {meta}"


def finish_study(args, stem, title, cells, rows, columns, key, t_start):
    """The end of a :func:`study_parser` study: the meta line (``cells``, then the
    replications, machine and wall time since ``t_start``), the stored rows kept with
    ``--append`` (:func:`keep_stored`, rows matched by ``key``), both files written and the
    markdown printed."""
    meta = (f"{cells}, R = {args.reps} (seeds 0-{args.reps - 1}); {platform.machine()}, "
            f"{args.jobs} process(es) of one thread; wall {time.time() - t_start:.0f} s")
    if args.append:
        rows, meta = keep_stored(args.out, stem, rows, meta, key=key)
    write_study(args.out, stem, title, meta, rows, columns)
    print(open(os.path.join(args.out, f"{stem}.md")).read())


def study_by_n(stem, title, designs, default_n, columns):
    """The whole of a study over designs × sample sizes whose module is ``stem`` and whose
    ``replication(design, n, seed)`` gives a :func:`fit_recording` record: the command line
    (:func:`study_parser` and ``--n``, default ``default_n``), then per design and n the
    summary of E[beta], the share of fits that warned and the SD of z, written by
    :func:`finish_study`."""
    import importlib

    import torch

    ap = study_parser(stem, designs)
    ap.add_argument("--n", default=default_n)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    # the workers import the study by name, not as __main__
    replication = importlib.import_module(stem).replication
    rows, t_start = [], time.time()
    for design in args.designs.split(","):
        for n in [int(v) for v in args.n.split(",")]:
            results = Parallel(n_jobs=args.jobs)(delayed(replication)(design, n, seed)
                                                 for seed in range(args.reps))
            z = np.array([(r["estimate"][0] - r["truth"][0]) / r["stderr"][0]
                          for r in results])
            rows.append({"design": design, "n": n, **summarize(results)[0],
                         "sd_z": float(z.std(ddof=1)),
                         "warned": float(np.mean([r["warned"] for r in results]))})
            print(rows[-1], flush=True)
    finish_study(args, stem, title, f"{args.designs} at n = {args.n}: default settings", rows,
                 columns, key=lambda r: (r["design"], r["n"]), t_start=t_start)


def fit_recording(estimator, X, T, Y, truth, warning=""):
    """Fit ``estimator`` on (X, T, Y) and return the record of a study of E[beta] alone:
    estimate, SE, ``truth``, whether the fit warned (with a message containing
    ``warning``, any message by default), and its CPU seconds."""
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, T, Y)
    return {"names": ["E[beta]"], "truth": np.array([truth]),
            "estimate": estimator.inference_.estimate, "stderr": estimator.inference_.stderr,
            "warned": any(warning in str(w.message) for w in caught),
            "cpu": time.process_time() - t0}
