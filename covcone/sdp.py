r"""The depth-2 convex program over the covariance cone (docs/design.md §2, "depth 2 is jointly convex").

Paper: Jacot et al., NeurIPS 2022, §2 (the covariance loss L^k) and Prop. 14.  For a depth-2
network with input matrix ``A = [Xᵀ; β1ᵀ]`` (d'×N, columns = data points; the β row is dropped
when β = 0) and ``K_0^σ = AᵀA`` the training problem is equivalent to the convex program

    min  C(Z_2) + λ ( Tr[K_1 (K_0^σ)^+] + Tr T )
    s.t. (K_1, K_1^σ) ∈ S = cone{(zzᵀ, σ(z)σ(z)ᵀ)} + (0, β²11ᵀ),  Im K_1 ⊂ Im K_0^σ,
         [[K_1^σ, Z_2ᵀ], [Z_2, T]] ⪰ 0                      (Schur complement of Tr[Z_2ᵀ (K_1^σ)^+ Z_2]).

The cone is represented by :class:`~covcone.cones.cells.CellCone` (exact, input rank ≤ 4; the
regulariser ``Tr[K_1 (K_0^σ)^+]`` becomes ``Tr M`` in the whitened basis ``B = UᵀA``) or by
:class:`~covcone.cones.lifted.LiftedCone` (outer relaxation → lower bound only).

Costs: ``"mse"`` ``C = (1/N)‖Z_2 − Y‖_F²``; ``"interpolate"`` ``Z_2 = Y`` and λ = 1 (the
representation cost R(X, Y)); ``"cross_entropy"`` ``C = (1/N) Σ_i [logsumexp(Z_2[:, i]) − Z_2[y_i, i]]``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from covcone.activations import require_homogeneous
from covcone.backends import INACCURATE_STATUSES, SolverError, choose_solver

__all__ = ["ConeProgramResult", "solve_cone_program", "input_matrix"]

_COSTS = ("mse", "interpolate", "cross_entropy")
_CONES = ("cells", "lifted")


@dataclass(frozen=True)
class ConeProgramResult:
    r"""Solution of the depth-2 cone program.

    Attributes
    ----------
    value : float
        Primal objective value reported by the solver.
    lower : float
        A lower bound on the program's optimum: the solver's dual objective when available
        (``lower_source == "dual"``), else the primal value (``lower_source == "primal"``, not
        a certified bound).  For ``cone="lifted"`` it is also a lower bound on the training loss.
    lower_source : str
        ``"dual"`` or ``"primal"``.
    status, message : str
        cvxpy status (``"optimal"`` or ``"optimal_inaccurate"``) and a sentence about it.
    K, K_sigma : ndarray (N, N)
        Hidden covariances ``K_1`` and ``K_1^σ`` (including ``β²11ᵀ``).
    Z2 : ndarray (k, N)
        Output pre-activations (columns = data points).
    neurons : ndarray (n, N) or None
        For ``cone="cells"``: data-space pre-activations ``z`` (rows) with ``Σ zzᵀ ≈ K`` and
        ``Σ σ(z)σ(z)ᵀ ≈ K^σ − β²11ᵀ``; ``None`` for the lifted relaxation.
    neuron_error : float or None
        Max-abs reconstruction error of ``neurons`` for (K, K^σ).
    residual : float
        The cone's constraint residual at the solution.
    solve_time, build_time : float
        Wall seconds in the solve call (cvxpy compilation + solver) and in building the cone.
    solver_time : float or None
        The solver's own reported time (so ``solve_time − solver_time`` is cvxpy compilation).
    solver, cone, cost : str
    Theta : ndarray (N, k)
        The dual direction of the solution, samples as rows: ``−∇C(Ẑ_2)`` (MSE, cross-entropy) or
        the multiplier of ``Z_2 = Y`` (interpolation).  covcone's lower bounds are recomputed from
        it by weak duality (:func:`covcone.shallow.bounds.dual_bound`), never read off the
        solver's objective.
    """

    value: float
    lower: float
    lower_source: str
    status: str
    message: str
    K: np.ndarray
    K_sigma: np.ndarray
    Z2: np.ndarray
    neurons: np.ndarray | None
    neuron_error: float | None
    residual: float
    solve_time: float
    build_time: float
    solver_time: float | None
    solver: str
    cone: str
    cost: str
    Theta: np.ndarray | None = None


def input_matrix(X, beta):
    r"""``A = [Xᵀ; β1ᵀ]`` (d'×N) from samples-as-rows ``X`` (N×d); the β row is dropped if β = 0."""
    X = np.asarray(X, dtype=float)
    if beta == 0:
        return X.T.copy()
    return np.vstack([X.T, beta * np.ones((1, X.shape[0]))])


def _solve_raw(problem, solver, solver_opts, where, canon_backend=None):
    r"""Solve through cvxpy's documented low-level path (``get_problem_data`` →
    ``solve_via_data`` → ``unpack_results``) so that the raw solver output, and with it the dual
    objective, is available.  Status policy as in :func:`covcone.backends.solve_cvxpy`."""
    import warnings

    import cvxpy as cp

    from covcone.backends import INACCURATE, check_status
    from covcone.exceptions import InaccurateSolutionWarning

    opts = dict(solver_opts or {})
    verbose = bool(opts.pop("verbose", False))
    try:
        data, chain, inverse_data = problem.get_problem_data(
            solver, solver_opts=opts, canon_backend=canon_backend
        )
        raw = chain.solve_via_data(problem, data, False, verbose, opts)
        problem.unpack_results(raw, chain, inverse_data)
    except cp.error.SolverError as exc:
        raise SolverError(f"{where}: solver {solver} failed: {exc}") from exc
    status = check_status(problem.status, solver=solver, where=where)
    if status == INACCURATE:
        warnings.warn(f"{where}: solver {solver} returned status {status!r}", InaccurateSolutionWarning,
                      stacklevel=3)
    return status, raw


def _dual_lower(problem, raw):
    """Dual objective, shifted by cvxpy's constant offset, when the raw solver output has it
    (Clarabel: ``obj_val_dual``; SCS: ``info["dobj"]``); else the primal value."""
    try:
        if hasattr(raw, "obj_val_dual") and np.isfinite(raw.obj_val_dual):
            return float(raw.obj_val_dual + (problem.value - raw.obj_val)), "dual"
        if isinstance(raw, dict) and "info" in raw and "dobj" in raw["info"]:
            info = raw["info"]
            return float(info["dobj"] + (problem.value - info["pobj"])), "dual"
    except (TypeError, AttributeError, KeyError):
        pass
    return float(problem.value), "primal"


def _check_args(X, Y, activation, lam, beta, cost, cone, cells):
    """Validated ``(σ, X, Yᵀ or None, labels or None, k, λ, β)`` of :func:`solve_cone_program`."""
    act = require_homogeneous(activation)
    if cost not in _COSTS:
        raise ValueError(f"cost: expected one of {_COSTS}, got {cost!r}")
    if cone not in _CONES:
        raise ValueError(f"cone: expected one of {_CONES}, got {cone!r}")
    if cells is not None and cone != "cells":
        raise ValueError(f"cells: an active set only applies to cone='cells', got cone={cone!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ValueError(f"X: expected a finite array of shape (N, d), got shape {X.shape}")
    N = X.shape[0]
    beta = float(beta)
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta: expected a finite number ≥ 0, got {beta}")
    if cost == "interpolate":
        lam = 1.0
    elif lam is None or not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"lam: expected a finite number > 0, got {lam}")
    lam = float(lam)
    if cost == "cross_entropy":
        labels = np.asarray(Y)
        if labels.shape != (N,) or not np.all(labels == np.round(labels)) or labels.min() < 0:
            raise ValueError(f"Y: expected {N} nonnegative integer labels, got shape {labels.shape}")
        labels = labels.astype(int)
        k = int(labels.max()) + 1
        Yt = None
    else:
        Ya = np.asarray(Y, dtype=float)
        if Ya.ndim == 1:
            Ya = Ya[:, None]
        if Ya.ndim != 2 or Ya.shape[0] != N or not np.all(np.isfinite(Ya)):
            raise ValueError(f"Y: expected a finite array of shape ({N}, k), got shape {np.shape(Y)}")
        Yt = Ya.T
        k = Yt.shape[0]
    if cost != "cross_entropy":
        labels = None
    return act, X, Yt, labels, k, lam, beta


def solve_cone_program(
    X,
    Y,
    *,
    activation="relu",
    lam=None,
    beta=0.0,
    cost="mse",
    cone="cells",
    cells=None,
    solver=None,
    solver_opts=None,
    rank_tol=1e-10,
) -> ConeProgramResult:
    r"""Solve the depth-2 covariance-cone program (docs/design.md §2, §3.1–3.2).

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs, samples as rows (converted to the paper's columns-as-data convention inside).
    Y : array_like, shape (N, k) or (N,)
        Targets; for ``cost="cross_entropy"`` integer labels of length N (k = max label + 1).
    activation : Activation or spec
        Positively homogeneous σ.
    lam : float
        Weight decay λ > 0 (ignored for ``cost="interpolate"``, where λ = 1).
    beta : float
        Bias amount β ≥ 0.
    cost : {"mse", "interpolate", "cross_entropy"}
    cone : {"cells", "lifted"}
        ``"cells"`` is exact but needs ``rank A ≤ 4`` (cost grows like N^{r−1} cells);
        ``"lifted"`` is an outer relaxation (its optimum is a lower bound on the training loss,
        docs/design.md §3.1).
    cells : sequence of int, optional
        Active set of cells for ``cone="cells"`` (see :class:`CellCone`).
    solver, solver_opts :
        cvxpy solver name (``None``: best installed) and options.
    rank_tol : float
        Relative singular-value threshold for the rank of ``A``.

    Returns
    -------
    ConeProgramResult

    Raises
    ------
    ValueError
        Bad arguments (named), or ``cone="cells"`` with ``rank A > 3``.
    covcone.backends.SolverError
        The solver failed (message names the solver).
    """
    import cvxpy as cp

    from covcone.cones.cells import CellCone
    from covcone.cones.lifted import LiftedCone, lifted_resources, require_memory

    act, X, Yt, labels, k, lam, beta = _check_args(X, Y, activation, lam, beta, cost, cone, cells)
    N = X.shape[0]
    solver = choose_solver(solver)
    where = f"depth-2 cone program ({cone}, {cost})"

    A = input_matrix(X, beta)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(s > rank_tol * max(s.max(initial=0.0), 1e-300)))
    if r == 0:
        raise ValueError("X: the input matrix [Xᵀ; β1ᵀ] is zero")

    t0 = time.perf_counter()
    S = cp.Variable((N + k, N + k), PSD=True, name="schur")
    Ks_minus_bias = S[:N, :N] - beta**2 * np.ones((N, N))
    Z2 = S[N:, :N]
    Tm = S[N:, N:]
    if cone == "cells":
        if r > 4:
            raise ValueError(
                f"cone='cells' needs rank [Xᵀ; β1ᵀ] ≤ 4, got rank {r}; use cone='lifted' (a lower bound)"
            )
        B = s[:r, None] * Vt[:r]  # = Uᵀ A, whitened: Tr[K K_0^+] = Tr M
        cc = CellCone(B, act, cells=cells)
        cons = cc.constraints(None, None)
        up = cc.upper_indices
        cons.append(cc.K_sigma_upper == cp.vec(Ks_minus_bias, order="C")[up])
        reg = cp.trace(cc.c_matrix())
    else:
        require_memory(lifted_resources(N)[0], f"cone='lifted' with N = {N}", " (≈ 1.3 GB·(N/40)³)",
                       ": use fewer points or cone='cells'")
        cc = LiftedCone(N, act, range_basis=Vt[:r].T if r < N else None)
        cons = cc.constraints(None, None)
        cons.append(cc.K_sigma == Ks_minus_bias)
        K0p = (Vt[:r].T / s[:r] ** 2) @ Vt[:r]
        reg = cp.sum(cp.multiply(K0p, cc.K))
    onehot = interp = None
    if cost == "mse":
        data = cp.sum_squares(Z2 - Yt) / N
    elif cost == "interpolate":
        interp = Z2 == Yt
        cons.append(interp)
        data = 0.0
    else:
        onehot = np.zeros((k, N))
        onehot[labels, np.arange(N)] = 1.0
        data = (cp.sum(cp.log_sum_exp(Z2, axis=0)) - cp.sum(cp.multiply(onehot, Z2))) / N
    problem = cp.Problem(cp.Minimize(data + lam * (reg + cp.trace(Tm))), cons)
    build_time = time.perf_counter() - t0

    t1 = time.perf_counter()
    # cvxpy's SciPy canonicalisation backend is ~2.5× faster than the C++ one on the large sparse
    # K^σ map of big cell programs (measured: 6 s vs 15 s at N = 32), slower on small ones.
    canon = "SCIPY" if cone == "cells" and cc.n_simplices > 500 else None
    status, raw = _solve_raw(problem, solver, solver_opts, where, canon)
    solve_time = time.perf_counter() - t1
    if problem.value is None or S.value is None:
        raise SolverError(f"{where}: solver {solver} returned no solution (status {status!r})")
    return _unpack(problem, raw, status, S, cc, cone, cost, N, k, Yt, labels, onehot, interp, solver,
                   solve_time, build_time)


