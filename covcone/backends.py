r"""Solver backends: choosing, checking and calling cvxpy solvers.

Every solving call of covcone takes ``solver: str | None = None`` and
``solver_opts: dict | None = None``.  ``None`` picks the best installed conic solver at call time
(Clarabel, then SCS; MOSEK only when explicitly requested, since it needs a licence).
An unknown or unavailable solver raises ``ValueError`` listing the installed ones; MOSEK without
a licence is detected by a tiny real solve and reported in words, never as a traceback.
"""
from __future__ import annotations

import functools
import warnings

from .exceptions import InaccurateSolutionWarning, SolverError

__all__ = [
    "SolverError",
    "InaccurateSolutionWarning",
    "installed_solvers",
    "choose_solver",
    "solve_cvxpy",
    "check_status",
    "OPTIMAL",
    "INACCURATE",
    "OK_STATUSES",
    "INACCURATE_STATUSES",
    "single_blas_thread",
    "SINGLE_THREAD_MAX_N",
]

_PREFERENCE = ("CLARABEL", "SCS", "MOSEK")


# ---------------------------------------------------------------------------------------------
# the one status map: every solver status, direct or through cvxpy, becomes one of covcone's
# ---------------------------------------------------------------------------------------------
OPTIMAL = "optimal"
INACCURATE = "optimal_inaccurate"
OK_STATUSES = (OPTIMAL,)
INACCURATE_STATUSES = (INACCURATE,)

_STATUS_MAP = {
    # cvxpy (any solver through cvxpy, MOSEK included)
    "optimal": OPTIMAL,
    "optimal_inaccurate": INACCURATE,
    # Clarabel's own API (str(sol.status) is "SolverStatus.Solved", …)
    "Solved": OPTIMAL,
    "AlmostSolved": INACCURATE,
    # SCS's own API
    "solved": OPTIMAL,
    "solved_inaccurate": INACCURATE,
}
# Stopped early: the last iterate is usable (the bounds covcone reports stay valid: the upper
# bound is a network's forward-pass loss, the lower bound is recomputed from a dual point), so
# such a stop is an inaccurate solution when an iterate exists, a failure otherwise.
_STOPPED_EARLY = ("InsufficientProgress", "MaxIterations", "MaxTime")  # Clarabel's own API


def check_status(raw_status, *, solver: str, where: str, has_solution: bool = True) -> str:
    """Map a solver's status to ``"optimal"`` / ``"optimal_inaccurate"``, or raise
    :class:`SolverError` naming ``where`` and the solver.

    ``raw_status`` may be a cvxpy status, a Clarabel ``SolverStatus`` (or its ``str``) or an SCS
    status string.  The one place where solver statuses are interpreted.
    """
    name = str(raw_status).split(".")[-1]
    status = _STATUS_MAP.get(name)
    if status is None and has_solution and name in _STOPPED_EARLY:
        status = INACCURATE
    if status is None:
        raise SolverError(f"{where}: solver {solver} returned status {name!r}")
    return status


@functools.lru_cache(maxsize=None)
def _mosek_usable() -> tuple[bool, str]:
    """MOSEK is importable *and* licensed: checked by a tiny real solve."""
    try:
        import cvxpy as cp

        x = cp.Variable()
        cp.Problem(cp.Minimize(x), [x >= 1]).solve(solver="MOSEK")
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable", reported in words
        text = str(exc)
        if "license" in text.lower() or "licence" in text.lower():
            return False, "MOSEK is installed but has no valid licence (err_missing_license_file)"
        return False, f"MOSEK is not usable here: {text.splitlines()[0] if text else type(exc).__name__}"


def installed_solvers() -> list[str]:
    """Conic solvers cvxpy can use here (upper-case cvxpy names), MOSEK only if licensed."""
    return list(_installed_solvers())


@functools.lru_cache(maxsize=None)
def _installed_solvers() -> tuple:
    # cvxpy imports every solver interface to answer (≈ 5 ms a call, twice a solve): once a process
    import cvxpy as cp

    have = set(cp.installed_solvers())
    out = [s for s in _PREFERENCE if s in have and s != "MOSEK"]
    if "MOSEK" in have and _mosek_usable()[0]:
        out.append("MOSEK")
    return tuple(out)


def choose_solver(solver: str | None = None) -> str:
    """Validate ``solver`` or pick the best installed one (``ValueError`` naming the choices)."""
    import cvxpy as cp

    avail = installed_solvers()
    if solver is None:
        if not avail:
            raise ValueError("solver: no conic solver is installed; install clarabel or scs")
        return avail[0]
    if not isinstance(solver, str):
        raise ValueError(f"solver: expected a solver name (str) or None, got {type(solver).__name__}")
    name = solver.upper()
    if name == "MOSEK":
        if "MOSEK" not in cp.installed_solvers():
            raise ValueError(
                "solver: MOSEK is not installed (pip install 'covcone[mosek]', plus a licence); "
                f"installed solvers: {avail}"
            )
        ok, why = _mosek_usable()
        if not ok:
            raise ValueError(f"solver: {why}; installed solvers: {avail}")
        return name
    if name not in avail:
        raise ValueError(f"solver: {solver!r} is not available; installed solvers: {avail}")
    return name


def solve_cvxpy(problem, solver: str, solver_opts: dict | None = None, *, where: str = "") -> str:
    """Solve a cvxpy problem, wrapping failures in :class:`SolverError` (naming ``where`` and
    the solver) and warning on inaccurate statuses.  Returns the cvxpy status string."""
    import cvxpy as cp

    opts = dict(solver_opts or {})
    try:
        problem.solve(solver=solver, **opts)
    except cp.error.SolverError as exc:
        raise SolverError(f"{where}: solver {solver} failed: {exc}") from exc
    status = check_status(problem.status, solver=solver, where=where)
    if status == INACCURATE:
        warnings.warn(f"{where}: solver {solver} returned status {status!r}", InaccurateSolutionWarning, stacklevel=3)
    return status


# ---------------------------------------------------------------------------------------------
# BLAS threads
# ---------------------------------------------------------------------------------------------
SINGLE_THREAD_MAX_N = 4000  # depth-2 solves up to this many samples run BLAS on one thread

def single_blas_thread(n_samples: int):
    """A context in which BLAS runs on one thread when ``n_samples ≤ SINGLE_THREAD_MAX_N``.

    The depth-2 solver multiplies many small matrices (N × r with r ≤ 15, per round); a
    multithreaded BLAS spends more on waking its threads than on the products (measured: 2-D
    inputs + bias, k = 2, one thread against two: N = 200: 0.56 s vs 0.83 s, N = 1000: 3.5 s vs
    4.1 s, N = 3000: 30.3 s vs 31.2 s).  Uses threadpoolctl when installed; otherwise nothing."""
    import contextlib

    ctl = _blas_controller() if n_samples <= SINGLE_THREAD_MAX_N else None
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """threadpoolctl's controller, made once a process (it inspects the loaded libraries), or None."""
    try:
        import scipy.linalg  # noqa: F401  (scipy's own BLAS is loaded before the controller looks)
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # noqa: BLE001 - threadpoolctl missing or unable to inspect: leave the threads alone
        return None
