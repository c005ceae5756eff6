r"""Tests of covcone.deep: block-coordinate sweeps for depth L ≥ 3 (paper Prop. 5, docs/design.md §2).

Closed form: for linear σ, β = 0 and X = I the representation cost of a depth-L linear network
is R(Y; L) = L Σ_i s_i(Y)^{2/L}; the solver must reach it (it does not special-case linear σ).
"""
from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import covcone
from covcone.deep import (AUTO_GRADIENT_STARTS, _balance, _linear_init, initial_network, polish, solve_block,
                          solve_deep)
from covcone.network import Network
from covcone.problem import Problem

ROOT = Path(__file__).resolve().parents[1]


def _R_linear(Y, L):
    s = np.linalg.svd(Y, compute_uv=False)
    return L * float(np.sum(s ** (2.0 / L)))


def _monotone(history):
    """Losses never increase within a run (restart)."""
    by_run = {}
    for h in history:
        by_run.setdefault(h["restart"], []).append(h["loss"])
    for losses in by_run.values():
        for a, b in zip(losses, losses[1:]):
            if not (b <= a or (math.isinf(a) and a > 0)):
                return False
    return True


@pytest.fixture(scope="module")
def relu_data():
    rng = np.random.default_rng(3)
    N = 6
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, 2))
    return X, Y


@pytest.fixture(scope="module")
def relu_result(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=3, activation="relu", lam=0.01, beta=1.0, cost="mse")
    return p, solve_deep(p, init="linear", max_sweeps=5, rng=0)


# --------------------------------------------------------------------------------------------
# the linear-network closed form
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("L", [2, 3, 4])
def test_linear_closed_form(L):
    rng = np.random.default_rng(10 + L)
    N = 4
    Y = rng.standard_normal((N, N))
    res = covcone.solve(np.eye(N), Y, depth=L, activation="linear", cost="interpolate", beta=0.0)
    ref = _R_linear(Y, L)
    assert res.upper == pytest.approx(ref, rel=1e-6)
    assert res.network.loss(np.eye(N), Y, cost="interpolate") == pytest.approx(res.upper, rel=1e-12)
    if L > 2:
        assert res.method == f"block-coordinate (depth {L})"
        assert not res.certified and res.lower == 0.0


def test_linear_closed_form_from_random_init():
    rng = np.random.default_rng(7)
    N = 5
    Y = rng.standard_normal((N, N))
    p = Problem(np.eye(N), Y, depth=3, activation="linear", cost="interpolate", beta=0.0)
    res = solve_deep(p, init="random", rng=1)
    assert res.extra["init"] == "random"
    # the random start is far from the optimum, the sweeps bring it down to the closed form
    assert res.history[0]["loss"] > 1.5 * _R_linear(Y, 3)
    assert res.upper == pytest.approx(_R_linear(Y, 3), rel=1e-6)
    assert _monotone(res.history)


def test_linear_init_is_the_balanced_svd_network():
    rng = np.random.default_rng(0)
    N = 4
    Y = rng.standard_normal((N, 3))
    for L in (3, 5):
        p = Problem(np.eye(N), Y, depth=L, activation="linear", cost="interpolate", beta=0.0)
        net = _linear_init(p)
        np.testing.assert_allclose(net.forward(np.eye(N)), Y, atol=1e-10)
        assert p.loss(net) == pytest.approx(_R_linear(Y, L), rel=1e-10)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", (2.0, 0.5)])
def test_linear_init_nonlinear_sigma_reproduces_the_linear_map(act):
    """The ± pair trick σ(h) − σ(−h) = (a + b)h carries the linear map through any σ with a + b ≠ 0."""
    rng = np.random.default_rng(1)
    N, d = 5, 5
    X = rng.standard_normal((N, d))
    Y = rng.standard_normal((N, 2))
    p = Problem(X, Y, depth=4, activation=act, beta=0.0, cost="interpolate")
    net = _linear_init(p)
    np.testing.assert_allclose(net.forward(X), Y, atol=1e-9)


