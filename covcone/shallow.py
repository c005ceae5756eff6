r"""The exact depth-2 solver: an infinite group lasso with an exact pricing oracle.

DESIGN.md §3.4 (paper §2 and Prop. 5: depth 2 is jointly convex over (K_1, K_1^σ, Z_2)).
Balancing each hidden neuron's input and output norms turns λ(‖W_1‖² + ‖W_2‖²) into
2λ Σ_j ‖c_j‖ with unit input weights, so with ``A = [Xᵀ; β1ᵀ]`` and ``s(w) = σ(Aᵀw)``

    P = min C(Σ_j s(w_j) c_jᵀ + β 1 c_0ᵀ) + 2λ Σ_j ‖c_j‖ + λ‖c_0‖²,      ‖w_j‖ = 1,

the covariance-cone program written over generators.  We solve it by fully corrective column
generation:

* **master** — the group lasso over the active neurons (a conic program, cvxpy);
* **pricing** — ``m = max_{‖w‖=1} ‖Θᵀ s(w)‖`` with Θ = −∇C(Ŷ) (or the interpolation dual),
  by :func:`covcone.oracle.max_group_norm` (exact face enumeration where affordable);
* **certificate** — weak duality: for every Θ with ``max_w ‖Θᵀ s(w)‖ ≤ 2λ``,
  ``P ≥ −C*(−Θ) − β²‖Θᵀ1‖²/(4λ)``.  Scaling Θ by ``t ≤ 2λ/m`` makes it feasible, so the best
  such ``t`` gives a valid lower bound whenever ``m`` came from an exact oracle.

The weights are found in the whitened input basis ``A = U S Vᵀ`` (rank r): ``w = U c`` with
``‖c‖ = 1`` and ``z = Aᵀw = Bᵀc``, ``B = S Vᵀ``.  Recovery ends with a vertex (Carathéodory)
step on the atoms ``s_j c_jᵀ`` — the loss does not increase and at most N·k neurons remain — and
the upper bound is always the loss of the recovered :class:`~covcone.Network` by its forward
pass (DESIGN §4).
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from .backends import INACCURATE_STATUSES, InaccurateSolutionWarning, SolverError, choose_solver
from .costs import dual_value
from .network import Network
from .progress import progress
from .result import covariance_pair, is_certified, relative_gap

__all__ = ["GroupLassoSetup", "solve_shallow", "dual_bound", "input_basis"]


def input_basis(X: np.ndarray, beta: float, rtol: float = 1e-10):
    r"""Thin SVD of the input matrix ``A = [Xᵀ; β1ᵀ]`` (d'×N, no β row when β = 0).

    Returns ``(A, U_r, B)`` with ``A = U_r B`` and ``B = S_r V_rᵀ`` (r×N): a unit ``c ∈ R^r``
    is the unit first-layer weight ``w = U_r c`` and its pre-activation is ``z = Bᵀc``.
    """
    A = X.T if beta == 0 else np.vstack([X.T, beta * np.ones((1, X.shape[0]))])
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(S > rtol * max(A.shape) * (S[0] if S.size else 0.0)))
    if r == 0:
        raise ValueError("X: the input matrix [Xᵀ; β1ᵀ] is zero; nothing can be learned (give β > 0 or non-zero X)")
    return A, U[:, :r], S[:r, None] * Vt[:r]


class GroupLassoSetup:
    """The data of one depth-2 problem in the form the column generation needs."""

    def __init__(self, X, Y, *, activation, lam, beta, cost):
        self.X, self.Y, self.activation, self.beta, self.cost = X, Y, activation, beta, cost
        self.lam = 1.0 if cost == "interpolate" else lam  # interpolation: min Σ‖W‖² (λ = 1 form)
        self.N, self.k = Y.shape
        self.A, self.U, self.B = input_basis(X, beta)
        self.r = self.B.shape[0]

    def columns(self, C: np.ndarray) -> np.ndarray:
        """s(w) = σ(Bᵀc) for the rows c of C, as an N×m matrix."""
        return self.activation(self.B.T @ C.T)

    def network(self, C: np.ndarray, V: np.ndarray, c0: np.ndarray) -> Network:
        """Balanced network: W_1 rows √‖v_j‖·w_jᵀ, W_2 columns v_j/√‖v_j‖, bias column c_0."""
        norms = np.linalg.norm(V, axis=1)
        keep = norms > 0
        C, V, norms = C[keep], V[keep], norms[keep]
        t = np.sqrt(norms)
        Win = C @ self.U.T  # n × d'
        if self.beta == 0:
            Win = np.hstack([Win, np.zeros((Win.shape[0], 1))])
        W1 = t[:, None] * Win
        W2 = np.hstack([(V / t[:, None]).T, (c0 if self.beta > 0 else np.zeros(self.k))[:, None]])
        if W1.shape[0] == 0:  # the zero network: one inert neuron keeps shapes valid
            W1 = np.zeros((1, self.X.shape[1] + 1))
            W2 = np.hstack([np.zeros((self.k, 1)), (c0 if self.beta > 0 else np.zeros(self.k))[:, None]])
        return Network([W1, W2], self.activation, self.beta)

    def loss(self, net: Network) -> float:
        if self.cost == "interpolate":
            return net.loss(self.X, self.Y, cost="interpolate")
        return net.loss(self.X, self.Y, lam=self.lam, cost=self.cost)


# --------------------------------------------------------------------------------------------
# master problem
# --------------------------------------------------------------------------------------------
def _master(setup: GroupLassoSetup, S: np.ndarray, solver: str, solver_opts: dict | None):
    """Group lasso over the active columns S (N×m).  Returns (V, c0, Theta, status).

    MSE and interpolation with Clarabel go straight to Clarabel's API (the SOCP is built from
    sparse matrices in microseconds; cvxpy's canonicalisation took ~10× the solve time);
    everything else goes through cvxpy.
    """
    if solver == "CLARABEL" and setup.cost in ("mse", "interpolate"):
        return _master_clarabel(setup, S, solver_opts)
    return _master_cvxpy(setup, S, solver, solver_opts)


def _master_clarabel(setup: GroupLassoSetup, S: np.ndarray, solver_opts: dict | None):
    r"""The group-lasso master as a Clarabel SOCP.

    Variables x = [vec V (m·k, row-major), c_0 (k, β > 0), t (m), r (p·k, MSE)]:
    MSE: min (1/N)‖r‖² + 2λ Σ t_j + λ‖c_0‖² s.t. r = R [V; c_0] − QᵀY (F = [S, β1] = QR),
    interpolation: min 2 Σ t_j + ‖c_0‖² s.t. S V + β1c_0ᵀ = Y;  ‖v_j‖ ≤ t_j (second-order cones).
    """
    import clarabel
    import scipy.sparse as sp

    N, k, lam, beta = setup.N, setup.k, setup.lam, setup.beta
    m = S.shape[1]
    has_c0 = beta > 0
    F = np.hstack([S, beta * np.ones((N, 1))]) if has_c0 else S
    mse = setup.cost == "mse"
    if mse and F.shape[1] < N:
        Q, R = np.linalg.qr(F)
        rhs = Q.T @ setup.Y
    else:
        R, rhs = F, setup.Y
    p = R.shape[0]
    nv, nc, nt = m * k, (k if has_c0 else 0), m
    nr = p * k if mse else 0
    n = nv + nc + nt + nr
    Ik = sp.identity(k, format="csc")
    blocks = [sp.kron(sp.csc_matrix(R[:, :m]), Ik)]
    if has_c0:
        blocks.append(sp.kron(sp.csc_matrix(R[:, m:]), Ik))
    blocks.append(sp.csc_matrix((p * k, nt)))
    if mse:
        blocks.append(-sp.identity(nr, format="csc"))
    A_eq = sp.hstack(blocks, format="csc")
    b_eq = rhs.reshape(-1)
    # second-order cones (t_j, v_j): s = −A x with rows selecting t_j then v_j
    rows = np.arange(m * (k + 1))
    cols = np.empty(m * (k + 1), dtype=int)
    cols[:: k + 1] = nv + nc + np.arange(m)
    for l in range(k):
        cols[l + 1 :: k + 1] = np.arange(m) * k + l
    A_soc = sp.csc_matrix((-np.ones(rows.size), (rows, cols)), shape=(m * (k + 1), n))
    A = sp.vstack([A_eq, A_soc], format="csc")
    b = np.concatenate([b_eq, np.zeros(m * (k + 1))])
    pdiag = np.zeros(n)
    q = np.zeros(n)
    if mse:
        pdiag[nv + nc + nt :] = 2.0 / N
        pdiag[nv : nv + nc] = 2.0 * lam
        q[nv + nc : nv + nc + nt] = 2.0 * lam
    else:
        pdiag[nv : nv + nc] = 2.0
        q[nv + nc : nv + nc + nt] = 2.0
    P = sp.diags(pdiag, format="csc")
    cones = [clarabel.ZeroConeT(A_eq.shape[0])] + [clarabel.SecondOrderConeT(k + 1)] * m
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for key, val in (solver_opts or {}).items():
        if not hasattr(settings, key):
            raise ValueError(f"solver_opts: Clarabel has no setting {key!r}")
        setattr(settings, key, val)
    sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    st = str(sol.status)
    x_ok = sol.x is not None and np.all(np.isfinite(np.asarray(sol.x)))
    if st.endswith("AlmostSolved") or (x_ok and st.split(".")[-1] in ("InsufficientProgress", "MaxIterations", "MaxTime")):
        # the last iterate is still a feasible-ish point: bounds stay valid (the upper bound is a
        # network's loss, the lower a dual bound), the status is recorded on the result
        status = "optimal_inaccurate"
    elif st.endswith("Solved"):
        status = "optimal"
    else:
        raise SolverError(f"depth-2 master (group lasso, {m} neurons): solver CLARABEL returned status {st!r}")
    x = np.asarray(sol.x)
    V = x[:nv].reshape(m, k)
    c0 = x[nv : nv + nc] if has_c0 else np.zeros(k)
    Yh = S @ V + beta * c0[None, :]
    if mse:
        Theta = 2.0 / N * (setup.Y - Yh)
    else:
        Theta = np.asarray(sol.z)[: N * k].reshape(N, k)
        if np.sum(Theta * setup.Y) < 0:
            Theta = -Theta
    return V, c0, Theta, status


def _master_cvxpy(setup: GroupLassoSetup, S: np.ndarray, solver: str, solver_opts: dict | None):
    """The group-lasso master through cvxpy (cross-entropy, SCS, MOSEK)."""
    import cvxpy as cp

    N, k, lam, beta = setup.N, setup.k, setup.lam, setup.beta
    m = S.shape[1]
    V = cp.Variable((m, k))
    Yhat = S @ V
    pen = 2 * lam * cp.sum(cp.norm(V, 2, axis=1))
    c0 = None
    if beta > 0:
        c0 = cp.Variable((1, k))
        Yhat = Yhat + beta * np.ones((N, 1)) @ c0
        pen = pen + lam * cp.sum_squares(c0)
    cons = []
    F = S if c0 is None else np.hstack([S, beta * np.ones((N, 1))])
    if setup.cost == "mse" and F.shape[1] < N:
        # ‖F V − Y‖² = ‖R V − QᵀY‖² + ‖Y‖² − ‖QᵀY‖² with F = QR: an m×k residual instead of N×k
        Q, R = np.linalg.qr(F)
        QtY = Q.T @ setup.Y
        const = max(float(np.sum(setup.Y**2) - np.sum(QtY**2)), 0.0)
        Vall = V if c0 is None else cp.vstack([V, c0])
        obj = (cp.sum_squares(R @ Vall - QtY) + const) / N + pen
    elif setup.cost == "mse":
        obj = cp.sum_squares(Yhat - setup.Y) / N + pen
    elif setup.cost == "cross_entropy":
        obj = (cp.sum(cp.log_sum_exp(Yhat, axis=1)) - cp.sum(cp.multiply(setup.Y, Yhat))) / N + pen
    else:
        cons = [Yhat == setup.Y]
        obj = pen
    prob = cp.Problem(cp.Minimize(obj), cons)
    try:
        with warnings.catch_warnings():  # the status is recorded on the result instead
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            prob.solve(solver=solver, **(solver_opts or {}))
    except cp.error.SolverError as exc:
        raise SolverError(f"depth-2 master (group lasso, {m} neurons): solver {solver} failed: {exc}") from exc
    status = prob.status
    if status not in ("optimal",) + INACCURATE_STATUSES:
        raise SolverError(f"depth-2 master (group lasso, {m} neurons): solver {solver} returned status {status!r}")
    Vv = np.asarray(V.value, dtype=float).reshape(m, k)
    c0v = np.zeros(k) if c0 is None else np.asarray(c0.value, dtype=float).ravel()
    Yh = S @ Vv + beta * c0v[None, :]
    if setup.cost == "mse":
        Theta = 2.0 / N * (setup.Y - Yh)
    elif setup.cost == "cross_entropy":
        from scipy.special import softmax

        Theta = (setup.Y - softmax(Yh, axis=1)) / N
    else:
        Theta = np.asarray(cons[0].dual_value, dtype=float).reshape(N, k)
        # cvxpy's sign convention for equality duals: choose the sign with a positive bound.
        if np.sum(Theta * setup.Y) < 0:
            Theta = -Theta
    return Vv, c0v, Theta, status


def dual_bound(Theta: np.ndarray, m: float, Y: np.ndarray, *, cost: str, lam: float, beta: float) -> tuple[float, float]:
    r"""The weak-duality bound ``max_{0 ≤ t ≤ 2λ/m} D(tΘ)`` (DESIGN §3.4) and the best t.

    ``D(Θ) = −C*(−Θ) − β²‖Θᵀ1‖²/(4λ)``; for cross-entropy t ≤ 1 keeps Θ in the conjugate's
    domain.  Valid for the global optimum only when ``m ≥ max_{‖w‖=1} ‖Θᵀσ(Aᵀw)‖``.
    """
    tmax = 2.0 * lam / m if m > 0 else np.inf
    bias_term = beta**2 * float(np.sum(Theta.sum(axis=0) ** 2)) / (4.0 * lam)
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


# --------------------------------------------------------------------------------------------
# Carathéodory / vertex step on the atoms s_j v_jᵀ
# --------------------------------------------------------------------------------------------
def reduce_atoms(S: np.ndarray, V: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    r"""Indices and new output vectors of at most rank(atoms) neurons giving the same Ŷ.

    Atoms a_j = vec(s_j u_jᵀ) with weights α_j = ‖v_j‖ (u_j = v_j/α_j).  While the atoms are
    linearly dependent, move α along a null vector ν (sign chosen so that Σν ≥ 0, i.e. the
    penalty 2λΣα does not increase) until a weight reaches zero (DESIGN §5).  Returns
    ``(keep, V_new)``.
    """
    alpha = np.linalg.norm(V, axis=1)
    idx = np.flatnonzero(alpha > 0)
    if idx.size == 0:
        return idx, V[idx]
    U = V[idx] / alpha[idx, None]
    M = (S[:, idx][:, :, None] * U[None, :, :]).transpose(0, 2, 1).reshape(-1, idx.size)  # (N·k) × n
    scale = np.linalg.norm(M, axis=0)
    Mn = M / scale
    a = alpha[idx] * scale  # weights of the normalised atoms
    if Mn.shape[0] > Mn.shape[1]:  # tall: the null space of R (n×n) from a QR is the same, and cheaper
        Mn = np.linalg.qr(Mn, mode="r")
    _, sv, Vt = np.linalg.svd(Mn, full_matrices=Mn.shape[1] > Mn.shape[0])  # all n right vectors
    rank = int(np.sum(sv > tol * max(Mn.shape) * (sv[0] if sv.size else 0)))
    Nb = Vt[rank:].T.copy()  # n × q null basis
    alive = np.ones(idx.size, dtype=bool)
    while Nb.shape[1] > 0:
        nu = Nb[:, 0]
        dpen = float(np.sum(nu / scale))  # change of Σα = Σ a_j/scale_j per unit step
        if dpen < 0 or (abs(dpen) <= 1e-14 * np.sum(np.abs(nu) / scale) and nu.max() <= 0):
            nu = -nu
        pos = (nu > 1e-14) & alive
        if not np.any(pos):
            Nb = Nb[:, 1:]
            continue
        ratios = np.where(pos, a / np.where(pos, nu, 1.0), np.inf)
        j = int(np.argmin(ratios))
        a = a - ratios[j] * nu
        a[j] = 0.0
        a = np.where(alive, np.maximum(a, 0.0), 0.0)
        alive[j] = False
        rest = Nb[:, 1:]
        rest = rest - np.outer(nu, rest[j] / nu[j])
        Nb = rest
    keep = idx[alive & (a > 0)]
    a_keep = a[alive & (a > 0)] / scale[alive & (a > 0)]
    U_keep = U[alive & (a > 0)]
    return keep, a_keep[:, None] * U_keep


def merge_parallel(S: np.ndarray, V: np.ndarray, cos_tol: float = 1e-12):
    r"""Merge neurons whose features s_j are parallel (s_i = ρ s_j, ρ > 0).

    Within a group the neuron with the largest ‖s‖ per unit input weight is kept and the others'
    outputs move onto it, scaled by ρ: Ŷ is unchanged (up to the angle tolerance) and the
    penalty 2λΣ‖c_j‖ does not increase (triangle inequality, ρ ≤ 1).  Returns ``(keep, V_new)``.
    """
    norms = np.linalg.norm(S, axis=0)
    order = np.argsort(-norms)
    Sn = S / np.where(norms > 0, norms, 1.0)
    V = V.copy()
    alive = norms > 0
    V[~alive] = 0.0
    for pos, i in enumerate(order):
        if not alive[i]:
            continue
        rest = order[pos + 1:]
        rest = rest[alive[rest]]
        if rest.size == 0:
            continue
        cos = Sn[:, rest].T @ Sn[:, i]
        par = rest[cos >= 1.0 - cos_tol]
        if par.size:
            V[i] += (norms[par] / norms[i]) @ V[par]
            V[par] = 0.0
            alive[par] = False
    keep = np.flatnonzero(alive & (np.linalg.norm(V, axis=1) > 0))
    return keep, V[keep]


# --------------------------------------------------------------------------------------------
# the solver
# --------------------------------------------------------------------------------------------
def columns_from_network(X: np.ndarray, network: Network) -> np.ndarray:
    """Unit columns c (whitened input basis) of a depth-2 network's hidden neurons, for warm
    starts (``init_columns``)."""
    _, U, _ = input_basis(X, network.beta)
    Win = network.weights[0] if network.beta > 0 else network.weights[0][:, :-1]
    C = Win @ U
    nrm = np.linalg.norm(C, axis=1)
    return C[nrm > 0] / nrm[nrm > 0, None]


def spectral_bound(B: np.ndarray, activation) -> float:
    r"""A cheap valid upper bound on ``max_{‖c‖=1} ‖σ(Bᵀc)‖`` : ``max(|a|, |b|)·‖B‖₂``.

    With it, ``‖Θ‖₂ · spectral_bound`` bounds the pricing value for any N and input rank, so the
    dual bound it gives is valid without an exact oracle (weaker; the linear network's dual).
    """
    return max(abs(activation.a), abs(activation.b)) * float(np.linalg.norm(B, 2))


def linear_dual_bound(setup: GroupLassoSetup) -> float:
    r"""A valid lower bound with no oracle: dual points of the linear network, priced spectrally.

    For any Θ, ``max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖ ≤ ‖Θ‖₂ · max(|a|,|b|) · ‖B‖₂`` (σ is Lipschitz with
    σ(0) = 0), so :func:`dual_bound` with that value is valid for every N and input rank.  The
    points tried are the linear network's optimal duals for ``B = I``: the polar factor of Y
    (interpolation) and ``(2/N)(Y − Z)`` with Z the singular values of Y soft-thresholded by λN
    (MSE), plus Y itself.  Tight when a linear network is optimal — e.g. the N²/4 example, where
    R = 2‖Y‖_* = N² (paper §4.2).  Returns ``-inf`` for cross-entropy (no point tried).
    """
    if setup.cost == "cross_entropy":
        return float("-inf")
    Y, N = setup.Y, setup.N
    U, sv, Vt = np.linalg.svd(Y, full_matrices=False)
    points = [Y]
    if setup.cost == "interpolate":
        r = int(np.sum(sv > 1e-12 * max(sv[0] if sv.size else 0.0, 1e-300)))
        points.append(U[:, :r] @ Vt[:r])
    else:
        points.append(2.0 / N * (Y - (U * np.maximum(sv - setup.lam * N, 0.0)) @ Vt))
    spec = spectral_bound(setup.B, setup.activation) * (1 + 1e-12)  # pad for round-off
    best = float("-inf")
    for Theta in points:
        lb, _ = dual_bound(Theta, float(np.linalg.norm(Theta, 2)) * spec, Y, cost=setup.cost, lam=setup.lam,
                           beta=setup.beta)
        best = max(best, lb)
    return best


def _sparsity_slack(upper: float, lower: float, tol: float) -> float:
    """How much loss a sparser network may add: a tenth of the tolerance, and never more than
    half of the room the certificate has left (so a certified gap stays ≤ tol)."""
    if not np.isfinite(upper):
        return 0.0
    slack = 0.1 * tol * max(1.0, abs(upper))
    if np.isfinite(lower):
        room = tol * max(1.0, abs(upper)) - (upper - lower)
        slack = min(slack, max(0.0, 0.5 * room))
    return slack


def _master_options(solver: str, solver_opts: dict | None, tol: float, cost: str = "mse") -> dict:
    """Master accuracy follows the certification tolerance (interior-point gap ≤ tol/100)."""
    opts = dict(solver_opts or {})
    acc = min(1e-8, tol / 100.0) if cost != "cross_entropy" else min(1e-10, tol / 1e4)  # exp cones: harder
    if solver == "CLARABEL":
        for key in ("tol_gap_abs", "tol_gap_rel", "tol_feas"):
            opts.setdefault(key, acc)
    elif solver == "SCS":
        opts.setdefault("eps_abs", acc)
        opts.setdefault("eps_rel", acc)
    return opts


def _initial_columns(setup: GroupLassoSetup, rng, n_random: int) -> np.ndarray:
    r = setup.r
    C = rng.standard_normal((n_random, r))
    C = np.vstack([np.eye(r), -np.eye(r), C])
    return C / np.linalg.norm(C, axis=1, keepdims=True)


def _make_feasible(setup, C, rng, oracle):
    """Interpolation needs Y in the span of the columns: add residual-correlated neurons."""
    for _ in range(4 * setup.N + 10):
        S = setup.columns(C)
        if setup.beta > 0:
            S = np.hstack([S, np.ones((setup.N, 1))])
        coef, *_ = np.linalg.lstsq(S, setup.Y, rcond=None)
        R = setup.Y - S @ coef
        if np.linalg.norm(R) <= 1e-9 * max(1.0, np.linalg.norm(setup.Y)):
            return C
        pr = oracle(R, setup.B, setup.activation, 5, rng)
        C = np.vstack([C, pr.C])
    raise ValueError(
        "Y: cannot be interpolated by a depth-2 network on these inputs (Y is not in the span of "
        "the reachable hidden features); use cost='mse'"
    )


def solve_shallow(
    X,
    Y,
    *,
    activation,
    lam,
    beta,
    cost,
    method: str = "auto",
    tol: float = 1e-6,
    solver: str | None = None,
    solver_opts: dict | None = None,
    time_limit: float | None = None,
    rng=None,
    verbose: bool = False,
    max_rounds: int = 200,
    n_add: int = 30,
    init_columns: np.ndarray | None = None,
    lifted_max_n: int = 40,
    oracle=None,
    linear_bounds: bool = True,
    client=None,
):
    r"""Depth-2 solve by column generation (validated arrays in, :class:`SolveResult` out).

    ``X`` (N, d), ``Y`` (N, k) (one-hot for cross-entropy).  See :func:`covcone.solve`.

    ``oracle``, optional: a problem-specific pricing heuristic
    ``oracle(Theta, B, activation, n_best, rng) -> GroupPrice`` used instead of the default
    (its ``exact`` flag is trusted only if it sets it; a heuristic oracle gives an upper bound
    and the spectral / lifted lower bounds only).  ``linear_bounds=False`` skips the spectral
    bounds of the linear network's dual points (e.g. to test the exact oracle's own bound).
    ``client`` (a ``dask.distributed.Client``) splits the exact ``3^N`` face enumeration across
    its workers (input rank ≥ 4, where that enumeration dominates).
    """
    from .oracle import exact_affordable, max_group_norm
    from .result import SolveResult

    t_start = time.perf_counter()
    solver = choose_solver(solver)
    rng = np.random.default_rng(rng)
    setup = GroupLassoSetup(X, Y, activation=activation, lam=lam, beta=beta, cost=cost)
    N, lam_eff = setup.N, setup.lam
    exact = method in ("auto", "generators") and exact_affordable(setup.r, N)
    custom_oracle = oracle
    if oracle is None:
        def oracle(Theta, B, act, n_best, rng_):
            return max_group_norm(Theta, B, act, n_best=n_best, exact=exact, rng=rng_, client=client)
    else:
        exact = False  # a user-supplied oracle proves nothing unless it says so per call
    solver_opts = _master_options(solver, solver_opts, tol, cost)
    timings = {"master": 0.0, "oracle": 0.0, "recovery": 0.0}
    history = []
    C = _initial_columns(setup, rng, n_random=max(8, 2 * setup.r))
    if init_columns is not None:
        C = np.vstack([init_columns, C])
    if cost == "interpolate":
        t0 = time.perf_counter()
        C = _make_feasible(setup, C, rng, oracle)
        timings["oracle"] += time.perf_counter() - t0

    best_lower, lower_from = -np.inf, None
    spec = spectral_bound(setup.B, activation)
    if linear_bounds:  # a valid bound before any master solve
        lb = linear_dual_bound(setup)
        if lb > best_lower:
            best_lower, lower_from = lb, "spectral dual"
    best = None  # (upper, C, V, c0)
    idle = np.zeros(C.shape[0], dtype=int)  # consecutive rounds each column had zero weight
    solver_status = "optimal"
    stop_reason = f"reached the iteration limit ({max_rounds} rounds)"
    bar = progress(verbose, max_rounds, "covcone depth-2", "round")
    for it in range(max_rounds):
        t0 = time.perf_counter()
        S = setup.columns(C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InaccurateSolutionWarning)
            V, c0, Theta, status = _master(setup, S, solver, solver_opts)
        if status != "optimal":
            solver_status = status
        timings["master"] += time.perf_counter() - t0

        net = setup.network(C, V, c0)
        upper = setup.loss(net)
        if best is None or upper < best[0]:
            best = (upper, C, V, c0)

        t0 = time.perf_counter()
        price = None
        if exact and custom_oracle is None and it % 4 != 3:
            # Cheap multi-start pricing first (≈100× faster than the enumeration); the exact
            # oracle runs when the heuristic finds nothing to add, and every 4th round so that the
            # certificate (which only the exact oracle gives) is tracked.
            heur = max_group_norm(Theta, setup.B, activation, n_best=n_add, exact=False, rng=rng)
            if np.any(heur.values > 2 * lam_eff * (1 + 1e-6)):
                price = heur
        if price is None:
            price = oracle(Theta, setup.B, activation, n_add, rng)
        timings["oracle"] += time.perf_counter() - t0
        if price.exact:
            lb, _ = dual_bound(Theta, price.value, Y, cost=cost, lam=lam_eff, beta=beta)
            if lb > best_lower:
                best_lower, lower_from = lb, "exact-oracle dual"
        else:  # a valid but weaker bound on the pricing value: ‖Θ‖₂·max(|a|,|b|)·‖B‖₂
            m_ub = max(price.value, float(np.linalg.norm(Theta, 2)) * spec)
            lb, _ = dual_bound(Theta, m_ub, Y, cost=cost, lam=lam_eff, beta=beta)
            if lb > best_lower:
                best_lower, lower_from = lb, "spectral dual"
        gap = relative_gap(best[0], best_lower)
        active = int(np.sum(np.linalg.norm(V, axis=1) > 1e-9 * max(1e-300, np.abs(V).max(initial=0))))
        history.append(
            {
                "round": it,
                "upper": upper,
                "lower": best_lower,
                "gap": gap,
                "oracle": price.value,
                "threshold": 2 * lam_eff,
                "columns": int(C.shape[0]),
                "active": active,
                "master_status": status,
                "time": time.perf_counter() - t_start,
            }
        )
        bar(gap=f"{gap:.1e}", neurons=active)
        if gap <= tol:
            stop_reason = f"bounds met after {it + 1} rounds"
            break
        new = price.C[price.values > 2 * lam_eff * (1 + 1e-12)]
        if new.shape[0] == 0:
            stop_reason = (
                "no neuron prices out (oracle value ≤ 2λ)"
                + ("" if price.exact else " by the heuristic oracle, which proves nothing")
            )
            break
        if time_limit is not None and time.perf_counter() - t_start > time_limit:
            stop_reason = f"time limit of {time_limit:g} s reached"
            break
        # keep the support and the new candidates (fully corrective).  A column idle (weight
        # ≤ 1e-6·max; interior-point zeros are ≈ 1e-9) for 3 rounds in a row is dropped: dropping
        # at once makes degenerate duals cycle (add, zero weight, drop, add again).
        norms = np.linalg.norm(V, axis=1)
        idle = np.where(norms > 1e-6 * max(norms.max(initial=0.0), 1e-300), 0, idle + 1)
        keep = idle < 3
        C = np.vstack([C[keep], new])
        idle = np.concatenate([idle[keep], np.zeros(new.shape[0], dtype=int)])
    bar.close()

    # ---- recovery: vertex step, polish, network from the forward pass -------------------
    # Candidates: the best network of the loop, its parallel-merged Carathéodory reductions, and
    # re-solves on pruned supports.  Keep the sparsest whose forward-pass loss is within
    # _sparsity_slack of the best one (sparsity never costs the certificate).
    t0 = time.perf_counter()
    _, C, V, c0 = best
    candidates, uppers = [], []

    def add(net_):
        candidates.append(net_)
        uppers.append(setup.loss(net_))  # each candidate's forward pass, once

    add(setup.network(C, V, c0))
    merged = []
    for cos_tol in (1e-12, 1e-7):
        keep, Vm = merge_parallel(setup.columns(C), V, cos_tol)
        if merged and np.array_equal(keep, merged[-1]):
            continue  # the looser angle merged nothing more
        merged.append(keep)
        Cm = C[keep]
        keep, Vred = reduce_atoms(setup.columns(Cm), Vm)
        add(setup.network(Cm[keep], Vred, c0))
    # Interior-point masters leave many tiny c_j (DESIGN §7): drop the small ones and re-solve
    # on what is left, sparsest first; stop at the first re-solve within the slack.
    ref = min(uppers)
    slack = _sparsity_slack(ref, best_lower, tol)
    norms = np.linalg.norm(V, axis=1)
    for thr in (1e-2, 1e-4, 1e-6, 0.0):
        sup = norms > thr * norms.max(initial=0.0)
        if not np.any(sup):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InaccurateSolutionWarning)
                Cs = C[sup]
                Vp, c0p, _, _ = _master(setup, setup.columns(Cs), solver, solver_opts)
        except SolverError:
            continue
        keep, Vm = merge_parallel(setup.columns(Cs), Vp, 1e-7)
        keep2, Vr = reduce_atoms(setup.columns(Cs[keep]), Vm)
        add(setup.network(Cs[keep][keep2], Vr, c0p))
        if uppers[-1] <= ref + slack:
            break
    best_up = min(uppers)
    slack = _sparsity_slack(best_up, best_lower, tol)
    ok = [i for i, u in enumerate(uppers) if u <= best_up + slack]
    pick = min(ok, key=lambda i: (candidates[i].widths[1], uppers[i]))
    net, upper = candidates[pick], uppers[pick]
    timings["recovery"] = time.perf_counter() - t0

    if not exact and best_lower <= 0.0:
        best_lower, lower_from = 0.0, "trivial (loss ≥ 0)"
    if not exact:
        done = relative_gap(upper, best_lower) <= tol
        if method == "lifted" or (not done and method != "heuristic" and N <= lifted_max_n):
            try:
                from .sdp import solve_cone_program

                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", InaccurateSolutionWarning)
                    Yarg = np.argmax(Y, axis=1) if cost == "cross_entropy" else Y  # labels for CE
                    lifted = solve_cone_program(
                        X, Yarg, activation=activation, lam=lam, beta=beta, cost=cost, cone="lifted", solver=solver,
                        solver_opts=solver_opts,
                    )
                timings["lifted"] = time.perf_counter() - t0
                if lifted.lower_source != "dual":
                    stop_reason += "; the lifted SDP gave no dual objective, so no bound from it"
                elif np.isfinite(lifted.lower) and lifted.lower > best_lower:
                    best_lower, lower_from = float(lifted.lower), "lifted SDP dual"
            except (ImportError, SolverError, ValueError) as exc:
                stop_reason += f"; lifted bound unavailable ({exc})"
    gap = relative_gap(upper, best_lower)
    certified = is_certified(upper, best_lower, tol, lower_from)
    # A valid lower bound never exceeds a network's loss; within ±tol the two "agree" (numerical
    # feasibility of interpolation and solver accuracy), beyond it something is wrong.
    inconsistent = np.isfinite(best_lower) and best_lower > upper + tol * max(1.0, abs(upper))
    if inconsistent:
        certified = False
    timings["total"] = time.perf_counter() - t_start
    n_neurons = int(net.widths[1]) if np.any(net.weights[0]) else 0
    if inconsistent:
        status = "failed"
        msg = (
            f"inconsistent bounds: lower {best_lower:.10g} > upper {upper:.10g}; the oracle or a "
            "solver returned a wrong value — nothing is certified"
        )
    elif certified:
        status = "certified"
        msg = f"certified global optimum: gap {gap:.2e} ≤ tol {tol:g} ({stop_reason}); lower bound from the {lower_from}"
    elif lower_from is None or lower_from.startswith("trivial"):
        status = "upper_only"
        msg = (
            f"NOT certified: {stop_reason}; no valid lower bound beyond the trivial one"
            + ("" if exact else f" (the exact oracle is not affordable for input rank {setup.r}, N = {N})")
        )
    else:
        status = "bounded"
        msg = f"NOT certified: gap {gap:.2e} > tol {tol:g} ({stop_reason}); lower bound from the {lower_from}"
        if not exact:
            msg += f"; the exact oracle is not affordable for input rank {setup.r}, N = {N}, so the upper bound came from a heuristic oracle"
    if solver_status != "optimal":
        msg += f"; the master solver reported {solver_status!r} at some round"
    K, Ks = covariance_pair(net, X)
    return SolveResult(
        status=status,
        message=msg,
        upper=float(upper),
        lower=float(best_lower),
        gap=float(gap),
        certified=bool(certified),
        network=net,
        covariances=(K, Ks),
        method="generators (exact oracle)" if exact else "generators (heuristic oracle)",
        lower_from=lower_from,
        solver=solver,
        tol=tol,
        timings=timings,
        history=tuple(history),
        n_neurons=n_neurons,
        solver_status=solver_status,
        extra={"columns": best[1][np.linalg.norm(best[2], axis=1) > 0], "input_rank": setup.r},
    )
