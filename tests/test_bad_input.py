"""Bad input gets a clear error (or a warning with the figure), never a NaN estimate."""

import re

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, ShuffleSplit, StratifiedGroupKFold

import sklearn_dml as sd
from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded, make_logit

FAST = dict(hidden_dims=(4,), max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(200, random_state=0)


@pytest.mark.parametrize("where", ["X", "T", "Y"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected(data, where, value):
    arrays = {"X": data.X.copy(), "T": data.T.copy(), "Y": data.Y.copy()}
    arrays[where].flat[3] = value
    kind = "NaN" if np.isnan(value) else "inf"
    expected = (f"Input X contains {'NaN' if kind == 'NaN' else 'infinity'}" if where == "X" else
                rf"{where} contains NaN or infinity: column '{where}' has 1 {kind} \(row 3\)\. "
                "The structural loss is undefined there: drop those rows")
    with pytest.raises(ValueError, match=expected):
        StructuralDMLRegressor(**FAST).fit(arrays["X"], arrays["T"], arrays["Y"])


def test_nan_and_inf_are_counted_per_named_column(data):
    pd = pytest.importorskip("pandas")
    T = pd.DataFrame({"price": data.T, "ad": data.T ** 2})
    T.loc[[1, 5], "ad"] = np.nan
    T.loc[[5, 8, 9], "price"] = np.inf
    expected = (r"T contains NaN or infinity: column 'price' has 3 inf; column 'ad' has 2 NaN "
                r"\(rows 1, 5, 8, 9\)")
    with pytest.raises(ValueError, match=expected):
        StructuralDMLRegressor(**FAST).fit(data.X, T, data.Y)
    Y = pd.Series(data.Y, name="sales")
    Y[[2, 4]] = [np.nan, -np.inf]
    with pytest.raises(ValueError, match=r"column 'sales' has 1 NaN and 1 inf \(rows 2, 4\)"):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T, Y)


@pytest.mark.parametrize("which", ["T", "Y"])
def test_mismatched_lengths(data, which):
    T, Y = data.T, data.Y
    T, Y = (T[:-5], Y) if which == "T" else (T, Y[:-5])
    with pytest.raises(ValueError, match=f"X has 200 rows but {which} has 195"):
        StructuralDMLRegressor(**FAST).fit(data.X, T, Y)


def test_too_many_folds(data):
    with pytest.raises(ValueError, match="too many for 200 rows"):
        StructuralDMLRegressor(cv=150, **FAST).fit(data.X, data.T, data.Y)


def test_one_row_folds_from_custom_splits(data):
    splits = [(np.arange(1, 200), np.array([0])), (np.array([0]), np.arange(1, 200))]
    with pytest.raises(ValueError, match="at least 2 held-out"):
        StructuralDMLRegressor(cv=splits, **FAST).fit(data.X, data.T, data.Y)


def test_non_partitioning_splitter(data):
    with pytest.raises(ValueError, match="partition the rows"):
        StructuralDMLRegressor(cv=ShuffleSplit(3, random_state=0), **FAST).fit(
            data.X, data.T, data.Y)


def test_constant_treatment(data):
    with pytest.raises(ValueError, match="Treatment 'T' is constant"):
        StructuralDMLRegressor(**FAST).fit(data.X, np.ones(200), data.Y)


def test_non_binary_outcome_for_logit(data):
    with pytest.raises(ValueError, match="binary outcome Y coded 0/1"):
        LogitDML(**FAST).fit(data.X, data.T, data.Y)


def test_constant_outcome_for_logit(data):
    with pytest.raises(ValueError, match="single value"):
        LogitDML(**FAST).fit(data.X, data.T, np.zeros(200))


@pytest.mark.parametrize("cls", [StructuralDMLRegressor, sd.TobitDML, sd.PoissonDML])
def test_constant_outcome_is_refused(data, cls):
    """A constant Y has nothing to estimate; the linear model had returned α = Y, β = 0
    with standard errors of exactly zero."""
    with pytest.raises(ValueError, match="single value 2 in every row"):
        cls(**FAST).fit(data.X, data.T, np.full(200, 2.0))


@pytest.mark.parametrize("make_T", [
    pytest.param(lambda t, rng: np.column_stack([t, t]), id="duplicate"),
    pytest.param(lambda t, rng: np.column_stack([t, rng.normal(size=t.size), 3 - 2 * t]),
                 id="affine"),
])
def test_collinear_treatments_are_refused(data, make_T):
    """Treatments that are affine in each other have no separate effects; before, the
    linear model split one effect between two copies of T (0.485 and 0.486) with SEs of
    0.023 each."""
    T = make_T(np.asarray(data.T).ravel(), np.random.RandomState(0))
    with pytest.raises(ValueError, match="are collinear.*not identified"):
        StructuralDMLRegressor(**FAST).fit(data.X, T, data.Y)
    with pytest.raises(ValueError, match="'T0', 'T2' are collinear|'T0', 'T1' are collinear"):
        LogitDML(**FAST).fit(data.X, T, (data.Y > np.median(data.Y)).astype(float))


def test_perfect_separation_by_treatment(data):
    T = data.T
    with pytest.raises(ValueError, match="perfectly separates Y"):
        LogitDML(**FAST).fit(data.X, T, (T > 0).astype(float))


def test_quasi_separation_binary_treatment():
    d = make_logit(300, treatment="binary", random_state=0)
    Y = d.Y.copy()
    Y[d.T == 1] = 1.0
    with pytest.raises(ValueError, match="quasi-complete separation"):
        LogitDML(**FAST).fit(d.X, d.T, Y)


def test_string_columns(data):
    X = data.X.astype(object)
    X[:, 0] = "a"
    with pytest.raises(ValueError, match="(non-numeric|Encode categorical|string)"):
        StructuralDMLRegressor(**FAST).fit(X, data.T, data.Y)


def test_missing_Y_says_how_to_pass_it(data):
    with pytest.raises(TypeError, match="pack_targets"):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T)


@pytest.mark.parametrize("weights, message", [
    (-np.ones(200), "negative"), (np.zeros(200), "sums to zero"), (np.ones(10), "10 entries")])
def test_bad_sample_weight(data, weights, message):
    with pytest.raises(ValueError, match=message):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y, sample_weight=weights)


