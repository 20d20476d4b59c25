"""The inference object: one variance rule for every derived quantity, clusters, n_rep."""

import html

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold

from sklearn_dml import StructuralDMLRegressor
from sklearn_dml._inference import crossfit_moments
from sklearn_dml.datasets import make_linear_confounded

FAST = dict(hidden_dims=(16,), max_epochs=30, random_state=0)


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.RandomState(0)
    d = make_linear_confounded(1200, treatment="continuous", random_state=3)
    groups = rng.randint(0, 60, size=1200)
    effect = rng.normal(size=60)
    T = d.T + effect[groups]  # T and the error correlated within a group
    Y = d.Y + 1.25 * effect[groups] + 2.0 * rng.normal(size=60)[groups]
    return d.X, T, Y, groups


def test_cluster_robust_se_is_the_clustered_variance_of_psi(clustered):
    X, T, Y, groups = clustered
    est = StructuralDMLRegressor(**FAST).fit(X, T, Y, groups=groups)
    res = est.inference_
    psi = res.psi
    dev = psi - psi.mean(axis=0)
    sums = np.array([dev[groups == g].sum(axis=0) for g in np.unique(groups)])
    G, n = sums.shape[0], psi.shape[0]
    expected = np.sqrt(np.diag(sums.T @ sums) * G / (G - 1)) / n
    np.testing.assert_allclose(res.stderr, expected, rtol=1e-10)
    assert "60 clusters" in res.diagnostics["standard_errors"]
    assert "60 clusters" in str(est.summary())
    assert est.n_clusters_ == 60


def test_cluster_se_false_gives_iid_se_on_the_same_folds(clustered):
    X, T, Y, groups = clustered
    clustered_fit = StructuralDMLRegressor(**FAST).fit(X, T, Y, groups=groups)
    iid = StructuralDMLRegressor(cluster_se=False, **FAST).fit(X, T, Y, groups=groups)
    np.testing.assert_array_equal(iid.inference_.estimate, clustered_fit.inference_.estimate)
    beta = iid.inference_.names.index("E[beta]")
    # the within-group correlation of T and the error makes the iid SE too small
    assert clustered_fit.inference_.stderr[beta] > 1.3 * iid.inference_.stderr[beta]
    assert "cluster_se=False" in iid.inference_.diagnostics["standard_errors"]


def test_singleton_clusters_reduce_to_the_iid_variance():
    d = make_linear_confounded(600, random_state=1)
    groups = np.arange(600)
    est = StructuralDMLRegressor(cv=GroupKFold(5), **FAST).fit(d.X, d.T, d.Y, groups=groups)
    data = est.inference_.influence
    _, cov = crossfit_moments(data.psi[0], data.fold_id[0], data.weights)
    np.testing.assert_allclose(est.inference_.stderr, np.sqrt(np.diag(cov)), rtol=0.01)


def test_a_splitter_that_splits_groups_is_refused(clustered):
    X, T, Y, groups = clustered
    with pytest.raises(ValueError, match="split across cross-fitting folds"):
        StructuralDMLRegressor(cv=KFold(5, shuffle=True, random_state=0), **FAST).fit(
            X, T, Y, groups=groups)


def test_contrast_difference_and_ratio_share_one_variance_rule():
    """With sample weights, `a - b` equals contrast([1, -1]); ratio equals the delta method."""
    d = make_linear_confounded(800, random_state=2)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=800)
    est = StructuralDMLRegressor(**FAST).fit(d.X, d.T, d.Y, sample_weight=w)
    both = est.inference(["alpha", "beta"])
    diff = est.inference("alpha") - est.inference("beta")
    contrast = both.contrast([1, -1])
    np.testing.assert_allclose(diff.estimate, contrast.estimate, rtol=1e-12)
    np.testing.assert_allclose(diff.stderr, contrast.stderr, rtol=1e-12)
    total = est.inference("alpha") + est.inference("beta")
    np.testing.assert_allclose(total.estimate, both.estimate.sum(), rtol=1e-12)
    ratio = both.ratio("E[beta]", "E[alpha]")
    r = both.estimate[1] / both.estimate[0]
    g = np.array([-r / both.estimate[0], 1 / both.estimate[0]])
    np.testing.assert_allclose(ratio.estimate, [r], rtol=1e-12)
    np.testing.assert_allclose(ratio.stderr, [np.sqrt(g @ both.cov @ g)], rtol=1e-10)
    np.testing.assert_allclose(both["E[beta]"].stderr, [both.stderr[1]], rtol=1e-12)


def test_results_of_different_fits_are_not_combined():
    d = make_linear_confounded(400, random_state=2)
    a = StructuralDMLRegressor(**FAST).fit(d.X, d.T, d.Y).inference("beta")
    b = StructuralDMLRegressor(**{**FAST, "random_state": 1}).fit(d.X, d.T, d.Y).inference("beta")
    with pytest.raises(ValueError, match="same fit"):
        a - b


