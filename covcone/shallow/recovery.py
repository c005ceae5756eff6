r"""Recovery of a sparse network from the master's solution (docs/design.md §5).

Interior-point masters leave many tiny output vectors; recovery merges neurons with parallel
features, takes a Carathéodory (vertex) step on the atoms ``s_j v_jᵀ`` (the output and the
penalty do not increase; at most N·k neurons remain) and re-solves on pruned supports.  Of the
candidate networks, the sparsest whose forward-pass loss is within the *sparsity slack* of the
best is returned; the slack is taken from the certificate's relative room, so sparsity never
costs the certificate.  With ``cost="interpolate"`` each candidate is corrected to ``Ŷ = Y`` to
machine precision, by the output weights alone or by :func:`refit_within_faces` (both layers,
each neuron in its face), whichever costs less.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..decompose import caratheodory, parallel_groups
from ..exceptions import InaccurateSolutionWarning, SolverError
from .master import solve_master

__all__ = ["interpolate_exactly", "merge_parallel", "recover", "reduce_atoms", "refit_within_faces", "sparsity_slack"]


def reduce_atoms(S: np.ndarray, V: np.ndarray, tol: float = 1e-10):
    r"""Indices and new output vectors of at most rank(atoms) neurons giving the same Ŷ.

    Atoms ``a_j = vec(s_j u_jᵀ)`` with weights ``α_j = ‖v_j‖`` (``u_j = v_j/α_j``); the
    Carathéodory step of :func:`covcone.decompose.caratheodory` with the penalty ``Σα`` as its
    cost.  Returns ``(keep, V_new)``.
    """
    alpha = np.linalg.norm(V, axis=1)
    idx = np.flatnonzero(alpha > 0)
    if idx.size == 0:
        return idx, V[idx]
    U = V[idx] / alpha[idx, None]
    M = (S[:, idx][:, :, None] * U[None, :, :]).transpose(0, 2, 1).reshape(-1, idx.size)  # (N·k) × n
    scale = np.linalg.norm(M, axis=0)
    ok = scale > 0
    idx, U, M, scale = idx[ok], U[ok], M[:, ok], scale[ok]
    support, a, _ = caratheodory(M / scale, alpha[idx] * scale, tol, cost=1.0 / scale)
    return idx[support], (a / scale[support])[:, None] * U[support]


def merge_parallel(S: np.ndarray, V: np.ndarray, cos_tol: float = 1e-12):
    r"""Merge neurons whose features s_j are parallel (s_i = ρ s_j, ρ > 0).

    Within a group the neuron with the largest ‖s‖ is kept and the others' outputs move onto it,
    scaled by ρ ≤ 1: Ŷ is unchanged (up to the angle tolerance) and the penalty 2λΣ‖v_j‖ does not
    increase (triangle inequality).  Groups come from :func:`covcone.decompose.parallel_groups`.
    Returns ``(keep, V_new)``.
    """
    norms = np.linalg.norm(S, axis=0)
    alive = norms > 0
    V = V.copy()
    V[~alive] = 0.0
    idx = np.flatnonzero(alive)
    Sn = (S[:, idx] / norms[idx]).T
    # coinciding unit vectors to ``tol`` in max-norm ⇔ cosine ≥ 1 − O(tol²): tol = √(2·cos_tol)
    labels = idx[parallel_groups(Sn, float(np.sqrt(2.0 * cos_tol)))]
    for rep in np.unique(labels):
        members = idx[labels == rep]
        if members.size == 1:
            continue
        best = members[np.argmax(norms[members])]
        others = members[members != best]
        V[best] += (norms[others] / norms[best]) @ V[others]
        V[others] = 0.0
    keep = np.flatnonzero(np.linalg.norm(V, axis=1) > 0)
    return keep, V[keep]


def sparsity_slack(upper: float, lower: float, rtol: float, atol: float = 0.0) -> float:
    """How much loss a sparser network may add: a tenth of the certificate's room, and never more
    than half of the room left when the bounds are within the room (so a certified gap stays
    certified).  When the gap already exceeds the room (a time limit, an anytime bound) no
    certificate is at stake and the tenth of the room stands: without it a Carathéodory-reduced
    network that is a rounding error worse would lose to the interior point's hundreds of tiny
    neurons."""
    if not np.isfinite(upper):
        return 0.0
    room = rtol * abs(upper) + atol
    slack = 0.1 * room
    left = room - (upper - lower) if np.isfinite(lower) else -np.inf
    if left >= 0:  # certified (gap ≤ room, the boundary included): keep it so
        slack = min(slack, 0.5 * left)
    return slack


def interpolate_exactly(X, Y, net):
    """A network that interpolates only to a solver's tolerance (≈ 1e-8; ``Network.loss`` accepts
    1e-7) can cost less than the constrained optimum: it is corrected to ``Ŷ = Y`` to machine
    precision (the rule for every interpolating candidate, so that no upper bound is below the
    optimum).  Two corrections, the cheaper one kept: the min-norm change of the output weights,
    and :func:`refit_within_faces` (both layers).  The first is enough when the hidden features
    are well conditioned; where they are nearly dependent (columns a solver's accuracy away from
    the optimum's, e.g. the N²/4 example) it costs up to 1e-4 relative, the second ≈ 1e-13."""
    from ..network import Network, _with_bias
    from ..reformulations import min_norm_map

    H = _with_bias(net.activation(net.preactivations(X)[-2]), net.beta)
    W = list(net.weights)
    W[-1] = W[-1] + min_norm_map(H, Y - net.forward(X))
    out = Network(W, net.activation, net.beta)
    refit = refit_within_faces(X, Y, net)
    if refit is None or not interpolates_exactly(X, Y, refit):
        return out
    if interpolates_exactly(X, Y, out) and out.squared_norm() <= refit.squared_norm() * (1.0 + 1e-12):
        return out  # a tie (rounding) goes to the change of the output weights alone
    return refit


def interpolates_exactly(X, Y, net, rtol: float = 1e-10) -> bool:
    """Whether ``net`` reproduces Y to ``rtol`` (relative to ‖Y‖): hidden features that cannot span
    Y leave a residual no output weights remove."""
    return _residual_within(net.forward(X) - Y, Y, rtol)


def _residual_within(R, Y, rtol: float) -> bool:
    """``‖R‖ ≤ rtol·‖Y‖``: the residual ``R = ±(Y − Ŷ)`` counts as interpolation."""
    return bool(np.linalg.norm(R) <= rtol * max(float(np.linalg.norm(Y)), 1e-300))


#: Largest Jacobian (entries) :func:`refit_within_faces` forms: 4e6 doubles (32 MB, ≈ 1 s a step).
_REFIT_MAX_ENTRIES = 4_000_000
#: Residual (relative) at which :func:`refit_within_faces` takes ``Ŷ = Y``: far below the 1e-10 of
#: :func:`interpolates_exactly`, which a descent on the cost would otherwise spend (a residual ρ
#: buys ≈ ρ·‖Θ‖ of cost: 1e-12 relative below the optimum on the N²/4 example).
_EXACT = 1e-14
#: Relative decrease below which :func:`refit_within_faces` stops (rounding: the loss is flat to
#: second order along a face).
_PROGRESS = 1e-13


def _balance(W1: np.ndarray, W2: np.ndarray):
    """Rescale each hidden neuron (``w_j → t w_j``, ``v_j → v_j/t``, σ positively homogeneous) so
    that ``‖w_j‖ = ‖v_j‖``: the function is unchanged and ``‖W_1‖² + ‖W_2‖²`` is the least."""
    n = W1.shape[0]
    a, b = np.linalg.norm(W1, axis=1), np.linalg.norm(W2[:, :n], axis=0)
    ok = (a > 0) & (b > 0)
    t = np.ones(n)
    t[ok] = np.sqrt(b[ok] / a[ok])
    W2 = W2.copy()
    W2[:, :n] /= t[None, :]
    return W1 * t[:, None], W2


def _drop_negligible(net, rtol: float = 1e-6):
    """The depth-2 ``net`` without its hidden neurons of cost ``‖w_j‖‖v_j‖ ≤ rtol·max``, or None
    when there are none (or nothing else)."""
    from ..network import Network

    W1, W2 = net.weights
    n = W1.shape[0]
    cost = np.linalg.norm(W1, axis=1) * np.linalg.norm(W2[:, :n], axis=0)
    keep = cost > rtol * cost.max(initial=0.0)
    if keep.all() or not keep.any():
        return None
    return Network([W1[keep], np.hstack([W2[:, :n][:, keep], W2[:, n:]])], net.activation, net.beta)


def _face_linearisation(Xt, Y, W1, W2, act, beta, zero_rtol):
    """``(J, R, bases, coef)`` at ``(W_1, W_2)``: the Jacobian of ``vec Ŷ`` in the coordinates
    ``(coef_j, vec W_2)`` with ``w_j = bases_j·coef_j + (the rest, fixed)``, each basis spanning
    the moves that keep neuron j's zero pre-activations zero, and the residual ``R = Y − Ŷ``."""
    from ..network import _with_bias

    (N, k), (n, p) = Y.shape, W1.shape
    Z = Xt @ W1.T
    Ht = _with_bias(act(Z), beta)
    R = Y - Ht @ W2.T
    xn = np.linalg.norm(Xt, axis=1)
    zero = np.abs(Z) <= zero_rtol * xn[:, None] * np.linalg.norm(W1, axis=1)[None, :]
    slope = np.where(Z > 0, act.a, act.b)
    blocks, bases, coef = [], [], []
    for j in range(n):
        P = np.eye(p)
        Zj = Xt[zero[:, j]]
        if Zj.shape[0]:
            _, s, vt = np.linalg.svd(Zj)
            P = vt[int(np.sum(s > 1e-12 * s[0])):].T  # moves keeping x̃_iᵀw_j = 0
        bases.append(P)
        coef.append(P.T @ W1[j])
        G = slope[:, j:j + 1] * (Xt @ P)  # ∂(hidden j)/∂(coefficients), N × m_j
        blocks.append((G[:, None, :] * W2[:, j][None, :, None]).reshape(N * k, -1))
    J2 = np.zeros((N * k, k * (n + 1)))
    for q in range(k):
        J2[q::k, q * (n + 1):(q + 1) * (n + 1)] = Ht
    return np.hstack(blocks + [J2]), R, bases, coef


def _face_update(W1, bases, coef, new, k):
    """The weights at face coordinates ``new`` (see :func:`_face_linearisation`), balanced."""
    W1, off = W1.copy(), 0
    for j, P in enumerate(bases):
        W1[j] += P @ (new[off:off + P.shape[1]] - coef[j])
        off += P.shape[1]
    return _balance(W1, new[off:].reshape(k, -1))


def refit_within_faces(X, Y, net, *, iters: int = 8, zero_rtol: float = 1e-9):
    r"""The least ``‖W_1‖² + ‖W_2‖²`` with ``Ŷ = Y`` near a depth-2 network, its hidden neurons kept
    in their faces of the arrangement: zero pre-activations (``|x̃_iᵀw_j| ≤ zero_rtol·‖x̃_i‖‖w_j‖``)
    stay zero, so that along a step the output is bilinear in ``(W_1, W_2)`` with Jacobian ``J``.

    Each iteration replaces the weights θ by the minimum-norm solution of the linearised equations
    ``J θ' = Y − Ŷ + Jθ`` (then balances the neurons): a fixed point is a KKT point of the problem
    on these faces (``θ = Jᵀμ``, ``Ŷ = Y``).  Every iterate is made to interpolate by Gauss–Newton
    steps of least change (``Δθ = J⁺(Y − Ŷ)``, quadratic convergence to ``Ŷ = Y``).  From a column
    generation's solution (a solver's residual, or its near-zero neurons removed) this reaches the
    optimum on the faces to ≈ 1e-13, where the kept columns are nearly dependent (columns a
    solver's accuracy away from the optimum's, e.g. the N²/4 example) and re-solving the master on
    them, or correcting the output weights alone, costs up to 2 % more.  Returns the cheapest
    iterate that interpolates to :data:`_EXACT` (relative), or None: none does, the network is not depth 2,
    or the Jacobian would exceed :data:`_REFIT_MAX_ENTRIES`.  Nothing here is trusted: the caller
    checks ``Ŷ = Y`` and the loss by a forward pass."""
    from ..network import Network, _with_bias

    if net.depth != 2:
        return None
    act, beta = net.activation, net.beta
    W1, W2 = (np.array(W, dtype=float) for W in net.weights)
    Xt = _with_bias(np.asarray(X, dtype=float), beta)
    Y = np.asarray(Y, dtype=float)
    (N, k), (n, p) = Y.shape, W1.shape
    if N * k * (n * p + k * (n + 1)) > _REFIT_MAX_ENTRIES:
        return None
    best, best_cost = None, np.inf

    def linearise(A, B):
        return _face_linearisation(Xt, Y, A, B, act, beta, zero_rtol)

    def solve(J, rhs):
        return np.linalg.lstsq(J, rhs, rcond=None)[0]

    try:
        for _ in range(iters):
            here = linearise(W1, W2)
            (J, R, bases, coef), (A, B) = here, (W1, W2)
            for _ in range(6):  # least-change steps to Ŷ = Y
                if not np.all(np.isfinite(R)) or _residual_within(R, Y, _EXACT):
                    break
                theta = np.concatenate(coef + [B.reshape(-1)])
                A, B = _face_update(A, bases, coef, theta + solve(J, R.reshape(-1)), k)
                J, R, bases, coef = linearise(A, B)
            if _residual_within(R, Y, _EXACT):
                cand = Network([A, B], act, beta)
                cost = cand.squared_norm()
                if cost >= best_cost * (1.0 - _PROGRESS):
                    break  # no progress beyond rounding (the loss is flat to second order along a face)
                best, best_cost = cand, cost
            J, R, bases, coef = here  # the minimum-norm step, from the iterate itself
            if not np.all(np.isfinite(R)):
                break
            theta = np.concatenate(coef + [W2.reshape(-1)])
            W1, W2 = _face_update(W1, bases, coef, solve(J, R.reshape(-1) + J @ theta), k)
    except np.linalg.LinAlgError:
        pass
    return best


def recover(setup, C: np.ndarray, V: np.ndarray, c0: np.ndarray, *, lower_user: float, rtol: float, atol: float,
            solver: str, solver_opts: dict | None, deadline: float | None = None, active_set: bool = False):
    """The sparsest candidate network within the sparsity slack of the best.  Returns
    ``(network, upper)`` with ``upper`` its forward-pass loss (user units).  ``active_set``: the
    masters on the supports may use the active-set master (see :func:`solve_master`)."""
    candidates, uppers = [], []

    def add(net_):
        up = None
        if setup.cost == "interpolate":
            lean = _drop_negligible(net_)
            if lean is not None:
                add(lean)  # a solver's near-zero neurons often only patch its residual: refit without them
            net_ = interpolate_exactly(setup.X, setup.Y, net_)
            if not interpolates_exactly(setup.X, setup.Y, net_) and candidates:
                up = np.inf  # only within the loss's tolerance: not an upper bound to rely on
        candidates.append(net_)
        uppers.append(setup.loss(net_) if up is None else up)  # each candidate's forward pass, once

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
    ref = min(uppers)
    slack = sparsity_slack(ref, lower_user, rtol, atol)
    norms = np.linalg.norm(V, axis=1)
    for thr in (1e-2, 1e-4, 1e-6, 0.0):
        if deadline is not None and time.perf_counter() >= deadline:
            break  # out of time: the merged / reduced candidates above stand
        sup = norms > thr * norms.max(initial=0.0)
        if not np.any(sup):
            continue
        if setup.cost == "interpolate" and not sup.all():
            add(setup.network(C[sup], V[sup], c0))  # refit on these faces (interpolate_exactly)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InaccurateSolutionWarning)
                Cs = C[sup]
                Vp, c0p, _, _ = solve_master(setup, setup.columns(Cs), solver, solver_opts, warm=(V[sup], c0),
                                             active_set=active_set)
        except SolverError:
            continue
        keep, Vm = merge_parallel(setup.columns(Cs), Vp, 1e-7)
        keep2, Vr = reduce_atoms(setup.columns(Cs[keep]), Vm)
        add(setup.network(Cs[keep][keep2], Vr, c0p))
        if uppers[-1] <= ref + slack:
            break
    best_up = min(uppers)
    slack = sparsity_slack(best_up, lower_user, rtol, atol)
    ok = [i for i, u in enumerate(uppers) if u <= best_up + slack]
    pick = min(ok, key=lambda i: (candidates[i].widths[1], uppers[i]))
    return candidates[pick], uppers[pick]
