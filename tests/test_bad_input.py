"""Bad input gets a clear error (or a warning with the figure), never a NaN estimate."""

import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml.datasets import make_linear_confounded, make_logit

FAST = dict(hidden_dims=(4,), max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(200, random_state=0)


@pytest.mark.parametrize("where", ["X", "T", "Y"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_and_inf_are_rejected(data, where, value):
    arrays = {"X": data.X.copy(), "T": data.T.copy(), "Y": data.Y.copy()}
    arrays[where].flat[3] = value
    with pytest.raises(ValueError, match=f"(Input {where}|{where}) contains (NaN|infinity)"):
        StructuralDMLRegressor(**FAST).fit(arrays["X"], arrays["T"], arrays["Y"])


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
    import sklearn_dml._crossfit as cf

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
    with pytest.warns(UserWarning, match=r"One row carries \d+% of the variance"):
        est = StructuralDMLRegressor(**FAST).fit(data.X, data.T, Y)
    assert max(est.inference_.diagnostics["influence_max_share"]) > 0.5
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
