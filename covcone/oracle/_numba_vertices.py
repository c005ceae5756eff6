r"""Compiled (numba) kernel of the vertex enumeration at input rank ≥ 4 (see
:mod:`covcone.oracle.vertices`): all faces at a stack of simple vertices in one fused loop.

Per vertex ``εv`` (``r − 1`` planes ``J`` through it) and zero set ``Z ⊂ J``: an orthonormal basis
``Q`` of the normals in ``Z``, the projected outside part ``P_Z G`` and the projected normals
``P_Z n_q`` (``q ∈ R = J∖Z``); the ``2^{|R|}`` sign completions are then walked in Gray-code order,
each step a rank-one update ``T ± P_Z n_q (w_q⁺ − w_q⁻)ᵀ`` of the face's form ``T``.  A face is
dropped when an upper bound on its top eigenvalue (min of the Frobenius norm and Gershgorin's
row sums of the small Gram) is at most the threshold, and so is every face whose zero set contains
its own (with every sign fixed by the lowest-vertex rule: that face's form is a projection of its
form, ``T_{Z'} = P_{Z'} T_Z`` for ``Z ⊂ Z'``, so its top eigenvalue is no larger); otherwise its top eigenpair comes in closed
form (Gram of order ≤ 3; a cyclic Jacobi sweep when the top eigenvalue is near-repeated, or for
larger Grams), and ``±`` the eigenvector is kept when it lies in the face (signs on ``R``,
then on every other plane, with early exit).  Kept candidates go to a bounded buffer; when it is
full the threshold rises to its smallest value (valid for the maximum: every dropped face is
below a value attained by a kept point).

Imported only when numba is installed (optional extra ``covcone[fast]``); compiled on first use
and cached.
"""
import numba as nb
import numpy as np

from ._numba_linalg import jacobi_top, top_eigpair_small


@nb.njit(cache=True, nogil=True, inline="always")
def _deflate(Q, nz, x):
    """``x ← (I − QQᵀ) x`` for the first ``nz`` orthonormal columns of ``Q`` (x: a 1-D view)."""
    for c in range(nz):
        d = 0.0
        for a in range(x.shape[0]):
            d += Q[a, c] * x[a]
        for a in range(x.shape[0]):
            x[a] -= d * Q[a, c]


@nb.njit(cache=True, nogil=True, inline="always")
def _gram(A, M):
    """``M ← AᵀA`` (A: n × m, M: m × m)."""
    n, m = A.shape
    for b in range(m):
        for c in range(b, m):
            d = 0.0
            for a in range(n):
                d += A[a, b] * A[a, c]
            M[b, c] = d
            M[c, b] = d


@nb.njit(cache=True, nogil=True)
def _push(vals, pts, cnt, thr, val, u, sgn):
    """Add the candidate ``sgn·u`` with squared value ``val``; returns the (possibly raised) threshold."""
    cap = vals.shape[0]
    r = u.shape[0]
    if cnt[0] < cap:
        i = cnt[0]
        cnt[0] += 1
    else:
        i = 0
        for s in range(1, cap):
            if vals[s] < vals[i]:
                i = s
        if vals[i] >= val:
            return thr
    vals[i] = val
    for a in range(r):
        pts[i, a] = sgn * u[a]
    if cnt[0] == cap:
        lo = vals[0]
        for s in range(1, cap):
            if vals[s] < lo:
                lo = vals[s]
        if lo > thr:
            thr = lo
    return thr


