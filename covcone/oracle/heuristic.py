r"""Multi-start local search for the pricing problem (a heuristic: it proves nothing)."""
from __future__ import annotations

import numpy as np

from ._kernels import _norms, _norms_chunked, _top_eig, _unit_rows


def _local_search(form_T, values_of, C0, max_iter=100):
    r"""Ascent from each row of ``C0``: jump to ``±`` the top eigenvector of the current slope
    pattern's form (the fixed point of the power iteration ``c ← normalise(B D Θ Θᵀ D Bᵀ c)``),
    keep the better sign, stop when the true value no longer increases.  Returns all visited
    points and their true values."""
    C = _unit_rows(C0)
    v = values_of(C)
    seen_C, seen_v = [C], [v]
    active = np.arange(C.shape[0])
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ca = C[active]
        _, u = _top_eig(form_T(Ca))
        cand = np.vstack([u, -u])
        cv = values_of(cand)
        m = active.size
        pick = cv[m:] > cv[:m]
        newC = np.where(pick[:, None], cand[m:], cand[:m])
        newv = np.where(pick, cv[m:], cv[:m])
        seen_C.append(newC)
        seen_v.append(newv)
        better = newv > v[active] * (1 + 1e-13) + 1e-300
        C[active[better]] = newC[better]
        v[active[better]] = newv[better]
        active = active[better]
    return np.vstack(seen_C), np.concatenate(seen_v)


def _gate_starts(Theta, B, a, b, rng, n_gates):
    r"""Sampled activation patterns (random gates, as in convex reformulations of ReLU networks):
    ``D = slopes(sign(Bᵀg))`` for random ``g``; the start is ``±`` the top eigenvector of that
    pattern's form ``B D Θ Θᵀ D Bᵀ`` (the best point if the pattern were right everywhere)."""
    r = B.shape[0]
    if n_gates <= 0:
        return np.zeros((0, r))
    G = rng.standard_normal((n_gates, r))
    D = np.where(G @ B >= 0, a, b)
    T = np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)
    _, u = _top_eig(T)
    return np.vstack([u, -u])


def _data_starts(Theta, B, a, b, n_best: int = 48, n_samples: int = 1000):
    r"""Neurons pointing at data points and at pairs of them: ``c ∝ b_i`` and
    ``c ∝ b_i/‖b_i‖ + b_j/‖b_j‖`` for the ``n_best`` samples whose own neuron prices highest
    (``b_i`` the columns of ``B``; at most ``n_samples`` samples, those with the largest residual
    rows ``‖Θ_i‖``; values in bounded-memory batches).  Where
    the data are spread out (many samples on the boundary of their convex hull, e.g. orthogonal
    inputs) such neurons are active on one or two samples only — the sparse patterns that a
    local ascent through dense patterns does not reach.  Returns ``(C, values)``."""
    r, N = B.shape
    keep = np.nonzero(np.linalg.norm(B, axis=0) > 0)[0]
    if keep.size > n_samples:
        keep = keep[np.argsort(-np.linalg.norm(Theta[keep], axis=1), kind="stable")[:n_samples]]
    Bu = _unit_rows(B[:, keep].T)
    if Bu.shape[0] == 0:
        return np.zeros((0, r)), np.zeros(0)

    v1 = _norms_chunked(Theta, B, a, b, Bu)
    top = np.argsort(-v1, kind="stable")[: min(n_best, Bu.shape[0])]
    I, J = np.triu_indices(top.size, 1)
    P = _unit_rows(Bu[top[I]] + Bu[top[J]]) if I.size else np.zeros((0, r))
    P = P[np.linalg.norm(P, axis=1) > 0]
    return np.vstack([Bu, P]), np.concatenate([v1, _norms_chunked(Theta, B, a, b, P)])


def _heuristic_group(Theta, B, a, b, pool, rng, n_starts, starts=None, n_gates=None, data_starts=True):
    r"""Multi-start local ascent (:func:`_local_search`) from the coordinate axes, ``n_starts``
    random points, ``n_gates`` sampled activation patterns (default ``n_starts``), the best
    ``n_starts`` neurons pointing at data points or pairs of them (:func:`_data_starts`, all of
    which are candidates themselves; skipped when ``data_starts`` is False, e.g. ahead of an
    exact low-rank enumeration) and the user-given ``starts`` (rows, e.g. a trained network's
    neurons in the basis of ``B``)."""
    r = B.shape[0]
    C0 = rng.standard_normal((n_starts, r)) if n_starts else np.zeros((0, r))
    Cd, vd = _data_starts(Theta, B, a, b) if data_starts else (np.zeros((0, r)), np.zeros(0))
    pool.n_evaluated += vd.size
    pool.add(Cd, vd)
    parts = [np.eye(r), -np.eye(r), C0, _gate_starts(Theta, B, a, b, rng, n_starts if n_gates is None else n_gates),
             Cd[np.argsort(-vd, kind="stable")[:n_starts]]]
    if starts is not None and len(starts):
        S = np.asarray(starts, dtype=float).reshape(-1, r)
        parts.append(S[np.linalg.norm(S, axis=1) > 0])
    C0 = np.vstack(parts)

    def form_T(C):
        D = np.where(C @ B >= 0, a, b)  # (s, N)
        return np.einsum("rn,sn,nk->srk", B, D, Theta, optimize=True)

    def values_of(C):
        return _norms(Theta, B, a, b, C)

    Cs, vs = _local_search(form_T, values_of, C0)
    pool.n_evaluated += vs.size
    pool.add(Cs, vs)

