"""
==========================================
Comparison with EconML and DoubleML
==========================================

Fit sklearn_dml, EconML (``LinearDML``, ``CausalForestDML``) and DoubleML (``PLR``) on the
same simulated data and put their average effects side by side with
:func:`sklearn_dml.compare.ate_table`.

The data: Y = α(x) + β(x)·T + ε with a continuous treatment that depends on x; the true
average effect of T (from 0 to 1) is E[β(X)] = 1.25.

This example needs ``pip install econml doubleml`` (missing libraries are skipped), so the
documentation build shows it without running it. Run it with
``python examples/compare_econml.py``; its output was::

                                        point_estimate  stderr  ci_lower  ci_upper      library  truth  covers_truth
    estimator
    sklearn_dml StructuralDMLRegressor          1.2308  0.0205    1.1905    1.2711  sklearn_dml   1.25          True
    econml LinearDML                            1.2212  0.0205    1.1810    1.2615       econml   1.25          True
    econml CausalForestDML                      1.2164  0.1402    0.9416    1.4913       econml   1.25          True
    doubleml PLR                                1.2353  0.0258    1.1847    1.2859     doubleml   1.25          True

    sklearn_dml StructuralDMLRegressor: debiased sample average of the effect; influence-function SE (cross-fitted)
    econml LinearDML: mean of CATE(x) over X; EconML ate_inference interval for that mean
    econml CausalForestDML: mean of CATE(x) over X; EconML ate_inference interval for that mean
    doubleml PLR: orthogonal-score estimate of the model's causal parameter; DoubleML SE
"""

# %%
# Fit our estimator, then whichever of EconML and DoubleML are installed.
from sklearn.ensemble import RandomForestRegressor

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml.compare import ate_table
from sklearn_dml.datasets import make_linear_confounded

data = make_linear_confounded(n_samples=3000, random_state=0)
X, T, Y = data.X, data.T, data.Y

fitted = {"sklearn_dml StructuralDMLRegressor": StructuralDMLRegressor(random_state=0).fit(X, T, Y)}

try:
    from econml.dml import CausalForestDML, LinearDML

    nuisance = dict(model_y=RandomForestRegressor(min_samples_leaf=20, random_state=0),
                    model_t=RandomForestRegressor(min_samples_leaf=20, random_state=0))
    fitted["econml LinearDML"] = LinearDML(**nuisance, random_state=0).fit(Y, T, X=X)
    fitted["econml CausalForestDML"] = CausalForestDML(**nuisance, random_state=0).fit(Y, T, X=X)
except ImportError:
    print("econml not installed: skipping its estimators")

try:
    import doubleml as dml

    dml_data = dml.DoubleMLData.from_arrays(X, Y, T)
    plr = dml.DoubleMLPLR(dml_data, RandomForestRegressor(min_samples_leaf=20, random_state=0),
                          RandomForestRegressor(min_samples_leaf=20, random_state=0))
    fitted["doubleml PLR"] = plr.fit()
except ImportError:
    print("doubleml not installed: skipping it")

# %%
# One table: estimate, standard error and 95% interval, with the truth beside them.

table = ate_table(fitted, X=X)
table["truth"] = data.truth["E[beta]"]
table["covers_truth"] = (table.ci_lower <= table.truth) & (table.truth <= table.ci_upper)
print(table.drop(columns="note").round(4).to_string())
print()
for name, note in table["note"].items():
    print(f"{name}: {note}")
