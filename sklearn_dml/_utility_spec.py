"""Utility formulas of the choice estimators, in torch-choice's ``(variable|variation)`` grammar.

Item-level terms (``formula``), for alternative j of case i:

- ``(1|item)``: alternative constants α_j (the reference alternative's is 0; every
  inside alternative has one with an outside option);
- ``(x|constant)``: a generic coefficient on a row-level variable x_ij, an attribute
  (price) or an item-only observable (the brand's quality), θ name ``beta[x]``;
- ``(x|item)``: alternative-specific coefficients on x_ij, ``beta[x|<alternative>]``;
- ``(z|item)``: alternative-specific coefficients on a case-level variable z_i (a
  user or session observable), the reference alternative's fixed at 0;
- ``(1|constant)``, ``(z|constant)``: the same shift of every inside alternative,
  identified only against an outside option.

Nest-level terms (``nest_formula``, the nested logit; ``nest`` or ``item`` as the
variation both mean "one per nest"): ``(1|nest)`` nest constants (``nest_alpha``),
``(x|constant)`` a nest-level observable (constant within a nest of a case,
``nest_beta[x]``), ``(x|nest)`` and ``(z|nest)`` nest-specific coefficients
(``nest_beta[x|<nest>]``). A nest-level utility W_k is added to the utility of every
alternative of nest k: λ_k I_k then shifts by W_k, so P(k) ∝ exp(W_k + λ_k I_k), the
nest utility of torch-choice's ``NestedLogitModel``.

Every term is linear in θ, so a bound specification is a design: the estimators fit
the conditional or nested logit on its columns, and every coefficient is a component
of θ(w). Which coefficients vary with w is not part of the grammar: all do, through
the network (``(x|user)`` is the network input's role).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_TERM = re.compile(r"^\(\s*([^|()]+?)\s*\|\s*([^|()]+?)\s*\)$")
_PER_USER = ("user", "session", "user_session")


@dataclass(frozen=True)
class Term:
    """One ``(variable|variation)`` term; ``level`` is "item" or "nest"."""

    variable: str
    variation: str
    level: str

    def __str__(self):
        return f"({self.variable}|{self.variation})"


def parse_formula(formula, level="item"):
    """The terms of a formula such as ``"(1|item) + (price|constant) + (income|item)"``.

    Parameters
    ----------
    formula : str
    level : {"item", "nest"}, default="item"

    Returns
    -------
    list of Term
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"A formula must be a non-empty string of (variable|variation) terms "
                         f"joined by '+'; got {formula!r}.")
    terms = []
    for part in formula.split("+"):
        match = _TERM.match(part.strip())
        if match is None:
            raise ValueError(f"Cannot read the term {part.strip()!r} of {formula!r}: write "
                             "terms as (variable|variation), e.g. '(1|item) + (price|constant)"
                             " + (income|item)'.")
        variable, variation = match.groups()
        if variation in _PER_USER:
            raise ValueError(f"Term ({variable}|{variation}): coefficients vary with the "
                             "customer through the network input X (pass the user "
                             "observables as covariates); use 'constant' or 'item' here.")
        allowed = ("constant", "item") if level == "item" else ("constant", "item", "nest")
        if variation not in allowed:
            raise ValueError(f"Unknown variation {variation!r} in ({variable}|{variation}); "
                             f"the {level}-level formula allows {list(allowed)}.")
        variation = "nest" if level == "nest" and variation == "item" else variation
        term = Term(variable, variation, level)
        if term in terms:
            raise ValueError(f"The term {term} appears twice in {formula!r}.")
        terms.append(term)
    return terms


@dataclass
class _Column:
    name: str       # θ name
    label: str      # attribute label of the design column
    source: str     # "ones", "row" or "case"
    index: int      # column of the row- or case-level data
    mask: np.ndarray  # (J,) which alternatives the column enters


