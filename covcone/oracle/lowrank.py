r"""Exact face enumeration of the hyperplane arrangement for input rank r ≤ 3 (docs/design.md §3.3;
Jacot et al. 2022, §3).

For ``r = 3`` every great circle ``b_i⊥`` (one per class of parallel columns) is walked once: the
crossing angles of the other planes are sorted (``O(N log N)`` per circle) and the slope pattern's
form ``T = B D Θ`` (3 × k) is carried along the circle by rank-one updates, so the ``O(N²)`` faces
(vertices, arcs, and the two cells beside each arc) cost ``O(N² log N)`` time in all and
``O(N · chunk)`` memory: there is no N × N table.  Two implementations of the same walk:

* a compiled one (numba, optional extra ``covcone[fast]``): one fused loop per circle that only
  bounds a face (trace, then top eigenvalue) and keeps the faces whose bound beats the pool's
  threshold — no per-arc form is ever stored;
* a pure-numpy one (vectorised over chunks of circles), used when numba is not installed or when
  ``COVCONE_NO_NUMBA`` is set.

Both hand their surviving candidates to :func:`._kernels._evaluate_sorted` (bound order, early
stop).  :func:`_naive_r3_group` is the independent reference (every face's pattern computed
directly from an interior point; O(N) per face, N × N tables: small N only).
"""
from __future__ import annotations

import itertools

import numpy as np

from ._kernels import (
    _ANGLE_TOL,
    _DIVERSE_COS,
    _PARALLEL_TOL,
    _WALL_OFFSETS,
    _evaluate_sorted,
    _margin,
    _top_eig,
    _unit_rows,
    compiled,
)


# ============================================================================================
# r ≤ 2
# ============================================================================================
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


def _add_sorted(pool, value2, cand, batch=256):
    """Add exactly valued candidates (squared values ``value2``) to the pool best first, until
    the pool is full and its threshold reaches the next value (the rest cannot enter it)."""
    order = np.argsort(-value2, kind="stable")
    start = 0
    while start < order.size:
        thr = pool.threshold
        if np.isfinite(thr) and value2[order[start]] <= thr:
            return
        idx = order[start : start + batch]
        pool.add(cand[idx], np.sqrt(np.maximum(value2[idx], 0.0)))
        start += batch
        batch = min(2 * batch, 65536)


def _exact_low_group(Theta, B, a, b, pool):
    r"""r = 1: the two points ±1.  r = 2: the rays ±perp(b_i) and each arc's top eigenvector.

    ``O(N log N + N k)`` time and ``O(N k)`` memory: the crossing angles are sorted once and the
    arcs' forms ``T = B D Θ`` (2 × k) come from a cumulative sum of rank-one updates
    ``±(a − b) b_j θ_jᵀ`` starting from the pattern of the largest gap.  Each arc is bounded by
    its form's top eigenvalue (the maximum of the form on the whole circle, hence on the arc's
    closure); a ray's value is exact from the arc that starts there (f is continuous).  The arc's
    top eigenvector is a candidate only if it lies in the arc (the minimal-face argument of
    :mod:`covcone.oracle`: a maximiser whose minimal face is an open arc is a top eigenvector of
    that arc's form; otherwise it is a ray), and a ray only if f does not increase from it along
    the arc that starts there.  Every candidate lies on its face, so its value is its form's
    value: candidates enter the pool best first without an ``O(N)`` evaluation.
    """
    r, N = B.shape
    if r == 1:
        pool.add(np.array([[1.0], [-1.0]]))
        return 2
    k = Theta.shape[1]
    pool.diversify(_DIVERSE_COS)
    alpha = np.arctan2(B[1], B[0])
    beta = np.mod(alpha - np.pi / 2, 2 * np.pi)  # − → + crossing of column j
    ang = np.concatenate([beta, np.mod(beta + np.pi, 2 * np.pi)])
    dlt = np.concatenate([np.full(N, a - b), np.full(N, b - a)])
    col = np.concatenate([np.arange(N), np.arange(N)])
    order = np.argsort(ang, kind="stable")
    ang, dlt, col = ang[order], dlt[order], col[order]
    gaps = np.diff(np.append(ang, ang[0] + 2 * np.pi))
    g = int(np.argmax(gaps))
    phi = ang[g] + gaps[g] / 2
    roll = (g + 1 + np.arange(2 * N)) % (2 * N)
    ang, dlt, col, gaps = ang[roll], dlt[roll], col[roll], gaps[roll]
    O = (B.T[:, :, None] * Theta[:, None, :]).reshape(N, 2 * k)
    dref = np.where(np.cos(phi) * B[0] + np.sin(phi) * B[1] >= 0, a, b)
    T = np.cumsum(dlt[:, None] * O[col], axis=0) + dref @ O  # arc t: from event t to t + 1
    T = T.reshape(2 * N, 2, k)
    rays = np.column_stack([np.cos(ang), np.sin(ang)])
    tang = np.column_stack([-np.sin(ang), np.cos(ang)])
    tr = np.einsum("nr,nrk->nk", rays, T)
    vals = np.einsum("nk,nk->n", tr, tr)
    # a ray is kept only if f does not increase from it into the arc that starts there (a
    # maximiser is a local maximum: necessary condition, relative tolerance 1e-9)
    der = np.einsum("nk,nk->n", tr, np.einsum("nr,nrk->nk", tang, T))
    ray_ok = der <= 1e-9 * np.einsum("nrk,nrk->n", T, T)
    lam, u = _top_eig(T)
    psi = np.mod(np.arctan2(u[:, 1], u[:, 0]) - ang, 2 * np.pi)
    tol = 1e-10
    valid = gaps > _ANGLE_TOL
    in_p = valid & ((psi <= gaps + tol) | (psi >= 2 * np.pi - tol))
    psi_m = np.mod(psi + np.pi, 2 * np.pi)
    in_m = valid & ((psi_m <= gaps + tol) | (psi_m >= 2 * np.pi - tol))
    # every candidate lies on its face, where f² is the face's form: its bound is its value
    cand = np.vstack([rays[ray_ok], u[in_p], -u[in_m]])
    value2 = np.concatenate([vals[ray_ok], lam[in_p], lam[in_m]])
    _add_sorted(pool, value2, cand)
    return 2 * N + int(np.sum(valid))


