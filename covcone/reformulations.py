r"""The two reformulations of the L2-regularised loss (paper §3.1 and Prop. 5; docs/design.md §2).

Jacot, Golikov, Hongler & Gabriel, *Feature Learning in L2-regularized DNNs: Attraction/Repulsion
and Sparsity*, NeurIPS 2022 (arXiv 2205.15809).

**Hidden representations (any σ, paper §3.1).**  The min-norm weights mapping ``Z_{ℓ-1}^σ`` to
``Z_ℓ`` are ``W_ℓ = Z_ℓ (Z_{ℓ-1}^σ)^+``, so the parameter loss, minimised over the weights that
produce given pre-activations, is

    L^r(Z_1, …, Z_L) = C(Z_L) + λ Σ_ℓ ‖Z_ℓ (Z_{ℓ-1}^σ)^+‖_F²,

subject to the range conditions ``Im Z_ℓᵀ ⊂ Im (Z_{ℓ-1}^σ)ᵀ`` (otherwise no weights produce
``Z_ℓ`` and the pseudo-inverse would silently return a wrong number).  The derivative of the ℓ-th
term in ``Z_ℓ`` is the *attraction* force and that of the (ℓ+1)-th term the *repulsion* force.

**Covariances (positively homogeneous σ, paper Prop. 5).**  With ``K_ℓ = Z_ℓᵀZ_ℓ`` and
``K_ℓ^σ = (Z_ℓ^σ)ᵀZ_ℓ^σ`` (both N×N), ``K_0^σ = XᵀX + β²11ᵀ`` and ``K_L = Z_LᵀZ_L``,

    L^k = C(Z_L) + λ Σ_{ℓ=1..L} Tr[K_ℓ (K_{ℓ-1}^σ)^+],   Im K_ℓ ⊂ Im K_{ℓ-1}^σ.

Conventions
-----------
The paper stores data points as columns; this module's public functions take **samples as
rows**, like :class:`covcone.network.Network`: ``X`` is ``(N, n_0)``, each ``Z_ℓ`` is ``(N, n_ℓ)``
(the transpose of the paper's ``Z_ℓ``) and the returned weights are ``(n_ℓ, n_{ℓ-1} + 1)`` with the
bias column last, exactly as ``Network`` expects.  The N×N covariances are the same in both
conventions: ``K_ℓ = Z_ℓ Z_ℓᵀ`` for the row-form ``Z_ℓ``.

Numerical rank and range
------------------------
Pseudo-inverses are computed from an SVD (of ``Z^σ``) or an eigendecomposition (of ``K^σ``)
that discards singular values below ``rank_rtol`` times the largest (default: numpy's
``matrix_rank`` tolerance ``max(shape)·eps``, and its square-root-equivalent for Gram matrices).
The range condition is then checked with the relative violation
``‖(I − Π) Z_ℓ‖_F / ‖Z_ℓ‖_F`` (``Π`` the projector onto the retained range), which for a
covariance is ``√(Tr[Q K Q] / Tr K)`` with ``Q = I − Π``; above ``range_tol`` a
:class:`RangeConditionError` names the layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation, get_activation, require_homogeneous, sigmoid, tanh
from .costs import check_cost, cost_value
from .exceptions import RangeConditionError  # noqa: F401 (public here too)
from .validation import as_matrix, check_beta, check_lam, check_targets

__all__ = [
    "RangeConditionError",
    "Covariances",
    "min_norm_weights",
    "representation_loss",
    "forces",
    "covariances",
    "covariance_loss",
]

RANGE_TOL = 1e-6
"""Default relative violation of a range condition above which :class:`RangeConditionError`
is raised."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _with_bias(H: np.ndarray, beta: float) -> np.ndarray:
    """Row form of ``Z^σ = [H; β1ᵀ]``: ``[H, β1]`` of shape (N, n + 1)."""
    return np.hstack([H, np.full((H.shape[0], 1), beta)])


def min_norm_map(H: np.ndarray, Z: np.ndarray) -> np.ndarray:
    r"""``W = Zᵀ (Hᵀ)^+`` in row form: the min-norm ``W`` with ``H Wᵀ = Z`` (least squares if none).

    The one min-norm refit (paper §3.1: ``W_ℓ = Z_ℓ (Z_{ℓ-1}^σ)^+``), used by the deep solver,
    the compression and the gradient starts; ``H`` is ``(N, n_in)``, ``Z`` is ``(N, n_out)``.
    """
    sol, *_ = np.linalg.lstsq(H, Z, rcond=None)
    return sol.T