@pytest.mark.parametrize("params, message", [
    ({"lr": -1.0}, "lr"), ({"hidden_dims": ()}, "hidden_dims"), ({"cv": 0}, "cv"),
    ({"lambda_method": "magic"}, "lambda_method"), ({"dropout": 1.5}, "dropout")])
def test_invalid_params(data, params, message):
    with pytest.raises(ValueError, match=message):
        StructuralDMLRegressor(**{**FAST, **params}).fit(data.X, data.T, data.Y)


def test_analytic_lambda_refused_for_logit():
    d = make_logit(200, random_state=0)
    with pytest.raises(ValueError, match="free of θ and y"):
        LogitDML(lambda_method="analytic", **FAST).fit(d.X, d.T, d.Y)


def test_unfitted_estimator_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        StructuralDMLRegressor().summary()


def test_empty_input():
    with pytest.raises(ValueError, match="(0 sample|minimum of 1)"):
        StructuralDMLRegressor(**FAST).fit(np.zeros((0, 3)), np.zeros(0), np.zeros(0))


def test_no_covariates_says_how_to_fit_the_constant_model(data):
    est = LogitDML(**FAST)
    with pytest.raises(ValueError, match=r"X=np.ones\(\(n_samples, 1\)\)"):
        est.fit(None, data.T, data.Y)
    Y = (data.Y > np.median(data.Y)).astype(float)
    est.fit(np.ones((len(Y), 1)), data.T, Y)
    assert est.homogeneous_ == ["alpha", "beta"]
    with pytest.raises(ValueError, match="X is None; pass the covariates"):
        est.predict(None)


def test_huge_magnitudes_fail_loudly_or_estimate_finitely():
    """Y on the 1e12 scale: either a finite answer or an error naming the fold, never NaN."""
    d = make_linear_confounded(200, random_state=0)
    try:
        est = StructuralDMLRegressor(**FAST).fit(d.X, d.T, d.Y * 1e12)
    except (RuntimeError, FloatingPointError) as exc:
        assert "fold" in str(exc)
    else:
        assert np.all(np.isfinite(est.inference_.estimate))


