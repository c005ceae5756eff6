r"""Frozen results, the certificate rule, and the one function that builds every result.

"Certified" (docs/design.md §4) means: an upper bound ``upper`` = the loss of an
actual network, evaluated by its plain forward pass (:meth:`covcone.Network.loss`), and a lower
bound ``lower`` from a *valid* source (:class:`LowerBound`), with

    upper − lower ≤ rtol·|upper| + atol          (atol = 0 by default).

The rule is relative, hence free of units: scaling Y (and λ) by s scales both bounds alike.  The
trivial bound "loss ≥ 0" never certifies a positive loss.  :func:`is_certified` is the only
place the rule is written, and :func:`build_result` the only place a :class:`SolveResult` gets
its status, gap and message.
"""
from __future__ import annotations

import enum
import functools
import json
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LowerBound",
    "SolveResult",
    "CertifyResult",
    "relative_gap",
    "is_certified",
    "bounds_inconsistent",
    "build_result",
    "covariance_pair",
]


class LowerBound(str, enum.Enum):
    r"""Where a lower bound came from.  ``valid`` says whether it bounds the global optimum.

    The values are the words used in messages and JSON (a ``str`` enum: ``LowerBound.SPECTRAL ==
    "spectral dual"``).
    """

    #: weak duality with the exact pricing value ``m`` (face enumeration), docs/design.md
    EXACT_ORACLE = "exact-oracle dual"
    #: weak duality with a proven upper bound ``m̄ ≥ m`` (branch and bound, or a partial enumeration)
    ORACLE_BOUND = "oracle-bound dual"
    #: weak duality with ``m̄ = ‖Θ‖₂·max(|a|,|b|)·‖B‖₂`` (valid for every N and rank)
    SPECTRAL = "spectral dual"
    #: a dual point of the cell SDP, re-evaluated in float64 by covcone's dual function
    CELLS_SDP = "cells SDP dual"
    #: a dual point of the lifted relaxation's dual program, with its pricing certificate checked in
    #: float64 (docs/design.md §3.1), re-evaluated by covcone's dual function
    LIFTED_SDP = "lifted SDP dual"
    #: the lifted dual programs of random groups of samples, combined: P ≥ Σ_g (|G_g|/N)·L_g
    #: (docs/design.md §4.1)
    PARTITION = "lifted SDP dual on sample groups"
    #: the loss is ≥ 0 (never certifies a positive loss)
    TRIVIAL = "trivial (loss ≥ 0)"
    #: no lower bound at all
    NONE = "none"

    @property
    def valid(self) -> bool:
        """True when the bound is a valid lower bound on the global optimum."""
        return self is not LowerBound.NONE

    def __str__(self) -> str:  # messages read "lower bound from the spectral dual"
        return self.value


def relative_gap(upper: float, lower: float) -> float:
    r"""``(upper − lower)/|upper|``; ``inf`` when a bound is missing, ``0`` when both are 0."""
    if upper is None or lower is None or not (math.isfinite(upper) and math.isfinite(lower)):
        return float("inf")
    if upper == 0.0:
        return 0.0 if lower >= 0.0 else float("inf")
    return (upper - lower) / abs(upper)


def _room(upper: float, rtol: float, atol: float) -> float:
    return rtol * abs(upper) + atol


def is_certified(upper: float, lower: float, source, rtol: float, atol: float = 0.0) -> bool:
    r"""The certificate rule: a valid ``source`` and ``upper − lower ≤ rtol·|upper| + atol``.

    ``source`` is a :class:`LowerBound` (or its string value).  The trivial bound certifies only
    a zero loss, and bounds that disagree beyond the room (:func:`bounds_inconsistent`) never
    certify.
    """
    try:
        source = LowerBound(source) if source is not None else LowerBound.NONE
    except ValueError:
        return False  # an unknown provenance proves nothing
    if not source.valid or upper is None or lower is None:
        return False
    if not (math.isfinite(upper) and math.isfinite(lower)):
        return False
    if source is LowerBound.TRIVIAL and upper > 0.0:
        return False
    if bounds_inconsistent(upper, lower, rtol, atol):
        return False
    return upper - lower <= _room(upper, rtol, atol)


def bounds_inconsistent(upper: float, lower: float, rtol: float, atol: float = 0.0) -> bool:
    """A valid lower bound above a network's loss by more than the room: something is wrong."""
    if upper is None or lower is None or not (math.isfinite(upper) and math.isfinite(lower)):
        return False
    return lower > upper + _room(upper, rtol, atol)


