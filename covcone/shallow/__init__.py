r"""The depth-2 solver, one module per phase (docs/design.md §3.4).

:mod:`.setup` (the problem in internal units) → :mod:`.master` (group lasso) → :mod:`.pricing`
(the oracle's round) → :mod:`.bounds` (weak duality) → :mod:`.recovery` (sparse network) →
:mod:`.colgen` (the loop, :func:`solve_shallow`); :mod:`.cells` solves the exact cell SDP.
"""
from __future__ import annotations

from .bounds import dual_bound, linear_dual_bound, spectral_bound
from .colgen import solve_shallow
from .recovery import merge_parallel, reduce_atoms
from .setup import GroupLassoSetup, columns_from_network, input_basis

__all__ = ["solve_shallow", "GroupLassoSetup", "input_basis", "columns_from_network", "dual_bound",
           "spectral_bound", "linear_dual_bound", "reduce_atoms", "merge_parallel"]
