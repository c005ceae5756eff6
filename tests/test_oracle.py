"""Tests of covcone.oracle: the exact pricing oracle against brute force and closed forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covcone.activations import absolute, leaky_relu, linear, relu
from covcone.oracle import (
    exact_affordable,
    group_norms,
    max_group_norm,
    price,
)

ACTS = [relu, leaky_relu(0.2), absolute, linear, (0.5, -2.0)]


def _slopes(act):
    if isinstance(act, tuple):
        return act
    return act.a, act.b


def sphere_points(r, n, rng):
    """Dense samples of the unit sphere: a fine grid for r = 2, random + Fibonacci for r = 3."""
    if r == 2:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.column_stack([np.cos(t), np.sin(t)])
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    th = np.pi * (1 + 5**0.5) * i
    P = np.column_stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)])
    R = rng.standard_normal((n // 4, r))
    return np.vstack([P, R / np.linalg.norm(R, axis=1, keepdims=True)])


def brute(Theta, B, act, P):
    a, b = _slopes(act)
    Z = P @ B
    S = np.where(Z >= 0, a * Z, b * Z)
    return np.linalg.norm(S @ Theta, axis=1)


def data_basis(N, rng):
    """r = 3 basis of 2-D inputs with bias: B = S Vᵀ from the thin SVD of [Xᵀ; 1ᵀ]."""
    X = rng.standard_normal((N, 2))
    A = np.vstack([X.T, np.ones(N)])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:, None] * Vt


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("r", [2, 3])
def test_exact_vs_dense_sampling(act, k, r):
    rng = np.random.default_rng(10 * r + k)
    for trial in range(3):
        N = int(rng.integers(2, 9))
        B = rng.standard_normal((r, N))
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act)
        assert res.exact
        P = sphere_points(r, 20000 if r == 2 else 60000, rng)
        samples = brute(Theta, B, act, P)
        assert res.value >= samples.max() - 1e-12
        assert res.value <= samples.max() + 0.05 * max(1.0, res.value)
        # the returned point is feasible and attains the value
        assert np.isclose(np.linalg.norm(res.C[0]), 1.0)
        assert np.isclose(brute(Theta, B, act, res.C[:1])[0], res.value, rtol=1e-12)


@pytest.mark.parametrize("r", [1, 2, 3, 4])
def test_linear_closed_form(r):
    rng = np.random.default_rng(r)
    N = 9
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    M = B @ Theta @ Theta.T @ B.T
    res = max_group_norm(Theta, B, linear)
    assert res.exact
    assert res.value**2 == pytest.approx(np.linalg.eigvalsh(M)[-1], rel=1e-10)


@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 2, 4])
def test_r3_arrangement_matches_sign_patterns(act, k):
    rng = np.random.default_rng(k)
    for N in (3, 6, 9):
        B = data_basis(N, rng) if N > 3 else rng.standard_normal((3, N))
        Theta = rng.standard_normal((N, k))
        fast = max_group_norm(Theta, B, act)
        full = max_group_norm(Theta, B, act, _method="sign patterns 3^N")
        naive = max_group_norm(Theta, B, act, _method="naive")
        assert fast.method == "arrangement r=3" and full.exact and naive.exact
        assert fast.value == pytest.approx(full.value, abs=1e-10)
        assert fast.value == pytest.approx(naive.value, abs=1e-10)


def test_exact_paths_agree_on_many_instances():
    """Fast arrangement, direct (naive) arrangement and 3^N patterns agree whatever the warm
    start (the pruning tests must never drop the maximiser's face)."""
    acts = [relu, absolute, leaky_relu(0.3), (0.5, -2.0)]
    for seed in range(120):
        rng = np.random.default_rng(seed)
        act = acts[seed % 4]
        N = int(rng.integers(2, 10))
        B = rng.standard_normal((3, N))
        Theta = rng.standard_normal((N, int(rng.integers(1, 4))))
        ref = max_group_norm(Theta, B, act, _method="naive").value
        for n_starts in (0, 64):
            fast = max_group_norm(Theta, B, act, rng=seed, n_starts=n_starts).value
            assert fast == pytest.approx(ref, abs=1e-10), (seed, n_starts)
        if seed % 3 == 0:
            full = max_group_norm(Theta, B, act, rng=seed, n_starts=0, _method="sign patterns 3^N").value
            assert full == pytest.approx(ref, abs=1e-10), seed


def test_r3_fast_matches_naive_larger():
    rng = np.random.default_rng(3)
    for act in (relu, absolute, leaky_relu(0.1)):
        B = data_basis(80, rng)
        Theta = rng.standard_normal((80, 2))
        fast = max_group_norm(Theta, B, act)
        naive = max_group_norm(Theta, B, act, _method="naive")
        assert fast.value == pytest.approx(naive.value, rel=1e-12)


def degenerate_bases(rng):
    b = rng.standard_normal(3)
    B = rng.standard_normal((3, 6))
    rep = np.column_stack([B, B[:, :2], 2.5 * B[:, 2]])  # repeated and positively scaled
    opp = np.column_stack([B, -B[:, 0], -0.3 * B[:, 1]])  # opposite columns
    line = rng.standard_normal(3)
    conc = np.column_stack([np.cross(line, rng.standard_normal(3)) for _ in range(4)] + [B[:, :3]])  # common line
    zero = np.column_stack([B, np.zeros(3)])
    grid = np.array([[x, y, 1.0] for x in (-1, 0, 1) for y in (-1, 0, 1)]).T  # many triple points
    rank2 = np.column_stack([B[:, :2], B[:, :2] @ rng.standard_normal((2, 4))])  # rank 2 in R^3
    return {"repeated": rep, "opposite": opp, "concurrent": conc, "zero": zero, "grid": grid, "rank2": rank2,
            "single": b[:, None]}


@pytest.mark.parametrize("name", ["repeated", "opposite", "concurrent", "zero", "grid", "rank2", "single"])
@pytest.mark.parametrize("act", [relu, absolute, leaky_relu(0.2)], ids=str)
def test_degenerate_arrangements(name, act):
    rng = np.random.default_rng(7)
    B = degenerate_bases(rng)[name]
    N = B.shape[1]
    for k in (1, 2):
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act)
        assert res.exact
        samples = brute(Theta, B, act, sphere_points(3, 60000, rng))
        assert res.value >= samples.max() - 1e-12
        assert res.value <= samples.max() + 0.05 * max(1.0, res.value)
        if N <= 11:
            full = max_group_norm(Theta, B, act, _method="sign patterns 3^N")
            assert res.value == pytest.approx(full.value, abs=1e-10)


