r"""Solver options: one frozen dataclass per method, validated by the method that owns it.

Every default lives here and nowhere else.  :func:`options_for` turns the keyword arguments of
:func:`covcone.solve` into the right object and rejects unknown ones with the list of known ones
(as ``scipy.optimize.minimize`` does per method).
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ShallowOptions", "CellsOptions", "DeepOptions", "options_for", "check_positive_int",
           "check_positive_number"]


def check_positive_int(x, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (bools and floats rejected), or ``ValueError`` naming ``name``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < minimum:
        raise ValueError(f"{name}: expected an integer ≥ {minimum}, got {x!r}")
    return int(x)


def check_positive_number(x, name: str, *, allow_none: bool = False, allow_zero: bool = False):
    """A finite number > 0 (≥ 0 with ``allow_zero``), or None when allowed."""
    if x is None and allow_none:
        return None
    ok = not isinstance(x, bool) and isinstance(x, numbers.Real) and np.isfinite(x)
    if not ok or (x < 0 if allow_zero else x <= 0):
        want = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a finite number {want}{' or None' if allow_none else ''}, got {x!r}")
    return float(x)


@dataclass(frozen=True)
class ShallowOptions:
    r"""Options of the depth-2 column-generation solver (``method="auto"``/``"generators"``/
    ``"heuristic"``/``"lifted"``).

    Attributes
    ----------
    max_rounds : int
        Column-generation rounds (master + pricing) at most.
    n_add : int
        Columns the pricing oracle may add per round.
    lifted_max_n : int
        Largest N for which the lifted relaxation's dual program (a dual point with a certificate
        of its pricing value, checked in float64) is solved when no exact oracle is affordable
        (0: never).  It takes ≈ 8 s at N = 40 and 2–3 min at N = 100; with a ``time_limit`` that
        time is kept from the column generation when it is at most half the limit.  Beyond it
        (or when the time left is too short, or the program fails) the program runs on random
        groups of at most ``lifted_max_n`` samples (docs/design.md §4.1), with 40 % of a
        ``time_limit`` kept for them when they fit in it.
    init_columns : ndarray (m, r) or None
        Warm start: unit input weights in the whitened input basis (e.g. a trained network's
        neurons, :func:`covcone.shallow.columns_from_network`).
    client : dask.distributed.Client or None
        Split exact enumerations across the client's workers.
    oracle_time : float or None
        Seconds the anytime pricing bound may take per call when no exact oracle is affordable
        (None: what the ``time_limit`` leaves, else 10 s).
    gradient_starts : int or None
        Networks trained by Adam + L-BFGS (numpy, width ``gradient_width``) whose neurons start
        the column generation (None: 2 when no exact oracle is affordable, else 0).  A start only:
        the solve's network is never worse than the master over these neurons.
    gradient_width : int
        Hidden width of those networks.
    """

    max_rounds: int = 200
    n_add: int = 30
    lifted_max_n: int = 120
    init_columns: np.ndarray | None = None
    client: object = None
    oracle_time: float | None = None
    gradient_starts: int | None = None
    gradient_width: int = 100

    def __post_init__(self):
        check_positive_int(self.max_rounds, "max_rounds")
        check_positive_int(self.n_add, "n_add")
        check_positive_int(self.lifted_max_n, "lifted_max_n", minimum=0)
        check_positive_number(self.oracle_time, "oracle_time", allow_none=True)
        if self.gradient_starts is not None:
            check_positive_int(self.gradient_starts, "gradient_starts", minimum=0)
        check_positive_int(self.gradient_width, "gradient_width")
        if self.init_columns is not None:
            C = np.asarray(self.init_columns)
            if np.iscomplexobj(C):
                raise ValueError("init_columns: expected a real array, got complex values")
            try:
                C = np.asarray(C, dtype=float)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"init_columns: expected a numeric (m, r) array, got {type(self.init_columns).__name__}") from exc
            if C.ndim != 2 or not np.all(np.isfinite(C)):
                raise ValueError(f"init_columns: expected a finite 2-D array (m, r), got shape {C.shape}")
            object.__setattr__(self, "init_columns", C)

    def check_columns(self, r: int) -> np.ndarray | None:
        """The warm-start columns for input rank ``r``, normalised; ``ValueError`` on a shape mismatch."""
        C = self.init_columns
        if C is None or C.shape[0] == 0:
            return None
        if C.shape[1] != r:
            raise ValueError(f"init_columns: expected shape (m, {r}) (the input rank r = {r}), got {C.shape}")
        n = np.linalg.norm(C, axis=1)
        return C[n > 0] / n[n > 0, None]


@dataclass(frozen=True)
class CellsOptions:
    r"""Options of the exact cell SDP (``method="cells"``, input rank ≤ 3): none today."""


@dataclass(frozen=True)
class DeepOptions:
    r"""Options of the depth-L ≥ 3 block-coordinate solver (see :func:`covcone.deep.solve_deep`).

    Attributes
    ----------
    init : {"auto", "linear", "random", "gradient"} or Network
    restarts : int or None
        Starts refined by block-coordinate runs (None: 2 for ``init="auto"``, else 1).
    max_sweeps : int
        Forward + backward sweeps per start.
    rtol : float
        Stop when a sweep lowers the loss by less than this, relatively.
    polish : bool or None
        L-BFGS polish of the final network (None: for costs with λ).
    max_rounds, n_add, lifted_max_n : int
        Passed to every block's depth-2 solve.
    """

    init: object = "auto"
    restarts: int | None = None
    max_sweeps: int = 20
    rtol: float = 1e-7
    polish: bool | None = None
    max_rounds: int = 200
    n_add: int = 10
    lifted_max_n: int = 0

    def __post_init__(self):
        if self.restarts is not None:
            check_positive_int(self.restarts, "restarts")
        check_positive_int(self.max_sweeps, "max_sweeps")
        check_positive_number(self.rtol, "rtol", allow_zero=True)
        check_positive_int(self.max_rounds, "max_rounds")
        check_positive_int(self.n_add, "n_add")
        check_positive_int(self.lifted_max_n, "lifted_max_n", minimum=0)
        if self.polish is not None and not isinstance(self.polish, (bool, np.bool_)):
            raise ValueError(f"polish: expected True, False or None, got {self.polish!r}")

    def shallow(self) -> ShallowOptions:
        """The options of each block's depth-2 solve."""
        return ShallowOptions(max_rounds=self.max_rounds, n_add=self.n_add, lifted_max_n=self.lifted_max_n)


def options_for(method: str, depth: int, options: dict):
    """The options object for ``method`` at ``depth`` from keyword arguments; unknown keywords
    raise ``ValueError`` with the known ones."""
    if depth > 2:
        cls = DeepOptions
    elif method == "cells":
        cls = CellsOptions
    else:
        cls = ShallowOptions
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        where = f"depth {depth}" if depth > 2 else f"method={method!r}"
        raise ValueError(f"unknown option(s) {unknown} for {where}; known options: {known}")
    return cls(**options)
