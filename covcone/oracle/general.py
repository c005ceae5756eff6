r"""The general pricing oracle :func:`price` for the forms zᵀG_K z + σ(z)ᵀG_σ σ(z)."""
from __future__ import annotations

import numpy as np

from ..activations import require_homogeneous
from ._kernels import _check_basis, _matrix, _positive_int, _reduce_rank, _rng, _sigma, _unit_rows, exact_affordable
from .lowrank import _faces_lowdim
from .signs import _slope_table, _zero_set_spaces

__all__ = ["PriceResult", "price"]


from dataclasses import dataclass


@dataclass(frozen=True)
class PriceResult:
    r"""Result of :func:`price` (docs/design.md §3.3).

    Attributes
    ----------
    z : ndarray, shape (N,)
        The minimising direction ``z = basisᵀ c`` in the data range.
    c : ndarray, shape (r,)
        Its unit coordinates in the basis.
    value : float
        ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` at ``z`` (the minimum when ``exact``).
    exact : bool
        True only if an exact face enumeration was done.
    method : str
        How the minimum was found.
    n_faces : int
        Faces examined.
    """

    z: np.ndarray
    c: np.ndarray
    value: float
    exact: bool
    method: str
    n_faces: int

def _bottom_vectors(M):
    """Bottom unit eigenvectors of a stack of symmetric matrices (n, q, q)."""
    _, W = np.linalg.eigh(M)
    return W[:, :, 0]


