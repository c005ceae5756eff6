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

import time
import warnings

import numpy as np

from ..backends import check_status
from ..exceptions import SolverError

__all__ = ["solve_master", "master_options"]


def master_options(solver: str, solver_opts: dict | None, rtol: float, cost: str = "mse",
                   accuracy: float | None = None) -> dict:
    """Master accuracy follows the certificate's relative tolerance (interior-point gap ≤ rtol/100);
    ``accuracy`` asks for at least that (e.g. 1e-10, the interior point's limit).  The user's own
    ``solver_opts`` settings always win."""
    opts = dict(solver_opts or {})
    acc = min(1e-8, rtol / 100.0) if cost != "cross_entropy" else min(1e-10, rtol / 1e4)  # exp cones: harder
    if accuracy is not None:
        acc = min(acc, float(accuracy))
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


def _clarabel_settings(solver_opts: dict | None, **defaults):
    """Clarabel settings: quiet, ``defaults``, then the user's ``solver_opts`` (unknown names are
    an error naming them)."""
    import clarabel

    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for key, val in {**defaults, **(solver_opts or {})}.items():
        if not hasattr(settings, key):
            raise ValueError(f"solver_opts: Clarabel has no setting {key!r}")
        setattr(settings, key, val)
    return settings


def _soc_columns(m: int, k: int, t0: int) -> np.ndarray:
    """Variable indices of the second-order cones ``(t_j, v_j)``, j < m: ``t_j`` at ``t0 + j``,
    ``v_j`` (k entries) at ``j·k + l`` (V stored row-major first)."""
    cols = np.empty(m * (k + 1), dtype=int)
    cols[:: k + 1] = t0 + np.arange(m)
    for l in range(k):
        cols[l + 1 :: k + 1] = np.arange(m) * k + l
    return cols


def solve_master(setup, S: np.ndarray, solver: str, solver_opts: dict | None, warm=None, objective_scale=None,
                 active_set: bool = False):
    """Group lasso over the active (scaled) columns S (N×m).  Returns ``(Ṽ, c̃_0, Θ̃, status)``.
    ``warm = (Ṽ, c̃_0)`` (rows for the first columns of S; the others start at zero) seeds the
    cross-entropy master and, with ``active_set`` (MSE), the active-set Newton master
    (:func:`_master_active_set`, Clarabel when it does not converge); the conic masters ignore it.
    ``objective_scale``: an estimate of the optimal value (internal units, e.g. the best loss so
    far); below 1 the MSE master's objective is divided by it, so that the interior point's
    absolute gap and dual-feasibility tolerances are relative ones (the solution is unchanged; Θ̃
    comes from the residual)."""
    if active_set and setup.cost == "mse" and warm is not None:
        # as accurate as the interior point would be, at least, where rounding stops Newton
        out = _master_active_set(setup, S, warm, accept_tol=float((solver_opts or {}).get("tol_gap_rel", 1e-8)))
        if out is not None:
            return out
    if solver == "CLARABEL" and setup.cost in ("mse", "interpolate"):
        return _master_clarabel(setup, S, solver_opts, objective_scale)
    if solver == "CLARABEL" and setup.cost == "cross_entropy":
        try:
            return _master_ce_newton(setup, S, solver_opts, warm)
        except (SolverError, np.linalg.LinAlgError):
            pass  # extreme data defeat a Newton step: the exponential-cone program instead
    return _master_cvxpy(setup, S, solver, solver_opts)


def _design(setup, S):
    """``F = [S, 1]`` (with the bias column when β > 0)."""
    return np.hstack([S, np.ones((setup.N, 1))]) if setup.has_bias else S


