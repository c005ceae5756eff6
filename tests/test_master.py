"""The depth-2 masters against an independent cvxpy formulation of the same group lasso."""
import cvxpy as cp
import numpy as np
import pytest

from covcone.problem import Problem
from covcone.shallow.master import _ce_hessian, _ce_hessian_factor, _ce_socp_step, master_options, solve_master
from covcone.shallow.setup import GroupLassoSetup


def _ce_instance(seed, N, k, m, beta=1.0, lam=1e-2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 2))
    y = np.argmax(X @ rng.standard_normal((2, k)) + 0.5 * rng.standard_normal((N, k)), axis=1)
    y[:k] = np.arange(k)  # every class present
    setup = GroupLassoSetup(Problem(X, y, lam=lam, beta=beta, cost="cross_entropy"))
    C = rng.standard_normal((m, setup.r))
    return setup, setup.columns(C)


def _reference(setup, S, cost="cross_entropy"):
    """min C(Ŷ) + 2λ̃ Σ‖v_j‖ + λ̃_0‖c̃_0‖² written out in cvxpy, with C the mean cross-entropy
    (1/N) Σ_i [lse(ŷ_i) − ⟨y_i, ŷ_i⟩] or the MSE (1/N)‖Ŷ − Ỹ‖²."""
    N, k = setup.Ys.shape
    V = cp.Variable((S.shape[1], k))
    Yhat = S @ V
    pen = 2 * setup.lam_v * cp.sum(cp.norm(V, 2, axis=1))
    if setup.has_bias:
        c0 = cp.Variable((1, k))
        Yhat = Yhat + np.ones((N, 1)) @ c0
        pen = pen + setup.lam_0 * cp.sum_squares(c0)
    if cost == "mse":
        fit = cp.sum_squares(Yhat - setup.Ys) / N
    else:
        fit = (cp.sum(cp.log_sum_exp(Yhat, axis=1)) - cp.sum(cp.multiply(setup.Ys, Yhat))) / N
    prob = cp.Problem(cp.Minimize(fit + pen))
    tol = 1e-10 if cost == "mse" else 1e-9
    prob.solve(solver="CLARABEL", tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    return prob.value


def _objective(setup, S, V, c0):
    from scipy.special import logsumexp

    Z = S @ V + (c0[None, :] if setup.has_bias else 0.0)
    val = (np.sum(logsumexp(Z, axis=1)) - np.sum(setup.Ys * Z)) / setup.N
    val += 2 * setup.lam_v * np.sum(np.linalg.norm(V, axis=1))
    return val + (setup.lam_0 * np.sum(c0**2) if setup.has_bias else 0.0)


@pytest.mark.parametrize("seed,N,k,m,beta", [(0, 40, 2, 12, 1.0), (1, 60, 3, 20, 1.0), (2, 50, 5, 15, 0.0),
                                             (3, 80, 4, 30, 1.0)])
def test_cross_entropy_newton_master_matches_the_exponential_cone_program(seed, N, k, m, beta):
    setup, S = _ce_instance(seed, N, k, m, beta=beta)
    V, c0, Theta, status = solve_master(setup, S, "CLARABEL", None)
    assert status == "optimal"
    ref = _reference(setup, S)
    val = _objective(setup, S, V, c0)
    assert val <= ref + 1e-9 * abs(ref)  # at least as good as the conic solve
    assert val >= ref - 1e-7 * abs(ref)  # and not below the optimum (the conic solve is accurate)
    # Θ̃ is the residual of the returned point, and the optimality conditions hold on it
    from scipy.special import softmax

    Z = S @ V + (c0[None, :] if setup.has_bias else 0.0)
    assert np.allclose(Theta, (setup.Ys - softmax(Z, axis=1)) / N, atol=1e-15)
    g = np.linalg.norm(S.T @ Theta, axis=1)
    assert g.max() <= 2 * setup.lam_v * (1 + 1e-5)
    # a warm start from the solution returns it
    V2, c02, _, status2 = solve_master(setup, S, "CLARABEL", None, warm=(V, c0))
    assert status2 == "optimal" and _objective(setup, S, V2, c02) <= val + 1e-12 * abs(val)


def test_cross_entropy_hessian_by_finite_differences():
    rng = np.random.default_rng(5)
    N, nf, k = 30, 4, 3
    F = rng.standard_normal((N, nf))
    E = np.linalg.qr(np.eye(k) - 1.0 / k)[0][:, : k - 1]
    Wt = rng.standard_normal((nf, k - 1))

    def grad(Wx):
        from scipy.special import softmax

        P = softmax(F @ Wx @ E.T, axis=1)
        return (F.T @ P @ E / N).ravel()

    from scipy.special import softmax

    H = _ce_hessian(F, softmax(F @ Wt @ E.T, axis=1), E, N)
    h = 1e-6
    num = np.column_stack([(grad(Wt + h * d.reshape(Wt.shape)) - grad(Wt - h * d.reshape(Wt.shape))) / (2 * h)
                           for d in np.eye(Wt.size)])
    assert np.allclose(H, num, atol=1e-8)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_cross_entropy_hessian_factor_reproduces_the_hessian(k):
    from scipy.special import softmax

    rng = np.random.default_rng(k)
    N, nf = 6, 11
    F = rng.standard_normal((N, nf))
    E = np.linalg.qr(np.eye(k) - 1.0 / k)[0][:, : k - 1]
    P = softmax(3.0 * rng.standard_normal((N, k)), axis=1)
    L = _ce_hessian_factor(F, P, E, N)
    assert L.shape == (N * (k - 1), nf * (k - 1))
    assert np.allclose(L.T @ L, _ce_hessian(F, P, E, N), atol=1e-14)


@pytest.mark.parametrize("bias", [False, True])
def test_cross_entropy_socp_step_is_the_same_through_the_factor(bias):
    """The proximal Newton step stated through ``H = LᵀL`` (+ the bias's ``2λ_0``) is the step of
    the dense quadratic form."""
    import clarabel
    from scipy.special import softmax

    rng = np.random.default_rng(7 + bias)
    N, k, m = 5, 3, 9
    kr = k - 1
    E = np.linalg.qr(np.eye(k) - 1.0 / k)[0][:, :kr]
    F = rng.standard_normal((N, m + bias))
    Wt = 0.3 * rng.standard_normal((m + bias, kr))
    Wt[2] = 0.0
    P = softmax(F @ Wt @ E.T, axis=1)
    Y = np.eye(k)[rng.integers(0, k, N)]
    grad = (-(F.T @ ((Y - P) / N)) @ E).ravel()
    H = _ce_hessian(F, P, E, N)
    lam_0 = 0.05
    if bias:
        H[m * kr :, m * kr :] += 2 * lam_0 * np.eye(kr)
        grad[m * kr :] += 2 * lam_0 * Wt[m]
    ws = np.arange(m)
    rows = np.concatenate([ws, [m]]) if bias else ws
    nv = np.linalg.norm(Wt[:m], axis=1)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-11
    D1, D2 = np.zeros_like(Wt), np.zeros_like(Wt)
    dec1 = _ce_socp_step(H, grad, Wt.ravel(), Wt, rows, ws, m, kr, 0.02, nv, D1, settings, "test")
    dec2 = _ce_socp_step(H, grad, Wt.ravel(), Wt, rows, ws, m, kr, 0.02, nv, D2, settings, "test",
                         L=_ce_hessian_factor(F, P, E, N), lam_0=lam_0 if bias else None)

    def model(D):  # the step's objective: the quadratic model plus the group penalty
        d = D[rows].ravel()
        return 0.5 * d @ H @ d + grad @ d + 0.02 * np.sum(np.linalg.norm((Wt + D)[:m], axis=1))

    assert dec1 < 0 and dec2 < 0
    # the step minimises the same model (the minimiser itself is not unique: H has rank N·kr < m·kr)
    assert model(D2) == pytest.approx(model(D1), rel=1e-8, abs=1e-12)
    assert model(D1) < model(np.zeros_like(Wt))


def test_cross_entropy_master_with_more_columns_than_points_matches_the_exponential_cone_program():
    setup, S = _ce_instance(4, 8, 3, 40)
    V, c0, Theta, status = solve_master(setup, S, "CLARABEL", None)
    assert status == "optimal"
    ref = _reference(setup, S)
    assert _objective(setup, S, V, c0) == pytest.approx(ref, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("seed,N,m", [(7, 30, 40), (8, 8, 40)])
def test_cross_entropy_master_with_few_columns_entering_per_step_matches(seed, N, m):
    """Columns enter the working set a few at a time (``max_enter``; the rest are tested again at
    the next step): the same optimum as the exponential-cone program, status "optimal"."""
    from covcone.shallow.master import _master_ce_newton

    setup, S = _ce_instance(seed, N, 3, m)
    V, c0, Theta, status = _master_ce_newton(setup, S, None, max_enter=4)
    assert status == "optimal"
    assert _objective(setup, S, V, c0) == pytest.approx(_reference(setup, S), rel=1e-7, abs=1e-9)


def test_cross_entropy_master_stops_at_its_time_limit():
    """``time_limit`` in the solver options bounds the whole Newton method (not each SOCP step):
    past it the iterate is returned as "optimal_inaccurate" — here the warm start itself — and
    with time to spare the same call is optimal."""
    from covcone.shallow.master import _master_ce_newton

    setup, S = _ce_instance(8, 30, 3, 40)
    warm = (np.full((40, 3), 0.01), np.zeros(3))
    V, c0, Theta, status = _master_ce_newton(setup, S, {"time_limit": 1e-9}, warm)
    assert status == "optimal_inaccurate"
    assert np.allclose(V, warm[0] - warm[0].mean(axis=1, keepdims=True), atol=1e-15)  # outputs live in 1⊥
    V, c0, Theta, status = _master_ce_newton(setup, S, {"time_limit": 600.0}, warm)
    assert status == "optimal"
    assert _objective(setup, S, V, c0) == pytest.approx(_reference(setup, S), rel=1e-7, abs=1e-9)


def test_cross_entropy_master_falls_back_to_the_exponential_cone_program(monkeypatch):
    import covcone.shallow.master as master
    from covcone.exceptions import SolverError

    setup, S = _ce_instance(4, 30, 3, 10)

    def broken(*a, **k):
        raise SolverError("Newton step failed (test)")

    monkeypatch.setattr(master, "_master_ce_newton", broken)
    V, c0, Theta, status = solve_master(setup, S, "CLARABEL", None)
    assert status in ("optimal", "optimal_inaccurate")
    assert _objective(setup, S, V, c0) == pytest.approx(_reference(setup, S), rel=1e-6)


@pytest.mark.parametrize("seed,k,beta", [(0, 1, 1.0), (1, 1, 0.0), (2, 3, 1.0), (3, 3, 0.0)])
def test_mse_master_is_exact_on_a_degenerate_support(seed, k, beta):
    """More columns than points (the optimum's weights are not unique, its predictions are): at
    a certificate tolerance of 1e-9 the polished master meets the optimality conditions on every
    column to 1e-10, reports "optimal", and its objective is not above an independent accurate
    cvxpy solve."""
    rng = np.random.default_rng(seed)
    N, m = 8, 30
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, k))
    setup = GroupLassoSetup(Problem(X, Y, lam=1e-2, beta=beta, cost="mse"))
    S = setup.columns(rng.standard_normal((m, setup.r)))
    V, c0, Theta, status = solve_master(setup, S, "CLARABEL", master_options("CLARABEL", None, 1e-9))
    assert status == "optimal"
    Z = S @ V + (c0[None, :] if setup.has_bias else 0.0)
    assert np.allclose(Theta, 2.0 / N * (setup.Ys - Z), atol=1e-15)
    lam2 = 2 * setup.lam_v
    g = np.linalg.norm(S.T @ Theta, axis=1)
    assert g.max() <= lam2 * (1 + 1e-10)
    on = np.linalg.norm(V, axis=1) > 0
    assert np.linalg.norm(S[:, on].T @ Theta - lam2 * V[on] / np.linalg.norm(V[on], axis=1)[:, None]) <= 1e-9 * lam2
    Vc = cp.Variable((m, k))
    Yhat = S @ Vc
    pen = lam2 * cp.sum(cp.norm(Vc, 2, axis=1))
    if setup.has_bias:
        cc = cp.Variable((1, k))
        Yhat = Yhat + np.ones((N, 1)) @ cc
        pen = pen + setup.lam_0 * cp.sum_squares(cc)
    ref = cp.Problem(cp.Minimize(cp.sum_squares(Yhat - setup.Ys) / N + pen)).solve(solver="CLARABEL")
    val = np.sum((Z - setup.Ys) ** 2) / N + lam2 * np.sum(np.linalg.norm(V, axis=1))
    val += setup.lam_0 * np.sum(c0**2) if setup.has_bias else 0.0
    assert ref - 1e-7 * abs(ref) <= val <= ref + 1e-12 * abs(ref)


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
def test_proof_floor_is_the_largest_pricing_bound_that_still_certifies(cost):
    """An exact oracle call only has to prove m ≤ proof_floor: at that bound the weak-duality
    bound of the master's dual point is within half the certificate's room of the best network,
    a little above it it is not, and when the best network is 10 % above what the dual point can
    prove the floor stays at 2λ̃."""
    from types import SimpleNamespace

    from covcone.shallow.bounds import internal_bound
    from covcone.shallow.colgen import proof_floor

    rng = np.random.default_rng(4)
    N, k = 40, 2
    X = rng.standard_normal((N, 3))
    Y = rng.standard_normal((N, k)) if cost == "mse" else rng.integers(0, k, N)
    setup = GroupLassoSetup(Problem(X, Y, lam=1e-2, beta=1.0, cost=cost))
    C = rng.standard_normal((15, setup.r))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    V, c0, Theta, _ = solve_master(setup, setup.columns(C), "CLARABEL", master_options("CLARABEL", None, 1e-9, cost))
    upper = setup.loss(setup.network(C, V, c0))
    thr, rtol = 2 * setup.lam_v, 1e-6
    run = SimpleNamespace(threshold=thr, best=(upper,), setup=setup, rtol=rtol, atol=0.0)
    floor = proof_floor(run, Theta)
    target = upper - 0.5 * rtol * abs(upper)

    def lb_user(m_bar):
        return setup.to_user(internal_bound(setup, Theta, m_bar)[0])

    assert floor > thr  # the master's own dual point certifies its network with m̄ a little above 2λ̃
    assert lb_user(floor) >= target
    assert lb_user(floor + 0.02 * (floor - thr) + 1e-12 * thr) < target or floor >= 2 * thr * (1 - 1e-12)
    poor = SimpleNamespace(threshold=thr, best=(upper * 1.1,), setup=setup, rtol=rtol, atol=0.0)
    assert proof_floor(poor, Theta) == thr


