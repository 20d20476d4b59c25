"""The whole pipeline on a CUDA device: same statistics as on the CPU, pickles load anywhere.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``python -m pytest tests/test_gpu.py``. ``SKLEARN_DML_TEST_DEVICE=cpu`` runs the same
checks on the CPU, to test the tests.
"""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import sklearn_dml as sd
from sklearn_dml.datasets import (
    make_choice,
    make_combinatorial,
    make_family_data,
    make_linear_confounded,
    make_logit,
)
from sklearn_dml.families import CustomFamily

DEVICE = os.environ.get("SKLEARN_DML_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(),
                                reason="no CUDA device")
SMALL = dict(hidden_dims=(32, 16), max_epochs=60, random_state=0)


@pytest.fixture(scope="module")
def linear():
    data = make_linear_confounded(4000, random_state=0)
    cpu = sd.StructuralDMLRegressor(device="cpu", **SMALL).fit(data.X, data.T, data.Y)
    gpu = sd.StructuralDMLRegressor(device=DEVICE, **SMALL).fit(data.X, data.T, data.Y)
    return data, cpu, gpu


def test_device_fit_agrees_with_cpu_statistically(linear):
    data, cpu, gpu = linear
    assert gpu.device_.startswith(DEVICE)
    # float32 kernels differ, so trajectories differ; the estimates must not, beyond noise
    diff = np.abs(gpu.inference_.estimate - cpu.inference_.estimate)
    assert np.all(diff < 0.5 * cpu.inference_.stderr), (diff, cpu.inference_.stderr)
    np.testing.assert_allclose(gpu.inference_.stderr, cpu.inference_.stderr, rtol=0.15)
    truth = data.truth["E[beta]"]
    est, se = gpu.inference_.estimate[1], gpu.inference_.stderr[1]
    assert abs(est - truth) < 4 * se, (est, truth, se)
    # θ̂(x) of the two fits: close relative to the spread of the true θ(x)
    rel = np.sqrt(np.mean((gpu.theta_ - cpu.theta_) ** 2, axis=0)) / data.theta.std(axis=0)
    assert np.all(rel < 0.35), rel


def test_same_seed_same_result_on_device():
    data = make_linear_confounded(1500, random_state=1)
    kw = dict(device=DEVICE, hidden_dims=(16,), max_epochs=20, random_state=3)
    a = sd.StructuralDMLRegressor(**kw).fit(data.X, data.T, data.Y)
    b = sd.StructuralDMLRegressor(**kw).fit(data.X, data.T, data.Y)
    np.testing.assert_allclose(a.theta_, b.theta_, rtol=0, atol=1e-6)


def test_auto_picks_the_device():
    data = make_linear_confounded(300, random_state=0)
    est = sd.StructuralDMLRegressor(device="auto", hidden_dims=(8,), max_epochs=3,
                                    random_state=0).fit(data.X, data.T, data.Y)
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


def test_pickle_from_device_loads_on_a_machine_without_one(linear, tmp_path):
    _, _, gpu = linear
    path = tmp_path / "est.pkl"
    path.write_bytes(pickle.dumps(gpu))
    code = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        f"est = pickle.load(open({str(path)!r}, 'rb'))\n"
        "print(repr(est.inference_.estimate.tolist()))\n"
        "print(repr(est.predict(np.zeros((2, est.n_features_in_))).tolist()))\n"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = eval(out.stdout.splitlines()[0])
    np.testing.assert_allclose(loaded, gpu.inference_.estimate, rtol=1e-12)
    pred = eval(out.stdout.splitlines()[1])
    np.testing.assert_allclose(pred, gpu.predict(np.zeros((2, gpu.n_features_in_))),
                               rtol=1e-10)


def test_logit_regime_c_on_device():
    data = make_logit(3000, random_state=0)
    est = sd.LogitDML(device=DEVICE, **SMALL).fit(data.X, data.T, data.Y)
    assert est.lambda_method_ == "regression"
    res = est.inference_
    assert np.all(np.isfinite(res.estimate)) and np.all(res.stderr > 0)
    i = res.names.index("E[beta]")
    assert abs(res.estimate[i] - data.truth["E[beta]"]) < 4 * res.stderr[i]


@pytest.mark.parametrize("extra", [
    dict(solver="lbfgs"),
    dict(solver="adam", lambda_model="network", target=["beta", "ame"]),
    dict(solver="lbfgs", lambda_model="network", target=["beta", "ame"]),
], ids=["lbfgs", "network-adam", "network-lbfgs"])
def test_logit_options_on_device_agree_with_cpu(extra):
    data = make_logit(3000, random_state=0)
    kw = dict(SMALL, **extra)
    cpu = sd.LogitDML(device="cpu", **kw).fit(data.X, data.T, data.Y)
    gpu = sd.LogitDML(device=DEVICE, **kw).fit(data.X, data.T, data.Y)
    diff = np.abs(gpu.inference_.estimate - cpu.inference_.estimate)
    assert np.all(diff < 0.5 * cpu.inference_.stderr), (diff, cpu.inference_.stderr)
    i = gpu.inference_.names.index("E[beta]")
    assert abs(gpu.inference_.estimate[i] - data.truth["E[beta]"]) < 4 * gpu.inference_.stderr[i]


@pytest.mark.parametrize("name", ["poisson", "tobit", "heteroskedastic", "zip"])
def test_families_on_device(name):
    data = make_family_data(name, n_samples=2000, random_state=1)
    est = {"poisson": sd.PoissonDML, "tobit": sd.TobitDML, "zip": sd.ZeroInflatedPoissonDML,
           "heteroskedastic": sd.HeteroskedasticDML}[name](device=DEVICE, **SMALL)
    res = est.fit(data.X, data.T, data.Y).inference_
    assert np.all(np.isfinite(res.estimate)) and np.all(res.stderr > 0)
    i = res.names.index("E[beta]")
    assert abs(res.estimate[i] - data.truth["E[beta]"]) < 4 * res.stderr[i]


def test_custom_loss_on_device():
    data = make_linear_confounded(2000, random_state=2)

    def loss(y, t, theta):
        return (y - theta[:, 0] - theta[:, 1] * t[:, 0]) ** 2

    family = CustomFamily(loss, ["alpha", "beta"])
    est = sd.StructuralDML(family=family, target="beta", device=DEVICE, **SMALL)
    res = est.fit(data.X, data.T, data.Y).inference_
    i = res.names.index("E[beta]")
    assert abs(res.estimate[i] - data.truth["E[beta]"]) < 4 * res.stderr[i]


def test_choice_model_on_device():
    data = make_choice(2000, prices="randomized", random_state=0)
    est = sd.MultinomialLogitDML(4, attribute_names=["price", "quality"], device=DEVICE,
                                 **SMALL)
    est.fit(data.X, data.attributes, data.Y, availability=data.availability)
    res = est.inference_
    i = res.names.index("E[beta[price]]")
    assert abs(res.estimate[i] - data.truth["E[beta[price]]"]) < 4 * res.stderr[i]


def test_combinatorial_on_device():
    data = make_combinatorial(n_samples=2000, n_treatments=3, random_state=0)
    est = sd.CombinatorialDML(device=DEVICE, max_epochs=60, random_state=0)
    est.fit(data.X, data.T, data.Y)
    assert est.device_.startswith(DEVICE)
    res = est.all_effects()
    assert np.all(np.isfinite(res.estimate)) and np.all(res.stderr > 0)
