"""One seed tree per fit: every draw follows ``random_state``, the Λ regressors included."""

import numpy as np
import pytest
from sklearn.ensemble import BaggingRegressor, RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._seeds import SeedTree, seeded_clone
from sklearn_dml.datasets import make_linear_confounded, make_logit

FAST = dict(hidden_dims=(8,), max_epochs=15, cv=2)


def test_a_seed_depends_on_its_path_only():
    root = SeedTree(5)
    a = root.child(0).child(1).child("theta").ints(3)
    root.child(1).child(0).child("aux").ints(7)  # other draws in between change nothing
    assert root.child(0).child(1).child("theta").ints(3) == a
    assert len(set(a)) == 3 and all(0 <= s < 2**31 for s in a)
    siblings = {root.child(0).child(1).int(key) for key in ("theta", "aux", "law", 0, 1)}
    assert len(siblings) == 5
    assert SeedTree(6).child(0).child(1).child("theta").ints(3) != a


def test_the_root_follows_random_state():
    assert SeedTree.from_random_state(3) == SeedTree(3)
    rs = np.random.RandomState(0)
    first, second = SeedTree.from_random_state(rs), SeedTree.from_random_state(rs)
    assert first != second  # a RandomState instance gives one draw per fit
    assert SeedTree.from_random_state(np.random.RandomState(0)) == first


def test_seeded_clone_sets_every_random_state_and_leaves_the_model_alone():
    model = BaggingRegressor(DecisionTreeRegressor(), n_estimators=3)
    seeded = seeded_clone(model, 11)
    assert seeded.random_state == 11 and seeded.estimator.random_state == 11
    assert model.random_state is None and model.estimator.random_state is None


@pytest.mark.parametrize("method", ["regression", "conditional"])
def test_an_unseeded_lambda_model_gives_reproducible_fits(method):
    """A Λ regressor left at random_state=None follows the estimator's random_state."""
    data = make_logit(600, random_state=1)
    model = RandomForestRegressor(n_estimators=10, min_samples_leaf=20)

    def fit(random_state):
        return LogitDML(lambda_method=method, lambda_model=model, random_state=random_state,
                        **FAST).fit(data.X, data.T, data.Y).inference_.estimate

    first = fit(0)
    np.testing.assert_array_equal(fit(0), first)
    assert not np.array_equal(fit(1), first)


def test_repeated_cross_fitting_draws_new_splits_per_repetition():
    data = make_linear_confounded(300, random_state=0)
    est = StructuralDMLRegressor(n_rep=2, random_state=0, **FAST).fit(data.X, data.T, data.Y)
    first, second = est.folds_
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))