def test_worker_error_names_the_fold(monkeypatch):
    import sklearn_dml._divergence as cf

    def boom(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(cf, "train_ensemble", boom)
    d = make_linear_confounded(200, random_state=0)
    expected = r"fold\(s\) \[0, 1, 2, 3, 4\] of repetition 0.*simulated"
    with pytest.raises(RuntimeError, match=expected):
        StructuralDMLRegressor(**FAST).fit(d.X, d.T, d.Y)


def test_influence_max_share_separates_gaussian_from_one_outlier():
    from sklearn_dml._inference import influence_max_share

    psi = np.random.RandomState(0).standard_normal((2000, 2))
    assert influence_max_share(psi).max() < 0.02
    psi[7, 1] = 500.0
    share = influence_max_share(psi)
    assert share[0] < 0.02 and share[1] > 0.9


def test_one_dominant_row_warns_with_its_share(data):
    Y = data.Y.copy()
    Y[11] = 1e4  # a gross outlier: its residual dominates the correction
    with pytest.warns(UserWarning, match=r"Dropping one row would move 'E\[beta\]' by [0-9.]+ "
                                         r"standard errors \(row 11, "):
        est = StructuralDMLRegressor(**FAST).fit(data.X, data.T, Y)
    assert max(est.inference_.diagnostics["influence_max_share"]) > 0.5
    beta = est.inference_.names.index("E[beta]")
    assert est.inference_.diagnostics["influence_max_row"][beta] == 11
    assert "influence_max_share" in str(est.summary())


def test_treatment_constant_on_a_folds_training_rows(data):
    T = (data.T > 0).astype(float)
    T[:100] = 0.0  # the second fold trains on rows 0-99 only: T never varies there
    splits = [(np.arange(100, 200), np.arange(100)), (np.arange(100), np.arange(100, 200))]
    with pytest.raises(ValueError, match="constant .* on the training rows of fold 1"):
        StructuralDMLRegressor(cv=splits, **FAST).fit(data.X, T, data.Y)


def test_treatment_constant_on_half_of_a_regime_c_training_part(data):
    # each training part has a single treated row, so one of the halves on which the two
    # auxiliary θ-networks train never sees T vary, whichever way the halves are drawn
    T = np.zeros(200)
    T[[0, 100]] = 1.0
    Y = (data.Y > np.median(data.Y)).astype(float)
    splits = [(np.arange(100, 200), np.arange(100)), (np.arange(100), np.arange(100, 200))]
    with pytest.raises(ValueError, match="constant .* on which an auxiliary θ-network trains"):
        LogitDML(cv=splits, **FAST).fit(data.X, T, Y)
    # integrating over the propensity needs no auxiliary fits: with two treated rows in
    # 200 it fits, and calls its interval unreliable
    with pytest.warns(UserWarning, match="treat the interval as unreliable"):
        LogitDML(cv=splits, lambda_method="conditional", **FAST).fit(data.X, T, Y)


# -- treatment_law (regime A) against the observed T ------------------------------------------

@pytest.fixture(scope="module")
def randomized():
    return make_logit(400, treatment="randomized", random_state=0)  # T ~ Bernoulli(0.5)


@pytest.mark.parametrize("law, missing, support", [
    (([1, 2], [0.5, 0.5]), "0", "1, 2"), (([0, 5], [0.5, 0.5]), "1", "0, 5"),
    (([0, 1, 2], [0.5, 0.0, 0.5]), "1", "0, 2")])  # probability 0 is outside the support
def test_treatment_law_must_cover_the_observed_treatments(randomized, law, missing, support):
    from sklearn_dml._validation import check_treatment_law

    expected = (r"treatment_law gives probability 0 to 1 value\(s\) that T takes in \d+ of {} "
                rf"rows: {missing} \(\d+ rows\) is not in its support {support}\. .*"
                "treatment_law='empirical'")
    with pytest.raises(ValueError, match=expected.format(400)):
        check_treatment_law(law, randomized.T[:, None])
    # in a fit: a ValueError before any training, naming the user's values
    with pytest.raises(ValueError, match=expected.format(400)):
        LogitDML(treatment_law=law, **FAST).fit(randomized.X, randomized.T, randomized.Y)


def test_treatment_law_support_of_vectors_and_continuous_treatments(randomized):
    from sklearn_dml._validation import check_treatment_law

    T2 = np.column_stack([randomized.T, 1 - randomized.T])
    with pytest.raises(ValueError, match=r"\(1, 0\) \(\d+ rows\) is not in its support \(0, 1\)"):
        check_treatment_law(([[0, 1]], [1.0]), T2)
    values, probs = check_treatment_law(([[0, 1], [1, 0]], [0.5, 0.5]), T2)
    np.testing.assert_array_equal(probs, [0.5, 0.5])
    normal = np.random.RandomState(0).normal(size=(300, 1))
    with pytest.raises(ValueError, match=r"probability 0 to 300 value\(s\) .*\(1 row\), \.\.\. "
                                         "are not in its support -1, 1"):
        check_treatment_law(([-1, 1], [0.5, 0.5]), normal)
    # values written differently match: 0.1 + 0.2 is not 0.3 in floating point
    check_treatment_law(([0.1 + 0.2, 1.0], [0.5, 0.5]), np.repeat([[0.3], [1.0]], 50, axis=0))


@pytest.mark.parametrize("law, expected", [
    (([0, 1], [0.3, 0.7]), [
        r"treatment_law does not look like the law that assigned 'T': the law's mean is 0\.7 and "
        r"SD 0\.4583, the sample's \(n = 400\) 0\.4825 and 0\.4997, 9\.5 standard errors apart\. "
        r".*treatment_law='empirical'"]),
    (([0, 1, 5], [0.45, 0.45, 0.1]), [
        r"treatment_law gives probability 0\.1 to 5, which T never takes in 400 rows \(a chance "
        r"of 5e-19 under the law\)\. .*treatment_law='empirical'",
        r"the law's mean is 0\.95 and SD 1\.431, .* 6\.6 standard errors apart"])])
def test_treatment_law_far_from_the_sample_warns(randomized, law, expected):
    import re

    from sklearn_dml._validation import check_treatment_law

    with pytest.warns(UserWarning) as record:
        check_treatment_law(law, randomized.T[:, None])
    messages = [str(w.message) for w in record]
    assert len(messages) == len(expected)
    for pattern, message in zip(expected, messages):
        assert re.search(pattern, message), message


@pytest.mark.parametrize("law", [None, "empirical", ([0, 1], [0.5, 0.5]), [0.0, 1.0],
                                 ([0, 1, 2], [0.49, 0.49, 0.02])])  # 2 unseen: chance 3e-4
def test_treatment_law_of_the_design_passes_quietly(randomized, law):
    import warnings

    from sklearn_dml._validation import check_treatment_law

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_treatment_law(law, randomized.T[:, None])


# -- divergence --------------------------------------------------------------------------------

def test_divergence_is_an_error_naming_the_folds():
    d = make_linear_confounded(1000, random_state=0)
    expected = (r"Training of the θ-network diverged in fold\(s\) \[0, 1, 2, 3, 4\] of repetition "
                r"0, also with lr=100000: in fold 0, the validation loss of the returned weights "
                r"is [0-9.e+]+, against [0-9.]+ at the start\. Use a smaller lr \(the default is "
                r"0\.01\), and check X, T and Y for extreme values \(x_scaling='quantile'")
    with pytest.warns(RuntimeWarning, match=r"diverged in fold 0 .*retrying with lr=100000"), \
            pytest.raises(RuntimeError, match=expected):
        StructuralDMLRegressor(lr=1e6, random_state=0).fit(d.X, d.T, d.Y)


def test_divergence_without_early_stopping_is_judged_on_the_training_rows(data):
    with pytest.warns(RuntimeWarning, match="retrying"), \
            pytest.raises(RuntimeError, match=r"diverged in fold\(s\) .*the training loss"):
        StructuralDMLRegressor(lr=1e6, early_stopping=False, **FAST).fit(data.X, data.T, data.Y)


def test_theta_far_outside_the_data_is_an_error(monkeypatch, data):
    """A network whose validation loss looks fine but whose θ̂ on the fold's held-out rows
    is absurd (here: the output layer scaled by 1e6 after training)."""
    import sklearn_dml._divergence as cf

    train = cf.train_ensemble

    def absurd(*args, **kwargs):
        fit = train(*args, **kwargs)
        W, b = fit.layers[-1]
        fit.layers[-1] = (W * 1e6, b * 1e6)
        return fit

    monkeypatch.setattr(cf, "train_ensemble", absurd)
    expected = (r"diverged in fold\(s\) \[0, 1, 2, 3, 4\] .*in fold 0, θ̂ gives a mean loss of "
                r"[0-9.e+]+ on 40 rows it did not train on, against [0-9.]+ at the start: θ̂ lies "
                r"far outside what the data support")
    with pytest.warns(RuntimeWarning, match="retrying"), pytest.raises(RuntimeError,
                                                                       match=expected):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y)


