"""Compare sklearn_dml with EconML (and DoubleML) on the same simulated data.

Run top to bottom: ``python doc/examples/compare_econml.py``. Needs
``pip install econml doubleml`` (optional; missing libraries are skipped).

The data: Y = α(x) + β(x)·T + ε with a continuous treatment that depends on x; the
true average effect of T (from 0 to 1) is E[β(X)] = 1.25.
"""

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

table = ate_table(fitted, X=X)
table["truth"] = data.truth["E[beta]"]
table["covers_truth"] = (table.ci_lower <= table.truth) & (table.truth <= table.ci_upper)
print(table.drop(columns="note").round(4).to_string())
print()
for name, note in table["note"].items():
    print(f"{name}: {note}")
