"""Speed of a default NestedLogitDML fit: n = 10⁵ choice situations, J = 6 in 3 nests.

The data are those of ``coverage_nested.py`` (heterogeneous β(w) and λ(w), one singleton
nest, prices in dollars). The fit uses the default settings (five folds, network
(64, 32), Λ̂ regressed on w, λ fixed in w, ``torch_num_threads="auto"``, which shares
the machine's cores among the folds' Λ regressions); ``--vary-lambda`` lets λ vary
with w too (``homogeneous=None``). Reports wall and CPU seconds of the fit (CPU
of this process, its threads included), the machine's core count and its 1-minute load
average before and after the fit, and E[λ] with its SE.

Usage: python benchmarks/speed_nested.py [--n 100000] [--vary-lambda]
Writes benchmarks/results/speed_nested/speed_nested.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from coverage_nested import NESTS, simulate  # noqa: E402

from sklearn_dml import NestedLogitDML  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vary-lambda", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "speed_nested"))
    args = ap.parse_args()
    w, x, y = simulate(args.n, args.seed)
    est = NestedLogitDML(6, nests=NESTS, attribute_names=["price", "quality"],
                         random_state=args.seed,
                         homogeneous=None if args.vary_lambda else "lambda")
    load_before = os.getloadavg()[0]  # the machine may be shared: its load, before and after
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the singleton nest's λ, fixed at 1
        est.fit(w, x, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    res = est.inference(["lambda[budget]", "lambda[premium]"])
    row = {"n": args.n, "lambda": "varies with w" if args.vary_lambda else "fixed in w",
           "wall_s": round(wall, 1),
           "cpu_s": round(cpu, 1), "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "load_average_1min_before": load_before,
           "load_average_1min": os.getloadavg()[0],
           "mean_best_epoch": est.inference_.diagnostics.get("mean_best_epoch"),
           "E[lambda]": [round(float(v), 4) for v in res.estimate],
           "se": [round(float(v), 4) for v in res.stderr]}
    print(json.dumps(row))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "speed_nested.json")
    rows = []
    if os.path.exists(path):  # one row per λ setting: the latest of each
        with open(path) as f:
            old = json.load(f)
        rows = [r for r in (old if isinstance(old, list) else [old])
                if r.get("lambda", "varies with w") != row["lambda"]]
    rows.append(row)
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)
    columns = list(row)
    with open(os.path.join(args.out, "speed_nested.md"), "w") as f:
        f.write("NestedLogitDML fit, default settings, J=6 in 3 nests, K=2\n\n")
        f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for r in rows:
            f.write("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |\n")


if __name__ == "__main__":
    main()