def test_diverged_members_flags_growth_not_improvement():
    from types import SimpleNamespace

    from sklearn_dml._training import DIVERGENCE_GROWTH, diverged_members

    fit = SimpleNamespace(
        start_loss=np.array([1.0, 1.0, -2.0, 1.0, np.inf]),
        end_loss=np.array([0.5, 1.0 + 1.01 * DIVERGENCE_GROWTH, -1.0, np.nan, 3.0]),
        loss_scale=np.array([1.0, 1.0, 2.0, 1.0, np.inf]))
    np.testing.assert_array_equal(diverged_members(fit), [False, True, False, True, False])


# -- splitters and devices ---------------------------------------------------------------------

@pytest.mark.parametrize("cv", [GroupKFold(3), StratifiedGroupKFold(3)])
def test_group_splitter_without_groups(data, cv):
    expected = (rf"cv={type(cv).__name__}\(\.\.\.\) splits by groups, but fit got no groups\. "
                r"Pass the group labels to fit: est\.fit\(X, T, Y, groups=groups\)")
    with pytest.raises(ValueError, match=expected):
        StructuralDMLRegressor(cv=cv, **FAST).fit(data.X, data.T, data.Y)


def test_group_splitter_by_another_name_without_groups(data):
    class Clusters(GroupKFold):  # a group splitter whose name does not say so
        pass

    Clusters.__name__ = "Clusters"
    with pytest.raises(ValueError, match=r"cv=Clusters\(\.\.\.\) splits by groups"):
        StructuralDMLRegressor(cv=Clusters(3), **FAST).fit(data.X, data.T, data.Y)


