"""Monte Carlo study of cluster-robust inference (issue 21 acceptance).

Clustered design: n rows in G equal clusters g. Covariates x = 0.5·c_g + √0.75·z_i (five,
c_g and z_i standard normal, so x ~ N(0, I) with intra-cluster correlation 0.25); treatment
T = 0.5·x₁ + 0.3·x₃ + u_g + e_i, confounded by x; outcome Y = α(x) + β(x)·T + v_g + ε_i with
α(x) = sin(x₁) + 0.5·x₂ and β(x) = 1 + 0.5·x₁ + 0.25·x₂² (E[β(X)] = 1.25). u_g, v_g, e_i, ε_i
are independent N(0, 1): T's noise and the error both have intra-cluster correlation 0.5.

Each replication fits ``StructuralDMLRegressor(target="beta", cv=5)`` once, with
``groups=g`` (the folds keep clusters whole; cluster-robust SE, ψ summed within cluster,
factor G/(G − 1), t(G − 1) critical values); the iid SE is computed from the same fit's
influence values and folds (what ``cluster_se=False`` reports, with normal critical values).
``coverage_normal`` is the cluster-robust interval's coverage with normal critical values.
Acceptance: iid coverage <= 85%, cluster-robust 93-97%.

Each replication runs on one thread; writes
benchmarks/results/coverage_clustered/coverage_clustered.{md,json}
after each G, so an interrupted run continues with --resume.

Usage: python benchmarks/coverage_clustered.py [--reps 200] [--n 2000] [--clusters 50,200]
       [--resume] [--render]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table, summarize  # noqa: E402

from sklearn_dml import StructuralDMLRegressor  # noqa: E402

TRUTH = 1.25
RHO_X = 0.25
COLUMNS = ["G", "se", "target", "truth", "bias", "bias_mc_se", "mean_se", "sd", "se_sd",
           "se_sd_mc_se", "bias_se", "coverage", "coverage_mc_se", "coverage_normal", "R",
           "failed", "cpu_s", "accepted"]


def make_clustered(n, n_clusters, seed):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), -(-n // n_clusters))[:n]
    c = rng.standard_normal((n_clusters, 5))
    X = np.sqrt(RHO_X) * c[g] + np.sqrt(1 - RHO_X) * rng.standard_normal((n, 5))
    u, v = rng.standard_normal((2, n_clusters))
    T = 0.5 * X[:, 0] + 0.3 * X[:, 2] + u[g] + rng.standard_normal(n)
    Y = (np.sin(X[:, 0]) + 0.5 * X[:, 1] + (1 + 0.5 * X[:, 0] + 0.25 * X[:, 1] ** 2) * T
         + v[g] + rng.standard_normal(n))
    return X, T, Y, g


def replication(n, n_clusters, seed):
    """One fit: estimate, cluster-robust and iid SE of E[beta], CPU s, warnings; or a
    failure record."""
    X, T, Y, g = make_clustered(n, n_clusters, seed)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = StructuralDMLRegressor(target="beta", cv=5, random_state=seed).fit(
                X, T, Y, groups=g).inference_
        iid_est, iid_cov = dataclasses.replace(res.influence, clusters=None).moments()
    except Exception as exc:  # a crash is a failed replication, recorded with its message
        traceback.print_exc()
        return {"seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    label = res.diagnostics["standard_errors"]
    assert label.startswith("cluster-robust") and f"{n_clusters} clusters" in label, label
    assert np.allclose(iid_est, res.estimate)
    return {"seed": seed, "names": res.names, "estimate": res.estimate.tolist(),
            "cluster_se": res.stderr.tolist(), "iid_se": np.sqrt(np.diag(iid_cov)).tolist(),
            "cpu": time.process_time() - t0,
            "warnings": sorted({str(w.message)[:120] for w in caught})}


def _mc_se(est, se, n_boot=2000):
    """Monte Carlo s.e. of SE/SD by resampling the replications."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, est.size, (n_boot, est.size))
    return float(np.std(se[idx].mean(axis=1) / est[idx].std(axis=1, ddof=1)))


