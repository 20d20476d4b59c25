"""Market-level targets of the conditional logit: probabilities, effects, WTP, welfare, revenue.

Every target is an average over customers w of a smooth function of θ(w),
evaluated at given attributes x̃ (a (J, K) array, or one per row) or at each
row's observed attributes (``at=None``). Closed-form Jacobians use
∂P_j/∂θ = P_j (D_j − D̄) (see :mod:`sklearn_dml.families._multinomial`); the
torch values are the autodiff oracle in the tests. Under the nested logit
(:mod:`sklearn_dml.families._nested`) the torch values, written with its
∂ log P_j / ∂ V_l and top-level log-sum, give the value and, by autodiff, the Jacobian.
"""

from __future__ import annotations

import numpy as np
import torch

from .._autodiff import target_jacobian
from ._base import Target


def _family_check(family):
    from ..families._multinomial import MultinomialLogitFamily

    if not isinstance(family, MultinomialLogitFamily) and not _is_nested(family):
        raise TypeError("Choice targets need the multinomial (or nested) logit family; got "
                        f"{family!r}.")
    return family


def _is_nested(family):
    from ..families._nested import NestedLogitFamily

    return isinstance(family, NestedLogitFamily)


def _share_derivative(family, t, theta, j, l_, P):
    """∂ log P_j / ∂ V_l (torch): 1{j=l} − P_l in the conditional logit."""
    if _is_nested(family):
        return family.share_derivative(t, theta, j, l_)
    return float(j == l_) - P[:, l_]


def _eval_t(family, at, availability, t):
    """Packed evaluation attributes: observed ``t`` if ``at`` is None, else ``at`` per row."""
    if at is None:
        return t
    x = np.asarray(at, dtype=float)
    n = t.shape[0]
    J, K = family.n_alternatives, family.n_attributes
    if x.shape == (J, K):
        avail = None if availability is None else np.asarray(availability)
        packed = family.pack(x[None], None if avail is None else avail.reshape(1, J))
        return np.broadcast_to(packed, (n, packed.shape[1])).copy()
    if x.shape == (n, J, K):
        return family.pack(x, availability)
    raise ValueError(f"Evaluation attributes must have shape ({J}, {K}) or ({n}, {J}, {K}); "
                     f"got {x.shape}.")


def _label(name, default):
    return default if name is None else name


class _ChoiceTarget(Target):
    """Shared plumbing: evaluation attributes, optional baseline (a difference)."""

    at = None
    availability = None
    baseline = None
    baseline_availability = None

    def _h(self, family, theta, t):  # (value, jacobian) at packed t; subclasses define
        raise NotImplementedError

    def _h_torch(self, family, theta, t):
        raise NotImplementedError

    def _h_autodiff(self, family, theta, t):
        """(value, jacobian) from the torch value: the nested logit's route."""
        with torch.no_grad():
            value = self._h_torch(family, torch.as_tensor(theta, dtype=torch.float64),
                                  torch.as_tensor(t, dtype=torch.float64)).numpy()
        return value, target_jacobian(lambda th, tt: self._h_torch(family, th, tt), theta, t)

    def _points(self, family, t):
        cur = _eval_t(family, self.at, self.availability, t)
        if self.baseline is None:
            return cur, None
        base_av = (self.availability if self.baseline_availability is None
                   else self.baseline_availability)
        return cur, _eval_t(family, self.baseline, base_av, t)

    def value(self, family, theta, t):
        family = _family_check(family)
        h = self._h_autodiff if _is_nested(family) else self._h
        cur, base = self._points(family, np.asarray(t, dtype=float))
        v = h(family, theta, cur)[0]
        return v if base is None else v - h(family, theta, base)[0]

    def jacobian(self, family, theta, t):
        family = _family_check(family)
        h = self._h_autodiff if _is_nested(family) else self._h
        cur, base = self._points(family, np.asarray(t, dtype=float))
        J = h(family, theta, cur)[1]
        return J if base is None else J - h(family, theta, base)[1]

    def torch_value(self, family, theta, t):
        cur, base = self._points(family, t.detach().numpy())
        cur_t = torch.as_tensor(cur, dtype=theta.dtype)
        v = self._h_torch(family, theta, cur_t)
        if base is None:
            return v
        return v - self._h_torch(family, theta, torch.as_tensor(base, dtype=theta.dtype))

    def _prefix(self):
        return "" if self.baseline is None else "Δ"

    def _suffix(self):
        return " | observed" if self.at is None else ""


