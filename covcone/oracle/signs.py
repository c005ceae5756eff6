r"""Exact enumeration of all sign patterns {−, 0, +}^N (any input rank, small N)."""
from __future__ import annotations

import numpy as np

from ._kernels import _evaluate_sorted, _margin, _top_eig


def _slope_table(n, a, b):
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return np.where(bits == 1, a, b)


def _zero_set_spaces(B, masks=None):
    r"""For every zero set ``Zs ⊂ {0..N-1}`` (bit masks, default all ``2^N``) yield ``(R, Q)``:
    the remaining coordinates and an orthonormal basis (r × q, q ≥ 1) of ``{c : B[:, Zs]ᵀ c = 0}``."""
    r, N = B.shape
    smax = np.linalg.norm(B, 2)
    tol = max(r, N) * np.finfo(float).eps * smax
    for mask in range(2**N) if masks is None else masks:
        Zs = [i for i in range(N) if mask >> i & 1]
        R = np.array([i for i in range(N) if not mask >> i & 1], dtype=int)
        if R.size == 0:
            continue
        if Zs:
            Uz, s, _ = np.linalg.svd(B[:, Zs], full_matrices=True)
            rank = int(np.sum(s > tol))
            Q = Uz[:, rank:]
        else:
            Q = np.eye(r)
        if Q.shape[1] == 0:
            continue
        yield R, Q


def _faces_3n_chunk(Theta, B, a, b, masks, thr, margin):
    r"""The faces of the zero sets ``masks`` (one chunk of the ``{−, 0, +}^N`` enumeration):
    on ``L = null(B[:, Zs]ᵀ)`` with basis ``Q`` the restricted form is ``T'T'ᵀ`` with
    ``T' = Qᵀ B_R D Θ_R``; its top eigenvector ``Q u`` is the candidate.  A face is kept only if
    ``+Qu`` or ``−Qu`` has the face's signs (exact membership test: the minimal face of a
    maximiser passes it) and its eigenvalue beats ``thr − margin``.  Returns
    ``(n_faces, bounds, candidates)``; a pure function, so chunks can run on other workers."""
    n_faces = 0
    bounds, cands = [np.zeros(0)], [np.zeros((0, B.shape[0]))]
    tables = {}
    bn = np.linalg.norm(B, axis=0)
    tol = 1e-10
    for R, Q in _zero_set_spaces(B, masks):
        nR = R.size
        if nR not in tables:
            sg = np.where(((np.arange(2**nR)[:, None] >> np.arange(nR)[None, :]) & 1) == 1, 1.0, -1.0)
            tables[nR] = (sg, np.where(sg > 0, a, b))
        sg, Dt = tables[nR]
        E = Q.T @ B[:, R]  # (q, nR)
        Tq = np.einsum("qi,pi,ik->pqk", E, Dt, Theta[R], optimize=True)
        n_faces += Dt.shape[0]
        lam, _ = _top_eig(Tq, need_vectors=False)
        keep = lam > thr - margin if np.isfinite(thr) else np.ones(lam.size, bool)
        keep &= lam > 0
        if not np.any(keep):
            continue
        _, u = _top_eig(Tq[keep])
        g = sg[keep] * (u @ E) / bn[R]  # signed, scaled z_j of +Qu on the face's coordinates
        ok_p = np.all(g >= -tol, axis=1)
        ok_m = np.all(g <= tol, axis=1)
        C = u @ Q.T
        bounds += [lam[keep][ok_p], lam[keep][ok_m]]
        cands += [C[ok_p], -C[ok_m]]
    return n_faces, np.concatenate(bounds), np.vstack(cands)


def _exact_3n_group(Theta, B, a, b, pool, scale2, client=None):
    r"""All faces ``(Zs, signs)`` by :func:`_faces_3n_chunk`, then evaluated in decreasing order
    of their bound.  With a ``dask.distributed`` client the ``2^N`` zero sets are split into one
    chunk per worker thread (the any-dimension case, where this enumeration dominates)."""
    thr, margin = pool.threshold, _margin(pool, scale2)
    N = B.shape[1]
    if client is None:
        parts = [_faces_3n_chunk(Theta, B, a, b, None, thr, margin)]
    else:
        n_chunks = max(1, 2 * sum(client.nthreads().values()))
        chunks = [range(i, 2**N, n_chunks) for i in range(n_chunks)]  # interleaved: balanced sizes
        futures = client.map(_faces_3n_chunk, [Theta] * n_chunks, [B] * n_chunks, [a] * n_chunks,
                             [b] * n_chunks, chunks, [thr] * n_chunks, [margin] * n_chunks, pure=False)
        parts = client.gather(futures)
    n_faces = sum(p[0] for p in parts)
    bounds = np.concatenate([p[1] for p in parts])
    cands = np.vstack([p[2] for p in parts])
    if bounds.size:
        _evaluate_sorted(pool, bounds, lambda idx: cands[idx], scale2)
    return n_faces

