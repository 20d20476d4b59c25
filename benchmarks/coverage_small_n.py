"""Monte Carlo study of small samples: where do the heterogeneous fits' intervals hold?

The core designs (:func:`sklearn_dml.datasets.make_linear_confounded` and
:func:`~sklearn_dml.datasets.make_logit`, 5 covariates, heterogeneous θ(x)) at n = 50, 100,
200 and 500 rows, default settings, target E[beta]. 'fits warned' is the share of fits that
raised any warning. The design ``logit-binary-nrep5`` refits the binary logit with
``n_rep=5``. Below 200 rows the fit warns that its intervals run short; this study is what
that warning quotes.

Usage: python benchmarks/coverage_small_n.py [--reps 200] [--n 50,100,200,500] [--jobs 2]
       [--designs logit-binary-nrep5 --n 100 --append]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import fit_recording, study_by_n  # noqa: E402

import sklearn_dml as sd  # noqa: E402
from sklearn_dml.datasets import make_linear_confounded, make_logit  # noqa: E402

DESIGNS = ("linear-binary", "linear-continuous", "logit-binary", "logit-continuous")
COLUMNS = ["design", "n", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se", "coverage",
           "coverage_mc_se", "R", "warned", "cpu_s"]


def replication(design, n, seed):
    kind, treatment = design.split("-")[:2]
    maker = make_linear_confounded if kind == "linear" else make_logit
    data = maker(n_samples=n, treatment=treatment, random_state=seed)
    estimator = sd.StructuralDMLRegressor if kind == "linear" else sd.LogitDML
    n_rep = 5 if design.endswith("nrep5") else 1
    return fit_recording(estimator(target="beta", n_rep=n_rep, random_state=seed),
                         data.X, data.T, data.Y, data.truth["E[beta]"])


def main():
    study_by_n("coverage_small_n", "small samples", DESIGNS, "50,100,200,500", COLUMNS)


if __name__ == "__main__":
    main()
