r"""Shared kernels of the pricing oracle: validation, σ, true values, top eigenpairs, the
candidate pool and the bound-sorted evaluation with early stop (see :mod:`covcone.oracle`)."""
from __future__ import annotations

import importlib
import os
import time

import numpy as np

MAX_SIGN_PATTERNS = 2_000_000
_ANGLE_TOL = 1e-12  # arcs shorter than this (radians) are ties of concurrent planes: skipped
_PARALLEL_TOL = 1e-12  # ‖b̂_i × b̂_j‖ below this: the two planes coincide
_DISTINCT_COS = 1.0 - 1e-9  # candidates closer than this cosine are the same direction
# the exact low-rank oracles return, for n_best > 1, candidates at least this far apart (≈ 0.01 rad):
# the best point of each of many regions of the sphere, not near-copies of the maximiser
_DIVERSE_COS = float(np.cos(1e-2))
_EVAL_ENTRIES = 4_000_000  # candidates × N evaluated at once (memory of one true-value batch)
PROGRESS_SECONDS = 1.0  # at most one ``progress`` report of a long exact call per this many seconds
# planes crossing a great circle near an arc (event offsets, nearest first): the cell pre-test
_WALL_OFFSETS = np.array([0, 1, -1, 2, -2, 3, -3, 4])


def exact_affordable(r: int, N: int) -> bool:
    r"""Whether an exact oracle is affordable: ``r ≤ 3`` (arrangement, ``O(N^{r-1})`` faces) or
    ``3^N ≤ 2·10⁶`` (all sign patterns, i.e. ``N ≤ 13``), docs/design.md §3.3."""
    r, N = int(r), int(N)
    # exact integers: 3.0**N overflows a float from N = 647 on
    return r <= 3 or N <= 0 or (N < 64 and 3**N <= MAX_SIGN_PATTERNS)


# ============================================================================================
# validation (public entry points only)
# ============================================================================================
def _matrix(x, name: str, ndim_ok=(2,)) -> np.ndarray:
    try:
        A = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    if A.ndim not in ndim_ok:
        want = " or ".join(f"{d}-D" for d in ndim_ok)
        raise ValueError(f"{name}: expected a {want} array, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return A


def _check_basis(B) -> np.ndarray:
    B = _matrix(B, "B")
    if B.shape[0] < 1 or B.shape[1] < 1:
        raise ValueError(f"B: expected shape (r, N) with r, N ≥ 1, got {B.shape}")
    return B


def _check_theta(Theta, N: int) -> np.ndarray:
    Th = _matrix(Theta, "Theta", (1, 2))
    if Th.ndim == 1:
        Th = Th[:, None]
    if Th.shape[0] != N or Th.shape[1] < 1:
        raise ValueError(
            f"Theta: expected shape (N, k) with N = {N} columns of B and k ≥ 1, got {np.shape(Theta)}"
        )
    return Th


def _rng(rng):
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rng: expected a numpy Generator, a seed or None, got {rng!r}") from exc


def _positive_int(x, name, minimum=1) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name}: expected an integer ≥ {minimum}, got {x!r}")
    return int(x)


# ============================================================================================
# small linear-algebra kernels
# ============================================================================================
def _sigma(Z, a, b):
    if b == 0.0:
        S = np.maximum(Z, 0.0)
        return S if a == 1.0 else a * S
    return b * Z + (a - b) * np.maximum(Z, 0.0)


def _norms(Theta, B, a, b, C) -> np.ndarray:
    """True values ‖Θᵀσ(Bᵀc)‖ for the rows of C (no validation)."""
    V = _sigma(C @ B, a, b) @ Theta
    return np.sqrt(np.einsum("ij,ij->i", V, V))


