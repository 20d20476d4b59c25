"""statsmodels, EconML, DoubleML and sklearn_dml side by side on a public dataset.

The RAND Health Insurance Experiment extract shipped with statsmodels
(``statsmodels.datasets.randhie``: 20,190 person-years). Outcome ``mdvis`` (outpatient
visits to a doctor), treatment ``lncoins`` = log(coinsurance + 1) (the randomized plan's
coinsurance rate), controls W = the health measures (``physlm``, ``disea``, ``hlthg``,
``hlthf``, ``hlthp``). The plan's other terms (``idp``, ``lpi``, ``fmde``) are left out:
they nearly determine ``lncoins`` (with them our fit refuses, Λ̂ being singular on 84% of
rows, and the PLR standard error quadruples), so with them there is little treatment
variation left to learn from. Every estimator targets the average effect of one unit of
``lncoins`` on visits.

Writes ``results/coming_from/coming_from.{json,md}`` and the table in
``doc/_coming_from.inc`` (shown
by ``doc/coming_from.rst``). Needs statsmodels, econml and doubleml.

Usage: ``python benchmarks/coming_from.py``
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np
import pandas as pd

RESULTS = pathlib.Path(__file__).parent / "results" / "coming_from"
DOC_TABLE = pathlib.Path(__file__).parents[1] / "doc" / "_coming_from.inc"
CONTROLS = ["physlm", "disea", "hlthg", "hlthf", "hlthp"]
HETEROGENEITY = ["disea", "physlm"]  # X of the heterogeneous fit; the rest stay in W
# full-batch L-BFGS without penalty: with no X and no W the network is a constant, the MLE
RECIPE = dict(cv=1, solver="lbfgs", weight_decay=0.0, early_stopping=False, max_epochs=300,
              hidden_dims=(8,), random_state=0)


def load():
    import statsmodels.api as sm

    df = sm.datasets.randhie.load_pandas().data
    return df["mdvis"].astype(float), df["lncoins"], df[CONTROLS].astype(float)


def statsmodels_rows(Y, T, W):
    import statsmodels.api as sm

    rows = []
    for label, design in [("statsmodels OLS Y ~ T (HC0)", sm.add_constant(T)),
                          ("statsmodels OLS Y ~ T + W (HC0)", sm.add_constant(
                              pd.concat([T, W], axis=1)))]:
        fit = sm.OLS(Y, design).fit(cov_type="HC0")
        lo, hi = fit.conf_int().loc["lncoins"]
        rows.append({"estimator": label, "point_estimate": fit.params["lncoins"],
                     "stderr": fit.bse["lncoins"], "ci_lower": lo, "ci_upper": hi,
                     "library": "statsmodels", "note": "OLS coefficient, robust SE"})
    return rows


def fitted_models(Y, T, W):
    """Each library's estimator as its users write it; ate_table reads them as they come."""
    import doubleml as dml
    from econml.dml import LinearDML as EconLinearDML
    from sklearn.ensemble import HistGradientBoostingRegressor

    from sklearn_dml import StructuralDMLRegressor
    from sklearn_dml.econml import LinearDML

    def hgb():
        return HistGradientBoostingRegressor(max_iter=200, random_state=0)

    X = W[HETEROGENEITY]
    W_rest = W.drop(columns=HETEROGENEITY)
    models, seconds = {}, {}

    def timed(name, fit):
        start = time.perf_counter()
        models[name] = fit()
        seconds[name] = round(time.perf_counter() - start, 1)

    timed("sklearn_dml LinearDML(), no X, no W", lambda: LinearDML(
        estimator=StructuralDMLRegressor(**RECIPE)).fit(Y, T))
    timed("EconML LinearDML(X=None, W=W)", lambda: EconLinearDML(
        model_y=hgb(), model_t=hgb(), cv=5, random_state=0).fit(Y, T, X=None, W=W))
    timed("DoubleML PLR", lambda: dml.DoubleMLPLR(
        dml.DoubleMLData(pd.concat([Y, T, W], axis=1), "mdvis", "lncoins", CONTROLS),
        hgb(), hgb(), n_folds=5).fit())
    timed("sklearn_dml LinearDML(X=None, W=W)", lambda: LinearDML(random_state=0).fit(
        Y, T, X=None, W=W))
    timed("sklearn_dml LinearDML(X=[disea, physlm], W=rest)", lambda: LinearDML(
        random_state=0).fit(Y, T, X=X, W=W_rest))
    return models, seconds, X


def main():
    from sklearn_dml.compare import ate_table

    np.random.seed(0)  # DoubleML draws its folds from numpy's global generator
    Y, T, W = load()
    models, seconds, X = fitted_models(Y, T, W)
    table = pd.concat([pd.DataFrame(statsmodels_rows(Y, T, W)).set_index("estimator"),
                       ate_table(models)])
    table["seconds"] = pd.Series(seconds)
    hetero = models["sklearn_dml LinearDML(X=[disea, physlm], W=rest)"]
    profiles = pd.DataFrame({"disea": [5.0, 11.0, 20.0, 5.0, 11.0, 20.0],
                             "physlm": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]})
    profiles["beta(x), plug-in"] = hetero.const_marginal_effect(profiles)
    RESULTS.mkdir(exist_ok=True)
    out = {"table": table.reset_index().to_dict(orient="records"),
           "profiles": profiles.to_dict(orient="records"), "n": int(len(Y))}
    (RESULTS / "coming_from.json").write_text(json.dumps(out, indent=2, default=float))
    shown = table.drop(columns=["library", "note", "seconds"]).round(4)  # timings: JSON only
    text = shown.to_string() + "\n\n" + profiles.round(4).to_string(index=False) + "\n"
    (RESULTS / "coming_from.md").write_text("```\n" + text + "```\n")
    lines = [".. code-block:: text", ""] + ["    " + line for line in text.splitlines()] + [""]
    DOC_TABLE.write_text("\n".join(lines))
    print(text)


if __name__ == "__main__":
    main()
