"""Large-n fits on a GPU: wall time per stage, GPU and host memory, estimate against the truth.

Each configuration runs in a fresh interpreter (so peak memory is its own) with a time
limit. Stage timings come from ``verbose=1``.

Usage (on a machine with a CUDA device)::

    python benchmarks/gpu.py --out benchmarks/results/gpu/gpu
    python benchmarks/gpu.py --only linear:1000000 --device cpu   # one configuration

Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _mc import markdown_table  # noqa: E402

# (model, n, extra estimator parameters)
CONFIGS = [
    ("linear", 100_000, {}),
    ("linear", 1_000_000, {}),
    ("linear", 1_000_000, {"n_jobs": 5}),
    ("linear", 1_000_000, {"lambda_model": "network"}),
    ("logit", 1_000_000, {}),
    ("logit", 1_000_000, {"_lambda_in_threads": True}),
    ("logit", 1_000_000, {"n_jobs": 5}),
    ("logit", 1_000_000, {"lambda_model": "network"}),
]


def child(model, n, d, device, params):
    import numpy as np
    import torch

    from sklearn_dml import LogitDML, StructuralDMLRegressor

    if model == "linear":
        from _speed_runner import simulate

        X, T, Y = simulate(n, d, 0)
        truth, est = 1.25, StructuralDMLRegressor(target="beta", random_state=0)
    else:
        from sklearn_dml.datasets import make_logit

        data = make_logit(n, n_features=d, random_state=0)
        X, T, Y, truth = data.X, data.T, data.Y, data.truth["E[beta]"]
        est = LogitDML(target="beta", random_state=0)
    estimator_params = dict(params)
    if estimator_params.pop("_lambda_in_threads", False):  # the Λ folds in threads, as before
        import sklearn_dml._parallel as parallel

        parallel.LAMBDA_PROCESSES_MIN_ROWS = float("inf")
    est.set_params(device=device, verbose=1, **estimator_params)
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    est.fit(X, T, Y)
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    epochs = [int(np.isfinite(h).sum()) for h in est.history_[0] if h is not None]
    gpu_mb = (torch.cuda.max_memory_allocated() / 2**20
              if device.startswith("cuda") else None)
    print(json.dumps({
        "model": model, "n": n, "d": d, "device": est.device_, "params": params,
        "wall_s": wall, "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mb": gpu_mb, "estimate": float(est.inference_.estimate[0]),
        "stderr": float(est.inference_.stderr[0]), "truth": truth,
        "epochs": epochs}))


def run(model, n, d, device, params, timeout):
    cmd = [sys.executable, __file__, "--child", model, str(n), str(d), device, json.dumps(params)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", TQDM_DISABLE="1")  # stage lines, no bars
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        stages = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else exc.stderr
        return {"model": model, "n": n, "d": d, "params": params,
                "status": f"timeout > {timeout} s", "stages": stages or ""}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return {"model": model, "n": n, "d": d, "params": params,
                "status": "error: " + " | ".join(tail)[:300]}
    row = json.loads(lines[-1])
    row.update(status="ok", stages=out.stderr, process_wall_s=time.perf_counter() - start,
               lambda_workers="(folds in worker processes)" in out.stderr)
    return row


COLUMNS = ["model", "n", "params", "device", "wall_s", "cpu_s", "peak_gpu_mb", "peak_rss_mb",
           "estimate", "stderr", "truth", "epochs", "status"]


def markdown(rows, header):
    lines = [header, "", markdown_table(rows, COLUMNS, number="{:.4g}"), ""]
    for r in rows:
        stages = [ln for ln in r.get("stages", "").splitlines() if "[sklearn_dml]" in ln]
        if stages:
            lines += [f"Stages, {r['model']} n={r['n']} {r.get('params') or ''}:", "", "::", ""]
            lines += ["    " + ln for ln in stages] + [""]
    return "\n".join(lines)


def _selected(only):
    """The configurations to run: all, or those --only names ("model:n" picks every listed
    configuration of that size; "model:n:PARAMS" one, listed or not)."""
    if not only:
        return CONFIGS
    chosen = []
    for entry in only:
        model, n, *params = entry.split(":", 2)
        if params:
            chosen.append((model, int(n), json.loads(params[0])))
        else:
            chosen += [c for c in CONFIGS if c[:2] == (model, int(n))]
    return chosen


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, model, n, d, device, params = sys.argv
        return child(model, int(n), int(d), device, json.loads(params))
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--only", nargs="*", help="model:n entries to run, e.g. linear:1000000, "
                    "or model:n:PARAMS for one row, listed or not, e.g. "
                    "'logit:200000:{\"n_jobs\": 5}'")
    ap.add_argument("--timeout", type=int, default=240)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "gpu", "gpu"))
    args = ap.parse_args()

    import torch

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    header = (f"GPU benchmark: {name}, torch {torch.__version__}, {os.cpu_count()} CPU cores, "
              f"{platform.machine()}, python {platform.python_version()}; device={args.device}")
    print(header, flush=True)
    rows = []
    for model, n, params in _selected(args.only):
        row = run(model, n, args.d, args.device, params, args.timeout)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "stages"}), flush=True)
        print(row.get("stages", ""), flush=True)
        with open(args.out + ".json", "w") as fh:
            json.dump({"header": header, "rows": rows}, fh, indent=1)
        with open(args.out + ".md", "w") as fh:
            fh.write(markdown(rows, header))
    print(markdown(rows, header))


if __name__ == "__main__":
    main()
