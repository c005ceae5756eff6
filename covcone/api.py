r"""The public verbs :func:`solve` and :func:`certify`.

``solve`` validates once (:class:`covcone.Problem`), then dispatches: depth 2 to the exact
column-generation solver of :mod:`covcone.shallow` (DESIGN §3.4) or to the cone programs of
:mod:`covcone.sdp` (``method="cells"`` / ``"lifted"``); depth ≥ 3 to :mod:`covcone.deep` where it
exists.  Samples are rows at this boundary: ``X`` (N, d), ``Y`` (N, k), labels (N,) for
cross-entropy.
"""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from .network import Network
from .result import CertifyResult, SolveResult, relative_gap

__all__ = ["solve", "certify", "METHODS"]

METHODS = ("auto", "generators", "heuristic", "cells", "lifted")


def _check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol: expected a positive number, got {tol!r}")
    return float(tol)


def solve(
    X,
    Y,
    *,
    depth: int = 2,
    activation="relu",
    lam=None,
    beta: float = 0.0,
    cost: str = "mse",
    method: str = "auto",
    tol: float = 1e-6,
    solver: str | None = None,
    solver_opts: dict | None = None,
    time_limit: float | None = None,
    rng=None,
    verbose: bool = False,
    **options,
) -> SolveResult:
    r"""Train an L2-regularised homogeneous network to certified global optimality.

    Minimises ``C(Ŷ) + λ Σ_ℓ ‖W_ℓ‖_F²`` (paper §2; ``cost="interpolate"``: Σ‖W_ℓ‖² subject to
    Ŷ = Y, the representation cost R(X, Y)).

    Parameters
    ----------
    X : array (N, d)
        Inputs, samples as rows.
    Y : array (N, k) or (N,)
        Targets; integer labels (or one-hot rows) for ``cost="cross_entropy"``.
    depth : int
        L ≥ 2.  Depth 2 is a single convex problem; deeper networks use alternating
        layerwise solves (no global certificate: the deep problem is not convex as a whole).
    activation : str, pair (a, b) or Activation
        Positively homogeneous σ (relu, leaky_relu, absolute, linear, homogeneous(a, b)).
    lam : float
        Weight decay λ > 0 (must be omitted with ``cost="interpolate"``).
    beta : float
        Bias amount β ≥ 0 (the constant row appended to every layer's input).
    cost : {"mse", "cross_entropy", "interpolate"}
    method : {"auto", "generators", "heuristic", "cells", "lifted"}
        ``auto``/``generators``: column generation with the exact pricing oracle when its face
        count is affordable (input rank ≤ 3, or N ≤ 13), else a heuristic oracle for the upper
        bound and the lifted SDP for the lower bound.  ``cells``: the exact cell SDP (input rank
        ≤ 3), a cross-check.  ``lifted``: the lifted DNN relaxation (a lower bound only).
    tol : float
        Certification tolerance on ``(upper − lower) / max(1, |upper|)``.
    solver, solver_opts : cvxpy solver name (None: best installed) and its options.
    time_limit : float, optional
        Seconds; the result then says it stopped on time.
    rng : int or numpy.random.Generator
    verbose : bool
        Show a progress bar.
    **options
        Solver-specific options: ``max_rounds``, ``n_add`` (columns per round),
        ``lifted_max_n`` (largest N for the lifted bound), ``init_columns`` (warm start, depth 2),
        ``client`` (a dask.distributed client: the exact 3^N pricing enumeration runs in chunks on
        its workers, depth 2);
        for depth ≥ 3 also ``init`` (a Network, "linear", "random", "gradient", "auto"), ``restarts``,
        ``max_sweeps``, ``rtol`` and ``polish`` (see :func:`covcone.deep.solve_deep`).
        Unknown options are an error.

    Returns
    -------
    SolveResult
        ``upper`` is the forward-pass loss of ``network``; ``lower`` a valid lower bound;
        ``certified`` only when they agree within ``tol``.
    """
    from .problem import Problem

    problem = Problem(X, Y, depth=depth, activation=activation, lam=lam, beta=beta, cost=cost)
    tol = _check_tol(tol)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if time_limit is not None and (not isinstance(time_limit, numbers.Real) or time_limit <= 0):
        raise ValueError(f"time_limit: expected a positive number of seconds or None, got {time_limit!r}")
    if solver_opts is not None and not isinstance(solver_opts, dict):
        raise ValueError(f"solver_opts: expected a dict or None, got {type(solver_opts).__name__}")
    if problem.depth > 2:
        allowed = {"max_rounds", "n_add", "lifted_max_n", "init", "restarts", "max_sweeps", "rtol", "polish"}
    else:
        allowed = {"max_rounds", "n_add", "lifted_max_n", "init_columns", "client"}
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for depth {problem.depth}; allowed: {sorted(allowed)}")
    from .backends import choose_solver

    choose_solver(solver)  # unavailable / unlicensed solvers fail here, with the list of choices
    if problem.depth > 2:
        try:
            from .deep import solve_deep
        except ImportError as exc:
            raise NotImplementedError("depth > 2: the layerwise solver (covcone.deep) is not available yet") from exc
        return solve_deep(problem, method=method, tol=tol, solver=solver, solver_opts=solver_opts,
                          time_limit=time_limit, rng=rng, verbose=verbose, **options)
    lam_arg = problem.lam if problem.cost != "interpolate" else None
    if method == "cells":
        return _solve_cells(problem, tol=tol, solver=solver, solver_opts=solver_opts)
    from .shallow import solve_shallow

    return solve_shallow(
        problem.X, problem.Y, activation=problem.activation, lam=lam_arg, beta=problem.beta, cost=problem.cost,
        method=method, tol=tol, solver=solver, solver_opts=solver_opts, time_limit=time_limit, rng=rng,
        verbose=verbose, **options,
    )


