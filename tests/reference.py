r"""An independent reference for the depth-2 global optimum P* on tiny instances.

Written apart from covcone's oracle, master and cone programs (nothing from ``covcone`` is
imported here): every number is an interval ``lo ≤ P* ≤ hi`` with both ends computed in numpy
from an explicit network (``hi``) and an explicit dual certificate (``lo``).  The convex
programs (cvxpy + Clarabel) only *propose* the network and the dual variable; the bounds do not
trust the solver's reported objective.

Problem (samples as rows; paper §2 and docs/design.md, "depth 2 as a group lasso"):

    P* = inf C(Σ_j σ(A w_j) c_jᵀ + β 1 c_0ᵀ) + 2λ Σ_j ‖w_j‖ ‖c_j‖ + λ ‖c_0‖²,   A = [X, β1]

(λ(‖W_1‖² + ‖W_2‖²) after balancing each hidden neuron; ``cost="interpolate"``: C = 0 subject
to Ŷ = Y and λ = 1).  Only B = A V_r, the rank-r factor of A, matters: w ↦ V_rᵀ w never
increases ‖w‖ and leaves A w unchanged.

Weak duality (any Θ ∈ R^{N×k}):  P* ≥ −C*(−Θ) − β²‖Θᵀ1‖²/(4λ)  whenever
‖Θᵀσ(Bw)‖ ≤ 2λ for every unit w.  Each reference below differs only in how that supremum over
w is bounded *exactly*:

- :func:`pilanci_ergen` (k = 1 outputs, any rank): σ(Bw) = D_p B w on the closed cone K_p of
  every cell p of the hyperplane arrangement {b_iᵀw = 0} (enumerated by LP, :func:`cells`), so
  the supremum is max_p ‖Π_{K_p}(±Bᵀ D_p Θ)‖ (a projection onto a polyhedral cone, by NNLS and
  Moreau's decomposition).  The primal is the Pilanci–Ergen convex program (exact for k = 1).
- :func:`simplicial` (any k, input rank r ≤ 3): a triangulation of the sphere S^{r−1} that
  refines the arrangement.  A unit w in a simplex with unit vertices r_1..r_r lying in one
  closed cell is w = Σ α_i r_i with α ≥ 0 and Σ α_i ≤ 1/ρ_t (ρ_t = distance from 0 to the
  simplex's affine hull), and σ(Bw) = Σ α_i σ(B r_i).  Hence a neuron (w, c) is reproduced by the
  vertex atoms (r_i, α_i c) with weighted cost Σ ω_i α_i ‖c‖ ≤ ‖c‖ when ω_i ≤ ρ_t: the group lasso
  over the vertex atoms with weights ω is a *relaxation* (value ≤ P*), and the same atoms with
  weights 1 are actual networks (value ≥ P*).  Refining the simplices around the active atoms
  closes the gap (ρ_t → 1).
- :func:`linear_nuclear` (σ linear, any k, any rank): σ(Bw) = Bw, the problem is
  min C(BM + β1c_0ᵀ) + 2λ‖M‖_* + λ‖c_0‖², and the supremum is the spectral norm ‖BᵀΘ‖₂.
- :func:`local_search` (anything): L-BFGS on a wide network from several starts, then a convex
  refit of the output layer over the found directions: an upper bound ``hi`` only (``lo = -inf``).

Accuracy: ``lo`` and ``hi`` are exact up to floating-point rounding (relative ~1e-13 for the
well-scaled normalised problem), to the LP threshold of the cell enumeration (cells thinner than
1e-9 in angle are skipped: their influence on the supremum is below 1e-9 relative) and, for
"interpolate", to the equality residual of the proposed network (``hi`` is then the weight cost
of a network that interpolates Y up to a relative residual ≤ 1e-8, reported as ``resid``).
The returned ``Ref.gap`` = (hi − lo)/|hi| is the reference's own accuracy: use it as the margin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog, minimize_scalar, nnls
from scipy.special import logsumexp, softmax

__all__ = ["Ref", "reduce_inputs", "cells", "pilanci_ergen", "simplicial", "linear_nuclear", "local_search",
           "reference", "SLOPES"]

SLOPES = {"relu": (1.0, 0.0), "leaky_relu": (1.0, 0.01), "absolute": (1.0, -1.0), "linear": (1.0, 1.0)}

_CLARABEL = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-11, tol_feas=1e-11, tol_ktratio=1e-9, max_iter=400)


@dataclass
class Ref:
    r"""An interval ``lo ≤ P* ≤ hi`` and how it was obtained."""

    lo: float
    hi: float
    kind: str
    exact: bool  # True: lo is a valid lower bound (a dual certificate), not just -inf
    info: dict = field(default_factory=dict, repr=False)

    @property
    def gap(self) -> float:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return float("inf")
        return (self.hi - self.lo) / max(abs(self.hi), 1e-300)


# --------------------------------------------------------------------------------------------
# data handling
# --------------------------------------------------------------------------------------------
def sigma(z, ab):
    a, b = ab
    return np.where(z >= 0, a * z, b * z)


def reduce_inputs(X, beta, rtol=1e-10, with_basis=False):
    r"""B = A V_r (N × r) with A = [X, β1] (or X when β = 0): the rank-r factor of the inputs
    (and V_r, (d+1) × r, mapping reduced directions back to first-layer weight rows)."""
    X = np.asarray(X, float)
    N, d = X.shape
    A = np.hstack([X, np.full((N, 1), float(beta))]) if beta > 0 else X
    if A.shape[1] == 0:
        return (np.zeros((N, 0)), np.zeros((d + 1, 0))) if with_basis else np.zeros((N, 0))
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(S > rtol * S[0])) if S.size and S[0] > 0 else 0
    B = U[:, :r] * S[:r]
    if not with_basis:
        return B
    Vr = Vt[:r].T
    if beta == 0:
        Vr = np.vstack([Vr, np.zeros((1, r))])
    return B, Vr


def _weights(X, beta, dirs, C, c0, factor):
    r"""Balanced weights (W1, W2) of the network with unit reduced directions ``dirs`` (m × r),
    normalised output vectors ``C`` (m × k) and bias output ``c0`` (k,): first-layer rows
    √‖c_j‖ V_r d_j, output columns c_j/√‖c_j‖ with c_j = factor · C_j (factor = s_Y/s_B undoes
    the normalisation); the bias output column is factor · c0 (see :func:`_normalise`)."""
    _, Vr = reduce_inputs(X, beta, with_basis=True)
    C = factor * np.asarray(C, float)
    nrm = np.linalg.norm(C, axis=1)
    keep = nrm > 0
    if not np.any(keep):
        keep[:1] = True
    sq = np.sqrt(np.maximum(nrm[keep], 1e-300))
    W1 = (dirs[keep] @ Vr.T) * sq[:, None]
    W2 = np.hstack([(C[keep] / sq[:, None]).T, (factor * np.asarray(c0, float)).reshape(-1, 1)])
    return W1, W2


def one_hot(labels, k):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), np.asarray(labels, int)] = 1.0
    return out


@dataclass
class _Prob:
    """Normalised problem: C(Ŷ) + 2 lam_n Σ ω‖V_j‖ + lam_b ‖c0‖², Ŷ = S V + beta 1 c0ᵀ; the true
    value is ``scale`` × the normalised one."""

    B: np.ndarray
    Y: np.ndarray  # (N, k) targets, or one-hot for cross-entropy
    cost: str
    lam_n: float
    lam_b: float
    beta: float
    scale: float
    ab: tuple


def _normalise(X, Y, lam, beta, cost, ab):
    r"""Rescale B by s_B and Y by s_Y (mse / interpolate) so the convex programs are well scaled.

    With c = (s_Y/s_B) c' and c_0 = (s_Y/s_B) c_0': P(B, Y, λ, β) = s_Y² P'(B/s_B, Y/s_Y, λ_n, λ_b,
    β/s_B) with λ_n = λ/(s_Y s_B), λ_b = λ/s_B² (cross-entropy: s_Y = 1).
    """
    B = reduce_inputs(X, beta)
    N = B.shape[0]
    sB = float(np.max(np.linalg.norm(B, axis=1))) if B.size else 1.0
    if beta > 0:
        sB = max(sB, 1e-300)
    lam = 1.0 if cost == "interpolate" else float(lam)
    if cost == "cross_entropy":
        Yn = np.asarray(Y, float)
        sY = 1.0
    else:
        Y = np.asarray(Y, float).reshape(N, -1)
        sY = float(np.linalg.norm(Y) / math.sqrt(N)) or 1.0
        Yn = Y / sY
    P = _Prob(B / sB, Yn, cost, lam / (sY * sB), lam / sB**2, float(beta) / sB, sY**2, ab)
    P.factor = sY / sB
    return P


def _solve(prob):
    """Clarabel with tight tolerances, then its defaults, then SCS: the solver only proposes a
    point; the bounds are recomputed in numpy, so a less accurate solver only widens them."""
    for solver, opts in (("CLARABEL", _CLARABEL), ("CLARABEL", {}), ("SCS", {"eps": 1e-9, "max_iters": 200000})):
        try:
            prob.solve(solver=solver, **opts)
        except cp.error.SolverError:
            continue
        if prob.status in ("optimal", "optimal_inaccurate", "infeasible", "infeasible_inaccurate"):
            return prob.status
    raise RuntimeError(f"reference convex program failed: {prob.status}")


def _cost(P: _Prob, Yhat):
    N = Yhat.shape[0]
    if P.cost == "mse":
        return float(np.sum((Yhat - P.Y) ** 2) / N)
    if P.cost == "cross_entropy":
        return float(np.sum(logsumexp(Yhat, axis=1) - np.sum(Yhat * P.Y, axis=1)) / N)
    return 0.0


def _conj(P: _Prob, Theta):
    r"""−C*(−Θ) = min_Ŷ C(Ŷ) + ⟨Θ, Ŷ⟩ (−inf outside the domain)."""
    N = Theta.shape[0]
    if P.cost == "mse":
        return float(np.sum(Theta * P.Y) - N / 4 * np.sum(Theta**2))
    if P.cost == "interpolate":
        return float(np.sum(Theta * P.Y))
    Q = P.Y - N * Theta
    if np.any(Q < -1e-15) or np.any(np.abs(Q.sum(1) - 1) > 1e-9):
        return -math.inf
    Q = np.clip(Q, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = np.where(Q > 0, Q * np.log(Q), 0.0)
    return float(-np.sum(ent) / N)


def _dual_bound(P: _Prob, Theta, m):
    r"""max_{0 ≤ t ≤ 2λ_n/m} −C*(−tΘ) − β²t²‖Θᵀ1‖²/(4λ_b): a valid lower bound on the normalised
    P* when m ≥ sup_{‖w‖=1} ‖Θᵀσ(Bw)‖ (weak duality, module docstring)."""
    tmax = 2 * P.lam_n / m if m > 0 else 1e6
    if P.cost == "cross_entropy":
        tmax = min(tmax, 1.0)
    bias = P.beta**2 * np.sum(Theta.sum(0) ** 2) / (4 * P.lam_b) if P.beta > 0 else 0.0

    def val(t):
        return _conj(P, t * Theta) - t * t * bias

    if P.cost in ("mse", "interpolate"):  # concave quadratic in t: closed form on [0, tmax]
        lin = float(np.sum(Theta * P.Y))
        quad = (Theta.shape[0] / 4 * np.sum(Theta**2) if P.cost == "mse" else 0.0) + bias
        t = tmax if quad <= 0 else min(tmax, max(0.0, lin / (2 * quad)))
        return max(val(t), val(0.0))
    r = minimize_scalar(lambda t: -val(t), bounds=(0.0, tmax), method="bounded", options={"xatol": 1e-14})
    return max(val(float(r.x)), val(tmax), val(0.0))


def _theta(P: _Prob, Yhat):
    """Θ = −∇C(Ŷ)."""
    N = Yhat.shape[0]
    if P.cost == "mse":
        return 2.0 / N * (P.Y - Yhat)
    return (P.Y - softmax(Yhat, axis=1)) / N


# --------------------------------------------------------------------------------------------
# group lasso over a finite dictionary of atoms (used by every reference)
# --------------------------------------------------------------------------------------------
def _fit_objective(P: _Prob, pred, reg, cost, N):
    """``C(pred) + reg`` (MSE, cross-entropy), or ``reg`` with the constraint ``pred = Y``
    (interpolation, returned as ``fit`` for its dual; None otherwise)."""
    if cost == "mse":
        return cp.sum_squares(pred - P.Y) / N + reg, None
    if cost == "cross_entropy":
        return cp.sum(cp.log_sum_exp(pred, axis=1) - cp.sum(cp.multiply(P.Y, pred), axis=1)) / N + reg, None
    return reg, pred == P.Y


def _group_lasso(P: _Prob, S, omega):
    r"""min C(SV + β1c0ᵀ) + 2λ_n Σ ω_j‖V_j‖ + λ_b‖c0‖² (cvxpy/Clarabel); returns V, c0 and the
    dual variable Θ of the fit (−∇C, or the equality multiplier for interpolation)."""
    N, m = S.shape
    k = P.Y.shape[1]
    V = cp.Variable((m, k))
    c0 = cp.Variable(k)
    pred = S @ V + (P.beta * np.ones((N, 1))) @ cp.reshape(c0, (1, k), order="C")
    reg = 2 * P.lam_n * cp.sum(cp.multiply(omega, cp.norm(V, 2, axis=1)))
    if P.beta > 0:
        reg = reg + P.lam_b * cp.sum_squares(c0)
    cons = [c0 == 0] if P.beta == 0 else []
    obj, fit = _fit_objective(P, pred, reg, P.cost, N)
    prob = cp.Problem(cp.Minimize(obj), cons + ([fit] if fit is not None else []))
    _solve(prob)
    if V.value is None:
        raise RuntimeError(f"reference group lasso failed: {prob.status}")
    Vv, c0v = np.asarray(V.value), np.asarray(c0.value)
    Yhat = S @ Vv + P.beta * np.outer(np.ones(N), c0v)
    if P.cost == "interpolate":
        Theta = -np.asarray(fit.dual_value).reshape(N, k)
    else:
        Theta = _theta(P, Yhat)
    return Vv, c0v, Yhat, Theta, prob.status


def _primal_value(P: _Prob, S, V, c0, omega=None):
    """The network's loss (normalised) evaluated in numpy; for interpolation also the residual."""
    N = S.shape[0]
    Yhat = S @ V + P.beta * np.outer(np.ones(N), c0)
    w = np.ones(S.shape[1]) if omega is None else omega
    reg = 2 * P.lam_n * float(np.sum(w * np.linalg.norm(V, axis=1))) + (P.lam_b * float(c0 @ c0) if P.beta > 0 else 0.0)
    resid = float(np.linalg.norm(Yhat - P.Y) / max(np.linalg.norm(P.Y), 1e-300)) if P.cost == "interpolate" else 0.0
    return _cost(P, Yhat) + reg, resid


