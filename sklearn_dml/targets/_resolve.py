"""Turn a user's ``target=`` parameter into a list of Target objects."""

from __future__ import annotations

from ._base import Target
from ._distribution import ConditionalVariance, Elasticity
from ._effects import AverageEffect, AverageMarginalEffect
from ._parameter import AverageParameter

_SHORTCUTS = {
    "ame": lambda: AverageMarginalEffect(0),
    "ate": lambda: AverageEffect(0.0, 1.0),
    "elasticity": lambda: Elasticity(0),
    "semi_elasticity": lambda: Elasticity(0, semi=True),
    "variance": lambda: ConditionalVariance(),
}


def _one(spec, theta_names):
    if isinstance(spec, Target):
        target = spec
    elif isinstance(spec, str) and spec.lower() in _SHORTCUTS:
        target = _SHORTCUTS[spec.lower()]()
    elif isinstance(spec, (str, int)):
        target = AverageParameter(spec)
    else:
        raise ValueError(
            f"Cannot read target {spec!r}. Give a θ name (e.g. 'beta'), a shortcut "
            f"({', '.join(repr(k) for k in _SHORTCUTS)}), a Target instance, or a list of these."
        )
    if isinstance(target, AverageParameter):
        target = AverageParameter(target.param).bind(theta_names)
    return target


def resolve_targets(target, family, theta_names, n_treatments):
    """Return the list of targets to report.

    Parameters
    ----------
    target : None, str, int, Target or list of these
        None gives the family's defaults.
    family : Family
    theta_names : list of str
    n_treatments : int

    Examples
    --------
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import resolve_targets
    >>> resolve_targets(["beta", "ame"], LogitFamily(), ["alpha", "beta"], 1)
    [AverageParameter(param='beta'), AverageMarginalEffect(treatment=0, at=None)]
    """
    if target is None:
        specs = family.default_targets(n_treatments)
    elif isinstance(target, (list, tuple)):
        specs = list(target)
    else:
        specs = [target]
    if not specs:
        raise ValueError("target is an empty list; name at least one target.")
    return [_one(spec, theta_names) for spec in specs]
