r"""Small compiled linear algebra shared by the numba kernels of :mod:`covcone.oracle` (optional
extra ``covcone[fast]``)."""
import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def jacobi_top(M, n, W):
    """Top eigenvalue of the symmetric ``n × n`` M (overwritten); its eigenvector in ``W[:, i]``
    (the returned index ``i``)."""
    for i in range(n):
        for j in range(n):
            W[i, j] = 1.0 if i == j else 0.0
    for _ in range(60):
        off = 0.0
        diag = 0.0
        for i in range(n):
            diag += M[i, i] * M[i, i]
            for j in range(i + 1, n):
                off += M[i, j] * M[i, j]
        if off <= 1e-32 * diag or off == 0.0:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if M[p, q] == 0.0:
                    continue
                th = (M[q, q] - M[p, p]) / (2.0 * M[p, q])
                t = (1.0 if th >= 0 else -1.0) / (abs(th) + np.sqrt(th * th + 1.0))
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for r in range(n):
                    mrp, mrq = M[r, p], M[r, q]
                    M[r, p] = c * mrp - s * mrq
                    M[r, q] = s * mrp + c * mrq
                for r in range(n):
                    mpr, mqr = M[p, r], M[q, r]
                    M[p, r] = c * mpr - s * mqr
                    M[q, r] = s * mpr + c * mqr
                for r in range(n):
                    wrp, wrq = W[r, p], W[r, q]
                    W[r, p] = c * wrp - s * wrq
                    W[r, q] = s * wrp + c * wrq
    best = 0
    for i in range(1, n):
        if M[i, i] > M[best, best]:
            best = i
    return best


@nb.njit(cache=True, nogil=True)
def top_eigpair_small(M, n, w):
    """Top eigenvalue and unit eigenvector (into ``w``) of the symmetric ``n × n`` M, ``n ∈ {2, 3}``,
    in closed form: the eigenvalue from the trigonometric solution of the characteristic cubic
    (n = 3; rounding ≈ 1e-14 relative while ``|cos 3φ| ≤ 1 − 1e-4``), the vector from the largest
    cross product of two rows of ``M − λI``.  Returns
    ``(λ, True)``, or ``(nan, False)`` when that is not accurate (a near-repeated top eigenvalue:
    use :func:`jacobi_top`)."""
    if n == 2:
        h = 0.5 * (M[0, 0] - M[1, 1])
        s = np.sqrt(h * h + M[0, 1] * M[0, 1])
        lam = 0.5 * (M[0, 0] + M[1, 1]) + s
        x0, x1 = M[0, 1], lam - M[0, 0]
        y0, y1 = lam - M[1, 1], M[0, 1]
        if x0 * x0 + x1 * x1 < y0 * y0 + y1 * y1:
            x0, x1 = y0, y1
        nx = np.sqrt(x0 * x0 + x1 * x1)
        if not nx > 1e-8 * (abs(lam) + s):
            return np.nan, False
        w[0], w[1] = x0 / nx, x1 / nx
        return lam, True
    if n != 3:
        return np.nan, False
    p1 = M[0, 1] * M[0, 1] + M[0, 2] * M[0, 2] + M[1, 2] * M[1, 2]
    q = (M[0, 0] + M[1, 1] + M[2, 2]) / 3.0
    d0, d1, d2 = M[0, 0] - q, M[1, 1] - q, M[2, 2] - q
    p2 = d0 * d0 + d1 * d1 + d2 * d2 + 2.0 * p1
    if p2 <= 0.0:
        return np.nan, False
    p = np.sqrt(p2 / 6.0)
    det = (d0 * (d1 * d2 - M[1, 2] * M[1, 2]) - M[0, 1] * (M[0, 1] * d2 - M[1, 2] * M[0, 2])
           + M[0, 2] * (M[0, 1] * M[1, 2] - d1 * M[0, 2]))
    rr = det / (2.0 * p * p * p)
    if abs(rr) > 1.0 - 1e-4:
        return np.nan, False
    lam = q + 2.0 * p * np.cos(np.arccos(rr) / 3.0)
    a00, a11, a22 = M[0, 0] - lam, M[1, 1] - lam, M[2, 2] - lam
    a01, a02, a12 = M[0, 1], M[0, 2], M[1, 2]
    # cross products of the rows (a00, a01, a02), (a01, a11, a12), (a02, a12, a22)
    c0 = (a01 * a12 - a02 * a11, a02 * a01 - a00 * a12, a00 * a11 - a01 * a01)
    c1 = (a01 * a22 - a02 * a12, a02 * a02 - a00 * a22, a00 * a12 - a01 * a02)
    c2 = (a11 * a22 - a12 * a12, a12 * a02 - a01 * a22, a01 * a12 - a11 * a02)
    n0 = c0[0] * c0[0] + c0[1] * c0[1] + c0[2] * c0[2]
    n1 = c1[0] * c1[0] + c1[1] * c1[1] + c1[2] * c1[2]
    n2 = c2[0] * c2[0] + c2[1] * c2[1] + c2[2] * c2[2]
    best, nb_ = c0, n0
    if n1 > nb_:
        best, nb_ = c1, n1
    if n2 > nb_:
        best, nb_ = c2, n2
    if not nb_ > (1e-6 * p) ** 4:
        return np.nan, False
    nrm = np.sqrt(nb_)
    w[0], w[1], w[2] = best[0] / nrm, best[1] / nrm, best[2] / nrm
    return lam, True
