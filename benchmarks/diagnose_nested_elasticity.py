"""Where the bias of NestedLogitDML's own and within-nest elasticities comes from (issue 23).

On the design of ``coverage_nested.py``, per seed, for the three elasticities at the
fixed menu, in units of the replication's standard error:

* ``plugin`` − truth and ``plugin_true_theta`` − truth (the average of h(θ₀(w_i)));
* the plug-in error split into its linear part mean H(θ̂)(θ̂ − θ₀) (``lin_err``) and the
  second-order remainder (``remainder2``);
* the correction −mean H Λ̂⁻¹ℓ_θ and the same split by θ block (α, β, λ) against the
  linear part it should cancel.

With ``--oracle`` it also compares, on a subsample of rows, H·(θ̂ − θ₀) with
H·Λ̂⁻¹ E[ℓ_θ | x, t] (the correction without the noise of y) and with H·Λ(x)⁻¹ E[ℓ_θ | x]
for the exact Λ(x) = E_t[Fisher information at θ̂(x)] (Monte Carlo over t): the first gap
is Λ̂'s error plus the Newton step's, the second the Newton step's alone. With
``--observed`` the elasticities are taken at each row's own attributes instead of the menu
(their E[H_θ | X] then comes from the estimator's projection; ``decompose`` uses H_θ).

Usage: python benchmarks/diagnose_nested_elasticity.py --n 20000 --seeds 3000-3009
       [--oracle] [--observed] [--weight-decay auto]
Prints one JSON line per seed and a summary.
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

sys.path.insert(0, os.path.dirname(__file__))
import coverage_nested as cn  # noqa: E402

from sklearn_dml import NestedLogitDML  # noqa: E402
from sklearn_dml.targets import ChoiceElasticity  # noqa: E402

BLOCKS = {"alpha": slice(0, 5), "beta": slice(5, 7), "lam": slice(7, 9)}


def elasticities(observed):
    """The study's three elasticities, at the fixed menu or at each row's own attributes."""
    if not observed:
        return cn.elasticities()
    return [ChoiceElasticity(1, "price"), ChoiceElasticity(0, "price", of=1),
            ChoiceElasticity(3, "price", of=1)]


def observed_truths(draws=400_000, seed=54321):
    """The elasticities at the observed attributes, E over w and x, by Monte Carlo."""
    w, x, _ = cn.simulate(draws, seed)
    fam = cn.family()
    t, theta = fam.pack(x), cn.theta_of(w)
    return {**cn.truths(), **{name: float(tg.value(fam, theta, t).mean()) for name, tg in
                              zip(cn._elasticity_names(), elasticities(True))}}


def fit(n, seed, weight_decay, observed=False):
    w, x, y = cn.simulate(n, seed)
    est = NestedLogitDML(cn.J, nests=cn.NESTS, attribute_names=["price", "quality"],
                         price="price", target=["lambda[budget]", *elasticities(observed)],
                         random_state=seed, weight_decay=weight_decay)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(w, x, y)
    return est, w, y


def decompose(est, w, truth):
    """Plug-in, remainder and correction of each elasticity, in SE units."""
    fam, rep, T = est.family_, est._reps[0], est._rows.T
    th, corr, th0 = rep.theta, rep.correction, cn.theta_of(w)
    out = {"lam_b_min": float(th[:, 7].min()),
           "lam_b_rmse": float(np.sqrt(np.mean((th[:, 7] - th0[:, 7]) ** 2)))}
    for k, (tg, name) in enumerate(zip(est.targets_[1:], cn._elasticity_names()), start=1):
        H = tg.jacobian(fam, th, T)
        h, h0 = tg.value(fam, th, T).mean(), tg.value(fam, th0, T).mean()
        lin = np.einsum("nd,nd->n", H, th - th0).mean()
        se = float(est.inference_.stderr[k])
        out[name] = {
            "bias": (float(est.inference_.estimate[k]) - truth[name]) / se, "se": se,
            "covered": bool(abs(est.inference_.estimate[k] - truth[name]) < 1.96 * se),
            "plugin": (h - truth[name]) / se, "plugin_true_theta": (h0 - truth[name]) / se,
            "lin_err": lin / se, "remainder2": (h - h0 - lin) / se,
            "correction": est.inference_.diagnostics["correction"][k] / se,
            **{f"corr_{b}": float(-(H[:, s] * corr[:, s]).sum(1).mean() / se)
               for b, s in BLOCKS.items()},
            **{f"lin_{b}": float((H[:, s] * (th - th0)[:, s]).sum(1).mean() / se)
               for b, s in BLOCKS.items()}}
    return out


def oracle(est, w, seed, m=1500, draws=24):
    """H·(θ̂ − θ₀) against the noiseless correction with Λ̂ and with the exact Λ(x)."""
    fam, rep, T = est.family_, est._reps[0], est._rows.T
    rng = np.random.default_rng(seed + 99)
    idx = rng.choice(T.shape[0], m, replace=False)
    th, th0, lam = rep.theta[idx], cn.theta_of(w[idx]), rep.lam[idx]
    jac, _ = fam.log_probability_jacobian(T[idx], th)
    g = -np.einsum("ns,nsd->nd", fam.probabilities(T[idx], th0), jac)
    with_lamhat = np.linalg.solve(lam, g[..., None])[..., 0]
    L, gx = np.zeros_like(lam), np.zeros_like(g)
    for _ in range(draws):  # Λ(x) and E[ℓ_θ | x] over fresh attributes
        xr = np.stack([rng.uniform(2.0, 20.0, (m, cn.J)), rng.normal(3.0, 1.0, (m, cn.J))], 2)
        jr, Pr = fam.log_probability_jacobian(fam.pack(xr), th)
        L += np.einsum("ns,nsd,nse->nde", Pr, jr, jr) / draws
        gx -= np.einsum("ns,nsd->nd", fam.probabilities(fam.pack(xr), th0), jr) / draws
    exact = np.linalg.solve(L, gx[..., None])[..., 0]
    out = {}
    for k, tg in enumerate(est.targets_):
        H, se = tg.jacobian(fam, th, T[idx]), float(est.inference_.stderr[k])
        out[est.inference_.names[k]] = {
            name: float((H * v).sum(1).mean() / se)
            for name, v in [("lin", th - th0), ("noiseless_lamhat", with_lamhat),
                            ("noiseless_exact_lambda", exact)]}
    return out


def summarize(rows):
    for name in cn._elasticity_names():
        cells = {key: np.mean([r[name][key] for r in rows]) for key in rows[0][name]}
        print(name, json.dumps({k: round(float(v), 3) for k, v in cells.items()}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seeds", default="3000-3009")
    ap.add_argument("--weight-decay", default=None)
    ap.add_argument("--oracle", action="store_true")
    ap.add_argument("--observed", action="store_true",
                    help="the elasticities at each row's observed attributes (projected H_θ)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    first, last = (int(s) for s in args.seeds.split("-"))
    decay = 1e-2 if args.weight_decay is None else (
        args.weight_decay if args.weight_decay == "auto" else float(args.weight_decay))
    truth, rows = observed_truths() if args.observed else cn.truths(), []
    for seed in range(first, last + 1):
        est, w, _ = fit(args.n, seed, decay, args.observed)
        row = {"seed": seed, "n": args.n, **decompose(est, w, truth)}
        if args.oracle:
            row["oracle"] = oracle(est, w, seed)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summarize(rows)


if __name__ == "__main__":
    main()