def _master_clarabel(setup, S: np.ndarray, solver_opts: dict | None, objective_scale=None):
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
    rows.append(n_eq + np.arange(m * (k + 1)))  # second-order cones (t_j, v_j): s = −A x selects t_j then v_j
    cols.append(_soc_columns(m, k, nv + nc))
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
        if objective_scale is not None and np.isfinite(objective_scale) and objective_scale < 1.0:
            gamma = 1.0 / max(float(objective_scale), 1e-12)  # objective of order one (solve_master)
            pdiag *= gamma
            q *= gamma
    nzp = np.nonzero(pdiag)[0]
    P = sp.csc_matrix((pdiag[nzp], (nzp, nzp)), shape=(n, n))
    cones = [clarabel.ZeroConeT(n_eq)] + [clarabel.SecondOrderConeT(k + 1)] * m
    sol = clarabel.DefaultSolver(P, q, A, b, cones, _clarabel_settings(solver_opts)).solve()
    x = np.asarray(sol.x) if sol.x is not None else None
    has_x = x is not None and x.size == n and bool(np.all(np.isfinite(x)))
    status = check_status(sol.status, solver="CLARABEL", where=f"depth-2 master (group lasso, {m} neurons)",
                          has_solution=has_x)
    V = x[:nv].reshape(m, k)
    c0 = x[nv : nv + nc] if has_c0 else np.zeros(k)
    if mse:
        if float((solver_opts or {}).get("tol_gap_rel", 1e-8)) <= 1e-10:
            # asked for (nearly) the interior point's limit (certificate rtol ≤ 1e-8): Newton on the support
            V, c0, polished = _polish_mse(setup, F, V, c0)
            if polished:
                status = "optimal"
        Theta = 2.0 / N * (setup.Ys - S @ V - c0[None, :])
    else:
        Theta = np.asarray(sol.z)[: p * k].reshape(p, k)
        if back is not None:
            Theta = back @ Theta
        if np.sum(Theta * setup.Ys) < 0:
            Theta = -Theta
    return V, c0, Theta, status


def _master_active_set(setup, S: np.ndarray, warm, *, kkt_tol: float = 1e-11, accept_tol: float = 1e-9,
                       max_outer: int = 60):
    r"""The MSE master by an active-set Newton method from the previous round's weights ``warm``
    (docs/design.md §3.4): column generation changes the master a little each round (a few new
    columns, the old optimum nearly optimal), where an interior point starts from scratch.

    Loop: Newton on the support (:func:`_support_newton`: groups reaching zero leave it); then the
    columns off it whose conditions fail (``‖S_jᵀΘ̃‖ > 2λ̃``) enter, the most violated first, each
    at the exact minimiser along its steepest direction ``ŝ_j = S_jᵀΘ̃/‖S_jᵀΘ̃‖``,
    ``t = (‖S_jᵀΘ̃‖ − 2λ̃)/((2/N)‖S_j‖²)`` (residual updated between entries).  It stops when all
    conditions hold to ``kkt_tol`` relative to 2λ̃ — the interior point's optimum to a higher
    accuracy than the interior point reaches; ``accept_tol`` where rounding stops the progress
    first (near-parallel columns) — and returns ``(Ṽ, c̃_0, Θ̃, "optimal")``; or None
    (not converged within ``max_outer`` passes, or a Newton failure), and the caller solves by
    Clarabel.  Nothing here can make a bound wrong: the network is checked by its forward pass
    and Θ̃ by the oracle, whatever the master returns."""
    N, k = setup.N, setup.k
    m = S.shape[1]
    lam2 = 2.0 * setup.lam_v
    has_c0 = setup.has_bias
    if not (np.isfinite(lam2) and lam2 > 0) or (has_c0 and not np.isfinite(setup.lam_0)):
        return None
    F = _design(setup, S)
    W = np.zeros((F.shape[1], k))
    Vw, c0w = warm
    Vw = np.asarray(Vw, dtype=float)
    if Vw.ndim != 2 or Vw.shape[0] > m or Vw.shape[1] != k:
        return None
    W[: Vw.shape[0]] = Vw
    nw = np.linalg.norm(W[:m], axis=1)
    W[:m][nw <= 1e-9 * max(nw.max(initial=0.0), 1e-300)] = 0.0
    if has_c0:
        W[m] = c0w
    fn2 = (2.0 / N) * np.sum(S * S, axis=0)
    obj = _mse_objective(setup, F, W, m)
    if np.count_nonzero(np.linalg.norm(W[:m], axis=1)) > N:
        # more columns than the data tell apart (an interior point's spread support)
        W, obj = _reduce_support(setup, F, W, obj, m)
    last = None
    for _ in range(max_outer):
        if np.count_nonzero(np.linalg.norm(W[:m], axis=1)) * k > 600:
            return None  # large supports: the interior point
        if has_c0 or np.any(W[:m]):
            W, obj, ok = _support_newton(setup, F, W, obj, m, lam2, kkt_tol=kkt_tol, max_iter=50,
                                         accept_tol=accept_tol)
            if not ok:
                return None
        R = setup.Ys - F @ W
        G = (2.0 / N) * (S.T @ R)
        gn = np.linalg.norm(G, axis=1)
        off = np.linalg.norm(W[:m], axis=1) == 0
        viol = np.nonzero(off & (gn > lam2 * (1.0 + kkt_tol)))[0]
        if viol.size and np.array_equal(viol, last) and gn[viol].max() <= lam2 * (1.0 + accept_tol):
            viol = viol[:0]  # the same columns again, violated by rounding only: as accurate as it gets
        last = viol
        if viol.size == 0:
            Theta = (2.0 / N) * R
            return W[:m].copy(), (W[m].copy() if has_c0 else np.zeros(k)), Theta, "optimal"
        for j in viol[np.argsort(-gn[viol], kind="stable")][:64]:
            g = (2.0 / N) * (S[:, j] @ R)
            ng = float(np.linalg.norm(g))
            if ng <= lam2 or fn2[j] <= 0:
                continue
            W[j] = ((ng - lam2) / fn2[j]) * (g / ng)
            R -= np.outer(S[:, j], W[j])
        obj = _mse_objective(setup, F, W, m)
    return None


