r"""Compiled (numba) kernels of the exact r = 3 pricing walk (see :mod:`covcone.oracle.lowrank`).

Imported only when numba is installed (optional extra ``covcone[fast]``); the functions are
compiled on first use and cached next to this file (or in numba's user cache directory).
"""
import numba as nb
import numpy as np

from ._numba_linalg import jacobi_top


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
            drop[q] = max(drop[q], val)
            return
        drop[q] = max(drop[q], vals[q, i])
    vals[q, i] = val
    pts[q, i, 0] = p0
    pts[q, i, 1] = p1
    pts[q, i, 2] = p2

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
        best = jacobi_top(M, 3, W)
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
        v = min(v, vals[q, s])
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
def walk(classes, label, B, Bn, O3, nrm, U, V, Ep, Em, a, b, cut, vals, pts, cnt, drop, narcs, OFFS, angle_tol):
    r"""The per-circle walk of :func:`covcone.oracle.lowrank._exact_r3_group` for the circles
    ``classes`` (one thread per circle); writes each circle's kept candidates into its row of
    ``vals`` / ``pts`` and the largest bound it had to drop into ``drop``."""
    TWO_PI = 2.0 * np.pi
    NOFF = OFFS.size
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
            if length <= angle_tol:
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
