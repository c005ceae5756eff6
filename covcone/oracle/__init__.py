r"""The pricing oracle: exact face enumeration of the hyperplane arrangement (docs/design.md §3.3–3.4).

This module implements the *pricing step* of the generator (column generation) representation of
the cone ``S = cone{(zzᵀ, σ(z)σ(z)ᵀ)}`` of Jacot, Golikov, Hongler & Gabriel, *Feature Learning in
L2-regularized DNNs: Attraction/Repulsion and Sparsity* (NeurIPS 2022), §2–3: with dual matrices
``(G_K, G_σ)`` it minimises ``zᵀ G_K z + σ(z)ᵀ G_σ σ(z)`` over unit ``z = Bᵀc`` in the data range
(:func:`price`), and, in the group-lasso form of the depth-2 problem (docs/design.md §3.4), it computes
``m = max_{‖c‖=1} ‖Θᵀ σ(Bᵀc)‖`` (:func:`max_group_norm`), the quantity whose comparison with
``2λ`` certifies global optimality.

Mathematics (docs/design.md §3.3).  The hyperplanes ``{c : b_iᵀc = 0}`` (``b_i`` the columns of the
``r × N`` basis ``B``) cut the sphere into *faces*: sets where some ``z_i = 0`` and the other
coordinates have fixed signs.  On a face ``σ(z) = D z`` with a fixed slope pattern ``D`` (on a
face's closure too), so the objective is a quadratic form, ``cᵀ T Tᵀ c`` with ``T = B D Θ`` for the
group norm.  Take a maximiser ``c*`` whose face ``F`` has the smallest dimension: ``c*`` is a
local, hence global, maximiser of the face's form on the unit sphere of ``span F``, so it is a
top eigenvector; if that eigenspace had dimension ≥ 2 a great circle inside it would lead, at
constant value, to the boundary of ``F``, i.e. to a maximiser on a smaller face.  Hence the
maximum is attained at ``±`` the top eigenvector of the restricted form of *some* face, and the
face's top eigenvalue bounds the objective on the face's closure.  The exact oracle therefore

1. enumerates faces and their restricted forms,
2. takes ``±`` top eigenvectors as candidates — every candidate is a feasible unit point, so its
   *true* value ``‖Θᵀσ(Bᵀc)‖`` is evaluated and no membership test is needed,
3. evaluates candidates in decreasing order of their face's bound and stops as soon as the best
   true value reaches the next bound (the maximiser's face has bound = maximum).

Enumerations: ``r ≤ 3`` (after reducing ``B`` to its rank) by the geometry of the arrangement —
``O(N^{r-1})`` faces, vectorised with cumulative rank-one updates along each great circle —
and any ``r`` for small ``N`` by the ``3^N`` sign patterns in ``{−, 0, +}^N``.  At rank ≥ 4 the
anytime branch and bound over simplicial cones (:mod:`covcone.oracle.bnb`) gives a valid upper
bound at any moment and the exact value when its tree closes, and the enumeration of the faces
around every vertex of the arrangement (:mod:`covcone.oracle.vertices`, ``C(N, r−1)`` vertices)
is exact at any rank within its budget.  The multi-start local search with sampled activation
patterns (:mod:`covcone.oracle.heuristic`) proves nothing; its result carries the cheap bound
:func:`spectral_group_bound`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..activations import require_homogeneous

__all__ = [
    "GroupPrice",
    "PriceResult",
    "max_group_norm",
    "price",
    "group_norms",
    "exact_affordable",
    "oracle_path",
    "spectral_group_bound",
]


from ._kernels import (MAX_SIGN_PATTERNS,  # noqa: F401 (re-exported)
                       _check_basis, _check_theta, _matrix, _norms, _Pool, _positive_int,
                       _reduce_rank, _rng, _unit_rows)
from ._kernels import exact_affordable as _sign_patterns_affordable
from .general import PriceResult, price
from .heuristic import _heuristic_group
from .lowrank import _exact_low_group, _exact_r3_group, _naive_r3_group
from .signs import _exact_3n_group
from .bnb import bnb_group
from .vertices import BudgetExceeded, Planes, StoppedEarly, exact_vertices_group, face_count, local_vertices_group

MAX_VERTEX_FORMS = 2_000_000_000  # default budget of the vertex enumeration (forms, estimated)
DEFAULT_BNB_SECONDS = 10.0  # branch and bound when no time_limit / max_nodes is given
EARLY_STOP_MIN_SECONDS = 30.0  # stop_above applies to vertex enumerations estimated to take longer


def oracle_path(r: int, N: int, max_faces: float | None = None) -> str:
    r"""Which path :func:`max_group_norm` takes for input rank ``r`` and ``N`` columns (before
    merging parallel columns, so the vertex path may run where this says branch and bound is
    not needed, never the reverse).

    Returns one of ``"arrangement r<=3"``, ``"sign patterns 3^N"``, ``"vertices"`` (exact at
    any rank: the branch and bound first, then, if it has not closed, the vertex enumeration,
    ``2·C(N + 1, r−1)·2^{r−1}`` forms with the compiled walk, ``2·C(N, r−1)·3^{r−1}`` without, at most
    ``max_faces``) or ``"branch and bound"`` (anytime: exact only
    if the tree closes within the time limit; always a valid upper bound)."""
    r, N = int(r), int(N)
    budget = MAX_VERTEX_FORMS if max_faces is None else max_faces
    if r <= 3:
        return "arrangement r<=3"
    if _sign_patterns_affordable(r, N):
        return "sign patterns 3^N"
    if face_count(N, r) <= budget:
        return "vertices"
    return "branch and bound"


def exact_affordable(r: int, N: int, max_faces: float | None = None) -> bool:
    r"""Whether an exact enumeration (no time limit) will run: :func:`oracle_path` is not
    ``"branch and bound"`` (the arrangement for ``r ≤ 3``, ``3^N`` sign patterns for small N, the
    vertices of the arrangement within the ``MAX_VERTEX_FORMS`` budget)."""
    return oracle_path(r, N, max_faces) != "branch and bound"


# ============================================================================================
# results
# ============================================================================================
@dataclass(frozen=True)
class GroupPrice:
    r"""Result of :func:`max_group_norm` (docs/design.md §3.4).

    Attributes
    ----------
    value : float
        ``m = max ‖Θᵀσ(Bᵀc)‖`` over unit ``c`` (the norm, not its square); exact when ``exact``.
    C : ndarray, shape (n, r)
        Up to ``n_best`` distinct unit maximisers / good points, best first; each is feasible.
    values : ndarray, shape (n,)
        Their true norms ``‖Θᵀσ(Bᵀc)‖``, descending (``values[0] == value``).
    exact : bool
        True only if an exact enumeration proved ``value`` to be the maximum.
    method : str
        ``"arrangement r=3"``, ``"sign patterns 3^N"``, ``"heuristic"``, … with a reason.
    n_faces : int
        Faces enumerated (bounded), counted with multiplicity.
    n_evaluated : int
        Candidate points whose true value was evaluated.
    bound : float
        A valid upper bound on ``m``: equal to ``value`` when ``exact``; the branch-and-bound
        bound when that ran; otherwise the spectral bound ``‖Θ‖₂·max(|a|,|b|)·‖B‖₂``
        (``inf`` when a caller constructs the result without one).
    stats : dict
        Diagnostics: ``path``, ``time``, ``vertices``/``forms`` (vertex enumeration), ``nodes``,
        ``open``, ``closed``, ``reason`` (branch and bound), ``budget`` (why a budget stopped
        an enumeration).
    """

    value: float
    C: np.ndarray
    values: np.ndarray
    exact: bool
    method: str
    n_faces: int
    n_evaluated: int = 0
    bound: float = math.inf
    stats: dict = field(default_factory=dict)


# ============================================================================================
# public: max_group_norm, group_norms
# ============================================================================================
def group_norms(Theta, B, activation, C) -> np.ndarray:
    r"""True values ``‖Θᵀ σ(Bᵀc)‖`` for the rows ``c`` of ``C`` (docs/design.md §3.4).

    Parameters
    ----------
    Theta : array_like, shape (N, k) or (N,)
        Output-side weights (the dual residual of the group lasso).
    B : array_like, shape (r, N)
        Basis of the data range (columns ``b_i``).
    activation : Activation, str or (a, b)
        Positively homogeneous σ.
    C : array_like, shape (n, r) or (r,)
        Points (not normalised here).

    Returns
    -------
    ndarray, shape (n,) (shape () for a single ``c``)
    """
    act = require_homogeneous(activation)
    B = _check_basis(B)
    Th = _check_theta(Theta, B.shape[1])
    Cm = _matrix(C, "C", (1, 2))
    if Cm.shape[-1] != B.shape[0]:
        raise ValueError(f"C: expected shape (n, r) with r = {B.shape[0]} rows of B, got {Cm.shape}")
    out = _norms(Th, B, act.a, act.b, np.atleast_2d(Cm))
    return out[0] if Cm.ndim == 1 else out


SEED_HEURISTIC_MIN_N = 64  # rank-3 enumerations of at most this many columns start without the heuristic


def spectral_group_bound(Theta, B, a, b) -> float:
    r"""A cheap valid upper bound on ``m = max_{‖c‖=1} ‖Θᵀσ(Bᵀc)‖`` (no enumeration).

    With ``σ(z) = m₀z + h|z|`` (``m₀ = (a+b)/2``, ``h = (a−b)/2``), ``z = Bᵀc``:
    ``‖Θᵀσ(z)‖ ≤ |m₀|·‖ΘᵀBᵀc‖ + |h|·‖Θᵀ|z|‖ ≤ |m₀|·‖BΘ‖₂ + |h|·‖Θ‖₂‖B‖₂``.  For one output the
    second term is sharpened: ``θᵀ|z|`` lies between ``−θ⁻ᵀ|z|`` and ``θ⁺ᵀ|z|`` and
    ``θ^±ᵀ|z| ≤ ‖θ^±‖·‖B_±ᵀc‖ ≤ ‖θ^±‖·‖B_±‖₂`` (Cauchy–Schwarz on the columns where ``±θ_i > 0``).
    Never above the plain spectral bound ``max(|a|,|b|)·‖Θ‖₂‖B‖₂`` (``|m₀| + |h| = max(|a|,|b|)``),
    and about half of it for ReLU when ``BΘ ≈ 0`` (a residual orthogonal to the linear features)."""
    m0, h = 0.5 * (a + b), 0.5 * (a - b)
    nB = float(np.linalg.norm(B, 2))
    second = float(np.linalg.norm(Theta, 2)) * nB
    if Theta.shape[1] == 1:
        th = Theta[:, 0]
        parts = []
        for mask in (th > 0, th < 0):
            parts.append(float(np.linalg.norm(th[mask])) * float(np.linalg.norm(B[:, mask], 2)) if mask.any() else 0.0)
        second = min(second, max(parts))
    out = abs(m0) * float(np.linalg.norm(B @ Theta, 2)) + abs(h) * second
    return min(out, max(abs(a), abs(b)) * float(np.linalg.norm(Theta, 2)) * nB) * (1 + 1e-12)


def _bnb_time(time_limit, max_nodes, t_start, share=1.0):
    """Seconds for a branch-and-bound phase: ``share`` of what is left of ``time_limit`` (at least
    a root pass), ``DEFAULT_BNB_SECONDS`` when neither a time limit nor a node budget is given."""
    if time_limit is None:
        return DEFAULT_BNB_SECONDS if max_nodes is None else None
    return max(share * (time_limit - (time.perf_counter() - t_start)), 1e-3)


def _vertex_seconds(planes, rho) -> float:
    """Rough seconds of a full vertex enumeration without pruning (estimated forms per second
    measured on a 2-core machine: ≈ 9e6/k^0.65 with the compiled walk — iris, N = 150, rank 5,
    k = 3, near the optimum: 6.5e8 in ≈ 141 s — ≈ 2e6/k with numpy)."""
    from .vertices import _numba_kernel

    k = max(1, planes.k)
    compiled = _numba_kernel() is not None
    rate = 9e6 / k**0.65 if compiled else 2e6 / k
    return face_count(planes.H, rho, compiled) / rate


def _rank4_paths(method, planes, pool, scale2, rho, spectral, time_limit, max_faces, max_nodes, t_start, client=None,
                 stop_above=None, start_head=None, progress=None):
    r"""Input rank ≥ 4 beyond ``3^N``.  When the vertex enumeration is within ``max_faces`` and
    expected to take at most 90 % of ``time_limit`` (or any time without a limit) it runs first
    (exact; it is far tighter than the branch-and-bound bound of the same time), the branch and
    bound only if it overruns, not when it stops at a value above ``stop_above``.  Otherwise the
    branch and bound first (it closes in about a second at rank 4 with a few hundred columns),
    then, if it did not close and
    the enumeration is within ``max_faces``, the enumeration with the time that is left.  A budget
    overrun keeps the branch-and-bound bound and says so.  ``method`` may force one path (tests).
    Returns (method, exact, bound, n_faces, stats)."""
    stats, bound = {}, None
    budget = MAX_VERTEX_FORMS if max_faces is None else max_faces
    affordable = face_count(planes.H, rho) <= budget
    run_vertices = method == "vertices" or (method == "auto rank>=4" and affordable)
    est = _vertex_seconds(planes, rho)
    quick = run_vertices and method == "auto rank>=4" and (time_limit is None or est <= 0.9 * time_limit)
    vertex_limit = time_limit
    if quick and time_limit is not None:  # an enumeration far over its estimate (degenerate data) stops early
        vertex_limit = min(time_limit, 4.0 * est + 5.0)
    if method != "vertices" and not quick:
        if time_limit is not None and run_vertices:  # leave the enumeration the time it needs, if it fits
            share = min(0.5, max(0.25, 1.0 - est / time_limit))
        else:
            share = 1.0
        st = bnb_group(planes, pool, time_limit=_bnb_time(time_limit, max_nodes, t_start, share),
                       max_nodes=max_nodes, progress=progress)
        stats.update(st)
        bound = min(st["bound"], spectral)
        if st["closed"]:
            return "branch and bound, closed", True, bound, 0, stats
        left = None if time_limit is None else time_limit - (time.perf_counter() - t_start)
        if run_vertices and method == "auto rank>=4" and left is not None and est > left:
            run_vertices = False
            stats["budget"] = f"vertex enumeration needs ~{est:.3g} s, {left:.3g} s left"
        if not run_vertices:
            if method == "auto rank>=4":
                stats.setdefault("budget", f"vertex enumeration over budget: ~{face_count(planes.H, rho):.3g} forms")
                return (f"branch and bound ({st['reason']}; {stats['budget']}: rank {rho}, "
                        f"{planes.H} planes)"), False, bound, 0, stats
            return f"branch and bound ({st['reason']})", False, bound, 0, stats
    try:
        vs = exact_vertices_group(planes, pool, scale2, time_limit=vertex_limit, max_faces=max_faces, t0=t_start,
                                  client=client, start_head=start_head, progress=progress,
                                  stop_above=stop_above if client is None and est > EARLY_STOP_MIN_SECONDS else None)
    except StoppedEarly as exc:
        stats["budget"] = str(exc)
        stats["stopped_at_head"] = exc.head
        return f"vertices (stopped early: {exc})", False, bound, 0, stats
    except BudgetExceeded as exc:
        stats["budget"] = str(exc)
        if bound is None:  # no branch-and-bound pass yet: one for a valid bound (a share of what is left)
            bt = _bnb_time(time_limit, max_nodes, t_start)
            if bt is not None and time_limit is not None:
                bt = min(bt, max(DEFAULT_BNB_SECONDS, 0.25 * time_limit))
            st = bnb_group(planes, pool, time_limit=bt, max_nodes=max_nodes, progress=progress)
            stats.update(st)
            bound = min(st["bound"], spectral)
            if st["closed"]:
                return f"branch and bound, closed (vertex enumeration stopped: {exc})", True, bound, 0, stats
        return f"branch and bound (vertex enumeration stopped: {exc})", False, bound, 0, stats
    stats.update(vs)
    return "vertices", True, None, int(vs["forms"]), stats


def _local_search(planes, pool, scale2, starts):
    """:func:`local_vertices_group` around the pool's candidates (best first), then ``starts``."""
    centers = pool.C if starts is None else np.vstack([pool.C, starts])
    return local_vertices_group(planes, pool, scale2, centers)