def _penalty(setup, W, m):
    """2λ̃ Σ‖ṽ_j‖ + λ̃_0‖c̃_0‖² at ``W = [Ṽ; c̃_0]`` (rows ``m:`` the bias, when β > 0)."""
    pen = 2.0 * setup.lam_v * float(np.sum(np.linalg.norm(W[:m], axis=1)))
    if setup.has_bias:
        pen += setup.lam_0 * float(np.sum(W[m:] ** 2))
    return pen


def _kkt_violation(G, Wv, lam2, bias=None):
    """The group lasso's optimality conditions relative to ``lam2`` = 2λ̃: the largest of
    ``‖G_j − 2λ̃ v̂_j‖`` on the support, ``(‖G_j‖ − 2λ̃)_+`` off it (``G = −∂C/∂V``) and ``‖bias‖``
    (the bias condition's residual).  Returns ``(violation, ‖v_j‖, ‖G_j‖)``."""
    nv = np.linalg.norm(Wv, axis=1)
    gn = np.linalg.norm(G, axis=1)
    on = nv > 0
    res = np.where(on, np.linalg.norm(G - lam2 * Wv / np.where(on, nv, 1.0)[:, None], axis=1),
                   np.maximum(gn - lam2, 0.0))
    kkt = float(res.max(initial=0.0)) / lam2
    if bias is not None:
        kkt = max(kkt, float(np.linalg.norm(bias)) / lam2)
    return kkt, nv, gn


def _add_group_curvature(H, u, ns, lam2):
    """Add the penalty's Hessian on the support, ``2λ̃(I − û_jû_jᵀ)/‖v_j‖``, to the diagonal blocks
    of ``H`` (group ``j`` at rows ``j·k … j·k + k − 1``, ``k = u.shape[1]``)."""
    mw, k = u.shape
    blocks = lam2 * (np.eye(k)[None] - u[:, :, None] * u[:, None, :]) / ns[:, None, None]
    base = np.arange(mw)[:, None, None] * k
    H[base + np.arange(k)[None, :, None], base + np.arange(k)[None, None, :]] += blocks


def _mse_objective(setup, F, W, m):
    """(1/N)‖F W − Ỹ‖² + 2λ̃ Σ‖ṽ_j‖ + λ̃_0‖c̃_0‖² at ``W = [Ṽ; c̃_0]``."""
    return float(np.sum((F @ W - setup.Ys) ** 2)) / setup.N + _penalty(setup, W, m)


