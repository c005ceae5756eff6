"""The pattern step of the depth-2 solver (covcone/shallow/patterns.py): neurons re-optimised
inside their activation cones keep their patterns, and the master with them is no worse."""
import numpy as np
import pytest

import covcone
from covcone.shallow.master import solve_master
from covcone.shallow.patterns import pattern_columns
from covcone.shallow.setup import GroupLassoSetup


@pytest.mark.parametrize("k, cost", [(1, "mse"), (2, "mse"), (3, "cross_entropy"), (2, "interpolate")])
def test_pattern_columns_keep_patterns_and_do_not_hurt(k, cost):
    rng = np.random.default_rng(3 + k)
    X = rng.standard_normal((25, 4))
    Y = rng.integers(0, 3, 25) if cost == "cross_entropy" else rng.standard_normal((25, k))
    lam = None if cost == "interpolate" else 1e-2
    setup = GroupLassoSetup(covcone.Problem(X, Y, lam=lam, beta=1.0, cost=cost))
    C = rng.standard_normal((60, setup.r))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    solver = "CLARABEL"
    V, c0, _, _ = solve_master(setup, setup.columns(C), solver, None)
    before = setup.loss(setup.network(C, V, c0))
    new = pattern_columns(setup, C, V, solver=solver)
    assert new.shape[0] > 0 and np.allclose(np.linalg.norm(new, axis=1), 1.0)
    # each new direction has the (weak) activation pattern of some active column
    nv = np.linalg.norm(V, axis=1)
    act = C[nv > 1e-9 * nv.max()]
    Sa = np.sign(setup.Bs.T @ act.T)
    Sn = setup.Bs.T @ new.T
    for j in range(new.shape[0]):
        ok = np.all((Sa * Sn[:, [j]]) >= -1e-6 * np.abs(Sn[:, j]).max(), axis=0)
        assert ok.any()
    C2 = np.vstack([C, new])
    V2, c02, _, _ = solve_master(setup, setup.columns(C2), solver, None)
    after = setup.loss(setup.network(C2, V2, c02))
    assert after <= before * (1 + 1e-6)


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
def test_pattern_step_stopped_by_its_time_limit_gives_no_directions(cost):
    """``time_limit``: a program the limit stops (here at once) gives no directions — never a
    half-solved point — and with time to spare the same call gives them."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((25, 4))
    Y = rng.integers(0, 3, 25) if cost == "cross_entropy" else rng.standard_normal((25, 2))
    setup = GroupLassoSetup(covcone.Problem(X, Y, lam=1e-2, beta=1.0, cost=cost))
    C = rng.standard_normal((60, setup.r))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    V, c0, _, _ = solve_master(setup, setup.columns(C), "CLARABEL", None)
    assert pattern_columns(setup, C, V, time_limit=1e-9).shape == (0, setup.r)
    assert pattern_columns(setup, C, V, time_limit=600.0).shape[0] > 0


@pytest.mark.parametrize("k", [1, 3])
def test_direct_clarabel_cone_program_matches_cvxpy(k):
    """The MSE pattern program written straight for Clarabel has the optimum of the cvxpy model
    (the predictions of a strictly convex cost are unique, the weights need not be)."""
    from covcone.shallow.patterns import _cones_cvxpy, _cones_mse_clarabel

    rng = np.random.default_rng(10 + k)
    X = rng.standard_normal((30, 3))
    Y = rng.standard_normal((30, k))
    setup = GroupLassoSetup(covcone.Problem(X, Y, lam=1e-2, beta=1.0))
    C = rng.standard_normal((12, setup.r))
    Z = setup.Bs.T @ C.T
    sign, slope = np.where(Z >= 0, 1.0, -1.0), np.where(Z >= 0, 1.0, 0.0)
    Vhat = rng.standard_normal((12, k))
    Vhat /= np.linalg.norm(Vhat, axis=1, keepdims=True)
    U1 = _cones_mse_clarabel(setup, sign, slope, Vhat)
    U2 = _cones_cvxpy(setup, sign, slope, Vhat, "CLARABEL")
    assert U1 is not None and U2 is not None
    assert np.all(sign * (setup.Bs.T @ U1.T) >= -1e-7)  # the patterns are kept
    pred1 = (slope * (setup.Bs.T @ U1.T)) @ Vhat
    pred2 = (slope * (setup.Bs.T @ U2.T)) @ Vhat
    assert np.allclose(pred1, pred2, atol=1e-5 * np.abs(pred2).max())
    assert np.sum(np.linalg.norm(U1, axis=1)) == pytest.approx(np.sum(np.linalg.norm(U2, axis=1)), rel=1e-5)


@pytest.mark.parametrize("early", [False, True])
def test_pattern_step_follows_a_vertex_enumeration_that_stopped_early(monkeypatch, early):
    """Input rank ≥ 4: a round whose vertex enumeration stopped at its first value above 2λ̃ is a
    round of the column-generation tail, and the pattern step runs after it as after an exact
    round (wine, 4 features, N = 150: certified in ≈ 7 min in one run where it stopped at gap 4e-2 after 10).
    A heuristic round (not an enumeration) does not trigger it."""
    from covcone.shallow import colgen
    from covcone.shallow.pricing import PriceStep, Pricing

    rng = np.random.default_rng(11)
    X = rng.standard_normal((30, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 1)), 0.0)
    calls = []
    real_patterns = colgen.pattern_columns

    def round_(self, Theta, it, *, threshold, **kw):
        # the tail: the oracle's best column beats 2λ̃ by a hair (the value is what the policy reads)
        step = self.price(Theta, exact=False, starts=kw.get("starts"), n_best=1)
        values = np.full(1, threshold * (1 + 1e-5))
        stats = {"stopped_at_head": 0} if early else {}
        return PriceStep(step.C[:1], values, values[0], max(step.bound, values[0]), False, "test", step.seconds,
                         stats)

    def spy(*a, **kw):
        calls.append(1)
        return real_patterns(*a, **kw)

    monkeypatch.setattr(Pricing, "round", round_)
    monkeypatch.setattr(colgen, "pattern_columns", spy)
    res = covcone.solve(X, Y, lam=1e-2, max_rounds=1, rng=0)
    assert res.upper >= res.lower
    assert (len(calls) > 0) == early
