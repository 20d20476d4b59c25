"""Speed benchmark: sklearn_dml vs deep-inference, EconML and DoubleML on the same data.

Every fit runs in a fresh interpreter (peers may live in other virtual environments),
sequentially, on identical simulated data: the linear design Y = α(x) + β(x)T + ε
(truth E[β] = 1.25) for every peer, and the logit design of ``make_logit`` (truth 0.6)
for ours and deep-inference (peers whose name contains "logit"); d covariates. Reports
CPU and wall seconds of the fit (after the peer's imports, whose CPU time is reported
apart: importing torch and scikit-learn costs every peer about 2.5 s), peak RSS, ratio of
fit CPU time vs ours on the same design, estimate and SE of E[β]; the log-log slope of
our time in n; and our training time against the FLOP floor of the epochs actually run.

Usage::

    python benchmarks/speed.py --n 1000 10000 100000 --d 20 \
        --peer-python /path/to/venv-with-econml-doubleml/bin/python \
        --di-python /path/to/venv-with-deep-inference/bin/python

Writes benchmarks/results/speed/speed.{json,md} and doc/performance.rst.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from _mc import markdown_table

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "_speed_runner.py")


def matmul_gflops(threads):
    """Measured float32 matmul throughput of this machine (the FLOP floor's yardstick)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    reps, start = 20, time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * 1024**3 * reps / (time.perf_counter() - start) / 1e9


def run_one(python, peer, n, d, seed, timeout):
    env = dict(os.environ)
    try:
        out = subprocess.run([python, RUNNER, peer, str(n), str(d), str(seed)], env=env,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"peer": peer, "n": n, "d": d, "status": f"timeout > {timeout} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"peer": peer, "n": n, "d": d, "status": f"error: {tail[0][:120]}"}
    return {**json.loads(lines[-1]), "status": "ok"}


COLUMNS = ["peer", "design", "n", "d", "cpu_s", "import_cpu_s", "wall_s", "peak_rss_mb",
           "cpu_ratio_vs_ours", "estimate", "stderr", "status"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", nargs="+", default=[
        "sklearn_dml", "deep_inference_defaults", "deep_inference_k5", "econml_lineardml",
        "econml_lineardml_mlp", "doubleml_plr_rf", "sklearn_dml_logit",
        "deep_inference_logit_defaults"])
    ap.add_argument("--peer-python", default=None, help="interpreter with econml and doubleml")
    ap.add_argument("--di-python", default=None, help="interpreter with deep-inference")
    ap.add_argument("--timeout", type=int, default=1200)
    ap.add_argument("--max-peer-n", type=int, default=100000,
                    help="skip peers above this n (ours always runs)")
    ap.add_argument("--resume-log", default=None,
                    help="stdout of an earlier run: reuse its rows instead of re-timing them")
    args = ap.parse_args()
    done = {}
    if args.resume_log:
        with open(args.resume_log) as f:
            for line in f:
                if line.startswith('{"peer"'):
                    row = json.loads(line)
                    if row.get("status") == "ok":
                        done[(row["peer"], row["n"])] = {**row, "status": "ok (earlier run)"}

    pythons = {}
    for peer in args.peers:
        if peer.startswith("deep_inference"):
            pythons[peer] = args.di_python
        elif peer.startswith("sklearn_dml"):
            pythons[peer] = sys.executable
        else:
            pythons[peer] = args.peer_python
    rows = []
    for n in args.n:
        ours = {}  # the design (linear or logit) -> our row, the yardstick of its peers
        for peer in args.peers:
            design = "logit" if "logit" in peer else "linear"
            python = pythons[peer]
            if python is None:
                continue
            if not peer.startswith("sklearn_dml") and n > args.max_peer_n:
                rows.append({"peer": peer, "n": n, "d": args.d, "status": "skipped (n)"})
                continue
            row = done.get((peer, n)) or run_one(python, peer, n, args.d, args.seed,
                                                 args.timeout)
            row["design"] = design
            if peer.startswith("sklearn_dml"):
                ours[design] = row
            mine = ours.get(design)
            if mine and mine.get("status") == "ok" and row.get("status", "").startswith("ok"):
                row["cpu_ratio_vs_ours"] = row["cpu_s"] / mine["cpu_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)

    ok = [r for r in rows if r["peer"] == "sklearn_dml" and r.get("status") == "ok"]
    slope = None
    if len(ok) >= 2:
        slope = float(np.polyfit(np.log([r["n"] for r in ok]), np.log([r["wall_s"] for r in ok]),
                                 1)[0])
    gflops = matmul_gflops(1)
    floor = [{"n": r["n"], "train_gflop": r["train_flops"] / 1e9,
              "floor_s": r["train_flops"] / 1e9 / gflops, "wall_s": r["wall_s"]} for r in ok]
    meta = (f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}; float32 matmul {gflops:.1f} GFLOP/s on 1 thread")
    os.makedirs(os.path.join(HERE, "results", "speed"), exist_ok=True)
    with open(os.path.join(HERE, "results", "speed", "speed.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "slope": slope, "flop_floor": floor}, f, indent=1)
    text = [f"Speed benchmark ({meta})", "", markdown_table(rows, COLUMNS, number="{:.3g}"), ""]
    if slope is not None:
        text.append(f"log-log slope of our wall time in n: {slope:.2f}")
    for fl in floor:
        text.append(f"n={fl['n']}: training {fl['train_gflop']:.1f} GFLOP, floor "
                    f"{fl['floor_s']:.2f} s at the measured matmul rate; fit took "
                    f"{fl['wall_s']:.1f} s wall")
    with open(os.path.join(HERE, "results", "speed", "speed.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