def _beta_name(theta_names, attribute):
    if isinstance(attribute, str):
        return attribute
    betas = [n[5:-1] for n in theta_names if n.startswith("beta[")]
    return betas[attribute] if 0 <= attribute < len(betas) else str(attribute)


class ChoiceProbability(_ChoiceTarget):
    """μ = E[P_j(X, x̃)]: the average probability (market share) of alternative j.

    Parameters
    ----------
    alternative : int or str
        Alternative j (index or name; ``"outside"`` for the outside option).
    at : array-like of shape (J, K) or (n_samples, J, K), optional
        Evaluation attributes x̃; None uses each row's observed attributes.
    availability : array-like of shape (J,) or (n_samples, J), optional
        Choice set at ``at``; all available when None.
    baseline : array-like, optional
        Counterfactual comparison: report E[P_j(x̃)] − E[P_j(baseline)].
    baseline_availability : array-like, optional
        Choice set at ``baseline`` (defaults to ``availability``).
    name : str, optional
        Label for tables.

    Examples
    --------
    >>> from sklearn_dml.targets import ChoiceProbability
    >>> target = ChoiceProbability(1, at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    """

    def __init__(self, alternative, at=None, availability=None, baseline=None,
                 baseline_availability=None, name=None):
        self.alternative = alternative
        self.at = at
        self.availability = availability
        self.baseline = baseline
        self.baseline_availability = baseline_availability
        self.label = name

    def name(self, theta_names, treatment_names):
        return _label(self.label, f"{self._prefix()}P[{self.alternative}]{self._suffix()}")

    def _h(self, family, theta, t):
        j = family.alternative_index(self.alternative)
        dP, P = family.probability_jacobian(t, theta)
        return P[:, j], dP[:, j]

    def _h_torch(self, family, theta, t):
        j = family.alternative_index(self.alternative)
        return torch.exp(family.log_probabilities(t, theta)[:, j])


class _AttributeResponse(_ChoiceTarget):
    """Response of P_j to alternative l's attribute k; subclasses give the measure."""

    prefix = ""

    def __init__(self, alternative, attribute, of=None, at=None, availability=None, name=None):
        self.alternative = alternative
        self.attribute = attribute
        self.of = of
        self.at = at
        self.availability = availability
        self.label = name

    def name(self, theta_names, treatment_names):
        of = self.alternative if self.of is None else self.of
        attr = _beta_name(theta_names, self.attribute)
        return _label(self.label,
                      f"{self.prefix}[P[{self.alternative}] / {attr}[{of}]]{self._suffix()}")

    def _indices(self, family):
        j = family.alternative_index(self.alternative)
        l_ = j if self.of is None else family.alternative_index(self.of)
        if l_ >= family.n_alternatives:
            raise ValueError("The outside option has no attributes to move.")
        return j, l_, family.attribute_index(self.attribute)