def test_linear_init_refuses_absolute_value_but_auto_falls_back():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    p = Problem(X, Y, depth=3, activation="absolute", lam=0.1, beta=1.0)
    with pytest.raises(ValueError, match="a \\+ b"):
        initial_network(p, "linear")
    net = initial_network(p, "auto", rng=0)
    assert net.depth == 3 and np.isfinite(p.loss(net))


# --------------------------------------------------------------------------------------------
# ReLU, depth 3: forward-pass loss, monotone history, recovery
# --------------------------------------------------------------------------------------------
def test_relu_depth3_upper_is_forward_pass_loss(relu_data, relu_result):
    X, Y = relu_data
    p, res = relu_result
    net = res.network
    assert isinstance(net, Network) and net.depth == 3
    direct = net.loss(X, Y, lam=0.01, cost="mse")
    assert abs(direct - res.upper) <= 1e-9 * max(1.0, abs(res.upper))
    # the same number by hand: (1/N)‖Ŷ − Y‖² + λ Σ‖W‖²
    Yhat = net.forward(X)
    by_hand = np.sum((Yhat - Y) ** 2) / X.shape[0] + 0.01 * sum(np.sum(W**2) for W in net.weights)
    assert by_hand == pytest.approx(res.upper, rel=1e-9)


def test_relu_depth3_history_monotone_and_better_than_start(relu_result):
    p, res = relu_result
    h = res.history
    assert _monotone(h)
    assert h[0]["sweep"] == 0 and h[0]["block"] is None
    assert all({"sweep", "block", "loss", "block_certified", "time"} <= set(e) for e in h)
    assert res.upper <= h[-1]["loss"] * (1 + 1e-12)
    assert res.upper < 0.9 * h[0]["loss"]
    # N = 6 ≤ 13: every block's exact oracle is affordable and certifies the block
    assert all(e["block_certified"] for e in h if isinstance(e["block"], int) and e["accepted"])
    assert any(e["block"] == "polish" for e in h)
    assert set(res.extra["block_certified"]) == {1, 2}


def test_relu_depth3_result_is_honest(relu_result):
    p, res = relu_result
    assert res.status == "upper_only"
    assert res.certified is False and res.success is False
    assert res.lower == 0.0 and res.lower_from == "trivial (loss ≥ 0)"
    # the certificate rule is relative (docs/design.md, "Certificates"): gap = (upper − 0)/|upper| = 1
    assert res.gap == pytest.approx((res.upper - res.lower) / abs(res.upper)) and res.gap == pytest.approx(1.0)
    assert res.method == "block-coordinate (depth 3)"
    assert "block-coordinate (local) optimum" in res.message
    assert "certified optimal given their neighbours" in res.message


def test_relu_depth3_compressed_and_covariances(relu_data, relu_result):
    X, _ = relu_data
    p, res = relu_result
    N = X.shape[0]
    assert all(n <= N * (N + 1) for n in res.network.widths[1:-1])
    cov = res.extra["layer_covariances"]
    Z1 = res.network.preactivations(X)[0]
    np.testing.assert_allclose(cov.pairs[0][0], Z1 @ Z1.T, atol=1e-10)
    np.testing.assert_allclose(res.covariances[0], Z1 @ Z1.T, atol=1e-10)
    # L^k of the covariances equals the parameter loss of the (min-norm) network (Prop. 5)
    Lk = covcone.covariance_loss(cov, p.Y, lam=0.01, cost="mse")
    assert Lk == pytest.approx(res.upper, rel=1e-6)


def test_relu_depth3_interpolation_vector_outputs():
    rng = np.random.default_rng(5)
    N = 5
    X = rng.standard_normal((N, 2))
    Y = rng.standard_normal((N, 3))
    p = Problem(X, Y, depth=3, activation="relu", beta=1.0, cost="interpolate")
    res = solve_deep(p, init="linear", max_sweeps=4, rng=0)
    assert np.isfinite(res.upper)
    np.testing.assert_allclose(res.network.forward(X), Y, atol=1e-7 * np.abs(Y).max())
    assert res.network.loss(X, Y, cost="interpolate") == pytest.approx(res.upper, rel=1e-9)
    assert _monotone(res.history)


