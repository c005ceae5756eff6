"""The lifted relaxation's dual program (covcone/shallow/lifted_dual.py): its certificate against the
independent brute force of tests/oracle_reference.py, its value against closed forms (linear
networks, the N²/4 example) and certified optima, and its use by ``solve`` at high input rank."""
from dataclasses import replace

import numpy as np
import pytest
from oracle_reference import reference_max
from reference import linear_nuclear

import covcone
from covcone.problem import Problem
from covcone.shallow.bounds import internal_bound
from covcone.shallow.lifted_dual import PricingCertificate, certified_pricing_bound, lifted_dual_point
from covcone.shallow.setup import GroupLassoSetup


def _setup(X, Y, **kw):
    return GroupLassoSetup(Problem(X, Y, **kw))


def _instance(seed, N, d, k, act):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    Y = np.tanh(X @ rng.standard_normal((d, k))) + 0.2 * rng.standard_normal((N, k))
    return _setup(X, Y, activation=act, lam=0.05, beta=1.0, cost="mse")


CASES = [(1, 8, 2, 1, "relu"), (2, 8, 3, 2, "relu"), (3, 7, 3, 1, "leaky_relu"), (4, 8, 2, 1, "abs"),
         (5, 7, 3, 1, (0.5, -2.0))]


@pytest.mark.parametrize("seed,N,d,k,act", CASES)
def test_certificate_bounds_the_brute_force_maximum(seed, N, d, k, act):
    """m̄ from the program's certificate ≥ the exact pricing value (every sign pattern), and the
    program's own Θ̂ is priced at 2λ̃ (its certificate is tight to the solver's accuracy)."""
    s = _instance(seed, N, d, k, act)
    Theta, cert, status = lifted_dual_point(s)
    assert status.startswith("optimal")
    a, b = s.activation.a, s.activation.b
    m, _ = reference_max(Theta, s.Bs, a, b)
    m_bar = certified_pricing_bound(cert, Theta, s.Bs, s.activation)
    assert m <= m_bar * (1 + 1e-12)
    assert m_bar <= 2 * s.lam_v * (1 + 1e-4)


@pytest.mark.parametrize("seed,N,d,k,act", CASES[:3])
def test_a_wrong_certificate_still_gives_a_valid_bound(seed, N, d, k, act):
    """Multipliers off by a lot (y₀ halved, noise, negative entries, another Θ) weaken the bound
    but never put it below the true maximum: ε = −λ_min(Z) absorbs what the multipliers miss."""
    s = _instance(seed, N, d, k, act)
    Theta, cert, _ = lifted_dual_point(s)
    a, b = s.activation.a, s.activation.b
    rng = np.random.default_rng(seed)
    bad = [replace(cert, y0=0.5 * cert.y0), replace(cert, y0=-abs(cert.y0), yT=-1.0),
           replace(cert, Luu=cert.Luu + rng.standard_normal(cert.Luu.shape),
                   Luv=cert.Luv - rng.random(cert.Luv.shape)),
           PricingCertificate(0.0, 0.0, np.zeros((N, N)), np.zeros((N, N)), np.zeros((N, N)), scale=cert.scale)]
    for Th in (Theta, Theta + 0.3 * np.abs(Theta).max() * rng.standard_normal(Theta.shape)):
        m, _ = reference_max(Th, s.Bs, a, b)
        for c in bad:
            assert m <= certified_pricing_bound(c, Th, s.Bs, s.activation) * (1 + 1e-12)
    with pytest.raises(ValueError, match="cert.scale"):
        certified_pricing_bound(replace(cert, scale=0.0), Theta, s.Bs, s.activation)
    assert certified_pricing_bound(replace(cert, y0=np.nan), Theta, s.Bs, s.activation) == np.inf