@nb.njit(cache=True, nogil=True)
def vertex_faces(G, S, V, sO, nrm, Wp, Wm, wsum, thr, tol, vals, pts, cnt, fix):
    """All faces at the vertices ``±V[l]`` (both sides in one pass: the basis of each zero set and
    the projected normals are shared).

    G (L, 2, r, k) the outside part at ``+v`` (side 0) and ``−v`` (side 1); S (L, p) the planes
    through the vertex; fix (L, p) int8: the sign a face must have on each plane where it is not
    zero (``±1``; 0: either — all completions); sO (L, H) int8 signs of ``v`` on all planes (0 on
    its own; ``−v`` has signs ``−sO``); nrm (H, r) unit normals; Wp, Wm (H, k); wsum (L,) the
    vertex bound's ``Σ_J max‖w^±‖``; thr the squared threshold (minus its margin); tol the
    membership tolerance.  Candidates go to ``vals``/``pts``/``cnt``.  Returns (forms built,
    final threshold)."""
    L = G.shape[0]
    r = G.shape[2]
    k = G.shape[3]
    H = nrm.shape[0]
    p = S.shape[1]
    small = k if k <= r else r
    Q = np.zeros((r, p))
    PG = np.zeros((r, k))
    Pn = np.zeros((p, r))
    T = np.zeros((r, k))
    M = np.zeros((small, small))
    Wv = np.zeros((small, small))
    wv = np.zeros(small)
    u = np.zeros(r)
    x = np.zeros(r)
    sg = np.zeros(p, np.int64)
    Rl = np.zeros(p, np.int64)
    Fl = np.zeros(p, np.int64)
    live = np.zeros(2, np.bool_)
    forms = 0
    full = (1 << p) - 1
    dead = np.zeros((2, full + 1), np.bool_)
    for l in range(L):
        # vertex bound: every face's form has ‖Tᵀc‖ ≤ ‖G‖_F + Σ_J max‖w^±‖
        for side in range(2):
            g2 = 0.0
            for a in range(r):
                for b in range(k):
                    g2 += G[l, side, a, b] * G[l, side, a, b]
            ub = np.sqrt(g2) + wsum[l]
            live[side] = ub * ub > thr
        if not (live[0] or live[1]):
            continue
        # every completion fixed: all faces walked at a side lie in the closure of one cell (z = 0,
        # walked first), so their top eigenvalues are at most its (interlacing): a cell below the
        # threshold ends the side
        allfixed = True
        for q in range(p):
            if fix[l, q] == 0:
                allfixed = False
        for z in range(full + 1):
            if not (live[0] or live[1]):
                break
            # a face's form is the projection of the form of any face whose zero set is a subset
            # (same signs elsewhere), so its top eigenvalue is at most theirs: below the threshold
            # with one of them (one zero bit fewer: the subsets come first in this order) is enough
            any_alive = False
            for side in range(2):
                d = not live[side]
                if allfixed and not d and z > 0:
                    for q in range(p):
                        if (z >> q) & 1 and dead[side, z ^ (1 << q)]:
                            d = True
                            break
                dead[side, z] = d
                if not d:
                    any_alive = True
            if not any_alive:
                continue
            if z == full:  # the rays ±v themselves
                for side in range(2):
                    if dead[side, z]:
                        continue
                    forms += 1
                    eps = 1.0 if side == 0 else -1.0
                    val = 0.0
                    for b in range(k):
                        t = 0.0
                        for a in range(r):
                            t += G[l, side, a, b] * V[l, a]
                        val += t * t
                    if val > thr:
                        for a in range(r):
                            u[a] = V[l, a]
                        thr = _push(vals, pts, cnt, thr, val, u, eps)
                continue
            # orthonormal basis of the normals in Z (Gram–Schmidt, twice)
            nz = 0
            nR = 0
            for q in range(p):
                j = S[l, q]
                if (z >> q) & 1:
                    for a in range(r):
                        x[a] = nrm[j, a]
                    _deflate(Q, nz, x)
                    _deflate(Q, nz, x)  # re-orthogonalise once
                    nx = 0.0
                    for a in range(r):
                        nx += x[a] * x[a]
                    nx = np.sqrt(nx)
                    if nx > 1e-9:
                        for a in range(r):
                            Q[a, nz] = x[a] / nx
                        nz += 1
                else:
                    Rl[nR] = q
                    nR += 1
            # projected normals of R
            for i in range(nR):
                j = S[l, Rl[i]]
                for a in range(r):
                    Pn[i, a] = nrm[j, a]
                _deflate(Q, nz, Pn[i])
            for side in range(2):
                if dead[side, z]:
                    continue
                eps = 1.0 if side == 0 else -1.0
                # projected outside part; start: the fixed signs, the free planes of R negative
                for b in range(k):
                    for a in range(r):
                        PG[a, b] = G[l, side, a, b]
                    _deflate(Q, nz, PG[:, b])
                for a in range(r):
                    for b in range(k):
                        T[a, b] = PG[a, b]
                nF = 0
                for i in range(nR):
                    j = S[l, Rl[i]]
                    if fix[l, Rl[i]] > 0:
                        sg[i] = 1
                        for a in range(r):
                            for b in range(k):
                                T[a, b] += Pn[i, a] * Wp[j, b]
                    else:
                        sg[i] = 0
                        if fix[l, Rl[i]] == 0:
                            Fl[nF] = i
                            nF += 1
                        for a in range(r):
                            for b in range(k):
                                T[a, b] += Pn[i, a] * Wm[j, b]
                for step in range(1 << nF):
                    if step > 0:  # Gray code over the free planes: flip the lowest set bit of step
                        f = 0
                        while not (step >> f) & 1:
                            f += 1
                        i = Fl[f]
                        j = S[l, Rl[i]]
                        sgn = 1.0 if sg[i] == 0 else -1.0
                        sg[i] = 1 - sg[i]
                        for a in range(r):
                            for b in range(k):
                                T[a, b] += sgn * Pn[i, a] * (Wp[j, b] - Wm[j, b])
                    forms += 1
                    fro = 0.0
                    for a in range(r):
                        for b in range(k):
                            fro += T[a, b] * T[a, b]
                    if fro <= thr:
                        if allfixed:
                            dead[side, z] = True
                            if z == 0:
                                live[side] = False
                        continue
                    if k == 1:
                        lam = fro
                        for a in range(r):
                            u[a] = T[a, 0]
                    else:
                        _gram(T if k <= r else T.T, M)  # the smaller of TᵀT and TTᵀ
                        gb = 0.0  # Gershgorin: λ_max ≤ max row sum of |M|
                        for b in range(small):
                            rs = 0.0
                            for c in range(small):
                                rs += abs(M[b, c])
                            if rs > gb:
                                gb = rs
                        if gb <= thr:
                            if allfixed:
                                dead[side, z] = True
                                if z == 0:
                                    live[side] = False
                            continue
                        lam, ok = top_eigpair_small(M, small, wv)  # closed form (n ≤ 3) …
                        if ok:
                            lam_hi = lam * (1.0 + 1e-10)  # its rounding is ≈ 1e-14 relative
                        else:  # … or Jacobi (a near-repeated top eigenvalue, n > 3)
                            top = jacobi_top(M, small, Wv)
                            lam = M[top, top]
                            lam_hi = lam
                            for b in range(small):
                                wv[b] = Wv[b, top]
                        if lam_hi <= thr:
                            if allfixed:
                                dead[side, z] = True
                                if z == 0:
                                    live[side] = False
                            continue
                        if k <= r:
                            for a in range(r):
                                d = 0.0
                                for b in range(k):
                                    d += T[a, b] * wv[b]
                                u[a] = d
                        else:
                            for a in range(r):
                                u[a] = wv[a]
                    nu = 0.0
                    for a in range(r):
                        nu += u[a] * u[a]
                    nu = np.sqrt(nu)
                    if nu == 0.0:
                        continue
                    for a in range(r):
                        u[a] /= nu
                    # membership: signs on R, then on every plane outside J (early exit)
                    plus = True
                    minus = True
                    for i in range(nR):
                        j = S[l, Rl[i]]
                        d = 0.0
                        for a in range(r):
                            d += nrm[j, a] * u[a]
                        if sg[i] == 0:
                            d = -d
                        if d < -tol:
                            plus = False
                        if d > tol:
                            minus = False
                    for o in range(2):
                        if o == 0 and not plus:
                            continue
                        if o == 1 and not minus:
                            continue
                        sgo = 1.0 if o == 0 else -1.0
                        ok = True
                        for j in range(H):
                            sj = sO[l, j]
                            if sj == 0:
                                continue
                            d = 0.0
                            for a in range(r):
                                d += nrm[j, a] * u[a]
                            if eps * sj * sgo * d < -tol:
                                ok = False
                                break
                        if ok:
                            thr = _push(vals, pts, cnt, thr, lam, u, sgo)
    return forms, thr


