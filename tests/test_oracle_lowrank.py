"""Tests of covcone.oracle.lowrank: the exact r ≤ 3 arrangement oracle (compiled and numpy walks)
against the independent reference enumeration, sign patterns and dense sphere sampling."""
import importlib.util
import tracemalloc

import numpy as np
import pytest

from covcone.activations import absolute, leaky_relu, linear, relu
from covcone.oracle import group_norms, lowrank, max_group_norm
from covcone.oracle._kernels import _DIVERSE_COS, _Pool
from covcone.shallow import input_basis

ACTS = [relu, leaky_relu(0.2), absolute, linear, (0.5, -2.0)]
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
WALKS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed"))]


@pytest.fixture(params=WALKS)
def walk(request, monkeypatch):
    """Run the test once with the numpy walk and once with the compiled one."""
    if request.param == "numpy":
        monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
    else:
        monkeypatch.delenv("COVCONE_NO_NUMBA", raising=False)
        assert lowrank._numba_kernel() is not None
    return request.param


def _slopes(act):
    return act if isinstance(act, tuple) else (act.a, act.b)


def brute(Theta, B, act, P):
    a, b = _slopes(act)
    Z = P @ B
    return np.linalg.norm(np.where(Z >= 0, a * Z, b * Z) @ Theta, axis=1)


