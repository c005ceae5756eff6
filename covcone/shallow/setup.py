r"""The depth-2 problem in the form column generation needs, in well-scaled internal units.

docs/design.md §3.4.  With ``A = [Xᵀ; β1ᵀ] = U B`` (thin SVD, rank r) a unit
``c ∈ R^r`` is the unit first-layer weight ``w = U c`` and its feature is ``s(c) = σ(Bᵀc)``.
The group lasso

    P = min C(Σ_j s(c_j) v_jᵀ + β 1 c_0ᵀ) + 2λ Σ_j ‖v_j‖ + λ‖c_0‖²

is solved in internal units: ``B̃ = B/s_B`` (``s_B = ‖B‖₂``), ``Ỹ = Y/s_Y`` (MSE and
interpolation; ``s_Y = 1`` for cross-entropy), a unit bias column.  Substituting
``V = (s_Y/s_B) Ṽ`` and ``c_0 = (s_Y/β) c̃_0`` gives ``P = s_Y² P̃`` with

    P̃ = min C(S̃ Ṽ + 1 c̃_0ᵀ; Ỹ) + 2λ̃ Σ‖ṽ_j‖ + λ̃_0‖c̃_0‖²,   λ̃ = λ/(s_B s_Y),  λ̃_0 = λ/β²,

an exact change of variables (so every bound computed in internal units is a bound on P after
multiplying by ``s_Y²``).  Networks and the reported losses are always in the user's units.
"""
from __future__ import annotations

import numpy as np

from ..network import Network

__all__ = ["GroupLassoSetup", "input_basis", "columns_from_network", "distinct_from"]


def input_basis(X: np.ndarray, beta: float, rtol: float = 1e-10):
    r"""Thin SVD of the input matrix ``A = [Xᵀ; β1ᵀ]`` (d'×N, no β row when β = 0).

    Returns ``(A, U_r, B)`` with ``A = U_r B`` and ``B = S_r V_rᵀ`` (r×N): a unit ``c ∈ R^r``
    is the unit first-layer weight ``w = U_r c`` and its pre-activation is ``z = Bᵀc``.
    """
    X = np.asarray(X, dtype=float)
    A = X.T if beta == 0 else np.vstack([X.T, beta * np.ones((1, X.shape[0]))])
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(S > rtol * max(A.shape) * (S[0] if S.size else 0.0)))
    if r == 0:
        raise ValueError("X: the input matrix [Xᵀ; β1ᵀ] is zero; nothing can be learned (give β > 0 or non-zero X)")
    return A, U[:, :r], S[:r, None] * Vt[:r]


def distinct_from(new: np.ndarray, old: np.ndarray, cos: float = 1.0 - 1e-10) -> np.ndarray:
    """Mask of the rows of ``new`` whose direction is not (up to cosine ``cos``) that of a row of
    ``old``."""
    from ..oracle._kernels import _unit_rows

    if new.shape[0] == 0 or old.shape[0] == 0:
        return np.ones(new.shape[0], dtype=bool)
    return np.max(_unit_rows(new) @ _unit_rows(old).T, axis=1) < cos


def columns_from_network(X: np.ndarray, network: Network) -> np.ndarray:
    """Unit columns c (whitened input basis) of a depth-2 network's hidden neurons, for warm
    starts (``init_columns``)."""
    _, U, _ = input_basis(X, network.beta)
    Win = network.weights[0] if network.beta > 0 else network.weights[0][:, :-1]
    C = Win @ U
    nrm = np.linalg.norm(C, axis=1)
    return C[nrm > 0] / nrm[nrm > 0, None]


