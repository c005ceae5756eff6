r"""Compiled (numba) greedy selection of the candidate pool (see :class:`covcone.oracle._kernels._Pool`).

Imported only when numba is installed (optional extra ``covcone[fast]``); compiled on first use
and cached.  The numpy loop in ``_kernels._greedy_distinct`` is the fallback and the reference.
"""
import numba as nb
import numpy as np


@nb.njit(cache=True)
def greedy_distinct(A, n_best, cos):
    # rows of A in decreasing value order: keep a row unless a kept one has cosine > cos with it
    n, r = A.shape
    keep = np.empty(min(n, n_best), np.int64)
    nk = 0
    for i in range(n):
        ok = True
        for t in range(nk):
            j = keep[t]
            d = 0.0
            for q in range(r):
                d += A[i, q] * A[j, q]
            if d > cos:
                ok = False
                break
        if ok:
            keep[nk] = i
            nk += 1
            if nk == n_best:
                break
    return keep[:nk]
