"""Depth-2 solver: certificates checked against independent programs and brute force."""
import itertools

import cvxpy as cp
import numpy as np
import pytest

import covcone
from covcone.shallow import dual_bound, reduce_atoms


def _patterns_1d(x, beta):
    """All ReLU activation patterns of w·[x_i, β] (1-D inputs with bias): thresholds."""
    N = len(x)
    pats = set()
    A = np.stack([x, beta * np.ones(N)], axis=1)
    for ang in np.linspace(0, 2 * np.pi, 20001):
        w = np.array([np.cos(ang), np.sin(ang)])
        pats.add(tuple((A @ w >= 0).astype(int)))
    # exact breakpoints: directions orthogonal to each row
    for i in range(N):
        for sgn in (1, -1):
            w = sgn * np.array([-A[i, 1], A[i, 0]])
            for eps in (1e-7, -1e-7):
                rot = np.array([[np.cos(eps), -np.sin(eps)], [np.sin(eps), np.cos(eps)]])
                pats.add(tuple((A @ (rot @ w) >= 0).astype(int)))
    return A, [np.array(p) for p in pats if any(p)]


def _patterns_sampled(A, rng, n=200000):
    W = rng.standard_normal((A.shape[1], n))
    P = (A @ W >= 0).astype(np.int8)
    return [np.array(p) for p in {tuple(col) for col in P.T} if any(p)]


def pilanci_ergen(A, y, pats, lam, beta):
    """Independent convex program (Pilanci & Ergen 2020) with our scaling:
    (1/N)‖Σ D_i A(v_i − w_i) + β c0 − y‖² + 2λ Σ(‖v_i‖ + ‖w_i‖) + λ c0²."""
    N, dp = A.shape
    P = len(pats)
    V = cp.Variable((P, dp))
    Wv = cp.Variable((P, dp))
    c0 = cp.Variable()
    pred = 0
    cons = []
    for i, p in enumerate(pats):
        D = np.diag(p.astype(float))
        pred = pred + D @ A @ (V[i] - Wv[i])
        G = (2 * D - np.eye(N)) @ A
        cons += [G @ V[i] >= 0, G @ Wv[i] >= 0]
    pred = pred + beta * c0
    obj = cp.sum_squares(pred - y) / N + 2 * lam * (cp.sum(cp.norm(V, 2, axis=1)) + cp.sum(cp.norm(Wv, 2, axis=1)))
    if beta > 0:
        obj = obj + lam * cp.square(c0)
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pilanci_ergen_1d_with_bias(seed):
    rng = np.random.default_rng(seed)
    N, lam = 10, 0.02
    x = np.sort(rng.uniform(-2, 2, N))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(N)
    res = covcone.solve(x[:, None], y[:, None], activation="relu", lam=lam, beta=1.0, cost="mse", tol=1e-9)
    assert res.certified, res.message
    A, pats = _patterns_1d(x, 1.0)
    pe = pilanci_ergen(A, y, pats, lam, 1.0)
    assert res.upper == pytest.approx(pe, rel=1e-6)
    assert res.lower <= res.upper


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_pilanci_ergen_2d_with_bias(seed):
    rng = np.random.default_rng(seed)
    N, lam = 8, 0.01
    X = rng.standard_normal((N, 2))
    y = np.tanh(X @ np.array([1.0, -1.5])) + 0.1 * rng.standard_normal(N)
    res = covcone.solve(X, y[:, None], activation="relu", lam=lam, beta=1.0, cost="mse", tol=1e-9)
    assert res.certified, res.message
    A = np.hstack([X, np.ones((N, 1))])
    pats = _patterns_sampled(A, rng)
    pe = pilanci_ergen(A, y, pats, lam, 1.0)
    # sampled patterns can only miss some: PE ≥ optimum; with 2e5 samples on N = 8 it is exact
    assert res.upper == pytest.approx(pe, rel=1e-6)


