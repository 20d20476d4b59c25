"""Monte Carlo study for CombinatorialDML (issue 5 acceptance).

Designs from sklearn_dml.datasets.make_combinatorial: m = 3 and m = 4 binary treatments,
the m + 2 observed cells (control, the m singles, all-on; uniform assignment), so
2^m − m − 2 cells are never run; n = 3000, K = 5, noise 0.1, under each link. For all
2^m − 1 cell effects against control it records the debiased estimate (DeDL), the
plug-in structured net (SDL, same cross-fitted θ̂, no correction) and linear regression
with treatment-covariate interactions (LR: OLS of Y on [1, x, t, t⊗x], additive across
treatments, HC1 standard errors plus the sampling variance of x̄). Band: coverage 93-97%
for observed and unobserved cells. Writes
benchmarks/results/coverage_combinatorial/coverage_combinatorial.{md,json}
after each design, so an interrupted run continues with --resume.

Runs on one core. The structure check (second training run) is off to halve the cost.

Usage: python benchmarks/coverage_combinatorial.py [--reps 100] [--n 3000]
           [--only gen_sigmoid_ii:3,sigmoid:4] [--resume] [--n-rep 3] [--render]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table  # noqa: E402

from sklearn_dml import CombinatorialDML  # noqa: E402
from sklearn_dml.datasets import make_combinatorial  # noqa: E402

# priority order: if the budget runs out, the later designs are the ones not run
DESIGNS = [("gen_sigmoid_ii", 3), ("sigmoid", 3), ("multiplicative", 3), ("gen_sigmoid_ii", 4),
           ("sigmoid", 4), ("multiplicative", 4), ("gen_sigmoid_i", 3), ("gen_sigmoid_i", 4)]
BAND = (0.93, 0.97)
CRIT = stats.norm.ppf(0.975)
COLUMNS = ["link", "m", "cells", "observed", "coverage", "se_sd", "bias_se", "rmse",
           "sdl_rmse", "lr_coverage", "lr_rmse", "R", "failed", "cpu_s", "in_band"]


def linear_regression(data, names):
    """OLS of Y on [1, x, t, t⊗x]; ATE(t) = Σ_k t_k (β_k + γ_k'x̄), HC1 SE + Var(x̄) term."""
    X, T, Y = data.X, data.T, data.Y
    n, p = X.shape
    m = T.shape[1]
    inter = (T[:, :, None] * X[:, None, :]).reshape(n, -1)
    Z = np.column_stack([np.ones(n), X, T, inter])
    coef, *_ = np.linalg.lstsq(Z, Y, rcond=None)
    resid = Y - Z @ coef
    bread = np.linalg.pinv(Z.T @ Z)
    meat = (Z * resid[:, None] ** 2).T @ Z
    V = bread @ meat @ bread * n / (n - Z.shape[1])
    xbar, covx = X.mean(axis=0), np.cov(X, rowvar=False) / n
    gamma = coef[1 + p + m:].reshape(m, p)
    est, se = [], []
    for name in names:
        t = np.array([float(c) for c in name[4:-1]])
        c = np.concatenate([np.zeros(1 + p), t, np.kron(t, xbar)])
        g = t @ gamma
        est.append(c @ coef)
        se.append(np.sqrt(c @ V @ c + g @ covx @ g))
    return np.array(est), np.array(se)


def one_rep(link, m, n, seed, n_rep=1):
    data = make_combinatorial(n_samples=n, n_treatments=m, link=link, random_state=seed)
    est = CombinatorialDML(link=link, structure_check=False, cv=5, n_rep=n_rep,
                           random_state=seed)
    t0 = time.process_time()
    est.fit(data.X, data.T, data.Y)
    cpu = time.process_time() - t0
    res = est.inference_
    lr_est, lr_se = linear_regression(data, res.names)
    return {"seed": seed, "names": res.names, "estimate": res.estimate.tolist(),
            "stderr": res.stderr.tolist(), "plugin": list(res.diagnostics["plugin_estimate"]),
            "lr_estimate": lr_est.tolist(), "lr_stderr": lr_se.tolist(),
            "truth": [data.truth[k] for k in res.names],
            "observed": [k[4:-1] in data.observed for k in res.names], "cpu": cpu,
            "cond_median": est.lambda_report_["condition_median"],
            "share_near_singular": est.lambda_report_["share_near_singular"]}


def summarize(link, m, raw, n_failed):
    """Per cell, and pooled over observed / unobserved cells."""
    est, se = np.array([r["estimate"] for r in raw]), np.array([r["stderr"] for r in raw])
    plug = np.array([r["plugin"] for r in raw])
    truth = np.tile(raw[0]["truth"], (len(raw), 1))  # the same in every replication
    lr, lr_se = np.array([r["lr_estimate"] for r in raw]), np.array([r["lr_stderr"] for r in raw])
    obs = np.array(raw[0]["observed"])
    names = raw[0]["names"]
    covered = np.abs(est - truth) <= CRIT * se
    lr_cov = np.abs(lr - truth) <= CRIT * lr_se
    cpu = float(np.mean([r["cpu"] for r in raw]))

    def row(cols, label, observed):
        sd = est[:, cols].std(axis=0, ddof=1)
        bias = (est[:, cols] - truth[:, cols]).mean(axis=0)
        mse = se[:, cols].mean(axis=0)
        cov = float(covered[:, cols].mean())
        return {"link": link, "m": m, "cells": label, "observed": observed, "coverage": cov,
                "coverage_mc_se": float(np.sqrt(cov * (1 - cov) / covered[:, cols].size)),
                "se_sd": float(np.mean(mse / sd)), "bias_se": float(np.mean(np.abs(bias) / mse)),
                "rmse": float(np.sqrt(np.mean((est[:, cols] - truth[:, cols]) ** 2))),
                "sdl_rmse": float(np.sqrt(np.mean((plug[:, cols] - truth[:, cols]) ** 2))),
                "lr_coverage": float(lr_cov[:, cols].mean()),
                "lr_rmse": float(np.sqrt(np.mean((lr[:, cols] - truth[:, cols]) ** 2))),
                "R": len(raw), "failed": n_failed, "cpu_s": cpu,
                "in_band": bool(BAND[0] <= cov <= BAND[1])}

    pooled = [row(np.flatnonzero(obs), "all observed", "yes"),
              row(np.flatnonzero(~obs), "all unobserved", "no")]
    cells = [row([j], name[4:-1], "yes" if obs[j] else "no") for j, name in enumerate(names)]
    for r in cells:
        r["in_band"] = "-"
    return pooled, cells


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--only", default=None, help="comma-separated link:m, e.g. sigmoid:3")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--n-rep", type=int, default=1,
                    help="repeated cross-fitting (rows are labelled link:m:nrepK when K > 1)")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the tables (md, doc include) from the JSON")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_combinatorial"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "coverage_combinatorial.json")
    store = {"pooled": [], "cells": [], "raw": {}, "failed": {}, "wall_s": {}}
    if (args.resume or args.render) and os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    if args.render:
        return _write(store, args, path, meta=store["meta"])
    designs = DESIGNS if args.only is None else [
        (s.split(":")[0], int(s.split(":")[1])) for s in args.only.split(",")]
    for link, m in designs:
        key = f"{link}:{m}" + (f":nrep{args.n_rep}" if args.n_rep > 1 else "")
        if key in store["raw"]:
            continue
        t0 = time.time()
        raw, failed = [], []
        with threadpool_limits(1):
            for seed in range(args.reps):
                try:
                    raw.append(one_rep(link, m, args.n, seed, args.n_rep))
                except Exception as exc:  # a crash is a failed replication, recorded
                    failed.append({"seed": seed, "error": f"{type(exc).__name__}: {exc}"})
                    traceback.print_exc()
        store["wall_s"][key] = time.time() - t0
        label = link + (f" (n_rep={args.n_rep})" if args.n_rep > 1 else "")
        pooled, cells = summarize(label, m, raw, len(failed))
        store["pooled"] = [r for r in store["pooled"] if (r["link"], r["m"]) != (label, m)]
        store["cells"] = [r for r in store["cells"] if (r["link"], r["m"]) != (label, m)]
        store["pooled"] += pooled
        store["cells"] += cells
        store["raw"][key], store["failed"][key] = raw, failed
        for r in pooled:
            print(json.dumps(r), flush=True)
        _write(store, args, path)


