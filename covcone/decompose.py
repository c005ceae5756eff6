r"""Carathéodory decomposition, network compression, CP factorisation and Rank_σ bounds.

docs/design.md §5 (paper: Jacot, Golikov, Hongler & Gabriel, NeurIPS 2022, §2 and §4 — the sparsity
theorem: any pair in the cone ``S`` is reached with at most ``N(N+1)`` neurons).

A neuron is a data-space pre-activation vector ``z ∈ R^N`` (a row of ``Z_ℓ`` with neurons as
rows).  Its generator is ``g(z) = (z zᵀ, σ(z) σ(z)ᵀ)`` in the space of pairs of symmetric
``N × N`` matrices, of dimension ``N(N+1)``.  Since σ is positively homogeneous,
``g(t z) = t² g(z)`` for ``t > 0``: a weight ``α ≥ 0`` on ``g(z)`` is absorbed as ``z √α``.

* :func:`decompose` — Carathéodory's theorem made constructive: merge parallel neurons, then,
  while the generators are linearly dependent, move the weights along a null vector until one
  hits zero.  The result has at most ``rank ≤ N(N+1)`` neurons and the same pair.
* :func:`compress` — apply it layer by layer to a trained network and refit the min-norm
  weights ``W_ℓ = Z_ℓ (Z_{ℓ-1}^σ)^+``; outputs and covariances on ``X`` are unchanged and
  ``Σ‖W_ℓ‖²`` does not increase (it becomes ``Σ Tr[K_ℓ (K_{ℓ-1}^σ)^+]``, docs/design.md §2).
* :func:`cp_factor` — a completely positive factorisation heuristic for the DNN matrix of the
  lifted relaxation (docs/design.md §3.1): ``G ≈ Σ w wᵀ`` with ``w = [u; v] ≥ 0``, neurons ``z = u − v``.
* :func:`rank_bounds` — bounds on ``Rank_σ(K, K^σ)``, the fewest neurons reproducing a pair
  (NP-hard in general; docs/design.md §5–§6).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import time

import numpy as np
import scipy.linalg as sla

from .activations import Activation, require_homogeneous
from .exceptions import CompressionError
from .reformulations import min_norm_map
from .network import Network
from .validation import as_matrix, check_beta

__all__ = [
    "Decomposition",
    "decompose",
    "CompressResult",
    "CompressionError",
    "compress",
    "CPFactorResult",
    "cp_factor",
    "caratheodory",
    "parallel_groups",
    "lifted_neurons",
    "RankBounds",
    "rank_bounds",
]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _sym_vec(M: np.ndarray, iu) -> np.ndarray:
    """Rows ``m`` of ``M`` (n, N) → rows of the isometric half-vectorisation of ``m mᵀ``.

    Off-diagonal entries are scaled by √2 so that Euclidean inner products equal Frobenius
    inner products of the symmetric matrices.
    """
    i, j = iu
    scale = np.where(i == j, 1.0, np.sqrt(2.0))
    return M[:, i] * M[:, j] * scale


def _rel_err(A: np.ndarray, B: np.ndarray) -> float:
    """‖A − B‖_F / ‖B‖_F (absolute when B = 0)."""
    nb = np.linalg.norm(B)
    d = np.linalg.norm(A - B)
    return float(d / nb) if nb > 0 else float(d)


def _pair(Z: np.ndarray, w: np.ndarray, act: Activation):
    """(Σ w_i z_i z_iᵀ, Σ w_i σ(z_i) σ(z_i)ᵀ) for neurons as rows of Z."""
    S = act(Z)
    return (Z * w[:, None]).T @ Z, (S * w[:, None]).T @ S


def parallel_groups(U: np.ndarray, tol: float) -> np.ndarray:
    """Group labels of the unit rows of U that coincide to ``tol`` (same ray).

    Rows are sorted by a fixed projection so that only neighbours need comparing, then grouped
    exactly by distance to the group's representative (O(n log n) plus an O(n N) check).  The one
    implementation of "merge parallel neurons", used by :func:`decompose` and by the depth-2
    solver's recovery.  Returns ``labels`` (n,) with ``labels[i]`` the index of i's representative.
    """
    n = U.shape[0]
    labels = np.arange(n)
    if n == 0:
        return labels
    key = U @ np.linspace(1.0, 2.0, U.shape[1])
    order = np.argsort(key, kind="stable")
    reps = []
    active = []  # representatives whose key is within reach of the current row
    for idx in order:
        u = U[idx]
        k = key[idx]
        active = [r for r in active if abs(key[r] - k) <= 2.0 * U.shape[1] * tol]
        for r in active:
            if np.max(np.abs(U[r] - u)) <= tol:
                labels[idx] = r
                break
        else:
            reps.append(idx)
            active.append(idx)
    return labels


def _merge_parallel(U: np.ndarray, w: np.ndarray, tol: float):
    """Representatives of the groups of coinciding unit rows of U and their summed weights."""
    labels = parallel_groups(U, tol)
    reps, inv = np.unique(labels, return_inverse=True)
    order = np.argsort([np.flatnonzero(labels == r)[0] for r in reps], kind="stable")
    weights = np.bincount(inv, weights=w, minlength=reps.size)
    return reps[order], weights[order]


# ---------------------------------------------------------------------------------------------
# Carathéodory reduction
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decomposition:
    r"""Result of :func:`decompose`: few neurons reproducing a pair ``(K, K^σ)``.

    Attributes
    ----------
    Z : ndarray, shape (m, N)
        The reduced neurons as rows, weights absorbed: ``Z[i] = √weights[i] · Z_in[index[i]]``,
        so ``K = ZᵀZ`` and ``K^σ = σ(Z)ᵀσ(Z)`` (without the β²11ᵀ term).
    weights : ndarray, shape (m,)
        The weights α > 0 on the input neurons ``Z_in[index]`` (before absorption).
    index : ndarray of int, shape (m,)
        Which input rows survive (a representative of each merged parallel group).
    n_before, n_after : int
        Number of input rows and of output neurons.
    n_merged : int
        Number of distinct rays left after merging parallel neurons and dropping zero ones.
    dimension_bound : int
        ``N(N+1)``, the dimension of the pair space (Carathéodory bound).
    rank : int
        Numerical rank of the generator matrix (``n_after ≤ rank ≤ dimension_bound``).
    residual_K, residual_K_sigma : float
        Relative Frobenius errors of the reconstructed ``K`` and ``K^σ`` against the input
        pair, computed from ``Z`` (not assumed).
    """

    Z: np.ndarray
    weights: np.ndarray
    index: np.ndarray
    n_before: int
    n_after: int
    n_merged: int
    dimension_bound: int
    rank: int
    residual_K: float
    residual_K_sigma: float

    @property
    def residual(self) -> float:
        """max(residual_K, residual_K_sigma)."""
        return max(self.residual_K, self.residual_K_sigma)


def caratheodory(A: np.ndarray, w: np.ndarray, rtol: float, cost: np.ndarray | None = None):
    r"""Vertex of ``{x ≥ 0 : A x = A w}`` reached from ``w`` by null-space moves.

    The one implementation of the Carathéodory step (docs/design.md §5), used by
    :func:`decompose` and by the depth-2 solver's recovery.  With ``cost`` (n,), every move is
    taken in the direction in which ``costᵀx`` does not increase (the penalty of the group lasso),
    so the vertex reached is no more expensive than ``w``.

    ``A`` is (D, n), columns are generators.  A pivoted QR ``A P = Q R`` gives a maximal
    independent set ``B`` (numerical rank ``r``) and the coefficients ``C = R11⁻¹ R12`` of the
    other columns in that basis; ``e_j − Σ_k C_kj e_{B_k}`` is then a null vector for each
    dependent column ``j``.  Moving along it (ratio test) zeroes either ``w_j`` (the column is
    dropped, nothing else changes) or one basis weight (basis exchange: a Gauss–Jordan update
    of ``C`` in O(r·m)).  Every step removes one column, so there are ``n − r`` steps and no SVD
    per step.  The basis is refactored from the compact coordinates ``[R11 R12]`` (r × n) now and
    then to stop round-off from accumulating; the final weights are re-solved on the support.

    Returns (support indices, weights on them, rank r).
    """
    n = A.shape[1]
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros(0), 0
    _, R, piv = sla.qr(A, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    if d.size == 0 or d[0] == 0:
        return np.zeros(0, dtype=int), np.zeros(0), 0
    r = int(np.sum(d > rtol * d[0]))
    # compact coordinates: A ≈ Q_r [R11 R12] Pᵀ, so columns of Ac (r × n) are the generators
    Ac = np.empty((r, n))
    Ac[:, piv] = R[:r, :]
    target = Ac @ w
    basis = list(piv[:r])
    dep = list(piv[r:])
    if not dep:
        return np.asarray(basis), w[basis].copy(), r
    wB = w[basis].astype(float).copy()
    wD = w[dep].astype(float).copy()
    C = sla.solve_triangular(R[:r, :r], R[:r, r:])  # (r, m)
    pivots_since_refresh = 0
    refresh_every = max(25, r // 2)
    costB = None if cost is None else np.asarray(cost, dtype=float)[basis].copy()
    costD = None if cost is None else np.asarray(cost, dtype=float)[dep].copy()
    kept = []  # dependent columns that cannot leave without raising the cost (none for cost > 0)
    while dep:
        j = len(dep) - 1  # process from the end: removal is O(1)
        c = C[:, j]
        if costB is not None and costD[j] - c @ costB < 0:
            # lowering w_j would raise the cost: raise it instead until a basis weight reaches 0
            pos = np.flatnonzero(c > 0)
            if pos.size == 0:
                kept.append((dep.pop(), float(wD[j])))
                wD, C, costD = wD[:-1], C[:, :-1], costD[:-1]
                continue
            ratios = wB[pos] / c[pos]
            k = int(pos[int(np.argmin(ratios))])
            t = float(ratios.min())
            wB -= t * c
            np.maximum(wB, 0.0, out=wB)
            enter = wD[j] + t
        else:
            t = wD[j]
            neg = np.flatnonzero(c < 0)
            k = -1
            if neg.size:
                ratios = wB[neg] / (-c[neg])
                a = int(np.argmin(ratios))
                if ratios[a] < t:
                    t = ratios[a]
                    k = int(neg[a])
            wB += t * c
            np.maximum(wB, 0.0, out=wB)
            enter = wD[j] - t
        if k < 0:
            # w_j hits zero: drop column j
            dep.pop()
            wD = wD[:-1]
            C = C[:, :-1]
            if costD is not None:
                costD = costD[:-1]
            continue
        # basis weight k hits zero: column j enters the basis in place of B_k
        ck = c[k]
        rowk = C[k, :] / ck
        C -= np.outer(c, rowk)
        C[k, :] = rowk
        wB[k] = enter
        basis[k] = dep[j]
        if costB is not None:
            costB[k] = costD[j]
            costD = costD[:-1]
        dep.pop()
        wD = wD[:-1]
        C = C[:, :-1]
        pivots_since_refresh += 1
        if dep and (pivots_since_refresh >= refresh_every or abs(ck) < 1e-8 * np.max(np.abs(c))):
            C = np.linalg.solve(Ac[:, basis], Ac[:, dep]) if r else C
            pivots_since_refresh = 0
    support = np.asarray(basis + [j for j, _ in kept], dtype=int)
    wB = np.concatenate([wB, [w_ for _, w_ in kept]])
    keep = wB > 0
    support, wB = support[keep], wB[keep]
    # polish: re-solve the weights on the (independent) support against the target (not with a
    # cost: the moves above already kept it from increasing)
    if support.size and cost is None:
        sol, *_ = np.linalg.lstsq(Ac[:, support], target, rcond=None)
        if np.all(sol >= 0) and np.linalg.norm(Ac[:, support] @ sol - target) <= np.linalg.norm(
            Ac[:, support] @ wB - target
        ):
            wB = sol
    keep = wB > 0
    return support[keep], wB[keep], r


def decompose(Z, weights=None, *, activation, tol: float = 1e-10) -> Decomposition:
    r"""Reduce weighted neurons to at most ``N(N+1)`` reproducing the same pair (docs/design.md §5).

    The input pair is ``(K, K^σ) = Σ_i α_i (z_i z_iᵀ, σ(z_i) σ(z_i)ᵀ)``.  First parallel
    neurons are merged (``g(t z) = t² g(z)`` for ``t > 0`` by homogeneity) and zero neurons or
    zero weights dropped; then Carathéodory's reduction removes linearly dependent generators
    (paper §4, sparsity theorem) until the remaining ones are linearly independent, hence at
    most ``rank ≤ N(N+1)`` of them.

    Parameters
    ----------
    Z : array_like, shape (n, N)
        Neurons as rows (data-space pre-activation vectors).
    weights : array_like, shape (n,), optional
        Weights α ≥ 0 (default ones).
    activation : Activation or str
        A positively homogeneous σ (keyword-only).
    tol : float
        Relative tolerance for the numerical rank of the generator matrix and for merging
        parallel neurons (their unit directions must agree to ``tol``).

    Returns
    -------
    Decomposition
        With the reduced neurons (weights absorbed), residuals computed from them.

    Notes
    -----
    Generators are represented by the isometric half-vectorisations of ``u uᵀ`` and
    ``σ(u) σ(u)ᵀ`` for unit directions ``u`` (an ``n × N(N+1)`` matrix); the ``u uᵀ`` block is
    written in an orthonormal basis of the data range ``span{z_i}`` (dimension ``d``), which is
    isometric and shortens it to ``d(d+1)/2`` columns.  The reduction itself is a sequence of
    simplex-like basis exchanges on one pivoted QR (see ``_caratheodory``): no SVD per dropped
    neuron.
    """
    act = require_homogeneous(activation)
    Z = as_matrix(Z, "Z")
    n, N = Z.shape
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise ValueError(f"weights: expected shape ({n},), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights: expected finite weights α ≥ 0")
    tol = float(tol)
    if not (tol > 0 and np.isfinite(tol)):
        raise ValueError(f"tol: expected a positive number, got {tol!r}")

    K_in, Ks_in = _pair(Z, w, act)
    norms = np.linalg.norm(Z, axis=1)
    alive = (norms > 0) & (w > 0)
    idx = np.flatnonzero(alive)
    U = Z[idx] / norms[idx, None]
    eff = w[idx] * norms[idx] ** 2  # weight on g(u) for the unit direction u
    reps, eff = _merge_parallel(U, eff, tol)
    U = U[reps]
    idx = idx[reps]
    n_merged = len(idx)

    if n_merged:
        # compact, isometric coordinates of the generators g(u) = (u uᵀ, σ(u) σ(u)ᵀ)
        _, s, Vt = np.linalg.svd(U, full_matrices=False)
        d = int(np.sum(s > tol * s[0])) if s.size else 0
        Uc = U @ Vt[:d].T
        G = np.hstack([_sym_vec(Uc, np.triu_indices(d)), _sym_vec(act(U), np.triu_indices(N))])
        support, wsup, rank = caratheodory(G.T, eff, tol)
    else:
        support, wsup, rank = np.zeros(0, dtype=int), np.zeros(0), 0

    rows = idx[support]
    alpha = wsup / norms[rows] ** 2  # weights on the original rows z_i
    Zout = Z[rows] * np.sqrt(alpha)[:, None]
    K_out, Ks_out = _pair(Zout, np.ones(len(rows)), act)
    return Decomposition(
        Z=Zout,
        weights=alpha,
        index=rows,
        n_before=n,
        n_after=len(rows),
        n_merged=n_merged,
        dimension_bound=N * (N + 1),
        rank=rank,
        residual_K=_rel_err(K_out, K_in),
        residual_K_sigma=_rel_err(Ks_out, Ks_in),
    )


# ---------------------------------------------------------------------------------------------
# compress a network
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompressResult:
    r"""Result of :func:`compress`.

    Attributes
    ----------
    network : Network
        The compressed network (at most ``N(N+1)`` neurons per hidden layer).
    widths_before, widths_after : tuple of int
        ``(n_0, …, n_L)`` of the input and of the compressed network.
    output_error : float
        ‖Ŷ_new − Ŷ‖_F / ‖Ŷ‖_F on X.
    covariance_errors : tuple of (float, float)
        Per hidden layer ℓ = 1..L−1, relative errors of ``K_ℓ`` and ``K_ℓ^σ`` recomputed from the
        compressed network against the original.
    norm_before, norm_after : float
        ``Σ_ℓ ‖W_ℓ‖_F²``; ``norm_after ≤ norm_before`` up to round-off, so for any Y and λ the
        loss does not increase.
    decompositions : tuple of Decomposition
        The reduction of each hidden layer.
    success : bool
        Every check passed to ``rtol``.
    message : str
        What was done, or which layer failed which check.
    """

    network: Network
    widths_before: tuple
    widths_after: tuple
    output_error: float
    covariance_errors: tuple
    norm_before: float
    norm_after: float
    decompositions: tuple = field(repr=False)
    success: bool = True
    message: str = ""


def _sigma_rows(Z: np.ndarray, act: Activation, beta: float) -> np.ndarray:
    """Z^σ = [σ(Z); β1ᵀ] (paper convention, neurons as rows, (n+1) × N)."""
    return np.vstack([act(Z), np.full((1, Z.shape[1]), beta)])


def compress(network: Network, X, *, tol: float = 1e-10, rtol: float = 1e-8, strict: bool = True) -> CompressResult:
    r"""Compress a trained homogeneous network to at most ``N(N+1)`` neurons per hidden layer.

    Layer by layer (ℓ = 1..L−1), the hidden neurons of layer ℓ are the rows of ``Z_ℓ`` (paper
    convention, ``n_ℓ × N``) computed on X by the current, already reduced network.  They are
    reduced by :func:`decompose` (weights 1), which reproduces ``(K_ℓ, K_ℓ^σ)``; then
    ``W_ℓ = Z_ℓ^new (Z_{ℓ-1}^σ)^+`` and ``W_{ℓ+1} = Z_{ℓ+1} (Z_ℓ^{σ,new})^+``.  Because
    ``K_ℓ^σ`` is reproduced, ``Im Z_{ℓ+1}ᵀ ⊂ Im (Z_ℓ^{σ,new})ᵀ`` still holds and the next
    pre-activations, hence the outputs on X, are unchanged.  The output layer is never reduced.

    Every weight matrix of the result is the min-norm one, so ``Σ‖W_ℓ‖² = Σ Tr[K_ℓ
    (K_{ℓ-1}^σ)^+]`` depends on the covariances only (docs/design.md §2) and is at most the original
    ``Σ‖W_ℓ‖²``: the loss does not increase for any cost, Y and λ.

    Parameters
    ----------
    network : Network
        A network with a positively homogeneous activation, any depth.
    X : array_like, shape (N, n_0)
        Inputs, samples as rows (numpy convention; converted once to the paper's columns).
    tol : float
        Passed to :func:`decompose`.
    rtol : float
        Tolerance of the checks (relative output and covariance errors after each layer).
    strict : bool
        Raise :class:`CompressionError` when a check fails (default); otherwise return with
        ``success=False`` and a message.

    Returns
    -------
    CompressResult
    """
    if not isinstance(network, Network):
        raise ValueError(f"network: expected a covcone Network, got {type(network).__name__}")
    act = require_homogeneous(network.activation, "network.activation")
    X = network._check_inputs(X)
    beta = network.beta
    L = network.depth
    N = X.shape[0]

    def paper_preacts(net):
        return [Zl.T for Zl in net.preactivations(X)]  # (n_ℓ, N)

    Zref = paper_preacts(network)
    Yref = Zref[-1]
    Kref = [(Zl.T @ Zl, act(Zl).T @ act(Zl)) for Zl in Zref[:-1]]

    weights = [W.copy() for W in network.weights]
    current = network
    decs = []
    messages = []
    ok = True
    for ell in range(1, L):  # hidden layer ℓ is Zs[ℓ-1]
        Zs = paper_preacts(current)
        Zs_prev = np.vstack([X.T, np.full((1, N), beta)]) if ell == 1 else _sigma_rows(Zs[ell - 2], act, beta)
        dec = decompose(Zs[ell - 1], activation=act, tol=tol)
        decs.append(dec)
        Znew = dec.Z
        if Znew.shape[0] == 0:  # a dead layer: keep one zero neuron so shapes stay valid
            Znew = np.zeros((1, N))
        weights[ell - 1] = _refit(Znew, Zs_prev)
        weights[ell] = _refit(Zs[ell], _sigma_rows(Znew, act, beta))
        current = Network(weights, act, beta)
        out_err = _rel_err(current.forward(X).T, Yref)
        if out_err > rtol:
            ok = False
            messages.append(
                f"layer {ell}: outputs changed by {out_err:.2e} (relative) > rtol={rtol:g} after reducing "
                f"{dec.n_before} → {dec.n_after} neurons (decomposition residuals "
                f"{dec.residual_K:.1e}, {dec.residual_K_sigma:.1e})"
            )
            if strict:
                raise CompressionError(messages[-1])

    Znew_all = paper_preacts(current)
    cov_errs = []
    for ell, (K, Ks) in enumerate(Kref, start=1):
        Zl = Znew_all[ell - 1]
        eK = _rel_err(Zl.T @ Zl, K)
        eS = _rel_err(act(Zl).T @ act(Zl), Ks)
        cov_errs.append((eK, eS))
        if max(eK, eS) > rtol:
            ok = False
            messages.append(f"layer {ell}: covariances changed by ({eK:.2e}, {eS:.2e}) > rtol={rtol:g}")
            if strict:
                raise CompressionError(messages[-1])
    out_err = _rel_err(Znew_all[-1], Yref)
    nb, na = network.squared_norm(), current.squared_norm()
    if na > nb * (1 + 1e-9) + 1e-12:
        ok = False
        messages.append(f"Σ‖W‖² increased from {nb:.6g} to {na:.6g}")
        if strict:
            raise CompressionError(messages[-1])
    if ok:
        messages.append(
            f"compressed hidden widths {network.widths[1:-1]} → {current.widths[1:-1]}; "
            f"output error {out_err:.1e}, Σ‖W‖² {nb:.6g} → {na:.6g}"
        )
    return CompressResult(
        network=current,
        widths_before=network.widths,
        widths_after=current.widths,
        output_error=out_err,
        covariance_errors=tuple(cov_errs),
        norm_before=nb,
        norm_after=na,
        decompositions=tuple(decs),
        success=ok,
        message="; ".join(messages),
    )


# ---------------------------------------------------------------------------------------------
# completely positive factorisation (lifted relaxation → neurons)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CPFactorResult:
    r"""Result of :func:`cp_factor`.

    Attributes
    ----------
    W : ndarray, shape (n, r)
        Nonnegative factor with ``G ≈ W Wᵀ`` (zero columns removed); the best one found even
        when ``success`` is False.
    residual : float
        ``‖G − W Wᵀ‖_F / ‖G‖_F``, recomputed from ``W`` (never a solver's claim).
    success : bool
        ``residual ≤ tol`` and ``W ≥ 0``.
    message : str
        How the factor was found, or why it was not (in words).
    n_tries : int
        Number of (rank, start) attempts made.
    """

    W: np.ndarray
    residual: float
    success: bool
    message: str
    n_tries: int = 0

    @property
    def rank(self) -> int:
        """Number of columns of ``W``."""
        return int(self.W.shape[1])

    @property
    def Z(self):
        """Data-space neurons ``z = u − v`` (rows) when ``G`` is a lifted ``2N × 2N`` matrix,
        see :func:`lifted_neurons`; ``None`` when the size is odd."""
        return lifted_neurons(self.W) if self.W.shape[0] % 2 == 0 else None


def lifted_neurons(W) -> np.ndarray:
    r"""Neurons ``z = u − v`` from columns ``w = [u; v]`` of a lifted factor (docs/design.md §3.1).

    Parameters
    ----------
    W : array_like, shape (2N, r)
        Nonnegative columns, ``G = W Wᵀ`` with ``G_{i, N+i} = 0`` (so ``u ∘ v = 0``).

    Returns
    -------
    ndarray, shape (r, N)
        One neuron per column, as rows (the convention of :func:`decompose`).
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] % 2:
        raise ValueError(f"W: expected shape (2N, r), got {W.shape}")
    N = W.shape[0] // 2
    return (W[:N] - W[N:]).T


def _gd_rotation(B: np.ndarray, r: int, rng, max_iter: int, tol: float, deadline: float):
    """Groetzner–Dür alternating projections: find orthogonal Q with B Q ≥ 0.

    ``B`` (n × k) is any factor of G; padded to r columns, ``(BQ)(BQ)ᵀ = G`` exactly for every
    orthogonal Q, and the iteration P = max(BQ, 0), Q = polar(BᵀP) seeks nonnegativity.
    """
    n, k = B.shape
    Bp = np.hstack([B, np.zeros((n, r - k))])
    Q, _ = np.linalg.qr(rng.standard_normal((r, r)))
    scale = np.max(np.abs(B)) if B.size else 1.0
    for it in range(max_iter):
        if it % 10 == 0 and time.perf_counter() > deadline:
            break
        BQ = Bp @ Q
        if BQ.min() >= -tol * scale:
            break
        P = np.maximum(BQ, 0.0)
        U, _, Vt = np.linalg.svd(Bp.T @ P)
        Q = U @ Vt
    return np.maximum(Bp @ Q, 0.0)


def _polish(G: np.ndarray, W: np.ndarray, max_nfev: int) -> np.ndarray:
    """Bounded nonlinear least squares on ``‖G − W Wᵀ‖²`` with ``W ≥ 0`` (upper triangle)."""
    from scipy.optimize import least_squares

    n, r = W.shape
    iu = np.triu_indices(n)

    def fun(x):
        V = x.reshape(n, r)
        return (V @ V.T - G)[iu]

    def jac(x):
        V = x.reshape(n, r)
        J = np.zeros((len(iu[0]), n, r))
        rows = np.arange(len(iu[0]))
        J[rows, iu[0], :] += V[iu[1]]
        J[rows, iu[1], :] += V[iu[0]]
        return J.reshape(len(iu[0]), n * r)

    res = least_squares(fun, W.ravel(), jac=jac, bounds=(0.0, np.inf), method="trf", max_nfev=max_nfev,
                        xtol=1e-15, ftol=1e-15, gtol=1e-15)
    x = np.maximum(res.x, 0.0)
    # second stage: fix the (near-)zero entries at zero and solve for the others without bounds
    # (Levenberg–Marquardt converges fast there when an exact factor with that support exists)
    free = x > 1e-6 * max(x.max(), 1e-300)
    if 0 < free.sum() <= len(iu[0]) * 4:
        def fun_free(y):
            z = np.zeros_like(x)
            z[free] = y
            return fun(z)

        def jac_free(y):
            z = np.zeros_like(x)
            z[free] = y
            return jac(z)[:, free]

        try:
            res2 = least_squares(fun_free, x[free], jac=jac_free, method="trf", max_nfev=max_nfev,
                                 xtol=1e-15, ftol=1e-15, gtol=1e-15)
            if np.all(res2.x >= 0) and np.linalg.norm(res2.fun) < np.linalg.norm(fun(x)):
                x = np.zeros_like(x)
                x[free] = res2.x
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - keep the first stage
            pass
    return x.reshape(n, r)


def cp_factor(G, *, tol: float = 1e-8, max_iter: int = 2000, ranks=None, n_starts: int = 5,
              polish: bool = True, max_time: float = 10.0, rng=None) -> CPFactorResult:
    r"""Heuristic completely positive factorisation ``G ≈ W Wᵀ``, ``W ≥ 0`` (docs/design.md §3.1, §5).

    For the lifted DNN relaxation the matrix is ``G ∈ R^{2N×2N}``, ``G ⪰ 0``, ``G ≥ 0``,
    ``G_{i,N+i} = 0``; a nonnegative factor with columns ``w = [u; v]`` gives neurons
    ``z = u − v`` (see :attr:`CPFactorResult.Z`), and an exact factor turns the relaxation's
    matrix into a network.  Deciding complete positivity is NP-hard, so this is a heuristic:
    a failure does not prove ``G ∉ CP``.

    Method: for each rank ``r`` (default: the rank ``k`` of G, then ``⌈1.5k⌉``, ``2k``, ``4k``
    and ``n(n+1)/2``, capped) and ``n_starts`` random orthogonal starts, the Groetzner–Dür
    alternating projections (*A factorization method for completely positive matrices*, LAA
    2020) look for an orthogonal Q making an exact factor ``B Q`` nonnegative; the best
    candidate is polished by bounded least squares (scipy ``least_squares``, ``W ≥ 0``).  The
    reported residual is recomputed from the returned factor.

    Parameters
    ----------
    G : array_like, shape (n, n)
        Symmetric, doubly nonnegative.
    tol : float
        Success when ``‖G − WWᵀ‖_F / ‖G‖_F ≤ tol``.
    max_iter : int
        Alternating-projection iterations per start.
    ranks : sequence of int, optional
        Ranks (numbers of columns) to try, each ≥ rank G.
    n_starts : int
        Random starts per rank.
    polish : bool
        Run the bounded least-squares polish on the best candidate of each rank (skipped when
        ``n² · n·r`` is too large).
    max_time : float
        Time budget in seconds; when it runs out the best factor so far is returned (and the
        message says so).
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    CPFactorResult
    """
    G = as_matrix(G, "G")
    n = G.shape[0]
    if G.shape != (n, n):
        raise ValueError(f"G: expected a square matrix, got shape {G.shape}")
    scale = np.max(np.abs(G))
    if not np.allclose(G, G.T, rtol=0, atol=1e-10 * max(scale, 1e-300)):
        raise ValueError("G: expected a symmetric matrix")
    G = (G + G.T) / 2
    rng = np.random.default_rng(rng)
    if scale == 0:
        return CPFactorResult(np.zeros((n, 0)), 0.0, True, "G = 0: the empty factor", 0)
    lam, Qe = np.linalg.eigh(G)
    if lam[0] < -1e-8 * lam[-1] or G.min() < -1e-8 * scale:
        return CPFactorResult(
            np.zeros((n, 0)), 1.0, False,
            f"G is not doubly nonnegative (min eigenvalue {lam[0]:.2e}, min entry {G.min():.2e}), hence not CP", 0,
        )
    k = int(np.sum(lam > 1e-12 * lam[-1]))
    B = Qe[:, -k:] * np.sqrt(lam[-k:])
    if ranks is None:
        cap = n * (n + 1) // 2
        ranks = sorted({min(max(k, rr), cap) for rr in (k, int(np.ceil(1.5 * k)), 2 * k, 4 * k, cap)})
    ranks = [int(rr) for rr in ranks]
    if any(rr < k for rr in ranks):
        raise ValueError(f"ranks: every rank must be ≥ rank G = {k}, got {ranks}")
    nG = np.linalg.norm(G)

    def resid(W):
        return float(np.linalg.norm(G - W @ W.T) / nG)

    deadline = time.perf_counter() + float(max_time)
    best_W, best_res, tries, timed_out = None, np.inf, 0, False
    for r in ranks:
        cands = []
        for _ in range(n_starts):
            tries += 1
            W = _gd_rotation(B, r, rng, max_iter, 1e-14, deadline)
            cands.append((resid(W), W))
            if cands[-1][0] <= tol or time.perf_counter() > deadline:
                break
        res, W = min(cands, key=lambda c: c[0])
        if res > tol and polish and n * n * n * r <= 2_000_000 and time.perf_counter() < deadline:
            Wp = _polish(G, W, max_nfev=100)
            rp = resid(Wp)
            if rp < res:
                res, W = rp, Wp
        if res < best_res:
            best_res, best_W = res, W
        if best_res <= tol:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            break
    keep = np.linalg.norm(best_W, axis=0) > 0
    W = best_W[:, keep]
    res = resid(W)
    if res <= tol:
        msg = f"nonnegative factor with {W.shape[1]} columns, relative residual {res:.1e}"
    else:
        msg = (
            f"no nonnegative factor found to tol={tol:g}: best relative residual {res:.1e} over "
            f"{tries} starts with ranks {ranks}"
            + (f" (stopped at the time budget max_time={max_time:g} s)" if timed_out else "")
            + "; G may not be completely positive (the lifted "
            "relaxation is then not tight: report its lower bound only), or the heuristic failed"
        )
    return CPFactorResult(W, res, bool(res <= tol), msg, tries)


# ---------------------------------------------------------------------------------------------
# bounds on Rank_σ
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RankBounds:
    r"""Bounds on ``Rank_σ(K, K^σ)``, the fewest neurons reproducing a pair (docs/design.md §5).

    Attributes
    ----------
    lower : int
    upper : int or None
        ``None`` when no decomposition was given.
    lower_reason, upper_reason : str
        Which argument gave each bound, in words.
    """

    lower: int
    upper: int | None
    lower_reason: str
    upper_reason: str


def _psd_rank(M: np.ndarray, rtol: float) -> int:
    lam = np.linalg.eigvalsh((M + M.T) / 2)
    top = np.max(np.abs(lam)) if lam.size else 0.0
    return int(np.sum(np.abs(lam) > rtol * top)) if top > 0 else 0


def _fooling_set(adj: np.ndarray, rng, n_orders: int = 8) -> int:
    r"""Largest set found greedily of edges no two of which lie in one clique.

    Two edges lie in a common clique iff their (up to four) endpoints are pairwise adjacent.
    Each clique covers at most one edge of such a set, so its size is a lower bound on the
    edge clique cover number.  For triangle-free graphs every edge set qualifies.
    """
    A = adj.copy()
    np.fill_diagonal(A, True)
    I, J = np.nonzero(np.triu(adj, 1))
    m = len(I)
    if m == 0:
        return 0
    deg = adj.sum(axis=1)
    orders = [np.argsort(deg[I] + deg[J], kind="stable")]
    orders += [rng.permutation(m) for _ in range(n_orders - 1)]
    best = 0
    for order in orders:
        Fi, Fj = np.zeros(m, dtype=int), np.zeros(m, dtype=int)
        size = 0
        for e in order:
            i, j = I[e], J[e]
            if size:
                fi, fj = Fi[:size], Fj[:size]
                if np.any(A[i, fi] & A[i, fj] & A[j, fi] & A[j, fj]):
                    continue
            Fi[size], Fj[size] = i, j
            size += 1
        best = max(best, size)
        if best == m:
            break
    return best


def rank_bounds(K, K_sigma, *, activation, beta: float = 0.0, Z=None, rtol: float = 1e-9) -> RankBounds:
    r"""Lower and upper bounds on ``Rank_σ(K, K^σ)`` (docs/design.md §5–§6, paper §4.2).

    Lower bound: the largest of
    ``rank K`` and ``rank(K^σ − β²11ᵀ)`` (each neuron adds a rank-one term to both), and, when
    σ has one zero slope (ReLU-like: ``σ(z)`` is sign-definite), a clique-cover bound: each
    neuron's ``σ(z)σ(z)ᵀ`` is nonnegative with the support of a clique, so the neurons cover the
    edges of the support graph of ``K^σ − β²11ᵀ`` by cliques.  A greedy *fooling set* (edges no
    two of which lie in a common clique) bounds the edge clique cover number from below (it is
    the number of edges for triangle-free graphs, e.g. ``N²/4`` in the tight example of §6);
    every vertex with a positive diagonal and no edge needs a neuron of its own.

    Upper bound: the number of neurons of a decomposition, from ``Z`` (reduced further by
    :func:`decompose`), else ``None``.

    Parameters
    ----------
    K, K_sigma : array_like, shape (N, N)
        The pair; ``K_sigma`` includes ``β²11ᵀ`` (as a layer's ``K_ℓ^σ`` does).
    activation : Activation or str
        Positively homogeneous σ.
    beta : float
        The bias amount β.
    Z : array_like, shape (m, N), optional
        Neurons as rows with ``ZᵀZ = K`` and ``σ(Z)ᵀσ(Z) = K^σ − β²11ᵀ``.
    rtol : float
        Relative tolerance for numerical ranks and for the support (nonzero entries).

    Returns
    -------
    RankBounds
    """
    act = require_homogeneous(activation)
    K = as_matrix(K, "K")
    Ks = as_matrix(K_sigma, "K_sigma")
    N = K.shape[0]
    if K.shape != (N, N) or Ks.shape != (N, N):
        raise ValueError(f"K, K_sigma: expected two square matrices of one shape, got {K.shape} and {Ks.shape}")
    beta = check_beta(beta)
    S = Ks - beta**2 * np.ones((N, N))
    rK, rS = _psd_rank(K, rtol), _psd_rank(S, rtol)
    bounds = [(rK, f"rank K = {rK}"), (rS, f"rank(K^σ − β²11ᵀ) = {rS}")]
    if act.a * act.b == 0 and (act.a != 0 or act.b != 0):
        top = np.max(np.abs(S))
        if top > 0:
            nz = np.abs(S) > rtol * top
            adj = nz.copy()
            np.fill_diagonal(adj, False)
            adj = adj & adj.T
            fool = _fooling_set(adj, np.random.default_rng(0))
            isolated = int(np.sum(np.diag(nz) & ~adj.any(axis=1)))
            n_edges = int(np.triu(adj, 1).sum())
            bounds.append((
                fool + isolated,
                f"clique-cover bound {fool + isolated} (a fooling set of {fool} of the {n_edges} edges "
                f"of the support graph of K^σ − β²11ᵀ, plus {isolated} isolated vertices)",
            ))
    lower, best = max(bounds, key=lambda b: b[0])
    lower_reason = best + "; the largest of: " + ", ".join(b[1] for b in bounds)
    if Z is None:
        return RankBounds(int(lower), None, lower_reason, "no decomposition given")
    Z = as_matrix(Z, "Z")
    if Z.shape[1] != N:
        raise ValueError(f"Z: expected shape (m, {N}) (neurons as rows), got {Z.shape}")
    eK = _rel_err(Z.T @ Z, K)
    eS = _rel_err(act(Z).T @ act(Z), S)
    if max(eK, eS) > 1e-6:
        raise ValueError(
            f"Z: the neurons do not reproduce the pair (relative errors {eK:.1e} on K, {eS:.1e} on "
            "K^σ − β²11ᵀ); expected ZᵀZ = K and σ(Z)ᵀσ(Z) = K^σ − β²11ᵀ"
        )
    m = int(np.sum(np.linalg.norm(Z, axis=1) > 0))
    dec = decompose(Z, activation=act)
    if dec.residual <= 1e-8 and dec.n_after < m:
        upper, why = dec.n_after, f"{dec.n_after} neurons after Carathéodory reduction of the {m} given"
    else:
        upper, why = m, f"{m} nonzero neurons given"
    return RankBounds(int(lower), int(upper), lower_reason, why)


def _refit(Znew: np.ndarray, Zs_prev: np.ndarray) -> np.ndarray:
    """``W = Znew (Zs_prev)^+`` (paper convention: neurons as rows), by :func:`min_norm_map`."""
    return min_norm_map(Zs_prev.T, Znew.T)
