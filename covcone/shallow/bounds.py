r"""Lower bounds of the depth-2 problem by weak duality, evaluated by covcone in float64.

docs/design.md §4.  For every dual direction Θ (N×k) and every ``m̄`` with
``m̄ ≥ m(Θ) = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖``, the point ``tΘ`` with ``0 ≤ t ≤ 2λ/m̄`` is dual feasible, so

    P ≥ max_{0 ≤ t ≤ 2λ/m̄} D(tΘ),   D(Θ) = −C*(−Θ) − β²‖Θᵀ1‖²/(4λ)

(:func:`dual_bound`).  The bound is valid for *any* Θ — a solver's inaccurate dual point gives a
weaker bound, never a wrong one — so long as ``m̄`` is a proven upper bound on the pricing value:
the exact oracle's maximum, an anytime oracle's bound, or the spectral bound
``‖Θ‖₂·max(|a|,|b|)·‖B‖₂`` (σ is Lipschitz with σ(0) = 0).
"""
from __future__ import annotations

import numpy as np

from ..costs import dual_value

__all__ = ["dual_bound", "spectral_bound", "linear_dual_bound"]


def dual_bound(Theta: np.ndarray, m: float, Y: np.ndarray, *, cost: str, lam: float, beta: float,
               lam0: float | None = None) -> tuple[float, float]:
    r"""The weak-duality bound ``max_{0 ≤ t ≤ 2λ/m} D(tΘ)`` and the best t.

    ``D(Θ) = −C*(−Θ) − β²‖Θᵀ1‖²/(4λ₀)`` with ``λ₀ = lam0`` (default λ: the bias weight's decay);
    for cross-entropy ``t ≤ 1`` keeps Θ in the conjugate's domain.  Valid for the global optimum
    whenever ``m ≥ max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖``.
    """
    lam0 = lam if lam0 is None else lam0
    tmax = 2.0 * lam / m if m > 0 else np.inf
    bias_term = 0.0 if beta == 0 else beta**2 * float(np.sum(Theta.sum(axis=0) ** 2)) / (4.0 * lam0)
    if cost in ("mse", "interpolate"):
        a = float(np.sum(Theta * Y))
        b = bias_term + (Y.shape[0] / 4.0 * float(np.sum(Theta**2)) if cost == "mse" else 0.0)
        if a <= 0:
            return 0.0, 0.0
        t = tmax if b <= 0 else min(tmax, a / (2.0 * b))
        if not np.isfinite(t):
            return float("inf"), t  # unbounded dual: the primal is infeasible
        return a * t - b * t * t, t
    from scipy.optimize import minimize_scalar

    tmax = min(1.0, tmax)

    def neg(t):
        v = dual_value(t * Theta, Y, cost) - t * t * bias_term
        return -v if np.isfinite(v) else 1e300

    res = minimize_scalar(neg, bounds=(0.0, tmax), method="bounded", options={"xatol": 1e-12})
    best_t = min((0.0, tmax, float(res.x)), key=neg)
    return -neg(best_t), best_t


def spectral_bound(B: np.ndarray, activation) -> float:
    r"""A cheap valid upper bound on ``max_{‖c‖=1} ‖σ(Bᵀc)‖`` : ``max(|a|, |b|)·‖B‖₂``.

    With it, ``‖Θ‖₂ · spectral_bound`` bounds the pricing value for any N and input rank, so the
    dual bound it gives is valid without an exact oracle (weaker; the linear network's dual).
    """
    return max(abs(activation.a), abs(activation.b)) * float(np.linalg.norm(B, 2))


def linear_dual_bound(setup) -> float:
    r"""A valid lower bound (internal units) with no oracle: dual points of the linear network,
    priced spectrally.

    The points tried are the linear network's optimal duals for ``B = I``: the polar factor of Ỹ
    (interpolation) and ``(2/N)(Ỹ − Z)`` with Z the singular values of Ỹ soft-thresholded by λ̃N
    (MSE), plus Ỹ itself.  Tight when a linear network is optimal — e.g. the N²/4 example, where
    R = 2‖Y‖_* = N² (paper §4.2).  Returns ``-inf`` for cross-entropy (no point tried).
    """
    if setup.cost == "cross_entropy":
        return float("-inf")
    Y, N = setup.Ys, setup.N
    U, sv, Vt = np.linalg.svd(Y, full_matrices=False)
    points = [Y]
    if setup.cost == "interpolate":
        r = int(np.sum(sv > 1e-12 * max(sv[0] if sv.size else 0.0, 1e-300)))
        points.append(U[:, :r] @ Vt[:r])
    else:
        points.append(2.0 / N * (Y - (U * np.maximum(sv - setup.lam_v * N, 0.0)) @ Vt))
    spec = spectral_bound(setup.Bs, setup.activation) * (1 + 1e-12)  # pad for round-off
    best = float("-inf")
    for Theta in points:
        lb, _ = internal_bound(setup, Theta, float(np.linalg.norm(Theta, 2)) * spec)
        best = max(best, lb)
    return best


def internal_bound(setup, Theta: np.ndarray, m_bar: float) -> tuple[float, float]:
    """:func:`dual_bound` of the scaled problem of ``setup`` (internal units)."""
    return dual_bound(Theta, m_bar, setup.Ys, cost=setup.cost, lam=setup.lam_v, beta=1.0 if setup.has_bias else 0.0,
                      lam0=setup.lam_0 if setup.has_bias else None)
