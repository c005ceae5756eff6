r"""Exact pricing at any input rank by the vertices of the hyperplane arrangement (docs/design.md,
"The pricing oracle"; Jacot et al., NeurIPS 2022, §3).

The group-lasso pricing value ``m = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` is attained at ``±`` the top
eigenvector of the restricted form of some face of the arrangement of the hyperplanes
``{c : b_iᵀc = 0}`` in ``R^r`` (module docstring of :mod:`covcone.oracle`).  After reducing ``B``
to full row rank the arrangement is *essential*: every face is a pointed polyhedral cone, so its
closure contains an extreme ray, i.e. a *vertex* — a line ``±v`` where ``r − 1`` hyperplanes with
independent normals meet.  The faces whose closure contains ``v`` are the sign completions
``s ∈ {−, 0, +}^J`` of the set ``J`` of hyperplanes through ``v`` (the other signs are those of
``v``).  Hence enumerating, at every vertex, all completions of all hyperplanes through it reaches
every face (completions that are not realised give forms whose candidates are still feasible unit
points, evaluated at their true value; their eigenvalues are merely useless bounds).

Hyperplanes.  Columns with parallel ``b_i`` define the same hyperplane; they are merged into one
*plane* ``j`` with unit normal ``n_j`` and two output vectors: with ``t = n_jᵀc``,
``Σ_{i∈j} θ_i σ(b_iᵀc) = t·w_j⁺`` for ``t ≥ 0`` and ``t·w_j⁻`` for ``t ≤ 0``
(``b_i = α_i n_j``: ``w_j^± = Σ_i α_i θ_i·slope(±α_i)``).  So
``Θᵀσ(Bᵀc) = Σ_j (n_jᵀc)·w_j^{sign(n_jᵀc)}``.

Forms.  At the vertex ``εv`` (``ε = ±1``) with plane set ``J`` the planes outside ``J`` contribute
the fixed ``r × k`` matrix ``G_ε = Σ_{j∉J} n_j w_j^{ε·sign(n_jᵀv)}ᵀ`` (one matrix product per chunk of
vertices, and ``G_− = Σ_{j∉J} n_j(w_j⁺ + w_j⁻)ᵀ − G_+``).  The face with zero set ``Z ⊂ J`` and signs
``s`` on ``J∖Z`` has ``T = P_Z (G_ε + Σ_{j∈J∖Z} n_j w_j^{s_j}ᵀ)``, ``P_Z`` the orthogonal projector onto
``{c : n_jᵀc = 0, j ∈ Z}``; its bound is the top eigenvalue of ``T Tᵀ`` (from the ``k × k`` Gram) and
its candidates ``±`` the top eigenvector.

Pruning (all valid, so exactness is kept):

* vertex: every face at ``εv`` has ``‖Tᵀc‖ ≤ ‖G_εᵀc‖ + Σ_{j∈J} |n_jᵀc|·max(‖w_j⁺‖, ‖w_j⁻‖)
  ≤ ‖G_ε‖_F + Σ_{j∈J} max‖w_j^±‖`` for unit ``c``; a vertex whose bound is below the pool's
  threshold is skipped.
* lower faces: a face's form is the restriction of the form of any cell (full-dimensional face)
  whose closure contains it, so (Cauchy interlacing) its eigenvalue is at most that cell's; the
  faces of a vertex whose cells are all below the threshold are skipped.  The same holds between
  any two faces at a vertex with the same signs off their zero sets ``Z ⊂ Z'``
  (``T_{Z'} = P_{Z'} T_Z``): in the compiled walk, where the lowest-vertex rule fixes every sign, a
  face below the threshold removes every face whose zero set contains its own.
* membership: a face whose top eigenvector (or its negative) does not lie in the face (signs on
  the vertex's planes first, then on all planes) is dropped — the minimal face of a maximiser
  contains its top eigenvector, so the maximiser's face is kept;
* evaluation: within a chunk, faces are evaluated in decreasing order of their bound and the chunk
  stops when the best true value reaches the next bound; the maximiser's face has bound = ``m²``
  ≥ any threshold, so it is evaluated in whichever chunk it appears.

* lowest vertex (compiled walk): a face is needed at one vertex of its closure only.  With one
  virtual plane added (the equator of a fixed random ``q``, no output: :func:`refined`), a face off
  the equator meets the slice ``{±qᵀc = 1}`` in a bounded polyhedron, and a generic linear
  ``gᵀx`` has one lowest vertex on it — the vertex where all the face's edges go up.  At a simple
  vertex this fixes the face's sign on every plane through it: one face per zero set, ``2^{r−1}``
  instead of ``3^{r−1}`` per vertex (:func:`_lowest_vertex_signs`); all those faces lie in the
  closure of one cell, so a cell below the threshold ends the vertex.  Faces touching the equator
  are walked in full at their vertices on it.

Cost: ``C(H, r−1)`` vertices (``H`` distinct planes), ``2·2^{r−1}`` forms each with the compiled
walk (``2·3^{r−1}`` with numpy), more at degenerate vertices.  Memory is bounded by chunks.
Measured: iris (N = 150, rank 5, k = 3) near the optimum, 2.0e7 vertices, 9.2e8 forms, 141 s on
two cores (1.3e9 forms and 377 s before the rule and the closed-form eigenpairs; ≈ 1900 s
projected before the vectorised face signs of high-degree vertices).  At a later iris dual point
(8.8e8 forms, 3.8e5 degenerate vertices, an idle machine): 272 s with the per-vertex preparation
compiled and split over the threads (:func:`_vertex_parts`), 335 s with it in numpy.

High-degree vertices come with real data: a binary feature puts each class of samples on one
hyperplane through the bias direction, so about N/2 planes meet at one vertex (the cap is
``MAX_DEGREE``).  Their realised faces (:func:`face_signs`, ``O(q^{r−2})`` of them) are deduplicated
by bit-mask keys and evaluated in blocks (:func:`_high_degree_faces`).  Diabetes, 5 standardised
features with sex, N = 50: 8.8e5 faces at a vertex of degree 30, 5 s (≈ 125 s before, sorting
sign rows as byte strings and grouping zero sets by repeated scans); a whole enumeration 55 s.
A vertex whose faces would need more than ``HIGH_DEGREE_BYTES`` (rank 6: about 45 planes through
it) stops the enumeration with :class:`BudgetExceeded`; the oracle keeps the branch-and-bound
bound and says why.
"""
from __future__ import annotations

import itertools
import math
import os
import time

import numpy as np

from ._kernels import _evaluate_sorted, _margin, _ReportDue, _top_eig, _unit_rows, compiled

_COPLANAR_TOL = 1e-10  # |n_jᵀv| below this (unit n_j, v): plane j passes through the vertex v
_DEPENDENT_TOL = 1e-9  # singular value below this: the planes' normals are dependent
_PARALLEL_TOL = 1e-11  # ‖n̂_i − n̂_j‖ below this (canonical signs): the same hyperplane
MAX_DEGREE = 64  # at most this many planes through one vertex
HIGH_DEGREE_BYTES = 4e9  # memory for the faces around one such vertex (:func:`high_degree_bytes`)
_SMALL_DEGREE = 7  # up to this many planes through a vertex: all 3^q sign completions (a superset)
_SMALL_DEGREE_COMPILED = 10  # the same with the compiled walk (3^10 forms at ≈ 5e6/s: 10 ms a vertex)
_CHUNK_ENTRIES = 4_000_000  # floats per chunk array (≈ 32 MB)


