r"""covcone as a library inside your own code: your cvxpy model, your own solver loop.

1. **Your cvxpy model with covcone's cone constraints.**  The depth-2 training problem written
   by hand over the covariances (docs/design.md §2–3): ``(K_1, K_1^σ − β²11ᵀ)`` constrained to
   the covariance cone by :class:`covcone.CellCone` (exact for input rank ≤ 4) or
   :class:`covcone.LiftedCone` (an outer relaxation: a lower bound).  Its optimal value is
   compared with :func:`covcone.solve`'s certified optimum.
2. **Your own conditional-gradient (Frank–Wolfe) loop** on the depth-2 group lasso
   (docs/design.md §3.4): each round calls covcone's exact pricing oracle
   :func:`covcone.oracle.max_group_norm` for the best new neuron, then refits the output
   weights by your own proximal-gradient solver; at the end :func:`covcone.certify` certifies
   (or bounds) the network your loop produced.

Run:  python examples/library_calls.py
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np

import covcone
from covcone.oracle import max_group_norm

LAM, BETA = 1e-2, 1.0


def make_data(N=10, seed=0):
    """2-D inputs (rank 3 with the bias row: the exact cone and oracle apply), one output."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, 2))
    Y = (np.abs(X[:, :1]) - X[:, 1:] ** 2).reshape(N, 1)
    return X, Y


def whitened_basis(X, beta):
    r"""``A = [Xᵀ; β1ᵀ] = U B`` with ``B = S Vᵀ`` (r×N): a unit ``c`` is the unit input weight
    ``w = U c`` and its pre-activations are ``z = Aᵀw = Bᵀc``."""
    A = np.vstack([X.T, beta * np.ones((1, len(X)))])
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(s > 1e-10 * s[0]))
    return U[:, :r], s[:r, None] * Vt[:r]


# -------------------------------------------------------------------------------------------
# 1. a user's cvxpy model
# -------------------------------------------------------------------------------------------
def my_cvxpy_model(X, Y, *, cone="cells", lam=LAM, beta=BETA):
    r"""min (1/N)‖Z_2 − Y‖² + λ(Tr M + Tr T) over the cone, written by the user.

    ``Tr M = Tr[K_1 (K_0^σ)^+]`` (the first layer's ‖W_1‖², whitened basis) and ``Tr T`` bounds
    ``Tr[Z_2ᵀ (K_1^σ)^+ Z_2]`` (the second layer's ‖W_2‖²) through the Schur complement
    ``[[K_1^σ, Z_2ᵀ], [Z_2, T]] ⪰ 0``.
    """
    N, k = Y.shape
    _, B = whitened_basis(X, beta)
    S = cp.Variable((N + k, N + k), PSD=True)
    K_sigma_minus_bias = S[:N, :N] - beta**2 * np.ones((N, N))
    Z2, T = S[N:, :N], S[N:, N:]
    if cone == "cells":
        cc = covcone.CellCone(B, "relu")
        constraints = cc.constraints(K_sigma_minus_bias=K_sigma_minus_bias)
        first_layer = cp.trace(cc.c_matrix())
    else:
        cc = covcone.LiftedCone(N, "relu", range_basis=B.T)
        constraints = cc.constraints(K_sigma_minus_bias=K_sigma_minus_bias)
        K0_pinv = np.linalg.pinv(B.T @ B)
        first_layer = cp.sum(cp.multiply(K0_pinv, cc.K))
    objective = cp.sum_squares(Z2 - Y.T) / N + lam * (first_layer + cp.trace(T))
    problem = cp.Problem(cp.Minimize(objective), constraints)
    problem.solve(solver="CLARABEL")
    return problem.value, problem.status, cc.residual()


