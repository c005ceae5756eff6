r"""Costs C(Ŷ) on the network's outputs: value, gradient and the conjugate used by dual bounds.

docs/design.md §1 and §3.4.  Samples are rows: ``Yhat`` and ``Y`` are (N, k); cross-entropy takes
integer labels (N,) or a one-hot / probability matrix (N, k).

- ``"mse"``: (1/N)‖Ŷ − Y‖_F² (the paper's Prop. 14 scaling).
- ``"cross_entropy"``: (1/N) Σ_i [logsumexp(ŷ_i) − ŷ_i·y_i] (softmax).
- ``"interpolate"``: Ŷ = Y exactly; the loss is then the representation cost R(X, Y) alone.

For the dual bounds of the depth-2 solver we write Θ = −∇C(Ŷ) (the scaled residual) and need
``dual_value(Theta, Y)`` = −C*(−Θ), so that for every Θ the weak-duality bound is
``−C*(−Θ) − β²‖Θᵀ1‖²/(4λ)`` when ``max_w ‖Θᵀσ(Aᵀw)‖ ≤ 2λ`` (docs/design.md §3.4).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

__all__ = ["COSTS", "check_cost", "cost_value", "cost_gradient", "dual_value", "one_hot"]

COSTS = ("mse", "cross_entropy", "interpolate")


def check_cost(cost, argname: str = "cost") -> str:
    if cost not in COSTS:
        raise ValueError(f"{argname}: expected one of {COSTS}, got {cost!r}")
    return cost


def one_hot(Y, k: int | None = None) -> np.ndarray:
    """Labels (N,) → one-hot (N, k); a 2-D array is returned as float unchanged."""
    Y = np.asarray(Y)
    if Y.ndim == 2:
        return Y.astype(float)
    labels = Y.astype(int)
    k = int(labels.max()) + 1 if k is None else k
    out = np.zeros((labels.size, k))
    out[np.arange(labels.size), labels] = 1.0
    return out


def cost_value(Yhat, Y, cost: str, *, interp_tol: float = 1e-7) -> float:
    """C(Ŷ).  For ``"interpolate"`` it is 0 when ``Ŷ = Y`` (‖Ŷ − Y‖ ≤ interp_tol·‖Y‖) and
    ``inf`` otherwise: an exact-fit constraint, never silently relaxed."""
    Yhat = np.asarray(Yhat, dtype=float)
    N = Yhat.shape[0]
    if cost == "mse":
        return float(np.sum((Yhat - Y) ** 2) / N)
    if cost == "cross_entropy":
        P = one_hot(Y, Yhat.shape[1])
        return float(np.sum(logsumexp(Yhat, axis=1) - np.sum(Yhat * P, axis=1)) / N)
    if cost == "interpolate":
        # relative to ‖Y‖ (free of units); Y = 0 is met only exactly
        err = np.linalg.norm(Yhat - Y)
        return 0.0 if err <= interp_tol * np.linalg.norm(Y) or err == 0.0 else float("inf")
    raise ValueError(f"cost: expected one of {COSTS}, got {cost!r}")


def cost_gradient(Yhat, Y, cost: str) -> np.ndarray:
    """∇C(Ŷ) (N, k) for ``"mse"`` and ``"cross_entropy"``."""
    Yhat = np.asarray(Yhat, dtype=float)
    N = Yhat.shape[0]
    if cost == "mse":
        return 2.0 / N * (Yhat - Y)
    if cost == "cross_entropy":
        return (softmax(Yhat, axis=1) - one_hot(Y, Yhat.shape[1])) / N
    raise ValueError(f"cost {cost!r} has no gradient")


def dual_value(Theta, Y, cost: str) -> float:
    r"""−C*(−Θ) (``-inf`` outside the conjugate's domain).

    mse: ⟨Θ, Y⟩ − (N/4)‖Θ‖²;  interpolate: ⟨Θ, Y⟩;  cross-entropy: with q_i = e_{y_i} − NΘ_i in
    the simplex, −(1/N) Σ_i Σ_c q_ic log q_ic.
    """
    Theta = np.asarray(Theta, dtype=float)
    N = Theta.shape[0]
    if cost == "mse":
        return float(np.sum(Theta * Y) - N / 4.0 * np.sum(Theta**2))
    if cost == "interpolate":
        return float(np.sum(Theta * Y))
    if cost == "cross_entropy":
        Q = one_hot(Y, Theta.shape[1]) - N * Theta
        if np.any(Q < -1e-12) or np.any(np.abs(Q.sum(axis=1) - 1.0) > 1e-9):
            return float("-inf")
        Q = np.clip(Q, 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(Q > 0, Q * np.log(Q), 0.0)
        return float(-np.sum(ent) / N)
    raise ValueError(f"cost: expected one of {COSTS}, got {cost!r}")