@pytest.mark.parametrize("device, hint", [
    ("mps", "Apple's 'mps' backend is not supported"), ("gpu", "For an NVIDIA GPU, use 'cuda'"),
    ("cuda:7", ""), ("CPU", ""), ("cuda:x", "")])
def test_unknown_device(data, device, hint):
    import torch

    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    expected = (rf"device='{device}' .*'cpu', 'cuda', 'cuda:N' \(N the index of a CUDA device "
                r"torch sees\) or 'auto'")
    with pytest.raises(ValueError, match=expected) as info:
        StructuralDMLRegressor(device=device, **FAST).fit(data.X, data.T, data.Y)
    assert hint in str(info.value)


def test_one_huge_weight_is_an_error_not_a_confident_number(data):
    w = np.ones(200)
    w[7] = 1e9
    with pytest.raises(ValueError, match=r"effective sample size of 1\.0 rows out of 200 .*row "
                                         r"7, is 1e\+09 times the median weight\): too few"):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y, sample_weight=w)


def test_a_fold_without_positive_weights_is_an_error_that_says_what_to_do(data):
    """Weights 0 on all but a few rows (a subsample indicator): a fold's test part can hold
    none of them. That fold failed inside the workers with a division by zero."""
    w = np.zeros(200)
    w[:6] = 1.0
    with pytest.raises(ValueError, match=r"rows of fold \d \(repetition 0\) all have "
                                         r"sample_weight 0: only 6 of 200 rows .*Drop the rows"):
        StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y, sample_weight=w)