def covariance_pair(network, X) -> tuple:
    """(K_1, K_1^σ) of a network's first hidden layer on X (samples as rows)."""
    Z1 = network.preactivations(X)[0]
    S1 = network.activation(Z1)
    N = Z1.shape[0]
    return Z1 @ Z1.T, S1 @ S1.T + network.beta**2 * np.ones((N, N))


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class SolveResult:
    r"""The outcome of :func:`covcone.solve`.

    Attributes
    ----------
    status : str
        ``"certified"`` (the rule of :func:`is_certified` holds), ``"bounded"`` (valid bounds, gap
        above the tolerance), ``"upper_only"`` (no lower bound beyond the trivial one) or
        ``"failed"`` (bounds that contradict each other: nothing is certified).
    message : str
        What happened, in a few words; details are in ``extra``.
    upper : float
        Loss of ``network`` evaluated by its forward pass (``Network.loss``).
    lower : float
        A valid lower bound on the global optimum (see ``lower_from``).
    gap : float
        ``(upper − lower)/|upper|`` (relative).
    certified : bool
    network : Network or None
    method : str
    lower_from : LowerBound
    solver : str or None
    tol : float
        The relative tolerance ``rtol`` of the certificate (alias :attr:`rtol`).
    atol : float
        The absolute tolerance of the certificate (default 0).
    timings : dict
        Seconds per phase (``master``, ``oracle``, ``recovery``, ``total``, …).
    history : tuple of dict
        One entry per iteration (round): upper, lower, gap, active neurons, oracle value, …
    n_neurons : int
    solver_status : str
        ``"optimal"`` or ``"optimal_inaccurate"`` (the worst status a solver reported).
    extra : dict
        Structured details (stop reason, oracle statistics, columns, input rank, …).
    problem : Problem or None
        The validated problem (used for :attr:`covariances`, :meth:`predict` and the echo in
        :meth:`summary`).
    """

    status: str
    message: str
    upper: float
    lower: float
    gap: float
    certified: bool
    network: object
    method: str
    lower_from: LowerBound
    solver: str | None
    tol: float
    atol: float = 0.0
    timings: dict = field(default_factory=dict)
    history: tuple = ()
    n_neurons: int = 0
    solver_status: str = ""
    extra: dict = field(default_factory=dict)
    problem: object = None

    # -- scipy-style aliases ---------------------------------------------------------------
    @property
    def success(self) -> bool:
        """True when the optimum is certified (scipy-style alias)."""
        return self.certified

    @property
    def fun(self) -> float:
        """scipy-style alias of ``upper``."""
        return self.upper

    @property
    def rtol(self) -> float:
        """The relative tolerance of the certificate (``tol``)."""
        return self.tol

    @functools.cached_property
    def covariances(self) -> tuple:
        """``(K_1, K_1^σ)`` of the network's first hidden layer on the training inputs (N×N),
        computed on first access (the solve path itself never forms an N×N matrix)."""
        if self.network is None or self.problem is None:
            return None
        return covariance_pair(self.network, self.problem.X)

    def predict(self, X_new) -> np.ndarray:
        """The network's outputs on new inputs (samples as rows), ``network.forward(X_new)``."""
        if self.network is None:
            raise ValueError("network: this result has no network to predict with")
        return self.network.forward(X_new)

    # -- reporting -------------------------------------------------------------------------
    def problem_summary(self) -> dict | None:
        """The problem solved: N, d, k, σ, λ, β, cost, depth."""
        p = self.problem
        if p is None:
            return None
        return {"N": p.N, "d": p.d, "k": p.k, "activation": p.activation.name, "lam": p.lam,
                "beta": p.beta, "cost": p.cost, "depth": p.depth}

    def summary(self) -> dict:
        """A JSON-serialisable summary (no arrays)."""
        net = self.network
        return {
            "status": self.status,
            "certified": bool(self.certified),
            "upper": _num(self.upper),
            "lower": _num(self.lower),
            "gap": _num(self.gap),
            "tol": self.tol,
            "rtol": self.tol,
            "atol": self.atol,
            "method": self.method,
            "lower_from": None if self.lower_from is None else str(self.lower_from),
            "solver": self.solver,
            "solver_status": self.solver_status,
            "n_neurons": int(self.n_neurons),
            "widths": list(net.widths) if net is not None else None,
            "iterations": len(self.history),
            "timings": {k: round(float(v), 4) for k, v in self.timings.items()},
            "problem": self.problem_summary(),
            "message": self.message,
        }

    def __repr__(self) -> str:
        lines = [
            f"SolveResult(status={self.status!r}, certified={self.certified})",
            f"  upper {self.upper:.10g}  lower {self.lower:.10g} ({self.lower_from})  gap {self.gap:.2e}"
            f" (rtol {self.tol:g}{f', atol {self.atol:g}' if self.atol else ''})",
            f"  neurons {self.n_neurons}, method {self.method}, {len(self.history)} rounds, "
            f"{self.timings.get('total', float('nan')):.3g} s",
            f"  {self.message}",
        ]
        return "\n".join(lines)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the summary (JSON) and the network's weights to one ``.npz`` file."""
        net = self.network
        arrays = {} if net is None else {f"W{i}": W for i, W in enumerate(net.weights)}
        meta = self.summary()
        meta["history"] = [_jsonable(h) for h in self.history]
        if net is not None:
            meta["network"] = {"activation": [net.activation.a, net.activation.b], "beta": net.beta,
                               "depth": net.depth}
        np.savez(path, __summary__=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path) -> "SolveResult":
        """Read a result written by :meth:`save` (the problem's data are not stored)."""
        from .network import Network

        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["__summary__"]))
            weights = [f[f"W{i}"] for i in range(len([k for k in f.files if k.startswith("W")]))]
        net = None
        if weights:
            info = meta["network"]
            net = Network(weights, tuple(info["activation"]), info["beta"])
        return cls(status=meta["status"], message=meta["message"], upper=_float(meta["upper"]),
                   lower=_float(meta["lower"]), gap=_float(meta["gap"]), certified=meta["certified"],
                   network=net, method=meta["method"],
                   lower_from=LowerBound(meta["lower_from"]) if meta["lower_from"] else LowerBound.NONE,
                   solver=meta["solver"], tol=meta["tol"], atol=meta.get("atol", 0.0),
                   timings=meta["timings"], history=tuple(meta.get("history", ())),
                   n_neurons=meta["n_neurons"], solver_status=meta["solver_status"])


