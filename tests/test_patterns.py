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
