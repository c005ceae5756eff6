r"""Every exception and warning covcone raises, with one common base class each.

``except covcone.CovconeError`` catches every failure of the library itself (a solver that
failed, a numerical check that did not hold); bad input is a plain ``ValueError`` whose message
names the argument, as numpy and scipy do.  Warnings derive from :class:`CovconeWarning`.
"""
from __future__ import annotations

__all__ = [
    "CovconeError",
    "SolverError",
    "NumericalError",
    "CompressionError",
    "RangeConditionError",
    "CovconeWarning",
    "InaccurateSolutionWarning",
    "NotCertifiedWarning",
]


class CovconeError(Exception):
    """Base class of covcone's own errors."""


class SolverError(CovconeError, RuntimeError):
    """A conic solver failed; the message says which solver and which step (layer/block)."""


class NumericalError(CovconeError, ArithmeticError):
    """A numerical check failed (e.g. data whose magnitudes overflow float64 after scaling)."""


class CompressionError(CovconeError, RuntimeError):
    """A compression step failed its numerical check; the message names the layer."""


class RangeConditionError(CovconeError, ValueError):
    r"""A range condition ``Im Z_ℓᵀ ⊂ Im (Z_{ℓ-1}^σ)ᵀ`` (or ``Im K_ℓ ⊂ Im K_{ℓ-1}^σ``) fails.

    No weights map layer ℓ−1 to layer ℓ, so ``L^r`` / ``L^k`` are +∞ there (paper §3.1); we
    raise instead of returning the finite but meaningless pseudo-inverse value.

    Attributes
    ----------
    layer : int
        ℓ (1-based, paper numbering): the layer whose representation leaves the range.
    violation : float
        The relative violation.
    tol : float
        The tolerance it exceeded.
    """

    def __init__(self, layer: int, violation: float, tol: float, what: str = "Z"):
        self.layer = int(layer)
        self.violation = float(violation)
        self.tol = float(tol)
        if what == "Z":
            cond = f"Im Z_{layer}ᵀ ⊂ Im (Z_{layer - 1}^σ)ᵀ"
        else:
            cond = f"Im K_{layer} ⊂ Im K_{layer - 1}^σ"
        super().__init__(
            f"range condition {cond} fails at layer {layer}: relative violation "
            f"{self.violation:.3g} > tol {self.tol:.3g}; no weights map layer {layer - 1} to layer "
            f"{layer} (the loss is +inf there, paper §3.1)"
        )


class CovconeWarning(UserWarning):
    """Base class of covcone's warnings."""


class InaccurateSolutionWarning(CovconeWarning):
    """A solver returned an inaccurate status; the result records it."""


class NotCertifiedWarning(CovconeWarning):
    """A fit ended without a certificate (the result says why and by how much)."""
