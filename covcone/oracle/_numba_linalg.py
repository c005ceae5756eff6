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
