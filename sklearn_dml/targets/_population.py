"""Averages over the rows with one value of a binary treatment: E[H | T_j = v]."""

from __future__ import annotations

import numpy as np

from .._units import varying_binary_columns
from ._base import Target

POPULATIONS = {"all": None, "treated": 1.0, "untreated": 0.0}


class PopulationAverage(Target):
    """μ = E[H(X, θ(X); t̃) | T_j = v], written E[d·H] / E[d] with d = 1{T_j = v}.

    Its influence function is (d·H − E[d | X]·H_θ Λ⁻¹ℓ_θ − d·μ) / E[d]: the correction
    is weighted by the probability of the population given x (the propensity for the
    treated), not by each row's own d, which would break Neyman orthogonality. The
    estimator gets E[d·H_θ | X] from the same cross-fitted projection as a target at
    the observed T, so ``uses_observed_t`` is True; :func:`population_ratio` turns the
    numerator's influence values into the ratio's. For the linear model's E[β] with an
    estimated propensity this is the efficient influence function of the average effect
    on the treated (Hahn 1998); with a known treatment law it is valid, not efficient.

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
    """``targets`` averaged over ``population``.

    Parameters
    ----------
    targets : list of Target
    population : str or tuple
        "all" (the targets unchanged), "treated" or "untreated", or a pair such as
        ``("treated", "training")`` naming the binary column of T (or its position).
    T : ndarray (n, p)
        The training treatments, in the user's units, one column per treatment.
    treatment_names : list of str
        One name per column of ``T``.

    Returns
    -------
    list of Target
    """
    kind, column = _parse_population(population)
    if POPULATIONS[kind] is None:
        return list(targets)
    if T.shape[1] != len(treatment_names):
        raise ValueError("population= needs one column of T per treatment; this estimator's "
                         "T holds attributes per alternative (a choice model), whose "
                         "populations are not rows with a binary treatment.")
    binary = varying_binary_columns(T)
    j = _population_column(column, binary, treatment_names)
    if any(isinstance(tg, PopulationAverage) for tg in targets):
        raise ValueError("These targets already average over a population.")
    return [PopulationAverage(tg, j, POPULATIONS[kind]) for tg in targets]


def _parse_population(population):
    """(kind, column or None) from ``population``, or a ValueError saying what it takes."""
    if isinstance(population, str) and population in POPULATIONS:
        return population, None
    if (isinstance(population, tuple) and len(population) == 2
            and population[0] in ("treated", "untreated")
            and isinstance(population[1], (str, int, np.integer))
            and not isinstance(population[1], bool)):
        return population
    raise ValueError(f"population must be one of {sorted(POPULATIONS)}, or a pair such as "
                     f"('treated', <treatment name>); got {population!r}.")


def _population_column(column, binary, treatment_names):
    """The position of the binary column that defines the population."""
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


def population_ratio(targets, plugin, psi, T, weights, rows, min_rows=2):
    """Turn the numerator E[d·H]'s plug-in and influence values into those of the ratio
    E[d·H] / E[d], for each :class:`PopulationAverage` among ``targets``.

    Parameters
    ----------
    targets : list of Target
    plugin, psi : ndarray (n, k)
        Plug-in and influence values of the targets' numerators, modified in place.
    T : ndarray (n, p)
        Treatments in the user's units.
    weights : ndarray (n,)
    rows : slice or bool mask
        The rows averaged over.
    min_rows : int, default=2
        Fewest rows of the population among ``rows``.

    Returns
    -------
    plugin, psi : ndarray (n, k)
        The weighted mean of ψ over ``rows`` is the ratio, and its deviations
        (ψ_num − d·μ) / d̄ are the ratio's influence function.
    """
    w = weights[rows]
    for k, tg in enumerate(targets):
        if not isinstance(tg, PopulationAverage):
            continue
        d = tg.indicator(T)
        if np.count_nonzero(d[rows] * w) < min_rows:
            raise ValueError(f"The population has {np.count_nonzero(d[rows] * w)} of the "
                             f"averaged rows; at least {min_rows} are needed for inference.")
        share = np.average(d[rows], weights=w)
        ratio = np.average(psi[rows, k], weights=w) / share
        psi[:, k] = ratio + (psi[:, k] - d * ratio) / share
        plugin[:, k] = plugin[:, k] / share
    return plugin, psi


def population_facts(targets, names, T, rows):
    """``{"population": "<treatment>=<level>: <count> rows"}`` for the diagnostics of an
    inference over a population (the rows of ``rows`` in it), else ``{}``."""
    for tg, name in zip(targets, names):
        if isinstance(tg, PopulationAverage):
            count = int(np.count_nonzero(tg.indicator(T)[rows]))
            return {"population": f"{name.rsplit(' | ', 1)[1]}: {count} rows"}
    return {}


def unwrap(target, name):
    """The target a population averages and its label, or the target itself."""
    if isinstance(target, PopulationAverage):
        return target.base, name.rsplit(" | ", 1)[0]
    return target, name


def untreated_overlap(T, flagged, treatment_names, share=0.8, treated_share=0.05):
    """The name of T's one binary column where the rows with a floored Λ̂ are untreated
    rows unlike the treated, else None.

    Parameters
    ----------
    T : ndarray (n, p)
    flagged : ndarray (n,) of bool
        The rows whose Λ̂ was floored (propensities near 0 or 1).
    treatment_names : list of str
    share : float, default=0.8
        Least share of the flagged rows that are untreated.
    treated_share : float, default=0.05
        Largest share of the treated rows that are flagged: the effect on the treated
        uses every treated row's correction, which a floor would shrink.

    Returns
    -------
    str or None
    """
    binary = varying_binary_columns(T)
    if len(binary) != 1 or T.shape[1] != len(treatment_names) or not flagged.any():
        return None
    treated = T[:, binary[0]] == 1
    if np.mean(~treated[flagged]) >= share and np.mean(flagged[treated]) <= treated_share:
        return treatment_names[binary[0]]
    return None