def _dense_search(X, Y, lam, rng, rounds=4):
    """Inner approximation by a dense, locally refined set of neuron directions: a group lasso
    over fixed unit first-layer weights (an upper bound on the optimum that tightens with
    refinement), independent of covcone's oracle and master."""
    N = X.shape[0]
    A = np.hstack([X, np.ones((N, 1))])
    dirs = rng.standard_normal((3000, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    value = np.inf
    for r in range(rounds):
        S = np.maximum(A @ dirs.T, 0)
        Vv = cp.Variable((dirs.shape[0], Y.shape[1]))
        c0 = cp.Variable((1, Y.shape[1]))
        pred = S @ Vv + np.ones((N, 1)) @ c0
        obj = cp.sum_squares(pred - Y) / N + 2 * lam * cp.sum(cp.norm(Vv, 2, axis=1)) + lam * cp.sum_squares(c0)
        value = cp.Problem(cp.Minimize(obj)).solve(solver="CLARABEL")
        active = dirs[np.linalg.norm(Vv.value, axis=1) > 1e-6]
        scale = 0.1 / 4**r
        near = (active[:, None, :] + scale * rng.standard_normal((active.shape[0], 300, 3))).reshape(-1, 3)
        dirs = np.vstack([active, near / np.linalg.norm(near, axis=1, keepdims=True)])
    return value


def test_brute_force_tiny_vector_outputs():
    """N = 4, 2-D inputs with bias, k = 2: a refined dense search agrees with the certificate."""
    rng = np.random.default_rng(3)
    N, lam = 4, 0.05
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, 2))
    res = covcone.solve(X, Y, activation="relu", lam=lam, beta=1.0, cost="mse", tol=1e-8)
    assert res.certified
    dense = _dense_search(X, Y, lam, rng)
    # the dense search is an inner approximation: never below the certified lower bound
    assert res.lower <= dense + 1e-8
    assert dense <= res.upper * (1 + 1e-5)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu:0.2", "absolute", "linear"])
def test_every_activation_certified_and_reproduced(activation):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal((12, 2))
    res = covcone.solve(X, Y, activation=activation, lam=0.02, beta=1.0, tol=1e-6)
    assert res.certified, res.message
    assert res.network.loss(X, Y, lam=0.02) == pytest.approx(res.upper, rel=1e-9)
    assert res.lower <= res.upper + 1e-12


def test_linear_activation_closed_form():
    """σ linear: min (1/N)‖W A − Y‖² + 2λ‖W‖_* (nuclear norm), solved independently."""
    rng = np.random.default_rng(11)
    N, lam = 15, 0.05
    X = rng.standard_normal((N, 3))
    Y = X @ rng.standard_normal((3, 2)) + 0.3 * rng.standard_normal((N, 2))
    res = covcone.solve(X, Y, activation="linear", lam=lam, beta=0.0, tol=1e-7)
    assert res.certified
    W = cp.Variable((3, 2))
    ref = cp.Problem(cp.Minimize(cp.sum_squares(X @ W - Y) / N + 2 * lam * cp.normNuc(W))).solve(solver="CLARABEL")
    assert res.upper == pytest.approx(ref, rel=1e-6)


def test_interpolation_1d_relu():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(-1, 1, 6))
    y = rng.standard_normal(6)
    res = covcone.solve(x[:, None], y[:, None], activation="relu", beta=1.0, cost="interpolate", tol=1e-6)
    assert res.certified, res.message
    assert np.allclose(res.network.forward(x[:, None])[:, 0], y, atol=1e-6)
    assert res.network.loss(x[:, None], y[:, None], cost="interpolate") == pytest.approx(res.upper, rel=1e-9)


def test_cross_entropy_certified():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((14, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    res = covcone.solve(X, labels, activation="relu", lam=0.01, beta=1.0, cost="cross_entropy", tol=1e-5)
    assert res.certified, res.message
    assert res.network.loss(X, labels, lam=0.01, cost="cross_entropy") == pytest.approx(res.upper, rel=1e-9)


def test_any_dimension_exact_oracle():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 6))
    Y = rng.standard_normal((8, 1))
    res = covcone.solve(X, Y, activation="relu", lam=0.05, beta=1.0, tol=1e-6)
    assert res.certified, res.message
    assert "exact" in res.method


@pytest.mark.parametrize("seed", range(8))
def test_lower_never_above_upper(seed):
    rng = np.random.default_rng(100 + seed)
    N = int(rng.integers(4, 15))
    d = int(rng.integers(1, 3))
    k = int(rng.integers(1, 3))
    X = rng.standard_normal((N, d))
    Y = rng.standard_normal((N, k))
    lam = float(10 ** rng.uniform(-3, -1))
    res = covcone.solve(X, Y, activation="relu", lam=lam, beta=float(rng.integers(0, 2)), tol=1e-6, rng=seed)
    assert res.lower <= res.upper + 1e-9 * max(1, abs(res.upper))
    assert res.network.loss(X, Y, lam=lam) == pytest.approx(res.upper, rel=1e-9)
    assert res.certified, res.message
    assert res.n_neurons <= N * k