def test_sparsity_slack_outside_and_inside_the_certificate_room():
    """A tenth of the room when no certificate is at stake (gap beyond the room: a time limit);
    never more than half the room left when the bounds are within it."""
    from covcone.shallow.recovery import sparsity_slack

    assert sparsity_slack(1.0, 0.5, 1e-6) == pytest.approx(1e-7)
    assert sparsity_slack(1.0, -np.inf, 1e-6) == pytest.approx(1e-7)
    assert sparsity_slack(1.0, 1.0 - 0.9e-6, 1e-6) == pytest.approx(0.05e-6)
    assert sparsity_slack(1.0, 1.0, 1e-6) == pytest.approx(1e-7)
    assert sparsity_slack(1.0, 0.5, 0.5) == 0.0  # gap = room exactly: certified, no slack left
    assert sparsity_slack(np.inf, 0.0, 1e-6) == 0.0


@pytest.mark.parametrize("seed,k", [(0, 1), (1, 2), (2, 1)])
def test_recovery_far_from_a_certificate_returns_at_most_N_k_neurons(seed, k):
    """An interior-point master over 4N columns spreads weight over all of them; with a lower
    bound far below (no certificate possible) recovery still returns the Carathéodory-reduced
    network (at most N·k neurons: rank of the atoms), whose forward-pass loss is within a tenth
    of the room of the best candidate's."""
    from covcone.shallow.recovery import recover

    rng = np.random.default_rng(seed)
    N = 15
    X = rng.standard_normal((N, 3))
    Y = rng.standard_normal((N, k))
    setup = GroupLassoSetup(Problem(X, Y, lam=1e-3, beta=1.0, cost="mse"))
    C = rng.standard_normal((4 * N, setup.r))
    C /= np.linalg.norm(C, axis=1)[:, None]
    V, c0, _, _ = solve_master(setup, setup.columns(C), "CLARABEL", None)
    raw = setup.loss(setup.network(C, V, c0))
    net, upper = recover(setup, C, V, c0, lower_user=0.5 * raw, rtol=1e-6, atol=0.0, solver="CLARABEL",
                         solver_opts=None)
    assert net.widths[1] <= N * k
    assert upper == pytest.approx(setup.loss(net), rel=1e-12)
    assert upper <= raw * (1 + 1.0001e-7)


