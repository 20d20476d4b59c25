"""The homogeneous conditional logit next to the classical MLE on a public dataset.

The travel-mode survey shipped with statsmodels (``statsmodels.datasets.modechoice``:
210 trips, 4 modes: air, train, bus, car; cost in dollars, in-vehicle and terminal time
in minutes). With a constant covariate, ``cv=1``, full-batch L-BFGS and no weight penalty,
``MultinomialLogitDML`` must reproduce the maximum-likelihood estimate and its robust
(sandwich) standard errors. Writes ``results/choice_mle_parity/choice_mle_parity.{json,md}`` and the
table in ``doc/_choice_mle_parity.inc``.

Usage: ``python benchmarks/choice_mle_parity.py``
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from sklearn_dml import MultinomialLogitDML

RESULTS = pathlib.Path(__file__).parent / "results" / "choice_mle_parity"
DOC_TABLE = pathlib.Path(__file__).parents[1] / "doc" / "_choice_mle_parity.inc"
MODES = {1.0: "air", 2.0: "train", 3.0: "bus", 4.0: "car"}


def load_modechoice():
    """The long table with named modes and a constant covariate."""
    import statsmodels.datasets.modechoice as modechoice

    df = modechoice.load_pandas().data.copy()
    df["mode"] = df["mode"].map(MODES)
    df["const"] = 1.0
    return df


def fit_both(df):
    """Our homogeneous fit and the Newton-Raphson MLE with its sandwich and classical SEs."""
    est = MultinomialLogitDML(4, alternative_names=list(MODES.values()), cv=1, solver="lbfgs",
                              early_stopping=False, weight_decay=0.0, max_epochs=300,
                              hidden_dims=(8,), random_state=0)
    est.fit_long(df, choice="choice", alternative="mode", attributes=["invc", "invt", "ttme"],
                 covariates=["const"], case="individual")
    res = est.inference(list(range(len(est.theta_names_))))
    rows = est._training_rows()
    family, T, Y = est.family_, rows.T, rows.Y
    mle, classical = family.fit_constant(Y, T)
    theta = np.broadcast_to(mle, (Y.size, mle.size))
    scores = family.gradient(Y, T, theta)
    bread = np.linalg.inv(family.hessian(Y, T, theta).mean(axis=0))
    sandwich = bread @ (scores.T @ scores / Y.size) @ bread / Y.size
    return est, res, mle, np.sqrt(np.diag(sandwich)), np.sqrt(np.diag(classical))


def main():
    df = load_modechoice()
    est, res, mle, robust, classical = fit_both(df)
    rows = [{"parameter": name, "ours": float(e), "ours_se": float(s), "mle": float(m),
             "mle_robust_se": float(r), "mle_classical_se": float(c)}
            for name, e, s, m, r, c in zip(est.theta_names_, res.estimate, res.stderr, mle,
                                           robust, classical)]
    vot = res.ratio("E[beta[invt]]", "E[beta[invc]]")
    rows.append({"parameter": "value of in-vehicle time, $/h", "ours": 60 * vot.estimate[0],
                 "ours_se": 60 * vot.stderr[0], "mle": 60 * mle[4] / mle[3]})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "choice_mle_parity.json").write_text(json.dumps(
        {"dataset": "statsmodels modechoice (210 trips, 4 modes)", "rows": rows,
         "pooled_condition": est.inference_.diagnostics["pooled_condition"]}, indent=1))
    lines = ["| parameter | ours | ours SE | MLE | MLE robust SE | MLE classical SE |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| {} | {:.5g} | {:.4g} | {:.5g} | {} | {} |".format(
            r["parameter"], r["ours"], r["ours_se"], r["mle"],
            f"{r['mle_robust_se']:.4g}" if "mle_robust_se" in r else "",
            f"{r['mle_classical_se']:.4g}" if "mle_classical_se" in r else ""))
    (RESULTS / "choice_mle_parity.md").write_text("\n".join(lines) + "\n")
    DOC_TABLE.write_text(_rst_table(rows))
    print("\n".join(lines))


def _rst_table(rows):
    """The rows as an RST list-table for doc/choice.rst."""
    header = ["parameter", "ours", "ours SE", "MLE", "MLE robust SE", "MLE classical SE"]
    keys = ["ours", "ours_se", "mle", "mle_robust_se", "mle_classical_se"]
    out = [".. list-table::", "   :header-rows: 1", ""]
    out += [f"   {'*' if j == 0 else ' '} - {h}" for j, h in enumerate(header)]
    for r in rows:
        cells = [r["parameter"]] + [f"{r[k]:.5g}" if k in r else "" for k in keys]
        out += [f"   {'*' if j == 0 else ' '} - {c}".rstrip() for j, c in enumerate(cells)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
