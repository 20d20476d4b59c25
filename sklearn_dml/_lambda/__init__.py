"""Λ(x) = E[ℓ_θθ(Y, T, θ(x)) | X = x]: the strategies that estimate it, one per method.

- ``"analytic"`` (regime B): ℓ_θθ is free of θ and y (linear family), so its
  entries are functions of T alone; regress them on X with a sklearn model.
- ``"randomized"`` (regime A): T is independent of X with a known or
  resampleable law ν; Λ(x) = Σ_t ν(t) ℓ_θθ(t, θ̂(x)), by exact enumeration
  (with the expected Hessian E[ℓ_θθ | x, t] where ℓ_θθ depends on y).
- ``"conditional"`` (regime C, the heteroskedastic family's default):
  Λ(x) = E[ℓ_θθ(T, θ̂(x)) | X = x], integrating the expected Hessian at the
  cross-fitted θ̂(x) over an estimated law of T given X (Bernoulli for a binary T,
  location-scale otherwise; :func:`conditional_law`). No auxiliary network.
- ``"regression"`` (regime C): ℓ_θθ depends on θ; two auxiliary θ-networks
  are fit, one on each half of the training part, and the Hessians of every
  training row at the prediction of the network that did not see it are
  regressed on X (for the logit, with the secant weights of
  :func:`lambda_index_weights`; for the probit, with the observed ℓ'' rather
  than its expectation).

``lambda_model="network"`` fits the regressions of a group of folds as one batch of
small networks. Modules: ``_strategies`` (the strategy objects the cross-fitting engine
calls), ``_moments`` (single-index families and the law of T given X), ``_hessians``
(Hessian regression and integration over a law), ``_networks``, ``_projection``
(E[H_θ | X] after the fit), ``_regressors`` (default regressors and their covariates),
``_method`` (choosing the method). The safe inversion of Λ̂ is in :mod:`.._linalg`.
"""

from ._hessians import (
    MAX_LAW_POINTS,
    integrate_hessian,
    lambda_hessians,
    lambda_index_weights,
    regress_hessian,
    treatment_support,
    unpack_symmetric,
    uses_expected_hessian,
)
from ._method import (
    LAMBDA_METHODS,
    LAMBDA_NETWORK,
    check_lambda_model,
    choose_lambda_method,
    is_network,
)
from ._moments import (
    OVERLAP_FLOOR,
    PROPENSITY_CLIP,
    cap_leverage,
    conditional_law,
    finish_moments,
    index_moment_lambda,
    law_from_moments,
    moment_kind,
    moment_lambda,
    weighted_moments,
)
from ._projection import project_crossfitted, project_on_law
from ._regressors import (
    binned_features,
    default_lambda_model,
    default_matrix_model,
    lambda_features,
)
from ._strategies import LambdaData, LambdaStrategy, make_lambda_strategy, varying_weights

__all__ = [
    "LAMBDA_METHODS", "LAMBDA_NETWORK", "MAX_LAW_POINTS", "OVERLAP_FLOOR", "PROPENSITY_CLIP",
    "LambdaData", "LambdaStrategy", "varying_weights", "binned_features", "check_lambda_model",
    "choose_lambda_method", "conditional_law", "default_lambda_model", "default_matrix_model",
    "cap_leverage", "finish_moments", "index_moment_lambda", "integrate_hessian", "is_network",
    "lambda_features", "lambda_hessians", "lambda_index_weights", "law_from_moments",
    "make_lambda_strategy", "moment_kind", "moment_lambda", "project_crossfitted",
    "project_on_law", "regress_hessian", "treatment_support", "unpack_symmetric",
    "uses_expected_hessian", "weighted_moments",
]