def _mse_objective_of(setup, S, V, c0):
    R = S @ V + (c0[None, :] if setup.has_bias else 0.0) - setup.Ys
    pen = 2 * setup.lam_v * np.sum(np.linalg.norm(V, axis=1)) + (setup.lam_0 * np.sum(c0**2) if setup.has_bias else 0)
    return float(np.sum(R**2)) / setup.N + pen


@pytest.mark.parametrize("seed, k, beta", [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 0.0), (3, 1, 0.5)])
def test_active_set_master_matches_the_conic_program(seed, k, beta):
    """The active-set Newton master, warm-started from a master on a subset of the columns (as
    column generation does), reaches the optimum of an independent cvxpy program, and its Θ̃ is
    the residual's (2/N)(Ỹ − Ŷ) with every optimality condition to ~1e-11."""
    from covcone.shallow.master import _master_active_set

    rng = np.random.default_rng(seed)
    N = 40
    X = rng.standard_normal((N, 2))
    Y = np.tanh(X @ rng.standard_normal((2, k))) + 0.1 * rng.standard_normal((N, k))
    setup = GroupLassoSetup(Problem(X, Y, lam=1e-3, beta=beta))
    C = rng.standard_normal((70, setup.r))
    S = setup.columns(C)
    V0, c00, _, _ = solve_master(setup, S[:, :30], "CLARABEL", None)
    out = _master_active_set(setup, S, (V0, c00))
    assert out is not None
    V, c0, Theta, status = out
    assert status == "optimal"
    ref = _reference(setup, S, cost="mse")
    assert _mse_objective_of(setup, S, V, c0) == pytest.approx(ref, rel=1e-8)
    assert np.allclose(Theta, 2.0 / N * (setup.Ys - S @ V - (c0 if setup.has_bias else 0.0)))
    gn = np.linalg.norm(S.T @ Theta, axis=1)
    assert gn.max() <= 2 * setup.lam_v * (1 + 1e-9)  # no column prices out of the master


def test_solve_with_the_active_set_master_equals_the_interior_point_path():
    """The same certified optimum with the default master (active set) and with the interior
    point only (the user's own Clarabel settings switch the active set off)."""
    import covcone

    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 2))
    Y = np.abs(X[:, :1]) - X[:, 1:] + 0.1 * rng.standard_normal((30, 1))
    a = covcone.solve(X, Y, lam=1e-2, rng=0)
    b = covcone.solve(X, Y, lam=1e-2, rng=0, solver="CLARABEL", solver_opts={"max_iter": 200})
    assert a.certified and b.certified
    assert a.upper == pytest.approx(b.upper, rel=2e-6)
    assert a.lower <= b.upper * (1 + 1e-12) and b.lower <= a.upper * (1 + 1e-12)