def _unpack(problem, raw, status, S, cc, cone, cost, N, k, Yt, labels, onehot, interp, solver, solve_time,
            build_time) -> ConeProgramResult:
    """The solved program as a :class:`ConeProgramResult` (values, dual direction Θ, residual)."""
    value = float(problem.value)
    lower, source = _dual_lower(problem, raw)
    lower = min(lower, value)
    residual = cc.residual()
    message = f"{solver} returned {status!r}; cone residual {residual:.1e}"
    if status in INACCURATE_STATUSES:
        message += "; the solution is inaccurate, bounds are approximate"
    Sv = np.asarray(S.value)
    Ksig = 0.5 * (Sv[:N, :N] + Sv[:N, :N].T)
    Z2v = np.asarray(Sv[N:, :N])
    if cost == "mse":
        Theta = 2.0 / N * (Yt - Z2v).T
    elif cost == "cross_entropy":
        from scipy.special import softmax

        Theta = (onehot - softmax(Z2v, axis=0)).T / N
    else:
        dv = interp.dual_value
        Theta = None if dv is None else np.asarray(dv, dtype=float).reshape(k, N).T
        if Theta is not None and np.sum(Theta * Yt.T) < 0:
            Theta = -Theta
    if cone == "cells":
        K, _ = cc.values()
        nr = cc.neurons()
        neurons, nerr = nr.Z, max(nr.K_error, nr.K_sigma_error)
    else:
        K, _ = cc.values()
        neurons, nerr = None, None
    return ConeProgramResult(
        value=value,
        lower=lower,
        lower_source=source,
        status=status,
        message=message,
        K=K,
        K_sigma=Ksig,
        Z2=np.asarray(Sv[N:, :N]),
        neurons=neurons,
        neuron_error=nerr,
        residual=residual,
        solve_time=solve_time,
        build_time=build_time,
        solver_time=getattr(problem.solver_stats, "solve_time", None),
        solver=solver,
        cone=cone,
        cost=cost,
        Theta=Theta,
    )
