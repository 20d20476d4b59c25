"""One timed fit, run in a fresh interpreter: ``python _speed_runner.py PEER N D SEED``.

Prints one JSON line: wall and CPU seconds of the fit, peak RSS, estimate and SE of the
average effect of T, and (for sklearn_dml) the epochs actually run, for the FLOP floor.
Each peer may live in its own virtual environment; the data are simulated identically.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np


def simulate(n, d, seed):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    alpha = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    beta = 1.0 + 0.5 * X[:, 0] + 0.25 * X[:, 1] ** 2
    T = 0.5 * X[:, 0] + 0.3 * X[:, 2] + rng.standard_normal(n)
    Y = alpha + beta * T + rng.standard_normal(n)
    return X, T, Y  # true E[beta] = 1.25


def simulate_logit(n, d, seed):
    """P(Y=1 | x, t) = σ(α(x) + β(x)t), the design of ``sklearn_dml.datasets.make_logit``."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    alpha = -0.3 + 0.5 * X[:, 0] + 0.3 * np.sin(X[:, 1])
    beta = 0.8 + 0.4 * X[:, 1] - 0.2 * X[:, 0] ** 2
    T = 0.5 * X[:, 0] + 0.3 * X[:, 2] + rng.standard_normal(n)
    Y = rng.binomial(1, 1 / (1 + np.exp(-(alpha + beta * T)))).astype(float)
    return X, T, Y  # true E[beta] = 0.6


def fit_ours_logit(X, T, Y, seed):
    from sklearn_dml import LogitDML

    est = LogitDML(target="beta", random_state=seed).fit(X, T, Y)
    return est.inference_.estimate[0], est.inference_.stderr[0], {}


def fit_ours(X, T, Y, seed):
    from sklearn_dml import StructuralDMLRegressor

    est = StructuralDMLRegressor(target="beta", random_state=seed).fit(X, T, Y)
    # epochs each fold network actually trained (the history is NaN-padded after it stops)
    epochs = [int(np.isfinite(h).sum()) if h is not None else 0 for h in est.history_[0]]
    params = sum(w.size // w.shape[0] + b.size // b.shape[0] for w, b in est.models_[0])
    n_train = X.shape[0] * (est.n_folds_ - 1) / est.n_folds_
    # forward + backward ≈ 3 × (2 × params) FLOPs per row per epoch, per fold network
    flops = float(sum(6 * params * n_train * e for e in epochs))
    return est.inference_.estimate[0], est.inference_.stderr[0], {"epochs": epochs,
                                                                   "train_flops": flops}


def fit_econml(X, T, Y, seed, mlp=False):
    from econml.dml import LinearDML

    kw = {}
    if mlp:
        from sklearn.neural_network import MLPRegressor

        kw = dict(model_y=MLPRegressor(hidden_layer_sizes=(64, 32), random_state=seed,
                                     early_stopping=True),
                  model_t=MLPRegressor(hidden_layer_sizes=(64, 32), random_state=seed,
                                     early_stopping=True))
    est = LinearDML(random_state=seed, cv=5, **kw).fit(Y, T, X=X)
    inf = est.ate_inference(X)
    return float(np.ravel(inf.mean_point)[0]), float(np.ravel(inf.stderr_mean)[0]), {}


def fit_doubleml(X, T, Y, seed):
    import doubleml as dml
    from sklearn.ensemble import RandomForestRegressor

    np.random.seed(seed)
    data = dml.DoubleMLData.from_arrays(X, Y, T)
    learner = RandomForestRegressor(n_estimators=100, min_samples_leaf=5, n_jobs=1,
                                    random_state=seed)
    model = dml.DoubleMLPLR(data, learner, learner, n_folds=5).fit()
    return float(model.coef[0]), float(model.se[0]), {}


def fit_deep_inference(X, T, Y, seed, k_matched=False, family="linear"):
    import torch
    from deep_inference import structural_dml

    torch.manual_seed(seed)
    kw = {"n_folds": 5} if k_matched else {}
    res = structural_dml(Y=Y, T=T, X=X, family=family, **kw)
    return float(res.mu_hat), float(res.se), {}


PEERS = {
    "sklearn_dml": fit_ours,
    "econml_lineardml": fit_econml,
    "econml_lineardml_mlp": lambda X, T, Y, s: fit_econml(X, T, Y, s, mlp=True),
    "doubleml_plr_rf": fit_doubleml,
    "deep_inference_defaults": fit_deep_inference,
    "deep_inference_k5": lambda X, T, Y, s: fit_deep_inference(X, T, Y, s, k_matched=True),
    "sklearn_dml_logit": fit_ours_logit,
    "deep_inference_logit_defaults": lambda X, T, Y, s: fit_deep_inference(X, T, Y, s,
                                                                           family="logit"),
}


# modules each peer imports, timed apart from the fit: importing torch and scikit-learn
# alone costs about 2.5 s of CPU here, the same for every peer that uses them
IMPORTS = {
    "sklearn_dml": ["sklearn_dml"],
    "econml_lineardml": ["econml.dml"],
    "econml_lineardml_mlp": ["econml.dml", "sklearn.neural_network"],
    "doubleml_plr_rf": ["doubleml", "sklearn.ensemble"],
    "deep_inference_defaults": ["torch", "deep_inference"],
    "deep_inference_k5": ["torch", "deep_inference"],
    "sklearn_dml_logit": ["sklearn_dml"],
    "deep_inference_logit_defaults": ["torch", "deep_inference"],
}


def main():
    import importlib

    peer, n, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    X, T, Y = (simulate_logit if "logit" in peer else simulate)(n, d, seed)
    t_cpu = time.process_time()
    for module in IMPORTS[peer]:
        importlib.import_module(module)
    import_cpu = time.process_time() - t_cpu
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    estimate, se, extra = PEERS[peer](X, T, Y, seed)
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += child.ru_utime + child.ru_stime  # joblib/loky workers, if any
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peer": peer, "n": n, "d": d, "seed": seed, "wall_s": wall, "cpu_s": cpu,
                      "import_cpu_s": import_cpu, "peak_rss_mb": rss_mb, "estimate": estimate,
                      "stderr": se,
                      "threads": os.environ.get("OMP_NUM_THREADS", "default"), **extra}))


if __name__ == "__main__":
    main()
