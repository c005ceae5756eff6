r"""The master problem of column generation: the group lasso over the active columns.

docs/design.md §3.4.  In internal units (:mod:`covcone.shallow.setup`)

    min C(S̃ Ṽ + 1 c̃_0ᵀ; Ỹ) + 2λ̃ Σ_j ‖ṽ_j‖ + λ̃_0 ‖c̃_0‖²

(interpolation: the constraint S̃ Ṽ + 1c̃_0ᵀ = Ỹ with C = 0).  MSE and interpolation with
Clarabel go straight to Clarabel's API (the SOCP is built from sparse matrices in microseconds;
cvxpy's canonicalisation took ~10× the solve time); everything else goes through cvxpy.  Returns
the outputs and the dual direction ``Θ̃`` (internal units) from which the bounds are computed by
covcone's own float64 dual function — never from a solver's objective value.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..backends import check_status
from ..exceptions import SolverError

__all__ = ["solve_master", "master_options"]


def master_options(solver: str, solver_opts: dict | None, rtol: float, cost: str = "mse") -> dict:
    """Master accuracy follows the certificate's relative tolerance (interior-point gap ≤ rtol/100)."""
    opts = dict(solver_opts or {})
    acc = min(1e-8, rtol / 100.0) if cost != "cross_entropy" else min(1e-10, rtol / 1e4)  # exp cones: harder
    if solver == "CLARABEL":
        for key in ("tol_gap_abs", "tol_gap_rel", "tol_feas"):
            opts.setdefault(key, acc)
    elif solver == "SCS":
        opts.setdefault("eps_abs", acc)
        opts.setdefault("eps_rel", acc)
    return opts


def check_solver_opts(solver: str, solver_opts: dict | None) -> None:
    """Unknown option names are an error naming the solver's known options."""
    if not solver_opts:
        return
    if solver == "CLARABEL":
        import clarabel

        settings = clarabel.DefaultSettings()
        bad = [k for k in solver_opts if not hasattr(settings, k)]
        if bad:
            raise ValueError(f"solver_opts: Clarabel has no setting(s) {bad}")
    elif solver == "SCS":
        known = {"max_iters", "eps_abs", "eps_rel", "eps_infeas", "alpha", "rho_x", "scale", "adaptive_scale",
                 "normalize", "acceleration_lookback", "acceleration_interval", "time_limit_secs", "verbose",
                 "warm_start", "write_data_filename", "log_csv_filename", "use_indirect", "gpu", "mkl"}
        bad = sorted(set(solver_opts) - known)
        if bad:
            raise ValueError(f"solver_opts: SCS has no option(s) {bad}; known: {sorted(known)}")


def solve_master(setup, S: np.ndarray, solver: str, solver_opts: dict | None):
    """Group lasso over the active (scaled) columns S (N×m).  Returns ``(Ṽ, c̃_0, Θ̃, status)``."""
    if solver == "CLARABEL" and setup.cost in ("mse", "interpolate"):
        return _master_clarabel(setup, S, solver_opts)
    return _master_cvxpy(setup, S, solver, solver_opts)


def _design(setup, S):
    """``F = [S, 1]`` (with the bias column when β > 0)."""
    return np.hstack([S, np.ones((setup.N, 1))]) if setup.has_bias else S