def sphere_points(n, rng):
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    th = np.pi * (1 + 5**0.5) * i
    P = np.column_stack([np.cos(th) * np.sin(phi), np.sin(th) * np.sin(phi), np.cos(phi)])
    R = rng.standard_normal((n // 4, 3))
    return np.vstack([P, R / np.linalg.norm(R, axis=1, keepdims=True)])


def data_basis(N, rng):
    return input_basis(rng.standard_normal((N, 2)), 1.0)[2]


def degenerate(name, rng):
    B = rng.standard_normal((3, 7))
    line = rng.standard_normal(3)
    if name == "duplicates":
        return np.column_stack([B, B[:, :3], B[:, :1]])
    if name == "parallel":  # positively scaled copies
        return np.column_stack([B, 2.5 * B[:, 0], 0.1 * B[:, 1], 7.0 * B[:, 1]])
    if name == "antiparallel":
        return np.column_stack([B, -B[:, 0], -0.3 * B[:, 1], -B[:, 2], 4.0 * B[:, 2]])
    if name == "three_planes_one_line":  # several triples of planes through common lines
        L2 = rng.standard_normal(3)
        planes = [np.cross(line, rng.standard_normal(3)) for _ in range(3)]
        planes += [np.cross(L2, rng.standard_normal(3)) for _ in range(3)]
        return np.column_stack(planes + [B[:, :3]])
    if name == "zero_columns":
        return np.column_stack([B[:, :3], np.zeros(3), B[:, 3:], np.zeros(3)])
    if name == "grid":  # 2-D grid inputs with bias: many triple points and parallel pairs
        return np.array([[x, y, 1.0] for x in (-1, 0, 1, 2) for y in (-1, 0, 1)]).T
    raise ValueError(name)


DEGENERATE = ["duplicates", "parallel", "antiparallel", "three_planes_one_line", "zero_columns", "grid"]


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_r3_equals_reference_random(walk, act, k):
    rng = np.random.default_rng(17 * k + ACTS.index(act))
    for trial in range(8):
        N = int(rng.integers(3, 30))
        B = data_basis(N, rng) if trial % 2 else rng.standard_normal((3, N))
        Theta = rng.standard_normal((N, k))
        ref = max_group_norm(Theta, B, act, _method="naive")
        for n_starts in (0, 64):
            res = max_group_norm(Theta, B, act, rng=trial, n_starts=n_starts)
            assert res.exact and res.method == "arrangement r=3"
            assert res.value == pytest.approx(ref.value, rel=1e-10, abs=1e-12), (trial, n_starts)
            assert np.isclose(np.linalg.norm(res.C[0]), 1.0)
            assert brute(Theta, B, act, res.C[:1])[0] == pytest.approx(res.value, rel=1e-12)


@pytest.mark.parametrize("name", DEGENERATE)
@pytest.mark.parametrize("act", ACTS, ids=str)
def test_r3_degenerate_vs_reference_and_grid(walk, name, act):
    rng = np.random.default_rng(DEGENERATE.index(name))
    B = degenerate(name, rng)
    N = B.shape[1]
    P = sphere_points(40000, rng)
    for k in (1, 2, 3):
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act, rng=0, n_starts=0)
        assert res.exact
        ref = max_group_norm(Theta, B, act, _method="naive")
        assert res.value == pytest.approx(ref.value, rel=1e-10, abs=1e-12)
        s = brute(Theta, B, act, P).max()
        assert s <= res.value + 1e-12
        assert res.value <= s + 0.05 * max(1.0, res.value)
        if N <= 12:
            full = max_group_norm(Theta, B, act, _method="sign patterns 3^N")
            assert res.value == pytest.approx(full.value, rel=1e-10, abs=1e-12)


def test_r3_walks_agree_larger(monkeypatch):
    rng = np.random.default_rng(11)
    for act in (relu, absolute, (0.5, -2.0)):
        N = 120
        B = data_basis(N, rng)
        Theta = rng.standard_normal((N, 2))
        ref = max_group_norm(Theta, B, act, _method="naive").value
        monkeypatch.setenv("COVCONE_NO_NUMBA", "1")
        v_np = max_group_norm(Theta, B, act, rng=1, n_starts=0).value
        monkeypatch.delenv("COVCONE_NO_NUMBA")
        v_nb = max_group_norm(Theta, B, act, rng=1, n_starts=0).value
        assert v_np == pytest.approx(ref, rel=1e-11)
        assert v_nb == pytest.approx(ref, rel=1e-11)


def test_r3_small_capacity_revisits_circles(walk):
    """With one slot per circle most candidates are dropped at first: the circles whose dropped
    bound still matters must be walked again, and the value must stay exact."""
    rng = np.random.default_rng(5)
    N = 60
    B = data_basis(N, rng)
    Theta = rng.standard_normal((N, 2))
    ref = max_group_norm(Theta, B, relu, _method="naive").value
    pool = _Pool(Theta, B, 1.0, 0.0, 5)
    scale2 = float(np.sum(np.linalg.norm(B, axis=0) * np.linalg.norm(Theta, axis=1))) ** 2
    lowrank._exact_r3_group(Theta, B, 1.0, 0.0, pool, scale2, capacity=1)
    assert pool.v[0] == pytest.approx(ref, rel=1e-11)


@pytest.mark.parametrize("k", [1, 2])
def test_n_best_distinct_feasible_descending(walk, k):
    rng = np.random.default_rng(3 + k)
    N = 80
    B = data_basis(N, rng)
    Theta = rng.standard_normal((N, k))
    one = max_group_norm(Theta, B, relu, n_best=1)
    res = max_group_norm(Theta, B, relu, n_best=12)
    assert res.value == pytest.approx(one.value, rel=1e-12)
    assert res.values[0] == res.value
    assert 2 <= res.C.shape[0] <= 12
    assert np.all(np.diff(res.values) <= 0)
    assert np.allclose(np.linalg.norm(res.C, axis=1), 1.0)
    assert np.allclose(group_norms(Theta, B, relu, res.C), res.values, rtol=1e-12)
    G = res.C @ res.C.T
    assert np.all(G[np.triu_indices(len(G), 1)] < _DIVERSE_COS + 1e-12)  # distinct directions


def test_circle_classes_match_dense_table():
    rng = np.random.default_rng(0)
    for name in DEGENERATE:
        B = degenerate(name, rng)
        B = B[:, np.linalg.norm(B, axis=0) > 0]
        N = B.shape[1]
        circ = lowrank._Circles(B, rng.standard_normal((N, 2)), 1.0, 0.0)
        par = lowrank._r3_setup(B, 1.0, 0.0)[0]
        same = circ.label[:, None] == circ.label[None, :]
        assert np.array_equal(same, par), name
        # each column's plane is its class's circle: b_j ⟂ (u, v)
        Bn = B / np.linalg.norm(B, axis=0)
        assert np.allclose(np.einsum("rj,jr->j", Bn, circ.U[circ.label]), 0, atol=1e-12)
        assert np.allclose(np.abs(np.einsum("rj,jr->j", Bn, circ.n[circ.label])), 1, atol=1e-12)


@pytest.mark.parametrize("act", ACTS, ids=str)
@pytest.mark.parametrize("k", [1, 2])
def test_r2_vs_dense_circle_and_reference(act, k):
    rng = np.random.default_rng(k)
    t = np.linspace(0, 2 * np.pi, 200000, endpoint=False)
    P = np.column_stack([np.cos(t), np.sin(t)])
    for N in (1, 2, 5, 40):
        B = rng.standard_normal((2, N))
        if N >= 5:
            B[:, 1] = -2 * B[:, 0]  # antiparallel pair
            B[:, 2] = B[:, 3]  # duplicate
        Theta = rng.standard_normal((N, k))
        res = max_group_norm(Theta, B, act)
        ref = max_group_norm(Theta, B, act, _method="naive")
        assert res.exact and res.method == "arrangement r<=2"
        assert res.value == pytest.approx(ref.value, rel=1e-10, abs=1e-12)
        s = brute(Theta, B, act, P).max()
        assert s <= res.value + 1e-12 and res.value <= s * (1 + 1e-4) + 1e-12


def test_r2_large_is_fast_and_exact():
    """N = 20000 on a circle: O(N log N), and equal to a dense evaluation near the maximiser."""
    rng = np.random.default_rng(1)
    N = 20000
    B = rng.standard_normal((2, N))
    Theta = rng.standard_normal((N, 2))
    res = max_group_norm(Theta, B, relu, n_best=5)
    c = res.C[0]
    t0 = np.arctan2(c[1], c[0])
    t = t0 + np.linspace(-1e-3, 1e-3, 4001)
    s = brute(Theta, B, relu, np.column_stack([np.cos(t), np.sin(t)])).max()
    assert s <= res.value * (1 + 1e-12)
    assert res.value == pytest.approx(brute(Theta, B, relu, res.C[:1])[0], rel=1e-12)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
def test_r3_memory_has_no_n_by_n_table(monkeypatch):
    """The compiled walk keeps O(N · chunk) memory: at N = 3000 an N × N float table alone
    would be 72 MB; the traced peak of the whole oracle call must stay far below."""
    monkeypatch.delenv("COVCONE_NO_NUMBA", raising=False)
    rng = np.random.default_rng(0)
    N = 3000
    B = data_basis(N, rng)
    Theta = rng.standard_normal((N, 1))
    max_group_norm(Theta[:30], B[:, :30], relu)  # compile / load outside the trace
    tracemalloc.start()
    res = max_group_norm(Theta, B, relu, n_best=4)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.exact
    assert peak < 24e6, peak


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("n_best", [1, 5, 30])
def test_pool_greedy_compiled_equals_numpy(n_best):
    """The compiled greedy selection of the pool keeps exactly the rows the numpy loop keeps."""
    from covcone.oracle._kernels import _greedy_distinct

    rng = np.random.default_rng(n_best)
    for r in (2, 3, 5):
        A = rng.standard_normal((400, r))
        A[200:300] = A[:100] + 1e-7 * rng.standard_normal((100, r))  # near-copies to block
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        for cos in (0.5, 0.99, 1 - 1e-9):
            ref = _greedy_distinct(A, n_best, cos, use_numba=False)
            got = _greedy_distinct(A, n_best, cos, use_numba=True)
            assert np.array_equal(ref, got)
            assert ref.size == min(n_best, 400) or cos < 0.99


def test_circle_geometry_cache_is_keyed_by_the_data():
    """The rank-3 circle classes are cached by B's bytes: the same B gives the cached classes,
    a changed B (same shape) its own — and the cached result equals a fresh computation."""
    rng = np.random.default_rng(7)
    B = rng.standard_normal((3, 40))
    B[:, 5] = -2.0 * B[:, 3]  # a parallel pair: one class
    lowrank._GEOMETRY_CACHE.clear()
    g1 = lowrank._circle_geometry(B)
    assert lowrank._circle_geometry(B.copy()) is g1
    assert g1.n.shape[0] == 39 and g1.label[5] == g1.label[3]
    B2 = B.copy()
    B2[:, 5] = rng.standard_normal(3)
    g2 = lowrank._circle_geometry(B2)
    assert g2 is not g1 and g2.n.shape[0] == 40
    lowrank._GEOMETRY_CACHE.clear()
    g3 = lowrank._circle_geometry(B)
    assert np.array_equal(g3.label, g1.label) and np.allclose(g3.n, g1.n) and np.allclose(g3.U, g1.U)
