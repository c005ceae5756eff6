"""The compiled preparation of the vertex enumeration (``_numba_vertices.vertex_parts``: the signs
of each vertex on every plane, the planes through it, its outside parts ``G_±`` and the
lowest-vertex signs) against its numpy twins ``_outside_parts`` and ``_lowest_vertex_signs``, on
generic and degenerate arrangements, with and without the virtual plane."""
import itertools

import numpy as np
import pytest

from covcone.oracle import vertices as vx
from covcone.oracle._kernels import compiled

pytestmark = pytest.mark.skipif(compiled("_numba_vertices", "vertex_parts") is None, reason="numba not installed")


def data_basis(X):
    A = np.vstack([X.T, np.ones(X.shape[0])])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > 1e-12 * s[0]
    return s[keep, None] * Vt[keep]


def all_vertices(planes):
    """Every vertex of the arrangement: one row per set of r − 1 independent planes."""
    S = np.array(list(itertools.combinations(range(planes.H), planes.r - 1)), dtype=np.int64)
    _, sv, Vt = np.linalg.svd(planes.n[S])
    ok = sv[:, -1] > 1e-9
    return S[ok], Vt[ok, -1]


def instances():
    rng = np.random.default_rng(5)
    out = {"generic r4": rng.standard_normal((4, 11)), "generic r5 k3": rng.standard_normal((5, 9))}
    grid = np.array([[x, y, z] for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (0, 1)], float)
    out["grid (many planes per vertex)"] = data_basis(grid)
    X = rng.standard_normal((10, 4))
    X[1] = X[0]
    X[3] = 0.5 * (X[2] + X[4])
    out["duplicates and a midpoint"] = data_basis(X)
    return out


@pytest.mark.parametrize("refine", [True, False], ids=["virtual plane", "no virtual plane"])
@pytest.mark.parametrize("name", list(instances()))
@pytest.mark.parametrize("k", [1, 3])
def test_compiled_vertex_parts_match_numpy(name, k, refine):
    B = instances()[name]
    rng = np.random.default_rng(k)
    planes = vx.Planes(rng.standard_normal((B.shape[1], k)), B, 1.0, 0.2)
    if refine:
        planes = vx.refined(planes)
    S, V = all_vertices(planes)
    P = vx._Products(planes)
    sO, n_on, Gp, Gm, fix = vx._vertex_parts(planes, V, S, P, fix=True, use_compiled=True)
    sO0, n_on0, Gp0, Gm0 = vx._outside_parts(V, S, planes.n, P)
    assert np.array_equal(sO, sO0) and np.array_equal(n_on, n_on0)
    scale = max(1.0, np.abs(Gp0).max(), np.abs(Gm0).max())
    assert np.abs(Gp - Gp0).max() <= 1e-12 * scale and np.abs(Gm - Gm0).max() <= 1e-12 * scale
    simple = n_on == planes.r - 1
    if refine:
        fix0 = vx._lowest_vertex_signs(planes, S[simple], V[simple])
        assert np.array_equal(fix[simple], fix0)
        assert np.count_nonzero(fix0) > 0.25 * fix0.size  # the rule is not vacuous here
    assert not np.any(fix[~simple]) and (refine or not np.any(fix))
    # the numpy path of the same function gives the same arrays
    np_parts = vx._vertex_parts(planes, V, S, P, fix=True, use_compiled=False)
    assert all(np.array_equal(x, y) for x, y in zip(np_parts[:2], (sO, n_on)))
    assert np.array_equal(np_parts[4], fix)


def test_compiled_vertex_parts_split_over_threads_is_the_same(monkeypatch):
    """Blocks of rows on several threads (a chunk of ≥ 256 vertices) against one call."""
    rng = np.random.default_rng(9)
    planes = vx.refined(vx.Planes(rng.standard_normal((14, 2)), rng.standard_normal((5, 14)), 1.0, 0.0))
    S, V = all_vertices(planes)
    assert S.shape[0] >= 256
    P = vx._Products(planes)
    many = vx._vertex_parts(planes, V, S, P, fix=True, use_compiled=True)
    monkeypatch.setattr(vx.os, "cpu_count", lambda: 1)
    one = vx._vertex_parts(planes, V, S, P, fix=True, use_compiled=True)
    assert all(np.array_equal(x, y) for x, y in zip(many, one))