def certify(network, X, Y, *, lam=None, cost: str = "mse", beta: float | None = None, tol: float = 1e-6,
            solver: str | None = None, solver_opts: dict | None = None, time_limit: float | None = None,
            rng=None, verbose: bool = False) -> CertifyResult:
    r"""Is a depth-2 network trained elsewhere globally optimal, and if not, how far off?

    Returns the network's forward-pass loss, a valid lower bound on the global optimum from the
    exact solver (warm-started from the network's own neurons), the gap, and — when the solver
    certifies the optimum — the optimal value and network (then ``loss − optimum`` is the exact
    sub-optimality).  ``network`` may be a :class:`Network` or a torch ``nn.Sequential``
    (converted by :meth:`Network.from_torch` with ``beta``, default 1).
    """
    if not isinstance(network, Network):
        if _is_torch_sequential(network):
            network = Network.from_torch(network, beta=1.0 if beta is None else beta)
        else:
            raise ValueError(f"network: expected a covcone.Network or a torch nn.Sequential, got {type(network).__name__}")
    if beta is not None and float(beta) != network.beta:
        raise ValueError(f"beta: the network uses β = {network.beta}, got beta={beta}")
    if network.depth != 2:
        raise ValueError(f"network: certify needs a depth-2 network (one hidden layer), got depth {network.depth}")
    loss = network.loss(X, Y, lam=lam, cost=cost) if cost != "interpolate" else network.loss(X, Y, cost=cost)
    from .shallow import columns_from_network

    C0 = columns_from_network(np.asarray(X, dtype=float), network)
    res = solve(X, Y, depth=2, activation=network.activation, lam=lam, beta=network.beta, cost=cost, tol=tol,
                solver=solver, solver_opts=solver_opts, time_limit=time_limit, rng=rng, verbose=verbose,
                init_columns=C0 if C0.size else None)
    lower = min(res.lower, loss) if np.isfinite(res.lower) else res.lower
    gap = relative_gap(loss, lower)
    optimum = res.upper if res.certified else None
    is_global = bool(res.certified and relative_gap(loss, res.lower) <= tol)
    if res.certified:
        msg = (f"the global optimum is {res.upper:.10g} (certified); this network's loss {loss:.10g} is "
               f"{'globally optimal' if is_global else f'{loss - res.upper:.3g} above it'}")
    else:
        msg = f"optimum not certified ({res.message}); valid lower bound {res.lower:.10g}, relative gap {gap:.3g}"
    return CertifyResult(loss=float(loss), lower=float(lower), gap=float(gap), is_global=is_global, optimum=optimum,
                         optimal_network=res.network if res.certified else None, solve_result=res, message=msg)


def _solve_cells(problem, *, tol, solver, solver_opts) -> SolveResult:
    r"""``method="cells"``: the exact cell SDP (input rank ≤ 3, DESIGN §3.2), a cross-check.

    The network is rebuilt from the SDP's neurons with min-norm weights and evaluated by its
    forward pass; the lower bound is the solver's dual objective.
    """
    import time

    from .reformulations import min_norm_weights
    from .result import covariance_pair, is_certified
    from .sdp import solve_cone_program

    t0 = time.perf_counter()
    lam_arg = problem.lam if problem.cost != "interpolate" else None
    Yarg = problem.labels if problem.cost == "cross_entropy" else problem.Y
    res = solve_cone_program(problem.X, Yarg, activation=problem.activation, lam=lam_arg, beta=problem.beta,
                             cost=problem.cost, cone="cells", solver=solver, solver_opts=solver_opts)
    Z1 = res.neurons.T  # (N, n): samples as rows
    Zs = [Z1, res.Z2.T]
    weights = min_norm_weights(Zs, problem.X, activation=problem.activation, beta=problem.beta, check_range=False)
    net = Network(weights, problem.activation, problem.beta)
    from .decompose import compress

    try:  # Carathéodory reduction (DESIGN §5): same covariances, at most N(N+1) neurons
        net = compress(net, problem.X).network
    except Exception as exc:  # noqa: BLE001 - the unreduced network stays valid; say why
        res = dataclasses.replace(res, message=res.message + f"; compression failed ({exc})")
    upper = problem.loss(net)
    lower_from = "cells SDP dual" if res.lower_source == "dual" else None
    lower = float(res.lower) if lower_from else float("-inf")
    gap = relative_gap(upper, lower)
    certified = is_certified(upper, lower, tol, lower_from) and lower <= upper + tol * max(1.0, abs(upper))
    msg = (f"cell SDP ({res.status}): network loss {upper:.10g}, dual bound {lower:.10g}, gap {gap:.2e}; "
           + ("certified" if certified else f"NOT certified (tol {tol:g})") + f"; {res.message}")
    K, Ks = covariance_pair(net, problem.X)
    return SolveResult(status="certified" if certified else ("bounded" if lower_from else "upper_only"), message=msg,
                       upper=float(upper), lower=lower, gap=float(gap), certified=bool(certified), network=net,
                       covariances=(K, Ks), method="cells SDP", lower_from=lower_from, solver=res.solver, tol=tol,
                       timings={"total": time.perf_counter() - t0, "solve": res.solve_time, "build": res.build_time},
                       history=(), n_neurons=int(net.widths[1]), solver_status=res.status)


def _is_torch_sequential(obj) -> bool:
    """True for a torch ``nn.Sequential`` (or a subclass), without importing torch otherwise."""
    import sys

    torch_nn = sys.modules.get("torch.nn")
    return torch_nn is not None and isinstance(obj, torch_nn.Sequential)
