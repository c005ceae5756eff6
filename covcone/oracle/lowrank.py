r"""Exact face enumeration of the hyperplane arrangement for input rank r ≤ 3 (docs/design.md §3.3)."""
from __future__ import annotations

import numpy as np

from ._kernels import _ANGLE_TOL, _PARALLEL_TOL, _WALL_OFFSETS, _evaluate_sorted, _margin, _top_eig, _unit_rows


def _circle_events(B2):
    """Angles of the zero crossings ±perp(b_j) of the 2-D columns ``B2`` (2 × N), sorted, plus
    distinct-arc midpoints."""
    alpha = np.arctan2(B2[1], B2[0])
    ang = np.mod(np.concatenate([alpha - np.pi / 2, alpha + np.pi / 2]), 2 * np.pi)
    ang = np.sort(ang)
    gaps = np.diff(np.append(ang, ang[0] + 2 * np.pi))
    valid = gaps > _ANGLE_TOL
    mids = ang[valid] + gaps[valid] / 2
    return ang, mids


def _exact_low_group(Theta, B, a, b, pool):
    """r = 1: the two points ±1.  r = 2: the rays ±perp(b_i) and each arc's top eigenvectors;
    all candidates are evaluated (O(N²k) work)."""
    r = B.shape[0]
    if r == 1:
        pool.add(np.array([[1.0], [-1.0]]))
        return 2
    ang, mids = _circle_events(B)
    rays = np.column_stack([np.cos(ang), np.sin(ang)])
    M = np.column_stack([np.cos(mids), np.sin(mids)])
    D = np.where(M @ B >= 0, a, b)  # (n_arcs, N)
    T = np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)
    _, u = _top_eig(T)
    pool.add(np.vstack([rays, u, -u]))
    return rays.shape[0] + mids.shape[0]


# ============================================================================================
# exact enumeration for r = 3: great circles, arcs, cells, vertices (vectorised)
# ============================================================================================
def _circle_frames(Bn):
    """Orthonormal (u_i, v_i) spanning b_i⊥ for unit columns Bn (3 × N)."""
    N = Bn.shape[1]
    e = np.zeros((N, 3))
    e[np.arange(N), np.argmin(np.abs(Bn), axis=0)] = 1.0
    U = _unit_rows(np.cross(Bn.T, e))
    V = np.cross(Bn.T, U)
    return U, V