# -------------------------------------------------------------------------------------------
# 2. a user's Frank–Wolfe loop with covcone's pricing oracle
# -------------------------------------------------------------------------------------------
def refit_outputs(Sig, Y, V, c0, *, lam, beta, iters=3000):
    r"""FISTA on the group lasso over fixed neurons (the columns of ``Sig``):
    min_V,c0 (1/N)‖Sig V + β1c0ᵀ − Y‖² + 2λΣ_j‖v_j‖ + λ‖c0‖²."""
    N = len(Y)
    F = np.hstack([Sig, beta * np.ones((N, 1))])
    L = 2.0 / N * np.linalg.norm(F, 2) ** 2 + 2 * lam
    P = np.vstack([V, c0[None]])
    Q, t = P.copy(), 1.0
    for _ in range(iters):
        G = 2.0 / N * F.T @ (F @ Q - Y)
        G[-1] += 2 * lam * Q[-1]
        Pn = Q - G / L
        norms = np.linalg.norm(Pn[:-1], axis=1, keepdims=True)
        Pn[:-1] *= np.maximum(0.0, 1 - (2 * lam / L) / np.maximum(norms, 1e-300))  # group soft threshold
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        Q, P, t = Pn + (t - 1) / tn * (Pn - P), Pn, tn
    return P[:-1], P[-1]


def my_frank_wolfe(X, Y, *, lam=LAM, beta=BETA, rounds=25):
    """Add the oracle's best neuron each round; stop when no neuron prices out (m ≤ 2λ)."""
    N, k = Y.shape
    U, B = whitened_basis(X, beta)
    C = np.zeros((0, B.shape[0]))  # unit neurons in c-space, one per row
    V, c0 = np.zeros((0, k)), np.zeros(k)
    log = []
    for it in range(rounds):
        Sig = np.maximum(B.T @ C.T, 0.0)  # σ(Bᵀc_j), N × n
        Yhat = Sig @ V + beta * c0
        Theta = 2.0 / N * (Y - Yhat)  # −∇ of the data term
        price = max_group_norm(Theta, B, "relu")  # m = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖, exact here (rank 3)
        log.append((it, price.value, price.exact))
        if price.value <= 2 * lam * (1 + 1e-6):
            break
        C = np.vstack([C, price.C[:1]])
        V = np.vstack([V, np.zeros((1, k))])
        V, c0 = refit_outputs(np.maximum(B.T @ C.T, 0.0), Y, V, c0, lam=lam, beta=beta)
    # balanced network: W_1 rows √‖v_j‖ (U c_j)ᵀ, W_2 columns v_j / √‖v_j‖, bias column c0
    norms = np.linalg.norm(V, axis=1)
    keep = norms > 1e-12
    t = np.sqrt(norms[keep])
    W1 = t[:, None] * (C[keep] @ U.T)
    W2 = np.hstack([(V[keep] / t[:, None]).T, c0[:, None]])
    return covcone.Network([W1, W2], "relu", beta), log


def main():
    X, Y = make_data()
    reference = covcone.solve(X, Y, lam=LAM, beta=BETA, rng=0)
    print(f"covcone.solve: {reference.status}, optimum {reference.upper:.8f} (lower {reference.lower:.8f})")

    exact, status, residual = my_cvxpy_model(X, Y, cone="cells")
    print(f"my cvxpy model + CellCone  : {exact:.8f} ({status}, cone residual {residual:.1e})")
    lifted, status, _ = my_cvxpy_model(X, Y, cone="lifted")
    print(f"my cvxpy model + LiftedCone: {lifted:.8f} ({status}; an outer relaxation: a lower bound)")

    net, log = my_frank_wolfe(X, Y)
    last = log[-1]
    print(f"my Frank–Wolfe: {len(log)} oracle calls, last price m = {last[1]:.6f} vs 2λ = {2 * LAM:g} "
          f"(exact oracle: {last[2]}), {net.widths[1]} neurons, loss {net.loss(X, Y, lam=LAM):.8f}")
    cert = covcone.certify(net, X, Y, lam=LAM)
    print(f"covcone.certify of my network: loss {cert.loss:.8f}, lower bound {cert.lower:.8f}, gap {cert.gap:.1e}")
    print(cert.message)
    return {"optimum": reference.upper, "certified": reference.certified, "cells": exact, "lifted": lifted,
            "fw_loss": cert.loss, "fw_lower": cert.lower, "fw_gap": cert.gap, "fw_price": last[1],
            "certify": cert}


if __name__ == "__main__":
    main()
