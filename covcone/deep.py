r"""The depth-L solver: block-coordinate sweeps, each block a depth-2 problem (docs/design.md §2).

Jacot, Golikov, Hongler & Gabriel, *Feature Learning in L2-regularized DNNs: Attraction/Repulsion
and Sparsity*, NeurIPS 2022 (arXiv 2205.15809), Prop. 5: for a positively homogeneous σ the
L2-regularised loss of a depth-L network equals the covariance loss

    L^k = C(Z_L) + λ Σ_{ℓ=1..L} Tr[K_ℓ (K_{ℓ-1}^σ)^+]

over pairs ``(K_ℓ, K_ℓ^σ)`` in the cone S, and ``L^k`` is convex in each block
``(K_ℓ, K_ℓ^σ)`` with the others fixed — but not jointly for L ≥ 3.

**A deep block is a shallow problem.**  With its neighbours fixed, block ℓ (hidden layer
ℓ = 1..L−1) enters the loss only through ``Tr[K_ℓ (K_{ℓ-1}^σ)^+] + Tr[K_{ℓ+1} (K_ℓ^σ)^+]``
(and, for ℓ = L−1, the cost ``C(Z_L)``): this is the depth-2 problem whose input Gram is
``K_{ℓ-1}^σ`` and whose output Gram is ``K_{ℓ+1}``.  So each block is one call of the exact
depth-2 solver :func:`covcone.shallow.solve_shallow`, with

* input: any factor ``G`` of ``K_{ℓ-1}^σ − β²11ᵀ`` (we use the thin SVD factor of the previous
  layer's post-activations ``σ(Z_{ℓ-1})``, or ``X`` for ℓ = 1; the shallow solver appends the β
  row itself);
* output: for a middle block, cost ``"interpolate"`` to a factor ``F`` of ``K_{ℓ+1}`` with at
  most N columns (thin SVD of ``Z_{ℓ+1}``) — keeping ``Z_{ℓ+1}`` fixed, the refit
  ``W_{ℓ+1} = Z_{ℓ+1} (Z_ℓ^{σ,new})^+`` has the same norm as the block's output weights; for
  the last hidden block, the real cost C with λ and the real targets Y.

The block's hidden pre-activations become the new ``Z_ℓ``; ``W_ℓ`` and ``W_{ℓ+1}`` are refit
min-norm (paper §3.1).  The new total loss is evaluated by a plain forward pass
(:meth:`covcone.Network.loss`) and a step is accepted only when that loss does not increase, so
the history is monotone non-increasing; a rejected step (numerical trouble: an inaccurate block
solve) is recorded in the history and in the message.

**Starts.**  Block-coordinate descent is local: from the balanced deep linear start alone it
often stops a few per cent above plain gradient training of a wide network.  So the default
(``init="auto"``, costs with λ) is a multi-start: the linear start and ``AUTO_GRADIENT_STARTS``
random networks of width min(N(N+1), 512) trained by full-batch Adam then the joint L-BFGS :func:`polish`
(all in numpy, seeded by ``rng``) and compressed; the ``AUTO_RESTARTS`` lowest-loss starts are
refined by block-coordinate runs and the best result is returned.  This is a better local
optimum, not a certificate.

**What is and is not certified.**  When a block's exact pricing oracle is affordable (input rank
≤ 3 or N ≤ 13, :func:`covcone.oracle.exact_affordable`) the block is certified optimal *given its
neighbours*; otherwise its heuristic oracle proves nothing.  Even when every block is certified
the result is only a block-coordinate (local) optimum: the deep problem is not convex, so the only
valid global lower bound here is the trivial ``0`` (losses are ≥ 0) and ``certified`` is False.

Samples are rows at this boundary (``X`` (N, d), ``Y`` (N, k)), as in :class:`covcone.Problem`.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings

import numpy as np

from .backends import choose_solver
from .exceptions import InaccurateSolutionWarning, SolverError
from .network import Network
from .gradient import fit_last, gradient_network, polish  # noqa: F401 (polish is public here too)
from .progress import progress
from .reformulations import min_norm_map
from .result import SolveResult

__all__ = ["solve_deep", "initial_network", "INITS", "BlockResult", "solve_block"]

INITS = ("auto", "linear", "random", "gradient")
"""Initialisation names accepted by :func:`solve_deep` (or pass a :class:`Network`)."""

_METHODS = ("auto", "generators", "heuristic")


# --------------------------------------------------------------------------------------------
# small linear-algebra helpers (samples as rows)
# --------------------------------------------------------------------------------------------
def _with_bias(H: np.ndarray, beta: float) -> np.ndarray:
    return np.hstack([H, np.full((H.shape[0], 1), beta)])


def _factor(M: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    r"""A factor ``F = U_r S_r`` (N × r, r = numerical rank) with ``F Fᵀ = M Mᵀ``."""
    if M.size == 0:
        return np.zeros((M.shape[0], 0))
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((M.shape[0], 0))
    r = int(np.sum(s > rtol * max(M.shape) * s[0]))
    return U[:, :r] * s[:r]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    nb = float(np.linalg.norm(b))
    d = float(np.linalg.norm(a - b))
    return d / nb if nb > 0 else d


def _rel_decrease(before: float, after: float) -> float:
    if not math.isfinite(before):
        return math.inf if math.isfinite(after) else 0.0
    return (before - after) / max(abs(before), 1e-300)


# --------------------------------------------------------------------------------------------
# initialisations
# --------------------------------------------------------------------------------------------
def _linear_init(problem) -> Network:
    r"""The deep linear network built from the SVD of the linear map, balanced across layers.

    For linear σ, β = 0 and ``X = I`` the minimum of ``Σ‖W_ℓ‖²`` subject to ``W_L⋯W_1 = M``
    is ``L Σ_i s_i(M)^{2/L}``, reached by ``W_1 = S^{1/L}Vᵀ``, ``W_ℓ = S^{1/L}``,
    ``W_L = U S^{1/L}`` (the classical deep-linear result; paper §4 uses its consequence
    ``R(Y; L) = L‖Y‖_{S_{2/L}}^{2/L}``).  For general data ``M`` is the min-norm
    least-squares map from ``[X, β1]`` to Y (interpolation) or the ridge map (other costs).
    For a nonlinear homogeneous σ with slopes (a, b), a + b ≠ 0, every hidden unit ``h`` is
    carried by the pair ``(h, −h)``: ``σ(h) − σ(−h) = (a + b) h``.
    """
    act, L, beta = problem.activation, problem.depth, problem.beta
    M = fit_last(problem.X, problem)  # k × (d+1)
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    r = int(np.sum(s > 1e-12 * max(M.shape) * (s[0] if s.size else 0.0)))
    if r == 0:  # the zero map: a zero network of width 1
        U, s, Vt, r = np.zeros((M.shape[0], 1)), np.zeros(1), np.zeros((1, M.shape[1])), 1
    U, s, Vt = U[:, :r], s[:r], Vt[:r]
    t = s ** (1.0 / L)
    a, b = act.a, act.b
    if a == b:  # linear σ(x) = a x
        W = [t[:, None] * Vt]
        for _ in range(L - 2):
            W.append(np.hstack([np.diag(t) / a, np.zeros((r, 1))]))
        W.append(np.hstack([U * t[None, :] / a, np.zeros((U.shape[0], 1))]))
    else:
        if a + b == 0:
            raise ValueError(
                f"init: 'linear' needs σ(z) − σ(−z) ≠ 0, i.e. slopes with a + b ≠ 0; got a = {a:g}, b = {b:g} "
                f"({act.name}); use init='random'"
            )
        c = a + b
        P = t[:, None] * Vt
        W = [np.vstack([P, -P])]
        D = np.diag(t) / c
        for _ in range(L - 2):
            W.append(np.hstack([np.block([[D, -D], [-D, D]]), np.zeros((2 * r, 1))]))
        Q = U * t[None, :] / c
        W.append(np.hstack([Q, -Q, np.zeros((U.shape[0], 1))]))
    net = Network(W, act, beta)
    if problem.cost == "interpolate":  # the SVD is exact up to round-off: refit the last layer to Y
        H = act(net.preactivations(problem.X)[-2])
        W[-1] = fit_last(H, problem)
        net = Network(W, act, beta)
    return net


def _balance(net: Network, passes: int = 50) -> Network:
    r"""Rescale the hidden units to minimise ``Σ‖W_ℓ‖²`` at a fixed function.

    For a positively homogeneous σ, multiplying ``W_ℓ`` (bias column included) by ``c > 0`` and
    the non-bias columns of ``W_{ℓ+1}`` by ``1/c`` leaves every later pre-activation unchanged;
    the best ``c`` for ``c²a + b/c²`` is ``(b/a)^{1/4}``.  A few coordinate passes (convex in
    ``log c``).
    """
    W = [w.copy() for w in net.weights]
    for _ in range(passes):
        for ell in range(len(W) - 1):
            a = float(np.sum(W[ell] ** 2))
            b = float(np.sum(W[ell + 1][:, :-1] ** 2))
            if a <= 0 or b <= 0:
                continue
            c = (b / a) ** 0.25
            W[ell] *= c
            W[ell + 1][:, :-1] /= c
    return Network(W, net.activation, net.beta)


def _random_init(problem, rng: np.random.Generator) -> Network:
    r"""A random network of width N per hidden layer (He-scaled Gaussian weights), output layer
    fitted to the targets (min-norm interpolation, or ridge), then :func:`covcone.compress`."""
    from .decompose import CompressionError, compress

    act, L, beta, N = problem.activation, problem.depth, problem.beta, problem.N
    gain = math.sqrt(2.0 / max(act.a**2 + act.b**2, 1e-12))
    W, fan_in = [], problem.d
    for _ in range(L - 1):
        W.append(rng.standard_normal((N, fan_in + 1)) * gain / math.sqrt(fan_in + 1))
        fan_in = N
    W.append(np.zeros((problem.k, N + 1)))
    net = Network(W, act, beta)
    H = act(net.preactivations(problem.X)[-2])
    W[-1] = fit_last(H, problem)
    net = _balance(Network(W, act, beta))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comp = compress(net, problem.X, strict=False)
        if comp.success:
            net = comp.network
    except CompressionError:  # pragma: no cover - strict=False does not raise
        pass
    return net


def initial_network(problem, init="auto", rng=None) -> Network:
    r"""The starting network of a block-coordinate run (see :func:`solve_deep`).

    Parameters
    ----------
    problem : Problem
    init : {"auto", "linear", "random", "gradient"} or Network
        ``"linear"``: the balanced deep linear network of the least-squares / ridge map (for
        nonlinear σ with a + b ≠ 0 each unit is carried by a ± pair); ``"random"``: Gaussian
        layers of width N, output layer fitted, compressed; ``"gradient"``: a random network
        of width min(N(N+1), 512) trained by full-batch Adam then L-BFGS in numpy, compressed (not for
        ``"interpolate"``); ``"auto"``: ``"linear"`` when σ allows it, else ``"random"`` (the
        multi-start of :func:`solve_deep` with ``init="auto"`` is built on top of this); a
        :class:`Network` is checked against the problem and returned as is (warm start).
    rng : numpy.random.Generator or int, optional
    """
    if isinstance(init, Network):
        problem.loss(init)  # raises ValueError naming any mismatch (depth, σ, β, widths)
        return init
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"init: expected one of {INITS} or a covcone Network, got {init!r}")
    if init == "auto":
        act = problem.activation
        init = "linear" if (act.a == act.b or act.a + act.b != 0) else "random"
    if init == "linear":
        return _linear_init(problem)
    if init == "gradient":
        if problem.cost == "interpolate":
            raise ValueError("init: 'gradient' trains on the loss with λ ('mse' or 'cross_entropy'), not "
                             "'interpolate'; use 'linear' or 'random'")
        return gradient_network(problem, np.random.default_rng(rng))
    return _random_init(problem, np.random.default_rng(rng))


# --------------------------------------------------------------------------------------------
# one block
# --------------------------------------------------------------------------------------------
class BlockResult:
    r"""Outcome of :func:`solve_block`: the candidate network and the block solve's report."""

    __slots__ = ("network", "certified", "status", "upper", "lower", "message", "skipped", "solver_status")

    def __init__(self, network, certified, status, upper, lower, message, skipped=False, solver_status=""):
        self.network = network
        self.certified = bool(certified)
        self.status = status
        self.upper = upper
        self.lower = lower
        self.message = message
        self.skipped = skipped
        self.solver_status = solver_status


