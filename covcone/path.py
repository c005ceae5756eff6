r"""The regularisation path: certified solves over a grid of λ, warm-started.

The depth-2 problem of docs/design.md §3.4 (paper §2, Prop. 5) is solved for each λ of a grid from the
largest to the smallest: large λ gives few neurons and cheap solves, and the unit input
directions of each solution's neurons seed the master problem of the next, smaller λ
(``solve(..., init_columns=)``), so that column generation starts near the new support instead
of from random columns.  Warm starts change the route, never the certificate: every λ is
certified (or not) by its own bounds.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PathResult", "solve_path", "plot_path"]


@dataclass(frozen=True)
class PathResult:
    r"""The outcome of :func:`solve_path`.

    Attributes
    ----------
    lams : tuple of float
        The λ grid in solve order: sorted from the largest to the smallest, without duplicates.
    results : tuple of SolveResult
        ``results[i]`` solves ``lams[i]``.
    certified : tuple of bool
        ``results[i].certified``.
    timings : dict
        ``total`` (wall seconds of the whole path) and ``per_lam`` (a tuple of each solve's
        ``timings["total"]``).
    message : str
        In words: how many λ are certified, and which are not.
    """

    lams: tuple
    results: tuple
    certified: tuple
    timings: dict = field(default_factory=dict)
    message: str = ""

    @property
    def all_certified(self) -> bool:
        """True when every λ of the path is certified."""
        return all(self.certified)

    @property
    def upper(self) -> np.ndarray:
        """Network losses (upper bounds), one per λ."""
        return np.array([r.upper for r in self.results])

    @property
    def lower(self) -> np.ndarray:
        """Valid lower bounds, one per λ."""
        return np.array([r.lower for r in self.results])

    @property
    def gap(self) -> np.ndarray:
        """Relative gaps, one per λ."""
        return np.array([r.gap for r in self.results])

    @property
    def n_neurons(self) -> np.ndarray:
        """Hidden neurons of each recovered network."""
        return np.array([r.n_neurons for r in self.results], dtype=int)

    def __len__(self) -> int:
        return len(self.lams)

    def summary(self) -> dict:
        """JSON-serialisable: one row per λ, plus the totals."""
        rows = [{"lam": lam, **res.summary()} for lam, res in zip(self.lams, self.results)]
        return {"all_certified": self.all_certified, "message": self.message,
                "timings": {"total": round(float(self.timings.get("total", 0.0)), 4)}, "path": rows}


def _check_lams(lams) -> tuple:
    try:
        arr = np.asarray(lams, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lams: expected a non-empty sequence of positive numbers, got {type(lams).__name__}") from exc
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lams: expected a non-empty 1-D sequence of positive numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))]
        raise ValueError(f"lams: every λ must be a finite number > 0, got {bad.tolist()}")
    return tuple(float(v) for v in sorted(set(arr.tolist()), reverse=True))


WARM_STARTS = ("network", "columns", None)


def _next_columns(X, res, warm_start):
    """The seed for the next λ: the recovered network's neurons or the master's active set."""
    if warm_start == "columns":
        cols = res.extra.get("columns") if isinstance(res.extra, dict) else None
    else:
        if res.network is None:
            return None
        from .shallow import columns_from_network

        cols = columns_from_network(np.asarray(X, dtype=float), res.network)
    return cols if cols is not None and len(cols) else None


def _run_path(X, Y, lams, init_columns, warm_start, solve_kwargs):
    """The sequential warm-started loop (also what one dask task runs on a chunk of λ)."""
    from .api import solve

    results = []
    cols = init_columns
    for lam in lams:
        kw = dict(solve_kwargs)
        if cols is not None and len(cols):
            kw["init_columns"] = cols
        res = solve(X, Y, lam=lam, **kw)
        results.append(res)
        if warm_start is not None:
            cols = _next_columns(X, res, warm_start) if res.network is not None else cols
    return results


def _n_workers(client) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # noqa: BLE001 - any client without that API: one chunk
        return 1


def solve_path(X, Y, lams, *, client=None, warm_start="network", init_columns=None, **solve_kwargs):
    r"""Certified depth-2 solves along a λ path, from large to small λ, warm-started.

    Parameters
    ----------
    X : array (N, d)
        Inputs, samples as rows (as in :func:`covcone.solve`).
    Y : array (N, k) or (N,)
        Targets.
    lams : sequence of float
        The grid; sorted here from the largest λ to the smallest (duplicates dropped).  Each
        λ > 0; an empty grid or a non-positive / non-finite λ is a ``ValueError`` naming
        ``lams``.
    client : dask.distributed.Client, optional
        Without it the path runs serially, each solve seeded with the previous solution's
        active columns.  With it the (sorted) grid is split into one contiguous chunk per
        worker and each chunk runs as one task, warm-started inside the chunk (warm starts are
        sequential, so a chunk is the unit of parallelism); the first λ of every chunk starts
        cold.  The certified values agree with the serial path within ``tol`` — a warm start
        changes the route, not the optimum — but the recovered networks may differ where the
        optimum is not unique.  Useful only for grids much longer than the number of workers.
    warm_start : {"network", "columns", None}
        What seeds the next λ: ``"network"`` (default) the unit input directions of the
        recovered (pruned, Carathéodory-reduced) network's neurons — the smallest seed;
        ``"columns"`` the master's whole active set ``SolveResult.extra["columns"]``, which
        still holds the many tiny neurons an interior-point master leaves (the measurements in benchmarks/README.md), so the
        first masters are larger; ``None``: cold solves.  Both warm starts cut the rounds and
        the total time by about the same factor (``benchmarks/bench_path.py``: 1.3–1.8× over
        cold solves on 10 λ).
    init_columns : array (m, r), optional
        Columns seeding the first solve (e.g. ``extra["columns"]`` of an earlier solve on the
        same X and β).
    **solve_kwargs
        Passed to every :func:`covcone.solve` call (``beta``, ``activation``, ``cost``, ``tol``,
        ``rng``, ``solver``, ``max_rounds``, …), except ``lam``, which the path sets.

    Returns
    -------
    PathResult

    Examples
    --------
    >>> import numpy as np
    >>> from covcone.path import solve_path
    >>> X = np.linspace(-1, 1, 10)[:, None]
    >>> path = solve_path(X, np.abs(X), [1e-1, 1e-2], beta=1.0, rng=0)
    >>> path.lams, path.all_certified
    ((0.1, 0.01), True)
    """
    lams = _check_lams(lams)
    if warm_start not in WARM_STARTS:
        raise ValueError(f"warm_start: expected one of {WARM_STARTS}, got {warm_start!r}")
    if "lam" in solve_kwargs:
        raise ValueError("lam: solve_path sets λ from `lams`; do not pass lam=")
    if solve_kwargs.get("cost") == "interpolate":
        raise ValueError("cost: 'interpolate' has no λ, so there is no path; use covcone.solve")
    depth = solve_kwargs.get("depth", 2)
    if depth != 2:
        raise ValueError(f"depth: solve_path warm-starts the depth-2 solver; expected depth=2, got {depth!r}")
    t0 = time.perf_counter()
    if client is None:
        results = _run_path(X, Y, lams, init_columns, warm_start, solve_kwargs)
    else:
        n_chunks = min(_n_workers(client), len(lams))
        chunks = [list(c) for c in np.array_split(np.array(lams), n_chunks) if len(c)]
        futures = [client.submit(_run_path, X, Y, chunk, init_columns if i == 0 else None, warm_start, solve_kwargs,
                                 pure=False)
                   for i, chunk in enumerate(chunks)]
        results = [r for part in client.gather(futures) for r in part]
    total = time.perf_counter() - t0
    certified = tuple(bool(r.certified) for r in results)
    missing = [lam for lam, ok in zip(lams, certified) if not ok]
    msg = (f"{len(lams) - len(missing)} of {len(lams)} λ certified"
           + (f"; not certified at λ = {', '.join(f'{v:g}' for v in missing)}" if missing else ""))
    return PathResult(lams=lams, results=tuple(results), certified=certified,
                      timings={"total": total, "per_lam": tuple(float(r.timings.get("total", math.nan)) for r in results)},
                      message=msg)


def plot_path(path_result: PathResult, ax=None):
    """Alias of :func:`covcone.plot.plot_path` (kept for existing imports)."""
    from .plot import plot_path as _plot

    return _plot(path_result, ax)
