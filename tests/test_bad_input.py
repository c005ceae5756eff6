"""Bad input gets a clear ValueError naming the argument."""
import numpy as np
import pytest

import covcone

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 2))
Y = np.sin(X[:, :1])


@pytest.mark.parametrize("kw, name", [
    (dict(max_rounds=0), "max_rounds"),
    (dict(max_rounds=2.5), "max_rounds"),
    (dict(n_add=0), "n_add"),
    (dict(rng="abc"), "rng"),
    (dict(activation=("a", "b")), "activation"),
    (dict(init_columns=np.ones((3, 7))), "init_columns"),
    (dict(init_columns=np.ones((3, 3)) * np.nan), "init_columns"),
    (dict(tol=0.0), "tol"),
    (dict(tol=2.0), "tol"),
    (dict(atol=-1.0), "atol"),
    (dict(time_limit=-1), "time_limit"),
    (dict(frobnicate=1), "unknown option"),
    (dict(solver="SCS", solver_opts={"frob": 1}), "solver_opts"),
    (dict(solver="CLARABEL", solver_opts={"frob": 1}), "solver_opts"),
    (dict(lam=-1.0), "lam"),
    (dict(beta=-1.0), "beta"),
    (dict(beta=1e200), "beta"),
])
def test_errors_name_the_argument(kw, name):
    args = dict(activation="relu", lam=1e-2, beta=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        covcone.solve(X, Y, **args)


@pytest.mark.parametrize("bad, name", [
    (dict(X=X.astype(complex)), "X"),
    (dict(Y=Y + 1j), "Y"),
    (dict(X=X * 1e200), "X"),
    (dict(Y=Y * 1e200), "Y"),
    (dict(X=np.where(X > 1, np.nan, X)), "X"),
])
def test_bad_arrays(bad, name):
    args = dict(X=X, Y=Y)
    args.update(bad)
    with pytest.raises(ValueError, match=name):
        covcone.solve(args["X"], args["Y"], lam=1e-2)


def test_extreme_but_representable_magnitudes_do_not_fail():
    # λ so large that the zero network is optimal: certified without an ill-conditioned master
    res = covcone.solve(X, Y, lam=1e300, beta=1.0)
    assert res.certified and res.n_neurons == 0
    # outputs of order 1e6 (an MSE master that once came back 'PrimalInfeasible')
    Yb = 1e6 * rng.standard_normal((6, 3))
    res = covcone.solve(rng.standard_normal((6, 1)), Yb, lam=1e-3, beta=1.0)
    assert res.status in ("certified", "bounded") and res.lower <= res.upper


def test_interpolation_feasibility_is_relative():
    Xs = rng.standard_normal((18, 2))
    Y0 = rng.standard_normal((18, 1))
    for Xi, Yi in ((Xs, 1e-8 * Y0), (1e-4 * Xs, Y0)):
        res = covcone.solve(Xi, Yi, cost="interpolate", beta=1.0)
        out = res.network.forward(Xi)
        assert np.linalg.norm(out - Yi) <= 1e-7 * np.linalg.norm(Yi)
        assert res.lower <= res.upper * (1 + 1e-6)
