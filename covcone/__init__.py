r"""covcone: certified global optima of L2-regularised homogeneous networks.

Implements the covariance-cone formulation of Jacot, Golikov, Hongler & Gabriel, *Feature
Learning in L2-regularized DNNs: Attraction/Repulsion and Sparsity*, NeurIPS 2022
(arXiv 2205.15809).  The public verbs and nouns only; submodules are loaded on first use so that
``import covcone`` stays fast (cvxpy is imported only when a solver is needed).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # data → problem
    "Problem": "problem",
    "Network": "network",
    "Activation": "activations",
    "relu": "activations",
    "leaky_relu": "activations",
    "absolute": "activations",
    "linear": "activations",
    "homogeneous": "activations",
    "sigmoid": "activations",
    "tanh": "activations",
    # reformulations (paper §2–3)
    "representation_loss": "reformulations",
    "min_norm_weights": "reformulations",
    "forces": "reformulations",
    "covariances": "reformulations",
    "covariance_loss": "reformulations",
    # cone representations, oracle, solvers
    "LiftedCone": "cones.lifted",
    "CellCone": "cones.cells",
    "price": "oracle",
    "solve": "api",
    "certify": "api",
    "SolveResult": "result",
    "CertifyResult": "result",
    "LowerBound": "result",
    "CovconeError": "exceptions",
    "SolverError": "exceptions",
    "NumericalError": "exceptions",
    "InaccurateSolutionWarning": "exceptions",
    "NotCertifiedWarning": "exceptions",
    "ShallowOptions": "options",
    "DeepOptions": "options",
    "installed_solvers": "backends",
    # decomposition (paper §5)
    "decompose": "decompose",
    "compress": "decompose",
    "rank_bounds": "decompose",
    "cp_factor": "decompose",
    # integrations: λ paths and sweeps
    "solve_path": "path",
    "PathResult": "path",
    "solve_many": "sweep",
    # the N²/4 example (paper §4.2)
    "tight_example": "tight",
    "verify_tight": "tight",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'covcone' has no attribute {name!r}")
    mod = importlib.import_module(f".{module}", __name__)
    # bind every export of that module at once: importing ``covcone.decompose`` (the module)
    # would otherwise shadow the function ``covcone.decompose`` of the same name
    for other, where in _EXPORTS.items():
        if where == module:
            globals()[other] = getattr(mod, other)
    return globals()[name]


def __dir__():
    return __all__
