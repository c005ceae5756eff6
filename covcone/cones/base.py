r"""The protocol every representation of the cone ``S`` follows (docs/design.md §3, "Representing
the cone").

A representation of ``cone{(zzᵀ, σ(z)σ(z)ᵀ) : z ∈ Im Bᵀ}`` — an outer relaxation
(:class:`~covcone.cones.lifted.LiftedCone`) or an exact one for input rank ≤ 3
(:class:`~covcone.cones.cells.CellCone`) — is built from the data range and σ, hands out cvxpy
constraints linking it to the user's matrices, and after a solve reports its values and its own
constraint residual.  ``K_sigma`` here is always ``K^σ − β²11ᵀ`` (the bias part is the user's).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ConeRepresentation"]


@runtime_checkable
class ConeRepresentation(Protocol):
    """What covcone's solvers and a user's own cvxpy model may rely on."""

    #: True for an exact representation, False for an outer relaxation (a lower bound only)
    exact: bool

    @classmethod
    def from_basis(cls, B, activation) -> "ConeRepresentation":
        """Build from an r×N basis ``B`` of the data range (neurons are ``z = Bᵀc``) and σ."""

    def constraints(self, K=None, K_sigma_minus_bias=None) -> list:
        """cvxpy constraints saying ``(K, K_sigma_minus_bias)`` lies in the represented cone."""

    def values(self) -> tuple:
        """The solved ``(K, K^σ − β²11ᵀ)`` as numpy arrays (N×N)."""

    def residual(self) -> float:
        """Max absolute violation of the representation's own constraints at the solution."""