class ChoiceMarginalEffect(_AttributeResponse):
    """μ = E[∂P_j/∂x_lk]: effect of alternative l's attribute k on the probability of j.

    ∂P_j/∂x_lk = β_k P_j (1{j=l} − P_l): own effect for l = j, cross effect otherwise.
    Under the nested logit 1{j=l} − P_l becomes ∂ log P_j / ∂ V_l, which differs for
    l in j's nest (−(1/λ − 1) P(l | nest) − P_l) and outside it (−P_l).

    Parameters
    ----------
    alternative : int or str
        Alternative j whose probability responds.
    attribute : int or str
        Attribute k.
    of : int or str, optional
        Alternative l whose attribute moves; j when None (own effect).
    at, availability, name
        As in :class:`ChoiceProbability`.

    Examples
    --------
    >>> from sklearn_dml.targets import ChoiceMarginalEffect
    >>> own = ChoiceMarginalEffect(1, "price", at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    >>> cross = ChoiceMarginalEffect(1, "price", of=2, at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    """

    prefix = "ME"

    def _h(self, family, theta, t):
        j, l_, k = self._indices(family)
        dP, P = family.probability_jacobian(t, theta)
        b = theta[:, family.n_alpha + k]
        delta = float(j == l_)
        value = b * P[:, j] * (delta - P[:, l_])
        jac = b[:, None] * ((delta - P[:, l_])[:, None] * dP[:, j] - P[:, j, None] * dP[:, l_])
        jac[:, family.n_alpha + k] += P[:, j] * (delta - P[:, l_])
        return value, jac

    def _h_torch(self, family, theta, t):
        j, l_, k = self._indices(family)
        P = torch.exp(family.log_probabilities(t, theta))
        return (theta[:, family.n_alpha + k] * P[:, j]
                * _share_derivative(family, t, theta, j, l_, P))


class ChoiceElasticity(_AttributeResponse):
    """μ = E[∂ log P_j / ∂ log x_lk] = E[β_k x_lk (1{j=l} − P_l)]: own or cross elasticity.

    Under the nested logit, E[β_k x_lk ∂ log P_j / ∂ V_l]: the own elasticity has
    1/λ − (1/λ − 1) P(j | nest) − P_j, a cross elasticity within j's nest
    −(1/λ − 1) P(l | nest) − P_l, and across nests −P_l.

    Parameters
    ----------
    alternative : int or str
        Alternative j whose probability responds.
    attribute : int or str
        Attribute k (usually the price).
    of : int or str, optional
        Alternative l whose attribute moves; j when None (own elasticity).
    at, availability, name
        As in :class:`ChoiceProbability`.

    Examples
    --------
    >>> from sklearn_dml.targets import ChoiceElasticity
    >>> own = ChoiceElasticity(1, "price", at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    >>> cross = ChoiceElasticity(1, "price", of=2, at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    """

    prefix = "Elasticity"

    def _h(self, family, theta, t):
        j, l_, k = self._indices(family)
        dP, P = family.probability_jacobian(t, theta)
        x, _ = family.unpack(t)
        xl = x[:, l_, k]
        b = theta[:, family.n_alpha + k]
        delta = float(j == l_)
        jac = -(b * xl)[:, None] * dP[:, l_]
        jac[:, family.n_alpha + k] += xl * (delta - P[:, l_])
        return b * xl * (delta - P[:, l_]), jac

    def _h_torch(self, family, theta, t):
        j, l_, k = self._indices(family)
        P = torch.exp(family.log_probabilities(t, theta))
        x, _ = family.unpack(t)
        return (theta[:, family.n_alpha + k] * x[:, l_, k]
                * _share_derivative(family, t, theta, j, l_, P))


class WillingnessToPay(Target):
    """μ = E[−β_k(X)/β_price(X)]: the average willingness to pay for attribute k.

    Heavy-tailed when β_price(x) comes near 0 for some customers; the ratio of
    averages −E[β_k]/E[β_price] (``MultinomialLogitDML.willingness_to_pay``)
    is the robust alternative.

    Parameters
    ----------
    attribute : int or str
        Attribute k.
    price : int or str
        The price attribute.
    name : str, optional
        Label for tables.

    Examples
    --------
    >>> from sklearn_dml.targets import WillingnessToPay
    >>> wtp = WillingnessToPay("quality", price="price")
    """

    def __init__(self, attribute, price, name=None):
        self.attribute = attribute
        self.price = price
        self.label = name

    def name(self, theta_names, treatment_names):
        return _label(self.label, f"WTP[{_beta_name(theta_names, self.attribute)}]")

    def _cols(self, family):
        return family.beta_index(self.attribute), family.beta_index(self.price)

    def value(self, family, theta, t):
        k, p = self._cols(_family_check(family))
        return -theta[:, k] / theta[:, p]

    def jacobian(self, family, theta, t):
        k, p = self._cols(_family_check(family))
        jac = np.zeros_like(theta, dtype=float)
        jac[:, k] = -1.0 / theta[:, p]
        jac[:, p] += theta[:, k] / theta[:, p] ** 2
        return jac

    def torch_value(self, family, theta, t):
        k, p = self._cols(family)
        return -theta[:, k] / theta[:, p]


