"""Pricing beyond input rank 3: the vertex enumeration (exact, any rank) and the anytime branch
and bound, against the independent brute force of tests/oracle_reference.py."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from covcone.activations import absolute, leaky_relu, linear, relu
from covcone.oracle import GroupPrice, exact_affordable, group_norms, max_group_norm, oracle_path

from oracle_reference import reference_max, true_value

ACTS = [relu, leaky_relu(0.2), absolute, linear, (0.5, -2.0)]


def slopes(act):
    return act if isinstance(act, tuple) else (act.a, act.b)


def data_basis(X):
    """Basis of the input range with a bias row: B = S Vᵀ from the thin SVD of [Xᵀ; 1ᵀ]."""
    A = np.vstack([X.T, np.ones(X.shape[0])])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > 1e-12 * s[0]
    return s[keep, None] * Vt[keep]


def sphere(r, n, rng):
    P = rng.standard_normal((n, r))
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def check_exact(res, Theta, B, act, rel=1e-8):
    a, b = slopes(act)
    ref, _ = reference_max(Theta, B, a, b)
    assert res.exact
    assert res.value == pytest.approx(ref, rel=rel, abs=1e-12)
    assert res.bound == res.value
    assert true_value(Theta, B, a, b, res.C[0])[0] == pytest.approx(res.value, rel=1e-12)
    return ref


def vertices_and_sign_patterns(X, rng, act):
    """The vertex enumeration and all 3^N sign patterns (no heuristic seeding) on the data basis
    of X with a random Θ of 1–3 outputs."""
    B = data_basis(X)
    Theta = rng.standard_normal((X.shape[0], int(rng.integers(1, 4))))
    full = max_group_norm(Theta, B, act, _method="sign patterns 3^N", n_starts=0)
    vert = max_group_norm(Theta, B, act, _method="vertices", n_starts=0)
    return vert, full


# --------------------------------------------------------------------------------------------
# vertex enumeration: exact at any rank
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_vertices_match_reference(act, k):
    rng = np.random.default_rng(100 + 7 * k + ACTS.index(act))
    for r, N in ((4, 7), (5, 6)):
        B = rng.standard_normal((r, N))
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act, _method="vertices", rng=0)
        assert res.method == "vertices" and res.stats["vertices"] > 0
        check_exact(res, Theta, B, act)


@pytest.mark.parametrize("r", [6, 7, pytest.param(8, marks=pytest.mark.slow)])
def test_vertices_high_rank_match_reference(r):
    rng = np.random.default_rng(r)
    N = r + 1 if r > 6 else 8
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    for act in (relu, (0.5, -2.0)):
        ref = check_exact(max_group_norm(Theta, B, act, _method="vertices", n_starts=0), Theta, B, act)
        for nodes in (1, 300):  # the branch-and-bound bound (κ-free term from rank 7) is valid
            bb = max_group_norm(Theta, B, act, _method="branch and bound", max_nodes=nodes, n_starts=0)
            assert bb.bound >= ref * (1 - 1e-12) and bb.value <= ref * (1 + 1e-12)


def degenerate_cases(rng):
    """Duplicate, scaled, opposite and collinear inputs (rank 4 with bias); a grid of inputs
    (many planes through one vertex); parallel columns of B."""
    X = rng.standard_normal((8, 3))
    dup = X.copy()
    dup[1] = dup[0]
    dup[5] = dup[4]
    line = X.copy()
    p, d = rng.standard_normal(3), rng.standard_normal(3)
    line[2:6] = p + np.array([-1.0, 0.0, 0.5, 2.0])[:, None] * d  # four collinear points
    grid = np.array([[x, y, z] for x in (-1, 0, 1) for y in (0, 1) for z in (0, 1)], float)[:8]
    Bp = rng.standard_normal((4, 6))
    par = np.column_stack([Bp, 2.0 * Bp[:, 0], -0.5 * Bp[:, 1]])
    return {"duplicates": data_basis(dup), "collinear": data_basis(line), "grid": data_basis(grid),
            "parallel": par}


@pytest.mark.parametrize("name", ["duplicates", "collinear", "grid", "parallel"])
@pytest.mark.parametrize("act", ACTS, ids=str)
def test_vertices_degenerate_data(name, act):
    rng = np.random.default_rng(11)
    B = degenerate_cases(rng)[name]
    N = B.shape[1]
    for k in (1, 3):
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act, _method="vertices", n_starts=0)
        check_exact(res, Theta, B, act)


def test_vertices_without_warm_start_and_n_best():
    rng = np.random.default_rng(3)
    B = rng.standard_normal((4, 7))
    Theta = rng.standard_normal((7, 2))
    ref, _ = reference_max(Theta, B, 1.0, 0.0)
    res = max_group_norm(Theta, B, relu, _method="vertices", n_starts=0, n_best=4)
    assert res.value == pytest.approx(ref, rel=1e-10)
    assert np.all(np.diff(res.values) <= 1e-15)
    assert np.allclose(group_norms(Theta, B, relu, res.C), res.values, rtol=1e-12)


def test_vertices_agree_with_sign_patterns_default_path():
    """N = 12: the default path (3^N) and the vertices agree; N = 16 (beyond 3^N): the default
    path is the vertex enumeration, above dense sampling and below the branch-and-bound bound."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((12, 3))
    B = data_basis(X)
    Theta = rng.standard_normal((12, 2))
    full = max_group_norm(Theta, B, leaky_relu(0.1))
    vert = max_group_norm(Theta, B, leaky_relu(0.1), _method="vertices")
    assert full.method == "sign patterns 3^N"
    assert vert.value == pytest.approx(full.value, rel=1e-10)
    X = rng.standard_normal((16, 3))
    B = data_basis(X)
    Theta = rng.standard_normal((16, 1))
    res = max_group_norm(Theta, B, relu)
    assert res.method in ("vertices", "branch and bound, closed") and res.exact
    assert oracle_path(4, 16) == "vertices"
    assert max_group_norm(Theta, B, relu, _method="vertices").value == pytest.approx(res.value, rel=1e-9)
    s = true_value(Theta, B, 1.0, 0.0, sphere(4, 200000, rng))
    assert res.value >= s.max() - 1e-12
    bb = max_group_norm(Theta, B, relu, _method="branch and bound", max_nodes=2000)
    assert bb.bound >= res.value * (1 - 1e-12)