def test_sign_patterns_high_rank_vs_sampling():
    rng = np.random.default_rng(5)
    r, N = 5, 7
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    res = max_group_norm(Theta, B, relu)
    assert res.exact and res.method == "sign patterns 3^N"
    P = rng.standard_normal((400000, r))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    s = brute(Theta, B, relu, P)
    assert res.value >= s.max() - 1e-12
    assert res.value <= s.max() * 1.05


def test_n_best_distinct_and_sorted():
    rng = np.random.default_rng(2)
    B = data_basis(30, rng)
    Theta = rng.standard_normal((30, 2))
    res = max_group_norm(Theta, B, relu, n_best=6)
    assert 1 <= res.C.shape[0] <= 6
    assert np.all(np.diff(res.values) <= 1e-15)
    assert res.values[0] == res.value
    assert np.allclose(np.linalg.norm(res.C, axis=1), 1.0)
    G = res.C @ res.C.T
    assert np.all(G[np.triu_indices(len(G), 1)] < 1 - 1e-9)
    assert np.allclose(group_norms(Theta, B, relu, res.C), res.values, rtol=1e-12)
    assert res.value == pytest.approx(max_group_norm(Theta, B, relu).value, rel=1e-12)


def test_heuristic_below_exact_and_equal_on_easy():
    rng = np.random.default_rng(4)
    B = data_basis(40, rng)
    Theta = rng.standard_normal((40, 2))
    ex = max_group_norm(Theta, B, relu)
    he = max_group_norm(Theta, B, relu, exact=False, rng=0)
    assert not he.exact and he.method == "heuristic"
    assert he.value <= ex.value + 1e-12
    # easy: linear activation, a single eigenvalue problem
    he = max_group_norm(Theta, B, linear, exact=False, rng=0)
    assert he.value == pytest.approx(max_group_norm(Theta, B, linear).value, rel=1e-12)
    # easy: all θ equal → the maximiser is where every neuron is active
    Bp = np.abs(rng.standard_normal((3, 10)))
    Th = np.ones((10, 1))
    assert max_group_norm(Th, Bp, relu, exact=False, rng=1).value == pytest.approx(
        max_group_norm(Th, Bp, relu).value, rel=1e-12)


def test_not_affordable_falls_back_to_heuristic():
    assert exact_affordable(3, 5000) and exact_affordable(20, 13) and exact_affordable(4, 14)
    assert not exact_affordable(11, 100)  # rank ≥ 4 beyond the vertex budget: branch and bound
    # N ≥ 647 (3.0**N overflows a float): the same answers, no OverflowError
    from covcone.oracle._kernels import exact_affordable as sign_patterns_affordable

    assert [sign_patterns_affordable(5, n) for n in (13, 14, 700, 10**6)] == [True, False, False, False]
    assert not exact_affordable(5, 2000) and exact_affordable(3, 10**6)
    rng = np.random.default_rng(0)
    B = rng.standard_normal((5, 16))
    res = max_group_norm(rng.standard_normal((16, 2)), B, relu, rng=0, exact=False)
    assert not res.exact and res.method.startswith("heuristic")


def test_trivial_inputs():
    B = np.zeros((3, 4))
    res = max_group_norm(np.ones((4, 2)), B, relu)
    assert res.value == 0.0 and res.C.shape == (1, 3)
    res = max_group_norm(np.zeros((4, 1)), np.ones((2, 4)), relu)
    assert res.value == 0.0