def test_dual_bound_mse_at_optimum_of_trivial_problem():
    # Y = 0: optimum 0, Θ = 0 gives bound 0
    lb, _ = dual_bound(np.zeros((3, 1)), 0.0, np.zeros((3, 1)), cost="mse", lam=0.1, beta=1.0)
    assert lb == 0.0


def test_reduce_atoms_keeps_outputs_and_penalty():
    rng = np.random.default_rng(0)
    S = np.maximum(rng.standard_normal((5, 30)), 0)
    V = rng.standard_normal((30, 2)) * (rng.random((30, 1)) < 0.8)
    keep, Vn = reduce_atoms(S, V)
    assert len(keep) <= 5 * 2
    assert np.allclose(S[:, keep] @ Vn, S @ V, atol=1e-9)
    assert np.linalg.norm(Vn, axis=1).sum() <= np.linalg.norm(V, axis=1).sum() + 1e-9


def test_bad_inputs_named():
    X = np.zeros((5, 2))
    Y = np.zeros((5, 1))
    with pytest.raises(ValueError, match="lam"):
        covcone.solve(X, Y, lam=-1.0)
    with pytest.raises(ValueError, match="method"):
        covcone.solve(X, Y, lam=0.1, method="magic")
    with pytest.raises(ValueError, match="solver"):
        covcone.solve(X, Y, lam=0.1, solver="NOPE")
    with pytest.raises(ValueError, match="solver"):
        covcone.solve(X, Y, lam=0.1, solver="MOSEK")
    with pytest.raises(ValueError, match="tol"):
        covcone.solve(X, Y, lam=0.1, tol=0)
    with pytest.raises(ValueError, match="unknown option"):
        covcone.solve(X, Y, lam=0.1, bogus=3)
    with pytest.raises(ValueError, match="activation"):
        covcone.solve(X, Y, lam=0.1, activation="sigmoid")


def test_time_limit_is_reported():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((60, 2))
    Y = rng.standard_normal((60, 2))
    res = covcone.solve(X, Y, lam=1e-4, beta=1.0, time_limit=1e-3)
    assert res.lower <= res.upper
    if not res.certified:
        assert "time limit" in res.message


def test_certify_a_perturbed_optimum():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((10, 2))
    Y = rng.standard_normal((10, 1))
    res = covcone.solve(X, Y, lam=0.02, beta=1.0)
    W1, W2 = res.network.weights
    worse = covcone.Network([W1 * 1.05, W2], "relu", 1.0)
    cert = covcone.certify(worse, X, Y, lam=0.02)
    assert cert.loss == pytest.approx(worse.loss(X, Y, lam=0.02), rel=1e-12)
    assert cert.optimum == pytest.approx(res.upper, rel=1e-6)
    assert cert.lower <= cert.loss
    assert cert.gap >= 0
    assert not cert.is_global
    cert2 = covcone.certify(res.network, X, Y, lam=0.02)
    assert cert2.is_global


def test_heuristic_and_lifted_methods_are_honest():
    """Input rank 4 with N = 16 is now exact (vertices of the arrangement / branch and bound);
    rank 11 with N = 24 is beyond every exact enumeration: bounds must stay valid and say so."""
    from covcone.oracle import oracle_path

    rng = np.random.default_rng(21)
    X = rng.standard_normal((16, 3))
    Y = rng.standard_normal((16, 1))
    exact = covcone.solve(X, Y, lam=0.05, beta=1.0)
    assert exact.certified and "exact" in exact.method, exact.message
    X = rng.standard_normal((24, 10))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((24, 1))
    assert oracle_path(11, 24) == "branch and bound"
    res = covcone.solve(X, Y, lam=0.05, beta=1.0, lifted_max_n=24, oracle_time=1.0, gradient_starts=0, max_rounds=20)
    assert res.lower <= res.upper + 1e-9
    if not res.certified:
        assert "NOT certified" in res.message and "not affordable" in res.message
    assert res.lower_from in ("lifted SDP dual", "oracle-bound dual", "spectral dual", "trivial (loss ≥ 0)",
                              "exact-oracle dual")
    heur = covcone.solve(X, Y, lam=0.05, beta=1.0, method="heuristic", gradient_starts=0, max_rounds=20)
    assert heur.lower_from != "lifted SDP dual" and heur.lower <= heur.upper
    assert heur.lower_from != "exact-oracle dual"


