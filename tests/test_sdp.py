r"""Tests for the depth-2 cone program (covcone.sdp) against independent convex programs."""
import warnings

import numpy as np
import pytest
import cvxpy as cp
from hypothesis import given, settings, strategies as st

from covcone.backends import InaccurateSolutionWarning, SolverError
from covcone.sdp import input_matrix, solve_cone_program


def _solve(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        warnings.simplefilter("ignore", UserWarning)
        return solve_cone_program(*args, **kw)


def _tight_Y(N):
    """Y_N = [[N/2·I, 1], [1, N/2·I]] (docs/design.md §6)."""
    h = N // 2
    Y = np.ones((N, N))
    Y[:h, :h] = 0
    Y[h:, h:] = 0
    return Y + h * np.eye(N)


def _nuclear_regression(X, Y, lam, beta):
    r"""Linear σ: the depth-2 network is W_2' W_1 A + β c_0 1ᵀ and min ‖W_1‖² + ‖W_2'‖² over
    factorisations of W = W_2'W_1 is 2‖W‖_*, so the optimum is
    min (1/N)‖W A + β c_0 1ᵀ − Yᵀ‖² + 2λ‖W‖_* + λ‖c_0‖²."""
    A = input_matrix(X, beta)
    N, k = Y.shape
    W = cp.Variable((k, A.shape[0]))
    c0 = cp.Variable((k, 1))
    fit = W @ A + beta * c0 @ np.ones((1, N)) - Y.T
    prob = cp.Problem(cp.Minimize(cp.sum_squares(fit) / N + 2 * lam * cp.normNuc(W) + lam * cp.sum_squares(c0)))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return prob.value


def _sampled_patterns(Ap, rng, n=200000):
    """All sign patterns 1[A'u ≥ 0] met by n random directions u (enough for small N)."""
    U = rng.standard_normal((Ap.shape[1], n))
    return {tuple(p) for p in (Ap @ U >= 0).T.astype(int)}


def _pilanci_ergen(x, y, lam, beta, patterns=None):
    r"""Pilanci & Ergen (ICML 2020) convex program for a two-layer scalar-output ReLU network, in
    the weight-decay scaling of docs/design.md §3.4: with A' = [x, β1] (N×2) and all sign patterns D_i of
    A'u (1-D data with bias: thresholds),

        min (1/N)‖Σ_i D_i A'(v_i − w_i) + β c_0 1 − y‖² + 2λ Σ_i (‖v_i‖ + ‖w_i‖) + λ c_0²
        s.t. (2D_i − I) A' v_i ≥ 0, (2D_i − I) A' w_i ≥ 0.
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    N = len(x)
    Ap = np.column_stack([x, beta * np.ones(N)])
    if patterns is None:  # 1-D data: thresholds
        xs = np.sort(x[:, 0])
        cuts = np.concatenate([[xs[0] - 1], (xs[:-1] + xs[1:]) / 2, [xs[-1] + 1]])
        pats = {tuple((x[:, 0] >= t).astype(int)) for t in cuts} | {tuple((x[:, 0] <= t).astype(int)) for t in cuts}
    else:
        pats = set(patterns)
    pats.discard(tuple([0] * N))
    c0 = cp.Variable()
    terms, pen, cons = [], 0, []
    for p in sorted(pats):
        D = np.diag(p)
        v, w = cp.Variable(Ap.shape[1]), cp.Variable(Ap.shape[1])
        terms.append(D @ Ap @ (v - w))
        pen += cp.norm(v) + cp.norm(w)
        S = 2 * D - np.eye(N)
        cons += [S @ Ap @ v >= 0, S @ Ap @ w >= 0]
    fit = sum(terms) + beta * c0 * np.ones(N) - y
    prob = cp.Problem(cp.Minimize(cp.sum_squares(fit) / N + 2 * lam * pen + lam * cp.square(c0)), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return prob.value


@pytest.mark.parametrize("beta,d", [(1.0, 2), (0.0, 3), (1.0, 3)])
def test_linear_activation_equals_nuclear_norm_regression(beta, d):
    rng = np.random.default_rng(0)
    N, k, lam = 10, 2, 0.05
    X = rng.standard_normal((N, d))
    Y = rng.standard_normal((N, k))
    res = _solve(X, Y, activation="linear", lam=lam, beta=beta, cost="mse")
    ref = _nuclear_regression(X, Y, lam, beta)
    # Clarabel often ends 'optimal_inaccurate' on these degenerate programs (the primal is then
    # slightly infeasible and may undershoot): the dual bound must stay below the reference and
    # the primal within 2e-6 relative
    assert res.lower <= ref + 1e-8 * max(1.0, abs(ref))
    assert abs(res.value - ref) <= 2e-6 * max(1.0, abs(ref))
    assert res.lower_source == "dual"
    # neurons: exact factorisation; the error is the solver's DNN violation summed over blocks
    # (≈1600 4×4 blocks for r = 4)
    rank = np.linalg.matrix_rank(input_matrix(X, beta))
    assert res.neuron_error < (1e-4 if rank <= 3 else 2e-3)


@pytest.mark.parametrize("N", [6, 10])
def test_relu_1d_equals_pilanci_ergen(N):
    rng = np.random.default_rng(N)
    x = rng.standard_normal(N)
    y = rng.standard_normal(N)
    lam, beta = 0.02, 1.0
    res = _solve(x[:, None], y, activation="relu", lam=lam, beta=beta, cost="mse")
    ref = _pilanci_ergen(x, y, lam, beta)
    assert abs(res.value - ref) <= 1e-6 * max(1.0, abs(ref))
    # the recovered neurons reproduce the covariances
    assert res.neuron_error < 1e-4
    np.testing.assert_allclose(res.neurons.T @ res.neurons, res.K, atol=1e-4)


def test_relu_2d_with_bias_equals_pilanci_ergen():
    """r = 3 (2-D inputs + bias): the cell SDP equals the Pilanci–Ergen program over all sign
    patterns (found by dense sampling, an independent path from the arrangement code)."""
    rng = np.random.default_rng(21)
    N, lam, beta = 7, 0.02, 1.0
    X = rng.standard_normal((N, 2))
    y = rng.standard_normal(N)
    pats = _sampled_patterns(np.column_stack([X, beta * np.ones(N)]), rng)
    ref = _pilanci_ergen(X, y, lam, beta, patterns=pats - {tuple([0] * N)})
    res = _solve(X, y, activation="relu", lam=lam, beta=beta, cost="mse")
    assert abs(res.value - ref) <= 1e-6 * max(1.0, abs(ref))


def test_network_from_neurons_attains_value():
    r"""Build the network from the cell neurons (docs/design.md §5) and evaluate its loss by a plain
    forward pass: it must equal the program's value (the program is exact for rank ≤ 3)."""
    rng = np.random.default_rng(7)
    N, k, lam, beta = 8, 2, 0.03, 1.0
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, k))
    res = _solve(X, Y, activation="relu", lam=lam, beta=beta, cost="mse")
    A = input_matrix(X, beta)
    Z1 = res.neurons  # n×N
    W1 = Z1 @ np.linalg.pinv(A)
    Z1s = np.vstack([np.maximum(W1 @ A, 0), beta * np.ones((1, N))])
    W2 = res.Z2 @ np.linalg.pinv(Z1s)
    Z2 = W2 @ Z1s
    loss = np.sum((Z2 - Y.T) ** 2) / N + lam * (np.sum(W1**2) + np.sum(W2**2))
    assert abs(loss - res.value) <= 1e-4 * max(1.0, res.value)