# --------------------------------------------------------------------------------------------
# branch and bound: a valid bound at any budget, exact when it closes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS, ids=str)
def test_bnb_bound_valid_at_every_budget(act):
    rng = np.random.default_rng(20 + ACTS.index(act))
    for r, N, k in ((4, 6, 1), (5, 6, 2), (6, 7, 3)):
        B = rng.standard_normal((r, N))
        Theta = rng.standard_normal((N, k))
        a, b = slopes(act)
        ref, _ = reference_max(Theta, B, a, b)
        prev = math.inf
        for nodes in (1, 16, 128, 1024):
            res = max_group_norm(Theta, B, act, _method="branch and bound", max_nodes=nodes, rng=0)
            assert res.bound >= ref * (1 - 1e-12), (r, nodes)
            assert res.value <= ref * (1 + 1e-12)
            assert res.stats["nodes"] >= 1 and "open" in res.stats and "closed" in res.stats
            if res.exact:
                assert res.stats["closed"]
                assert res.bound == pytest.approx(ref, rel=1e-8)
            assert res.bound <= prev * (1 + 1e-12)  # the same search, longer: never a worse bound
            prev = res.bound
        res = max_group_norm(Theta, B, act, _method="branch and bound", time_limit=0.05, rng=0)
        assert res.bound >= ref * (1 - 1e-12)


@pytest.mark.parametrize("act", [relu, absolute, (0.5, -2.0)], ids=str)
def test_bnb_closes_on_small_instances(act):
    rng = np.random.default_rng(40)
    for r, N, k in ((4, 6, 1), (4, 7, 2), (5, 6, 1)):
        B = rng.standard_normal((r, N))
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act, _method="branch and bound", time_limit=30, rng=0)
        assert res.stats["closed"] and res.exact
        a, b = slopes(act)
        ref, _ = reference_max(Theta, B, a, b)
        assert res.value == pytest.approx(ref, rel=1e-8)
        assert res.bound == pytest.approx(ref, rel=1e-8) and res.bound >= ref * (1 - 1e-12)


def test_bnb_degenerate_data_bound_valid():
    rng = np.random.default_rng(12)
    for name, B in degenerate_cases(rng).items():
        N = B.shape[1]
        Theta = rng.standard_normal((N, 2))
        ref, _ = reference_max(Theta, B, 1.0, 0.0)
        res = max_group_norm(Theta, B, relu, _method="branch and bound", max_nodes=3000)
        assert res.bound >= ref * (1 - 1e-12), name
        assert res.value <= ref * (1 + 1e-12), name


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), r=st.integers(4, 7), k=st.integers(1, 3),
       nodes=st.sampled_from([1, 10, 200]))
def test_bnb_bound_above_samples(seed, r, k, nodes):
    rng = np.random.default_rng(seed)
    N = 20
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, k))
    res = max_group_norm(Theta, B, absolute, _method="branch and bound", max_nodes=nodes, rng=seed)
    s = true_value(Theta, B, 1.0, -1.0, sphere(r, 4000, rng))
    assert res.bound >= s.max() * (1 - 1e-12)
    assert res.value <= res.bound
    assert res.bound <= max_group_norm(Theta, B, absolute, exact=False, rng=0).bound * (1 + 1e-9)  # ≤ spectral