def test_scs_solver_result_is_consistent():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((10, 2))
    Y = rng.standard_normal((10, 1))
    ref = covcone.solve(X, Y, lam=0.02, beta=1.0)
    res = covcone.solve(X, Y, lam=0.02, beta=1.0, solver="SCS", tol=1e-4)
    assert res.solver == "SCS"
    assert res.lower <= ref.upper + 1e-6  # a valid bound never exceeds the true optimum
    assert res.upper >= ref.lower - 1e-9  # and no network beats the certified optimum
    assert res.network.loss(X, Y, lam=0.02) == pytest.approx(res.upper, rel=1e-12)


def test_vector_outputs_n20_equals_cell_sdp_and_lifted_is_below():
    """Issue 3 acceptance: k = 3, 2-D inputs with bias, N = 20."""
    from covcone.sdp import solve_cone_program

    rng = np.random.default_rng(20)
    X = rng.standard_normal((20, 2))
    Y = np.stack([np.sin(X[:, 0]), np.cos(X[:, 1]), X[:, 0] * X[:, 1]], axis=1) + 0.05 * rng.standard_normal((20, 3))
    lam = 0.01
    res = covcone.solve(X, Y, lam=lam, beta=1.0, tol=1e-7)
    assert res.certified, res.message
    cells = covcone.solve(X, Y, lam=lam, beta=1.0, method="cells", tol=1e-6)
    assert cells.network.loss(X, Y, lam=lam) == pytest.approx(cells.upper, rel=1e-12)
    assert res.upper == pytest.approx(cells.upper, rel=1e-6)
    assert cells.lower <= res.upper + 1e-6
    lifted = solve_cone_program(X, Y, activation="relu", lam=lam, beta=1.0, cost="mse", cone="lifted")
    assert lifted.lower < res.lower  # the lifted relaxation is not tight here (the measurements in benchmarks/README.md)


def test_master_failure_after_the_first_round_keeps_the_bounds(monkeypatch):
    """A master that fails in a later round (extreme data) stops the solve with the best network
    and the bound proven so far, visible on the result — not a traceback."""
    import covcone.shallow.colgen as colgen
    from covcone.exceptions import SolverError

    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 2))
    Y = np.maximum(X @ np.array([1.0, -1.0]) + 0.3, 0) + 0.1 * rng.standard_normal(30)
    real = colgen.solve_master
    calls = []

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise SolverError("depth-2 master (group lasso, 40 neurons): solver CLARABEL failed: test")
        return real(*args, **kw)

    monkeypatch.setattr(colgen, "solve_master", flaky)
    res = covcone.solve(X, Y, lam=1e-3, rng=0)
    assert len(calls) == 3
    assert res.solver_status == "failed" and not res.certified
    assert "master solver failed in round 3" in res.message
    assert res.lower <= res.upper
    assert res.upper == pytest.approx(res.network.loss(X, Y, lam=1e-3), rel=1e-12)

    calls.clear()
    monkeypatch.setattr(colgen, "solve_master", lambda *a, **k: (_ for _ in ()).throw(SolverError("first")))
    with pytest.raises(SolverError, match="first"):
        covcone.solve(X, Y, lam=1e-3, rng=0)


def test_duplicate_columns_are_not_added_again():
    from covcone.shallow.setup import distinct_from

    C = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])
    new = np.array([[2.0, 0.0, 0.0], [0.0, 0.6, 0.8 + 1e-3], [0.0, -0.6, -0.8], [0.0, 3.0, 4.0]])
    assert distinct_from(new, C).tolist() == [False, True, True, False]
    assert distinct_from(new, np.zeros((0, 3))).all()


def test_small_lambda_master_tightened_instead_of_stopping():
    """λ = 1e-6 on 20 points: at the default master accuracy (interior-point gaps 1e-8) the loop
    stopped on "the master's accuracy limits the pricing" with a gap of 1.06e-6 > rtol.  Now the
    master's objective is of order one (absolute tolerances become relative ones) and, before
    such a stop, the master is asked once for its limit (gaps 1e-10 and the Newton finish): on
    six seeds at least four solves are certified, and any that is not says it tightened first;
    the bounds are checked against the independent forward pass."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    y = rng.standard_normal(20)
    certified = 0
    for seed in range(6):
        res = covcone.solve(X, y, lam=1e-6, rng=seed)
        certified += res.status == "certified"
        assert res.status == "certified" or "master tolerances tightened" in res.message, res.message
        assert res.network.loss(X, y[:, None], lam=1e-6) == pytest.approx(res.upper, rel=1e-12)
        assert res.lower <= res.upper
    assert certified >= 4


def test_near_interpolation_says_so():
    """λ/(s_X·s_Y) ≈ 1e-15 (data in units of 1e6): no certificate is within an interior point's
    reach; the result says why and points to cost='interpolate'."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2)) * 1e6
    y = rng.standard_normal(20) * 1e6
    res = covcone.solve(X, y, lam=1e-2)
    if res.status != "certified":
        assert "close to interpolation" in res.message and "cost='interpolate'" in res.message
    assert res.lower <= res.upper


