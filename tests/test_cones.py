r"""Tests for the cone representations: cells (exact, docs/design.md §3.2) and lifted (outer, §3.1)."""
import warnings
from math import comb

import numpy as np
import pytest
import cvxpy as cp
from hypothesis import given, settings, strategies as st

from covcone.activations import absolute, leaky_relu, linear, relu
from covcone.cones.cells import CellCone, enumerate_cells, factor_dnn
from covcone.cones.lifted import LiftedCone

INFEASIBLE = ("infeasible", "infeasible_inaccurate")
FEASIBLE = ("optimal", "optimal_inaccurate")  # boundary point sets: no interior; residual() decides


def _random_pair(rng, B, act, n=6):
    """(Σ zzᵀ, Σ σ(z)σ(z)ᵀ) for n random neurons z = Bᵀc in the data range."""
    Z = rng.standard_normal((n, B.shape[0])) @ B
    S = act(Z)
    return Z.T @ Z, S.T @ S


def _distance(cone, K, Ks):
    """Squared distance (relative to the pair's scale) from (K, Ks) to the cone: min over the
    cone of ‖K' − K‖² + ‖K'^σ − Ks‖² (upper triangle for cells).  A well-posed problem (Slater
    holds), unlike the bare feasibility problem whose feasible set has no interior."""
    scale = max(1.0, np.abs(K).max(), np.abs(Ks).max())
    if isinstance(cone, CellCone):
        Kc, Ksc = cone.K_expr(), cone.K_sigma_upper
        Ks_t = Ks[cone._iu, cone._ju]
    else:
        Kc, Ksc, Ks_t = cone.K, cone.K_sigma, Ks
    obj = cp.sum_squares(Kc - K) + cp.sum_squares(Ksc - Ks_t)
    prob = cp.Problem(cp.Minimize(obj / scale**2), cone.constraints(None, None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status in FEASIBLE
    return prob.value


def _feasibility(cons):
    prob = cp.Problem(cp.Minimize(0), cons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver="CLARABEL")
    return prob.status


# ----------------------------------------------------------------------- arrangement
@pytest.mark.parametrize("N", [3, 4, 7, 12, 20])
def test_cell_count_generic_r3(N):
    """N great circles in general position cut the sphere into N(N−1)+2 regions."""
    rng = np.random.default_rng(N)
    signs, rays = enumerate_cells(rng.standard_normal((3, N)))
    assert len(rays) == N * (N - 1) + 2
    assert len(np.unique(signs, axis=0)) == len(rays)
    assert np.all(signs != 0)


@pytest.mark.parametrize("N", [4, 6, 9])
def test_cell_count_generic_r4(N):
    """Central arrangement of N generic hyperplanes in R^r: 2 Σ_{i<r} C(N−1, i) regions."""
    rng = np.random.default_rng(N)
    signs, rays = enumerate_cells(rng.standard_normal((4, N)))
    assert len(rays) == 2 * sum(comb(N - 1, i) for i in range(4))
    assert len(np.unique(signs, axis=0)) == len(rays)


@pytest.mark.parametrize("r", [2, 3, 4])
def test_triangulation_covers_each_cell_once(r):
    """Random points of the data range lie in exactly one simplicial cone R_t R^r_+ (generic
    points: no boundary), and that simplex belongs to the point's cell."""
    rng = np.random.default_rng(10 + r)
    B = rng.standard_normal((r, 7))
    cone = CellCone(B, relu)
    Rinv = np.linalg.inv(cone.simplices)  # T × r × r
    for c in rng.standard_normal((200, r)):
        coords = Rinv @ c
        inside = np.flatnonzero(np.all(coords >= -1e-12, axis=1))
        assert len(inside) == 1
        assert np.array_equal(cone.signs[cone.simplex_cell[inside[0]]], np.sign(c @ B).astype(np.int8))


@pytest.mark.parametrize("N", [2, 5, 9])
def test_cell_count_generic_r2(N):
    rng = np.random.default_rng(N)
    signs, rays = enumerate_cells(rng.standard_normal((2, N)))
    assert len(rays) == 2 * N
    assert len(np.unique(signs, axis=0)) == 2 * N


def test_cells_match_dense_sampling_degenerate():
    """Collinear inputs with a bias (3 hyperplanes through one line) and duplicated points:
    the enumerated sign patterns are exactly those seen by dense sampling on the sphere."""
    x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [1.0, -1.0], [1.0, -1.0], [-0.5, 2.0]])
    B = np.vstack([x.T, np.ones(len(x))])
    signs, rays = enumerate_cells(B)
    rng = np.random.default_rng(0)
    C = rng.standard_normal((200000, 3))
    seen = np.unique(np.sign(C @ B).astype(np.int8), axis=0)
    assert {s.tobytes() for s in seen} == {s.tobytes() for s in signs}
    for s, R in zip(signs, rays):  # every ray lies in the closure of its cell
        assert np.all(s[None, :] * (R @ B) >= -1e-9)


# ----------------------------------------------------------------------- factorisation
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**31 - 1))
@settings(max_examples=200, deadline=None)
def test_factor_dnn_reconstructs(r, m, seed):
    rng = np.random.default_rng(seed)
    F = np.abs(rng.standard_normal((r, m))) * (rng.random((r, m)) < 0.7)
    P = F @ F.T
    G = factor_dnn(P)
    assert G.min() >= 0
    np.testing.assert_allclose(G @ G.T, P, atol=1e-9 * max(1.0, P.max()))


def test_factor_dnn_not_cp_factorable_by_eigenvectors():
    """A DNN matrix with a negative Schur off-diagonal (the 'star' branch)."""
    P = np.array([[2.0, 1.0, 1.0], [1.0, 1.0, 0.1], [1.0, 0.1, 1.0]])
    G = factor_dnn(P)
    assert G.min() >= 0
    np.testing.assert_allclose(G @ G.T, P, atol=1e-12)