class UtilitySpec:
    """An item-level (and nest-level) formula, bound to the data's columns by :meth:`bind`.

    Parameters
    ----------
    formula : str
        Item-level terms (see the module description).
    nest_formula : str, default=None
        Nest-level terms of the nested logit.

    Examples
    --------
    >>> from sklearn_dml._utility_spec import UtilitySpec
    >>> spec = UtilitySpec("(1|item) + (price|constant) + (income|item)")
    >>> bound = spec.bind(alternatives=["a", "b", "c"], reference=0, outside_option=False,
    ...                   row_variables=["price"], case_variables=["income"])
    >>> bound.theta_names
    ['beta[price]', 'beta[income|b]', 'beta[income|c]']
    """

    def __init__(self, formula, nest_formula=None):
        self.terms = parse_formula(formula, "item")
        if nest_formula is not None:
            self.terms += parse_formula(nest_formula, "nest")

    @property
    def variables(self):
        """The data columns the formula names, in order of appearance."""
        return list(dict.fromkeys(t.variable for t in self.terms if t.variable != "1"))

    @property
    def constants(self):
        """Whether the alternative constants (1|item) are in the formula."""
        return Term("1", "item", "item") in self.terms

    def bind(self, *, alternatives, reference, outside_option, row_variables,
             case_variables=(), nests=None):
        """The design columns for the given alternatives, nests and data columns.

        Parameters
        ----------
        alternatives : list of str
        reference : int
            The alternative whose constants are 0 (ignored with an outside option).
        outside_option : bool
        row_variables : list of str
            Names of the (n, J, K) row-level data (attributes, item observables).
        case_variables : list of str
            Names of the (n, L) case-level data.
        nests : tuple (names, nest_of), default=None
            Nest names and the nest index of each alternative (nest-level terms).

        Returns
        -------
        BoundUtility
        """
        layout = _Layout(list(alternatives), None if outside_option else int(reference),
                         list(row_variables), list(case_variables), nests)
        columns = []
        for term in self.terms:
            columns += layout.columns(term)
        if self.constants and Term("1", "nest", "nest") in self.terms:
            raise ValueError("Nest constants (1|nest) are collinear with the alternative "
                             "constants (1|item): keep one of them.")
        return BoundUtility(columns, self.constants, layout)


class _Layout:
    """Alternatives, nests and data columns a formula is bound to."""

    def __init__(self, alternatives, reference, row, case, nests):
        self.alternatives, self.reference, self.row, self.case = (alternatives, reference,
                                                                  row, case)
        self.nest_names, self.nest_of = (None, None) if nests is None else nests

    def _groups(self, level):
        """(labels, (G, J) membership) of alternatives or nests, and the reference group."""
        J = len(self.alternatives)
        if level == "item":
            return self.alternatives, np.eye(J), self.reference
        ref = None if self.reference is None else self.nest_of[self.reference]
        member = np.asarray(self.nest_of)[None, :] == np.arange(len(self.nest_names))[:, None]
        return self.nest_names, member.astype(float), ref

    def columns(self, term):
        if term.level == "nest" and self.nest_names is None:
            raise ValueError(f"Nest-level term {term} needs the nested logit's nests.")
        prefix = "" if term.level == "item" else "nest_"
        source, index = self._source(term)
        J = len(self.alternatives)
        if term.variation == "constant":
            if source != "row" and self.reference is not None:
                what = "A constant" if source == "ones" else f"Case-level {term.variable!r}"
                raise ValueError(
                    f"{what} with a generic coefficient, {term}, adds the same utility to "
                    "every alternative and cancels from the choice probabilities; it is "
                    f"identified only against an outside option. Use ({term.variable}|item)"
                    " for alternative-specific coefficients.")
            name = f"{prefix}beta[{'intercept' if source == 'ones' else term.variable}]"
            return [_Column(name, _label(name, prefix), source, index, np.ones(J))]
        labels, member, ref = self._groups(term.level)
        keep = [g for g in range(len(labels)) if source == "row" or g != ref]
        if source == "ones":
            if term.level == "item":
                return []  # the alternative constants: the family's α block
            return [_Column(f"nest_alpha[{labels[g]}]", f"nest_alpha[{labels[g]}]", source,
                            index, member[g]) for g in keep]
        out = []
        for g in keep:
            name = f"{prefix}beta[{term.variable}|{labels[g]}]"
            out.append(_Column(name, _label(name, prefix), source, index, member[g]))
        return out

    def _source(self, term):
        if term.variable == "1":
            return "ones", -1
        if term.variable in self.row:
            return "row", self.row.index(term.variable)
        if term.variable in self.case:
            return "case", self.case.index(term.variable)
        raise ValueError(f"The formula term {term} names unknown column {term.variable!r}; "
                         f"the row-level columns (attributes) are {self.row} and the "
                         f"case-level ones {self.case}.")


def _label(name, prefix):
    """Attribute label of a design column: the bracket's text for item-level terms."""
    return name if prefix else name[len("beta["):-1]


