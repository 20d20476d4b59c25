"""Name -> family lookup. Adding a family is one file and one line here."""

from __future__ import annotations

from ._base import Family
from ._linear import LinearFamily
from ._logit import LogitFamily

FAMILIES = {
    "linear": LinearFamily,
    "logit": LogitFamily,
}


def get_family(family):
    """Return a :class:`Family` instance from a name or an instance."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str) and family in FAMILIES:
        return FAMILIES[family]()
    raise ValueError(
        f"Unknown family {family!r}. Use one of {sorted(FAMILIES)} or a Family instance "
        "(for a custom torch loss, sklearn_dml.families.CustomFamily)."
    )
