"""Discrete choice with nests: the nested logit with preferences that vary with the customer."""

from __future__ import annotations

import sys
import warnings

import numpy as np
from scipy.stats import chi2
from scipy.stats import f as f_law
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._choice import MultinomialLogitDML, from_long
from ._choice_formula import family_layout
from ._estimators import _ATTRIBUTES, _CHOICE_PARAMS, _replace_param
from ._homogeneous import name_positions
from .families._nested import NestedLogitFamily
from .targets._choice import _AttributeResponse


def _nests_from_column(df, alternative, nest, alternatives):
    """Nest → alternatives from a long table's nest column (constant per alternative)."""
    if nest not in df.columns:
        raise ValueError(f"nest={nest!r} is not a column of the DataFrame; it has "
                         f"{list(df.columns)}.")
    by_alt = df.groupby(df[alternative].astype(str))[nest]
    varies = by_alt.nunique(dropna=False) > 1
    if varies.any():
        raise ValueError(f"Column {nest!r} gives alternative(s) {list(varies.index[varies])} "
                         "more than one nest; each alternative belongs to exactly one nest.")
    nest_of = by_alt.first()
    nests = {}
    for a in alternatives:
        nests.setdefault(nest_of[a], []).append(a)
    return nests


def _within_nest_lambda(family, target):
    """The θ column of the λ that an own or within-nest response carries as 1/λ, or None."""
    if not isinstance(target, _AttributeResponse):
        return None
    j, l_, _ = target._indices(family)
    nest = family._nest_of[l_]
    if family._nest_of[j] != nest or family._lambda_col[nest] < 0:
        return None
    return family.lambda_indices[family._lambda_col[nest]]


def lambda_sensitive_warnings(family, targets, names, theta, heterogeneous, homogeneous=()):
    """Messages for own and within-nest responses to an attribute when λ̂(w) varies
    (X varies and the nest's λ is not among the ``homogeneous`` θ names).

    Their value carries 1/λ_k and ∂ log P / ∂λ_k, and the nested score is strongly
    nonlinear in λ_k: the one-step correction is then only first-order right, and the
    second-order terms in the error of λ̂(w) do not vanish against the standard error.
    """
    if not heterogeneous:
        return []
    messages = []
    for target, name in zip(targets, names):
        col = _within_nest_lambda(family, target)
        if col is None or family.theta_names()[col] in homogeneous:
            continue
        lam = theta[:, col]
        messages.append(
            f"{name!r} carries 1/λ̂ of its nest ({family.theta_names()[col]}: min "
            f"{lam.min():.3g}, 1st percentile {np.quantile(lam, 0.01):.3g} over the rows). "
            "Own and within-nest elasticities and marginal effects are strongly nonlinear "
            "in λ, and with λ(w) estimated per customer their debiased estimate keeps a "
            "bias of the order of its standard error, growing with n: do not trust its "
            "interval. Across-nest responses do not carry 1/λ. Unless λ must vary with "
            "w, keep the default homogeneous='lambda' (λ fixed in w, estimated at the "
            "parametric rate); see 'Nested logit' in the choice-model guide.")
    return messages


def _user_stacklevel():
    """The ``stacklevel`` that names the first caller outside this package (fit and
    inference reach the warning through different depths)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("sklearn_dml"):
        frame, level = frame.f_back, level + 1
    return level


_NESTED_PARAMS = _replace_param(_CHOICE_PARAMS, "homogeneous", """\
    homogeneous : None, str or list of str or int, default="lambda"
        Components of θ that do not vary with w (θ names, blocks such as ``"alpha"``,
        positions, or "all"). The default holds every λ fixed in w, as the classical
        nested logit does, while α and β vary: λ is identified only by substitution
        within nests, a network fits λ(w) poorly, and the own and within-nest
        responses, which carry 1/λ, then keep a bias of the order of their standard
        error. ``None`` lets λ vary too (and such responses then warn). With no λ
        estimated the default holds nothing fixed.
