"""Targets: averages μ = E[H(X, θ(X); t̃)] to debias, with closed-form Jacobians."""

from ._base import CustomTarget, Target
from ._choice import (
    ChoiceElasticity,
    ChoiceMarginalEffect,
    ChoiceProbability,
    ConsumerSurplus,
    Revenue,
    WillingnessToPay,
)
from ._combinatorial import BestCombinationATE, MultiTreatmentATE
from ._distribution import ConditionalVariance, Elasticity, TailProbability
from ._effects import AverageEffect, AverageMarginalEffect, AveragePrediction
from ._parameter import AverageParameter
from ._tobit import TobitMarginalEffect

__all__ = [
    "Target",
    "CustomTarget",
    "AverageParameter",
    "AverageMarginalEffect",
    "AverageEffect",
    "AveragePrediction",
    "Elasticity",
    "TailProbability",
    "ConditionalVariance",
    "TobitMarginalEffect",
    "ChoiceProbability",
    "ChoiceMarginalEffect",
    "ChoiceElasticity",
    "WillingnessToPay",
    "ConsumerSurplus",
    "Revenue",
    "MultiTreatmentATE",
    "BestCombinationATE",
]
