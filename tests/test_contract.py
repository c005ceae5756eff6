"""One contract for every depth-2 method (colgen, cells, lifted) and every cone representation:
the same optimum on the same small instances, valid bounds, an upper bound from a forward pass."""
import numpy as np
import pytest

import covcone
from covcone.cones.base import ConeRepresentation

METHODS = ["auto", "cells", "lifted"]


def _forward_loss(res, X, Y, kw):
    if kw["cost"] == "interpolate":
        return res.network.loss(X, Y, cost="interpolate")
    return res.network.loss(X, Y, lam=kw["lam"], cost=kw["cost"])


@pytest.fixture
def solved(contract_instance):
    X, Y, kw = contract_instance
    return X, Y, kw, {m: covcone.solve(X, Y, method=m, **kw) for m in METHODS}


def test_upper_is_the_forward_pass_and_lower_below_it(solved):
    X, Y, kw, results = solved
    for m, res in results.items():
        assert res.network is not None, m
        assert res.upper == pytest.approx(_forward_loss(res, X, Y, kw), rel=1e-12, abs=0), m
        assert res.lower <= res.upper * (1 + res.tol) + res.atol, m
        assert res.status in ("certified", "bounded", "upper_only"), (m, res.message)


def test_same_optimum(solved):
    X, Y, kw, results = solved
    ref = results["auto"]
    assert ref.certified, ref.message
    opt = ref.upper
    for m, res in results.items():
        # every valid lower bound is below the certified optimum (up to its relative room)
        assert res.lower <= opt * (1 + 2 * ref.tol), (m, res.lower, opt)
        # every network is at or above it
        assert res.upper >= ref.lower - 1e-12, (m, res.upper, ref.lower)
        if res.certified:
            assert abs(res.upper - opt) <= 2 * ref.tol * abs(opt), (m, res.upper, opt)
    assert results["cells"].certified, results["cells"].message


@pytest.mark.parametrize("cone", [covcone.LiftedCone, covcone.CellCone])
def test_cones_follow_the_protocol(cone):
    rng = np.random.default_rng(0)
    B = rng.standard_normal((2, 6))
    rep = cone.from_basis(B, "relu")
    assert isinstance(rep, ConeRepresentation)
    assert isinstance(rep.exact, bool)
    import cvxpy as cp

    K = cp.Variable((6, 6), symmetric=True)
    Ks = cp.Variable((6, 6), symmetric=True)
    z = B.T @ np.array([1.0, -0.5])
    target = np.maximum(z, 0)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(Ks - np.outer(target, target))), rep.constraints(K, Ks))
    prob.solve()
    Kv, Ksv = rep.values()
    assert Kv.shape == Ksv.shape == (6, 6)
    assert rep.residual() <= 1e-5
    np.testing.assert_allclose(Ksv, np.outer(target, target), atol=1e-4)



@pytest.mark.parametrize("seed", [2, 4, 8])
def test_interpolating_networks_are_exact(seed):
    """A network that misses Y by the solver's tolerance can cost less than the optimum, so every
    returned interpolating network reproduces Y to machine precision (and no upper bound is below
    another method's valid lower bound)."""
    from conftest import CONTRACT_INSTANCES, make_instance

    spec = next(c for c in CONTRACT_INSTANCES if c.get("cost") == "interpolate")
    X, Y, kw = make_instance(**spec)
    results = {m: covcone.solve(X, Y, method=m, rng=seed, **kw) for m in ("auto", "cells")}
    for m, res in results.items():
        assert np.linalg.norm(res.network.forward(X) - Y) <= 1e-10 * np.linalg.norm(Y), m
    assert results["cells"].upper >= results["auto"].lower - 1e-12
    assert results["auto"].upper >= results["cells"].lower - 1e-12
