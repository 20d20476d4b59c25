"""Coefficient look-up for the choice estimators: ``get_coefficient(name, level=..., by=...)``.

θ names of the choice models: ``alpha[<alternative>]`` (alternative constants),
``beta[<variable>]`` (a generic coefficient), ``beta[<variable>|<alternative>]`` (an
alternative-specific one), ``nest_alpha[<nest>]``, ``nest_beta[<variable>]`` and
``nest_beta[<variable>|<nest>]`` (nest-level terms of the nested logit), and
``lambda`` / ``lambda[<nest>]`` (inclusive values). torch-choice's names are read
too: ``intercept[item]``, ``<variable>[constant]`` and ``<variable>[item]``.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._homogeneous import block_positions

_TORCH_CHOICE_NAME = re.compile(r"^(.+)\[(constant|item|nest)\]$")


class _ChoiceCoefficientsMixin:
    """get_coefficient with torch-choice's ``level`` argument and per-group averages."""

    def get_coefficient(self, name, X=None, *, level="item", by=None):
        """θ̂ per row for one coefficient (or a block of them), as torch-choice names them.

        Parameters
        ----------
        name : str or int
            A θ name (``"beta[price]"``, ``"alpha[b]"``), a block (``"alpha"``, all
            alternative constants; ``"beta[price]"`` when price has alternative-specific
            coefficients ``beta[price|<alternative>]``), torch-choice's
            ``"intercept[item]"``, ``"price[constant]"`` or ``"income[item]"``,
            ``"lambda"`` or ``"lambda[<nest>]"``, or an index into θ.
        X : array-like of shape (m, n_features), default=None
            Where to evaluate θ̂; None gives the training rows' cross-fitted θ̂.
        level : {"item", "nest"}, default="item"
            Which utility the name refers to: the item-level one or the nested logit's
            nest-level one (``"alpha"`` at ``level="nest"`` is ``nest_alpha``). Ignored
            for λ, as in torch-choice.
        by : str or array-like of shape (m,), default=None
            Group labels (e.g. a user id), or the name of a column of ``X`` (of the
            training ``X`` when ``X`` is None; after :meth:`fit_long`, also of any
            column of its table constant within a case): θ̂ is then averaged within
            each group.

        Returns
        -------
        ndarray of shape (m,) for one coefficient, (m, k) for a block; with ``by``, a
        pandas Series / DataFrame indexed by group (a dict without pandas).
        ``get_coefficient("lambda")`` is one column when λ is shared, one per
        estimated nest otherwise.

        Examples
        --------
        >>> est.get_coefficient("beta[price]", by="user_id")  # doctest: +SKIP
        >>> est.get_coefficient("intercept[item]", level="nest")  # doctest: +SKIP
        """
        check_is_fitted(self)
        if level not in ("item", "nest"):
            raise ValueError(f"level must be 'item' or 'nest'; got {level!r}.")
        cols, block = self._choice_columns(name, level)
        return self._coefficient_values(cols, block, X, by)

    def plot_coefficient_distribution(self, name, *, level="item", **kwargs):
        """Histogram of θ̂(w_i) with the debiased mean and CI; ``name`` as in
        :meth:`get_coefficient`, one coefficient.

        Parameters
        ----------
        name : str or int
        level : {"item", "nest"}, default="item"
        **kwargs
            ``ax``, ``bins``, ``kde``, ``alpha`` of the generic plot.

        Returns
        -------
        matplotlib Axes
        """
        return super().plot_coefficient_distribution(self._one_name(name, level), **kwargs)

    def plot_coefficient_dependence(self, name, feature, *, level="item", **kwargs):
        """θ̂(w_i) against one covariate; ``name`` as in :meth:`get_coefficient`.

        Parameters
        ----------
        name : str or int
        feature : str or int
        level : {"item", "nest"}, default="item"
        **kwargs
            ``ax``, ``n_bins`` of the generic plot.

        Returns
        -------
        matplotlib Axes
        """
        return super().plot_coefficient_dependence(self._one_name(name, level), feature,
                                                   **kwargs)

    def _one_name(self, name, level):
        check_is_fitted(self)
        cols, block = self._choice_columns(name, level)
        if block and len(cols) > 1:
            raise ValueError(f"{name!r} names {len(cols)} coefficients; plot one of "
                             f"{[self.theta_names_[j] for j in cols]}.")
        return self.theta_names_[cols[0]]

    def _group_labels(self, by, X, n):
        """Also reads ``by`` from the case-level columns of the ``fit_long`` table."""
        frame = getattr(self, "case_frame_", None)
        if isinstance(by, str) and X is None and frame is not None and by in frame.columns:
            return frame[by].to_numpy()
        return super()._group_labels(by, X, n)

    def _choice_columns(self, name, level):
        if isinstance(name, (int, np.integer)) or not isinstance(name, str):
            return self._coefficient_columns(name)
        if name == "lambda" or name.startswith("lambda["):
            return self._lambda_columns(name)
        if level == "nest" and not hasattr(self.family_, "nest_names"):
            raise ValueError("level='nest' refers to the nested logit's nest-level utility; "
                             f"{type(self).__name__} has item-level coefficients only.")
        names = list(self.theta_names_)
        for candidate in _candidates(name, level):
            if candidate in names:
                return [names.index(candidate)], False
            block = block_positions(candidate, names)
            if block:
                return block, True
        shown = [n for n in names if n.startswith("nest_") == (level == "nest")
                 and not n.startswith("lambda")]
        if not shown:
            raise ValueError(f"Unknown coefficient {name!r}: the model has no {level}-level "
                             "terms (nest-level terms come from nest_formula).")
        raise ValueError(f"Unknown coefficient {name!r} at level={level!r}; the {level}-level "
                         f"coefficients are {shown} (and 'lambda' for the nested logit).")

    def _lambda_columns(self, name):
        fam = self.family_
        if not hasattr(fam, "nest_names"):
            raise ValueError(f"{type(self).__name__} has no λ: the conditional logit is the "
                             "nested logit with every λ = 1. Fit NestedLogitDML to estimate it.")
        names = list(self.theta_names_)
        if name == "lambda":
            cols = list(fam.lambda_indices)
            if not cols:
                raise ValueError("No λ is estimated (every nest has one alternative, or "
                                 "lambda_nests=[]): each is fixed at 1.")
            return cols, not fam.shared_lambda
        if name in names:
            return [names.index(name)], False
        nest = name[len("lambda["):-1] if name.endswith("]") else name
        if nest not in fam.nest_names:
            raise ValueError(f"Unknown nest {nest!r} in {name!r}; the nests are "
                             f"{fam.nest_names}.")
        if fam.shared_lambda and nest in fam.lambda_nests:
            raise ValueError(f"λ is shared by the nests {fam.lambda_nests}: use "
                             "get_coefficient('lambda').")
        members = int(np.sum(fam._member[fam.nest_names.index(nest)]))
        why = ("a nest with a single alternative leaves it unidentified" if members == 1
               else "the nest is not in lambda_nests")
        raise ValueError(f"λ of nest {nest!r} is fixed at 1, not estimated ({why}).")


def _candidates(name, level):
    """θ names a user's coefficient name may stand for, most specific first."""
    prefix = "nest_" if level == "nest" else ""
    match = _TORCH_CHOICE_NAME.match(name)
    out = []
    if match:
        variable, variation = match.groups()
        if variable in ("intercept", "1"):
            out.append(f"{prefix}alpha")
        elif variation == "constant":
            out.append(f"{prefix}beta[{variable}]")
        else:  # item / nest variation: the alternative-specific block
            out.append(f"{prefix}beta[{variable}]")
    if level == "nest" and not name.startswith("nest_"):
        out.append(f"nest_{name}")
    elif level == "item" or name.startswith("nest_"):
        out.append(name)
    return out