def test_lifted_is_a_lower_bound_of_cells():
    rng = np.random.default_rng(3)
    N, k, lam, beta = 8, 2, 0.01, 1.0
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, k))
    cells = _solve(X, Y, activation="relu", lam=lam, beta=beta, cost="mse", cone="cells")
    lifted = _solve(X, Y, activation="relu", lam=lam, beta=beta, cost="mse", cone="lifted")
    assert lifted.lower <= lifted.value + 1e-8
    assert lifted.value <= cells.value + 1e-6
    assert lifted.neurons is None


@pytest.mark.parametrize("N", [4, 6])
def test_tight_example_lifted_value_is_N_squared(N):
    res = _solve(np.eye(N), _tight_Y(N), activation="relu", cost="interpolate", cone="lifted")
    assert abs(res.value - N**2) <= 1e-6 * N**2
    assert abs(res.lower - N**2) <= 1e-5 * N**2
    np.testing.assert_allclose(res.K_sigma, _tight_Y(N), atol=1e-3)


def test_cross_entropy_runs_and_is_consistent():
    rng = np.random.default_rng(5)
    N, lam, beta = 9, 0.05, 1.0
    X = rng.standard_normal((N, 2))
    labels = rng.integers(0, 3, N)
    res = _solve(X, labels, activation="relu", lam=lam, beta=beta, cost="cross_entropy")
    assert res.Z2.shape == (3, N)
    Z = res.Z2
    lse = np.log(np.exp(Z - Z.max(0)).sum(0)) + Z.max(0)
    data = np.mean(lse - Z[labels, np.arange(N)])
    assert data < np.log(3)  # better than the zero network
    assert res.lower <= res.value + 1e-7
    lifted = _solve(X, labels, activation="relu", lam=lam, beta=beta, cost="cross_entropy", cone="lifted")
    assert lifted.value <= res.value + 1e-5


