"""sklearn_dml: structural double machine learning with neural networks.

Heterogeneous structural models θ(x), trained with torch and cross-fitting,
with influence-function debiasing for valid standard errors, as scikit-learn
estimators.
"""

from ._choice import MultinomialLogitDML, from_long
from ._combinatorial import CombinatorialDML
from ._estimators import LogitDML, StructuralDML, StructuralDMLRegressor
from ._family_estimators import (
    BetaDML,
    FractionalLogitDML,
    GammaDML,
    GumbelDML,
    HeteroskedasticDML,
    NegativeBinomialDML,
    PoissonDML,
    ProbitDML,
    TobitDML,
    WeibullDML,
    ZeroInflatedPoissonDML,
)
from ._inference import InferenceResults
from ._nested_choice import NestedLogitDML
from ._nets import StructuralNet
from ._summary import Summary
from ._validation import pack_targets

__version__ = "0.1.0.dev0"

__all__ = [
    "StructuralDMLRegressor",
    "LogitDML",
    "StructuralDML",
    "ProbitDML",
    "PoissonDML",
    "NegativeBinomialDML",
    "GammaDML",
    "WeibullDML",
    "TobitDML",
    "GumbelDML",
    "HeteroskedasticDML",
    "BetaDML",
    "FractionalLogitDML",
    "ZeroInflatedPoissonDML",
    "MultinomialLogitDML",
    "NestedLogitDML",
    "from_long",
    "CombinatorialDML",
    "StructuralNet",
    "InferenceResults",
    "Summary",
    "pack_targets",
    "__version__",
]