# --------------------------------------------------------------------------------------------
# dispatch, budgets, results
# --------------------------------------------------------------------------------------------
def test_oracle_path_and_affordable():
    assert oracle_path(3, 10**4) == "arrangement r<=3"
    assert oracle_path(9, 12) == "sign patterns 3^N"
    assert oracle_path(4, 200) == "vertices" and exact_affordable(4, 200)
    assert oracle_path(11, 100) == "branch and bound" and not exact_affordable(11, 100)
    assert oracle_path(4, 200, max_faces=10) == "branch and bound"


def test_budget_overrun_falls_back_and_says_so():
    rng = np.random.default_rng(6)
    B = data_basis(rng.standard_normal((30, 3)))
    Theta = rng.standard_normal((30, 2))
    exact = max_group_norm(Theta, B, relu, _method="vertices")
    assert exact.exact and exact.method == "vertices"
    auto = max_group_norm(Theta, B, relu)
    assert auto.exact and auto.value == pytest.approx(exact.value, rel=1e-9)
    over = max_group_norm(Theta, B, relu, max_faces=10, max_nodes=50)
    assert over.method.startswith("branch and bound") and "budget" in over.stats and not over.exact
    forced = max_group_norm(Theta, B, relu, _method="vertices", max_faces=10, max_nodes=50)
    assert "vertex enumeration stopped" in forced.method and "budget" in forced.stats
    assert forced.bound >= exact.value * (1 - 1e-12)
    assert over.bound >= exact.value * (1 - 1e-12) and over.value <= exact.value * (1 + 1e-12)
    quick = max_group_norm(Theta, B, relu, time_limit=1e-4)
    assert "time limit" in quick.method or quick.exact
    assert quick.bound >= exact.value * (1 - 1e-12)
    assert quick.stats["time"] < 5.0


@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 2])
def test_heuristic_bound_is_valid_and_below_spectral(act, k):
    rng = np.random.default_rng(1 + k)
    B = rng.standard_normal((5, 7))
    Theta = rng.standard_normal((7, k))
    a, b = slopes(act)
    ref, _ = reference_max(Theta, B, a, b)
    res = max_group_norm(Theta, B, act, exact=False)
    spec = max(abs(a), abs(b)) * np.linalg.norm(Theta, 2) * np.linalg.norm(B, 2)
    assert not res.exact and res.value <= ref * (1 + 1e-12)
    assert ref * (1 - 1e-12) <= res.bound <= spec * (1 + 1e-9)
    if act is linear:
        assert res.bound == pytest.approx(ref, rel=1e-9)  # |m₀|·‖BΘ‖₂ is exact for σ linear


def test_starts_are_used():
    rng = np.random.default_rng(8)
    B = rng.standard_normal((5, 7))
    Theta = rng.standard_normal((7, 2))
    ref, c = reference_max(Theta, B, 1.0, 0.0)
    res = max_group_norm(Theta, B, relu, exact=False, n_starts=0, starts=c[None] * 3.0)
    assert res.value >= ref * (1 - 1e-12)
    with pytest.raises(ValueError, match=r"starts: expected shape \(s, r\) with r = 5"):
        max_group_norm(Theta, B, relu, starts=np.ones((2, 3)))
    with pytest.raises(ValueError, match="time_limit"):
        max_group_norm(Theta, B, relu, time_limit=-1)


def test_sampled_gates_heuristic_below_exact():
    rng = np.random.default_rng(9)
    B = data_basis(rng.standard_normal((25, 3)))
    Theta = rng.standard_normal((25, 1))
    ex = max_group_norm(Theta, B, relu)
    he = max_group_norm(Theta, B, relu, exact=False, n_starts=32, rng=1)
    assert he.value <= ex.value * (1 + 1e-12)
    assert he.value >= 0.5 * ex.value  # the local ascent lands on a reasonable point


def test_groupprice_backwards_compatible():
    res = GroupPrice(1.0, np.eye(2)[:1], np.ones(1), False, "custom", 0)
    assert res.bound == math.inf and res.stats == {}


# --------------------------------------------------------------------------------------------
# heavier cross-checks
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_vertices_vs_sign_patterns_many():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        r = int(rng.integers(4, 7))
        N = int(rng.integers(r + 2, 12))
        X = rng.standard_normal((N, r - 1))
        if seed % 3 == 0:
            X[1] = X[0]
            X[3] = 0.5 * (X[2] + X[4])
        vert, full = vertices_and_sign_patterns(X, rng, ACTS[seed % len(ACTS)])
        assert vert.value == pytest.approx(full.value, rel=1e-9), seed


