"""Why the average of a scale component is off-centre: the heteroskedastic family's log σ.

The score of log σ is 1 − (y − η̂)²/σ²; at η̂ = η + δ its mean is −δ²/σ², so the one-step
E[log σ] keeps a bias of about ½ E[δ²/σ²] (benchmarks/coverage_components.py). Two checks
on the catalogue's heteroskedastic design (n = 2000, cross-fitted with defaults):

* ``decompose``: per seed, the debiased E[log σ] minus the truth against ½ E[δ²/σ²] of
  the cross-fitted mean (``--weight-decay`` to vary the network's penalty);
* ``independent``: fold 0's network from two independent samples, on 20,000 new rows:
  E[δ_a²/σ²] against E[δ_a δ_b/σ²]. The second is the part of the error a product of two
  independent fits (double cross-fitting) would leave.

Usage: python benchmarks/diagnose_scale_bias.py decompose [--seeds 12] [--weight-decay auto]
       python benchmarks/diagnose_scale_bias.py independent [--seeds 6]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml._nets import predict_theta  # noqa: E402
from sklearn_dml._sklearn_compat import validate_X  # noqa: E402
from sklearn_dml.datasets import make_family_data  # noqa: E402


def _index(theta, t):
    return theta[:, 0] + theta[:, 1] * t


def decompose(seed, weight_decay):
    d = make_family_data("heteroskedastic", 2000, random_state=seed)
    est = sd.HeteroskedasticDML(cv=5, random_state=seed, weight_decay=weight_decay)
    est.fit(d.X, d.T, d.Y)
    estimate = est.inference("log_sigma").estimate[0]
    t = d.T.ravel()
    delta = _index(est._reps[0].network_theta, t) - _index(d.theta, t)
    return estimate - d.theta[:, 2].mean(), 0.5 * np.mean(delta ** 2 / np.exp(2 * d.theta[:, 2]))


def independent(seed, test):
    t = test.T.ravel()
    errors = []
    for s in (seed, seed + 1000):
        d = make_family_data("heteroskedastic", 2000, random_state=s)
        est = sd.HeteroskedasticDML(cv=5, random_state=s).fit(d.X, d.T, d.Y)
        Xs = est._standardize(validate_X(est, test.X, reset=False))
        errors.append(_index(predict_theta(est.models_[0], Xs).mean(axis=0), t)
                      - _index(test.theta, t))
    var = np.exp(2 * test.theta[:, 2])
    return np.mean(errors[0] ** 2 / var), np.mean(errors[0] * errors[1] / var)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=["decompose", "independent"])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--weight-decay", default="auto")
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.check == "decompose":
        wd = args.weight_decay if args.weight_decay == "auto" else float(args.weight_decay)
        rows = np.array([decompose(s, wd) for s in range(args.seeds)])
        print(f"weight_decay={args.weight_decay}, seeds 0-{args.seeds - 1}: debiased "
              f"E[log σ] − truth {rows[:, 0].mean():+.4f}, ½E[δ²/σ²] {rows[:, 1].mean():.4f}")
    else:
        test = make_family_data("heteroskedastic", 20000, random_state=9999)
        rows = np.array([independent(s, test) for s in range(args.seeds)])
        print(f"seeds 0-{args.seeds - 1} and 1000-{999 + args.seeds}: E[δ_a²/σ²] "
              f"{rows[:, 0].mean():.4f}, E[δ_a δ_b/σ²] {rows[:, 1].mean():.4f}")


if __name__ == "__main__":
    main()