def solve_block(problem, net: Network, ell: int, *, method="auto", tol=1e-6, solver=None, solver_opts=None,
                time_limit=None, rng=None, max_rounds=200, n_add=10, lifted_max_n=0) -> BlockResult:
    r"""Re-solve hidden layer ``ell`` (1-based) of ``net`` with its neighbours fixed (Prop. 5).

    The block is the depth-2 problem of the module docstring, solved by
    :func:`covcone.shallow.solve_shallow` warm-started from the layer's current neurons (unit
    vectors in the whitened input basis).  Returns the network with layer ``ell`` replaced and
    ``W_ell``, ``W_{ell+1}`` refit min-norm (not yet compared with the old loss).
    """
    from .decompose import decompose
    from .shallow import input_basis, solve_shallow

    act, beta, L, X = problem.activation, problem.beta, problem.depth, problem.X
    Zs = net.preactivations(X)
    H_prev = X if ell == 1 else act(Zs[ell - 2])
    last = ell == L - 1
    Xb = X if ell == 1 else _factor(H_prev)
    if Xb.shape[1] == 0:
        if beta == 0:
            return BlockResult(net, False, "skipped", None, None,
                               f"block {ell}: its input σ(Z_{ell - 1}) is zero and β = 0, so Z_{ell} = 0 is forced",
                               skipped=True)
        Xb = np.zeros((X.shape[0], 1))
    if last:
        T, cost, lam = problem.Y, problem.cost, problem.lam
    else:
        T, cost, lam = _factor(Zs[ell]), "interpolate", None
        if T.shape[1] == 0:
            return BlockResult(net, False, "skipped", None, None,
                               f"block {ell}: the next layer Z_{ell + 1} is zero; nothing to interpolate", skipped=True)
    # warm start: the current neurons as unit vectors c in the shallow solver's input basis
    _, _, Bb = input_basis(Xb, beta)
    C0, *_ = np.linalg.lstsq(Bb.T, Zs[ell - 1], rcond=None)
    C0 = C0.T
    nrm = np.linalg.norm(C0, axis=1)
    C0 = C0[nrm > 1e-12 * max(nrm.max(initial=0.0), 1e-300)]
    C0 = C0 / np.linalg.norm(C0, axis=1, keepdims=True) if C0.size else None
    with warnings.catch_warnings():
        # inaccurate master solves are recorded (``solver_status`` in the history), not printed
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        res = solve_shallow(Xb, T, activation=act, lam=lam, beta=beta, cost=cost, method=method, tol=tol,
                            solver=solver, solver_opts=solver_opts, time_limit=time_limit, rng=rng, verbose=False,
                            max_rounds=max_rounds, n_add=n_add, init_columns=C0, lifted_max_n=lifted_max_n,
                            oracle_time=None if time_limit is None else max(time_limit, 1e-3))
    bnet = res.network
    Znew = bnet.preactivations(Xb)[0]
    Znew = Znew[:, np.linalg.norm(Znew, axis=0) > 0]
    if Znew.shape[1] > 1:
        # Carathéodory (docs/design.md §5): at most N(N+1) neurons with the same (K_ℓ, K_ℓ^σ)
        dec = decompose(Znew.T, activation=act)
        if dec.residual <= 1e-10 and dec.n_after >= 1:
            Znew = dec.Z.T
    if Znew.shape[1] == 0:
        Znew = np.zeros((X.shape[0], 1))
    if last:
        target = problem.Y if cost == "interpolate" else bnet.forward(Xb)
    else:
        target = Zs[ell]
    W = list(net.weights)
    W[ell - 1] = min_norm_map(_with_bias(H_prev, beta), Znew)
    W[ell] = min_norm_map(_with_bias(act(Znew), beta), target)
    new = Network(W, act, beta)
    if problem.cost == "interpolate" and not last:
        # the min-norm refit reproduces Z_{ell+1} only up to the block solver's accuracy; refit
        # the output layer so that the forward pass interpolates Y exactly
        H = act(new.preactivations(X)[-2])
        W[-1] = min_norm_map(_with_bias(H, beta), problem.Y)
        new = Network(W, act, beta)
    return BlockResult(new, res.certified, res.status, res.upper, res.lower, res.message,
                       solver_status=res.solver_status)


