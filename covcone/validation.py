r"""Validation at public entry points: errors name the argument, what was expected and got."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_matrix", "check_lam", "check_beta", "check_targets", "check_finite"]


def check_finite(A: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(A)):
        bad = "NaN" if np.any(np.isnan(A)) else "inf"
        raise ValueError(f"{name}: contains {bad}; all entries must be finite")
    return A


#: Largest magnitude accepted in data: squares of larger numbers overflow float64 in a loss.
MAX_MAGNITUDE = 1e100


def check_magnitude(A: np.ndarray, name: str) -> np.ndarray:
    """Reject magnitudes whose squares would overflow float64 (with the reason)."""
    m = float(np.max(np.abs(A))) if A.size else 0.0
    if m > MAX_MAGNITUDE:
        raise ValueError(f"{name}: entries up to {m:.1e} exceed {MAX_MAGNITUDE:.0e}; their squares overflow "
                         "float64 in the loss — rescale the data (a change of units)")
    return A


def as_matrix(A, name: str, *, allow_vector: bool = False) -> np.ndarray:
    """``np.asarray(A, float)``, 2-D (a vector becomes a column when ``allow_vector``), finite,
    real (complex input is rejected, never truncated) and of representable magnitude."""
    if np.iscomplexobj(A):
        raise ValueError(f"{name}: expected real numbers, got complex values")
    try:
        A = np.asarray(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(A).__name__}") from exc
    if A.ndim == 1 and allow_vector:
        A = A[:, None]
    if A.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {A.shape}")
    if A.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {A.shape}")
    return check_magnitude(check_finite(A, name), name)


def check_lam(lam, name: str = "lam") -> float:
    if lam is None or isinstance(lam, bool) or not isinstance(lam, numbers.Real):
        raise ValueError(f"{name}: expected a positive number (the weight-decay λ), got {lam!r}")
    lam = float(lam)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"{name}: expected λ > 0, got {lam!r}")
    return lam


def check_beta(beta, name: str = "beta") -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise ValueError(f"{name}: expected a number β ≥ 0, got {beta!r}")
    beta = float(beta)
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"{name}: expected β ≥ 0, got {beta!r}")
    return beta


def check_targets(Y, N: int, cost: str, *, k: int | None = None, name: str = "Y") -> np.ndarray:
    """Targets for ``cost``: (N, k) floats, or integer labels (N,) for cross-entropy
    (returned one-hot with ``k`` classes when ``k`` is given)."""
    if np.iscomplexobj(Y):
        raise ValueError(f"{name}: expected real numbers, got complex values")
    if cost == "cross_entropy":
        Yarr = np.asarray(Y)
        if Yarr.ndim == 1:
            if Yarr.shape[0] != N:
                raise ValueError(f"{name}: expected {N} labels, got shape {Yarr.shape}")
            try:
                Yf = Yarr.astype(float)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: cross_entropy labels must be integers ≥ 0, got dtype {Yarr.dtype}") from exc
            if not np.all(np.isfinite(Yf)) or np.any(Yf != np.round(Yf)) or np.any(Yf < 0):
                raise ValueError(f"{name}: cross_entropy labels must be integers ≥ 0")
            labels = Yarr.astype(int)
            kk = int(labels.max()) + 1 if k is None else k
            if labels.max() >= kk:
                raise ValueError(f"{name}: label {labels.max()} out of range for {kk} classes")
            out = np.zeros((N, kk))
            out[np.arange(N), labels] = 1.0
            return out
        Yarr = as_matrix(Yarr, name)
        if Yarr.shape[0] != N or (k is not None and Yarr.shape[1] != k):
            raise ValueError(f"{name}: expected shape ({N}, {k if k is not None else 'k'}), got {Yarr.shape}")
        if np.any(Yarr < 0) or np.any(np.abs(Yarr.sum(axis=1) - 1) > 1e-9):
            raise ValueError(f"{name}: cross_entropy targets must be labels or rows on the probability simplex (one-hot)")
        return Yarr
    Yarr = as_matrix(Y, name, allow_vector=True)
    if Yarr.shape[0] != N:
        raise ValueError(f"{name}: expected {N} rows (one per sample of X), got shape {Yarr.shape}")
    if k is not None and Yarr.shape[1] != k:
        raise ValueError(f"{name}: expected shape ({N}, {k}), got {Yarr.shape}")
    return Yarr