def test_solve_block_does_not_increase_loss(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=4, activation="relu", lam=0.01, beta=1.0, cost="mse")
    net = initial_network(p, "random", rng=4)
    before = p.loss(net)
    for ell in (1, 2, 3):
        br = solve_block(p, net, ell, rng=0)
        after = p.loss(br.network)
        assert after <= before * (1 + 1e-7)
        assert br.certified  # N = 6: exact oracle
        net, before = br.network, after


# --------------------------------------------------------------------------------------------
# warm start, restarts, options
# --------------------------------------------------------------------------------------------
def test_warm_start_never_ends_above_the_given_network(relu_data, relu_result):
    X, Y = relu_data
    p, res = relu_result
    rng = np.random.default_rng(9)
    # an arbitrary network of width 3 ...
    W = [rng.standard_normal((3, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))]
    net = Network(W, "relu", 1.0)
    r1 = solve_deep(p, init=net, max_sweeps=2, rng=0)
    assert r1.upper <= p.loss(net)
    assert r1.extra["init"] == "network"
    assert r1.history[0]["loss"] == pytest.approx(p.loss(net), rel=1e-12)
    # ... and an already converged one
    r2 = solve_deep(p, init=res.network, max_sweeps=2, rng=0)
    assert r2.upper <= res.upper
    assert _monotone(r2.history)


def test_warm_start_network_must_match_problem(relu_result):
    p, res = relu_result
    W = res.network.weights
    with pytest.raises(ValueError, match="depth"):
        solve_deep(p, init=Network(W[:2], "relu", 1.0))
    with pytest.raises(ValueError, match="beta"):
        solve_deep(p, init=Network(W, "relu", 0.5))


def test_restarts_keep_the_best_and_are_reproducible(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=3, activation="relu", lam=0.05, beta=1.0, cost="mse")
    a = solve_deep(p, init="random", restarts=2, max_sweeps=2, rng=11)
    b = solve_deep(p, init="random", restarts=2, max_sweeps=2, rng=11)
    assert len(a.extra["restart_losses"]) == 2
    assert a.upper <= min(a.extra["restart_losses"]) * (1 + 1e-12)
    assert {h["restart"] for h in a.history} == {0, 1}
    assert a.upper == pytest.approx(b.upper, rel=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"init": "bogus"}, "init"),
        ({"init": 3}, "init"),
        ({"restarts": 0}, "restarts"),
        ({"restarts": 1.5}, "restarts"),
        ({"max_sweeps": 0}, "max_sweeps"),
        ({"rtol": -1.0}, "rtol"),
        ({"method": "cells"}, "depth-2 only"),
        ({"time_limit": 0}, "time_limit"),
        ({"rng": "seed"}, "rng"),
        ({"init_columns": np.eye(2)}, "init_columns"),
        ({"frobnicate": 1}, "unknown option"),
        ({"polish": "yes"}, "polish"),
    ],
)
def test_bad_options_give_clear_errors(relu_result, kwargs, match):
    p, _ = relu_result
    with pytest.raises(ValueError, match=match):
        solve_deep(p, **kwargs)


def test_bad_options_through_solve(relu_data):
    X, Y = relu_data
    with pytest.raises(ValueError, match="init"):
        covcone.solve(X, Y, depth=3, lam=0.1, init="nope")
    with pytest.raises(ValueError, match="restarts"):
        covcone.solve(X, Y, depth=3, lam=0.1, restarts=0)


def test_polish_needs_a_cost_with_lambda():
    rng = np.random.default_rng(0)
    p = Problem(rng.standard_normal((4, 2)), rng.standard_normal((4, 1)), depth=3, beta=1.0, cost="interpolate")
    with pytest.raises(ValueError, match="polish"):
        solve_deep(p, polish=True)


