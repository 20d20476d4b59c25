"""
=================================================
Heterogeneous effects: θ̂(x) and subgroup averages
=================================================

A linear structural model Y = α(x) + β(x)·T + ε whose treatment T depends on the
covariates. The data are simulated, so the true β(x) is known:
β(x) = 1 + 0.5·x₁ + 0.25·x₂², with E[β(X)] = 1.25.

The network's θ̂(x) shows the shape of the heterogeneity, but it carries no valid
pointwise interval. What the method does give are debiased *averages* with valid
standard errors: over all rows, and over any subgroup of rows (here, bins of x₁).
"""

# %%
# Simulate and fit
# ----------------
# Small data and a small network keep this example fast; the defaults are larger.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded

data = make_linear_confounded(n_samples=2000, random_state=0)
est = StructuralDMLRegressor(hidden_dims=(32, 16), random_state=0)
est.fit(data.X, data.T, data.Y)
print(est.summary())

# %%
# θ̂(x) against a covariate
# ------------------------
# ``theta_`` holds the cross-fitted θ̂(x_i) of the training rows (each row from networks
# that did not see it); ``predict`` gives θ̂ at new x. Plotted against x₁, the estimate
# follows the true β(x_i) (which also varies with x₂, hence the vertical spread) and the
# conditional mean E[β(X) | x₁] = 1.25 + 0.5·x₁.
x1 = data.X[:, 0]
grid = np.linspace(-2.5, 2.5, 50)

fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(x1, data.theta[:, 1], s=6, alpha=0.35, color="tab:gray", label="true β(x_i)")
ax.scatter(x1, est.theta_[:, 1], s=6, alpha=0.35, color="tab:blue",
           label="cross-fitted β̂(x_i)")
ax.plot(grid, 1.25 + 0.5 * grid, color="black", lw=2, label="E[β(X) | x₁] (truth)")
ax.set_xlabel("x₁")
ax.set_ylabel("β")
ax.set_xlim(-2.5, 2.5)
ax.legend(loc="upper left")
ax.set_title("Estimated and true β(x) against x₁")
fig.tight_layout()

# %%
# Subgroup averages with valid intervals
# --------------------------------------
# ``inference("beta", where=mask)`` debiases E[β(X)] over the rows in ``mask`` from the
# cached fit, without refitting. Each bin of x₁ gets an estimate and a 95% interval;
# the truth is the average of the true β(x_i) over the same rows.
edges = np.quantile(x1, [0, 0.2, 0.4, 0.6, 0.8, 1])
centers, estimates, lower, upper, truth = [], [], [], [], []
for lo, hi in zip(edges[:-1], edges[1:]):
    mask = (x1 >= lo) & (x1 <= hi)
    res = est.inference("beta", where=mask)
    ci = res.conf_int(0.05)[0]
    centers.append(x1[mask].mean())
    estimates.append(res.estimate[0])
    lower.append(ci[0])
    upper.append(ci[1])
    truth.append(data.theta[mask, 1].mean())

estimates, lower, upper = map(np.asarray, (estimates, lower, upper))
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.errorbar(centers, estimates, yerr=[estimates - lower, upper - estimates], fmt="o",
            capsize=4, color="tab:blue", label="debiased average, 95% CI")
ax.scatter(centers, truth, marker="x", s=60, color="black", zorder=3,
           label="true average over the bin")
ax.set_xlabel("x₁ (bin mean; bins are quintiles)")
ax.set_ylabel("E[β(X) | bin]")
ax.legend(loc="upper left")
ax.set_title("Subgroup averages of β by quintile of x₁")
fig.tight_layout()

for c, e, lo, hi, t in zip(centers, estimates, lower, upper, truth):
    print(f"x1 ≈ {c:+.2f}: {e:.3f} [{lo:.3f}, {hi:.3f}]  truth {t:.3f}")

plt.show()