def test_exact_for_linear_networks():
    """σ(z) = z: the pricing value is a spectral norm and one quadratic constraint's relaxation is
    exact, so the bound is the nuclear-norm optimum (closed form, written separately)."""
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    s = _setup(X, Y, activation="linear", lam=0.05, beta=1.0, cost="mse")
    Theta, cert, _ = lifted_dual_point(s)
    lb, _ = internal_bound(s, Theta, certified_pricing_bound(cert, Theta, s.Bs, s.activation))
    ref = linear_nuclear(X, Y, lam=0.05, beta=1.0)
    assert s.to_user(lb) == pytest.approx(ref.hi, rel=1e-5)
    assert s.to_user(lb) <= ref.hi * (1 + 1e-9)


def test_tight_example_bound_is_N_squared():
    """The N²/4 example (paper §4.2): the lifted relaxation is tight, R(X_N, Y_N) = N²."""
    N = 8
    from covcone.tight import tight_example

    X, Y = tight_example(N)
    s = _setup(X, Y, activation="relu", beta=0.0, cost="interpolate")
    Theta, cert, _ = lifted_dual_point(s)
    lb, _ = internal_bound(s, Theta, certified_pricing_bound(cert, Theta, s.Bs, s.activation))
    assert s.to_user(lb) == pytest.approx(N**2, rel=1e-5)
    assert s.to_user(lb) <= N**2 * (1 + 1e-9)


@pytest.mark.parametrize("cost", ["mse", "cross_entropy"])
def test_below_the_certified_optimum(cost):
    """Against an exact solve (2-D inputs): the lifted bound is a lower bound of the optimum."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((14, 2))
    Y = (np.sin(2 * X[:, :1]) if cost == "mse" else (X[:, 0] * X[:, 1] > 0).astype(int))
    exact = covcone.solve(X, Y, lam=0.02, beta=1.0, cost=cost)
    assert exact.certified, exact.message
    s = _setup(X, Y, activation="relu", lam=0.02, beta=1.0, cost=cost)
    Theta, cert, _ = lifted_dual_point(s)
    lb, _ = internal_bound(s, Theta, certified_pricing_bound(cert, Theta, s.Bs, s.activation))
    assert s.to_user(lb) <= exact.upper * (1 + 1e-7)
    assert s.to_user(lb) >= 0.5 * exact.upper  # a bound that means something (measured 0.81 MSE, 0.95 CE)


@pytest.mark.parametrize("seed,d,N", [(1, 7, 40), (2, 10, 24)])
def test_solve_at_high_rank_uses_it_and_stays_below_trained_networks(seed, d, N):
    """Input rank 8 with N = 40 and rank 11 with N = 24: beyond every exact enumeration; the
    lifted dual gives the lower bound, which stays below networks trained in parameter space
    (independent code)."""
    from reference import local_search

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    Y = np.sin(X[:, :1]) + 0.1 * rng.standard_normal((N, 1))
    res = covcone.solve(X, Y, lam=0.05, beta=1.0, oracle_time=1.0, gradient_starts=0, max_rounds=20, time_limit=120)
    assert res.lower_from == "lifted SDP dual", res.message
    assert 0.9 * res.upper <= res.lower <= res.upper  # measured 0.975 and 0.999
    trained = local_search(X, Y, ab=(1.0, 0.0), lam=0.05, beta=1.0, width=12, starts=2)
    assert res.lower <= trained.hi * (1 + 1e-9)


def test_a_failing_solver_falls_back_to_scs_and_says_so():
    """OSQP cannot take the program's PSD cone (as Clarabel stalls on some cross-entropy
    programs): SCS solves it, the status says so, and the checked bound stays valid."""
    s = _instance(1, 8, 2, 1, "relu")
    Theta, cert, status = lifted_dual_point(s, solver="OSQP")
    assert "SCS after OSQP" in status
    m, _ = reference_max(Theta, s.Bs, s.activation.a, s.activation.b)
    m_bar = certified_pricing_bound(cert, Theta, s.Bs, s.activation)
    assert m <= m_bar * (1 + 1e-12) and m_bar <= 2 * s.lam_v * 1.01