def _polish_mse(setup, F, V, c0, *, max_iter: int = 20, kkt_tol: float = 1e-11):
    r"""Newton steps on the interior-point solution's support (docs/design.md §3.4).

    An interior-point master stops at a relative gap of ≈ 1e-10 at best (and reports
    "optimal_inaccurate" when asked for less), and column generation prices its dual point: a
    column whose optimality condition is violated by 1e-9 prices out again and again.  On the
    support (groups above 1e-9 of the largest) the group lasso is smooth: Newton steps (Hessian
    ``(2/N)F_wᵀF_w ⊗ I + 2λ̃(I − ûûᵀ)/‖ṽ‖`` per group, ``+ 2λ̃_0 I`` for the bias) reach its optimum
    to machine precision.  When the support has more columns than the data tell apart the Hessian
    is singular: along its null space the predictions do not move and the penalty is linear, so
    the support is first reduced by the recovery's Carathéodory step
    (:func:`covcone.shallow.recovery.reduce_atoms`), and any null direction left is walked along
    until a group reaches zero, which leaves the support — the optimum's predictions are unique,
    its weights need not be.  When the Newton
    step would halve a group, the point goes along it until the first such group reaches zero,
    which leaves the support.  Returns
    ``(Ṽ, c̃_0, True)`` when the optimality conditions then hold on *all* columns to ``kkt_tol``
    relative to 2λ̃ (``‖S_jᵀΘ̃ − 2λ̃ v̂_j‖`` on the support, ``(‖S_jᵀΘ̃‖ − 2λ̃)_+`` off it,
    ``‖1ᵀΘ̃ − 2λ̃_0c̃_0‖`` for the bias); otherwise the input unchanged, with False.  Only Θ̃ reaches the lower bound, which is evaluated independently (valid
    for any Θ̃)."""
    N, k = setup.N, setup.k
    m = V.shape[0]
    lam2 = 2.0 * setup.lam_v
    has_c0 = setup.has_bias
    W0 = np.vstack([V, c0[None, :]]) if has_c0 else V.copy()
    norms = np.linalg.norm(W0[:m], axis=1)
    finite = np.isfinite(lam2) and lam2 > 0 and (not has_c0 or np.isfinite(setup.lam_0))
    if not finite or norms.max(initial=0.0) == 0.0:
        return V, c0, False
    W = W0.copy()
    W[:m][norms <= 1e-9 * norms.max()] = 0.0
    obj = _mse_objective(setup, F, W, m)
    on = np.nonzero(np.linalg.norm(W[:m], axis=1) > 0)[0]
    if on.size * N * k > 2e7:
        return V, c0, False
    # more columns than the data tell apart: the Carathéodory step first — one QR instead of a
    # walk step per column below
    W, obj = _reduce_support(setup, F, W, obj, m)
    first = np.nonzero(np.linalg.norm(W[:m], axis=1) > 0)[0]  # the support only shrinks from here
    if first.size * k > 600:
        return V, c0, False
    W, obj, _ = _support_newton(setup, F, W, obj, m, lam2, kkt_tol=kkt_tol, max_iter=max_iter + first.size)
    Theta = (2.0 / N) * (setup.Ys - F @ W)
    kkt, _, _ = _kkt_violation(F[:, :m].T @ Theta, W[:m], lam2,
                               Theta.sum(axis=0) - 2.0 * setup.lam_0 * W[m] if has_c0 else None)
    if kkt > kkt_tol:
        # not converged: the interior point's solution stands (a point with a lower objective but
        # dropped groups whose conditions fail would price them out again, round after round)
        return V, c0, False
    return W[:m].copy(), (W[m].copy() if has_c0 else np.zeros(k)), True


def _reduce_support(setup, F, W, obj, m):
    """The Carathéodory step of the recovery (:func:`covcone.shallow.recovery.reduce_atoms`) on the
    nonzero groups of ``W``: the same predictions, no larger penalty, at most rank-many columns.
    Returns ``(W, objective)``, the reduced point when its objective is no worse (rounding)."""
    from .recovery import reduce_atoms

    on = np.nonzero(np.linalg.norm(W[:m], axis=1) > 0)[0]
    keep, Vr = reduce_atoms(F[:, on], W[on])
    Wr = W.copy()
    Wr[:m] = 0.0
    Wr[on[keep]] = Vr
    obj_r = _mse_objective(setup, F, Wr, m)
    return (Wr, obj_r) if obj_r <= obj + 1e-14 * abs(obj) else (W, obj)


