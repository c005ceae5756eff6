r"""Frozen results and the certificate rule (DESIGN.md §4).

"Certified" means: an upper bound ``upper`` = the loss of an actual network, evaluated by its
plain forward pass (:meth:`covcone.Network.loss`), and a lower bound ``lower`` from a valid
relaxation or an exact-oracle dual bound, with ``(upper − lower) / max(1, |upper|) ≤ tol``.
:func:`relative_gap` and :func:`is_certified` are the only places this rule is written.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SolveResult", "CertifyResult", "relative_gap", "is_certified", "VALID_LOWER_SOURCES"]

# Lower bounds that are valid for the global optimum (never "heuristic ...").
VALID_LOWER_SOURCES = (
    "exact-oracle dual",
    "spectral dual",
    "cells SDP dual",
    "lifted SDP dual",
    "trivial (loss ≥ 0)",
)


def relative_gap(upper: float, lower: float) -> float:
    """(upper − lower) / max(1, |upper|); ``inf`` when either bound is missing or infinite."""
    if upper is None or lower is None or not (math.isfinite(upper) and math.isfinite(lower)):
        return float("inf")
    return (upper - lower) / max(1.0, abs(upper))


def is_certified(upper: float, lower: float, tol: float, lower_from: str | None) -> bool:
    """True only for a finite network loss and a *valid* lower bound within ``tol``."""
    return lower_from in VALID_LOWER_SOURCES and relative_gap(upper, lower) <= tol


@dataclass(frozen=True)
class SolveResult:
    r"""The outcome of :func:`covcone.solve`.

    Attributes
    ----------
    status : str
        ``"certified"`` (gap ≤ tol with a valid lower bound), ``"bounded"`` (valid bounds, gap
        above tol), ``"upper_only"`` (no valid lower bound beyond the trivial one) or
        ``"failed"``.
    message : str
        What happened, in words: why it stopped, and why it is not certified when it is not.
    upper : float
        Loss of ``network`` evaluated by its forward pass (``Network.loss``).
    lower : float
        A valid lower bound on the global optimum (see ``lower_from``).
    gap : float
        ``(upper − lower) / max(1, |upper|)``.
    certified : bool
    network : Network or None
    covariances : tuple
        ``(K_1, K_1^σ)`` of the recovered network on the training inputs (N×N).
    method, lower_from, solver : str
    timings : dict
        Seconds per phase (``master``, ``oracle``, ``recovery``, ``total``, …).
    history : tuple of dict
        One entry per iteration (round): upper, lower, gap, active neurons, oracle value, …
    """

    status: str
    message: str
    upper: float
    lower: float
    gap: float
    certified: bool
    network: object
    covariances: tuple
    method: str
    lower_from: str | None
    solver: str | None
    tol: float
    timings: dict = field(default_factory=dict)
    history: tuple = ()
    n_neurons: int = 0
    solver_status: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when the optimum is certified (scipy-style alias)."""
        return self.certified

    @property
    def fun(self) -> float:
        """scipy-style alias of ``upper``."""
        return self.upper

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
            "method": self.method,
            "lower_from": self.lower_from,
            "solver": self.solver,
            "solver_status": self.solver_status,
            "n_neurons": int(self.n_neurons),
            "widths": list(net.widths) if net is not None else None,
            "iterations": len(self.history),
            "timings": {k: round(float(v), 4) for k, v in self.timings.items()},
            "message": self.message,
        }


@dataclass(frozen=True)
class CertifyResult:
    r"""The outcome of :func:`covcone.certify` for a network trained elsewhere.

    ``loss`` is the given network's forward-pass loss; ``lower`` a valid lower bound on the
    global optimum; ``gap = (loss − lower)/max(1, |loss|)``; ``optimum`` and ``optimal_network``
    are set when the solver certified the optimum (then ``loss − optimum`` is the exact
    sub-optimality of the given network).
    """

    loss: float
    lower: float
    gap: float
    is_global: bool
    optimum: float | None
    optimal_network: object
    solve_result: SolveResult
    message: str

    def summary(self) -> dict:
        return {
            "loss": _num(self.loss),
            "lower": _num(self.lower),
            "gap": _num(self.gap),
            "is_global": bool(self.is_global),
            "optimum": _num(self.optimum),
            "message": self.message,
        }


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


def covariance_pair(network, X) -> tuple:
    """(K_1, K_1^σ) of a network's first hidden layer on X (samples as rows)."""
    Z1 = network.preactivations(X)[0]
    S1 = network.activation(Z1)
    N = Z1.shape[0]
    return Z1 @ Z1.T, S1 @ S1.T + network.beta**2 * np.ones((N, N))
