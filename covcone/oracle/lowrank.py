r"""Exact face enumeration of the hyperplane arrangement for input rank r ≤ 3 (docs/design.md,
"The pricing oracle"; Jacot et al. 2022, §3).

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

import os

import numpy as np

from ._kernels import (_ANGLE_TOL, _DIVERSE_COS, _PARALLEL_TOL, _WALL_OFFSETS, _evaluate_sorted, _margin,
                       _top_eig, _unit_rows)

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
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        N = B.shape[1]
        k = Theta.shape[1]
        Bn = B / np.linalg.norm(B, axis=0)
        X = Bn.T.copy()
        big = np.argmax(np.abs(X), axis=1)
        X[X[np.arange(N), big] < 0] *= -1.0
        uniq, inv = np.unique(X, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        nu = uniq.shape[0]
        g = np.array([0.5773502691896258, 0.5773502691896257, 0.5773502691896258]) + np.array([0.0123, -0.0311, 0.0207])
        key = uniq @ g
        order = np.argsort(key, kind="stable")
        ks = key[order]
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
        label = label.reshape(-1)
        c = first.size
        self.label = label
        self.n = X[first]
        self.size = np.bincount(label, minlength=c)
        self.U, self.V = _circle_frames(self.n.T.copy())
        self.Bn = Bn
        s = np.sign(np.einsum("jr,jr->j", Bn.T, self.n[label]))  # ±1: side of the class normal
        O = (B.T[:, :, None] * Theta[:, None, :]).reshape(N, 3 * k)
        self.O = O
        P = np.zeros((c, 3 * k))
        Q = np.zeros((c, 3 * k))
        np.add.at(P, label[s > 0], O[s > 0])
        np.add.at(Q, label[s <= 0], O[s <= 0])
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
    N, k = Theta.shape
    O, BnT = circ.O, circ.Bn.T
    c, mm = J.shape
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
    if os.environ.get("COVCONE_NO_NUMBA", "") not in ("", "0"):
        return None
    if _KERNEL is None:
        try:
            _KERNEL = _build_kernel()
        except ImportError:
            _KERNEL = False
    return _KERNEL or None


def _build_kernel():  # noqa: C901 (one fused loop on purpose)
    import numba as nb

    TWO_PI = 2.0 * np.pi
    NOFF = _WALL_OFFSETS.size
    OFFS = _WALL_OFFSETS.astype(np.int64)

    @nb.njit(cache=True, inline="always")
    def push(vals, pts, cnt, drop, q, val, p0, p1, p2):
        L = vals.shape[1]
        if cnt[q] < L:
            i = cnt[q]
            cnt[q] += 1
        else:
            i = 0
            for s in range(1, L):
                if vals[q, s] < vals[q, i]:
                    i = s
            if vals[q, i] >= val:
                if val > drop[q]:
                    drop[q] = val
                return
            if vals[q, i] > drop[q]:
                drop[q] = vals[q, i]
        vals[q, i] = val
        pts[q, i, 0] = p0
        pts[q, i, 1] = p1
        pts[q, i, 2] = p2

    @nb.njit(cache=True)
    def jacobi3(M, W):
        # cyclic Jacobi on the symmetric 3 × 3 M (overwritten); W ← eigenvectors (columns)
        for i in range(3):
            for j in range(3):
                W[i, j] = 1.0 if i == j else 0.0
        for _ in range(50):
            off = M[0, 1] ** 2 + M[0, 2] ** 2 + M[1, 2] ** 2
            diag = M[0, 0] ** 2 + M[1, 1] ** 2 + M[2, 2] ** 2
            if off <= 1e-32 * diag or off == 0.0:
                break
            for p in range(2):
                for q in range(p + 1, 3):
                    if M[p, q] == 0.0:
                        continue
                    th = (M[q, q] - M[p, p]) / (2.0 * M[p, q])
                    t = (1.0 if th >= 0 else -1.0) / (abs(th) + np.sqrt(th * th + 1.0))
                    c = 1.0 / np.sqrt(t * t + 1.0)
                    s = t * c
                    for r in range(3):
                        mrp, mrq = M[r, p], M[r, q]
                        M[r, p] = c * mrp - s * mrq
                        M[r, q] = s * mrp + c * mrq
                    for r in range(3):
                        mpr, mqr = M[p, r], M[q, r]
                        M[p, r] = c * mpr - s * mqr
                        M[q, r] = s * mpr + c * mqr
                    for r in range(3):
                        wrp, wrq = W[r, p], W[r, q]
                        W[r, p] = c * wrp - s * wrq
                        W[r, q] = s * wrp + c * wrq
        best = 0
        for i in range(1, 3):
            if M[i, i] > M[best, best]:
                best = i
        return best

    @nb.njit(cache=True)
    def top3(T, k, u, M, W, need_vec):
        # top eigenpair of T Tᵀ (T 3 × k): closed forms for k ≤ 2, Jacobi otherwise; u ← unit vector
        if k == 1:
            lam = T[0, 0] ** 2 + T[1, 0] ** 2 + T[2, 0] ** 2
            if not need_vec:
                return lam
            for r in range(3):
                u[r] = T[r, 0]
        elif k == 2:
            g11 = T[0, 0] ** 2 + T[1, 0] ** 2 + T[2, 0] ** 2
            g22 = T[0, 1] ** 2 + T[1, 1] ** 2 + T[2, 1] ** 2
            g12 = T[0, 0] * T[0, 1] + T[1, 0] * T[1, 1] + T[2, 0] * T[2, 1]
            h = 0.5 * (g11 - g22)
            lam = 0.5 * (g11 + g22) + np.sqrt(h * h + g12 * g12)
            if not need_vec:
                return max(lam, 0.0)
            if g11 >= g22:
                w0, w1 = lam - g22, g12
            else:
                w0, w1 = g12, lam - g11
            for r in range(3):
                u[r] = T[r, 0] * w0 + T[r, 1] * w1
        else:
            for i in range(3):
                for j in range(3):
                    s = 0.0
                    for kk in range(k):
                        s += T[i, kk] * T[j, kk]
                    M[i, j] = s
            best = jacobi3(M, W)
            lam = M[best, best]
            for r in range(3):
                u[r] = W[r, best]
        nu = np.sqrt(u[0] ** 2 + u[1] ** 2 + u[2] ** 2)
        if nu > 0:
            for r in range(3):
                u[r] /= nu
        else:
            u[0], u[1], u[2] = 1.0, 0.0, 0.0
        return max(lam, 0.0)

    @nb.njit(cache=True, inline="always")
    def buffer_min(vals, q):
        v = vals[q, 0]
        for s in range(1, vals.shape[1]):
            if vals[q, s] < v:
                v = vals[q, s]
        return v

    @nb.njit(cache=True)
    def in_cell(Ws, m, e, x0, x1, x2, u0, u1, u2, tol):
        # exact test that u lies in the closed cell of the midpoint x: every crossing plane
        # keeps its sign (walls scanned outwards from the arc, where violations are likeliest)
        for o in range(m):
            t = e % m + (o + 1) // 2 * (1 if o % 2 == 1 else -1)
            t = t % m
            zx = Ws[t, 0] * x0 + Ws[t, 1] * x1 + Ws[t, 2] * x2
            zu = Ws[t, 0] * u0 + Ws[t, 1] * u1 + Ws[t, 2] * u2
            if zx > 0:
                if zu < -tol:
                    return False
            elif zu > tol:
                return False
        return True

    @nb.njit(cache=True)
    def sort_angles(h, m, order, bk, cntb):
        # order ← argsort(h[:m]), h in [0, π]: bucket pass then insertion sort (linear for spread
        # angles); numpy-style argsort when the angles cluster (too many shifts)
        for i in range(m + 1):
            cntb[i] = 0
        scale = m / np.pi
        for s in range(m):
            t = int(h[s] * scale)
            if t >= m:
                t = m - 1
            bk[s] = t
            cntb[t + 1] += 1
        for i in range(m):
            cntb[i + 1] += cntb[i]
        for s in range(m):
            order[cntb[bk[s]]] = s
            cntb[bk[s]] += 1
        shifts = 0
        for i in range(1, m):
            x = order[i]
            hx = h[x]
            j = i - 1
            while j >= 0 and h[order[j]] > hx:
                order[j + 1] = order[j]
                j -= 1
                shifts += 1
            order[j + 1] = x
            if shifts > 16 * m + 1024:
                o2 = np.argsort(h[:m])
                for t in range(m):
                    order[t] = o2[t]
                return

    @nb.njit(cache=True, parallel=True)
    def walk(classes, label, B, Bn, O3, nrm, U, V, Ep, Em, a, b, cut, vals, pts, cnt, drop, narcs):
        N = B.shape[1]
        k = O3.shape[2]
        tol = 1e-10
        for q in nb.prange(classes.size):
            c = classes[q]
            idx = np.empty(N, np.int64)
            h = np.empty(N)
            pu = np.empty(N)
            pv = np.empty(N)
            upf = np.empty(N, np.bool_)
            m = 0
            for j in range(N):
                if label[j] == c:
                    continue
                x = U[c, 0] * B[0, j] + U[c, 1] * B[1, j] + U[c, 2] * B[2, j]
                y = V[c, 0] * B[0, j] + V[c, 1] * B[1, j] + V[c, 2] * B[2, j]
                beta = np.arctan2(y, x) - 0.5 * np.pi  # − → + crossing of z_j along the circle
                if beta < 0:
                    beta += TWO_PI
                if beta >= np.pi:
                    h[m] = beta - np.pi
                    upf[m] = False
                else:
                    h[m] = beta
                    upf[m] = True
                idx[m] = j
                pu[m] = x
                pv[m] = y
                m += 1
            if m == 0:
                continue
            order = np.empty(m, np.int64)
            bk = np.empty(m, np.int64)
            cntb = np.empty(m + 1, np.int64)
            sort_angles(h, m, order, bk, cntb)
            # events of the first half-turn in sorted order: angle, column, form change, wall normal
            hs = np.empty(m)
            Os = np.empty((m, 3, k))
            Ws = np.empty((m, 3))
            for t in range(m):
                s = order[t]
                j = idx[s]
                hs[t] = h[s]
                d = (a - b) if upf[s] else (b - a)
                for r in range(3):
                    Ws[t, r] = Bn[r, j]
                    for kk in range(k):
                        Os[t, r, kk] = d * O3[j, r, kk]
            # largest gap (the gaps of the two half-turns are equal)
            gbest, ebest = -1.0, 0
            for e in range(m):
                gap = (hs[e + 1] - hs[e]) if e + 1 < m else (hs[0] + np.pi - hs[m - 1])
                if gap > gbest:
                    gbest, ebest = gap, e
            phi = hs[ebest] + 0.5 * gbest
            cph, sph = np.cos(phi), np.sin(phi)
            T = np.zeros((3, k))
            for s in range(m):
                j = idx[s]
                d = a if pu[s] * cph + pv[s] * sph >= 0 else b
                for r in range(3):
                    for kk in range(k):
                        T[r, kk] += d * O3[j, r, kk]
            Epc = Ep[c]
            Emc = Em[c]
            Tc = np.empty((3, k))
            u = np.empty(3)
            M = np.empty((3, 3))
            W = np.empty((3, 3))
            count = 0
            m2 = 2 * m
            for step in range(1, m2 + 1):
                e = ebest + step
                if e >= m2:
                    e -= m2
                second = e >= m
                t = e - m if second else e
                ang = hs[t] + np.pi if second else hs[t]
                sg = -1.0 if second else 1.0  # the second half-turn reverses every crossing
                for r in range(3):
                    for kk in range(k):
                        T[r, kk] += sg * Os[t, r, kk]
                if e + 1 < m2:
                    t1 = e + 1 - m if e + 1 >= m else e + 1
                    length = hs[t1] + (np.pi if e + 1 >= m else 0.0) - ang
                else:
                    length = hs[0] + TWO_PI - ang
                if length <= _ANGLE_TOL:
                    continue
                count += 1
                # bounds of the two cells: trace ≥ top eigenvalue ≥ arc's and vertex's values
                trp = 0.0
                trm = 0.0
                for r in range(3):
                    for kk in range(k):
                        tp = T[r, kk] + Epc[r, kk]
                        tm = T[r, kk] + Emc[r, kk]
                        trp += tp * tp
                        trm += tm * tm
                if trp <= cut and trm <= cut:
                    continue
                # the two cells beside the arc (top eigenvalue, then eigenvector and tests)
                lamp = -np.inf
                lamm = -np.inf
                hm = ang + 0.5 * length
                cm, sm = np.cos(hm), np.sin(hm)
                mid0 = cm * U[c, 0] + sm * V[c, 0]
                mid1 = cm * U[c, 1] + sm * V[c, 1]
                mid2 = cm * U[c, 2] + sm * V[c, 2]
                for side in range(2):
                    tr = trp if side == 0 else trm
                    if tr <= cut:
                        continue
                    for r in range(3):
                        for kk in range(k):
                            Tc[r, kk] = T[r, kk] + (Epc[r, kk] if side == 0 else Emc[r, kk])
                    lam = top3(Tc, k, u, M, W, False)
                    if side == 0:
                        lamp = lam
                    else:
                        lamm = lam
                    if lam <= cut:
                        continue
                    lam = top3(Tc, k, u, M, W, True)
                    gi = nrm[c, 0] * u[0] + nrm[c, 1] * u[1] + nrm[c, 2] * u[2]
                    if side == 1:
                        gi = -gi
                    okp = gi >= -tol
                    okm = gi <= tol
                    o = 0
                    while o < NOFF and (okp or okm):
                        ew = e + OFFS[o]
                        if ew < 0:
                            ew += m2
                        elif ew >= m2:
                            ew -= m2
                        tw = ew - m if ew >= m else ew
                        w0, w1, w2 = Ws[tw, 0], Ws[tw, 1], Ws[tw, 2]
                        zm = mid0 * w0 + mid1 * w1 + mid2 * w2
                        gw = w0 * u[0] + w1 * u[1] + w2 * u[2]
                        if zm < 0:
                            gw = -gw
                        if gw < -tol:
                            okp = False
                        if gw > tol:
                            okm = False
                        o += 1
                    for sgn in range(2):
                        if not (okp if sgn == 0 else okm):
                            continue
                        sv = 1.0 if sgn == 0 else -1.0
                        if cnt[q] == vals.shape[1] and lam <= buffer_min(vals, q):
                            if lam > drop[q]:  # not kept, not verified: walk again if it matters
                                drop[q] = lam
                            continue
                        if in_cell(Ws, m, e, mid0, mid1, mid2, sv * u[0], sv * u[1], sv * u[2], tol):
                            push(vals, pts, cnt, drop, q, lam, sv * u[0], sv * u[1], sv * u[2])
                if lamp <= cut or lamm <= cut:
                    continue  # the arc and its vertex lie in the closure of both cells
                c0, s0 = np.cos(ang), np.sin(ang)
                p0 = c0 * U[c, 0] + s0 * V[c, 0]
                p1 = c0 * U[c, 1] + s0 * V[c, 1]
                p2 = c0 * U[c, 2] + s0 * V[c, 2]
                # vertex at the start of the arc: exact value from the arc's form; kept only if
                # f does not increase from it along the arc (a maximiser is a local maximum)
                d0 = -s0 * U[c, 0] + c0 * V[c, 0]
                d1 = -s0 * U[c, 1] + c0 * V[c, 1]
                d2 = -s0 * U[c, 2] + c0 * V[c, 2]
                dtol = 1e-9 * (trp + trm)
                val = 0.0
                der = 0.0
                for kk in range(k):
                    tv = p0 * T[0, kk] + p1 * T[1, kk] + p2 * T[2, kk]
                    td = d0 * T[0, kk] + d1 * T[1, kk] + d2 * T[2, kk]
                    val += tv * tv
                    der += tv * td
                if val > cut and der <= dtol:
                    push(vals, pts, cnt, drop, q, val, p0, p1, p2)
                # the arc: 2 × 2 form in the circle's frame
                g11 = 0.0
                g22 = 0.0
                g12 = 0.0
                for kk in range(k):
                    t0 = U[c, 0] * T[0, kk] + U[c, 1] * T[1, kk] + U[c, 2] * T[2, kk]
                    t1 = V[c, 0] * T[0, kk] + V[c, 1] * T[1, kk] + V[c, 2] * T[2, kk]
                    g11 += t0 * t0
                    g22 += t1 * t1
                    g12 += t0 * t1
                hh = 0.5 * (g11 - g22)
                lam = 0.5 * (g11 + g22) + np.sqrt(hh * hh + g12 * g12)
                if lam > cut:
                    if g11 >= g22:
                        w0, w1 = lam - g22, g12
                    else:
                        w0, w1 = g12, lam - g11
                    if w0 != 0.0 or w1 != 0.0:
                        psi = np.arctan2(w1, w0)
                        for flip in range(2):
                            dpsi = psi + flip * np.pi - ang
                            dpsi -= TWO_PI * np.floor(dpsi / TWO_PI)
                            if dpsi <= length + tol or dpsi >= TWO_PI - tol:
                                cp, sp = np.cos(psi + flip * np.pi), np.sin(psi + flip * np.pi)
                                x0 = cp * U[c, 0] + sp * V[c, 0]
                                x1 = cp * U[c, 1] + sp * V[c, 1]
                                x2 = cp * U[c, 2] + sp * V[c, 2]
                                # off the circle, into either cell, f must not increase
                                gp = 0.0
                                gm = 0.0
                                for kk in range(k):
                                    tx = x0 * T[0, kk] + x1 * T[1, kk] + x2 * T[2, kk]
                                    tnp = 0.0
                                    tnm = 0.0
                                    for r in range(3):
                                        tnp += nrm[c, r] * (T[r, kk] + Epc[r, kk])
                                        tnm += nrm[c, r] * (T[r, kk] + Emc[r, kk])
                                    gp += tx * tnp
                                    gm += tx * tnm
                                if gp <= dtol and -gm <= dtol:
                                    push(vals, pts, cnt, drop, q, lam, x0, x1, x2)
            narcs[q] = count

    return walk


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


def _exact_r3_group(Theta, B, a, b, pool, scale2, *, use_numba=None, capacity=16):
    r"""Exact ``max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` for ``B`` of rank 3 (docs/design.md, "The pricing
    oracle"; the paper's §3), ``O(N² log N)`` time, ``O(N · chunk)`` memory.

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
        bounds = [0] + [min(todo.size, 8 * 4**i) for i in range(8) if 8 * 4**i < min(chunk, todo.size)]
        bounds += list(range(bounds[-1] + chunk if len(bounds) > 1 else chunk, todo.size, chunk)) + [todo.size]
        bounds = sorted(set(bounds))
        for s, e in zip(bounds[:-1], bounds[1:]):
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