def _master_clarabel(setup, S: np.ndarray, solver_opts: dict | None):
    r"""The group-lasso master as a Clarabel SOCP.

    Variables x = [vec Ṽ (m·k, row-major), c̃_0 (k, β > 0), t (m), r (p·k, MSE)]:
    MSE: min (1/N)‖r‖² + 2λ̃ Σ t_j + λ̃_0‖c̃_0‖² s.t. r = R [Ṽ; c̃_0] − QᵀỸ (F = [S̃, 1] = QR),
    interpolation: min 2λ̃ Σ t_j + λ̃_0‖c̃_0‖² s.t. S̃Ṽ + 1c̃_0ᵀ = Ỹ;  ‖ṽ_j‖ ≤ t_j.
    """
    import clarabel
    import scipy.sparse as sp

    N, k = setup.N, setup.k
    m = S.shape[1]
    has_c0 = setup.has_bias
    F = _design(setup, S)
    mse = setup.cost == "mse"
    back = None  # maps the equality multipliers back to Θ (interpolation)
    if mse and F.shape[1] < N:
        Q, R = np.linalg.qr(F)
        rhs = Q.T @ setup.Ys
    elif mse:
        R, rhs = F, setup.Ys
    else:
        # interpolation: F x = Ỹ on the numerical range of F, as orthonormal rows Vᵀx = Σ⁻¹UᵀỸ (F = UΣVᵀ);
        # the raw rows are ill-conditioned when the data are tiny against the bias row
        Uf, sf, Vft = np.linalg.svd(F, full_matrices=False)
        rho = int(np.sum(sf > max(F.shape) * np.finfo(float).eps * max(sf[0], 1e-300)))
        if rho == F.shape[0] and sf[0] <= 1e6 * sf[rho - 1]:
            R, rhs = F, setup.Ys  # well conditioned with independent rows: the raw (often sparse) rows
        else:
            Uf, sf, Vft = Uf[:, :rho], sf[:rho], Vft[:rho]
            R, rhs = Vft, (Uf.T @ setup.Ys) / sf[:, None]
            back = Uf / sf[None, :]
    p = R.shape[0]
    nv, nc, nt = m * k, (k if has_c0 else 0), m
    nr = p * k if mse else 0
    n = nv + nc + nt + nr
    # one COO assembly of [A_eq; A_soc] (scipy's kron/hstack/vstack cost more than the solve at N ≈ 50)
    ii, jj = np.nonzero(R)
    vals = R[ii, jj]
    jv = np.where(jj < m, jj * k, nv + (jj - m))  # column of W[j, l=0]: V row-major, then c̃_0
    rows = [(ii[:, None] * k + np.arange(k)).ravel()]
    cols = [(jv[:, None] + np.arange(k)).ravel()]
    data = [np.repeat(vals, k)]
    if mse:
        rows.append(np.arange(nr))
        cols.append(nv + nc + nt + np.arange(nr))
        data.append(-np.ones(nr))
    n_eq = p * k
    socc = np.empty(m * (k + 1), dtype=int)  # second-order cones (t_j, v_j): s = −A x selects t_j then v_j
    socc[:: k + 1] = nv + nc + np.arange(m)
    for l in range(k):
        socc[l + 1 :: k + 1] = np.arange(m) * k + l
    rows.append(n_eq + np.arange(m * (k + 1)))
    cols.append(socc)
    data.append(-np.ones(m * (k + 1)))
    A = sp.csc_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_eq + m * (k + 1), n))
    b = np.concatenate([rhs.reshape(-1), np.zeros(m * (k + 1))])
    pdiag = np.zeros(n)
    q = np.zeros(n)
    pdiag[nv : nv + nc] = 2.0 * setup.lam_0
    q[nv + nc : nv + nc + nt] = 2.0 * setup.lam_v
    if mse:
        pdiag[nv + nc + nt :] = 2.0 / N
    nzp = np.nonzero(pdiag)[0]
    P = sp.csc_matrix((pdiag[nzp], (nzp, nzp)), shape=(n, n))
    cones = [clarabel.ZeroConeT(n_eq)] + [clarabel.SecondOrderConeT(k + 1)] * m
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for key, val in (solver_opts or {}).items():
        if not hasattr(settings, key):
            raise ValueError(f"solver_opts: Clarabel has no setting {key!r}")
        setattr(settings, key, val)
    sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    x = np.asarray(sol.x) if sol.x is not None else None
    has_x = x is not None and x.size == n and bool(np.all(np.isfinite(x)))
    status = check_status(sol.status, solver="CLARABEL", where=f"depth-2 master (group lasso, {m} neurons)",
                          has_solution=has_x)
    V = x[:nv].reshape(m, k)
    c0 = x[nv : nv + nc] if has_c0 else np.zeros(k)
    if mse:
        Theta = 2.0 / N * (setup.Ys - S @ V - c0[None, :])
    else:
        Theta = np.asarray(sol.z)[: p * k].reshape(p, k)
        if back is not None:
            Theta = back @ Theta
        if np.sum(Theta * setup.Ys) < 0:
            Theta = -Theta
    return V, c0, Theta, status


