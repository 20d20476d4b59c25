"""Turn a user's ``target=`` parameter into a list of Target objects."""

from __future__ import annotations

from .._homogeneous import block_positions
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


def _one(spec, theta_names, treatment_names=None):
    if (isinstance(spec, str) and spec not in theta_names and treatment_names is not None
            and len(treatment_names) == 1 and spec == f"beta[{treatment_names[0]}]"
            and "beta" in theta_names):
        spec = "beta"  # the label a named treatment gives β (AverageParameter.name)
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


def _expand_blocks(specs, theta_names):
    """A block name (``"lambda"``, ``"alpha"``, ``"beta[income]"``) that is not itself a
    component stands for the average of each component in it, in θ's order."""
    out = []
    for spec in specs:
        if (isinstance(spec, str) and spec not in theta_names
                and spec.lower() not in _SHORTCUTS):
            block = block_positions(spec, theta_names)
            if block:
                out.extend(theta_names[j] for j in block)
                continue
        out.append(spec)
    return out


def resolve_targets(target, family, theta_names, n_treatments, binary_treatments=(),
                    treatment_names=None):
    """Return the list of targets to report.

    Parameters
    ----------
    target : None, str, int, Target or list of these
        None gives the family's defaults.
    family : Family
    theta_names : list of str
    n_treatments : int
    binary_treatments : sequence of int, default=()
        Columns of T that take only the values 0 and 1. Among the defaults, the
        derivative AME at the observed T of such a column becomes the effect of moving it
        from 0 to 1 (``ATE[<name>]``), the quantity a binary treatment is about.
    treatment_names : list of str, optional
        With one named treatment, ``"beta[<name>]"`` (the label of its β) selects β.

    Examples
    --------
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets._resolve import resolve_targets
    >>> resolve_targets(["beta", "ame"], LogitFamily(), ["alpha", "beta"], 1)
    [AverageParameter(param='beta'), AverageMarginalEffect(treatment=0, at=None)]
    """
    if target is None:
        specs = [_binary_default(spec, binary_treatments)
                 for spec in family.default_targets(n_treatments)]
    elif isinstance(target, (list, tuple)):
        specs = list(target)
    else:
        specs = [target]
    if not specs:
        raise ValueError("target is an empty list; name at least one target.")
    targets = [_one(spec, theta_names, treatment_names)
               for spec in _expand_blocks(specs, theta_names)]
    for target in targets:
        if isinstance(target, AverageEffect) and target.treatment is not None:
            target.n_treatments = n_treatments  # whether other columns stay at observed T
    return targets


def _binary_default(spec, binary_treatments):
    if (type(spec) is AverageMarginalEffect and spec.at is None
            and spec.treatment in binary_treatments):
        return AverageEffect(0.0, 1.0, treatment=spec.treatment)
    return spec