def _support_newton(setup, F, W, obj, m, lam2, *, kkt_tol: float, max_iter: int, accept_tol: float = 0.0):
    r"""Newton steps on the nonzero groups of ``W`` (and the bias row ``m``, β > 0) until their
    optimality conditions hold to ``kkt_tol`` relative to 2λ̃ (see :func:`_polish_mse`: groups
    heading for zero leave the support, flat directions are walked along until a group reaches
    zero).  Columns outside the support are not looked at.  Returns ``(W, objective, ok)``; when
    rounding stops the progress first (near-parallel columns: an ill-conditioned Gram matrix),
    ``ok`` says whether the conditions hold to ``accept_tol``."""
    N, k = setup.N, setup.k
    has_c0 = setup.has_bias
    first = np.nonzero(np.linalg.norm(W[:m], axis=1) > 0)[0]  # the support only shrinks from here
    first = np.concatenate([first, [m]]) if has_c0 else first
    if first.size < F.shape[1]:  # the columns off the support stay at zero: work on the support's
        Wl, obj, ok = _support_newton(setup, F[:, first], W[first], obj, first.size - int(has_c0), lam2,
                                      kkt_tol=kkt_tol, max_iter=max_iter, accept_tol=accept_tol)
        W = W.copy()
        W[first] = Wl
        return W, obj, ok
    gram = (2.0 / N) * (F.T @ F)
    stalled, best_kkt, last_mw = 0, np.inf, -1
    for _ in range(max_iter):
        nv = np.linalg.norm(W[:m], axis=1)
        ws = np.nonzero(nv > 0)[0]
        rows = np.concatenate([ws, [m]]) if has_c0 else ws
        mw = ws.size
        Fw = F[:, rows]
        Theta = (2.0 / N) * (setup.Ys - Fw @ W[rows])
        G = Fw.T @ Theta
        kkt, _, _ = _kkt_violation(G[:mw], W[ws], lam2, G[mw:] - 2.0 * setup.lam_0 * W[m:] if has_c0 else None)
        if kkt <= kkt_tol:
            return W, obj, True
        if rows.size == 0:
            return W, obj, False  # nothing left to step on
        stalled = stalled + 1 if kkt >= 0.5 * best_kkt and mw == last_mw else 0
        if stalled >= 5:
            return W, obj, kkt <= accept_tol  # rounding stops the progress (five steps without halving it)
        best_kkt, last_mw = min(best_kkt, kkt), mw
        ns = nv[ws]
        u = W[ws] / ns[:, None]
        grad = -G
        grad[:mw] += lam2 * u
        if has_c0:
            grad[mw:] += 2.0 * setup.lam_0 * W[m:]
        H = np.kron(gram[np.ix_(rows, rows)], np.eye(k)) if k > 1 else gram[np.ix_(rows, rows)].copy()
        _add_group_curvature(H, u, ns, lam2)
        if has_c0:
            H[mw * k :, mw * k :] += 2.0 * setup.lam_0 * np.eye(k)
        ev, U = np.linalg.eigh((H + H.T) / 2.0)
        flat = ev <= 1e-11 * max(ev[-1], 1e-300)
        g = grad.ravel()
        if np.any(flat):
            d = -(U[:, flat] @ (U[:, flat].T @ g)).reshape(rows.size, k)
            cj = np.sum(u * d[:mw], axis=1)  # null directions scale each group along its own direction
            hit = cj < 0
            if np.any(hit) and float(g @ d.ravel()) < 0:
                alpha = np.min(-ns[hit] / cj[hit])
                j0 = ws[hit][np.argmin(-ns[hit] / cj[hit])]
                Wt = W.copy()
                Wt[rows] += alpha * d
                Wt[j0] = 0.0
                obj_t = _mse_objective(setup, F, Wt, m)
                if obj_t <= obj + 1e-14 * abs(obj):
                    W, obj = Wt, obj_t
                    continue
        keep = ~flat
        step = -(U[:, keep] @ ((U[:, keep].T @ g) / ev[keep])).reshape(rows.size, k)
        if not np.all(np.isfinite(step)):
            return W, obj, False
        along = np.sum(step[:mw] * u, axis=1)  # each group's change along its own direction
        fading = ns + along < 0.5 * ns
        if np.any(fading):
            # a group heading for zero: go along the step until the first one reaches zero (the
            # model decreases all the way) and take it out of the support; groups that the step
            # takes to zero together leave together
            reach = ns[fading] / -along[fading]
            alpha = float(np.min(reach))
            if alpha < 1.0:
                Wt = W.copy()
                Wt[rows] += alpha * step
                Wt[ws[fading][reach <= alpha * (1 + 1e-9)]] = 0.0
                obj_t = _mse_objective(setup, F, Wt, m)
                if obj_t <= obj + 1e-14 * abs(obj):
                    W, obj = Wt, obj_t
                    continue
            # otherwise (no group reaches zero within the step, or the model misled): the line search
        decrease = float(g @ step.ravel())
        if not decrease < 0:
            return W, obj, False
        alpha, Wa = 1.0, None
        while alpha >= 1e-6:
            Wt = W.copy()
            Wt[rows] += alpha * step
            obj_t = _mse_objective(setup, F, Wt, m)
            if obj_t <= obj + 0.25 * alpha * decrease + 1e-15 * abs(obj):
                Wa = Wt
                break
            alpha *= 0.5
        if Wa is None:
            return W, obj, False
        W, obj = Wa, obj_t
    return W, obj, False


def _ce_parts(setup, F, W):
    """Cross-entropy master objective at ``W = [Ṽ; c̃_0]`` (nf × k), the softmax P and
    Θ̃ = (Ỹ − P)/N."""
    from scipy.special import softmax

    from ..costs import cost_value

    m = W.shape[0] - (1 if setup.has_bias else 0)
    Z = F @ W
    obj = cost_value(Z, setup.Ys, "cross_entropy") + _penalty(setup, W, m)
    P = softmax(Z, axis=1)
    return obj, P, (setup.Ys - P) / setup.N


