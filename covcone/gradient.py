r"""Parameter-space gradient training: the loss and its gradient, L-BFGS polish, Adam starts.

Local methods only (they prove nothing): starting points for the block-coordinate solver of
:mod:`covcone.deep` and warm-start neurons for the depth-2 solver at input ranks where no exact
pricing oracle is affordable (docs/design.md §7).  Everything is numpy/scipy; the loss is the
paper's ``C(Ŷ) + λ Σ_ℓ ‖W_ℓ‖²`` (paper §2) with backpropagation (σ' = slope a at 0).
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .network import Network
from .reformulations import _with_bias, min_norm_map

__all__ = ["objective", "polish", "gradient_network", "fit_last", "compress_start", "torch_adam_lbfgs"]


def objective(problem, shapes):
    r"""``(unpack, fg)`` for the parameter-space loss ``C(Ŷ) + λ Σ‖W_ℓ‖²`` of networks with weight
    shapes ``shapes``: ``fg(x)`` returns the loss and its gradient (backpropagation, σ' = slope a
    at 0) at the flat weight vector ``x``."""
    from .costs import cost_gradient, cost_value

    act, beta, X, Y, lam = problem.activation, problem.beta, problem.X, problem.Y, problem.lam
    sizes = [int(np.prod(sh)) for sh in shapes]
    Xb = _with_bias(X, beta)

    def unpack(x):
        out, i = [], 0
        for sh, n in zip(shapes, sizes):
            out.append(x[i:i + n].reshape(sh))
            i += n
        return out

    def fg(x):
        W = unpack(x)
        Hs, Zs = [Xb], []
        for ell, Wl in enumerate(W):
            Z = Hs[-1] @ Wl.T
            Zs.append(Z)
            if ell < len(W) - 1:
                Hs.append(_with_bias(act(Z), beta))
        val = cost_value(Zs[-1], Y, problem.cost) + lam * float(x @ x)
        G = cost_gradient(Zs[-1], Y, problem.cost)
        grads = [None] * len(W)
        for ell in range(len(W) - 1, -1, -1):
            grads[ell] = G.T @ Hs[ell] + 2.0 * lam * W[ell]
            if ell > 0:
                G = (G @ W[ell][:, :-1]) * act.slopes(Zs[ell - 1])
        return val, np.concatenate([g.ravel() for g in grads])

    return unpack, fg


def polish(problem, net: Network, *, maxiter: int = 200, deadline: float | None = None) -> Network:
    r"""Local L-BFGS descent on all weights at once (parameter space; ``"mse"`` / ``"cross_entropy"``).

    Block-coordinate steps change the function only through the last block (a middle block must
    reproduce the next layer exactly), so they converge slowly; a joint gradient step between
    sweeps moves all layers together.  Gradients by backpropagation (σ' = slope a at 0).  The
    caller keeps the result only when its forward-pass loss is lower.
    """
    from scipy.optimize import minimize

    unpack, fg = objective(problem, [W.shape for W in net.weights])
    x0 = np.concatenate([W.ravel() for W in net.weights])
    best = {"x": x0}

    def stop_on_time(intermediate_result):  # scipy ≥ 1.11: StopIteration ends the run cleanly
        best["x"] = intermediate_result.x
        if deadline is not None and time.perf_counter() >= deadline:
            raise StopIteration

    res = minimize(fg, x0, jac=True, method="L-BFGS-B", callback=stop_on_time,
                   options={"maxiter": maxiter, "gtol": 1e-12, "ftol": 1e-15})
    return Network(unpack(res.x), problem.activation, problem.beta)


MAX_START_WIDTH = 512  # default hidden width of a gradient start (see gradient_network)


def gradient_network(problem, rng: np.random.Generator, *, width: int | None = None, adam_steps: int = 2000,
                   lr: float = 1e-2, lbfgs_steps: int = 500, deadline: float | None = None) -> Network:
    r"""A start found by plain gradient training in numpy: a random network of width ``width``
    (default ``min(N(N+1), MAX_START_WIDTH)``: the Carathéodory width, capped so that a middle
    layer of a deep start stays at ≈ 2.6e5 weights — at N = 60 the uncapped 3660² weights took
    ≈ 30 s per start and at N = 200 would not fit in memory) per hidden layer, uniform
    ``±1/√fan_in`` weights and biases (the usual default of ``Linear`` layers), ``adam_steps``
    full-batch Adam steps on the exact loss, then the joint L-BFGS :func:`polish`, then
    :func:`covcone.compress` to ≤ N(N+1) neurons per layer when it keeps the function and the
    ``deadline`` has not passed.  An initialisation only: the block-coordinate sweeps that follow
    can only lower its loss."""
    act, L, beta, N = problem.activation, problem.depth, problem.beta, problem.N
    n = int(width) if width is not None else min(N * (N + 1), MAX_START_WIDTH)
    dims = [problem.d] + [n] * (L - 1) + [problem.k]
    W = []
    for i in range(L):
        bound = 1.0 / math.sqrt(dims[i])
        w = rng.uniform(-bound, bound, (dims[i + 1], dims[i] + 1))
        w[:, -1] /= beta if beta != 0 else 1.0  # the bias column multiplies β
        if beta == 0:
            w[:, -1] = 0.0
        W.append(w)
    unpack, fg = objective(problem, [w.shape for w in W])
    x = np.concatenate([w.ravel() for w in W])
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    b1, b2, eps = 0.9, 0.999, 1e-8
    bmask = None
    if beta == 0:  # keep the (meaningless) bias columns at zero
        bmask = np.concatenate([np.broadcast_to(np.arange(w.shape[1]) < w.shape[1] - 1, w.shape).ravel() for w in W])
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, adam_steps + 1):
            if deadline is not None and t % 50 == 0 and time.perf_counter() >= deadline:
                break
            _, g = fg(x)
            if not np.all(np.isfinite(g)):
                break
            if bmask is not None:
                g = g * bmask
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    net = Network(unpack(x), act, beta)
    if lbfgs_steps > 0 and problem.cost != "interpolate":
        cand = polish(problem, net, maxiter=lbfgs_steps, deadline=deadline)
        if problem.loss(cand) <= problem.loss(net):
            net = cand
    if problem.cost == "interpolate":  # interpolate exactly with the learnt features
        W = list(net.weights)
        W[-1] = fit_last(act(net.preactivations(problem.X)[-2]), problem)
        net = Network(W, act, beta)
    return compress_start(problem, net, deadline=deadline)


def compress_start(problem, net: Network, *, deadline: float | None = None) -> Network:
    """:func:`covcone.compress` of a start network, kept when it does not raise the loss (skipped
    once ``deadline`` has passed: the start is returned as it is)."""
    from .decompose import CompressionError, compress

    if deadline is not None and time.perf_counter() >= deadline:
        return net
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comp = compress(net, problem.X, strict=False)
    except (CompressionError, ValueError, np.linalg.LinAlgError):
        return net
    if comp.success and problem.loss(comp.network) <= problem.loss(net) * (1 + 1e-12) + 1e-15:
        return comp.network
    return net


def fit_last(H: np.ndarray, problem) -> np.ndarray:
    r"""Output weights for post-activations ``H`` (N × n): min-norm interpolation of Y for
    ``"interpolate"``, ridge regression with λ otherwise (an initialisation only)."""
    B = _with_bias(H, problem.beta)
    if problem.cost == "interpolate":
        return min_norm_map(B, problem.Y)
    N = B.shape[0]
    # (1/N)‖B Wᵀ − Y‖² + λ‖W‖²  →  (BᵀB/N + λ I) Wᵀ = BᵀY/N
    G = B.T @ B / N + problem.lam * np.eye(B.shape[1])
    return np.linalg.solve(G, B.T @ problem.Y / N).T


def torch_adam_lbfgs(params, objective, *, adam_steps: int, lr: float = 1e-2, lbfgs_steps: int = 500,
                     history_size: int = 100):
    """Full-batch Adam then strong-Wolfe L-BFGS on torch tensors ``params`` (the baseline of the
    figures and benchmarks); ``objective()`` returns the scalar loss tensor.  Needs torch."""
    import torch

    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(int(adam_steps)):
        opt.zero_grad()
        loss = objective()
        loss.backward()
        opt.step()
    if lbfgs_steps > 0:
        lbfgs = torch.optim.LBFGS(params, max_iter=int(lbfgs_steps), tolerance_grad=1e-12, tolerance_change=1e-15,
                                  history_size=history_size, line_search_fn="strong_wolfe")

        def closure():
            lbfgs.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        lbfgs.step(closure)
