r"""The public verbs :func:`solve` and :func:`certify`.

``solve`` validates once (:class:`covcone.Problem`), then dispatches: depth 2 to the exact
column-generation solver of :mod:`covcone.shallow` (docs/design.md §3.4) or to the cone programs of
:mod:`covcone.sdp` (``method="cells"`` / ``"lifted"``); depth ≥ 3 to :mod:`covcone.deep` where it
exists.  Samples are rows at this boundary: ``X`` (N, d), ``Y`` (N, k), labels (N,) for
cross-entropy.
"""
from __future__ import annotations

import numbers

import numpy as np

from .network import Network
from .result import CertifyResult, SolveResult, is_certified, relative_gap

__all__ = ["solve", "certify", "METHODS"]

METHODS = ("auto", "generators", "heuristic", "cells", "lifted")


def _check_tol(tol, name: str = "tol") -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol <= 0 or tol >= 1:
        raise ValueError(f"{name}: expected a relative tolerance 0 < {name} < 1, got {tol!r}")
    return float(tol)


def _check_atol(atol) -> float:
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not np.isfinite(atol) or atol < 0:
        raise ValueError(f"atol: expected a number ≥ 0 (in the loss's units), got {atol!r}")
    return float(atol)


def _check_common(time_limit, solver_opts, rng):
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real)
                                   or not time_limit > 0):
        raise ValueError(f"time_limit: expected a positive number of seconds or None, got {time_limit!r}")
    if solver_opts is not None and not isinstance(solver_opts, dict):
        raise ValueError(f"solver_opts: expected a dict or None, got {type(solver_opts).__name__}")
    if rng is not None and not isinstance(rng, (numbers.Integral, np.random.Generator, np.random.SeedSequence)):
        raise ValueError(f"rng: expected a numpy Generator, an integer seed or None, got {rng!r}")