def _ce_hessian(F, P, E, N):
    r"""Hessian of ``(1/N) Σ_i lse(F_i W̃ Eᵀ)`` in ``vec(W̃)`` (row-major): ``(1/N) Σ_i
    (f_i f_iᵀ) ⊗ Eᵀ(diag p_i − p_i p_iᵀ)E``, from ``k`` weighted Gram matrices and one product."""
    nf, kr = F.shape[1], E.shape[1]
    H = np.zeros((nf, kr, nf, kr))
    for l in range(E.shape[0]):
        G = F.T @ (P[:, l : l + 1] * F)
        H += G[:, None, :, None] * np.outer(E[l], E[l])[None, :, None, :]
    H = H.reshape(nf * kr, nf * kr)
    Z = (F[:, :, None] * (P @ E)[:, None, :]).reshape(F.shape[0], nf * kr)
    H -= Z.T @ Z
    return (H + H.T) / (2.0 * N)


def _ce_hessian_factor(F, P, E, N):
    r"""``L`` with ``LᵀL`` = :func:`_ce_hessian` (``N·kr`` rows): per sample, ``M_i = Eᵀ(diag p_i −
    p_i p_iᵀ)E = C_iᵀC_i`` and the rows of ``L`` are ``f_i ⊗ C_i[a] / √N``.  The model Hessian has rank
    ≤ N·kr; with more working columns than that, the SOCP step states it through ``L`` (a few
    dense rows) instead of a dense quadratic form."""
    PE = P @ E
    M = np.einsum("il,la,lb->iab", P, E, E) - PE[:, :, None] * PE[:, None, :]
    w, U = np.linalg.eigh(M)
    C = np.sqrt(np.maximum(w, 0.0))[:, :, None] * np.swapaxes(U, 1, 2)  # C_i = diag(√w) Uᵀ
    nf, kr = F.shape[1], E.shape[1]
    return (F[:, None, :, None] * C[:, :, None, :]).reshape(F.shape[0] * kr, nf * kr) / np.sqrt(N)