def _slim(store):
    """Names, truth and observed flags are the same in every replication: keep the first."""
    same = ("names", "truth", "observed")
    raw = {key: reps[:1] + [{k: v for k, v in r.items() if k not in same} for r in reps[1:]]
           for key, reps in store["raw"].items()}
    return {**store, "raw": raw}


def _rounded(obj):
    if isinstance(obj, float):
        return float(f"{obj:.7g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def _display(rows):
    """RMSEs are about 0.005: show them with four decimals."""
    keys = ("rmse", "sdl_rmse", "lr_rmse")
    return [{k: (f"{v:.4f}" if k in keys else v) for k, v in r.items()} for r in rows]


def _write(store, args, path, meta=None):
    store["meta"] = meta or (f"n={args.n}, K=5, R={args.reps} per design, m+2 observed cells; one "
                     f"process, one thread; {platform.processor() or platform.machine()}, "
                     f"{os.cpu_count()} cores; wall {sum(store['wall_s'].values()):.0f} s")
    with open(path, "w") as f:  # compact: R x cells raw values for every design
        json.dump(_rounded(_slim(store)), f, separators=(",", ":"))
    with open(os.path.join(args.out, "coverage_combinatorial.md"), "w") as f:
        f.write(f"Coverage study, CombinatorialDML ({store['meta']})\n\n")
        f.write(f"Band: coverage {BAND[0]:.0%}-{BAND[1]:.0%} of nominal 95%, pooled over the "
                "observed and over the unobserved cells. se_sd and bias_se are means over "
                "cells; rmse is DeDL, sdl_rmse the plug-in structured net, lr_* linear "
                "regression with treatment-covariate interactions.\n\n")
        f.write(markdown_table(_display(store["pooled"]), COLUMNS) + "\n\n")
        f.write("".join(f"* {note}\n" for note in store.get("notes", [])) + "\n")
        f.write("Per cell:\n\n" + markdown_table(_display(store["cells"]), COLUMNS[:-1]) + "\n")
    _write_doc(store)


def _write_doc(store):
    """The pooled table for doc/combinatorial.rst, as doc/_combinatorial_coverage.inc."""
    from make_doc_tables import list_table

    cols = [("link", "link"), ("m", "m"), ("cells", "cells"), ("coverage", "coverage"),
            ("se_sd", "SE/SD"), ("bias_se", "|bias|/SE"), ("rmse", "RMSE DeDL"),
            ("sdl_rmse", "RMSE plug-in"), ("lr_coverage", "LR coverage"),
            ("lr_rmse", "RMSE LR"), ("R", "R"), ("failed", "failed"), ("cpu_s", "CPU s/fit"),
            ("in_band", "in band")]
    doc = os.path.join(os.path.dirname(__file__), os.pardir, "doc",
                       "_combinatorial_coverage.inc")
    def rst(text):  # |x| would be read as a substitution
        return text.replace("|bias|", r"\|bias\|")

    with open(doc, "w") as f:
        f.write(rst(f"Run: {store['meta']}\n\n" + list_table(_display(store["pooled"]), cols))
                + "\n")
    with open(doc.replace("_coverage.inc", "_notes.inc"), "w") as f:
        f.write(rst("".join(f"* {note}\n" for note in store.get("notes", []))))


if __name__ == "__main__":
    main()