def test_bad_inputs_name_the_argument():
    B = np.ones((3, 7))
    with pytest.raises(ValueError, match=r"Theta: expected shape \(N, k\) with N = 7"):
        max_group_norm(np.ones((5, 2)), B, relu)
    with pytest.raises(ValueError, match="Theta: expected finite"):
        max_group_norm(np.full((7, 1), np.nan), B, relu)
    with pytest.raises(ValueError, match="B: expected a 2-D"):
        max_group_norm(np.ones((7, 1)), np.ones(7), relu)
    with pytest.raises(ValueError, match="activation"):
        max_group_norm(np.ones((7, 1)), B, "tanh")
    with pytest.raises(ValueError, match="n_best"):
        max_group_norm(np.ones((7, 1)), B, relu, n_best=0)
    with pytest.raises(ValueError, match="progress: expected a callable"):
        max_group_norm(np.ones((7, 1)), B, relu, progress="verbose")
    with pytest.raises(ValueError, match="G_sigma: expected a symmetric"):
        price(np.eye(3), np.triu(np.ones((3, 3))), activation=relu)
    with pytest.raises(ValueError, match="G_sigma: expected shape"):
        price(np.eye(3), np.eye(4), activation=relu)
    with pytest.raises(ValueError, match="basis"):
        price(np.eye(3), np.eye(3), activation=relu, basis=np.ones((2, 4)))
    with pytest.raises(ValueError, match="C: expected shape"):
        group_norms(np.ones((7, 1)), B, relu, np.ones((2, 2)))


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("r", [2, 3, 5])
def test_price_group_lasso_case(act, r):
    rng = np.random.default_rng(r)
    N = 8
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    m = max_group_norm(Theta, B, act)
    p = price(np.zeros((N, N)), -Theta @ Theta.T, activation=act, basis=B)
    assert p.exact
    assert p.value == pytest.approx(-m.value**2, rel=1e-10)
    assert np.allclose(p.z, B.T @ p.c) and np.isclose(np.linalg.norm(p.c), 1.0)


@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("basis", ["identity", "r3"])
def test_price_random_forms_vs_sampling(act, basis):
    rng = np.random.default_rng(11)
    N = 4
    a, b = _slopes(act)
    B = np.eye(N) if basis == "identity" else rng.standard_normal((3, N))
    for _ in range(3):
        GK = rng.standard_normal((N, N))
        GK = GK + GK.T
        GS = rng.standard_normal((N, N))
        GS = GS + GS.T
        p = price(GK, GS, activation=act, basis=None if basis == "identity" else B)
        assert p.exact
        P = rng.standard_normal((300000, B.shape[0]))
        P /= np.linalg.norm(P, axis=1, keepdims=True)
        Z = P @ B
        S = np.where(Z >= 0, a * Z, b * Z)
        v = np.einsum("ij,jk,ik->i", Z, GK, Z) + np.einsum("ij,jk,ik->i", S, GS, S)
        z = p.z
        s = np.where(z >= 0, a * z, b * z)
        assert p.value == pytest.approx(z @ GK @ z + s @ GS @ s, abs=1e-12)
        assert p.value <= v.min() + 1e-12
        assert p.value >= v.min() - 0.05 * max(1.0, abs(v.min()))


def test_price_heuristic_not_exact():
    rng = np.random.default_rng(0)
    N = 16
    G = rng.standard_normal((N, N))
    p = price(np.zeros((N, N)), -(G @ G.T), activation=relu, rng=0)
    assert not p.exact and p.method.startswith("heuristic")
    z = p.z
    assert p.value == pytest.approx(-np.maximum(z, 0) @ G @ G.T @ np.maximum(z, 0), rel=1e-12)


# --------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    t=st.floats(-100, 100, allow_nan=False).filter(lambda x: abs(x) > 1e-3),
    r=st.integers(1, 4),
    act=st.sampled_from(ACTS),
)
def test_homogeneity_in_theta(seed, t, r, act):
    rng = np.random.default_rng(seed)
    N = int(rng.integers(1, 8))
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    v1 = max_group_norm(Theta, B, act).value
    v2 = max_group_norm(t * Theta, B, act).value
    assert v2 == pytest.approx(abs(t) * v1, rel=1e-9, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), t=st.floats(1e-2, 1e2))
def test_scaling_of_basis_and_rotation(seed, t):
    """m(Θ, tQB) = t·m(Θ, B) for t > 0 and orthogonal Q (σ positively homogeneous)."""
    rng = np.random.default_rng(seed)
    N = int(rng.integers(2, 10))
    B = rng.standard_normal((3, N))
    Theta = rng.standard_normal((N, 2))
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    v1 = max_group_norm(Theta, B, relu).value
    v2 = max_group_norm(Theta, t * Q @ B, relu).value
    assert v2 == pytest.approx(t * v1, rel=1e-9)


@pytest.mark.slow
def test_r3_large_fast_matches_naive():
    rng = np.random.default_rng(9)
    B = data_basis(250, rng)
    Theta = rng.standard_normal((250, 2))
    assert max_group_norm(Theta, B, relu).value == pytest.approx(
        max_group_norm(Theta, B, relu, _method="naive").value, rel=1e-12)
