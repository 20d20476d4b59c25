"""Monte Carlo study of MultinomialLogitDML on ill-conditioned choice data.

Data that look like real purchase records: prices in dollars around 100 (SD 5 within a
case, plus a case-level shift of SD 3 that moves with w₁), and a quality attribute that
tracks price (correlation 0.9), so the attribute cross-moments are ill-conditioned.
J = 4 alternatives, alternative constants (0, 0.3, −0.2, 0.1), preferences
β_price(w) = −0.4 − 0.1·w₂ and β_quality(w) = 1 + 0.3·tanh(w₁) (E = −0.4 and 1.0),
w ~ N(0, I₃), n = 2000 cases, default settings. Targets: E[β_price], E[β_quality].

Writes benchmarks/results/coverage_choice_illconditioned/coverage_choice_illconditioned.{md,json}.

Usage: python benchmarks/coverage_choice_illconditioned.py [--reps 100] [--n 2000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import split_failed, summarize, write_study  # noqa: E402

from sklearn_dml import MultinomialLogitDML  # noqa: E402

TRUTH = np.array([-0.4, 1.0])
COLUMNS = ["target", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "R", "cpu_s"]


def simulate(n, seed):
    """Covariates w (n, 3), attributes (n, 4, 2): price in dollars and quality, choices."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, 3))
    z = rng.standard_normal((n, 4))
    price = 100 + 5 * z + 3 * W[:, [0]]
    quality = 0.9 * z + 0.44 * rng.standard_normal((n, 4))
    beta_price, beta_quality = -0.4 - 0.1 * W[:, 1], 1.0 + 0.3 * np.tanh(W[:, 0])
    utility = (np.r_[0.0, 0.3, -0.2, 0.1] + beta_price[:, None] * price
               + beta_quality[:, None] * quality + rng.gumbel(size=(n, 4)))
    return W, np.stack([price, quality], axis=2), utility.argmax(axis=1).astype(float)


def replicate(n, seed):
    W, attributes, y = simulate(n, seed)
    t0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = MultinomialLogitDML(4, attribute_names=["price", "quality"],
                                      random_state=seed).fit(W, attributes, y)
            res = est.inference(["beta[price]", "beta[quality]"])
    except Exception:  # a crash is a failed replication, counted by split_failed
        return {"names": ["E[beta[price]]", "E[beta[quality]]"], "estimate": np.full(2, np.nan),
                "stderr": np.full(2, np.nan), "truth": TRUTH, "cpu": 0.0}
    return {"names": res.names, "estimate": res.estimate, "stderr": res.stderr,
            "truth": TRUTH, "cpu": time.process_time() - t0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "coverage_choice_illconditioned"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    results, failed = split_failed([replicate(args.n, seed) for seed in range(args.reps)])
    meta = (f"n={args.n}, J=4, default settings, R={args.reps} (seeds 0-{args.reps - 1}), "
            f"{failed} failed; one thread; {platform.processor() or platform.machine()}; "
            f"wall {time.time() - t0:.0f} s")
    write_study(args.out, "coverage_choice_illconditioned",
                "MultinomialLogitDML on ill-conditioned attributes", meta, summarize(results),
                COLUMNS)
    print(open(os.path.join(args.out, "coverage_choice_illconditioned.md")).read())


if __name__ == "__main__":
    main()
