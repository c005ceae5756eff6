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

__all__ = [
    "SolverError",
    "InaccurateSolutionWarning",
    "installed_solvers",
    "choose_solver",
    "solve_cvxpy",
    "OK_STATUSES",
    "INACCURATE_STATUSES",
]

_PREFERENCE = ("CLARABEL", "SCS", "MOSEK")


class SolverError(RuntimeError):
    """A conic solver failed; the message says which solver and which step (layer/block)."""


class InaccurateSolutionWarning(UserWarning):
    """A solver returned an ``*_inaccurate`` status; the result records it."""


OK_STATUSES = ("optimal",)
INACCURATE_STATUSES = ("optimal_inaccurate",)


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
    import cvxpy as cp

    have = set(cp.installed_solvers())
    out = [s for s in _PREFERENCE if s in have and s != "MOSEK"]
    if "MOSEK" in have and _mosek_usable()[0]:
        out.append("MOSEK")
    return out


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
    status = problem.status
    if status in INACCURATE_STATUSES:
        warnings.warn(f"{where}: solver {solver} returned status {status!r}", InaccurateSolutionWarning, stacklevel=3)
    elif status not in OK_STATUSES:
        raise SolverError(f"{where}: solver {solver} returned status {status!r}")
    return status