def test_master_solves_get_the_time_left(monkeypatch):
    """Each interior-point master is one solver call that can take minutes on a deep block
    (N = 178, k = 58, 624 columns: 52 s); with a time limit it gets the time that is left
    (Clarabel's own time_limit), and a user's explicit time_limit setting is kept."""
    from covcone.shallow import colgen

    seen = []
    real = colgen.solve_master

    def spy(setup, S, solver, opts, **kw):
        seen.append(dict(opts or {}))
        return real(setup, S, solver, opts, **kw)

    monkeypatch.setattr(colgen, "solve_master", spy)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((15, 2)), rng.standard_normal(15)
    covcone.solve(X, y, lam=1e-2, time_limit=30.0)
    assert seen and all(0 < o["time_limit"] <= 30.0 for o in seen)
    seen.clear()
    covcone.solve(X, y, lam=1e-2, time_limit=30.0, solver_opts={"time_limit": 100.0})
    assert seen and all(o["time_limit"] == 100.0 for o in seen)
    seen.clear()
    covcone.solve(X, y, lam=1e-2)
    assert seen and all("time_limit" not in o for o in seen)


def test_heuristic_method_never_runs_the_branch_and_bound(monkeypatch):
    """``method="heuristic"`` is the heuristic oracle only: when it finds nothing to add it stops
    pricing instead of spending the anytime budget (10 s a round) in the branch and bound."""
    import covcone.oracle as oracle

    def forbidden(*args, **kwargs):
        raise AssertionError("branch and bound called under method='heuristic'")

    monkeypatch.setattr(oracle, "bnb_group", forbidden)
    rng = np.random.default_rng(21)
    X = rng.standard_normal((24, 8))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((24, 1))
    res = covcone.solve(X, Y, lam=0.05, beta=1.0, method="heuristic", gradient_starts=0, max_rounds=20, rng=0)
    assert res.lower <= res.upper and not res.certified


def test_time_limit_that_leaves_the_last_pricing_unproven_is_named(monkeypatch):
    """When the time runs out just as the rounds need an exact pricing call (input rank ≥ 4), the
    heuristic's unproven bound ends the loop: the message names the time limit as the reason, and
    the step says why no exact call ran."""
    from covcone.shallow import colgen
    from covcone.shallow.pricing import Pricing

    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 4))
    Y = np.tanh(X @ rng.standard_normal((4, 1)))
    state = {"out": False, "steps": []}
    original = Pricing.round

    def round_then_out_of_time(self, Theta, it, *, threshold, time_left=None, **kw):
        step = original(self, Theta, it, threshold=threshold, time_left=time_left, **kw)
        if not step.exact or np.any(step.values > threshold * (1 + 1e-12)):
            return step
        state["out"] = True  # the exact call that would certify finds no time left: the round again
        step = original(self, Theta, it, threshold=threshold, time_left=0.0, **kw)
        state["steps"].append(step)
        return step

    monkeypatch.setattr(Pricing, "round", round_then_out_of_time)
    monkeypatch.setattr(colgen._Run, "time_left", lambda self: -1.0 if state["out"] else 1e6)
    res = covcone.solve(X, Y, lam=1e-2, beta=1.0, time_limit=600, rng=0)
    assert state["steps"], res.message
    step = state["steps"][-1]
    assert not step.exact and step.stats.get("budget") == "no time left for an exact call", (step.method, step.stats)
    assert res.status == "bounded"
    assert "time limit of 600 s reached; no neuron prices out by the heuristic oracle" in res.message


def test_input_rank_4_with_more_than_646_points_solves():
    """Input rank ≥ 4 and N ≥ 647 (where 3.0**N overflows a float, which once ended every such
    solve with an OverflowError): a valid result at the time limit."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 3))
    Y = np.tanh(X @ rng.standard_normal((3, 1)))
    res = covcone.solve(X, Y, lam=1e-2, beta=1.0, time_limit=5, rng=0)
    assert res.status in ("bounded", "certified") and res.extra["input_rank"] == 4
    assert 0.0 <= res.lower <= res.upper
    assert res.upper == pytest.approx(res.network.loss(X, Y, lam=1e-2), rel=1e-12)