def _r3_setup(B, a, b):
    """Per-circle data shared by the fast and the reference r = 3 enumerations."""
    N = B.shape[1]
    Bn = B / np.linalg.norm(B, axis=0)
    par = np.empty((N, N), bool)
    step = max(1, 1_000_000 // N)
    for s in range(0, N, step):  # ‖b̂_i × b̂_j‖ in row blocks (memory O(N) per row)
        cr = np.cross(Bn.T[s : s + step, None, :], Bn.T[None, :, :])
        par[s : s + step] = np.linalg.norm(cr, axis=2) <= _PARALLEL_TOL
    np.fill_diagonal(par, True)
    sgn = np.sign(Bn.T @ Bn)
    pos, neg = par & (sgn > 0), par & (sgn < 0)
    np.fill_diagonal(pos, True)
    rep = np.argmax(par, axis=1) == np.arange(N)  # one circle per parallel class
    U, V = _circle_frames(Bn)
    m = N - par.sum(axis=1)
    return par, pos, neg, rep, U, V, m


def _r3_chunks(par, rep, m, max_events=400_000):
    """Yield circle chunks ``(I, J)``: circle indices and their non-parallel columns (c, m)."""
    for mm in np.unique(m[rep]):
        if mm == 0:
            continue
        circles = np.nonzero(rep & (m == mm))[0]
        step = max(1, max_events // (2 * int(mm)))
        for s in range(0, circles.size, step):
            I = circles[s : s + step]
            J = np.nonzero(~par[I])[1].reshape(I.size, mm)
            yield I, J
    return


def _r3_arcs(B, U, V, I, J, a, b):
    """Sorted crossing events on the circles I: angles rolled to start after the largest gap.

    Returns ``ang`` (c, 2m), ``col`` (c, 2m), ``dlt`` (c, 2m) slope changes, ``gaps`` (c, 2m)
    (arc t runs from event t to event t+1; the last arc is the largest gap), reference slopes
    ``dref`` (c, m) on the last arc, and ``up`` (c, 2m): event t is a − → + crossing."""
    c, mm = J.shape
    pu = np.take_along_axis(U[I] @ B, J, axis=1)
    pv = np.take_along_axis(V[I] @ B, J, axis=1)
    alpha = np.arctan2(pv, pu)
    ang = np.mod(np.concatenate([alpha - np.pi / 2, alpha + np.pi / 2], axis=1), 2 * np.pi)
    col = np.concatenate([J, J], axis=1)
    dlt = np.concatenate([np.full((c, mm), a - b), np.full((c, mm), b - a)], axis=1)
    order = np.argsort(ang, axis=1, kind="stable")
    ang = np.take_along_axis(ang, order, 1)
    col = np.take_along_axis(col, order, 1)
    dlt = np.take_along_axis(dlt, order, 1)
    gaps = np.empty_like(ang)
    gaps[:, :-1] = np.diff(ang, axis=1)
    gaps[:, -1] = ang[:, 0] + 2 * np.pi - ang[:, -1]
    g = np.argmax(gaps, axis=1)
    rows = np.arange(c)
    phi = ang[rows, g] + gaps[rows, g] / 2
    roll = (g[:, None] + 1 + np.arange(2 * mm)[None, :]) % (2 * mm)
    ang, col, dlt, gaps = (np.take_along_axis(x, roll, 1) for x in (ang, col, dlt, gaps))
    zref = pu * np.cos(phi)[:, None] + pv * np.sin(phi)[:, None]
    dref = np.where(zref >= 0, a, b)
    up = np.take_along_axis(np.concatenate([np.ones((c, mm), bool), np.zeros((c, mm), bool)], 1), order, 1)
    up = np.take_along_axis(up, roll, 1)
    return ang, col, dlt, gaps, dref, up


def _exact_r3_group(Theta, B, a, b, pool, scale2):
    r"""docs/design.md §3.4 for d' = 3, vectorised.

    Per great circle ``b_i⊥`` the crossing angles are sorted, the pattern of the arc in the
    largest gap comes from one product, and the other arcs' ``T = B D Θ`` from a cumulative sum
    of rank-one updates ``(new − old)·b_j θ_jᵀ``.  Each arc ``t`` carries four faces: its start
    vertex (value from the arc's form), the arc itself (2 × 2 form in the circle's frame) and the
    two cells beside it (the arc's pattern plus slope ``a`` or ``b`` on the circle's own columns).

    Faces whose top eigenvector cannot lie in the face are dropped before any evaluation: a
    face that is the *minimal* face of a maximiser contains its top eigenvector (module
    docstring), so the others are not needed.  The arc test is exact (angle inside the arc); the
    cell test is necessary only (the right side of the three walls ``b_i``, ``b_{j_t}``,
    ``b_{j_{t+1}}`` met at the arc).  The kept faces are bounded by their top eigenvalue (a cell's
    bounds the arc's and the vertex's, Cauchy interlacing) and evaluated in decreasing order of the
    bound with early stop.
    """
    N, k = Theta.shape
    par, pos, neg, rep, U, V, m = _r3_setup(B, a, b)
    BnT = np.ascontiguousarray((B / np.linalg.norm(B, axis=0)).T)
    O = (B.T[:, :, None] * Theta[:, None, :]).reshape(N, 3 * k)
    Ep = (a * pos + b * neg) @ O  # the circle's own columns on the + side of b_i
    Em = (b * pos + a * neg) @ O
    n_faces = 0
    tol = 1e-10
    for I, J in _r3_chunks(par, rep, m):
        c, mm = J.shape
        ang, col, dlt, gaps, dref, up = _r3_arcs(B, U, V, I, J, a, b)
        Dfull = np.zeros((c, N))
        np.put_along_axis(Dfull, J, dref, axis=1)
        T = np.cumsum(dlt[:, :, None] * O[col], axis=1)
        T += (Dfull @ O)[:, None, :]
        ci, ti = np.nonzero(gaps > _ANGLE_TOL)
        T = T[ci, ti]  # (n, 3k) valid arcs
        circ = I[ci]
        n = T.shape[0]
        n_faces += 4 * n
        phi0, length = ang[ci, ti], gaps[ci, ti]
        u, v = U[circ], V[circ]
        T3 = T.reshape(n, 3, k)
        # vertex at the start of the arc: exact value from the arc's form
        vert = np.cos(phi0)[:, None] * u + np.sin(phi0)[:, None] * v
        tv = np.einsum("nr,nrk->nk", vert, T3)
        v_val = np.einsum("nk,nk->n", tv, tv)
        # faces below the pool's threshold are dropped before any test (their bound is too low)
        thr = pool.threshold
        cut = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
        # the arc: top eigenvector of the 2 × 2 form, kept if inside the arc (either sign)
        T2 = np.stack([np.einsum("nr,nrk->nk", u, T3), np.einsum("nr,nrk->nk", v, T3)], axis=1)
        l_arc, _ = _top_eig(T2, need_vectors=False)
        sa = np.nonzero(l_arc > cut)[0]
        _, w = _top_eig(T2[sa])
        psi = np.mod(np.arctan2(w[:, 1], w[:, 0]) - phi0[sa], 2 * np.pi)
        psi_m = np.mod(psi + np.pi, 2 * np.pi)
        in_p = np.zeros(n, bool)
        in_m = np.zeros(n, bool)
        in_p[sa] = (psi <= length[sa] + tol) | (psi >= 2 * np.pi - tol)
        in_m[sa] = (psi_m <= length[sa] + tol) | (psi_m >= 2 * np.pi - tol)
        arc_vec = np.zeros((n, 3))
        arc_vec[sa] = w[:, :1] * u[sa] + w[:, 1:] * v[sa]
        l_arc = np.where(in_p | in_m, l_arc, -np.inf)
        bound = np.maximum(v_val, l_arc)
        # the cells: necessary test on the circle's plane and the planes crossing the circle
        # near the arc (their signs on the cell are those at the arc's midpoint)
        cells = []
        for E, side in ((Ep, 1.0), (Em, -1.0)):
            Tc = (T + E[circ]).reshape(n, 3, k)
            lam, _ = _top_eig(Tc, need_vectors=False)
            sc = np.nonzero(lam > cut)[0]
            _, ucs = _top_eig(Tc[sc])
            h = 0.5 * length[sc]
            mid = np.cos(phi0[sc] + h)[:, None] * u[sc] + np.sin(phi0[sc] + h)[:, None] * v[sc]
            Wb = BnT[col[ci[sc, None], (ti[sc, None] + _WALL_OFFSETS[None, :]) % (2 * mm)]]  # (s, w, 3)
            sw = np.sign(np.einsum("nwr,nr->nw", Wb, mid))
            g = sw * np.einsum("nwr,nr->nw", Wb, ucs)
            gi = side * np.einsum("nr,nr->n", BnT[circ[sc]], ucs)
            ok_p = np.zeros(n, bool)
            ok_m = np.zeros(n, bool)
            ok_p[sc] = (gi >= -tol) & np.all(g >= -tol, axis=1)
            ok_m[sc] = (gi <= tol) & np.all(g <= tol, axis=1)  # −u flips the sign of every product
            uc = np.zeros((n, 3))
            uc[sc] = ucs
            lam = np.where(ok_p | ok_m, lam, -np.inf)
            cells.append((uc, ok_p, ok_m, lam))
            bound = np.maximum(bound, lam)

        def make(idx, vert=vert, arc_vec=arc_vec, in_p=in_p, in_m=in_m, cells=cells, v_val=v_val, l_arc=l_arc):
            cut = pool.threshold - _margin(pool, scale2)  # faces of the group that still matter
            va, la = v_val[idx] > cut, l_arc[idx] > cut
            out = [vert[idx][va], arc_vec[idx][la & in_p[idx]], -arc_vec[idx][la & in_m[idx]]]
            for uc, ok_p, ok_m, lam in cells:
                lc = lam[idx] > cut
                out += [uc[idx][lc & ok_p[idx]], -uc[idx][lc & ok_m[idx]]]
            return np.vstack(out)

        _evaluate_sorted(pool, bound, make, scale2)
    return n_faces


# ============================================================================================
# reference enumeration of the faces for r ≤ 3 (direct patterns: the naive baseline, price())
# ============================================================================================
def _faces_lowdim(B, a, b, max_entries=4_000_000):
    r"""Yield the faces of the arrangement for ``r ≤ 3`` (B of full row rank) in chunks.

    Each item is ``(points, S, D)``: ``points`` (p, r) are 0-dimensional faces (candidates
    themselves); ``S`` (n, r, q) orthonormal bases of the faces' spans and ``D`` (n, N) their slope
    patterns, computed directly at an interior point (O(N) per face, no cumulative sums): an
    independent code path from :func:`_exact_r3_group`.
    """
    r, N = B.shape
    if r == 1:
        yield np.array([[1.0], [-1.0]]), np.zeros((0, 1, 1)), np.zeros((0, N))
        return
    if r == 2:
        ang, mids = _circle_events(B)
        M = np.column_stack([np.cos(mids), np.sin(mids)])
        S = np.broadcast_to(np.eye(2), (mids.size, 2, 2))
        yield np.column_stack([np.cos(ang), np.sin(ang)]), S, np.where(M @ B >= 0, a, b)
        return
    par, pos, neg, rep, U, V, m = _r3_setup(B, a, b)
    # vertices ±b_i × b_j of non-parallel pairs
    ii, jj = np.nonzero(np.triu(~par, 1))
    vert = _unit_rows(np.cross(B[:, ii].T, B[:, jj].T))
    yield np.vstack([vert, -vert]), np.zeros((0, 3, 2)), np.zeros((0, N))
    for i in np.nonzero(rep)[0]:
        if m[i] == 0:
            continue
        B2 = np.vstack([U[i] @ B[:, ~par[i]], V[i] @ B[:, ~par[i]]])
        _, mids = _circle_events(B2)
        P = np.cos(mids)[:, None] * U[i] + np.sin(mids)[:, None] * V[i]  # arc midpoints
        Z = P @ B
        D = np.where(Z >= 0, a, b)
        S2 = np.broadcast_to(np.stack([U[i], V[i]], axis=1), (mids.size, 3, 2))
        yield np.zeros((0, 3)), S2, D
        own = np.nonzero(par[i])[0]
        s_own = np.sign(B[:, own].T @ B[:, i])
        for side in (1.0, -1.0):
            Dc = D.copy()
            Dc[:, own] = np.where(side * s_own > 0, a, b)
            yield np.zeros((0, 3)), np.broadcast_to(np.eye(3), (mids.size, 3, 3)), Dc


def _naive_r3_group(Theta, B, a, b, pool):
    r"""Reference exact oracle for r ≤ 3: every face's top eigenvectors, all evaluated, no bound
    ordering (the baseline of ``benchmarks/bench_oracle.py`` and a cross-check in the tests)."""
    n_faces = 0
    for points, S, D in _faces_lowdim(B, a, b):
        pool.add(points)
        n_faces += points.shape[0]
        if D.shape[0] == 0:
            continue
        T = np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)
        T = np.einsum("srq,srk->sqk", S, T)
        _, w = _top_eig(T)
        u = np.einsum("srq,sq->sr", S, w)
        pool.add(np.vstack([u, -u]))
        n_faces += D.shape[0]
    return n_faces