def rows_for(n_clusters, reps, failed):
    out = []
    for kind, key in (("iid", "iid_se"), ("cluster-robust", "cluster_se")):
        results = [{"names": r["names"], "estimate": np.array(r["estimate"]),
                    "stderr": np.array(r[key]), "truth": np.full(len(r["names"]), TRUTH),
                    "cpu": r["cpu"]} for r in reps]
        dof = None if kind == "iid" else n_clusters - 1
        normal = summarize(results) if dof else [{}] * len(results[0]["names"])
        for j, row in enumerate(summarize(results, dof=dof)):
            est = np.array([r["estimate"][j] for r in reps])
            se = np.array([r[key][j] for r in reps])
            cov = row["coverage"]
            out.append({"G": n_clusters, "se": kind, **row,
                        "coverage_normal": normal[j].get("coverage"),
                        "bias_mc_se": row["sd"] / np.sqrt(len(reps)),
                        "se_sd_mc_se": _mc_se(est, se), "failed": len(failed),
                        "accepted": cov <= 0.85 if kind == "iid" else 0.93 <= cov <= 0.97})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--clusters", default="50,200", help="comma-separated G")
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="skip G already in the JSON")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the markdown table from the JSON already in --out")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_clustered"))
    args = ap.parse_args()
    path = os.path.join(args.out, "coverage_clustered.json")
    if args.render:
        with open(path) as f:
            store = rerow(json.load(f))
        with open(path, "w") as f:
            json.dump(store, f, indent=1)
        return write_markdown(store, path)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    store = {"rows": [], "raw": {}, "failed": {}, "wall_s": {}, "warnings": {}}
    if args.resume and os.path.exists(path):
        with open(path) as f:
            store = json.load(f)
    for n_clusters in (int(x) for x in args.clusters.split(",")):
        if str(n_clusters) in store["raw"]:
            continue
        t0 = time.time()
        with threadpool_limits(1):
            out = [replication(args.n, n_clusters, args.seed0 + r) for r in range(args.reps)]
        store["wall_s"][str(n_clusters)] = time.time() - t0
        reps = [r for r in out if "error" not in r]
        failed = [r for r in out if "error" in r]
        store["rows"] = [r for r in store["rows"] if r["G"] != n_clusters]
        store["rows"] += rows_for(n_clusters, reps, failed)
        store["rows"].sort(key=lambda r: (r["G"], r["se"] != "iid"))
        store["raw"][str(n_clusters)] = [{k: r[k] for k in ("seed", "estimate", "cluster_se",
                                                            "iid_se", "cpu")} for r in reps]
        store["failed"][str(n_clusters)] = failed
        store["warnings"][str(n_clusters)] = dict(Counter(w for r in reps
                                                          for w in r["warnings"]))
        store["meta"] = (f"n={args.n}, K=5 (GroupKFold), R={args.reps} per G (seeds from "
                         f"{args.seed0}); one thread; {platform.processor() or platform.machine()}"
                         f", {os.cpu_count()} cores; wall {sum(store['wall_s'].values()):.0f} s")
        with open(path, "w") as f:
            json.dump(store, f, indent=1)
        write_markdown(store, path)
        print(markdown_table([r for r in store["rows"] if r["G"] == n_clusters], COLUMNS),
              flush=True)


def rerow(store):
    """The table's rows recomputed from the stored replications (no refitting)."""
    names = [r["target"] for r in store["rows"][:1]]
    store["rows"] = []
    for key, raw in store["raw"].items():
        reps = [{**r, "names": names, "warnings": []} for r in raw]
        store["rows"] += rows_for(int(key), reps, store["failed"][key])
    store["rows"].sort(key=lambda r: (r["G"], r["se"] != "iid"))
    return store


def write_markdown(store, json_path):
    with open(os.path.splitext(json_path)[0] + ".md", "w") as f:
        f.write(f"Coverage study, cluster-robust inference ({store['meta']})\n\n")
        f.write("Linear model, continuous T confounded by x; x, T's noise and the error "
                "correlated within clusters (see benchmarks/coverage_clustered.py). Target "
                f"E[beta] = {TRUTH}. Acceptance: iid coverage <= 85%, cluster-robust 93-97%. "
                "Both SEs from the same fits and folds.\n\n")
        f.write(markdown_table(store["rows"], COLUMNS) + "\n")
        if store.get("notes"):
            f.write("\n" + "".join(f"* {note}\n" for note in store["notes"]))


if __name__ == "__main__":
    main()