def test_extreme_weights_warn_with_the_effective_sample_size(data):
    w = np.ones(200)
    w[:3] = 100.0
    with pytest.warns(UserWarning, match=r"effective sample size of 8 of 200 rows .*design "
                                         r"effect of 24\.5; the largest weight, row 0, is 100 "
                                         "times the median"):
        est = StructuralDMLRegressor(**FAST).fit(data.X, data.T, data.Y, sample_weight=w)
    assert est.inference_.diagnostics["effective_n"] == pytest.approx(
        w.sum() ** 2 / (w ** 2).sum(), abs=0.1)


def test_many_regularized_rows_warn_and_say_what_to_do(data):
    """lambda_floor=0.9 floors most rows by choice: a warning that calls the interval
    unreliable, not a refusal, since identification is judged at 1%."""
    with pytest.warns(UserWarning, match=r"Λ̂\(x\) was regularized on \d+\.\d% of rows .*"
                                         "treat the interval as unreliable.*lower lambda_floor"):
        est = StructuralDMLRegressor(lambda_floor=0.9, **FAST).fit(data.X, data.T, data.Y)
    diag = est.inference_.diagnostics
    assert diag["share_regularized"] > 0.5 > diag["share_unidentified"]


def _separated_by_x(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (X[:, 0] > 0).astype(float)
    return X, T, 0.5 * X[:, 0] + 0.5 * T + rng.normal(size=n)


def test_treatment_determined_by_x_is_refused_with_what_to_do():
    X, T, Y = _separated_by_x()
    with pytest.raises(ValueError, match=r"singular or nearly so on \d+% of rows .* not "
                                         r"identified on most rows.*\(homogeneous='all'\)"):
        StructuralDMLRegressor(**FAST).fit(X, T, Y)
    with pytest.raises(ValueError, match="not identified on most rows"):
        LogitDML(**FAST).fit(X, T, (Y > 0.5).astype(float))
    # held constant in x, θ rests on the parametric model and is identified
    est = StructuralDMLRegressor(homogeneous="all", **FAST).fit(X, T, Y)
    assert np.all(np.isfinite(est.inference_.stderr))


FOREST_LAMBDA_FAMILIES = {"negbin": sd.NegativeBinomialDML, "gamma": sd.GammaDML,
                          "weibull": sd.WeibullDML, "tobit": sd.TobitDML, "beta": sd.BetaDML,
                          "zip": sd.ZeroInflatedPoissonDML}


@pytest.mark.parametrize("kind", ["continuous", "binary"])
@pytest.mark.parametrize("family", sorted(FOREST_LAMBDA_FAMILIES))
def test_treatment_determined_by_x_is_refused_where_lambda_is_a_forest(family, kind):
    """These families regress whole Hessians with a random forest, whose leaves average over
    rows where T differs even when X decides T: overlap is read from T's moments given x."""
    from sklearn_dml.datasets import make_family_data

    data = make_family_data(family, 400, random_state=0)
    # determined by two covariates, not a copy of one (refused before any fit)
    T = (data.X[:, :1] + 0.5 * data.X[:, 1:2] if kind == "continuous"
         else (data.X[:, :1] > 0).astype(float))
    est = FOREST_LAMBDA_FAMILIES[family](**FAST)
    with pytest.raises(ValueError, match="not identified on most rows"):
        est.fit(data.X, T, data.Y)
    # the same outcome with the design's own T, which varies given x, is not refused
    est.fit(data.X, data.T, data.Y)
    assert est.inference_.diagnostics["share_unidentified"] < 0.05


def test_refusal_and_warning_tiers_follow_the_shares():
    from types import SimpleNamespace

    from sklearn_dml._debias import check_identified, regularization_warnings

    def reps(share):
        return [SimpleNamespace(unidentified=np.arange(100) < round(100 * share))]

    with pytest.raises(ValueError, match="55% of rows"):
        check_identified(reps(0.55))
    check_identified(reps(0.45))
    check_identified(reps(1.0), varying=False)  # a parametric fit does not use Λ̂(x)
    check_identified([SimpleNamespace(unidentified=np.ones(50, bool))])  # too few rows to tell
    fifth, tenth = (regularization_warnings({"share_regularized": s}, 1e-2)[0]
                    for s in (0.2, 0.1))
    assert "unreliable" in fifth and "unreliable" not in tenth
    assert "can bias the estimate." in tenth


def test_no_warning_for_moderately_influential_rows():
    """A row that carries 18% of ψ's variance moves the estimate by 0.42 SE: no warning."""
    from sklearn_dml._inference import leave_one_out_shift

    psi = np.zeros((1000, 1))
    psi[:500, 0], psi[500:, 0] = 1.0, -1.0
    psi[0, 0] = np.sqrt(0.18 / 0.82 * 1000)  # that row's share of Σ(ψ − ψ̄)² is about 18%
    se = psi.std() / np.sqrt(1000)
    shift, row = leave_one_out_shift(psi, None, np.array([se]))
    assert 0.40 < shift[0] < 0.45 and row[0] == 0


def test_a_cluster_randomized_law_is_judged_on_the_clusters():
    """T assigned by village: the treated share of rows varies with the villages, not the
    rows, so the true law must not warn once groups says so (it does warn without)."""
    import warnings

    rng = np.random.RandomState(0)
    villages = np.repeat(np.arange(40), 50)
    treated = rng.binomial(1, 0.5, size=40)
    treated[:4] = 1  # 27 of 40 treated: 2.2 SEs from 0.5 over villages, 15.7 over rows
    T = treated[villages].astype(float)
    from sklearn_dml._validation import check_treatment_law

    share = T.mean()
    assert abs(share - 0.5) > 4 * 0.5 / np.sqrt(T.size)
    with pytest.warns(UserWarning, match="does not look like the law"):
        check_treatment_law(([0.0, 1.0], [0.5, 0.5]), T[:, None])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_treatment_law(([0.0, 1.0], [0.5, 0.5]), T[:, None], n_independent=40)


def test_treatment_law_with_the_wrong_number_of_columns(data):
    T2 = np.column_stack([data.T, np.asarray(data.T) ** 2])
    with pytest.raises(ValueError, match=r"treatment_law values need 2 column\(s\), one per "
                                         r"treatment; got an array of shape \(3,\)"):
        StructuralDMLRegressor(treatment_law=([0.0, 1.0, 2.0], [0.5, 0.25, 0.25]),
                               **FAST).fit(data.X, T2, data.Y)


@pytest.mark.parametrize("params, name", [
    (dict(target=object()), "target"),
    (dict(lambda_model=object()), "lambda_model"),
    (dict(lambda_model="forest"), "lambda_model"),
])
def test_parameters_that_are_not_what_they_should_be_are_refused_by_name(params, name):
    data = make_linear_confounded(100, random_state=0)
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        StructuralDMLRegressor(max_epochs=2, **params).fit(data.X, data.T, data.Y)


def test_a_family_must_be_a_name_or_a_family_object():
    from sklearn_dml import StructuralDML

    data = make_linear_confounded(100, random_state=0)
    with pytest.raises(ValueError, match="'family' parameter"):
        StructuralDML(family=3.0, max_epochs=2).fit(data.X, data.T, data.Y)


@pytest.mark.parametrize("r2, warns", [(0.95, True), (0.3, False)])
def test_a_treatment_that_x_mostly_explains_warns_in_regime_c(r2, warns):
    """From half of T's variance explained by X on, the regime-C families' intervals were off
    in the coverage studies (the tobit covered 0.78 at R² = 0.9 without a flag); the
    linear model's held and does not warn. Only the tobit's message blames its forest."""
    import warnings

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    g = X[:, 0] + 0.5 * X[:, 1]
    T = g + np.sqrt(1.25 * (1 - r2) / r2) * rng.normal(size=600)
    latent = 0.3 + 0.5 * X[:, 2] + T + rng.normal(size=600)
    said = {}
    for est, y in [(sd.TobitDML(**FAST), np.maximum(latent, 0.0)),
                   (sd.ProbitDML(**FAST), (latent > 0).astype(float)),
                   (StructuralDMLRegressor(**FAST), latent)]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X, T, y)
        said[type(est).__name__] = [str(w.message) for w in caught
                                    if "of the variance of T" in str(w.message)]
    assert said["StructuralDMLRegressor"] == []
    assert [len(said[name]) for name in ("TobitDML", "ProbitDML")] == [int(warns)] * 2
    if warns:
        assert re.search(r"X explains 9\d% of the variance of T", said["ProbitDML"][0])
        assert "random forest" not in said["ProbitDML"][0]
        assert "tobit family's Λ̂, a random forest" in said["TobitDML"][0]
        assert "lambda_method='conditional'" in said["TobitDML"][0]