class GroupLassoSetup:
    r"""One depth-2 problem, scaled (see the module docstring).

    Built from a :class:`covcone.Problem` (``GroupLassoSetup(problem)``) or, for backwards
    compatibility, from arrays (``GroupLassoSetup(X, Y, activation=, lam=, beta=, cost=)``).

    Attributes
    ----------
    problem : Problem
    X, Y : user data (samples as rows; Y one-hot for cross-entropy)
    U, B : the whitened input basis (user units), ``A = U B``
    Bs, Ys : ``B̃``, ``Ỹ`` (internal units);  ``sB``, ``sY`` their scales
    lam : λ (1 for interpolation);  ``lam_v`` = λ̃, ``lam_0`` = λ̃_0 (inf when β = 0)
    """

    def __init__(self, problem, Y=None, *, activation=None, lam=None, beta=None, cost=None):
        if Y is not None:  # array form
            from ..problem import Problem

            problem = Problem(problem, Y, activation=activation, lam=lam if cost != "interpolate" else None,
                              beta=beta, cost=cost)
        self.problem = problem
        self.X, self.Y = problem.X, problem.Y
        self.activation, self.beta, self.cost = problem.activation, problem.beta, problem.cost
        self.lam = 1.0 if self.cost == "interpolate" else problem.lam
        self.N, self.k = self.Y.shape
        self.U, self.B = problem.basis
        self.r = self.B.shape[0]
        self.sB = float(np.linalg.norm(self.B, 2))
        if self.cost == "cross_entropy":
            self.sY = 1.0
        else:
            rms = float(np.sqrt(np.mean(self.Y**2)))
            self.sY = rms if rms > 0 else 1.0
        self.Bs = self.B / self.sB
        self.Ys = self.Y / self.sY
        self.lam_v = self.lam / (self.sB * self.sY)
        self.lam_0 = self.lam / self.beta**2 if self.beta > 0 else float("inf")

    @property
    def has_bias(self) -> bool:
        return self.beta > 0

    # -- internal units ----------------------------------------------------------------------
    def columns(self, C: np.ndarray) -> np.ndarray:
        r"""Scaled features ``s̃(c) = σ(B̃ᵀc)`` for the rows c of C, as an N×m matrix."""
        return self.activation(self.Bs.T @ C.T)

    def to_user(self, value: float) -> float:
        """A loss (or bound) in internal units → the user's units (× s_Y²)."""
        return float(value) * self.sY**2

    def to_internal(self, value: float) -> float:
        return float(value) / self.sY**2

    # -- networks (user units) -----------------------------------------------------------------
    def network(self, C: np.ndarray, Vs: np.ndarray, c0s: np.ndarray) -> Network:
        """Balanced network from internal-unit outputs ``Ṽ``, ``c̃_0``: W_1 rows √‖v_j‖·w_jᵀ, W_2
        columns v_j/√‖v_j‖, bias column c_0 (``v_j = (s_Y/s_B) ṽ_j``, ``c_0 = (s_Y/β) c̃_0``)."""
        V = Vs * (self.sY / self.sB)
        c0 = c0s * (self.sY / self.beta) if self.has_bias else np.zeros(self.k)
        norms = np.linalg.norm(V, axis=1)
        keep = norms > 0
        C, V, norms = C[keep], V[keep], norms[keep]
        t = np.sqrt(norms)
        Win = C @ self.U.T  # n × d'
        if self.beta == 0:
            Win = np.hstack([Win, np.zeros((Win.shape[0], 1))])
        W1 = t[:, None] * Win
        W2 = np.hstack([(V / t[:, None]).T, c0[:, None]])
        if W1.shape[0] == 0:  # the zero network: one inert neuron keeps shapes valid
            W1 = np.zeros((1, self.X.shape[1] + 1))
            W2 = np.hstack([np.zeros((self.k, 1)), c0[:, None]])
        return Network([W1, W2], self.activation, self.beta)

    def loss(self, net: Network) -> float:
        """The forward-pass loss in the user's units (the independent check of every upper bound)."""
        return self.problem.loss(net)

    def bias_only(self) -> np.ndarray | None:
        r"""``c̃_0`` of the best network without hidden neurons (MSE; None for other costs)."""
        if self.cost != "mse":
            return None
        if not self.has_bias:
            return np.zeros(self.k)
        return self.Ys.mean(axis=0) / (1.0 + self.lam_0)