# --------------------------------------------------------------------------------------------
# the solver
# --------------------------------------------------------------------------------------------
def _check_int(x, name: str, low: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < low:
        raise ValueError(f"{name}: expected an integer ≥ {low}, got {x!r}")
    return int(x)


def _check_pos(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name}: expected a positive number, got {x!r}")
    return float(x)


def _run(problem, net0: Network, *, restart: int, t_start: float, deadline, max_sweeps: int, rtol: float,
         block_kw: dict, rng, bar, do_polish: bool):
    """One block-coordinate run from ``net0``.  Returns (network, loss, history, info)."""
    net = net0
    loss = problem.loss(net)
    history = [{"restart": restart, "sweep": 0, "block": None, "loss": loss, "block_certified": None,
                "accepted": True, "time": time.perf_counter() - t_start}]
    rejected, failures = [], []
    last_cert = {}
    counters = {"inaccurate": 0, "net": net, "loss": loss, "sweep": 0}
    if do_polish:  # a joint descent from the start point first (sweep 0)
        cand = polish(problem, net, deadline=deadline)
        cand_loss = problem.loss(cand)
        ok = cand_loss < loss
        if ok:
            net, loss = cand, cand_loss
        history.append({"restart": restart, "sweep": 0, "block": "polish", "loss": loss, "block_certified": None,
                        "accepted": ok, "candidate_loss": cand_loss, "widths": net.widths,
                        "time": time.perf_counter() - t_start})
    try:
        net, loss, stop, n_sweeps = _sweeps(problem, net, loss, restart=restart, t_start=t_start, deadline=deadline,
                                            max_sweeps=max_sweeps, rtol=rtol, block_kw=block_kw, rng=rng, bar=bar,
                                            do_polish=do_polish, history=history, rejected=rejected,
                                            failures=failures, last_cert=last_cert, counters=counters)
    except KeyboardInterrupt:  # Ctrl-C: the best network so far, with its status
        stop = "interrupted (KeyboardInterrupt); the best network so far is returned"
        net, loss = counters["net"], counters["loss"]
        n_sweeps = counters["sweep"]
    info = {"stop_reason": stop, "rejected": rejected, "inaccurate": counters["inaccurate"], "failures": failures,
            "block_certified": dict(last_cert), "n_sweeps": n_sweeps}
    return net, loss, history, info


def _sweeps(problem, net, loss, *, restart, t_start, deadline, max_sweeps, rtol, block_kw, rng, bar, do_polish,
            history, rejected, failures, last_cert, counters):
    """Forward and backward sweeps over the blocks (see :func:`_run`)."""
    L = problem.depth
    stop = f"reached max_sweeps = {max_sweeps}"
    n_sweeps = 0
    prev_block = None
    counters.update(net=net, loss=loss, sweep=0)
    for sweep in range(1, max_sweeps + 1):
        counters["sweep"] = sweep
        order = list(range(1, L)) if sweep % 2 == 1 else list(range(L - 1, 0, -1))
        loss_before = loss
        out_of_time = False
        for ell in order:
            if ell == prev_block:  # the turn block: its neighbours have not changed since its solve
                continue
            prev_block = ell
            if deadline is not None and time.perf_counter() >= deadline:
                out_of_time = True
                break
            remaining = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
            entry = {"restart": restart, "sweep": sweep, "block": ell}
            try:
                br = solve_block(problem, net, ell, time_limit=remaining, rng=rng, **block_kw)
            except (SolverError, ValueError, np.linalg.LinAlgError) as exc:
                failures.append(f"sweep {sweep} block {ell}: {exc}")
                entry.update(loss=loss, block_certified=False, accepted=False, block_status="failed",
                             note=f"block solve failed: {exc}", time=time.perf_counter() - t_start)
                last_cert[ell] = False
                history.append(entry)
                continue
            new_loss = problem.loss(br.network) if not br.skipped else loss
            accepted = (not br.skipped) and new_loss <= loss
            entry.update(block_status=br.status, block_upper=br.upper, block_lower=br.lower,
                         block_certified=br.certified, candidate_loss=new_loss, solver_status=br.solver_status)
            counters["inaccurate"] += br.solver_status not in ("", "optimal")
            if br.skipped:
                entry["note"] = br.message
            elif not accepted:
                rejected.append((sweep, ell, loss, new_loss))
                entry["note"] = (f"rejected: the refit network's loss {new_loss:.12g} is above the current "
                                 f"{loss:.12g} (numerical trouble in the block solve); kept the old layer")
            if accepted:
                net, loss = br.network, new_loss
                counters.update(net=net, loss=loss)
            last_cert[ell] = br.certified
            entry.update(loss=loss, accepted=accepted, widths=net.widths, time=time.perf_counter() - t_start)
            history.append(entry)
            bar(block=ell, sweep=sweep, loss=f"{loss:.6g}")
        if do_polish and not out_of_time and sweep < max_sweeps:
            try:
                cand = polish(problem, net, deadline=deadline)
                cand_loss = problem.loss(cand)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:  # pragma: no cover
                cand, cand_loss = net, math.inf
                failures.append(f"sweep {sweep} polish: {exc}")
            ok = cand_loss < loss
            if ok:
                net, loss = cand, cand_loss
                counters.update(net=net, loss=loss)
                prev_block = None  # every block's neighbours changed
            history.append({"restart": restart, "sweep": sweep, "block": "polish", "loss": loss,
                            "block_certified": None, "accepted": ok, "candidate_loss": cand_loss,
                            "widths": net.widths, "time": time.perf_counter() - t_start})
        n_sweeps = sweep
        dec = _rel_decrease(loss_before, loss)
        if out_of_time:
            stop = f"time limit reached during sweep {sweep}"
            break
        if dec < rtol:
            allc = all(last_cert.get(ell, False) for ell in range(1, L))
            stop = (f"relative decrease {max(dec, 0.0):.2e} < rtol = {rtol:g} over sweep {sweep}"
                    + ("; every block certified optimal given its neighbours" if allc else ""))
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stop = f"time limit reached after sweep {sweep}"
            break
    return net, loss, stop, n_sweeps


def _compress_final(problem, net: Network, loss: float):
    """:func:`covcone.compress` on every hidden layer, kept only if outputs and loss hold."""
    from .decompose import CompressionError, compress

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comp = compress(net, problem.X, strict=False)
    except (CompressionError, ValueError, np.linalg.LinAlgError) as exc:
        return net, loss, f"compression failed ({exc}); kept the uncompressed network"
    if not comp.success:
        return net, loss, f"compression not used ({comp.message})"
    cand = comp.network
    if problem.cost == "interpolate":  # make the forward pass interpolate exactly
        W = list(cand.weights)
        H = problem.activation(cand.preactivations(problem.X)[-2])
        W[-1] = min_norm_map(_with_bias(H, problem.beta), problem.Y)
        cand = Network(W, problem.activation, problem.beta)
    out_err = _rel(cand.forward(problem.X), net.forward(problem.X))
    new_loss = problem.loss(cand)
    if out_err <= 1e-8 and new_loss <= loss * (1 + 1e-12) + 1e-15:
        return cand, new_loss, (f"compressed hidden widths {net.widths[1:-1]} → {cand.widths[1:-1]} "
                                f"(outputs changed by {out_err:.1e})")
    return net, loss, (f"compression not used: outputs changed by {out_err:.1e} or loss {new_loss:.12g} > "
                       f"{loss:.12g}")


AUTO_GRADIENT_STARTS = 8
"""Number of ``"gradient"`` starts in the ``init="auto"`` pool of :func:`solve_deep`."""
AUTO_RESTARTS = 2
"""Number of pool starts refined by block-coordinate runs with ``init="auto"`` (``restarts=None``)."""


def _start_pool(problem, rng, *, restarts: int, deadline, do_polish: bool):
    r"""The ``init="auto"`` pool: the linear start (when σ allows it, polished) and
    ``AUTO_GRADIENT_STARTS`` gradient starts; returns the ``restarts`` lowest-loss ones as
    ``[(name, network), …]`` and a summary (``inits``, ``losses``, ``times``)."""
    act = problem.activation
    pool = []
    t0 = time.perf_counter()
    if act.a == act.b or act.a + act.b != 0:
        net = _linear_init(problem)
        if do_polish:
            cand = polish(problem, net, deadline=deadline)
            if problem.loss(cand) < problem.loss(net):
                net = cand
        pool.append(("linear", net, problem.loss(net), time.perf_counter() - t0))
    for _ in range(AUTO_GRADIENT_STARTS):
        if pool and deadline is not None and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                net = gradient_network(problem, rng, deadline=deadline)
            loss = problem.loss(net)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):  # pragma: no cover - defensive
            continue
        if math.isfinite(loss):
            pool.append(("gradient", net, loss, time.perf_counter() - t0))
    if not pool:  # pragma: no cover - σ without a linear start and every gradient start failed
        net = _random_init(problem, rng)
        pool.append(("random", net, problem.loss(net), 0.0))
    order = sorted(range(len(pool)), key=lambda i: (pool[i][2], i))
    chosen = [(pool[i][0], pool[i][1]) for i in order[:restarts]]
    info = {"inits": [p[0] for p in pool], "losses": [float(p[2]) for p in pool],
            "times": [float(p[3]) for p in pool], "refined": [int(i) for i in order[:restarts]]}
    return chosen, info


