"""Discrete choice: the conditional logit with preferences that vary with the customer."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseStructuralDML
from ._choice_coefficients import _ChoiceCoefficientsMixin
from ._choice_data import _case_column, _case_frame, _case_level_columns, from_long
from ._choice_formula import (
    check_design,
    check_specific_overlap,
    family_layout,
    formula_design,
    formulas,
    predict_design,
)
from ._estimators import _ATTRIBUTES, _CHOICE_PARAMS
from ._inference import InferenceResults
from ._named_attributes import attached_names
from ._sklearn_compat import Interval, check_params, validate_X
from ._utility_spec import parse_formula
from .families._multinomial import MultinomialLogitFamily
from .targets._choice import WillingnessToPay


class MultinomialLogitDML(_ChoiceCoefficientsMixin, _BaseStructuralDML):
    __doc__ = f"""Conditional logit with heterogeneous preferences θ(w), debiased market averages.

    Utility of alternative j for customer i: V_ij = α_j(w_i) + x_ij'β(w_i), with w the
    customer/context covariates (the network input, ``X``), x the alternative
    attributes (``T``, shape (n, J, K)), a per-row choice set (``availability``), an
    optional outside option (utility 0) and a reference alternative (α = 0).
    Targets are averages over customers: E[β_k], E[α_j], choice probabilities,
    own/cross marginal effects and elasticities, willingness to pay, consumer
    surplus and revenue at given attributes (:mod:`sklearn_dml.targets`), with the
    closed-form score and Fisher information in the influence function.

    Λ(w) = E[ℓ_θθ | W = w] depends on θ(w) and on the law of the attributes given w.
    By default (``treatment_law=None``) it is regressed on w with an auxiliary θ-fit
    (three-way splitting): valid when prices co-move with the customer. When the
    attributes are randomized independently of w (a conjoint, randomized prices),
    pass ``treatment_law="empirical"``: Λ̂(w) then averages the Fisher information
    over up to 256 attribute rows resampled from the training fold (two-way
    splitting). Declaring randomized attributes that are not breaks the estimate.

    The classical conditional logit (constant preferences) is the special case of
    a constant covariate, ``fit(np.ones((n, 1)), T, Y)``. With ``cv=1``,
    ``batch_size=n``, ``early_stopping=False`` and a few hundred epochs the
    debiased E[θ] is the (one-step-corrected) maximum-likelihood estimate, within
    1e-4 in our tests, and its standard errors are the sandwich ones.

    Parameters
    ----------
    n_alternatives : int
        Number of (inside) alternatives J.
    attribute_names : list of str, default=None
        Names of the K attributes (``"beta[<name>]"`` in θ); ``x0, x1, ...`` when None.
    alternative_names : list of str, default=None
        Names of the J alternatives (``"alpha[<name>]"``); ``0, 1, ...`` when None.
    reference : int, default=0
        Alternative whose constant is 0 (ignored with an outside option).
    outside_option : bool, default=False
        Add an always-available outside good with utility 0, coded as choice J.
    price : int or str, default=None
        The price attribute, used by :meth:`willingness_to_pay` when none is named.
    formula : str, default=None
        The utility in torch-choice's grammar, e.g. ``"(1|item) + (price|constant) +
        (quality|item) + (income|item)"``: alternative constants ``(1|item)``, generic
        ``(x|constant)`` and alternative-specific ``(x|item)`` coefficients on
        attributes (the columns of ``T``) and item observables, alternative-specific
        coefficients on case-level variables (``case_data`` in :meth:`fit`,
        ``case_variables`` in :meth:`fit_long`). Coefficients are named
        ``beta[x]`` and ``beta[x|<alternative>]``; every one varies with w through the
        network. None: ``(1|item)`` plus a generic coefficient on each attribute. See
        :ref:`choice_formula`.
    target : None, str, int, Target or list of these, default=None
        What to estimate. None gives E[α_j(W)] and E[β_k(W)]; strings name θ
        components (``"beta[price]"``) or blocks of them (``"alpha"``: every
        ``alpha[...]``); see :class:`~sklearn_dml.targets.ChoiceProbability`,
        :class:`~sklearn_dml.targets.ChoiceElasticity` and the other choice targets.
{_CHOICE_PARAMS}
{_ATTRIBUTES}
    family_ : MultinomialLogitFamily
        The fitted layout (J, K, names, outside option).
    utility_ : BoundUtility or None
        The formula bound to the data (design columns and their θ names); None
        without a formula.
    case_frame_ : pandas.DataFrame or None
        After :meth:`fit_long`, the table's columns that are constant within a case,
        one row per case in sorted case order (``get_coefficient(..., by="user")``).

    See Also
    --------
    LogitDML : binary outcomes (J = 2 with one attribute difference is the same model).
    from_long : build the inputs from a long-format table.

    References
    ----------
    McFadden (1974), "Conditional logit analysis of qualitative choice behavior".
    Farrell, Liang and Misra (2025), "Deep Learning for Individual Heterogeneity".

    Examples
    --------
    >>> from sklearn_dml import MultinomialLogitDML
    >>> from sklearn_dml.datasets import make_choice
    >>> data = make_choice(n_samples=500, random_state=0)
    >>> est = MultinomialLogitDML(4, attribute_names=["price", "quality"], max_epochs=20,
    ...                           random_state=0)
    >>> est = est.fit(data.X, data.attributes, data.Y)
    >>> est.inference_.names
    ['E[alpha[1]]', 'E[alpha[2]]', 'E[alpha[3]]', 'E[beta[price]]', 'E[beta[quality]]']
    """

    _family = "multinomial_logit"

    _parameter_constraints = {
        **_BaseStructuralDML._parameter_constraints,
        "n_alternatives": [Interval(Integral, 1, None, closed="left")],
        "attribute_names": [None, list, tuple],
        "alternative_names": [None, list, tuple],
        "reference": [Interval(Integral, 0, None, closed="left")],
        "outside_option": ["boolean"],
        "price": [None, str, Integral],
        "formula": [None, str],
    }

    def __init__(
        self,
        n_alternatives,
        *,
        attribute_names=None,
        alternative_names=None,
        reference=0,
        outside_option=False,
        price=None,
        formula=None,
        target=None,
        homogeneous=None,
        x_scaling="auto",
        hidden_dims=(64, 32),
        dropout=0.0,
        solver="adam",
        lr=0.01,
        weight_decay=1e-2,
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        cv=5,
        n_rep=1,
        n_networks=1,
        lambda_method="auto",
        lambda_model=None,
        treatment_law=None,
        lambda_floor=1e-2,
        cluster_se=True,
        device="cpu",
        n_jobs=None,
        torch_num_threads="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_alternatives = n_alternatives
        self.attribute_names = attribute_names
        self.alternative_names = alternative_names
        self.reference = reference
        self.outside_option = outside_option
        self.price = price
        self.formula = formula
        super().__init__(
            target=target, homogeneous=homogeneous, x_scaling=x_scaling, hidden_dims=hidden_dims,
            dropout=dropout, solver=solver, lr=lr,
            weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, cv=cv, n_rep=n_rep, n_networks=n_networks,
            lambda_method=lambda_method,
            lambda_model=lambda_model, treatment_law=treatment_law, lambda_floor=lambda_floor,
            cluster_se=cluster_se,
            device=device, n_jobs=n_jobs, torch_num_threads=torch_num_threads,
            random_state=random_state, verbose=verbose)

    # ------------------------------------------------------------------ layout
    def _make_family(self, n_attributes, names=None):
        names = names or {}
        return MultinomialLogitFamily(
            self.n_alternatives, n_attributes, reference=self.reference,
            outside_option=self.outside_option, **family_layout(self, names))

    def _pack(self, family, T, availability):
        T = np.asarray(T, dtype=float)
        J = self.n_alternatives
        if T.ndim == 2 and T.shape[1] == J * family.n_attributes:  # alternative-major
            T = T.reshape(T.shape[0], J, family.n_attributes)
        return family.pack(T, availability)

    def _n_attributes(self, T):
        shape = np.shape(T)
        J = self.n_alternatives
        if len(shape) == 3 and shape[1] == J:
            return shape[2]
        if len(shape) == 2 and shape[1] % J == 0:
            return shape[1] // J
        raise ValueError(f"T must hold the attributes with shape (n_samples, {J}, n_attributes) "
                         f"(or (n_samples, {J}·n_attributes), alternative-major); got {shape}.")

    # --------------------------------------------------------------------- fit
    def fit(self, X, T, Y=None, *, availability=None, case_data=None, sample_weight=None,
            groups=None):
        """Cross-fit θ(w), estimate Λ(w), and debias the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Customer / context covariates w (the θ-network input).
        T : array-like of shape (n_samples, n_alternatives, n_attributes)
            Alternative attributes x_ij. The ``T`` of :func:`from_long` and of
            :func:`~sklearn_dml.datasets.make_choice` carries the alternatives' and
            attributes' names, used unless the constructor sets them.
        Y : array-like of shape (n_samples,)
            The chosen alternative, 0..J−1 (J for the outside option).
        availability : array-like of shape (n_samples, n_alternatives), default=None
            True where the alternative is in the choice set; all available when None.
        case_data : array-like or DataFrame of shape (n_samples, n_case_variables), default=None
            Case-level variables z_i that ``formula`` names (DataFrame columns, or
            ``z0, z1, ...``), e.g. ``(income|item)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Nonnegative weights for the training loss and the averages.
        groups : array-like of shape (n_samples,), default=None
            Group labels (e.g. markets); an integer ``cv`` becomes a ``GroupKFold``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_choice(X, T, Y, availability, case_data, sample_weight, groups)

    def _fit_choice(self, X, T, Y, availability, case_data, sample_weight, groups, names=None):
        """:meth:`fit`, with the names :meth:`fit_long` read from the table."""
        if T is None or Y is None:
            raise ValueError("MultinomialLogitDML.fit needs the attributes T (n, J, K) and the "
                             "choices Y.")
        check_params(self)
        # names: the constructor's, else fit_long's, else those T carries (from_long, make_choice)
        names = names or attached_names(T, self.n_alternatives)
        design, names, bound = formula_design(self, T, case_data, names, self._nest_map(names))
        family = self._make_family(self._n_attributes(design), names)
        packed = self._pack(family, design, availability)
        if bound is not None:
            check_design(bound, T, design, availability, family)
            check_specific_overlap(bound, design, X, self.homogeneous)
        self._fit(family, X, packed, np.asarray(Y, dtype=float), sample_weight, groups)
        self.treatment_names_ = list(self.family_.attribute_names)
        self.utility_ = bound
        self.case_frame_ = None
        return self

    def _nest_map(self, names):
        return None

    def fit_long(self, df, *, choice, alternative, attributes=None, covariates, case,
                 case_variables=None, sample_weight=None, groups=None):
        """Fit from a long-format table (see :func:`from_long`).

        Parameters
        ----------
        df : pandas.DataFrame
        choice, alternative, attributes, covariates, case
            As in :func:`from_long`. With a ``formula``, ``attributes`` defaults to the
            row-level columns it names.
        case_variables : list of str, default=None
            Case-level columns (constant within a case) that ``formula`` names, e.g.
            ``income`` in ``(income|item)``; they are not network inputs unless also
            listed in ``covariates``.
        sample_weight : array-like of shape (n_cases,), default=None
            One weight per case, in sorted case order.
        groups : str or array-like of shape (n_cases,), default=None
            Clusters of cases (e.g. the household of a scanner panel): a column of ``df``
            constant within a case, or one label per case in sorted case order. Folds keep
            each group whole and the standard errors are cluster-robust (see ``fit``).

        Returns
        -------
        self : object
        """
        return self._fit_long(df, choice=choice, alternative=alternative,
                              attributes=attributes, covariates=covariates, case=case,
                              case_variables=case_variables, sample_weight=sample_weight,
                              groups=groups)

    def _fit_long(self, df, *, choice, alternative, attributes, covariates, case,
                  case_variables, sample_weight, groups, names=None):
        """:meth:`fit_long`, with more ``names`` read from the table (the nested logit's
        nests)."""
        case_variables = list(case_variables or [])
        attributes = self._long_attributes(attributes, case_variables, covariates)
        data = from_long(df, choice=choice, alternative=alternative, attributes=attributes,
                         covariates=covariates, case=case,
                         alternatives=self.alternative_names)
        case_data = _case_frame(df, case, case_variables) if case_variables else None
        if len(data.alternative_names) != self.n_alternatives:
            raise ValueError(f"The table has {len(data.alternative_names)} alternatives "
                             f"{data.alternative_names}; n_alternatives={self.n_alternatives}.")
        if data.outside_chosen and not self.outside_option:
            raise ValueError("Some cases have no chosen row; set outside_option=True if they "
                             "chose the outside good, or drop them.")
        names = {"alternatives": data.alternative_names, "attributes": data.attribute_names,
                 **(names or {})}
        if isinstance(groups, str):
            groups = _case_column(df, case, groups)
        self._fit_choice(data.X, data.T, data.Y, data.availability, case_data, sample_weight,
                         groups, names=names)
        self.case_frame_ = _case_level_columns(df, case)
        return self

    def _long_attributes(self, attributes, case_variables, covariates):
        """fit_long's row-level columns: as given, else the formulas' non-case variables."""
        given = formulas(self)
        if given is None:
            if case_variables:
                raise ValueError("case_variables feed the terms of a utility formula; give "
                                 f"{type(self).__name__}(formula=...) to use them.")
            if attributes is None:
                raise ValueError("Name the attributes: fit_long(..., attributes=[...]), or "
                                 "give a formula.")
            return list(attributes)
        terms = [t for f, level in zip(given, ("item", "nest")) if f is not None
                 for t in parse_formula(f, level)]
        constants = given[0] is None or any(t.variable == "1" and t.variation == "item"
                                            for t in terms if t.level == "item")
        both = [c for c in case_variables if c in covariates]
        if both and constants:
            raise ValueError(f"Column(s) {both} are network covariates and case-level formula "
                             "variables next to (1|item): α_j(w) already absorbs them. Drop "
                             "them from one of the two.")
        if attributes is not None:
            return list(attributes)
        if given[0] is None:
            raise ValueError("Name the attributes: without an item-level formula they are "
                             "fit_long(..., attributes=[...]).")
        named = dict.fromkeys(t.variable for t in terms if t.variable != "1")
        return [v for v in named if v not in case_variables]

    # ------------------------------------------------------------- prediction
    def predict_proba(self, X, T, availability=None, case_data=None):
        """Choice probabilities under θ̂(X) at attributes T.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        T : array-like of shape (n_samples, n_alternatives, n_attributes)
        availability : array-like of shape (n_samples, n_alternatives), default=None
        case_data : array-like of shape (n_samples, n_case_variables), default=None
            The case-level variables of a ``formula``.

        Returns
        -------
        ndarray of shape (n_samples, n_alternatives (+ 1 with an outside option))
        """
        theta = self.predict(X)
        design = predict_design(self, T, case_data)
        return self.family_.probabilities(self._pack(self.family_, design, availability), theta)

    def structural_loss(self, X, T, Y=None, sample_weight=None, availability=None,
                        case_data=None):
        """Mean negative log-likelihood of the choices under θ̂; lower is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        T : array-like of shape (n_samples, n_alternatives, n_attributes)
        Y : array-like of shape (n_samples,)
        sample_weight : array-like, default=None
        availability : array-like of shape (n_samples, n_alternatives), default=None
        case_data : array-like of shape (n_samples, n_case_variables), default=None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        validate_X(self, X, reset=False)
        design = predict_design(self, T, case_data)
        return super().structural_loss(X, self._pack(self.family_, design, availability), Y,
                                       sample_weight=sample_weight)

    def score(self, X, T, Y=None, sample_weight=None, availability=None, case_data=None):
        """Minus the mean negative log-likelihood (greater is better)."""
        return -self.structural_loss(X, T, Y, sample_weight=sample_weight,
                                     availability=availability, case_data=case_data)

    # --------------------------------------------------------------- targets
    def willingness_to_pay(self, attribute, price=None, kind="ratio_of_averages"):
        """Debiased willingness to pay for an attribute, in units of the price.

        Parameters
        ----------
        attribute : int or str
            The attribute k.
        price : int or str, default=None
            The price attribute; the estimator's ``price`` when None.
        kind : {"ratio_of_averages", "average_ratio"}, default="ratio_of_averages"
            ``"ratio_of_averages"``: −E[β_k]/E[β_price] by the delta method on the two
            debiased means (robust when β_price(w) comes near 0 for some customers).
            ``"average_ratio"``: E[−β_k(W)/β_price(W)], heavy-tailed in that case.

        Returns
        -------
        InferenceResults
        """
        check_is_fitted(self)
        price = self.price if price is None else price
        if price is None:
            raise ValueError("Name the price attribute: willingness_to_pay(attr, price=...) or "
                             "MultinomialLogitDML(price=...).")
        fam = self.family_
        if kind == "average_ratio":
            return self.inference(WillingnessToPay(attribute, price))
        if kind != "ratio_of_averages":
            raise ValueError(f"kind must be 'ratio_of_averages' or 'average_ratio'; got {kind!r}.")
        names = [self.theta_names_[fam.beta_index(a)] for a in (attribute, price)]
        res = self.inference(names)
        ratio = res.ratio(0, 1)
        label = f"-E[{names[0]}] / E[{names[1]}]"
        return InferenceResults([label], -ratio.estimate, ratio.cov, None, res.diagnostics,
                                dof=ratio.dof)
