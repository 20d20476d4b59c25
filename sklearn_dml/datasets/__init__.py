"""Simulated datasets with known true targets."""

from ._simulate import make_linear_confounded, make_logit

__all__ = ["make_linear_confounded", "make_logit"]
