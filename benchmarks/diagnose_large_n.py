"""Where does a regime-C standard error fall short at large n? An oracle decomposition.

For each replication of the design (``--design logit``: ``make_logit(n,
treatment="continuous")``; ``--design poisson``, ``probit`` or ``tobit``:
``make_family_data(design, n)``; all draw T | X ~ N(0.5 x₁ + 0.3 x₃, 1); ``--design linear-binary``:
``make_linear_confounded(n, treatment="binary")``; ``--design logit-randomized``:
``make_logit(n, treatment="randomized")``; ``--design wide-logit``: coverage_wide.py's
logit-relevant9; ``--design fixed-effects-logit`` (``-probit``, ``-poisson``):
coverage_fixed_effects.py's; ``--design zero-inflated-linear``: a linear model whose T is
0 on most rows and log-normal on the others; ``zero-inflated-logit`` and ``-probit``: the
same T under a binary outcome) the estimator is fitted once; its cross-fitted θ̂
and scores are kept and the one-step estimate of E[β] is split as

``estimate − truth = oracle + remainder``

where ``oracle`` is the mean of the efficient influence function (true θ, true
Λ(x) = E[H | x] over the true law of T | X) minus the truth, and ``remainder`` is what
θ̂ and Λ̂ add. The remainder is further split with the true Λ at θ̂ (``plain``): the
part due to Λ̂'s error and the part due to θ̂'s error. Across replications the variance
of ``oracle`` is what the sandwich SE estimates; a remainder with a non-negligible SD is
variance the SE does not see.

Each replication also records the tail of the estimate's own ψ (the largest single-row
share of the estimate, in SE units) and of Λ̂⁻¹'s β-entry against the true Λ⁻¹'s.

With ``--oracle-only`` no estimator is fitted: the efficient influence function's z-score
per seed, over as many seeds as asked, tells whether a study's seeds are a typical draw.

Usage: python benchmarks/diagnose_large_n.py [--design poisson] --n 50000 --reps 30
       [--oracle-only] [key=value ...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from functools import partial  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import special  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_family_data, make_linear_confounded, make_logit  # noqa: E402
from sklearn_dml.families import FAMILIES  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import coverage_fixed_effects  # noqa: E402
import coverage_wide  # noqa: E402
from diagnose_lambda import N_NODES, _lambda_over_law, run_replications  # noqa: E402


def _one_step(theta, lam, score):
    return (theta - np.linalg.solve(lam, score[:, :, None])[:, :, 0])[:, 1]


def _normal_law(data):
    """The quadrature of T | X ~ N(0.5 x₁ + 0.3 x₃, 1)."""
    nodes, probs = np.polynomial.hermite_e.hermegauss(N_NODES)
    return (0.5 * data.X[:, 0] + 0.3 * data.X[:, 2])[:, None] + nodes[None, :], probs / probs.sum()


def _normal_law_given(data):
    """The quadrature of T | X ~ N(t_mean(x), 1), the study's own mean of T."""
    nodes, probs = np.polynomial.hermite_e.hermegauss(N_NODES)
    return data.t_mean[:, None] + nodes[None, :], probs / probs.sum()


def _propensity_law(data):
    """T | X ~ Bernoulli(σ(0.8 x₁ − 0.5 x₃)) (``make_linear_confounded``'s binary T)."""
    e = 1.0 / (1.0 + np.exp(-(0.8 * data.X[:, 0] - 0.5 * data.X[:, 2])))
    return np.tile([0.0, 1.0], (e.size, 1)), np.column_stack([1.0 - e, e])


def _zero_inflated_law(data):
    """T | X: 0 with probability 1 − π(x), else log-normal (``zero_inflated_linear``)."""
    nodes, probs = np.polynomial.hermite_e.hermegauss(N_NODES)
    log_t = data.log_t_mean[:, None] + ZERO_INFLATED_LOG_SD * nodes[None, :]
    return (np.column_stack([np.zeros_like(data.positive), np.exp(log_t)]),
            np.column_stack([1 - data.positive,
                             data.positive[:, None] * (probs / probs.sum())[None, :]]))


