r"""Lifted doubly-nonnegative relaxation of the covariance cone (outer → lower bounds).

Implements docs/design.md §3.1 (paper: Jacot et al., NeurIPS 2022, §2, cone S).  Write a neuron as
``z = u − v`` with ``u, v ≥ 0``, ``u∘v = 0`` and ``w = [u; v] ∈ R^{2N}``.  Then

    zzᵀ = E G Eᵀ,   σ(z)σ(z)ᵀ = (au − bv)(au − bv)ᵀ = F G Fᵀ,   G = wwᵀ,
    E = [I, −I],    F = [aI, −bI],

so ``S − (0, β²11ᵀ)`` is the linear image of ``{G ∈ CP_{2N} : G_{i,N+i} = 0}``.  Replacing
``CP_{2N}`` by ``DNN_{2N}`` (``G ⪰ 0``, ``G ≥ 0``) gives an outer SDP relaxation valid for any N
and input dimension, hence a lower bound on the training loss.  It is tight on the N²/4 example
(docs/design.md §6) but 2–32 % loose on random data (the measurements in benchmarks/README.md).

The data-range constraint ``Im K ⊂ Im K_0^σ`` is linear: with ``W`` an orthonormal basis of
``(Im K_0^σ)^⊥`` it reads ``Wᵀ K W = 0`` (equivalent to ``Q K Q = 0``, ``Q = WWᵀ``, for PSD K).
Imposed literally it leaves the SDP without a strictly feasible point and Clarabel fails
(measured); so we apply *facial reduction* instead: for ``G ⪰ 0``,
``Wᵀ E G Eᵀ W = 0 ⟺ G EᵀW = 0 ⟺ G = V H Vᵀ`` with ``V`` an orthonormal basis of
``(Im EᵀW)^⊥`` (2N×(N+r)) and ``H ⪰ 0``.  This is the same set, with a smaller PSD block.
"""
from __future__ import annotations

import os

import numpy as np

from covcone.activations import require_homogeneous

__all__ = ["LiftedCone", "range_complement", "lifted_resources", "require_memory"]


def lifted_resources(N: int) -> tuple[float, float]:
    r"""Rough peak memory (bytes) and seconds of the depth-2 program over this relaxation with N
    points (cvxpy + Clarabel, 2 cores), from measurements at N = 20, 30, 40 (0.26, 0.63, 1.3 GB;
    5.5, 28, 122 s), extrapolated as ``1.3 GB·(N/40)³`` and ``120 s·(N/40)⁵`` — N = 100 was
    killed at 23 GB."""
    x = max(int(N), 1) / 40.0
    return 1.3e9 * x**3, 120.0 * x**5


def available_memory() -> float | None:
    """Bytes of physical memory available now (None where the platform does not say)."""
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES")) * float(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def require_memory(need: float, what: str, how: str = "", hint: str = "") -> None:
    """Raise ``MemoryError`` naming ``what`` and the GB (``how``: the estimate's formula, ``hint``:
    what to do) when ``need`` bytes exceed 80 % of the available memory (nothing where the
    platform does not say)."""
    avail = available_memory()
    if avail is not None and need > 0.8 * avail:
        raise MemoryError(f"{what} needs ≈ {need / 1e9:.2g} GB{how}, more than the {avail / 1e9:.2g} GB "
                          f"available{hint}")


def range_complement(basis, N, *, tol=1e-10):
    r"""Orthonormal basis (N×(N−r)) of the orthogonal complement of ``span(basis)``.

    ``basis`` is an N×r matrix whose columns span the data range (any spanning set), or an N×N
    orthogonal projector onto it."""
    basis = np.asarray(basis, dtype=float)
    if basis.ndim != 2 or basis.shape[0] != N:
        raise ValueError(f"range_basis: expected an array with {N} rows, got shape {basis.shape}")
    U, s, _ = np.linalg.svd(basis, full_matrices=True)
    r = int(np.sum(s > tol * max(s.max(initial=0.0), 1e-300)))
    return U[:, r:]


