"""Structural model families: loss, score, Hessian and the facts that pick Λ's regime."""

from ._base import CustomFamily, Family
from ._index import IndexFamily
from ._linear import LinearFamily
from ._logit import LogitFamily
from ._registry import FAMILIES, get_family

__all__ = [
    "Family",
    "IndexFamily",
    "CustomFamily",
    "LinearFamily",
    "LogitFamily",
    "FAMILIES",
    "get_family",
]
