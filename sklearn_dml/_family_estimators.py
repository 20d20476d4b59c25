"""Public estimators for the family catalogue: thin classes that name a family."""

from __future__ import annotations

import textwrap

from ._base import _BaseStructuralDML
from ._estimators import _ATTRIBUTES, _SHARED_PARAMS
from .families import PoissonFamily

_REFERENCES = """
    References
    ----------
    Farrell, Liang and Misra (2021), "Deep Neural Networks for Estimation and
    Inference", Econometrica 89(1). Farrell, Liang and Misra (2025), "Deep
    Learning for Individual Heterogeneity".
"""


def _doc(summary, body, target, example_family, names, see_also):
    """Assemble a numpydoc docstring from the shared parameter and attribute blocks."""
    cls = _CLASS_OF[example_family]
    target = textwrap.fill(
        f"What to estimate. {' '.join(target.split())} Strings name θ components (``\"beta\"``) "
        "or shortcuts (``\"ame\"``, ``\"ate\"``, ``\"elasticity\"``, ``\"variance\"``).",
        width=88, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f"""{summary}

{body}

    Parameters
    ----------
    target : None, str, int, Target or list of these, default=None
{target}
{_SHARED_PARAMS}
{_ATTRIBUTES}
    See Also
    --------
    {see_also}
    StructuralDML : any family (with family options), or a custom torch loss.
{_REFERENCES}
    Examples
    --------
    >>> from sklearn_dml import {cls}
    >>> from sklearn_dml.datasets import make_family_data
    >>> data = make_family_data("{example_family}", n_samples=500, random_state=0)
    >>> est = {cls}(max_epochs=20, random_state=0).fit(data.X, data.T, data.Y)
    >>> est.inference_.names
    {names}
    """


_CLASS_OF = {
    "probit": "ProbitDML", "poisson": "PoissonDML", "negbin": "NegativeBinomialDML",
    "gamma": "GammaDML", "weibull": "WeibullDML", "tobit": "TobitDML", "gumbel": "GumbelDML",
    "heteroskedastic": "HeteroskedasticDML", "beta": "BetaDML", "zip": "ZeroInflatedPoissonDML",
    "fractional_logit": "FractionalLogitDML",
}
_AME_DEFAULT = ("None gives E[β(X)] and the average marginal effect of T on E[Y | X, T] at "
                "each row's observed T.")
_LAMBDA_FISHER = (
    "    ℓ_θθ depends on y, so Λ(x) is built from the family's expected Hessian (Fisher\n"
    "    information): regressed on X with an auxiliary θ-fit (three-way splitting), or\n"
    "    integrated over a randomized treatment's law when ``treatment_law`` is given.")


class ProbitDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Probit model P(Y=1 | x, t) = Φ(α(x) + β(x)'t) with debiased averages.",
        _LAMBDA_FISHER, _AME_DEFAULT, "probit", "['E[beta]', 'AME[T]']",
        "LogitDML : logistic link.\n    GumbelDML : complementary log-log link.")
    _family = "probit"


class GumbelDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Gumbel (complementary log-log) binary model P(Y=1 | x, t) = 1 − exp(−exp(η)).",
        "    η = α(x) + β(x)'t. The type-I extreme value latent error gives the discrete-time\n"
        "    proportional-hazard model; e^β is a hazard ratio.\n" + _LAMBDA_FISHER,
        _AME_DEFAULT, "gumbel", "['E[beta]', 'AME[T]']", "ProbitDML, LogitDML : symmetric links.")
    _family = "gumbel"


class PoissonDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Poisson model E[Y | x, t] = exp(α(x) + β(x)'t) for any Y ≥ 0, with debiased averages.",
        "    β(x) is a semi-elasticity. ℓ_θθ = e^η z z' depends on θ but not on y.\n\n"
        "    Y may be a count or any nonnegative continuous outcome (spending, trade flows,\n"
        "    durations): the Poisson quasi-likelihood (pseudo-maximum likelihood, Santos Silva\n"
        "    and Tenreyro 2006) needs only the mean exp(η) to be right. The standard errors\n"
        "    come from the influence function ψ (a sandwich), so they are valid without the\n"
        "    Poisson variance Var(Y | x, t) = E[Y | x, t]: over- or underdispersion, and a\n"
        "    continuous Y, are allowed. Targets that use the Poisson law itself (P(Y > c),\n"
        "    the conditional variance) are valid only for Poisson counts.",
        _AME_DEFAULT, "poisson", "['E[beta]', 'AME[T]']",
        "NegativeBinomialDML : overdispersed counts.\n    ZeroInflatedPoissonDML : excess zeros."
        "\n    GammaDML : positive outcomes with a gamma likelihood.")
    _family = "poisson"

    def _get_family(self):
        # any Y ≥ 0: the quasi-likelihood needs only the mean, and ψ gives the sandwich SE
        return PoissonFamily(pseudo=True)


class NegativeBinomialDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Negative binomial (NB2) model for overdispersed counts, with debiased averages.",
        "    E[Y | x, t] = μ = exp(α(x) + β(x)'t) and Var(Y | x, t) = μ + κ(x)μ²; θ holds\n"
        "    log κ(x) as its last component (``log_dispersion``).\n" + _LAMBDA_FISHER,
        _AME_DEFAULT, "negbin", "['E[beta]', 'AME[T]']", "PoissonDML : equidispersed counts.")
    _family = "negbin"


class GammaDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Gamma model for positive skewed outcomes, log link, with debiased averages.",
        "    E[Y | x, t] = exp(α(x) + β(x)'t); the shape ν(x) is the last θ component\n"
        "    (``log_shape``), so Var(Y | x, t) = E[Y | x, t]²/ν(x).\n" + _LAMBDA_FISHER,
        _AME_DEFAULT, "gamma", "['E[beta]', 'AME[T]']", "WeibullDML : durations.")
    _family = "gamma"


class WeibullDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Weibull accelerated-failure-time model for positive outcomes (durations).",
        "    Y ~ Weibull(shape k(x), scale exp(α(x) + β(x)'t)), so β is the semi-elasticity\n"
        "    of E[Y]; θ holds log k(x) last (``log_shape``). Censored durations are not\n"
        "    handled here: write the censored likelihood as a custom loss.\n" + _LAMBDA_FISHER,
        _AME_DEFAULT, "weibull", "['E[beta]', 'AME[T]']", "GammaDML : another positive outcome.")
    _family = "weibull"


class TobitDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Tobit model Y = max(Y*, 0), Y* = α(x) + β(x)'t + σ(x)ε, with debiased averages.",
        "    Left-censoring at 0; θ holds log σ(x) last (``log_sigma``). For another\n"
        "    censoring point, or right-censoring, use\n"
        "    ``StructuralDML(family=TobitFamily(left=..., right=...))``.\n" + _LAMBDA_FISHER,
        "None gives E[β(X)] (the latent-scale effect) and the observed-scale effect "
        "E[β(X)·P(Y* > 0 | X, T)] at the observed T; see "
        ":class:`~sklearn_dml.targets.TobitMarginalEffect`.",
        "tobit", "['E[beta]', 'AME[T, observed]']", "HeteroskedasticDML : uncensored outcomes.")
    _family = "tobit"


class HeteroskedasticDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Gaussian model Y = α(x) + β(x)'t + σ(x)ε with heteroskedastic σ(x), debiased.",
        "    θ holds log σ(x) last (``log_sigma``): the likelihood weights rows by 1/σ(x)²\n"
        "    and gives conditional variances and tail probabilities.\n" + _LAMBDA_FISHER,
        "None gives E[α(X)] and E[β(X)].", "heteroskedastic", "['E[alpha]', 'E[beta]']",
        "StructuralDMLRegressor : squared loss (no σ(x)).")
    _family = "heteroskedastic"


class BetaDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Beta regression for fractional outcomes in (0, 1), with debiased averages.",
        "    Y ~ Beta(μφ, (1 − μ)φ) with mean μ = σ(α(x) + β(x)'t) and precision φ(x), whose\n"
        "    log is the last θ component (``log_precision``).\n" + _LAMBDA_FISHER,
        _AME_DEFAULT, "beta", "['E[beta]', 'AME[T]']",
        "FractionalLogitDML : shares in [0, 1] with mass at 0 or 1 (mean model only).\n"
        "    LogitDML : binary outcomes.")
    _family = "beta"


class FractionalLogitDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Fractional logit E[Y | x, t] = σ(α(x) + β(x)'t) for a share or rate Y ∈ [0, 1].",
        "    The Bernoulli quasi-likelihood ℓ = −[y log p + (1 − y) log(1 − p)] of Papke and\n"
        "    Wooldridge (1996), for shares, rates and proportions, with mass at 0 and 1\n"
        "    allowed. Only the mean model has to be right: no distribution of Y is assumed,\n"
        "    and the standard errors come from the influence function ψ (a sandwich), never\n"
        "    from the Bernoulli variance p(1 − p). Score and Hessian are the logit's; the\n"
        "    Hessian p(1 − p) z z' is free of y, so Λ(x) needs only the mean as well\n"
        "    (regime A with a randomized ``treatment_law``, otherwise an auxiliary network\n"
        "    and a Hessian regression, three-way splitting). For Y strictly inside (0, 1)\n"
        "    with a model of its dispersion, see BetaDML; squeezing a Y with mass at 0 or 1\n"
        "    into (0, 1) for BetaDML changes the model and its average partial effects.",
        _AME_DEFAULT + " The AME is the average partial effect of Papke and Wooldridge.",
        "fractional_logit", "['E[beta]', 'AME[T]']",
        "LogitDML : binary outcomes.\n    BetaDML : Y strictly inside (0, 1), beta likelihood.")
    _family = "fractional_logit"


class ZeroInflatedPoissonDML(_BaseStructuralDML):
    __doc__ = _doc(
        "Zero-inflated Poisson model for counts with excess zeros, with debiased averages.",
        "    Y = 0 with probability π(x), else Y ~ Poisson(exp(α(x) + β(x)'t)); θ holds\n"
        "    logit π(x) last (``logit_inflation``), E[Y | x, t] = (1 − π(x))·exp(η).\n"
        + _LAMBDA_FISHER,
        _AME_DEFAULT, "zip", "['E[beta]', 'AME[T]']", "PoissonDML : no excess zeros.")
    _family = "zip"
