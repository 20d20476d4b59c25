"""Averages over the rows with one value of a binary treatment: E[H | T_j = v]."""

from __future__ import annotations

import numpy as np

from ._base import Target

POPULATIONS = {"all": None, "treated": 1.0, "untreated": 0.0}


class PopulationAverage(Target):
    """μ = E[H(X, θ(X); t̃) | T_j = v], written E[d·H] / E[d] with d = 1{T_j = v}.

    Its influence function is (d·H − E[d | X]·H_θ Λ⁻¹ℓ_θ − d·μ) / E[d]: the correction
    is weighted by the probability of the population given x (the propensity for the
    treated), not by each row's own d, which would break Neyman orthogonality. The
    estimator gets E[d·H_θ | X] from the same cross-fitted projection as a target at
    the observed T, so ``uses_observed_t`` is True; :func:`population_ratio` turns the
    numerator's influence values into the ratio's. For the linear model's E[β] this
    is the efficient influence function of the average effect on the treated (Hahn 1998).

    Parameters
    ----------
    base : Target
        The average to take over the population.
    treatment : int
        Column of T that defines the population (binary, 0/1).
    level : float
        1.0 for the treated, 0.0 for the untreated.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LinearFamily
    >>> from sklearn_dml.targets import AverageParameter
    >>> from sklearn_dml.targets._population import PopulationAverage
    >>> target = PopulationAverage(AverageParameter("beta"), treatment=0, level=1.0)
    >>> target.name(["alpha", "beta"], ["training"])
    'E[beta] | training=1'
    >>> theta, t = np.array([[0.0, 2.0], [0.0, 3.0]]), np.array([[1.0], [0.0]])
    >>> target.value(LinearFamily(), theta, t)
    array([2., 0.])
    """

    def __init__(self, base, treatment, level):
        self.base = base
        self.treatment = treatment
        self.level = level

    def name(self, theta_names, treatment_names):
        base = self.base.name(theta_names, treatment_names)
        return f"{base} | {treatment_names[self.treatment]}={self.level:g}"

    @property
    def uses_observed_t(self):
        return True

    def indicator(self, t):
        """d = 1{T_j = v} per row, shape (n,)."""
        return (np.asarray(t)[:, self.treatment] == self.level).astype(float)

    def value(self, family, theta, t):
        return self.indicator(t) * self.base.value(family, theta, t)

    def jacobian(self, family, theta, t):
        return self.indicator(t)[:, None] * self.base.jacobian(family, theta, t)


def population_targets(targets, population, T, treatment_names):
    """``targets`` averaged over ``population``: "all" (unchanged), "treated" or
    "untreated", or a pair such as ``("treated", "training")`` naming the column of T.

    Parameters
    ----------
    targets : list of Target
    population : str or tuple of (str, str or int)
    T : ndarray (n, p)
        The training treatments, in the user's units.
    treatment_names : list of str

    Returns
    -------
    list of Target
    """
    kind, column = (population, None) if isinstance(population, str) else tuple(population)
    if kind not in POPULATIONS:
        raise ValueError(f"population must be one of {sorted(POPULATIONS)}, or a pair such as "
                         f"('treated', <treatment name>); got {population!r}.")
    if POPULATIONS[kind] is None:
        return list(targets)
    binary = [j for j in range(T.shape[1]) if np.isin(T[:, j], (0.0, 1.0)).all()]
    j = _population_column(column, binary, treatment_names)
    if any(isinstance(tg, PopulationAverage) for tg in targets):
        raise ValueError("These targets already average over a population.")
    return [PopulationAverage(tg, j, POPULATIONS[kind]) for tg in targets]


def _population_column(column, binary, treatment_names):
    if column is None:
        if len(binary) != 1:
            raise ValueError(
                "population='treated' or 'untreated' needs one binary (0/1) treatment column "
                f"to define it; the binary columns are {[treatment_names[j] for j in binary]}. "
                "Name one: population=('treated', <treatment name>).")
        return binary[0]
    j = treatment_names.index(column) if column in treatment_names else column
    if not isinstance(j, (int, np.integer)) or j not in binary:
        raise ValueError(f"population's treatment {column!r} is not a binary (0/1) column of "
                         f"T; binary columns: {[treatment_names[k] for k in binary]}.")
    return int(j)


def population_ratio(targets, plugin, psi, T, weights, rows):
    """Turn the numerator E[d·H]'s plug-in values and influence values into those of the
    ratio E[d·H] / E[d] for each :class:`PopulationAverage` (in place; others untouched).

    The mean of the returned ψ over ``rows`` is the ratio, and its deviations
    (ψ_num − d·μ) / d̄ are the ratio's influence function.
    """
    w = weights[rows]
    for k, tg in enumerate(targets):
        if not isinstance(tg, PopulationAverage):
            continue
        d = tg.indicator(T)
        share = np.average(d[rows], weights=w)
        if not share > 0:
            raise ValueError(f"No averaged row has treatment column {tg.treatment} at "
                             f"{tg.level:g}: the population is empty.")
        ratio = np.average(psi[rows, k], weights=w) / share
        psi[:, k] = ratio + (psi[:, k] - d * ratio) / share
        plugin[:, k] = plugin[:, k] / share
    return plugin, psi


def untreated_overlap(T, flagged, treatment_names, share=0.8):
    """The name of T's one binary column if at least ``share`` of the ``flagged`` rows (a
    Λ̂ floored: propensities near 0) are untreated, else None: there the effect on the
    treated is identified where the average over all rows is not."""
    binary = [j for j in range(T.shape[1]) if np.isin(T[:, j], (0.0, 1.0)).all()]
    if len(binary) != 1 or not flagged.any():
        return None
    j = binary[0]
    return treatment_names[j] if np.mean(T[flagged, j] == 0) >= share else None