ZERO_INFLATED_LOG_SD = 0.5


def zero_inflated_linear(n, seed, outcome="linear"):
    """A treatment like cigarettes or hours: 0 on 70% of rows (fewer at large x₀), else
    log-normal with a log-mean rising in x₀; Y = x₀ + β(x)·T + ε, β(x) = 0.5 + 0.2 tanh x₁;
    or (``outcome="logit"`` or ``"probit"``) Y ~ Bernoulli(F(0.3 x₀ − 0.5 + β(x)·T)),
    β(x) = 0.3 + 0.1 tanh x₁. (Not a Poisson: E[e^{βT} | x] is infinite for a log-normal T.)"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    positive = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) + 0.8 * X[:, 0])))
    log_t_mean = 0.3 * X[:, 0] + 1.0
    T = np.where(rng.random(n) < positive,
                 np.exp(log_t_mean + ZERO_INFLATED_LOG_SD * rng.normal(size=n)), 0.0)
    truth = 0.5 if outcome == "linear" else 0.3
    if outcome == "linear":
        theta = np.column_stack([X[:, 0], 0.5 + 0.2 * np.tanh(X[:, 1])])
        Y = theta[:, 0] + theta[:, 1] * T + rng.normal(size=n)
    else:
        theta = np.column_stack([0.3 * X[:, 0] - 0.5, truth + 0.1 * np.tanh(X[:, 1])])
        eta = theta[:, 0] + theta[:, 1] * T
        p = 1 / (1 + np.exp(-eta)) if outcome == "logit" else special.ndtr(eta)
        Y = (rng.random(n) < p).astype(float)
    return SimpleNamespace(X=X, T=T, Y=Y, theta=theta, truth={"E[beta]": truth},
                           positive=positive, log_t_mean=log_t_mean)


def _coin_law(data):
    """T ~ Bernoulli(½), independent of X (``make_logit``'s randomized T)."""
    n = data.X.shape[0]
    return np.tile([0.0, 1.0], (n, 1)), np.array([0.5, 0.5])


# design -> (simulator, estimator, family, law of T given X)
DESIGNS = {"logit": (lambda n, seed: make_logit(n, treatment="continuous", random_state=seed),
                     sd.LogitDML, "logit", _normal_law),
           "poisson": (lambda n, seed: make_family_data("poisson", n, random_state=seed),
                       sd.PoissonDML, "poisson", _normal_law),
           "probit": (lambda n, seed: make_family_data("probit", n, random_state=seed),
                      sd.ProbitDML, "probit", _normal_law),
           "tobit": (lambda n, seed: make_family_data("tobit", n, random_state=seed),
                     sd.TobitDML, "tobit", _normal_law),
           "linear-binary": (lambda n, seed: make_linear_confounded(n, treatment="binary",
                                                                    random_state=seed),
                             sd.StructuralDMLRegressor, "linear", _propensity_law),
           "logit-randomized": (lambda n, seed: make_logit(n, treatment="randomized",
                                                           random_state=seed),
                                partial(sd.LogitDML, treatment_law=([0, 1], [0.5, 0.5])),
                                "logit", _coin_law),
           "zero-inflated-linear": (zero_inflated_linear,
                                    partial(sd.StructuralDMLRegressor, target="beta"), "linear",
                                    _zero_inflated_law),
           **{f"zero-inflated-{name}": (partial(zero_inflated_linear, outcome=name),
                                        partial(estimator, target="beta"), name,
                                        _zero_inflated_law)
              for name, estimator in (("logit", sd.LogitDML), ("probit", sd.ProbitDML))},
           "wide-logit": (lambda n, seed: coverage_wide.sample("logit-relevant9", n, seed),
                          sd.LogitDML, "logit", _normal_law_given),
           **{f"fixed-effects-{name}": (partial(coverage_fixed_effects.sample, name),
                                        estimator, name, _normal_law_given)
              for name, (estimator, _) in coverage_fixed_effects.FAMILIES.items()
              if name != "linear"}}


def _tails(psi, lam_hat, lam_true, stderr):
    """The largest single-row share of the mean of ψ, in SE units, and the upper
    quantiles of Λ̂⁻¹'s β-entry over the true Λ⁻¹'s."""
    n = psi.shape[0]
    ratio = np.linalg.inv(lam_hat)[:, 1, 1] / np.linalg.inv(lam_true)[:, 1, 1]
    return {"max_row_se": float(np.abs(psi - psi.mean()).max() / n / stderr),
            "inv_ratio_q50": float(np.quantile(ratio, 0.5)),
            "inv_ratio_q999": float(np.quantile(ratio, 0.999)),
            "inv_ratio_max": float(ratio.max())}


def _true_lambda(family, data, law):
    """Λ(x) = E[ℓ_θθ | x] at a given θ, over the design's law of T given X (the expected
    Hessian node by node where the family has more than an index)."""
    t_nodes, probs = law(data)
    if family.single_index:
        return lambda th: _lambda_over_law(family.curvature(th[:, :1] + th[:, 1:2] * t_nodes),
                                           t_nodes, probs)
    mass = np.broadcast_to(probs, t_nodes.shape)
    return lambda th: sum(mass[:, k, None, None]
                          * family.expected_hessian(t_nodes[:, k:k + 1], th)
                          for k in range(t_nodes.shape[1]))


def oracle_z(n, seed, design="logit"):
    """The efficient influence function's z-score (its mean minus the truth over its own
    SE): no fit, so thousands of seeds tell whether a cell's seeds are a typical draw."""
    make, _, family_name, law = DESIGNS[design]
    data, family = make(n, seed), FAMILIES[family_name]()
    theta = data.theta[:, :family.theta_dim(1)]
    psi = _one_step(theta, _true_lambda(family, data, law)(theta),
                    family.gradient(data.Y, data.T.reshape(-1, 1), theta))
    return float((psi.mean() - data.truth["E[beta]"]) / (psi.std() / np.sqrt(n)))


def decompose(n, seed, design="logit", **params):
    make, estimator, _, law = DESIGNS[design]
    data = make(n, seed)
    est = estimator(cv=5, random_state=seed, **params)
    start = time.perf_counter()
    est.fit(data.X, data.T, data.Y)
    seconds = time.perf_counter() - start
    family, theta_hat = est.family_, est.theta_
    theta = data.theta[:, :theta_hat.shape[1]]
    t = data.T.reshape(-1, 1)
    lam_at = _true_lambda(family, data, law)
    lam_true, lam_plain = lam_at(theta), lam_at(theta_hat)
    psi_oracle = _one_step(theta, lam_true, family.gradient(data.Y, t, theta))
    score_hat = family.gradient(data.Y, t, theta_hat)
    psi_plain = _one_step(theta_hat, lam_plain, score_hat)
    psi_default = _one_step(theta_hat, est.lambda_, score_hat)
    truth = data.truth["E[beta]"]
    stderr = float(est.inference_.stderr[0])
    return {**_tails(psi_default, est.lambda_, lam_true, stderr), "seed": seed, "n": n,
            "seconds": seconds, "truth": truth,
            "estimate": float(est.inference_.point_estimate[0]),
            "stderr": stderr, "psi_se": float(psi_default.std() / np.sqrt(n)),
            "default": float(psi_default.mean()), "plain": float(psi_plain.mean()),
            "oracle": float(psi_oracle.mean()),
            "oracle_se": float(psi_oracle.std() / np.sqrt(n)),
            "beta_rmse": float(np.sqrt(np.mean((theta_hat[:, 1] - theta[:, 1]) ** 2))),
            "alpha_rmse": float(np.sqrt(np.mean((theta_hat[:, 0] - theta[:, 0]) ** 2))),
            "lambda_rel_err": float(np.sqrt(np.mean((est.lambda_ - lam_true) ** 2))
                                    / np.sqrt(np.mean(lam_true ** 2))),
            "beta_bias": float(np.mean(theta_hat[:, 1] - theta[:, 1]))}


def summarize(rows):
    r = {k: np.array([row[k] for row in rows]) for k in rows[0]}
    se = r["stderr"].mean()
    err = r["estimate"] - r["truth"]
    lines = [f"n={int(r['n'][0])} R={len(rows)} mean fit {r['seconds'].mean():.1f}s; "
             f"mean SE {se:.5f}, oracle SE {r['oracle_se'].mean():.5f}, SD(est) "
             f"{err.std(ddof=1):.5f} -> SE/SD {se / err.std(ddof=1):.3f}; bias/SE "
             f"{err.mean() / se:+.3f}; coverage {np.mean(np.abs(err) <= 1.96 * r['stderr']):.3f}",
             f"RMSE beta {r['beta_rmse'].mean():.4f} alpha {r['alpha_rmse'].mean():.4f}; "
             f"Λ rel err {r['lambda_rel_err'].mean():.3f}; max |estimate − default one-step| "
             f"{np.abs(r['estimate'] - r['default']).max():.1e}"]
    lines.append(f"median SE {np.median(r['stderr']):.5f}, SD of ψ̂/√n (median) "
                 f"{np.median(r['psi_se']):.5f}; mean β̂ bias {r['beta_bias'].mean():+.4f}; "
                 f"largest row share/SE median {np.median(r['max_row_se']):.2f} max "
                 f"{r['max_row_se'].max():.2f}; Λ̂⁻¹/Λ⁻¹ (β) median "
                 f"{np.median(r['inv_ratio_q50']):.2f}, q99.9 {np.median(r['inv_ratio_q999']):.2f},"
                 f" max {r['inv_ratio_max'].max():.1f}")
    oracle = r["oracle"] - r["truth"]
    for name, part in (("oracle", oracle), ("remainder", r["default"] - r["oracle"]),
                       ("  Λ̂ part", r["default"] - r["plain"]),
                       ("  θ̂ part", r["plain"] - r["oracle"])):
        lines.append(f"{name:12s} mean/SE {part.mean() / se:+.3f}  SD/SE "
                     f"{part.std(ddof=1) / se:.3f}  corr with oracle "
                     f"{np.corrcoef(part, oracle)[0, 1]:+.2f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--design", choices=sorted(DESIGNS), default="logit")
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON-lines file for the replications")
    ap.add_argument("--family-set", action="append", default=[],
                    help="family class attribute as key=value (e.g. secant_lambda=True)")
    ap.add_argument("--oracle-only", action="store_true",
                    help="only the efficient influence function's z-score per seed (no fit)")
    ap.add_argument("params", nargs="*", help="estimator parameters as key=value")
    args = ap.parse_args()
    params = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.params)}
    family_class = FAMILIES[DESIGNS[args.design][2]]
    for key, value in (p.split("=", 1) for p in args.family_set):
        setattr(family_class, key, ast.literal_eval(value))  # a trial of a family's choice
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.oracle_only:
        z = np.array([oracle_z(args.n, seed, args.design)
                      for seed in range(args.start, args.start + args.reps)])
        for first in range(0, z.size, 100):
            block = z[first:first + 100]
            print(f"seeds {args.start + first}-{args.start + first + block.size - 1}: "
                  f"SD of z {block.std(ddof=1):.3f}, coverage {np.mean(np.abs(block) < 1.96):.3f}")
        print(f"all {z.size}: mean z {z.mean():+.3f}, SD of z {z.std(ddof=1):.3f}, "
              f"coverage {np.mean(np.abs(z) < 1.96):.3f}")
        return
    rows = run_replications(lambda seed: decompose(args.n, seed, args.design, **params),
                            range(args.start, args.start + args.reps), args.out)
    print(summarize(rows))


if __name__ == "__main__":
    main()
