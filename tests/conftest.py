import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.RandomState(0)


FAST = dict(hidden_dims=(16,), max_epochs=30, random_state=0)
