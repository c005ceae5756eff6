r"""The depth-2 solver: column generation on the group lasso with an exact (or anytime) oracle.

docs/design.md §3.4 (paper §2 and Prop. 5: depth 2 is jointly convex over
(K_1, K_1^σ, Z_2)).  Balancing each hidden neuron's input and output norms turns
λ(‖W_1‖² + ‖W_2‖²) into 2λ Σ_j ‖v_j‖ with unit input weights, so with ``s(c) = σ(Bᵀc)``

    P = min C(Σ_j s(c_j) v_jᵀ + β 1 c_0ᵀ) + 2λ Σ_j ‖v_j‖ + λ‖c_0‖²,      ‖c_j‖ = 1,

the covariance-cone program written over generators.  :func:`solve_shallow` reads as its phases:
setup (:mod:`.setup`, internal units) → loop of (master :mod:`.master`, pricing :mod:`.pricing`,
bound :mod:`.bounds`) → recovery (:mod:`.recovery`) → result (:func:`covcone.result.build_result`).
The upper bound is always the forward-pass loss of the returned network; the lower bound is weak
duality evaluated by covcone in float64 with a proven bound on the pricing value.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..backends import choose_solver, single_blas_thread
from ..exceptions import InaccurateSolutionWarning, SolverError
from ..options import ShallowOptions
from ..progress import progress
from ..result import LowerBound, build_result, is_certified
from .bounds import internal_bound, linear_dual_bound
from .master import check_solver_opts, master_options, solve_master
from .patterns import pattern_columns
from .pricing import Pricing
from .recovery import recover
from .setup import GroupLassoSetup, distinct_from

__all__ = ["solve_shallow"]

#: Seconds the anytime oracle may take per call when neither ``oracle_time`` nor ``time_limit`` is given.
DEFAULT_ANYTIME_SECONDS = 10.0


class _Run:
    """The mutable state of one solve: columns, best network, best lower bound, history."""

    def __init__(self, setup, opts, *, method, rtol, atol, solver, solver_opts, time_limit, rng, verbose,
                 oracle, linear_bounds):
        from ..oracle import exact_affordable

        self.t_start = time.perf_counter()
        self.setup, self.opts, self.method = setup, opts, method
        self.rtol, self.atol, self.time_limit, self.verbose = rtol, atol, time_limit, verbose
        self.solver = choose_solver(solver)
        check_solver_opts(self.solver, solver_opts)
        self.solver_opts = master_options(self.solver, solver_opts, rtol, setup.cost)
        self.user_opts = dict(solver_opts or {})
        # the active-set MSE master (shallow/master.py) unless the user chose or tuned another solver
        self.active_set = self.solver == "CLARABEL" and not self.user_opts
        self.tightened = None  # the round in which the master was asked for its limit (_tighten_master)
        self.rng = rng
        self.exact = method in ("auto", "generators") and oracle is None and exact_affordable(setup.r, setup.N)
        self.pricing = Pricing(setup, exact_affordable=self.exact, n_add=opts.n_add, rng=rng, client=opts.client,
                               oracle=oracle)
        self.allow_anytime = method in ("auto", "generators") and oracle is None
        self.low_rank_exact = self.exact and setup.r <= 3  # exact pricing is cheap: no pattern step, no starts
        self.threshold = 2.0 * setup.lam_v
        self.timings = {"master": 0.0, "oracle": 0.0, "recovery": 0.0}
        self.history = []
        self.lower, self.lower_from = float("-inf"), LowerBound.NONE  # internal units
        self.best = None  # (upper_user, C, V, c0)
        self.solver_status = "optimal"
        self.notes = []
        self.oracle_info = {}
        # seconds kept from the loop for the lifted dual program (run after it, when no exact oracle)
        self.reserved = 0.0
        if self.lifted_planned() and time_limit is not None:
            self.reserved = self._lifted_reserve(time_limit)
        if linear_bounds:
            self.offer_lower(linear_dual_bound(setup), LowerBound.SPECTRAL)

    # -- helpers ---------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def time_left(self):
        """Seconds left for the phase running now (the loop's time excludes ``reserved``)."""
        return None if self.time_limit is None else self.time_limit - self.reserved - self.elapsed()

    def out_of_time(self) -> bool:
        return self.time_limit is not None and self.time_left() < 0

    def offer_lower(self, value: float, source: LowerBound):
        if np.isfinite(value) and value > self.lower:
            self.lower, self.lower_from = float(value), source

    def lifted_planned(self) -> bool:
        """True when the lifted dual program is to run after the loop (no exact oracle): on the
        whole problem (N ≤ ``lifted_max_n``) or on groups of samples (:mod:`.partition`)."""
        return not self.exact and (self.method == "lifted" or (self.method != "heuristic"
                                                                and self.opts.lifted_max_n > 0))

    def whole_lifted(self) -> bool:
        """True when the lifted dual program may run on the whole problem."""
        return self.setup.N <= self.opts.lifted_max_n or self.method == "lifted"

    def _lifted_reserve(self, limit: float) -> float:
        """Seconds kept from the loop: 1.25× the whole program's expected time when that is at most
        half the limit; else 40 % of the limit when groups of samples fit in it; else none."""
        from .lifted_dual import lifted_dual_resources
        from .partition import partition_size

        s = self.setup
        if self.whole_lifted():
            need = 1.25 * lifted_dual_resources(s.N, s.r, s.k)[1]
            if need <= 0.5 * limit:
                return need
        if s.cost != "interpolate" and partition_size(s.N, s.r, s.k, 0.4 * limit / 1.25,
                                                      self.opts.lifted_max_n) is not None:
            return 0.4 * limit
        return 0.0

    def lower_user(self) -> float:
        return self.setup.to_user(self.lower) if np.isfinite(self.lower) else self.lower

    def anytime_budget(self) -> float:
        """Seconds an anytime (branch-and-bound) pricing call may take; 0 for ``method="heuristic"``,
        which never runs it (``"lifted"`` does: its bound joins the SDP's; a custom oracle is
        never asked for one)."""
        if self.method == "heuristic":
            return 0.0
        if self.opts.oracle_time is not None:
            return self.opts.oracle_time
        left = self.time_left()
        return DEFAULT_ANYTIME_SECONDS if left is None else max(0.0, left)

    def bound_from(self, Theta, step):
        """Lower bound (internal units) from this round's dual direction and proven pricing bound."""
        lb, _ = internal_bound(self.setup, Theta, step.bound)
        if step.exact:
            source = LowerBound.EXACT_ORACLE
        elif step.stats.get("nodes"):  # a branch-and-bound (or partial enumeration) bound
            source = LowerBound.ORACLE_BOUND
        else:
            source = LowerBound.SPECTRAL
        self.offer_lower(lb, source)


def _vertex_columns(setup, rng, n: int) -> np.ndarray:
    r"""``±`` unit directions orthogonal to ``r − 1`` random data columns of ``B̃``: vertices of the
    arrangement, whose features have kinks at data points — also where the data are tiny against
    the bias row (there random directions give nearly linear features)."""
    r, N = setup.r, setup.N
    if r < 2 or N < r - 1:
        return np.zeros((0, r))
    out = []
    for _ in range(n):
        idx = rng.choice(N, size=r - 1, replace=False)
        _, sv, Vt = np.linalg.svd(setup.Bs[:, idx].T, full_matrices=True)
        if np.sum(sv > 1e-12 * max(sv[0], 1e-300)) == r - 1:
            out.append(Vt[-1])
    if not out:
        return np.zeros((0, r))
    V = np.array(out)
    return np.vstack([V, -V])


def _initial_columns(setup, rng, n_random: int, init_columns) -> np.ndarray:
    r = setup.r
    C = rng.standard_normal((n_random, r))
    C = np.vstack([np.eye(r), -np.eye(r), C])
    C = C / np.linalg.norm(C, axis=1, keepdims=True)
    C = np.vstack([C, _vertex_columns(setup, rng, n_random)])
    return C if init_columns is None else np.vstack([init_columns, C])


def _gradient_columns(run: _Run, problem) -> np.ndarray:
    """Neurons of networks trained by Adam + L-BFGS (a start at input rank ≥ 4, where exact pricing
    is expensive and the heuristic's starting points decide the network side)."""
    from ..gradient import gradient_network
    from .setup import columns_from_network

    opts, s = run.opts, run.setup
    n = opts.gradient_starts
    if n is None:
        n = 0 if (run.low_rank_exact or not run.allow_anytime or s.cost == "interpolate") else 2
    cols = []
    for _ in range(n):
        if run.out_of_time():
            break
        left = run.time_left()
        deadline = None if left is None else time.perf_counter() + 0.25 * left
        with np.errstate(all="ignore"):
            net = gradient_network(problem, run.rng, width=opts.gradient_width, deadline=deadline)
        cols.append(columns_from_network(s.X, net))
    return np.vstack(cols) if cols else np.zeros((0, s.r))


def _make_feasible(run: _Run, C):
    """Interpolation needs Ỹ in the span of the columns: add residual-correlated neurons.  The
    test is relative to ‖Ỹ‖ (free of units)."""
    s = run.setup
    ny = np.linalg.norm(s.Ys)
    for _ in range(4 * s.N + 10):
        S = s.columns(C)
        if s.has_bias:
            S = np.hstack([S, np.ones((s.N, 1))])
        coef, *_ = np.linalg.lstsq(S, s.Ys, rcond=None)
        R = s.Ys - S @ coef
        if np.linalg.norm(R) <= 1e-9 * ny:
            return C
        step = run.pricing.price(R, exact=run.exact, n_best=5)
        C = np.vstack([C, step.C, _vertex_columns(s, run.rng, 2 * s.r)])
    raise ValueError(
        "Y: cannot be interpolated by a depth-2 network on these inputs (Y is not in the span of "
        "the reachable hidden features); use cost='mse'"
    )


_TINY_LOSS = 1e-7  # an MSE loss below this fraction of mean(Y²): near interpolation (a note on the result)


def _zero_start(run: _Run, C):
    """Price the best network without hidden neurons first (MSE): if no neuron prices out and the
    bound is proven, it is the optimum — e.g. for a very large λ, where a master would be
    ill-conditioned.  Returns (C, done)."""
    s = run.setup
    c0 = s.bias_only()
    if c0 is None:
        return C, False
    Theta = 2.0 / s.N * (s.Ys - c0[None, :])
    step = run.pricing.round(Theta, 3, threshold=run.threshold, time_left=run.time_left(),
                             anytime_budget=run.anytime_budget())
    run.bound_from(Theta, step)
    net = s.network(np.zeros((0, s.r)), np.zeros((0, s.k)), c0)
    run.best = (s.loss(net), np.zeros((0, s.r)), np.zeros((0, s.k)), c0)
    new = step.C[step.values > run.threshold * (1 + 1e-12)]
    return np.vstack([C, new]), new.shape[0] == 0 and step.bound <= run.threshold


def _master_step(run: _Run, C, warm=None):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        S = run.setup.columns(C)
        scale = None if run.best is None else run.setup.to_internal(run.best[0])
        opts = run.solver_opts
        left = run.time_left()
        if left is not None and run.solver == "CLARABEL" and "time_limit" not in run.user_opts:
            # a master is one interior-point solve: it stops at the time limit too (status
            # "optimal_inaccurate"; its network is checked by the forward pass, its Θ̃ bound by the oracle)
            opts = {**opts, "time_limit": max(left, 1.0)}
        V, c0, Theta, status = solve_master(run.setup, S, run.solver, opts, warm=warm, objective_scale=scale,
                                            active_set=run.active_set)
    if status != "optimal":
        run.solver_status = status
    run.timings["master"] += time.perf_counter() - t0
    net = run.setup.network(C, V, c0)
    upper = run.setup.loss(net)
    if run.best is None or upper < run.best[0]:
        run.best = (upper, C, V, c0)
    return S, V, c0, Theta, upper


def proof_floor(run: _Run, Theta) -> float:
    r"""The largest pricing bound ``m̄ ≥ 2λ̃`` whose dual bound still certifies the best network
    with half the certificate's room to spare (docs/design.md §3.4): an exact oracle call only
    has to prove ``m ≤ m̄``, so it prunes every face or region whose bound is at most ``m̄``.  The
    dual bound ``max_{t ≤ 2λ̃/m̄} D(tΘ̃)`` is flat in ``m̄`` while its unconstrained maximiser is
    feasible and falls continuously after, so ``m̄`` is found by bisection.  ``2λ̃`` (no relief)
    while the dual point is not yet good enough.  Used where exact pricing is expensive (input
    rank ≥ 4: vertex enumeration, branch and bound); at rank ≤ 3 the exact walk is cheap and
    proving the maximum itself reports a tighter lower bound."""
    thr = run.threshold
    if run.best is None or not np.isfinite(run.best[0]):
        return thr
    s = run.setup
    target = run.best[0] - 0.5 * (run.rtol * abs(run.best[0]) + run.atol)

    def good(m_bar):
        lb, _ = internal_bound(s, Theta, m_bar)
        return np.isfinite(lb) and s.to_user(lb) >= target

    if not good(thr):
        return thr
    lo, hi = thr, thr * (1 + 1e-6)
    while good(hi):  # grow the relative excess until the bound no longer certifies
        lo, hi = hi, thr + 2.0 * (hi - thr)
        if hi > 2.0 * thr:
            return lo
    while hi - lo > 0.01 * (lo - thr) and hi - lo > 1e-15 * thr:  # m̄ to 1 % of its excess over 2λ̃
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if good(mid) else (lo, mid)
    return lo


def _tighten_master(run: _Run, it: int) -> bool:
    """Once per solve, when the loop would stop on the master's accuracy: ask the master for the
    interior point's limit instead (Clarabel gaps and feasibility 1e-10, where the MSE master is
    finished by Newton steps on its support), unless the user set those tolerances.  Returns
    whether anything changed (then the loop goes on)."""
    if run.tightened is not None or run.solver != "CLARABEL":
        return False
    opts = master_options(run.solver, run.user_opts, run.rtol, run.setup.cost, accuracy=1e-10)
    changed = opts != run.solver_opts
    run.tightened = it
    if changed:
        run.solver_opts = opts
        run.notes.append(f"master tolerances tightened to 1e-10 in round {it + 1} (its accuracy limited the pricing)")
    return changed


def _time_limit_reason(run: _Run) -> str:
    kept = f", {run.reserved:.0f} s of it kept for the lifted dual program" if run.reserved > 0 else ""
    return f"time limit of {run.time_limit:g} s reached{kept}"


def _loop(run: _Run, C, bar) -> str:
    """Rounds of (master, pricing, bound) until the bounds meet, nothing prices out, or a limit."""
    s, opts = run.setup, run.opts
    idle = np.zeros(C.shape[0], dtype=int)  # consecutive rounds each column had zero weight
    polishes = 0
    warm = None  # the previous master's weights on the columns kept (the cross-entropy master uses them)
    copies = 0  # consecutive exact rounds in which no new neuron priced above a column the master has
    pattern_from, pattern_idle = None, 0  # the pattern step stops after two steps that did not lower the upper bound
    for it in range(opts.max_rounds):
        if run.out_of_time():
            return _time_limit_reason(run)
        try:
            S, V, c0, Theta, upper = _master_step(run, C, warm)
        except SolverError as exc:
            if run.best is None or it == 0:
                raise
            # a later master failed (extreme data): the best network and the bound proven so far stand
            run.solver_status = "failed"
            return f"the master solver failed in round {it + 1} ({str(exc).splitlines()[0][:160]})"
        t0 = time.perf_counter()
        act = np.linalg.norm(V, axis=1) > 0
        step = run.pricing.round(Theta, it, threshold=run.threshold, time_left=run.time_left(),
                                 anytime_budget=run.anytime_budget(), starts=C[act][:64] if np.any(act) else None,
                                 floor=None if run.low_rank_exact else proof_floor(run, Theta))
        run.timings["oracle"] += time.perf_counter() - t0
        run.bound_from(Theta, step)
        run.oracle_info = {"method": step.method, "exact": step.exact, **step.stats}
        lower_user = run.lower_user()
        gap = (run.best[0] - lower_user) / abs(run.best[0]) if run.best[0] else 0.0
        norms = np.linalg.norm(V, axis=1)
        active = int(np.sum(norms > 1e-9 * max(1e-300, norms.max(initial=0.0))))
        run.history.append({"round": it, "upper": upper, "lower": lower_user, "gap": gap,
                            "oracle": step.value * s.sB * s.sY, "oracle_bound": step.bound * s.sB * s.sY,
                            "threshold": 2.0 * s.lam, "columns": int(C.shape[0]),
                            "active": active, "master_status": run.solver_status, "time": run.elapsed()})
        bar(gap=f"{gap:.1e}", neurons=active)
        if is_certified(run.best[0], lower_user, run.lower_from, run.rtol, run.atol):
            return f"bounds met after {it + 1} rounds"
        if it >= STALL_ROUNDS and (run.tightened is None or it - run.tightened >= STALL_ROUNDS):
            then = run.history[: it - STALL_ROUNDS + 1]
            room = 0.1 * run.rtol * abs(run.best[0])
            if (min(h["upper"] for h in then) - run.best[0] <= room
                    and lower_user - max(h["lower"] for h in then) <= room and not _tighten_master(run, it)):
                return (f"no progress in {STALL_ROUNDS} rounds (neither bound moved by 0.1·rtol; the master's "
                        "accuracy limits the pricing on these data)")
        new = step.C[step.values > run.threshold * (1 + 1e-12)]
        proven = step.exact or step.bound <= run.threshold
        stalled = new.shape[0] == 0 and not proven and polishes < 3
        if pattern_from is not None:  # did the last pattern step pay? (relative gain in the upper bound)
            gain = (pattern_from - run.best[0]) / max(abs(run.best[0]), 1e-300)
            pattern_idle = 0 if gain > 0.1 * run.rtol else pattern_idle + 1
            pattern_from = None
        # input rank ≥ 4: the neurons re-optimised inside their activation cones (a convex program)
        # shorten the column-generation tail of an exact oracle, and move a stalled one.  At low
        # rank the tail is short, except near a tolerance of 1e-8 or less: there the new neurons
        # are near-copies of columns (the optimal neuron of a cell is reached only in the limit,
        # the gap falling ≈ 4× a round) and the same step jumps to it.
        tail = (run.low_rank_exact and run.rtol <= 1e-8 and new.shape[0] > 0
                and not np.any(distinct_from(new, C, cos=1.0 - 1e-6)))
        # A long vertex enumeration that stopped at its first value above 2λ̃ is a round of the same
        # tail (its column beats 2λ̃ by a hair): the same step applies.
        early = "stopped_at_head" in step.stats
        if ((stalled or (new.shape[0] > 0 and (step.exact or early))) and (tail or not run.low_rank_exact)
                and not run.out_of_time() and pattern_idle < 2):
            t1 = time.perf_counter()
            new = np.vstack([new, pattern_columns(s, C, V, solver=run.solver, old=C, time_limit=run.time_left())])
            pattern_from = run.best[0]
            run.timings["patterns"] = run.timings.get("patterns", 0.0) + time.perf_counter() - t1
        if stalled and not run.out_of_time():
            # no oracle proof: move the input weights too (a joint L-BFGS polish in parameter space),
            # then give the polished neurons to the master as columns
            polishes += 1
            new = np.vstack([new, _polished_columns(run, C, V)])
        if new.shape[0] > 0 and step.exact:
            # a column the master already has prices as high as the best new neuron: the master's
            # optimality conditions fail at that level (its accuracy, not the columns, limits the
            # bound).  A near-copy that prices higher is progress (the optimal neuron is approached
            # in the limit), so this compares values, not directions.
            have = float(np.max(np.linalg.norm(S.T @ Theta, axis=1), initial=0.0))
            copies = copies + 1 if float(np.max(step.values)) <= have * (1 + 1e-12) else 0
            if copies >= 3 and _tighten_master(run, it):
                copies = 0
            if copies >= 3:
                # three rounds in a row: the master's dual point is not accurate enough to go on
                # (extreme data); copies only grow the master
                return ("the master's accuracy limits the pricing: no new neuron prices above a column "
                        "the master already has")
        if new.shape[0] == 0:
            unproven = f"the {step.method} oracle, which proves only the bound m̄ = {step.bound:.3g}"
            if not proven and run.out_of_time():
                # the time limit, not the data, left the pricing unproven: say so first
                return f"{_time_limit_reason(run)}; no neuron prices out by {unproven}"
            return "no neuron prices out (oracle value ≤ 2λ)" + ("" if proven else f" by {unproven}")
        # fully corrective: keep the support and the new candidates.  A column idle (weight ≤ 1e-6·max;
        # interior-point zeros are ≈ 1e-9) for 3 rounds in a row is dropped: dropping at once makes
        # degenerate duals cycle (add, zero weight, drop, add again).
        idle = np.where(norms > 1e-6 * max(norms.max(initial=0.0), 1e-300), 0, idle + 1)
        keep = idle < 3
        cap = max(MAX_COLUMNS, 2 * s.N * s.k)
        if np.sum(keep) + new.shape[0] > cap and np.sum(keep) > cap // 2:
            # a degenerate master (interior-point weights spread over near-copies) must not grow
            # without end: keep its heaviest columns (the bounds never depend on which are kept)
            heavy = np.argsort(-np.where(keep, norms, -1.0), kind="stable")[: max(cap // 2, cap - new.shape[0])]
            keep = np.zeros_like(keep)
            keep[heavy] = True
        C = np.vstack([C[keep], new])
        warm = (V[keep], c0)
        idle = np.concatenate([idle[keep], np.zeros(new.shape[0], dtype=int)])
    return f"reached the iteration limit ({opts.max_rounds} rounds)"


STALL_ROUNDS = 25  # rounds without progress of either bound before the loop stops
MAX_COLUMNS = 1000  # columns of a master before its lightest are dropped (see _loop)


def _polished_columns(run: _Run, C, V) -> np.ndarray:
    """Columns of the best network after a joint L-BFGS polish, when that lowers its loss."""
    from ..gradient import polish
    from .setup import columns_from_network

    s = run.setup
    if s.cost == "interpolate":
        return np.zeros((0, s.r))
    upper, Cb, Vb, c0b = run.best
    net = s.network(Cb, Vb, c0b)
    left = run.time_left()
    deadline = None if left is None else time.perf_counter() + 0.5 * left
    with np.errstate(all="ignore"):
        cand = polish(s.problem, net, maxiter=1000, deadline=deadline)
    if not s.loss(cand) < upper * (1 - 0.1 * run.rtol):
        return np.zeros((0, s.r))
    return columns_from_network(s.X, cand)


def _lifted_bound(run: _Run) -> None:
    """The lifted relaxation's bound after the loop: its dual program on the whole problem when it
    is allowed and fits the time left (:func:`_whole_lifted_bound`), else — or when it fails — on
    random groups of samples (:func:`_partition_lifted_bound`).  Every skip leaves a note."""
    from .lifted_dual import lifted_dual_resources

    s = run.setup
    left = run.time_left()
    skipped_for_time = False
    if run.whole_lifted():
        seconds = lifted_dual_resources(s.N, s.r, s.k)[1]
        if left is None or seconds <= left:
            if _whole_lifted_bound(run, seconds, left):
                return
            why = "the whole program failed"
        else:
            why = f"≈ {seconds:.0f} s expected at N = {s.N}, {max(left, 0.0):.0f} s left"
            skipped_for_time = True
    else:
        why = f"N = {s.N} > lifted_max_n = {run.opts.lifted_max_n}"
    _partition_lifted_bound(run, why, whole_next=skipped_for_time)


def _whole_lifted_bound(run: _Run, seconds: float, left) -> bool:
    """The lifted dual point of the whole problem with its pricing certificate (:mod:`.lifted_dual`):
    the bound is ``max_t D(tΘ̂)`` with the float64 ``m̄`` of the certificate (the program's own value
    is never used).  False (with a note) when the program gave no point."""
    from .lifted_dual import lifted_bound

    s = run.setup
    if run.verbose:  # the solver's iterations are the progress output of this phase
        print(f"covcone depth-2: lifted dual program, N = {s.N}, rank {s.r} (≈ {seconds:.0f} s expected)", flush=True)
    t0 = time.perf_counter()
    try:
        lb, status = lifted_bound(s, solver=run.solver, verbose=run.verbose, time_limit=left)
    except (ImportError, SolverError, ValueError, MemoryError) as exc:
        run.notes.append(f"lifted SDP unavailable ({str(exc).splitlines()[0][:160]})")
        return False
    finally:
        run.timings["lifted"] = run.timings.get("lifted", 0.0) + time.perf_counter() - t0
    if status != "optimal":
        run.notes.append(f"lifted SDP: solver status {status[:200]} (its point is checked in float64)")
    run.offer_lower(lb, LowerBound.LIFTED_SDP)
    return True


def _partition_lifted_bound(run: _Run, why: str, whole_next: bool = False) -> None:
    """The lifted dual program on random groups of samples, combined (:mod:`.partition`); ``why``
    says why the whole program did not give the bound.  Without a time limit the phase may take
    what the whole program would at ``lifted_max_n`` samples (at least a minute).  The groups'
    measured times correct the estimates: larger groups follow when they fit in what is left,
    and with ``whole_next`` (it was skipped for time only) the whole program when it fits."""
    from .lifted_dual import lifted_dual_resources
    from .partition import MIN_GROUP, group_resources, partition_bound, partition_size

    s = run.setup
    if s.cost == "interpolate" or s.N < 2 * MIN_GROUP or run.opts.lifted_max_n < MIN_GROUP:
        run.notes.append(f"lifted SDP skipped: {why}")
        return
    left = run.time_left()
    budget = max(60.0, group_resources(run.opts.lifted_max_n, s.r, s.k)[1]) if left is None else max(left, 0.0)
    size = partition_size(s.N, s.r, s.k, budget, run.opts.lifted_max_n)
    if size is None:
        run.notes.append(f"lifted SDP skipped: {why}; groups of {MIN_GROUP} samples would not fit in {budget:.0f} s")
        return
    t0 = time.perf_counter()
    deadline = t0 + budget
    whole_seconds = lifted_dual_resources(s.N, s.r, s.k)[1]
    done, whole = [], None
    try:
        while size is not None:
            value, info = partition_bound(s.problem, size, rng=run.rng, solver=run.solver, deadline=deadline,
                                          verbose=run.verbose)
            run.offer_lower(s.to_internal(value), LowerBound.PARTITION)
            done.append((value, info))
            # the estimates are rough (often 2–3× high for small groups): with the measured ratio,
            # larger groups (a stronger bound) when they fit in what is left
            expected = info["groups"] * group_resources(info["size"], s.r, s.k)[1]
            ratio = max(info["seconds"] / expected, 0.1) if info["solved"] == info["groups"] else 1.0
            left = deadline - time.perf_counter()
            if whole_next and whole_seconds * ratio <= left:
                whole = whole_seconds
                break
            bigger = partition_size(s.N, s.r, s.k, left / ratio, run.opts.lifted_max_n)
            size = bigger if bigger is not None and -(-s.N // bigger) < info["groups"] else None  # fewer groups
    finally:
        run.timings["lifted"] = run.timings.get("lifted", 0.0) + time.perf_counter() - t0
    value, info = max(done, key=lambda d: d[0])
    failed = f"; {len(info['failures'])} failed ({info['failures'][0]})" if info["failures"] else ""
    run.notes.append(f"lifted SDP on sample groups ({why}): {info['solved']} of {info['groups']} random groups of "
                     f"≤ {info['size']} samples solved in {info['seconds']:.0f} s{failed}"
                     + (f" (best of {len(done)} partitions)" if len(done) > 1 else "")
                     + ("; then the whole program, faster than expected" if whole is not None else ""))
    if whole is not None:
        _whole_lifted_bound(run, whole, deadline - time.perf_counter())


def solve_shallow(problem, Y=None, *, options: ShallowOptions | None = None, activation=None, lam=None, beta=None,
                  cost=None, method: str = "auto", tol: float = 1e-6, atol: float = 0.0, solver: str | None = None,
                  solver_opts: dict | None = None, time_limit: float | None = None, rng=None, verbose: bool = False,
                  oracle=None, linear_bounds: bool = True, **option_kwargs):
    r"""Depth-2 solve by column generation (a validated :class:`covcone.Problem` in, a
    :class:`covcone.SolveResult` out).  See :func:`covcone.solve`.

    ``problem`` may also be the arrays ``X, Y`` with ``activation=, lam=, beta=, cost=`` (the
    block solves of the deep solver use that form).  ``oracle``, optional: a problem-specific
    pricing heuristic ``oracle(Theta, B, activation, n_best, rng) -> GroupPrice`` used instead of
    the default (it proves nothing; the bounds then come from the spectral bound).
    ``linear_bounds=False`` skips the spectral bounds of the linear network's dual points.
    """
    if Y is not None:
        from ..problem import Problem

        problem = Problem(problem, Y, activation=activation, lam=lam if cost != "interpolate" else None,
                          beta=beta, cost=cost)
    opts = options if options is not None else ShallowOptions(**option_kwargs)
    setup = GroupLassoSetup(problem)
    with single_blas_thread(setup.N):
        return _solve(problem, setup, opts, method=method, tol=tol, atol=atol, solver=solver, solver_opts=solver_opts,
                      time_limit=time_limit, rng=rng, verbose=verbose, oracle=oracle, linear_bounds=linear_bounds)


def _solve(problem, setup, opts, *, method, tol, atol, solver, solver_opts, time_limit, rng, verbose, oracle,
           linear_bounds):
    """The body of :func:`solve_shallow` (BLAS threads already set)."""
    rng = np.random.default_rng(rng)
    run = _Run(setup, opts, method=method, rtol=tol, atol=atol, solver=solver, solver_opts=solver_opts,
               time_limit=time_limit, rng=rng, verbose=verbose, oracle=oracle, linear_bounds=linear_bounds)
    C = _initial_columns(setup, rng, max(8, 2 * setup.r), opts.check_columns(setup.r))
    t0 = time.perf_counter()
    C = np.vstack([_gradient_columns(run, problem), C])
    run.timings["starts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = False
    if setup.cost == "interpolate":
        C = _make_feasible(run, C)
    elif method != "lifted":
        C, done = _zero_start(run, C)
    run.timings["oracle"] += time.perf_counter() - t0
    bar = progress(verbose, opts.max_rounds, "covcone depth-2", "round")
    if verbose:  # a long exact pricing call (a vertex enumeration) shows where it is
        run.pricing.progress = bar.note
    try:
        stop = "the network without hidden neurons is optimal (no neuron prices out)" if done else _loop(run, C, bar)
    except KeyboardInterrupt:  # Ctrl-C: the best network so far, with its valid bounds
        stop = "interrupted (KeyboardInterrupt)"
    finally:
        run.pricing.progress = None
        bar.close()

    t0 = time.perf_counter()
    _, Cb, Vb, c0b = run.best
    deadline = None if time_limit is None else run.t_start + time_limit
    net, upper = recover(setup, Cb, Vb, c0b, lower_user=run.lower_user(), rtol=tol, atol=atol, solver=run.solver,
                         solver_opts=run.solver_opts, deadline=deadline, active_set=run.active_set)
    run.timings["recovery"] = time.perf_counter() - t0
    run.reserved = 0.0  # the loop is over: what it left is the lifted program's
    if run.lifted_planned() and not is_certified(upper, run.lower_user(), run.lower_from, tol, atol):
        if run.out_of_time():
            run.notes.append("lifted SDP skipped: no time left after the column generation")
        else:
            _lifted_bound(run)
    if not run.exact and run.lower <= 0.0 and run.lower_from is not LowerBound.EXACT_ORACLE:
        run.lower, run.lower_from = 0.0, LowerBound.TRIVIAL
    run.timings["total"] = run.elapsed()
    if not run.exact and run.lower_from not in (LowerBound.EXACT_ORACLE,):
        run.notes.append(f"the exact oracle is not affordable for input rank {setup.r}, N = {setup.N}: heuristic "
                         + ("pricing with an anytime bound" if run.allow_anytime else "pricing"))
    if (setup.cost == "mse" and not is_certified(upper, run.lower_user(), run.lower_from, tol, atol)
            and setup.to_internal(upper) < _TINY_LOSS):
        run.notes.append(
            f"the loss is {setup.to_internal(upper):.1e} of the targets' mean square (λ/(s_X·s_Y) = "
            f"{setup.lam_v:.1e}): close to interpolation, below what an interior-point master resolves "
            "to this tolerance; cost='interpolate' solves the λ → 0 limit (the representation cost R(X, Y)), "
            "or rescale the data / raise λ")
    method_name = "generators (exact oracle)" if run.exact else "generators (heuristic oracle)"
    cols = Cb[np.linalg.norm(Vb, axis=1) > 0] if Vb.size else Cb
    return build_result(problem=problem, network=net, upper=upper, lower=run.lower_user(), lower_from=run.lower_from,
                        rtol=tol, atol=atol, method=method_name, solver=run.solver, stop_reason=stop,
                        solver_status=run.solver_status, timings=run.timings, history=run.history,
                        notes=run.notes, extra={"columns": cols, "input_rank": setup.r, "oracle": run.oracle_info,
                                                "scales": {"sB": setup.sB, "sY": setup.sY}})
