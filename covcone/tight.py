r"""The N²/4 tight example and its verification report (paper §4.2, Prop. 13–14; docs/design.md §6).

Data (samples as rows): ``X_N = I_N``, β = 0, ReLU, depth 2, and ``Y_N = EᵀE`` for the edge-vertex
incidence matrix ``E`` of the complete bipartite graph ``K_{N/2,N/2}``:
``Y_N = [[N/2·I, 1], [1, N/2·I]]``.  The paper's facts, each *measured* by
:func:`verify_tight` and never assumed:

1. the representation cost is ``R(X_N, Y_N) = N²`` (certified: a network's forward-pass loss
   against a valid lower bound, docs/design.md §4);
2. the optimal hidden covariances are ``K_1 = K_1^σ = Y_N``;
3. the optimal network has exactly ``N²/4`` hidden neurons, one per edge ``e_i + e_j``;
4. ``Rank_σ(Y_N, Y_N) = N²/4`` (the support graph of ``K_1^σ`` is triangle-free, so the
   edge-clique-cover bound of :func:`covcone.rank_bounds` is the number of edges);
5. for the MSE loss with small λ the certified optimum still needs ``≥ N²/4`` neurons.

Lower bounds used (all valid for the global optimum; the report says which one gave LB):

* ``"exact-oracle dual"`` — from :func:`covcone.solve` with the exact ``3^N`` pricing oracle
  (small N only);
* ``"lifted SDP dual"`` — the dual objective of the lifted DNN relaxation
  (:func:`covcone.sdp.solve_cone_program`, ``cone="lifted"``; optional, N ≤ ``lifted_max_n``);
* ``"spectral dual"`` — weak duality of the group lasso (docs/design.md §3.4) at a dual point Θ whose
  feasibility is proven by a norm inequality instead of an oracle: σ = ReLU is 1-Lipschitz with
  σ(0) = 0, so ``‖Θᵀσ(Aᵀw)‖ ≤ ‖Θ‖₂‖A‖₂`` for every unit ``w`` and ``m ≤ ‖Θ‖₂‖A‖₂``.  With the
  dual point of the *linear* network (Θ = the polar factor of Y for interpolation, Θ = the scaled
  residual of singular-value soft-thresholding for MSE) this is the linear network's optimum,
  and on this example it is tight (R = 2‖Y_N‖_* = 2 Tr Y_N = N²).  It costs one SVD, so the
  certificate is available at every N — this is why the report does not depend on the lifted
  SDP (81 s at N = 40, the measurements in benchmarks/README.md), which is kept as an optional cross-check.

The network (the upper bound) is built by column generation: for N ≤ ``exact_max_n`` by
:func:`covcone.solve` (exact oracle); above it by a master group lasso over neuron directions
``z ≥ 0`` whose pricing step scores all pairs ``(e_i + e_j)/√2`` and singletons ``e_i`` by
``‖Θᵀz‖`` (then a projected power ascent ``z ← (ΘΘᵀz)₊``) — a heuristic, which is fine because
the upper bound is just the forward-pass loss of whatever network comes out.  Recovery: drop
negligible neurons, re-solve the master on the support with tight tolerances, merge parallel
neurons and reduce with :func:`covcone.decompose` (Carathéodory), rebuild the min-norm weights
and keep the result only if its forward-pass loss did not increase.
"""
from __future__ import annotations

import json
import math
import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .activations import relu as _RELU

__all__ = ["tight_example", "verify_tight", "TightReport", "plot_width_plateau"]


# ------------------------------------------------------------------------------------------
# the data
# ------------------------------------------------------------------------------------------
def _check_N(N) -> int:
    if isinstance(N, (bool, np.bool_)) or not isinstance(N, numbers.Integral):
        if isinstance(N, numbers.Real) and not isinstance(N, (bool, np.bool_)) and float(N).is_integer():
            N = int(N)
        else:
            raise ValueError(f"N: expected a positive even integer, got {N!r}")
    N = int(N)
    if N <= 0 or N % 2:
        raise ValueError(f"N: expected a positive even integer, got {N}")
    return N