def _master_ce_newton(setup, S: np.ndarray, solver_opts: dict | None, warm=None, *, max_iter: int = 60,
                      kkt_tol: float = 1e-8, max_enter: int = 64):
    r"""The cross-entropy group-lasso master by an active-set proximal Newton method
    (docs/design.md §3.4).

    The exponential-cone program (N·k cones with dense rows) takes an interior-point solver tens
    of seconds at N = 1000, k = 10.  Here each step minimises, over the working set (columns with
    weight or with a violated optimality condition), the exact second-order model of the
    cross-entropy plus the exact penalty — a small SOCP with a dense quadratic objective — then
    a backtracking line search on the true objective.  Softmax is blind to a common shift of the
    outputs and the optimum has ``W·1 = 0`` (every ``Θ̃_i`` sums to zero for one-hot targets), so
    the outputs live in ``1⊥``: ``W = W̃Eᵀ`` with ``E`` orthonormal (norms unchanged), which removes
    the model's flat directions.  Once the support is settled (same working set twice, no group
    below 1e-3 of the largest) the objective is smooth there and the step is a plain Newton step
    (one Cholesky solve).  It stops, status "optimal", when the optimality conditions hold to
    ``kkt_tol`` relative to 2λ̃ over *all* columns (``‖S_jᵀΘ̃ − 2λ̃ v̂_j‖`` on the support,
    ``(‖S_jᵀΘ̃‖ − 2λ̃)_+`` off it, ``‖1ᵀΘ̃ − 2λ̃_0 c̃_0‖`` for the bias) or when the exact model
    predicts no decrease at machine precision (small groups' directions keep the first test from
    reading 0) while the conditions hold to 1e-3; "optimal_inaccurate" otherwise, at the iteration
    limit, or when the line search fails.  Only
    ``Θ̃`` reaches the lower bound, which covcone evaluates itself (valid for any Θ̃).

    At most ``max_enter`` columns off the support enter the working set per step (the most violated
    first; the others are tested again at the next step): from zero weights every column is
    violated, and an SOCP over all of them is dense (252 columns, k = 10: 7 s a step).  A
    ``time_limit`` in ``solver_opts`` bounds the whole method, not each step: past it the iterate
    is returned as "optimal_inaccurate" (its network is checked by the forward pass, its Θ̃ by
    the oracle)."""
    import scipy.linalg

    N, k = setup.N, setup.k
    m = S.shape[1]
    has_c0 = setup.has_bias
    F = _design(setup, S)
    nf = F.shape[1]
    if k > 1 and np.allclose(setup.Ys.sum(axis=1), 1.0, atol=1e-12):
        E = np.linalg.qr(np.eye(k) - 1.0 / k)[0][:, : k - 1]
    else:
        E = np.eye(k)
    kr = E.shape[1]
    Wt = np.zeros((nf, kr))
    if warm is not None:
        Vw, c0w = warm
        mw = min(m, Vw.shape[0])
        Wt[:mw] = Vw[:mw] @ E
        if has_c0:
            Wt[m:] = np.asarray(c0w, dtype=float).reshape(1, k) @ E
    where = f"depth-2 master (cross-entropy group lasso, {m} neurons)"
    lam2 = 2.0 * setup.lam_v
    settings = _clarabel_settings(solver_opts, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    limit = (solver_opts or {}).get("time_limit")
    deadline = None if limit is None else time.perf_counter() + float(limit)
    status = "optimal_inaccurate"
    prev_support = None
    obj, P, Theta = _ce_parts(setup, F, Wt @ E.T)
    for _ in range(max_iter):
        kkt, nv, gn = _kkt_violation((S.T @ Theta) @ E, Wt[:m], lam2,  # −∂/∂Ṽ of the cross-entropy
                                     Theta.sum(axis=0) @ E - 2.0 * setup.lam_0 * Wt[m] if has_c0 else None)
        if kkt <= kkt_tol:
            status = "optimal"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            break  # the time limit: the iterate, "optimal_inaccurate"
        enter = np.nonzero((nv == 0) & (gn > lam2 * (1.0 - 1e-3)))[0]
        enter = enter[np.argsort(-gn[enter], kind="stable")[:max_enter]]
        ws = np.union1d(np.nonzero(nv > 0)[0], enter)
        rows = np.concatenate([ws, [m]]) if has_c0 else ws
        Fw = F[:, rows]
        mw = ws.size
        H = _ce_hessian(Fw, P, E, N)
        grad = (-(Fw.T @ Theta) @ E).ravel()
        x0 = Wt[rows].ravel()
        if has_c0:
            H[mw * kr :, mw * kr :] += 2.0 * setup.lam_0 * np.eye(kr)
            grad[mw * kr :] += 2.0 * setup.lam_0 * x0[mw * kr :]
        D = np.zeros_like(Wt)
        smooth = np.array_equal(ws, prev_support) and nv[ws].min(initial=np.inf) >= 1e-3 * nv.max(initial=0.0)
        if smooth:
            # the support is settled: the objective is smooth there, one Newton step on all of it
            # (a dense Cholesky solve instead of an SOCP)
            xs = x0[: mw * kr].reshape(mw, kr)
            ns = np.linalg.norm(xs, axis=1)
            u = xs / ns[:, None]
            Hs = H.copy()
            gs = grad.copy()
            gs[: mw * kr] += lam2 * u.ravel()
            _add_group_curvature(Hs, u, ns, lam2)
            try:
                step = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(Hs), gs)
            except (np.linalg.LinAlgError, ValueError):
                step = None
            if step is not None and np.all(np.isfinite(step)):
                D[rows] = step.reshape(rows.size, kr)
                shrink = np.linalg.norm(xs + D[ws], axis=1) < 0.5 * ns
                if np.any(shrink):
                    smooth = False  # a group heads for zero: the SOCP step decides the support
                    D[:] = 0.0
            else:
                smooth = False
        prev_support = ws
        if smooth:
            decrease = float(gs @ D[rows].ravel())
        else:
            L = _ce_hessian_factor(Fw, P, E, N) if N < rows.size else None  # rank N·kr < rows·kr
            if deadline is not None:  # the step gets the time that is left of the whole method
                settings.time_limit = max(deadline - time.perf_counter(), 1e-3)
            try:
                decrease = _ce_socp_step(H, grad, x0, Wt, rows, ws, m, kr, lam2, nv, D, settings, where, L=L,
                                         lam_0=setup.lam_0 if has_c0 else None)
            except SolverError:
                if deadline is not None and time.perf_counter() >= deadline:
                    break  # stopped by the time limit without a point: the iterate stands
                raise
        if not decrease < -1e-13 * abs(obj):
            # the exact model predicts no further decrease at machine precision: converged (small
            # groups' directions keep the conditions above on the support from reading 0) — unless
            # a condition is still violated by more than 0.1 % of 2λ̃ (weights many orders above
            # the columns' scale: the model's decrease drowns in rounding)
            status = "optimal" if kkt <= 1e-3 else "optimal_inaccurate"
            break
        alpha = 1.0
        while True:
            Wa = Wt + alpha * D
            obj_a, P_a, Theta_a = _ce_parts(setup, F, Wa @ E.T)
            if obj_a <= obj + 0.25 * alpha * decrease:
                break
            alpha *= 0.5
            if alpha < 1e-8:
                Wa = None
                break
        if Wa is None:
            break
        if alpha < 1.0:
            prev_support = None  # far from the solution: let the next step re-decide the support
        vn = np.linalg.norm(Wa[:m], axis=1)
        tiny = (vn > 0) & (vn <= 1e-9 * vn.max(initial=0.0))
        if np.any(tiny):  # interior-point zeros (≈ 1e-10) are zeros: the support decides the conditions
            Wa[:m][tiny] = 0.0
            obj_a, P_a, Theta_a = _ce_parts(setup, F, Wa @ E.T)
        Wt, obj, P, Theta = Wa, obj_a, P_a, Theta_a
    W = Wt @ E.T
    return W[:m].copy(), (W[m].copy() if has_c0 else np.zeros(k)), Theta, status