class BudgetExceeded(RuntimeError):
    """The enumeration would exceed its time or size budget (the caller falls back)."""


class StoppedEarly(BudgetExceeded):
    """The enumeration stopped because it found a value above ``stop_above`` (not exact);
    ``head``: where it stopped (a later call may start there: ``start_head``)."""

    def __init__(self, message, head):
        super().__init__(message)
        self.head = head


class Planes:
    r"""The distinct hyperplanes of ``B`` (parallel columns merged) with their output vectors.

    Attributes
    ----------
    n : ndarray (H, r)
        Unit normals.
    Wp, Wm : ndarray (H, k)
        ``w_j⁺`` and ``w_j⁻``: ``Θᵀσ(Bᵀc) = Σ_j (n_jᵀc) w_j^{sign(n_jᵀc)}``.
    """

    def __init__(self, Theta, B, a, b):
        r, N = B.shape
        bn = np.linalg.norm(B, axis=0)
        U = (B / bn).T  # (N, r)
        piv = np.argmax(np.abs(U), axis=1)
        sgn = np.sign(U[np.arange(N), piv])
        Uc = U * sgn[:, None]  # canonical sign: largest-magnitude entry positive
        rep = np.arange(N)
        step = max(1, 2_000_000 // max(1, N * r))
        for s in range(0, N, step):  # representative = first parallel column
            d = np.linalg.norm(Uc[s : s + step, None, :] - Uc[None, :, :], axis=2)
            close = d <= _PARALLEL_TOL
            rep[s : s + step] = np.argmax(close, axis=1)
        reps, cls = np.unique(rep, return_inverse=True)
        self.n = Uc[reps]
        alpha = np.einsum("ir,ir->i", B.T, self.n[cls])  # b_i = α_i n_{cls(i)}
        sp = np.where(alpha > 0, a, b)
        sm = np.where(alpha > 0, b, a)
        H, k = reps.size, Theta.shape[1]
        self.Wp = np.zeros((H, k))
        self.Wm = np.zeros((H, k))
        np.add.at(self.Wp, cls, (alpha * sp)[:, None] * Theta)
        np.add.at(self.Wm, cls, (alpha * sm)[:, None] * Theta)
        self.H, self.r, self.k = H, r, k

    def value(self, C):
        """True values ``‖Σ_j (n_jᵀc) w_j^{sign}‖`` at the rows of C (equal to ``_norms``)."""
        t = C @ self.n.T
        V = np.maximum(t, 0) @ self.Wp + np.minimum(t, 0) @ self.Wm
        return np.sqrt(np.einsum("ij,ij->i", V, V))


def vertex_count(H: int, r: int) -> int:
    """Number of ``(r−1)``-subsets of ``H`` planes (the vertices enumerated, at most)."""
    return math.comb(int(H), int(r) - 1) if r >= 2 else 1


def face_count(H: int, r: int, compiled: bool | None = None) -> int:
    """Estimate of the forms the enumeration builds: per vertex ``±v``, ``2·2^{r−1}`` with the
    compiled walk (each face at its lowest vertex only, one more plane: :func:`refined`), ``2·3^{r−1}``
    with the numpy path (every completion); degenerate vertices add more.  ``compiled=None``:
    whether numba is installed."""
    if compiled is None:
        compiled = _numba_kernel() is not None
    if compiled:
        return 2 * vertex_count(int(H) + 1, r) * 2 ** (int(r) - 1)
    return 2 * vertex_count(H, r) * 3 ** (int(r) - 1)


def _subset_tables(p):
    """For ``p`` planes through a vertex: the ``2^p`` cell sign tables (row ``c`` has bit ``q`` of
    ``c`` on plane ``q``, 1 = '+') and, per nonempty zero set ``Z``, the sign tables of the other
    planes with, for each row, the cells extending it (whose closures contain the face)."""
    cells = ((np.arange(2**p)[:, None] >> np.arange(p)[None, :]) & 1).astype(float)
    lower = []
    for z in range(1, 2**p):
        Z = [q for q in range(p) if z >> q & 1]
        R = [q for q in range(p) if not z >> q & 1]
        sg = ((np.arange(2 ** len(R))[:, None] >> np.arange(len(R))[None, :]) & 1)
        base = (sg << np.array(R, dtype=int)[None, :]).sum(axis=1) if R else np.zeros(1, int)
        zb = ((np.arange(2 ** len(Z))[:, None] >> np.arange(len(Z))[None, :]) & 1)
        zcode = (zb << np.array(Z, dtype=int)[None, :]).sum(axis=1)
        ext = base[:, None] + zcode[None, :]  # (2^|R|, 2^|Z|) cell indices
        lower.append((Z, R, sg.astype(float), ext))
    return cells, lower


def _combine(G, Ap, Am, sg, idx):
    """``G + Σ_q (sg_q A⁺_{idx_q} + (1 − sg_q) A⁻_{idx_q})`` for every row of the table ``sg``.

    G (L, x), Ap/Am (L, p, x), sg (c, len(idx)) → (L, c, x)."""
    out = np.broadcast_to(G[:, None, :], (G.shape[0], sg.shape[0], G.shape[1])).copy()
    if len(idx):
        out += np.matmul(sg, Ap[:, idx])
        out += np.matmul(1.0 - sg, Am[:, idx])
    return out


def _null_projectors(Nz):
    """Projectors onto ``{c : Nz[l]ᵀ c = 0}`` for a stack Nz (L, r, q) of normals (columns):
    ``I − QQᵀ`` with Q from a vectorised Gram–Schmidt (dependent columns dropped)."""
    L, r, q = Nz.shape
    Q = np.zeros((L, r, q))
    for i in range(q):
        x = Nz[:, :, i].copy()
        for _ in range(2):  # re-orthogonalise once
            x -= np.einsum("lrj,lj->lr", Q[:, :, :i], np.einsum("lrj,lr->lj", Q[:, :, :i], x))
        nx = np.linalg.norm(x, axis=1)
        good = nx > _DEPENDENT_TOL
        Q[good, :, i] = x[good] / nx[good, None]
    return np.eye(r)[None] - np.matmul(Q, np.swapaxes(Q, 1, 2))


def _lam_upper(T, thr_m):
    r"""Top eigenvalues of ``T Tᵀ`` for a stack T (n, r, k), exact where they exceed ``thr_m``.

    ``k ≤ 2``: closed form.  Otherwise the Frobenius norm of the Gram ``TᵀT`` (or ``T Tᵀ``), an
    upper bound on its top eigenvalue, is computed first and the exact value only where that
    bound exceeds ``thr_m``; entries below ``thr_m`` may hold the (valid) upper bound."""
    n, r, k = T.shape
    if k <= 2 or n == 0:
        return _top_eig(T, need_vectors=False)[0]
    Hm = np.matmul(np.swapaxes(T, 1, 2), T) if k <= r else np.matmul(T, np.swapaxes(T, 1, 2))
    ub = np.sqrt(np.einsum("nij,nij->n", Hm, Hm))
    todo = ub > thr_m
    if np.any(todo):
        ub[todo] = np.maximum(np.linalg.eigvalsh(Hm[todo])[:, -1], 0.0)
    return ub


class _Faces:
    """Candidates kept in one chunk: a face's bound and its top eigenvector lying in the face."""

    def __init__(self, r, k):
        self.bounds, self.C = [], []
        self.r, self.k = r, k

    def evaluate(self, pool, scale2):
        if not self.bounds:
            return
        bounds = np.concatenate(self.bounds)
        C = np.concatenate(self.C)
        _evaluate_sorted(pool, bounds, lambda idx: C[idx], scale2)


def _members(u, NR, sR, nO, sO, rows, eps):
    r"""Orientation of the candidates ``±u`` (L, r) that lie in their face (exact membership up
    to ``_COPLANAR_TOL``): signs ``sR`` (L, q) on the normals ``NR`` (L, r, q) of the vertex's
    planes that are nonzero on the face, and the vertex's signs ``eps·sO[rows]`` (0 on its
    own planes) on all normals ``nO`` (H, r).  Returns (plus, minus) masks."""
    g = np.einsum("lr,lrq->lq", u, NR) * sR if NR.shape[2] else np.zeros((u.shape[0], 0))
    plus = np.all(g >= -_COPLANAR_TOL, axis=1)
    minus = np.all(g <= _COPLANAR_TOL, axis=1)
    H = nO.shape[0]
    stages = [np.arange(0, H, max(1, H // 24))] if H > 48 else []  # a spread-out sample first
    stages.append(slice(None))
    for mask, sgn in ((plus, 1.0), (minus, -1.0)):
        for cols in stages:
            idx = np.nonzero(mask)[0]
            if idx.size == 0:
                break
            sub = sO[rows[idx]][:, cols] if isinstance(cols, slice) else sO[np.ix_(rows[idx], cols)]
            h = (eps * sgn) * (u[idx] @ nO[cols].T) * sub
            mask[idx] = np.all(h >= -_COPLANAR_TOL, axis=1)
    return plus, minus


def _vertex_faces(G, Ap, Am, NJ, v, sO, nO, pool, scale2, faces, cells, lower, wsum):
    """All faces at a stack of vertices sharing the same number ``p`` of planes through them.

    G (L, rk) the outside part at ``εv``; Ap/Am (L, p, rk) the planes' rank-one terms;
    NJ (L, r, p) their normals; v (L, r) the vertex ``εv``; sO = (signs, rows, ε): ``ε·signs[rows]``
    are the signs of ``εv`` on all planes (0 on its own).  Candidates that lie in their face are
    added to ``faces``; returns the number of forms built."""
    r, k = faces.r, faces.k
    thr = pool.threshold
    thr_m = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
    # vertex bound: ‖G‖_F + Σ_J max ‖w^±‖
    ub = np.sqrt(np.einsum("lx,lx->l", G, G)) + wsum
    alive = ub * ub > thr_m
    if not np.any(alive):
        return 0
    sgn_all, vrows, eps = sO
    G, Ap, Am, NJ, v, vrows = G[alive], Ap[alive], Am[alive], NJ[alive], v[alive], vrows[alive]
    L = G.shape[0]
    p = Ap.shape[1]
    n_forms = 0

    def keep(lam, T, rows, sg, R):
        """Faces of the table ``sg`` (signs on planes R) at vertices ``rows``: candidates."""
        c = sg.shape[0]
        ok = lam > thr_m
        if not np.any(ok):
            return
        li, ci = np.nonzero(ok.reshape(rows.size, c))
        _, u = _top_eig(T.reshape(rows.size, c, r, k)[li, ci])
        sR = 2.0 * sg[ci] - 1.0
        NR = NJ[rows[li]][:, :, R]
        plus, minus = _members(u, NR, sR, nO, sgn_all, vrows[rows[li]], eps)
        lam_ok = lam.reshape(rows.size, c)[li, ci]
        for mask, sgn in ((plus, 1.0), (minus, -1.0)):
            if np.any(mask):
                faces.bounds.append(lam_ok[mask])
                faces.C.append(sgn * u[mask])

    allrows = np.arange(L)
    Tc = _combine(G, Ap, Am, cells, list(range(p)))  # (L, 2^p, rk)
    lam_c = _lam_upper(Tc.reshape(-1, r, k), thr_m)
    n_forms += lam_c.size
    keep(lam_c, Tc, allrows, cells, list(range(p)))
    lam_c = lam_c.reshape(L, -1)
    live = (lam_c.max(axis=1, initial=-np.inf) > thr_m) | (not cells.shape[0])
    if not np.any(live):
        return n_forms
    for Z, R, sg, ext in lower:
        # a face (Z, s) lies in the closure of the cells extending s: its eigenvalue ≤ theirs
        fb = lam_c[:, ext].min(axis=2) if ext is not None else np.full((L, sg.shape[0]), np.inf)  # (L, 2^|R|)
        ok = (fb > thr_m) & live[:, None]
        if not np.any(ok):
            continue
        rows = np.nonzero(ok.any(axis=1))[0]
        if len(Z) == p:
            P = np.einsum("li,lj->lij", v[rows], v[rows])
        else:
            P = _null_projectors(NJ[rows][:, :, Z])
        T = _combine(G[rows], Ap[rows], Am[rows], sg, R).reshape(rows.size, -1, r, k)
        PT = np.matmul(P[:, None], T)
        lam = _lam_upper(PT.reshape(-1, r, k), thr_m)
        lam = np.where(ok[rows].ravel(), lam, -np.inf)
        n_forms += int(ok.sum())
        keep(lam, PT, rows, sg, R)
    return n_forms


_FACE_CHUNK = 32_768  # faces per block of the high-degree path


def _zero_set_projectors(NJ, Zmask):
    """Projectors onto ``{c : n_jᵀc = 0, j ∈ Z}`` for each row ``Z`` of the boolean array ``Zmask``
    (z, q) and the normals ``NJ`` (r, q) of one vertex: (z, r, r), batched by ``|Z|``."""
    r = NJ.shape[0]
    P = np.empty((Zmask.shape[0], r, r))
    sizes = Zmask.sum(axis=1)
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        if size == 0:
            P[rows] = np.eye(r)
            continue
        cols = np.nonzero(Zmask[rows])[1].reshape(rows.size, size)  # the planes of each Z, in order
        P[rows] = _null_projectors(np.transpose(NJ[:, cols], (1, 0, 2)))
    return P


def _high_degree_faces(G, Ap, Am, NJ, sO, nO, pool, scale2, faces, S, wsum):
    """All faces with sign vectors ``S`` (m, q) at one vertex ``εv`` through which q > r − 1 planes
    pass (:func:`face_signs`), in blocks: ``T = P_Z(G + Σ_{s_j=+} A⁺_j + Σ_{s_j=−} A⁻_j)`` for all of
    them at once, the projectors one batch per size of zero set.  The same forms, bounds and
    membership rule as :func:`_vertex_faces` (whose loop over ≈ 3e4 zero sets, one vertex at a time,
    took ≈ 5 s at a vertex where 30 planes meet).  G (rk,), Ap/Am (q, rk), NJ (r, q), wsum the
    vertex bound's Σ max‖w^±‖, sO = (signs, row, ε): ``ε·signs[row]`` the signs of ``εv`` on all
    planes.  Returns the number of forms built."""
    r, k = faces.r, faces.k
    thr = pool.threshold
    thr_m = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
    ub = float(np.sqrt(G @ G) + wsum)
    if not ub * ub > thr_m:
        return 0
    sgn_all, vrow, eps = sO
    zero = S == 0
    _, first, inv = np.unique(_sign_keys(zero.astype(np.int8))[0], return_index=True, return_inverse=True)
    P = _zero_set_projectors(NJ, zero[first])  # one per zero set, from a representative face

    def block(idx):
        Si = S[idx]
        T = G + (Si > 0).astype(float) @ Ap + (Si < 0).astype(float) @ Am  # (c, rk)
        PT = np.matmul(P[inv[idx]], T.reshape(-1, r, k))
        lam = _lam_upper(PT, thr_m)
        ok = np.flatnonzero(lam > thr_m)
        if ok.size:
            _, u = _top_eig(PT[ok])
            NR = np.broadcast_to(NJ, (ok.size,) + NJ.shape)
            plus, minus = _members(u, NR, Si[ok].astype(float), nO, sgn_all, np.full(ok.size, vrow), eps)
            for mask, sgn in ((plus, 1.0), (minus, -1.0)):
                if np.any(mask):
                    faces.bounds.append(lam[ok][mask])
                    faces.C.append(sgn * u[mask])
        return lam.max(initial=-np.inf)

    cells = np.flatnonzero(~zero.any(axis=1))
    top = max((block(cells[a:a + _FACE_CHUNK]) for a in range(0, cells.size, _FACE_CHUNK)), default=-np.inf)
    if cells.size and top <= thr_m:
        return int(cells.size)  # all cells below the threshold: so are all faces (Cauchy interlacing)
    lower = np.flatnonzero(zero.any(axis=1))
    for a in range(0, lower.size, _FACE_CHUNK):
        block(lower[a:a + _FACE_CHUNK])
    return int(S.shape[0])


def _all_signs(q):
    """All ``3^q`` sign vectors in ``{−1, 0, 1}^q`` (int8 rows)."""
    codes = np.arange(3**q)[:, None] // (3 ** np.arange(q))[None, :]
    return (codes % 3 - 1).astype(np.int8)


def face_signs(Nm, tol=_COPLANAR_TOL):
    r"""Sign vectors ``sign(Nm c)`` of all faces of the central arrangement with normals ``Nm``
    (rows, unit), the zero face included; ``int8`` array (m, q).

    Independent normals: all ``3^q`` sign vectors.  Otherwise every face of the essential
    arrangement is pointed, so its closure contains an extreme ray ``u`` (where ``rank − 1``
    independent planes meet, within the span of the normals); the faces around ``±u`` have the
    signs of ``±u`` off the planes through ``u`` and, on those, the sign vectors of *their*
    arrangement — one rank lower (all ``3^{rank−1}`` when ``u`` is simple, else recursion).  The
    rays of all ``(rank−1)``-subsets come from one batched SVD.  The count is that of the realised
    faces, ``O(q^{rank−1})``, instead of ``3^q``."""
    q = Nm.shape[0]
    if q == 0:
        return np.zeros((1, 0), np.int8)
    _, sv, Vt = np.linalg.svd(Nm, full_matrices=False)
    rank = int(np.sum(sv > _DEPENDENT_TOL * max(sv[0], 1e-300)))
    if rank == q:
        return _all_signs(q)
    if rank <= 1:
        t = np.sign(Nm @ Nm[0]).astype(np.int8)
        return np.vstack([np.zeros(q, np.int8), t, -t])
    span = Vt[:rank]  # orthonormal basis of the span of the normals (rows)
    subsets = np.array(list(itertools.combinations(range(q), rank - 1)), dtype=np.intp)
    _, s2, W = np.linalg.svd(Nm[subsets] @ span.T, full_matrices=True)  # (c, rank−1, rank)
    good = s2[:, -1] > _DEPENDENT_TOL * np.maximum(s2[:, 0], 1e-300)
    U = W[good, -1, :] @ span  # a ray per independent subset
    t = U @ Nm.T
    on = np.abs(t) <= tol
    _, first = np.unique(np.packbits(on, axis=1), axis=0, return_index=True)  # one per distinct ray
    t, on = t[first], on[first]
    base = np.sign(t).astype(np.int8)
    base[on] = 0
    out = [np.zeros((1, q), np.int8)]
    simple = on.sum(axis=1) == rank - 1
    if np.any(simple):  # all 3^{rank−1} completions of the planes through each simple ray
        idx = np.nonzero(on[simple])[1].reshape(-1, rank - 1)  # (s, rank−1), the planes through
        table = _all_signs(rank - 1)
        for sgn in (1, -1):
            full = np.repeat((sgn * base[simple])[:, None, :], table.shape[0], axis=1)  # (s, 3^{rank−1}, q)
            np.put_along_axis(full, np.broadcast_to(idx[:, None, :], (idx.shape[0],) + table.shape),
                              np.broadcast_to(table[None], (idx.shape[0],) + table.shape), axis=2)
            out.append(full.reshape(-1, q))
    for i in np.nonzero(~simple)[0]:
        local = face_signs(Nm[on[i]], tol)
        for sgn in (1, -1):
            full = np.repeat((sgn * base[i])[None], local.shape[0], axis=0)
            full[:, on[i]] = local
            out.append(full)
    return _unique_sign_rows(np.vstack(out))


def _sign_keys(S):
    """Two ``uint64`` keys per row of the sign array ``S`` (m, q ≤ 64): the bit masks of its ``+``
    and of its ``−`` entries.  Equal rows ⇔ equal keys."""
    q = S.shape[1]
    if q > 64:
        raise ValueError(f"S: at most 64 signs per row, got {q}")
    bits = np.left_shift(np.uint64(1), np.arange(q, dtype=np.uint64))
    return (S > 0).astype(np.uint64) @ bits, (S < 0).astype(np.uint64) @ bits


def _unique_sign_rows(S):
    """The distinct rows of the sign array ``S`` (int8, at most 64 columns), in the order of their
    keys (:func:`_sign_keys`).  ``np.unique(axis=0)`` sorts rows as byte strings: ≈ 30 s for the
    9e5 faces around a vertex where 30 planes meet (a binary feature), against 0.2 s here."""
    if S.shape[0] <= 1 or S.shape[1] == 0:
        return S[:1] if S.shape[1] == 0 else S
    kp, kn = _sign_keys(S)
    order = np.lexsort((kn, kp))
    kp, kn = kp[order], kn[order]
    new = np.ones(order.size, bool)
    new[1:] = (kp[1:] != kp[:-1]) | (kn[1:] != kn[:-1])
    return S[order[new]]


def _greedy_basis(nJ, size=None):
    """Index positions of the lexicographically first basis of the rows of ``nJ`` (stops at
    ``size`` rows: the rank, when known)."""
    basis = []
    for i in range(nJ.shape[0]):
        if size is not None and len(basis) == size:
            break
        trial = nJ[basis + [i]]
        s = np.linalg.svd(trial, compute_uv=False)
        if s[-1] > _DEPENDENT_TOL * max(s[0], 1e-300):
            basis.append(i)
    return basis


_KERNEL_CAPACITY = 1024  # candidates kept per kernel call (duplicates included)


def _numba_kernel():
    """The compiled face walk at simple vertices (:mod:`._numba_vertices`), or None."""
    return compiled("_numba_vertices", "vertex_faces")


_EXECUTOR = None
_VIRTUAL_SEED = 20221129  # the virtual plane and the sweep direction g: fixed, so every worker agrees
_FLAT_TOL = 1e-9  # |gᵀd| below this (relative): the edge is treated as flat, both signs enumerated


def refined(planes: Planes) -> Planes:
    r"""``planes`` with one *virtual* plane appended: the equator ``{qᵀc = 0}`` of a fixed random unit
    ``q``, with no output (``w⁺ = w⁻ = 0``), so ``Θᵀσ(Bᵀc)`` and its maximum are unchanged; every
    face of the refined arrangement lies in one closed half ``{±qᵀc ≥ 0}`` (see
    :func:`_lowest_vertex_signs`).  Also stores the sweep direction ``g``."""
    if getattr(planes, "n_virtual", 0):
        return planes
    rng = np.random.default_rng(_VIRTUAL_SEED)
    r, k = planes.r, planes.k
    q, g = _unit_rows(rng.standard_normal((2, r)))
    out = object.__new__(Planes)
    out.n = np.vstack([planes.n, q])
    out.Wp = np.vstack([planes.Wp, np.zeros((1, k))])
    out.Wm = np.vstack([planes.Wm, np.zeros((1, k))])
    out.H, out.r, out.k = planes.H + 1, r, k
    out.n_virtual, out.q, out.g = 1, q, g
    return out


def _lowest_vertex_signs(planes, S, V):
    r"""For simple vertices ``±v`` (rows of ``V``, planes ``S``) of a :func:`refined` arrangement: the
    sign on each plane of ``S`` of the one face per zero set whose *lowest vertex* this is (the same
    at ``v`` and at ``−v``); 0 where both signs must be walked.  Returns ``fix`` (L, r−1) int8.

    Rule (each face must be enumerated at one vertex of its closure, at least).  A face ``F`` whose
    closure lies in the open half ``{s·qᵀc > 0} ∪ {0}`` meets the slice ``{s·qᵀc = 1}`` in a
    *bounded* polyhedron whose vertices are ``F``'s extreme rays; a linear function ``gᵀx``
    (generic ``g``) has a unique minimiser among them, the vertex where every edge of ``F`` goes up
    (LP optimality), and no vertex on the equator.  A face whose closure touches the equator has
    an extreme ray there, i.e. a vertex with the virtual plane through it, where every completion
    is walked.  At a simple vertex ``εv`` off the equator, with ``e_i`` (``n_jᵀe_i = δ_ij``,
    ``vᵀe_i = 0``), the edge of a face with sign ``s_i`` on plane ``i`` is ``s_i e_i``; in the
    slice it runs along ``s_i d_i``, ``d_i = e_i − (qᵀe_i / qᵀv)·v`` (for ``v`` and ``−v`` alike),
    so the face's lowest vertex is ``εv`` iff ``s_i = sign(gᵀd_i)`` wherever it is nonzero: one
    face per zero set instead of ``2^{r−1−|Z|}``.  Vertices on the equator, and edges with
    ``|gᵀd_i|`` at rounding level, walk every completion (a superset)."""
    L, p = S.shape
    fix = np.zeros((L, p), np.int8)
    qv = V @ planes.q
    ok = np.all(S < planes.H - planes.n_virtual, axis=1) & (np.abs(qv) > _COPLANAR_TOL)
    if not np.any(ok):
        return fix
    Vo, So = V[ok], S[ok]
    A = np.concatenate([planes.n[So], Vo[:, None, :]], axis=1)  # (L, r, r): rows n_j, then v
    try:
        E = np.linalg.inv(A)[:, :, :p]  # columns e_i
    except np.linalg.LinAlgError:
        return fix
    qe = np.einsum("r,lrp->lp", planes.q, E)
    ge = np.einsum("r,lrp->lp", planes.g, E)
    ratio = (Vo @ planes.g) / qv[ok]
    gd = ge - qe * ratio[:, None]  # ∝ d/dδ gᵀ(x/qᵀx) at x = v + δe_i
    scale = np.linalg.norm(E, axis=1) * (1.0 + np.abs(ratio))[:, None]
    fix[ok] = np.where(np.abs(gd) > _FLAT_TOL * scale, np.sign(gd), 0.0).astype(np.int8)
    return fix


def _kernel_faces(kernel, G2, V, fix, S, sO, planes, wsum, pool, scale2):
    """The compiled walk over the faces at the vertices ``±V`` (``G2`` (L, 2, r·k): the outside
    parts at ``+v`` and ``−v``; ``fix`` the signs the faces must have, :func:`_lowest_vertex_signs`),
    the rows split over threads (the kernel releases the GIL); updates ``pool`` with the candidates
    that lie in their faces.  Returns the number of forms built."""
    r, k = planes.r, planes.k
    thr = pool.threshold
    thr_m = thr - _margin(pool, scale2) if np.isfinite(thr) else -np.inf
    S = np.ascontiguousarray(S, dtype=np.int64)
    G2 = G2.reshape(-1, 2, r, k)

    def run(rows):
        vals = np.full(_KERNEL_CAPACITY, -np.inf)
        pts = np.zeros((_KERNEL_CAPACITY, r))
        cnt = np.zeros(1, np.int64)
        c = np.ascontiguousarray
        forms, _ = kernel(c(G2[rows]), c(S[rows]), c(V[rows]), c(sO[rows]), planes.n, planes.Wp, planes.Wm,
                          c(wsum[rows]), float(thr_m), _COPLANAR_TOL, vals, pts, cnt, c(fix[rows]))
        return int(forms), pts[: cnt[0]]

    n_threads = os.cpu_count() or 1
    L = S.shape[0]
    heavy = S.shape[1] > planes.r  # degenerate vertices: 3^q completions each, worth a thread per row
    parts = 1 if (n_threads == 1 or (L < 32 and not heavy)) else min(2 * n_threads, L)  # interleaved rows
    jobs = [slice(i, None, parts) for i in range(parts)]
    if parts > 1:
        out = list(_threads().map(run, jobs))
    else:
        out = [run(job) for job in jobs]
    for _, pts in out:
        if pts.shape[0]:
            pool.add(pts)
    return sum(f for f, _ in out)


def _faces_at(kernel, Js, rows, V, Gp, Gm, sO, planes, Ep, Em, wmax, pool, scale2, cells, lower, fix=None):
    """All faces at the vertices ``±V[rows]``, ``Js`` (L, q) the planes through each; by the
    compiled walk when ``kernel`` is given (every completion, or only the faces whose lowest
    vertex this is: ``fix`` from :func:`_lowest_vertex_signs`), else by the numpy path with the
    sign tables ``cells``/``lower``.  Returns the number of forms built."""
    ws = wmax[Js].sum(axis=1)
    if kernel is not None:
        fix = np.zeros(Js.shape, np.int8) if fix is None else fix
        G2 = np.stack([Gp[rows], Gm[rows]], axis=1)
        return _kernel_faces(kernel, G2, V[rows], fix, Js, sO[rows], planes, ws, pool, scale2)
    jobs = ((Gp[rows], V[rows], 1), (Gm[rows], -V[rows], -1))
    forms = 0
    Ap, Am = Ep[Js], Em[Js]
    NJ = np.transpose(planes.n[Js], (0, 2, 1))
    for G, vv, eps in jobs:
        faces = _Faces(planes.r, planes.k)
        forms += _vertex_faces(G, Ap, Am, NJ, vv, (sO, rows, eps), planes.n, pool, scale2, faces, cells, lower, ws)
        faces.evaluate(pool, scale2)
    return forms


def high_degree_bytes(q: int, r: int) -> float:
    """Peak bytes of the sign vectors of the faces around a vertex where ``q`` planes of a rank-``r``
    arrangement meet (:func:`face_signs`: ≤ ``2·C(q, r−2)·3^{r−2}`` rows of ``q`` int8 before
    deduplication; three copies and the keys)."""
    return 2.0 * math.comb(q, max(r - 2, 0)) * 3.0 ** max(r - 2, 0) * (3 * q + 32)


def _high_degree_at(J, row, Gp, Gm, sO, planes, Ep, Em, wmax, pool, scale2):
    """The realised faces (:func:`face_signs`) at the vertices ``±v`` (row ``row``) with planes ``J``
    through them (:func:`_high_degree_faces`).  Returns the number of forms built.  Raises
    :class:`BudgetExceeded` when their sign vectors would exceed ``HIGH_DEGREE_BYTES``."""
    need = high_degree_bytes(J.size, planes.r)
    if need > HIGH_DEGREE_BYTES:
        raise BudgetExceeded(f"{J.size} planes meet at one vertex: its faces need ≈ {need / 1e9:.2g} GB "
                             f"(budget {HIGH_DEGREE_BYTES / 1e9:.2g} GB)")
    S = face_signs(planes.n[J])
    forms = 0
    for G, eps in ((Gp[row], 1), (Gm[row], -1)):
        faces = _Faces(planes.r, planes.k)
        forms += _high_degree_faces(G, Ep[J], Em[J], planes.n[J].T, (sO, row, eps), planes.n, pool, scale2, faces,
                                    S, float(wmax[J].sum()))
        faces.evaluate(pool, scale2)
    return forms


class _Products:
    """Per-plane products of one enumeration: ``Ep``/``Em`` (H, r·k) the flattened ``n_j w_j^±ᵀ``,
    ``wmax`` (H,) ``max‖w_j^±‖`` (the vertex bound's terms), and the sums behind
    :func:`_outside_parts`."""

    def __init__(self, planes: Planes):
        n, H, rk = planes.n, planes.H, planes.r * planes.k
        self.Ep = (n[:, :, None] * planes.Wp[:, None, :]).reshape(H, rk)
        self.Em = (n[:, :, None] * planes.Wm[:, None, :]).reshape(H, rk)
        self.Es = self.Ep + self.Em
        self.Es_tot, self.Em_tot, self.Dpm = self.Es.sum(axis=0), self.Em.sum(axis=0), self.Ep - self.Em
        self.wmax = np.maximum(np.linalg.norm(planes.Wp, axis=1), np.linalg.norm(planes.Wm, axis=1))


def _outside_parts(V, S, n, P: _Products):
    r"""At the vertices ``±V`` (L, r) with planes ``S`` (L, r−1) through them: the signs ``sO``
    (L, H) int8 of ``v`` on every plane (0 on the planes through ``v``: those of ``S`` and any other
    within ``_COPLANAR_TOL``), the number ``n_on`` of planes through each vertex, and the outside
    parts ``G_±`` (L, r·k)."""
    t = V @ n.T  # (L, H)
    np.put_along_axis(t, S, 0.0, axis=1)
    pos = t > _COPLANAR_TOL
    negm = t < -_COPLANAR_TOL
    n_on = n.shape[0] - pos.sum(axis=1) - negm.sum(axis=1)
    sO = pos.view(np.int8) - negm.view(np.int8)  # signs of v, 0 on the planes through v
    # G_+ = Σ_{t_j>0} n_j w_j⁺ᵀ + Σ_{t_j<0} n_j w_j⁻ᵀ, G_− = Σ_{j∉J} n_j (w_j⁺ + w_j⁻)ᵀ − G_+
    if np.any(n_on > S.shape[1]):
        onv = sO == 0
        on_m, on_s = onv.astype(float) @ P.Em, onv.astype(float) @ P.Es
    else:
        on_m, on_s = P.Em[S].sum(axis=1), P.Es[S].sum(axis=1)
    Gp = pos.astype(float) @ P.Dpm + (P.Em_tot - on_m)
    Gm = (P.Es_tot - on_s) - Gp
    return sO, n_on, Gp, Gm


def _threads():
    """The shared pool of ``os.cpu_count()`` threads the compiled kernels run in (they release the GIL)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    return _EXECUTOR


def _vertex_parts(planes, V, S, P: _Products, *, fix=False, use_compiled=True):
    r"""The per-vertex inputs of the face walk at the vertices ``±V`` (planes ``S``): ``(sO, n_on,
    Gp, Gm, fix)`` as :func:`_outside_parts` and :func:`_lowest_vertex_signs` (on the simple
    vertices of a :func:`refined` arrangement; zeros elsewhere, and everywhere unless ``fix``)
    compute them, by the compiled :func:`._numba_vertices.vertex_parts` when ``use_compiled`` and
    numba is installed (rows split over the threads), else by those two.  The compiled twin does
    in one pass per vertex what numpy does in passes over (L, H) arrays; it took a fifth of the
    whole enumeration's time on iris when it ran serially in numpy."""
    prep = compiled("_numba_vertices", "vertex_parts") if use_compiled else None
    L, p = S.shape
    fix = bool(fix) and getattr(planes, "n_virtual", 0) > 0  # (the rule needs the virtual plane)
    if prep is None:
        sO, n_on, Gp, Gm = _outside_parts(V, S, planes.n, P)
        fx = np.zeros((L, p), np.int8)
        if fix:
            simple = np.nonzero(n_on == p)[0]
            fx[simple] = _lowest_vertex_signs(planes, S[simple], V[simple])
        return sO, n_on, Gp, Gm, fx
    H, rk = planes.H, planes.r * planes.k
    sO = np.empty((L, H), np.int8)
    n_on = np.empty(L, np.int64)
    G2 = np.empty((L, 2, rk))
    fx = np.empty((L, p), np.int8)
    V, S = np.ascontiguousarray(V, dtype=float), np.ascontiguousarray(S, dtype=np.int64)
    q = planes.q if fix else np.zeros(planes.r)
    g = planes.g if fix else np.zeros(planes.r)
    n_real = planes.H - getattr(planes, "n_virtual", 0)

    def run(block):
        prep(V, S, planes.n, P.Ep, P.Em, P.Dpm, P.Em_tot, P.Es_tot, q, g, n_real, _COPLANAR_TOL, _FLAT_TOL, fix,
             sO, n_on, G2, fx, *block)

    parts = os.cpu_count() or 1
    if parts > 1 and L >= 256:  # contiguous blocks (interleaved rows would share cache lines)
        cuts = np.linspace(0, L, parts + 1).astype(int)
        list(_threads().map(run, itertools.pairwise(cuts)))
    else:
        run((0, L))
    return sO, n_on, G2[:, 0], G2[:, 1], fx


def exact_vertices_group(planes: Planes, pool, scale2, *, time_limit=None, max_faces=None, t0=None,
                         use_numba=None, heads=None, client=None, stop_above=None, start_head=None, progress=None):
    r"""Exact pricing by the vertices of the arrangement (module docstring); updates ``pool``.

    The faces at simple vertices are walked by a compiled kernel when numba is installed
    (``use_numba=None``: if available; False: the vectorised numpy path), the same enumeration.
    ``heads``: only the vertices whose first ``r − 2`` planes have their largest index in
    ``heads`` (a part of the enumeration); ``client``: a ``dask.distributed`` client over whose
    workers the heads are split (:func:`_vertices_on_client`).  ``stop_above``: raise
    :class:`StoppedEarly` at the first chunk boundary where the pool holds a value above it
    (column generation needs a column, not the maximum; not with a client); ``start_head``: walk the
    heads in rotated order from this one (the same vertices: where an earlier call stopped, the
    part it had not seen comes first).  ``progress``: called as ``progress(done=, total=, best=)``
    (vertices walked, ``C(H, r−1)``, the pool's best value) between chunks, at most once per
    ``PROGRESS_SECONDS`` (:mod:`._kernels`).

    Raises :class:`BudgetExceeded` when ``time_limit`` (seconds, measured from ``t0``) or
    ``max_faces`` (forms built) is exceeded, or more than ``MAX_DEGREE`` planes meet at a vertex.
    Returns a dict of statistics (vertices, forms built, degenerate vertices)."""
    t0 = time.perf_counter() if t0 is None else t0
    if planes.r < 3:
        raise ValueError("exact_vertices_group needs rank ≥ 3")
    kernel = _numba_kernel() if use_numba in (None, True) else None
    if use_numba and kernel is None:
        raise ImportError("use_numba=True needs numba (pip install 'covcone[fast]')")
    if kernel is not None or client is not None:  # each face at its lowest vertex (:func:`_lowest_vertex_signs`)
        planes = refined(planes)  # (before a split over workers: they must see the same planes)
    n, H, r, k = planes.n, planes.H, planes.r, planes.k
    if client is not None:
        return _vertices_on_client(client, planes, pool, scale2, time_limit=time_limit, max_faces=max_faces, t0=t0,
                                   use_numba=use_numba)
    rk = r * k
    P = _Products(planes)
    Ep, Em, wmax = P.Ep, P.Em, P.wmax
    p = r - 1
    cells, lower = _subset_tables(p)
    stats = {"vertices": 0, "forms": 0, "degenerate_vertices": 0}
    per_vertex = max(H, 2**p * rk, 1)
    chunk = max(64, _CHUNK_ENTRIES // per_vertex)
    deg_tables = {}
    small_degree = _SMALL_DEGREE if kernel is None else _SMALL_DEGREE_COMPILED

    total = math.comb(H, r - 1)
    report_due = _ReportDue()

    def check_budget(head):
        if progress is not None and report_due():
            progress(done=stats["vertices"], total=total, best=float(np.sqrt(max(pool.best, 0.0))))
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            raise BudgetExceeded(f"time limit {time_limit:g} s reached after {stats['vertices']} vertices")
        if max_faces is not None and stats["forms"] > max_faces:
            raise BudgetExceeded(f"face budget {max_faces:g} exceeded")
        if stop_above is not None and pool.best > stop_above**2:
            raise StoppedEarly(f"a value {np.sqrt(pool.best):.6g} above {stop_above:.6g} found after "
                               f"{stats['vertices']} vertices", head)

    order = list(range(r - 3, H - 1)) if heads is None else list(heads)
    if start_head is not None and heads is None and order:  # a rotation: every head still once
        cut = int(np.searchsorted(order, int(start_head)))
        order = order[cut:] + order[:cut]
    for m in order:  # the largest index of the first r − 2 planes
        js = np.arange(m + 1, H)
        if r == 3:
            firsts = np.zeros((1, 0), dtype=int)
        else:
            firsts = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(m), r - 3)),
                                 dtype=int, count=math.comb(m, r - 3) * (r - 3)).reshape(-1, r - 3)
        Sp_all = np.column_stack([firsts, np.full(firsts.shape[0], m)])
        step = max(1, chunk // js.size)
        for s0 in range(0, Sp_all.shape[0], step):
            check_budget(m)
            Sp = Sp_all[s0 : s0 + step]
            # 2-D null space of the first r − 2 normals, then the vertex on each further plane j
            _, sv, Vt = np.linalg.svd(n[Sp], full_matrices=True)  # n[Sp]: (c, r−2, r)
            okS = sv[:, -1] > _DEPENDENT_TOL
            Sp, Vt = Sp[okS], Vt[okS]
            if Sp.shape[0] == 0:
                continue
            e1, e2 = Vt[:, r - 2], Vt[:, r - 1]
            p1, p2 = e1 @ n[js].T, e2 @ n[js].T  # (c, J)
            V = p2[:, :, None] * e1[:, None, :] - p1[:, :, None] * e2[:, None, :]
            nv = np.hypot(p1, p2)
            ci, ji = np.nonzero(nv > _DEPENDENT_TOL)
            if ci.size == 0:
                continue
            V = V[ci, ji] / nv[ci, ji, None]
            S = np.column_stack([Sp[ci], js[ji]])  # (L, r−1)
            L = S.shape[0]
            stats["vertices"] += L
            sO, n_on, Gp, Gm, fix_all = _vertex_parts(planes, V, S, P, fix=kernel is not None,
                                                       use_compiled=kernel is not None)
            deg = n_on > p
            nd = ~deg
            if np.any(nd):
                rows = np.nonzero(nd)[0]
                fix = fix_all[rows] if kernel is not None else None
                stats["forms"] += _faces_at(kernel, S[nd], rows, V, Gp, Gm, sO, planes, Ep, Em, wmax,
                                            pool, scale2, cells, lower, fix)
            groups = {}  # q → rows of the degenerate vertices with q planes through them
            if np.any(deg) and n_on.max() > MAX_DEGREE:
                raise BudgetExceeded(f"{int(n_on.max())} planes meet at one vertex (more than {MAX_DEGREE})")
            dl = np.nonzero(deg)[0]
            first = np.zeros(dl.size, bool)  # each vertex from its first basis only (greedy over J)
            if dl.size:  # S is sorted; it is the first basis if it is J's first p planes (independent)
                cz = np.cumsum(sO[dl] == 0, axis=1)
                Jp = np.stack([np.argmax(cz >= i + 1, axis=1) for i in range(p)], axis=1)
                first = np.all(S[dl] == Jp, axis=1)
                # otherwise only if J's first p planes are dependent (rare): then by the greedy basis
                other = np.nonzero(~first & (S[dl, 0] == Jp[:, 0]) & (S[dl, 1] == Jp[:, 1]))[0]
                if other.size:
                    sv_o = np.linalg.svd(n[Jp[other]], compute_uv=False)
                    for i in other[sv_o[:, -1] <= _DEPENDENT_TOL * np.maximum(sv_o[:, 0], 1e-300)]:
                        J = np.nonzero(sO[dl[i]] == 0)[0]
                        gb = J[_greedy_basis(n[J], p)]
                        first[i] = gb.size == p and np.all(np.sort(gb) == S[dl[i]])
            for l in dl[first]:
                J = np.nonzero(sO[l] == 0)[0]
                stats["degenerate_vertices"] += 1
                groups.setdefault(J.size if J.size <= small_degree else -1, []).append((l, J))
            for q, members in groups.items():
                if q > 0:  # all 3^q completions (a superset), the vertices of one degree stacked
                    rows = np.array([l for l, _ in members])
                    Jq = np.array([J for _, J in members])
                    if q not in deg_tables:
                        deg_tables[q] = _subset_tables(q)
                    stats["forms"] += _faces_at(kernel, Jq, rows, V, Gp, Gm, sO, planes, Ep, Em, wmax, pool,
                                                scale2, *deg_tables[q])
                    continue
                for l, J in members:  # high degree: the realised faces around the vertex only
                    check_budget(m)
                    stats["forms"] += _high_degree_at(J, l, Gp, Gm, sO, planes, Ep, Em, wmax, pool, scale2)
    stats["time"] = time.perf_counter() - t0
    return stats


def _vertices_task(planes, pool_args, thr, scale2, heads, time_limit, max_faces, use_numba):
    """One worker's part of the enumeration: a fresh pool whose floor is the driver's threshold."""
    from ._kernels import _Pool

    Theta, B, a, b, n_best, floor = pool_args
    pool = _Pool(Theta, B, a, b, n_best, floor=max(floor, np.sqrt(max(thr, 0.0)) if np.isfinite(thr) else floor))
    stats = exact_vertices_group(planes, pool, scale2, time_limit=time_limit, max_faces=max_faces,
                                 use_numba=use_numba, heads=heads)
    return pool.C, stats


def _vertices_on_client(client, planes, pool, scale2, *, time_limit, max_faces, t0, use_numba):
    """The vertex enumeration split over a dask client's workers by heads (the largest index of a
    vertex's first ``r − 2`` planes), balanced by their vertex counts ``C(m, r−3)·(H − m − 1)``;
    the workers' candidates enter ``pool``.  A worker's :class:`BudgetExceeded` is raised here."""
    H, r = planes.H, planes.r
    heads = np.arange(r - 3, H - 1)
    weight = np.array([math.comb(int(m), r - 3) * (H - m - 1) for m in heads], float)
    n_parts = max(1, 2 * sum(client.nthreads().values()))
    parts = [[] for _ in range(n_parts)]
    load = np.zeros(n_parts)
    for i in np.argsort(-weight, kind="stable"):  # largest first onto the least loaded part
        j = int(np.argmin(load))
        parts[j].append(int(heads[i]))
        load[j] += weight[i]
    parts = [sorted(p) for p in parts if p]
    left = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - t0))
    budget = None if max_faces is None else max_faces / len(parts)
    pool_args = (pool.Theta, pool.B, pool.a, pool.b, pool.n_best, pool.floor)
    futures = client.map(_vertices_task, [planes] * len(parts), [pool_args] * len(parts),
                         [pool.threshold] * len(parts), [scale2] * len(parts), parts, [left] * len(parts),
                         [budget] * len(parts), [use_numba] * len(parts), pure=False)
    results = client.gather(futures)
    stats = {"vertices": 0, "forms": 0, "degenerate_vertices": 0}
    for C, st in results:
        pool.add(C)
        for key in stats:
            stats[key] += st[key]
    stats["parts"] = len(parts)
    stats["time"] = time.perf_counter() - t0
    return stats


LOCAL_FORMS = 4_000_000  # forms of one local search (:func:`local_vertices_group`) with the compiled walk
LOCAL_FORMS_NUMPY = 1_000_000  # the same with the numpy path
LOCAL_FORMS_PER_CENTER = 200_000  # at most this many around one center


def local_plane_count(p: int, budget: float) -> int:
    """The largest ``n ≥ p`` with ``C(n, p)·2·3^p ≤ budget`` (at least ``p``: one vertex)."""
    n = p
    while math.comb(n + 1, p) * 2 * 3**p <= budget:
        n += 1
    return n


def local_vertices_group(planes: Planes, pool, scale2, centers, *, use_numba=None, budget=None):
    r"""A local exact search (a heuristic: it proves nothing about the maximum): every face at
    every vertex of the ``n`` planes nearest each row of ``centers`` (smallest ``|n_jᵀc|``, i.e.
    the planes a small move of ``c`` crosses first), all ``3^{r−1}`` sign completions at each
    vertex, evaluated as in :func:`exact_vertices_group`; updates ``pool``.

    Why: in the tail of column generation at input rank ≥ 4 the neurons that still price out
    lie next to the active ones, often on a lower-dimensional face that the local ascent of the
    heuristic (which jumps between top eigenvectors of cells) cannot reach, while a full
    enumeration meets them after an arbitrary share of its ``C(H, r−1)`` vertices.  ``n`` is the
    largest with ``C(n, r−1)·2·3^{r−1}`` forms within the per-center share of ``budget``
    (default ``LOCAL_FORMS``, ``LOCAL_FORMS_NUMPY`` without numba; at high rank, where one vertex
    per center exceeds it, only the first centers are searched); degenerate vertices with more
    than ``_SMALL_DEGREE_COMPILED`` planes through them are skipped.  Returns a dict of statistics
    (centers, planes per center, vertices, forms, degenerate vertices)."""
    t0 = time.perf_counter()
    kernel = _numba_kernel() if use_numba in (None, True) else None
    n, H, r, k = planes.n, planes.H, planes.r, planes.k
    p = r - 1
    C = np.atleast_2d(np.asarray(centers, dtype=float))
    C = C[np.linalg.norm(C, axis=1) > 0] if C.size else np.zeros((0, r))
    stats = {"centers": int(C.shape[0]), "planes": 0, "vertices": 0, "forms": 0, "degenerate_vertices": 0}
    if r < 3 or H < p or C.shape[0] == 0:
        return stats
    if budget is None:
        budget = LOCAL_FORMS if kernel is not None else LOCAL_FORMS_NUMPY
    C = C[: max(1, int(budget // (2 * 3**p)))]  # (the first centers first: one vertex each at least)
    stats["centers"] = int(C.shape[0])
    n_near = min(H, local_plane_count(p, min(LOCAL_FORMS_PER_CENTER, budget / C.shape[0])))
    stats["planes"] = n_near
    near = np.argsort(np.abs(_unit_rows(C) @ n.T), axis=1, kind="stable")[:, :n_near]
    combos = np.array(list(itertools.combinations(range(n_near), p)), dtype=np.int64).reshape(-1, p)
    S = np.unique(np.sort(near[:, combos].reshape(-1, p), axis=1), axis=0)
    _, sv, Vt = np.linalg.svd(n[S], full_matrices=True)
    ok = sv[:, -1] > _DEPENDENT_TOL
    S, V = S[ok], Vt[ok, -1]
    P = _Products(planes)
    step = max(64, _CHUNK_ENTRIES // max(H, r * k))  # bounded memory: (rows, H) sign arrays per chunk
    for c0 in range(0, S.shape[0], step):
        _local_chunk(kernel, planes, pool, scale2, S[c0 : c0 + step], V[c0 : c0 + step], P, stats)
    stats["time"] = time.perf_counter() - t0
    return stats


def _local_chunk(kernel, planes, pool, scale2, S, V, P, stats):
    """The faces at the vertices ``±V`` (planes ``S``) of one chunk of :func:`local_vertices_group`."""
    p = S.shape[1]
    sO, n_on, Gp, Gm, _ = _vertex_parts(planes, V, S, P, use_compiled=kernel is not None)
    for q in np.unique(n_on):
        if q > _SMALL_DEGREE_COMPILED:
            continue
        rows = np.nonzero(n_on == q)[0]
        if q > p:  # degenerate: every plane through the vertex, each vertex once (per chunk)
            Js = np.array([np.nonzero(sO[l] == 0)[0] for l in rows])
            Js, first = np.unique(Js, axis=0, return_index=True)
            rows = rows[first]
            stats["degenerate_vertices"] += int(rows.size)
        else:
            Js = S[rows]
        cells, lower = _subset_tables(int(q)) if kernel is None else (None, None)
        fix = np.zeros(Js.shape, np.int8) if kernel is not None else None
        stats["vertices"] += int(rows.size)
        stats["forms"] += _faces_at(kernel, Js, rows, V, Gp, Gm, sO, planes, P.Ep, P.Em, P.wmax, pool, scale2,
                                    cells, lower, fix)