def solve(
    X,
    Y,
    *,
    depth: int = 2,
    activation="relu",
    lam=None,
    beta: float = 1.0,
    cost: str = "mse",
    method: str = "auto",
    tol: float = 1e-6,
    atol: float = 0.0,
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
        Bias amount β ≥ 0 (the constant row appended to every layer's input).  Default 1: a
        network with biases, like torch's ``nn.Linear`` and covcone's CLI and estimators; β = 0
        gives the bias-free network of the paper's tight example.
    cost : {"mse", "cross_entropy", "interpolate"}
    method : {"auto", "generators", "heuristic", "cells", "lifted"}
        ``auto``/``generators``: column generation with the exact pricing oracle when its
        enumeration is affordable (input rank ≤ 3, N ≤ 13, or the arrangement's vertices within
        budget), else a heuristic oracle for the network and the anytime branch and bound (and,
        for N ≤ ``lifted_max_n`` (120), the lifted relaxation's dual point with a float64-checked
        certificate of its pricing value, docs/design.md §3.1; beyond, or when the time limit
        leaves no room for it, the same on random groups of samples, §4.1) for the lower bound.
        ``heuristic``: column generation with the heuristic oracle only (fast; the lower bound is
        the spectral one).  ``cells``: the exact cell SDP (input rank ≤ 3), a cross-check.
        ``lifted``: column generation with the heuristic oracle, then that lifted dual point at
        any N (it certifies only where the relaxation is tight, e.g. the N²/4 example).
    tol : float
        Relative tolerance ``rtol`` of the certificate: certified iff
        ``upper − lower ≤ tol·|upper| + atol`` (docs/design.md §4).
    atol : float
        Absolute tolerance of the certificate, in the loss's units (default 0: scale-free).
    solver, solver_opts : cvxpy solver name (None: best installed) and its options.
    time_limit : float, optional
        Seconds; the result then says it stopped on time.
    rng : int or numpy.random.Generator
    verbose : bool
        Show a progress bar (one step per column-generation round; within a long exact pricing
        call at input rank ≥ 4, the share of the vertices walked and the best ``m/2λ`` so far).
    **options
        Solver-specific options: ``max_rounds``, ``n_add`` (columns per round),
        ``lifted_max_n`` (largest N for the lifted bound on the whole problem, and largest group;
        0: no lifted bound), ``init_columns`` (warm start, depth 2),
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
    from .options import options_for
    from .problem import Problem

    problem = Problem(X, Y, depth=depth, activation=activation, lam=lam, beta=beta, cost=cost)
    tol, atol = _check_tol(tol), _check_atol(atol)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    _check_common(time_limit, solver_opts, rng)
    opts = options_for(method, problem.depth, options)
    from .backends import choose_solver

    choose_solver(solver)  # unavailable / unlicensed solvers fail here, with the list of choices
    if problem.depth > 2:
        from .deep import solve_deep

        return solve_deep(problem, options=opts, method=method, tol=tol, atol=atol, solver=solver,
                          solver_opts=solver_opts, time_limit=time_limit, rng=rng, verbose=verbose)
    if method == "cells":
        from .shallow.cells import solve_cells

        return solve_cells(problem, rtol=tol, atol=atol, solver=solver, solver_opts=solver_opts)
    from .shallow import solve_shallow

    return solve_shallow(problem, options=opts, method=method, tol=tol, atol=atol, solver=solver,
                         solver_opts=solver_opts, time_limit=time_limit, rng=rng, verbose=verbose)


def certify(network, X, Y, *, lam=None, cost: str = "mse", beta: float | None = None, tol: float = 1e-6,
            atol: float = 0.0, solver: str | None = None, solver_opts: dict | None = None, time_limit: float | None = None,
            rng=None, verbose: bool = False, weight_decay=None, reduction: str = "mean", optimizer: str = "sgd",
            decay_biases: bool = True) -> CertifyResult:
    r"""Is a depth-2 network trained elsewhere globally optimal, and if not, how far off?

    Returns the network's forward-pass loss, a valid lower bound on the global optimum from the
    exact solver (warm-started from the network's own neurons), the gap, and — when the solver
    certifies the optimum — the optimal value and network (then ``loss − optimum`` is the exact
    sub-optimality).  ``network`` may be a :class:`Network` or a torch ``nn.Sequential``
    (converted by :meth:`Network.from_torch` with ``beta``, default 1).

    Parameters
    ----------
    weight_decay : float, optional
        torch's ``weight_decay`` of SGD/Adam, given *instead of* ``lam``: λ (and β = 1) then come
        from :func:`covcone.torch_objective.lam_from_weight_decay` (docs/design.md, "torch
        conventions"): MSE with ``reduction="mean"`` over N·k entries gives λ = wd·k/2, ``"sum"``
        gives λ = wd/(2N); cross-entropy (mean) gives λ = wd/2.  ``result.objective`` says which
        objective was certified and the factor ``scale`` with torch objective = scale × covcone's.
    reduction : {"mean", "sum"}
        The reduction of torch's loss (``nn.MSELoss``/``nn.CrossEntropyLoss``).
    optimizer : {"sgd", "adam", "adamw"}
        ``"adamw"`` (decoupled decay) is not an L2 penalty and is refused with a clear error.
    decay_biases : bool
        ``False`` (biases excluded from the decay) cannot be expressed by covcone's β-row model and
        is refused with a clear error.
    """
    objective = {}
    if weight_decay is not None:
        from .torch_objective import lam_from_weight_decay

        lam, beta, mapping = lam_from_weight_decay(X, Y, weight_decay=weight_decay, reduction=reduction, cost=cost,
                                                   optimizer=optimizer, decay_biases=decay_biases, lam=lam, beta=beta)
        objective.update(mapping)
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
                atol=atol, solver=solver, solver_opts=solver_opts, time_limit=time_limit, rng=rng, verbose=verbose,
                init_columns=C0 if C0.size else None)
    lower = min(res.lower, loss) if np.isfinite(res.lower) else res.lower
    gap = relative_gap(loss, lower)
    optimum = res.upper if res.certified else None
    is_global = bool(res.certified and is_certified(loss, res.lower, res.lower_from, tol, atol))
    if res.certified:
        msg = (f"the global optimum is {res.upper:.10g} (certified); this network's loss {loss:.10g} is "
               f"{'globally optimal' if is_global else f'{loss - res.upper:.3g} above it'}")
    else:
        msg = f"optimum not certified ({res.message}); valid lower bound {res.lower:.10g}, relative gap {gap:.3g}"
    objective.update(lam=lam, beta=network.beta, cost=cost, activation=network.activation.name)
    return CertifyResult(loss=float(loss), lower=float(lower), gap=float(gap), is_global=is_global, optimum=optimum,
                         optimal_network=res.network if res.certified else None, solve_result=res, message=msg,
                         objective=objective)


def _is_torch_sequential(obj) -> bool:
    """True for a torch ``nn.Sequential`` (or a subclass), without importing torch otherwise."""
    import sys

    torch_nn = sys.modules.get("torch.nn")
    return torch_nn is not None and isinstance(obj, torch_nn.Sequential)
