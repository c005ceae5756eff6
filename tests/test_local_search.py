"""The local exact search of the pricing oracle at input rank ≥ 4 (``local=True``): every face at the
vertices of the planes nearest some centers.  It proves nothing, so what is tested is that its
candidates are true values, that with every plane it is the whole arrangement (the exact maximum,
against the independent reference enumeration), its budget, and that column generation asks for
it exactly where a full enumeration is long."""
import math

import numpy as np
import pytest

import covcone
from covcone.activations import leaky_relu, relu
from covcone.oracle import max_group_norm
from covcone.oracle import vertices as vx
from covcone.oracle._kernels import _Pool, compiled

from oracle_reference import reference_max, true_value

WALKS = [False, pytest.param(True, marks=pytest.mark.skipif(compiled("_numba_vertices", "vertex_faces") is None,
                                                            reason="numba not installed"))]


def data_basis(X):
    A = np.vstack([X.T, np.ones(X.shape[0])])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:, None] * Vt


def local_pool(Theta, B, a, b, centers, use_numba, budget=1e9, n_best=4):
    planes = vx.Planes(Theta, B, a, b)
    pool = _Pool(Theta, B, a, b, n_best)
    scale2 = (max(abs(a), abs(b)) * float(np.sum(np.linalg.norm(B, axis=0) * np.linalg.norm(Theta, axis=1)))) ** 2
    st = vx.local_vertices_group(planes, pool, scale2, centers, use_numba=use_numba, budget=budget)
    return planes, pool, st


@pytest.mark.parametrize("use_numba", WALKS)
@pytest.mark.parametrize("act", [relu, leaky_relu(0.2), (0.5, -2.0)], ids=str)
@pytest.mark.parametrize("r, N, k", [(4, 8, 1), (5, 7, 3), (5, 8, 2)])
def test_local_search_with_every_plane_is_the_exact_maximum(use_numba, act, r, N, k):
    """With a budget that reaches every plane, the vertices of the local search are all the
    vertices of the arrangement and its completions all the faces: the exact maximum."""
    rng = np.random.default_rng(10 * r + N + k)
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, k))
    a, b = (act.a, act.b) if not isinstance(act, tuple) else act
    planes, pool, st = local_pool(Theta, B, a, b, rng.standard_normal((1, r)), use_numba)
    assert st["planes"] == planes.H and st["vertices"] == math.comb(planes.H, r - 1)
    ref, _ = reference_max(Theta, B, a, b)
    assert pool.v[0] == pytest.approx(ref, rel=1e-9)
    assert np.allclose(true_value(Theta, B, a, b, pool.C), pool.v, rtol=1e-12)  # true values


@pytest.mark.parametrize("use_numba", WALKS)
def test_local_search_on_degenerate_data_is_exact_with_every_plane(use_numba):
    """A grid of inputs (several planes through one vertex, duplicates): the degenerate vertices are
    walked with every plane through them."""
    grid = np.array([[x, y, z] for x in (-1, 0, 1) for y in (0, 1) for z in (0, 1)], float)[:8]
    B = data_basis(grid)
    rng = np.random.default_rng(3)
    for k in (1, 3):
        Theta = rng.standard_normal((B.shape[1], k))
        planes, pool, st = local_pool(Theta, B, 1.0, 0.0, rng.standard_normal((2, 4)), use_numba)
        assert st["planes"] == planes.H and st["degenerate_vertices"] > 0
        ref, _ = reference_max(Theta, B, 1.0, 0.0)
        assert pool.v[0] == pytest.approx(ref, rel=1e-9)


def test_local_budget_sets_the_planes_and_the_centers():
    """``n`` is the largest with ``C(n, r−1)·2·3^{r−1}`` forms within the per-center share; at high
    rank, where one vertex per center is over the budget, only the first centers are searched."""
    for p, budget in ((3, 2e5), (4, 2e5), (5, 5e4), (10, 1e3)):
        n = vx.local_plane_count(p, budget)
        assert n >= p
        assert n == p or math.comb(n, p) * 2 * 3**p <= budget
        assert math.comb(n + 1, p) * 2 * 3**p > budget
    rng = np.random.default_rng(0)
    r, N = 8, 12
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 1))
    _, pool, st = local_pool(Theta, B, 1.0, 0.0, rng.standard_normal((6, r)), False, budget=3 * 2 * 3**7)
    assert st["centers"] == 3 and st["planes"] == r - 1 and st["vertices"] <= 3
    assert pool.v.size and np.all(np.isfinite(pool.v))


