"""Full-batch L-BFGS (``solver="lbfgs"``): per-member optimization, and the estimators."""

import numpy as np
import pytest
import torch

from sklearn_dml import LogitDML, StructuralDMLRegressor
from sklearn_dml._lbfgs import EnsembleLBFGS
from sklearn_dml.datasets import make_linear_confounded, make_logit


def _least_squares(n_members, n_rows=50, dim=4, seed=0):
    rng = np.random.RandomState(seed)
    # different conditioning per member, so a shared step or curvature would show
    A = rng.standard_normal((n_members, n_rows, dim)) * np.logspace(0, 1.5, dim)
    b = rng.standard_normal((n_members, n_rows))
    return torch.tensor(A), torch.tensor(b)


def _least_squares_solver(A, b, w):
    return EnsembleLBFGS([w], lambda: ((torch.einsum("mnd,md->mn", A, w) - b) ** 2).mean(1))


def test_lbfgs_reaches_each_members_least_squares_solution():
    A, b = _least_squares(3)
    w = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    opt = _least_squares_solver(A, b, w)
    for _ in range(40):
        opt.step()
    for m in range(3):
        exact = np.linalg.lstsq(A[m].numpy(), b[m].numpy(), rcond=None)[0]
        np.testing.assert_allclose(w[m].detach().numpy(), exact, rtol=1e-6, atol=1e-8)


def test_lbfgs_member_is_unaffected_by_the_others():
    """Member 0 takes the same steps alone as next to a badly scaled member."""
    A, b = _least_squares(2, seed=1)
    A[1] *= 1e3
    runs = []
    for members in ([0, 1], [0]):
        w = torch.zeros(len(members), 4, dtype=torch.float64, requires_grad=True)
        opt = _least_squares_solver(A[members], b[members], w)
        path = []
        for _ in range(6):  # before convergence, where the paths would differ
            opt.step()
            path.append(w[0].detach().clone())
        runs.append(torch.stack(path))
    torch.testing.assert_close(runs[0], runs[1], rtol=1e-10, atol=1e-12)


def test_lbfgs_skips_inactive_members():
    A, b = _least_squares(2)
    w = torch.zeros(2, 4, dtype=torch.float64, requires_grad=True)
    opt = _least_squares_solver(A, b, w)
    opt.step(torch.tensor([True, False]))
    assert torch.count_nonzero(w[0]) > 0
    assert torch.count_nonzero(w[1]) == 0


@pytest.mark.parametrize("design", ["linear", "logit"])
def test_lbfgs_estimates_agree_with_adam_and_the_truth(design):
    if design == "linear":
        d = make_linear_confounded(2000, random_state=0)
        make = StructuralDMLRegressor
    else:
        d = make_logit(2000, random_state=0)
        make = LogitDML
    fits = {s: make(target="beta", solver=s, random_state=0).fit(d.X, d.T, d.Y)
            for s in ("adam", "lbfgs")}
    est = {s: f.inference_.estimate[0] for s, f in fits.items()}
    se = fits["lbfgs"].inference_.stderr[0]
    assert abs(est["lbfgs"] - est["adam"]) < 1.0 * se
    assert abs(est["lbfgs"] - d.truth["E[beta]"]) < 3 * se
    assert 0.8 < se / fits["adam"].inference_.stderr[0] < 1.25


def test_lbfgs_rejects_dropout():
    d = make_linear_confounded(200, random_state=0)
    with pytest.raises(ValueError, match="dropout=0 with 'lbfgs'"):
        StructuralDMLRegressor(solver="lbfgs", dropout=0.2).fit(d.X, d.T, d.Y)


def test_unknown_solver_is_rejected():
    d = make_linear_confounded(200, random_state=0)
    with pytest.raises(ValueError, match="solver"):
        StructuralDMLRegressor(solver="sgd").fit(d.X, d.T, d.Y)


def test_lbfgs_marks_members_done_at_the_dtype_resolution():
    A, b = _least_squares(3)
    A, b = A.float(), b.float()
    w = torch.zeros(3, 4, requires_grad=True)
    opt = _least_squares_solver(A, b, w)
    iterations = 0
    while not opt.done.all() and iterations < 200:
        opt.step()
        iterations += 1
    assert iterations < 60
    for m in range(3):
        exact = np.linalg.lstsq(A[m].double().numpy(), b[m].double().numpy(), rcond=None)[0]
        np.testing.assert_allclose(w[m].detach().numpy(), exact, rtol=1e-3, atol=1e-4)


def test_lbfgs_trains_the_constant_choice_model_to_its_mle():
    """The conditional-logit recipe (constant covariate, no cross-fitting, no early
    stopping, no weight penalty): L-BFGS stops near the MLE (a weight penalty would pull
    the plug-in θ̂ off by about 1e-3), and the debiasing step, a Newton step from there,
    lands on it."""
    from sklearn_dml import MultinomialLogitDML
    from sklearn_dml.families import MultinomialLogitFamily

    rng = np.random.RandomState(7)
    n = 5000
    x = np.stack([rng.uniform(0.5, 2.0, size=(n, 3)), rng.normal(size=(n, 3))], axis=2)
    fam = MultinomialLogitFamily(3, 2)
    P = fam.probabilities(fam.pack(x), np.tile([0.4, -0.2, -1.0, 0.8], (n, 1)))
    y = (rng.uniform(size=(n, 1)) > P.cumsum(1)).sum(1).clip(max=2).astype(float)
    est = MultinomialLogitDML(3, cv=1, hidden_dims=(8,), solver="lbfgs", early_stopping=False,
                              weight_decay=0.0, max_epochs=300,
                              random_state=0).fit(np.ones((n, 1)), x, y)
    mle, _ = fam.fit_constant(y, fam.pack(x))
    assert np.abs(est.theta_.mean(axis=0) - mle).max() < 1e-4
    np.testing.assert_allclose(est.inference_.estimate, mle, rtol=0, atol=1e-8)