def _ce_socp_step(H, grad, x0, Wt, rows, ws, m, kr, lam2, nv, D, settings, where, *, L=None, lam_0=None):
    """The proximal Newton step of :func:`_master_ce_newton` on the working set ``ws`` (an SOCP
    with the model Hessian ``H``); fills ``D`` and returns the model's predicted decrease.  With
    ``L`` (``H = LᵀL`` + ``2λ_0 I`` on the bias rows when ``lam_0`` is given) the quadratic is
    ``½‖y‖²`` with ``y = Lx``: a few dense rows instead of a dense ``nw × nw`` form (the same step,
    an order of magnitude faster when the working set is much larger than ``N·kr``)."""
    import clarabel
    import scipy.sparse as sp

    nw, mw = rows.size * kr, ws.size
    # model: ½ xᵀHx + (grad − H x0)ᵀx + 2λ̃ Σ t_j, ‖ṽ_j‖ ≤ t_j  (x = vec W̃ on the working set)
    ny = 0 if L is None else L.shape[0]
    n = nw + mw + ny
    q = np.concatenate([grad - H @ x0, np.full(mw, lam2), np.zeros(ny)])
    A = sp.csc_matrix((-np.ones(mw * (kr + 1)), (np.arange(mw * (kr + 1)), _soc_columns(mw, kr, nw))),
                      shape=(mw * (kr + 1), n))
    b = np.zeros(mw * (kr + 1))
    cones = [clarabel.SecondOrderConeT(kr + 1)] * mw
    if L is None:
        Pm = sp.csc_matrix(np.triu(np.pad(H, ((0, mw), (0, mw)))))
    else:
        pdiag = np.zeros(n)
        pdiag[nw + mw :] = 1.0
        if lam_0 is not None:
            pdiag[(rows.size - 1) * kr : nw] = 2.0 * lam_0  # the bias row (last in ``rows``)
        Pm = sp.diags(pdiag, format="csc")
        A = sp.vstack([sp.hstack([sp.csc_matrix(L), sp.csc_matrix((ny, mw)), -sp.eye(ny)]), A], format="csc")
        b = np.concatenate([np.zeros(ny), b])
        cones = [clarabel.ZeroConeT(ny)] + cones
    sol = clarabel.DefaultSolver(Pm, q, A, b, cones, settings).solve()
    x = np.asarray(sol.x) if sol.x is not None else None
    has_x = x is not None and x.size == n and bool(np.all(np.isfinite(x)))
    if has_x:
        x = x[: nw + mw]
    check_status(sol.status, solver="CLARABEL", where=where, has_solution=has_x)
    D[rows] = x[:nw].reshape(rows.size, kr) - Wt[rows]
    pen_old = lam2 * float(np.sum(nv))
    pen_new = lam2 * float(np.sum(np.linalg.norm((Wt + D)[:m], axis=1)))
    return float(grad @ D[rows].ravel()) + pen_new - pen_old


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
    if setup.cost in ("mse", "cross_entropy"):
        from ..costs import cost_gradient

        Theta = -cost_gradient(Yh, setup.Ys, setup.cost)  # Θ̃ = −∇C(Ŷ)
    else:
        Theta = np.asarray(cons[0].dual_value, dtype=float).reshape(N, k)
        if np.sum(Theta * setup.Ys) < 0:  # cvxpy's sign convention for equality duals
            Theta = -Theta
    return Vv, c0v, Theta, status
