r"""The column-generation tail at input rank ≥ 4: re-optimise the neurons inside their activation cones.

docs/design.md §3.4.  Column generation fixes each neuron's direction ``c_j``; near the optimum the
exact oracle keeps returning directions a little off the optimal ones (face maximisers of the
current residual), and the master can only combine them — a slow tail.  With the activation
pattern of each active neuron fixed (``D_j = slope(Bᵀc_j)``, signs ``s_j = sign(Bᵀc_j)``) and its
output direction ``v̂_j`` fixed, the neurons ``u_j`` (input weights times output norm) that keep
their pattern form a convex cone, and

    min_U  C(Σ_j (D_j Bᵀu_j) v̂_jᵀ + 1 c_0ᵀ) + 2λ Σ_j ‖u_j‖ + λ_0‖c_0‖²,   s_j ∘ (Bᵀu_j) ≥ 0,

is a convex program (for one output it is the convex reformulation of Pilanci & Ergen, 2020,
restricted to the active patterns; for interpolation the cost is replaced by the constraint
``Ŷ = Y``).  Every feasible point is a network whose neurons moved
continuously within their cones, so its directions ``u_j/‖u_j‖`` are good columns for the master;
they are only *candidates*: bounds still come from the master and the exact oracle.
"""
from __future__ import annotations

import warnings

import numpy as np

from .master import cvxpy_objective
from .setup import distinct_from

__all__ = ["pattern_columns"]


def pattern_columns(setup, C: np.ndarray, V: np.ndarray, *, solver: str = "CLARABEL", max_neurons: int = 300,
                    old=None):
    """Directions (unit rows) of the neurons re-optimised within their activation cones (module
    docstring), or an empty array when the program fails or there is nothing to move.  Directions
    within 1e-10 of a row of ``old`` (columns the master already has) are left out."""
    import cvxpy as cp

    s = setup
    norms = np.linalg.norm(V, axis=1)
    act = np.nonzero(norms > 1e-9 * max(norms.max(initial=0.0), 1e-300))[0]
    if act.size == 0:
        return np.zeros((0, s.r))
    act = act[np.argsort(-norms[act])][:max_neurons]
    Cj, Vj = C[act], V[act]
    Z = s.Bs.T @ Cj.T  # (N, m) pre-activations of the active neurons
    a, b = float(s.activation.a), float(s.activation.b)
    sign = np.where(Z >= 0, 1.0, -1.0)
    slope = np.where(Z >= 0, a, b)
    Vhat = Vj / np.linalg.norm(Vj, axis=1, keepdims=True)  # (m, k)
    m = act.size
    U = cp.Variable((s.r, m))
    pre = s.Bs.T @ U  # (N, m)
    Yhat = cp.multiply(slope, pre) @ Vhat
    pen = 2.0 * s.lam_v * cp.sum(cp.norm(U, 2, axis=0))
    if s.has_bias:
        c0 = cp.Variable((1, s.k))
        Yhat = Yhat + np.ones((s.N, 1)) @ c0
        pen = pen + s.lam_0 * cp.sum_squares(c0)
    obj, fit = cvxpy_objective(s, Yhat, pen)  # interpolation: feasible, the current network is a point
    prob = cp.Problem(cp.Minimize(obj), [cp.multiply(sign, pre) >= 0] + fit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(solver=solver)
    except (cp.error.SolverError, ValueError, ArithmeticError):
        return np.zeros((0, s.r))
    if U.value is None or not np.all(np.isfinite(U.value)):
        return np.zeros((0, s.r))
    Uv = np.asarray(U.value).T
    un = np.linalg.norm(Uv, axis=1)
    keep = un > 1e-3 * max(un.max(initial=0.0), 1e-300)  # the directions of vanishing neurons are noise
    out = Uv[keep] / un[keep, None]
    if old is not None:
        out = out[distinct_from(out, old)]
    return out
