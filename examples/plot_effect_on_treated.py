"""
==========================================================
The effect on the treated when overlap is one-sided
==========================================================

Observational evaluations of a program often look like LaLonde's job-training data: a
few hundred trainees against thousands of comparison workers, most of whom look nothing
like a trainee. The average effect over *everyone* then rests on comparison workers
whose like was never trained, and no interval can be trusted. The average effect on the
*treated* (ATT) needs only the reverse: comparison workers like each trainee, which the
data have.

The data are simulated (:func:`~sklearn_dml.datasets.make_job_training`), so the true
effects are known: earnings in dollars, about 8% treated.
"""

# %%
# Overlap
# -------
# The true propensity P(T = 1 | x): a third of the rows are below 1%, and most of them
# are untreated. The trainees' propensities are spread over the whole range.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml.datasets import make_job_training

data = make_job_training(random_state=0)
bins = np.linspace(-6, 0, 31)
fig, ax = plt.subplots(figsize=(7, 4))
for level, color, label in [(0, "tab:gray", "comparison (T = 0)"),
                            (1, "tab:red", "trainees (T = 1)")]:
    rows = data.T == level
    ax.hist(np.log10(data.propensity[rows]), bins=bins, density=True, alpha=0.55,
            color=color, label=f"{label}, {rows.sum()} rows")
ax.set_xlabel("log₁₀ P(T = 1 | x)")
ax.set_ylabel("density")
ax.legend(loc="upper left")
ax.set_title("Propensity of training, by group")
fig.tight_layout()

# %%
# Fit, and the average over everyone
# ----------------------------------
# The fit warns: Λ̂(x) is floored on a fifth of the rows, the rows with no trainee like
# them, and the warning calls the interval over all rows unreliable. Nearly all those
# rows are untreated, so it points to the effect on the treated.
est = StructuralDMLRegressor(random_state=0).fit(data.X, data.T, data.Y)
print(est.summary())

# %%
# The effect on the treated
# -------------------------
# ``population="treated"`` averages β(x) over the trainees and weights each row's
# correction by its estimated probability of training: the efficient influence function
# of the ATT. Masking the trainees' rows with ``where=`` is a valid but different
# estimator: each trainee's correction is divided by its own propensity, which is what
# makes the average over everyone fragile.
att = est.inference("beta", population="treated")
masked = est.inference("beta", where=data.T == 1)
print(att.summary())
print(f"truth: {data.truth['ATT']:.0f} on the treated, {data.truth['ATE']:.0f} over everyone")

# %%
# The three intervals against the truth
# -------------------------------------
rows = [("E[β], all rows", est.inference_, 1, data.truth["ATE"]),
        ("E[β | T = 1], population", att, 0, data.truth["ATT"]),
        ("E[β | T = 1], where=T == 1", masked, 0, data.truth["ATT"])]
fig, ax = plt.subplots(figsize=(7, 3.5))
for y, (_, res, k, truth) in enumerate(rows):
    lo, hi = res.conf_int(0.05)[k]
    ax.plot([lo, hi], [y, y], color="tab:blue", lw=3)
    ax.plot(res.estimate[k], y, "o", color="tab:blue")
    ax.plot(truth, y, "x", color="black", ms=10, mew=2)
ax.set_yticks(range(len(rows)), [r[0] for r in rows])
ax.set_xlabel("effect of training on 1978 earnings (dollars); × marks the truth")
ax.set_title("95% intervals")
fig.tight_layout()
plt.show()
