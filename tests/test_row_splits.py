"""Splits inside a fold keep each group whole: validation rows and the auxiliary halves."""

import numpy as np
import torch

from sklearn_dml._crossfit import plan_crossfit
from sklearn_dml._row_splits import split_permuted, split_validation
from sklearn_dml._seeds import SeedTree


def test_without_groups_the_split_is_the_first_rows():
    rows = np.random.default_rng(0).permutation(50)
    first, rest = split_permuted(rows, 12)
    np.testing.assert_array_equal(first, rows[:12])
    np.testing.assert_array_equal(rest, rows[12:])


def test_groups_stay_whole_and_the_first_part_reaches_its_size():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 40, 400)
    rows = rng.permutation(400)
    first, rest = split_permuted(rows, 100, groups)
    assert not set(groups[first]) & set(groups[rest])
    assert np.sort(np.concatenate([first, rest])).tolist() == list(range(400))
    assert 100 <= first.size < 100 + np.bincount(groups).max()


def test_a_single_group_is_split_by_rows():
    rows = np.arange(30)
    first, rest = split_permuted(rows, 10, np.zeros(30, dtype=int))
    assert first.size == 10 and rest.size == 20


def test_validation_rows_are_whole_groups():
    groups = np.repeat(np.arange(100), 5)
    train, validation = split_validation(np.arange(500), torch.Generator().manual_seed(0),
                                         0.1, groups)
    assert not set(groups[train]) & set(groups[validation])
    assert validation.size == 50


def test_auxiliary_halves_keep_groups_whole():
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(300, 2)), rng.normal(size=(300, 1))
    groups = rng.integers(0, 60, 300)
    plans = plan_crossfit(5, 1, X, T, groups, needs_aux=True, seeds=SeedTree(0))
    for plan in plans[0]:
        assert not set(groups[plan.aux_rows]) & set(groups[plan.lambda_rows])
        assert not set(groups[plan.train]) & set(groups[plan.test])
        assert abs(plan.aux_rows.size - plan.lambda_rows.size) < 0.2 * plan.train.size
