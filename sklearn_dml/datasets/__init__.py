"""Simulated datasets with known true targets."""

from ._choice import make_choice
from ._combinatorial import make_combinatorial
from ._families import FAMILY_DATASETS, make_family_data
from ._job_training import make_job_training
from ._simulate import make_linear_confounded, make_logit

__all__ = ["make_linear_confounded", "make_logit", "make_choice", "make_combinatorial",
           "make_family_data", "make_job_training",
           "FAMILY_DATASETS"]