@pytest.mark.slow
def test_bnb_closes_rank6_matches_reference():
    rng = np.random.default_rng(61)
    B = rng.standard_normal((6, 7))
    Theta = rng.standard_normal((7, 1))
    ref, _ = reference_max(Theta, B, 1.0, 0.0)
    res = max_group_norm(Theta, B, relu, _method="branch and bound", time_limit=300)
    assert res.bound >= ref * (1 - 1e-12)
    if res.stats["closed"]:
        assert res.bound == pytest.approx(ref, rel=1e-8)


# --------------------------------------------------------------------------------------------
# the compiled face walk (numba) and the numpy path enumerate the same faces; the floor
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("walk", ["numba", "numpy"])
@pytest.mark.parametrize("r, N, k", [(4, 9, 1), (5, 8, 2), (4, 7, 6), (6, 8, 3)])
def test_vertex_walks_match_reference(monkeypatch, walk, r, N, k):
    from covcone.oracle import vertices

    if walk == "numba":
        pytest.importorskip("numba")
        monkeypatch.delenv("COVCONE_NO_NUMBA", raising=False)
    else:
        monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
    rng = np.random.default_rng(7 * r + N + k)
    for act in (relu, (0.5, -2.0), absolute):
        B = rng.standard_normal((r, N))
        Theta = rng.standard_normal((N, k))
        check_exact(max_group_norm(Theta, B, act, _method="vertices", n_starts=0), Theta, B, act)
    assert (vertices._numba_kernel() is None) == (walk == "numpy")


@pytest.fixture(scope="module")
def floor_instance():
    """An instance (r = 4, N = 10, k = 2) and its reference maximum, enumerated once for the
    three methods (the independent enumeration is most of the time)."""
    rng = np.random.default_rng(5)
    B = data_basis(rng.standard_normal((10, 4)))
    Theta = rng.standard_normal((10, 2))
    a, b = slopes(relu)
    return Theta, B, reference_max(Theta, B, a, b)[0]


@pytest.mark.parametrize("method", ["vertices", "branch and bound", "sign patterns 3^N"])
def test_floor_prunes_but_bound_stays_valid(method, floor_instance):
    """With ``floor`` the call proves m ≤ max(value, floor): below the maximum it still finds the
    maximum; above it, the bound is the floor (never below the true maximum)."""
    Theta, B, ref = floor_instance
    kw = dict(_method=method, n_starts=0, rng=0, time_limit=60)
    low = max_group_norm(Theta, B, relu, floor=0.5 * ref, **kw)
    assert low.exact and low.value == pytest.approx(ref, rel=1e-8) and low.bound == pytest.approx(ref, rel=1e-8)
    high = max_group_norm(Theta, B, relu, floor=1.5 * ref, **kw)
    assert high.exact and high.value <= ref * (1 + 1e-12)
    assert ref * (1 - 1e-12) <= high.bound <= 1.5 * ref * (1 + 1e-9)  # at most the floor, never below m
    assert high.stats["floor"] == 1.5 * ref
    with pytest.raises(ValueError, match="floor"):
        max_group_norm(Theta, B, relu, floor=-1.0)


