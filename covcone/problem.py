r"""The training problem, validated once at the boundary (docs/design.md §1).

``Problem`` holds the data (X, Y), the depth L, the positively homogeneous σ, λ, β and the cost
of the L2-regularised loss ``C(Z_L) + λ Σ_ℓ ‖W_ℓ‖_F²`` of Jacot, Golikov, Hongler & Gabriel
(NeurIPS 2022, §2), together with the derived objects the convex reformulations start from:
the input matrix ``A = [Xᵀ; β1ᵀ]`` (docs/design.md §3.4) and ``K_0^σ = XᵀX + β²11ᵀ`` (paper Prop. 5).

Samples are **rows** at this API (``X`` is (N, d), ``Y`` is (N, k)); ``A`` and the N×N
covariances follow the paper's convention (columns = data points).
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np

from .activations import Activation, require_homogeneous
from .costs import check_cost
from .validation import as_matrix, check_beta, check_lam, check_targets

__all__ = ["Problem"]


def _readonly(A: np.ndarray) -> np.ndarray:
    A = np.array(A)
    A.flags.writeable = False
    return A


@dataclass(frozen=True, eq=False, repr=False)
class Problem:
    r"""An L2-regularised training problem with a positively homogeneous σ.

    Parameters
    ----------
    X : array (N, d)
        Inputs, samples as rows; finite.
    Y : array (N, k), or (N,)
        Targets.  For ``"mse"`` / ``"interpolate"`` a vector becomes one column.  For
        ``"cross_entropy"``: integer labels 0..k−1 (converted to one-hot and kept in
        ``labels``) or an (N, k) matrix with rows on the probability simplex.
    depth : int
        L ≥ 2, the number of weight matrices.
    activation : str, pair (a, b) or Activation
        A positively homogeneous σ (relu, leaky_relu, absolute, linear, homogeneous(a, b)):
        the covariance cone needs σ(tx) = tσ(x) for t ≥ 0 (paper §2).
    lam : float or None
        λ > 0 for ``"mse"`` and ``"cross_entropy"``; must be ``None`` for ``"interpolate"``
        (the loss is then the representation cost R(X, Y) under Z_L = Y).
    beta : float
        β ≥ 0, the constant appended to each layer's input (the bias amount); default 1 (biases,
        as in torch's ``nn.Linear``), the same default as the CLI and the estimators.
    cost : {"mse", "cross_entropy", "interpolate"}
        See :mod:`covcone.costs`.
    n_classes : int or None
        Number of classes k when ``Y`` holds labels (default: largest label + 1).

    Attributes
    ----------
    labels : array (N,) of int or None
        The class labels for cross-entropy (given, or read off one-hot rows), else ``None``.

    Notes
    -----
    Arrays are stored as read-only float copies; the object is immutable.
    """

    X: np.ndarray
    Y: np.ndarray
    depth: int
    activation: Activation
    lam: float | None
    beta: float
    cost: str
    labels: np.ndarray | None

    def __init__(self, X, Y, *, depth: int = 2, activation="relu", lam=None, beta: float = 1.0,
                 cost: str = "mse", n_classes: int | None = None):
        cost = check_cost(cost, "cost")
        X = as_matrix(X, "X")
        N = X.shape[0]
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
            raise ValueError(f"depth: expected an integer L ≥ 2, got {depth!r}")
        if depth < 2:
            raise ValueError(f"depth: expected L ≥ 2 (depth 1 is a linear model), got {depth}")
        act = require_homogeneous(activation, "activation")
        beta = check_beta(beta, "beta")
        if beta > 1e100:
            raise ValueError(f"beta: expected β ≤ 1e100 (larger values overflow float64 in the loss), got {beta:g}")
        if cost == "interpolate":
            if lam is not None:
                raise ValueError(
                    f"lam: cost='interpolate' fits Z_L = Y exactly and has no λ; expected lam=None, got {lam!r}"
                )
        else:
            lam = check_lam(lam, "lam")
        if n_classes is not None:
            if cost != "cross_entropy":
                raise ValueError(f"n_classes: only meaningful with cost='cross_entropy', got cost={cost!r}")
            if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
                raise ValueError(f"n_classes: expected a positive integer, got {n_classes!r}")
            n_classes = int(n_classes)
        labels = None
        if cost == "cross_entropy":
            Yraw = np.asarray(Y)
            Ymat = check_targets(Y, N, cost, k=n_classes, name="Y")
            if Yraw.ndim == 1:
                labels = Yraw.astype(int)
            elif np.all((Ymat == 0) | (Ymat == 1)):
                labels = np.argmax(Ymat, axis=1)
        else:
            Ymat = check_targets(Y, N, cost, name="Y")
        object.__setattr__(self, "X", _readonly(X))
        object.__setattr__(self, "Y", _readonly(Ymat.astype(float)))
        object.__setattr__(self, "depth", int(depth))
        object.__setattr__(self, "activation", act)
        object.__setattr__(self, "lam", lam)
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "cost", cost)
        object.__setattr__(self, "labels", None if labels is None else _readonly(labels))

    # -- sizes -----------------------------------------------------------------------------
    @property
    def N(self) -> int:
        """Number of data points."""
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Input dimension (without the β row)."""
        return self.X.shape[1]

    @property
    def k(self) -> int:
        """Output dimension (number of classes for cross-entropy)."""
        return self.Y.shape[1]

    # -- derived matrices (paper convention) ------------------------------------------------
    @property
    def A(self) -> np.ndarray:
        r"""The d'×N input matrix ``Z_0^σ = [Xᵀ; β1ᵀ]`` (docs/design.md §3.4), columns = data points.

        Without the β row when β = 0 (then d' = d, else d' = d + 1).
        """
        if self.beta == 0.0:
            return self.X.T.copy()
        return np.vstack([self.X.T, np.full((1, self.N), self.beta)])

    @functools.cached_property
    def basis(self) -> tuple:
        r"""The whitened input basis ``(U, B)`` with ``A = U B``, ``B = S_r V_rᵀ`` (r×N, r = the
        input rank), computed once: a unit ``c ∈ R^r`` is the unit first-layer weight ``w = U c``
        and its pre-activation ``z = Bᵀc`` (docs/design.md §3.4)."""
        from .shallow.setup import input_basis

        _, U, B = input_basis(self.X, self.beta)
        U.flags.writeable = False
        B.flags.writeable = False
        return U, B

    @property
    def input_rank(self) -> int:
        """r = rank of ``[Xᵀ; β1ᵀ]``."""
        return self.basis[1].shape[0]

    @property
    def K0_sigma(self) -> np.ndarray:
        r"""``K_0^σ = XᵀX + β²11ᵀ = AᵀA`` (N×N), the input covariance (paper Prop. 5)."""
        return self.X @ self.X.T + self.beta**2 * np.ones((self.N, self.N))

    # -- evaluation --------------------------------------------------------------------------
    def loss(self, network) -> float:
        r"""The parameter-space loss ``C(Z_L) + λ Σ‖W_ℓ‖²`` of ``network`` on this problem, by a
        plain forward pass (the independent path of docs/design.md §4).

        The network must match the problem: same depth, σ slopes, β and in/out dimensions
        (``ValueError`` naming the mismatch otherwise).
        """
        if network.depth != self.depth:
            raise ValueError(f"network: expected depth {self.depth}, got {network.depth}")
        act = network.activation
        if (act.a, act.b) != (self.activation.a, self.activation.b):
            raise ValueError(f"network: expected activation {self.activation.name!r}, got {act.name!r}")
        if network.beta != self.beta:
            raise ValueError(f"network: expected beta {self.beta:g}, got {network.beta:g}")
        widths = network.widths
        if widths[0] != self.d or widths[-1] != self.k:
            raise ValueError(f"network: expected widths ({self.d}, …, {self.k}), got {widths}")
        return network.loss(self.X, self.Y, lam=self.lam, cost=self.cost)

    def __repr__(self) -> str:
        lam = "None" if self.lam is None else f"{self.lam:g}"
        return (
            f"Problem(N={self.N}, d={self.d}, k={self.k}, depth={self.depth}, "
            f"activation={self.activation.name!r}, lam={lam}, beta={self.beta:g}, cost={self.cost!r})"
        )
