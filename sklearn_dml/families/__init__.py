"""Structural model families: loss, score, Hessian and the facts that pick Λ's regime."""

from ._base import CustomFamily, Family
from ._beta import BetaFamily
from ._combinatorial import CombinatorialFamily
from ._extended import ExtendedIndexFamily
from ._fractional import FractionalLogitFamily
from ._gamma import GammaFamily
from ._gumbel import GumbelFamily
from ._hetero import HeteroskedasticGaussianFamily
from ._index import IndexFamily
from ._linear import LinearFamily
from ._logit import LogitFamily
from ._multinomial import MultinomialLogitFamily
from ._negbin import NegativeBinomialFamily
from ._nested import NestedLogitFamily
from ._poisson import PoissonFamily
from ._probit import ProbitFamily
from ._registry import FAMILIES, get_family
from ._tobit import TobitFamily
from ._weibull import WeibullFamily
from ._zip import ZeroInflatedPoissonFamily

__all__ = [
    "Family",
    "IndexFamily",
    "CustomFamily",
    "LinearFamily",
    "LogitFamily",
    "FAMILIES",
    "get_family",
    "ExtendedIndexFamily",
    "ProbitFamily",
    "PoissonFamily",
    "NegativeBinomialFamily",
    "GammaFamily",
    "WeibullFamily",
    "TobitFamily",
    "GumbelFamily",
    "HeteroskedasticGaussianFamily",
    "BetaFamily",
    "FractionalLogitFamily",
    "ZeroInflatedPoissonFamily",
    "MultinomialLogitFamily",
    "NestedLogitFamily",
    "CombinatorialFamily",
]
