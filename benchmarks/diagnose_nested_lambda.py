"""Where the bias of NestedLogitDML's E[λ] comes from when λ is held fixed in w (issue 23).

On the constant-λ design of ``coverage_nested.py --lambda constant`` (the default
``homogeneous="lambda"``), per seed, the one-step estimate of (λ_budget, λ_premium) is
recomputed with the estimator's own formula, γ̂ = mean γ̃ − Ĩ⁻¹ mean(ℓ_γ − A ℓ_β) with
A = Λ_γβ Λ_ββ⁻¹, from other pieces; every figure is in units of the fit's SE:

* ``estimate`` and ``oracle`` (true θ, exact Λ(w) = E_x[Fisher information | w] over
  ``--draws`` fresh attribute draws): their difference is the remainder θ̂ and Λ̂ add;
* ``exact_lambda_at_fit``: θ̂ with the exact Λ(w) at θ̂ (removes Λ̂'s regression error);
  ``exact_lambda_at_truth``: θ̂ with the exact Λ(w) at the true θ;
* ``beta_true_lambda_fit`` and ``beta_fit_lambda_true``: one of the two blocks at its truth;
* ``remainder_expected``: the remainder of ``exact_lambda_at_fit`` with the score's
  difference r(θ̂) − r(θ₀) integrated over the attributes and the true law of y (what the
  error of θ̂ adds on average), and ``remainder_noise``: the realized part that is left.

With ``--curvatures`` it also compares, on ``--rows`` rows, the projection and Ĩ taken
from the Fisher information at θ̂, from the expected observed Hessian there (the tangent
of E[ℓ_θ | w] at θ̂), from their average, and from the exact secant of E[ℓ_θ | w] between
θ₀ and θ̂ (Simpson's rule), which makes the remainder's first-order part vanish.

Written for the one-step estimator (commit fc581de), whose ``theta`` carried each
fold's λ̃; from the next commit on the estimator solves the moment and ``theta`` carries
the solved γ̂ on every row, so the one-step rows then start from γ̂.

Usage: python benchmarks/diagnose_nested_lambda.py --seeds 2040-2059 [--n 5000]
       [--draws 200] [--curvatures] [--n-networks 1]
Prints one JSON line per seed and the means and SDs over seeds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.func import jacfwd, jacrev, vmap  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import coverage_nested as cn  # noqa: E402

from sklearn_dml import NestedLogitDML  # noqa: E402

CONSTANT, VARYING = [7, 8], list(range(7))  # λ_budget, λ_premium; α and β
TRUTH = np.array([0.5, 0.7])


def attribute_draws(m, rng):
    return np.stack([rng.uniform(2.0, 20.0, (m, cn.J)), rng.normal(3.0, 1.0, (m, cn.J))], 2)


def exact_lambda(fam, theta, rng, draws):
    """Λ(w) = E_x[Fisher information at θ(w)], by Monte Carlo over the attributes."""
    lam = np.zeros((theta.shape[0], 9, 9))
    for _ in range(draws):
        lam += fam.expected_hessian(fam.pack(attribute_draws(theta.shape[0], rng)), theta)
    return lam / draws


def projection(lam):
    """A = Λ_γβ Λ_ββ⁻¹ per row (n, q, p)."""
    return np.linalg.solve(lam[:, VARYING][:, :, VARYING],
                           lam[:, VARYING][:, :, CONSTANT]).transpose(0, 2, 1)


def residual(grad, A):
    return grad[:, CONSTANT] - np.einsum("nqp,np->nq", A, grad[:, VARYING])


def pooled_information(rows_curvature, A):
    schur = (rows_curvature[:, CONSTANT][:, :, CONSTANT]
             - np.einsum("nqp,npr->nqr", A, rows_curvature[:, VARYING][:, :, CONSTANT]))
    info = schur.mean(0)
    return 0.5 * (info + info.T)


def one_step(fam, Y, T, theta, lam, rows_curvature=None):
    """The estimator's γ̂ with the given Λ (projection) and row curvature (Ĩ)."""
    A = projection(lam)
    rows_curvature = fam.expected_hessian(T, theta) if rows_curvature is None else rows_curvature
    info = pooled_information(rows_curvature, A)
    r = residual(fam.gradient(Y, T, theta), A)
    return theta[:, CONSTANT].mean(0) - np.linalg.solve(info, r.mean(0))


def expected_remainder(fam, Y, T, theta, theta0, lam, rng, draws):
    """The remainder of ``one_step(θ̂, lam)`` against r at θ₀ with the same A: its part
    integrated over attributes and y (true law), and the realized rest."""
    A = projection(lam)
    info = pooled_information(fam.expected_hessian(T, theta), A)
    shift = info @ (theta - theta0)[:, CONSTANT].mean(0)
    realized = residual(fam.gradient(Y, T, theta), A) - residual(fam.gradient(Y, T, theta0), A)
    expected = np.zeros_like(realized)
    for _ in range(draws):
        t = fam.pack(attribute_draws(theta.shape[0], rng))
        jac_fit, _ = fam.log_probability_jacobian(t, theta)
        jac_true, P0 = fam.log_probability_jacobian(t, theta0)
        expected -= residual(np.einsum("ns,nsd->nd", P0, jac_fit - jac_true), A) / draws
    return (np.linalg.solve(info, shift - expected.mean(0)),
            np.linalg.solve(info, expected.mean(0) - realized.mean(0)))