def test_max_group_norm_local_adds_candidates_and_reports():
    """``local=True`` after the heuristic: its statistics are on the result, its value is at least
    the heuristic's (the pool only grows) and at most the exact maximum; a bad value is refused."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 4))
    B = data_basis(X)
    Theta = rng.standard_normal((8, 2))
    plain = max_group_norm(Theta, B, relu, exact=False, rng=0, n_starts=2)
    loc = max_group_norm(Theta, B, relu, exact=False, rng=0, n_starts=2, local=True)
    ref, _ = reference_max(Theta, B, 1.0, 0.0)
    assert loc.stats["local"]["vertices"] > 0 and not loc.exact
    assert plain.value <= loc.value * (1 + 1e-12) and loc.value <= ref * (1 + 1e-12)
    assert loc.bound >= ref * (1 - 1e-12)
    exact = max_group_norm(Theta, B, relu, rng=0, local=True, _method="vertices")
    assert exact.exact and exact.value == pytest.approx(ref, rel=1e-9) and "local" in exact.stats
    with pytest.raises(ValueError, match="local"):
        max_group_norm(Theta, B, relu, local="yes")


@pytest.mark.parametrize("long, affordable", [(False, True), (True, True), (True, False)])
def test_column_generation_searches_locally_where_an_enumeration_is_long(monkeypatch, long, affordable):
    """The heuristic call of a round asks for the local search at input rank ≥ 4 exactly when the
    vertex enumeration would build more than ``LOCAL_MIN_FORMS`` forms and is within its budget
    ``MAX_VERTEX_FORMS`` (beyond it the branch and bound ends the rounds)."""
    import covcone.oracle as oracle
    from covcone.shallow import pricing

    monkeypatch.setattr(pricing, "LOCAL_MIN_FORMS", 0.0 if long else float("inf"))
    if not affordable:
        monkeypatch.setattr(oracle, "MAX_VERTEX_FORMS", 1.0)
    long = long and affordable
    seen = []
    real = max_group_norm

    def spy(*a, **kw):
        seen.append(kw.get("local", False) if not kw.get("exact", True) else None)
        return real(*a, **kw)

    monkeypatch.setattr("covcone.oracle.max_group_norm", spy)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((16, 4))
    Y = np.maximum(X @ rng.standard_normal((4, 1)), 0.0)
    res = covcone.solve(X, Y, lam=1e-2, max_rounds=2, rng=0)
    assert res.upper >= res.lower
    heuristic_calls = [s for s in seen if s is not None]
    assert heuristic_calls and all(s == long for s in heuristic_calls)


def test_local_search_in_chunks_is_the_same_search(monkeypatch):
    """The vertices are processed in chunks of bounded memory; split into several chunks, the
    search finds the same maximum (the whole arrangement here) as in one."""
    rng = np.random.default_rng(8)
    r, N = 5, 9
    B = rng.standard_normal((r, N))
    Theta = rng.standard_normal((N, 2))
    center = rng.standard_normal((1, r))
    _, one, st1 = local_pool(Theta, B, 1.0, 0.0, center, False)
    monkeypatch.setattr(vx, "_CHUNK_ENTRIES", 1)  # chunks of 64 vertices
    _, many, st2 = local_pool(Theta, B, 1.0, 0.0, center, False)
    assert st1["vertices"] == st2["vertices"] == math.comb(9, 4) > 64
    assert many.v[0] == pytest.approx(one.v[0], rel=1e-12)
    assert one.v[0] == pytest.approx(reference_max(Theta, B, 1.0, 0.0)[0], rel=1e-9)