""")


class NestedLogitDML(MultinomialLogitDML):
    __doc__ = f"""Nested logit with heterogeneous preferences θ(w), debiased market averages.

    The alternatives are grouped into nests (``nests``, torch-choice's ``nest_to_item``).
    Item-level utility as in :class:`MultinomialLogitDML`, V_ij = α_j(w_i) + x_ij'β(w_i);
    with λ_k the inclusive-value parameter of nest k and
    I_k = log Σ_{{j∈k, available}} exp(V_ij/λ_k), the choice probability is
    P_ij = P(k) P(j | k) with P(k) ∝ exp(λ_k I_k) and P(j | k) = exp(V_ij/λ_k − I_k).
    θ(w) = (α, β, λ): λ per nest (``"lambda[<nest>]"``) or one shared (``"lambda"``);
    by default (``homogeneous="lambda"``) λ is the same for every customer and α, β
    vary with w.
    λ = 1 everywhere is the conditional logit; λ in (0, 1] is consistent with random
    utility maximization, and λ̂ > 1 is reported as estimated (a sign that the nesting
    or the utility is misspecified). A nest with a single alternative leaves its λ
    unidentified: it is fixed at 1 and is not part of θ.

    The default targets are E[α_j(W)], E[β_k(W)] and E[λ_k(W)]. Score and Hessian are
    taken by automatic differentiation; the Hessian depends on the choice, so Λ(w) is
    built from the Fisher information Σ_j P_j ℓ_θθ(j), through the same regimes as the
    conditional logit (``treatment_law``). With ``homogeneous="all"`` and ``cv=1`` the
    debiased E[θ] is the maximum-likelihood estimate and its standard errors the
    sandwich ones.

    Own and within-nest elasticities and marginal effects carry 1/λ_k: with λ(w)
    estimated per customer (``homogeneous=None``) their one-step correction is only
    first-order right and their intervals can be far off, so debiasing one then warns
    (see the choice-model guide).

    Parameters
    ----------
    n_alternatives : int
        Number of (inside) alternatives J.
    nests : dict, default=None
        Nest name → list of its alternatives (indices or names); every alternative in
        exactly one nest. None only with :meth:`fit_long` and its ``nest`` column.
    shared_lambda : bool, default=False
        One λ for all nests with two or more alternatives.
    lambda_nests : list, default=None
        Nests whose λ is estimated (the others keep λ = 1); None: every nest with two
        or more alternatives. Naming a single-alternative nest is an error.
    attribute_names, alternative_names, reference, outside_option, price, formula
        As in :class:`MultinomialLogitDML`; the outside option is a nest of its own.
    nest_formula : str, default=None
        Nest-level utility W_k, torch-choice's ``nest_formula``: nest constants
        ``(1|nest)`` (``nest_alpha[<nest>]``, instead of ``(1|item)`` in ``formula``),
        nest observables ``(x|constant)`` (a column of ``T`` constant within a nest,
        ``nest_beta[x]``), nest-specific coefficients ``(x|nest)`` or ``(z|nest)`` on
        case-level variables (``nest_beta[z|<nest>]``). P(nest k) ∝ exp(W_k + λ_k I_k);
        :meth:`get_coefficient` reads them with ``level="nest"``.
    target : None, str, int, Target or list of these, default=None
        What to estimate; None gives the average of every θ component. A block name
        (``"lambda"``, ``"alpha"``) averages each of its components.
{_NESTED_PARAMS}
{_ATTRIBUTES}
    family_ : NestedLogitFamily
        The fitted layout (J, K, nests, names, outside option).

    See Also
    --------
    MultinomialLogitDML : the conditional logit (all λ = 1).

    References
    ----------
    McFadden (1978), "Modelling the choice of residential location".
    Farrell, Liang and Misra (2025), "Deep Learning for Individual Heterogeneity".

    Examples
    --------
    >>> from sklearn_dml import NestedLogitDML
    >>> from sklearn_dml.datasets import make_choice
    >>> data = make_choice(n_samples=500, random_state=0)
    >>> est = NestedLogitDML(4, nests={{"low": [0, 1], "high": [2, 3]}},
    ...                      attribute_names=["price", "quality"], max_epochs=20,
    ...                      random_state=0)
    >>> est = est.fit(data.X, data.attributes, data.Y)
    >>> est.inference_.names[-2:]
    ['E[lambda[low]]', 'E[lambda[high]]']
    >>> est.get_coefficient("lambda").shape
    (500, 2)
    """

    _family = "nested_logit"

    _parameter_constraints = {
        **MultinomialLogitDML._parameter_constraints,
        "nests": [None, dict],
        "shared_lambda": ["boolean"],
        "lambda_nests": [None, list, tuple],
        "nest_formula": [None, str],
    }

    def __init__(
        self,
        n_alternatives,
        *,
        nests=None,
        shared_lambda=False,
        lambda_nests=None,
        attribute_names=None,
        alternative_names=None,
        reference=0,
        outside_option=False,
        price=None,
        formula=None,
        nest_formula=None,
        target=None,
        homogeneous="lambda",
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
        self.nests = nests
        self.shared_lambda = shared_lambda
        self.lambda_nests = lambda_nests
        self.nest_formula = nest_formula
        super().__init__(
            n_alternatives, attribute_names=attribute_names,
            alternative_names=alternative_names, reference=reference,
            outside_option=outside_option, price=price, formula=formula, target=target,
            homogeneous=homogeneous, x_scaling=x_scaling,
            hidden_dims=hidden_dims, dropout=dropout, solver=solver, lr=lr,
            weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, cv=cv, n_rep=n_rep, n_networks=n_networks,
            lambda_method=lambda_method, lambda_model=lambda_model,
            treatment_law=treatment_law, lambda_floor=lambda_floor, cluster_se=cluster_se,
            device=device, n_jobs=n_jobs, torch_num_threads=torch_num_threads,
            random_state=random_state, verbose=verbose)

    def _make_family(self, n_attributes, names=None):
        names = names or {}
        return NestedLogitFamily(
            self.n_alternatives, n_attributes, self._nest_map(names),
            shared_lambda=self.shared_lambda, lambda_nests=self.lambda_nests,
            reference=self.reference, outside_option=self.outside_option,
            **family_layout(self, names))

    def _nest_map(self, names):
        nests = self.nests if self.nests is not None else names.get("nests")
        if nests is None:
            raise ValueError("NestedLogitDML needs the nests: NestedLogitDML(J, nests={name: "
                             "[alternatives]}), or fit_long(..., nest=<column>).")
        return nests

    def fit_long(self, df, *, choice, alternative, attributes=None, covariates, case,
                 nest=None, case_variables=None, sample_weight=None, groups=None):
        """Fit from a long-format table (see :func:`from_long`).

        Parameters
        ----------
        df : pandas.DataFrame
        choice, alternative, attributes, covariates, case
            As in :func:`from_long`.
        nest : str, default=None
            Column naming each alternative's nest (constant per alternative); used
            when the constructor's ``nests`` is None.
        case_variables, sample_weight, groups
            As in :meth:`MultinomialLogitDML.fit_long`.

        Returns
        -------
        self : object
        """
        if self.nests is None and nest is None:
            raise ValueError("Give the nests: NestedLogitDML(J, nests=...) or "
                             "fit_long(..., nest=<column>).")
        names = None
        if self.nests is None:
            alts = from_long(df, choice=choice, alternative=alternative, attributes=[],
                             covariates=covariates, case=case,
                             alternatives=self.alternative_names).alternative_names
            names = {"nests": _nests_from_column(df, alternative, nest, alts)}
        return self._fit_long(df, choice=choice, alternative=alternative,
                              attributes=attributes, covariates=covariates, case=case,
                              case_variables=case_variables, sample_weight=sample_weight,
                              groups=groups, names=names)

    def fit(self, X, T, Y=None, *, availability=None, case_data=None, sample_weight=None,
            groups=None):
        """Cross-fit θ(w) = (α, β, λ)(w), estimate Λ(w), and debias the targets.

        Parameters are those of :meth:`MultinomialLogitDML.fit`.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, T, Y, availability=availability, case_data=case_data,
                           sample_weight=sample_weight, groups=groups)

    def _resolve_homogeneous(self):
        if (isinstance(self.homogeneous, str) and self.homogeneous == "lambda"
                and not name_positions("lambda", self.theta_names_)):
            return []  # no λ estimated: the default holds nothing fixed
        return super()._resolve_homogeneous()

    def _infer(self, targets, where=None):
        res = super()._infer(targets, where)
        heterogeneous = bool(np.any(self._rows.X.std(axis=0) > 0))
        for message in lambda_sensitive_warnings(self.family_, targets, res.names,
                                                 self.theta_, heterogeneous,
                                                 self.homogeneous_):
            warnings.warn(message, UserWarning, stacklevel=_user_stacklevel())
        return res

    def iia_test(self):
        """Wald test of E[λ_k(W)] = 1 for every estimated λ (the conditional logit's IIA).

        Uses the joint debiased covariance of the average λ's. With constant
        preferences it is the classical Wald test of λ = 1 with the sandwich covariance;
        with λ(w) varying it tests the averages, a necessary condition for λ ≡ 1. The
        p-value is χ²(q) for q λ's, or, with G clusters, that of the statistic / q under
        F(q, G − 1), as the single-target intervals then use t(G − 1).

        Returns
        -------
        Bunch with ``statistic`` (the Wald χ²), ``df`` (q), ``pvalue``, ``names`` and
        ``estimate`` (the E[λ_k] tested).
        """
        check_is_fitted(self)
        names = [name for name in self.theta_names_ if name.split("[")[0] == "lambda"]
        if not names:
            raise ValueError("No λ is estimated (all nests have one alternative, or "
                             "lambda_nests=[]): there is nothing to test.")
        res = self.inference(names)
        gap = res.estimate - 1.0
        statistic = float(gap @ np.linalg.solve(res.cov, gap))
        q = len(names)
        pvalue = float(chi2.sf(statistic, q) if res.dof is None
                       else f_law.sf(statistic / q, q, res.dof))
        return Bunch(statistic=statistic, df=len(names), pvalue=pvalue, names=res.names,
                     estimate=res.estimate)

    def summary(self, alpha=0.05, value=0.0, decimals=4):
        """The debiased estimates, with the IIA test (E[λ_k] = 1) among the diagnostics.

        Parameters are those of :meth:`MultinomialLogitDML.summary`. The diagnostics
        gain ``iia_wald_chi2``, ``iia_df`` and ``iia_pvalue`` (see :meth:`iia_test`)
        when a λ is estimated.

        Returns
        -------
        Summary
        """
        table = super().summary(alpha=alpha, value=value, decimals=decimals)
        if any(name.split("[")[0] == "lambda" for name in self.theta_names_):
            test = self.iia_test()
            table.diagnostics.update(iia_wald_chi2=test.statistic, iia_df=test.df,
                                     iia_pvalue=test.pvalue)
        return table