def _svd_range(B: np.ndarray, rank_rtol: float | None):
    """``B = U S Vᵀ`` truncated to the numerical rank: returns (U_r, s_r, V_r)."""
    U, s, Vt = np.linalg.svd(B, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return U[:, :0], s[:0], Vt[:0].T
    rtol = max(B.shape) * np.finfo(float).eps if rank_rtol is None else rank_rtol
    r = int(np.sum(s > rtol * s[0]))
    return U[:, :r], s[:r], Vt[:r].T


def _psd_range(K: np.ndarray, rank_rtol: float | None):
    """Eigenpairs of the symmetric PSD ``K`` above the numerical rank threshold, and a basis of
    the discarded (numerical kernel) eigenvectors: (U_r, λ_r, U_⊥).

    Eigenvalues of a Gram matrix carry an absolute error of order ``N·eps·λ_max`` (they are
    squares of singular values), so the default threshold is ``10·N·eps·λ_max``."""
    K = 0.5 * (K + K.T)
    lam, U = np.linalg.eigh(K)
    lmax = max(float(lam[-1]), 0.0) if lam.size else 0.0
    if lmax == 0.0:
        return U[:, :0], lam[:0], U
    rtol = 10 * K.shape[0] * np.finfo(float).eps if rank_rtol is None else rank_rtol
    keep = lam > rtol * lmax
    return U[:, keep], lam[keep], U[:, ~keep]


def _relative(res_sq: float, total_sq: float) -> float:
    if total_sq <= 0.0:
        return 0.0
    return float(np.sqrt(max(res_sq, 0.0) / total_sq))


def _check_representations(Zs, X, activation, beta):
    X = as_matrix(X, "X")
    N = X.shape[0]
    if isinstance(Zs, np.ndarray) or len(Zs) == 0:
        raise ValueError(
            "Zs: expected a non-empty list [Z_1, …, Z_L] of (N, n_ℓ) arrays (samples as rows), "
            f"got {type(Zs).__name__}"
        )
    out = []
    for i, Z in enumerate(Zs):
        Z = as_matrix(Z, f"Zs[{i}]")
        if Z.shape[0] != N:
            raise ValueError(f"Zs[{i}]: expected shape ({N}, n_{i + 1}) (one row per sample of X), got {Z.shape}")
        out.append(Z)
    return out, X, get_activation(activation), check_beta(beta)


def _sigma_layers(Zs, X, act: Activation, beta: float) -> list:
    """Row forms of ``Z_0^σ, …, Z_{L-1}^σ``."""
    return [_with_bias(X, beta)] + [_with_bias(act(Z), beta) for Z in Zs[:-1]]


def _derivative(act: Activation, Z: np.ndarray) -> np.ndarray:
    """σ'(Z) elementwise: slopes for homogeneous σ (a at 0, the a.e. derivative), closed forms
    for sigmoid and tanh, a central difference for any other smooth σ."""
    if act.homogeneous:
        return act.slopes(Z)
    if act.fn is sigmoid.fn:
        s = sigmoid(Z)
        return s * (1.0 - s)
    if act.fn is tanh.fn:
        return 1.0 - np.tanh(Z) ** 2
    h = 1e-6 * (1.0 + np.abs(Z))
    return (act(Z + h) - act(Z - h)) / (2 * h)


def _check_cost_args(cost, lam):
    check_cost(cost)
    if cost == "interpolate":
        if lam is not None:
            raise ValueError("lam: cost='interpolate' has no λ (the loss is the representation cost, subject to Z_L = Y); pass lam=None")
        return 1.0
    return check_lam(lam)


# --------------------------------------------------------------------------------------------
# reformulation 1: hidden representations
# --------------------------------------------------------------------------------------------
def _layer_terms(Zs, Bs, *, check_range: bool, range_tol: float, rank_rtol):
    """For each layer: (min-norm weight row form Wᵀ = B^+ Z, its squared norm)."""
    out = []
    for ell, (Z, B) in enumerate(zip(Zs, Bs), start=1):
        U, s, V = _svd_range(B, rank_rtol)
        C = U.T @ Z  # coordinates of Z in the range of B
        if check_range:
            viol = _relative(float(np.sum((Z - U @ C) ** 2)), float(np.sum(Z**2)))
            if viol > range_tol:
                raise RangeConditionError(ell, viol, range_tol)
        Wt = V @ (C / s[:, None]) if s.size else np.zeros((B.shape[1], Z.shape[1]))
        out.append(Wt)
    return out


def min_norm_weights(Zs, X, *, activation, beta: float, check_range: bool = True,
                     range_tol: float = RANGE_TOL, rank_rtol: float | None = None) -> list:
    r"""The min-norm weights ``W_ℓ = Z_ℓ (Z_{ℓ-1}^σ)^+`` that produce ``Zs`` (paper §3.1).

    Parameters
    ----------
    Zs : list of arrays
        ``[Z_1, …, Z_L]``, each ``(N, n_ℓ)`` with samples as rows (the transposes of the
        paper's ``Z_ℓ``); the last is the output ``Z_L``.
    X : array, shape (N, n_0)
        Inputs, samples as rows.
    activation : Activation or str
        σ (any; homogeneity is not needed here).
    beta : float
        β ≥ 0: ``Z_0^σ = [X; β1ᵀ]`` and ``Z_ℓ^σ = [σ(Z_ℓ); β1ᵀ]``.
    check_range : bool
        Raise :class:`RangeConditionError` when ``Im Z_ℓᵀ ⊄ Im (Z_{ℓ-1}^σ)ᵀ`` (then no weights
        produce ``Z_ℓ`` and the returned ones would not reproduce ``Zs``).
    range_tol, rank_rtol : float
        Relative range-violation tolerance; relative singular-value cut-off of the
        pseudo-inverse (see the module docstring).

    Returns
    -------
    list of arrays
        ``W_ℓ`` of shape ``(n_ℓ, n_{ℓ-1} + 1)``, bias column last (as in
        :class:`~covcone.network.Network`).  With β = 0 the bias column is zero.
    """
    Zs, X, act, beta = _check_representations(Zs, X, activation, beta)
    Bs = _sigma_layers(Zs, X, act, beta)
    Wts = _layer_terms(Zs, Bs, check_range=check_range, range_tol=range_tol, rank_rtol=rank_rtol)
    return [Wt.T.copy() for Wt in Wts]


def representation_loss(Zs, X, Y, *, activation, beta: float, lam=None, cost: str = "mse",
                        check_range: bool = True, range_tol: float = RANGE_TOL,
                        rank_rtol: float | None = None) -> float:
    r"""The hidden-representation loss ``L^r = C(Z_L) + λ Σ_ℓ ‖Z_ℓ (Z_{ℓ-1}^σ)^+‖_F²`` (paper §3.1).

    Equal to the parameter loss ``C(Z_L) + λ Σ ‖W_ℓ‖²`` of the min-norm weights
    (:func:`min_norm_weights`), hence ≤ the parameter loss of any network with these
    pre-activations.  Valid for any σ, including sigmoid and tanh.

    Parameters
    ----------
    Zs, X, activation, beta, check_range, range_tol, rank_rtol
        As in :func:`min_norm_weights` (samples as rows).
    Y : array
        Targets ``(N, n_L)``; integer labels ``(N,)`` for ``cost="cross_entropy"``.
    lam : float or None
        λ > 0 for ``"mse"`` and ``"cross_entropy"``; must be ``None`` for ``"interpolate"``.
    cost : {"mse", "cross_entropy", "interpolate"}
        For ``"interpolate"`` the value is ``Σ_ℓ ‖Z_ℓ (Z_{ℓ-1}^σ)^+‖²`` when ``Z_L = Y``
        (relative error ≤ 1e-7) and ``inf`` otherwise, as in :meth:`Network.loss`.

    Raises
    ------
    RangeConditionError
        When ``check_range`` and a range condition fails (the true value is +∞).
    """
    lam = _check_cost_args(cost, lam)
    Zs, X, act, beta = _check_representations(Zs, X, activation, beta)
    Y = check_targets(Y, X.shape[0], cost, k=Zs[-1].shape[1])
    Bs = _sigma_layers(Zs, X, act, beta)
    Wts = _layer_terms(Zs, Bs, check_range=check_range, range_tol=range_tol, rank_rtol=rank_rtol)
    reg = float(sum(np.sum(Wt**2) for Wt in Wts))
    return cost_value(Zs[-1], Y, cost) + lam * reg


def forces(Zs, X, *, activation, beta: float, check_range: bool = True,
           range_tol: float = RANGE_TOL, rank_rtol: float | None = None) -> list:
    r"""The attraction and repulsion forces on each hidden representation (paper §3.1, Fig. 1).

    For each hidden layer ℓ = 1, …, L−1 (paper convention, ``Z_ℓ`` of shape n_ℓ×N):

    - attraction ``∂/∂Z_ℓ ‖Z_ℓ (Z_{ℓ-1}^σ)^+‖_F² = 2 Z_ℓ (K_{ℓ-1}^σ)^+``
      (``(Z^σ)^+ (Z^σ)^{+ᵀ} = ((Z^σ)ᵀZ^σ)^+``);
    - repulsion ``∂/∂Z_ℓ ‖Z_{ℓ+1} (Z_ℓ^σ)^+‖_F² = −2 σ'(Z_ℓ) ⊙ [W̃_{ℓ+1}ᵀ Z_{ℓ+1} (K_ℓ^σ)^+]``,
      with ``W_{ℓ+1} = Z_{ℓ+1}(Z_ℓ^σ)^+`` the min-norm weights and ``W̃`` them without the bias
      column.

    Derivation of the repulsion: write ``B = Z_ℓ^σ``, ``F = Z_{ℓ+1}``, ``M = F B^+``.  By the
    Golub–Pereyra formula (constant rank) ``dB^+ = −B^+ dB B^+ + B^+B^{+ᵀ} dBᵀ (I − BB^+)
    + (I − B^+B) dBᵀ B^{+ᵀ}B^+``.  In ``d‖FB^+‖² = 2⟨M, F dB^+⟩`` the third term vanishes
    because ``F(I − B^+B) = 0`` (the range condition) and the second because
    ``(I − BB^+)Mᵀ = 0``, leaving ``∇_B = −2 MᵀM B^{+ᵀ} = −2 Mᵀ F (K_ℓ^σ)^+``; the β row of
    ``B`` does not depend on ``Z_ℓ`` and the chain rule through σ gives the formula.  It is the
    true gradient where the rank of ``Z_ℓ^σ`` is locally constant (e.g. when ``Z_ℓ^σ`` has
    full row or column rank) and σ is differentiable; for ReLU-type σ it uses σ' a.e. (slope
    ``a`` at 0).

    With these, ``∇_{Z_ℓ} L^r = λ (attraction_ℓ + repulsion_ℓ)`` for hidden ℓ.  Both are
    gradients (as in the paper's definition); gradient descent moves along their negatives —
    the first pulls ``Z_ℓ`` towards 0 in the metric of ``K_{ℓ-1}^σ`` (attraction), the second
    pushes the representations apart.

    Parameters
    ----------
    Zs, X, activation, beta, check_range, range_tol, rank_rtol
        As in :func:`min_norm_weights` (samples as rows).

    Returns
    -------
    list of (attraction, repulsion)
        One pair per hidden layer ℓ = 1..L−1, each array of shape ``(N, n_ℓ)`` (the transpose
        of the paper's n_ℓ×N matrices).  Empty for L = 1.
    """
    Zs, X, act, beta = _check_representations(Zs, X, activation, beta)
    Bs = _sigma_layers(Zs, X, act, beta)
    # min-norm weights (row form Wᵀ = B^+ Z) checks every range condition; the repulsion
    # formula needs them all
    Wts = _layer_terms(Zs, Bs, check_range=check_range, range_tol=range_tol, rank_rtol=rank_rtol)
    out = []
    for ell in range(1, len(Zs)):
        Z, B_prev, B = Zs[ell - 1], Bs[ell - 1], Bs[ell]
        # (K^σ)^+ Z with K^σ = B Bᵀ (row form): (B Bᵀ)^+ = U S^-2 Uᵀ
        U, s, _ = _svd_range(B_prev, rank_rtol)
        attraction = 2.0 * U @ ((U.T @ Z) / (s**2)[:, None])
        # repulsion, row form: −2 σ'(Z) ⊙ [(K_ℓ^σ)^+ Z_{ℓ+1} W̃_{ℓ+1}]
        U, s, _ = _svd_range(B, rank_rtol)
        F = Zs[ell]
        Wt_next = Wts[ell]  # (n_ℓ + 1, n_{ℓ+1}) = W_{ℓ+1}ᵀ
        KpF = U @ ((U.T @ F) / (s**2)[:, None])
        G = -2.0 * KpF @ Wt_next[:-1].T
        repulsion = _derivative(act, Z) * G
        out.append((attraction, repulsion))
    return out


# --------------------------------------------------------------------------------------------
# reformulation 2: covariances
# --------------------------------------------------------------------------------------------
def _check_square(K, N: int | None, name: str) -> np.ndarray:
    K = as_matrix(K, name)
    if K.shape[0] != K.shape[1] or (N is not None and K.shape[0] != N):
        want = f"({N}, {N})" if N is not None else "(N, N)"
        raise ValueError(f"{name}: expected a square covariance of shape {want}, got {K.shape}")
    scale = max(1.0, float(np.max(np.abs(K))))
    if np.max(np.abs(K - K.T)) > 1e-8 * scale:
        raise ValueError(f"{name}: expected a symmetric matrix, got max |K − Kᵀ| = {np.max(np.abs(K - K.T)):.3g}")
    return 0.5 * (K + K.T)


def _readonly(A: np.ndarray) -> np.ndarray:
    A = np.array(A, dtype=float)
    A.flags.writeable = False
    return A


@dataclass(frozen=True, eq=False)
class Covariances:
    r"""The covariances of a depth-L network on N data points (paper §3.1, Prop. 5).

    Parameters
    ----------
    K0_sigma : array (N, N)
        ``K_0^σ = XXᵀ + β²11ᵀ`` (samples as rows; ``XᵀX + β²11ᵀ`` in the paper's convention).
    pairs : sequence of (K, K_sigma)
        ``(K_ℓ, K_ℓ^σ)`` for the hidden layers ℓ = 1..L−1, each N×N, ``K_ℓ^σ`` including
        ``β²11ᵀ``.  For homogeneous σ these are the points of the cone S of docs/design.md §2.
    Z_L : array (N, n_L)
        The outputs (the cost needs them, not only ``K_L = Z_L Z_Lᵀ``).

    Matrices are validated (square, symmetric, finite; PSD-ness is not checked) and stored as
    read-only copies.
    """

    K0_sigma: np.ndarray
    pairs: tuple
    Z_L: np.ndarray

    def __post_init__(self):
        K0 = _check_square(self.K0_sigma, None, "K0_sigma")
        N = K0.shape[0]
        pairs = []
        for i, pair in enumerate(self.pairs):
            if len(pair) != 2:
                raise ValueError(f"pairs[{i}]: expected a pair (K_ℓ, K_ℓ^σ), got {len(pair)} items")
            K = _check_square(pair[0], N, f"pairs[{i}][0] (K_{i + 1})")
            Ks = _check_square(pair[1], N, f"pairs[{i}][1] (K_{i + 1}^σ)")
            pairs.append((_readonly(K), _readonly(Ks)))
        Z_L = as_matrix(self.Z_L, "Z_L", allow_vector=True)
        if Z_L.shape[0] != N:
            raise ValueError(f"Z_L: expected shape ({N}, n_L) (one row per sample), got {Z_L.shape}")
        object.__setattr__(self, "K0_sigma", _readonly(K0))
        object.__setattr__(self, "pairs", tuple(pairs))
        object.__setattr__(self, "Z_L", _readonly(Z_L))

    @classmethod
    def from_representations(cls, Zs, X, *, activation, beta: float) -> "Covariances":
        r"""The covariances of given pre-activations ``Zs = [Z_1, …, Z_L]`` ((N, n_ℓ) each,
        samples as rows) on inputs ``X`` (N, n_0): ``K_ℓ = Z_ℓZ_ℓᵀ``,
        ``K_ℓ^σ = σ(Z_ℓ)σ(Z_ℓ)ᵀ + β²11ᵀ``.  σ must be positively homogeneous."""
        act = require_homogeneous(activation, "activation")
        Zs, X, act, beta = _check_representations(Zs, X, act, beta)
        N = X.shape[0]
        b2 = beta**2 * np.ones((N, N))
        pairs = []
        for Z in Zs[:-1]:
            S = act(Z)
            pairs.append((Z @ Z.T, S @ S.T + b2))
        return cls(X @ X.T + b2, tuple(pairs), Zs[-1])

    @property
    def N(self) -> int:
        """Number of data points."""
        return self.K0_sigma.shape[0]

    @property
    def depth(self) -> int:
        """L = number of hidden layers + 1."""
        return len(self.pairs) + 1

    @property
    def K_L(self) -> np.ndarray:
        """``K_L = Z_L Z_Lᵀ`` (N×N)."""
        return self.Z_L @ self.Z_L.T

    @property
    def Ks(self) -> list:
        """``[K_1, …, K_L]`` (K_L from the outputs)."""
        return [K for K, _ in self.pairs] + [self.K_L]

    @property
    def K_sigmas(self) -> list:
        """``[K_0^σ, …, K_{L-1}^σ]``."""
        return [self.K0_sigma] + [Ks for _, Ks in self.pairs]


def covariances(network, X) -> Covariances:
    r"""The covariances ``(K_ℓ, K_ℓ^σ)`` of ``network`` on inputs ``X`` (paper Prop. 5).

    Parameters
    ----------
    network : Network
        With a positively homogeneous σ (for other σ the covariances do not determine the loss
        and the cone of docs/design.md §2 does not apply: ``ValueError``).
    X : array (N, n_0)
        Inputs, samples as rows.

    Returns
    -------
    Covariances
        ``K0_sigma = XXᵀ + β²11ᵀ``, pairs ``(Z_ℓZ_ℓᵀ, σ(Z_ℓ)σ(Z_ℓ)ᵀ + β²11ᵀ)`` for ℓ = 1..L−1
        and ``Z_L`` (row form: the paper's ``Z_ℓᵀZ_ℓ``).
    """
    require_homogeneous(network.activation, "network.activation")
    return Covariances.from_representations(
        network.preactivations(X), X, activation=network.activation, beta=network.beta
    )


def covariance_loss(cov: Covariances, Y, *, lam=None, cost: str = "mse", check_range: bool = True,
                    range_tol: float = RANGE_TOL, rank_rtol: float | None = None) -> float:
    r"""The covariance loss ``L^k = C(Z_L) + λ Σ_{ℓ=1..L} Tr[K_ℓ (K_{ℓ-1}^σ)^+]`` (paper Prop. 5).

    Each term is the matrix-fractional function of docs/design.md §2, computed from the eigenpairs of
    ``K_{ℓ-1}^σ`` above the numerical rank threshold.

    Parameters
    ----------
    cov : Covariances
        The pairs, ``K_0^σ`` and ``Z_L`` (``K_L = Z_L Z_Lᵀ``); see :func:`covariances`.
    Y : array
        Targets ``(N, n_L)``; integer labels ``(N,)`` for ``cost="cross_entropy"``.
    lam : float or None
        λ > 0 for ``"mse"`` / ``"cross_entropy"``; ``None`` for ``"interpolate"`` (then the
        value is ``Σ Tr[K_ℓ (K_{ℓ-1}^σ)^+]`` when ``Z_L = Y``, else ``inf``).
    cost : {"mse", "cross_entropy", "interpolate"}
    check_range : bool
        Raise :class:`RangeConditionError` when ``Im K_ℓ ⊄ Im K_{ℓ-1}^σ``, measured by
        ``√(Tr[Q K_ℓ Q] / Tr K_ℓ)`` (Q the projector onto the numerical kernel of ``K_{ℓ-1}^σ``;
        for PSD ``K_ℓ``, ``QK_ℓQ = 0`` is equivalent to the inclusion).
    range_tol, rank_rtol : float
        As in the module docstring (``rank_rtol`` here is relative to the largest eigenvalue).
    """
    if not isinstance(cov, Covariances):
        raise ValueError(f"cov: expected a Covariances (see covcone.reformulations.covariances), got {type(cov).__name__}")
    lam = _check_cost_args(cost, lam)
    Y = check_targets(Y, cov.N, cost, k=cov.Z_L.shape[1])
    reg = 0.0
    for ell, (K, Ksig) in enumerate(zip(cov.Ks, cov.K_sigmas), start=1):
        U, w, Uperp = _psd_range(Ksig, rank_rtol)
        C = U.T @ K @ U
        if check_range:
            viol = _relative(float(np.trace(Uperp.T @ K @ Uperp)), float(np.trace(K)))
            if viol > range_tol:
                raise RangeConditionError(ell, viol, range_tol, what="K")
        reg += float(np.sum(np.diag(C) / w)) if w.size else 0.0
    return cost_value(cov.Z_L, Y, cost) + lam * reg