def test_public_survey_without_overlap_is_called_unreliable():
    """The Fair affairs survey: every woman married 16.5 years or more has children, so
    with years married in X a binary T = has children has no overlap on a quarter of the
    rows; the warning must call the interval unreliable (its coverage was 0.80 there)."""
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.fair.load_pandas().data
    X = d[["rate_marriage", "age", "yrs_married", "religious", "educ"]].to_numpy(float)
    T = (d["children"].to_numpy() > 0).astype(float)
    Y = np.random.default_rng(0).normal(size=T.size) + 0.4 * T
    with pytest.warns(UserWarning, match="regularized on .* treat the interval as unreliable"):
        est = StructuralDMLRegressor(hidden_dims=(8,), max_epochs=5, random_state=0).fit(X, T, Y)
    assert est.inference_.diagnostics["share_regularized"] > 0.15


def test_dates_as_treatment_or_outcome_are_refused():
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    dates = pd.Series(pd.date_range("2020-01-01", periods=100), name="day")
    with pytest.raises(ValueError, match="T holds dates or durations"):
        StructuralDMLRegressor(max_epochs=2).fit(X, dates, rng.normal(size=100))
    with pytest.raises(ValueError, match="Y holds dates or durations"):
        StructuralDMLRegressor(max_epochs=2).fit(X, rng.normal(size=100), dates - dates[0])
    with pytest.raises(ValueError, match=r"Code a two-valued Y as 0/1"):
        StructuralDMLRegressor(max_epochs=2).fit(X, rng.normal(size=100),
                                                 np.where(X[:, 0] > 0, "yes", "no"))