def tight_example(N):
    r"""The data ``(X_N, Y_N)`` of paper §4.2 (samples as rows).

    Parameters
    ----------
    N : int
        Number of data points, positive and even.

    Returns
    -------
    X : ndarray (N, N)
        ``I_N``.
    Y : ndarray (N, N)
        ``EᵀE = [[N/2·I, 1], [1, N/2·I]]`` for the complete bipartite graph ``K_{N/2,N/2}``.

    Raises
    ------
    ValueError
        For odd, non-positive or non-integer ``N`` (the message names ``N``).
    """
    N = _check_N(N)
    h = N // 2
    Y = np.zeros((N, N))
    Y[:h, h:] = 1.0
    Y[h:, :h] = 1.0
    Y += h * np.eye(N)
    return np.eye(N), Y


def _edges(N):
    h = N // 2
    I, J = np.meshgrid(np.arange(h), np.arange(h, N), indexing="ij")
    return I.ravel(), J.ravel()


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TightReport:
    r"""Outcome of :func:`verify_tight`.

    Attributes
    ----------
    N : int
    checks : tuple of (name, measured, expected, passed)
        ``measured`` and ``expected`` are short strings with the measured figures.
    passed : bool
        All checks passed.
    upper, lower : float
        Interpolation cost: forward-pass loss of ``network`` and the best valid lower bound.
    lower_from : str or None
        Which bound gave ``lower``.
    bounds : dict
        Every lower bound computed, by source (interpolation and MSE).
    network : Network
        The recovered optimal network (N²/4 edge neurons when the checks pass).
    mse_network : Network or None
        The network recovered for the MSE variant.
    lam : float
        λ of the MSE variant.
    timings : dict
        Seconds per phase.
    messages : tuple of str
    """

    N: int
    checks: tuple
    passed: bool
    upper: float
    lower: float
    lower_from: str | None
    bounds: dict
    network: object
    mse_network: object
    lam: float
    timings: dict = field(default_factory=dict)
    messages: tuple = ()

    def table(self) -> str:
        """A plain-text table of the checks."""
        rows = [("check", "measured", "expected", "result")]
        rows += [(n, m, e, {True: "PASS", False: "FAIL", None: "OPEN"}[p]) for n, m, e, p in self.checks]
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "  ".join("-" * x for x in w)
        out = [f"covcone tight example (paper §4.2), N = {self.N}: {'PASSED' if self.passed else 'FAILED'}",
               "  ".join(f"{c:<{w[i]}}" for i, c in enumerate(rows[0])), line]
        out += ["  ".join(f"{c:<{w[i]}}" for i, c in enumerate(r)) for r in rows[1:]]
        out.append(line)
        out.append("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in self.timings.items()))
        out += [f"- {m}" for m in self.messages]
        return "\n".join(out)

    def summary(self) -> dict:
        """A JSON-serialisable summary (no arrays)."""
        net = self.network
        out = {
            "N": self.N,
            "passed": bool(self.passed),
            "upper": _num(self.upper),
            "lower": _num(self.lower),
            "lower_from": self.lower_from,
            "bounds": {k: _num(v) for k, v in self.bounds.items()},
            "lam_mse": self.lam,
            "n_neurons": int(net.widths[1]) if net is not None else None,
            "checks": [{"name": n, "measured": m, "expected": e, "passed": None if p is None else bool(p)}
                       for n, m, e, p in self.checks],
            "timings": {k: round(float(v), 4) for k, v in self.timings.items()},
            "messages": list(self.messages),
        }
        json.dumps(out)  # fail here, not in the caller, if something is not serialisable
        return out


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


# ------------------------------------------------------------------------------------------
# lower bounds
# ------------------------------------------------------------------------------------------
def spectral_dual_bound(X, Y, *, cost="interpolate", lam=None):
    r"""Lower bound on the depth-2 ReLU optimum (β = 0) with no oracle:
    :func:`covcone.shallow.linear_dual_bound` (the linear network's dual points, priced by
    ``‖Θᵀσ(Xw)‖ ≤ ‖Θ‖₂‖X‖₂``).  On this example it is tight: R = 2‖Y_N‖_* = N²."""
    from .shallow import GroupLassoSetup, linear_dual_bound

    setup = GroupLassoSetup(np.asarray(X, dtype=float), np.asarray(Y, dtype=float), activation=_RELU, lam=lam,
                            beta=0.0, cost=cost)
    return float(setup.to_user(linear_dual_bound(setup)))


# ------------------------------------------------------------------------------------------
# the network: covcone's column generation with a pricing heuristic for X = I, β = 0, ReLU
# ------------------------------------------------------------------------------------------
def _pair_seeds(N):
    """Unit nonnegative directions with one or two nonzeros: e_i and (e_i + e_j)/√2."""
    I, J = np.triu_indices(N, 1)
    C = np.zeros((I.size + N, N))
    C[np.arange(I.size), I] = C[np.arange(I.size), J] = 1 / np.sqrt(2)
    C[I.size + np.arange(N), np.arange(N)] = 1.0
    return C


def _ascent(G, C, iters=100):
    """Projected power ascent z ← (Gz)₊ / ‖·‖ on the rows of C (a heuristic)."""
    for _ in range(iters):
        Z = np.maximum(C @ G, 0.0)
        nrm = np.linalg.norm(Z, axis=1, keepdims=True)
        Z = np.where(nrm > 0, Z / np.where(nrm > 0, nrm, 1.0), C)
        if np.allclose(Z, C, atol=1e-13):
            return Z
        C = Z
    return C


def pair_oracle(Theta, B, activation, n_best, rng=None):
    r"""Pricing heuristic for ``X = I``, β = 0, ReLU: ``max_{z ≥ 0, ‖z‖=1} ‖Θᵀz‖`` searched over
    all pair directions (e_i + e_j)/√2 and singletons, refined by projected power ascent.

    Not exact (the problem is copositive-type, NP-hard in general): the solver treats it as a
    heuristic, so the certificate comes from a valid dual bound (spectral / lifted), never from
    this oracle.  Values are recomputed through :func:`covcone.oracle.group_norms`.
    """
    from .oracle import GroupPrice, group_norms

    N = B.shape[1]
    seeds = _pair_seeds(N)
    G = Theta @ Theta.T
    vals = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", seeds, G, seeds), 0.0))
    top = seeds[np.argsort(-vals)[: max(4, N)]]
    cand = np.vstack([seeds, _ascent(G, top)])
    C = cand @ np.linalg.pinv(B).T  # z = Bᵀc  →  c (B is square and invertible for X = I)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    v = group_norms(Theta, B, activation, C)
    order = np.argsort(-v)[: max(n_best, 1)]
    return GroupPrice(value=float(v[order[0]]), C=C[order], values=v[order], exact=False,
                      method="heuristic (pair directions + ascent)", n_faces=int(C.shape[0]))


def _build_network(X, Y, cost, lam, solver, solver_opts, exact, notes, label, tol=1e-6):
    """(upper, network, exact-oracle lower or None, seconds), all from :func:`covcone.solve`'s
    column generation: the exact 3^N oracle when ``exact``, else :func:`pair_oracle`."""
    from .shallow import solve_shallow

    t0 = time.perf_counter()
    N = X.shape[0]
    kw = dict(activation=_RELU, lam=lam, beta=0.0, cost=cost, tol=tol, solver=solver, solver_opts=solver_opts,
              rng=0, lifted_max_n=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exact:
            res = solve_shallow(X, Y, method="generators", linear_bounds=False, **kw)
        else:
            res = solve_shallow(X, Y, method="heuristic", oracle=pair_oracle, init_columns=np.eye(N),
                                n_add=8 * N, **kw)
    notes.append(f"{label}: covcone column generation ({res.method}, {len(res.history)} rounds): {res.message}")
    lower = float(res.lower) if res.lower_from == "exact-oracle dual" else None
    return float(res.upper), res.network, lower, time.perf_counter() - t0


# ------------------------------------------------------------------------------------------
# structure checks
# ------------------------------------------------------------------------------------------
def _edge_structure(net, N, tol=1e-6):
    """(number of neurons, number of them that are edge indicators, distinct edges hit)."""
    Z = net.weights[0][:, :-1]
    Z = Z[np.linalg.norm(Z, axis=1) > 0]
    h = N // 2
    hits = set()
    n_edge = 0
    for z in Z:
        top = np.max(np.abs(z))
        u = z / top
        big = np.flatnonzero(np.abs(u) > 0.5)
        if big.size != 2:
            continue
        i, j = int(big[0]), int(big[1])
        ind = np.zeros(N)
        ind[[i, j]] = 1.0
        if i < h <= j and np.max(np.abs(u - ind)) <= tol:
            n_edge += 1
            hits.add((i, j))
    return Z.shape[0], n_edge, len(hits)


def _triangle_free(adj):
    A = adj.astype(float)
    np.fill_diagonal(A, 0.0)
    return bool(np.trace(A @ A @ A) < 0.5)


def _rel(A, B):
    return float(np.max(np.abs(A - B)) / max(np.max(np.abs(B)), 1e-300))


# ------------------------------------------------------------------------------------------
# the verification
# ------------------------------------------------------------------------------------------
def verify_tight(N, *, cost="interpolate", lam=None, solver=None, Y=None, solver_opts=None, tol=1e-6,
                 exact_max_n=0, lifted_max_n=16, mse=True) -> TightReport:
    r"""Measure the five facts of paper §4.2 (Prop. 13–14) on ``(X_N, Y_N)``; see the module doc.

    Parameters
    ----------
    N : int
        Even, positive.
    cost : {"interpolate", "mse"}
        The loss of the main certificate (checks 1–4).  ``"interpolate"``: the representation
        cost, expected ``N²``.  ``"mse"``: checks 1–4 are done on the MSE optimum with ``lam``
        (its value is then compared with the bound, not with ``N²``).
    lam : float, optional
        λ of the MSE variant (check 5), default ``10⁻²/N²`` ("small" in the sense of Prop. 14,
        measured: at this λ the certified optimum is exactly the N²/4 edge neurons and the support
        of K_1^σ stays triangle-free, so the clique-cover bound certifies Rank_σ ≥ N²/4; at
        λ = 1/N² the optimum adds an all-ones neuron, the support has triangles and check 5b
        cannot be certified by this bound — it is then reported OPEN, never passed).
    solver, solver_opts :
        cvxpy solver (None: best installed) and options for the masters and SDPs.
    Y : array (N, N), optional
        Targets overriding ``Y_N`` (e.g. a corrupted ``Y_N``: the checks then compare what is
        measured on ``Y`` with the paper's values for ``Y_N`` and fail).
    tol : float
        Relative tolerance of the certificate (``UB − LB ≤ tol·|UB|``) and of the cost ``N²``.
    exact_max_n : int
        Largest N for which the network comes from :func:`covcone.solve` with the exact
        ``3^N`` oracle (its exact-oracle dual is then a second lower bound).
    lifted_max_n : int
        Largest N for which the lifted SDP dual is computed as an extra lower bound (0: never).
    mse : bool
        Run check 5 (the MSE variant).

    Returns
    -------
    TightReport
    """
    N = _check_N(N)
    if cost not in ("interpolate", "mse"):
        raise ValueError(f"cost: expected 'interpolate' or 'mse', got {cost!r}")
    if lam is None:
        lam = 1e-2 / N**2
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"lam: expected a positive number, got {lam!r}")
    lam = float(lam)
    from .backends import choose_solver

    solver = choose_solver(solver)
    X, Y_N = tight_example(N)
    if Y is None:
        Y = Y_N
    else:
        Y = np.asarray(Y, dtype=float)
        if Y.shape != (N, N) or not np.all(np.isfinite(Y)):
            raise ValueError(f"Y: expected a finite array of shape ({N}, {N}), got shape {Y.shape}")
    notes, checks, timings = [], [], {}
    t_all = time.perf_counter()
    exact = N <= exact_max_n
    main_lam = None if cost == "interpolate" else lam
    upper, net, lb_exact, timings["network"] = _build_network(X, Y, cost, main_lam, solver, solver_opts, exact,
                                                             notes, "main")
    bounds, lower, lower_from = _main_bounds(X, Y, cost, main_lam, lb_exact, lifted_max_n, solver, solver_opts,
                                             notes, timings)
    checks.append(_check_cost(N, upper, lower, lower_from, cost, tol))
    checks.extend(_check_structure(N, net, X, Y_N, cost, timings))
    mse_net = None
    if mse:
        mse_net, mse_checks = _check_mse(N, X, Y, lam, solver, solver_opts, exact, tol, bounds, notes, timings)
        checks.extend(mse_checks)
    timings["total"] = time.perf_counter() - t_all
    passed = all(c[3] is not False for c in checks)
    return TightReport(
        N=N, checks=tuple(checks), passed=bool(passed), upper=float(upper), lower=float(lower), lower_from=lower_from,
        bounds=bounds, network=net, mse_network=mse_net, lam=lam, timings=timings, messages=tuple(notes),
    )


def _main_bounds(X, Y, cost, lam, lb_exact, lifted_max_n, solver, solver_opts, notes, timings):
    """Valid lower bounds on the main cost: the spectral dual (tight here: R = 2‖Y‖_*) and the
    exact-oracle dual when it ran.  The lifted SDP's value is reported as a cross-check only: a
    solver's objective is never used as a bound."""
    N = X.shape[0]
    t0 = time.perf_counter()
    bounds = {"spectral dual": spectral_dual_bound(X, Y, cost=cost, lam=lam)}
    timings["spectral bound"] = time.perf_counter() - t0
    if lb_exact is not None:
        bounds["exact-oracle dual"] = lb_exact
    if N <= lifted_max_n:
        t0 = time.perf_counter()
        try:
            from .exceptions import SolverError
            from .sdp import solve_cone_program

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lifted = solve_cone_program(X, Y, activation=_RELU, lam=lam, beta=0.0, cost=cost, cone="lifted",
                                            solver=solver, solver_opts=solver_opts)
            notes.append(f"lifted SDP (cross-check, not a bound): {lifted.message}, value {lifted.value:.10g}")
        except (ImportError, SolverError, ValueError) as exc:
            notes.append(f"lifted SDP cross-check unavailable: {exc}")
        timings["lifted SDP"] = time.perf_counter() - t0
    else:
        notes.append(f"lifted SDP not run (N = {N} > lifted_max_n = {lifted_max_n})")
    lower_from = max(bounds, key=bounds.get)
    return bounds, bounds[lower_from], lower_from


def _check_cost(N, upper, lower, lower_from, cost, tol):
    """Check 1: the cost is certified by the certificate rule of :mod:`covcone.result`."""
    from .result import bounds_inconsistent, is_certified, relative_gap

    gap = relative_gap(upper, lower)
    inconsistent = bounds_inconsistent(upper, lower, tol)
    certified = is_certified(upper, lower, lower_from, tol)
    if cost == "interpolate":
        target_ok = bool(np.isfinite(upper) and abs(upper - N**2) <= tol * N**2 and abs(lower - N**2) <= tol * N**2)
        expected = f"UB = LB = N² = {N**2} (gap ≤ {tol:g})"
    else:
        target_ok = True
        expected = f"UB = LB (gap ≤ {tol:g})"
    return ("1 cost certified",
            f"UB {upper:.10g} (forward pass), LB {lower:.10g} ({lower_from}), gap {gap:.1e}"
            + (" INCONSISTENT" if inconsistent else ""),
            expected, bool(certified and target_ok))


def _check_structure(N, net, X, Y_N, cost, timings):
    """Checks 2–4: K_1 = K_1^σ = Y_N, the N²/4 edge neurons, Rank_σ = N²/4."""
    from .decompose import rank_bounds
    from .result import covariance_pair

    n_edges = (N // 2) ** 2
    K, Ks = covariance_pair(net, X)
    eK, eS = _rel(K, Y_N), _rel(Ks, Y_N)
    cov_tol = 1e-5
    out = [("2 K_1 = K_1^σ = Y_N",
            f"max|K_1 − Y_N| {eK:.1e}, max|K_1^σ − Y_N| {eS:.1e} (relative)",
            f"≤ {cov_tol:g}" + ("" if cost == "interpolate" else " (MSE: not expected)"),
            bool(eK <= cov_tol and eS <= cov_tol) if cost == "interpolate" else True)]
    n_neur, n_edge, n_hit = _edge_structure(net, N)
    out.append(("3 N²/4 edge neurons",
                f"{n_neur} neurons, {n_edge} are edge indicators e_i + e_j (i ≤ N/2 < j), {n_hit} distinct edges",
                f"{n_edges} neurons = {n_edges} distinct edges",
                bool(n_neur == n_edges and n_edge == n_edges and n_hit == n_edges)))
    t0 = time.perf_counter()
    rb = rank_bounds(K, Ks, activation=_RELU, beta=0.0, Z=net.preactivations(X)[0].T, rtol=1e-7)
    timings["rank bounds"] = time.perf_counter() - t0
    out.append(("4 Rank_σ = N²/4",
                f"{rb.lower} ≤ Rank_σ ≤ {rb.upper} ({rb.lower_reason.split(';')[0]})",
                f"{n_edges} ≤ Rank_σ ≤ {n_edges}",
                bool(rb.lower == n_edges and rb.upper == n_edges)))
    return out


def _check_mse(N, X, Y, lam, solver, solver_opts, exact, tol, bounds, notes, timings):
    """Check 5 (Prop. 14): the MSE optimum at small λ uses the N²/4 edges, and Rank_σ ≥ N²/4."""
    from .decompose import rank_bounds
    from .result import covariance_pair, is_certified, relative_gap

    n_edges = (N // 2) ** 2
    up_m, mse_net, lb_m_exact, timings["mse network"] = _build_network(
        X, Y, "mse", lam, solver, solver_opts, exact, notes, "mse")
    bm = {"spectral dual": spectral_dual_bound(X, Y, cost="mse", lam=lam)}
    if lb_m_exact is not None:
        bm["exact-oracle dual"] = lb_m_exact
    src = max(bm, key=bm.get)
    lo_m = bm[src]
    for k_, v_ in bm.items():
        bounds[f"mse {k_}"] = v_
    bounds["mse upper"] = up_m
    gap_m = relative_gap(up_m, lo_m)
    Km, Ksm = covariance_pair(mse_net, X)
    rbm = rank_bounds(Km, Ksm, activation=_RELU, beta=0.0, Z=mse_net.preactivations(X)[0].T, rtol=1e-7)
    I, J = _edges(N)
    has_edges = bool(np.all(Ksm[I, J] > 1e-7 * np.max(np.abs(Ksm))))
    n_m, _, n_hit_m = _edge_structure(mse_net, N)
    checks = [("5a MSE optimum certified, uses the N²/4 edges",
               f"λ = {lam:.3g}: UB {up_m:.10g}, LB {lo_m:.10g} ({src}), gap {gap_m:.1e}; {n_m} neurons, "
               f"{n_hit_m} distinct edge neurons; bipartite edges in supp K_1^σ: {'all' if has_edges else 'NOT all'}",
               f"gap ≤ {tol:g}, {n_edges} edge neurons, all edges in the support",
               bool(is_certified(up_m, lo_m, src, tol) and has_edges and n_hit_m == n_edges))]
    # rank_bounds' clique-cover bound needs a triangle-free support; at the MSE optimum the support
    # of K_1^σ is measured, not assumed, so this check may stay open (passed=None).
    tri_free = _triangle_free(np.abs(Ksm) > 1e-7 * np.max(np.abs(Ksm)))
    checks.append(("5b Rank_σ ≥ N²/4 at the MSE optimum",
                   f"rank_bounds: {rbm.lower} ≤ Rank_σ ≤ {rbm.upper}; support of K_1^σ "
                   f"{'triangle-free' if tri_free else 'has triangles (clique-cover bound does not give N²/4)'}",
                   f"Rank_σ ≥ {n_edges} certified by rank_bounds",
                   True if rbm.lower >= n_edges else None))
    return mse_net, checks


# ------------------------------------------------------------------------------------------
# the width plateau figure lives in covcone.plot (with every other figure)
# ------------------------------------------------------------------------------------------
def plot_width_plateau(report, path, **kwargs):
    """Alias of :func:`covcone.plot.plot_width_plateau` (kept for existing imports)."""
    from .plot import plot_width_plateau as _plot

    return _plot(report, path, **kwargs)