def test_face_signs_are_exactly_the_realised_faces():
    """face_signs (recursive, over the arrangement's rays) against an LP feasibility test of every
    sign vector in {−, 0, +}^q, on an arrangement of 7 planes with coincidences (rank 3 in R^4)."""
    from scipy.optimize import linprog

    from covcone.oracle.vertices import face_signs

    rng = np.random.default_rng(2)
    v = np.array([0.0, 0.0, 0.0, 1.0])
    base = rng.standard_normal((4, 3))
    Nm = np.vstack([base, base[0] + base[1], base[1] - 2 * base[2], base[0] + base[3]])
    Nm = np.column_stack([Nm, np.zeros(7)])  # all orthogonal to v
    Nm /= np.linalg.norm(Nm, axis=1, keepdims=True)
    got = {tuple(s) for s in face_signs(Nm).tolist()}
    want = set()
    for code in range(3**7):
        s = np.array([(code // 3**j) % 3 - 1 for j in range(7)])
        nz = s != 0
        A_ub = -(s[nz, None] * Nm[nz]) if nz.any() else None
        b_ub = -np.ones(nz.sum()) if nz.any() else None
        A_eq = Nm[~nz] if (~nz).any() else None
        b_eq = np.zeros((~nz).sum()) if (~nz).any() else None
        lp = linprog(np.zeros(4), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=[(None, None)] * 4)
        if lp.status == 0:
            want.add(tuple(int(x) for x in s))
    assert got == want


@pytest.mark.parametrize("walk", ["numba", "numpy"])
@pytest.mark.parametrize("q,seed,plane,ks", [(9, 9, (0.3, -0.2, 0.1), (1, 2)), (11, 12, (-0.4, 0.7, -0.3), (1, 3))])
def test_vertices_high_degree_vertex_matches_sign_patterns(monkeypatch, walk, q, seed, plane, ks):
    """q coplanar inputs in 3-D (as a binary feature puts half the samples on one hyperplane
    through the bias direction): q planes through one vertex, beyond the 3^q tables (q = 11:
    of both walks); the vertex enumeration against all 3^N sign patterns (an independent
    path), N = 12."""
    if walk == "numba":
        pytest.importorskip("numba")
        monkeypatch.delenv("COVCONE_NO_NUMBA", raising=False)
    else:
        monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((q, 2))
    X = np.vstack([np.column_stack([P, plane[0] * P[:, 0] + plane[1] * P[:, 1] + plane[2]]),
                   rng.standard_normal((12 - q, 3))])
    B = data_basis(X)
    for act, k in ((relu, ks[0]), ((0.5, -2.0), ks[1])):
        Theta = rng.standard_normal((12, k))
        full = max_group_norm(Theta, B, act, _method="sign patterns 3^N", n_starts=0)
        vert = max_group_norm(Theta, B, act, _method="vertices", n_starts=0)
        assert vert.exact and vert.stats["degenerate_vertices"] > 0
        assert vert.value == pytest.approx(full.value, rel=1e-9)


# --------------------------------------------------------------------------------------------
# the lowest-vertex rule of the compiled walk: each face at one vertex only, none missed
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_lowest_vertex_rule_covers_every_cell(seed):
    """Cells assigned by the rule (a cell with fixed signs per simple vertex off the equator, every
    cell around the others) against the cells hit by 200,000 random directions: every sampled
    cell is assigned at one of its vertices at least, and most vertices assign one cell only."""
    from covcone.oracle.vertices import Planes, _lowest_vertex_signs, refined

    rng = np.random.default_rng(seed)
    r, N = (4, 9) if seed % 2 else (5, 8)
    B = rng.standard_normal((r, N))
    pl = refined(Planes(rng.standard_normal((N, 1)), B, 1.0, 0.0))
    n, H = pl.n, pl.H
    assigned = set()
    n_fixed = 0
    for S in map(list, itertools.combinations(range(H), r - 1)):
        v = np.linalg.svd(n[S])[2][-1]
        t = n @ v
        t[S] = 0.0
        fix = _lowest_vertex_signs(pl, np.array([S]), v[None])[0]
        for eps in (1, -1):
            base = np.sign(eps * t).astype(int)
            choices = [[int(f)] if f else [1, -1] for f in fix]
            n_fixed += all(fix != 0)
            for signs in itertools.product(*choices):
                cell = base.copy()
                cell[S] = signs
                assigned.add(tuple(cell))
    C = rng.standard_normal((200_000, r))
    sampled = {tuple(s) for s in np.sign(C @ n.T).astype(int).tolist()}
    assert sampled <= assigned
    assert n_fixed > 0.5 * 2 * math.comb(H, r - 1)  # the rule is not vacuous


def walk_inputs(rng, seed):
    """Inputs of rank 4–6 with bias (by ``seed``): Gaussian, a grid (many planes per vertex), or
    with a duplicate and a midpoint."""
    r = 4 + seed % 3
    N = int(rng.integers(r + 2, 10))
    X = rng.standard_normal((N, r - 1))
    if seed % 4 == 1:
        X = rng.integers(-1, 2, size=(N, r - 1)).astype(float)  # a grid: many planes per vertex
    elif seed % 4 == 2:
        X[1] = X[0]
        X[3] = 0.5 * (X[2] + X[4])
    return X


@pytest.mark.parametrize("seed", range(16))
def test_lowest_vertex_walk_matches_sign_patterns(seed):
    """The compiled walk (each face at its lowest vertex) against all 3^N sign patterns, no
    heuristic seeding, generic and degenerate data, ranks 4–6, several activations and outputs."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(1000 + seed)
    X = walk_inputs(rng, seed)
    vert, full = vertices_and_sign_patterns(X, rng, ACTS[seed % len(ACTS)])
    assert vert.exact and vert.value == pytest.approx(full.value, rel=1e-9), seed


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_compiled_walk_with_a_threshold_just_below_the_maximum(seed):
    """The compiled walk when the threshold is the heuristic's value, as in column generation: most
    faces are then below it and pruned (a face below it removes every face whose zero set contains
    its own), yet the maximum is found, against all sign patterns; generic and degenerate data."""
    pytest.importorskip("numba")
    from covcone.oracle._kernels import _Pool
    from covcone.oracle.vertices import Planes, exact_vertices_group

    rng = np.random.default_rng(2000 + seed)
    X = walk_inputs(rng, seed)
    N = X.shape[0]
    B = data_basis(X)
    k = 1 + seed % 3
    Theta = rng.standard_normal((N, k))
    a, b = slopes(ACTS[seed % len(ACTS)])
    ref, _ = reference_max(Theta, B, a, b)
    planes = Planes(Theta, B, a, b)
    scale2 = (max(abs(a), abs(b)) * float(np.sum(np.linalg.norm(B, axis=0) * np.linalg.norm(Theta, axis=1)))) ** 2
    forms = []
    for floor, n_best in ((0.0, 10**9), (ref * 0.9, 1), (ref * (1 - 1e-6), 1)):  # first: no threshold at all
        pool = _Pool(Theta, B, a, b, n_best, floor=floor)
        forms.append(exact_vertices_group(planes, pool, scale2, use_numba=True)["forms"])
        assert np.sqrt(pool.best) == pytest.approx(ref, rel=1e-9), (seed, floor)
    assert forms[2] < forms[0]  # the threshold prunes here


def test_compiled_walk_finds_maximisers_on_lower_faces():
    """Maximisers on lower-dimensional faces (where the pruning across zero sets acts): B ≈ I and
    Θ pairing the coordinates (a matching) with negative weights elsewhere, so the best neurons
    are ≈ e_i + e_j with the other coordinates at zero (a 2-D face, as the edge neurons of the
    N²/4 example); the threshold just below the maximum, against all sign patterns.  (A wrong
    subset rule in that pruning — a face removed by an unrelated one — failed 4–7 of 60 seeds.)"""
    pytest.importorskip("numba")
    from covcone.oracle._kernels import _Pool
    from covcone.oracle.vertices import Planes, exact_vertices_group

    wrong, lower = [], 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        N = 6 + (seed % 4 == 0)
        B = np.eye(N) + 0.02 * rng.standard_normal((N, N))
        pairs = rng.permutation(N)[: 2 * (N // 2)].reshape(-1, 2)
        Theta = np.zeros((N, pairs.shape[0]))
        for e, (i, j) in enumerate(pairs):
            Theta[i, e] = Theta[j, e] = 1.0
        Theta[Theta == 0] = -0.1 - 0.1 * rng.random(np.count_nonzero(Theta == 0))
        Theta += 0.02 * rng.standard_normal(Theta.shape)
        a, b = (1.0, 0.0) if seed % 3 else (1.0, -0.3)
        ref, c = reference_max(Theta, B, a, b)
        lower += int(np.sum(np.abs(B.T @ np.ravel(c)) < 1e-7) > 0)
        planes = Planes(Theta, B, a, b)
        scale2 = float(np.sum(np.linalg.norm(B, axis=0) * np.linalg.norm(Theta, axis=1))) ** 2
        pool = _Pool(Theta, B, a, b, 1, floor=ref * (1 - 1e-6))
        exact_vertices_group(planes, pool, scale2, use_numba=True)
        if not abs(np.sqrt(pool.best) - ref) <= 1e-9 * ref:
            wrong.append(seed)
    assert not wrong
    assert lower >= 20  # the instances do have their maximisers on lower faces


def test_closed_form_top_eigenpair_matches_eigh():
    """The compiled walk's closed-form top eigenpair of its small Grams (trigonometric solution of
    the cubic, cross products) against numpy's eigh: eigenvalue and Rayleigh quotient within
    1e-12 of the top eigenvalue, and it declines (Jacobi takes over) rather than round badly
    when the top eigenvalue is near-repeated."""
    pytest.importorskip("numba")
    from covcone.oracle._numba_linalg import top_eigpair_small

    rng = np.random.default_rng(5)
    declined = 0
    for t in range(4000):
        n = 2 + t % 2
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        ev = rng.random(n) * 10 ** rng.uniform(-6, 3)
        if t % 3 == 0:
            ev[-1] = ev[0] * (1 - 10 ** rng.uniform(-14, -2))  # a near-repeated top pair
        M = (Q * ev) @ Q.T
        M = 0.5 * (M + M.T)
        top = np.linalg.eigvalsh(M)[-1]
        w = np.zeros(n)
        lam, ok = top_eigpair_small(M.copy(), n, w)
        if not ok:
            declined += 1
            continue
        assert lam == pytest.approx(top, rel=1e-12)
        assert w @ M @ w == pytest.approx(top, rel=1e-12) and np.linalg.norm(w) == pytest.approx(1.0)
    assert 0 < declined < 1500


def test_stop_above_ends_a_long_enumeration(monkeypatch):
    """``stop_above`` (column generation: any column above 2λ will do): a value above it ends the
    vertex enumeration — not exact, says so, bound still valid; a value nowhere reached changes
    nothing; a bad value is refused by name."""
    import covcone.oracle as oracle

    monkeypatch.setattr(oracle, "EARLY_STOP_MIN_SECONDS", -1.0)  # every enumeration counts as long
    rng = np.random.default_rng(17)
    B = rng.standard_normal((5, 9))
    Theta = rng.standard_normal((9, 2))
    ref, _ = reference_max(Theta, B, 1.0, 0.0)
    kw = dict(_method="vertices", n_starts=4, rng=0)
    low = max_group_norm(Theta, B, relu, stop_above=0.2 * ref, **kw)
    assert not low.exact and "stopped early" in low.method
    assert 0.2 * ref < low.value <= ref * (1 + 1e-12) <= low.bound * (1 + 1e-12)
    assert low.stats["stopped_at_head"] is not None
    high = max_group_norm(Theta, B, relu, stop_above=2.0 * ref, **kw)
    assert high.exact and high.value == pytest.approx(ref, rel=1e-9)
    for start in (low.stats["stopped_at_head"], 5, 99):  # a rotated pass is still the whole arrangement
        again = max_group_norm(Theta, B, relu, stop_above=2.0 * ref, _start_head=start, **{**kw, "n_starts": 0})
        assert again.exact and again.value == pytest.approx(ref, rel=1e-9)
    with pytest.raises(ValueError, match="stop_above"):
        max_group_norm(Theta, B, relu, stop_above=float("nan"))


def test_unique_sign_rows_is_the_set_of_rows():
    from covcone.oracle.vertices import _unique_sign_rows

    rng = np.random.default_rng(0)
    for q in (1, 7, 33, 64):
        S = rng.integers(-1, 2, size=(500, q)).astype(np.int8)
        S = np.vstack([S, S[::3], -S[:50]])
        got = _unique_sign_rows(S)
        assert got.shape[0] == len({tuple(x) for x in got.tolist()})
        assert {tuple(x) for x in got.tolist()} == {tuple(x) for x in S.tolist()}
    with pytest.raises(ValueError, match="64"):
        _unique_sign_rows(np.zeros((2, 65), np.int8))


@pytest.mark.parametrize("k", [1, 2])
def test_high_degree_vertex_yields_every_cell_maximiser_around_it(monkeypatch, k):
    """The faces at a vertex where eleven planes meet, checked on their own (elsewhere the other
    vertices of each face mask a miss): with nothing pruned, the candidates of the high-degree path
    contain the maximiser of every cell around the vertex whose top singular vector lies in it.
    Reference written from B and Θ directly: per cell (sign vector from ``face_signs``, whose own
    test is an LP), ``M = Σ_i θ_i·slope_i·b_iᵀ`` and its top right singular vector."""
    from covcone.oracle import vertices as vx

    monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
    rng = np.random.default_rng(5)
    P = rng.standard_normal((11, 2))
    X = np.vstack([np.column_stack([P, 0.5 * P[:, 0] + 0.2 * P[:, 1] + 0.4]), rng.standard_normal((2, 3))])
    B = data_basis(X)
    a, b = 1.0, 0.25
    seen = []
    original = vx._high_degree_faces

    def spy(*args):
        faces = next(a for a in args if isinstance(a, vx._Faces))
        before = len(faces.C)
        out = original(*args)
        seen.extend(faces.C[before:])
        return out

    monkeypatch.setattr(vx, "_high_degree_faces", spy)
    checked = 0
    for _ in range(12):
        checked += _cells_around_vertex_checked(vx, seen, B, a, b, rng.standard_normal((13, k)))
    assert checked > 0


def _cells_around_vertex_checked(vx, seen, B, a, b, Theta):
    from covcone.oracle._kernels import _Pool

    seen.clear()
    planes = vx.Planes(Theta, B, a, b)
    pool = _Pool(Theta, B, a, b, n_best=10**9)  # a threshold of −inf: nothing is pruned
    vx.exact_vertices_group(planes, pool, 1.0, use_numba=False)
    assert seen, "the high-degree path did not run"
    C = np.vstack(seen)
    got = true_value(Theta, B, a, b, C)
    # the vertex: the null direction of the eleven coplanar columns
    u = np.linalg.svd(B[:, :11].T)[2][-1]
    Nm = (B[:, :11] / np.linalg.norm(B[:, :11], axis=0)).T
    checked = 0
    for sgn in (1.0, -1.0):
        base = np.sign(sgn * u @ B)
        for s in vx.face_signs(Nm):
            if np.any(s == 0):
                continue
            full = base.copy()
            full[:11] = s
            slope = np.where(full > 0, a, b)
            M = (Theta * slope[:, None]).T @ B.T  # k × r: Θᵀσ(Bᵀc) = M c on the cell
            _, sv, Vt = np.linalg.svd(M)
            for c in (Vt[0], -Vt[0]):
                if np.all((c @ B) * full >= -1e-12):  # the maximiser lies in this cell (closure)
                    checked += 1
                    assert got.max(initial=0.0) >= sv[0] * (1 - 1e-9)
                    assert np.any(np.abs(got - sv[0]) <= 1e-9 * sv[0]), "a cell's maximiser is missing"
    return checked


def test_high_degree_vertex_over_memory_budget_says_so_and_keeps_a_valid_bound(monkeypatch):
    """A vertex whose faces would not fit the memory budget stops the enumeration with a message
    naming the planes and the GB; the oracle falls back to the branch and bound, whose bound
    stays ≥ the maximum over all 3^N sign patterns."""
    from covcone.oracle import vertices as vx

    rng = np.random.default_rng(12)
    P = rng.standard_normal((11, 2))
    X = np.vstack([np.column_stack([P, -0.4 * P[:, 0] + 0.7 * P[:, 1] - 0.3]), rng.standard_normal((1, 3))])
    B = data_basis(X)
    Theta = rng.standard_normal((12, 2))
    monkeypatch.setattr(vx, "HIGH_DEGREE_BYTES", 1.0)
    monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
    from covcone.oracle._kernels import _Pool

    with pytest.raises(vx.BudgetExceeded, match=r"11 planes meet at one vertex: its faces need .* GB"):
        vx.exact_vertices_group(vx.Planes(Theta, B, 1.0, 0.0), _Pool(Theta, B, 1.0, 0.0, 4), 1.0, use_numba=False)
    full = max_group_norm(Theta, B, relu, _method="sign patterns 3^N", n_starts=0)
    res = max_group_norm(Theta, B, relu, _method="vertices", n_starts=0, max_nodes=200)
    assert not res.exact and "GB" in res.method
    assert res.bound >= full.value * (1 - 1e-12) and res.value <= full.value * (1 + 1e-12)


def test_vertex_enumeration_reports_progress(monkeypatch):
    """``progress`` is called between chunks with the vertices walked (rising, at most all of them)
    and the best value so far (at most the maximum, which the call then returns)."""
    from covcone.oracle import _kernels, vertices

    monkeypatch.setattr(_kernels, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(vertices, "_CHUNK_ENTRIES", 2000)  # many small chunks
    rng = np.random.default_rng(3)
    B = data_basis(rng.standard_normal((40, 3)))
    Theta = rng.standard_normal((40, 2))
    calls = []
    res = max_group_norm(Theta, B, relu, _method="vertices", progress=lambda **kw: calls.append(kw), rng=0)
    assert res.exact and len(calls) >= 2
    done = [c["done"] for c in calls]
    assert done == sorted(done) and done[-1] <= calls[-1]["total"]
    assert calls[-1]["total"] in (math.comb(40, 3), math.comb(41, 3))  # (the compiled walk adds a virtual plane)
    assert all(c["best"] <= res.value * (1 + 1e-12) for c in calls)


def test_solve_verbose_shows_where_a_long_pricing_call_is(monkeypatch, capsys):
    """``solve(verbose=True)`` at input rank ≥ 4: the vertex enumeration's progress appears after
    the round bar (vertices walked and the best m/2λ)."""
    import covcone
    from covcone.oracle import _kernels, vertices

    monkeypatch.setattr(_kernels, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(vertices, "_CHUNK_ENTRIES", 2000)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    Y = np.maximum(X @ rng.standard_normal(3), 0.0)[:, None]
    res = covcone.solve(X, Y, lam=1e-2, verbose=True, rng=0, time_limit=120)
    err = capsys.readouterr().err
    assert "vertices" in err and "m/2λ" in err, err[-2000:]
    assert res.status in ("certified", "bounded")


def test_branch_and_bound_reports_progress(monkeypatch):
    """The branch and bound reports its nodes (rising), open regions and a bound that is valid at
    that moment (at least the maximum, never rising)."""
    from covcone.oracle import _kernels

    monkeypatch.setattr(_kernels, "PROGRESS_SECONDS", 0.0)
    rng = np.random.default_rng(5)
    B = rng.standard_normal((5, 9))
    Theta = rng.standard_normal((9, 2))
    ref, _ = reference_max(Theta, B, 1.0, 0.0)
    calls = []
    max_group_norm(Theta, B, relu, _method="branch and bound", max_nodes=3000, n_starts=0, rng=0,
                   progress=lambda **kw: calls.append(kw))
    assert len(calls) >= 2
    assert [c["nodes"] for c in calls] == sorted(c["nodes"] for c in calls)
    assert all(c["bound"] >= ref * (1 - 1e-12) and c["best"] <= ref * (1 + 1e-12) for c in calls)
    assert all(c2["bound"] <= c1["bound"] * (1 + 1e-8) for c1, c2 in itertools.pairwise(calls))