def price(
    G_K,
    G_sigma,
    *,
    activation,
    basis=None,
    exact: bool = True,
    rng=None,
    n_starts: int = 64,
) -> PriceResult:
    r"""The general pricing oracle of docs/design.md §3.3: minimise ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` over
    ``z = basisᵀ c`` with ``‖c‖ = 1``.

    This prices a generator ``g(z) = (zzᵀ, σ(z)σ(z)ᵀ)`` of the cone ``S`` (paper §2–3) against
    the dual/gradient matrices ``(G_K, G_σ)``: a negative value is a column that improves the
    master problem; a nonnegative *exact* minimum proves that no generator does.

    Parameters
    ----------
    G_K, G_sigma : array_like, shape (N, N)
        Symmetric matrices.
    activation : Activation, str or (a, b)
        Positively homogeneous σ.
    basis : array_like, shape (r, N), optional
        Rows spanning the data range; default ``I_N``.
    exact : bool, default True
        Enumerate faces when affordable (rank of the basis ≤ 3, or ``N ≤ 13``), else a heuristic.
    rng : numpy Generator, int or None
        Randomness of the heuristic starts.
    n_starts : int, default 64
        Random starts of the heuristic.

    Returns
    -------
    PriceResult

    Notes
    -----
    On each face of the arrangement ``{c : b_iᵀc = 0}`` the objective is the form
    ``Q = B G_K Bᵀ + (B D) G_σ (B D)ᵀ``; the minimum over the sphere is attained at ``±`` the
    bottom eigenvector of some face's restricted form (the argument of the module docstring with
    max ↔ min).  All faces are enumerated and every candidate's true value evaluated — no bound
    ordering here (``O(N)``–``O(N²)`` work per face): correctness first; the group-lasso special
    case ``G_K = 0, G_σ = −ΘΘᵀ`` has the fast path :func:`max_group_norm`.
    """
    act = require_homogeneous(activation)
    GK = _matrix(G_K, "G_K")
    GS = _matrix(G_sigma, "G_sigma")
    if GK.shape[0] != GK.shape[1] or GK.shape[0] < 1:
        raise ValueError(f"G_K: expected a square (N, N) matrix, got shape {GK.shape}")
    N = GK.shape[0]
    if GS.shape != (N, N):
        raise ValueError(f"G_sigma: expected shape (N, N) = {(N, N)} like G_K, got {GS.shape}")
    for G, name in ((GK, "G_K"), (GS, "G_sigma")):
        if np.max(np.abs(G - G.T)) > 1e-10 * max(1.0, np.max(np.abs(G))):
            raise ValueError(f"{name}: expected a symmetric matrix")
    GK, GS = 0.5 * (GK + GK.T), 0.5 * (GS + GS.T)
    if basis is None:
        B = np.eye(N)
    else:
        B = _check_basis(basis)
        if B.shape[1] != N:
            raise ValueError(f"basis: expected shape (r, N) with N = {N} like G_K, got {B.shape}")
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact: expected a bool, got {exact!r}")
    n_starts = _positive_int(n_starts, "n_starts", minimum=0)
    rng = _rng(rng)
    a, b = float(act.a), float(act.b)
    r = B.shape[0]

    def objective(C, Bm, K, S_):
        Z = C @ Bm
        Sz = _sigma(Z, a, b)
        return np.einsum("ij,ij->i", Z @ K, Z) + np.einsum("ij,ij->i", Sz @ S_, Sz)

    nz = np.linalg.norm(B, axis=0) > 0
    Bk, GKk, GSk = B[:, nz], GK[np.ix_(nz, nz)], GS[np.ix_(nz, nz)]
    if Bk.shape[1] == 0:
        c = np.eye(r)[0]
        return PriceResult(B.T @ c, c, 0.0, bool(exact), "trivial (basisᵀc ≡ 0)", 0)
    Ured, Br = _reduce_rank(Bk)
    rho, Nk = Br.shape
    w, Vs = np.linalg.eigh(GSk)
    sel = np.abs(w) > Nk * np.finfo(float).eps * max(1e-300, np.max(np.abs(w)))
    w, Vs = w[sel], Vs[:, sel]
    BKB = Br @ GKk @ Br.T
    cands = []
    n_faces = 0
    if exact and rho <= 3:
        method, is_exact = f"arrangement r={rho}", True
        for points, S, D in _faces_lowdim(Br, a, b):
            cands.append(points)
            n_faces += points.shape[0]
            if D.shape[0] == 0:
                continue
            T = np.einsum("rn,sn,nk->srk", Br, D, Vs, optimize=True)
            M = BKB[None] + np.einsum("sri,i,sti->srt", T, w, T)
            Mf = np.einsum("srq,srt,stp->sqp", S, M, S)
            y = np.einsum("srq,sq->sr", S, _bottom_vectors(Mf))
            cands += [y, -y]
            n_faces += D.shape[0]
    elif exact and exact_affordable(rho, Nk):
        method, is_exact = "sign patterns 3^N", True
        tables = {}
        for R, Q in _zero_set_spaces(Br):
            nR = R.size
            if nR not in tables:
                tables[nR] = _slope_table(nR, a, b)
            Dt = tables[nR]
            E = Q.T @ Br[:, R]
            ED = E[None, :, :] * Dt[:, None, :]
            M = (Q.T @ BKB @ Q)[None] + np.einsum("pqi,ij,ptj->pqt", ED, GSk[np.ix_(R, R)], ED, optimize=True)
            y = _bottom_vectors(M) @ Q.T
            cands += [y, -y]
            n_faces += Dt.shape[0]
    else:
        method = "heuristic" if not exact else f"heuristic (exact enumeration not affordable: rank {rho}, N = {Nk})"
        is_exact = False
        C = np.vstack([np.eye(rho), -np.eye(rho), rng.standard_normal((n_starts, rho))])
        C = _unit_rows(C)
        val = objective(C, Br, GKk, GSk)
        cands.append(C.copy())
        active = np.arange(C.shape[0])
        for _ in range(100):
            if active.size == 0:
                break
            D = np.where(C[active] @ Br >= 0, a, b)
            BD = Br[None] * D[:, None, :]
            M = BKB[None] + np.einsum("sri,ij,stj->srt", BD, GSk, BD, optimize=True)
            y = _bottom_vectors(M)
            vp, vm = objective(y, Br, GKk, GSk), objective(-y, Br, GKk, GSk)
            y = np.where((vm < vp)[:, None], -y, y)
            vy = np.minimum(vp, vm)
            cands.append(y)
            better = vy < val[active] - 1e-13 * np.abs(val[active]) - 1e-300
            C[active[better]], val[active[better]] = y[better], vy[better]
            active = active[better]
    C = _unit_rows(np.vstack(cands))
    vals = objective(C, Br, GKk, GSk)
    i = int(np.argmin(vals))
    c = C[i] if Ured is None else Ured @ C[i]
    value = float(objective(c[None], B, GK, GS)[0])
    if Ured is not None and value > 0:  # a direction the basis does not see: z = 0, value 0
        Uf, _, _ = np.linalg.svd(Bk, full_matrices=True)
        c, value = Uf[:, rho], 0.0
    return PriceResult(B.T @ c, c, value, is_exact, method, int(n_faces))