def max_group_norm(
    Theta,
    B,
    activation,
    *,
    exact: bool = True,
    n_best: int = 1,
    rng=None,
    n_starts: int = 64,
    client=None,
    time_limit: float | None = None,
    max_faces: float | None = None,
    max_nodes: int | None = None,
    starts=None,
    floor: float = 0.0,
    stop_above: float | None = None,
    local: bool = False,
    progress=None,
    _method: str | None = None,
    _start_head: int | None = None,
) -> GroupPrice:
    r"""The group-lasso pricing oracle ``m = max_{‖c‖=1} ‖Θᵀ σ(Bᵀc)‖`` (docs/design.md §3.4).

    Parameters
    ----------
    Theta : array_like, shape (N, k) or (N,)
        Residual-side weights; in the depth-2 solver ``Θ = (2/N)(Y − Ŷ)`` (samples as rows).
    B : array_like, shape (r, N)
        Basis of the input range; ``z = Bᵀc``.
    activation : Activation, str or (a, b)
        Positively homogeneous σ with slopes ``(a, b)``.
    exact : bool, default True
        Prove the maximum when possible (see Notes); when False, only the heuristic runs and
        ``bound`` is the spectral bound.
    n_best : int, default 1
        Return up to this many distinct good points (cosine < 1 − 1e-9), best first.
    rng : numpy Generator, int or None
        Randomness of the heuristic starts.
    n_starts : int, default 64
        Random starts (and as many sampled activation patterns) of the heuristic.
    client : dask.distributed.Client, optional
        Split the ``3^N`` sign-pattern enumeration, or the vertex enumeration at input rank ≥ 4,
        into chunks run on the client's workers.
    time_limit : float, optional
        Seconds for the whole call at input rank ≥ 4 (vertex enumeration, then branch and
        bound).  Default: no limit for the vertex enumeration, ``DEFAULT_BNB_SECONDS`` for the
        branch and bound (unless ``max_nodes`` is given).
    max_faces : float, optional
        Budget of forms for the vertex enumeration (default ``MAX_VERTEX_FORMS``); above it, or
        when it is overrun, the branch and bound runs instead and ``stats["budget"]`` says why.
    max_nodes : int, optional
        Regions the branch and bound may bound.
    starts : array_like, shape (s, r), optional
        Extra starting points of the heuristic (e.g. a trained network's neurons, in the
        coordinates of ``c``).
    floor : float, default 0
        Values at or below ``floor`` are not wanted (column generation: ``2λ`` in the units of
        ``Θ``): faces and regions whose bound is at most ``floor`` are pruned, so an exact call
        proves ``m ≤ max(value, floor)`` — the maximum itself only when ``value > floor``.
    stop_above : float, optional
        Input rank ≥ 4: a vertex enumeration estimated to take more than ``EARLY_STOP_MIN_SECONDS``
        stops as soon as it has found a value above this (column generation needs a column, not
        the maximum); the result is then not exact, its ``method`` says so and ``bound`` is the
        spectral bound.
    progress : callable, optional
        Input rank ≥ 4: called with keywords at most once a second during a long call, so that it
        can show where it is (``solve(verbose=True)`` does): ``done``, ``total``, ``best`` between
        chunks of a vertex enumeration (vertices walked, vertices of the whole arrangement, the
        best value so far), ``nodes``, ``open``, ``bound``, ``best`` in the branch and bound (the
        bound valid at that moment); values in the units of ``Θ``.  It must not raise.

    Returns
    -------
    GroupPrice
        ``value`` = best m found (true value of ``C[0]``); ``exact`` is True only when a method
        proved it; ``bound`` ≥ m always (``== max(value, floor)`` when exact).

    Notes
    -----
    Paths (after dropping columns with ``b_i = 0`` or ``θ_i = 0`` and reducing ``B`` to its row
    rank ρ, which changes nothing), see :func:`oracle_path`:

    * ρ ≤ 2: rays and arcs, all evaluated; ρ = 3: the arrangement's great circles, ``O(N²)`` faces;
    * ρ ≥ 4, ``3^N ≤ 2·10⁶``: all sign patterns in ``{−, 0, +}^N``;
    * ρ ≥ 4, else: the anytime branch and bound (:mod:`covcone.oracle.bnb`; half of
      ``time_limit`` when the enumeration may follow, else all of it) — exact when its tree
      closes; if it does not and the vertices of the arrangement (:mod:`covcone.oracle.vertices`)
      are within ``max_faces``, their enumeration with the time left (exact).  Otherwise, or when
      the enumeration overruns its budget or ``time_limit`` (``method`` and ``stats["budget"]`` say
      so), ``exact`` is False and ``bound`` holds the branch-and-bound bound.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> res = max_group_norm(np.array([[1.0], [1.0]]), B, "relu")   # c = (1, 1)/√2
    >>> round(res.value, 6), res.exact, res.bound == res.value
    (1.414214, True, True)
    """
    t_start = time.perf_counter()
    act = require_homogeneous(activation)
    B = _check_basis(B)
    Th = _check_theta(Theta, B.shape[1])
    n_best = _positive_int(n_best, "n_best")
    n_starts = _positive_int(n_starts, "n_starts", minimum=0)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact: expected a bool, got {exact!r}")
    if not isinstance(local, (bool, np.bool_)):
        raise ValueError(f"local: expected a bool, got {local!r}")
    if time_limit is not None and not (np.isscalar(time_limit) and float(time_limit) > 0):
        raise ValueError(f"time_limit: expected a positive number of seconds or None, got {time_limit!r}")
    if max_faces is not None and not (np.isscalar(max_faces) and float(max_faces) >= 0):
        raise ValueError(f"max_faces: expected a nonnegative number or None, got {max_faces!r}")
    if max_nodes is not None:
        max_nodes = _positive_int(max_nodes, "max_nodes")
    if not (np.isscalar(floor) and np.isfinite(floor) and float(floor) >= 0):
        raise ValueError(f"floor: expected a finite number ≥ 0, got {floor!r}")
    floor = float(floor)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress: expected a callable or None, got {progress!r}")
    if stop_above is not None and not (np.isscalar(stop_above) and np.isfinite(stop_above) and stop_above >= 0):
        raise ValueError(f"stop_above: expected a finite number ≥ 0 or None, got {stop_above!r}")
    rng = _rng(rng)
    a, b = float(act.a), float(act.b)
    r, N = B.shape
    if starts is not None:
        starts = _matrix(starts, "starts", (1, 2))
        starts = np.atleast_2d(starts)
        if starts.shape[1] != r:
            raise ValueError(f"starts: expected shape (s, r) with r = {r} rows of B, got {starts.shape}")

    # columns that cannot matter: b_i = 0 (z_i ≡ 0) or θ_i = 0
    keep = (np.linalg.norm(B, axis=0) > 0) & (np.linalg.norm(Th, axis=1) > 0)
    Bk, Tk = B[:, keep], Th[keep]
    scale2 = (max(abs(a), abs(b)) * float(np.sum(np.linalg.norm(Bk, axis=0) * np.linalg.norm(Tk, axis=1)))) ** 2
    if Bk.shape[1] == 0 or (a == 0 and b == 0):
        C = np.eye(r)[:1]
        return GroupPrice(0.0, C, np.zeros(1), bool(exact), "trivial (Θᵀσ(Bᵀc) ≡ 0)", 0, 0, 0.0,
                          {"path": "trivial"})
    Ured, Bk = _reduce_rank(Bk)
    rho, Nk = Bk.shape
    if starts is not None and Ured is not None:
        starts = starts @ Ured
    pool = _Pool(Tk, Bk, a, b, n_best, floor=floor)
    method = _method
    planes = None
    if method is None:
        if not exact:
            method = "heuristic"
        elif rho <= 2:
            method = "arrangement r<=2"
        elif rho == 3:
            method = "arrangement r=3"
        elif _sign_patterns_affordable(rho, Nk):
            method = "sign patterns 3^N"
        else:
            method = "auto rank>=4"
    n_faces = 0
    bound = None
    stats = {}
    if method == "heuristic":
        _heuristic_group(Tk, Bk, a, b, pool, rng, n_starts, starts, data_starts=rho >= 4)
        if local and rho >= 4:
            planes = Planes(Tk, Bk, a, b)
            stats["local"] = _local_search(planes, pool, scale2, starts)
        is_exact = False
        if exact:
            method = f"heuristic (exact enumeration not affordable: rank {rho}, N = {Nk})"
    elif method == "arrangement r<=2":
        n_faces = _exact_low_group(Tk, Bk, a, b, pool)
        is_exact = True
    elif method in ("arrangement r=3", "sign patterns 3^N"):
        if Nk > SEED_HEURISTIC_MIN_N or method != "arrangement r=3":
            # a few local ascents seed the pool's threshold (pruning); below the size, the walk is
            # cheaper than the seeding (N = 50: 2.0 → 1.6 ms a call)
            _heuristic_group(Tk, Bk, a, b, pool, rng, min(n_starts, 8), starts, data_starts=False)
        if method == "arrangement r=3":
            n_faces = _exact_r3_group(Tk, Bk, a, b, pool, scale2)
        else:
            n_faces = _exact_3n_group(Tk, Bk, a, b, pool, scale2, client=client)
        is_exact = True
    elif method in ("vertices", "branch and bound", "auto rank>=4"):
        if rho < 3:
            raise ValueError(f"_method={method!r} needs rank(B) ≥ 3")
        planes = Planes(Tk, Bk, a, b) if planes is None else planes
        _heuristic_group(Tk, Bk, a, b, pool, rng, n_starts, starts)
        loc = _local_search(planes, pool, scale2, starts) if local else None
        method, is_exact, bound, n_faces, stats = _rank4_paths(
            method, planes, pool, scale2, rho, spectral_group_bound(Th, B, a, b), time_limit, max_faces, max_nodes,
            t_start, client, stop_above, _start_head, progress)
        if loc is not None:
            stats["local"] = loc
    elif method == "naive":  # reference enumeration (benchmarks, tests)
        if rho > 3:
            raise ValueError("_method='naive' needs rank(B) ≤ 3")
        n_faces = _naive_r3_group(Tk, Bk, a, b, pool)
        is_exact = True
    else:
        raise ValueError(f"_method: unknown {method!r}")

    if pool.C.shape[0] == 0:  # everything pruned at the floor: any feasible point
        pool.add(np.vstack([np.eye(rho), -np.eye(rho)]))
    C = pool.C if Ured is None else pool.C @ Ured.T
    C = _unit_rows(C)
    values = _norms(Th, B, a, b, C)  # re-evaluated on the original data
    order = np.argsort(-values, kind="stable")
    C, values = C[order], values[order]
    value = float(values[0])
    if is_exact:
        bound = max(value, floor) if bound is None else max(value, bound)
    elif bound is None:
        bound = spectral_group_bound(Th, B, a, b)  # (only where no method proved a bound: it costs five norms)
    bound = max(float(bound), value)
    stats.setdefault("path", method)
    if floor > 0:
        stats["floor"] = floor
    stats["time"] = time.perf_counter() - t_start
    return GroupPrice(value, C, values, bool(is_exact), method, int(n_faces), int(pool.n_evaluated), bound, stats)