def test_repetitions_keep_every_psi_and_aggregate_by_the_median():
    d = make_linear_confounded(600, random_state=4)
    est = StructuralDMLRegressor(n_rep=3, **FAST).fit(d.X, d.T, d.Y)
    res = est.inference_
    per_rep = res.influence.rep_estimates()
    assert per_rep.shape == (3, 2)
    np.testing.assert_allclose(res.estimate, np.median(per_rep, axis=0), rtol=1e-12)
    np.testing.assert_allclose(res.psi, np.mean(res.influence.psi, axis=0))
    # a contrast aggregates its own repetitions by the same rule
    c = res.contrast([1.0, -1.0])
    np.testing.assert_allclose(c.estimate, np.median(per_rep @ [1.0, -1.0]), rtol=1e-12)
    assert res.diagnostics["n_rep"] == 3


def test_subgroup_average_with_clusters(clustered):
    X, T, Y, groups = clustered
    est = StructuralDMLRegressor(**FAST).fit(X, T, Y, groups=groups)
    where = X[:, 0] > 0
    sub = est.inference("beta", where=where)
    n_groups = np.unique(groups[where]).size
    assert f"{n_groups} clusters" in sub.diagnostics["standard_errors"]
    assert sub.diagnostics["n_obs"] == where.sum()


def test_repetitions_with_groups_draw_new_group_splits(clustered):
    X, T, Y, groups = clustered
    est = StructuralDMLRegressor(n_rep=2, **FAST).fit(X, T, Y, groups=groups)
    first, second = est.inference_.influence.fold_id
    assert not np.array_equal(first, second)
    for fold_id in (first, second):  # each group whole in one fold
        assert all(np.unique(fold_id[groups == g]).size == 1 for g in np.unique(groups))


def test_fit_long_clusters_by_a_column_and_names_it():
    import pandas as pd

    from sklearn_dml import MultinomialLogitDML
    from sklearn_dml.datasets import make_choice

    d = make_choice(400, n_alternatives=3, random_state=0)
    n, J, _ = d.attributes.shape
    long = pd.DataFrame({
        "case": np.repeat(np.arange(n), J), "item": np.tile(np.arange(J), n),
        "chosen": (np.tile(np.arange(J), n) == np.repeat(d.Y, J)).astype(int),
        "price": d.attributes[:, :, 0].ravel(), "quality": d.attributes[:, :, 1].ravel(),
        "w0": np.repeat(d.X[:, 0], J), "household": np.repeat(np.arange(n) // 4, J)})
    est = MultinomialLogitDML(3, hidden_dims=(8,), max_epochs=20, random_state=0)
    est.fit_long(long, choice="chosen", alternative="item", attributes=["price", "quality"],
                 covariates=["w0"], case="case", groups="household")
    assert "clustered by household, 100 clusters" in est.inference_.diagnostics[
        "standard_errors"]


@pytest.mark.parametrize("n_groups, cluster_se, warns", [(10, True, True), (40, True, False),
                                                         (10, False, False)])
def test_few_clusters_warn(n_groups, cluster_se, warns):
    """Below 30 clusters the cluster-robust interval runs short (coverage 0.89 at G = 10 in
    the clustered study): the fit says so; iid standard errors (cluster_se=False) do not
    rest on the clusters."""
    import warnings

    d = make_linear_confounded(600, treatment="continuous", random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = StructuralDMLRegressor(cluster_se=cluster_se, **FAST).fit(
            d.X, d.T, d.Y, groups=np.arange(600) % n_groups)
    raised = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("clusters: cluster-robust" in m for m in raised) == warns
    # the summary repeats every warning the fit raised, so a saved table carries them
    summary = est.summary()
    assert summary.warnings == tuple(raised)
    text = " ".join(str(summary).split())
    assert ("Warnings raised by the fit" in text) == bool(raised)
    assert all(" ".join(m.split()) in text for m in raised)
    assert all(html.escape(m) in summary._repr_html_() for m in raised)
    assert "warnings" not in dict(summary._diag_lines())


def test_clustered_intervals_and_pvalues_use_t_with_g_minus_one_dof(clustered):
    """With G clusters the intervals, p-values and every derived result refer to t(G − 1)
    (normal ones covered 0.89 at G = 10 in the clustered study, t(G − 1) ones 0.93);
    iid standard errors keep the normal law."""
    from scipy import stats

    X, T, Y, groups = clustered
    res = StructuralDMLRegressor(**FAST).fit(X, T, Y, groups=groups).inference_
    assert res.dof == 59
    crit = stats.t.ppf(0.975, 59)
    np.testing.assert_allclose(res.conf_int()[:, 1], res.estimate + crit * res.stderr)
    np.testing.assert_allclose(res.pvalue(), 2 * stats.t.sf(np.abs(res.zstat()), 59))
    derived = [res[[0]], res.contrast(np.r_[1.0, -np.ones(len(res.names) - 1) / 2]),
               res.ratio(0, 1), res[[0]] - res[[1]]]
    assert [d.dof for d in derived] == [59] * 4
    assert "t(59): 60 clusters" in str(res.summary())
    joint = res.conf_int(joint=True)
    assert np.all(joint[:, 1] - joint[:, 0] > res.conf_int()[:, 1] - res.conf_int()[:, 0])
    iid = StructuralDMLRegressor(cluster_se=False, **FAST).fit(X, T, Y, groups=groups)
    assert iid.inference_.dof is None
    assert "normal approximation" in str(iid.summary())
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(iid.inference_.conf_int()[:, 1],
                               iid.inference_.estimate + z * iid.inference_.stderr)