def build_result(*, problem, network, upper: float, lower: float, lower_from, rtol: float, atol: float = 0.0,
                 method: str, solver: str | None, stop_reason: str, solver_status: str = "optimal",
                 timings: dict | None = None, history=(), extra: dict | None = None, notes=(),
                 n_neurons: int | None = None, local: bool = False) -> SolveResult:
    r"""The one place a :class:`SolveResult` gets its status, gap, certificate and message.

    ``upper`` must be the forward-pass loss of ``network``; ``lower``/``lower_from`` the best
    valid lower bound.  ``notes`` are short phrases appended to the message (why a bound is
    weak, which oracle ran); ``local=True`` marks a local optimum of a non-convex problem
    (never certified).
    """
    lower_from = LowerBound(lower_from) if lower_from is not None else LowerBound.NONE
    if not lower_from.valid or lower is None or (isinstance(lower, float) and math.isnan(lower)):
        lower = float("-inf")
    gap = relative_gap(upper, lower)
    certified = (not local) and is_certified(upper, lower, lower_from, rtol, atol)
    tol_txt = f"rtol {rtol:g}" + (f" + atol {atol:g}" if atol else "")
    if bounds_inconsistent(upper, lower, rtol, atol):
        status = "failed"
        head = (f"inconsistent bounds: lower {lower:.10g} > upper {upper:.10g}; the oracle or a solver "
                "returned a wrong value — nothing is certified")
    elif certified:
        status = "certified"
        head = f"certified global optimum: gap {gap:.2e} ≤ {tol_txt} ({stop_reason}); lower bound from the {lower_from}"
    elif lower_from in (LowerBound.NONE, LowerBound.TRIVIAL):
        status = "upper_only"
        head = f"NOT certified: {stop_reason}; no valid lower bound beyond the trivial one"
    else:
        status = "bounded"
        head = f"NOT certified: gap {gap:.2e} > {tol_txt} ({stop_reason}); lower bound from the {lower_from}"
    if solver_status not in ("", "optimal"):
        notes = tuple(notes) + (f"a solver reported {solver_status!r} (bounds re-checked independently)",)
    message = "; ".join([head, *[n for n in notes if n]])
    if n_neurons is None:
        n_neurons = int(network.widths[1]) if network is not None and np.any(network.weights[0]) else 0
    extra = dict(extra or {})
    extra.setdefault("stop_reason", stop_reason)
    return SolveResult(status=status, message=message, upper=float(upper), lower=float(lower), gap=float(gap),
                       certified=bool(certified), network=network, method=method, lower_from=lower_from,
                       solver=solver, tol=float(rtol), atol=float(atol), timings=dict(timings or {}),
                       history=tuple(history), n_neurons=int(n_neurons), solver_status=solver_status or "optimal",
                       extra=extra, problem=problem)


@dataclass(frozen=True, repr=False)
class CertifyResult:
    r"""The outcome of :func:`covcone.certify` for a network trained elsewhere.

    ``loss`` is the given network's forward-pass loss; ``lower`` a valid lower bound on the
    global optimum (never above ``loss``); ``gap = (loss − lower)/|loss|``; ``optimum`` and
    ``optimal_network`` are set when the solver certified the optimum (then ``loss − optimum`` is
    the exact sub-optimality of the given network).  ``objective`` says which objective was
    certified (λ, β, cost, and the torch conventions when they were given).
    """

    loss: float
    lower: float
    gap: float
    is_global: bool
    optimum: float | None
    optimal_network: object
    solve_result: SolveResult
    message: str
    objective: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "loss": _num(self.loss),
            "lower": _num(self.lower),
            "gap": _num(self.gap),
            "is_global": bool(self.is_global),
            "optimum": _num(self.optimum),
            "objective": _jsonable(self.objective),
            "message": self.message,
        }

    def __repr__(self) -> str:
        opt = "not certified" if self.optimum is None else f"{self.optimum:.10g}"
        return (f"CertifyResult(is_global={self.is_global})\n  loss {self.loss:.10g}  lower {self.lower:.10g}  "
                f"gap {self.gap:.2e}  optimum {opt}\n  {self.message}")


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _float(x) -> float:
    return float(x) if x is not None else float("nan")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _num(obj)
    if isinstance(obj, np.ndarray):
        return None
    return obj