@pytest.mark.parametrize("cost, Y", [("mse", None), ("cross_entropy", np.array([0, 1, 2, 0, 1, 2]))])
def test_polish_lowers_the_loss_and_its_gradient_is_right(relu_data, cost, Y, monkeypatch):
    from scipy.optimize import minimize as real_minimize

    import scipy.optimize

    X, Y0 = relu_data
    p = Problem(X, Y0 if Y is None else Y, depth=3, activation="leaky_relu", lam=0.01, beta=1.0, cost=cost)
    net = initial_network(p, "random", rng=1)
    seen = {}

    def spy(fun, x0, **kw):  # check the backpropagated gradient by central differences
        f0, g0 = fun(x0)
        e = np.random.default_rng(0).standard_normal(x0.size)
        h = 1e-6
        fd = (fun(x0 + h * e)[0] - fun(x0 - h * e)[0]) / (2 * h)
        seen["err"] = abs(fd - g0 @ e) / max(1.0, abs(fd))
        seen["f0"] = f0
        return real_minimize(fun, x0, **kw)

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    out = polish(p, net)
    assert seen["err"] < 1e-6
    assert seen["f0"] == pytest.approx(p.loss(net), rel=1e-12)
    assert p.loss(out) < p.loss(net)


def test_depth_two_problem_is_refused(relu_data):
    X, Y = relu_data
    with pytest.raises(ValueError, match="depth"):
        solve_deep(Problem(X, Y, depth=2, lam=0.1))


def test_solve_dispatches_depth_three(relu_data):
    X, Y = relu_data
    res = covcone.solve(X, Y, depth=3, lam=0.05, beta=1.0, init="linear", max_sweeps=1, rng=0)
    assert res.method == "block-coordinate (depth 3)"
    assert res.extra["n_sweeps"] == 1
    assert res.network.loss(X, Y, lam=0.05) == pytest.approx(res.upper, rel=1e-12)


def test_time_limit_stops_and_says_so(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=4, activation="relu", lam=0.01, beta=1.0)
    res = solve_deep(p, init="linear", time_limit=1e-3, max_sweeps=50)
    assert "time limit" in res.extra["stop_reason"] and "time limit" in res.message
    assert res.network.loss(X, Y, lam=0.01) == pytest.approx(res.upper, rel=1e-12)


def test_default_multistart_keeps_to_its_time_limit_at_moderate_N():
    """The default multi-start on N = 60 points (gradient starts of width min(N(N+1), 512)): the
    start pool takes at most half of the time limit, and neither a start's training nor its
    compression runs on past it.  (At width N(N+1) = 3660 one start's compression alone took
    ≈ 20 s and a 30 s limit ended after 61 s.)  The bound is generous: it only catches a limit
    that is ignored, not a slow machine."""
    import time

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    Y = np.tanh(X @ rng.standard_normal((3, 1)))
    t0 = time.perf_counter()
    res = covcone.solve(X, Y, depth=3, lam=1e-2, beta=1.0, time_limit=4.0, rng=0)
    assert time.perf_counter() - t0 <= 15.0
    assert res.network.loss(X, Y, lam=1e-2) == pytest.approx(res.upper, rel=1e-12)
    assert all(w <= 60 * 61 for w in res.network.widths[1:-1])


def test_verbose_progress_bar(relu_result, capsys):
    p, res = relu_result
    out = solve_deep(p, init=res.network, max_sweeps=1, verbose=True)
    assert out.upper <= res.upper


# --------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), L=st.integers(2, 4), beta=st.sampled_from([0.0, 1.0]),
       slopes=st.sampled_from([(1.0, 0.0), (1.0, 0.2), (1.0, -1.0), (1.0, 1.0)]))
def test_balance_keeps_function_and_lowers_norm(seed, L, beta, slopes):
    rng = np.random.default_rng(seed)
    widths = [3] + list(rng.integers(1, 5, size=L - 1)) + [2]
    W = [rng.standard_normal((widths[i + 1], widths[i] + 1)) * rng.uniform(0.1, 10) for i in range(L)]
    net = Network(W, covcone.homogeneous(*slopes), beta)
    X = rng.standard_normal((7, 3))
    bal = _balance(net)
    np.testing.assert_allclose(bal.forward(X), net.forward(X), rtol=1e-9, atol=1e-9 * np.abs(net.forward(X)).max())
    assert bal.squared_norm() <= net.squared_norm() * (1 + 1e-12)


# --------------------------------------------------------------------------------------------
# the default multi-start (init="auto"): linear start + gradient-trained starts, best refined
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def auto_result(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=3, activation="relu", lam=0.01, beta=1.0, cost="mse")
    return p, solve_deep(p, max_sweeps=4, rng=5)