@pytest.mark.parametrize("copy, role", [
    (lambda d: d.Y, "outcome"),
    (lambda d: 2.5 * d.Y - 7.0, "outcome"),
    (lambda d: d.T, "treatment"),
    (lambda d: -0.001 * d.T, "treatment"),
])
def test_a_covariate_that_copies_the_outcome_or_treatment_is_refused(data, copy, role):
    """A data frame passed whole leaves Y (or T) among the covariates: the outcome in X
    gave E[β] = 0.003 with an SE of 0.002 (truth 1) before this check."""
    X = np.column_stack([data.X, copy(data)])
    name = f"x{data.X.shape[1]}"
    with pytest.raises(ValueError, match=rf"Column '{name}' of X is (a copy|an affine "
                                         rf"function) of the {role}"):
        StructuralDMLRegressor(**FAST).fit(X, data.T, data.Y)


def test_a_covariate_that_predicts_the_outcome_well_is_kept(data):
    rng = np.random.default_rng(0)
    X = np.column_stack([data.X, data.Y + 0.5 * rng.standard_normal(data.Y.size)])
    StructuralDMLRegressor(**FAST).fit(X, data.T, data.Y)


def test_the_copied_column_is_named_from_a_data_frame(data):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(data.X, columns=[f"c{j}" for j in range(data.X.shape[1])])
    X["wage"] = data.Y
    with pytest.raises(ValueError, match="Column 'wage' of X is a copy of the outcome 'Y'"):
        StructuralDMLRegressor(**FAST).fit(X, data.T, data.Y)
