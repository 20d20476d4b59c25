"""
Nested logit: utility formulas and per-user coefficients
========================================================

The steps of torch-choice's post-estimation tutorial, with preferences that vary
with the shopper: a nested logit specified with torch-choice's ``(variable|variation)``
formulas, an item-level and a nest-level utility, then ``get_coefficient`` with
``level=`` and the distribution of a per-user coefficient.
:class:`~sklearn_dml.NestedLogitDML` fits θ(w) with a network and cross-fitting, and
debiases the averages: E[β_price], the nest-level coefficients, E[λ], elasticities.
"""

# %%
# Simulated shopping trips: 300 users (age, income: the network input w) make
# 4,000 choices among 6 products in 3 nests. The price coefficient falls with
# income; the trip's budget (a case-level variable, not a network input) shifts
# the utility of the mainstream and premium nests. A nest of one product has no
# identified λ, so it is fixed at 1.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklearn_dml import NestedLogitDML
from sklearn_dml.targets import ChoiceElasticity

rng = np.random.default_rng(0)
items = ["store", "value", "classic", "organic", "artisan", "imported"]
nest_of = np.array([0, 1, 1, 2, 2, 2])
lam = np.array([1.0, 0.6, 0.4])  # private label, mainstream, premium
n_users, n = 300, 4000
age = rng.uniform(20, 70, n_users)
income = rng.lognormal(3.8, 0.4, n_users)  # thousands of dollars a year
user = rng.integers(0, n_users, n)
price = rng.uniform(2.0, 8.0, (n, 6)) + np.array([0, 0.5, 1, 2, 2.5, 3])  # dollars
budget = rng.uniform(20, 80, n)  # dollars for the trip
beta_price = -1.4 + 0.5 * np.tanh((income[user] - 45) / 20)
V = np.array([0, 0.8, 1.0, 1.6, 1.4, 1.5]) + beta_price[:, None] * price
W = np.array([0.0, 0.01, 0.03])[None] * budget[:, None]  # nest-level utility
U = V / lam[nest_of]
inclusive = np.stack([np.log(np.exp(U[:, nest_of == k]).sum(1)) for k in range(3)], 1)
top = W + lam * inclusive
p_nest = np.exp(top - top.max(1, keepdims=True))
p_nest /= p_nest.sum(1, keepdims=True)
P = p_nest[:, nest_of] * np.exp(U - inclusive[:, nest_of])
chosen = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=5)

df = pd.DataFrame({
    "case": np.repeat(np.arange(n), 6), "user": np.repeat(user, 6),
    "item": np.tile(items, n),
    "nest": np.tile(["private label", "mainstream", "mainstream", "premium", "premium",
                     "premium"], n),
    "chosen": (np.arange(6)[None] == chosen[:, None]).ravel(),
    "price": price.ravel(), "budget": np.repeat(budget, 6),
    "age": np.repeat(age[user], 6), "income": np.repeat(income[user], 6)})
df.head(8)

# %%
# Specification. torch-choice writes the item-level utility as ``item_formula``
# and the nest-level one as ``nest_formula``; here the same grammar: alternative
# constants ``(1|item)``, a generic price coefficient ``(price|constant)``, and
# nest-specific coefficients on the trip budget ``(budget|nest)``. Every
# coefficient varies with the user's covariates through the network, except the
# nests' λ, which the nested logit holds fixed by default (``homogeneous="lambda"``,
# as in these data; ``homogeneous=None`` lets λ vary too).
est = NestedLogitDML(
    6, alternative_names=items, formula="(1|item) + (price|constant)",
    nest_formula="(budget|nest)", price="price", hidden_dims=(32, 16), random_state=0)
est.fit_long(df, choice="chosen", alternative="item", covariates=["age", "income"],
             case="case", nest="nest", case_variables=["budget"])
print(est.summary())

# %%
# The summary's diagnostics end with the test of IIA (every E[λ_k] = 1, the
# conditional logit): a small p-value says the nests matter.
test = est.iia_test()
print(f"IIA Wald chi2({test.df}) = {test.statistic:.1f}, p = {test.pvalue:.2g}")

# %%
# ``get_coefficient``: θ̂(w_i) per choice situation, by name and level, as in
# torch-choice. ``level="nest"`` reads the nest-level utility; ``"lambda"``
# ignores the level and has one column per estimated nest.
print(est.get_coefficient("budget[nest]", level="nest").shape)  # (n, 2)
print(est.get_coefficient("intercept[item]").shape)  # the 5 alternative constants
print(est.get_coefficient("lambda").mean(0))

# %%
# Per-user coefficients: ``by=`` averages θ̂ within groups, here the ``user``
# column of the table (any column constant within a case, or an array of labels).
per_user = est.get_coefficient("beta[price]", by="user")
print(per_user.describe().round(3))

# %%
# The distribution of the per-user price coefficients, next to the truth, and
# the cross-fitted θ̂(w_i) with the debiased mean and its 95% interval. Only the
# averages carry valid inference; the histograms show the heterogeneity.
true_per_user = pd.Series(beta_price, index=user).groupby(level=0).mean()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].hist(per_user, bins=30, color="0.6", label="estimated, per user")
axes[0].hist(true_per_user, bins=30, histtype="step", color="C3", lw=1.5, label="true")
axes[0].set_xlabel("beta[price] per user")
axes[0].legend(frameon=False)
est.plot_coefficient_distribution("beta[price]", ax=axes[1])
fig.tight_layout()

# %%
# Debiased market quantities under nesting: the own-price elasticity of
# "organic", and cross elasticities within its nest ("artisan") and across
# nests ("classic"); they differ, unlike in the conditional logit. The own and
# within-nest ones carry 1/λ: with λ fixed in w, as here, their intervals hold;
# with ``homogeneous=None`` λ(w) is estimated per user, and the estimator warns that
# these intervals are not to be trusted (see the choice-model guide).
res = est.inference([ChoiceElasticity("organic", "price"),
                     ChoiceElasticity("artisan", "price", of="organic"),
                     ChoiceElasticity("classic", "price", of="organic")])
print(res.summary_frame().round(3))