def test_default_multistart_is_honest_and_monotone(auto_result):
    p, res = auto_result
    pool = res.extra["start_pool"]
    assert pool["inits"][0] == "linear" and pool["inits"].count("gradient") == AUTO_GRADIENT_STARTS
    assert len(res.extra["restart_losses"]) == 2  # restarts=None → the 2 best pool starts refined
    # the refined starts are the lowest-loss ones of the pool
    assert sorted(pool["refined"]) == sorted(np.argsort(pool["losses"], kind="stable")[:2].tolist())
    assert res.certified is False and res.lower == 0.0 and res.status == "upper_only"
    assert "local" in res.message and "Multi-start" in res.message
    assert _monotone(res.history)
    assert res.upper <= min(pool["losses"]) * (1 + 1e-12)
    assert abs(p.loss(res.network) - res.upper) <= 1e-9
    assert all(w <= p.N * (p.N + 1) for w in res.network.widths[1:-1])


def test_default_multistart_no_worse_than_linear_start(auto_result, relu_result):
    _, auto = auto_result
    _, lin = relu_result  # init="linear", 5 sweeps
    assert auto.upper <= lin.upper * (1 + 1e-9)


def test_default_multistart_reproducible(relu_data):
    X, Y = relu_data
    a = covcone.solve(X, Y, depth=3, lam=0.05, beta=1.0, max_sweeps=2, restarts=1, rng=7)
    b = covcone.solve(X, Y, depth=3, lam=0.05, beta=1.0, max_sweeps=2, restarts=1, rng=7)
    assert a.upper == b.upper and a.extra["start_pool"]["losses"] == b.extra["start_pool"]["losses"]


def test_gradient_init_is_a_valid_start(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=3, activation="relu", lam=0.01, beta=1.0, cost="mse")
    net = initial_network(p, "gradient", rng=0)
    assert net.depth == 3 and all(w <= p.N * (p.N + 1) for w in net.widths[1:-1])
    assert p.loss(net) < p.loss(Network([np.zeros((w2, w1 + 1)) for w1, w2 in zip(net.widths, net.widths[1:])],
                                        "relu", 1.0))
    pi = Problem(X, Y, depth=3, activation="relu", beta=1.0, cost="interpolate")
    with pytest.raises(ValueError, match="gradient"):
        initial_network(pi, "gradient", rng=0)


def test_interpolation_auto_keeps_single_start(relu_data):
    X, Y = relu_data
    p = Problem(X, Y, depth=3, activation="relu", beta=1.0, cost="interpolate")
    res = solve_deep(p, max_sweeps=1, rng=0)
    assert res.extra["start_pool"] is None and len(res.extra["restart_losses"]) == 1


@pytest.mark.slow
def test_default_beats_torch_best_of_five_on_acceptance_instance():
    """Issue 6 on the first acceptance instances (N = 6, 8): default solve ≤ best of 5 torch runs."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _common import torch_runs
        from bench_deep import acceptance_instance
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for i in (0, 1):
        N, X, Y = acceptance_instance(i)
        res = covcone.solve(X, Y, depth=3, activation="relu", lam=1e-2, beta=1.0, rng=1000 + i)
        best = torch_runs(X, Y, width=N * (N + 1), seeds=5, lam=1e-2, beta=1.0, depth=3)["best"]
        assert res.upper <= best
        p = Problem(X, Y, depth=3, activation="relu", lam=1e-2, beta=1.0, cost="mse")
        assert abs(p.loss(res.network) - res.upper) <= 1e-9


# --------------------------------------------------------------------------------------------
# example and benchmark scripts
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_example_depth_rank_quick(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["depth_rank.py", "--quick", "--no-plot"])
    runpy.run_path(str(ROOT / "examples" / "depth_rank.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "R/L" in out


@pytest.mark.slow
def test_benchmark_deep_quick(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_deep.py", "--quick", "--no-torch"])
    runpy.run_path(str(ROOT / "benchmarks" / "bench_deep.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "s/sweep" in out