class BoundUtility:
    """A formula bound to its data: design columns, θ names, and the design builder."""

    def __init__(self, columns, constants, layout):
        self._columns = columns
        self.constants = constants
        self._layout = layout
        if not columns and not constants:
            raise ValueError("The formula has no term that moves the choice probabilities.")

    @property
    def theta_names(self):
        """θ names of the design columns (after the alternative constants)."""
        return [c.name for c in self._columns]

    def specific_columns(self):
        """(design column, an alternative it enters, θ name) of each alternative- or
        nest-specific coefficient on a variable, where its group has a constant: only the
        variable's variation given w tells the two apart."""
        nest_constants = any(c.name.startswith("nest_alpha") for c in self._columns)
        return [(c, int(np.flatnonzero(col.mask)[0]), col.name)
                for c, col in enumerate(self._columns)
                if col.source != "ones" and not col.mask.all()
                and (nest_constants if col.name.startswith("nest_") else self.constants)]

    @property
    def column_labels(self):
        """Attribute labels of the design columns (what choice targets call attributes)."""
        return [c.label for c in self._columns]

    def design(self, rows, case=None):
        """The (n, J, C) design from row-level data (n, J, K) and case-level data (n, L).

        Parameters
        ----------
        rows : array-like of shape (n, J, K)
        case : array-like of shape (n, L), default=None

        Returns
        -------
        ndarray of shape (n, J, C)
        """
        rows = np.asarray(rows, dtype=float)
        J, K = len(self._layout.alternatives), len(self._layout.row)
        if rows.ndim != 3 or rows.shape[1:] != (J, K):
            raise ValueError(f"The row-level data must have shape (n_samples, {J}, {K}) for "
                             f"the columns {self._layout.row}; got {rows.shape}.")
        n, L = rows.shape[0], len(self._layout.case)
        case = np.zeros((n, 0)) if case is None else np.asarray(case, dtype=float)
        if case.shape != (n, L):
            raise ValueError(f"case_data must have shape ({n}, {L}) for the case-level "
                             f"columns {self._layout.case}; got {case.shape}.")
        out = np.empty((n, J, len(self._columns)))
        for c, col in enumerate(self._columns):
            if col.source == "row":
                values = rows[:, :, col.index]
            elif col.source == "case":
                values = case[:, col.index][:, None]
            else:
                values = np.ones((n, 1))
            out[:, :, c] = values * col.mask[None, :]
        return out

    def check(self, rows, design, availability, alpha_slots):
        """Clear errors for a nest-level observable that varies within a nest, or for a
        coefficient the design does not identify (collinear columns).

        Parameters
        ----------
        rows : ndarray of shape (n, J, K)
            The row-level data.
        design : ndarray of shape (n, J, C)
            :meth:`design` of the same data.
        availability : ndarray of shape (n, J), bool
        alpha_slots : list of int
            The alternatives with a constant α (the estimator's reference left out).
        """
        lay = self._layout
        for col in self._columns:
            if col.name.startswith("nest_") and col.source == "row":
                x = np.where(availability, rows[:, :, col.index], np.nan)
                for g in range(len(lay.nest_names)):
                    inside = x[:, np.asarray(lay.nest_of) == g]
                    if np.any(np.nanmax(inside, 1) - np.nanmin(inside, 1) > 0):
                        raise ValueError(
                            f"Nest-level observable {lay.row[col.index]!r} varies across the "
                            f"alternatives of nest {lay.nest_names[g]!r} within a case; a "
                            "variable that varies by alternative belongs in the item-level "
                            "formula.")
        self._check_rank(design, availability, alpha_slots)

    def _check_rank(self, design, availability, alpha_slots, max_rows=4000):
        n = min(design.shape[0], max_rows)
        J = design.shape[1]
        alpha = np.broadcast_to(np.eye(J)[:, alpha_slots], (n, J, len(alpha_slots)))
        M = np.concatenate([alpha, design[:n]], axis=2)
        avail = np.asarray(availability[:n], dtype=bool)
        if self._layout.reference is not None:  # only differences across alternatives count
            w = avail / avail.sum(1, keepdims=True)
            M = M - np.einsum("nj,njc->nc", w, M)[:, None, :]
        stacked = M[avail]
        names = [f"alpha[{self._layout.alternatives[j]}]" for j in alpha_slots]
        names += self.theta_names
        scale = np.maximum(np.abs(stacked).max(0), 1e-300)
        stacked = stacked / scale
        if np.linalg.matrix_rank(stacked) == stacked.shape[1]:
            return
        for c in range(1, stacked.shape[1] + 1):
            if np.linalg.matrix_rank(stacked[:, :c]) < c:
                raise ValueError(
                    f"The coefficient {names[c - 1]!r} is not identified: its design column "
                    "is a combination of the earlier ones (an item-only observable next to "
                    "the alternative constants (1|item), (x|constant) next to (x|item), or a "
                    "variable that never varies). Drop one of the terms.")