# ----------------------------------------------------------------------- membership
@pytest.mark.parametrize("act", [relu, absolute, leaky_relu(0.2), linear], ids=lambda a: a.name)
def test_random_pairs_feasible_in_both_cones(act):
    rng = np.random.default_rng(1)
    N = 7
    x = rng.standard_normal((N, 2))
    B = np.vstack([x.T, np.ones(N)])  # data range of dimension 3
    K, Ks = _random_pair(rng, B, act)
    cells = CellCone(B, act)
    assert _distance(cells, K, Ks) < 1e-6
    assert cells.residual() < 1e-7
    lifted = LiftedCone(N, act, range_basis=B.T)
    assert _distance(lifted, K, Ks) < 1e-6
    assert lifted.residual() < 1e-7


def test_cells_reject_pairs_outside_S():
    rng = np.random.default_rng(2)
    N = 6
    B = np.vstack([rng.standard_normal((2, N)), np.ones(N)])
    K, Ks = _random_pair(rng, B, relu)
    assert np.any(K < 0)
    # K^σ = K has negative entries: no ReLU pair has that
    assert _feasibility(CellCone(B, relu).constraints(K, K)) in INFEASIBLE
    # a K outside the data range
    v = np.linalg.svd(B)[2][-1]
    assert _feasibility(CellCone(B, relu).constraints(K + np.outer(v, v), Ks)) in INFEASIBLE
    assert _feasibility(LiftedCone(N, relu, range_basis=B.T).constraints(K + np.outer(v, v), Ks)) in INFEASIBLE


def test_cells_reject_a_dnn_pair_that_is_not_in_S():
    """For ReLU and a single neuron z, (zzᵀ, σ(z)σ(z)ᵀ) is in S but (zzᵀ, 2σ(z)σ(z)ᵀ) is not:
    the sign structure pins the scale.  The lifted relaxation accepts neither only if tight, so
    only the exact cone is tested."""
    rng = np.random.default_rng(3)
    N = 6
    B = np.vstack([rng.standard_normal((2, N)), np.ones(N)])
    while True:
        z = B.T @ rng.standard_normal(3)
        if np.any(z > 0.1) and np.any(z < -0.1):
            break
    s = relu(z)
    assert _distance(CellCone(B, relu), np.outer(z, z), np.outer(s, s)) < 1e-6
    assert _distance(CellCone(B, relu), np.outer(z, z), 2 * np.outer(s, s)) > 1e-4
    assert _feasibility(CellCone(B, relu).constraints(np.outer(z, z), 2 * np.outer(s, s))) in INFEASIBLE


def test_neurons_reconstruct_pair():
    rng = np.random.default_rng(4)
    N = 9
    B = np.vstack([rng.standard_normal((2, N)), np.ones(N)])
    K, Ks = _random_pair(rng, B, relu, n=4)
    cone = CellCone(B, relu)
    assert _distance(cone, K, Ks) < 1e-6
    nr = cone.neurons()
    scale = max(1.0, np.abs(K).max())
    assert nr.K_error < 1e-6 * scale and nr.K_sigma_error < 1e-6 * scale
    np.testing.assert_allclose(nr.Z.T @ nr.Z, K, atol=1e-4 * scale)
    S = relu(nr.Z)
    np.testing.assert_allclose(S.T @ S, Ks, atol=1e-4 * scale)
    np.testing.assert_allclose(nr.C @ B, nr.Z)


def test_active_set_restricts_cells():
    rng = np.random.default_rng(5)
    N = 6
    B = np.vstack([rng.standard_normal((2, N)), np.ones(N)])
    full = CellCone(B, relu)
    c = rng.standard_normal(3)
    z = B.T @ c
    target = np.sign(z).astype(np.int8)
    idx = int(np.flatnonzero((full.all_signs == target).all(axis=1))[0])
    s = relu(z)
    one = CellCone(B, relu, cells=[idx])
    assert one.n_cells == 1
    assert _feasibility(one.constraints(np.outer(z, z), np.outer(s, s))) in FEASIBLE
    other = [i for i in range(full.n_cells_total) if i != idx]
    assert _feasibility(CellCone(B, relu, cells=other[:3]).constraints(np.outer(z, z), np.outer(s, s))) in INFEASIBLE


def test_rank_one_two_and_four_bases():
    rng = np.random.default_rng(6)
    for r in (1, 2, 4):
        B = rng.standard_normal((r, 5))
        K, Ks = _random_pair(rng, B, relu, n=3)
        cone = CellCone(B, relu)
        assert _feasibility(cone.constraints(K, Ks)) in FEASIBLE
        assert cone.residual() < 1e-6


def test_bad_inputs():
    with pytest.raises(ValueError, match="rows"):
        CellCone(np.ones((5, 6)), relu)
    with pytest.raises(ValueError, match="rank"):
        CellCone(np.ones((3, 6)), relu)
    with pytest.raises(ValueError, match="homogeneous"):
        CellCone(np.eye(3), "tanh")
    with pytest.raises(ValueError, match="rows"):
        LiftedCone(4, relu, range_basis=np.ones((3, 1)))


def test_factor_dnn_4x4_reconstructs():
    """r = 4: greedy + numerical fallback, not guaranteed exact; accurate on random CP input."""
    rng = np.random.default_rng(9)
    for _ in range(50):
        F = np.abs(rng.standard_normal((4, rng.integers(1, 8))))
        P = F @ F.T
        G = factor_dnn(P)
        assert G.min() >= 0
        assert np.abs(G @ G.T - P).max() <= 1e-5 * P.max()
