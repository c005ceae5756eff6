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

from ..backends import check_status
from ..exceptions import SolverError
from .master import _clarabel_settings, _soc_columns, cvxpy_objective
from .setup import distinct_from

__all__ = ["pattern_columns"]


def pattern_columns(setup, C: np.ndarray, V: np.ndarray, *, solver: str = "CLARABEL", max_neurons: int = 300,
                    old=None, time_limit=None):
    """Directions (unit rows) of the neurons re-optimised within their activation cones (module
    docstring), or an empty array when the program fails or there is nothing to move.  Directions
    within 1e-10 of a row of ``old`` (columns the master already has) are left out.  MSE with
    Clarabel: one direct conic program (:func:`_cones_mse_clarabel`); otherwise through cvxpy.
    ``time_limit`` (seconds, Clarabel): a program stopped by it gives no directions (its ``N·m``
    sign constraints make it the largest conic program of a round at large N)."""
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
    limit = {} if time_limit is None or solver != "CLARABEL" else {"time_limit": max(float(time_limit), 1e-6)}
    if solver == "CLARABEL" and s.cost == "mse":
        Uv = _cones_mse_clarabel(s, sign, slope, Vhat, limit)
    else:
        Uv = _cones_cvxpy(s, sign, slope, Vhat, solver, limit)
    if Uv is None:
        return np.zeros((0, s.r))
    un = np.linalg.norm(Uv, axis=1)
    keep = un > 1e-3 * max(un.max(initial=0.0), 1e-300)  # the directions of vanishing neurons are noise
    out = Uv[keep] / un[keep, None]
    if old is not None:
        out = out[distinct_from(out, old)]
    return out


def _cones_cvxpy(s, sign, slope, Vhat, solver, opts=None):
    """The program of the module docstring through cvxpy; ``U`` (m, r) or None when it fails."""
    import cvxpy as cp

    m = Vhat.shape[0]
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
            prob.solve(solver=solver, **(opts or {}))
    except (cp.error.SolverError, ValueError, ArithmeticError):
        return None
    if prob.status not in ("optimal", "optimal_inaccurate") or U.value is None or not np.all(np.isfinite(U.value)):
        return None
    return np.asarray(U.value).T


def _cones_mse_clarabel(s, sign, slope, Vhat, opts=None):
    r"""The MSE program of the module docstring as one Clarabel problem, without cvxpy's
    canonicalisation (which costs more than the solve at N ≈ 50).

    Variables ``x = [u_1 … u_m (r each), c̃_0 (k, β > 0), t (m), ρ (N·k)]``:
    ``min (1/N)‖ρ‖² + 2λ̃ Σ t_j + λ̃_0‖c̃_0‖²`` subject to ``Ŷ(U) + 1c̃_0ᵀ − ρ = Ỹ`` (zero cone,
    ``Ŷ_{nl} = Σ_j D_{nj} (Bᵀu_j)_n v̂_{jl}``), ``s_{nj}(Bᵀu_j)_n ≥ 0`` (nonnegative cone) and
    ``‖u_j‖ ≤ t_j``.  Returns ``U`` (m, r), or None when Clarabel reports no usable solution."""
    import clarabel
    import scipy.sparse as sp

    N, k, r = s.N, s.k, s.r
    m = Vhat.shape[0]
    Bt = s.Bs.T  # (N, r)
    has_c0 = s.has_bias
    nu, nc, nt, nrho = m * r, (k if has_c0 else 0), m, N * k
    n = nu + nc + nt + nrho
    # equality rows (n, l) at n·k + l: Σ_j slope[n, j] v̂[j, l] B[:, n]ᵀ u_j + c̃_0[l] − ρ[n, l]
    coef = slope[:, :, None] * Vhat[None, :, :]  # (N, m, k)
    nn, jj, ll, qq = np.meshgrid(np.arange(N), np.arange(m), np.arange(k), np.arange(r), indexing="ij")
    rows = [(nn * k + ll).ravel()]
    cols = [(jj * r + qq).ravel()]
    data = [(coef[:, :, :, None] * Bt[:, None, None, :]).ravel()]
    if has_c0:
        rows.append(np.arange(N * k))
        cols.append(nu + np.tile(np.arange(k), N))
        data.append(np.ones(N * k))
    rows.append(np.arange(N * k))
    cols.append(nu + nc + nt + np.arange(N * k))
    data.append(-np.ones(N * k))
    n_eq = N * k
    # cone rows: s = −A x ≥ 0 with A = −sign ⊙ (Bᵀu_j): row n_eq + j·N + n
    n2, j2, q2 = np.meshgrid(np.arange(N), np.arange(m), np.arange(r), indexing="ij")
    rows.append((n_eq + j2 * N + n2).ravel())
    cols.append((j2 * r + q2).ravel())
    data.append((-sign[:, :, None] * Bt[:, None, :]).ravel())
    n_ineq = N * m
    # second-order cones (t_j, u_j)
    rows.append(n_eq + n_ineq + np.arange(m * (r + 1)))
    cols.append(_soc_columns(m, r, nu + nc))
    data.append(-np.ones(m * (r + 1)))
    A = sp.csc_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_eq + n_ineq + m * (r + 1), n))
    A.eliminate_zeros()  # slope 0 (ReLU's inactive side) and b_i = 0 leave explicit zeros
    b = np.concatenate([s.Ys.reshape(-1), np.zeros(n_ineq + m * (r + 1))])
    pdiag = np.zeros(n)
    q = np.zeros(n)
    pdiag[nu : nu + nc] = 2.0 * s.lam_0
    q[nu + nc : nu + nc + nt] = 2.0 * s.lam_v
    pdiag[nu + nc + nt :] = 2.0 / N  # (unscaled: dividing by a tiny loss cost certificates near interpolation)
    nzp = np.nonzero(pdiag)[0]
    P = sp.csc_matrix((pdiag[nzp], (nzp, nzp)), shape=(n, n))
    cones = [clarabel.ZeroConeT(n_eq), clarabel.NonnegativeConeT(n_ineq)] + [clarabel.SecondOrderConeT(r + 1)] * m
    try:
        sol = clarabel.DefaultSolver(P, q, A, b, cones, _clarabel_settings(opts)).solve()
    except (ValueError, RuntimeError, ArithmeticError):
        return None
    x = np.asarray(sol.x) if sol.x is not None else None
    if x is None or x.size != n or not np.all(np.isfinite(x)):
        return None
    try:  # solved or almost solved; an early stop is not used (has_solution=False)
        check_status(sol.status, solver="CLARABEL", where="pattern step", has_solution=False)
    except SolverError:
        return None
    return x[:nu].reshape(m, r)
