"""Choice attributes that carry the names of the alternatives and the attributes.

:func:`~sklearn_dml.from_long` and :func:`~sklearn_dml.datasets.make_choice` return their
attribute array ``T`` as a :class:`NamedAttributes`, so that
``MultinomialLogitDML(J).fit(data.X, data.T, data.Y)`` labels θ with those names without
the user copying them into the constructor.
"""

from __future__ import annotations

import numpy as np


class NamedAttributes(np.ndarray):
    """An (n, J, K) float array with ``alternative_names`` (J) and ``attribute_names`` (K).

    It behaves as an ndarray everywhere; :meth:`MultinomialLogitDML.fit` reads the names
    when the constructor does not give them and the shape still matches them.
    """

    alternative_names: list | None
    attribute_names: list | None

    def __new__(cls, values, alternative_names=None, attribute_names=None):
        obj = np.asarray(values, dtype=float).view(cls)
        obj.alternative_names = None if alternative_names is None else [
            str(a) for a in alternative_names]
        obj.attribute_names = None if attribute_names is None else [
            str(a) for a in attribute_names]
        return obj

    def __array_finalize__(self, obj):
        self.alternative_names = getattr(obj, "alternative_names", None)
        self.attribute_names = getattr(obj, "attribute_names", None)

    def __reduce__(self):
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.alternative_names, self.attribute_names)

    def __setstate__(self, state):
        base, self.alternative_names, self.attribute_names = state
        super().__setstate__(base)


def attached_names(T, n_alternatives):
    """``{"alternatives": [...], "attributes": [...]}`` from a :class:`NamedAttributes`
    whose shape still matches its names (a slice across alternatives drops them)."""
    names = {}
    shape = np.shape(T)
    alternatives = getattr(T, "alternative_names", None)
    attributes = getattr(T, "attribute_names", None)
    if len(shape) != 3 or shape[1] != n_alternatives:
        return names
    if alternatives is not None and len(alternatives) == shape[1]:
        names["alternatives"] = list(alternatives)
    if attributes is not None and len(attributes) == shape[2]:
        names["attributes"] = list(attributes)
    return names
