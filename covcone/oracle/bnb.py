r"""An anytime exact pricing oracle for any input rank: branch and bound over simplicial cones
(docs/design.md §3.3; Jacot et al., NeurIPS 2022, §3).

Problem.  ``m = max_{‖c‖=1} ‖F(c)‖`` with ``F(c) = Θᵀσ(Bᵀc) = Σ_j t_j w_j^{sign t_j}``,
``t_j = n_jᵀc`` (the merged planes of :class:`covcone.oracle.vertices.Planes`).  Write
``t·w^{sign t} = t·μ + |t|·η`` with ``μ = (w⁺ + w⁻)/2`` and ``η = (w⁺ − w⁻)/2`` (for a single column
``b_i`` this is ``σ(z) = m₀z + h|z|``, ``m₀ = (a+b)/2``, ``h = (a−b)/2``).

Regions.  A region is a simplicial cone ``R = cone(v_1, …, v_r)`` with unit rays ``v_i`` (rows of
``V``); the root regions (the ``2^r`` orthants, or the ``r + 1`` cones of a regular simplex for
``r > 14``) cover ``R^r``, and bisecting a region's longest edge (``v_i, v_j → (v_i+v_j)/‖·‖``)
splits it into two regions covering it.

Region bound (valid; the proof).  Let ``P`` (planes with ``n_jᵀv_i ≥ −τ`` for all ``i``), ``N``
(``≤ τ`` for all ``i``) and ``X`` (the rest: planes that may cross ``R``).  On ``R`` (up to the
``τ`` slack below) ``t_j`` has a fixed sign for ``j ∈ P ∪ N``, so
``F(c) = Mᵀc + Σ_{j∈X} |n_jᵀc| η_j`` with ``M = Σ_P n_j w_j⁺ᵀ + Σ_N n_j w_j⁻ᵀ + Σ_X n_j μ_jᵀ`` and, by
the triangle inequality, ``‖F(c)‖ ≤ f(c) := ‖Mᵀc‖ + Σ_{j∈X} ‖η_j‖·|n_jᵀc|``.  ``f`` is convex and
positively 1-homogeneous.  A unit ``c ∈ R`` is ``c = x/‖x‖`` with ``x = Σ λ_i v_i``, ``λ`` in the
simplex, so ``f(c) = f(x)/‖x‖ ≤ Σ λ_i f(v_i)/‖x‖ ≤ max_i f(v_i)/κ`` with
``κ = min_{x∈conv(v_i)} ‖x‖``.  Two lower bounds on ``κ`` are used (their maximum):
``κ ≥ min_{x∈aff(v_i)} ‖x‖ = (1ᵀ(VVᵀ)⁻¹1)^{-1/2}`` (the affine hull contains the convex hull) and
``κ² ≥ min_{i,l} v_iᵀv_l`` (``‖x‖² = Σ λ_iλ_l v_iᵀv_l ≥ min v_iᵀv_l·(Σλ)²``).  A second bound splits
``f``: ``max ‖Mᵀc‖ ≤ ‖M‖₂`` and the convex part ``Σ_X`` by the same ray argument, so
``max_{c∈R,‖c‖=1} ‖F(c)‖ ≤ min(max_i f(v_i), ‖M‖₂κ + max_i f_X(v_i))/κ``.  For one output
(``k = 1``, ``η_j`` scalars) the signs of the ``η_j`` are used instead of the triangle inequality:
``F(c) = mᵀc + Σ_X η_j|t_j|`` lies between ``mᵀc − Σ_{η_j<0}|η_j||t_j|`` and
``mᵀc + Σ_{η_j>0} η_j|t_j|``, so ``|F(c)| ≤ max(f⁺(c), f⁻(c))`` with the convex, 1-homogeneous
``f^± = ±mᵀc + Σ_{X, ±η_j>0} |η_j||t_j|``, bounded by ``max(0, max_i f^±(v_i))/κ`` (if the ray maximum
``F*`` of a convex 1-homogeneous function is negative, ``f(x)/‖x‖ ≤ F*/‖x‖ ≤ F*`` as ``‖x‖ ≤ 1``), or by
``‖m‖ + max_i Σ_{X, ±η_j>0}|η_j||t_j(v_i)|/κ``.  At rank ≥ 7 a bound free of ``κ`` is added:
``‖Σ_X |t_j|η_j‖ ≤ ‖η_X‖_F·‖N_Xᵀc‖ ≤ ‖η_X‖_F·‖N_X‖₂`` (:func:`_cross_spectral`).  Sign slack: a plane
classified in ``P`` may have ``n_jᵀc ≥ −τ/κ`` on ``R``; using ``w⁺`` there instead of ``w⁻`` changes
``F`` by at most ``(τ/κ)·2‖η_j‖``, so ``2τΣ_j‖η_j‖/κ`` is added (``τ = 1e-12``), and the bound is
padded by a relative ``1e-12`` for rounding.

Exact leaves.  When a region selected for splitting is crossed by at most 3 planes (and
``r + |X| ≤ 9``, ``r ≤ 8``) its maximum is computed exactly instead (:func:`_region_exact`: each
sign pattern of the crossing planes is a polyhedral cone on which ``F`` is linear; its maximum is
``±`` the top eigenvector of the form restricted to one of its faces) and the region's bound
becomes that maximum.  This closes the tree at maximisers where a few planes meet (the kinks of
σ), which bisection alone would only approach linearly.

Search.  Best-first in batches: the regions with the largest bounds are split, the children
bounded (a child's bound is also capped by its parent's: it lies in the parent region, so the
global bound never increases), regions whose bound is ≤ ``best·(1 + rtol)`` discarded.  Feasible points (the new rays
and ``±`` the top left singular vectors of each child's ``M``) are evaluated at their true value.
At any moment ``max(best, bounds of the open regions, bounds of the discarded ones)`` is a valid
upper bound on ``m``; when no region is open it is within ``rtol`` of ``best``.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from ._kernels import _ReportDue, _top_eig, _unit_rows

_TAU = 1e-12
_EXACT_LEAF_MAX_R = 8
_EXACT_LEAF_MAX_CROSS = 3
_EXACT_LEAF_MAX_CONSTRAINTS = 9  # r facets + crossing planes: 2^9 faces per sign pattern
_MAX_ORTHANT_R = 14
_CROSS_SPECTRAL_MIN_R = 7


def _root_cones(r):
    """Simplicial cones (L, r, r) covering ``R^r`` (unit rays as rows)."""
    if r <= _MAX_ORTHANT_R:
        signs = 1.0 - 2.0 * ((np.arange(2**r)[:, None] >> np.arange(r)[None, :]) & 1)
        return signs[:, :, None] * np.eye(r)[None]
    # regular simplex: r + 1 unit vectors summing to zero; any r of them span a cone
    E = np.eye(r + 1) - 1.0 / (r + 1)
    Q, _ = np.linalg.qr(np.ones((r + 1, 1)), mode="complete")
    P = _unit_rows(E @ Q[:, 1:])  # (r + 1, r)
    return np.stack([np.delete(P, i, axis=0) for i in range(r + 1)])


def _kappa(V):
    """A lower bound on ``min ‖x‖`` over the convex hull of the rows of each ``V[l]``."""
    L, r, _ = V.shape
    Gv = np.matmul(V, np.swapaxes(V, 1, 2))
    k_cos = np.sqrt(np.maximum(Gv.reshape(L, -1).min(axis=1), 0.0))
    k_aff = np.zeros(L)
    try:
        x = np.linalg.solve(Gv, np.ones((L, r, 1)))[:, :, 0]
        s = x.sum(axis=1)
        ok = np.isfinite(s) & (s > 0)
        k_aff[ok] = 1.0 / np.sqrt(s[ok])
        # guard against an ill-conditioned solve: never trust more than the sanity limit 1
        k_aff = np.where(np.isfinite(k_aff), np.minimum(k_aff, 1.0), 0.0)
    except np.linalg.LinAlgError:
        pass
    return np.maximum(k_cos, k_aff), Gv


class _Data:
    def __init__(self, planes):
        n, H, r, k = planes.n, planes.H, planes.r, planes.k
        self.n, self.H, self.r, self.k = n, H, r, k
        mu = 0.5 * (planes.Wp + planes.Wm)
        eta = 0.5 * (planes.Wp - planes.Wm)
        self.etan = np.linalg.norm(eta, axis=1)
        if k == 1:  # sign-aware bound (module docstring)
            self.etap, self.etam = np.maximum(eta[:, 0], 0.0), np.maximum(-eta[:, 0], 0.0)
        self.Ep = (n[:, :, None] * planes.Wp[:, None, :]).reshape(H, r * k)
        self.Em = (n[:, :, None] * planes.Wm[:, None, :]).reshape(H, r * k)
        self.Emu = (n[:, :, None] * mu[:, None, :]).reshape(H, r * k)
        self.pad_sum = 2.0 * _TAU * float(self.etan.sum())


def _cross_spectral(d: _Data, cross):
    r"""``max_{‖c‖=1} ‖Σ_{j∈X} |n_jᵀc| η_j‖ ≤ ‖η_X‖_F·‖N_X‖₂`` (Cauchy–Schwarz; ``N_X`` the crossing
    normals); for one output ``max(‖η⁺_X‖·‖N_{X+}‖₂, ‖η⁻_X‖·‖N_{X−}‖₂)`` over the planes with
    ``±η_j > 0`` (the sum lies between ``−Σ_{X−}`` and ``Σ_{X+}``)."""
    cf = cross.astype(float)
    groups = [(d.etap, d.etap > 0), (d.etam, d.etam > 0)] if d.k == 1 else [(d.etan, d.etan > 0)]
    out = np.zeros(cross.shape[0])
    for w, on in groups:
        mask = cf * on[None, :]
        G = np.einsum("lj,jr,js->lrs", mask, d.n, d.n, optimize=True)  # N_X N_Xᵀ
        nN = np.sqrt(np.maximum(np.linalg.eigvalsh(G)[:, -1], 0.0))
        out = np.maximum(out, np.sqrt(mask @ (w * w)) * nN)
    return out * (1 + 1e-12)


def _bound(d: _Data, V):
    r"""Region bounds (module docstring).  Returns ``bound`` (L,), ``M`` (L, r, k), the crossing
    counts (L,) and the top left singular vectors ``u`` (L, r) of ``M``."""
    L, r, _ = V.shape
    P = np.matmul(V, d.n.T)  # (L, r, H)
    mn, mx = P.min(axis=1), P.max(axis=1)
    fpos = mn >= -_TAU
    fneg = (mx <= _TAU) & ~fpos
    cross = ~(fpos | fneg)
    M = fpos.astype(float) @ d.Ep + fneg.astype(float) @ d.Em + cross.astype(float) @ d.Emu
    M = M.reshape(L, r, d.k)
    MV = np.matmul(V, M)  # (L, r, k): Mᵀv_i
    fM = np.sqrt(np.einsum("lik,lik->li", MV, MV))
    fX = np.matmul(np.abs(P) * cross[:, None, :], d.etan)  # (L, r)
    kap, _ = _kappa(V)
    lam, u = _top_eig(M)
    with np.errstate(divide="ignore", invalid="ignore"):
        b1 = (fM + fX).max(axis=1) / kap
        b2 = np.sqrt(lam) + fX.max(axis=1) / kap
        bound = np.minimum(b1, b2)
        if d.k == 1:
            A = np.abs(P) * cross[:, None, :]
            fXp, fXm = A @ d.etap, A @ d.etam
            mv = MV[:, :, 0]
            b3 = np.maximum(np.maximum((mv + fXp).max(axis=1), (fXm - mv).max(axis=1)), 0.0) / kap
            b4 = np.sqrt(lam) + np.maximum(fXp.max(axis=1), fXm.max(axis=1)) / kap
            bound = np.minimum(bound, np.minimum(b3, b4))
        # κ-free: ‖Σ_X |t_j| η_j‖ ≤ ‖η_X‖·‖N_Xᵀc‖ ≤ ‖η_X‖·‖N_X‖₂ (sign-split for k = 1)
        if r >= _CROSS_SPECTRAL_MIN_R:  # wide regions at high rank: worth its r × r eigenproblems
            bound = np.minimum(bound, np.sqrt(lam) + _cross_spectral(d, cross))
        bound = bound + d.pad_sum / kap
    bound = np.where(kap > 0, bound * (1 + 1e-12), np.inf)
    return bound, M, cross.sum(axis=1), u, cross


def _region_exact(d, V, cross, max_cross):
    r"""Exact ``max ‖F(c)‖²`` over the unit ``c`` of the region ``cone(V)`` crossed by the planes
    ``cross`` (at most ``max_cross``; else None).

    For each sign pattern ``s`` of the crossing planes ``F(c) = M_sᵀc`` on the polyhedral cone
    ``{A_s c ≥ 0}`` (rows: the region's facets ``λ(c) = V⁻ᵀc ≥ 0`` and ``s_j n_jᵀc ≥ 0``).  A
    maximiser lies in a face ``{A_Z c = 0, other rows > 0}``; on the smallest such face it is a
    local, hence global, maximiser of the form on the unit sphere of ``null(A_Z)``, i.e. ``±`` its
    top eigenvector.  So the maximum is the largest top eigenvalue, over ``s`` and the subsets
    ``Z`` (``|Z| < r``; ``null(A_Z)`` does not depend on ``s``), whose eigenvector (or its
    negative) satisfies ``A_s c ≥ −1e-10``.  The tolerance only admits more points, so the value
    is ≥ the true maximum (a valid bound) and attained up to that tolerance.  Returns
    (value, point)."""
    from .vertices import _null_projectors

    r = d.r
    X = np.nonzero(cross)[0]
    if X.size > max_cross:
        return None
    P = V @ d.n.T  # (r, H)
    fpos = P.min(axis=0) >= -_TAU
    fneg = (P.max(axis=0) <= _TAU) & ~fpos
    M0 = (fpos.astype(float) @ d.Ep + fneg.astype(float) @ d.Em).reshape(r, d.k)
    W = _unit_rows(np.linalg.inv(V.T))  # facets: c = Vᵀλ, λ = V⁻ᵀc ≥ 0
    A0 = np.vstack([W, d.n[X]])
    q = A0.shape[0]
    sg = 1.0 - 2.0 * ((np.arange(2**X.size)[:, None] >> np.arange(X.size)[None, :]) & 1)  # (nS, |X|)
    Ms = M0[None] + np.einsum("sq,qx->sx", (sg > 0).astype(float), d.Ep[X]).reshape(-1, r, d.k) \
        + np.einsum("sq,qx->sx", (sg < 0).astype(float), d.Em[X]).reshape(-1, r, d.k)
    rowsign = np.hstack([np.ones((sg.shape[0], r)), sg])  # (nS, q)
    best, arg = -np.inf, None
    for size in range(0, min(q, r - 1) + 1):
        if size:
            Zs = np.array(list(itertools.combinations(range(q), size)), dtype=int)
            Pz = _null_projectors(np.swapaxes(A0[Zs], 1, 2))
        else:
            Pz = np.eye(r)[None]
        nZ, nS = Pz.shape[0], Ms.shape[0]
        PM = np.matmul(Pz[:, None], Ms[None]).reshape(nZ * nS, r, d.k)
        lam, u = _top_eig(PM)
        g = (u @ A0.T).reshape(nZ, nS, q) * rowsign[None]
        ok_p = np.all(g >= -1e-10, axis=2).ravel()
        ok_m = np.all(g <= 1e-10, axis=2).ravel()
        ok = ok_p | ok_m
        if np.any(ok):
            j = np.nonzero(ok)[0][np.argmax(lam[ok])]
            if lam[j] > best:
                best, arg = float(lam[j]), (u[j] if ok_p[j] else -u[j])
    return max(best, 0.0), arg


def bnb_group(planes, pool, *, time_limit=None, max_nodes=None, rtol=1e-9, batch=256,
              memory_bytes=512 * 2**20, t0=None, progress=None):
    r"""Branch and bound for ``m`` (module docstring); updates ``pool`` with feasible points.

    Parameters
    ----------
    planes : Planes
        The merged hyperplanes (rank ``r`` = ``planes.r``).
    pool : _Pool
        Candidate pool (its best true value is the incumbent).
    time_limit : float or None
        Seconds (from ``t0``); None: no limit (then ``max_nodes`` or closing stops it).
    max_nodes : int or None
        Regions bounded at most.
    rtol : float
        A region is discarded when its bound is ≤ ``best·(1 + rtol)`` (or ≤ ``pool.floor``).
    memory_bytes : int
        Open regions are kept while they fit in this many bytes (``8r²`` each).
    progress : callable, optional
        Called as ``progress(nodes=, open=, bound=, best=)`` (the bound valid at that moment) at
        most once per ``PROGRESS_SECONDS`` (:mod:`._kernels`).

    Returns
    -------
    dict
        ``bound`` (valid upper bound on m), ``best`` (true value of the incumbent), ``nodes``,
        ``open``, ``closed`` (True when no region is left), ``reason``, ``time``.
    """
    t0 = time.perf_counter() if t0 is None else t0
    d = _Data(planes)
    r = d.r
    max_open = max(1000, int(memory_bytes // (8 * r * r + 64)))
    V = _root_cones(r)
    nodes = V.shape[0]
    bnd, M, ncross, u, X0 = _bound(d, V)
    pruned_max = -np.inf
    exact_leaves = 0

    def add_candidates(Vc, uc):
        pool.add(np.vstack([Vc.reshape(-1, r), uc, -uc]))

    max_cross = max(0, min(_EXACT_LEAF_MAX_CROSS, _EXACT_LEAF_MAX_CONSTRAINTS - r)) if r <= _EXACT_LEAF_MAX_R else -1
    # open regions live in slots (no copy of the whole list per iteration); free slots: bound −inf
    cap = max(4096, 4 * V.shape[0])
    S = {"V": np.empty((cap, r, r)), "X": np.zeros((cap, d.H), bool), "b": np.full(cap, -np.inf),
         "done": np.zeros(cap, bool)}  # done: solved exactly (bound = the region's maximum)
    hw = 0  # slots in use are below this high-water mark

    def insert(Vc, bc, Xc):
        nonlocal hw
        n_new = bc.size
        free = np.nonzero(S["b"][:hw] == -np.inf)[0][:n_new]
        extra = n_new - free.size
        if hw + extra > S["b"].size:
            new_cap = max(2 * S["b"].size, hw + extra)
            for key, fill in (("V", None), ("X", False), ("b", -np.inf), ("done", False)):
                old = S[key]
                grown = np.empty((new_cap,) + old.shape[1:], old.dtype)
                if fill is not None:
                    grown[...] = fill
                grown[: old.shape[0]] = old
                S[key] = grown
        slots = np.concatenate([free, np.arange(hw, hw + extra)])
        hw += extra
        S["V"][slots], S["X"][slots], S["b"][slots], S["done"][slots] = Vc, Xc, bc, False

    def solve_exact(idx):
        """Solve the selected regions crossed by at most ``max_cross`` planes exactly; returns the
        mask of those solved now."""
        nonlocal exact_leaves
        solved = np.zeros(idx.size, bool)
        if max_cross < 0:
            return solved
        for t, i in enumerate(idx):
            if S["done"][i] or S["X"][i].sum() > max_cross:
                continue
            val, c = _region_exact(d, S["V"][i], S["X"][i], max_cross)
            if c is not None:
                pool.add(c[None])
            kap = max(_kappa(S["V"][i : i + 1])[0][0], 1e-300)
            S["b"][i] = min(S["b"][i], (np.sqrt(val) + d.pad_sum / kap) * (1 + 1e-12))
            S["done"][i] = True
            solved[t] = True
            exact_leaves += 1
        return solved

    insert(V, bnd, X0)
    add_candidates(V, u)
    reason = "closed"
    report_due = _ReportDue()
    while True:
        best = np.sqrt(max(pool.best, 0.0))
        B_ = S["b"][:hw]
        drop = (B_ > -np.inf) & (B_ <= max(best * (1 + rtol), pool.floor))
        if np.any(drop):
            pruned_max = max(pruned_max, float(B_[drop].max()))
            B_[drop] = -np.inf
        n_open = int(np.count_nonzero(B_ > -np.inf))
        if n_open == 0:
            break
        if progress is not None and report_due():
            progress(nodes=int(nodes), open=n_open, bound=max(best, pruned_max, float(B_.max())), best=float(best))
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            reason = f"time limit {time_limit:g} s"
            break
        if max_nodes is not None and nodes >= max_nodes:
            reason = f"node budget {max_nodes}"
            break
        if n_open + 2 * batch > max_open:
            reason = f"memory budget ({max_open} open regions)"
            break
        L = min(batch, n_open)
        sel = np.argpartition(-B_, L - 1)[:L] if L < hw else np.nonzero(B_ > -np.inf)[0]
        solved = solve_exact(sel)
        if np.all(S["done"][sel]):  # every selected region is solved: its bound is its maximum
            if np.any(solved):
                continue
            # exact regions above best·(1+rtol) only through rounding: stop, the bound is valid
            reason = "closed up to rounding"
            break
        sel = sel[~S["done"][sel]]
        L = sel.size
        Vs = S["V"][sel].copy()
        parent = S["b"][sel].copy()
        S["b"][sel] = -np.inf  # freed: replaced by the two halves
        # bisect the longest edge
        Gv = np.matmul(Vs, np.swapaxes(Vs, 1, 2))
        Gv[:, np.arange(r), np.arange(r)] = np.inf
        flat = np.argmin(Gv.reshape(L, -1), axis=1)
        i, j = flat // r, flat % r
        mid = _unit_rows(Vs[np.arange(L), i] + Vs[np.arange(L), j])
        C1, C2 = Vs.copy(), Vs.copy()
        C1[np.arange(L), i] = mid
        C2[np.arange(L), j] = mid
        Ch = np.concatenate([C1, C2])
        nodes += Ch.shape[0]
        b, Mc, nc, uc, Xc = _bound(d, Ch)
        b = np.minimum(b, np.concatenate([parent, parent]))  # a half lies in its parent region
        pool.add(np.vstack([mid, uc, -uc]))
        insert(Ch, b, Xc)
    best = np.sqrt(max(pool.best, 0.0))
    B_ = S["b"][:hw]
    open_b = B_[B_ > -np.inf]
    bnd = open_b
    bound = max(best, pruned_max, float(open_b.max()) if open_b.size else -np.inf)
    return {"bound": bound, "best": best, "nodes": int(nodes), "open": int(bnd.size),
            "closed": bnd.size == 0, "reason": reason, "exact_leaves": exact_leaves,
            "time": time.perf_counter() - t0}
