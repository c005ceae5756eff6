r"""``method="cells"``: the depth-2 problem as the exact cell SDP (input rank ≤ 3), a cross-check.

docs/design.md §3: on the cells of the data's hyperplane arrangement σ is
linear, and the cone is an exact SDP for input rank ≤ 3 (CP = DNN in dimension ≤ 4).  The
network is rebuilt from the SDP's neurons with min-norm weights, compressed, and evaluated by its
forward pass.  The lower bound is *not* the solver's dual objective: the SDP's dual direction Θ
is re-evaluated by weak duality (:func:`covcone.shallow.bounds.dual_bound`) with the exact
pricing value of that Θ, in float64 — valid whatever the solver's accuracy.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..exceptions import CompressionError, InaccurateSolutionWarning, RangeConditionError, SolverError
from ..network import Network
from ..result import LowerBound, build_result
from .bounds import internal_bound
from .pricing import Pricing
from .recovery import interpolate_exactly, interpolates_exactly
from .setup import GroupLassoSetup

__all__ = ["solve_cells"]


def _network_from_sdp(problem, res) -> Network:
    """Min-norm network through the SDP's neurons, compressed (same covariances, ≤ N(N+1) neurons)."""
    from ..decompose import compress
    from ..reformulations import min_norm_weights

    if res.neurons is None or res.neurons.shape[0] == 0:
        raise ValueError("method='cells': the cell SDP returned no neurons for these inputs; use method='auto'")
    Zs = [res.neurons.T, res.Z2.T]  # samples as rows
    weights = min_norm_weights(Zs, problem.X, activation=problem.activation, beta=problem.beta, check_range=False)
    net = Network(weights, problem.activation, problem.beta)
    try:
        net = compress(net, problem.X).network
    except (CompressionError, RangeConditionError, np.linalg.LinAlgError):
        pass  # the uncompressed network is valid; its loss is what counts
    return net


def _refit(setup, res, solver, solver_opts, rtol, atol):
    """The group-lasso master on the SDP's neurons as columns (same neurons, optimal output weights),
    then the usual recovery: the SDP's solution is accurate to the solver's tolerance only."""
    from .master import solve_master
    from .recovery import recover

    C, *_ = np.linalg.lstsq(setup.B.T, res.neurons.T, rcond=None)
    C = C.T
    n = np.linalg.norm(C, axis=1)
    C = C[n > 0] / n[n > 0, None]
    if C.shape[0] == 0:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InaccurateSolutionWarning)
            V, c0, _, _ = solve_master(setup, setup.columns(C), solver, solver_opts)
    except SolverError:
        return None
    return recover(setup, C, V, c0, lower_user=float("-inf"), rtol=rtol, atol=atol, solver=solver,
                   solver_opts=solver_opts)


def solve_cells(problem, *, rtol: float, atol: float = 0.0, solver=None, solver_opts=None):
    """Solve ``problem`` (depth 2) by the cell SDP; see the module docstring."""
    from ..backends import choose_solver
    from ..sdp import solve_cone_program

    t0 = time.perf_counter()
    setup = GroupLassoSetup(problem)
    if setup.r > 3:
        raise ValueError(f"method='cells' needs input rank ≤ 3 (rank of [Xᵀ; β1ᵀ]), got rank {setup.r}; "
                         "use method='auto'")
    solver = choose_solver(solver)
    from .master import check_solver_opts, master_options

    check_solver_opts(solver, solver_opts)
    solver_opts = master_options(solver, solver_opts, rtol, problem.cost)
    lam_arg = problem.lam if problem.cost != "interpolate" else None
    Yarg = problem.labels if problem.cost == "cross_entropy" and problem.labels is not None else problem.Y
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InaccurateSolutionWarning)
            res = solve_cone_program(problem.X, Yarg, activation=problem.activation, lam=lam_arg, beta=problem.beta,
                                     cost=problem.cost, cone="cells", solver=solver, solver_opts=solver_opts)
    except (IndexError, np.linalg.LinAlgError, ZeroDivisionError) as exc:
        raise ValueError(f"method='cells' cannot represent these inputs ({type(exc).__name__}: {exc}); "
                         "use method='auto'") from exc
    except SolverError as exc:  # the SDP is posed in the user's units: extreme scales defeat it
        raise ValueError(f"method='cells' could not solve these inputs ({exc}); use method='auto', which "
                         "solves in well-scaled internal units") from exc
    net = _network_from_sdp(problem, res)
    if problem.cost == "interpolate":
        net = interpolate_exactly(problem.X, problem.Y, net)
    upper = problem.loss(net)
    refit = _refit(setup, res, solver, solver_opts, rtol, atol)
    loose = problem.cost == "interpolate" and not interpolates_exactly(problem.X, problem.Y, net)
    if refit is not None and (refit[1] < upper or loose):
        net, upper = refit
    lower, source, notes = float("-inf"), LowerBound.NONE, []
    if res.Theta is not None and np.all(np.isfinite(res.Theta)):
        Theta = res.Theta / setup.sY
        step = Pricing(setup, exact_affordable=True, n_add=1, rng=0).price(Theta, exact=True)
        lb, _ = internal_bound(setup, Theta, step.bound)
        if np.isfinite(lb):
            lower, source = setup.to_user(lb), LowerBound.CELLS_SDP
    else:
        notes.append("the cell SDP returned no dual point, so no lower bound")
    result = build_result(problem=problem, network=net, upper=upper, lower=lower, lower_from=source, rtol=rtol,
                          atol=atol, method="cells SDP", solver=res.solver,
                          stop_reason=f"cell SDP solved ({res.status})", solver_status=res.status,
                          timings={"total": time.perf_counter() - t0, "solve": res.solve_time,
                                   "build": res.build_time},
                          notes=notes, extra={"sdp_value": res.value, "cone_residual": res.residual})
    return result