def test_interpolate_cells_matches_lifted_upper_bound_order():
    rng = np.random.default_rng(11)
    N = 6
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, 1))
    cells = _solve(X, Y, activation="relu", cost="interpolate", beta=1.0)
    lifted = _solve(X, Y, activation="relu", cost="interpolate", beta=1.0, cone="lifted")
    np.testing.assert_allclose(cells.Z2, Y.T, atol=1e-6)
    assert lifted.value <= cells.value + 1e-6


def test_argument_errors():
    X = np.zeros((4, 5))
    with pytest.raises(ValueError, match="rank"):
        solve_cone_program(np.random.default_rng(0).standard_normal((7, 4)), np.ones(7), lam=0.1, beta=1.0)
    with pytest.raises(ValueError, match="lam"):
        solve_cone_program(X[:, :2], np.ones(4), lam=-1.0)
    with pytest.raises(ValueError, match="cost"):
        solve_cone_program(X[:, :2], np.ones(4), lam=1.0, cost="hinge")
    with pytest.raises(ValueError, match="Y"):
        solve_cone_program(X[:, :2], np.ones(5), lam=1.0)
    with pytest.raises(ValueError, match="solver"):
        solve_cone_program(X[:, :2], np.ones(4), lam=1.0, solver="NOPE")


def test_solver_error_names_solver():
    """An iteration limit of 1 makes the solver fail: SolverError naming it."""
    rng = np.random.default_rng(1)
    with pytest.raises(SolverError, match="CLARABEL"):
        _solve(rng.standard_normal((6, 2)), rng.standard_normal(6), lam=0.1, beta=1.0,
               solver="CLARABEL", solver_opts={"max_iter": 1})


@given(st.floats(0.2, 5.0), st.integers(0, 10**6))
@settings(max_examples=4, deadline=None)
def test_representation_cost_is_homogeneous(t, seed):
    """β = 0, ReLU: R(X, tY) = t R(X, Y) (rescale both layers by √t; paper §2)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    Y = rng.standard_normal((5, 2))
    r1 = _solve(X, Y, activation="relu", cost="interpolate")
    rt = _solve(X, t * Y, activation="relu", cost="interpolate")
    assert abs(rt.value - t * r1.value) <= 1e-5 * max(1.0, t * r1.value)
    assert rt.lower <= rt.value + 1e-8


def test_scs_dual_bound():
    res = _solve(np.eye(4), _tight_Y(4), activation="relu", cost="interpolate", cone="lifted", solver="SCS",
                 solver_opts={"eps_abs": 1e-7, "eps_rel": 1e-7})
    assert res.solver == "SCS" and res.lower_source == "dual"
    assert abs(res.lower - 16) <= 1e-3 * 16 and abs(res.value - 16) <= 1e-3 * 16


def test_lifted_program_refuses_what_memory_cannot_hold(monkeypatch):
    """The lifted program grows like N³ in memory (N = 100 was killed at 23 GB): beyond the
    available memory it is refused by name.  A solve uses the dual form of the same relaxation
    (size r + N, not 2N), which has its own guard: it too says why it did not run."""
    import covcone
    import covcone.cones.lifted as lifted

    monkeypatch.setattr(lifted, "available_memory", lambda: 4e7)  # 40 MB: N = 12 needs ≈ 35 MB (the dual ≈ 30 MB)
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((12, 5)), rng.standard_normal((12, 1))
    with pytest.raises(MemoryError, match="cone='lifted' with N = 12 needs"):
        solve_cone_program(X, Y, lam=0.1, beta=1.0, cone="lifted")
    res = covcone.solve(X, Y, lam=0.1, beta=1.0, method="lifted", max_rounds=3)
    assert res.lower_from == "lifted SDP dual", res.message  # the dual form fits
    assert res.lower <= res.upper
    monkeypatch.setattr(lifted, "available_memory", lambda: 1e5)
    res = covcone.solve(X, Y, lam=0.1, beta=1.0, method="lifted", max_rounds=3)
    assert "lifted SDP unavailable (the lifted dual program with N = 12 needs" in res.message
    assert res.lower_from != "lifted SDP dual" and res.lower <= res.upper
    _, seconds = lifted.lifted_resources(200)
    assert seconds > 3600  # the primal program at N = 200 (solve uses the dual form, shallow/lifted_dual.py)