class ConsumerSurplus(_ChoiceTarget):
    """μ = E[−log Σ_{j∈Ã} exp V_j(x̃) / β_price]: expected consumer surplus (Small–Rosen logsum).

    Defined up to a constant, so it is meaningful as a change: give ``baseline``
    to get E[ΔCS] for the counterfactual baseline → ``at``. Under the nested logit the
    log-sum is log Σ_k exp(λ_k I_k), with I_k the inclusive value of nest k.

    Parameters
    ----------
    price : int or str
        The price attribute (its coefficient converts utility to money).
    at, availability, baseline, baseline_availability, name
        As in :class:`ChoiceProbability`.

    Examples
    --------
    >>> from sklearn_dml.targets import ConsumerSurplus
    >>> now = [[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]]
    >>> cheaper = [[0.9, 0.0], [1.2, 0.5], [0.9, -0.5]]
    >>> delta_cs = ConsumerSurplus("price", at=cheaper, baseline=now)
    """

    def __init__(self, price, at=None, availability=None, baseline=None,
                 baseline_availability=None, name=None):
        self.price = price
        self.at = at
        self.availability = availability
        self.baseline = baseline
        self.baseline_availability = baseline_availability
        self.label = name

    def name(self, theta_names, treatment_names):
        return _label(self.label, f"{self._prefix()}CS{self._suffix()}")

    def _h(self, family, theta, t):
        p = family.beta_index(self.price)
        L = family.logsum(t, theta)
        P = family.probabilities(t, theta)
        Dbar = np.einsum("ns,nsd->nd", P, family.design(t))
        bp = theta[:, p]
        jac = -Dbar / bp[:, None]
        jac[:, p] += L / bp ** 2
        return -L / bp, jac

    def _h_torch(self, family, theta, t):
        p = family.beta_index(self.price)
        if _is_nested(family):  # the nested log-sum log Σ_k exp(λ_k I_k)
            return -family.torch_logsum(t, theta) / theta[:, p]
        return -torch.logsumexp(family.torch_utilities(t, theta), dim=1) / theta[:, p]


class Revenue(_ChoiceTarget):
    """μ = E[Σ_j price_j P_j(X, x̃)]: expected revenue per customer at prices in x̃.

    Parameters
    ----------
    price : int or str
        The price attribute; its column of ``at`` gives the prices.
    at, availability, baseline, baseline_availability, name
        As in :class:`ChoiceProbability`.

    Examples
    --------
    >>> from sklearn_dml.targets import Revenue
    >>> revenue = Revenue("price", at=[[1.0, 0.0], [1.2, 0.5], [0.9, -0.5]])
    """

    def __init__(self, price, at=None, availability=None, baseline=None,
                 baseline_availability=None, name=None):
        self.price = price
        self.at = at
        self.availability = availability
        self.baseline = baseline
        self.baseline_availability = baseline_availability
        self.label = name

    def name(self, theta_names, treatment_names):
        return _label(self.label, f"{self._prefix()}Revenue{self._suffix()}")

    def _h(self, family, theta, t):
        k = family.attribute_index(self.price)
        dP, P = family.probability_jacobian(t, theta)
        x, _ = family.unpack(t)
        prices = x[:, :, k]
        J = family.n_alternatives
        return (prices * P[:, :J]).sum(1), np.einsum("nj,njd->nd", prices, dP[:, :J])

    def _h_torch(self, family, theta, t):
        k = family.attribute_index(self.price)
        P = torch.exp(family.log_probabilities(t, theta))
        x, _ = family.unpack(t)
        return (x[:, :, k] * P[:, :family.n_alternatives]).sum(1)