def solve_deep(problem, *, options=None, method: str = "auto", tol: float = 1e-6, atol: float = 0.0,
               solver: str | None = None, solver_opts: dict | None = None, time_limit: float | None = None,
               rng=None, verbose: bool = False, **option_kwargs) -> SolveResult:
    r"""Train a depth-L ≥ 3 homogeneous network by block-coordinate descent over its layers.

    Each hidden layer ℓ is re-solved with its neighbours fixed as the depth-2 problem of paper
    Prop. 5 / docs/design.md §2 ("a deep block is a shallow problem", see the module docstring), by the
    exact column-generation solver :func:`covcone.shallow.solve_shallow`.  Sweeps alternate
    forward (ℓ = 1..L−1) and backward (ℓ = L−1..1).  The loss of the network, evaluated by
    its forward pass, never increases: a block step that would increase it is rejected and
    reported.

    Parameters
    ----------
    problem : Problem
        A validated problem with ``depth ≥ 3`` (samples as rows).
    method : {"auto", "generators", "heuristic"}
        Passed to each block solve (exact pricing oracle when affordable unless
        ``"heuristic"``).  The cone programs (``"cells"``, ``"lifted"``) are depth-2 only.
    tol : float
        Certification tolerance of each block solve.
    solver, solver_opts
        cvxpy solver for the block masters (None: best installed) and its options.
    time_limit : float, optional
        Seconds for the whole run (all restarts); checked before every block.
    rng : int or numpy.random.Generator, optional
        For random initialisations and the block solvers.
    verbose : bool
        A tqdm progress bar over sweeps.
    init : {"auto", "linear", "random", "gradient"} or Network
        The start (see :func:`initial_network`).  A :class:`Network` is a warm start: the
        result's loss is never above that network's loss.  ``"auto"`` (default) is a
        multi-start for costs with λ: a pool of the ``"linear"`` start (when σ allows it) and
        ``AUTO_GRADIENT_STARTS`` (8) ``"gradient"`` starts (numpy Adam + L-BFGS at width
        min(N(N+1), 512), drawn from ``rng``; together at most half of ``time_limit``), each
        polished; the ``restarts`` lowest-loss starts of the pool are refined by
        block-coordinate runs.  (Block-coordinate descent is a local
        method: from the linear start alone it often stops above plain gradient training.)
        For ``"interpolate"``, ``"auto"`` is ``initial_network``'s ``"auto"`` (linear when σ
        allows it, else random).
    restarts : int or None
        Number of block-coordinate runs (≥ 1).  With ``init="auto"`` and a cost with λ: the
        number of pool starts refined (default None: 2).  Otherwise run 0 starts from
        ``init`` and the others from ``"random"`` initialisations drawn from ``rng`` (default
        None: 1).  The best final network is returned.
    max_sweeps : int
        Maximal number of sweeps per run (default 20).
    rtol : float
        Stop when a sweep decreases the loss by a relative amount below ``rtol`` (1e-7).
    max_rounds, n_add, lifted_max_n : int
        Options of each block's :func:`~covcone.shallow.solve_shallow`.  ``lifted_max_n``
        defaults to 0 here: a lifted-SDP bound for a block cannot certify the deep problem and
        costs more than the block.
    polish : bool or None
        After every sweep, a joint L-BFGS descent on all weights (:func:`polish`), kept only
        when it lowers the forward-pass loss (history entries with ``block = "polish"``).
        Block steps alone change the function only through the last block and converge slowly.
        Default (None): on for ``"mse"`` / ``"cross_entropy"``; not available for
        ``"interpolate"``.

    Returns
    -------
    SolveResult
        ``upper`` is the forward-pass loss of ``network`` (every hidden layer compressed to at
        most N(N+1) neurons); ``lower = 0`` from ``"trivial (loss ≥ 0)"``; ``certified`` is
        False and ``status`` is ``"upper_only"``: the deep problem is not convex as a whole and
        the result is a block-coordinate (local) optimum.  ``history`` has one entry per block
        solve (``restart``, ``sweep``, ``block``, ``loss``, ``block_certified``, ``accepted``,
        ``time``, …) after an initial entry (``sweep = 0``) per run; ``extra`` holds the
        per-block certification of the final run, the stop reason, rejected steps, the loss of
        every restart and all hidden covariances.
    """
    from .problem import Problem

    t_start = time.perf_counter()
    if not isinstance(problem, Problem):
        raise ValueError(f"problem: expected a covcone Problem, got {type(problem).__name__}")
    if problem.depth < 3:
        raise ValueError(f"problem: solve_deep needs depth L ≥ 3 (depth 2 is convex: use covcone.solve), "
                         f"got depth {problem.depth}")
    if "init_columns" in option_kwargs:
        raise ValueError("init_columns: only meaningful for depth 2; for depth ≥ 3 warm-start with init=<Network>")
    if options is None:
        from .options import options_for

        options = options_for(method, problem.depth, option_kwargs)
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS} for depth ≥ 3 (the cone programs 'cells' and "
                         f"'lifted' are depth-2 only), got {method!r}")
    tol = _check_pos(tol, "tol")
    init, restarts, max_sweeps, rtol = options.init, options.restarts, options.max_sweeps, options.rtol
    polish, max_rounds, n_add, lifted_max_n = options.polish, options.max_rounds, options.n_add, options.lifted_max_n
    if time_limit is not None:
        time_limit = _check_pos(time_limit, "time_limit")
    if polish and problem.cost == "interpolate":
        raise ValueError("polish: the joint gradient polish needs a cost with λ ('mse' or 'cross_entropy'), "
                         "not 'interpolate' (a constrained problem)")
    do_polish = problem.cost != "interpolate" if polish is None else polish
    if not (isinstance(init, Network) or (isinstance(init, str) and init in INITS)):
        raise ValueError(f"init: expected one of {INITS} or a covcone Network, got {init!r}")
    if rng is not None and not isinstance(rng, (numbers.Integral, np.random.Generator)):
        raise ValueError(f"rng: expected None, an integer seed or a numpy.random.Generator, got {type(rng).__name__}")
    rng = np.random.default_rng(rng)
    solver = choose_solver(solver)
    deadline = None if time_limit is None else t_start + time_limit
    block_kw = dict(method=method, tol=tol, solver=solver, solver_opts=solver_opts, max_rounds=max_rounds,
                    n_add=n_add, lifted_max_n=lifted_max_n)

    multi = isinstance(init, str) and init == "auto" and problem.cost != "interpolate"
    if restarts is None:
        restarts = AUTO_RESTARTS if multi else 1
    starts, pool_info = None, None
    if multi:  # the multi-start pool: screen cheap starts, refine the best ``restarts`` of them
        # the pool gets half of the time limit: the block-coordinate runs need the rest
        pool_deadline = None if time_limit is None else t_start + 0.5 * time_limit
        starts, pool_info = _start_pool(problem, rng, restarts=restarts, deadline=pool_deadline,
                                        do_polish=do_polish)
        restarts = len(starts)

    bar = progress(verbose, max_sweeps * restarts * (problem.depth - 1), "covcone depth-L", "block")
    try:
        runs, warm_loss = _refine(problem, init, starts, restarts, rng=rng, t_start=t_start, deadline=deadline,
                                  max_sweeps=max_sweeps, rtol=rtol, block_kw=block_kw, bar=bar, do_polish=do_polish)
    finally:
        bar.close()
    return _deep_result(problem, runs, warm_loss, init=init, pool_info=pool_info, restarts=restarts, t_start=t_start,
                        tol=tol, atol=atol, solver=solver)


