r"""Exact cell representation of the covariance cone for an input Gram of rank r ≤ 4.

Implements docs/design.md §3.2 (paper: Jacot et al., NeurIPS 2022, §2, the cone
``S = cone{(zzᵀ, σ(z)σ(z)ᵀ)} + (0, β²11ᵀ)`` restricted to the data range).

Write every admissible pre-activation as ``z = Bᵀc`` with ``B`` (r×N) a factor of the input Gram
(``BᵀB = K_0^σ``) and ``c ∈ R^r``.  The hyperplanes ``{c : b_iᵀc = 0}`` (``b_i`` the columns of
``B``) cut ``R^r`` into cells (full-dimensional regions); on a cell, ``σ(Bᵀc) = D Bᵀc`` with
``D`` the diagonal slope pattern (``a`` or ``b``).  Every cell is a pointed polyhedral cone (the
``b_i`` span ``R^r``); a fan triangulation of its extreme rays writes it as a union of simplicial
cones ``R_t R^r_+`` (r = 3: fan from one ray in cyclic order; r = 4: pulling triangulation of
the slice polytope, scipy ConvexHull).  Hence

    cone{(zzᵀ, σ(z)σ(z)ᵀ) : z ∈ Im Bᵀ} = { Σ_t (Bᵀ R_t P_t R_tᵀ B, D_t Bᵀ R_t P_t R_tᵀ B D_t) : P_t ∈ CP_r },

and ``CP_r = DNN_r`` (PSD and entrywise ≥ 0) for r ≤ 4 (Diananda; Maxfield–Minc), so the cone is
represented *exactly* by small semidefinite blocks.  Lower-dimensional cells are closures of
full-dimensional ones and need nothing extra.

Speed (the measurements in benchmarks/README.md): all ``P_t`` are stacked into one cvxpy variable, the per-cell sums
``M_c = Σ_{t∈c} R_t P_t R_tᵀ`` into a second one, and ``K^σ`` is a single sparse linear map of
the ``M_c`` (built vectorised in numpy/scipy), so the only per-simplex cvxpy objects are the small
PSD constraints (about 1.3 ms each to compile in cvxpy 1.9; measured).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from covcone.activations import require_homogeneous

__all__ = ["CellCone", "CellNeurons", "enumerate_cells", "factor_dnn"]


# --------------------------------------------------------------------------------------------
# arrangement of central hyperplanes in R^r, r ≤ 4
# --------------------------------------------------------------------------------------------
def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _distinct_normals(B, tol):
    """Unit normals of the distinct hyperplanes {c : b_iᵀc = 0} (zero and parallel columns merged)."""
    norms = np.linalg.norm(B, axis=0)
    scale = norms.max() if norms.size else 0.0
    keep = norms > tol * max(scale, 1.0)
    U = (B[:, keep] / norms[keep]).T  # m0 × r
    reps = []
    for u in U:
        if not any(abs(float(u @ h)) > 1.0 - 1e-10 for h in reps):
            reps.append(u)
    return np.array(reps).reshape(len(reps), B.shape[0])


def _perp2(v):
    return np.stack([-v[..., 1], v[..., 0]], axis=-1)


def _sectors_2d(G):
    """Cells of a central line arrangement in R² with normals ``G`` (m×2, m ≥ 1).

    Returns the list of (ray0, ray1) pairs bounding each sector in counter-clockwise order.  When
    there is a single line the two half-planes are split at the normal (so sectors stay < π)."""
    dirs = _unit(_perp2(G))
    rays = np.concatenate([dirs, -dirs])
    if len(G) == 1:
        rays = np.concatenate([rays, G / np.linalg.norm(G), -G / np.linalg.norm(G)])
    ang = np.arctan2(rays[:, 1], rays[:, 0])
    order = np.argsort(ang)
    rays = rays[order]
    return [(rays[i], rays[(i + 1) % len(rays)]) for i in range(len(rays))]


def _tangent_basis(v):
    """Orthonormal basis (r×(r−1)) of v^⊥ for a unit vector v."""
    Q, _ = np.linalg.qr(np.column_stack([v, np.eye(len(v))]))
    return Q[:, 1:len(v)]


def _vertices(H, tol):
    """Unit extreme rays ±v of a central arrangement in R^r (r ≥ 3): the lines where r−1
    linearly independent hyperplanes meet, deduplicated."""
    m, r = H.shape
    from itertools import combinations

    subsets = np.array(list(combinations(range(m), r - 1)))
    _, sv, Vt = np.linalg.svd(H[subsets])  # (n, r−1, r)
    ok = sv[:, -1] > 1e-9
    V = Vt[ok, -1, :]
    first = np.argmax(np.abs(V) > 1e-9, axis=1)
    V = V * np.sign(V[np.arange(len(V)), first])[:, None]
    _, idx = np.unique(np.round(V, 9), axis=0, return_index=True)
    V = V[np.sort(idx)]
    return np.concatenate([V, -V])


def _cells_rec(H, tol):
    """Cells of a central arrangement with distinct unit normals ``H`` (m×r) spanning R^r, r ≥ 2.

    Returns (signs (n_cells × m) int8, list of arrays of unit extreme rays).  For r ≥ 3 the cells
    around each vertex v are the cells of the (r−1)-dimensional arrangement of the incident
    normals projected on v^⊥ (recursion); every cell is met at each of its vertices, which gives
    the ray–cell incidences for free."""
    m, r = H.shape
    if r == 2:
        sectors = _sectors_2d(H)
        signs = np.array([np.sign(H @ (a + b)) for a, b in sectors], dtype=np.int8)
        return signs, [np.stack(pair) for pair in sectors]
    V = _vertices(H, tol)
    HV = V @ H.T
    S = np.where(np.abs(HV) <= tol, 0, np.sign(HV)).astype(np.int8)
    cell_index: dict[bytes, int] = {}
    signs: list[np.ndarray] = []
    rays: list[list[int]] = []
    for v_id, v in enumerate(V):
        inc = np.flatnonzero(S[v_id] == 0)
        E = _tangent_basis(v)
        G = H[inc] @ E
        G = G / np.linalg.norm(G, axis=1, keepdims=True)
        local, _ = _cells_rec(G, tol)
        for loc in local:
            s = S[v_id].copy()
            s[inc] = loc
            key = s.tobytes()
            c = cell_index.get(key)
            if c is None:
                c = cell_index[key] = len(signs)
                signs.append(s)
                rays.append([])
            rays[c].append(v_id)
    return np.array(signs), [V[sorted(set(ids))] for ids in rays]


def _cyclic(R):
    """Order the rays of a 3-D pointed cone cyclically around their mean direction."""
    center = _unit(R.sum(axis=0))
    e1 = _unit(R[0] - (R[0] @ center) * center)
    e2 = np.cross(center, e1)
    return R[np.argsort(np.arctan2(R @ e2, R @ e1))]


def _triangulate(R, dual=None):
    """Simplicial cones (list of r×r generator matrices, columns = rays) covering the pointed
    cone spanned by the extreme rays ``R`` (k×r), with pairwise disjoint interiors.

    r ≤ 2: the cone itself; r = 3: fan from the first ray in cyclic order; r = 4: pulling
    triangulation from ray 0 over the (triangulated) facets of the slice polytope not containing
    it (scipy ConvexHull).  The slice ``{x : dualᵀx = 1}`` needs ``dual`` in the interior of the
    dual cone (``R dual > 0``; e.g. ``Σ_i s_i b_i`` over the cell's signs): the mean ray, though
    interior, can make an obtuse angle with a ray of a wide cell (a bug found by the coverage
    test)."""
    k, r = R.shape
    if k == r:
        return [R.T]
    if r == 3:
        C = _cyclic(R)
        return [np.stack([C[0], C[q], C[q + 1]], axis=1) for q in range(1, k - 1)]
    if r == 4:
        from scipy.spatial import ConvexHull

        center = _unit(R.sum(axis=0) if dual is None else np.asarray(dual, dtype=float))
        h = R @ center
        if np.any(h <= 1e-12):
            raise ValueError("_triangulate: 'dual' must have a positive inner product with every ray")
        Xs = R / h[:, None]
        E = _tangent_basis(center)
        Y = Xs @ E
        hull = ConvexHull(Y, qhull_options="Qt")
        # skip facets containing ray 0, and triangles of a (triangulated) facet whose plane
        # passes through ray 0: both would give flat simplices
        dist = hull.equations[:, :3] @ Y[0] + hull.equations[:, 3]
        scale = np.abs(Y).max()
        return [R[[0, *f]].T for f, dd in zip(hull.simplices, dist) if 0 not in f and abs(dd) > 1e-9 * scale]
    raise ValueError(f"rank {r} not supported")


def enumerate_cells(B, *, tol=1e-10):
    r"""Cells of the arrangement ``{c ∈ R^r : b_iᵀc = 0}`` for ``B`` (r×N) of rank r ≤ 4.

    Parameters
    ----------
    B : array_like, shape (r, N)
        Factor of the input Gram (``z = Bᵀc``); must have full row rank r ∈ {1, 2, 3, 4}.
    tol : float
        Relative tolerance for zero columns and for incidences of rays with hyperplanes.

    Returns
    -------
    signs : ndarray of int8, shape (n_cells, N)
        ``sign(b_iᵀc)`` at an interior point of each cell (0 for zero columns of ``B``).
    rays : list of ndarray, each (k_c, r)
        Unit extreme rays of each cell, in cyclic order for r = 3 (docs/design.md §3.2).

    Notes
    -----
    For N hyperplanes in general position in R^r there are ``2 Σ_{i<r} C(N−1, i)`` cells
    (``N(N−1) + 2`` for r = 3).  Vertices are found from all (r−1)-subsets of hyperplanes:
    O(N^{r−1}) work.
    """
    B = np.asarray(B, dtype=float)
    r = B.shape[0]
    if r not in (1, 2, 3, 4):
        raise ValueError(f"B: expected 1 to 4 rows (rank of the input Gram), got {r}")
    if np.linalg.matrix_rank(B) < r:
        raise ValueError(f"B: expected full row rank {r}, got rank {np.linalg.matrix_rank(B)}")
    H = _distinct_normals(B, tol)
    if r == 1:
        rays = [np.array([[1.0]]), np.array([[-1.0]])]
    else:
        _, rays = _cells_rec(H, tol)
        if r == 3:
            rays = [_cyclic(R) for R in rays]
    interior = np.stack([R.sum(axis=0) for R in rays])
    Z = interior @ B
    scale = np.linalg.norm(B, axis=0) * np.linalg.norm(interior, axis=1)[:, None]
    signs = np.where(np.abs(Z) <= 1e-9 * np.maximum(scale, 1e-300), 0, np.sign(Z)).astype(np.int8)
    return signs, rays


# --------------------------------------------------------------------------------------------
# nonnegative Gram factorisation of tiny DNN matrices (r ≤ 4)
# --------------------------------------------------------------------------------------------
def _factor2(P):
    """Nonnegative F (2×2) with FFᵀ = P for a 2×2 DNN matrix (pivot on the larger diagonal)."""
    a, x, c = max(P[0, 0], 0.0), max(P[0, 1], 0.0), max(P[1, 1], 0.0)
    F = np.zeros((2, 2))
    if max(a, c) <= 0:
        return F
    if a >= c:
        if a <= 0:
            return F
        F[0, 0] = np.sqrt(a)
        F[1, 0] = x / F[0, 0]
        F[1, 1] = np.sqrt(max(c - x * x / a, 0.0))
    else:
        F[1, 0] = np.sqrt(c)
        F[0, 0] = x / F[1, 0]
        F[0, 1] = np.sqrt(max(a - x * x / c, 0.0))
    return F


def _repair_dnn(P, iters=50):
    """Alternating projections onto the PSD cone and the nonnegative orthant (tiny repairs)."""
    P = 0.5 * (P + P.T)
    for _ in range(iters):
        P = np.maximum(P, 0.0)
        w, Q = np.linalg.eigh(P)
        if w[0] >= -1e-13 * max(w[-1], 1e-300):
            break
        P = (Q * np.maximum(w, 0.0)) @ Q.T
        P = 0.5 * (P + P.T)
    return np.maximum(P, 0.0)


def factor_dnn(P):
    r"""Factor a doubly nonnegative matrix of size r ≤ 4 as ``P = F Fᵀ`` with ``F ≥ 0``.

    Exact constructive proof that DNN_r = CP_r for r ≤ 3 (docs/design.md §5): pivot on the largest
    diagonal entry i; if the Schur complement's off-diagonal entry is ≥ 0, take the full pivot
    column and factor the 2×2 remainder; otherwise subtract only the fraction t of the pivot column
    that zeroes entry (j, k), leaving a DNN matrix whose graph is the star j–i–k, which splits into
    two 2×2 DNN pieces.  At most 5 columns.  The input is first repaired by a few alternating
    projections (solver output is only approximately DNN).  For r = 4 see :func:`_factor_dnn4`
    (greedy + numerical fallback: not guaranteed exact).

    Returns
    -------
    F : ndarray, shape (r, m), F ≥ 0
    """
    P = _repair_dnn(np.atleast_2d(np.asarray(P, dtype=float)))
    r = P.shape[0]
    if r == 1:
        return np.sqrt(np.maximum(P, 0.0))
    if r == 2:
        return _factor2(P)
    if r == 4:
        return _factor_dnn4(P)
    if r != 3:
        raise ValueError(f"P: expected size 1 to 4, got {r}")
    i = int(np.argmax(np.diag(P)))
    if P[i, i] <= 0:
        return np.zeros((3, 1))
    j, k = [q for q in range(3) if q != i]
    p = P[:, i]
    s = P[j, k] - p[j] * p[k] / P[i, i]
    cols = []
    if s >= 0:
        cols.append(p / np.sqrt(P[i, i]))
        Rm = P - np.outer(p, p) / P[i, i]
        F2 = _factor2(Rm[np.ix_([j, k], [j, k])])
        for col in F2.T:
            full = np.zeros(3)
            full[[j, k]] = col
            cols.append(full)
    else:
        t = P[j, k] * P[i, i] / (p[j] * p[k])
        cols.append(np.sqrt(t) * p / np.sqrt(P[i, i]))
        Rm = P - t * np.outer(p, p) / P[i, i]
        a, x, y, b, c = Rm[i, i], Rm[i, j], Rm[i, k], Rm[j, j], Rm[k, k]
        a1 = x * x / b if b > 0 else 0.0
        a2 = max(a - a1, 0.0)
        for (q, d, e) in ((j, a1, x), (k, a2, y)):
            dq = b if q == j else c
            F2 = _factor2(np.array([[d, e], [e, dq]]))
            for col in F2.T:
                full = np.zeros(3)
                full[[i, q]] = col
                cols.append(full)
    F = np.maximum(np.array(cols).T, 0.0)
    return F[:, np.linalg.norm(F, axis=0) > 0] if np.any(F) else np.zeros((3, 1))


def _factor_c4(R):
    """Nonnegative factor of a 4×4 DNN matrix whose graph is the 4-cycle v0–v1–v2–v3–v0.

    The graph is triangle-free, so every nonnegative rank-one term lives on an edge or a vertex:
    split each diagonal entry between its two edges so that every edge block
    ``[[d_u, w_uv], [w_uv, d_v]]`` is PSD.  Giving vertex v0 the share ``a`` on edge v0v1 and each
    next edge the minimal share forced by the previous one leaves one slack at the closing edge;
    ``a`` is chosen on a refined grid to maximise it.  Returns None if the graph is not a C4."""
    off = R - np.diag(np.diag(R))
    scale = max(R.max(), 1e-300)
    nz = off > 1e-12 * scale
    if not np.all(nz.sum(axis=1) == 2):
        return None
    order = [0]
    while len(order) < 4:
        nxt = [j for j in np.flatnonzero(nz[order[-1]]) if j not in order]
        if not nxt:
            return None
        order.append(int(nxt[0]))
    v0, v1, v2, v3 = order
    if not nz[v3, v0]:
        return None
    w01, w12, w23, w30 = R[v0, v1], R[v1, v2], R[v2, v3], R[v3, v0]
    P0, P1, P2, P3 = R[v0, v0], R[v1, v1], R[v2, v2], R[v3, v3]

    def chain(a):
        with np.errstate(divide="ignore", invalid="ignore"):
            d1 = w01**2 / a
            rem1 = P1 - d1
            d2 = w12**2 / rem1
            rem2 = P2 - d2
            d3 = w23**2 / rem2
            rem3 = P3 - d3
            slack = rem3 * (P0 - a) - w30**2
            ok = (a > 0) & (a < P0) & (rem1 > 0) & (rem2 > 0) & (rem3 > 0)
        return np.where(ok, slack, -np.inf), d1, rem1, d2, rem2, d3, rem3

    lo, hi = 0.0, P0
    for _ in range(4):
        grid = np.linspace(lo, hi, 401)[1:-1]
        sl = chain(grid)[0]
        k = int(np.argmax(sl))
        step = grid[1] - grid[0]
        lo, hi = max(grid[k] - step, 0.0), min(grid[k] + step, P0)
    a = grid[k]
    sl, d1, rem1, d2, rem2, d3, rem3 = (float(np.asarray(q)) for q in chain(np.array(a)))
    if not np.isfinite(sl):
        return None
    blocks = [((v0, v1), a, w01, d1), ((v1, v2), rem1, w12, d2), ((v2, v3), rem2, w23, d3),
              ((v3, v0), rem3, w30, P0 - a)]
    cols = []
    for (u, v), du, w, dv in blocks:
        F2 = _factor2(np.array([[du, w], [w, dv]]))
        for col in F2.T:
            full = np.zeros(4)
            full[[u, v]] = col
            cols.append(full)
    return np.array(cols).T


def _factor_dnn4(P, max_steps=12):
    """4×4 DNN → nonnegative factor.  DNN_4 = CP_4 (Maxfield–Minc) but no short constructive
    proof is implemented: greedily subtract the largest multiple ``t·ppᵀ/P_ii`` of a pivot column
    that keeps every off-diagonal entry ≥ 0 (stays PSD for t ≤ 1) until a row vanishes, then
    factor the 3×3 remainder exactly.  The greedy step stalls only when the remainder's graph is
    the 4-cycle (each pivot's two neighbours non-adjacent), handled by :func:`_factor_c4`; any
    other stall falls back to a numerical fit (L-BFGS-B on ‖R − FFᵀ‖², F ≥ 0).  The caller
    measures the reconstruction error."""
    cols = []
    R = P.copy()
    for _ in range(max_steps):
        d = np.diag(R)
        live = np.flatnonzero(d > 1e-14 * max(d.max(), 1e-300))
        if len(live) <= 3:
            F3 = np.zeros((4, 0))
            if len(live):
                sub = factor_dnn(R[np.ix_(live, live)])
                F3 = np.zeros((4, sub.shape[1]))
                F3[live] = sub
            return np.column_stack(cols + [F3]) if cols else F3
        best = (0.0, None, None)
        for i in live:
            p = R[:, i]
            t = 1.0
            for j in live:
                for k in live:
                    if i not in (j, k) and j < k and p[j] * p[k] > 0:
                        t = min(t, max(R[j, k], 0.0) * R[i, i] / (p[j] * p[k]))
            if t * R[i, i] > best[0]:
                best = (t * R[i, i], i, t)
        if best[1] is None:
            c4 = _factor_c4(R)
            if c4 is not None:
                return np.column_stack(cols + [c4])
            break
        _, i, t = best
        p = R[:, i].copy()
        cols.append(np.sqrt(t / R[i, i]) * np.maximum(p, 0.0))
        R = R - t * np.outer(p, p) / p[i]
        if t >= 1.0 - 1e-12:
            R[i, :] = 0.0
            R[:, i] = 0.0
        R = np.maximum(0.5 * (R + R.T), 0.0)
    # numerical fallback on the remainder, fitted at unit scale
    from scipy.optimize import minimize

    scale = R.max()
    if scale <= 0:
        return np.column_stack(cols) if cols else np.zeros((4, 1))
    Rn = R / scale
    m = 10

    def f(x):
        F = x.reshape(4, m)
        E = F @ F.T - Rn
        return float(np.sum(E * E)), (4 * E @ F).ravel()

    rng = np.random.default_rng(0)
    w, Q = np.linalg.eigh(Rn)
    best = None
    for trial in range(4):
        F0 = np.abs(Q * np.sqrt(np.maximum(w, 0.0))) if trial == 0 else np.abs(rng.standard_normal((4, 4)))
        F0 = np.column_stack([F0, 0.1 * rng.random((4, m - 4))])
        out = minimize(f, F0.ravel(), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (4 * m),
                       options={"maxiter": 5000, "ftol": 1e-20, "gtol": 1e-14})
        if best is None or out.fun < best.fun:
            best = out
        if best.fun < 1e-20:
            break
    F = best.x.reshape(4, m) * np.sqrt(scale)
    return np.column_stack(cols + [F]) if cols else F


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellNeurons:
    r"""Neurons recovered from a solved :class:`CellCone` (docs/design.md §5).

    Attributes
    ----------
    Z : ndarray, shape (n, N)
        Data-space pre-activations, one neuron per row: ``ZᵀZ ≈ K``,
        ``σ(Z)ᵀσ(Z) ≈ K^σ − β²11ᵀ``.
    C : ndarray, shape (n, r)
        The same neurons in c-space (``Z = C B``).
    K_error, K_sigma_error : float
        Max-abs reconstruction errors against the cone's solved ``K`` and ``K^σ − β²11ᵀ``.
    """

    Z: np.ndarray
    C: np.ndarray
    K_error: float
    K_sigma_error: float


class CellCone:
    r"""Exact cone ``cone{(zzᵀ, σ(z)σ(z)ᵀ) : z ∈ Im Bᵀ}`` for r = rank ≤ 4 (docs/design.md §3.2).

    Parameters
    ----------
    B : array_like, shape (r, N)
        Factor of the input Gram, full row rank r ∈ {1, 2, 3, 4}; neurons are ``z = Bᵀc``.  With
        ``B = S Vᵀ`` from the thin SVD ``A = U S Vᵀ`` of the input matrix, ``Tr[K (K_0^σ)^+]``
        equals ``Tr M`` (see :meth:`c_matrix`).
    activation : Activation or spec
        Positively homogeneous σ with slopes (a, b).
    cells : sequence of int, optional
        Active set: indices (into the full enumeration, see :attr:`all_signs`) of the cells to
        use.  The cone is then an inner approximation (exact when the optimum only uses them).
    tol : float
        Relative tolerance of the arrangement computations.

    Attributes
    ----------
    all_signs : ndarray (n_cells_total, N)
        Sign pattern of every cell.
    signs, slopes : ndarray (n_cells, N)
        Sign and slope patterns ``D`` of the active cells.
    simplices : ndarray (T, r, r)
        Generator matrices ``R_t`` (columns = rays) of the simplicial cones.
    simplex_cell : ndarray (T,)
        Index (among the active cells) of the cell of each simplex.
    P : cvxpy.Variable (T·r(r+1)/2,)
        Upper-triangular entries of all ``P_t`` stacked (row t, entries ``np.triu_indices(r)``).
    Mc : cvxpy.Variable (n_cells·r(r+1)/2,)
        Upper-triangular entries of the per-cell sums ``M_c``.
    """

    #: the cell representation is exact (input rank ≤ 3; rank 4 where CP_4 = DNN_4 holds too)
    exact = True

    @classmethod
    def from_basis(cls, B, activation):
        """The :class:`~covcone.cones.base.ConeRepresentation` constructor."""
        return cls(B, activation)

    def __init__(self, B, activation, *, cells=None, tol=1e-10):
        B = np.asarray(B, dtype=float)
        if B.ndim != 2 or not np.all(np.isfinite(B)):
            raise ValueError(f"B: expected a finite 2-D array (r×N), got shape {np.shape(B)}")
        self.B = B
        self.r, self.N = B.shape
        self.activation = require_homogeneous(activation)
        signs, rays = enumerate_cells(B, tol=tol)
        self.all_signs = signs
        self.n_cells_total = len(rays)
        if cells is None:
            sel = np.arange(len(rays))
        else:
            sel = np.unique(np.asarray(cells, dtype=int))
            if sel.size == 0 or sel.min() < 0 or sel.max() >= len(rays):
                raise ValueError(f"cells: expected indices in [0, {len(rays)}), got {cells!r}")
        self.cell_ids = sel
        self.signs = signs[sel]
        a, b = self.activation.a, self.activation.b
        self.slopes = np.where(self.signs >= 0, a, b)
        Rs, owner = [], []
        for ci, c in enumerate(sel):
            for Rt in _triangulate(rays[c], dual=B @ signs[c]):
                Rs.append(Rt)
                owner.append(ci)
        self.simplices = np.array(Rs)
        self.simplex_cell = np.array(owner)
        self._build()
        self._K = None
        self._K_sigma = None

    # ---------------------------------------------------------------- linear maps
    def _build(self):
        import cvxpy as cp

        r, N = self.r, self.N
        ta, tb = np.triu_indices(r)
        ne = len(ta)
        self._ne = ne
        T, nc = len(self.simplices), len(self.signs)
        R = self.simplices
        # M_t[e'] = Σ_e coeff[t, e', e] P_t[e]
        off = (ta != tb).astype(float)
        coeff = (R[:, ta[:, None], ta[None, :]] * R[:, tb[:, None], tb[None, :]]
                 + off[None, None, :] * R[:, ta[:, None], tb[None, :]] * R[:, tb[:, None], ta[None, :]])
        rows = np.broadcast_to(self.simplex_cell[:, None, None] * ne + np.arange(ne)[None, :, None], coeff.shape)
        cols = np.broadcast_to(np.arange(T)[:, None, None] * ne + np.arange(ne)[None, None, :], coeff.shape)
        self._L_cell = sp.csr_matrix((coeff.ravel(), (rows.ravel(), cols.ravel())), shape=(nc * ne, T * ne))
        # K^σ upper entries (i ≤ j) from the M_c
        iu, ju = np.triu_indices(N)
        Bi, Bj = self.B[:, iu].T, self.B[:, ju].T  # nu × r
        Bs = Bi[:, ta] * Bj[:, tb] + off * Bi[:, tb] * Bj[:, ta]  # nu × ne
        D = self.slopes
        rr, cc, vv = [], [], []
        chunk = max(1, int(2e6 // max(len(iu) * ne, 1)))
        for c0 in range(0, nc, chunk):
            c1 = min(nc, c0 + chunk)
            Dp = D[c0:c1, iu] * D[c0:c1, ju]  # (cells, nu)
            vals = Dp[:, :, None] * Bs[None, :, :]  # cells × nu × ne
            ci, ui, ei = np.nonzero(vals)
            rr.append(ui)
            cc.append((ci + c0) * ne + ei)
            vv.append(vals[ci, ui, ei])
        self._L_sigma = sp.csr_matrix(
            (np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))), shape=(len(iu), nc * ne)
        )
        self._iu, self._ju = iu, ju
        # sym entries → full r×r (column-major vec)
        Sf = np.zeros((r * r, ne))
        for e, (p, q) in enumerate(zip(ta, tb)):
            Sf[p + q * r, e] = 1.0
            Sf[q + p * r, e] = 1.0
        self._Sfull = Sf
        self._Ssum = sp.csr_matrix(np.kron(np.ones((1, nc)), np.eye(ne)))
        # variables and internal constraints
        self.P = cp.Variable(T * ne, name="P_cells")
        self.Mc = cp.Variable(nc * ne, name="M_cells")
        cons = [self.P >= 0, self.Mc == self._L_cell @ self.P]
        if r >= 2:
            for t in range(T):
                cons.append(cp.reshape(Sf @ self.P[t * ne:(t + 1) * ne], (r, r), order="F") >> 0)
        self._internal = cons
        self.M = cp.reshape(Sf @ (self._Ssum @ self.Mc), (r, r), order="F")
        self.K_sigma_upper = self._L_sigma @ self.Mc

    # ---------------------------------------------------------------- public API
    @property
    def n_cells(self):
        """Number of active cells."""
        return len(self.signs)

    @property
    def n_simplices(self):
        """Number of simplicial cones (3×3 DNN blocks for r = 3)."""
        return len(self.simplices)

    def c_matrix(self):
        r"""The r×r cvxpy expression ``M = Σ_t R_t P_t R_tᵀ`` (c-space second moment).

        ``K = Bᵀ M B``; when ``B = S Vᵀ`` (thin SVD of the input matrix, i.e. ``B = Uᵀ A``),
        ``Tr[K (K_0^σ)^+] = Tr M`` = the sum of squared input-weight norms (paper eq. for L^k)."""
        return self.M

    def K_expr(self):
        """``K = Bᵀ M B`` as an N×N cvxpy expression."""
        return self.B.T @ self.M @ self.B

    def constraints(self, K=None, K_sigma_minus_bias=None):
        r"""cvxpy constraints saying ``(K, K_sigma_minus_bias) ∈ cone{(zzᵀ, σ(z)σ(z)ᵀ) : z ∈ Im Bᵀ}``.

        Parameters
        ----------
        K, K_sigma_minus_bias : cvxpy expression or array, shape (N, N), optional
            Either may be ``None`` (then only the cone's internal constraints on ``P`` and the
            other one are returned).  For ``K_sigma_minus_bias`` only the upper triangle is
            matched when the expression is known to be symmetric (a symmetric / PSD variable),
            else all N² entries.
        """
        import cvxpy as cp

        cons = list(self._internal)
        N = self.N
        if K is not None:
            K = K if isinstance(K, cp.Expression) else cp.Constant(np.asarray(K, dtype=float))
            cons.append(self.K_expr() == K)
            self._K = K
        if K_sigma_minus_bias is not None:
            Ks = K_sigma_minus_bias
            Ks = Ks if isinstance(Ks, cp.Expression) else cp.Constant(np.asarray(Ks, dtype=float))
            flat_up = self._iu * N + self._ju
            if Ks.is_symmetric():
                cons.append(self.K_sigma_upper == cp.vec(Ks, order="C")[flat_up])
            else:
                flat_lo = self._ju * N + self._iu
                cons.append(self.K_sigma_upper == cp.vec(Ks, order="C")[flat_up])
                cons.append(self.K_sigma_upper == cp.vec(Ks, order="C")[flat_lo])
            self._K_sigma = Ks
        return cons

    @property
    def upper_indices(self):
        """Flat (row-major) indices of the upper triangle ``i ≤ j`` that :attr:`K_sigma_upper` lists."""
        return self._iu * self.N + self._ju

    def values(self):
        """Solved ``(K, K^σ − β²11ᵀ)`` as numpy arrays (the protocol of
        :class:`~covcone.cones.base.ConeRepresentation`)."""
        _, K, Ks = self.all_values()
        return K, Ks

    def all_values(self):
        """Solved ``(M, K, K^σ − β²11ᵀ)`` as numpy arrays (from the cone's own variables)."""
        if self.Mc.value is None:
            raise RuntimeError("CellCone: no solution yet (solve a problem using constraints() first)")
        r, N = self.r, self.N
        M = (self._Sfull @ (self._Ssum @ self.Mc.value)).reshape(r, r, order="F")
        K = self.B.T @ M @ self.B
        up = self._L_sigma @ self.Mc.value
        Ks = np.zeros((N, N))
        Ks[self._iu, self._ju] = up
        Ks[self._ju, self._iu] = up
        return M, K, Ks

    def P_blocks(self):
        """The solved ``P_t`` as an array (T, r, r)."""
        r = self.r
        vals = self.P.value.reshape(-1, self._ne)
        return (vals @ self._Sfull.T).reshape(-1, r, r)  # symmetric, so C/F order agree

    def residual(self):
        r"""Max violation of the cone's constraints at the current values (absolute).

        Checks ``P ≥ 0``, PSD-ness of every ``P_t`` (−λ_min), ``M_c = Σ R_t P_t R_tᵀ`` and, for the
        expressions passed to :meth:`constraints`, ``K = BᵀMB`` and ``K^σ − β²11ᵀ = Σ_c D_c BᵀM_cB D_c``.
        """
        if self.P.value is None:
            raise RuntimeError("CellCone: no solution yet")
        p = self.P.value
        res = [max(0.0, -p.min())]
        if self.r >= 2:
            w = np.linalg.eigvalsh(self.P_blocks())
            res.append(max(0.0, -w.min()))
        res.append(np.abs(self.Mc.value - self._L_cell @ p).max())
        _, K, Ks = self.all_values()
        if self._K is not None and self._K.value is not None:
            res.append(np.abs(np.asarray(self._K.value) - K).max())
        if self._K_sigma is not None and self._K_sigma.value is not None:
            res.append(np.abs(np.asarray(self._K_sigma.value) - Ks).max())
        return float(max(res))

    def neurons(self, tol=1e-9, merge_tol=1e-6):
        r"""Recover neurons from the solved ``P_t`` (docs/design.md §5: a DNN block of size ≤ 3 factors
        exactly as a nonnegative Gram, see :func:`factor_dnn`; for r = 4 the factorisation is
        greedy + numerical, check the reported errors).

        Each nonnegative factor column ``q`` of ``P_t`` gives ``c = R_t q`` in the closed simplex,
        hence in the closed cell, so ``σ(Bᵀc) = D_t Bᵀc`` and the pair is reproduced exactly.
        Then (i) neurons with ``‖z‖² ≤ tol · Tr K`` are dropped and (ii) neurons whose directions
        agree to ``1 − cos ≤ merge_tol`` are merged into one (``z = (Σ‖z_j‖²)^{1/2} û``: exact
        for parallel neurons by positive homogeneity; an optimal neuron sitting on a ray shared by
        several simplices is otherwise split among them).  The reported errors are measured after
        both steps.  A Carathéodory reduction (docs/design.md §5) is left to the caller.

        Returns
        -------
        CellNeurons
        """
        blocks = self.P_blocks()
        Cs = []
        for R, Pt in zip(self.simplices, blocks):
            if not np.any(Pt > 0):
                continue
            F = factor_dnn(Pt)
            Cs.append((R @ F).T)
        r = self.r
        C = np.concatenate(Cs) if Cs else np.zeros((0, r))
        _, K, Ks = self.all_values()
        sq = np.sum(C * C, axis=1)  # c-space squared norms (for the merge step)
        Z = C @ self.B
        sqz = np.sum(Z * Z, axis=1)
        keep = sqz > tol * max(np.trace(K), 1e-300)
        C, sq = C[keep], sq[keep]
        if len(C) and merge_tol > 0:
            order = np.argsort(-sq)
            C, sq = C[order], sq[order]
            U = C / np.sqrt(sq)[:, None]
            label = -np.ones(len(C), dtype=int)
            for i in range(len(C)):
                if label[i] < 0:
                    close = (label < 0) & (U @ U[i] >= 1.0 - merge_tol)
                    label[close] = i
            heads = np.unique(label)
            merged = []
            for h in heads:
                members = label == h
                u = C[members].sum(axis=0)
                merged.append(u / np.linalg.norm(u) * np.sqrt(sq[members].sum()))
            C = np.array(merged)
        Z = C @ self.B
        S = self.activation(Z)
        return CellNeurons(
            Z=Z,
            C=C,
            K_error=float(np.abs(Z.T @ Z - K).max()) if Z.size else float(np.abs(K).max()),
            K_sigma_error=float(np.abs(S.T @ S - Ks).max()) if Z.size else float(np.abs(Ks).max()),
        )
