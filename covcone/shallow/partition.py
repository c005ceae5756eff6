r"""A lower bound from a partition of the samples: the lifted dual program on groups small enough
to solve (docs/design.md §4.1).

Why.  The lifted dual program (:mod:`.lifted_dual`) has a matrix of size ``r + N + k``: it runs
up to N ≈ 120 in minutes; beyond that, or when a time limit leaves no room for it, the only
bound left at high input rank was the spectral one (a gap of 0.76 on a 10-feature regression
with N = 200).

The rule.  Split the N samples into groups ``G_1, …, G_M``.  For every network f, with the loss
averaged over the samples (MSE, cross-entropy),

    F(f) = (1/N) Σ_i ℓ_i(f) + λ R(f) = Σ_g (|G_g|/N) · F_g(f),

where ``F_g`` is the same objective on the samples of ``G_g`` alone with the weight decay
``λ_g = λN / (M|G_g|)`` (the decay split evenly over the groups; ``λ_g = λ`` for equal groups).
Hence the optimum satisfies ``P ≥ Σ_g (|G_g|/N) P_g ≥ Σ_g (|G_g|/N) L_g`` for valid lower bounds
``L_g`` of the groups' problems — and, every ``F_g`` being ≥ 0, a group without a bound may
count as 0 (the bound is anytime: it grows with each group solved).  Each ``L_g`` is the group's
own certified bound (the lifted dual point with its float64-checked certificate, or the spectral
bound), so nothing here is trusted that the full problem's bounds do not already trust.

The price is the partition itself: fewer samples are easier to fit, so ``P_g`` is below what the
group's share of P would be (a 10-feature regression, N = 100: 0.093 from two groups of 50 in
33 s, 0.137 from the whole program in ≈ 200 s, against a network at 0.264).  Not for
``cost="interpolate"`` (there ``R ≥ max_g R_g``, which the full problem's bounds already beat).
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = [
    "MIN_GROUP",
    "group_problem",
    "group_resources",
    "partition_bound",
    "partition_groups",
    "partition_size",
]

#: Smallest group: below it the groups fit their few samples too easily for the bound to matter.
MIN_GROUP = 20


def partition_groups(N: int, size: int, rng) -> list[np.ndarray]:
    """``ceil(N / size)`` groups of near-equal sizes (≤ ``size``), drawn at random: a random group
    is as hard to fit, per sample, as the whole data; a cluster would be easier."""
    M = max(1, math.ceil(N / max(int(size), 1)))
    perm = np.random.default_rng(rng).permutation(N)
    return [np.sort(perm[g::M]) for g in range(M)]


def group_problem(problem, idx: np.ndarray, M: int):
    """The problem ``F_g`` of the module docstring: the samples ``idx``, weight decay
    ``λ N / (M |G_g|)``, everything else as in ``problem``."""
    from ..problem import Problem

    lam = problem.lam * problem.N / (M * len(idx))
    kw = {"n_classes": problem.k} if problem.cost == "cross_entropy" else {}
    return Problem(problem.X[idx], problem.Y[idx], activation=problem.activation, lam=lam, beta=problem.beta,
                   cost=problem.cost, **kw)


def group_resources(size: int, r: int, k: int) -> tuple[float, float]:
    """Memory (bytes) and seconds of one group's program (a group's input rank is at most its size)."""
    from .lifted_dual import lifted_dual_resources

    return lifted_dual_resources(size, min(r, size), k)


def partition_size(N: int, r: int, k: int, budget: float, max_size: int) -> int | None:
    """The largest group size (``MIN_GROUP`` … ``max_size``) whose groups all fit in ``budget``
    seconds by :func:`group_resources`; None when none does (a bound from a few groups, the others
    counted by their spectral bounds, is weaker than the whole problem's spectral bound), when
    ``max_size < MIN_GROUP`` or when N is too small to split."""
    if max_size < MIN_GROUP or N < 2 * MIN_GROUP:
        return None
    best = None
    for size in range(MIN_GROUP, min(max_size, N // 2) + 1):
        M = math.ceil(N / size)
        if M * group_resources(math.ceil(N / M), r, k)[1] <= budget:
            best = size
    return best


def partition_bound(problem, size: int, *, rng=None, solver: str = "CLARABEL", deadline: float | None = None,
                    verbose: bool = False) -> tuple[float, dict]:
    r"""The bound of the module docstring, in the user's units, with groups of at most ``size``.

    Groups are solved in turn until ``deadline`` (``time.perf_counter()`` seconds) leaves less
    than a group's expected time; each group's bound is the larger of its lifted dual point's
    (checked in float64) and its spectral bound; groups not reached count by their spectral
    bound.  Returns ``(bound, info)``: ``info`` has ``groups``, ``solved`` (groups whose lifted
    program ran), ``size``, ``failures`` (solver messages) and ``seconds``.
    """
    from ..exceptions import SolverError
    from ..options import check_positive_int
    from .bounds import linear_dual_bound
    from .lifted_dual import lifted_bound
    from .setup import GroupLassoSetup

    if problem.cost == "interpolate":
        raise ValueError("cost: the partition bound needs a loss averaged over the samples, not 'interpolate'")
    size = check_positive_int(size, "size")
    t0 = time.perf_counter()
    groups = partition_groups(problem.N, size, rng)
    M = len(groups)
    total, solved, failures = 0.0, 0, []
    for g, idx in enumerate(groups):
        s = GroupLassoSetup(group_problem(problem, idx, M))
        spec = linear_dual_bound(s)
        best = max(s.to_user(spec), 0.0) if np.isfinite(spec) else 0.0
        seconds = group_resources(len(idx), s.r, s.k)[1]
        left = None if deadline is None else deadline - time.perf_counter()
        if left is None or seconds <= left:
            if verbose:
                print(f"covcone depth-2: partition bound, group {g + 1}/{M} ({len(idx)} samples, "
                      f"≈ {seconds:.0f} s expected)", flush=True)
            try:
                lb, _ = lifted_bound(s, solver=solver, time_limit=left)
                if np.isfinite(lb):
                    best = max(best, s.to_user(lb))
                solved += 1
            except (ImportError, SolverError, ValueError, MemoryError) as exc:
                failures.append(f"group {g + 1}: {str(exc).splitlines()[0][:120]}")
        total += len(idx) / problem.N * best
    return total, {"groups": M, "solved": solved, "size": int(max(map(len, groups))), "failures": failures,
                   "seconds": time.perf_counter() - t0}