def _refine(problem, init, starts, restarts, *, rng, t_start, deadline, max_sweeps, rtol, block_kw, bar, do_polish):
    """Block-coordinate runs from the chosen starts; Ctrl-C keeps what exists.  Returns (runs, warm_loss)."""
    runs = []
    warm_loss = None
    try:
        for restart in range(restarts):
            if restart > 0 and deadline is not None and time.perf_counter() >= deadline:
                break
            if starts is not None:
                start, net0 = starts[restart]
            else:
                start = init if restart == 0 else "random"
                net0 = initial_network(problem, start, rng)
            if restart == 0 and isinstance(init, Network):
                warm_loss = problem.loss(init)
            net, loss, hist, info = _run(problem, net0, restart=restart, t_start=t_start, deadline=deadline,
                                         max_sweeps=max_sweeps, rtol=rtol, block_kw=block_kw, rng=rng, bar=bar,
                                         do_polish=do_polish)
            info["init"] = start if isinstance(start, str) else "network"
            runs.append((loss, restart, net, hist, info))
            if info["stop_reason"].startswith("interrupted"):
                break
    except KeyboardInterrupt:  # Ctrl-C outside a run (e.g. in the start pool): the best start so far
        if not runs:
            act = problem.activation
            net0 = starts[0][1] if starts else initial_network(problem, "linear" if act.a == act.b else "random", rng)
            runs.append((problem.loss(net0), 0, net0, [], {
                "stop_reason": "interrupted (KeyboardInterrupt) before any sweep", "rejected": [], "inaccurate": 0,
                "failures": [], "block_certified": {}, "n_sweeps": 0, "init": "start"}))
    return runs, warm_loss


