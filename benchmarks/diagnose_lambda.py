"""Where does a binary family's regime-C bias come from? An oracle decomposition.

For each replication of ``make_family_data(family)`` (confounded continuous T, n=2000,
K=5), the estimator is fitted once; then its cross-fitted θ̂ and scores are kept and the
one-step estimate of E[β] is recomputed with four choices of Λ(x):

``default``
    the estimator's own Λ̂ (Hessian regression at the auxiliary fit);
``true``
    the expected Hessian at the *true* θ(x), integrated over the true law of T | X;
``plain``
    the expected Hessian at the cross-fitted θ̂(x), over the true law of T | X (what the
    conditional Λ estimates);
``secant``
    the exact secant of E[ℓ'(Y, η̂) | x, t] between η and η̂, over the true law of T | X:
    with it the one-step estimate is exact in conditional mean, whatever θ̂'s error.

Only the simulation knows ``true`` and ``secant``; they show how much of the bias a better
Λ̂ could remove and how much is left by θ̂. Estimator keyword arguments may be given as
``key=value`` (e.g. ``n_networks=3``, ``weight_decay=1e-3``).

Usage: python benchmarks/diagnose_lambda.py probit [--reps 40] [key=value ...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_family_data  # noqa: E402

ESTIMATORS = {"probit": sd.ProbitDML, "gumbel": sd.GumbelDML}
CHOICES = ("default", "true", "plain", "secant")
N_NODES = 40  # Gauss-Hermite nodes for T | X ~ N(0.5 x1 + 0.3 x3, 1), the design's law


def _lambda_over_law(weights, t_nodes, node_probs):
    """E[w(T) z z' | x] for z = (1, T), from per-row weights at the quadrature nodes
    (``node_probs`` shared by all rows, or one row of probabilities per row)."""
    mass = weights * np.broadcast_to(node_probs, weights.shape)
    lam = np.empty((t_nodes.shape[0], 2, 2))
    lam[:, 0, 0] = mass.sum(axis=1)
    lam[:, 0, 1] = lam[:, 1, 0] = (mass * t_nodes).sum(axis=1)
    lam[:, 1, 1] = (mass * t_nodes ** 2).sum(axis=1)
    return lam


def decompose(family_name, seed, **estimator_params):
    """One replication: the one-step estimate of E[β] under each Λ choice."""
    data = make_family_data(family_name, 2000, random_state=seed)
    est = ESTIMATORS[family_name](cv=5, random_state=seed, **estimator_params)
    est.fit(data.X, data.T, data.Y)
    family = est.family_
    theta_hat, theta = est.theta_, data.theta[:, :2]
    score = family.gradient(data.Y, data.T.reshape(-1, 1), theta_hat)

    nodes, probs = np.polynomial.hermite_e.hermegauss(N_NODES)
    probs = probs / probs.sum()
    t_nodes = (0.5 * data.X[:, 0] + 0.3 * data.X[:, 2])[:, None] + nodes[None, :]
    eta_hat = theta_hat[:, :1] + theta_hat[:, 1:2] * t_nodes
    eta = theta[:, :1] + theta[:, 1:2] * t_nodes
    p = family.mean_eta(eta)
    mean_score = (p * family.d1(np.ones_like(eta_hat), eta_hat)
                  + (1 - p) * family.d1(np.zeros_like(eta_hat), eta_hat))
    gap = eta_hat - eta
    close = np.abs(gap) < 1e-6
    secant = np.where(close, family.expected_d2(eta_hat), mean_score / np.where(close, 1, gap))
    lambdas = {"default": est.lambda_,
               "true": _lambda_over_law(family.expected_d2(eta), t_nodes, probs),
               "plain": _lambda_over_law(family.expected_d2(eta_hat), t_nodes, probs),
               "secant": _lambda_over_law(secant, t_nodes, probs)}
    out = {"seed": seed, "truth": data.truth["E[beta]"], "stderr": float(est.inference_.stderr[0]),
           "beta_rmse": float(np.sqrt(np.mean((theta_hat[:, 1] - theta[:, 1]) ** 2)))}
    for name, lam in lambdas.items():
        psi = theta_hat - np.linalg.solve(lam, score[:, :, None])[:, :, 0]
        out[name] = float(psi[:, 1].mean())
    return out


def summarize(rows):
    """Bias of each choice in units of the mean SE, with its Monte Carlo s.e., and the SDs."""
    se = np.mean([r["stderr"] for r in rows])
    lines = [f"R={len(rows)}, mean SE {se:.4f}, RMSE of beta-hat(x) "
             f"{np.mean([r['beta_rmse'] for r in rows]):.3f}"]
    for name in CHOICES:
        err = np.array([r[name] - r["truth"] for r in rows])
        mc_se = err.std(ddof=1) / np.sqrt(len(err)) / se
        lines.append(f"{name:8s} bias/SE {err.mean() / se:+.3f} (MC s.e. {mc_se:.3f}), "
                     f"SD {err.std():.4f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("family", choices=sorted(ESTIMATORS))
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--out", default=None, help="JSON-lines file for the replications")
    ap.add_argument("params", nargs="*", help="estimator parameters as key=value")
    args = ap.parse_args()
    params = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.params)}
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows = run_replications(lambda seed: decompose(args.family, seed, **params),
                            range(args.reps), args.out)
    print(summarize(rows))


def run_replications(one, seeds, out=None):
    """``one(seed)`` for each seed, each result appended to the JSON-lines file ``out``
    as soon as it is done (a long run can be read while it goes)."""
    rows = []
    for seed in seeds:
        rows.append(one(seed))
        if out:
            with open(out, "a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
    return rows


if __name__ == "__main__":
    main()
