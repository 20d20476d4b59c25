"""Every random draw of a fit, from one :class:`numpy.random.SeedSequence`.

The estimator's ``random_state`` gives the root; repetitions, folds and purposes (the
θ-networks, the auxiliary networks, the Λ regressions, ...) are paths below it. A seed
depends on its path only, not on the order in which seeds are asked for, so a fold draws
the same numbers whichever worker runs it and whatever else runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

# path keys of the purposes, above any repetition or fold index
_PURPOSES = {name: 2**31 + i for i, name in enumerate((
    "split", "theta", "aux", "halves", "law", "lambda_model", "lambda_networks",
    "projection", "binning", "support", "structure"))}


@dataclass(frozen=True)
class SeedTree:
    """A node of the seed tree: ``child`` goes down a path, ``ints`` and ``int`` draw.

    Parameters
    ----------
    entropy : int
        The root's entropy.
    path : tuple of int
        The spawn key of this node below the root.
    """

    entropy: int
    path: tuple = ()

    @classmethod
    def from_random_state(cls, random_state):
        """The root for an estimator's ``random_state``: an int is the entropy itself; a
        RandomState (or None, numpy's global one) gives one draw, as scikit-learn's
        estimators take their seeds from it."""
        if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
            return cls(int(random_state))
        return cls(int(check_random_state(random_state).randint(2**31 - 1)))

    def child(self, key):
        """The node at ``key``: a purpose name or a repetition/fold index."""
        return SeedTree(self.entropy, self.path + (_PURPOSES.get(key, key),))

    def ints(self, count):
        """``count`` independent seeds in [0, 2**31), usable by numpy, torch and sklearn."""
        state = np.random.SeedSequence(self.entropy, spawn_key=self.path).generate_state(count)
        return [int(s) & 0x7FFFFFFF for s in state]

    def int(self, key=None):
        """One seed, of this node or of its child ``key``."""
        node = self if key is None else self.child(key)
        return node.ints(1)[0]

    def random_state(self, key=None):
        """A :class:`numpy.random.RandomState` seeded by :meth:`int`."""
        return np.random.RandomState(self.int(key))


def seeded_clone(model, seed):
    """A clone of a scikit-learn ``model`` with every ``random_state`` parameter (its own
    and its sub-estimators') set to ``seed``, so that its fits follow the estimator's
    ``random_state``, as scikit-learn's bagging seeds its base estimators."""
    model = clone(model)
    keys = [key for key in model.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")]
    if keys:
        model.set_params(**dict.fromkeys(keys, seed))
    return model