def _norms_chunked(Theta, B, a, b, C) -> np.ndarray:
    """:func:`_norms` in batches of at most ``_EVAL_ENTRIES`` candidate × sample entries (bounded
    memory for many candidates or large N)."""
    step = max(1, _EVAL_ENTRIES // max(1, B.shape[1]))
    if C.shape[0] <= step:
        return _norms(Theta, B, a, b, C)
    return np.concatenate([_norms(Theta, B, a, b, C[s : s + step]) for s in range(0, C.shape[0], step)])


def _unit_rows(C):
    n = np.linalg.norm(C, axis=-1, keepdims=True)
    return C / np.where(n > 0, n, 1.0)


def _top_eig(T, need_vectors=True):
    r"""Top eigenpair of ``T Tᵀ`` for a stack ``T`` of shape (n, q, k).

    Returns ``lam`` (n,) and unit ``u`` (n, q) (``None`` if not ``need_vectors``).  Uses the
    ``k × k`` Gram ``TᵀT`` when ``k ≤ q`` (closed form for ``k ≤ 2``: the measurements in benchmarks/README.md's remark that
    the top eigenpair of ``T Tᵀ`` comes from ``TᵀT``), else the ``q × q`` form.
    """
    n, q, k = T.shape
    if k == 1:
        t = T[:, :, 0]
        lam = np.einsum("ij,ij->i", t, t)
        u = _unit_rows(t) if need_vectors else None
    elif k == 2:
        t0, t1 = T[:, :, 0], T[:, :, 1]
        g11 = np.einsum("ij,ij->i", t0, t0)
        g22 = np.einsum("ij,ij->i", t1, t1)
        g12 = np.einsum("ij,ij->i", t0, t1)
        h = 0.5 * (g11 - g22)
        lam = 0.5 * (g11 + g22) + np.sqrt(h * h + g12 * g12)
        u = None
        if need_vectors:
            first = g11 >= g22
            w0 = np.where(first, lam - g22, g12)
            w1 = np.where(first, g12, lam - g11)
            u = _unit_rows(t0 * w0[:, None] + t1 * w1[:, None])
    elif k <= q:
        H = np.einsum("nqi,nqj->nij", T, T)
        if need_vectors:
            lams, W = np.linalg.eigh(H)
            lam = lams[:, -1]
            u = _unit_rows(np.einsum("nqk,nk->nq", T, W[:, :, -1]))
        else:
            lam, u = np.linalg.eigvalsh(H)[:, -1], None
    else:
        M = np.einsum("nik,njk->nij", T, T)
        if need_vectors:
            lams, U = np.linalg.eigh(M)
            lam, u = lams[:, -1], U[:, :, -1]
        else:
            lam, u = np.linalg.eigvalsh(M)[:, -1], None
    if need_vectors:
        zero = ~(np.linalg.norm(u, axis=1) > 0)
        if np.any(zero):
            u[zero] = 0.0
            u[zero, 0] = 1.0
    return np.maximum(lam, 0.0), u


def _reduce_rank(B):
    r"""Write ``B = U B'`` with ``B'`` of full row rank ρ (``c = U c'`` keeps ``‖c‖``; the value
    is homogeneous of degree 2 in the part of ``c`` that ``B`` sees).  Returns (U or None, B')."""
    r = B.shape[0]
    U, s, Wt = np.linalg.svd(B, full_matrices=False)
    tol = max(B.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    rho = int(np.sum(s > tol))
    if rho == r:
        return None, B
    return U[:, :rho], s[:rho, None] * Wt[:rho]


class _Pool:
    r"""The best ``n_best`` distinct candidates so far (by true value).

    ``floor`` (a value, not squared): candidates at or below it are not wanted, so faces whose bound
    is at most ``floor`` may be pruned even before the pool is full (column generation only needs
    neurons that price out, and its dual bound only needs ``m ≤ max(found, floor)``)."""

    def __init__(self, Theta, B, a, b, n_best, floor=0.0):
        self.Theta, self.B, self.a, self.b, self.n_best = Theta, B, a, b, n_best
        self.floor = float(floor)
        self.floor2 = self.floor * self.floor if self.floor > 0 else -np.inf  # (inf, not an error, beyond 1e154)
        self.C = np.zeros((0, B.shape[0]))
        self.v = np.zeros(0)
        self.n_evaluated = 0
        self.distinct_cos = _DISTINCT_COS

    def diversify(self, cos):
        """Keep only candidates whose pairwise cosines are below ``cos`` (re-selects the pool).
        The best candidate is always kept, so the pool's maximum is unchanged."""
        self.distinct_cos = min(self.distinct_cos, float(cos))
        C, v = self.C, self.v
        self.C, self.v = self.C[:0], self.v[:0]
        if C.shape[0]:
            self.add(C, v)

    @property
    def threshold(self) -> float:
        """Squared value a face must beat to matter: the ``n_best``-th best value once the pool is
        full, and never below ``floor²`` (−inf when neither applies)."""
        if self.v.size < self.n_best:
            return self.floor2
        return max(float(self.v[self.n_best - 1]) ** 2, self.floor2)

    @property
    def best(self) -> float:
        return float(self.v[0]) ** 2 if self.v.size else -np.inf

    def add(self, C, values=None):
        if C.shape[0] == 0:
            return
        C = _unit_rows(C)
        if values is None:
            values = _norms_chunked(self.Theta, self.B, self.a, self.b, C)
            self.n_evaluated += C.shape[0]
        allC = np.vstack([self.C, C])
        allv = np.concatenate([self.v, values])
        order = np.argsort(-allv, kind="stable")
        if self.n_best == 1:
            i = order[0]
            self.C, self.v = allC[i : i + 1], allv[i : i + 1]
            return
        keep = order[_greedy_distinct(allC[order], self.n_best, self.distinct_cos)]
        self.C, self.v = allC[keep], allv[keep]


def _greedy_distinct(A, n_best: int, cos: float, *, use_numba=None) -> np.ndarray:
    """Indices of the rows of ``A`` (unit rows, best first) kept greedily in order: a row is kept
    unless a kept one has cosine ``> cos`` with it; at most ``n_best``.  Compiled when numba is
    installed (the pool is re-selected several times per oracle call), else one
    matrix-vector product per kept row (≤ n_best), no loop over the candidates."""
    kernel = compiled("_numba_pool", "greedy_distinct") if use_numba in (None, True) else None
    if kernel is not None:
        return kernel(np.ascontiguousarray(A, dtype=float), int(n_best), float(cos))
    blocked = np.zeros(A.shape[0], dtype=bool)
    keep = []
    i = 0
    while True:
        keep.append(i)
        if len(keep) == n_best:
            break
        blocked |= (A @ A[i]) > cos
        free = np.flatnonzero(~blocked[i + 1 :])
        if free.size == 0:
            break
        i += 1 + int(free[0])
    return np.asarray(keep, dtype=np.int64)


def _margin(pool, scale2):
    """Slack for rounding in the bounds (cumulative sums, closed-form eigenvalues)."""
    thr = pool.threshold
    return 1e-9 * abs(thr) + 1e-12 * scale2 if np.isfinite(thr) else 0.0


def _evaluate_sorted(pool, bounds, make_candidates, scale2, batch=64):
    r"""Evaluate faces in decreasing order of ``bounds`` until the pool's threshold reaches the
    next bound; ``make_candidates(idx)`` returns candidate rows for the faces ``idx``."""
    thr = pool.threshold
    keep = np.nonzero(bounds > thr - _margin(pool, scale2))[0] if np.isfinite(thr) else np.arange(bounds.size)
    if keep.size == 0:
        return
    keep = keep[np.argsort(-bounds[keep], kind="stable")]
    start = 0
    while start < keep.size:
        thr = pool.threshold
        if np.isfinite(thr) and bounds[keep[start]] <= thr - _margin(pool, scale2):
            return
        idx = keep[start : start + batch]
        pool.add(make_candidates(idx))
        start += batch
        batch = min(4 * batch, 4096, max(64, _EVAL_ENTRIES // max(1, pool.B.shape[1])))


class _ReportDue:
    """Called between steps of a long exact call: True at most once per ``PROGRESS_SECONDS`` (when
    its ``progress`` callback is due)."""

    def __init__(self):
        self.last = time.perf_counter()

    def __call__(self) -> bool:
        now = time.perf_counter()
        if now - self.last < PROGRESS_SECONDS:
            return False
        self.last = now
        return True


def compiled(module: str, name: str):
    """The numba kernel ``name`` of ``covcone.oracle.<module>``, or None when numba is missing or
    disabled (``COVCONE_NO_NUMBA`` set to anything but ``""``/``"0"``); compiled on first use."""
    if os.environ.get("COVCONE_NO_NUMBA", "") not in ("", "0"):
        return None
    try:
        mod = importlib.import_module(f"covcone.oracle.{module}")
    except ImportError:
        return None
    return getattr(mod, name)
