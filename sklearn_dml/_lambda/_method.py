"""Which Λ method a fit uses, and which Λ regressors it accepts."""

from __future__ import annotations

from sklearn.utils.validation import has_fit_parameter

from .._units import two_valued_columns

LAMBDA_METHODS = ("auto", "analytic", "randomized", "conditional", "regression")
# below this many rows θ̂(x) is too noisy for Λ̂ at θ̂, and "auto" keeps the Hessian
# regression for a two-valued T too (user guide: "A binary treatment in regime C")
BINARY_CONDITIONAL_ROWS = 1000
LAMBDA_NETWORK = "network"


def _integrates_over_a_law(family):
    """Whether ℓ_θθ can be integrated over a law of T: free of y, or with an expected
    Hessian."""
    return family.has_expected_hessian or not family.hessian_depends_on_y


def choose_lambda_method(method, family, treatment_law, T=None):
    """Resolve ``lambda_method='auto'`` from the family's facts, the treatment law and, for
    an observational T (n, p), whether it is a single two-valued column of at least
    ``BINARY_CONDITIONAL_ROWS`` rows: its law given X is then Bernoulli (in the internal
    0/1 units), and "conditional" integrates over it, exact in form."""
    if method == "auto":
        if treatment_law is not None:
            method = "randomized"
        elif not family.hessian_depends_on_theta and not family.hessian_depends_on_y:
            method = "analytic"
        elif (T is not None and T.ndim == 2 and T.shape[1] == 1
              and T.shape[0] >= BINARY_CONDITIONAL_ROWS and two_valued_columns(T) == [0]
              and _integrates_over_a_law(family)):
            method = "conditional"
        else:
            method = family.observational_lambda
    if method in ("randomized", "conditional") and not _integrates_over_a_law(family):
        raise ValueError(
            f"lambda_method={method!r} integrates ℓ_θθ over a law of the treatment, but the "
            f"{family.name!r} family's Hessian depends on y and the family gives no "
            "expected_hessian. Use lambda_method='regression' (or give the family an "
            "expected_hessian)."
        )
    if method == "analytic" and (family.hessian_depends_on_theta or family.hessian_depends_on_y):
        raise ValueError(
            f"lambda_method='analytic' needs a Hessian free of θ and y; the {family.name!r} "
            "family's is not. Use 'regression' (observational T) or 'randomized' (randomized T)."
        )
    return method




def is_network(lambda_model):
    """Whether ``lambda_model`` asks for the batched network regressions."""
    return isinstance(lambda_model, str) and lambda_model == LAMBDA_NETWORK


def check_lambda_model(lambda_model, family=None, method=None, weighted=False):
    """None, "network" or a scikit-learn regressor; anything else gets a clear error.

    With ``family`` and the resolved ``method``: "network" fits the moments of T given X
    (single-index families, or the conditional law), not whole Hessian matrices, whose
    entry-wise fits need not stay positive semi-definite (the default random forest's do).
    With ``weighted`` (unequal sample weights) a regressor must take ``sample_weight``.
    """
    if lambda_model is None:
        return
    if (family is not None and method == "conditional"
            and getattr(family, "conditional_law", None) == "neighbours"):
        raise ValueError(
            f"lambda_method='conditional' for the {family.name!r} family integrates the "
            "Fisher information over the attribute tables of the nearest rows in X and fits "
            f"no regression, so lambda_model={lambda_model!r} would be ignored. Leave "
            "lambda_model=None, or use lambda_method='regression' to regress Hessians with it.")
    if is_network(lambda_model):
        if (family is not None and method in ("analytic", "regression")
                and not family.single_index):
            raise ValueError(
                f"lambda_model='network' fits the moments of T given X that Λ(x) of a "
                f"single-index family is made of; the {family.name!r} family's Λ(x) is a "
                f"regression of whole Hessian matrices (lambda_method={method!r}). Use "
                "lambda_model=None (a random forest that keeps them positive semi-definite).")
        return
    if isinstance(lambda_model, str) or not (hasattr(lambda_model, "fit")
                                             and hasattr(lambda_model, "predict")):
        raise ValueError(
            f"lambda_model must be None (gradient boosting), {LAMBDA_NETWORK!r} (batched "
            f"networks on the estimator's device) or a scikit-learn regressor with fit and "
            f"predict; got {lambda_model!r}.")
    if weighted and not has_fit_parameter(lambda_model, "sample_weight"):
        raise ValueError(
            f"lambda_model {type(lambda_model).__name__} does not accept sample_weight in "
            "fit, and this fit has unequal sample weights: Λ(x) is the weighted curvature "
            "given x, which an unweighted regression misses wherever the weights depend on "
            "T or Y. Pass a regressor whose fit takes sample_weight (gradient boosting, a "
            "random forest, a linear model) or lambda_model=None.")