def cvxpy_objective(setup, Yhat, pen):
    """``C(Ŷ; Ỹ) + pen`` as a cvxpy expression (MSE, cross-entropy), or ``pen`` with the constraint
    ``Ŷ = Ỹ`` (interpolation).  Returns (objective, constraints)."""
    import cvxpy as cp

    N = setup.N
    if setup.cost == "mse":
        return cp.sum_squares(Yhat - setup.Ys) / N + pen, []
    if setup.cost == "cross_entropy":
        return (cp.sum(cp.log_sum_exp(Yhat, axis=1)) - cp.sum(cp.multiply(setup.Ys, Yhat))) / N + pen, []
    return pen, [Yhat == setup.Ys]


def _master_cvxpy(setup, S: np.ndarray, solver: str, solver_opts: dict | None):
    """The group-lasso master through cvxpy (cross-entropy, SCS, MOSEK)."""
    import cvxpy as cp

    N, k = setup.N, setup.k
    m = S.shape[1]
    V = cp.Variable((m, k))
    Yhat = S @ V
    pen = 2 * setup.lam_v * cp.sum(cp.norm(V, 2, axis=1))
    c0 = None
    if setup.has_bias:
        c0 = cp.Variable((1, k))
        Yhat = Yhat + np.ones((N, 1)) @ c0
        pen = pen + setup.lam_0 * cp.sum_squares(c0)
    cons = []
    F = _design(setup, S)
    if setup.cost == "mse" and F.shape[1] < N:
        # ‖F V − Y‖² = ‖R V − QᵀY‖² + ‖Y‖² − ‖QᵀY‖² with F = QR: an m×k residual instead of N×k
        Q, R = np.linalg.qr(F)
        QtY = Q.T @ setup.Ys
        const = max(float(np.sum(setup.Ys**2) - np.sum(QtY**2)), 0.0)
        Vall = V if c0 is None else cp.vstack([V, c0])
        obj = (cp.sum_squares(R @ Vall - QtY) + const) / N + pen
    else:
        obj, cons = cvxpy_objective(setup, Yhat, pen)
    prob = cp.Problem(cp.Minimize(obj), cons)
    where = f"depth-2 master (group lasso, {m} neurons)"
    try:
        with warnings.catch_warnings():  # the status is recorded on the result instead
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            prob.solve(solver=solver, **(solver_opts or {}))
    except cp.error.SolverError as exc:
        raise SolverError(f"{where}: solver {solver} failed: {exc}") from exc
    status = check_status(prob.status, solver=solver, where=where, has_solution=V.value is not None)
    Vv = np.asarray(V.value, dtype=float).reshape(m, k)
    c0v = np.zeros(k) if c0 is None else np.asarray(c0.value, dtype=float).ravel()
    Yh = S @ Vv + (c0v[None, :] if setup.has_bias else 0.0)
    if setup.cost == "mse":
        Theta = 2.0 / N * (setup.Ys - Yh)
    elif setup.cost == "cross_entropy":
        from scipy.special import softmax

        Theta = (setup.Ys - softmax(Yh, axis=1)) / N
    else:
        Theta = np.asarray(cons[0].dual_value, dtype=float).reshape(N, k)
        if np.sum(Theta * setup.Ys) < 0:  # cvxpy's sign convention for equality duals
            Theta = -Theta
    return Vv, c0v, Theta, status
