"""Name -> family lookup. Adding a family is one file and one line here."""

from __future__ import annotations

from ._base import Family
from ._beta import BetaFamily
from ._combinatorial import CombinatorialFamily
from ._fractional import FractionalLogitFamily
from ._gamma import GammaFamily
from ._gumbel import GumbelFamily
from ._hetero import HeteroskedasticGaussianFamily
from ._linear import LinearFamily
from ._logit import LogitFamily
from ._multinomial import MultinomialLogitFamily
from ._negbin import NegativeBinomialFamily
from ._nested import NestedLogitFamily
from ._poisson import PoissonFamily
from ._probit import ProbitFamily
from ._tobit import TobitFamily
from ._weibull import WeibullFamily
from ._zip import ZeroInflatedPoissonFamily

FAMILIES = {
    "linear": LinearFamily,
    "logit": LogitFamily,
    "probit": ProbitFamily,
    "poisson": PoissonFamily,
    "negbin": NegativeBinomialFamily,
    "gamma": GammaFamily,
    "weibull": WeibullFamily,
    "tobit": TobitFamily,
    "gumbel": GumbelFamily,
    "heteroskedastic": HeteroskedasticGaussianFamily,
    "beta": BetaFamily,
    "fractional_logit": FractionalLogitFamily,
    "zip": ZeroInflatedPoissonFamily,
    "multinomial_logit": MultinomialLogitFamily,
    "combinatorial": CombinatorialFamily,
    "nested_logit": NestedLogitFamily,
}


def get_family(family):
    """Return a :class:`Family` instance from a name or an instance.

    Parameters
    ----------
    family : str or Family
        A registry name (see ``FAMILIES``) or a Family instance (returned as is).

    Returns
    -------
    Family

    Examples
    --------
    >>> from sklearn_dml.families import FAMILIES, LogitFamily, get_family
    >>> get_family("probit")
    ProbitFamily()
    >>> family = LogitFamily()
    >>> get_family(family) is family
    True
    >>> "poisson" in FAMILIES
    True
    """
    if isinstance(family, Family):
        return family
    if isinstance(family, str) and family in FAMILIES:
        return FAMILIES[family]()
    raise ValueError(
        f"Unknown family {family!r}. Use one of {sorted(FAMILIES)} or a Family instance "
        "(for a custom torch loss, sklearn_dml.families.CustomFamily)."
    )
