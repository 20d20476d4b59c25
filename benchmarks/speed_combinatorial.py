"""Runtime of CombinatorialDML on one CPU thread (issue 5: n=10,000, m=3, K=5 under 60 s).

Simulated gen_sigmoid_ii experiment (sklearn_dml.datasets.make_combinatorial, m+2 observed
cells), default settings, torch / BLAS / OpenMP limited to one thread. Times the fit with
and without the structure check (the second, unstructured training run), three seeds
each, and reports CPU and wall seconds, epochs trained and the unobserved-cell estimate.

Usage: python benchmarks/speed_combinatorial.py [--n 10000] [--m 3] [--seeds 3]
Writes benchmarks/results/speed_combinatorial/speed_combinatorial.{json,md}.
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table  # noqa: E402

from sklearn_dml import CombinatorialDML  # noqa: E402
from sklearn_dml.datasets import make_combinatorial  # noqa: E402

LIMIT_S = 60.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--m", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "speed_combinatorial"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    with threadpool_limits(1):
        for check in (True, False):
            for seed in range(args.seeds):
                data = make_combinatorial(n_samples=args.n, n_treatments=args.m,
                                          random_state=seed)
                est = CombinatorialDML(structure_check=check, cv=5, random_state=seed)
                c0, w0 = time.process_time(), time.perf_counter()
                est.fit(data.X, data.T, data.Y)
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                name = f"ATE[{data.unobserved[0]}]"
                j = est.inference_.names.index(name)
                rows.append({"n": args.n, "m": args.m, "structure_check": check, "seed": seed,
                             "cpu_s": cpu, "wall_s": wall,
                             "mean_best_epoch": est.inference_.diagnostics["mean_best_epoch"],
                             "target": name, "estimate": float(est.inference_.estimate[j]),
                             "stderr": float(est.inference_.stderr[j]),
                             "truth": data.truth[name], "under_limit": wall < LIMIT_S})
                print(json.dumps(rows[-1]), flush=True)
    meta = (f"one thread, K=5, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores (shared with other jobs); torch {torch.__version__}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "speed_combinatorial.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    worst = max(r["wall_s"] for r in rows)
    with open(os.path.join(args.out, "speed_combinatorial.md"), "w") as f:
        f.write(f"CombinatorialDML runtime, n={args.n}, m={args.m} ({meta})\n\n")
        f.write(f"Limit {LIMIT_S:.0f} s; slowest fit {worst:.1f} s wall; median "
                f"{np.median([r['wall_s'] for r in rows]):.1f} s.\n\n")
        cols = ["structure_check", "seed", "cpu_s", "wall_s", "mean_best_epoch", "target",
                "truth", "estimate", "stderr", "under_limit"]
        f.write(markdown_table(rows, cols) + "\n")


if __name__ == "__main__":
    main()