def _deep_result(problem, runs, warm_loss, *, init, pool_info, restarts, t_start, tol, atol, solver):
    """The best run, compressed, as a :class:`SolveResult` (a local optimum: never certified)."""
    from .reformulations import covariances
    from .result import LowerBound, build_result

    L = problem.depth
    history = [h for run in runs for h in run[3]]
    loss, best_restart, net, _, info = min(runs, key=lambda r: (r[0], r[1]))
    t0 = time.perf_counter()
    net, loss, comp_msg = _compress_final(problem, net, loss)
    t_recovery = time.perf_counter() - t0
    if warm_loss is not None and not loss <= warm_loss:  # defensive: cannot happen with monotone steps
        net, loss = init, warm_loss
        comp_msg += "; returned the warm-start network (nothing better found)"
    upper = float(problem.loss(net))

    cert = info["block_certified"]
    good = [ell for ell in range(1, L) if cert.get(ell)]
    bad = [ell for ell in range(1, L) if not cert.get(ell)]
    notes = [f"a block-coordinate (local) optimum of the depth-{L} problem (convex per layer, not jointly: "
             "paper Prop. 5)"]
    if good:
        notes.append(f"blocks {good} certified optimal given their neighbours")
    if bad:
        notes.append(f"blocks {bad} not certified given their neighbours (see extra['block_notes'])")
    if pool_info is not None:
        notes.append(f"Multi-start: best of {len(runs)} refined runs from {len(pool_info['losses'])} starts")
    elif restarts > 1:
        notes.append(f"best of {len(runs)} runs")
    details = []
    if info["rejected"]:
        worst = max(new - old for _, _, old, new in info["rejected"])
        details.append(f"{len(info['rejected'])} block step(s) rejected (the refit loss rose by up to {worst:.3g})")
    if info["inaccurate"]:
        details.append(f"{info['inaccurate']} block solve(s) had an inaccurate master solve")
    if info["failures"]:
        details.append(f"{len(info['failures'])} block solve(s) failed: {info['failures'][0]}")
    details.append(comp_msg)
    cov = covariances(net, problem.X)
    timings = {"total": time.perf_counter() - t_start, "recovery": t_recovery}
    hidden = net.widths[1:-1]
    extra = {
        "block_certified": cert,
        "stop_reason": info["stop_reason"],
        "n_sweeps": info["n_sweeps"],
        "rejected_steps": tuple(info["rejected"]),
        "block_failures": tuple(info["failures"]),
        "restart_losses": tuple(float(r[0]) for r in runs),
        "best_restart": best_restart,
        "init": info["init"],
        "widths": net.widths,
        "layer_covariances": cov,
        "compression": comp_msg,
        "start_pool": pool_info,
    }
    extra["block_notes"] = tuple(details)
    return build_result(problem=problem, network=net, upper=upper, lower=0.0, lower_from=LowerBound.TRIVIAL,
                        rtol=tol, atol=atol, method=f"block-coordinate (depth {L})", solver=solver,
                        stop_reason=info["stop_reason"], solver_status="", timings=timings, history=history,
                        extra=extra, notes=notes, n_neurons=int(sum(hidden)), local=True)

