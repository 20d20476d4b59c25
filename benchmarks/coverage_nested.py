"""Monte Carlo study for NestedLogitDML with heterogeneous preferences and λ(w).

J = 6 alternatives in three nests (budget: 3, premium: 2, store: 1, whose λ is fixed at
1), K = 2 attributes (price in dollars, uniform on 2-20, independent of w; quality),
w ~ N(0, I_3), n = 5000 choice situations, default estimator settings (five folds,
network (64, 32), Λ̂ regressed on w):

    β_price(w) = −0.25 − 0.1 tanh(w0),  β_quality(w) = 0.8 + 0.3 tanh(w1),
    λ_budget(w) = 0.5 + 0.15 tanh(w2),  λ_premium(w) = 0.7 + 0.1 tanh(w0),

so E[λ_budget] = 0.5, E[λ_premium] = 0.7 and the willingness to pay for quality
−E[β_quality]/E[β_price] = 3.2 exactly. The own-price elasticity of alternative 1 and
its cross elasticities within its nest (alternative 0) and across nests (alternative
3), at a fixed menu, have truths from 10⁶ draws of w.

With ``--lambda constant`` the λ are the constants 0.5 and 0.7 and the estimator holds
them fixed in w (``homogeneous=["lambda[budget]", "lambda[premium]"]``; add
``--fit varying`` to let them vary anyway, the misspecification-free comparison).

Usage: python benchmarks/coverage_nested.py [--reps 200] [--n 5000] [--jobs 1]
                                            [--lambda varying|constant] [--fit auto|varying]
                                            [--lambda-method auto|regression|conditional]
                                            [--n-networks 1]
Writes benchmarks/results/coverage_nested/coverage_nested{,_<lambda>_<fit>}{,_<method>}
{,_networks<k>}.{md,json},
updated every 10 replications.
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
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import markdown_table, split_failed, summarize, write_study  # noqa: E402

from sklearn_dml import NestedLogitDML  # noqa: E402
from sklearn_dml.families import NestedLogitFamily  # noqa: E402
from sklearn_dml.targets import ChoiceElasticity  # noqa: E402

J = 6
NESTS = {"budget": [0, 1, 2], "premium": [3, 4], "store": [5]}
ALPHA = np.array([0.4, 0.2, 1.0, 0.8, 0.3])  # alternatives 1..5 against 0
MENU = np.array([[6.0, 2.5], [7.0, 3.0], [5.0, 2.0], [12.0, 4.0], [11.0, 3.5], [4.0, 1.5]])
COLUMNS = ["target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "R", "cpu_s"]


LAMBDA_VARIES = True  # --lambda constant sets it False


def theta_of(w):
    """The true θ(w) = (α, β_price, β_quality, λ_budget, λ_premium), (n, 9)."""
    n = w.shape[0]
    vary = 1.0 if LAMBDA_VARIES else 0.0
    return np.column_stack([
        np.tile(ALPHA, (n, 1)), -0.25 - 0.1 * np.tanh(w[:, 0]), 0.8 + 0.3 * np.tanh(w[:, 1]),
        0.5 + vary * 0.15 * np.tanh(w[:, 2]), 0.7 + vary * 0.1 * np.tanh(w[:, 0])])


def family():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the store nest's λ is fixed at 1
        return NestedLogitFamily(J, 2, NESTS, attribute_names=["price", "quality"])


def elasticities():
    return [ChoiceElasticity(1, "price", at=MENU), ChoiceElasticity(0, "price", of=1, at=MENU),
            ChoiceElasticity(3, "price", of=1, at=MENU)]


def truths(draws=1_000_000, chunk=200_000, seed=12345):
    """E[λ], E[β] and the elasticities at MENU by Monte Carlo over w."""
    fam, rng = family(), np.random.default_rng(seed)
    sums = np.zeros(3)
    t = fam.pack(MENU[None])
    for _ in range(draws // chunk):
        theta = torch.as_tensor(theta_of(rng.normal(size=(chunk, 3))))
        tt = torch.as_tensor(np.repeat(t, chunk, axis=0))
        with torch.no_grad():
            sums += [float(e.torch_value(fam, theta, tt).mean()) for e in elasticities()]
    return {"E[lambda[budget]]": 0.5, "E[lambda[premium]]": 0.7, "E[beta[price]]": -0.25,
            "E[beta[quality]]": 0.8, "-E[beta[quality]] / E[beta[price]]": 3.2,
            **dict(zip(_elasticity_names(), sums / (draws // chunk)))}


def _elasticity_names():
    return ["Elasticity[P[1] / price[1]]", "Elasticity[P[0] / price[1]]",
            "Elasticity[P[3] / price[1]]"]


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 3))
    x = np.stack([rng.uniform(2.0, 20.0, (n, J)), rng.normal(3.0, 1.0, (n, J))], axis=2)
    fam = family()
    P = fam.probabilities(fam.pack(x), theta_of(w))
    y = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=J - 1)
    return w, x, y.astype(float)


def replicate(n, seed, truth, lambda_varies=True, homogeneous=None, lambda_method="auto",
              n_networks=1):
    global LAMBDA_VARIES
    LAMBDA_VARIES = lambda_varies  # workers import the module afresh
    w, x, y = simulate(n, seed)
    est = NestedLogitDML(J, nests=NESTS, attribute_names=["price", "quality"], price="price",
                         target=["lambda[budget]", "lambda[premium]", "beta[price]",
                                 "beta[quality]", *elasticities()], random_state=seed,
                         homogeneous=homogeneous, lambda_method=lambda_method,
                         n_networks=n_networks)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(w, x, y)
        wtp = est.willingness_to_pay("quality")
    except Exception as exc:  # a failed fit is counted, not lost
        print(f"seed {seed}: {type(exc).__name__}: {exc}", flush=True)
        nan = np.full(len(truth), np.nan)
        return {"names": None, "estimate": nan, "stderr": nan, "truth": nan,
                "cpu": time.process_time() - t0}
    res = est.inference_
    names = [name.split(" | ")[0].replace("E[Elasticity", "Elasticity") for name in res.names]
    names += wtp.names
    return {"names": names, "estimate": np.r_[res.estimate, wtp.estimate],
            "stderr": np.r_[res.stderr, wtp.stderr],
            "truth": np.array([truth[name] for name in names]),
            "cpu": time.process_time() - t0}


def write_tables(results, args, t0):
    ok, failed = split_failed(results)
    rows = [{**row, "failed": failed} for row in summarize(ok)] if len(ok) > 1 else []
    meta = (f"J=6 in 3 nests, K=2, n={args.n}, λ {args.lambda_design}, fit "
            f"{args.fit}, lambda_method={args.lambda_method}, n_networks={args.n_networks}, "
            "otherwise default settings, "
            f"R={args.reps} requested "
            f"(seeds {args.seed0}-{args.seed0 + args.reps - 1}); {platform.machine()}, "
            f"{args.jobs} process(es) of one thread; wall {time.time() - t0:.0f} s")
    name = ("coverage_nested" if args.lambda_design == "varying" and args.fit == "auto"
            else f"coverage_nested_{args.lambda_design}_{args.fit}")
    if args.lambda_method != "auto":
        name += f"_{args.lambda_method}"
    if args.n_networks != 1:
        name += f"_networks{args.n_networks}"
    write_study(args.out, name, "NestedLogitDML", meta, rows, COLUMNS)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed0", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_nested"))
    ap.add_argument("--lambda", dest="lambda_design", choices=["varying", "constant"],
                    default="varying")
    ap.add_argument("--fit", choices=["auto", "varying"], default="auto",
                    help="auto: hold λ fixed in w where the design's λ is constant")
    ap.add_argument("--lambda-method", default="auto",
                    choices=["auto", "regression", "conditional"])
    ap.add_argument("--n-networks", type=int, default=1)
    args = ap.parse_args()
    global LAMBDA_VARIES
    LAMBDA_VARIES = args.lambda_design == "varying"
    homogeneous = (["lambda[budget]", "lambda[premium]"]
                   if not LAMBDA_VARIES and args.fit == "auto" else None)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    truth = truths()
    print(json.dumps(truth), flush=True)
    outs = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(replicate)(args.n, args.seed0 + r, truth, LAMBDA_VARIES, homogeneous,
                           args.lambda_method, args.n_networks)
        for r in range(args.reps))
    results, rows = [], []
    for r, out in enumerate(outs):
        results.append(out)
        print(json.dumps({"rep": r, "estimate": out["estimate"].tolist(),
                          "stderr": out["stderr"].tolist(), "cpu": out["cpu"]}), flush=True)
        if (r + 1) % 10 == 0 or r + 1 == args.reps:
            rows = write_tables(results, args, t0)
    print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