@nb.njit(cache=True, nogil=True)
def vertex_parts(V, S, nrm, Ep, Em, Dpm, Em_tot, Es_tot, q, g, n_real, tol, flat, want_fix, sO, n_on, G2, fix, lo, hi):
    """The per-vertex inputs of :func:`vertex_faces` for the rows ``lo ≤ l < hi`` of a chunk (the
    compiled twin of ``_outside_parts`` and ``_lowest_vertex_signs`` in :mod:`covcone.oracle.vertices`;
    rows split over threads in contiguous blocks).

    V (L, r) unit vertices; S (L, p) the planes they were built from; nrm (H, r) unit normals;
    Ep, Em (H, r·k) the flattened ``n_j w_j^±ᵀ``, Dpm = Ep − Em, Em_tot and Es_tot the sums of Em
    and Ep + Em over all planes; q, g the virtual plane's normal and the sweep
    direction; n_real the planes before the virtual one; tol the coplanarity tolerance; flat the
    flat-edge tolerance.  Writes sO (L, H) int8 (signs of ``v``, 0 on every plane through it),
    n_on (L,) the number of planes through ``v``, G2 (L, 2, r·k) the outside parts at ``+v`` and
    ``−v`` (the same sums as ``_outside_parts``), and — where ``want_fix`` and the vertex is
    simple (``n_on = p``) — fix (L, p) int8 the lowest-vertex signs (0 where both signs are walked:
    a vertex on the equator, a virtual plane in ``S``, a flat edge or a singular system)."""
    r = V.shape[1]
    H = nrm.shape[0]
    p = S.shape[1]
    rk = Ep.shape[1]
    A = np.zeros((r, r))
    E = np.zeros((r, p))
    piv = np.zeros(r, np.int64)
    acc = np.zeros(rk)
    for l in range(lo, hi):
        for j in range(H):  # branch-free: the signs are unpredictable
            d = 0.0
            for a in range(r):
                d += V[l, a] * nrm[j, a]
            sO[l, j] = np.int8(d > tol) - np.int8(d < -tol)
        for c in range(p):
            sO[l, S[l, c]] = 0
        # G_+ = Σ_{t_j>0} (Ep_j − Em_j) + Σ_{j off v} Em_j, G_− = Σ_{j off v} (Ep_j + Em_j) − G_+
        for c in range(rk):
            acc[c] = Em_tot[c]
        cnt = 0
        for j in range(H):
            s = sO[l, j]
            cnt += s == 0
            w = np.float64(s > 0)
            for c in range(rk):
                acc[c] += w * Dpm[j, c]
        for c in range(rk):
            G2[l, 0, c] = acc[c]
            G2[l, 1, c] = Es_tot[c]
        for j in range(H):
            if sO[l, j] == 0:
                for c in range(rk):
                    G2[l, 0, c] -= Em[j, c]
                    G2[l, 1, c] -= Ep[j, c] + Em[j, c]
        for c in range(rk):
            G2[l, 1, c] -= G2[l, 0, c]
        n_on[l] = cnt
        for c in range(p):
            fix[l, c] = 0
        if not want_fix or cnt != p:
            continue
        qv = 0.0
        gv = 0.0
        for a in range(r):
            qv += q[a] * V[l, a]
            gv += g[a] * V[l, a]
        if abs(qv) <= tol:
            continue
        virtual = False
        for c in range(p):
            if S[l, c] >= n_real:
                virtual = True
        if virtual:
            continue
        # E: the first p columns of A⁻¹, A = [n_S; vᵀ] (LU with partial pivoting)
        for c in range(p):
            for a in range(r):
                A[c, a] = nrm[S[l, c], a]
        for a in range(r):
            A[p, a] = V[l, a]
        for a in range(r):
            piv[a] = a
        singular = False
        for c in range(r):
            m = c
            for a in range(c + 1, r):
                if abs(A[a, c]) > abs(A[m, c]):
                    m = a
            if A[m, c] == 0.0:
                singular = True
                break
            if m != c:
                for b in range(r):
                    A[c, b], A[m, b] = A[m, b], A[c, b]
                piv[c], piv[m] = piv[m], piv[c]
            for a in range(c + 1, r):
                f = A[a, c] / A[c, c]
                A[a, c] = f
                for b in range(c + 1, r):
                    A[a, b] -= f * A[c, b]
        if singular:
            continue
        for i in range(p):  # solve A e_i = unit vector i (rows permuted by piv)
            for a in range(r):
                E[a, i] = 1.0 if piv[a] == i else 0.0
            for a in range(r):
                for b in range(a):
                    E[a, i] -= A[a, b] * E[b, i]
            for a in range(r - 1, -1, -1):
                for b in range(a + 1, r):
                    E[a, i] -= A[a, b] * E[b, i]
                E[a, i] /= A[a, a]
        ratio = gv / qv
        for i in range(p):
            qe = 0.0
            ge = 0.0
            ne = 0.0
            for a in range(r):
                qe += q[a] * E[a, i]
                ge += g[a] * E[a, i]
                ne += E[a, i] * E[a, i]
            gd = ge - qe * ratio
            if abs(gd) > flat * np.sqrt(ne) * (1.0 + abs(ratio)):
                fix[l, i] = 1 if gd > 0 else -1