def _best_dual(P, Theta, sup_fn):
    """Valid lower bound from Θ and from −Θ (for the equality multiplier's sign convention)."""
    best = -math.inf
    for Th in ([Theta, -Theta] if P.cost == "interpolate" else [Theta]):
        m = sup_fn(Th)
        best = max(best, _dual_bound(P, Th, m))
    return best


# --------------------------------------------------------------------------------------------
# cells of the arrangement (k = 1 exact reference)
# --------------------------------------------------------------------------------------------
def _lp_realisable(Bn, signs, thresh=1e-9):
    r"""max t s.t. s_i b̂_iᵀw ≥ t, ‖w‖_∞ ≤ 1: the open cell with these signs exists iff t* > 0."""
    r = Bn.shape[1]
    G = -(signs[:, None] * Bn)
    A_ub = np.hstack([G, np.ones((G.shape[0], 1))])
    c = np.zeros(r + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(G.shape[0]), bounds=[(-1, 1)] * r + [(None, 1)], method="highs")
    return res.status == 0 and -res.fun > thresh


def cells(B, rng=None, n_samples=50000):
    r"""All sign vectors s ∈ {±1}^N of the open cells {w : s_i b_iᵀw > 0} (rows with b_i = 0 get +1).

    Sign prefixes are extended one row at a time; an extension is accepted when a random
    direction realised it or when the LP :func:`_lp_realisable` finds a strictly interior point,
    so the list is complete up to cells thinner than the LP threshold.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    N, r = B.shape
    norms = np.linalg.norm(B, axis=1)
    nz = norms > 1e-14 * max(norms.max(initial=0), 1e-300)
    Bn = np.zeros_like(B)
    Bn[nz] = B[nz] / norms[nz, None]
    W = rng.standard_normal((r, n_samples))
    Z = Bn @ W
    seen = {tuple(col) for col in np.where(Z[nz] >= 0, 1, -1).T}
    idx = np.flatnonzero(nz)
    prefixes = {p[:i] for p in seen for i in range(len(p) + 1)}
    level = [()]
    for i in range(len(idx)):
        nxt = []
        for pre in level:
            for s in (1, -1):
                cand = pre + (s,)
                if cand in prefixes or _lp_realisable(Bn[idx[: i + 1]], np.array(cand, float)):
                    nxt.append(cand)
        level = nxt
    out = []
    for pat in level:
        full = np.ones(N)
        full[idx] = pat
        out.append(full)
    return out


def _proj_norm(G, g):
    r"""‖Π_K g‖ for K = {w : G w ≥ 0}: by Moreau, g = Π_K g + Π_{K°} g with K° = {−Gᵀμ : μ ≥ 0},
    so ‖Π_K g‖ = min_{μ ≥ 0} ‖g + Gᵀμ‖ (an inexact μ only over-estimates it: conservative)."""
    if not np.any(G):
        return float(np.linalg.norm(g))
    _, res = nnls(G.T, -g, maxiter=50 * G.shape[0])
    return float(res)


def pilanci_ergen(X, y, *, ab, lam, beta, cost="mse", rng=None):
    r"""Exact reference for scalar outputs (k = 1; cross-entropy with 2 classes reduces to it).

    Primal (Pilanci & Ergen 2020, our scaling): over the cells p with slopes D_p and closed cones
    K_p = {w : s_p ∘ (Bw) ≥ 0}:  min C(Σ_p D_p B (u_p − v_p) + β c_0 1) + 2λ_n Σ_p (‖u_p‖ + ‖v_p‖)
    + λ_b c_0², u_p, v_p ∈ K_p.  Every network maps into it at no higher cost (neurons of one cell
    add up, triangle inequality) and every feasible point is a network (u_p = ‖u_p‖ · unit
    direction in K_p), so its value is P*.  The bound ``lo`` is the dual of module docstring with
    the exact supremum max_p ‖Π_{K_p}(±Bᵀ D_p Θ)‖.

    Cross-entropy with labels in {0, 1}: the loss only depends on the logit difference f = z_0 −
    z_1, and the cheapest output vector with c_0 − c_1 = δ is (δ/2, −δ/2) of norm |δ|/√2, so
    P* is the logistic problem with λ_n = λ/√2 and bias weight λ/2.
    """
    ab = tuple(map(float, ab))
    if cost == "cross_entropy":
        labels = np.asarray(y, int)
        P = _normalise(X, one_hot(labels, 2), lam, beta, "cross_entropy", ab)
        ysign = np.where(labels == 0, 1.0, -1.0)
        lam_n, lam_b = P.lam_n / math.sqrt(2), P.lam_b / 2
    else:
        P = _normalise(X, np.asarray(y, float).reshape(-1, 1), lam, beta, cost, ab)
        lam_n, lam_b = P.lam_n, P.lam_b
    B = P.B
    N, r = B.shape
    pats = cells(B, rng)
    Ds = [np.where(s > 0, ab[0], ab[1]) for s in pats]
    nP = len(pats)
    M = np.hstack([D[:, None] * B for D in Ds])  # N × nP·r
    G = sp.block_diag([sp.csr_matrix(s[:, None] * B) for s in pats], format="csr")
    u = cp.Variable(nP * r)
    v = cp.Variable(nP * r)
    c0 = cp.Variable()
    f = M @ (u - v) + P.beta * c0 * np.ones(N)
    reg = 2 * lam_n * (cp.sum(cp.norm(cp.reshape(u, (nP, r), order="C"), 2, axis=1))
                       + cp.sum(cp.norm(cp.reshape(v, (nP, r), order="C"), 2, axis=1)))
    if P.beta > 0:
        reg = reg + lam_b * cp.square(c0)
    cons = [G @ u >= 0, G @ v >= 0] + ([c0 == 0] if P.beta == 0 else [])
    if cost == "mse":
        obj = cp.sum_squares(f - P.Y[:, 0]) / N + reg
    elif cost == "cross_entropy":
        obj = cp.sum(cp.logistic(-cp.multiply(ysign, f))) / N + reg
    else:
        fit = f == P.Y[:, 0]
        cons.append(fit)
        obj = reg
    prob = cp.Problem(cp.Minimize(obj), cons)
    _solve(prob)
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        return Ref(math.inf, math.inf, "pilanci-ergen (infeasible)", True, {"n_cells": nP})
    uv, vv, c0v = np.asarray(u.value), np.asarray(v.value), float(c0.value)
    # project the solver's point onto the cones (it may be infeasible by ~1e-12), then evaluate
    U, Vv = uv.reshape(nP, r), vv.reshape(nP, r)
    fh = np.zeros(N)
    regv = 0.0
    dirs, outs = [], []
    for i, s in enumerate(pats):
        for z, sgn in ((U[i], 1.0), (Vv[i], -1.0)):
            zz = z if np.all(s * (B @ z) >= -1e-13 * np.linalg.norm(z)) else _project_cone(s[:, None] * B, z)
            fh += sgn * sigma(B @ zz, ab)  # the network's own forward pass: ±σ(B w) with w = zz
            regv += 2 * lam_n * np.linalg.norm(zz)
            nz = np.linalg.norm(zz)
            if nz > 0:
                dirs.append(zz / nz)
                outs.append(sgn * nz)
    dirs = np.array(dirs).reshape(-1, r)
    outs = np.array(outs)
    if cost == "cross_entropy":  # logit difference δ → output vector (δ/2, −δ/2)
        Cn, c0n = np.stack([outs / 2, -outs / 2], 1), np.array([c0v / 2, -c0v / 2])
    else:
        Cn, c0n = outs[:, None], np.array([c0v])
    weights = _weights(X, beta, dirs, Cn, c0n, P.factor)
    fh = fh + P.beta * c0v
    regv += lam_b * c0v**2 if P.beta > 0 else 0.0
    # Θ and the upper value in the reduced (scalar) form
    resid = 0.0
    if cost == "mse":
        hi = float(np.sum((fh - P.Y[:, 0]) ** 2) / N) + regv
        Theta = 2.0 / N * (P.Y[:, 0] - fh)
    elif cost == "cross_entropy":
        hi = float(np.sum(np.logaddexp(0, -ysign * fh)) / N) + regv
        Theta = ysign / N / (1 + np.exp(np.clip(ysign * fh, -700, 700)))  # −d/df of the logistic loss
    else:
        hi = regv
        resid = float(np.linalg.norm(fh - P.Y[:, 0]) / np.linalg.norm(P.Y[:, 0]))
        Theta = -np.asarray(fit.dual_value, float).ravel()

    def sup(Th):
        m = 0.0
        for s, D in zip(pats, Ds):
            g = B.T @ (D * Th)
            Gc = s[:, None] * B
            m = max(m, _proj_norm(Gc, g), _proj_norm(Gc, -g))
        return m

    if cost == "cross_entropy":
        lo = _logistic_dual(Theta, ysign, sup(Theta), lam_n, lam_b, P.beta)
    else:
        Pk = _Prob(B, P.Y, cost, lam_n, lam_b, P.beta, P.scale, ab)
        lo = _best_dual(Pk, Theta[:, None], lambda Th: sup(Th[:, 0]))
    return Ref(lo * P.scale, hi * P.scale, "pilanci-ergen", True,
               {"n_cells": nP, "resid": resid, "status": prob.status, "weights": weights})


def _project_cone(G, z):
    """Euclidean projection of z onto {w : G w ≥ 0} (Moreau, by NNLS)."""
    mu, _ = nnls(G.T, -z, maxiter=50 * G.shape[0])
    return z + G.T @ mu


def _logistic_dual(theta, ysign, m, lam_n, lam_b, beta):
    r"""Dual of the reduced logistic problem: min_f (1/N)Σ log(1+e^{−y_i f_i}) + ⟨θ, f⟩ =
    (1/N) Σ H(q_i) with q_i = N θ_i y_i ∈ [0, 1] (binary entropy H), for t θ with t ≤ 2λ_n/m."""
    N = theta.size
    bias = beta**2 * theta.sum() ** 2 / (4 * lam_b) if beta > 0 else 0.0

    def val(t):
        q = N * t * theta * ysign
        if np.any(q < -1e-15) or np.any(q > 1 + 1e-15):
            return -math.inf
        q = np.clip(q, 0, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            H = -np.where(q > 0, q * np.log(q), 0) - np.where(q < 1, (1 - q) * np.log1p(-q), 0)
        return float(np.sum(H) / N) - t * t * bias

    tmax = min(2 * lam_n / m if m > 0 else 1e6, 1.0 / max(np.max(N * theta * ysign), 1e-300))
    r = minimize_scalar(lambda t: -val(t), bounds=(0.0, tmax), method="bounded", options={"xatol": 1e-14})
    return max(val(float(r.x)), val(tmax), val(0.0))


# --------------------------------------------------------------------------------------------
# simplicial sandwich for input rank r ≤ 3 (any k, any cost)
# --------------------------------------------------------------------------------------------
class _Mesh:
    """A triangulation of S^{r−1} (r = 1, 2, 3) into simplices given by unit vertex indices."""

    def __init__(self, r):
        self.r = r
        if r == 1:
            self.P = [np.array([1.0]), np.array([-1.0])]
            self.T = [(0,), (1,)]
        elif r == 2:
            n0 = 64
            ang = 2 * np.pi * np.arange(n0) / n0
            self.P = [np.array([math.cos(a), math.sin(a)]) for a in ang]
            self.T = [(i, (i + 1) % n0) for i in range(n0)]
        else:
            self.P = [np.array(v, float) for v in ([1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1])]
            self.T = [(x, y, z) for x in (0, 1) for y in (2, 3) for z in (4, 5)]
        self.mid = {}
        if r == 3:
            for _ in range(3):
                self.refine(range(len(self.P)))

    def _point(self, key, fn):
        if key not in self.mid:
            p = fn()
            self.P.append(p / np.linalg.norm(p))
            self.mid[key] = len(self.P) - 1
        return self.mid[key]

    def cut(self, b, tag):
        r"""Split every simplex that the hyperplane bᵀw = 0 crosses (vertex signs of both kinds)."""
        if self.r == 1:
            return
        vals = np.array([b @ p for p in self.P])
        tol = 1e-13 * np.linalg.norm(b)

        def sgn(i):
            return 0 if abs(vals[i]) <= tol else (1 if vals[i] > 0 else -1)

        newT = []
        for t in self.T:
            s = [sgn(i) for i in t]
            if not (1 in s and -1 in s):
                newT.append(t)
                continue
            poly = list(t)  # polygon clipping (Sutherland–Hodgman) of the simplex by the plane
            pos, neg = [], []
            for a_, b_ in zip(poly, poly[1:] + poly[:1]) if self.r == 3 else [(poly[0], poly[1])]:
                sa, sb = sgn(a_), sgn(b_)
                if sa >= 0:
                    pos.append(a_)
                if sa <= 0:
                    neg.append(a_)
                if sa * sb < 0:
                    pa, pb = self.P[a_], self.P[b_]
                    va, vb = b @ pa, b @ pb
                    x = self._point((tag, min(a_, b_), max(a_, b_)), lambda pa=pa, pb=pb, va=va, vb=vb: abs(va) * pb + abs(vb) * pa)
                    pos.append(x)
                    neg.append(x)
            if self.r == 2:
                if sgn(t[1]) >= 0:
                    pos.append(t[1])
                if sgn(t[1]) <= 0:
                    neg.append(t[1])
            for poly_ in (pos, neg):
                for j in range(1, len(poly_) - self.r + 2):  # fan triangulation
                    newT.append((poly_[0],) + tuple(poly_[j:j + self.r - 1]))
        self.T = newT

    def rho(self, t):
        r"""min ‖x‖ over the flat simplex conv(r_1, …, r_r) of the unit vertices (exact for r ≤ 3):
        the foot of the perpendicular from 0 when it falls inside, else the nearest edge, whose
        minimum for unit endpoints is the norm of its midpoint."""
        V = np.array([self.P[i] for i in t])
        if self.r == 1:
            return 1.0
        if self.r == 2:
            return float(np.linalg.norm(V[0] + V[1]) / 2)
        e1, e2 = V[1] - V[0], V[2] - V[0]
        G = np.array([[e1 @ e1, e1 @ e2], [e1 @ e2, e2 @ e2]])
        try:
            lam_ = np.linalg.solve(G, -np.array([e1 @ V[0], e2 @ V[0]]))
        except np.linalg.LinAlgError:
            lam_ = np.array([-1.0, -1.0])
        if lam_.min() >= 0 and lam_.sum() <= 1:
            return float(np.linalg.norm(V[0] + lam_[0] * e1 + lam_[1] * e2))
        return float(min(np.linalg.norm(V[i] + V[j]) / 2 for i, j in ((0, 1), (1, 2), (0, 2))))

    def weights(self):
        om = np.ones(len(self.P))
        for t in self.T:
            rt = self.rho(t)
            for i in t:
                om[i] = min(om[i], rt)
        return om

    def refine(self, idx):
        """Split every simplex containing a vertex of ``idx`` at its edge midpoints."""
        idx = set(idx)
        newT = []
        for t in self.T:
            if not idx.intersection(t) or self.r == 1:
                newT.append(t)
                continue
            if self.r == 2:
                m = self._point(("m", min(t), max(t)), lambda t=t: self.P[t[0]] + self.P[t[1]])
                newT += [(t[0], m), (m, t[1])]
            else:
                a, b, c = t
                ab = self._point(("m", min(a, b), max(a, b)), lambda: self.P[a] + self.P[b])
                bc = self._point(("m", min(b, c), max(b, c)), lambda: self.P[b] + self.P[c])
                ca = self._point(("m", min(c, a), max(c, a)), lambda: self.P[c] + self.P[a])
                newT += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
        self.T = newT


def simplicial(X, Y, *, ab, lam, beta, cost="mse", rtol=1e-9, max_iter=10, max_atoms=4000):
    r"""Sandwich ``lo ≤ P* ≤ hi`` for input rank r ≤ 3 and any number of outputs (module docstring).

    Y: (N, k) targets, or integer labels (N,) for cross-entropy.  Iterates: solve the weighted
    group lasso over the mesh vertices; ``lo`` = its dual bound (the supremum over the finite
    weighted dictionary is exact: max_j ‖Θᵀσ(B r_j)‖/ω_j); ``hi`` = the loss of the vertex network
    with unit weights; refine the simplices around active atoms whose weight is below 1.
    """
    ab = tuple(map(float, ab))
    if cost == "cross_entropy":
        labels = np.asarray(Y, int)
        Yin = one_hot(labels, int(labels.max()) + 1)
    else:
        Yin = Y
    P = _normalise(X, Yin, lam, beta, cost, ab)
    B = P.B
    r = B.shape[1]
    if r == 0 or r > 3:
        raise ValueError(f"simplicial reference needs input rank 1..3, got {r}")
    mesh = _Mesh(r)
    for i, b in enumerate(B):
        if np.linalg.norm(b) > 1e-14:
            mesh.cut(b, i)
    lo, hi, resid = -math.inf, math.inf, 0.0
    weights = None
    it = 0
    for it in range(max_iter):
        R = np.array(mesh.P)
        om = mesh.weights()
        S = sigma(B @ R.T, ab)
        V, c0, _, Theta, status = _group_lasso(P, S, om)
        val, res_ = _primal_value(P, S, V, c0)
        if P.cost != "interpolate" or res_ <= 1e-8:
            if val < hi:
                hi, resid = val, res_
                weights = _weights(X, beta, R, V, c0, P.factor)
        sn = np.linalg.norm(S, axis=0)

        def sup(Th, S=S, om=om):
            return float(np.max(np.linalg.norm(S.T @ Th, axis=1) / om))

        lo = max(lo, _best_dual(P, Theta, sup))
        if math.isfinite(hi) and hi - lo <= rtol * abs(hi):
            break
        act = np.linalg.norm(V, axis=1) * np.maximum(sn, 1e-300)
        thr = 1e-7 * max(act.max(initial=0), 1e-300)
        low = [j for j in np.flatnonzero(act > thr) if om[j] < 1 - 1e-13]
        if not low or len(mesh.P) > max_atoms:  # nothing to refine (the gap left is the solver's), or too big
            break
        mesh.refine(low)
        mesh.refine(low)  # two levels per round: 1 − ρ shrinks 16-fold around each active atom
    return Ref(lo * P.scale, hi * P.scale, f"simplicial r={r}", True,
               {"atoms": len(mesh.P), "iters": it + 1, "resid": resid, "weights": weights})


# --------------------------------------------------------------------------------------------
# linear σ: a nuclear-norm problem (any k, any rank)
# --------------------------------------------------------------------------------------------
def linear_nuclear(X, Y, *, lam, beta, cost="mse", a=1.0):
    r"""σ(z) = a z: P* = min C(a B M + β1c0ᵀ) + 2λ‖M‖_* + λ‖c0‖² (balancing a linear hidden layer
    is the variational form of the nuclear norm); the dual supremum is a‖BᵀΘ‖₂."""
    if cost == "cross_entropy":
        labels = np.asarray(Y, int)
        Yin = one_hot(labels, int(labels.max()) + 1)
    else:
        Yin = Y
    P = _normalise(X, Yin, lam, beta, cost, (a, a))
    B = a * P.B
    N, r = B.shape
    k = P.Y.shape[1]
    M = cp.Variable((r, k))
    c0 = cp.Variable(k)
    pred = B @ M + (P.beta * np.ones((N, 1))) @ cp.reshape(c0, (1, k), order="C")
    reg = 2 * P.lam_n * cp.normNuc(M) + (P.lam_b * cp.sum_squares(c0) if P.beta > 0 else 0)
    cons = [c0 == 0] if P.beta == 0 else []
    obj, fit = _fit_objective(P, pred, reg, cost, N)
    prob = cp.Problem(cp.Minimize(obj), cons + ([fit] if fit is not None else []))
    _solve(prob)
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        return Ref(math.inf, math.inf, "linear nuclear (infeasible)", True)
    Mv, c0v = np.asarray(M.value), np.asarray(c0.value)
    Yhat = B @ Mv + P.beta * np.outer(np.ones(N), c0v)
    regv = 2 * P.lam_n * float(np.sum(np.linalg.svd(Mv, compute_uv=False))) + (P.lam_b * float(c0v @ c0v) if P.beta > 0 else 0.0)
    hi = _cost(P, Yhat) + regv
    resid = 0.0
    if cost == "interpolate":
        resid = float(np.linalg.norm(Yhat - P.Y) / np.linalg.norm(P.Y))
        Theta = -np.asarray(fit.dual_value, float).reshape(N, k)
    else:
        Theta = _theta(P, Yhat)
    lo = _best_dual(P, Theta, lambda Th: float(np.linalg.norm(B.T @ Th, 2)))
    Uu, Ss, Vvt = np.linalg.svd(Mv, full_matrices=False)  # M = Σ σ_j u_j v_jᵀ: neurons u_j, outputs σ_j v_j
    weights = _weights(X, beta, Uu.T, Ss[:, None] * Vvt, c0v, P.factor)
    return Ref(lo * P.scale, hi * P.scale, "linear nuclear norm", True, {"resid": resid, "weights": weights})


# --------------------------------------------------------------------------------------------
# upper reference only: local search in parameter space
# --------------------------------------------------------------------------------------------
def network_loss(W1, W2, X, Y, *, ab, lam, beta, cost):
    """Forward pass of a depth-2 network (own implementation): C(Ŷ) + λ(‖W1‖² + ‖W2‖²)."""
    X = np.asarray(X, float)
    N = X.shape[0]
    H = sigma(np.hstack([X, np.full((N, 1), beta)]) @ W1.T, ab)
    Yhat = np.hstack([H, np.full((N, 1), beta)]) @ W2.T
    reg = float(np.sum(W1**2) + np.sum(W2**2))
    if cost == "mse":
        return float(np.sum((Yhat - Y) ** 2) / N) + lam * reg
    if cost == "cross_entropy":
        Yo = one_hot(np.asarray(Y, int), Yhat.shape[1])
        return float(np.sum(logsumexp(Yhat, axis=1) - np.sum(Yhat * Yo, axis=1)) / N) + lam * reg
    raise ValueError(cost)


def local_search(X, Y, *, ab, lam, beta, cost="mse", width=12, starts=2, iters=120, seed=0):
    r"""An upper reference ``hi ≥ P*`` only: torch L-BFGS (float64) on a width-``width`` network from
    ``starts`` random inits, then the output layer refitted by the convex group lasso over the
    found first-layer directions; ``hi`` is the best network's loss by :func:`network_loss`."""
    import torch

    ab = tuple(map(float, ab))
    X = np.asarray(X, float)
    N, d = X.shape
    if cost == "cross_entropy":
        labels = np.asarray(Y, int)
        k = int(labels.max()) + 1
        Yt = torch.from_numpy(labels.astype(np.int64))
    else:
        Y = np.asarray(Y, float).reshape(N, -1)
        k = Y.shape[1]
        Yt = torch.from_numpy(Y)
    Xb = torch.from_numpy(np.hstack([X, np.full((N, 1), beta)]))
    best = (math.inf, None)
    gen = torch.Generator().manual_seed(seed)
    ysc = float(np.linalg.norm(Y) / math.sqrt(N)) if cost == "mse" else 1.0
    xsc = float(torch.linalg.norm(Xb, dim=1).max())
    for s in range(starts):
        W1 = (torch.randn(width, d + 1, generator=gen, dtype=torch.float64) / max(xsc, 1e-300)).requires_grad_()
        W2 = (torch.randn(k, width + 1, generator=gen, dtype=torch.float64) * ysc / math.sqrt(width)).requires_grad_()
        opt = torch.optim.LBFGS([W1, W2], lr=1, max_iter=iters, tolerance_grad=1e-14, tolerance_change=1e-16,
                                history_size=20, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            Z = Xb @ W1.T
            H = torch.where(Z >= 0, ab[0] * Z, ab[1] * Z)
            Yh = torch.cat([H, torch.full((N, 1), beta, dtype=torch.float64)], 1) @ W2.T
            if cost == "mse":
                c = ((Yh - Yt) ** 2).sum() / N
            else:
                c = torch.nn.functional.cross_entropy(Yh, Yt, reduction="mean")
            loss = c + lam * ((W1**2).sum() + (W2**2).sum())
            loss.backward()
            return loss

        try:
            opt.step(closure)
        except Exception:  # noqa: BLE001 - a failed start is just skipped
            continue
        w1, w2 = W1.detach().numpy(), W2.detach().numpy()
        val = network_loss(w1, w2, X, Y if cost != "cross_entropy" else labels, ab=ab, lam=lam, beta=beta, cost=cost)
        if val < best[0]:
            best = (val, (w1, w2))
    hi = best[0]
    if best[1] is not None:  # convex refit of the output layer over the found directions
        w1 = best[1][0]
        nrm = np.linalg.norm(w1, axis=1)
        dirs = w1[nrm > 0] / nrm[nrm > 0, None]
        Yin = one_hot(labels, k) if cost == "cross_entropy" else Y
        A = np.hstack([X, np.full((N, 1), beta)])
        P = _Prob(A, Yin if cost == "cross_entropy" else Yin, cost, lam, lam, beta, 1.0, ab)
        try:
            S = sigma(A @ dirs.T, ab)
            V, c0, _, _, _ = _group_lasso(P, S, np.ones(S.shape[1]))
            val, _ = _primal_value(P, S, V, c0)
            hi = min(hi, val)
        except Exception:  # noqa: BLE001 - the L-BFGS value stays valid
            pass
    return Ref(-math.inf, hi, "local search (upper only)", False, {})


# --------------------------------------------------------------------------------------------
def reference(X, Y, *, ab, lam, beta, cost="mse"):
    r"""The best available reference: the tightest exact interval among those that apply.

    Exact (``Ref.exact``): linear σ → nuclear norm; k = 1 (or 2-class cross-entropy) →
    Pilanci–Ergen; input rank ≤ 3 → simplicial sandwich.  Otherwise local search (upper only).
    """
    ab = tuple(map(float, ab))
    X = np.asarray(X, float)
    N = X.shape[0]
    r = reduce_inputs(X, beta).shape[1]
    if cost == "cross_entropy":
        k = int(np.max(Y)) + 1
        k_eff = 1 if k == 2 else k
    else:
        k_eff = np.asarray(Y).reshape(N, -1).shape[1]
    if ab[0] == ab[1]:
        return linear_nuclear(X, Y, lam=lam, beta=beta, cost=cost, a=ab[0])
    if k_eff == 1:
        return pilanci_ergen(X, np.asarray(Y).reshape(N) if cost == "cross_entropy" else np.asarray(Y).reshape(N, 1),
                             ab=ab, lam=lam, beta=beta, cost=cost)
    if 1 <= r <= 3:
        return simplicial(X, Y, ab=ab, lam=lam, beta=beta, cost=cost)
    return local_search(X, Y, ab=ab, lam=lam, beta=beta, cost=cost)
