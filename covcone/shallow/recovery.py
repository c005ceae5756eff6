r"""Recovery of a sparse network from the master's solution (docs/design.md §5).

Interior-point masters leave many tiny output vectors; recovery merges neurons with parallel
features, takes a Carathéodory (vertex) step on the atoms ``s_j v_jᵀ`` (the output and the
penalty do not increase; at most N·k neurons remain) and re-solves on pruned supports.  Of the
candidate networks, the sparsest whose forward-pass loss is within the *sparsity slack* of the
best is returned; the slack is taken from the certificate's relative room, so sparsity never
costs the certificate.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..decompose import caratheodory, parallel_groups
from ..exceptions import InaccurateSolutionWarning, SolverError
from .master import solve_master

__all__ = ["reduce_atoms", "merge_parallel", "sparsity_slack", "recover"]


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
    1e-7) can cost less than the constrained optimum: its output weights are corrected by the
    min-norm change that makes ``Ŷ = Y`` to machine precision (the rule for every interpolating
    candidate, so that no upper bound is below the optimum)."""
    from ..network import Network, _with_bias
    from ..reformulations import min_norm_map

    H = _with_bias(net.activation(net.preactivations(X)[-2]), net.beta)
    W = list(net.weights)
    W[-1] = W[-1] + min_norm_map(H, Y - net.forward(X))
    return Network(W, net.activation, net.beta)


def interpolates_exactly(X, Y, net, rtol: float = 1e-10) -> bool:
    """Whether ``net`` reproduces Y to ``rtol`` (relative to ‖Y‖): hidden features that cannot span
    Y leave a residual no output weights remove."""
    return bool(np.linalg.norm(net.forward(X) - Y) <= rtol * max(np.linalg.norm(Y), 1e-300))


def recover(setup, C: np.ndarray, V: np.ndarray, c0: np.ndarray, *, lower_user: float, rtol: float, atol: float,
            solver: str, solver_opts: dict | None, deadline: float | None = None, active_set: bool = False):
    """The sparsest candidate network within the sparsity slack of the best.  Returns
    ``(network, upper)`` with ``upper`` its forward-pass loss (user units).  ``active_set``: the
    masters on the supports may use the active-set master (see :func:`solve_master`)."""
    candidates, uppers = [], []

    def add(net_):
        up = None
        if setup.cost == "interpolate":
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