class LiftedCone:
    r"""Outer DNN relaxation of ``cone{(zzᵀ, σ(z)σ(z)ᵀ)}`` in ``R^{N×N} × R^{N×N}`` (docs/design.md §3.1).

    Parameters
    ----------
    N : int
        Number of data points.
    activation : Activation or spec
        Positively homogeneous σ with slopes (a, b).
    range_basis : array_like, optional
        N×r matrix spanning ``Im K_0^σ`` (the data range), or the N×N projector onto it.  When
        given, ``Wᵀ K W = 0`` is imposed (see module docstring).  ``None``: no range constraint.

    Attributes
    ----------
    G : cvxpy expression (2N×2N)
        The lifted matrix ``[u; v][u; v]ᵀ``: the PSD variable itself without a range
        constraint, else ``V H Vᵀ`` (facial reduction, see module docstring).
    H : cvxpy.Variable (PSD)
        The PSD variable (``H is G`` when there is no range constraint).
    K, K_sigma : cvxpy expressions (N×N)
        ``E G Eᵀ`` and ``F G Fᵀ`` (the latter is ``K^σ − β²11ᵀ``).
    W : ndarray or None
        Orthonormal basis of the complement of the data range.
    """

    #: an outer relaxation: its optimum is a lower bound only
    exact = False

    @classmethod
    def from_basis(cls, B, activation):
        """The :class:`~covcone.cones.base.ConeRepresentation` constructor: ``B`` (r×N) spans the
        data range; the range constraint is imposed when r < N."""
        B = np.asarray(B, dtype=float)
        r, N = B.shape
        return cls(N, activation, range_basis=B.T if r < N else None)

    def __init__(self, N, activation, range_basis=None):
        import cvxpy as cp

        N = int(N)
        if N < 1:
            raise ValueError(f"N: expected a positive integer, got {N}")
        self.N = N
        self.activation = require_homogeneous(activation)
        a, b = self.activation.a, self.activation.b
        self.W = None if range_basis is None else range_complement(range_basis, N)
        if self.W is not None and self.W.shape[1] == 0:
            self.W = None
        if self.W is None:
            self.V = None
            self.H = cp.Variable((2 * N, 2 * N), PSD=True, name="G_lifted")
            self.G = self.H
        else:
            EW = np.vstack([self.W, -self.W])  # Eᵀ W
            self.V = range_complement(EW, 2 * N)
            self.H = cp.Variable((self.V.shape[1], self.V.shape[1]), PSD=True, name="H_lifted")
            self.G = self.V @ self.H @ self.V.T
        G11, G12, G22 = self.G[:N, :N], self.G[:N, N:], self.G[N:, N:]
        G12s = G12 + G12.T
        self.K = G11 - G12s + G22
        self.K_sigma = a * a * G11 - a * b * G12s + b * b * G22
        # G ≥ 0 on the upper triangle only (G is symmetric): half the rows of ``G >= 0``
        iu, ju = np.triu_indices(2 * N)
        self._internal = [cp.vec(self.G, order="C")[iu * 2 * N + ju] >= 0, cp.diag(G12) == 0]
        self._K = None
        self._K_sigma = None

    def constraints(self, K=None, K_sigma_minus_bias=None):
        r"""cvxpy constraints for ``(K, K_sigma_minus_bias)`` in the relaxation.

        Parameters
        ----------
        K, K_sigma_minus_bias : cvxpy expression or array (N×N), optional
            ``None`` skips the corresponding link (use :attr:`K` / :attr:`K_sigma` directly).
        """
        import cvxpy as cp

        cons = list(self._internal)
        if K is not None:
            K = K if isinstance(K, cp.Expression) else cp.Constant(np.asarray(K, dtype=float))
            cons.append(self.K == K)
            self._K = K
        if K_sigma_minus_bias is not None:
            Ks = K_sigma_minus_bias
            Ks = Ks if isinstance(Ks, cp.Expression) else cp.Constant(np.asarray(Ks, dtype=float))
            cons.append(self.K_sigma == Ks)
            self._K_sigma = Ks
        return cons

    def values(self):
        """Solved ``(K, K^σ − β²11ᵀ)`` as numpy arrays."""
        if self.H.value is None:
            raise RuntimeError("LiftedCone: no solution yet (solve a problem using constraints() first)")
        return np.asarray(self.K.value), np.asarray(self.K_sigma.value)

    def residual(self):
        r"""Max absolute violation of the relaxation's constraints at the current values:
        −λ_min(G), −min G, max |G_{i,N+i}|, ‖WᵀKW‖_max and the links to the expressions passed
        to :meth:`constraints`."""
        if self.H.value is None:
            raise RuntimeError("LiftedCone: no solution yet")
        G = np.asarray(self.G.value)
        N = self.N
        res = [max(0.0, -np.linalg.eigvalsh(0.5 * (G + G.T))[0]), max(0.0, -G.min()),
               np.abs(np.diag(G[:N, N:])).max()]
        K, Ks = self.values()
        if self.W is not None:
            res.append(np.abs(self.W.T @ K @ self.W).max())
        if self._K is not None and self._K.value is not None:
            res.append(np.abs(np.asarray(self._K.value) - K).max())
        if self._K_sigma is not None and self._K_sigma.value is not None:
            res.append(np.abs(np.asarray(self._K_sigma.value) - Ks).max())
        return float(max(res))