def loss_hessians(fam, t, theta):
    """−∂² log P_j / ∂θ² for every alternative j (n, S, d, d)."""
    def one(th, ti):
        return fam.log_probabilities(ti[None], th[None])[0]
    return -vmap(jacfwd(jacrev(one)))(torch.as_tensor(theta), torch.as_tensor(t)).numpy()


def curvatures(fam, Y, T, theta, theta0, rng, draws):
    """γ̂ with Λ and Ĩ from the Fisher information at θ̂, the tangent, their average and
    the exact secant of E[ℓ_θ | w] from θ₀ to θ̂ (all integrated over the attributes)."""
    m = theta.shape[0]
    fisher, fisher0, tangent, middle = (np.zeros((m, 9, 9)) for _ in range(4))
    for _ in range(draws):
        t = fam.pack(attribute_draws(m, rng))
        P0 = fam.probabilities(t, theta0)
        fisher += fam.expected_hessian(t, theta) / draws
        fisher0 += fam.expected_hessian(t, theta0) / draws
        tangent += np.einsum("ns,nsde->nde", P0, loss_hessians(fam, t, theta)) / draws
        middle += np.einsum("ns,nsde->nde", P0,
                            loss_hessians(fam, t, 0.5 * (theta + theta0))) / draws
    secant = (fisher0 + 4 * middle + tangent) / 6
    average = 0.5 * (fisher + tangent)
    return {"fisher_at_fit": one_step(fam, Y, T, theta, fisher, fisher),
            "tangent_at_fit": one_step(fam, Y, T, theta, tangent, tangent),
            "fisher_tangent_average": one_step(fam, Y, T, theta, average, average),
            "secant": one_step(fam, Y, T, theta, secant, secant),
            "oracle_rows": one_step(fam, Y, T, theta0, fisher0, fisher0)}


def run(seed, args):
    w, x, y = cn.simulate(args.n, seed)
    est = NestedLogitDML(cn.J, nests=cn.NESTS, attribute_names=["price", "quality"],
                         price="price", target=["lambda[budget]", "lambda[premium]"],
                         random_state=seed, n_networks=args.n_networks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(w, x, y)
    fam, rep, T, Y = est.family_, est._reps[0], est._rows.T, est._rows.Y
    se = est.inference_.stderr
    theta, theta0 = rep.theta, cn.theta_of(w)
    rng = np.random.default_rng(seed + 5)
    lam_fit = exact_lambda(fam, theta, rng, args.draws)
    lam_true = exact_lambda(fam, theta0, rng, args.draws)
    beta_true, lam_true_theta = theta0.copy(), theta.copy()
    beta_true[:, CONSTANT] = theta[:, CONSTANT]
    lam_true_theta[:, CONSTANT] = theta0[:, CONSTANT]
    values = {"estimate": est.inference_.estimate,
              "plug_in": theta[:, CONSTANT].mean(0),
              "oracle": one_step(fam, Y, T, theta0, lam_true),
              "exact_lambda_at_fit": one_step(fam, Y, T, theta, lam_fit),
              "exact_lambda_at_truth": one_step(fam, Y, T, theta, lam_true),
              "beta_true_lambda_fit": one_step(fam, Y, T, beta_true, lam_true),
              "beta_fit_lambda_true": one_step(fam, Y, T, lam_true_theta, lam_true)}
    out = {"seed": seed, **{k: ((v - TRUTH) / se).round(3).tolist() for k, v in values.items()}}
    expected, noise = expected_remainder(fam, Y, T, theta, theta0, lam_fit, rng,
                                         max(args.draws // 5, 1))
    out["remainder_expected"] = (expected / se).round(3).tolist()
    out["remainder_noise"] = (noise / se).round(3).tolist()
    if args.curvatures:
        rows = rng.choice(args.n, args.rows, replace=False)
        found = curvatures(fam, Y[rows], T[rows], theta[rows], theta0[rows], rng,
                           max(args.draws // 20, 1))
        oracle = found.pop("oracle_rows")
        out.update({f"remainder_{k}": ((v - oracle) / se).round(3).tolist()
                    for k, v in found.items()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seeds", default="2040-2059")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--rows", type=int, default=1500)
    ap.add_argument("--n-networks", type=int, default=1)
    ap.add_argument("--curvatures", action="store_true")
    args = ap.parse_args()
    cn.LAMBDA_VARIES = False
    torch.set_num_threads(1)
    first, last = (int(s) for s in args.seeds.split("-"))
    rows = []
    for seed in range(first, last + 1):
        rows.append(run(seed, args))
        print(json.dumps(rows[-1]), flush=True)
    for key in rows[0]:
        if key != "seed":
            values = np.array([r[key] for r in rows])
            print(f"{key:28s} mean {values.mean(0).round(3)} SD {values.std(0).round(2)}")


if __name__ == "__main__":
    main()