# ============================================================================================
# r = 3: classes of parallel columns and circle frames (O(N log N), no N × N table)
# ============================================================================================
def _circle_frames(Bn):
    """Orthonormal (u_i, v_i) spanning b_i⊥ for unit columns Bn (3 × N)."""
    N = Bn.shape[1]
    e = np.zeros((N, 3))
    e[np.arange(N), np.argmin(np.abs(Bn), axis=0)] = 1.0
    U = _unit_rows(np.cross(Bn.T, e))
    V = np.cross(Bn.T, U)
    return U, V


class _Geometry:
    """The Θ-independent part of :class:`_Circles` (classes, normals, frames, sides)."""

    __slots__ = ("label", "n", "size", "U", "V", "Bn", "side")


_GEOMETRY_CACHE: dict = {}  # a few recent B's (column generation prices the same B every round)


def _circle_geometry(B):
    r"""The great circles of ``B`` (see :class:`_Circles`), cached by the bytes of ``B``: column
    generation and the λ path call the oracle on the same ``B`` again and again, and the classes
    (a sort, a union of near-parallel pairs, the frames) depend on ``B`` only."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    key = (B.shape, hash(B.tobytes()))
    hit = _GEOMETRY_CACHE.get(key)
    if hit is not None and np.array_equal(hit[0], B):  # (a hash collision is not a hit)
        return hit[1]
    N = B.shape[1]
    Bn = B / np.linalg.norm(B, axis=0)
    X = Bn.T.copy()
    big = np.argmax(np.abs(X), axis=1)
    X[X[np.arange(N), big] < 0] *= -1.0
    uniq, inv = np.unique(X, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    nu = uniq.shape[0]
    g = np.array([0.5773502691896258, 0.5773502691896257, 0.5773502691896258]) + np.array([0.0123, -0.0311, 0.0207])
    key_proj = uniq @ g
    order = np.argsort(key_proj, kind="stable")
    ks = key_proj[order]
    hi = np.searchsorted(ks, ks + 4 * _PARALLEL_TOL * np.linalg.norm(g), side="right")
    cnt = hi - np.arange(nu) - 1
    ii = np.repeat(np.arange(nu), cnt)
    jj = ii + 1 + (np.arange(ii.size) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    if ii.size:
        pi, pj = order[ii], order[jj]
        close = np.linalg.norm(np.cross(uniq[pi], uniq[pj]), axis=1) <= _PARALLEL_TOL
        pi, pj = pi[close], pj[close]
    else:
        pi = pj = np.zeros(0, int)
    A = coo_matrix((np.ones(pi.size), (pi, pj)), shape=(nu, nu))
    _, comp = connected_components(A, directed=False)
    label = comp[inv]
    # renumber classes by first occurrence; the normal is the first member's canonical direction
    _, first, label = np.unique(label, return_index=True, return_inverse=True)
    geo = _Geometry()
    geo.label = label.reshape(-1)
    geo.n = X[first]
    geo.size = np.bincount(geo.label, minlength=first.size)
    geo.U, geo.V = _circle_frames(geo.n.T.copy())
    geo.Bn = Bn
    geo.side = np.sign(np.einsum("jr,jr->j", Bn.T, geo.n[geo.label]))  # ±1: side of the class normal
    if len(_GEOMETRY_CACHE) >= 4:
        _GEOMETRY_CACHE.pop(next(iter(_GEOMETRY_CACHE)))
    _GEOMETRY_CACHE[key] = (B.copy(), geo)
    return geo


class _Circles:
    r"""The great circles of the arrangement: one per class of parallel columns.

    Two columns are parallel (same plane ``b_i⊥``) when ``‖b̂_i × b̂_j‖ ≤ _PARALLEL_TOL``.  The
    classes are found without an N × N table: each unit column is given the sign that makes its
    largest coordinate positive (parallel and antiparallel columns then nearly coincide; the
    choice is consistent for near-parallel pairs because their largest coordinates are large and
    of the same relative sign), exact duplicates are merged by ``np.unique``, and near-duplicates
    can only be neighbours in the order of a random projection (they differ by ≤ tol in it); the
    pairs within that window are tested and joined by connected components.

    Attributes: ``label`` (N,) class of each column; ``n`` (c, 3) unit normal of each class;
    ``U``, ``V`` (c, 3) orthonormal frame of the circle ``n⊥``; ``size`` (c,) columns per class;
    ``Ep``, ``Em`` (c, 3k) contribution ``Σ_{j∈class} σ-slope · b_j θ_jᵀ`` of the class's own
    columns in the cell on the ``n``-positive / negative side.
    """

    def __init__(self, B, Theta, a, b):
        N = B.shape[1]
        k = Theta.shape[1]
        g = _circle_geometry(B)
        self.label, self.n, self.size, self.U, self.V, self.Bn = g.label, g.n, g.size, g.U, g.V, g.Bn
        c = self.n.shape[0]
        s = g.side
        O = (B.T[:, :, None] * Theta[:, None, :]).reshape(N, 3 * k)
        self.O = O
        P = np.zeros((c, 3 * k))
        Q = np.zeros((c, 3 * k))
        np.add.at(P, self.label[s > 0], O[s > 0])
        np.add.at(Q, self.label[s <= 0], O[s <= 0])
        self.Ep = a * P + b * Q
        self.Em = b * P + a * Q

    def chunks(self, classes, max_events=400_000):
        """Yield ``(I, J)``: class indices (in the given order, grouped by equal size) and their
        non-member columns (c, m)."""
        N = self.label.size
        m = N - self.size[classes]
        for mm in np.unique(m):
            if mm == 0:
                continue
            I_all = classes[m == mm]
            step = max(1, max_events // (2 * int(mm)))
            for s in range(0, I_all.size, step):
                I = I_all[s : s + step]
                J = np.nonzero(self.label[None, :] != I[:, None])[1].reshape(I.size, mm)
                yield I, J


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
    return ang, col, dlt, gaps, dref


def _r3_numpy_chunk(circ, Theta, B, a, b, pool, scale2, I, J):
    r"""The walk of :func:`_exact_r3_group` on the circles ``I`` (numpy, vectorised): all arcs'
    forms by cumulative sums, bounds, membership tests, then bound-ordered evaluation."""
    k = Theta.shape[1]
    O, BnT = circ.O, circ.Bn.T
    mm = J.shape[1]
    ang, col, dlt, gaps, dref = _r3_arcs(B, circ.U, circ.V, I, J, a, b)
    T = np.cumsum(dlt[:, :, None] * O[col], axis=1)
    T += np.einsum("cm,cmq->cq", dref, O[J])[:, None, :]
    ci, ti = np.nonzero(gaps > _ANGLE_TOL)
    T = T[ci, ti]  # (n, 3k) valid arcs
    cls = I[ci]
    n = T.shape[0]
    phi0, length = ang[ci, ti], gaps[ci, ti]
    u, v = circ.U[cls], circ.V[cls]
    T3 = T.reshape(n, 3, k)
    tol = 1e-10
    vert = np.cos(phi0)[:, None] * u + np.sin(phi0)[:, None] * v
    tv = np.einsum("nr,nrk->nk", vert, T3)
    v_val = np.einsum("nk,nk->n", tv, tv)
    thr = pool.threshold
    cut = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
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
    bounds, cands = [v_val, l_arc[in_p], l_arc[in_m]], [vert, arc_vec[in_p], -arc_vec[in_m]]
    for E, side in ((circ.Ep, 1.0), (circ.Em, -1.0)):
        Tc = (T + E[cls]).reshape(n, 3, k)
        lam, _ = _top_eig(Tc, need_vectors=False)
        sc = np.nonzero(lam > cut)[0]
        _, ucs = _top_eig(Tc[sc])
        h = 0.5 * length[sc]
        mid = np.cos(phi0[sc] + h)[:, None] * u[sc] + np.sin(phi0[sc] + h)[:, None] * v[sc]
        Wb = BnT[col[ci[sc, None], (ti[sc, None] + _WALL_OFFSETS[None, :]) % (2 * mm)]]  # (s, w, 3)
        sw = np.sign(np.einsum("nwr,nr->nw", Wb, mid))
        g = sw * np.einsum("nwr,nr->nw", Wb, ucs)
        gi = side * np.einsum("nr,nr->n", circ.n[cls[sc]], ucs)
        ok_p = (gi >= -tol) & np.all(g >= -tol, axis=1)
        ok_m = (gi <= tol) & np.all(g <= tol, axis=1)  # −u flips the sign of every product
        bounds += [lam[sc][ok_p], lam[sc][ok_m]]
        cands += [ucs[ok_p], -ucs[ok_m]]
    bound = np.concatenate(bounds)
    cand = np.vstack(cands)
    _evaluate_sorted(pool, bound, lambda idx: cand[idx], scale2)
    return 4 * n


# ============================================================================================
# r = 3: the compiled walk (numba, optional)
# ============================================================================================
_KERNEL = None


def _numba_kernel():
    """The compiled per-circle walk, or None when numba is missing or disabled
    (``COVCONE_NO_NUMBA`` set to anything but ``""``/``"0"``)."""
    global _KERNEL
    walk = compiled("_numba_walk", "walk")
    if walk is None:
        return None
    if _KERNEL is None:
        offs = _WALL_OFFSETS.astype(np.int64)

        def _KERNEL(*args):
            return walk(*args, offs, float(_ANGLE_TOL))
    return _KERNEL or None




# ============================================================================================
# r = 3: the driver
# ============================================================================================
def _dedupe(bound, cand):
    """Drop repeated candidates (a vertex or cell met from several circles) before the O(N)
    true evaluations; points equal to ~1e-9 are one point, the largest bound is kept."""
    if bound.size < 2:
        return bound, cand
    order = np.argsort(-bound, kind="stable")
    bound, cand = bound[order], cand[order]
    _, first = np.unique(np.round(cand * 1e9), axis=0, return_index=True)
    first = np.sort(first)
    return bound[first], cand[first]


_STAGED_MIN = 128  # fewer circles are walked in one kernel call (staging costs more than it saves there)


def _exact_r3_group(Theta, B, a, b, pool, scale2, *, use_numba=None, capacity=16):
    r"""Exact ``max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` for ``B`` of rank 3 (docs/design.md §3.3;
    the paper's §3), ``O(N² log N)`` time, ``O(N · chunk)`` memory.

    Per great circle ``b_i⊥`` the crossing angles are sorted, the pattern of the arc in the
    largest gap comes from one product, and the other arcs' ``T = B D Θ`` from rank-one updates
    ``(new − old)·b_j θ_jᵀ``.  Each arc carries four faces: its start vertex (value from the
    arc's form), the arc itself (2 × 2 form in the circle's frame) and the two cells beside it
    (the arc's pattern plus slope ``a`` or ``b`` on the circle's own columns).

    Bounds, and why they hold: on a face's closure ``σ(z) = D z`` with the face's pattern, so the
    objective there is ``cᵀ T Tᵀ c ≤ λ_max(T Tᵀ) ≤ tr(T Tᵀ) = ‖T‖_F²``.  The arc and its start
    vertex lie in the closure of either cell beside it, so a cell's bound bounds them too.  A
    face is dropped when its bound is at most the pool's threshold (the ``n_best``-th best true
    value found so far, minus a rounding margin): it cannot hold a better point.  A face whose
    top eigenvector (either sign) is not in it is dropped too: a maximiser whose *minimal* face
    is that face would be such an eigenvector (:mod:`covcone.oracle`).  The arc test is exact
    (angle in the arc); the cell test is first the necessary one of the side of the circle's own
    plane and of the planes crossing the circle near the arc, then (compiled walk) the exact one
    against every crossing plane.  A maximiser is also a local maximum of f, so the compiled
    walk drops a vertex from which f increases along the arc that starts there, and an arc's
    point from which f increases into either cell (first-order tests on the cells' forms, with a
    relative tolerance of 1e-9): necessary conditions, they never drop the maximiser.  What is
    kept is a local maximum of its face, i.e. the best point of a distinct cell, arc or vertex.

    The compiled walk keeps only candidates that lie in their faces, so their bound is their
    value and they enter the pool without an ``O(N)`` evaluation; the numpy walk's cell test is
    the necessary one only, so its candidates are evaluated in bound order with early stop.

    Circles are processed in chunks, those passing nearest the best point so far first, so the
    threshold rises early; after each chunk the surviving candidates are evaluated in bound
    order with early stop.  The compiled walk keeps at most ``capacity`` candidates per circle and
    records the largest bound it had to drop; circles whose dropped bound still beats the final
    threshold are walked again with a larger capacity, so nothing that matters is lost.
    """
    N, k = Theta.shape
    pool.diversify(_DIVERSE_COS)
    circ = _Circles(B, Theta, a, b)
    nc = circ.n.shape[0]
    # circles through (or near) the warm start's best point first
    if pool.C.shape[0]:
        classes = np.argsort(np.abs(circ.n @ pool.C[0]), kind="stable")
    else:
        classes = np.arange(nc)
    kernel = _numba_kernel() if use_numba in (None, True) else None
    if use_numba and kernel is None:
        raise ImportError("numba is not available (install covcone[fast])")
    n_faces = 0
    if kernel is None:
        for I, J in circ.chunks(classes):
            n_faces += _r3_numpy_chunk(circ, Theta, B, a, b, pool, scale2, I, J)
        return n_faces

    O3 = circ.O.reshape(N, 3, k)
    Ep = circ.Ep.reshape(nc, 3, k)
    Em = circ.Em.reshape(nc, 3, k)
    Bc = np.ascontiguousarray(B)
    Bn = np.ascontiguousarray(circ.Bn)
    label = circ.label.astype(np.int64)
    chunk = int(min(max(16, 4_000_000 // max(N, 1)), 1024))
    todo, cap, first = classes.astype(np.int64), capacity, True
    while todo.size:
        redo = []
        # a few circles first (those through the warm start's best point): they raise the
        # threshold before the bulk of the walk
        staged = todo.size > _STAGED_MIN
        bounds = [0] + [min(todo.size, 8 * 4**i) for i in range(8) if staged and 8 * 4**i < min(chunk, todo.size)]
        bounds += list(range(bounds[-1] + chunk if len(bounds) > 1 else chunk, todo.size, chunk)) + [todo.size]
        bounds = sorted(set(bounds))
        for s, e in itertools.pairwise(bounds):
            I = todo[s:e]
            thr = pool.threshold
            cut = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
            vals = np.full((I.size, cap), -np.inf)
            pts = np.zeros((I.size, cap, 3))
            cnt = np.zeros(I.size, np.int64)
            drop = np.full(I.size, -np.inf)
            narcs = np.zeros(I.size, np.int64)
            kernel(I, label, Bc, Bn, O3, circ.n, circ.U, circ.V, Ep, Em, float(a), float(b), float(cut),
                   vals, pts, cnt, drop, narcs)
            if first:
                n_faces += 4 * int(narcs.sum())
            keep = vals > -np.inf
            bound, cand = _dedupe(vals[keep], pts[keep])
            # every kept candidate lies in (the closure of) its face, where f² is the face's form:
            # its bound is its value, no O(N) evaluation needed (the returned points are
            # re-evaluated on the original data by max_group_norm)
            pool.add(cand, np.sqrt(np.maximum(bound, 0.0)))
            redo.append(np.column_stack([I, drop]) if I.size else np.zeros((0, 2)))
        redo = np.vstack(redo)
        thr = pool.threshold
        cut = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
        todo = redo[redo[:, 1] > cut, 0].astype(np.int64)
        cap, first = cap * 8, False
    return n_faces


# ============================================================================================
# reference enumeration of the faces for r ≤ 3 (direct patterns: the naive baseline, price())
# ============================================================================================
def _r3_setup(B, a, b):
    """Per-circle data of the reference enumeration (N × N tables: small N only)."""
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

